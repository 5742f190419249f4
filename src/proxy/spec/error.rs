//! Reports what is wrong with a fault map, naming the key at fault and how to write it.

use super::{KEYS, KINDS, list};

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
