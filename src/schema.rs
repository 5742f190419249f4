//! Describes the scenario file format as a JSON Schema (draft 2020-12), for editors.
//!
//! `tcprun schema` prints [`render`]; `schema/scenario.schema.json` holds the
//! same text, so a scenario can name it in a modeline for yaml-language-server:
//! `# yaml-language-server: $schema=../schema/scenario.schema.json`.
//!
//! The schema is built from the loader's own lists: its key lists
//! (`SERVER_KEYS`, `CLIENT_KEYS`, ...), the argument shape of every step in
//! `Step::NAMES`, the fake kinds, signals, output modes and encodings. Every
//! key and step in those lists needs an entry here, and building the schema
//! panics on one that has none, so the loader and the schema cannot drift
//! apart silently. What the lists do not say (value formats, descriptions)
//! is written here by hand, and checked against the loader by the tests.
//!
//! Beyond keys and value formats, the schema also knows the checks that
//! depend on the kind of server or of a single client (server steps need a
//! server tcprun runs, `kill_client` needs a client program, ...), and that
//! with several clients every client step names its client. It cannot see
//! whether a regex compiles, whether a `client:` or `connection:` names a
//! client declared under `clients:`, nor the kind of a named client among
//! several: those stay with the loader.

use serde_json::{Map, Value, json};

use crate::client::encoding::Encoding;
use crate::scenario::Step;
use crate::scenario::load::{
    BUILTIN_ONLY, CLIENT_KEYS, CLIENT_PROGRAM_ONLY, DATA_KEYS, FAKE_KINDS, FAKE_ONLY, PROGRAM_ONLY,
    SERVER_KEYS, SERVER_KINDS, TOP_KEYS,
};
use crate::scenario::program::{OUTPUT_MODES, PROGRAM_KEYS, SIGNALS};
use crate::scenario::steps::{is_server_step, needs_connections, shape};

/// Names the schema (`$id`).
pub const ID: &str = "https://tcprun.invalid/schema/scenario.schema.json";

/// Names the JSON Schema dialect (`$schema`).
pub const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// Lists the steps that need an argument: every other step may be written bare.
const NEEDS_ARGUMENT: &[&str] = &[
    "send",
    "send_line",
    "server_send",
    "expect",
    "expect_no",
    "server_expect",
    "wait_retry",
    "expect_error",
    "sleep",
    "expect_connections",
];

/// Lists the steps a client program cannot take: tcprun cannot see its connect attempts.
const NOT_FOR_CLIENT_PROGRAMS: &[&str] = &["wait_retry", "expect_error", "expect_gave_up"];

/// Lists the client steps that, for a client program, are observed from a fake server's side.
const SEEN_FROM_A_FAKE_SERVER: &[&str] = &["wait_connected", "wait_reconnect", "expect_closed"];

/// Lists the steps only a client program can take.
const ONLY_FOR_CLIENT_PROGRAMS: &[&str] = &["expect_exit", "kill_client"];

/// Lists the spellings of encodings besides their names (any case is accepted).
const ENCODING_ALIASES: &[(&str, Encoding)] = &[
    ("utf-8", Encoding::Utf8),
    ("binary", Encoding::Latin1),
    ("iso-8859-1", Encoding::Latin1),
];

/// Lists the units of a duration, as humantime reads them.
const DURATION_UNITS: &[&str] = &[
    "nanos", "nsec", "ns", "usec", "us", "µs", "millis", "msec", "ms", "seconds", "second", "secs",
    "sec", "s", "minutes", "minute", "mins", "min", "m", "hours", "hour", "hrs", "hr", "h", "days",
    "day", "d", "weeks", "week", "wks", "wk", "w", "months", "month", "M", "years", "year", "yrs",
    "yr", "y",
];

/// Matches a client name: a letter or `_`, then letters, digits, `_` and `-`.
const CLIENT_NAME: &str = "^[A-Za-z_][A-Za-z0-9_-]*$";

/// Matches an error code such as `ECONNREFUSED`.
const ERROR_CODE: &str = "^E[A-Z0-9]+$";

/// Matches what Rust counts as ASCII whitespace (ignored inside hex and base64 data).
const SPACE: &str = "[ \\t\\n\\f\\r]*";

/// Returns the JSON Schema of a scenario file.
pub fn scenario_schema() -> Value {
    let mut properties = Map::new();
    for key in TOP_KEYS {
        properties.insert((*key).into(), top_key(key));
    }
    json!({
        "$schema": DIALECT,
        "$id": ID,
        "title": "tcprun scenario",
        "description": "A tcprun scenario: a server, one or more clients, and the steps to run against them, in order. Keys are snake_case; unknown keys are errors. See the README, sections \"Scenarios\" and \"Programs under test\".",
        "type": "object",
        "properties": properties,
        "required": ["server", "steps"],
        "oneOf": [{"required": ["client"]}, {"required": ["clients"]}],
        "additionalProperties": false,
        "allOf": rules(),
        "$defs": defs(),
    })
}

/// Returns the schema as `tcprun schema` prints it: pretty JSON with keys
/// in sorted order (whatever serde_json's features) and a trailing newline.
pub fn render() -> String {
    let mut text = serde_json::to_string_pretty(&sorted(scenario_schema()))
        .expect("a JSON value always serializes");
    text.push('\n');
    text
}

/// Rebuilds every object of `value` with its keys inserted in sorted order.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// Returns a `$ref` to a shared definition, with a description of its own.
fn reference(name: &str, description: &str) -> Value {
    json!({"$ref": format!("#/$defs/{name}"), "description": description})
}

/// Adds `default` to a property schema.
fn with_default(mut schema: Value, default: Value) -> Value {
    schema["default"] = default;
    schema
}

