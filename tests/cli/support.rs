//! Shared helpers: the `tcprun` process under test and tiny loopback servers.
//!
//! Every wait here is bounded by [`DEADLINE`], which only limits how long a
//! failing test takes; passing tests wait for events, never for time.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use socket2::{Domain, SockRef, Socket, Type};

/// Bounds every wait; generous so a loaded machine does not cause failures.
pub const DEADLINE: Duration = Duration::from_secs(10);

fn deadline() -> Instant {
    Instant::now() + DEADLINE
}

/// A running `tcprun` with piped stdin, stdout and stderr. Killed on drop.
pub struct Tcprun {
    child: Child,
    stdin: Option<ChildStdin>,
    stderr_rx: Receiver<String>,
    /// Every stderr line read so far.
    stderr: Vec<String>,
    /// Lines before this index were matched by `wait_stderr` already.
    cursor: usize,
    stdout_rx: Receiver<Vec<u8>>,
    stdout: Vec<u8>,
    /// stdout before this index was returned by `stdout_line` already.
    stdout_cursor: usize,
    code: Option<i32>,
}

impl Tcprun {
    /// Starts `tcprun ARGS...`; stdin stays open until [`Tcprun::close_stdin`].
    pub fn spawn<S: AsRef<str>>(args: &[S]) -> Self {
        Self::spawn_with_env(args, &[])
    }

    /// Starts `tcprun ARGS...` with extra environment variables.
    pub fn spawn_with_env<S: AsRef<str>>(args: &[S], env: &[(&str, &str)]) -> Self {
        Self::spawn_with(args, env, Stdio::piped())
    }

    /// Starts `tcprun ARGS...` with extra environment variables and this
    /// stdin (a pipe to write to, or a terminal, ...).
    pub fn spawn_with<S: AsRef<str>>(args: &[S], env: &[(&str, &str)], stdin: Stdio) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tcprun"));
        command
            .args(args.iter().map(AsRef::as_ref))
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("start tcprun");
        let stdin = child.stdin.take();

