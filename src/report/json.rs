//! Writes the JSON report: every scenario with its verdict, per-step timings and transcript.

use std::time::Duration;

use serde_json::{Value, json};

use crate::golden::{self, Golden};
use crate::outcome::{Finished, Outcome, Problem, ScenarioResult, StepRecord};

/// Versions the report's shape; bumped when a field changes meaning or goes away.
pub const VERSION: u32 = 1;

/// Returns the JSON report of a run: `{"version", "summary": {"passed",
/// "failed", "skipped", "duration_ms"}, "scenarios": [...]}`.
///
/// Each scenario has its `path`, `name`, `status` (`passed`, `failed`,
/// `error` or `skipped`), `duration_ms`, `steps` (`line`, `name`,
/// `duration_us`, `passed`), `failure`, `error`, `golden`, `flaky` (the
/// report of `--repeat` runs that disagreed), `runs` (with `--repeat`:
/// `total`, `passed`, `failed`, `transcripts`) and `transcript`; the keys are
/// always there, `null` when they do not apply. `failed` in the summary
/// counts errors too, as the `N passed, N failed` line does.
pub fn json(finished: &[Finished]) -> Value {
    let passed = finished.iter().filter(|one| one.outcome().passed()).count();
    let skipped = finished
        .iter()
        .filter(|one| *one.outcome() == Outcome::Skipped)
        .count();
    let duration: Duration = finished.iter().map(|one| one.result.duration).sum();
    json!({
        "version": VERSION,
        "summary": {
            "passed": passed,
            "failed": finished.len() - passed - skipped,
            "skipped": skipped,
            "duration_ms": millis(duration),
        },
        "scenarios": finished.iter().map(scenario).collect::<Vec<_>>(),
    })
}

fn scenario(finished: &Finished) -> Value {
    let result = &finished.result;
    let (failure, error) = match &result.outcome {
        Outcome::Failed(failure) => (
            json!({
                "line": failure.line,
                "col": failure.col,
                "step": failure.step,
                "message": failure.message,
                "received": failure.received,
            }),
            Value::Null,
        ),
        Outcome::Error(Problem::NotRun(message)) => (Value::Null, json!(message)),
        // A golden file's problem is under `golden`, a disagreement of repeats under `flaky`.
        Outcome::Passed
        | Outcome::Error(Problem::Golden(_))
        | Outcome::GoldenMismatch(_)
        | Outcome::Flaky(_)
        | Outcome::Skipped => (Value::Null, Value::Null),
    };
    json!({
        "path": result.path.display().to_string(),
        "name": result.name,
        "status": status(finished),
        "duration_ms": millis(result.duration),
        "steps": result.steps.iter().map(step).collect::<Vec<_>>(),
        "failure": failure,
        "error": error,
        "golden": finished.golden.as_ref().map_or(Value::Null, |g| compared(result, g)),
        "flaky": finished.flaky,
        "runs": finished.runs.map_or(Value::Null, |runs| json!({
            "total": runs.total,
            "passed": runs.passed,
            "failed": runs.total - runs.passed,
            "transcripts": runs.transcripts,
        })),
        "transcript": result.transcript,
    })
}

/// Names a scenario's outcome: `passed`; `skipped`; `error` when it could
/// not run or its golden file could not be read or written; `failed` for a
/// failed step, a golden mismatch and disagreeing repeats.
fn status(finished: &Finished) -> &'static str {
    match finished.outcome() {
        Outcome::Passed => "passed",
        Outcome::Skipped => "skipped",
        Outcome::Error(_) => "error",
        Outcome::Failed(_) | Outcome::GoldenMismatch(_) | Outcome::Flaky(_) => "failed",
    }
}

fn step(step: &StepRecord) -> Value {
    json!({
        "line": step.line,
        "name": step.name,
        "duration_us": micros(step.duration),
        "passed": step.passed,
    })
}

