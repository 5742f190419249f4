//! Keeps what steps wait on: each client's and the server's state, and the decoded output `expect` reads.

use std::collections::{BTreeSet, HashMap, VecDeque};

use super::ClientInfo;
use crate::client::encoding::{Decoder, Encoding};
use crate::event::{ClientEvent, CloseReason, Exit, NetError, Pipe, ProgramEvent, ServerEvent};
use crate::runner::frames::FrameBuffer;
use crate::runner::output::OutputBuffer;
use crate::scenario::OutputStream;

/// Keeps the last lines of a program's output, for failure reports.
const TAIL_LINES: usize = 20;

/// Holds what the runner knows of one client.
#[derive(Debug)]
pub struct ClientState {
    /// The client's name.
    pub name: String,
    /// Currently connected.
    pub connected: bool,
    /// Successful connects so far.
    pub connects: u32,
    /// The highest retry scheduled since the last connect (`retry N/M`):
    /// N failures since then, connects and losses alike.
    pub retries_scheduled: u32,
    /// Errors reported (connect failures and broken connections), in order.
    pub errors: Vec<NetError>,
    /// How each connection closed, in order.
    pub closes: Vec<CloseReason>,
    /// Set when it gave up: (retries, last error code, unsent bytes).
    pub gave_up: Option<(u32, Option<String>, u64)>,
    /// It reconnects after a lost or refused connection (`reconnect:`).
    reconnect: bool,
    /// It quit (the quit word).
    pub quit: bool,
    /// An `end` step ended its side: it does not reconnect.
    pub ended: bool,
    /// It aborted its connection (RST) and does not reconnect.
    pub aborted: bool,
    /// The peer ended the current connection first (its FIN came before ours).
    peer_ended: bool,
    /// How its last connection closed, and whether the server began it.
    pub last_close: Option<(CloseReason, bool)>,
    /// A connect attempt is under way or a retry is scheduled.
    pub trying: bool,
    /// Bytes it reported it will never send (when it gave up or stopped).
    pub unsent: u64,
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
    /// A program client's separate stderr, decoded, for `stream: stderr`.
    pub stderr: OutputBuffer,
    /// With `framing:`, the frames received, for `expect_frame`.
    pub frames: FrameBuffer,
}

impl ClientState {
    fn new(info: &ClientInfo) -> Self {
        Self {
            name: info.name.clone(),
            connected: false,
            connects: 0,
            retries_scheduled: 0,
            errors: Vec::new(),
            closes: Vec::new(),
            gave_up: None,
            reconnect: info.reconnect,
            quit: false,
            ended: false,
            aborted: false,
            peer_ended: false,
            last_close: None,
            trying: false,
            unsent: 0,
            output: OutputBuffer::default(),
            decoder: info.encoding.decoder(),
            program: info.program.is_some(),
            merge_stderr: info.program == Some(true),
            exit: None,
            stderr_decoder: info.encoding.decoder(),
            stderr: OutputBuffer::default(),
            frames: FrameBuffer::default(),
        }
    }

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

    /// Returns true when no more events can come from the client: it gave
    /// up, a program exited, or its connection is closed and it will not
    /// connect again (it quit, ended, or does not reconnect).
    pub fn stopped(&self) -> bool {
        if self.program {
            return self.exit.is_some();
        }
        self.gave_up.is_some()
            || (!self.connected
                && !self.trying
                && (self.quit || self.ended || self.aborted || !self.reconnect)
                && (self.last_close.is_some() || !self.errors.is_empty()))
    }

    /// Decodes a program's output into the buffer `expect` reads it from.
    fn program_output(&mut self, pipe: Pipe, data: &[u8]) -> Decoded {
        let (stream, text) = match pipe {
            Pipe::Stdout => (OutputStream::Stdout, self.decoder.decode(data)),
            Pipe::Stdin | Pipe::Stderr if self.merge_stderr => {
                (OutputStream::Stdout, self.stderr_decoder.decode(data))
            }
            Pipe::Stdin | Pipe::Stderr => (OutputStream::Stderr, self.stderr_decoder.decode(data)),
        };
        self.read_mut(stream).push(&text);
        Decoded { stream, pipe, text }
    }
}

/// Holds what the runner knows of the server.
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
    /// Connections open now.
    pub open: BTreeSet<u32>,
    /// Connections whose client may still send (no FIN, not closed).
    inputs: BTreeSet<u32>,
    /// How connections that no built-in client owns closed (program clients).
    pub unowned_closes: Vec<CloseReason>,
    /// A server program's output, decoded, for `ready: {log: ...}`.
    pub log: OutputBuffer,
    /// The same output, for `server_expect`.
    pub program_output: OutputBuffer,
    log_decoder: Option<Decoder>,
    /// A server program's last output lines.
    pub tail: VecDeque<String>,
    /// With `framing:`, the frames each connection received, for `server_expect_frame`.
    pub frames: HashMap<u32, FrameBuffer>,
    /// The frames of every connection together, in arrival order.
    pub all_frames: FrameBuffer,
    /// A server program is running.
    pub running: bool,
    /// How the server program last ended.
    pub exit: Option<Exit>,
}

