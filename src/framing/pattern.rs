//! Matches a frame's payload (`expect_frame`): a regex, exact text, or hex bytes with `??` for any byte.

use std::fmt;

use bytes::Bytes;

/// Holds the named groups of a match, as (name, bytes), in the order they
/// were found; a name found twice (in two regexes of one rule) keeps its first value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captures(Vec<(String, Bytes)>);

impl Captures {
    /// Returns the value of the group `name`, if it took part in the match.
    pub fn get(&self, name: &str) -> Option<&Bytes> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// Returns the (name, value) pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Bytes)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v))
    }

    /// Returns true when no group took part.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds `other`'s values after these.
    pub fn extend(&mut self, other: Captures) {
        self.0.extend(other.0);
    }
}

/// Holds a regex over a frame's payload: Rust syntax, run over the bytes
/// (text is UTF-8; `(?-u:\xff)` matches a raw byte), in multi-line mode as
/// `expect` is (`^` and `$` also match at line ends, before `\r\n` too). It
/// searches: `PONG` matches `xPONGx`; anchor with `^...$` or `\A...\z`.
#[derive(Debug, Clone)]
pub struct FrameRegex(regex::bytes::Regex);

impl FrameRegex {
    /// Compiles `pattern`.
    pub fn new(pattern: &str) -> Result<Self, PatternError> {
        regex::bytes::RegexBuilder::new(pattern)
            .multi_line(true)
            .crlf(true)
            .build()
            .map(Self)
            .map_err(|error| PatternError::Regex {
                message: error.to_string(),
            })
    }

    /// Returns the named groups of the first match in `payload`, or `None` when it does not match.
    pub fn captures(&self, payload: &[u8]) -> Option<Captures> {
        let found = self.0.captures(payload)?;
        let names = self.0.capture_names().flatten();
        Some(Captures(
            names
                .filter_map(|name| {
                    let value = found.name(name)?;
                    Some((name.to_owned(), Bytes::copy_from_slice(value.as_bytes())))
                })
                .collect(),
        ))
    }

    /// Returns the names of the regex's named groups, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.capture_names().flatten()
    }

    /// Returns the pattern as written.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl PartialEq for FrameRegex {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for FrameRegex {}

/// Holds bytes to match, some of them any byte (`??`): the whole payload,
/// or (`prefix`) its start. It compares bytes with bytes, so a match never
/// starts in the middle of a byte, as a regex over hex text could.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HexPattern {
    bytes: Vec<Option<u8>>,
    prefix: bool,
}

impl HexPattern {
    /// Reads `01 ?? 00 05`: each byte two hex digits (either case) or `??`,
    /// with spaces, tabs or newlines between bytes or none (`01??0005`).
    /// `prefix: true` matches payloads that start with these bytes.
    pub fn new(text: &str, prefix: bool) -> Result<Self, PatternError> {
        let mut bytes = Vec::new();
        let mut chars = text.char_indices().filter(|(_, c)| !c.is_whitespace());
        while let Some((at, high)) = chars.next() {
            let low = chars.next().map(|(_, c)| c);
            let byte = match (high, low) {
                ('?', Some('?')) => None,
                _ => match (high.to_digit(16), low.and_then(|c| c.to_digit(16))) {
                    (Some(high), Some(low)) => Some((high * 16 + low) as u8),
                    _ => {
                        return Err(PatternError::Hex {
                            column: text[..at].chars().count() + 1,
                            found: [Some(high), low].into_iter().flatten().collect(),
                        });
                    }
                },
            };
            bytes.push(byte);
        }
        Ok(Self { bytes, prefix })
    }

    /// Returns true when `payload` is these bytes (or, with `prefix`, starts with them).
    pub fn matches(&self, payload: &[u8]) -> bool {
        let fits = if self.prefix {
            payload.len() >= self.bytes.len()
        } else {
            payload.len() == self.bytes.len()
        };
        fits && self
            .bytes
            .iter()
            .zip(payload)
            .all(|(want, got)| want.is_none_or(|want| want == *got))
    }

    /// Returns true when the pattern matches a payload's start, not all of it.
    pub fn is_prefix(&self) -> bool {
        self.prefix
    }
}

