//! Executes the client steps: send, end, quit and signal a client; wait for what it receives, its connects, retries, errors, closes and exit.

use std::time::Duration;

use bytes::Bytes;

use super::{StepResult, TAIL, step_signal};
use crate::event::{CloseReason, Exit};
use crate::runner::drivers::ClientDriver;
use crate::runner::failure::{Awaited, GaveUp, LastNews, StepFailure};
use crate::runner::journal::{ClientState, Journal};
use crate::runner::{Conductor, Waited, folding};
use crate::scenario::{CloseKind, OutputStream, Pattern};

impl Conductor {
    /// `expect_exit`: waits for the client program to exit, with `code`
    /// or by `signal` when either is given.
    pub(super) async fn expect_exit(
        &mut self,
        client: &Option<String>,
        code: Option<i32>,
        signal: Option<&str>,
        timeout: Option<Duration>,
    ) -> StepResult {
        let index = self.client_index(client);
        let exit = self
            .wait_on(index, Awaited::Exit, timeout, |j| {
                j.client(index).exit.clone()
            })
            .await?;
        let expected = match (code, signal) {
            (Some(code), _) => Some(Exit::Code(code)),
            (None, Some(signal)) => Some(Exit::Signal(signal.to_owned())),
            (None, None) => None,
        };
        match expected {
            Some(expected) if expected != exit => Err(StepFailure::ExitMismatch {
                expected,
                actual: exit,
            }),
            _ => Ok(()),
        }
    }

    /// `kill_client`: signals the client program's process group (default SIGKILL).
    pub(super) async fn kill_client(
        &mut self,
        client: &Option<String>,
        signal: Option<&str>,
    ) -> StepResult {
        let index = self.client_index(client);
        let signal = step_signal(signal)?;
        match &self.clients[index].driver {
            ClientDriver::Program(program) => {
                program.kill(signal).await.map_err(StepFailure::Process)
            }
            ClientDriver::BuiltIn { .. } => Err(StepFailure::NeedsClientProgram),
        }
    }

    /// `send`, `send_line`: has the client send `data`.
    pub(super) async fn send(&mut self, client: &Option<String>, data: Bytes) -> StepResult {
        let index = self.client_index(client);
        let write = self.clients[index].driver.write(data);
        let sent = folding(
            write,
            &mut self.reports,
            &mut self.scheduler,
            &mut self.journal,
        )
        .await;
        sent.map_err(|_| self.stopped(index))
    }

    /// `end`: has the client send `data`, if any, then half-close.
    pub(super) async fn end(&mut self, client: &Option<String>, data: Option<Bytes>) -> StepResult {
        let index = self.client_index(client);
        let end = self.clients[index].driver.end(data);
        let ended = folding(
            end,
            &mut self.reports,
            &mut self.scheduler,
            &mut self.journal,
        )
        .await;
        ended.map_err(|_| self.stopped(index))
    }

    /// `send_quit`: has the client quit.
    pub(super) async fn send_quit(&mut self, client: &Option<String>) -> StepResult {
        let index = self.client_index(client);
        let quit = self.clients[index].driver.quit();
        let quit = folding(
            quit,
            &mut self.reports,
            &mut self.scheduler,
            &mut self.journal,
        )
        .await;
        quit.map_err(|_| self.stopped(index))
    }

    /// `expect`: waits until `pattern` matches what the client received
    /// on `stream`, and consumes it.
    pub(super) async fn expect(
        &mut self,
        client: &Option<String>,
        pattern: &Pattern,
        timeout: Option<Duration>,
        stream: OutputStream,
    ) -> StepResult {
        let index = self.client_index(client);
        let regex = self.regex(pattern)?;
        let waited = self
            .wait_for(self.timeout(timeout), |j| {
                j.client_mut(index).read_mut(stream).take(&regex)
            })
            .await;
        let matched = waited.map_err(|why| {
            let output = self.journal.client(index).read(stream);
            self.unmatched(why, pattern, timeout, output.tail(TAIL), output.dropped())
        })?;
        self.capture(matched);
        Ok(())
    }

    /// `expect_no`: fails if `pattern` matches what the client receives
    /// on `stream` within `window`.
    pub(super) async fn expect_no(
        &mut self,
        client: &Option<String>,
        pattern: &Pattern,
        window: Option<Duration>,
        stream: OutputStream,
    ) -> StepResult {
        let index = self.client_index(client);
        let regex = self.regex(pattern)?;
        let waited = self
            .wait_for(self.timeout(window), |j| {
                j.client(index).read(stream).matches(&regex).then_some(())
            })
            .await;
        self.absent(waited, || StepFailure::Matched {
            pattern: pattern.source.clone(),
            tail: self
                .journal
                .client(index)
                .read(stream)
                .tail(TAIL)
                .to_owned(),
        })
    }

    /// `wait_connected`: waits until the client is connected (a program:
    /// until the server has a connection no built-in client owns).
    pub(super) async fn wait_connected(
        &mut self,
        client: &Option<String>,
        timeout: Option<Duration>,
    ) -> StepResult {
        let index = self.client_index(client);
        let connects = self
            .wait_on(index, Awaited::Connection, timeout, |j| {
                let c = j.client(index);
                if c.program {
                    let s = j.server();
                    return s.unowned_open().then(|| s.unowned_accepted());
                }
                c.connected.then_some(c.connects)
            })
            .await?;
        self.clients[index].connects_seen = connects;
        Ok(())
    }

