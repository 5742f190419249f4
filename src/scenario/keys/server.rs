//! Lists the `server:` keys, each marked with the kinds of server it configures.

use super::{
    Applies, CWD_DOC, Default, ENV_DOC, FAKE_KINDS, HOST, Key, OUTPUT_MODES, PORT,
    READY_TIMEOUT_TEXT, STOP_TIMEOUT_TEXT, Value, for_programs, has, with_default,
};

const fn server(name: &'static str, doc: &'static str, value: Value, on: &str) -> Key {
    Key {
        name,
        doc,
        program_doc: None,
        value,
        default: None,
        applies: Applies::Server {
            fake: has(on, b'f'),
            program: has(on, b'p'),
            external: has(on, b'e'),
            kind: has(on, b'k'),
        },
    }
}

/// Lists the `server:` keys (letters: `f` fake, `p` program, `e` external, `k` says the kind).
pub(crate) const SERVER: &[Key] = &[
    server(
        "fake",
        "Which built-in server: `echo` (writes each chunk back), `chat` (writes each chunk to every other connection), `sink` (reads and discards; the transcript shows byte counts), `silent` (reads, never answers, never closes), `rules` (answers each frame by its `rules:`).",
        Value::Choice(FAKE_KINDS),
        "fk",
    ),
    server(
        "command",
        "The server program and its arguments (argv, no shell). `${port}` is the port tcprun chose, `${tmp}` a folder of the scenario's own (removed when it ends).",
        Value::Argv,
        "pk",
    ),
    server(
        "shell",
        "A server program as one `/bin/sh -c` command line. `${port}` is the port tcprun chose, `${tmp}` a folder of the scenario's own (removed when it ends).",
        Value::Def("word"),
        "pk",
    ),
    server(
        "address",
        "`host:port` of a server that is already running (IPv6 in brackets, `[::1]:6379`); tcprun only connects to it.",
        Value::Address,
        "ek",
    ),
    with_default(
        for_programs(
            server("host", "Address to bind.", Value::Def("word"), "fp"),
            "Where the server listens.",
        ),
        Default::Text(HOST),
    ),
    with_default(
        for_programs(
            server(
                "port",
                "Port to bind; 0 picks a free one, shown as `${port}`.",
                Value::ListenPort,
                "fp",
            ),
            "Where the server listens; 0 picks a free port (`${port}` in its command); a fixed port in use fails at once.",
        ),
        Default::Number(PORT as u64),
    ),
    server(
        "banner",
        "Data sent to every connection on accept (a server that speaks first).",
        Value::Def("data"),
        "f",
    ),
    with_default(
        for_programs(
            server(
                "start",
                "false: the port refuses connections until a `start_server` step.",
                Value::Bool,
                "fp",
            ),
            "false: not started until a `start_server` step.",
        ),
        Default::Bool(true),
    ),
    server(
        "framing",
        "How what the server receives is cut into frames, for `server_expect_frame`, `server_send_frame`, rules and the transcript: `line`, `crlf`, `{delimiter: ...}`, `{start: ..., end: ...}`, `{fixed: N}` or `{length: u8|u16be|u16le|u24be|u32be|u32le|u64be|u64le|varint, offset: N, adjust: N}`, each with an optional `max` (default 8MiB). `fake: rules` frames by `line` without it.",
        Value::Def("framing"),
        "f",
    ),
    server(
        "rules",
        "The rules of `fake: rules`, in order: the first whose `when` matches a frame answers it (`reply`, or `replies` in turn), after an optional `delay`, then does `then`.",
        Value::Def("rules"),
        "f",
    ),
    with_default(
        server(
            "half_open",
            "true: keep a connection open after the client's FIN, so steps can still send (Node's `allowHalfOpen`); by default the server ends its side as soon as the client ends.",
            Value::Bool,
            "f",
        ),
        Default::Bool(false),
    ),
    with_default(
        server(
            "ready",
            "When the server counts as started: `port` or `{port: true}`, its port accepts (the default); `{log: REGEX}`, a line of its output matches.",
            Value::Ready,
            "p",
        ),
        Default::ReadyPort,
    ),
    with_default(
        server(
            "ready_timeout",
            "Bound on readiness; a program that exits first fails with its exit status and last output lines.",
            Value::Def("duration"),
            "p",
        ),
        Default::Text(READY_TIMEOUT_TEXT),
    ),
    with_default(
        server(
            "stop_timeout",
            "`stop_server`'s grace between SIGTERM and SIGKILL.",
            Value::Def("duration"),
            "p",
        ),
        Default::Text(STOP_TIMEOUT_TEXT),
    ),
    with_default(
        server(
            "output",
            "Where the program's output goes: `transcript` (its output lines in the transcript), `discard`, or `inherit` (tcprun's stdout).",
            Value::Choice(OUTPUT_MODES),
            "p",
        ),
        Default::Text("discard"),
    ),
    server("env", ENV_DOC, Value::Env, "p"),
    server("cwd", CWD_DOC, Value::Def("word"), "p"),
];
