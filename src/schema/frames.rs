//! Describes what frames need in the schema: `framing:`, `rules:` with their predicates and replies, hex frame patterns, the argument of `expect_frame`, and which frame steps need framing.

use serde_json::{Map, Value, json};

use super::closed;
use crate::framing::LengthField;
use crate::scenario::step_defs::{
    EXPECT_FRAME, SEND_FRAME, SERVER_EXPECT_FRAME, SERVER_SEND_FRAME,
};

/// Returns the shared definitions of frames, to add to `$defs`.
pub(super) fn defs() -> Map<String, Value> {
    let size = json!({
        "description": "A size in bytes: a whole number, or with a 1024-based unit: `64KiB`, `1MiB`.",
        "anyOf": [
            {"type": "integer", "minimum": 1},
            {"type": "string", "pattern": "^\\s*[0-9]+\\s*(?:[Bb]|[KkMmGg][Ii][Bb])?\\s*$"},
        ],
    });
    let bytes = |doc: &str| json!({"description": doc, "type": ["string", "number", "boolean"], "minLength": 1});
    let max = json!({"description": "The most bytes one frame may take on the wire, header and delimiters included (default 8MiB).", "allOf": [size.clone()]});
    let kind = |key: &str, properties: Value, required: &[&str]| {
        let mut properties = properties.as_object().cloned().unwrap_or_default();
        properties.insert("max".into(), max.clone());
        let mut schema = closed(properties, required);
        schema["description"] = json!(format!("`{key}` framing."));
        schema
    };
    let predicate = |key: &str, doc: &str, value: Value| {
        let mut properties = Map::new();
        let mut value = value;
        value["description"] = json!(doc);
        properties.insert(key.into(), value);
        closed(properties, &[key])
    };
    let text = json!({"$ref": "#/$defs/text"});
    let mut defs = Map::new();
    defs.insert("framing".into(), json!({
        "description": "How a byte stream is cut into frames: `line` (frames end at `\\n`, a `\\r` before it included in the line ending), `crlf`, or a map.",
        "oneOf": [
            {"enum": ["line", "crlf"]},
            kind("delimiter", json!({"delimiter": bytes("A frame ends at these bytes (one or more), e.g. `\"\\0\"` or `\"\\r\\n\\r\\n\"`.")}), &["delimiter"]),
            kind("start", json!({
                "start": bytes("The bytes that open a frame, e.g. MLLP's `\"\\x0b\"`."),
                "end": bytes("The bytes that close a frame, e.g. MLLP's `\"\\x1c\\r\"`."),
            }), &["start", "end"]),
            kind("fixed", json!({"fixed": {"description": "Every frame is this many bytes.", "allOf": [size.clone()]}}), &["fixed"]),
            kind("length", json!({
                "length": {"description": "The length field's type and byte order.", "enum": LengthField::NAMES},
                "offset": {"description": "Bytes before the length field (kept in the payload).", "type": "integer", "minimum": 0},
                "adjust": {"description": "Added to the field's value to get the bytes after the field: `-2` for a u16 length that counts itself.", "type": "integer"},
            }), &["length"]),
        ],
    }));
    defs.insert("hexPattern".into(), json!({
        "description": "Bytes as two hex digits each, or `??` for any byte, spaces optional: `01 ?? 00 05`.",
        "type": "string",
        "pattern": "^(?:\\s*(?:[0-9A-Fa-f]\\s*[0-9A-Fa-f]|\\?\\s*\\?))*\\s*$",
        "patternErrorMessage": "write each byte as two hex digits or `??`, e.g. `01 ?? 00 05`",
    }));
    defs.insert("predicate".into(), json!({
        "description": "The frames a rule applies to: `any`, or a map with one key.",
        "oneOf": [
            {"const": "any", "description": "Every frame."},
            predicate("equals", "The payload is exactly this text.", text.clone()),
            predicate("starts_with", "The payload starts with this text.", text.clone()),
            predicate("ends_with", "The payload ends with this text.", text.clone()),
            predicate("contains", "The payload holds this text.", text.clone()),
            predicate("regex", "A regex searched for in the payload; its named groups become `${name}` in the rule's replies.", json!({"$ref": "#/$defs/pattern"})),
            predicate("hex", "The payload is these bytes, `??` any byte.", json!({"$ref": "#/$defs/hexPattern"})),
            predicate("not", "The predicate does not hold.", json!({"$ref": "#/$defs/predicate"})),
            predicate("any_of", "One of these holds.", json!({"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/predicate"}})),
            predicate("all_of", "All of these hold.", json!({"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/predicate"}})),
            predicate("any", "Every frame.", json!({"const": true})),
        ],
    }));
    defs.insert("reply".into(), json!({
        "description": "What a rule answers: data (with `${connection}`, the rule's named groups and scenario variables), `{close: fin|reset}`, or `{stall: true}`.",
        "oneOf": [
            {"$ref": "#/$defs/data"},
            predicate("close", "Close the connection instead of answering.", json!({"enum": ["fin", "reset", "rst"]})),
            predicate("stall", "Never answer, never close, read nothing more.", json!({"const": true})),
        ],
    }));
    let mut rule = closed(
        [
            ("name", json!({"$ref": "#/$defs/word", "description": "Names the rule in transcripts (default: its number)."})),
            ("when", json!({"$ref": "#/$defs/predicate", "description": "The frames it applies to."})),
            ("reply", json!({"$ref": "#/$defs/reply", "description": "What it answers, every time."})),
            ("replies", json!({"description": "What it answers, in turn on each connection; the last one repeats.", "type": "array", "minItems": 1, "items": {"$ref": "#/$defs/reply"}})),
            ("times", json!({"description": "Applies at most this many times on each connection, then frames fall through.", "type": "integer", "minimum": 1, "maximum": u32::MAX})),
            ("delay", json!({"$ref": "#/$defs/duration", "description": "Waits this long before replying (on the scenario's clock)."})),
            ("then", json!({"description": "What to do after replying.", "enum": ["fin", "reset", "half_close", "stall"]})),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect(),
        &["when"],
    );
    rule["description"] = json!("A rule: the frames it applies to and what the server does then.");
    rule["not"] = json!({"required": ["reply", "replies"]});
    defs.insert(
        "rules".into(),
        json!({
            "description": "The rules, in order: the first that matches a frame answers it.",
            "type": "array",
            "items": rule,
        }),
    );
    defs
}

