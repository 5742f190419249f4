//! Holds received text for `expect`: matches run over the unconsumed part, count only when final, and consume up to their end.
//!
//! Text arrives in pieces, so a match is taken only when more input cannot
//! change it, or when the stream has ended ([`crate::matcher`]): `$` waits
//! for the end of its line, `\d+` for the first non-digit. A [`Seek`]
//! keeps the matcher's place in one buffer across the arrivals of one wait,
//! so each piece is walked once.

use crate::matcher::{Found, Matcher, Scan};

/// Caps the unconsumed text kept per buffer; beyond it, the older half is
/// dropped (and counted).
pub const OUTPUT_CAP: usize = 16 << 20;

/// Holds one actor's received text and how much of it `expect` has consumed.
#[derive(Debug, Default)]
pub struct OutputBuffer {
    text: String,
    consumed: usize,
    /// How many bytes of text were let go from the front of `text`.
    released: u64,
    dropped: u64,
    /// The stream has ended (FIN, close, exit) and nothing arrived since:
    /// the text is matched as it is.
    ended: bool,
    /// How far (from the start) consumed text may be shown where it is held back.
    shown: u64,
}

/// Describes a successful match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    /// The matched text.
    pub text: String,
    /// The named groups that took part, as (name, value).
    pub captures: Vec<(String, String)>,
}

/// Says what a look at the unconsumed text found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Look<T> {
    /// A final match.
    Found(T),
    /// A match may be under way: more input decides. `text` is the
    /// unconsumed text from where the pending match could start.
    Pending {
        /// The text the pending match would start with.
        text: String,
    },
    /// No match (yet, unless the stream has ended).
    Nothing,
    /// Not decided yet: the text is long and its walk took its time slice;
    /// look again after letting other work run.
    Busy,
}

/// Keeps a matcher's place in one buffer during one wait, so that text
/// arriving in pieces is walked once.
#[derive(Debug)]
pub struct Seek {
    scan: Scan,
    /// Where the unconsumed text started when the walk began.
    base: u64,
}

impl Seek {
    /// Starts a walk with `matcher`.
    pub fn new(matcher: &Matcher) -> Self {
        Self {
            scan: matcher.scan(),
            base: u64::MAX,
        }
    }
}

impl OutputBuffer {
    /// Appends decoded text; the stream goes on.
    pub fn push(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        self.ended = false;
        self.text.push_str(text);
        let unconsumed = self.text.len() - self.consumed;
        if unconsumed > OUTPUT_CAP {
            // Down to half the cap: a match walks the rest again, so this
            // happens once per half a cap of new text, not per piece.
            let mut cut = self.text.len() - OUTPUT_CAP / 2;
            while !self.text.is_char_boundary(cut) {
                cut += 1;
            }
            self.dropped += (cut - self.consumed) as u64;
            self.consumed = cut;
            // Dropped text counts as consumed, and shows where it is held back.
            self.shown = self.shown.max(self.released + cut as u64);
        }
        // Keep memory proportional to what is unconsumed.
        if self.consumed > (1 << 16) && self.consumed > self.text.len() / 2 {
            self.text.drain(..self.consumed);
            self.released += self.consumed as u64;
            self.consumed = 0;
        }
    }

    /// Notes that the stream ended (FIN, close, exit): until more text
    /// arrives, `$` matches at the end and greedy repeats stop there.
    pub fn end(&mut self) {
        self.ended = true;
    }

    /// Returns true when the stream has ended and nothing arrived since.
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// Returns the unconsumed text.
    pub fn unconsumed(&self) -> &str {
        &self.text[self.consumed..]
    }

    /// Returns how many bytes of text were consumed (or dropped) since the start.
    pub fn consumed_total(&self) -> u64 {
        self.released + self.consumed as u64
    }

    /// Returns how many bytes of text, from the start, may be shown where
    /// output is held back: through the end of each match, and through the
    /// line break after it when the match needed that break to be final.
    pub fn shown_total(&self) -> u64 {
        self.shown
    }

