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

/// Lends the lines written so far, and where each one's payload starts,
/// for a new mask to apply to them too.
#[derive(Debug)]
pub struct Written<'a> {
    /// The lines' text.
    pub texts: &'a mut [String],
    /// Where each line's payload starts (none: a line of tcprun's wording).
    pub payloads: &'a [Option<usize>],
}

/// Holds the masks of one transcript: secrets first, then the port, then
/// values in the order they were added.
#[derive(Debug)]
pub struct Masks {
    port: Mask,
    secrets: Vec<Mask>,
    everywhere: Vec<Mask>,
    payload: Vec<Mask>,
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
            payload: Vec::new(),
        }
    }

    /// Shows `value` as `${name}` from now on, and in the lines already
    /// `written`, where `scope` says. An empty value masks nothing; the
    /// same value under the same name is kept once.
    pub fn add(&mut self, name: &str, value: &str, scope: Scope, written: &mut Written<'_>) {
        let Some(mask) = Mask::new(value, format!("$${{{name}}}")) else {
            return;
        };
        for (text, payload) in written.texts.iter_mut().zip(written.payloads) {
            *text = apply_in(text, *payload, scope, &mask);
        }
        let list = match scope {
            Scope::Payload => &mut self.payload,
            Scope::Everywhere => &mut self.everywhere,
        };
        if !list.iter().any(|known| known.same(&mask)) {
            list.push(mask);
        }
    }

    /// Shows `value` as `***` everywhere from now on, and in the lines already `written`.
    pub fn add_secret(&mut self, value: &str, written: &mut Written<'_>) {
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
        for text in written.texts.iter_mut() {
            *text = mask.apply(text);
        }
        if !self.secrets.iter().any(|known| known.same(&mask)) {
            self.secrets.push(mask);
        }
    }

    /// Returns `line` with secrets, the port and the values masked where they apply.
    pub fn apply(&self, line: &Line) -> String {
        let mut text = self.hide(&line.text);
        text = self.port.apply(&text);
        for mask in &self.everywhere {
            text = mask.apply(&text);
        }
        for mask in &self.payload {
            text = apply_in(&text, line.payload, Scope::Payload, mask);
        }
        text
    }

    /// Returns `text` (a failure message, say) with every secret as `***`.
    pub fn hide(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for mask in &self.secrets {
            text = mask.apply(&text);
        }
        text
    }
}

/// Applies `mask` to `text` where `scope` says: the payload part only
/// (from byte `payload`; nothing in a line without payload), or all of it.
fn apply_in(text: &str, payload: Option<usize>, scope: Scope, mask: &Mask) -> String {
    match (scope, payload) {
        (Scope::Everywhere, _) => mask.apply(text),
        (Scope::Payload, Some(at)) if at <= text.len() && text.is_char_boundary(at) => {
            format!("{}{}", &text[..at], mask.apply(&text[at..]))
        }
        (Scope::Payload, _) => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written<'a>(
        lines: &'a mut [Line],
        payloads: &'a mut Vec<Option<usize>>,
        texts: &'a mut Vec<String>,
    ) -> Written<'a> {
        *payloads = lines.iter().map(|l| l.payload).collect();
        *texts = lines.iter().map(|l| l.text.clone()).collect();
        Written { texts, payloads }
    }

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

    #[test]
    fn masks_the_port_as_a_word_and_values_in_lines_old_and_new() {
        let mut masks = Masks::new(4000);
        let mut lines = vec![payload("alice > \"token ab12\"")];
        let (mut payloads, mut texts) = (Vec::new(), Vec::new());
        let mut written = written(&mut lines, &mut payloads, &mut texts);
        masks.add("token", "ab12", Scope::Payload, &mut written);
        masks.add("token", "ab12", Scope::Payload, &mut written);
        masks.add("empty", "", Scope::Payload, &mut written);
        assert_eq!(written.texts[0], "alice > \"token ${token}\"");
        assert_eq!(masks.payload.len(), 1, "the same capture is masked once");
        assert_eq!(
            masks.apply(&payload("x > \"127.0.0.1:4000 ab12 14000 ab123\"")),
            "x > \"127.0.0.1:${port} ${token} 14000 ab123\""
        );
    }

    #[test]
    fn a_captured_value_is_masked_in_payload_only() {
        let mut masks = Masks::new(4000);
        let mut lines = vec![
            wording("client: retry 1/10 in 3s"),
            payload("client > \"n = 1\\n\""),
        ];
        let (mut payloads, mut texts) = (Vec::new(), Vec::new());
        let mut written = written(&mut lines, &mut payloads, &mut texts);
        masks.add("n", "1", Scope::Payload, &mut written);
        assert_eq!(written.texts[0], "client: retry 1/10 in 3s");
        assert_eq!(written.texts[1], "client > \"n = ${n}\\n\"");
        assert_eq!(
            masks.apply(&wording("client: connecting to 127.0.0.1:4000 (attempt 1)")),
            "client: connecting to 127.0.0.1:${port} (attempt 1)"
        );
        // The actor's name is not payload either.
        let mut masks = Masks::new(4000);
        let mut none = Written {
            texts: &mut [],
            payloads: &[],
        };
        masks.add("who", "alice", Scope::Payload, &mut none);
        assert_eq!(
            masks.apply(&payload("alice > \"alice\"")),
            "alice > \"${who}\""
        );
    }

    #[test]
    fn a_secret_is_hidden_everywhere() {
        let mut masks = Masks::new(4000);
        let mut lines = vec![wording("client: connecting to s3cret:1")];
        let (mut payloads, mut texts) = (Vec::new(), Vec::new());
        let mut written = written(&mut lines, &mut payloads, &mut texts);
        masks.add_secret("s3cret", &mut written);
        assert_eq!(written.texts[0], "client: connecting to ***:1");
        assert_eq!(
            masks.apply(&payload("client > \"PASS s3cret\"")),
            "client > \"PASS ***\""
        );
        assert_eq!(masks.hide("expected s3cret"), "expected ***");
        assert_eq!(masks.hide("xs3cretx"), "x***x", "inside a word too");
    }
}
