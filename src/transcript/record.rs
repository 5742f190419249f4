//! Words each event as a transcript line or block, with the peer's item it answers as its cause, and closes windows into masked lines.

mod frames;
mod proxy;

use std::collections::HashMap;

use super::kept::Kept;
use super::mask::{Masks, Scope};
use super::text::one_line;
use super::window::{Group, Show, Stream, Track, Window};
use crate::client::encoding::Encoding;
use crate::event::{
    ClientEvent, CloseReason, Direction, Pipe, ProgramEvent, ProxyEvent, ServerEvent, Side,
    UnsentReason,
};
use crate::framing::{Cut, FrameStream, FramingSpec};

/// Caps the payload bytes shown in one frame line.
const FRAME_SHOWN: usize = 64 * 1024;

/// Describes a client as the transcript shows it.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The name its lines start with.
    pub name: String,
    /// How the bytes it sends and receives are shown.
    pub encoding: Encoding,
    /// A program stands in for the built-in client.
    pub program: bool,
}

/// Marks the clocks of items that peers' items answer, within one window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Mark {
    ClientEnded(usize),
    /// A client's abort: the RST its server connection sees next.
    ClientAborted(usize),
    ConnEnded(u32),
    ConnAborted(u32),
    ServerDown,
    /// A signal sent to the server program: what its clients see next.
    ServerSignalled,
    Connecting,
    /// A proxy went down (its resets follow).
    ProxyDown(usize),
    /// A proxy connection passed a FIN on to one side.
    ProxyFin(usize, u32, Side),
    /// A proxy connection sent a RST to one side.
    ProxyRst(usize, u32, Side),
}

/// Says which proxy connection carries what, as far as the transcript's causes go.
#[derive(Debug, Default)]
struct Routes {
    /// The proxies' names, by index.
    names: Vec<String>,
    /// The built-in client at the client end of each proxy connection.
    owners: HashMap<(usize, u32), usize>,
    /// The proxy connection each built-in client's current connection goes through.
    clients: HashMap<usize, (usize, u32)>,
    /// The proxy connection at the other end of each server connection.
    conns: HashMap<u32, (usize, u32)>,
    /// Each proxy's `framing:`, by index.
    framing: Vec<Option<FramingSpec>>,
    /// What each framed proxy connection passed on in each direction, cut into frames.
    frames: HashMap<(usize, u32, Direction), FrameStream>,
}

/// Names what a proxy said that was held back, to show where it was released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyShown {
    /// Bytes it passed on or dropped, on this stream.
    Bytes(Stream, bytes::Bytes),
    /// Another event of proxy `.0` (a fault that fired).
    Event(usize, ProxyEvent),
}

/// Maps a server connection to the built-in client at its other end, once known.
pub type Owners = HashMap<u32, usize>;

/// Folds events into the current window and closed windows into the transcript.
#[derive(Debug)]
pub struct Recorder {
    clients: Vec<Actor>,
    /// The only client program, if there is exactly one: the connections
    /// no built-in client owns are its.
    lone_program: Option<usize>,
    /// The server shows what it receives as byte counts (the sink server).
    counts: bool,
    window: Window,
    marks: HashMap<Mark, u32>,
    /// The lines written so far, within bounds.
    kept: Kept,
    masks: Masks,
    /// Windows recorded aside, shown later in order ([`Self::begin_aside`]).
    aside: Vec<Window>,
    /// The window and marks put away while recording aside.
    saved: Option<(Window, HashMap<Mark, u32>)>,
    routes: Routes,
}

