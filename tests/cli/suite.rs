//! Runs many scenarios at once: jobs, ordered reports, fail-fast, filter, list, shard, repeat, validate.

use std::path::PathBuf;

use assert_cmd::Command;

fn tcprun(args: &[&str]) -> assert_cmd::assert::Assert {
    Command::cargo_bin("tcprun")
        .expect("binary built")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CI", "true")
        .args(args)
        .assert()
}

fn stdout(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stdout).into_owned()
}

/// Returns the result lines (PASS/FAIL/SKIP) in the order they were printed.
fn results(out: &str) -> Vec<String> {
    out.lines()
        .filter(|l| l.starts_with("PASS ") || l.starts_with("FAIL ") || l.starts_with("SKIP "))
        .map(|l| l.split(" (").next().unwrap_or(l).to_owned())
        .collect()
}

fn builtin_scenarios() -> Vec<&'static str> {
    vec![
        "scenarios/chat.yaml",
        "scenarios/encoding.yaml",
        "scenarios/half-close.yaml",
        "scenarios/quit.yaml",
        "scenarios/reconnect.yaml",
        "scenarios/refused.yaml",
        "scenarios/retry-limit.yaml",
        "scenarios/server-speaks-first.yaml",
    ]
}

#[test]
fn parallel_jobs_report_in_file_order_and_agree_with_one_job() {
    let files = builtin_scenarios();
    let mut args = vec!["-j", "8"];
    args.extend(&files);
    let parallel = stdout(&tcprun(&args).success());
    let expected: Vec<String> = files.iter().map(|f| format!("PASS {f}")).collect();
    assert_eq!(results(&parallel), expected);
    assert!(parallel.ends_with("8 passed, 0 failed\n"));
    // Transcripts of a parallel run are those of a sequential one.
    let mut verbose = vec!["-v", "-j", "8"];
    verbose.extend(&files);
    let mut sequential = vec!["-v", "-j", "1"];
    sequential.extend(&files);
    let lines = |out: String| {
        out.lines()
            .filter(|l| l.starts_with("  | "))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        lines(stdout(&tcprun(&verbose).success())),
        lines(stdout(&tcprun(&sequential).success()))
    );
}

#[test]
fn fail_fast_skips_what_had_not_started() {
    let run = tcprun(&[
        "--fail-fast",
        "-j",
        "1",
        "fixtures/failing/expect-mismatch.yaml",
        "scenarios/quit.yaml",
    ])
    .code(1);
    let out = stdout(&run);
    assert_eq!(
        results(&out),
        [
            "FAIL fixtures/failing/expect-mismatch.yaml",
            "SKIP scenarios/quit.yaml"
        ]
    );
    assert!(out.ends_with("0 passed, 1 failed, 1 skipped\n"), "{out}");

    // A golden file that differs is a failure too: nothing starts after it.
    let dir = tempfile::tempdir().expect("temp dir");
    for name in ["a", "b"] {
        let yaml = format!(
            "name: {name}\nserver: {{fake: echo}}\nclient: {{}}\nsteps:\n  - wait_connected\n"
        );
        std::fs::write(dir.path().join(format!("{name}.yaml")), yaml).expect("write");
        std::fs::write(dir.path().join(format!("{name}.transcript")), "wrong\n").expect("write");
    }
    let folder = dir.path().to_str().expect("utf-8");
    let out = stdout(&tcprun(&["--fail-fast", "-j", "1", "--snapshot", folder]).code(1));
    assert!(out.ends_with("0 passed, 1 failed, 1 skipped\n"), "{out}");
}

#[test]
fn a_live_transcript_is_followed_by_its_own_report_before_the_next_scenario() {
    let out = stdout(
        &tcprun(&[
            "-v",
            "-j",
            "1",
            "scenarios/quit.yaml",
            "scenarios/chat.yaml",
        ])
        .success(),
    );
    let heads: Vec<&str> = out
        .lines()
        .filter(|l| !l.starts_with("  | ") && !l.starts_with("  ── step "))
        .map(|l| l.split(" (").next().unwrap_or(l))
        .collect();
    assert_eq!(
        heads,
        [
            "RUN  scenarios/quit.yaml",
            "PASS scenarios/quit.yaml",
            "RUN  scenarios/chat.yaml",
            "PASS scenarios/chat.yaml",
            "2 passed, 0 failed",
        ]
    );
}

