//! Executes each kind of step against the clients, the server and the journal: the dispatch, and what client and server steps share.

mod client;
mod frames;
mod proxy;
mod server;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use nix::sys::signal::Signal;

use super::drivers::ServerDriver;
use super::failure::Because;
use super::failure::StepFailure;
use super::output::Matched;
use super::output::{Look, OutputBuffer};
use super::{Check, Conductor, Waited};
use crate::client::encoding::Encoding;
use crate::matcher::Matcher;
use crate::process::parse_signal;
use crate::scenario::{Data, LineEnding, Pattern, Step};

/// How much unmatched output a failure shows.
const TAIL: usize = 400;

type StepResult = Result<(), StepFailure>;

impl Conductor {
    /// Executes one step (the caller settles the conversation afterwards).
    pub(super) async fn step(&mut self, step: &Step) -> StepResult {
        self.park_server();
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
            Step::Send {
                client,
                data,
                pieces,
            } => {
                let summary = data.summary().map(Arc::from);
                let data = self.bytes(data)?;
                self.send_in_pieces(client, data, summary, pieces).await
            }
            Step::SendLine {
                client,
                data,
                pieces,
            } => {
                let ending = self.clients[self.client_index(client)].line_ending;
                let summary = data.summary().map(|s| {
                    let end = crate::transcript::quote(ending.bytes(), Encoding::Utf8);
                    Arc::from(format!("{s} {end}"))
                });
                let data = self.line(client, data, true)?;
                self.send_in_pieces(client, data, summary, pieces).await
            }
            Step::End { client, data } => {
                let data = data.as_ref().map(|d| self.line(client, d, false));
                self.end(client, data.transpose()?).await
            }
            Step::SendQuit { client } => self.send_quit(client).await,
            Step::Abort { client, reconnect } => self.abort(client, *reconnect).await,
            Step::PauseReading { client } => self.pause_reading(client, true).await,
            Step::ResumeReading { client } => self.pause_reading(client, false).await,
            Step::Connect { client } => self.connect(client).await,
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
            Step::BlackholeServer => self.blackhole_server().await,
            Step::ServerSend { connection, data } => {
                let targets = self.targets(connection)?;
                let data = self.bytes(data)?;
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
            Step::SendFrame { client, data } => self.send_frame(client, data).await,
            Step::ExpectFrame {
                client,
                pattern,
                skip,
                timeout,
            } => self.expect_frame(client, pattern, *skip, *timeout).await,
            Step::ServerSendFrame { connection, data } => {
                self.server_send_frame(connection, data).await
            }
            Step::ServerExpectFrame {
                connection,
                pattern,
                skip,
                timeout,
            } => {
                self.server_expect_frame(connection, pattern, *skip, *timeout)
                    .await
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

    /// Tells the fake server which connections' clients do not read
    /// (`pause_reading`): what it is asked to do on those goes on while the
    /// steps do, for a write to them may block until they read again.
    fn park_server(&self) {
        if let Some(ServerDriver::Fake(server)) = &self.server {
            server.park(|conn| self.journal.reading_paused(conn));
        }
    }

    /// Returns the bytes of `data` (text with its variables replaced).
    fn bytes(&self, data: &Data) -> Result<Bytes, StepFailure> {
        let bytes = data.render(&self.vars).map_err(StepFailure::Data)?;
        Ok(Bytes::from(bytes))
    }

    /// Returns the bytes a line step (`send_line`, with `end_line`, or
    /// `end`) has `client` send: with its `line_ending: crlf`, each `\n` of
    /// text data that no `\r` precedes as `\r\n`; then, with `end_line`, the
    /// client's line end.
    fn line(
        &self,
        client: &Option<String>,
        data: &Data,
        end_line: bool,
    ) -> Result<Bytes, StepFailure> {
        let ending = self.clients[self.client_index(client)].line_ending;
        let mut bytes = data.render(&self.vars).map_err(StepFailure::Data)?;
        let text = match data {
            Data::Text { .. } => true,
            Data::Bytes { .. } | Data::Generated(_) => false,
        };
        if text {
            bytes = match ending {
                LineEnding::Lf => bytes,
                LineEnding::Crlf => crlf(&bytes),
            };
        }
        if end_line {
            bytes.extend_from_slice(ending.bytes());
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
        let (tail, rest_of_line) = output.news(TAIL);
        let tail = tail.to_owned();
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
                rest_of_line,
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

/// Returns `bytes` with each `\n` that no `\r` precedes as `\r\n`.
fn crlf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 8 + 1);
    let mut after_cr = false;
    for &byte in bytes {
        if byte == b'\n' && !after_cr {
            out.push(b'\r');
        }
        out.push(byte);
        after_cr = byte == b'\r';
    }
    out
}