/// Returns a map schema that takes exactly `properties` (no unknown keys).
fn closed(properties: Map<String, Value>, required: &[&str]) -> Value {
    let mut schema = json!({
        "type": "object",
        "properties": properties,
        "additionalProperties": false,
    });
    if !required.is_empty() {
        schema["required"] = json!(required);
    }
    schema
}

/// Builds a case-insensitive pattern that matches exactly one of `words`.
fn any_case(words: &[&str]) -> String {
    let alternatives: Vec<String> = words
        .iter()
        .map(|word| {
            word.chars()
                .map(|c| match (c.to_ascii_lowercase(), c.to_ascii_uppercase()) {
                    (lower, upper) if lower != upper => format!("[{upper}{lower}]"),
                    _ if c == '-' => "-".to_owned(),
                    _ => c.to_string(),
                })
                .collect()
        })
        .collect();
    alternatives.join("|")
}

/// Returns the pattern of a duration, as humantime parses it (`500ms`, `1h 30m`, `1.5s`).
pub(crate) fn duration_pattern() -> String {
    let mut units: Vec<&str> = DURATION_UNITS.to_vec();
    units.sort_by_key(|unit| std::cmp::Reverse(unit.chars().count()));
    format!(
        "^\\s*(?:[0-9]+(?:\\.[0-9]+)?\\s*(?:{})\\s*)+$",
        units.join("|")
    )
}

/// Returns the pattern of hex data: pairs of hex digits, ASCII whitespace anywhere.
pub(crate) fn hex_pattern() -> String {
    format!("^{SPACE}(?:[0-9A-Fa-f]{SPACE}[0-9A-Fa-f]{SPACE})*$")
}

/// Returns the pattern of base64 data: standard alphabet, canonical padding
/// or none, no stray bits in the last character, ASCII whitespace anywhere.
pub(crate) fn base64_pattern() -> String {
    let symbol = format!("[A-Za-z0-9+/]{SPACE}");
    let group = symbol.repeat(4);
    format!(
        "^{SPACE}(?:{group})*(?:{symbol}[AQgw]{SPACE}(?:={SPACE}={SPACE})?|{symbol}{symbol}[AEIMQUYcgkosw048]{SPACE}(?:={SPACE})?)?$"
    )
}

/// Returns the pattern of a signal name: any case, `SIG` prefix optional.
pub(crate) fn signal_pattern() -> String {
    format!("^(?:{})?(?:{})$", any_case(&["SIG"]), any_case(SIGNALS))
}

/// Returns the pattern of an encoding name or alias, in any case; `text_only` keeps the text encodings.
pub(crate) fn encoding_pattern(text_only: bool) -> String {
    let names: Vec<&str> = Encoding::ALL
        .iter()
        .map(|e| (e.name(), *e))
        .chain(ENCODING_ALIASES.iter().copied())
        .filter(|(_, e)| !text_only || e.is_text())
        .map(|(name, _)| name)
        .collect();
    format!("^(?:{})$", any_case(&names))
}

/// Returns the pattern of `address:`: `host:port`, or `[host]:port`, port 1 to 65535.
pub(crate) fn address_pattern() -> String {
    let port = "\\+?0*(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])";
    format!("^(?:\\[[^\\]]+\\]|[^\\[].*):{port}$")
}

/// Returns the shared definitions.
fn defs() -> Value {
    let text_encodings: Vec<&str> = Encoding::ALL
        .iter()
        .filter(|e| e.is_text())
        .map(|e| e.name())
        .collect();
    let encodings: Vec<&str> = Encoding::ALL.iter().map(|e| e.name()).collect();
    let signals = SIGNALS;
    json!({
        "duration": {
            "description": "A duration: a number and a unit, e.g. 500ms, 3s, 1m, 1h 30m.",
            "type": "string",
            "pattern": duration_pattern(),
            "patternErrorMessage": "durations look like 500ms, 3s or 1m",
            "examples": ["500ms", "3s", "1m", "1h 30m"],
        },
        "text": {
            "description": "Text (numbers and booleans are read as their text).",
            "type": ["string", "number", "boolean"],
        },
        "word": {
            "description": "Text that is not empty or blank.",
            "type": ["string", "number", "boolean"],
            "pattern": "\\S",
            "patternErrorMessage": "expected a non-empty value",
        },
        "hex": {
            "description": "Bytes as pairs of hex digits; spaces and line breaks are ignored, e.g. `48 65 6c 6c 6f`.",
            "type": ["string", "integer"],
            "pattern": hex_pattern(),
            "patternErrorMessage": "hex data is pairs of hex digits, e.g. `hex: 48 65 6c 6c 6f`",
        },
        "base64": {
            "description": "Bytes in standard base64; spaces and line breaks are ignored, e.g. `aGVsbG8=`.",
            "type": ["string", "integer"],
            "pattern": base64_pattern(),
            "patternErrorMessage": "base64 data looks like `aGVsbG8=`",
        },
        "textEncoding": {
            "description": "How `text:` becomes bytes: utf8 (default), latin1 (one byte per character) or ascii.",
            "type": "string",
            "anyOf": [
                {"enum": text_encodings},
                {"pattern": encoding_pattern(true)},
            ],
        },
        "encoding": {
            "description": "An encoding: utf8, ascii, latin1, base64 or hex.",
            "type": "string",
            "anyOf": [
                {"enum": encodings},
                {"pattern": encoding_pattern(false)},
            ],
        },
        "data": {
            "description": "Bytes to send: a plain string is UTF-8 text; or a map with exactly one of `text` (with optional `encoding`), `hex` or `base64`.",
            "oneOf": [
                {"$ref": "#/$defs/text"},
                data_maps(&Map::new(), true),
            ],
        },
        "pattern": {
            "description": "A regex in Rust syntax, in multi-line mode (`^` and `$` match at line ends, also before `\\r\\n`). It runs over the output not yet consumed; a match consumes the output up to its end.",
            "type": ["string", "number", "boolean"],
        },
        "signal": {
            "description": "A signal by name, in any case, `SIG` prefix optional.",
            "type": "string",
            "anyOf": [
                {"enum": signals},
                {"pattern": signal_pattern(), "patternErrorMessage": "signals are KILL, TERM, INT, HUP, QUIT, USR1, USR2, STOP or CONT"},
            ],
        },
        "clientName": {
            "description": "The name of a client: `client` for the one of `client:`, or a key of `clients:`.",
            "type": "string",
            "pattern": CLIENT_NAME,
            "patternErrorMessage": "client names start with a letter or `_` and use letters, digits, `_` and `-`",
        },
        "connection": {
            "description": "A server connection: N, the N-th accepted connection (from 1), or a client's name, the server side of that client's current connection.",
            "anyOf": [
                {"type": "integer", "minimum": 1, "maximum": u32::MAX},
                {"$ref": "#/$defs/clientName"},
            ],
        },
        "count": {
            "description": "A whole number from 1.",
            "type": "integer",
            "minimum": 1,
            "maximum": u32::MAX,
        },
        "client": client_schema(),
        "fakeServer": server_branch(Branch::Fake),
        "programServer": server_branch(Branch::Program),
        "externalServer": server_branch(Branch::External),
        "step": step_schema(),
    })
}

