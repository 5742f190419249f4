//! Defines a fault ([`FaultSpec`]) and builds it, validated, from the keys and scalar values of a fault map.
//!
//! One constructor, [`FaultSpec::from_pairs`], serves the command line
//! (`--fault '{cut: reset, after_bytes: 100}'`, stdin lines) and scenario
//! files alike: it takes the map's keys and scalar values as text and names
//! the key of every problem ([`SpecError::key`]), so a loader can point at
//! `file:line:col`.

use std::fmt;
use std::time::Duration;

use super::units::{self, Expected};
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

/// Reports what is wrong with a fault map; [`SpecError::key`] names the key at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// A key no fault has.
    #[error("unknown key `{key}` in a fault")]
    UnknownKey {
        /// The key.
        key: String,
        /// The key probably meant.
        suggestion: Option<&'static str>,
    },
    /// A key given twice.
    #[error("`{key}` is given twice")]
    Duplicate {
        /// The key.
        key: String,
    },
    /// No kind key at all.
    #[error("a fault needs a kind: one of {}", list(KINDS))]
    NoKind,
    /// A second kind key.
    #[error("a fault has one kind, but this one has `{first}` and `{key}`")]
    TwoKinds {
        /// The second kind.
        key: String,
        /// The first kind.
        first: String,
    },
    /// A value that is not what the key takes.
    #[error("expected {expected} for `{key}`, found {found}")]
    Value {
        /// The key.
        key: String,
        /// What it takes.
        expected: String,
        /// What it got, quoted.
        found: String,
        /// How to write it.
        hint: Option<String>,
    },
    /// A key that belongs to another kind (`jitter` without `latency`).
    #[error("`{key}` goes with `{owner}`, and this fault is {kind}")]
    NotForKind {
        /// The key.
        key: String,
        /// The kind it belongs to.
        owner: &'static str,
        /// This fault's kind, quoted, or "without a kind".
        kind: String,
    },
    /// Both `after_bytes` and `on`.
    #[error("`after_bytes` and `on` cannot be combined: a fault has one trigger")]
    TwoTriggers {
        /// The second trigger's key.
        key: String,
    },
}

impl SpecError {
    /// Returns the key at fault; `None` for the map as a whole (no kind).
    pub fn key(&self) -> Option<&str> {
        match self {
            SpecError::UnknownKey { key, .. }
            | SpecError::Duplicate { key }
            | SpecError::TwoKinds { key, .. }
            | SpecError::Value { key, .. }
            | SpecError::NotForKind { key, .. }
            | SpecError::TwoTriggers { key } => Some(key),
            SpecError::NoKind => None,
        }
    }

    /// Returns a hint: a did-you-mean, how to write the value, or what to do instead.
    pub fn hint(&self) -> Option<String> {
        match self {
            SpecError::UnknownKey { suggestion, .. } => Some(match suggestion {
                Some(key) => format!("did you mean `{key}`?"),
                None => format!("a fault's keys are {}", list(&KEYS)),
            }),
            SpecError::Duplicate { .. } => Some("give each key once".to_owned()),
            SpecError::NoKind => {
                Some("e.g. {latency: 200ms} or {cut: reset, after_bytes: 100}".to_owned())
            }
            SpecError::TwoKinds { .. } => Some("add two faults, each with its own kind".to_owned()),
            SpecError::Value { hint, .. } => hint.clone(),
            SpecError::NotForKind { owner, .. } => {
                Some(format!("remove it, or make the fault `{owner}`"))
            }
            SpecError::TwoTriggers { .. } => Some("keep one of them".to_owned()),
        }
    }
}

