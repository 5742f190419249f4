//! Runs `tcprun connect`: stdin to the server, the server to stdout, status on stderr, with reconnect; and the relay it shares with `tcprun serve --stdio`.
//!
//! # Parts
//! - `input`: stdin into data and the quit word (`--quit-word`, `--send-encoding`, `--crlf`).
//! - `output`: what the peer sends, onto stdout (`--encoding`, `--hex-dump`).
//! - `status`: the wording of status lines and JSON events.
//! - `sink`: stderr written from a thread of its own, through a bounded queue.
//! - `target`: `[HOST] PORT` and `HOST:PORT`.

mod input;
mod output;
mod sink;
mod status;
mod target;

use std::io::{IsTerminal as _, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use serde_json::json;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::cli::{BackoffArg, ConnectArgs, EventFormat, RelayArgs};
use crate::client::{self, Backoff, ClientHandle, ClientOptions, Outcome, ReconnectPolicy};
use crate::event::{ClientEvent, Clock, Emitter, Event, Source};
use input::{Crlf, Input, InputSplitter};
use output::Render;
pub use sink::{GRACE, Overflow, SinkThread, StatusSink};
use status::Printer;
pub use status::Role;
pub use target::{TargetError, parse_target};

/// Size of each stdin read.
const STDIN_CHUNK: usize = 256 * 1024;

/// Bounds the events waiting for the relay loop. Each `sent` event keeps
/// its chunk alive until handled, so this also bounds the memory of data in
/// flight (8 × 256 KiB).
const EVENT_QUEUE: usize = 8;

/// Connects, relays stdin and stdout until the client stops (or tcprun
/// closes it), and says how it ended.
pub async fn run(args: ConnectArgs) -> Result<Ended, TargetError> {
    // First of all: a signal from now on is handled, never fatal.
    let mut signals = Signals::install();
    let (host, port) = parse_target(&args.target)?;
    let options = ClientOptions {
        policy: ReconnectPolicy {
            enabled: !args.no_reconnect,
            interval: args.retry_interval,
            max_retries: args.max_retries,
            backoff: match args.backoff {
                BackoffArg::Fixed => Backoff::Fixed,
                BackoffArg::Exponential => Backoff::Exponential {
                    max: args.max_interval,
                },
            },
            jitter: args.jitter,
        },
        connect_timeout: args.connect_timeout,
        buffer_limit: args.relay.buffer_limit(),
        retry_unresolved: args.retry_unresolved,
        ..ClientOptions::new(host, port)
    };
    let relay = Relay {
        args: &args.relay,
        quiet: args.quiet,
        role: Role::Connect,
    };
    Ok(relay.run(options, &mut signals).await)
}

/// Says why tcprun itself closed the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The peer did not close within `--quit-timeout` of the quit word.
    QuitTimeout,
    /// `--eof-timeout` passed after the end of stdin.
    EofTimeout,
    /// No bytes either way for `--idle-timeout`.
    IdleTimeout,
    /// stdout was closed (e.g. piped into `head`).
    StdoutClosed,
    /// A signal (`SIGINT` or `SIGTERM`).
    Signal(&'static str),
}

/// Says how a relay ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    /// How the client ended.
    pub outcome: Outcome,
    /// Why tcprun closed it, if it did.
    pub stop: Option<Stop>,
    /// Lines of stdin that were not sent because they could not be decoded
    /// (`--send-encoding`) or were too long.
    pub rejected: u64,
}

impl Ended {
    /// Returns the exit status: 0 for an orderly end (also one tcprun
    /// brought about), 1 for a failure, a timeout of `--idle-timeout`, or
    /// input never sent; for `connect`, 130 or 143 after SIGINT or SIGTERM.
    pub fn exit_code(&self, role: Role) -> u8 {
        let lost = matches!(self.outcome, Outcome::Unsent { .. }) || self.rejected > 0;
        let orderly = self.outcome.is_success() || self.outcome == Outcome::Shutdown;
        match self.stop {
            Some(Stop::Signal(name)) if role == Role::Connect => {
                if name == "SIGINT" {
                    130
                } else {
                    143
                }
            }
            Some(Stop::IdleTimeout) => 1,
            _ if lost => 1,
            Some(_) if orderly => 0,
            Some(_) => 1,
            None => u8::from(!self.outcome.is_success()),
        }
    }
}

/// Watches SIGINT and SIGTERM from the moment it is made.
pub struct Signals {
    interrupt: Option<Signal>,
    terminate: Option<Signal>,
}

impl Signals {
    /// Starts watching (a signal that cannot be watched keeps its default action).
    pub fn install() -> Self {
        Self {
            interrupt: signal(SignalKind::interrupt()).ok(),
            terminate: signal(SignalKind::terminate()).ok(),
        }
    }

