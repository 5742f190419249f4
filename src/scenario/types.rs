//! Defines the scenario format: what a loaded, validated scenario file holds.

use std::path::PathBuf;
use std::time::Duration;

use std::sync::Arc;

use crate::matcher::{BuildError, Matcher};

use super::data::Data;
pub use super::frames::{FramePatternSpec, ReplySpec, RuleSpec, RulesSpec};
use super::registry::StepDef;
use super::step_defs;
use crate::client::encoding::Encoding;
use crate::event::{Direction, DownMode};
use crate::framing::FramingSpec;
use crate::proxy::FaultSpec;

/// Holds one validated scenario file.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The file it was loaded from.
    pub path: PathBuf,
    /// `name:`, or the file stem when absent.
    pub name: String,
    /// `timeout:` bound on the whole scenario (default 30s).
    pub timeout: Duration,
    /// `defaults: {timeout: ...}`: the timeout of waits that name none (default 5s).
    pub default_timeout: Duration,
    /// `snapshot: true`: compare the transcript with the golden file.
    pub snapshot: bool,
    /// `server:`.
    pub server: ServerSpec,
    /// `client:` (named `client`) or `clients:` in file order.
    pub clients: Vec<ClientSpec>,
    /// `proxy:` (named `proxy`) or `proxies:` in file order; none without.
    pub proxies: Vec<ProxySpec>,
    /// `steps:` in file order.
    pub steps: Vec<Located<Step>>,
    /// `env: {NAME: {secret: true}}`: the environment variables whose
    /// values are secrets, shown as `***` everywhere.
    pub secret_env: Vec<String>,
    /// `${tmp}` is written somewhere in the file: the run makes its folder.
    pub uses_tmp: bool,
}

/// Wraps a value with where it was written.
#[derive(Debug, Clone)]
pub struct Located<T> {
    /// 1-based line of the item.
    pub line: usize,
    /// 1-based column of the item.
    pub col: usize,
    /// The item's source text as written (trimmed, first line only).
    pub text: String,
    /// The value.
    pub value: T,
}

/// Describes the server side of a scenario.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerSpec {
    /// A built-in fake server that tcprun runs and controls.
    Fake(FakeServerSpec),
    /// `command:` or `shell:`: a real server program that tcprun starts and controls.
    Command(CommandServerSpec),
    /// `address: "host:port"`: a server already running elsewhere.
    External {
        /// Host name or IP address.
        host: String,
        /// TCP port.
        port: u16,
    },
}

/// Configures a built-in fake server.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeServerSpec {
    /// `fake:` which behaviour.
    pub kind: FakeKind,
    /// `host:` to bind (default `127.0.0.1`).
    pub host: String,
    /// `port:` to bind (default 0: a free ephemeral port).
    pub port: u16,
    /// `banner:` data sent to each connection on accept.
    pub banner: Option<Data>,
    /// `start: false` keeps the port refused until a `start_server` step (default true).
    pub start: bool,
    /// `half_open: true` keeps a connection open after the client's FIN, so
    /// steps can still send (Node's `allowHalfOpen`; default false: the
    /// server ends its side as soon as the client ends).
    pub half_open: bool,
    /// `framing:` how what the server receives is cut into frames (for
    /// `server_expect_frame`, `server_send_frame`, the transcript and rules);
    /// `fake: rules` without it frames by `line`.
    pub framing: Option<FramingSpec>,
    /// `rules:` of `fake: rules`.
    pub rules: Option<RulesSpec>,
}

/// Configures a real server program under test.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandServerSpec {
    /// What to run.
    pub program: ProgramSpec,
    /// `host:` the server listens on, for readiness and clients (default `127.0.0.1`).
    pub host: String,
    /// `port:` (default 0: tcprun picks a free port; `${port}` in the program names it).
    pub port: u16,
    /// `ready:` when the server counts as started (default: its port accepts).
    pub ready: Readiness,
    /// `ready_timeout:` bound on readiness (default 5s).
    pub ready_timeout: Duration,
    /// `stop_timeout:` grace between SIGTERM and SIGKILL in `stop_server` (default 2s).
    pub stop_timeout: Duration,
    /// `output:` where the program's stdout and stderr go (default discard).
    pub output: OutputMode,
    /// `start: false` leaves it stopped until a `start_server` step (default true).
    pub start: bool,
}

