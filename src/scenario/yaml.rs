//! Builds a small YAML tree with source positions from saphyr-parser's events.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use super::diagnostic::sentence_case;

use super::limits::{MAX_ALIAS_BYTES, MAX_NODES};

/// Marks a place in the source: 1-based line and 1-based column in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Pos {
    /// The line, from 1.
    pub line: usize,
    /// The column in characters, from 1.
    pub col: usize,
}

impl Pos {
    fn from_marker(marker: saphyr_parser::Marker) -> Self {
        Pos {
            line: marker.line().max(1),
            col: marker.col() + 1,
        }
    }
}

/// Tells how a scalar was written, so `3` (a number) and `"3"` (a string) differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// Written bare: may be a number, a boolean or null.
    Plain,
    /// Written in single or double quotes (or tagged `!!str`): always a string.
    Quoted,
    /// Written as a `|` or `>` block: always a string.
    Block,
}

/// Holds what a node is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    /// A scalar's text and how it was written.
    Scalar(String, Style),
    /// A sequence's items.
    Seq(Vec<Node>),
    /// A mapping's entries in file order (duplicate keys removed).
    Map(Vec<(Node, Node)>),
}

/// Holds one YAML node and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    /// What the node is.
    pub kind: Kind,
    /// Where it starts.
    pub start: Pos,
    /// Where it ends (exclusive).
    pub end: Pos,
}

impl Node {
    /// Returns the scalar's text, whatever its style.
    pub fn scalar(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar(text, _) => Some(text),
            _ => None,
        }
    }

    /// Returns the scalar's text when it was written plain (unquoted).
    pub fn plain(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar(text, Style::Plain) => Some(text),
            _ => None,
        }
    }

    /// Returns true for an empty value, `~` or `null`.
    pub fn is_null(&self) -> bool {
        matches!(self.plain(), Some("" | "~" | "null" | "Null" | "NULL"))
    }

    /// Returns the mapping's entries.
    pub fn entries(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            Kind::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// Returns how much the node weighs: its nodes and its scalars' bytes.
    fn weight(&self) -> Weight {
        match &self.kind {
            Kind::Scalar(text, _) => Weight {
                nodes: 1,
                bytes: text.len(),
            },
            Kind::Seq(items) => items.iter().fold(Weight::ONE, |w, n| w + n.weight()),
            Kind::Map(entries) => entries
                .iter()
                .fold(Weight::ONE, |w, (k, v)| w + k.weight() + v.weight()),
        }
    }
}

/// Counts what a node brings to the document: nodes, and bytes of text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Weight {
    nodes: usize,
    bytes: usize,
}

impl Weight {
    /// One node without text (a collection's own weight).
    const ONE: Weight = Weight { nodes: 1, bytes: 0 };
}

impl std::ops::Add for Weight {
    type Output = Weight;

    fn add(self, other: Weight) -> Weight {
        Weight {
            nodes: self.nodes.saturating_add(other.nodes),
            bytes: self.bytes.saturating_add(other.bytes),
        }
    }
}

/// Describes a problem found while reading the YAML itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// Where it starts.
    pub start: Pos,
    /// Where it ends (exclusive).
    pub end: Pos,
    /// What is wrong, lowercase.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

/// Holds the parsed document (none when the file is empty or broken) and the problems found.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    /// The document's root node.
    pub root: Option<Node>,
    /// Syntax errors (fatal: then `root` is none) and duplicate keys.
    pub problems: Vec<Problem>,
}

enum Frame {
    Seq {
        start: Pos,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        start: Pos,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
    },
}

struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    weight: Weight,
    root: Option<Node>,
    problems: Vec<Problem>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            stack: Vec::new(),
            anchors: HashMap::new(),
            weight: Weight { nodes: 0, bytes: 0 },
            root: None,
            problems: Vec::new(),
        }
    }
}

