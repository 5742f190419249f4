//! Reads what runs a program (`command:` or `shell:`, `env:`, `cwd:`), readiness and signal names.

use std::path::PathBuf;

use super::diagnostic::{describe, quote};
use super::keys;
use super::reader::{Fields, Reader};
use super::suggest;
use super::types::{OutputMode, ProgramSpec, Readiness};
use super::yaml::{Kind, Node};

/// Lists the keys that say what program to run.
pub(crate) const PROGRAM_KEYS: &[&str] = &["command", "shell"];

/// Lists the signals steps may send, by their bare upper-case names.
pub(crate) const SIGNALS: &[&str] = &[
    "KILL", "TERM", "INT", "HUP", "QUIT", "USR1", "USR2", "STOP", "CONT",
];

/// Lists the `output:` modes of a server program.
pub(crate) const OUTPUT_MODES: [(&str, OutputMode); 3] = [
    (keys::OUTPUT_MODES[0], OutputMode::Transcript),
    (keys::OUTPUT_MODES[1], OutputMode::Discard),
    (keys::OUTPUT_MODES[2], OutputMode::Inherit),
];

const ARGV_EXAMPLE: &str = "for example `command: [redis-server, --port, \"${port}\"]`";

/// Returns the signal `text` names (any case, `SIG` prefix optional) as its bare upper-case name.
pub(crate) fn signal_name(text: &str) -> Option<&'static str> {
    let upper = text.to_ascii_uppercase();
    let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
    SIGNALS.iter().copied().find(|name| *name == bare)
}

/// Returns the name of a signal whose number is the same on every Unix.
fn portable_signal(number: &str) -> Option<&'static str> {
    match number {
        "1" => Some("HUP"),
        "2" => Some("INT"),
        "3" => Some("QUIT"),
        "9" => Some("KILL"),
        "15" => Some("TERM"),
        _ => None,
    }
}

/// Explains the choice between `command:` and `shell:`, for hints when both are given.
pub(crate) const COMMAND_OR_SHELL: &str =
    "give one: `command:` runs a list of arguments directly, `shell:` runs one line with /bin/sh";

