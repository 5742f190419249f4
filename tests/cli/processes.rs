//! Proves that no process tcprun starts outlives it: after a pass, a failure,
//! a scenario timeout, SIGINT, SIGTERM and a panic.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// A scenario whose server program and client program each leave a
/// grandchild (`sleep`) in their process group; all four processes carry
/// `LEAK_MARKER=marker` in their environment.
fn scenario(dir: &Path, marker: &str, steps: &str, timeout: &str) -> PathBuf {
    let file = dir.join(format!("{marker}.yaml"));
    let yaml = format!(
        r#"name: leak test {marker}
timeout: {timeout}
server:
  shell: "sleep 3600 & exec python3 -m http.server ${{port}} --bind 127.0.0.1"
  env: {{LEAK_MARKER: "{marker}", WORK: "${{tmp}}"}}   # ${{tmp}}: the run makes its folder
  ready: {{port: true}}
  ready_timeout: 10s
clients:
  prog:
    shell: "sleep 3600 & exec cat"
    env: {{LEAK_MARKER: "{marker}"}}
steps:
{steps}
"#
    );
    std::fs::write(&file, yaml).expect("write scenario");
    file
}

/// Returns the pids of live processes whose environment carries `LEAK_MARKER=marker`.
fn survivors(marker: &str) -> Vec<i32> {
    let wanted = format!("LEAK_MARKER={marker}");
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
        let zombie = std::fs::read_to_string(entry.path().join("stat")).is_ok_and(|stat| {
            stat.rsplit(')')
                .next()
                .is_some_and(|rest| rest.trim_start().starts_with('Z'))
        });
        if !zombie
            && environ
                .split(|&b| b == 0)
                .any(|var| var == wanted.as_bytes())
        {
            found.push(pid);
        }
    }
    found
}

/// Waits (at most 5 s) until nothing tagged `marker` runs; returns what is left.
fn await_no_survivors(marker: &str) -> Vec<i32> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = survivors(marker);
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Describes processes by pid: state, parent and command line, for a failure message.
fn describe(pids: &[i32]) -> String {
    pids.iter()
        .map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let state = stat.rsplit(')').next().unwrap_or("").trim();
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            format!("[{pid} {state:.20} | {}]", cmdline.trim())
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn tcprun(file: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tcprun"));
    command
        .arg("--verbose")
        .arg(file)
        .env("CI", "true")
        .env("NO_COLOR", "1");
    command
}

/// Returns a marker unique to this test run.
fn marker(name: &str) -> String {
    format!(
        "{}{}",
        std::process::id(),
        name.len() * 7919 + name.bytes().map(u32::from).sum::<u32>() as usize
    )
}

/// Kills the child on drop, so a failed test leaves nothing running.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run_to_end(file: &Path, env: &[(&str, &str)]) -> std::process::Output {
    let mut command = tcprun(file);
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("tcprun runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn nothing_survives_a_passing_scenario() {
    let dir = tempfile::tempdir().expect("temp dir");
    let marker = marker("pass");
    let steps =
        "  - send_line: {text: ping, client: prog}\n  - expect: {regex: \"^ping$\", client: prog}";
    let output = run_to_end(&scenario(dir.path(), &marker, steps, "20s"), &[]);
    assert!(output.status.success(), "{}", text(&output.stdout));
    assert_eq!(await_no_survivors(&marker), Vec::<i32>::new());
}

#[test]
fn nothing_survives_a_failing_scenario() {
    let dir = tempfile::tempdir().expect("temp dir");
    let marker = marker("fail");
    let steps = "  - send_line: {text: ping, client: prog}\n  - expect: {regex: \"^pong$\", client: prog, timeout: 300ms}";
    let output = run_to_end(&scenario(dir.path(), &marker, steps, "20s"), &[]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stdout));
    assert_eq!(await_no_survivors(&marker), Vec::<i32>::new());
}

#[test]
fn a_scenario_timeout_ends_hanging_programs_and_says_what_ran() {
    let dir = tempfile::tempdir().expect("temp dir");
    let marker = marker("timeout");
    let steps = "  - expect: {regex: never, client: prog, timeout: 60s}";
    // The timeout also covers starting Python's server: room for a loaded machine.
    let output = run_to_end(&scenario(dir.path(), &marker, steps, "3s"), &[]);
    let out = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(out.contains("timed out after 3s"), "{out}");
    assert!(
        out.contains("server program `/bin/sh`") || out.contains("server program `sh`"),
        "{out}"
    );
    assert!(out.contains("client prog"), "{out}");
    assert_eq!(await_no_survivors(&marker), Vec::<i32>::new());
}