#[test]
fn filter_list_and_shard_select_scenarios() {
    let listed = stdout(
        &tcprun(&[
            "--list",
            "--filter",
            "reconnect",
            "--filter",
            "quit",
            "scenarios",
        ])
        .success(),
    );
    assert_eq!(
        listed,
        "scenarios/quit.yaml: quit ends without a reconnect\nscenarios/reconnect.yaml: client reconnects after the server is killed\n"
    );
    // Shards are disjoint and together cover everything.
    let all = stdout(&tcprun(&["--list", "scenarios"]).success());
    let mut union: Vec<String> = (1..=3)
        .flat_map(|k| {
            let shard = format!("{k}/3");
            stdout(&tcprun(&["--list", "--shard", &shard, "scenarios"]).success())
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    union.sort();
    let mut every: Vec<String> = all.lines().map(str::to_owned).collect();
    every.sort();
    assert_eq!(union, every);
    tcprun(&["--shard", "4/3", "scenarios"]).code(2);
    let none = tcprun(&["--filter", "no-such-scenario", "scenarios"]).code(2);
    let err = String::from_utf8_lossy(&none.get_output().stderr).into_owned();
    assert!(
        err.contains("no scenario matches --filter no-such-scenario"),
        "{err}"
    );
}

#[test]
fn repeat_passes_identical_runs_and_reports_runs_that_disagree() {
    let out = stdout(&tcprun(&["--repeat", "5", "scenarios/chat.yaml"]).success());
    assert!(out.ends_with("1 passed, 0 failed\n"), "{out}");

    let dir = tempfile::tempdir().expect("temp dir");
    let file: PathBuf = dir.path().join("random.yaml");
    std::fs::write(
        &file,
        "name: a program that prints something new every run\nserver: {fake: echo}\nclient:\n  shell: \"od -An -N8 -tx8 /dev/urandom\"\nsteps:\n  - expect: \"[0-9a-f]{16}\"\n  - expect_exit: 0\n",
    )
    .expect("write");
    let path = file.to_str().expect("utf-8");
    let out = stdout(&tcprun(&["--repeat", "4", "-j", "2", path]).code(1));
    assert!(
        out.contains("flaky: 4 distinct transcripts in 4 runs (1×, 1×, 1×, 1×)"),
        "{out}"
    );
}

#[test]
fn validate_checks_without_running() {
    let out = stdout(&tcprun(&["validate", "scenarios", "fixtures/failing"]).success());
    assert!(out.ends_with("scenarios valid\n"), "{out}");
    let run = tcprun(&["validate", "fixtures/invalid/unknown-step.yaml"]).code(2);
    let err = String::from_utf8_lossy(&run.get_output().stderr).into_owned();
    assert!(
        err.starts_with("fixtures/invalid/unknown-step.yaml:6:5: error: unknown step"),
        "{err}"
    );
}

#[test]
fn completions_are_printed_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let out = stdout(&tcprun(&["completions", shell]).success());
        assert!(out.contains("tcprun") && out.contains("connect"), "{shell}");
    }
}