    /// Waits for the next signal; returns its name.
    pub async fn recv(&mut self) -> &'static str {
        async fn next(signal: &mut Option<Signal>) {
            match signal {
                Some(signal) => {
                    if signal.recv().await.is_none() {
                        std::future::pending::<()>().await;
                    }
                }
                None => std::future::pending().await,
            }
        }
        tokio::select! {
            () = next(&mut self.interrupt) => "SIGINT",
            () = next(&mut self.terminate) => "SIGTERM",
        }
    }
}

/// Relays stdin and stdout to a client (connecting or accepting).
pub struct Relay<'a> {
    /// The relay's options.
    pub args: &'a RelayArgs,
    /// `--quiet`.
    pub quiet: bool,
    /// Who relays.
    pub role: Role,
}

/// Holds the deadlines of the relay loop.
#[derive(Default)]
struct Deadlines {
    quit: Option<Instant>,
    eof: Option<Instant>,
    idle: Option<Instant>,
}

impl Relay<'_> {
    /// Starts the client with `options` and relays until it stops; returns how it ended.
    pub async fn run(&self, options: ClientOptions, signals: &mut Signals) -> Ended {
        let args = self.args;
        let quit_word = args.quit_word(std::io::stdin().is_terminal());
        let shutdown = CancellationToken::new();
        // Set only by a signal: from then on nothing waits on stdout or stderr.
        let abort = CancellationToken::new();
        let overflow = match self.role {
            Role::Connect => Overflow::Wait,
            Role::Serve => Overflow::Drop,
        };
        let (sink, sink_thread) = StatusSink::start(overflow, abort.clone(), self.dropped_note());
        let printer = Printer {
            role: self.role,
            format: args.events(),
            quiet: self.quiet,
            quit_word: quit_word.clone(),
            unresolved_hint: options.accept.is_none() && !options.retry_unresolved,
            sink,
        };
        let (events_tx, mut events) = mpsc::channel(EVENT_QUEUE);
        let emitter = Emitter::new(events_tx, Source::Client(0), Clock::Real);
        let (handle, task) = client::spawn(options, emitter, shutdown.clone());

        let splitter = InputSplitter::new(quit_word.as_deref(), args.send_encoding());
        let crlf = (args.crlf && args.send_encoding().is_text()).then(Crlf::default);
        let (eof_tx, mut eof) = oneshot::channel();
        let rejected = Arc::new(AtomicU64::new(0));
        let reader = StdinReader {
            handle,
            splitter,
            crlf,
            printer: printer.clone(),
            rejected: rejected.clone(),
        };
        spawn_stdin_reader(reader, eof_tx);
        let (stdout_tx, stdout_rx) = mpsc::channel::<Bytes>(16);
        let render = Render::new(args.encoding, args.hex_dump);
        let (stdout_done_tx, stdout_done) = oneshot::channel();
        thread::spawn(move || {
            write_stdout(stdout_rx, render);
            let _ = stdout_done_tx.send(());
        });

        let mut stop = None;
        let mut eof_seen = false;
        let mut not_written = 0u64;
        let mut at = Deadlines {
            idle: args.idle_timeout.and_then(after),
            ..Deadlines::default()
        };
        loop {
            let report = tokio::select! {
                report = events.recv() => match report {
                    Some(report) => report,
                    None => break,
                },
                () = until(at.quit) => {
                    at.quit = None;
                    let waited = args.quit_timeout();
                    self.time_out(&printer, &shutdown, &mut stop, Stop::QuitTimeout, waited).await;
                    continue;
                }
                () = until(at.eof) => {
                    at.eof = None;
                    let waited = args.eof_timeout.unwrap_or_default();
                    self.time_out(&printer, &shutdown, &mut stop, Stop::EofTimeout, waited).await;
                    continue;
                }
                () = until(at.idle) => {
                    at.idle = None;
                    let waited = args.idle_timeout.unwrap_or_default();
                    self.time_out(&printer, &shutdown, &mut stop, Stop::IdleTimeout, waited).await;
                    continue;
                }
                read = &mut eof, if !eof_seen => {
                    eof_seen = true;
                    if read.is_ok() && let Some(timeout) = args.eof_timeout {
                        at.eof = after(timeout);
                    }
                    continue;
                }
                name = signals.recv(), if !abort.is_cancelled() => {
                    abort.cancel();
                    self.close(&printer, &shutdown, &mut stop, Stop::Signal(name),
                        format!("interrupted by {name}: closing"),
                        json!({"event": "signal", "signal": name})).await;
                    continue;
                }
            };
            for event in report.events {
                let event = match event {
                    Event::Client(event) => event,
                    // The client reports only client events.
                    Event::Server(_) | Event::Program(_) | Event::Proxy(_) | Event::WaitDone => {
                        continue;
                    }
                };
                match &event {
                    ClientEvent::Quit => at.quit = after(args.quit_timeout()),
                    ClientEvent::Sent { .. } => at.idle = args.idle_timeout.and_then(after),
                    ClientEvent::Received { data } => {
                        at.idle = args.idle_timeout.and_then(after);
                        if stop != Some(Stop::StdoutClosed) {
                            let sent = tokio::select! {
                                sent = stdout_tx.send(data.clone()) => sent.is_ok(),
                                () = abort.cancelled() => {
                                    not_written += data.len() as u64;
                                    true
                                }
                            };
                            if !sent {
                                // stdout is closed (e.g. piped into `head`): nothing more to do.
                                stop.get_or_insert(Stop::StdoutClosed);
                                shutdown.cancel();
                            }
                        }
                    }
                    _ => {}
                }
                // `--events json` shows every event (`received` with its
                // length); human status lines skip the data.
                printer.event(&event).await;
            }
        }
        drop(stdout_tx);
        let outcome = task.await.unwrap_or(Outcome::Shutdown);
        if abort.is_cancelled() {
            let _ = tokio::time::timeout(GRACE, stdout_done).await;
        } else {
            let _ = stdout_done.await;
        }
        if not_written > 0 {
            printer
                .note(
                    format!("{not_written} received bytes were not written to stdout: stopped while it was full"),
                    json!({"event": "not_written", "bytes": not_written}),
                )
                .await;
        }
        let rejected = rejected.load(Ordering::Relaxed);
        if rejected > 0 {
            printer
                .loss(
                    format!(
                        "{rejected} {} of stdin not sent (see above): exiting with 1",
                        if rejected == 1 { "line" } else { "lines" }
                    ),
                    json!({"event": "rejected_input", "lines": rejected}),
                )
                .await;
        }
        drop(printer);
        let bound = (abort.is_cancelled() || overflow == Overflow::Drop).then_some(GRACE);
        sink_thread.finish(bound).await;
        Ended {
            outcome,
            stop,
            rejected,
        }
    }

    /// Says which timeout ran out after `waited`, and stops the client.
    async fn time_out(
        &self,
        printer: &Printer,
        shutdown: &CancellationToken,
        stop: &mut Option<Stop>,
        why: Stop,
        waited: Duration,
    ) {
        let (event, human) = match why {
            Stop::QuitTimeout => ("quit_timeout", "the peer did not close within {} of quit"),
            Stop::EofTimeout => ("eof_timeout", "{} after the end of stdin (--eof-timeout)"),
            _ => (
                "idle_timeout",
                "no bytes either way for {} (--idle-timeout)",
            ),
        };
        let human = human.replace("{}", &humantime::format_duration(waited).to_string());
        let json = json!({"event": event, "waited_ms": waited.as_millis() as u64});
        self.close(
            printer,
            shutdown,
            stop,
            why,
            format!("closing: {human}"),
            json,
        )
        .await;
    }

    /// Says why tcprun closes the relay, and stops the client.
    async fn close(
        &self,
        printer: &Printer,
        shutdown: &CancellationToken,
        stop: &mut Option<Stop>,
        why: Stop,
        human: String,
        json: serde_json::Value,
    ) {
        if stop.is_none() {
            *stop = Some(why);
            printer.note(human, json).await;
        }
        shutdown.cancel();
    }

    /// Returns the wording of the line that counts dropped status lines.
    fn dropped_note(&self) -> Box<dyn Fn(u64) -> String + Send> {
        let prefix = self.role.prefix();
        match self.args.events() {
            EventFormat::Human => {
                Box::new(move |n| format!("{prefix}: {n} status {} dropped", lines(n)))
            }
            EventFormat::Json => {
                Box::new(|n| json!({"event": "status_dropped", "lines": n}).to_string())
            }
        }
    }
}

