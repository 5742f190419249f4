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
//! - [`event`]: the typed events, by actor (client, server, program), and the emitter every actor reports through.
//! - [`client`]: the reconnecting client: connection, reconnect policy, encodings.
//! - [`connect`]: `tcprun connect`, the client on stdin and stdout, and the relay `tcprun serve --stdio` shares.
//! - [`serve`]: `tcprun serve`, a fake server on its own, or one connection relayed to stdin and stdout.
//! - [`server`]: the built-in fake servers (echo, chat, sink, silent) and server programs.
//! - [`proxy`]: the fault proxy (forwarding, half-close and reset pass-through, faults, down and up) and `tcprun proxy`.
//! - [`process`]: programs in their own process groups, each under a supervisor; none outlives tcprun.
//! - [`scenario`]: the scenario file format, and loading it with located errors.
//! - [`schema`]: the JSON Schema of scenario files (`tcprun schema`), for editors.
//! - [`runner`]: runs one scenario: steps over the event stream, the journal that folds it, settling, virtual time, typed step failures.
//! - [`transcript`]: the canonical, deterministic rendering of the event stream: wording, causal order, masks.
//! - [`vars`]: `${port}`, `${tmp}`, `${env.NAME}`, `--var` values and captures.
//! - [`golden`]: golden transcript files: compare, create, update.
//! - [`matcher`]: regex matches over text still arriving: final only when more input cannot change them.
//! - [`framing`]: frames in byte streams: the spec, the decoder, the encoder, frame patterns.
//! - [`rules`]: the rule engine of a rule-based fake server, over frames, without sockets.
//! - [`outcome`]: how each scenario ended (passed, failed, error, golden mismatch, flaky, skipped), as the reports read it.
//! - [`suite`]: runs many scenario files and sums up.
//! - [`report`]: the reports: human, JUnit XML, JSON.

#![forbid(unsafe_code)]

pub mod cli;
pub mod client;
pub mod connect;
pub mod event;
pub mod framing;
pub mod golden;
pub mod matcher;
pub mod outcome;
pub mod process;
pub mod proxy;
pub mod report;
pub mod rules;
pub mod runner;
pub mod scenario;
pub mod schema;
pub mod serve;
pub mod server;
pub mod suite;
pub mod transcript;
pub mod vars;
