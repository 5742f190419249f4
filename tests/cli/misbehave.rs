//! Misbehaving peers through the real binary over loopback: a fake server whose port drops SYNs, clients that abort, read slowly, join late, send in pieces, and generated data.

use crate::support::run_scenario_with;

/// The Python peer, by its full path.
const PEER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/peer.py");

/// Runs the scenario `yaml` with `ARGS...`; returns the exit code, and
/// stdout followed by stderr.
fn run(yaml: &str, args: &[&str]) -> (i32, String) {
    // A program runs in its scenario's folder (a temporary one here).
    let yaml = yaml.replace("fixtures/peer.py", PEER);
    let output = run_scenario_with(&yaml, args);
    let code = output.status.code().unwrap_or(-1);
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    (code, text)
}

/// Runs `yaml` with `-v` and checks that it passes; returns its transcript lines.
fn passes(yaml: &str) -> Vec<String> {
    let (code, out) = run(yaml, &["-v"]);
    assert_eq!(code, 0, "{out}");
    out.lines()
        .filter_map(|line| line.strip_prefix("  | "))
        .map(str::to_owned)
        .collect()
}

/// Checks that `yaml` gives one transcript in 30 runs, 4 at a time.
fn deterministic(yaml: &str) {
    let (code, out) = run(yaml, &["--repeat", "30", "-j", "4"]);
    assert_eq!(code, 0, "{out}");
}

/// Checks that `lines` holds each of `wanted` (a line, or the start of one), in this order.
fn in_order(lines: &[String], wanted: &[&str]) {
    let mut rest = lines.iter();
    for want in wanted {
        assert!(
            rest.any(|line| line.starts_with(want)),
            "`{want}` is missing or out of order in:\n{}",
            lines.join("\n")
        );
    }
}

/// A fake echo server and one client that retries every second with an
/// hour's connect timeout, connected.
const HOUR: &str = "timeout: 10s\nserver: {fake: echo}\nclient: {retry_interval: 1s, max_retries: 5, connect_timeout: 1h}\nsteps:\n  - wait_connected\n";

#[test]
fn a_blackholed_port_times_connects_out_at_the_connect_timeout_on_the_scenario_clock() {
    let yaml = format!(
        "{HOUR}  - blackhole_server\n  - server_close: rst\n  - expect_error: {{code: ETIMEDOUT, timeout: 2h}}\n  - start_server\n  - wait_reconnect: 3h\n  - send_line: back\n  - expect: \"^back$\"\n"
    );
    let lines = passes(&yaml);
    in_order(
        &lines,
        &[
            "server: blackholing (SYNs dropped)",
            "client: closed (reset: ECONNRESET)",
            "client: retry 1/5 in 1s",
            "client: connecting to 127.0.0.1:${port} (attempt 2)",
            "client: connect failed: ETIMEDOUT",
            "client: retry 2/5 in 1s",
            "server: listening on",
            "client: connecting to 127.0.0.1:${port} (attempt 3)",
            "client: connected",
            "client < \"back\\n\"",
        ],
    );
    deterministic(&yaml);
}

/// The retry waits 1s and the connect 1h: ETIMEDOUT comes 1h 1s after the
/// reset on the scenario's clock, not a moment sooner.
#[test]
fn the_connect_timeout_of_a_blackholed_connect_is_exact() {
    let step = |within: &str| {
        format!(
            "{HOUR}  - blackhole_server\n  - server_close: rst\n  - expect_error: {{code: ETIMEDOUT, timeout: {within}}}\n"
        )
    };
    let (code, out) = run(&step("1h"), &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("expected error ETIMEDOUT within 1h; last error of client: ECONNRESET"),
        "{out}"
    );
    passes(&step("1h 1s"));
}

