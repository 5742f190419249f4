//! Benchmarks the scenario runner: 1,000 `send_line`/`expect` round trips
//! against the echo server (process start included), 10,000 `expect`s
//! over 1 MB of output (linear, never rescanning from the start), and
//! 10,000 length-prefixed request/reply round trips against a rules server
//! beside 10,000 line round trips against the echo server.
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

/// `n` line round trips against the echo server, one regex for every reply.
fn line_round_trips(n: usize) -> String {
    let mut yaml = format!(
        "name: {n} line round trips\ntimeout: 5m\nserver: {{fake: echo}}\nclient: {{}}\nsteps:\n  - wait_connected\n"
    );
    for i in 0..n {
        let _ = write!(
            yaml,
            "  - send_line: message {i}\n  - expect: '^message \\d+$'\n"
        );
    }
    yaml
}

/// `n` length-prefixed request/reply round trips against a rules server
/// (u16be length fields both ways), one regex for every reply.
fn frame_round_trips(n: usize) -> String {
    let mut yaml = format!(
        "name: {n} frame round trips\ntimeout: 5m\nserver:\n  fake: rules\n  framing: {{length: u16be}}\n  rules:\n    - name: message\n      when: {{starts_with: \"message \"}}\n      reply: {{hex: \"00 04 50 4f 4e 47\"}}\nclient: {{framing: {{length: u16be}}}}\nsteps:\n  - wait_connected\n"
    );
    for i in 0..n {
        let _ = write!(
            yaml,
            "  - send_frame: message {i}\n  - expect_frame: '^PONG$'\n"
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
    // Frames and rules beside plain lines, the same number of round trips,
    // runs taken in turns so that the machine's load falls on both.
    let lines = dir.join("lines.yaml");
    let frames = dir.join("frames.yaml");
    std::fs::write(&lines, line_round_trips(10_000)).expect("write scenario");
    std::fs::write(&frames, frame_round_trips(10_000)).expect("write scenario");
    let (mut line_times, mut frame_times) = (Vec::new(), Vec::new());
    for _ in 0..7 {
        line_times.push(time_runs(&lines, 1));
        frame_times.push(time_runs(&frames, 1));
    }
    line_times.sort();
    frame_times.sort();
    let (line, frame) = (line_times[3], frame_times[3]);
    println!();
    println!(
        "| 10,000 round trips, process start included (median of 7, in turns) | wall time | per round trip |"
    );
    println!("| --- | --- | --- |");
    println!(
        "| lines: `send_line` / `expect` against `fake: echo` | {:.1} ms | {:.1} µs |",
        line.as_secs_f64() * 1e3,
        line.as_secs_f64() * 1e2
    );
    println!(
        "| frames: `send_frame` / `expect_frame` (u16be length) against `fake: rules` | {:.1} ms | {:.1} µs |",
        frame.as_secs_f64() * 1e3,
        frame.as_secs_f64() * 1e2
    );
    println!(
        "| frames and rules ÷ lines | {:.2}× | |",
        frame.as_secs_f64() / line.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