/// Returns the map forms of a frame pattern argument: one of `regex`,
/// `text` or `hex` (`prefix` with the last two), besides `extra` options.
pub(super) fn pattern_maps(options: &Map<String, Value>) -> Value {
    let mut branches = Vec::new();
    for key in ["regex", "text", "hex"] {
        let mut properties: Map<String, Value> = options
            .iter()
            .filter(|(k, _)| !["regex", "text", "hex", "prefix"].contains(&k.as_str()) || *k == key)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if key != "regex"
            && let Some(prefix) = options.get("prefix")
        {
            properties.insert("prefix".into(), prefix.clone());
        }
        branches.push(closed(properties, &[key]));
    }
    json!({"type": "object", "oneOf": branches})
}

/// Returns the rules on frame steps: they need framing where they act.
pub(super) fn rules() -> Vec<Value> {
    let unframed_client = json!({"not": {"type": "object", "required": ["framing"]}});
    let client_steps = [SEND_FRAME.name, EXPECT_FRAME.name];
    let server_steps = [SERVER_SEND_FRAME.name, SERVER_EXPECT_FRAME.name];
    vec![
        json!({
            "$comment": "Client frame steps need `framing:` on the client.",
            "if": super::steps::only_client(&unframed_client),
            "then": super::steps::steps_without(&client_steps),
        }),
        json!({
            "$comment": "Server frame steps need `framing:` on the fake server (`fake: rules` frames by `line` without it).",
            "if": {
                "required": ["server"],
                "properties": {"server": {
                    "type": "object",
                    "required": ["fake"],
                    "not": {"anyOf": [
                        {"required": ["framing"]},
                        {"properties": {"fake": {"const": "rules"}}},
                    ]},
                }},
            },
            "then": super::steps::steps_without(&server_steps),
        }),
    ]
}

/// Returns the checks of a fake server's `rules:`: `fake: rules` needs them, and only it takes them.
pub(super) fn fake_server_rules() -> Value {
    json!([
        {"if": {"properties": {"fake": {"const": "rules"}}, "required": ["fake"]}, "then": {"required": ["rules"]}},
        {"if": {"required": ["rules"]}, "then": {"properties": {"fake": {"const": "rules"}}}},
    ])
}