impl FaultSpec {
    /// Builds a fault from its map's keys and scalar values (as text, the
    /// way they are written: `200ms`, `64KiB/s`, `true`), validating every
    /// key; returns every problem found, in the order of the keys.
    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(
        pairs: &[(K, V)],
    ) -> Result<FaultSpec, Vec<SpecError>> {
        let mut errors = Vec::new();
        let mut fields: Vec<(&str, &str)> = Vec::new();
        for (key, value) in pairs {
            let (key, value) = (key.as_ref(), value.as_ref());
            if !KEYS.contains(&key) {
                errors.push(SpecError::UnknownKey {
                    key: key.to_owned(),
                    suggestion: closest(key, &KEYS),
                });
            } else if fields.iter().any(|(k, _)| *k == key) {
                errors.push(SpecError::Duplicate {
                    key: key.to_owned(),
                });
            } else {
                fields.push((key, value));
            }
        }
        let mut reader = Reader {
            errors,
            fields: &fields,
        };
        let spec = reader.spec();
        match spec {
            Some(spec) if reader.errors.is_empty() => Ok(spec),
            _ => {
                let mut errors = reader.errors;
                // Keep the order of the keys as written.
                let position = |e: &SpecError| {
                    e.key()
                        .and_then(|key| pairs.iter().position(|(k, _)| k.as_ref() == key))
                        .unwrap_or(usize::MAX)
                };
                errors.sort_by_key(position);
                Err(errors)
            }
        }
    }

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

/// Reads the known keys of one fault map, collecting errors.
struct Reader<'a> {
    errors: Vec<SpecError>,
    fields: &'a [(&'a str, &'a str)],
}

