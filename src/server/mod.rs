//! Runs the servers a scenario controls: the built-in fake servers (echo, chat, sink, silent) and server programs.
//!
//! The server holds its port for the whole scenario: while it is down, a bound
//! socket that does not listen keeps the port refused (`ECONNREFUSED`) and
//! ours, so `start_server` always comes back on the same address.

mod conn;
mod program;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::event::{CloseReason, Emitter, Event, StreamClosed};
pub use crate::scenario::types::FakeKind;
use conn::{ConnCommand, ConnTask};
pub use program::ProgramServer;

/// Configures a fake server.
#[derive(Debug, Clone)]
pub struct FakeOptions {
    /// Which behaviour.
    pub kind: FakeKind,
    /// Sent to each connection on accept.
    pub banner: Option<Bytes>,
    /// Keep a connection open after the client's FIN (Node's `allowHalfOpen`).
    pub half_open: bool,
}

/// Reports a server that cannot bind or listen.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The address could not be bound (in use, not local, ...).
    #[error("cannot bind {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// `listen()` failed.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The bound address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The server program could not be started or signalled.
    #[error("{0}")]
    Program(String),
    /// The runner stopped listening to events.
    #[error(transparent)]
    Closed(#[from] StreamClosed),
}

/// Names the server connections a step addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Targets {
    /// Every open connection.
    All,
    /// These connection numbers.
    Some(Vec<u32>),
}

/// Holds what every connection task shares: the open connections.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    conns: BTreeMap<u32, ConnEntry>,
    accepted: u32,
}

#[derive(Debug)]
struct ConnEntry {
    commands: mpsc::Sender<ConnCommand>,
    /// False once our FIN is decided: no more writes go to it.
    writable: bool,
}

type Shared = Arc<Mutex<Registry>>;

/// Controls one fake server: start, kill, stop, send, close.
#[derive(Debug)]
pub struct FakeServer {
    options: FakeOptions,
    addr: SocketAddr,
    emitter: Emitter,
    registry: Shared,
    /// The bound socket that keeps the port while the server is down.
    holder: Option<Socket>,
    accept: Option<(JoinHandle<()>, CancellationToken)>,
    shutdown: CancellationToken,
}

