//! Orders the items of one window — lines and blocks of bytes — by cause, then by actor, and renders them as lines.

use std::collections::HashMap;
use std::sync::Arc;

use super::mask::Line;
use super::text::{render, render_decoded};
use crate::client::encoding::Encoding;
use crate::event::{Direction, Pipe};

/// Names an actor line of the transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Track {
    /// The server as a whole (listening, killed, ...).
    Server,
    /// A client, by index.
    Client(usize),
    /// One server connection, by number.
    Conn(u32),
    /// A proxy as a whole (listening, down, faults added), by index.
    Proxy(usize),
    /// One connection of a proxy: (proxy, connection number).
    ProxyConn(usize, u32),
}

/// Names one direction of bytes of one actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// Bytes a client sent.
    ClientOut(usize),
    /// Bytes a client received.
    ClientIn(usize),
    /// Bytes a server connection received.
    ConnIn(u32),
    /// Bytes a server connection sent.
    ConnOut(u32),
    /// Bytes of a program's standard stream (stdin: what tcprun wrote to it).
    Program(Track, Pipe),
    /// Bytes a proxy connection passed on in a direction: (proxy, connection, direction).
    ProxyOut(usize, u32, Direction),
    /// Bytes a proxy connection discarded in a direction.
    ProxyDropped(usize, u32, Direction),
}

impl Stream {
    fn track(self) -> Track {
        match self {
            Stream::ClientOut(i) | Stream::ClientIn(i) => Track::Client(i),
            Stream::ConnIn(c) | Stream::ConnOut(c) => Track::Conn(c),
            Stream::Program(track, _) => track,
            Stream::ProxyOut(p, c, _) | Stream::ProxyDropped(p, c, _) => Track::ProxyConn(p, c),
        }
    }

    fn arrow(self) -> &'static str {
        match self {
            Stream::ClientOut(_) | Stream::ConnOut(_) => ">",
            Stream::ClientIn(_) | Stream::ConnIn(_) => "<",
            Stream::Program(_, pipe) => pipe.name(),
            Stream::ProxyOut(_, _, Direction::ToServer) => "> server",
            Stream::ProxyOut(_, _, Direction::ToClient) => "> client",
            Stream::ProxyDropped(_, _, Direction::ToServer) => "dropped to_server",
            Stream::ProxyDropped(_, _, Direction::ToClient) => "dropped to_client",
        }
    }
}

/// Says how a block of bytes is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Show {
    /// As text in this encoding, split into lines, escaped.
    Text(Encoding),
    /// Bytes that are text already decoded from this encoding (held text):
    /// shown as [`Show::Text`] would show the bytes it came from.
    Decoded(Encoding),
    /// As a byte count only (the sink server).
    Count,
}

/// Renders a block's bytes as `show` says.
fn render_shown(bytes: &[u8], show: Show) -> Vec<String> {
    match show {
        Show::Text(encoding) => render(bytes, encoding),
        Show::Decoded(encoding) => render_decoded(&String::from_utf8_lossy(bytes), encoding),
        Show::Count => Vec::new(),
    }
}

/// Holds one item of a window: a finished line or a block of bytes.
#[derive(Debug)]
struct Item {
    track: Track,
    clock: u32,
    seq: usize,
    body: Body,
}

#[derive(Debug)]
enum Body {
    Line(String),
    /// Lines of one group ([`Group`]), each with its payload from byte
    /// `at` of its text, in the order they came.
    Group {
        group: Group,
        lines: Vec<(String, usize)>,
        /// Lines beyond [`GROUP_CAP`], counted: (lines, payload bytes).
        more: (u64, u64),
    },
    Block {
        stream: Stream,
        bytes: Vec<u8>,
        total: u64,
        show: Show,
        /// Generated data: shown as this summary, not its bytes.
        summary: Option<Arc<str>>,
    },
}

