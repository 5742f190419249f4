//! Describes the scenario file format as a JSON Schema (draft 2020-12), for editors.
//!
//! `tcprun schema` prints [`render`]; `schema/scenario.schema.json` holds the
//! same text, so a scenario can name it in a modeline for yaml-language-server:
//! `# yaml-language-server: $schema=../schema/scenario.schema.json`.
//!
//! The schema is generated: the keys of the top level, `server:` and
//! `client:` (their docs, kinds of value and defaults) come from the loader's
//! key table (`scenario::keys`), and every step (its argument forms, docs,
//! and which clients and servers it suits) from the step registry
//! (`scenario::registry`). What is written here is how each kind of value
//! looks in JSON Schema, and the shared definitions (`$defs`).
//!
//! Beyond keys and value formats, the schema also knows the checks that
//! depend on the kind of server or of a single client (server steps need a
//! server tcprun runs, `kill_client` needs a client program, ...), and that
//! with several clients every client step names its client. It cannot see
//! whether a regex compiles, whether a `client:` or `connection:` names a
//! client declared under `clients:`, nor the kind of a named client among
//! several: those stay with the loader.

mod frames;
mod patterns;
mod steps;

use serde_json::{Map, Value, json};

use crate::client::encoding::Encoding;
use crate::scenario::keys::{self, Applies, Default, Key};
use crate::scenario::read_program::SIGNALS;
use patterns::{
    CLIENT_NAME, ERROR_CODE, address_pattern, base64_pattern, duration_pattern, encoding_pattern,
    fault_size_pattern, hex_pattern, probability_pattern, rate_pattern, signal_pattern,
    size_pattern,
};

/// Names the schema (`$id`).
pub const ID: &str = "https://tcprun.invalid/schema/scenario.schema.json";

/// Names the JSON Schema dialect (`$schema`).
pub const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// Returns the JSON Schema of a scenario file.
pub fn scenario_schema() -> Value {
    let properties = key_schemas(keys::TOP, false);
    json!({
        "$schema": DIALECT,
        "$id": ID,
        "title": "tcprun scenario",
        "description": "A tcprun scenario: a server, one or more clients (by default one built-in client named `client`), and the steps to run against them, in order. Keys are snake_case; unknown keys are errors. See the README, sections \"Scenarios\" and \"Programs under test\".",
        "type": "object",
        "properties": properties,
        "required": ["server", "steps"],
        "not": {"required": ["client", "clients"]},
        "additionalProperties": false,
        "allOf": steps::rules(),
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

/// Returns the shared definitions.
fn defs() -> Value {
    let text_encodings: Vec<&str> = Encoding::ALL
        .iter()
        .filter(|e| e.is_text())
        .map(|e| e.name())
        .collect();
    let encodings: Vec<&str> = Encoding::ALL.iter().map(|e| e.name()).collect();
    let signals = SIGNALS;
    let mut defs = json!({
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
                steps::data_maps(&Map::new(), true, false),
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
        "size": {
            "description": "A size in bytes: a whole number, or one with a 1024-based unit, e.g. `4096`, `4KiB`, `1MiB`, `1GiB`.",
            "anyOf": [
                {"type": "integer", "minimum": 1},
                {"type": "string", "pattern": size_pattern(), "patternErrorMessage": "sizes are bytes, or take a 1024-based unit: 4096, 4KiB, 1MiB, 1GiB"},
            ],
        },
        "count": {
            "description": "A whole number from 1.",
            "type": "integer",
            "minimum": 1,
            "maximum": u32::MAX,
        },
        "proxyName": {
            "description": "The name of a proxy: `proxy` for the one of `proxy:`, or a key of `proxies:`.",
            "type": "string",
            "pattern": CLIENT_NAME,
            "not": {"enum": PROXY_RESERVED},
            "patternErrorMessage": "proxy names start with a letter or `_` and use letters, digits, `_` and `-`",
        },
        "proxy": {
            "description": "A fault proxy: it listens on 127.0.0.1 (`${NAME.port}`), forwards both ways to its upstream, and takes the faults of `fault` steps; every option has a default.",
            "type": ["object", "null"],
            "properties": key_schemas(keys::PROXY, false),
            "additionalProperties": false,
        },
        "faultSize": {
            "description": "A size in bytes as a fault takes it: a number, or a number with a unit (`64KiB`, `1MiB`, `1.5MB`).",
            "anyOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": fault_size_pattern()},
            ],
        },
        "pieceSize": {
            "description": "A size in bytes of at least 1: a number, or a number with a unit (`1`, `1KiB`).",
            "anyOf": [
                {"type": "integer", "minimum": 1},
                {"type": "string", "pattern": fault_size_pattern()},
            ],
        },
        "rate": {
            "description": "A rate: a size per second, e.g. `64KiB/s`, `1MiB/s`, `500B/s`.",
            "type": "string",
            "pattern": rate_pattern(),
        },
        "probability": {
            "description": "A probability: a number from 0 to 1, or a percentage (`25%`).",
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": 1},
                {"type": "string", "pattern": probability_pattern()},
            ],
        },
        "faultName": {
            "description": "A fault's name: letters, digits, `_`, `-` and `.`.",
            "type": ["string", "number"],
            "pattern": "^[A-Za-z0-9_.-]+$",
        },
        "true": {
            "description": "`true` (a fault that does nothing is no fault).",
            "enum": [true, "true"],
        },
        "client": client_schema(),
        "fakeServer": server_branch(Branch::Fake),
        "programServer": server_branch(Branch::Program),
        "externalServer": server_branch(Branch::External),
        "step": steps::step_schema(),
    });
    for (name, schema) in frames::defs() {
        defs[name] = schema;
    }
    defs
}

