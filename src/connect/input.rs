//! Turns raw stdin bytes into data to send and the quit command, one input path for every connection.

use bytes::{Bytes, BytesMut};

use crate::client::encoding::Encoding;

/// Caps one input line when lines must be decoded whole (base64, hex).
const MAX_LINE: usize = 1 << 20;

/// Lists what stdin asks of the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Bytes to send.
    Data(Bytes),
    /// The quit word, on a line of its own.
    Quit,
    /// A line that did not decode; it is not sent.
    Invalid { line: u64, reason: String },
}

/// Splits stdin into [`Input`]s: finds quit-word lines and decodes
/// base64 or hex lines, while passing plain bytes through unchanged and
/// without delay (a partial line is held back only while it could still
/// become the quit word; without a quit word, never).
#[derive(Debug)]
pub struct InputSplitter {
    /// The quit word, trimmed and lowercase; none: no line quits.
    quit_word: Option<String>,
    encoding: Encoding,
    /// The start of the current line, held back.
    held: BytesMut,
    /// The current line began before `held` and was already passed on.
    line_passed: bool,
    line_number: u64,
    quit: bool,
}

impl InputSplitter {
    /// Creates a splitter for `quit_word` (none: no line quits) and the `--send-encoding`.
    pub fn new(quit_word: Option<&str>, encoding: Encoding) -> Self {
        Self {
            quit_word: quit_word.map(|word| word.trim().to_lowercase()),
            encoding,
            held: BytesMut::new(),
            line_passed: false,
            line_number: 0,
            quit: false,
        }
    }

    /// Feeds one chunk of stdin, returning what it asks for. After `Quit`,
    /// all further input is ignored. Plain input is passed on as slices of
    /// `chunk`, without copying.
    pub fn feed(&mut self, chunk: Bytes) -> Vec<Input> {
        if matches!(self.encoding, Encoding::Base64 | Encoding::Hex) {
            return self.feed_lines(&chunk);
        }
        if self.quit || chunk.is_empty() {
            return Vec::new();
        }
        if self.quit_word.is_none() {
            // Nothing to look for: every byte goes on as it came.
            return vec![Input::Data(chunk)];
        }
        let mut out = Vec::new();
        let mut run = 0; // start of the pass-through run not yet emitted
        let mut pos = 0;
        while pos < chunk.len() && !self.quit {
            match memchr::memchr(b'\n', &chunk[pos..]) {
                Some(at) => {
                    let end = pos + at + 1;
                    self.line_number += 1;
                    let passed = std::mem::take(&mut self.line_passed);
                    if !self.held.is_empty() {
                        let mut whole = self.held.split();
                        whole.extend_from_slice(&chunk[pos..end]);
                        if !passed && self.is_quit(&whole) {
                            out.push(Input::Quit);
                            self.quit = true;
                            return out;
                        }
                        out.push(Input::Data(whole.freeze()));
                        run = end;
                    } else if !passed && self.is_quit(&chunk[pos..end]) {
                        push_slice(&chunk, run, pos, &mut out);
                        out.push(Input::Quit);
                        self.quit = true;
                        return out;
                    }
                    pos = end;
                }
                None => {
                    if !self.line_passed && self.held.is_empty() {
                        if self.could_become_quit(&chunk[pos..]) {
                            push_slice(&chunk, run, pos, &mut out);
                            self.held.extend_from_slice(&chunk[pos..]);
                            run = chunk.len();
                        } else {
                            self.line_passed = true;
                        }
                    } else if !self.line_passed {
                        // Held bytes from earlier chunks lead this line.
                        let mut start = self.held.split();
                        start.extend_from_slice(&chunk[pos..]);
                        if self.could_become_quit(&start) {
                            self.held = start;
                        } else {
                            out.push(Input::Data(start.freeze()));
                            self.line_passed = true;
                        }
                        run = chunk.len();
                    }
                    pos = chunk.len();
                }
            }
        }
        push_slice(&chunk, run, pos, &mut out);
        out
    }

    /// Feeds a chunk when every line must be decoded whole (base64, hex).
    fn feed_lines(&mut self, chunk: &[u8]) -> Vec<Input> {
        let mut out = Vec::new();
        let mut data = BytesMut::new();
        let mut rest = chunk;
        while !rest.is_empty() && !self.quit {
            match memchr::memchr(b'\n', rest) {
                Some(at) => {
                    let (line, tail) = rest.split_at(at + 1);
                    rest = tail;
                    self.line_number += 1;
                    self.complete_line(line, &mut data, &mut out);
                }
                None => {
                    self.partial_line(rest, &mut data, &mut out);
                    rest = &[];
                }
            }
        }
        flush(&mut data, &mut out);
        out
    }

    /// Ends the input: a held partial line is sent (or is the quit word).
    pub fn finish(&mut self) -> Vec<Input> {
        if self.quit || self.held.is_empty() {
            return Vec::new();
        }
        let held = self.held.split();
        let mut out = Vec::new();
        let mut data = BytesMut::new();
        self.line_number += 1;
        self.complete_line(&held, &mut data, &mut out);
        flush(&mut data, &mut out);
        out
    }

