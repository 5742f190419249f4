//! Holds the default of each scenario key that has one, typed beside its text form, and the words each choice key takes.

use std::time::Duration;

/// Holds the default `timeout:` of a whole scenario.
pub const TIMEOUT: Duration = Duration::from_secs(30);
/// Holds [`TIMEOUT`] as written.
pub const TIMEOUT_TEXT: &str = "30s";
/// Holds the default `defaults: {timeout: ...}`: the timeout of a wait that names none.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(5);
/// Holds [`STEP_TIMEOUT`] as written.
pub const STEP_TIMEOUT_TEXT: &str = "5s";
/// Holds the default `host:` a server listens on.
pub const HOST: &str = "127.0.0.1";
/// Holds the default `port:` a server listens on (0: a free port).
pub const PORT: u16 = 0;
/// Holds the default `ready_timeout:` of a server program.
pub const READY_TIMEOUT: Duration = Duration::from_secs(5);
/// Holds [`READY_TIMEOUT`] as written.
pub const READY_TIMEOUT_TEXT: &str = "5s";
/// Holds the default `stop_timeout:` of a server program.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(2);
/// Holds [`STOP_TIMEOUT`] as written.
pub const STOP_TIMEOUT_TEXT: &str = "2s";
/// Holds the client's default `retry_interval:` (the chapter's 3 s).
pub const RETRY_INTERVAL: Duration = Duration::from_secs(3);
/// Holds [`RETRY_INTERVAL`] as written.
pub const RETRY_INTERVAL_TEXT: &str = "3s";
/// Holds the client's default `max_retries:` (the chapter's 10).
pub const MAX_RETRIES: u32 = 10;
/// Holds the client's default `connect_timeout:`.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Holds [`CONNECT_TIMEOUT`] as written.
pub const CONNECT_TIMEOUT_TEXT: &str = "10s";
/// Holds the client's default `max_interval:`, the cap of exponential backoff.
pub const MAX_INTERVAL: Duration = Duration::from_secs(30);
/// Holds [`MAX_INTERVAL`] as written.
pub const MAX_INTERVAL_TEXT: &str = "30s";
/// Caps the client's `receive_buffer:`: 1 GiB.
pub const MAX_RECEIVE_BUFFER: u64 = 1 << 30;
/// Holds the client's default `quit_word:`.
pub const QUIT_WORD: &str = "quit";
/// Holds a proxy's default `upstream:`: the scenario's server.
pub const UPSTREAM: &str = "server";
/// Holds a proxy's default `seed:`.
pub const SEED: u64 = 0;
/// Holds a proxy's default `dial_timeout:`.
pub const DIAL_TIMEOUT: Duration = Duration::from_secs(10);
/// Holds [`DIAL_TIMEOUT`] as written.
pub const DIAL_TIMEOUT_TEXT: &str = "10s";

/// Lists the fake server kinds (`fake:`).
pub(crate) const FAKE_KINDS: &[&str] = &["echo", "chat", "sink", "silent", "rules"];
/// Lists the `output:` modes of a server program.
pub(crate) const OUTPUT_MODES: &[&str] = &["transcript", "discard", "inherit"];
/// Lists the `stderr:` modes of a client program.
pub(crate) const STDERR_MODES: &[&str] = &["separate", "merge"];
/// Lists the `backoff:` kinds of the built-in client.
pub(crate) const BACKOFFS: &[&str] = &["fixed", "exponential"];
/// Lists the `line_ending:` kinds of the built-in client.
pub(crate) const LINE_ENDINGS: &[&str] = &["lf", "crlf"];