impl Reader<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    fn spec(&mut self) -> Option<FaultSpec> {
        let kinds: Vec<&str> = self
            .fields
            .iter()
            .map(|(k, _)| *k)
            .filter(|k| KINDS.contains(k))
            .collect();
        for extra in kinds.iter().skip(1) {
            self.errors.push(SpecError::TwoKinds {
                key: (*extra).to_owned(),
                first: kinds[0].to_owned(),
            });
        }
        if kinds.is_empty() {
            self.errors.push(SpecError::NoKind);
        }
        let kind = kinds.first().and_then(|word| self.kind(word));
        self.belongs("jitter", "latency", kinds.first().copied());
        self.belongs("gap", "slice", kinds.first().copied());
        let directions = self
            .read("direction", |text| choice(text, &Directions::WORDS))
            .map(|word| {
                word.map(|word| match word {
                    "to_server" => Directions::ToServer,
                    "to_client" => Directions::ToClient,
                    _ => Directions::Both,
                })
            });
        let trigger = self.trigger();
        let probability = self.read("probability", units::probability);
        let connection = self.read("connection", |text| match text.trim().parse::<u32>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => Err(Expected {
                what: "a connection number from 1".to_owned(),
                hint: Some(
                    "connections are numbered from 1 in the order they are accepted".to_owned(),
                ),
            }),
        });
        let name = self.read("name", |text| {
            let valid = !text.is_empty()
                && text
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            if valid {
                Ok(text.to_owned())
            } else {
                Err(Expected {
                    what: "a name of letters, digits, `_`, `-` and `.`".to_owned(),
                    hint: Some("names are used as `clear NAME`: no spaces".to_owned()),
                })
            }
        });
        Some(FaultSpec {
            name: name.flatten(),
            kind: kind?,
            directions: directions.unwrap_or(Some(Directions::Both))?,
            trigger: trigger?,
            probability: probability.unwrap_or(Some(1.0))?,
            connection: connection.flatten(),
        })
    }

    /// Reads the kind named by `word`, with its own options.
    fn kind(&mut self, word: &str) -> Option<FaultKind> {
        let flag = |text: &str| match text.trim() {
            "true" => Ok(()),
            _ => Err(Expected {
                what: "`true`".to_owned(),
                hint: Some(
                    "a fault that does nothing is no fault: leave it out, or clear it".to_owned(),
                ),
            }),
        };
        Some(match word {
            "latency" => {
                let latency = self.read(word, units::duration)??;
                let jitter = self
                    .read("jitter", units::duration)
                    .unwrap_or(Some(Duration::ZERO))?;
                FaultKind::Latency { latency, jitter }
            }
            "bandwidth" => FaultKind::Bandwidth {
                rate: self.read(word, units::rate)??,
            },
            "slice" => {
                let size = self.read(word, |text| match units::size(text) {
                    Ok(0) => Err(Expected {
                        what: "a size of at least 1 byte".to_owned(),
                        hint: None,
                    }),
                    other => other,
                });
                let gap = self
                    .read("gap", units::duration)
                    .unwrap_or(Some(Duration::ZERO));
                FaultKind::Slice {
                    size: size??,
                    gap: gap?,
                }
            }
            "stall" => {
                self.read(word, flag)??;
                FaultKind::Stall
            }
            "drop" => {
                self.read(word, flag)??;
                FaultKind::Drop
            }
            "cut" => FaultKind::Cut(self.read(word, |text| choice(text, &Cut::WORDS))?.map(
                |word| match word {
                    "reset" => Cut::Reset,
                    "fin" => Cut::Fin,
                    _ => Cut::HalfClose,
                },
            )?),
            _ => FaultKind::SlowClose(self.read(word, units::duration)??),
        })
    }

    fn trigger(&mut self) -> Option<Trigger> {
        if self.get("after_bytes").is_some() && self.get("on").is_some() {
            let second = self
                .fields
                .iter()
                .map(|(k, _)| *k)
                .rfind(|k| matches!(*k, "after_bytes" | "on"))
                .unwrap_or("on");
            self.errors.push(SpecError::TwoTriggers {
                key: second.to_owned(),
            });
            return None;
        }
        if let Some(after) = self.read("after_bytes", units::size) {
            return after.map(Trigger::AfterBytes);
        }
        if let Some(on) = self.read("on", on_pattern) {
            return on.map(Trigger::On);
        }
        Some(Trigger::Now)
    }

    /// Reports `key` when the fault's kind is not `owner`.
    fn belongs(&mut self, key: &str, owner: &'static str, kind: Option<&str>) {
        if self.get(key).is_some() && kind.is_some_and(|k| k != owner) {
            self.errors.push(SpecError::NotForKind {
                key: key.to_owned(),
                owner,
                kind: kind.map_or("without a kind".to_owned(), |k| format!("`{k}`")),
            });
        }
    }

    /// Reads `key` with `parse`: `None` when absent, `Some(None)` when invalid (reported).
    fn read<T>(
        &mut self,
        key: &str,
        parse: impl FnOnce(&str) -> Result<T, Expected>,
    ) -> Option<Option<T>> {
        let text = self.get(key)?;
        Some(match parse(text) {
            Ok(value) => Some(value),
            Err(expected) => {
                self.errors.push(SpecError::Value {
                    key: key.to_owned(),
                    expected: expected.what,
                    found: found(text),
                    hint: expected.hint,
                });
                None
            }
        })
    }
}

/// Reads one of `words`, with a did-you-mean.
fn choice<'w>(text: &str, words: &[&'w str]) -> Result<&'w str, Expected> {
    let text = text.trim();
    words
        .iter()
        .find(|w| **w == text)
        .copied()
        .ok_or_else(|| Expected {
            what: list(words),
            hint: closest(text, words).map(|w| format!("did you mean `{w}`?")),
        })
}

/// Compiles an `on:` regex for raw bytes.
fn on_pattern(text: &str) -> Result<OnPattern, Expected> {
    if text.is_empty() {
        return Err(Expected {
            what: "a regex".to_owned(),
            hint: None,
        });
    }
    let unicode_boundary = regex_automata::util::syntax::parse(text)
        .map(|hir| hir.properties().look_set().contains_word_unicode())
        .unwrap_or(false);
    if unicode_boundary {
        return Err(Expected {
            what: "a regex without a Unicode word boundary".to_owned(),
            hint: Some(
                "raw bytes are matched as they stream: write `(?-u:\\b)` for an ASCII word boundary"
                    .to_owned(),
            ),
        });
    }
    match Matcher::new_bytes(text) {
        Ok(matcher) => Ok(OnPattern {
            source: text.to_owned(),
            matcher,
        }),
        Err(error) => Err(Expected {
            what: "a valid regex".to_owned(),
            hint: Some(error.syntax().unwrap_or_else(|| error.to_string())),
        }),
    }
}

