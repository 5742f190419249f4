//! Accounts for what is in flight — bytes, FINs, connect attempts, woken clients and proxies — to tell when the conversation is settled.
//!
//! A proxy between a client and the server splits a connection in two: the
//! client's to the proxy, and the proxy's to the server. Each is balanced
//! like any other, with the proxy's end counted from what it reports: what
//! it read, forwarded and dropped, the FINs and resets it saw and passed on.
//! Bytes inside the proxy are in flight while a write of them is under way
//! or they have not been read yet; bytes a fault holds (a latency's timer,
//! a stall, a pending `on:` match) are held, not in flight, so that a
//! stall or a blackhole never keeps the conversation unsettled. A stalled
//! direction reads nothing: what its sender sends then is held too.

mod proxy;

use std::collections::HashMap;
use std::net::SocketAddr;

use self::proxy::{ProxyConn, end_index};
use crate::event::{ClientEvent, ProgramEvent, ServerEvent, Side as End};

/// Counts one side of a connection: what it sent and what it saw.
#[derive(Debug, Default, Clone)]
struct Side {
    sent: u64,
    received: u64,
    fin_sent: bool,
    fin_seen: bool,
    closed: bool,
    /// A rule stalled this side: it reads nothing more, so what the peer
    /// sends it stays in flight for good, by design.
    stalled: bool,
    /// A client that does not read (`pause_reading`): what comes to it is
    /// parked in the buffers, not in flight.
    paused: bool,
}

/// Pairs the two sides of one connection, keyed by the client's local address.
#[derive(Debug, Default)]
struct Link {
    client: Option<(usize, Side)>,
    conn: Option<(u32, Side)>,
    /// The proxy connection that accepted it (its client end is `client`).
    via: Option<(usize, u32)>,
    /// The proxy connection that dialed it (its server end is `conn`).
    dialer: Option<(usize, u32)>,
}

/// Returns true when nothing is in flight between `peer`, a client or the
/// server, and a proxy's end `proxy` of the same connection, which takes
/// in what `peer` sends as it comes (`reads`) or holds it.
fn balanced(peer: &Side, proxy: &Side, reads: bool) -> bool {
    if peer.closed || proxy.closed {
        return peer.closed && proxy.closed;
    }
    let taken = if reads {
        peer.sent == proxy.received && peer.fin_sent == proxy.fin_seen
    } else {
        peer.sent >= proxy.received && (peer.fin_sent || !proxy.fin_seen)
    };
    taken && proxy.sent == peer.received && proxy.fin_sent == peer.fin_seen
}

impl Link {
    /// Returns true when nothing is in flight between the two sides (a
    /// proxy's end is looked up in `proxies`).
    fn settled(&self, proxies: &HashMap<(usize, u32), ProxyConn>, seen: &[bool]) -> bool {
        let proxy = |key: &(usize, u32)| proxies.get(key);
        match (&self.client, self.via.as_ref().and_then(proxy)) {
            (Some((_, c)), Some(p)) => {
                return balanced(c, &p.side(End::Client), p.reads_from(End::Client));
            }
            (None, Some(_)) => return true,
            _ => {}
        }
        if let Some(key) = &self.dialer {
            return match (proxy(key), &self.conn) {
                (Some(p), Some((_, s))) => {
                    balanced(s, &p.side(End::Server), p.reads_from(End::Server))
                }
                // An upstream tcprun does not see never reports its side.
                (Some(p), None) => p.closed || !seen[key.0],
                (None, _) => true,
            };
        }
        match (&self.client, &self.conn) {
            // Bytes and a FIN towards a stalled server stay where they are;
            // what the server sent must still arrive.
            (Some((_, c)), Some((_, s))) if s.stalled && !s.closed => {
                c.closed || c.paused || (s.sent == c.received && s.fin_sent == c.fin_seen)
            }
            (Some((_, c)), Some((_, s))) => {
                // A client that does not read sees nothing of what the
                // server sent, its FIN or its close, until it reads again.
                let to_client = c.paused || (s.sent == c.received && s.fin_sent == c.fin_seen);
                (c.closed && s.closed)
                    || (!c.closed
                        && !s.closed
                        && c.sent == s.received
                        && c.fin_sent == s.fin_seen
                        && to_client)
                    || (c.paused && !c.closed && s.closed)
            }
            // A connection the server never accepted is settled once the client saw it close.
            (Some((_, c)), None) => c.closed,
            // The client is a program (or not known yet, while its connect is
            // under way — which keeps the scenario unsettled anyway).
            (None, Some(_)) => true,
            (None, None) => true,
        }
    }

