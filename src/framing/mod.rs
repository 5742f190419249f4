//! Cuts byte streams into frames and wraps payloads as frames: lines, delimiters, start and end bytes, fixed sizes, length fields.
//!
//! A [`FramingSpec`] is built from what a scenario writes
//! ([`FramingSpec::parse`]).
//!
//! # Layout
//! - `spec`: the typed spec ([`FramingSpec`], [`FramingKind`], [`LengthSpec`], [`LengthField`]).
//! - `parse`: the one checked constructor from scenario text, and [`SpecError`].
//! - `size`: sizes such as `1MiB`.

mod parse;
mod size;
mod spec;

pub use parse::{Location, SpecError, Written};
pub use spec::{DEFAULT_MAX, FramingKind, FramingSpec, LengthField, LengthSpec};
