//! Defines the frame steps: `send_frame`, `expect_frame`, `server_send_frame`, `server_expect_frame` (one registry entry each).

use crate::framing::FramingSpec;
use crate::scenario::keys::Value;
use crate::scenario::reader::Reader;
use crate::scenario::registry::{
    Args, BASE64, CLIENT, CONNECTION, Clients, DATA, ENCODING, HEX, Opt, RANDOM, REPEAT, SEED,
    Servers, StepDef, TEXT, TIMEOUT, TIMES, Table, opt,
};
use crate::scenario::types::Step;
use crate::scenario::yaml::Node;

const FRAME_PATTERN: &str = "a regex, or a map with `regex:`, `text:` or `hex:`";

pub(crate) const SEND_FRAME: StepDef = StepDef {
    name: "send_frame",
    doc: "Send the data as one frame of the client's `framing`: with its length field, delimiter, or start and end bytes (built-in clients with `framing:` only).",
    meaning: Some(
        "send the data as one frame of the client's `framing`, its length field or delimiter added (see [frames](#frames))",
    ),
    examples: &["- send_frame: PING"],
    table: Some(Table::Client),
    shorthand: Some(TEXT),
    options: &[
        TEXT, ENCODING, HEX, BASE64, REPEAT, TIMES, RANDOM, SEED, CLIENT,
    ],
    required: true,
    expected: DATA,
    clients: Clients::BuiltIn,
    servers: Servers::Any,
    read: |r, a| {
        let framing = r.client_framing(a, a.client.as_deref());
        let data = r.data(&a.fields, a.item, Some(a.name))?;
        r.check_frame(&framing?, &data, a.item);
        Some(Step::SendFrame {
            client: a.client.clone(),
            data,
        })
    },
};

pub(crate) const EXPECT_FRAME: StepDef = StepDef {
    name: "expect_frame",
    doc: "Take the next frame the client received, not consumed yet, and fail unless it matches: a regex over its payload, `{text: ...}` (exact), or `{hex: \"01 ?? 00\"}` (bytes, `??` any byte); `skip: true` takes the next frame that matches instead (built-in clients with `framing:` only).",
    meaning: Some(
        "take the next frame received and fail unless it matches: a regex, `{text: ...}` or `{hex: \"01 ?? 00\"}`; `skip: true` searches on",
    ),
    examples: &[
        "- expect_frame: \"^PONG$\"",
        "- expect_frame: {hex: \"00 05 ?? ??\"}",
    ],
    table: Some(Table::Client),
    shorthand: Some(FRAME_REGEX),
    options: &[
        FRAME_REGEX,
        FRAME_TEXT,
        FRAME_HEX,
        PREFIX,
        SKIP,
        TIMEOUT,
        CLIENT,
    ],
    required: true,
    expected: FRAME_PATTERN,
    clients: Clients::BuiltIn,
    servers: Servers::Any,
    read: |r, a| {
        let framing = r.client_framing(a, a.client.as_deref());
        let pattern = r.frame_pattern(&a.fields, a.item, a.name);
        let skip = r.skip(&a.fields);
        framing?;
        Some(Step::ExpectFrame {
            client: a.client.clone(),
            pattern: pattern?,
            skip: skip?,
            timeout: a.timeout,
        })
    },
};

pub(crate) const SERVER_SEND_FRAME: StepDef = StepDef {
    name: "server_send_frame",
    doc: "Write the data as one frame of the server's `framing` to every connection, or one (fake servers with `framing:` or `fake: rules` only).",
    meaning: Some(
        "write the data as one frame of the server's `framing`, to every connection or one",
    ),
    examples: &["- server_send_frame: {text: hello, connection: bob}"],
    table: Some(Table::Server),
    shorthand: Some(TEXT),
    options: &[
        TEXT, ENCODING, HEX, BASE64, REPEAT, TIMES, RANDOM, SEED, CONNECTION,
    ],
    required: true,
    expected: DATA,
    clients: Clients::Any,
    servers: Servers::Fake,
    read: |r, a| {
        let framing = r.server_framing(a);
        let data = r.data(&a.fields, a.item, Some(a.name))?;
        r.check_frame(&framing?, &data, a.item);
        Some(Step::ServerSendFrame {
            connection: a.connection.clone()?,
            data,
        })
    },
};

