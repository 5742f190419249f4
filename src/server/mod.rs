//! Runs the servers a scenario controls: the built-in fake servers (echo, chat, sink, silent) and server programs.
//!
//! The server holds its port for the whole scenario: a bound socket that never
//! listens keeps the port ours, so `start_server` always comes back on the same
//! address, and while the server is down the port refuses (`ECONNREFUSED`).
//! The listener is a second socket on the same port; it stops listening before
//! it is dropped, so a copy of its descriptor in a child that is being
//! spawned elsewhere in the process cannot keep the port listening.

mod blackhole;
mod conn;
mod program;
mod rules;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::event::{CloseReason, Emitter, ServerEvent, StreamClosed};
pub use crate::scenario::types::FakeKind;
pub(crate) use blackhole::Blackhole;
pub use blackhole::Blackholes;
use conn::{ConnCommand, ConnTask};
pub use program::ProgramServer;
pub use rules::ServerRules;

/// Configures a fake server.
#[derive(Debug, Clone)]
pub struct FakeOptions {
    /// Which behaviour.
    pub kind: FakeKind,
    /// Sent to each connection on accept.
    pub banner: Option<Bytes>,
    /// Keep a connection open after the client's FIN (Node's `allowHalfOpen`).
    pub half_open: bool,
    /// `fake: rules`: the rules and the framing they read by (the banner
    /// then comes from the rules, with `${connection}` filled in).
    pub rules: Option<Arc<ServerRules>>,
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
    /// Its client does not read: see [`FakeServer::park`].
    parked: bool,
    /// False once our FIN is decided: no more writes go to it.
    writable: bool,
    /// Cancelled to reset the connection even while a write to a peer that
    /// does not read is under way.
    abort: CancellationToken,
}

impl ConnEntry {
    fn commands(&self) -> Commands {
        Commands {
            tx: self.commands.clone(),
            parked: self.parked,
        }
    }
}

type Shared = Arc<Mutex<Registry>>;

