//! Executes each kind of step against the clients, the server and the journal.

use std::time::Duration;

use bytes::Bytes;

use super::journal::Journal;
use super::{Conductor, Waited};
use crate::event::CloseReason;
use crate::scenario::{CloseKind, ConnectionRef, Data, Pattern, Step};
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
            Step::ExpectExit { .. } | Step::KillClient { .. } => Err(StepError::new(format!(
                "`{}` needs a command client, which this tcprun cannot run yet",
                step.name()
            ))),
            Step::Send { client, data } => self.send(client, bytes(data, false)).await,
            Step::SendLine { client, data } => self.send(client, bytes(data, true)).await,
            Step::End { client, data } => {
                let index = self.client_index(client);
                let data = data.as_ref().map(|d| bytes(d, false));
                self.clients[index]
                    .handle
                    .end(data)
                    .await
                    .map_err(|_| self.stopped(index))
            }
            Step::SendQuit { client } => {
                let index = self.client_index(client);
                self.clients[index]
                    .handle
                    .quit()
                    .await
                    .map_err(|_| self.stopped(index))
            }
            Step::Expect {
                client,
                pattern,
                timeout,
            } => {
                let index = self.client_index(client);
                let regex = &pattern.regex;
                let waited = self
                    .wait_for(self.timeout(*timeout), |j| {
                        j.client_mut(index).output.take(regex)
                    })
                    .await;
                waited.map(drop).map_err(|why| {
                    let output = &self.journal.client(index).output;
                    self.unmatched(why, pattern, *timeout, output.tail(TAIL), output.dropped())
                })
            }
            Step::ExpectNo {
                client,
                pattern,
                window,
            } => {
                let index = self.client_index(client);
                let regex = &pattern.regex;
                let waited = self
                    .wait_for(self.timeout(*window), |j| {
                        j.client(index).output.matches(regex).then_some(())
                    })
                    .await;
                match waited {
                    Err(Waited::TimedOut) => Ok(()),
                    Err(Waited::Stuck) => Err(self.stuck()),
                    Ok(()) => Err(StepError {
                        message: format!("output matched /{}/, which it must not", pattern.source),
                        received: Some(self.journal.client(index).output.tail(TAIL).to_owned()),
                    }),
                }
            }
            Step::WaitConnected { client, timeout } => {
                let index = self.client_index(client);
                let connects = self
                    .wait_for(self.timeout(*timeout), |j| {
                        let c = j.client(index);
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
                        (c.connects > seen && c.connects >= 2).then_some(c.connects)
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
                        let closes = &j.client(index).closes;
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
            Step::KillServer { .. } => self.server_op(|s| Box::pin(s.kill())).await,
            Step::StopServer => self.server_op(|s| Box::pin(s.stop())).await,
            Step::StartServer => self.server_op(|s| Box::pin(s.start())).await,
            Step::ServerSend { connection, data } => {
                let targets = self.targets(connection)?;
                let data = bytes(data, false);
                let server = self.fake_server()?;
                let written = server.send(&targets, data).await.map_err(server_error)?;
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
                let regex = &pattern.regex;
                let waited = self
                    .wait_for(self.timeout(*timeout), |j| {
                        server_output(j, conn).take(regex)
                    })
                    .await;
                waited.map(drop).map_err(|why| {
                    let output = server_output_ref(&self.journal, conn);
                    let (tail, dropped) = output.map_or(("", 0), |o| (o.tail(TAIL), o.dropped()));
                    self.unmatched(why, pattern, *timeout, tail, dropped)
                })
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

    async fn send(&mut self, client: &Option<String>, data: Bytes) -> StepResult {
        let index = self.client_index(client);
        self.clients[index]
            .handle
            .write(data)
            .await
            .map(drop)
            .map_err(|_| self.stopped(index))
    }

    async fn server_op(
        &mut self,
        op: impl for<'a> FnOnce(
            &'a mut FakeServer,
        ) -> std::pin::Pin<
            Box<
                dyn std::future::Future<Output = Result<(), crate::server::ServerError>>
                    + Send
                    + 'a,
            >,
        >,
    ) -> StepResult {
        let server = self
            .server
            .as_mut()
            .ok_or_else(|| StepError::new("this scenario has no fake server to control"))?;
        op(server).await.map_err(server_error)
    }

    fn fake_server(&self) -> Result<&FakeServer, StepError> {
        self.server
            .as_ref()
            .ok_or_else(|| StepError::new("this scenario has no fake server to control"))
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

fn bytes(data: &Data, newline: bool) -> Bytes {
    let mut bytes = data.bytes.clone();
    if newline {
        bytes.push(b'\n');
    }
    Bytes::from(bytes)
}

fn close_matches(how: CloseKind, reason: &CloseReason) -> bool {
    match how {
        CloseKind::Any => true,
        CloseKind::Fin => *reason == CloseReason::Fin,
        CloseKind::Reset => reason.is_reset(),
    }
}

fn server_output(journal: &mut Journal, conn: Option<u32>) -> &mut super::output::OutputBuffer {
    let server = journal.server_mut();
    match conn {
        Some(conn) => server.outputs.entry(conn).or_default(),
        None => &mut server.all_output,
    }
}

fn server_output_ref(journal: &Journal, conn: Option<u32>) -> Option<&super::output::OutputBuffer> {
    let server = journal.server();
    match conn {
        Some(conn) => server.outputs.get(&conn),
        None => Some(&server.all_output),
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
