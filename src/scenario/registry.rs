//! Describes every step kind once: its name, argument, docs, the clients and servers it suits, and its reader.
//!
//! The entries are in [`step_defs`](super::step_defs), in the order of
//! [`STEPS`]. Everything else that knows about step kinds is derived from
//! them: the loader's name lookup, did-you-mean hints and kind checks, the
//! JSON Schema (`crate::schema`), the README's step tables (a test keeps them
//! in sync) and `Step::name`. To add a step: a `Step` variant, its entry in
//! `step_defs` and its place in [`STEPS`], its arm in `Step::def`, its run
//! arm in the runner, and its tests.

use std::time::Duration;

use super::keys::{Default, Value};
use super::reader::{Fields, Reader};
use super::step_defs::*;
use super::types::{ConnectionRef, Step};
use super::yaml::Node;

/// Lists every step, in the order of hints, the schema and the README tables.
pub(crate) const STEPS: &[&StepDef] = &[
    &SEND,
    &SEND_LINE,
    &EXPECT,
    &EXPECT_NO,
    &END,
    &SEND_QUIT,
    &ABORT,
    &PAUSE_READING,
    &RESUME_READING,
    &CONNECT,
    &WAIT_CONNECTED,
    &WAIT_RECONNECT,
    &WAIT_RETRY,
    &EXPECT_ERROR,
    &EXPECT_GAVE_UP,
    &EXPECT_UNSENT,
    &EXPECT_CLOSED,
    &SLEEP,
    &KILL_SERVER,
    &STOP_SERVER,
    &START_SERVER,
    &BLACKHOLE_SERVER,
    &SERVER_SEND,
    &SERVER_EXPECT,
    &SERVER_EXPECT_NO,
    &SERVER_CLOSE,
    &SERVER_HALF_CLOSE,
    &EXPECT_CONNECTIONS,
    &EXPECT_EXIT,
    &KILL_CLIENT,
    &super::step_defs::SEND_FRAME,
    &super::step_defs::EXPECT_FRAME,
    &super::step_defs::SERVER_SEND_FRAME,
    &super::step_defs::SERVER_EXPECT_FRAME,
    &FAULT,
    &EXPECT_FAULT,
    &CLEAR_FAULT,
    &PROXY_DOWN,
    &PROXY_UP,
    &PROXY_EXPECT,
];

// The options several steps share, and the helpers that write options.

/// Says what data may be, for "expected ..." messages.
pub(crate) const DATA: &str =
    "text, or a map with `text:`, `hex:`, `base64:`, `repeat:` or `random:`";
/// Says what a banner may be (no generated data), for "expected ..." messages.
pub(crate) const BANNER_DATA: &str = "text, or a map with `text:`, `hex:` or `base64:`";

/// Returns an option with no default.
pub(crate) const fn opt(key: &'static str, value: Value, doc: &'static str) -> Opt {
    Opt {
        key,
        doc,
        value,
        default: None,
        excludes: None,
    }
}

/// Returns an option that takes one of `names`, `default` when absent.
pub(crate) const fn choice(
    key: &'static str,
    names: &'static [&'static str],
    default: &'static str,
    doc: &'static str,
) -> Opt {
    Opt {
        key,
        doc,
        value: Value::Choice(names),
        default: Some(Default::Text(default)),
        excludes: None,
    }
}

/// `text:` of data.
pub(crate) const TEXT: Opt = opt(
    "text",
    Value::Def("text"),
    "Text, encoded as `encoding` says (default utf8).",
);
/// `encoding:` of `text:` data.
pub(crate) const ENCODING: Opt = Opt {
    default: Some(Default::Text("utf8")),
    ..opt(
        "encoding",
        Value::Def("textEncoding"),
        "How `text` becomes bytes: utf8, latin1 (one byte per character) or ascii.",
    )
};
/// `hex:` data.
pub(crate) const HEX: Opt = opt(
    "hex",
    Value::Def("hex"),
    "Bytes as pairs of hex digits, e.g. `de ad be ef`.",
);
/// `base64:` data.
pub(crate) const BASE64: Opt = opt(
    "base64",
    Value::Def("base64"),
    "Bytes in base64, e.g. `SGVsbG8gV29ybGQh`.",
);
/// Lists the options of data (`send: {...}`, `banner: {...}`).
pub(crate) const DATA_OPTIONS: [Opt; 8] =
    [TEXT, ENCODING, HEX, BASE64, REPEAT, TIMES, RANDOM, SEED];
