//! Lists the keys of a scenario file (top level, `server:`, `client:`) with their docs, values and defaults.
//!
//! The loader takes its key lists and defaults from here, the JSON Schema its
//! descriptions, value kinds and defaults, and the client and `tcprun connect`
//! their defaults: each default is written once, as a typed constant beside
//! its text form (a test checks that the two agree).

use std::time::Duration;

/// Holds the default `timeout:` of a whole scenario.
pub const TIMEOUT: Duration = Duration::from_secs(30);
/// Holds [`TIMEOUT`] as written.
pub const TIMEOUT_TEXT: &str = "30s";
/// Holds the default `defaults: {timeout: ...}`: the timeout of a wait that names none.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(5);
/// Holds [`STEP_TIMEOUT`] as written.
pub const STEP_TIMEOUT_TEXT: &str = "5s";
/// Holds the default `host:` a server listens on.
pub const HOST: &str = "127.0.0.1";
/// Holds the default `port:` a server listens on (0: a free port).
pub const PORT: u16 = 0;
/// Holds the default `ready_timeout:` of a server program.
pub const READY_TIMEOUT: Duration = Duration::from_secs(5);
/// Holds [`READY_TIMEOUT`] as written.
pub const READY_TIMEOUT_TEXT: &str = "5s";
/// Holds the default `stop_timeout:` of a server program.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(2);
/// Holds [`STOP_TIMEOUT`] as written.
pub const STOP_TIMEOUT_TEXT: &str = "2s";
/// Holds the client's default `retry_interval:` (the chapter's 3 s).
pub const RETRY_INTERVAL: Duration = Duration::from_secs(3);
/// Holds [`RETRY_INTERVAL`] as written.
pub const RETRY_INTERVAL_TEXT: &str = "3s";
/// Holds the client's default `max_retries:` (the chapter's 10).
pub const MAX_RETRIES: u32 = 10;
/// Holds the client's default `connect_timeout:`.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Holds [`CONNECT_TIMEOUT`] as written.
pub const CONNECT_TIMEOUT_TEXT: &str = "10s";
/// Holds the client's default `max_interval:`, the cap of exponential backoff.
pub const MAX_INTERVAL: Duration = Duration::from_secs(30);
/// Holds [`MAX_INTERVAL`] as written.
pub const MAX_INTERVAL_TEXT: &str = "30s";
/// Caps the client's `receive_buffer:`: 1 GiB.
pub const MAX_RECEIVE_BUFFER: u64 = 1 << 30;
/// Holds the client's default `quit_word:`.
pub const QUIT_WORD: &str = "quit";
/// Holds a proxy's default `upstream:`: the scenario's server.
pub const UPSTREAM: &str = "server";
/// Holds a proxy's default `seed:`.
pub const SEED: u64 = 0;
/// Holds a proxy's default `dial_timeout:`.
pub const DIAL_TIMEOUT: Duration = Duration::from_secs(10);
/// Holds [`DIAL_TIMEOUT`] as written.
pub const DIAL_TIMEOUT_TEXT: &str = "10s";

/// Describes one key of a scenario map.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Key {
    /// The key as written.
    pub name: &'static str,
    /// What it means (for a fake server or the built-in client).
    pub doc: &'static str,
    /// What it means for a program, where that differs from `doc`.
    pub program_doc: Option<&'static str>,
    /// What value it takes.
    pub value: Value,
    /// Its default, as the schema shows it.
    pub default: Option<Default>,
    /// Which kinds of server or client it configures.
    pub applies: Applies,
}

impl Key {
    /// Returns the doc for a program (`program`) or for the built-in kind.
    pub(crate) fn doc_for(&self, program: bool) -> &'static str {
        match self.program_doc {
            Some(doc) if program => doc,
            _ => self.doc,
        }
    }
}

