//! Reads scalar values (text, numbers, booleans, durations, choices) out of YAML nodes.

use std::time::Duration;

use super::diagnostic::{describe, quote};
use super::limits::{MAX_DURATION, MAX_DURATION_TEXT};
use super::reader::Reader;
use super::suggest;
use super::yaml::Node;
use crate::client::encoding::Encoding;

/// Shows how a duration is written, for hints.
pub(crate) const DURATION_HINT: &str = "durations look like 500ms, 3s or 1m";

/// Shows how a size is written, for hints.
pub(crate) const SIZE_HINT: &str =
    "sizes are bytes, or take a 1024-based unit: 4096, 4KiB, 1MiB, 1GiB";

fn plain_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

impl Reader<'_> {
    /// Reads any non-empty scalar as text (`42` and `true` read as "42" and "true").
    pub(crate) fn text(&mut self, node: &Node, what: &str) -> Option<String> {
        match node.scalar() {
            Some(text) if !node.is_null() => Some(text.to_owned()),
            _ => {
                let message = format!("expected text for {what}, found {}", describe(node));
                self.error(node, message, None);
                None
            }
        }
    }

    /// Reads text that must not be empty or blank (names, hosts, words).
    pub(crate) fn word(&mut self, node: &Node, what: &str) -> Option<String> {
        let text = self.text(node, what)?;
        if text.trim().is_empty() {
            self.error(
                node,
                format!(
                    "expected a non-empty value for {what}, found {}",
                    describe(node)
                ),
                None,
            );
            return None;
        }
        Some(text)
    }

    /// Reads a humantime duration such as `500ms`, `3s` or `1m`.
    pub(crate) fn duration(&mut self, node: &Node, what: &str) -> Option<Duration> {
        if let Some(text) = node.scalar().filter(|_| !node.is_null()) {
            let trimmed = text.trim();
            if !trimmed.is_empty() && trimmed.chars().all(|c| c.is_ascii_digit()) {
                let message = format!(
                    "expected a duration for {what}, found the number `{text}` without a unit"
                );
                let hint = format!("add a unit: `{trimmed}s` or `{trimmed}ms` ({DURATION_HINT})");
                self.error(node, message, Some(hint));
                return None;
            }
            let too_long = match humantime::parse_duration(trimmed) {
                Ok(duration) if duration <= MAX_DURATION => return Some(duration),
                Ok(_) => true,
                // An overflow with a fraction may be a value below 1ns instead.
                Err(humantime::DurationError::NumberOverflow) => !trimmed.contains('.'),
                Err(_) => false,
            };
            if too_long {
                let message = format!(
                    "{what} is too long: durations are at most {MAX_DURATION_TEXT}, found `{trimmed}`"
                );
                let hint =
                    format!("write a duration of at most {MAX_DURATION_TEXT} ({DURATION_HINT})");
                self.error(node, message, Some(hint));
                return None;
            }
        }
        let message = format!("expected a duration for {what}, found {}", describe(node));
        self.error(node, message, Some(DURATION_HINT.into()));
        None
    }

    /// Reads an unquoted `true` or `false`.
    pub(crate) fn boolean(&mut self, node: &Node, what: &str) -> Option<bool> {
        if let Some(value) = node.plain().and_then(plain_bool) {
            return Some(value);
        }
        let quoted = node.scalar().and_then(plain_bool).is_some();
        let message = format!(
            "expected true or false for {what}, found {}",
            describe(node)
        );
        let hint = quoted.then(|| "write true or false without quotes".to_owned());
        self.error(node, message, hint);
        None
    }

    /// Reads an unquoted whole number between `min` and `max` (`u32::MAX` reads as "no upper bound" in messages).
    pub(crate) fn number(&mut self, node: &Node, what: &str, min: u64, max: u64) -> Option<u64> {
        let unbounded = max == u64::from(u32::MAX);
        let range = match (min, unbounded) {
            (0, true) => "a whole number".to_owned(),
            (min, true) => format!("a whole number of {min} or more"),
            (min, false) => format!("a whole number from {min} to {max}"),
        };
        if let Some(text) = node
            .plain()
            .filter(|t| !t.is_empty() && t.chars().all(|c| c.is_ascii_digit()))
        {
            let value = text.parse::<u64>().unwrap_or(u64::MAX);
            if (min..=max).contains(&value) {
                return Some(value);
            }
            let message = if unbounded && value > max {
                format!("{what} is too large: {text} (at most {max})")
            } else {
                format!("expected {range} for {what}, found {}", describe(node))
            };
            self.error(node, message, None);
            return None;
        }
        let quoted = node.scalar().is_some_and(|t| {
            node.plain().is_none() && !t.is_empty() && t.chars().all(|c| c.is_ascii_digit())
        });
        let hint = quoted.then(|| "write the number without quotes".to_owned());
        self.error(
            node,
            format!("expected {range} for {what}, found {}", describe(node)),
            hint,
        );
        None
    }

    /// Reads one of a fixed set of names (`noun` names the set in messages).
    pub(crate) fn choice<T: Copy>(
        &mut self,
        node: &Node,
        noun: &str,
        choices: &[(&str, T)],
    ) -> Option<T> {
        let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
        let Some(text) = node.scalar().filter(|_| !node.is_null()) else {
            let message = format!(
                "expected a {noun} ({}), found {}",
                suggest::list(&names),
                describe(node)
            );
            self.error(node, message, None);
            return None;
        };
        if let Some((_, value)) = choices.iter().find(|(name, _)| *name == text) {
            return Some(*value);
        }
        let hint = suggest::hint(text, &names);
        self.error(node, format!("unknown {noun} {}", quote(text)), Some(hint));
        None
    }

    /// Reads a size in bytes from 1 to `max`: a whole number, or one with a
    /// 1024-based unit (`4KiB`, `1MiB`).
    pub(crate) fn size(&mut self, node: &Node, what: &str, max: u64) -> Option<u64> {
        let hint = || Some(SIZE_HINT.to_owned());
        let Some(text) = node.scalar().filter(|_| !node.is_null()) else {
            let message = format!("expected a size for {what}, found {}", describe(node));
            self.error(node, message, hint());
            return None;
        };
        match crate::framing::size::parse_size(text) {
            Ok(0) => {
                let message = format!("{what} must be at least 1 byte, found `{text}`");
                self.error(node, message, hint());
                None
            }
            Ok(size) if size <= max => Some(size),
            Ok(_) => {
                let most = crate::framing::size::show_size(max as usize);
                let message = format!("{what} is too large: `{text}` (at most {most})");
                self.error(node, message, None);
                None
            }
            Err(why) => {
                let message = format!(
                    "expected a size for {what}, found {}: {why}",
                    describe(node)
                );
                self.error(node, message, hint());
                None
            }
        }
    }

    /// Reads an encoding name; `text_only` refuses base64 and hex (for `text:` data).
    pub(crate) fn encoding(&mut self, node: &Node, text_only: bool) -> Option<Encoding> {
        let allowed: Vec<&str> = Encoding::ALL
            .iter()
            .filter(|e| !text_only || e.is_text())
            .map(|e| e.name())
            .collect();
        let Some(text) = node.scalar().filter(|_| !node.is_null()) else {
            let message = format!(
                "expected an encoding ({}), found {}",
                suggest::list(&allowed),
                describe(node)
            );
            self.error(node, message, None);
            return None;
        };
        match text.parse::<Encoding>() {
            Ok(encoding) if allowed.contains(&encoding.name()) => Some(encoding),
            Ok(encoding) => {
                let name = encoding.name();
                let message = format!("`encoding: {name}` cannot be used with `text:`");
                let hint = format!(
                    "write the bytes with `{name}:` instead of `text:`, e.g. `{{{name}: ...}}`"
                );
                self.error(node, message, Some(hint));
                None
            }
            Err(_) => {
                let hint = suggest::hint(text, &allowed);
                self.error(
                    node,
                    format!("unknown encoding {}", quote(text)),
                    Some(hint),
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::yaml;

    fn node(source: &str) -> Node {
        let root = yaml::parse(&format!("v: {source}\n")).root.unwrap();
        root.entries().unwrap()[0].1.clone()
    }

    fn with_loader<T>(
        source: &str,
        read: impl FnOnce(&mut Reader<'_>, &Node) -> Option<T>,
    ) -> (Option<T>, Vec<String>) {
        let path = std::path::Path::new("t.yaml");
        let mut loader = Reader::new(path, "");
        let value = read(&mut loader, &node(source));
        let messages = loader
            .into_diagnostics()
            .into_iter()
            .map(|d| d.message)
            .collect();
        (value, messages)
    }

    #[test]
    fn reads_sizes_with_binary_units() {
        let size = |source: &str| with_loader(source, |l, n| l.size(n, "`s`", 1 << 30));
        assert_eq!(size("4096").0, Some(4096));
        assert_eq!(size("4KiB").0, Some(4096));
        assert_eq!(size("\"1 MiB\"").0, Some(1 << 20));
        assert_eq!(size("1GiB").0, Some(1 << 30));
        let (value, messages) = size("4KB");
        assert_eq!(value, None);
        assert_eq!(
            messages,
            [
                "expected a size for `s`, found `4KB`: `KB` is not a unit here: sizes are 1024-based, `KiB`"
            ]
        );
        assert_eq!(size("0").1, ["`s` must be at least 1 byte, found `0`"]);
        assert_eq!(size("2GiB").1, ["`s` is too large: `2GiB` (at most 1GiB)"]);
    }

    #[test]
    fn reads_durations() {
        assert_eq!(
            with_loader("1m", |l, n| l.duration(n, "`t`")).0,
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            with_loader("500ms", |l, n| l.duration(n, "`t`")).0,
            Some(Duration::from_millis(500))
        );
        let (value, messages) = with_loader("5", |l, n| l.duration(n, "`t`"));
        assert_eq!(value, None);
        assert_eq!(
            messages,
            ["expected a duration for `t`, found the number `5` without a unit"]
        );
    }

    #[test]
    fn numbers_and_booleans_must_be_unquoted() {
        assert_eq!(with_loader("7", |l, n| l.number(n, "`n`", 1, 9)).0, Some(7));
        assert_eq!(
            with_loader("\"7\"", |l, n| l.number(n, "`n`", 1, 9)).1,
            ["expected a whole number from 1 to 9 for `n`, found the string \"7\""]
        );
        assert_eq!(
            with_loader("10", |l, n| l.number(n, "`n`", 1, 9)).1,
            ["expected a whole number from 1 to 9 for `n`, found the number `10`"]
        );
        assert_eq!(
            with_loader("True", |l, n| l.boolean(n, "`b`")).0,
            Some(true)
        );
        assert_eq!(with_loader("'true'", |l, n| l.boolean(n, "`b`")).0, None);
    }

    #[test]
    fn reads_encodings() {
        assert_eq!(
            with_loader("latin1", |l, n| l.encoding(n, true)).0,
            Some(Encoding::Latin1)
        );
        assert_eq!(
            with_loader("hex", |l, n| l.encoding(n, false)).0,
            Some(Encoding::Hex)
        );
        assert_eq!(
            with_loader("hex", |l, n| l.encoding(n, true)).1,
            ["`encoding: hex` cannot be used with `text:`"]
        );
    }
}