#[test]
fn junit_and_json_reports_are_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    let junit = dir.path().join("report.xml");
    let json = dir.path().join("report.json");
    tcprun(&[
        "--junit",
        junit.to_str().expect("utf-8"),
        "--json",
        json.to_str().expect("utf-8"),
        "scenarios/quit.yaml",
        "fixtures/failing/expect-mismatch.yaml",
    ])
    .code(1);
    let xml = std::fs::read_to_string(&junit).expect("junit written");
    assert!(
        xml.contains(r#"<testsuites name="tcprun" tests="2" skipped="0" failures="1" errors="0""#),
        "{xml}"
    );
    assert!(
        xml.contains(
            r#"<failure message="expected output matching /^goodbye$/ within 1s" type="expect">"#
        ),
        "{xml}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("json written"))
            .expect("valid JSON");
    assert_eq!(report["summary"]["passed"], 1);
    assert_eq!(report["summary"]["failed"], 1);
    assert_eq!(report["scenarios"][1]["failure"]["line"], 10);
    assert!(
        report["scenarios"][0]["steps"]
            .as_array()
            .is_some_and(|steps| steps.len() == 7)
    );
}

#[test]
fn text_data_is_encoded_after_its_variables_are_replaced() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir
        .path()
        .join("latin1.yaml")
        .to_string_lossy()
        .into_owned();
    // The echo server sends back what it received; the client shows it in hex.
    let scenario = |steps: &str| {
        let head = "server: {fake: echo}\nclient: {encoding: hex}\nsteps:\n";
        std::fs::write(&path, format!("{head}{steps}")).expect("write");
    };
    let latin1 = "  - send_line: {text: \"caf\u{e9} ${who}\", encoding: latin1}\n";
    let ascii = "  - send_line: {text: \"hi ${who}\", encoding: ascii}\n";
    scenario(&format!(
        "{latin1}  - expect: \"^636166e9207a6feb0a\"\n{ascii}"
    ));
    // `é` and `ë` go out as the Latin-1 bytes e9 and eb; the ASCII text cannot hold `ë`.
    let out = stdout(&tcprun(&["-v", "--var", "who=zo\u{eb}", &path]).code(1));
    assert!(
        out.contains(r#"server[client] < "caf\xe9 zo\xeb\n""#),
        "{out}"
    );
    assert!(
        out.contains(":6:5: send_line: {text: \"hi ${who}\", encoding: ascii}"),
        "{out}"
    );
    assert!(
        out.contains("the text with its variables cannot be sent as ascii: character 'ë' at position 5 cannot be written as ascii"),
        "{out}"
    );
    // With a value ASCII can hold, every step passes.
    scenario(&format!(
        "{latin1}  - expect: \"^636166e920626f620a\"\n{ascii}  - expect: \"^686920626f620a\"\n"
    ));
    tcprun(&["--var", "who=bob", &path]).success();
}

#[test]
fn variables_come_from_var_the_environment_and_captures() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("vars.yaml");
    std::fs::write(
        &file,
        "name: variables\nsnapshot: true\nserver: {fake: echo}\nclient: {}\nsteps:\n  - send_line: \"token=${secret}\"\n  - expect: \"^token=(?<token>[a-z0-9]+)$\"\n  - send_line: \"again ${token} from ${env.TCPRUN_TEST_MARK}\"\n  - expect: \"^again ${token} from here$\"\n  - send_line: \"file ${tmp}/x\"\n  - expect: \"/x$\"\n",
    )
    .expect("write");
    let path = file.to_str().expect("utf-8");
    let run = |secret: &str| {
        Command::cargo_bin("tcprun")
            .expect("binary")
            .env_remove("CI")
            .env("TCPRUN_TEST_MARK", "here")
            .args(["--var", &format!("secret={secret}"), path])
            .assert()
            .success()
    };
    run("abc123");
    let golden =
        std::fs::read_to_string(dir.path().join("vars.transcript")).expect("golden written");
    assert!(
        golden.contains(r#"client > "token=${token}\n""#),
        "the capture is masked:\n{golden}"
    );
    assert!(!golden.contains("abc123"), "{golden}");
    assert!(
        golden.contains(r#"client > "file ${tmp}/x\n""#),
        "the scenario's own folder is masked:\n{golden}"
    );
    // Another secret, and another temporary folder, give the same golden transcript.
    run("zz9");
    // Without the value, the file is invalid before anything runs (as `validate` says).
    for args in [vec![path], vec!["validate", path]] {
        let missing = tcprun(&args).code(2);
        let stderr = String::from_utf8_lossy(&missing.get_output().stderr).into_owned();
        assert!(
            stderr.contains(":6:16: error: unknown variable `${secret}`"),
            "{stderr}"
        );
    }
    Command::cargo_bin("tcprun")
        .expect("binary")
        .env("TCPRUN_TEST_MARK", "here")
        .args(["validate", "--var", "secret=x", path])
        .assert()
        .success();
}
