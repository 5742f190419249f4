//! Frames through the real binary over loopback: every kind of framing round trip, frames that arrive in pieces shown once, partial frames at close, frames over `max`, frame patterns, server frame steps, located load errors.

use std::path::Path;

use crate::support::{run_in_root as tcprun, run_scenario, transcript_lines as lines};

/// Returns how many transcript lines are exactly `line`.
fn count(out: &str, line: &str) -> usize {
    lines(out).iter().filter(|l| **l == line).count()
}

/// Returns the index of the first transcript line that is `line`.
fn at(out: &str, line: &str) -> usize {
    lines(out)
        .iter()
        .position(|l| *l == line)
        .unwrap_or_else(|| panic!("no line {line:?} in:\n{out}"))
}

/// Runs `steps` with a built-in client framed by `framing` against the echo server.
fn echo(framing: &str, steps: &str) -> (i32, String) {
    run_scenario(&format!(
        "name: frames\nserver: {{fake: echo}}\nclient: {{framing: {framing}, reconnect: false}}\nsteps:\n  - wait_connected\n{steps}"
    ))
}

#[test]
fn every_kind_of_framing_wraps_sends_and_cuts_what_comes_back() {
    // (framing, payload, frame size on the wire)
    let cases: &[(&str, &str, usize)] = &[
        ("line", "PING", 5),
        ("crlf", "PING", 6),
        ("{delimiter: \"\\0\\0\"}", "PING", 6),
        ("{start: \"\\x0b\", end: \"\\x1c\\r\"}", "PING", 7),
        ("{fixed: 4}", "PING", 4),
        ("{length: u8}", "PING", 5),
        ("{length: u16be}", "PING", 6),
        ("{length: u16le}", "PING", 6),
        ("{length: u24be}", "PING", 7),
        ("{length: u32be}", "PING", 8),
        ("{length: u32le}", "PING", 8),
        ("{length: u64be}", "PING", 12),
        ("{length: u64le}", "PING", 12),
        ("{length: varint}", "PING", 5),
        // A 1-byte tag, then a u16be length that counts itself.
        ("{length: u16be, offset: 1, adjust: -2}", "TPING", 7),
    ];
    for (framing, payload, size) in cases {
        let (code, out) = echo(
            framing,
            &format!(
                "  - send_frame: {payload}\n  - send_frame: {payload}\n  - expect_frame: {{text: {payload}}}\n  - expect_frame: \"^{payload}$\"\n"
            ),
        );
        assert_eq!(code, 0, "{framing}:\n{out}");
        let sent = format!("client > frame({size}) \"{payload}\"");
        let got = format!("client < frame({size}) \"{payload}\"");
        assert_eq!(count(&out, &sent), 2, "{framing}:\n{out}");
        assert_eq!(count(&out, &got), 2, "{framing}:\n{out}");
    }
}