/// Names the kind of value a key takes, for the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value {
    /// A shared definition of the schema (`$defs/NAME`).
    Def(&'static str),
    /// `true` or `false`.
    Bool,
    /// One of these names.
    Choice(&'static [&'static str]),
    /// A port a server listens on, 0 to 65535.
    ListenPort,
    /// A port a client connects to, 1 to 65535, or `${port}`.
    ConnectPort,
    /// A whole number, 0 or more.
    Count,
    /// `host:port` of a running server.
    Address,
    /// A program's argv.
    Argv,
    /// A program's environment variables.
    Env,
    /// `ready:`, when a server program counts as started.
    Ready,
    /// `defaults:`, the defaults of steps.
    Defaults,
    /// Top-level `env:`, the environment variables a scenario reads, with options.
    EnvUse,
    /// `server:`, one kind of server.
    Server,
    /// `clients:`, named clients.
    Clients,
    /// `steps:`, the list of steps.
    Steps,
    /// An error code such as `ECONNREFUSED` (a step option).
    ErrorCode,
    /// An exit code, 0 to 255 (a step option).
    ExitCode,
    /// `proxies:`, named proxies.
    Proxies,
    /// A proxy's `upstream:`: `server`, or `host:port`.
    Upstream,
    /// A seed: a whole number, 0 or more (64 bits).
    Seed,
}

/// Holds a default as the schema shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Default {
    /// Text, such as `3s`.
    Text(&'static str),
    /// A whole number.
    Number(u64),
    /// `true` or `false`.
    Bool(bool),
    /// `{port: true}`.
    ReadyPort,
}

/// Says which kinds of server or client a key configures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Applies {
    /// A top-level key.
    Top,
    /// A server key: for a fake server, a server program, a server already running; `kind`: it says which kind.
    Server {
        fake: bool,
        program: bool,
        external: bool,
        kind: bool,
    },
    /// A client key: for the built-in client, a client program; `kind`: it says which kind.
    Client {
        builtin: bool,
        program: bool,
        kind: bool,
    },
    /// A proxy key.
    Proxy,
}

const fn top(name: &'static str, doc: &'static str, value: Value) -> Key {
    Key {
        name,
        doc,
        program_doc: None,
        value,
        default: None,
        applies: Applies::Top,
    }
}

/// Returns true when the letters `on` hold `letter`.
const fn has(on: &str, letter: u8) -> bool {
    let on = on.as_bytes();
    let mut i = 0;
    while i < on.len() {
        if on[i] == letter {
            return true;
        }
        i += 1;
    }
    false
}

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

const fn with_default(key: Key, default: Default) -> Key {
    Key {
        default: Some(default),
        ..key
    }
}

const fn for_programs(key: Key, doc: &'static str) -> Key {
    Key {
        program_doc: Some(doc),
        ..key
    }
}

/// Lists the fake server kinds (`fake:`).
pub(crate) const FAKE_KINDS: &[&str] = &["echo", "chat", "sink", "silent", "rules"];
/// Lists the `output:` modes of a server program.
pub(crate) const OUTPUT_MODES: &[&str] = &["transcript", "discard", "inherit"];
/// Lists the `stderr:` modes of a client program.
pub(crate) const STDERR_MODES: &[&str] = &["separate", "merge"];
/// Lists the `backoff:` kinds of the built-in client.
pub(crate) const BACKOFFS: &[&str] = &["fixed", "exponential"];
/// Lists the `line_ending:` kinds of the built-in client.
pub(crate) const LINE_ENDINGS: &[&str] = &["lf", "crlf"];

/// Lists the keys of the `defaults:` map.
pub(crate) const DEFAULTS_KEYS: &[Key] = &[with_default(
    top(
        "timeout",
        "Timeout of every wait that names none.",
        Value::Def("duration"),
    ),
    Default::Text(STEP_TIMEOUT_TEXT),
)];

