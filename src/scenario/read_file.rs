//! Turns a whole scenario file into a validated `Scenario`: parses it and reads its top level.

use super::diagnostic::{Diagnostic, LoadError, describe, sentence_case};
use super::keys;
use super::limits::{self, MAX_FILE_BYTES};
use super::read_server::SERVER_HINT;
use super::reader::{Lines, Reader};
use super::registry;
use super::types::Scenario;
use super::yaml::{self, Node, Pos};
use std::path::Path;

use crate::vars::Given;

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
        let secret_env = top
            .get("env")
            .map(|node| self.env_uses(node))
            .unwrap_or_default();
        let server = match (top.key("server"), top.get("server")) {
            (Some(key), Some(value)) => self.server(key, value),
            _ => {
                let message = "missing `server:`; every scenario needs a server";
                self.error_at(root.start, root.start, message, Some(SERVER_HINT.into()));
                None
            }
        };
        let proxies = self.proxies(&top);
        let clients = self.clients(&top);
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
            proxies: proxies?,
            steps,
            secret_env,
            uses_tmp: self.source().contains("{tmp}"),
        })
    }

    /// Reads the top-level `env:`: the environment variables the scenario
    /// reads, each with `{secret: true|false}`; returns the secret ones.
    fn env_uses(&mut self, node: &Node) -> Vec<String> {
        let mut secrets = Vec::new();
        if node.is_null() {
            return secrets;
        }
        let Some(entries) = node.entries() else {
            let message = format!(
                "expected a map of environment variable names to options for `env`, found {}",
                describe(node)
            );
            self.error(node, message, Some(ENV_USE_EXAMPLE.into()));
            return secrets;
        };
        for (key, value) in entries {
            let Some(name) = key.scalar().filter(|n| !n.is_empty() && !n.contains('=')) else {
                let message = format!(
                    "expected an environment variable name, found {}",
                    describe(key)
                );
                self.error(key, message, None);
                continue;
            };
            if value.scalar().is_some() && !value.is_null() {
                let message = format!(
                    "expected options such as `{{secret: true}}` for `{name}` in the top-level `env`, found {}",
                    describe(value)
                );
                let hint = "the top-level `env:` says how tcprun treats variables it reads as `${env.NAME}`; a program's own environment goes under `server:` or `client:` (`env: {NAME: value}`)";
                self.error(value, message, Some(hint.into()));
                continue;
            }
            let Some(options) = self.fields(value, &["secret"], &format!("`env.{name}`"), |_| None)
            else {
                continue;
            };
            if let Some(secret) = options
                .get("secret")
                .and_then(|n| self.boolean(n, "`secret`"))
                && secret
            {
                secrets.push(name.to_owned());
            }
        }
        secrets
    }
}

/// Shows how the top-level `env:` is written, for hints.
const ENV_USE_EXAMPLE: &str = "for example `env: {API_TOKEN: {secret: true}}`";

fn placed_at_top(key: &str) -> Option<String> {
    let is = |table: &[keys::Key]| table.iter().any(|k| k.name == key);
    let (client, server) = (is(keys::CLIENT), is(keys::SERVER));
    if key == "rules" {
        // The file `tcprun serve --rules` reads, found by a folder run.
        Some("this looks like a rules file for `tcprun serve --rules FILE`, not a scenario (a folder run reads every .yaml file below it: keep rules files elsewhere); in a scenario, `rules:` goes under `server:` with `fake: rules`".to_owned())
    } else if client && server {
        Some(format!("`{key}` goes under `server:` or `client:`"))
    } else if client {
        Some(format!("`{key}` goes under `client:`"))
    } else if server {
        Some(format!("`{key}` goes under `server:`"))
    } else if is(keys::PROXY) {
        Some(format!("`{key}` goes under `proxy:`"))
    } else if registry::find(key).is_some() {
        Some(format!("`{key}` is a step; steps go in the `steps:` list"))
    } else {
        None
    }
}