/// Returns the schema of a top-level key.
fn top_key(key: &str) -> Value {
    match key {
        "name" => reference("word", "Shown in reports (default: the file name)."),
        "timeout" => with_default(
            reference("duration", "Bound on the whole scenario, in real time."),
            json!("30s"),
        ),
        "defaults" => {
            let mut properties = Map::new();
            properties.insert(
                "timeout".into(),
                with_default(
                    reference("duration", "Timeout of every wait that names none."),
                    json!("5s"),
                ),
            );
            let mut schema = closed(properties, &[]);
            schema["type"] = json!(["object", "null"]);
            schema["description"] = json!("Defaults for the steps.");
            schema
        }
        "snapshot" => json!({
            "description": "Compare the transcript with the golden file beside the scenario (`NAME.transcript`); `--update` writes it.",
            "type": "boolean",
            "default": false,
        }),
        "server" => json!({
            "description": "The server (required): a built-in fake server (`fake:`), a server program tcprun runs (`command:` or `shell:`), or a server already running (`address:`).",
            "oneOf": [
                {"$ref": "#/$defs/fakeServer"},
                {"$ref": "#/$defs/programServer"},
                {"$ref": "#/$defs/externalServer"},
            ],
        }),
        "client" => reference(
            "client",
            "The one client, named `client`: the built-in reconnecting client, or a program under test (`command:` or `shell:`). Give `client` or `clients`.",
        ),
        "clients" => json!({
            "description": "Several clients: a map of client names to their options. Every client step then names its client, and server steps may address a client's connection by name.",
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"$ref": "#/$defs/clientName"},
            "additionalProperties": {"$ref": "#/$defs/client"},
        }),
        "steps" => json!({
            "description": "The steps, in order (required). A step is a bare name (`- kill_server`) or a one-key map whose value is the argument: a short form (`- wait_reconnect: 2s`) or a map of options (`- wait_reconnect: {timeout: 2s, client: bob}`). Every wait ends the moment its condition holds; its timeout only bounds failure.",
            "type": "array",
            "minItems": 1,
            "items": {"$ref": "#/$defs/step"},
        }),
        other => panic!("the loader's top-level key `{other}` has no schema in src/schema.rs"),
    }
}

/// Names the kinds of server.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Branch {
    Fake,
    Program,
    External,
}

/// Returns the schema of one kind of server, with the keys the loader accepts for it.
fn server_branch(branch: Branch) -> Value {
    let keys: Vec<&str> = SERVER_KEYS
        .iter()
        .copied()
        .filter(|key| match branch {
            Branch::Fake => {
                !PROGRAM_ONLY.contains(key) && (*key == "fake" || !SERVER_KINDS.contains(key))
            }
            Branch::Program => !FAKE_ONLY.contains(key) && !matches!(*key, "fake" | "address"),
            Branch::External => *key == "address",
        })
        .collect();
    let mut properties = Map::new();
    for key in &keys {
        properties.insert((*key).into(), server_key(branch, key));
    }
    match branch {
        Branch::Fake => {
            let mut schema = closed(properties, &["fake"]);
            schema["description"] = json!("A built-in fake server that tcprun runs and controls.");
            schema
        }
        Branch::Program => {
            let mut schema = closed(properties, &[]);
            schema["description"] = json!(
                "A real server program that tcprun starts, signals and stops, in its own process group."
            );
            schema["oneOf"] = PROGRAM_KEYS
                .iter()
                .map(|key| json!({"required": [key]}))
                .collect();
            schema
        }
        Branch::External => {
            let mut schema = closed(properties, &["address"]);
            schema["description"] = json!(
                "A server already running elsewhere: tcprun cannot see its side, so server steps are an error, and the clock is the wall clock."
            );
            schema
        }
    }
}

