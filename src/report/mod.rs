//! Presents results: the human report on the terminal.

pub mod human;
