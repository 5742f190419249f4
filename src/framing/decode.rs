//! Cuts a byte stream that arrives in pieces into whole frames, the same frames however the stream was split.

use std::ops::Range;

use bytes::{Buf, Bytes, BytesMut};

use super::size::show_bytes;
use super::spec::{FramingKind, FramingSpec, LengthField, LengthSpec, quote};
use super::varint;

/// Holds one whole frame as it was cut from the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Byte offset of the frame's first byte in the stream (0 for the first byte ever received).
    pub offset: u64,
    /// The payload: without its line ending, delimiter, start and end bytes
    /// or length field (the bytes before a length field stay).
    pub payload: Bytes,
    /// The frame's bytes on the wire, all of them.
    pub wire: Bytes,
}

/// Holds bytes that belong to no frame: with `{start, end}` framing, what
/// came before a start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Junk {
    /// Byte offset of the first junk byte in the stream.
    pub offset: u64,
    /// The bytes.
    pub bytes: Bytes,
}

/// Holds the start of a frame that the stream ended in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partial {
    /// Byte offset of the frame's first byte in the stream.
    pub offset: u64,
    /// The bytes that came (on the wire, all of them).
    pub bytes: Bytes,
    /// How many bytes the whole frame would take on the wire, when its
    /// header said so (`fixed`, or a `length` field that was complete).
    pub expected: Option<u64>,
}

/// Lists what the decoder cuts from the stream while it is open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A whole frame.
    Frame(Frame),
    /// Bytes before a start (`{start, end}` framing only): all of them up to
    /// the start, in one piece, or `max` bytes at a time while no start comes.
    Junk(Junk),
}

/// Lists what a stream can end in besides whole frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leftover {
    /// A frame that was not complete.
    Partial(Partial),
    /// Bytes that were not after a start (`{start, end}` framing only).
    Junk(Junk),
}

/// Reports a stream that cannot be framed past some point: the frame at
/// `offset` is over `max`, or its length field is impossible. Framing stops
/// there (where the next frame starts is unknown).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A length field that makes the frame larger than `max`.
    #[error(
        "frame at byte {offset}: its {field} length field says {value}{}, so the frame would be \
         {frame} bytes, over max {}",
        adjusted(*.value, *.adjust), show_bytes(*.max)
    )]
    OverMax {
        /// Byte offset of the frame in the stream.
        offset: u64,
        /// The length field.
        field: LengthField,
        /// What the field said.
        value: u64,
        /// The spec's `adjust`.
        adjust: i64,
        /// The frame's size on the wire that follows, header included.
        frame: u128,
        /// The spec's `max`.
        max: usize,
    },
    /// A length field that, adjusted, leaves fewer than 0 bytes after it.
    #[error(
        "frame at byte {offset}: its {field} length field says {value}, and adjust {adjust} \
         leaves {} bytes after the field",
        i128::from(*.value) + i128::from(*.adjust)
    )]
    BelowZero {
        /// Byte offset of the frame in the stream.
        offset: u64,
        /// The length field.
        field: LengthField,
        /// What the field said.
        value: u64,
        /// The spec's `adjust`.
        adjust: i64,
    },
    /// No delimiter or end bytes within `max` bytes of the frame's start.
    #[error(
        "frame at byte {offset}: no {} within max {}",
        quote(.delimiter), show_bytes(*.max)
    )]
    Unterminated {
        /// Byte offset of the frame in the stream.
        offset: u64,
        /// The bytes that should end it.
        delimiter: Bytes,
        /// The spec's `max`.
        max: usize,
    },
    /// A varint length field of more than 10 bytes, or over 64 bits.
    #[error("frame at byte {offset}: its varint length field {}", if *.too_long {
        "runs past 10 bytes (an 11-byte varint or longer)"
    } else {
        "is larger than 2^64 - 1 (its 10th byte is over 1)"
    })]
    BadVarint {
        /// Byte offset of the frame in the stream.
        offset: u64,
        /// True: more than 10 bytes; false: a 10-byte varint over 64 bits.
        too_long: bool,
    },
}

