//! Holds the state of loading one file: where problems are recorded, and how maps are read.

use std::path::Path;
use std::time::Duration;

use super::diagnostic::Diagnostic;
use super::diagnostic::{describe, quote};
use super::suggest;
use super::yaml::{self, Node, Pos};

/// Holds a map's entries by name, after unknown keys have been reported.
#[derive(Default)]
pub(crate) struct Fields<'n> {
    entries: Vec<(&'n str, &'n Node, &'n Node)>,
}

impl<'n> Fields<'n> {
    /// Returns the value given for `key`.
    pub fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, ..)| *k == key)
            .map(|(_, _, v)| *v)
    }

    /// Returns the key node of `key` (the value itself for a scalar shorthand).
    pub fn key(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, ..)| *k == key)
            .map(|(_, k, _)| *k)
    }

    /// Returns the names given, in file order.
    pub fn names(&self) -> impl Iterator<Item = &'n str> + '_ {
        self.entries.iter().map(|(k, ..)| *k)
    }
}

/// Names the kind of server a scenario has, for checks on its steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ServerKind {
    /// `fake:`: a built-in server, which sees every connection.
    Fake,
    /// `command:` or `shell:`: a server program tcprun starts and signals.
    Program,
    /// `address:`: a server already running, at this `host:port`.
    External(String),
}

/// Collects diagnostics while reading one file.
pub(crate) struct Reader<'a> {
    file: &'a Path,
    lines: Vec<&'a str>,
    diagnostics: Vec<Diagnostic>,
    /// The declared client names, once known (none when `client:`/`clients:` is broken).
    pub clients: Option<Vec<String>>,
    /// The kind of server, once known (none when `server:` is missing or ambiguous).
    pub server: Option<ServerKind>,
    /// The clients written with `command:` or `shell:` (even when otherwise broken).
    pub command_clients: Vec<String>,
    /// The client programs whose stderr joins their output (`stderr: merge`).
    pub merged_clients: Vec<String>,
}

impl<'a> Reader<'a> {
    /// Creates a loader for `source`, read from `file`.
    pub fn new(file: &'a Path, source: &'a str) -> Self {
        Reader {
            file,
            lines: source
                .split('\n')
                .map(|l| l.trim_end_matches('\r'))
                .collect(),
            diagnostics: Vec::new(),
            clients: None,
            server: None,
            command_clients: Vec::new(),
            merged_clients: Vec::new(),
        }
    }

    /// Returns the path of the file being read.
    pub fn file(&self) -> &'a Path {
        self.file
    }

    /// Returns the folder of the file being read (empty for a bare file name).
    pub fn folder(&self) -> &'a Path {
        self.file.parent().unwrap_or(Path::new(""))
    }

    /// Returns the text of a 1-based line.
    pub fn line(&self, line: usize) -> &'a str {
        line.checked_sub(1)
            .and_then(|i| self.lines.get(i))
            .copied()
            .unwrap_or("")
    }

    /// Records a problem with `node`, underlining it.
    pub fn error(&mut self, node: &Node, message: impl Into<String>, hint: Option<String>) {
        self.error_at(node.start, node.end, message, hint);
    }

    /// Records a problem spanning `start` to `end`.
    pub fn error_at(
        &mut self,
        start: Pos,
        end: Pos,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        let text = self.line(start.line);
        let width = if start == end {
            1
        } else if end.line == start.line && end.col > start.col {
            end.col - start.col
        } else {
            text.trim_end()
                .chars()
                .count()
                .saturating_sub(start.col - 1)
        };
        self.diagnostics.push(Diagnostic {
            file: self.file.to_path_buf(),
            line: start.line,
            col: start.col,
            width: width.max(1),
            message: message.into(),
            hint,
            source_line: Some(text.to_owned()),
        });
    }

    /// Returns how many problems have been recorded so far.
    pub fn error_count(&self) -> usize {
        self.diagnostics.len()
    }

    /// Returns the diagnostics in file order.
    pub fn into_diagnostics(mut self) -> Vec<Diagnostic> {
        self.diagnostics.sort_by_key(|d| (d.line, d.col));
        self.diagnostics
    }

    /// Reads a map's entries, reporting keys not in `allowed`; null reads as an empty map.
    ///
    /// `what` names the map in messages; `placed` may say where a misplaced key belongs.
    pub fn fields<'n>(
        &mut self,
        node: &'n Node,
        allowed: &[&str],
        what: &str,
        placed: fn(&str) -> Option<String>,
    ) -> Option<Fields<'n>> {
        if node.is_null() {
            return Some(Fields::default());
        }
        let Some(entries) = node.entries() else {
            let message = format!("expected a map for {what}, found {}", describe(node));
            self.error(
                node,
                message,
                Some(format!("valid keys: {}", suggest::list(allowed))),
            );
            return None;
        };
        let mut fields = Fields::default();
        for (key, value) in entries {
            match key.scalar() {
                Some(name) if allowed.contains(&name) => fields.entries.push((name, key, value)),
                Some(name) => {
                    let hint =
                        placed(name).unwrap_or_else(|| match suggest::closest(name, allowed) {
                            Some(close) => format!("did you mean `{close}`?"),
                            None if allowed.is_empty() => format!("{what} takes no options"),
                            None => format!("valid keys here: {}", suggest::list(allowed)),
                        });
                    self.error(
                        key,
                        format!("unknown key {} in {what}", quote(name)),
                        Some(hint),
                    );
                }
                None => {
                    let message = format!("expected a key name in {what}, found {}", describe(key));
                    self.error(key, message, None);
                }
            }
        }
        Some(fields)
    }

    /// Reads a step-like argument: nothing, a scalar standing for `shorthand`, or a map of `allowed` keys.
    pub fn args<'n>(
        &mut self,
        node: Option<&'n Node>,
        shorthand: Option<&'static str>,
        allowed: &[&str],
        what: &str,
        expected: &str,
    ) -> Option<Fields<'n>> {
        let Some(node) = node.filter(|n| !n.is_null()) else {
            return Some(Fields::default());
        };
        match (&node.kind, shorthand) {
            (yaml::Kind::Map(_), _) => self.fields(node, allowed, what, |_| None),
            (yaml::Kind::Scalar(..), Some(key)) => Some(Fields {
                entries: vec![(key, node, node)],
            }),
            _ => {
                let message = format!("expected {expected} for {what}, found {}", describe(node));
                self.error(node, message, None);
                None
            }
        }
    }

    /// Reads the optional duration under `key`.
    pub fn opt_duration(&mut self, fields: &Fields<'_>, key: &str) -> Option<Duration> {
        let node = fields.get(key)?;
        self.duration(node, &format!("`{key}`"))
    }
}
