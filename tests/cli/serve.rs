//! Drives `tcprun serve`: a fake server on its own, with the port it chose on stdout.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

#[test]
fn serve_prints_its_port_echoes_logs_and_ends_on_sigterm() {
    let (mut child, port) = serve_echo();

    let mut conn = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    conn.write_all(b"hello\n").expect("write");
    let mut echoed = [0u8; 6];
    conn.read_exact(&mut echoed).expect("echo");
    assert_eq!(&echoed, b"hello\n");
    conn.shutdown(std::net::Shutdown::Write).expect("FIN");
    let mut rest = Vec::new();
    conn.read_to_end(&mut rest).expect("the server closes too");

    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).expect("signal");
    let status = child.wait().expect("serve ends");
    let mut log = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut log)
        .expect("log");
    assert!(status.success(), "{log}");
    assert!(
        log.contains(&format!("listening on 127.0.0.1:{port}")),
        "{log}"
    );
    assert!(log.contains("connection 1 from 127.0.0.1:"), "{log}");
    assert!(log.contains("connection 1 closed (FIN)"), "{log}");
}

#[test]
fn serve_rejects_an_unknown_fake_with_usage_status() {
    let status = Command::new(env!("CARGO_BIN_EXE_tcprun"))
        .args(["serve", "--fake", "ftp"])
        .stderr(Stdio::null())
        .status()
        .expect("tcprun runs");
    assert_eq!(status.code(), Some(2));
}

#[test]
fn serve_can_be_a_scenarios_server_program() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("serve.yaml");
    let tcprun = env!("CARGO_BIN_EXE_tcprun");
    std::fs::write(
        &file,
        format!(
            "name: tcprun serve as the server under test\nserver:\n  command: [\"{tcprun}\", \"serve\", \"--fake\", \"echo\", \"--port\", \"${{port}}\"]\n  ready: {{log: \"listening on\"}}\nclient: {{retry_interval: 100ms}}\nsteps:\n  - wait_connected\n  - send_line: hi\n  - expect: \"^hi$\"\n  - server_expect: \"connection 1 from\"\n  - stop_server\n  - expect_closed: fin\n"
        ),
    )
    .expect("write");
    let output = Command::new(tcprun)
        .arg(&file)
        .output()
        .expect("tcprun runs");
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{out}");
}

