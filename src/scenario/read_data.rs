//! Reads the data (`text`/`hex`/`base64`) and regex pattern arguments of steps.

use super::data::Data;
use super::diagnostic::sentence_case;
use super::generate::{DEFAULT_SEED, Generator};
use super::limits::{
    self, MAX_FILE_COMPILED, MAX_GENERATED_BYTES, MAX_PATTERN_BYTES, MAX_PATTERN_COMPILED,
};
use super::reader::{Fields, Reader, Rejected};
use super::registry::DATA_OPTIONS;
use super::types::{Pattern, Pieces};
use super::yaml::Node;
use crate::client::encoding::{EncodeError, Encoding};
use crate::matcher::{BuildError, Matcher};
use std::sync::Arc;

/// Lists the keys of a data map (`send: {...}`, `banner: {...}`), from the registry's data options.
pub(crate) const DATA_KEYS: [&str; 4] = [
    DATA_OPTIONS[0].key,
    DATA_OPTIONS[1].key,
    DATA_OPTIONS[2].key,
    DATA_OPTIONS[3].key,
];

/// Lists the keys that give data; `repeat` and `random` generate it.
const SOURCES: [(&str, Encoding); 5] = [
    ("text", Encoding::Utf8),
    ("hex", Encoding::Hex),
    ("base64", Encoding::Base64),
    ("repeat", Encoding::Utf8),
    ("random", Encoding::Utf8),
];

/// Flattens a regex compile error into one lowercase line.
fn regex_reason(error: &BuildError) -> String {
    if let Some(text) = error.syntax() {
        let reason = text
            .lines()
            .rev()
            .find_map(|line| line.trim().strip_prefix("error: "))
            .unwrap_or_else(|| text.lines().last().unwrap_or("syntax error"));
        return sentence_case(reason);
    }
    match error.size_limit() {
        Some(limit) => format!("the compiled regex exceeds {limit} bytes"),
        None => sentence_case(&error.to_string()),
    }
}

