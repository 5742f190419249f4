//! Defines the typed events that clients, servers, proxies and the runner report, and the sink they report into.
//!
//! A leaf module: it imports nothing from the rest of the crate, so every
//! actor (and `tcprun proxy`) can report through it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

/// Names who reported an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// A client (built-in or program), by index in declaration order.
    Client(usize),
    /// The server (fake or program).
    Server,
    /// A proxy between clients and the server, by index in declaration order.
    Proxy(usize),
}

/// Describes a network error the way Node does: a POSIX code and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetError {
    /// `ECONNREFUSED`, `ENOTFOUND`, `ETIMEDOUT`, ...
    pub code: String,
    /// A lowercase human message, e.g. `connection refused`.
    pub message: String,
}

impl std::fmt::Display for NetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.code, self.message)
    }
}

/// Names how a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// Orderly: both sides sent FIN.
    Fin,
    /// The peer aborted the connection (RST, `ECONNRESET`).
    Reset,
    /// Another I/O error ended it.
    Error(NetError),
    /// We aborted it ourselves (RST), or the program is shutting down.
    Aborted,
}

impl CloseReason {
    /// Returns true for an abortive close (RST in either direction).
    pub fn is_reset(&self) -> bool {
        matches!(self, CloseReason::Reset | CloseReason::Aborted)
    }
}

/// Says how a program ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this code.
    Code(i32),
    /// A signal ended it (the name without `SIG`).
    Signal(String),
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Code(code) => write!(f, "exited with code {code}"),
            Exit::Signal(name) => write!(f, "killed by SIG{name}"),
        }
    }
}

/// Lists what the built-in client reports.
///
/// Byte payloads are reference-counted chunks, exactly as read or written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// A connection attempt begins (attempt 1 is the first).
    Connecting { attempt: u32, target: String },
    /// The connection is established.
    Connected { local: SocketAddr, peer: SocketAddr },
    /// A connection attempt failed.
    ConnectFailed { error: NetError },
    /// Bytes are being handed to the socket (reported just before the write).
    Sent { data: Bytes },
    /// Bytes held while disconnected, to be sent after the next connect.
    Queued { data: Bytes },
    /// Bytes arrived.
    Received { data: Bytes },
    /// The peer ended its side (FIN).
    PeerEnded,
    /// We ended our side (FIN), reported just before the shutdown.
    Ended,
    /// The connection is closed. `written` counts the bytes written on it:
    /// after a reset or an error, the last of them may not have arrived
    /// (TCP confirms nothing to the writer), and this says so.
    Closed { reason: CloseReason, written: u64 },
    /// The next attempt is scheduled.
    RetryScheduled {
        retry: u32,
        max: u32,
        delay: Duration,
    },
    /// No more attempts; `unsent` bytes were never written.
    GaveUp {
        retries: u32,
        last_error: Option<NetError>,
        unsent: u64,
    },
    /// The client stopped with `bytes` bytes it never wrote, for `reason`;
    /// they never will be. (A client that gives up says so in `GaveUp`.)
    Unsent { bytes: u64, reason: UnsentReason },
    /// The quit word was given; no reconnect follows once nothing is left to send.
    Quit,
}

/// Says why a client stopped with bytes it never wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnsentReason {
    /// The connection failed or closed, and no retry follows: reconnecting
    /// is off, or the error is one that is not retried (`ENOTFOUND`).
    NoRetry,
    /// The client was stopped while they waited: tcprun is ending (a
    /// timeout, a signal, the end of a scenario).
    Stopped,
}

impl UnsentReason {
    /// Returns the name used in JSON events: `no_retry` or `stopped`.
    pub fn name(self) -> &'static str {
        match self {
            UnsentReason::NoRetry => "no_retry",
            UnsentReason::Stopped => "stopped",
        }
    }

    /// Says why, for people: completes "N bytes never sent: ...".
    pub fn describe(self) -> &'static str {
        match self {
            UnsentReason::NoRetry => "the connection is gone and no retry follows",
            UnsentReason::Stopped => "stopped while they waited",
        }
    }
}

/// Lists what the fake server reports.
///
/// Byte payloads are reference-counted chunks, exactly as read or written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// Listening on this address.
    Listening { addr: SocketAddr },
    /// Stopped listening; connections reset (`kill`) or ended with FIN (`stop`).
    Down { killed: bool, connections: usize },
    /// Accepted connection number `conn` (from 1).
    Accepted { conn: u32, peer: SocketAddr },
    /// Bytes arrived on a connection.
    Received { conn: u32, data: Bytes },
    /// Bytes are being written to a connection (reported just before the write).
    Sent { conn: u32, data: Bytes },
    /// The client ended its side of a connection (FIN).
    PeerEnded { conn: u32 },
    /// We shut down our write side of a connection (FIN), reported just before.
    Ended { conn: u32 },
    /// A connection is closed.
    Closed { conn: u32, reason: CloseReason },
}

