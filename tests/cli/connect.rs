//! `tcprun connect`: the reconnecting netcat, against real loopback servers.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::support::{FullQueue, Server, Tcprun};

/// `tcprun connect TARGET ARGS...`
fn connect(target: &str, args: &[&str]) -> Tcprun {
    let mut all = vec!["connect", target];
    all.extend_from_slice(args);
    Tcprun::spawn(&all)
}

fn count(lines: &[String], matches: impl Fn(&str) -> bool) -> usize {
    lines.iter().filter(|l| matches(l)).count()
}

fn names(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["event"].as_str().expect("event name"))
        .collect()
}

#[test]
fn echoes_and_ends_in_order_on_stdin_eof() {
    let server = Server::listening();
    // Reconnecting stays on: after the orderly end it must exit, not reconnect.
    let mut client = connect(&server.target(), &["--retry-interval", "20ms"]);
    let echo = server.accept().echo();
    client.write("hello\n");
    client.write("wörld\n");
    client.close_stdin();
    client.assert_exit(0);
    assert_eq!(
        echo.join().expect("echo server"),
        "hello\nwörld\n".as_bytes()
    );
    assert_eq!(client.stdout(), "hello\nwörld\n".as_bytes());
    let lines = client.stderr_lines();
    let connected = format!("tcprun: connected to {}", server.target());
    assert_eq!(count(lines, |l| l == connected), 1, "{lines:#?}");
    assert!(lines.iter().any(|l| l == "tcprun: connection closed"));
    assert_eq!(count(lines, |l| l.contains("retry")), 0, "{lines:#?}");
}

/// Runs `tcprun connect --encoding ENCODING` against a server that writes
/// `chunks`, each only after the client reported receiving the one before
/// (so each arrives in its own read), then closes; returns stdout.
fn received_as(encoding: Option<&str>, chunks: &[&[u8]]) -> Vec<u8> {
    match encoding {
        Some(encoding) => received_with(&["--encoding", encoding], chunks),
        None => received_with(&[], chunks),
    }
}

/// Like [`received_as`], with `extra` arguments.
fn received_with(extra: &[&str], chunks: &[&[u8]]) -> Vec<u8> {
    let server = Server::listening();
    let mut args = vec!["--no-reconnect", "--events", "json"];
    args.extend_from_slice(extra);
    let mut client = connect(&server.target(), &args);
    let mut conn = server.accept();
    let (mut sent, mut received) = (0, 0);
    for chunk in chunks {
        conn.send(chunk);
        sent += chunk.len();
        client.wait_received(sent, &mut received);
    }
    assert_eq!(conn.finish(), b"");
    client.assert_exit(0);
    let reads = count(client.stderr_lines(), |l| {
        l.contains(r#""event":"received""#)
    });
    assert_eq!(reads, chunks.len(), "each chunk in its own read");
    client.stdout().to_vec()
}

#[test]
fn utf8_keeps_characters_split_across_reads_whole() {
    // `€` is E2 82 AC and `😀` is F0 9F 98 80: both cut across reads.
    let stdout = received_as(
        Some("utf8"),
        &[b"a\xe2\x82", b"\xacb\xf0", b"\x9f\x98\x80!\n"],
    );
    assert_eq!(String::from_utf8_lossy(&stdout), "a€b😀!\n");
}

#[test]
fn latin1_maps_each_byte_to_its_code_point() {
    let stdout = received_as(Some("latin1"), &[b"caf\xe9 ", b"\xff\xa3"]);
    assert_eq!(String::from_utf8_lossy(&stdout), "café ÿ£");
}

#[test]
fn ascii_clears_the_high_bit() {
    let stdout = received_as(Some("ascii"), &[b"A\xc1z", b"\xb0"]);
    assert_eq!(String::from_utf8_lossy(&stdout), "AAz0");
}

#[test]
fn hex_writes_two_digits_per_byte() {
    let stdout = received_as(Some("hex"), &[b"\x00\xab", b"\x10\xff"]);
    assert_eq!(String::from_utf8_lossy(&stdout), "00ab10ff");
}

#[test]
fn base64_spans_read_boundaries() {
    let (first, second): (&[u8], &[u8]) = (b"\x00\x01\x02\x03", b"\xfb\xff\xfe\x10\x20");
    let whole = STANDARD.encode([first, second].concat());
    let per_read = STANDARD.encode(first) + &STANDARD.encode(second);
    assert_ne!(
        whole, per_read,
        "the chunks must not line up with base64 groups"
    );
    let stdout = received_as(Some("base64"), &[first, second]);
    assert_eq!(String::from_utf8_lossy(&stdout), whole);
}

#[test]
fn without_encoding_bytes_pass_through_unchanged() {
    let all: Vec<u8> = (0..=255).collect();
    let stdout = received_as(None, &[&all[..100], &all[100..]]);
    assert_eq!(stdout, all);
}

/// Sends `stdin` with `--send-encoding ENCODING` and `extra` flags, then
/// EOF; returns what the server received and the finished client, which
/// exited with `code`.
fn sent_as(encoding: &str, extra: &[&str], stdin: &str, code: i32) -> (Vec<u8>, Tcprun) {
    let server = Server::listening();
    let mut args = vec!["--no-reconnect", "--send-encoding", encoding];
    args.extend_from_slice(extra);
    let mut client = connect(&server.target(), &args);
    let mut conn = server.accept();
    client.write(stdin);
    client.close_stdin();
    let received = conn.read_to_end();
    conn.finish();
    client.assert_exit(code);
    (received, client)
}

#[test]
fn send_encoding_base64_decodes_each_line() {
    let (received, _) = sent_as("base64", &[], "SGVs\nbG8gV29y\r\nbGQh\n\nAP8=\n", 0);
    assert_eq!(received, b"Hello World!\x00\xff");
}

#[test]
fn send_encoding_hex_decodes_each_line_and_skips_bad_ones() {
    let (received, client) = sent_as("hex", &[], "48 69\n00ff\nzz\n0A\n", 1);
    assert_eq!(received, b"Hi\x00\xff\n");
    let lines = client.stderr_lines();
    assert_eq!(
        count(lines, |l| l
            .starts_with("tcprun: stdin line 3 not sent: invalid hex")),
        1,
        "{lines:#?}"
    );
    assert_eq!(
        count(lines, |l| l
            == "tcprun: 1 line of stdin not sent (see above): exiting with 1"),
        1,
        "{lines:#?}"
    );
}

#[test]
fn a_line_that_cannot_be_decoded_is_said_and_fails_also_under_quiet() {
    let (received, client) = sent_as("hex", &["-q"], "zz\n41\n", 1);
    assert_eq!(received, b"A");
    let lines = client.stderr_lines();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("tcprun: stdin line 1 not sent: invalid hex")),
        "{lines:#?}"
    );
}

