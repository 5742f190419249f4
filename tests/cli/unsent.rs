//! Bytes a built-in client never sends fail the scenario, unless `expect_unsent` expects them.

use crate::support::run_scenario;

/// Runs a scenario with `steps` against a fake echo server that is down
/// (a client retrying every 100ms, up to `max_retries`, holding `hello`);
/// returns the exit code and stdout of `tcprun -v`.
fn run(max_retries: u32, steps: &str) -> (i32, String) {
    run_scenario(&format!(
        "name: unsent\nserver: {{fake: echo, start: false}}\nclient: {{retry_interval: 100ms, max_retries: {max_retries}}}\nsteps:\n  - expect_error: ECONNREFUSED\n  - send_line: hello\n{steps}"
    ))
}

#[test]
fn bytes_held_when_the_client_gives_up_fail_the_scenario() {
    let (code, out) = run(2, "  - send_quit\n  - expect_gave_up\n");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("client: 6 bytes were never sent; where that is expected, say so with `- expect_unsent: 6`"),
        "{out}"
    );
    assert!(
        out.contains(
            "client: gave up after 2 retries (last error: ECONNREFUSED); 6 bytes never sent"
        ),
        "{out}"
    );
}

#[test]
fn expect_unsent_expects_them() {
    let (code, out) = run(2, "  - send_quit\n  - expect_unsent: 6\n");
    assert_eq!(code, 0, "{out}");
    let (code, out) = run(
        2,
        "  - send_quit\n  - expect_unsent: {bytes: 5, timeout: 10s}\n",
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("expected 5 bytes never sent, client reported 6"),
        "{out}"
    );
}

#[test]
fn bytes_still_held_when_the_scenario_ends_fail_it() {
    let (code, out) = run(100, "");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("client: 6 bytes never sent (stopped)"),
        "{out}"
    );
    assert!(out.contains("client: 6 bytes were never sent"), "{out}");
}