    /// `wait_reconnect`: waits until the client connects again, a
    /// connect no wait step saw yet.
    pub(super) async fn wait_reconnect(
        &mut self,
        client: &Option<String>,
        timeout: Option<Duration>,
    ) -> StepResult {
        let index = self.client_index(client);
        let seen = self.clients[index].connects_seen;
        let connects = self
            .wait_on(index, Awaited::Reconnect, timeout, |j| {
                let c = j.client(index);
                let connects = if c.program {
                    j.server().unowned_accepted()
                } else {
                    c.connects
                };
                (connects > seen && connects >= 2).then_some(connects)
            })
            .await?;
        self.clients[index].connects_seen = connects;
        Ok(())
    }

    /// `wait_retry`: waits until the client's retry number `retry` has
    /// failed since its last connect.
    pub(super) async fn wait_retry(
        &mut self,
        client: &Option<String>,
        retry: u32,
        timeout: Option<Duration>,
    ) -> StepResult {
        let index = self.client_index(client);
        self.wait_on(index, Awaited::FailedRetry(retry), timeout, |j| {
            (j.client(index).failed_retries >= retry).then_some(())
        })
        .await
    }

    /// `expect_error`: waits until the client reports an error with
    /// `code` it did not report before this step.
    pub(super) async fn expect_error(
        &mut self,
        client: &Option<String>,
        code: &str,
        timeout: Option<Duration>,
    ) -> StepResult {
        let index = self.client_index(client);
        let from = self.clients[index].errors_seen;
        let found = self
            .wait_on(index, Awaited::Error(code.to_owned()), timeout, |j| {
                j.client(index).errors[from.min(j.client(index).errors.len())..]
                    .iter()
                    .position(|e| e.code == code)
                    .map(|at| from + at + 1)
            })
            .await?;
        self.clients[index].errors_seen = found;
        Ok(())
    }

    /// `expect_gave_up`: waits until the client gives up.
    pub(super) async fn expect_gave_up(
        &mut self,
        client: &Option<String>,
        timeout: Option<Duration>,
    ) -> StepResult {
        let index = self.client_index(client);
        self.wait_on(index, Awaited::GiveUp, timeout, |j| {
            j.client(index).gave_up.as_ref().map(drop)
        })
        .await
    }

    /// `expect_unsent`: waits until the client reports bytes it will
    /// never send, not yet expected by a step, and checks their count.
    pub(super) async fn expect_unsent(
        &mut self,
        client: &Option<String>,
        bytes: u32,
        timeout: Option<Duration>,
    ) -> StepResult {
        let index = self.client_index(client);
        let seen = self.clients[index].unsent_seen;
        let reported = self
            .wait_on(index, Awaited::Unsent(bytes), timeout, |j| {
                let unsent = j.client(index).unsent;
                (unsent > seen).then_some(unsent)
            })
            .await?;
        self.clients[index].unsent_seen = reported;
        match reported - seen {
            n if n == u64::from(bytes) => Ok(()),
            n => Err(StepFailure::UnsentMismatch {
                expected: bytes,
                reported: n,
                client: self.journal.client(index).name.clone(),
            }),
        }
    }

    /// `expect_closed`: waits until a connection of the client closes
    /// as `how` says, a close no step consumed yet (a program: seen from
    /// the server).
    pub(super) async fn expect_closed(
        &mut self,
        client: &Option<String>,
        how: CloseKind,
        timeout: Option<Duration>,
    ) -> StepResult {
        let index = self.client_index(client);
        let from = self.clients[index].closes_seen;
        let found = self
            .wait_on(index, Awaited::Close(how), timeout, |j| {
                let closes = if j.client(index).program {
                    &j.server().unowned_closes
                } else {
                    &j.client(index).closes
                };
                closes[from.min(closes.len())..]
                    .iter()
                    .position(|reason| close_matches(how, reason))
                    .map(|at| from + at + 1)
            })
            .await?;
        self.clients[index].closes_seen = found;
        Ok(())
    }

    /// Says that the client takes no more input, and why.
    fn stopped(&self, index: usize) -> StepFailure {
        let client = self.journal.client(index);
        StepFailure::Stopped {
            client: client.name.clone(),
            gave_up: gave_up(client),
        }
    }

    /// Waits until `condition` gives a value, for at most `timeout` (default:
    /// the scenario's); a failure says the client was awaited for `awaited`.
    async fn wait_on<T>(
        &mut self,
        index: usize,
        awaited: Awaited,
        timeout: Option<Duration>,
        condition: impl FnMut(&mut Journal) -> Option<T>,
    ) -> Result<T, StepFailure> {
        let waited = self.wait_for(self.timeout(timeout), condition).await;
        waited.map_err(|why| self.waited(why, awaited, timeout, index))
    }

    /// Says why a wait on the client for `awaited` ended without it.
    fn waited(
        &self,
        why: Waited,
        awaited: Awaited,
        timeout: Option<Duration>,
        index: usize,
    ) -> StepFailure {
        match why {
            Waited::Stuck => self.stuck(),
            Waited::TimedOut => {
                let client = self.journal.client(index);
                let news = match (gave_up(client), client.errors.last()) {
                    (Some(gave_up), _) => LastNews::GaveUp(gave_up),
                    (None, Some(error)) => LastNews::Error(error.code.clone()),
                    (None, None) => LastNews::Nothing,
                };
                StepFailure::TimedOut {
                    awaited,
                    within: self.timeout(timeout),
                    client: client.name.clone(),
                    news,
                }
            }
        }
    }
}

/// Returns how a client gave up, if it did.
fn gave_up(client: &ClientState) -> Option<GaveUp> {
    client.gave_up.as_ref().map(|(retries, code, _)| GaveUp {
        retries: *retries,
        code: code.clone(),
    })
}

fn close_matches(how: CloseKind, reason: &CloseReason) -> bool {
    match how {
        CloseKind::Any => true,
        CloseKind::Fin => *reason == CloseReason::Fin,
        CloseKind::Reset => reason.is_reset(),
    }
}
