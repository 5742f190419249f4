//! Runs one client: connect, converse, and reconnect by the policy, reporting every step.
//!
//! Reporting follows two rules that keep the event stream causal and let an
//! observer tell when the client is idle:
//! - everything the client does in response to one stimulus (a socket
//!   becoming readable, a command, a timer) is reported as one batch;
//! - a batch is reported before its effects reach the peer (bytes, FIN).

use std::collections::VecDeque;
use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::dial::Dial;
use super::error::{net_error, not_found, timed_out};
use super::{ClientOptions, Command, Control, Delivery, Outcome};
use crate::event::{ClientEvent, CloseReason, Emitter, NetError, StreamClosed, UnsentReason};

mod input;

/// Holds bytes not yet handed to a socket, in order.
struct Chunk {
    data: Bytes,
    /// Bytes of `data` already written.
    offset: usize,
    /// How the transcript shows `data`, for generated data.
    summary: Option<std::sync::Arc<str>>,
    /// Whether a `Sent` event covers the unwritten part.
    announced: bool,
    written: Option<oneshot::Sender<()>>,
    ack: Option<oneshot::Sender<Delivery>>,
}

/// Says how a connection ended. The closing events are still in the batch,
/// so that the reconnect decision joins them; the socket is dropped only
/// after that batch is reported.
enum Ending {
    Closed {
        reason: CloseReason,
        /// Whether our FIN went out (or goes out with the drop).
        ended: bool,
        socket: Option<Held>,
    },
    Shutdown,
}

/// Holds a closing connection's socket until its batch is reported; dropping it closes it.
enum Held {
    /// Dropping them ends our side (FIN) if it was not ended yet.
    Halves {
        _reader: OwnedReadHalf,
        _writer: OwnedWriteHalf,
    },
    /// Aborted: SO_LINGER 0 is set, so dropping it sends RST.
    Aborted { _stream: TcpStream },
}

/// Says what the user asked for, beyond sending.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Finish {
    None,
    End,
    Quit,
}

pub(super) struct ClientTask {
    options: ClientOptions,
    emitter: Emitter,
    commands: mpsc::Receiver<Command>,
    commands_open: bool,
    control: mpsc::Receiver<Control>,
    control_open: bool,
    /// The abort that ended the connection, with whether to reconnect after it.
    aborted: Option<bool>,
    /// It does not read its socket (`pause_reading`), on any connection.
    paused: bool,
    /// It may connect: from the start, or once told to (`start` false).
    started: bool,
    shutdown: CancellationToken,
    pending: VecDeque<Chunk>,
    pending_bytes: usize,
    finish: Finish,
    attempt: u32,
    /// Bytes written on the current connection.
    written: u64,
    /// Events of the stimulus being handled, not yet reported.
    batch: Vec<ClientEvent>,
    /// Acknowledgements to send once the batch is reported, so that a caller
    /// who hears back also finds the events in the stream.
    acks: Vec<Ack>,
}

/// Holds an acknowledgement that waits for the batch to be reported.
enum Ack {
    Taken(oneshot::Sender<()>),
    Delivered(oneshot::Sender<Delivery>, Delivery),
    Told(oneshot::Sender<bool>, bool),
}