/// Returns the schema of a server key for one kind of server.
fn server_key(branch: Branch, key: &str) -> Value {
    let fake = branch == Branch::Fake;
    match key {
        "fake" => json!({
            "description": "Which built-in server: `echo` (writes each chunk back), `chat` (writes each chunk to every other connection), `sink` (reads and discards; the transcript shows byte counts), `silent` (reads, never answers, never closes).",
            "enum": FAKE_KINDS.iter().map(|(name, _)| *name).collect::<Vec<_>>(),
        }),
        "command" => program_argv(
            "The server program and its arguments (argv, no shell). `${port}` is the port tcprun chose, `${tmp}` a folder of the scenario's own (removed when it ends).",
        ),
        "shell" => program_script(
            "A server program as one `/bin/sh -c` command line. `${port}` is the port tcprun chose, `${tmp}` a folder of the scenario's own (removed when it ends).",
        ),
        "address" => json!({
            "description": "`host:port` of a server that is already running (IPv6 in brackets, `[::1]:6379`); tcprun only connects to it.",
            "type": "string",
            "pattern": address_pattern(),
            "patternErrorMessage": "expected `host:port`, e.g. `127.0.0.1:6379`",
        }),
        "host" if fake => with_default(reference("word", "Address to bind."), json!("127.0.0.1")),
        "host" => with_default(
            reference("word", "Where the server listens."),
            json!("127.0.0.1"),
        ),
        "port" => json!({
            "description": if fake {
                "Port to bind; 0 picks a free one, shown as `${port}`."
            } else {
                "Where the server listens; 0 picks a free port (`${port}` in its command); a fixed port in use fails at once."
            },
            "type": "integer",
            "minimum": 0,
            "maximum": 65535,
            "default": 0,
        }),
        "banner" => reference(
            "data",
            "Data sent to every connection on accept (a server that speaks first).",
        ),
        "start" => json!({
            "description": if fake {
                "false: the port refuses connections until a `start_server` step."
            } else {
                "false: not started until a `start_server` step."
            },
            "type": "boolean",
            "default": true,
        }),
        "half_open" => json!({
            "description": "true: keep a connection open after the client's FIN, so steps can still send (Node's `allowHalfOpen`); by default the server ends its side as soon as the client ends.",
            "type": "boolean",
            "default": false,
        }),
        "ready" => json!({
            "description": "When the server counts as started: `port` or `{port: true}`, its port accepts (the default); `{log: REGEX}`, a line of its output matches.",
            "default": {"port": true},
            "oneOf": [
                {"const": "port"},
                {
                    "type": "object",
                    "properties": {"port": {"description": "Ready when its port accepts a connection.", "const": true}},
                    "required": ["port"],
                    "additionalProperties": false,
                },
                {
                    "type": "object",
                    "properties": {"log": reference("pattern", "Ready when a line of its stdout or stderr matches this regex.")},
                    "required": ["log"],
                    "additionalProperties": false,
                },
            ],
        }),
        "ready_timeout" => with_default(
            reference(
                "duration",
                "Bound on readiness; a program that exits first fails with its exit status and last output lines.",
            ),
            json!("5s"),
        ),
        "stop_timeout" => with_default(
            reference(
                "duration",
                "`stop_server`'s grace between SIGTERM and SIGKILL.",
            ),
            json!("2s"),
        ),
        "output" => json!({
            "description": "Where the program's output goes: `transcript` (its output lines in the transcript), `discard`, or `inherit` (tcprun's stdout).",
            "enum": OUTPUT_MODES.iter().map(|(name, _)| *name).collect::<Vec<_>>(),
            "default": "discard",
        }),
        "env" => program_env(),
        "cwd" => program_cwd(),
        other => panic!("the loader's server key `{other}` has no schema in src/schema.rs"),
    }
}

fn program_argv(description: &str) -> Value {
    json!({
        "description": description,
        "type": "array",
        "minItems": 1,
        "prefixItems": [{"$ref": "#/$defs/text", "minLength": 1}],
        "items": {"$ref": "#/$defs/text"},
        "examples": [["redis-server", "--port", "${port}"]],
    })
}

fn program_script(description: &str) -> Value {
    reference("word", description)
}

fn program_env() -> Value {
    json!({
        "description": "Variables added to tcprun's environment for the program.",
        "type": ["object", "null"],
        "propertyNames": {"minLength": 1, "pattern": "^[^=]*$"},
        "additionalProperties": {"$ref": "#/$defs/text"},
    })
}

fn program_cwd() -> Value {
    reference(
        "word",
        "The program's working folder, relative to the scenario file (default: the folder tcprun runs in).",
    )
}

/// Returns the schema of a client: the built-in client, or a client program.
fn client_schema() -> Value {
    let builtin_keys = CLIENT_KEYS
        .iter()
        .filter(|key| !PROGRAM_KEYS.contains(key) && !CLIENT_PROGRAM_ONLY.contains(key));
    let program_keys = CLIENT_KEYS.iter().filter(|key| !BUILTIN_ONLY.contains(key));
    let mut builtin = Map::new();
    for key in builtin_keys {
        builtin.insert((*key).into(), client_key(false, key));
    }
    let mut program = Map::new();
    for key in program_keys {
        program.insert((*key).into(), client_key(true, key));
    }
    let mut builtin = closed(builtin, &[]);
    builtin["description"] = json!(
        "The built-in reconnecting client (the one `tcprun connect` uses); every option has a default."
    );
    let mut program = closed(program, &[]);
    program["description"] = json!(
        "A real client program: `send`/`send_line` write to its stdin, `expect` matches its stdout, `end` closes its stdin, `expect_exit` waits for its exit."
    );
    program["oneOf"] = PROGRAM_KEYS
        .iter()
        .map(|key| json!({"required": [key]}))
        .collect();
    json!({
        "description": "A client: the built-in reconnecting client (a map of its options, or nothing for the defaults), or a program under test (`command:` or `shell:`).",
        "oneOf": [
            {"type": "null", "description": "The built-in client with default options."},
            builtin,
            program,
        ],
    })
}