/// Describes a program to run: argv (or a shell script), environment, folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramSpec {
    /// `command: [argv...]`, or `["/bin/sh", "-c", script]` for `shell: script`.
    /// `${port}` stands for the server's port and is replaced at start.
    pub argv: Vec<String>,
    /// `env:` variables added to tcprun's environment.
    pub env: Vec<(String, String)>,
    /// `cwd:` the working folder as written (it may hold variables), taken
    /// relative to `folder` (default: `folder` itself).
    pub cwd: Option<PathBuf>,
    /// The scenario file's folder, which a relative `cwd` starts from.
    pub folder: PathBuf,
    /// Written as `shell:`: variables in the script (`argv[2]`) are
    /// replaced shell-quoted, each value one word, never shell syntax.
    pub shell: bool,
}

/// Says when a started server is ready for clients.
#[derive(Debug, Clone, PartialEq)]
pub enum Readiness {
    /// `ready: {port: true}`: its port accepts a connection.
    Port,
    /// `ready: {log: REGEX}`: a line of its stdout or stderr matches.
    Log(Pattern),
}

/// Says where a program's output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputMode {
    /// One transcript event per line.
    Transcript,
    /// Nowhere (the last lines are still kept for failure reports).
    Discard,
    /// tcprun's own stdout and stderr.
    Inherit,
}

/// Configures a real client program under test (`command:` in a client).
#[derive(Debug, Clone, PartialEq)]
pub struct CommandClientSpec {
    /// What to run.
    pub program: ProgramSpec,
    /// `stderr: merge` matches `expect` over stdout and stderr together;
    /// `separate` (default) keeps stderr out of `expect`, in the transcript only.
    pub merge_stderr: bool,
}

/// Configures one fault proxy between clients and the server (`proxy:` or an entry of `proxies:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxySpec {
    /// The map key under `proxies:`, or `proxy`.
    pub name: String,
    /// `upstream:` where it forwards to (default: the scenario's server).
    pub upstream: Upstream,
    /// `seed:` seeds every random choice of its faults (jitter, probability).
    pub seed: u64,
    /// `dial_timeout:` bounds each connect to the upstream (`ETIMEDOUT`).
    pub dial_timeout: Duration,
    /// `framing:` how the transcript cuts what it passes on into frames.
    pub framing: Option<FramingSpec>,
}

/// Names where a proxy forwards to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upstream {
    /// `upstream: server`: the scenario's server (fake, program, or at `address:`).
    Server,
    /// `upstream: "host:port"`, its variables resolved before the run.
    Address {
        /// Host name or IP address.
        host: String,
        /// TCP port.
        port: u16,
    },
}

/// Names the built-in fake server behaviours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FakeKind {
    /// Writes every received chunk back to its sender.
    Echo,
    /// Writes every received chunk to every other connection.
    Chat,
    /// Reads and discards.
    Sink,
    /// Accepts, reads, never answers.
    Silent,
    /// Answers frames by its `rules:` (see [`crate::rules`]).
    Rules,
}

/// Configures one built-in reconnecting client (`client:` or an entry of `clients:`).
#[derive(Debug, Clone, PartialEq)]
pub struct ClientSpec {
    /// The map key under `clients:`, or `client`.
    pub name: String,
    /// `host:` to connect to (default: the server's host).
    pub host: Option<String>,
    /// `port:` to connect to (default: the server's port).
    pub port: Option<u16>,
    /// `retry_interval:` (default 3s).
    pub retry_interval: Duration,
    /// `max_retries:` (default 10).
    pub max_retries: u32,
    /// `reconnect: false` disables reconnecting (default true).
    pub reconnect: bool,
    /// `retry_unresolved: true` retries `ENOTFOUND` (default false: it stops the client).
    pub retry_unresolved: bool,
    /// `connect_timeout:` (default 10s).
    pub connect_timeout: Duration,
    /// `receive_buffer:` SO_RCVBUF in bytes, set before connecting (default: the system's).
    pub receive_buffer: Option<u64>,
    /// `start:` false: the client waits for a `connect` step before its first connect (default true).
    pub start: bool,
    /// `backoff: fixed|exponential` (default fixed).
    pub backoff: Backoff,
    /// `max_interval:` cap for exponential backoff (default 30s).
    pub max_interval: Duration,
    /// `encoding:` how received bytes are decoded for `expect` and the transcript (default utf8).
    pub encoding: Encoding,
    /// `quit_word:` (default `quit`).
    pub quit_word: String,
    /// `framing:` how what the client receives is cut into frames (for
    /// `expect_frame`, `send_frame` and the transcript); none: a byte stream.
    pub framing: Option<FramingSpec>,
    /// `line_ending:` how `send_line` and `end` end lines (default `lf`).
    pub line_ending: LineEnding,
    /// `command:`/`shell:`: a real client program instead of the built-in
    /// client; the options above then do not apply (validation rejects them).
    pub command: Option<CommandClientSpec>,
    /// `via:` the proxy the built-in client connects to, instead of the server.
    pub via: Option<String>,
}

