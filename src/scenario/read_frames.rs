//! Reads what frames need: `framing:` (through [`FramingSpec::parse`]), the `rules:` of a rule-based fake server, and the patterns of `expect_frame`, each error at its line and column.

use super::data::Data;
use super::diagnostic::{describe, quote};
use super::frames::{FramePatternSpec, ReplySpec, RuleSpec, RulesSpec, scenario_names};
use super::read_data::DATA_KEYS;
use super::reader::{Fields, Reader};
use super::suggest;
use super::yaml::{Kind, Node};
use crate::framing::{FramePattern, FramingSpec, HexPattern, Location, PatternError, Written};
use crate::rules::{After, Close, Predicate};

/// The keys of one rule, in the order messages list them.
pub(crate) const RULE_KEYS: &[&str] =
    &["name", "when", "reply", "replies", "times", "delay", "then"];

/// The keys of a predicate (`when:`), in the order messages list them.
pub(crate) const PREDICATE_KEYS: &[&str] = &[
    Predicate::LEAF_KEYS[0],
    Predicate::LEAF_KEYS[1],
    Predicate::LEAF_KEYS[2],
    Predicate::LEAF_KEYS[3],
    Predicate::LEAF_KEYS[4],
    Predicate::LEAF_KEYS[5],
    "not",
    "any_of",
    "all_of",
    "any",
];

/// What `then:` takes.
pub(crate) const THEN: [(&str, After); 4] = [
    ("fin", After::Fin),
    ("reset", After::Reset),
    ("half_close", After::HalfClose),
    ("stall", After::Stall),
];

/// The keys of an `expect_frame` pattern that say what it matches.
pub(crate) const PATTERN_KEYS: [&str; 3] = FramePattern::KEYS;

/// How deep `not`, `any_of` and `all_of` may nest.
const MAX_DEPTH: usize = 32;

const PREDICATE_HINT: &str = "a predicate is `any`, or a map with one key: `{equals: QUIT}`, `{starts_with: \"EHLO \"}`, `{ends_with: x}`, `{contains: x}`, `{regex: '^MAIL FROM:<(?<from>[^>]+)>$'}`, `{hex: \"01 ?? 00\"}`, `{not: ...}`, `{any_of: [...]}` or `{all_of: [...]}`";

