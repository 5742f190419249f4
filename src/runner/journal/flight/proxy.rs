//! Accounts for a proxy's connections: what each direction read and forwarded, the FINs each end saw and passed on, and the proxy's own events.

use std::net::SocketAddr;

use super::{Flight, Joined, Side};
use crate::event::{Direction, ProxyEvent, Side as End};

/// Counts one direction of a proxy connection, as the proxy reports it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Flow {
    pub(super) read: u64,
    pub(super) forwarded: u64,
    pub(super) writing: bool,
    pub(super) reading: bool,
}

impl Default for Flow {
    fn default() -> Self {
        Self {
            read: 0,
            forwarded: 0,
            writing: false,
            reading: true,
        }
    }
}

/// Counts one proxy connection: each direction, and each end's FINs and close.
#[derive(Debug)]
pub(super) struct ProxyConn {
    /// The client end's address (the key of its link).
    pub(super) peer: SocketAddr,
    /// The proxy's own address toward the server, once dialed.
    pub(super) local: Option<SocketAddr>,
    /// Accepted, not dialed yet (nor failed to).
    pub(super) dialing: bool,
    pub(super) closed: bool,
    /// To the server, then to the client.
    pub(super) flows: [Flow; 2],
    /// A FIN was read from the client end, from the server end.
    pub(super) fin_seen: [bool; 2],
    /// A FIN was passed on to the client end, to the server end.
    pub(super) fin_passed: [bool; 2],
    /// The server end saw a reset or failed.
    pub(super) server_broken: bool,
}

impl ProxyConn {
    pub(super) fn flow(&self, direction: Direction) -> &Flow {
        &self.flows[direction_index(direction)]
    }

    /// Returns the counts of the end toward `end` as a connection's side
    /// counts them: bytes it sent and took in, FINs sent and seen.
    pub(super) fn side(&self, end: End) -> Side {
        let (out, into) = match end {
            End::Client => (Direction::ToClient, Direction::ToServer),
            End::Server => (Direction::ToServer, Direction::ToClient),
        };
        Side {
            sent: self.flow(out).forwarded,
            received: self.flow(into).read,
            fin_sent: self.fin_passed[end_index(end)],
            fin_seen: self.fin_seen[end_index(end)],
            closed: self.closed,
            ..Side::default()
        }
    }

    /// Returns true when the proxy takes in what `end` sends as it comes
    /// (else a fault holds it, or its sender has ended).
    pub(super) fn reads_from(&self, end: End) -> bool {
        self.flow(Direction::reading(end)).reading
    }

    /// Returns true when nothing is in flight inside the proxy.
    pub(super) fn settled(&self) -> bool {
        self.closed || !(self.dialing || self.flows.iter().any(|flow| flow.writing))
    }
}

pub(super) fn direction_index(direction: Direction) -> usize {
    match direction {
        Direction::ToServer => 0,
        Direction::ToClient => 1,
    }
}

pub(super) fn end_index(end: End) -> usize {
    match end {
        End::Client => 0,
        End::Server => 1,
    }
}

impl Flight {
    /// Notes that a timer of proxy `proxy` fired: it is busy until it says it is done with it.
    pub fn wake_proxy(&mut self, proxy: usize) {
        self.proxy_woken[proxy] += 1;
    }

    /// Notes that proxy `proxy` is done with a timer that fired (what it did then is reported).
    pub fn proxy_done(&mut self, proxy: usize) {
        self.proxy_woken[proxy] = self.proxy_woken[proxy].saturating_sub(1);
    }

    /// Returns the proxy connection (proxy, number) that client `index`'s current connection goes through.
    pub fn proxy_conn_of_client(&self, index: usize) -> Option<(usize, u32)> {
        let local = self.clients[index].local?;
        self.links.get(&local)?.via
    }

    /// Returns the built-in client at the client end of a proxy connection.
    pub fn client_of_proxy_conn(&self, proxy: usize, conn: u32) -> Option<usize> {
        let peer = self.proxy_conns.get(&(proxy, conn))?.peer;
        self.links
            .get(&peer)?
            .client
            .as_ref()
            .map(|(index, _)| *index)
    }

    /// Returns the server connection a proxy connection dialed, once both are known.
    pub fn server_conn_of_proxy_conn(&self, proxy: usize, conn: u32) -> Option<u32> {
        let local = self.proxy_conns.get(&(proxy, conn))?.local?;
        self.links.get(&local)?.conn.as_ref().map(|(conn, _)| *conn)
    }