        let stderr = child.stderr.take().expect("piped stderr");
        let (stderr_tx, stderr_rx) = mpsc::channel();
        thread::spawn(move || {
            let mut reader = BufReader::new(stderr);
            let mut line = Vec::new();
            loop {
                line.clear();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        let text = String::from_utf8_lossy(&line);
                        let text = text.trim_end_matches(['\n', '\r']).to_owned();
                        if stderr_tx.send(text).is_err() {
                            return;
                        }
                    }
                }
            }
        });

        let mut stdout = child.stdout.take().expect("piped stdout");
        let (stdout_tx, stdout_rx) = mpsc::channel();
        thread::spawn(move || {
            let mut buf = [0u8; 8192];
            loop {
                match stdout.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if stdout_tx.send(buf[..n].to_vec()).is_err() {
                            return;
                        }
                    }
                }
            }
        });

        Self {
            child,
            stdin,
            stderr_rx,
            stderr: Vec::new(),
            cursor: 0,
            stdout_rx,
            stdout: Vec::new(),
            stdout_cursor: 0,
            code: None,
        }
    }

    /// Writes to stdin and flushes.
    pub fn write(&mut self, data: impl AsRef<[u8]>) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin
            .write_all(data.as_ref())
            .expect("write to tcprun's stdin");
        stdin.flush().expect("flush tcprun's stdin");
    }

    /// Closes stdin (EOF for the client).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits for the next stderr line (after the last one matched) that
    /// satisfies `matches`, and returns it.
    pub fn wait_stderr(&mut self, what: &str, matches: impl Fn(&str) -> bool) -> String {
        let deadline = deadline();
        loop {
            if let Some(offset) = self.stderr[self.cursor..].iter().position(|l| matches(l)) {
                let index = self.cursor + offset;
                self.cursor = index + 1;
                return self.stderr[index].clone();
            }
            self.cursor = self.stderr.len();
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr_rx.recv_timeout(left) {
                Ok(line) => self.stderr.push(line),
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "timed out waiting for {what} on stderr:\n{}",
                        self.stderr_text()
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("stderr ended before {what}:\n{}", self.stderr_text())
                }
            }
        }
    }

    /// Waits for a stderr line equal to `line`.
    pub fn wait_line(&mut self, line: &str) {
        self.wait_stderr(&format!("`{line}`"), |l| l == line);
    }

    /// Waits for a stderr line starting with `prefix`; returns it.
    pub fn wait_prefix(&mut self, prefix: &str) -> String {
        self.wait_stderr(&format!("`{prefix}...`"), |l| l.starts_with(prefix))
    }

    /// Waits for the next JSON event (`--events json`) named `name`.
    pub fn wait_event(&mut self, name: &str) -> serde_json::Value {
        let line = self.wait_stderr(&format!("event `{name}`"), |l| {
            event_name(l).as_deref() == Some(name)
        });
        serde_json::from_str(&line).expect("event is JSON")
    }

    /// Waits until the `received` events (`--events json`) add up to `total` bytes.
    pub fn wait_received(&mut self, total: usize, so_far: &mut usize) {
        while *so_far < total {
            let event = self.wait_event("received");
            *so_far += event["bytes"].as_u64().expect("received.bytes") as usize;
        }
        assert_eq!(*so_far, total, "received more bytes than were sent");
    }

    /// Waits for the next line on stdout and returns it, without its line break.
    pub fn stdout_line(&mut self) -> String {
        let deadline = deadline();
        loop {
            if let Some(at) = self.stdout[self.stdout_cursor..]
                .iter()
                .position(|&b| b == b'\n')
            {
                let line = &self.stdout[self.stdout_cursor..self.stdout_cursor + at];
                let line = String::from_utf8_lossy(line).into_owned();
                self.stdout_cursor += at + 1;
                return line;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout_rx.recv_timeout(left) {
                Ok(chunk) => self.stdout.extend_from_slice(&chunk),
                Err(_) => {
                    self.drain_now();
                    panic!(
                        "no line on stdout within {DEADLINE:?}; stderr:\n{}",
                        self.stderr_text()
                    )
                }
            }
        }
    }

    /// Sends `signal` to the process.
    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, signal).expect("signal tcprun");
    }

    /// Waits for the process to exit and for its output to end; returns the exit code.
    pub fn wait_exit(&mut self) -> i32 {
        if let Some(code) = self.code {
            return code;
        }
        let deadline = deadline();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() >= deadline {
                self.drain_now();
                panic!(
                    "tcprun did not exit within {DEADLINE:?}; stderr:\n{}",
                    self.stderr_text()
                );
            }
            thread::sleep(Duration::from_millis(5));
        };
        // The pipes close with the process: read what is left of them.
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr_rx.recv_timeout(left) {
                Ok(line) => self.stderr.push(line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => panic!("stderr stayed open after exit"),
            }
        }
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout_rx.recv_timeout(left) {
                Ok(chunk) => self.stdout.extend_from_slice(&chunk),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => panic!("stdout stayed open after exit"),
            }
        }
        let code = status.code().unwrap_or_else(|| {
            panic!(
                "tcprun ended by a signal: {status}; stderr:\n{}",
                self.stderr_text()
            )
        });
        self.code = Some(code);
        code
    }

    /// Waits for the exit and checks its code.
    pub fn assert_exit(&mut self, expected: i32) {
        let code = self.wait_exit();
        assert_eq!(
            code,
            expected,
            "exit code; stderr:\n{}\nstdout:\n{}",
            self.stderr_text(),
            String::from_utf8_lossy(&self.stdout)
        );
    }

    /// Every stderr line read so far (all of them after [`Tcprun::wait_exit`]).
    pub fn stderr_lines(&self) -> &[String] {
        &self.stderr
    }

    /// stdout read so far (all of it after [`Tcprun::wait_exit`]).
    pub fn stdout(&self) -> &[u8] {
        &self.stdout
    }

    /// Every stderr line parsed as a JSON event (after `--events json`).
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.stderr
            .iter()
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("stderr line is not JSON ({e}): {line}"))
            })
            .collect()
    }

    fn stderr_text(&self) -> String {
        self.stderr.join("\n")
    }

    fn drain_now(&mut self) {
        while let Ok(line) = self.stderr_rx.try_recv() {
            self.stderr.push(line);
        }
        while let Ok(chunk) = self.stdout_rx.try_recv() {
            self.stdout.extend_from_slice(&chunk);
        }
    }
}

