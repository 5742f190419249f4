//! Executes the server steps: kill, stop, start (and wait for a program to be ready), send, expect, close; count connections.

use std::time::Duration;

use bytes::Bytes;

use super::{StepResult, TAIL, checked, step_signal};
use crate::matcher::Matcher;
use crate::runner::drivers::ServerDriver;
use crate::runner::failure::Because;
use crate::runner::failure::{ServerAction, StepFailure};
use crate::runner::journal::Journal;
use crate::runner::output::{Look, OutputBuffer, Seek};
use crate::runner::{Conductor, Waited, folding};
use crate::scenario::{CloseKind, ConnectionRef, Pattern, Readiness};
use crate::server::{FakeServer, Targets};

impl Conductor {
    /// `kill_server`: kills the fake server (every connection reset), or
    /// signals the server program (default SIGKILL) and waits for its exit.
    pub(super) async fn kill_server(&mut self, signal: Option<&str>) -> StepResult {
        let signal = step_signal(signal)?;
        match self.server.as_mut() {
            Some(ServerDriver::Fake(server)) => server.kill().await.map_err(StepFailure::Server),
            Some(ServerDriver::Program(server)) => server
                .kill(signal)
                .await
                .map(drop)
                .map_err(StepFailure::Server),
            None => Err(StepFailure::NoServer),
        }
    }

    /// `stop_server`: stops the server gracefully.
    pub(super) async fn stop_server(&mut self) -> StepResult {
        match self.server.as_mut() {
            Some(ServerDriver::Fake(server)) => server.stop().await.map_err(StepFailure::Server),
            Some(ServerDriver::Program(server)) => {
                server.stop().await.map(drop).map_err(StepFailure::Server)
            }
            None => Err(StepFailure::NoServer),
        }
    }

    /// `blackhole_server`: the fake server's port drops SYNs.
    pub(super) async fn blackhole_server(&mut self) -> StepResult {
        match self.server.as_mut() {
            Some(ServerDriver::Fake(server)) => {
                server.blackhole().await.map_err(StepFailure::Server)
            }
            Some(ServerDriver::Program(_)) => Err(StepFailure::NeedsFakeServer),
            None => Err(StepFailure::NoServer),
        }
    }

    /// Starts the server; a program must then become ready.
    pub(in crate::runner) async fn start_server(&mut self) -> StepResult {
        match self.server.as_mut() {
            Some(ServerDriver::Fake(server)) => server.start().await.map_err(StepFailure::Server),
            Some(ServerDriver::Program(server)) => {
                server.start().await.map_err(StepFailure::Server)?;
                self.await_ready().await
            }
            None => Err(StepFailure::NoServer),
        }
    }

    /// `server_send`: has the fake server write `data` to `targets`.
    pub(super) async fn server_send(&mut self, targets: Targets, data: Bytes) -> StepResult {
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
        some_connection(&written, ServerAction::Send)
    }

    /// `server_expect`: waits until `pattern` matches what the server
    /// received on `connection` (all: every connection together), or a
    /// server program's output, and consumes it.
    pub(super) async fn server_expect(
        &mut self,
        connection: &ConnectionRef,
        pattern: &Pattern,
        timeout: Option<Duration>,
    ) -> StepResult {
        let text = self.server_text(connection)?;
        let matcher = self.matcher(pattern)?;
        let mut seek = Seek::new(&matcher);
        let mut pending = None;
        let waited = self
            .wait_for(self.timeout(timeout), |j| {
                let output = text.buffer_mut(j);
                let ended = output.ended();
                let look = output.take(&matcher, &mut seek);
                checked(look, &mut pending, || text.over(j).filter(|_| ended))
            })
            .await;
        let matched = waited.map_err(|why| {
            let empty = OutputBuffer::default();
            let output = text.buffer(&self.journal).unwrap_or(&empty);
            self.unmatched(why, pattern, timeout, output, pending)
        })?;
        self.capture(matched);
        Ok(())
    }

    /// `server_expect_no`: fails if `pattern` matches what the server
    /// receives on `connection` (all: every connection together), or a
    /// server program's output, within `window`.
    pub(super) async fn server_expect_no(
        &mut self,
        connection: &ConnectionRef,
        pattern: &Pattern,
        window: Option<Duration>,
    ) -> StepResult {
        let text = self.server_text(connection)?;
        let matcher = self.matcher(pattern)?;
        let mut seek = Seek::new(&matcher);
        let mut pending = None;
        let seen = self
            .wait_for(self.timeout(window), |j| {
                let look = text.buffer_mut(j).look(&matcher, &mut seek);
                checked(look, &mut pending, || None)
            })
            .await;
        let tail = text
            .buffer(&self.journal)
            .map(|output| output.tail(TAIL).to_owned());
        self.absent(seen, pending, |pending| StepFailure::ServerMatched {
            pattern: pattern.source.clone(),
            printed: text.program,
            tail,
            pending,
        })
    }

    /// `server_close`: closes `connection` with FIN, or resets it.
    pub(super) async fn server_close(
        &mut self,
        connection: &ConnectionRef,
        how: CloseKind,
    ) -> StepResult {
        let targets = self.targets(connection)?;
        let server = self.fake_server()?;
        let closed = server
            .close(&targets, how == CloseKind::Reset)
            .await
            .map_err(StepFailure::Server)?;
        some_connection(&closed, ServerAction::Close)
    }

