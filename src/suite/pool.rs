//! Runs scenario jobs on worker threads, each with its own single-threaded runtime, and hands back results.

use std::collections::VecDeque;

use crate::vars::Given;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use tokio::sync::{mpsc, oneshot};

use super::say;
use crate::outcome::ScenarioResult;
use crate::runner::{self, LineSink};
use crate::scenario::Scenario;

/// Names one run of one scenario.
#[derive(Debug, Clone)]
pub struct Job {
    /// The scenario's position in the run (report order).
    pub unit: usize,
    /// The scenario.
    pub scenario: Arc<Scenario>,
    /// The `--var` values.
    pub vars: Arc<Given>,
}

/// Carries a job's result (`None` when it was skipped after a failure), and,
/// with `fail_fast` or `live`, the acknowledgement the worker waits for
/// before it takes another job.
pub type Done = (usize, Option<ScenarioResult>, Option<oneshot::Sender<()>>);

/// Starts `workers` threads that take jobs in order until none are left.
/// After `stop` is set, remaining jobs come back as skipped; with
/// `fail_fast` a worker sets it itself as soon as a job fails. With
/// `fail_fast` or `live`, a worker then waits until its result is taken (and
/// judged, when its scenario is complete): a golden file that differs stops
/// the run before the next job, and a live transcript is never interleaved
/// with another scenario's report. `live` streams each transcript as it
/// happens (use it with one worker only).
pub fn start(
    jobs: Vec<Job>,
    workers: usize,
    stop: Arc<AtomicBool>,
    fail_fast: bool,
    live: bool,
) -> mpsc::Receiver<Done> {
    let count = jobs.len().max(1);
    let (tx, rx) = mpsc::channel(count);
    let queue = Arc::new(Mutex::new(VecDeque::from(jobs)));
    for _ in 0..workers.max(1) {
        let queue = queue.clone();
        let tx = tx.clone();
        let stop = stop.clone();
        thread::spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(error) => {
                    eprintln!("tcprun: cannot start a worker runtime: {error}");
                    return;
                }
            };
            loop {
                let job = match queue.lock() {
                    Ok(mut queue) => queue.pop_front(),
                    Err(_) => return,
                };
                let Some(job) = job else {
                    return;
                };
                let result = if stop.load(Ordering::SeqCst) {
                    None
                } else {
                    let sink = live.then(|| {
                        say(&format!("RUN  {}\n", job.scenario.path.display()));
                        Box::new(|line: &str| say(&format!("  | {line}\n"))) as LineSink
                    });
                    let result = runtime.block_on(runner::run(&job.scenario, sink, &job.vars));
                    if fail_fast && !result.outcome.passed() {
                        stop.store(true, Ordering::SeqCst);
                    }
                    Some(result)
                };
                let (ack, acked) = if fail_fast || live {
                    let (ack, acked) = oneshot::channel();
                    (Some(ack), Some(acked))
                } else {
                    (None, None)
                };
                if tx.blocking_send((job.unit, result, ack)).is_err() {
                    return;
                }
                if let Some(acked) = acked {
                    let _ = acked.blocking_recv();
                }
            }
        });
    }
    rx
}
