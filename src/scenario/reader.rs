//! Holds the state of loading one file: where problems are recorded, and how maps are read.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::matcher::Matcher;
use crate::vars::Given;

use super::diagnostic::{Diagnostic, MAX_DIAGNOSTICS};
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

/// Caps the characters of a source line shown under a diagnostic; a longer
/// line is cut around the caret, with `…` where it was cut.
pub(crate) const SHOWN_LINE: usize = 100;

/// Shows this many characters of a long line before the caret.
const SHOWN_BEFORE: usize = 30;

/// Lines longer than this (in bytes) get a column index; shorter ones are
/// scanned, which costs no more.
const INDEXED_LINE: usize = 256;

/// Marks one byte offset every this many characters in an indexed line.
const MARK_EVERY: usize = 64;

/// Finds a line's text, and the byte offset of a column in it, in time that
/// does not grow with the line's length, however many positions are asked
/// for: loading stays linear in the file's size even with all of it on one
/// line. Lines end at `\n`, `\r\n` or a bare `\r`, as YAML's do.
pub(crate) struct Lines<'a> {
    source: &'a str,
    /// Each line's byte range (without its line break).
    ranges: Vec<(usize, usize)>,
    /// For lines longer than [`INDEXED_LINE`] bytes, by line index: `None`
    /// when the line is ASCII (a column is a byte), else the byte offset of
    /// every [`MARK_EVERY`]-th character.
    marks: Vec<(usize, Option<Vec<usize>>)>,
}

impl<'a> Lines<'a> {
    /// Indexes the lines of `source`.
    pub fn new(source: &'a str) -> Self {
        let bytes = source.as_bytes();
        let mut ranges = Vec::new();
        let mut start = 0;
        let mut at = 0;
        while let Some(offset) = memchr::memchr2(b'\n', b'\r', &bytes[at..]) {
            let end = at + offset;
            ranges.push((start, end));
            at = if bytes[end] == b'\r' && bytes.get(end + 1) == Some(&b'\n') {
                end + 2
            } else {
                end + 1
            };
            start = at;
        }
        ranges.push((start, bytes.len()));
        let marks = ranges
            .iter()
            .enumerate()
            .filter(|(_, (start, end))| end - start > INDEXED_LINE)
            .map(|(index, &(start, end))| {
                let text = &source[start..end];
                let marks = (!text.is_ascii()).then(|| {
                    text.char_indices()
                        .step_by(MARK_EVERY)
                        .map(|(offset, _)| offset)
                        .collect()
                });
                (index, marks)
            })
            .collect();
        Lines {
            source,
            ranges,
            marks,
        }
    }

    /// Returns the number of lines (a final line break starts an empty last line).
    pub fn count(&self) -> usize {
        self.ranges.len()
    }

    /// Returns the text of a 1-based line, or "" past the end.
    pub fn line(&self, line: usize) -> &'a str {
        line.checked_sub(1)
            .and_then(|i| self.ranges.get(i))
            .map_or("", |&(start, end)| &self.source[start..end])
    }

    /// Returns the byte offset in `line` of 1-based column `col` (the
    /// line's length past its end).
    pub fn byte(&self, line: usize, col: usize) -> usize {
        let text = self.line(line);
        let skip = col.saturating_sub(1);
        let Some(index) = line.checked_sub(1) else {
            return 0;
        };
        let (from_char, from_byte) = match self.marks.binary_search_by_key(&index, |m| m.0) {
            Ok(found) => match &self.marks[found].1 {
                None => return skip.min(text.len()),
                Some(marks) => {
                    let mark = (skip / MARK_EVERY).min(marks.len().saturating_sub(1));
                    (mark * MARK_EVERY, marks.get(mark).copied().unwrap_or(0))
                }
            },
            Err(_) => (0, 0),
        };
        text[from_byte..]
            .char_indices()
            .nth(skip - from_char)
            .map_or(text.len(), |(offset, _)| from_byte + offset)
    }

    /// Returns the text of `line` from column `from` up to column `to`
    /// (exclusive; `None`: to the end of the line).
    pub fn slice(&self, line: usize, from: usize, to: Option<usize>) -> &'a str {
        let text = self.line(line);
        let start = self.byte(line, from);
        let end = to.map_or(text.len(), |to| self.byte(line, to).max(start));
        &text[start..end]
    }
}