fn compared(result: &ScenarioResult, golden: &Golden) -> Value {
    let expected = golden::path_for(&result.path);
    let (status, path, diff, message) = match golden {
        Golden::Same => ("same", &expected, None, None),
        Golden::Created(path) => ("created", path, None, None),
        Golden::Updated(path) => ("updated", path, None, None),
        Golden::Missing(path) => ("missing", path, None, None),
        Golden::Differs { path, diff } => ("differs", path, Some(diff), None),
        Golden::Failed(message) => ("failed", &expected, None, Some(message)),
    };
    json!({
        "status": status,
        "path": path.display().to_string(),
        "diff": diff,
        "message": message,
    })
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::super::sample::{self, finished};
    use super::*;
    use crate::outcome::Failure;

    fn result(path: &str, outcome: Outcome, transcript: &[&str]) -> ScenarioResult {
        sample::result(path, &format!("{path} runs"), outcome, transcript)
    }

    #[test]
    fn any_character_a_peer_sends_reads_back_as_sent() {
        let line = "client < \"\u{fffe}\u{ffff}\u{0}\u{1b}\u{10ffff}\"";
        let one = result("odd.yaml", Outcome::Passed, &[line]);
        let text = format!("{:#}", json(&[finished(one, None)]));
        let back: Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(back["scenarios"][0]["transcript"][0], line);
    }

    fn run() -> Vec<Finished> {
        let passed = result("echo.yaml", Outcome::Passed, &["client: connected"]);
        let failed = result(
            "mismatch.yaml",
            Outcome::Failed(Failure {
                line: 10,
                col: 5,
                step: "expect: goodbye".into(),
                message: "expected output containing \"goodbye\" within 1s".into(),
                received: Some("hello\n".into()),
                received_as: crate::outcome::Received::Unmatched,
            }),
            &["client: connected", "client < \"hello\\n\""],
        );
        let mut error = result(
            "taken.yaml",
            Outcome::Error(Problem::NotRun(
                "cannot start the fake server: address in use".into(),
            )),
            &[],
        );
        error.steps.clear();
        error.duration = Duration::from_millis(2);
        let differs = result("golden.yaml", Outcome::Passed, &["alice: closed"]);
        let flaky = Finished::new(
            result("flaky.yaml", Outcome::Passed, &["a"]),
            None,
            Some("flaky: 2 distinct transcripts in 3 runs (2×, 1×)\n".into()),
        );
        vec![
            finished(passed, Some(Golden::Same)),
            finished(failed, None),
            finished(error, None),
            finished(
                differs,
                Some(Golden::Differs {
                    path: PathBuf::from("golden.transcript"),
                    diff: "-alice: connected\n+alice: closed\n".into(),
                }),
            ),
            flaky,
            Finished::skipped(Path::new("later.yaml"), "later"),
        ]
    }

    #[test]
    fn sums_up_the_run() {
        let report = json(&run());
        assert_eq!(report["version"], 1);
        assert_eq!(
            report["summary"],
            json!({"passed": 1, "failed": 4, "skipped": 1, "duration_ms": 6_005})
        );
        let statuses: Vec<&Value> = report["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| &s["status"])
            .collect();
        assert_eq!(
            statuses,
            ["passed", "failed", "error", "failed", "failed", "skipped"]
        );
        assert_eq!(
            report["scenarios"][4]["flaky"],
            "flaky: 2 distinct transcripts in 3 runs (2×, 1×)\n"
        );
        assert_eq!(report["scenarios"][5]["transcript"], json!([]));
    }

    #[test]
    fn gives_every_field_of_a_passed_scenario() {
        let report = json(&run());
        assert_eq!(
            report["scenarios"][0],
            json!({
                "path": "echo.yaml",
                "name": "echo.yaml runs",
                "status": "passed",
                "duration_ms": 1_500,
                "steps": [
                    {"line": 8, "name": "wait_connected", "duration_us": 1_250, "passed": true},
                    {"line": 10, "name": "expect", "duration_us": 1_000_500, "passed": true},
                ],
                "failure": null,
                "error": null,
                "golden": {"status": "same", "path": "echo.transcript", "diff": null, "message": null},
                "flaky": null,
                "runs": null,
                "transcript": ["client: connected"],
            })
        );
    }

    #[test]
    fn gives_the_failure_error_and_golden_diff() {
        let report = json(&run());
        let [_, failed, error, differs, ..] = report["scenarios"].as_array().unwrap().as_slice()
        else {
            panic!("expected at least four scenarios");
        };
        assert_eq!(
            failed["failure"],
            json!({
                "line": 10,
                "col": 5,
                "step": "expect: goodbye",
                "message": "expected output containing \"goodbye\" within 1s",
                "received": "hello\n",
            })
        );
        assert_eq!(failed["error"], Value::Null);
        assert_eq!(failed["golden"], Value::Null);
        assert_eq!(failed["steps"][1]["passed"], false);
        assert_eq!(
            failed["transcript"],
            json!(["client: connected", "client < \"hello\\n\""])
        );

        assert_eq!(error["status"], "error");
        assert_eq!(
            error["error"],
            "cannot start the fake server: address in use"
        );
        assert_eq!(error["failure"], Value::Null);
        assert_eq!(error["steps"], json!([]));
        assert_eq!(error["transcript"], json!([]));
        assert_eq!(error["duration_ms"], 2);

        assert_eq!(differs["status"], "failed");
        assert_eq!(differs["failure"], Value::Null);
        assert_eq!(
            differs["golden"],
            json!({
                "status": "differs",
                "path": "golden.transcript",
                "diff": "-alice: connected\n+alice: closed\n",
                "message": null,
            })
        );
    }

    #[test]
    fn names_every_golden_outcome() {
        let cases = [
            (Golden::Created("a.transcript".into()), "created", "failed"),
            (Golden::Updated("a.transcript".into()), "updated", "failed"),
            (Golden::Missing("a.transcript".into()), "missing", "failed"),
            (
                Golden::Failed("cannot read a.transcript: denied".into()),
                "failed",
                "error",
            ),
        ];
        for (golden, named, status) in cases {
            let ok = golden.is_ok();
            let report = json(&[finished(
                result("a.yaml", Outcome::Passed, &[]),
                Some(golden),
            )]);
            let scenario = &report["scenarios"][0];
            assert_eq!(scenario["golden"]["status"], named);
            assert_eq!(scenario["golden"]["path"], "a.transcript");
            assert_eq!(scenario["status"], if ok { "passed" } else { status });
        }
        let report = json(&[finished(
            result("a.yaml", Outcome::Passed, &[]),
            Some(Golden::Failed("cannot read a.transcript: denied".into())),
        )]);
        assert_eq!(
            report["scenarios"][0]["golden"]["message"],
            "cannot read a.transcript: denied"
        );
    }

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(serde_json::to_string_pretty(&json(&run())).unwrap());
    }
}
