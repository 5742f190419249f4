//! Names why a step failed and why a scenario could not start, and renders each as the one sentence the reports show.

use std::fmt;
use std::time::Duration;

use crate::client::encoding::Encoding;
use crate::event::{CloseReason, Exit};
use crate::outcome::{Failure, Received};
use crate::process::ProcessError;
use crate::scenario::{CloseKind, Located, RenderError, Step};
use crate::server::ServerError;
use crate::vars::Unknown;

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
        let how = match &self.reason {
            CloseReason::Fin => "FIN".to_owned(),
            CloseReason::Reset => "reset".to_owned(),
            CloseReason::Aborted => "aborted".to_owned(),
            CloseReason::Error(error) => error.code.clone(),
        };
        if self.by_server {
            write!(f, "the server closed the connection ({how})")
        } else {
            write!(f, "the connection closed ({how})")
        }
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
    ClosedOtherwise(String),
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

/// Says why a step failed.
///
/// [`fmt::Display`] gives the message the reports show, and
/// [`StepFailure::received`] the output that had arrived but not matched.
#[derive(Debug, thiserror::Error)]
pub enum StepFailure {
    /// A wait's timeout passed before what it waited for; `news` is the
    /// last thing `client` reported.
    TimedOut {
        /// What it waited for.
        awaited: Awaited,
        /// Its timeout.
        within: Duration,
        /// The client it waited on.
        client: String,
        /// What that client last reported.
        news: LastNews,
    },
    /// No output matched `pattern` within the timeout; `tail` is the end of
    /// what arrived unmatched, `dropped` the older bytes dropped unread.
    Unmatched {
        /// The regex as written.
        pattern: String,
        /// The step's timeout.
        within: Duration,
        /// The end of the unmatched output (none when it is only the rest
        /// of the line the last match ended in).
        tail: String,
        /// The unmatched output is only the rest of the line the last match
        /// ended in, and not shown.
        rest_of_line: bool,
        /// Bytes dropped for the output cap before they were matched.
        dropped: u64,
        /// The text a match was pending on when the time was up (more
        /// input could have completed or changed it), if one was.
        pending: Option<String>,
    },
    /// `expect_no`: the output matched `pattern` (or, with `pending`, might
    /// match once more input came); `tail` is the end of it.
    Matched {
        /// The regex as written.
        pattern: String,
        /// The end of the unconsumed output.
        tail: String,
        /// The text a match was pending on when the window ended, if that is what failed.
        pending: Option<String>,
    },
    /// What the step waits for can no longer happen; `tail` is what had
    /// arrived unmatched, for an expectation.
    Impossible {
        /// What it waited for ("a connection", "output matching /x/").
        awaited: String,
        /// Why it cannot come any more.
        because: Box<Because>,
        /// The end of the unmatched output, for an expectation.
        tail: Option<String>,
    },
    /// `server_expect_no`: what the server received (a program: printed)
    /// matched `pattern`; `tail` is the end of it.
    ServerMatched {
        /// The regex as written.
        pattern: String,
        /// A server program printed it (else the fake server received it).
        printed: bool,
        /// The end of the unconsumed output.
        tail: Option<String>,
        /// The text a match was pending on when the window ended, if that is what failed.
        pending: Option<String>,
    },
    /// The conversation stopped settling while a step waited.
    Stuck {
        /// What kept it from settling.
        unsettled: Vec<String>,
    },
    /// The conversation did not settle after a step within the default timeout.
    Unsettled {
        /// The default timeout.
        within: Duration,
        /// What kept it from settling.
        unsettled: Vec<String>,
    },
    /// The client takes no more input: it gave up, the server closed its
    /// connection and it does not reconnect, or (neither) it quit or ended.
    Stopped {
        /// The client's name.
        client: String,
        /// How it gave up, if it did.
        gave_up: Option<GaveUp>,
        /// How its last connection closed, when it does not reconnect.
        closed: Option<Closing>,
    },
    /// `connection: NAME` names a client with no connection to the server.
    NoConnection {
        /// The client's name.
        client: String,
    },
    /// The fake server had no open connection to act on.
    NoOpenConnection(ServerAction),
    /// The scenario has no server to control (`server: {address: ...}`).
    NoServer,
    /// The step needs a fake server.
    NeedsFakeServer,
    /// `kill_client` needs a client program.
    NeedsClientProgram,
    /// The step needs the built-in client.
    NeedsBuiltInClient,
    /// `abort` found the client without a connection.
    NotConnected {
        /// The client's name.
        client: String,
    },
    /// The server could not do what the step asked.
    Server(#[source] ServerError),
    /// A client program could not be signalled.
    Process(#[source] ProcessError),
    /// A pattern names a variable with no value.
    UnknownVariable(#[source] Unknown),
    /// Data cannot become bytes: a variable has no value, or the text does
    /// not fit its encoding.
    Data(#[source] RenderError),
    /// A pattern is no valid regex once its variables are replaced.
    InvalidRegex(#[source] crate::matcher::BuildError),
    /// A signal name is unknown.
    UnknownSignal(String),
    /// `expect_exit`: the program ended otherwise.
    ExitMismatch {
        /// The exit the step expected.
        expected: Exit,
        /// How the program ended.
        actual: Exit,
    },
    /// `expect_connections`: fewer connections within the timeout.
    TooFewConnections {
        /// The count expected.
        expected: u32,
        /// The step's timeout.
        within: Duration,
        /// The connections accepted.
        accepted: u32,
    },
    /// `expect_connections`: more connections than expected.
    TooManyConnections {
        /// The count expected.
        expected: u32,
        /// The connections accepted.
        accepted: u32,
    },
    /// The server program exited (`None`: ended) before it was ready.
    EndedBeforeReady {
        /// How it ended.
        exit: Option<Exit>,
        /// Its last output lines.
        output: Option<String>,
    },
    /// The server program was not ready within its `ready_timeout`.
    NotReady {
        /// Its `ready_timeout`.
        within: Duration,
        /// Its last output lines.
        output: Option<String>,
    },
    /// `expect_unsent`: the client reported another count of bytes never sent.
    UnsentMismatch {
        /// The count the step expected.
        expected: u32,
        /// The count the client reported.
        reported: u64,
        /// The client's name.
        client: String,
    },
    /// The scenario ended with bytes a client never sent, which no
    /// `expect_unsent` step expected.
    NeverSent {
        /// The client's name.
        client: String,
        /// The bytes never sent, beyond those expected.
        bytes: u64,
    },
    /// `expect_frame`: the next frame did not match.
    FrameMismatch {
        /// The pattern, described (`/^PONG$/`, `hex 01 ??`).
        pattern: String,
        /// The frame, as the transcript shows it (`frame(9) "PING!"`).
        frame: String,
        /// Its byte offset in its connection's stream.
        offset: u64,
    },
    /// `expect_frame`: no frame (or none that matched, with `skip`) came within the timeout.
    NoFrame {
        /// The pattern, described.
        pattern: String,
        /// The step's timeout.
        within: Duration,
        /// With `skip`: how many frames it passed over.
        skipped: u64,
        /// Frames dropped for the cap before any step took them.
        dropped: u64,
        /// The bytes of a frame that had come but not whole, if any.
        partial: Option<String>,
    },
    /// `expect_frame`: no frame can come any more.
    NoFrameCanCome {
        /// The pattern, described.
        pattern: String,
        /// Why none can come.
        because: Box<Because>,
        /// The bytes of a frame that had come but not whole, if any.
        partial: Option<String>,
    },
    /// A stream could not be cut into frames (a frame over `max`, an
    /// impossible length field): the error says at which byte.
    FramingStopped {
        /// Whose stream: a client's name, or the server's connection.
        who: String,
        /// The error, with its byte offset.
        error: crate::framing::DecodeError,
    },
    /// `send_frame`: the data cannot be sent as one frame.
    Encode {
        /// The framing, as written.
        framing: String,
        /// Why.
        error: crate::framing::EncodeError,
    },
    /// A frame pattern cannot be used once its variables are replaced.
    FramePattern(#[source] crate::scenario::frames::ResolveError),
    /// A frame step for a client or server without framing (the loader says so first).
    NoFraming,
    /// The scenario's `timeout:` passed during the step.
    ScenarioTimedOut {
        /// The scenario's timeout.
        timeout: Duration,
        /// What was still running or in flight.
        running: Vec<String>,
    },
    /// A proxy could not do what the step asked (listen again, blackhole).
    Proxy(#[source] crate::proxy::ProxyError),
    /// `expect_fault`: the fault did not fire within the timeout.
    FaultNotFired {
        /// The fault's name.
        fault: String,
        /// The connection it was to fire on, if one.
        conn: Option<u32>,
        /// The step's timeout.
        within: Duration,
        /// The connections it fired on instead.
        elsewhere: Vec<u32>,
    },
    /// `expect_fault` or `clear_fault`: the proxy has no fault of that name.
    NoFault {
        /// The proxy's name.
        proxy: String,
        /// The name asked for.
        fault: String,
        /// The names of the faults in effect.
        known: Vec<String>,
    },
    /// `connection: NAME` names a client with no connection through the proxy.
    NoProxyConnection {
        /// The client's name.
        client: String,
        /// The proxy's name.
        proxy: String,
    },
    /// `expect_connections` through a proxy: fewer connections within the timeout.
    TooFewProxied {
        /// The count expected.
        expected: u32,
        /// The step's timeout.
        within: Duration,
        /// The connections the proxies accepted.
        accepted: u32,
    },
    /// `expect_connections` through a proxy: more connections than expected.
    TooManyProxied {
        /// The count expected.
        expected: u32,
        /// The connections the proxies accepted.
        accepted: u32,
    },
}

impl StepFailure {
    /// Returns what had arrived but did not match (its end), if the failure has it.
    pub fn received(&self) -> Option<&str> {
        match self {
            StepFailure::Unmatched { tail, .. } => (!tail.is_empty()).then_some(tail.as_str()),
            StepFailure::Matched { tail, .. } => Some(tail),
            StepFailure::Impossible { tail, .. } => tail.as_deref(),
            StepFailure::ServerMatched { tail, .. } => tail.as_deref(),
            StepFailure::EndedBeforeReady { output, .. } | StepFailure::NotReady { output, .. } => {
                output.as_deref()
            }
            StepFailure::TimedOut { .. }
            | StepFailure::Stuck { .. }
            | StepFailure::Unsettled { .. }
            | StepFailure::Stopped { .. }
            | StepFailure::NoConnection { .. }
            | StepFailure::NoOpenConnection(_)
            | StepFailure::NoServer
            | StepFailure::NeedsFakeServer
            | StepFailure::NeedsClientProgram
            | StepFailure::NeedsBuiltInClient
            | StepFailure::NotConnected { .. }
            | StepFailure::Server(_)
            | StepFailure::Process(_)
            | StepFailure::UnknownVariable(_)
            | StepFailure::Data(_)
            | StepFailure::InvalidRegex(_)
            | StepFailure::UnknownSignal(_)
            | StepFailure::ExitMismatch { .. }
            | StepFailure::TooFewConnections { .. }
            | StepFailure::TooManyConnections { .. }
            | StepFailure::UnsentMismatch { .. }
            | StepFailure::NeverSent { .. }
            | StepFailure::FrameMismatch { .. }
            | StepFailure::NoFrame { .. }
            | StepFailure::NoFrameCanCome { .. }
            | StepFailure::FramingStopped { .. }
            | StepFailure::Encode { .. }
            | StepFailure::FramePattern(_)
            | StepFailure::NoFraming
            | StepFailure::ScenarioTimedOut { .. }
            | StepFailure::Proxy(_)
            | StepFailure::FaultNotFired { .. }
            | StepFailure::NoFault { .. }
            | StepFailure::NoProxyConnection { .. }
            | StepFailure::TooFewProxied { .. }
            | StepFailure::TooManyProxied { .. } => None,
        }
    }

    /// Returns the failure as the reports show it, at `step`.
    pub fn at(&self, step: &Located<Step>) -> Failure {
        Failure {
            line: step.line,
            col: step.col,
            step: step.text.clone(),
            message: self.to_string(),
            received: self.received().map(str::to_owned),
            received_as: match self {
                StepFailure::Matched { .. } | StepFailure::ServerMatched { .. } => {
                    Received::Matching
                }
                StepFailure::EndedBeforeReady { .. } | StepFailure::NotReady { .. } => {
                    Received::Output
                }
                _ => Received::Unmatched,
            },
        }
    }
}

impl fmt::Display for StepFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepFailure::TimedOut {
                awaited,
                within,
                client,
                news,
            } => {
                write!(f, "expected {awaited} within {}", duration(*within))?;
                match news {
                    LastNews::Nothing => Ok(()),
                    LastNews::GaveUp(gave_up) => write!(f, ", but {client} {gave_up}"),
                    LastNews::Error(code) => write!(f, "; last error of {client}: {code}"),
                    LastNews::ClosedOtherwise(how) => {
                        write!(f, "; {client}'s connection {how} instead")
                    }
                }
            }
            StepFailure::Unmatched {
                pattern,
                within,
                tail,
                rest_of_line,
                dropped,
                pending,
            } => {
                write!(
                    f,
                    "expected output matching /{pattern}/ within {}",
                    duration(*within)
                )?;
                if *rest_of_line {
                    f.write_str(", but nothing arrived after the line the last match ended in")?;
                } else if tail.is_empty() {
                    f.write_str(", but nothing unmatched arrived")?;
                }
                if *dropped > 0 {
                    write!(f, " ({dropped} older bytes were dropped unread)")?;
                }
                if let Some(text) = pending {
                    write!(f, "; {}", PendingMatch(text))?;
                }
                Ok(())
            }
            StepFailure::Matched {
                pattern,
                pending: None,
                ..
            } => {
                write!(f, "output matched /{pattern}/, which it must not")
            }
            StepFailure::Matched {
                pattern,
                pending: Some(text),
                ..
            } => {
                write!(
                    f,
                    "output may match /{pattern}/, which it must not: {}",
                    PendingMatch(text)
                )
            }
            StepFailure::Impossible {
                awaited, because, ..
            } => write!(f, "expected {awaited}, but {because}"),
            StepFailure::ServerMatched {
                pattern,
                printed,
                pending,
                ..
            } => {
                let what = if *printed { "printed" } else { "received" };
                match pending {
                    None => write!(
                        f,
                        "what the server {what} matched /{pattern}/, which it must not"
                    ),
                    Some(text) => write!(
                        f,
                        "what the server {what} may match /{pattern}/, which it must not: {}",
                        PendingMatch(text)
                    ),
                }
            }
            StepFailure::Stuck { unsettled } if unsettled.is_empty() => f.write_str(
                "nothing more can happen: every client and the server have stopped reporting",
            ),
            StepFailure::Stuck { unsettled } => {
                write!(
                    f,
                    "the conversation did not settle: {}",
                    unsettled.join("; ")
                )
            }
            StepFailure::Unsettled { within, unsettled } => write!(
                f,
                "the conversation did not settle within {}: {}",
                duration(*within),
                unsettled.join("; ")
            ),
            StepFailure::Stopped {
                client,
                gave_up,
                closed,
            } => match (gave_up, closed) {
                (Some(gave_up), _) => write!(f, "{client} has stopped: it {gave_up}"),
                (None, Some(closed)) => {
                    write!(
                        f,
                        "{client} has stopped: {closed}, and it does not reconnect"
                    )
                }
                (None, None) => write!(f, "{client} has stopped: it quit or ended"),
            },
            StepFailure::NoConnection { client } => {
                write!(f, "{client} has no connection to the server")
            }
            StepFailure::NoOpenConnection(action) => {
                let to = match action {
                    ServerAction::Send => "send to",
                    ServerAction::Close => "close",
                    ServerAction::HalfClose => "half-close",
                };
                write!(f, "the server has no open connection to {to}")
            }
            StepFailure::NoServer => f.write_str("this scenario has no server to control"),
            StepFailure::NeedsFakeServer => f.write_str("this step needs a fake server"),
            StepFailure::NeedsClientProgram => f.write_str("kill_client needs a client program"),
            StepFailure::NeedsBuiltInClient => f.write_str("this step needs the built-in client"),
            StepFailure::NotConnected { client } => write!(
                f,
                "{client} has no connection to abort: it is connecting or waiting to retry"
            ),
            StepFailure::Server(error) => write!(f, "{error}"),
            StepFailure::Process(error) => write!(f, "{error}"),
            StepFailure::UnknownVariable(error) => write!(f, "{error}"),
            StepFailure::Data(error) => write!(f, "{error}"),
            StepFailure::InvalidRegex(error) => {
                write!(f, "the regex with its variables is invalid: {error}")
            }
            StepFailure::UnknownSignal(name) => write!(f, "unknown signal {name}"),
            StepFailure::ExitMismatch { expected, actual } => {
                f.write_str("expected the program to end with ")?;
                match expected {
                    Exit::Code(code) => write!(f, "exit code {code}")?,
                    Exit::Signal(name) => write!(f, "SIG{name}")?,
                }
                write!(f, ", it {actual}")
            }
            StepFailure::TooFewConnections {
                expected,
                within,
                accepted,
            } => write!(
                f,
                "expected {} within {}, the server accepted {accepted}",
                connections(*expected),
                duration(*within)
            ),
            StepFailure::TooManyConnections { expected, accepted } => write!(
                f,
                "expected {}, the server accepted {accepted}",
                connections(*expected)
            ),
            StepFailure::EndedBeforeReady { exit, .. } => match exit {
                Some(exit) => write!(f, "the server program {exit} before it was ready"),
                None => f.write_str("the server program ended before it was ready"),
            },
            StepFailure::NotReady { within, .. } => write!(
                f,
                "the server program was not ready within {}",
                duration(*within)
            ),
            StepFailure::UnsentMismatch {
                expected,
                reported,
                client,
            } => write!(
                f,
                "expected {expected} {} never sent, {client} reported {reported}",
                plural(*expected, "byte", "bytes")
            ),
            StepFailure::NeverSent { client, bytes } => write!(
                f,
                "{client}: {bytes} {} never sent; where that is expected, say so with `- expect_unsent: {bytes}`",
                if *bytes == 1 {
                    "byte was"
                } else {
                    "bytes were"
                }
            ),
            StepFailure::FrameMismatch {
                pattern,
                frame,
                offset,
            } => write!(
                f,
                "expected a frame matching {pattern}, but the next frame is {frame} (at byte {offset} of its connection)"
            ),
            StepFailure::NoFrame {
                pattern,
                within,
                skipped,
                dropped,
                partial,
            } => {
                write!(
                    f,
                    "expected a frame matching {pattern} within {}",
                    duration(*within)
                )?;
                if *skipped > 0 {
                    write!(
                        f,
                        ", but none of the {skipped} {} that came matched",
                        plural(*skipped as u32, "frame", "frames")
                    )?;
                } else {
                    f.write_str(", but no frame came")?;
                }
                if *dropped > 0 {
                    write!(f, " ({dropped} older frames were dropped unread)")?;
                }
                match partial {
                    Some(partial) => write!(f, "; {partial} had come"),
                    None => Ok(()),
                }
            }
            StepFailure::NoFrameCanCome {
                pattern,
                because,
                partial,
            } => {
                write!(f, "expected a frame matching {pattern}, but {because}")?;
                match partial {
                    Some(partial) => write!(f, "; {partial} had come"),
                    None => Ok(()),
                }
            }
            StepFailure::FramingStopped { who, error } => {
                write!(f, "{who}: framing stopped: {error}; {}", error.hint())
            }
            StepFailure::Encode { framing, error } => write!(
                f,
                "the data cannot be sent as one `{framing}` frame: {error}; {}",
                error.hint()
            ),
            StepFailure::FramePattern(error) => write!(f, "{error}"),
            StepFailure::NoFraming => f.write_str("this step needs `framing:`"),
            StepFailure::ScenarioTimedOut { timeout, running } => {
                write!(
                    f,
                    "the scenario timed out after {} (its `timeout:`); still running: ",
                    duration(*timeout)
                )?;
                if running.is_empty() {
                    f.write_str("waiting for the step's condition")
                } else {
                    f.write_str(&running.join("; "))
                }
            }
            StepFailure::Proxy(error) => write!(f, "{error}"),
            StepFailure::FaultNotFired {
                fault,
                conn,
                within,
                elsewhere,
            } => {
                write!(f, "expected fault `{fault}` to fire")?;
                if let Some(conn) = conn {
                    write!(f, " on connection {conn}")?;
                }
                write!(f, " within {}", duration(*within))?;
                if !elsewhere.is_empty() {
                    let on: Vec<String> = elsewhere.iter().map(u32::to_string).collect();
                    write!(
                        f,
                        ", it fired on {} {}",
                        if on.len() == 1 {
                            "connection"
                        } else {
                            "connections"
                        },
                        on.join(", ")
                    )?;
                }
                Ok(())
            }
            StepFailure::NoFault {
                proxy,
                fault,
                known,
            } => {
                write!(f, "{proxy} has no fault named `{fault}`")?;
                if known.is_empty() {
                    f.write_str(" (it has no fault in effect)")
                } else {
                    let known: Vec<String> = known.iter().map(|n| format!("`{n}`")).collect();
                    write!(f, "; its faults are {}", known.join(", "))
                }
            }
            StepFailure::NoProxyConnection { client, proxy } => {
                write!(f, "{client} has no connection through {proxy}")
            }
            StepFailure::TooFewProxied {
                expected,
                within,
                accepted,
            } => write!(
                f,
                "expected {} within {}, the proxy accepted {accepted}",
                connections(*expected),
                duration(*within)
            ),
            StepFailure::TooManyProxied { expected, accepted } => write!(
                f,
                "expected {}, the proxy accepted {accepted}",
                connections(*expected)
            ),
        }
    }
}

/// Says that a match was pending on `text` when the time was up.
struct PendingMatch<'a>(&'a str);

impl fmt::Display for PendingMatch<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 60;
        let text = self.0;
        let count = text.chars().count();
        let shown: String = if count > SHOWN {
            let rest: String = text.chars().skip(count - SHOWN).collect();
            format!("…{rest}")
        } else {
            text.to_owned()
        };
        let quoted = crate::transcript::quote(shown.as_bytes(), Encoding::Utf8);
        // The quoted text, escapes and all, between backticks instead of quotes.
        let inner = &quoted[1..quoted.len() - 1];
        write!(
            f,
            "a match was pending at the end of the received text (`{inner}`); more input could change it"
        )
    }
}

/// Says why a scenario could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The scenario's own folder (`${tmp}`) could not be created.
    #[error("cannot create the scenario's temporary folder: {0}")]
    TempFolder(#[source] std::io::Error),
    /// The fake server's banner cannot become bytes in its encoding.
    #[error("cannot send the banner: {0}")]
    Banner(#[source] RenderError),
    /// The rules of `fake: rules` cannot run: a variable without a value.
    #[error("cannot start the rules server: {0}")]
    Rules(#[source] crate::scenario::frames::RulesError),
    /// The fake server could not bind its address.
    #[error("cannot start the fake server: {0}")]
    FakeServer(#[source] ServerError),
    /// The server program's port could not be had.
    #[error("cannot start the server program: {0}")]
    ServerProgram(#[source] ServerError),
    /// The server did not start: it could not listen, or its program
    /// failed to become ready (then with its last output lines).
    #[error("{failure}{}", last_output(.failure))]
    ServerNotStarted {
        /// Why the `start_server` it ran failed.
        #[source]
        failure: StepFailure,
    },
    /// The server's start did not settle in the default timeout.
    #[error("the server did not settle after starting")]
    ServerUnsettled,
    /// A client program could not be started.
    #[error("cannot start client {name}: {source}")]
    Client {
        /// The client's name.
        name: String,
        /// Why.
        source: ProcessError,
    },
    /// The scenario's `timeout:` passed while its server and clients started.
    #[error(
        "the scenario timed out after {} (its `timeout:`) while its server and clients were starting",
        duration(*timeout)
    )]
    TimedOut {
        /// The scenario's timeout.
        timeout: Duration,
    },
    /// A client's start did not settle in the default timeout.
    #[error("client {name} did not settle after starting")]
    ClientUnsettled {
        /// The client's name.
        name: String,
    },
    /// A proxy could not listen.
    #[error("cannot start proxy {name}: {source}")]
    Proxy {
        /// The proxy's name.
        name: String,
        /// Why.
        source: crate::proxy::ProxyError,
    },
}

/// Returns `; its last output:` and the failure's output lines, quoted, if it has any.
fn last_output(failure: &StepFailure) -> String {
    match failure.received() {
        Some(output) => format!(
            "; its last output:\n    | {}",
            output.lines().collect::<Vec<_>>().join("\n    | ")
        ),
        None => String::new(),
    }
}

fn duration(duration: Duration) -> humantime::FormattedDuration {
    humantime::format_duration(duration)
}

fn plural(n: u32, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

fn connections(n: u32) -> String {
    format!("{n} accepted {}", plural(n, "connection", "connections"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_say_what_the_client_last_reported() {
        let timed_out = |news| StepFailure::TimedOut {
            awaited: Awaited::Retry(2),
            within: Duration::from_secs(2),
            client: "alice".into(),
            news,
        };
        assert_eq!(
            timed_out(LastNews::Nothing).to_string(),
            "expected retry 2 to be scheduled within 2s"
        );
        let gave_up = LastNews::GaveUp(GaveUp {
            retries: 1,
            code: Some("ECONNREFUSED".into()),
        });
        assert_eq!(
            timed_out(gave_up).to_string(),
            "expected retry 2 to be scheduled within 2s, but alice gave up after 1 retry (ECONNREFUSED)"
        );
        assert_eq!(
            timed_out(LastNews::Error("ECONNRESET".into())).to_string(),
            "expected retry 2 to be scheduled within 2s; last error of alice: ECONNRESET"
        );
    }

    #[test]
    fn an_unmatched_pattern_shows_its_tail_only_when_something_arrived() {
        let unmatched = |tail: &str, dropped| StepFailure::Unmatched {
            pattern: "^bye$".into(),
            within: Duration::from_millis(500),
            tail: tail.into(),
            rest_of_line: false,
            dropped,
            pending: None,
        };
        let nothing = unmatched("", 0);
        assert_eq!(
            nothing.to_string(),
            "expected output matching /^bye$/ within 500ms, but nothing unmatched arrived"
        );
        assert_eq!(nothing.received(), None);
        let some = unmatched("hello\n", 3);
        assert_eq!(
            some.to_string(),
            "expected output matching /^bye$/ within 500ms (3 older bytes were dropped unread)"
        );
        assert_eq!(some.received(), Some("hello\n"));
    }

    #[test]
    fn a_server_that_never_got_ready_shows_its_last_output() {
        let failure = StepFailure::EndedBeforeReady {
            exit: Some(Exit::Code(1)),
            output: Some("starting\nport in use".into()),
        };
        assert_eq!(
            StartError::ServerNotStarted { failure }.to_string(),
            "the server program exited with code 1 before it was ready; its last output:\n    | starting\n    | port in use"
        );
        let quiet = StepFailure::NotReady {
            within: Duration::from_secs(5),
            output: None,
        };
        assert_eq!(
            StartError::ServerNotStarted { failure: quiet }.to_string(),
            "the server program was not ready within 5s"
        );
    }

    #[test]
    fn a_scenario_timeout_names_what_still_ran() {
        let timed_out = |running: Vec<String>| StepFailure::ScenarioTimedOut {
            timeout: Duration::from_secs(1),
            running,
        };
        assert_eq!(
            timed_out(Vec::new()).to_string(),
            "the scenario timed out after 1s (its `timeout:`); still running: waiting for the step's condition"
        );
        assert_eq!(
            timed_out(vec!["a".into(), "b".into()]).to_string(),
            "the scenario timed out after 1s (its `timeout:`); still running: a; b"
        );
    }
}
