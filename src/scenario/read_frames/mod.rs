//! Reads what frames need: `framing:` (through [`FramingSpec::parse`]), the `rules:` of a rule-based fake server, and the patterns of `expect_frame`, each error at its line and column.
//!
//! - `rules`: the `rules:` of a rule-based fake server: rules, predicates, replies.
//! - `pattern`: the patterns of `expect_frame`, and its `skip:`.
//!
//! This module reads `framing:` itself.

mod pattern;
mod rules;

use super::diagnostic::describe;
use super::reader::Reader;
use super::yaml::{Kind, Node};
use crate::framing::{FramingSpec, Location, PatternError, Written};

impl Reader<'_> {
    /// Reads `framing:`: `line`, `crlf`, or a map of keys to scalars, through
    /// [`FramingSpec::parse`]; its errors point at the key or value they name.
    pub(crate) fn framing(&mut self, node: &Node) -> Option<FramingSpec> {
        let result = match &node.kind {
            Kind::Scalar(text, _) if !node.is_null() => {
                FramingSpec::parse(Written::Shorthand(text))
            }
            Kind::Map(entries) => {
                let mut pairs = Vec::with_capacity(entries.len());
                for (key, value) in entries {
                    let Some(name) = key.scalar() else {
                        let message = format!("expected a framing key, found {}", describe(key));
                        self.error(key, message, None);
                        return None;
                    };
                    let Some(text) = value.scalar().filter(|_| !value.is_null()) else {
                        let message = format!(
                            "expected a value for framing key `{name}`, found {}",
                            describe(value)
                        );
                        let hint =
                            "framing values are scalars: `{length: u16be, adjust: -2, max: 64KiB}`";
                        self.error(value, message, Some(hint.into()));
                        return None;
                    };
                    pairs.push((name, text));
                }
                FramingSpec::parse(Written::Map(&pairs))
            }
            _ => {
                let message = format!(
                    "expected `line`, `crlf` or a map such as `{{length: u32be}}` for `framing`, found {}",
                    describe(node)
                );
                let hint = "for example `framing: crlf`, `framing: {delimiter: \"\\0\"}` or `framing: {length: u16be, max: 64KiB}`";
                self.error(node, message, Some(hint.into()));
                return None;
            }
        };
        match result {
            Ok(spec) => Some(spec),
            Err(error) => {
                let at = match error.location() {
                    Location::Whole => node,
                    Location::Key(key) => entry(node, key).map_or(node, |(k, _)| k),
                    Location::Value(key) => entry(node, key).map_or(node, |(_, v)| v),
                };
                self.error(at, error.to_string(), Some(error.hint()));
                None
            }
        }
    }

    /// Reports a pattern error at `node`, or returns the value.
    fn pattern_error<T>(&mut self, node: &Node, result: Result<T, PatternError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.error(node, error.to_string(), Some(error.hint()));
                None
            }
        }
    }
}