/// Parses `source` into a tree of nodes with positions.
pub(crate) fn parse(source: &str) -> Parsed {
    let mut builder = Builder::default();
    let mut documents = 0;
    for result in Parser::new_from_str(source) {
        let (event, span) = match result {
            Ok(pair) => pair,
            Err(error) => {
                let at = Pos::from_marker(*error.marker());
                if error.info().contains("unknown escape character")
                    && let Some(problem) = unknown_escape(source, at)
                {
                    return builder.fatal(
                        problem.start,
                        problem.end,
                        problem.message,
                        problem.hint,
                    );
                }
                let hint = error
                    .info()
                    .contains("tab")
                    .then(|| "indent with spaces: YAML does not allow tabs there".to_owned());
                return builder.fatal(at, at, syntax_message(error.info()), hint);
            }
        };
        let start = Pos::from_marker(span.start);
        match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return builder.fatal(
                        start,
                        Pos::from_marker(span.end),
                        "a scenario file holds one YAML document, found a second one".into(),
                        Some(
                            "remove the `---` and what follows, or move it to its own file".into(),
                        ),
                    );
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                let style = match style {
                    _ if tag.is_some_and(|t| t.is_yaml_core_schema() && t.suffix == "str") => {
                        Style::Quoted
                    }
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => Style::Quoted,
                    ScalarStyle::Literal | ScalarStyle::Folded => Style::Block,
                };
                let node = Node {
                    kind: Kind::Scalar(text.into_owned(), style),
                    start,
                    end: Pos::from_marker(span.end),
                };
                // Text written out is bounded by the file; only copies count.
                if let Err(parsed) = builder.add(node, anchor, Weight::ONE) {
                    return parsed;
                }
            }
            Event::SequenceStart(anchor, _) => builder.stack.push(Frame::Seq {
                start,
                anchor,
                items: Vec::new(),
            }),
            Event::MappingStart(anchor, _) => builder.stack.push(Frame::Map {
                start,
                anchor,
                entries: Vec::new(),
                key: None,
            }),
            Event::SequenceEnd | Event::MappingEnd => {
                if let Err(parsed) = builder.close(span) {
                    return parsed;
                }
            }
            Event::Alias(id) => {
                let end = Pos::from_marker(span.end);
                // Weighed before it is copied: a copy too large is never made.
                let Some(weight) = builder.anchors.get(&id).map(Node::weight) else {
                    return builder.fatal(
                        start,
                        end,
                        "this alias refers to an anchor that is not defined before it".into(),
                        None,
                    );
                };
                if let Err(parsed) = builder.count(weight, start, end) {
                    return parsed;
                }
                let copy = builder.anchors.get(&id).cloned();
                let counted = Weight { nodes: 0, bytes: 0 };
                if let Some(Err(parsed)) = copy.map(|node| builder.add(node, 0, counted)) {
                    return parsed;
                }
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
        }
    }
    Parsed {
        root: builder.root,
        problems: builder.problems,
    }
}

impl Builder {
    fn fatal(mut self, start: Pos, end: Pos, message: String, hint: Option<String>) -> Parsed {
        self.problems.push(Problem {
            start,
            end,
            message,
            hint,
        });
        Parsed {
            root: None,
            problems: self.problems,
        }
    }

    fn close(&mut self, span: Span) -> Result<(), Parsed> {
        let (node, anchor) = match self.stack.pop() {
            Some(Frame::Seq {
                start,
                anchor,
                items,
            }) => {
                let end = end_of(span, items.last().map(|n| n.end), start);
                let node = Node {
                    kind: Kind::Seq(items),
                    start,
                    end,
                };
                (node, anchor)
            }
            Some(Frame::Map {
                start,
                anchor,
                entries,
                ..
            }) => {
                let end = end_of(span, entries.last().map(|(_, v)| v.end), start);
                let node = Node {
                    kind: Kind::Map(entries),
                    start,
                    end,
                };
                (node, anchor)
            }
            None => return Ok(()),
        };
        self.add(node, anchor, Weight::ONE)
    }

    /// Counts `weight` into the document's size (nodes, and the text that
    /// aliases copy); past a limit, the document is rejected at once, at
    /// `start`..`end`.
    fn count(&mut self, weight: Weight, start: Pos, end: Pos) -> Result<(), Parsed> {
        self.weight = self.weight + weight;
        let limit = if self.weight.nodes > MAX_NODES {
            format!("more than {MAX_NODES} nodes, counting what aliases copy")
        } else if self.weight.bytes > MAX_ALIAS_BYTES {
            format!(
                "aliases copy more than {} of text",
                super::limits::bytes(MAX_ALIAS_BYTES as u64)
            )
        } else {
            return Ok(());
        };
        let builder = std::mem::take(self);
        Err(builder.fatal(
            start,
            end,
            format!("the document is too large: {limit}"),
            Some("aliases (`*name`) copy what their anchor holds; use fewer of them".into()),
        ))
    }

    /// Adds a finished node; `weight` is what it brings that was not counted
    /// yet (one node, or nothing for an alias's copy, which was counted
    /// before it was made).
    fn add(&mut self, node: Node, anchor: usize, weight: Weight) -> Result<(), Parsed> {
        self.count(weight, node.start, node.end)?;
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(k) => {
                    let first = k
                        .scalar()
                        .and_then(|name| entries.iter().find(|(e, _)| e.scalar() == Some(name)));
                    if let Some((first, _)) = first {
                        self.problems.push(Problem {
                            start: k.start,
                            end: k.end,
                            message: format!("duplicate key `{}`", k.scalar().unwrap_or_default()),
                            hint: Some(format!(
                                "it was first given on line {}; keep only one",
                                first.start.line
                            )),
                        });
                    } else {
                        entries.push((k, node));
                    }
                }
            },
        }
        Ok(())
    }
}

