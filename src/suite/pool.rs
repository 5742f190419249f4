//! Runs scenario jobs on worker threads, each with its own single-threaded runtime, and hands back results.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::vars::Given;
use std::thread;

use tokio::sync::{mpsc, oneshot};

use super::say;
use crate::outcome::ScenarioResult;
use crate::runner::{self, LineSink, Live};
use crate::scenario::Scenario;

/// Holds the jobs of a run without making them up front: job `i` is run
/// `i % repeat` of scenario `i / repeat`, so `--repeat` costs no memory
/// before the runs do.
pub struct Jobs {
    /// The scenarios, in report order.
    pub units: Vec<Arc<Scenario>>,
    /// How many times each runs.
    pub repeat: usize,
    /// The `--var` values.
    pub vars: Arc<Given>,
    /// The next job to hand out.
    next: AtomicUsize,
}

impl Jobs {
    /// Describes `repeat` runs of each of `units`.
    pub fn new(units: Vec<Arc<Scenario>>, repeat: usize, vars: Arc<Given>) -> Self {
        Jobs {
            units,
            repeat: repeat.max(1),
            vars,
            next: AtomicUsize::new(0),
        }
    }

    /// Returns the number of jobs.
    pub fn len(&self) -> usize {
        self.units.len().saturating_mul(self.repeat)
    }

    /// Takes the next job: its scenario's position and the scenario.
    fn take(&self) -> Option<(usize, &Arc<Scenario>)> {
        let job = self.next.fetch_add(1, Ordering::SeqCst);
        let unit = job.checked_div(self.repeat)?;
        self.units.get(unit).map(|scenario| (unit, scenario))
    }
}

/// Carries a job's result (`None` when it was skipped after a failure), and,
/// with `fail_fast` or `live`, the acknowledgement the worker waits for
/// before it takes another job.
pub type Done = (usize, Option<ScenarioResult>, Option<oneshot::Sender<()>>);

/// Caps the results waiting to be judged; a worker with a result beyond it
/// waits.
const WAITING: usize = 1024;

/// Starts up to `workers` threads that take jobs in order until none are
/// left, and returns the results' receiver with the number of threads that
/// started: a thread the system refuses is said on stderr, and the others
/// do its share (none at all: the receiver ends at once, and the suite says
/// why its scenarios did not run). After `stop` is set, remaining jobs come
/// back as skipped; with `fail_fast` a worker sets it itself as soon as a
/// job fails. With `fail_fast` or `live`, a worker then waits until its
/// result is taken (and judged, when its scenario is complete): a golden
/// file that differs stops the run before the next job, and a live
/// transcript is never interleaved with another scenario's report. `live`
/// streams each transcript as it happens (use it with one worker only).
pub fn start(
    jobs: Arc<Jobs>,
    workers: usize,
    stop: Arc<AtomicBool>,
    fail_fast: bool,
    live: bool,
) -> (mpsc::Receiver<Done>, usize) {
    let (tx, rx) = mpsc::channel(jobs.len().clamp(1, WAITING));
    let mut started = 0;
    for index in 0..workers.max(1) {
        let jobs = jobs.clone();
        let tx = tx.clone();
        let stop = stop.clone();
        let spawned = thread::Builder::new()
            .name(format!("tcprun-worker-{index}"))
            .spawn(move || work(&jobs, &tx, &stop, fail_fast, live));
        match spawned {
            Ok(_) => started += 1,
            Err(error) => {
                eprintln!(
                    "tcprun: cannot start worker thread {} of {workers}: {error}; running on {started}",
                    index + 1
                );
                break;
            }
        }
    }
    (rx, started)
}

/// Runs jobs on this thread until none are left.
fn work(jobs: &Jobs, tx: &mpsc::Sender<Done>, stop: &AtomicBool, fail_fast: bool, live: bool) {
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
    while let Some((unit, scenario)) = jobs.take() {
        let result = if stop.load(Ordering::SeqCst) {
            None
        } else {
            let sink = live.then(|| {
                say(&format!("RUN  {}\n", scenario.path.display()));
                Box::new(|live: Live<'_>| say(&live_line(live))) as LineSink
            });
            let result = runtime.block_on(runner::run(scenario, sink, &jobs.vars));
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
        if tx.blocking_send((unit, result, ack)).is_err() {
            return;
        }
        if let Some(acked) = acked {
            let _ = acked.blocking_recv();
        }
    }
}

/// Returns what `-v` prints for `live`: a transcript line as `  | LINE`, a
/// step as a dim `  ── step 5 kill_server (FILE:12)`, which no transcript
/// holds.
fn live_line(live: Live<'_>) -> String {
    match live {
        Live::Line(line) => format!("  | {line}\n"),
        Live::Step {
            number,
            name,
            file,
            line,
        } => {
            let dim = anstyle::Style::new().dimmed();
            let marker = format!("── step {number} {name} ({}:{line})", file.display());
            format!("  {dim}{marker}{dim:#}\n")
        }
    }
}