/// Lists the top-level keys.
pub(crate) const TOP: &[Key] = &[
    top(
        "name",
        "Shown in reports (default: the file name).",
        Value::Def("word"),
    ),
    with_default(
        top(
            "timeout",
            "Bound on the whole scenario, in real time.",
            Value::Def("duration"),
        ),
        Default::Text(TIMEOUT_TEXT),
    ),
    top("defaults", "Defaults for the steps.", Value::Defaults),
    top(
        "env",
        "Environment variables the scenario reads as `${env.NAME}`, with options: `{NAME: {secret: true}}` writes the value as `***` in transcripts, failure messages and reports.",
        Value::EnvUse,
    ),
    with_default(
        top(
            "snapshot",
            "Compare the transcript with the golden file beside the scenario (`NAME.transcript`); `--update` writes it.",
            Value::Bool,
        ),
        Default::Bool(false),
    ),
    top(
        "server",
        "The server (required): a built-in fake server (`fake:`), a server program tcprun runs (`command:` or `shell:`), or a server already running (`address:`).",
        Value::Server,
    ),
    top(
        "client",
        "The one client, named `client`: the built-in reconnecting client, or a program under test (`command:` or `shell:`). Give `client` or `clients`, not both; with neither, the scenario has one built-in client named `client` with default options, started even when no step uses it.",
        Value::Def("client"),
    ),
    top(
        "clients",
        "Several clients: a map of client names to their options. Every client step then names its client, and server steps may address a client's connection by name.",
        Value::Clients,
    ),
    top(
        "proxy",
        "One fault proxy, named `proxy`, between clients and the server: it listens on 127.0.0.1 (`${proxy.port}`), forwards both ways to its upstream, and takes the faults of `fault` steps. Built-in clients reach it with `via: proxy`.",
        Value::Def("proxy"),
    ),
    top(
        "proxies",
        "Several fault proxies: a map of proxy names to their options (`${NAME.port}` is each one's port). Every proxy step then names its proxy.",
        Value::Proxies,
    ),
    top(
        "steps",
        "The steps, in order (required). A step is a bare name (`- kill_server`) or a one-key map whose value is the argument: a short form (`- wait_reconnect: 2s`) or a map of options (`- wait_reconnect: {timeout: 2s, client: bob}`). Every wait ends the moment its condition holds; its timeout only bounds failure.",
        Value::Steps,
    ),
];

const CWD_DOC: &str = "The program's working folder, relative to the scenario file's folder (default: the scenario file's folder, wherever tcprun runs).";
const ENV_DOC: &str = "Variables added to tcprun's environment for the program.";

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

const fn proxy(name: &'static str, doc: &'static str, value: Value, default: Default) -> Key {
    Key {
        name,
        doc,
        program_doc: None,
        value,
        default: Some(default),
        applies: Applies::Proxy,
    }
}

/// Lists the keys of a proxy (`proxy:` or an entry of `proxies:`).
pub(crate) const PROXY: &[Key] = &[
    proxy(
        "upstream",
        "Where the proxy forwards to: `server`, the scenario's server, or `host:port` (variables allowed, resolved before the run).",
        Value::Upstream,
        Default::Text(UPSTREAM),
    ),
    proxy(
        "seed",
        "Seeds every random choice of the proxy's faults (`jitter`, `probability`): the same seed makes the same choices on every run.",
        Value::Seed,
        Default::Number(SEED),
    ),
    Key {
        name: "framing",
        doc: "How the transcript cuts what the proxy passes on into frames, each direction on its own: `line`, `crlf`, `{delimiter: ...}`, `{start: ..., end: ...}`, `{fixed: N}` or `{length: ...}`, as a client's `framing` (see [frames](#frames)); the bytes are forwarded as they come either way.",
        program_doc: None,
        value: Value::Def("framing"),
        default: None,
        applies: Applies::Proxy,
    },
    proxy(
        "dial_timeout",
        "Bound on each connect to the upstream (`ETIMEDOUT`); the client, already connected to the proxy, is then reset.",
        Value::Def("duration"),
        Default::Text(DIAL_TIMEOUT_TEXT),
    ),
];

/// Returns the names of `keys` that pass `keep`, in table order.
pub(crate) fn names(keys: &[Key], keep: impl Fn(&Key) -> bool) -> Vec<&'static str> {
    keys.iter().filter(|k| keep(k)).map(|k| k.name).collect()
}

