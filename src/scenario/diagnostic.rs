//! Describes problems in scenario files and renders them for people.

use std::fmt;
use std::path::{Path, PathBuf};

use super::yaml::{Kind, Node, Style};

/// Caps how many diagnostics one `LoadError` shows.
pub const MAX_DIAGNOSTICS: usize = 20;

/// Describes one problem: where it is, what is wrong, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file the problem is in (or the path that could not be used).
    pub file: PathBuf,
    /// The 1-based line, or 0 when the problem is about the whole file.
    pub line: usize,
    /// The 1-based column in characters, or 0 when the problem is about the whole file.
    pub col: usize,
    /// How many characters to underline from `col` (at least 1).
    pub width: usize,
    /// What is wrong, lowercase, without a trailing period.
    pub message: String,
    /// How to fix it, if there is something useful to say.
    pub hint: Option<String>,
    /// The text of line `line` shown under the message: the whole line, or
    /// for a long line the part around `col` (ending in `…` when cut there).
    pub source_line: Option<String>,
    /// The column `source_line` starts at: 1, or where a long line was cut.
    pub source_col: usize,
}

impl Diagnostic {
    /// Creates a diagnostic about a whole file or path, with no position.
    pub fn whole_file(file: &Path, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.to_path_buf(),
            line: 0,
            col: 0,
            width: 1,
            message: message.into(),
            hint: None,
            source_line: None,
            source_col: 1,
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            let error = crate::report::error(&self.message, self.hint.as_deref());
            return f.write_str(&error);
        }
        let file = self.file.display();
        write!(
            f,
            "{file}:{}:{}: error: {}",
            self.line, self.col, self.message
        )?;
        let number = self.line.to_string();
        let pad = " ".repeat(number.len());
        if let Some(text) = &self.source_line {
            let text = text.trim_end();
            // A line cut before the caret starts with `…`, one column wide.
            let cut = self.source_col > 1;
            let before = self.col.saturating_sub(self.source_col);
            // Copy tabs so the carets line up under the same characters.
            let lead: String = cut
                .then_some(' ')
                .into_iter()
                .chain(
                    text.chars()
                        .chain(std::iter::repeat(' '))
                        .take(before)
                        .map(|c| if c == '\t' { '\t' } else { ' ' }),
                )
                .collect();
            // Carets stop where the shown text does (a cut line ends in `…`).
            let left = text.chars().count().saturating_sub(before).max(1);
            let width = if text.ends_with('…') {
                self.width.min(left.saturating_sub(1).max(1))
            } else {
                self.width
            };
            let carets = "^".repeat(width.max(1));
            let ellipsis = if cut { "…" } else { "" };
            write!(f, "\n{pad} |")?;
            write!(f, "\n{}", format!("{number} | {ellipsis}{text}").trim_end())?;
            write!(f, "\n{pad} | {lead}{carets}")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n{pad} = hint: {hint}")?;
        }
        Ok(())
    }
}

/// Reports why scenario files could not be found or loaded: every problem found, in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(.diagnostics, *.omitted))]
pub struct LoadError {
    diagnostics: Vec<Diagnostic>,
    omitted: usize,
}

impl LoadError {
    /// Creates an error from its diagnostics, keeping the first `MAX_DIAGNOSTICS`.
    pub fn new(mut diagnostics: Vec<Diagnostic>) -> Self {
        let omitted = diagnostics.len().saturating_sub(MAX_DIAGNOSTICS);
        diagnostics.truncate(MAX_DIAGNOSTICS);
        LoadError {
            diagnostics,
            omitted,
        }
    }

    /// Returns the diagnostics shown (at most `MAX_DIAGNOSTICS`).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }
}

impl From<Diagnostic> for LoadError {
    fn from(diagnostic: Diagnostic) -> Self {
        LoadError::new(vec![diagnostic])
    }
}

