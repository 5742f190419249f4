//! Runs one accepted connection of a fake server: reads, reacts by the server's kind, obeys commands.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::rules::RulesConn;
use super::{FakeKind, FakeOptions, Shared};
use crate::client::error::net_error;
use crate::event::{CloseReason, Emitter, ServerEvent, Wait};
use crate::rules::{Action, Close};

/// Size of each socket read.
const READ_SIZE: usize = 64 * 1024;

/// Lists what the server asks of one connection; `done` fires once it is carried out.
#[derive(Debug)]
pub(super) enum ConnCommand {
    /// Write bytes (already reported as `ServerSent`).
    Write(Bytes, Option<oneshot::Sender<()>>),
    /// Shut down the write side (already reported as `ServerEnded`).
    Fin(oneshot::Sender<()>),
    /// Reset the connection (already reported as `ServerClosed`).
    Abort(oneshot::Sender<()>),
}

/// Says whether the connection task goes on after a step.
enum Flow {
    Continue,
    Done,
}

pub(super) struct ConnTask {
    conn: u32,
    stream: TcpStream,
    options: FakeOptions,
    emitter: Emitter,
    registry: Shared,
    commands: mpsc::Receiver<ConnCommand>,
    /// Cancelled by a kill or a reset, or when the scenario ends.
    abort: CancellationToken,
    batch: Vec<ServerEvent>,
    peer_ended: bool,
    we_ended: bool,
    /// Sent first, on accept (already reported).
    banner: Option<Bytes>,
    /// `fake: rules`: this connection's rules.
    rules: Option<RulesConn>,
    /// Rule actions not carried out yet (they follow a delay), in order.
    queue: VecDeque<Action>,
    /// A rule's delay under way.
    wait: Option<Wait>,
    /// A rule stalled the connection: it reads nothing more.
    stalled: bool,
    /// The client ended while rule actions waited: our side ends once they are done.
    end_when_done: bool,
}

/// Lists what carrying out rule actions does to the socket, once reported.
enum Effect {
    Write(Bytes),
    Fin,
    Reset,
}

impl ConnTask {
    pub(super) fn new(
        conn: u32,
        stream: TcpStream,
        options: FakeOptions,
        emitter: Emitter,
        registry: Shared,
        commands: mpsc::Receiver<ConnCommand>,
        abort: CancellationToken,
    ) -> Self {
        Self {
            conn,
            stream,
            emitter,
            registry,
            commands,
            abort,
            batch: Vec::new(),
            peer_ended: false,
            we_ended: false,
            banner: options.banner.clone(),
            options,
            rules: None,
            queue: VecDeque::new(),
            wait: None,
            stalled: false,
            end_when_done: false,
        }
    }

    /// Sets the banner (already reported) and, for `fake: rules`, the connection's rules.
    pub(super) fn with_rules(mut self, banner: Option<Bytes>, rules: Option<RulesConn>) -> Self {
        self.banner = banner;
        self.rules = rules;
        self
    }

    pub(super) async fn run(mut self, shutdown: CancellationToken) {
        if let Some(banner) = self.banner.take()
            && let Flow::Done = self.write(&banner).await
        {
            return;
        }
        let mut buf = BytesMut::with_capacity(READ_SIZE);
        loop {
            let flow = tokio::select! {
                _ = shutdown.cancelled() => Flow::Done,
                command = self.commands.recv() => match command {
                    Some(command) => self.obey(command).await,
                    None => Flow::Done,
                },
                () = until(&mut self.wait), if self.wait.is_some() => self.resume().await,
                read = self.stream.read_buf(&mut buf), if !self.peer_ended && !self.stalled => match read {
                    Ok(0) => self.peer_end().await,
                    Ok(_) => {
                        let data = buf.split().freeze();
                        if buf.capacity() < READ_SIZE / 4 {
                            buf.reserve(READ_SIZE);
                        }
                        self.react(data).await
                    }
                    Err(error) => self.lost(&error).await,
                },
            };
            if let Flow::Done = flow {
                return;
            }
        }
    }