/// Returns `line` or `lines`.
pub fn lines(n: u64) -> &'static str {
    if n == 1 { "line" } else { "lines" }
}

/// Returns the instant `duration` from now; none (no deadline) where
/// that instant cannot be told (it never can be within [`crate::cli::MAX_DURATION`]).
fn after(duration: Duration) -> Option<Instant> {
    Instant::now().checked_add(duration)
}

/// Waits until `deadline`, or forever without one.
async fn until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Holds what the stdin reader needs: where input goes, how it is cut,
/// where its notes go, and the count of lines it could not send.
struct StdinReader {
    handle: ClientHandle,
    splitter: InputSplitter,
    crlf: Option<Crlf>,
    printer: Printer,
    rejected: Arc<AtomicU64>,
}

/// Reads stdin on its own thread (one input path for every connection);
/// `eof` fires at the end of stdin. A line that cannot be sent is said
/// (also under `-q`) and counted, so that the run exits 1.
fn spawn_stdin_reader(reader: StdinReader, eof: oneshot::Sender<()>) {
    let StdinReader {
        handle,
        mut splitter,
        mut crlf,
        printer,
        rejected,
    } = reader;
    let runtime = tokio::runtime::Handle::current();
    thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        widen_pipe(&stdin);
        let mut buf = BytesMut::new();
        let mut send = |input: Input| -> bool {
            match input {
                Input::Data(data) => {
                    let data = match &mut crlf {
                        Some(crlf) => crlf.apply(data),
                        None => data,
                    };
                    runtime.block_on(handle.write_nowait(data)).is_ok()
                }
                Input::Quit => {
                    let _ = runtime.block_on(handle.quit());
                    false
                }
                Input::Invalid { line, reason } => {
                    rejected.fetch_add(1, Ordering::Relaxed);
                    printer.blocking_loss(
                        format!("stdin line {line} not sent: {reason}"),
                        json!({"event": "invalid_input", "line": line, "reason": reason}),
                    );
                    true
                }
            }
        };
        loop {
            // Reuses the allocation once the client dropped the previous chunk.
            buf.reserve(STDIN_CHUNK);
            buf.resize(STDIN_CHUNK, 0);
            let inputs = match stdin.read(&mut buf) {
                Ok(0) | Err(_) => {
                    if splitter.finish().into_iter().all(&mut send) {
                        let _ = runtime.block_on(handle.end(None));
                        let _ = eof.send(());
                    }
                    return;
                }
                Ok(n) => {
                    buf.truncate(n);
                    splitter.feed(buf.split().freeze())
                }
            };
            if !inputs.into_iter().all(&mut send) {
                return;
            }
        }
    });
}

