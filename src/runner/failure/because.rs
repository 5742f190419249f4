//! Names what a wait was for and why it can no longer succeed: who gave up, exited or closed.

use std::fmt;

use super::plural;
use crate::event::{CloseReason, Exit};
use crate::scenario::CloseKind;

/// Names what a wait was for, as in "expected {what} within 2s".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Awaited {
    /// `expect_exit`: the program's exit.
    Exit,
    /// `wait_connected`: a connection.
    Connection,
    /// `wait_reconnect`: a connection after the first.
    Reconnect,
    /// `wait_retry`: this retry, scheduled.
    Retry(u32),
    /// `expect_error`: an error with this code.
    Error(String),
    /// `expect_gave_up`: the client giving up.
    GiveUp,
    /// `expect_unsent`: the client reporting this many bytes never sent.
    Unsent(u32),
    /// `expect_closed`: a close of this kind.
    Close(CloseKind),
}

impl fmt::Display for Awaited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Awaited::Exit => f.write_str("the program to exit"),
            Awaited::Connection => f.write_str("a connection"),
            Awaited::Reconnect => f.write_str("a reconnect"),
            Awaited::Retry(retry) => write!(f, "retry {retry} to be scheduled"),
            Awaited::Error(code) => write!(f, "error {code}"),
            Awaited::GiveUp => f.write_str("the client to give up"),
            Awaited::Unsent(n) => write!(
                f,
                "the client to report {n} {} never sent",
                plural(*n, "byte", "bytes")
            ),
            Awaited::Close(CloseKind::Fin) => f.write_str("the connection to close with FIN"),
            Awaited::Close(CloseKind::Reset) => f.write_str("the connection to be reset"),
            Awaited::Close(CloseKind::Any) => f.write_str("the connection to close"),
        }
    }
}

/// Describes a client that gave up: its retries and its last error's code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GaveUp {
    /// Retries it made.
    pub retries: u32,
    /// The code of its last error, if any.
    pub code: Option<String>,
}

impl fmt::Display for GaveUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let retries = self.retries;
        write!(
            f,
            "gave up after {retries} {}",
            plural(retries, "retry", "retries")
        )?;
        match &self.code {
            Some(code) => write!(f, " ({code})"),
            None => Ok(()),
        }
    }
}

/// Says why what a step waits for can no longer happen: what it waits on has stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Because {
    /// A client program exited; `before` names what it never did (`connecting`).
    Exited {
        /// The client's name.
        client: String,
        /// How it ended.
        exit: Exit,
        /// What it did not do before it ended, if that is the point.
        before: Option<&'static str>,
    },
    /// The client gave up reconnecting.
    GaveUp {
        /// The client's name.
        client: String,
        /// How it gave up.
        gave_up: GaveUp,
    },
    /// The client quit (the quit word), and its connection is closed.
    Quit {
        /// The client's name.
        client: String,
    },
    /// The client ended its side (`end`), and its connection is closed.
    Ended {
        /// The client's name.
        client: String,
    },
    /// The client aborted its connection (`abort`) and does not reconnect.
    Aborted {
        /// The client's name.
        client: String,
    },
    /// The client's connection closed and it does not reconnect (`reconnect: false`).
    NoReconnect {
        /// The client's name.
        client: String,
        /// How the connection closed.
        how: Closing,
    },
    /// The client could not connect and does not reconnect (`reconnect: false`).
    Refused {
        /// The client's name.
        client: String,
        /// The connect error's code.
        code: String,
    },
    /// The server program exited.
    ServerExited {
        /// How it ended.
        exit: Exit,
    },
    /// A server connection's client side ended (FIN or close).
    ConnectionEnded {
        /// The connection's number.
        conn: u32,
    },
    /// Framing stopped on the stream a frame step reads.
    FramingStopped {
        /// The error, with its byte offset.
        error: crate::framing::DecodeError,
    },
    /// A proxy connection passes nothing more in a direction (its FIN
    /// was passed on, or it closed).
    ProxyConnectionEnded {
        /// The proxy's name.
        proxy: String,
        /// The connection's number.
        conn: u32,
        /// `to_server` or `to_client`.
        direction: &'static str,
    },
}

/// Says how a connection closed, and which side began it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closing {
    /// How it closed.
    pub reason: CloseReason,
    /// The server began it (its FIN or reset came first).
    pub by_server: bool,
}

impl fmt::Display for Closing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = close_word(&self.reason);
        if self.by_server {
            write!(f, "the server closed the connection ({how})")
        } else {
            write!(f, "the connection closed ({how})")
        }
    }
}

/// Names how a connection closed, in a word: `FIN`, `reset`, `aborted`,
/// or the error's code.
pub(super) fn close_word(reason: &CloseReason) -> String {
    match reason {
        CloseReason::Fin => "FIN".to_owned(),
        CloseReason::Reset => "reset".to_owned(),
        CloseReason::Aborted => "aborted".to_owned(),
        CloseReason::Error(error) => error.code.clone(),
    }
}

impl fmt::Display for Because {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Because::Exited {
                client,
                exit,
                before,
            } => {
                write!(f, "{client} {exit}")?;
                match before {
                    Some(doing) => write!(f, " before {doing}"),
                    None => Ok(()),
                }
            }
            Because::GaveUp { client, gave_up } => write!(f, "{client} {gave_up}"),
            Because::Quit { client } => write!(f, "{client} quit and its connection is closed"),
            Because::Ended { client } => {
                write!(
                    f,
                    "{client} ended its side (FIN) and its connection is closed"
                )
            }
            Because::Aborted { client } => {
                write!(
                    f,
                    "{client} aborted its connection (RST) and does not reconnect"
                )
            }
            Because::NoReconnect { client, how } => {
                write!(f, "{how} and {client} does not reconnect")
            }
            Because::Refused { client, code } => {
                write!(
                    f,
                    "{client} could not connect ({code}) and does not reconnect"
                )
            }
            Because::ServerExited { exit } => write!(f, "the server program {exit}"),
            Because::ConnectionEnded { conn } => write!(f, "connection {conn} has ended"),
            Because::FramingStopped { error } => write!(f, "framing stopped: {error}"),
            Because::ProxyConnectionEnded {
                proxy,
                conn,
                direction,
            } => write!(
                f,
                "{proxy}'s connection {conn} passes nothing more {direction}"
            ),
        }
    }
}

/// Tells the last thing a client reported, when a wait on it timed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LastNews {
    /// Nothing worth saying.
    Nothing,
    /// It gave up.
    GaveUp(GaveUp),
    /// Its last error, by code.
    Error(String),
    /// Its connection closed, but not as awaited: how it closed.
    ClosedOtherwise(CloseReason),
}

/// Names what the server had no open connection for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerAction {
    /// `server_send`.
    Send,
    /// `server_close`.
    Close,
    /// `server_half_close`.
    HalfClose,
}
