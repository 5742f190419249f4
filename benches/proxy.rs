//! Benchmarks `tcprun proxy` (no faults) against a socat forwarder and a
//! direct loopback connection: 1 GiB of throughput, the latency of 10,000
//! one-byte round trips, and the proxy's peak RSS with 100 connections
//! streaming at once.
//!
//! Run: `cargo bench --bench proxy`. `TCPRUN_BENCH_MIB` sets the size,
//! `TCPRUN_BENCH_ROUNDS` the throughput runs per path (default 5, taken in
//! turns), `TCPRUN_BENCH_TRIPS` the round trips, `TCPRUN_BENCH_CONNS` the
//! connections and `TCPRUN_BENCH_CONN_MIB` what each echoes.
//!
//! socat runs as `socat TCP-LISTEN:P,reuseaddr,fork TCP:127.0.0.1:Q`: `fork`
//! lets the readiness probe have its own connection; the bytes go through
//! one forked process as without it.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const CHUNK: usize = 256 * 1024;

/// A way from the benchmark's client to its server.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Path {
    Direct,
    Tcprun,
    Socat,
}

impl Path {
    fn name(self) -> &'static str {
        match self {
            Path::Direct => "direct",
            Path::Tcprun => "tcprun proxy",
            Path::Socat => "socat",
        }
    }
}

/// A forwarder in front of `127.0.0.1:upstream`, and the port to connect to.
struct Hop {
    child: Option<Child>,
    port: u16,
}

impl Hop {
    fn start(path: Path, upstream: u16) -> Self {
        let target = format!("127.0.0.1:{upstream}");
        match path {
            Path::Direct => Self {
                child: None,
                port: upstream,
            },
            Path::Tcprun => {
                let mut child = Command::new(env!("CARGO_BIN_EXE_tcprun"))
                    .args(["proxy", "--listen", "0", "--upstream", &target, "-q"])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("tcprun proxy starts");
                let mut line = String::new();
                BufReader::new(child.stdout.take().expect("stdout"))
                    .read_line(&mut line)
                    .expect("the port");
                let port = line.trim().parse().expect("a port number");
                Self {
                    child: Some(child),
                    port,
                }
            }
            Path::Socat => {
                let port = free_port();
                let child = Command::new("socat")
                    .arg(format!("TCP-LISTEN:{port},reuseaddr,fork"))
                    .arg(format!("TCP:{target}"))
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("socat starts");
                wait_listening(port);
                Self {
                    child: Some(child),
                    port,
                }
            }
        }
    }

    fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        stream
    }

    fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

impl Drop for Hop {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> u16 {
    let probe = TcpListener::bind("127.0.0.1:0").expect("bind");
    probe.local_addr().expect("addr").port()
}

/// Waits until something accepts on `port` (socat needs a moment to listen).
fn wait_listening(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        thread::sleep(Duration::from_millis(5));
    }
}

/// Sends `total` bytes through `path` into a sink; returns the seconds.
fn throughput(path: Path, total: u64) -> f64 {
    let sink = TcpListener::bind("127.0.0.1:0").expect("bind");
    let upstream = sink.local_addr().expect("addr").port();
    let hop = Hop::start(path, upstream);
    // socat's readiness probe is its first connection: drain it.
    let reader = thread::spawn(move || {
        let mut buf = vec![0u8; CHUNK];
        loop {
            let (mut conn, _) = sink.accept().expect("accept");
            let mut seen = 0u64;
            while let Ok(n) = conn.read(&mut buf) {
                if n == 0 {
                    break;
                }
                seen += n as u64;
            }
            if seen > 0 {
                return (Instant::now(), seen);
            }
        }
    });
    let block = vec![b'x'; CHUNK];
    let started = Instant::now();
    let mut conn = hop.connect();
    let mut left = total;
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        conn.write_all(&block[..n]).expect("write");
        left -= n as u64;
    }
    conn.shutdown(Shutdown::Write).expect("FIN");
    let (finished, seen) = reader.join().expect("sink");
    assert_eq!(seen, total, "the sink received everything");
    (finished - started).as_secs_f64()
}

