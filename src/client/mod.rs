//! The reconnecting TCP client: connects, reports every event, and reconnects by its policy.
//!
//! A client runs as one task. Callers talk to it through a [`ClientHandle`]
//! (write, end, quit) and learn what happened from the [`Event`](crate::event::Event)s
//! it reports through its [`Emitter`].

mod dial;
pub mod encoding;
pub mod error;
pub mod policy;
mod task;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::event::{Emitter, NetError, UnsentReason};
pub use policy::{Backoff, ReconnectPolicy};

/// Configures a client.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The host to connect to (`localhost` by default, as Node's `createConnection(port)`).
    pub host: String,
    /// The port to connect to.
    pub port: u16,
    /// When and how often to reconnect.
    pub policy: ReconnectPolicy,
    /// Bounds the name lookup and each address's connect within an attempt;
    /// past it, that part fails with `ETIMEDOUT`.
    pub connect_timeout: Duration,
    /// How many bytes of input are held while disconnected; beyond this the
    /// client stops taking input until it can send again.
    pub buffer_limit: usize,
    /// The size of each socket read.
    pub read_size: usize,
    /// The socket's receive buffer (SO_RCVBUF), set before connecting;
    /// the system's default when `None`.
    pub receive_buffer: Option<usize>,
    /// Connect at once; when false, wait for [`ClientHandle::start`] first
    /// (taking data meanwhile, held for its first connection).
    pub start: bool,
    /// Retry a host name that does not resolve (`ENOTFOUND`); by default
    /// it fails at once, as a typo would.
    pub retry_unresolved: bool,
    /// Accept connections on this listener instead of connecting to
    /// `host:port` (`tcprun serve --stdio`): each connection is one "attempt".
    /// After a connection ends, the next is accepted at once when the policy
    /// is enabled (`--keep-open`); its delays and limit then apply only to
    /// failed accepts.
    pub accept: Option<Arc<TcpListener>>,
    /// Where a scenario's fake server drops SYNs (`blackhole_server`): a
    /// connect there waits on the scenario's clock (see `client::dial`).
    pub blackholes: Option<crate::server::Blackholes>,
}

impl ClientOptions {
    /// Creates options for `host:port` with the chapter's defaults.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
            policy: ReconnectPolicy::default(),
            connect_timeout: crate::scenario::keys::CONNECT_TIMEOUT,
            buffer_limit: 1 << 20,
            read_size: 64 * 1024,
            receive_buffer: None,
            start: true,
            retry_unresolved: false,
            accept: None,
            blackholes: None,
        }
    }
}

/// Tells a writer what became of its data.
#[derive(Debug)]
pub enum Delivery {
    /// Handed to the socket (not necessarily received by the peer).
    Written,
    /// Held while disconnected; the receiver fires once it is handed to a
    /// socket, and errs if it never is.
    Queued(oneshot::Receiver<()>),
}

/// Lists what a caller can ask of a running client.
#[derive(Debug)]
pub enum Command {
    /// Send bytes (in order, exactly once).
    Write {
        /// The bytes.
        data: Bytes,
        /// How the transcript shows them, for generated data.
        summary: Option<Arc<str>>,
        /// Told when the data is written or queued.
        ack: Option<oneshot::Sender<Delivery>>,
    },
    /// Send optional last bytes, then half-close; stop reconnecting.
    End {
        /// Bytes to send before the FIN.
        data: Option<Bytes>,
        /// Told when the command has been taken.
        ack: Option<oneshot::Sender<()>>,
    },
    /// The quit word: send what is held, end the connection, and never
    /// reconnect once nothing is left to send.
    Quit {
        /// Told when the command has been taken.
        ack: Option<oneshot::Sender<()>>,
    },
}

/// Lists what a caller can ask of a running client beyond its data: taken
/// at any time, also while its input waits (a full buffer, after `end`).
#[derive(Debug)]
pub enum Control {
    /// Close the connection with RST (an abortive close: SO_LINGER 0)
    /// instead of FIN; then reconnect by the policy when `reconnect`, else
    /// stop. Told whether there was a connection to abort.
    Abort {
        /// Reconnect by the policy afterwards.
        reconnect: bool,
        /// Told whether a connection was aborted.
        ack: oneshot::Sender<bool>,
    },
    /// Stop reading the socket (a slow reader): the peer's writes block
    /// once the buffers are full. It lasts across connections, until `ResumeReading`.
    PauseReading {
        /// Told when the order is taken.
        ack: oneshot::Sender<()>,
    },
    /// Read the socket again.
    ResumeReading {
        /// Told when the order is taken.
        ack: oneshot::Sender<()>,
    },
    /// Start connecting, for a client made with `start` false; nothing for
    /// one that has started.
    Start {
        /// Told when the order is taken.
        ack: oneshot::Sender<()>,
    },
}

