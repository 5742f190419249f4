//! Lists the keys of a scenario file (top level, `server:`, `client:`) with their docs, values and defaults.
//!
//! The loader takes its key lists and defaults from here, the JSON Schema its
//! descriptions, value kinds and defaults, and the client and `tcprun connect`
//! their defaults: each default is written once, as a typed constant beside
//! its text form (a test checks that the two agree).
//!
//! - `defaults`: the defaults, typed and as written, and the words of each choice.
//! - `top`: the top-level keys and those of `defaults:`.
//! - `server`: the `server:` keys.
//! - `client`: the `client:` keys.
//! - `proxy`: the keys of a proxy.
//!
//! This module holds what the tables are made of (`Key`, `Value`,
//! `Default`, `Applies`) and the lookups over them.

mod client;
mod defaults;
mod proxy;
mod server;
mod top;

pub(crate) use defaults::{BACKOFFS, FAKE_KINDS, LINE_ENDINGS, OUTPUT_MODES, STDERR_MODES};
pub use defaults::{
    CONNECT_TIMEOUT, CONNECT_TIMEOUT_TEXT, DIAL_TIMEOUT, DIAL_TIMEOUT_TEXT, HOST, MAX_INTERVAL,
    MAX_INTERVAL_TEXT, MAX_RECEIVE_BUFFER, MAX_RETRIES, PORT, QUIT_WORD, READY_TIMEOUT,
    READY_TIMEOUT_TEXT, RETRY_INTERVAL, RETRY_INTERVAL_TEXT, SEED, STEP_TIMEOUT, STEP_TIMEOUT_TEXT,
    STOP_TIMEOUT, STOP_TIMEOUT_TEXT, TIMEOUT, TIMEOUT_TEXT, UPSTREAM,
};

pub(crate) use client::CLIENT;
pub(crate) use proxy::PROXY;
pub(crate) use server::SERVER;
pub(crate) use top::{DEFAULTS_KEYS, TOP};

/// Describes one key of a scenario map.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Key {
    /// The key as written.
    pub name: &'static str,
    /// What it means (for a fake server or the built-in client).
    pub doc: &'static str,
    /// What it means for a program, where that differs from `doc`.
    pub program_doc: Option<&'static str>,
    /// What value it takes.
    pub value: Value,
    /// Its default, as the schema shows it.
    pub default: Option<Default>,
    /// Which kinds of server or client it configures.
    pub applies: Applies,
}

impl Key {
    /// Returns the doc for a program (`program`) or for the built-in kind.
    pub(crate) fn doc_for(&self, program: bool) -> &'static str {
        match self.program_doc {
            Some(doc) if program => doc,
            _ => self.doc,
        }
    }
}

/// Names the kind of value a key takes, for the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value {
    /// A shared definition of the schema (`$defs/NAME`).
    Def(&'static str),
    /// `true` or `false`.
    Bool,
    /// One of these names.
    Choice(&'static [&'static str]),
    /// A port a server listens on, 0 to 65535.
    ListenPort,
    /// A port a client connects to, 1 to 65535, or `${port}`.
    ConnectPort,
    /// A whole number, 0 or more.
    Count,
    /// `host:port` of a running server.
    Address,
    /// A program's argv.
    Argv,
    /// A program's environment variables.
    Env,
    /// `ready:`, when a server program counts as started.
    Ready,
    /// `defaults:`, the defaults of steps.
    Defaults,
    /// Top-level `env:`, the environment variables a scenario reads, with options.
    EnvUse,
    /// `server:`, one kind of server.
    Server,
    /// `clients:`, named clients.
    Clients,
    /// `steps:`, the list of steps.
    Steps,
    /// An error code such as `ECONNREFUSED` (a step option).
    ErrorCode,
    /// An exit code, 0 to 255 (a step option).
    ExitCode,
    /// `proxies:`, named proxies.
    Proxies,
    /// A proxy's `upstream:`: `server`, or `host:port`.
    Upstream,
    /// A seed: a whole number, 0 or more (64 bits).
    Seed,
}

/// Holds a default as the schema shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Default {
    /// Text, such as `3s`.
    Text(&'static str),
    /// A whole number.
    Number(u64),
    /// `true` or `false`.
    Bool(bool),
    /// `{port: true}`.
    ReadyPort,
}

/// Says which kinds of server or client a key configures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Applies {
    /// A top-level key.
    Top,
    /// A server key: for a fake server, a server program, a server already running; `kind`: it says which kind.
    Server {
        fake: bool,
        program: bool,
        external: bool,
        kind: bool,
    },
    /// A client key: for the built-in client, a client program; `kind`: it says which kind.
    Client {
        builtin: bool,
        program: bool,
        kind: bool,
    },
    /// A proxy key.
    Proxy,
}

