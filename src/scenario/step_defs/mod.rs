//! Defines the client and server step kinds: one registry entry per step, with its docs, argument, rules and reader (frame steps in `frames`, proxy steps in `proxy`, misbehaving clients in `misbehave`).

use super::diagnostic::describe;
use super::keys::Value;
use super::registry::{
    BASE64, CHUNKS, CLIENT, CONNECTION, Clients, DATA, ENCODING, GAP, HEX, Opt, RANDOM, REGEX,
    REPEAT, SEED, SERVER_REGEX, STREAM, Servers, StepDef, TEXT, TIMEOUT, TIMES, Table, WINDOW,
    choice, opt,
};
use super::types::Step;

mod frames;
mod misbehave;
mod proxy;
pub(crate) use frames::*;
pub(crate) use misbehave::*;
pub(crate) use proxy::*;

pub(super) const PATTERN: &str = "a regex, or a map with `regex:`";
const TIMEOUT_OR_CLIENT: &str = "nothing, a timeout, or a map with `timeout:` and `client:`";

pub(crate) const SEND: StepDef = StepDef {
    name: "send",
    doc: "Send bytes as they are.",
    meaning: None,
    examples: &["- send: \"PING\\r\\n\""],
    table: Some(Table::Client),
    shorthand: Some(TEXT),
    options: &[
        TEXT, ENCODING, HEX, BASE64, REPEAT, TIMES, RANDOM, SEED, CHUNKS, GAP, CLIENT,
    ],
    required: true,
    expected: DATA,
    clients: Clients::Any,
    servers: Servers::Any,
    read: |r, a| {
        let data = r.data(&a.fields, a.item, Some(a.name));
        let pieces = r.pieces(&a.fields)?;
        Some(Step::Send {
            client: a.client.clone(),
            data: data?,
            pieces,
        })
    },
};

pub(crate) const SEND_LINE: StepDef = StepDef {
    name: "send_line",
    doc: "Send the data and `\\n` (`\\r\\n` with the client's `line_ending: crlf`).",
    examples: &["- send_line: hello"],
    read: |r, a| {
        let data = r.data(&a.fields, a.item, Some(a.name));
        let pieces = r.pieces(&a.fields)?;
        Some(Step::SendLine {
            client: a.client.clone(),
            data: data?,
            pieces,
        })
    },
    ..SEND
};

pub(crate) const EXPECT: StepDef = StepDef {
    name: "expect",
    doc: "Wait until the client's received output matches.",
    meaning: Some("wait until the received output matches"),
    examples: &["- expect: \"^hello$\""],
    table: Some(Table::Client),
    shorthand: Some(REGEX),
    options: &[REGEX, TIMEOUT, CLIENT, STREAM],
    required: true,
    expected: PATTERN,
    clients: Clients::Any,
    servers: Servers::Any,
    // Both parts are read before either error stops the step.
    read: |r, a| {
        let stream = r.stream(&a.fields, a.client.as_deref());
        let pattern = r.pattern(&a.fields, a.item, a.name);
        Some(Step::Expect {
            client: a.client.clone(),
            stream: stream?,
            pattern: pattern?,
            timeout: a.timeout,
        })
    },
};

pub(crate) const EXPECT_NO: StepDef = StepDef {
    name: "expect_no",
    doc: "Fail if the output matches within the window (`timeout`).",
    meaning: Some("fail if the output matches within the window"),
    examples: &["- expect_no: {regex: ERROR, timeout: 500ms}"],
    options: &[REGEX, WINDOW, CLIENT, STREAM],
    read: |r, a| {
        let stream = r.stream(&a.fields, a.client.as_deref());
        let pattern = r.pattern(&a.fields, a.item, a.name);
        Some(Step::ExpectNo {
            client: a.client.clone(),
            stream: stream?,
            pattern: pattern?,
            window: a.timeout,
        })
    },
    ..EXPECT
};

pub(crate) const END: StepDef = StepDef {
    name: "end",
    doc: "Send optional data (its lines ending in `\\r\\n` with the client's `line_ending: crlf`), then half-close (FIN); keep reading; no reconnect afterwards. For a client program, close its stdin.",
    meaning: Some(
        "send optional data (lines in `\\r\\n` with the client's `line_ending: crlf`), then half-close (FIN); keep reading; no reconnect afterwards",
    ),
    examples: &["- end: \"bye\\n\"", "- end"],
    options: &[
        TEXT, ENCODING, HEX, BASE64, REPEAT, TIMES, RANDOM, SEED, CLIENT,
    ],
    required: false,
    read: |r, a| {
        Some(Step::End {
            client: a.client.clone(),
            data: r.data(&a.fields, a.item, None),
        })
    },
    ..SEND
};