#[test]
fn a_frame_written_in_pieces_shows_once_whole_when_its_last_byte_comes() {
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "{length: u16be}",
            "00 05 68 65",
            "6c 6c 6f",
            "client < frame(7) \"hello\"",
        ),
        (
            "line",
            "68 65",
            "6c 6c 6f 0a",
            "client < frame(6) \"hello\"",
        ),
        (
            "crlf",
            "68 65 6c 6c 6f 0d",
            "0a",
            "client < frame(7) \"hello\"",
        ),
        (
            "{fixed: 5}",
            "68 65 6c",
            "6c 6f",
            "client < frame(5) \"hello\"",
        ),
        (
            "{start: \"<\", end: \">\"}",
            "6a 75 6e 6b 3c 68 65",
            "6c 6c 6f 3e",
            "client < frame(7) \"hello\"",
        ),
        (
            "{length: varint}",
            "05 68",
            "65 6c 6c 6f",
            "client < frame(6) \"hello\"",
        ),
    ];
    for (framing, first, second, frame) in cases {
        let (code, out) = echo(
            framing,
            &format!(
                "  - server_send: {{hex: \"{first}\"}}\n  - sleep: 1s\n  - server_send: {{hex: \"{second}\"}}\n  - expect_frame: {{text: hello}}\n"
            ),
        );
        assert_eq!(code, 0, "{framing}:\n{out}");
        assert_eq!(count(&out, frame), 1, "{framing}:\n{out}");
        let pieces: Vec<usize> = lines(&out)
            .iter()
            .enumerate()
            .filter(|(_, l)| l.starts_with("server[client] > "))
            .map(|(i, _)| i)
            .collect();
        assert_eq!(pieces.len(), 2, "{framing}:\n{out}");
        assert!(
            at(&out, frame) > pieces[1],
            "{framing}: shown after its last piece:\n{out}"
        );
    }
    // Bytes before a start are junk, reported, not lost.
    let (_, out) = echo(
        "{start: \"<\", end: \">\"}",
        "  - server_send: \"junk<hello>\"\n  - expect_frame: {text: hello}\n",
    );
    assert_eq!(count(&out, "client < junk(4) \"junk\""), 1, "{out}");
}

#[test]
fn two_frames_sent_at_once_give_one_transcript_however_the_reads_cut_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("two.yaml");
    std::fs::write(
        &file,
        "name: two frames at once\nserver: {fake: echo, framing: {length: u8}}\nclient: {framing: {length: u8}}\nsteps:\n  - wait_connected\n  - send: {hex: \"02 68 69 03 79 6f 75 00\"}\n  - expect_frame: {text: hi}\n  - expect_frame: {text: you}\n  - expect_frame: {hex: \"\"}\n",
    )
    .expect("write");
    let (code, out, _) = tcprun(&file, &["--repeat", "30", "-j", "4"]);
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = tcprun(&file, &["-v"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        lines(&out).windows(3).any(|w| w
            == [
                "server[client] < frame(3) \"hi\"",
                "server[client] < frame(4) \"you\"",
                "server[client] < frame(1) \"\""
            ]),
        "{out}"
    );
}

#[test]
fn a_partial_frame_at_close_is_reported_with_its_byte_count() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "{length: u16be}",
            "00 09 62 79",
            "client < partial frame(4 of 11) \"\\0\\tby\"",
        ),
        (
            "{fixed: 8}",
            "62 79 65",
            "client < partial frame(3 of 8) \"bye\"",
        ),
        ("line", "62 79 65", "client < partial frame(3) \"bye\""),
        (
            "{start: \"<\", end: \">\"}",
            "3c 62 79",
            "client < partial frame(3) \"<by\"",
        ),
    ];
    for (framing, bytes, partial) in cases {
        let (code, out) = echo(
            framing,
            &format!(
                "  - server_send: {{hex: \"{bytes}\"}}\n  - server_close: fin\n  - expect_closed: fin\n"
            ),
        );
        assert_eq!(code, 0, "{framing}:\n{out}");
        assert_eq!(count(&out, partial), 1, "{framing}:\n{out}");
        assert!(
            at(&out, partial) < at(&out, "client: peer ended (FIN)"),
            "{out}"
        );
    }
    // A wait for a frame fails at once, saying what had come.
    let (code, out) = echo(
        "{length: u16be}",
        "  - server_send: {hex: \"00 09 62 79\"}\n  - server_close: fin\n  - expect_frame: {regex: bye, timeout: 1h}\n",
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("expected a frame matching /bye/, but the server closed the connection (FIN) and client does not reconnect"),
        "{out}"
    );
    assert!(
        out.contains("does not reconnect; a partial frame (4 of 11 bytes, \"\\0\\tby\") had come"),
        "{out}"
    );
}

