//! Shows how far a long run is, on stderr, only when stderr is a terminal.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether a progress line is on screen now.
static SHOWN: AtomicBool = AtomicBool::new(false);

/// Shows `done/total` on one line of stderr (a terminal only; runs of
/// fewer than ten scenarios need none).
pub fn show(done: usize, total: usize) {
    let mut err = std::io::stderr();
    if total < 10 || done >= total || !err.is_terminal() {
        return;
    }
    let _ = write!(err, "\r\x1b[2K[{done}/{total}] running ...");
    let _ = err.flush();
    SHOWN.store(true, Ordering::SeqCst);
}

/// Removes the progress line, so that report text starts on a clean line.
pub fn clear() {
    if SHOWN.swap(false, Ordering::SeqCst) {
        let mut err = std::io::stderr();
        let _ = write!(err, "\r\x1b[2K");
        let _ = err.flush();
    }
}