/// Picks a collection's end: its closing bracket, else its last child, else its start.
fn end_of(span: Span, last_child: Option<Pos>, start: Pos) -> Pos {
    if span.is_empty() {
        last_child.unwrap_or(start)
    } else {
        Pos::from_marker(span.end)
    }
}

/// Turns saphyr's error text into a lowercase diagnostic message.
/// Describes the first escape YAML does not know in the double-quoted
/// string that opens at `quote`: a regex such as `"^n \d+$"` is the usual
/// cause, so the problem points at the escape and says how to write it.
fn unknown_escape(source: &str, quote: Pos) -> Option<Problem> {
    let lines = super::reader::Lines::new(source);
    let line_start = source_offset(&lines, source, quote.line)?;
    let from = line_start + lines.byte(quote.line, quote.col);
    let mut chars = source[from..].chars();
    if chars.next() != Some('"') {
        return None;
    }
    let mut at = Pos {
        line: quote.line,
        col: quote.col + 1,
    };
    let mut after_cr = false;
    while let Some(c) = chars.next() {
        match c {
            '"' => return None,
            '\\' => match chars.next()? {
                known if KNOWN_ESCAPES.contains(known) => at.col += 2,
                '\n' | '\r' => {
                    at = Pos {
                        line: at.line + 1,
                        col: 1,
                    }
                }
                unknown => {
                    let end = Pos {
                        col: at.col + 2,
                        ..at
                    };
                    let text = lines.slice(quote.line, quote.col, None);
                    return Some(Problem {
                        start: at,
                        end,
                        message: format!(
                            "unknown escape `\\{unknown}` in a double-quoted string: YAML reads a backslash there as an escape"
                        ),
                        hint: Some(escape_hint(text)),
                    });
                }
            },
            '\n' if after_cr => {}
            '\n' | '\r' => {
                at = Pos {
                    line: at.line + 1,
                    col: 1,
                }
            }
            _ => at.col += 1,
        }
        after_cr = c == '\r';
    }
    None
}

/// Lists the characters YAML takes after a backslash in double quotes
/// (besides a line break).
const KNOWN_ESCAPES: &str = "0abt\tnvfre \"/\\N_LPxuU";

/// Returns the byte offset in `source` where 1-based `line` starts.
fn source_offset(lines: &super::reader::Lines<'_>, source: &str, line: usize) -> Option<usize> {
    let text = lines.line(line);
    let offset = text.as_ptr() as usize - source.as_ptr() as usize;
    (offset <= source.len()).then_some(offset)
}

/// Says how to write a regex with backslashes: in single quotes, where a
/// backslash is itself, or with each backslash doubled. `text` is the rest
/// of the line from the opening quote; its string is shown both ways when
/// it ends on that line and holds no quote or doubled backslash (whose
/// meaning would change).
fn escape_hint(text: &str) -> String {
    let inside = text.strip_prefix('"').and_then(|rest| {
        let mut escaped = false;
        let end = rest.char_indices().find_map(|(at, c)| {
            let end = c == '"' && !escaped;
            escaped = c == '\\' && !escaped;
            end.then_some(at)
        })?;
        Some(&rest[..end])
    });
    let shown = inside.filter(|inside| {
        !inside.contains(['\'', '"']) && !inside.contains("\\\\") && inside.chars().count() <= 60
    });
    let (single, double) = match shown {
        Some(inside) => (inside.to_owned(), inside.replace('\\', "\\\\")),
        None => ("^n \\d+$".to_owned(), "^n \\\\d+$".to_owned()),
    };
    format!(
        "write the regex in single quotes, where a backslash is just a backslash: '{single}'; or double each backslash: \"{double}\""
    )
}

