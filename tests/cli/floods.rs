//! Peers that flood and clients that never stop: tcprun's memory stays bounded, its reports small, and every wait ends by its timeout.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The peak memory a flood may cost tcprun, in KiB.
const PEAK_KIB: u64 = 64 * 1024;

/// Runs `tcprun ARGS... FILE` and returns its exit code, stdout, and its
/// peak resident memory in KiB (its high-water mark, read from /proc while it runs).
fn run_measured(file: &Path, args: &[&str]) -> (i32, String, u64) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tcprun"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CI", "true")
        .args(args)
        .arg(file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tcprun");
    // Read stdout as it comes, so that a long report cannot fill the pipe.
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        out
    });
    let status = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    // Beyond every scenario's own `timeout:` here: tcprun ends first.
    let deadline = Instant::now() + Duration::from_secs(360);
    let code = loop {
        if let Ok(text) = std::fs::read_to_string(&status) {
            let hwm = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
            peak = peak.max(hwm.unwrap_or(0));
        }
        if let Some(status) = child.try_wait().expect("wait") {
            break status.code().unwrap_or(-1);
        }
        assert!(Instant::now() < deadline, "tcprun did not end");
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = reader.join().expect("the stdout reader");
    (code, out, peak)
}

fn scenario(dir: &Path, yaml: &str) -> std::path::PathBuf {
    let file = dir.join("flood.yaml");
    std::fs::write(&file, yaml).expect("write the scenario");
    file
}

/// A server that sends `x` without a newline, as fast as it can, to its first client.
fn flood_server(dir: &Path) -> String {
    let program = dir.join("flood.py");
    std::fs::write(
        &program,
        "import socket, sys\ns = socket.create_server(('127.0.0.1', int(sys.argv[1])))\nprint('ready', flush=True)\nc, _ = s.accept()\nchunk = b'x' * 65536\nwhile True:\n    c.sendall(chunk)\n",
    )
    .expect("write the flood server");
    program.display().to_string()
}

#[test]
fn a_peer_flooding_without_a_newline_costs_bounded_memory_and_says_how_much_came() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = flood_server(dir.path());
    let file = scenario(
        dir.path(),
        &format!(
            "timeout: 20s\nserver:\n  command: [python3, \"{server}\", \"${{port}}\"]\n  ready: {{log: \"^ready\"}}\nclient: {{}}\nsteps:\n  - wait_connected\n  - expect: {{regex: never, timeout: 3s}}\n"
        ),
    );
    let json = dir.path().join("report.json");
    let (code, out, peak) = run_measured(&file, &["--json", json.to_str().expect("utf-8")]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("older bytes were dropped unread"), "{out}");
    assert!(peak < PEAK_KIB, "peak RSS {peak} KiB:\n{out}");
    let size = std::fs::metadata(&json).expect("the JSON report").len();
    assert!(size < 4 << 20, "a {size}-byte JSON report");
}

#[test]
fn a_client_program_flooding_its_stdout_costs_bounded_memory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = scenario(
        dir.path(),
        "timeout: 20s\nserver: {fake: echo}\nclient: {shell: \"yes | tr -d '\\\\n'\"}\nsteps:\n  - expect: {regex: never, timeout: 3s}\n",
    );
    let (code, out, peak) = run_measured(&file, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(peak < PEAK_KIB, "peak RSS {peak} KiB:\n{out}");
}

#[test]
fn a_client_retrying_without_pause_fills_no_memory_and_its_transcript_says_what_it_left_out() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = scenario(
        dir.path(),
        // A count, not a time: 20,000 retries are 60,000 transcript lines,
        // more than a transcript keeps, however fast or loaded the machine.
        "timeout: 5m\nserver: {fake: echo, start: false}\nclient: {retry_interval: 0s, max_retries: 20000}\nsteps:\n  - expect_gave_up: 5m\n",
    );
    let json = dir.path().join("report.json");
    let (code, out, peak) = run_measured(&file, &["--json", json.to_str().expect("utf-8")]);
    assert_eq!(code, 0, "{out}");
    assert!(peak < PEAK_KIB, "peak RSS {peak} KiB:\n{out}");
    let report = std::fs::read_to_string(&json).expect("the JSON report");
    assert!(
        report.len() < 4 << 20,
        "a {}-byte JSON report",
        report.len()
    );
    assert!(
        report.contains(" more lines ("),
        "no elision line in the report"
    );
    // Kept: the head and the tail, never all 60,000 lines.
    let kept = report.matches("client: connecting to").count();
    assert!(
        (1..=(20_000 + 2_000) / 3).contains(&kept),
        "{kept} attempts kept"
    );
}

#[test]
fn the_scenario_timeout_bounds_its_start_too() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = scenario(
        dir.path(),
        "timeout: 2s\nserver:\n  shell: \"sleep 30\"\n  ready: {log: never}\n  ready_timeout: 20s\nclient: {}\nsteps:\n  - wait_connected\n",
    );
    let (code, out, _) = run_measured(&file, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("the scenario timed out after 2s (its `timeout:`) while its server and clients were starting"),
        "{out}"
    );
}
