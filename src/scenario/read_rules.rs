//! Reads a rules file for `tcprun serve --rules`: `framing`, `banner` and `rules` at the top, or a scenario file whose `server:` is `fake: rules`.

use std::path::Path;

use super::data::Data;
use super::diagnostic::{Diagnostic, LoadError, describe};
use super::frames::RulesSpec;
use super::reader::Reader;
use super::types::{FakeKind, ServerSpec};
use super::yaml::{self, Node, Pos};
use crate::framing::FramingSpec;

/// The keys of a rules file.
const RULES_FILE_KEYS: &[&str] = &["framing", "banner", "rules", "half_open"];

/// Holds what `tcprun serve --rules` runs: a rules server on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesFile {
    /// How frames are cut (default `line`).
    pub framing: FramingSpec,
    /// Sent to each connection on accept, with `${connection}`.
    pub banner: Option<Data>,
    /// The rules.
    pub rules: RulesSpec,
    /// Keep a connection open after the client's FIN.
    pub half_open: bool,
}

/// Reads the rules file at `path`: a map of `framing`, `banner`, `rules`
/// (and `half_open`), or a scenario file with `server: {fake: rules, ...}`
/// (its other keys are not read). Errors are located as a scenario's are.
pub fn load_rules_file(path: &Path) -> Result<RulesFile, LoadError> {
    let source = super::read_file::read_source(path)?;
    load_rules_str(path, &source)
}

/// Reads a rules file from `source`, as read from `path`.
pub fn load_rules_str(path: &Path, source: &str) -> Result<RulesFile, LoadError> {
    let parsed = yaml::parse(source);
    let mut reader = Reader::new(path, source);
    for problem in &parsed.problems {
        reader.error_at(
            problem.start,
            problem.end,
            problem.message.clone(),
            problem.hint.clone(),
        );
    }
    let file = match &parsed.root {
        Some(root) if root.entries().is_some() => reader.rules_file(root),
        Some(root) => {
            let message = format!(
                "expected a map with `rules:` (and `framing:`, `banner:`) at the top level, found {}",
                describe(root)
            );
            reader.error(root, message, Some(EXAMPLE.into()));
            None
        }
        None => {
            if parsed.problems.is_empty() {
                let at = Pos { line: 1, col: 1 };
                reader.error_at(
                    at,
                    at,
                    "the file is empty; a rules file needs `rules:`",
                    Some(EXAMPLE.into()),
                );
            }
            None
        }
    };
    let diagnostics = reader.into_diagnostics();
    match file {
        Some(file) if diagnostics.is_empty() => Ok(file),
        _ if diagnostics.is_empty() => Err(Diagnostic::whole_file(
            path,
            "internal error: rules rejected without a reason",
        )
        .into()),
        _ => Err(LoadError::new(diagnostics)),
    }
}

const EXAMPLE: &str = "for example:\n  framing: crlf\n  banner: \"220 ready\\r\\n\"\n  rules:\n    - when: {equals: QUIT}\n      reply: \"221 bye\\r\\n\"\n      then: fin";

impl Reader<'_> {
    fn rules_file(&mut self, root: &Node) -> Option<RulesFile> {
        let server = root
            .entries()?
            .iter()
            .find(|(key, _)| key.scalar() == Some("server"));
        if let Some((key, node)) = server {
            return self.rules_from_scenario(key, node);
        }
        let fields = self.fields(root, RULES_FILE_KEYS, "a rules file", |key| {
            matches!(key, "steps" | "client" | "clients")
                .then(|| "a rules file holds `framing`, `banner` and `rules`; for a scenario, give its `server:` block".to_owned())
        })?;
        let framing = fields.get("framing").map(|n| self.framing(n));
        let banner = fields.get("banner").map(|n| self.data_value(n));
        let half_open = fields
            .get("half_open")
            .map(|n| self.boolean(n, "`half_open`"));
        let file = self
            .file()
            .file_name()
            .map_or_else(|| "rules".to_owned(), |n| n.to_string_lossy().into_owned());
        let rules = match fields.get("rules") {
            Some(node) => self.rules(node, &file),
            None => {
                let at = Pos { line: 1, col: 1 };
                self.error_at(at, at, "missing `rules:`", Some(EXAMPLE.into()));
                None
            }
        };
        Some(RulesFile {
            framing: framing.unwrap_or(Some(FramingSpec::line()))?,
            banner: banner.unwrap_or(Some(None))?,
            rules: rules?,
            half_open: half_open.unwrap_or(Some(false))?,
        })
    }

    /// Reads the `server:` block of a scenario file, which must be `fake: rules`.
    fn rules_from_scenario(&mut self, key: &Node, node: &Node) -> Option<RulesFile> {
        match self.server(key, node)? {
            ServerSpec::Fake(spec) if spec.kind == FakeKind::Rules => Some(RulesFile {
                framing: spec.framing.unwrap_or_else(FramingSpec::line),
                banner: spec.banner,
                rules: spec.rules?,
                half_open: spec.half_open,
            }),
            _ => {
                let message = "`tcprun serve --rules` needs `server: {fake: rules, ...}`";
                self.error(
                    node,
                    message,
                    Some("give the server `fake: rules` and `rules:`".into()),
                );
                None
            }
        }
    }

    /// Reads data (a banner) as the data of a step is read.
    fn data_value(&mut self, node: &Node) -> Option<Option<Data>> {
        let before = self.error_count();
        let fields = self.args(
            Some(node),
            Some("text"),
            &super::read_data::DATA_KEYS,
            "`banner`",
            super::registry::DATA,
        )?;
        let given = self.given.take();
        let data = self.data(&fields, node, Some("banner"));
        self.given = given;
        (self.error_count() == before).then_some(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_rules_file_and_a_scenario_server_block() {
        let file = load_rules_str(
            Path::new("smtp.yaml"),
            "framing: crlf\nbanner: \"220 hi\\r\\n\"\nrules:\n  - when: any\n    reply: ok\n",
        )
        .unwrap();
        assert_eq!(file.framing, FramingSpec::crlf());
        assert_eq!(file.rules.labels(), ["1 (smtp.yaml:4)"]);
        let file = load_rules_str(
            Path::new("s.yaml"),
            "server:\n  fake: rules\n  rules: [{when: any}]\nclient: {}\nsteps: [wait_connected]\n",
        )
        .unwrap();
        assert_eq!(file.framing, FramingSpec::line());
    }

    #[test]
    fn errors_are_located() {
        let error = load_rules_str(Path::new("r.yaml"), "framing: crlf\nrulez: []\n").unwrap_err();
        let text = error.to_string();
        assert!(
            text.contains("r.yaml:2:1: error: unknown key `rulez` in a rules file"),
            "{text}"
        );
        assert!(text.contains("did you mean `rules`?"), "{text}");
        let error = load_rules_str(Path::new("r.yaml"), "server: {fake: echo}\n").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("needs `server: {fake: rules, ...}`"),
            "{error}"
        );
        let error =
            load_rules_str(Path::new("r.yaml"), "rules:\n  - when: {equal: x}\n").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("r.yaml:2:12: error: unknown predicate `equal`"),
            "{error}"
        );
    }
}
