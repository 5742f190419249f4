//! Holds a port where connects get no answer: the fake server's `blackhole_server` and the proxy's `down blackhole`.
//!
//! A blackhole needs no root and no firewall. On Linux a listener whose
//! accept queue is full drops every further SYN (`ListenOverflows`), also
//! with `net.ipv4.tcp_syncookies` on (cookies stand in for a full SYN
//! queue, not a full accept queue), so a connect gets no answer and times
//! out after the client's own connect timeout (`ETIMEDOUT`). The blackhole
//! listens with a backlog of 0, which holds one connection, and fills it
//! with one connection of its own that it never accepts.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use socket2::Socket;
use tokio::net::TcpStream;
use tokio::sync::watch;

/// Bounds the wait for the blackhole's own connection to fill its queue
/// (on loopback it takes microseconds; a dropped SYN is retried after 1s).
const FILL_TIMEOUT: Duration = Duration::from_millis(500);

/// Holds the port in a state where connects get no answer.
#[derive(Debug)]
pub(crate) struct Blackhole {
    listener: Socket,
    _filler: Option<TcpStream>,
}

impl Blackhole {
    /// Listens on `addr` with a full accept queue, so that every further SYN is dropped.
    pub(crate) async fn start(addr: SocketAddr) -> std::io::Result<Self> {
        let listener = super::hold(addr)?;
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

/// Tells built-in clients where the fake server drops SYNs now
/// ([`FakeServer::blackhole`](super::FakeServer::blackhole)), so that a
/// connect there, which gets no answer, waits on the scenario's clock
/// instead of the wall clock, and is dialed again the moment the port
/// answers again (as the client's next SYN would find it).
#[derive(Debug, Clone)]
pub struct Blackholes(watch::Receiver<Option<SocketAddr>>);

impl Blackholes {
    /// Returns a pair: the sender the fake server sets, and the receivers' first copy.
    pub(crate) fn channel() -> (watch::Sender<Option<SocketAddr>>, Self) {
        let (tx, rx) = watch::channel(None);
        (tx, Self(rx))
    }

    /// Returns a receiver of what `holes` says.
    pub(crate) fn watching(holes: &watch::Sender<Option<SocketAddr>>) -> Self {
        Self(holes.subscribe())
    }

    /// Returns true when a connect to `addr` gets no answer now.
    pub fn drops(&self, addr: SocketAddr) -> bool {
        self.0.borrow().is_some_and(|hole| covers(hole, addr))
    }

    /// Ends once a connect to `addr` would be answered again (the port
    /// listens or refuses); never, if the server is gone.
    pub async fn answered(&mut self, addr: SocketAddr) {
        while self.drops(addr) {
            if self.0.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

/// Returns true when a listener bound to `hole` receives a connect to `addr`.
fn covers(hole: SocketAddr, addr: SocketAddr) -> bool {
    hole.port() == addr.port()
        && (hole.ip() == addr.ip()
            || (hole.ip().is_unspecified()
                && hole.is_ipv4() == addr.is_ipv4()
                && (addr.ip().is_loopback() || addr.ip().is_unspecified())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hole_covers_its_own_address_and_loopback_for_a_wildcard() {
        let at = |text: &str| text.parse::<SocketAddr>().unwrap();
        assert!(covers(at("127.0.0.1:7"), at("127.0.0.1:7")));
        assert!(!covers(at("127.0.0.1:7"), at("127.0.0.1:8")));
        assert!(!covers(at("127.0.0.1:7"), at("127.0.0.2:7")));
        assert!(covers(at("0.0.0.0:7"), at("127.0.0.1:7")));
        assert!(!covers(at("0.0.0.0:7"), at("[::1]:7")));
        assert!(covers(at("[::]:7"), at("[::1]:7")));
    }

    /// Once the blackhole is dropped, the port refuses (the holder is
    /// bound, not listening), and clients waiting on it hear so.
    #[tokio::test]
    async fn the_port_refuses_once_the_blackhole_ends() {
        let holder = super::super::hold("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = holder.local_addr().unwrap().as_socket().unwrap();
        let (tx, mut holes) = Blackholes::channel();
        let blackhole = Blackhole::start(addr).await.unwrap();
        tx.send_replace(Some(addr));
        assert!(holes.drops(addr));
        assert!(!holes.drops(SocketAddr::new(addr.ip(), addr.port() ^ 1)));
        drop(blackhole);
        tx.send_replace(None);
        holes.answered(addr).await;
        let refused = TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    }
}