    async fn obey(&mut self, command: ConnCommand) -> Flow {
        match command {
            ConnCommand::Write(data, done) => {
                let flow = self.write(&data).await;
                if let Some(done) = done {
                    let _ = done.send(());
                }
                flow
            }
            ConnCommand::Fin(done) => {
                self.we_ended = true;
                let _ = self.stream.shutdown().await;
                let flow = if self.peer_ended {
                    self.closed(CloseReason::Fin);
                    self.flush().await;
                    Flow::Done
                } else {
                    Flow::Continue
                };
                let _ = done.send(());
                flow
            }
            ConnCommand::Abort(done) => {
                self.reset_on_drop();
                let _ = done.send(());
                Flow::Done
            }
        }
    }

    /// Handles received bytes the way the server's kind does.
    async fn react(&mut self, data: Bytes) -> Flow {
        self.batch.push(ServerEvent::Received {
            conn: self.conn,
            data: data.clone(),
        });
        match self.options.kind {
            FakeKind::Echo if !self.we_ended => {
                self.batch.push(ServerEvent::Sent {
                    conn: self.conn,
                    data: data.clone(),
                });
                self.flush().await;
                self.write(&data).await
            }
            FakeKind::Chat => {
                let others: Vec<(u32, mpsc::Sender<ConnCommand>)> = {
                    let registry = self.registry.lock().expect("registry lock");
                    registry
                        .conns
                        .iter()
                        .filter(|(id, entry)| **id != self.conn && entry.writable)
                        .map(|(id, entry)| (*id, entry.commands.clone()))
                        .collect()
                };
                for (conn, _) in &others {
                    self.batch.push(ServerEvent::Sent {
                        conn: *conn,
                        data: data.clone(),
                    });
                }
                self.flush().await;
                for (_, commands) in others {
                    // No wait for the write itself: two chatting connections
                    // would otherwise wait on each other.
                    let _ = commands.send(ConnCommand::Write(data.clone(), None)).await;
                }
                Flow::Continue
            }
            FakeKind::Rules => {
                if let Some(rules) = &mut self.rules {
                    rules.on_data(&data, &mut self.batch, &mut self.queue);
                }
                if self.wait.is_some() {
                    // The actions wait their turn behind the delay under way.
                    self.flush().await;
                    return Flow::Continue;
                }
                self.carry_out().await
            }
            FakeKind::Echo | FakeKind::Sink | FakeKind::Silent => {
                self.flush().await;
                Flow::Continue
            }
        }
    }

    /// Carries out rule actions up to the next delay: reports what they do
    /// as one batch (asking for the delay's timer, if one comes), then does
    /// it to the socket.
    async fn carry_out(&mut self) -> Flow {
        let conn = self.conn;
        let mut effects = Vec::new();
        let mut delay = None;
        let mut done = false;
        while let Some(action) = self.queue.pop_front() {
            match action {
                Action::Delay(wait) => {
                    self.batch.push(ServerEvent::Waiting { conn, delay: wait });
                    delay = Some(wait);
                    break;
                }
                Action::Write(data) => {
                    if !self.we_ended {
                        self.batch.push(ServerEvent::Sent {
                            conn,
                            data: data.clone(),
                        });
                        effects.push(Effect::Write(data));
                    }
                }
                Action::Close(Close::Fin) | Action::HalfClose => {
                    if !self.we_ended {
                        self.end_here();
                        effects.push(Effect::Fin);
                        if self.peer_ended {
                            self.closed(CloseReason::Fin);
                            done = true;
                            break;
                        }
                    }
                }
                Action::Close(Close::Reset) => {
                    self.closed(CloseReason::Aborted);
                    effects.push(Effect::Reset);
                    self.queue.clear();
                    break;
                }
                Action::Stall => {
                    self.batch.push(ServerEvent::Stalled { conn });
                    self.stalled = true;
                    self.queue.clear();
                    break;
                }
            }
        }
        // The client ended while these actions waited: end now, as
        // without rules (unless half-open).
        if delay.is_none() && self.end_when_done && !self.we_ended && !done {
            self.end_here();
            effects.push(Effect::Fin);
            self.closed(CloseReason::Fin);
            done = true;
        }
        match delay {
            Some(delay) => {
                let events = std::mem::take(&mut self.batch);
                match self.emitter.emit_then_wait(events, delay).await {
                    Ok(wait) => self.wait = Some(wait),
                    Err(_) => return Flow::Done,
                }
            }
            None => self.flush().await,
        }
        for effect in effects {
            match effect {
                Effect::Write(data) => {
                    if let Flow::Done = self.write(&data).await {
                        return Flow::Done;
                    }
                }
                Effect::Fin => {
                    let _ = self.stream.shutdown().await;
                }
                Effect::Reset => {
                    self.reset_on_drop();
                    return Flow::Done;
                }
            }
        }
        if done { Flow::Done } else { Flow::Continue }
    }

