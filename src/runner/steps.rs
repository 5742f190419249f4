//! Executes each kind of step against the clients, the server and the journal.

use std::time::Duration;

use std::borrow::Cow;

use bytes::Bytes;
use regex::Regex;

use nix::sys::signal::Signal;

use super::drivers::{ClientDriver, ServerDriver};
use super::failure::{Awaited, GaveUp, LastNews, ServerAction, StepFailure};
use super::journal::{ClientState, Journal};
use super::output::Matched;
use super::{Conductor, Waited, folding};
use crate::event::CloseReason;
use crate::process::{Exit, parse_signal};
use crate::scenario::{CloseKind, ConnectionRef, Data, Pattern, Readiness, Step};
use crate::server::{FakeServer, Targets};

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
                let index = self.client_index(client);
                let exit = self
                    .wait_for(self.timeout(*timeout), |j| j.client(index).exit.clone())
                    .await
                    .map_err(|why| self.waited(why, Awaited::Exit, *timeout, index))?;
                let expected = match (code, signal) {
                    (Some(code), _) => Some(Exit::Code(*code)),
                    (None, Some(signal)) => Some(Exit::Signal(signal.clone())),
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
            Step::KillClient { client, signal } => {
                let index = self.client_index(client);
                let signal = step_signal(signal.as_deref())?;
                match &self.clients[index].driver {
                    ClientDriver::Program(program) => {
                        program.kill(signal).await.map_err(StepFailure::Process)
                    }
                    ClientDriver::BuiltIn { .. } => Err(StepFailure::NeedsClientProgram),
                }
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
                let index = self.client_index(client);
                let data = data.as_ref().map(|d| self.bytes(d, false)).transpose()?;
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
            Step::SendQuit { client } => {
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
            Step::Expect {
                client,
                pattern,
                timeout,
                stream,
            } => {
                let index = self.client_index(client);
                let regex = self.regex(pattern)?;
                let waited = self
                    .wait_for(self.timeout(*timeout), |j| {
                        j.client_mut(index).read_mut(*stream).take(&regex)
                    })
                    .await;
                let matched = waited.map_err(|why| {
                    let output = self.journal.client(index).read(*stream);
                    self.unmatched(why, pattern, *timeout, output.tail(TAIL), output.dropped())
                })?;
                self.capture(matched);
                Ok(())
            }
            Step::ExpectNo {
                client,
                pattern,
                window,
                stream,
            } => {
                let index = self.client_index(client);
                let regex = self.regex(pattern)?;
                let waited = self
                    .wait_for(self.timeout(*window), |j| {
                        j.client(index).read(*stream).matches(&regex).then_some(())
                    })
                    .await;
                match waited {
                    Err(Waited::TimedOut) => Ok(()),
                    Err(Waited::Stuck) => Err(self.stuck()),
                    Ok(()) => Err(StepFailure::Matched {
                        pattern: pattern.source.clone(),
                        tail: self
                            .journal
                            .client(index)
                            .read(*stream)
                            .tail(TAIL)
                            .to_owned(),
                    }),
                }
            }
            Step::WaitConnected { client, timeout } => {
                let index = self.client_index(client);
                let connects = self
                    .wait_for(self.timeout(*timeout), |j| {
                        let c = j.client(index);
                        if c.program {
                            let s = j.server();
                            return s.unowned_open().then(|| s.unowned_accepted());
                        }
                        c.connected.then_some(c.connects)
                    })
                    .await
                    .map_err(|why| self.waited(why, Awaited::Connection, *timeout, index))?;
                self.clients[index].connects_seen = connects;
                Ok(())
            }
            Step::WaitReconnect { client, timeout } => {
                let index = self.client_index(client);
                let seen = self.clients[index].connects_seen;
                let connects = self
                    .wait_for(self.timeout(*timeout), |j| {
                        let c = j.client(index);
                        let connects = if c.program {
                            j.server().unowned_accepted()
                        } else {
                            c.connects
                        };
                        (connects > seen && connects >= 2).then_some(connects)
                    })
                    .await
                    .map_err(|why| self.waited(why, Awaited::Reconnect, *timeout, index))?;
                self.clients[index].connects_seen = connects;
                Ok(())
            }
            Step::WaitRetry {
                client,
                retry,
                timeout,
            } => {
                let index = self.client_index(client);
                let retry = *retry;
                self.wait_for(self.timeout(*timeout), |j| {
                    (j.client(index).failed_retries >= retry).then_some(())
                })
                .await
                .map_err(|why| self.waited(why, Awaited::FailedRetry(retry), *timeout, index))
            }
            Step::ExpectError {
                client,
                code,
                timeout,
            } => {
                let index = self.client_index(client);
                let from = self.clients[index].errors_seen;
                let found = self
                    .wait_for(self.timeout(*timeout), |j| {
                        j.client(index).errors[from.min(j.client(index).errors.len())..]
                            .iter()
                            .position(|e| e.code == *code)
                            .map(|at| from + at + 1)
                    })
                    .await
                    .map_err(|why| {
                        self.waited(why, Awaited::Error(code.clone()), *timeout, index)
                    })?;
                self.clients[index].errors_seen = found;
                Ok(())
            }
            Step::ExpectGaveUp { client, timeout } => {
                let index = self.client_index(client);
                self.wait_for(self.timeout(*timeout), |j| {
                    j.client(index).gave_up.as_ref().map(drop)
                })
                .await
                .map_err(|why| self.waited(why, Awaited::GiveUp, *timeout, index))
            }
            Step::ExpectClosed {
                client,
                how,
                timeout,
            } => {
                let index = self.client_index(client);
                let from = self.clients[index].closes_seen;
                let how = *how;
                let found = self
                    .wait_for(self.timeout(*timeout), |j| {
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
                    .await
                    .map_err(|why| self.waited(why, Awaited::Close(how), *timeout, index))?;
                self.clients[index].closes_seen = found;
                Ok(())
            }
            Step::Sleep { duration } => match self.wait_for(*duration, |_| None::<()>).await {
                Err(Waited::TimedOut) => Ok(()),
                _ => Err(self.stuck()),
            },
            Step::KillServer { signal } => {
                let signal = step_signal(signal.as_deref())?;
                match self.server.as_mut() {
                    Some(ServerDriver::Fake(server)) => {
                        server.kill().await.map_err(StepFailure::Server)
                    }
                    Some(ServerDriver::Program(server)) => server
                        .kill(signal)
                        .await
                        .map(drop)
                        .map_err(StepFailure::Server),
                    None => Err(StepFailure::NoServer),
                }
            }
            Step::StopServer => match self.server.as_mut() {
                Some(ServerDriver::Fake(server)) => {
                    server.stop().await.map_err(StepFailure::Server)
                }
                Some(ServerDriver::Program(server)) => {
                    server.stop().await.map(drop).map_err(StepFailure::Server)
                }
                None => Err(StepFailure::NoServer),
            },
            Step::StartServer => self.start_server().await,
            Step::ServerSend { connection, data } => {
                let targets = self.targets(connection)?;
                let data = self.bytes(data, false)?;
                let Some(ServerDriver::Fake(server)) = &self.server else {
                    return Err(StepFailure::NeedsFakeServer);
                };
                let send = server.send(&targets, data);
                let written = folding(
                    send,
                    &mut self.reports,
                    &mut self.scheduler,
                    &mut self.journal,
                )
                .await
                .map_err(StepFailure::Server)?;
                if written.is_empty() {
                    return Err(StepFailure::NoOpenConnection(ServerAction::Send));
                }
                Ok(())
            }
            Step::ServerExpect {
                connection,
                pattern,
                timeout,
            } => {
                let conn = match connection {
                    ConnectionRef::All => None,
                    other => match self.targets(other)? {
                        Targets::Some(ids) => ids.first().copied(),
                        Targets::All => None,
                    },
                };
                let regex = self.regex(pattern)?;
                let program = matches!(self.server, Some(ServerDriver::Program(_)));
                let waited = self
                    .wait_for(self.timeout(*timeout), |j| {
                        server_output(j, conn, program).take(&regex)
                    })
                    .await;
                let matched = waited.map_err(|why| {
                    let output = server_output_ref(&self.journal, conn, program);
                    let (tail, dropped) = output.map_or(("", 0), |o| (o.tail(TAIL), o.dropped()));
                    self.unmatched(why, pattern, *timeout, tail, dropped)
                })?;
                self.capture(matched);
                Ok(())
            }
            Step::ServerClose { connection, how } => {
                let targets = self.targets(connection)?;
                let server = self.fake_server()?;
                let closed = server
                    .close(&targets, *how == CloseKind::Reset)
                    .await
                    .map_err(StepFailure::Server)?;
                if closed.is_empty() {
                    return Err(StepFailure::NoOpenConnection(ServerAction::Close));
                }
                Ok(())
            }
            Step::ServerHalfClose { connection } => {
                let targets = self.targets(connection)?;
                let server = self.fake_server()?;
                let ended = server
                    .half_close(&targets)
                    .await
                    .map_err(StepFailure::Server)?;
                if ended.is_empty() {
                    return Err(StepFailure::NoOpenConnection(ServerAction::HalfClose));
                }
                Ok(())
            }
            Step::ExpectConnections { count, timeout } => {
                let count = *count;
                let accepted = self
                    .wait_for(self.timeout(*timeout), |j| {
                        (j.server().accepted >= count).then_some(j.server().accepted)
                    })
                    .await
                    .map_err(|why| match why {
                        Waited::TimedOut => StepFailure::TooFewConnections {
                            expected: count,
                            within: self.timeout(*timeout),
                            accepted: self.journal.server().accepted,
                        },
                        Waited::Stuck => self.stuck(),
                    })?;
                if accepted > count {
                    return Err(StepFailure::TooManyConnections {
                        expected: count,
                        accepted,
                    });
                }
                Ok(())
            }
        }
    }

    /// Returns the bytes of `data` (text with its variables replaced), and a newline if asked.
    fn bytes(&self, data: &Data, newline: bool) -> Result<Bytes, StepFailure> {
        let mut bytes = if data.encoding.is_text() {
            self.vars
                .apply_bytes(&data.bytes)
                .map_err(StepFailure::UnknownVariable)?
        } else {
            data.bytes.clone()
        };
        if newline {
            bytes.push(b'\n');
        }
        Ok(Bytes::from(bytes))
    }

    /// Returns the pattern's regex, compiled with the values of its variables.
    fn regex<'p>(&self, pattern: &'p Pattern) -> Result<Cow<'p, Regex>, StepFailure> {
        if !pattern.vars {
            return Ok(Cow::Borrowed(&pattern.regex));
        }
        let source = self
            .vars
            .apply_regex(&pattern.source)
            .map_err(StepFailure::UnknownVariable)?;
        Pattern::compile(&source)
            .map(Cow::Owned)
            .map_err(StepFailure::InvalidRegex)
    }

    /// Keeps a match's named groups as variables, masked in the transcript.
    fn capture(&mut self, matched: Matched) {
        for (name, value) in matched.captures {
            self.journal.mask_value(&name, &value);
            self.vars.values.insert(name, value);
        }
    }

    async fn send(&mut self, client: &Option<String>, data: Bytes) -> StepResult {
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

    /// Starts the server; a program must then become ready.
    pub(super) async fn start_server(&mut self) -> StepResult {
        match self.server.as_mut() {
            Some(ServerDriver::Fake(server)) => server.start().await.map_err(StepFailure::Server),
            Some(ServerDriver::Program(server)) => {
                server.start().await.map_err(StepFailure::Server)?;
                self.await_ready().await
            }
            None => Err(StepFailure::NoServer),
        }
    }

    /// Waits until the server program is ready, or fails with its exit and last output.
    async fn await_ready(&mut self) -> StepResult {
        let Some(ServerDriver::Program(server)) = &self.server else {
            return Ok(());
        };
        let timeout = server.ready_timeout();
        let readiness = server.readiness().clone();
        let (host, port) = (server.host().to_owned(), server.port());
        let ready = match &readiness {
            Readiness::Log(pattern) => self.await_log(&pattern.regex, timeout).await,
            Readiness::Port => self.probe_port(&host, port, timeout).await,
        };
        let tail: Vec<String> = self.journal.server().tail.iter().cloned().collect();
        let output = (!tail.is_empty()).then(|| tail.join("\n"));
        match ready {
            Some(true) => match &self.server {
                Some(ServerDriver::Program(server)) => {
                    server.ready().await.map_err(StepFailure::Server)
                }
                _ => Ok(()),
            },
            Some(false) => Err(StepFailure::EndedBeforeReady {
                exit: self.journal.server().exit.clone(),
                output,
            }),
            None => Err(StepFailure::NotReady {
                within: timeout,
                output,
            }),
        }
    }

    /// Waits until `regex` matches the server program's output (`Some(true)`),
    /// the program exits (`Some(false)`), or `timeout` passes (`None`). Like
    /// [`Self::probe_port`], it fires no timers: the clients' retries wait
    /// until the server is ready, so how many fail does not depend on how
    /// fast the program starts.
    async fn await_log(&mut self, regex: &regex::Regex, timeout: Duration) -> Option<bool> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            self.drain();
            if self.journal.server_mut().log.take(regex).is_some() {
                self.journal.sync_programs();
                self.stream();
                return Some(true);
            }
            if !self.journal.server().running {
                return Some(false);
            }
            tokio::select! {
                report = self.reports.recv() => match report {
                    Some(report) => self.fold(report),
                    None => return Some(false),
                },
                () = tokio::time::sleep_until(deadline) => return None,
            }
        }
    }

    /// Probes the port until it accepts (`Some(true)`), the program exits
    /// (`Some(false)`), or `timeout` passes (`None`). No event says that a
    /// port listens, so this polls, backing off from 5 ms to 100 ms.
    async fn probe_port(&mut self, host: &str, port: u16, timeout: Duration) -> Option<bool> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut pause = Duration::from_millis(5);
        loop {
            let probe = tokio::net::TcpStream::connect((host, port));
            if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_millis(200), probe).await {
                return Some(true);
            }
            self.drain();
            if !self.journal.server().running {
                return Some(false);
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return None;
            }
            let until = (now + pause).min(deadline);
            tokio::select! {
                report = self.reports.recv() => if let Some(report) = report {
                    self.fold(report);
                },
                () = tokio::time::sleep_until(until) => {}
            }
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }

    fn fake_server(&self) -> Result<&FakeServer, StepFailure> {
        match &self.server {
            Some(ServerDriver::Fake(server)) => Ok(server),
            Some(ServerDriver::Program(_)) | None => Err(StepFailure::NeedsFakeServer),
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

    fn targets(&self, connection: &ConnectionRef) -> Result<Targets, StepFailure> {
        Ok(match connection {
            ConnectionRef::All => Targets::All,
            ConnectionRef::Index(n) => Targets::Some(vec![*n]),
            ConnectionRef::Client(name) => {
                let index = self.client_index(&Some(name.clone()));
                match self.journal.conn_of_client(index) {
                    Some(conn) => Targets::Some(vec![conn]),
                    None => {
                        return Err(StepFailure::NoConnection {
                            client: name.clone(),
                        });
                    }
                }
            }
        })
    }

    fn timeout(&self, timeout: Option<Duration>) -> Duration {
        timeout.unwrap_or(self.default_timeout)
    }

    fn stopped(&self, index: usize) -> StepFailure {
        let client = self.journal.client(index);
        StepFailure::Stopped {
            client: client.name.clone(),
            gave_up: gave_up(client),
        }
    }

    fn stuck(&self) -> StepFailure {
        StepFailure::Stuck {
            unsettled: self.journal.unsettled(),
        }
    }

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

    fn unmatched(
        &self,
        why: Waited,
        pattern: &Pattern,
        timeout: Option<Duration>,
        tail: &str,
        dropped: u64,
    ) -> StepFailure {
        match why {
            Waited::Stuck => self.stuck(),
            Waited::TimedOut => StepFailure::Unmatched {
                pattern: pattern.source.clone(),
                within: self.timeout(timeout),
                tail: tail.to_owned(),
                dropped,
            },
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

/// Returns what `server_expect` matches: a fake server's received text (one
/// connection's or all), or a server program's output.
fn server_output(
    journal: &mut Journal,
    conn: Option<u32>,
    program: bool,
) -> &mut super::output::OutputBuffer {
    let server = journal.server_mut();
    match conn {
        _ if program => &mut server.program_output,
        Some(conn) => server.outputs.entry(conn).or_default(),
        None => &mut server.all_output,
    }
}

fn server_output_ref(
    journal: &Journal,
    conn: Option<u32>,
    program: bool,
) -> Option<&super::output::OutputBuffer> {
    let server = journal.server();
    match conn {
        _ if program => Some(&server.program_output),
        Some(conn) => server.outputs.get(&conn),
        None => Some(&server.all_output),
    }
}

/// Resolves a step's signal name (validated at load time; default KILL).
fn step_signal(name: Option<&str>) -> Result<Signal, StepFailure> {
    match name {
        None => Ok(Signal::SIGKILL),
        Some(name) => parse_signal(name).ok_or_else(|| StepFailure::UnknownSignal(name.to_owned())),
    }
}
