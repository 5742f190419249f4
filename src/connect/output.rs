//! Writes what the peer sends to stdout: as it is, decoded (`--encoding`), or as a hex dump (`--hex-dump`).

use std::fmt::Write as _;

use crate::client::encoding::{Decoder, Encoding};

/// Says how received bytes are written to stdout.
#[derive(Debug)]
pub enum Render {
    /// The bytes as they are.
    Raw,
    /// Text in an encoding, streaming (a character or base64 group split
    /// across reads comes out whole).
    Decode(Decoder),
    /// A hex dump for people.
    HexDump(HexDump),
}

impl Render {
    /// Chooses the rendering for `--encoding` and `--hex-dump`.
    pub fn new(encoding: Option<Encoding>, hex_dump: bool) -> Self {
        match (encoding, hex_dump) {
            (_, true) => Render::HexDump(HexDump::default()),
            (Some(encoding), false) => Render::Decode(encoding.decoder()),
            (None, false) => Render::Raw,
        }
    }

    /// Returns `chunk` rendered, or `None` when it goes out as it is.
    pub fn chunk(&mut self, chunk: &[u8]) -> Option<String> {
        match self {
            Render::Raw => None,
            Render::Decode(decoder) => Some(decoder.decode(chunk)),
            Render::HexDump(dump) => Some(dump.dump(chunk)),
        }
    }

    /// Returns what is left at the end (a character cut short, the last base64 group).
    pub fn finish(&mut self) -> String {
        match self {
            Render::Decode(decoder) => decoder.finish(),
            Render::Raw | Render::HexDump(_) => String::new(),
        }
    }
}

/// Dumps bytes as `hexdump -C` does: an 8-digit hex offset, 16 bytes in hex
/// (a gap after the 8th), and those bytes as ASCII (`.` for the rest).
/// Each chunk is dumped as it comes (its last row may be short); offsets
/// run on from chunk to chunk.
#[derive(Debug, Default)]
pub struct HexDump {
    offset: u64,
}

impl HexDump {
    /// Returns the rows of `chunk`, each ending in a newline.
    pub fn dump(&mut self, chunk: &[u8]) -> String {
        let mut out = String::with_capacity(chunk.len().div_ceil(16) * 78);
        for row in chunk.chunks(16) {
            let _ = write!(out, "{:08x}  ", self.offset);
            for index in 0..16 {
                match row.get(index) {
                    Some(byte) => {
                        let _ = write!(out, "{byte:02x} ");
                    }
                    None => out.push_str("   "),
                }
                if index == 7 {
                    out.push(' ');
                }
            }
            out.push_str(" |");
            out.extend(row.iter().map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    char::from(b)
                } else {
                    '.'
                }
            }));
            out.push_str("|\n");
            self.offset += row.len() as u64;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hex_dump_reads_like_hexdump_c_with_offsets_running_on() {
        let mut dump = HexDump::default();
        assert_eq!(
            dump.dump(b"0123456789abcdef\x00\xff"),
            "00000000  30 31 32 33 34 35 36 37  38 39 61 62 63 64 65 66  |0123456789abcdef|\n\
             00000010  00 ff                                             |..|\n"
        );
        assert_eq!(
            dump.dump(b"hi \n"),
            "00000012  68 69 20 0a                                       |hi .|\n"
        );
        assert_eq!(dump.dump(b""), "");
    }
}