/// Names a proxy may not have (`scenario::read_proxy`).
const PROXY_RESERVED: [&str; 4] = ["server", "env", "port", "tmp"];

/// Returns a default as JSON.
fn default_json(default: Default) -> Value {
    match default {
        Default::Text(text) => json!(text),
        Default::Number(number) => json!(number),
        Default::Bool(value) => json!(value),
        Default::ReadyPort => json!({"port": true}),
    }
}

/// Returns the schema of a value of kind `value`, described by `doc`, with its default.
fn value_schema(value: keys::Value, doc: &str, default: Option<Default>) -> Value {
    use keys::Value as V;
    let mut schema = match value {
        V::Def(name) => reference(name, doc),
        V::Bool => json!({"description": doc, "type": "boolean"}),
        V::Choice(names) => json!({"description": doc, "enum": names}),
        V::ListenPort => json!({
            "description": doc,
            "type": "integer",
            "minimum": 0,
            "maximum": 65535,
        }),
        V::ConnectPort => json!({
            "description": doc,
            "anyOf": [
                {"type": "integer", "minimum": 1, "maximum": 65535},
                {"const": "${port}"},
            ],
        }),
        V::Count => json!({
            "description": doc,
            "type": "integer",
            "minimum": 0,
            "maximum": u32::MAX,
        }),
        V::Address => json!({
            "description": doc,
            "type": "string",
            "pattern": address_pattern(),
            "patternErrorMessage": "expected `host:port`, e.g. `127.0.0.1:6379`",
        }),
        V::Argv => json!({
            "description": doc,
            "type": "array",
            "minItems": 1,
            "prefixItems": [{"$ref": "#/$defs/text", "minLength": 1}],
            "items": {"$ref": "#/$defs/text"},
            "examples": [["redis-server", "--port", "${port}"]],
        }),
        V::Env => json!({
            "description": doc,
            "type": ["object", "null"],
            "propertyNames": {"minLength": 1, "pattern": "^[^=]*$"},
            "additionalProperties": {"$ref": "#/$defs/text"},
        }),
        V::Ready => json!({
            "description": doc,
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
        V::ErrorCode => json!({
            "description": doc,
            "type": "string",
            "pattern": ERROR_CODE,
            "patternErrorMessage": "error codes look like ECONNREFUSED, ECONNRESET or ETIMEDOUT",
            "examples": ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE"],
        }),
        V::ExitCode => json!({
            "description": doc,
            "type": "integer",
            "minimum": 0,
            "maximum": 255,
        }),
        V::EnvUse => json!({
            "description": doc,
            "type": ["object", "null"],
            "propertyNames": {"minLength": 1, "pattern": "^[^=]*$"},
            "additionalProperties": {
                "type": ["object", "null"],
                "properties": {"secret": {
                    "description": "Write the variable's value as `***` everywhere tcprun shows text.",
                    "type": "boolean",
                    "default": false,
                }},
                "additionalProperties": false,
            },
        }),
        V::Defaults => {
            let mut schema = closed(key_schemas(keys::DEFAULTS_KEYS, false), &[]);
            schema["type"] = json!(["object", "null"]);
            schema["description"] = json!(doc);
            schema
        }
        V::Server => json!({
            "description": doc,
            "oneOf": [
                {"$ref": "#/$defs/fakeServer"},
                {"$ref": "#/$defs/programServer"},
                {"$ref": "#/$defs/externalServer"},
            ],
        }),
        V::Clients => json!({
            "description": doc,
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"$ref": "#/$defs/clientName"},
            "additionalProperties": {"$ref": "#/$defs/client"},
        }),
        V::Proxies => json!({
            "description": doc,
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"$ref": "#/$defs/proxyName"},
            "additionalProperties": {"$ref": "#/$defs/proxy"},
        }),
        V::Upstream => json!({
            "description": doc,
            "anyOf": [
                {"const": keys::UPSTREAM},
                {"type": "string", "pattern": address_pattern()},
            ],
        }),
        V::Seed => json!({
            "description": doc,
            "type": "integer",
            "minimum": 0,
            "maximum": u64::MAX,
        }),
        V::Steps => json!({
            "description": doc,
            "type": "array",
            "minItems": 1,
            "items": {"$ref": "#/$defs/step"},
        }),
    };
    if let Some(default) = default {
        schema["default"] = default_json(default);
    }
    schema
}