/// `chunks:` of `send`: the most bytes one write takes.
pub(crate) const CHUNKS: Opt = opt(
    "chunks",
    Value::Def("count"),
    "Write the data in pieces of at most this many bytes, each its own write with Nagle off (TCP_NODELAY), so that a peer sees separate segments; the transcript shows the data whole.",
);
/// `gap:` of `send`: the pause between pieces.
pub(crate) const GAP: Opt = Opt {
    default: Some(Default::Text("0s")),
    ..opt(
        "gap",
        Value::Def("duration"),
        "The pause between two pieces of `chunks`, on the scenario's clock (virtual with a fake server and built-in clients, real otherwise).",
    )
};
/// `repeat:` data: a unit repeated `times` times.
pub(crate) const REPEAT: Opt = opt(
    "repeat",
    Value::Def("text"),
    "Generated data: this UTF-8 text, `times` times over (`{repeat: \"x\", times: 100000}`); the transcript shows a summary, not the bytes.",
);
/// `times:` of `repeat:`.
pub(crate) const TIMES: Opt = opt(
    "times",
    Value::Count,
    "How many times `repeat` repeats its text.",
);
/// `random:` data: bytes from a seeded generator.
pub(crate) const RANDOM: Opt = opt(
    "random",
    Value::Def("size"),
    "Generated data: this many bytes from a generator seeded with `seed` (`{random: 1MiB, seed: 3}`), the same bytes every run; the transcript shows a summary, not the bytes.",
);
/// `seed:` of `random:`.
pub(crate) const SEED: Opt = Opt {
    default: Some(Default::Number(crate::scenario::generate::DEFAULT_SEED)),
    ..opt(
        "seed",
        Value::Count,
        "The seed of `random`: the same seed gives the same bytes.",
    )
};

/// `client:` of a client step.
pub(crate) const CLIENT: Opt = opt(
    "client",
    Value::Def("clientName"),
    "The client this step is for; required when the scenario has several clients.",
);
/// `connection:` of a server step.
pub(crate) const CONNECTION: Opt = opt(
    "connection",
    Value::Def("connection"),
    "The connection to address: N, the N-th accepted connection (from 1), or a client's name, the server side of that client's current connection. Default: every connection.",
);
/// `proxy:` of a proxy step.
pub(crate) const PROXY: Opt = opt(
    "proxy",
    Value::Def("proxyName"),
    "The proxy this step is for; required when the scenario has several proxies.",
);
/// `timeout:` of a wait.
pub(crate) const TIMEOUT: Opt = opt(
    "timeout",
    Value::Def("duration"),
    "Bound on the wait (default: `defaults.timeout`); it ends the moment its condition holds.",
);
/// `timeout:` of `expect_no`: the window.
pub(crate) const WINDOW: Opt = opt(
    "timeout",
    Value::Def("duration"),
    "The window in which the output must not match (default: `defaults.timeout`).",
);
/// `regex:` over a client's output.
pub(crate) const REGEX: Opt = opt(
    "regex",
    Value::Def("pattern"),
    "A regex over the client's output not consumed yet.",
);
/// `regex:` over what the server received.
pub(crate) const SERVER_REGEX: Opt = opt(
    "regex",
    Value::Def("pattern"),
    "A regex over what the server received and has not consumed yet.",
);
/// `stream:` of `expect` and `expect_no`.
pub(crate) const STREAM: Opt = choice(
    "stream",
    &["stdout", "stderr"],
    "stdout",
    "What to read: `stdout`, what the client received (for a client program its stdout, with its stderr under `stderr: merge`), or `stderr`, a client program's separate stderr.",
);

/// Describes one kind of step.
pub(crate) struct StepDef {
    /// The name as written in a file.
    pub name: &'static str,
    /// What it does, as the schema describes it (a sentence).
    pub doc: &'static str,
    /// What it does, as the README's table says it, where that differs from
    /// `doc` with a lowercase first letter and no period.
    pub meaning: Option<&'static str>,
    /// Examples, each a step list item.
    pub examples: &'static [&'static str],
    /// The README table that lists it, if one does.
    pub table: Option<Table>,
    /// The option a scalar argument stands for (`- expect: x` is `{regex: x}`).
    pub shorthand: Option<Opt>,
    /// The options its map form takes; a step whose shorthand is not among
    /// them takes no map form.
    pub options: &'static [Opt],
    /// An argument must be given: the step cannot be written bare.
    pub required: bool,
    /// What the argument may be, for "expected ..." messages.
    pub expected: &'static str,
    /// The clients it suits (for a step that takes `client:`).
    pub clients: Clients,
    /// The servers it suits.
    pub servers: Servers,
    /// Turns the read arguments into the step.
    pub read: Read,
}

