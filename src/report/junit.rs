//! Writes the JUnit XML report: one test suite, one test case per scenario, for CI test viewers.

use std::fmt::Write as _;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::outcome::{Failure, Finished, Mismatch, Outcome, Problem, ScenarioResult};

/// Caps the transcript lines quoted in a failure's text (the last ones);
/// `<system-out>` always holds the whole transcript.
const TRANSCRIPT_TAIL: usize = 30;

/// Returns the JUnit XML report of a run: one `<testsuite>` named
/// `suite_name` holding one `<testcase>` per scenario, in order.
///
/// A failed step, golden comparison or disagreement of `--repeat` runs is a
/// `<failure>`; a scenario that could not run, or whose golden file could
/// not be read or written, is an `<error>`; one `--fail-fast` did not start
/// is `<skipped>`. Each test case carries its file as `classname` and `file`, the
/// failing step's line as `line`, and its whole transcript as `<system-out>`
/// (text bodies end without a newline, so they read back as written).
/// No timestamps are written, so equal runs give equal reports.
pub fn junit(finished: &[Finished], suite_name: &str) -> String {
    let suite_name = xml_text(suite_name);
    let suite_name = suite_name.as_str();
    let mut suite = TestSuite::new(suite_name);
    let mut time = Duration::ZERO;
    for one in finished {
        time += one.result.duration;
        suite.add_test_case(test_case(one));
    }
    suite.set_time(time);
    let mut report = Report::new(suite_name);
    report.set_time(time);
    report.add_test_suite(suite);
    let xml = report
        .to_string()
        .expect("a JUnit report in memory always serializes");
    // Every text was escaped on its way in; this catches any other.
    if xml.chars().all(xml_char) {
        xml
    } else {
        escaped(&xml)
    }
}

/// Returns true for a character XML 1.0 allows in a document: tab, newline,
/// carriage return, and everything from U+0020 but U+FFFE and U+FFFF.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{fffd}' | '\u{10000}'..)
}

/// Returns `text` for the report with every character XML 1.0 forbids
/// (control characters, U+FFFE, U+FFFF: a peer can send any of them, and
/// they reach the report through transcripts and messages) replaced by its
/// escape, `\u{fffe}`. So is ESC, which the XML writer would otherwise drop
/// with the terminal sequence it starts: what a peer sent stays visible.
/// The writer escapes `<`, `&` and quotes itself.
fn xml_text(text: &str) -> String {
    if text.chars().all(|c| xml_char(c) && c != '\u{1b}') {
        text.to_owned()
    } else {
        escaped(text)
    }
}

fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if xml_char(c) && c != '\u{1b}' {
            out.push(c);
        } else {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
    out
}

fn test_case(finished: &Finished) -> TestCase {
    let result = &finished.result;
    let path = xml_text(&result.path.display().to_string());
    let mut case = TestCase::new(xml_text(&result.name), status(finished));
    case.set_classname(path.as_str())
        .set_time(result.duration)
        .set_system_out(xml_text(&result.transcript.join("\n")));
    case.extra.insert("file".into(), path.into());
    if let Outcome::Failed(failure) = &result.outcome
        && failure.line > 0
    {
        case.extra
            .insert("line".into(), failure.line.to_string().into());
    }
    case
}

/// Says how a test case ended, by the scenario's outcome.
fn status(finished: &Finished) -> TestCaseStatus {
    let result = &finished.result;
    let path = result.path.display();
    let (kind, message, ty, text) = match &result.outcome {
        Outcome::Passed => return TestCaseStatus::success(),
        Outcome::Skipped => {
            let mut status = TestCaseStatus::skipped();
            status.set_message("not run: --fail-fast stopped the run first");
            return status;
        }
        Outcome::Error(Problem::NotRun(message)) => {
            let mut text = format!("{path}: {message}\n");
            tail(&mut text, &result.transcript);
            (NonSuccessKind::Error, message.clone(), "error".into(), text)
        }
        Outcome::Failed(failure) => (
            NonSuccessKind::Failure,
            failure.message.clone(),
            step_name(failure, result),
            failed_step(result, failure),
        ),
        Outcome::GoldenMismatch(Mismatch::Differs { path: file, diff }) => {
            let message = format!("transcript differs from its golden file {}", file.display());
            let text = format!("{path}: {message} (run with --update to accept):\n{diff}");
            (NonSuccessKind::Failure, message, "golden".into(), text)
        }
        Outcome::GoldenMismatch(Mismatch::Missing(file)) => {
            let message = format!("golden transcript {} is missing", file.display());
            let mut text = format!(
                "{path}: {message} (CI is set, so it is not created; run with --update and commit it)\n"
            );
            tail(&mut text, &result.transcript);
            (NonSuccessKind::Failure, message, "golden".into(), text)
        }
        Outcome::Error(Problem::Golden(message)) => (
            NonSuccessKind::Error,
            message.clone(),
            "golden".into(),
            format!("{path}: {message}\n"),
        ),
        Outcome::Flaky(flaky) => {
            let message = first_line(flaky).to_owned();
            let text = format!("{path}: {flaky}");
            (NonSuccessKind::Failure, message, "flaky".into(), text)
        }
    };
    let mut status = TestCaseStatus::non_success(kind);
    status
        .set_message(xml_text(first_line(&message)))
        .set_type(xml_text(&ty))
        .set_description(xml_text(text.trim_end()));
    status
}

