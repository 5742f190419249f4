//! Keeps what proxy steps wait on — connections accepted, faults fired, what passed through each way — and holds back what a proxy passed on from a peer tcprun cannot settle.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use crate::client::encoding::{Decoder, Encoding};
use crate::event::{Direction, ProxyEvent};
use crate::runner::output::OutputBuffer;
use crate::transcript::{ProxyShown, Stream};

/// Describes a proxy for the journal.
#[derive(Debug, Clone)]
pub struct ProxyInfo {
    /// The proxy's name.
    pub name: String,
    /// Its upstream is the fake server, whose side tcprun sees.
    pub upstream_seen: bool,
    /// How the transcript cuts what it passes on into frames.
    pub framing: Option<crate::framing::FramingSpec>,
}

/// Holds the text that passed through a proxy in one direction.
#[derive(Debug, Default)]
pub struct Passed {
    /// Every connection's text together, in arrival order.
    pub all: OutputBuffer,
    all_decoder: Option<Decoder>,
    /// Each connection's text.
    pub conns: HashMap<u32, OutputBuffer>,
    decoders: HashMap<u32, Decoder>,
}

impl Passed {
    fn push(&mut self, conn: u32, data: &[u8]) {
        let decoder = self
            .decoders
            .entry(conn)
            .or_insert_with(|| Encoding::Utf8.decoder());
        let text = decoder.decode(data);
        self.conns.entry(conn).or_default().push(&text);
        let all = self
            .all_decoder
            .get_or_insert_with(|| Encoding::Utf8.decoder());
        let text = all.decode(data);
        self.all.push(&text);
    }

    /// Notes that connection `conn` passes nothing more this way.
    fn end(&mut self, conn: u32) {
        let tail = self.decoders.remove(&conn).map(|mut d| d.finish());
        let output = self.conns.entry(conn).or_default();
        output.push(&tail.unwrap_or_default());
        output.end();
    }
}

/// Holds what the runner knows of one proxy.
#[derive(Debug, Default)]
pub struct ProxyState {
    /// Listening now.
    pub up: bool,
    /// Connections accepted so far.
    pub accepted: u32,
    /// Connections open now.
    pub open: BTreeSet<u32>,
    /// The faults added so far, by name.
    pub added: BTreeSet<Arc<str>>,
    /// Each firing of a fault: its name and the connection, in order.
    pub fired: Vec<(Arc<str>, u32)>,
    /// What passed through to the server, then to the client.
    passed: [Passed; 2],
}

impl ProxyState {
    /// Returns what passed through in `direction`.
    pub fn passed(&self, direction: Direction) -> &Passed {
        &self.passed[index(direction)]
    }

    /// Returns what passed through in `direction`, for `proxy_expect` to consume from.
    pub fn passed_mut(&mut self, direction: Direction) -> &mut Passed {
        &mut self.passed[index(direction)]
    }

    /// Returns true when fault `name` has fired: on connection `conn`, or on any.
    pub fn has_fired(&self, name: &str, conn: Option<u32>) -> bool {
        self.fired
            .iter()
            .any(|(fired, on)| **fired == *name && conn.is_none_or(|conn| conn == *on))
    }

    /// Folds the proxy's event.
    pub fn apply(&mut self, event: &ProxyEvent) {
        match event {
            ProxyEvent::Up { .. } => self.up = true,
            ProxyEvent::Down { .. } => self.up = false,
            ProxyEvent::Accepted { conn, .. } => {
                self.accepted += 1;
                self.open.insert(*conn);
            }
            ProxyEvent::Forwarded {
                conn,
                direction,
                data,
            } => self.passed[index(*direction)].push(*conn, data),
            ProxyEvent::FinPassed { conn, side } => {
                self.passed[index(Direction::reading(side.other()))].end(*conn);
            }
            ProxyEvent::Closed { conn, .. } => {
                self.open.remove(conn);
                for passed in &mut self.passed {
                    passed.end(*conn);
                }
            }
            ProxyEvent::FaultFired { conn, fault, .. } => {
                self.fired.push((fault.name.clone(), *conn));
            }
            ProxyEvent::FaultAdded { fault } => {
                self.added.insert(fault.name.clone());
            }
            ProxyEvent::Dialed { .. }
            | ProxyEvent::DialFailed { .. }
            | ProxyEvent::Dropped { .. }
            | ProxyEvent::FinSeen { .. }
            | ProxyEvent::RstSeen { .. }
            | ProxyEvent::RstSent { .. }
            | ProxyEvent::Failed { .. }
            | ProxyEvent::FaultsCleared { .. }
            | ProxyEvent::DirectionState { .. } => {}
        }
    }
}

fn index(direction: Direction) -> usize {
    match direction {
        Direction::ToServer => 0,
        Direction::ToClient => 1,
    }
}

/// Holds one item a proxy said about what an upstream tcprun cannot settle sent.
#[derive(Debug)]
struct Piece {
    conn: u32,
    /// Where it starts in what passed to clients, all connections together.
    all: u64,
    /// Where it starts in what passed to clients on its connection.
    at: u64,
    /// The built-in client it goes to, and where it starts in what that
    /// client received (held).
    client: Option<(usize, u64)>,
    shown: ProxyShown,
}