/// Turns a step's read arguments into the step; none after reporting an error.
pub(crate) type Read = fn(&mut Reader<'_>, &Args<'_>) -> Option<Step>;

/// Holds what the loader read of a step before its own reader runs.
pub(crate) struct Args<'n> {
    /// The step's name.
    pub name: &'static str,
    /// The whole list item, for errors about the step.
    pub item: &'n Node,
    /// The argument as written, if any.
    pub arg: Option<&'n Node>,
    /// The options given (a scalar argument under the shorthand's key).
    pub fields: Fields<'n>,
    /// `client:`, when the step takes it and it is valid.
    pub client: Option<String>,
    /// `connection:` (every connection when absent); none when invalid.
    pub connection: Option<ConnectionRef>,
    /// `timeout:`, when given and valid.
    pub timeout: Option<Duration>,
}

/// Describes one option of a step's argument.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Opt {
    /// The key in the map form.
    pub key: &'static str,
    /// What it means for this step (the schema's description).
    pub doc: &'static str,
    /// What value it takes.
    pub value: Value,
    /// Its default, as the schema shows it.
    pub default: Option<Default>,
    /// Another option it cannot be combined with.
    pub excludes: Option<&'static str>,
}

/// Names the README table of steps an entry belongs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Table {
    /// "Client steps".
    Client,
    /// "Server steps".
    Server,
    /// "Proxy steps".
    Proxy,
}

/// Says which clients a client step suits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Clients {
    /// Every client.
    Any,
    /// The built-in client only: tcprun cannot see a program's connect attempts.
    BuiltIn,
    /// The built-in client, or a client program whose connections a fake server sees.
    SeenFromFakeServer,
    /// Client programs only; `hint` says what to do with a built-in client instead.
    Programs {
        /// The hint for a built-in client.
        hint: &'static str,
    },
}

/// Says which servers a step suits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Servers {
    /// Any server: not a server step.
    Any,
    /// A server tcprun runs, fake or program; with a program its `connection:` option does not apply.
    Run,
    /// A fake server only: the step needs the server's connections.
    Fake,
    /// A fake server, or a server program behind a proxy: the step needs
    /// connections tcprun sees, the fake server's or the proxy's.
    FakeOrProxied,
}

/// Says what kind of client a step addresses, for [`Clients::refusal`].
pub(crate) struct Target<'a> {
    /// The client's name.
    pub name: &'a str,
    /// It is a client program.
    pub program: bool,
    /// The server is a fake server (none: unknown).
    pub fake_server: Option<bool>,
}

impl Clients {
    /// Returns why `step` does not suit `target`, as a message and a hint.
    pub(crate) fn refusal(self, step: &str, target: &Target<'_>) -> Option<(String, String)> {
        match self {
            Clients::BuiltIn if target.program => Some((
                format!(
                    "`{step}` does not apply to a command client: tcprun cannot see a program's connect attempts"
                ),
                "expect its output instead, e.g. `- expect: \"Connection refused\"`".to_owned(),
            )),
            Clients::SeenFromFakeServer if target.program && target.fake_server == Some(false) => {
                Some((
                    format!(
                        "`{step}` for a command client needs a fake server: tcprun sees a program's connections from the server side only"
                    ),
                    "expect the program's output instead, or use `server: {fake: ...}`".to_owned(),
                ))
            }
            Clients::Programs { hint } if !target.program => Some((
                format!(
                    "`{step}` needs a command client, and `{}` is the built-in client",
                    target.name
                ),
                hint.to_owned(),
            )),
            _ => None,
        }
    }
}

impl Servers {
    /// Returns why `step` does not suit a server already running at `address`.
    pub(crate) fn refusal_external(self, step: &str, address: &str) -> Option<(String, String)> {
        (self != Servers::Any).then(|| {
            (
                format!(
                    "server steps need a fake server; this scenario targets an external server at {address}"
                ),
                format!("remove `{step}`, or use `server: {{fake: echo}}` instead of `address:`"),
            )
        })
    }

    /// Returns why `step` does not suit a server program (`proxied`: the
    /// scenario has a proxy, whose connections tcprun sees).
    pub(crate) fn refusal_program(self, step: &str, proxied: bool) -> Option<(String, String)> {
        if self == Servers::FakeOrProxied && !proxied {
            return Some((
                format!(
                    "`{step}` needs a fake server, or a proxy in front of the server program: tcprun does not see a server program's connections"
                ),
                "add `proxy: {}` and `via: proxy` to the clients: the proxy's accepted connections count".to_owned(),
            ));
        }
        (self == Servers::Fake).then(|| {
            (
                format!(
                    "`{step}` needs a fake server; tcprun does not see a server program's connections"
                ),
                if step == super::step_defs::BLACKHOLE_SERVER.name {
                    // The same fault for any server: a proxy's port that drops SYNs.
                    "put a proxy in front of the program (`proxy: {}` and `via: proxy` on the clients) and use `- proxy_down: blackhole`".to_owned()
                } else {
                    format!(
                        "remove `{step}`, and check what the program does through its clients, e.g. with `- expect: ...`"
                    )
                },
            )
        })
    }