/// Starts `tcprun serve ARGS...` with piped stdin, stdout and stderr, and
/// returns it with the port it reports waiting on.
fn relay(args: &[&str]) -> (crate::support::Tcprun, u16) {
    let mut all = vec!["serve", "--stdio", "--port", "0"];
    all.extend_from_slice(args);
    let mut serve = crate::support::Tcprun::spawn(&all);
    // A status line or a JSON event names the address it waits on.
    let line = serve.wait_stderr("the address waited on", |l| {
        l.starts_with("tcprun serve: waiting for a connection on ")
            || l.contains(r#""event":"connecting""#)
    });
    let at = line.find("127.0.0.1:").expect("the address") + "127.0.0.1:".len();
    let digits: String = line[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    (serve, digits.parse().expect("a port"))
}

fn client(port: u16) -> TcpStream {
    let conn = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    conn.set_read_timeout(Some(crate::support::DEADLINE))
        .expect("timeout");
    conn
}

/// Like `nc -l`: one connection, stdin to it and it to stdout; input typed
/// before it connects is held and sent.
#[test]
fn stdio_relays_one_connection_to_stdin_and_stdout() {
    let (mut serve, port) = relay(&["--crlf"]);
    serve.write("early\n");
    serve.wait_line("tcprun serve: holding 7 bytes until a client connects");
    let mut conn = client(port);
    serve.wait_prefix("tcprun serve: connection from 127.0.0.1:");
    let mut early = [0u8; 7];
    conn.read_exact(&mut early).expect("the held line");
    assert_eq!(&early, b"early\r\n");
    conn.write_all(b"from the client\n").expect("write");
    serve.write("late\n");
    serve.close_stdin();
    let mut rest = Vec::new();
    conn.read_to_end(&mut rest)
        .expect("our FIN after stdin's end");
    assert_eq!(rest, b"late\r\n");
    conn.shutdown(std::net::Shutdown::Write).expect("FIN");
    serve.assert_exit(0);
    assert_eq!(serve.stdout(), b"from the client\n");
}

#[test]
fn stdio_keep_open_accepts_the_next_connection_with_a_running_hex_dump() {
    let (mut serve, port) = relay(&["--keep-open", "--hex-dump", "--events", "json"]);
    for (n, text) in [(1, "one"), (2, "two")] {
        let mut conn = client(port);
        conn.write_all(text.as_bytes()).expect("write");
        conn.shutdown(std::net::Shutdown::Write).expect("FIN");
        let mut rest = Vec::new();
        conn.read_to_end(&mut rest).expect("the relay closes too");
        assert_eq!(rest, b"", "connection {n}");
        serve.wait_event("closed");
    }
    let mut conn = client(port);
    serve.wait_event("connected");
    serve.close_stdin();
    let mut rest = Vec::new();
    conn.read_to_end(&mut rest).expect("FIN after stdin's end");
    drop(conn);
    serve.assert_exit(0);
    assert_eq!(
        String::from_utf8_lossy(serve.stdout()),
        "00000000  6f 6e 65                                          |one|\n\
         00000003  74 77 6f                                          |two|\n"
    );
}

#[test]
fn stdio_flags_need_stdio_and_exclude_a_fake() {
    for args in [
        &["serve", "--fake", "echo", "--hex-dump"][..],
        &["serve", "--fake", "echo", "--keep-open"],
        &["serve", "--stdio", "--fake", "echo"],
        &["serve"],
    ] {
        let status = Command::new(env!("CARGO_BIN_EXE_tcprun"))
            .args(args)
            .stderr(Stdio::null())
            .status()
            .expect("tcprun runs");
        assert_eq!(status.code(), Some(2), "{args:?}");
    }
}

/// Starts `tcprun serve --fake echo --port 0` with stderr on a pipe that
/// is not read until the caller does (kept open); returns it and its port.
fn serve_echo() -> (std::process::Child, u16) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tcprun"))
        .args(["serve", "--fake", "echo", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tcprun serve starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("the port line");
    (child, line.trim().parse().expect("a port number"))
}

/// Waits for `child` to exit (bounded); returns its status.
fn wait_exit(child: &mut std::process::Child) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + crate::support::DEADLINE;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "tcprun serve did not exit"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Its log can never stall it: with stderr on a pipe nobody reads, it
/// still serves every connection, and ends on SIGTERM.
#[test]
fn a_stderr_nobody_reads_stalls_neither_serving_nor_sigterm() {
    let (mut child, port) = serve_echo();
    for n in 0..2000 {
        let mut conn = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        conn.set_read_timeout(Some(crate::support::DEADLINE))
            .expect("timeout");
        conn.write_all(b"x").expect("write");
        let mut echoed = [0u8; 1];
        conn.read_exact(&mut echoed)
            .unwrap_or_else(|e| panic!("connection {n} got no echo: {e}"));
        conn.shutdown(std::net::Shutdown::Write).expect("FIN");
        let mut rest = Vec::new();
        conn.read_to_end(&mut rest).expect("closed");
    }
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).expect("signal");
    let status = wait_exit(&mut child);
    assert_eq!(status.code(), Some(0), "{status}");
}

/// A SIGTERM right after the port is announced ends it in order (exit 0),
/// never by the signal's default action.
#[test]
fn sigterm_right_after_the_port_line_exits_0() {
    for _ in 0..5 {
        let (mut child, _) = serve_echo();
        kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).expect("signal");
        let status = wait_exit(&mut child);
        assert_eq!(status.code(), Some(0), "{status}");
    }
}