fn adjusted(value: u64, adjust: i64) -> String {
    match adjust {
        0 => String::new(),
        _ => format!(
            " (with adjust {adjust}: {} bytes after the field)",
            i128::from(value) + i128::from(adjust)
        ),
    }
}

impl DecodeError {
    /// Returns the byte offset in the stream of the frame that cannot be cut.
    pub fn offset(&self) -> u64 {
        match self {
            DecodeError::OverMax { offset, .. }
            | DecodeError::BelowZero { offset, .. }
            | DecodeError::Unterminated { offset, .. }
            | DecodeError::BadVarint { offset, .. } => *offset,
        }
    }

    /// Returns how the spec or the peer may be at fault, with an example.
    pub fn hint(&self) -> String {
        match self {
            DecodeError::OverMax { .. } => "if frames are really this large, raise `max` \
                (`max: 64MiB`); if the length field counts more than the bytes after it \
                (itself, or a header before it), subtract those with `adjust`: a u16be length \
                that counts itself is `{length: u16be, adjust: -2}`"
                .to_owned(),
            DecodeError::BelowZero { .. } => "`adjust` is added to the field's value to get \
                the bytes after the field: a u16be length that counts itself is \
                `{length: u16be, adjust: -2}`, and then says 2 or more"
                .to_owned(),
            DecodeError::Unterminated { .. } => "the peer may use another delimiter (`crlf` \
                rather than `line`?), or frames are larger: raise `max` (`max: 64MiB`)"
                .to_owned(),
            DecodeError::BadVarint { .. } => "`varint` is protobuf's unsigned LEB128 \
                (at most 10 bytes); the peer may use a fixed-width length such as `u32be`"
                .to_owned(),
        }
    }
}

/// Says what the front of the buffer holds.
enum Cut {
    /// Not enough bytes yet.
    Wait,
    /// Junk: this many bytes.
    Junk(usize),
    /// A frame of `len` bytes whose payload is the two ranges, joined.
    Frame { len: usize, keep: [Range<usize>; 2] },
}

/// Cuts a stream into frames by a [`FramingSpec`]: [`FrameDecoder::push`]
/// bytes as they arrive, in pieces of any size, then take
/// [`FrameDecoder::next_item`] until it returns `None`; at the end of the
/// stream, [`FrameDecoder::finish`] returns what is left. Frames come out
/// whole and in order, neither split nor merged, however the stream was cut
/// into pieces; the bytes held are at most one frame (`max`) and the next
/// piece.
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    spec: FramingSpec,
    buf: BytesMut,
    /// Stream offset of `buf[0]`.
    at: u64,
    /// Where the next search for a delimiter or end resumes (bytes before
    /// it cannot start one).
    searched: usize,
    /// `{start, end}`: the buffer starts with a start.
    framed: bool,
    /// The error that stopped framing, returned again on every call.
    failed: Option<DecodeError>,
}

impl FrameDecoder {
    /// Returns a decoder at the start of a stream.
    pub fn new(spec: &FramingSpec) -> Self {
        Self {
            spec: spec.clone(),
            buf: BytesMut::new(),
            at: 0,
            searched: 0,
            framed: false,
            failed: None,
        }
    }

    /// Returns the spec the decoder cuts by.
    pub fn spec(&self) -> &FramingSpec {
        &self.spec
    }

    /// Adds the next bytes of the stream.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Returns how many bytes are held that belong to no item yet.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Returns the stream offset of the first byte held (the bytes before it were cut).
    pub fn position(&self) -> u64 {
        self.at
    }