    /// Returns true when both sides are known and closed (a proxy's end
    /// is looked up in `proxies`).
    fn done(&self, proxies: &HashMap<(usize, u32), ProxyConn>) -> bool {
        let proxy_closed = |key: &Option<(usize, u32)>| {
            key.and_then(|key| proxies.get(&key))
                .is_some_and(|p| p.closed)
        };
        let client_closed = self.client.as_ref().is_some_and(|(_, c)| c.closed);
        let conn_closed = self.conn.as_ref().is_some_and(|(_, s)| s.closed);
        (client_closed && (conn_closed || proxy_closed(&self.via)))
            || (conn_closed && proxy_closed(&self.dialer))
    }
}

/// Names a link a proxy's event completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Joined {
    /// (proxy, connection) is built-in client `.2`'s connection.
    Client(usize, u32, usize),
    /// (proxy, connection) dialed the fake server's connection `.2`.
    Server(usize, u32, u32),
}

/// Says what keeps one client busy.
#[derive(Debug, Default)]
struct Busy {
    /// A connect attempt is under way.
    connecting: bool,
    /// Its timer fired and it has not reported since.
    woken: bool,
    /// The local address of its current connection.
    local: Option<SocketAddr>,
    /// Connected now (its connection has not closed yet).
    connected: bool,
    /// It does not read its socket (`pause_reading`), on any connection.
    paused: bool,
    /// Where its connect stands with a port that drops SYNs.
    no_answer: NoAnswer,
}

/// Says where a connect that got no answer stands.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum NoAnswer {
    /// It got an answer, or is still waiting for one that may come.
    #[default]
    No,
    /// Its SYN was dropped: while the server drops SYNs, nothing is in
    /// flight, and only its connect timeout, on the scenario's clock, ends it.
    Dropped,
    /// The port answers again and it waits for its turn to dial again, on
    /// the scenario's clock: nothing is in flight.
    Redial,
}

impl Busy {
    /// Returns true while a connect attempt is in flight: under way, and
    /// not waiting on the scenario's clock for an answer that cannot come
    /// while the server drops SYNs (`blackholed`), or for its turn to dial again.
    fn dialing(&self, blackholed: bool) -> bool {
        self.connecting
            && !(self.no_answer == NoAnswer::Dropped && blackholed
                || self.no_answer == NoAnswer::Redial)
    }
}

/// Accounts for every client and connection of one scenario.
#[derive(Debug)]
pub struct Flight {
    clients: Vec<Busy>,
    links: HashMap<SocketAddr, Link>,
    /// The peer address of each server connection, to find its link.
    conn_peer: HashMap<u32, SocketAddr>,
    /// tcprun sees both ends of every connection (a fake server), so
    /// connections count; otherwise only the clients do.
    both_ends: bool,
    /// The server program has exited (and not started again): every
    /// client's connection to it is about to close, so it is in flight.
    server_gone: bool,
    /// Fake server connections whose rule delay ended and that have not
    /// reported since (`fake: rules`).
    woken_conns: std::collections::BTreeSet<u32>,
    /// The fake server drops SYNs (`blackhole_server`).
    blackholed: bool,
    /// Each proxy's connections, by (proxy, number).
    proxy_conns: HashMap<(usize, u32), ProxyConn>,
    /// Each proxy's timers that fired and whose effects are not reported yet.
    proxy_woken: Vec<u32>,
    /// Each proxy's upstream is the fake server, whose side tcprun sees.
    upstream_seen: Vec<bool>,
}

