//! Builds a framing spec from what a scenario writes, `line`, `crlf` or a map of keys to scalar text, with errors that say how to fix it.

use bytes::Bytes;

use super::size::{parse_size, show_size};
use super::spec::{DEFAULT_MAX, FramingKind, FramingSpec, LengthField, LengthSpec, quote};

/// Holds a framing as a scenario writes it, before it is checked.
///
/// Byte strings (`delimiter`, `start`, `end`) are the text of YAML scalars
/// with their escapes already resolved (`"\x0b"` is the byte 0x0B), taken as
/// UTF-8: a character from U+0080 up, `"\xff"` included, is its UTF-8 bytes
/// (C3 BF), not one byte. There is no `{hex: ...}` form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written<'a> {
    /// A scalar: `line` or `crlf`.
    Shorthand(&'a str),
    /// A map's `(key, scalar text)` pairs, in the order written.
    Map(&'a [(&'a str, &'a str)]),
}

/// Says which part of what was written an error is about, so that a loader
/// can point at its line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location<'a> {
    /// The whole framing value (the shorthand, or the map).
    Whole,
    /// A key of the map.
    Key(&'a str),
    /// The value of a key of the map.
    Value(&'a str),
}

/// Reports a framing spec that cannot be used: what was expected, what was
/// found, and ([`SpecError::hint`]) a worked example.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// A scalar that is not `line` or `crlf`.
    #[error(
        "unknown framing `{found}`: expected `line`, `crlf` or a map such as `{{length: u32be}}`"
    )]
    UnknownShorthand {
        /// What was written.
        found: String,
    },
    /// A map key no framing has.
    #[error("unknown framing key `{key}`: expected {}", list(ALL_KEYS))]
    UnknownKey {
        /// The key.
        key: String,
    },
    /// A key written twice.
    #[error("framing key `{key}` is given twice: expected it once")]
    DuplicateKey {
        /// The key.
        key: String,
    },
    /// A map that names no framing.
    #[error(
        "framing names no kind: expected one of `delimiter`, `start` and `end`, `fixed` or `length`, found {found}"
    )]
    NoKind {
        /// What the map held, as "`max`" or "an empty map".
        found: String,
    },
    /// A map that names two framings.
    #[error("framing has both `{first}` and `{second}`: expected one kind of framing")]
    TwoKinds {
        /// The first kind's key.
        first: String,
        /// The second kind's key.
        second: String,
    },
    /// A key whose partner is missing (`start` without `end`).
    #[error("framing key `{key}` needs `{needs}` too, which is missing")]
    Missing {
        /// The key that is there.
        key: String,
        /// The key that is not.
        needs: &'static str,
    },
    /// A key that only means something with another kind of framing.
    #[error("framing key `{key}` applies only to `{kind}` framing, found with `{with}`")]
    Stray {
        /// The key.
        key: String,
        /// The kind it applies to.
        kind: &'static str,
        /// The kind that was given.
        with: String,
    },
    /// A value that does not fit its key.
    #[error("framing `{key}`: expected {expected}, found `{found}`")]
    BadValue {
        /// The key.
        key: String,
        /// What the key takes.
        expected: String,
        /// What was written.
        found: String,
    },
}

/// The keys that name a kind of framing, in the order messages list them.
const KIND_KEYS: &[&str] = &["delimiter", "start", "fixed", "length"];
/// Every map key.
const ALL_KEYS: &[&str] = &[
    "delimiter",
    "start",
    "end",
    "fixed",
    "length",
    "offset",
    "adjust",
    "max",
];

/// Explains length fields with worked examples; people find them confusing.
const LENGTH_HINT: &str = "the length field says how many bytes follow it, once `adjust` is added: \
a u16be length that counts itself is `{length: u16be, adjust: -2}`; a u32be length after a \
2-byte type tag, counting the tag and itself too, is `{length: u32be, offset: 2, adjust: -6}`; \
a length that leaves out a 4-byte checksum at the end is `{length: u32be, adjust: 4}`";

