//! Defines the steps of a misbehaving built-in client: an abortive close, a slow reader.

use super::super::keys::{Default, Value};
use super::super::registry::{CLIENT, Clients, Opt, Servers, StepDef, Table, opt};
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
