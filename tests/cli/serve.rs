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