impl FramingSpec {
    /// Checks a framing as written and builds it: the shorthand `line` or
    /// `crlf`, or a map with exactly one of `delimiter`, `start` with `end`,
    /// `fixed`, `length` (with optional `offset` and `adjust`), and an
    /// optional `max` (a size: `65536`, `64KiB`, `1MiB`; default 8 MiB).
    /// Sizes and counts are in bytes.
    pub fn parse(written: Written<'_>) -> Result<Self, SpecError> {
        match written {
            Written::Shorthand("line") => Ok(Self::line()),
            Written::Shorthand("crlf") => Ok(Self::crlf()),
            Written::Shorthand(found) => Err(SpecError::UnknownShorthand {
                found: found.to_owned(),
            }),
            Written::Map(pairs) => parse_map(pairs),
        }
    }
}

fn parse_map(pairs: &[(&str, &str)]) -> Result<FramingSpec, SpecError> {
    for (i, (key, _)) in pairs.iter().enumerate() {
        if !ALL_KEYS.contains(key) {
            return Err(SpecError::UnknownKey {
                key: (*key).to_owned(),
            });
        }
        if pairs[..i].iter().any(|(k, _)| k == key) {
            return Err(SpecError::DuplicateKey {
                key: (*key).to_owned(),
            });
        }
    }
    let get = |key: &str| pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    // `end` stands for its kind when `start` is missing.
    let kinds: Vec<&str> = pairs
        .iter()
        .map(|(k, _)| if *k == "end" { "start" } else { *k })
        .filter(|k| KIND_KEYS.contains(k))
        .fold(Vec::new(), |mut kinds, k| {
            if !kinds.contains(&k) {
                kinds.push(k);
            }
            kinds
        });
    let kind_key = match kinds.as_slice() {
        [] => {
            let found = match pairs {
                [] => "an empty map".to_owned(),
                _ => list(&pairs.iter().map(|(k, _)| *k).collect::<Vec<_>>()),
            };
            return Err(SpecError::NoKind { found });
        }
        [one] => *one,
        [first, second, ..] => {
            let written = |k: &str| match k {
                "start" if get("start").is_none() => "end".to_owned(),
                _ => k.to_owned(),
            };
            return Err(SpecError::TwoKinds {
                first: written(first),
                second: written(second),
            });
        }
    };
    for key in ["offset", "adjust"] {
        if get(key).is_some() && kind_key != "length" {
            return Err(SpecError::Stray {
                key: key.to_owned(),
                kind: "length",
                with: kind_key.to_owned(),
            });
        }
    }
    let max = match get("max") {
        None => DEFAULT_MAX,
        Some(text) => size_value("max", text)?,
    };
    let kind = match kind_key {
        "delimiter" => FramingKind::Delimiter(bytes_value("delimiter", get("delimiter"))?),
        "start" => {
            let (start, end) = match (get("start"), get("end")) {
                (Some(_), None) => ("start", "end"),
                (None, _) => ("end", "start"),
                (Some(_), Some(_)) => ("", ""),
            };
            if !start.is_empty() {
                return Err(SpecError::Missing {
                    key: start.to_owned(),
                    needs: end,
                });
            }
            FramingKind::StartEnd {
                start: bytes_value("start", get("start"))?,
                end: bytes_value("end", get("end"))?,
            }
        }
        "fixed" => {
            let text = get("fixed").unwrap_or_default();
            let size = size_value("fixed", text)?;
            if size > max {
                return Err(bad(
                    "fixed",
                    format!("at most `max` ({})", show_size(max)),
                    text,
                ));
            }
            FramingKind::Fixed(size)
        }
        _ => {
            let text = get("length").unwrap_or_default();
            let field = LengthField::from_name(text).ok_or_else(|| {
                bad(
                    "length",
                    format!("a field type, {}", list(&LengthField::NAMES)),
                    text,
                )
            })?;
            let offset = match get("offset") {
                None => 0,
                Some(text) => text
                    .parse::<usize>()
                    .map_err(|_| bad("offset", "a whole number of bytes, 0 or more", text))?,
            };
            let adjust = match get("adjust") {
                None => 0,
                Some(text) => text
                    .strip_prefix('+')
                    .unwrap_or(text)
                    .parse::<i64>()
                    .map_err(|_| bad("adjust", "a whole number of bytes, such as -2 or 4", text))?,
            };
            FramingKind::Length(LengthSpec {
                field,
                offset,
                adjust,
            })
        }
    };
    let spec = FramingSpec { kind, max };
    if spec.min_frame() > max {
        return Err(bad(
            "max",
            format!(
                "at least {} bytes, the smallest frame of {spec}",
                spec.min_frame()
            ),
            get("max").unwrap_or_default(),
        ));
    }
    Ok(spec)
}