/// Lowercases the first letter and drops a trailing period, for messages built from other crates' errors.
pub(crate) fn sentence_case(text: &str) -> String {
    let text = text.trim().trim_end_matches('.');
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Describes what a node holds, for "found ..." in messages.
pub(crate) fn describe(node: &Node) -> String {
    match &node.kind {
        Kind::Seq(_) => "a list".into(),
        Kind::Map(_) => "a map".into(),
        _ if node.is_null() => "nothing".into(),
        Kind::Scalar(text, Style::Plain) if is_number(text) => format!("the number `{text}`"),
        Kind::Scalar(text, Style::Plain) => quote(text),
        Kind::Scalar(text, Style::Quoted) => format!("the string {:?}", shorten(text)),
        Kind::Scalar(..) => "a block of text".into(),
    }
}

/// Quotes a name for a message: `` `name` ``, or escaped when it holds line breaks or control characters.
pub(crate) fn quote(text: &str) -> String {
    let short = shorten(text);
    if short.chars().any(char::is_control) {
        format!("{short:?}")
    } else {
        format!("`{short}`")
    }
}

fn shorten(text: &str) -> String {
    const MAX: usize = 40;
    if text.chars().count() <= MAX {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

/// Returns true for a decimal number (`inf` and `nan` are words here).
fn is_number(text: &str) -> bool {
    text.bytes().any(|b| b.is_ascii_digit()) && text.parse::<f64>().is_ok()
}

fn render(diagnostics: &[Diagnostic], omitted: usize) -> String {
    let mut parts: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
    if omitted > 0 {
        let s = if omitted == 1 { "" } else { "s" };
        parts.push(format!("note: {omitted} more error{s} not shown"));
    }
    parts.join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: usize, col: usize, width: usize, source: &str) -> Diagnostic {
        Diagnostic {
            file: PathBuf::from("scenarios/bad.yaml"),
            line,
            col,
            width,
            message: "unknown step `kil_server`".into(),
            hint: Some("did you mean `kill_server`?".into()),
            source_line: Some(source.into()),
            source_col: 1,
        }
    }

    fn node(source: &str) -> Node {
        let root = super::super::yaml::parse(&format!("v: {source}\n"))
            .root
            .unwrap();
        root.entries().unwrap()[0].1.clone()
    }

    #[test]
    fn describes_nodes() {
        assert_eq!(describe(&node("[1]")), "a list");
        assert_eq!(describe(&node("{a: 1}")), "a map");
        assert_eq!(describe(&node("")), "nothing");
        assert_eq!(describe(&node("3")), "the number `3`");
        assert_eq!(describe(&node("abc")), "`abc`");
        assert_eq!(describe(&node("\"3\"")), "the string \"3\"");
    }

    #[test]
    fn renders_the_documented_shape() {
        let text = at(7, 5, 10, "  - kil_server").to_string();
        assert_eq!(
            text,
            "scenarios/bad.yaml:7:5: error: unknown step `kil_server`\n  |\n7 |   - kil_server\n  |     ^^^^^^^^^^\n  = hint: did you mean `kill_server`?"
        );
    }

    #[test]
    fn gutter_grows_with_the_line_number_and_tabs_are_kept() {
        let text = at(120, 3, 0, "\tx: y").to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "    |");
        assert_eq!(lines[2], "120 | \tx: y");
        assert_eq!(lines[3], "    | \t ^");
        assert_eq!(lines[4], "    = hint: did you mean `kill_server`?");
    }

    #[test]
    fn a_cut_line_starts_with_an_ellipsis_and_the_carets_stay_under_the_word() {
        let mut diagnostic = at(1, 40_005, 10, "… , kil_server, b, b…");
        diagnostic.source_line = Some("a, kil_server, b, b…".into());
        diagnostic.source_col = 40_002;
        let text = diagnostic.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[2], "1 | …a, kil_server, b, b…");
        assert_eq!(lines[3], "  |     ^^^^^^^^^^");
        // Carets never run past the end of what is shown.
        diagnostic.width = 1_000_000;
        let text = diagnostic.to_string();
        assert_eq!(text.lines().nth(3), Some("  |     ^^^^^^^^^^^^^^^^"));
    }

    #[test]
    fn load_error_separates_diagnostics_and_caps_them() {
        let error = LoadError::new(vec![at(1, 1, 1, "a"); MAX_DIAGNOSTICS + 3]);
        assert_eq!(error.diagnostics().len(), MAX_DIAGNOSTICS);
        let text = error.to_string();
        assert_eq!(
            text.matches("\n\nscenarios/bad.yaml:1:1: error:").count(),
            19
        );
        assert!(text.ends_with("\n\nnote: 3 more errors not shown"));
    }

    #[test]
    fn sentence_case_lowercases_and_trims() {
        assert_eq!(
            sentence_case("Invalid symbol 33, offset 0."),
            "invalid symbol 33, offset 0"
        );
        assert_eq!(sentence_case(""), "");
    }

    #[test]
    fn whole_file_errors_have_no_position() {
        let error = LoadError::from(Diagnostic::whole_file(
            Path::new("x.yaml"),
            "cannot read x.yaml: no such file or directory (os error 2)",
        ));
        assert_eq!(
            error.to_string(),
            "error: cannot read x.yaml: no such file or directory (os error 2)"
        );
    }
}
