//! Runs every scenario in scenarios/ and every fixture through the binary; snapshots transcripts and reports.

use std::path::Path;

use assert_cmd::Command;

use crate::support::{root, yaml_files};

/// Runs `tcprun ARGS` in the repository root, with CI set as on a CI machine
/// (so a missing golden file fails instead of being written).
fn tcprun(args: &[&str]) -> assert_cmd::assert::Assert {
    Command::cargo_bin("tcprun")
        .expect("binary built")
        .current_dir(root())
        .env("CI", "true")
        .env("NO_COLOR", "1")
        .args(args)
        .assert()
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root())
        .expect("below the root")
        .display()
        .to_string()
}

fn stdout(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stdout).into_owned()
}

fn stderr(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stderr).into_owned()
}

/// Returns the transcript lines that `--verbose` streamed.
fn transcript(output: &str) -> String {
    output
        .lines()
        .filter_map(|line| line.strip_prefix("  | "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Masks what changes from run to run: durations.
fn stable(output: &str) -> String {
    let millis = regex::Regex::new(r"\d+ms\)").expect("valid regex");
    millis.replace_all(output, "[duration])").into_owned()
}

#[test]
fn every_example_scenario_passes() {
    for file in yaml_files("scenarios") {
        let name = relative(&file);
        let run = tcprun(&[&name]);
        let out = stdout(&run);
        assert!(
            run.get_output().status.success(),
            "{name} failed:\n{out}{}",
            stderr(&run)
        );
        assert!(out.contains(&format!("PASS {name}")), "{out}");
        assert!(out.ends_with("1 passed, 0 failed\n"), "{out}");
    }
}

#[test]
fn a_folder_runs_every_scenario_below_it() {
    let run = tcprun(&["scenarios"]).success();
    let count = yaml_files("scenarios").len();
    assert!(stdout(&run).ends_with(&format!("{count} passed, 0 failed\n")));
}

#[test]
fn the_reconnect_scenario_runs_by_the_readme_command() {
    tcprun(&["scenarios/reconnect.yaml"]).success();
}

macro_rules! transcript_snapshot {
    ($test:ident, $file:literal) => {
        #[test]
        fn $test() {
            let run = tcprun(&["--verbose", $file]).success();
            insta::assert_snapshot!(transcript(&stdout(&run)));
        }
    };
}

transcript_snapshot!(encoding_transcript, "scenarios/encoding.yaml");
transcript_snapshot!(half_close_transcript, "scenarios/half-close.yaml");
transcript_snapshot!(retry_limit_transcript, "scenarios/retry-limit.yaml");
transcript_snapshot!(blackhole_transcript, "scenarios/blackhole.yaml");

#[test]
fn transcripts_are_identical_run_after_run() {
    let first = transcript(&stdout(&tcprun(&["-v", "scenarios/chat.yaml"]).success()));
    for _ in 0..5 {
        let again = transcript(&stdout(&tcprun(&["-v", "scenarios/chat.yaml"]).success()));
        assert_eq!(first, again);
    }
}

#[test]
fn failing_fixtures_report_the_step_what_was_expected_and_what_came() {
    for file in yaml_files("fixtures/failing") {
        let name = relative(&file);
        let run = tcprun(&[&name]).code(1);
        let out = stdout(&run);
        assert!(out.contains(&format!("FAIL {name}")), "{out}");
        assert!(out.contains(&format!("step failed at {name}:")), "{out}");
        assert!(out.ends_with("0 passed, 1 failed\n"), "{out}");
        let snapshot = file
            .file_stem()
            .expect("a file name")
            .to_string_lossy()
            .into_owned();
        insta::assert_snapshot!(format!("failing-{snapshot}"), stable(&out));
    }
}

#[test]
fn invalid_fixtures_are_rejected_with_located_errors_before_anything_runs() {
    for file in yaml_files("fixtures/invalid") {
        let name = relative(&file);
        let run = tcprun(&[&name]).code(2);
        let err = stderr(&run);
        assert!(stdout(&run).is_empty(), "nothing runs for an invalid file");
        assert!(err.starts_with(&format!("{name}:")), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        let snapshot = file
            .file_stem()
            .expect("a file name")
            .to_string_lossy()
            .into_owned();
        insta::assert_snapshot!(format!("invalid-{snapshot}"), err);
    }
}

#[test]
fn one_invalid_file_stops_the_whole_run() {
    let run = tcprun(&[
        "scenarios/reconnect.yaml",
        "fixtures/invalid/unknown-step.yaml",
    ])
    .code(2);
    assert!(stdout(&run).is_empty());
}

#[test]
fn a_mix_of_passing_and_failing_scenarios_exits_1_with_the_summary() {
    let run = tcprun(&[
        "scenarios/quit.yaml",
        "fixtures/failing/expect-mismatch.yaml",
    ])
    .code(1);
    assert!(stdout(&run).ends_with("1 passed, 1 failed\n"));
}

#[test]
fn usage_errors_exit_2() {
    tcprun(&[]).code(2);
    tcprun(&["--no-such-flag", "scenarios"]).code(2);
    let run = tcprun(&["does/not/exist.yaml"]).code(2);
    assert!(stderr(&run).contains("does/not/exist.yaml"));
}

#[test]
fn golden_files_are_compared_created_and_updated() {
    let dir = tempfile::tempdir().expect("temp dir");
    let scenario = dir.path().join("golden.yaml");
    std::fs::copy(root().join("scenarios/quit.yaml"), &scenario).expect("copy");
    let golden = dir.path().join("golden.transcript");
    let path = scenario.to_str().expect("utf-8 path");

    // Missing on CI: fails and writes nothing.
    let run = tcprun(&["--snapshot", path]).code(1);
    assert!(stdout(&run).contains("is missing"), "{}", stdout(&run));
    assert!(!golden.exists());

    // Missing elsewhere: created.
    Command::cargo_bin("tcprun")
        .expect("binary")
        .env_remove("CI")
        .args(["--snapshot", path])
        .assert()
        .success();
    let written = std::fs::read_to_string(&golden).expect("golden written");
    assert!(written.contains("client: quit\n"));

    // Same: passes. Different: fails with a diff. --update: accepted.
    tcprun(&["--snapshot", path]).success();
    std::fs::write(&golden, written.replace("client: quit", "client: stays")).expect("edit");
    let run = tcprun(&["--snapshot", path]).code(1);
    let out = stdout(&run);
    assert!(
        out.contains("-client: stays") && out.contains("+client: quit"),
        "{out}"
    );
    tcprun(&["--update", path]).success();
    assert_eq!(std::fs::read_to_string(&golden).expect("golden"), written);
}

#[test]
fn a_send_larger_than_the_report_queue_completes() {
    // 72 MiB reach the sink in more reads (64 KiB each) than the runner's
    // report queue holds: the runner must fold reports while it sends.
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("big.yaml");
    let yaml = format!(
        "name: big send\ntimeout: 20s\nserver: {{fake: sink}}\nclient: {{}}\nsteps:\n  - wait_connected\n  - send: \"{}\"\n  - end\n  - expect_closed\n",
        "y".repeat(72 << 20)
    );
    std::fs::write(&file, yaml).expect("write scenario");
    let path = file.to_str().expect("utf-8");
    let out = stdout(&tcprun(&[path]).success());
    assert!(out.ends_with("1 passed, 0 failed\n"), "{out}");
}
