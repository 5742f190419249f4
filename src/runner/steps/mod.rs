//! Executes each kind of step against the clients, the server and the journal: the dispatch, and what client and server steps share.

mod client;
mod proxy;
mod server;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use nix::sys::signal::Signal;

use super::failure::Because;
use super::failure::StepFailure;
use super::output::Matched;
use super::output::{Look, OutputBuffer};
use super::{Check, Conductor, Waited};
use crate::matcher::Matcher;
use crate::process::parse_signal;
use crate::scenario::{Data, Pattern, Step};

/// How much unmatched output a failure shows.
const TAIL: usize = 400;

type StepResult = Result<(), StepFailure>;

impl Conductor {
    /// Executes one step (the caller settles the conversation afterwards).
    pub(super) async fn step(&mut self, step: &Step) -> StepResult {
        match step {
            Step::ExpectExit {
                client,
                code,
                signal,
                timeout,
            } => {
                let signal = signal.as_deref();
                self.expect_exit(client, *code, signal, *timeout).await
            }
            Step::KillClient { client, signal } => {
                self.kill_client(client, signal.as_deref()).await
            }
            Step::Send { client, data } => {
                let data = self.bytes(data, false)?;
                self.send(client, data).await
            }
            Step::SendLine { client, data } => {
                let data = self.bytes(data, true)?;
                self.send(client, data).await
            }
            Step::End { client, data } => {
                let data = data.as_ref().map(|d| self.bytes(d, false)).transpose()?;
                self.end(client, data).await
            }
            Step::SendQuit { client } => self.send_quit(client).await,
            Step::Expect {
                client,
                pattern,
                timeout,
                stream,
            } => self.expect(client, pattern, *timeout, *stream).await,
            Step::ExpectNo {
                client,
                pattern,
                window,
                stream,
            } => self.expect_no(client, pattern, *window, *stream).await,
            Step::WaitConnected { client, timeout } => self.wait_connected(client, *timeout).await,
            Step::WaitReconnect { client, timeout } => self.wait_reconnect(client, *timeout).await,
            Step::WaitRetry {
                client,
                retry,
                timeout,
            } => self.wait_retry(client, *retry, *timeout).await,
            Step::ExpectError {
                client,
                code,
                timeout,
            } => self.expect_error(client, code, *timeout).await,
            Step::ExpectGaveUp { client, timeout } => self.expect_gave_up(client, *timeout).await,
            Step::ExpectUnsent {
                client,
                bytes,
                timeout,
            } => self.expect_unsent(client, *bytes, *timeout).await,
            Step::ExpectClosed {
                client,
                how,
                timeout,
            } => self.expect_closed(client, *how, *timeout).await,
            Step::Sleep { duration } => {
                match self.wait_for(*duration, |_| Check::<()>::Waiting).await {
                    Err(Waited::TimedOut) => Ok(()),
                    Ok(()) | Err(Waited::Stuck | Waited::Never(_)) => Err(self.stuck()),
                }
            }
            Step::KillServer { signal } => self.kill_server(signal.as_deref()).await,
            Step::StopServer => self.stop_server().await,
            Step::StartServer => self.start_server().await,
            Step::ServerSend { connection, data } => {
                let targets = self.targets(connection)?;
                let data = self.bytes(data, false)?;
                self.server_send(targets, data).await
            }
            Step::ServerExpect {
                connection,
                pattern,
                timeout,
            } => self.server_expect(connection, pattern, *timeout).await,
            Step::ServerExpectNo {
                connection,
                pattern,
                window,
            } => self.server_expect_no(connection, pattern, *window).await,
            Step::ServerClose { connection, how } => self.server_close(connection, *how).await,
            Step::ServerHalfClose { connection } => self.server_half_close(connection).await,
            Step::ExpectConnections { count, timeout } => {
                self.expect_connections(*count, *timeout).await
            }
            Step::Fault { proxy, spec } => self.fault(proxy, spec).await,
            Step::ExpectFault {
                proxy,
                name,
                connection,
                timeout,
            } => self.expect_fault(proxy, name, connection, *timeout).await,
            Step::ClearFault { proxy, name } => self.clear_fault(proxy, name.as_deref()).await,
            Step::ProxyDown { proxy, mode } => self.proxy_down(proxy, *mode).await,
            Step::ProxyUp { proxy } => self.proxy_up(proxy).await,
            Step::ProxyExpect {
                proxy,
                pattern,
                direction,
                connection,
                timeout,
            } => {
                self.proxy_expect(proxy, pattern, *direction, connection, *timeout)
                    .await
            }
        }
    }