/// Quotes a value for "found ..." in messages.
fn found(text: &str) -> String {
    if text.is_empty() {
        "nothing".to_owned()
    } else if text.chars().any(char::is_control) {
        format!("{text:?}")
    } else {
        format!("`{text}`")
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

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(pairs: &[(&str, &str)]) -> FaultSpec {
        FaultSpec::from_pairs(pairs).unwrap_or_else(|e| panic!("{pairs:?}: {e:?}"))
    }

    fn errors(pairs: &[(&str, &str)]) -> Vec<SpecError> {
        FaultSpec::from_pairs(pairs).expect_err("invalid")
    }

    #[test]
    fn every_kind_reads_with_its_options() {
        assert_eq!(
            spec(&[("latency", "200ms"), ("jitter", "10ms")]).kind,
            FaultKind::Latency {
                latency: Duration::from_millis(200),
                jitter: Duration::from_millis(10)
            }
        );
        assert_eq!(
            spec(&[("bandwidth", "64KiB/s")]).kind,
            FaultKind::Bandwidth { rate: 65536 }
        );
        assert_eq!(
            spec(&[("slice", "8"), ("gap", "5ms")]).kind,
            FaultKind::Slice {
                size: 8,
                gap: Duration::from_millis(5)
            }
        );
        assert_eq!(spec(&[("stall", "true")]).kind, FaultKind::Stall);
        assert_eq!(spec(&[("drop", "true")]).kind, FaultKind::Drop);
        assert_eq!(
            spec(&[("cut", "half_close")]).kind,
            FaultKind::Cut(Cut::HalfClose)
        );
        assert_eq!(
            spec(&[("slow_close", "1s")]).kind,
            FaultKind::SlowClose(Duration::from_secs(1))
        );
    }

    #[test]
    fn modifiers_default_to_every_byte_of_every_connection_both_ways() {
        let plain = spec(&[("cut", "reset")]);
        assert_eq!(plain.directions, Directions::Both);
        assert_eq!(plain.trigger, Trigger::Now);
        assert_eq!(plain.probability, 1.0);
        assert_eq!(plain.connection, None);
        assert_eq!(plain.name(), "cut");
        let full = spec(&[
            ("cut", "fin"),
            ("direction", "to_client"),
            ("after_bytes", "1KiB"),
            ("probability", "0.5"),
            ("connection", "2"),
            ("name", "flaky"),
        ]);
        assert_eq!(full.directions, Directions::ToClient);
        assert_eq!(full.trigger, Trigger::AfterBytes(1024));
        assert_eq!((full.probability, full.connection), (0.5, Some(2)));
        assert_eq!(full.name(), "flaky");
        assert_eq!(
            full.to_string(),
            "{cut: fin, direction: to_client, after_bytes: 1024, probability: 0.5, connection: 2, name: flaky}"
        );
        let on = spec(&[("stall", "true"), ("on", "^QUIT\\r\\n")]);
        let Trigger::On(pattern) = &on.trigger else {
            panic!()
        };
        assert_eq!(pattern.source(), "^QUIT\\r\\n");
    }

    #[test]
    fn unknown_keys_get_a_did_you_mean() {
        let found = errors(&[("cut", "reset"), ("after_byte", "10")]);
        assert_eq!(
            found,
            [SpecError::UnknownKey {
                key: "after_byte".into(),
                suggestion: Some("after_bytes")
            }]
        );
        assert_eq!(found[0].key(), Some("after_byte"));
        assert_eq!(
            found[0].hint().as_deref(),
            Some("did you mean `after_bytes`?")
        );
        assert_eq!(found[0].to_string(), "unknown key `after_byte` in a fault");
        let far = &errors(&[("cut", "reset"), ("zzzz", "1")])[0];
        assert!(
            far.hint()
                .unwrap()
                .starts_with("a fault's keys are `latency`"),
            "{far:?}"
        );
    }

    #[test]
    fn a_fault_has_exactly_one_kind() {
        let none = errors(&[("direction", "both")]);
        assert_eq!(none, [SpecError::NoKind]);
        assert_eq!(none[0].key(), None);
        let two = errors(&[("latency", "1s"), ("drop", "true")]);
        assert_eq!(
            two,
            [SpecError::TwoKinds {
                key: "drop".into(),
                first: "latency".into()
            }]
        );
    }

    #[test]
    fn bad_values_name_their_key_what_was_expected_and_what_was_found() {
        let found = errors(&[
            ("latency", "200"),
            ("direction", "to_sever"),
            ("cut", "rst"),
            ("probability", "2"),
        ]);
        let keys: Vec<Option<&str>> = found.iter().map(SpecError::key).collect();
        assert_eq!(
            keys,
            [
                Some("latency"),
                Some("direction"),
                Some("cut"),
                Some("probability")
            ]
        );
        assert_eq!(
            found[0].to_string(),
            "expected a duration with a unit for `latency`, found `200`"
        );
        assert_eq!(
            found[1].to_string(),
            "expected `to_server`, `to_client` or `both` for `direction`, found `to_sever`"
        );
        assert_eq!(
            found[1].hint().as_deref(),
            Some("did you mean `to_server`?")
        );
        assert!(matches!(&found[2], SpecError::TwoKinds { .. }));
        assert!(found[3].hint().unwrap().contains("0.25"));
        let flag = &errors(&[("stall", "false")])[0];
        assert_eq!(
            flag.to_string(),
            "expected `true` for `stall`, found `false`"
        );
        assert!(matches!(
            &errors(&[("cut", "rest")])[0],
            SpecError::Value { hint: Some(hint), .. } if hint == "did you mean `reset`?"
        ));
    }

    #[test]
    fn options_of_another_kind_and_two_triggers_are_refused() {
        assert_eq!(
            errors(&[("cut", "reset"), ("jitter", "1ms")]),
            [SpecError::NotForKind {
                key: "jitter".into(),
                owner: "latency",
                kind: "`cut`".into()
            }]
        );
        assert_eq!(
            errors(&[("drop", "true"), ("after_bytes", "1"), ("on", "x")]),
            [SpecError::TwoTriggers { key: "on".into() }]
        );
        assert_eq!(
            errors(&[("drop", "true"), ("drop", "true")]),
            [SpecError::Duplicate { key: "drop".into() }]
        );
    }

    #[test]
    fn on_patterns_compile_for_raw_bytes() {
        let bad = &errors(&[("cut", "reset"), ("on", "(unclosed")])[0];
        assert_eq!(bad.key(), Some("on"));
        assert!(bad.hint().unwrap().contains("unclosed"), "{bad:?}");
        let boundary = &errors(&[("cut", "reset"), ("on", r"\bQUIT\b")])[0];
        assert!(
            boundary.hint().unwrap().contains("(?-u:\\b)"),
            "{boundary:?}"
        );
        spec(&[("cut", "reset"), ("on", r"(?-u:\b)QUIT(?-u:\b)")]);
    }

    #[test]
    fn names_are_words() {
        assert_eq!(
            errors(&[("drop", "true"), ("name", "a b")])[0].key(),
            Some("name")
        );
        assert_eq!(
            errors(&[("drop", "true"), ("connection", "0")])[0].key(),
            Some("connection")
        );
    }
}
