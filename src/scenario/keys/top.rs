//! Lists the top-level keys of a scenario file and those of its `defaults:` map.

use super::{Applies, Default, Key, STEP_TIMEOUT_TEXT, TIMEOUT_TEXT, Value, with_default};

const fn top(name: &'static str, doc: &'static str, value: Value) -> Key {
    Key {
        name,
        doc,
        program_doc: None,
        value,
        default: None,
        applies: Applies::Top,
    }
}

/// Lists the keys of the `defaults:` map.
pub(crate) const DEFAULTS_KEYS: &[Key] = &[with_default(
    top(
        "timeout",
        "Timeout of every wait that names none.",
        Value::Def("duration"),
    ),
    Default::Text(STEP_TIMEOUT_TEXT),
)];

/// Lists the top-level keys.
pub(crate) const TOP: &[Key] = &[
    top(
        "name",
        "Shown in reports (default: the file name).",
        Value::Def("word"),
    ),
    with_default(
        top(
            "timeout",
            "Bound on the whole scenario, in real time.",
            Value::Def("duration"),
        ),
        Default::Text(TIMEOUT_TEXT),
    ),
    top("defaults", "Defaults for the steps.", Value::Defaults),
    top(
        "env",
        "Environment variables the scenario reads as `${env.NAME}`, with options: `{NAME: {secret: true}}` writes the value as `***` in transcripts, failure messages and reports.",
        Value::EnvUse,
    ),
    with_default(
        top(
            "snapshot",
            "Compare the transcript with the golden file beside the scenario (`NAME.transcript`); `--update` writes it.",
            Value::Bool,
        ),
        Default::Bool(false),
    ),
    top(
        "server",
        "The server (required): a built-in fake server (`fake:`), a server program tcprun runs (`command:` or `shell:`), or a server already running (`address:`).",
        Value::Server,
    ),
    top(
        "client",
        "The one client, named `client`: the built-in reconnecting client, or a program under test (`command:` or `shell:`). Give `client` or `clients`, not both; with neither, the scenario has one built-in client named `client` with default options, started even when no step uses it.",
        Value::Def("client"),
    ),
    top(
        "clients",
        "Several clients: a map of client names to their options. Every client step then names its client, and server steps may address a client's connection by name.",
        Value::Clients,
    ),
    top(
        "proxy",
        "One fault proxy, named `proxy`, between clients and the server: it listens on 127.0.0.1 (`${proxy.port}`), forwards both ways to its upstream, and takes the faults of `fault` steps. Built-in clients reach it with `via: proxy`.",
        Value::Def("proxy"),
    ),
    top(
        "proxies",
        "Several fault proxies: a map of proxy names to their options (`${NAME.port}` is each one's port). Every proxy step then names its proxy.",
        Value::Proxies,
    ),
    top(
        "steps",
        "The steps, in order (required). A step is a bare name (`- kill_server`) or a one-key map whose value is the argument: a short form (`- wait_reconnect: 2s`) or a map of options (`- wait_reconnect: {timeout: 2s, client: bob}`). Every wait ends the moment its condition holds; its timeout only bounds failure.",
        Value::Steps,
    ),
];
