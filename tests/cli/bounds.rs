//! Hostile input: every input the loader, the suite and the reports take
//! costs memory and time in proportion to its size, and ends in a located
//! error (exit 2), never in a crash. Tests about memory or time bound the
//! child themselves (`prlimit`) and assert on its outcome.

use std::path::Path;
use std::process::{Command, Output};

/// The header of a scenario whose steps follow.
const HEAD: &str = "server: {fake: echo}\nclient: {}\nsteps:\n";

/// Runs `tcprun ARGS...` under `prlimit LIMITS...` (address space, CPU
/// seconds) and a generous wall-clock `timeout` (for a read that would
/// block), so that a regression fails the test instead of the machine.
fn bounded(limits: &[&str], args: &[&str]) -> Output {
    Command::new("timeout")
        .args(["--kill-after=5", "120", "prlimit"])
        .args(limits)
        .arg(env!("CARGO_BIN_EXE_tcprun"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("prlimit runs tcprun")
}

/// 1 GiB of address space: ample for tcprun, far below what the bugs took.
const MEMORY: &str = "--as=1073741824";
/// CPU seconds: ample for a debug build, far below what the bugs took.
const CPU: &str = "--cpu=30";

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write scenario");
    path.to_str().expect("utf-8 path").to_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Checks exit 2 and that stderr starts with `FILE:LINE:COL: error: MESSAGE`.
fn rejected_at(output: &Output, file: &str, at: &str, message: &str) {
    let text = stderr(output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    let head = format!("{file}:{at}: error: {message}");
    assert!(text.starts_with(&head), "expected `{head}`, got:\n{text}");
    assert!(text.len() < 10_000, "{} bytes of errors", text.len());
}

#[test]
fn a_string_aliased_thousands_of_times_is_rejected_at_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut text = format!("{HEAD}  - send: &s \"{}\"\n", "A".repeat(1 << 20));
    text.push_str(&"  - send: *s\n".repeat(10_000));
    let file = write(dir.path(), "aliases.yaml", &text);
    let output = bounded(&[MEMORY, CPU], &["validate", &file]);
    rejected_at(&output, &file, "37:11", "the document is too large");
}

#[test]
fn large_regexes_are_rejected_and_identical_ones_compiled_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    // One huge-when-compiled regex, aliased into 300 steps.
    let mut text = format!("{HEAD}  - expect: &r \"x{{200000}}\"\n");
    text.push_str(&"  - expect: *r\n".repeat(300));
    let file = write(dir.path(), "aliased.yaml", &text);
    let output = bounded(&[MEMORY, CPU], &["validate", &file]);
    rejected_at(
        &output,
        &file,
        "4:13",
        "the regex is too large: compiled, it exceeds the limit of 2 MiB",
    );
    // 500 distinct ones.
    let text: String = (0..500)
        .map(|i| format!("  - expect: \"x{{200000}}{i}\"\n"))
        .collect();
    let file = write(dir.path(), "distinct.yaml", &format!("{HEAD}{text}"));
    let output = bounded(&[MEMORY, CPU], &["validate", &file]);
    rejected_at(&output, &file, "4:13", "the regex is too large");
    // 500 that fit one by one, but not together.
    let text: String = (0..500)
        .map(|i| format!("  - expect: \"x{{40000}}{i}\"\n"))
        .collect();
    let file = write(dir.path(), "budget.yaml", &format!("{HEAD}{text}"));
    let output = bounded(&[MEMORY, CPU], &["validate", &file]);
    let errors = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{errors}");
    assert!(
        errors.contains(
            "error: the regexes of this file are too large together: compiled, they exceed 64 MiB"
        ),
        "{errors}"
    );
}

#[test]
fn a_100000_step_flow_list_on_one_line_loads_in_bounded_time() {
    let dir = tempfile::tempdir().expect("temp dir");
    let steps = vec!["wait_connected"; 100_000].join(", ");
    let file = write(
        dir.path(),
        "flow.yaml",
        &format!("server: {{fake: echo}}\nclient: {{}}\nsteps: [{steps}]\n"),
    );
    let output = bounded(&[MEMORY, CPU], &["validate", &file]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "1 scenario valid\n"
    );
}

#[test]
fn fifos_devices_and_huge_files_are_not_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = dir.path().join("fifo.yaml");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let fifo = fifo.to_str().expect("utf-8 path");
    let output = bounded(&[MEMORY, CPU], &["validate", fifo]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output),
        format!(
            "error: cannot read {fifo}: it is a FIFO (named pipe), not a regular file; a scenario is a YAML file\n"
        )
    );
    let output = bounded(&[MEMORY, CPU], &["validate", "/dev/zero"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("it is a character device, not a regular file"));
    let big = dir.path().join("big.yaml");
    std::fs::File::create(&big)
        .and_then(|file| file.set_len(200 << 20))
        .expect("sparse file");
    let output = bounded(&[MEMORY, CPU], &["validate", big.to_str().expect("utf-8")]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains(
            "the file is too large: 209715200 bytes (scenario files are at most 128 MiB)"
        ),
        "{}",
        stderr(&output)
    );
}

