//! Cuts byte streams into frames and wraps payloads as frames: lines, delimiters, start and end bytes, fixed sizes, length fields.
//!
//! A [`FramingSpec`] is built from what a scenario writes
//! ([`FramingSpec::parse`]); a [`FrameDecoder`] cuts a stream into
//! [`Frame`]s however its bytes arrive; [`FramingSpec::encode`] wraps a
//! payload (`send_frame`); a [`FramePattern`] matches one frame's payload
//! (`expect_frame`).
//!
//! tokio-util's codecs were the starting point, and are not used: its
//! `LinesCodec` refuses bytes that are not UTF-8, `AnyDelimiterCodec` ends
//! frames at any one of a set of bytes (not at `\r\n` or `\x1c\r`), and
//! `LengthDelimitedCodec` bounds the field's value rather than the frame,
//! reports errors without an offset, does not give a frame's bytes on the
//! wire, writes no bytes before the length field when it encodes (so its
//! encoder and decoder disagree when `length_field_offset` > 0), and has no
//! varint. What they share is kept: a bound on every frame, and a buffer
//! that holds at most one frame.
//!
//! # Layout
//! - `spec`: the typed spec ([`FramingSpec`], [`FramingKind`], [`LengthSpec`], [`LengthField`]).
//! - `parse`: the one checked constructor from scenario text, and [`SpecError`].
//! - `decode`: [`FrameDecoder`]: frames, junk, the partial frame at the end, [`DecodeError`].
//! - `encode`: [`FramingSpec::encode`] and [`EncodeError`].
//! - `pattern`: [`FramePattern`], [`FrameRegex`], [`HexPattern`], [`Captures`].
//! - `stream`: [`FrameStream`], [`Cut`]: one direction of a connection as reports show it (frames, junk, the partial frame at the end, the rest after an error).
//! - `varint`: protobuf varints; `size`: sizes such as `1MiB`.

mod decode;
mod encode;
mod parse;
mod pattern;
pub(crate) mod size;
mod spec;
mod stream;
mod varint;

pub use decode::{DecodeError, Frame, FrameDecoder, Item, Junk, Leftover, Partial};
pub use encode::EncodeError;
pub use parse::{Location, SpecError, Written};
pub use pattern::{Captures, FramePattern, FrameRegex, HexPattern, PatternError};
pub use spec::{DEFAULT_MAX, FramingKind, FramingSpec, LengthField, LengthSpec};
pub use stream::{Cut, FrameStream};
