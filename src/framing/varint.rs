//! Reads and writes protobuf varints: unsigned LEB128, 7 bits a byte, least significant first, at most 10 bytes.

use bytes::BufMut;

/// The most bytes a varint of a u64 takes.
pub(crate) const MAX_LEN: usize = 10;

/// Says what the bytes at the start of a buffer hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Read {
    /// A whole varint: its value and how many bytes it took.
    Done { value: u64, len: usize },
    /// The start of a varint: more bytes decide.
    More,
    /// Ten bytes that all say "more follows": an 11-byte varint or longer.
    TooLong,
    /// A tenth byte above 1: the value needs more than 64 bits.
    Overflow,
}

/// Reads the varint at the start of `bytes`. Non-minimal encodings (`80 00`
/// for 0) are accepted, as protobuf does.
pub(crate) fn read(bytes: &[u8]) -> Read {
    let mut value = 0u64;
    for (i, &byte) in bytes.iter().take(MAX_LEN).enumerate() {
        if i == MAX_LEN - 1 {
            if byte & 0x80 != 0 {
                return Read::TooLong;
            }
            if byte > 1 {
                return Read::Overflow;
            }
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Read::Done { value, len: i + 1 };
        }
    }
    Read::More
}

/// Appends the minimal varint of `value` to `out`.
pub(crate) fn write(mut value: u64, out: &mut impl BufMut) {
    while value >= 0x80 {
        out.put_u8((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.put_u8(value as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(value: u64) -> Vec<u8> {
        let mut out = Vec::new();
        write(value, &mut out);
        out
    }

    #[test]
    fn edge_values_round_trip() {
        let cases: [(u64, &[u8]); 6] = [
            (0, &[0x00]),
            (1, &[0x01]),
            (127, &[0x7f]),
            (128, &[0x80, 0x01]),
            (300, &[0xac, 0x02]),
            (
                u64::MAX,
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
            ),
        ];
        for (value, bytes) in cases {
            assert_eq!(encoded(value), bytes, "{value}");
            let len = bytes.len();
            assert_eq!(read(bytes), Read::Done { value, len }, "{value}");
            for cut in 0..len {
                assert_eq!(read(&bytes[..cut]), Read::More, "{value} cut at {cut}");
            }
        }
    }

    #[test]
    fn reads_only_the_varint_and_accepts_non_minimal_forms() {
        assert_eq!(read(&[0x05, 0xff]), Read::Done { value: 5, len: 1 });
        assert_eq!(read(&[0x80, 0x00]), Read::Done { value: 0, len: 2 });
    }

    #[test]
    fn eleven_bytes_and_over_64_bits_are_errors() {
        let eleven = [0x80; 10]
            .iter()
            .chain(&[0x00])
            .copied()
            .collect::<Vec<_>>();
        assert_eq!(read(&eleven), Read::TooLong);
        assert_eq!(read(&[0x80; 10]), Read::TooLong);
        let mut over = [0xff; 10];
        over[9] = 0x02;
        assert_eq!(read(&over), Read::Overflow);
        assert_eq!(read(&[0xff; 9]), Read::More);
    }
}