impl Reader<'_> {
    /// Reads data given as `text` (with optional `encoding`), `hex` or `base64`.
    ///
    /// Returns none when no data is given (an error when `required` names the step) or on error.
    pub(crate) fn data(
        &mut self,
        fields: &Fields<'_>,
        at: &Node,
        required: Option<&str>,
    ) -> Option<Data> {
        let given: Vec<(&str, Encoding)> = SOURCES
            .iter()
            .copied()
            .filter(|(key, _)| fields.get(key).is_some())
            .collect();
        if let Some(encoding) = fields.get("encoding") {
            if given.first().is_some_and(|(key, _)| *key == "text") {
                // Checked below, with the text.
            } else {
                let hint =
                    "`hex:` and `base64:` data need no encoding; use `text:` for encoded text";
                let key = fields.key("encoding").unwrap_or(encoding);
                self.error(
                    key,
                    "`encoding:` only applies to `text:`",
                    Some(hint.into()),
                );
            }
        }
        let (key, encoding) = match given.as_slice() {
            [] => {
                if let Some(step) = required {
                    let message = format!(
                        "`{step}` needs data: text, or a map with `text:`, `hex:` or `base64:`"
                    );
                    let hint =
                        format!("for example `- {step}: hello` or `- {step}: {{hex: 68 69}}`");
                    self.error(at, message, Some(hint));
                }
                return None;
            }
            [one] => *one,
            [first, second, ..] => {
                let node = fields.key(second.0).or(fields.get(second.0)).unwrap_or(at);
                let message = format!("`{}:` cannot be combined with `{}:`", second.0, first.0);
                self.error(
                    node,
                    message,
                    Some("give exactly one of `text:`, `hex:` or `base64:`".into()),
                );
                return None;
            }
        };
        for (companion, owner) in [("times", "repeat"), ("seed", "random")] {
            if key != owner
                && let Some(at) = fields.key(companion)
            {
                let message = format!("`{companion}:` only applies to `{owner}:`");
                self.error(at, message, None);
            }
        }
        if key == "repeat" || key == "random" {
            return self.generator(fields, at, key);
        }
        let node = fields.get(key)?;
        let text = self.text(node, &format!("`{key}`"))?;
        let encoding = match (key, fields.get("encoding")) {
            ("text", Some(name)) => self.encoding(name, true)?,
            _ => encoding,
        };
        // Text is encoded when it is sent, after its variables are replaced
        // (a banner's are not); here it only has to fit its encoding as
        // written, and its variables must have values.
        if encoding.is_text() && required != Some("banner") {
            self.check_variables(node, &text);
        }
        match encoding.encode(&text) {
            Ok(_) if encoding.is_text() => Some(Data::Text { text, encoding }),
            Ok(bytes) => Some(Data::Bytes { bytes, encoding }),
            Err(error) => {
                let (message, hint) = match &error {
                    EncodeError::Hex(reason) => (
                        format!("invalid hex data: {}", sentence_case(reason)),
                        "hex data is pairs of hex digits, e.g. `hex: 48 65 6c 6c 6f`",
                    ),
                    EncodeError::Base64(reason) => (
                        format!("invalid base64 data: {}", sentence_case(reason)),
                        "base64 data looks like `aGVsbG8=`",
                    ),
                    EncodeError::Unrepresentable { .. } => (
                        error.to_string(),
                        "use `encoding: utf8`, or write the bytes with `hex:`",
                    ),
                };
                self.error(node, message, Some(hint.into()));
                None
            }
        }
    }

    /// Reads `chunks:` and `gap:` of `send`: none without `chunks:`; `gap:`
    /// needs it. Returns none (outer) after an error.
    pub(crate) fn pieces(&mut self, fields: &Fields<'_>) -> Option<Option<Pieces>> {
        let gap = self.opt_duration(fields, "gap");
        let Some(chunks) = fields.get("chunks") else {
            if let Some(at) = fields.key("gap") {
                let hint = "for example `{text: \"abc\", chunks: 1, gap: 10ms}`";
                self.error(at, "`gap:` needs `chunks:`", Some(hint.into()));
                return None;
            }
            return Some(None);
        };
        let size = self.number(chunks, "`chunks`", 1, MAX_GENERATED_BYTES)?;
        Some(Some(Pieces {
            size: size as usize,
            gap: gap.unwrap_or_default(),
        }))
    }

    /// Reads generated data: `repeat:` with `times:`, or `random:` with an
    /// optional `seed:`, at most [`MAX_GENERATED_BYTES`] bytes.
    fn generator(&mut self, fields: &Fields<'_>, at: &Node, key: &str) -> Option<Data> {
        let node = fields.get(key)?;
        let generator = if key == "repeat" {
            let unit = self.text(node, "`repeat`")?;
            let Some(times) = fields.get("times") else {
                let message = "`repeat:` needs `times:`, how many times to repeat it";
                let hint = "for example `{repeat: \"x\", times: 100000}`";
                self.error(at, message, Some(hint.into()));
                return None;
            };
            let times = self.number(times, "`times`", 0, u64::MAX)?;
            Generator::Repeat {
                unit: unit.into_bytes(),
                times,
            }
        } else {
            let size = self.size(node, "`random`", MAX_GENERATED_BYTES)?;
            let seed = match fields.get("seed") {
                Some(seed) => self.number(seed, "`seed`", 0, u64::MAX)?,
                None => DEFAULT_SEED,
            };
            Generator::Random { size, seed }
        };
        if generator.len() > MAX_GENERATED_BYTES {
            let message = format!(
                "`repeat:` makes too much data: {} bytes (generated data is at most {})",
                generator.len(),
                limits::bytes(MAX_GENERATED_BYTES)
            );
            self.error(node, message, None);
            return None;
        }
        Some(Data::Generated(generator))
    }

    /// Reads and compiles the regex under `regex` (multi-line, CRLF-aware).
    pub(crate) fn pattern(
        &mut self,
        fields: &Fields<'_>,
        at: &Node,
        step: &str,
    ) -> Option<Pattern> {
        let Some(node) = fields.get("regex") else {
            let message = format!("`{step}` needs a regex");
            let hint = format!(
                "for example `- {step}: \"^hello$\"` or `- {step}: {{regex: \"^hello$\", timeout: 2s}}`"
            );
            self.error(at, message, Some(hint));
            return None;
        };
        self.regex(node, "`regex`")
    }

    /// Compiles the regex written at `node` (multi-line, CRLF-aware); `what` names it in messages.
    ///
    /// A regex is at most [`MAX_PATTERN_BYTES`] long and [`MAX_PATTERN_COMPILED`]
    /// compiled; the distinct regexes of a file together at most
    /// [`MAX_FILE_COMPILED`] compiled. Identical regexes are compiled once.
    pub(crate) fn regex(&mut self, node: &Node, what: &str) -> Option<Pattern> {
        let source = self.text(node, what)?;
        if source.len() > MAX_PATTERN_BYTES {
            let message = format!(
                "the regex is too long: {} bytes (a regex is at most {})",
                source.len(),
                limits::bytes(MAX_PATTERN_BYTES as u64)
            );
            let hint = "match a shorter part of the output";
            self.error(node, message, Some(hint.into()));
            return None;
        }
        // `${name}` stands for a value known only when the step runs: check
        // that it will have one, and the rest of the regex with an empty
        // group in its place.
        self.check_variables(node, &source);
        let vars = crate::vars::has_placeholders(&source);
        let checked = if vars {
            let mut stand_in = source.clone();
            for name in crate::vars::names(&source)
                .map(str::to_owned)
                .collect::<Vec<_>>()
            {
                stand_in = stand_in.replace(&format!("${{{name}}}"), "(?:)");
            }
            stand_in
        } else {
            source.clone()
        };
        let compiled = match self.patterns.get(&checked) {
            Some(known) => known.clone(),
            None => {
                let compiled = self.compile(&checked);
                self.patterns.insert(checked, compiled.clone());
                compiled
            }
        };
        match compiled {
            Ok(matcher) => Some(Pattern {
                source,
                matcher,
                vars,
            }),
            Err((message, hint)) => {
                self.error(node, message, Some(hint));
                None
            }
        }
    }

    /// Compiles a regex not seen before in this file, and counts its size
    /// against the file's budget. Its size is measured first, by a compile
    /// that stops at [`MAX_PATTERN_COMPILED`], and only a regex that fits is
    /// compiled for use; one too large counts as that limit. Once the budget
    /// is spent, no more regexes are compiled, so the work of loading a file
    /// stays bounded however many regexes it holds.
    fn compile(&mut self, checked: &str) -> Result<Arc<Matcher>, Rejected> {
        if self.compiled >= MAX_FILE_COMPILED {
            return Err(over_budget());
        }
        let size = match compiled_size(checked) {
            Ok(size) => size,
            Err(Some(_)) => {
                self.compiled = self.compiled.saturating_add(MAX_PATTERN_COMPILED);
                return Err(too_big());
            }
            // Invalid: the regex crate says why, below.
            Err(None) => 0,
        };
        self.compiled = self.compiled.saturating_add(size);
        if self.compiled > MAX_FILE_COMPILED {
            return Err(over_budget());
        }
        Pattern::compile(checked)
            .map(Arc::new)
            .map_err(|error| match error.size_limit() {
                Some(_) => too_big(),
                None => (
                    format!("invalid regex: {}", regex_reason(&error)),
                    "regexes use Rust regex syntax; escape special characters like `(`, `[` or `.` with `\\`".to_owned(),
                ),
            })
    }
}

