//! Runs `tcprun serve`: a built-in fake server on its own, logging connection events to stderr.

use std::io::Write as _;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::cli::{FakeArg, ServeArgs};
use crate::event::{Clock, CloseReason, Emitter, Event, ServerEvent, Source};
use crate::server::{FakeKind, FakeOptions, FakeServer, ServerError};

/// Serves until interrupted (SIGINT or SIGTERM); returns an error if it cannot listen.
pub async fn run(args: ServeArgs) -> Result<(), ServerError> {
    let (tx, mut events) = mpsc::channel(256);
    let shutdown = CancellationToken::new();
    let options = FakeOptions {
        kind: match args.fake {
            FakeArg::Echo => FakeKind::Echo,
            FakeArg::Chat => FakeKind::Chat,
            FakeArg::Sink => FakeKind::Sink,
            FakeArg::Silent => FakeKind::Silent,
        },
        banner: args.banner.map(Bytes::from),
        half_open: args.half_open,
    };
    let emitter = Emitter::new(tx, Source::Server, Clock::Real);
    let mut server = FakeServer::bind(&args.host, args.port, options, emitter, shutdown.clone())?;
    server.start().await?;
    if args.port == 0 {
        println!("{}", server.addr().port());
        let _ = std::io::stdout().flush();
    }
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|source| ServerError::Program(format!("cannot watch SIGTERM: {source}")))?;
    // Made once, so a Ctrl-C that comes while a line is being logged still counts.
    let mut interrupt =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
            .map_err(|source| ServerError::Program(format!("cannot watch SIGINT: {source}")))?;
    let log = |report: crate::event::Report| {
        if args.quiet {
            return;
        }
        for line in report.events.iter().filter_map(|event| match event {
            Event::Server(event) => describe(event),
            // The fake server reports only server events.
            Event::Client(_) | Event::Program(_) => None,
        }) {
            eprintln!("tcprun serve: {line}");
        }
    };
    loop {
        tokio::select! {
            _ = interrupt.recv() => break,
            _ = terminate.recv() => break,
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
    Ok(())
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
        ServerEvent::Down { .. } => return None,
    })
}
