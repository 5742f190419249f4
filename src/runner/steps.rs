//! Executes each kind of step against the clients, the server and the journal.

use std::time::Duration;

use std::borrow::Cow;

use bytes::Bytes;
use regex::Regex;

use nix::sys::signal::Signal;

use super::drivers::{ClientDriver, ServerDriver};
use super::journal::Journal;
use super::output::Matched;
use super::{Conductor, Waited, folding};
use crate::event::CloseReason;
use crate::process::{Exit, parse_signal};
use crate::scenario::{CloseKind, ConnectionRef, Data, Pattern, Readiness, Step};
use crate::server::{FakeServer, Targets};

/// How much unmatched output a failure shows.
const TAIL: usize = 400;

/// Describes why a step failed.
#[derive(Debug)]
pub(super) struct StepError {
    pub message: String,
    pub received: Option<String>,
}

impl StepError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            received: None,
        }
    }
}

type StepResult = Result<(), StepError>;

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
                    .map_err(|why| self.waited(why, "the program to exit", *timeout, index))?;
                let expected = match (code, signal) {
                    (Some(code), _) => Some(Exit::Code(*code)),
                    (None, Some(signal)) => Some(Exit::Signal(signal.clone())),
                    (None, None) => None,
                };
                match expected {
                    Some(expected) if expected != exit => Err(StepError::new(format!(
                        "expected the program to end with {}, it {exit}",
                        match &expected {
                            Exit::Code(code) => format!("exit code {code}"),
                            Exit::Signal(name) => format!("SIG{name}"),
                        }
                    ))),
                    _ => Ok(()),
                }
            }
            Step::KillClient { client, signal } => {
                let index = self.client_index(client);
                let signal = step_signal(signal.as_deref())?;
                match &self.clients[index].driver {
                    ClientDriver::Program(program) => program
                        .kill(signal)
                        .await
                        .map_err(|e| StepError::new(e.to_string())),
                    ClientDriver::BuiltIn { .. } => {
                        Err(StepError::new("kill_client needs a client program"))
                    }
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
                    Ok(()) => Err(StepError {
                        message: format!("output matched /{}/, which it must not", pattern.source),
                        received: Some(
                            self.journal
                                .client(index)
                                .read(*stream)
                                .tail(TAIL)
                                .to_owned(),
                        ),
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
                    .map_err(|why| self.waited(why, "a connection", *timeout, index))?;
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
                    .map_err(|why| self.waited(why, "a reconnect", *timeout, index))?;
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
                .map_err(|why| self.waited(why, &format!("failed retry {retry}"), *timeout, index))
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
                    .map_err(|why| self.waited(why, &format!("error {code}"), *timeout, index))?;
                self.clients[index].errors_seen = found;
                Ok(())
            }
            Step::ExpectGaveUp { client, timeout } => {
                let index = self.client_index(client);
                self.wait_for(self.timeout(*timeout), |j| {
                    j.client(index).gave_up.as_ref().map(drop)
                })
                .await
                .map_err(|why| self.waited(why, "the client to give up", *timeout, index))
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
                    .map_err(|why| {
                        let what = match how {
                            CloseKind::Fin => "the connection to close with FIN",
                            CloseKind::Reset => "the connection to be reset",
                            CloseKind::Any => "the connection to close",
                        };
                        self.waited(why, what, *timeout, index)
                    })?;
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
                    Some(ServerDriver::Fake(server)) => server.kill().await.map_err(server_error),
                    Some(ServerDriver::Program(server)) => {
                        server.kill(signal).await.map(drop).map_err(server_error)
                    }
                    None => Err(no_server()),
                }
            }
            Step::StopServer => match self.server.as_mut() {
                Some(ServerDriver::Fake(server)) => server.stop().await.map_err(server_error),
                Some(ServerDriver::Program(server)) => {
                    server.stop().await.map(drop).map_err(server_error)
                }
                None => Err(no_server()),
            },
            Step::StartServer => self.start_server().await,
            Step::ServerSend { connection, data } => {
                let targets = self.targets(connection)?;
                let data = self.bytes(data, false)?;
                let Some(ServerDriver::Fake(server)) = &self.server else {
                    return Err(self.fake_server().err().unwrap_or_else(no_server));
                };
                let send = server.send(&targets, data);
                let written = folding(
                    send,
                    &mut self.reports,
                    &mut self.scheduler,
                    &mut self.journal,
                )
                .await
                .map_err(server_error)?;
                if written.is_empty() {
                    return Err(StepError::new(
                        "the server has no open connection to send to",
                    ));
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
            Step::ServerExpectNo {
                connection,
                pattern,
                window,
            } => {
                let conn = self.expected_conn(connection)?;
                let regex = self.regex(pattern)?;
                let program = matches!(self.server, Some(ServerDriver::Program(_)));
                let seen = self
                    .wait_for(self.timeout(*window), |j| {
                        server_output(j, conn, program)
                            .matches(&regex)
                            .then_some(())
                    })
                    .await;
                match seen {
                    Err(Waited::TimedOut) => Ok(()),
                    Err(Waited::Stuck) => Err(self.stuck()),
                    Ok(()) => Err(StepError {
                        message: format!(
                            "what the server {} matched /{}/, which it must not",
                            if program { "printed" } else { "received" },
                            pattern.source
                        ),
                        received: server_output_ref(&self.journal, conn, program)
                            .map(|output| output.tail(TAIL).to_owned()),
                    }),
                }
            }
            Step::ServerClose { connection, how } => {
                let targets = self.targets(connection)?;
                let server = self.fake_server()?;
                let closed = server
                    .close(&targets, *how == CloseKind::Reset)
                    .await
                    .map_err(server_error)?;
                if closed.is_empty() {
                    return Err(StepError::new("the server has no open connection to close"));
                }
                Ok(())
            }
            Step::ServerHalfClose { connection } => {
                let targets = self.targets(connection)?;
                let server = self.fake_server()?;
                let ended = server.half_close(&targets).await.map_err(server_error)?;
                if ended.is_empty() {
                    return Err(StepError::new(
                        "the server has no open connection to half-close",
                    ));
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
                        Waited::TimedOut => StepError::new(format!(
                            "expected {} within {}, the server accepted {}",
                            connections(count),
                            humantime::format_duration(self.timeout(*timeout)),
                            self.journal.server().accepted
                        )),
                        Waited::Stuck => self.stuck(),
                    })?;
                if accepted > count {
                    return Err(StepError::new(format!(
                        "expected {}, the server accepted {accepted}",
                        connections(count)
                    )));
                }
                Ok(())
            }
        }
    }

    /// Returns the bytes of `data` (text with its variables replaced), and a newline if asked.
    fn bytes(&self, data: &Data, newline: bool) -> Result<Bytes, StepError> {
        let mut bytes = data
            .render(&self.vars)
            .map_err(|error| StepError::new(error.to_string()))?;
        if newline {
            bytes.push(b'\n');
        }
        Ok(Bytes::from(bytes))
    }

    /// Returns the one connection a server expectation reads, or none for all of them.
    fn expected_conn(&self, connection: &ConnectionRef) -> Result<Option<u32>, StepError> {
        if *connection == ConnectionRef::All {
            return Ok(None);
        }
        Ok(match self.targets(connection)? {
            Targets::Some(ids) => ids.first().copied(),
            Targets::All => None,
        })
    }

    /// Returns the pattern's regex, compiled with the values of its variables.
    fn regex<'p>(&self, pattern: &'p Pattern) -> Result<Cow<'p, Regex>, StepError> {
        if !pattern.vars {
            return Ok(Cow::Borrowed(&pattern.regex));
        }
        let source = self
            .vars
            .apply_regex(&pattern.source)
            .map_err(|error| StepError::new(error.to_string()))?;
        Pattern::compile(&source).map(Cow::Owned).map_err(|error| {
            StepError::new(format!("the regex with its variables is invalid: {error}"))
        })
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
            Some(ServerDriver::Fake(server)) => server.start().await.map_err(server_error),
            Some(ServerDriver::Program(server)) => {
                server.start().await.map_err(server_error)?;
                self.await_ready().await
            }
            None => Err(no_server()),
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
        let received = (!tail.is_empty()).then(|| tail.join("\n"));
        match ready {
            Some(true) => match &self.server {
                Some(ServerDriver::Program(server)) => server.ready().await.map_err(server_error),
                _ => Ok(()),
            },
            Some(false) => {
                let exit = self.journal.server().exit.as_ref().map(Exit::to_string);
                Err(StepError {
                    message: format!(
                        "the server program {} before it was ready",
                        exit.unwrap_or_else(|| "ended".into())
                    ),
                    received,
                })
            }
            None => Err(StepError {
                message: format!(
                    "the server program was not ready within {}",
                    humantime::format_duration(timeout)
                ),
                received,
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

    fn fake_server(&self) -> Result<&FakeServer, StepError> {
        match &self.server {
            Some(ServerDriver::Fake(server)) => Ok(server),
            _ => Err(StepError::new("this step needs a fake server")),
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

    fn targets(&self, connection: &ConnectionRef) -> Result<Targets, StepError> {
        Ok(match connection {
            ConnectionRef::All => Targets::All,
            ConnectionRef::Index(n) => Targets::Some(vec![*n]),
            ConnectionRef::Client(name) => {
                let index = self.client_index(&Some(name.clone()));
                match self.journal.conn_of_client(index) {
                    Some(conn) => Targets::Some(vec![conn]),
                    None => {
                        return Err(StepError::new(format!(
                            "{name} has no connection to the server"
                        )));
                    }
                }
            }
        })
    }

    fn timeout(&self, timeout: Option<Duration>) -> Duration {
        timeout.unwrap_or(self.default_timeout)
    }

    fn stopped(&self, index: usize) -> StepError {
        let client = self.journal.client(index);
        let why = match &client.gave_up {
            Some((retries, code, _)) => format!(
                "it gave up after {retries} {}{}",
                retries_word(*retries),
                code.as_ref().map(|c| format!(" ({c})")).unwrap_or_default()
            ),
            None => "it quit or ended".to_owned(),
        };
        StepError::new(format!("{} has stopped: {why}", client.name))
    }

    fn stuck(&self) -> StepError {
        StepError::new(format!(
            "the conversation did not settle: {}",
            self.journal.unsettled().join("; ")
        ))
    }

    fn waited(
        &self,
        why: Waited,
        what: &str,
        timeout: Option<Duration>,
        index: usize,
    ) -> StepError {
        match why {
            Waited::Stuck => self.stuck(),
            Waited::TimedOut => {
                let client = self.journal.client(index);
                let mut message = format!(
                    "expected {what} within {}",
                    humantime::format_duration(self.timeout(timeout))
                );
                if let Some((retries, code, _)) = &client.gave_up {
                    message.push_str(&format!(
                        ", but {} gave up after {retries} {}{}",
                        client.name,
                        retries_word(*retries),
                        code.as_ref().map(|c| format!(" ({c})")).unwrap_or_default()
                    ));
                } else if let Some(error) = client.errors.last() {
                    message.push_str(&format!("; last error of {}: {}", client.name, error.code));
                }
                StepError::new(message)
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
    ) -> StepError {
        match why {
            Waited::Stuck => self.stuck(),
            Waited::TimedOut => {
                let mut message = format!(
                    "expected output matching /{}/ within {}",
                    pattern.source,
                    humantime::format_duration(self.timeout(timeout))
                );
                if tail.is_empty() {
                    message.push_str(", but nothing unmatched arrived");
                }
                if dropped > 0 {
                    message.push_str(&format!(" ({dropped} older bytes were dropped unread)"));
                }
                StepError {
                    message,
                    received: (!tail.is_empty()).then(|| tail.to_owned()),
                }
            }
        }
    }
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

fn no_server() -> StepError {
    StepError::new("this scenario has no server to control")
}

/// Resolves a step's signal name (validated at load time; default KILL).
fn step_signal(name: Option<&str>) -> Result<Signal, StepError> {
    match name {
        None => Ok(Signal::SIGKILL),
        Some(name) => {
            parse_signal(name).ok_or_else(|| StepError::new(format!("unknown signal {name}")))
        }
    }
}

fn server_error(error: crate::server::ServerError) -> StepError {
    StepError::new(error.to_string())
}

fn retries_word(n: u32) -> &'static str {
    if n == 1 { "retry" } else { "retries" }
}

fn connections(n: u32) -> String {
    format!(
        "{n} accepted {}",
        if n == 1 { "connection" } else { "connections" }
    )
}