/// Two clients whose SYNs were dropped connect one at a time, in client
/// order, when the port listens again; after a kill instead, they are refused.
#[test]
fn clients_whose_syns_were_dropped_dial_again_in_turn_when_the_port_answers() {
    let yaml = "timeout: 10s\nserver: {fake: echo}\nclients:\n  a: {retry_interval: 1s, connect_timeout: 1h}\n  b: {retry_interval: 1s, connect_timeout: 1h}\nsteps:\n  - wait_connected: {client: a}\n  - wait_connected: {client: b}\n  - blackhole_server\n  - server_close: rst\n  - sleep: 2s\n  - start_server\n  - wait_reconnect: {client: b}\n  - wait_reconnect: {client: a}\n  - blackhole_server\n  - server_close: rst\n  - sleep: 2s\n  - kill_server\n  - expect_error: {client: a, code: ECONNREFUSED}\n  - expect_error: {client: b, code: ECONNREFUSED}\n";
    let lines = passes(yaml);
    in_order(
        &lines,
        &[
            "a: connecting to 127.0.0.1:${port} (attempt 2)",
            "b: connecting to 127.0.0.1:${port} (attempt 2)",
            "server: listening on",
            "a: connected",
            "server[a]: accepted connection 3",
            "b: connected",
            "server[b]: accepted connection 4",
            "server: blackholing (SYNs dropped)",
            "a: connecting to 127.0.0.1:${port} (attempt 3)",
            "b: connecting to 127.0.0.1:${port} (attempt 3)",
            "server: killed (0 connections reset)",
            "a: connect failed: ECONNREFUSED",
            "b: connect failed: ECONNREFUSED",
        ],
    );
    assert!(
        !lines.iter().any(|line| line.contains("ETIMEDOUT")),
        "{lines:#?}"
    );
    deterministic(yaml);
}

#[test]
fn blackhole_server_needs_a_fake_server() {
    let yaml = "server: {command: [python3, -m, http.server, \"${port}\"]}\nclient: {}\nsteps:\n  - blackhole_server\n";
    let (code, out) = run(yaml, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("`blackhole_server` needs a fake server"),
        "{out}"
    );
}

/// Two clients of a fake echo server, connected in order.
const TWO: &str = "timeout: 10s\nserver: {fake: echo}\nclients:\n  a: {retry_interval: 100ms}\n  b: {retry_interval: 100ms}\nsteps:\n  - wait_connected: {client: a}\n  - wait_connected: {client: b}\n";

#[test]
fn abort_resets_the_connection_and_stops_unless_told_to_reconnect() {
    let yaml = format!(
        "{TWO}  - send_line: {{text: hi, client: a}}\n  - expect: {{regex: \"^hi$\", client: a}}\n  - abort: {{client: a}}\n  - expect_closed: {{how: reset, client: a}}\n  - abort: {{reconnect: true, client: b}}\n  - wait_reconnect: {{client: b}}\n  - send_line: {{text: again, client: b}}\n  - expect: {{regex: \"^again$\", client: b}}\n"
    );
    let lines = passes(&yaml);
    in_order(
        &lines,
        &[
            "a < \"hi\\n\"",
            "a: abort (RST)",
            "a: closed (aborted)",
            "server[a]: closed (reset by peer)",
            "b: abort (RST)",
            "b: closed (aborted)",
            "b: retry 1/10 in 100ms",
            "server[b]: closed (reset by peer)",
            "b: connected",
            "b < \"again\\n\"",
        ],
    );
    assert!(
        !lines.iter().any(|l| l.starts_with("a: retry")),
        "{lines:#?}"
    );
    deterministic(&yaml);

    let (code, out) = run(
        &format!("{TWO}  - abort: {{client: a}}\n  - wait_reconnect: {{client: a}}\n"),
        &[],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(
            "expected a reconnect, but a aborted its connection (RST) and does not reconnect"
        ),
        "{out}"
    );
}

#[test]
fn abort_needs_a_connection() {
    let yaml = "server: {fake: echo, start: false}\nclient: {retry_interval: 1s}\nsteps:\n  - expect_error: ECONNREFUSED\n  - abort\n";
    let (code, out) = run(yaml, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("client has no connection to abort: it is connecting or waiting to retry"),
        "{out}"
    );
}

/// A real server reading from the client sees the abort as ECONNRESET, not as an end (EOF).
#[test]
fn a_real_server_sees_the_abort_as_a_reset() {
    let yaml = "timeout: 60s\nserver:\n  command: [python3, fixtures/peer.py, \"${port}\", reset]\n  ready: {log: \"^ready$\"}\n  ready_timeout: 30s\nclient: {reconnect: false}\nsteps:\n  - wait_connected\n  - send_line: hi\n  - server_expect: \"^got hi$\"\n  - abort\n  - server_expect: \"^ECONNRESET$\"\n  - server_expect: \"^done$\"\n";
    let (code, out) = run(yaml, &[]);
    assert_eq!(code, 0, "{out}");
}

