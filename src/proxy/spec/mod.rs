//! Defines a fault ([`FaultSpec`]) and builds it, validated, from the keys and scalar values of a fault map.
//!
//! One constructor, [`FaultSpec::from_pairs`], serves the command line
//! (`--fault '{cut: reset, after_bytes: 100}'`, stdin lines) and scenario
//! files alike: it takes the map's keys and scalar values as text and names
//! the key of every problem ([`SpecError::key`]), so a loader can point at
//! `file:line:col`.
//!
//! - `error`: what is wrong with a fault map, and the key at fault.
//! - `read`: [`FaultSpec::from_pairs`], reading and validating each key.

mod error;
mod read;

use std::fmt;
use std::time::Duration;

pub use error::SpecError;

use super::units;
use crate::event::{Direction, FaultLabel};
use crate::matcher::Matcher;

/// The keys that name a fault's kind (the first of [`KEYS`]); a fault has exactly one.
pub const KINDS: &[&str] = KEYS.split_at(7).0;

/// Every key a fault map may have: the kinds, their options, the modifiers.
pub const KEYS: [&str; 15] = [
    "latency",
    "bandwidth",
    "slice",
    "stall",
    "drop",
    "cut",
    "slow_close",
    "jitter",
    "gap",
    "direction",
    "after_bytes",
    "on",
    "probability",
    "connection",
    "name",
];

/// Describes one fault: what it does, where, and from when.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpec {
    /// For clearing and reporting; unnamed faults are named by their kind (`latency`).
    pub name: Option<String>,
    /// What it does.
    pub kind: FaultKind,
    /// Which way's bytes it acts on (and counts its trigger in).
    pub directions: Directions,
    /// From when.
    pub trigger: Trigger,
    /// The chance (0 to 1) that it applies to a connection, drawn once per
    /// connection from the proxy's seed.
    pub probability: f64,
    /// Only the N-th accepted connection (from 1); every connection when `None`.
    pub connection: Option<u32>,
}

/// Lists what a fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// Holds each read `latency` (plus or minus up to `jitter`) before passing it on.
    Latency {
        /// The delay.
        latency: Duration,
        /// The most the delay varies either way (drawn from the seed).
        jitter: Duration,
    },
    /// Passes bytes on at most `rate` bytes per second.
    Bandwidth {
        /// Bytes per second.
        rate: u64,
    },
    /// Passes bytes on in pieces of at most `size`, each its own write, `gap` apart.
    Slice {
        /// The largest piece.
        size: u64,
        /// The pause between two pieces of one read.
        gap: Duration,
    },
    /// Stops reading and passing on: no FIN, no RST; the sender's writes block once buffers fill.
    Stall,
    /// Reads and discards.
    Drop,
    /// Ends the connection.
    Cut(Cut),
    /// Holds a FIN this long before passing it on.
    SlowClose(Duration),
}

/// Chooses how a `cut` ends a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// RST to both sides.
    Reset,
    /// FIN both ways.
    Fin,
    /// FIN in the fault's direction only; the other direction keeps flowing.
    HalfClose,
}

impl Cut {
    const WORDS: [&'static str; 3] = ["reset", "fin", "half_close"];

    /// Returns `reset`, `fin` or `half_close`.
    pub fn word(self) -> &'static str {
        match self {
            Cut::Reset => "reset",
            Cut::Fin => "fin",
            Cut::HalfClose => "half_close",
        }
    }
}

impl FaultKind {
    /// Returns the kind's key: `latency`, `cut`, ...
    pub fn word(&self) -> &'static str {
        match self {
            FaultKind::Latency { .. } => "latency",
            FaultKind::Bandwidth { .. } => "bandwidth",
            FaultKind::Slice { .. } => "slice",
            FaultKind::Stall => "stall",
            FaultKind::Drop => "drop",
            FaultKind::Cut(_) => "cut",
            FaultKind::SlowClose(_) => "slow_close",
        }
    }
}

