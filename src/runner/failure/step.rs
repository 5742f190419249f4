//! Says why a step failed, and which output had arrived but not matched.

use std::time::Duration;

use super::{Awaited, Because, Closing, GaveUp, LastNews, ServerAction};
use crate::event::Exit;
use crate::outcome::{Failure, Received};
use crate::process::ProcessError;
use crate::scenario::{Located, RenderError, Step};
use crate::server::ServerError;
use crate::vars::Unknown;

/// Says why a step failed.
///
/// [`fmt::Display`](std::fmt::Display) gives the message the reports show, and
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