/// Returns true when the letters `on` hold `letter`.
const fn has(on: &str, letter: u8) -> bool {
    let on = on.as_bytes();
    let mut i = 0;
    while i < on.len() {
        if on[i] == letter {
            return true;
        }
        i += 1;
    }
    false
}

const fn with_default(key: Key, default: Default) -> Key {
    Key {
        default: Some(default),
        ..key
    }
}

const fn for_programs(key: Key, doc: &'static str) -> Key {
    Key {
        program_doc: Some(doc),
        ..key
    }
}

const CWD_DOC: &str = "The program's working folder, relative to the scenario file's folder (default: the scenario file's folder, wherever tcprun runs).";
const ENV_DOC: &str = "Variables added to tcprun's environment for the program.";

/// Returns the names of `keys` that pass `keep`, in table order.
pub(crate) fn names(keys: &[Key], keep: impl Fn(&Key) -> bool) -> Vec<&'static str> {
    keys.iter().filter(|k| keep(k)).map(|k| k.name).collect()
}

/// Returns every name of `keys`, in table order.
pub(crate) fn all(keys: &[Key]) -> Vec<&'static str> {
    names(keys, |_| true)
}

/// Returns true for a server key that only a fake server takes (and does not say the kind).
pub(crate) fn fake_only(key: &Key) -> bool {
    matches!(
        key.applies,
        Applies::Server {
            fake: true,
            program: false,
            external: false,
            kind: false
        }
    )
}

/// Returns true for a server key that only a server program takes (and does not say the kind).
pub(crate) fn program_only(key: &Key) -> bool {
    matches!(
        key.applies,
        Applies::Server {
            fake: false,
            program: true,
            external: false,
            kind: false
        }
    )
}

/// Returns true for a key that says the kind of server or client.
pub(crate) fn says_kind(key: &Key) -> bool {
    matches!(
        key.applies,
        Applies::Server { kind: true, .. } | Applies::Client { kind: true, .. }
    )
}

/// Returns true for a client key that only the built-in client takes.
pub(crate) fn builtin_only(key: &Key) -> bool {
    matches!(
        key.applies,
        Applies::Client {
            builtin: true,
            program: false,
            ..
        }
    )
}

/// Returns true for a client key that only a client program takes (and does not say the kind).
pub(crate) fn client_program_only(key: &Key) -> bool {
    matches!(
        key.applies,
        Applies::Client {
            builtin: false,
            program: true,
            kind: false
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_agree_with_their_values() {
        let pairs = [
            (TIMEOUT, TIMEOUT_TEXT),
            (STEP_TIMEOUT, STEP_TIMEOUT_TEXT),
            (READY_TIMEOUT, READY_TIMEOUT_TEXT),
            (STOP_TIMEOUT, STOP_TIMEOUT_TEXT),
            (RETRY_INTERVAL, RETRY_INTERVAL_TEXT),
            (CONNECT_TIMEOUT, CONNECT_TIMEOUT_TEXT),
            (MAX_INTERVAL, MAX_INTERVAL_TEXT),
            (DIAL_TIMEOUT, DIAL_TIMEOUT_TEXT),
        ];
        for (value, text) in pairs {
            assert_eq!(humantime::parse_duration(text), Ok(value), "{text}");
            assert_eq!(humantime::format_duration(value).to_string(), text);
        }
    }

    #[test]
    fn the_loader_names_choices_and_program_keys_as_the_table_does() {
        let fakes: Vec<&str> = super::super::read_server::FAKE_KINDS
            .iter()
            .map(|p| p.0)
            .collect();
        assert_eq!(fakes, FAKE_KINDS.to_vec());
        let outputs: Vec<&str> = super::super::read_program::OUTPUT_MODES
            .iter()
            .map(|p| p.0)
            .collect();
        assert_eq!(outputs, OUTPUT_MODES.to_vec());
        let program_keys = super::super::read_program::PROGRAM_KEYS;
        assert_eq!(
            names(SERVER, |k| says_kind(k)
                && k.name != "fake"
                && k.name != "address"),
            program_keys
        );
        assert_eq!(names(CLIENT, says_kind), program_keys);
    }

    #[test]
    fn key_names_are_unique_in_each_map() {
        for keys in [TOP, SERVER, CLIENT, DEFAULTS_KEYS, PROXY] {
            let mut names = all(keys);
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), keys.len());
        }
    }

    #[test]
    fn every_server_key_configures_some_server() {
        for key in SERVER {
            let Applies::Server {
                fake,
                program,
                external,
                ..
            } = key.applies
            else {
                panic!("`{}` is in SERVER but is no server key", key.name);
            };
            assert!(fake || program || external, "{}", key.name);
        }
        for key in CLIENT {
            let Applies::Client {
                builtin, program, ..
            } = key.applies
            else {
                panic!("`{}` is in CLIENT but is no client key", key.name);
            };
            assert!(builtin || program, "{}", key.name);
        }
    }
}