/// Returns the schema of a client key, for a client program or the built-in client.
fn client_key(program: bool, key: &str) -> Value {
    match key {
        "command" => program_argv(
            "The client program and its arguments (argv, no shell); `${port}` is the server's port.",
        ),
        "shell" => program_script(
            "A client program as one `/bin/sh -c` command line; `${port}` is the server's port.",
        ),
        "env" => program_env(),
        "cwd" => program_cwd(),
        "stderr" => json!({
            "description": "`merge`: `expect` matches stdout and stderr together; `separate`: `expect` matches stdout only, stderr goes to the transcript.",
            "enum": ["separate", "merge"],
            "default": "separate",
        }),
        "host" => reference("word", "Where to connect (default: the server's host)."),
        "port" => json!({
            "description": "Where to connect (default: the server's port; `${port}` also means the server's port).",
            "anyOf": [
                {"type": "integer", "minimum": 1, "maximum": 65535},
                {"const": "${port}"},
            ],
        }),
        "retry_interval" => with_default(
            reference("duration", "Delay before each retry."),
            json!("3s"),
        ),
        "max_retries" => json!({
            "description": "Retries after a lost or refused connection before giving up; the count resets on every connect.",
            "type": "integer",
            "minimum": 0,
            "maximum": u32::MAX,
            "default": 10,
        }),
        "reconnect" => json!({
            "description": "false: one connection, no retries.",
            "type": "boolean",
            "default": true,
        }),
        "connect_timeout" => with_default(
            reference("duration", "Bound on one connect attempt (ETIMEDOUT)."),
            json!("10s"),
        ),
        "backoff" => json!({
            "description": "How the delay between retries grows: `fixed`, or `exponential` (doubling up to `max_interval`).",
            "enum": ["fixed", "exponential"],
            "default": "fixed",
        }),
        "max_interval" => with_default(
            reference("duration", "Cap for exponential backoff."),
            json!("30s"),
        ),
        "encoding" => with_default(
            reference(
                "encoding",
                if program {
                    "How the program's output is decoded for `expect` and shown in the transcript: utf8, ascii, latin1, base64, hex."
                } else {
                    "How received bytes are decoded for `expect` and shown in the transcript: utf8, ascii, latin1, base64, hex."
                },
            ),
            json!("utf8"),
        ),
        "quit_word" => with_default(
            reference(
                "word",
                if program {
                    "The line `send_quit` writes to the program's stdin."
                } else {
                    "The word `send_quit` stands for; the client ends and never reconnects."
                },
            ),
            json!("quit"),
        ),
        other => panic!("the loader's client key `{other}` has no schema in src/schema.rs"),
    }
}

/// Returns what a step does and an example, as the README says them.
fn step_doc(name: &str) -> (&'static str, &'static str) {
    match name {
        "send" => ("Send bytes as they are.", "`- send: \"PING\\r\\n\"`"),
        "send_line" => ("Send the data and `\\n`.", "`- send_line: hello`"),
        "expect" => (
            "Wait until the client's received output matches.",
            "`- expect: \"^hello$\"`",
        ),
        "expect_no" => (
            "Fail if the output matches within the window (`timeout`).",
            "`- expect_no: {regex: ERROR, timeout: 500ms}`",
        ),
        "end" => (
            "Send optional data, then half-close (FIN); keep reading; no reconnect afterwards. For a client program, close its stdin.",
            "`- end: \"bye\\n\"` or `- end`",
        ),
        "send_quit" => (
            "Send the quit word: the client ends and never reconnects.",
            "`- send_quit`",
        ),
        "wait_connected" => ("Wait until the client is connected.", "`- wait_connected`"),
        "wait_reconnect" => (
            "Wait until the client connects again (a connect not yet seen by a wait step).",
            "`- wait_reconnect: 2s`",
        ),
        "wait_retry" => (
            "Wait until the N-th retry since the last connect has failed (built-in clients only).",
            "`- wait_retry: 2`",
        ),
        "expect_error" => (
            "Wait until the client reports that error code (connect failure or broken connection; built-in clients only).",
            "`- expect_error: ECONNREFUSED`",
        ),
        "expect_gave_up" => (
            "Wait until the client gives up after its last retry (built-in clients only).",
            "`- expect_gave_up`",
        ),
        "expect_closed" => (
            "Wait until a connection closes: `fin`, `reset`, or `any` (default).",
            "`- expect_closed: fin`",
        ),
        "sleep" => ("Let scenario time pass.", "`- sleep: 200ms`"),
        "kill_server" => (
            "Abrupt: every connection reset (RST), the port refuses until restarted. A server program gets SIGKILL (or the signal given) to its process group.",
            "`- kill_server`",
        ),
        "stop_server" => (
            "Graceful: FIN to every connection, stop listening. A server program gets SIGTERM, then SIGKILL after `stop_timeout`.",
            "`- stop_server`",
        ),
        "start_server" => (
            "Listen again on the same address and port.",
            "`- start_server`",
        ),
        "server_send" => (
            "Write to every connection, or one (fake servers only).",
            "`- server_send: {text: \"hi\\n\", connection: bob}`",
        ),
        "server_expect" => (
            "Wait until what the server received matches: all connections together, or one (fake servers only).",
            "`- server_expect: \"^PING$\"`",
        ),
        "server_close" => (
            "Close every connection, or one, with `fin` (default) or `reset` (fake servers only).",
            "`- server_close: rst`",
        ),
        "server_half_close" => (
            "Shut down the server's write side only (fake servers only).",
            "`- server_half_close`",
        ),
        "expect_connections" => (
            "Wait until the server has accepted N connections in all; more is a failure (fake servers only).",
            "`- expect_connections: 2`",
        ),
        "expect_exit" => (
            "Wait until a client program exits: with any status, an exit code, or `{signal: TERM}`.",
            "`- expect_exit: 0`",
        ),
        "kill_client" => (
            "Send a signal (default KILL) to a client program's process group.",
            "`- kill_client: TERM`",
        ),
        other => panic!("the step `{other}` has no description in src/schema.rs"),
    }
}

