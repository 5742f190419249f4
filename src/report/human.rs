//! Writes the human report: a result line per scenario, failure details, the summary line.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Color, Style};
use std::time::Duration;

use crate::golden::Golden;
use crate::outcome::{Finished, Outcome, Problem};

/// Caps the transcript lines shown with a failure (the last ones).
const TRANSCRIPT_TAIL: usize = 60;

/// Returns the report of one scenario: its result line, then what it has of
/// the error or the failed step (with the transcript so far), how `--repeat`
/// runs disagreed, and the golden comparison.
pub fn scenario(finished: &Finished) -> String {
    let mut out = String::new();
    let result = &finished.result;
    let _ = writeln!(
        out,
        "{} {} ({}; {} {}, {})",
        if result.outcome.passed() {
            paint(PASS, "PASS")
        } else {
            paint(FAIL, "FAIL")
        },
        result.path.display(),
        result.name,
        result.steps.len(),
        if result.steps.len() == 1 {
            "step"
        } else {
            "steps"
        },
        millis(result.duration),
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
                let _ = writeln!(out, "  received but not matched (last part): {received:?}");
            }
            transcript(&mut out, &result.transcript);
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
    out
}

fn transcript(out: &mut String, lines: &[String]) {
    let skip = lines.len().saturating_sub(TRANSCRIPT_TAIL);
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
    format!("{} {} ({name})\n", paint(SKIP, "SKIP"), path.display())
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
