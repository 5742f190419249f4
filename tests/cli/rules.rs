//! The rule-based fake server through the real binary over loopback: every predicate, reply lists, `times`, `then`, delays on the virtual clock, server steps alongside rules, `tcprun serve --rules`, located load errors, and real programs (smtplib, redis-cli) giving one transcript run after run.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;

use crate::support::{Tcprun, run_in_root as tcprun, run_scenario, transcript_lines as lines};

/// Returns true when the transcript holds `expected` in order, one after the other.
fn in_a_row(out: &str, expected: &[&str]) -> bool {
    lines(out).windows(expected.len()).any(|w| w == expected)
}

/// Runs `steps` with a line-framed built-in client against a rules server with `rules` (YAML list items).
fn rules(rules: &str, steps: &str) -> (i32, String) {
    run_scenario(&format!(
        "name: rules\nserver:\n  fake: rules\n  rules:\n{rules}client: {{framing: line, reconnect: false}}\nsteps:\n  - wait_connected\n{steps}"
    ))
}

#[test]
fn every_predicate_picks_its_frames() {
    let list = r#"    - {name: equals, when: {equals: PING}, reply: "equals\n"}
    - {name: starts, when: {starts_with: "EHLO "}, reply: "starts\n"}
    - {name: ends, when: {ends_with: "?"}, reply: "ends\n"}
    - {name: contains, when: {contains: ERR}, reply: "contains\n"}
    - name: regex
      when: {regex: '^GET (?<path>/\S*)$'}
      reply: "regex ${path}\n"
    - {name: hex, when: {hex: "01 ?? 03"}, reply: "hex\n"}
    - {name: not, when: {not: {starts_with: x}}, times: 1, reply: "not\n"}
    - name: any_of
      when: {any_of: [{equals: xa}, {equals: xb}]}
      reply: "any_of\n"
    - name: all_of
      when: {all_of: [{starts_with: "x"}, {regex: '(?<n>\d+)$'}]}
      reply: "all_of ${n}\n"
    - {name: any, when: any, reply: "any\n"}
"#;
    let (code, out) = rules(
        list,
        r#"  - send_frame: PING
  - expect_frame: {text: equals}
  - send_frame: EHLO mx
  - expect_frame: {text: starts}
  - send_frame: why?
  - expect_frame: {text: ends}
  - send_frame: an ERROR here
  - expect_frame: {text: contains}
  - send_frame: GET /index.html
  - expect_frame: {text: regex /index.html}
  - send_frame: {hex: "01 ff 03"}
  - expect_frame: {text: hex}
  - send_frame: plain
  - expect_frame: {text: not}
  - send_frame: xb
  - expect_frame: {text: any_of}
  - send_frame: x42
  - expect_frame: {text: all_of 42}
  - send_frame: "plain again"
  - expect_frame: {text: any}
"#,
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        in_a_row(
            &out,
            &[
                "client > frame(16) \"GET /index.html\"",
                "server[client]: rule regex (scenario.yaml:9) matched \"GET /index.html\"",
                "server[client] > frame(18) \"regex /index.html\"",
                "client < frame(18) \"regex /index.html\"",
            ]
        ),
        "{out}"
    );
}

#[test]
fn a_frame_no_rule_matches_is_reported_and_gets_no_reply() {
    let (code, out) = rules(
        "    - {when: {equals: PING}, reply: \"PONG\\n\"}\n",
        "  - send_frame: FOO\n  - send_frame: PING\n  - expect_frame: {text: PONG}\n",
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        lines(&out).contains(&"server[client]: no rule matched \"FOO\""),
        "{out}"
    );
    assert!(
        lines(&out).contains(&"server[client]: rule 1 (scenario.yaml:5) matched \"PING\""),
        "{out}"
    );
}

#[test]
fn replies_go_in_turn_the_last_repeats_and_each_connection_starts_over() {
    let (code, out) = run_scenario(
        "name: turns\nserver:\n  fake: rules\n  rules:\n    - when: any\n      replies: [\"one\\n\", \"two\\n\", \"${connection}\\n\"]\nclient: {framing: line, retry_interval: 10ms}\nsteps:\n  - wait_connected\n  - send_frame: a\n  - expect_frame: {text: one}\n  - send_frame: b\n  - expect_frame: {text: two}\n  - send_frame: c\n  - expect_frame: {text: \"1\"}\n  - send_frame: d\n  - expect_frame: {text: \"1\"}\n  - server_close: reset\n  - wait_reconnect\n  - send_frame: e\n  - expect_frame: {text: one}\n",
    );
    assert_eq!(code, 0, "{out}");
}