impl FakeServer {
    /// Binds `host:port` (port 0 picks a free one) without listening yet.
    pub fn bind(
        host: &str,
        port: u16,
        options: FakeOptions,
        emitter: Emitter,
        shutdown: CancellationToken,
    ) -> Result<Self, ServerError> {
        let wanted = format!("{host}:{port}");
        let addr: SocketAddr = match resolve(host, port) {
            Some(addr) => addr,
            None => {
                return Err(ServerError::Bind {
                    addr: wanted,
                    source: std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "the host does not resolve",
                    ),
                });
            }
        };
        let holder = hold(addr).map_err(|source| ServerError::Bind {
            addr: wanted,
            source,
        })?;
        let addr = holder
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .unwrap_or(addr);
        Ok(Self {
            options,
            addr,
            emitter,
            registry: Shared::default(),
            holder: Some(holder),
            accept: None,
            shutdown,
        })
    }

    /// Returns the bound address (with the real port).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Returns true while listening.
    pub fn is_up(&self) -> bool {
        self.accept.is_some()
    }

    /// Returns how many connections were accepted so far.
    pub fn accepted(&self) -> u32 {
        self.registry.lock().expect("registry lock").accepted
    }

    /// Starts listening and accepting on the held port.
    pub async fn start(&mut self) -> Result<(), ServerError> {
        if self.accept.is_some() {
            return Ok(());
        }
        let socket = match self.holder.take() {
            Some(socket) => socket,
            None => hold(self.addr).map_err(|source| ServerError::Bind {
                addr: self.addr.to_string(),
                source,
            })?,
        };
        let listen = |socket: &Socket| -> std::io::Result<TcpListener> {
            socket.listen(1024)?;
            socket.set_nonblocking(true)?;
            TcpListener::from_std(socket.try_clone()?.into())
        };
        let listener = match listen(&socket) {
            Ok(listener) => listener,
            Err(source) => {
                self.holder = Some(socket);
                return Err(ServerError::Listen {
                    addr: self.addr,
                    source,
                });
            }
        };
        drop(socket);
        self.emitter
            .emit(Event::Listening { addr: self.addr })
            .await?;
        let stop = self.shutdown.child_token();
        let task = tokio::spawn(accept_loop(
            listener,
            self.options.clone(),
            self.emitter.clone(),
            self.registry.clone(),
            stop.clone(),
            self.shutdown.clone(),
        ));
        self.accept = Some((task, stop));
        Ok(())
    }

    /// Stops accepting and releases the listener, keeping the port held.
    async fn stop_listening(&mut self) -> Result<(), ServerError> {
        if let Some((task, stop)) = self.accept.take() {
            stop.cancel();
            let _ = task.await;
        }
        if self.holder.is_none() {
            self.holder = Some(hold(self.addr).map_err(|source| ServerError::Bind {
                addr: self.addr.to_string(),
                source,
            })?);
        }
        Ok(())
    }

    /// Kills the server: every connection is reset and the port refuses.
    pub async fn kill(&mut self) -> Result<(), ServerError> {
        self.stop_listening().await?;
        let conns: Vec<(u32, mpsc::Sender<ConnCommand>)> = {
            let mut registry = self.registry.lock().expect("registry lock");
            std::mem::take(&mut registry.conns)
                .into_iter()
                .map(|(id, entry)| (id, entry.commands))
                .collect()
        };
        let mut events = vec![Event::ServerDown {
            killed: true,
            connections: conns.len(),
        }];
        events.extend(conns.iter().map(|(conn, _)| Event::ServerClosed {
            conn: *conn,
            reason: CloseReason::Aborted,
        }));
        self.emitter.emit_all(events).await?;
        for (_, commands) in conns {
            command(&commands, ConnCommand::Abort).await;
        }
        Ok(())
    }

    /// Stops the server gracefully: FIN to every connection, no more accepts.
    pub async fn stop(&mut self) -> Result<(), ServerError> {
        self.stop_listening().await?;
        let conns = self.take_writable(&Targets::All);
        let mut events = vec![Event::ServerDown {
            killed: false,
            connections: conns.len(),
        }];
        events.extend(
            conns
                .iter()
                .map(|(conn, _)| Event::ServerEnded { conn: *conn }),
        );
        self.emitter.emit_all(events).await?;
        for (_, commands) in conns {
            command(&commands, ConnCommand::Fin).await;
        }
        Ok(())
    }

    /// Writes `data` to the target connections; returns the numbers written to.
    pub async fn send(&self, targets: &Targets, data: Bytes) -> Result<Vec<u32>, ServerError> {
        let conns = self.select(targets, |entry| entry.writable);
        let events = conns
            .iter()
            .map(|(conn, _)| Event::ServerSent {
                conn: *conn,
                data: data.clone(),
            })
            .collect::<Vec<_>>();
        if !events.is_empty() {
            self.emitter.emit_all(events).await?;
        }
        for (_, commands) in &conns {
            command(commands, |done| {
                ConnCommand::Write(data.clone(), Some(done))
            })
            .await;
        }
        Ok(conns.into_iter().map(|(conn, _)| conn).collect())
    }

    /// Shuts down the server's write side of the target connections (FIN).
    pub async fn half_close(&self, targets: &Targets) -> Result<Vec<u32>, ServerError> {
        let conns = self.take_writable(targets);
        let events: Vec<Event> = conns
            .iter()
            .map(|(conn, _)| Event::ServerEnded { conn: *conn })
            .collect();
        if !events.is_empty() {
            self.emitter.emit_all(events).await?;
        }
        for (_, commands) in &conns {
            command(commands, ConnCommand::Fin).await;
        }
        Ok(conns.into_iter().map(|(conn, _)| conn).collect())
    }

    /// Closes the target connections: `reset` aborts them (RST), otherwise
    /// the server ends its side and the connection closes when the client ends too.
    pub async fn close(&self, targets: &Targets, reset: bool) -> Result<Vec<u32>, ServerError> {
        if !reset {
            return self.half_close(targets).await;
        }
        let conns: Vec<(u32, mpsc::Sender<ConnCommand>)> = {
            let mut registry = self.registry.lock().expect("registry lock");
            let ids: Vec<u32> = match targets {
                Targets::All => registry.conns.keys().copied().collect(),
                Targets::Some(ids) => ids.clone(),
            };
            ids.into_iter()
                .filter_map(|id| registry.conns.remove(&id).map(|e| (id, e.commands)))
                .collect()
        };
        let events: Vec<Event> = conns
            .iter()
            .map(|(conn, _)| Event::ServerClosed {
                conn: *conn,
                reason: CloseReason::Aborted,
            })
            .collect();
        if !events.is_empty() {
            self.emitter.emit_all(events).await?;
        }
        for (_, commands) in &conns {
            command(commands, ConnCommand::Abort).await;
        }
        Ok(conns.into_iter().map(|(conn, _)| conn).collect())
    }

    /// Returns the open connections' numbers.
    pub fn open_connections(&self) -> Vec<u32> {
        let registry = self.registry.lock().expect("registry lock");
        registry.conns.keys().copied().collect()
    }

    fn select(
        &self,
        targets: &Targets,
        keep: impl Fn(&ConnEntry) -> bool,
    ) -> Vec<(u32, mpsc::Sender<ConnCommand>)> {
        let registry = self.registry.lock().expect("registry lock");
        registry
            .conns
            .iter()
            .filter(|(id, entry)| {
                keep(entry)
                    && match targets {
                        Targets::All => true,
                        Targets::Some(ids) => ids.contains(id),
                    }
            })
            .map(|(id, entry)| (*id, entry.commands.clone()))
            .collect()
    }

    /// Marks the target connections as no longer writable and returns them.
    fn take_writable(&self, targets: &Targets) -> Vec<(u32, mpsc::Sender<ConnCommand>)> {
        let conns = self.select(targets, |entry| entry.writable);
        let mut registry = self.registry.lock().expect("registry lock");
        for (id, _) in &conns {
            if let Some(entry) = registry.conns.get_mut(id) {
                entry.writable = false;
            }
        }
        conns
    }
}

