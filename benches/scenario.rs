//! Benchmarks the scenario runner: 1,000 `send_line`/`expect` round trips
//! against the echo server (process start included), and 10,000 `expect`s
//! over 1 MB of output (linear, never rescanning from the start).
//!
//! Run: `cargo bench --bench scenario`.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Runs `tcprun FILE` `runs` times; returns the median wall time.
fn time_runs(file: &Path, runs: usize) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            let output = Command::new(env!("CARGO_BIN_EXE_tcprun"))
                .arg(file)
                .output()
                .expect("tcprun runs");
            let elapsed = started.elapsed();
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stdout)
            );
            elapsed
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn round_trips(n: usize) -> String {
    let mut yaml = format!(
        "name: {n} round trips\nserver: {{fake: echo}}\nclient: {{}}\nsteps:\n  - wait_connected\n"
    );
    for i in 0..n {
        let _ = write!(
            yaml,
            "  - send_line: message {i}\n  - expect: \"^message {i}$\"\n"
        );
    }
    yaml
}

fn many_expects(lines: usize, width: usize) -> String {
    let mut yaml = format!(
        "name: {lines} expects\nserver: {{fake: echo}}\nclient: {{}}\nsteps:\n  - wait_connected\n"
    );
    let mut data = String::new();
    for i in 0..lines {
        let _ = writeln!(data, "{i:0width$}", width = width - 1);
    }
    let _ = writeln!(yaml, "  - server_send: {data:?}");
    for i in 0..lines {
        let _ = writeln!(yaml, "  - expect: \"^{i:0width$}$\"", width = width - 1);
    }
    yaml
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("tcprun-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let cases = [
        (
            "1,000 send_line/expect round trips (echo server)",
            "round-trips.yaml",
            round_trips(1000),
        ),
        (
            "10,000 expects over 1 MB of output",
            "expects-1mb.yaml",
            many_expects(10_000, 100),
        ),
        (
            "20,000 expects over 2 MB of output",
            "expects-2mb.yaml",
            many_expects(20_000, 100),
        ),
    ];
    println!("| scenario | wall time, process start included (median of 11) |");
    println!("| --- | --- |");
    for (label, name, yaml) in cases {
        let file = dir.join(name);
        std::fs::write(&file, yaml).expect("write scenario");
        let time = time_runs(&file, 11);
        println!("| {label} | {:.1} ms |", time.as_secs_f64() * 1e3);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
