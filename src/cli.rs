//! Declares the command line: `tcprun [PATH]...` and its subcommands (clap types only).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::client::encoding::Encoding;
use crate::scenario::keys;

/// Caps `--jobs`: scenarios run at once, each on its own thread.
pub const MAX_JOBS: u16 = 1024;

/// Caps `--repeat`: runs of each scenario, whose transcripts are all kept
/// until they are compared.
pub const MAX_REPEAT: u32 = 10_000;

/// Caps the `--durations` report: 1 GiB (it is read as it streams, its
/// transcripts skipped).
pub const MAX_DURATIONS_BYTES: u64 = 1 << 30;

/// A scriptable TCP test harness and scenario runner.
#[derive(Debug, Parser)]
#[command(
    name = "tcprun",
    version,
    args_conflicts_with_subcommands = true,
    after_help = "Examples:\n  tcprun scenarios/reconnect.yaml     run one scenario\n  tcprun scenarios/                   run every scenario below a folder\n  tcprun connect localhost 4001       a reconnecting netcat\n  tcprun -j 8 --junit report.xml scenarios/   in CI\n  tcprun --repeat 20 scenarios/chat.yaml      hunt for flakes\n  tcprun validate scenarios/          check files without running them\n\nExit status: 0 all passed, 1 a scenario failed (or the client gave up), 2 invalid input or usage."
)]
pub struct Cli {
    /// Scenario files, or folders to search for `*.yaml` scenarios.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    #[command(flatten)]
    pub run: RunArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options of a scenario run.
#[derive(Debug, Args, Clone, Default)]
pub struct RunArgs {
    /// Stream each scenario's transcript as it happens.
    #[arg(short, long)]
    pub verbose: bool,

    /// Compare each transcript with its golden file (as `snapshot: true` does).
    #[arg(long)]
    pub snapshot: bool,

    /// Write or refresh golden files instead of comparing (implies --snapshot).
    #[arg(long)]
    pub update: bool,

    /// Scenarios run at once, at most 1024 (default: the number of CPUs).
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=MAX_JOBS as i64))]
    pub jobs: Option<u16>,

    /// Stop starting scenarios after the first failure (the rest count as skipped).
    #[arg(long)]
    pub fail_fast: bool,

    /// Run only scenarios whose name or path contains PATTERN (repeatable: any matches).
    #[arg(long, value_name = "PATTERN")]
    pub filter: Vec<String>,

    /// List the scenarios that would run, and run nothing.
    #[arg(long)]
    pub list: bool,

    /// Run only shard K of N (1-based): the sorted files split deterministically, balanced by file count, or by --durations.
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    pub shard: Option<(usize, usize)>,

    /// Balance --shard by the durations previous --json reports recorded (repeatable, e.g. every shard's; longest first onto the least-loaded shard; a file they lack counts as their mean).
    #[arg(long, value_name = "FILE", requires = "shard")]
    pub durations: Vec<PathBuf>,

    /// Run each scenario N times (at most 10000) and report when the runs' transcripts differ.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=MAX_REPEAT as i64))]
    pub repeat: u32,

    /// Write a JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,

    /// Write a JSON report (with per-step timings) to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Give `${NAME}` in scenarios a value (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub var: Vec<(String, String)>,

    /// Give `${NAME}` a secret value: written as `***` in transcripts, failure messages and reports (repeatable).
    #[arg(long = "secret", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub secret: Vec<(String, String)>,
}

/// Parses `NAME=VALUE`.
fn parse_var(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if crate::vars::is_name(name) && !name.contains('.') => {
            Ok((name.to_owned(), value.to_owned()))
        }
        _ => Err(format!(
            "expected NAME=VALUE with a NAME of letters, digits and `_`, found `{text}`"
        )),
    }
}

/// Parses `K/N` with 1 <= K <= N.
fn parse_shard(text: &str) -> Result<(usize, usize), String> {
    let parsed = text
        .split_once('/')
        .and_then(|(k, n)| Some((k.trim().parse().ok()?, n.trim().parse().ok()?)));
    match parsed {
        Some((k, n)) if k >= 1 && k <= n => Ok((k, n)),
        _ => Err(format!(
            "expected K/N with 1 <= K <= N, e.g. 2/4, found `{text}`"
        )),
    }
}

