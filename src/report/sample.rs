//! Builds sample results for the reports' tests.

use std::path::PathBuf;
use std::time::Duration;

use crate::golden::Golden;
use crate::outcome::{Finished, Outcome, ScenarioResult, StepRecord};

/// Returns a result of two steps (the second passed only if the scenario
/// passed) that took 1.5009 s.
pub fn result(path: &str, name: &str, outcome: Outcome, transcript: &[&str]) -> ScenarioResult {
    let passed = outcome.passed();
    ScenarioResult {
        path: PathBuf::from(path),
        name: name.into(),
        outcome,
        transcript: transcript.iter().map(|line| line.to_string()).collect(),
        steps: vec![
            StepRecord {
                line: 8,
                name: "wait_connected",
                duration: Duration::from_micros(1_250),
                passed: true,
            },
            StepRecord {
                line: 10,
                name: "expect",
                duration: Duration::from_micros(1_000_500),
                passed,
            },
        ],
        duration: Duration::from_micros(1_500_900),
    }
}

/// Returns `result` as the suite hands it to the reports, judged by `golden`.
pub fn finished(result: ScenarioResult, golden: Option<Golden>) -> Finished {
    Finished::new(result, golden, None)
}