impl Recorder {
    /// Creates the recorder of a scenario with these clients, whose server
    /// listens on `port` (shown as `${port}`); `counts`: the server's
    /// received bytes are shown as counts.
    pub fn new(clients: Vec<Actor>, counts: bool, port: u16) -> Self {
        let mut programs = clients
            .iter()
            .enumerate()
            .filter(|(_, client)| client.program);
        let lone_program = match (programs.next(), programs.next()) {
            (Some((only, _)), None) => Some(only),
            _ => None,
        };
        Self {
            clients,
            lone_program,
            counts,
            window: Window::default(),
            marks: HashMap::new(),
            kept: Kept::default(),
            masks: Masks::new(port),
            aside: Vec::new(),
            saved: None,
            routes: Routes::default(),
        }
    }

    /// Records what is added until [`Self::end_aside`] in a window of its
    /// own, held until [`Self::release_aside`] shows it.
    pub fn begin_aside(&mut self) {
        let window = std::mem::take(&mut self.window);
        let marks = std::mem::take(&mut self.marks);
        self.saved = Some((window, marks));
    }

    /// Ends recording aside: the current window is the one before again.
    pub fn end_aside(&mut self) {
        if let Some((window, marks)) = self.saved.take() {
            let aside = std::mem::replace(&mut self.window, window);
            self.marks = marks;
            if !aside.is_empty() {
                self.aside.push(aside);
            }
        }
    }

    /// Shows the windows recorded aside, in order, after the current one.
    pub fn release_aside(&mut self, owners: &Owners) {
        if self.aside.is_empty() {
            return;
        }
        self.close_window(owners);
        for window in std::mem::take(&mut self.aside) {
            self.window = window;
            self.close_window(owners);
        }
    }

    /// Names the scenario's proxies, by index, and how each frames what it passes on.
    pub fn set_proxies(&mut self, names: Vec<String>, framing: Vec<Option<FramingSpec>>) {
        self.routes.names = names;
        self.routes.framing = framing;
    }

    /// Notes that proxy connection `conn` of proxy `proxy` is built-in
    /// client `client`'s current connection.
    pub fn proxy_client(&mut self, proxy: usize, conn: u32, client: usize) {
        self.routes.owners.insert((proxy, conn), client);
        self.routes.clients.insert(client, (proxy, conn));
    }

    /// Notes that server connection `server` is proxy connection `conn` of proxy `proxy`, dialed.
    pub fn proxy_server(&mut self, proxy: usize, conn: u32, server: u32) {
        self.routes.conns.insert(server, (proxy, conn));
    }

    /// Returns the mark of `mark` within this window, if it was set.
    fn mark(&self, mark: Mark) -> Option<u32> {
        self.marks.get(&mark).copied()
    }

    /// Starts a new batch: what is added until the next call follows one another.
    pub fn begin_batch(&mut self) {
        self.window.begin_batch();
    }

