//! Runs a set of scenario files: finds and validates them all, runs each, reports, sums up.

use std::io::Write as _;
use std::path::PathBuf;

use crate::cli::RunArgs;
use crate::golden;
use crate::report::human;
use crate::runner::{self, Verdict};
use crate::scenario::{self, LoadError, Scenario};

/// Holds one finished scenario run as the reports see it.
#[derive(Debug, Clone)]
pub struct Finished {
    /// What the runner recorded.
    pub result: runner::ScenarioResult,
    /// The golden-file comparison, when snapshots were on and the run passed.
    pub golden: Option<golden::Golden>,
    /// Whether it counts as passed (verdict and golden file both fine).
    pub passed: bool,
}

/// Counts the results of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Scenarios that passed.
    pub passed: usize,
    /// Scenarios that failed.
    pub failed: usize,
}

/// Finds and loads every scenario below `paths`; all problems are reported together.
pub fn load_all(paths: &[PathBuf]) -> Result<Vec<Scenario>, Vec<LoadError>> {
    let files = scenario::discover(paths).map_err(|error| vec![error])?;
    let mut scenarios = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        match scenario::load_file(&file) {
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

/// Runs `scenarios` in order, writing the report to stdout.
pub async fn run(scenarios: &[Scenario], args: &RunArgs) -> Summary {
    let mut summary = Summary::default();
    let ci = golden::in_ci();
    for scenario in scenarios {
        let live: Option<runner::LineSink> = args.verbose.then(|| {
            let name = scenario.path.display().to_string();
            say(&format!("RUN  {name}\n"));
            Box::new(|line: &str| say(&format!("  | {line}\n"))) as runner::LineSink
        });
        let result = runner::run(scenario, live).await;
        let golden = (scenario.snapshot || args.snapshot || args.update)
            .then(|| {
                (result.verdict == Verdict::Passed)
                    .then(|| golden::check(&scenario.path, &result.transcript, args.update, ci))
            })
            .flatten();
        let passed = result.verdict == Verdict::Passed && golden.as_ref().is_none_or(|g| g.is_ok());
        if passed {
            summary.passed += 1;
        } else {
            summary.failed += 1;
        }
        say(&human::scenario(&result, golden.as_ref()));
    }
    say(&format!(
        "{}\n",
        human::summary(summary.passed, summary.failed)
    ));
    summary
}

/// Writes report text to stdout. A closed stdout (`| head`) is not an
/// error: the run goes on and its exit status still tells the result.
fn say(text: &str) {
    let mut out = std::io::stdout().lock();
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
