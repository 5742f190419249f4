//! Renders proxy events as status lines for people or as JSON lines for programs, and reports them on stderr.

use std::io::Write as _;
use std::pin::Pin;
use std::time::Duration;

use serde_json::{Value, json};

use crate::cli::EventFormat;
use crate::proxy::{Direction, DownMode, ProxyEvent, Reporter, ReporterGone, Side, real_wait};

/// Reports events on stderr as they happen, and waits in real time.
#[derive(Debug, Clone, Copy)]
pub struct StderrReporter {
    /// `None`: print nothing (`-q`).
    format: Option<EventFormat>,
    /// Where its clock starts.
    origin: tokio::time::Instant,
}

impl StderrReporter {
    /// Creates a reporter that prints in `format`, or nothing.
    pub fn new(format: Option<EventFormat>) -> Self {
        Self {
            format,
            origin: tokio::time::Instant::now(),
        }
    }

    /// Prints the lines of `events` in one go.
    fn print(&self, events: &[ProxyEvent]) {
        let Some(format) = self.format else {
            return;
        };
        let mut text = String::new();
        for event in events {
            match format {
                EventFormat::Human => {
                    if let Some(line) = human(event) {
                        text.push_str("tcprun: ");
                        text.push_str(&line);
                        text.push('\n');
                    }
                }
                EventFormat::Json => {
                    if let Some(value) = json(event) {
                        text.push_str(&value.to_string());
                        text.push('\n');
                    }
                }
            }
        }
        if !text.is_empty() {
            let _ = std::io::stderr().lock().write_all(text.as_bytes());
        }
    }
}

impl Reporter for StderrReporter {
    type Wait = Pin<Box<tokio::time::Sleep>>;

    async fn report(&self, events: Vec<ProxyEvent>) -> Result<(), ReporterGone> {
        self.print(&events);
        Ok(())
    }

