//! Supervises one program from inside its process group, so the whole group ends when tcprun does, even by SIGKILL.
//!
//! tcprun starts `tcprun __supervise PARENT -- PROGRAM ARGS...` as the leader
//! of a new process group. The supervisor starts the program in the same
//! group, asks the kernel for a signal when tcprun dies (the parent-death
//! signal), and waits. When the program ends, the supervisor ends the same
//! way (its exit code, or its signal), so tcprun sees the program's status.
//! When tcprun is gone while the program runs, however tcprun ended, the
//! supervisor kills the whole group: the program and everything it started
//! that stayed in the group. Once the program has ended the supervisor is
//! gone too, and what the program left in the group is tcprun's to kill
//! (it kills every group it started when it ends, short of SIGKILL).
//! Signals tcprun sends to the group reach the program directly; the
//! supervisor lets them pass.

use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::process::ExitCode;

use nix::spawn::{PosixSpawnAttr, PosixSpawnFileActions, PosixSpawnFlags, posix_spawnp};
use nix::sys::signal::{SigSet, Signal, killpg, raise};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{Pid, getpgrp, getppid};

/// The first argument that makes `tcprun` a supervisor.
pub const ARG: &str = "__supervise";

/// Exit code when the program cannot be started (as shells use).
const CANNOT_START: u8 = 127;

/// Returns the arguments that make `tcprun` supervise `argv` for this process.
pub fn args(argv: &[String]) -> Vec<OsString> {
    let parent = std::process::id().to_string();
    [ARG, &parent, "--"]
        .into_iter()
        .map(OsString::from)
        .chain(argv.iter().map(OsString::from))
        .collect()
}

/// Runs the supervisor on the arguments after [`ARG`]; returns the status to end with.
pub fn main(args: &[OsString]) -> ExitCode {
    match supervise(args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("tcprun: {message}");
            ExitCode::from(CANNOT_START)
        }
    }
}

fn supervise(args: &[OsString]) -> Result<ExitCode, String> {
    let (parent, argv) = match args {
        [parent, dashes, argv @ ..] if dashes == "--" && !argv.is_empty() => (parent, argv),
        _ => {
            return Err(format!(
                "usage: tcprun {ARG} PARENT_PID -- PROGRAM [ARGS...]"
            ));
        }
    };
    let parent: i32 = parent
        .to_str()
        .and_then(|p| p.parse().ok())
        .ok_or("the parent pid is not a number")?;
    // Every signal waits for `sigwait` below: the program's end (SIGCHLD),
    // tcprun's death (SIGHUP, the parent-death signal) and signals sent to
    // the whole group. The program starts with an empty mask (see `spawn`).
    let all = SigSet::all();
    all.thread_block()
        .map_err(|e| format!("cannot block signals: {e}"))?;
    nix::sys::prctl::set_pdeathsig(Signal::SIGHUP)
        .map_err(|e| format!("cannot ask for the parent-death signal: {e}"))?;
    if getppid().as_raw() != parent {
        return Ok(ExitCode::FAILURE); // tcprun died before the signal was armed
    }
    let child =
        spawn(argv).map_err(|e| format!("cannot start `{}`: {e}", argv[0].to_string_lossy()))?;
    loop {
        let Ok(signal) = all.wait() else { continue };
        if signal == Signal::SIGCHLD {
            let ended = match waitpid(child, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(_, code)) => Ended::Code(code as u8),
                Ok(WaitStatus::Signaled(_, signal, _)) => Ended::Signal(signal),
                _ => continue,
            };
            // A program often ends *because* tcprun died (its stdin closed),
            // a moment before the parent-death signal arrives: then its
            // group goes too, rather than outliving tcprun.
            if dying(parent) {
                let _ = killpg(getpgrp(), Signal::SIGKILL);
            }
            return Ok(match ended {
                Ended::Code(code) => ExitCode::from(code),
                Ended::Signal(signal) => die_by(signal),
            });
        }
        if getppid().as_raw() != parent {
            // tcprun is gone: end the whole group, this process included.
            let _ = killpg(getpgrp(), Signal::SIGKILL);
        }
        // Otherwise the signal was sent to the group: the program has it too.
    }
}

/// Says how the program ended.
enum Ended {
    Code(u8),
    Signal(Signal),
}

/// Returns true once tcprun (`parent`) is gone or on its way out: it is no
/// longer our parent, or the kernel has marked it exiting (`PF_EXITING` in
/// `/proc/PID/stat`, set before its files are closed), or it is a zombie.
fn dying(parent: i32) -> bool {
    /// The kernel's flag for a task in `do_exit`.
    const PF_EXITING: u64 = 0x4;
    if getppid().as_raw() != parent {
        return true;
    }
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{parent}/stat")) else {
        return true;
    };
    // After the command name: state, ppid, pgrp, session, tty, tpgid, flags.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let zombie = matches!(fields.first(), Some(&("Z" | "X" | "x")));
    let exiting = fields
        .get(6)
        .and_then(|flags| flags.parse::<u64>().ok())
        .is_some_and(|flags| flags & PF_EXITING != 0);
    zombie || exiting
}

/// Starts the program (found on `PATH`) with this process's environment, an
/// empty signal mask and SIGPIPE back to its default, as a program expects.
fn spawn(argv: &[OsString]) -> Result<Pid, String> {
    let cstring = |s: &OsStr| {
        CString::new(s.as_bytes()).map_err(|_| "an argument contains a NUL byte".to_owned())
    };
    let args = argv
        .iter()
        .map(|arg| cstring(arg))
        .collect::<Result<Vec<_>, _>>()?;
    let env = std::env::vars_os()
        .map(|(key, value)| {
            let mut pair = key;
            pair.push("=");
            pair.push(value);
            cstring(&pair)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut attr = PosixSpawnAttr::init().map_err(|e| e.to_string())?;
    attr.set_sigmask(&SigSet::empty())
        .map_err(|e| e.to_string())?;
    let mut default = SigSet::empty();
    default.add(Signal::SIGPIPE);
    attr.set_sigdefault(&default).map_err(|e| e.to_string())?;
    attr.set_flags(
        PosixSpawnFlags::POSIX_SPAWN_SETSIGMASK | PosixSpawnFlags::POSIX_SPAWN_SETSIGDEF,
    )
    .map_err(|e| e.to_string())?;
    let actions = PosixSpawnFileActions::init().map_err(|e| e.to_string())?;
    posix_spawnp(&args[0], &actions, &attr, &args, &env).map_err(|e| e.desc().to_owned())
}

/// Ends this process by `signal`, as the program ended.
fn die_by(signal: Signal) -> ExitCode {
    let mut set = SigSet::empty();
    set.add(signal);
    let _ = set.thread_unblock();
    let _ = raise(signal);
    // A signal whose default is not to terminate: say it with a code.
    ExitCode::from(128u8.saturating_add(signal as u8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_parent_is_not_dying_and_a_stranger_does_not_count_as_parent() {
        let parent = getppid().as_raw();
        assert!(!dying(parent), "the test runner's parent is alive");
        assert!(dying(std::process::id() as i32), "not our parent");
    }

    #[test]
    fn the_arguments_name_this_process_as_the_parent() {
        let args = args(&["node".into(), "x.js".into()]);
        let pid = std::process::id().to_string();
        assert_eq!(args, [ARG, &pid, "--", "node", "x.js"]);
    }
}