fn syntax_message(info: &str) -> String {
    match sentence_case(info) {
        info if info.is_empty() => "invalid YAML: malformed document".into(),
        info => format!("invalid YAML: {info}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(line: usize, col: usize) -> Pos {
        Pos { line, col }
    }

    #[test]
    fn scalars_keep_their_style_and_position() {
        let parsed = parse("a: 3\nb: \"3\"\nc: |\n  x\n");
        assert!(parsed.problems.is_empty());
        let root = parsed.root.unwrap();
        let entries = root.entries().unwrap();
        assert_eq!(entries[0].1.kind, Kind::Scalar("3".into(), Style::Plain));
        assert_eq!(entries[1].1.kind, Kind::Scalar("3".into(), Style::Quoted));
        assert_eq!(entries[2].1.kind, Kind::Scalar("x\n".into(), Style::Block));
        assert_eq!(
            (entries[1].1.start, entries[1].1.end),
            (pos(2, 4), pos(2, 7))
        );
        assert_eq!(entries[1].0.start, pos(2, 1));
    }

    #[test]
    fn collections_span_their_content() {
        let root = parse("- {a: 1, b: 2}\n- - x\n  - y\n").root.unwrap();
        let Kind::Seq(items) = &root.kind else {
            panic!("expected a sequence")
        };
        assert_eq!((items[0].start, items[0].end), (pos(1, 3), pos(1, 15)));
        assert_eq!((items[1].start, items[1].end), (pos(2, 3), pos(3, 6)));
    }

    #[test]
    fn aliases_copy_their_anchor() {
        let root = parse("a: &x [1, 2]\nb: *x\n").root.unwrap();
        let entries = root.entries().unwrap();
        assert_eq!(entries[0].1.kind, entries[1].1.kind);
    }

    #[test]
    fn str_tag_makes_a_string() {
        let root = parse("a: !!str 3\n").root.unwrap();
        assert_eq!(
            root.entries().unwrap()[0].1.kind,
            Kind::Scalar("3".into(), Style::Quoted)
        );
    }

    #[test]
    fn duplicate_key_is_reported_at_the_second() {
        let parsed = parse("a: 1\nb: 2\na: 3\n");
        assert_eq!(parsed.problems.len(), 1);
        assert_eq!(parsed.problems[0].start, pos(3, 1));
        assert_eq!(parsed.problems[0].message, "duplicate key `a`");
        assert_eq!(parsed.root.unwrap().entries().unwrap().len(), 2);
    }

    #[test]
    fn syntax_error_has_a_position() {
        let parsed = parse("a: [1, 2\nb: 3\n");
        assert!(parsed.root.is_none());
        assert!(parsed.problems[0].message.starts_with("invalid YAML: "));
        let parsed = parse("a: b: c\n");
        assert_eq!(parsed.problems[0].start, pos(1, 5));
    }

    #[test]
    fn an_unknown_escape_is_pointed_at_with_both_ways_to_write_it() {
        let parsed = parse("a: \"x\\ty\\\"é \\d+$\"\n");
        let problem = &parsed.problems[0];
        assert_eq!((problem.start, problem.end), (pos(1, 13), pos(1, 15)));
        assert!(
            problem.message.starts_with("unknown escape `\\d`"),
            "{problem:?}"
        );
        // Quotes inside: the hint shows the general form.
        assert!(problem.hint.as_ref().unwrap().contains("'^n \\d+$'"));
        let parsed = parse("a:\n  - \"x\n    \\q\"\n");
        assert_eq!(parsed.problems[0].start, pos(3, 5));
        let hint = parse("a: \"^n \\d+$\"\n").problems[0].hint.clone().unwrap();
        assert!(
            hint.contains("'^n \\d+$'") && hint.contains("\"^n \\\\d+$\""),
            "{hint}"
        );
    }

    #[test]
    fn second_document_and_alias_bombs_are_rejected() {
        let parsed = parse("a: 1\n---\nb: 2\n");
        assert_eq!(parsed.problems[0].start.line, 2);
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (i, prev) in ["b", "c", "d", "e", "f", "g"]
            .iter()
            .zip(["a", "b", "c", "d", "e", "f"])
        {
            bomb.push_str(&format!("{i}: &{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        let parsed = parse(&bomb);
        assert!(parsed.root.is_none());
        assert!(parsed.problems[0].message.contains("too large"));
    }

    #[test]
    fn aliases_of_long_strings_are_rejected_at_the_first_one_too_many() {
        // 1 MiB aliased 2,000 times would be 2 GiB: rejected once past 32 MiB.
        let mut source = format!("- &s \"{}\"\n", "A".repeat(1 << 20));
        for _ in 0..2000 {
            source.push_str("- *s\n");
        }
        let parsed = parse(&source);
        assert!(parsed.root.is_none());
        let problem = &parsed.problems[0];
        assert_eq!(
            problem.message,
            "the document is too large: aliases copy more than 32 MiB of text"
        );
        // The alias that went over: the 33rd, on line 34.
        assert_eq!((problem.start, problem.end), (pos(34, 3), pos(34, 5)));
    }

    #[test]
    fn empty_source_has_no_root() {
        let parsed = parse("# nothing\n");
        assert!(parsed.root.is_none() && parsed.problems.is_empty());
    }
}