impl fmt::Display for FaultKind {
    /// Writes the kind as map entries: `latency: 200ms, jitter: 10ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let human = humantime::format_duration;
        match self {
            FaultKind::Latency { latency, jitter } => {
                write!(f, "latency: {}", human(*latency))?;
                if !jitter.is_zero() {
                    write!(f, ", jitter: {}", human(*jitter))?;
                }
                Ok(())
            }
            FaultKind::Bandwidth { rate } => {
                write!(f, "bandwidth: {}/s", units::format_size(*rate))
            }
            FaultKind::Slice { size, gap } => {
                write!(f, "slice: {}", units::format_size(*size))?;
                if !gap.is_zero() {
                    write!(f, ", gap: {}", human(*gap))?;
                }
                Ok(())
            }
            FaultKind::Stall => f.write_str("stall: true"),
            FaultKind::Drop => f.write_str("drop: true"),
            FaultKind::Cut(cut) => write!(f, "cut: {}", cut.word()),
            FaultKind::SlowClose(delay) => write!(f, "slow_close: {}", human(*delay)),
        }
    }
}

/// Chooses the directions a fault acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Directions {
    /// Client to server.
    ToServer,
    /// Server to client.
    ToClient,
    /// Each direction, on its own bytes.
    Both,
}

impl Directions {
    const WORDS: [&'static str; 3] = ["to_server", "to_client", "both"];

    /// Returns true when the fault acts on `direction`.
    pub fn covers(self, direction: Direction) -> bool {
        match self {
            Directions::ToServer => direction == Direction::ToServer,
            Directions::ToClient => direction == Direction::ToClient,
            Directions::Both => true,
        }
    }

    /// Returns `to_server`, `to_client` or `both`.
    pub fn word(self) -> &'static str {
        match self {
            Directions::ToServer => "to_server",
            Directions::ToClient => "to_client",
            Directions::Both => "both",
        }
    }
}

/// Says from when a fault acts, counted in each direction's bytes from
/// the moment a connection takes the fault on (its first byte, or the first
/// byte not yet passed on when the fault is added to an open connection).
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// At once.
    Now,
    /// After exactly this many bytes (a chunk that spans the point is split there).
    AfterBytes(u64),
    /// Right after the first match of a regex over the bytes, decided so
    /// that how TCP cut the stream never moves it.
    On(OnPattern),
}

/// Holds an `on:` regex: its source and its compiled byte matcher.
#[derive(Debug, Clone)]
pub struct OnPattern {
    source: String,
    matcher: Matcher,
}

impl OnPattern {
    /// Returns the regex as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Returns the compiled matcher (raw bytes, multi-line).
    pub fn matcher(&self) -> &Matcher {
        &self.matcher
    }
}

impl PartialEq for OnPattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl FaultSpec {
    /// Returns the fault's name: its `name`, or else its kind (`latency`).
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or(self.kind.word())
    }

    /// Returns how events show the fault: its name, kind and text.
    pub fn label(&self) -> FaultLabel {
        FaultLabel {
            name: self.name().into(),
            kind: self.kind.word(),
            action: self.kind.to_string(),
            spec: self.to_string(),
        }
    }
}

impl fmt::Display for FaultSpec {
    /// Writes the fault as a YAML flow map, as it could be written: `{cut: reset, after_bytes: 100}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{}", self.kind)?;
        if self.directions != Directions::Both {
            write!(f, ", direction: {}", self.directions.word())?;
        }
        match &self.trigger {
            Trigger::Now => {}
            Trigger::AfterBytes(n) => write!(f, ", after_bytes: {n}")?,
            Trigger::On(pattern) => write!(f, ", on: {:?}", pattern.source)?,
        }
        if self.probability < 1.0 {
            write!(f, ", probability: {}", self.probability)?;
        }
        if let Some(conn) = self.connection {
            write!(f, ", connection: {conn}")?;
        }
        if let Some(name) = &self.name {
            write!(f, ", name: {name}")?;
        }
        f.write_str("}")
    }
}

/// Formats names as "`a`, `b` or `c`".
fn list(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => format!("`{one}`"),
        [rest @ .., last] => {
            let rest: Vec<String> = rest.iter().map(|n| format!("`{n}`")).collect();
            format!("{} or `{last}`", rest.join(", "))
        }
    }
}

/// Returns the word closest to `input`, if it is a likely typo of it.
pub(crate) fn closest<'w>(input: &str, words: &[&'w str]) -> Option<&'w str> {
    let bare = |s: &str| s.to_lowercase().replace(['_', '-', ' '], "");
    words
        .iter()
        .map(|w| (strsim::jaro_winkler(&input.to_lowercase(), w), *w))
        .filter(|(score, w)| {
            *score >= 0.85 || strsim::osa_distance(&bare(input), &bare(w)) <= (w.len() / 4).max(1)
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, w)| w)
}