pub(crate) const SEND_QUIT: StepDef = StepDef {
    name: "send_quit",
    doc: "Send the quit word: the client sends what it holds, ends, and never reconnects after that.",
    meaning: Some(
        "the quit word: the client sends what it holds, ends, and never reconnects after that",
    ),
    examples: &["- send_quit"],
    table: Some(Table::Client),
    shorthand: None,
    options: &[CLIENT],
    required: false,
    expected: "nothing, or a map with `client:`",
    clients: Clients::Any,
    servers: Servers::Any,
    read: |_, a| {
        Some(Step::SendQuit {
            client: a.client.clone(),
        })
    },
};

pub(crate) const WAIT_CONNECTED: StepDef = StepDef {
    name: "wait_connected",
    doc: "Wait until the client is connected.",
    meaning: Some("until the client is connected"),
    examples: &["- wait_connected"],
    table: Some(Table::Client),
    shorthand: Some(TIMEOUT),
    options: &[TIMEOUT, CLIENT],
    required: false,
    expected: TIMEOUT_OR_CLIENT,
    clients: Clients::SeenFromFakeServer,
    servers: Servers::Any,
    read: |_, a| {
        Some(Step::WaitConnected {
            client: a.client.clone(),
            timeout: a.timeout,
        })
    },
};

pub(crate) const WAIT_RECONNECT: StepDef = StepDef {
    name: "wait_reconnect",
    doc: "Wait until the client connects again (a connect not yet seen by a wait step).",
    meaning: Some("until the client connects again (a connect not yet seen by a wait step)"),
    examples: &["- wait_reconnect: 2s"],
    read: |_, a| {
        Some(Step::WaitReconnect {
            client: a.client.clone(),
            timeout: a.timeout,
        })
    },
    ..WAIT_CONNECTED
};

pub(crate) const WAIT_RETRY: StepDef = StepDef {
    name: "wait_retry",
    doc: "Wait until the client schedules retry N since its last connect (`retry N/M` in the transcript): it has failed N times since then, and retry N is still to come (built-in clients only).",
    meaning: Some(
        "until the client schedules retry 2 since its last connect (`retry 2/M` in the transcript): it failed twice, and retry 2 is still to come",
    ),
    examples: &["- wait_retry: 2"],
    table: Some(Table::Client),
    shorthand: Some(RETRY),
    options: &[RETRY, TIMEOUT, CLIENT],
    required: true,
    expected: "a retry number, or a map with `retry:`",
    clients: Clients::BuiltIn,
    servers: Servers::Any,
    read: |r, a| {
        let missing = "`wait_retry` needs a retry number";
        Some(Step::WaitRetry {
            client: a.client.clone(),
            retry: r.count(&a.fields, "retry", a.item, missing)?,
            timeout: a.timeout,
        })
    },
};
const RETRY: Opt = opt(
    "retry",
    Value::Def("count"),
    "Until this retry (from 1) since the last connect is scheduled: that many failures since the connect.",
);

pub(crate) const EXPECT_ERROR: StepDef = StepDef {
    name: "expect_error",
    doc: "Wait until the client reports that error code (connect failure or broken connection; built-in clients only).",
    meaning: Some(
        "until the client reports that error code (connect failure or broken connection)",
    ),
    examples: &["- expect_error: ECONNREFUSED"],
    shorthand: Some(ERROR_CODE),
    options: &[ERROR_CODE, TIMEOUT, CLIENT],
    expected: "an error code, or a map with `code:`",
    read: |r, a| {
        Some(Step::ExpectError {
            client: a.client.clone(),
            code: r.error_code(&a.fields, a.item)?,
            timeout: a.timeout,
        })
    },
    ..WAIT_RETRY
};
const ERROR_CODE: Opt = opt(
    "code",
    Value::ErrorCode,
    "An error code, as Node names them: ECONNREFUSED, ECONNRESET, ETIMEDOUT, EPIPE, ...",
);