#[test]
fn half_close_lets_the_server_answer_after_our_eof() {
    let server = Server::listening();
    let mut client = connect(&server.target(), &["--retry-interval", "20ms"]);
    let mut conn = server.accept();
    client.write("count me\n");
    client.close_stdin();
    // The server sees our FIN first, and only then answers and closes.
    let request = conn.read_to_end();
    assert_eq!(request, b"count me\n");
    conn.send(format!("{} bytes\n", request.len()));
    assert_eq!(conn.finish(), b"");
    client.assert_exit(0);
    assert_eq!(client.stdout(), b"9 bytes\n");
    assert_eq!(count(client.stderr_lines(), |l| l.contains("retry")), 0);
}

#[test]
fn orderly_close_by_the_server_reports_closed_and_exits_0() {
    let server = Server::listening();
    let mut client = connect(&server.target(), &["--no-reconnect"]);
    let conn = server.accept();
    client.wait_prefix("tcprun: connected to ");
    assert_eq!(
        conn.finish(),
        b"",
        "the client answers our FIN with its own"
    );
    client.assert_exit(0);
    let lines = client.stderr_lines();
    assert!(
        lines.iter().any(|l| l == "tcprun: connection closed"),
        "{lines:#?}"
    );
    assert_eq!(count(lines, |l| l.contains("ECONNRESET")), 0, "{lines:#?}");
}

#[test]
fn reset_by_the_server_reports_econnreset_and_exits_1() {
    let server = Server::listening();
    let mut client = connect(&server.target(), &["--no-reconnect"]);
    let conn = server.accept();
    client.wait_prefix("tcprun: connected to ");
    conn.reset();
    client.assert_exit(1);
    let lines = client.stderr_lines();
    assert_eq!(
        count(lines, |l| l
            == "tcprun: connection reset by peer (ECONNRESET)"),
        1,
        "{lines:#?}"
    );
    assert_eq!(count(lines, |l| l == "tcprun: connection closed"), 0);
}

