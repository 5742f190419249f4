//! Presents results: the human report on the terminal, JUnit XML and JSON for tools.

/// Returns an error as tcprun writes every error on stderr: `error:
/// MESSAGE`, and `  = hint: HINT` below it when there is one (an error at a
/// place in a file is `FILE:LINE:COL: error: MESSAGE`, with the line shown).
/// Status lines (`tcprun: connected to ...`) are not errors and keep their
/// own prefix.
pub fn error(message: &str, hint: Option<&str>) -> String {
    match hint {
        Some(hint) => format!("error: {message}\n  = hint: {hint}"),
        None => format!("error: {message}"),
    }
}

pub mod human;
pub mod json;
pub mod junit;
#[cfg(test)]
mod sample;