/// Writes the pattern as it reads: `01 ?? 00 05`, and ` ...` for a prefix.
impl fmt::Display for HexPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, byte) in self.bytes.iter().enumerate() {
            let sep = if i == 0 { "" } else { " " };
            match byte {
                Some(byte) => write!(f, "{sep}{byte:02x}")?,
                None => write!(f, "{sep}??")?,
            }
        }
        if self.prefix {
            f.write_str(" ...")?;
        }
        Ok(())
    }
}

/// Lists what `expect_frame` can wait for: one frame whose payload matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FramePattern {
    /// A regex search over the payload; its named groups are captured.
    Regex(FrameRegex),
    /// Exactly these bytes, or (`prefix`) a payload that starts with them.
    Text {
        /// The bytes (the text's UTF-8).
        bytes: Bytes,
        /// Match the payload's start only.
        prefix: bool,
    },
    /// Bytes with `??` wildcards.
    Hex(HexPattern),
}

impl FramePattern {
    /// The keys a pattern is written with, in the order messages list them.
    pub const KEYS: [&'static str; 3] = ["regex", "text", "hex"];

    /// Builds the pattern written as `{KEY: value}`: `regex` (also what a
    /// plain string means), `text` (exact, UTF-8) or `hex` (`01 ?? 00 05`).
    /// `prefix: true` makes `text` and `hex` match the payload's start.
    pub fn new(key: &str, value: &str, prefix: bool) -> Result<Self, PatternError> {
        match key {
            "regex" if prefix => Err(PatternError::PrefixWithRegex),
            "regex" => FrameRegex::new(value).map(FramePattern::Regex),
            "text" => Ok(FramePattern::Text {
                bytes: Bytes::copy_from_slice(value.as_bytes()),
                prefix,
            }),
            "hex" => HexPattern::new(value, prefix).map(FramePattern::Hex),
            _ => Err(PatternError::UnknownKey {
                key: key.to_owned(),
                expected: &Self::KEYS,
            }),
        }
    }

    /// Returns the captures (named regex groups; none for text and hex) when
    /// `payload`, one frame's payload, matches; `None` when it does not.
    pub fn matches(&self, payload: &[u8]) -> Option<Captures> {
        let matched = match self {
            FramePattern::Regex(regex) => return regex.captures(payload),
            FramePattern::Text {
                bytes,
                prefix: true,
            } => payload.starts_with(bytes),
            FramePattern::Text {
                bytes,
                prefix: false,
            } => payload == bytes,
            FramePattern::Hex(hex) => hex.matches(payload),
        };
        matched.then(Captures::default)
    }
}

/// Reports a frame pattern or predicate that cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// A key that is no pattern.
    #[error("unknown pattern `{key}`: expected `{}`", .expected.join("`, `"))]
    UnknownKey {
        /// The key.
        key: String,
        /// The keys there are.
        expected: &'static [&'static str],
    },
    /// A regex that does not compile.
    #[error("invalid regex: {message}")]
    Regex {
        /// The regex crate's message (the pattern, a caret, the reason).
        message: String,
    },
    /// A hex pattern with something other than two hex digits or `??`.
    #[error("`hex`: expected two hex digits or `??` at column {column}, found `{found}`")]
    Hex {
        /// The column (in characters, from 1) of the first character of the byte.
        column: usize,
        /// What was there.
        found: String,
    },
    /// `prefix` with a regex.
    #[error("`prefix` applies to `text` and `hex`, not to a `regex`")]
    PrefixWithRegex,
}

