//! Benchmarks a CI-sized run: 200 generated trivial scenarios with the
//! default jobs (wall time, CPU per scenario, peak RSS), then the same 200
//! with `--jobs 8 --repeat 20` to show that parallel runs stay green and
//! deterministic on a small machine.
//!
//! Run: `cargo bench --bench suite`.

use std::process::Command;
use std::time::Instant;

use nix::sys::resource::{UsageWho, getrusage};

const SCENARIOS: usize = 200;

fn cpu_seconds() -> f64 {
    let usage = getrusage(UsageWho::RUSAGE_CHILDREN).expect("getrusage");
    let time = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    time(usage.user_time()) + time(usage.system_time())
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    for n in 0..SCENARIOS {
        let yaml = format!(
            "name: trivial {n}\nserver: {{fake: echo}}\nclient: {{}}\nsteps:\n  - wait_connected\n  - send_line: ping {n}\n  - expect: \"^ping {n}$\"\n"
        );
        std::fs::write(dir.path().join(format!("s{n:03}.yaml")), yaml).expect("write");
    }
    let run = |args: &[&str]| {
        let cpu = cpu_seconds();
        let started = Instant::now();
        let output = Command::new(env!("CARGO_BIN_EXE_tcprun"))
            .args(args)
            .arg(dir.path())
            .output()
            .expect("tcprun runs");
        let wall = started.elapsed();
        let summary = String::from_utf8_lossy(&output.stdout)
            .lines()
            .last()
            .unwrap_or_default()
            .to_owned();
        assert!(output.status.success(), "{summary}");
        (wall, cpu_seconds() - cpu, summary)
    };
    let (wall, cpu, summary) = run(&[]);
    let rss = getrusage(UsageWho::RUSAGE_CHILDREN)
        .expect("getrusage")
        .max_rss();
    println!("| run | wall time | CPU per scenario | peak RSS | result |");
    println!("| --- | --- | --- | --- | --- |");
    println!(
        "| {SCENARIOS} trivial scenarios, default jobs | {:.0} ms | {:.2} ms | {:.1} MB | {summary} |",
        wall.as_secs_f64() * 1e3,
        cpu * 1e3 / SCENARIOS as f64,
        rss as f64 / 1024.0
    );
    let (wall, cpu, summary) = run(&["--jobs", "8", "--repeat", "20"]);
    println!(
        "| the same, `--jobs 8 --repeat 20` ({} runs) | {:.0} ms | {:.2} ms | — | {summary} |",
        SCENARIOS * 20,
        wall.as_secs_f64() * 1e3,
        cpu * 1e3 / (SCENARIOS * 20) as f64
    );
}