/// Sends a command to a connection task and waits until it is carried out
/// (and its consequences reported). A finished task counts as done.
async fn command(
    commands: &mpsc::Sender<ConnCommand>,
    make: impl FnOnce(oneshot::Sender<()>) -> ConnCommand + Send,
) {
    let (done, wait) = oneshot::channel();
    if commands.send(make(done)).await.is_ok() {
        let _ = wait.await;
    }
}

/// Binds a socket to `addr` without listening: the port is ours and refuses connections.
fn hold(addr: SocketAddr) -> std::io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    Ok(socket)
}

/// Returns the first address `host:port` resolves to.
fn resolve(host: &str, port: u16) -> Option<SocketAddr> {
    use std::net::ToSocketAddrs;
    (host, port).to_socket_addrs().ok()?.next()
}

async fn accept_loop(
    listener: TcpListener,
    options: FakeOptions,
    emitter: Emitter,
    registry: Shared,
    stop: CancellationToken,
    shutdown: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, peer)) = accepted else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (tx, rx) = mpsc::channel(64);
        let conn = {
            let mut registry = registry.lock().expect("registry lock");
            registry.accepted += 1;
            let conn = registry.accepted;
            registry.conns.insert(
                conn,
                ConnEntry {
                    commands: tx,
                    writable: true,
                },
            );
            conn
        };
        let mut events = vec![Event::Accepted { conn, peer }];
        if let Some(banner) = &options.banner {
            events.push(Event::ServerSent {
                conn,
                data: banner.clone(),
            });
        }
        if emitter.emit_all(events).await.is_err() {
            return;
        }
        let task = ConnTask::new(
            conn,
            stream,
            options.clone(),
            emitter.clone(),
            registry.clone(),
            rx,
        );
        tokio::spawn(task.run(shutdown.clone()));
    }
}
