//! Loads scenario files: finds them, parses the YAML, validates it, and explains every problem.

mod data;
mod diagnostic;
mod discover;
pub(crate) mod load;
mod loader;
pub(crate) mod program;
pub(crate) mod steps;
mod suggest;
pub mod types;
mod values;
mod yaml;

use std::path::Path;

pub use diagnostic::{Diagnostic, LoadError};
pub use discover::discover;
pub use types::*;

/// Reads and loads the scenario file at `path`.
pub fn load_file(path: &Path) -> Result<Scenario, LoadError> {
    match std::fs::read_to_string(path) {
        Ok(source) => load_str(path, &source),
        Err(error) => {
            let reason = diagnostic::sentence_case(&error.to_string());
            let message = format!("cannot read {}: {reason}", path.display());
            Err(Diagnostic::whole_file(path, message).into())
        }
    }
}

/// Loads a scenario from `source`; `path` names it in diagnostics and gives the default name.
pub fn load_str(path: &Path, source: &str) -> Result<Scenario, LoadError> {
    load::load(path, source)
}