/// Lists what happens to a program: a server program, or a client program
/// standing in for a built-in client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProgramEvent {
    /// Started (`command` is argv\[0\]).
    Started { command: String },
    /// Bytes written to its stdin (reported just before).
    Input { data: Bytes },
    /// Its stdin was closed (it sees end of file).
    StdinClosed,
    /// Bytes it wrote to stdout or stderr.
    Output { pipe: Pipe, data: Bytes },
    /// A signal was sent to its process group.
    Signalled { signal: String },
    /// A server program is ready for clients.
    Ready,
    /// It ended.
    Exited { exit: Exit },
}

/// Names one end of a proxied connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The connection the proxy accepted.
    Client,
    /// The connection the proxy dialed to the upstream server.
    Server,
}

impl Side {
    /// Returns `client` or `server`.
    pub fn name(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }

    /// Returns the other end.
    pub fn other(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }
}

/// Names which way bytes flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the client to the server.
    ToServer,
    /// From the server to the client.
    ToClient,
}

impl Direction {
    /// Both directions, `to_server` first.
    pub const BOTH: [Direction; 2] = [Direction::ToServer, Direction::ToClient];

    /// Returns `to_server` or `to_client`.
    pub fn name(self) -> &'static str {
        match self {
            Direction::ToServer => "to_server",
            Direction::ToClient => "to_client",
        }
    }

    /// Returns the side these bytes are read from.
    pub fn from(self) -> Side {
        match self {
            Direction::ToServer => Side::Client,
            Direction::ToClient => Side::Server,
        }
    }

    /// Returns the side these bytes are written to.
    pub fn to(self) -> Side {
        self.from().other()
    }

    /// Returns the direction whose bytes are read from `side`.
    pub fn reading(side: Side) -> Direction {
        match side {
            Side::Client => Direction::ToServer,
            Side::Server => Direction::ToClient,
        }
    }
}

/// Chooses how the proxy is down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DownMode {
    /// New connects are refused (`ECONNREFUSED`); open connections stay.
    Refuse,
    /// New connects get no answer and time out (`ETIMEDOUT`); open connections stay.
    Blackhole,
    /// Every open connection is reset, then new connects are refused.
    Reset,
}

impl DownMode {
    /// Every mode, in the order the command line lists them.
    pub const ALL: [DownMode; 3] = [DownMode::Refuse, DownMode::Blackhole, DownMode::Reset];

    /// Returns `refuse`, `blackhole` or `reset`.
    pub fn name(self) -> &'static str {
        match self {
            DownMode::Refuse => "refuse",
            DownMode::Blackhole => "blackhole",
            DownMode::Reset => "reset",
        }
    }
}