impl Flight {
    /// Creates the accounts of `clients` clients; `both_ends`: the server is
    /// a fake one, whose connections count too.
    /// `upstream_seen`: for each proxy, its upstream is the fake server.
    pub fn new(clients: usize, both_ends: bool, upstream_seen: Vec<bool>) -> Self {
        Self {
            clients: (0..clients).map(|_| Busy::default()).collect(),
            links: HashMap::new(),
            conn_peer: HashMap::new(),
            both_ends,
            server_gone: false,
            woken_conns: std::collections::BTreeSet::new(),
            blackholed: false,
            proxy_conns: HashMap::new(),
            proxy_woken: vec![0; upstream_seen.len()],
            upstream_seen,
        }
    }

    /// Notes that a rule delay of server connection `conn` is over: it is
    /// busy until it reports that it resumed (or closes).
    pub fn wake_conn(&mut self, conn: u32) {
        self.woken_conns.insert(conn);
    }

    /// Notes that client `index`'s timer fired: it is busy until it reports.
    pub fn wake(&mut self, index: usize) {
        self.clients[index].woken = true;
    }

    /// Notes that client `index` reported (whatever it was, it is awake).
    pub fn reported(&mut self, index: usize) {
        self.clients[index].woken = false;
    }

    /// Returns true when server connection `conn`'s client does not read
    /// (`pause_reading`): what the server writes to it is parked.
    pub fn reading_paused(&self, conn: u32) -> bool {
        self.conn_peer
            .get(&conn)
            .and_then(|peer| self.links.get(peer))
            .and_then(|link| link.client.as_ref())
            .is_some_and(|(_, side)| side.paused)
    }

    /// Returns the server connection of client `index`'s current connection
    /// (through a proxy, the one the proxy dialed for it).
    pub fn conn_of_client(&self, index: usize) -> Option<u32> {
        let local = self.clients[index].local?;
        let link = self.links.get(&local)?;
        match link.via {
            Some((proxy, conn)) => self.server_conn_of_proxy_conn(proxy, conn),
            None => link.conn.as_ref().map(|(conn, _)| *conn),
        }
    }

    /// Folds built-in client `index`'s event; returns (connection, client)
    /// when a connect meets the connection the server already accepted.
    pub fn client_event(&mut self, index: usize, event: &ClientEvent) -> Option<(u32, usize)> {
        match event {
            ClientEvent::Connecting { .. } => {
                let busy = &mut self.clients[index];
                busy.connecting = true;
                busy.no_answer = NoAnswer::No;
            }
            ClientEvent::NoAnswer { .. } => self.clients[index].no_answer = NoAnswer::Dropped,
            ClientEvent::Redialing { .. } => self.clients[index].no_answer = NoAnswer::Redial,
            ClientEvent::Connected { local, .. } => {
                let busy = &mut self.clients[index];
                busy.connecting = false;
                busy.no_answer = NoAnswer::No;
                busy.connected = true;
                busy.local = Some(*local);
                let side = Side {
                    paused: busy.paused,
                    ..Side::default()
                };
                let link = self.links.entry(*local).or_default();
                link.client = Some((index, side));
                if let Some((proxy, pc)) = link.via {
                    return self
                        .server_conn_of_proxy_conn(proxy, pc)
                        .map(|conn| (conn, index));
                }
                return link.conn.as_ref().map(|(conn, _)| (*conn, index));
            }
            ClientEvent::ConnectFailed { .. } => {
                let busy = &mut self.clients[index];
                busy.connecting = false;
                busy.no_answer = NoAnswer::No;
            }
            ClientEvent::Sent { data, .. } => {
                if let Some(side) = self.client_side(index) {
                    side.sent += data.len() as u64;
                }
            }
            ClientEvent::Received { data } => {
                if let Some(side) = self.client_side(index) {
                    side.received += data.len() as u64;
                }
            }
            ClientEvent::PeerEnded => {
                if let Some(side) = self.client_side(index) {
                    side.fin_seen = true;
                }
            }
            ClientEvent::Ended => {
                if let Some(side) = self.client_side(index) {
                    side.fin_sent = true;
                }
            }
            ClientEvent::Closed { .. } => {
                self.clients[index].connected = false;
                if let Some(side) = self.client_side(index) {
                    side.closed = true;
                }
                self.forget_closed();
            }
            ClientEvent::Queued { .. }
            | ClientEvent::RetryScheduled { .. }
            | ClientEvent::GaveUp { .. }
            | ClientEvent::Unsent { .. }
            | ClientEvent::Quit
            | ClientEvent::Abort { .. } => {}
            ClientEvent::ReadingPaused | ClientEvent::ReadingResumed => {
                let paused = *event == ClientEvent::ReadingPaused;
                self.clients[index].paused = paused;
                if let Some(side) = self.client_side(index) {
                    side.paused = paused;
                }
            }
        }
        None
    }