#[test]
fn a_frame_over_max_fails_the_step_and_says_at_which_byte() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "{length: u16be, max: 64}",
            "00 01 61 00 ff 62",
            "client: framing stopped: frame at byte 3: its u16be length field says 255, so the frame would be 257 bytes, over max 64 bytes",
        ),
        (
            "{delimiter: \"|\", max: 8}",
            "61 7c 30 31 32 33 34 35 36 37 38 39",
            "client: framing stopped: frame at byte 2: no \"|\" within max 8 bytes",
        ),
        (
            "{length: varint}",
            "ff ff ff ff ff ff ff ff ff ff ff",
            "client: framing stopped: frame at byte 0: its varint length field runs past 10 bytes (an 11-byte varint or longer)",
        ),
    ];
    for (framing, bytes, stopped) in cases {
        let (code, out) = echo(
            framing,
            &format!("  - server_send: {{hex: \"{bytes}\"}}\n  - sleep: 1s\n"),
        );
        assert_eq!(code, 1, "{framing}:\n{out}");
        assert_eq!(count(&out, stopped), 1, "{framing}:\n{out}");
        // The step in which it happened fails, with a hint.
        assert!(out.contains(":6:5: server_send:"), "{framing}:\n{out}");
        assert!(out.contains(&format!("  {stopped};")), "{framing}:\n{out}");
    }
    // What came after stays in the transcript, unframed.
    let (_, out) = echo(
        "{length: u8, max: 4}",
        "  - server_send: {hex: \"09 61 62 63\"}\n",
    );
    assert_eq!(count(&out, "client < \"\\tabc\""), 1, "{out}");
}

#[test]
fn expect_frame_takes_the_next_frame_and_fails_at_once_unless_it_matches() {
    let (code, out) = echo(
        "line",
        "  - server_send: \"PING\\nnoise\\nPONG 7\\n\"\n  - expect_frame: PING\n  - expect_frame: {regex: \"^PONG\", timeout: 1h}\n",
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("expected a frame matching /^PONG/, but the next frame is frame(6) \"noise\" (at byte 5 of its connection)"),
        "{out}"
    );
    // skip: true searches on; captures become variables.
    let (code, out) = echo(
        "line",
        "  - server_send: \"PING\\nnoise\\nPONG 7\\n\"\n  - expect_frame: {regex: \"^PONG (?<n>\\\\d+)$\", skip: true}\n  - send_frame: \"got ${n}\"\n  - expect_frame: {text: got 7}\n",
    );
    assert_eq!(code, 0, "{out}");
    // A timeout says what came, frames passed over included.
    let (code, out) = echo(
        "line",
        "  - server_send: \"a\\nb\\nhal\"\n  - expect_frame: {text: c, skip: true, timeout: 300ms}\n",
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("expected a frame matching text \"c\" within 300ms, but none of the 2 frames that came matched; 3 bytes of a frame not yet whole had come"),
        "{out}"
    );
}

#[test]
fn hex_patterns_match_whole_bytes_with_wildcards() {
    let (code, out) = echo(
        "{length: u8}",
        "  - send_frame: {hex: \"01 ab 00 05\"}\n  - expect_frame: {hex: \"01 ?? 00 05\"}\n  - send_frame: {hex: \"10 01\"}\n  - expect_frame: {hex: \"00 10\", prefix: true}\n",
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("expected a frame matching hex 00 10 (a prefix), but the next frame is frame(3) \"\\x10\\x01\""),
        "{out}"
    );
    let (code, out) = echo(
        "{length: u8}",
        "  - send_frame: {hex: \"10 01\"}\n  - expect_frame: {hex: \"10\", prefix: true}\n  - send_frame: abc\n  - expect_frame: {hex: \"61 ??\"}\n",
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("hex 61 ??, but the next frame is frame(4) \"abc\""),
        "{out}"
    );
}

