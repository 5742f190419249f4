//! Folds the event stream into what steps wait on and the transcript: per-actor state, in-flight accounting, output buffers.

use std::collections::HashMap;
use std::net::SocketAddr;

use crate::client::encoding::{Decoder, Encoding};
use std::collections::{BTreeSet, VecDeque};

use crate::event::{
    ClientEvent, CloseReason, Event, Exit, NetError, Pipe, ProgramEvent, Report, ServerEvent,
    Source,
};
use crate::scenario::{FakeKind, OutputStream};
use crate::transcript::{Show, Stream, Track, Window};

use super::held::Held;
use super::output::OutputBuffer;

/// Holds what the runner knows of one built-in client.
#[derive(Debug)]
pub struct ClientState {
    /// The client's name.
    pub name: String,
    /// How its received bytes are decoded.
    pub encoding: Encoding,
    /// A connect attempt is under way.
    pub connecting: bool,
    /// Its timer fired and it has not reported since.
    pub woken: bool,
    /// Currently connected.
    pub connected: bool,
    /// The local address of the current connection.
    pub local: Option<SocketAddr>,
    /// Successful connects so far.
    pub connects: u32,
    /// The retry number of the attempt under way (0: not a retry).
    retry_under_way: u32,
    /// The highest failed retry since the last connect.
    pub failed_retries: u32,
    /// Errors reported (connect failures and broken connections), in order.
    pub errors: Vec<NetError>,
    /// How each connection closed, in order.
    pub closes: Vec<CloseReason>,
    /// Set when it gave up: (retries, last error code, unsent bytes).
    pub gave_up: Option<(u32, Option<String>, u64)>,
    /// Decoded received text (a program: its stdout, and stderr if merged).
    pub output: OutputBuffer,
    decoder: Decoder,
    /// A program client (else the built-in client).
    pub program: bool,
    /// A program client's stderr joins its output.
    pub merge_stderr: bool,
    /// How a program client ended.
    pub exit: Option<Exit>,
    stderr_decoder: Decoder,
    /// A program client's output (as in `output`) not yet in the transcript.
    held: Held,
    /// A program client's separate stderr, decoded, for `stream: stderr`.
    pub stderr: OutputBuffer,
    /// The same stderr, not yet in the transcript.
    held_stderr: Held,
}

impl ClientState {
    /// Returns what `expect` reads with `stream`.
    pub fn read(&self, stream: OutputStream) -> &OutputBuffer {
        match stream {
            OutputStream::Stdout => &self.output,
            OutputStream::Stderr => &self.stderr,
        }
    }

    /// Returns what `expect` consumes from with `stream`.
    pub fn read_mut(&mut self, stream: OutputStream) -> &mut OutputBuffer {
        match stream {
            OutputStream::Stdout => &mut self.output,
            OutputStream::Stderr => &mut self.stderr,
        }
    }
}

/// Keeps the last lines of a program's output, for failure reports.
const TAIL_LINES: usize = 20;

/// Holds what the runner knows of the fake server.
#[derive(Debug, Default)]
pub struct ServerState {
    /// Listening now.
    pub up: bool,
    /// Connections accepted so far.
    pub accepted: u32,
    /// Received text per connection.
    pub outputs: HashMap<u32, OutputBuffer>,
    /// Received text of all connections, in arrival order.
    pub all_output: OutputBuffer,
    decoders: HashMap<u32, Decoder>,
    all_decoder: Option<Decoder>,
    /// The client behind each connection, once known.
    pub conn_client: HashMap<u32, usize>,
    conn_peer: HashMap<u32, SocketAddr>,
    /// Connections open now.
    pub open: BTreeSet<u32>,
    /// How connections that no built-in client owns closed (program clients).
    pub unowned_closes: Vec<CloseReason>,
    /// A server program's output, decoded, for `ready: {log: ...}`.
    pub log: OutputBuffer,
    /// The same output, for `server_expect`.
    pub program_output: OutputBuffer,
    /// The same output, not yet in the transcript.
    held: Held,
    log_decoder: Option<Decoder>,
    /// A server program's last output lines.
    pub tail: VecDeque<String>,
    /// A server program is running.
    pub running: bool,
    /// How the server program last ended.
    pub exit: Option<Exit>,
}

impl ServerState {
    /// Returns the connections accepted so far that no built-in client owns.
    pub fn unowned_accepted(&self) -> u32 {
        self.accepted - self.conn_client.len() as u32
    }

    /// Returns true if a connection no built-in client owns is open.
    pub fn unowned_open(&self) -> bool {
        self.open
            .iter()
            .any(|conn| !self.conn_client.contains_key(conn))
    }
}

/// Counts one side of a connection: what it sent and what it saw.
#[derive(Debug, Default, Clone)]
struct Side {
    sent: u64,
    received: u64,
    fin_sent: bool,
    fin_seen: bool,
    closed: bool,
}