/// Runs an echo server for one connection at a time, one byte at a time.
fn echo_server() -> (u16, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let handle = thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else {
                return;
            };
            conn.set_nodelay(true).expect("nodelay");
            thread::spawn(move || {
                let mut buf = [0u8; 64 * 1024];
                while let Ok(n) = conn.read(&mut buf) {
                    if n == 0 || conn.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, handle)
}

/// Times `count` one-byte round trips over `conn`.
fn round_trips(conn: &mut TcpStream, count: usize) -> Vec<Duration> {
    let mut byte = [0u8; 1];
    (0..count)
        .map(|_| {
            let start = Instant::now();
            conn.write_all(b"x").expect("write");
            conn.read_exact(&mut byte).expect("echo");
            start.elapsed()
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Streams `each` bytes both ways over `conns` connections at once through
/// `tcprun proxy`; returns its peak RSS in KiB.
fn peak_rss_with(conns: usize, each: usize) -> u64 {
    let (upstream, _echo) = echo_server();
    let hop = Hop::start(Path::Tcprun, upstream);
    let pid = hop.pid().expect("a process");
    let clients: Vec<thread::JoinHandle<()>> = (0..conns)
        .map(|_| {
            let conn = hop.connect();
            thread::spawn(move || {
                let mut writer = conn.try_clone().expect("clone");
                let sender = thread::spawn(move || {
                    let block = vec![b'y'; 16 * 1024];
                    let mut left = each;
                    while left > 0 {
                        let n = left.min(block.len());
                        writer.write_all(&block[..n]).expect("write");
                        left -= n;
                    }
                });
                let mut conn = conn;
                let mut buf = vec![0u8; 16 * 1024];
                let mut seen = 0;
                while seen < each {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => seen += n,
                    }
                }
                assert_eq!(seen, each, "echoed through the proxy");
                sender.join().expect("sender");
            })
        })
        .collect();
    for client in clients {
        client.join().expect("client");
    }
    common::peak_rss_kib(pid)
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn installed(program: &str) -> bool {
    Command::new(program)
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` support: nothing to list
    }
    let mib: u64 = env_or("TCPRUN_BENCH_MIB", 1024);
    let rounds: usize = env_or("TCPRUN_BENCH_ROUNDS", 5);
    let trips: usize = env_or("TCPRUN_BENCH_TRIPS", 10_000);
    let conns: usize = env_or("TCPRUN_BENCH_CONNS", 100);
    let total = mib << 20;
    let mut paths = vec![Path::Direct, Path::Tcprun];
    if installed("socat") {
        paths.push(Path::Socat);
    }

    println!(
        "{mib} MiB one way, median of {rounds} runs; {trips} one-byte round trips (MB = 10^6 bytes)\n"
    );
    println!("| path | throughput | round trip p50 / p99 | added p50 / p99 |");
    println!("| --- | --- | --- | --- |");
    // Rounds take the paths in turn, so that a machine busy with other
    // work slows each path alike.
    let mut secs: Vec<Vec<f64>> = vec![Vec::new(); paths.len()];
    for _ in 0..rounds {
        for (i, path) in paths.iter().enumerate() {
            secs[i].push(throughput(*path, total));
        }
    }
    // Round trips too go in turns, blocks of 500 per path.
    let (upstream, _echo) = echo_server();
    let mut hops: Vec<(Hop, TcpStream)> = paths
        .iter()
        .map(|path| {
            let hop = Hop::start(*path, upstream);
            let mut conn = hop.connect();
            round_trips(&mut conn, 200); // warm up
            (hop, conn)
        })
        .collect();
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); paths.len()];
    while times[0].len() < trips {
        let block = (trips - times[0].len()).min(500);
        for (i, (_, conn)) in hops.iter_mut().enumerate() {
            times[i].extend(round_trips(conn, block));
        }
    }
    let mut direct = (Duration::ZERO, Duration::ZERO);
    for ((path, mut secs), mut times) in paths.into_iter().zip(secs).zip(times) {
        secs.sort_by(f64::total_cmp);
        times.sort();
        let mbps = total as f64 / secs[secs.len() / 2] / 1e6;
        let (p50, p99) = (percentile(&times, 0.5), percentile(&times, 0.99));
        if path == Path::Direct {
            direct = (p50, p99);
        }
        let added = |t: Duration, base: Duration| t.as_secs_f64() * 1e6 - base.as_secs_f64() * 1e6;
        println!(
            "| {} | {:.0} MB/s | {:.1} µs / {:.1} µs | {} |",
            path.name(),
            mbps,
            p50.as_secs_f64() * 1e6,
            p99.as_secs_f64() * 1e6,
            if path == Path::Direct {
                "—".to_owned()
            } else {
                format!(
                    "{:.1} µs / {:.1} µs",
                    added(p50, direct.0),
                    added(p99, direct.1)
                )
            }
        );
    }
    drop(hops);
    let each: usize = env_or("TCPRUN_BENCH_CONN_MIB", 4usize) << 20;
    let rss = peak_rss_with(conns, each);
    println!(
        "\npeak RSS of tcprun proxy with {conns} connections each echoing {} MiB at once: {:.1} MB",
        each >> 20,
        rss as f64 / 1024.0
    );
}