/// A fake echo server and one client with a small receive buffer that
/// does not reconnect, connected.
const SLOW: &str = "timeout: 20s\nserver: {fake: echo}\nclient: {receive_buffer: 4KiB, reconnect: false}\nsteps:\n  - wait_connected\n";

/// A paused client reads nothing: what the fake server writes waits (and
/// what it is asked to do next waits behind it, while the steps go on), and
/// all of it, then the FIN, arrive only once the client reads again.
#[test]
fn a_paused_client_reads_nothing_until_it_resumes() {
    let big = "x".repeat(256 << 10);
    let yaml = format!(
        "{SLOW}  - pause_reading\n  - server_send: \"{big}\\n\"\n  - expect_no: {{regex: x, timeout: 1s}}\n  - server_send: \"after\\n\"\n  - server_close\n  - resume_reading\n  - expect: \"^x+$\"\n  - expect: \"^after$\"\n  - expect_closed: fin\n"
    );
    let lines = passes(&yaml);
    in_order(
        &lines,
        &[
            "client: reading paused",
            "server[client] > \"xxx",
            "server[client] > \"after\\n\"",
            "server[client]: end (FIN)",
            "client: reading resumed",
            "client < \"xxx",
            "client < ... (196615 more bytes)",
            "client: peer ended (FIN)",
            "client: closed (FIN)",
        ],
    );
    let resumed = lines.iter().position(|l| l == "client: reading resumed");
    let first_read = lines.iter().position(|l| l.starts_with("client <"));
    assert!(first_read > resumed, "{lines:#?}");
    deterministic(&yaml);
}

/// While the client does not read, the fake server writing to it reads
/// nothing either: the conversation cannot settle, and the failure says why.
#[test]
fn a_fake_server_blocked_on_a_paused_client_reads_nothing_and_says_so() {
    // More than the client's receive buffer and the server's send buffer
    // (at most 4 MiB by default, `net.ipv4.tcp_wmem`) together.
    let big = "x".repeat(6 << 20);
    let yaml = format!(
        "defaults: {{timeout: 1s}}\n{SLOW}  - pause_reading\n  - server_send: \"{big}\\n\"\n  - send_line: ping\n"
    );
    let (code, out) = run(&yaml, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("the conversation did not settle within 1s: client does not read (pause_reading), and the fake server reads nothing more on connection 1 until its write to client is done"),
        "{out}"
    );
}