    /// Returns the next whole frame or junk, or `None` until more bytes come.
    /// An error stops framing: every later call returns it again.
    pub fn next_item(&mut self) -> Result<Option<Item>, DecodeError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        let cut = match self.cut() {
            Ok(cut) => cut,
            Err(error) => {
                self.failed = Some(error.clone());
                return Err(error);
            }
        };
        let offset = self.at;
        let item = match cut {
            Cut::Wait => return Ok(None),
            Cut::Junk(len) => Item::Junk(Junk {
                offset,
                bytes: self.take(len),
            }),
            Cut::Frame { len, keep } => {
                self.framed = false;
                let wire = self.take(len);
                let payload = match keep {
                    [a, b] if b.is_empty() => wire.slice(a),
                    [a, b] if a.is_empty() => wire.slice(b),
                    [a, b] => [&wire[a], &wire[b]].concat().into(),
                };
                Item::Frame(Frame {
                    offset,
                    payload,
                    wire,
                })
            }
        };
        Ok(Some(item))
    }

    /// Ends the stream: returns the bytes held, as a partial frame or (with
    /// `{start, end}` framing, when no start came) junk; `None` when nothing
    /// is held or framing had stopped on an error. Call it once
    /// [`FrameDecoder::next_item`] has returned `None`.
    pub fn finish(&mut self) -> Option<Leftover> {
        if self.failed.is_some() || self.buf.is_empty() {
            return None;
        }
        let offset = self.at;
        let expected = self.expected();
        let junk = matches!(self.spec.kind, FramingKind::StartEnd { .. }) && !self.framed;
        let bytes = self.take(self.buf.len());
        self.framed = false;
        Some(if junk {
            Leftover::Junk(Junk { offset, bytes })
        } else {
            Leftover::Partial(Partial {
                offset,
                bytes,
                expected,
            })
        })
    }

    /// Takes the bytes held that belong to no item yet: after an error,
    /// the frame that could not be cut and what came after it.
    pub fn take_buffered(&mut self) -> Bytes {
        let len = self.buf.len();
        self.framed = false;
        self.take(len)
    }

    fn take(&mut self, len: usize) -> Bytes {
        self.at += len as u64;
        self.searched = 0;
        self.buf.split_to(len).freeze()
    }

    fn cut(&mut self) -> Result<Cut, DecodeError> {
        let max = self.spec.max;
        match &self.spec.kind {
            FramingKind::Line => {
                let cut = delimited(&self.buf, b"\n", max, self.at, &mut self.searched)?;
                Ok(match cut {
                    Cut::Frame { len, keep: [a, b] } if self.buf[..a.end].ends_with(b"\r") => {
                        Cut::Frame {
                            len,
                            keep: [a.start..a.end - 1, b],
                        }
                    }
                    cut => cut,
                })
            }
            FramingKind::Crlf => delimited(&self.buf, b"\r\n", max, self.at, &mut self.searched),
            FramingKind::Delimiter(delimiter) => {
                delimited(&self.buf, delimiter, max, self.at, &mut self.searched)
            }
            FramingKind::StartEnd { start, end } => {
                if !self.framed {
                    match find(&self.buf, 0, start, &mut self.searched) {
                        Some(0) => {
                            self.framed = true;
                            self.searched = start.len();
                        }
                        Some(at) => return Ok(Cut::Junk(at.min(max))),
                        // No start can begin before `max`: a whole chunk of junk.
                        None if self.buf.len() >= max + start.len() => return Ok(Cut::Junk(max)),
                        None => return Ok(Cut::Wait),
                    }
                }
                let cut = delimited(&self.buf, end, max, self.at, &mut self.searched)?;
                Ok(match cut {
                    Cut::Frame { len, keep: [a, b] } => Cut::Frame {
                        len,
                        keep: [start.len()..a.end, b],
                    },
                    cut => cut,
                })
            }
            FramingKind::Fixed(size) => Ok(if self.buf.len() >= *size {
                Cut::Frame {
                    len: *size,
                    keep: [0..*size, 0..0],
                }
            } else {
                Cut::Wait
            }),
            FramingKind::Length(length) => {
                let Some((len, head)) = self.length_frame(length)? else {
                    return Ok(Cut::Wait);
                };
                Ok(if self.buf.len() >= len {
                    Cut::Frame {
                        len,
                        keep: [0..length.offset, head..len],
                    }
                } else {
                    Cut::Wait
                })
            }
        }
    }

    /// Reads the length header at the front of the buffer: the frame's size
    /// on the wire and where the bytes after the field start, or `None`
    /// while the header is incomplete.
    fn length_frame(&self, length: &LengthSpec) -> Result<Option<(usize, usize)>, DecodeError> {
        let LengthSpec {
            field,
            offset,
            adjust,
        } = *length;
        let at = self.at;
        let Some(rest) = self.buf.get(offset..).filter(|rest| !rest.is_empty()) else {
            return Ok(None);
        };
        let (value, width) = match field.width() {
            Some(width) if rest.len() < width => return Ok(None),
            Some(width) => {
                let mut bytes = &rest[..width];
                let value = if field.big_endian() {
                    bytes.get_uint(width)
                } else {
                    bytes.get_uint_le(width)
                };
                (value, width)
            }
            None => match varint::read(rest) {
                varint::Read::Done { value, len } => (value, len),
                varint::Read::More => return Ok(None),
                varint::Read::TooLong | varint::Read::Overflow => {
                    return Err(DecodeError::BadVarint {
                        offset: at,
                        too_long: varint::read(rest) == varint::Read::TooLong,
                    });
                }
            },
        };
        let after = i128::from(value) + i128::from(adjust);
        if after < 0 {
            return Err(DecodeError::BelowZero {
                offset: at,
                field,
                value,
                adjust,
            });
        }
        let head = offset + width;
        let frame = head as u128 + after as u128;
        if frame > self.spec.max as u128 {
            return Err(DecodeError::OverMax {
                offset: at,
                field,
                value,
                adjust,
                frame,
                max: self.spec.max,
            });
        }
        Ok(Some((frame as usize, head)))
    }

    /// Returns the size of the frame at the front, when its header says it.
    fn expected(&self) -> Option<u64> {
        match &self.spec.kind {
            FramingKind::Fixed(size) => Some(*size as u64),
            FramingKind::Length(length) => self
                .length_frame(length)
                .ok()
                .flatten()
                .map(|(len, _)| len as u64),
            _ => None,
        }
    }
}

