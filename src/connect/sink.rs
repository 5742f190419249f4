//! Writes status lines to stderr from a thread of its own, through a bounded queue, so that a stderr nobody reads never stalls the work.

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Bounds the status lines waiting for stderr.
const QUEUE: usize = 256;

/// Bounds how long the end waits for a stderr that does not take the last
/// lines (its reader may be gone, or never have been there).
pub const GRACE: Duration = Duration::from_secs(2);

/// Says what happens to a line when the queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    /// The sender waits (`tcprun connect`: a slow reader of its events slows
    /// it down, and loses none) — until `stopping` is cancelled: from then on
    /// lines are dropped and counted, so that the end never waits on stderr.
    Wait,
    /// The line is dropped and counted (`tcprun serve`: serving never waits
    /// on its log).
    Drop,
}

/// Holds what goes to the stderr thread.
#[derive(Debug)]
enum Message {
    Line(String),
    /// Write what came before, then stop.
    End,
}

/// Queues status lines for the stderr thread.
#[derive(Debug, Clone)]
pub struct StatusSink {
    tx: mpsc::Sender<Message>,
    dropped: Arc<AtomicU64>,
    overflow: Overflow,
    stopping: CancellationToken,
}

/// Ends the stderr thread.
#[derive(Debug)]
pub struct SinkThread {
    tx: mpsc::Sender<Message>,
    done: tokio::sync::oneshot::Receiver<()>,
}

impl StatusSink {
    /// Starts the stderr thread. `note` words the line that counts dropped
    /// lines, said as soon as stderr takes lines again (and at the end).
    pub fn start(
        overflow: Overflow,
        stopping: CancellationToken,
        note: Box<dyn Fn(u64) -> String + Send>,
    ) -> (Self, SinkThread) {
        let (tx, mut rx) = mpsc::channel::<Message>(QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        let (done_tx, done) = tokio::sync::oneshot::channel();
        let counted = dropped.clone();
        thread::spawn(move || {
            let mut stderr = std::io::stderr().lock();
            let say_dropped = |stderr: &mut std::io::StderrLock<'_>| {
                let n = counted.swap(0, Ordering::Relaxed);
                n == 0 || writeln!(stderr, "{}", note(n)).is_ok()
            };
            while let Some(Message::Line(line)) = rx.blocking_recv() {
                if !say_dropped(&mut stderr) || writeln!(stderr, "{line}").is_err() {
                    break;
                }
            }
            say_dropped(&mut stderr);
            let _ = done_tx.send(());
        });
        let sink = Self {
            tx: tx.clone(),
            dropped,
            overflow,
            stopping,
        };
        (sink, SinkThread { tx, done })
    }

    /// Queues `line`; with [`Overflow::Wait`], waits while the queue is
    /// full (until stopping).
    pub async fn line(&self, line: String) {
        if self.overflow == Overflow::Drop || self.stopping.is_cancelled() {
            return self.try_line(line);
        }
        tokio::select! {
            biased;
            sent = self.tx.send(Message::Line(line)) => {
                if sent.is_err() {
                    self.count_dropped();
                }
            }
            () = self.stopping.cancelled() => self.count_dropped(),
        }
    }

    /// Queues `line` from a thread outside the runtime (stdin's reader).
    pub fn blocking_line(&self, line: String) {
        if self.overflow == Overflow::Drop || self.stopping.is_cancelled() {
            return self.try_line(line);
        }
        if self.tx.blocking_send(Message::Line(line)).is_err() {
            self.count_dropped();
        }
    }

    /// Queues `line` if there is room; otherwise drops and counts it.
    pub fn try_line(&self, line: String) {
        if self.tx.try_send(Message::Line(line)).is_err() {
            self.count_dropped();
        }
    }

    fn count_dropped(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }
}

impl SinkThread {
    /// Ends the thread once it wrote what was queued before: waits at most
    /// `bound`, or for as long as stderr takes without one.
    pub async fn finish(self, bound: Option<Duration>) {
        let end = async {
            if self.tx.send(Message::End).await.is_ok() {
                let _ = self.done.await;
            }
        };
        match bound {
            Some(bound) => {
                let _ = tokio::time::timeout(bound, end).await;
            }
            None => end.await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_waiting() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let stopping = CancellationToken::new();
        let (tx, _rx) = mpsc::channel(1);
        let sink = StatusSink {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
            overflow: Overflow::Drop,
            stopping: stopping.clone(),
        };
        runtime.block_on(async {
            for n in 0..3 {
                sink.line(format!("line {n}")).await;
            }
        });
        assert_eq!(sink.dropped.load(Ordering::Relaxed), 2);
        // Waiting sinks stop waiting once stopping.
        let waiting = StatusSink {
            overflow: Overflow::Wait,
            ..sink.clone()
        };
        stopping.cancel();
        runtime.block_on(waiting.line("late".into()));
        assert_eq!(sink.dropped.load(Ordering::Relaxed), 3);
    }
}