/// Names how the delay between retries grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backoff {
    /// Every retry waits the retry interval.
    Fixed,
    /// The interval doubles after each failed retry, up to the cap.
    Exponential,
}

/// Names how the built-in client ends the lines of `send_line` and `end`
/// (`line_ending:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEnding {
    /// `\n`, as written.
    Lf,
    /// `\r\n`: each `\n` of the text that no `\r` precedes goes out as
    /// `\r\n`, and `send_line` ends with `\r\n` (as `nc -C`).
    Crlf,
}

impl LineEnding {
    /// Returns the bytes that end a line.
    pub fn bytes(self) -> &'static [u8] {
        match self {
            LineEnding::Lf => b"\n",
            LineEnding::Crlf => b"\r\n",
        }
    }
}

/// Holds a compiled `expect` pattern (multi-line, CRLF-aware).
#[derive(Debug, Clone)]
pub struct Pattern {
    /// The regex as written.
    pub source: String,
    /// The compiled pattern (with variables, a stand-in that only proves
    /// the rest is valid: the runner compiles it with their values).
    pub matcher: Arc<Matcher>,
    /// It mentions variables (`${name}`), replaced when the step runs.
    pub vars: bool,
}

impl Pattern {
    /// Compiles `source` the way every pattern is compiled: multi-line,
    /// CRLF-aware, matched over text still arriving ([`Matcher`]), and at
    /// most [`MAX_PATTERN_COMPILED`] bytes compiled.
    ///
    /// [`MAX_PATTERN_COMPILED`]: super::limits::MAX_PATTERN_COMPILED
    ///
    /// # Errors
    /// The pattern's syntax error, or a compiled size over the limit.
    pub fn compile(source: &str) -> Result<Matcher, BuildError> {
        Matcher::limited(source, super::limits::MAX_PATTERN_COMPILED)
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

/// Names which server connection a server step addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionRef {
    /// Every open connection (the default).
    All,
    /// `connection: N`: the N-th accepted connection, from 1.
    Index(u32),
    /// `connection: alice`: the server side of that client's current connection.
    Client(String),
}

/// Names how a connection ended or is to be closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseKind {
    /// An orderly end: FIN.
    Fin,
    /// An abort: RST.
    Reset,
    /// Either (only in `expect_closed`).
    Any,
}

/// Names what `expect` and `expect_no` read of a client (`stream:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputStream {
    /// What the client received; for a client program, its stdout (and its
    /// stderr too with `stderr: merge`).
    #[default]
    Stdout,
    /// A client program's separate stderr.
    Stderr,
}

/// Says how `send` writes its data in pieces (`chunks:` and `gap:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pieces {
    /// At most this many bytes per write.
    pub size: usize,
    /// The pause between two writes, on the scenario's clock.
    pub gap: Duration,
}