pub(crate) const SERVER_EXPECT_FRAME: StepDef = StepDef {
    name: "server_expect_frame",
    doc: "Take the next frame the server received (on every connection together, or one), not consumed yet, and fail unless it matches; `skip: true` takes the next frame that matches instead (fake servers with `framing:` or `fake: rules` only).",
    meaning: Some(
        "take the next frame the server received (all connections together, or one) and fail unless it matches",
    ),
    examples: &["- server_expect_frame: \"^PING$\""],
    table: Some(Table::Server),
    shorthand: Some(SERVER_FRAME_REGEX),
    options: &[
        SERVER_FRAME_REGEX,
        FRAME_TEXT,
        FRAME_HEX,
        PREFIX,
        SKIP,
        TIMEOUT,
        CONNECTION,
    ],
    required: true,
    expected: FRAME_PATTERN,
    clients: Clients::Any,
    servers: Servers::Fake,
    read: |r, a| {
        let framing = r.server_framing(a);
        let pattern = r.frame_pattern(&a.fields, a.item, a.name);
        let skip = r.skip(&a.fields);
        framing?;
        Some(Step::ServerExpectFrame {
            connection: a.connection.clone()?,
            pattern: pattern?,
            skip: skip?,
            timeout: a.timeout,
        })
    },
};

const FRAME_REGEX: Opt = opt(
    "regex",
    Value::Def("pattern"),
    "A regex searched for in the payload of the client's next frame (multi-line, as `expect`; anchor it with `^...$`).",
);
const SERVER_FRAME_REGEX: Opt = opt(
    "regex",
    Value::Def("pattern"),
    "A regex searched for in the payload of the server's next frame (multi-line, as `expect`; anchor it with `^...$`).",
);
const FRAME_TEXT: Opt = opt(
    "text",
    Value::Def("text"),
    "The payload is exactly this text (UTF-8); with `prefix: true`, starts with it.",
);
const FRAME_HEX: Opt = opt(
    "hex",
    Value::Def("hexPattern"),
    "The payload is these bytes, two hex digits each or `??` for any byte (`01 ?? 00 05`); with `prefix: true`, starts with them.",
);
const PREFIX: Opt = opt(
    "prefix",
    Value::Bool,
    "`text` or `hex` matches the start of the payload (default false: all of it).",
);
const SKIP: Opt = opt(
    "skip",
    Value::Bool,
    "Search forward, consuming the frames that do not match (default false: the next frame must match).",
);

/// Returns true for the steps whose argument is a frame pattern.
pub(crate) fn takes_frame_pattern(def: &StepDef) -> bool {
    def.name == EXPECT_FRAME.name || def.name == SERVER_EXPECT_FRAME.name
}

impl Reader<'_> {
    /// Returns the framing of the client a frame step addresses; an error
    /// when it has none (none: the client is unknown, reported elsewhere).
    fn client_framing(&mut self, a: &Args<'_>, client: Option<&str>) -> Option<FramingSpec> {
        let known = self.clients.clone().unwrap_or_default();
        let name = match (client, known.as_slice()) {
            (Some(name), _) => name.to_owned(),
            (None, [only]) => only.clone(),
            _ => return None,
        };
        if self.command_clients.contains(&name) {
            // `Clients::BuiltIn` says so.
            return None;
        }
        match self.framed_clients.iter().find(|(n, _)| *n == name) {
            // An invalid framing was reported where it is written.
            Some((_, spec)) => spec.clone(),
            None => {
                let message = format!("`{}` needs `framing:` on client `{name}`", a.name);
                let hint = "give the client a framing: `framing: line`, `crlf`, `{delimiter: \"\\0\"}`, `{start: \"\\x0b\", end: \"\\x1c\\r\"}`, `{fixed: 16}` or `{length: u32be}`";
                self.error(a.item, message, Some(hint.into()));
                None
            }
        }
    }

    /// Returns the fake server's framing; an error when it has none.
    fn server_framing(&mut self, a: &Args<'_>) -> Option<FramingSpec> {
        match &self.framed_server {
            Some(Some(spec)) => Some(spec.clone()),
            Some(None) => {
                let message = format!("`{}` needs `framing:` on the server", a.name);
                let hint = "give the fake server a framing, e.g. `framing: crlf` or `framing: {length: u16be}` (`fake: rules` frames by `line` when it says nothing)";
                self.error(a.item, message, Some(hint.into()));
                None
            }
            // No fake server: the step's kind check says so.
            None => None,
        }
    }

    /// Checks, where it can be known now, that `data` can be sent as one frame.
    fn check_frame(&mut self, framing: &FramingSpec, data: &crate::scenario::Data, at: &Node) {
        let bytes = match data {
            crate::scenario::Data::Text { text, .. } if crate::vars::has_placeholders(text) => {
                return;
            }
            data => match data.literal() {
                Ok(bytes) => bytes,
                Err(_) => return,
            },
        };
        if let Err(error) = framing.encode(&bytes) {
            let message = format!("this data cannot be sent as one `{framing}` frame: {error}");
            self.error(at, message, Some(error.hint()));
        }
    }
}
