//! Runs a real server program under test: start it on tcprun's port, signal it, stop it, start it again.

use std::net::TcpListener;
use std::time::Duration;

use nix::sys::signal::Signal;

use super::ServerError;
use crate::event::{Emitter, ProgramEvent};
use crate::process::{Exit, Program, signal_name};
use crate::scenario::{CommandServerSpec, OutputMode, Readiness};
use crate::vars::Vars;

/// Bounds the wait for a program to die after SIGKILL.
const KILL_WAIT: Duration = Duration::from_secs(5);

/// Controls one server program.
#[derive(Debug)]
pub struct ProgramServer {
    spec: CommandServerSpec,
    port: u16,
    emitter: Emitter,
    program: Option<Program>,
    vars: Vars,
}

impl ProgramServer {
    /// Chooses the port (a free one for port 0) and checks that it is free;
    /// `vars` gives the values of the other `${name}`s in its command.
    pub fn new(spec: CommandServerSpec, emitter: Emitter, vars: Vars) -> Result<Self, ServerError> {
        let probe = TcpListener::bind((spec.host.as_str(), spec.port)).map_err(|source| {
            ServerError::Bind {
                addr: format!("{}:{}", spec.host, spec.port),
                source,
            }
        })?;
        let port = probe.local_addr().map(|a| a.port()).unwrap_or(spec.port);
        drop(probe);
        Ok(Self {
            spec,
            port,
            emitter,
            program: None,
            vars: Vars { port, ..vars },
        })
    }

    /// Returns the server's host.
    pub fn host(&self) -> &str {
        &self.spec.host
    }

    /// Returns the port the program is told to listen on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Returns how the server becomes ready.
    pub fn readiness(&self) -> &Readiness {
        &self.spec.ready
    }

    /// Returns the bound on readiness.
    pub fn ready_timeout(&self) -> Duration {
        self.spec.ready_timeout
    }

    /// Returns the running program, if any.
    pub fn program(&self) -> Option<&Program> {
        self.program.as_ref().filter(|p| p.exit().is_none())
    }

    /// Starts the program (if it is not running); readiness is the caller's wait.
    pub async fn start(&mut self) -> Result<(), ServerError> {
        if self.program().is_some() {
            return Ok(());
        }
        let mut launch = self.vars.launch(&self.spec.program, false);
        launch.inherit = self.spec.output == OutputMode::Inherit;
        self.emitter
            .emit(ProgramEvent::Started {
                command: launch.argv[0].clone(),
            })
            .await?;
        let program = Program::start(&launch, self.emitter.clone())
            .map_err(|error| ServerError::Program(error.to_string()))?;
        self.program = Some(program);
        Ok(())
    }

    /// Reports that the program is ready.
    pub async fn ready(&self) -> Result<(), ServerError> {
        Ok(self.emitter.emit(ProgramEvent::Ready).await?)
    }

    /// Sends `signal` to the program's group; for a signal that ends
    /// programs, waits until it has exited.
    pub async fn kill(&mut self, signal: Signal) -> Result<Option<Exit>, ServerError> {
        let Some(program) = self.program.as_mut().filter(|p| p.exit().is_none()) else {
            return Ok(None);
        };
        self.emitter
            .emit(ProgramEvent::Signalled {
                signal: signal_name(signal),
            })
            .await?;
        program
            .signal(signal)
            .map_err(|error| ServerError::Program(error.to_string()))?;
        if matches!(
            signal,
            Signal::SIGSTOP | Signal::SIGCONT | Signal::SIGUSR1 | Signal::SIGUSR2 | Signal::SIGHUP
        ) {
            return Ok(None);
        }
        Ok(program.wait(KILL_WAIT).await)
    }

    /// Stops the program: SIGTERM, then SIGKILL after the grace period.
    pub async fn stop(&mut self) -> Result<Option<Exit>, ServerError> {
        let Some(program) = self.program.as_mut().filter(|p| p.exit().is_none()) else {
            return Ok(None);
        };
        self.emitter
            .emit(ProgramEvent::Signalled {
                signal: "TERM".into(),
            })
            .await?;
        program
            .signal(Signal::SIGTERM)
            .map_err(|error| ServerError::Program(error.to_string()))?;
        if let Some(exit) = program.wait(self.spec.stop_timeout).await {
            return Ok(Some(exit));
        }
        self.kill(Signal::SIGKILL).await
    }
}
