//! Runs one client: connect, converse, and reconnect by the policy, reporting every step.

use std::collections::VecDeque;
use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::error::{net_error, not_found, timed_out};
use super::{ClientOptions, Command, Delivery, Outcome};
use crate::event::{CloseReason, Emitter, Event, NetError, StreamClosed};

/// Holds bytes not yet handed to a socket, in order.
struct Chunk {
    data: Bytes,
    /// Bytes of `data` already written.
    offset: usize,
    /// Whether a `Sent` event covers the unwritten part.
    announced: bool,
    written: Option<oneshot::Sender<()>>,
    ack: Option<oneshot::Sender<Delivery>>,
}

/// Says why a connection ended; the closing events are not yet reported,
/// so that the reconnect decision joins them in one batch.
enum Ending {
    Closed {
        reason: CloseReason,
        written: u64,
        /// Whether our FIN went out on this connection.
        ended: bool,
    },
    Shutdown,
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
    shutdown: CancellationToken,
    pending: VecDeque<Chunk>,
    pending_bytes: usize,
    finish: Finish,
    attempt: u32,
}

impl ClientTask {
    pub(super) fn new(
        options: ClientOptions,
        emitter: Emitter,
        commands: mpsc::Receiver<Command>,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            options,
            emitter,
            commands,
            commands_open: true,
            shutdown,
            pending: VecDeque::new(),
            pending_bytes: 0,
            finish: Finish::None,
            attempt: 0,
        }
    }

    pub(super) async fn run(mut self) -> Outcome {
        match self.run_inner().await {
            Ok(outcome) => outcome,
            Err(StreamClosed) => Outcome::Shutdown,
        }
    }

    async fn run_inner(&mut self) -> Result<Outcome, StreamClosed> {
        let mut retries = 0u32;
        loop {
            self.attempt += 1;
            let target = format!("{}:{}", self.options.host, self.options.port);
            self.emitter
                .emit(Event::Connecting {
                    attempt: self.attempt,
                    target,
                })
                .await?;
            let mut ended_here = false;
            let (mut closing, failure) = match self.connect().await? {
                Attempt::Shutdown => return Ok(Outcome::Shutdown),
                Attempt::Stopped => return Ok(Outcome::Quit),
                Attempt::Failed(error) => (
                    vec![Event::ConnectFailed {
                        error: error.clone(),
                    }],
                    Some(error),
                ),
                Attempt::Connected(stream) => {
                    retries = 0;
                    let ending = self.converse(stream).await?;
                    // A partly written chunk is announced again on the next connection.
                    if let Some(chunk) = self.pending.front_mut() {
                        chunk.announced = false;
                    }
                    match ending {
                        Ending::Shutdown => return Ok(Outcome::Shutdown),
                        Ending::Closed {
                            reason,
                            written,
                            ended,
                        } => {
                            ended_here = ended;
                            let failure = match &reason {
                                CloseReason::Fin => None,
                                CloseReason::Reset | CloseReason::Aborted => Some(NetError {
                                    code: "ECONNRESET".into(),
                                    message: "connection reset by peer".into(),
                                }),
                                CloseReason::Error(error) => Some(error.clone()),
                            };
                            (vec![Event::Closed { reason, written }], failure)
                        }
                    }
                }
            };
            match self.finish {
                Finish::Quit => {
                    self.emitter.emit_all(closing).await?;
                    return Ok(Outcome::Quit);
                }
                // After our FIN went out, the conversation is over either way.
                Finish::End if ended_here => {
                    self.emitter.emit_all(closing).await?;
                    return Ok(match failure {
                        None => Outcome::Ended,
                        Some(error) => Outcome::Failed(error),
                    });
                }
                _ => {}
            }
            if !self.options.policy.enabled {
                self.emitter.emit_all(closing).await?;
                return Ok(match failure {
                    None => Outcome::PeerClosed,
                    Some(error) => Outcome::Failed(error),
                });
            }
            retries += 1;
            let Some(delay) = self.options.policy.delay(retries) else {
                let gave_up = Outcome::GaveUp {
                    retries: retries - 1,
                    last_error: failure.clone(),
                    unsent: self.unsent(),
                };
                closing.push(Event::GaveUp {
                    retries: retries - 1,
                    last_error: failure,
                    unsent: self.unsent(),
                });
                self.emitter.emit_all(closing).await?;
                self.fail_pending();
                return Ok(gave_up);
            };
            closing.push(Event::RetryScheduled {
                retry: retries,
                max: self.options.policy.max_retries,
                delay,
            });
            let wait = self.emitter.emit_then_wait(closing, delay).await?;
            tokio::pin!(wait);
            loop {
                tokio::select! {
                    _ = self.shutdown.cancelled() => return Ok(Outcome::Shutdown),
                    () = &mut wait => break,
                    command = self.commands.recv(), if self.accepts_input() => {
                        self.take(command, None).await?;
                        if self.stopped() {
                            return Ok(Outcome::Quit);
                        }
                    }
                }
            }
        }
    }

    /// Returns true once the quit word was given.
    fn stopped(&self) -> bool {
        self.finish == Finish::Quit
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

    /// Drops what was never written; its writers learn so through their acks.
    fn fail_pending(&mut self) {
        self.pending.clear();
        self.pending_bytes = 0;
    }

    /// Tries every resolved address in turn, taking commands meanwhile.
    async fn connect(&mut self) -> Result<Attempt, StreamClosed> {
        let host = self.options.host.clone();
        let port = self.options.port;
        let timeout = self.options.connect_timeout;
        let attempt = async move {
            let addrs: Vec<SocketAddr> =
                match tokio::time::timeout(timeout, tokio::net::lookup_host((host.as_str(), port)))
                    .await
                {
                    Err(_) => return Err(timed_out(timeout)),
                    Ok(Err(error)) => return Err(not_found(&host, Some(&error))),
                    Ok(Ok(addrs)) => addrs.collect(),
                };
            let mut last = not_found(&host, None);
            for addr in addrs {
                match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
                    Ok(Ok(stream)) => return Ok(stream),
                    Ok(Err(error)) => last = net_error(&error),
                    Err(_) => last = timed_out(timeout),
                }
            }
            Err(last)
        };
        tokio::pin!(attempt);
        loop {
            tokio::select! {
                _ = self.shutdown.cancelled() => return Ok(Attempt::Shutdown),
                result = &mut attempt => return Ok(match result {
                    Ok(stream) => Attempt::Connected(stream),
                    Err(error) => Attempt::Failed(error),
                }),
                command = self.commands.recv(), if self.accepts_input() => {
                    self.take(command, None).await?;
                    if self.stopped() {
                        return Ok(Attempt::Stopped);
                    }
                }
            }
        }
    }

    /// Takes one command. `connected` tells whether a write can go out now.
    async fn take(
        &mut self,
        command: Option<Command>,
        connected: Option<()>,
    ) -> Result<(), StreamClosed> {
        match command {
            None => self.commands_open = false,
            Some(Command::Write { data, ack }) => self.push(data, ack, connected.is_some()).await?,
            Some(Command::End { data, ack }) => {
                if let Some(data) = data {
                    self.push(data, None, connected.is_some()).await?;
                }
                self.finish = Finish::End;
                if let Some(ack) = ack {
                    let _ = ack.send(());
                }
            }
            Some(Command::Quit { ack }) => {
                self.finish = Finish::Quit;
                self.emitter.emit(Event::Quit).await?;
                if let Some(ack) = ack {
                    let _ = ack.send(());
                }
            }
        }
        Ok(())
    }

    async fn push(
        &mut self,
        data: Bytes,
        ack: Option<oneshot::Sender<Delivery>>,
        connected: bool,
    ) -> Result<(), StreamClosed> {
        if data.is_empty() {
            if let Some(ack) = ack {
                let _ = ack.send(Delivery::Written);
            }
            return Ok(());
        }
        let (ack, written) = if connected {
            (ack, None)
        } else {
            self.emitter
                .emit(Event::Queued { data: data.clone() })
                .await?;
            let (tx, rx) = oneshot::channel();
            if let Some(ack) = ack {
                let _ = ack.send(Delivery::Queued(rx));
            }
            (None, Some(tx))
        };
        self.pending_bytes += data.len();
        self.pending.push_back(Chunk {
            data,
            offset: 0,
            announced: false,
            written,
            ack,
        });
        Ok(())
    }

    /// Exchanges data over one connection until it ends.
    async fn converse(&mut self, stream: TcpStream) -> Result<Ending, StreamClosed> {
        let local = stream.local_addr();
        let peer = stream.peer_addr();
        let (Ok(local), Ok(peer)) = (local, peer) else {
            return Ok(Ending::Closed {
                reason: CloseReason::Reset,
                written: 0,
                ended: false,
            });
        };
        let _ = stream.set_nodelay(true);
        let (mut reader, mut writer) = stream.into_split();
        self.emitter.emit(Event::Connected { local, peer }).await?;

        let read_size = self.options.read_size;
        let mut buf = BytesMut::with_capacity(read_size);
        let mut written = 0u64;
        let mut peer_ended = false;
        let mut we_ended = false;
        loop {
            // After the user's end or quit, or the peer's FIN (Node's default
            // allowHalfOpen=false), flush what is pending, then send our FIN.
            let ending = self.finish != Finish::None || peer_ended;
            if ending && self.pending.is_empty() && !we_ended {
                we_ended = true;
                self.emitter.emit(Event::Ended).await?;
                if let Err(error) = writer.shutdown().await {
                    return Ok(Ending::Closed {
                        reason: CloseReason::Error(net_error(&error)),
                        written,
                        ended: we_ended,
                    });
                }
            }
            if peer_ended && we_ended {
                return Ok(Ending::Closed {
                    reason: CloseReason::Fin,
                    written,
                    ended: we_ended,
                });
            }
            self.announce_front().await?;
            let front = self
                .pending
                .front()
                .map(|chunk| chunk.data.slice(chunk.offset..));
            let accepts = self.accepts_input();
            tokio::select! {
                _ = self.shutdown.cancelled() => {
                    return Ok(Ending::Shutdown);
                }
                read = reader.read_buf(&mut buf), if !peer_ended => match read {
                    Ok(0) => {
                        peer_ended = true;
                        self.emitter.emit(Event::PeerEnded).await?;
                    }
                    Ok(_) => {
                        let data = buf.split().freeze();
                        if buf.capacity() < read_size / 4 {
                            buf.reserve(read_size);
                        }
                        self.emitter.emit(Event::Received { data }).await?;
                    }
                    Err(error) => return Ok(Ending::Closed { reason: close_reason(&error), written, ended: we_ended }),
                },
                command = self.commands.recv(), if accepts => {
                    self.take(command, Some(())).await?;
                }
                result = write_some(&mut writer, front.as_ref()), if front.is_some() && !we_ended => match result {
                    Ok(n) => {
                        written += n as u64;
                        self.advance(n);
                    }
                    Err(error) => return Ok(Ending::Closed { reason: close_reason(&error), written, ended: we_ended }),
                },
            }
        }
    }

    /// Reports the front chunk as sent before its first byte goes out.
    async fn announce_front(&mut self) -> Result<(), StreamClosed> {
        if let Some(chunk) = self.pending.front_mut()
            && !chunk.announced
        {
            chunk.announced = true;
            let data = chunk.data.slice(chunk.offset..);
            self.emitter.emit(Event::Sent { data }).await?;
        }
        Ok(())
    }

    fn advance(&mut self, n: usize) {
        self.pending_bytes -= n;
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