impl Reader<'_> {
    /// Reads `command:` or `shell:` (the caller checked that exactly one is given), `env:` and `cwd:`.
    pub(crate) fn program(&mut self, fields: &Fields<'_>) -> Option<ProgramSpec> {
        let argv = match (fields.get("command"), fields.get("shell")) {
            (Some(node), _) => self.argv(node),
            (None, Some(node)) => self
                .script(node)
                .map(|script| vec!["/bin/sh".into(), "-c".into(), script]),
            (None, None) => None,
        };
        let env = fields.get("env").map(|node| self.env(node));
        let cwd = fields.get("cwd").map(|node| self.cwd(node));
        Some(ProgramSpec {
            argv: argv?,
            env: env.unwrap_or(Some(Vec::new()))?,
            cwd: match cwd {
                Some(cwd) => Some(cwd?),
                None => None,
            },
            folder: self.folder().to_owned(),
            shell: fields.get("command").is_none(),
        })
    }

    /// Reads `command:`: a non-empty list of arguments, the program first.
    fn argv(&mut self, node: &Node) -> Option<Vec<String>> {
        let items = match &node.kind {
            Kind::Seq(items) if !items.is_empty() => items,
            Kind::Seq(_) => {
                let message = "`command` needs at least the program to run, found an empty list";
                self.error(node, message, Some(ARGV_EXAMPLE.into()));
                return None;
            }
            Kind::Scalar(text, _) if !node.is_null() => {
                let words: Vec<String> =
                    text.split_whitespace().map(|w| format!("{w:?}")).collect();
                let message = format!(
                    "expected a list of arguments for `command`, found {}",
                    describe(node)
                );
                let hint = format!(
                    "write each argument as an item, `command: [{}]`, or use `shell:` to run the line with /bin/sh",
                    words.join(", ")
                );
                self.error(node, message, Some(hint));
                return None;
            }
            _ => {
                let message = format!(
                    "expected a list of arguments for `command`, found {}",
                    describe(node)
                );
                self.error(node, message, Some(ARGV_EXAMPLE.into()));
                return None;
            }
        };
        let before = self.error_count();
        let argv: Vec<String> = items
            .iter()
            .filter_map(|item| self.argument(item))
            .collect();
        if self.error_count() > before {
            return None;
        }
        if argv[0].is_empty() {
            let message = format!(
                "expected the program to run first in `command`, found {}",
                describe(&items[0])
            );
            self.error(&items[0], message, Some(ARGV_EXAMPLE.into()));
            return None;
        }
        Some(argv)
    }

    /// Reads one item of `command:`: any scalar, as text (`""` is an empty argument).
    fn argument(&mut self, item: &Node) -> Option<String> {
        match item.scalar() {
            Some(text) if !item.is_null() => self.without_nul(item, text, "an argument"),
            _ => {
                let message = format!(
                    "expected text for each argument of `command`, found {}",
                    describe(item)
                );
                let hint = if item.is_null() {
                    "write an empty argument as `\"\"`"
                } else {
                    "quote arguments that hold `: `, `[` or `{`, e.g. `\"--opt: x\"`"
                };
                self.error(item, message, Some(hint.into()));
                None
            }
        }
    }

    /// Reads `shell:`: one non-empty command line.
    fn script(&mut self, node: &Node) -> Option<String> {
        if let Kind::Seq(_) = node.kind {
            let message = "expected one command line for `shell`, found a list";
            let hint = "`shell:` takes one line for /bin/sh; put a list of arguments under `command:` instead";
            self.error(node, message, Some(hint.into()));
            return None;
        }
        let script = self.word(node, "`shell`")?;
        self.without_nul(node, &script, "`shell`")
    }

    /// Reads `env:`: a map of variable names to scalar values, taken as text.
    fn env(&mut self, node: &Node) -> Option<Vec<(String, String)>> {
        if node.is_null() {
            return Some(Vec::new());
        }
        let Some(entries) = node.entries() else {
            let message = format!(
                "expected a map of variable names to values for `env`, found {}",
                describe(node)
            );
            let hint = "for example `env: {RUST_LOG: debug, LANG: C}`";
            self.error(node, message, Some(hint.into()));
            return None;
        };
        let before = self.error_count();
        let mut vars = Vec::new();
        for (key, value) in entries {
            let name = self.env_name(key);
            let value = match (name.as_deref(), value.scalar()) {
                (Some(name), Some(text)) if !value.is_null() => {
                    self.without_nul(value, text, &format!("`{name}`"))
                }
                (Some(name), _) => {
                    let message = format!(
                        "expected text for `{name}` in `env`, found {}",
                        describe(value)
                    );
                    let hint = value
                        .is_null()
                        .then(|| "write an empty value as `\"\"`".to_owned());
                    let at = if value.is_null() { key } else { value };
                    self.error(at, message, hint);
                    None
                }
                (None, _) => None,
            };
            if let (Some(name), Some(value)) = (name, value) {
                vars.push((name, value));
            }
        }
        (self.error_count() == before).then_some(vars)
    }

    fn env_name(&mut self, key: &Node) -> Option<String> {
        match key.scalar() {
            Some(name) if !name.is_empty() && !name.contains(['=', '\0']) => Some(name.to_owned()),
            Some(name) => {
                let message = format!("invalid environment variable name {}", quote(name));
                let hint = "variable names are not empty and hold no `=`";
                self.error(key, message, Some(hint.into()));
                None
            }
            None => {
                let message = format!("expected a variable name in `env`, found {}", describe(key));
                self.error(key, message, None);
                None
            }
        }
    }

    /// Reads `cwd:` as written; it is joined to the scenario's folder once
    /// its variables have values.
    fn cwd(&mut self, node: &Node) -> Option<PathBuf> {
        let text = self.word(node, "`cwd`")?;
        Some(self.without_nul(node, &text, "`cwd`")?.into())
    }

    /// Returns `text`, or records an error when it holds a NUL, which no program can receive.
    fn without_nul(&mut self, node: &Node, text: &str, what: &str) -> Option<String> {
        if !text.contains('\0') {
            return Some(text.to_owned());
        }
        let message = format!("{what} cannot hold a NUL character (`\\0`)");
        self.error(node, message, None);
        None
    }

    /// Reads `ready:`: `port`, `{port: true}` or `{log: REGEX}`; `key` is the `ready` key.
    pub(crate) fn readiness(&mut self, key: &Node, node: &Node) -> Option<Readiness> {
        const EXAMPLE: &str = "for example `ready: port` or `ready: {log: \"Ready to accept\"}`";
        if let Some(text) = node.scalar().filter(|_| !node.is_null()) {
            if text == "port" {
                return Some(Readiness::Port);
            }
            if text == "log" {
                let hint = "write `ready: {log: REGEX}`, e.g. `ready: {log: \"Ready to accept\"}`";
                self.error(node, "`ready: log` needs a regex", Some(hint.into()));
                return None;
            }
            let message = format!(
                "expected `port`, or a map with `port: true` or `log:`, for `ready`, found {}",
                describe(node)
            );
            let hint = match suggest::closest(text, &["port", "log"]) {
                Some(close) => format!("did you mean `{close}`?"),
                None => format!("to wait for a line of output, write `ready: {{log: {text:?}}}`"),
            };
            self.error(node, message, Some(hint));
            return None;
        }
        let fields = self.fields(node, &["port", "log"], "`ready`", |_| None)?;
        match (fields.get("port"), fields.get("log")) {
            (Some(_), Some(_)) => {
                let at = fields.key("log")?;
                let hint = "give one: `port: true` waits until the port accepts, `log:` until a line of output matches";
                self.error(
                    at,
                    "`log` cannot be combined with `port:`",
                    Some(hint.into()),
                );
                None
            }
            (Some(port), None) => match self.boolean(port, "`port`")? {
                true => Some(Readiness::Port),
                false => {
                    let message =
                        "`ready: {port: false}` leaves no way to tell when the server is ready";
                    let hint = "to wait for a line of output instead, write `ready: {log: REGEX}`";
                    self.error(port, message, Some(hint.into()));
                    None
                }
            },
            (None, Some(log)) => self.regex(log, "`log`").map(Readiness::Log),
            // Unknown keys were reported already.
            (None, None) if node.entries().is_some_and(|e| !e.is_empty()) => None,
            (None, None) => {
                let at = if node.is_null() { key } else { node };
                self.error(
                    at,
                    "`ready` needs `port: true` or `log:`",
                    Some(EXAMPLE.into()),
                );
                None
            }
        }
    }

    /// Reads a signal name (any case, `SIG` prefix optional) as its bare upper-case name.
    pub(crate) fn signal(&mut self, node: &Node) -> Option<String> {
        let text = self.text(node, "`signal`")?;
        if let Some(name) = signal_name(&text) {
            return Some(name.to_owned());
        }
        let all = suggest::list(SIGNALS);
        if node.plain().is_some() && text.chars().all(|c| c.is_ascii_digit()) {
            let hint = match portable_signal(&text) {
                Some(name) => format!("write signals by name: `{name}`"),
                None => format!("write signals by name: {all}"),
            };
            let message = format!("expected a signal name, found {}", describe(node));
            self.error(node, message, Some(hint));
            return None;
        }
        let upper = text.to_ascii_uppercase();
        let bare = upper.strip_prefix("SIG").unwrap_or(&upper).to_lowercase();
        let lower: Vec<String> = SIGNALS.iter().map(|s| s.to_lowercase()).collect();
        let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
        let hint = match suggest::closest(&bare, &lower) {
            Some(close) => format!(
                "did you mean `{}`? signals are {all}",
                close.to_ascii_uppercase()
            ),
            None => format!("signals are {all}"),
        };
        self.error(node, format!("unknown signal {}", quote(&text)), Some(hint));
        None
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::time::Duration;

    use super::*;
    use crate::client::encoding::Encoding;
    use crate::scenario::types::{ClientSpec, CommandClientSpec, CommandServerSpec, ServerSpec};
    use crate::scenario::{LoadError, Scenario, load_str};

    const CLIENT: &str = "client: {}\nsteps: [sleep: 1s]\n";
    const SERVER: &str = "server: {fake: echo}\n";
    const STEPS: &str = "steps: [sleep: 1s]\n";

    fn load(path: &str, source: &str) -> Result<Scenario, LoadError> {
        load_str(Path::new(path), source)
    }

    fn ok(source: &str) -> Scenario {
        load("scenarios/test.yaml", source)
            .unwrap_or_else(|e| panic!("expected the scenario to load:\n{e}"))
    }

    fn command_server(source: &str) -> CommandServerSpec {
        match ok(source).server {
            ServerSpec::Command(spec) => spec,
            other => panic!("expected a command server, got {other:?}"),
        }
    }

    /// Returns every diagnostic as (line, col, message, hint).
    fn errors(source: &str) -> Vec<(usize, usize, String, String)> {
        let error = load("scenarios/test.yaml", source).expect_err("expected errors");
        error
            .diagnostics()
            .iter()
            .map(|d| {
                let hint = d.hint.clone().unwrap_or_default();
                (d.line, d.col, d.message.clone(), hint)
            })
            .collect()
    }

    fn only_error(source: &str) -> (usize, usize, String, String) {
        let mut all = errors(source);
        assert_eq!(all.len(), 1, "expected one error, got {all:#?}");
        all.remove(0)
    }

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    fn program(words: &[&str]) -> ProgramSpec {
        ProgramSpec {
            argv: argv(words),
            env: Vec::new(),
            cwd: None,
            folder: PathBuf::from("scenarios"),
            shell: words.first() == Some(&"/bin/sh"),
        }
    }

    fn client(name: &str, command: Option<CommandClientSpec>) -> ClientSpec {
        ClientSpec {
            command,
            ..crate::scenario::read_client::default_client(name)
        }
    }

    #[test]
    fn reads_every_server_program_option() {
        let spec = command_server(&format!(
            r#"server:
  command: ["redis-server", "--port", "${{port}}", "--save", "", 100, true, '']
  env: {{LANG: C, COUNT: 3, EMPTY: "", FLAG: yes}}
  cwd: fixtures
  host: localhost
  port: 6400
  ready: {{log: "Ready to accept"}}
  ready_timeout: 10s
  stop_timeout: 500ms
  output: transcript
  start: false
{CLIENT}"#
        ));
        let Readiness::Log(pattern) = &spec.ready else {
            panic!("expected log readiness, got {:?}", spec.ready)
        };
        assert_eq!(pattern.source, "Ready to accept");
        assert!(
            pattern
                .matcher
                .regex()
                .is_match("starting\r\n* Ready to accept connections\r\n")
        );
        let env = [
            ("LANG", "C"),
            ("COUNT", "3"),
            ("EMPTY", ""),
            ("FLAG", "yes"),
        ];
        assert_eq!(
            spec,
            CommandServerSpec {
                program: ProgramSpec {
                    argv: argv(&[
                        "redis-server",
                        "--port",
                        "${port}",
                        "--save",
                        "",
                        "100",
                        "true",
                        ""
                    ]),
                    env: env
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                    cwd: Some(PathBuf::from("fixtures")),
                    folder: PathBuf::from("scenarios"),
                    shell: false,
                },
                host: "localhost".into(),
                port: 6400,
                ready: spec.ready.clone(),
                ready_timeout: Duration::from_secs(10),
                stop_timeout: Duration::from_millis(500),
                output: OutputMode::Transcript,
                start: false,
            }
        );
    }

    #[test]
    fn server_program_defaults_and_shell() {
        let spec = command_server(&format!(
            "server: {{shell: \"redis-server --port ${{port}}\"}}\n{CLIENT}"
        ));
        assert_eq!(
            spec,
            CommandServerSpec {
                program: program(&["/bin/sh", "-c", "redis-server --port ${port}"]),
                host: "127.0.0.1".into(),
                port: 0,
                ready: Readiness::Port,
                ready_timeout: Duration::from_secs(5),
                stop_timeout: Duration::from_secs(2),
                output: OutputMode::Discard,
                start: true,
            }
        );
        let spec = command_server(&format!(
            "server:\n  command: [srv]\n  ready: port\n  output: inherit\n  env:\n{CLIENT}"
        ));
        assert_eq!(
            (spec.program, spec.ready, spec.output),
            (program(&["srv"]), Readiness::Port, OutputMode::Inherit)
        );
        let spec = command_server(&format!(
            "server: {{command: [srv], ready: {{port: true}}}}\n{CLIENT}"
        ));
        assert_eq!(spec.ready, Readiness::Port);
    }

    #[test]
    fn cwd_is_relative_to_the_scenario_folder() {
        let source = |cwd: &str| format!("server: {{command: [srv], cwd: {cwd}}}\n{CLIENT}");
        // The folder the program starts in, as tcprun hands it over.
        let cwd = |path: &str, cwd: &str| match load(path, &source(cwd)).unwrap().server {
            ServerSpec::Command(spec) => {
                let vars = crate::vars::Vars {
                    tmp: PathBuf::from("/tmp/run1"),
                    ..crate::vars::Vars::default()
                };
                vars.launch(&spec.program, false).cwd.unwrap()
            }
            other => panic!("expected a command server, got {other:?}"),
        };
        assert_eq!(cwd("a/b/s.yaml", "fixtures"), PathBuf::from("a/b/fixtures"));
        assert_eq!(cwd("a/b/s.yaml", "../c"), PathBuf::from("a/b/../c"));
        assert_eq!(cwd("s.yaml", "fixtures"), PathBuf::from("fixtures"));
        assert_eq!(cwd("/x/s.yaml", "."), PathBuf::from("/x/."));
        assert_eq!(cwd("a/s.yaml", "/srv/data"), PathBuf::from("/srv/data"));
        // A variable is replaced first: `${tmp}` is absolute wherever the file is.
        assert_eq!(
            cwd("a/s.yaml", "\"${tmp}/w\""),
            PathBuf::from("/tmp/run1/w")
        );
        assert_eq!(cwd("a/s.yaml", "\"${tmp}\""), PathBuf::from("/tmp/run1"));
    }

    #[test]
    fn reads_client_programs() {
        let scenario = ok(&format!(
            r#"{SERVER}clients:
  cli:
    command: [redis-cli, -p, "${{port}}"]
    env: {{A: b}}
    cwd: bin
    stderr: merge
    encoding: latin1
    quit_word: QUIT
  sh:
    shell: "nc 127.0.0.1 ${{port}}"
    stderr: separate
  tcp: {{}}
{STEPS}"#
        ));
        let cli = ClientSpec {
            encoding: Encoding::Latin1,
            quit_word: "QUIT".into(),
            ..client(
                "cli",
                Some(CommandClientSpec {
                    program: ProgramSpec {
                        argv: argv(&["redis-cli", "-p", "${port}"]),
                        env: vec![("A".into(), "b".into())],
                        cwd: Some(PathBuf::from("bin")),
                        folder: PathBuf::from("scenarios"),
                        shell: false,
                    },
                    merge_stderr: true,
                }),
            )
        };
        let sh = client(
            "sh",
            Some(CommandClientSpec {
                program: program(&["/bin/sh", "-c", "nc 127.0.0.1 ${port}"]),
                merge_stderr: false,
            }),
        );
        assert_eq!(scenario.clients, [cli, sh, client("tcp", None)]);
        let scenario = ok(&format!("{SERVER}client: {{command: [cat]}}\n{STEPS}"));
        let spec = scenario.clients[0].command.as_ref().unwrap();
        assert!(!spec.merge_stderr);
    }

    #[test]
    fn a_server_has_exactly_one_kind() {
        let kinds = "give exactly one of `fake:` (a built-in server), `command:` or `shell:` (a server program), or `address:` (a server already running)";
        assert_eq!(
            errors(&format!(
                "server: {{fake: echo, command: [x], address: \"h:1\"}}\n{CLIENT}"
            )),
            [
                (
                    1,
                    22,
                    "`command` cannot be combined with `fake:`".into(),
                    kinds.into()
                ),
                (
                    1,
                    36,
                    "`address` cannot be combined with `fake:`".into(),
                    kinds.into()
                ),
            ]
        );
        assert_eq!(
            only_error(&format!("server:\n  command: [x]\n  shell: x\n{CLIENT}")),
            (
                3,
                3,
                "`shell` cannot be combined with `command:`".into(),
                COMMAND_OR_SHELL.into()
            )
        );
        let (line, col, message, hint) = only_error(&format!("server: {{port: 1}}\n{CLIENT}"));
        assert_eq!((line, col), (1, 1));
        assert_eq!(
            message,
            "`server:` needs `fake:` (a built-in server), `command:` or `shell:` (a server program), or `address:` (a server already running)"
        );
        assert!(
            hint.starts_with("for example `fake: echo`, `command: ["),
            "{hint}"
        );
        let (_, col, message, _) = only_error(&format!(
            "server: {{address: \"h:1\", ready: port}}\n{CLIENT}"
        ));
        assert_eq!(
            (col, message.as_str()),
            (26, "`ready` cannot be combined with `address:`")
        );
    }

    #[test]
    fn server_keys_belong_to_one_kind() {
        let source = format!(
            "server:\n  fake: echo\n  ready: port\n  env: {{A: b}}\n  output: discard\n{CLIENT}"
        );
        let found: Vec<(usize, usize, String, String)> = errors(&source);
        assert_eq!(
            found,
            [
                (
                    3,
                    3,
                    "`ready` only applies to a server program (`command:` or `shell:`), not to a fake server".into(),
                    "a fake server runs inside tcprun; remove `ready`".into()
                ),
                (
                    4,
                    3,
                    "`env` only applies to a server program (`command:` or `shell:`), not to a fake server".into(),
                    "a fake server runs inside tcprun; remove `env`".into()
                ),
                (
                    5,
                    3,
                    "`output` only applies to a server program (`command:` or `shell:`), not to a fake server".into(),
                    "a fake server runs inside tcprun; remove `output`".into()
                ),
            ]
        );
        let found = errors(&format!(
            "server: {{shell: srv, banner: hi, half_open: true}}\n{CLIENT}"
        ));
        assert_eq!(
            found,
            [
                (
                    1,
                    22,
                    "`banner` only applies to a fake server (`fake:`), not to a server program".into(),
                    "a server program sends its own greeting; remove `banner`".into()
                ),
                (
                    1,
                    34,
                    "`half_open` only applies to a fake server (`fake:`), not to a server program".into(),
                    "a server program decides by itself what to do after a client's FIN; remove `half_open`".into()
                ),
            ]
        );
        let (_, _, message, hint) = only_error(&format!(
            "server: {{command: [x], stderr: merge}}\n{CLIENT}"
        ));
        assert_eq!(message, "unknown key `stderr` in `server`");
        assert_eq!(
            hint,
            "`stderr` is a client option; for a server program, `output:` says where its output goes"
        );
        let (_, _, message, hint) = only_error(&format!("command: [x]\n{SERVER}{CLIENT}"));
        assert_eq!(message, "unknown key `command` in the scenario");
        assert_eq!(hint, "`command` goes under `server:` or `client:`");
    }

    #[test]
    fn bad_program_values_point_at_the_value() {
        let cases: &[(&str, usize, &str, &str)] = &[
            (
                "command: []",
                19,
                "`command` needs at least the program to run, found an empty list",
                "for example `command: [redis-server, --port, \"${port}\"]`",
            ),
            (
                "command: redis-server --port 1",
                19,
                "expected a list of arguments for `command`, found `redis-server --port 1`",
                "write each argument as an item, `command: [\"redis-server\", \"--port\", \"1\"]`, or use `shell:` to run the line with /bin/sh",
            ),
            (
                "command: {a: b}",
                19,
                "expected a list of arguments for `command`, found a map",
                "for example `command: [redis-server, --port, \"${port}\"]`",
            ),
            (
                "command: [x, --opt: 1]",
                23,
                "expected text for each argument of `command`, found a map",
                "quote arguments that hold `: `, `[` or `{`, e.g. `\"--opt: x\"`",
            ),
            (
                "command: [x, ~]",
                23,
                "expected text for each argument of `command`, found nothing",
                "write an empty argument as `\"\"`",
            ),
            (
                "command: [\"\", x]",
                20,
                "expected the program to run first in `command`, found the string \"\"",
                "for example `command: [redis-server, --port, \"${port}\"]`",
            ),
            (
                "command: [\"a\\0b\"]",
                20,
                "an argument cannot hold a NUL character (`\\0`)",
                "",
            ),
            (
                "shell: [a, b]",
                17,
                "expected one command line for `shell`, found a list",
                "`shell:` takes one line for /bin/sh; put a list of arguments under `command:` instead",
            ),
            (
                "shell: \" \"",
                17,
                "expected a non-empty value for `shell`, found the string \" \"",
                "",
            ),
            (
                "shell: x, env: [A]",
                25,
                "expected a map of variable names to values for `env`, found a list",
                "for example `env: {RUST_LOG: debug, LANG: C}`",
            ),
            (
                "shell: x, env: {A: }",
                26,
                "expected text for `A` in `env`, found nothing",
                "write an empty value as `\"\"`",
            ),
            (
                "shell: x, env: {A: [1]}",
                29,
                "expected text for `A` in `env`, found a list",
                "",
            ),
            (
                "shell: x, env: {\"A=B\": c}",
                26,
                "invalid environment variable name `A=B`",
                "variable names are not empty and hold no `=`",
            ),
            (
                "shell: x, cwd: \"\"",
                25,
                "expected a non-empty value for `cwd`, found the string \"\"",
                "",
            ),
            (
                "shell: x, ready: prot",
                27,
                "expected `port`, or a map with `port: true` or `log:`, for `ready`, found `prot`",
                "did you mean `port`?",
            ),
            (
                "shell: x, ready: Ready to accept",
                27,
                "expected `port`, or a map with `port: true` or `log:`, for `ready`, found `Ready to accept`",
                "to wait for a line of output, write `ready: {log: \"Ready to accept\"}`",
            ),
            (
                "shell: x, ready: log",
                27,
                "`ready: log` needs a regex",
                "write `ready: {log: REGEX}`, e.g. `ready: {log: \"Ready to accept\"}`",
            ),
            (
                "shell: x, ready: {port: true, log: x}",
                40,
                "`log` cannot be combined with `port:`",
                "give one: `port: true` waits until the port accepts, `log:` until a line of output matches",
            ),
            (
                "shell: x, ready: {port: false}",
                34,
                "`ready: {port: false}` leaves no way to tell when the server is ready",
                "to wait for a line of output instead, write `ready: {log: REGEX}`",
            ),
            (
                "shell: x, ready: {}",
                27,
                "`ready` needs `port: true` or `log:`",
                "for example `ready: port` or `ready: {log: \"Ready to accept\"}`",
            ),
            (
                "shell: x, ready: {log: \"(x\"}",
                33,
                "invalid regex: unclosed group",
                "regexes use Rust regex syntax; escape special characters like `(`, `[` or `.` with `\\`",
            ),
            (
                "shell: x, ready: {lines: x}",
                28,
                "unknown key `lines` in `ready`",
                "valid keys here: `port` or `log`",
            ),
            (
                "shell: x, output: stdout",
                28,
                "unknown output mode `stdout`",
                "expected `transcript`, `discard` or `inherit`",
            ),
            (
                "shell: x, ready_timeout: 5",
                35,
                "expected a duration for `ready_timeout`, found the number `5` without a unit",
                "add a unit: `5s` or `5ms` (durations look like 500ms, 3s or 1m)",
            ),
            (
                "shell: x, port: -1",
                26,
                "expected a whole number from 0 to 65535 for `port`, found the number `-1`",
                "",
            ),
        ];
        for (server, col, message, hint) in cases {
            let source = format!("server: {{{server}}}\n{CLIENT}");
            let found = only_error(&source);
            assert_eq!(
                (found.0, found.1, found.2.as_str(), found.3.as_str()),
                (1, *col, *message, *hint),
                "{server}"
            );
        }
        let (line, col, message, _) =
            only_error(&format!("server:\n  shell: x\n  ready:\n{CLIENT}"));
        assert_eq!(
            (line, col, message.as_str()),
            (3, 3, "`ready` needs `port: true` or `log:`")
        );
        let (line, col, message, _) =
            only_error(&format!("server:\n  command:\n    - x\n    -\n{CLIENT}"));
        assert_eq!(
            (line, col, message.as_str()),
            (
                4,
                6,
                "expected text for each argument of `command`, found nothing"
            )
        );
    }

    #[test]
    fn client_options_belong_to_one_kind_of_client() {
        let argv_hint = "a command client connects by itself; pass its options in its argv, e.g. `command: [redis-cli, -p, \"${port}\"]`";
        let found = errors(&format!(
            "{SERVER}client:\n  command: [redis-cli]\n  port: 1\n  reconnect: false\n  encoding: latin1\n{STEPS}"
        ));
        assert_eq!(
            found,
            [
                (
                    4,
                    3,
                    "`port` cannot be combined with `command:`; it configures the built-in client".into(),
                    argv_hint.into()
                ),
                (
                    5,
                    3,
                    "`reconnect` cannot be combined with `command:`; it configures the built-in client".into(),
                    argv_hint.into()
                ),
            ]
        );
        let (_, col, message, _) = only_error(&format!(
            "{SERVER}client: {{shell: x, retry_interval: 1s}}\n{STEPS}"
        ));
        assert_eq!(
            (col, message.as_str()),
            (
                20,
                "`retry_interval` cannot be combined with `shell:`; it configures the built-in client"
            )
        );
        let found = errors(&format!(
            "{SERVER}clients:\n  a: {{stderr: merge, cwd: x}}\n{STEPS}"
        ));
        assert_eq!(
            found,
            [
                (
                    3,
                    7,
                    "`stderr` only applies to a client program (`command:` or `shell:`)".into(),
                    "add `command:` or `shell:` to run a program as this client, or remove `stderr`".into()
                ),
                (
                    3,
                    22,
                    "`cwd` only applies to a client program (`command:` or `shell:`)".into(),
                    "add `command:` or `shell:` to run a program as this client, or remove `cwd`".into()
                ),
            ]
        );
        assert_eq!(
            only_error(&format!(
                "{SERVER}client: {{command: [x], shell: y}}\n{STEPS}"
            )),
            (
                2,
                24,
                "`shell` cannot be combined with `command:`".into(),
                COMMAND_OR_SHELL.into()
            )
        );
        assert_eq!(
            only_error(&format!(
                "{SERVER}client: {{command: [x], stderr: both}}\n{STEPS}"
            )),
            (
                2,
                32,
                "unknown stderr mode `both`".into(),
                "expected `separate` or `merge`".into()
            )
        );
        let (_, _, message, hint) = only_error(&format!(
            "{SERVER}client: {{command: [x], ready: port}}\n{STEPS}"
        ));
        assert_eq!(message, "unknown key `ready` in client `client`");
        assert_eq!(hint, "`ready` is a server option; it goes under `server:`");
    }

    #[test]
    fn signal_names_ignore_case_and_the_sig_prefix() {
        assert_eq!(signal_name("TERM"), Some("TERM"));
        assert_eq!(signal_name("sigterm"), Some("TERM"));
        assert_eq!(signal_name("SigUsr1"), Some("USR1"));
        assert_eq!(signal_name("SIG"), None);
        assert_eq!(signal_name("TERMINATE"), None);
    }
}
