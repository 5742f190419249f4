//! Turns a parsed YAML tree into a validated `Scenario`: the top level, the server and the clients.

use std::path::Path;
use std::time::Duration;

use super::diagnostic::{Diagnostic, LoadError};
use super::loader::{Fields, Loader, ServerKind};
use super::program::{COMMAND_OR_SHELL, OUTPUT_MODES, PROGRAM_KEYS};
use super::types::{
    Backoff, ClientSpec, CommandClientSpec, CommandServerSpec, Data, FakeKind, FakeServerSpec,
    OutputMode, Readiness, Scenario, ServerSpec,
};
use super::values::{describe, quote};
use super::yaml::{self, Node, Pos};
use crate::client::encoding::Encoding;

pub(crate) const TOP_KEYS: &[&str] = &[
    "name", "timeout", "defaults", "snapshot", "server", "client", "clients", "steps",
];
pub(crate) const SERVER_KEYS: &[&str] = &[
    "fake",
    "command",
    "shell",
    "address",
    "host",
    "port",
    "banner",
    "start",
    "half_open",
    "ready",
    "ready_timeout",
    "stop_timeout",
    "output",
    "env",
    "cwd",
];
/// Lists the keys that say what kind of server a scenario has.
pub(crate) const SERVER_KINDS: &[&str] = &["fake", "command", "shell", "address"];
/// Lists the server keys that only configure a fake server.
pub(crate) const FAKE_ONLY: &[&str] = &["banner", "half_open"];
/// Lists the server keys that only configure a server program.
pub(crate) const PROGRAM_ONLY: &[&str] = &[
    "ready",
    "ready_timeout",
    "stop_timeout",
    "output",
    "env",
    "cwd",
];
pub(crate) const CLIENT_KEYS: &[&str] = &[
    "command",
    "shell",
    "env",
    "cwd",
    "stderr",
    "host",
    "port",
    "retry_interval",
    "max_retries",
    "reconnect",
    "connect_timeout",
    "backoff",
    "max_interval",
    "encoding",
    "quit_word",
];
/// Lists the client keys that only configure the built-in client.
pub(crate) const BUILTIN_ONLY: &[&str] = &[
    "host",
    "port",
    "retry_interval",
    "max_retries",
    "reconnect",
    "connect_timeout",
    "backoff",
    "max_interval",
];
/// Lists the client keys that only configure a client program.
pub(crate) const CLIENT_PROGRAM_ONLY: &[&str] = &["stderr", "env", "cwd"];
/// Lists the keys of a data map (`send: {...}`, `banner: {...}`).
pub(crate) const DATA_KEYS: &[&str] = &["text", "encoding", "hex", "base64"];
pub(crate) const FAKE_KINDS: &[(&str, FakeKind)] = &[
    ("echo", FakeKind::Echo),
    ("chat", FakeKind::Chat),
    ("sink", FakeKind::Sink),
    ("silent", FakeKind::Silent),
];
const SERVER_HINT: &str = "write `server: {fake: echo}` for a built-in server, `server: {command: [...]}` for a server program, or `server: {address: \"host:port\"}` for one already running";
const SERVER_KINDS_HINT: &str = "give exactly one of `fake:` (a built-in server), `command:` or `shell:` (a server program), or `address:` (a server already running)";