/// Lists the subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Connect to a TCP server: stdin to the server, the server to stdout, with reconnect.
    Connect(ConnectArgs),
    /// Run a built-in fake server on its own (like `ncat -l`), logging connections to stderr.
    Serve(ServeArgs),
    /// Forward TCP connections to a server, injecting faults (like toxiproxy, driven from stdin).
    Proxy(ProxyArgs),
    /// Check scenario files without running them (same errors and exit status as a run).
    Validate {
        /// Scenario files, or folders to search for `*.yaml` scenarios.
        #[arg(value_name = "PATH", required = true)]
        paths: Vec<PathBuf>,

        /// The value a run would give `${NAME}` (repeatable): variables without one are errors.
        #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
        var: Vec<(String, String)>,

        /// A secret value a run would give `${NAME}` (repeatable).
        #[arg(long = "secret", value_name = "NAME=VALUE", value_parser = parse_var)]
        secret: Vec<(String, String)>,
    },
    /// Print the JSON Schema of the scenario format (for editors).
    Schema,
    /// Print a shell completion script.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Options of `tcprun serve`.
#[derive(Debug, Args, Clone)]
#[command(
    // Without --stdio, --fake is required: a relay flag then meets --fake.
    // (`requires = "stdio"` would be met by the flag's default, false.)
    mut_group("relay", |group| group.conflicts_with("fake").conflicts_with("rules")),
    after_help = "Examples:\n  tcprun serve --fake echo --port 4001\n  tcprun serve --fake chat --port 0     prints the port it chose on stdout\n  tcprun serve --fake silent --banner $'220 hello\\r\\n'\n  tcprun serve --rules smtp.yaml --port 2525\n                                        a rules server: each frame answered by the first rule that matches\n  tcprun serve --stdio --port 4001      like `nc -l`: one connection to stdin and stdout\n  tcprun serve --stdio --keep-open --hex-dump --port 4001\n                                        the next connection when one ends; a hex dump\n\nExit status: 0 after SIGINT or SIGTERM (or, with --stdio, an orderly end), 1 when it cannot listen,\nwhen a relayed connection failed or timed out, or when input was never sent; 2 usage error or a rules file with errors."
)]
pub struct ServeArgs {
    /// The behaviour: echo, chat (to every other connection), sink (discard), silent (never answer).
    #[arg(
        long,
        value_enum,
        required_unless_present_any = ["stdio", "rules"],
        conflicts_with_all = ["stdio", "rules"]
    )]
    pub fake: Option<FakeArg>,

    /// Answer frames by the rules in FILE (`framing`, `banner`, `rules`, or a scenario's `server:` block); each match goes to stderr.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["stdio", "banner"])]
    pub rules: Option<std::path::PathBuf>,

    /// Relay one connection to stdin and stdout instead (like `nc -l`); the port goes to stderr.
    #[arg(long)]
    pub stdio: bool,

    /// With --stdio: when a connection ends, accept the next one (stdin carries on).
    #[arg(long, conflicts_with = "fake")]
    pub keep_open: bool,

    /// Address to listen on.
    #[arg(long, default_value = keys::HOST)]
    pub host: String,

    /// Port to listen on; 0 picks a free one and prints it on stdout (with --stdio, on stderr).
    #[arg(long, default_value_t = keys::PORT)]
    pub port: u16,

    /// Text sent to every connection on accept.
    #[arg(long, value_name = "TEXT", conflicts_with = "stdio")]
    pub banner: Option<String>,

    /// Keep connections open after the client's FIN.
    #[arg(long, conflicts_with = "stdio")]
    pub half_open: bool,

    /// Print no connection events (with --stdio: no status lines, except input never sent).
    #[arg(short, long)]
    pub quiet: bool,

    #[command(flatten)]
    pub relay: RelayArgs,
}

/// Options of `tcprun proxy`.
#[derive(Debug, Args, Clone)]
#[command(after_help = crate::proxy::command::HELP)]
pub struct ProxyArgs {
    /// Where to listen: PORT or HOST:PORT (HOST defaults to 127.0.0.1); port 0 picks a free one and prints it on stdout.
    #[arg(long, value_name = "[HOST:]PORT")]
    pub listen: String,

    /// The server to forward every connection to.
    #[arg(long, value_name = "HOST:PORT")]
    pub upstream: String,

    /// A fault in effect from the start, as a YAML flow map (repeatable; see below).
    #[arg(long = "fault", value_name = "SPEC")]
    pub faults: Vec<String>,

    /// Seeds every random choice (probability, jitter): the same seed makes the same choices.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,

    /// Bound on each connect to the upstream (then the client is reset).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub dial_timeout: Duration,