/// Reads the text of the scenario file at `path`. Only a regular file is
/// read (a FIFO would block forever, `/dev/zero` would never end), at most
/// [`MAX_FILE_BYTES`] of it, and it must be UTF-8: a bad byte is reported at
/// its line and column.
pub(crate) fn read_source(path: &Path) -> Result<String, LoadError> {
    use std::io::Read as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let cannot = |reason: String| -> LoadError {
        Diagnostic::whole_file(path, format!("cannot read {}: {reason}", path.display())).into()
    };
    let io = |error: std::io::Error| cannot(sentence_case(&error.to_string()));
    // Non-blocking, so that opening a FIFO does not wait for a writer.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(path)
        .map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(cannot(format!(
            "it is {}, not a regular file; a scenario is a YAML file",
            file_kind(&meta.file_type())
        )));
    }
    let too_large = || {
        cannot(format!(
            "the file is too large: {} bytes (scenario files are at most {})",
            meta.len(),
            limits::bytes(MAX_FILE_BYTES)
        ))
    };
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large());
    }
    text(path, bytes)
}

/// Returns the bytes of the file at `path` as text: at most
/// [`MAX_FILE_BYTES`], in UTF-8 (a bad byte is reported where it is).
pub(crate) fn text(path: &Path, bytes: Vec<u8>) -> Result<String, LoadError> {
    if bytes.len() as u64 > MAX_FILE_BYTES {
        let message = format!(
            "cannot read {}: the file is too large: {} bytes (scenario files are at most {})",
            path.display(),
            bytes.len(),
            limits::bytes(MAX_FILE_BYTES)
        );
        return Err(Diagnostic::whole_file(path, message).into());
    }
    String::from_utf8(bytes).map_err(|error| not_utf8(path, error).into())
}

