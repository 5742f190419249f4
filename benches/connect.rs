//! Benchmarks `tcprun connect` against socat and ncat: 1 GiB from stdin into a
//! sink server, and 1 GiB from a source server to stdout, over loopback;
//! prints MB/s and peak RSS side by side.
//!
//! Run: `cargo bench --bench connect` (`TCPRUN_BENCH_MIB` sets the size,
//! `TCPRUN_BENCH_ROUNDS` the number of runs per tool and direction).

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

const CHUNK: usize = 256 * 1024;

struct Tool {
    name: &'static str,
    upload: Vec<String>,
    download: Vec<String>,
}

fn tools(port_marker: &str) -> Vec<Tool> {
    let tcprun = env!("CARGO_BIN_EXE_tcprun").to_owned();
    let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    // The same command moves data either way: stdin up, the server's bytes down.
    let connect = args(&[
        &tcprun,
        "connect",
        "127.0.0.1",
        port_marker,
        "--no-reconnect",
        "-q",
    ]);
    let mut tools = vec![Tool {
        name: "tcprun connect",
        upload: connect.clone(),
        download: connect,
    }];
    let tcp = format!("TCP:127.0.0.1:{port_marker}");
    if installed("socat") {
        tools.push(Tool {
            name: "socat",
            upload: args(&["socat", "-u", "STDIN", &tcp]),
            download: args(&["socat", "-u", &tcp, "STDOUT"]),
        });
    }
    if installed("ncat") {
        tools.push(Tool {
            name: "ncat",
            upload: args(&["ncat", "--send-only", "127.0.0.1", port_marker]),
            download: args(&["ncat", "--recv-only", "127.0.0.1", port_marker]),
        });
    }
    tools
}

fn installed(program: &str) -> bool {
    Command::new(program)
        .arg("-h")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

fn spawn(argv: &[String], port: u16, stdin: Stdio, stdout: Stdio) -> Child {
    let argv: Vec<String> = argv
        .iter()
        .map(|a| a.replace("PORT", &port.to_string()))
        .collect();
    Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(stdin)
        .stdout(stdout)
        .stderr(Stdio::null())
        .spawn()
        .expect("the tool starts")
}

/// Watches a process's peak RSS until it exits; the handle returns it in KiB.
fn watch_rss(pid: u32) -> thread::JoinHandle<u64> {
    thread::spawn(move || {
        let mut peak = 0;
        loop {
            let now = common::peak_rss_kib(pid);
            if now == 0 && std::fs::metadata(format!("/proc/{pid}/status")).is_err() {
                return peak;
            }
            peak = peak.max(now);
            thread::sleep(Duration::from_millis(10));
        }
    })
}

/// Writes `total` bytes of `byte` in chunks; stops early if the reader goes away.
fn write_total(out: &mut impl Write, byte: u8, total: u64) {
    let block = vec![byte; CHUNK];
    let mut left = total;
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        if out.write_all(&block[..n]).is_err() {
            return;
        }
        left -= n as u64;
    }
}

/// stdin → tool → sink server. Returns (seconds, peak RSS KiB).
fn upload(argv: &[String], total: u64) -> (f64, u64) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (done_tx, done_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let sink = thread::spawn(move || {
        let (mut conn, _) = listener.accept().expect("accept");
        let mut buf = vec![0u8; CHUNK];
        let mut seen = 0u64;
        while seen < total {
            match conn.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => seen += n as u64,
            }
        }
        done_tx.send((Instant::now(), seen)).expect("report");
        let _ = release_rx.recv_timeout(Duration::from_secs(10));
        while matches!(conn.read(&mut buf), Ok(n) if n > 0) {}
    });
    let started = Instant::now();
    let mut child = spawn(argv, port, Stdio::piped(), Stdio::null());
    let mut stdin = child.stdin.take().expect("stdin");
    let rss = watch_rss(child.id());
    let writer = thread::spawn(move || write_total(&mut stdin, b'x', total));
    let (finished, seen) = done_rx.recv().expect("sink done");
    assert_eq!(seen, total, "the sink received everything");
    release_tx.send(()).ok();
    writer.join().ok();
    let _ = child.wait();
    sink.join().ok();
    ((finished - started).as_secs_f64(), rss.join().unwrap_or(0))
}

/// source server → tool → stdout. Returns (seconds, peak RSS KiB).
fn download(argv: &[String], total: u64) -> (f64, u64) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let source = thread::spawn(move || {
        let (mut conn, _) = listener.accept().expect("accept");
        write_total(&mut conn, b'y', total);
    });
    let started = Instant::now();
    let mut child = spawn(argv, port, Stdio::null(), Stdio::piped());
    let mut stdout = child.stdout.take().expect("stdout");
    let rss = watch_rss(child.id());
    let mut buf = vec![0u8; CHUNK];
    let mut seen = 0u64;
    while seen < total {
        match stdout.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen += n as u64,
        }
    }
    let finished = Instant::now();
    assert_eq!(seen, total, "stdout carried everything");
    source.join().ok();
    while matches!(stdout.read(&mut buf), Ok(n) if n > 0) {}
    let _ = child.wait();
    ((finished - started).as_secs_f64(), rss.join().unwrap_or(0))
}

/// Returns the run with the median time, and the highest peak RSS of all runs.
fn median(mut runs: Vec<(f64, u64)>) -> (f64, u64) {
    let rss = runs.iter().map(|r| r.1).max().unwrap_or(0);
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    (runs[runs.len() / 2].0, rss)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` support: nothing to list
    }
    let mib: u64 = std::env::var("TCPRUN_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let total = mib << 20;
    let rounds: usize = std::env::var("TCPRUN_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    println!("{mib} MiB each way over loopback, median of {rounds} runs (MB = 10^6 bytes)\n");
    println!("| tool | stdin → server | server → stdout | peak RSS (up / down) |");
    println!("| --- | --- | --- | --- |");
    for tool in tools("PORT") {
        // Rounds alternate directions; the median of each is reported.
        let mut ups = Vec::new();
        let mut downs = Vec::new();
        for _ in 0..rounds {
            ups.push(upload(&tool.upload, total));
            downs.push(download(&tool.download, total));
        }
        let (up_secs, up_rss) = median(ups);
        let (down_secs, down_rss) = median(downs);
        let mbps = |secs: f64| total as f64 / secs / 1e6;
        println!(
            "| {} | {:.0} MB/s | {:.0} MB/s | {:.1} MB / {:.1} MB |",
            tool.name,
            mbps(up_secs),
            mbps(down_secs),
            up_rss as f64 / 1024.0,
            down_rss as f64 / 1024.0
        );
    }
}
