//! Masks what differs from run to run, or must not be shown, in transcript lines: the port as `${port}`, the scenario's folder as `${tmp}`, captured values as `${name}` (in payload bytes only), secrets as `***` (everywhere).

use regex::Regex;

/// Replaces one value, as a word where it starts or ends with one.
#[derive(Debug)]
struct Mask {
    regex: Regex,
    /// The replacement in `regex` syntax: `$${name}` writes `${name}`.
    replacement: String,
}

impl Mask {
    /// Returns the mask of `value` by `shown` (already in `regex`
    /// replacement syntax); `None` for an empty value.
    fn new(value: &str, shown: String) -> Option<Self> {
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
            replacement: shown,
        })
    }

    fn apply(&self, text: &str) -> String {
        self.regex
            .replace_all(text, self.replacement.as_str())
            .into_owned()
    }

    fn same(&self, other: &Mask) -> bool {
        self.replacement == other.replacement && self.regex.as_str() == other.regex.as_str()
    }
}

/// Says where a value is masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// In payload bytes only (sent, received, program output): a captured
    /// value, which may also be a word of tcprun's own wording.
    Payload,
    /// In every line (the scenario's folder).
    Everywhere,
}

/// Holds one transcript line and where its payload starts (none: a line of
/// tcprun's own wording, such as `client: retry 1/10 in 3s`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The whole line.
    pub text: String,
    /// The byte offset of the payload (the quoted bytes after `who > `).
    pub payload: Option<usize>,
}

/// Holds the masks of one transcript: secrets first, then the port and the
/// values masked everywhere (applied as each line is written), then the
/// captured values (applied to payload bytes once, when the transcript is
/// read: a capture costs no more than any other step).
#[derive(Debug)]
pub struct Masks {
    port: Mask,
    secrets: Vec<Mask>,
    everywhere: Vec<Mask>,
    /// Captured values as (name, value), in the order they were captured.
    captured: Vec<(String, String)>,
}

impl Masks {
    /// Creates the masks of a scenario whose server listens on `port`.
    pub fn new(port: u16) -> Self {
        Self {
            port: Mask {
                regex: Regex::new(&format!(r"\b{port}\b")).expect("a number is a valid regex"),
                replacement: "$${port}".to_owned(),
            },
            secrets: Vec::new(),
            everywhere: Vec::new(),
            captured: Vec::new(),
        }
    }

    /// Shows `value` as `${name}` where `scope` says: everywhere from now
    /// on and in the lines already `written`, or, for a captured value, in
    /// the payload of every line when the transcript is read. An empty value
    /// masks nothing; the same value under the same name is kept once.
    pub fn add<'a>(
        &mut self,
        name: &str,
        value: &str,
        scope: Scope,
        written: impl Iterator<Item = &'a mut Line>,
    ) {
        if value.is_empty() {
            return;
        }
        match scope {
            Scope::Payload => {
                if !self.captured.iter().any(|(n, v)| n == name && v == value) {
                    self.captured.push((name.to_owned(), value.to_owned()));
                }
            }
            Scope::Everywhere => {
                let Some(mask) = Mask::new(value, format!("$${{{name}}}")) else {
                    return;
                };
                for line in written {
                    line.text = mask.apply(&line.text);
                }
                if !self.everywhere.iter().any(|known| known.same(&mask)) {
                    self.everywhere.push(mask);
                }
            }
        }
    }

    /// Shows `value` as `***` everywhere from now on, and in the lines already `written`.
    pub fn add_secret<'a>(&mut self, value: &str, written: impl Iterator<Item = &'a mut Line>) {
        if value.is_empty() {
            return;
        }
        // Anywhere, not only as a word: a secret never shows, even inside another word.
        let Ok(regex) = Regex::new(&regex::escape(value)) else {
            return;
        };
        let mask = Mask {
            regex,
            replacement: "***".to_owned(),
        };
        for line in written {
            line.text = mask.apply(&line.text);
        }
        if !self.secrets.iter().any(|known| known.same(&mask)) {
            self.secrets.push(mask);
        }
    }

    /// Returns `line` with secrets, the port and the values masked
    /// everywhere (as it is written; captured values come later).
    pub fn apply(&self, line: &Line) -> Line {
        let mut text = self.hide(&line.text);
        text = self.port.apply(&text);
        for mask in &self.everywhere {
            text = mask.apply(&text);
        }
        Line {
            text,
            payload: line.payload,
        }
    }

    /// Returns how the captured values are masked in payload bytes: one
    /// pass over each line, however many there are.
    pub fn captured(&self) -> Captured {
        // The longest first, so that a value inside another one does not win.
        let mut values: Vec<(&str, &str)> = self
            .captured
            .iter()
            .map(|(name, value)| (value.as_str(), name.as_str()))
            .collect();
        values.sort_by_key(|(value, _)| std::cmp::Reverse(value.len()));
        let mut names = std::collections::HashMap::new();
        for (value, name) in &values {
            names
                .entry((*value).to_owned())
                .or_insert_with(|| format!("${{{name}}}"));
        }
        let alternatives: Vec<String> = values
            .iter()
            .map(|(value, _)| regex::escape(value))
            .collect();
        // Literals only: the regex crate finds many of them at once.
        let regex = (!alternatives.is_empty())
            .then(|| Regex::new(&alternatives.join("|")).ok())
            .flatten();
        Captured { regex, names }
    }

    /// Returns a failure message (or the output it shows) masked as the
    /// transcript's own wording is: secrets as `***`, the port as
    /// `${port}`, and the values masked everywhere (the scenario's folder).
    pub fn message(&self, text: &str) -> String {
        self.apply(&Line {
            text: text.to_owned(),
            payload: None,
        })
        .text
    }

    /// Returns `text` with every secret as `***`.
    pub fn hide(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for mask in &self.secrets {
            text = mask.apply(&text);
        }
        text
    }
}