    /// Returns why `connection:` of `step` does not apply to a server program.
    pub(crate) fn refusal_program_connection(self, step: &str) -> Option<(String, String)> {
        (self == Servers::Run).then(|| {
            (
                format!(
                    "`connection` needs a fake server; with a server program, `{step}` matches the program's output"
                ),
                "remove `connection:`".to_owned(),
            )
        })
    }
}

impl StepDef {
    /// Returns the option under `key`, if the map form takes it.
    pub(crate) fn option(&self, key: &str) -> Option<&Opt> {
        self.options.iter().find(|o| o.key == key)
    }

    /// Returns true when the map form takes `key`.
    pub(crate) fn takes(&self, key: &str) -> bool {
        self.option(key).is_some()
    }

    /// Returns the keys of the map form, in order.
    pub(crate) fn keys(&self) -> Vec<&'static str> {
        self.options.iter().map(|o| o.key).collect()
    }

    /// Returns true when the step takes a map of options (`sleep` does not).
    pub(crate) fn has_map_form(&self) -> bool {
        self.shorthand.is_none_or(|short| self.takes(short.key))
    }

    /// Returns true for a step that addresses a client (it takes `client:`).
    pub(crate) fn is_client_step(&self) -> bool {
        self.takes("client")
    }

    /// Returns true for a server step (it needs a server tcprun runs).
    pub(crate) fn is_server_step(&self) -> bool {
        self.servers != Servers::Any
    }

    /// Returns true when the step takes data (`text:`, `hex:`, `base64:`).
    pub(crate) fn takes_data(&self) -> bool {
        self.takes("text")
    }

    /// Returns the README's meaning: `meaning`, or `doc` lowercased at the start and without its period.
    pub(crate) fn readme_meaning(&self) -> String {
        match self.meaning {
            Some(meaning) => meaning.to_owned(),
            None => {
                let doc = self.doc.strip_suffix('.').unwrap_or(self.doc);
                let mut chars = doc.chars();
                chars
                    .next()
                    .map(|first| first.to_lowercase().chain(chars).collect())
                    .unwrap_or_default()
            }
        }
    }

    /// Returns the examples in backticks, joined by " or ".
    pub(crate) fn example_text(&self) -> String {
        let quoted: Vec<String> = self.examples.iter().map(|e| format!("`{e}`")).collect();
        quoted.join(" or ")
    }
}

/// Returns the step named `name`.
pub(crate) fn find(name: &str) -> Option<&'static StepDef> {
    STEPS.iter().copied().find(|def| def.name == name)
}

/// Returns every step name, in order.
pub(crate) fn names() -> Vec<&'static str> {
    STEPS.iter().map(|def| def.name).collect()
}

/// Returns the names of the steps that pass `keep`, in order.
pub(crate) fn names_where(keep: impl Fn(&StepDef) -> bool) -> Vec<&'static str> {
    STEPS
        .iter()
        .filter(|def| keep(def))
        .map(|def| def.name)
        .collect()
}