/// Returns the schema of one option of a step's map form (also its short form).
fn step_key(step: &str, key: &str) -> Value {
    match (step, key) {
        (_, "client") => reference(
            "clientName",
            "The client this step is for; required when the scenario has several clients.",
        ),
        (_, "connection") => reference(
            "connection",
            "The connection to address: N, the N-th accepted connection (from 1), or a client's name, the server side of that client's current connection. Default: every connection.",
        ),
        ("expect_no", "timeout") => reference(
            "duration",
            "The window in which the output must not match (default: `defaults.timeout`).",
        ),
        (_, "timeout") => reference(
            "duration",
            "Bound on the wait (default: `defaults.timeout`); it ends the moment its condition holds.",
        ),
        ("server_expect", "regex") => reference(
            "pattern",
            "A regex over what the server received and has not consumed yet.",
        ),
        (_, "regex") => reference(
            "pattern",
            "A regex over the client's output not consumed yet.",
        ),
        ("wait_retry", "retry") => reference(
            "count",
            "Until this retry (from 1) since the last connect has failed.",
        ),
        ("expect_connections", "count") => reference(
            "count",
            "Until the server has accepted this many connections in all.",
        ),
        ("expect_error", "code") => json!({
            "description": "An error code, as Node names them: ECONNREFUSED, ECONNRESET, ETIMEDOUT, EPIPE, ...",
            "type": "string",
            "pattern": ERROR_CODE,
            "patternErrorMessage": "error codes look like ECONNREFUSED, ECONNRESET or ETIMEDOUT",
            "examples": ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE"],
        }),
        ("expect_exit", "code") => json!({
            "description": "The exit code, 0 to 255 (leave out `code` and `signal` to accept any exit).",
            "type": "integer",
            "minimum": 0,
            "maximum": 255,
        }),
        ("expect_exit", "signal") => reference("signal", "The signal that ended the program."),
        ("kill_server", "signal") => reference(
            "signal",
            "The signal sent to a server program's process group (default KILL); a fake server's kill is always abrupt.",
        ),
        (_, "signal") => reference(
            "signal",
            "The signal sent to the client program's process group (default KILL).",
        ),
        ("expect_closed", "how") => json!({
            "description": "How the connection ends: `fin` (orderly), `reset` (or `rst`), or `any`.",
            "enum": ["fin", "reset", "rst", "any"],
            "default": "any",
        }),
        ("server_close", "how") => json!({
            "description": "How to close: `fin` (orderly) or `reset` (or `rst`, an abort).",
            "enum": ["fin", "reset", "rst"],
            "default": "fin",
        }),
        (_, "stream") => json!({
            "description": "What to read: `stdout`, what the client received (for a client program its stdout, with its stderr under `stderr: merge`), or `stderr`, a client program's separate stderr.",
            "enum": ["stdout", "stderr"],
            "default": "stdout",
        }),
        ("sleep", "duration") => reference("duration", "How much scenario time passes."),
        (step, key) => panic!("the option `{key}` of `{step}` has no schema in src/schema.rs"),
    }
}

/// Returns the options of a data map, whose keys are the loader's `DATA_KEYS`.
fn data_key(key: &str) -> Value {
    match key {
        "text" => reference("text", "Text, encoded as `encoding` says (default utf8)."),
        "encoding" => with_default(
            reference(
                "textEncoding",
                "How `text` becomes bytes: utf8, latin1 (one byte per character) or ascii.",
            ),
            json!("utf8"),
        ),
        "hex" => reference("hex", "Bytes as pairs of hex digits, e.g. `de ad be ef`."),
        "base64" => reference("base64", "Bytes in base64, e.g. `SGVsbG8gV29ybGQh`."),
        other => panic!("the data key `{other}` has no schema in src/schema.rs"),
    }
}

/// Returns the map forms of data: one of `text` (with `encoding`), `hex` or
/// `base64`, besides the `extra` options of a step; `required`: data must be given.
fn data_maps(extra: &Map<String, Value>, required: bool) -> Value {
    let mut branches = Vec::new();
    for source in DATA_KEYS.iter().filter(|key| **key != "encoding") {
        let mut properties = extra.clone();
        properties.insert((*source).into(), data_key(source));
        if *source == "text" {
            properties.insert("encoding".into(), data_key("encoding"));
        }
        branches.push(closed(properties, &[source]));
    }
    if !required {
        branches.push(closed(extra.clone(), &[]));
    }
    json!({"type": "object", "oneOf": branches})
}

/// Returns the schema of one step list item: a bare name, or a one-key map.
fn step_schema() -> Value {
    let bare: Vec<&str> = Step::NAMES
        .iter()
        .copied()
        .filter(|name| !NEEDS_ARGUMENT.contains(name))
        .collect();
    let mut forms = vec![json!({
        "description": "A step without an argument.",
        "enum": bare,
    })];
    for name in Step::NAMES {
        let mut properties = Map::new();
        properties.insert(name.into(), step_argument(name));
        forms.push(closed(properties, &[name]));
    }
    json!({
        "description": "A step: a bare name (`- kill_server`), or a one-key map whose value is the argument, a short form (`- wait_reconnect: 2s`) or a map of options (`- wait_reconnect: {timeout: 2s, client: bob}`).",
        "oneOf": forms,
    })
}