    /// Adds built-in client `index`'s event; `conn` is the server connection
    /// of its current connection, as known before this event.
    pub fn client(&mut self, index: usize, conn: Option<u32>, event: &ClientEvent) {
        let track = Track::Client(index);
        let show = Show::Text(self.clients[index].encoding);
        match event {
            ClientEvent::Connecting { attempt, target } => {
                let text = format!("connecting to {target} (attempt {attempt})");
                let clock = self.window.line(track, None, text);
                self.marks.insert(Mark::Connecting, clock);
            }
            ClientEvent::Connected { .. } => {
                self.window.line(track, None, "connected".into());
            }
            ClientEvent::ConnectFailed { error } => {
                self.window
                    .line(track, None, format!("connect failed: {}", error.code));
            }
            ClientEvent::Sent { data, summary } => {
                let stream = Stream::ClientOut(index);
                match summary {
                    Some(summary) => self.window.summarized(stream, data, summary),
                    None => self.window.bytes(stream, None, data, show),
                };
            }
            ClientEvent::Queued { data } => {
                let n = data.len();
                let text = format!("queued {n} {} while disconnected", bytes_word(n));
                self.window.line(track, None, text);
            }
            ClientEvent::Received { data } => {
                let cause = match self.routes.clients.get(&index) {
                    Some(&(p, c)) => {
                        self.window
                            .block_clock(Stream::ProxyOut(p, c, Direction::ToClient))
                    }
                    None => conn.and_then(|c| self.window.block_clock(Stream::ConnOut(c))),
                };
                self.window
                    .bytes(Stream::ClientIn(index), cause, data, show);
            }
            ClientEvent::PeerEnded => {
                let cause = self.end_cause(index, conn, event);
                self.window.line(track, cause, "peer ended (FIN)".into());
            }
            ClientEvent::Ended => {
                let clock = self.window.line(track, None, "end (FIN)".into());
                self.marks.insert(Mark::ClientEnded(index), clock);
            }
            ClientEvent::Closed { reason, .. } => {
                let text = match reason {
                    CloseReason::Fin => "closed (FIN)".to_owned(),
                    CloseReason::Reset => "closed (reset: ECONNRESET)".to_owned(),
                    CloseReason::Aborted => "closed (aborted)".to_owned(),
                    CloseReason::Error(error) => format!("closed (error: {})", error.code),
                };
                let cause = self.end_cause(index, conn, event);
                let clock = self.window.line(track, cause, text);
                if *reason == CloseReason::Aborted {
                    self.marks.insert(Mark::ClientAborted(index), clock);
                }
            }
            ClientEvent::RetryScheduled { retry, max, delay } => {
                let delay = humantime::format_duration(*delay);
                self.window
                    .line(track, None, format!("retry {retry}/{max} in {delay}"));
            }
            ClientEvent::GaveUp {
                retries,
                last_error,
                unsent,
            } => {
                let mut text = format!(
                    "gave up after {retries} {}",
                    if *retries == 1 { "retry" } else { "retries" }
                );
                if let Some(error) = last_error {
                    text.push_str(&format!(" (last error: {})", error.code));
                }
                if *unsent > 0 {
                    text.push_str(&format!(
                        "; {unsent} {} never sent",
                        bytes_word(*unsent as usize)
                    ));
                }
                self.window.line(track, None, text);
            }
            ClientEvent::Unsent { bytes, reason } => {
                let why = match reason {
                    UnsentReason::NoRetry => "no retry follows",
                    UnsentReason::Stopped => "stopped",
                };
                let n = *bytes as usize;
                let text = format!("{n} {} never sent ({why})", bytes_word(n));
                self.window.line(track, None, text);
            }
            ClientEvent::Quit => {
                self.window.line(track, None, "quit".into());
            }
            ClientEvent::Abort { .. } => {
                self.window.line(track, None, "abort (RST)".into());
            }
            ClientEvent::ReadingPaused => {
                self.window.line(track, None, "reading paused".into());
            }
            ClientEvent::ReadingResumed => {
                self.window.line(track, None, "reading resumed".into());
            }
            // A client sees nothing of a dropped SYN until its timeout,
            // nor of its next SYN until it is answered.
            ClientEvent::NoAnswer { .. } | ClientEvent::Redialing { .. } => {}
        }
    }

    /// Returns the cause of client `index`'s `PeerEnded` or `Closed` on
    /// server connection `conn`: through a proxy, the proxy's FIN or reset
    /// towards it; else the server's FIN, reset, kill or signal in this window.
    fn end_cause(&self, index: usize, conn: Option<u32>, event: &ClientEvent) -> Option<u32> {
        let via = self.routes.clients.get(&index).copied();
        let mark = match event {
            ClientEvent::PeerEnded => via
                .and_then(|(p, c)| self.mark(Mark::ProxyFin(p, c, Side::Client)))
                .or_else(|| conn.and_then(|c| self.mark(Mark::ConnEnded(c)))),
            ClientEvent::Closed { .. } => via
                .and_then(|(p, c)| self.mark(Mark::ProxyRst(p, c, Side::Client)))
                .or_else(|| {
                    conn.and_then(|c| {
                        self.mark(Mark::ConnAborted(c))
                            .or(self.mark(Mark::ServerDown))
                    })
                }),
            _ => None,
        };
        mark.or(self.mark(Mark::ServerSignalled))
    }

