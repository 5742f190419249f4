//! Reads the data (`text`/`hex`/`base64`) and regex pattern arguments of steps.

use super::data::Data;
use super::diagnostic::sentence_case;
use super::reader::{Fields, Reader};
use super::registry::DATA_OPTIONS;
use super::types::Pattern;
use super::yaml::Node;
use crate::client::encoding::{EncodeError, Encoding};
use crate::matcher::BuildError;
use std::sync::Arc;

/// Lists the keys of a data map (`send: {...}`, `banner: {...}`), from the registry's data options.
pub(crate) const DATA_KEYS: [&str; 4] = [
    DATA_OPTIONS[0].key,
    DATA_OPTIONS[1].key,
    DATA_OPTIONS[2].key,
    DATA_OPTIONS[3].key,
];

const SOURCES: [(&str, Encoding); 3] = [
    ("text", Encoding::Utf8),
    ("hex", Encoding::Hex),
    ("base64", Encoding::Base64),
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
        let node = fields.get(key)?;
        let text = self.text(node, &format!("`{key}`"))?;
        let encoding = match (key, fields.get("encoding")) {
            ("text", Some(name)) => self.encoding(name, true)?,
            _ => encoding,
        };
        // Text is encoded when it is sent, after its variables are replaced;
        // here it only has to fit its encoding as written.
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
    pub(crate) fn regex(&mut self, node: &Node, what: &str) -> Option<Pattern> {
        let source = self.text(node, what)?;
        // `${name}` stands for a value known only when the step runs: check
        // the rest of the regex with an empty group in its place.
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
        match Pattern::compile(&checked) {
            Ok(matcher) => Some(Pattern {
                source,
                matcher: Arc::new(matcher),
                vars,
            }),
            Err(error) => {
                let message = format!("invalid regex: {}", regex_reason(&error));
                let hint = "regexes use Rust regex syntax; escape special characters like `(`, `[` or `.` with `\\`";
                self.error(node, message, Some(hint.into()));
                None
            }
        }
    }
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
