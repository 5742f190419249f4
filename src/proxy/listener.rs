//! Listens on the proxy's port: the accept loop.
//!
//! The port is held for the proxy's whole life by a bound socket that never
//! listens (as the fake server holds its port): while the proxy is down,
//! connects are refused and no other program can take the port, so `up`
//! always comes back on the same address. Its blackhole (`down blackhole`)
//! is the fake server's, `crate::server::Blackhole`.

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Shared;
use super::conn;
use super::reporter::Reporter;
use crate::event::ProxyEvent;

/// Accepts connections and starts a task for each, until `stop` is cancelled.
pub(super) async fn accept_loop<R: Reporter>(
    listener: TcpListener,
    shared: Arc<Shared<R>>,
    stop: CancellationToken,
) {
    while let Some((client, peer)) = crate::server::accept(&listener, &stop).await {
        let _ = client.set_nodelay(true);
        let (commands, receiver) = mpsc::channel(1);
        let conn = {
            let mut registry = shared.registry.lock().expect("registry lock");
            registry.accepted += 1;
            let conn = registry.accepted;
            registry.conns.insert(conn, commands);
            conn
        };
        let accepted = vec![ProxyEvent::Accepted { conn, peer }];
        if shared.reporter.report(accepted).await.is_err() {
            return;
        }
        tokio::spawn(conn::run(shared.clone(), conn, client, receiver));
    }
}
