//! Feeds any bytes, cut anywhere, to the streaming decoders of received
//! data (utf8, ascii, latin1, base64, hex): no panic, and the pieces add up
//! to what decoding the whole at once gives.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tcprun::client::encoding::Encoding;

fuzz_target!(|data: &[u8]| {
    let Some((&choice, rest)) = data.split_first() else {
        return;
    };
    let encoding = Encoding::ALL[usize::from(choice) % Encoding::ALL.len()];
    // The second byte picks where the stream is cut: every `step` bytes.
    let Some((&step, bytes)) = rest.split_first() else {
        return;
    };
    let step = usize::from(step % 16) + 1;
    let mut decoder = encoding.decoder();
    let mut pieces = String::new();
    for chunk in bytes.chunks(step) {
        pieces.push_str(&decoder.decode(chunk));
    }
    pieces.push_str(&decoder.finish());
    assert_eq!(
        pieces,
        encoding.decode_all(bytes),
        "{encoding} cut every {step}"
    );
});