    async fn report_then_wait(
        &self,
        events: Vec<ProxyEvent>,
        delay: Duration,
    ) -> Result<Self::Wait, ReporterGone> {
        self.print(&events);
        Ok(real_wait(delay))
    }

    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// Returns the status line for `event`, or `None` for events that only move data.
pub fn human(event: &ProxyEvent) -> Option<String> {
    Some(match event {
        ProxyEvent::Up { addr } => format!("listening on {addr}"),
        ProxyEvent::Down { mode, connections } => match mode {
            DownMode::Refuse => format!(
                "down: new connections are refused; {} open",
                stay(*connections)
            ),
            DownMode::Blackhole => format!(
                "down: new connections get no answer and time out; {} open",
                stay(*connections)
            ),
            DownMode::Reset => format!(
                "down: {} reset; new connections are refused",
                connections_text(*connections)
            ),
        },
        ProxyEvent::Accepted { conn, peer } => format!("connection {conn} from {peer}"),
        ProxyEvent::Dialed { conn, upstream, .. } => {
            format!("connection {conn}: connected to {upstream}")
        }
        ProxyEvent::DialFailed { conn, error } => format!(
            "connection {conn}: cannot connect to the upstream: {error}; resetting the client"
        ),
        ProxyEvent::Forwarded { .. } | ProxyEvent::Dropped { .. } => return None,
        ProxyEvent::FinSeen { conn, side } => {
            format!("connection {conn}: {} ended its side (FIN)", side.name())
        }
        ProxyEvent::FinPassed { conn, side } => {
            format!("connection {conn}: FIN passed to the {}", side.name())
        }
        ProxyEvent::RstSeen { conn, side } => {
            format!(
                "connection {conn}: {} reset the connection (RST)",
                side.name()
            )
        }
        ProxyEvent::RstSent { conn, side } => {
            format!("connection {conn}: RST sent to the {}", side.name())
        }
        ProxyEvent::Failed { conn, side, error } => {
            format!("connection {conn}: {} side failed: {error}", side.name())
        }
        ProxyEvent::Closed {
            conn,
            to_server,
            to_client,
        } => format!(
            "connection {conn} closed ({to_server} {} to the server, {to_client} to the client)",
            if *to_server == 1 { "byte" } else { "bytes" }
        ),
        ProxyEvent::FaultFired {
            conn,
            fault,
            direction,
            offset,
        } => format!(
            "connection {conn}: fault `{}` ({}) fired {} at byte {offset}",
            fault.name,
            fault.action,
            direction.name()
        ),
        ProxyEvent::FaultAdded { fault } => format!("fault `{}` added: {}", fault.name, fault.spec),
        ProxyEvent::FaultsCleared { names } => {
            let names: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
            format!("cleared {}", names.join(", "))
        }
        ProxyEvent::DirectionState { .. } => return None,
    })
}

fn connections_text(n: usize) -> String {
    format!("{n} {}", if n == 1 { "connection" } else { "connections" })
}

/// Returns "1 connection stays" or "N connections stay".
fn stay(n: usize) -> String {
    format!(
        "{} {}",
        connections_text(n),
        if n == 1 { "stays" } else { "stay" }
    )
}

/// Returns `event` as one JSON object (byte payloads by length), or
/// `None` for the state of a direction, which only a scenario runner reads.
pub fn json(event: &ProxyEvent) -> Option<Value> {
    let side = |side: &Side| side.name();
    let direction = |direction: &Direction| direction.name();
    Some(match event {
        ProxyEvent::Up { addr } => json!({"event": "up", "addr": addr.to_string()}),
        ProxyEvent::Down { mode, connections } => {
            json!({"event": "down", "mode": mode.name(), "connections": connections})
        }
        ProxyEvent::Accepted { conn, peer } => {
            json!({"event": "accepted", "conn": conn, "peer": peer.to_string()})
        }
        ProxyEvent::Dialed { conn, upstream, .. } => {
            json!({"event": "dialed", "conn": conn, "upstream": upstream.to_string()})
        }
        ProxyEvent::DialFailed { conn, error } => json!({
            "event": "dial_failed", "conn": conn, "code": error.code, "message": error.message
        }),
        ProxyEvent::Forwarded {
            conn,
            direction: way,
            data,
        } => json!({
            "event": "forwarded", "conn": conn, "direction": direction(way), "bytes": data.len()
        }),
        ProxyEvent::Dropped {
            conn,
            direction: way,
            data,
        } => json!({
            "event": "dropped", "conn": conn, "direction": direction(way), "bytes": data.len()
        }),
        ProxyEvent::FinSeen { conn, side: who } => {
            json!({"event": "fin", "conn": conn, "side": side(who)})
        }
        ProxyEvent::FinPassed { conn, side: who } => {
            json!({"event": "fin_passed", "conn": conn, "side": side(who)})
        }
        ProxyEvent::RstSeen { conn, side: who } => {
            json!({"event": "rst", "conn": conn, "side": side(who)})
        }
        ProxyEvent::RstSent { conn, side: who } => {
            json!({"event": "rst_sent", "conn": conn, "side": side(who)})
        }
        ProxyEvent::Failed {
            conn,
            side: who,
            error,
        } => json!({
            "event": "error", "conn": conn, "side": side(who), "code": error.code, "message": error.message
        }),
        ProxyEvent::Closed {
            conn,
            to_server,
            to_client,
        } => {
            json!({"event": "closed", "conn": conn, "to_server": to_server, "to_client": to_client})
        }
        ProxyEvent::FaultFired {
            conn,
            fault,
            direction: way,
            offset,
        } => json!({
            "event": "fault", "conn": conn, "name": &*fault.name, "kind": fault.kind,
            "direction": direction(way), "offset": offset
        }),
        ProxyEvent::FaultAdded { fault } => {
            json!({"event": "fault_added", "name": &*fault.name, "spec": fault.spec})
        }
        ProxyEvent::FaultsCleared { names } => {
            let names: Vec<&str> = names.iter().map(|n| &**n).collect();
            json!({"event": "faults_cleared", "names": names})
        }
        ProxyEvent::DirectionState { .. } => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::FaultSpec;

    #[test]
    fn status_lines_read_as_sentences() {
        let closed = ProxyEvent::Closed {
            conn: 2,
            to_server: 1,
            to_client: 40,
        };
        assert_eq!(
            human(&closed).unwrap(),
            "connection 2 closed (1 byte to the server, 40 to the client)"
        );
        let spec = FaultSpec::from_pairs(&[("cut", "reset")]).unwrap();
        let fired = ProxyEvent::FaultFired {
            conn: 1,
            fault: std::sync::Arc::new(spec.label()),
            direction: Direction::ToServer,
            offset: 100,
        };
        assert_eq!(
            human(&fired).unwrap(),
            "connection 1: fault `cut` (cut: reset) fired to_server at byte 100"
        );
        assert_eq!(
            json(&fired),
            Some(
                json!({"event": "fault", "conn": 1, "name": "cut", "kind": "cut", "direction": "to_server", "offset": 100})
            )
        );
        let data = ProxyEvent::Forwarded {
            conn: 1,
            direction: Direction::ToClient,
            data: "hi".into(),
        };
        assert_eq!(human(&data), None);
        let down = ProxyEvent::Down {
            mode: DownMode::Refuse,
            connections: 1,
        };
        assert_eq!(
            human(&down).unwrap(),
            "down: new connections are refused; 1 connection stays open"
        );
        assert_eq!(json(&data).unwrap()["bytes"], 2);
    }
}