    /// A rule's delay is over: goes on with the actions after it.
    async fn resume(&mut self) -> Flow {
        self.wait = None;
        self.batch.push(ServerEvent::Resumed { conn: self.conn });
        self.carry_out().await
    }

    /// Decides to end our side (FIN): no more writes go to this connection.
    fn end_here(&mut self) {
        self.we_ended = true;
        if let Some(entry) = self
            .registry
            .lock()
            .expect("registry lock")
            .conns
            .get_mut(&self.conn)
        {
            entry.writable = false;
        }
        self.batch.push(ServerEvent::Ended { conn: self.conn });
    }

    /// Handles the client's FIN: like Node's default (allowHalfOpen=false),
    /// the server ends its side too, unless it is half-open or silent.
    async fn peer_end(&mut self) -> Flow {
        self.peer_ended = true;
        self.batch.push(ServerEvent::PeerEnded { conn: self.conn });
        let auto_end =
            !self.we_ended && !self.options.half_open && self.options.kind != FakeKind::Silent;
        if auto_end && (self.wait.is_some() || !self.queue.is_empty()) {
            // Rule actions still wait their turn: our side ends after them.
            self.end_when_done = true;
            self.flush().await;
            return Flow::Continue;
        }
        if auto_end {
            self.end_here();
        }
        if self.we_ended {
            self.closed(CloseReason::Fin);
        }
        self.flush().await;
        if auto_end {
            let _ = self.stream.shutdown().await;
        }
        if self.we_ended {
            Flow::Done
        } else {
            Flow::Continue
        }
    }

    /// Writes `data`; a kill or reset meanwhile ends the connection at once,
    /// even when the peer does not read (what the buffers take first goes
    /// out: a write that need not wait is never cut).
    async fn write(&mut self, data: &[u8]) -> Flow {
        let written = tokio::select! {
            biased;
            written = self.stream.write_all(data) => written,
            () = self.abort.cancelled() => {
                self.reset_on_drop();
                return Flow::Done;
            }
        };
        match written {
            Ok(()) => Flow::Continue,
            Err(error) => self.lost(&error).await,
        }
    }

    /// Makes closing the socket send RST instead of FIN.
    fn reset_on_drop(&self) {
        let _ = socket2::SockRef::from(&self.stream).set_linger(Some(Duration::ZERO));
    }

    async fn lost(&mut self, error: &std::io::Error) -> Flow {
        let error = net_error(error);
        let reason = if error.code == "ECONNRESET" {
            CloseReason::Reset
        } else {
            CloseReason::Error(error)
        };
        self.closed(reason);
        self.flush().await;
        Flow::Done
    }

    /// Records the close and forgets the connection.
    fn closed(&mut self, reason: CloseReason) {
        self.registry
            .lock()
            .expect("registry lock")
            .conns
            .remove(&self.conn);
        self.batch.push(ServerEvent::Closed {
            conn: self.conn,
            reason,
        });
    }

    async fn flush(&mut self) {
        if !self.batch.is_empty() {
            let _ = self.emitter.emit_all(std::mem::take(&mut self.batch)).await;
        }
    }
}

/// Ends when the wait under way is over (never, without one).
async fn until(wait: &mut Option<Wait>) {
    match wait {
        Some(wait) => wait.await,
        None => std::future::pending().await,
    }
}