    /// Adds the fake server's event; `owners` says which built-in client
    /// is at the other end of each connection.
    pub fn server(&mut self, event: &ServerEvent, owners: &Owners) {
        let owner = |conn: &u32| owners.get(conn).copied();
        match event {
            ServerEvent::Listening { addr } => {
                let text = format!("listening on {addr}");
                self.window.line(Track::Server, None, text);
            }
            ServerEvent::Down {
                killed,
                connections,
            } => {
                let n = *connections;
                let conns = if n == 1 { "connection" } else { "connections" };
                let text = if *killed {
                    format!("killed ({n} {conns} reset)")
                } else {
                    format!("stopped ({n} {conns} ended)")
                };
                let clock = self.window.line(Track::Server, None, text);
                self.marks.insert(Mark::ServerDown, clock);
            }
            ServerEvent::Blackholed { .. } => {
                let text = "blackholing (SYNs dropped)".to_owned();
                self.window.line(Track::Server, None, text);
            }
            ServerEvent::Accepted { conn, .. } => {
                // Through a proxy too: its dial and this accept may be
                // reported in either order, so the connect is the cause.
                let cause = self.mark(Mark::Connecting);
                let text = format!("accepted connection {conn}");
                self.window.line(Track::Conn(*conn), cause, text);
            }
            ServerEvent::Received { conn, data } => {
                let cause = match self.routes.conns.get(conn) {
                    Some(&(p, c)) => {
                        self.window
                            .block_clock(Stream::ProxyOut(p, c, Direction::ToServer))
                    }
                    None => owner(conn).and_then(|i| self.window.block_clock(Stream::ClientOut(i))),
                };
                let show = if self.counts {
                    Show::Count
                } else {
                    Show::Text(Encoding::Utf8)
                };
                self.window.bytes(Stream::ConnIn(*conn), cause, data, show);
            }
            ServerEvent::Sent { conn, data } => {
                let show = Show::Text(self.encoding_of(owner(conn)));
                self.window.bytes(Stream::ConnOut(*conn), None, data, show);
            }
            ServerEvent::PeerEnded { conn } => {
                let cause = match self.routes.conns.get(conn) {
                    Some(&(p, c)) => self.mark(Mark::ProxyFin(p, c, Side::Server)),
                    None => owner(conn).and_then(|i| self.mark(Mark::ClientEnded(i))),
                };
                self.window
                    .line(Track::Conn(*conn), cause, "peer ended (FIN)".into());
            }
            ServerEvent::Ended { conn } => {
                let clock = self
                    .window
                    .line(Track::Conn(*conn), None, "end (FIN)".into());
                self.marks.insert(Mark::ConnEnded(*conn), clock);
            }
            ServerEvent::Closed { conn, reason } => {
                let text = match reason {
                    CloseReason::Fin => "closed (FIN)".to_owned(),
                    CloseReason::Reset => "closed (reset by peer)".to_owned(),
                    CloseReason::Aborted => "closed (reset)".to_owned(),
                    CloseReason::Error(error) => format!("closed (error: {})", error.code),
                };
                let cause = self
                    .routes
                    .conns
                    .get(conn)
                    .and_then(|&(p, c)| self.mark(Mark::ProxyRst(p, c, Side::Server)))
                    .or_else(|| {
                        owner(conn)
                            .filter(|_| *reason != CloseReason::Aborted)
                            .and_then(|i| self.mark(Mark::ClientAborted(i)))
                    });
                let clock = self.window.line(Track::Conn(*conn), cause, text);
                if *reason == CloseReason::Aborted {
                    self.marks.insert(Mark::ConnAborted(*conn), clock);
                }
            }
            // A rules server's verdict on a frame stands for the frame's line.
            ServerEvent::RuleMatched {
                conn,
                rule,
                payload,
            } => {
                let cause = owner(conn).and_then(|i| self.window.block_clock(Stream::ClientOut(i)));
                let head = format!("rule {rule} matched ");
                let text = format!("{head}{}", one_line(payload, Encoding::Utf8, FRAME_SHOWN));
                self.window
                    .grouped(Group::Verdicts(*conn), cause, text, head.len());
            }
            ServerEvent::NoRuleMatched { conn, payload } => {
                let cause = owner(conn).and_then(|i| self.window.block_clock(Stream::ClientOut(i)));
                let head = "no rule matched ";
                let text = format!("{head}{}", one_line(payload, Encoding::Utf8, FRAME_SHOWN));
                self.window
                    .grouped(Group::Verdicts(*conn), cause, text, head.len());
            }
            ServerEvent::Waiting { conn, delay } => {
                let text = format!("delay {}", humantime::format_duration(*delay));
                self.window.line(Track::Conn(*conn), None, text);
            }
            ServerEvent::Stalled { conn } => {
                let text = "stalled (reads nothing more)".to_owned();
                self.window.line(Track::Conn(*conn), None, text);
            }
            // The journal cuts the frames itself, and says where framing stopped.
            ServerEvent::Resumed { .. } | ServerEvent::FramingFailed { .. } => {}
        }
    }

