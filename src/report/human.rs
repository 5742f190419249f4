//! Writes the human report: a result line per scenario, failure details, the summary line.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Color, Style};
use std::time::Duration;

use crate::golden::Golden;
use crate::outcome::{Finished, Outcome, Problem, Runs};

/// Caps the transcript lines shown with a failure (the last ones).
const TRANSCRIPT_TAIL: usize = 60;

/// Returns the report of one scenario: its result line, then what it has of
/// the error or the failed step (with the transcript so far), how `--repeat`
/// runs disagreed, and the golden comparison.
pub fn scenario(finished: &Finished) -> String {
    scenario_with(finished, true)
}

/// Returns the report of one scenario as [`scenario`] does; without
/// `with_transcript` a failure does not show the transcript again (`-v`
/// printed it already).
pub fn scenario_with(finished: &Finished, with_transcript: bool) -> String {
    let mut out = String::new();
    let result = &finished.result;
    let label = if result.outcome.passed() {
        paint(PASS, "PASS")
    } else {
        paint(FAIL, "FAIL")
    };
    let _ = writeln!(
        out,
        " {} ({}; {} {}, {}{})",
        result.path.display(),
        result.name,
        result.steps.len(),
        if result.steps.len() == 1 {
            "step"
        } else {
            "steps"
        },
        millis(result.duration),
        finished.runs.map(runs).unwrap_or_default(),
    );
    match &result.outcome {
        Outcome::Error(Problem::NotRun(message)) => {
            let _ = writeln!(out, "  error: {message}");
        }
        Outcome::Failed(failure) => {
            let _ = writeln!(
                out,
                "  step failed at {}:{}:{}: {}",
                result.path.display(),
                failure.line,
                failure.col,
                failure.step
            );
            let _ = writeln!(out, "  {}", failure.message);
            if let Some(received) = &failure.received {
                let label = failure.received_as.label();
                let _ = writeln!(out, "  {label}: {received:?}");
            }
            if with_transcript {
                transcript(&mut out, &result.transcript);
            } else {
                let _ = writeln!(out, "  (its transcript is above)");
            }
        }
        // Said below, with the repeats' report and the golden comparison.
        Outcome::Passed
        | Outcome::Error(Problem::Golden(_))
        | Outcome::GoldenMismatch(_)
        | Outcome::Flaky(_)
        | Outcome::Skipped => {}
    }
    if let Some(flaky) = &finished.flaky {
        for line in flaky.lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    match &finished.golden {
        Some(Golden::Created(path)) => {
            let _ = writeln!(out, "  wrote golden transcript {}", path.display());
        }
        Some(Golden::Updated(path)) => {
            let _ = writeln!(out, "  updated golden transcript {}", path.display());
        }
        Some(Golden::Missing(path)) => {
            let _ = writeln!(
                out,
                "  golden transcript {} is missing (CI is set, so it is not created; run with --update and commit it)",
                path.display()
            );
        }
        Some(Golden::Differs { diff, .. }) => {
            let _ = writeln!(
                out,
                "  transcript differs from its golden file (run with --update to accept):"
            );
            for line in diff.lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
        Some(Golden::Failed(message)) => {
            let _ = writeln!(out, "  {message}");
        }
        Some(Golden::Same) | None => {}
    }
    format!("{label}{}", visible(&out))
}

/// Returns `text` with control characters other than newline and tab
/// escaped (`\u{1b}`): names, messages and transcripts carry what peers and
/// files hold, and a terminal must show it, not obey it.
fn visible(text: &str) -> std::borrow::Cow<'_, str> {
    let shown = |c: char| !c.is_control() || c == '\n' || c == '\t';
    if text.chars().all(shown) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if shown(c) {
            out.push(c);
        } else {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
    out.into()
}

/// Says how `--repeat` runs went, for the result line: `; 30 runs, 1
/// transcript`, or with failures `; 6 runs: 5 passed, 1 failed, 2 transcripts`.
fn runs(runs: Runs) -> String {
    let transcripts = plural(runs.transcripts, "transcript", "transcripts");
    if runs.passed == runs.total {
        format!("; {} runs, {transcripts}", runs.total)
    } else {
        format!(
            "; {} runs: {} passed, {} failed, {transcripts}",
            runs.total,
            runs.passed,
            runs.total - runs.passed
        )
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn transcript(out: &mut String, lines: &[String]) {
    let skip = lines.len().saturating_sub(TRANSCRIPT_TAIL);
    if lines.is_empty() {
        let _ = writeln!(out, "  transcript so far: (nothing was recorded)");
        return;
    }
    let _ = writeln!(out, "  transcript so far:");
    if skip > 0 {
        let _ = writeln!(out, "    | ... ({skip} earlier lines)");
    }
    for line in &lines[skip..] {
        let _ = writeln!(out, "    | {line}");
    }
}

const PASS: Style = Style::new()
    .fg_color(Some(Color::Ansi(AnsiColor::Green)))
    .bold();
const FAIL: Style = Style::new()
    .fg_color(Some(Color::Ansi(AnsiColor::Red)))
    .bold();
const SKIP: Style = Style::new().fg_color(Some(Color::Ansi(AnsiColor::Yellow)));

/// Wraps `text` in a colour; the writer drops colours when stdout is not a
/// terminal or `NO_COLOR` is set.
fn paint(style: Style, text: &str) -> String {
    format!("{style}{text}{style:#}")
}

/// Returns the line of a scenario that did not run.
pub fn skipped(path: &std::path::Path, name: &str) -> String {
    let line = visible(&format!(" {} ({name})\n", path.display())).into_owned();
    format!("{}{line}", paint(SKIP, "SKIP"))
}

/// Returns the summary line: `N passed, N failed` (`, N skipped` when some were).
pub fn summary(passed: usize, failed: usize, skipped: usize) -> String {
    if skipped > 0 {
        format!("{passed} passed, {failed} failed, {skipped} skipped")
    } else {
        format!("{passed} passed, {failed} failed")
    }
}

fn millis(duration: Duration) -> String {
    format!("{}ms", duration.as_millis())
}

#[cfg(test)]
mod tests {
    use super::super::sample::{finished, result};
    use super::*;
    use crate::outcome::Failure;

    #[test]
    fn control_characters_from_peers_and_files_are_shown_not_obeyed() {
        let failed = result(
            "scenarios/a.yaml",
            "name \u{1b}[2J",
            Outcome::Failed(Failure {
                line: 10,
                col: 5,
                step: "expect: \"\\e\"".into(),
                message: "expected output matching /\u{1b}]0;title\u{7}/".into(),
                received: None,
                received_as: crate::outcome::Received::Unmatched,
            }),
            &["client < \"\u{fffe}\"\u{8}\u{9b}"],
        );
        let text = scenario(&finished(failed, None));
        let after_label = text.split_once(" scenarios/").map_or("", |(_, rest)| rest);
        assert!(
            !after_label.chars().any(|c| c.is_control() && c != '\n'),
            "{text:?}"
        );
        assert!(text.contains("name \\u{1b}[2J"), "{text}");
        assert!(text.contains("/\\u{1b}]0;title\\u{7}/"), "{text}");
        assert!(
            text.contains("client < \"\u{fffe}\"\\u{8}\\u{9b}"),
            "{text}"
        );
    }
}
