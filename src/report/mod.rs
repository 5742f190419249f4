//! Presents results: the human report on the terminal, JUnit XML and JSON for tools.

pub mod human;
pub mod json;
pub mod junit;
#[cfg(test)]
mod sample;