const REPLY_HINT: &str = "a reply is data (`\"250 ok\\r\\n\"`, `{hex: \"00 01\"}`, `{base64: ...}`), `{close: fin}`, `{close: reset}` or `{stall: true}`";

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

    /// Reads `rules:`, a list of rules; `own_file` names the file in
    /// transcripts (`rule ehlo (smtp.yaml:7) matched ...`).
    pub(crate) fn rules(&mut self, node: &Node, own_file: &str) -> Option<RulesSpec> {
        let Kind::Seq(items) = &node.kind else {
            let message = format!(
                "expected a list of rules for `rules`, found {}",
                describe(node)
            );
            let hint = "for example `rules: [{when: {equals: PING}, reply: \"+PONG\\r\\n\"}]`";
            self.error(node, message, Some(hint.into()));
            return None;
        };
        let before = self.error_count();
        let rules: Vec<Option<RuleSpec>> = items.iter().map(|item| self.rule(item)).collect();
        let mut names: Vec<(&str, &Node)> = Vec::new();
        for (item, rule) in items.iter().zip(&rules) {
            let Some(name) = rule.as_ref().and_then(|r| r.name.as_deref()) else {
                continue;
            };
            if names.iter().any(|(n, _)| *n == name) {
                let at = item
                    .entries()
                    .and_then(|e| e.iter().find(|(k, _)| k.scalar() == Some("name")))
                    .map_or(item, |(_, v)| v);
                let message = format!("two rules are named `{name}`");
                self.error(
                    at,
                    message,
                    Some("give each rule its own name, so that transcripts tell them apart".into()),
                );
            }
            names.push((name, item));
        }
        let rules: Option<Vec<RuleSpec>> = rules.into_iter().collect();
        (self.error_count() == before).then_some(RulesSpec {
            file: own_file.to_owned(),
            rules: rules?,
        })
    }

    fn rule(&mut self, item: &Node) -> Option<RuleSpec> {
        let fields = self.fields(item, RULE_KEYS, "a rule", placed_in_rule)?;
        if item.is_null() {
            self.error(item, "expected a rule, found nothing", Some("a rule is a map: `{when: {equals: QUIT}, reply: \"221 bye\\r\\n\", then: fin}`".into()));
            return None;
        }
        let name = fields.get("name").and_then(|n| self.word(n, "`name`"));
        let when = match fields.get("when") {
            Some(node) => self.predicate(node, 0),
            None => {
                let message = "a rule needs `when:`, the frames it applies to";
                let hint =
                    "for example `when: {starts_with: \"EHLO \"}`, or `when: any` for every frame";
                self.error(item, message, Some(hint.into()));
                None
            }
        };
        let replies = match (fields.get("reply"), fields.get("replies")) {
            (Some(_), Some(second)) => {
                let at = fields.key("replies").unwrap_or(second);
                let hint = "`reply:` is used every time; `replies:` is a list used in turn, the last one repeating: keep one";
                self.error(
                    at,
                    "`replies` cannot be combined with `reply:`",
                    Some(hint.into()),
                );
                None
            }
            (Some(node), None) => self.reply(node).map(|r| vec![r]),
            (None, Some(node)) => match &node.kind {
                Kind::Seq(items) if !items.is_empty() => {
                    let replies: Vec<Option<ReplySpec>> =
                        items.iter().map(|item| self.reply(item)).collect();
                    replies.into_iter().collect()
                }
                _ => {
                    let message = format!(
                        "expected a list of replies for `replies`, found {}",
                        describe(node)
                    );
                    let hint = "for example `replies: [\"354 go ahead\\r\\n\", {close: reset}]`";
                    self.error(node, message, Some(hint.into()));
                    None
                }
            },
            (None, None) => Some(Vec::new()),
        };
        let times = fields.get("times").map(|n| {
            self.number(n, "`times`", 1, u32::MAX.into())
                .map(|n| n as u32)
        });
        let delay = fields.get("delay").map(|n| self.duration(n, "`delay`"));
        let then = fields
            .get("then")
            .map(|n| self.choice(n, "`then` value", &THEN));
        let when = when?;
        let replies = replies?;
        if when.capture_names().contains(&"connection") {
            let at = fields.get("when").unwrap_or(item);
            let message = "a named group cannot be called `connection`: in replies, `${connection}` is the connection's number";
            self.error(
                at,
                message,
                Some("rename the group, e.g. `(?<conn>...)`".into()),
            );
            return None;
        }
        self.check_reply_names(&fields, &when, &replies);
        Some(RuleSpec {
            line: item.start.line,
            name,
            when,
            replies,
            times: match times {
                None => None,
                Some(times) => Some(times?),
            },
            delay: match delay {
                None => None,
                Some(delay) => Some(delay?),
            },
            then: match then {
                None => None,
                Some(then) => Some(then?),
            },
        })
    }

    /// Checks that each scenario variable in a rule's replies will have a
    /// value: names that are not `${connection}` nor the rule's groups.
    fn check_reply_names(&mut self, fields: &Fields<'_>, when: &Predicate, replies: &[ReplySpec]) {
        let Some(given) = self.given else {
            return;
        };
        let mut own = vec!["connection"];
        own.extend(when.capture_names());
        let nodes: Vec<&Node> = match (fields.get("reply"), fields.get("replies")) {
            (Some(node), _) => vec![node],
            (
                None,
                Some(Node {
                    kind: Kind::Seq(items),
                    ..
                }),
            ) => items.iter().collect(),
            _ => Vec::new(),
        };
        for (reply, node) in replies.iter().zip(nodes) {
            let ReplySpec::Data(Data::Text { text, .. }) = reply else {
                continue;
            };
            for name in scenario_names(text, &own) {
                if has_value(name, given) {
                    continue;
                }
                let groups: Vec<&str> = own[1..].to_vec();
                let near = suggest::closest(name, &own)
                    .map(|n| format!("did you mean `${{{n}}}`? "))
                    .unwrap_or_default();
                let groups = if groups.is_empty() {
                    "this rule's `when` captures no named group".to_owned()
                } else {
                    format!("this rule's `when` captures {}", suggest::list_all(&groups))
                };
                let message = format!(
                    "`${{{name}}}` has no value: it is not `${{connection}}`, not a named group of this rule, and no scenario variable"
                );
                let hint = format!(
                    "{near}{groups}; a scenario variable comes from `--var {name}=VALUE`, `${{env.NAME}}`, `${{port}}` or `${{tmp}}`"
                );
                self.error(node, message, Some(hint));
            }
        }
    }

    /// Reads a predicate: `any`, or a map with one predicate key.
    fn predicate(&mut self, node: &Node, depth: usize) -> Option<Predicate> {
        if depth > MAX_DEPTH {
            let message = format!(
                "predicates nest too deep: at most {MAX_DEPTH} levels of `not`, `any_of` and `all_of`"
            );
            self.error(node, message, None);
            return None;
        }
        if node.scalar() == Some("any") {
            return Some(Predicate::Any);
        }
        let Some(entries) = node.entries() else {
            let message = format!("expected a predicate, found {}", describe(node));
            let hint = match node.scalar().filter(|_| !node.is_null()) {
                Some(text) if suggest::closest(text, &["any"]).is_some() => {
                    "did you mean `any`?".to_owned()
                }
                Some(text) => format!(
                    "to match that exact frame, write `{{equals: {}}}`; {PREDICATE_HINT}",
                    quote(text).trim_matches('`')
                ),
                None => PREDICATE_HINT.to_owned(),
            };
            self.error(node, message, Some(hint));
            return None;
        };
        let [(key, value)] = entries else {
            let at = entries.get(1).map_or(node, |(k, _)| k);
            let message = if entries.is_empty() {
                "expected a predicate, found an empty map".to_owned()
            } else {
                "a predicate has one key; to require several, use `all_of: [...]`".to_owned()
            };
            self.error(at, message, Some(PREDICATE_HINT.into()));
            return None;
        };
        let Some(name) = key.scalar() else {
            self.error(
                key,
                format!("expected a predicate key, found {}", describe(key)),
                None,
            );
            return None;
        };
        match name {
            "any" => match self.boolean(value, "`any`")? {
                true => Some(Predicate::Any),
                false => {
                    self.error(
                        value,
                        "`any: false` matches no frame",
                        Some("leave the rule out, or write `when: any`".into()),
                    );
                    None
                }
            },
            "not" => Some(Predicate::Not(Box::new(self.predicate(value, depth + 1)?))),
            "any_of" | "all_of" => {
                let items = match &value.kind {
                    Kind::Seq(items) if !items.is_empty() => items,
                    _ => {
                        let message = format!(
                            "expected a list of one predicate or more for `{name}`, found {}",
                            if matches!(value.kind, Kind::Seq(_)) {
                                "an empty list".to_owned()
                            } else {
                                describe(value)
                            }
                        );
                        let hint = format!(
                            "for example `{name}: [{{starts_with: \"GET \"}}, {{starts_with: \"HEAD \"}}]`"
                        );
                        self.error(value, message, Some(hint));
                        return None;
                    }
                };
                let all: Vec<Option<Predicate>> = items
                    .iter()
                    .map(|item| self.predicate(item, depth + 1))
                    .collect();
                let all: Vec<Predicate> = all.into_iter().collect::<Option<_>>()?;
                Some(if name == "any_of" {
                    Predicate::AnyOf(all)
                } else {
                    Predicate::AllOf(all)
                })
            }
            "regex" => {
                // Checked as every regex is: its length, its compiled size,
                // the file's budget, with the same messages.
                let pattern = self.regex(value, "`regex`")?;
                if pattern.vars {
                    let message =
                        "a rule's `regex` takes no variables: `when` is matched as written";
                    self.error(value, message, Some("write the value itself; `${...}` in replies is filled from the rule's named groups".into()));
                    return None;
                }
                self.pattern_error(value, Predicate::leaf("regex", &pattern.source))
            }
            "hex" => {
                let text = self.text(value, "`hex`")?;
                self.pattern_error(value, Predicate::leaf("hex", &text))
            }
            "equals" | "starts_with" | "ends_with" | "contains" => {
                let text = self.text(value, &format!("`{name}`"))?;
                self.pattern_error(value, Predicate::leaf(name, &text))
            }
            other => {
                let hint = match other {
                    "startswith" | "starts" | "prefix" => "did you mean `starts_with`?".to_owned(),
                    "endswith" | "ends" | "suffix" => "did you mean `ends_with`?".to_owned(),
                    "matches" | "match" | "re" => "did you mean `regex`?".to_owned(),
                    "or" => "did you mean `any_of`?".to_owned(),
                    "and" => "did you mean `all_of`?".to_owned(),
                    "is" | "eq" | "equal" | "deep_equals" => "did you mean `equals`?".to_owned(),
                    _ => suggest::hint(other, PREDICATE_KEYS),
                };
                self.error(
                    key,
                    format!("unknown predicate {}", quote(other)),
                    Some(hint),
                );
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

    /// Reads one reply: data, `{close: fin|reset}` or `{stall: true}`.
    fn reply(&mut self, node: &Node) -> Option<ReplySpec> {
        if let Some(entries) = node.entries() {
            let special = entries
                .iter()
                .find(|(k, _)| matches!(k.scalar(), Some("close" | "stall")));
            if let Some((key, value)) = special {
                if let Some((extra, _)) = entries.iter().find(|(k, _)| k != key) {
                    let message = format!(
                        "`{}` cannot be combined with `{}:` in a reply",
                        extra.scalar().unwrap_or("…"),
                        key.scalar().unwrap_or("…")
                    );
                    self.error(extra, message, Some(REPLY_HINT.into()));
                    return None;
                }
                return match key.scalar() {
                    Some("close") => self
                        .choice(
                            value,
                            "close kind",
                            &[
                                ("fin", Close::Fin),
                                ("reset", Close::Reset),
                                ("rst", Close::Reset),
                            ],
                        )
                        .map(ReplySpec::Close),
                    _ => match self.boolean(value, "`stall`")? {
                        true => Some(ReplySpec::Stall),
                        false => {
                            self.error(
                                value,
                                "`stall: false` is no reply",
                                Some(REPLY_HINT.into()),
                            );
                            None
                        }
                    },
                };
            }
        }
        if matches!(node.kind, Kind::Seq(_)) || node.is_null() {
            let message = format!("expected a reply, found {}", describe(node));
            self.error(node, message, Some(REPLY_HINT.into()));
            return None;
        }
        let fields = self.fields_for_data(node)?;
        // The rule's own names are filled in per frame; scenario variables
        // are checked with the rule (`check_reply_names`).
        let given = self.given.take();
        let data = self.data(&fields, node, Some("reply"));
        self.given = given;
        data.map(ReplySpec::Data)
    }

    /// Reads a data argument (a scalar is `text`) whose keys are the data keys.
    fn fields_for_data<'n>(&mut self, node: &'n Node) -> Option<Fields<'n>> {
        self.args(
            Some(node),
            Some("text"),
            &DATA_KEYS,
            "a reply",
            "data, `{close: ...}` or `{stall: true}`",
        )
    }

    /// Reads an `expect_frame` pattern from `fields`: exactly one of
    /// `regex`, `text` or `hex`, and `prefix`.
    pub(crate) fn frame_pattern(
        &mut self,
        fields: &Fields<'_>,
        item: &Node,
        step: &str,
    ) -> Option<FramePatternSpec> {
        let given: Vec<&str> = PATTERN_KEYS
            .iter()
            .copied()
            .filter(|key| fields.get(key).is_some())
            .collect();
        let prefix = match fields.get("prefix") {
            Some(node) => self.boolean(node, "`prefix`")?,
            None => false,
        };
        let key = match given.as_slice() {
            [] => {
                let message = format!(
                    "`{step}` needs a pattern: a regex, or a map with `regex:`, `text:` or `hex:`"
                );
                let hint = format!(
                    "for example `- {step}: \"^PONG$\"`, `- {step}: {{text: PONG}}` or `- {step}: {{hex: \"00 04 ?? ??\"}}`"
                );
                self.error(item, message, Some(hint));
                return None;
            }
            [one] => *one,
            [first, second, ..] => {
                let at = fields.key(second).unwrap_or(item);
                let message = format!("`{second}` cannot be combined with `{first}:`");
                self.error(
                    at,
                    message,
                    Some("a frame pattern is one of `regex:`, `text:` or `hex:`".into()),
                );
                return None;
            }
        };
        let node = fields.get(key)?;
        if prefix && key == "regex" {
            let at = fields.key("prefix").unwrap_or(node);
            let error = PatternError::PrefixWithRegex;
            self.error(at, error.to_string(), Some(error.hint()));
            return None;
        }
        match key {
            "regex" => {
                let checked = self.regex(node, "`regex`")?;
                let stand_in = if checked.vars {
                    let mut text = checked.source.clone();
                    for name in crate::vars::names(&checked.source)
                        .map(str::to_owned)
                        .collect::<Vec<_>>()
                    {
                        text = text.replace(&format!("${{{name}}}"), "(?:)");
                    }
                    text
                } else {
                    checked.source.clone()
                };
                let pattern = match self.frame_regexes.get(&stand_in) {
                    Some(pattern) => pattern.clone(),
                    None => {
                        let pattern =
                            self.pattern_error(node, FramePattern::new("regex", &stand_in, false))?;
                        self.frame_regexes.insert(stand_in, pattern.clone());
                        pattern
                    }
                };
                Some(FramePatternSpec {
                    key: "regex",
                    source: checked.source,
                    prefix: false,
                    pattern,
                    vars: checked.vars,
                })
            }
            "text" => {
                let text = self.text(node, "`text`")?;
                self.check_variables(node, &text);
                let vars = crate::vars::has_placeholders(&text);
                let pattern = FramePattern::new("text", &text, prefix).ok()?;
                Some(FramePatternSpec {
                    key: "text",
                    source: text,
                    prefix,
                    pattern,
                    vars,
                })
            }
            _ => {
                let text = self.text(node, "`hex`")?;
                let pattern = self
                    .pattern_error(node, HexPattern::new(&text, prefix).map(FramePattern::Hex))?;
                Some(FramePatternSpec {
                    key: "hex",
                    source: text,
                    prefix,
                    pattern,
                    vars: false,
                })
            }
        }
    }

    /// Reads `skip:` of `expect_frame`.
    pub(crate) fn skip(&mut self, fields: &Fields<'_>) -> Option<bool> {
        match fields.get("skip") {
            Some(node) => self.boolean(node, "`skip`"),
            None => Some(false),
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

/// Returns true when a scenario variable will have a value: a built-in,
/// an environment variable that is set, or a value given on the command line.
fn has_value(name: &str, given: &crate::vars::Given) -> bool {
    match name.strip_prefix("env.") {
        Some(env) => std::env::var_os(env).is_some(),
        None => matches!(name, "port" | "tmp") || given.values.contains_key(name),
    }
}

fn placed_in_rule(key: &str) -> Option<String> {
    match key {
        k if PREDICATE_KEYS.contains(&k) => Some(format!(
            "`{key}` is a predicate; predicates go under `when:`, e.g. `when: {{{key}: ...}}`"
        )),
        "close" | "stall" => Some(format!(
            "`{key}` is a reply; write `reply: {{{key}: ...}}`, or `then: fin` after a reply"
        )),
        "response" | "responses" | "respond" | "answer" => {
            Some("did you mean `reply` (one reply) or `replies` (several, in turn)?".into())
        }
        "wait" | "sleep" | "after" => {
            Some("did you mean `delay`? (`delay: 250ms` before replying)".into())
        }
        "repeat" | "count" | "limit" => {
            Some("did you mean `times`? (the rule applies N times per connection)".into())
        }
        "close_after" | "after_reply" => {
            Some("did you mean `then`? (`then: fin` after replying)".into())
        }
        _ => None,
    }
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