    fn complete_line(&mut self, line: &[u8], data: &mut BytesMut, out: &mut Vec<Input>) {
        let whole = if self.held.is_empty() {
            None
        } else {
            let mut whole = self.held.split();
            whole.extend_from_slice(line);
            Some(whole)
        };
        let line = whole.as_deref().unwrap_or(line);
        let passed = std::mem::take(&mut self.line_passed);
        if !passed && self.is_quit(line) {
            flush(data, out);
            out.push(Input::Quit);
            self.quit = true;
            return;
        }
        match self.encoding {
            Encoding::Base64 | Encoding::Hex => {
                let text = String::from_utf8_lossy(line);
                let text = text.trim();
                if text.is_empty() {
                    return;
                }
                match self.encoding.encode(text) {
                    Ok(bytes) => data.extend_from_slice(&bytes),
                    Err(error) => {
                        flush(data, out);
                        out.push(Input::Invalid {
                            line: self.line_number,
                            reason: error.to_string(),
                        });
                    }
                }
            }
            _ => data.extend_from_slice(line),
        }
    }

    fn partial_line(&mut self, part: &[u8], data: &mut BytesMut, out: &mut Vec<Input>) {
        if self.line_passed {
            return; // the rest of an over-long line, already reported
        }
        self.held.extend_from_slice(part);
        if self.held.len() > MAX_LINE {
            self.held.clear();
            self.line_passed = true;
            flush(data, out);
            out.push(Input::Invalid {
                line: self.line_number + 1,
                reason: format!("line longer than {MAX_LINE} bytes"),
            });
        }
    }

    fn is_quit(&self, line: &[u8]) -> bool {
        let Some(word) = &self.quit_word else {
            return false;
        };
        let trimmed = line.trim_ascii();
        if trimmed.len() > word.len() * 4 {
            return false; // too long to be the word in any case mapping
        }
        if word.is_ascii() {
            return trimmed.eq_ignore_ascii_case(word.as_bytes());
        }
        std::str::from_utf8(line).is_ok_and(|text| text.trim().to_lowercase() == *word)
    }

    /// Returns true while `start`, the start of a line, could still become
    /// the quit word; only such a start is held back.
    fn could_become_quit(&self, start: &[u8]) -> bool {
        let Some(word) = &self.quit_word else {
            return false;
        };
        if start.len() > word.len() + 64 {
            return false;
        }
        let text = match std::str::from_utf8(start) {
            Ok(text) => text,
            // A character cut in half at the end may still complete a
            // non-ASCII word; any other invalid byte is no word.
            Err(error) if error.error_len().is_none() && !word.is_ascii() => {
                std::str::from_utf8(&start[..error.valid_up_to()]).unwrap_or_default()
            }
            Err(_) => return false,
        };
        let text = text.trim_start().to_lowercase();
        let trimmed_end = text.trim_end();
        if trimmed_end.len() < text.len() {
            // Trailing white space: only the whole word may precede it.
            trimmed_end == word
        } else {
            word.starts_with(trimmed_end)
        }
    }
}

/// Turns every `\n` that no `\r` precedes into `\r\n` (`--crlf`), across
/// chunk boundaries.
#[derive(Debug, Default)]
pub struct Crlf {
    /// The last byte passed on was `\r`.
    after_cr: bool,
}

impl Crlf {
    /// Returns `data` with its line ends as CRLF (the same bytes, without a
    /// copy, when it has no bare `\n`).
    pub fn apply(&mut self, data: Bytes) -> Bytes {
        let mut after_cr = self.after_cr;
        let bare = data.iter().any(|&b| {
            let bare = b == b'\n' && !after_cr;
            after_cr = b == b'\r';
            bare
        });
        if !bare {
            self.after_cr = after_cr;
            return data;
        }
        let mut out = BytesMut::with_capacity(data.len() + data.len() / 8 + 1);
        for &b in data.iter() {
            if b == b'\n' && !self.after_cr {
                out.extend_from_slice(b"\r");
            }
            out.extend_from_slice(&[b]);
            self.after_cr = b == b'\r';
        }
        out.freeze()
    }
}

fn push_slice(chunk: &Bytes, from: usize, to: usize, out: &mut Vec<Input>) {
    if to > from {
        out.push(Input::Data(chunk.slice(from..to)));
    }
}

