//! Starts programs in their own process groups, reports their output and exit, and makes sure none outlives tcprun.
//!
//! Every group tcprun starts is registered until it is reaped. Dropping a
//! [`Program`] kills its group; [`kill_all`] kills every registered group and
//! is called on SIGINT, SIGTERM and panics, so no process survives tcprun.
//! For the one way out tcprun cannot act on, SIGKILL, each program runs
//! under a [`supervise`] process that kills its group when tcprun dies.

mod group;
pub mod supervise;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use nix::sys::signal::Signal;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin};
use tokio::sync::watch;

pub use crate::event::Exit;
use crate::event::{Emitter, Pipe, ProgramEvent};
pub use group::{Group, kill_all, live_groups};

/// Describes a program to start.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The program and its arguments (already substituted).
    pub argv: Vec<String>,
    /// Variables added to the environment.
    pub env: Vec<(String, String)>,
    /// The working folder.
    pub cwd: Option<PathBuf>,
    /// Give the program a stdin pipe (else /dev/null).
    pub stdin: bool,
    /// Also copy its output to tcprun's own stdout and stderr.
    pub inherit: bool,
}

/// Reports a program that could not be started or signalled.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The program could not be started.
    #[error("cannot start `{program}`: {source}")]
    Spawn {
        /// The program name.
        program: String,
        /// Why.
        source: std::io::Error,
    },
    /// The signal could not be sent.
    #[error("cannot send SIG{signal} to `{program}`: {source}")]
    Signal {
        /// The program name.
        program: String,
        /// The signal's name.
        signal: String,
        /// Why.
        source: nix::Error,
    },
}

/// The `tcprun` executable that supervises programs, once [`supervise_with`] named it.
static SUPERVISOR: OnceLock<PathBuf> = OnceLock::new();

/// Has every program started from now on run under a supervisor (see
/// [`supervise`]): `exe` is the `tcprun` executable. Without one, a program
/// outlives tcprun if tcprun is killed by SIGKILL.
pub fn supervise_with(exe: PathBuf) {
    let _ = SUPERVISOR.set(exe);
}

/// Finds the program as the supervisor's `execvp` will, so that a missing
/// program fails to start here, with the error users expect.
fn locate(launch: &Launch) -> Result<(), ProcessError> {
    let name = launch.argv.first().cloned().unwrap_or_default();
    let path = launch
        .env
        .iter()
        .rev()
        .find(|(key, _)| key == "PATH")
        .map(|(_, value)| OsString::from(value))
        .or_else(|| std::env::var_os("PATH"));
    let cwd = match &launch.cwd {
        Some(cwd) => cwd.clone(),
        None => std::env::current_dir().unwrap_or_default(),
    };
    match which::which_in(&name, path, cwd) {
        Ok(_) => Ok(()),
        Err(_) => Err(ProcessError::Spawn {
            program: name,
            source: nix::errno::Errno::ENOENT.into(),
        }),
    }
}

/// Holds a running program: its group, its stdin, and its exit once known.
#[derive(Debug)]
pub struct Program {
    name: String,
    group: Group,
    stdin: Option<ChildStdin>,
    exit: watch::Receiver<Option<Exit>>,
}

