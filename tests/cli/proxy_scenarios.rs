//! The fault proxy inside scenarios: every fault kind, trigger and direction between real sockets, the proxy steps, programs on either side, located errors, one transcript per scenario under load, and the virtual clock.

use std::path::Path;
use std::process::{Child, Command as StdCommand};

use crate::support::root;

/// The Python line server, by its full path.
const LINE_SERVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/line_server.py");

/// Writes `yaml` as a scenario in a fresh folder and runs `tcprun ARGS... FILE`
/// from the repository root; returns the exit code and stdout.
fn run(yaml: &str, args: &[&str]) -> (i32, String) {
    let (code, out, err) = crate::support::tcprun_yaml(yaml, args);
    (code, out + &err)
}

fn run_file(file: &Path, args: &[&str]) -> (i32, String) {
    let (code, out, err) = crate::support::tcprun_file(file, args);
    (code, out + &err)
}

/// Runs `yaml` with `-v` and returns its transcript lines; it must pass.
fn transcript(yaml: &str) -> Vec<String> {
    let (code, out) = run(yaml, &["-v"]);
    assert_eq!(code, 0, "{out}");
    out.lines()
        .filter_map(|l| l.strip_prefix("  | "))
        .map(str::to_owned)
        .collect()
}

/// Returns the index of the first line equal to `line`, failing with the transcript.
fn at(lines: &[String], line: &str) -> usize {
    lines
        .iter()
        .position(|l| l == line)
        .unwrap_or_else(|| panic!("no line `{line}` in:\n{}", lines.join("\n")))
}

/// Asserts that `lines` holds each of `expected` once, in this order.
fn in_order(lines: &[String], expected: &[&str]) {
    let positions: Vec<usize> = expected.iter().map(|line| at(lines, line)).collect();
    for (pair, window) in positions.windows(2).enumerate() {
        assert!(
            window[0] < window[1],
            "`{}` comes after `{}` in:\n{}",
            expected[pair],
            expected[pair + 1],
            lines.join("\n")
        );
    }
    for line in expected {
        let count = lines.iter().filter(|l| l == line).count();
        assert_eq!(
            count,
            1,
            "`{line}` shows {count} times in:\n{}",
            lines.join("\n")
        );
    }
}

/// A fake echo server, a proxy, and the built-in client through it; `steps` after `wait_connected`.
fn echo(proxy: &str, steps: &str) -> String {
    format!(
        "timeout: 5s\nserver: {{fake: echo}}\nproxy: {proxy}\nclient: {{via: proxy, retry_interval: 100ms}}\nsteps:\n  - wait_connected\n{steps}"
    )
}

#[test]
fn latency_costs_no_wall_time_on_the_virtual_clock() {
    // The scenario's own timeout is 1s of real time; the latency is 3s.
    let yaml = "timeout: 1s\nserver: {fake: echo}\nproxy: {}\nclient: {via: proxy}\nsteps:\n  - wait_connected\n  - fault: {latency: 3s, direction: to_client, name: slow}\n  - send_line: ping\n  - expect_no: {regex: ping, timeout: 2900ms}\n  - expect: {regex: \"^ping$\", timeout: 200ms}\n  - expect_fault: slow\n";
    let lines = transcript(yaml);
    in_order(
        &lines,
        &[
            "proxy: fault slow added: {latency: 3s, direction: to_client, name: slow}",
            r#"client > "ping\n""#,
            r#"proxy[client] > server "ping\n""#,
            r#"server[client] < "ping\n""#,
            r#"server[client] > "ping\n""#,
            "proxy[client]: fault slow fired to_client at byte 0",
            r#"proxy[client] > client "ping\n""#,
            r#"client < "ping\n""#,
        ],
    );
}

