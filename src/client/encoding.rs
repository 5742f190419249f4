//! Converts between text and bytes the way Node's `Buffer` and `setEncoding` do.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};

/// Names how bytes become text (reading) or text becomes bytes (writing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// UTF-8; invalid input decodes to U+FFFD.
    Utf8,
    /// 7-bit ASCII: decoding clears the high bit of each byte, as Node does.
    Ascii,
    /// ISO-8859-1: one byte per character, U+0000 to U+00FF.
    Latin1,
    /// Base64 (standard alphabet, padded).
    Base64,
    /// Lower-case hexadecimal, two digits per byte.
    Hex,
}

impl Encoding {
    /// Lists every encoding by its canonical name.
    pub const ALL: [Encoding; 5] = [
        Encoding::Utf8,
        Encoding::Ascii,
        Encoding::Latin1,
        Encoding::Base64,
        Encoding::Hex,
    ];

    /// Returns the canonical name (`utf8`, `ascii`, `latin1`, `base64`, `hex`).
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf8",
            Encoding::Ascii => "ascii",
            Encoding::Latin1 => "latin1",
            Encoding::Base64 => "base64",
            Encoding::Hex => "hex",
        }
    }

    /// Returns true for the encodings whose text is a character encoding
    /// (`utf8`, `ascii`, `latin1`) rather than a binary-to-text one.
    pub fn is_text(self) -> bool {
        matches!(self, Encoding::Utf8 | Encoding::Ascii | Encoding::Latin1)
    }

    /// Converts `text` to the bytes it stands for in this encoding.
    ///
    /// Text encodings reject characters they cannot represent (Node would
    /// silently truncate them); `base64` and `hex` reject malformed input.
    pub fn encode(self, text: &str) -> Result<Vec<u8>, EncodeError> {
        match self {
            Encoding::Utf8 => Ok(text.as_bytes().to_vec()),
            Encoding::Ascii | Encoding::Latin1 => {
                let limit = if self == Encoding::Ascii { 0x7f } else { 0xff };
                text.chars()
                    .enumerate()
                    .map(|(index, ch)| {
                        u8::try_from(u32::from(ch))
                            .ok()
                            .filter(|&b| u32::from(b) <= limit)
                            .ok_or(EncodeError::Unrepresentable {
                                encoding: self,
                                ch,
                                index,
                            })
                    })
                    .collect()
            }
            Encoding::Base64 => {
                let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
                let engine = if compact.ends_with('=') {
                    &STANDARD
                } else {
                    &STANDARD_NO_PAD
                };
                engine
                    .decode(compact.as_bytes())
                    .map_err(|e| EncodeError::Base64(e.to_string()))
            }
            Encoding::Hex => {
                let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
                hex::decode(compact).map_err(|e| EncodeError::Hex(e.to_string()))
            }
        }
    }

    /// Starts a streaming decoder that turns byte chunks into text.
    pub fn decoder(self) -> Decoder {
        Decoder {
            encoding: self,
            utf8: (self == Encoding::Utf8)
                .then(|| encoding_rs::UTF_8.new_decoder_without_bom_handling()),
            carry: Vec::new(),
        }
    }

    /// Decodes a complete byte string at once.
    pub fn decode_all(self, bytes: &[u8]) -> String {
        let mut decoder = self.decoder();
        let mut text = decoder.decode(bytes);
        text.push_str(&decoder.finish());
        text
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Encoding {
    type Err = UnknownEncoding;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "utf8" | "utf-8" => Ok(Encoding::Utf8),
            "ascii" => Ok(Encoding::Ascii),
            "latin1" | "binary" | "iso-8859-1" => Ok(Encoding::Latin1),
            "base64" => Ok(Encoding::Base64),
            "hex" => Ok(Encoding::Hex),
            _ => Err(UnknownEncoding(s.to_owned())),
        }
    }
}

/// Reports a name that is not one of the known encodings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown encoding `{0}` (expected one of utf8, ascii, latin1, base64, hex)")]
pub struct UnknownEncoding(pub String);

/// Reports text that does not stand for any bytes in the chosen encoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// A character outside the encoding's range.
    #[error("character {ch:?} at position {index} cannot be written as {encoding}")]
    Unrepresentable {
        /// The encoding that was asked for.
        encoding: Encoding,
        /// The offending character.
        ch: char,
        /// Its position, counted in characters from 0.
        index: usize,
    },
    /// Malformed base64.
    #[error("invalid base64: {0}")]
    Base64(String),
    /// Malformed hex.
    #[error("invalid hex: {0}")]
    Hex(String),
}

/// Decodes a byte stream chunk by chunk, keeping incomplete input
/// (a split UTF-8 sequence, a base64 group) for the next chunk, like Node's
/// `StringDecoder`.
pub struct Decoder {
    encoding: Encoding,
    utf8: Option<encoding_rs::Decoder>,
    carry: Vec<u8>,
}

impl fmt::Debug for Decoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decoder")
            .field("encoding", &self.encoding)
            .field("carry", &self.carry)
            .finish()
    }
}

