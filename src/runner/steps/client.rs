//! Executes the client steps: send, end, quit and signal a client; wait for what it receives, its connects, retries, errors, closes and exit.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::{StepResult, TAIL, checked, step_signal};
use crate::event::{CloseReason, Exit};
use crate::runner::drivers::ClientDriver;
use crate::runner::failure::{Awaited, Because, Closing, GaveUp, LastNews, StepFailure};
use crate::runner::journal::{ClientState, Journal};
use crate::runner::output::Seek;
use crate::runner::{Check, Conductor, Waited, folding};
use crate::scenario::{CloseKind, OutputStream, Pattern, Pieces};

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
                j.client(index).exit.clone().into()
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
    pub(super) async fn send(
        &mut self,
        client: &Option<String>,
        data: Bytes,
        summary: Option<Arc<str>>,
    ) -> StepResult {
        let index = self.client_index(client);
        let write = self.clients[index].driver.write(data, summary);
        let sent = folding(
            write,
            &mut self.reports,
            &mut self.scheduler,
            &mut self.journal,
        )
        .await;
        sent.map_err(|_| self.stopped(index))
    }

    /// `send` with `chunks:`: writes `data` in pieces of at most
    /// `pieces.size` bytes, each its own write, `pieces.gap` apart on the
    /// scenario's clock. The transcript window stays open meanwhile, so that
    /// the send shows whole, however the peer's reads cut it.
    pub(super) async fn send_in_pieces(
        &mut self,
        client: &Option<String>,
        data: Bytes,
        summary: Option<Arc<str>>,
        pieces: &Option<Pieces>,
    ) -> StepResult {
        let Some(pieces) = pieces else {
            return self.send(client, data, summary).await;
        };
        self.window_held = true;
        let mut result = Ok(());
        let mut start = 0;
        while start < data.len() && result.is_ok() {
            if start > 0 && !pieces.gap.is_zero() {
                result = match self.wait_for(pieces.gap, |_| Check::<()>::Waiting).await {
                    Err(Waited::TimedOut) => Ok(()),
                    Ok(()) | Err(Waited::Stuck | Waited::Never(_)) => Err(self.stuck()),
                };
                if result.is_err() {
                    break;
                }
            }
            let end = data.len().min(start.saturating_add(pieces.size));
            result = self
                .send(client, data.slice(start..end), summary.clone())
                .await;
            start = end;
        }
        self.window_held = false;
        result
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

    /// `abort`: has the built-in client close its connection with RST, and
    /// reconnect by its policy afterwards when `reconnect`.
    pub(super) async fn abort(&mut self, client: &Option<String>, reconnect: bool) -> StepResult {
        let index = self.client_index(client);
        let handle = self.clients[index].driver.built_in()?.clone();
        let aborted = folding(
            handle.abort(reconnect),
            &mut self.reports,
            &mut self.scheduler,
            &mut self.journal,
        )
        .await;
        match aborted {
            Ok(true) => Ok(()),
            Ok(false) => Err(StepFailure::NotConnected {
                client: self.journal.client(index).name.clone(),
            }),
            Err(_) => Err(self.stopped(index)),
        }
    }

    /// `pause_reading` (`pause`) and `resume_reading`: has the built-in
    /// client stop reading its socket, or read it again.
    pub(super) async fn pause_reading(
        &mut self,
        client: &Option<String>,
        pause: bool,
    ) -> StepResult {
        let index = self.client_index(client);
        let handle = self.clients[index].driver.built_in()?.clone();
        let taken = folding(
            handle.pause_reading(pause),
            &mut self.reports,
            &mut self.scheduler,
            &mut self.journal,
        )
        .await;
        taken.map_err(|_| self.stopped(index))
    }

    /// `connect`: starts a built-in client written with `start: false`.
    pub(super) async fn connect(&mut self, client: &Option<String>) -> StepResult {
        let index = self.client_index(client);
        let handle = self.clients[index].driver.built_in()?.clone();
        // Busy until its first report: the connect it starts.
        self.journal.wake(index);
        let taken = folding(
            handle.start(),
            &mut self.reports,
            &mut self.scheduler,
            &mut self.journal,
        )
        .await;
        taken.map_err(|_| self.stopped(index))
    }

    /// `expect`: waits until `pattern` matches what the client received
    /// on `stream` (a final match: more input cannot change it), and consumes it.
    pub(super) async fn expect(
        &mut self,
        client: &Option<String>,
        pattern: &Pattern,
        timeout: Option<Duration>,
        stream: OutputStream,
    ) -> StepResult {
        let index = self.client_index(client);
        let matcher = self.matcher(pattern)?;
        let mut seek = Seek::new(&matcher);
        let mut pending = None;
        let waited = self
            .wait_for(self.timeout(timeout), |j| {
                let output = j.client_mut(index).read_mut(stream);
                let ended = output.ended();
                let look = output.take(&matcher, &mut seek);
                checked(look, &mut pending, || {
                    because(j.client(index), None).filter(|_| ended)
                })
            })
            .await;
        let matched = waited.map_err(|why| {
            let output = self.journal.client(index).read(stream);
            self.unmatched(why, pattern, timeout, output, pending)
        })?;
        self.capture(matched);
        Ok(())
    }

    /// `expect_no`: fails if `pattern` matches what the client receives
    /// on `stream` within `window`, or may match once more input comes.
    pub(super) async fn expect_no(
        &mut self,
        client: &Option<String>,
        pattern: &Pattern,
        window: Option<Duration>,
        stream: OutputStream,
    ) -> StepResult {
        let index = self.client_index(client);
        let matcher = self.matcher(pattern)?;
        let mut seek = Seek::new(&matcher);
        let mut pending = None;
        let waited = self
            .wait_for(self.timeout(window), |j| {
                let look = j.client(index).read(stream).look(&matcher, &mut seek);
                checked(look, &mut pending, || None)
            })
            .await;
        let tail = self
            .journal
            .client(index)
            .read(stream)
            .tail(TAIL)
            .to_owned();
        self.absent(waited, pending, |pending| StepFailure::Matched {
            pattern: pattern.source.clone(),
            tail,
            pending,
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
                let met = if c.program {
                    let s = j.server();
                    s.unowned_open().then(|| s.unowned_accepted())
                } else {
                    c.connected.then_some(c.connects)
                };
                met.map_or_else(|| never(c, Some("connecting")), Check::Met)
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
                if connects > seen && connects >= 2 {
                    Check::Met(connects)
                } else {
                    never(c, Some("reconnecting"))
                }
            })
            .await?;
        self.clients[index].connects_seen = connects;
        Ok(())
    }

    /// `wait_retry`: waits until the client has scheduled its retry number
    /// `retry` since its last connect (`retry N/M` in the transcript): it
    /// failed `retry` times, and the retry itself is still to come.
    pub(super) async fn wait_retry(
        &mut self,
        client: &Option<String>,
        retry: u32,
        timeout: Option<Duration>,
    ) -> StepResult {
        let index = self.client_index(client);
        self.wait_on(index, Awaited::Retry(retry), timeout, |j| {
            let c = j.client(index);
            if c.retries_scheduled >= retry {
                Check::Met(())
            } else {
                never(c, None)
            }
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
                let c = j.client(index);
                match c.errors[from.min(c.errors.len())..]
                    .iter()
                    .position(|e| e.code == code)
                {
                    Some(at) => Check::Met(from + at + 1),
                    None => never(c, None),
                }
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
            let c = j.client(index);
            match c.gave_up {
                Some(_) => Check::Met(()),
                None => never(c, None),
            }
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
                let c = j.client(index);
                if c.unsent > seen {
                    Check::Met(c.unsent)
                } else {
                    never(c, None)
                }
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
                let closes = j.closes_of(index);
                let found = closes[from.min(closes.len())..]
                    .iter()
                    .position(|reason| close_matches(how, reason));
                match found {
                    Some(at) => Check::Met(from + at + 1),
                    // A program's connections close after it exits, seen
                    // from the server: wait until none is open.
                    None if j.client(index).program && j.server().unowned_open() => Check::Waiting,
                    None => never(j.client(index), None),
                }
            })
            .await;
        let found = match found {
            // Say how it closed if not as awaited, from the close it waited from.
            Err(StepFailure::TimedOut {
                awaited,
                within,
                client,
                news,
            }) => {
                let news = self
                    .other_close(index, from, how)
                    .map_or(news, LastNews::ClosedOtherwise);
                return Err(StepFailure::TimedOut {
                    awaited,
                    within,
                    client,
                    news,
                });
            }
            other => other?,
        };
        self.clients[index].closes_seen = found;
        Ok(())
    }

    /// Returns the first close of client `index` from its `from`-th on
    /// that is not `how`, if one.
    fn other_close(&self, index: usize, from: usize, how: CloseKind) -> Option<CloseReason> {
        self.journal
            .closes_of(index)
            .get(from..)?
            .iter()
            .find(|reason| !close_matches(how, reason))
            .cloned()
    }

    /// Says that the client takes no more input, and why.
    fn stopped(&self, index: usize) -> StepFailure {
        let client = self.journal.client(index);
        let closed = match &client.last_close {
            Some((reason, by_server)) if !client.quit && !client.ended => Some(Closing {
                reason: reason.clone(),
                by_server: *by_server,
            }),
            _ => None,
        };
        StepFailure::Stopped {
            client: client.name.clone(),
            gave_up: gave_up(client),
            closed,
        }
    }

    /// Waits until `condition` gives a value, for at most `timeout` (default:
    /// the scenario's); a failure says the client was awaited for `awaited`.
    async fn wait_on<T>(
        &mut self,
        index: usize,
        awaited: Awaited,
        timeout: Option<Duration>,
        condition: impl FnMut(&mut Journal) -> Check<T>,
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
            Waited::Never(because) => StepFailure::Impossible {
                awaited: awaited.to_string(),
                because: Box::new(because),
                tail: None,
            },
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

/// Returns why nothing more can come from the client, if it has stopped;
/// `before` names what a program never did before it ended.
pub(super) fn because(client: &ClientState, before: Option<&'static str>) -> Option<Because> {
    let name = client.name.clone();
    if client.program {
        return client.exit.clone().map(|exit| Because::Exited {
            client: name,
            exit,
            before,
        });
    }
    if let Some(gave_up) = gave_up(client) {
        return Some(Because::GaveUp {
            client: name,
            gave_up,
        });
    }
    if !client.stopped() {
        return None;
    }
    Some(if client.quit {
        Because::Quit { client: name }
    } else if client.ended {
        Because::Ended { client: name }
    } else if client.aborted {
        Because::Aborted { client: name }
    } else {
        match (&client.last_close, client.errors.last()) {
            (Some((reason, by_server)), _) => Because::NoReconnect {
                client: name,
                how: Closing {
                    reason: reason.clone(),
                    by_server: *by_server,
                },
            },
            (None, error) => Because::Refused {
                client: name,
                code: error.map_or_else(|| "no connection".to_owned(), |e| e.code.clone()),
            },
        }
    })
}

/// Waits on, unless the client has stopped: then the wait can never end well.
fn never<T>(client: &ClientState, before: Option<&'static str>) -> Check<T> {
    because(client, before).map_or(Check::Waiting, Check::Never)
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
