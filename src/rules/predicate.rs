//! Decides whether a rule applies to one frame: `equals`, `starts_with`, `ends_with`, `contains`, `regex`, `hex`, `not`, `any_of`, `all_of`, `any`.

use bytes::Bytes;

use crate::framing::{Captures, FrameRegex, HexPattern, PatternError};

/// Describes the frames a rule applies to, by their payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Predicate {
    /// The payload is exactly these bytes.
    Equals(Bytes),
    /// The payload starts with these bytes.
    StartsWith(Bytes),
    /// The payload ends with these bytes.
    EndsWith(Bytes),
    /// The payload holds these bytes somewhere.
    Contains(Bytes),
    /// The regex matches somewhere in the payload; its named groups become
    /// `${name}` in the rule's replies.
    Regex(FrameRegex),
    /// The payload is these bytes, `??` any byte (or starts with them, for a prefix pattern).
    Hex(HexPattern),
    /// The inner predicate does not hold (its captures are not kept).
    Not(Box<Predicate>),
    /// One of these holds (one or more); the first that does gives the captures.
    AnyOf(Vec<Predicate>),
    /// All of these hold (one or more); their captures are joined.
    AllOf(Vec<Predicate>),
    /// Every frame.
    Any,
}

impl Predicate {
    /// The keys of the predicates that take a scalar, as [`Predicate::leaf`] reads them.
    pub const LEAF_KEYS: [&'static str; 6] = [
        "equals",
        "starts_with",
        "ends_with",
        "contains",
        "regex",
        "hex",
    ];

    /// Builds the predicate written `{KEY: text}`: `equals`, `starts_with`,
    /// `ends_with` and `contains` take text (its UTF-8 bytes), `regex` a
    /// regex (see [`FrameRegex`]), `hex` bytes with `??` (the whole payload;
    /// a prefix [`HexPattern`] can be built directly).
    pub fn leaf(key: &str, text: &str) -> Result<Self, PatternError> {
        let bytes = || Bytes::copy_from_slice(text.as_bytes());
        Ok(match key {
            "equals" => Predicate::Equals(bytes()),
            "starts_with" => Predicate::StartsWith(bytes()),
            "ends_with" => Predicate::EndsWith(bytes()),
            "contains" => Predicate::Contains(bytes()),
            "regex" => Predicate::Regex(FrameRegex::new(text)?),
            "hex" => Predicate::Hex(HexPattern::new(text, false)?),
            _ => {
                return Err(PatternError::UnknownKey {
                    key: key.to_owned(),
                    expected: &Self::LEAF_KEYS,
                });
            }
        })
    }

    /// Returns the captures when the predicate holds for `payload`, `None` when it does not.
    pub fn test(&self, payload: &[u8]) -> Option<Captures> {
        let holds = match self {
            Predicate::Equals(bytes) => payload == bytes,
            Predicate::StartsWith(bytes) => payload.starts_with(bytes),
            Predicate::EndsWith(bytes) => payload.ends_with(bytes),
            Predicate::Contains(bytes) => memchr::memmem::find(payload, bytes).is_some(),
            Predicate::Regex(regex) => return regex.captures(payload),
            Predicate::Hex(hex) => hex.matches(payload),
            Predicate::Not(inner) => inner.test(payload).is_none(),
            Predicate::AnyOf(all) => return all.iter().find_map(|p| p.test(payload)),
            Predicate::AllOf(all) => {
                let mut captures = Captures::default();
                for predicate in all {
                    captures.extend(predicate.test(payload)?);
                }
                return Some(captures);
            }
            Predicate::Any => true,
        };
        holds.then(Captures::default)
    }

    /// Returns the names of the groups a match can capture (none under a `not`).
    pub fn capture_names(&self) -> Vec<&str> {
        match self {
            Predicate::Regex(regex) => regex.names().collect(),
            Predicate::AnyOf(all) | Predicate::AllOf(all) => {
                all.iter().flat_map(Predicate::capture_names).collect()
            }
            _ => Vec::new(),
        }
    }