fn bad(key: &str, expected: impl Into<String>, found: &str) -> SpecError {
    SpecError::BadValue {
        key: key.to_owned(),
        expected: expected.into(),
        found: found.to_owned(),
    }
}

fn bytes_value(key: &str, text: Option<&str>) -> Result<Bytes, SpecError> {
    match text {
        Some(text) if !text.is_empty() => Ok(Bytes::copy_from_slice(text.as_bytes())),
        _ => Err(bad(key, "one byte or more", "")),
    }
}

fn size_value(key: &str, text: &str) -> Result<usize, SpecError> {
    match parse_size(text) {
        Ok(0) => Err(bad(key, "a size of 1 byte or more", text)),
        Ok(size) => usize::try_from(size).map_err(|_| bad(key, "a smaller size", text)),
        Err(why) => Err(bad(key, format!("a size in bytes ({why})"), text)),
    }
}

impl SpecError {
    /// Returns the part of what was written that the error is about.
    pub fn location(&self) -> Location<'_> {
        match self {
            SpecError::UnknownShorthand { .. } | SpecError::NoKind { .. } => Location::Whole,
            SpecError::UnknownKey { key }
            | SpecError::DuplicateKey { key }
            | SpecError::Stray { key, .. }
            | SpecError::Missing { key, .. } => Location::Key(key),
            SpecError::TwoKinds { second, .. } => Location::Key(second),
            SpecError::BadValue { key, .. } => Location::Value(key),
        }
    }

    /// Returns the key the error is about, if it is about one.
    pub fn key(&self) -> Option<&str> {
        match self.location() {
            Location::Whole => None,
            Location::Key(key) | Location::Value(key) => Some(key),
        }
    }

    /// Returns how to fix it, with a worked example.
    pub fn hint(&self) -> String {
        match self {
            SpecError::UnknownShorthand { found } => shorthand_hint(found),
            SpecError::UnknownKey { key } => key_hint(key),
            SpecError::DuplicateKey { key } => format!("keep one `{key}`"),
            SpecError::NoKind { .. } => KINDS_HINT.to_owned(),
            SpecError::TwoKinds { first, .. } => {
                format!("a stream has one framing: keep `{first}` or the other; {KINDS_HINT}")
            }
            SpecError::Missing { .. } => "frames between start and end bytes name both, as MLLP's \
                 `{start: \"\\x0b\", end: \"\\x1c\\r\"}`; for frames that only end in bytes, \
                 write `{delimiter: \"\\r\\n\"}`"
                .to_owned(),
            SpecError::Stray { key, .. } => format!(
                "`{key}` describes the bytes around a length field, as in \
                 `{{length: u16be, {key}: {}}}`",
                if key == "offset" { "2" } else { "-2" }
            ),
            SpecError::BadValue { key, found, .. } => value_hint(key, found),
        }
    }
}