    /// Returns the proxy connection that dialed server connection `conn`, once both are known.
    pub fn proxy_conn_of_server_conn(&self, conn: u32) -> Option<(usize, u32)> {
        let peer = self.conn_peer.get(&conn)?;
        self.links.get(peer)?.dialer
    }

    /// Returns true when a proxy connection's upstream end is one tcprun
    /// sees (the fake server), so what comes from it can be settled.
    pub fn upstream_seen(&self, proxy: usize) -> bool {
        self.upstream_seen[proxy]
    }

    /// Folds proxy `proxy`'s event; returns the links it completes:
    /// (proxy connection, client) when the proxy connection meets its
    /// client's connect, (proxy connection, server connection) when it meets
    /// the connection the fake server accepted.
    pub fn proxy_event(&mut self, proxy: usize, event: &ProxyEvent) -> Vec<Joined> {
        let mut joined = Vec::new();
        match event {
            ProxyEvent::Accepted { conn, peer } => {
                self.proxy_conns.insert(
                    (proxy, *conn),
                    ProxyConn {
                        peer: *peer,
                        local: None,
                        dialing: true,
                        closed: false,
                        flows: [Flow::default(); 2],
                        fin_seen: [false; 2],
                        fin_passed: [false; 2],
                        server_broken: false,
                    },
                );
                let link = self.links.entry(*peer).or_default();
                link.via = Some((proxy, *conn));
                if let Some((client, _)) = &link.client {
                    joined.push(Joined::Client(proxy, *conn, *client));
                }
            }
            ProxyEvent::Dialed { conn, local, .. } => {
                if let Some(pc) = self.proxy_conns.get_mut(&(proxy, *conn)) {
                    pc.dialing = false;
                    pc.local = Some(*local);
                }
                let link = self.links.entry(*local).or_default();
                link.dialer = Some((proxy, *conn));
                if let Some((server, _)) = &link.conn {
                    joined.push(Joined::Server(proxy, *conn, *server));
                }
            }
            ProxyEvent::DialFailed { conn, .. } => {
                if let Some(pc) = self.proxy_conns.get_mut(&(proxy, *conn)) {
                    pc.dialing = false;
                }
            }
            ProxyEvent::Forwarded {
                conn,
                direction,
                data,
            } => {
                if let Some(pc) = self.proxy_conns.get_mut(&(proxy, *conn)) {
                    pc.flows[direction_index(*direction)].forwarded += data.len() as u64;
                }
            }
            ProxyEvent::DirectionState {
                conn,
                direction,
                read,
                writing,
                reading,
            } => {
                if let Some(pc) = self.proxy_conns.get_mut(&(proxy, *conn)) {
                    let flow = &mut pc.flows[direction_index(*direction)];
                    flow.read = *read;
                    flow.writing = *writing;
                    flow.reading = *reading;
                }
            }
            ProxyEvent::FinSeen { conn, side } => {
                if let Some(pc) = self.proxy_conns.get_mut(&(proxy, *conn)) {
                    pc.fin_seen[end_index(*side)] = true;
                }
            }
            ProxyEvent::FinPassed { conn, side } => {
                if let Some(pc) = self.proxy_conns.get_mut(&(proxy, *conn)) {
                    pc.fin_passed[end_index(*side)] = true;
                }
            }
            ProxyEvent::RstSeen { conn, side } | ProxyEvent::Failed { conn, side, .. } => {
                if let Some(pc) = self.proxy_conns.get_mut(&(proxy, *conn))
                    && *side == End::Server
                {
                    pc.server_broken = true;
                }
            }
            ProxyEvent::Closed { conn, .. } => {
                if let Some(pc) = self.proxy_conns.get_mut(&(proxy, *conn)) {
                    pc.closed = true;
                    pc.dialing = false;
                }
                self.forget_closed();
            }
            ProxyEvent::Up { .. }
            | ProxyEvent::Down { .. }
            | ProxyEvent::Dropped { .. }
            | ProxyEvent::RstSent { .. }
            | ProxyEvent::FaultFired { .. }
            | ProxyEvent::FaultAdded { .. }
            | ProxyEvent::FaultsCleared { .. } => {}
        }
        joined
    }
}