impl PatternError {
    /// Returns how to fix it, with an example.
    pub fn hint(&self) -> String {
        match self {
            PatternError::UnknownKey { key, expected } => {
                match expected
                    .iter()
                    .find(|k| strsim::jaro_winkler(key, k) >= 0.8)
                {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => format!("write one of `{}`", expected.join("`, `")),
                }
            }
            PatternError::Regex { .. } => "regexes use Rust syntax; `\\` must be doubled in \
                double-quoted YAML (`\"\\\\d+\"`), or use single quotes (`'\\d+'`)"
                .to_owned(),
            PatternError::Hex { .. } => "write each byte as two hex digits or `??` for any \
                byte, spaces optional: `{hex: \"01 ?? 00 05\"}`"
                .to_owned(),
            PatternError::PrefixWithRegex => "a regex searches the whole payload already; \
                anchor it at the start with `\\A` (`^` also matches after a newline)"
                .to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn captured(pattern: &FramePattern, payload: &[u8]) -> Option<Vec<(String, String)>> {
        pattern.matches(payload).map(|captures| {
            captures
                .iter()
                .map(|(n, v)| (n.to_owned(), String::from_utf8_lossy(v).into_owned()))
                .collect()
        })
    }

    #[test]
    fn regexes_search_the_payload_and_capture_named_groups() {
        let pattern = FramePattern::new("regex", r"^PONG (?<n>\d+)(?<rest> .*)?$", false).unwrap();
        assert_eq!(
            captured(&pattern, b"PONG 42"),
            Some(vec![("n".into(), "42".into())])
        );
        assert_eq!(captured(&pattern, b"PING 42"), None);
        let search = FramePattern::new("regex", "ONG", false).unwrap();
        assert_eq!(captured(&search, b"PONG!"), Some(vec![]));
        // Bytes that are not UTF-8 do not stop a match around them.
        let bytes = FramePattern::new("regex", r"(?<id>\d+)(?-u:\xff)", false).unwrap();
        assert_eq!(
            captured(&bytes, b"\x00id=17\xff"),
            Some(vec![("id".into(), "17".into())])
        );
        // Multi-line, as `expect`: `$` before `\r\n`.
        let lines = FramePattern::new("regex", "^b$", false).unwrap();
        assert!(lines.matches(b"a\r\nb\r\nc").is_some());
    }

    #[test]
    fn text_is_exact_or_a_prefix() {
        let exact = FramePattern::new("text", "PONG!", false).unwrap();
        assert!(exact.matches(b"PONG!").is_some());
        assert!(exact.matches(b"PONG!!").is_none());
        assert!(exact.matches(b"PONG").is_none());
        let prefix = FramePattern::new("text", "PONG", true).unwrap();
        assert!(prefix.matches(b"PONG!!").is_some());
        assert!(prefix.matches(b"PON").is_none());
    }

    #[test]
    fn hex_matches_whole_bytes_with_wildcards() {
        let pattern = FramePattern::new("hex", "01 ?? 00 05", false).unwrap();
        assert!(pattern.matches(&[1, 0xab, 0, 5]).is_some());
        assert!(pattern.matches(&[1, 0xab, 0, 5, 0]).is_none());
        assert!(pattern.matches(&[1, 0xab, 0]).is_none());
        assert!(pattern.matches(&[2, 0xab, 0, 5]).is_none());
        let prefix = FramePattern::new("hex", "01??", true).unwrap();
        assert!(prefix.matches(&[1, 0xff, 7, 7]).is_some());
        assert!(prefix.matches(&[1]).is_none());
        // `10 01` as hex text holds `00 10` at a half-byte offset (`1[0 01]`):
        // bytes are compared with bytes, so it does not match.
        let shifted = HexPattern::new("00 10", true).unwrap();
        assert!(!shifted.matches(&[0x10, 0x01]));
        assert!(HexPattern::new("", false).unwrap().matches(b""));
        assert_eq!(
            HexPattern::new("DEad??\n0a", true).unwrap().to_string(),
            "de ad ?? 0a ..."
        );
    }

    #[test]
    fn errors_say_where_and_what_with_a_hint() {
        let error = FramePattern::new("hex", "01 ?? 0g 05", false).unwrap_err();
        assert_eq!(
            error.to_string(),
            "`hex`: expected two hex digits or `??` at column 7, found `0g`"
        );
        assert!(error.hint().contains(r#"`{hex: "01 ?? 00 05"}`"#));
        let odd = FramePattern::new("hex", "01 0", false).unwrap_err();
        assert_eq!(
            odd,
            PatternError::Hex {
                column: 4,
                found: "0".into()
            }
        );
        let half = FramePattern::new("hex", "0?", false).unwrap_err();
        assert!(matches!(half, PatternError::Hex { column: 1, .. }));
        let signed = FramePattern::new("hex", "+1", false).unwrap_err();
        assert!(matches!(signed, PatternError::Hex { column: 1, .. }));
        let error = FramePattern::new("regex", "(", false).unwrap_err();
        assert!(error.to_string().starts_with("invalid regex: "), "{error}");
        assert_eq!(
            FramePattern::new("regex", "x", true).unwrap_err(),
            PatternError::PrefixWithRegex
        );
        let error = FramePattern::new("hexa", "01", false).unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown pattern `hexa`: expected `regex`, `text`, `hex`"
        );
        assert_eq!(error.hint(), "did you mean `hex`?");
    }
}
