//! Loads scenario files: finds them, parses the YAML, validates it, and explains every problem.

mod data;
mod diagnostic;
mod discover;
pub mod keys;
pub(crate) mod read_client;
mod read_data;
mod read_file;
pub(crate) mod read_program;
mod read_server;
pub(crate) mod read_steps;
mod read_values;
mod reader;
pub(crate) mod registry;
pub(crate) mod step_defs;
mod suggest;
pub mod types;
mod yaml;

use std::path::Path;

pub use data::{Data, RenderError};
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
    read_file::load(path, source)
}

/// Renders the README's table of client steps (`server: false`) or of server steps from the step registry.
pub fn readme_step_table(server: bool) -> String {
    let table = if server {
        registry::Table::Server
    } else {
        registry::Table::Client
    };
    registry::readme_table(table)
}
