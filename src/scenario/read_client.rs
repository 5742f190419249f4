//! Reads `client:` and `clients:`: the built-in reconnecting client, or a client program.

use super::diagnostic::{describe, quote};
use super::keys;
use super::read_program::{COMMAND_OR_SHELL, PROGRAM_KEYS};
use super::reader::{Fields, Reader};
use super::types::{Backoff, ClientSpec, CommandClientSpec, LineEnding};
use super::yaml::Node;
use crate::client::encoding::Encoding;

/// Lists the `backoff:` kinds, as the key table names them.
pub(crate) const BACKOFFS: [(&str, Backoff); 2] = [
    (keys::BACKOFFS[0], Backoff::Fixed),
    (keys::BACKOFFS[1], Backoff::Exponential),
];

/// Lists the `line_ending:` kinds, as the key table names them.
pub(crate) const LINE_ENDINGS: [(&str, LineEnding); 2] = [
    (keys::LINE_ENDINGS[0], LineEnding::Lf),
    (keys::LINE_ENDINGS[1], LineEnding::Crlf),
];

/// Lists the `stderr:` modes of a client program (merged or not), as the key table names them.
pub(crate) const STDERR_MODES: [(&str, bool); 2] = [
    (keys::STDERR_MODES[0], false),
    (keys::STDERR_MODES[1], true),
];

impl Reader<'_> {
    /// Reads `client:` or `clients:`; with neither, the scenario has one
    /// built-in client named `client`, with every option at its default.
    pub(super) fn clients(&mut self, top: &Fields<'_>) -> Option<Vec<ClientSpec>> {
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
                self.clients = Some(vec!["client".into()]);
                Some(vec![default_client("client")])
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
        let (names, specs) = self.named(entries, Self::client_name_ok, Self::client);
        self.clients = names;
        specs
    }

    /// Checks a client's name: a word, and not a proxy's.
    fn client_name_ok(&mut self, name: &Node) -> bool {
        if let Some(text) = name.scalar()
            && self
                .proxies
                .as_ref()
                .is_some_and(|p| p.iter().any(|p| p == text))
        {
            let message = format!("a client and a proxy cannot both be named {}", quote(text));
            let hint = "transcript lines start with these names: give each its own";
            self.error(name, message, Some(hint.into()));
            return false;
        }
        if !name.scalar().is_some_and(valid_client_name) {
            let message = match name.scalar() {
                Some(text) => format!("invalid client name {}", quote(text)),
                None => format!("expected a client name, found {}", describe(name)),
            };
            let hint =
                "client names start with a letter or `_` and use letters, digits, `_` and `-`";
            self.error(name, message, Some(hint.into()));
            return false;
        }
        true
    }

    fn client(&mut self, name: &str, node: &Node) -> Option<ClientSpec> {
        let what = format!("client `{name}`");
        let fields = self.fields(node, &keys::all(keys::CLIENT), &what, placed_in_client)?;
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
        let program_only = keys::names(keys::CLIENT, keys::client_program_only);
        for other in fields.names().filter(|k| program_only.contains(k)) {
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
        let start = get("start").and_then(|n| self.boolean(n, "`start`"));
        if start == Some(false) {
            self.later_clients.push((name.to_owned(), false));
        }
        let retry_unresolved =
            get("retry_unresolved").and_then(|n| self.boolean(n, "`retry_unresolved`"));
        let connect_timeout = self.opt_duration(fields, "connect_timeout");
        let receive_buffer = get("receive_buffer")
            .and_then(|n| self.size(n, "`receive_buffer`", keys::MAX_RECEIVE_BUFFER));
        let backoff = get("backoff").and_then(|n| self.choice(n, "backoff", &BACKOFFS));
        let max_interval = self.opt_duration(fields, "max_interval");
        let framing = get("framing").and_then(|n| self.framing(n));
        if get("framing").is_some() {
            self.framed_clients.push((name.to_owned(), framing.clone()));
        }
        let line_ending =
            get("line_ending").and_then(|n| self.choice(n, "line ending", &LINE_ENDINGS));
        let via = get("via").and_then(|n| self.via(n, fields));
        let defaults = default_client(name);
        ClientSpec {
            host,
            port,
            via,
            retry_interval: retry_interval.unwrap_or(defaults.retry_interval),
            max_retries: max_retries.map_or(defaults.max_retries, |n| n as u32),
            reconnect: reconnect.unwrap_or(defaults.reconnect),
            start: start.unwrap_or(defaults.start),
            retry_unresolved: retry_unresolved.unwrap_or(defaults.retry_unresolved),
            connect_timeout: connect_timeout.unwrap_or(defaults.connect_timeout),
            receive_buffer,
            backoff: backoff.unwrap_or(defaults.backoff),
            max_interval: max_interval.unwrap_or(defaults.max_interval),
            framing,
            line_ending: line_ending.unwrap_or(defaults.line_ending),
            ..defaults
        }
    }

    /// Reads `via:`, a declared proxy, which takes the place of `host:` and `port:`.
    fn via(&mut self, node: &Node, fields: &Fields<'_>) -> Option<String> {
        let proxy = self.proxy_name(node, "`via`")?;
        for other in ["host", "port"] {
            if let Some(at) = fields.key(other) {
                let message = format!("`{other}` cannot be combined with `via:`");
                let hint = format!(
                    "a client `via: {proxy}` connects to the proxy; its `upstream:` says where the proxy connects"
                );
                self.error(at, message, Some(hint));
            }
        }
        Some(proxy)
    }

    /// Reads a client program: `command:` or `shell:` (named in `programs`), `env:`, `cwd:`, `stderr:`.
    fn command_client(
        &mut self,
        fields: &Fields<'_>,
        programs: &[&str],
    ) -> Option<CommandClientSpec> {
        let builtin_only = keys::names(keys::CLIENT, keys::builtin_only);
        for other in fields.names().filter(|k| builtin_only.contains(k)) {
            let Some(at) = fields.key(other) else {
                continue;
            };
            let message = format!(
                "`{other}` cannot be combined with `{}:`; it configures the built-in client",
                programs[0]
            );
            let hint = if other == "via" {
                "a command client connects by itself: give it the proxy's port in its argv, e.g. `command: [redis-cli, -p, \"${proxy.port}\"]`"
            } else {
                "a command client connects by itself; pass its options in its argv, e.g. `command: [redis-cli, -p, \"${port}\"]`"
            };
            self.error(at, message, Some(hint.into()));
        }
        if let [first, second, ..] = programs {
            let at = fields.key(second)?;
            let message = format!("`{second}` cannot be combined with `{first}:`");
            self.error(at, message, Some(COMMAND_OR_SHELL.into()));
            return None;
        }
        let program = self.program(fields);
        let merge_stderr = fields
            .get("stderr")
            .map(|n| self.choice(n, "stderr mode", &STDERR_MODES));
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
        retry_interval: keys::RETRY_INTERVAL,
        max_retries: keys::MAX_RETRIES,
        reconnect: true,
        retry_unresolved: false,
        connect_timeout: keys::CONNECT_TIMEOUT,
        receive_buffer: None,
        start: true,
        backoff: Backoff::Fixed,
        max_interval: keys::MAX_INTERVAL,
        encoding: Encoding::Utf8,
        quit_word: keys::QUIT_WORD.into(),
        line_ending: LineEnding::Lf,
        command: None,
        framing: None,
        via: None,
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

fn placed_in_client(key: &str) -> Option<String> {
    keys::SERVER
        .iter()
        .any(|k| k.name == key)
        .then(|| format!("`{key}` is a server option; it goes under `server:`"))
}