/// Returns the failure's text: the step as `path:line:col: step`, what it
/// expected, the unmatched tail, and the end of the transcript.
fn failed_step(result: &ScenarioResult, failure: &Failure) -> String {
    let mut out = result.path.display().to_string();
    if failure.line > 0 {
        let _ = write!(out, ":{}:{}", failure.line, failure.col);
    }
    if !failure.step.is_empty() {
        let _ = write!(out, ": {}", failure.step);
    }
    let _ = writeln!(out, "\n{}", failure.message);
    if let Some(received) = &failure.received {
        let label = failure.received_as.label();
        let _ = writeln!(out, "{label}: {received:?}");
    }
    tail(&mut out, &result.transcript);
    out
}

/// Returns the failing step's name: from its record, else from its text
/// (a step that timed out has no record), else `scenario`.
fn step_name(failure: &Failure, result: &ScenarioResult) -> String {
    let recorded = result
        .steps
        .iter()
        .rev()
        .find(|step| step.line == failure.line && !step.passed);
    if let Some(step) = recorded {
        return step.name.to_owned();
    }
    let written: String = failure
        .step
        .trim_start_matches(['{', ' ', '-'])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    if written.is_empty() {
        "scenario".to_owned()
    } else {
        written
    }
}

fn tail(out: &mut String, lines: &[String]) {
    if lines.is_empty() {
        return;
    }
    let skip = lines.len().saturating_sub(TRANSCRIPT_TAIL);
    if skip > 0 {
        let _ = writeln!(
            out,
            "transcript so far (last {TRANSCRIPT_TAIL} of {} lines):",
            lines.len()
        );
    } else {
        let _ = writeln!(out, "transcript so far:");
    }
    for line in &lines[skip..] {
        let _ = writeln!(out, "  | {line}");
    }
}

