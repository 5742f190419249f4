//! Wraps a payload as one frame (`send_frame`): adds the line ending, delimiter, start and end bytes or length field.

use bytes::{BufMut, Bytes, BytesMut};

use super::spec::{FramingKind, FramingSpec, LengthField, LengthSpec, quote};
use super::varint;

/// Reports a payload that cannot be sent as one frame: the peer's decoder
/// would read other frames than this one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The payload holds the bytes that end a frame.
    #[error(
        "the payload holds {} at byte {at}, where the peer would see the frame end",
        quote(.delimiter)
    )]
    HoldsDelimiter {
        /// The bytes that end a frame.
        delimiter: Bytes,
        /// Where in the payload they are.
        at: usize,
    },
    /// With `line` framing, a payload that ends in `\r`.
    #[error("the payload ends with \"\\r\", which `line` framing reads as part of the line ending")]
    EndsWithCr,
    /// A payload of another size than `fixed`.
    #[error("`fixed: {size}` frames hold {size} bytes, and the payload has {len}")]
    FixedSize {
        /// The spec's size.
        size: usize,
        /// The payload's size.
        len: usize,
    },
    /// A payload shorter than `offset`.
    #[error(
        "`offset: {offset}` takes the payload's first {offset} bytes as the bytes before the \
         length field, and the payload has {len}"
    )]
    ShorterThanOffset {
        /// The spec's offset.
        offset: usize,
        /// The payload's size.
        len: usize,
    },
    /// A length the field cannot hold: too large, or below zero.
    #[error(
        "a {field} length field cannot hold {value}: {after} bytes after the field, minus \
         adjust {adjust}"
    )]
    LengthOutOfRange {
        /// The length field.
        field: LengthField,
        /// The value it would need to hold.
        value: i128,
        /// The bytes after the field.
        after: usize,
        /// The spec's adjust.
        adjust: i64,
    },
}

impl EncodeError {
    /// Returns how to send it anyway, or how to fix the payload.
    pub fn hint(&self) -> String {
        match self {
            EncodeError::HoldsDelimiter { .. } | EncodeError::EndsWithCr => {
                "send raw bytes with `send` to test how a peer takes this on purpose".to_owned()
            }
            EncodeError::FixedSize { size, .. } => {
                format!("give exactly {size} bytes, or use `send` for raw bytes")
            }
            EncodeError::ShorterThanOffset { .. } => "the payload of a frame with an \
                `offset` starts with the bytes that go before the length field (a type tag, \
                say): `{length: u16be, offset: 1}` sends payload `Thello` as `T`, the length \
                5, `hello`"
                .to_owned(),
            EncodeError::LengthOutOfRange { field, .. } => format!(
                "a {field} field holds 0 to {}; `adjust` is added to the field's value to get \
                 the bytes after it, so the field holds their count minus `adjust`",
                field.max_value()
            ),
        }
    }
}

impl FramingSpec {
    /// Wraps `payload` as one frame on the wire, so that this spec's decoder
    /// reads back exactly `payload`:
    /// - `line`: payload and `\n` (not `\r\n`); `crlf`: payload and `\r\n`;
    ///   `{delimiter}`: payload and the delimiter; `{start, end}`: start,
    ///   payload, end. A payload that holds its frame's end is an error.
    /// - `{fixed: N}`: the payload as it is; it must be N bytes.
    /// - `{length}`: the payload's first `offset` bytes, then the length
    ///   field, then the rest of the payload; the field holds the size of
    ///   that rest minus `adjust`.
    ///
    /// `max` is not checked, so that a test can send a frame its peer must
    /// refuse.
    pub fn encode(&self, payload: &[u8]) -> Result<Bytes, EncodeError> {
        let mut out = BytesMut::with_capacity(payload.len() + 16);
        match &self.kind {
            FramingKind::Line => {
                if payload.ends_with(b"\r") {
                    return Err(EncodeError::EndsWithCr);
                }
                delimited(&mut out, b"", payload, b"\n")?;
            }
            FramingKind::Crlf => delimited(&mut out, b"", payload, b"\r\n")?,
            FramingKind::Delimiter(delimiter) => delimited(&mut out, b"", payload, delimiter)?,
            FramingKind::StartEnd { start, end } => delimited(&mut out, start, payload, end)?,
            FramingKind::Fixed(size) => {
                if payload.len() != *size {
                    return Err(EncodeError::FixedSize {
                        size: *size,
                        len: payload.len(),
                    });
                }
                out.put_slice(payload);
            }
            FramingKind::Length(length) => with_length(&mut out, length, payload)?,
        }
        Ok(out.freeze())
    }
}

