//! Runs one accepted connection of a fake server: reads, reacts by the server's kind, obeys commands.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::{FakeKind, FakeOptions, Shared};
use crate::client::error::net_error;
use crate::event::{CloseReason, Emitter, ServerEvent};

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
            options,
            emitter,
            registry,
            commands,
            abort,
            batch: Vec::new(),
            peer_ended: false,
            we_ended: false,
        }
    }

    pub(super) async fn run(mut self, shutdown: CancellationToken) {
        if let Some(banner) = self.options.banner.clone()
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
                read = self.stream.read_buf(&mut buf), if !self.peer_ended => match read {
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
            FakeKind::Echo | FakeKind::Sink | FakeKind::Silent => {
                self.flush().await;
                Flow::Continue
            }
        }
    }

    /// Handles the client's FIN: like Node's default (allowHalfOpen=false),
    /// the server ends its side too, unless it is half-open or silent.
    async fn peer_end(&mut self) -> Flow {
        self.peer_ended = true;
        self.batch.push(ServerEvent::PeerEnded { conn: self.conn });
        let auto_end =
            !self.we_ended && !self.options.half_open && self.options.kind != FakeKind::Silent;
        if auto_end {
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