#[test]
fn gives_up_after_exactly_max_retries() {
    let server = Server::refusing();
    let mut client = connect(
        &server.target(),
        &["--retry-interval", "20ms", "--max-retries", "3"],
    );
    // stdin stays open: only the retry limit may end the run.
    client.assert_exit(1);
    let lines = client.stderr_lines();
    let retries: Vec<&str> = lines
        .iter()
        .filter(|l| l.starts_with("tcprun: retry "))
        .map(String::as_str)
        .collect();
    assert_eq!(
        retries,
        [
            "tcprun: retry 1/3 in 20ms",
            "tcprun: retry 2/3 in 20ms",
            "tcprun: retry 3/3 in 20ms"
        ]
    );
    let refused = count(lines, |l| {
        l.starts_with("tcprun: cannot connect: ECONNREFUSED")
    });
    assert_eq!(refused, 4, "the first attempt and 3 retries: {lines:#?}");
    assert_eq!(
        lines.last().map(String::as_str),
        Some("tcprun: gave up after 3 retries: ECONNREFUSED")
    );
    assert!(client.stdout().is_empty());
}

#[test]
fn a_successful_connect_resets_the_retry_count() {
    let mut server = Server::refusing();
    // The interval only has to cover the time between reading a `retry 2/2`
    // line and listening: a real-time margin, a whole second wide. (The
    // client's own timers cannot be driven from outside.)
    let mut client = connect(
        &server.target(),
        &["--retry-interval", "1s", "--max-retries", "2"],
    );
    // First outage: the first attempt and retry 1 are refused.
    client.wait_line("tcprun: retry 1/2 in 1s");
    client.wait_line("tcprun: retry 2/2 in 1s");
    server.start();
    let conn = server.accept();
    client.wait_prefix("tcprun: connected to ");
    // Second outage: the connection is lost, then retry 1 is refused.
    server.stop();
    assert_eq!(conn.finish(), b"");
    client.wait_line("tcprun: connection closed");
    client.wait_line("tcprun: retry 1/2 in 1s");
    client.wait_line("tcprun: retry 2/2 in 1s");
    server.start();
    let mut conn = server.accept();
    client.wait_prefix("tcprun: connected to ");
    // Four failures in all, never more than two in a row: no giving up.
    client.write("still here\n");
    client.close_stdin();
    assert_eq!(conn.read_to_end(), b"still here\n");
    conn.finish();
    client.assert_exit(0);
    let lines = client.stderr_lines();
    assert_eq!(
        count(lines, |l| l.starts_with("tcprun: retry ")),
        4,
        "{lines:#?}"
    );
    assert_eq!(count(lines, |l| l.contains("gave up")), 0, "{lines:#?}");
}

/// Checks that after the `quit` event nothing tries to connect again.
fn assert_no_reconnect_after_quit(client: &Tcprun) {
    let events = client.events();
    let names = names(&events);
    let quit = names
        .iter()
        .position(|&n| n == "quit")
        .unwrap_or_else(|| panic!("no quit event: {names:?}"));
    for name in &names[quit + 1..] {
        assert!(
            !matches!(*name, "connecting" | "retry" | "connected" | "error"),
            "{name} after quit: {names:?}"
        );
    }
}

fn count_of(names: &[&str], name: &str) -> usize {
    names.iter().filter(|&&n| n == name).count()
}

#[test]
fn quit_ends_the_connection_without_sending_the_word() {
    let server = Server::listening();
    let mut client = connect(
        &server.target(),
        &[
            "--quit-word",
            "quit",
            "--retry-interval",
            "20ms",
            "--events",
            "json",
        ],
    );
    let mut conn = server.accept();
    client.write("hello\n");
    assert_eq!(conn.read_until(b"\n"), b"hello\n");
    // stdin stays open: only the quit word ends the input.
    client.write("  QUIT \nafter\n");
    assert_eq!(conn.read_to_end(), b"", "nothing after the quit word");
    conn.finish();
    client.assert_exit(0);
    assert_no_reconnect_after_quit(&client);
    assert_eq!(count_of(&names(&client.events()), "connecting"), 1);
}

#[test]
fn after_quit_a_server_that_never_closes_gets_quit_timeout_then_the_client_closes() {
    let server = Server::listening();
    let mut client = connect(
        &server.target(),
        &[
            "--quit-word",
            "quit",
            "--quit-timeout",
            "50ms",
            "--events",
            "json",
        ],
    );
    let mut conn = server.accept();
    client.wait_event("connected");
    client.write("quit\n");
    // The server neither closes nor answers; stdin stays open.
    client.wait_event("quit_timeout");
    client.assert_exit(0);
    assert_eq!(
        conn.read_to_end(),
        b"",
        "the client closed; nothing was sent"
    );
    assert_no_reconnect_after_quit(&client);
}