/// Caps the bytes kept of one block for display.
const BLOCK_CAP: usize = 64 * 1024;

/// Caps the lines kept of one group for display.
const GROUP_CAP: usize = 10_000;

/// Names lines that, within a window, form one item as the bytes of a
/// stream do: the frames of a stream, a rules server's verdicts on a
/// connection. So how TCP cut a stream, and how the server's reads cut it,
/// never shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Group {
    /// The frames (and junk) of a stream: `client < frame(9) "PONG!"`.
    Frames(Stream),
    /// A line of one frame of a stream, alone (the partial frame a stream
    /// ended in, caused by what ended it).
    Frame(Stream),
    /// A rules server's verdicts on one connection's frames:
    /// `server[client]: rule ehlo (smtp.yaml:7) matched "EHLO x"`.
    Verdicts(u32),
}

impl Group {
    fn track(self) -> Track {
        match self {
            Group::Frames(stream) | Group::Frame(stream) => stream.track(),
            Group::Verdicts(conn) => Track::Conn(conn),
        }
    }
}

/// Gathers the items of the current window and orders them when it closes.
#[derive(Debug, Default)]
pub struct Window {
    items: Vec<Item>,
    /// The open block of each stream in this window.
    blocks: HashMap<Stream, usize>,
    /// The open item of each group in this window.
    groups: HashMap<Group, usize>,
    /// The clock of the last item of each track.
    last: HashMap<Track, u32>,
    /// The clock of the item before, within the batch being added.
    batch_clock: u32,
}

impl Window {
    /// Starts a new batch: items added until the next call follow one another.
    pub fn begin_batch(&mut self) {
        self.batch_clock = 0;
    }

    /// Returns the clock of `stream`'s block in this window, if any.
    pub fn block_clock(&self, stream: Stream) -> Option<u32> {
        self.blocks
            .get(&stream)
            .or_else(|| self.groups.get(&Group::Frames(stream)))
            .map(|&i| self.items[i].clock)
    }

    /// Adds a line for `track`, caused also by the item with clock `cause`; returns its clock.
    pub fn line(&mut self, track: Track, cause: Option<u32>, text: String) -> u32 {
        self.push(track, cause, Body::Line(text))
    }

    /// Adds a line to `group`'s item in this window (opening it, caused by
    /// `cause`, if it is the first; [`Group::Frame`] always opens one): its
    /// text holds payload from byte `at` (where captured values are
    /// masked). Returns the item's clock.
    pub fn grouped(&mut self, group: Group, cause: Option<u32>, text: String, at: usize) -> u32 {
        if let Some(&index) = self.groups.get(&group) {
            let item = &mut self.items[index];
            if let Body::Group { lines, more, .. } = &mut item.body {
                if lines.len() < GROUP_CAP {
                    lines.push((text, at));
                } else {
                    more.0 += 1;
                    more.1 += (text.len() - at) as u64;
                }
            }
            self.batch_clock = self.batch_clock.max(item.clock);
            return item.clock;
        }
        let body = Body::Group {
            group,
            lines: vec![(text, at)],
            more: (0, 0),
        };
        let clock = self.push(group.track(), cause, body);
        if !matches!(group, Group::Frame(_)) {
            self.groups.insert(group, self.items.len() - 1);
        }
        clock
    }

    /// Adds bytes to `stream`'s block in this window (opening it, caused by
    /// `cause`, if it is the first); returns the block's clock.
    pub fn bytes(&mut self, stream: Stream, cause: Option<u32>, data: &[u8], show: Show) -> u32 {
        self.add_bytes(stream, cause, data, show, None)
    }

    /// Adds generated data to `stream`, shown as `summary` instead of its
    /// bytes: the rest of the same data (a write cut short) joins its line;
    /// other bytes start a block of their own.
    pub fn summarized(&mut self, stream: Stream, data: &[u8], summary: &Arc<str>) -> u32 {
        self.add_bytes(stream, None, data, Show::Count, Some(summary))
    }