impl Drop for Tcprun {
    fn drop(&mut self) {
        if self.code.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if thread::panicking() {
            self.drain_now();
            eprintln!("--- tcprun stderr ---\n{}", self.stderr_text());
        }
    }
}

/// Runs `tcprun connect` to `127.0.0.1:port` with a 300ms connect timeout
/// and no reconnect, and checks that the attempt fails with `ETIMEDOUT`.
pub fn assert_connect_times_out(port: u16) {
    let port = port.to_string();
    let mut client = Tcprun::spawn(&[
        "connect",
        "127.0.0.1",
        &port,
        "--connect-timeout",
        "300ms",
        "--no-reconnect",
        "--events",
        "json",
    ]);
    let error = client.wait_event("error");
    assert_eq!(error["code"], "ETIMEDOUT", "{error}");
    client.assert_exit(1);
}

/// Returns the `event` field of a JSON event line, if it is one.
pub fn event_name(line: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    value["event"].as_str().map(str::to_owned)
}

/// Binds 127.0.0.1:`port` with SO_REUSEADDR, without listening.
fn bind(port: u16) -> Socket {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    socket.set_reuse_address(true).expect("SO_REUSEADDR");
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    socket
        .bind(&addr.into())
        .unwrap_or_else(|e| panic!("bind 127.0.0.1:{port}: {e}"));
    socket
}

/// A loopback server on one port that can stop (refuse connections) and
/// start again on the same port.
///
/// The port is bound for the server's whole life, so no other socket can
/// take it (not even as a client's ephemeral port) and connects to it are
/// refused whenever it is not listening.
///
/// Stopping does not close the listener: a test that spawns a process at
/// the same moment may hold a copy of the descriptor until that process
/// execs, which would keep the old listener accepting (and the port in
/// LISTEN, so it could not be bound again) for a while. Instead, `stop`
/// uses `shutdown(SHUT_RD)`, which on Linux stops a listening socket at
/// once, resetting connections not yet accepted; the socket stays bound
/// (it was bound to an explicit port), ready to listen again.
pub struct Server {
    port: u16,
    socket: Socket,
    listening: bool,
}

impl Server {
    /// Reserves a port on 127.0.0.1 where connects are refused until [`Server::start`].
    pub fn refusing() -> Self {
        // Let the kernel pick a free port, then bind it explicitly: a socket
        // bound to an explicit port keeps it when it stops listening.
        let probe = bind(0);
        let port = probe
            .local_addr()
            .expect("local addr")
            .as_socket()
            .expect("inet address")
            .port();
        let socket = bind(port);
        drop(probe);
        // Linux applies SO_RCVTIMEO to accept(): it bounds `accept`.
        socket.set_read_timeout(Some(DEADLINE)).expect("timeout");
        Self {
            port,
            socket,
            listening: false,
        }
    }