#[test]
fn quit_while_disconnected_stops_reconnecting() {
    let server = Server::refusing();
    let mut client = connect(
        &server.target(),
        &[
            "--quit-word",
            "quit",
            "--retry-interval",
            "100ms",
            "--max-retries",
            "1000",
            "--events",
            "json",
        ],
    );
    client.wait_event("retry");
    client.write("quit\n");
    client.assert_exit(0);
    assert_no_reconnect_after_quit(&client);
}

#[test]
fn input_held_while_down_is_sent_once_in_order_after_reconnect() {
    let mut server = Server::refusing();
    let mut client = connect(
        &server.target(),
        &[
            "--retry-interval",
            "20ms",
            "--max-retries",
            "1000",
            "--events",
            "json",
        ],
    );
    client.wait_event("error");
    let lines = ["one\n", "two\n", "three\n"];
    for line in lines {
        client.write(line);
        let queued = client.wait_event("queued");
        assert_eq!(queued["bytes"], line.len());
    }
    server.start();
    let mut conn = server.accept();
    client.close_stdin();
    assert_eq!(conn.read_to_end(), lines.concat().as_bytes());
    conn.finish();
    client.assert_exit(0);
    let events = client.events();
    let names = names(&events);
    assert_eq!(count_of(&names, "connected"), 1, "{names:?}");
}

#[test]
fn each_line_reaches_the_server_once_across_restarts() {
    let mut server = Server::listening();
    let mut client = connect(
        &server.target(),
        &["--retry-interval", "20ms", "--max-retries", "1000"],
    );
    let mut conn = server.accept();
    for restart in 1..=3 {
        let line = format!("line {restart}\n");
        client.write(&line);
        assert_eq!(conn.read_until(b"\n"), line.as_bytes());
        // Restart: the listener goes away, the connection is closed (the
        // client's FIN is read, so every byte it sent here is seen), and a
        // new listener takes the same port.
        server.stop();
        assert_eq!(
            conn.finish(),
            b"",
            "connection {restart} got more than its line"
        );
        server.start();
        conn = server.accept();
    }
    client.write("line 4\n");
    client.close_stdin();
    assert_eq!(conn.read_to_end(), b"line 4\n");
    conn.finish();
    client.assert_exit(0);
    let lines = client.stderr_lines();
    assert_eq!(count(lines, |l| l.starts_with("tcprun: connected to ")), 4);
    assert!(client.stdout().is_empty());
}

#[test]
fn json_events_name_econnrefused() {
    let server = Server::refusing();
    let mut client = connect(
        &server.target(),
        &["--max-retries", "0", "--events", "json"],
    );
    client.assert_exit(1);
    let events = client.events();
    let errors: Vec<&Value> = events.iter().filter(|e| e["event"] == "error").collect();
    assert_eq!(errors.len(), 1, "{events:#?}");
    assert_eq!(errors[0]["code"], "ECONNREFUSED");
    let last = events.last().expect("events");
    assert_eq!(last["event"], "gave_up");
    assert_eq!(last["code"], "ECONNREFUSED");
    assert_eq!(last["retries"], 0);
}

#[test]
fn json_events_name_enotfound() {
    let mut client = Tcprun::spawn(&[
        "connect",
        "nonexistent.invalid",
        "4001",
        "--max-retries",
        "0",
        "--events",
        "json",
    ]);
    client.assert_exit(1);
    let events = client.events();
    let errors: Vec<&Value> = events.iter().filter(|e| e["event"] == "error").collect();
    assert_eq!(errors.len(), 1, "{events:#?}");
    assert_eq!(errors[0]["code"], "ENOTFOUND");
}

