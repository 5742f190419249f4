//! Turns a whole scenario file into a validated `Scenario`: parses it and reads its top level.

use super::diagnostic::{Diagnostic, LoadError, describe};
use super::keys;
use super::read_server::SERVER_HINT;
use super::reader::Reader;
use super::registry;
use super::types::Scenario;
use super::yaml::{self, Node, Pos};
use std::path::Path;

impl Reader<'_> {
    fn scenario(&mut self, root: &Node) -> Option<Scenario> {
        let top = self.fields(root, &keys::all(keys::TOP), "the scenario", placed_at_top)?;
        let name = top.get("name").and_then(|n| self.word(n, "`name`"));
        let timeout = top
            .get("timeout")
            .and_then(|n| self.duration(n, "`timeout`"));
        let default_timeout = match top.get("defaults") {
            Some(node) => {
                let allowed = keys::all(keys::DEFAULTS_KEYS);
                let defaults = self.fields(node, &allowed, "`defaults`", |_| None);
                defaults.and_then(|d| self.opt_duration(&d, "timeout"))
            }
            None => None,
        };
        let snapshot = top
            .get("snapshot")
            .and_then(|n| self.boolean(n, "`snapshot`"));
        let server = match (top.key("server"), top.get("server")) {
            (Some(key), Some(value)) => self.server(key, value),
            _ => {
                let message = "missing `server:`; every scenario needs a server";
                self.error_at(root.start, root.start, message, Some(SERVER_HINT.into()));
                None
            }
        };
        let clients = self.clients(root, &top);
        let steps = match (top.key("steps"), top.get("steps")) {
            (Some(key), Some(value)) => self.steps(key, value),
            _ => {
                let message = "missing `steps:`; every scenario needs at least one step";
                let hint = "list the steps under `steps:`, one per line, each starting with `- `";
                self.error_at(root.start, root.start, message, Some(hint.into()));
                Vec::new()
            }
        };
        let stem = self
            .file()
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned());
        Some(Scenario {
            path: self.file().to_path_buf(),
            name: name
                .or(stem)
                .unwrap_or_else(|| self.file().display().to_string()),
            timeout: timeout.unwrap_or(keys::TIMEOUT),
            default_timeout: default_timeout.unwrap_or(keys::STEP_TIMEOUT),
            snapshot: snapshot.unwrap_or(false),
            server: server?,
            clients: clients?,
            steps,
        })
    }
}

fn placed_at_top(key: &str) -> Option<String> {
    let is = |table: &[keys::Key]| table.iter().any(|k| k.name == key);
    let (client, server) = (is(keys::CLIENT), is(keys::SERVER));
    if client && server {
        Some(format!("`{key}` goes under `server:` or `client:`"))
    } else if client {
        Some(format!("`{key}` goes under `client:`"))
    } else if server {
        Some(format!("`{key}` goes under `server:`"))
    } else if registry::find(key).is_some() {
        Some(format!("`{key}` is a step; steps go in the `steps:` list"))
    } else {
        None
    }
}