/// Names a kind of file that is not a regular file, for messages.
fn file_kind(kind: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    if kind.is_dir() {
        "a folder"
    } else if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

/// Describes a file that is not UTF-8, at the line and column of its first bad byte.
fn not_utf8(path: &Path, error: std::string::FromUtf8Error) -> Diagnostic {
    let bytes = error.as_bytes();
    let utf8 = error.utf8_error();
    let at = utf8.valid_up_to();
    // The text before the bad byte is UTF-8: its lines give the position.
    let before = std::str::from_utf8(&bytes[..at]).unwrap_or_default();
    let lines = Lines::new(before);
    let line = lines.count();
    let col = lines.line(line).chars().count() + 1;
    let line_start = at - lines.line(line).len();
    let line_end = memchr::memchr2(b'\n', b'\r', &bytes[at..]).map_or(bytes.len(), |n| at + n);
    let text = String::from_utf8_lossy(&bytes[line_start..line_end]);
    let message = match utf8.error_len() {
        Some(len) => {
            let shown: Vec<String> = bytes[at..at + len]
                .iter()
                .map(|b| format!("0x{b:02x}"))
                .collect();
            format!(
                "the file is not UTF-8 text: invalid byte {}",
                shown.join(" ")
            )
        }
        None => "the file is not UTF-8 text: it ends in the middle of a character".to_owned(),
    };
    let hint = "scenario files are UTF-8; convert the file, e.g. `iconv -f latin1 -t utf-8`";
    Reader::new(path, &text).single(Pos { line: 1, col }, line, message, Some(hint.into()))
}

/// Loads a scenario from `source`, as read from `path`.
pub(crate) fn load(
    path: &Path,
    source: &str,
    given: Option<&Given>,
) -> Result<Scenario, LoadError> {
    let parsed = yaml::parse(source);
    let mut loader = Reader::new(path, source);
    loader.given = given;
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
            let message = "the file is empty; a scenario needs `server:` and `steps:`";
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
    use crate::scenario::types::{
        Backoff, ClientSpec, FakeKind, FakeServerSpec, LineEnding, ServerSpec, Step,
    };

    fn load_test(source: &str) -> Result<Scenario, LoadError> {
        load(Path::new("scenarios/test.yaml"), source, None)
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
  line_ending: crlf
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
                framing: None,
                rules: None,
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
                receive_buffer: None,
                start: true,
                backoff: Backoff::Exponential,
                max_interval: Duration::from_secs(60),
                encoding: Encoding::Latin1,
                quit_word: "bye".into(),
                line_ending: LineEnding::Crlf,
                command: None,
                framing: None,
                via: None,
            }]
        );
        let step = &scenario.steps[1];
        assert_eq!(
            (step.line, step.col, step.text.as_str()),
            (26, 5, "send_line: hello")
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
        let scenario = load(Path::new("dir/reconnect.yaml"), MINIMAL, None).unwrap();
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
                framing: None,
                rules: None,
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
                receive_buffer: None,
                start: true,
                backoff: Backoff::Fixed,
                max_interval: Duration::from_secs(30),
                encoding: Encoding::Utf8,
                quit_word: "quit".into(),
                line_ending: LineEnding::Lf,
                command: None,
                framing: None,
                via: None,
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
        let (_, _, _, hint) = only_error(&format!("rules: []\n{MINIMAL}"));
        assert!(
            hint.unwrap()
                .starts_with("this looks like a rules file for `tcprun serve --rules FILE`")
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
        // No `client:`: one built-in client named `client`, with the defaults.
        let scenario = ok("server: {fake: echo}\nsteps: [wait_connected]\n");
        assert_eq!(
            scenario.clients,
            [crate::scenario::read_client::default_client("client")]
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
                "the file is empty; a scenario needs `server:` and `steps:`"
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
        let error = load(Path::new("scenarios/bad.yaml"), source, None).unwrap_err();
        insta::assert_snapshot!(error.to_string(), @r"
        scenarios/bad.yaml:7:5: error: unknown step `kil_server`
          |
        7 |   - kil_server
          |     ^^^^^^^^^^
          = hint: did you mean `kill_server`?
        ");
        let source = "server: {fake: echo}\nclients:\n  alice: {}\n  bob: {}\nsteps:\n  - send_line: hello\n  - expect: {regex: \"(hi\", client: alice, timeout: 1}\n";
        let error = load(Path::new("two.yaml"), source, None).unwrap_err();
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

    #[test]
    fn errors_at_the_end_of_input_point_at_the_last_line() {
        let (line, col, message, _) =
            only_error("server: {fake: echo}\nclient: {}\nsteps: [wait_connected\n\n\n");
        assert_eq!((line, col), (3, 23));
        assert!(message.starts_with("invalid YAML: "), "{message}");
    }

    #[test]
    fn bare_cr_line_breaks_show_the_right_line() {
        let source = "server: {fake: echo}\rclient: {}\rsteps:\r  - kil_server\r";
        let error = load(Path::new("cr.yaml"), source, None).unwrap_err();
        insta::assert_snapshot!(error.to_string(), @r"
        cr.yaml:4:5: error: unknown step `kil_server`
          |
        4 |   - kil_server
          |     ^^^^^^^^^^
          = hint: did you mean `kill_server`?
        ");
    }

    #[test]
    fn an_error_on_a_10_mib_line_shows_only_the_part_around_it() {
        let line = format!(
            "steps: [send: \"{}\", kil_server, send: y]",
            "A".repeat(10 << 20)
        );
        let col = line.find("kil_server").unwrap() + 1;
        let source = format!("server: {{fake: echo}}\nclient: {{}}\n{line}\n");
        let error = load_test(&source).unwrap_err();
        let text = error.to_string();
        assert!(text.len() < 1000, "{} bytes of error", text.len());
        assert!(
            text.starts_with(&format!(
                "scenarios/test.yaml:3:{col}: error: unknown step `kil_server`\n  |\n3 | …"
            )),
            "{text}"
        );
        assert!(text.contains("AAA\", kil_server, send: y]"), "{text}");
        let caret = text.lines().nth(3).unwrap();
        let shown = text.lines().nth(2).unwrap();
        let word = shown[..shown.find("kil_").unwrap()].chars().count();
        assert_eq!(caret.chars().position(|c| c == '^'), Some(word));
    }

    #[test]
    fn a_flow_list_of_100000_steps_on_one_line_loads_in_linear_time() {
        // Positions are found without scanning the line from its start, so
        // this takes as long as 100,000 steps on their own lines.
        let steps = vec!["send: x"; 100_000].join(", ");
        let scenario = ok(&format!(
            "server: {{fake: echo}}\nclient: {{}}\nsteps: [{steps}]\n"
        ));
        assert_eq!(scenario.steps.len(), 100_000);
        let last = scenario.steps.last().unwrap();
        assert_eq!(
            (last.line, last.col, last.text.as_str()),
            (3, 9 + 9 * 99_999, "send: x")
        );
    }

    #[test]
    fn durations_have_a_maximum() {
        for (key, source) in [
            ("sleep", "steps: [sleep: 300000000000y]"),
            ("timeout", "timeout: 400days\nsteps: [wait_connected]"),
            (
                "timeout",
                "defaults: {timeout: 1000000000000000000000000y}\nsteps: [wait_connected]",
            ),
            (
                "timeout",
                "steps: [expect: {regex: x, timeout: 500000000000y}]",
            ),
        ] {
            let (_, _, message, hint) =
                only_error(&format!("server: {{fake: echo}}\nclient: {{}}\n{source}\n"));
            assert!(
                message.starts_with(&format!(
                    "`{key}` is too long: durations are at most 365 days, found `"
                )),
                "{message}"
            );
            assert!(
                hint.unwrap()
                    .starts_with("write a duration of at most 365 days")
            );
        }
        for key in ["ready_timeout", "stop_timeout"] {
            let (_, _, message, _) = only_error(&format!(
                "server: {{command: [x], {key}: 3000000000000y}}\nclient: {{}}\nsteps: [wait_connected]\n"
            ));
            assert!(
                message.starts_with(&format!("`{key}` is too long")),
                "{message}"
            );
        }
        let (_, _, message, _) = only_error(
            "server: {fake: echo}\nclient: {retry_interval: 366days}\nsteps: [wait_connected]\n",
        );
        assert!(
            message.starts_with("`retry_interval` is too long"),
            "{message}"
        );
        ok("timeout: 365days\nserver: {fake: echo}\nclient: {}\nsteps: [sleep: 8760h]\n");
    }

    #[test]
    fn regexes_are_bounded_in_length_and_compiled_size() {
        let steps = |body: &str| format!("server: {{fake: echo}}\nclient: {{}}\nsteps:\n{body}");
        let (line, col, message, _) =
            only_error(&steps(&format!("  - expect: \"{}\"\n", "a".repeat(40_000))));
        assert_eq!((line, col), (4, 13));
        assert_eq!(
            message,
            "the regex is too long: 40000 bytes (a regex is at most 32 KiB)"
        );
        let (_, _, message, hint) = only_error(&steps("  - expect: \"x{200000}\"\n"));
        assert_eq!(
            message,
            "the regex is too large: compiled, it exceeds the limit of 2 MiB"
        );
        assert!(hint.unwrap().contains("x{200000}"));
        // Alias one large regex into 300 steps: compiled once, an error at each.
        let mut body = String::from("  - expect: &r \"x{200000}\"\n");
        body.push_str(&"  - expect: *r\n".repeat(300));
        assert_eq!(
            load_test(&steps(&body)).unwrap_err().diagnostics().len(),
            20
        );
        // Many distinct regexes that fit one by one spend the file's budget.
        let body: String = (0..200)
            .map(|i| format!("  - expect: \"x{{40000}}{i}\"\n"))
            .collect();
        let all = errors(&steps(&body));
        assert_eq!(
            all[0].2,
            "the regexes of this file are too large together: compiled, they exceed 64 MiB"
        );
        assert!(all[0].0 > 40, "{all:?}");
    }

    #[test]
    fn identical_regexes_share_one_compiled_form() {
        let scenario = ok(
            "server: {fake: echo}\nclient: {}\nsteps:\n  - expect: &r \"^a+$\"\n  - expect: *r\n  - expect: \"^a+$\"\n",
        );
        let matchers: Vec<&std::sync::Arc<crate::matcher::Matcher>> = scenario
            .steps
            .iter()
            .map(|step| match &step.value {
                Step::Expect { pattern, .. } => &pattern.matcher,
                other => panic!("not an expect: {other:?}"),
            })
            .collect();
        assert_eq!(matchers.len(), 3);
        assert!(
            matchers
                .iter()
                .all(|m| std::sync::Arc::ptr_eq(m, matchers[0])),
            "one compiled form, shared"
        );
    }

    #[test]
    fn only_regular_files_of_bounded_size_in_utf8_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo.yaml");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let message = |path: &Path| read_source(path).unwrap_err().to_string();
        assert_eq!(
            message(&fifo),
            format!(
                "error: cannot read {}: it is a FIFO (named pipe), not a regular file; a scenario is a YAML file",
                fifo.display()
            )
        );
        assert_eq!(
            message(Path::new("/dev/zero")),
            "error: cannot read /dev/zero: it is a character device, not a regular file; a scenario is a YAML file"
        );
        let big = dir.path().join("big.yaml");
        let file = std::fs::File::create(&big).unwrap();
        file.set_len(MAX_FILE_BYTES + 1).unwrap();
        assert_eq!(
            message(&big),
            format!(
                "error: cannot read {}: the file is too large: 134217729 bytes (scenario files are at most 128 MiB)",
                big.display()
            )
        );
        let latin1 = dir.path().join("latin1.yaml");
        std::fs::write(
            &latin1,
            b"server: {fake: echo}\r\nclient: {}\nsteps:\n  - send: \"caf\xe9 au lait\"\n",
        )
        .unwrap();
        let error = read_source(&latin1).unwrap_err();
        let diagnostic = &error.diagnostics()[0];
        assert_eq!((diagnostic.line, diagnostic.col), (4, 15));
        let text = error.to_string();
        assert_eq!(
            text.lines().collect::<Vec<_>>()[..4],
            [
                format!(
                    "{}:4:15: error: the file is not UTF-8 text: invalid byte 0xe9",
                    latin1.display()
                )
                .as_str(),
                "  |",
                "4 |   - send: \"caf\u{fffd} au lait\"",
                "  |               ^",
            ]
        );
        std::fs::write(&latin1, b"name: caf\xc3").unwrap();
        let error = read_source(&latin1).unwrap_err();
        assert_eq!(
            (error.diagnostics()[0].line, error.diagnostics()[0].col),
            (1, 10)
        );
        assert!(
            error
                .to_string()
                .contains("it ends in the middle of a character")
        );
    }

    #[test]
    fn mutated_bytes_give_located_or_whole_file_errors() {
        // The shapes of the fuzz seeds (fuzz/seeds/loader), small.
        let mut nested = format!("a: &a [\"{}\"]\n", "x".repeat(1000));
        for (name, prev) in ["b", "c", "d", "e", "f", "g"]
            .iter()
            .zip(["a", "b", "c", "d", "e", "f"])
        {
            nested.push_str(&format!(
                "{name}: &{name} [{}]\n",
                vec![format!("*{prev}"); 10].join(", ")
            ));
        }
        let samples = [
            MINIMAL.to_owned(),
            nested,
            format!("{MINIMAL}  - expect: &r \"x{{200000}}\"\n  - expect: *r\n")
                .replace("[wait_connected]\n", "\n"),
            format!(
                "server: {{fake: echo}}\rclient: {{}}\rsteps: [{}]\r",
                vec!["send: x"; 200].join(", ")
            ),
            "timeout: 365days\nserver: {fake: echo}\nclient: {}\nsteps: [sleep: 300000000000y]\n"
                .to_owned(),
        ];
        let alphabet = b"-:{}[],&*!|>'\"#%@` \t\n\r\\a0~?\xc3\xa9\xff\xfe\x80";
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for sample in &samples {
            for _ in 0..400 {
                let mut bytes = sample.as_bytes().to_vec();
                for _ in 0..1 + next(&mut state) % 6 {
                    let at = (next(&mut state) as usize) % (bytes.len() + 1);
                    let byte = alphabet[(next(&mut state) as usize) % alphabet.len()];
                    match next(&mut state) % 3 {
                        0 => bytes.insert(at, byte),
                        1 if at < bytes.len() => bytes[at] = byte,
                        _ if at < bytes.len() => drop(bytes.remove(at)),
                        _ => {}
                    }
                }
                let lines = bytes.split(|&b| b == b'\n' || b == b'\r').count();
                let Err(error) = crate::scenario::load_bytes(Path::new("m.yaml"), bytes) else {
                    continue;
                };
                assert!(!error.diagnostics().is_empty());
                for d in error.diagnostics() {
                    let whole_file = d.line == 0 && d.col == 0;
                    let located = (1..=lines).contains(&d.line) && d.col >= 1 && d.width >= 1;
                    assert!(whole_file || located, "{d:?}");
                }
                assert!(error.to_string().len() < 64 * 1024);
            }
        }
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