#[test]
fn usage_errors_exit_2_with_one_line() {
    let cases: [(&[&str], &str); 8] = [
        (&["connect", "99999"], "invalid port `99999`"),
        (&["connect", "127.0.0.1", "0"], "invalid port `0`"),
        (&["connect", "nohost"], "invalid port `nohost`"),
        (
            &["connect", "4001", "--retry-interval", "5parsecs"],
            "--retry-interval",
        ),
        (
            &["connect", "4001", "--connect-timeout", "soon"],
            "--connect-timeout",
        ),
        (
            &["connect", "4001", "--buffer-limit", "0"],
            "--buffer-limit",
        ),
        (
            &["connect", "4001", "--quit-timeout", "300000000000y"],
            "--quit-timeout",
        ),
        (
            &["connect", "4001", "--idle-timeout", "400d"],
            "at most 365 days",
        ),
    ];
    for (args, expected) in cases {
        let mut client = Tcprun::spawn_with_env(args, &[("RUST_BACKTRACE", "1")]);
        let code = client.wait_exit();
        let lines = client.stderr_lines();
        assert_eq!(code, 2, "{args:?}: {lines:#?}");
        // clap adds a standard hint after its one-line error; nothing else.
        let message: Vec<&String> = lines
            .iter()
            .filter(|l| !l.is_empty() && *l != "For more information, try '--help'.")
            .collect();
        assert_eq!(message.len(), 1, "{args:?}: {lines:#?}");
        assert!(message[0].contains(expected), "{args:?}: {lines:#?}");
        assert!(
            !lines
                .iter()
                .any(|l| l.contains("panicked") || l.contains("backtrace")),
            "{args:?}: {lines:#?}"
        );
        assert!(client.stdout().is_empty());
    }
}

#[test]
fn port_alone_connects_to_localhost() {
    let server = Server::listening();
    let port = server.port().to_string();
    let mut client = Tcprun::spawn(&["connect", &port, "--retry-interval", "20ms"]);
    let echo = server.accept().echo();
    client.write("ping\n");
    client.close_stdin();
    client.assert_exit(0);
    assert_eq!(echo.join().expect("echo server"), b"ping\n");
    assert_eq!(client.stdout(), b"ping\n");
    let lines = client.stderr_lines();
    assert_eq!(
        lines.first(),
        Some(&format!("tcprun: connecting to localhost:{port}"))
    );
    assert!(
        lines.contains(&format!("tcprun: connected to 127.0.0.1:{port}")),
        "{lines:#?}"
    );
}

#[test]
fn ipv6_targets_connect_in_both_forms() {
    let listener = std::net::TcpListener::bind("[::1]:0").expect("IPv6 loopback");
    let port = listener.local_addr().expect("addr").port().to_string();
    let echo = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let mut received = Vec::new();
        for _ in 0..2 {
            let (mut conn, _) = listener.accept().expect("accept");
            let mut data = Vec::new();
            conn.read_to_end(&mut data).expect("read");
            conn.write_all(&data).expect("echo");
            received.push(data);
        }
        received
    });
    for target in [
        vec!["::1".to_owned(), port.clone()],
        vec![format!("[::1]:{port}")],
    ] {
        let mut args: Vec<&str> = vec!["connect"];
        args.extend(target.iter().map(String::as_str));
        let mut client = Tcprun::spawn(&args);
        client.write("six\n");
        client.close_stdin();
        client.assert_exit(0);
        assert_eq!(client.stdout(), b"six\n");
        assert!(
            client
                .stderr_lines()
                .contains(&format!("tcprun: connected to [::1]:{port}")),
            "{:#?}",
            client.stderr_lines()
        );
    }
    assert_eq!(
        echo.join().expect("server"),
        vec![b"six\n".to_vec(), b"six\n".to_vec()]
    );
}

/// A listener whose accept queue is full drops new SYNs, so a connect hangs:
/// the connect timeout turns that into ETIMEDOUT.
#[test]
fn connect_timeout_reports_etimedout() {
    let full = FullQueue::new();
    crate::support::assert_connect_times_out(full.addr().port());
    drop(full);
}

