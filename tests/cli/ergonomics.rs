//! What new users trip over (issue 11): an optional `client:`, `wait_retry`
//! counting as the transcript does, programs run in the scenario's folder,
//! regex escapes, reports that say what happened once, one error style,
//! step markers under `-v`, CRLF line endings, and shards that finish together.

use std::path::{Path, PathBuf};
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