    /// Returns how many bytes were dropped for the cap without being matched.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Looks for a final match of `matcher` in the unconsumed text; on one,
    /// consumes up to its end.
    pub fn take(&mut self, matcher: &Matcher, seek: &mut Seek) -> Look<Matched> {
        self.take_if(matcher, seek, false)
    }

    /// Looks for a final match, as [`Self::take`], in a line that has
    /// arrived whole (or whose stream has ended): readiness reads a line of
    /// output, so the line shows whole.
    pub fn take_line(&mut self, matcher: &Matcher, seek: &mut Seek) -> Look<Matched> {
        self.take_if(matcher, seek, true)
    }

    fn take_if(&mut self, matcher: &Matcher, seek: &mut Seek, whole_line: bool) -> Look<Matched> {
        let found = self.find(matcher, seek);
        let rest = &self.text[self.consumed..];
        let found = match found {
            Found::Match(found) => found,
            Found::Pending { from } => {
                return Look::Pending {
                    text: rest[from..].to_owned(),
                };
            }
            Found::None => return Look::Nothing,
            Found::Busy => return Look::Busy,
        };
        let after = &rest[found.end..];
        let shown = if whole_line {
            match after.find('\n') {
                Some(at) => found.end + at + 1,
                None if self.ended => rest.len(),
                None => {
                    return Look::Pending {
                        text: rest[found.start..].to_owned(),
                    };
                }
            }
        } else if found.looked_ahead {
            found.end + line_break(after)
        } else {
            found.end
        };
        let matched = Matched {
            text: rest[found.start..found.end].to_owned(),
            captures: found.captures,
        };
        let start = self.consumed_total();
        self.shown = self.shown.max(start + shown as u64);
        self.consumed += found.end;
        Look::Found(matched)
    }

    /// Looks for a final match of `matcher` in the unconsumed text, consuming nothing.
    pub fn look(&self, matcher: &Matcher, seek: &mut Seek) -> Look<()> {
        match self.find(matcher, seek) {
            Found::Match(_) => Look::Found(()),
            Found::Pending { from } => Look::Pending {
                text: self.unconsumed()[from..].to_owned(),
            },
            Found::None => Look::Nothing,
            Found::Busy => Look::Busy,
        }
    }

    /// Runs `matcher` over the unconsumed text, from where `seek` left off.
    fn find(&self, matcher: &Matcher, seek: &mut Seek) -> Found {
        let base = self.consumed_total();
        if seek.base != base {
            seek.scan.reset();
            seek.base = base;
        }
        matcher.find(&mut seek.scan, self.unconsumed().as_bytes(), self.ended)
    }

