//! Runs a set of scenario files: finds and validates them all, selects, runs them in parallel, reports in order, sums up.

mod pool;
mod progress;
mod repeat;
mod shard;

pub use shard::Durations;

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::cli::RunArgs;
use crate::golden;
use crate::outcome::{Finished, Outcome, Problem, Runs, ScenarioResult};
use crate::report::human;
use crate::scenario::{self, LoadError, Scenario};
use crate::vars::Given;

/// Counts the results of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Scenarios that passed.
    pub passed: usize,
    /// Scenarios that failed.
    pub failed: usize,
    /// Scenarios not run (after a failure with `--fail-fast`).
    pub skipped: usize,
    /// Reports (`--junit`, `--json`) that could not be written.
    pub unwritten: usize,
}

/// Finds and loads every scenario below `paths`; all problems are reported together.
///
/// `given` holds the values a run gives (`--var`, `--secret`): every
/// `${name}` a step uses must have one, be set in the environment, or be
/// captured by an earlier step.
pub fn load_all(paths: &[PathBuf], given: &Given) -> Result<Vec<Scenario>, Vec<LoadError>> {
    let files = scenario::discover(paths).map_err(|error| vec![error])?;
    let mut scenarios = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        match scenario::load_file_given(&file, given) {
            Ok(scenario) => scenarios.push(scenario),
            Err(error) => errors.push(error),
        }
    }
    if errors.is_empty() {
        Ok(scenarios)
    } else {
        Err(errors)
    }
}

/// Keeps the scenarios `--filter` and `--shard` select, in order: shard K
/// of N balanced by file count, or by `durations` (`--durations`).
pub fn select(
    scenarios: Vec<Scenario>,
    args: &RunArgs,
    durations: Option<&Durations>,
) -> Vec<Scenario> {
    let filtered: Vec<Scenario> = scenarios
        .into_iter()
        .filter(|scenario| {
            let path = scenario.path.display().to_string();
            args.filter.is_empty()
                || args.filter.iter().any(|pattern| {
                    scenario.name.contains(pattern.as_str()) || path.contains(pattern.as_str())
                })
        })
        .collect();
    let Some((k, n)) = args.shard else {
        return filtered;
    };
    let paths: Vec<&std::path::Path> = filtered.iter().map(|s| s.path.as_path()).collect();
    let shard_of = shard::assign(&shard::weights(&paths, durations), n);
    filtered
        .into_iter()
        .zip(shard_of)
        .filter(|(_, shard)| *shard + 1 == k)
        .map(|(scenario, _)| scenario)
        .collect()
}

/// Prints the selected scenarios, one `path: name` line each.
pub fn list(scenarios: &[Scenario]) {
    for scenario in scenarios {
        say(&format!("{}: {}\n", scenario.path.display(), scenario.name));
    }
}

/// Runs `scenarios` on `--jobs` workers, writing each report whole and in
/// order to stdout, then the JUnit and JSON files asked for.
pub async fn run(scenarios: Vec<Scenario>, args: &RunArgs) -> Summary {
    let workers = args
        .jobs
        .map(usize::from)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .min(scenarios.len().max(1).saturating_mul(args.repeat as usize));
    let repeat = args.repeat as usize;
    let live = args.verbose && workers == 1 && repeat == 1;
    let units: Vec<Arc<Scenario>> = scenarios.into_iter().map(Arc::new).collect();
    let vars = Arc::new(Given::new(&args.var, &args.secret));
    let jobs = Arc::new(pool::Jobs::new(units.clone(), repeat, vars));
    let stop = Arc::new(AtomicBool::new(false));
    let (mut done, started) = pool::start(jobs, workers, stop.clone(), args.fail_fast, live);
    let mut rounds: Vec<Vec<Option<ScenarioResult>>> = units.iter().map(|_| Vec::new()).collect();
    let mut finished = Vec::new();
    let mut summary = Summary::default();
    let mut next = 0;
    let ci = golden::in_ci();
    while let Some((unit, result, ack)) = done.recv().await {
        rounds[unit].push(result);
        while next < units.len() && rounds[next].len() == repeat {
            let scenario = &units[next];
            let ran: Vec<ScenarioResult> = std::mem::take(&mut rounds[next])
                .into_iter()
                .flatten()
                .collect();
            next += 1;
            let Some(judged) = conclude(scenario, ran, args, ci, live) else {
                summary.skipped += 1;
                say(&human::skipped(&scenario.path, &scenario.name));
                finished.push(Finished::skipped(&scenario.path, &scenario.name));
                continue;
            };
            if judged.outcome().passed() {
                summary.passed += 1;
            } else {
                summary.failed += 1;
                if args.fail_fast {
                    stop.store(true, Ordering::SeqCst);
                }
            }
            finished.push(judged);
        }
        progress::show(next, units.len());
        // The worker may take its next job now that this one is judged.
        drop(ack);
    }
    // Scenarios no worker ran (no thread could start, or every worker's
    // runtime failed) are errors, not silent passes.
    for scenario in &units[next..] {
        let why = if started == 0 {
            "not run: tcprun could not start a worker thread"
        } else {
            "not run: every worker of the run stopped before it"
        };
        summary.failed += 1;
        let result = ScenarioResult {
            path: scenario.path.clone(),
            name: scenario.name.clone(),
            outcome: Outcome::Error(Problem::NotRun(why.to_owned())),
            transcript: Vec::new(),
            steps: Vec::new(),
            duration: std::time::Duration::ZERO,
        };
        let judged = Finished::new(result, None, None);
        say(&human::scenario(&judged));
        finished.push(judged);
    }
    progress::clear();
    summary.unwritten = write_reports(&finished, args);
    say(&format!(
        "{}\n",
        human::summary(summary.passed, summary.failed, summary.skipped)
    ));
    summary
}

