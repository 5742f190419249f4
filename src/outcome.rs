//! Says how each scenario ended — passed, failed, error, golden mismatch, flaky or skipped — as the runner and the suite judge it and every report reads it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::golden::Golden;

/// Describes a failed step: where it is, what it expected, what it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// 1-based line of the step (0: not tied to a step).
    pub line: usize,
    /// 1-based column of the step.
    pub col: usize,
    /// The step as written.
    pub step: String,
    /// What went wrong, in one sentence.
    pub message: String,
    /// What had arrived but did not match (its tail), if anything.
    pub received: Option<String>,
    /// What `received` is: unmatched output, output holding a match that
    /// must not be there, or a program's last output.
    pub received_as: Received,
}

/// Says what the received text of a failure is, for its label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Received {
    /// Output no step matched (`expect` waited for more).
    #[default]
    Unmatched,
    /// Output that matched a pattern it must not match (`expect_no`).
    Matching,
    /// A server program's last output lines.
    Output,
}

impl Received {
    /// Returns the label the reports put before the text.
    pub fn label(self) -> &'static str {
        match self {
            Received::Unmatched => "received but not matched (last part)",
            Received::Matching => "received, with the match (last part)",
            Received::Output => "its last output",
        }
    }
}

/// Counts the `--repeat` runs of one scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Runs {
    /// Runs made.
    pub total: usize,
    /// Runs whose steps passed.
    pub passed: usize,
    /// Distinct transcripts among them.
    pub transcripts: usize,
}

/// Says why a scenario ended in an error rather than in a verdict on its steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// It could not run (e.g. the port is taken): the runner's message.
    NotRun(String),
    /// Its golden file could not be read or written: the message.
    Golden(String),
}

/// Says how a transcript disagrees with its golden file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// The transcript differs: the golden file and a unified diff from it.
    Differs {
        /// The golden file.
        path: PathBuf,
        /// The diff, golden to actual.
        diff: String,
    },
    /// The golden file is missing and CI forbids creating it.
    Missing(PathBuf),
}

/// Says how a scenario ended. The runner says passed, failed or error;
/// the suite judges a passed run further by its golden file and repeats,
/// or says it was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every step passed, and its golden file and repeated runs agree.
    Passed,
    /// A step failed (or the scenario timed out during it).
    Failed(Failure),
    /// It could not run, or its golden file could not be read or written.
    Error(Problem),
    /// Its steps passed, but its transcript disagrees with its golden file.
    GoldenMismatch(Mismatch),
    /// Its steps passed, but `--repeat` runs gave different transcripts:
    /// the report of how they differ.
    Flaky(String),
    /// It did not run: `--fail-fast` stopped the run first.
    Skipped,
}

impl Outcome {
    /// Returns true for [`Outcome::Passed`].
    pub fn passed(&self) -> bool {
        matches!(self, Outcome::Passed)
    }

    /// Judges a run by its golden comparison, then by its repeats'
    /// disagreement (`flaky`): only a passed run can fail them.
    pub fn judged(self, golden: Option<&Golden>, flaky: Option<&str>) -> Outcome {
        if !self.passed() {
            return self;
        }
        match golden {
            Some(Golden::Failed(message)) => Outcome::Error(Problem::Golden(message.clone())),
            Some(Golden::Differs { path, diff }) => Outcome::GoldenMismatch(Mismatch::Differs {
                path: path.clone(),
                diff: diff.clone(),
            }),
            Some(Golden::Missing(path)) => Outcome::GoldenMismatch(Mismatch::Missing(path.clone())),
            Some(Golden::Same | Golden::Created(_) | Golden::Updated(_)) | None => match flaky {
                Some(report) => Outcome::Flaky(report.to_owned()),
                None => Outcome::Passed,
            },
        }
    }
}

/// Records one executed step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRecord {
    /// 1-based line of the step.
    pub line: usize,
    /// The step's name.
    pub name: &'static str,
    /// Wall-clock time it took.
    pub duration: Duration,
    /// Whether it passed.
    pub passed: bool,
}

/// Holds the result of one scenario run.
#[derive(Debug, Clone)]
pub struct ScenarioResult {
    /// The scenario's file.
    pub path: PathBuf,
    /// The scenario's name.
    pub name: String,
    /// How it ended.
    pub outcome: Outcome,
    /// The transcript, one line per event.
    pub transcript: Vec<String>,
    /// The executed steps, in order.
    pub steps: Vec<StepRecord>,
    /// Wall-clock time of the whole run.
    pub duration: Duration,
}

/// Holds one scenario of a run as the reports see it: its result, judged,
/// with the golden comparison and the repeats' report it was judged by.
#[derive(Debug, Clone)]
pub struct Finished {
    /// What the runner recorded (nothing, for a skipped scenario), with
    /// the outcome as judged.
    pub result: ScenarioResult,
    /// The golden-file comparison, when snapshots were on and the steps passed.
    pub golden: Option<Golden>,
    /// The report of `--repeat` runs whose transcripts disagreed.
    pub flaky: Option<String>,
    /// With `--repeat`: how the runs went (none for a single run).
    pub runs: Option<Runs>,
}

impl Finished {
    /// Judges `result` by its golden comparison and its repeats'
    /// disagreement (see [`Outcome::judged`]).
    pub fn new(mut result: ScenarioResult, golden: Option<Golden>, flaky: Option<String>) -> Self {
        result.outcome = result.outcome.judged(golden.as_ref(), flaky.as_deref());
        Self {
            result,
            golden,
            flaky,
            runs: None,
        }
    }

    /// Returns the entry of a scenario that did not run: no steps, no transcript.
    pub fn skipped(path: &Path, name: &str) -> Self {
        Self {
            result: ScenarioResult {
                path: path.to_owned(),
                name: name.to_owned(),
                outcome: Outcome::Skipped,
                transcript: Vec::new(),
                steps: Vec::new(),
                duration: Duration::ZERO,
            },
            golden: None,
            flaky: None,
            runs: None,
        }
    }

    /// Returns how it ended.
    pub fn outcome(&self) -> &Outcome {
        &self.result.outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed() -> Outcome {
        Outcome::Failed(Failure {
            line: 3,
            col: 5,
            step: "expect: hi".into(),
            message: "expected output matching /hi/ within 1s".into(),
            received: None,
            received_as: Received::Unmatched,
        })
    }

    #[test]
    fn the_golden_file_comes_before_the_repeats_and_both_only_after_the_steps() {
        let missing = Golden::Missing("a.transcript".into());
        let unreadable = Golden::Failed("cannot read a.transcript: denied".into());
        let report = "flaky: 2 distinct transcripts in 2 runs (1×, 1×)\n";
        let flaky = Some(report);
        assert_eq!(
            Outcome::Passed.judged(Some(&missing), flaky),
            Outcome::GoldenMismatch(Mismatch::Missing("a.transcript".into()))
        );
        assert_eq!(
            Outcome::Passed.judged(Some(&unreadable), flaky),
            Outcome::Error(Problem::Golden("cannot read a.transcript: denied".into()))
        );
        assert_eq!(
            Outcome::Passed.judged(Some(&Golden::Same), flaky),
            Outcome::Flaky(report.to_owned())
        );
        assert_eq!(
            Outcome::Passed.judged(Some(&Golden::Created("a.transcript".into())), None),
            Outcome::Passed
        );
        assert_eq!(failed().judged(None, flaky), failed());
        let not_run = Outcome::Error(Problem::NotRun("cannot start".into()));
        assert_eq!(not_run.clone().judged(None, flaky), not_run);
    }
}
