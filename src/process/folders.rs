//! Tracks the scenarios' own folders (`${tmp}`), so that every one of them
//! is removed on each way out tcprun controls: the end of its scenario, and
//! also Ctrl-C, SIGTERM and a panic, when no destructor runs.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Lists the folders not yet removed; `None` once [`remove_all`] ran, so
/// that a worker still running then creates no new one.
static FOLDERS: Mutex<Option<BTreeSet<PathBuf>>> = Mutex::new(Some(BTreeSet::new()));

/// Owns a scenario's own folder: created empty, removed with its contents
/// when dropped, or by [`remove_all`] first.
#[derive(Debug)]
pub struct TempFolder {
    dir: tempfile::TempDir,
}

impl TempFolder {
    /// Creates a fresh folder `tcprun-XXXXXX` in the system's temporary folder.
    pub fn new() -> std::io::Result<Self> {
        let mut folders = lock();
        let Some(folders) = folders.as_mut() else {
            return Err(std::io::Error::other("tcprun is ending"));
        };
        let dir = tempfile::Builder::new().prefix("tcprun-").tempdir()?;
        folders.insert(dir.path().to_path_buf());
        Ok(TempFolder { dir })
    }

    /// Returns the folder's path.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for TempFolder {
    fn drop(&mut self) {
        if let Some(folders) = lock().as_mut() {
            folders.remove(self.dir.path());
        }
        // The `TempDir` removes the folder itself.
    }
}

fn lock() -> std::sync::MutexGuard<'static, Option<BTreeSet<PathBuf>>> {
    FOLDERS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Removes every scenario folder not yet removed. For the ways out that run
/// no destructor (a signal, a panic); call it after [`super::kill_all`], so
/// that no program writes into a folder as it goes. Safe to call from a
/// signal task or a panic hook.
pub fn remove_all() {
    let mut folders = lock();
    for folder in folders.take().unwrap_or_default() {
        let _ = std::fs::remove_dir_all(folder);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_are_registered_until_dropped() {
        // `remove_all` is for the whole process: the CLI tests prove it
        // (tests/cli/processes.rs), here it would race other tests.
        let folder = TempFolder::new().unwrap();
        std::fs::write(folder.path().join("file"), "x").unwrap();
        let path = folder.path().to_owned();
        let registered = |path: &Path| lock().as_ref().is_some_and(|f| f.contains(path));
        assert!(registered(&path));
        drop(folder);
        assert!(!path.exists());
        assert!(!registered(&path));
    }
}