/// Writes `start`, `payload`, `end`, unless the payload holds `end` (or
/// ends in a way that makes `end` appear earlier: `a` before `aa`).
fn delimited(
    out: &mut BytesMut,
    start: &[u8],
    payload: &[u8],
    end: &[u8],
) -> Result<(), EncodeError> {
    out.put_slice(start);
    out.put_slice(payload);
    out.put_slice(end);
    match memchr::memmem::find(&out[start.len()..], end) {
        Some(at) if at < payload.len() => Err(EncodeError::HoldsDelimiter {
            delimiter: Bytes::copy_from_slice(end),
            at,
        }),
        _ => Ok(()),
    }
}

fn with_length(out: &mut BytesMut, length: &LengthSpec, payload: &[u8]) -> Result<(), EncodeError> {
    let LengthSpec {
        field,
        offset,
        adjust,
    } = *length;
    let (before, after) =
        payload
            .split_at_checked(offset)
            .ok_or(EncodeError::ShorterThanOffset {
                offset,
                len: payload.len(),
            })?;
    let value = after.len() as i128 - i128::from(adjust);
    if value < 0 || value > i128::from(field.max_value()) {
        return Err(EncodeError::LengthOutOfRange {
            field,
            value,
            after: after.len(),
            adjust,
        });
    }
    let value = value as u64;
    out.put_slice(before);
    match field.width() {
        None => varint::write(value, out),
        Some(width) if field.big_endian() => out.put_uint(value, width),
        Some(width) => out.put_uint_le(value, width),
    }
    out.put_slice(after);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::Item;
    use crate::framing::decode::tests::{feed, random_split, same_however_split, spec};

    /// Checks that payloads encoded one after the other decode to the same
    /// payloads, whole, byte by byte and in random splits.
    fn round_trip(spec: &FramingSpec, payloads: &[&[u8]]) {
        let mut stream = Vec::new();
        for payload in payloads {
            stream.extend_from_slice(&spec.encode(payload).unwrap());
        }
        let run = same_however_split(spec, &stream);
        assert_eq!(run.end, Ok(None), "{spec}");
        let decoded: Vec<&[u8]> = run
            .items
            .iter()
            .map(|item| match item {
                Item::Frame(frame) => &frame.payload[..],
                Item::Junk(junk) => panic!("junk {junk:?}"),
            })
            .collect();
        assert_eq!(decoded, payloads, "{spec}");
    }

    #[test]
    fn every_kind_round_trips() {
        let text: &[&[u8]] = &[b"PING", b"", b"hello world", b"a\rb", b"\x00\xff\x0b"];
        round_trip(&FramingSpec::line(), text);
        round_trip(&FramingSpec::crlf(), &[b"PING", b"", b"a\nb", b"x\r"]);
        round_trip(&spec(&[("delimiter", "\0\0")]), text);
        round_trip(&spec(&[("delimiter", "--")]), &[b"a-b", b"", b"-x"]);
        round_trip(&spec(&[("start", "\x0b"), ("end", "\x1c\r")]), text);
        round_trip(&spec(&[("fixed", "3")]), &[b"abc", b"\0\0\0", b"x\ny"]);
        let binary: &[&[u8]] = &[b"T", b"Thello", b"Q\x00\x01\x02\x03\x04", &[b'z'; 200]];
        for field in LengthField::NAMES {
            round_trip(&spec(&[("length", field)]), &binary[1..]);
            for (offset, adjust) in [
                ("1", "0"),
                ("0", "-2"),
                ("1", "-3"),
                ("1", "4"),
                ("0", "-4"),
            ] {
                let spec = spec(&[("length", field), ("offset", offset), ("adjust", adjust)]);
                let payloads: Vec<&[u8]> = binary
                    .iter()
                    .copied()
                    .filter(|p| spec.encode(p).is_ok())
                    .collect();
                assert!(payloads.len() >= 3, "{spec}: {} payloads", payloads.len());
                round_trip(&spec, &payloads);
            }
        }
    }

    #[test]
    fn length_fields_are_written_in_their_width_and_order() {
        let encoded = |pairs: &[(&str, &str)], payload: &[u8]| spec(pairs).encode(payload).unwrap();
        assert_eq!(encoded(&[("length", "u16be")], b"hi"), &b"\x00\x02hi"[..]);
        assert_eq!(encoded(&[("length", "u16le")], b"hi"), &b"\x02\x00hi"[..]);
        assert_eq!(
            encoded(&[("length", "u24be")], b"hi"),
            &b"\x00\x00\x02hi"[..]
        );
        assert_eq!(
            encoded(&[("length", "u16be"), ("adjust", "-2")], b"hi"),
            &b"\x00\x04hi"[..]
        );
        // The type byte goes before the field, and the length counts both.
        assert_eq!(
            encoded(
                &[("length", "u8"), ("offset", "1"), ("adjust", "-2")],
                b"Thello"
            ),
            &b"T\x07hello"[..]
        );
        assert_eq!(
            encoded(&[("length", "varint")], &[b'x'; 300])[..2],
            [0xac, 0x02]
        );
    }

    #[test]
    fn delimiters_are_appended_and_start_end_wrap() {
        assert_eq!(FramingSpec::line().encode(b"hi").unwrap(), &b"hi\n"[..]);
        assert_eq!(FramingSpec::crlf().encode(b"hi").unwrap(), &b"hi\r\n"[..]);
        assert_eq!(
            spec(&[("start", "\x0b"), ("end", "\x1c\r")])
                .encode(b"MSH|")
                .unwrap(),
            &b"\x0bMSH|\x1c\r"[..]
        );
    }

    #[test]
    fn payloads_that_would_not_come_back_whole_are_errors() {
        let error = FramingSpec::line().encode(b"a\nb").unwrap_err();
        assert_eq!(
            error.to_string(),
            r#"the payload holds "\n" at byte 1, where the peer would see the frame end"#
        );
        assert!(error.hint().contains("`send`"));
        assert_eq!(
            FramingSpec::line().encode(b"a\r"),
            Err(EncodeError::EndsWithCr)
        );
        // The end would appear one byte early: `a` then `aa`.
        let error = spec(&[("delimiter", "aa")]).encode(b"xa").unwrap_err();
        assert!(
            matches!(error, EncodeError::HoldsDelimiter { at: 1, .. }),
            "{error}"
        );
        let error = spec(&[("start", "\x0b"), ("end", "\x1c\r")])
            .encode(b"a\x1c\rb")
            .unwrap_err();
        assert!(matches!(error, EncodeError::HoldsDelimiter { at: 1, .. }));
        assert_eq!(
            spec(&[("fixed", "4")])
                .encode(b"abc")
                .unwrap_err()
                .to_string(),
            "`fixed: 4` frames hold 4 bytes, and the payload has 3"
        );
        let error = spec(&[("length", "u8"), ("offset", "2")])
            .encode(b"T")
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "`offset: 2` takes the payload's first 2 bytes as the bytes before the length \
             field, and the payload has 1"
        );
        let error = spec(&[("length", "u8")]).encode(&[0; 256]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "a u8 length field cannot hold 256: 256 bytes after the field, minus adjust 0"
        );
        assert!(error.hint().contains("holds 0 to 255"));
        let error = spec(&[("length", "u8"), ("adjust", "4")])
            .encode(b"ab")
            .unwrap_err();
        assert!(matches!(
            error,
            EncodeError::LengthOutOfRange { value: -2, .. }
        ));
    }

    #[test]
    fn max_is_not_checked_so_that_tests_can_send_oversized_frames() {
        let spec = spec(&[("length", "u16be"), ("max", "8")]);
        let wire = spec.encode(&[b'x'; 10]).unwrap();
        assert_eq!(wire.len(), 12);
        let run = feed(&spec, random_split(&wire, 1));
        assert_eq!(run.end.unwrap_err().offset(), 0);
    }
}
