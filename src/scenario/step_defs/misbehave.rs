//! Defines the steps of a misbehaving built-in client: an abortive close, a
//! slow reader, a client that joins later.

use super::super::keys::{Default, Value};
use super::super::reader::Reader;
use super::super::registry::{Args, CLIENT, Clients, Opt, Servers, StepDef, Table, opt};
use super::super::types::Step;

pub(crate) const ABORT: StepDef = StepDef {
    name: "abort",
    doc: "Close the connection with RST (an abortive close: SO_LINGER 0) instead of FIN; the client then stops, or reconnects by its policy with `reconnect: true` (built-in clients only).",
    meaning: Some(
        "close the connection with RST (abortive close: SO_LINGER 0); no reconnect afterwards, unless `{reconnect: true}` (then by the policy)",
    ),
    examples: &["- abort", "- abort: {reconnect: true}"],
    table: Some(Table::Client),
    shorthand: None,
    options: &[ABORT_RECONNECT, CLIENT],
    required: false,
    expected: "nothing, or a map with `reconnect:` and `client:`",
    clients: Clients::BuiltIn,
    servers: Servers::Any,
    read: |r, a| {
        let reconnect = match a.fields.get("reconnect") {
            Some(node) => r.boolean(node, "`reconnect`")?,
            None => false,
        };
        Some(Step::Abort {
            client: a.client.clone(),
            reconnect,
        })
    },
};
const ABORT_RECONNECT: Opt = Opt {
    default: Some(Default::Bool(false)),
    ..opt(
        "reconnect",
        Value::Bool,
        "true: reconnect by the client's policy after the abort; by default the client stops.",
    )
};

pub(crate) const PAUSE_READING: StepDef = StepDef {
    name: "pause_reading",
    doc: "Stop reading the socket, a slow reader: what the peer sends waits in the buffers, and the peer's writes block once they are full (`receive_buffer` makes them small); the client sees no bytes, FIN or RST until `resume_reading` (built-in clients only).",
    meaning: Some(
        "a slow reader: the client stops reading its socket, so the peer's writes block once the buffers are full; it sees no bytes, FIN or RST until `resume_reading`",
    ),
    examples: &["- pause_reading"],
    table: Some(Table::Client),
    shorthand: None,
    options: &[CLIENT],
    required: false,
    expected: "nothing, or a map with `client:`",
    clients: Clients::BuiltIn,
    servers: Servers::Any,
    read: |_, a| {
        Some(Step::PauseReading {
            client: a.client.clone(),
        })
    },
};

pub(crate) const RESUME_READING: StepDef = StepDef {
    name: "resume_reading",
    doc: "Read the socket again after `pause_reading`: what waited arrives, and the peer's blocked writes go on (built-in clients only).",
    meaning: Some("read again: what waited arrives, and the peer's blocked writes go on"),
    examples: &["- resume_reading"],
    read: |_, a| {
        Some(Step::ResumeReading {
            client: a.client.clone(),
        })
    },
    ..PAUSE_READING
};

pub(crate) const CONNECT: StepDef = StepDef {
    name: "connect",
    doc: "Start a client written with `start: false`: it connects now, a client that joins later, and reconnects by its policy from then on (built-in clients only).",
    meaning: Some(
        "start a client written with `start: false` (a client that joins later): it connects now, then reconnects by its policy",
    ),
    examples: &["- connect: bob"],
    table: Some(Table::Client),
    shorthand: Some(CLIENT),
    options: &[CLIENT],
    required: false,
    expected: "a client's name, or a map with `client:`",
    clients: Clients::BuiltIn,
    servers: Servers::Any,
    read: |r, a| {
        let client = later_client(r, a)?;
        Some(Step::Connect {
            client: Some(client),
        })
    },
};

/// Returns the client `connect` starts: one written with `start: false`,
/// and not started by an earlier `connect`.
fn later_client(r: &mut Reader<'_>, a: &Args<'_>) -> Option<String> {
    let name = match (&a.client, r.clients.as_deref()) {
        (Some(name), _) => name.clone(),
        (None, Some([only])) => only.clone(),
        // Which client is missing or unknown: said already.
        (None, _) => return None,
    };
    let at = a.fields.get("client").unwrap_or(a.item);
    match r.later_clients.iter_mut().find(|(later, _)| *later == name) {
        Some((_, started)) if !*started => {
            *started = true;
            Some(name)
        }
        Some(_) => {
            let message = format!("client `{name}` is started by an earlier `connect`");
            let hint = "a client starts once; it reconnects by its policy after that".to_owned();
            r.error(at, message, Some(hint));
            None
        }
        None => {
            let message = format!(
                "client `{name}` starts with the scenario: `connect` starts a client written with `start: false`"
            );
            let hint = format!("add `start: false` to client `{name}`, or remove this step");
            r.error(at, message, Some(hint));
            None
        }
    }
}
