//! Checks the JSON Schema of scenario files: the committed copy is current, it
//! names every step, the example scenarios pass it, broken fixtures fail it,
//! and it agrees with the loader on every form of every step and key.

use std::path::Path;

use jsonschema::Validator;
use serde_json::Value;
use tcprun::scenario::{Step, load_str};

use crate::support::{root, yaml_files};

/// Where the schema is committed, relative to the repository root.
const COMMITTED: &str = "schema/scenario.schema.json";

/// The command that rewrites the committed schema.
const REGENERATE: &str = "cargo run -- schema > schema/scenario.schema.json";

fn committed_text() -> String {
    let path = root().join(COMMITTED);
    std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!(
            "cannot read {}: {error}; generate it with `{REGENERATE}`",
            path.display()
        )
    })
}

fn validator() -> Validator {
    jsonschema::draft202012::new(&tcprun::schema::scenario_schema())
        .unwrap_or_else(|error| panic!("the schema does not compile: {error}"))
}

/// Reads YAML into a JSON value, as an editor's language server sees it.
fn to_json(source: &str) -> Result<Value, String> {
    serde_yaml::from_str(source).map_err(|error| error.to_string())
}

/// Returns the schema's complaints about a document, one per line.
fn complaints(validator: &Validator, document: &Value) -> Vec<String> {
    validator
        .iter_errors(document)
        .map(|error| format!("at `{}`: {error}", error.instance_path()))
        .collect()
}

fn file_name(path: &Path) -> &str {
    path.file_name()
        .and_then(|n| n.to_str())
        .expect("a UTF-8 name")
}

#[test]
fn committed_schema_is_current() {
    let committed = committed_text();
    let rendered = tcprun::schema::render();
    if committed != rendered {
        let line = committed
            .lines()
            .zip(rendered.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(rendered.lines().count()))
            + 1;
        panic!(
            "{COMMITTED} is out of date (first difference on line {line}); regenerate it with `{REGENERATE}`"
        );
    }
}

#[test]
fn schema_is_valid_draft_2020_12() {
    let schema: Value =
        serde_json::from_str(&committed_text()).expect("the committed schema is JSON");
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert!(schema["$id"].is_string() && schema["title"].is_string());
    if let Err(error) = jsonschema::meta::validate(&schema) {
        panic!("the schema is not a valid JSON Schema: {error}");
    }
}

#[test]
fn every_property_has_a_description() {
    fn walk(schema: &Value, path: &str, missing: &mut Vec<String>) {
        match schema {
            Value::Object(map) => {
                if let Some(Value::Object(properties)) = map.get("properties") {
                    // Conditions and forbidden keys only restrict what is described elsewhere.
                    let conditional = ["/allOf/", "/if", "/then"]
                        .iter()
                        .any(|part| path.contains(part));
                    for (key, property) in properties {
                        if !conditional
                            && property.is_object()
                            && property.get("description").is_none()
                        {
                            missing.push(format!("{path}/properties/{key}"));
                        }
                    }
                }
                for (key, value) in map {
                    walk(value, &format!("{path}/{key}"), missing);
                }
            }
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    walk(item, &format!("{path}/{index}"), missing);
                }
            }
            _ => {}
        }
    }
    let mut missing = Vec::new();
    walk(&tcprun::schema::scenario_schema(), "#", &mut missing);
    assert!(
        missing.is_empty(),
        "properties without a description:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_step_is_in_the_schema() {
    let schema: Value =
        serde_json::from_str(&committed_text()).expect("the committed schema is JSON");
    let forms = schema["$defs"]["step"]["oneOf"]
        .as_array()
        .expect("`$defs/step` is a oneOf");
    let mut with_argument = Vec::new();
    let mut bare = Vec::new();
    for form in forms {
        if let Some(names) = form["enum"].as_array() {
            bare.extend(names.iter().map(|n| n.as_str().expect("a step name")));
        }
        if let Some(properties) = form["properties"].as_object() {
            assert_eq!(properties.len(), 1, "a step map has one key: {form}");
            assert_eq!(form["additionalProperties"], false, "{form}");
            with_argument.extend(properties.keys().map(String::as_str));
        }
    }
    for name in Step::names() {
        assert!(
            with_argument.contains(&name),
            "step `{name}` is missing from the schema; regenerate it with `{REGENERATE}`"
        );
    }
    for name in &bare {
        assert!(
            Step::names().contains(name),
            "the schema has an unknown bare step `{name}`"
        );
    }
    assert_eq!(with_argument.len(), Step::names().len());
    assert!(bare.contains(&"kill_server") && !bare.contains(&"send"));
}

