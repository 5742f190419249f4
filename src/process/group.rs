//! Tracks the process groups tcprun started, so that all of them can be killed at once.

use std::collections::BTreeSet;
use std::sync::Mutex;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// Lists the live process groups (by leader pid).
static GROUPS: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

/// Owns one process group: dropping it kills the whole group.
#[derive(Debug)]
pub struct Group {
    id: i32,
}

impl Group {
    /// Registers the group led by `pid` (a child started with `process_group(0)`).
    pub fn register(pid: i32) -> Self {
        if let Ok(mut groups) = GROUPS.lock() {
            groups.insert(pid);
        }
        Self { id: pid }
    }

    /// Returns the group id (the leader's pid).
    pub fn id(&self) -> i32 {
        self.id
    }

    /// Sends `signal` to every process of the group.
    pub fn signal(&self, signal: Signal) -> nix::Result<()> {
        match killpg(Pid::from_raw(self.id), signal) {
            Err(nix::errno::Errno::ESRCH) => Ok(()), // already gone
            other => other,
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        let _ = killpg(Pid::from_raw(self.id), Signal::SIGKILL);
        if let Ok(mut groups) = GROUPS.lock() {
            groups.remove(&self.id);
        }
    }
}

/// Kills every process group tcprun started and has not yet dropped.
/// Safe to call from a signal task or a panic hook.
pub fn kill_all() {
    let groups = match GROUPS.lock() {
        Ok(groups) => groups.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    };
    for id in groups {
        let _ = killpg(Pid::from_raw(id), Signal::SIGKILL);
    }
}

/// Returns the number of process groups still registered.
pub fn live_groups() -> usize {
    GROUPS.lock().map(|groups| groups.len()).unwrap_or(0)
}
