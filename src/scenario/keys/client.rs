//! Lists the `client:` keys, each marked with the kinds of client it configures.

use super::{
    Applies, BACKOFFS, CONNECT_TIMEOUT_TEXT, CWD_DOC, Default, ENV_DOC, Key, LINE_ENDINGS,
    MAX_INTERVAL_TEXT, MAX_RETRIES, QUIT_WORD, RETRY_INTERVAL_TEXT, STDERR_MODES, Value,
    for_programs, has, with_default,
};

const fn client(name: &'static str, doc: &'static str, value: Value, on: &str) -> Key {
    Key {
        name,
        doc,
        program_doc: None,
        value,
        default: None,
        applies: Applies::Client {
            builtin: has(on, b'b'),
            program: has(on, b'p'),
            kind: has(on, b'k'),
        },
    }
}

/// Lists the `client:` keys (letters: `b` built-in client, `p` client program, `k` says the kind).
pub(crate) const CLIENT: &[Key] = &[
    client(
        "command",
        "The client program and its arguments (argv, no shell); `${port}` is the server's port.",
        Value::Argv,
        "pk",
    ),
    client(
        "shell",
        "A client program as one `/bin/sh -c` command line; `${port}` is the server's port.",
        Value::Def("word"),
        "pk",
    ),
    client("env", ENV_DOC, Value::Env, "p"),
    client("cwd", CWD_DOC, Value::Def("word"), "p"),
    with_default(
        client(
            "stderr",
            "`merge`: `expect` matches stdout and stderr together; `separate`: `expect` matches stdout only, stderr goes to the transcript.",
            Value::Choice(STDERR_MODES),
            "p",
        ),
        Default::Text("separate"),
    ),
    client(
        "host",
        "Where to connect (default: the server's host).",
        Value::Def("word"),
        "b",
    ),
    client(
        "port",
        "Where to connect (default: the server's port; `${port}` also means the server's port).",
        Value::ConnectPort,
        "b",
    ),
    client(
        "via",
        "The proxy to connect to, by name (`via: proxy`), instead of the server; a client program connects to `${NAME.port}` itself.",
        Value::Def("proxyName"),
        "b",
    ),
    with_default(
        client(
            "retry_interval",
            "Delay before each retry.",
            Value::Def("duration"),
            "b",
        ),
        Default::Text(RETRY_INTERVAL_TEXT),
    ),
    with_default(
        client(
            "max_retries",
            "Retries after a lost or refused connection before giving up; the count resets on every connect.",
            Value::Count,
            "b",
        ),
        Default::Number(MAX_RETRIES as u64),
    ),
    with_default(
        client(
            "reconnect",
            "false: one connection, no retries.",
            Value::Bool,
            "b",
        ),
        Default::Bool(true),
    ),
    with_default(
        client(
            "retry_unresolved",
            "true: retry a host name that does not resolve (ENOTFOUND) like any other error; by default the client stops at once, as a typo would make it.",
            Value::Bool,
            "b",
        ),
        Default::Bool(false),
    ),
    with_default(
        client(
            "start",
            "false: the client does not connect until a `connect` step names it (a client that joins later).",
            Value::Bool,
            "b",
        ),
        Default::Bool(true),
    ),
    client(
        "receive_buffer",
        "The socket's receive buffer (SO_RCVBUF), set before connecting: `4KiB` makes a peer's writes block soon once the client stops reading (`pause_reading`); the kernel doubles it and keeps it within its own limits.",
        Value::Def("size"),
        "b",
    ),
    with_default(
        client(
            "connect_timeout",
            "Bound on one connect attempt (ETIMEDOUT).",
            Value::Def("duration"),
            "b",
        ),
        Default::Text(CONNECT_TIMEOUT_TEXT),
    ),
    with_default(
        client(
            "backoff",
            "How the delay between retries grows: `fixed`, or `exponential` (doubling up to `max_interval`).",
            Value::Choice(BACKOFFS),
            "b",
        ),
        Default::Text("fixed"),
    ),
    with_default(
        client(
            "max_interval",
            "Cap for exponential backoff.",
            Value::Def("duration"),
            "b",
        ),
        Default::Text(MAX_INTERVAL_TEXT),
    ),
    client(
        "framing",
        "How what the client receives is cut into frames, for `expect_frame`, `send_frame` and the transcript: `line`, `crlf`, `{delimiter: ...}`, `{start: ..., end: ...}`, `{fixed: N}` or `{length: u8|u16be|u16le|u24be|u32be|u32le|u64be|u64le|varint, offset: N, adjust: N}`, each with an optional `max` (default 8MiB).",
        Value::Def("framing"),
        "b",
    ),
    with_default(
        for_programs(
            client(
                "encoding",
                "How received bytes are decoded for `expect` and shown in the transcript: utf8, ascii, latin1, base64, hex.",
                Value::Def("encoding"),
                "bp",
            ),
            "How the program's output is decoded for `expect` and shown in the transcript: utf8, ascii, latin1, base64, hex.",
        ),
        Default::Text("utf8"),
    ),
    with_default(
        for_programs(
            client(
                "quit_word",
                "The word `send_quit` stands for; the client ends and never reconnects.",
                Value::Def("word"),
                "bp",
            ),
            "The line `send_quit` writes to the program's stdin.",
        ),
        Default::Text(QUIT_WORD),
    ),
    with_default(
        client(
            "line_ending",
            "How `send_line` and `end` end the lines of their text: `lf` (`\\n`, as written), or `crlf` (each `\\n` that no `\\r` precedes goes out as `\\r\\n`, and `send_line` adds `\\r\\n`; as `nc -C`, for SMTP, Redis inline, HTTP/1.x, POP3, IRC); `hex:` and `base64:` data go as written.",
            Value::Choice(LINE_ENDINGS),
            "b",
        ),
        Default::Text("lf"),
    ),
];