    /// A server that listens at once.
    pub fn listening() -> Self {
        let mut server = Self::refusing();
        server.start();
        server
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:PORT`.
    pub fn target(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Starts listening (accepting connections) on the port.
    pub fn start(&mut self) {
        assert!(!self.listening, "server already listening");
        self.socket.listen(64).expect("listen");
        self.listening = true;
    }

    /// Stops listening, so new connects are refused; the port stays bound
    /// and accepted connections stay open.
    pub fn stop(&mut self) {
        assert!(self.listening, "server not listening");
        self.socket
            .shutdown(Shutdown::Read)
            .expect("stop listening");
        self.listening = false;
    }

    /// Accepts one connection.
    pub fn accept(&self) -> Conn {
        assert!(self.listening, "accept on a server that is not listening");
        match self.socket.accept() {
            Ok((socket, _)) => Conn::new(socket.into()),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!("no connection on port {} within {DEADLINE:?}", self.port)
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// One accepted connection.
pub struct Conn {
    stream: TcpStream,
    /// Bytes read but not yet returned.
    buf: Vec<u8>,
}

impl Conn {
    /// Connects to `127.0.0.1:port`.
    pub fn connect(port: u16) -> Self {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("connect to 127.0.0.1:{port}: {e}"));
        Self::new(stream)
    }

    fn new(stream: TcpStream) -> Self {
        stream.set_nodelay(true).expect("nodelay");
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    /// Writes `data` at once (no Nagle delay).
    pub fn send(&mut self, data: impl AsRef<[u8]>) {
        self.stream.write_all(data.as_ref()).expect("server write");
        self.stream.flush().expect("server flush");
    }

    /// Reads once into the buffer; false at EOF.
    fn fill(&mut self, deadline: Instant, what: &str) -> bool {
        let mut chunk = [0u8; 8192];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                self.timed_out(what);
            }
            self.stream.set_read_timeout(Some(left)).expect("timeout");
            match self.stream.read(&mut chunk) {
                Ok(0) => return false,
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return true;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    self.timed_out(what)
                }
                Err(e) => panic!("server read while waiting for {what}: {e}"),
            }
        }
    }

    fn timed_out(&self, what: &str) -> ! {
        panic!(
            "server timed out waiting for {what}; has {:?}",
            String::from_utf8_lossy(&self.buf)
        )
    }

    /// Reads until `needle` arrives; returns everything up to and including it.
    pub fn read_until(&mut self, needle: &[u8]) -> Vec<u8> {
        let deadline = deadline();
        let what = format!("{:?}", String::from_utf8_lossy(needle));
        loop {
            if let Some(at) = self.buf.windows(needle.len()).position(|w| w == needle) {
                return self.buf.drain(..at + needle.len()).collect();
            }
            if !self.fill(deadline, &what) {
                panic!(
                    "EOF before {what}; server has {:?}",
                    String::from_utf8_lossy(&self.buf)
                );
            }
        }
    }

    /// Reads exactly `n` bytes (more may have arrived; they wait for the next read).
    pub fn read_n(&mut self, n: usize) -> Vec<u8> {
        let deadline = deadline();
        while self.buf.len() < n {
            if !self.fill(deadline, &format!("{n} bytes")) {
                panic!(
                    "EOF before {n} bytes; has {:?}",
                    String::from_utf8_lossy(&self.buf)
                );
            }
        }
        self.buf.drain(..n).collect()
    }

    /// Returns the bytes read but not yet returned.
    pub fn buffered(&self) -> &[u8] {
        &self.buf
    }

    /// Reads until the connection ends; returns everything not yet
    /// returned, and how it ended: `Ok` at the peer's FIN, or the error
    /// (`ConnectionReset` for an RST).
    pub fn read_to_close(&mut self) -> (Vec<u8>, Result<(), ErrorKind>) {
        let deadline = deadline();
        let mut chunk = [0u8; 8192];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                self.timed_out("the end of the connection");
            }
            self.stream.set_read_timeout(Some(left)).expect("timeout");
            match self.stream.read(&mut chunk) {
                Ok(0) => return (std::mem::take(&mut self.buf), Ok(())),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    self.timed_out("the end of the connection")
                }
                Err(e) => return (std::mem::take(&mut self.buf), Err(e.kind())),
            }
        }
    }

    /// Sends FIN (shuts down the write side); reading goes on.
    pub fn end(&self) {
        self.stream.shutdown(Shutdown::Write).expect("shutdown");
    }

    /// Returns the socket, for what the helpers do not cover.
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Reads until the client's FIN; returns everything not yet returned.
    pub fn read_to_end(&mut self) -> Vec<u8> {
        let deadline = deadline();
        while self.fill(deadline, "EOF") {}
        std::mem::take(&mut self.buf)
    }

    /// Closes in order: sends FIN, then reads to the client's FIN (so no
    /// unread data turns the close into a reset). Returns what was read.
    pub fn finish(mut self) -> Vec<u8> {
        self.stream.shutdown(Shutdown::Write).expect("shutdown");
        self.read_to_end()
    }

    /// Aborts the connection: SO_LINGER 0, so closing sends RST.
    pub fn reset(self) {
        SockRef::from(&self.stream)
            .set_linger(Some(Duration::ZERO))
            .expect("SO_LINGER");
        drop(self.stream);
    }

    /// Echoes on a thread until the client's FIN, then sends FIN; the thread
    /// returns every byte received.
    pub fn echo(mut self) -> JoinHandle<Vec<u8>> {
        thread::spawn(move || {
            let deadline = deadline();
            let mut all = Vec::new();
            loop {
                let more = self.fill(deadline, "data to echo");
                let data = std::mem::take(&mut self.buf);
                self.send(&data);
                all.extend_from_slice(&data);
                if !more {
                    self.stream.shutdown(Shutdown::Write).expect("shutdown");
                    return all;
                }
            }
        })
    }
}

/// A listener whose accept queue is full: it drops new SYNs, so a connect
/// to it hangs (until it times out, or the listener goes and a SYN sent
/// again is refused).
pub struct FullQueue {
    listener: Socket,
    fillers: Vec<Socket>,
    addr: SocketAddr,
}

impl FullQueue {
    /// Listens on 127.0.0.1 with a queue that connections never accepted fill.
    pub fn new() -> Self {
        let listener = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
        listener
            .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
            .expect("bind");
        listener.listen(0).expect("listen");
        let addr = listener
            .local_addr()
            .expect("addr")
            .as_socket()
            .expect("inet");
        let fillers = (0..3)
            .map(|_| {
                let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
                socket.set_nonblocking(true).expect("nonblocking");
                let _ = socket.connect(&addr.into());
                socket
            })
            .collect();
        Self {
            listener,
            fillers,
            addr,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Closes the port: a SYN sent again is refused.
    pub fn close(self) {
        drop(self.listener);
        drop(self.fillers);
    }
}

/// Runs the scenario `yaml` from a file of its own with `tcprun -v`;
/// returns the exit code and stdout.
pub fn run_scenario(yaml: &str) -> (i32, String) {
    let output = run_scenario_with(yaml, &["-v"]);
    let code = output.status.code().expect("an exit code");
    (code, String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Writes `yaml` as a scenario in a fresh folder and runs `tcprun ARGS...
/// FILE` from the repository's root (without colours); returns its output.
pub fn run_scenario_with(yaml: &str, args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("scenario.yaml");
    std::fs::write(&file, yaml).expect("write the scenario");
    Command::new(env!("CARGO_BIN_EXE_tcprun"))
        .current_dir(root())
        .args(args)
        .arg(&file)
        .env("NO_COLOR", "1")
        .output()
        .expect("tcprun runs")
}

/// Runs `tcprun ARGS FILE` in the repository's root (with `CI` set);
/// returns the exit code, stdout and stderr.
pub fn run_in_root(file: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_tcprun"))
        .current_dir(root())
        .env("CI", "true")
        .env("NO_COLOR", "1")
        .args(args)
        .arg(file)
        .output()
        .expect("tcprun runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Returns the transcript lines that `tcprun -v` streamed (`  | ` lines).
pub fn transcript_lines(out: &str) -> Vec<&str> {
    out.lines()
        .filter_map(|line| line.strip_prefix("  | "))
        .collect()
}

/// Returns the repository's root.
/// Runs `tcprun ARGS... FILE` from the repository root with `CI=true`;
/// returns the exit code, stdout and stderr.
pub fn tcprun_file(file: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_tcprun"))
        .current_dir(root())
        .env("CI", "true")
        .args(args)
        .arg(file)
        .output()
        .expect("run tcprun");
    let code = output.status.code().unwrap_or(-1);
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (code, text(&output.stdout), text(&output.stderr))
}

/// Writes `yaml` as a scenario in a fresh folder and runs it as [`tcprun_file`] does.
pub fn tcprun_yaml(yaml: &str, args: &[&str]) -> (i32, String, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("scenario.yaml");
    std::fs::write(&file, yaml).expect("write the scenario");
    tcprun_file(&file, args)
}

pub fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Returns the `*.yaml` files of a folder below the root, sorted.
pub fn yaml_files(folder: &str) -> Vec<std::path::PathBuf> {
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(root().join(folder))
        .expect("folder exists")
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no scenario in {folder}");
    files
}
