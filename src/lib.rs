//! tcprun: a scriptable TCP test harness and scenario runner.
//!
//! Scenarios written in YAML start a fake (or real) TCP server, drive
//! reconnecting clients against it, record a transcript of every byte and
//! connection event, and check it against expectations and golden files.
//! Everything that happens is reported as typed [`event::Event`]s into one
//! ordered stream; transcripts, expectations and reports are folds over it.
//!
//! # Layout
//! - [`cli`]: the command line (clap types only).
//! - [`event`]: the typed events and the emitter every actor reports through.
//! - [`client`]: the reconnecting client: connection, reconnect policy, encodings.
//! - [`connect`]: `tcprun connect`, the client on stdin and stdout.

pub mod cli;
pub mod client;
pub mod connect;
pub mod event;