/// Pairs the two sides of one connection, keyed by the client's local address.
#[derive(Debug, Default)]
struct Link {
    client: Option<(usize, Side)>,
    conn: Option<(u32, Side)>,
}

impl Link {
    /// Returns true when nothing is in flight between the two sides.
    fn settled(&self) -> bool {
        match (&self.client, &self.conn) {
            (Some((_, c)), Some((_, s))) => {
                (c.closed && s.closed)
                    || (!c.closed
                        && !s.closed
                        && c.sent == s.received
                        && s.sent == c.received
                        && c.fin_sent == s.fin_seen
                        && s.fin_sent == c.fin_seen)
            }
            // A connection the server never accepted is settled once the client saw it close.
            (Some((_, c)), None) => c.closed,
            // The client is a program (or not known yet, while its connect is
            // under way — which keeps the scenario unsettled anyway).
            (None, Some(_)) => true,
            (None, None) => true,
        }
    }
}

/// Marks the clocks of items that peers' items answer, within one window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Mark {
    ClientEnded(usize),
    ConnEnded(u32),
    ConnAborted(u32),
    ServerDown,
    Connecting,
}

/// Describes a client for the journal: name, encoding, and whether it is a program.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    /// The client's name.
    pub name: String,
    /// How its received bytes (or stdout) are decoded.
    pub encoding: Encoding,
    /// A program client; `Some(true)` when its stderr joins its output.
    pub program: Option<bool>,
}

/// Folds reports into state and transcript.
#[derive(Debug)]
pub struct Journal {
    clients: Vec<ClientState>,
    server: ServerState,
    fake: Option<FakeKind>,
    /// A server program's output goes into the transcript.
    server_output: bool,
    links: HashMap<SocketAddr, Link>,
    window: Window,
    marks: HashMap<Mark, u32>,
    transcript: Vec<String>,
    /// How many transcript lines were streamed live.
    streamed: usize,
    /// Finds the port number as a word, to show it as `${port}`.
    port_word: regex::Regex,
    /// Captured values, shown as `${name}` (like the port).
    masks: Vec<(regex::Regex, String)>,
}

impl Journal {
    /// Creates a journal for these clients and server (`server_output`: a
    /// server program's output goes into the transcript).
    pub fn new(
        clients: &[ClientInfo],
        fake: Option<FakeKind>,
        server_output: bool,
        port: u16,
    ) -> Self {
        Self {
            clients: clients
                .iter()
                .map(|info| ClientState {
                    name: info.name.clone(),
                    encoding: info.encoding,
                    connecting: false,
                    woken: false,
                    connected: false,
                    local: None,
                    connects: 0,
                    retry_under_way: 0,
                    failed_retries: 0,
                    errors: Vec::new(),
                    closes: Vec::new(),
                    gave_up: None,
                    output: OutputBuffer::default(),
                    decoder: info.encoding.decoder(),
                    program: info.program.is_some(),
                    merge_stderr: info.program == Some(true),
                    exit: None,
                    stderr_decoder: info.encoding.decoder(),
                    held: Held::default(),
                    stderr: OutputBuffer::default(),
                    held_stderr: Held::default(),
                })
                .collect(),
            server: ServerState::default(),
            fake,
            server_output,
            links: HashMap::new(),
            window: Window::default(),
            marks: HashMap::new(),
            transcript: Vec::new(),
            streamed: 0,
            port_word: regex::Regex::new(&format!(r"\b{port}\b"))
                .expect("a number is a valid regex"),
            masks: Vec::new(),
        }
    }

    /// Shows `value` as `${name}` in the transcript from now on, and in what
    /// was already written: a captured value or `${tmp}` is masked like the port.
    pub fn mask_value(&mut self, name: &str, value: &str) {
        if value.is_empty() {
            return;
        }
        let escaped = regex::escape(value);
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        let pattern = match (word(value.chars().next()), word(value.chars().last())) {
            (true, true) => format!(r"\b{escaped}\b"),
            (true, false) => format!(r"\b{escaped}"),
            (false, true) => format!(r"{escaped}\b"),
            (false, false) => escaped,
        };
        let Ok(regex) = regex::Regex::new(&pattern) else {
            return;
        };
        let replacement = format!("$${{{name}}}");
        for line in &mut self.transcript {
            if regex.is_match(line) {
                *line = regex.replace_all(line, replacement.as_str()).into_owned();
            }
        }
        // The same value captured again needs no second mask.
        if !self
            .masks
            .iter()
            .any(|(known, name)| *name == replacement && known.as_str() == regex.as_str())
        {
            self.masks.push((regex, replacement));
        }
    }

    /// Returns client `index`'s state.
    pub fn client(&self, index: usize) -> &ClientState {
        &self.clients[index]
    }