const KINDS_HINT: &str = "write `line`, `crlf`, `{delimiter: \"\\r\\n\"}`, \
`{start: \"\\x0b\", end: \"\\x1c\\r\"}`, `{fixed: 16}` or `{length: u32be}`";

fn shorthand_hint(found: &str) -> String {
    match found {
        "delimiter" => "write the bytes that end a frame: `{delimiter: \"\\r\\n\"}`".to_owned(),
        "fixed" => "write the frame size: `{fixed: 16}` cuts 16-byte frames".to_owned(),
        "length" => format!("write the length field's type: `{{length: u32be}}`; {LENGTH_HINT}"),
        "lf" | "lines" | "newline" => {
            "write `line`: frames end at `\\n` (a `\\r` before it is part of the line ending)"
                .to_owned()
        }
        "cr_lf" | "crlf_lines" => "write `crlf`: frames end at `\\r\\n`".to_owned(),
        _ if found.eq_ignore_ascii_case("line") || found.eq_ignore_ascii_case("crlf") => {
            format!("write `{}` in lower case", found.to_ascii_lowercase())
        }
        _ => match closest(found, &["line", "crlf"]) {
            Some(name) => format!("did you mean `{name}`?"),
            None => KINDS_HINT.to_owned(),
        },
    }
}

fn key_hint(key: &str) -> String {
    match key {
        "includes_header" | "num_skip" | "skip" => format!(
            "a length's payload always keeps the bytes before the field and drops the field; \
             to count the header in the length, use `adjust`: {LENGTH_HINT}"
        ),
        "length_adjustment" => "write `adjust`, e.g. `{length: u16be, adjust: -2}`".to_owned(),
        "length_field_offset" => "write `offset`, e.g. `{length: u16be, offset: 2}`".to_owned(),
        "max_frame_length" | "max_length" | "limit" => "write `max`, e.g. `max: 1MiB`".to_owned(),
        "size" => "write `{fixed: 16}` for frames of 16 bytes".to_owned(),
        "line" | "crlf" => format!("`{key}` is written alone, as `framing: {key}`"),
        _ => match closest(key, ALL_KEYS) {
            Some(name) => format!("did you mean `{name}`?"),
            None => format!("expected {}", list(ALL_KEYS)),
        },
    }
}

fn value_hint(key: &str, found: &str) -> String {
    match key {
        "length" => {
            let bare = found.to_ascii_lowercase();
            if matches!(bare.as_str(), "u16" | "u32" | "u64" | "u24") {
                format!(
                    "`{found}` needs a byte order: `{bare}be` (big-endian, network order){}",
                    if bare == "u24" {
                        String::new()
                    } else {
                        format!(" or `{bare}le`")
                    }
                )
            } else if let Some(name) = closest(&bare, &LengthField::NAMES) {
                format!("did you mean `{name}`? {LENGTH_HINT}")
            } else {
                format!("`varint` is protobuf's unsigned LEB128; {LENGTH_HINT}")
            }
        }
        "offset" => "`offset` counts the bytes before the length field, which stay in the \
                     payload: `{length: u16be, offset: 2}` for a 2-byte type tag, then the length"
            .to_owned(),
        "adjust" => LENGTH_HINT.to_owned(),
        "max" => format!(
            "`max` bounds a whole frame on the wire, as `max: 64KiB` (default {}); \
             it must hold the smallest frame",
            show_size(DEFAULT_MAX)
        ),
        "fixed" => "`{fixed: 16}` cuts the stream into 16-byte frames; raise `max` for larger ones"
            .to_owned(),
        _ => format!(
            "write the bytes as YAML text, escapes in double quotes: `{key}: {}`",
            quote(match key {
                "start" => b"\x0b",
                "end" => b"\x1c\r",
                _ => b"\r\n",
            })
        ),
    }
}

