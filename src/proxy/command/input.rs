//! Parses what `tcprun proxy` is told: fault maps in YAML flow style (`--fault`, stdin) and the stdin commands.

use crate::proxy::spec::closest;
use crate::proxy::{DownMode, FaultSpec};

/// Lists what one stdin line asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// Add a fault (a fault map).
    Fault(FaultSpec),
    /// Clear the faults of this name, or all.
    Clear(Option<String>),
    /// Take the port down.
    Down(DownMode),
    /// Listen again.
    Up,
    /// An empty line, or a comment (`#`).
    Nothing,
}

/// Reports input that says nothing valid: a message and a hint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InputError {
    /// What is wrong.
    pub message: String,
    /// How to write it.
    pub hint: Option<String>,
}

impl InputError {
    fn new(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }
}

const COMMANDS: [&str; 4] = ["clear", "down", "up", "{...}"];

const COMMANDS_HINT: &str = "a line is a fault map ({latency: 200ms}), `clear`, `clear NAME`, `down refuse|blackhole|reset` or `up`";

/// Parses one stdin line.
pub fn parse_line(text: &str) -> Result<Line, InputError> {
    let text = text.trim();
    if text.is_empty() || text.starts_with('#') {
        return Ok(Line::Nothing);
    }
    if text.starts_with('{') {
        return parse_fault(text).map(Line::Fault);
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    match words.as_slice() {
        ["clear"] => Ok(Line::Clear(None)),
        ["clear", name] => Ok(Line::Clear(Some((*name).to_owned()))),
        ["up"] => Ok(Line::Up),
        ["down", mode] => DownMode::ALL
            .into_iter()
            .find(|m| m.name() == *mode)
            .map(Line::Down)
            .ok_or_else(|| {
                let names: Vec<&str> = DownMode::ALL.iter().map(|m| m.name()).collect();
                let hint = match closest(mode, &names) {
                    Some(name) => format!("did you mean `down {name}`?"),
                    None => "write `down refuse`, `down blackhole` or `down reset`".to_owned(),
                };
                InputError::new(format!("unknown down mode `{mode}`"), hint)
            }),
        ["down"] => Err(InputError::new(
            "`down` needs a mode",
            "write `down refuse`, `down blackhole` or `down reset`",
        )),
        [word, ..] => {
            let hint = match closest(word, &COMMANDS) {
                Some(command) if command != "{...}" => format!("did you mean `{command}`?"),
                _ => COMMANDS_HINT.to_owned(),
            };
            Err(InputError::new(format!("unknown command `{text}`"), hint))
        }
        [] => Ok(Line::Nothing),
    }
}

/// Parses a fault map in YAML flow style (`{cut: reset, after_bytes: 100}`)
/// into keys and scalar values, then builds the fault; the first problem is
/// returned, with the rest counted in its message.
pub fn parse_fault(text: &str) -> Result<FaultSpec, InputError> {
    let pairs = pairs(text)?;
    FaultSpec::from_pairs(&pairs).map_err(|errors| {
        let first = &errors[0];
        let mut message = first.to_string();
        if errors.len() > 1 {
            message.push_str(&format!(" (and {} more)", errors.len() - 1));
        }
        InputError {
            message,
            hint: first.hint(),
        }
    })
}

/// Returns the keys and scalar values of a YAML map, as text.
fn pairs(text: &str) -> Result<Vec<(String, String)>, InputError> {
    let value: serde_yaml::Value = serde_yaml::from_str(text).map_err(|error| {
        InputError::new(
            format!("not a YAML map: {error}"),
            "write a fault as a flow map: {cut: reset, after_bytes: 100}; quote a regex with `,` or `}`: {on: \"a,b\", drop: true}",
        )
    })?;
    let serde_yaml::Value::Mapping(map) = value else {
        return Err(InputError::new(
            "a fault is a map of keys and values",
            "e.g. {latency: 200ms, direction: to_client}",
        ));
    };
    map.into_iter()
        .map(|(key, value)| {
            let key = scalar(key)
                .ok_or_else(|| InputError::new("a fault's keys are words", "e.g. {cut: reset}"))?;
            let value = scalar(value).ok_or_else(|| {
                InputError::new(
                    format!("expected a single value for `{key}`, found a list or a map"),
                    "values are plain: {slice: 8, gap: 5ms}",
                )
            })?;
            Ok((key, value))
        })
        .collect()
}

/// Returns a scalar as it reads: `200ms`, `100`, `true`; nothing for a null.
fn scalar(value: serde_yaml::Value) -> Option<String> {
    match value {
        serde_yaml::Value::Null => Some(String::new()),
        serde_yaml::Value::Bool(flag) => Some(flag.to_string()),
        serde_yaml::Value::Number(number) => Some(number.to_string()),
        serde_yaml::Value::String(text) => Some(text),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::{Cut, FaultKind, Trigger};

    #[test]
    fn flow_maps_become_faults() {
        let spec = parse_fault("{cut: reset, after_bytes: 100, direction: to_server}").unwrap();
        assert_eq!(spec.kind, FaultKind::Cut(Cut::Reset));
        assert_eq!(spec.trigger, Trigger::AfterBytes(100));
        let on = parse_fault(r#"{stall: true, on: "^QUIT\r\n"}"#).unwrap();
        let Trigger::On(pattern) = &on.trigger else {
            panic!()
        };
        assert_eq!(pattern.source(), "^QUIT\r\n");
        assert_eq!(
            parse_fault("{probability: .5, drop: true}")
                .unwrap()
                .probability,
            0.5
        );
    }

    #[test]
    fn bad_faults_say_what_and_how() {
        let error = parse_fault("{latency: 200}").unwrap_err();
        assert_eq!(
            error.message,
            "expected a duration with a unit for `latency`, found `200`"
        );
        assert!(error.hint.unwrap().contains("200ms"));
        let error = parse_fault("{cut: reset, after_bites: 1, jitter: 1ms}").unwrap_err();
        assert_eq!(
            error.message,
            "unknown key `after_bites` in a fault (and 1 more)"
        );
        assert_eq!(error.hint.as_deref(), Some("did you mean `after_bytes`?"));
        assert!(
            parse_fault("{cut: [reset]}")
                .unwrap_err()
                .message
                .contains("list or a map")
        );
        assert!(
            parse_fault("{cut: reset")
                .unwrap_err()
                .message
                .starts_with("not a YAML map")
        );
        assert!(parse_fault("- cut").unwrap_err().message.contains("map"));
    }

    #[test]
    fn commands_read_with_did_you_mean() {
        assert_eq!(parse_line("clear"), Ok(Line::Clear(None)));
        assert_eq!(
            parse_line(" clear slow "),
            Ok(Line::Clear(Some("slow".into())))
        );
        assert_eq!(
            parse_line("down blackhole"),
            Ok(Line::Down(DownMode::Blackhole))
        );
        assert_eq!(parse_line("up"), Ok(Line::Up));
        assert_eq!(parse_line("# note"), Ok(Line::Nothing));
        assert_eq!(
            parse_line("down refuze").unwrap_err().hint.as_deref(),
            Some("did you mean `down refuse`?")
        );
        assert_eq!(
            parse_line("clera").unwrap_err().hint.as_deref(),
            Some("did you mean `clear`?")
        );
        assert_eq!(
            parse_line("launch").unwrap_err().hint.as_deref(),
            Some(COMMANDS_HINT)
        );
        assert!(matches!(parse_line("{drop: true}"), Ok(Line::Fault(_))));
    }
}