    fn add_bytes(
        &mut self,
        stream: Stream,
        cause: Option<u32>,
        data: &[u8],
        show: Show,
        summary: Option<&Arc<str>>,
    ) -> u32 {
        if let Some(&index) = self.blocks.get(&stream) {
            let item = &mut self.items[index];
            if let Body::Block {
                bytes,
                total,
                summary: open,
                ..
            } = &mut item.body
                && open.as_ref() == summary
            {
                if summary.is_none() {
                    let room = BLOCK_CAP.saturating_sub(bytes.len());
                    bytes.extend_from_slice(&data[..data.len().min(room)]);
                }
                *total += data.len() as u64;
                self.batch_clock = self.batch_clock.max(item.clock);
                return item.clock;
            }
        }
        let bytes = match summary {
            Some(_) => Vec::new(),
            None => data[..data.len().min(BLOCK_CAP)].to_vec(),
        };
        let clock = self.push(
            stream.track(),
            cause,
            Body::Block {
                stream,
                bytes,
                total: data.len() as u64,
                show,
                summary: summary.cloned(),
            },
        );
        self.blocks.insert(stream, self.items.len() - 1);
        clock
    }

    fn push(&mut self, track: Track, cause: Option<u32>, body: Body) -> u32 {
        let previous = self.last.get(&track).copied().unwrap_or(0);
        let clock = previous.max(self.batch_clock).max(cause.unwrap_or(0)) + 1;
        self.last.insert(track, clock);
        self.batch_clock = clock;
        let seq = self.items.len();
        self.items.push(Item {
            track,
            clock,
            seq,
            body,
        });
        clock
    }

