//! Finds the scenario files named on the command line, expanding folders.

use std::fs;
use std::path::{Path, PathBuf};

use super::diagnostic::{Diagnostic, LoadError, sentence_case};

/// Returns true for a file name ending in `.yaml` or `.yml`.
fn is_scenario(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
}

/// Lists the scenario files `paths` stand for.
///
/// Files are kept as given, whatever their name; folders expand to every `*.yaml` and `*.yml`
/// file below them, sorted. A path that does not exist, a folder with no scenario in it, and
/// a folder that cannot be read are errors, all reported together.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, LoadError> {
    let mut found = Vec::new();
    let mut problems = Vec::new();
    for path in paths {
        match fs::metadata(path) {
            Err(error) => {
                let reason = sentence_case(&error.to_string());
                let message = format!("cannot find {}: {reason}", path.display());
                problems.push(Diagnostic::whole_file(path, message));
            }
            Ok(meta) if meta.is_dir() => {
                let mut files = Vec::new();
                walk(path, &mut files, &mut problems);
                if files.is_empty() {
                    let message =
                        format!("no scenario files (*.yaml, *.yml) in {}", path.display());
                    problems.push(Diagnostic::whole_file(path, message));
                }
                files.sort();
                found.extend(files);
            }
            Ok(_) => found.push(path.clone()),
        }
    }
    if problems.is_empty() {
        Ok(found)
    } else {
        Err(LoadError::new(problems))
    }
}

/// Collects scenario files below `dir`; symlinked folders are not followed, to avoid loops.
fn walk(dir: &Path, files: &mut Vec<PathBuf>, problems: &mut Vec<Diagnostic>) {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            let reason = sentence_case(&error.to_string());
            let message = format!("cannot read folder {}: {reason}", dir.display());
            problems.push(Diagnostic::whole_file(dir, message));
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            walk(&path, files, problems);
        } else if is_scenario(&path) && fs::metadata(&path).is_ok_and(|m| m.is_file()) {
            files.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("tcprun-discover-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn expands_folders_recursively_and_sorted() {
        let dir = scratch("expand");
        fs::create_dir_all(dir.join("sub/deeper")).unwrap();
        for file in [
            "b.yaml",
            "a.yml",
            "notes.txt",
            "sub/c.yaml",
            "sub/deeper/d.YAML",
        ] {
            fs::write(dir.join(file), "").unwrap();
        }
        let extra = dir.join("notes.txt");
        let found = discover(&[extra.clone(), dir.clone()]).unwrap();
        let expected = [
            extra,
            dir.join("a.yml"),
            dir.join("b.yaml"),
            dir.join("sub/c.yaml"),
            dir.join("sub/deeper/d.YAML"),
        ];
        assert_eq!(found, expected);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn reports_missing_paths_and_empty_folders() {
        let dir = scratch("empty");
        let missing = dir.join("nope.yaml");
        let error = discover(&[missing.clone(), dir.clone()]).unwrap_err();
        let messages: Vec<&str> = error
            .diagnostics()
            .iter()
            .map(|d| d.message.as_str())
            .collect();
        assert_eq!(messages.len(), 2);
        assert!(
            messages[0].starts_with(&format!("cannot find {}: no such file", missing.display()))
        );
        assert_eq!(
            messages[1],
            format!("no scenario files (*.yaml, *.yml) in {}", dir.display())
        );
        fs::remove_dir_all(dir).unwrap();
    }
}
