//! Listens on the proxy's port: the accept loop, and the blackhole that makes connects time out.
//!
//! The port is held for the proxy's whole life by a bound socket that never
//! listens (as the fake server holds its port): while the proxy is down,
//! connects are refused and no other program can take the port, so `up`
//! always comes back on the same address.
//!
//! A blackhole needs no root and no firewall. On Linux a listener whose
//! accept queue is full drops every further SYN (`ListenOverflows`), also
//! with `net.ipv4.tcp_syncookies` on (cookies stand in for a full SYN
//! queue, not a full accept queue), so a connect gets no answer and times
//! out after the client's own connect timeout (`ETIMEDOUT`). The blackhole
//! listens with a backlog of 0, which holds one connection, and fills it
//! with one connection of its own that it never accepts.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use socket2::Socket;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Shared;
use super::conn;
use super::reporter::Reporter;
use crate::event::ProxyEvent;

/// Bounds the wait for the blackhole's own connection to fill its queue
/// (on loopback it takes microseconds; a dropped SYN is retried after 1s).
const FILL_TIMEOUT: Duration = Duration::from_millis(500);

/// Accepts connections and starts a task for each, until `stop` is cancelled.
pub(super) async fn accept_loop<R: Reporter>(
    listener: TcpListener,
    shared: Arc<Shared<R>>,
    stop: CancellationToken,
) {
    while let Some((client, peer)) = crate::server::accept(&listener, &stop).await {
        let _ = client.set_nodelay(true);
        let (commands, receiver) = mpsc::channel(1);
        let conn = {
            let mut registry = shared.registry.lock().expect("registry lock");
            registry.accepted += 1;
            let conn = registry.accepted;
            registry.conns.insert(conn, commands);
            conn
        };
        let accepted = vec![ProxyEvent::Accepted { conn, peer }];
        if shared.reporter.report(accepted).await.is_err() {
            return;
        }
        tokio::spawn(conn::run(shared.clone(), conn, client, receiver));
    }
}

/// Holds the port in a state where connects get no answer.
pub(super) struct Blackhole {
    listener: Socket,
    _filler: Option<TcpStream>,
}

impl Blackhole {
    /// Listens on `addr` with a full accept queue, so that every further SYN is dropped.
    pub(super) async fn start(addr: SocketAddr) -> std::io::Result<Self> {
        let listener = crate::server::hold(addr)?;
        listener.listen(0)?;
        let target = match addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, addr.port()).into(),
            IpAddr::V6(ip) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, addr.port()).into(),
            _ => addr,
        };
        let filler = match tokio::time::timeout(FILL_TIMEOUT, TcpStream::connect(target)).await {
            Ok(connected) => Some(connected?),
            // A client's connect came between `listen` and ours and took the
            // one place: the queue is full all the same, and ours is the SYN
            // that was dropped.
            Err(_) => None,
        };
        Ok(Self {
            listener,
            _filler: filler,
        })
    }
}

impl Drop for Blackhole {
    /// Stops listening at once (the queued connection is reset), even if a
    /// copy of the descriptor lives on in a child being spawned.
    fn drop(&mut self) {
        let _ = self.listener.shutdown(std::net::Shutdown::Read);
    }
}