/// Says that the file's regexes are over [`MAX_FILE_COMPILED`] together.
fn over_budget() -> Rejected {
    let message = format!(
        "the regexes of this file are too large together: compiled, they exceed {}",
        limits::bytes(MAX_FILE_COMPILED as u64),
    );
    let hint = "use fewer distinct regexes, or smaller ones (identical regexes are compiled once), or split the file";
    (message, hint.to_owned())
}

/// Says that one regex is over [`MAX_PATTERN_COMPILED`].
fn too_big() -> Rejected {
    (
        format!(
            "the regex is too large: compiled, it exceeds the limit of {}",
            limits::bytes(MAX_PATTERN_COMPILED as u64)
        ),
        "large counted repetitions (`x{200000}`) and Unicode classes (`\\w`) compile to large programs; repeat less, or match a shorter part".to_owned(),
    )
}

/// Returns the compiled size of a regex: the memory of its program (a
/// Thompson NFA, as the regex crate builds and bounds it). Fails with the
/// limit when it is over [`MAX_PATTERN_COMPILED`], with none when the regex
/// is invalid.
fn compiled_size(checked: &str) -> Result<usize, Option<usize>> {
    use regex_automata::nfa::thompson;
    use regex_automata::util::syntax;
    let syntax = syntax::Config::new().multi_line(true).crlf(true);
    let config = thompson::Config::new().nfa_size_limit(Some(MAX_PATTERN_COMPILED));
    thompson::Compiler::new()
        .syntax(syntax)
        .configure(config)
        .build(checked)
        .map(|nfa| nfa.memory_usage())
        .map_err(|error| error.size_limit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattens_regex_errors() {
        let compile = |source: &str| Pattern::compile(source).unwrap_err();
        assert_eq!(regex_reason(&compile("(abc")), "unclosed group");
        assert!(!regex_reason(&compile("a{2,1}")).contains('\n'));
    }
}