impl Piece {
    /// Returns how many bytes of it passed on (a line, or bytes dropped, have none).
    fn len(&self) -> u64 {
        match &self.shown {
            ProxyShown::Bytes(Stream::ProxyOut(..), data) => data.len() as u64,
            ProxyShown::Bytes(..) | ProxyShown::Event(..) => 0,
        }
    }

    /// Returns how much of it is due when what starts at `start` is
    /// consumed up to `to`: none, some of its bytes, or all of it.
    fn due(&self, start: u64, to: u64) -> Option<u64> {
        (start < to).then(|| (to - start).min(self.len()))
    }

    /// Takes its first `n` bytes as a piece of their own.
    fn split(&mut self, n: u64) -> ProxyShown {
        let ProxyShown::Bytes(stream, data) = &mut self.shown else {
            return self.shown.clone();
        };
        let head = data.split_to(n as usize);
        self.all += n;
        self.at += n;
        if let Some((_, at)) = &mut self.client {
            *at += n;
        }
        ProxyShown::Bytes(*stream, head)
    }
}

/// Holds back, per proxy, what it passed on (and the faults that fired on
/// it) from an upstream tcprun cannot settle (a server program, a server
/// at an address): it shows where a step consumed it — a `proxy_expect`
/// on it, or an `expect` of the client it went to — when its connection
/// closes, or at the end, in the order it came; bytes are cut where the
/// step's consumption ended, so how TCP cut them never shows.
#[derive(Debug, Default)]
pub struct ProxyHeld {
    pieces: VecDeque<Piece>,
    /// Where the next bytes held for each built-in client start in what it
    /// received: they may be held before the client received the ones before.
    next: HashMap<usize, u64>,
}

impl ProxyHeld {
    /// Holds what proxy `proxy` said on connection `conn` about bytes
    /// going to `client` (with where that client's held text ends now);
    /// `passed` is what passed to clients before it.
    pub fn hold(
        &mut self,
        proxy: usize,
        conn: u32,
        event: &ProxyEvent,
        client: Option<(usize, u64)>,
        passed: &Passed,
    ) {
        let shown = match event {
            ProxyEvent::Forwarded {
                direction, data, ..
            } => ProxyShown::Bytes(Stream::ProxyOut(proxy, conn, *direction), data.clone()),
            ProxyEvent::Dropped {
                direction, data, ..
            } => ProxyShown::Bytes(Stream::ProxyDropped(proxy, conn, *direction), data.clone()),
            ProxyEvent::FaultFired { .. } => ProxyShown::Event(proxy, event.clone()),
            _ => return,
        };
        let end =
            |buffer: &OutputBuffer| buffer.consumed_total() + buffer.unconsumed().len() as u64;
        let mut piece = Piece {
            conn,
            all: end(&passed.all),
            at: passed.conns.get(&conn).map_or(0, end),
            client: None,
            shown,
        };
        if let Some((index, received)) = client {
            let next = self.next.entry(index).or_default();
            let at = received.max(*next);
            *next = at + piece.len();
            piece.client = Some((index, at));
        }
        self.pieces.push_back(piece);
    }

    /// Releases, in order, every piece before the last one `due` says is
    /// (partly) due, and of that one what is due.
    fn release(&mut self, due: impl Fn(&Piece) -> Option<u64>) -> Vec<ProxyShown> {
        let Some(last) = self.pieces.iter().rposition(|piece| due(piece).is_some()) else {
            return Vec::new();
        };
        let mut shown: Vec<ProxyShown> =
            self.pieces.drain(..last).map(|piece| piece.shown).collect();
        let Some(piece) = self.pieces.front_mut() else {
            return shown;
        };
        match due(piece) {
            Some(n) if n < piece.len() => shown.push(piece.split(n)),
            _ => shown.extend(self.pieces.pop_front().map(|piece| piece.shown)),
        }
        shown
    }

    /// Releases what a `proxy_expect` consumed of what passed to clients:
    /// on connection `conn` up to `shown` there, or (none) on all of them.
    pub fn consumed(&mut self, conn: Option<u32>, shown: u64) -> Vec<ProxyShown> {
        self.release(|piece| match conn {
            Some(conn) if piece.conn != conn => None,
            Some(_) => piece.due(piece.at, shown),
            None => piece.due(piece.all, shown),
        })
    }

    /// Releases what went to built-in client `client`, which has shown
    /// what it received up to `released`.
    pub fn received(&mut self, client: usize, released: u64) -> Vec<ProxyShown> {
        self.release(|piece| match piece.client {
            Some((owner, at)) if owner == client => piece.due(at, released),
            _ => None,
        })
    }

    /// Releases what came before and with the firing of proxy `proxy`'s fault `name`.
    pub fn fired(&mut self, proxy: usize, name: &str) -> Vec<ProxyShown> {
        self.release(|piece| match &piece.shown {
            ProxyShown::Event(p, ProxyEvent::FaultFired { fault, .. })
                if *p == proxy && *fault.name == *name =>
            {
                Some(0)
            }
            _ => None,
        })
    }

    /// Releases what came on connection `conn`, whose client end gets its
    /// FIN or RST now (or which is closed).
    pub fn ended(&mut self, conn: u32) -> Vec<ProxyShown> {
        self.release(|piece| (piece.conn == conn).then(|| piece.len()))
    }

    /// Releases everything (the scenario ends).
    pub fn release_all(&mut self) -> Vec<ProxyShown> {
        self.pieces.drain(..).map(|piece| piece.shown).collect()
    }
}