/// Returns the scenario folders (`tcprun-*`) left in `tmp`.
fn folders_left(tmp: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(tmp)
        .expect("temp folder")
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("tcprun-"))
        })
        .collect()
}

/// Starts a long scenario, waits until both programs run, then signals
/// tcprun; returns its status, its stderr, and the scenario folders it left
/// (its temporary folder is a fresh one, `TMPDIR`).
fn interrupt_with(signal: Signal, name: &str) -> (Option<i32>, String, Vec<PathBuf>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let tmp = tempfile::tempdir().expect("temp dir");
    let marker = marker(name);
    let steps = "  - sleep: 60s";
    let file = scenario(dir.path(), &marker, steps, "90s");
    let mut child = Guard(
        tcprun(&file)
            .env("TMPDIR", tmp.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("tcprun starts"),
    );
    let stdout = child.0.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    // The client program starts after the server is ready.
    let started = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|line| line.contains("prog: started"));
    assert!(started, "the client program started");
    // Per program: its supervisor, the program, and a background `sleep`.
    let all = 6;
    let deadline = Instant::now() + Duration::from_secs(5);
    while survivors(&marker).len() < all && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let running = survivors(&marker);
    assert_eq!(
        running.len(),
        all,
        "every process, grandchildren included, runs before the signal: {}",
        describe(&running)
    );
    assert_eq!(folders_left(tmp.path()).len(), 1, "the scenario's folder");
    kill(Pid::from_raw(child.0.id() as i32), signal).expect("signal tcprun");
    let status = child.0.wait().expect("tcprun ends");
    let mut err = String::new();
    if let Some(mut stderr) = child.0.stderr.take() {
        use std::io::Read;
        let _ = stderr.read_to_string(&mut err);
    }
    let left = await_no_survivors(&marker);
    assert!(
        left.is_empty(),
        "survivors after {signal}: {}",
        describe(&left)
    );
    (status.code(), err, folders_left(tmp.path()))
}

#[test]
fn nothing_survives_sigint() {
    let (code, err, left) = interrupt_with(Signal::SIGINT, "sigint");
    assert_eq!(code, Some(130), "{err}");
    assert!(err.contains("interrupted by SIGINT"), "{err}");
    assert_eq!(left, Vec::<PathBuf>::new(), "scenario folders left behind");
}

#[test]
fn nothing_survives_sigterm() {
    let (code, err, left) = interrupt_with(Signal::SIGTERM, "sigterm");
    assert_eq!(code, Some(143), "{err}");
    assert_eq!(left, Vec::<PathBuf>::new(), "scenario folders left behind");
}

/// SIGKILL leaves tcprun no chance to clean up: each program's supervisor
/// ends its whole group, grandchildren included.
#[test]
fn nothing_survives_sigkill() {
    let (code, err, _) = interrupt_with(Signal::SIGKILL, "sigkill");
    assert_eq!(code, None, "{err}");
}

