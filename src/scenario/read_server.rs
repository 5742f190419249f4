//! Reads `server:`: a fake server, a server program, or the address of one already running.

use super::data::Data;
use super::diagnostic::describe;
use super::keys;
use super::read_data::DATA_KEYS;
use super::read_program::{COMMAND_OR_SHELL, OUTPUT_MODES, PROGRAM_KEYS};
use super::reader::{Fields, Reader, ServerKind};
use super::registry::BANNER_DATA;
use super::types::{
    CommandServerSpec, FakeKind, FakeServerSpec, OutputMode, Readiness, ServerSpec,
};
use super::yaml::Node;

/// Lists the fake server kinds (`fake:`), with their names in the key table.
pub(crate) const FAKE_KINDS: [(&str, FakeKind); 5] = [
    (keys::FAKE_KINDS[0], FakeKind::Echo),
    (keys::FAKE_KINDS[1], FakeKind::Chat),
    (keys::FAKE_KINDS[2], FakeKind::Sink),
    (keys::FAKE_KINDS[3], FakeKind::Silent),
    (keys::FAKE_KINDS[4], FakeKind::Rules),
];
pub(super) const SERVER_HINT: &str = "write `server: {fake: echo}` for a built-in server, `server: {command: [...]}` for a server program, or `server: {address: \"host:port\"}` for one already running";
const SERVER_KINDS_HINT: &str = "give exactly one of `fake:` (a built-in server), `command:` or `shell:` (a server program), or `address:` (a server already running)";