/// Says how a client's run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The quit word ended it.
    Quit,
    /// A deliberate `end` ended it, after the peer closed too.
    Ended,
    /// Reconnecting is off and the peer closed the connection in order.
    PeerClosed,
    /// Reconnecting is off and the connection failed or broke.
    Failed(NetError),
    /// The retry limit was reached.
    GaveUp {
        /// Retries made after the last connection or first attempt.
        retries: u32,
        /// The error of the last attempt.
        last_error: Option<NetError>,
        /// Bytes that were never written.
        unsent: u64,
    },
    /// The shutdown signal stopped it.
    Shutdown,
    /// An abort (RST) without reconnecting ended it.
    Aborted,
    /// It stopped (no retry followed, or the shutdown signal) with bytes it
    /// never wrote; an [`Unsent`](crate::event::ClientEvent::Unsent) event said so.
    Unsent {
        /// Bytes that were never written.
        bytes: u64,
        /// Why it stopped.
        reason: UnsentReason,
    },
}

impl Outcome {
    /// Returns true when the run ended as the user asked (quit, end, orderly close).
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Quit | Outcome::Ended | Outcome::PeerClosed)
    }
}

/// Reports that the client task is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the client has stopped")]
pub struct ClientGone;

/// Sends commands to a running client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ClientHandle {
    commands: mpsc::Sender<Command>,
    control: mpsc::Sender<Control>,
}

impl ClientHandle {
    /// Sends `data`; returns once it is written or queued (see [`Delivery`]).
    pub async fn write(&self, data: Bytes) -> Result<Delivery, ClientGone> {
        self.write_summarized(data, None).await
    }

    /// Sends `data`, which the transcript shows as `summary` when given
    /// (generated data); returns once it is written or queued.
    pub async fn write_summarized(
        &self,
        data: Bytes,
        summary: Option<Arc<str>>,
    ) -> Result<Delivery, ClientGone> {
        let (ack, done) = oneshot::channel();
        self.command(Command::Write {
            data,
            summary,
            ack: Some(ack),
        })
        .await?;
        done.await.map_err(|_| ClientGone)
    }

    /// Sends `data` without waiting for it to be written; waits only while
    /// the client's input buffer is full (backpressure).
    pub async fn write_nowait(&self, data: Bytes) -> Result<(), ClientGone> {
        self.command(Command::Write {
            data,
            summary: None,
            ack: None,
        })
        .await
    }

    /// Half-closes after sending `data`; returns once the client took the command.
    pub async fn end(&self, data: Option<Bytes>) -> Result<(), ClientGone> {
        let (ack, done) = oneshot::channel();
        self.command(Command::End {
            data,
            ack: Some(ack),
        })
        .await?;
        done.await.map_err(|_| ClientGone)
    }

    /// Quits: sends what is held, ends the connection, and stops
    /// reconnecting once nothing is left to send.
    pub async fn quit(&self) -> Result<(), ClientGone> {
        let (ack, done) = oneshot::channel();
        self.command(Command::Quit { ack: Some(ack) }).await?;
        done.await.map_err(|_| ClientGone)
    }

    async fn command(&self, command: Command) -> Result<(), ClientGone> {
        self.commands.send(command).await.map_err(|_| ClientGone)
    }

    /// Aborts the connection (RST); returns false when there was none.
    /// With `reconnect`, the client then reconnects by its policy; without,
    /// it stops.
    pub async fn abort(&self, reconnect: bool) -> Result<bool, ClientGone> {
        let (ack, done) = oneshot::channel();
        self.order(Control::Abort { reconnect, ack }).await?;
        done.await.map_err(|_| ClientGone)
    }

    /// Stops reading the socket (`true`) or reads it again (`false`).
    pub async fn pause_reading(&self, pause: bool) -> Result<(), ClientGone> {
        let (ack, done) = oneshot::channel();
        let control = if pause {
            Control::PauseReading { ack }
        } else {
            Control::ResumeReading { ack }
        };
        self.order(control).await?;
        done.await.map_err(|_| ClientGone)
    }

    /// Starts a client made with `start` false: it connects now.
    pub async fn start(&self) -> Result<(), ClientGone> {
        let (ack, done) = oneshot::channel();
        self.order(Control::Start { ack }).await?;
        done.await.map_err(|_| ClientGone)
    }

    async fn order(&self, control: Control) -> Result<(), ClientGone> {
        self.control.send(control).await.map_err(|_| ClientGone)
    }
}

/// Starts a client task; it runs until it quits, ends, gives up, or `shutdown` fires.
pub fn spawn(
    options: ClientOptions,
    emitter: Emitter,
    shutdown: CancellationToken,
) -> (ClientHandle, JoinHandle<Outcome>) {
    let (commands, rx) = mpsc::channel(4);
    let (control, orders) = mpsc::channel(1);
    let task = tokio::spawn(task::ClientTask::new(options, emitter, rx, orders, shutdown).run());
    (ClientHandle { commands, control }, task)
}
