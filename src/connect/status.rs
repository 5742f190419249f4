//! Renders client events as status lines for people or as JSON lines for programs, and prints them through the status sink.

use serde_json::{Value, json};

use super::sink::StatusSink;
use crate::cli::EventFormat;
use crate::event::{ClientEvent, CloseReason};

/// Names the command that relays, for the wording of its status lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `tcprun connect`: the client connects.
    Connect,
    /// `tcprun serve --stdio`: connections are accepted.
    Serve,
}

impl Role {
    /// Returns what status lines start with.
    pub fn prefix(self) -> &'static str {
        match self {
            Role::Connect => "tcprun",
            Role::Serve => "tcprun serve",
        }
    }
}

/// Returns the status line for `event`, or `None` for events that only move data.
pub fn human(event: &ClientEvent, role: Role) -> Option<String> {
    let serve = role == Role::Serve;
    Some(match event {
        ClientEvent::Connecting { target, .. } if serve => {
            format!("waiting for a connection on {target}")
        }
        ClientEvent::Connecting { attempt: 1, target } => format!("connecting to {target}"),
        ClientEvent::Connecting { .. } => return None,
        ClientEvent::Connected { peer, .. } if serve => format!("connection from {peer}"),
        ClientEvent::Connected { peer, .. } => format!("connected to {peer}"),
        ClientEvent::ConnectFailed { error } if serve => format!("cannot accept: {error}"),
        ClientEvent::ConnectFailed { error } => format!("cannot connect: {}", error),
        ClientEvent::PeerEnded if serve => "client ended its side of the connection".to_owned(),
        ClientEvent::PeerEnded => "server ended its side of the connection".to_owned(),
        ClientEvent::Closed { reason, written } => {
            let lost = match reason {
                CloseReason::Fin => return Some("connection closed".to_owned()),
                CloseReason::Reset => "connection reset by peer (ECONNRESET)".to_owned(),
                CloseReason::Aborted => "connection aborted".to_owned(),
                CloseReason::Error(error) => format!("connection lost: {error}"),
            };
            if *written == 0 {
                lost
            } else {
                format!(
                    "{lost}; {written} {} had been written on it, and the last may not have arrived",
                    plural(*written, "byte", "bytes")
                )
            }
        }
        ClientEvent::RetryScheduled { retry, max, delay } => format!(
            "retry {retry}/{max} in {}",
            humantime::format_duration(*delay)
        ),
        ClientEvent::GaveUp {
            retries,
            last_error,
            unsent,
        } => {
            let mut line = format!(
                "gave up after {retries} {}",
                plural(u64::from(*retries), "retry", "retries")
            );
            if let Some(error) = last_error {
                line.push_str(&format!(": {}", error.code));
            }
            if *unsent > 0 {
                line.push_str(&format!(
                    "; {unsent} {} never sent",
                    plural(*unsent, "byte", "bytes")
                ));
            }
            line
        }
        ClientEvent::Unsent { bytes, reason } => format!(
            "{bytes} {} of input never sent: {}",
            plural(*bytes, "byte", "bytes"),
            reason.describe()
        ),
        ClientEvent::Quit => "quitting".to_owned(),
        ClientEvent::Abort { .. } => "aborting the connection (RST)".to_owned(),
        ClientEvent::ReadingPaused => "reading paused".to_owned(),
        ClientEvent::ReadingResumed => "reading resumed".to_owned(),
        ClientEvent::NoAnswer { addr } => format!("no answer from {addr}"),
        ClientEvent::Redialing { addr } => format!("{addr} answers again: dialing it again"),
        ClientEvent::Queued { data } => format!(
            "holding {} {} until {}",
            data.len(),
            plural(data.len() as u64, "byte", "bytes"),
            if serve {
                "a client connects"
            } else {
                "connected"
            }
        ),
        ClientEvent::Sent { .. } | ClientEvent::Received { .. } | ClientEvent::Ended => {
            return None;
        }
    })
}

/// Returns true for an event that says input was lost: said even with `--quiet`.
pub fn tells_of_loss(event: &ClientEvent) -> bool {
    match event {
        ClientEvent::GaveUp { unsent, .. } => *unsent > 0,
        ClientEvent::Unsent { .. } => true,
        _ => false,
    }
}

/// Prints events and tcprun's own notes as status lines, in the format asked for.
#[derive(Debug, Clone)]
pub struct Printer {
    /// Who relays.
    pub role: Role,
    /// `--events`.
    pub format: EventFormat,
    /// `--quiet`: only losses are said.
    pub quiet: bool,
    /// The quit word in force, to name it when it swallows a line.
    pub quit_word: Option<String>,
    /// Add a hint to `ENOTFOUND`: it is not retried.
    pub unresolved_hint: bool,
    /// Where lines go.
    pub sink: StatusSink,
}

impl Printer {
    /// Prints the status line of `event`, if it has one.
    pub async fn event(&self, event: &ClientEvent) {
        if self.quiet && !tells_of_loss(event) {
            return;
        }
        let line = match (self.format, event) {
            (EventFormat::Json, _) if !self.quiet => Some(json(event).to_string()),
            (_, ClientEvent::Quit) if self.quit_word.is_some() => Some(format!(
                "quit word `{}` read on stdin: that line is not sent; ending the connection",
                self.quit_word.as_deref().unwrap_or_default()
            )),
            (_, ClientEvent::ConnectFailed { error })
                if error.code == "ENOTFOUND" && self.unresolved_hint =>
            {
                Some(format!(
                    "cannot connect: {error}\n  = hint: check the host name for a typo; --retry-unresolved retries a name that does not resolve"
                ))
            }
            _ => human(event, self.role),
        };
        if let Some(line) = line {
            self.sink.line(self.prefixed(line)).await;
        }
    }

