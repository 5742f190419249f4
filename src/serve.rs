//! Runs `tcprun serve`: a built-in fake server on its own, logging connection events to stderr; or, with `--stdio`, one connection relayed to stdin and stdout.

use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::cli::{FakeArg, ServeArgs};
use crate::client::{Backoff, ClientOptions, ReconnectPolicy};
use crate::connect::{GRACE, Overflow, Relay, Role, Signals, StatusSink, lines};
use crate::event::{Clock, CloseReason, Emitter, Event, ServerEvent, Source};
use crate::scenario::RulesFile;
use crate::server::{FakeKind, FakeOptions, FakeServer, ServerError, ServerRules};

/// With `--stdio --keep-open`: the pause after a failed accept, and how many
/// failed accepts in a row end the relay.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);
const ACCEPT_RETRIES: u32 = 10;

/// Serves until interrupted (SIGINT or SIGTERM), or relays with `--stdio`;
/// returns the exit status, or an error if it cannot listen.
pub async fn run(args: ServeArgs, rules: Option<RulesFile>) -> Result<u8, ServerError> {
    // First of all: a signal that comes once the port is announced (or
    // earlier) is handled, never fatal.
    let mut signals = Signals::install();
    if args.stdio {
        return relay(&args, &mut signals).await;
    }
    let shutdown = CancellationToken::new();
    let (sink, sink_thread) = StatusSink::start(
        Overflow::Drop,
        shutdown.clone(),
        Box::new(|n| format!("tcprun serve: {n} status {} dropped", lines(n))),
    );
    let (tx, mut events) = mpsc::channel(256);
    let options = FakeOptions {
        kind: match args.fake {
            _ if rules.is_some() => FakeKind::Rules,
            Some(FakeArg::Echo) | None => FakeKind::Echo,
            Some(FakeArg::Chat) => FakeKind::Chat,
            Some(FakeArg::Sink) => FakeKind::Sink,
            Some(FakeArg::Silent) => FakeKind::Silent,
        },
        banner: args.banner.clone().map(Bytes::from),
        half_open: args.half_open || rules.as_ref().is_some_and(|r| r.half_open),
        rules: None,
    };
    let emitter = Emitter::new(tx, Source::Server, Clock::Real);
    let mut server = FakeServer::bind(&args.host, args.port, options, emitter, shutdown.clone())?;
    if let Some(file) = &rules {
        // `${port}` in the replies is the port just bound.
        let vars = crate::vars::Vars {
            port: server.addr().port(),
            ..crate::vars::Vars::default()
        };
        let set = file
            .rules
            .build(file.banner.as_ref(), &vars)
            .map_err(|error| ServerError::Program(error.to_string()))?;
        server.set_rules(Arc::new(ServerRules {
            set: Arc::new(set),
            framing: file.framing.clone(),
            labels: file.rules.labels().into_iter().map(Into::into).collect(),
        }));
    }
    server.start().await?;
    if args.port == 0 {
        println!("{}", server.addr().port());
        let _ = std::io::stdout().flush();
    }
    // Never waits: a stderr nobody reads costs log lines (counted), not service.
    let log = |report: crate::event::Report| {
        if args.quiet {
            return;
        }
        for line in report.events.iter().filter_map(|event| match event {
            Event::Server(event) => describe(event),
            // The fake server reports only server events.
            Event::Client(_) | Event::Program(_) | Event::Proxy(_) | Event::WaitDone => None,
        }) {
            sink.try_line(format!("tcprun serve: {line}"));
        }
    };
    loop {
        tokio::select! {
            _ = signals.recv() => break,
            report = events.recv() => match report {
                Some(report) => log(report),
                None => break,
            },
        }
    }
    // What happened before the signal is still logged.
    while let Ok(report) = events.try_recv() {
        log(report);
    }
    shutdown.cancel();
    drop(sink);
    sink_thread.finish(Some(GRACE)).await;
    Ok(0)
}

/// `--stdio`: accepts a connection and relays it to stdin and stdout, as
/// `tcprun connect` relays its connection (with `--keep-open`, the next
/// connection when one ends).
async fn relay(args: &ServeArgs, signals: &mut Signals) -> Result<u8, ServerError> {
    let wanted = format!("{}:{}", args.host, args.port);
    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port))
        .await
        .map_err(|source| ServerError::Bind {
            addr: wanted,
            source,
        })?;
    let options = ClientOptions {
        policy: ReconnectPolicy {
            enabled: args.keep_open,
            interval: ACCEPT_RETRY,
            max_retries: ACCEPT_RETRIES,
            backoff: Backoff::Fixed,
            jitter: false,
        },
        buffer_limit: args.relay.buffer_limit(),
        accept: Some(Arc::new(listener)),
        ..ClientOptions::new(args.host.clone(), args.port)
    };
    let relay = Relay {
        args: &args.relay,
        quiet: args.quiet,
        role: Role::Serve,
    };
    Ok(relay.run(options, signals).await.exit_code(Role::Serve))
}

/// Returns the log line for a server event (data is counted, not shown).
fn describe(event: &ServerEvent) -> Option<String> {
    Some(match event {
        ServerEvent::Listening { addr } => format!("listening on {addr}"),
        ServerEvent::Accepted { conn, peer } => format!("connection {conn} from {peer}"),
        ServerEvent::Received { conn, data } => {
            format!("connection {conn}: received {} bytes", data.len())
        }
        ServerEvent::Sent { conn, data } => format!("connection {conn}: sent {} bytes", data.len()),
        ServerEvent::PeerEnded { conn } => format!("connection {conn}: client ended (FIN)"),
        ServerEvent::Ended { conn } => format!("connection {conn}: server ended (FIN)"),
        ServerEvent::Closed { conn, reason } => format!(
            "connection {conn} closed ({})",
            match reason {
                CloseReason::Fin => "FIN".to_owned(),
                CloseReason::Reset => "reset by the client".to_owned(),
                CloseReason::Aborted => "reset".to_owned(),
                CloseReason::Error(error) => error.to_string(),
            }
        ),
        ServerEvent::RuleMatched {
            conn,
            rule,
            payload,
        } => format!(
            "connection {conn}: rule {rule} matched {}",
            crate::transcript::one_line(payload, crate::client::encoding::Encoding::Utf8, 200)
        ),
        ServerEvent::NoRuleMatched { conn, payload } => format!(
            "connection {conn}: no rule matched {}",
            crate::transcript::one_line(payload, crate::client::encoding::Encoding::Utf8, 200)
        ),
        ServerEvent::Waiting { conn, delay } => format!(
            "connection {conn}: delay {}",
            humantime::format_duration(*delay)
        ),
        ServerEvent::Stalled { conn } => format!("connection {conn}: stalled (reads nothing more)"),
        ServerEvent::FramingFailed { conn, error } => {
            format!("connection {conn}: framing stopped: {error}")
        }
        ServerEvent::Down { .. } | ServerEvent::Resumed { .. } => return None,
        ServerEvent::Blackholed { addr } => format!("blackholing {addr} (SYNs dropped)"),
    })
}
