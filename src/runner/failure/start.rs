//! Says why a scenario could not start.

use std::time::Duration;

use super::{StepFailure, duration};
use crate::process::ProcessError;
use crate::scenario::RenderError;
use crate::server::ServerError;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Exit;

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
}