pub(crate) const EXPECT_GAVE_UP: StepDef = StepDef {
    name: "expect_gave_up",
    doc: "Wait until the client gives up after its last retry (built-in clients only).",
    meaning: Some("until the client gives up after its last retry"),
    examples: &["- expect_gave_up"],
    clients: Clients::BuiltIn,
    read: |_, a| {
        Some(Step::ExpectGaveUp {
            client: a.client.clone(),
            timeout: a.timeout,
        })
    },
    ..WAIT_CONNECTED
};

pub(crate) const EXPECT_UNSENT: StepDef = StepDef {
    name: "expect_unsent",
    doc: "Wait until the client reports that N bytes will never be sent: it gave up or stopped with them held (built-in clients only). Bytes never sent that no step expects fail the scenario.",
    meaning: Some(
        "until the client reports that 6 bytes will never be sent (it gave up or stopped with them held); unsent bytes no step expects fail the scenario",
    ),
    examples: &["- expect_unsent: 6"],
    shorthand: Some(UNSENT_BYTES),
    options: &[UNSENT_BYTES, TIMEOUT, CLIENT],
    expected: "a number of bytes, or a map with `bytes:`",
    read: |r, a| {
        let missing = "`expect_unsent` needs a number of bytes";
        Some(Step::ExpectUnsent {
            client: a.client.clone(),
            bytes: r.count(&a.fields, "bytes", a.item, missing)?,
            timeout: a.timeout,
        })
    },
    ..WAIT_RETRY
};
const UNSENT_BYTES: Opt = opt(
    "bytes",
    Value::Def("count"),
    "How many bytes the client reports it will never send.",
);

pub(crate) const EXPECT_CLOSED: StepDef = StepDef {
    name: "expect_closed",
    doc: "Wait until a connection closes: `fin`, `reset`, or `any` (default).",
    meaning: Some("until a connection closes: `fin`, `reset`, or `any` (default)"),
    examples: &["- expect_closed: fin"],
    shorthand: Some(HOW_CLOSED),
    options: &[HOW_CLOSED, TIMEOUT, CLIENT],
    expected: "nothing, `fin`, `reset` or `any`, or a map with `how:`",
    read: |r, a| {
        Some(Step::ExpectClosed {
            client: a.client.clone(),
            how: r.close_kind(&a.fields, true)?,
            timeout: a.timeout,
        })
    },
    ..WAIT_CONNECTED
};
const HOW_CLOSED: Opt = choice(
    "how",
    &["fin", "reset", "rst", "any"],
    "any",
    "How the connection ends: `fin` (orderly), `reset` (or `rst`), or `any`.",
);

pub(crate) const SLEEP: StepDef = StepDef {
    name: "sleep",
    doc: "Let scenario time pass.",
    meaning: Some("let scenario time pass (see [time](#time))"),
    examples: &["- sleep: 200ms"],
    table: Some(Table::Client),
    shorthand: Some(DURATION),
    options: &[],
    required: true,
    expected: "a duration",
    clients: Clients::Any,
    servers: Servers::Any,
    read: |r, a| {
        let hint = || Some("for example `- sleep: 500ms`".to_owned());
        if let Some(map) = a.arg.filter(|arg| arg.entries().is_some()) {
            let message = format!("expected a duration for `sleep`, found {}", describe(map));
            r.error(map, message, hint());
            return None;
        }
        let Some(node) = a.fields.get("duration") else {
            r.error(a.item, "`sleep` needs a duration", hint());
            return None;
        };
        Some(Step::Sleep {
            duration: r.duration(node, "`sleep`")?,
        })
    },
};
const DURATION: Opt = opt(
    "duration",
    Value::Def("duration"),
    "How much scenario time passes.",
);

pub(crate) const KILL_SERVER: StepDef = StepDef {
    name: "kill_server",
    doc: "Abrupt: every connection reset (RST), the port refuses until restarted. A server program gets SIGKILL (or the signal given) to its process group.",
    meaning: Some("abrupt: every connection reset (RST), the port refuses until restarted"),
    examples: &["- kill_server"],
    table: Some(Table::Server),
    shorthand: Some(SERVER_SIGNAL),
    options: &[SERVER_SIGNAL],
    required: false,
    expected: "nothing, a signal name, or a map with `signal:`",
    clients: Clients::Any,
    servers: Servers::Run,
    read: |r, a| {
        Some(Step::KillServer {
            signal: r.server_signal(&a.fields)?,
        })
    },
};
const SERVER_SIGNAL: Opt = opt(
    "signal",
    Value::Def("signal"),
    "The signal sent to a server program's process group (default KILL); a fake server's kill is always abrupt.",
);

