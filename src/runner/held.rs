//! Holds a program's output back from the transcript until a step consumes it, so where it shows does not depend on when it arrived.
//!
//! A program's output has no causal link tcprun can see to the other events:
//! the same line may reach tcprun before or after the server notices the
//! connection the program made. The transcript therefore shows program output
//! where the scenario synchronises on it: when an `expect` (or
//! `server_expect`, or a `ready: {log: ...}`) consumes it, up to the end of
//! the line the match ended in; output nothing consumes shows when the program
//! exits or the scenario ends.

use std::collections::VecDeque;

use crate::event::Pipe;

/// Caps the text held per program stream; older text is released at once.
pub const HELD_CAP: usize = 1 << 20;

/// Holds one program's decoded output, in arrival order, with the pipe each
/// piece came from. Positions count bytes of text from the program's start,
/// the way [`super::output::OutputBuffer`] counts what it consumed.
#[derive(Debug, Default)]
pub struct Held {
    pieces: VecDeque<(Pipe, String)>,
    /// The position of the first held byte.
    start: u64,
    /// How many bytes are held.
    len: usize,
}

impl Held {
    /// Appends text from `pipe`.
    pub fn push(&mut self, pipe: Pipe, text: &str) {
        if text.is_empty() {
            return;
        }
        match self.pieces.back_mut() {
            Some((last, held)) if *last == pipe => held.push_str(text),
            _ => self.pieces.push_back((pipe, text.to_owned())),
        }
        self.len += text.len();
    }

    /// Releases what was consumed up to position `consumed`, through the end
    /// of the line the consumption ended in if that line has arrived whole.
    pub fn release_consumed(&mut self, consumed: u64) -> Vec<(Pipe, String)> {
        if consumed <= self.start {
            return Vec::new();
        }
        let last = consumed - 1 - self.start;
        let mut to = consumed;
        let mut offset = 0u64;
        for (_, text) in &self.pieces {
            let end = offset + text.len() as u64;
            if end > last {
                let from = last.saturating_sub(offset) as usize;
                if let Some(newline) = text.as_bytes()[from..].iter().position(|&b| b == b'\n') {
                    to = self.start + offset + (from + newline) as u64 + 1;
                    break;
                }
            }
            offset = end;
        }
        self.release_to(to)
    }

    /// Releases everything held.
    pub fn release_all(&mut self) -> Vec<(Pipe, String)> {
        self.release_to(self.start + self.len as u64)
    }

    /// Releases the oldest text beyond [`HELD_CAP`].
    pub fn release_overflow(&mut self) -> Vec<(Pipe, String)> {
        if self.len <= HELD_CAP {
            return Vec::new();
        }
        self.release_to(self.start + (self.len - HELD_CAP) as u64)
    }

    /// Releases the held text before position `to` (cut at a character boundary).
    fn release_to(&mut self, to: u64) -> Vec<(Pipe, String)> {
        let mut released = Vec::new();
        let mut want = to.saturating_sub(self.start) as usize;
        while want > 0 {
            let Some((pipe, text)) = self.pieces.front_mut() else {
                break;
            };
            if text.len() <= want {
                want -= text.len();
                self.start += text.len() as u64;
                self.len -= text.len();
                if let Some(piece) = self.pieces.pop_front() {
                    released.push(piece);
                }
                continue;
            }
            let mut cut = want;
            while !text.is_char_boundary(cut) {
                cut += 1;
            }
            let rest = text.split_off(cut);
            let head = std::mem::replace(text, rest);
            self.start += head.len() as u64;
            self.len -= head.len();
            released.push((*pipe, head));
            break;
        }
        released
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(released: Vec<(Pipe, String)>) -> Vec<(&'static str, String)> {
        released
            .into_iter()
            .map(|(pipe, text)| (pipe.name(), text))
            .collect()
    }

    #[test]
    fn a_consumption_releases_through_the_end_of_its_line() {
        let mut held = Held::default();
        held.push(Pipe::Stdout, "connected\nhello ");
        held.push(Pipe::Stdout, "world\nmore\n");
        // `^connected$` ends before the newline.
        assert_eq!(
            texts(held.release_consumed(9)),
            vec![("stdout", "connected\n".to_owned())]
        );
        // `hello` ends mid-line: the line goes out whole.
        assert_eq!(
            texts(held.release_consumed(15)),
            vec![("stdout", "hello world\n".to_owned())]
        );
        assert!(
            held.release_consumed(15).is_empty(),
            "released text goes once"
        );
        assert_eq!(
            texts(held.release_all()),
            vec![("stdout", "more\n".to_owned())]
        );
        assert_eq!(held.len, 0);
    }

    #[test]
    fn pipes_keep_their_order_and_a_partial_line_waits() {
        let mut held = Held::default();
        held.push(Pipe::Stderr, "error\n");
        held.push(Pipe::Stdout, "out\n");
        held.push(Pipe::Stderr, "par");
        assert_eq!(
            texts(held.release_consumed(12)),
            vec![
                ("stderr", "error\n".to_owned()),
                ("stdout", "out\n".to_owned()),
                ("stderr", "pa".to_owned()),
            ]
        );
        held.push(Pipe::Stderr, "tial\n");
        assert_eq!(
            texts(held.release_consumed(13)),
            vec![("stderr", "rtial\n".to_owned())]
        );
    }

    #[test]
    fn a_cut_never_splits_a_character() {
        let mut held = Held::default();
        held.push(Pipe::Stdout, "é");
        assert_eq!(held.release_to(1), vec![(Pipe::Stdout, "é".to_owned())]);
    }

    #[test]
    fn held_text_stays_under_the_cap() {
        let mut held = Held::default();
        held.push(Pipe::Stdout, &"x".repeat(HELD_CAP + 10));
        let released = held.release_overflow();
        assert_eq!(released[0].1.len(), 10);
        assert_eq!(held.len, HELD_CAP);
        assert!(held.release_overflow().is_empty());
    }
}
