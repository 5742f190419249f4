//! Runs `tcprun connect`: stdin to the server, the server to stdout, status on stderr, with reconnect.

mod input;
mod status;
mod target;

use std::io::{Read, Write};
use std::thread;

use bytes::{Bytes, BytesMut};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::cli::{BackoffArg, ConnectArgs, EventFormat};
use crate::client::{self, Backoff, ClientHandle, ClientOptions, Outcome, ReconnectPolicy};
use crate::event::{ClientEvent, Clock, Emitter, Event, Source};
use input::{Input, InputSplitter};
pub use target::{TargetError, parse_target};

/// Size of each stdin read.
const STDIN_CHUNK: usize = 256 * 1024;

/// Bounds the events waiting for the status printer. Each `sent` event keeps
/// its chunk alive until printed, so this also bounds the memory of data in
/// flight (8 × 256 KiB).
const EVENT_QUEUE: usize = 8;

/// Connects, pumps stdin and stdout until the client stops, and returns how it stopped.
pub async fn run(args: ConnectArgs) -> Result<Outcome, TargetError> {
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
        buffer_limit: args.buffer_limit,
        ..ClientOptions::new(host, port)
    };
    let (events_tx, mut events) = mpsc::channel(EVENT_QUEUE);
    let shutdown = CancellationToken::new();
    let emitter = Emitter::new(events_tx, Source::Client(0), Clock::Real);
    let (handle, task) = client::spawn(options, emitter, shutdown.clone());

    spawn_stdin_reader(handle, &args);
    let (stdout_tx, stdout_rx) = mpsc::channel::<Bytes>(16);
    let encoding = args.encoding;
    let stdout_thread = thread::spawn(move || write_stdout(stdout_rx, encoding));

    let mut stdout_open = true;
    // Set once the user quit: the server then has `quit_timeout` to close.
    let mut quit_deadline = None;
    let mut closed_after_quit = false;
    loop {
        let report = tokio::select! {
            report = events.recv() => match report {
                Some(report) => report,
                None => break,
            },
            () = until(quit_deadline) => {
                quit_deadline = None;
                closed_after_quit = true;
                if !args.quiet {
                    let waited = args.quit_timeout;
                    match args.events {
                        EventFormat::Human => eprintln!(
                            "tcprun: closing: the server did not close within {} of quit",
                            humantime::format_duration(waited)
                        ),
                        EventFormat::Json => eprintln!(
                            "{}",
                            serde_json::json!({"event": "quit_timeout", "waited_ms": waited.as_millis()})
                        ),
                    }
                }
                shutdown.cancel();
                continue;
            }
        };
        for event in report.events {
            let event = match event {
                Event::Client(event) => event,
                // The client reports only client events.
                Event::Server(_) | Event::Program(_) => continue,
            };
            if matches!(event, ClientEvent::Quit) {
                quit_deadline = Some(tokio::time::Instant::now() + args.quit_timeout);
            }
            if let ClientEvent::Received { data } = &event {
                if stdout_open && stdout_tx.send(data.clone()).await.is_err() {
                    // stdout is closed (e.g. piped into `head`): nothing more to do.
                    stdout_open = false;
                    shutdown.cancel();
                }
                // Still reported below: `--events json` shows every event
                // (`received` with its length); human status lines skip it.
            }
            if args.quiet {
                // Lost input is said even then: nothing is lost silently.
                if status::tells_of_loss(&event)
                    && let Some(line) = status::human(&event)
                {
                    eprintln!("tcprun: {line}");
                }
                continue;
            }
            match args.events {
                EventFormat::Human => {
                    if let Some(line) = status::human(&event) {
                        eprintln!("tcprun: {line}");
                    }
                }
                EventFormat::Json => eprintln!("{}", status::json(&event)),
            }
        }
    }
    drop(stdout_tx);
    let _ = stdout_thread.join();
    let outcome = task.await.unwrap_or(Outcome::Shutdown);
    Ok(match outcome {
        Outcome::Shutdown if closed_after_quit => Outcome::Quit,
        Outcome::Shutdown if !stdout_open => Outcome::Ended,
        other => other,
    })
}

/// Waits until `deadline`, or forever without one.
async fn until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Reads stdin on its own thread (one input path for every connection).
fn spawn_stdin_reader(handle: ClientHandle, args: &ConnectArgs) {
    let runtime = tokio::runtime::Handle::current();
    let mut splitter = InputSplitter::new(&args.quit_word, args.send_encoding);
    let quiet = args.quiet;
    thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        widen_pipe(&stdin);
        let mut buf = BytesMut::new();
        loop {
            // Reuses the allocation once the client dropped the previous chunk.
            buf.reserve(STDIN_CHUNK);
            buf.resize(STDIN_CHUNK, 0);
            let inputs = match stdin.read(&mut buf) {
                Ok(0) | Err(_) => {
                    for input in splitter.finish() {
                        if !send(&runtime, &handle, input, quiet) {
                            return;
                        }
                    }
                    let _ = runtime.block_on(handle.end(None));
                    return;
                }
                Ok(n) => {
                    buf.truncate(n);
                    splitter.feed(buf.split().freeze())
                }
            };
            for input in inputs {
                if !send(&runtime, &handle, input.clone(), quiet) || input == Input::Quit {
                    return;
                }
            }
        }
    });
}

/// Hands one input to the client; returns false when the client is gone.
fn send(
    runtime: &tokio::runtime::Handle,
    handle: &ClientHandle,
    input: Input,
    quiet: bool,
) -> bool {
    match input {
        Input::Data(data) => runtime.block_on(handle.write_nowait(data)).is_ok(),
        Input::Quit => runtime.block_on(handle.quit()).is_ok(),
        Input::Invalid { line, reason } => {
            if !quiet {
                eprintln!("tcprun: stdin line {line} not sent: {reason}");
            }
            true
        }
    }
}

/// Writes received bytes to stdout on its own thread, decoded if asked.
/// stdout is never closed because a connection ended.
fn write_stdout(mut chunks: mpsc::Receiver<Bytes>, encoding: Option<client::encoding::Encoding>) {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    widen_pipe(&out);
    let mut decoder = encoding.map(|e| e.decoder());
    while let Some(chunk) = chunks.blocking_recv() {
        let result = match &mut decoder {
            Some(decoder) => out.write_all(decoder.decode(&chunk).as_bytes()),
            None => out.write_all(&chunk),
        };
        if result.and_then(|()| out.flush()).is_err() {
            return; // dropping the receiver tells the event loop stdout is gone
        }
    }
    if let Some(decoder) = &mut decoder {
        let _ = out.write_all(decoder.finish().as_bytes());
    }
    let _ = out.flush();
}

/// Asks for a 1 MiB pipe buffer when `fd` is a pipe (fewer wake-ups per
/// byte); anything else is left as it is.
fn widen_pipe(fd: &impl std::os::fd::AsFd) {
    let _ = nix::fcntl::fcntl(fd.as_fd(), nix::fcntl::FcntlArg::F_SETPIPE_SZ(1 << 20));
}
