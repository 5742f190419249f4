//! Reads the `rules:` of a rule-based fake server: each rule, its predicate (`when:`) and its replies, each error at its line and column.

use super::super::data::Data;
use super::super::diagnostic::{describe, quote};
use super::super::frames::{ReplySpec, RuleSpec, RulesSpec, scenario_names};
use super::super::read_data::DATA_KEYS;
use super::super::reader::{Fields, Reader};
use super::super::suggest;
use super::super::yaml::{Kind, Node};
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

/// How deep `not`, `any_of` and `all_of` may nest.
const MAX_DEPTH: usize = 32;

const PREDICATE_HINT: &str = "a predicate is `any`, or a map with one key: `{equals: QUIT}`, `{starts_with: \"EHLO \"}`, `{ends_with: x}`, `{contains: x}`, `{regex: '^MAIL FROM:<(?<from>[^>]+)>$'}`, `{hex: \"01 ?? 00\"}`, `{not: ...}`, `{any_of: [...]}` or `{all_of: [...]}`";

const REPLY_HINT: &str = "a reply is data (`\"250 ok\\r\\n\"`, `{hex: \"00 01\"}`, `{base64: ...}`), `{close: fin}`, `{close: reset}` or `{stall: true}`";

impl Reader<'_> {
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