/// Controls one fake server: start, kill, stop, send, close.
#[derive(Debug)]
pub struct FakeServer {
    options: FakeOptions,
    addr: SocketAddr,
    emitter: Emitter,
    registry: Shared,
    /// The bound socket that keeps the port for the server's whole life.
    _holder: Socket,
    accept: Option<(JoinHandle<()>, CancellationToken)>,
    /// Held while the port drops SYNs (`blackhole_server`).
    blackhole: Option<Blackhole>,
    /// Tells clients where SYNs are dropped now.
    holes: watch::Sender<Option<SocketAddr>>,
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
            _holder: holder,
            accept: None,
            blackhole: None,
            holes: Blackholes::channel().0,
            shutdown,
        })
    }

    /// Sets the rules of `fake: rules` (built once the port is known, for
    /// `${port}` in replies); takes effect from the next start.
    pub fn set_rules(&mut self, rules: Arc<ServerRules>) {
        self.options.rules = Some(rules);
    }

    /// Returns what tells built-in clients where this server drops SYNs.
    pub fn blackholes(&self) -> Blackholes {
        Blackholes::watching(&self.holes)
    }

    /// Makes the port drop SYNs: connects get no answer and time out at
    /// the client's connect timeout (`ETIMEDOUT`). Open connections stay.
    /// [`Self::start`], [`Self::kill`] and [`Self::stop`] end it.
    pub async fn blackhole(&mut self) -> Result<(), ServerError> {
        if self.blackhole.is_some() {
            return Ok(());
        }
        self.stop_listening().await;
        let blackhole =
            Blackhole::start(self.addr)
                .await
                .map_err(|source| ServerError::Listen {
                    addr: self.addr,
                    source,
                })?;
        self.blackhole = Some(blackhole);
        self.holes.send_replace(Some(self.addr));
        self.emitter
            .emit(ServerEvent::Blackholed { addr: self.addr })
            .await?;
        Ok(())
    }

    /// Ends the blackhole, if any: the port refuses until it listens again.
    fn end_blackhole(&mut self) -> bool {
        self.blackhole.take().is_some()
    }

    /// Tells clients whose connects got no answer that the port answers
    /// again, once that is reported, so that they dial again at once.
    fn answer_again(&self, ended: bool) {
        if ended {
            self.holes.send_replace(None);
        }
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
        // Two sockets cannot listen on one port: the blackhole goes first.
        let ended = self.end_blackhole();
        let socket = hold(self.addr).map_err(|source| ServerError::Bind {
            addr: self.addr.to_string(),
            source,
        })?;
        let listener = listen(socket).map_err(|source| ServerError::Listen {
            addr: self.addr,
            source,
        })?;
        self.emitter
            .emit(ServerEvent::Listening { addr: self.addr })
            .await?;
        self.answer_again(ended);
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

    /// Stops accepting; the port stays held and refuses from now on.
    async fn stop_listening(&mut self) {
        if let Some((task, stop)) = self.accept.take() {
            stop.cancel();
            let _ = task.await;
        }
    }

    /// Kills the server: every connection is reset and the port refuses.
    pub async fn kill(&mut self) -> Result<(), ServerError> {
        self.stop_listening().await;
        let ended = self.end_blackhole();
        let conns: Vec<(u32, ConnEntry)> = {
            let mut registry = self.registry.lock().expect("registry lock");
            std::mem::take(&mut registry.conns).into_iter().collect()
        };
        let down = ServerEvent::Down {
            killed: true,
            connections: conns.len(),
        };
        self.reset(Some(down), conns).await?;
        self.answer_again(ended);
        Ok(())
    }

    /// Resets `conns`, taken out of the registry: reports them closed (after
    /// `first`), then aborts each, also one stuck writing to a peer that
    /// does not read. Returns their numbers.
    async fn reset(
        &self,
        first: Option<ServerEvent>,
        conns: Vec<(u32, ConnEntry)>,
    ) -> Result<Vec<u32>, ServerError> {
        let mut events: Vec<ServerEvent> = first.into_iter().collect();
        events.extend(conns.iter().map(|(conn, _)| ServerEvent::Closed {
            conn: *conn,
            reason: CloseReason::Aborted,
        }));
        if !events.is_empty() {
            self.emitter.emit_all(events).await?;
        }
        for (_, entry) in &conns {
            entry.abort.cancel();
            command(&entry.commands(), ConnCommand::Abort).await;
        }
        Ok(conns.into_iter().map(|(conn, _)| conn).collect())
    }

    /// Stops the server gracefully: FIN to every connection, no more accepts.
    pub async fn stop(&mut self) -> Result<(), ServerError> {
        self.stop_listening().await;
        let ended = self.end_blackhole();
        let conns = self.take_writable(&Targets::All);
        let mut events = vec![ServerEvent::Down {
            killed: false,
            connections: conns.len(),
        }];
        events.extend(
            conns
                .iter()
                .map(|(conn, _)| ServerEvent::Ended { conn: *conn }),
        );
        self.emitter.emit_all(events).await?;
        self.answer_again(ended);
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
            .map(|(conn, _)| ServerEvent::Sent {
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
        let events: Vec<ServerEvent> = conns
            .iter()
            .map(|(conn, _)| ServerEvent::Ended { conn: *conn })
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
        let conns: Vec<(u32, ConnEntry)> = {
            let mut registry = self.registry.lock().expect("registry lock");
            let ids: Vec<u32> = match targets {
                Targets::All => registry.conns.keys().copied().collect(),
                Targets::Some(ids) => ids.clone(),
            };
            ids.into_iter()
                .filter_map(|id| registry.conns.remove(&id).map(|entry| (id, entry)))
                .collect()
        };
        self.reset(None, conns).await
    }

    /// Notes which connections' clients do not read (`pause_reading`): a
    /// write to one may block until its client reads again, and what is
    /// asked of it after the write waits behind it, so nothing waits for
    /// what is asked of it (it goes on while the steps do).
    pub fn park(&self, parked: impl Fn(u32) -> bool) {
        let mut registry = self.registry.lock().expect("registry lock");
        for (conn, entry) in registry.conns.iter_mut() {
            entry.parked = parked(*conn);
        }
    }

    /// Returns the open connections' numbers.
    pub fn open_connections(&self) -> Vec<u32> {
        let registry = self.registry.lock().expect("registry lock");
        registry.conns.keys().copied().collect()
    }

    fn select(&self, targets: &Targets, keep: impl Fn(&ConnEntry) -> bool) -> Vec<(u32, Commands)> {
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
            .map(|(id, entry)| (*id, entry.commands()))
            .collect()
    }

    /// Marks the target connections as no longer writable and returns them.
    fn take_writable(&self, targets: &Targets) -> Vec<(u32, Commands)> {
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

/// Sends commands to one connection task.
#[derive(Debug, Clone)]
struct Commands {
    tx: mpsc::Sender<ConnCommand>,
    /// Its client does not read: see [`FakeServer::park`].
    parked: bool,
}

/// Sends a command to a connection task and waits until it is carried out
/// (and its consequences reported), unless the connection is parked. A
/// finished task counts as done.
async fn command(
    commands: &Commands,
    make: impl FnOnce(oneshot::Sender<()>) -> ConnCommand + Send,
) {
    let (done, wait) = oneshot::channel();
    if commands.tx.send(make(done)).await.is_ok() && !commands.parked {
        let _ = wait.await;
    }
}

/// Binds a socket to `addr` without listening. `SO_REUSEADDR` lets the
/// holder and the listener share the port, and the listener rebind it while
/// connections of its previous life linger.
pub(crate) fn hold(addr: SocketAddr) -> std::io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    Ok(socket)
}

/// Turns a bound socket into a listener.
pub(crate) fn listen(socket: Socket) -> std::io::Result<TcpListener> {
    socket.listen(1024)?;
    socket.set_nonblocking(true)?;
    TcpListener::from_std(socket.into())
}

/// Stops `listener` listening now, whoever else holds its descriptor: on
/// Linux, shutting down the read side of a listening socket closes it (the
/// port refuses, connections not yet accepted are reset).
pub(crate) fn unlisten(listener: &TcpListener) {
    let _ = socket2::SockRef::from(listener).shutdown(std::net::Shutdown::Read);
}

/// Accepts the next connection; `None` once `stop` is cancelled or
/// accepting fails for good, and then `listener` has stopped listening.
pub(crate) async fn accept(
    listener: &TcpListener,
    stop: &CancellationToken,
) -> Option<(tokio::net::TcpStream, SocketAddr)> {
    loop {
        let accepted = tokio::select! {
            // A stop asked for wins over a connection waiting to be accepted.
            biased;
            _ = stop.cancelled() => {
                unlisten(listener);
                return None;
            }
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok(accepted) => return Some(accepted),
            // The peer gave up before the accept: the next one may be fine.
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionAborted => continue,
            // Out of descriptors or the like: retrying at once would spin.
            Err(_) => {
                unlisten(listener);
                return None;
            }
        }
    }
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
    while let Some((stream, peer)) = accept(&listener, &stop).await {
        let _ = stream.set_nodelay(true);
        let (tx, rx) = mpsc::channel(64);
        let abort = shutdown.child_token();
        let conn = {
            let mut registry = registry.lock().expect("registry lock");
            registry.accepted += 1;
            let conn = registry.accepted;
            registry.conns.insert(
                conn,
                ConnEntry {
                    commands: tx,
                    parked: false,
                    writable: true,
                    abort: abort.clone(),
                },
            );
            conn
        };
        let mut events = vec![ServerEvent::Accepted { conn, peer }];
        let mut rules = options
            .rules
            .as_ref()
            .map(|rules| rules::RulesConn::new(rules, conn));
        let banner = match &mut rules {
            Some(rules) => rules.banner(),
            None => options.banner.clone(),
        };
        if let Some(banner) = &banner {
            events.push(ServerEvent::Sent {
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
            abort,
        )
        .with_rules(banner, rules);
        tokio::spawn(task.run(shutdown.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A child being spawned holds copies of our descriptors until it execs;
    /// a copy of the listener must not keep the port listening or taken.
    #[tokio::test]
    async fn a_stopped_listener_refuses_and_frees_the_port_even_while_its_descriptor_is_copied() {
        let holder = hold("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = holder.local_addr().unwrap().as_socket().unwrap();
        let listener = listen(hold(addr).unwrap()).unwrap();
        tokio::net::TcpStream::connect(addr).await.unwrap();

        let copy = socket2::SockRef::from(&listener).try_clone().unwrap();
        unlisten(&listener);
        drop(listener);
        let refused = tokio::net::TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);

        let again = listen(hold(addr).unwrap()).unwrap();
        tokio::net::TcpStream::connect(addr).await.unwrap();
        drop((copy, again));
    }
}