    /// Returns client `index`'s state for `expect` to consume from.
    pub fn client_mut(&mut self, index: usize) -> &mut ClientState {
        &mut self.clients[index]
    }

    /// Returns the server's state.
    pub fn server(&self) -> &ServerState {
        &self.server
    }

    /// Returns the server's state for `server_expect` to consume from.
    pub fn server_mut(&mut self) -> &mut ServerState {
        &mut self.server
    }

    /// Returns the server connection of client `index`'s current connection.
    pub fn conn_of_client(&self, index: usize) -> Option<u32> {
        let local = self.clients[index].local?;
        self.links.get(&local)?.conn.as_ref().map(|(conn, _)| *conn)
    }

    /// Notes that client `index`'s timer fired: it is busy until it reports.
    pub fn wake(&mut self, index: usize) {
        self.clients[index].woken = true;
    }

    /// Returns true when nothing is in flight: every connection settled, no
    /// attempt under way, no woken client still to report.
    pub fn settled(&self) -> bool {
        self.clients.iter().all(|c| !c.connecting && !c.woken)
            && (self.fake.is_none() || self.links.values().all(Link::settled))
    }

    /// Describes what keeps the conversation from settling, for timeouts.
    pub fn unsettled(&self) -> Vec<String> {
        let mut why = Vec::new();
        for client in &self.clients {
            if client.connecting {
                why.push(format!("{} is still connecting", client.name));
            }
            if client.woken {
                why.push(format!("{} was woken and has not reported", client.name));
            }
        }
        if self.fake.is_some() {
            for link in self.links.values().filter(|l| !l.settled()) {
                let who = link
                    .client
                    .as_ref()
                    .map(|(i, _)| self.clients[*i].name.clone())
                    .unwrap_or_else(|| "a client".into());
                why.push(format!(
                    "bytes or a close between {who} and the server are in flight"
                ));
            }
        }
        why
    }

    /// Returns the transcript so far (closed windows only).
    pub fn transcript(&self) -> &[String] {
        &self.transcript
    }

    /// Returns the transcript lines not returned before, to stream them live.
    pub fn unstreamed(&mut self) -> &[String] {
        let start = self.streamed;
        self.streamed = self.transcript.len();
        &self.transcript[start..]
    }

    /// Moves program output that steps consumed into the transcript: after
    /// everything folded so far, and before anything folded later.
    pub fn sync_programs(&mut self) {
        let mut released = Vec::new();
        for (index, client) in self.clients.iter_mut().enumerate() {
            let consumed = client.output.consumed_total();
            let mut pieces = client.held.release_consumed(consumed);
            let consumed = client.stderr.consumed_total();
            pieces.extend(client.held_stderr.release_consumed(consumed));
            released.push((Track::Client(index), pieces));
        }
        if self.server_output {
            let server = &mut self.server;
            let consumed = server
                .log
                .consumed_total()
                .max(server.program_output.consumed_total());
            released.push((Track::Server, server.held.release_consumed(consumed)));
        }
        self.show_closed(released);
    }

    /// Moves every program's held output into the transcript (the scenario ends).
    pub fn release_programs(&mut self) {
        let mut released = Vec::new();
        for (index, client) in self.clients.iter_mut().enumerate() {
            let mut pieces = client.held.release_all();
            pieces.extend(client.held_stderr.release_all());
            released.push((Track::Client(index), pieces));
        }
        released.push((Track::Server, self.server.held.release_all()));
        self.show_closed(released);
    }

    /// Writes released program output as windows of its own, after the
    /// current one, one per piece so stdout and stderr keep their order.
    fn show_closed(&mut self, released: Vec<(Track, Vec<(Pipe, String)>)>) {
        if released.iter().all(|(_, pieces)| pieces.is_empty()) {
            return;
        }
        self.close_window();
        for (track, pieces) in released {
            for (pipe, text) in pieces {
                self.window.begin_batch();
                self.show_program(track, pipe, &text);
                self.close_window();
            }
        }
    }

    /// Adds released program output to the current window.
    fn show_program(&mut self, track: Track, pipe: Pipe, text: &str) {
        let show = Show::Text(Encoding::Utf8);
        self.window
            .bytes(Stream::Program(track, pipe), None, text.as_bytes(), show);
    }