impl Reader<'_> {
    pub(super) fn server(&mut self, key: &Node, node: &Node) -> Option<ServerSpec> {
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
        let fields = self.fields(node, &keys::all(keys::SERVER), "`server`", placed_in_server)?;
        let kinds = keys::names(keys::SERVER, keys::says_kind);
        let kinds: Vec<&str> = fields.names().filter(|k| kinds.contains(k)).collect();
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
        let (host, port) = self.address(address, "address")?;
        self.server = Some(ServerKind::External(format!("{host}:{port}")));
        Some(ServerSpec::External { host, port })
    }

    fn fake_server(&mut self, fields: &Fields<'_>) -> Option<ServerSpec> {
        let program_only = keys::names(keys::SERVER, keys::program_only);
        for other in fields.names().filter(|k| program_only.contains(k)) {
            let Some(at) = fields.key(other) else {
                continue;
            };
            let message = format!(
                "`{other}` only applies to a server program (`command:` or `shell:`), not to a fake server"
            );
            let hint = format!("a fake server runs inside tcprun; remove `{other}`");
            self.error(at, message, Some(hint));
        }
        let kind = self.choice(fields.get("fake")?, "fake server", &FAKE_KINDS);
        let (host, port) = self.listen_address(fields);
        let banner = fields.get("banner").map(|n| self.banner(n));
        let start = fields.get("start").map(|n| self.boolean(n, "`start`"));
        let half_open = fields
            .get("half_open")
            .map(|n| self.boolean(n, "`half_open`"));
        let framing = fields.get("framing").map(|n| self.framing(n));
        let rules = self.fake_rules(fields, kind);
        let framing = match (framing, kind) {
            (Some(framing), _) => framing,
            (None, Some(FakeKind::Rules)) => Some(crate::framing::FramingSpec::line()),
            (None, _) => None,
        };
        // An invalid framing was reported where it is written.
        let invalid = fields.get("framing").is_some() && framing.is_none();
        self.framed_server = (!invalid).then(|| framing.clone());
        if kind == Some(FakeKind::Rules)
            && let (Some(banner), Some(Some(Some(data)))) = (fields.get("banner"), &banner)
        {
            self.check_rules_banner(banner, data);
        }
        Some(ServerSpec::Fake(FakeServerSpec {
            kind: kind?,
            host,
            port: port?,
            banner: banner.unwrap_or(Some(None))?,
            start: start.unwrap_or(Some(true))?,
            half_open: half_open.unwrap_or(Some(false))?,
            framing,
            rules: rules?,
        }))
    }

    fn command_server(&mut self, fields: &Fields<'_>) -> Option<ServerSpec> {
        let fake_only = keys::names(keys::SERVER, keys::fake_only);
        for other in fields.names().filter(|k| fake_only.contains(k)) {
            let Some(at) = fields.key(other) else {
                continue;
            };
            let message = format!(
                "`{other}` only applies to a fake server (`fake:`), not to a server program"
            );
            let hint = match other {
                "banner" => "a server program sends its own greeting; remove `banner`",
                "framing" => {
                    "tcprun does not see a server program's connections; give `framing:` to the client that reads them"
                }
                "rules" => {
                    "a server program answers by itself; to answer by rules, write `fake: rules`"
                }
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
            .map(|n| self.choice(n, "output mode", &OUTPUT_MODES));
        let start = fields.get("start").map(|n| self.boolean(n, "`start`"));
        Some(ServerSpec::Command(CommandServerSpec {
            program: program?,
            host,
            port: port?,
            ready: ready?,
            ready_timeout: ready_timeout.unwrap_or(Some(keys::READY_TIMEOUT))?,
            stop_timeout: stop_timeout.unwrap_or(Some(keys::STOP_TIMEOUT))?,
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
            host.unwrap_or_else(|| keys::HOST.into()),
            port.unwrap_or(Some(keys::PORT.into())).map(|p| p as u16),
        )
    }

    /// Reads `rules:`, which `fake: rules` needs and no other kind takes.
    fn fake_rules(
        &mut self,
        fields: &Fields<'_>,
        kind: Option<FakeKind>,
    ) -> Option<Option<super::frames::RulesSpec>> {
        let Some(kind) = kind else {
            return Some(None);
        };
        match (kind, fields.key("rules"), fields.get("rules")) {
            (FakeKind::Rules, Some(_), Some(node)) => {
                let file = self.file().file_name().map_or_else(
                    || "scenario".to_owned(),
                    |n| n.to_string_lossy().into_owned(),
                );
                self.rules(node, &file).map(Some)
            }
            (FakeKind::Rules, ..) => {
                let at = fields.get("fake")?;
                let hint = "for example `rules: [{when: {equals: PING}, reply: \"+PONG\\r\\n\"}]`";
                self.error(at, "`fake: rules` needs `rules:`", Some(hint.into()));
                None
            }
            (_, Some(key), _) => {
                let message = "`rules` only applies to `fake: rules`";
                let hint = "write `fake: rules` to answer frames by rules, or remove `rules:`";
                self.error(key, message, Some(hint.into()));
                None
            }
            (_, None, _) => Some(None),
        }
    }

    /// Checks a rules server's banner: `${connection}` is its only name of
    /// its own; other names are scenario variables, with values when given.
    fn check_rules_banner(&mut self, node: &Node, data: &Data) {
        let Data::Text { text, .. } = data else {
            return;
        };
        if let Some(given) = self.given {
            for name in super::frames::scenario_names(text, &["connection"]) {
                let known = match name.strip_prefix("env.") {
                    Some(env) => std::env::var_os(env).is_some(),
                    None => matches!(name, "port" | "tmp") || given.values.contains_key(name),
                };
                if !known {
                    let message = format!(
                        "`${{{name}}}` has no value: a rules server's banner knows `${{connection}}` and scenario variables"
                    );
                    let hint = format!(
                        "give it a value with `--var {name}=VALUE`, or write `${{connection}}` for the connection's number"
                    );
                    self.error(node, message, Some(hint));
                }
            }
        }
    }

    fn banner(&mut self, node: &Node) -> Option<Option<Data>> {
        let before = self.error_count();
        let fields = self.args(
            Some(node),
            Some("text"),
            &DATA_KEYS,
            "`banner`",
            BANNER_DATA,
        )?;
        let data = self.data(&fields, node, Some("banner"));
        (self.error_count() == before).then_some(data)
    }

    /// Reads `host:port` under `key` (`address`, a proxy's `upstream`).
    pub(super) fn address(&mut self, node: &Node, key: &str) -> Option<(String, u16)> {
        let written = self.text(node, &format!("`{key}`"))?;
        // Variables are resolved now, from the values given and the
        // environment: the address must be known before anything runs.
        let text = if crate::vars::has_placeholders(&written) {
            let before = self.error_count();
            let given = self.given.cloned().unwrap_or_default();
            self.check_variables_in(node, &written, &given);
            if self.error_count() > before {
                return None;
            }
            let vars = crate::vars::Vars {
                values: given.values,
                ..crate::vars::Vars::default()
            };
            vars.apply(&written).ok()?
        } else {
            written.clone()
        };
        let split = match text.strip_prefix('[') {
            Some(rest) => rest.split_once("]:"),
            None => text.rsplit_once(':'),
        };
        let parsed = split.and_then(|(host, port)| {
            let port = port.parse::<u16>().ok().filter(|p| *p != 0)?;
            (!host.is_empty()).then(|| (host.to_owned(), port))
        });
        if parsed.is_none() {
            let found = if text == written {
                describe(node)
            } else {
                format!("`{text}` (`{written}` with its variables)")
            };
            let message = format!("expected `host:port` for `{key}`, found {found}");
            self.error(
                node,
                message,
                Some(format!("for example `{key}: \"127.0.0.1:6379\"`")),
            );
        }
        parsed
    }
}

fn placed_in_server(key: &str) -> Option<String> {
    match key {
        "stderr" => Some(
            "`stderr` is a client option; for a server program, `output:` says where its output goes"
                .into(),
        ),
        _ => keys::CLIENT
            .iter()
            .any(|k| k.name == key)
            .then(|| format!("`{key}` is a client option; it goes under `client:`")),
    }
}
