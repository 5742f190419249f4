//! Reads `proxy:` and `proxies:` (fault proxies between clients and the server), and what proxy steps refer to: a proxy, a fault.

use super::diagnostic::{describe, quote};
use super::keys;
use super::read_client::valid_client_name;
use super::reader::{Fields, Reader};
use super::suggest;
use super::types::{ProxySpec, Upstream};
use super::yaml::Node;
use crate::proxy::FaultSpec;

/// Names a proxy may not have: they already mean something in the
/// transcript (`server`) or in `${...}` (`env.NAME`, `port`, `tmp`).
const RESERVED: &[&str] = &["server", "env", "port", "tmp"];

impl Reader<'_> {
    /// Reads `proxy:` (one proxy, named `proxy`) or `proxies:`; none: no proxy.
    pub(super) fn proxies(&mut self, top: &Fields<'_>) -> Option<Vec<ProxySpec>> {
        match (top.key("proxy"), top.key("proxies")) {
            (Some(one), Some(many)) => {
                let later = if many.start > one.start { many } else { one };
                let message = "`proxy:` and `proxies:` cannot both be given";
                let hint = "use `proxy:` for a single proxy, or `proxies:` to name several";
                self.error(later, message, Some(hint.into()));
                None
            }
            (Some(_), None) => {
                self.proxies = Some(vec!["proxy".into()]);
                Some(vec![self.proxy("proxy", top.get("proxy")?)?])
            }
            (None, Some(key)) => self.named_proxies(key, top.get("proxies")?),
            (None, None) => {
                self.proxies = Some(Vec::new());
                Some(Vec::new())
            }
        }
    }

    fn named_proxies(&mut self, key: &Node, node: &Node) -> Option<Vec<ProxySpec>> {
        let Some(entries) = node.entries().filter(|e| !e.is_empty()) else {
            let found = if node.entries().is_some() {
                "an empty map".into()
            } else {
                describe(node)
            };
            let message =
                format!("expected a map of proxy names to options for `proxies`, found {found}");
            let at = if node.is_null() { key } else { node };
            let hint = "for example `proxies: {front: {}, db: {upstream: \"127.0.0.1:5432\"}}`";
            self.error(at, message, Some(hint.into()));
            return None;
        };
        let (names, specs) = self.named(entries, Self::proxy_name_ok, Self::proxy);
        self.proxies = names;
        specs
    }

    /// Checks a proxy's name: a word like a client's, and not one that means something else.
    fn proxy_name_ok(&mut self, node: &Node) -> bool {
        let Some(text) = node.scalar() else {
            self.error(
                node,
                format!("expected a proxy name, found {}", describe(node)),
                None,
            );
            return false;
        };
        if !valid_client_name(text) {
            let hint =
                "proxy names start with a letter or `_` and use letters, digits, `_` and `-`";
            self.error(
                node,
                format!("invalid proxy name {}", quote(text)),
                Some(hint.into()),
            );
            return false;
        }
        if RESERVED.contains(&text) {
            let message = format!("a proxy cannot be named {}", quote(text));
            let hint = format!(
                "`{text}` already stands for something in transcripts or in `${{...}}`; name it e.g. `front`"
            );
            self.error(node, message, Some(hint));
            return false;
        }
        true
    }

    fn proxy(&mut self, name: &str, node: &Node) -> Option<ProxySpec> {
        let what = format!("proxy `{name}`");
        let fields = self.fields(node, &keys::all(keys::PROXY), &what, |key| {
            crate::proxy::spec::KEYS.contains(&key).then(|| {
                format!("`{key}` is a fault's key: add faults with `- fault: {{...}}` steps")
            })
        })?;
        let before = self.error_count();
        let upstream = match fields.get("upstream") {
            Some(node) if node.scalar() == Some(keys::UPSTREAM) => Some(Upstream::Server),
            Some(node) => self
                .address(node, "upstream")
                .map(|(host, port)| Upstream::Address { host, port }),
            None => Some(Upstream::Server),
        };
        let seed = fields
            .get("seed")
            .map(|n| self.number(n, "`seed`", 0, u64::MAX));
        let dial_timeout = self.opt_duration(&fields, "dial_timeout");
        let framing = fields.get("framing").and_then(|n| self.framing(n));
        let spec = ProxySpec {
            name: name.to_owned(),
            upstream: upstream?,
            seed: seed.unwrap_or(Some(keys::SEED))?,
            dial_timeout: dial_timeout.unwrap_or(keys::DIAL_TIMEOUT),
            framing,
        };
        (self.error_count() == before).then_some(spec)
    }

    /// Checks that `node` names a declared proxy (`what` names the key).
    pub(super) fn proxy_name(&mut self, node: &Node, what: &str) -> Option<String> {
        let name = self.text(node, what)?;
        let known = self.proxies.clone()?;
        if known.contains(&name) {
            return Some(name);
        }
        let names: Vec<&str> = known.iter().map(String::as_str).collect();
        let hint = match (suggest::closest(&name, &names), names.as_slice()) {
            (_, []) => NO_PROXY_HINT.to_owned(),
            (Some(close), _) => format!("did you mean `{close}`?"),
            (None, [only]) => format!("the only proxy is `{only}`"),
            _ => format!("the proxies are {}", suggest::list_all(&names)),
        };
        self.error(node, format!("unknown proxy {}", quote(&name)), Some(hint));
        None
    }

    /// Reads a proxy step's `proxy:`, which must name a declared proxy and
    /// is required when there are several; `Some(None)`: the only one.
    pub(crate) fn proxy_ref(
        &mut self,
        fields: &Fields<'_>,
        item: &Node,
        step: &str,
    ) -> Option<Option<String>> {
        let known = self.proxies.clone()?;
        if let Some(node) = fields.get("proxy") {
            return self.proxy_name(node, "`proxy`").map(Some);
        }
        match known.as_slice() {
            [_] => Some(None),
            [] => {
                let message = format!("`{step}` needs a proxy, and this scenario has none");
                self.error(item, message, Some(NO_PROXY_HINT.into()));
                None
            }
            names => {
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                let message = format!(
                    "`{step}` must say which proxy it is for: this scenario has {} proxies",
                    names.len()
                );
                let hint = format!(
                    "add `proxy:` ({}), e.g. `- {step}: {{proxy: {}, ...}}`",
                    suggest::list(&names),
                    names[0]
                );
                self.error(item, message, Some(hint));
                None
            }
        }
    }

    /// Reads a fault's name, as a fault's `name:` takes it.
    pub(crate) fn fault_name(&mut self, node: &Node) -> Option<String> {
        let name = self.word(node, "`name`")?;
        if FaultSpec::from_pairs(&[("drop", "true"), ("name", name.as_str())]).is_ok() {
            return Some(name);
        }
        let message = format!("invalid fault name {}", quote(&name));
        let hint = "fault names use letters, digits, `_`, `-` and `.`; an unnamed fault is named by its kind (`latency`)";
        self.error(node, message, Some(hint.into()));
        None
    }

    /// Reads a `fault` step's map as `tcprun proxy --fault` reads one, with
    /// [`FaultSpec::from_pairs`]; each problem is reported at its key, or
    /// at its value when the value is what is wrong.
    pub(crate) fn fault(&mut self, fields: &Fields<'_>, item: &Node) -> Option<FaultSpec> {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        let mut ok = true;
        for key in fields.names().filter(|key| *key != "proxy") {
            let Some(value) = fields.get(key) else {
                continue;
            };
            match value.scalar().filter(|_| !value.is_null()) {
                Some(text) => pairs.push((key, text.to_owned())),
                None => {
                    let message =
                        format!("expected a value for `{key}`, found {}", describe(value));
                    self.error(value, message, None);
                    ok = false;
                }
            }
        }
        let spec = match FaultSpec::from_pairs(&pairs) {
            Ok(spec) => spec,
            Err(errors) => {
                for error in errors {
                    let at = match (&error, error.key()) {
                        (crate::proxy::SpecError::Value { .. }, Some(key)) => fields.get(key),
                        (_, Some(key)) => fields.key(key),
                        (_, None) => None,
                    };
                    self.error(at.unwrap_or(item), error.to_string(), error.hint());
                }
                return None;
            }
        };
        ok.then_some(spec)
    }
}

/// Says how to add a proxy, for hints.
const NO_PROXY_HINT: &str = "add `proxy: {}` at the top level (a proxy to the server), and `via: proxy` to the clients that should go through it";