    /// Print no status lines.
    #[arg(short, long)]
    pub quiet: bool,

    /// Report events on stderr: `human` status lines or `json`, one object per line.
    #[arg(long, value_enum, default_value_t = EventFormat::Human)]
    pub events: EventFormat,
}

/// Names the fake servers on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FakeArg {
    /// Writes every chunk back.
    Echo,
    /// Writes every chunk to every other connection.
    Chat,
    /// Reads and discards.
    Sink,
    /// Reads, never answers.
    Silent,
}

/// Options of `tcprun connect`.
#[derive(Debug, Args, Clone)]
#[command(
    after_help = "Examples:\n  tcprun connect 4001                         localhost:4001\n  tcprun connect example.com 7 --max-retries 3\n  tcprun connect '[::1]:4001' --encoding hex   or: tcprun connect ::1 4001\n  printf 'PING\\r\\n' | tcprun connect -w 5s 6379   pipe a request; give up after 5s of silence\n  tcprun connect --eof-timeout 1s --hex-dump 4001 < request.bin\n  tcprun connect --crlf --quit-word bye smtp.example.com 25\n\nThe quit word (default `quit`, on a terminal only) on a line of its own ends without reconnecting.\nExit status: 0 after quit or an orderly end, 1 when it gave up, failed, timed out (--idle-timeout) or\ninput was never sent, 2 usage error, 130/143 after SIGINT/SIGTERM."
)]
pub struct ConnectArgs {
    /// `[HOST] PORT` or `HOST:PORT` (HOST defaults to localhost; IPv6: `::1 PORT` or `[::1]:PORT`).
    #[arg(value_name = "TARGET", required = true, num_args = 1..=2)]
    pub target: Vec<String>,

    /// Delay before each retry, e.g. `500ms`, `3s` (at most 365d).
    #[arg(long, value_name = "DURATION", default_value = keys::RETRY_INTERVAL_TEXT, value_parser = parse_duration)]
    pub retry_interval: Duration,

    /// Retries after a lost or refused connection before giving up.
    #[arg(long, value_name = "N", default_value_t = keys::MAX_RETRIES)]
    pub max_retries: u32,

    /// Do not reconnect: one connection, then exit.
    #[arg(long)]
    pub no_reconnect: bool,

    /// Retry a host name that does not resolve (ENOTFOUND); by default it fails at once.
    #[arg(long)]
    pub retry_unresolved: bool,

    /// Bound on each connect attempt (at least 1ms, at most 365d).
    #[arg(long, value_name = "DURATION", default_value = keys::CONNECT_TIMEOUT_TEXT, value_parser = parse_positive_duration)]
    pub connect_timeout: Duration,

    /// How the delay grows between retries.
    #[arg(long, value_enum, default_value_t = BackoffArg::Fixed)]
    pub backoff: BackoffArg,

    /// Cap on the delay with exponential backoff (at most 365d).
    #[arg(long, value_name = "DURATION", default_value = keys::MAX_INTERVAL_TEXT, value_parser = parse_duration)]
    pub max_interval: Duration,

    /// Randomise each retry delay within its upper half.
    #[arg(long)]
    pub jitter: bool,

    /// Print no status lines on stderr (input never sent is still said).
    #[arg(short, long)]
    pub quiet: bool,

    #[command(flatten)]
    pub relay: RelayArgs,
}

/// Options of the relay between stdin and stdout and a connection, shared by
/// `tcprun connect` and `tcprun serve --stdio`. None has a default here, so
/// that `serve` can tell which were given; [`RelayArgs`]'s methods apply the
/// documented defaults.
#[derive(Debug, Args, Clone, Default)]
#[group(id = "relay", multiple = true)]
#[command(next_help_heading = "Stdin, stdout and time (connect, serve --stdio)")]
pub struct RelayArgs {
    /// Write received bytes to stdout as text: utf8, ascii, latin1, base64, or hex
    /// (lowercase, two digits a byte, no separators, no final newline) [default: bytes as they are].
    #[arg(long, value_name = "ENCODING", value_parser = parse_encoding, conflicts_with = "hex_dump")]
    pub encoding: Option<Encoding>,

    /// Write received bytes to stdout as a hex dump for people: offset, 16 bytes in hex, ASCII
    /// (like `hexdump -C`); offsets run on across reads and connections.
    #[arg(long)]
    pub hex_dump: bool,