    /// Adds a program's event on `track` (a client's, or the server's).
    /// Its output is not shown here: [`Self::show_held`] shows it when
    /// it is released.
    pub fn program(&mut self, track: Track, event: &ProgramEvent) {
        let text = match event {
            ProgramEvent::Started { command } => format!("started {command}"),
            ProgramEvent::Input { data } => {
                let show = Show::Text(self.encoding_of_track(track));
                let stream = Stream::Program(track, Pipe::Stdin);
                self.window.bytes(stream, None, data, show);
                return;
            }
            ProgramEvent::StdinClosed => "stdin closed".to_owned(),
            ProgramEvent::Output { .. } => return,
            ProgramEvent::Signalled { signal } => {
                let clock = self.window.line(track, None, format!("sent SIG{signal}"));
                if track == Track::Server {
                    self.marks.insert(Mark::ServerSignalled, clock);
                }
                return;
            }
            ProgramEvent::Ready => "ready".to_owned(),
            ProgramEvent::Exited { exit } => exit.to_string(),
        };
        self.window.line(track, None, text);
    }

    /// Adds released text (a program's output, or what a built-in client
    /// received, decoded) on `stream` to the current window.
    pub fn show_held(&mut self, stream: Stream, text: &str) {
        let show = match stream {
            Stream::ClientIn(index) => Show::Decoded(self.clients[index].encoding),
            _ => Show::Text(Encoding::Utf8),
        };
        // Through a proxy, what a client received follows what the proxy passed on.
        let cause = match stream {
            Stream::ClientIn(index) => self.routes.clients.get(&index).and_then(|&(p, c)| {
                self.window
                    .block_clock(Stream::ProxyOut(p, c, Direction::ToClient))
            }),
            _ => None,
        };
        self.window.bytes(stream, cause, text.as_bytes(), show);
    }

    /// Writes released text as windows of its own, after the current one,
    /// one per piece so stdout and stderr keep their order.
    pub fn show_released(&mut self, released: Vec<(Stream, String)>, owners: &Owners) {
        if released.is_empty() {
            return;
        }
        self.close_window(owners);
        for (stream, text) in released {
            self.window.begin_batch();
            self.show_held(stream, &text);
            self.close_window(owners);
        }
    }