#[test]
fn times_applies_a_rule_n_times_per_connection_then_frames_fall_through() {
    let (code, out) = rules(
        "    - {name: first, when: {equals: PING}, times: 2, reply: \"first\\n\"}\n    - {name: later, when: {equals: PING}, reply: \"later\\n\"}\n",
        "  - send_frame: PING\n  - expect_frame: {text: first}\n  - send_frame: PING\n  - expect_frame: {text: first}\n  - send_frame: PING\n  - expect_frame: {text: later}\n",
    );
    assert_eq!(code, 0, "{out}");
}

#[test]
fn then_closes_half_closes_resets_or_stalls_after_the_reply() {
    // fin: the reply, then FIN.
    let (code, out) = rules(
        "    - {when: {equals: QUIT}, reply: \"bye\\n\", then: fin}\n",
        "  - send_frame: QUIT\n  - expect_frame: {text: bye}\n  - expect_closed: fin\n",
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        in_a_row(
            &out,
            &["server[client] > \"bye\\n\"", "server[client]: end (FIN)"]
        ) || out.contains("server[client]: end (FIN)"),
        "{out}"
    );
    // reset: the reply, then RST.
    let (code, out) = rules(
        "    - {when: {equals: QUIT}, then: reset}\n",
        "  - send_frame: QUIT\n  - expect_closed: reset\n  - expect_error: ECONNRESET\n",
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        lines(&out).contains(&"server[client]: closed (reset)"),
        "{out}"
    );
    // half_close: FIN, but frames still arrive and rules still match (a
    // client program that writes after the server's FIN).
    let (code, out) = run_scenario(&format!(
        "name: half\nserver:\n  fake: rules\n  half_open: true\n  rules:\n    - {{when: {{equals: BYE}}, reply: \"bye\\n\", then: half_close}}\n    - {{name: after, when: any, reply: \"never sent\\n\"}}\nclient:\n  command: [python3, \"{}\", \"${{port}}\", BYE, more]\nsteps:\n  - expect: \"^read 4 bytes, then FIN$\"\n  - server_expect_frame: {{text: more, skip: true}}\n  - end\n  - expect_exit: 0\n",
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/after_fin.py")
            .display()
    ));
    assert_eq!(code, 0, "{out}");
    assert!(
        lines(&out).contains(&"server[client]: rule after (scenario.yaml:7) matched \"more\""),
        "{out}"
    );
    assert!(!out.contains("never sent"), "{out}");
    // stall: reads nothing more, writes nothing; the conversation still settles.
    let (code, out) = rules(
        "    - {when: {equals: STOP}, reply: \"stopping\\n\", then: stall}\n    - {when: any, reply: \"echo\\n\"}\n",
        "  - send_frame: STOP\n  - expect_frame: {text: stopping}\n  - send_frame: hello\n  - expect_no: {regex: echo, timeout: 1s}\n  - sleep: 1s\n",
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        lines(&out).contains(&"server[client]: stalled (reads nothing more)"),
        "{out}"
    );
    assert!(!out.contains("matched \"hello\""), "{out}");
    // A reply can close or stall too.
    let (code, out) = rules(
        "    - {when: any, replies: [\"ok\\n\", {close: fin}]}\n",
        "  - send_frame: a\n  - expect_frame: {text: ok}\n  - send_frame: b\n  - expect_closed: fin\n",
    );
    assert_eq!(code, 0, "{out}");
}

#[test]
fn a_delay_runs_on_the_virtual_clock() {
    // An hour of delay in a scenario bounded by 10 seconds of real time.
    let (code, out) = run_scenario(
        "name: slow\ntimeout: 10s\nserver:\n  fake: rules\n  rules:\n    - {when: {equals: PING}, delay: 1h, reply: \"PONG\\n\"}\nclient: {framing: line}\nsteps:\n  - wait_connected\n  - send_frame: PING\n  - expect_no: {regex: PONG, timeout: 59m}\n  - expect_frame: {text: PONG, timeout: 2m}\n",
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        in_a_row(
            &out,
            &[
                "server[client]: rule 1 (scenario.yaml:6) matched \"PING\"",
                "server[client]: delay 1h",
            ]
        ),
        "{out}"
    );
    // Frames that come during a delay are answered after it, in order; the
    // client's FIN waits for them too.
    let (code, out) = rules(
        "    - {when: {equals: a}, delay: 5s, reply: \"A\\n\"}\n    - {when: {equals: b}, reply: \"B\\n\"}\n",
        "  - send: \"a\\nb\\n\"\n  - end\n  - expect_frame: {text: A}\n  - expect_frame: {text: B}\n  - expect_closed: fin\n",
    );
    assert_eq!(code, 0, "{out}");
}

