//! Holds received text for `expect`: matches run over the unconsumed part and consume up to their end.

use regex::Regex;

/// Caps the unconsumed text kept per buffer; older text is dropped (and counted).
pub const OUTPUT_CAP: usize = 16 << 20;

/// Holds one actor's received text and how much of it `expect` has consumed.
#[derive(Debug, Default)]
pub struct OutputBuffer {
    text: String,
    consumed: usize,
    /// How many bytes of text were let go from the front of `text`.
    released: u64,
    dropped: u64,
}

/// Describes a successful match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    /// The matched text.
    pub text: String,
    /// The named groups that took part, as (name, value).
    pub captures: Vec<(String, String)>,
}

impl OutputBuffer {
    /// Appends decoded text.
    pub fn push(&mut self, text: &str) {
        self.text.push_str(text);
        let unconsumed = self.text.len() - self.consumed;
        if unconsumed > OUTPUT_CAP {
            let mut cut = self.text.len() - OUTPUT_CAP;
            while !self.text.is_char_boundary(cut) {
                cut += 1;
            }
            self.dropped += (cut - self.consumed) as u64;
            self.consumed = cut;
        }
        // Keep memory proportional to what is unconsumed.
        if self.consumed > (1 << 16) && self.consumed > self.text.len() / 2 {
            self.text.drain(..self.consumed);
            self.released += self.consumed as u64;
            self.consumed = 0;
        }
    }

    /// Returns the unconsumed text.
    pub fn unconsumed(&self) -> &str {
        &self.text[self.consumed..]
    }

    /// Returns how many bytes of text were consumed (or dropped) since the start.
    pub fn consumed_total(&self) -> u64 {
        self.released + self.consumed as u64
    }

    /// Returns how many bytes were dropped for the cap without being matched.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Finds `regex` in the unconsumed text; on a match, consumes up to its end.
    pub fn take(&mut self, regex: &Regex) -> Option<Matched> {
        let rest = &self.text[self.consumed..];
        let caps = regex.captures(rest)?;
        let whole = caps.get(0)?;
        let captures = regex
            .capture_names()
            .flatten()
            .filter_map(|name| {
                caps.name(name)
                    .map(|m| (name.to_owned(), m.as_str().to_owned()))
            })
            .collect();
        let matched = Matched {
            text: whole.as_str().to_owned(),
            captures,
        };
        self.consumed += whole.end();
        Some(matched)
    }

    /// Returns true if `regex` matches the unconsumed text (consumes nothing).
    pub fn matches(&self, regex: &Regex) -> bool {
        regex.is_match(self.unconsumed())
    }

    /// Returns the last `max` characters of the unconsumed text.
    pub fn tail(&self, max: usize) -> &str {
        let rest = self.unconsumed();
        match rest.char_indices().rev().nth(max.saturating_sub(1)) {
            Some((at, _)) if max > 0 => &rest[at..],
            _ => rest,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re(pattern: &str) -> Regex {
        regex::RegexBuilder::new(pattern)
            .multi_line(true)
            .crlf(true)
            .build()
            .unwrap()
    }

    #[test]
    fn a_match_consumes_up_to_its_end() {
        let mut out = OutputBuffer::default();
        out.push("hello\nworld\n");
        assert_eq!(out.take(&re("^hello$")).unwrap().text, "hello");
        assert_eq!(out.unconsumed(), "\nworld\n");
        assert!(
            out.take(&re("^hello$")).is_none(),
            "consumed text does not match again"
        );
        assert_eq!(
            out.take(&re("^w(?<rest>.*)$")).unwrap().captures,
            vec![("rest".into(), "orld".into())]
        );
    }

    #[test]
    fn crlf_lines_match_with_dollar() {
        let mut out = OutputBuffer::default();
        out.push("+PONG\r\n");
        assert!(out.take(&re(r"^\+PONG$")).is_some());
    }

    #[test]
    fn many_expects_stay_linear_and_memory_bounded() {
        let mut out = OutputBuffer::default();
        let regex = re(r"^line \d+$");
        for n in 0..20_000 {
            out.push(&format!("line {n}\n"));
            assert!(out.take(&regex).is_some());
        }
        assert!(out.text.len() < 1 << 18, "consumed text is released");
    }

    #[test]
    fn the_tail_is_the_end_of_the_unconsumed_text() {
        let mut out = OutputBuffer::default();
        out.push("abcdé");
        assert_eq!(out.tail(2), "dé");
        assert_eq!(out.tail(100), "abcdé");
    }
}
