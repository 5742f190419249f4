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