impl Loader<'_> {
    fn scenario(&mut self, root: &Node) -> Option<Scenario> {
        let top = self.fields(root, TOP_KEYS, "the scenario", placed_at_top)?;
        let name = top.get("name").and_then(|n| self.word(n, "`name`"));
        let timeout = top
            .get("timeout")
            .and_then(|n| self.duration(n, "`timeout`"));
        let default_timeout = match top.get("defaults") {
            Some(node) => {
                let defaults = self.fields(node, &["timeout"], "`defaults`", |_| None);
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
            timeout: timeout.unwrap_or(Duration::from_secs(30)),
            default_timeout: default_timeout.unwrap_or(Duration::from_secs(5)),
            snapshot: snapshot.unwrap_or(false),
            server: server?,
            clients: clients?,
            steps,
        })
    }

    fn server(&mut self, key: &Node, node: &Node) -> Option<ServerSpec> {
        if let Some(text) = node.scalar().filter(|_| !node.is_null()) {
            let hint = if FAKE_KINDS.iter().any(|(name, _)| *name == text) {
                format!("write `server: {{fake: {text}}}`")
            } else if text.contains(':') {
                format!("write `server: {{address: \"{text}\"}}`")
            } else {
                SERVER_HINT.to_owned()
            };
            self.error(
                node,
                format!("expected a map for `server`, found {}", describe(node)),
                Some(hint),
            );
            return None;
        }
        let fields = self.fields(node, SERVER_KEYS, "`server`", placed_in_server)?;
        let kinds: Vec<&str> = fields
            .names()
            .filter(|k| SERVER_KINDS.contains(k))
            .collect();
        match kinds.as_slice() {
            [] => {
                let message = "`server:` needs `fake:` (a built-in server), `command:` or `shell:` (a server program), or `address:` (a server already running)";
                let hint = "for example `fake: echo`, `command: [redis-server, --port, \"${port}\"]` or `address: \"127.0.0.1:6379\"`";
                self.error(key, message, Some(hint.into()));
                None
            }
            [first, others @ ..] if !others.is_empty() => {
                for other in others {
                    let at = fields.key(other).unwrap_or(node);
                    let message = format!("`{other}` cannot be combined with `{first}:`");
                    let hint = if PROGRAM_KEYS.contains(first) && PROGRAM_KEYS.contains(other) {
                        COMMAND_OR_SHELL
                    } else {
                        SERVER_KINDS_HINT
                    };
                    self.error(at, message, Some(hint.into()));
                }
                None
            }
            ["address"] => self.external_server(&fields),
            ["fake"] => {
                self.server = Some(ServerKind::Fake);
                self.fake_server(&fields)
            }
            _ => {
                self.server = Some(ServerKind::Program);
                self.command_server(&fields)
            }
        }
    }

    fn external_server(&mut self, fields: &Fields<'_>) -> Option<ServerSpec> {
        let address = fields.get("address")?;
        for other in fields.names().filter(|k| *k != "address") {
            let at = fields.key(other).unwrap_or(address);
            let message = format!("`{other}` cannot be combined with `address:`");
            let hint = "`address:` points at a server already running; the other keys configure a server tcprun runs";
            self.error(at, message, Some(hint.into()));
        }
        let (host, port) = self.address(address)?;
        self.server = Some(ServerKind::External(format!("{host}:{port}")));
        Some(ServerSpec::External { host, port })
    }

    fn fake_server(&mut self, fields: &Fields<'_>) -> Option<ServerSpec> {
        for other in fields.names().filter(|k| PROGRAM_ONLY.contains(k)) {
            let Some(at) = fields.key(other) else {
                continue;
            };
            let message = format!(
                "`{other}` only applies to a server program (`command:` or `shell:`), not to a fake server"
            );
            let hint = format!("a fake server runs inside tcprun; remove `{other}`");
            self.error(at, message, Some(hint));
        }
        let kind = self.choice(fields.get("fake")?, "fake server", FAKE_KINDS);
        let (host, port) = self.listen_address(fields);
        let banner = fields.get("banner").map(|n| self.banner(n));
        let start = fields.get("start").map(|n| self.boolean(n, "`start`"));
        let half_open = fields
            .get("half_open")
            .map(|n| self.boolean(n, "`half_open`"));
        Some(ServerSpec::Fake(FakeServerSpec {
            kind: kind?,
            host,
            port: port?,
            banner: banner.unwrap_or(Some(None))?,
            start: start.unwrap_or(Some(true))?,
            half_open: half_open.unwrap_or(Some(false))?,
        }))
    }

    fn command_server(&mut self, fields: &Fields<'_>) -> Option<ServerSpec> {
        for other in fields.names().filter(|k| FAKE_ONLY.contains(k)) {
            let Some(at) = fields.key(other) else {
                continue;
            };
            let message = format!(
                "`{other}` only applies to a fake server (`fake:`), not to a server program"
            );
            let hint = match other {
                "banner" => "a server program sends its own greeting; remove `banner`",
                _ => {
                    "a server program decides by itself what to do after a client's FIN; remove `half_open`"
                }
            };
            self.error(at, message, Some(hint.into()));
        }
        let program = self.program(fields);
        let (host, port) = self.listen_address(fields);
        let ready = match (fields.key("ready"), fields.get("ready")) {
            (Some(key), Some(node)) => self.readiness(key, node),
            _ => Some(Readiness::Port),
        };
        let ready_timeout = fields
            .get("ready_timeout")
            .map(|n| self.duration(n, "`ready_timeout`"));
        let stop_timeout = fields
            .get("stop_timeout")
            .map(|n| self.duration(n, "`stop_timeout`"));
        let output = fields
            .get("output")
            .map(|n| self.choice(n, "output mode", OUTPUT_MODES));
        let start = fields.get("start").map(|n| self.boolean(n, "`start`"));
        Some(ServerSpec::Command(CommandServerSpec {
            program: program?,
            host,
            port: port?,
            ready: ready?,
            ready_timeout: ready_timeout.unwrap_or(Some(Duration::from_secs(5)))?,
            stop_timeout: stop_timeout.unwrap_or(Some(Duration::from_secs(2)))?,
            output: output.unwrap_or(Some(OutputMode::Discard))?,
            start: start.unwrap_or(Some(true))?,
        }))
    }

    /// Reads the `host:` (default 127.0.0.1) and `port:` (default 0) a server listens on.
    fn listen_address(&mut self, fields: &Fields<'_>) -> (String, Option<u16>) {
        let host = fields.get("host").and_then(|n| self.word(n, "`host`"));
        let port = fields
            .get("port")
            .map(|n| self.number(n, "`port`", 0, 65535));
        (
            host.unwrap_or_else(|| "127.0.0.1".into()),
            port.unwrap_or(Some(0)).map(|p| p as u16),
        )
    }

    fn banner(&mut self, node: &Node) -> Option<Option<Data>> {
        let before = self.error_count();
        let expected = "text, or a map with `text:`, `hex:` or `base64:`";
        let fields = self.args(Some(node), Some("text"), DATA_KEYS, "`banner`", expected)?;
        let data = self.data(&fields, node, Some("banner"));
        (self.error_count() == before).then_some(data)
    }

    fn address(&mut self, node: &Node) -> Option<(String, u16)> {
        let text = self.text(node, "`address`")?;
        let split = match text.strip_prefix('[') {
            Some(rest) => rest.split_once("]:"),
            None => text.rsplit_once(':'),
        };
        let parsed = split.and_then(|(host, port)| {
            let port = port.parse::<u16>().ok().filter(|p| *p != 0)?;
            (!host.is_empty()).then(|| (host.to_owned(), port))
        });
        if parsed.is_none() {
            let message = format!(
                "expected `host:port` for `address`, found {}",
                describe(node)
            );
            self.error(
                node,
                message,
                Some("for example `address: \"127.0.0.1:6379\"`".into()),
            );
        }
        parsed
    }

    fn clients(&mut self, root: &Node, top: &Fields<'_>) -> Option<Vec<ClientSpec>> {
        match (top.key("client"), top.key("clients")) {
            (Some(one), Some(many)) => {
                let later = if (many.start) > (one.start) {
                    many
                } else {
                    one
                };
                let message = "`client:` and `clients:` cannot both be given";
                let hint = "use `client:` for a single client, or `clients:` to name several";
                self.error(later, message, Some(hint.into()));
                None
            }
            (Some(_), None) => {
                self.clients = Some(vec!["client".into()]);
                let node = top.get("client")?;
                Some(vec![self.client("client", node)?])
            }
            (None, Some(key)) => self.named_clients(key, top.get("clients")?),
            (None, None) => {
                let message = "missing `client:`; every scenario needs at least one client";
                let hint = "add `client: {}` for a client with default options, or `clients:` to name several";
                self.error_at(root.start, root.start, message, Some(hint.into()));
                None
            }
        }
    }

    fn named_clients(&mut self, key: &Node, node: &Node) -> Option<Vec<ClientSpec>> {
        let Some(entries) = node.entries().filter(|e| !e.is_empty()) else {
            let found = if node.entries().is_some() {
                "an empty map".into()
            } else {
                describe(node)
            };
            let message =
                format!("expected a map of client names to options for `clients`, found {found}");
            let at = if node.is_null() { key } else { node };
            self.error(
                at,
                message,
                Some("for example `clients: {alice: {}, bob: {}}`".into()),
            );
            return None;
        };
        // One name per entry (an invalid one keeps its text), so that every
        // client's options are still checked, each under its own name.
        let mut names = Vec::new();
        let mut names_ok = true;
        for (name, _) in entries {
            names.push(name.scalar().unwrap_or_default().to_owned());
            if !name.scalar().is_some_and(valid_client_name) {
                names_ok = false;
                let message = match name.scalar() {
                    Some(text) => format!("invalid client name {}", quote(text)),
                    None => format!("expected a client name, found {}", describe(name)),
                };
                let hint =
                    "client names start with a letter or `_` and use letters, digits, `_` and `-`";
                self.error(name, message, Some(hint.into()));
            }
        }
        if names_ok {
            self.clients = Some(names.clone());
        }
        let specs: Vec<Option<ClientSpec>> = entries
            .iter()
            .zip(&names)
            .map(|((_, value), name)| self.client(name, value))
            .collect();
        if !names_ok {
            return None;
        }
        specs.into_iter().collect()
    }

    fn client(&mut self, name: &str, node: &Node) -> Option<ClientSpec> {
        let what = format!("client `{name}`");
        let fields = self.fields(node, CLIENT_KEYS, &what, placed_in_client)?;
        let before = self.error_count();
        let programs: Vec<&str> = fields
            .names()
            .filter(|k| PROGRAM_KEYS.contains(k))
            .collect();
        let mut spec = if programs.is_empty() {
            self.builtin_client(name, &fields)
        } else {
            self.command_clients.push(name.to_owned());
            let command = self.command_client(&fields, &programs);
            if command.as_ref().is_some_and(|c| c.merge_stderr) {
                self.merged_clients.push(name.to_owned());
            }
            ClientSpec {
                command,
                ..default_client(name)
            }
        };
        if let Some(encoding) = fields.get("encoding").and_then(|n| self.encoding(n, false)) {
            spec.encoding = encoding;
        }
        if let Some(word) = fields
            .get("quit_word")
            .and_then(|n| self.word(n, "`quit_word`"))
        {
            spec.quit_word = word;
        }
        (self.error_count() == before).then_some(spec)
    }

    /// Reads the options of the built-in client.
    fn builtin_client(&mut self, name: &str, fields: &Fields<'_>) -> ClientSpec {
        for other in fields.names().filter(|k| CLIENT_PROGRAM_ONLY.contains(k)) {
            let Some(at) = fields.key(other) else {
                continue;
            };
            let message =
                format!("`{other}` only applies to a client program (`command:` or `shell:`)");
            let hint = format!(
                "add `command:` or `shell:` to run a program as this client, or remove `{other}`"
            );
            self.error(at, message, Some(hint));
        }
        let get = |key: &str| fields.get(key);
        let host = get("host").and_then(|n| self.word(n, "`host`"));
        let port = get("port").and_then(|n| match n.scalar() {
            Some("${port}") => None,
            _ => self.number(n, "`port`", 1, 65535).map(|p| p as u16),
        });
        let retry_interval = self.opt_duration(fields, "retry_interval");
        let max_retries =
            get("max_retries").and_then(|n| self.number(n, "`max_retries`", 0, u32::MAX.into()));
        let reconnect = get("reconnect").and_then(|n| self.boolean(n, "`reconnect`"));
        let connect_timeout = self.opt_duration(fields, "connect_timeout");
        let backoffs = [
            ("fixed", Backoff::Fixed),
            ("exponential", Backoff::Exponential),
        ];
        let backoff = get("backoff").and_then(|n| self.choice(n, "backoff", &backoffs));
        let max_interval = self.opt_duration(fields, "max_interval");
        let defaults = default_client(name);
        ClientSpec {
            host,
            port,
            retry_interval: retry_interval.unwrap_or(defaults.retry_interval),
            max_retries: max_retries.map_or(defaults.max_retries, |n| n as u32),
            reconnect: reconnect.unwrap_or(defaults.reconnect),
            connect_timeout: connect_timeout.unwrap_or(defaults.connect_timeout),
            backoff: backoff.unwrap_or(defaults.backoff),
            max_interval: max_interval.unwrap_or(defaults.max_interval),
            ..defaults
        }
    }

    /// Reads a client program: `command:` or `shell:` (named in `programs`), `env:`, `cwd:`, `stderr:`.
    fn command_client(
        &mut self,
        fields: &Fields<'_>,
        programs: &[&str],
    ) -> Option<CommandClientSpec> {
        for other in fields.names().filter(|k| BUILTIN_ONLY.contains(k)) {
            let Some(at) = fields.key(other) else {
                continue;
            };
            let message = format!(
                "`{other}` cannot be combined with `{}:`; it configures the built-in client",
                programs[0]
            );
            let hint = "a command client connects by itself; pass its options in its argv, e.g. `command: [redis-cli, -p, \"${port}\"]`";
            self.error(at, message, Some(hint.into()));
        }
        if let [first, second, ..] = programs {
            let at = fields.key(second)?;
            let message = format!("`{second}` cannot be combined with `{first}:`");
            self.error(at, message, Some(COMMAND_OR_SHELL.into()));
            return None;
        }
        let program = self.program(fields);
        let modes = [("separate", false), ("merge", true)];
        let merge_stderr = fields
            .get("stderr")
            .map(|n| self.choice(n, "stderr mode", &modes));
        Some(CommandClientSpec {
            program: program?,
            merge_stderr: merge_stderr.unwrap_or(Some(false))?,
        })
    }
}