#[test]
fn nothing_survives_a_panic() {
    if !cfg!(debug_assertions) {
        eprintln!("SKIPPED nothing_survives_a_panic: its panic hook is in debug builds only");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let marker = marker("panic");
    let file = scenario(dir.path(), &marker, "  - sleep: 60s", "90s");
    let tmp = tempfile::tempdir().expect("temp dir");
    let tmp_path = tmp.path().to_str().expect("utf-8");
    let output = run_to_end(
        &file,
        &[("TCPRUN_TEST_PANIC_AFTER_START", "1"), ("TMPDIR", tmp_path)],
    );
    let err = text(&output.stderr);
    assert_eq!(output.status.code(), Some(101), "{err}");
    assert!(err.contains("error: internal error in tcprun"), "{err}");
    assert!(!err.contains("stack backtrace"), "{err}");
    assert_eq!(await_no_survivors(&marker), Vec::<i32>::new());
    assert_eq!(folders_left(tmp.path()), Vec::<PathBuf>::new());
}

/// Writes `yaml` as a scenario in a fresh folder, runs it, and returns its status and stdout.
fn run_yaml(yaml: &str) -> (std::process::ExitStatus, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("scenario.yaml");
    std::fs::write(&file, yaml).expect("write scenario");
    let output = tcprun(&file).output().expect("tcprun runs");
    (output.status, text(&output.stdout))
}

#[test]
fn kill_client_signals_the_program_and_expect_exit_sees_the_signal() {
    let (status, out) = run_yaml(
        r#"name: kill a client program
server: {fake: echo}
clients:
  cat: {command: ["cat"]}
  sleeper: {shell: "trap 'exit 3' TERM; echo waiting; while :; do sleep 0.05; done"}
steps:
  - send_line: {text: meow, client: cat}
  - expect: {regex: "^meow$", client: cat}
  - kill_client: {client: cat}
  - expect_exit: {signal: KILL, client: cat}
  - expect: {regex: "^waiting$", client: sleeper}
  - kill_client: {signal: TERM, client: sleeper}
  - expect_exit: {code: 3, client: sleeper}
"#,
    );
    assert!(status.success(), "{out}");
    assert!(
        out.contains("cat: sent SIGKILL") && out.contains("cat: killed by SIGKILL"),
        "{out}"
    );
    assert!(out.contains("sleeper: exited with code 3"), "{out}");
}

#[test]
fn expect_reads_a_client_programs_separate_stderr_with_stream_stderr() {
    let (status, out) = run_yaml(
        r#"name: stdout and stderr apart
server: {fake: echo}
client: {shell: "echo out; echo warn >&2; exec cat"}
steps:
  - expect: {regex: "^warn$", stream: stderr}
  - expect_no: {regex: warn, timeout: 100ms}
  - expect: "^out$"
  - expect_no: {regex: out, stream: stderr, timeout: 100ms}
  - send_line: meow
  - expect: "^meow$"
  - end
  - expect_exit: 0
"#,
    );
    assert!(status.success(), "{out}");
    // Each shows where its expect consumed it: stderr first, as the steps say.
    let warn = out.find(r#"client stderr "warn\n""#).expect(&out);
    let first = out.find(r#"client stdout "out\n""#).expect(&out);
    assert!(warn < first, "{out}");
}

#[test]
fn a_server_program_that_exits_before_it_is_ready_fails_with_its_status_and_output() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("early.yaml");
    std::fs::write(
        &file,
        "name: exits early\nserver:\n  shell: \"echo cannot bind port ${port} >&2; exit 7\"\nclient: {}\nsteps:\n  - wait_connected\n",
    )
    .expect("write scenario");
    let output = tcprun(&file).output().expect("tcprun runs");
    let out = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(
        out.contains("exited with code 7 before it was ready"),
        "{out}"
    );
    assert!(out.contains("cannot bind port"), "{out}");
}

#[test]
fn a_fixed_port_in_use_fails_at_once_with_a_clear_message() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("taken.yaml");
    std::fs::write(
        &file,
        format!("name: port taken\nserver:\n  command: [\"sleep\", \"30\"]\n  port: {port}\nclient: {{}}\nsteps:\n  - wait_connected\n"),
    )
    .expect("write scenario");
    let output = tcprun(&file).output().expect("tcprun runs");
    let out = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(
        out.contains(&format!("cannot bind 127.0.0.1:{port}")) && out.contains("in use"),
        "{out}"
    );
    // At once: the program is not started and its readiness never awaited.
    assert!(!out.contains("server: started"), "{out}");
}

#[test]
fn a_scenario_folder_is_made_only_for_a_scenario_that_writes_tmp() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tmp = tempfile::tempdir().expect("temp dir");
    let tmp_path = tmp.path().to_str().expect("utf-8");
    // A client program counts the scenario folders in $TMPDIR while the
    // scenario runs; the second file names `${tmp}` (in the program's env).
    let counting = "server: {fake: echo}\nclients:\n  prog: {shell: \"ls \\\"$TMPDIR\\\" | grep -c '^tcprun-' || true\"}\nsteps:\n  - expect: {regex: '^COUNT$', client: prog}\n";
    for (name, count, env) in [
        ("plain.yaml", "0", ""),
        ("writes.yaml", "1", "env: {W: \"${tmp}\"}, "),
    ] {
        let file = dir.path().join(name);
        let yaml = counting
            .replace("COUNT", count)
            .replace("prog: {", &format!("prog: {{{env}"));
        std::fs::write(&file, yaml).expect("write scenario");
        let output = run_to_end(&file, &[("TMPDIR", tmp_path)]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{name}: {}",
            text(&output.stdout)
        );
        assert_eq!(folders_left(tmp.path()), Vec::<PathBuf>::new(), "{name}");
    }
}
