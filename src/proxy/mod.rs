//! Forwards TCP connections to an upstream server, passing FINs and resets through, and injects faults: the fault proxy.
//!
//! A [`Proxy`] listens on a port, dials the upstream for every connection
//! it accepts, and forwards both directions. A client's FIN becomes a FIN
//! toward the server (and the other direction keeps flowing), and the other
//! way round; a reset on one side becomes a reset (SO_LINGER 0, then close)
//! of the other. Faults ([`FaultSpec`]) can be added and cleared while
//! connections are open; a fault change applies to each direction between
//! two chunks. [`Proxy::down`] and [`Proxy::up`] take the port down
//! (refusing, blackholing, or resetting) and back up on the same address.
//!
//! Everything is reported as [`ProxyEvent`]s through a [`Reporter`],
//! before its effects reach the other side, and every delay is a wait the
//! reporter times, so the scenario runner can drive the proxy on its
//! virtual clock. When the upstream cannot be dialed, the client, whose
//! connect has already succeeded (the proxy accepts before it dials), is
//! reset: its next read or write fails with `ECONNRESET`.
//!
//! `tcprun proxy` ([`command`]) runs a proxy on its own.

mod armed;
pub mod command;
mod conn;
mod fate;
mod flow;
mod listener;
mod queue;
mod reporter;
pub mod spec;
mod units;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use socket2::Socket;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use crate::event::{Direction, DownMode, FaultLabel, ProxyEvent, Side};
pub use armed::Fault;
use conn::ConnCommand;
pub use reporter::{Reporter, ReporterGone, real_wait};
pub use spec::{Cut, Directions, FaultKind, FaultSpec, SpecError, Trigger};

use crate::server::Blackhole;

/// Lists the faults in effect, in the order they were added.
pub type Table = Arc<Vec<Arc<Fault>>>;

/// Configures a proxy.
#[derive(Debug, Clone)]
pub struct ProxyOptions {
    /// Where to listen; port 0 picks a free one.
    pub listen: SocketAddr,
    /// The upstream server's host (resolved at every dial).
    pub upstream_host: String,
    /// The upstream server's port.
    pub upstream_port: u16,
    /// Seeds every random choice (probabilities, jitter).
    pub seed: u64,
    /// Bounds each dial of the upstream (`ETIMEDOUT`).
    pub dial_timeout: Duration,
    /// Faults in effect from the start (added, and reported, before the port listens).
    pub faults: Vec<FaultSpec>,
}

/// Reports a proxy that cannot listen, or whose reporter is gone.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The address could not be bound.
    #[error("cannot bind {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// `listen()` failed, or the blackhole could not fill its queue.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The bound address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Nobody listens to the events any more.
    #[error(transparent)]
    Gone(#[from] ReporterGone),
}

/// Holds what the proxy and its connection tasks share.
pub(crate) struct Shared<R> {
    reporter: R,
    seed: u64,
    upstream: (String, u16),
    dial_timeout: Duration,
    registry: Mutex<Registry>,
    /// How many directions read into big buffers (at most `flow::BIG_READS`).
    big_reads: AtomicUsize,
    faults: watch::Sender<Table>,
    shutdown: CancellationToken,
}

/// Lists the open connections.
#[derive(Default)]
struct Registry {
    conns: BTreeMap<u32, mpsc::Sender<ConnCommand>>,
    accepted: u32,
}

/// Says whether the port listens.
enum State {
    Up(JoinHandle<()>, CancellationToken),
    /// The blackhole, when there is one, is held only to be dropped on `up`.
    Down {
        _blackhole: Option<Blackhole>,
    },
}

/// Controls one running proxy: faults, down and up. Dropping it stops
/// every connection task (their sockets close as the process would close them).
pub struct Proxy<R: Reporter> {
    addr: SocketAddr,
    shared: Arc<Shared<R>>,
    /// The bound socket that keeps the port for the proxy's whole life.
    _holder: Socket,
    state: State,
    /// The number of the last fault added.
    last_fault: u64,
}

