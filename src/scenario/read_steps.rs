//! Reads the `steps:` list: each step's name, its argument forms, and the checks on them.

use super::diagnostic::{describe, quote};
use super::read_program::signal_name;
use super::reader::{Fields, Reader, ServerKind};
use super::registry::{self, Args, StepDef, Target};
use super::suggest;
use super::types::{CloseKind, ConnectionRef, Located, OutputStream, Step};
use super::yaml::{Kind, Node};

/// Caps the characters of a step's text as reports show it (`step failed at
/// FILE:LINE:COL: TEXT`); a longer step is cut, ending in `…`.
const STEP_TEXT: usize = 200;

pub(crate) fn is_error_code(code: &str) -> bool {
    code.len() >= 2
        && code.starts_with('E')
        && code[1..]
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

impl Reader<'_> {
    /// Reads the `steps:` list; `key` is the `steps` key, for errors about an empty list.
    pub(crate) fn steps(&mut self, key: &Node, node: &Node) -> Vec<Located<Step>> {
        let items = match &node.kind {
            Kind::Seq(items) if !items.is_empty() => items,
            _ if node.is_null() || matches!(&node.kind, Kind::Seq(_)) => {
                let at = if node.is_null() { key } else { node };
                let message = "`steps:` is empty; a scenario needs at least one step";
                let hint = "list the steps under `steps:`, one per line, each starting with `- `";
                self.error(at, message, Some(hint.into()));
                return Vec::new();
            }
            _ => {
                let message = format!(
                    "expected a list of steps for `steps`, found {}",
                    describe(node)
                );
                self.error(
                    node,
                    message,
                    Some("write each step on its own line, starting with `- `".into()),
                );
                return Vec::new();
            }
        };
        items
            .iter()
            .filter_map(|item| {
                let value = self.step(item)?;
                // Later steps may use what this one captures.
                if let Step::Expect { pattern, .. } | Step::ServerExpect { pattern, .. } = &value {
                    self.captured.extend(pattern.matcher.group_names());
                }
                if let Step::ExpectFrame { pattern, .. } | Step::ServerExpectFrame { pattern, .. } =
                    &value
                    && let crate::framing::FramePattern::Regex(regex) = &pattern.pattern
                {
                    self.captured.extend(regex.names().map(str::to_owned));
                }
                Some(Located {
                    line: item.start.line,
                    col: item.start.col,
                    text: self.source_text(item),
                    value,
                })
            })
            .collect()
    }

    /// Returns a node's source text: its first line only, without a
    /// trailing comment, trimmed, and cut to [`STEP_TEXT`] characters
    /// (ending in `…`) when longer.
    pub(crate) fn source_text(&self, node: &Node) -> String {
        let to = (node.end.line == node.start.line).then_some(node.end.col);
        let line = self.lines().slice(node.start.line, node.start.col, to);
        let text = without_comment(line).trim();
        let mut shown: String = text.chars().take(STEP_TEXT).collect();
        if shown.len() < text.len() {
            shown.push('…');
        }
        shown
    }

    fn step(&mut self, item: &Node) -> Option<Step> {
        let (name_node, arg) = match &item.kind {
            Kind::Scalar(..) if !item.is_null() => (item, None),
            Kind::Map(entries) if entries.len() == 1 => (&entries[0].0, Some(&entries[0].1)),
            Kind::Map(entries) if entries.len() > 1 => {
                let (first, extra) = (&entries[0].0, &entries[1].0);
                let (first, extra) = (first.scalar().unwrap_or("…"), extra.scalar().unwrap_or("…"));
                let message =
                    format!("a step has one name, but this one has `{first}` and `{extra}`");
                let hint = match registry::find(first)
                    .and_then(|def| def.shorthand.filter(|_| def.takes(extra)))
                {
                    Some(short) => format!(
                        "options go in a map under the step: `- {first}: {{{}: ..., {extra}: ...}}`",
                        short.key
                    ),
                    None => "start each step on its own line with `- `".to_owned(),
                };
                self.error(&entries[1].0, message, Some(hint));
                return None;
            }
            _ => {
                let message = format!("expected a step, found {}", describe(item));
                let hint = "a step is a name (`- kill_server`) or a name with an argument (`- send_line: hello`)";
                self.error(item, message, Some(hint.into()));
                return None;
            }
        };
        let Some(written) = name_node.scalar().filter(|_| !name_node.is_null()) else {
            self.error(
                name_node,
                format!("expected a step name, found {}", describe(name_node)),
                None,
            );
            return None;
        };
        let Some(def) = registry::find(written) else {
            let hint = suggest::hint(written, &registry::names());
            self.error(
                name_node,
                format!("unknown step {}", quote(written)),
                Some(hint),
            );
            return None;
        };
        let (name, before) = (def.name, self.error_count());
        self.check_server(def, name_node);
        let what = format!("`{name}`");
        // A step without a map form (`sleep`) reports a map argument itself.
        let fields = match arg {
            Some(map) if !def.has_map_form() && map.entries().is_some() => Fields::default(),
            _ => self.args(
                arg,
                def.shorthand.map(|s| s.key),
                &def.keys(),
                &what,
                def.expected,
            )?,
        };
        let client = if def.is_client_step() {
            let client = self.client_ref(&fields, item, def);
            self.check_client(def, name_node, &fields, client.as_deref());
            client
        } else {
            None
        };
        let connection = self.connection(&fields);
        if matches!(self.server, Some(ServerKind::Program))
            && let Some(key) = fields.key("connection")
            && let Some((message, hint)) = def.servers.refusal_program_connection(name)
        {
            self.error(key, message, Some(hint));
        }
        let timeout = self.opt_duration(&fields, "timeout");
        let args = Args {
            name,
            item,
            arg,
            fields,
            client,
            connection,
            timeout,
        };
        let step = (def.read)(self, &args)?;
        (self.error_count() == before).then_some(step)
    }

    /// Checks that a step suits the kind of server.
    fn check_server(&mut self, def: &StepDef, at: &Node) {
        let refusal = match &self.server {
            Some(ServerKind::External(address)) => def.servers.refusal_external(def.name, address),
            Some(ServerKind::Program) => {
                let proxied = self.proxies.as_ref().is_some_and(|p| !p.is_empty());
                def.servers.refusal_program(def.name, proxied)
            }
            _ => None,
        };
        if let Some((message, hint)) = refusal {
            self.error(at, message, Some(hint));
        }
    }

    /// Checks that a client step suits the kind of client it addresses (when that is known).
    fn check_client(
        &mut self,
        def: &StepDef,
        at: &Node,
        fields: &Fields<'_>,
        client: Option<&str>,
    ) {
        let known = self.clients.clone().unwrap_or_default();
        let name = match (client, known.as_slice()) {
            (Some(client), _) => client,
            (None, [only]) if fields.get("client").is_none() => only,
            _ => return,
        };
        let target = Target {
            name,
            program: self.command_clients.iter().any(|c| c == name),
            // Unknown when `server:` is broken: then nothing is said about it.
            fake_server: self.server.as_ref().map(|s| *s == ServerKind::Fake),
        };
        if let Some((message, hint)) = def.clients.refusal(def.name, &target) {
            self.error(at, message, Some(hint));
        }
    }

    /// Reads `kill_server`'s `signal:`, which only a server program can receive.
    pub(super) fn server_signal(&mut self, fields: &Fields<'_>) -> Option<Option<String>> {
        let Some(node) = fields.get("signal") else {
            return Some(None);
        };
        let signal = self.signal(node)?;
        if self.server == Some(ServerKind::Fake) {
            let message = "a signal needs a server program; a fake server's kill is always abrupt";
            let hint = "write `- kill_server` to reset every connection of the fake server";
            self.error(node, message, Some(hint.into()));
            return None;
        }
        Some(Some(signal))
    }

    /// Reads `expect_exit`'s `code:` or `signal:` (neither: any exit).
    pub(super) fn exit_status(
        &mut self,
        fields: &Fields<'_>,
    ) -> Option<(Option<i32>, Option<String>)> {
        match (fields.get("code"), fields.get("signal")) {
            (Some(_), Some(signal)) => {
                let at = fields.key("signal").unwrap_or(signal);
                let hint = "a program either exits with a code or is ended by a signal; give one, or neither to accept any exit";
                self.error(
                    at,
                    "`signal` cannot be combined with `code:`",
                    Some(hint.into()),
                );
                None
            }
            (Some(code), None) => Some((Some(self.exit_code(code)?), None)),
            (None, Some(signal)) => Some((None, Some(self.signal(signal)?))),
            (None, None) => Some((None, None)),
        }
    }

    /// Reads an exit code from 0 to 255.
    fn exit_code(&mut self, node: &Node) -> Option<i32> {
        if let Some(text) = node.plain() {
            let hint = if let Some(signal) = signal_name(text) {
                Some(format!(
                    "to expect an end by a signal, write `- expect_exit: {{signal: {signal}}}`"
                ))
            } else if humantime::parse_duration(text).is_ok() && text.parse::<u64>().is_err() {
                Some(format!(
                    "to give a timeout, write `- expect_exit: {{timeout: {text}}}`"
                ))
            } else {
                None
            };
            if let Some(hint) = hint {
                let message = format!(
                    "expected an exit code from 0 to 255 for `code`, found {}",
                    describe(node)
                );
                self.error(node, message, Some(hint));
                return None;
            }
        }
        self.number(node, "`code`", 0, 255).map(|n| n as i32)
    }

    /// Reads `client:`, which must name a declared client, and is required when there are several.
    fn client_ref(&mut self, fields: &Fields<'_>, item: &Node, def: &StepDef) -> Option<String> {
        let step = def.name;
        let known = self.clients.clone()?;
        let Some(node) = fields.get("client") else {
            if known.len() > 1 {
                let names: Vec<&str> = known.iter().map(String::as_str).collect();
                let given = def
                    .shorthand
                    .and_then(|short| {
                        let key = short.key;
                        Some(format!("{key}: {}, ", self.source_text(fields.get(key)?)))
                    })
                    .unwrap_or_default();
                let message = format!(
                    "`{step}` must say which client it is for: this scenario has {} clients",
                    known.len()
                );
                let hint = format!(
                    "add `client:` ({}), e.g. `- {step}: {{{given}client: {}}}`",
                    suggest::list(&names),
                    names[0]
                );
                self.error(item, message, Some(hint));
            }
            return None;
        };
        self.client_name(node, "`client`")
    }

    /// Checks that `node` names a declared client.
    fn client_name(&mut self, node: &Node, what: &str) -> Option<String> {
        let name = self.text(node, what)?;
        let known = self.clients.clone()?;
        if known.contains(&name) {
            return Some(name);
        }
        let names: Vec<&str> = known.iter().map(String::as_str).collect();
        let hint = match (suggest::closest(&name, &names), names.as_slice()) {
            (Some(close), _) => format!("did you mean `{close}`?"),
            (None, [only]) => format!("the only client is `{only}`"),
            _ => format!("the clients are {}", suggest::list_all(&names)),
        };
        self.error(node, format!("unknown client {}", quote(&name)), Some(hint));
        None
    }

    /// Reads `connection:`: a number from 1, or a client's name; absent means every connection.
    fn connection(&mut self, fields: &Fields<'_>) -> Option<ConnectionRef> {
        let Some(node) = fields.get("connection") else {
            return Some(ConnectionRef::All);
        };
        if node
            .plain()
            .is_some_and(|t| t.chars().all(|c| c.is_ascii_digit()) && !t.is_empty())
        {
            let index = self.number(node, "`connection`", 1, u32::MAX.into())?;
            return Some(ConnectionRef::Index(index as u32));
        }
        if node
            .scalar()
            .is_some_and(|t| !t.is_empty() && t.chars().all(|c| c.is_ascii_digit()))
        {
            let message = format!(
                "expected a connection number or a client name for `connection`, found {}",
                describe(node)
            );
            self.error(
                node,
                message,
                Some("write the number without quotes".into()),
            );
            return None;
        }
        self.client_name(node, "`connection`")
            .map(ConnectionRef::Client)
    }

    pub(super) fn count(
        &mut self,
        fields: &Fields<'_>,
        key: &str,
        item: &Node,
        missing: &str,
    ) -> Option<u32> {
        let Some(node) = fields.get(key) else {
            self.error(item, missing, Some(format!("for example `{{{key}: 1}}`")));
            return None;
        };
        self.number(node, &format!("`{key}`"), 1, u32::MAX.into())
            .map(|n| n as u32)
    }

    pub(super) fn error_code(&mut self, fields: &Fields<'_>, item: &Node) -> Option<String> {
        let Some(node) = fields.get("code") else {
            let hint = "for example `- expect_error: ECONNREFUSED`";
            self.error(
                item,
                "`expect_error` needs an error code",
                Some(hint.into()),
            );
            return None;
        };
        let code = self.text(node, "`code`")?;
        if is_error_code(&code) {
            return Some(code);
        }
        let upper = code.trim().to_ascii_uppercase();
        let hint = if is_error_code(&upper) {
            format!("did you mean `{upper}`?")
        } else {
            "error codes look like ECONNREFUSED, ECONNRESET or ETIMEDOUT".to_owned()
        };
        self.error(
            node,
            format!(
                "expected an error code like ECONNREFUSED, found {}",
                describe(node)
            ),
            Some(hint),
        );
        None
    }

    /// Reads `stream:` of `expect` and `expect_no`; `stderr` needs a client
    /// program whose stderr is separate.
    pub(super) fn stream(
        &mut self,
        fields: &Fields<'_>,
        client: Option<&str>,
    ) -> Option<OutputStream> {
        let Some(node) = fields.get("stream") else {
            return Some(OutputStream::Stdout);
        };
        let stream = self.choice(
            node,
            "stream",
            &[
                ("stdout", OutputStream::Stdout),
                ("stderr", OutputStream::Stderr),
            ],
        )?;
        if stream == OutputStream::Stdout {
            return Some(stream);
        }
        let known = self.clients.clone().unwrap_or_default();
        let target = match (client, known.as_slice()) {
            (Some(client), _) => client.to_owned(),
            (None, [only]) => only.clone(),
            _ => return Some(stream), // the client reference is reported elsewhere
        };
        let problem = if !self.command_clients.contains(&target) {
            Some((
                format!(
                    "`stream: stderr` needs a client program, and `{target}` is the built-in client"
                ),
                "a built-in client has no stderr: drop `stream:` to match what it received",
            ))
        } else if self.merged_clients.contains(&target) {
            Some((
                format!(
                    "`stream: stderr` reads a separate stderr, but `{target}` merges its stderr into its output"
                ),
                "drop `stream:` (with `stderr: merge`, `expect` already sees stderr), or make it `stderr: separate`",
            ))
        } else {
            None
        };
        match problem {
            Some((message, hint)) => {
                self.error(node, message, Some(hint.into()));
                None
            }
            None => Some(stream),
        }
    }

    pub(super) fn close_kind(&mut self, fields: &Fields<'_>, allow_any: bool) -> Option<CloseKind> {
        let Some(node) = fields.get("how") else {
            return Some(if allow_any {
                CloseKind::Any
            } else {
                CloseKind::Fin
            });
        };
        if allow_any
            && node
                .plain()
                .is_some_and(|t| humantime::parse_duration(t).is_ok())
        {
            let message = format!(
                "expected `fin`, `reset` or `any` for `how`, found {}",
                describe(node)
            );
            let hint = format!(
                "to give a timeout, write `- expect_closed: {{timeout: {}}}`",
                node.plain()?
            );
            self.error(node, message, Some(hint));
            return None;
        }
        if !allow_any && node.scalar() == Some("any") {
            let message = "`server_close` needs `fin` or `reset`, found `any`";
            let hint =
                "`any` only applies to `expect_closed`; `server_close` must choose how to close";
            self.error(node, message, Some(hint.into()));
            return None;
        }
        let fin = ("fin", CloseKind::Fin);
        let (reset, rst) = (("reset", CloseKind::Reset), ("rst", CloseKind::Reset));
        if allow_any {
            self.choice(
                node,
                "close kind",
                &[fin, reset, rst, ("any", CloseKind::Any)],
            )
        } else {
            self.choice(node, "close kind", &[fin, reset, rst])
        }
    }
}

