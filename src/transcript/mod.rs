//! Renders the event stream as the canonical transcript: one line per event, deterministic.
//!
//! Events are gathered in windows that end when the conversation is settled
//! (no bytes, FINs or connection attempts in flight). Within a window each
//! item gets a Lamport clock from its causes — the previous item of its actor,
//! the event before it in the same batch, and the peer's item it answers — and
//! items are written out ordered by (clock, actor). Bytes of one stream within
//! one window form one block, so how TCP cut them into segments never shows.
//!
//! # Parts
//! - `record`: each event worded as a line or a block, with its cause; closed windows become lines.
//! - `window`: the items of one window, ordered by cause and actor, rendered.
//! - `text`: bytes as quoted, escaped text, or hex and base64 pieces.
//! - `kept`: the lines kept: the first ones whole, then the last ones, with a count of what is elided between.
//! - `mask`: the port and `${tmp}` masked as `${port}` and `${tmp}`, captured values as `${name}` in payload bytes only, secrets as `***` everywhere.

mod kept;
mod mask;
mod record;
mod text;
mod window;

pub use kept::thousands;
pub use mask::{Line, Scope};
pub use record::{Actor, Owners, ProxyShown, Recorder};
pub use text::{one_line, quote, render, render_decoded};
pub use window::{Group, Show, Stream, Track, Window};
