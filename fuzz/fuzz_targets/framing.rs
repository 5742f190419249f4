//! Feeds any bytes, cut anywhere, to the frame decoder under each kind of
//! framing spec: no panic, no endless loop, and every byte accounted for.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tcprun::framing::{FramingSpec, Item, Written};

/// Framings to try, as a scenario would write them.
const SPECS: &[&[(&str, &str)]] = &[
    &[("delimiter", "\\0")],
    &[("delimiter", "ab")],
    &[("start", "\\x0b"), ("end", "\\x1c\\r")],
    &[("fixed", "3")],
    &[("length", "u8")],
    &[("length", "u16be"), ("adjust", "-2")],
    &[("length", "u32le"), ("offset", "2"), ("max", "64")],
    &[("length", "u64be"), ("max", "1024")],
    &[("length", "varint")],
    &[("length", "u24be"), ("adjust", "3")],
];

fuzz_target!(|data: &[u8]| {
    let Some((&choice, rest)) = data.split_first() else {
        return;
    };
    let Some((&step, bytes)) = rest.split_first() else {
        return;
    };
    let spec = match usize::from(choice) % (SPECS.len() + 2) {
        0 => FramingSpec::line(),
        1 => FramingSpec::crlf(),
        n => match FramingSpec::parse(Written::Map(SPECS[n - 2])) {
            Ok(spec) => spec,
            Err(error) => panic!("spec {:?} is rejected: {error}", SPECS[n - 2]),
        },
    };
    let step = usize::from(step % 32) + 1;
    let mut decoder = tcprun::framing::FrameDecoder::new(&spec);
    let mut items = 0usize;
    'feed: for chunk in bytes.chunks(step) {
        decoder.push(chunk);
        loop {
            match decoder.next_item() {
                Ok(Some(Item::Frame(_) | Item::Junk(_))) => {
                    items += 1;
                    // Each item takes at least one byte: no endless loop.
                    assert!(items <= bytes.len(), "more items than bytes");
                }
                Ok(None) => break,
                Err(_) => break 'feed,
            }
        }
        assert!(decoder.position() <= bytes.len() as u64);
    }
    let _ = decoder.finish();
});