/// Returns `line` without its YAML comment: from a `#` that starts the line
/// or follows a space or tab, outside quotes.
fn without_comment(line: &str) -> &str {
    let mut quote = None;
    let mut escaped = false;
    let mut after_space = true;
    for (at, c) in line.char_indices() {
        match (quote, c) {
            (Some('"'), '\\') if !escaped => {
                escaped = true;
                continue;
            }
            (Some(q), _) if c == q && !escaped => quote = None,
            (None, '"' | '\'')
                if after_space || at == 0 || line[..at].ends_with(['[', '{', ',', ':', '\'']) =>
            {
                quote = Some(c)
            }
            (None, '#') if after_space => return &line[..at],
            _ => {}
        }
        escaped = false;
        after_space = c == ' ' || c == '\t';
    }
    line
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    #[test]
    fn a_step_text_leaves_out_its_comment_but_not_a_hash_in_quotes() {
        for (line, text) in [
            (
                "expect: {regex: \"^two$\", timeout: 100ms}   # a comment",
                "expect: {regex: \"^two$\", timeout: 100ms}   ",
            ),
            ("send: \"a # b\" # c", "send: \"a # b\" "),
            ("send: 'it''s # in' # out", "send: 'it''s # in' "),
            ("send: \"\\\" # in\" # out", "send: \"\\\" # in\" "),
            ("send: a#b", "send: a#b"),
            ("kill_server #", "kill_server "),
        ] {
            assert_eq!(without_comment(line), text, "{line}");
        }
    }

    use super::*;
    use crate::client::encoding::Encoding;
    use crate::scenario::Data;
    use crate::scenario::types::Pattern;
    use crate::scenario::{LoadError, Scenario, load_str};

    const ONE: &str = "server: {fake: echo}\nclient: {}\nsteps:\n";
    const TWO: &str = "server: {fake: echo}\nclients: {alice: {}, bob: {}}\nsteps:\n";
    const EXTERNAL: &str = "server: {address: \"127.0.0.1:6379\"}\nclient: {}\nsteps:\n";
    /// A server program and a client program.
    const PROGRAMS: &str = "server: {command: [srv]}\nclient: {command: [cli]}\nsteps:\n";
    /// A fake server and a client program.
    const FAKE_PROGRAM: &str = "server: {fake: echo}\nclient: {shell: cli}\nsteps:\n";
    /// A server program, a client program `prog` and a built-in client `tcp`.
    const MIXED: &str =
        "server: {command: [srv]}\nclients: {prog: {command: [cli]}, tcp: {}}\nsteps:\n";

    fn load(header: &str, steps: &str) -> Result<Scenario, LoadError> {
        load_str(Path::new("s.yaml"), &format!("{header}{steps}"))
    }

    fn steps(header: &str, steps: &str) -> Vec<Step> {
        let scenario =
            load(header, steps).unwrap_or_else(|e| panic!("expected the steps to load:\n{e}"));
        scenario.steps.into_iter().map(|s| s.value).collect()
    }

    /// Returns the only diagnostic as (line, col, message, hint); steps start on line 4.
    fn error(header: &str, steps: &str) -> (usize, usize, String, String) {
        let error = load(header, steps).expect_err("expected an error");
        assert_eq!(error.diagnostics().len(), 1, "expected one error:\n{error}");
        let d = &error.diagnostics()[0];
        (
            d.line,
            d.col,
            d.message.clone(),
            d.hint.clone().unwrap_or_default(),
        )
    }

    fn text(text: &str) -> Data {
        Data::Text {
            text: text.into(),
            encoding: Encoding::Utf8,
        }
    }

    fn bytes(bytes: &[u8], encoding: Encoding) -> Data {
        Data::Bytes {
            bytes: bytes.to_vec(),
            encoding,
        }
    }

    fn pattern(source: &str) -> Pattern {
        Pattern {
            source: source.into(),
            matcher: std::sync::Arc::new(Pattern::compile(source).unwrap()),
            vars: false,
        }
    }

    fn secs(n: u64) -> Option<Duration> {
        Some(Duration::from_secs(n))
    }

    #[test]
    fn reads_every_step_form() {
        let me = || Some("client".to_owned());
        let source = r#"
  - send: hello
  - send: 42
  - send: {text: "café", encoding: latin1}
  - send: {hex: "68 69"}
  - send: {base64: aGk=, client: client}
  - send_line: hi
  - expect: "^hello$"
  - expect: {regex: "a|b", timeout: 1s}
  - expect_no: error
  - expect_no: {regex: error, timeout: 500ms}
  - end
  - end: bye
  - end: {client: client}
  - end: {hex: "00"}
  - send_quit
  - send_quit: {client: client}
  - wait_connected
  - wait_connected: 2s
  - wait_connected: {timeout: 3s, client: client}
  - wait_reconnect: {}
  - wait_reconnect:
  - wait_retry: 2
  - wait_retry: {retry: 3, timeout: 4s}
  - expect_error: ECONNREFUSED
  - expect_error: {code: ECONNRESET, timeout: 1s}
  - expect_gave_up
  - expect_gave_up: 10s
  - expect_closed
  - expect_closed: fin
  - expect_closed: rst
  - expect_closed: {how: reset, timeout: 1s}
  - sleep: 100ms
  - kill_server
  - stop_server: {}
  - start_server:
  - server_send: "hi\n"
  - server_send: {hex: ff, connection: 2}
  - server_send: {text: x, connection: client}
  - server_expect: "^hi"
  - server_expect: {regex: x, timeout: 1s, connection: 1}
  - server_close
  - server_close: rst
  - server_close: {how: fin, connection: 1}
  - server_half_close
  - server_half_close: {connection: client}
  - expect_connections: 2
  - expect_connections: {count: 3, timeout: 1s}
  - "kill_server"
"#;
        let expected = [
            Step::Send {
                client: None,
                pieces: None,
                data: text("hello"),
            },
            Step::Send {
                client: None,
                pieces: None,
                data: text("42"),
            },
            Step::Send {
                client: None,
                pieces: None,
                data: Data::Text {
                    text: "café".into(),
                    encoding: Encoding::Latin1,
                },
            },
            Step::Send {
                client: None,
                pieces: None,
                data: bytes(b"hi", Encoding::Hex),
            },
            Step::Send {
                client: me(),
                pieces: None,
                data: bytes(b"hi", Encoding::Base64),
            },
            Step::SendLine {
                client: None,
                pieces: None,
                data: text("hi"),
            },
            Step::Expect {
                client: None,
                pattern: pattern("^hello$"),
                timeout: None,
                stream: OutputStream::Stdout,
            },
            Step::Expect {
                client: None,
                pattern: pattern("a|b"),
                timeout: secs(1),
                stream: OutputStream::Stdout,
            },
            Step::ExpectNo {
                client: None,
                pattern: pattern("error"),
                window: None,
                stream: OutputStream::Stdout,
            },
            Step::ExpectNo {
                client: None,
                pattern: pattern("error"),
                window: Some(Duration::from_millis(500)),
                stream: OutputStream::Stdout,
            },
            Step::End {
                client: None,
                data: None,
            },
            Step::End {
                client: None,
                data: Some(text("bye")),
            },
            Step::End {
                client: me(),
                data: None,
            },
            Step::End {
                client: None,
                data: Some(bytes(b"\0", Encoding::Hex)),
            },
            Step::SendQuit { client: None },
            Step::SendQuit { client: me() },
            Step::WaitConnected {
                client: None,
                timeout: None,
            },
            Step::WaitConnected {
                client: None,
                timeout: secs(2),
            },
            Step::WaitConnected {
                client: me(),
                timeout: secs(3),
            },
            Step::WaitReconnect {
                client: None,
                timeout: None,
            },
            Step::WaitReconnect {
                client: None,
                timeout: None,
            },
            Step::WaitRetry {
                client: None,
                retry: 2,
                timeout: None,
            },
            Step::WaitRetry {
                client: None,
                retry: 3,
                timeout: secs(4),
            },
            Step::ExpectError {
                client: None,
                code: "ECONNREFUSED".into(),
                timeout: None,
            },
            Step::ExpectError {
                client: None,
                code: "ECONNRESET".into(),
                timeout: secs(1),
            },
            Step::ExpectGaveUp {
                client: None,
                timeout: None,
            },
            Step::ExpectGaveUp {
                client: None,
                timeout: secs(10),
            },
            Step::ExpectClosed {
                client: None,
                how: CloseKind::Any,
                timeout: None,
            },
            Step::ExpectClosed {
                client: None,
                how: CloseKind::Fin,
                timeout: None,
            },
            Step::ExpectClosed {
                client: None,
                how: CloseKind::Reset,
                timeout: None,
            },
            Step::ExpectClosed {
                client: None,
                how: CloseKind::Reset,
                timeout: secs(1),
            },
            Step::Sleep {
                duration: Duration::from_millis(100),
            },
            Step::KillServer { signal: None },
            Step::StopServer,
            Step::StartServer,
            Step::ServerSend {
                connection: ConnectionRef::All,
                data: text("hi\n"),
            },
            Step::ServerSend {
                connection: ConnectionRef::Index(2),
                data: bytes(b"\xff", Encoding::Hex),
            },
            Step::ServerSend {
                connection: ConnectionRef::Client("client".into()),
                data: text("x"),
            },
            Step::ServerExpect {
                connection: ConnectionRef::All,
                pattern: pattern("^hi"),
                timeout: None,
            },
            Step::ServerExpect {
                connection: ConnectionRef::Index(1),
                pattern: pattern("x"),
                timeout: secs(1),
            },
            Step::ServerClose {
                connection: ConnectionRef::All,
                how: CloseKind::Fin,
            },
            Step::ServerClose {
                connection: ConnectionRef::All,
                how: CloseKind::Reset,
            },
            Step::ServerClose {
                connection: ConnectionRef::Index(1),
                how: CloseKind::Fin,
            },
            Step::ServerHalfClose {
                connection: ConnectionRef::All,
            },
            Step::ServerHalfClose {
                connection: ConnectionRef::Client("client".into()),
            },
            Step::ExpectConnections {
                count: 2,
                timeout: None,
            },
            Step::ExpectConnections {
                count: 3,
                timeout: secs(1),
            },
            Step::KillServer { signal: None },
        ];
        let loaded = steps(ONE, source);
        assert_eq!(loaded.len(), expected.len());
        for (index, (got, want)) in loaded.iter().zip(&expected).enumerate() {
            assert_eq!(got, want, "step {index}");
        }
        // Latin-1 text goes out as Latin-1 bytes.
        let Step::Send { data, .. } = &loaded[2] else {
            panic!("expected a send, found {:?}", loaded[2]);
        };
        assert_eq!(data.literal().unwrap(), b"caf\xe9");
    }

    #[test]
    fn steps_remember_where_they_were_written() {
        let scenario = load(
            ONE,
            "  - kill_server   # note\n  - expect: {regex: x,\n      timeout: 1s}\n",
        )
        .unwrap();
        let found: Vec<(usize, usize, &str)> = scenario
            .steps
            .iter()
            .map(|s| (s.line, s.col, s.text.as_str()))
            .collect();
        assert_eq!(found, [(4, 5, "kill_server"), (5, 5, "expect: {regex: x,")]);
    }

    #[test]
    fn patterns_are_multi_line_and_crlf_aware() {
        let [Step::Expect { pattern, .. }] = &steps(ONE, "  - expect: \"^b$\"\n")[..] else {
            panic!("expected one expect step")
        };
        assert!(pattern.matcher.regex().is_match("a\r\nb\r\n"));
    }

    #[test]
    fn two_clients_need_names() {
        let loaded = steps(
            TWO,
            "  - send: {text: x, client: bob}\n  - server_close: {connection: alice}\n",
        );
        assert_eq!(
            loaded[0],
            Step::Send {
                client: Some("bob".into()),
                pieces: None,
                data: text("x")
            }
        );
        assert_eq!(
            loaded[1],
            Step::ServerClose {
                connection: ConnectionRef::Client("alice".into()),
                how: CloseKind::Fin
            }
        );
        let (line, col, message, hint) = error(TWO, "  - send_quit\n");
        assert_eq!((line, col), (4, 5));
        assert_eq!(
            message,
            "`send_quit` must say which client it is for: this scenario has 2 clients"
        );
        assert_eq!(
            hint,
            "add `client:` (`alice` or `bob`), e.g. `- send_quit: {client: alice}`"
        );
        let (_, _, _, hint) = error(TWO, "  - expect: \"^hi$\"\n");
        assert_eq!(
            hint,
            "add `client:` (`alice` or `bob`), e.g. `- expect: {regex: \"^hi$\", client: alice}`"
        );
    }

    #[test]
    fn unknown_client_names_are_errors() {
        let (line, col, message, hint) = error(TWO, "  - send: {text: x, client: alicia}\n");
        assert_eq!(
            (line, col, message.as_str(), hint.as_str()),
            (4, 29, "unknown client `alicia`", "did you mean `alice`?")
        );
        let (_, _, message, hint) = error(ONE, "  - wait_connected: {client: zed}\n");
        assert_eq!(
            (message.as_str(), hint.as_str()),
            ("unknown client `zed`", "the only client is `client`")
        );
        let (_, _, message, hint) = error(TWO, "  - server_send: {text: x, connection: carol}\n");
        assert_eq!(
            (message.as_str(), hint.as_str()),
            (
                "unknown client `carol`",
                "the clients are `alice` and `bob`"
            )
        );
        let (_, _, message, _) = error(ONE, "  - server_half_close: {connection: 0}\n");
        assert_eq!(
            message,
            "expected a whole number of 1 or more for `connection`, found the number `0`"
        );
        let (_, _, _, hint) = error(ONE, "  - server_half_close: {connection: \"1\"}\n");
        assert_eq!(hint, "write the number without quotes");
    }

    #[test]
    fn unknown_step_suggests_the_closest() {
        let (line, col, message, hint) = error(ONE, "  - wait_connected\n  - kil_server\n");
        assert_eq!(
            (line, col, message.as_str(), hint.as_str()),
            (
                5,
                5,
                "unknown step `kil_server`",
                "did you mean `kill_server`?"
            )
        );
        let (line, col, message, _) = error(ONE, "  - sendline: {text: x}\n");
        assert_eq!(
            (line, col, message.as_str()),
            (4, 5, "unknown step `sendline`")
        );
        let (_, _, _, hint) = error(ONE, "  - dance\n");
        assert!(hint.starts_with("expected `send`, `send_line`"), "{hint}");
    }

    #[test]
    fn bad_step_values_point_at_the_value() {
        let cases: &[(&str, usize, &str, &str)] = &[
            (
                "  - sleep: 5\n",
                12,
                "expected a duration for `sleep`, found the number `5` without a unit",
                "add a unit: `5s` or `5ms` (durations look like 500ms, 3s or 1m)",
            ),
            (
                "  - wait_reconnect: soon\n",
                21,
                "expected a duration for `timeout`, found `soon`",
                "durations look like 500ms, 3s or 1m",
            ),
            (
                "  - expect: \"(abc\"\n",
                13,
                "invalid regex: unclosed group",
                "regexes use Rust regex syntax; escape special characters like `(`, `[` or `.` with `\\`",
            ),
            (
                "  - send: {hex: abc}\n",
                17,
                "invalid hex data: odd number of digits",
                "hex data is pairs of hex digits, e.g. `hex: 48 65 6c 6c 6f`",
            ),
            (
                "  - send: {hex: zz}\n",
                17,
                "invalid hex data: invalid character 'z' at position 0",
                "hex data is pairs of hex digits, e.g. `hex: 48 65 6c 6c 6f`",
            ),
            (
                "  - send: {base64: \"!!!\"}\n",
                20,
                "invalid base64 data: invalid symbol 33, offset 0",
                "base64 data looks like `aGVsbG8=`",
            ),
            (
                "  - send: {text: x, encoding: utf-9}\n",
                31,
                "unknown encoding `utf-9`",
                "did you mean `utf8`?",
            ),
            (
                "  - send: {text: x, encoding: base64}\n",
                31,
                "`encoding: base64` cannot be used with `text:`",
                "write the bytes with `base64:` instead of `text:`, e.g. `{base64: ...}`",
            ),
            (
                "  - send: {text: é, encoding: ascii}\n",
                18,
                "character 'é' at position 0 cannot be written as ascii",
                "use `encoding: utf8`, or write the bytes with `hex:`",
            ),
            (
                "  - send: {text: x, hex: \"00\"}\n",
                21,
                "`hex:` cannot be combined with `text:`",
                "give exactly one of `text:`, `hex:` or `base64:`",
            ),
            (
                "  - send: {hex: \"00\", encoding: latin1}\n",
                23,
                "`encoding:` only applies to `text:`",
                "`hex:` and `base64:` data need no encoding; use `text:` for encoded text",
            ),
            (
                "  - expect_error: econnrefused\n",
                19,
                "expected an error code like ECONNREFUSED, found `econnrefused`",
                "did you mean `ECONNREFUSED`?",
            ),
            (
                "  - expect_error: refused\n",
                19,
                "expected an error code like ECONNREFUSED, found `refused`",
                "error codes look like ECONNREFUSED, ECONNRESET or ETIMEDOUT",
            ),
            (
                "  - expect_closed: 2s\n",
                20,
                "expected `fin`, `reset` or `any` for `how`, found `2s`",
                "to give a timeout, write `- expect_closed: {timeout: 2s}`",
            ),
            (
                "  - expect_closed: finn\n",
                20,
                "unknown close kind `finn`",
                "did you mean `fin`?",
            ),
            (
                "  - server_close: any\n",
                19,
                "`server_close` needs `fin` or `reset`, found `any`",
                "`any` only applies to `expect_closed`; `server_close` must choose how to close",
            ),
            (
                "  - wait_retry: 0\n",
                17,
                "expected a whole number of 1 or more for `retry`, found the number `0`",
                "",
            ),
            (
                "  - expect: {regex: x, timout: 1s}\n",
                24,
                "unknown key `timout` in `expect`",
                "did you mean `timeout`?",
            ),
            (
                "  - stop_server: {now: true}\n",
                19,
                "unknown key `now` in `stop_server`",
                "`stop_server` takes no options",
            ),
            (
                "  - kill_server: {sinal: TERM}\n",
                19,
                "unknown key `sinal` in `kill_server`",
                "did you mean `signal`?",
            ),
            (
                "  - send_line: [a, b]\n",
                16,
                "expected text, or a map with `text:`, `hex:`, `base64:`, `repeat:` or `random:` for `send_line`, found a list",
                "",
            ),
            (
                "  - stop_server: now\n",
                18,
                "expected nothing for `stop_server`, found `now`",
                "",
            ),
            (
                "  - kill_server: [TERM]\n",
                18,
                "expected nothing, a signal name, or a map with `signal:` for `kill_server`, found a list",
                "",
            ),
            (
                "  - sleep: {duration: 1s}\n",
                12,
                "expected a duration for `sleep`, found a map",
                "for example `- sleep: 500ms`",
            ),
        ];
        for (source, col, message, hint) in cases {
            let found = error(ONE, source);
            assert_eq!(
                (found.0, found.1, found.2.as_str(), found.3.as_str()),
                (4, *col, *message, *hint),
                "{source}"
            );
        }
    }

    #[test]
    fn required_arguments_are_reported_at_the_step() {
        let cases: &[(&str, &str)] = &[
            (
                "  - send\n",
                "`send` needs data: text, or a map with `text:`, `hex:` or `base64:`",
            ),
            (
                "  - send_line: {client: client}\n",
                "`send_line` needs data: text, or a map with `text:`, `hex:` or `base64:`",
            ),
            ("  - expect:\n", "`expect` needs a regex"),
            ("  - wait_retry\n", "`wait_retry` needs a retry number"),
            (
                "  - expect_error: {timeout: 1s}\n",
                "`expect_error` needs an error code",
            ),
            ("  - sleep\n", "`sleep` needs a duration"),
            (
                "  - expect_connections\n",
                "`expect_connections` needs a number of connections",
            ),
        ];
        for (source, message) in cases {
            let found = error(ONE, source);
            assert_eq!(
                (found.0, found.1, found.2.as_str()),
                (4, 5, *message),
                "{source}"
            );
        }
    }

    #[test]
    fn malformed_step_items_are_reported() {
        let (line, col, message, hint) = error(ONE, "  - expect: hi\n    timeout: 1s\n");
        assert_eq!((line, col), (5, 5));
        assert_eq!(
            message,
            "a step has one name, but this one has `expect` and `timeout`"
        );
        assert_eq!(
            hint,
            "options go in a map under the step: `- expect: {regex: ..., timeout: ...}`"
        );
        let (_, _, message, _) = error(ONE, "  - [kill_server]\n");
        assert_eq!(message, "expected a step, found a list");
        let (_, _, message, _) = error(ONE, "  -\n");
        assert_eq!(message, "expected a step, found nothing");
        let (line, col, message, _) = error(ONE, "  - {}\n");
        assert_eq!(
            (line, col, message.as_str()),
            (4, 5, "expected a step, found a map")
        );
        let (_, _, message, _) = error(
            "server: {fake: echo}\nclient: {}\nsteps: {kill_server: {}}\n",
            "",
        );
        assert_eq!(message, "expected a list of steps for `steps`, found a map");
    }

    #[test]
    fn server_steps_need_a_fake_server() {
        let error = load(
            EXTERNAL,
            "  - wait_connected\n  - kill_server\n  - server_send: {text: hi, connection: 1}\n",
        )
        .unwrap_err();
        let found: Vec<(usize, usize, &str)> = error
            .diagnostics()
            .iter()
            .map(|d| (d.line, d.col, d.message.as_str()))
            .collect();
        let message = "server steps need a fake server; this scenario targets an external server at 127.0.0.1:6379";
        assert_eq!(found, [(5, 5, message), (6, 5, message)]);
        assert_eq!(
            error.diagnostics()[0].hint.as_deref(),
            Some("remove `kill_server`, or use `server: {fake: echo}` instead of `address:`")
        );
    }

    /// Checks that each (header, steps) case has one error on line 4, at that column, with that message and hint.
    fn expect_errors(cases: &[(&str, &str, usize, &str, &str)]) {
        for (header, source, col, message, hint) in cases {
            let found = error(header, source);
            assert_eq!(
                (found.0, found.1, found.2.as_str(), found.3.as_str()),
                (4, *col, *message, *hint),
                "{source}"
            );
        }
    }

    #[test]
    fn server_expect_no_mirrors_server_expect() {
        let loaded = steps(
            TWO,
            "  - server_expect_no: ERROR\n  - server_expect_no: {regex: \"^x$\", timeout: 500ms, connection: bob}\n  - server_expect_no: {regex: y, connection: 2}\n",
        );
        assert_eq!(
            loaded,
            [
                Step::ServerExpectNo {
                    connection: ConnectionRef::All,
                    pattern: pattern("ERROR"),
                    window: None,
                },
                Step::ServerExpectNo {
                    connection: ConnectionRef::Client("bob".into()),
                    pattern: pattern("^x$"),
                    window: Some(Duration::from_millis(500)),
                },
                Step::ServerExpectNo {
                    connection: ConnectionRef::Index(2),
                    pattern: pattern("y"),
                    window: None,
                },
            ]
        );
        assert_eq!(loaded[0].name(), "server_expect_no");
        // A server program's output, as with server_expect: no connection.
        let loaded = steps(
            PROGRAMS,
            "  - server_expect_no: {regex: panic, timeout: 1s}\n",
        );
        assert_eq!(loaded.len(), 1);
        let cases: &[(&str, &str, usize, &str, &str)] = &[
            (
                PROGRAMS,
                "  - server_expect_no: {regex: x, connection: 1}\n",
                34,
                "`connection` needs a fake server; with a server program, `server_expect_no` matches the program's output",
                "remove `connection:`",
            ),
            (
                EXTERNAL,
                "  - server_expect_no: x\n",
                5,
                "server steps need a fake server; this scenario targets an external server at 127.0.0.1:6379",
                "remove `server_expect_no`, or use `server: {fake: echo}` instead of `address:`",
            ),
            (
                ONE,
                "  - server_expect_no: {timeout: 1s}\n",
                5,
                "`server_expect_no` needs a regex",
                "for example `- server_expect_no: \"^hello$\"` or `- server_expect_no: {regex: \"^hello$\", timeout: 2s}`",
            ),
            (
                ONE,
                "  - server_expect_no: {regex: x, client: client}\n",
                34,
                "unknown key `client` in `server_expect_no`",
                "valid keys here: `regex`, `timeout` or `connection`",
            ),
            (
                ONE,
                "  - server_expect_no\n",
                5,
                "`server_expect_no` needs a regex",
                "for example `- server_expect_no: \"^hello$\"` or `- server_expect_no: {regex: \"^hello$\", timeout: 2s}`",
            ),
        ];
        expect_errors(cases);
    }

    fn signal(name: &str) -> Option<String> {
        Some(name.to_owned())
    }

    /// Returns every diagnostic as (line, col, message); steps start on line 4.
    fn all_errors(header: &str, steps: &str) -> Vec<(usize, usize, String)> {
        let error = load(header, steps).expect_err("expected errors");
        error
            .diagnostics()
            .iter()
            .map(|d| (d.line, d.col, d.message.clone()))
            .collect()
    }

    #[test]
    fn reads_program_steps() {
        let source = r#"
  - kill_server
  - kill_server: TERM
  - kill_server: sigint
  - kill_server: {signal: SIGHUP}
  - kill_server: Usr1
  - stop_server
  - start_server
  - kill_client
  - kill_client: term
  - kill_client: {signal: KILL, client: client}
  - expect_exit
  - expect_exit: 0
  - expect_exit: {code: 3, timeout: 1s}
  - expect_exit: {signal: sigterm, client: client}
  - expect_exit: {}
  - send_line: PING
  - send: x
  - end
  - send_quit
  - expect: PONG
  - expect_no: ERR
  - expect: {regex: warning, stream: stderr}
  - expect_no: {regex: panic, stream: stderr, timeout: 1s}
  - expect: {regex: ok, stream: stdout}
  - sleep: 1s
"#;
        let me = || Some("client".to_owned());
        let exit = |code: Option<i32>, signal: Option<String>, timeout, client| Step::ExpectExit {
            client,
            code,
            signal,
            timeout,
        };
        let expected = [
            Step::KillServer { signal: None },
            Step::KillServer {
                signal: signal("TERM"),
            },
            Step::KillServer {
                signal: signal("INT"),
            },
            Step::KillServer {
                signal: signal("HUP"),
            },
            Step::KillServer {
                signal: signal("USR1"),
            },
            Step::StopServer,
            Step::StartServer,
            Step::KillClient {
                client: None,
                signal: None,
            },
            Step::KillClient {
                client: None,
                signal: signal("TERM"),
            },
            Step::KillClient {
                client: me(),
                signal: signal("KILL"),
            },
            exit(None, None, None, None),
            exit(Some(0), None, None, None),
            exit(Some(3), None, secs(1), None),
            exit(None, signal("TERM"), None, me()),
            exit(None, None, None, None),
            Step::SendLine {
                client: None,
                pieces: None,
                data: text("PING"),
            },
            Step::Send {
                client: None,
                pieces: None,
                data: text("x"),
            },
            Step::End {
                client: None,
                data: None,
            },
            Step::SendQuit { client: None },
            Step::Expect {
                client: None,
                pattern: pattern("PONG"),
                timeout: None,
                stream: OutputStream::Stdout,
            },
            Step::ExpectNo {
                client: None,
                pattern: pattern("ERR"),
                window: None,
                stream: OutputStream::Stdout,
            },
            Step::Expect {
                client: None,
                pattern: pattern("warning"),
                timeout: None,
                stream: OutputStream::Stderr,
            },
            Step::ExpectNo {
                client: None,
                pattern: pattern("panic"),
                window: secs(1),
                stream: OutputStream::Stderr,
            },
            Step::Expect {
                client: None,
                pattern: pattern("ok"),
                timeout: None,
                stream: OutputStream::Stdout,
            },
            Step::Sleep {
                duration: Duration::from_secs(1),
            },
        ];
        let loaded = steps(PROGRAMS, source);
        assert_eq!(loaded.len(), expected.len());
        for (index, (got, want)) in loaded.iter().zip(&expected).enumerate() {
            assert_eq!(got, want, "step {index}");
        }
        // A client program sees connections through a fake server.
        let loaded = steps(
            FAKE_PROGRAM,
            "  - wait_connected\n  - wait_reconnect: 2s\n  - expect_closed: rst\n  - server_close\n  - kill_server\n",
        );
        assert_eq!(loaded.len(), 5);
        // Several clients: each step names its own, of the right kind.
        let loaded = steps(
            MIXED,
            "  - kill_client: {client: prog}\n  - expect_exit: {code: 1, client: prog}\n  - wait_retry: {retry: 1, client: tcp}\n",
        );
        assert_eq!(loaded[1], exit(Some(1), None, None, Some("prog".into())));
    }

    #[test]
    fn bad_signals_are_named_and_listed() {
        let all = "`KILL`, `TERM`, `INT`, `HUP`, `QUIT`, `USR1`, `USR2`, `STOP` or `CONT`";
        let cases: &[(&str, usize, &str, String)] = &[
            (
                "  - kill_server: TREM\n",
                18,
                "unknown signal `TREM`",
                format!("did you mean `TERM`? signals are {all}"),
            ),
            (
                "  - kill_client: SIGKIL\n",
                18,
                "unknown signal `SIGKIL`",
                format!("did you mean `KILL`? signals are {all}"),
            ),
            (
                "  - kill_client: {signal: BOGUS}\n",
                27,
                "unknown signal `BOGUS`",
                format!("signals are {all}"),
            ),
            (
                "  - kill_server: 9\n",
                18,
                "expected a signal name, found the number `9`",
                "write signals by name: `KILL`".into(),
            ),
            (
                "  - expect_exit: {signal: 10}\n",
                27,
                "expected a signal name, found the number `10`",
                format!("write signals by name: {all}"),
            ),
            (
                "  - kill_server: {signal: [TERM]}\n",
                27,
                "expected text for `signal`, found a list",
                String::new(),
            ),
        ];
        for (source, col, message, hint) in cases {
            let found = error(PROGRAMS, source);
            assert_eq!(
                (found.0, found.1, found.2.as_str(), found.3.as_str()),
                (4, *col, *message, hint.as_str()),
                "{source}"
            );
        }
    }

    #[test]
    fn bad_exit_expectations_point_at_the_value() {
        let cases: &[(&str, usize, &str, &str)] = &[
            (
                "  - expect_exit: {code: 0, signal: TERM}\n",
                28,
                "`signal` cannot be combined with `code:`",
                "a program either exits with a code or is ended by a signal; give one, or neither to accept any exit",
            ),
            (
                "  - expect_exit: TERM\n",
                18,
                "expected an exit code from 0 to 255 for `code`, found `TERM`",
                "to expect an end by a signal, write `- expect_exit: {signal: TERM}`",
            ),
            (
                "  - expect_exit: sigkill\n",
                18,
                "expected an exit code from 0 to 255 for `code`, found `sigkill`",
                "to expect an end by a signal, write `- expect_exit: {signal: KILL}`",
            ),
            (
                "  - expect_exit: 2s\n",
                18,
                "expected an exit code from 0 to 255 for `code`, found `2s`",
                "to give a timeout, write `- expect_exit: {timeout: 2s}`",
            ),
            (
                "  - expect_exit: 256\n",
                18,
                "expected a whole number from 0 to 255 for `code`, found the number `256`",
                "",
            ),
            (
                "  - expect_exit: \"1\"\n",
                18,
                "expected a whole number from 0 to 255 for `code`, found the string \"1\"",
                "write the number without quotes",
            ),
            (
                "  - expect_exit: {code: 1, timeout: 5}\n",
                37,
                "expected a duration for `timeout`, found the number `5` without a unit",
                "add a unit: `5s` or `5ms` (durations look like 500ms, 3s or 1m)",
            ),
            (
                "  - expect_exit: [0]\n",
                18,
                "expected nothing, an exit code, or a map with `code:` or `signal:` for `expect_exit`, found a list",
                "",
            ),
        ];
        for (source, col, message, hint) in cases {
            let found = error(PROGRAMS, source);
            assert_eq!(
                (found.0, found.1, found.2.as_str(), found.3.as_str()),
                (4, *col, *message, *hint),
                "{source}"
            );
        }
    }

    #[test]
    fn steps_must_suit_the_kind_of_client() {
        let attempts = "expect its output instead, e.g. `- expect: \"Connection refused\"`";
        let cases: &[(&str, &str, usize, &str, &str)] = &[
            (
                FAKE_PROGRAM,
                "  - wait_retry: 1\n",
                5,
                "`wait_retry` does not apply to a command client: tcprun cannot see a program's connect attempts",
                attempts,
            ),
            (
                FAKE_PROGRAM,
                "  - expect_error: ECONNREFUSED\n",
                5,
                "`expect_error` does not apply to a command client: tcprun cannot see a program's connect attempts",
                attempts,
            ),
            (
                PROGRAMS,
                "  - expect_gave_up: {timeout: 1s}\n",
                5,
                "`expect_gave_up` does not apply to a command client: tcprun cannot see a program's connect attempts",
                attempts,
            ),
            (
                PROGRAMS,
                "  - wait_connected\n",
                5,
                "`wait_connected` for a command client needs a fake server: tcprun sees a program's connections from the server side only",
                "expect the program's output instead, or use `server: {fake: ...}`",
            ),
            (
                MIXED,
                "  - expect_closed: {client: prog}\n",
                5,
                "`expect_closed` for a command client needs a fake server: tcprun sees a program's connections from the server side only",
                "expect the program's output instead, or use `server: {fake: ...}`",
            ),
            (
                ONE,
                "  - kill_client\n",
                5,
                "`kill_client` needs a command client, and `client` is the built-in client",
                "to drop a built-in client's connection, use `server_close`",
            ),
            (
                MIXED,
                "  - expect_exit: {code: 0, client: tcp}\n",
                5,
                "`expect_exit` needs a command client, and `tcp` is the built-in client",
                "give the client `command:` or `shell:` to run a program",
            ),
            (
                MIXED,
                "  - kill_client: TERM\n",
                5,
                "`kill_client` must say which client it is for: this scenario has 2 clients",
                "add `client:` (`prog` or `tcp`), e.g. `- kill_client: {signal: TERM, client: prog}`",
            ),
            (
                MIXED,
                "  - expect_exit\n",
                5,
                "`expect_exit` must say which client it is for: this scenario has 2 clients",
                "add `client:` (`prog` or `tcp`), e.g. `- expect_exit: {client: prog}`",
            ),
            (
                ONE,
                "  - expect_exit: {client: clint}\n",
                27,
                "unknown client `clint`",
                "did you mean `client`?",
            ),
            (
                ONE,
                "  - expect: {regex: x, stream: stderr}\n",
                32,
                "`stream: stderr` needs a client program, and `client` is the built-in client",
                "a built-in client has no stderr: drop `stream:` to match what it received",
            ),
            (
                "server: {fake: echo}\nclient: {shell: cli, stderr: merge}\nsteps:\n",
                "  - expect_no: {regex: x, stream: stderr}\n",
                35,
                "`stream: stderr` reads a separate stderr, but `client` merges its stderr into its output",
                "drop `stream:` (with `stderr: merge`, `expect` already sees stderr), or make it `stderr: separate`",
            ),
            (
                FAKE_PROGRAM,
                "  - expect: {regex: x, stream: stdrr}\n",
                32,
                "unknown stream `stdrr`",
                "did you mean `stderr`?",
            ),
        ];
        expect_errors(cases);
        // wait_connected through an external server cannot be seen either.
        let (_, _, message, _) = error(
            "server: {address: \"h:1\"}\nclient: {command: [cli]}\nsteps:\n",
            "  - wait_reconnect\n",
        );
        assert!(message.starts_with("`wait_reconnect` for a command client needs a fake server"));
    }

    #[test]
    fn server_programs_take_no_connection_steps() {
        let source = "  - server_send: hi\n  - server_expect: {regex: hi, connection: 1}\n  - server_close\n  - server_half_close\n  - expect_connections: 1\n  - kill_server: KILL\n  - stop_server\n  - start_server\n  - server_expect: ^ready$\n";
        let found = all_errors(PROGRAMS, source);
        let message = |name: &str| {
            format!(
                "`{name}` needs a fake server; tcprun does not see a server program's connections"
            )
        };
        assert_eq!(
            found,
            [
                (4, 5, message("server_send")),
                (
                    5,
                    32,
                    "`connection` needs a fake server; with a server program, `server_expect` matches the program's output".to_owned()
                ),
                (6, 5, message("server_close")),
                (7, 5, message("server_half_close")),
                (
                    8,
                    5,
                    "`expect_connections` needs a fake server, or a proxy in front of the server program: tcprun does not see a server program's connections".to_owned()
                ),
            ]
        );
        // Behind a proxy, the proxy's connections count.
        let proxied = "server: {command: [srv]}\nproxy: {}\nclient: {via: proxy}\nsteps:\n";
        assert!(load(proxied, "  - expect_connections: 1\n").is_ok());
        let failed = load(PROGRAMS, "  - server_close\n").unwrap_err();
        assert_eq!(
            failed.diagnostics()[0].hint.as_deref(),
            Some(
                "remove `server_close`, and check what the program does through its clients, e.g. with `- expect: ...`"
            )
        );
        // A fake server's kill is always abrupt.
        let (line, col, message, hint) = error(ONE, "  - kill_server: {signal: TERM}\n");
        assert_eq!(
            (line, col, message.as_str(), hint.as_str()),
            (
                4,
                27,
                "a signal needs a server program; a fake server's kill is always abrupt",
                "write `- kill_server` to reset every connection of the fake server"
            )
        );
        // An external server takes no server step, with or without a signal.
        let (_, _, message, _) = error(EXTERNAL, "  - kill_server: TERM\n");
        assert!(
            message.starts_with("server steps need a fake server"),
            "{message}"
        );
    }
}
