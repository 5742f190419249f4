//! Compares transcripts with golden files beside their scenarios, and writes them on `--update`.

use std::path::{Path, PathBuf};

use similar::TextDiff;

/// Says what the golden comparison found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Golden {
    /// The transcript equals the golden file.
    Same,
    /// The golden file was missing and has been written.
    Created(PathBuf),
    /// The golden file was written anew (`--update`).
    Updated(PathBuf),
    /// The golden file is missing and CI forbids creating it.
    Missing(PathBuf),
    /// The transcript differs; a unified diff from golden to actual.
    Differs {
        /// The golden file.
        path: PathBuf,
        /// The diff.
        diff: String,
    },
    /// The golden file could not be read or written.
    Failed(String),
}

impl Golden {
    /// Returns true when the comparison does not fail the scenario.
    pub fn is_ok(&self) -> bool {
        matches!(self, Golden::Same | Golden::Created(_) | Golden::Updated(_))
    }
}

/// Returns the golden file of a scenario: `name.yaml` → `name.transcript` beside it.
pub fn path_for(scenario: &Path) -> PathBuf {
    scenario.with_extension("transcript")
}

/// Returns the transcript as the text of a golden file.
pub fn render(lines: &[String]) -> String {
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// Compares `lines` with the golden file of `scenario`; writes it when
/// `update` is set, or when it is missing and `ci` is not.
pub fn check(scenario: &Path, lines: &[String], update: bool, ci: bool) -> Golden {
    let path = path_for(scenario);
    let actual = render(lines);
    let write = |path: PathBuf, made: fn(PathBuf) -> Golden| match std::fs::write(&path, &actual) {
        Ok(()) => made(path),
        Err(error) => Golden::Failed(format!("cannot write {}: {error}", path.display())),
    };
    match std::fs::read_to_string(&path) {
        Ok(expected) if expected == actual => Golden::Same,
        Ok(_) if update => write(path, Golden::Updated),
        Ok(expected) => {
            let diff = TextDiff::from_lines(&expected, &actual)
                .unified_diff()
                .context_radius(3)
                .header(&format!("{} (golden)", path.display()), "actual")
                .to_string();
            Golden::Differs { path, diff }
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            if ci && !update {
                Golden::Missing(path)
            } else {
                write(path, Golden::Created)
            }
        }
        Err(error) => Golden::Failed(format!("cannot read {}: {error}", path.display())),
    }
}

/// Returns true when the environment says this is a CI run (`CI` set, not `false` or `0`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !matches!(value.as_str(), "" | "0" | "false"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &[&str]) -> Vec<String> {
        text.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn creates_compares_and_updates() {
        let dir = tempfile::tempdir().unwrap();
        let scenario = dir.path().join("a.yaml");
        let one = lines(&["server: up", "alice: connected"]);
        assert_eq!(
            check(&scenario, &one, false, true),
            Golden::Missing(dir.path().join("a.transcript"))
        );
        assert!(matches!(
            check(&scenario, &one, false, false),
            Golden::Created(_)
        ));
        assert_eq!(check(&scenario, &one, false, true), Golden::Same);
        let two = lines(&["server: up", "alice: closed"]);
        let Golden::Differs { diff, .. } = check(&scenario, &two, false, true) else {
            panic!("expected a difference");
        };
        assert!(diff.contains("-alice: connected\n+alice: closed"), "{diff}");
        assert!(matches!(
            check(&scenario, &two, true, true),
            Golden::Updated(_)
        ));
        assert_eq!(check(&scenario, &two, false, true), Golden::Same);
    }
}