/// Cuts a frame that ends at `delimiter`: a frame of `len` bytes whose
/// payload is everything before the delimiter, or an error once no frame of
/// at most `max` bytes can end in it.
fn delimited(
    buf: &[u8],
    delimiter: &[u8],
    max: usize,
    at: u64,
    searched: &mut usize,
) -> Result<Cut, DecodeError> {
    let unterminated = || DecodeError::Unterminated {
        offset: at,
        delimiter: Bytes::copy_from_slice(delimiter),
        max,
    };
    match find(buf, 0, delimiter, searched) {
        Some(end) if end + delimiter.len() > max => Err(unterminated()),
        Some(end) => Ok(Cut::Frame {
            len: end + delimiter.len(),
            keep: [0..end, 0..0],
        }),
        // Any delimiter still to come would end a frame over `max`.
        None if buf.len() >= max => Err(unterminated()),
        None => Ok(Cut::Wait),
    }
}

/// Finds `needle` in `buf` from `*searched` (at least `from`); on a miss,
/// moves `*searched` to the first place where a needle could still begin,
/// so that bytes arriving one at a time are searched once, not again and again.
fn find(buf: &[u8], from: usize, needle: &[u8], searched: &mut usize) -> Option<usize> {
    let begin = (*searched).max(from).min(buf.len());
    match memchr::memmem::find(&buf[begin..], needle) {
        Some(at) => Some(begin + at),
        None => {
            *searched = (buf.len() + 1).saturating_sub(needle.len()).max(begin);
            None
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::framing::Written;

    pub(in crate::framing) fn spec(pairs: &[(&str, &str)]) -> FramingSpec {
        FramingSpec::parse(Written::Map(pairs)).unwrap()
    }

    /// Holds everything a decoder made of a stream.
    #[derive(Debug, PartialEq, Eq)]
    pub(in crate::framing) struct Run {
        pub items: Vec<Item>,
        pub end: Result<Option<Leftover>, DecodeError>,
    }

    /// Feeds `pieces` one after the other, taking items after each, then ends the stream.
    pub(in crate::framing) fn feed<'a>(
        spec: &FramingSpec,
        pieces: impl IntoIterator<Item = &'a [u8]>,
    ) -> Run {
        let mut decoder = FrameDecoder::new(spec);
        let mut items = Vec::new();
        for piece in pieces {
            decoder.push(piece);
            loop {
                match decoder.next_item() {
                    Ok(Some(item)) => items.push(item),
                    Ok(None) => break,
                    Err(error) => {
                        return Run {
                            items,
                            end: Err(error),
                        };
                    }
                }
            }
        }
        Run {
            items,
            end: Ok(decoder.finish()),
        }
    }

    /// Cuts `stream` at random places (the same places for the same seed):
    /// pieces of 0 to 7 bytes, or now and then a large one.
    pub(in crate::framing) fn random_split(stream: &[u8], seed: u64) -> Vec<&[u8]> {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut pieces = Vec::new();
        let mut rest = stream;
        while !rest.is_empty() {
            let len = if rng.u8(..) < 16 {
                rng.usize(..=64)
            } else {
                rng.usize(..8)
            };
            let (piece, tail) = rest.split_at(len.min(rest.len()));
            pieces.push(piece);
            rest = tail;
        }
        pieces
    }

    /// Checks that the stream gives the same run whole, a byte at a time,
    /// and in 200 random splits, and returns that run.
    pub(in crate::framing) fn same_however_split(spec: &FramingSpec, stream: &[u8]) -> Run {
        let whole = feed(spec, [stream]);
        let bytes = feed(spec, stream.chunks(1));
        assert_eq!(bytes, whole, "byte by byte, {spec}");
        for seed in 0..200 {
            let split = feed(spec, random_split(stream, seed));
            assert_eq!(split, whole, "split with seed {seed}, {spec}");
        }
        whole
    }

    /// Returns the frames' payloads, and junk as `junk:...`.
    fn shown(run: &Run) -> Vec<String> {
        run.items
            .iter()
            .map(|item| match item {
                Item::Frame(frame) => String::from_utf8_lossy(&frame.payload).into_owned(),
                Item::Junk(junk) => format!("junk:{}", String::from_utf8_lossy(&junk.bytes)),
            })
            .collect()
    }

    /// Checks that every frame's wire bytes are the stream at its offset.
    fn wire_is_the_stream(run: &Run, stream: &[u8]) {
        let mut next = 0u64;
        for item in &run.items {
            let (offset, bytes) = match item {
                Item::Frame(frame) => (frame.offset, &frame.wire),
                Item::Junk(junk) => (junk.offset, &junk.bytes),
            };
            assert_eq!(offset, next, "items follow each other");
            let start = offset as usize;
            assert_eq!(&stream[start..start + bytes.len()], &bytes[..]);
            next += bytes.len() as u64;
        }
    }

    #[test]
    fn line_frames_end_at_newline_and_a_cr_before_it_is_the_line_ending() {
        let stream = b"PING\r\nhello\n\n\r\r\nx\ry\npart\r";
        let run = same_however_split(&FramingSpec::line(), stream);
        assert_eq!(shown(&run), ["PING", "hello", "", "\r", "x\ry"]);
        wire_is_the_stream(&run, stream);
        let Item::Frame(first) = &run.items[0] else {
            panic!()
        };
        assert_eq!((first.offset, &first.wire[..]), (0, &b"PING\r\n"[..]));
        assert_eq!(
            run.end,
            Ok(Some(Leftover::Partial(Partial {
                offset: 20,
                bytes: Bytes::from_static(b"part\r"),
                expected: None
            })))
        );
    }

    #[test]
    fn crlf_frames_keep_a_lone_newline_in_the_payload() {
        let stream = b"a\nb\r\n\r\nc\r\r\n\r";
        let run = same_however_split(&FramingSpec::crlf(), stream);
        assert_eq!(shown(&run), ["a\nb", "", "c\r"]);
        wire_is_the_stream(&run, stream);
        assert!(
            matches!(&run.end, Ok(Some(Leftover::Partial(p))) if p.bytes == "\r" && p.offset == 11)
        );
    }

    #[test]
    fn delimiters_of_several_bytes_are_found_across_pieces() {
        let spec = spec(&[("delimiter", "\r\n\r\n")]);
        let stream = b"GET / HTTP/1.0\r\nHost: x\r\n\r\n\r\n\r\n\r\n\r\n\r";
        let run = same_however_split(&spec, stream);
        assert_eq!(shown(&run), ["GET / HTTP/1.0\r\nHost: x", "", ""]);
        wire_is_the_stream(&run, stream);
        // A delimiter that overlaps itself: the first place it is whole wins.
        let spec = super::tests::spec(&[("delimiter", "aa")]);
        let run = same_however_split(&spec, b"xaaaya");
        assert_eq!(shown(&run), ["x"]);
        assert!(matches!(&run.end, Ok(Some(Leftover::Partial(p))) if p.bytes == "aya"));
    }

    #[test]
    fn start_end_frames_report_junk_before_a_start() {
        let spec = spec(&[("start", "\x0b"), ("end", "\x1c\r")]);
        let stream = b"noise\x0bMSH|1\x1c\r\x0bMSH|2\x1c\x1c\r\r\n\x0b\x0bMSH|\x1c";
        let run = same_however_split(&spec, stream);
        assert_eq!(
            shown(&run),
            ["junk:noise", "MSH|1", "MSH|2\x1c", "junk:\r\n"]
        );
        wire_is_the_stream(&run, stream);
        assert_eq!(
            run.end,
            Ok(Some(Leftover::Partial(Partial {
                offset: 24,
                bytes: Bytes::from_static(b"\x0b\x0bMSH|\x1c"),
                expected: None
            })))
        );
        // The stream ends in junk, a start cut short included.
        let spec = super::tests::spec(&[("start", "<<"), ("end", ">>")]);
        let run = same_however_split(&spec, b"<<a>>xy<");
        assert_eq!(shown(&run), ["a"]);
        assert_eq!(
            run.end,
            Ok(Some(Leftover::Junk(Junk {
                offset: 5,
                bytes: Bytes::from_static(b"xy<")
            })))
        );
    }

    #[test]
    fn junk_comes_max_bytes_at_a_time_while_no_start_comes() {
        let spec = spec(&[("start", "<<"), ("end", ">"), ("max", "5")]);
        let run = same_however_split(&spec, b"0123456789abc<<ab><x");
        assert_eq!(shown(&run), ["junk:01234", "junk:56789", "junk:abc", "ab"]);
        assert!(
            matches!(&run.end, Ok(Some(Leftover::Junk(j))) if j.bytes == "<x" && j.offset == 18)
        );
    }

    #[test]
    fn fixed_frames_and_the_partial_one_at_the_end() {
        let spec = spec(&[("fixed", "3")]);
        let run = same_however_split(&spec, b"abcdef\n\r\0gh");
        assert_eq!(shown(&run), ["abc", "def", "\n\r\0"]);
        assert_eq!(
            run.end,
            Ok(Some(Leftover::Partial(Partial {
                offset: 9,
                bytes: Bytes::from_static(b"gh"),
                expected: Some(3)
            })))
        );
        assert_eq!(same_however_split(&spec, b"abc").end, Ok(None));
    }

    /// Returns a frame with a big-endian length of `width` bytes.
    fn with_length(width: usize, value: u64, rest: &[u8]) -> Vec<u8> {
        let mut out = value.to_be_bytes()[8 - width..].to_vec();
        out.extend_from_slice(rest);
        out
    }

    #[test]
    fn length_fields_of_every_width_and_order() {
        let cases: [(&str, &[u8]); 9] = [
            ("u8", b"\x05hello\x00\x02hi"),
            ("u16be", b"\x00\x05hello\x00\x00\x00\x02hi"),
            ("u16le", b"\x05\x00hello\x00\x00\x02\x00hi"),
            ("u24be", b"\x00\x00\x05hello\x00\x00\x00\x00\x00\x02hi"),
            (
                "u32be",
                b"\x00\x00\x00\x05hello\x00\x00\x00\x00\x00\x00\x00\x02hi",
            ),
            (
                "u32le",
                b"\x05\x00\x00\x00hello\x00\x00\x00\x00\x02\x00\x00\x00hi",
            ),
            (
                "u64be",
                b"\0\0\0\0\0\0\0\x05hello\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x02hi",
            ),
            (
                "u64le",
                b"\x05\0\0\0\0\0\0\0hello\0\0\0\0\0\0\0\0\x02\0\0\0\0\0\0\0hi",
            ),
            ("varint", b"\x05hello\x00\x02hi"),
        ];
        for (field, stream) in cases {
            let spec = spec(&[("length", field)]);
            let mut stream = stream.to_vec();
            stream.extend_from_slice(b"\x09");
            let run = same_however_split(&spec, &stream);
            assert_eq!(shown(&run), ["hello", "", "hi"], "{field}");
            wire_is_the_stream(&run, &stream);
            let Ok(Some(Leftover::Partial(partial))) = &run.end else {
                panic!("{field}: {:?}", run.end)
            };
            // The last length field is whole only when it is one byte.
            let expected = (spec.min_frame() == 1).then_some(10);
            assert_eq!(partial.expected, expected, "{field}");
        }
    }

    #[test]
    fn a_varint_length_of_several_bytes_split_anywhere() {
        let body = vec![b'x'; 300];
        let mut stream = vec![0xac, 0x02];
        stream.extend_from_slice(&body);
        stream.extend_from_slice(&[0x80, 0x00]); // 0, not minimal
        stream.extend_from_slice(&[0x80]);
        let run = same_however_split(&spec(&[("length", "varint")]), &stream);
        assert_eq!(run.items.len(), 2);
        let Item::Frame(frame) = &run.items[0] else {
            panic!()
        };
        assert_eq!(frame.payload, body);
        let Item::Frame(empty) = &run.items[1] else {
            panic!()
        };
        assert_eq!((empty.offset, &empty.wire[..]), (302, &[0x80, 0x00][..]));
        assert!(matches!(&run.end, Ok(Some(Leftover::Partial(p))) if p.expected.is_none()));
    }

    #[test]
    fn offset_bytes_stay_in_the_payload_and_adjust_counts_the_header() {
        // A type byte, then a u16be length that counts the type byte and itself.
        let spec = spec(&[("length", "u16be"), ("offset", "1"), ("adjust", "-3")]);
        let stream = b"T\x00\x08helloQ\x00\x03";
        let run = same_however_split(&spec, stream);
        assert_eq!(shown(&run), ["Thello", "Q"]);
        wire_is_the_stream(&run, stream);
        // A length that leaves out a 2-byte trailer.
        let spec = super::tests::spec(&[("length", "u8"), ("adjust", "2")]);
        let run = same_however_split(&spec, b"\x03abcZZ\x00!!\x05ab");
        assert_eq!(shown(&run), ["abcZZ", "!!"]);
        assert!(
            matches!(&run.end, Ok(Some(Leftover::Partial(p))) if p.offset == 9 && p.expected == Some(8))
        );
    }

    #[test]
    fn a_frame_over_max_is_an_error_at_its_offset() {
        let spec = spec(&[("length", "u16be"), ("max", "64")]);
        let mut stream = with_length(2, 3, b"abc");
        stream.extend(with_length(2, 70, b"..."));
        let run = same_however_split(&spec, &stream);
        assert_eq!(shown(&run), ["abc"]);
        let error = run.end.unwrap_err();
        assert_eq!(
            error.to_string(),
            "frame at byte 5: its u16be length field says 70, so the frame would be 72 bytes, \
             over max 64 bytes"
        );
        assert_eq!(error.offset(), 5);
        assert!(error.hint().contains("raise `max`"));
        let spec = super::tests::spec(&[("length", "u32be"), ("adjust", "-4")]);
        let run = same_however_split(&spec, &with_length(4, 0xffff_ffff, b""));
        assert_eq!(
            run.end.unwrap_err().to_string(),
            "frame at byte 0: its u32be length field says 4294967295 (with adjust -4: 4294967291 \
             bytes after the field), so the frame would be 4294967295 bytes, over max 8MiB \
             (8388608 bytes)"
        );
    }

    #[test]
    fn an_error_stops_framing_and_is_returned_again() {
        let spec = spec(&[("length", "u16be"), ("adjust", "-2")]);
        let mut decoder = FrameDecoder::new(&spec);
        decoder.push(b"\x00\x03a\x00\x01");
        assert!(decoder.next_item().unwrap().is_some());
        let error = decoder.next_item().unwrap_err();
        assert_eq!(
            error.to_string(),
            "frame at byte 3: its u16be length field says 1, and adjust -2 leaves -1 bytes after the field"
        );
        decoder.push(b"\x00\x02");
        assert_eq!(decoder.next_item(), Err(error));
        assert_eq!(decoder.finish(), None);
    }

    #[test]
    fn a_delimited_frame_over_max_is_an_error_however_the_bytes_came() {
        let spec = spec(&[("delimiter", "\r\n"), ("max", "8")]);
        // Exactly max, with its delimiter: a frame.
        assert_eq!(shown(&same_however_split(&spec, b"123456\r\n")), ["123456"]);
        for stream in [&b"1234567\r\n"[..], b"12345678", b"123456789"] {
            let run = same_however_split(&spec, stream);
            assert_eq!(
                run.end.unwrap_err().to_string(),
                r#"frame at byte 0: no "\r\n" within max 8 bytes"#,
                "{stream:?}"
            );
        }
        let spec = super::tests::spec(&[("start", "["), ("end", "]"), ("max", "4")]);
        let run = same_however_split(&spec, b"[ab][abcd]");
        assert_eq!(shown(&run), ["ab"]);
        assert_eq!(
            run.end.unwrap_err(),
            DecodeError::Unterminated {
                offset: 4,
                delimiter: Bytes::from_static(b"]"),
                max: 4
            }
        );
        let long = feed(&FramingSpec::line(), [&b"ok\n"[..], &vec![b'x'; 8 << 20]]);
        assert_eq!(long.end.unwrap_err().offset(), 3);
    }

    #[test]
    fn varint_lengths_of_eleven_bytes_or_over_64_bits_are_errors() {
        let spec = spec(&[("length", "varint")]);
        let mut stream = b"\x01a".to_vec();
        stream.extend_from_slice(&[0x80; 10]);
        stream.push(0x00);
        let run = same_however_split(&spec, &stream);
        assert_eq!(shown(&run), ["a"]);
        assert_eq!(
            run.end.unwrap_err().to_string(),
            "frame at byte 2: its varint length field runs past 10 bytes (an 11-byte varint or longer)"
        );
        let mut over = vec![0xff; 9];
        over.push(0x02);
        let run = same_however_split(&spec, &over);
        assert_eq!(
            run.end,
            Err(DecodeError::BadVarint {
                offset: 0,
                too_long: false
            })
        );
        // u64::MAX itself is a length; over max, not malformed.
        let mut most = vec![0xff; 9];
        most.push(0x01);
        let run = same_however_split(&spec, &most);
        assert!(matches!(
            run.end,
            Err(DecodeError::OverMax {
                value: u64::MAX,
                ..
            })
        ));
    }

    #[test]
    fn offsets_count_every_byte_of_a_long_stream() {
        let spec = spec(&[("length", "u8")]);
        let mut stream = Vec::new();
        for i in 0..2000u32 {
            let body = vec![b'a' + (i % 26) as u8; (i % 7) as usize];
            stream.push(body.len() as u8);
            stream.extend_from_slice(&body);
        }
        let run = same_however_split(&spec, &stream);
        assert_eq!(run.items.len(), 2000);
        wire_is_the_stream(&run, &stream);
        assert_eq!(run.end, Ok(None));
    }
}