fn flush(data: &mut BytesMut, out: &mut Vec<Input>) {
    if !data.is_empty() {
        out.push(Input::Data(data.split().freeze()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(text: &str) -> Input {
        data_bytes(text.as_bytes())
    }

    fn data_bytes(bytes: &[u8]) -> Input {
        Input::Data(Bytes::copy_from_slice(bytes))
    }

    #[test]
    fn passes_lines_through_and_stops_at_the_quit_word() {
        let mut splitter = InputSplitter::new(Some("quit"), Encoding::Utf8);
        assert_eq!(
            splitter.feed(Bytes::from_static(b"hello\n  QUIT \r\nafter\n")),
            vec![data("hello\n"), Input::Quit]
        );
        assert_eq!(splitter.feed(Bytes::from_static(b"more\n")), vec![]);
    }

    #[test]
    fn quit_word_inside_a_line_is_data() {
        let mut splitter = InputSplitter::new(Some("quit"), Encoding::Utf8);
        assert_eq!(
            splitter.feed(Bytes::from_static(b"do not quit\n")),
            vec![data("do not quit\n")]
        );
    }

    #[test]
    fn partial_lines_are_sent_at_once_unless_they_may_be_the_quit_word() {
        let mut splitter = InputSplitter::new(Some("quit"), Encoding::Utf8);
        assert_eq!(splitter.feed(Bytes::from_static(b"abc")), vec![data("abc")]);
        assert_eq!(
            splitter.feed(Bytes::from_static(b"quit\n")),
            vec![data("quit\n")],
            "quit in mid-line"
        );
        assert_eq!(splitter.feed(Bytes::from_static(b"qu")), vec![]);
        assert_eq!(
            splitter.feed(Bytes::from_static(b"it\n")),
            vec![Input::Quit]
        );
    }

    #[test]
    fn a_held_prefix_that_turns_out_different_is_sent_whole() {
        let mut splitter = InputSplitter::new(Some("quit"), Encoding::Utf8);
        assert_eq!(splitter.feed(Bytes::from_static(b"qu")), vec![]);
        assert_eq!(
            splitter.feed(Bytes::from_static(b"een\n")),
            vec![data("queen\n")]
        );
        assert_eq!(splitter.feed(Bytes::from_static(b"qu")), vec![]);
        assert_eq!(splitter.finish(), vec![data("qu")]);
    }

    #[test]
    fn bytes_that_cannot_become_the_quit_word_are_never_held() {
        let mut splitter = InputSplitter::new(Some("quit"), Encoding::Utf8);
        let binary = Bytes::from_static(b"\x01\x02\x03\xff");
        assert_eq!(splitter.feed(binary.clone()), vec![Input::Data(binary)]);
        let mut splitter = InputSplitter::new(Some("quit"), Encoding::Utf8);
        assert_eq!(
            splitter.feed(Bytes::from_static(b"\xc3")),
            vec![data_bytes(b"\xc3")],
            "half a character is no start of an ASCII word"
        );
        let mut splitter = InputSplitter::new(Some("über"), Encoding::Utf8);
        assert_eq!(splitter.feed(Bytes::from_static(b"\xc3")), vec![]);
        assert_eq!(
            splitter.feed(Bytes::from_static(b"\xbcber\n")),
            vec![Input::Quit]
        );
    }

    #[test]
    fn without_a_quit_word_every_chunk_goes_on_at_once() {
        let mut splitter = InputSplitter::new(None, Encoding::Utf8);
        for chunk in [&b"qu"[..], b"it\n", b"QUIT\r\n", b"\xff"] {
            let chunk = Bytes::copy_from_slice(chunk);
            assert_eq!(splitter.feed(chunk.clone()), vec![Input::Data(chunk)]);
        }
        assert_eq!(splitter.finish(), vec![]);
        let mut splitter = InputSplitter::new(None, Encoding::Hex);
        assert_eq!(
            splitter.feed(Bytes::from_static(b"71756974\nquit\n")),
            vec![
                data("quit"),
                Input::Invalid {
                    line: 2,
                    reason: "invalid hex: Invalid character 'q' at position 0".into()
                }
            ]
        );
    }

    #[test]
    fn crlf_ends_bare_line_feeds_only_across_chunks() {
        let mut crlf = Crlf::default();
        let apply = |crlf: &mut Crlf, text: &'static [u8]| crlf.apply(Bytes::from_static(text));
        assert_eq!(
            apply(&mut crlf, b"PING\nQUIT\r\n"),
            &b"PING\r\nQUIT\r\n"[..]
        );
        assert_eq!(apply(&mut crlf, b"a\r"), &b"a\r"[..]);
        assert_eq!(apply(&mut crlf, b"\nb\n\n"), &b"\nb\r\n\r\n"[..]);
    }

    #[test]
    fn decodes_base64_and_hex_lines() {
        let mut splitter = InputSplitter::new(Some("quit"), Encoding::Base64);
        assert_eq!(
            splitter.feed(Bytes::from_static(b"SGVs\nbG8=\n")),
            vec![data("Hello")]
        );
        let mut splitter = InputSplitter::new(Some("quit"), Encoding::Hex);
        assert_eq!(
            splitter.feed(Bytes::from_static(b"6869\nzz\n21\n")),
            vec![
                data("hi"),
                Input::Invalid {
                    line: 2,
                    reason: "invalid hex: Invalid character 'z' at position 0".into()
                },
                data("!")
            ]
        );
    }
}