/// Returns the entry of the map `node` whose key is `key`.
fn entry<'n>(node: &'n Node, key: &str) -> Option<(&'n Node, &'n Node)> {
    node.entries()?
        .iter()
        .find(|(k, _)| k.scalar() == Some(key))
        .map(|(k, v)| (k, v))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::rules::{After, Close, Predicate};
    use crate::scenario::types::{ReplySpec, ServerSpec};
    use crate::scenario::{LoadError, Scenario, Step, load_str};

    fn load(server: &str, client: &str, steps: &str) -> Result<Scenario, LoadError> {
        let source = format!("server:\n{server}client: {client}\nsteps:\n{steps}");
        load_str(Path::new("smtp.yaml"), &source)
    }

    /// Returns the (line, col, message, hint) of every error.
    fn errors(server: &str, client: &str, steps: &str) -> Vec<(usize, usize, String, String)> {
        match load(server, client, steps) {
            Ok(_) => panic!("loads"),
            Err(error) => error
                .diagnostics()
                .iter()
                .map(|d| {
                    (
                        d.line,
                        d.col,
                        d.message.clone(),
                        d.hint.clone().unwrap_or_default(),
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn reads_framing_on_clients_and_fake_servers() {
        let scenario = load(
            "  fake: echo\n  framing: {length: u16be, adjust: -2, max: 1KiB}\n",
            "{framing: crlf}",
            "  - send_frame: PING\n  - expect_frame: {hex: \"50 49 ?? 47\"}\n  - server_expect_frame: {text: PING, skip: true}\n",
        )
        .unwrap();
        let ServerSpec::Fake(fake) = &scenario.server else {
            panic!()
        };
        assert_eq!(
            fake.framing.as_ref().unwrap().to_string(),
            "{length: u16be, adjust: -2, max: 1KiB}"
        );
        assert_eq!(
            scenario.clients[0].framing.as_ref().unwrap().to_string(),
            "crlf"
        );
        assert!(matches!(
            &scenario.steps[2].value,
            Step::ServerExpectFrame { skip: true, .. }
        ));
    }

    #[test]
    fn framing_errors_point_at_the_key_or_value_they_name() {
        let found = errors(
            "  fake: echo\n  framing: {length: u16, adjsut: 2}\n",
            "{}",
            "  - wait_connected\n",
        );
        assert_eq!(found[0].0, 3);
        assert_eq!(found[0].1, 26, "{found:?}");
        assert!(
            found[0].2.starts_with("unknown framing key `adjsut`"),
            "{found:?}"
        );
        assert_eq!(found[0].3, "did you mean `adjust`?");
        let found = errors(
            "  fake: echo\n",
            "{framing: {length: u16}}",
            "  - wait_connected\n",
        );
        assert_eq!((found[0].0, found[0].1), (3, 28), "{found:?}");
        assert!(found[0].3.contains("`u16be`"), "{found:?}");
        let found = errors("  fake: echo\n", "{framing: lines}", "  - wait_connected\n");
        assert_eq!((found[0].0, found[0].1), (3, 19));
        let found = errors(
            "  command: [srv]\n  framing: line\n",
            "{}",
            "  - wait_connected\n",
        );
        assert!(
            found[0]
                .2
                .contains("`framing` only applies to a fake server"),
            "{found:?}"
        );
        let found = errors(
            "  fake: echo\n",
            "{command: [cli], framing: line}",
            "  - wait_connected\n",
        );
        assert!(
            found[0]
                .2
                .contains("`framing` cannot be combined with `command:`"),
            "{found:?}"
        );
    }

    #[test]
    fn frame_steps_need_framing_where_they_act() {
        let found = errors(
            "  fake: echo\n",
            "{}",
            "  - send_frame: PING\n  - server_expect_frame: PING\n",
        );
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0]
                .2
                .contains("`send_frame` needs `framing:` on client `client`"),
            "{found:?}"
        );
        assert!(
            found[1]
                .2
                .contains("`server_expect_frame` needs `framing:` on the server"),
            "{found:?}"
        );
        // A rules server frames by line when it says nothing.
        load(
            "  fake: rules\n  rules: [{when: any}]\n",
            "{}",
            "  - server_send_frame: hi\n  - server_expect_frame: hi\n",
        )
        .unwrap();
    }

    #[test]
    fn a_frame_that_cannot_be_encoded_is_an_error_at_load() {
        let found = errors(
            "  fake: echo\n",
            "{framing: crlf}",
            "  - send_frame: \"a\\r\\nb\"\n",
        );
        assert!(
            found[0].2.contains("holds \"\\r\\n\" at byte 1"),
            "{found:?}"
        );
        let found = errors(
            "  fake: echo\n",
            "{framing: {fixed: 4}}",
            "  - send_frame: {hex: \"01 02\"}\n",
        );
        assert!(
            found[0]
                .2
                .contains("`fixed: 4` frames hold 4 bytes, and the payload has 2"),
            "{found:?}"
        );
    }

    #[test]
    fn frame_patterns_take_one_kind_with_located_errors() {
        let found = errors(
            "  fake: echo\n",
            "{framing: line}",
            "  - expect_frame: {hex: \"01 0g\"}\n  - expect_frame: {text: a, hex: \"01\"}\n  - expect_frame: {regex: a, prefix: true}\n  - expect_frame: {skip: true}\n  - expect_frame: \"(\"\n",
        );
        assert_eq!(found.len(), 5, "{found:?}");
        assert!(found[0].2.contains("at column 4, found `0g`"), "{found:?}");
        assert!(
            found[1].2.contains("`hex` cannot be combined with `text:`"),
            "{found:?}"
        );
        assert!(
            found[2].2.contains("`prefix` applies to `text` and `hex`"),
            "{found:?}"
        );
        assert!(found[3].2.contains("needs a pattern"), "{found:?}");
        assert!(found[4].2.starts_with("invalid regex"), "{found:?}");
    }

    #[test]
    fn reads_rules_with_every_predicate_and_reply_form() {
        let server = r#"  fake: rules
  framing: crlf
  banner: "220 fake ${connection}\r\n"
  rules:
    - name: ehlo
      when: {starts_with: "EHLO "}
      reply: "250 hello\r\n"
    - when: {regex: '^MAIL FROM:<(?<from>[^>]+)>$'}
      reply: "250 ${from} ok\r\n"
      times: 2
      delay: 250ms
    - when: {equals: DATA}
      replies: ["354 go ahead\r\n", {close: reset}, {stall: true}, {hex: "00"}]
    - when: {not: {any_of: [{ends_with: x}, {contains: y}, {hex: "01 ??"}]}}
      then: half_close
    - when: {all_of: [{equals: QUIT}, any]}
      reply: "221 bye\r\n"
      then: fin
    - when: any
"#;
        let scenario = load(server, "{}", "  - wait_connected\n").unwrap();
        let ServerSpec::Fake(fake) = &scenario.server else {
            panic!()
        };
        let rules = fake.rules.as_ref().unwrap();
        assert_eq!(rules.rules.len(), 6);
        assert_eq!(rules.labels()[0], "ehlo (smtp.yaml:6)");
        assert_eq!(rules.labels()[1], "2 (smtp.yaml:9)");
        assert_eq!(rules.rules[1].times, Some(2));
        assert_eq!(
            rules.rules[1].delay,
            Some(std::time::Duration::from_millis(250))
        );
        assert_eq!(rules.rules[2].replies[1], ReplySpec::Close(Close::Reset));
        assert_eq!(rules.rules[2].replies[2], ReplySpec::Stall);
        assert_eq!(rules.rules[3].then, Some(After::HalfClose));
        assert!(matches!(rules.rules[3].when, Predicate::Not(_)));
        assert_eq!(rules.rules[5].when, Predicate::Any);
        assert!(rules.rules[5].replies.is_empty());
    }

    #[test]
    fn rule_errors_are_located_with_did_you_mean() {
        let server = r#"  fake: rules
  rules:
    - when: {startswith: "EHLO "}
    - when: {regex: "(unclosed"}
    - when: {equals: QUIT}
      reply: {close: finn}
    - when: QUIT
    - when: any
      reply: hi
      replies: [hi]
    - reply: hi
    - when: any
      respond: hi
    - when: {regex: '(?<connection>.)'}
    - when: {equals: a, contains: b}
      then: close
"#;
        let found = errors(server, "{}", "  - wait_connected\n");
        let messages: Vec<String> = found
            .iter()
            .map(|f| format!("{}:{} {} | {}", f.0, f.1, f.2, f.3))
            .collect();
        let expected = [
            "4:14 unknown predicate `startswith` | did you mean `starts_with`?",
            "5:21 invalid regex",
            "7:22 unknown close kind `finn`",
            "8:13 expected a predicate, found `QUIT` | to match that exact frame, write `{equals: QUIT}`",
            "11:7 `replies` cannot be combined with `reply:`",
            "12:7 a rule needs `when:`",
            "14:7 unknown key `respond` in a rule | did you mean `reply`",
            "15:13 a named group cannot be called `connection`",
            "16:25 a predicate has one key",
            "17:13 unknown `then` value `close`",
        ];
        assert_eq!(messages.len(), expected.len(), "{messages:#?}");
        for (message, expected) in messages.iter().zip(expected) {
            assert!(
                message.starts_with(expected.split(" | ").next().unwrap()),
                "{message} vs {expected}"
            );
            if let Some(hint) = expected.split(" | ").nth(1) {
                assert!(message.contains(hint), "{message} vs {expected}");
            }
        }
        let found = errors("  fake: rules\n", "{}", "  - wait_connected\n");
        assert!(
            found[0].2.contains("`fake: rules` needs `rules:`"),
            "{found:?}"
        );
        let found = errors("  fake: echo\n  rules: []\n", "{}", "  - wait_connected\n");
        assert!(
            found[0].2.contains("`rules` only applies to `fake: rules`"),
            "{found:?}"
        );
    }

    #[test]
    fn reply_variables_are_checked_when_values_are_given() {
        let source = "server:\n  fake: rules\n  rules:\n    - when: {regex: '^EHLO (?<host>.+)$'}\n      reply: \"250 ${hots} ${port} ${connection}\"\nclient: {}\nsteps:\n  - wait_connected\n";
        let given = crate::vars::Given::default();
        let error = crate::scenario::read_file::load(Path::new("x.yaml"), source, Some(&given))
            .unwrap_err();
        let diagnostics = error.diagnostics();
        assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
        assert_eq!((diagnostics[0].line, diagnostics[0].col), (5, 14));
        assert!(diagnostics[0].message.contains("`${hots}` has no value"));
        assert!(
            diagnostics[0]
                .hint
                .as_deref()
                .unwrap()
                .starts_with("did you mean `${host}`?")
        );
        // Without values to check against, they are checked when the server starts.
        load_str(Path::new("x.yaml"), source).unwrap();
    }
}
