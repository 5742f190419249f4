//! Words a proxy's events: what it passes on and drops, its ends and resets, its faults, down and up, each after what caused it.

use super::{Mark, Owners, ProxyShown, Recorder, bytes_word};
use crate::client::encoding::Encoding;
use crate::event::{Direction, DownMode, ProxyEvent, Side};
use crate::framing::FrameStream;
use crate::transcript::window::{Show, Stream, Track};

impl Recorder {
    /// Adds proxy `proxy`'s event; the bytes it passes on are shown as text.
    /// What it does in a batch follows what caused it: bytes it forwards
    /// follow the block they came in, a FIN or RST it sees follows the
    /// peer's, and the server's or a client's answer follows the proxy's.
    pub fn proxy(&mut self, proxy: usize, event: &ProxyEvent) {
        let whole = Track::Proxy(proxy);
        let show = Show::Text(Encoding::Utf8);
        match event {
            ProxyEvent::Up { addr } => {
                self.window
                    .line(whole, None, format!("listening on {addr}"));
            }
            ProxyEvent::Down { mode, connections } => {
                let n = *connections;
                let conns = format!("{n} {}", if n == 1 { "connection" } else { "connections" });
                let text = match mode {
                    DownMode::Refuse => format!(
                        "down (refuse): new connections are refused; {conns} {} open",
                        if n == 1 { "stays" } else { "stay" }
                    ),
                    DownMode::Blackhole => format!(
                        "down (blackhole): new connections get no answer; {conns} {} open",
                        if n == 1 { "stays" } else { "stay" }
                    ),
                    DownMode::Reset => {
                        format!("down (reset): {conns} reset; new connections are refused")
                    }
                };
                let clock = self.window.line(whole, None, text);
                self.marks.insert(Mark::ProxyDown(proxy), clock);
            }
            ProxyEvent::Accepted { conn, .. } => {
                let cause = self.mark(Mark::Connecting);
                let text = format!("accepted connection {conn}");
                self.window
                    .line(Track::ProxyConn(proxy, *conn), cause, text);
            }
            ProxyEvent::Dialed { conn, upstream, .. } => {
                let text = format!("connected to {upstream}");
                self.window.line(Track::ProxyConn(proxy, *conn), None, text);
            }
            ProxyEvent::DialFailed { conn, error } => {
                let text = format!("cannot connect to the upstream: {}", error.code);
                self.window.line(Track::ProxyConn(proxy, *conn), None, text);
            }
            ProxyEvent::Forwarded {
                conn,
                direction,
                data,
            } => {
                let cause = self.came_from(proxy, *conn, *direction);
                let stream = Stream::ProxyOut(proxy, *conn, *direction);
                // With `framing:`, the frames it passed on, however its writes cut them.
                let routes = &mut self.routes;
                let cuts = routes
                    .framing
                    .get(proxy)
                    .and_then(Option::as_ref)
                    .map(|spec| {
                        let mut cuts = Vec::new();
                        routes
                            .frames
                            .entry((proxy, *conn, *direction))
                            .or_insert_with(|| FrameStream::new(spec))
                            .push(data, &mut cuts);
                        cuts
                    });
                match cuts {
                    Some(cuts) => self.cuts(stream, cause, Encoding::Utf8, &cuts, false),
                    None => {
                        self.window.bytes(stream, cause, data, show);
                    }
                }
            }
            ProxyEvent::Dropped {
                conn,
                direction,
                data,
            } => {
                let cause = self.came_from(proxy, *conn, *direction);
                let stream = Stream::ProxyDropped(proxy, *conn, *direction);
                self.window.bytes(stream, cause, data, show);
            }
            ProxyEvent::FinSeen { conn, side } => {
                let cause = self.ended_by(proxy, *conn, *side);
                let text = format!("{} ended (FIN)", side.name());
                self.window
                    .line(Track::ProxyConn(proxy, *conn), cause, text);
            }
            ProxyEvent::FinPassed { conn, side } => {
                let text = format!("FIN to the {}", side.name());
                let track = Track::ProxyConn(proxy, *conn);
                let clock = self.window.line(track, None, text);
                self.marks
                    .insert(Mark::ProxyFin(proxy, *conn, *side), clock);
            }
            ProxyEvent::RstSeen { conn, side } => {
                let cause = self.reset_by(proxy, *conn, *side);
                let text = format!("{} reset the connection (RST)", side.name());
                self.window
                    .line(Track::ProxyConn(proxy, *conn), cause, text);
            }
            ProxyEvent::RstSent { conn, side } => {
                let cause = self.mark(Mark::ProxyDown(proxy));
                let text = format!("RST to the {}", side.name());
                let track = Track::ProxyConn(proxy, *conn);
                let clock = self.window.line(track, cause, text);
                self.marks
                    .insert(Mark::ProxyRst(proxy, *conn, *side), clock);
            }
            ProxyEvent::Failed { conn, side, error } => {
                let cause = self.reset_by(proxy, *conn, *side);
                let text = format!("{} side failed: {}", side.name(), error.code);
                self.window
                    .line(Track::ProxyConn(proxy, *conn), cause, text);
            }
            ProxyEvent::Closed {
                conn,
                to_server,
                to_client,
            } => {
                // The partial frame each direction ended in, with its byte count.
                for direction in [Direction::ToServer, Direction::ToClient] {
                    if let Some(mut frames) = self.routes.frames.remove(&(proxy, *conn, direction))
                    {
                        let mut cuts = Vec::new();
                        frames.finish(&mut cuts);
                        let stream = Stream::ProxyOut(proxy, *conn, direction);
                        self.cuts(stream, None, Encoding::Utf8, &cuts, false);
                    }
                }
                let text = format!(
                    "closed ({to_server} {} to the server, {to_client} to the client)",
                    bytes_word(*to_server as usize)
                );
                self.window.line(Track::ProxyConn(proxy, *conn), None, text);
            }
            ProxyEvent::FaultFired {
                conn,
                fault,
                direction,
                offset,
            } => {
                let cause = self.came_from(proxy, *conn, *direction);
                let text = format!(
                    "fault {} fired {} at byte {offset}",
                    fault.name,
                    direction.name()
                );
                self.window
                    .line(Track::ProxyConn(proxy, *conn), cause, text);
            }
            ProxyEvent::FaultAdded { fault } => {
                let text = format!("fault {} added: {}", fault.name, fault.spec);
                self.window.line(whole, None, text);
            }
            ProxyEvent::FaultsCleared { names } => {
                let names: Vec<&str> = names.iter().map(|n| &**n).collect();
                let text = format!(
                    "cleared {} {}",
                    if names.len() == 1 { "fault" } else { "faults" },
                    names.join(", ")
                );
                self.window.line(whole, None, text);
            }
            ProxyEvent::DirectionState { .. } => {}
        }
    }

