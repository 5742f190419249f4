//! Trust with real programs: no false pass on data still arriving, one transcript per scenario, no silent loss, waits that fail as soon as they cannot succeed.

use std::path::Path;

use assert_cmd::Command;

use crate::support::root;

/// Writes `yaml` as a scenario in a fresh folder and runs `tcprun ARGS... FILE`;
/// returns the exit code and stdout.
fn run(yaml: &str, args: &[&str]) -> (i32, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("scenario.yaml");
    std::fs::write(&file, yaml).expect("write the scenario");
    run_file(&file, args)
}

fn run_file(file: &Path, args: &[&str]) -> (i32, String) {
    let output = Command::cargo_bin("tcprun")
        .expect("binary built")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CI", "true")
        .args(args)
        .arg(file)
        .output()
        .expect("run tcprun");
    let code = output.status.code().unwrap_or(-1);
    (code, String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Returns the absolute path of a fixture program.
fn fixture(name: &str) -> String {
    root().join("fixtures").join(name).display().to_string()
}

/// A scenario header with the split server (replies in two pieces) as the server program.
fn split_server(extra: &str) -> String {
    format!(
        "server:\n  command: [python3, \"{}\", \"${{port}}\"]\n  ready: {{log: \"^ready\"}}\n{extra}client: {{retry_interval: 50ms, max_retries: 100}}\nsteps:\n  - wait_connected\n",
        fixture("split_server.py")
    )
}

#[test]
fn a_dollar_does_not_match_before_the_line_has_ended_with_a_fake_server() {
    let (code, out) = run(
        "server: {fake: echo}\nclient: {}\nsteps:\n  - wait_connected\n  - server_send: \"OK 1\"\n  - expect: {regex: \"^OK 1$\", timeout: 1s}\n  - server_send: \"0\\n\"\n",
        &[],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("expected output matching /^OK 1$/ within 1s; a match was pending at the end of the received text (`OK 1`); more input could change it"),
        "{out}"
    );
}

#[test]
fn a_dollar_does_not_match_a_reply_written_in_two_pieces() {
    let yaml = format!(
        "{}  - send_line: ok\n  - expect: {{regex: \"^OK 1$\", timeout: 2s}}\n",
        split_server("")
    );
    let (code, out) = run(&yaml, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("expected output matching /^OK 1$/ within 2s"),
        "{out}"
    );
    assert!(
        out.contains(r#"received but not matched (last part): "OK 10\n""#),
        "{out}"
    );
}

#[test]
fn a_capture_takes_the_whole_number_however_it_arrived() {
    let yaml = format!(
        "{}  - send_line: count\n  - expect: '^count (?<n>\\d+)'\n  - send_line: \"got ${{n}}\"\n  - expect: \"^ack 10$\"\n",
        split_server("")
    );
    let (code, out) = run(&yaml, &[]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn a_prompt_without_a_newline_matches_at_once() {
    let (code, out) = run(
        "server: {fake: silent, banner: \"login ok\\nPassword: \"}\nclient: {}\nsteps:\n  - wait_connected\n  - expect: \"Password: \"\n  - send_line: secret\n",
        &[],
    );
    assert_eq!(code, 0, "{out}");
}

#[test]
fn an_ended_stream_ends_the_line() {
    let (code, out) = run(
        "server: {fake: echo, half_open: true}\nclient: {reconnect: false}\nsteps:\n  - wait_connected\n  - server_send: \"OK 1\"\n  - server_close\n  - expect: \"^OK 1$\"\n",
        &[],
    );
    assert_eq!(code, 0, "{out}");
}

#[test]
fn expect_no_fails_on_a_match_still_pending_when_its_window_ends() {
    let (code, out) = run(
        "server: {fake: echo}\nclient: {}\nsteps:\n  - wait_connected\n  - server_send: \"ERROR 4\"\n  - expect_no: {regex: '^ERROR \\d+$', timeout: 100ms}\n",
        &[],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("output may match /^ERROR \\d+$/, which it must not: a match was pending at the end of the received text (`ERROR 4`)"),
        "{out}"
    );
}

#[test]
fn a_wait_on_a_client_program_that_exited_fails_at_once() {
    let (code, out) = run(
        "timeout: 20s\nserver: {fake: echo}\nclient: {shell: \"exit 1\"}\nsteps:\n  - wait_connected: 10s\n",
        &[],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("expected a connection, but client exited with code 1 before connecting"),
        "{out}"
    );
    // It failed at once: well within the 10s it was given.
    let duration = out
        .split("1 step, ")
        .nth(1)
        .and_then(|rest| rest.split("ms)").next())
        .and_then(|ms| ms.parse::<u64>().ok())
        .expect("a duration");
    assert!(duration < 9_000, "{out}");
}

#[test]
fn an_expect_after_the_client_program_exited_fails_at_once() {
    let (code, out) = run(
        "server: {fake: echo}\nclient: {shell: \"echo hello; exit 3\"}\nsteps:\n  - expect: hello\n  - expect: {regex: goodbye, timeout: 10s}\n",
        &[],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("expected output matching /goodbye/, but client exited with code 3"),
        "{out}"
    );
}

#[test]
fn waits_on_a_client_that_cannot_reconnect_fail_at_once_and_say_why() {
    let head = "server: {fake: echo}\nclient: {reconnect: false}\nsteps:\n  - wait_connected\n  - server_close\n  - expect_closed: fin\n";
    let (code, out) = run(&format!("{head}  - expect: {{regex: more, timeout: 10s}}\n"), &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("expected output matching /more/, but the server closed the connection (FIN) and client does not reconnect"),
        "{out}"
    );
    let (code, out) = run(&format!("{head}  - expect_closed: reset\n"), &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("expected the connection to be reset, but the server closed the connection (FIN) and client does not reconnect"),
        "{out}"
    );
    let (code, out) = run(&format!("{head}  - send_line: hello\n"), &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("client has stopped: the server closed the connection (FIN), and it does not reconnect"),
        "{out}"
    );
}

#[test]
fn a_wait_after_the_client_gave_up_fails_at_once() {
    let (code, out) = run(
        "server: {fake: echo, start: false}\nclient: {retry_interval: 10ms, max_retries: 1}\nsteps:\n  - expect_gave_up\n  - wait_connected: 10s\n",
        &[],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("expected a connection, but client gave up after 1 retry (ECONNREFUSED)"),
        "{out}"
    );
}