impl Decoder {
    /// Returns the encoding this decoder produces.
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// Decodes one chunk, returning the text that is complete so far.
    pub fn decode(&mut self, chunk: &[u8]) -> String {
        self.run(chunk, false)
    }

    /// Flushes what is held back: an incomplete UTF-8 sequence becomes
    /// U+FFFD, a partial base64 group is written with padding.
    pub fn finish(&mut self) -> String {
        let text = self.run(&[], true);
        if let Some(utf8) = &mut self.utf8 {
            *utf8 = encoding_rs::UTF_8.new_decoder_without_bom_handling();
        }
        text
    }

    fn run(&mut self, chunk: &[u8], last: bool) -> String {
        match self.encoding {
            Encoding::Utf8 => {
                let decoder = self.utf8.as_mut().expect("utf8 decoder exists for utf8");
                let capacity = decoder
                    .max_utf8_buffer_length(chunk.len())
                    .unwrap_or(chunk.len() * 3 + 4);
                let mut out = String::with_capacity(capacity);
                let (_, _, _) = decoder.decode_to_string(chunk, &mut out, last);
                out
            }
            Encoding::Ascii => chunk.iter().map(|&b| char::from(b & 0x7f)).collect(),
            Encoding::Latin1 => chunk.iter().map(|&b| char::from(b)).collect(),
            Encoding::Hex => hex::encode(chunk),
            Encoding::Base64 => {
                self.carry.extend_from_slice(chunk);
                let whole = if last {
                    self.carry.len()
                } else {
                    self.carry.len() - self.carry.len() % 3
                };
                let text = STANDARD.encode(&self.carry[..whole]);
                self.carry.drain(..whole);
                text
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_in_chunks(encoding: Encoding, chunks: &[&[u8]]) -> String {
        let mut decoder = encoding.decoder();
        let mut text: String = chunks.iter().map(|c| decoder.decode(c)).collect();
        text.push_str(&decoder.finish());
        text
    }

    #[test]
    fn utf8_character_split_across_chunks_decodes_whole() {
        let euro = "€".as_bytes();
        let mut decoder = Encoding::Utf8.decoder();
        assert_eq!(decoder.decode(&euro[..1]), "");
        assert_eq!(decoder.decode(&euro[1..2]), "");
        assert_eq!(decoder.decode(&euro[2..]), "€");
        assert_eq!(decoder.finish(), "");
    }

    #[test]
    fn utf8_invalid_bytes_become_replacement_characters() {
        assert_eq!(decode_in_chunks(Encoding::Utf8, &[b"a\xffb"]), "a\u{fffd}b");
        // A truncated sequence at the end of the stream is flushed as U+FFFD.
        assert_eq!(
            decode_in_chunks(Encoding::Utf8, &[b"a", b"\xe2\x82"]),
            "a\u{fffd}"
        );
    }

    #[test]
    fn base64_across_chunk_boundaries_matches_one_shot() {
        let data = b"Hello World! binary \x00\xff\x10";
        let whole = STANDARD.encode(data);
        for split in 0..data.len() {
            let (a, b) = data.split_at(split);
            assert_eq!(
                decode_in_chunks(Encoding::Base64, &[a, b]),
                whole,
                "split at {split}"
            );
        }
    }

    #[test]
    fn hex_latin1_and_ascii_decode_per_byte() {
        assert_eq!(
            decode_in_chunks(Encoding::Hex, &[b"\x00\xab", b"\x10"]),
            "00ab10"
        );
        assert_eq!(decode_in_chunks(Encoding::Latin1, &[b"caf\xe9"]), "café");
        assert_eq!(decode_in_chunks(Encoding::Ascii, &[b"A\xc1"]), "AA");
    }

    #[test]
    fn encode_writes_each_encoding() {
        assert_eq!(
            Encoding::Base64.encode("SGVsbG8gV29ybGQh").unwrap(),
            b"Hello World!"
        );
        assert_eq!(Encoding::Base64.encode("SGk").unwrap(), b"Hi");
        assert_eq!(Encoding::Hex.encode("48 69").unwrap(), b"Hi");
        assert_eq!(Encoding::Latin1.encode("café").unwrap(), b"caf\xe9");
        assert_eq!(Encoding::Utf8.encode("é").unwrap(), "é".as_bytes());
    }

    #[test]
    fn encode_rejects_what_cannot_be_written() {
        assert!(matches!(
            Encoding::Ascii.encode("café"),
            Err(EncodeError::Unrepresentable { index: 3, .. })
        ));
        assert!(matches!(
            Encoding::Latin1.encode("€"),
            Err(EncodeError::Unrepresentable { .. })
        ));
        assert!(matches!(
            Encoding::Hex.encode("abc"),
            Err(EncodeError::Hex(_))
        ));
        assert!(matches!(
            Encoding::Base64.encode("!!"),
            Err(EncodeError::Base64(_))
        ));
    }

    #[test]
    fn names_round_trip() {
        for encoding in Encoding::ALL {
            assert_eq!(encoding.name().parse::<Encoding>().unwrap(), encoding);
        }
        assert!("ebcdic".parse::<Encoding>().is_err());
    }
}