/// Returns the candidate closest to `input`, if it looks like a typo of it.
fn closest<'a>(input: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(&input.to_ascii_lowercase(), c), *c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Formats names as "`a`, `b` or `c`".
fn list(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => quoted.join(""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> Result<FramingSpec, SpecError> {
        FramingSpec::parse(Written::Map(pairs))
    }

    fn length(spec: &FramingSpec) -> LengthSpec {
        match spec.kind() {
            FramingKind::Length(length) => *length,
            other => panic!("not a length framing: {other:?}"),
        }
    }

    #[test]
    fn reads_every_kind() {
        assert_eq!(
            FramingSpec::parse(Written::Shorthand("line"))
                .unwrap()
                .kind(),
            &FramingKind::Line
        );
        assert_eq!(
            FramingSpec::parse(Written::Shorthand("crlf"))
                .unwrap()
                .kind(),
            &FramingKind::Crlf
        );
        assert_eq!(
            map(&[("delimiter", "\0")]).unwrap().kind(),
            &FramingKind::Delimiter(Bytes::from_static(b"\0"))
        );
        let mllp = map(&[("start", "\x0b"), ("end", "\x1c\r")]).unwrap();
        assert_eq!(
            mllp.kind(),
            &FramingKind::StartEnd {
                start: Bytes::from_static(b"\x0b"),
                end: Bytes::from_static(b"\x1c\r")
            }
        );
        assert_eq!(
            map(&[("fixed", "16")]).unwrap().kind(),
            &FramingKind::Fixed(16)
        );
        let spec = map(&[("length", "u16be"), ("adjust", "-2"), ("max", "1MiB")]).unwrap();
        assert_eq!(
            length(&spec),
            LengthSpec {
                field: LengthField::U16Be,
                offset: 0,
                adjust: -2
            }
        );
        assert_eq!(spec.max(), 1 << 20);
        let spec = map(&[("offset", "2"), ("length", "varint"), ("adjust", "+4")]).unwrap();
        assert_eq!(length(&spec).offset, 2);
        assert_eq!(length(&spec).adjust, 4);
        assert_eq!(spec.max(), DEFAULT_MAX);
    }

    #[test]
    fn writes_specs_as_a_scenario_would() {
        let shown = |pairs: &[(&str, &str)]| map(pairs).unwrap().to_string();
        assert_eq!(FramingSpec::line().to_string(), "line");
        assert_eq!(FramingSpec::crlf().to_string(), "crlf");
        assert_eq!(
            shown(&[("length", "u16be"), ("adjust", "-2"), ("offset", "1")]),
            "{length: u16be, offset: 1, adjust: -2}"
        );
        assert_eq!(
            shown(&[("start", "\x0b"), ("end", "\x1c\r"), ("max", "65536")]),
            r#"{start: "\x0b", end: "\x1c\r", max: 64KiB}"#
        );
        assert_eq!(shown(&[("fixed", "1KiB")]), "{fixed: 1024}");
        assert_eq!(
            shown(&[("delimiter", "\r\n\r\n")]),
            r#"{delimiter: "\r\n\r\n"}"#
        );
    }

    #[test]
    fn shorthand_errors_say_what_is_expected_with_a_hint() {
        let error = FramingSpec::parse(Written::Shorthand("lines")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown framing `lines`: expected `line`, `crlf` or a map such as `{length: u32be}`"
        );
        assert_eq!(error.location(), Location::Whole);
        assert!(error.hint().contains("write `line`"), "{}", error.hint());
        let error = FramingSpec::parse(Written::Shorthand("length")).unwrap_err();
        assert!(
            error.hint().contains("`{length: u32be}`"),
            "{}",
            error.hint()
        );
        assert!(error.hint().contains("`{length: u16be, adjust: -2}`"));
        let error = FramingSpec::parse(Written::Shorthand("CRLF")).unwrap_err();
        assert_eq!(error.hint(), "write `crlf` in lower case");
        let error = FramingSpec::parse(Written::Shorthand("clrf")).unwrap_err();
        assert_eq!(error.hint(), "did you mean `crlf`?");
    }

    #[test]
    fn key_errors_name_the_key() {
        let error = map(&[("length", "u32be"), ("adjsut", "-4")]).unwrap_err();
        assert_eq!(error.location(), Location::Key("adjsut"));
        assert!(
            error
                .to_string()
                .starts_with("unknown framing key `adjsut`: expected `delimiter`, ")
        );
        assert_eq!(error.hint(), "did you mean `adjust`?");
        let error = map(&[("length", "u32be"), ("includes_header", "true")]).unwrap_err();
        assert!(error.hint().contains("use `adjust`"), "{}", error.hint());
        let error = map(&[("fixed", "4"), ("fixed", "5")]).unwrap_err();
        assert_eq!(
            error,
            SpecError::DuplicateKey {
                key: "fixed".into()
            }
        );
        let error = map(&[("fixed", "4"), ("length", "u8")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "framing has both `fixed` and `length`: expected one kind of framing"
        );
        assert_eq!(error.key(), Some("length"));
        let error = map(&[("end", "\x1c"), ("fixed", "4")]).unwrap_err();
        assert_eq!(
            error,
            SpecError::TwoKinds {
                first: "end".into(),
                second: "fixed".into()
            }
        );
        let error = map(&[("max", "1KiB")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "framing names no kind: expected one of `delimiter`, `start` and `end`, `fixed` or `length`, found `max`"
        );
        assert!(
            map(&[])
                .unwrap_err()
                .to_string()
                .ends_with("found an empty map")
        );
        let error = map(&[("start", "\x0b")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "framing key `start` needs `end` too, which is missing"
        );
        assert!(error.hint().contains(r#"`{start: "\x0b", end: "\x1c\r"}`"#));
        let error = map(&[("end", "\x1c\r")]).unwrap_err();
        assert_eq!(error.location(), Location::Key("end"));
        let error = map(&[("delimiter", "\n"), ("adjust", "-2")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "framing key `adjust` applies only to `length` framing, found with `delimiter`"
        );
    }

    #[test]
    fn value_errors_say_expected_found_and_give_a_worked_example() {
        let error = map(&[("length", "u16")]).unwrap_err();
        assert_eq!(error.location(), Location::Value("length"));
        assert_eq!(
            error.to_string(),
            "framing `length`: expected a field type, `u8`, `u16be`, `u16le`, `u24be`, `u32be`, \
             `u32le`, `u64be`, `u64le` or `varint`, found `u16`"
        );
        assert_eq!(
            error.hint(),
            "`u16` needs a byte order: `u16be` (big-endian, network order) or `u16le`"
        );
        let error = map(&[("length", "u32be"), ("adjust", "minus two")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "framing `adjust`: expected a whole number of bytes, such as -2 or 4, found `minus two`"
        );
        assert!(
            error
                .hint()
                .contains("a u16be length that counts itself is `{length: u16be, adjust: -2}`")
        );
        let error = map(&[("length", "u8"), ("offset", "-1")]).unwrap_err();
        assert!(error.to_string().contains("0 or more, found `-1`"));
        let error = map(&[("length", "u8"), ("max", "1MB")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "framing `max`: expected a size in bytes (`MB` is not a unit here: sizes are \
             1024-based, `MiB`), found `1MB`"
        );
        let error = map(&[("delimiter", "")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "framing `delimiter`: expected one byte or more, found ``"
        );
        let error = map(&[("fixed", "0")]).unwrap_err();
        assert!(error.to_string().contains("1 byte or more"));
        let error = map(&[("fixed", "16MiB")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "framing `fixed`: expected at most `max` (8MiB), found `16MiB`"
        );
        let error = map(&[("length", "u32be"), ("offset", "4"), ("max", "6")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "framing `max`: expected at least 8 bytes, the smallest frame of \
             {length: u32be, offset: 4, max: 6}, found `6`"
        );
    }
}