/// Writes received bytes to stdout on its own thread, rendered as asked.
/// stdout is never closed because a connection ended.
fn write_stdout(mut chunks: mpsc::Receiver<Bytes>, mut render: Render) {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    widen_pipe(&out);
    while let Some(chunk) = chunks.blocking_recv() {
        let result = match render.chunk(&chunk) {
            Some(text) => out.write_all(text.as_bytes()),
            None => out.write_all(&chunk),
        };
        if result.and_then(|()| out.flush()).is_err() {
            return; // dropping the receiver tells the relay stdout is gone
        }
    }
    let _ = out.write_all(render.finish().as_bytes());
    let _ = out.flush();
}

/// Asks for a 1 MiB pipe buffer when `fd` is a pipe (fewer wake-ups per
/// byte); anything else is left as it is.
fn widen_pipe(fd: &impl std::os::fd::AsFd) {
    let _ = nix::fcntl::fcntl(fd.as_fd(), nix::fcntl::FcntlArg::F_SETPIPE_SZ(1 << 20));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::UnsentReason;

    #[test]
    fn exit_codes_follow_how_it_ended() {
        let ended = |outcome, stop| Ended {
            outcome,
            stop,
            rejected: 0,
        };
        let unsent = Outcome::Unsent {
            bytes: 6,
            reason: UnsentReason::Stopped,
        };
        let cases = [
            (ended(Outcome::Quit, None), Role::Connect, 0),
            (ended(Outcome::PeerClosed, None), Role::Connect, 0),
            (
                ended(Outcome::Shutdown, Some(Stop::QuitTimeout)),
                Role::Connect,
                0,
            ),
            (
                ended(Outcome::Shutdown, Some(Stop::EofTimeout)),
                Role::Connect,
                0,
            ),
            (
                ended(unsent.clone(), Some(Stop::EofTimeout)),
                Role::Connect,
                1,
            ),
            (ended(unsent.clone(), None), Role::Connect, 1),
            (
                ended(Outcome::Shutdown, Some(Stop::IdleTimeout)),
                Role::Connect,
                1,
            ),
            (
                ended(Outcome::Shutdown, Some(Stop::Signal("SIGINT"))),
                Role::Connect,
                130,
            ),
            (
                ended(unsent.clone(), Some(Stop::Signal("SIGTERM"))),
                Role::Connect,
                143,
            ),
            (
                ended(Outcome::Shutdown, Some(Stop::Signal("SIGTERM"))),
                Role::Serve,
                0,
            ),
            (ended(unsent, Some(Stop::Signal("SIGTERM"))), Role::Serve, 1),
        ];
        for (ended, role, code) in cases {
            assert_eq!(ended.exit_code(role), code, "{ended:?} {role:?}");
        }
    }
}