#[test]
fn the_server_frames_what_each_connection_sends_and_wraps_what_it_sends() {
    let (code, out) = run_scenario(
        "name: server frames\nserver: {fake: silent, framing: {length: u16be}}\nclients:\n  alice: {framing: {length: u16be}}\n  bob: {framing: {length: u16be}}\nsteps:\n  - wait_connected: {client: alice}\n  - wait_connected: {client: bob}\n  - send_frame: {text: from alice, client: alice}\n  - send_frame: {text: from bob, client: bob}\n  - server_expect_frame: {text: from bob, connection: bob}\n  - server_expect_frame: {regex: alice, connection: alice}\n  - server_send_frame: {text: to bob, connection: bob}\n  - expect_frame: {text: to bob, client: bob}\n  - server_send_frame: everyone\n  - expect_frame: {text: everyone, client: alice}\n  - expect_frame: {text: everyone, client: bob}\n  - send_frame: {text: again, client: alice}\n  - server_expect_frame: {text: again, skip: true}\n",
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        count(&out, "server[alice] < frame(12) \"from alice\""),
        1,
        "{out}"
    );
    assert_eq!(count(&out, "server[bob] > frame(8) \"to bob\""), 1, "{out}");
    assert_eq!(count(&out, "bob < frame(8) \"to bob\""), 1, "{out}");
}

#[test]
fn send_frame_refuses_data_the_peer_would_read_as_other_frames() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("nl.yaml");
    std::fs::write(
        &file,
        "server: {fake: echo}\nclient: {framing: line}\nsteps:\n  - send_frame: \"a\\nb\"\n",
    )
    .expect("write");
    let (code, _, err) = tcprun(&file, &["validate"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("nl.yaml:4:5: error: this data cannot be sent as one `line` frame: the payload holds \"\\n\" at byte 1"),
        "{err}"
    );
}

#[test]
fn framing_errors_in_a_file_are_located_before_anything_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("bad.yaml");
    std::fs::write(
        &file,
        "server:\n  fake: echo\n  framing: {length: u32, adjust: -4}\nclient: {framing: {lenght: u16be}}\nsteps:\n  - expect_frame: {hex: \"0x01\"}\n  - server_expect_frame: PING\n",
    )
    .expect("write");
    let (code, _, err) = tcprun(&file, &["validate"]);
    assert_eq!(code, 2, "{err}");
    for expected in [
        "bad.yaml:3:21: error: framing `length`: expected a field type",
        "= hint: `u32` needs a byte order: `u32be` (big-endian, network order) or `u32le`",
        "bad.yaml:4:20: error: unknown framing key `lenght`",
        "= hint: did you mean `length`?",
        "bad.yaml:6:25: error: `hex`: expected two hex digits or `??` at column 1, found `0x`",
    ] {
        assert!(err.contains(expected), "{expected}\n{err}");
    }
    // Steps are not blamed for a framing written wrong.
    assert!(!err.contains("needs `framing:`"), "{err}");
    std::fs::write(
        &file,
        "server: {fake: echo}\nclient: {}\nsteps:\n  - send_frame: hi\n  - server_expect_frame: PING\n",
    )
    .expect("write");
    let (code, _, err) = tcprun(&file, &["validate"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("bad.yaml:4:5: error: `send_frame` needs `framing:` on client `client`"),
        "{err}"
    );
    assert!(
        err.contains("bad.yaml:5:5: error: `server_expect_frame` needs `framing:` on the server"),
        "{err}"
    );
}

#[test]
fn a_length_field_that_counts_itself_gets_a_worked_example() {
    let (code, out) = echo(
        "{length: u16be, max: 64}",
        "  - server_send: {hex: \"00 ff\"}\n",
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("a u16be length that counts itself is `{length: u16be, adjust: -2}`"),
        "{out}"
    );
}

#[test]
fn program_frame_scenarios_give_one_transcript_in_thirty_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for name in ["split-frame", "binary-frames"] {
        let file = root.join("scenarios").join(format!("{name}.yaml"));
        let (code, out, _) = tcprun(&file, &["--repeat", "30", "-j", "4"]);
        assert_eq!(code, 0, "{name}:\n{out}");
    }
}
