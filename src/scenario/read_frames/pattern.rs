//! Reads the pattern of an `expect_frame` step (`regex`, `text` or `hex`, and `prefix`) and its `skip:`.

use super::super::frames::FramePatternSpec;
use super::super::reader::{Fields, Reader};
use super::super::yaml::Node;
use crate::framing::{FramePattern, HexPattern, PatternError};

/// The keys of an `expect_frame` pattern that say what it matches.
pub(crate) const PATTERN_KEYS: [&str; 3] = FramePattern::KEYS;

impl Reader<'_> {
    /// Reads an `expect_frame` pattern from `fields`: exactly one of
    /// `regex`, `text` or `hex`, and `prefix`.
    pub(crate) fn frame_pattern(
        &mut self,
        fields: &Fields<'_>,
        item: &Node,
        step: &str,
    ) -> Option<FramePatternSpec> {
        let given: Vec<&str> = PATTERN_KEYS
            .iter()
            .copied()
            .filter(|key| fields.get(key).is_some())
            .collect();
        let prefix = match fields.get("prefix") {
            Some(node) => self.boolean(node, "`prefix`")?,
            None => false,
        };
        let key = match given.as_slice() {
            [] => {
                let message = format!(
                    "`{step}` needs a pattern: a regex, or a map with `regex:`, `text:` or `hex:`"
                );
                let hint = format!(
                    "for example `- {step}: \"^PONG$\"`, `- {step}: {{text: PONG}}` or `- {step}: {{hex: \"00 04 ?? ??\"}}`"
                );
                self.error(item, message, Some(hint));
                return None;
            }
            [one] => *one,
            [first, second, ..] => {
                let at = fields.key(second).unwrap_or(item);
                let message = format!("`{second}` cannot be combined with `{first}:`");
                self.error(
                    at,
                    message,
                    Some("a frame pattern is one of `regex:`, `text:` or `hex:`".into()),
                );
                return None;
            }
        };
        let node = fields.get(key)?;
        if prefix && key == "regex" {
            let at = fields.key("prefix").unwrap_or(node);
            let error = PatternError::PrefixWithRegex;
            self.error(at, error.to_string(), Some(error.hint()));
            return None;
        }
        match key {
            "regex" => {
                let checked = self.regex(node, "`regex`")?;
                let stand_in = if checked.vars {
                    let mut text = checked.source.clone();
                    for name in crate::vars::names(&checked.source)
                        .map(str::to_owned)
                        .collect::<Vec<_>>()
                    {
                        text = text.replace(&format!("${{{name}}}"), "(?:)");
                    }
                    text
                } else {
                    checked.source.clone()
                };
                let pattern = match self.frame_regexes.get(&stand_in) {
                    Some(pattern) => pattern.clone(),
                    None => {
                        let pattern =
                            self.pattern_error(node, FramePattern::new("regex", &stand_in, false))?;
                        self.frame_regexes.insert(stand_in, pattern.clone());
                        pattern
                    }
                };
                Some(FramePatternSpec {
                    key: "regex",
                    source: checked.source,
                    prefix: false,
                    pattern,
                    vars: checked.vars,
                })
            }
            "text" => {
                let text = self.text(node, "`text`")?;
                self.check_variables(node, &text);
                let vars = crate::vars::has_placeholders(&text);
                let pattern = FramePattern::new("text", &text, prefix).ok()?;
                Some(FramePatternSpec {
                    key: "text",
                    source: text,
                    prefix,
                    pattern,
                    vars,
                })
            }
            _ => {
                let text = self.text(node, "`hex`")?;
                let pattern = self
                    .pattern_error(node, HexPattern::new(&text, prefix).map(FramePattern::Hex))?;
                Some(FramePatternSpec {
                    key: "hex",
                    source: text,
                    prefix,
                    pattern,
                    vars: false,
                })
            }
        }
    }

    /// Reads `skip:` of `expect_frame`.
    pub(crate) fn skip(&mut self, fields: &Fields<'_>) -> Option<bool> {
        match fields.get("skip") {
            Some(node) => self.boolean(node, "`skip`"),
            None => Some(false),
        }
    }
}