    /// Closes the current window and appends its lines to the transcript.
    pub fn close_window(&mut self) {
        if !self.window.is_empty() {
            let names: Vec<String> = self.clients.iter().map(|c| c.name.clone()).collect();
            let conn_client = self.server.conn_client.clone();
            // With one client program, connections no built-in client owns are its.
            let mut programs = self.clients.iter().filter(|c| c.program);
            let program = match (programs.next(), programs.next()) {
                (Some(only), None) => Some(only.name.clone()),
                _ => None,
            };
            let lines = self.window.close(
                |track| match track {
                    Track::Server => "server".to_owned(),
                    Track::Client(i) => names[i].clone(),
                    Track::Conn(c) => match (conn_client.get(&c), &program) {
                        (Some(&i), _) => format!("server[{}]", names[i]),
                        (None, Some(name)) => format!("server[{name}]"),
                        (None, None) => format!("server[#{c}]"),
                    },
                },
                |track| match track {
                    Track::Server => (0, 0),
                    Track::Client(i) => (1, i as u32),
                    Track::Conn(c) => match conn_client.get(&c) {
                        Some(&i) => (2, i as u32),
                        None => (3, c),
                    },
                },
            );
            let port_word = &self.port_word;
            let masks = &self.masks;
            self.transcript.extend(lines.into_iter().map(|line| {
                let mut line = port_word.replace_all(&line, "$${port}").into_owned();
                for (regex, replacement) in masks {
                    line = regex.replace_all(&line, replacement.as_str()).into_owned();
                }
                line
            }));
        }
        self.marks.clear();
    }

    /// Folds one report.
    pub fn apply(&mut self, report: &Report) {
        self.window.begin_batch();
        if let Source::Client(index) = report.source {
            self.clients[index].woken = false;
        }
        for event in &report.events {
            match (report.source, event) {
                (Source::Client(index), Event::Client(event)) => self.client_event(index, event),
                (Source::Client(index), Event::Program(event)) => {
                    self.client_program_event(index, event)
                }
                (Source::Server, Event::Server(event)) => self.server_event(event),
                (Source::Server, Event::Program(event)) => self.server_program_event(event),
                // Each actor reports only its own kind of event.
                (Source::Client(_), Event::Server(_)) | (Source::Server, Event::Client(_)) => {}
            }
        }
    }

    fn client_side(&mut self, index: usize) -> Option<&mut Side> {
        let local = self.clients[index].local?;
        self.links
            .get_mut(&local)
            .and_then(|link| link.client.as_mut())
            .map(|(_, side)| side)
    }