/// Returns a built-in client with every option at its default.
pub(crate) fn default_client(name: &str) -> ClientSpec {
    ClientSpec {
        name: name.to_owned(),
        host: None,
        port: None,
        retry_interval: Duration::from_secs(3),
        max_retries: 10,
        reconnect: true,
        connect_timeout: Duration::from_secs(10),
        backoff: Backoff::Fixed,
        max_interval: Duration::from_secs(30),
        encoding: Encoding::Utf8,
        quit_word: "quit".into(),
        command: None,
    }
}

/// Returns true for a client name usable in `client:` and `connection:`.
pub(crate) fn valid_client_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn placed_at_top(key: &str) -> Option<String> {
    let (client, server) = (CLIENT_KEYS.contains(&key), SERVER_KEYS.contains(&key));
    if client && server {
        Some(format!("`{key}` goes under `server:` or `client:`"))
    } else if client {
        Some(format!("`{key}` goes under `client:`"))
    } else if server {
        Some(format!("`{key}` goes under `server:`"))
    } else if super::types::Step::NAMES.contains(&key) {
        Some(format!("`{key}` is a step; steps go in the `steps:` list"))
    } else {
        None
    }
}

fn placed_in_server(key: &str) -> Option<String> {
    match key {
        "stderr" => Some(
            "`stderr` is a client option; for a server program, `output:` says where its output goes"
                .into(),
        ),
        _ => CLIENT_KEYS
            .contains(&key)
            .then(|| format!("`{key}` is a client option; it goes under `client:`")),
    }
}

fn placed_in_client(key: &str) -> Option<String> {
    SERVER_KEYS
        .contains(&key)
        .then(|| format!("`{key}` is a server option; it goes under `server:`"))
}

/// Loads a scenario from `source`, as read from `path`.
pub(crate) fn load(path: &Path, source: &str) -> Result<Scenario, LoadError> {
    let parsed = yaml::parse(source);
    let mut loader = Loader::new(path, source);
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

    use super::*;
    use crate::scenario::types::Step;

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
                banner: Some(Data {
                    bytes: b"welcome\n".to_vec(),
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