    /// Returns the first `any_of` or `all_of` with no predicate in it, by its key.
    pub(super) fn empty_list(&self) -> Option<&'static str> {
        match self {
            Predicate::AnyOf(all) if all.is_empty() => Some("any_of"),
            Predicate::AllOf(all) if all.is_empty() => Some("all_of"),
            Predicate::AnyOf(all) | Predicate::AllOf(all) => {
                all.iter().find_map(Predicate::empty_list)
            }
            Predicate::Not(inner) => inner.empty_list(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(key: &str, text: &str) -> Predicate {
        Predicate::leaf(key, text).unwrap()
    }

    fn holds(predicate: &Predicate, payload: &str) -> bool {
        predicate.test(payload.as_bytes()).is_some()
    }

    #[test]
    fn text_predicates_compare_bytes() {
        let equals = leaf("equals", "PING");
        assert!(holds(&equals, "PING"));
        assert!(!holds(&equals, "PING "));
        let starts = leaf("starts_with", "EHLO ");
        assert!(holds(&starts, "EHLO x"));
        assert!(!holds(&starts, "HELO x"));
        let ends = leaf("ends_with", ".");
        assert!(holds(&ends, "DATA."));
        assert!(!holds(&ends, ".DATA"));
        let contains = leaf("contains", "ERR");
        assert!(holds(&contains, "an ERROR here"));
        assert!(!holds(&contains, "err"));
        assert!(holds(&Predicate::Any, ""));
    }

    #[test]
    fn regex_captures_named_groups_and_hex_takes_wildcards() {
        let regex = leaf("regex", r"^EHLO (?<host>\S+)$");
        let captures = regex.test(b"EHLO mx.example").unwrap();
        assert_eq!(captures.get("host").unwrap(), "mx.example");
        assert!(regex.test(b"HELO mx").is_none());
        assert_eq!(regex.capture_names(), ["host"]);
        let hex = leaf("hex", "01 ?? 00 05");
        assert!(hex.test(&[1, 9, 0, 5]).is_some());
        assert!(hex.test(&[1, 9, 0, 5, 5]).is_none());
    }

    #[test]
    fn not_any_of_and_all_of_combine_and_keep_captures() {
        let not = Predicate::Not(Box::new(leaf("regex", "(?<x>QUIT)")));
        assert!(holds(&not, "PING"));
        assert!(!holds(&not, "QUIT"));
        assert!(not.capture_names().is_empty());
        let any_of = Predicate::AnyOf(vec![leaf("regex", "^A(?<a>.)"), leaf("regex", "^B(?<b>.)")]);
        let captures = any_of.test(b"Bz").unwrap();
        assert_eq!(captures.get("b").unwrap(), "z");
        assert!(captures.get("a").is_none());
        assert!(!holds(&any_of, "Cz"));
        let all_of = Predicate::AllOf(vec![
            leaf("regex", "^(?<verb>[A-Z]+) "),
            leaf("regex", r" (?<n>\d+)$"),
            Predicate::Not(Box::new(leaf("contains", "DROP"))),
        ]);
        let captures = all_of.test(b"GET 42").unwrap();
        assert_eq!(captures.get("verb").unwrap(), "GET");
        assert_eq!(captures.get("n").unwrap(), "42");
        assert!(!holds(&all_of, "DROP 42"));
        assert!(!holds(&all_of, "GET x"));
        assert_eq!(all_of.capture_names(), ["verb", "n"]);
        let nested = Predicate::Not(Box::new(Predicate::AllOf(vec![Predicate::AnyOf(vec![])])));
        assert_eq!(nested.empty_list(), Some("any_of"));
    }

    #[test]
    fn unknown_keys_and_bad_patterns_are_errors() {
        let error = Predicate::leaf("startswith", "x").unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown pattern `startswith`: expected `equals`, `starts_with`, `ends_with`, \
             `contains`, `regex`, `hex`"
        );
        assert_eq!(error.hint(), "did you mean `starts_with`?");
        assert!(matches!(
            Predicate::leaf("hex", "0x01"),
            Err(PatternError::Hex { column: 1, .. })
        ));
        assert!(matches!(
            Predicate::leaf("regex", "(?<a"),
            Err(PatternError::Regex { .. })
        ));
    }
}