    fn client_event(&mut self, index: usize, event: &ClientEvent) {
        let track = Track::Client(index);
        let conn = self.conn_of_client(index);
        match event {
            ClientEvent::Connecting { attempt, target } => {
                let client = &mut self.clients[index];
                client.connecting = true;
                let text = format!("connecting to {target} (attempt {attempt})");
                let clock = self.window.line(track, None, text);
                self.marks.insert(Mark::Connecting, clock);
            }
            ClientEvent::Connected { local, .. } => {
                let client = &mut self.clients[index];
                client.connecting = false;
                client.connected = true;
                client.connects += 1;
                client.retry_under_way = 0;
                client.failed_retries = 0;
                client.local = Some(*local);
                let link = self.links.entry(*local).or_default();
                link.client = Some((index, Side::default()));
                if let Some((conn, _)) = link.conn {
                    self.server.conn_client.insert(conn, index);
                }
                self.window.line(track, None, "connected".into());
            }
            ClientEvent::ConnectFailed { error } => {
                let client = &mut self.clients[index];
                client.connecting = false;
                if client.retry_under_way > 0 {
                    client.failed_retries = client.failed_retries.max(client.retry_under_way);
                }
                client.errors.push(error.clone());
                self.window
                    .line(track, None, format!("connect failed: {}", error.code));
            }
            ClientEvent::Sent { data } => {
                if let Some(side) = self.client_side(index) {
                    side.sent += data.len() as u64;
                }
                self.window.bytes(
                    Stream::ClientOut(index),
                    None,
                    data,
                    Show::Text(self.clients[index].encoding),
                );
            }
            ClientEvent::Queued { data } => {
                let n = data.len();
                self.window.line(
                    track,
                    None,
                    format!("queued {n} {} while disconnected", bytes_word(n)),
                );
            }
            ClientEvent::Received { data } => {
                if let Some(side) = self.client_side(index) {
                    side.received += data.len() as u64;
                }
                let client = &mut self.clients[index];
                let text = client.decoder.decode(data);
                client.output.push(&text);
                let cause = conn.and_then(|c| self.window.block_clock(Stream::ConnOut(c)));
                self.window.bytes(
                    Stream::ClientIn(index),
                    cause,
                    data,
                    Show::Text(self.clients[index].encoding),
                );
            }
            ClientEvent::PeerEnded => {
                if let Some(side) = self.client_side(index) {
                    side.fin_seen = true;
                }
                let cause = conn.and_then(|c| self.marks.get(&Mark::ConnEnded(c)).copied());
                self.window.line(track, cause, "peer ended (FIN)".into());
            }
            ClientEvent::Ended => {
                if let Some(side) = self.client_side(index) {
                    side.fin_sent = true;
                }
                let clock = self.window.line(track, None, "end (FIN)".into());
                self.marks.insert(Mark::ClientEnded(index), clock);
            }
            ClientEvent::Closed { reason, .. } => {
                if let Some(side) = self.client_side(index) {
                    side.closed = true;
                }
                let client = &mut self.clients[index];
                client.connected = false;
                client.closes.push(reason.clone());
                let tail = client.decoder.finish();
                client.output.push(&tail);
                let text = match reason {
                    CloseReason::Fin => "closed (FIN)".to_owned(),
                    CloseReason::Reset => {
                        client.errors.push(NetError {
                            code: "ECONNRESET".into(),
                            message: "connection reset by peer".into(),
                        });
                        "closed (reset: ECONNRESET)".to_owned()
                    }
                    CloseReason::Aborted => "closed (aborted)".to_owned(),
                    CloseReason::Error(error) => {
                        client.errors.push(error.clone());
                        format!("closed (error: {})", error.code)
                    }
                };
                let encoding = client.encoding;
                // Both directions end with the connection: a character cut
                // short is shown as it is, not carried to the next one.
                for stream in [Stream::ClientIn(index), Stream::ClientOut(index)] {
                    self.window.end_stream(stream, Show::Text(encoding));
                }
                let cause = conn.and_then(|c| {
                    self.marks
                        .get(&Mark::ConnAborted(c))
                        .or(self.marks.get(&Mark::ServerDown))
                        .copied()
                });
                self.window.line(track, cause, text);
                self.forget_closed();
            }
            ClientEvent::RetryScheduled { retry, max, delay } => {
                self.clients[index].retry_under_way = *retry;
                let delay = humantime::format_duration(*delay);
                self.window
                    .line(track, None, format!("retry {retry}/{max} in {delay}"));
            }
            ClientEvent::GaveUp {
                retries,
                last_error,
                unsent,
            } => {
                let client = &mut self.clients[index];
                client.gave_up = Some((
                    *retries,
                    last_error.as_ref().map(|e| e.code.clone()),
                    *unsent,
                ));
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
            ClientEvent::Quit => {
                self.window.line(track, None, "quit".into());
            }
        }
    }

    fn client_program_event(&mut self, index: usize, event: &ProgramEvent) {
        let track = Track::Client(index);
        match event {
            ProgramEvent::Started { command } => {
                self.window.line(track, None, format!("started {command}"));
            }
            ProgramEvent::Input { data } => {
                let show = Show::Text(self.clients[index].encoding);
                self.window
                    .bytes(Stream::Program(track, Pipe::Stdin), None, data, show);
            }
            ProgramEvent::Output { pipe, data } => {
                let client = &mut self.clients[index];
                if *pipe == Pipe::Stdout {
                    let text = client.decoder.decode(data);
                    client.output.push(&text);
                    client.held.push(*pipe, &text);
                } else if client.merge_stderr {
                    let text = client.stderr_decoder.decode(data);
                    client.output.push(&text);
                    client.held.push(*pipe, &text);
                } else {
                    let text = client.stderr_decoder.decode(data);
                    client.stderr.push(&text);
                    client.held_stderr.push(*pipe, &text);
                }
                let mut overflow = client.held.release_overflow();
                overflow.extend(client.held_stderr.release_overflow());
                for (pipe, text) in overflow {
                    self.show_program(track, pipe, &text);
                }
            }
            ProgramEvent::Signalled { signal } => {
                self.window.line(track, None, format!("sent SIG{signal}"));
            }
            ProgramEvent::Exited { exit } => {
                let client = &mut self.clients[index];
                client.exit = Some(exit.clone());
                let (out, err) = (client.decoder.finish(), client.stderr_decoder.finish());
                client.output.push(&out);
                client.held.push(Pipe::Stdout, &out);
                if client.merge_stderr {
                    client.output.push(&err);
                    client.held.push(Pipe::Stderr, &err);
                } else {
                    client.stderr.push(&err);
                    client.held_stderr.push(Pipe::Stderr, &err);
                }
                let mut rest = client.held.release_all();
                rest.extend(client.held_stderr.release_all());
                for (pipe, text) in rest {
                    self.show_program(track, pipe, &text);
                }
                self.window.line(track, None, exit.to_string());
            }
            ProgramEvent::StdinClosed => {
                let clock = self.window.line(track, None, "stdin closed".into());
                self.marks.insert(Mark::ClientEnded(index), clock);
            }
            // Only a server program becomes ready.
            ProgramEvent::Ready => {}
        }
    }

    fn conn_side(&mut self, conn: u32) -> Option<&mut Side> {
        let peer = self.server.conn_peer.get(&conn)?;
        self.links
            .get_mut(peer)
            .and_then(|link| link.conn.as_mut())
            .map(|(_, side)| side)
    }

    fn server_event(&mut self, event: &ServerEvent) {
        match event {
            ServerEvent::Listening { addr } => {
                self.server.up = true;
                let text = format!("listening on {addr}");
                self.window.line(Track::Server, None, text);
            }
            ServerEvent::Down {
                killed,
                connections,
            } => {
                self.server.up = false;
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
            ServerEvent::Accepted { conn, peer } => {
                self.server.accepted += 1;
                self.server.open.insert(*conn);
                self.server.conn_peer.insert(*conn, *peer);
                let link = self.links.entry(*peer).or_default();
                link.conn = Some((*conn, Side::default()));
                if let Some((client, _)) = link.client {
                    self.server.conn_client.insert(*conn, client);
                }
                let cause = self.marks.get(&Mark::Connecting).copied();
                self.window.line(
                    Track::Conn(*conn),
                    cause,
                    format!("accepted connection {conn}"),
                );
            }
            ServerEvent::Received { conn, data } => {
                if let Some(side) = self.conn_side(*conn) {
                    side.received += data.len() as u64;
                }
                let decoder = self
                    .server
                    .decoders
                    .entry(*conn)
                    .or_insert_with(|| Encoding::Utf8.decoder());
                let text = decoder.decode(data);
                self.server.outputs.entry(*conn).or_default().push(&text);
                let all = self
                    .server
                    .all_decoder
                    .get_or_insert_with(|| Encoding::Utf8.decoder());
                let text = all.decode(data);
                self.server.all_output.push(&text);
                let client = self.server.conn_client.get(conn).copied();
                let cause = client.and_then(|i| self.window.block_clock(Stream::ClientOut(i)));
                let show = if self.fake == Some(FakeKind::Sink) {
                    Show::Count
                } else {
                    Show::Text(Encoding::Utf8)
                };
                self.window.bytes(Stream::ConnIn(*conn), cause, data, show);
            }
            ServerEvent::Sent { conn, data } => {
                if let Some(side) = self.conn_side(*conn) {
                    side.sent += data.len() as u64;
                }
                let encoding = self
                    .server
                    .conn_client
                    .get(conn)
                    .map(|&i| self.clients[i].encoding)
                    .unwrap_or(Encoding::Utf8);
                self.window
                    .bytes(Stream::ConnOut(*conn), None, data, Show::Text(encoding));
            }
            ServerEvent::PeerEnded { conn } => {
                if let Some(side) = self.conn_side(*conn) {
                    side.fin_seen = true;
                }
                let client = self.server.conn_client.get(conn).copied();
                let cause = client.and_then(|i| self.marks.get(&Mark::ClientEnded(i)).copied());
                self.window
                    .line(Track::Conn(*conn), cause, "peer ended (FIN)".into());
            }
            ServerEvent::Ended { conn } => {
                if let Some(side) = self.conn_side(*conn) {
                    side.fin_sent = true;
                }
                let clock = self
                    .window
                    .line(Track::Conn(*conn), None, "end (FIN)".into());
                self.marks.insert(Mark::ConnEnded(*conn), clock);
            }
            ServerEvent::Closed { conn, reason } => {
                if let Some(side) = self.conn_side(*conn) {
                    side.closed = true;
                }
                self.server.open.remove(conn);
                if !self.server.conn_client.contains_key(conn) {
                    // Seen from the server, a program client's FIN or reset.
                    let seen = match reason {
                        CloseReason::Aborted | CloseReason::Reset => CloseReason::Reset,
                        other => other.clone(),
                    };
                    self.server.unowned_closes.push(seen);
                }
                let sent_as = self
                    .server
                    .conn_client
                    .get(conn)
                    .map_or(Encoding::Utf8, |&i| self.clients[i].encoding);
                self.window
                    .end_stream(Stream::ConnIn(*conn), Show::Text(Encoding::Utf8));
                self.window
                    .end_stream(Stream::ConnOut(*conn), Show::Text(sent_as));
                let text = match reason {
                    CloseReason::Fin => "closed (FIN)".to_owned(),
                    CloseReason::Reset => "closed (reset by peer)".to_owned(),
                    CloseReason::Aborted => "closed (reset)".to_owned(),
                    CloseReason::Error(error) => format!("closed (error: {})", error.code),
                };
                let clock = self.window.line(Track::Conn(*conn), None, text);
                if *reason == CloseReason::Aborted {
                    self.marks.insert(Mark::ConnAborted(*conn), clock);
                }
                self.forget_closed();
            }
        }
    }

    fn server_program_event(&mut self, event: &ProgramEvent) {
        match event {
            ProgramEvent::Started { command } => {
                self.server.running = true;
                self.window
                    .line(Track::Server, None, format!("started {command}"));
            }
            ProgramEvent::Ready => {
                self.window.line(Track::Server, None, "ready".into());
            }
            ProgramEvent::Signalled { signal } => {
                self.window
                    .line(Track::Server, None, format!("sent SIG{signal}"));
            }
            ProgramEvent::Output { pipe, data } => {
                let decoder = self
                    .server
                    .log_decoder
                    .get_or_insert_with(|| Encoding::Utf8.decoder());
                let text = decoder.decode(data);
                self.server.log.push(&text);
                self.server.program_output.push(&text);
                for line in text.lines() {
                    if self.server.tail.len() == TAIL_LINES {
                        self.server.tail.pop_front();
                    }
                    self.server.tail.push_back(line.to_owned());
                }
                if self.server_output {
                    self.server.held.push(*pipe, &text);
                    for (pipe, text) in self.server.held.release_overflow() {
                        self.show_program(Track::Server, pipe, &text);
                    }
                }
            }
            ProgramEvent::Exited { exit } => {
                self.server.running = false;
                self.server.exit = Some(exit.clone());
                for (pipe, text) in self.server.held.release_all() {
                    self.show_program(Track::Server, pipe, &text);
                }
                self.window.line(Track::Server, None, exit.to_string());
            }
            // A server program's stdin is not driven.
            ProgramEvent::Input { .. } | ProgramEvent::StdinClosed => {}
        }
    }

    /// Forgets connections whose both sides are closed (bounded memory).
    fn forget_closed(&mut self) {
        self.links.retain(|_, link| {
            let client_closed = link.client.as_ref().is_none_or(|(_, s)| s.closed);
            let conn_closed = link.conn.as_ref().is_none_or(|(_, s)| s.closed);
            !(client_closed && conn_closed && link.client.is_some() && link.conn.is_some())
        });
    }
}

fn bytes_word(n: usize) -> &'static str {
    if n == 1 { "byte" } else { "bytes" }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::event::Report;

    const PORT: u16 = 4000;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    fn journal() -> Journal {
        let client = ClientInfo {
            name: "alice".into(),
            encoding: Encoding::Utf8,
            program: None,
        };
        Journal::new(&[client], Some(FakeKind::Echo), false, PORT)
    }

    fn report<E: Into<Event>>(journal: &mut Journal, source: Source, events: Vec<E>) {
        journal.apply(&Report {
            source,
            events: events.into_iter().map(Into::into).collect(),
            timer: None,
        });
    }

    fn client(journal: &mut Journal, events: Vec<ClientEvent>) {
        report(journal, Source::Client(0), events);
    }

    fn server(journal: &mut Journal, events: Vec<ServerEvent>) {
        report(journal, Source::Server, events);
    }

    /// Connects alice (local port 5000) and has the server accept her.
    fn connected() -> Journal {
        let mut j = journal();
        client(
            &mut j,
            vec![ClientEvent::Connecting {
                attempt: 1,
                target: format!("127.0.0.1:{PORT}"),
            }],
        );
        assert!(!j.settled(), "a connect attempt is under way");
        client(
            &mut j,
            vec![ClientEvent::Connected {
                local: addr(5000),
                peer: addr(PORT),
            }],
        );
        assert!(!j.settled(), "the server has not accepted yet");
        server(
            &mut j,
            vec![ServerEvent::Accepted {
                conn: 1,
                peer: addr(5000),
            }],
        );
        assert!(j.settled());
        j
    }

    fn data(text: &str) -> Bytes {
        Bytes::copy_from_slice(text.as_bytes())
    }

    #[test]
    fn bytes_in_flight_keep_the_conversation_unsettled() {
        let mut j = connected();
        client(&mut j, vec![ClientEvent::Sent { data: data("hi\n") }]);
        assert!(!j.settled(), "sent, not yet received");
        server(
            &mut j,
            vec![ServerEvent::Received {
                conn: 1,
                data: data("hi"),
            }],
        );
        assert!(!j.settled(), "partly received");
        server(
            &mut j,
            vec![
                ServerEvent::Received {
                    conn: 1,
                    data: data("\n"),
                },
                ServerEvent::Sent {
                    conn: 1,
                    data: data("hi\n"),
                },
            ],
        );
        assert!(!j.settled(), "the echo is in flight");
        client(&mut j, vec![ClientEvent::Received { data: data("hi\n") }]);
        assert!(j.settled());
        assert_eq!(j.client(0).output.unconsumed(), "hi\n");
    }

    #[test]
    fn a_fin_is_in_flight_until_the_peer_reports_it() {
        let mut j = connected();
        client(&mut j, vec![ClientEvent::Ended]);
        assert!(!j.settled());
        server(&mut j, vec![ServerEvent::PeerEnded { conn: 1 }]);
        assert!(j.settled(), "half-closed, nothing in flight");
    }

    #[test]
    fn a_reset_is_settled_once_both_sides_closed() {
        let mut j = connected();
        server(
            &mut j,
            vec![
                ServerEvent::Down {
                    killed: true,
                    connections: 1,
                },
                ServerEvent::Closed {
                    conn: 1,
                    reason: CloseReason::Aborted,
                },
            ],
        );
        assert!(!j.settled(), "alice has not seen the reset yet");
        client(
            &mut j,
            vec![ClientEvent::Closed {
                reason: CloseReason::Reset,
                written: 0,
            }],
        );
        assert!(j.settled());
        assert_eq!(
            j.client(0).errors.last().map(|e| e.code.as_str()),
            Some("ECONNRESET")
        );
    }

    #[test]
    fn a_woken_client_is_busy_until_it_reports() {
        let mut j = connected();
        j.wake(0);
        assert!(!j.settled());
        client(
            &mut j,
            vec![ClientEvent::Connecting {
                attempt: 2,
                target: String::new(),
            }],
        );
        assert!(!j.settled(), "now the attempt is under way");
        client(
            &mut j,
            vec![ClientEvent::ConnectFailed {
                error: NetError {
                    code: "ECONNREFUSED".into(),
                    message: String::new(),
                },
            }],
        );
        assert!(j.settled());
    }

    #[test]
    fn the_port_and_captured_values_are_masked() {
        let mut j = connected();
        client(
            &mut j,
            vec![ClientEvent::Sent {
                data: data("token 1234abcd\n"),
            }],
        );
        server(
            &mut j,
            vec![ServerEvent::Received {
                conn: 1,
                data: data("token 1234abcd\n"),
            }],
        );
        j.close_window();
        j.mask_value("token", "1234abcd");
        let transcript = j.transcript().join("\n");
        assert!(
            transcript.contains("connecting to 127.0.0.1:${port}"),
            "{transcript}"
        );
        assert!(
            transcript.contains(r#"alice > "token ${token}\n""#),
            "{transcript}"
        );
        assert!(!transcript.contains("1234abcd"), "{transcript}");
    }

    /// Folds a client program's connect seen from the fake server, and the
    /// line the program prints when it connects, in the order given; then
    /// the runner's `wait_connected` and `expect` as the runner does them.
    fn program_connects(line_first: bool) -> String {
        let program = ClientInfo {
            name: "prog".into(),
            encoding: Encoding::Utf8,
            program: Some(true),
        };
        let mut j = Journal::new(&[program], Some(FakeKind::Echo), false, PORT);
        let accepted = ServerEvent::Accepted {
            conn: 1,
            peer: addr(5000),
        };
        let printed = ProgramEvent::Output {
            pipe: Pipe::Stderr,
            data: data("connected\nmore\n"),
        };
        if line_first {
            report(&mut j, Source::Client(0), vec![printed]);
            server(&mut j, vec![accepted]);
        } else {
            server(&mut j, vec![accepted]);
            // `expect` found nothing yet: the conversation settled meanwhile.
            j.close_window();
            report(&mut j, Source::Client(0), vec![printed]);
        }
        let regex = regex::RegexBuilder::new("^connected$")
            .multi_line(true)
            .build()
            .unwrap();
        assert!(j.client_mut(0).output.take(&regex).is_some());
        j.sync_programs();
        server(
            &mut j,
            vec![ServerEvent::Sent {
                conn: 1,
                data: data("hello\n"),
            }],
        );
        j.close_window();
        j.release_programs();
        j.transcript().join("\n")
    }

    #[test]
    fn program_output_shows_where_it_was_consumed_not_when_it_arrived() {
        let expected = [
            r#"server[prog]: accepted connection 1"#,
            r#"prog stderr "connected\n""#,
            r#"server[prog] > "hello\n""#,
            r#"prog stderr "more\n""#,
        ]
        .join("\n");
        assert_eq!(program_connects(true), expected);
        assert_eq!(program_connects(false), expected);
    }

    #[test]
    fn a_character_cut_short_by_a_close_is_shown_with_its_connection() {
        let mut j = connected();
        client(
            &mut j,
            vec![ClientEvent::Sent {
                data: Bytes::from_static(b"caf\xc3"),
            }],
        );
        server(
            &mut j,
            vec![ServerEvent::Received {
                conn: 1,
                data: Bytes::from_static(b"caf\xc3"),
            }],
        );
        j.close_window();
        client(
            &mut j,
            vec![ClientEvent::Closed {
                reason: CloseReason::Reset,
                written: 4,
            }],
        );
        j.close_window();
        let transcript = j.transcript().join("\n");
        let sent: Vec<&str> = transcript
            .lines()
            .filter(|l| l.starts_with("alice > "))
            .collect();
        assert_eq!(sent.len(), 2, "{transcript}");
        assert_eq!(sent[1], r#"alice > "\xc3""#, "{transcript}");
    }
}