/// Returns every name of `keys`, in table order.
pub(crate) fn all(keys: &[Key]) -> Vec<&'static str> {
    names(keys, |_| true)
}

/// Returns true for a server key that only a fake server takes (and does not say the kind).
pub(crate) fn fake_only(key: &Key) -> bool {
    matches!(
        key.applies,
        Applies::Server {
            fake: true,
            program: false,
            external: false,
            kind: false
        }
    )
}

/// Returns true for a server key that only a server program takes (and does not say the kind).
pub(crate) fn program_only(key: &Key) -> bool {
    matches!(
        key.applies,
        Applies::Server {
            fake: false,
            program: true,
            external: false,
            kind: false
        }
    )
}

/// Returns true for a key that says the kind of server or client.
pub(crate) fn says_kind(key: &Key) -> bool {
    matches!(
        key.applies,
        Applies::Server { kind: true, .. } | Applies::Client { kind: true, .. }
    )
}

/// Returns true for a client key that only the built-in client takes.
pub(crate) fn builtin_only(key: &Key) -> bool {
    matches!(
        key.applies,
        Applies::Client {
            builtin: true,
            program: false,
            ..
        }
    )
}

/// Returns true for a client key that only a client program takes (and does not say the kind).
pub(crate) fn client_program_only(key: &Key) -> bool {
    matches!(
        key.applies,
        Applies::Client {
            builtin: false,
            program: true,
            kind: false
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_agree_with_their_values() {
        let pairs = [
            (TIMEOUT, TIMEOUT_TEXT),
            (STEP_TIMEOUT, STEP_TIMEOUT_TEXT),
            (READY_TIMEOUT, READY_TIMEOUT_TEXT),
            (STOP_TIMEOUT, STOP_TIMEOUT_TEXT),
            (RETRY_INTERVAL, RETRY_INTERVAL_TEXT),
            (CONNECT_TIMEOUT, CONNECT_TIMEOUT_TEXT),
            (MAX_INTERVAL, MAX_INTERVAL_TEXT),
            (DIAL_TIMEOUT, DIAL_TIMEOUT_TEXT),
        ];
        for (value, text) in pairs {
            assert_eq!(humantime::parse_duration(text), Ok(value), "{text}");
            assert_eq!(humantime::format_duration(value).to_string(), text);
        }
    }

    #[test]
    fn the_loader_names_choices_and_program_keys_as_the_table_does() {
        let fakes: Vec<&str> = super::super::read_server::FAKE_KINDS
            .iter()
            .map(|p| p.0)
            .collect();
        assert_eq!(fakes, FAKE_KINDS.to_vec());
        let outputs: Vec<&str> = super::super::read_program::OUTPUT_MODES
            .iter()
            .map(|p| p.0)
            .collect();
        assert_eq!(outputs, OUTPUT_MODES.to_vec());
        let program_keys = super::super::read_program::PROGRAM_KEYS;
        assert_eq!(
            names(SERVER, |k| says_kind(k)
                && k.name != "fake"
                && k.name != "address"),
            program_keys
        );
        assert_eq!(names(CLIENT, says_kind), program_keys);
    }

    #[test]
    fn key_names_are_unique_in_each_map() {
        for keys in [TOP, SERVER, CLIENT, DEFAULTS_KEYS, PROXY] {
            let mut names = all(keys);
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), keys.len());
        }
    }

    #[test]
    fn every_server_key_configures_some_server() {
        for key in SERVER {
            let Applies::Server {
                fake,
                program,
                external,
                ..
            } = key.applies
            else {
                panic!("`{}` is in SERVER but is no server key", key.name);
            };
            assert!(fake || program || external, "{}", key.name);
        }
        for key in CLIENT {
            let Applies::Client {
                builtin, program, ..
            } = key.applies
            else {
                panic!("`{}` is in CLIENT but is no client key", key.name);
            };
            assert!(builtin || program, "{}", key.name);
        }
    }
}