/// While the server is down, input beyond --buffer-limit is not read (the
/// writer blocks) and none is lost: it all arrives, in order, once it is up.
#[test]
fn input_beyond_the_buffer_limit_waits_and_is_never_lost() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, mpsc};

    const TOTAL: usize = 8 << 20;
    const LIMIT: u64 = 64 * 1024;
    let pattern = |i: usize| (i % 251) as u8;
    let mut server = Server::refusing();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tcprun"))
        .args([
            "connect",
            &server.target(),
            "--retry-interval",
            "20ms",
            "--max-retries",
            "1000",
        ])
        .args(["--buffer-limit", &LIMIT.to_string(), "--events", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tcprun starts");
    let mut stdin = child.stdin.take().expect("stdin");
    let data: Vec<u8> = (0..TOTAL).map(pattern).collect();
    let written = Arc::new(AtomicBool::new(false));
    let writer = {
        let written = written.clone();
        std::thread::spawn(move || {
            stdin.write_all(&data).expect("write stdin");
            written.store(true, Ordering::SeqCst);
        })
    };
    let (events_tx, events) = mpsc::channel::<serde_json::Value>();
    let stderr = BufReader::new(child.stderr.take().expect("stderr"));
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            if let Ok(event) = serde_json::from_str(&line) {
                let _ = events_tx.send(event);
            }
        }
    });
    // Wait until the held input reaches the limit, then let three more
    // retries fail: input must not grow beyond the limit and one chunk.
    let mut queued = 0u64;
    let mut retries = 0;
    while queued < LIMIT || retries < 3 {
        let event = events
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("events keep coming");
        match event["event"].as_str() {
            Some("queued") => queued += event["bytes"].as_u64().expect("bytes"),
            Some("retry") if queued >= LIMIT => retries += 1,
            _ => {}
        }
    }
    assert!(
        queued <= LIMIT + (256 << 10),
        "held {queued} bytes, beyond the limit and one chunk"
    );
    assert!(
        !written.load(Ordering::SeqCst),
        "the writer is held back, not its input dropped"
    );

    server.start();
    let mut conn = server.accept();
    // The writer closes stdin when done: the client's FIN ends the stream.
    let received = conn.read_to_end();
    writer.join().expect("writer");
    assert_eq!(received.len(), TOTAL);
    assert!(
        received.iter().enumerate().all(|(i, &b)| b == pattern(i)),
        "in order, nothing lost or doubled"
    );
    let _ = child.kill();
    let _ = child.wait();
}

/// Input read before the connection exists is sent once it is up, before
/// the FIN, also when the quit word follows it at once (it was dropped).
#[test]
fn input_held_before_a_quit_is_sent_once_connected_then_fin() {
    let mut server = Server::refusing();
    let mut client = connect(
        &server.target(),
        &[
            "--quit-word",
            "quit",
            "--retry-interval",
            "20ms",
            "--max-retries",
            "100000",
            "--events",
            "json",
        ],
    );
    client.wait_event("error");
    client.write("SET a 1\nquit\n");
    assert_eq!(client.wait_event("queued")["bytes"], 8);
    client.wait_event("quit");
    server.start();
    let mut conn = server.accept();
    assert_eq!(conn.read_to_end(), b"SET a 1\n", "the held line, then FIN");
    conn.finish();
    client.assert_exit(0);
    let events = client.events();
    let names = names(&events);
    assert_eq!(count_of(&names, "connected"), 1, "{names:?}");
    assert_eq!(count_of(&names, "unsent"), 0, "{names:?}");
}

/// Held input that can never be sent, because `--quit-timeout` ran out,
/// is counted in an event and a status line (even with -q), and exits 1.
#[test]
fn input_never_sent_before_the_quit_timeout_is_counted_and_exits_1() {
    for (format, quiet) in [("json", false), ("human", true)] {
        let server = Server::refusing();
        let mut args = vec![
            "--quit-word",
            "quit",
            "--quit-timeout",
            "100ms",
            "--retry-interval",
            "20ms",
            "--max-retries",
            "100000",
            "--events",
            format,
        ];
        if quiet {
            args.push("-q");
        }
        let mut client = connect(&server.target(), &args);
        client.write("hello\nquit\n");
        if format == "json" {
            let unsent = client.wait_event("unsent");
            assert_eq!(unsent["bytes"], 6, "{unsent}");
            assert_eq!(unsent["reason"], "stopped", "{unsent}");
        } else {
            client.wait_line("tcprun: 6 bytes of input never sent: stopped while they waited");
        }
        client.assert_exit(1);
        drop(server);
    }
}

/// With --no-reconnect, input held while the only attempt fails is counted.
#[test]
fn input_held_when_the_only_attempt_fails_is_counted_and_exits_1() {
    let full = FullQueue::new();
    let mut client = connect(
        &full.addr().to_string(),
        &[
            "--no-reconnect",
            "--connect-timeout",
            "1m",
            "--events",
            "json",
        ],
    );
    client.wait_event("connecting");
    client.write("hello\n");
    assert_eq!(client.wait_event("queued")["bytes"], 6);
    // Now the port closes: the SYN sent again is refused.
    full.close();
    let error = client.wait_event("error");
    assert_eq!(error["code"], "ECONNREFUSED", "{error}");
    let unsent = client.wait_event("unsent");
    assert_eq!(unsent["bytes"], 6, "{unsent}");
    assert_eq!(unsent["reason"], "no_retry", "{unsent}");
    client.assert_exit(1);
}