/// Lists everything the proxy reports.
///
/// Each is reported before its effect reaches the other side (bytes before
/// they are written on, a FIN or RST before it is passed on), and what the
/// proxy does in response to one stimulus is reported as one batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyEvent {
    /// Listening on `addr`: at the start, and after `up`.
    Up {
        /// The proxy's address (with the real port).
        addr: SocketAddr,
    },
    /// Down: new connects are refused or time out; with
    /// [`DownMode::Reset`], the `connections` open are reset (their resets follow).
    Down {
        /// How.
        mode: DownMode,
        /// How many connections were open.
        connections: usize,
    },
    /// Accepted connection number `conn` (from 1).
    Accepted {
        /// The connection's number.
        conn: u32,
        /// The client's address.
        peer: SocketAddr,
    },
    /// Connected to the upstream server for `conn`.
    Dialed {
        /// The connection's number.
        conn: u32,
        /// The proxy's own address on that connection (the server sees it as its peer).
        local: SocketAddr,
        /// The server's address.
        upstream: SocketAddr,
    },
    /// The upstream server could not be reached; the client connection is reset.
    DialFailed {
        /// The connection's number.
        conn: u32,
        /// Why, with its POSIX code (`ECONNREFUSED`, ...).
        error: NetError,
    },
    /// Bytes are being written on toward `direction.to()` (reported just before).
    Forwarded {
        /// The connection's number.
        conn: u32,
        /// Which way.
        direction: Direction,
        /// The bytes, exactly as written in one write.
        data: Bytes,
    },
    /// Bytes were read and discarded (a `drop` fault, or after a cut).
    Dropped {
        /// The connection's number.
        conn: u32,
        /// Which way they were going.
        direction: Direction,
        /// The bytes.
        data: Bytes,
    },
    /// `side` ended its side of the connection (FIN).
    FinSeen {
        /// The connection's number.
        conn: u32,
        /// Who sent the FIN.
        side: Side,
    },
    /// The proxy ends its side toward `side` (FIN), reported just before.
    FinPassed {
        /// The connection's number.
        conn: u32,
        /// Who receives the FIN.
        side: Side,
    },
    /// `side` reset the connection (RST).
    RstSeen {
        /// The connection's number.
        conn: u32,
        /// Who reset.
        side: Side,
    },
    /// The proxy resets its connection to `side` (RST), reported just before.
    RstSent {
        /// The connection's number.
        conn: u32,
        /// Who receives the RST.
        side: Side,
    },
    /// An I/O error other than a reset broke the connection to `side`.
    Failed {
        /// The connection's number.
        conn: u32,
        /// Where.
        side: Side,
        /// What, with its POSIX code.
        error: NetError,
    },
    /// The connection is over: both sockets are closed (or being closed).
    Closed {
        /// The connection's number.
        conn: u32,
        /// Bytes written to the server.
        to_server: u64,
        /// Bytes written to the client.
        to_client: u64,
    },
    /// A fault acted on a connection for the first time.
    FaultFired {
        /// The connection's number.
        conn: u32,
        /// The fault.
        fault: Arc<FaultLabel>,
        /// Which way.
        direction: Direction,
        /// The offset in that direction's bytes where it acted (bytes
        /// before it passed as they would have without the fault).
        offset: u64,
    },
    /// A fault was added; it applies to open and later connections.
    FaultAdded {
        /// The fault.
        fault: Arc<FaultLabel>,
    },
    /// Faults were cleared (by name, or all).
    FaultsCleared {
        /// Their names, in the order they were added.
        names: Vec<Arc<str>>,
    },
    /// Where one direction of a connection stands, reported in the batch
    /// in which it changes. Bytes read and not yet forwarded or dropped
    /// wait for a timer, a fault to be cleared or more input (a pending
    /// `on:` match), unless a write is under way.
    DirectionState {
        /// The connection's number.
        conn: u32,
        /// Which way.
        direction: Direction,
        /// Bytes read from the sender so far.
        read: u64,
        /// A write toward the receiver is under way.
        writing: bool,
        /// What the sender sends is read as it comes (no stall, no full
        /// queue, no FIN read yet).
        reading: bool,
    },
}

/// Describes a fault as events show it: its name, its kind and how it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultLabel {
    /// Its name (given, or its kind's key).
    pub name: Arc<str>,
    /// Its kind's key: `latency`, `cut`, ...
    pub kind: &'static str,
    /// Its kind with the kind's options, as map entries: `cut: reset`, `latency: 200ms, jitter: 10ms`.
    pub action: String,
    /// The whole fault as a YAML flow map, as it could be written: `{cut: reset, after_bytes: 100}`.
    pub spec: String,
}

/// Lists everything that can happen, by the kind of actor that reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Reported by a built-in client.
    Client(ClientEvent),
    /// Reported by the fake server.
    Server(ServerEvent),
    /// Reported for a program (a server program or a client program).
    Program(ProgramEvent),
    /// Reported by a proxy.
    Proxy(ProxyEvent),
    /// A wait that the runner's scheduler ended is over for its reporter
    /// (a proxy), and what the reporter did when it ended is reported
    /// before this: the runner counts the reporter busy until then.
    WaitDone,
}

impl From<ClientEvent> for Event {
    fn from(event: ClientEvent) -> Self {
        Event::Client(event)
    }
}

impl From<ServerEvent> for Event {
    fn from(event: ServerEvent) -> Self {
        Event::Server(event)
    }
}

impl From<ProgramEvent> for Event {
    fn from(event: ProgramEvent) -> Self {
        Event::Program(event)
    }
}

impl From<ProxyEvent> for Event {
    fn from(event: ProxyEvent) -> Self {
        Event::Proxy(event)
    }
}

/// Names a program's standard stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pipe {
    /// What tcprun writes to the program.
    Stdin,
    /// The program's standard output.
    Stdout,
    /// The program's standard error.
    Stderr,
}