impl<R: Reporter> Proxy<R> {
    /// Binds and listens, and reports [`ProxyEvent::Up`].
    pub async fn start(options: ProxyOptions, reporter: R) -> Result<Self, ProxyError> {
        let holder = crate::server::hold(options.listen).map_err(|source| ProxyError::Bind {
            addr: options.listen,
            source,
        })?;
        let addr = holder
            .local_addr()
            .ok()
            .and_then(|addr| addr.as_socket())
            .unwrap_or(options.listen);
        let (faults, _) = watch::channel(Table::default());
        let shared = Arc::new(Shared {
            reporter,
            seed: options.seed,
            upstream: (options.upstream_host, options.upstream_port),
            dial_timeout: options.dial_timeout,
            registry: Mutex::new(Registry::default()),
            big_reads: AtomicUsize::new(0),
            faults,
            shutdown: CancellationToken::new(),
        });
        let mut proxy = Self {
            addr,
            shared,
            _holder: holder,
            state: State::Down { _blackhole: None },
            last_fault: 0,
        };
        for spec in options.faults {
            proxy.add_fault(spec).await?;
        }
        proxy.up().await?;
        Ok(proxy)
    }

    /// Returns the address the proxy listens on (with the real port).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Returns true while the port listens.
    pub fn is_up(&self) -> bool {
        matches!(self.state, State::Up(..))
    }

    /// Returns the faults in effect, in the order they were added.
    pub fn faults(&self) -> Table {
        self.shared.faults.borrow().clone()
    }

    /// Adds a fault: it applies to the open connections from their next
    /// chunk on, and to every later connection; it returns once every open
    /// connection has taken it on. Returns its name.
    pub async fn add_fault(&mut self, spec: FaultSpec) -> Result<Arc<str>, ReporterGone> {
        self.last_fault += 1;
        let fault = Arc::new(Fault::new(self.last_fault, spec));
        let name = fault.name.clone();
        let added = ProxyEvent::FaultAdded {
            fault: fault.label.clone(),
        };
        self.shared.reporter.report(vec![added]).await?;
        self.shared.faults.send_modify(|table| {
            let mut faults = table.as_ref().clone();
            faults.push(fault);
            *table = Arc::new(faults);
        });
        self.sync_connections().await;
        Ok(name)
    }

    /// Waits until every open connection has taken on the faults in effect
    /// and reported what that changed (a stall that ends lets it read).
    async fn sync_connections(&self) {
        let conns: Vec<mpsc::Sender<ConnCommand>> = {
            let registry = self.shared.registry.lock().expect("registry lock");
            registry.conns.values().cloned().collect()
        };
        for commands in conns {
            let (done, wait) = oneshot::channel();
            if commands.send(ConnCommand::Sync(done)).await.is_ok() {
                // A connection still dialing takes the faults once dialed.
                let _ = wait.await;
            }
        }
    }

    /// Clears the faults named `name`, or every fault, and returns once
    /// every open connection has let them go; returns the names cleared
    /// (nothing is reported when none is).
    pub async fn clear(&mut self, name: Option<&str>) -> Result<Vec<Arc<str>>, ReporterGone> {
        let table = self.faults();
        let (gone, kept): (Vec<_>, Vec<_>) = table
            .iter()
            .cloned()
            .partition(|fault| name.is_none_or(|name| *fault.name == *name));
        if gone.is_empty() {
            return Ok(Vec::new());
        }
        let names: Vec<Arc<str>> = gone.iter().map(|fault| fault.name.clone()).collect();
        let cleared = ProxyEvent::FaultsCleared {
            names: names.clone(),
        };
        self.shared.reporter.report(vec![cleared]).await?;
        self.shared.faults.send_replace(Arc::new(kept));
        self.sync_connections().await;
        Ok(names)
    }

    /// Takes the port down: new connects are refused ([`DownMode::Refuse`]),
    /// time out ([`DownMode::Blackhole`]), or every open connection is reset
    /// and new connects are refused ([`DownMode::Reset`]).
    ///
    /// As with the fake server, the event is reported once the port is
    /// down, so whoever sees it finds the port refusing (or blackholing);
    /// the resets of [`DownMode::Reset`] follow it, one batch per connection.
    pub async fn down(&mut self, mode: DownMode) -> Result<(), ProxyError> {
        self.stop_listening().await;
        if mode == DownMode::Blackhole {
            let blackhole =
                Blackhole::start(self.addr)
                    .await
                    .map_err(|source| ProxyError::Listen {
                        addr: self.addr,
                        source,
                    })?;
            self.state = State::Down {
                _blackhole: Some(blackhole),
            };
        }
        let conns: Vec<mpsc::Sender<ConnCommand>> = {
            let registry = self.shared.registry.lock().expect("registry lock");
            registry.conns.values().cloned().collect()
        };
        let down = ProxyEvent::Down {
            mode,
            connections: conns.len(),
        };
        self.shared.reporter.report(vec![down]).await?;
        if mode == DownMode::Reset {
            for commands in conns {
                let (done, wait) = oneshot::channel();
                if commands.send(ConnCommand::Reset(done)).await.is_ok() {
                    let _ = wait.await;
                }
            }
        }
        Ok(())
    }