/// Lists every step of the format. `client: None` means the only client.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// `send`: bytes as they are.
    Send {
        client: Option<String>,
        data: Data,
        pieces: Option<Pieces>,
    },
    /// `send_line`: the data, then "\n".
    SendLine {
        client: Option<String>,
        data: Data,
        pieces: Option<Pieces>,
    },
    /// `expect`: wait until the client's unconsumed output matches.
    Expect {
        client: Option<String>,
        pattern: Pattern,
        timeout: Option<Duration>,
        stream: OutputStream,
    },
    /// `expect_no`: fail if the pattern matches within the window.
    ExpectNo {
        client: Option<String>,
        pattern: Pattern,
        window: Option<Duration>,
        stream: OutputStream,
    },
    /// `end`: half-close, optionally sending data first.
    End {
        client: Option<String>,
        data: Option<Data>,
    },
    /// `send_quit`: the quit word; the client ends and does not reconnect.
    SendQuit { client: Option<String> },
    /// `wait_connected`: until the client is connected.
    WaitConnected {
        client: Option<String>,
        timeout: Option<Duration>,
    },
    /// `wait_reconnect`: until the client connects again after its last connection.
    WaitReconnect {
        client: Option<String>,
        timeout: Option<Duration>,
    },
    /// `wait_retry: N`: until retry N since the last connect is scheduled (N failures).
    WaitRetry {
        client: Option<String>,
        retry: u32,
        timeout: Option<Duration>,
    },
    /// `expect_error: CODE`: until the client reports that error code.
    ExpectError {
        client: Option<String>,
        code: String,
        timeout: Option<Duration>,
    },
    /// `expect_gave_up`: until the client gives up reconnecting.
    ExpectGaveUp {
        client: Option<String>,
        timeout: Option<Duration>,
    },
    /// `expect_unsent: N`: until the client reports that N bytes will never be sent.
    ExpectUnsent {
        client: Option<String>,
        bytes: u32,
        timeout: Option<Duration>,
    },
    /// `expect_closed`: until the client's connection is closed (by FIN, reset, or either).
    ExpectClosed {
        client: Option<String>,
        how: CloseKind,
        timeout: Option<Duration>,
    },
    /// `sleep`: let time pass.
    Sleep { duration: Duration },
    /// `kill_server`: reset every connection; the port refuses until restarted.
    /// For a command server: `signal` (default `KILL`) to its process group.
    KillServer { signal: Option<String> },
    /// `stop_server`: FIN to every connection, stop listening.
    StopServer,
    /// `start_server`: listen again on the same address and port.
    StartServer,
    /// `server_send`: write to one or every connection.
    ServerSend {
        connection: ConnectionRef,
        data: Data,
    },
    /// `server_expect`: wait until what the server received matches.
    ServerExpect {
        connection: ConnectionRef,
        pattern: Pattern,
        timeout: Option<Duration>,
    },
    /// `server_expect_no`: fail if what the server received matches within the window.
    ServerExpectNo {
        connection: ConnectionRef,
        pattern: Pattern,
        window: Option<Duration>,
    },
    /// `server_close`: close one or every connection with FIN or RST.
    ServerClose {
        connection: ConnectionRef,
        how: CloseKind,
    },
    /// `server_half_close`: shut down the server's write side only.
    ServerHalfClose { connection: ConnectionRef },
    /// `expect_connections: N`: until the server has accepted N connections in all.
    ExpectConnections {
        count: u32,
        timeout: Option<Duration>,
    },
    /// `expect_exit: N`: until a command client exits, with that code (or `signal`).
    ExpectExit {
        client: Option<String>,
        code: Option<i32>,
        signal: Option<String>,
        timeout: Option<Duration>,
    },
    /// `kill_client`: send a signal (default `KILL`) to a command client's process group.
    KillClient {
        client: Option<String>,
        signal: Option<String>,
    },
    /// `send_frame`: the data wrapped as one frame of the client's framing.
    SendFrame { client: Option<String>, data: Data },
    /// `expect_frame`: the next frame the client received matches (with
    /// `skip`, the next frame that matches).
    ExpectFrame {
        client: Option<String>,
        pattern: FramePatternSpec,
        skip: bool,
        timeout: Option<Duration>,
    },
    /// `server_send_frame`: the data wrapped as one frame of the server's framing.
    ServerSendFrame {
        connection: ConnectionRef,
        data: Data,
    },
    /// `server_expect_frame`: the next frame the server received matches.
    ServerExpectFrame {
        connection: ConnectionRef,
        pattern: FramePatternSpec,
        skip: bool,
        timeout: Option<Duration>,
    },
    /// `blackhole_server`: the port drops SYNs, so connects time out; `start_server` ends it.
    BlackholeServer,
    /// `abort`: close the connection with RST; reconnect by the policy only with `reconnect`.
    Abort {
        client: Option<String>,
        reconnect: bool,
    },
    /// `pause_reading`: the client stops reading its socket (a slow reader).
    PauseReading { client: Option<String> },
    /// `resume_reading`: the client reads its socket again.
    ResumeReading { client: Option<String> },
    /// `connect`: a client written with `start: false` starts connecting.
    Connect { client: Option<String> },
    /// `fault`: add a fault to a proxy (`proxy: None`: the only one).
    Fault {
        proxy: Option<String>,
        spec: FaultSpec,
    },
    /// `expect_fault`: until a proxy's fault has fired (on any connection, or on one).
    ExpectFault {
        proxy: Option<String>,
        name: String,
        connection: ConnectionRef,
        timeout: Option<Duration>,
    },
    /// `clear_fault`: clear a proxy's faults named `name`, or all of them.
    ClearFault {
        proxy: Option<String>,
        name: Option<String>,
    },
    /// `proxy_down`: take a proxy's port down.
    ProxyDown {
        proxy: Option<String>,
        mode: DownMode,
    },
    /// `proxy_up`: a proxy listens again on the same port.
    ProxyUp { proxy: Option<String> },
    /// `proxy_expect`: until what passed through a proxy in `direction` matches.
    ProxyExpect {
        proxy: Option<String>,
        pattern: Pattern,
        direction: Direction,
        connection: ConnectionRef,
        timeout: Option<Duration>,
    },
}