/// Holds a problem until the diagnostics are made: the source line is only
/// looked up for the ones shown.
struct Pending {
    start: Pos,
    end: Pos,
    message: String,
    hint: Option<String>,
}

/// Collects diagnostics while reading one file.
pub(crate) struct Reader<'a> {
    file: &'a Path,
    lines: Lines<'a>,
    diagnostics: Vec<Pending>,
    /// The declared client names, once known (none when `client:`/`clients:` is broken).
    pub clients: Option<Vec<String>>,
    /// The declared proxy names, once known (empty without proxies; none
    /// when `proxy:`/`proxies:` is broken).
    pub proxies: Option<Vec<String>>,
    /// The kind of server, once known (none when `server:` is missing or ambiguous).
    pub server: Option<ServerKind>,
    /// The clients written with `command:` or `shell:` (even when otherwise broken).
    pub command_clients: Vec<String>,
    /// The client programs whose stderr joins their output (`stderr: merge`).
    pub merged_clients: Vec<String>,
    /// The built-in clients written with `start: false`, each with whether a
    /// `connect` step read so far starts it.
    pub later_clients: Vec<(String, bool)>,
    /// Every distinct regex compiled so far (as checked), or why it failed:
    /// identical patterns are compiled once and share the compiled form.
    pub(crate) patterns: HashMap<String, Result<Arc<Matcher>, Rejected>>,
    /// The compiled size of those regexes together, in bytes.
    pub(crate) compiled: usize,
    /// The values given on the command line; with them, every `${name}` a
    /// step uses must have a value (none: variables are checked when the
    /// steps run).
    pub(crate) given: Option<&'a Given>,
    /// The names captured by the steps read so far (named groups of
    /// `expect` and `server_expect`).
    pub(crate) captured: BTreeSet<String>,
    /// The built-in clients with `framing:`, and their framing (none: it
    /// is invalid, and was reported).
    pub(crate) framed_clients: Vec<(String, Option<crate::framing::FramingSpec>)>,
    /// The fake server's framing (`Some(None)`: a fake server without one;
    /// `None`: no fake server, or `server:` is broken).
    pub(crate) framed_server: Option<Option<crate::framing::FramingSpec>>,
    /// Every distinct frame regex compiled so far: identical ones are
    /// compiled once and share the compiled form.
    pub(crate) frame_regexes: HashMap<String, crate::framing::FramePattern>,
}

/// Says why a regex was rejected: the message and the hint.
pub(crate) type Rejected = (String, String);

