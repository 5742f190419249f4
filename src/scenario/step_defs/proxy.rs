//! Defines the proxy steps: adding and clearing faults, waiting for one to fire, taking a proxy down and up, and waiting on what passed through it.

use super::PATTERN;
use crate::event::{Direction, DownMode};
use crate::scenario::keys::Value;
use crate::scenario::registry::{
    Clients, Opt, PROXY, Servers, StepDef, TIMEOUT, Table, choice, opt,
};
use crate::scenario::types::Step;

pub(crate) const FAULT: StepDef = StepDef {
    name: "fault",
    doc: "Add a fault to a proxy: exactly one kind, and modifiers, as `tcprun proxy --fault` takes them. It applies to the proxy's open connections from their next read, and to every later one.",
    meaning: Some(
        "add a fault: one kind and its modifiers, as `tcprun proxy --fault` takes them (see [faults](#faults))",
    ),
    examples: &["- fault: {latency: 200ms, direction: to_client, name: slow}"],
    table: Some(Table::Proxy),
    shorthand: None,
    options: &FAULT_OPTIONS,
    required: true,
    expected: "a map with one fault kind (`latency`, `bandwidth`, `slice`, `stall`, `drop`, `cut` or `slow_close`) and modifiers",
    clients: Clients::Any,
    servers: Servers::Any,
    read: |r, a| {
        let proxy = r.proxy_ref(&a.fields, a.item, a.name);
        let spec = r.fault(&a.fields, a.arg.unwrap_or(a.item));
        Some(Step::Fault {
            proxy: proxy?,
            spec: spec?,
        })
    },
};
/// Lists a fault's keys as `fault` takes them: the kinds, their options, the modifiers, and `proxy`.
pub(crate) const FAULT_OPTIONS: [Opt; 16] = [
    opt(
        "latency",
        Value::Def("duration"),
        "Kind: hold each read this long (plus or minus `jitter`) before passing it on; reads in a row are held side by side; a FIN is held too.",
    ),
    opt(
        "bandwidth",
        Value::Def("rate"),
        "Kind: pass bytes on at most this fast (`64KiB/s`), in pieces of a tenth of a second's worth.",
    ),
    opt(
        "slice",
        Value::Def("pieceSize"),
        "Kind: pass bytes on in pieces of at most this many bytes, each its own write, `gap` apart.",
    ),
    opt(
        "stall",
        Value::Def("true"),
        "Kind (`true`): stop reading and passing on in that direction: no FIN, no RST; clearing the fault lets everything through.",
    ),
    opt(
        "drop",
        Value::Def("true"),
        "Kind (`true`): read and discard (a FIN still passes).",
    ),
    opt(
        "cut",
        Value::Choice(&["reset", "fin", "half_close"]),
        "Kind: `reset` (RST to both sides), `fin` (FIN both ways) or `half_close` (FIN in the fault's direction only); what comes after the cut point is discarded.",
    ),
    opt(
        "slow_close",
        Value::Def("duration"),
        "Kind: hold a FIN this long before passing it on.",
    ),
    opt(
        "jitter",
        Value::Def("duration"),
        "With `latency`: the most each delay varies either way, drawn from the proxy's `seed`.",
    ),
    opt(
        "gap",
        Value::Def("duration"),
        "With `slice`: the pause between two pieces of one read.",
    ),
    choice(
        "direction",
        &["to_server", "to_client", "both"],
        "both",
        "Which bytes: `to_server` (what clients send), `to_client` (what the server sends), or `both`, each direction on its own bytes.",
    ),
    opt(
        "after_bytes",
        Value::Def("faultSize"),
        "Take effect after exactly this many more bytes in that direction; a read that spans the point is split there.",
    ),
    opt(
        "on",
        Value::Def("word"),
        "Take effect right after the first final match of this regex (raw bytes, multi-line) in that direction's bytes.",
    ),
    opt(
        "probability",
        Value::Def("probability"),
        "The chance (0 to 1, or `25%`) that the fault applies to a connection: one draw per connection from the proxy's `seed`.",
    ),
    opt(
        "connection",
        Value::Def("count"),
        "Only the proxy's N-th accepted connection (from 1).",
    ),
    opt(
        "name",
        Value::Def("faultName"),
        "The fault's name, for `expect_fault`, `clear_fault` and the transcript (default: its kind).",
    ),
    PROXY,
];

pub(crate) const EXPECT_FAULT: StepDef = StepDef {
    name: "expect_fault",
    doc: "Wait until a proxy's fault (by name) has fired: on any connection, or on one.",
    meaning: Some(
        "until the fault named `slow` has fired (on any connection, or on `connection:`)",
    ),
    examples: &["- expect_fault: slow"],
    table: Some(Table::Proxy),
    shorthand: Some(FAULT_NAME),
    options: &[FAULT_NAME, PROXY_CONNECTION, TIMEOUT, PROXY],
    required: true,
    expected: "a fault's name, or a map with `name:`",
    clients: Clients::Any,
    servers: Servers::Any,
    read: |r, a| {
        let proxy = r.proxy_ref(&a.fields, a.item, a.name);
        let Some(node) = a.fields.get("name") else {
            let hint = "for example `- expect_fault: {name: slow, connection: 2}`";
            r.error(
                a.item,
                "`expect_fault` needs a fault's name",
                Some(hint.into()),
            );
            return None;
        };
        let name = r.fault_name(node);
        Some(Step::ExpectFault {
            proxy: proxy?,
            name: name?,
            connection: a.connection.clone()?,
            timeout: a.timeout,
        })
    },
};
const FAULT_NAME: Opt = opt(
    "name",
    Value::Def("faultName"),
    "The fault's name: its `name:`, or else its kind (`latency`).",
);
/// `connection:` of a proxy step.
const PROXY_CONNECTION: Opt = opt(
    "connection",
    Value::Def("connection"),
    "The proxy's connection: N, the N-th it accepted (from 1), or a client's name, that client's current connection through it. Default: any connection.",
);