impl ServerState {
    /// Notes that connection `conn`'s client sends no more: its text, and
    /// once every connection's has, all the text, is matched as it is.
    fn input_ended(&mut self, conn: u32) {
        if self.inputs.remove(&conn) {
            let tail = self.decoders.get_mut(&conn).map(Decoder::finish);
            let output = self.outputs.entry(conn).or_default();
            output.push(&tail.unwrap_or_default());
            output.end();
            if self.inputs.is_empty() {
                self.all_output.end();
            }
        }
    }

    /// Returns true when connection `conn`'s client can send no more.
    pub fn input_over(&self, conn: u32) -> bool {
        conn <= self.accepted && !self.inputs.contains(&conn)
    }

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

/// Says where a piece of a program's decoded output went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The buffer `expect` reads it from.
    pub stream: OutputStream,
    /// The pipe it came from.
    pub pipe: Pipe,
    /// The text.
    pub text: String,
}

/// Holds the state of every client and of the server.
#[derive(Debug)]
pub struct State {
    clients: Vec<ClientState>,
    server: ServerState,
}

impl State {
    /// Creates the state of these clients and a server that has not started.
    pub fn new(clients: &[ClientInfo]) -> Self {
        Self {
            clients: clients.iter().map(ClientState::new).collect(),
            server: ServerState::default(),
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

    /// Returns the clients' states, by index.
    pub fn clients(&self) -> &[ClientState] {
        &self.clients
    }

    /// Returns the server's state.
    pub fn server(&self) -> &ServerState {
        &self.server
    }

    /// Returns the server's state for `server_expect` to consume from.
    pub fn server_mut(&mut self) -> &mut ServerState {
        &mut self.server
    }

    /// Notes that server connection `conn` is client `index`'s.
    pub fn pair(&mut self, conn: u32, index: usize) {
        self.server.conn_client.insert(conn, index);
    }

    /// Folds built-in client `index`'s event; returns the text it added to
    /// what `expect` reads (received bytes, decoded; a character cut short
    /// when the connection ends).
    pub fn client_event(&mut self, index: usize, event: &ClientEvent) -> String {
        let client = &mut self.clients[index];
        let mut added = String::new();
        match event {
            ClientEvent::Connecting { .. } => client.trying = true,
            ClientEvent::Connected { .. } => {
                client.connected = true;
                client.trying = false;
                client.peer_ended = false;
                client.connects += 1;
                client.retries_scheduled = 0;
            }
            ClientEvent::ConnectFailed { error } => {
                client.trying = false;
                client.errors.push(error.clone());
            }
            ClientEvent::Received { data } => {
                added = client.decoder.decode(data);
                client.output.push(&added);
            }
            ClientEvent::PeerEnded => {
                client.peer_ended = true;
                added = client.decoder.finish();
                client.output.push(&added);
                client.output.end();
            }
            ClientEvent::Closed { reason, .. } => {
                client.connected = false;
                client.closes.push(reason.clone());
                let by_server = client.peer_ended || *reason == CloseReason::Reset;
                client.last_close = Some((reason.clone(), by_server));
                added = client.decoder.finish();
                client.output.push(&added);
                client.output.end();
                match reason {
                    CloseReason::Reset => client.errors.push(NetError {
                        code: "ECONNRESET".into(),
                        message: "connection reset by peer".into(),
                    }),
                    CloseReason::Error(error) => client.errors.push(error.clone()),
                    CloseReason::Fin | CloseReason::Aborted => {}
                }
            }
            ClientEvent::RetryScheduled { retry, .. } => {
                client.retries_scheduled = client.retries_scheduled.max(*retry);
                client.trying = true;
            }
            ClientEvent::Quit => client.quit = true,
            ClientEvent::Abort { reconnect } => client.aborted = !reconnect,
            ClientEvent::GaveUp {
                retries,
                last_error,
                unsent,
            } => {
                let code = last_error.as_ref().map(|e| e.code.clone());
                client.gave_up = Some((*retries, code, *unsent));
                client.unsent += unsent;
            }
            ClientEvent::Unsent { bytes, .. } => client.unsent += bytes,
            ClientEvent::Sent { .. }
            | ClientEvent::Queued { .. }
            | ClientEvent::Ended
            | ClientEvent::NoAnswer { .. }
            | ClientEvent::Redialing { .. }
            | ClientEvent::ReadingPaused
            | ClientEvent::ReadingResumed => {}
        }
        added
    }

    /// Folds client program `index`'s event; returns the output it decoded.
    pub fn client_program_event(&mut self, index: usize, event: &ProgramEvent) -> Vec<Decoded> {
        let client = &mut self.clients[index];
        match event {
            ProgramEvent::Output { pipe, data } => vec![client.program_output(*pipe, data)],
            ProgramEvent::Exited { exit } => {
                client.exit = Some(exit.clone());
                // Characters cut short at the end are shown as they are.
                let out = client.decoder.finish();
                let err = client.stderr_decoder.finish();
                let err_stream = if client.merge_stderr {
                    OutputStream::Stdout
                } else {
                    OutputStream::Stderr
                };
                let pieces = [
                    (OutputStream::Stdout, Pipe::Stdout, out),
                    (err_stream, Pipe::Stderr, err),
                ];
                let decoded = pieces
                    .into_iter()
                    .map(|(stream, pipe, text)| {
                        client.read_mut(stream).push(&text);
                        Decoded { stream, pipe, text }
                    })
                    .collect();
                client.output.end();
                client.stderr.end();
                decoded
            }
            ProgramEvent::Started { .. }
            | ProgramEvent::Input { .. }
            | ProgramEvent::StdinClosed
            | ProgramEvent::Signalled { .. }
            | ProgramEvent::Ready => Vec::new(),
        }
    }

    /// Folds the fake server's event.
    pub fn server_event(&mut self, event: &ServerEvent) {
        let server = &mut self.server;
        match event {
            ServerEvent::Listening { .. } => server.up = true,
            ServerEvent::Down { .. } | ServerEvent::Blackholed { .. } => server.up = false,
            ServerEvent::Accepted { conn, .. } => {
                server.accepted += 1;
                server.open.insert(*conn);
                server.inputs.insert(*conn);
            }
            ServerEvent::PeerEnded { conn } => server.input_ended(*conn),
            ServerEvent::Received { conn, data } => {
                let decoder = server
                    .decoders
                    .entry(*conn)
                    .or_insert_with(|| Encoding::Utf8.decoder());
                let text = decoder.decode(data);
                server.outputs.entry(*conn).or_default().push(&text);
                let all = server
                    .all_decoder
                    .get_or_insert_with(|| Encoding::Utf8.decoder());
                let text = all.decode(data);
                server.all_output.push(&text);
            }
            ServerEvent::Closed { conn, reason } => {
                server.open.remove(conn);
                server.input_ended(*conn);
                if !server.conn_client.contains_key(conn) {
                    // Seen from the server, a program client's FIN or reset.
                    let seen = match reason {
                        CloseReason::Aborted | CloseReason::Reset => CloseReason::Reset,
                        other => other.clone(),
                    };
                    server.unowned_closes.push(seen);
                }
            }
            ServerEvent::Sent { .. }
            | ServerEvent::Ended { .. }
            | ServerEvent::RuleMatched { .. }
            | ServerEvent::NoRuleMatched { .. }
            | ServerEvent::Waiting { .. }
            | ServerEvent::Resumed { .. }
            | ServerEvent::Stalled { .. }
            | ServerEvent::FramingFailed { .. } => {}
        }
    }

    /// Folds the server program's event; returns the output it decoded.
    pub fn server_program_event(&mut self, event: &ProgramEvent) -> Option<(Pipe, String)> {
        let server = &mut self.server;
        match event {
            ProgramEvent::Started { .. } => server.running = true,
            ProgramEvent::Output { pipe, data } => {
                let decoder = server
                    .log_decoder
                    .get_or_insert_with(|| Encoding::Utf8.decoder());
                let text = decoder.decode(data);
                server.log.push(&text);
                server.program_output.push(&text);
                for line in text.lines() {
                    if server.tail.len() == TAIL_LINES {
                        server.tail.pop_front();
                    }
                    server.tail.push_back(line.to_owned());
                }
                return Some((*pipe, text));
            }
            ProgramEvent::Exited { exit } => {
                server.running = false;
                server.exit = Some(exit.clone());
                if let Some(decoder) = &mut server.log_decoder {
                    let tail = decoder.finish();
                    server.log.push(&tail);
                    server.program_output.push(&tail);
                }
                server.log.end();
                server.program_output.end();
            }
            ProgramEvent::Input { .. }
            | ProgramEvent::StdinClosed
            | ProgramEvent::Signalled { .. }
            | ProgramEvent::Ready => {}
        }
        None
    }
}
