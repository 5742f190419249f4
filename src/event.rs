//! Defines the typed events that clients, servers, proxies and the runner report, and the sink they report into.
//!
//! A leaf module: it imports nothing from the rest of the crate, so every
//! actor (and `tcprun proxy`) can report through it.

use std::net::SocketAddr;
use std::time::Duration;

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

mod proxy;

pub use proxy::{Direction, DownMode, FaultLabel, ProxyEvent, Side};

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
    Sent {
        data: Bytes,
        /// How the transcript shows generated data (`random(1048576 bytes,
        /// seed 3)`), instead of its bytes.
        summary: Option<Arc<str>>,
    },
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
    /// The connection is aborted: it closes with RST (SO_LINGER 0) instead
    /// of FIN, reported before the `Closed` that follows. With `reconnect`
    /// the policy applies after it; without, the client stops.
    Abort { reconnect: bool },
    /// It stops reading its socket (a slow reader): what the peer sends
    /// waits in the buffers, and the peer's writes block once they are
    /// full. It sees neither bytes nor the peer's FIN or RST until it reads again.
    ReadingPaused,
    /// It reads its socket again.
    ReadingResumed,
    /// A connect to `addr` gets no answer: the fake server drops SYNs there
    /// (`blackhole_server`). It fails at the connect timeout, which then
    /// runs on the scenario's clock, unless the port answers first.
    NoAnswer { addr: SocketAddr },
    /// The port at `addr` answers again: the connect that got no answer is
    /// dialed again in its turn on the scenario's clock (at once, clients
    /// in order), as its next SYN would find the port.
    Redialing { addr: SocketAddr },
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
    /// The port drops SYNs: connects get no answer (`blackhole_server`);
    /// open connections stay. `Listening` or `Down` ends it.
    Blackholed { addr: SocketAddr },
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
    /// `fake: rules`: a frame matched the rule `rule` (its label, such as
    /// `ehlo (smtp.yaml:7)`); the rest of the batch carries out its reply.
    RuleMatched {
        conn: u32,
        rule: std::sync::Arc<str>,
        payload: Bytes,
    },
    /// `fake: rules`: no rule matched a frame; nothing is sent for it.
    NoRuleMatched { conn: u32, payload: Bytes },
    /// `fake: rules`: a rule's `delay` begins; the batch that reports it
    /// asks for the timer, on the scenario's clock.
    Waiting { conn: u32, delay: Duration },
    /// `fake: rules`: the delay is over (the first event of the batch that
    /// goes on after it).
    Resumed { conn: u32 },
    /// `fake: rules`: a rule stalled the connection: it reads nothing more,
    /// and never writes or closes by itself.
    Stalled { conn: u32 },
    /// `fake: rules`: what a connection received cannot be cut into
    /// frames (its framing's error, with the byte offset); no rule applies
    /// on it any more.
    FramingFailed { conn: u32, error: String },
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
