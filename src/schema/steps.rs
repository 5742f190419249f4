//! Generates the schema of steps and the rules on them from the step registry.

use serde_json::{Map, Value, json};

use super::{closed, keys, value_schema};
use crate::scenario::registry::DATA_OPTIONS;
use crate::scenario::registry::{self, Clients, Opt, STEPS, Servers, StepDef, Table};
use crate::scenario::step_defs::{CONNECT, FAULT, KILL_SERVER};

/// Returns the schema of one option of a step's map form (also its short form).
fn option_schema(option: &Opt) -> Value {
    value_schema(option.value, option.doc, option.default)
}

/// Pairs each data key with the option that goes with it, and whether that
/// option is required.
const COMPANIONS: [(&str, &str, bool); 3] = [
    ("text", "encoding", false),
    ("repeat", "times", true),
    ("random", "seed", false),
];

/// Returns the map forms of data: one of `text` (with `encoding`), `hex`,
/// `base64`, `repeat` (with `times`) or `random` (with `seed`), besides the
/// `extra` options of a step; `required`: data must be given; `generated`:
/// `repeat` and `random` are allowed (a step's data, not a banner).
pub(super) fn data_maps(extra: &Map<String, Value>, required: bool, generated: bool) -> Value {
    let schema = |key: &str| {
        let option = DATA_OPTIONS.iter().find(|o| o.key == key);
        option_schema(option.expect("a data option"))
    };
    let companion = |key: &str| COMPANIONS.iter().any(|(_, c, _)| *c == key);
    let mut branches = Vec::new();
    let generator = |key: &str| matches!(key, "repeat" | "random");
    for source in DATA_OPTIONS
        .iter()
        .filter(|o| !companion(o.key) && (generated || !generator(o.key)))
    {
        let mut properties = extra.clone();
        properties.insert(source.key.into(), option_schema(source));
        let mut needed = vec![source.key];
        for (_, with, must) in COMPANIONS.iter().filter(|(k, _, _)| *k == source.key) {
            properties.insert((*with).into(), schema(with));
            if *must {
                needed.push(with);
            }
        }
        branches.push(closed(properties, &needed));
    }
    if !required {
        branches.push(closed(extra.clone(), &[]));
    }
    json!({"type": "object", "oneOf": branches})
}

/// Returns the schema of one step list item: a bare name, or a one-key map.
pub(super) fn step_schema() -> Value {
    let bare = registry::names_where(|def| !def.required);
    let mut forms = vec![json!({
        "description": "A step without an argument.",
        "enum": bare,
    })];
    for def in STEPS {
        let mut properties = Map::new();
        properties.insert(def.name.into(), step_argument(def));
        forms.push(closed(properties, &[def.name]));
    }
    json!({
        "description": "A step: a bare name (`- kill_server`), or a one-key map whose value is the argument, a short form (`- wait_reconnect: 2s`) or a map of options (`- wait_reconnect: {timeout: 2s, client: bob}`).",
        "oneOf": forms,
    })
}

/// Returns the schema of a step's argument, in each form the loader accepts.
fn step_argument(def: &StepDef) -> Value {
    let frame_pattern = crate::scenario::step_defs::takes_frame_pattern(def);
    let (required, data) = (def.required, def.takes_data() && !frame_pattern);
    let mut forms = Vec::new();
    if !required {
        forms.push(json!({"type": "null"}));
    }
    if let Some(short) = &def.shorthand {
        forms.push(if data && !frame_pattern {
            json!({"$ref": "#/$defs/text"})
        } else {
            option_schema(short)
        });
    }
    let data_key = |key: &str| DATA_OPTIONS.iter().any(|o| o.key == key);
    let extra: Map<String, Value> = def
        .options
        .iter()
        .filter(|option| !data_key(option.key))
        .map(|option| (option.key.to_owned(), option_schema(option)))
        .collect();
    if frame_pattern {
        let options: Map<String, Value> = def
            .options
            .iter()
            .map(|option| (option.key.to_owned(), option_schema(option)))
            .collect();
        forms.push(super::frames::pattern_maps(&options));
    } else if data {
        assert!(
            DATA_OPTIONS.iter().all(|o| def.takes(o.key)),
            "`{}` takes some data keys but not all",
            def.name
        );
        let mut maps = data_maps(&extra, required, true);
        if def.takes("gap") {
            maps["dependentRequired"] = json!({"gap": ["chunks"]});
        }
        forms.push(maps);
    } else if def.has_map_form() {
        let needed: Vec<&str> = def
            .shorthand
            .filter(|_| required)
            .map(|short| short.key)
            .into_iter()
            .collect();
        let mut map = closed(extra, &needed);
        for option in def.options {
            if let Some(other) = option.excludes {
                map["if"] = json!({"required": [option.key]});
                map["then"] = json!({"properties": {other: false}});
            }
        }
        if def.name == FAULT.name {
            fault_rules(&mut map);
        }
        forms.push(map);
    }
    json!({
        "description": format!("{} Takes {}. Example: {}", def.doc, def.expected, def.example_text()),
        "oneOf": forms,
    })
}

