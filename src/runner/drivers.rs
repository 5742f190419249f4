//! Wraps what a scenario drives behind one interface each: the server (fake or program) and every client (built-in or program).

use std::sync::Arc;

use bytes::Bytes;
use nix::sys::signal::Signal;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::failure::StepFailure;
use crate::client::{ClientGone, ClientHandle, Outcome};
use crate::event::{Emitter, ProgramEvent};
use crate::process::{Launch, ProcessError, Program, signal_name};
use crate::server::{FakeServer, ProgramServer};

/// Holds the scenario's server.
#[derive(Debug)]
pub enum ServerDriver {
    /// A built-in fake server.
    Fake(FakeServer),
    /// A server program.
    Program(Box<ProgramServer>),
}

/// Holds one client of the scenario.
#[derive(Debug)]
pub enum ClientDriver {
    /// The built-in reconnecting client.
    BuiltIn {
        /// Commands to it.
        handle: ClientHandle,
        /// Its task, until it is awaited.
        task: Option<JoinHandle<Outcome>>,
        /// Stops it (before the rest of the scenario stops).
        stop: CancellationToken,
    },
    /// A client program.
    Program(ProgramClient),
}

/// Drives a client program: its stdin, its signals.
#[derive(Debug)]
pub struct ProgramClient {
    program: Program,
    emitter: Emitter,
    quit_word: String,
}

/// Reports that a client can no longer take input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gone;

impl From<ClientGone> for Gone {
    fn from(_: ClientGone) -> Self {
        Gone
    }
}

impl ProgramClient {
    /// Starts the program with a stdin pipe.
    pub async fn start(
        launch: Launch,
        emitter: Emitter,
        quit_word: String,
    ) -> Result<Self, ProcessError> {
        let command = launch.argv.first().cloned().unwrap_or_default();
        let _ = emitter.emit(ProgramEvent::Started { command }).await;
        let program = Program::start(&launch, emitter.clone())?;
        Ok(Self {
            program,
            emitter,
            quit_word,
        })
    }

    /// Returns the program.
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// Sends `signal` to its process group.
    pub async fn kill(&self, signal: Signal) -> Result<(), ProcessError> {
        let _ = self
            .emitter
            .emit(ProgramEvent::Signalled {
                signal: signal_name(signal),
            })
            .await;
        self.program.signal(signal)
    }
}

impl ClientDriver {
    /// Returns the built-in client's handle; a step for it alone fails on a program.
    pub fn built_in(&self) -> Result<&ClientHandle, StepFailure> {
        match self {
            ClientDriver::BuiltIn { handle, .. } => Ok(handle),
            ClientDriver::Program(_) => Err(StepFailure::NeedsBuiltInClient),
        }
    }

    /// Sends bytes: to the socket, or to the program's stdin.
    /// `summary` shows generated data in the transcript of a built-in
    /// client (a program's stdin shows the bytes).
    pub async fn write(&mut self, data: Bytes, summary: Option<Arc<str>>) -> Result<(), Gone> {
        match self {
            ClientDriver::BuiltIn { handle, .. } => handle
                .write_summarized(data, summary)
                .await
                .map(drop)
                .map_err(Gone::from),
            ClientDriver::Program(client) => {
                let _ = client
                    .emitter
                    .emit(ProgramEvent::Input { data: data.clone() })
                    .await;
                if client.program.write(&data).await {
                    Ok(())
                } else {
                    Err(Gone)
                }
            }
        }
    }

    /// Half-closes after optional data: FIN, or end of the program's stdin.
    pub async fn end(&mut self, data: Option<Bytes>) -> Result<(), Gone> {
        match self {
            ClientDriver::BuiltIn { handle, .. } => handle.end(data).await.map_err(Gone::from),
            ClientDriver::Program(_) => {
                if let Some(data) = data {
                    self.write(data, None).await?;
                }
                let ClientDriver::Program(client) = self else {
                    return Err(Gone);
                };
                client.program.close_stdin();
                let _ = client.emitter.emit(ProgramEvent::StdinClosed).await;
                Ok(())
            }
        }
    }

    /// Quits: the built-in quit, or the quit word as a line on stdin.
    pub async fn quit(&mut self) -> Result<(), Gone> {
        match self {
            ClientDriver::BuiltIn { handle, .. } => handle.quit().await.map_err(Gone::from),
            ClientDriver::Program(client) => {
                let line = Bytes::from(format!("{}\n", client.quit_word));
                self.write(line, None).await
            }
        }
    }
}