impl Program {
    /// Starts `launch` in a new process group. Its stdout and stderr are
    /// reported as [`ProgramEvent::Output`] events and its end as [`ProgramEvent::Exited`].
    pub fn start(launch: &Launch, emitter: Emitter) -> Result<Self, ProcessError> {
        let name = launch.argv.first().cloned().unwrap_or_default();
        let mut command = match SUPERVISOR.get() {
            Some(exe) => {
                locate(launch)?;
                let mut command = tokio::process::Command::new(exe);
                command.args(supervise::args(&launch.argv));
                command
            }
            None => {
                let mut command = tokio::process::Command::new(&name);
                command.args(&launch.argv[1..]);
                command
            }
        };
        command
            .envs(launch.env.iter().map(|(k, v)| (k, v)))
            .stdin(if launch.stdin {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        if let Some(cwd) = &launch.cwd {
            command.current_dir(cwd);
        }
        let mut child = command.spawn().map_err(|source| ProcessError::Spawn {
            program: name.clone(),
            source,
        })?;
        // A child just spawned has an id; 0 would make `killpg` hit tcprun's own group.
        let Some(pid) = child.id().filter(|&pid| pid > 0) else {
            return Err(ProcessError::Spawn {
                program: name,
                source: std::io::Error::other("the child has no process id"),
            });
        };
        let group = Group::register(pid as i32);
        let stdin = child.stdin.take();
        let inherit = launch.inherit;
        let pumps = [
            (child
                .stdout
                .take()
                .map(|out| pump(out, Pipe::Stdout, emitter.clone(), inherit))),
            (child
                .stderr
                .take()
                .map(|err| pump(err, Pipe::Stderr, emitter.clone(), inherit))),
        ];
        let (exit_tx, exit) = watch::channel(None);
        tokio::spawn(reap(child, pumps, emitter, exit_tx));
        Ok(Self {
            name,
            group,
            stdin,
            exit,
        })
    }

    /// Returns the program's name (`argv[0]`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Returns its process group's id: the pid of the group's leader, its
    /// supervisor (or the program itself when there is none).
    pub fn group(&self) -> i32 {
        self.group.id()
    }

    /// Returns how it ended, once it has.
    pub fn exit(&self) -> Option<Exit> {
        self.exit.borrow().clone()
    }

    /// Sends `signal` to the whole process group.
    pub fn signal(&self, signal: Signal) -> Result<(), ProcessError> {
        self.group
            .signal(signal)
            .map_err(|source| ProcessError::Signal {
                program: self.name.clone(),
                signal: signal_name(signal),
                source,
            })
    }

    /// Waits until the program has exited (and its output is reported), at most `limit`.
    pub async fn wait(&mut self, limit: Duration) -> Option<Exit> {
        let mut exit = self.exit.clone();
        let waited = tokio::time::timeout(limit, exit.wait_for(Option::is_some)).await;
        match waited {
            Ok(Ok(exit)) => exit.clone(),
            _ => self.exit(),
        }
    }

    /// Writes to the program's stdin; false when it is closed.
    pub async fn write(&mut self, data: &[u8]) -> bool {
        match &mut self.stdin {
            Some(stdin) => stdin.write_all(data).await.is_ok() && stdin.flush().await.is_ok(),
            None => false,
        }
    }

    /// Closes the program's stdin (it sees end of file).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }
}

/// Returns a signal's name without the `SIG` prefix.
pub fn signal_name(signal: Signal) -> String {
    signal.as_str().trim_start_matches("SIG").to_owned()
}

/// Parses a signal name such as `TERM` or `SIGKILL`.
pub fn parse_signal(name: &str) -> Option<Signal> {
    let upper = name.to_ascii_uppercase();
    let full = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    full.parse().ok()
}

/// Reports one output pipe until it closes (and copies it to tcprun's own
/// stream of the same name when `inherit` is set).
fn pump(
    mut reader: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    pipe: Pipe,
    emitter: Emitter,
    inherit: bool,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if inherit {
                        use std::io::Write as _;
                        let _ = match pipe {
                            Pipe::Stderr => std::io::stderr().write_all(&buf[..n]),
                            _ => std::io::stdout().write_all(&buf[..n]),
                        };
                    }
                    let data = Bytes::copy_from_slice(&buf[..n]);
                    if emitter
                        .emit(ProgramEvent::Output { pipe, data })
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
    })
}

/// Waits for the program to end, then for its output, then reports the exit.
async fn reap(
    mut child: Child,
    pumps: [Option<tokio::task::JoinHandle<()>>; 2],
    emitter: Emitter,
    exit_tx: watch::Sender<Option<Exit>>,
) {
    use std::os::unix::process::ExitStatusExt;
    let status = child.wait().await;
    // Output still in the pipes comes first; a grandchild holding them open
    // must not keep us waiting: one deadline for both pipes, and what is
    // still pumping then is stopped, so no output is reported after the exit.
    let deadline = tokio::time::Instant::now() + Duration::from_millis(500);
    for pump in pumps.into_iter().flatten() {
        let abort = pump.abort_handle();
        if tokio::time::timeout_at(deadline, pump).await.is_err() {
            abort.abort();
        }
    }
    let exit = match status {
        Ok(status) => match (status.code(), status.signal()) {
            (Some(code), _) => Exit::Code(code),
            (None, Some(signal)) => Exit::Signal(
                Signal::try_from(signal)
                    .map(signal_name)
                    .unwrap_or_else(|_| signal.to_string()),
            ),
            (None, None) => Exit::Code(-1),
        },
        Err(_) => Exit::Code(-1),
    };
    let _ = emitter
        .emit(ProgramEvent::Exited { exit: exit.clone() })
        .await;
    let _ = exit_tx.send(Some(exit));
}