impl Pipe {
    /// Returns `stdin`, `stdout` or `stderr`.
    pub fn name(self) -> &'static str {
        match self {
            Pipe::Stdin => "stdin",
            Pipe::Stdout => "stdout",
            Pipe::Stderr => "stderr",
        }
    }
}

/// Asks the runner's scheduler to wake the reporter after `delay`.
#[derive(Debug)]
pub struct TimerRequest {
    /// How long to wait.
    pub delay: Duration,
    /// Fired when the time is up; dropped receivers mean the wait was abandoned.
    pub wake: oneshot::Sender<()>,
}

/// Carries one atomic batch of events from one source, and optionally a timer request.
#[derive(Debug)]
pub struct Report {
    /// Who reported.
    pub source: Source,
    /// What happened, in order. A batch is never split or interleaved.
    pub events: Vec<Event>,
    /// A wait that begins right after these events.
    pub timer: Option<TimerRequest>,
}

/// Chooses how reporters wait for time to pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// Real time (tokio timers).
    Real,
    /// The runner's scheduler decides when each wait ends.
    Scheduled,
}

/// Reports events into the one ordered stream; cloned per reporter.
#[derive(Debug, Clone)]
pub struct Emitter {
    tx: mpsc::Sender<Report>,
    source: Source,
    clock: Clock,
}

/// Tells a reporter that nobody listens to its events any more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the event stream is closed")]
pub struct StreamClosed;

impl Emitter {
    /// Creates an emitter for `source` that reports into `tx`.
    pub fn new(tx: mpsc::Sender<Report>, source: Source, clock: Clock) -> Self {
        Self { tx, source, clock }
    }

    /// Reports one event (a [`ClientEvent`], [`ServerEvent`], [`ProgramEvent`] or [`ProxyEvent`]).
    pub async fn emit(&self, event: impl Into<Event>) -> Result<(), StreamClosed> {
        self.emit_all(vec![event.into()]).await
    }

    /// Reports several events as one batch that nothing else can interleave.
    pub async fn emit_all<E: Into<Event>>(&self, events: Vec<E>) -> Result<(), StreamClosed> {
        self.tx
            .send(Report {
                source: self.source,
                events: events.into_iter().map(Into::into).collect(),
                timer: None,
            })
            .await
            .map_err(|_| StreamClosed)
    }

    /// Reports `events` as one batch from where nothing can wait (a
    /// `Drop`): at once when the stream has room, else from a task of its
    /// own. Either way the batch follows everything this reporter reported
    /// before; without a runtime, or once the stream is closed, it is lost.
    pub fn emit_detached<E: Into<Event>>(&self, events: Vec<E>) {
        let report = Report {
            source: self.source,
            events: events.into_iter().map(Into::into).collect(),
            timer: None,
        };
        if let Err(mpsc::error::TrySendError::Full(report)) = self.tx.try_send(report)
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let tx = self.tx.clone();
            runtime.spawn(async move {
                let _ = tx.send(report).await;
            });
        }
    }

    /// Reports `events`, then returns a future that ends when `delay` has passed
    /// by this emitter's clock. Dropping the future abandons the wait.
    pub async fn emit_then_wait<E: Into<Event>>(
        &self,
        events: Vec<E>,
        delay: Duration,
    ) -> Result<Wait, StreamClosed> {
        match self.clock {
            Clock::Real => {
                self.emit_all(events).await?;
                Ok(Wait::Real(Box::pin(tokio::time::sleep(delay))))
            }
            Clock::Scheduled => {
                let (wake, rx) = oneshot::channel();
                self.tx
                    .send(Report {
                        source: self.source,
                        events: events.into_iter().map(Into::into).collect(),
                        timer: Some(TimerRequest { delay, wake }),
                    })
                    .await
                    .map_err(|_| StreamClosed)?;
                Ok(Wait::Scheduled(rx))
            }
        }
    }
}

/// Ends when a wait started by [`Emitter::emit_then_wait`] is over.
#[derive(Debug)]
pub enum Wait {
    /// A tokio timer.
    Real(std::pin::Pin<Box<tokio::time::Sleep>>),
    /// A wake-up from the runner's scheduler.
    Scheduled(oneshot::Receiver<()>),
}

impl std::future::Future for Wait {
    type Output = ();

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        match self.get_mut() {
            Wait::Real(sleep) => sleep.as_mut().poll(cx),
            // A dropped sender means the scheduler is gone: nothing will ever
            // wake us, and the stream is closing, so end the wait.
            Wait::Scheduled(rx) => std::pin::Pin::new(rx).poll(cx).map(|_| ()),
        }
    }
}
