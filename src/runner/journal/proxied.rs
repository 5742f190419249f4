//! Folds what proxies report: the links they complete, what they passed and fired, and what is held until a step consumes it.

use super::{
    Direction, Flight, Joined, Journal, ProxyEvent, ProxyInfo, ProxyShown, ProxyState, Side,
};

impl Journal {
    /// Adds the scenario's proxies, in declaration order (before any event).
    pub fn with_proxies(mut self, proxies: &[ProxyInfo]) -> Self {
        let seen = proxies.iter().map(|p| p.upstream_seen).collect();
        let clients = self.state.clients().len();
        self.flight = Flight::new(clients, self.flight_both_ends(), seen);
        self.record.set_proxies(
            proxies.iter().map(|p| p.name.clone()).collect(),
            proxies.iter().map(|p| p.framing.clone()).collect(),
        );
        self.proxies = proxies.iter().map(|_| ProxyState::default()).collect();
        self
    }

    /// Returns proxy `index`'s state.
    pub fn proxy(&self, index: usize) -> &ProxyState {
        &self.proxies[index]
    }

    /// Returns proxy `index`'s state for `proxy_expect` to consume from.
    pub fn proxy_mut(&mut self, index: usize) -> &mut ProxyState {
        &mut self.proxies[index]
    }

    /// Returns the proxy connection (proxy, number) of client `index`'s current connection.
    pub fn proxy_conn_of_client(&self, index: usize) -> Option<(usize, u32)> {
        self.flight.proxy_conn_of_client(index)
    }

    /// Notes that a timer of proxy `index` fired: it is busy until it is done with it.
    pub fn wake_proxy(&mut self, index: usize) {
        self.flight.wake_proxy(index);
    }

    /// Shows what proxy `proxy` passed on in `direction` that a
    /// `proxy_expect` consumed (on connection `conn`, or on all of them):
    /// after everything folded before, before anything folded later.
    pub fn sync_proxy(&mut self, proxy: usize, direction: Direction, conn: Option<u32>) {
        if direction != Direction::ToClient {
            return;
        }
        let passed = self.proxies[proxy].passed(direction);
        let shown = match conn {
            Some(conn) => passed.conns.get(&conn).map_or(0, |b| b.shown_total()),
            None => passed.all.shown_total(),
        };
        let released = self.proxy_held.consumed(conn, shown);
        self.show_proxy(released);
    }

    /// Shows the firing of proxy `proxy`'s fault `name` that an
    /// `expect_fault` waited for, if it was held, and what came before it.
    pub fn sync_fault(&mut self, proxy: usize, name: &str) {
        let released = self.proxy_held.fired(proxy, name);
        self.show_proxy(released);
    }

    /// Writes what proxies said that was held and is released now, as a window of its own.
    pub(super) fn show_proxy(&mut self, released: Vec<ProxyShown>) {
        let owners = &self.state.server().conn_client;
        self.record.show_proxy_released(released, owners);
    }

    /// Releases what proxies said about what went to built-in clients, as
    /// far as each client has shown what it received.
    pub(super) fn release_proxy_received(&mut self) -> Vec<ProxyShown> {
        let mut released = Vec::new();
        for index in 0..self.state.clients().len() {
            let (shown, _) = self.held.received_span(index);
            released.extend(self.proxy_held.received(index, shown));
        }
        released
    }

    /// Folds proxy `index`'s event: the links it completes, its state, and
    /// its line — held back when it is about what an upstream tcprun does
    /// not see sent.
    pub(super) fn proxy_event(&mut self, index: usize, event: &ProxyEvent) {
        for joined in self.flight.proxy_event(index, event) {
            match joined {
                Joined::Client(proxy, conn, client) => {
                    self.record.proxy_client(proxy, conn, client);
                    if let Some(server) = self.flight.server_conn_of_proxy_conn(proxy, conn) {
                        self.state.pair(server, client);
                    }
                }
                Joined::Server(proxy, conn, server) => {
                    self.record.proxy_server(proxy, conn, server);
                    if let Some(client) = self.flight.client_of_proxy_conn(proxy, conn) {
                        self.state.pair(server, client);
                    }
                }
            }
        }
        let held = match event {
            ProxyEvent::Forwarded {
                conn, direction, ..
            }
            | ProxyEvent::Dropped {
                conn, direction, ..
            }
            | ProxyEvent::FaultFired {
                conn, direction, ..
            } if *direction == Direction::ToClient && !self.flight.upstream_seen(index) => {
                Some(*conn)
            }
            _ => None,
        };
        if let Some(conn) = held {
            let client = self
                .flight
                .client_of_proxy_conn(index, conn)
                .filter(|_| self.hold_received)
                .map(|client| (client, self.held.received_span(client).1));
            let passed = self.proxies[index].passed(Direction::ToClient);
            self.proxy_held.hold(index, conn, event, client, passed);
            self.proxies[index].apply(event);
            return;
        }
        // What was held goes before the end of the upstream's stream, and
        // before the FIN or RST the client gets.
        if let ProxyEvent::FinSeen {
            conn,
            side: Side::Server,
        }
        | ProxyEvent::RstSeen {
            conn,
            side: Side::Server,
        }
        | ProxyEvent::Failed {
            conn,
            side: Side::Server,
            ..
        }
        | ProxyEvent::FinPassed {
            conn,
            side: Side::Client,
        }
        | ProxyEvent::RstSent {
            conn,
            side: Side::Client,
        }
        | ProxyEvent::Closed { conn, .. } = event
        {
            let released = self.proxy_held.ended(*conn);
            self.record.show_proxy_held(released);
        }
        self.proxies[index].apply(event);
        self.record.proxy(index, event);
    }
}