/// A real server's write blocks while the client does not read: it says
/// it has sent 8 MiB only after `resume_reading`.
#[test]
fn a_real_servers_write_blocks_while_the_client_does_not_read() {
    let yaml = "timeout: 60s\nserver:\n  command: [python3, fixtures/peer.py, \"${port}\", flood, \"8388608\"]\n  ready: {log: \"^ready$\"}\n  ready_timeout: 30s\nclient: {receive_buffer: 4KiB, reconnect: false}\nsteps:\n  - wait_connected\n  - pause_reading\n  - send_line: go\n  - server_expect_no: {regex: \"^sent\", timeout: 1s}\n  - resume_reading\n  - server_expect: {regex: \"^sent 8388608$\", timeout: 10s}\n";
    let (code, out) = run(yaml, &[]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn receive_buffer_is_a_size() {
    let yaml = "server: {fake: echo}\nclient: {receive_buffer: 4KB}\nsteps:\n  - wait_connected\n";
    let (code, out) = run(yaml, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("expected a size for `receive_buffer`, found `4KB`: `KB` is not a unit here: sizes are 1024-based, `KiB`"),
        "{out}"
    );
}

/// A client written with `start: false` makes no connect until its
/// `connect` step: what it is told to send before that waits for its first
/// connection.
#[test]
fn a_client_that_starts_later_connects_only_at_its_connect_step() {
    let yaml = "timeout: 10s\nserver: {fake: echo}\nclients:\n  alice: {}\n  bob: {start: false}\nsteps:\n  - wait_connected: {client: alice}\n  - send_line: {text: early, client: bob}\n  - expect_connections: 1\n  - connect: bob\n  - wait_connected: {client: bob}\n  - expect: {regex: \"^early$\", client: bob}\n  - expect_connections: 2\n";
    let lines = passes(yaml);
    in_order(
        &lines,
        &[
            "alice: connected",
            "server[alice]: accepted connection 1",
            "bob: queued 6 bytes while disconnected",
            "bob: connecting to 127.0.0.1:${port} (attempt 1)",
            "bob: connected",
            "server[bob]: accepted connection 2",
            "bob > \"early\\n\"",
        ],
    );
    let first_bob = lines.iter().position(|l| l.starts_with("bob:"));
    let alice = lines
        .iter()
        .position(|l| l == "server[alice]: accepted connection 1");
    assert!(first_bob > alice, "{lines:#?}");
    deterministic(yaml);
}

/// Without its `connect` step, a client written with `start: false` never
/// connects: the wait for it times out.
#[test]
fn a_client_that_starts_later_does_not_connect_by_itself() {
    let yaml = "timeout: 10s\nserver: {fake: echo}\nclient: {start: false}\nsteps:\n  - wait_connected: 2s\n";
    let (code, out) = run(yaml, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(!out.contains("connecting to"), "{out}");
}

#[test]
fn connect_starts_a_client_written_with_start_false_once() {
    let yaml = "server: {fake: echo}\nclients:\n  a: {}\n  b: {start: false}\nsteps:\n  - connect: a\n  - connect: b\n  - connect: {client: b}\n";
    let (code, out) = run(yaml, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("error: client `a` starts with the scenario: `connect` starts a client written with `start: false`"),
        "{out}"
    );
    assert!(
        out.contains("error: client `b` is started by an earlier `connect`"),
        "{out}"
    );
    let program = "server: {fake: echo}\nclient: {command: [cat], start: false}\nsteps:\n  - connect: client\n";
    let (code, out) = run(program, &[]);
    assert_eq!(code, 2, "{out}");
}

/// Bounds a Python peer's start: it prints `ready` in well under a second,
/// but a machine loaded by parallel builds and tests has taken over 5s (the
/// default `ready_timeout`) to start one. Only a failure waits this long.
const PEER_READY: &str = "ready_timeout: 30s";

/// A Python server given `MODE ARGS` (fixtures/peer.py), and one built-in client, connected.
fn peer(mode: &str) -> String {
    format!(
        "timeout: 60s\nserver:\n  command: [python3, fixtures/peer.py, \"${{port}}\", {mode}]\n  ready: {{log: \"^ready$\"}}\n  {PEER_READY}\nclient: {{reconnect: false}}\nsteps:\n  - wait_connected\n"
    )
}

/// A real program receives exactly the generated bytes; the transcript
/// shows a summary of them, not the bytes.
#[test]
fn a_real_server_receives_exactly_the_generated_bytes() {
    let yaml = format!(
        "{}  - send: {{repeat: \"ab\", times: 100000}}\n  - end\n  - server_expect: \"^repeat ok 200000$\"\n",
        peer("repeat, ab, \"100000\"")
    );
    let lines = passes(&yaml);
    assert!(
        lines.contains(&"client > repeat(\"ab\", 100000 times)".to_owned()),
        "{lines:#?}"
    );
    let yaml = format!(
        "{}  - send: {{random: 1MiB, seed: 3}}\n  - end\n  - server_expect: \"^random ok 1048576$\"\n",
        peer("random, \"1048576\", \"3\"")
    );
    let lines = passes(&yaml);
    assert!(
        lines.contains(&"client > random(1048576 bytes, seed 3)".to_owned()),
        "{lines:#?}"
    );
    assert!(lines.iter().all(|l| l.len() < 200), "{lines:#?}");
    // Another seed, other bytes.
    let yaml = format!(
        "{}  - send: {{random: 1MiB, seed: 4}}\n  - end\n  - server_expect: \"^mismatch at\"\n",
        peer("random, \"1048576\", \"3\"")
    );
    passes(&yaml);
}

/// The fake server sends generated data too, and the client receives it whole.
#[test]
fn the_fake_server_sends_generated_data() {
    let yaml = "timeout: 10s\nserver: {fake: echo}\nclient: {}\nsteps:\n  - wait_connected\n  - server_send: {repeat: \"y\", times: 5000}\n  - server_send: \"\\n\"\n  - expect: \"^y{5000}$\"\n  - send_line: {repeat: \"z\", times: 3}\n  - expect: \"^zzz$\"\n";
    let lines = passes(yaml);
    assert!(
        lines.contains(&"client > repeat(\"z\", 3 times) \"\\n\"".to_owned()),
        "{lines:#?}"
    );
    deterministic(yaml);
}

#[test]
fn generated_data_is_bounded_and_complete() {
    let cases = [
        (
            "send: {random: 129MiB}",
            "`random` is too large: `129MiB` (at most 128MiB)",
        ),
        (
            "send: {repeat: xy, times: 100000000}",
            "`repeat:` makes too much data: 200000000 bytes (generated data is at most 128 MiB)",
        ),
        ("send: {repeat: x}", "`repeat:` needs `times:`"),
        (
            "send: {text: x, times: 3}",
            "`times:` only applies to `repeat:`",
        ),
        ("send: {random: 1KiB, repeat: x}", "cannot be combined with"),
    ];
    for (step, message) in cases {
        let yaml = format!("server: {{fake: echo}}\nclient: {{}}\nsteps:\n  - {step}\n");
        let (code, out) = run(&yaml, &[]);
        assert_eq!(code, 2, "{step}: {out}");
        assert!(out.contains(message), "{step}: {out}");
    }
}

/// A real program sees each piece of a send with `chunks:` arrive in a
/// segment of its own (TCP_INFO's count of data segments, whatever its
/// reads coalesced); without `chunks:`, the same bytes come in one.
#[test]
fn a_real_server_sees_a_send_in_chunks_as_separate_segments() {
    let segments = |send: &str| {
        let yaml = format!(
            "{}  - send: {send}\n  - end\n  - server_expect: \"^total 10\\ndata segments (?<segments>\\\\d+)$\"\n  - server_expect: \"^done$\"\n",
            peer("segments").replace("server:\n", "server:\n  output: transcript\n")
        );
        let lines = passes(&yaml);
        let line = lines
            .iter()
            .find(|l| l.starts_with("server stdout \"data segments"))
            .unwrap_or_else(|| panic!("no segment count in {lines:#?}"));
        assert!(
            lines.contains(&"client > \"abcdefghij\"".to_owned()),
            "the send shows whole: {lines:#?}"
        );
        line.clone()
    };
    assert_eq!(
        segments("{text: abcdefghij, chunks: 3, gap: 50ms}"),
        "server stdout \"data segments 4\\n\""
    );
    assert_eq!(
        segments("abcdefghij"),
        "server stdout \"data segments 1\\n\""
    );
}

/// With built-in peers the gaps run on the scenario's clock (an hour each
/// costs nothing), and the transcript shows the send whole.
#[test]
fn gaps_between_chunks_run_on_the_scenario_clock() {
    let yaml = "timeout: 10s\nserver: {fake: echo}\nclient: {}\nsteps:\n  - wait_connected\n  - send: {text: \"hello world\\n\", chunks: 3, gap: 1h}\n  - expect: \"^hello world$\"\n  - send_line: {repeat: ab, times: 4, chunks: 5, gap: 1h}\n  - expect: \"^(ab){4}$\"\n";
    let started = std::time::Instant::now();
    let lines = passes(yaml);
    assert!(started.elapsed() < std::time::Duration::from_secs(8));
    in_order(
        &lines,
        &[
            "client > \"hello world\\n\"",
            "server[client] < \"hello world\\n\"",
            "server[client] > \"hello world\\n\"",
            "client < \"hello world\\n\"",
            "client > repeat(\"ab\", 4 times) \"\\n\"",
            "server[client] < \"abababab\\n\"",
        ],
    );
    deterministic(yaml);
}

#[test]
fn chunks_are_a_send_option() {
    let cases = [
        ("send: {text: x, gap: 1s}", "`gap:` needs `chunks:`"),
        ("send: {text: x, chunks: 0}", "`chunks`"),
        ("end: {text: x, chunks: 1}", "`chunks`"),
    ];
    for (step, message) in cases {
        let yaml = format!("server: {{fake: echo}}\nclient: {{}}\nsteps:\n  - {step}\n");
        let (code, out) = run(&yaml, &[]);
        assert_eq!(code, 2, "{step}: {out}");
        assert!(out.contains(message), "{step}: {out}");
    }
}