/// Returns the schema of a step's argument, in each form the loader accepts.
fn step_argument(name: &str) -> Value {
    let shape = shape(name);
    let (meaning, example) = step_doc(name);
    let required = NEEDS_ARGUMENT.contains(&name);
    let data = shape.keys.contains(&"text");
    let mut forms = Vec::new();
    if !required {
        forms.push(json!({"type": "null"}));
    }
    if let Some(short) = shape.shorthand {
        forms.push(if data {
            json!({"$ref": "#/$defs/text"})
        } else {
            step_key(name, short)
        });
    }
    let extra: Map<String, Value> = shape
        .keys
        .iter()
        .filter(|key| !DATA_KEYS.contains(key))
        .map(|key| ((*key).to_owned(), step_key(name, key)))
        .collect();
    if data {
        assert!(
            DATA_KEYS.iter().all(|key| shape.keys.contains(key)),
            "`{name}` takes some data keys but not all"
        );
        forms.push(data_maps(&extra, required));
    } else {
        match shape.shorthand {
            // `sleep: {duration: ...}` is no form of sleep.
            Some(short) if required && !shape.keys.contains(&short) => {}
            short => {
                let needed: Vec<&str> = short.filter(|_| required).into_iter().collect();
                let mut map = closed(extra, &needed);
                if name == "expect_exit" {
                    // A program either exits with a code or is ended by a signal.
                    map["if"] = json!({"required": ["code"]});
                    map["then"] = json!({"properties": {"signal": false}});
                }
                forms.push(map);
            }
        }
    }
    json!({
        "description": format!("{meaning} Takes {}. Example: {example}", shape.expected),
        "oneOf": forms,
    })
}

/// Returns a condition on the top level: the server is of one of these kinds (by key).
fn server_is(keys: &[&str]) -> Value {
    let any: Vec<Value> = keys.iter().map(|key| json!({"required": [key]})).collect();
    json!({
        "required": ["server"],
        "properties": {"server": {"type": "object", "anyOf": any}},
    })
}

/// Returns a condition on the top level: there is one client, and it matches `kind`.
fn only_client(kind: &Value) -> Value {
    json!({
        "anyOf": [
            {"required": ["client"], "properties": {"client": kind}},
            {
                "required": ["clients"],
                "properties": {"clients": {"type": "object", "maxProperties": 1, "additionalProperties": kind}},
            },
        ],
    })
}

/// Returns a rule on the top level: the steps may not include any of `names`, bare or with an argument.
fn steps_without(names: &[&str]) -> Value {
    let forbidden: Map<String, Value> = names
        .iter()
        .map(|name| ((*name).to_owned(), Value::Bool(false)))
        .collect();
    json!({
        "properties": {"steps": {"items": {
            "not": {"enum": names},
            "properties": forbidden,
        }}},
    })
}

/// Returns a rule on the top level: every step that takes `key` matches `schema` there.
fn steps_with_option(key: &str, schema: Value) -> Value {
    let mut properties = Map::new();
    for name in Step::NAMES {
        if shape(name).keys.contains(&key) {
            properties.insert(name.into(), json!({"properties": {key: schema.clone()}}));
        }
    }
    json!({"properties": {"steps": {"items": {"properties": properties}}}})
}

/// Returns the checks that depend on the kind of server and of the clients.
fn rules() -> Value {
    let names = |keep: fn(&str) -> bool| -> Vec<&'static str> {
        Step::NAMES.iter().copied().filter(|n| keep(n)).collect()
    };
    let program =
        json!({"type": "object", "anyOf": [{"required": ["command"]}, {"required": ["shell"]}]});
    let builtin = json!({"not": program.clone()});
    let client_steps = names(|n| shape(n).keys.contains(&"client"));
    let bare_client_steps: Vec<&str> = client_steps
        .iter()
        .copied()
        .filter(|n| !NEEDS_ARGUMENT.contains(n))
        .collect();
    let mut must_name_client = Map::new();
    for name in &client_steps {
        must_name_client.insert(
            (*name).into(),
            json!({"type": "object", "required": ["client"]}),
        );
    }
    json!([
        {
            "$comment": "With several clients, every client step names its client.",
            "if": {"required": ["clients"], "properties": {"clients": {"minProperties": 2}}},
            "then": {"properties": {"steps": {"items": {
                "not": {"enum": bare_client_steps},
                "properties": must_name_client,
            }}}},
        },
        {
            "$comment": "With `client:`, the only client is named `client`.",
            "if": {"required": ["client"]},
            "then": {"allOf": [
                steps_with_option("client", json!({"const": "client"})),
                steps_with_option("connection", json!({"anyOf": [{"type": "integer"}, {"const": "client"}]})),
            ]},
        },
        {
            "$comment": "A server already running takes no server steps.",
            "if": server_is(&["address"]),
            "then": steps_without(&names(is_server_step)),
        },
        {
            "$comment": "tcprun does not see a server program's connections.",
            "if": server_is(PROGRAM_KEYS),
            "then": steps_without(&names(needs_connections)),
        },
        {
            "$comment": "With a server program, server_expect matches its output: no connection.",
            "if": server_is(PROGRAM_KEYS),
            "then": {"properties": {"steps": {"items": {"properties": {"server_expect": {
                "properties": {"connection": false},
            }}}}}},
        },
        {
            "$comment": "A fake server's kill is always abrupt: no signal.",
            "if": server_is(&["fake"]),
            "then": {"properties": {"steps": {"items": {"properties": {"kill_server": {
                "type": ["null", "object"],
                "properties": {"signal": false},
            }}}}}},
        },
        {
            "$comment": "tcprun cannot see a client program's connect attempts.",
            "if": only_client(&program),
            "then": steps_without(NOT_FOR_CLIENT_PROGRAMS),
        },
        {
            "$comment": "A client program's connections are seen from a fake server's side only.",
            "if": {"allOf": [only_client(&program), server_is(&["command", "shell", "address"])]},
            "then": steps_without(SEEN_FROM_A_FAKE_SERVER),
        },
        {
            "$comment": "Only a client program exits or takes a signal.",
            "if": only_client(&builtin),
            "then": steps_without(ONLY_FOR_CLIENT_PROGRAMS),
        },
    ])
}