    /// Closes the current window and appends its lines, masked, to the transcript.
    pub fn close_window(&mut self, owners: &Owners) {
        if !self.window.is_empty() {
            let clients = &self.clients;
            let program = self.lone_program.map(|i| &clients[i].name);
            let routes = &self.routes;
            let lines = self.window.close(
                |track| match track {
                    Track::Server => "server".to_owned(),
                    Track::Client(i) => clients[i].name.clone(),
                    Track::Conn(c) => match (owners.get(&c), program) {
                        (Some(&i), _) => format!("server[{}]", clients[i].name),
                        (None, Some(name)) => format!("server[{name}]"),
                        (None, None) => format!("server[#{c}]"),
                    },
                    Track::Proxy(p) => routes.names[p].clone(),
                    Track::ProxyConn(p, c) => {
                        let proxy = &routes.names[p];
                        match (routes.owners.get(&(p, c)), program) {
                            (Some(&i), _) => format!("{proxy}[{}]", clients[i].name),
                            (None, Some(name)) => format!("{proxy}[{name}]"),
                            (None, None) => format!("{proxy}[#{c}]"),
                        }
                    }
                },
                // Proxies' connections come between the clients and the
                // server's connections, as they stand between them.
                |track| match track {
                    Track::Server => (0, 0),
                    Track::Proxy(p) => (0, 1 + p as u32),
                    Track::Client(i) => (1, i as u32),
                    Track::ProxyConn(p, c) => {
                        let (p, c) = (p as u32 & 0xff, c & 0xffff);
                        match routes.owners.get(&(p as usize, c)) {
                            Some(&i) => (2, ((i as u32 & 0xff) << 24) | (p << 16) | c),
                            None => (3, (p << 16) | c),
                        }
                    }
                    Track::Conn(c) => match owners.get(&c) {
                        Some(&i) => (4, i as u32),
                        None => (5, c),
                    },
                },
            );
            for line in lines {
                self.kept.push(self.masks.apply(&line));
            }
        }
        self.marks.clear();
    }

    /// Shows `value` as `${name}` in the transcript, where `scope` says: a
    /// captured value in payload bytes, `${tmp}` everywhere.
    pub fn mask_value(&mut self, name: &str, value: &str, scope: Scope) {
        self.masks.add(name, value, scope, self.kept.lines_mut());
    }

    /// Shows `value` as `***` everywhere from now on, and in what was already written.
    pub fn hide_secret(&mut self, value: &str) {
        self.masks.add_secret(value, self.kept.lines_mut());
    }

    /// Returns a failure message masked as the transcript's wording is:
    /// secrets as `***`, the port as `${port}`, the scenario's folder.
    pub fn hide(&self, text: &str) -> String {
        self.masks.message(text)
    }

    /// Returns the transcript so far (closed windows only), masked, with
    /// what was elided in the middle said in one line.
    pub fn lines(&self) -> Vec<String> {
        let captured = self.masks.captured();
        self.kept.render(|line| captured.apply(line))
    }

    /// Returns the lines not returned before, to stream them live (as
    /// written: captured values are masked when the transcript is read).
    pub fn unstreamed(&mut self) -> Vec<String> {
        self.kept.unstreamed()
    }

    /// Returns how client `index`'s bytes are shown.
    pub fn encoding(&self, index: usize) -> Encoding {
        self.clients[index].encoding
    }

    /// Returns how a connection's bytes are shown: in its client's encoding, else as UTF-8.
    fn encoding_of(&self, owner: Option<usize>) -> Encoding {
        owner.map_or(Encoding::Utf8, |i| self.clients[i].encoding)
    }

    /// Returns how a program's stdin is shown: in its client's encoding, else as UTF-8.
    fn encoding_of_track(&self, track: Track) -> Encoding {
        match track {
            Track::Client(i) => self.clients[i].encoding,
            Track::Server | Track::Conn(_) | Track::Proxy(_) | Track::ProxyConn(..) => {
                Encoding::Utf8
            }
        }
    }
}

fn bytes_word(n: usize) -> &'static str {
    if n == 1 { "byte" } else { "bytes" }
}