pub(crate) const STOP_SERVER: StepDef = StepDef {
    name: "stop_server",
    doc: "Graceful: FIN to every connection, stop listening. A server program gets SIGTERM, then SIGKILL after `stop_timeout`.",
    meaning: Some("graceful: FIN to every connection, stop listening"),
    examples: &["- stop_server"],
    shorthand: None,
    options: &[],
    expected: "nothing",
    read: |_, _| Some(Step::StopServer),
    ..KILL_SERVER
};

pub(crate) const START_SERVER: StepDef = StepDef {
    name: "start_server",
    doc: "Listen again on the same address and port.",
    meaning: None,
    examples: &["- start_server"],
    read: |_, _| Some(Step::StartServer),
    ..STOP_SERVER
};

pub(crate) const BLACKHOLE_SERVER: StepDef = StepDef {
    name: "blackhole_server",
    doc: "The port drops SYNs: a connect gets no answer and fails with ETIMEDOUT at the client's `connect_timeout` (on the scenario's clock with built-in peers); open connections stay; `start_server` ends it (fake servers only).",
    meaning: Some(
        "the port drops SYNs: a connect gets no answer and fails with `ETIMEDOUT` at the client's `connect_timeout`; open connections stay; `start_server` ends it",
    ),
    examples: &["- blackhole_server"],
    servers: Servers::Fake,
    read: |_, _| Some(Step::BlackholeServer),
    ..STOP_SERVER
};

pub(crate) const SERVER_SEND: StepDef = StepDef {
    name: "server_send",
    doc: "Write to every connection, or one (fake servers only).",
    meaning: Some("write to every connection, or one"),
    examples: &["- server_send: {text: \"hi\\n\", connection: bob}"],
    table: Some(Table::Server),
    options: &[
        TEXT, ENCODING, HEX, BASE64, REPEAT, TIMES, RANDOM, SEED, CONNECTION,
    ],
    servers: Servers::Fake,
    read: |r, a| {
        Some(Step::ServerSend {
            connection: a.connection.clone()?,
            data: r.data(&a.fields, a.item, Some(a.name))?,
        })
    },
    ..SEND
};

pub(crate) const SERVER_EXPECT: StepDef = StepDef {
    name: "server_expect",
    doc: "Wait until what the server received matches: all connections together, or one (fake servers only).",
    meaning: Some(
        "wait until what the server received matches (all connections together, or one); with a server program, its output",
    ),
    examples: &["- server_expect: \"^PING$\""],
    table: Some(Table::Server),
    shorthand: Some(SERVER_REGEX),
    options: &[SERVER_REGEX, TIMEOUT, CONNECTION],
    required: true,
    expected: PATTERN,
    clients: Clients::Any,
    servers: Servers::Run,
    read: |r, a| {
        Some(Step::ServerExpect {
            connection: a.connection.clone()?,
            pattern: r.pattern(&a.fields, a.item, a.name)?,
            timeout: a.timeout,
        })
    },
};

pub(crate) const SERVER_EXPECT_NO: StepDef = StepDef {
    name: "server_expect_no",
    doc: "Fail if what the server received matches within the window (`timeout`): all connections together, or one; with a server program, its output.",
    meaning: Some(
        "fail if what the server received matches within the window (all connections together, or one); with a server program, its output",
    ),
    examples: &["- server_expect_no: {regex: ERROR, timeout: 500ms}"],
    options: &[SERVER_REGEX, SERVER_WINDOW, CONNECTION],
    read: |r, a| {
        Some(Step::ServerExpectNo {
            connection: a.connection.clone()?,
            pattern: r.pattern(&a.fields, a.item, a.name)?,
            window: a.timeout,
        })
    },
    ..SERVER_EXPECT
};
const SERVER_WINDOW: Opt = opt(
    "timeout",
    Value::Def("duration"),
    "The window in which what the server received must not match (default: `defaults.timeout`).",
);