    /// Returns what a failed wait shows of the unconsumed text: its last
    /// `max` characters, or nothing when it is only the rest of the line an
    /// earlier match ended in (`expect: one` leaves the `\n` after `one`),
    /// which is no news; then true.
    pub fn news(&self, max: usize) -> (&str, bool) {
        let rest = self.unconsumed();
        let before = &self.text[..self.consumed];
        let mid_line = !before.is_empty()
            && !before.ends_with('\n')
            && (!before.ends_with('\r') || rest.starts_with('\n'));
        if mid_line {
            let end = rest
                .find(['\n', '\r'])
                .map_or(rest.len(), |at| at + line_break(&rest[at..]));
            if end == rest.len() {
                return ("", !rest.is_empty());
            }
        }
        (self.tail(max), false)
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

/// Returns the length of the line break `text` starts with (`\r\n`, `\n`
/// or `\r`), or 0.
fn line_break(text: &str) -> usize {
    if text.starts_with("\r\n") {
        2
    } else if text.starts_with(['\n', '\r']) {
        1
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re(pattern: &str) -> Matcher {
        Matcher::new(pattern).unwrap()
    }

    fn take(out: &mut OutputBuffer, pattern: &str) -> Look<Matched> {
        let matcher = re(pattern);
        out.take(&matcher, &mut Seek::new(&matcher))
    }

    fn taken(out: &mut OutputBuffer, pattern: &str) -> Option<Matched> {
        match take(out, pattern) {
            Look::Found(matched) => Some(matched),
            _ => None,
        }
    }

    #[test]
    fn a_match_consumes_up_to_its_end() {
        let mut out = OutputBuffer::default();
        out.push("hello\nworld\n");
        assert_eq!(taken(&mut out, "^hello$").unwrap().text, "hello");
        assert_eq!(out.unconsumed(), "\nworld\n");
        assert!(
            taken(&mut out, "^hello$").is_none(),
            "consumed text does not match again"
        );
        assert_eq!(
            taken(&mut out, "^w(?<rest>.*)$").unwrap().captures,
            vec![("rest".into(), "orld".into())]
        );
    }

    #[test]
    fn crlf_lines_match_with_dollar() {
        let mut out = OutputBuffer::default();
        out.push("+PONG\r\n");
        assert!(taken(&mut out, r"^\+PONG$").is_some());
    }

    #[test]
    fn a_line_not_yet_ended_is_pending_until_the_stream_ends() {
        let mut out = OutputBuffer::default();
        out.push("OK 1");
        assert_eq!(
            take(&mut out, "^OK 1$"),
            Look::Pending {
                text: "OK 1".into()
            }
        );
        out.end();
        assert!(taken(&mut out, "^OK 1$").is_some());
        // More text after an end: the stream goes on.
        let mut out = OutputBuffer::default();
        out.push("OK 1");
        out.end();
        out.push("0\n");
        assert!(!out.ended());
        assert!(taken(&mut out, "^OK 1$").is_none());
    }

    #[test]
    fn a_seek_walks_new_text_only_and_restarts_after_a_consumption() {
        let matcher = re(r"^count (?<n>\d+)");
        let mut seek = Seek::new(&matcher);
        let mut out = OutputBuffer::default();
        out.push("count 1");
        assert!(matches!(
            out.take(&matcher, &mut seek),
            Look::Pending { .. }
        ));
        out.push("0\nc");
        let Look::Found(matched) = out.take(&matcher, &mut seek) else {
            panic!()
        };
        assert_eq!(matched.captures, vec![("n".into(), "10".into())]);
        out.push("ount 7\n");
        let Look::Found(matched) = out.take(&matcher, &mut seek) else {
            panic!()
        };
        assert_eq!(matched.captures, vec![("n".into(), "7".into())]);
    }

    #[test]
    fn what_is_shown_ends_where_the_match_needed_to_look() {
        let mut out = OutputBuffer::default();
        out.push("ready\r\nnext\n");
        // A literal was final at its last byte: shown through it only.
        assert!(taken(&mut out, "ready").is_some());
        assert_eq!(out.shown_total(), 5);
        // `$` needed the line break: shown through it.
        let mut out = OutputBuffer::default();
        out.push("ready\r\nnext\n");
        assert!(taken(&mut out, "^ready$").is_some());
        assert_eq!(out.shown_total(), 7);
        // A whole line: through its line break.
        let mut out = OutputBuffer::default();
        let matcher = re("^rea");
        out.push("ready");
        assert!(matches!(
            out.take_line(&matcher, &mut Seek::new(&matcher)),
            Look::Pending { .. }
        ));
        out.push("\n");
        assert!(matches!(
            out.take_line(&matcher, &mut Seek::new(&matcher)),
            Look::Found(_)
        ));
        assert_eq!(out.shown_total(), 6);
    }

    #[test]
    fn many_expects_stay_linear_and_memory_bounded() {
        let mut out = OutputBuffer::default();
        let matcher = re(r"^line \d+$");
        let mut seek = Seek::new(&matcher);
        for n in 0..20_000 {
            out.push(&format!("line {n}\n"));
            assert!(matches!(out.take(&matcher, &mut seek), Look::Found(_)));
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