/// Renders the README table of `table`'s steps (header included), one row per step.
pub(crate) fn readme_table(table: Table) -> String {
    let mut text = String::from("| step | example | meaning |\n| --- | --- | --- |\n");
    for def in STEPS.iter().filter(|def| def.table == Some(table)) {
        text.push_str(&format!(
            "| `{}` | {} | {} |\n",
            def.name,
            def.example_text(),
            def.readme_meaning()
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::scenario::load_str;

    /// Scenario heads an example may need: a single client named `bob` (so
    /// `connection: bob` works), of each kind, against each kind of server.
    const HEADS: &[&str] = &[
        "server: {fake: echo}\nclients: {bob: {}}\n",
        "server: {fake: echo}\nclients: {bob: {command: [cli]}}\n",
        "server: {command: [srv]}\nclients: {bob: {}}\n",
        "server: {command: [srv]}\nclients: {bob: {command: [cli]}}\n",
        "server: {fake: echo, framing: line}\nclients: {bob: {framing: line}}\n",
        "server: {fake: echo}\nclients: {bob: {start: false}}\n",
        "server: {fake: echo}\nproxy: {}\nclients: {bob: {via: proxy}}\n",
        "server: {command: [srv]}\nproxy: {}\nclients: {bob: {via: proxy}}\n",
    ];

    #[test]
    fn names_are_unique_snake_case_and_found() {
        let mut names = names();
        for name in &names {
            assert!(
                name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{name}"
            );
            assert_eq!(find(name).map(|def| def.name), Some(*name));
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), STEPS.len(), "two steps share a name");
    }

    #[test]
    fn every_example_loads_into_its_own_step() {
        for def in STEPS {
            assert!(!def.examples.is_empty(), "`{}` has no example", def.name);
            for example in def.examples {
                assert!(
                    example.starts_with(&format!("- {}", def.name)),
                    "`{}`'s example `{example}` is not a step list item of it",
                    def.name
                );
                let loaded: Vec<_> = HEADS
                    .iter()
                    .filter_map(|head| {
                        let source = format!("{head}steps:\n  {example}\n");
                        load_str(Path::new("example.yaml"), &source).ok()
                    })
                    .collect();
                assert!(
                    !loaded.is_empty(),
                    "`{}`'s example `{example}` loads under no head",
                    def.name
                );
                for scenario in loaded {
                    let step = &scenario.steps[0].value;
                    assert_eq!(
                        step.def().name,
                        def.name,
                        "`{example}` loads as another step"
                    );
                }
            }
        }
    }

    #[test]
    fn entries_are_consistent() {
        for def in STEPS {
            let mut keys = def.keys();
            keys.sort_unstable();
            keys.dedup();
            assert_eq!(
                keys.len(),
                def.options.len(),
                "`{}` repeats an option",
                def.name
            );
            if let Some(short) = def.shorthand
                && let Some(option) = def.option(short.key)
            {
                assert_eq!(
                    option.doc, short.doc,
                    "`{}`: two docs for `{}`",
                    def.name, short.key
                );
            }
            // A required argument has a short form or a map form to give it in.
            assert!(
                !def.required || def.shorthand.is_some() || def.has_map_form(),
                "{}",
                def.name
            );
            // Only client steps say which clients they suit.
            assert!(
                def.is_client_step() || def.clients == Clients::Any,
                "{}",
                def.name
            );
            assert!(def.doc.ends_with('.'), "{}", def.name);
            if def.table.is_some() {
                assert!(!def.readme_meaning().is_empty(), "{}", def.name);
            }
        }
    }

    #[test]
    fn expect_unsent_takes_a_byte_count_for_a_built_in_client() {
        let load = |steps: &str, client: &str| {
            let source = format!("server: {{fake: echo}}\nclient: {client}\nsteps:\n{steps}");
            load_str(Path::new("unsent.yaml"), &source)
        };
        let scenario = load(
            "  - expect_unsent: 6\n  - expect_unsent: {bytes: 2, timeout: 1s}\n",
            "{}",
        )
        .expect("loads");
        let steps: Vec<Step> = scenario.steps.into_iter().map(|s| s.value).collect();
        assert_eq!(
            steps,
            [
                Step::ExpectUnsent {
                    client: None,
                    bytes: 6,
                    timeout: None
                },
                Step::ExpectUnsent {
                    client: None,
                    bytes: 2,
                    timeout: Some(Duration::from_secs(1))
                },
            ]
        );
        for (steps, client) in [
            ("  - expect_unsent: 0\n", "{}"),
            ("  - expect_unsent\n", "{}"),
            ("  - expect_unsent: 6\n", "{command: [cli]}"),
        ] {
            assert!(load(steps, client).is_err(), "{steps} for {client}");
        }
    }

    #[test]
    fn a_fake_only_step_with_a_server_program_points_to_what_works_there() {
        let blackhole = Servers::Fake.refusal_program("blackhole_server", false);
        let (_, hint) = blackhole.expect("refused");
        assert!(hint.contains("`- proxy_down: blackhole`"), "{hint}");
        let close = Servers::Fake.refusal_program("server_send", false);
        let (_, hint) = close.expect("refused");
        assert!(hint.starts_with("remove `server_send`"), "{hint}");
    }

    #[test]
    fn readme_tables_have_a_row_per_step() {
        let client = readme_table(Table::Client);
        assert!(client.starts_with("| step | example | meaning |\n| --- | --- | --- |\n"));
        assert!(
            client.contains("| `send` | `- send: \"PING\\r\\n\"` | send bytes as they are |\n")
        );
        assert!(readme_table(Table::Server).contains(
            "| `start_server` | `- start_server` | listen again on the same address and port |\n"
        ));
    }
}