/// Adds what `FaultSpec::from_pairs` requires of a fault map: exactly one
/// kind, the options of a kind only with it, one trigger at most.
fn fault_rules(map: &mut Value) {
    let kinds: Vec<Value> = crate::proxy::spec::KINDS
        .iter()
        .map(|kind| json!({"required": [kind]}))
        .collect();
    map["oneOf"] = json!(kinds);
    map["dependentRequired"] = json!({"jitter": ["latency"], "gap": ["slice"]});
    map["not"] = json!({"required": ["after_bytes", "on"]});
}

/// Returns a condition on the top level: the scenario has a proxy (`proxy:` or `proxies:`).
fn proxied() -> Value {
    json!({"anyOf": [{"required": ["proxy"]}, {"required": ["proxies"]}]})
}

/// Returns a rule on the top level: every client (of `client:` or `clients:`) matches `schema`.
fn every_client(schema: Value) -> Value {
    json!({"properties": {
        "client": schema.clone(),
        "clients": {"additionalProperties": schema},
    }})
}

/// Returns a condition on the top level: the server is of one of these kinds (by key).
fn server_is(keys: &[&str]) -> Value {
    let any: Vec<Value> = keys.iter().map(|key| json!({"required": [key]})).collect();
    json!({
        "required": ["server"],
        "properties": {"server": {"type": "object", "anyOf": any}},
    })
}

/// Returns a condition on the top level: there is one client, and it matches `kind`.
pub(super) fn only_client(kind: &Value) -> Value {
    json!({
        "anyOf": [
            {"required": ["client"], "properties": {"client": kind}},
            {
                "required": ["clients"],
                "properties": {"clients": {"type": "object", "maxProperties": 1, "additionalProperties": kind}},
            },
        ],
    })
}

/// Returns a rule on the top level: the steps may not include any of `names`, bare or with an argument.
pub(super) fn steps_without(names: &[&str]) -> Value {
    let forbidden: Map<String, Value> = names
        .iter()
        .map(|name| ((*name).to_owned(), Value::Bool(false)))
        .collect();
    json!({
        "properties": {"steps": {"items": {
            "not": {"enum": names},
            "properties": forbidden,
        }}},
    })
}

/// Returns a rule on the top level: every step that passes `keep` matches `schema` as its argument.
fn steps_matching(keep: impl Fn(&StepDef) -> bool, schema: impl Fn(&StepDef) -> Value) -> Value {
    let properties: Map<String, Value> = STEPS
        .iter()
        .filter(|def| keep(def))
        .map(|def| (def.name.to_owned(), schema(def)))
        .collect();
    json!({"properties": {"steps": {"items": {"properties": properties}}}})
}

/// Returns a rule on the top level: every step that takes `key` matches `schema` there.
fn steps_with_option(key: &str, schema: Value) -> Value {
    steps_matching(
        |def| def.takes(key),
        |_| json!({"properties": {key: schema.clone()}}),
    )
}