    /// `server_half_close`: shuts down the server's write side of `connection`.
    pub(super) async fn server_half_close(&mut self, connection: &ConnectionRef) -> StepResult {
        let targets = self.targets(connection)?;
        let server = self.fake_server()?;
        let ended = server
            .half_close(&targets)
            .await
            .map_err(StepFailure::Server)?;
        some_connection(&ended, ServerAction::HalfClose)
    }

    /// `expect_connections`: waits until the server has accepted `count`
    /// connections in all; more is a failure too. With a server program
    /// behind a proxy, the proxy's accepted connections count.
    pub(super) async fn expect_connections(
        &mut self,
        count: u32,
        timeout: Option<Duration>,
    ) -> StepResult {
        if matches!(self.server, Some(ServerDriver::Program(_))) {
            return self.expect_proxied_connections(count, timeout).await;
        }
        let accepted = self
            .wait_for(self.timeout(timeout), |j| {
                (j.server().accepted >= count)
                    .then_some(j.server().accepted)
                    .into()
            })
            .await
            .map_err(|why| match why {
                Waited::TimedOut => StepFailure::TooFewConnections {
                    expected: count,
                    within: self.timeout(timeout),
                    accepted: self.journal.server().accepted,
                },
                Waited::Stuck | Waited::Never(_) => self.stuck(),
            })?;
        if accepted > count {
            return Err(StepFailure::TooManyConnections {
                expected: count,
                accepted,
            });
        }
        Ok(())
    }

    /// `expect_connections` through the proxies in front of a server program.
    async fn expect_proxied_connections(
        &mut self,
        count: u32,
        timeout: Option<Duration>,
    ) -> StepResult {
        let within = self.timeout(timeout);
        let to_server: Vec<usize> = (0..self.proxies.len())
            .filter(|index| self.proxies[*index].to_server)
            .collect();
        let accepted = self
            .wait_for(within, |j| {
                let accepted: u32 = to_server.iter().map(|i| j.proxy(*i).accepted).sum();
                (accepted >= count).then_some(accepted).into()
            })
            .await
            .map_err(|why| match why {
                Waited::TimedOut => StepFailure::TooFewProxied {
                    expected: count,
                    within,
                    accepted: self.proxied_connections(),
                },
                Waited::Stuck | Waited::Never(_) => self.stuck(),
            })?;
        if accepted > count {
            return Err(StepFailure::TooManyProxied {
                expected: count,
                accepted,
            });
        }
        Ok(())
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
            Readiness::Log(pattern) => self.await_log(&pattern.matcher, timeout).await,
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
    async fn await_log(&mut self, matcher: &Matcher, timeout: Duration) -> Option<bool> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut seek = Seek::new(matcher);
        loop {
            self.drain();
            let log = &mut self.journal.server_mut().log;
            match log.take_line(matcher, &mut seek) {
                Look::Found(_) => {
                    self.journal.sync_programs();
                    self.stream();
                    return Some(true);
                }
                Look::Busy if tokio::time::Instant::now() < deadline => {
                    tokio::task::yield_now().await;
                    continue;
                }
                Look::Busy | Look::Pending { .. } | Look::Nothing => {}
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

    /// Returns what a server expectation on `connection` reads: a server
    /// program's output, or what the fake server received on the one
    /// connection it names, or on all of them.
    fn server_text(&self, connection: &ConnectionRef) -> Result<ServerText, StepFailure> {
        let program = matches!(self.server, Some(ServerDriver::Program(_)));
        let conn = match connection {
            ConnectionRef::All => None,
            named => match self.targets(named)? {
                Targets::Some(ids) => ids.first().copied(),
                Targets::All => None,
            },
        };
        Ok(ServerText { conn, program })
    }

    /// Resolves `connection:` to the connections it names.
    pub(super) fn targets(&self, connection: &ConnectionRef) -> Result<Targets, StepFailure> {
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
}

/// Fails when the server did `action` on no connection (`touched` is empty).
fn some_connection(touched: &[u32], action: ServerAction) -> StepResult {
    if touched.is_empty() {
        Err(StepFailure::NoOpenConnection(action))
    } else {
        Ok(())
    }
}

/// Names the text a server expectation reads.
#[derive(Debug, Clone, Copy)]
struct ServerText {
    /// One connection's received text (else every connection's).
    conn: Option<u32>,
    /// A server program's output instead.
    program: bool,
}

impl ServerText {
    /// Returns the text to match and consume from.
    fn buffer_mut(self, journal: &mut Journal) -> &mut OutputBuffer {
        let server = journal.server_mut();
        match self.conn {
            _ if self.program => &mut server.program_output,
            Some(conn) => server.outputs.entry(conn).or_default(),
            None => &mut server.all_output,
        }
    }

    /// Returns why no more text can come, if none can: the server program
    /// exited, or the one connection read has ended. (New connections can
    /// always add to every connection's text together.)
    fn over(self, journal: &Journal) -> Option<Because> {
        let server = journal.server();
        match self.conn {
            _ if self.program => server
                .exit
                .clone()
                .filter(|_| !server.running)
                .map(|exit| Because::ServerExited { exit }),
            Some(conn) => server
                .input_over(conn)
                .then_some(Because::ConnectionEnded { conn }),
            None => None,
        }
    }

    /// Returns the text, if any arrived (for a failure's report).
    fn buffer(self, journal: &Journal) -> Option<&OutputBuffer> {
        let server = journal.server();
        match self.conn {
            _ if self.program => Some(&server.program_output),
            Some(conn) => server.outputs.get(&conn),
            None => Some(&server.all_output),
        }
    }
}