pub(crate) const SERVER_CLOSE: StepDef = StepDef {
    name: "server_close",
    doc: "Close every connection, or one, with `fin` (default) or `reset` (fake servers only).",
    meaning: Some("close with `fin` (default) or `rst`"),
    examples: &["- server_close: rst"],
    table: Some(Table::Server),
    shorthand: Some(HOW_CLOSE),
    options: &[HOW_CLOSE, CONNECTION],
    required: false,
    expected: "nothing, `fin` or `reset`, or a map with `how:` and `connection:`",
    clients: Clients::Any,
    servers: Servers::Fake,
    read: |r, a| {
        Some(Step::ServerClose {
            connection: a.connection.clone()?,
            how: r.close_kind(&a.fields, false)?,
        })
    },
};
const HOW_CLOSE: Opt = choice(
    "how",
    &["fin", "reset", "rst"],
    "fin",
    "How to close: `fin` (orderly) or `reset` (or `rst`, an abort).",
);

pub(crate) const SERVER_HALF_CLOSE: StepDef = StepDef {
    name: "server_half_close",
    doc: "Shut down the server's write side only (fake servers only).",
    meaning: Some("shut down the server's write side only"),
    examples: &["- server_half_close"],
    shorthand: None,
    options: &[CONNECTION],
    expected: "nothing, or a map with `connection:`",
    read: |_, a| {
        Some(Step::ServerHalfClose {
            connection: a.connection.clone()?,
        })
    },
    ..SERVER_CLOSE
};

pub(crate) const EXPECT_CONNECTIONS: StepDef = StepDef {
    name: "expect_connections",
    doc: "Wait until the server has accepted N connections in all; more is a failure. With a server program behind a proxy, the proxy's accepted connections count.",
    meaning: Some("until the server has accepted 2 connections in all (more is a failure)"),
    examples: &["- expect_connections: 2"],
    table: Some(Table::Server),
    shorthand: Some(COUNT),
    options: &[COUNT, TIMEOUT],
    required: true,
    expected: "a number of connections, or a map with `count:`",
    clients: Clients::Any,
    servers: Servers::FakeOrProxied,
    read: |r, a| {
        let missing = "`expect_connections` needs a number of connections";
        Some(Step::ExpectConnections {
            count: r.count(&a.fields, "count", a.item, missing)?,
            timeout: a.timeout,
        })
    },
};
const COUNT: Opt = opt(
    "count",
    Value::Def("count"),
    "Until the server has accepted this many connections in all (with a server program behind a proxy, the proxy has).",
);

pub(crate) const EXPECT_EXIT: StepDef = StepDef {
    name: "expect_exit",
    doc: "Wait until a client program exits: with any status, an exit code, or `{signal: TERM}`.",
    meaning: None,
    examples: &["- expect_exit: 0"],
    table: None,
    shorthand: Some(EXIT_CODE),
    options: &[EXIT_CODE, EXIT_SIGNAL, TIMEOUT, CLIENT],
    required: false,
    expected: "nothing, an exit code, or a map with `code:` or `signal:`",
    clients: Clients::Programs {
        hint: "give the client `command:` or `shell:` to run a program",
    },
    servers: Servers::Any,
    read: |r, a| {
        let (code, signal) = r.exit_status(&a.fields)?;
        Some(Step::ExpectExit {
            client: a.client.clone(),
            code,
            signal,
            timeout: a.timeout,
        })
    },
};
const EXIT_CODE: Opt = Opt {
    excludes: Some("signal"),
    ..opt(
        "code",
        Value::ExitCode,
        "The exit code, 0 to 255 (leave out `code` and `signal` to accept any exit).",
    )
};
const EXIT_SIGNAL: Opt = opt(
    "signal",
    Value::Def("signal"),
    "The signal that ended the program.",
);

pub(crate) const KILL_CLIENT: StepDef = StepDef {
    name: "kill_client",
    doc: "Send a signal (default KILL) to a client program's process group.",
    examples: &["- kill_client: TERM"],
    shorthand: Some(CLIENT_SIGNAL),
    options: &[CLIENT_SIGNAL, CLIENT],
    expected: "nothing, a signal name, or a map with `signal:` and `client:`",
    clients: Clients::Programs {
        hint: "to drop a built-in client's connection, use `server_close`",
    },
    read: |r, a| {
        Some(Step::KillClient {
            client: a.client.clone(),
            signal: match a.fields.get("signal") {
                Some(node) => Some(r.signal(node)?),
                None => None,
            },
        })
    },
    ..EXPECT_EXIT
};
const CLIENT_SIGNAL: Opt = opt(
    "signal",
    Value::Def("signal"),
    "The signal sent to the client program's process group (default KILL).",
);