    /// Returns true when nothing was added since the last close.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Closes the window: returns its lines in canonical order. `name` names
    /// each track; `rank` orders independent tracks.
    pub fn close(
        &mut self,
        name: impl Fn(Track) -> String,
        rank: impl Fn(Track) -> (u8, u32),
    ) -> Vec<Line> {
        let mut items = std::mem::take(&mut self.items);
        self.blocks.clear();
        self.groups.clear();
        self.last.clear();
        self.batch_clock = 0;
        items.sort_by_key(|item| (item.clock, rank(item.track), item.seq));
        let mut lines = Vec::new();
        for item in items {
            let who = name(item.track);
            match item.body {
                Body::Line(text) => lines.push(Line {
                    text: format!("{who}: {text}"),
                    payload: None,
                }),
                Body::Group {
                    group,
                    lines: grouped,
                    more,
                } => {
                    let prefix = match group {
                        Group::Frames(stream) | Group::Frame(stream) => {
                            format!("{who} {} ", stream.arrow())
                        }
                        Group::Verdicts(_) => format!("{who}: "),
                    };
                    for (text, at) in grouped {
                        lines.push(Line {
                            payload: Some(prefix.len() + at),
                            text: format!("{prefix}{text}"),
                        });
                    }
                    if more.0 > 0 {
                        lines.push(Line {
                            text: format!("{prefix}... ({} more, {} bytes)", more.0, more.1),
                            payload: None,
                        });
                    }
                }
                Body::Block {
                    stream,
                    bytes,
                    total,
                    show,
                    summary,
                } => {
                    let arrow = stream.arrow();
                    if let Some(summary) = summary {
                        lines.push(Line {
                            text: format!("{who} {arrow} {summary}"),
                            payload: None,
                        });
                        continue;
                    }
                    match show {
                        Show::Count => lines.push(Line {
                            text: format!("{who} {arrow} ({total} bytes)"),
                            payload: None,
                        }),
                        Show::Text(_) | Show::Decoded(_) => {
                            let prefix = format!("{who} {arrow} ");
                            for piece in render_shown(&bytes, show) {
                                lines.push(Line {
                                    text: format!("{prefix}{piece}"),
                                    payload: Some(prefix.len()),
                                });
                            }
                            let shown = bytes.len() as u64;
                            if total > shown {
                                lines.push(Line {
                                    text: format!("{prefix}... ({} more bytes)", total - shown),
                                    payload: None,
                                });
                            }
                        }
                    }
                }
            }
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(lines: Vec<Line>) -> Vec<String> {
        lines.into_iter().map(|line| line.text).collect()
    }

    fn names(track: Track) -> String {
        match track {
            Track::Server => "server".into(),
            Track::Client(i) => ["alice", "bob"][i].into(),
            Track::Conn(c) => format!("server[{c}]"),
            Track::Proxy(_) => "proxy".into(),
            Track::ProxyConn(_, c) => format!("proxy[{c}]"),
        }
    }

    fn rank(track: Track) -> (u8, u32) {
        match track {
            Track::Server => (0, 0),
            Track::Client(i) => (1, i as u32),
            Track::Conn(c) => (2, c),
            Track::Proxy(p) => (3, p as u32),
            Track::ProxyConn(_, c) => (4, c),
        }
    }

    /// The same conversation, cut into segments differently, gives the same lines.
    #[test]
    fn segmentation_does_not_change_the_lines() {
        let run = |segments: &[&[u8]]| {
            let mut window = Window::default();
            window.begin_batch();
            let sent = window.bytes(
                Stream::ClientOut(0),
                None,
                b"a\nb\n",
                Show::Text(Encoding::Utf8),
            );
            for segment in segments {
                window.begin_batch();
                let got = window.bytes(
                    Stream::ConnIn(1),
                    Some(sent),
                    segment,
                    Show::Text(Encoding::Utf8),
                );
                window.bytes(
                    Stream::ConnOut(1),
                    Some(got),
                    segment,
                    Show::Text(Encoding::Utf8),
                );
            }
            texts(window.close(names, rank))
        };
        let whole = run(&[b"a\nb\n"]);
        assert_eq!(whole, run(&[b"a\n", b"b\n"]));
        assert_eq!(whole, run(&[b"a", b"\nb", b"\n"]));
        assert_eq!(
            whole,
            vec![
                r#"alice > "a\n""#,
                r#"alice > "b\n""#,
                r#"server[1] < "a\n""#,
                r#"server[1] < "b\n""#,
                r#"server[1] > "a\n""#,
                r#"server[1] > "b\n""#,
            ]
        );
    }

    /// Independent consequences of one cause are ordered by actor, not by arrival.
    #[test]
    fn arrival_order_of_independent_events_does_not_matter() {
        let run = |bob_first: bool| {
            let mut window = Window::default();
            window.begin_batch();
            let killed = window.line(Track::Server, None, "killed".into());
            let order = if bob_first { [1, 0] } else { [0, 1] };
            for client in order {
                window.begin_batch();
                window.line(Track::Client(client), Some(killed), "closed: reset".into());
                window.line(Track::Client(client), None, "retry 1/3 in 1s".into());
            }
            texts(window.close(names, rank))
        };
        assert_eq!(run(true), run(false));
        assert_eq!(run(false)[1], "alice: closed: reset");
    }

    #[test]
    fn bytes_show_in_the_window_they_came_in_even_a_character_cut_short() {
        let mut window = Window::default();
        window.begin_batch();
        window.bytes(
            Stream::ClientIn(0),
            None,
            b"x\xe2\x82",
            Show::Text(Encoding::Utf8),
        );
        assert_eq!(
            texts(window.close(names, rank)),
            vec![r#"alice < "x\xe2\x82""#]
        );
        window.begin_batch();
        window.bytes(
            Stream::ClientIn(0),
            None,
            b"\xac\n",
            Show::Text(Encoding::Utf8),
        );
        assert_eq!(
            texts(window.close(names, rank)),
            vec![r#"alice < "\xac\n""#]
        );
    }
}
