//! Holds a program's output back from the transcript until a step consumes it, so where it shows does not depend on when it arrived.
//!
//! A program's output has no causal link tcprun can see to the other events:
//! the same line may reach tcprun before or after the server notices the
//! connection the program made. The transcript therefore shows program output
//! where the scenario synchronises on it: when an `expect` (or
//! `server_expect`, or a `ready: {log: ...}`) consumes it, through the end of
//! the match, and the line break after it when the match needed to see it
//! (a `$`): both are the same however the output arrived. Readiness reads a
//! whole line. Output nothing consumes shows when the program exits or the
//! scenario ends.

use std::collections::VecDeque;

use super::state::{Decoded, State};
use crate::event::{Pipe, ProgramEvent};
use crate::scenario::OutputStream;
use crate::transcript::{Stream, Track};

/// Caps the text held per program stream; older text is released at once.
pub const HELD_CAP: usize = 1 << 20;

/// Holds one program's decoded output, in arrival order, with the pipe each
/// piece came from. Positions count bytes of text from the program's start,
/// the way [`crate::runner::output::OutputBuffer`] counts what it consumed.
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

    /// Releases what a step consumed and may show: the text before
    /// position `shown` (see [`OutputBuffer::shown_total`]).
    ///
    /// [`OutputBuffer::shown_total`]: crate::runner::output::OutputBuffer::shown_total
    pub fn release_shown(&mut self, shown: u64) -> Vec<(Pipe, String)> {
        self.release_to(shown)
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

/// Lists released text, in the order it is shown: a program's output, or
/// what a built-in client received from a peer tcprun cannot settle.
pub type Released = Vec<(Stream, String)>;

/// Holds one client's text back: a program's output (what `expect` reads,
/// and a separate stderr), or what a built-in client received.
#[derive(Debug, Default)]
struct ClientHeld {
    output: Held,
    stderr: Held,
    received: Held,
}

impl ClientHeld {
    fn stream(&mut self, stream: OutputStream) -> &mut Held {
        match stream {
            OutputStream::Stdout => &mut self.output,
            OutputStream::Stderr => &mut self.stderr,
        }
    }

    /// Releases with `release`, in order: output, stderr, then received text.
    fn release(
        &mut self,
        index: usize,
        release: impl Fn(&mut Held) -> Vec<(Pipe, String)>,
    ) -> Released {
        let track = Track::Client(index);
        let mut pieces = program_pieces(track, release(&mut self.output));
        pieces.extend(program_pieces(track, release(&mut self.stderr)));
        pieces.extend(received_pieces(index, release(&mut self.received)));
        pieces
    }
}

/// Holds programs' output, and what built-in clients receive from peers
/// tcprun cannot settle, back from the transcript until a step consumes
/// it, the stream ends, or the scenario ends.
#[derive(Debug)]
pub struct HeldOutput {
    clients: Vec<ClientHeld>,
    server: Held,
    /// A server program's output goes into the transcript.
    server_shown: bool,
}

impl HeldOutput {
    /// Creates the held output of `clients` clients and the server;
    /// `server_shown`: a server program's output goes into the transcript.
    pub fn new(clients: usize, server_shown: bool) -> Self {
        Self {
            clients: (0..clients).map(|_| ClientHeld::default()).collect(),
            server: Held::default(),
            server_shown,
        }
    }

    /// Folds client program `index`'s event with the output it `decoded`;
    /// returns what is released now: the oldest output beyond the cap, or
    /// everything at its exit.
    pub fn client_event(
        &mut self,
        index: usize,
        event: &ProgramEvent,
        decoded: Vec<Decoded>,
    ) -> Released {
        let held = &mut self.clients[index];
        for piece in decoded {
            held.stream(piece.stream).push(piece.pipe, &piece.text);
        }
        match event {
            ProgramEvent::Output { .. } => held.release(index, Held::release_overflow),
            ProgramEvent::Exited { .. } => held.release(index, Held::release_all),
            ProgramEvent::Started { .. }
            | ProgramEvent::Input { .. }
            | ProgramEvent::StdinClosed
            | ProgramEvent::Signalled { .. }
            | ProgramEvent::Ready => Vec::new(),
        }
    }

    /// Holds `text` that built-in client `index` received (decoded);
    /// returns what is released now: the oldest text beyond the cap.
    pub fn received(&mut self, index: usize, text: &str) -> Released {
        let held = &mut self.clients[index];
        held.received.push(Pipe::Stdout, text);
        held.release(index, Held::release_overflow)
    }

    /// Returns where the text built-in client `index` received and still
    /// holds starts and ends: positions in all it received.
    pub fn received_span(&self, index: usize) -> (u64, u64) {
        let held = &self.clients[index].received;
        (held.start, held.start + held.len as u64)
    }

    /// Releases everything built-in client `index` received (its
    /// connection ended: nothing more comes on it).
    pub fn received_ended(&mut self, index: usize) -> Released {
        self.clients[index].release(index, Held::release_all)
    }

    /// Folds the server program's event with the output it `decoded`;
    /// returns what is released now, as [`Self::client_event`] does.
    pub fn server_event(
        &mut self,
        event: &ProgramEvent,
        decoded: Option<(Pipe, String)>,
    ) -> Released {
        let released = match event {
            ProgramEvent::Output { .. } if self.server_shown => {
                if let Some((pipe, text)) = decoded {
                    self.server.push(pipe, &text);
                }
                self.server.release_overflow()
            }
            ProgramEvent::Exited { .. } => self.server.release_all(),
            ProgramEvent::Output { .. }
            | ProgramEvent::Started { .. }
            | ProgramEvent::Input { .. }
            | ProgramEvent::StdinClosed
            | ProgramEvent::Signalled { .. }
            | ProgramEvent::Ready => Vec::new(),
        };
        server_pieces(released)
    }

    /// Releases the text steps consumed (as `state` says): through the
    /// end of each match, and the line break after it when the match needed it.
    pub fn release_consumed(&mut self, state: &State) -> Released {
        let mut released = Vec::new();
        for (index, held) in self.clients.iter_mut().enumerate() {
            let client = state.client(index);
            let track = Track::Client(index);
            // A program's output and a built-in client's received text are
            // both what `expect` reads; a program's stderr has its own buffer.
            let (output, stderr) = (client.output.shown_total(), client.stderr.shown_total());
            released.extend(program_pieces(track, held.output.release_shown(output)));
            released.extend(program_pieces(track, held.stderr.release_shown(stderr)));
            released.extend(received_pieces(index, held.received.release_shown(output)));
        }
        if self.server_shown {
            let server = state.server();
            let shown = server
                .log
                .shown_total()
                .max(server.program_output.shown_total());
            released.extend(server_pieces(self.server.release_shown(shown)));
        }
        released
    }

    /// Releases everything held (the scenario ends).
    pub fn release_all(&mut self) -> Released {
        let mut released: Released = Vec::new();
        for (index, held) in self.clients.iter_mut().enumerate() {
            released.extend(held.release(index, Held::release_all));
        }
        released.extend(server_pieces(self.server.release_all()));
        released
    }
}

/// Tags the server program's released pieces with their streams.
fn server_pieces(pieces: Vec<(Pipe, String)>) -> Released {
    program_pieces(Track::Server, pieces)
}

/// Tags the released pieces of the program on `track` with their streams.
fn program_pieces(track: Track, pieces: Vec<(Pipe, String)>) -> Released {
    pieces
        .into_iter()
        .map(|(pipe, text)| (Stream::Program(track, pipe), text))
        .collect()
}

/// Tags the released text built-in client `index` received.
fn received_pieces(index: usize, pieces: Vec<(Pipe, String)>) -> Released {
    pieces
        .into_iter()
        .map(|(_, text)| (Stream::ClientIn(index), text))
        .collect()
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
    fn what_is_shown_is_released_once_and_in_order() {
        let mut held = Held::default();
        held.push(Pipe::Stdout, "connected\nhello ");
        held.push(Pipe::Stdout, "world\nmore\n");
        // `^connected$` needed the line break: shown through it.
        assert_eq!(
            texts(held.release_shown(10)),
            vec![("stdout", "connected\n".to_owned())]
        );
        // `hello` was final at its last byte: shown through it only.
        assert_eq!(
            texts(held.release_shown(15)),
            vec![("stdout", "hello".to_owned())]
        );
        assert!(held.release_shown(15).is_empty(), "released text goes once");
        assert_eq!(
            texts(held.release_all()),
            vec![("stdout", " world\nmore\n".to_owned())]
        );
        assert_eq!(held.len, 0);
    }

    #[test]
    fn pipes_keep_their_order() {
        let mut held = Held::default();
        held.push(Pipe::Stderr, "error\n");
        held.push(Pipe::Stdout, "out\n");
        held.push(Pipe::Stderr, "par");
        assert_eq!(
            texts(held.release_shown(12)),
            vec![
                ("stderr", "error\n".to_owned()),
                ("stdout", "out\n".to_owned()),
                ("stderr", "pa".to_owned()),
            ]
        );
        held.push(Pipe::Stderr, "tial\n");
        assert_eq!(
            texts(held.release_shown(18)),
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
