//! Drives `tcprun serve`: a fake server on its own, with the port it chose on stdout.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

#[test]
fn serve_prints_its_port_echoes_logs_and_ends_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tcprun"))
        .args(["serve", "--fake", "echo", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tcprun serve starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("the port line");
    let port: u16 = line.trim().parse().expect("a port number");

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