impl ClientTask {
    pub(super) fn new(
        options: ClientOptions,
        emitter: Emitter,
        commands: mpsc::Receiver<Command>,
        control: mpsc::Receiver<Control>,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            started: options.start,
            options,
            emitter,
            commands,
            commands_open: true,
            control,
            control_open: true,
            aborted: None,
            paused: false,
            shutdown,
            pending: VecDeque::new(),
            pending_bytes: 0,
            finish: Finish::None,
            attempt: 0,
            written: 0,
            batch: Vec::new(),
            acks: Vec::new(),
        }
    }

    pub(super) async fn run(mut self) -> Outcome {
        match self.run_inner().await {
            Ok(outcome) => outcome,
            Err(StreamClosed) => Outcome::Shutdown,
        }
    }

    /// Reports the batch, if any, then sends the acknowledgements it covers.
    async fn flush(&mut self) -> Result<(), StreamClosed> {
        if !self.batch.is_empty() {
            let events = std::mem::take(&mut self.batch);
            self.emitter.emit_all(events).await?;
        }
        self.send_acks();
        Ok(())
    }

    fn send_acks(&mut self) {
        for ack in self.acks.drain(..) {
            match ack {
                Ack::Taken(tx) => {
                    let _ = tx.send(());
                }
                Ack::Delivered(tx, delivery) => {
                    let _ = tx.send(delivery);
                }
                Ack::Told(tx, answer) => {
                    let _ = tx.send(answer);
                }
            }
        }
    }

    async fn run_inner(&mut self) -> Result<Outcome, StreamClosed> {
        if let Some(outcome) = self.wait_for_start().await? {
            return Ok(outcome);
        }
        let mut retries = 0u32;
        loop {
            self.attempt += 1;
            self.batch.push(ClientEvent::Connecting {
                attempt: self.attempt,
                target: match &self.options.accept {
                    Some(listener) => listener
                        .local_addr()
                        .map_or_else(|_| "the listener".to_owned(), |addr| addr.to_string()),
                    None => format!("{}:{}", self.options.host, self.options.port),
                },
            });
            self.flush().await?;
            let mut socket = None;
            let mut ended_here = false;
            let mut connected = false;
            let failure = match self.connect().await? {
                Attempt::Shutdown => return Ok(self.stopped().await),
                Attempt::Stopped => {
                    self.flush().await?;
                    return Ok(Outcome::Quit);
                }
                Attempt::Failed(error) => {
                    self.batch.push(ClientEvent::ConnectFailed {
                        error: error.clone(),
                    });
                    Some(error)
                }
                Attempt::Connected(stream) => {
                    retries = 0;
                    connected = true;
                    let ending = self.converse(stream).await?;
                    // A partly written chunk is announced again on the next connection.
                    if let Some(chunk) = self.pending.front_mut() {
                        chunk.announced = false;
                    }
                    match ending {
                        Ending::Shutdown => return Ok(self.stopped().await),
                        Ending::Closed {
                            reason,
                            ended,
                            socket: halves,
                        } => {
                            ended_here = ended;
                            socket = halves;
                            match reason {
                                // Our own abort is no error of the peer's.
                                CloseReason::Fin | CloseReason::Aborted => None,
                                CloseReason::Reset => Some(NetError {
                                    code: "ECONNRESET".into(),
                                    message: "connection reset by peer".into(),
                                }),
                                CloseReason::Error(error) => Some(error),
                            }
                        }
                    }
                }
            };
            let decided = self.decide(failure, ended_here, connected, &mut retries);
            let wait = match decided {
                Decision::Stop(outcome) => {
                    // Bytes still held now never go out: say how many
                    // (giving up says so in its own event).
                    let outcome = match outcome {
                        Outcome::GaveUp { .. } => outcome,
                        _ => self.strand(UnsentReason::NoRetry).unwrap_or(outcome),
                    };
                    self.flush().await?;
                    drop(socket);
                    self.drop_pending();
                    return Ok(outcome);
                }
                Decision::Retry(delay) => {
                    let events = std::mem::take(&mut self.batch);
                    let wait = self.emitter.emit_then_wait(events, delay).await?;
                    self.send_acks();
                    wait
                }
            };
            drop(socket);
            tokio::pin!(wait);
            loop {
                tokio::select! {
                    _ = self.shutdown.cancelled() => return Ok(self.stopped().await),
                    () = &mut wait => break,
                    command = self.commands.recv(), if self.accepts_input() => {
                        self.take(command, false);
                        self.flush().await?;
                        // Held input is sent on the next connection first.
                        if self.quit_with_nothing_held() {
                            return Ok(Outcome::Quit);
                        }
                    }
                    control = self.control.recv(), if self.control_open => {
                        self.order(control);
                        self.flush().await?;
                    }
                }
            }
        }
    }

    /// Decides, after a connection or attempt ended, whether to stop or retry;
    /// adds the decision to the batch.
    fn decide(
        &mut self,
        failure: Option<NetError>,
        ended_here: bool,
        connected: bool,
        retries: &mut u32,
    ) -> Decision {
        if self.aborted.take() == Some(false) {
            return Decision::Stop(Outcome::Aborted);
        }
        match self.finish {
            // Held input goes out before the quit's FIN: until it has, the
            // client reconnects as it would without the quit.
            Finish::Quit if self.pending.is_empty() => return Decision::Stop(Outcome::Quit),
            // After our FIN went out, the conversation is over either way.
            Finish::End if ended_here => {
                return Decision::Stop(match failure {
                    None => Outcome::Ended,
                    Some(error) => Outcome::Failed(error),
                });
            }
            _ => {}
        }
        // A name that does not resolve is most likely a typo.
        if let Some(error) = &failure
            && error.code == "ENOTFOUND"
            && !self.options.retry_unresolved
        {
            return Decision::Stop(Outcome::Failed(error.clone()));
        }
        if !self.options.policy.enabled {
            return Decision::Stop(match failure {
                None => Outcome::PeerClosed,
                Some(error) => Outcome::Failed(error),
            });
        }
        // Accepting: the next connection is accepted at once.
        if self.options.accept.is_some() && connected {
            return Decision::Retry(std::time::Duration::ZERO);
        }
        *retries += 1;
        match self.options.policy.delay(*retries) {
            Some(delay) => {
                self.batch.push(ClientEvent::RetryScheduled {
                    retry: *retries,
                    max: self.options.policy.max_retries,
                    delay,
                });
                Decision::Retry(delay)
            }
            None => {
                let unsent = self.unsent();
                self.batch.push(ClientEvent::GaveUp {
                    retries: *retries - 1,
                    last_error: failure.clone(),
                    unsent,
                });
                Decision::Stop(Outcome::GaveUp {
                    retries: *retries - 1,
                    last_error: failure,
                    unsent,
                })
            }
        }
    }

    /// Returns true once the user quit and nothing is left to send.
    fn quit_with_nothing_held(&self) -> bool {
        self.finish == Finish::Quit && self.pending.is_empty()
    }

    /// Adds an `Unsent` event for the bytes still held, if any, and returns
    /// the outcome that says so.
    fn strand(&mut self, reason: UnsentReason) -> Option<Outcome> {
        let bytes = self.unsent();
        if bytes == 0 {
            return None;
        }
        self.batch.push(ClientEvent::Unsent { bytes, reason });
        Some(Outcome::Unsent { bytes, reason })
    }

    /// Stops at the shutdown signal: reports the bytes still held, if any
    /// (while anyone still listens), and drops them.
    async fn stopped(&mut self) -> Outcome {
        let outcome = self
            .strand(UnsentReason::Stopped)
            .unwrap_or(Outcome::Shutdown);
        let _ = self.flush().await;
        self.drop_pending();
        outcome
    }

    fn drop_pending(&mut self) {
        self.pending.clear();
        self.pending_bytes = 0;
    }

    fn accepts_input(&self) -> bool {
        self.commands_open
            && self.finish == Finish::None
            && self.pending_bytes < self.options.buffer_limit
    }

    fn unsent(&self) -> u64 {
        self.pending
            .iter()
            .map(|chunk| (chunk.data.len() - chunk.offset) as u64)
            .sum()
    }

    /// Tries every resolved address in turn (or accepts a connection),
    /// taking commands meanwhile.
    async fn connect(&mut self) -> Result<Attempt, StreamClosed> {
        let host = self.options.host.clone();
        let port = self.options.port;
        let timeout = self.options.connect_timeout;
        let listener = self.options.accept.clone();
        let mut dial = Dial {
            timeout,
            blackholes: self.options.blackholes.clone(),
            emitter: self.emitter.clone(),
            receive_buffer: self.options.receive_buffer,
        };
        let attempt = async move {
            if let Some(listener) = listener {
                return Ok(match listener.accept().await {
                    Ok((stream, _)) => Ok(stream),
                    Err(error) => Err(net_error(&error)),
                });
            }
            let addrs: Vec<SocketAddr> =
                match tokio::time::timeout(timeout, tokio::net::lookup_host((host.as_str(), port)))
                    .await
                {
                    Err(_) => return Ok(Err(timed_out(timeout))),
                    Ok(Err(error)) => return Ok(Err(not_found(&host, Some(&error)))),
                    Ok(Ok(addrs)) => addrs.collect(),
                };
            let mut last = not_found(&host, None);
            for addr in addrs {
                match dial.connect(addr).await? {
                    Ok(stream) => return Ok(Ok(stream)),
                    Err(error) => last = error,
                }
            }
            Ok(Err(last))
        };
        tokio::pin!(attempt);
        loop {
            tokio::select! {
                _ = self.shutdown.cancelled() => return Ok(Attempt::Shutdown),
                result = &mut attempt => return Ok(match result? {
                    Ok(stream) => Attempt::Connected(stream),
                    Err(error) => Attempt::Failed(error),
                }),
                command = self.commands.recv(), if self.accepts_input() => {
                    self.take(command, false);
                    // With input held, the attempt goes on: it is sent first.
                    if self.quit_with_nothing_held() {
                        return Ok(Attempt::Stopped);
                    }
                    self.flush().await?;
                }
                control = self.control.recv(), if self.control_open => {
                    self.order(control);
                    self.flush().await?;
                }
            }
        }
    }

    /// Exchanges data over one connection until it ends.
    async fn converse(&mut self, stream: TcpStream) -> Result<Ending, StreamClosed> {
        let (Ok(local), Ok(peer)) = (stream.local_addr(), stream.peer_addr()) else {
            return Ok(Ending::Closed {
                reason: CloseReason::Reset,
                ended: false,
                socket: None,
            });
        };
        let _ = stream.set_nodelay(true);
        let (mut reader, mut writer) = stream.into_split();
        self.batch.push(ClientEvent::Connected { local, peer });

        let read_size = self.options.read_size;
        let mut buf = BytesMut::with_capacity(read_size);
        let mut peer_ended = false;
        let mut we_ended = false;
        self.written = 0;
        loop {
            // After the user's end or quit, or the peer's FIN (Node's default
            // allowHalfOpen=false), flush what is pending, then send our FIN.
            let ending = self.finish != Finish::None || peer_ended;
            let send_fin = ending && self.pending.is_empty() && !we_ended;
            if send_fin {
                we_ended = true;
                self.batch.push(ClientEvent::Ended);
            }
            if peer_ended && we_ended {
                // Our FIN goes out when the halves are dropped, after the report.
                self.batch.push(ClientEvent::Closed {
                    reason: CloseReason::Fin,
                    written: self.written,
                });
                return Ok(Ending::Closed {
                    reason: CloseReason::Fin,
                    ended: true,
                    socket: Some(Held::Halves {
                        _reader: reader,
                        _writer: writer,
                    }),
                });
            }
            self.announce_front();
            self.flush().await?;
            if send_fin && let Err(error) = writer.shutdown().await {
                return Ok(self.lost(&error, we_ended));
            }
            let front = self
                .pending
                .front()
                .map(|chunk| chunk.data.slice(chunk.offset..));
            let accepts = self.accepts_input();
            tokio::select! {
                _ = self.shutdown.cancelled() => return Ok(Ending::Shutdown),
                read = reader.read_buf(&mut buf), if !peer_ended && !self.paused => match read {
                    Ok(0) => {
                        peer_ended = true;
                        self.batch.push(ClientEvent::PeerEnded);
                    }
                    Ok(_) => {
                        let data = buf.split().freeze();
                        if buf.capacity() < read_size / 4 {
                            buf.reserve(read_size);
                        }
                        self.batch.push(ClientEvent::Received { data });
                    }
                    Err(error) => return Ok(self.lost(&error, we_ended)),
                },
                command = self.commands.recv(), if accepts => self.take(command, true),
                control = self.control.recv(), if self.control_open => match control {
                    Some(Control::Abort { reconnect, ack }) => {
                        self.acks.push(Ack::Told(ack, true));
                        return Ok(self.abort(reader, writer, reconnect, we_ended));
                    }
                    other => self.order(other),
                },
                result = write_some(&mut writer, front.as_ref()), if front.is_some() && !we_ended => {
                    match result {
                        Ok(n) => self.advance(n),
                        Err(error) => return Ok(self.lost(&error, we_ended)),
                    }
                }
            }
        }
    }

    /// Records a connection broken by an I/O error.
    fn lost(&mut self, error: &std::io::Error, ended: bool) -> Ending {
        let reason = close_reason(error);
        self.batch.push(ClientEvent::Closed {
            reason: reason.clone(),
            written: self.written,
        });
        Ending::Closed {
            reason,
            ended,
            socket: None,
        }
    }

    /// Reports the front chunk as sent before its first byte goes out.
    fn announce_front(&mut self) {
        if let Some(chunk) = self.pending.front_mut()
            && !chunk.announced
        {
            chunk.announced = true;
            let data = chunk.data.slice(chunk.offset..);
            let summary = chunk.summary.clone();
            self.batch.push(ClientEvent::Sent { data, summary });
        }
    }

    fn advance(&mut self, n: usize) {
        self.pending_bytes -= n;
        self.written += n as u64;
        let Some(chunk) = self.pending.front_mut() else {
            return;
        };
        chunk.offset += n;
        if chunk.offset == chunk.data.len() {
            let chunk = self.pending.pop_front().expect("front exists");
            if let Some(ack) = chunk.ack {
                let _ = ack.send(Delivery::Written);
            }
            if let Some(written) = chunk.written {
                let _ = written.send(());
            }
        }
    }
}

enum Decision {
    Stop(Outcome),
    Retry(std::time::Duration),
}

enum Attempt {
    Connected(TcpStream),
    Failed(NetError),
    Stopped,
    Shutdown,
}

async fn write_some(writer: &mut OwnedWriteHalf, data: Option<&Bytes>) -> std::io::Result<usize> {
    match data {
        Some(data) => writer.write(data).await,
        None => std::future::pending().await,
    }
}

fn close_reason(error: &std::io::Error) -> CloseReason {
    let error = net_error(error);
    if error.code == "ECONNRESET" {
        CloseReason::Reset
    } else {
        CloseReason::Error(error)
    }
}