#[test]
fn server_steps_work_alongside_rules() {
    let (code, out) = run_scenario(
        "name: alongside\nserver:\n  fake: rules\n  framing: crlf\n  banner: \"220 hi ${connection}\\r\\n\"\n  rules:\n    - {when: {equals: PING}, reply: \"+PONG\\r\\n\"}\nclient: {framing: crlf, retry_interval: 10ms}\nsteps:\n  - expect_frame: {text: 220 hi 1}\n  - server_send: \"note\\r\\n\"\n  - expect_frame: {text: note}\n  - server_send_frame: framed\n  - expect_frame: {text: framed}\n  - send_frame: PING\n  - server_expect_frame: PING\n  - expect_frame: \"^\\\\+PONG$\"\n  - kill_server\n  - expect_error: ECONNRESET\n  - start_server\n  - wait_reconnect\n  - expect_frame: {text: 220 hi 2}\n",
    );
    assert_eq!(code, 0, "{out}");
}

#[test]
fn serve_rules_answers_each_frame_and_logs_each_match() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("smtp.yaml");
    std::fs::write(
        &file,
        "framing: crlf\nbanner: \"220 ready on ${port}\\r\\n\"\nrules:\n  - name: ping\n    when: {equals: PING}\n    reply: \"+PONG\\r\\n\"\n  - when: {equals: QUIT}\n    reply: \"221 bye\\r\\n\"\n    then: fin\n",
    )
    .expect("write");
    let path = file.display().to_string();
    let mut serve = Tcprun::spawn(&["serve", "--rules", &path, "--port", "0"]);
    let port: u16 = serve.stdout_line().trim().parse().expect("a port");
    let mut conn = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    conn.set_read_timeout(Some(crate::support::DEADLINE))
        .expect("timeout");
    conn.write_all(b"PING\r\nFOO\r\nQUIT\r\n").expect("write");
    let mut all = Vec::new();
    conn.read_to_end(&mut all)
        .expect("the server ends after QUIT");
    assert_eq!(
        String::from_utf8_lossy(&all),
        format!("220 ready on {port}\r\n+PONG\r\n221 bye\r\n")
    );
    serve.wait_line("tcprun serve: connection 1: rule ping (smtp.yaml:4) matched \"PING\"");
    serve.wait_line("tcprun serve: connection 1: no rule matched \"FOO\"");
    serve.wait_line("tcprun serve: connection 1: rule 2 (smtp.yaml:7) matched \"QUIT\"");
    drop(conn);
    serve.signal(nix::sys::signal::Signal::SIGTERM);
    serve.assert_exit(0);
}

#[test]
fn serve_rules_takes_a_scenarios_server_block_and_rejects_errors_with_usage_status() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scenario = root
        .join("scenarios/redis-cli-rules.yaml")
        .display()
        .to_string();
    let mut serve = Tcprun::spawn(&["serve", "--rules", &scenario, "--port", "0"]);
    let port: u16 = serve.stdout_line().trim().parse().expect("a port");
    let mut conn = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    conn.set_read_timeout(Some(crate::support::DEADLINE))
        .expect("timeout");
    conn.write_all(b"*1\r\n$4\r\nPING\r\n").expect("write");
    let mut pong = [0u8; 7];
    conn.read_exact(&mut pong).expect("a reply");
    assert_eq!(&pong, b"+PONG\r\n");
    serve.signal(nix::sys::signal::Signal::SIGTERM);
    serve.assert_exit(0);

    let dir = tempfile::tempdir().expect("temp dir");
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "rules:\n  - when: {equal: QUIT}\n").expect("write");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tcprun"))
        .args(["serve", "--rules"])
        .arg(&bad)
        .output()
        .expect("tcprun runs");
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(
        err.contains("bad.yaml:2:12: error: unknown predicate `equal`"),
        "{err}"
    );
    assert!(err.contains("did you mean `equals`?"), "{err}");
}

#[test]
fn rule_errors_are_located_before_anything_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("bad.yaml");
    std::fs::write(
        &file,
        "server:\n  fake: rules\n  rules:\n    - when: {regex: '^MAIL (?<from'}\n    - when: {equals: DATA}\n      replies: [\"354\\r\\n\", {close: finn}]\n    - when: {starts_with: HELO}\n      reply: \"250 ${hots}\\r\\n\"\nclient: {}\nsteps:\n  - wait_connected\n",
    )
    .expect("write");
    let (code, _, err) = tcprun(&file, &["validate"]);
    assert_eq!(code, 2, "{err}");
    for expected in [
        "bad.yaml:4:21: error: invalid regex",
        "bad.yaml:6:36: error: unknown close kind `finn`",
        "bad.yaml:8:14: error: `${hots}` has no value",
    ] {
        assert!(err.contains(expected), "{expected}\n{err}");
    }
}

#[test]
fn real_clients_against_rules_servers_give_one_transcript_in_thirty_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for name in ["smtp-smtplib", "smtp-data-reset", "redis-cli-rules"] {
        let file = root.join("scenarios").join(format!("{name}.yaml"));
        let (code, out, _) = tcprun(&file, &["--repeat", "30", "-j", "4"]);
        assert_eq!(code, 0, "{name}:\n{out}");
        assert!(out.ends_with("1 passed, 0 failed\n"), "{name}:\n{out}");
    }
}