    /// Folds the fake server's event; returns (connection, client) when an
    /// accepted connection meets the client's connect, already reported.
    pub fn server_event(&mut self, event: &ServerEvent) -> Option<(u32, usize)> {
        match event {
            ServerEvent::Accepted { conn, peer } => {
                self.conn_peer.insert(*conn, *peer);
                let link = self.links.entry(*peer).or_default();
                link.conn = Some((*conn, Side::default()));
                if let Some((proxy, pc)) = link.dialer {
                    return self
                        .client_of_proxy_conn(proxy, pc)
                        .map(|client| (*conn, client));
                }
                return link.client.as_ref().map(|(client, _)| (*conn, *client));
            }
            ServerEvent::Received { conn, data } => {
                if let Some(side) = self.conn_side(*conn) {
                    side.received += data.len() as u64;
                }
            }
            ServerEvent::Sent { conn, data } => {
                if let Some(side) = self.conn_side(*conn) {
                    side.sent += data.len() as u64;
                }
            }
            ServerEvent::PeerEnded { conn } => {
                if let Some(side) = self.conn_side(*conn) {
                    side.fin_seen = true;
                }
            }
            ServerEvent::Ended { conn } => {
                if let Some(side) = self.conn_side(*conn) {
                    side.fin_sent = true;
                }
            }
            ServerEvent::Closed { conn, .. } => {
                self.woken_conns.remove(conn);
                if let Some(side) = self.conn_side(*conn) {
                    side.closed = true;
                }
                self.forget_closed();
            }
            ServerEvent::Resumed { conn } => {
                self.woken_conns.remove(conn);
            }
            ServerEvent::Stalled { conn } => {
                if let Some(side) = self.conn_side(*conn) {
                    side.stalled = true;
                }
            }
            ServerEvent::Blackholed { .. } => self.blackholed = true,
            // The port answers again: a connect that got no answer is dialed again.
            ServerEvent::Listening { .. } | ServerEvent::Down { .. } => self.blackholed = false,
            ServerEvent::RuleMatched { .. }
            | ServerEvent::NoRuleMatched { .. }
            | ServerEvent::Waiting { .. }
            | ServerEvent::FramingFailed { .. } => {}
        }
        None
    }

    /// Folds the server program's event: once it exits, the clients'
    /// connections to it are closing; once it starts again, they are not.
    pub fn server_program_event(&mut self, event: &ProgramEvent) {
        match event {
            ProgramEvent::Exited { .. } => self.server_gone = true,
            ProgramEvent::Started { .. } => self.server_gone = false,
            ProgramEvent::Input { .. }
            | ProgramEvent::StdinClosed
            | ProgramEvent::Output { .. }
            | ProgramEvent::Signalled { .. }
            | ProgramEvent::Ready => {}
        }
    }

    /// Returns true when nothing is in flight: every connection settled, no
    /// attempt under way (but for one that gets no answer from a port that
    /// drops SYNs), no woken client still to report, and no client still
    /// connected to a server program that has exited.
    pub fn settled(&self) -> bool {
        self.clients
            .iter()
            .all(|c| !(c.dialing(self.blackholed) || c.woken || self.server_gone && c.connected))
            && self.woken_conns.is_empty()
            && self.links.values().all(|link| self.link_settled(link))
            && self.proxy_woken.iter().all(|woken| *woken == 0)
            && self
                .proxy_conns
                .values()
                .all(|pc| self.proxy_conn_settled(pc))
    }

