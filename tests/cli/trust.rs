//! Trust with real programs: no false pass on data still arriving, one transcript per scenario, no silent loss, waits that fail as soon as they cannot succeed.

use assert_cmd::Command;

use crate::support::root;

/// Writes `yaml` as a scenario in a fresh folder and runs `tcprun ARGS... FILE`;
/// returns the exit code and stdout.
fn run(yaml: &str, args: &[&str]) -> (i32, String) {
    let (code, out, _err) = crate::support::tcprun_yaml(yaml, args);
    (code, out)
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
    let (code, out) = run(
        &format!("{head}  - expect: {{regex: more, timeout: 10s}}\n"),
        &[],
    );
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
        out.contains(
            "client has stopped: the server closed the connection (FIN), and it does not reconnect"
        ),
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

/// A scenario against the split server (its output and its replies come in
/// pieces) with two clients, across a kill: every step synchronises, so every
/// run must give the same transcript.
fn split_story() -> String {
    format!(
        "timeout: 30s
server:
  command: [python3, \"{}\", \"${{port}}\", \"20\"]
  ready: {{log: \"^ready\"}}
  output: transcript
clients:
  alice: {{retry_interval: 50ms, max_retries: 100}}
  bob: {{retry_interval: 50ms, max_retries: 100}}
steps:
  - wait_connected: {{client: alice}}
  - wait_connected: {{client: bob}}
  - server_expect: \"^client connected$\"
  - server_expect: \"^client connected$\"
  - send_line: {{text: frames, client: alice}}
  - expect: {{regex: \"bye\\n\", client: alice}}
  - send_line: {{text: ok, client: bob}}
  - expect: {{regex: \"^OK 10$\", client: bob}}
  - kill_server
  - expect_closed: {{client: alice}}
  - expect_closed: {{client: bob}}
",
        fixture("split_server.py")
    )
}

#[test]
fn a_program_story_gives_one_transcript_in_thirty_runs() {
    let (code, out) = run(&split_story(), &["--repeat", "30", "-j", "4"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("1 passed, 0 failed"), "{out}");
}

#[test]
fn output_and_replies_written_in_pieces_show_whole_where_consumed() {
    let (code, out) = run(&split_story(), &["-v"]);
    assert_eq!(code, 0, "{out}");
    let lines: Vec<&str> = out.lines().filter_map(|l| l.strip_prefix("  | ")).collect();
    let has = |line: &str| lines.iter().filter(|l| **l == line).count();
    assert_eq!(has(r#"server stdout "ready\n""#), 1, "{out}");
    assert_eq!(has(r#"alice < "\0\x02hi\0\x03bye\n""#), 1, "{out}");
    assert_eq!(has(r#"bob < "OK 10\n""#), 1, "{out}");
    // The kill's effects follow the signal, the server's exit first.
    let signal = lines.iter().position(|l| *l == "server: sent SIGKILL");
    let exit = lines.iter().position(|l| *l == "server: killed by SIGKILL");
    let closed = lines.iter().position(|l| l.starts_with("alice: closed"));
    assert!(signal < exit && exit < closed, "{out}");
}

#[test]
fn bytes_of_a_character_cut_short_show_with_their_send() {
    let (code, out) = run(
        "server: {fake: echo}\nclient: {}\nsteps:\n  - wait_connected\n  - send: {hex: \"41 ea b0\"}\n  - server_expect: A\n  - send_quit\n  - expect_closed\n",
        &["-v"],
    );
    assert_eq!(code, 0, "{out}");
    let lines: Vec<&str> = out.lines().filter_map(|l| l.strip_prefix("  | ")).collect();
    let at = |line: &str| lines.iter().position(|l| *l == line);
    let sent = at(r#"client > "A\xea\xb0""#).expect("the send, whole");
    let echoed = at(r#"client < "A\xea\xb0""#).expect("the echo, whole");
    let quit = at("client: quit").expect("quit");
    assert!(sent < echoed && echoed < quit, "{out}");
}

#[test]
fn a_captured_value_is_masked_in_payload_only() {
    let (code, out) = run(
        "server: {fake: echo}\nclient: {retry_interval: 1s, max_retries: 10}\nsteps:\n  - wait_connected\n  - send_line: \"n = 1\"\n  - expect: '^n = (?<n>\\d+)$'\n  - kill_server\n  - wait_retry: 2\n",
        // Not live: the transcript as recorded, masked after the capture too.
        &["-v", "--repeat", "2"],
    );
    assert_eq!(code, 0, "{out}");
    let lines: Vec<&str> = out.lines().filter_map(|l| l.strip_prefix("  | ")).collect();
    for line in [
        r#"client > "n = ${n}\n""#,
        r#"client < "n = ${n}\n""#,
        "client: retry 1/10 in 1s",
        "client: connecting to 127.0.0.1:${port} (attempt 2)",
    ] {
        assert!(lines.contains(&line), "no {line:?} in:\n{out}");
    }
}

#[test]
fn secrets_never_show_in_transcripts_failures_or_reports() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("secret.yaml");
    std::fs::write(
        &file,
        "env: {TCPRUN_TEST_TOKEN: {secret: true}}\nserver: {fake: echo}\nclient: {}\nsteps:\n  - wait_connected\n  - send_line: \"LOGIN ${password} ${env.TCPRUN_TEST_TOKEN}\"\n  - expect: \"^LOGIN \"\n  - expect: {regex: \"^${password}-no$\", timeout: 1s}\n",
    )
    .expect("write");
    let (junit, json) = (dir.path().join("r.xml"), dir.path().join("r.json"));
    let output = Command::cargo_bin("tcprun")
        .expect("binary")
        .env("TCPRUN_TEST_TOKEN", "t0ken42")
        .args(["-v", "--secret", "password=s3cret", "--junit"])
        .arg(&junit)
        .arg("--json")
        .arg(&json)
        .arg(&file)
        .output()
        .expect("run");
    let out = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{out}");
    let reports = [
        out.to_string(),
        std::fs::read_to_string(&junit).expect("junit"),
        std::fs::read_to_string(&json).expect("json"),
    ];
    for report in &reports {
        assert!(!report.contains("s3cret"), "{report}");
        assert!(!report.contains("t0ken42"), "{report}");
        assert!(report.contains("LOGIN *** ***"), "{report}");
    }
}

#[test]
fn an_address_takes_variables_resolved_before_the_run() {
    let mut server = crate::support::Server::refusing();
    server.start();
    let port = server.port().to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("address.yaml");
    std::fs::write(
        &file,
        "server: {address: \"127.0.0.1:${env.TCPRUN_TEST_PORT}\"}\nclient: {reconnect: false}\nsteps:\n  - wait_connected\n",
    )
    .expect("write");
    let with_port = |value: &str| {
        Command::cargo_bin("tcprun")
            .expect("binary")
            .env("TCPRUN_TEST_PORT", value)
            .arg(&file)
            .output()
            .expect("run")
    };
    let ok = with_port(&port);
    assert_eq!(ok.status.code(), Some(0), "{ok:?}");
    let bad = with_port("http");
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains(":1:19: error: expected `host:port` for `address`, found `127.0.0.1:http` (`127.0.0.1:${env.TCPRUN_TEST_PORT}` with its variables)"),
        "{stderr}"
    );
}

#[test]
fn validate_reports_unknown_variables_where_they_are_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("vars.yaml");
    std::fs::write(
        &file,
        "server: {fake: echo}\nclient: {}\nsteps:\n  - send_line: \"use ${tok}\"\n  - expect: '^(?<tok>\\w+)$'\n  - send_line: \"again ${tok} ${nope}\"\n",
    )
    .expect("write");
    let output = Command::cargo_bin("tcprun")
        .expect("binary")
        .arg("validate")
        .arg(&file)
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Used before it is captured; unknown everywhere.
    assert!(
        stderr.contains(":4:16: error: unknown variable `${tok}`"),
        "{stderr}"
    );
    assert!(
        stderr.contains(":6:16: error: unknown variable `${nope}`"),
        "{stderr}"
    );
    assert!(
        !stderr.contains(":6:16: error: unknown variable `${tok}`"),
        "{stderr}"
    );
}
