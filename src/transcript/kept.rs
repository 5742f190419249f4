//! Keeps a transcript's lines within bounds: the first lines whole, then the last ones, and counts what is elided between.
//!
//! A peer that floods, or a client that retries without pause, produces
//! lines without end. The transcript keeps its first [`HEAD_BYTES`] (or
//! [`HEAD_LINES`] lines), then only the last [`TAIL_LINES`] (at most
//! [`TAIL_BYTES`]), and says between the two how many lines and bytes it
//! left out: `… 3,149,873 more lines (123,456,789 bytes)`.

use std::collections::VecDeque;

use super::mask::Line;

/// Caps the bytes of the lines kept from the start.
pub const HEAD_BYTES: usize = 1 << 20;
/// Caps the lines kept from the start.
pub const HEAD_LINES: usize = 20_000;
/// Caps the lines kept from the end, once the start is full.
pub const TAIL_LINES: usize = 2_000;
/// Caps the bytes of the lines kept from the end.
pub const TAIL_BYTES: usize = 256 << 10;

/// Holds the lines of one transcript within the bounds above.
#[derive(Debug, Default)]
pub struct Kept {
    head: Vec<Line>,
    head_bytes: usize,
    /// The head is full: later lines go to the tail.
    full: bool,
    tail: VecDeque<Line>,
    tail_bytes: usize,
    elided_lines: u64,
    elided_bytes: u64,
    /// How many head lines were streamed live.
    streamed: usize,
    /// The live stream was told that lines are elided.
    told: bool,
}

impl Kept {
    /// Appends a line.
    pub fn push(&mut self, line: Line) {
        let size = line.text.len();
        if !self.full && self.head.len() < HEAD_LINES && self.head_bytes + size <= HEAD_BYTES {
            self.head_bytes += size;
            self.head.push(line);
            return;
        }
        self.full = true;
        self.tail_bytes += size;
        self.tail.push_back(line);
        while self.tail.len() > TAIL_LINES || (self.tail_bytes > TAIL_BYTES && self.tail.len() > 1)
        {
            if let Some(old) = self.tail.pop_front() {
                self.tail_bytes -= old.text.len();
                self.elided_lines += 1;
                self.elided_bytes += old.text.len() as u64 + 1;
            }
        }
    }

    /// Returns the kept lines' text, with a line saying what was elided
    /// where it was; `text` gives each line's text (masked as wanted).
    pub fn render(&self, text: impl Fn(&Line) -> String) -> Vec<String> {
        let mut lines: Vec<String> = self.head.iter().map(&text).collect();
        if self.elided_lines > 0 {
            lines.push(self.elision());
        }
        lines.extend(self.tail.iter().map(&text));
        lines
    }

    /// Returns the kept lines, to change them in place (a new mask).
    pub fn lines_mut(&mut self) -> impl Iterator<Item = &mut Line> {
        self.head.iter_mut().chain(self.tail.iter_mut())
    }

    /// Returns the lines to stream live that were not streamed before: the
    /// head's, then once one line saying that later lines are elided.
    pub fn unstreamed(&mut self) -> Vec<String> {
        let start = self.streamed;
        self.streamed = self.head.len();
        let mut lines: Vec<String> = self.head[start..].iter().map(|l| l.text.clone()).collect();
        if self.full && !self.told {
            self.told = true;
            lines.push(format!(
                "… (the transcript is over {} lines or {} bytes: the rest is elided, its last lines come with the report)",
                thousands(HEAD_LINES as u64),
                thousands(HEAD_BYTES as u64)
            ));
        }
        lines
    }

    /// Returns the line that stands for the elided lines.
    fn elision(&self) -> String {
        format!(
            "… {} more {} ({} bytes)",
            thousands(self.elided_lines),
            if self.elided_lines == 1 {
                "line"
            } else {
                "lines"
            },
            thousands(self.elided_bytes)
        )
    }
}

/// Writes `n` with commas between thousands: `3,149,873`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str) -> Line {
        Line {
            text: text.to_owned(),
            payload: None,
        }
    }

    #[test]
    fn keeps_the_head_and_the_tail_and_counts_what_is_between() {
        let mut kept = Kept::default();
        let total = HEAD_LINES + TAIL_LINES + 5;
        for n in 0..total {
            kept.push(line(&format!("line {n}")));
        }
        let lines = kept.render(|l| l.text.clone());
        assert_eq!(lines.len(), HEAD_LINES + 1 + TAIL_LINES);
        assert_eq!(lines[0], "line 0");
        assert_eq!(lines[HEAD_LINES - 1], format!("line {}", HEAD_LINES - 1));
        assert_eq!(lines[HEAD_LINES], "… 5 more lines (55 bytes)");
        assert_eq!(lines.last().unwrap(), &format!("line {}", total - 1));
    }

    #[test]
    fn a_long_line_fills_the_head_by_bytes() {
        let mut kept = Kept::default();
        kept.push(line(&"x".repeat(HEAD_BYTES)));
        kept.push(line("next"));
        assert_eq!(kept.render(|l| l.text.clone()).len(), 2);
        assert!(kept.full);
        let streamed = kept.unstreamed();
        assert_eq!(streamed.len(), 2, "the head line and the notice");
        assert!(kept.unstreamed().is_empty());
    }

    #[test]
    fn writes_thousands_with_commas() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(3_149_873), "3,149,873");
        assert_eq!(thousands(123_456_789), "123,456,789");
    }
}
