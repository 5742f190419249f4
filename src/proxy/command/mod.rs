//! Runs `tcprun proxy`: the fault proxy on its own, with faults from the command line and commands on stdin.

mod input;
mod status;

use std::io::{BufRead, Write as _};
use std::net::{SocketAddr, ToSocketAddrs};

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::cli::{EventFormat, ProxyArgs};
use crate::proxy::{Proxy, ProxyError, ProxyOptions};
pub use input::{InputError, Line, parse_fault, parse_line};
pub use status::{StderrReporter, human, json};

/// The help shown after the options of `tcprun proxy --help`.
pub const HELP: &str = "\
Faults (--fault SPEC, or a line on stdin) are YAML flow maps with exactly one kind:
  {latency: 200ms, jitter: 20ms}   hold each read 200ms (± up to 20ms) before passing it on
  {bandwidth: 64KiB/s}             pass bytes on at most this fast
  {slice: 8, gap: 5ms}             pass bytes on in writes of at most 8 bytes, 5ms apart
  {stall: true}                    stop reading and passing on: no FIN, no RST; the sender blocks
  {drop: true}                     read and discard
  {cut: reset|fin|half_close}      RST to both sides | FIN both ways | FIN in its direction only
  {slow_close: 1s}                 hold a FIN 1s before passing it on
and optional keys:
  direction: to_server|to_client|both   which way's bytes (default both, each on its own)
  after_bytes: N                   take effect after exactly N more bytes (64KiB works too)
  on: REGEX                        take effect right after the first match in the bytes
  probability: P                   apply to a connection with chance P (0..1), drawn from --seed
  connection: N                    only the N-th accepted connection
  name: NAME                       for `clear NAME` and the reports (default: the kind)

Stdin takes one command per line while the proxy runs:
  {cut: reset, after_bytes: 100}   add a fault; it applies to open connections too
  clear | clear NAME               clear every fault, or those named NAME
  down refuse                      new connects are refused (ECONNREFUSED); open ones stay
  down blackhole                   new connects get no answer and time out (ETIMEDOUT)
  down reset                       reset every open connection, then refuse
  up                               listen again on the same port

A client's FIN is passed to the server and the other way stays open (and the
other way round); a reset on one side resets the other. When the upstream
cannot be reached, the client's connection is reset (ECONNRESET).

Examples:
  tcprun proxy --listen 7000 --upstream localhost:6379
  tcprun proxy --listen 0 --upstream 127.0.0.1:4001 --fault '{latency: 200ms, direction: to_client}'
  tcprun proxy --listen 7000 --upstream db:5432 --fault '{cut: reset, after_bytes: 100, direction: to_server}'
  tcprun proxy --listen 7000 --upstream 127.0.0.1:4001 --seed 7 --fault '{cut: reset, probability: 0.3}'
  echo 'down blackhole' | tcprun proxy --listen 7000 --upstream 127.0.0.1:4001

It runs until SIGINT or SIGTERM, then exits 0. Exit status: 1 when it cannot
listen, 2 for a usage error (a bad --fault, --listen or --upstream).";

/// Reports why `tcprun proxy` could not run.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The command line is wrong (exit 2).
    #[error("{what}: {error}")]
    Usage {
        /// Which option, as written.
        what: String,
        /// What is wrong with it, and the hint.
        error: InputError,
    },
    /// The proxy could not listen (exit 1).
    #[error(transparent)]
    Proxy(#[from] ProxyError),
    /// The signal handlers could not be installed (exit 1).
    #[error("cannot watch signals: {0}")]
    Signals(std::io::Error),
}

impl CommandError {
    /// Returns the exit status: 2 for usage errors, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            CommandError::Usage { .. } => 2,
            _ => 1,
        }
    }
}

/// Runs the proxy until SIGINT or SIGTERM.
pub async fn run(args: ProxyArgs) -> Result<(), CommandError> {
    let usage = |what: String| move |error: InputError| CommandError::Usage { what, error };
    let listen =
        parse_listen(&args.listen).map_err(usage(format!("invalid --listen `{}`", args.listen)))?;
    let (upstream_host, upstream_port) =
        crate::connect::parse_target(std::slice::from_ref(&args.upstream))
            .map_err(|error| InputError {
                message: error.to_string(),
                hint: Some("write HOST:PORT, e.g. 127.0.0.1:4001".to_owned()),
            })
            .map_err(usage(format!("invalid --upstream `{}`", args.upstream)))?;
    let faults = args
        .faults
        .iter()
        .map(|text| parse_fault(text).map_err(usage(format!("invalid --fault `{text}`"))))
        .collect::<Result<Vec<_>, _>>()?;
    // Installed before the port is printed: whoever reads it may signal at once.
    let mut terminate = signal(SignalKind::terminate()).map_err(CommandError::Signals)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(CommandError::Signals)?;
    let format = (!args.quiet).then_some(args.events);
    let options = ProxyOptions {
        listen,
        upstream_host,
        upstream_port,
        seed: args.seed,
        dial_timeout: args.dial_timeout,
        faults,
    };
    let mut proxy = Proxy::start(options, StderrReporter::new(format)).await?;
    if listen.port() == 0 {
        println!("{}", proxy.addr().port());
        let _ = std::io::stdout().flush();
    }
    let mut lines = read_stdin();
    let mut stdin_open = true;
    loop {
        tokio::select! {
            _ = interrupt.recv() => break,
            _ = terminate.recv() => break,
            line = lines.recv(), if stdin_open => match line {
                Some((number, text)) => {
                    if let Err(error) = obey(&mut proxy, &text).await {
                        complain(format, number, &error);
                    }
                }
                None => stdin_open = false,
            },
        }
    }
    Ok(())
}