/// Masks captured values in the payload of lines, with one regex for all of them.
#[derive(Debug)]
pub struct Captured {
    /// Every value, as a literal.
    regex: Option<Regex>,
    /// What each value is shown as (`${name}`).
    names: std::collections::HashMap<String, String>,
}

impl Captured {
    /// Returns `line`'s text with captured values masked in its payload.
    pub fn apply(&self, line: &Line) -> String {
        let (Some(regex), Some(at)) = (&self.regex, line.payload) else {
            return line.text.clone();
        };
        if at > line.text.len() || !line.text.is_char_boundary(at) {
            return line.text.clone();
        }
        let (head, payload) = line.text.split_at(at);
        let mut out = String::with_capacity(line.text.len());
        out.push_str(head);
        let mut rest = 0;
        for found in regex.find_iter(payload) {
            let value = found.as_str();
            // As a word where the value starts or ends with one, as `\b` would.
            let before = payload[..found.start()].chars().next_back();
            let after = payload[found.end()..].chars().next();
            let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
            let starts = !word(value.chars().next()) || !word(before);
            let ends = !word(value.chars().next_back()) || !word(after);
            if let (true, true, Some(name)) = (starts, ends, self.names.get(value)) {
                out.push_str(&payload[rest..found.start()]);
                out.push_str(name);
                rest = found.end();
            }
        }
        out.push_str(&payload[rest..]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(text: &str) -> Line {
        let at = text.find(" > ").map(|at| at + 3);
        Line {
            text: text.to_owned(),
            payload: at,
        }
    }

    fn wording(text: &str) -> Line {
        Line {
            text: text.to_owned(),
            payload: None,
        }
    }

    /// Returns each line as the transcript shows it once read.
    fn read(masks: &Masks, lines: &[Line]) -> Vec<String> {
        let captured = masks.captured();
        lines
            .iter()
            .map(|line| captured.apply(&masks.apply(line)))
            .collect()
    }

    #[test]
    fn masks_the_port_as_a_word_and_captured_values_in_payload() {
        let mut masks = Masks::new(4000);
        let mut lines = vec![payload("alice > \"token ab12\"")];
        masks.add("token", "ab12", Scope::Payload, lines.iter_mut());
        masks.add("token", "ab12", Scope::Payload, lines.iter_mut());
        masks.add("empty", "", Scope::Payload, lines.iter_mut());
        assert_eq!(masks.captured.len(), 1, "the same capture is masked once");
        lines.push(payload("x > \"127.0.0.1:4000 ab12 14000 ab123\""));
        assert_eq!(
            read(&masks, &lines),
            [
                "alice > \"token ${token}\"",
                "x > \"127.0.0.1:${port} ${token} 14000 ab123\"",
            ]
        );
    }

    #[test]
    fn a_captured_value_is_masked_in_payload_only() {
        let mut masks = Masks::new(4000);
        let mut lines = vec![
            wording("client: retry 1/10 in 3s"),
            payload("client > \"n = 1\\n\""),
            wording("client: connecting to 127.0.0.1:4000 (attempt 1)"),
        ];
        masks.add("n", "1", Scope::Payload, lines.iter_mut());
        masks.add("who", "client", Scope::Payload, lines.iter_mut());
        assert_eq!(
            read(&masks, &lines),
            [
                "client: retry 1/10 in 3s",
                "client > \"n = ${n}\\n\"",
                "client: connecting to 127.0.0.1:${port} (attempt 1)",
            ]
        );
    }

    #[test]
    fn a_folder_is_masked_everywhere_and_a_secret_hidden_everywhere() {
        let mut masks = Masks::new(4000);
        let mut lines = [wording("server: started /tmp/tcprun-x/srv s3cret")];
        masks.add("tmp", "/tmp/tcprun-x", Scope::Everywhere, lines.iter_mut());
        masks.add_secret("s3cret", lines.iter_mut());
        assert_eq!(lines[0].text, "server: started ${tmp}/srv ***");
        assert_eq!(
            read(&masks, &[payload("client > \"PASS s3cret\"")]),
            ["client > \"PASS ***\""]
        );
        assert_eq!(masks.hide("expected s3cret"), "expected ***");
        assert_eq!(
            masks.message("s3cret on 4000, not 40001"),
            "*** on ${port}, not 40001"
        );
        assert_eq!(masks.hide("xs3cretx"), "x***x", "inside a word too");
    }
}