/// Returns the checks that depend on the kind of server and of the clients.
pub(super) fn rules() -> Value {
    let program_keys = keys::names(keys::SERVER, |k| {
        keys::says_kind(k) && matches!(k.applies, keys::Applies::Server { program: true, .. })
    });
    let program =
        json!({"type": "object", "anyOf": [{"required": ["command"]}, {"required": ["shell"]}]});
    let builtin = json!({"not": program.clone()});
    let bare_client_steps = registry::names_where(|d| d.is_client_step() && !d.required);
    let mut must_name_client = Map::new();
    for def in STEPS.iter().filter(|d| d.is_client_step()) {
        let named = json!({"type": "object", "required": ["client"]});
        // `- connect: bob`: the short form is the client's name.
        let rule = match def.shorthand {
            Some(short) if short.key == "client" => json!({"anyOf": [{"type": "string"}, named]}),
            _ => named,
        };
        must_name_client.insert(def.name.into(), rule);
    }
    let proxy_steps = registry::names_where(|d| d.table == Some(Table::Proxy));
    let bare_proxy_steps = registry::names_where(|d| d.table == Some(Table::Proxy) && !d.required);
    let mut must_name_proxy = Map::new();
    for name in &proxy_steps {
        must_name_proxy.insert(
            (*name).into(),
            json!({"type": "object", "required": ["proxy"]}),
        );
    }
    let mut rules = json!([
        {
            "$comment": "With several clients, every client step names its client.",
            "if": {"required": ["clients"], "properties": {"clients": {"minProperties": 2}}},
            "then": {"properties": {"steps": {"items": {
                "not": {"enum": bare_client_steps},
                "properties": must_name_client,
            }}}},
        },
        {
            "$comment": "With `client:`, the only client is named `client`.",
            "if": {"required": ["client"]},
            "then": {"allOf": [
                steps_with_option("client", json!({"const": "client"})),
                steps_with_option("connection", json!({"anyOf": [{"type": "integer"}, {"const": "client"}]})),
            ]},
        },
        {
            "$comment": "One proxy (`proxy:`) or several (`proxies:`), not both.",
            "not": {"required": ["proxy", "proxies"]},
        },
        {
            "$comment": "A client and the proxy cannot share a name.",
            "if": {"required": ["proxy"]},
            "then": {"properties": {"clients": {"propertyNames": {"not": {"const": "proxy"}}}}},
        },
        {
            "$comment": "Proxy steps and `via:` need a proxy.",
            "if": {"not": proxied()},
            "then": {"allOf": [
                steps_without(&registry::names_where(|d| d.table == Some(Table::Proxy))),
                every_client(json!({"properties": {"via": false}})),
            ]},
        },
        {
            "$comment": "With `proxy:`, the only proxy is named `proxy`.",
            "if": {"required": ["proxy"]},
            "then": {"allOf": [
                steps_with_option("proxy", json!({"const": "proxy"})),
                every_client(json!({"properties": {"via": {"const": "proxy"}}})),
            ]},
        },
        {
            "$comment": "With several proxies, every proxy step names its proxy.",
            "if": {"required": ["proxies"], "properties": {"proxies": {"minProperties": 2}}},
            "then": {"properties": {"steps": {"items": {
                "not": {"enum": bare_proxy_steps},
                "properties": must_name_proxy,
            }}}},
        },
        {
            "$comment": "A server program's connections count only as a proxy in front of it sees them.",
            "if": {"allOf": [server_is(&program_keys), {"not": proxied()}]},
            "then": steps_without(&registry::names_where(|d| d.servers == Servers::FakeOrProxied)),
        },
        {
            "$comment": "A server already running takes no server steps.",
            "if": server_is(&["address"]),
            "then": steps_without(&registry::names_where(StepDef::is_server_step)),
        },
        {
            "$comment": "tcprun does not see a server program's connections.",
            "if": server_is(&program_keys),
            "then": steps_without(&registry::names_where(|d| d.servers == Servers::Fake)),
        },
        {
            "$comment": "With a server program, server_expect matches its output: no connection.",
            "if": server_is(&program_keys),
            "then": steps_matching(
                |d| d.servers == Servers::Run && d.takes("connection"),
                |_| json!({"properties": {"connection": false}}),
            ),
        },
        {
            "$comment": "A fake server's kill is always abrupt: no signal.",
            "if": server_is(&["fake"]),
            "then": steps_matching(
                |d| d.name == KILL_SERVER.name,
                |_| json!({"type": ["null", "object"], "properties": {"signal": false}}),
            ),
        },
        {
            "$comment": "tcprun cannot see a client program's connect attempts.",
            "if": only_client(&program),
            "then": steps_without(&registry::names_where(|d| d.clients == Clients::BuiltIn)),
        },
        {
            "$comment": "A client program's connections are seen from a fake server's side only.",
            "if": {"allOf": [only_client(&program), server_is(&["command", "shell", "address"])]},
            "then": steps_without(&registry::names_where(|d| d.clients == Clients::SeenFromFakeServer)),
        },
        {
            "$comment": "`connect` starts a client written with `start: false`.",
            "if": only_client(&json!({"not": {"type": "object", "required": ["start"], "properties": {"start": {"const": false}}}})),
            "then": steps_without(&[CONNECT.name]),
        },
        {
            "$comment": "Only a client program exits or takes a signal.",
            "if": only_client(&builtin),
            "then": steps_without(&registry::names_where(|d| matches!(d.clients, Clients::Programs { .. }))),
        },
    ]);
    if let Some(all) = rules.as_array_mut() {
        all.extend(super::frames::rules());
    }
    rules
}