/// Carries out one stdin line.
async fn obey(proxy: &mut Proxy<StderrReporter>, text: &str) -> Result<(), InputError> {
    let failed = |error: ProxyError| InputError {
        message: error.to_string(),
        hint: None,
    };
    match parse_line(text)? {
        Line::Nothing => {}
        Line::Fault(spec) => {
            proxy.add_fault(spec).await.map_err(|e| failed(e.into()))?;
        }
        Line::Clear(name) => {
            let cleared = proxy
                .clear(name.as_deref())
                .await
                .map_err(|e| failed(e.into()))?;
            if let (Some(name), true) = (name, cleared.is_empty()) {
                let table = proxy.faults();
                let names: Vec<String> = table.iter().map(|f| format!("`{}`", f.name)).collect();
                return Err(InputError {
                    message: format!("no fault named `{name}`"),
                    hint: Some(if names.is_empty() {
                        "no fault is in effect".to_owned()
                    } else {
                        format!("the faults in effect are {}", names.join(", "))
                    }),
                });
            }
        }
        Line::Down(mode) => proxy.down(mode).await.map_err(failed)?,
        Line::Up => {
            if proxy.is_up() {
                return Err(InputError {
                    message: "the proxy is up already".to_owned(),
                    hint: None,
                });
            }
            proxy.up().await.map_err(failed)?;
        }
    }
    Ok(())
}

/// Prints an error about stdin line `number`, as a status line or a JSON object.
fn complain(format: Option<EventFormat>, number: usize, error: &InputError) {
    match format {
        None => {}
        Some(EventFormat::Human) => {
            let mut text = format!("tcprun: stdin line {number} ignored: {}", error.message);
            if let Some(hint) = &error.hint {
                text.push_str(&format!("\n  = hint: {hint}"));
            }
            eprintln!("{text}");
        }
        Some(EventFormat::Json) => eprintln!(
            "{}",
            serde_json::json!({
                "event": "input_error", "line": number, "message": error.message, "hint": error.hint
            })
        ),
    }
}

/// Reads stdin lines on their own thread; each comes with its number (from 1).
fn read_stdin() -> mpsc::Receiver<(usize, String)> {
    let (tx, rx) = mpsc::channel(16);
    std::thread::spawn(move || {
        let stdin = std::io::stdin().lock();
        for (index, line) in stdin.lines().enumerate() {
            let Ok(line) = line else {
                return;
            };
            if tx.blocking_send((index + 1, line)).is_err() {
                return;
            }
        }
    });
    rx
}

/// Parses `PORT` or `HOST:PORT` (HOST defaults to 127.0.0.1; `[::1]:PORT` for IPv6).
fn parse_listen(text: &str) -> Result<SocketAddr, InputError> {
    let hint = || "write PORT or HOST:PORT, e.g. 7000 or 127.0.0.1:0".to_owned();
    let (host, port) = match text.rsplit_once(':') {
        Some((host, port)) => (host.trim_start_matches('[').trim_end_matches(']'), port),
        None => ("127.0.0.1", text),
    };
    let port: u16 = port.parse().map_err(|_| InputError {
        message: format!("`{port}` is not a port (0 to 65535)"),
        hint: Some(hint()),
    })?;
    (host, port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| InputError {
            message: format!("`{host}` does not resolve"),
            hint: Some(hint()),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_takes_a_port_or_a_host_and_port() {
        assert_eq!(
            parse_listen("7000").unwrap(),
            "127.0.0.1:7000".parse().unwrap()
        );
        assert_eq!(
            parse_listen("0.0.0.0:0").unwrap(),
            "0.0.0.0:0".parse().unwrap()
        );
        assert_eq!(parse_listen("[::1]:9").unwrap(), "[::1]:9".parse().unwrap());
        assert!(parse_listen("70000").is_err());
        assert!(parse_listen("nohost.invalid:1").is_err());
    }
}