impl Step {
    /// Returns the registry entry of the step's kind.
    pub(crate) fn def(&self) -> &'static StepDef {
        match self {
            Step::Send { .. } => &step_defs::SEND,
            Step::SendLine { .. } => &step_defs::SEND_LINE,
            Step::Expect { .. } => &step_defs::EXPECT,
            Step::ExpectNo { .. } => &step_defs::EXPECT_NO,
            Step::End { .. } => &step_defs::END,
            Step::SendQuit { .. } => &step_defs::SEND_QUIT,
            Step::WaitConnected { .. } => &step_defs::WAIT_CONNECTED,
            Step::WaitReconnect { .. } => &step_defs::WAIT_RECONNECT,
            Step::WaitRetry { .. } => &step_defs::WAIT_RETRY,
            Step::ExpectError { .. } => &step_defs::EXPECT_ERROR,
            Step::ExpectGaveUp { .. } => &step_defs::EXPECT_GAVE_UP,
            Step::ExpectUnsent { .. } => &step_defs::EXPECT_UNSENT,
            Step::ExpectClosed { .. } => &step_defs::EXPECT_CLOSED,
            Step::Sleep { .. } => &step_defs::SLEEP,
            Step::KillServer { .. } => &step_defs::KILL_SERVER,
            Step::StopServer => &step_defs::STOP_SERVER,
            Step::StartServer => &step_defs::START_SERVER,
            Step::ServerSend { .. } => &step_defs::SERVER_SEND,
            Step::ServerExpect { .. } => &step_defs::SERVER_EXPECT,
            Step::ServerExpectNo { .. } => &step_defs::SERVER_EXPECT_NO,
            Step::ServerClose { .. } => &step_defs::SERVER_CLOSE,
            Step::ServerHalfClose { .. } => &step_defs::SERVER_HALF_CLOSE,
            Step::ExpectConnections { .. } => &step_defs::EXPECT_CONNECTIONS,
            Step::ExpectExit { .. } => &step_defs::EXPECT_EXIT,
            Step::KillClient { .. } => &step_defs::KILL_CLIENT,
            Step::SendFrame { .. } => &super::step_defs::SEND_FRAME,
            Step::ExpectFrame { .. } => &super::step_defs::EXPECT_FRAME,
            Step::ServerSendFrame { .. } => &super::step_defs::SERVER_SEND_FRAME,
            Step::ServerExpectFrame { .. } => &super::step_defs::SERVER_EXPECT_FRAME,
            Step::BlackholeServer => &step_defs::BLACKHOLE_SERVER,
            Step::Abort { .. } => &step_defs::ABORT,
            Step::PauseReading { .. } => &step_defs::PAUSE_READING,
            Step::ResumeReading { .. } => &step_defs::RESUME_READING,
            Step::Connect { .. } => &step_defs::CONNECT,
            Step::Fault { .. } => &step_defs::FAULT,
            Step::ExpectFault { .. } => &step_defs::EXPECT_FAULT,
            Step::ClearFault { .. } => &step_defs::CLEAR_FAULT,
            Step::ProxyDown { .. } => &step_defs::PROXY_DOWN,
            Step::ProxyUp { .. } => &step_defs::PROXY_UP,
            Step::ProxyExpect { .. } => &step_defs::PROXY_EXPECT,
        }
    }

    /// Returns the step's name as written in a file.
    pub fn name(&self) -> &'static str {
        self.def().name
    }

    /// Returns every step name, in the registry's order (for did-you-mean hints and the schema).
    pub fn names() -> Vec<&'static str> {
        super::registry::names()
    }
}