#[test]
fn jitter_draws_from_the_seed_and_keeps_the_order() {
    let yaml = echo(
        "{seed: 7}",
        "  - fault: {latency: 1s, jitter: 500ms, direction: to_server}\n  - send_line: a\n  - send_line: b\n  - send_line: c\n  - expect: \"^a$\"\n  - expect: \"^b$\"\n  - expect: \"^c$\"\n",
    );
    let (code, out) = run(&yaml, &["--repeat", "5"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn a_stall_holds_bytes_without_keeping_the_conversation_unsettled() {
    let yaml = echo(
        "{}",
        "  - fault: {stall: true, direction: to_server, name: stuck}\n  - send_line: held\n  - server_expect_no: {regex: held, timeout: 1s}\n  - expect_fault: stuck\n  - clear_fault: stuck\n  - server_expect: \"^held$\"\n  - expect: \"^held$\"\n",
    );
    let lines = transcript(&yaml);
    in_order(
        &lines,
        &[
            "proxy[client]: fault stuck fired to_server at byte 0",
            r#"client > "held\n""#,
            "proxy: cleared fault stuck",
            r#"proxy[client] > server "held\n""#,
            r#"client < "held\n""#,
        ],
    );
}

#[test]
fn drop_discards_one_direction_and_a_fin_still_passes() {
    let yaml = echo(
        "{}",
        "  - fault: {drop: true, direction: to_client, name: gone}\n  - send_line: lost\n  - server_expect: \"^lost$\"\n  - expect_fault: gone\n  - expect_no: {regex: lost, timeout: 1s}\n  - end\n  - expect_closed: fin\n",
    );
    let lines = transcript(&yaml);
    in_order(
        &lines,
        &[
            r#"server[client] > "lost\n""#,
            "proxy[client]: fault gone fired to_client at byte 0",
            r#"proxy[client] dropped to_client "lost\n""#,
            "proxy[client]: FIN to the server",
            "proxy[client]: FIN to the client",
            "client: closed (FIN)",
        ],
    );
    assert!(!lines.iter().any(|l| l == r#"client < "lost\n""#));
}

#[test]
fn slice_and_gap_write_pieces_on_the_virtual_clock() {
    let yaml = echo(
        "{}",
        "  - fault: {slice: 2, gap: 1s, direction: to_client}\n  - send_line: abcde\n  - expect_no: {regex: e, timeout: 1500ms}\n  - expect: \"^abcde$\"\n",
    );
    let lines = transcript(&yaml);
    let pieces: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("proxy[client] > client"))
        .collect();
    assert_eq!(
        pieces,
        [
            r#"proxy[client] > client "ab""#,
            r#"proxy[client] > client "cd""#,
            r#"proxy[client] > client "e\n""#
        ],
        "{}",
        lines.join("\n")
    );
}

#[test]
fn bandwidth_paces_bytes_on_the_virtual_clock() {
    // 100 B/s in tenths of a second: 10 bytes every 100ms.
    let yaml = echo(
        "{}",
        "  - fault: {bandwidth: 100B/s, direction: to_server}\n  - send: \"0123456789abcdefghij\"\n  - server_expect_no: {regex: j, timeout: 150ms}\n  - server_expect: j\n",
    );
    let lines = transcript(&yaml);
    in_order(
        &lines,
        &[
            r#"proxy[client] > server "0123456789""#,
            r#"proxy[client] > server "abcdefghij""#,
        ],
    );
}

#[test]
fn slow_close_holds_the_fin() {
    let yaml = echo(
        "{}",
        "  - fault: {slow_close: 2s, direction: to_server}\n  - end\n  - expect_no: {regex: x, timeout: 1s}\n  - expect_closed: fin\n",
    );
    let lines = transcript(&yaml);
    let fin_seen = at(&lines, "proxy[client]: client ended (FIN)");
    let passed = at(&lines, "proxy[client]: FIN to the server");
    assert!(fin_seen < passed, "{}", lines.join("\n"));
}

#[test]
fn cuts_reset_fin_and_half_close_each_end_as_they_say() {
    let reset = transcript(&echo(
        "{}",
        "  - fault: {cut: reset, direction: to_server, after_bytes: 3}\n  - send_line: abcdef\n  - server_expect: \"^abc\"\n  - expect_closed: reset\n  - expect_error: ECONNRESET\n",
    ));
    in_order(
        &reset,
        &[
            r#"proxy[client] > server "abc""#,
            "proxy[client]: fault cut fired to_server at byte 3",
            r#"proxy[client] dropped to_server "def\n""#,
            "proxy[client]: RST to the client",
            "client: closed (reset: ECONNRESET)",
            "proxy[client]: RST to the server",
            "server[client]: closed (reset by peer)",
        ],
    );
    let fin = transcript(&echo(
        "{}",
        "  - fault: {cut: fin, direction: to_server, on: \"^stop\"}\n  - send_line: go\n  - expect: \"^go$\"\n  - send_line: stop here\n  - expect_closed: fin\n",
    ));
    in_order(
        &fin,
        &[
            r#"proxy[client] > server "stop""#,
            "proxy[client]: fault cut fired to_server at byte 7",
            r#"proxy[client] dropped to_server " here\n""#,
            "proxy[client]: FIN to the server",
            "client: closed (FIN)",
        ],
    );
    // A half-close in one direction: the client gets a FIN, and what it
    // sends still reaches the server (the fake server then ends too).
    let half = transcript(&echo(
        "{}",
        "  - fault: {cut: half_close, direction: to_client, name: half}\n  - expect_fault: half\n  - expect_closed: fin\n",
    ));
    in_order(
        &half,
        &[
            "proxy[client]: fault half fired to_client at byte 0",
            "proxy[client]: FIN to the client",
            "client: peer ended (FIN)",
            "client: end (FIN)",
            "proxy[client]: client ended (FIN)",
            "proxy[client]: FIN to the server",
            "server[client]: peer ended (FIN)",
        ],
    );
}

#[test]
fn after_bytes_lands_on_byte_n_across_separate_writes() {
    // Two bytes pass in one write; the cut lands after the first byte of
    // the next one, byte 3 of the direction.
    let lines = transcript(&echo(
        "{}",
        "  - fault: {cut: reset, direction: to_server, after_bytes: 3, name: third}\n  - send: ab\n  - server_expect: \"^ab\"\n  - send: cdef\n  - expect_closed: reset\n  - expect_fault: third\n",
    ));
    in_order(
        &lines,
        &[
            r#"proxy[client] > server "ab""#,
            r#"server[client] < "ab""#,
            r#"client > "cdef""#,
            r#"proxy[client] > server "c""#,
            "proxy[client]: fault third fired to_server at byte 3",
            r#"proxy[client] dropped to_server "def""#,
            "proxy[client]: RST to the client",
            "client: closed (reset: ECONNRESET)",
        ],
    );
}

#[test]
fn both_directions_take_a_fault_each_on_their_own_bytes() {
    let lines = transcript(&echo(
        "{}",
        "  - fault: {latency: 1s, name: both}\n  - send_line: x\n  - expect: \"^x$\"\n",
    ));
    in_order(
        &lines,
        &[
            "proxy[client]: fault both fired to_server at byte 0",
            r#"server[client] < "x\n""#,
            "proxy[client]: fault both fired to_client at byte 0",
            r#"client < "x\n""#,
        ],
    );
}

#[test]
fn connection_and_probability_pick_the_same_connections_every_run() {
    // Only the second connection is cut; a seeded probability of 0.5 picks
    // connections, the same ones every run.
    let yaml = echo(
        "{seed: 3}",
        "  - fault: {cut: reset, connection: 2, name: second}\n  - send_line: one\n  - expect: \"^one$\"\n  - server_close: rst\n  - wait_reconnect\n  - expect_fault: {name: second, connection: 2}\n  - expect_closed: reset\n  - clear_fault\n  - wait_reconnect\n  - fault: {drop: true, probability: 0.5, direction: to_client}\n  - send_line: maybe\n  - server_expect: \"^maybe$\"\n  - expect_connections: 3\n",
    );
    let (code, out) = run(&yaml, &["--repeat", "10"]);
    assert_eq!(code, 0, "{out}");
}

/// Six connections through a proxy whose seeded coin drops each one's
/// echo with probability 0.5; returns which echoes were dropped.
fn coin_tosses(seed: u64) -> Vec<bool> {
    let mut steps = String::from(
        "  - fault: {drop: true, probability: 0.5, direction: to_client, name: coin}\n",
    );
    for i in 0..6 {
        steps.push_str(&format!(
            "  - send_line: m{i}\n  - server_expect: \"^m{i}$\"\n  - server_close: rst\n  - expect_closed: reset\n  - wait_reconnect\n"
        ));
    }
    let yaml = echo(&format!("{{seed: {seed}}}"), &steps);
    // The same seed makes the same choices on every run.
    let (code, out) = run(&yaml, &["--repeat", "5", "-j", "2"]);
    assert_eq!(code, 0, "seed {seed}:\n{out}");
    let lines = transcript(&yaml);
    (0..6)
        .map(|i| {
            let dropped = format!(r#"proxy[client] dropped to_client "m{i}\n""#);
            let delivered = format!(r#"client < "m{i}\n""#);
            let (d, c) = (lines.contains(&dropped), lines.contains(&delivered));
            assert!(
                d != c,
                "m{i} dropped: {d}, delivered: {c}\n{}",
                lines.join("\n")
            );
            d
        })
        .collect()
}

#[test]
fn a_seeded_probability_picks_the_same_connections_each_run_and_the_seed_decides() {
    let one = coin_tosses(1);
    let two = coin_tosses(2);
    assert_ne!(one, two, "seeds 1 and 2 made the same choices");
    // A probability of 0.5 is neither never nor always.
    let all: Vec<bool> = one.iter().chain(&two).copied().collect();
    assert!(all.contains(&true) && all.contains(&false), "{all:?}");
}

#[test]
fn expect_fault_fails_with_where_it_fired_or_at_once_without_the_fault() {
    let (code, out) = run(
        &echo(
            "{}",
            "  - fault: {latency: 1s, direction: to_client, name: slow}\n  - expect_fault: {name: slow, connection: 7, timeout: 2s}\n",
        ),
        &[],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("expected fault `slow` to fire on connection 7 within 2s"),
        "{out}"
    );
    let (code, out) = run(&echo("{}", "  - expect_fault: never\n"), &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("proxy has no fault named `never` (it has no fault in effect)"),
        "{out}"
    );
    let (code, out) = run(
        &echo("{}", "  - fault: {drop: true}\n  - clear_fault: dorp\n"),
        &[],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("proxy has no fault named `dorp`; its faults are `drop`"),
        "{out}"
    );
}

#[test]
fn proxy_down_refuse_blackhole_and_reset_then_up() {
    let lines = transcript(
        "timeout: 10s\nserver: {fake: echo}\nproxy: {}\nclient: {via: proxy, retry_interval: 100ms, max_retries: 20, connect_timeout: 300ms}\nsteps:\n  - wait_connected\n  - proxy_down: refuse\n  - send_line: still\n  - expect: \"^still$\"\n  - server_close: rst\n  - expect_closed: reset\n  - expect_error: ECONNREFUSED\n  - proxy_down: blackhole\n  - expect_error: ETIMEDOUT\n  - proxy_up\n  - wait_reconnect\n  - proxy_down: reset\n  - expect_closed: reset\n  - proxy_up\n  - wait_reconnect\n  - send_line: back\n  - expect: \"^back$\"\n",
    );
    in_order(
        &lines,
        &[
            "proxy: down (refuse): new connections are refused; 1 connection stays open",
            r#"client < "still\n""#,
            "client: connect failed: ECONNREFUSED",
            "proxy: down (blackhole): new connections get no answer; 0 connections stay open",
            "client: connect failed: ETIMEDOUT",
            "proxy[client]: accepted connection 2",
            "proxy: down (reset): 1 connection reset; new connections are refused",
            "proxy[client]: accepted connection 3",
            r#"client < "back\n""#,
        ],
    );
}

#[test]
fn a_killed_server_behind_the_proxy_looks_like_a_reset_after_a_connect() {
    let (code, out) = run(
        &echo(
            "{}",
            "  - kill_server\n  - expect_closed: reset\n  - expect_error: ECONNRESET\n  - wait_reconnect\n  - expect_closed: reset\n  - expect_gave_up: 1s\n",
        ),
        &["-v"],
    );
    // The client connects to the proxy every time, so its retry count
    // starts again and it never gives up.
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("proxy[client]: cannot connect to the upstream: ECONNREFUSED"),
        "{out}"
    );
    assert!(!out.contains("client: connect failed"), "{out}");
    assert!(
        out.contains("expected the client to give up within 1s; last error of client: ECONNRESET"),
        "{out}"
    );
}

#[test]
fn located_errors_for_bad_faults_and_proxy_steps() {
    let yaml = "server: {fake: echo}\nproxy: {}\nclient: {via: proxy}\nsteps:\n  - fault: {latency: 200, direction: to_sever}\n  - fault: {cut: reset, after_byte: 3}\n  - fault: {latency: 1s, drop: true}\n  - fault: {drop: true, proxy: nope}\n  - proxy_down: refuze\n";
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("bad.yaml");
    std::fs::write(&file, yaml).expect("write");
    let (code, out) = run_file(&file, &[]);
    assert_eq!(code, 2, "{out}");
    let name = file.display().to_string();
    for (at, message, hint) in [
        (
            "5:22",
            "expected a duration with a unit for `latency`, found `200`",
            "add a unit: `200ms` or `200s`",
        ),
        (
            "5:38",
            "expected `to_server`, `to_client` or `both` for `direction`, found `to_sever`",
            "did you mean `to_server`?",
        ),
        (
            "6:25",
            "unknown key `after_byte` in `fault`",
            "did you mean `after_bytes`?",
        ),
        (
            "7:26",
            "a fault has one kind, but this one has `latency` and `drop`",
            "add two faults, each with its own kind",
        ),
        ("8:32", "unknown proxy `nope`", "the only proxy is `proxy`"),
        ("9:17", "unknown mode `refuze`", "did you mean `refuse`?"),
    ] {
        assert!(
            out.contains(&format!("{name}:{at}: error: {message}")),
            "{at}: {message}\n{out}"
        );
        assert!(out.contains(hint), "{hint}\n{out}");
    }
    let (code, out) = run(
        "server: {fake: echo}\nclient: {}\nsteps:\n  - fault: {drop: true}\n",
        &[],
    );
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("`fault` needs a proxy, and this scenario has none"),
        "{out}"
    );
}

#[test]
fn proxy_expect_and_expect_connections_with_a_server_program() {
    let yaml = "timeout: 20s\nserver:\n  command: [python3, fixtures/line_server.py, \"${port}\"]\n  ready: {log: \"^ready on\"}\nproxy: {}\nclient: {via: proxy, retry_interval: 100ms, max_retries: 50}\nsteps:\n  - wait_connected\n  - send_line: PING\n  - proxy_expect: {regex: \"^PING$\", direction: to_server}\n  - proxy_expect: {regex: \"^PONG$\", direction: to_client, connection: client}\n  - expect: \"^PONG$\"\n  - fault: {cut: reset, direction: to_server}\n  - expect_closed: reset\n  - clear_fault\n  - wait_reconnect\n  - send_line: COUNT\n  - expect: \"^0$\"\n  - expect_connections: 2\n";
    // A program runs in its scenario's folder (a temporary one here).
    let yaml = &yaml.replace("fixtures/line_server.py", LINE_SERVER);
    let lines = transcript(yaml);
    in_order(
        &lines,
        &[
            r#"proxy[client] > server "PING\n""#,
            r#"proxy[client] > client "PONG\n""#,
            r#"client < "PONG\n""#,
        ],
    );
    let (code, out) = run(
        &yaml.replace(
            "expect_connections: 2",
            "expect_connections: {count: 3, timeout: 1s}",
        ),
        &[],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("expected 3 accepted connections within 1s, the proxy accepted 2"),
        "{out}"
    );
}

/// Two busy loops, ended (by their handles) when dropped. Each loop is the
/// process spawned, so killing the handle ends it, and it ends by itself
/// after two minutes should the test process die first.
struct Hogs(Vec<Child>);

impl Hogs {
    fn start() -> Self {
        let hog = "import time\nend = time.monotonic() + 120\nwhile time.monotonic() < end: pass\n";
        Self(
            (0..2)
                .map(|_| {
                    StdCommand::new("python3")
                        .args(["-c", hog])
                        .spawn()
                        .expect("start a CPU hog")
                })
                .collect(),
        )
    }
}

impl Drop for Hogs {
    fn drop(&mut self) {
        for hog in &mut self.0 {
            let _ = hog.kill();
            let _ = hog.wait();
        }
    }
}

#[test]
fn one_transcript_in_thirty_runs_beside_two_cpu_hogs() {
    let _hogs = Hogs::start();
    for scenario in [
        "scenarios/proxy-faults.yaml",
        "scenarios/python-line-server-proxy.yaml",
    ] {
        let (code, out) = run_file(&root().join(scenario), &["--repeat", "30", "-j", "4"]);
        // Runs that disagree fail the scenario and say
        // "flaky: N distinct transcripts in 30 runs".
        assert_eq!(code, 0, "{scenario}:\n{out}");
        assert!(out.ends_with("1 passed, 0 failed\n"), "{scenario}:\n{out}");
        assert!(!out.contains("distinct transcripts"), "{scenario}:\n{out}");
    }
}

#[test]
fn a_framed_proxy_shows_frames_whole_however_its_writes_cut_them() {
    // The slice fault writes 3 bytes at a time; the transcript shows the
    // frame once, and the partial frame each direction ended in at close.
    let yaml = "server: {fake: echo}\nproxy:\n  framing: {length: u16be}\nclient: {via: proxy, framing: {length: u16be}}\nsteps:\n  - wait_connected\n  - fault: {slice: 3, direction: to_server}\n  - send_frame: hello world\n  - expect_frame: '^hello world$'\n  - send: {hex: \"00 09 61 62\"}\n  - server_close: fin\n  - expect_closed\n";
    let lines = transcript(yaml);
    in_order(
        &lines,
        &[
            "proxy[#1] > server frame(13) \"hello world\"",
            "proxy[#1] > client frame(13) \"hello world\"",
            "proxy[#1] > server partial frame(4 of 11) \"\\0\\tab\"",
            "proxy[#1]: closed (17 bytes to the server, 17 to the client)",
        ],
    );
    let forwarded = lines
        .iter()
        .filter(|l| l.starts_with("proxy[#1] > server"))
        .count();
    assert_eq!(forwarded, 2, "{lines:#?}");
    let (code, out) = run(
        "server: {fake: echo}\nproxy: {framing: {length: u16}}\nclient: {via: proxy}\nsteps:\n  - wait_connected\n",
        &[],
    );
    assert_eq!(code, 2, "{out}");
}
