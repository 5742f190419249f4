//! What new users trip over (issue 11): an optional `client:`, `wait_retry`
//! counting as the transcript does, programs run in the scenario's folder,
//! regex escapes, reports that say what happened once, one error style,
//! step markers under `-v`, CRLF line endings, and shards that finish together.

use std::path::Path;
use std::process::Command;

/// Holds what one run of `tcprun` said.
struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `tcprun ARGS...` in `dir`, without colours.
fn tcprun_in(dir: &Path, args: &[&str]) -> Ran {
    let output = Command::new(env!("CARGO_BIN_EXE_tcprun"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("CI")
        .output()
        .expect("tcprun runs");
    Ran {
        code: output.status.code().expect("an exit code"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Writes `files` (name, text) into a new temporary folder.
fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        let path = dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create folder");
        }
        std::fs::write(path, text).expect("write file");
    }
    dir
}

/// Returns the transcript lines of a `-v` report (`  | ...`).
fn transcript(out: &str) -> Vec<&str> {
    out.lines().filter_map(|l| l.strip_prefix("  | ")).collect()
}

#[test]
fn wait_retry_n_holds_once_retry_n_is_scheduled_so_the_server_can_come_back_for_it() {
    let dir = folder(&[(
        "last-retry.yaml",
        "server: {fake: echo}\nclient: {retry_interval: 50ms, max_retries: 2}\nsteps:\n  - wait_connected\n  - kill_server\n  - wait_retry: 2\n  - start_server\n  - wait_reconnect\n",
    )]);
    let ran = tcprun_in(dir.path(), &["-v", "last-retry.yaml"]);
    assert_eq!(ran.code, 0, "{}", ran.stdout);
    let lines = transcript(&ran.stdout);
    let retry = lines.iter().position(|l| *l == "client: retry 2/2 in 50ms");
    let start = lines
        .iter()
        .rposition(|l| *l == "server: listening on 127.0.0.1:${port}");
    let started = retry.zip(start).is_some_and(|(r, s)| r < s);
    assert!(
        started,
        "retry 2 scheduled, then the server back:\n{}",
        ran.stdout
    );
    assert!(!ran.stdout.contains("gave up"), "{}", ran.stdout);
}

#[test]
fn a_scenario_without_client_gets_one_builtin_client_that_starts_even_unused() {
    let dir = folder(&[
        (
            "talk.yaml",
            "server: {fake: echo}\nsteps:\n  - send_line: hello\n  - expect: '^hello$'\n",
        ),
        (
            "unused.yaml",
            "server: {fake: echo}\nsteps:\n  - expect_connections: 1\n",
        ),
    ]);
    let ran = tcprun_in(dir.path(), &["-v", "-j", "1", "talk.yaml", "unused.yaml"]);
    assert_eq!(ran.code, 0, "{}{}", ran.stdout, ran.stderr);
    let lines = transcript(&ran.stdout);
    let connected = lines.iter().filter(|l| **l == "client: connected").count();
    assert_eq!(
        connected, 2,
        "the client of each scenario connects:\n{}",
        ran.stdout
    );
    assert!(lines.contains(&r#"client < "hello\n""#), "{}", ran.stdout);
}

#[test]
fn programs_run_in_the_scenario_folder_wherever_tcprun_runs() {
    let dir = folder(&[
        (
            "ci/tcp/beside.yaml",
            "server: {fake: echo}\nclient: {command: [sh, hello.sh]}\nsteps:\n  - expect: '^payload beside$'\n  - expect_exit: 0\n",
        ),
        ("ci/tcp/hello.sh", "cat data.txt\n"),
        ("ci/tcp/data.txt", "payload beside\n"),
    ]);
    let from_root = tcprun_in(dir.path(), &["ci/tcp/"]);
    assert_eq!(
        from_root.code, 0,
        "{}{}",
        from_root.stdout, from_root.stderr
    );
    let inside = tcprun_in(&dir.path().join("ci/tcp"), &["."]);
    assert_eq!(inside.code, 0, "{}{}", inside.stdout, inside.stderr);
}

#[test]
fn a_regex_escape_in_double_quotes_is_pointed_at_with_a_hint() {
    let dir = folder(&[(
        "escape.yaml",
        "server: {fake: echo}\nsteps:\n  - send_line: n 12\n  - expect: \"^n \\d+$\"\n",
    )]);
    let ran = tcprun_in(dir.path(), &["escape.yaml"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    let lines: Vec<&str> = ran.stderr.lines().collect();
    assert_eq!(
        lines[0],
        "escape.yaml:4:17: error: unknown escape `\\d` in a double-quoted string: YAML reads a backslash there as an escape"
    );
    assert_eq!(lines[3], "  |                 ^^", "{}", ran.stderr);
    assert!(
        lines[4].contains("single quotes") && lines[4].contains("'^n \\d+$'"),
        "{}",
        ran.stderr
    );
    assert!(lines[4].contains("\"^n \\\\d+$\""), "{}", ran.stderr);
}

#[test]
fn repeated_runs_say_how_many_passed_and_show_a_failing_run() {
    // The second of three runs fails: the program counts its runs in its folder.
    let dir = folder(&[
        (
            "second.yaml",
            "server: {fake: echo}\nclient: {shell: \"n=$(cat count 2>/dev/null || echo 0); echo $((n + 1)) > count; echo run; test $n -ne 1\"}\nsteps:\n  - expect: '^run$'\n  - expect_exit: 0\n",
        ),
        (
            "steady.yaml",
            "server: {fake: echo}\nsteps:\n  - send_line: hi\n  - expect: '^hi$'\n",
        ),
    ]);
    let mixed = tcprun_in(dir.path(), &["--repeat", "3", "-j", "1", "second.yaml"]);
    assert_eq!(mixed.code, 1, "{}", mixed.stdout);
    let first = mixed.stdout.lines().next().unwrap_or_default();
    assert!(
        first.ends_with("; 3 runs: 2 passed, 1 failed, 2 transcripts)"),
        "{}",
        mixed.stdout
    );
    assert!(
        mixed
            .stdout
            .contains("expected the program to end with exit code 0, it exited with code 1"),
        "{}",
        mixed.stdout
    );
    assert!(
        mixed
            .stdout
            .contains("\n    | client: exited with code 1\n"),
        "the failing run's transcript:\n{}",
        mixed.stdout
    );
    let steady = tcprun_in(dir.path(), &["--repeat", "30", "-j", "4", "steady.yaml"]);
    assert_eq!(steady.code, 0, "{}", steady.stdout);
    assert!(
        steady
            .stdout
            .lines()
            .next()
            .unwrap_or_default()
            .ends_with("; 30 runs, 1 transcript)"),
        "{}",
        steady.stdout
    );
}

/// A scenario whose last step fails after `expect: one` consumed part of a line.
const FAILS_AFTER_ONE: &str = "server: {fake: echo}\nsteps:\n  - send_line: one\n  - expect: one\n  - expect: {regex: '^two$', timeout: 100ms}   # never comes\n";

#[test]
fn verbose_shows_a_failing_transcript_once() {
    let dir = folder(&[
        ("fails.yaml", FAILS_AFTER_ONE),
        ("other.yaml", FAILS_AFTER_ONE),
    ]);
    for args in [
        &["-v", "fails.yaml"][..],
        &["-v", "-j", "2", "fails.yaml", "other.yaml"],
        &["-v", "--repeat", "2", "fails.yaml"],
    ] {
        let ran = tcprun_in(dir.path(), args);
        assert_eq!(ran.code, 1, "{}", ran.stdout);
        let sent = transcript(&ran.stdout)
            .iter()
            .filter(|l| **l == r#"client > "one\n""#)
            .count();
        let runs = if args.contains(&"other.yaml") { 2 } else { 1 };
        assert_eq!(sent, runs, "{args:?}:\n{}", ran.stdout);
    }
}

#[test]
fn failure_reports_say_what_arrived_in_the_right_words() {
    let dir = folder(&[
        ("rest.yaml", FAILS_AFTER_ONE),
        (
            "forbidden.yaml",
            "server: {fake: echo}\nsteps:\n  - send_line: ERROR on ${port}\n  - expect_no: {regex: ERROR, timeout: 100ms}\n",
        ),
        (
            "port.yaml",
            "server: {fake: echo}\nsteps:\n  - send_line: port ${port}\n  - expect: {regex: '^nothing$', timeout: 100ms}\n",
        ),
    ]);
    let rest = tcprun_in(dir.path(), &["rest.yaml"]);
    assert_eq!(rest.code, 1, "{}", rest.stdout);
    assert!(
        !rest.stdout.contains("received"),
        "the rest of `one`'s line is no news:\n{}",
        rest.stdout
    );
    assert!(
        rest.stdout
            .contains("but nothing arrived after the line the last match ended in"),
        "{}",
        rest.stdout
    );
    assert!(
        rest.stdout
            .contains("rest.yaml:5:5: expect: {regex: '^two$', timeout: 100ms}\n"),
        "the step without its comment:\n{}",
        rest.stdout
    );
    let forbidden = tcprun_in(dir.path(), &["forbidden.yaml"]);
    assert!(
        forbidden
            .stdout
            .contains("  received, with the match (last part): \"ERROR on ${port}\\n\"\n"),
        "{}",
        forbidden.stdout
    );
    let port = tcprun_in(dir.path(), &["port.yaml"]);
    assert!(
        port.stdout
            .contains("  received but not matched (last part): \"port ${port}\\n\"\n"),
        "the port masked as in the transcript:\n{}",
        port.stdout
    );
}

#[test]
fn a_scenario_timeout_counts_the_step_it_stopped() {
    let dir = folder(&[(
        "slow.yaml",
        "timeout: 300ms\nserver: {fake: echo}\nclient: {shell: \"echo hi; exec sleep 30\"}\nsteps:\n  - expect: '^hi$'\n  - expect_exit: {code: 0, timeout: 1h}\n",
    )]);
    let ran = tcprun_in(dir.path(), &["--json", "report.json", "slow.yaml"]);
    assert_eq!(ran.code, 1, "{}", ran.stdout);
    assert!(ran.stdout.contains("; 2 steps, "), "{}", ran.stdout);
    assert!(
        ran.stdout.contains("slow.yaml:6:5: expect_exit"),
        "{}",
        ran.stdout
    );
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("report.json")).expect("report"),
    )
    .expect("JSON");
    let steps = &report["scenarios"][0]["steps"];
    assert_eq!(steps[1]["name"], "expect_exit", "{steps}");
    assert_eq!(steps[1]["passed"], false, "{steps}");
}

#[test]
fn errors_have_one_form_and_run_is_no_command() {
    let dir = folder(&[(
        "x.yaml",
        "server: {fake: echo}\nsteps:\n  - wait_connected\n",
    )]);
    let run = tcprun_in(dir.path(), &["run", "x.yaml"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        run.stderr.lines().collect::<Vec<_>>()[..2],
        [
            "error: `run` is neither a scenario file nor a command of tcprun",
            "  = hint: scenarios run without a command: `tcprun x.yaml`; the commands are connect, serve, proxy, validate, schema, completions",
        ],
        "{}",
        run.stderr
    );
    for args in [
        &["connect", "localhost", "99999"][..],
        &["proxy", "--listen", "x", "--upstream", "127.0.0.1:9"],
        &["--filter", "nothing-like-it", "x.yaml"],
        &["missing.yaml"],
        &[],
    ] {
        let ran = tcprun_in(dir.path(), args);
        assert_eq!(ran.code, 2, "{args:?}: {}", ran.stderr);
        assert!(
            ran.stderr.starts_with("error: "),
            "{args:?}: {}",
            ran.stderr
        );
        for line in ran.stderr.lines().skip(1).filter(|l| l.contains("hint")) {
            assert!(line.starts_with("  = hint: "), "{args:?}: {}", ran.stderr);
        }
    }
}

#[test]
fn verbose_marks_each_step_live_and_nowhere_else() {
    let scenario = "server: {fake: echo}\nclient: {retry_interval: 50ms}\nsteps:\n  - send_line: hello\n  - expect: '^hello$'\n  - kill_server\n  - wait_retry: 1\n";
    let dir = folder(&[("marked.yaml", scenario), ("other.yaml", scenario)]);
    let live = tcprun_in(
        dir.path(),
        &["-v", "-j", "1", "--json", "r.json", "marked.yaml"],
    );
    assert_eq!(live.code, 0, "{}", live.stdout);
    let lines: Vec<&str> = live.stdout.lines().collect();
    let at = |line: &str| lines.iter().position(|l| *l == line);
    let marker = at("  ── step 3 kill_server (marked.yaml:6)").expect("a marker before step 3");
    let killed = at("  | server: killed (1 connection reset)").expect("the kill");
    let sent = at("  ── step 1 send_line (marked.yaml:4)").expect("a marker before step 1");
    assert!(sent < marker && marker < killed, "{}", live.stdout);
    let report = std::fs::read_to_string(dir.path().join("r.json")).expect("report");
    assert!(!report.contains("── step"), "{report}");
    let after = tcprun_in(dir.path(), &["-v", "-j", "2", "marked.yaml", "other.yaml"]);
    assert_eq!(after.code, 0, "{}", after.stdout);
    assert!(!after.stdout.contains("── step"), "{}", after.stdout);
    // The transcript lines are the same with markers as without.
    assert_eq!(
        transcript(&live.stdout),
        transcript(&after.stdout)[..transcript(&live.stdout).len()],
    );
}

#[test]
fn line_ending_crlf_ends_send_line_and_end_lines_in_crlf() {
    let crlf = "server: {fake: echo}\nclient: {line_ending: crlf}\nsteps:\n  - send_line: EHLO x\n  - server_expect: '^EHLO x\\r\\n'\n  - send_line: {hex: '41'}\n  - server_expect: '^A\\r\\n'\n  - send: \"raw\\n\"\n  - server_expect: '^raw\\n'\n  - end: \"QUIT\\nBYE\\r\\n\"\n  - server_expect: '^QUIT\\r\\nBYE\\r\\n'\n  - expect_closed\n";
    let lf = "server: {fake: echo}\nsteps:\n  - send_line: EHLO x\n  - server_expect: '^EHLO x\\n'\n  - end: \"QUIT\\n\"\n  - server_expect: '^QUIT\\n'\n";
    let dir = folder(&[("crlf.yaml", crlf), ("lf.yaml", lf)]);
    let ran = tcprun_in(dir.path(), &["-v", "-j", "1", "crlf.yaml", "lf.yaml"]);
    assert_eq!(ran.code, 0, "{}", ran.stdout);
    let lines = transcript(&ran.stdout);
    for sent in [
        r#"client > "EHLO x\r\n""#,
        r#"server[client] < "EHLO x\r\n""#,
        r#"client > "A\r\n""#,
        r#"client > "raw\n""#,
        r#"server[client] < "QUIT\r\n""#,
        r#"server[client] < "BYE\r\n""#,
        // The default is `lf`.
        r#"server[client] < "EHLO x\n""#,
        r#"server[client] < "QUIT\n""#,
    ] {
        assert!(lines.contains(&sent), "no `{sent}` in\n{}", ran.stdout);
    }
    let program =
        "server: {fake: echo}\nclient: {command: [cat], line_ending: crlf}\nsteps:\n  - end\n";
    let dir = folder(&[("program.yaml", program)]);
    let ran = tcprun_in(dir.path(), &["program.yaml"]);
    assert_eq!(ran.code, 2, "{}{}", ran.stdout, ran.stderr);
    assert!(
        ran.stderr
            .contains("`line_ending` cannot be combined with `command:`"),
        "{}",
        ran.stderr
    );
}

/// Returns the files `tcprun --list` printed (`path: name` lines).
fn listed(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|line| line.split_once(": ").map(|(path, _)| path.to_owned()))
        .collect()
}

#[test]
fn shards_cover_the_suite_once_and_durations_balance_them() {
    let scenario = "server: {fake: echo}\nsteps:\n  - send_line: x\n  - expect: '^x$'\n";
    let names = ["a", "b", "c", "d", "e", "f"];
    let files: Vec<(String, &str)> = names
        .iter()
        .map(|name| (format!("suite/{name}.yaml"), scenario))
        .collect();
    let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (p.as_str(), *t)).collect();
    let dir = folder(&files);
    // A previous run's --json report, with recorded durations: a.yaml is slow.
    let ran = tcprun_in(dir.path(), &["-j", "2", "--json", "r.json", "suite"]);
    assert_eq!(ran.code, 0, "{}", ran.stdout);
    let text = std::fs::read_to_string(dir.path().join("r.json")).expect("report");
    let mut report: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let mut recorded = std::collections::HashMap::new();
    for one in report["scenarios"].as_array_mut().expect("scenarios") {
        let path = one["path"].as_str().expect("path").to_owned();
        let ms: u64 = if path.ends_with("a.yaml") {
            10_000
        } else {
            1_000
        };
        one["duration_ms"] = ms.into();
        recorded.insert(path, ms);
    }
    assert_eq!(recorded.len(), 6, "{text}");
    std::fs::write(dir.path().join("r.json"), report.to_string()).expect("write");
    // A file added since: the report does not know it.
    std::fs::write(dir.path().join("suite/g.yaml"), scenario).expect("write");
    let every = listed(&tcprun_in(dir.path(), &["--list", "suite"]).stdout);
    assert_eq!(every.len(), 7);
    let mean = 15_000 / 6;
    let weight = |path: &String| recorded.get(path).copied().unwrap_or(mean);
    let split = |extra: &[&str]| -> Vec<Vec<String>> {
        (1..=3)
            .map(|k| {
                let shard = format!("{k}/3");
                let mut args = vec!["--list", "--shard", shard.as_str()];
                args.extend_from_slice(extra);
                args.push("suite");
                let ran = tcprun_in(dir.path(), &args);
                assert_eq!(ran.code, 0, "{}{}", ran.stdout, ran.stderr);
                listed(&ran.stdout)
            })
            .collect()
    };
    let by_count = split(&[]);
    let by_duration = split(&["--durations", "r.json"]);
    for shards in [&by_count, &by_duration] {
        let mut union: Vec<String> = shards.iter().flatten().cloned().collect();
        union.sort();
        assert_eq!(union, every, "disjoint and covering: {shards:?}");
    }
    let sizes: Vec<usize> = by_count.iter().map(Vec::len).collect();
    assert_eq!(sizes, [3, 2, 2]);
    let longest = |shards: &[Vec<String>]| -> u64 {
        shards
            .iter()
            .map(|shard| shard.iter().map(weight).sum::<u64>())
            .max()
            .unwrap_or(0)
    };
    assert_eq!(longest(&by_count), 10_000 + 1_000 + mean);
    assert_eq!(longest(&by_duration), 10_000, "{by_duration:?}");
    assert_eq!(by_duration[0], ["suite/a.yaml"]);
    // Each shard runs its own files, and a report that is no report is a usage error.
    let ran = tcprun_in(
        dir.path(),
        &["--shard", "1/3", "--durations", "r.json", "suite"],
    );
    assert_eq!(ran.code, 0, "{}", ran.stdout);
    assert!(ran.stdout.contains("1 passed, 0 failed"), "{}", ran.stdout);
    let ran = tcprun_in(
        dir.path(),
        &["--shard", "1/3", "--durations", "suite/a.yaml", "suite"],
    );
    assert_eq!(ran.code, 2, "{}", ran.stdout);
    assert!(
        ran.stderr
            .starts_with("error: cannot read --durations suite/a.yaml: not a tcprun --json report"),
        "{}",
        ran.stderr
    );
    let ran = tcprun_in(dir.path(), &["--durations", "r.json", "suite"]);
    assert_eq!(ran.code, 2, "--durations needs --shard: {}", ran.stderr);
}

#[test]
fn a_close_of_another_kind_is_named_when_expect_closed_times_out() {
    let scenario = "server: {fake: echo}\nclient: {retry_interval: 50ms, max_retries: 50}\nsteps:\n  - wait_connected\n  - server_close: fin\n  - expect_closed: {how: reset, timeout: 1s}\n";
    let dir = folder(&[("closed.yaml", scenario)]);
    let run = tcprun_in(dir.path(), &["closed.yaml"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "expected the connection to be reset within 1s; client's connection closed (FIN) instead"
        ),
        "{}",
        run.stdout
    );
}