    /// Returns true when nothing is in flight on `link`: with a fake
    /// server every link counts; without, only those with a proxy's end.
    fn link_settled(&self, link: &Link) -> bool {
        let proxied = link.via.is_some() || link.dialer.is_some();
        !(self.both_ends || proxied) || link.settled(&self.proxy_conns, &self.upstream_seen)
    }

    /// Returns true when nothing is in flight inside a proxy connection,
    /// nor on its way to it from a server program that has exited.
    fn proxy_conn_settled(&self, pc: &ProxyConn) -> bool {
        let closing = self.server_gone
            && pc.local.is_some()
            && !pc.closed
            && !pc.fin_seen[end_index(End::Server)]
            && !pc.server_broken;
        pc.settled() && !closing
    }

    /// Describes what keeps the conversation from settling, for timeouts;
    /// `name` names client `index`.
    pub fn unsettled<'a>(&self, name: impl Fn(usize) -> &'a str) -> Vec<String> {
        let mut why = Vec::new();
        for (index, client) in self.clients.iter().enumerate() {
            if client.dialing(self.blackholed) {
                why.push(format!("{} is still connecting", name(index)));
            }
            if client.woken {
                why.push(format!("{} was woken and has not reported", name(index)));
            }
            if self.server_gone && client.connected {
                why.push(format!(
                    "{}'s connection to the server program is still open after the program exited",
                    name(index)
                ));
            }
        }
        for conn in &self.woken_conns {
            why.push(format!(
                "server connection {conn} ended a rule's delay and has not reported"
            ));
        }
        for link in self.links.values().filter(|l| !self.link_settled(l)) {
            let who = link.client.as_ref().map_or("a client", |(i, _)| name(*i));
            let what = match (link.via, link.dialer) {
                (Some((_, conn)), _) => format!("{who} and the proxy (its connection {conn})"),
                (None, Some((_, conn))) => {
                    format!("the proxy (its connection {conn}) and the server")
                }
                (None, None) => format!("{who} and the server"),
            };
            why.push(match (&link.client, &link.conn) {
                (Some((_, c)), Some((conn, s))) if c.paused && s.sent > c.received => format!(
                    "{who} does not read (pause_reading), and the fake server reads nothing more on connection {conn} until its write to {who} is done"
                ),
                _ => format!("bytes or a close between {what} are in flight"),
            });
        }
        for (proxy, woken) in self.proxy_woken.iter().enumerate() {
            if *woken > 0 {
                why.push(format!(
                    "proxy {} was woken by a timer and has not reported",
                    proxy + 1
                ));
            }
        }
        let mut busy: Vec<&(usize, u32)> = self
            .proxy_conns
            .iter()
            .filter(|(_, pc)| !self.proxy_conn_settled(pc))
            .map(|(key, _)| key)
            .collect();
        busy.sort();
        for (_, conn) in busy {
            why.push(format!(
                "the proxy's connection {conn} is connecting upstream, writing, or closing"
            ));
        }
        why
    }

    fn client_side(&mut self, index: usize) -> Option<&mut Side> {
        let local = self.clients[index].local?;
        self.links
            .get_mut(&local)
            .and_then(|link| link.client.as_mut())
            .map(|(_, side)| side)
    }

    fn conn_side(&mut self, conn: u32) -> Option<&mut Side> {
        let peer = self.conn_peer.get(&conn)?;
        self.links
            .get_mut(peer)
            .and_then(|link| link.conn.as_mut())
            .map(|(_, side)| side)
    }

    /// Forgets connections whose both sides are closed, and closed proxy
    /// connections no connection refers to any more (bounded memory).
    fn forget_closed(&mut self) {
        let proxies = &self.proxy_conns;
        self.links.retain(|_, link| !link.done(proxies));
        let referred: std::collections::HashSet<(usize, u32)> = self
            .links
            .values()
            .flat_map(|link| link.via.into_iter().chain(link.dialer))
            .collect();
        self.proxy_conns
            .retain(|key, pc| !pc.closed || referred.contains(key));
    }
}