    /// How stdin becomes bytes: utf8 (as read), base64 or hex (one value per line) [default: utf8].
    #[arg(long, value_name = "ENCODING", value_parser = parse_send_encoding)]
    pub send_encoding: Option<Encoding>,

    /// Send each stdin line ending `\n` as `\r\n` (text input only).
    #[arg(short = 'C', long)]
    pub crlf: bool,

    /// A stdin line that is this word (trimmed, any case) quits and is not sent
    /// [default: `quit` when stdin is a terminal; off when it is not].
    #[arg(long, value_name = "WORD")]
    pub quit_word: Option<String>,

    /// After the quit word, how long the peer has to close before tcprun closes anyway
    /// [default: 2s; at most 365d].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub quit_timeout: Option<Duration>,

    /// Exit 1 after this long with no bytes either way, connected or not (as `nc -w`)
    /// [default: unbounded; at least 1ms, at most 365d].
    #[arg(short = 'w', long, value_name = "DURATION", value_parser = parse_positive_duration)]
    pub idle_timeout: Option<Duration>,

    /// After the end of stdin, close this long later and exit 0 (as `nc -q`)
    /// [default: unbounded: wait for the peer to close; at most 365d].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub eof_timeout: Option<Duration>,

    /// Bytes of input held while disconnected before stdin is paused (never dropped)
    /// [default: 1048576; 1 to 1073741824].
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..=MAX_BUFFER_LIMIT))]
    pub buffer_limit: Option<u64>,

    /// Report events on stderr: `human` status lines or `json`, one object per line [default: human].
    #[arg(long, value_enum)]
    pub events: Option<EventFormat>,
}

/// The largest `--buffer-limit`: 1 GiB.
pub const MAX_BUFFER_LIMIT: u64 = 1 << 30;

pub use crate::scenario::limits::{MAX_DURATION, MAX_DURATION_TEXT};

impl RelayArgs {
    /// Returns `--send-encoding` (default utf8).
    pub fn send_encoding(&self) -> Encoding {
        self.send_encoding.unwrap_or(Encoding::Utf8)
    }

    /// Returns `--quit-timeout` (default 2s).
    pub fn quit_timeout(&self) -> Duration {
        self.quit_timeout.unwrap_or(Duration::from_secs(2))
    }

    /// Returns `--buffer-limit` (default 1 MiB).
    pub fn buffer_limit(&self) -> usize {
        self.buffer_limit.map_or(1 << 20, |n| n as usize)
    }

    /// Returns `--events` (default human).
    pub fn events(&self) -> EventFormat {
        self.events.unwrap_or(EventFormat::Human)
    }

    /// Returns the quit word in force: the one given, else `quit` when
    /// stdin is a terminal (`interactive`), else none.
    pub fn quit_word(&self, interactive: bool) -> Option<String> {
        match &self.quit_word {
            Some(word) => Some(word.clone()),
            None if interactive => Some(keys::QUIT_WORD.to_owned()),
            None => None,
        }
    }
}

/// Names the backoff choices on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackoffArg {
    /// The same delay every time.
    Fixed,
    /// Doubling delays up to --max-interval.
    Exponential,
}

/// Names the formats of the event report on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EventFormat {
    /// Status lines for people.
    Human,
    /// One JSON object per event per line.
    Json,
}

/// Parses a duration such as `500ms` or `3s`, at most 365 days (as in scenarios).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(duration) if duration <= MAX_DURATION => Ok(duration),
        Ok(_) | Err(humantime::DurationError::NumberOverflow) => Err(format!(
            "durations are at most {MAX_DURATION_TEXT}, found `{text}`"
        )),
        Err(error) => Err(format!("{error} (durations look like 500ms, 3s or 1m)")),
    }
}

/// Parses a duration of at least 1ms (and at most [`MAX_DURATION`]).
pub fn parse_positive_duration(text: &str) -> Result<Duration, String> {
    let duration = parse_duration(text)?;
    if duration < Duration::from_millis(1) {
        return Err(format!("`{text}` is too short: at least 1ms"));
    }
    Ok(duration)
}

fn parse_encoding(text: &str) -> Result<Encoding, String> {
    text.parse::<Encoding>().map_err(|error| error.to_string())
}

fn parse_send_encoding(text: &str) -> Result<Encoding, String> {
    match parse_encoding(text)? {
        encoding @ (Encoding::Utf8 | Encoding::Base64 | Encoding::Hex) => Ok(encoding),
        other => Err(format!(
            "--send-encoding takes utf8, base64 or hex, not {other}"
        )),
    }
}
