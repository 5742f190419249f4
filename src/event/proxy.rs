//! Defines what a proxy reports: its events, the ends and directions of its connections, how it is down, and its faults as events show them.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;

use super::NetError;

/// Names one end of a proxied connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The connection the proxy accepted.
    Client,
    /// The connection the proxy dialed to the upstream server.
    Server,
}

impl Side {
    /// Returns `client` or `server`.
    pub fn name(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }

    /// Returns the other end.
    pub fn other(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }
}

/// Names which way bytes flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the client to the server.
    ToServer,
    /// From the server to the client.
    ToClient,
}

impl Direction {
    /// Both directions, `to_server` first.
    pub const BOTH: [Direction; 2] = [Direction::ToServer, Direction::ToClient];

    /// Returns `to_server` or `to_client`.
    pub fn name(self) -> &'static str {
        match self {
            Direction::ToServer => "to_server",
            Direction::ToClient => "to_client",
        }
    }

    /// Returns the side these bytes are read from.
    pub fn from(self) -> Side {
        match self {
            Direction::ToServer => Side::Client,
            Direction::ToClient => Side::Server,
        }
    }

    /// Returns the side these bytes are written to.
    pub fn to(self) -> Side {
        self.from().other()
    }

    /// Returns the direction whose bytes are read from `side`.
    pub fn reading(side: Side) -> Direction {
        match side {
            Side::Client => Direction::ToServer,
            Side::Server => Direction::ToClient,
        }
    }
}

/// Chooses how the proxy is down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DownMode {
    /// New connects are refused (`ECONNREFUSED`); open connections stay.
    Refuse,
    /// New connects get no answer and time out (`ETIMEDOUT`); open connections stay.
    Blackhole,
    /// Every open connection is reset, then new connects are refused.
    Reset,
}

impl DownMode {
    /// Every mode, in the order the command line lists them.
    pub const ALL: [DownMode; 3] = [DownMode::Refuse, DownMode::Blackhole, DownMode::Reset];

    /// Returns `refuse`, `blackhole` or `reset`.
    pub fn name(self) -> &'static str {
        match self {
            DownMode::Refuse => "refuse",
            DownMode::Blackhole => "blackhole",
            DownMode::Reset => "reset",
        }
    }
}

/// Lists everything the proxy reports.
///
/// Each is reported before its effect reaches the other side (bytes before
/// they are written on, a FIN or RST before it is passed on), and what the
/// proxy does in response to one stimulus is reported as one batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyEvent {
    /// Listening on `addr`: at the start, and after `up`.
    Up {
        /// The proxy's address (with the real port).
        addr: SocketAddr,
    },
    /// Down: new connects are refused or time out; with
    /// [`DownMode::Reset`], the `connections` open are reset (their resets follow).
    Down {
        /// How.
        mode: DownMode,
        /// How many connections were open.
        connections: usize,
    },
    /// Accepted connection number `conn` (from 1).
    Accepted {
        /// The connection's number.
        conn: u32,
        /// The client's address.
        peer: SocketAddr,
    },
    /// Connected to the upstream server for `conn`.
    Dialed {
        /// The connection's number.
        conn: u32,
        /// The proxy's own address on that connection (the server sees it as its peer).
        local: SocketAddr,
        /// The server's address.
        upstream: SocketAddr,
    },
    /// The upstream server could not be reached; the client connection is reset.
    DialFailed {
        /// The connection's number.
        conn: u32,
        /// Why, with its POSIX code (`ECONNREFUSED`, ...).
        error: NetError,
    },
    /// Bytes are being written on toward `direction.to()` (reported just before).
    Forwarded {
        /// The connection's number.
        conn: u32,
        /// Which way.
        direction: Direction,
        /// The bytes, exactly as written in one write.
        data: Bytes,
    },
    /// Bytes were read and discarded (a `drop` fault, or after a cut).
    Dropped {
        /// The connection's number.
        conn: u32,
        /// Which way they were going.
        direction: Direction,
        /// The bytes.
        data: Bytes,
    },
    /// `side` ended its side of the connection (FIN).
    FinSeen {
        /// The connection's number.
        conn: u32,
        /// Who sent the FIN.
        side: Side,
    },
    /// The proxy ends its side toward `side` (FIN), reported just before.
    FinPassed {
        /// The connection's number.
        conn: u32,
        /// Who receives the FIN.
        side: Side,
    },
    /// `side` reset the connection (RST).
    RstSeen {
        /// The connection's number.
        conn: u32,
        /// Who reset.
        side: Side,
    },
    /// The proxy resets its connection to `side` (RST), reported just before.
    RstSent {
        /// The connection's number.
        conn: u32,
        /// Who receives the RST.
        side: Side,
    },
    /// An I/O error other than a reset broke the connection to `side`.
    Failed {
        /// The connection's number.
        conn: u32,
        /// Where.
        side: Side,
        /// What, with its POSIX code.
        error: NetError,
    },
    /// The connection is over: both sockets are closed (or being closed).
    Closed {
        /// The connection's number.
        conn: u32,
        /// Bytes written to the server.
        to_server: u64,
        /// Bytes written to the client.
        to_client: u64,
    },
    /// A fault acted on a connection for the first time.
    FaultFired {
        /// The connection's number.
        conn: u32,
        /// The fault.
        fault: Arc<FaultLabel>,
        /// Which way.
        direction: Direction,
        /// The offset in that direction's bytes where it acted (bytes
        /// before it passed as they would have without the fault).
        offset: u64,
    },
    /// A fault was added; it applies to open and later connections.
    FaultAdded {
        /// The fault.
        fault: Arc<FaultLabel>,
    },
    /// Faults were cleared (by name, or all).
    FaultsCleared {
        /// Their names, in the order they were added.
        names: Vec<Arc<str>>,
    },
    /// Where one direction of a connection stands, reported in the batch
    /// in which it changes. Bytes read and not yet forwarded or dropped
    /// wait for a timer, a fault to be cleared or more input (a pending
    /// `on:` match), unless a write is under way.
    DirectionState {
        /// The connection's number.
        conn: u32,
        /// Which way.
        direction: Direction,
        /// Bytes read from the sender so far.
        read: u64,
        /// A write toward the receiver is under way.
        writing: bool,
        /// What the sender sends is read as it comes (no stall, no full
        /// queue, no FIN read yet).
        reading: bool,
    },
}

/// Describes a fault as events show it: its name, its kind and how it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultLabel {
    /// Its name (given, or its kind's key).
    pub name: Arc<str>,
    /// Its kind's key: `latency`, `cut`, ...
    pub kind: &'static str,
    /// Its kind with the kind's options, as map entries: `cut: reset`, `latency: 200ms, jitter: 10ms`.
    pub action: String,
    /// The whole fault as a YAML flow map, as it could be written: `{cut: reset, after_bytes: 100}`.
    pub spec: String,
}
