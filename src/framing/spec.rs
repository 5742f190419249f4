//! Describes how a byte stream is cut into frames: the typed framing spec.

use std::fmt;

use bytes::Bytes;

use super::size::show_size;

/// The most bytes one frame may take on the wire when a spec names no `max`: 8 MiB.
pub const DEFAULT_MAX: usize = 8 * 1024 * 1024;

/// Describes one framing: how frames are cut from a stream, and the largest
/// frame, in bytes on the wire (header, delimiters and start/end bytes
/// included). Built only by [`FramingSpec::parse`], which checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FramingSpec {
    pub(super) kind: FramingKind,
    pub(super) max: usize,
}

/// Lists the framings, with what each one needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FramingKind {
    /// `line`: a frame ends at `\n`; a `\r` just before it is part of the
    /// line ending. The payload excludes the line ending.
    Line,
    /// `crlf`: a frame ends at `\r\n`; the payload excludes it.
    Crlf,
    /// `{delimiter: BYTES}`: a frame ends at this byte string (one byte or
    /// more); the payload excludes it.
    Delimiter(Bytes),
    /// `{start: BYTES, end: BYTES}`: a frame is `start`, payload, `end`
    /// (MLLP: `\x0b` ... `\x1c\r`). Bytes before a start are junk; a `start`
    /// inside a frame is payload.
    StartEnd {
        /// The bytes that open a frame (one or more).
        start: Bytes,
        /// The bytes that close a frame (one or more).
        end: Bytes,
    },
    /// `{fixed: N}`: every frame is N bytes (N ≥ 1), all payload.
    Fixed(usize),
    /// `{length: FIELD, offset: N, adjust: N}`: a frame carries the length
    /// of what follows its length field.
    Length(LengthSpec),
}

/// Describes a length-prefixed frame on the wire:
/// `offset` bytes, then the length field, then `value + adjust` bytes.
/// The payload is the `offset` bytes followed by the bytes after the field:
/// everything but the length field itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LengthSpec {
    /// The length field's type and byte order.
    pub field: LengthField,
    /// How many bytes come before the length field (kept in the payload).
    pub offset: usize,
    /// Added to the field's value to get the number of bytes after the
    /// field: `-2` for a u16 length that counts itself.
    pub adjust: i64,
}

/// Lists the length fields: unsigned integers of a width and byte order, or
/// a protobuf varint (unsigned LEB128, 1 to 10 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LengthField {
    /// `u8`: one byte.
    U8,
    /// `u16be`: two bytes, big-endian (network order).
    U16Be,
    /// `u16le`: two bytes, little-endian.
    U16Le,
    /// `u24be`: three bytes, big-endian.
    U24Be,
    /// `u32be`: four bytes, big-endian.
    U32Be,
    /// `u32le`: four bytes, little-endian.
    U32Le,
    /// `u64be`: eight bytes, big-endian.
    U64Be,
    /// `u64le`: eight bytes, little-endian.
    U64Le,
    /// `varint`: protobuf's unsigned LEB128, 1 to 10 bytes.
    Varint,
}

impl LengthField {
    /// Every field, in the order of [`LengthField::NAMES`].
    pub const ALL: [LengthField; 9] = [
        LengthField::U8,
        LengthField::U16Be,
        LengthField::U16Le,
        LengthField::U24Be,
        LengthField::U32Be,
        LengthField::U32Le,
        LengthField::U64Be,
        LengthField::U64Le,
        LengthField::Varint,
    ];

    /// The names a spec writes, in the order of [`LengthField::ALL`].
    pub const NAMES: [&'static str; 9] = [
        "u8", "u16be", "u16le", "u24be", "u32be", "u32le", "u64be", "u64le", "varint",
    ];

    /// Returns the name a spec writes: `u16be`, `varint`, ...
    pub fn name(self) -> &'static str {
        let index = Self::ALL.iter().position(|f| *f == self).unwrap_or(0);
        Self::NAMES[index]
    }

    /// Returns the field a spec names, if `name` is one of [`LengthField::NAMES`].
    pub fn from_name(name: &str) -> Option<Self> {
        let index = Self::NAMES.iter().position(|n| *n == name)?;
        Some(Self::ALL[index])
    }

    /// Returns the field's size in bytes, or `None` for a varint (1 to 10 bytes).
    pub fn width(self) -> Option<usize> {
        match self {
            LengthField::U8 => Some(1),
            LengthField::U16Be | LengthField::U16Le => Some(2),
            LengthField::U24Be => Some(3),
            LengthField::U32Be | LengthField::U32Le => Some(4),
            LengthField::U64Be | LengthField::U64Le => Some(8),
            LengthField::Varint => None,
        }
    }

    /// Returns the fewest bytes the field takes: its width, or 1 for a varint.
    pub fn min_width(self) -> usize {
        self.width().unwrap_or(1)
    }

    /// Returns the largest value the field holds.
    pub fn max_value(self) -> u64 {
        match self.width() {
            Some(width) if width < 8 => (1u64 << (8 * width)) - 1,
            _ => u64::MAX,
        }
    }

    /// Returns true when the most significant byte comes first.
    pub(super) fn big_endian(self) -> bool {
        matches!(
            self,
            LengthField::U16Be | LengthField::U24Be | LengthField::U32Be | LengthField::U64Be
        )
    }
}

