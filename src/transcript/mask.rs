//! Masks what differs from run to run in transcript lines: the port as `${port}`, the scenario's folder as `${tmp}`, captured values as `${name}`.

use regex::Regex;

/// Replaces one value, as a word where it starts or ends with one, by `${name}`.
#[derive(Debug)]
struct Mask {
    regex: Regex,
    /// The replacement in `regex` syntax: `$${name}` writes `${name}`.
    replacement: String,
}

impl Mask {
    /// Returns the mask of `value` as `${name}`; `None` for an empty value.
    fn new(name: &str, value: &str) -> Option<Self> {
        if value.is_empty() {
            return None;
        }
        let escaped = regex::escape(value);
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        let pattern = match (word(value.chars().next()), word(value.chars().last())) {
            (true, true) => format!(r"\b{escaped}\b"),
            (true, false) => format!(r"\b{escaped}"),
            (false, true) => format!(r"{escaped}\b"),
            (false, false) => escaped,
        };
        let regex = Regex::new(&pattern).ok()?;
        Some(Self {
            regex,
            replacement: format!("$${{{name}}}"),
        })
    }

    fn apply(&self, line: &str) -> String {
        self.regex
            .replace_all(line, self.replacement.as_str())
            .into_owned()
    }
}

/// Holds the masks of one transcript: the port first, then values in the order they were added.
#[derive(Debug)]
pub struct Masks {
    port: Mask,
    values: Vec<Mask>,
}

impl Masks {
    /// Creates the masks of a scenario whose server listens on `port`.
    pub fn new(port: u16) -> Self {
        Self {
            port: Mask {
                regex: Regex::new(&format!(r"\b{port}\b")).expect("a number is a valid regex"),
                replacement: "$${port}".to_owned(),
            },
            values: Vec::new(),
        }
    }

    /// Shows `value` as `${name}` from now on, and in the lines already
    /// `written`. An empty value masks nothing; the same value under the
    /// same name is kept once.
    pub fn add(&mut self, name: &str, value: &str, written: &mut [String]) {
        let Some(mask) = Mask::new(name, value) else {
            return;
        };
        for line in written.iter_mut() {
            if mask.regex.is_match(line) {
                *line = mask.apply(line);
            }
        }
        let known = self.values.iter().any(|known| {
            known.replacement == mask.replacement && known.regex.as_str() == mask.regex.as_str()
        });
        if !known {
            self.values.push(mask);
        }
    }

    /// Returns `line` with the port and every value masked.
    pub fn apply(&self, line: &str) -> String {
        let mut line = self.port.apply(line);
        for mask in &self.values {
            line = mask.apply(&line);
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_the_port_as_a_word_and_values_in_lines_old_and_new() {
        let mut masks = Masks::new(4000);
        let mut written = vec!["alice > \"token ab12\"".to_owned()];
        masks.add("token", "ab12", &mut written);
        masks.add("token", "ab12", &mut written);
        masks.add("empty", "", &mut written);
        assert_eq!(written, ["alice > \"token ${token}\""]);
        assert_eq!(masks.values.len(), 1, "the same capture is masked once");
        assert_eq!(
            masks.apply("127.0.0.1:4000 ab12 14000 ab123"),
            "127.0.0.1:${port} ${token} 14000 ab123"
        );
    }
}