    /// Returns the bytes of `data` (text with its variables replaced), and a newline if asked.
    fn bytes(&self, data: &Data, newline: bool) -> Result<Bytes, StepFailure> {
        let mut bytes = data.render(&self.vars).map_err(StepFailure::Data)?;
        if newline {
            bytes.push(b'\n');
        }
        Ok(Bytes::from(bytes))
    }

    /// Returns the pattern's matcher, compiled with the values of its variables.
    fn matcher(&self, pattern: &Pattern) -> Result<Arc<Matcher>, StepFailure> {
        if !pattern.vars {
            return Ok(pattern.matcher.clone());
        }
        let source = self
            .vars
            .apply_regex(&pattern.source)
            .map_err(StepFailure::UnknownVariable)?;
        Pattern::compile(&source)
            .map(Arc::new)
            .map_err(StepFailure::InvalidRegex)
    }

    /// Keeps a match's named groups as variables, masked in the transcript.
    fn capture(&mut self, matched: Matched) {
        for (name, value) in matched.captures {
            self.journal
                .mask_value(&name, &value, crate::transcript::Scope::Payload);
            self.vars.values.insert(name, value);
        }
    }

    /// Resolves `client:` (validated at load time) to an index.
    fn client_index(&self, client: &Option<String>) -> usize {
        match client {
            Some(name) => self
                .clients
                .iter()
                .position(|slot| &slot.name == name)
                .unwrap_or(0),
            None => 0,
        }
    }

    /// Returns a step's timeout, or the scenario's default.
    fn timeout(&self, timeout: Option<Duration>) -> Duration {
        timeout.unwrap_or(self.default_timeout)
    }

    /// Says what keeps the conversation from settling.
    fn stuck(&self) -> StepFailure {
        StepFailure::Stuck {
            unsettled: self.journal.unsettled(),
        }
    }

    /// Judges a wait for what must not come (`expect_no`): its window
    /// passing is a pass, unless a match was `pending` then (more input
    /// could complete it); a match is the failure `matched` describes
    /// (given the pending text, if that is what failed).
    fn absent(
        &self,
        seen: Result<(), Waited>,
        pending: Option<String>,
        matched: impl FnOnce(Option<String>) -> StepFailure,
    ) -> StepResult {
        match seen {
            Err(Waited::TimedOut) => match pending {
                None => Ok(()),
                Some(text) => Err(matched(Some(text))),
            },
            Err(Waited::Stuck | Waited::Never(_)) => Err(self.stuck()),
            Ok(()) => Err(matched(None)),
        }
    }

    /// Says why no output matched `pattern`: the wait timed out with
    /// `output`'s tail unmatched (a match `pending` on that text, if one
    /// was), it can no longer match, or it got stuck.
    fn unmatched(
        &self,
        why: Waited,
        pattern: &Pattern,
        timeout: Option<Duration>,
        output: &OutputBuffer,
        pending: Option<String>,
    ) -> StepFailure {
        let tail = output.tail(TAIL).to_owned();
        match why {
            Waited::Stuck => self.stuck(),
            Waited::Never(because) => StepFailure::Impossible {
                awaited: format!("output matching /{}/", pattern.source),
                because: Box::new(because),
                tail: (!tail.is_empty()).then_some(tail),
            },
            Waited::TimedOut => StepFailure::Unmatched {
                pattern: pattern.source.clone(),
                within: self.timeout(timeout),
                tail,
                dropped: output.dropped(),
                pending,
            },
        }
    }
}

/// Turns what a look at some text found into a wait's check: a final
/// match is met; a pending one is noted in `pending` (for the failure if
/// the time runs out); with nothing, `never` says why nothing can come any
/// more, if it cannot.
fn checked<T>(
    look: Look<T>,
    pending: &mut Option<String>,
    never: impl FnOnce() -> Option<Because>,
) -> Check<T> {
    match look {
        Look::Found(found) => Check::Met(found),
        Look::Pending { text } => {
            *pending = Some(text);
            Check::Waiting
        }
        Look::Nothing => {
            *pending = None;
            never().map_or(Check::Waiting, Check::Never)
        }
        Look::Busy => Check::Busy,
    }
}

/// Resolves a step's signal name (validated at load time; default KILL).
fn step_signal(name: Option<&str>) -> Result<Signal, StepFailure> {
    match name {
        None => Ok(Signal::SIGKILL),
        Some(name) => parse_signal(name).ok_or_else(|| StepFailure::UnknownSignal(name.to_owned())),
    }
}
