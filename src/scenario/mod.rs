//! Loads scenario files: finds them, parses the YAML, validates it, and explains every problem.

mod data;
mod diagnostic;
mod discover;
pub mod frames;
pub mod generate;
pub mod keys;
pub mod limits;
pub(crate) mod read_client;
mod read_data;
mod read_file;
mod read_frames;
pub(crate) mod read_program;
mod read_proxy;
mod read_rules;
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

use crate::vars::Given;

pub use data::{Data, RenderError};
pub(crate) use diagnostic::sentence_case;
pub use diagnostic::{Diagnostic, LoadError};
pub use discover::discover;
pub use read_rules::{RulesFile, load_rules_file, load_rules_str};
pub use types::*;

/// Reads and loads the scenario file at `path`: a regular file of at most
/// [`limits::MAX_FILE_BYTES`], in UTF-8. Variables are checked when steps run.
pub fn load_file(path: &Path) -> Result<Scenario, LoadError> {
    let source = read_file::read_source(path)?;
    load_str(path, &source)
}

/// Reads and loads the scenario file at `path`, as [`load_file`] does,
/// checking now that every `${name}` will have a value: one of `given`, an
/// environment variable that is set, a built-in one, or an earlier capture.
pub fn load_file_given(path: &Path, given: &Given) -> Result<Scenario, LoadError> {
    let source = read_file::read_source(path)?;
    read_file::load(path, &source, Some(given))
}

/// Loads a scenario from the bytes of a file (at most
/// [`limits::MAX_FILE_BYTES`], UTF-8); `path` names it in diagnostics and
/// gives the default name. A byte that is not UTF-8 is reported at its line
/// and column.
pub fn load_bytes(path: &Path, bytes: Vec<u8>) -> Result<Scenario, LoadError> {
    let source = read_file::text(path, bytes)?;
    load_str(path, &source)
}

/// Loads a scenario from `source`; `path` names it in diagnostics and gives the default name.
pub fn load_str(path: &Path, source: &str) -> Result<Scenario, LoadError> {
    read_file::load(path, source, None)
}

/// Renders the README's table of proxy steps from the step registry.
pub fn readme_proxy_step_table() -> String {
    registry::readme_table(registry::Table::Proxy)
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