    /// Prints one of tcprun's own notes: `human` for people, `json` for programs.
    pub async fn note(&self, human: String, json: Value) {
        if let Some(line) = self.render_note(human, json) {
            self.sink.line(line).await;
        }
    }

    /// Prints a note that says input was lost, from a plain thread: also
    /// under `-q`, as the lines about bytes never sent.
    pub fn blocking_loss(&self, human: String, json: Value) {
        if let Some(line) = self.render_loss(human, json) {
            self.sink.blocking_line(line);
        }
    }

    /// Prints a note that says input was lost: also under `-q`.
    pub async fn loss(&self, human: String, json: Value) {
        if let Some(line) = self.render_loss(human, json) {
            self.sink.line(line).await;
        }
    }

    fn render_loss(&self, human: String, json: Value) -> Option<String> {
        match self.format {
            EventFormat::Json if !self.quiet => Some(json.to_string()),
            _ => Some(self.prefixed(human)),
        }
    }

    fn render_note(&self, human: String, json: Value) -> Option<String> {
        match (self.quiet, self.format) {
            (true, _) => None,
            (false, EventFormat::Json) => Some(json.to_string()),
            (false, EventFormat::Human) => Some(self.prefixed(human)),
        }
    }

    fn prefixed(&self, line: String) -> String {
        match self.format {
            EventFormat::Json if !self.quiet => line,
            _ => format!("{}: {line}", self.role.prefix()),
        }
    }
}

fn plural(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

/// Returns `event` as one JSON object (byte payloads by length).
pub fn json(event: &ClientEvent) -> Value {
    match event {
        ClientEvent::Connecting { attempt, target } => {
            json!({"event": "connecting", "attempt": attempt, "target": target})
        }
        ClientEvent::Connected { local, peer } => {
            json!({"event": "connected", "local": local.to_string(), "peer": peer.to_string()})
        }
        ClientEvent::ConnectFailed { error } => {
            json!({"event": "error", "code": error.code, "message": error.message})
        }
        ClientEvent::Sent { data, .. } => json!({"event": "sent", "bytes": data.len()}),
        ClientEvent::Queued { data } => json!({"event": "queued", "bytes": data.len()}),
        ClientEvent::Received { data } => json!({"event": "received", "bytes": data.len()}),
        ClientEvent::PeerEnded => json!({"event": "peer_end"}),
        ClientEvent::Ended => json!({"event": "end"}),
        ClientEvent::Closed { reason, written } => {
            let mut value = json!({"event": "closed", "written": written});
            let (why, error) = match reason {
                CloseReason::Fin => ("fin", None),
                CloseReason::Reset => ("reset", None),
                CloseReason::Aborted => ("aborted", None),
                CloseReason::Error(error) => ("error", Some(error)),
            };
            value["reason"] = why.into();
            if let Some(error) = error {
                value["code"] = error.code.clone().into();
                value["message"] = error.message.clone().into();
            }
            value
        }
        ClientEvent::RetryScheduled { retry, max, delay } => json!({
            "event": "retry", "retry": retry, "max": max, "delay_ms": delay.as_millis() as u64
        }),
        ClientEvent::GaveUp {
            retries,
            last_error,
            unsent,
        } => json!({
            "event": "gave_up",
            "retries": retries,
            "code": last_error.as_ref().map(|e| e.code.clone()),
            "unsent": unsent,
        }),
        ClientEvent::Unsent { bytes, reason } => {
            json!({"event": "unsent", "bytes": bytes, "reason": reason.name()})
        }
        ClientEvent::Quit => json!({"event": "quit"}),
        ClientEvent::Abort { reconnect } => json!({"event": "abort", "reconnect": reconnect}),
        ClientEvent::ReadingPaused => json!({"event": "reading_paused"}),
        ClientEvent::ReadingResumed => json!({"event": "reading_resumed"}),
        ClientEvent::NoAnswer { addr } => json!({"event": "no_answer", "addr": addr.to_string()}),
        ClientEvent::Redialing { addr } => json!({"event": "redialing", "addr": addr.to_string()}),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::event::NetError;

    #[test]
    fn status_lines_read_as_the_chapter_asks() {
        let retry = ClientEvent::RetryScheduled {
            retry: 1,
            max: 10,
            delay: Duration::from_secs(3),
        };
        assert_eq!(human(&retry, Role::Connect).unwrap(), "retry 1/10 in 3s");
        let gave_up = ClientEvent::GaveUp {
            retries: 10,
            last_error: Some(NetError {
                code: "ECONNREFUSED".into(),
                message: "connection refused".into(),
            }),
            unsent: 0,
        };
        assert_eq!(
            human(&gave_up, Role::Connect).unwrap(),
            "gave up after 10 retries: ECONNREFUSED"
        );
        assert_eq!(
            human(&ClientEvent::Received { data: "x".into() }, Role::Connect),
            None
        );
        let reset = ClientEvent::Closed {
            reason: CloseReason::Reset,
            written: 12,
        };
        assert_eq!(
            human(&reset, Role::Serve).unwrap(),
            "connection reset by peer (ECONNRESET); 12 bytes had been written on it, and the last may not have arrived"
        );
    }

    #[test]
    fn json_lines_name_the_event() {
        let value = json(&ClientEvent::RetryScheduled {
            retry: 2,
            max: 3,
            delay: Duration::from_millis(50),
        });
        assert_eq!(
            value,
            json!({"event": "retry", "retry": 2, "max": 3, "delay_ms": 50})
        );
    }
}