/// Judges a scenario's runs (golden file, agreement of repeated runs),
/// prints its report, and returns it; `None` when it did not run at all.
fn conclude(
    scenario: &Scenario,
    ran: Vec<ScenarioResult>,
    args: &RunArgs,
    ci: bool,
    live: bool,
) -> Option<Finished> {
    let runs = ran.len();
    let failing = ran.iter().position(|r| !r.outcome.passed());
    let passed = ran.iter().filter(|r| r.outcome.passed()).count();
    let flaky = (runs > 1).then(|| {
        let transcripts: Vec<Vec<String>> = ran.iter().map(|r| r.transcript.clone()).collect();
        repeat::variants(&transcripts)
    });
    let result = ran.into_iter().nth(failing.unwrap_or(0))?;
    let golden = (scenario.snapshot || args.snapshot || args.update)
        .then(|| {
            result
                .outcome
                .passed()
                .then(|| golden::check(&scenario.path, &result.transcript, args.update, ci))
        })
        .flatten();
    let counted = flaky.as_ref().map(|variants| Runs {
        total: runs,
        passed,
        transcripts: variants.len(),
    });
    let flaky = flaky
        .filter(|variants| variants.len() > 1)
        .map(|variants| repeat::report(&variants, runs));
    if args.verbose && !live {
        say(&format!("RUN  {}\n", scenario.path.display()));
        for line in &result.transcript {
            say(&format!("  | {line}\n"));
        }
    }
    let mut finished = Finished::new(result, golden, flaky);
    finished.runs = counted;
    say(&human::scenario_with(&finished, !args.verbose));
    Some(finished)
}

/// Checks, before anything runs, that the `--junit` and `--json` files can
/// be written: their folder exists and the file can be opened for writing
/// (it is left as it was: an existing file is not truncated, a new one is
/// removed again). Returns the first problem, to be said as a usage error.
pub fn check_reports(args: &RunArgs) -> Result<(), String> {
    for (option, path) in [("--junit", &args.junit), ("--json", &args.json)] {
        let Some(path) = path else { continue };
        let existed = std::fs::symlink_metadata(path).is_ok();
        let opened = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path);
        match opened {
            Ok(_) if !existed => {
                let _ = std::fs::remove_file(path);
            }
            Ok(_) => {}
            Err(error) => {
                let reason = crate::scenario::sentence_case(&error.to_string());
                return Err(format!(
                    "cannot write the {option} report to {}: {reason}",
                    path.display()
                ));
            }
        }
    }
    Ok(())
}

/// Writes the `--junit` and `--json` reports; a file that cannot be written
/// is said on stderr. Returns how many could not be written.
fn write_reports(finished: &[Finished], args: &RunArgs) -> usize {
    let mut reports = Vec::new();
    if let Some(path) = &args.junit {
        reports.push((path, crate::report::junit::junit(finished, "tcprun")));
    }
    if let Some(path) = &args.json {
        let json = crate::report::json::json(finished);
        reports.push((path, format!("{json:#}\n")));
    }
    let mut unwritten = 0;
    for (path, text) in reports {
        if let Err(error) = std::fs::write(path, text) {
            let message = format!("cannot write {}: {error}", path.display());
            eprintln!("{}", crate::report::error(&message, None));
            unwritten += 1;
        }
    }
    unwritten
}

/// Writes report text to stdout, dropping colours when stdout is not a
/// terminal or `NO_COLOR` is set. A closed stdout (`| head`) is not an
/// error: the run goes on and its exit status still tells the result.
pub(crate) fn say(text: &str) {
    progress::clear();
    let mut out = anstream::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// Waits for SIGINT or SIGTERM and returns its name.
pub async fn interrupted() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => "SIGINT",
        _ = term.recv() => "SIGTERM",
    }
}