impl<'a> Reader<'a> {
    /// Returns the text of the file being read.
    pub(crate) fn source(&self) -> &'a str {
        self.lines.source
    }

    /// Creates a loader for `source`, read from `file`.
    pub fn new(file: &'a Path, source: &'a str) -> Self {
        Reader {
            file,
            lines: Lines::new(source),
            diagnostics: Vec::new(),
            clients: None,
            proxies: None,
            server: None,
            command_clients: Vec::new(),
            merged_clients: Vec::new(),
            later_clients: Vec::new(),
            patterns: HashMap::new(),
            compiled: 0,
            given: None,
            captured: BTreeSet::new(),
            framed_clients: Vec::new(),
            framed_server: None,
            frame_regexes: HashMap::new(),
        }
    }

    /// Checks that every `${name}` in `text` (written at `node`) will have a
    /// value when its step runs: a built-in name, a value given on the
    /// command line, an environment variable that is set, or a capture of
    /// an earlier step. Does nothing when no values were given to check against.
    pub(crate) fn check_variables(&mut self, node: &Node, text: &str) {
        if let Some(given) = self.given {
            self.check_variables_in(node, text, given);
        }
    }

    /// Checks `text`'s variables as [`Self::check_variables`] does, against
    /// `given`; `${NAME.port}` of a declared proxy is built in.
    pub(crate) fn check_variables_in(&mut self, node: &Node, text: &str, given: &Given) {
        let proxies = self.proxies.clone().unwrap_or_default();
        let proxy_port = |name: &str| {
            name.strip_suffix(".port")
                .is_some_and(|proxy| proxies.iter().any(|p| p == proxy))
        };
        let unknown: Vec<String> = crate::vars::names(text)
            .filter(|name| match name.strip_prefix("env.") {
                Some(env) => std::env::var_os(env).is_none(),
                None => {
                    !matches!(*name, "port" | "tmp")
                        && !proxy_port(name)
                        && !given.values.contains_key(*name)
                        && !self.captured.contains(*name)
                }
            })
            .map(str::to_owned)
            .collect();
        for name in unknown {
            let (message, hint) = match name.strip_prefix("env.") {
                Some(env) => (
                    format!(
                        "`${{{name}}}` has no value: the environment variable `{env}` is not set"
                    ),
                    format!("set `{env}` in tcprun's environment"),
                ),
                None => (
                    format!("unknown variable `${{{name}}}`"),
                    format!(
                        "give it a value with `--var {name}=VALUE` (or `--secret`; `tcprun validate` takes them too), or capture it in an earlier `expect` with a named group: `(?<{name}>...)`"
                    ),
                ),
            };
            self.error(node, message, Some(hint));
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

    /// Returns the file's lines.
    pub fn lines(&self) -> &Lines<'a> {
        &self.lines
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
        self.diagnostics.push(Pending {
            start,
            end,
            message: message.into(),
            hint,
        });
    }

    /// Returns how many problems have been recorded so far.
    pub fn error_count(&self) -> usize {
        self.diagnostics.len()
    }

    /// Returns the diagnostics in file order; only the first
    /// [`MAX_DIAGNOSTICS`], the ones shown, carry their source line.
    pub fn into_diagnostics(mut self) -> Vec<Diagnostic> {
        self.diagnostics
            .sort_by_key(|d| (d.start.line, d.start.col));
        let pending = std::mem::take(&mut self.diagnostics);
        let last = (1..=self.lines.count())
            .rev()
            .find(|&line| !self.lines.line(line).trim().is_empty())
            .unwrap_or(1);
        pending
            .into_iter()
            .enumerate()
            .map(|(index, pending)| self.diagnostic(pending, last, index < MAX_DIAGNOSTICS))
            .collect()
    }

    /// Makes one diagnostic at `at` on this source's one line, reported as
    /// line `line` of the file (for problems found before the file is text).
    pub fn single(self, at: Pos, line: usize, message: String, hint: Option<String>) -> Diagnostic {
        let pending = Pending {
            start: at,
            end: at,
            message,
            hint,
        };
        Diagnostic {
            line,
            ..self.diagnostic(pending, usize::MAX, true)
        }
    }

    /// Makes the diagnostic of a problem, with its source line when `shown`.
    /// A position past `last`, the last line that has text (an error at the
    /// end of input), moves to the end of that line.
    fn diagnostic(&self, pending: Pending, last: usize, shown: bool) -> Diagnostic {
        let Pending {
            mut start,
            mut end,
            message,
            hint,
        } = pending;
        if start.line > last {
            let at_end = Pos {
                line: last,
                col: self.lines.line(last).trim_end().chars().count() + 1,
            };
            start = at_end;
            end = at_end;
        }
        let width = if start == end {
            1
        } else if end.line == start.line && end.col > start.col {
            end.col - start.col
        } else {
            let rest = self.lines.slice(start.line, start.col, None);
            rest.trim_end().chars().take(SHOWN_LINE + 1).count()
        };
        let (source_line, source_col) = if shown {
            let (text, from) = shown_line(&self.lines, start.line, start.col);
            (Some(text), from)
        } else {
            (None, 1)
        };
        Diagnostic {
            file: self.file.to_path_buf(),
            line: start.line,
            col: start.col,
            width: width.max(1),
            message,
            hint,
            source_line,
            source_col,
        }
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

    /// Reads a map of named entries (`clients:`, `proxies:`): checks each
    /// name with `valid`, then reads each entry with `read` under its name
    /// (an invalid one keeps its text), so every entry's options are still
    /// checked. Returns the names when all are valid, and the entries when
    /// names and entries are.
    pub(crate) fn named<T>(
        &mut self,
        entries: &[(Node, Node)],
        valid: fn(&mut Self, &Node) -> bool,
        read: fn(&mut Self, &str, &Node) -> Option<T>,
    ) -> (Option<Vec<String>>, Option<Vec<T>>) {
        let mut names = Vec::new();
        let mut names_ok = true;
        for (name, _) in entries {
            names.push(name.scalar().unwrap_or_default().to_owned());
            names_ok &= valid(self, name);
        }
        let specs: Vec<Option<T>> = entries
            .iter()
            .zip(&names)
            .map(|((_, value), name)| read(self, name, value))
            .collect();
        if !names_ok {
            return (None, None);
        }
        (Some(names), specs.into_iter().collect())
    }

    /// Reads the optional duration under `key`.
    pub fn opt_duration(&mut self, fields: &Fields<'_>, key: &str) -> Option<Duration> {
        let node = fields.get(key)?;
        self.duration(node, &format!("`{key}`"))
    }
}

/// Returns the part of `line` shown under a diagnostic at column `col`: the
/// whole line when it is short, else at most [`SHOWN_LINE`] characters
/// around the caret, ending in `…` when cut there; and the column the shown
/// text starts at.
fn shown_line(lines: &Lines<'_>, line: usize, col: usize) -> (String, usize) {
    let text = lines.line(line).trim_end();
    if text.chars().take(SHOWN_LINE + 1).count() <= SHOWN_LINE {
        return (text.to_owned(), 1);
    }
    let from = col.saturating_sub(SHOWN_BEFORE).max(1);
    let rest = lines.slice(line, from, None).trim_end();
    let mut shown: String = rest.chars().take(SHOWN_LINE).collect();
    if shown.len() < rest.len() {
        shown.push('…');
    }
    (shown, from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_end_at_lf_crlf_and_bare_cr() {
        let lines = Lines::new("a\nb\r\nc\rd");
        assert_eq!(lines.count(), 4);
        let all: Vec<&str> = (1..=4).map(|n| lines.line(n)).collect();
        assert_eq!(all, ["a", "b", "c", "d"]);
        assert_eq!(lines.line(5), "");
        assert_eq!(Lines::new("a\n").count(), 2);
    }

    #[test]
    fn columns_map_to_bytes_in_short_long_ascii_and_other_lines() {
        let long_ascii = "x".repeat(1000);
        let long_other: String = "é".repeat(700) + "abc";
        let source = format!("héllo\n{long_ascii}\n{long_other}\n");
        let lines = Lines::new(&source);
        assert_eq!(lines.byte(1, 3), 3);
        assert_eq!(lines.slice(1, 2, Some(4)), "él");
        assert_eq!(lines.byte(2, 500), 499);
        assert_eq!(lines.byte(2, 5000), 1000);
        for col in [1, 63, 64, 65, 129, 700, 701] {
            assert_eq!(lines.byte(3, col), 2 * (col - 1), "col {col}");
        }
        assert_eq!(lines.slice(3, 701, None), "abc");
        assert_eq!(lines.byte(3, 10_000), long_other.len());
        assert_eq!((lines.byte(0, 5), lines.byte(99, 5)), (0, 0));
    }

    #[test]
    fn a_long_line_is_shown_cut_around_the_caret() {
        let line = format!("{}kil_server{}", "a, ".repeat(10_000), ", b".repeat(10_000));
        let lines = Lines::new(&line);
        let (shown, from) = shown_line(&lines, 1, 30_001);
        assert_eq!(from, 30_001 - SHOWN_BEFORE);
        assert_eq!(shown.chars().count(), SHOWN_LINE + 1);
        assert!(shown.ends_with('…'));
        assert_eq!(&shown[SHOWN_BEFORE..][..10], "kil_server");
        assert_eq!(shown_line(&Lines::new("short"), 1, 3), ("short".into(), 1));
    }
}
