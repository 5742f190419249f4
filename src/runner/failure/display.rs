//! Renders a step failure as the one sentence the reports show.

use std::fmt;

use super::{LastNews, ServerAction, StepFailure, connections, duration, plural};
use crate::client::encoding::Encoding;
use crate::event::Exit;

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
                        let how = super::because::close_word(how);
                        write!(f, "; {client}'s connection closed ({how}) instead")
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::runner::failure::{Awaited, GaveUp};

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