#[test]
fn durations_past_the_maximum_are_load_errors_not_crashes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write(
        dir.path(),
        "sleep.yaml",
        &format!("{HEAD}  - wait_connected\n  - sleep: 300000000000y\n"),
    );
    let output = bounded(&[MEMORY, CPU], &[&file]);
    rejected_at(
        &output,
        &file,
        "5:12",
        "`sleep` is too long: durations are at most 365 days, found `300000000000y`",
    );
    // The maximum itself runs: in virtual time it costs nothing.
    let file = write(
        dir.path(),
        "longest.yaml",
        &format!(
            "timeout: 365days\ndefaults: {{timeout: 365days}}\n{HEAD}  - wait_connected\n  - sleep: 365days\n  - sleep: 365days\n  - expect_no: {{regex: x, timeout: 365days}}\n"
        ),
    );
    let output = bounded(&[MEMORY, CPU], &[&file]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn a_file_that_is_not_utf8_is_located_at_its_first_bad_byte() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("latin1.yaml");
    std::fs::write(
        &path,
        b"server: {fake: echo}\nclient: {}\nsteps:\n  - send: \"caf\xe9\"\n",
    )
    .expect("write");
    let file = path.to_str().expect("utf-8 path");
    let output = bounded(&[MEMORY, CPU], &["validate", file]);
    rejected_at(
        &output,
        file,
        "4:15",
        "the file is not UTF-8 text: invalid byte 0xe9",
    );
}

#[test]
fn jobs_and_repeat_have_documented_maxima() {
    for (args, message) in [
        (
            ["-j", "65535"],
            "invalid value '65535' for '--jobs <N>': 65535 is not in 1..=1024",
        ),
        (
            ["--repeat", "4294967295"],
            "invalid value '4294967295' for '--repeat <N>': 4294967295 is not in 1..=10000",
        ),
    ] {
        let output = bounded(&[MEMORY, CPU], &[args[0], args[1], "scenarios/quit.yaml"]);
        assert_eq!(output.status.code(), Some(2));
        assert!(stderr(&output).contains(message), "{}", stderr(&output));
        assert!(output.stdout.is_empty());
    }
    // The maxima themselves run, without making every job up front.
    let output = bounded(
        &[MEMORY, CPU],
        &["-j", "1024", "--repeat", "3", "scenarios/quit.yaml"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn a_report_that_cannot_be_written_is_an_error_before_and_after_the_run() {
    let output = bounded(
        &[MEMORY, CPU],
        &[
            "--junit",
            "/nonexistent/folder/report.xml",
            "scenarios/quit.yaml",
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output),
        "error: cannot write the --junit report to /nonexistent/folder/report.xml: no such file or directory (os error 2)\n"
    );
    assert!(output.stdout.is_empty(), "nothing ran");
    let output = bounded(&[MEMORY, CPU], &["--json", "/tmp", "scenarios/quit.yaml"]);
    assert_eq!(output.status.code(), Some(2));
    // Writable when checked, full when written: the run's status says so.
    let output = bounded(
        &[MEMORY, CPU],
        &["--json", "/dev/full", "scenarios/quit.yaml"],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).starts_with("error: cannot write /dev/full: "),
        "{}",
        stderr(&output)
    );
    // A report path that does not exist yet is not left behind by the check.
    let dir = tempfile::tempdir().expect("temp dir");
    let junit = dir.path().join("report.xml");
    let junit = junit.to_str().expect("utf-8");
    let output = bounded(
        &[MEMORY, CPU],
        &[
            "--junit",
            junit,
            "--filter",
            "no such scenario",
            "scenarios/quit.yaml",
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(!Path::new(junit).exists());
}

#[test]
fn characters_xml_forbids_from_a_peer_keep_the_junit_report_valid() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write(
        dir.path(),
        "odd.yaml",
        "server: {fake: echo, banner: {hex: \"efbfbe efbfbf 07 1b 0a\"}}\nclient: {}\nsteps:\n  - wait_connected\n  - expect: {regex: \"^never$\", timeout: 1s}\n",
    );
    let junit = dir.path().join("report.xml");
    let json = dir.path().join("report.json");
    let output = bounded(
        &[MEMORY, CPU],
        &[
            "--junit",
            junit.to_str().expect("utf-8"),
            "--json",
            json.to_str().expect("utf-8"),
            &file,
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let xml = std::fs::read_to_string(&junit).expect("junit written");
    let forbidden: Vec<char> = xml
        .chars()
        .filter(|&c| !matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{fffd}' | '\u{10000}'..))
        .collect();
    assert!(forbidden.is_empty(), "{forbidden:?} in {xml}");
    assert!(xml.contains("\\u{fffe}"), "{xml}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("json written"))
            .expect("valid JSON");
    assert_eq!(report["summary"]["failed"], 1);
    let human = String::from_utf8_lossy(&output.stdout);
    assert!(!human.contains('\u{1b}'), "{human}");
}

#[test]
fn var_values_in_shell_scripts_are_words_not_commands() {
    let dir = tempfile::tempdir().expect("temp dir");
    let folder = dir.path().to_str().expect("utf-8");
    let file = write(
        dir.path(),
        "inject.yaml",
        &format!(
            "server: {{fake: echo}}\nclients:\n  sh: {{shell: \"echo hello ${{name}}\", cwd: \"{folder}\"}}\n  tcp: {{}}\nsteps:\n  - expect: {{regex: \"^hello x; touch pwned$\", client: sh}}\n  - expect_exit: {{code: 0, client: sh}}\n"
        ),
    );
    let output = bounded(&[MEMORY, CPU], &["--var", "name=x; touch pwned", &file]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        stderr(&output)
    );
    assert!(
        !dir.path().join("pwned").exists(),
        "the value ran as a command"
    );
}

#[test]
fn connect_durations_have_the_same_maximum() {
    let output = bounded(
        &[MEMORY, CPU],
        &["connect", "--retry-interval", "300000000000y", "1"],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("durations are at most 365 days, found `300000000000y`"),
        "{}",
        stderr(&output)
    );
}