#[test]
fn scenarios_and_failing_fixtures_pass_the_schema() {
    let validator = validator();
    let mut failures = Vec::new();
    for path in yaml_files("scenarios")
        .into_iter()
        .chain(yaml_files("fixtures/failing"))
    {
        let source = std::fs::read_to_string(&path).expect("readable scenario");
        let document = to_json(&source).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for complaint in complaints(&validator, &document) {
            failures.push(format!("{}: {complaint}", path.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "valid scenarios rejected:\n{}",
        failures.join("\n")
    );
}

#[test]
fn invalid_fixtures_with_structural_errors_fail_the_schema() {
    // Every file in fixtures/invalid/, and whether the schema can see what is wrong.
    let expected: &[(&str, bool, &str)] = &[
        (
            "bad-signal.yaml",
            true,
            "unknown signal, a signal as a number, code and signal together",
        ),
        (
            "bad-values.yaml",
            true,
            "unknown fake and encoding, a duration without a unit, bad hex and base64, retry 0",
        ),
        (
            "command-client-retry.yaml",
            true,
            "built-in options and steps for a client program",
        ),
        (
            "external-server-steps.yaml",
            true,
            "a server step against a server already running",
        ),
        ("missing-server.yaml", true, "no `server:`"),
        (
            "program-and-fake.yaml",
            true,
            "`fake:` and `shell:` together",
        ),
        (
            "program-server-steps.yaml",
            true,
            "`banner:` and connection steps for a server program",
        ),
        (
            "syntax-error.yaml",
            false,
            "not YAML at all: nothing for a schema to see",
        ),
        ("unknown-key.yaml", true, "a misspelt client option"),
        ("unknown-step.yaml", true, "a misspelt step"),
        (
            "which-client.yaml",
            true,
            "two clients and a step that names neither",
        ),
    ];
    let found: Vec<String> = yaml_files("fixtures/invalid")
        .iter()
        .map(|p| file_name(p).to_owned())
        .collect();
    let listed: Vec<String> = expected
        .iter()
        .map(|(name, ..)| (*name).to_owned())
        .collect();
    assert_eq!(
        found, listed,
        "list every invalid fixture here, and say whether the schema sees its error"
    );
    let validator = validator();
    for (name, structural, why) in expected {
        let path = root().join("fixtures/invalid").join(name);
        let source = std::fs::read_to_string(&path).expect("readable fixture");
        assert!(
            load_str(&path, &source).is_err(),
            "{name} loads, but it is an invalid fixture"
        );
        match to_json(&source) {
            Ok(document) if *structural => assert!(
                !validator.is_valid(&document),
                "{name} passes the schema, but it has structural errors ({why})"
            ),
            Ok(_) => {}
            Err(error) => assert!(!structural, "{name} is not YAML: {error}"),
        }
    }
}

/// A scenario head (server and clients) for step samples; `{c}` in a sample becomes `client`.
struct Head {
    yaml: &'static str,
    client: &'static str,
    /// The schema can tell every loader error of the samples under this head.
    exact: bool,
}

const HEADS: &[Head] = &[
    Head {
        yaml: "server: {fake: echo}\nclient: {}\n",
        client: "client",
        exact: true,
    },
    Head {
        yaml: "server: {fake: chat}\nclient: {command: [cli]}\n",
        client: "client",
        exact: true,
    },
    Head {
        yaml: "server: {command: [srv]}\nclient: {command: [cli]}\n",
        client: "client",
        exact: true,
    },
    Head {
        yaml: "server: {shell: srv}\nclient: {retry_interval: 1s}\n",
        client: "client",
        exact: true,
    },
    Head {
        yaml: "server: {address: \"127.0.0.1:6379\"}\nclient:\n",
        client: "client",
        exact: true,
    },
    Head {
        yaml: "server: {address: \"[::1]:6379\"}\nclient: {shell: cli}\n",
        client: "client",
        exact: true,
    },
    Head {
        yaml: "server: {fake: sink}\nclients: {solo: {shell: cli}}\n",
        client: "solo",
        exact: true,
    },
    Head {
        yaml: "server: {command: [srv]}\nclients: {solo: {}}\n",
        client: "solo",
        exact: true,
    },
    Head {
        yaml: "server: {fake: echo}\nproxy: {}\nclient: {via: proxy}\n",
        client: "client",
        exact: true,
    },
    Head {
        yaml: "server: {command: [srv]}\nproxy: {seed: 7}\nclient: {command: [cli]}\n",
        client: "client",
        exact: true,
    },
    // With several proxies the schema cannot tell which names are declared.
    Head {
        yaml: "server: {fake: echo}\nproxies: {proxy: {}, db: {upstream: \"127.0.0.1:9\"}}\nclients: {solo: {via: db}}\n",
        client: "solo",
        exact: false,
    },
    // With several clients the schema cannot tell which kind of client a name stands for.
    Head {
        yaml: "server: {fake: chat}\nclients: {alice: {}, bob: {}}\n",
        client: "alice",
        exact: false,
    },
    Head {
        yaml: "server: {command: [srv]}\nclients: {alice: {command: [a]}, bob: {}}\n",
        client: "alice",
        exact: false,
    },
];

/// Arguments of steps, besides the forms every step is tried in.
const STEP_SAMPLES: &[&str] = &[
    "send: {text: x, chunks: 2, gap: 1ms}",
    "send: {text: x, chunks: 2}",
    "send: {text: x, gap: 1ms}",
    "send: {text: x, chunks: 0}",
    "send_line: {random: 1KiB, chunks: 100, gap: 0s}",
    "end: {text: x, chunks: 1}",
    "send: {repeat: x, times: 3}",
    "send: {repeat: x}",
    "send: {repeat: x, times: -1}",
    "send: {random: 1KiB, seed: 3}",
    "send: {random: 1KiB}",
    "send: {random: 0}",
    "send: {random: 1KB}",
    "send: {text: x, times: 3}",
    "send: {hex: 00, seed: 3}",
    "send_line: {random: 16, repeat: x, times: 2}",
    "server_send: {repeat: \"y\\n\", times: 2}",
    "end: {random: 4KiB, seed: 1}",
    "send: hi",
    "send: 42",
    "send: \"\"",
    "send: [hi]",
    "send: {text: hi}",
    "send: {text: hi, client: {c}}",
    "send: {hex: \"48 69\"}",
    "send: {hex: abc}",
    "send: {base64: aGk=}",
    "send: {base64: \"!!\"}",
    "send: {text: hi, hex: \"00\"}",
    "send: {hex: \"00\", encoding: utf8}",
    "send: {text: \"é\", encoding: latin1}",
    "send: {text: hi, encoding: hex}",
    "send: {text: hi, encoding: UTF-8}",
    "send: {text: hi, encoding: utf16}",
    "send: {text: hi, connection: 1}",
    "send_line: {text: hi, client: {c}}",
    "send_line: {base64: SGk, client: {c}}",
    "end: bye",
    "end: {client: {c}}",
    "end: {hex: \"0a\", client: {c}}",
    "server_send: {text: hi, connection: 1}",
    "server_send: {text: hi, connection: {c}}",
    "server_send: {text: hi, connection: \"1\"}",
    "server_send: {text: hi, connection: 0}",
    "server_send: {text: hi, client: {c}}",
    "server_send: {connection: 1}",
    "expect: \"^x$\"",
    "expect: 42",
    "expect: {regex: x, timeout: 1s, client: {c}}",
    "expect: {timeout: 1s}",
    "expect: {regex: x, timeout: 5}",
    "expect: {regex: x, connection: 1}",
    "expect_no: {regex: x, timeout: 200ms}",
    "server_expect: {regex: x, connection: 2}",
    "server_expect: {regex: x, client: {c}}",
    "server_expect_no: ERROR",
    "server_expect_no: {regex: x, timeout: 200ms}",
    "server_expect_no: {regex: x, timeout: 200ms, connection: 2}",
    "server_expect_no: {regex: x, connection: {c}}",
    "server_expect_no: {regex: x, client: {c}}",
    "server_expect_no: {timeout: 1s}",
    "server_expect_no: {regex: x, timeout: 5}",
    "wait_connected: 2s",
    "wait_connected: 2",
    "wait_connected: \"2\"",
    "wait_connected: {timeout: 1h 30m}",
    "wait_reconnect: {timeout: 1m, client: {c}}",
    "wait_retry: 2",
    "wait_retry: 0",
    "wait_retry: \"2\"",
    "wait_retry: {retry: 1, timeout: 1s}",
    "wait_retry: {timeout: 1s}",
    "expect_error: ECONNREFUSED",
    "expect_error: econnrefused",
    "expect_error: {code: ETIMEDOUT, timeout: 1s}",
    "expect_gave_up: 3s",
    "expect_closed: fin",
    "expect_closed: reset",
    "expect_closed: rst",
    "expect_closed: any",
    "expect_closed: bogus",
    "expect_closed: 2s",
    "expect_closed: {how: fin, client: {c}}",
    "sleep: 500ms",
    "sleep: 1h 30m",
    "sleep: 3",
    "sleep: {duration: 1s}",
    "kill_server: TERM",
    "kill_server: sigterm",
    "kill_server: 9",
    "kill_server: {signal: usr1}",
    "kill_server: BOGUS",
    "stop_server: now",
    "start_server: {}",
    "server_close: rst",
    "server_close: any",
    "server_close: {how: fin, connection: 1}",
    "server_close: {how: reset, connection: {c}}",
    "server_half_close: {connection: 1}",
    "server_half_close: x",
    "expect_connections: 2",
    "expect_connections: 0",
    "expect_connections: {count: 1, timeout: 1s}",
    "expect_exit: 0",
    "expect_exit: 256",
    "expect_exit: TERM",
    "expect_exit: 2s",
    "expect_exit: {signal: TERM}",
    "expect_exit: {code: 1, signal: TERM}",
    "expect_exit: {code: 0, timeout: 1s, client: {c}}",
    "kill_client: TERM",
    "kill_client: {signal: KILL, client: {c}}",
    "kill_client: 15",
    "send_quit: {client: {c}}",
    "send_quit: now",
    "fault: {latency: 200ms, jitter: 10ms, direction: to_client, name: slow}",
    "fault: {latency: 200}",
    "fault: {latency: 1s, drop: true}",
    "fault: {jitter: 1ms, cut: reset}",
    "fault: {gap: 1s, latency: 1s}",
    "fault: {cut: reset, after_bytes: 64KiB}",
    "fault: {cut: rst}",
    "fault: {cut: half_close, connection: 2, proxy: proxy}",
    "fault: {cut: fin, probability: 2}",
    "fault: {slow_close: 1s, probability: 25%}",
    "fault: {bandwidth: 64KiB/s}",
    "fault: {bandwidth: 64KiB}",
    "fault: {slice: 1, gap: 5ms}",
    "fault: {slice: 0}",
    "fault: {stall: true}",
    "fault: {stall: false}",
    "fault: {drop: true, on: \"^QUIT\"}",
    "fault: {drop: true, after_bytes: 1, on: x}",
    "fault: {drop: true, name: \"a b\"}",
    "fault: {drop: true, client: {c}}",
    "fault: {drop: true, proxy: nope}",
    "fault: latency",
    "expect_fault: slow",
    "expect_fault: {name: slow, connection: 2, timeout: 1s}",
    "expect_fault: {name: slow, connection: {c}}",
    "expect_fault: {connection: 1}",
    "expect_fault: {name: \"a b\"}",
    "clear_fault: slow",
    "clear_fault: {name: slow, proxy: proxy}",
    "clear_fault: {proxy: nope}",
    "proxy_down: refuse",
    "proxy_down: blackhole",
    "proxy_down: {mode: reset, proxy: proxy}",
    "proxy_down: bogus",
    "proxy_up: {proxy: proxy}",
    "proxy_up: now",
    "proxy_expect: \"^SET \"",
    "proxy_expect: {regex: x, direction: to_client, connection: 1, timeout: 1s}",
    "proxy_expect: {regex: x, direction: both}",
    "proxy_expect: {direction: to_server}",
    "kil_server",
    "{send: a, client: {c}}",
    "[send, a]",
    "\"\"",
];

/// Whole scenarios: the server, the clients and the top-level keys, each in good and bad forms.
fn file_samples() -> Vec<String> {
    let servers = [
        "{fake: echo, host: localhost, port: 0, banner: hi, start: false, half_open: true}",
        "{fake: echo, banner: {hex: \"00ff\"}}",
        "{fake: echo, banner: {text: hi, encoding: latin1}}",
        "{fake: echo, banner: {text: hi, hex: \"00\"}}",
        "{fake: echo, banner: {encoding: latin1}}",
        "{fake: echo, banner: }",
        "{fake: echo, banner: {text: hi, client: client}}",
        "{fake: echo, port: 70000}",
        "{fake: echo, port: \"80\"}",
        "{fake: echo, port: -1}",
        "{fake: ecko}",
        "{fake: echo, ready: port}",
        "{fake: echo, output: discard}",
        "{fake: echo, host: \"\"}",
        "{fake: echo, start: \"false\"}",
        "{fake: echo, start: yes}",
        "{fake: echo, stderr: merge}",
        "{command: [srv, --port, \"${port}\", \"\"], ready: port}",
        "{command: [srv], ready: {log: \"^Ready$\"}}",
        "{command: [srv], ready: {port: true}}",
        "{command: [srv], ready: {port: false}}",
        "{command: [srv], ready: {}}",
        "{command: [srv], ready: log}",
        "{command: [srv], ready: prot}",
        "{command: [srv], ready: {port: true, log: x}}",
        "{command: [srv], ready: }",
        "{command: []}",
        "{command: srv}",
        "{command: [\"\", x]}",
        "{command: [srv, [x]]}",
        "{command: [srv, ~]}",
        "{command: [42]}",
        "{shell: \"srv --port ${port}\", env: {A: 1, B: \"\"}, cwd: run, output: transcript, ready_timeout: 1s, stop_timeout: 2s, start: false, host: \"::1\", port: 9000}",
        "{shell: x, env: {A: }}",
        "{shell: x, env: [A]}",
        "{shell: x, env: {\"A=B\": c}}",
        "{shell: x, env: }",
        "{shell: x, output: stdout}",
        "{shell: x, output: inherit}",
        "{shell: x, banner: hi}",
        "{shell: x, half_open: true}",
        "{shell: x, command: [y]}",
        "{shell: [a, b]}",
        "{shell: \" \"}",
        "{shell: x, cwd: \"\"}",
        "{shell: x, ready_timeout: 5}",
        "{shell: x, stderr: merge}",
        "{address: \"127.0.0.1:6379\"}",
        "{address: \"[::1]:80\"}",
        "{address: localhost}",
        "{address: \"h:0\"}",
        "{address: \"h:1\", port: 1}",
        "{address: \"h:1\", fake: echo}",
        "echo",
        "{}",
        "",
    ];
    let clients = [
        "client: {host: h, port: 1, retry_interval: 1s, max_retries: 0, reconnect: false, connect_timeout: 1s, backoff: exponential, max_interval: 5s, encoding: HEX, quit_word: bye}",
        "client: {port: \"${port}\"}",
        "client:\n  port: ${port}",
        "client: {port: 0}",
        "client: {port: 65536}",
        "client: {encoding: utf16}",
        "client: {encoding: utf-8}",
        "client: {backoff: linear}",
        "client: {max_retries: -1}",
        "client: {retry_interval: 3}",
        "client: {quit_word: \"\"}",
        "client: {host: 1}",
        "client: {command: [cli], stderr: merge, env: {X: y}, cwd: ., encoding: latin1, quit_word: QUIT}",
        "client: {command: [cli], stderr: both}",
        "client: {command: [cli], port: 1}",
        "client: {stderr: merge}",
        "client: {command: [x], shell: y}",
        "client: {command: [cli], ready: port}",
        "client:",
        "client: []",
        "client: cli",
        "clients: {alice: {}, bob: {encoding: hex}}",
        "clients: {alice: , bob: {shell: b}}",
        "clients: {solo: {}}",
        "clients: {}",
        "clients: []",
        "clients:",
        "clients: {\"a b\": {}}",
        "clients: {\"9a\": {}}",
        "clients: {alice: {retry_intervall: 1s}}",
        "client: {}\nclients: {a: {}}",
        "",
    ];
    let proxies = [
        "proxy: {upstream: server, seed: 7, dial_timeout: 1s}",
        "proxy: {upstream: \"127.0.0.1:6379\"}",
        "proxy: {upstream: nowhere}",
        "proxy: {latency: 1s}",
        "proxy: {seed: -1}",
        "proxy:",
        "proxy: []",
        "proxies: {a: {}, b: {seed: 1}}",
        "proxies: {server: {}}",
        "proxies: {\"a b\": {}}",
        "proxies: {}",
        "proxy: {}\nproxies: {a: {}}",
    ];
    let tops = [
        "name: hi",
        "name: \"\"",
        "name: 42",
        "timeout: 5",
        "timeout: \"5\"",
        "timeout: \" 2s \"",
        "timeout: 10 seconds",
        "timeout: 1h 30m",
        "defaults: {timeout: 1s}",
        "defaults: {timeout: 1s, x: 1}",
        "defaults:",
        "defaults: 1s",
        "snapshot: true",
        "snapshot: \"true\"",
        "snapshot: yes",
        "unknown: 1",
        "retry_interval: 1s",
        "kill_server: true",
    ];
    let mut samples = Vec::new();
    for server in servers {
        samples.push(format!(
            "server: {server}\nclient: {{}}\nsteps: [sleep: 1s]\n"
        ));
    }
    for clients in clients {
        samples.push(format!(
            "server: {{fake: echo}}\n{clients}\nsteps: [sleep: 1s]\n"
        ));
    }
    for proxy in proxies {
        samples.push(format!(
            "server: {{fake: echo}}\n{proxy}\nclient: {{}}\nsteps: [sleep: 1s]\n"
        ));
    }
    for clients in [
        "client: {via: proxy}",
        "client: {via: proxy, port: 1}",
        "client: {via: nope}",
        "client: {command: [cli], via: proxy}",
        "clients: {proxy: {}}",
        "clients: {a: {via: proxy}, b: {}}",
    ] {
        for proxy in ["proxy: {}\n", ""] {
            samples.push(format!(
                "server: {{fake: echo}}\n{proxy}{clients}\nsteps: [sleep: 1s]\n"
            ));
        }
    }
    for top in tops {
        samples.push(format!(
            "{top}\nserver: {{fake: echo}}\nclient: {{}}\nsteps: [sleep: 1s]\n"
        ));
    }
    let steps = [
        "steps: []",
        "steps:",
        "steps: {sleep: 1s}",
        "steps: sleep",
        "steps:\n  -\n",
        "steps: [{}]",
        "steps: [{send: {text: a, client: nobody}}]",
        "steps: [{server_send: {text: a, connection: nobody}}]",
        "steps: [{server_send: {text: a, connection: client}}]",
        "",
    ];
    for steps in steps {
        samples.push(format!("server: {{fake: echo}}\nclient: {{}}\n{steps}\n"));
    }
    let several = "server: {fake: chat}\nclients: {a: {}, b: {command: [b]}}\nsteps:\n";
    for step in [
        "send: hi",
        "send: {text: hi, client: a}",
        "send: {text: hi}",
        "wait_connected",
        "wait_connected: 1s",
        "wait_connected: {client: a}",
        "stop_server",
        "server_send: {text: hi, connection: b}",
        "expect_exit: {client: b}",
        "expect_exit: 0",
        "sleep: 1s",
    ] {
        samples.push(format!("{several}  - {step}\n"));
    }
    // A client that joins later.
    for later in [
        "client: {start: false}\nsteps:\n  - connect: client\n",
        "client: {start: false}\nsteps:\n  - connect\n",
        "clients: {a: {}, b: {start: false}}\nsteps:\n  - connect: b\n",
        "clients: {b: {start: true}}\nsteps:\n  - connect: b\n",
    ] {
        samples.push(format!("server: {{fake: echo}}\n{later}"));
    }
    // The loader's own samples (src/scenario/load.rs).
    samples.push(
        r#"name: fuzz
timeout: 10s
defaults: {timeout: 2s}
server: {fake: echo, banner: {hex: "00ff"}, start: false}
clients:
  alice: {retry_interval: 50ms, encoding: latin1}
  bob: {port: "${port}"}
steps:
  - wait_connected: {client: alice}
  - send_line: {text: "héllo", encoding: latin1, client: bob}
  - expect: {regex: "^h.*$", timeout: 1s, client: alice}
  - server_send: {base64: aGk=, connection: 1}
  - &x expect_closed: {how: rst, client: bob}
  - sleep: 1m
"#
        .into(),
    );
    samples.push(
        r#"server:
  command: [srv, --port, "${port}", ""]
  env: {A: 1, B: ""}
  cwd: run
  ready: {log: "^Ready$"}
  output: transcript
clients:
  cli: {shell: "cli -p ${port}", stderr: merge, quit_word: QUIT}
  tcp: {}
steps:
  - kill_server: {signal: SIGTERM}
  - expect_exit: {code: 0, timeout: 1s, client: cli}
  - kill_client: {signal: usr1, client: cli}
  - start_server
"#
        .into(),
    );
    samples
}

/// Compares the loader's verdict with the schema's; `exact` also requires the schema to reject what the loader rejects.
fn compare(validator: &Validator, source: &str, exact: bool, disagreements: &mut Vec<String>) {
    let loaded = load_str(Path::new("scenarios/sample.yaml"), source);
    let Ok(document) = to_json(source) else {
        assert!(
            loaded.is_err(),
            "YAML that the loader reads but serde_yaml does not:\n{source}"
        );
        return;
    };
    let complaints = complaints(validator, &document);
    match (&loaded, complaints.is_empty()) {
        (Ok(_), false) => disagreements.push(format!(
            "the loader accepts, the schema rejects:\n{source}{}\n",
            complaints.join("\n")
        )),
        (Err(error), true) if exact => disagreements.push(format!(
            "the loader rejects, the schema accepts:\n{source}{error}\n"
        )),
        _ => {}
    }
}

#[test]
fn schema_agrees_with_the_loader() {
    let validator = validator();
    let mut disagreements = Vec::new();
    let mut count = 0;
    for head in HEADS {
        let mut samples: Vec<String> = Vec::new();
        for name in Step::names() {
            samples.push(name.to_owned());
            samples.push(format!("{name}:"));
            samples.push(format!("{name}: {{}}"));
            samples.push(format!("{name}: {{client: {{c}}}}"));
            samples.push(format!("{name}: {{connection: 1}}"));
            samples.push(format!("{name}: {{timeout: 1s}}"));
        }
        samples.extend(STEP_SAMPLES.iter().map(|s| (*s).to_owned()));
        for sample in samples {
            let step = sample.replace("{c}", head.client);
            let source = format!("{}steps:\n  - {step}\n", head.yaml);
            compare(&validator, &source, head.exact, &mut disagreements);
            count += 1;
        }
    }
    for source in file_samples() {
        compare(&validator, &source, true, &mut disagreements);
        count += 1;
    }
    assert!(count > 1000, "only {count} samples");
    assert!(
        disagreements.is_empty(),
        "{} of {count} samples disagree:\n\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}