fn first_line(text: &str) -> &str {
    text.lines()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("")
        .trim()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use quick_junit::Report;

    use super::super::sample::{finished, result};
    use super::*;
    use crate::golden::Golden;

    /// Builds one run of each kind: passed, failed, error, golden differs.
    fn run() -> Vec<Finished> {
        let mut passed = result(
            "scenarios/echo.yaml",
            "echo answers",
            Outcome::Passed,
            &["client: connected", "client > \"hi\\n\""],
        );
        passed.duration = Duration::from_millis(250);
        let mut failed = result(
            "scenarios/mismatch.yaml",
            "expect sees other output",
            Outcome::Failed(Failure {
                line: 10,
                col: 5,
                step: "expect: {regex: \"^goodbye$\", timeout: 1s}".into(),
                message: "expected output matching /^goodbye$/ within 1s".into(),
                received: Some("hello <&>\n".into()),
                received_as: crate::outcome::Received::Unmatched,
            }),
            &["client: connected", "client < \"hello <&>\\n\""],
        );
        failed.duration = Duration::from_millis(1_500);
        let mut error = result(
            "scenarios/taken.yaml",
            "port taken",
            Outcome::Error(Problem::NotRun(
                "cannot start the fake server: address in use".into(),
            )),
            &[],
        );
        error.steps.clear();
        error.duration = Duration::from_millis(3);
        let mut differs = result(
            "scenarios/golden.yaml",
            "golden differs",
            Outcome::Passed,
            &["server: up", "alice: closed"],
        );
        differs.duration = Duration::from_millis(40);
        vec![
            finished(passed, None),
            finished(failed, None),
            finished(error, None),
            finished(
                differs,
                Some(Golden::Differs {
                    path: PathBuf::from("scenarios/golden.transcript"),
                    diff: "--- scenarios/golden.transcript (golden)\n+++ actual\n@@ -1,2 +1,2 @@\n server: up\n-alice: connected\n+alice: closed\n".into(),
                }),
            ),
        ]
    }

    fn description(status: &TestCaseStatus) -> (&str, &str, &str) {
        let TestCaseStatus::NonSuccess {
            message: Some(message),
            ty: Some(ty),
            description: Some(description),
            ..
        } = status
        else {
            panic!("expected a failure or error, got {status:?}");
        };
        (message.as_str(), ty.as_str(), description.as_str())
    }

    #[test]
    fn characters_xml_forbids_are_escaped_wherever_they_come_from() {
        let mut failed = result(
            "scenarios/\u{1}odd.yaml",
            "name \u{1b}[31m",
            Outcome::Failed(Failure {
                line: 10,
                col: 5,
                step: "expect: \"\u{0}\"".into(),
                message: "expected output matching /\u{fffe}/".into(),
                received: Some("\u{ffff}".into()),
                received_as: crate::outcome::Received::Unmatched,
            }),
            &["client < \"\u{fffe}\u{ffff}\u{7}\"", "and \u{10000}"],
        );
        failed.steps.clear();
        let xml = junit(&[finished(failed, None)], "tcprun \u{8}");
        let bad: Vec<char> = xml.chars().filter(|&c| !xml_char(c)).collect();
        assert!(bad.is_empty(), "{bad:?} in {xml}");
        let report = Report::deserialize_from_str(&xml).expect("the report parses");
        let case = &report.test_suites[0].test_cases[0];
        assert_eq!(case.name.as_str(), "name \\u{1b}[31m");
        assert_eq!(
            case.system_out.as_ref().map(|s| s.as_str()),
            Some("client < \"\\u{fffe}\\u{ffff}\\u{7}\"\nand \u{10000}")
        );
        assert!(
            xml.contains("expected output matching /\\u{fffe}/"),
            "{xml}"
        );
    }

    #[test]
    fn parses_back_with_the_right_counts_and_elements() {
        let xml = junit(&run(), "tcprun");
        let report = Report::deserialize_from_str(&xml).expect("the report parses");
        assert_eq!(report.name.as_ref().map(|n| n.as_str()), Some("tcprun"));
        assert_eq!(
            (report.tests, report.failures, report.errors),
            (4, 2, 1),
            "{xml}"
        );
        assert_eq!(report.time, Some(Duration::from_millis(1_793)));
        let [suite] = report.test_suites.as_slice() else {
            panic!("expected one test suite: {xml}");
        };
        assert_eq!(suite.name.as_str(), "tcprun");
        assert_eq!(
            (suite.tests, suite.failures, suite.errors, suite.skipped),
            (4, 2, 1, 0)
        );
        assert_eq!(suite.time, Some(Duration::from_millis(1_793)));
        assert!(suite.timestamp.is_none() && report.timestamp.is_none());

        let [passed, failed, error, differs] = suite.test_cases.as_slice() else {
            panic!("expected four test cases: {xml}");
        };
        assert_eq!(passed.name.as_str(), "echo answers");
        assert_eq!(
            passed.classname.as_ref().map(|c| c.as_str()),
            Some("scenarios/echo.yaml")
        );
        assert_eq!(passed.time, Some(Duration::from_millis(250)));
        assert!(matches!(passed.status, TestCaseStatus::Success { .. }));
        assert_eq!(
            passed.extra.get("file").map(|f| f.as_str()),
            Some("scenarios/echo.yaml")
        );
        assert!(passed.extra.get("line").is_none());
        assert_eq!(
            passed.system_out.as_ref().map(|s| s.as_str()),
            Some("client: connected\nclient > \"hi\\n\"")
        );

        assert!(matches!(
            failed.status,
            TestCaseStatus::NonSuccess {
                kind: NonSuccessKind::Failure,
                ..
            }
        ));
        let (message, ty, text) = description(&failed.status);
        assert_eq!(message, "expected output matching /^goodbye$/ within 1s");
        assert_eq!(ty, "expect");
        assert_eq!(
            text,
            "scenarios/mismatch.yaml:10:5: expect: {regex: \"^goodbye$\", timeout: 1s}\n\
             expected output matching /^goodbye$/ within 1s\n\
             received but not matched (last part): \"hello <&>\\n\"\n\
             transcript so far:\n  \
             | client: connected\n  \
             | client < \"hello <&>\\n\""
        );
        assert_eq!(failed.extra.get("line").map(|l| l.as_str()), Some("10"));
        assert_eq!(failed.time, Some(Duration::from_millis(1_500)));

        assert!(matches!(
            error.status,
            TestCaseStatus::NonSuccess {
                kind: NonSuccessKind::Error,
                ..
            }
        ));
        let (message, ty, _) = description(&error.status);
        assert_eq!(message, "cannot start the fake server: address in use");
        assert_eq!(ty, "error");
        assert_eq!(error.system_out.as_ref().map(|s| s.as_str()), Some(""));

        let (message, ty, text) = description(&differs.status);
        assert_eq!(
            message,
            "transcript differs from its golden file scenarios/golden.transcript"
        );
        assert_eq!(ty, "golden");
        assert!(
            text.ends_with("@@ -1,2 +1,2 @@\n server: up\n-alice: connected\n+alice: closed"),
            "{text}"
        );
        assert!(differs.extra.get("line").is_none());
    }

    #[test]
    fn quotes_only_the_end_of_a_long_transcript() {
        let lines: Vec<String> = (1..=45).map(|n| format!("line {n}")).collect();
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let failed = result(
            "a.yaml",
            "a",
            Outcome::Failed(Failure {
                line: 0,
                col: 0,
                step: String::new(),
                message: "the scenario timed out after 5s".into(),
                received: None,
                received_as: crate::outcome::Received::Unmatched,
            }),
            &lines,
        );
        let xml = junit(&[finished(failed, None)], "tcprun");
        let report = Report::deserialize_from_str(&xml).unwrap();
        let case = &report.test_suites[0].test_cases[0];
        let (_, ty, text) = description(&case.status);
        assert_eq!(ty, "scenario");
        assert!(
            text.starts_with(
                "a.yaml\nthe scenario timed out after 5s\ntranscript so far (last 30 of 45 lines):\n  | line 16\n"
            ),
            "{text}"
        );
        assert!(!text.contains("| line 15\n"), "{text}");
        assert!(text.ends_with("  | line 45"), "{text}");
        assert!(case.extra.get("line").is_none());
        let out = case.system_out.as_ref().unwrap().as_str();
        assert!(out.starts_with("line 1\nline 2\n") && out.ends_with("line 45"));
    }

    #[test]
    fn names_a_timed_out_step_from_its_text() {
        let mut timed_out = result(
            "a.yaml",
            "a",
            Outcome::Failed(Failure {
                line: 12,
                col: 5,
                step: "{server_expect: {text: hi}}".into(),
                message: "the scenario timed out after 5s (timeout: 5s); still running: client"
                    .into(),
                received: None,
                received_as: crate::outcome::Received::Unmatched,
            }),
            &[],
        );
        timed_out.steps.truncate(1);
        let status = status(&finished(timed_out, None));
        assert_eq!(description(&status).1, "server_expect");
    }

    #[test]
    fn skipped_scenarios_are_skipped_and_disagreeing_repeats_fail() {
        let flaky = Finished::new(
            result("f.yaml", "f", Outcome::Passed, &["a"]),
            None,
            Some("flaky: 2 distinct transcripts in 3 runs (2×, 1×)\n".into()),
        );
        let skipped = Finished::skipped(std::path::Path::new("s.yaml"), "s");
        let xml = junit(&[flaky, skipped], "tcprun");
        let report = Report::deserialize_from_str(&xml).expect("the report parses");
        let suite = &report.test_suites[0];
        assert_eq!(
            (suite.tests, suite.failures, suite.skipped),
            (2, 1, 1),
            "{xml}"
        );
        let (message, ty, text) = description(&suite.test_cases[0].status);
        assert_eq!(
            (message, ty),
            ("flaky: 2 distinct transcripts in 3 runs (2×, 1×)", "flaky")
        );
        assert!(text.starts_with("f.yaml: flaky:"), "{text}");
        assert!(
            matches!(suite.test_cases[1].status, TestCaseStatus::Skipped { .. }),
            "{xml}"
        );
    }

    #[test]
    fn fails_a_missing_golden_and_errs_on_an_unreadable_one() {
        let ok = |outcome| {
            let mut one = result("a.yaml", "a", outcome, &["server: up"]);
            one.steps[1].passed = true;
            one
        };
        let missing = finished(
            ok(Outcome::Passed),
            Some(Golden::Missing("a.transcript".into())),
        );
        let unreadable = finished(
            ok(Outcome::Passed),
            Some(Golden::Failed("cannot read a.transcript: denied".into())),
        );
        let created = finished(
            ok(Outcome::Passed),
            Some(Golden::Created("a.transcript".into())),
        );
        let xml = junit(&[missing, unreadable, created], "tcprun");
        let report = Report::deserialize_from_str(&xml).unwrap();
        assert_eq!((report.tests, report.failures, report.errors), (3, 1, 1));
        let cases = &report.test_suites[0].test_cases;
        let (message, ty, text) = description(&cases[0].status);
        assert_eq!(message, "golden transcript a.transcript is missing");
        assert_eq!(ty, "golden");
        assert!(
            text.ends_with("transcript so far:\n  | server: up"),
            "{text}"
        );
        let (message, ty, _) = description(&cases[1].status);
        assert_eq!(message, "cannot read a.transcript: denied");
        assert_eq!(ty, "golden");
        assert!(matches!(
            cases[1].status,
            TestCaseStatus::NonSuccess {
                kind: NonSuccessKind::Error,
                ..
            }
        ));
        assert!(matches!(cases[2].status, TestCaseStatus::Success { .. }));
    }

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(junit(&run(), "tcprun"));
    }
}
