//! Lists the keys of a proxy (`proxy:` or an entry of `proxies:`).

use super::{Applies, DIAL_TIMEOUT_TEXT, Default, Key, SEED, UPSTREAM, Value};

const fn proxy(name: &'static str, doc: &'static str, value: Value, default: Default) -> Key {
    Key {
        name,
        doc,
        program_doc: None,
        value,
        default: Some(default),
        applies: Applies::Proxy,
    }
}

/// Lists the keys of a proxy (`proxy:` or an entry of `proxies:`).
pub(crate) const PROXY: &[Key] = &[
    proxy(
        "upstream",
        "Where the proxy forwards to: `server`, the scenario's server, or `host:port` (variables allowed, resolved before the run).",
        Value::Upstream,
        Default::Text(UPSTREAM),
    ),
    proxy(
        "seed",
        "Seeds every random choice of the proxy's faults (`jitter`, `probability`): the same seed makes the same choices on every run.",
        Value::Seed,
        Default::Number(SEED),
    ),
    Key {
        name: "framing",
        doc: "How the transcript cuts what the proxy passes on into frames, each direction on its own: `line`, `crlf`, `{delimiter: ...}`, `{start: ..., end: ...}`, `{fixed: N}` or `{length: ...}`, as a client's `framing` (see [frames](#frames)); the bytes are forwarded as they come either way.",
        program_doc: None,
        value: Value::Def("framing"),
        default: None,
        applies: Applies::Proxy,
    },
    proxy(
        "dial_timeout",
        "Bound on each connect to the upstream (`ETIMEDOUT`); the client, already connected to the proxy, is then reset.",
        Value::Def("duration"),
        Default::Text(DIAL_TIMEOUT_TEXT),
    ),
];