/// Bytes that are not valid UTF-8, or a line without its newline, go to
/// the server as soon as they are read, not at the next newline or EOF.
#[test]
fn stdin_is_forwarded_as_soon_as_it_is_read() {
    for quit_word in [None, Some("quit")] {
        let server = Server::listening();
        let mut args = vec!["-q", "--no-reconnect"];
        if let Some(word) = quit_word {
            args.extend(["--quit-word", word]);
        }
        let mut client = connect(&server.target(), &args);
        let mut conn = server.accept();
        // stdin stays open while the server waits for each piece.
        client.write(b"\x01\x02\x03\xff");
        assert_eq!(conn.read_until(b"\xff"), b"\x01\x02\x03\xff");
        client.write("no newline yet");
        assert_eq!(conn.read_until(b"yet"), b"no newline yet");
        client.close_stdin();
        assert_eq!(conn.finish(), b"");
        client.assert_exit(0);
    }
}

/// A redis-server on a free port, killed on drop.
struct Redis {
    child: std::process::Child,
    port: u16,
}

impl Redis {
    fn start() -> Self {
        use std::io::{BufRead, BufReader};
        use std::process::{Command, Stdio};
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server runs (apt-get install redis-server)");
        let stdout = child.stdout.take().expect("stdout");
        let (ready_tx, ready) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("Ready to accept connections") {
                    let _ = ready_tx.send(());
                }
            }
        });
        ready
            .recv_timeout(crate::support::DEADLINE)
            .expect("redis-server is ready");
        Self { child, port }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Piped stdin has no quit word by default: redis gets its QUIT. Given
/// explicitly, the quit word swallows the line, and a status line says so.
#[test]
fn piped_quit_reaches_the_server_unless_a_quit_word_is_given() {
    let redis = Redis::start();
    let port = redis.port.to_string();
    let mut client = Tcprun::spawn(&["connect", "-q", "--no-reconnect", "127.0.0.1", &port]);
    client.write("PING\r\nQUIT\r\n");
    client.close_stdin();
    client.assert_exit(0);
    assert_eq!(client.stdout(), b"+PONG\r\n+OK\r\n");

    let mut client = Tcprun::spawn(&[
        "connect",
        "--no-reconnect",
        "--quit-word",
        "quit",
        "127.0.0.1",
        &port,
    ]);
    client.write("PING\r\nQUIT\r\n");
    client.wait_line(
        "tcprun: quit word `quit` read on stdin: that line is not sent; ending the connection",
    );
    client.assert_exit(0);
    assert_eq!(client.stdout(), b"+PONG\r\n");
}

/// On a terminal the quit word is on by default.
#[test]
fn on_a_terminal_the_quit_word_quits() {
    use std::io::Write;
    let pty = nix::pty::openpty(None, None).expect("a pseudo-terminal");
    let server = Server::listening();
    let target = server.target();
    let mut client = Tcprun::spawn_with(
        &["connect", "--no-reconnect", target.as_str()],
        &[],
        std::process::Stdio::from(pty.slave),
    );
    let mut conn = server.accept();
    let mut terminal = std::fs::File::from(pty.master);
    terminal.write_all(b"hello\nquit\n").expect("type");
    assert_eq!(conn.read_to_end(), b"hello\n", "the quit word is not sent");
    conn.finish();
    client.wait_line(
        "tcprun: quit word `quit` read on stdin: that line is not sent; ending the connection",
    );
    client.assert_exit(0);
}

#[test]
fn idle_timeout_closes_a_silent_connection_and_exits_1() {
    let server = Server::listening();
    let mut client = connect(&server.target(), &["--no-reconnect", "-w", "200ms"]);
    let mut conn = server.accept();
    client.wait_line("tcprun: closing: no bytes either way for 200ms (--idle-timeout)");
    client.assert_exit(1);
    assert_eq!(
        conn.read_to_end(),
        b"",
        "stdin stayed open; the client closed"
    );
}

#[test]
fn eof_timeout_closes_after_the_end_of_stdin_and_exits_0() {
    let server = Server::listening();
    let mut client = connect(
        &server.target(),
        &[
            "--no-reconnect",
            "--eof-timeout",
            "100ms",
            "--events",
            "json",
        ],
    );
    let mut conn = server.accept();
    client.write("hi\n");
    client.close_stdin();
    // The server never closes: the EOF timeout does.
    assert_eq!(conn.read_to_end(), b"hi\n");
    client.wait_event("eof_timeout");
    client.assert_exit(0);
}