    /// Writes what proxies said that was held back, released now, as one
    /// window of its own after the current one, in the order it came.
    pub fn show_proxy_released(&mut self, released: Vec<ProxyShown>, owners: &Owners) {
        if released.is_empty() {
            return;
        }
        self.close_window(owners);
        self.window.begin_batch();
        self.show_proxy_held(released);
        self.close_window(owners);
    }

    /// Adds what proxies said that was held back, released now, to the
    /// current window, in the order it came.
    pub fn show_proxy_held(&mut self, released: Vec<ProxyShown>) {
        for shown in released {
            match shown {
                ProxyShown::Bytes(stream, data) => {
                    let show = Show::Text(Encoding::Utf8);
                    self.window.bytes(stream, None, &data, show);
                }
                ProxyShown::Event(proxy, event) => self.proxy(proxy, &event),
            }
        }
    }

    /// Returns the clock of the block the bytes a proxy passes on in `direction` came in.
    pub(super) fn came_from(&self, proxy: usize, conn: u32, direction: Direction) -> Option<u32> {
        match direction {
            Direction::ToServer => {
                let client = self.routes.owners.get(&(proxy, conn))?;
                self.window.block_clock(Stream::ClientOut(*client))
            }
            Direction::ToClient => {
                let server = self.server_of(proxy, conn)?;
                self.window.block_clock(Stream::ConnOut(server))
            }
        }
    }

    /// Returns the clock of the FIN `side` sent, as far as the window knows it.
    pub(super) fn ended_by(&self, proxy: usize, conn: u32, side: Side) -> Option<u32> {
        match side {
            Side::Client => {
                let client = self.routes.owners.get(&(proxy, conn))?;
                self.mark(Mark::ClientEnded(*client))
            }
            Side::Server => self
                .server_of(proxy, conn)
                .and_then(|server| self.mark(Mark::ConnEnded(server)))
                .or(self.mark(Mark::ServerSignalled)),
        }
    }

    /// Returns the clock of what reset `side`'s end, as far as the window knows it.
    pub(super) fn reset_by(&self, proxy: usize, conn: u32, side: Side) -> Option<u32> {
        match side {
            Side::Client => None,
            Side::Server => self
                .server_of(proxy, conn)
                .and_then(|server| {
                    self.mark(Mark::ConnAborted(server))
                        .or(self.mark(Mark::ServerDown))
                })
                .or(self.mark(Mark::ServerSignalled)),
        }
    }

    /// Returns the server connection a proxy connection dialed, if known.
    pub(super) fn server_of(&self, proxy: usize, conn: u32) -> Option<u32> {
        self.routes
            .conns
            .iter()
            .find(|(_, via)| **via == (proxy, conn))
            .map(|(server, _)| *server)
    }
}