#[cfg(test)]
mod tests {
    use regex::Regex;

    use super::*;
    use crate::scenario::load::valid_client_name;
    use crate::scenario::program::signal_name;
    use crate::scenario::steps::is_error_code;

    fn matches(pattern: &str, text: &str) -> bool {
        Regex::new(pattern).unwrap().is_match(text)
    }

    #[test]
    fn render_is_pretty_sorted_json_with_a_trailing_newline() {
        let text = render();
        assert!(text.ends_with("}\n") && !text.ends_with("\n\n"));
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed, scenario_schema());
        assert_eq!(parsed["$schema"], DIALECT);
        assert_eq!(parsed["$id"], ID);
    }

    #[test]
    fn duration_pattern_agrees_with_humantime() {
        for unit in DURATION_UNITS {
            let text = format!("2{unit}");
            assert!(humantime::parse_duration(&text).is_ok(), "{text}");
            assert!(matches(&duration_pattern(), &text), "{text}");
        }
        let samples = [
            "500ms",
            "3s",
            "1m",
            "1h 30m",
            "1h30m",
            " 2s ",
            "1.5s",
            "10 seconds",
            "2 min 3 s",
            "0s",
            "5",
            "",
            " ",
            "s",
            "1.s",
            ".5s",
            "1x",
            "5sm",
            "5m s",
            "-1s",
            "1h,30m",
            "1e3",
            "2M",
            "2MS",
        ];
        for text in samples {
            let humantime = humantime::parse_duration(text.trim()).is_ok()
                && !text.trim().chars().all(|c| c.is_ascii_digit());
            assert_eq!(matches(&duration_pattern(), text), humantime, "{text:?}");
        }
    }

    #[test]
    fn data_patterns_agree_with_the_encoder() {
        let samples = [
            "",
            "00",
            "0",
            "abc",
            "de ad be ef",
            "DEADBEEF",
            "4\n8",
            "zz",
            "48 6",
            "SGk",
            "SGk=",
            "SGl",
            "SGl=",
            "SGVsbG8=",
            "SGVsbG8",
            "SGVsbG8gV29ybGQh",
            "aGk=",
            "aGk==",
            "aG==",
            "aA==",
            "aA",
            "aB",
            "a",
            "=",
            "!!!",
            "SGVs bG8=",
            "SG\nk=",
            "aGVsbG8=\n",
            "ab+/",
            "ab-_",
        ];
        for text in samples {
            for (pattern, encoding) in [
                (hex_pattern(), Encoding::Hex),
                (base64_pattern(), Encoding::Base64),
            ] {
                assert_eq!(
                    matches(&pattern, text),
                    encoding.encode(text).is_ok(),
                    "{encoding:?} {text:?}"
                );
            }
        }
    }

    #[test]
    fn name_patterns_agree_with_the_loader() {
        for name in [
            "client", "alice", "_x", "a-b_9", "Bob", "1", "9a", "-a", "", "a b", "é", "a.b",
        ] {
            assert_eq!(
                matches(CLIENT_NAME, name),
                valid_client_name(name),
                "{name:?}"
            );
        }
        for code in [
            "ECONNREFUSED",
            "E2BIG",
            "E",
            "econnrefused",
            "ECONN-REFUSED",
            "XECONN",
        ] {
            assert_eq!(matches(ERROR_CODE, code), is_error_code(code), "{code:?}");
        }
        for signal in [
            "TERM",
            "term",
            "SigTerm",
            "SIGKILL",
            "usr1",
            "SIGUSR2",
            "SIG",
            "TERMINATE",
            "9",
            "SIGSIGTERM",
            "XTERM",
        ] {
            assert_eq!(
                matches(&signal_pattern(), signal),
                signal_name(signal).is_some(),
                "{signal:?}"
            );
        }
        for name in [
            "utf8",
            "UTF-8",
            "Latin1",
            "binary",
            "ISO-8859-1",
            "ascii",
            "hex",
            "BASE64",
            "utf16",
            "utf_8",
            "",
        ] {
            let parsed = name.parse::<Encoding>().ok();
            assert_eq!(
                matches(&encoding_pattern(false), name),
                parsed.is_some(),
                "{name:?}"
            );
            assert_eq!(
                matches(&encoding_pattern(true), name),
                parsed.is_some_and(Encoding::is_text),
                "{name:?}"
            );
        }
        for (alias, encoding) in ENCODING_ALIASES {
            assert_eq!(alias.parse::<Encoding>().ok(), Some(*encoding));
        }
    }

    #[test]
    fn address_pattern_agrees_with_the_loader() {
        let addresses = [
            "127.0.0.1:6379",
            "localhost:80",
            "[::1]:6379",
            "::1:6379",
            "::80",
            "h:65535",
            "h:080",
            "h:+80",
            "h:65536",
            "h:0",
            "h:",
            ":80",
            "localhost",
            "[::1]",
            "[]:80",
            "[::1]80",
            "h:8o",
            "h: 80",
        ];
        for address in addresses {
            let source =
                format!("server: {{address: {address:?}}}\nclient: {{}}\nsteps: [sleep: 1s]\n");
            let loaded = crate::scenario::load_str(std::path::Path::new("t.yaml"), &source);
            assert_eq!(
                matches(&address_pattern(), address),
                loaded.is_ok(),
                "{address}"
            );
        }
    }
}