#[test]
fn hex_dump_shows_offsets_hex_and_ascii_across_reads() {
    let stdout = received_with(&["--hex-dump"], &[b"0123456789abcdef\x00", b"\xffhi"]);
    assert_eq!(
        String::from_utf8_lossy(&stdout),
        "00000000  30 31 32 33 34 35 36 37  38 39 61 62 63 64 65 66  |0123456789abcdef|\n\
         00000010  00                                                |.|\n\
         00000011  ff 68 69                                          |.hi|\n"
    );
}

#[test]
fn crlf_sends_lines_with_cr_lf() {
    let server = Server::listening();
    let mut client = connect(&server.target(), &["--no-reconnect", "--crlf"]);
    let mut conn = server.accept();
    client.write("PING\nQUIT\r\n");
    client.close_stdin();
    assert_eq!(conn.read_to_end(), b"PING\r\nQUIT\r\n");
    conn.finish();
    client.assert_exit(0);
}

/// A name that does not resolve is most likely a typo: one attempt, exit 1.
#[test]
fn a_name_that_does_not_resolve_fails_at_once_unless_retried() {
    let mut client = connect("nonexistent.invalid:4001", &["--events", "json"]);
    client.assert_exit(1);
    let events = client.events();
    let seen = names(&events);
    assert_eq!(count_of(&seen, "error"), 1, "{seen:?}");
    assert_eq!(count_of(&seen, "retry"), 0, "{seen:?}");

    let mut client = connect("nonexistent.invalid:4001", &[]);
    client.wait_prefix("tcprun: cannot connect: ENOTFOUND");
    client.wait_prefix("  = hint: check the host name for a typo");
    client.assert_exit(1);

    let mut client = connect(
        "nonexistent.invalid:4001",
        &[
            "--retry-unresolved",
            "--max-retries",
            "1",
            "--retry-interval",
            "10ms",
            "--events",
            "json",
        ],
    );
    client.assert_exit(1);
    let events = client.events();
    let seen = names(&events);
    assert_eq!(count_of(&seen, "error"), 2, "{seen:?}");
    assert_eq!(count_of(&seen, "retry"), 1, "{seen:?}");
    assert_eq!(count_of(&seen, "gave_up"), 1, "{seen:?}");
}

#[test]
fn scenario_clients_retry_unresolved_names_only_when_asked() {
    let scenario = |options: &str, steps: &str| {
        crate::support::run_scenario(&format!(
            "server: {{address: \"127.0.0.1:9\"}}\nclient: {{host: nonexistent.invalid, retry_interval: 10ms, max_retries: 1{options}}}\nsteps:\n  - expect_error: ENOTFOUND\n{steps}"
        ))
    };
    let (code, out) = scenario(
        ", retry_unresolved: true",
        "  - wait_retry: 1\n  - expect_gave_up\n",
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("client: retry 1/1 in 10ms"), "{out}");
    let (code, out) = scenario("", "");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("client: connect failed: ENOTFOUND"), "{out}");
    assert!(!out.contains("retry"), "stopped at once: {out}");
}

#[test]
fn encoding_and_hex_dump_exclude_each_other() {
    let mut client = Tcprun::spawn(&["connect", "4001", "--encoding", "hex", "--hex-dump"]);
    client.assert_exit(2);
    let lines = client.stderr_lines();
    assert!(
        lines[0].contains("'--encoding <ENCODING>' cannot be used with '--hex-dump'"),
        "{lines:#?}"
    );
}

#[test]
fn a_bare_ipv6_address_needs_its_port_apart() {
    for target in ["::1", "fe80::1:4001"] {
        let mut client = Tcprun::spawn(&["connect", target]);
        client.assert_exit(2);
        let lines = client.stderr_lines();
        assert!(
            lines
                .iter()
                .any(|l| l.contains(&format!("write `[{target}]:PORT`"))),
            "{lines:#?}"
        );
    }
}

#[test]
fn help_lists_the_relay_flags_with_examples() {
    for (command, flags) in [
        (
            "connect",
            &[
                "-w, --idle-timeout",
                "--eof-timeout",
                "--hex-dump",
                "-C, --crlf",
                "--quit-word",
                "--retry-unresolved",
            ][..],
        ),
        (
            "serve",
            &[
                "--stdio",
                "--keep-open",
                "--hex-dump",
                "-w, --idle-timeout",
                "--eof-timeout",
                "-C, --crlf",
                "--quit-word",
            ],
        ),
    ] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_tcprun"))
            .args([command, "--help"])
            .output()
            .expect("tcprun runs");
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{help}");
        for flag in flags.iter().chain(&["Examples:"]) {
            assert!(
                help.contains(flag),
                "`{command} --help` lacks {flag}:\n{help}"
            );
        }
    }
}