pub(crate) const CLEAR_FAULT: StepDef = StepDef {
    name: "clear_fault",
    doc: "Clear a proxy's faults named `name`, or all of them; what they hold passes on (a stall lets everything through).",
    meaning: Some(
        "clear the faults named `slow`, or all (`- clear_fault`); what they hold passes on",
    ),
    examples: &["- clear_fault: slow"],
    table: Some(Table::Proxy),
    shorthand: Some(FAULT_NAME),
    options: &[FAULT_NAME, PROXY],
    required: false,
    expected: "nothing, a fault's name, or a map with `name:`",
    clients: Clients::Any,
    servers: Servers::Any,
    read: |r, a| {
        let proxy = r.proxy_ref(&a.fields, a.item, a.name);
        let name = match a.fields.get("name") {
            Some(node) => Some(r.fault_name(node)?),
            None => None,
        };
        Some(Step::ClearFault {
            proxy: proxy?,
            name,
        })
    },
};

pub(crate) const PROXY_DOWN: StepDef = StepDef {
    name: "proxy_down",
    doc: "Take a proxy's port down: `refuse` (connects are refused, open connections stay), `blackhole` (connects get no answer and time out at the client's `connect_timeout`), or `reset` (every open connection is reset, then connects are refused).",
    meaning: Some(
        "`refuse`: connects get `ECONNREFUSED`; `blackhole`: they time out (`ETIMEDOUT`); `reset`: open connections are reset too",
    ),
    examples: &["- proxy_down: refuse"],
    table: Some(Table::Proxy),
    shorthand: Some(DOWN_MODE),
    options: &[DOWN_MODE, PROXY],
    required: true,
    expected: "`refuse`, `blackhole` or `reset`, or a map with `mode:`",
    clients: Clients::Any,
    servers: Servers::Any,
    read: |r, a| {
        let proxy = r.proxy_ref(&a.fields, a.item, a.name);
        let Some(node) = a.fields.get("mode") else {
            let hint = "for example `- proxy_down: refuse`";
            r.error(a.item, "`proxy_down` needs a mode", Some(hint.into()));
            return None;
        };
        let modes = DownMode::ALL.map(|mode| (mode.name(), mode));
        let mode = r.choice(node, "mode", &modes);
        Some(Step::ProxyDown {
            proxy: proxy?,
            mode: mode?,
        })
    },
};
const DOWN_MODE: Opt = Opt {
    default: None,
    ..choice(
        "mode",
        &["refuse", "blackhole", "reset"],
        "refuse",
        "How the port is down: `refuse`, `blackhole` or `reset`.",
    )
};

pub(crate) const PROXY_UP: StepDef = StepDef {
    name: "proxy_up",
    doc: "A proxy listens again on the same port.",
    meaning: Some("the proxy listens again on the same port"),
    examples: &["- proxy_up"],
    table: Some(Table::Proxy),
    shorthand: None,
    options: &[PROXY],
    required: false,
    expected: "nothing, or a map with `proxy:`",
    clients: Clients::Any,
    servers: Servers::Any,
    read: |r, a| {
        Some(Step::ProxyUp {
            proxy: r.proxy_ref(&a.fields, a.item, a.name)?,
        })
    },
};

pub(crate) const PROXY_EXPECT: StepDef = StepDef {
    name: "proxy_expect",
    doc: "Wait until what passed through a proxy in `direction` (all its connections together, or one) matches, and consume it: with programs on either side, how steps synchronise on what they said.",
    meaning: Some(
        "wait until what passed through the proxy `to_server` (default) or `to_client` matches (all connections together, or one)",
    ),
    examples: &["- proxy_expect: {regex: \"^SET \", direction: to_server}"],
    table: Some(Table::Proxy),
    shorthand: Some(PROXY_REGEX),
    options: &[PROXY_REGEX, DIRECTION, PROXY_CONNECTION, TIMEOUT, PROXY],
    required: true,
    expected: PATTERN,
    clients: Clients::Any,
    servers: Servers::Any,
    read: |r, a| {
        let proxy = r.proxy_ref(&a.fields, a.item, a.name);
        let directions = [
            (Direction::ToServer.name(), Direction::ToServer),
            (Direction::ToClient.name(), Direction::ToClient),
        ];
        let direction = match a.fields.get("direction") {
            Some(node) => r.choice(node, "direction", &directions),
            None => Some(Direction::ToServer),
        };
        let pattern = r.pattern(&a.fields, a.item, a.name);
        Some(Step::ProxyExpect {
            proxy: proxy?,
            pattern: pattern?,
            direction: direction?,
            connection: a.connection.clone()?,
            timeout: a.timeout,
        })
    },
};
const PROXY_REGEX: Opt = opt(
    "regex",
    Value::Def("pattern"),
    "A regex over what passed through the proxy in `direction` and has not been consumed yet.",
);
const DIRECTION: Opt = choice(
    "direction",
    &["to_server", "to_client"],
    "to_server",
    "Which way: `to_server` (what clients sent) or `to_client` (what the server sent).",
);