/// Returns the property schemas of `keys`, with their docs for a program (`program`) or not.
fn key_schemas(keys: &[Key], program: bool) -> Map<String, Value> {
    keys.iter()
        .map(|key| {
            let schema = value_schema(key.value, key.doc_for(program), key.default);
            (key.name.to_owned(), schema)
        })
        .collect()
}

/// Returns the `oneOf` that requires exactly one of the keys that say a program's kind.
fn one_program_key(keys: &[Key]) -> Value {
    keys.iter()
        .filter(|key| keys::says_kind(key))
        .map(|key| json!({"required": [key.name]}))
        .collect()
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
    let of_branch = |key: &Key| match key.applies {
        Applies::Server {
            fake,
            program,
            external,
            ..
        } => match branch {
            Branch::Fake => fake,
            Branch::Program => program,
            Branch::External => external,
        },
        _ => false,
    };
    let keys: Vec<Key> = keys::SERVER.iter().copied().filter(of_branch).collect();
    let properties = key_schemas(&keys, branch == Branch::Program);
    match branch {
        Branch::Fake => {
            let mut schema = closed(properties, &["fake"]);
            schema["description"] = json!("A built-in fake server that tcprun runs and controls.");
            schema["allOf"] = frames::fake_server_rules();
            schema
        }
        Branch::Program => {
            let mut schema = closed(properties, &[]);
            schema["description"] = json!(
                "A real server program that tcprun starts, signals and stops, in its own process group."
            );
            schema["oneOf"] = one_program_key(&keys);
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

/// Returns the schema of a client: the built-in client, or a client program.
fn client_schema() -> Value {
    let of = |program: bool| -> Vec<Key> {
        keys::CLIENT
            .iter()
            .copied()
            .filter(|key| match key.applies {
                Applies::Client {
                    builtin,
                    program: for_program,
                    ..
                } => {
                    if program {
                        for_program
                    } else {
                        builtin
                    }
                }
                _ => false,
            })
            .collect()
    };
    let (builtin_keys, program_keys) = (of(false), of(true));
    let mut builtin = closed(key_schemas(&builtin_keys, false), &[]);
    builtin["dependentSchemas"] = json!({"via": {"properties": {"host": false, "port": false}}});
    builtin["description"] = json!(
        "The built-in reconnecting client (the one `tcprun connect` uses); every option has a default."
    );
    let mut program = closed(key_schemas(&program_keys, true), &[]);
    program["description"] = json!(
        "A real client program: `send`/`send_line` write to its stdin, `expect` matches its stdout, `end` closes its stdin, `expect_exit` waits for its exit."
    );
    program["oneOf"] = one_program_key(&program_keys);
    json!({
        "description": "A client: the built-in reconnecting client (a map of its options, or nothing for the defaults), or a program under test (`command:` or `shell:`).",
        "oneOf": [
            {"type": "null", "description": "The built-in client with default options."},
            builtin,
            program,
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_is_pretty_sorted_json_with_a_trailing_newline() {
        let text = render();
        assert!(text.ends_with("}\n") && !text.ends_with("\n\n"));
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed, scenario_schema());
        assert_eq!(parsed["$schema"], DIALECT);
        assert_eq!(parsed["$id"], ID);
    }
}
