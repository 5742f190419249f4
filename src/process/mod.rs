//! Starts programs in their own process groups, reports their output and exit, and makes sure none outlives tcprun (nor any scenario's folder).
//!
//! Every group tcprun starts is registered until it is reaped. Dropping a
//! [`Program`] kills its group; [`kill_all`] kills every registered group and
//! is called on SIGINT, SIGTERM and panics, so no process survives tcprun.
//! For the one way out tcprun cannot act on, SIGKILL, each program runs
//! under a [`supervise`] process that kills its group when tcprun dies.

mod folders;
mod group;
pub mod supervise;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
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
pub use folders::{TempFolder, remove_all as remove_temp_folders};
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

/// Checks that `launch` can start, as the supervisor's `execvp` will look
/// for it, so that a program that cannot start fails here with the real
/// cause and the path: a working folder that is missing or not a folder, a
/// program that is missing, a folder, or not executable, or not on `PATH`.
fn locate(launch: &Launch) -> Result<(), ProcessError> {
    use std::io::{Error, ErrorKind};
    use std::os::unix::fs::PermissionsExt as _;
    let name = launch.argv.first().cloned().unwrap_or_default();
    let fail = |kind: ErrorKind, message: String| ProcessError::Spawn {
        program: name.clone(),
        source: Error::new(kind, message),
    };
    let cwd = match &launch.cwd {
        Some(cwd) => {
            match std::fs::metadata(cwd) {
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => {
                    let message = format!("the working folder {} is not a folder", cwd.display());
                    return Err(fail(ErrorKind::NotADirectory, message));
                }
                Err(error) => {
                    let message = format!(
                        "the working folder {} cannot be used: {}",
                        cwd.display(),
                        reason(&error)
                    );
                    return Err(fail(error.kind(), message));
                }
            }
            cwd.clone()
        }
        None => std::env::current_dir().unwrap_or_default(),
    };
    // A path (with a `/`) is taken as it is, from the working folder.
    if name.contains('/') {
        let path = cwd.join(&name);
        let shown = Path::new(&name);
        return match std::fs::metadata(&path) {
            Err(error) => {
                let message = format!("{}: {}", shown.display(), reason(&error));
                Err(fail(error.kind(), message))
            }
            Ok(meta) if meta.is_dir() => Err(fail(
                ErrorKind::IsADirectory,
                format!("{} is a folder, not a program", shown.display()),
            )),
            Ok(meta) if meta.permissions().mode() & 0o111 == 0 => Err(fail(
                ErrorKind::PermissionDenied,
                format!(
                    "{} is not executable (permission denied); `chmod +x` it",
                    shown.display()
                ),
            )),
            Ok(_) => Ok(()),
        };
    }
    let path = launch
        .env
        .iter()
        .rev()
        .find(|(key, _)| key == "PATH")
        .map(|(_, value)| OsString::from(value))
        .or_else(|| std::env::var_os("PATH"));
    if which::which_in(&name, path.clone(), &cwd).is_ok() {
        return Ok(());
    }
    // Not found as a program: say whether a file of that name is there but
    // cannot be run.
    let found = path
        .iter()
        .flat_map(std::env::split_paths)
        .map(|folder| cwd.join(folder).join(&name))
        .find(|candidate| candidate.is_file());
    Err(match found {
        Some(file) => fail(
            ErrorKind::PermissionDenied,
            format!(
                "{} is not executable (permission denied); `chmod +x` it",
                file.display()
            ),
        ),
        None => fail(ErrorKind::NotFound, format!("no program `{name}` on PATH")),
    })
}

/// Says why a file operation failed, in lowercase, without the OS's code.
fn reason(error: &std::io::Error) -> String {
    let text = error.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    crate::scenario::sentence_case(text)
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
        locate(launch)?;
        let mut command = match SUPERVISOR.get() {
            Some(exe) => {
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

#[cfg(test)]
mod locate_tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn launch(argv: &[&str], cwd: Option<&Path>) -> Launch {
        Launch {
            argv: argv.iter().map(|a| a.to_string()).collect(),
            env: Vec::new(),
            cwd: cwd.map(Path::to_path_buf),
            stdin: false,
            inherit: false,
        }
    }

    fn why(argv: &[&str], cwd: Option<&Path>) -> String {
        locate(&launch(argv, cwd))
            .expect_err("cannot start")
            .to_string()
    }

    #[test]
    fn names_the_real_cause_and_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        assert_eq!(
            why(&["sh"], Some(&missing)),
            format!(
                "cannot start `sh`: the working folder {} cannot be used: no such file or directory",
                missing.display()
            )
        );
        let file = dir.path().join("script.sh");
        std::fs::write(&file, "#!/bin/sh\n").unwrap();
        assert_eq!(
            why(&["sh"], Some(&file)),
            format!(
                "cannot start `sh`: the working folder {} is not a folder",
                file.display()
            )
        );
        assert_eq!(
            why(&["./script.sh"], Some(dir.path())),
            "cannot start `./script.sh`: ./script.sh is not executable (permission denied); `chmod +x` it"
        );
        assert_eq!(
            why(&["./nope.sh"], Some(dir.path())),
            "cannot start `./nope.sh`: ./nope.sh: no such file or directory"
        );
        let folder = dir.path().to_str().unwrap().to_owned();
        assert_eq!(
            why(&[folder.as_str()], None),
            format!("cannot start `{folder}`: {folder} is a folder, not a program")
        );
        assert_eq!(
            why(&["tcprun-no-such-program"], None),
            "cannot start `tcprun-no-such-program`: no program `tcprun-no-such-program` on PATH"
        );
        let mut on_path = launch(&["script.sh"], None);
        on_path.env.push(("PATH".into(), folder.clone()));
        assert_eq!(
            locate(&on_path).unwrap_err().to_string(),
            format!(
                "cannot start `script.sh`: {} is not executable (permission denied); `chmod +x` it",
                file.display()
            )
        );
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(locate(&launch(&["./script.sh"], Some(dir.path()))).is_ok());
        assert!(locate(&on_path).is_ok());
        assert!(locate(&launch(&["sh"], None)).is_ok());
    }
}