impl fmt::Display for LengthField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FramingSpec {
    /// Returns `line` framing with the default `max`.
    pub fn line() -> Self {
        Self {
            kind: FramingKind::Line,
            max: DEFAULT_MAX,
        }
    }

    /// Returns `crlf` framing with the default `max`.
    pub fn crlf() -> Self {
        Self {
            kind: FramingKind::Crlf,
            max: DEFAULT_MAX,
        }
    }

    /// Returns how frames are cut.
    pub fn kind(&self) -> &FramingKind {
        &self.kind
    }

    /// Returns the most bytes one frame may take on the wire.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Returns the fewest bytes a frame takes on the wire (an empty payload's frame).
    pub fn min_frame(&self) -> usize {
        match &self.kind {
            FramingKind::Line => 1,
            FramingKind::Crlf => 2,
            FramingKind::Delimiter(delimiter) => delimiter.len(),
            FramingKind::StartEnd { start, end } => start.len() + end.len(),
            FramingKind::Fixed(size) => *size,
            FramingKind::Length(length) => length.offset + length.field.min_width(),
        }
    }
}

/// Writes the spec as a scenario would: `line`, `{length: u16be, adjust: -2}`,
/// `{start: "\x0b", end: "\x1c\r", max: 1MiB}` (YAML flow syntax, which
/// a scenario loader turns back into the same spec).
impl fmt::Display for FramingSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let max = (self.max != DEFAULT_MAX).then(|| format!(", max: {}", show_size(self.max)));
        let max = max.as_deref().unwrap_or("");
        match &self.kind {
            // The shorthands always have the default max.
            FramingKind::Line => f.write_str("line"),
            FramingKind::Crlf => f.write_str("crlf"),
            FramingKind::Delimiter(delimiter) => {
                write!(f, "{{delimiter: {}{max}}}", quote(delimiter))
            }
            FramingKind::StartEnd { start, end } => {
                write!(f, "{{start: {}, end: {}{max}}}", quote(start), quote(end))
            }
            FramingKind::Fixed(size) => write!(f, "{{fixed: {size}{max}}}"),
            FramingKind::Length(length) => {
                write!(f, "{{length: {}", length.field)?;
                if length.offset != 0 {
                    write!(f, ", offset: {}", length.offset)?;
                }
                if length.adjust != 0 {
                    write!(f, ", adjust: {}", length.adjust)?;
                }
                write!(f, "{max}}}")
            }
        }
    }
}

/// Quotes bytes as a YAML double-quoted string: printable text as it is,
/// `\n`, `\r`, `\t`, `\"`, `\\`, and `\xNN` for other control bytes and
/// for bytes that are not UTF-8.
pub(crate) fn quote(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for chunk in bytes.utf8_chunks() {
        for ch in chunk.valid().chars() {
            match ch {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if c.is_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_widths_hold_their_values() {
        for field in LengthField::ALL {
            assert_eq!(LengthField::from_name(field.name()), Some(field));
        }
        assert_eq!(LengthField::U24Be.max_value(), 0xff_ffff);
        assert_eq!(LengthField::U8.max_value(), 255);
        assert_eq!(LengthField::U64Le.max_value(), u64::MAX);
        assert_eq!(LengthField::Varint.width(), None);
        assert_eq!(LengthField::from_name("u16"), None);
    }

    #[test]
    fn quotes_bytes_as_yaml_text() {
        assert_eq!(quote(b"\x0b"), r#""\x0b""#);
        assert_eq!(quote(b"\x1c\r"), r#""\x1c\r""#);
        assert_eq!(quote("a\"é\\".as_bytes()), r#""a\"é\\""#);
        assert_eq!(quote(b"\xff\n"), r#""\xff\n""#);
    }
}