    /// Listens again on the same address (nothing happens while up).
    pub async fn up(&mut self) -> Result<(), ProxyError> {
        if self.is_up() {
            return Ok(());
        }
        self.stop_listening().await;
        let addr = self.addr;
        let socket =
            crate::server::hold(addr).map_err(|source| ProxyError::Bind { addr, source })?;
        let listener =
            crate::server::listen(socket).map_err(|source| ProxyError::Listen { addr, source })?;
        self.shared
            .reporter
            .report(vec![ProxyEvent::Up { addr }])
            .await?;
        let stop = self.shared.shutdown.child_token();
        let task = tokio::spawn(listener::accept_loop(
            listener,
            self.shared.clone(),
            stop.clone(),
        ));
        self.state = State::Up(task, stop);
        Ok(())
    }

    /// Stops accepting (or blackholing); the port stays held and refuses.
    async fn stop_listening(&mut self) {
        if let State::Up(task, stop) =
            std::mem::replace(&mut self.state, State::Down { _blackhole: None })
        {
            stop.cancel();
            let _ = task.await;
        }
    }

    /// Returns the numbers of the open connections.
    pub fn open_connections(&self) -> Vec<u32> {
        let registry = self.shared.registry.lock().expect("registry lock");
        registry.conns.keys().copied().collect()
    }
}

impl<R: Reporter> Drop for Proxy<R> {
    fn drop(&mut self) {
        self.shared.shutdown.cancel();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    /// Records every batch; its waits end at once, as a scheduled clock's
    /// would when nothing else is pending.
    #[derive(Clone, Default)]
    struct Instant {
        batches: Arc<Mutex<Vec<Vec<ProxyEvent>>>>,
        waits: Arc<Mutex<Vec<Duration>>>,
    }

    impl Reporter for Instant {
        type Wait = std::future::Ready<()>;

        async fn report(&self, events: Vec<ProxyEvent>) -> Result<(), ReporterGone> {
            self.batches.lock().unwrap().push(events);
            Ok(())
        }

        async fn report_then_wait(
            &self,
            events: Vec<ProxyEvent>,
            delay: Duration,
        ) -> Result<Self::Wait, ReporterGone> {
            self.waits.lock().unwrap().push(delay);
            self.batches.lock().unwrap().push(events);
            Ok(std::future::ready(()))
        }

        /// Its clock stands still: each wait is asked for whole.
        fn now(&self) -> Duration {
            Duration::ZERO
        }
    }

    fn options(upstream: SocketAddr, faults: &[&[(&str, &str)]]) -> ProxyOptions {
        ProxyOptions {
            listen: "127.0.0.1:0".parse().unwrap(),
            upstream_host: upstream.ip().to_string(),
            upstream_port: upstream.port(),
            seed: 1,
            dial_timeout: Duration::from_secs(10),
            faults: faults
                .iter()
                .map(|pairs| FaultSpec::from_pairs(pairs).unwrap())
                .collect(),
        }
    }

    /// The proxy waits only through its reporter: an hour of latency on
    /// a clock that lets it pass at once costs no wall time.
    #[tokio::test]
    async fn every_delay_is_a_wait_the_reporter_times() {
        let server = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let reporter = Instant::default();
        let faults: &[&[(&str, &str)]] = &[&[("latency", "1h")], &[("slow_close", "1h")]];
        let proxy = Proxy::start(
            options(server.local_addr().unwrap(), faults),
            reporter.clone(),
        )
        .await
        .unwrap();
        let mut client = TcpStream::connect(proxy.addr()).await.unwrap();
        let (mut upstream, _) = server.accept().await.unwrap();
        client.write_all(b"ping").await.unwrap();
        client.shutdown().await.unwrap();
        let mut got = Vec::new();
        upstream.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"ping");
        let waits = reporter.waits.lock().unwrap().clone();
        assert_eq!(
            waits,
            [Duration::from_secs(3600), Duration::from_secs(7200)]
        );
        // The bytes were reported before the FIN that followed them.
        let events: Vec<ProxyEvent> = reporter.batches.lock().unwrap().concat();
        let forwarded = events
            .iter()
            .position(|e| matches!(e, ProxyEvent::Forwarded { data, .. } if data == "ping"));
        let fin = events.iter().position(|e| {
            matches!(
                e,
                ProxyEvent::FinPassed {
                    side: Side::Server,
                    ..
                }
            )
        });
        assert!(forwarded.unwrap() < fin.unwrap(), "{events:#?}");
    }
}