/// Loads a scenario from `source`, as read from `path`.
pub(crate) fn load(path: &Path, source: &str) -> Result<Scenario, LoadError> {
    let parsed = yaml::parse(source);
    let mut loader = Reader::new(path, source);
    for problem in &parsed.problems {
        loader.error_at(
            problem.start,
            problem.end,
            problem.message.clone(),
            problem.hint.clone(),
        );
    }
    let scenario = match &parsed.root {
        Some(root) if root.entries().is_some() => loader.scenario(root),
        Some(root) => {
            let message = format!(
                "expected a map of scenario keys at the top level, found {}",
                describe(root)
            );
            let hint = "a scenario starts with keys such as `server:`, `client:` and `steps:`";
            loader.error(root, message, Some(hint.into()));
            None
        }
        None if parsed.problems.is_empty() => {
            let message = "the file is empty; a scenario needs `server:`, `client:` and `steps:`";
            let at = Pos { line: 1, col: 1 };
            loader.error_at(at, at, message, None);
            None
        }
        None => None,
    };
    let diagnostics = loader.into_diagnostics();
    match scenario {
        Some(scenario) if diagnostics.is_empty() => Ok(scenario),
        _ if diagnostics.is_empty() => Err(Diagnostic::whole_file(
            path,
            "internal error: scenario rejected without a reason",
        )
        .into()),
        _ => Err(LoadError::new(diagnostics)),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;
    use crate::client::encoding::Encoding;
    use crate::scenario::Data;
    use crate::scenario::types::{Backoff, ClientSpec, FakeKind, FakeServerSpec, ServerSpec, Step};

    fn load_test(source: &str) -> Result<Scenario, LoadError> {
        load(Path::new("scenarios/test.yaml"), source)
    }

    fn ok(source: &str) -> Scenario {
        load_test(source).unwrap_or_else(|e| panic!("expected the scenario to load:\n{e}"))
    }

    /// Returns each diagnostic as (line, col, message, hint).
    fn errors(source: &str) -> Vec<(usize, usize, String, Option<String>)> {
        let error = load_test(source).expect_err("expected errors");
        error
            .diagnostics()
            .iter()
            .map(|d| (d.line, d.col, d.message.clone(), d.hint.clone()))
            .collect()
    }

    fn only_error(source: &str) -> (usize, usize, String, Option<String>) {
        let mut all = errors(source);
        assert_eq!(all.len(), 1, "expected one error, got {all:#?}");
        all.remove(0)
    }

    const MINIMAL: &str = "server: {fake: echo}\nclient: {}\nsteps: [wait_connected]\n";

    #[test]
    fn full_example_loads_every_value() {
        let scenario = ok(r#"
name: client reconnects after the server is killed   # optional
timeout: 10s
defaults: {timeout: 2s}
snapshot: true
server:
  fake: chat
  host: 0.0.0.0
  port: 4000
  banner: "welcome\n"
  start: false
client:
  host: localhost
  port: 4001
  retry_interval: 50ms
  max_retries: 3
  reconnect: false
  connect_timeout: 1s
  backoff: exponential
  max_interval: 1m
  encoding: latin1
  quit_word: bye
steps:
  - wait_connected
  - send_line: hello   # greet
"#);
        assert_eq!(scenario.path, PathBuf::from("scenarios/test.yaml"));
        assert_eq!(
            scenario.name,
            "client reconnects after the server is killed"
        );
        assert_eq!(scenario.timeout, Duration::from_secs(10));
        assert_eq!(scenario.default_timeout, Duration::from_secs(2));
        assert!(scenario.snapshot);
        assert_eq!(
            scenario.server,
            ServerSpec::Fake(FakeServerSpec {
                kind: FakeKind::Chat,
                host: "0.0.0.0".into(),
                port: 4000,
                banner: Some(Data::Text {
                    text: "welcome\n".into(),
                    encoding: Encoding::Utf8
                }),
                start: false,
                half_open: false,
            })
        );
        assert_eq!(
            scenario.clients,
            [ClientSpec {
                name: "client".into(),
                host: Some("localhost".into()),
                port: Some(4001),
                retry_interval: Duration::from_millis(50),
                max_retries: 3,
                reconnect: false,
                retry_unresolved: false,
                connect_timeout: Duration::from_secs(1),
                backoff: Backoff::Exponential,
                max_interval: Duration::from_secs(60),
                encoding: Encoding::Latin1,
                quit_word: "bye".into(),
                command: None,
            }]
        );
        let step = &scenario.steps[1];
        assert_eq!(
            (step.line, step.col, step.text.as_str()),
            (25, 5, "send_line: hello")
        );
        assert_eq!(
            scenario.steps[0].value,
            Step::WaitConnected {
                client: None,
                timeout: None
            }
        );
    }

    #[test]
    fn defaults_fill_what_is_left_out() {
        let scenario = load(Path::new("dir/reconnect.yaml"), MINIMAL).unwrap();
        assert_eq!(scenario.name, "reconnect");
        assert_eq!(scenario.timeout, Duration::from_secs(30));
        assert_eq!(scenario.default_timeout, Duration::from_secs(5));
        assert!(!scenario.snapshot);
        assert_eq!(
            scenario.server,
            ServerSpec::Fake(FakeServerSpec {
                kind: FakeKind::Echo,
                host: "127.0.0.1".into(),
                port: 0,
                banner: None,
                start: true,
                half_open: false,
            })
        );
        assert_eq!(
            scenario.clients,
            [ClientSpec {
                name: "client".into(),
                host: None,
                port: None,
                retry_interval: Duration::from_secs(3),
                max_retries: 10,
                reconnect: true,
                retry_unresolved: false,
                connect_timeout: Duration::from_secs(10),
                backoff: Backoff::Fixed,
                max_interval: Duration::from_secs(30),
                encoding: Encoding::Utf8,
                quit_word: "quit".into(),
                command: None,
            }]
        );
        // `client:` with nothing after it, `defaults: {}` and `${port}` are defaults too.
        let scenario = ok(
            "defaults: {}\nserver: {fake: sink}\nclient:\n  port: ${port}\nsteps: [wait_connected]\n",
        );
        assert_eq!(scenario.clients[0].port, None);
        assert_eq!(scenario.default_timeout, Duration::from_secs(5));
        let scenario = ok("server: {fake: silent}\nclient:\nsteps: [wait_connected]\n");
        assert_eq!(scenario.clients[0].max_retries, 10);
    }

    #[test]
    fn reads_external_servers_and_named_clients() {
        let scenario = ok(
            "server: {address: \"127.0.0.1:6379\"}\nclients:\n  bob: {port: 1}\n  alice: {}\nsteps: [{wait_connected: {client: alice}}]\n",
        );
        assert_eq!(
            scenario.server,
            ServerSpec::External {
                host: "127.0.0.1".into(),
                port: 6379
            }
        );
        let names: Vec<&str> = scenario.clients.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["bob", "alice"]);
        let scenario = ok("server: {address: \"[::1]:80\"}\nclient: {}\nsteps: [wait_connected]\n");
        assert_eq!(
            scenario.server,
            ServerSpec::External {
                host: "::1".into(),
                port: 80
            }
        );
        let (line, col, message, _) =
            only_error("server: {address: localhost}\nclient: {}\nsteps: [wait_connected]\n");
        assert_eq!((line, col), (1, 19));
        assert_eq!(
            message,
            "expected `host:port` for `address`, found `localhost`"
        );
    }

    #[test]
    fn unknown_key_suggests_the_closest() {
        let (line, col, message, hint) = only_error(&format!("timout: 3s\n{MINIMAL}"));
        assert_eq!((line, col), (1, 1));
        assert_eq!(message, "unknown key `timout` in the scenario");
        assert_eq!(hint.as_deref(), Some("did you mean `timeout`?"));
        let (_, _, message, hint) = only_error(
            "server: {fake: echo, retry_interval: 1s}\nclient: {}\nsteps: [wait_connected]\n",
        );
        assert_eq!(message, "unknown key `retry_interval` in `server`");
        assert_eq!(
            hint.as_deref(),
            Some("`retry_interval` is a client option; it goes under `client:`")
        );
        let (_, _, _, hint) = only_error(&format!("colour: red\n{MINIMAL}"));
        assert!(
            hint.unwrap()
                .starts_with("valid keys here: `name`, `timeout`")
        );
    }

    #[test]
    fn unknown_fake_kind_and_encoding_suggest_the_closest() {
        let all =
            errors("server: {fake: ecko}\nclient: {encoding: utf9}\nsteps: [wait_connected]\n");
        assert_eq!(
            all,
            [
                (
                    1,
                    16,
                    "unknown fake server `ecko`".into(),
                    Some("did you mean `echo`?".into())
                ),
                (
                    2,
                    20,
                    "unknown encoding `utf9`".into(),
                    Some("did you mean `utf8`?".into())
                ),
            ]
        );
    }

    #[test]
    fn bad_values_point_at_the_value() {
        let all = errors(
            "name: [a, b]\ntimeout: 5\nsnapshot: \"yes\"\nserver: {fake: echo, port: 70000}\nclient: {max_retries: many, port: \"80\"}\nsteps: [wait_connected]\n",
        );
        let found: Vec<(usize, usize, &str)> = all
            .iter()
            .map(|(l, c, m, _)| (*l, *c, m.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (1, 7, "expected text for `name`, found a list"),
                (
                    2,
                    10,
                    "expected a duration for `timeout`, found the number `5` without a unit"
                ),
                (
                    3,
                    11,
                    "expected true or false for `snapshot`, found the string \"yes\""
                ),
                (
                    4,
                    28,
                    "expected a whole number from 0 to 65535 for `port`, found the number `70000`"
                ),
                (
                    5,
                    23,
                    "expected a whole number for `max_retries`, found `many`"
                ),
                (
                    5,
                    35,
                    "expected a whole number from 1 to 65535 for `port`, found the string \"80\""
                ),
            ]
        );
        assert_eq!(
            all[1].3.as_deref(),
            Some("add a unit: `5s` or `5ms` (durations look like 500ms, 3s or 1m)")
        );
        assert_eq!(all[5].3.as_deref(), Some("write the number without quotes"));
        let (_, _, message, _) = only_error(&format!("name: \"\"\n{MINIMAL}"));
        assert_eq!(
            message,
            "expected a non-empty value for `name`, found the string \"\""
        );
        let (_, _, message, _) =
            only_error("server: {fake: echo}\nclient: {}\nsteps:\n  - |\n    kill_server\n");
        assert_eq!(message, "unknown step \"kill_server\\n\"");
        let (_, _, message, hint) = only_error(&MINIMAL.replace("{}", "{retry_interval: soon}"));
        assert_eq!(
            message,
            "expected a duration for `retry_interval`, found `soon`"
        );
        assert_eq!(hint.as_deref(), Some("durations look like 500ms, 3s or 1m"));
    }

    #[test]
    fn missing_sections_are_reported() {
        let (line, col, message, _) = only_error("client: {}\nsteps: [wait_connected]\n");
        assert_eq!((line, col), (1, 1));
        assert_eq!(message, "missing `server:`; every scenario needs a server");
        let (_, _, message, _) = only_error("server: {fake: echo}\nsteps: [wait_connected]\n");
        assert_eq!(
            message,
            "missing `client:`; every scenario needs at least one client"
        );
        let (_, _, message, _) = only_error("server: {fake: echo}\nclient: {}\n");
        assert_eq!(
            message,
            "missing `steps:`; every scenario needs at least one step"
        );
        let (line, col, message, _) = only_error("server: {fake: echo}\nclient: {}\nsteps:\n");
        assert_eq!(
            (line, col, message.as_str()),
            (
                3,
                1,
                "`steps:` is empty; a scenario needs at least one step"
            )
        );
        let (_, _, message, _) =
            only_error("server: {host: x}\nclient: {}\nsteps: [wait_connected]\n");
        assert!(message.starts_with("`server:` needs `fake:`"));
        let (_, _, message, _) =
            only_error("server: {fake: echo}\nclients: {}\nsteps: [wait_connected]\n");
        assert_eq!(
            message,
            "expected a map of client names to options for `clients`, found an empty map"
        );
        let (line, col, message, _) = only_error("# nothing here\n");
        assert_eq!(
            (line, col, message.as_str()),
            (
                1,
                1,
                "the file is empty; a scenario needs `server:`, `client:` and `steps:`"
            )
        );
        let (_, _, message, _) = only_error("- a\n- b\n");
        assert_eq!(
            message,
            "expected a map of scenario keys at the top level, found a list"
        );
    }

    #[test]
    fn client_and_clients_together_is_an_error_at_the_second() {
        let (line, col, message, _) = only_error(
            "server: {fake: echo}\nclients: {a: {}}\nclient: {}\nsteps: [wait_connected]\n",
        );
        assert_eq!((line, col), (3, 1));
        assert_eq!(message, "`client:` and `clients:` cannot both be given");
    }

    #[test]
    fn server_keys_do_not_mix_with_address() {
        let (line, col, message, _) = only_error(
            "server: {address: \"h:1\", fake: echo}\nclient: {}\nsteps: [wait_connected]\n",
        );
        assert_eq!(
            (line, col, message.as_str()),
            (1, 26, "`fake` cannot be combined with `address:`")
        );
        let (_, _, message, hint) =
            only_error("server: echo\nclient: {}\nsteps: [wait_connected]\n");
        assert_eq!(message, "expected a map for `server`, found `echo`");
        assert_eq!(hint.as_deref(), Some("write `server: {fake: echo}`"));
    }

    #[test]
    fn invalid_client_names_are_rejected() {
        let (line, col, message, _) =
            only_error("server: {fake: echo}\nclients: {1: {}}\nsteps: [wait_connected]\n");
        assert_eq!(
            (line, col, message.as_str()),
            (2, 11, "invalid client name `1`")
        );
        // The other clients' options are still checked, each under its own name.
        let found = errors(
            "server: {fake: echo}\nclients:\n  1bad: {}\n  alice: {max_retries: nope}\n  bob: {retry_interval: soon}\nsteps: [wait_connected]\n",
        );
        let at: Vec<(usize, usize)> = found.iter().map(|e| (e.0, e.1)).collect();
        assert_eq!(at, [(3, 3), (4, 24), (5, 25)], "{found:#?}");
    }

    #[test]
    fn yaml_syntax_error_has_its_position() {
        let (line, col, message, _) = only_error("server:\n  fake: echo\n   bad: [\n");
        assert_eq!((line, col), (3, 7));
        assert_eq!(
            message,
            "invalid YAML: mapping values are not allowed in this context"
        );
    }

    #[test]
    fn duplicate_key_is_an_error_at_the_second() {
        let (line, col, message, hint) = only_error(&format!("{MINIMAL}client: {{}}\n"));
        assert_eq!((line, col), (4, 1));
        assert_eq!(message, "duplicate key `client`");
        assert_eq!(
            hint.as_deref(),
            Some("it was first given on line 2; keep only one")
        );
    }

    #[test]
    fn errors_come_in_file_order_and_are_capped() {
        let mut source = String::from("server: {fake: echo}\nclient: {}\nsteps:\n");
        for _ in 0..30 {
            source.push_str("  - sleep: 1\n");
        }
        let error = load_test(&source).unwrap_err();
        assert_eq!(error.diagnostics().len(), 20);
        assert!(
            error
                .to_string()
                .ends_with("\n\nnote: 10 more errors not shown")
        );
        let lines: Vec<usize> = error.diagnostics().iter().map(|d| d.line).collect();
        assert_eq!(lines, (4..24).collect::<Vec<_>>());
    }

    #[test]
    fn renders_full_diagnostics() {
        let source = "server:\n  fake: echo\nclient: {}\nsteps:\n  - wait_connected\n  - send_line: hi\n  - kil_server\n";
        let error = load(Path::new("scenarios/bad.yaml"), source).unwrap_err();
        insta::assert_snapshot!(error.to_string(), @r"
        scenarios/bad.yaml:7:5: error: unknown step `kil_server`
          |
        7 |   - kil_server
          |     ^^^^^^^^^^
          = hint: did you mean `kill_server`?
        ");
        let source = "server: {fake: echo}\nclients:\n  alice: {}\n  bob: {}\nsteps:\n  - send_line: hello\n  - expect: {regex: \"(hi\", client: alice, timeout: 1}\n";
        let error = load(Path::new("two.yaml"), source).unwrap_err();
        insta::assert_snapshot!(error.to_string(), @r#"
        two.yaml:6:5: error: `send_line` must say which client it is for: this scenario has 2 clients
          |
        6 |   - send_line: hello
          |     ^^^^^^^^^^^^^^^^
          = hint: add `client:` (`alice` or `bob`), e.g. `- send_line: {text: hello, client: alice}`

        two.yaml:7:21: error: invalid regex: unclosed group
          |
        7 |   - expect: {regex: "(hi", client: alice, timeout: 1}
          |                     ^^^^^
          = hint: regexes use Rust regex syntax; escape special characters like `(`, `[` or `.` with `\`

        two.yaml:7:52: error: expected a duration for `timeout`, found the number `1` without a unit
          |
        7 |   - expect: {regex: "(hi", client: alice, timeout: 1}
          |                                                    ^
          = hint: add a unit: `1s` or `1ms` (durations look like 500ms, 3s or 1m)
        "#);
    }

    /// Returns a pseudo-random number (xorshift), for the fuzz test.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    fn check_never_panics(source: &str) {
        let Err(error) = load_test(source) else {
            return;
        };
        assert!(!error.diagnostics().is_empty());
        for diagnostic in error.diagnostics() {
            assert!(
                diagnostic.line >= 1 && diagnostic.col >= 1 && diagnostic.width >= 1,
                "{diagnostic:?}"
            );
        }
        let first = error.to_string();
        let first = first.lines().next().unwrap();
        let mut parts = first.splitn(4, ':');
        assert_eq!(parts.next(), Some("scenarios/test.yaml"), "{first}");
        assert!(parts.next().unwrap().parse::<usize>().is_ok(), "{first}");
        assert!(parts.next().unwrap().parse::<usize>().is_ok(), "{first}");
        assert!(parts.next().unwrap().starts_with(" error: "), "{first}");
    }

    #[test]
    fn never_panics_on_mangled_input() {
        let valid = r#"name: fuzz
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
  - |
    literal
"#;
        let programs = r#"server:
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
"#;
        let alphabet: Vec<char> = "-:{}[],&*!|>'\"#%@` \t\n\r\\aé0~?".chars().collect();
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        ok(programs);
        for sample in [valid, programs] {
            let chars: Vec<char> = sample.chars().collect();
            for cut in 0..=chars.len() {
                check_never_panics(&chars[..cut].iter().collect::<String>());
            }
            for _ in 0..3000 {
                let mut mutated = chars.clone();
                for _ in 0..1 + next(&mut state) % 4 {
                    let at = (next(&mut state) as usize) % (mutated.len() + 1);
                    let ch = alphabet[(next(&mut state) as usize) % alphabet.len()];
                    match next(&mut state) % 3 {
                        0 => mutated.insert(at, ch),
                        1 if at < mutated.len() => mutated[at] = ch,
                        _ if at < mutated.len() => drop(mutated.remove(at)),
                        _ => {}
                    }
                }
                check_never_panics(&mutated.iter().collect::<String>());
            }
        }
        for _ in 0..2000 {
            let len = (next(&mut state) % 64) as usize;
            let bytes: Vec<u8> = (0..len).map(|_| next(&mut state) as u8).collect();
            check_never_panics(&String::from_utf8_lossy(&bytes));
            let text: String = (0..len)
                .map(|_| alphabet[(next(&mut state) as usize) % alphabet.len()])
                .collect();
            check_never_panics(&text);
        }
    }
}
