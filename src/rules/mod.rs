//! Runs the rules of a rule-based fake server (mountebank-like), as pure logic over frames: no sockets, no clock.
//!
//! A [`RuleSet`] holds an optional banner and the [`Rule`]s in order; each
//! accepted connection gets a [`Session`], which turns each frame's payload
//! into an [`Outcome`]: the first rule that matches and the [`Action`]s to
//! carry out, in order (delay, reply, then). The caller cuts frames (see
//! [`crate::framing`]), reports the outcome, then carries out the actions.
//!
//! # Layout
//! - `predicate`: [`Predicate`], what a rule applies to.
//! - `reply`: [`Template`], [`Reply`], [`ReplyPlan`], [`Close`]: what it answers.
//! - `session`: [`Session`], [`Outcome`], [`Action`], [`RuleRef`]: one connection.

mod predicate;
mod reply;
mod session;

use std::time::Duration;

pub use predicate::Predicate;
pub use reply::{Close, Reply, ReplyPlan, Template};
pub use session::{Action, Outcome, RuleRef, Session};

/// Describes one rule: the frames it applies to and what the server does then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// A name for reports (`rule ehlo matched`).
    pub name: Option<String>,
    /// The frames it applies to.
    pub when: Predicate,
    /// What it answers: data, a close or a stall; several in turn.
    pub reply: ReplyPlan,
    /// Applies at most this many times on each connection (1 or more), then
    /// frames fall through to later rules; `None`: every time.
    pub times: Option<u32>,
    /// How long to wait before replying.
    pub delay: Option<Duration>,
    /// What to do after replying (not after a reply that closes or stalls).
    pub then: Option<After>,
}

/// Lists what a rule can do after its reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    /// `fin`: close with FIN.
    Fin,
    /// `reset`: close with RST.
    Reset,
    /// `half_close`: shut down writing, keep reading and matching.
    HalfClose,
    /// `stall`: stop reading, never answer or close.
    Stall,
}

/// Holds a server's rules, checked: the banner and the rules in order
/// (the first that matches a frame wins).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSet {
    banner: Option<Template>,
    rules: Vec<Rule>,
}

/// Reports rules that cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// A placeholder with no value: not `${connection}` and no group of the rule's regexes.
    #[error(
        "rule {}{}: reply {} uses `${{{name}}}`, which is neither `${{connection}}` nor a named \
         group of the rule's `when`", .rule + 1, named(.rule_name), .reply + 1
    )]
    UnknownName {
        /// The rule's index, from 0.
        rule: usize,
        /// The rule's name.
        rule_name: Option<String>,
        /// The reply's index in its list, from 0.
        reply: usize,
        /// The placeholder's name.
        name: String,
        /// The names the rule's regexes capture.
        known: Vec<String>,
    },
    /// A banner placeholder other than `${connection}`.
    #[error("the banner uses `${{{name}}}`; a banner knows only `${{connection}}`")]
    BannerName {
        /// The placeholder's name.
        name: String,
    },
    /// `times: 0`.
    #[error("rule {}{}: `times` is 0, so the rule never applies; expected 1 or more", .rule + 1, named(.rule_name))]
    ZeroTimes {
        /// The rule's index, from 0.
        rule: usize,
        /// The rule's name.
        rule_name: Option<String>,
    },
    /// An `any_of` or `all_of` with nothing in it.
    #[error("rule {}{}: `{key}` is empty; expected one predicate or more", .rule + 1, named(.rule_name))]
    EmptyList {
        /// The rule's index, from 0.
        rule: usize,
        /// The rule's name.
        rule_name: Option<String>,
        /// `any_of` or `all_of`.
        key: &'static str,
    },
}

fn named(name: &Option<String>) -> String {
    name.as_ref()
        .map(|n| format!(" (`{n}`)"))
        .unwrap_or_default()
}

impl RuleError {
    /// Returns the index (from 0) of the rule the error is about; `None` for the banner.
    pub fn rule(&self) -> Option<usize> {
        match self {
            RuleError::UnknownName { rule, .. }
            | RuleError::ZeroTimes { rule, .. }
            | RuleError::EmptyList { rule, .. } => Some(*rule),
            RuleError::BannerName { .. } => None,
        }
    }

    /// Returns how to fix it, with an example.
    pub fn hint(&self) -> String {
        match self {
            RuleError::UnknownName { name, known, .. } => {
                let near = known
                    .iter()
                    .find(|k| strsim::jaro_winkler(name, k) >= 0.8)
                    .map(|k| format!("did you mean `${{{k}}}`? "))
                    .unwrap_or_default();
                format!(
                    "{near}a named group of a `regex` predicate, such as `(?<host>\\S+)` in \
                     `{{regex: \"^EHLO (?<host>\\\\S+)\"}}`, becomes `${{host}}` in that rule's \
                     replies; scenario variables (`${{port}}`, `--var`) are replaced when the \
                     scenario loads"
                )
            }
            RuleError::BannerName { .. } => {
                "a banner is sent before any frame, so there is nothing captured yet: \
                 `banner: \"220 ready (connection ${connection})\\r\\n\"`"
                    .to_owned()
            }
            RuleError::ZeroTimes { .. } => {
                "`times: 1` applies the rule once per connection; leave `times` out for every time"
                    .to_owned()
            }
            RuleError::EmptyList { key, .. } => format!(
                "`{key}` takes a list of predicates: `{key}: [{{starts_with: \"GET \"}}, \
                 {{starts_with: \"HEAD \"}}]`"
            ),
        }
    }
}

impl RuleSet {
    /// Checks the rules and holds them: `times` is 1 or more, lists of
    /// predicates are not empty, and every `${name}` in a reply is
    /// `${connection}` or a group the rule's regexes can capture (the
    /// banner's, `${connection}` only). Other variables are the scenario
    /// loader's to replace before.
    pub fn new(banner: Option<Template>, rules: Vec<Rule>) -> Result<Self, RuleError> {
        if let Some(name) = banner
            .iter()
            .flat_map(Template::names)
            .find(|name| *name != reply::CONNECTION)
        {
            return Err(RuleError::BannerName {
                name: name.to_owned(),
            });
        }
        for (index, rule) in rules.iter().enumerate() {
            let rule_name = || rule.name.clone();
            if rule.times == Some(0) {
                return Err(RuleError::ZeroTimes {
                    rule: index,
                    rule_name: rule_name(),
                });
            }
            if let Some(key) = rule.when.empty_list() {
                return Err(RuleError::EmptyList {
                    rule: index,
                    rule_name: rule_name(),
                    key,
                });
            }
            let known = rule.when.capture_names();
            for (reply_index, reply) in rule.reply.replies.iter().enumerate() {
                let Reply::Data(template) = reply else {
                    continue;
                };
                if let Some(name) = template
                    .names()
                    .find(|name| *name != reply::CONNECTION && !known.contains(name))
                {
                    return Err(RuleError::UnknownName {
                        rule: index,
                        rule_name: rule_name(),
                        reply: reply_index,
                        name: name.to_owned(),
                        known: known.iter().map(|k| (*k).to_owned()).collect(),
                    });
                }
            }
        }
        Ok(Self { banner, rules })
    }

    /// Returns the rules, in order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Returns the banner.
    pub fn banner(&self) -> Option<&Template> {
        self.banner.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;

    use super::*;

    fn rule(when: Predicate, reply: &str) -> Rule {
        Rule {
            name: None,
            when,
            reply: ReplyPlan::one(Reply::Data(Template::new(reply.to_owned()))),
            times: None,
            delay: None,
            then: None,
        }
    }

    fn leaf(key: &str, text: &str) -> Predicate {
        Predicate::leaf(key, text).unwrap()
    }

    fn session(banner: Option<&str>, rules: Vec<Rule>) -> Session {
        let set = RuleSet::new(banner.map(|b| Template::new(b.to_owned())), rules).unwrap();
        Session::new(Arc::new(set), 1)
    }

    fn write(data: &str) -> Action {
        Action::Write(Bytes::copy_from_slice(data.as_bytes()))
    }

    #[test]
    fn the_first_matching_rule_wins_and_no_match_is_reported() {
        let mut named = rule(leaf("starts_with", "EHLO "), "250 first\r\n");
        named.name = Some("ehlo".into());
        let mut session = session(
            None,
            vec![
                named,
                rule(leaf("starts_with", "EHLO"), "250 second\r\n"),
                rule(leaf("equals", "QUIT"), "221 bye\r\n"),
            ],
        );
        let outcome = session.on_frame(b"EHLO x");
        assert_eq!(
            outcome.rule,
            Some(RuleRef {
                index: 0,
                name: Some("ehlo".into())
            })
        );
        assert_eq!(outcome.actions, [write("250 first\r\n")]);
        assert_eq!(session.on_frame(b"QUIT").rule.unwrap().index, 2);
        assert_eq!(
            session.on_frame(b"NOOP"),
            Outcome {
                rule: None,
                actions: vec![]
            }
        );
    }

    #[test]
    fn captures_and_the_connection_fill_the_reply_and_the_banner() {
        let rules = vec![rule(
            leaf("regex", r"^EHLO (?<host>\S+)$"),
            "250 ${host} on ${connection}\r\n",
        )];
        let set =
            Arc::new(RuleSet::new(Some(Template::new("220 c${connection}\r\n")), rules).unwrap());
        let mut third = Session::new(Arc::clone(&set), 3);
        assert_eq!(third.on_accept(), [write("220 c3\r\n")]);
        assert_eq!(
            third.on_frame(b"EHLO mx").actions,
            [write("250 mx on 3\r\n")]
        );
        let mut first = Session::new(set, 1);
        assert_eq!(
            first.on_frame(b"EHLO a.b").actions,
            [write("250 a.b on 1\r\n")]
        );
        assert_eq!(session(None, vec![]).on_accept(), []);
    }

    #[test]
    fn replies_go_in_turn_per_connection_and_the_last_repeats() {
        let mut counting = rule(Predicate::Any, "");
        counting.reply = ReplyPlan {
            replies: vec![
                Reply::Data(Template::new("one")),
                Reply::Data(Template::new("two")),
            ],
        };
        let set = Arc::new(RuleSet::new(None, vec![counting]).unwrap());
        let mut session = Session::new(Arc::clone(&set), 1);
        let replies: Vec<Vec<Action>> = (0..4).map(|_| session.on_frame(b"x").actions).collect();
        assert_eq!(
            replies,
            [
                vec![write("one")],
                vec![write("two")],
                vec![write("two")],
                vec![write("two")]
            ]
        );
        // A new connection starts the list again.
        assert_eq!(Session::new(set, 2).on_frame(b"x").actions, [write("one")]);
    }

    #[test]
    fn times_limits_a_rule_per_connection_then_frames_fall_through() {
        let mut once = rule(leaf("equals", "PING"), "first PONG");
        once.times = Some(2);
        let rules = vec![once, rule(leaf("equals", "PING"), "later PONG")];
        let set = Arc::new(RuleSet::new(None, rules).unwrap());
        let mut session = Session::new(Arc::clone(&set), 1);
        let got: Vec<usize> = (0..4)
            .map(|_| session.on_frame(b"PING").rule.unwrap().index)
            .collect();
        assert_eq!(got, [0, 0, 1, 1]);
        assert_eq!(
            Session::new(set, 2).on_frame(b"PING").rule.unwrap().index,
            0
        );
        // Used up and nothing after it: no rule matched.
        let mut only = rule(Predicate::Any, "x");
        only.times = Some(1);
        let mut session = self::session(None, vec![only]);
        assert!(session.on_frame(b"a").rule.is_some());
        assert!(session.on_frame(b"a").rule.is_none());
    }

    #[test]
    fn delay_comes_before_the_reply_and_then_after_it() {
        let mut slow = rule(leaf("equals", "QUIT"), "221 bye\r\n");
        slow.delay = Some(Duration::from_millis(250));
        slow.then = Some(After::Fin);
        let mut session = session(None, vec![slow]);
        assert_eq!(
            session.on_frame(b"QUIT").actions,
            [
                Action::Delay(Duration::from_millis(250)),
                write("221 bye\r\n"),
                Action::Close(Close::Fin)
            ]
        );
        assert!(session.is_over());
        assert_eq!(session.on_frame(b"QUIT").rule, None);
    }

    #[test]
    fn every_then_becomes_its_action() {
        for (then, action) in [
            (After::Fin, Action::Close(Close::Fin)),
            (After::Reset, Action::Close(Close::Reset)),
            (After::HalfClose, Action::HalfClose),
            (After::Stall, Action::Stall),
        ] {
            let mut closing = rule(Predicate::Any, "ok");
            closing.then = Some(then);
            let mut session = session(None, vec![closing]);
            assert_eq!(
                session.on_frame(b"x").actions,
                [write("ok"), action.clone()]
            );
            assert_eq!(session.is_over(), then != After::HalfClose, "{then:?}");
        }
    }

    #[test]
    fn after_a_half_close_rules_match_but_write_nothing() {
        let mut half = rule(leaf("equals", "BYE"), "bye");
        half.then = Some(After::HalfClose);
        let mut reset = rule(leaf("equals", "RST"), "");
        reset.reply = ReplyPlan::one(Reply::Close(Close::Reset));
        let mut session = session(None, vec![half, reset, rule(Predicate::Any, "echo")]);
        assert_eq!(
            session.on_frame(b"BYE").actions,
            [write("bye"), Action::HalfClose]
        );
        let later = session.on_frame(b"hello");
        assert_eq!((later.rule.unwrap().index, later.actions), (2, vec![]));
        assert_eq!(
            session.on_frame(b"RST").actions,
            [Action::Close(Close::Reset)]
        );
        assert!(session.is_over());
    }

    #[test]
    fn close_and_stall_replies_end_the_connection_and_skip_then() {
        let mut flaky = rule(Predicate::Any, "");
        flaky.reply = ReplyPlan {
            replies: vec![Reply::Data(Template::new("ok")), Reply::Stall],
        };
        flaky.then = Some(After::HalfClose);
        let mut session = session(None, vec![flaky]);
        assert_eq!(
            session.on_frame(b"a").actions,
            [write("ok"), Action::HalfClose]
        );
        assert_eq!(session.on_frame(b"a").actions, [Action::Stall]);
        assert!(session.is_over());
        let mut closer = rule(Predicate::Any, "");
        closer.reply = ReplyPlan::one(Reply::Close(Close::Fin));
        closer.then = Some(After::Reset);
        let mut session = self::session(None, vec![closer]);
        assert_eq!(session.on_frame(b"a").actions, [Action::Close(Close::Fin)]);
    }

    #[test]
    fn a_rule_without_reply_only_does_its_then() {
        let mut quiet = rule(leaf("hex", "00 ??"), "");
        quiet.reply = ReplyPlan::default();
        quiet.then = Some(After::Reset);
        let mut closing = session(None, vec![quiet]);
        assert_eq!(
            closing.on_frame(&[0, 7]).actions,
            [Action::Close(Close::Reset)]
        );
        let mut silent = session(None, vec![rule(Predicate::Any, "")]);
        let outcome = silent.on_frame(b"x");
        assert_eq!((outcome.rule.unwrap().index, outcome.actions), (0, vec![]));
    }

    #[test]
    fn rule_sets_are_checked() {
        let mut unknown = rule(leaf("regex", "(?<host>.+)"), "hi ${hots}");
        unknown.name = Some("ehlo".into());
        let error = RuleSet::new(None, vec![rule(Predicate::Any, "x"), unknown]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "rule 2 (`ehlo`): reply 1 uses `${hots}`, which is neither `${connection}` nor a \
             named group of the rule's `when`"
        );
        assert_eq!(error.rule(), Some(1));
        assert!(
            error.hint().starts_with("did you mean `${host}`?"),
            "{}",
            error.hint()
        );
        // A group under `not` never captures.
        let negated = rule(Predicate::Not(Box::new(leaf("regex", "(?<x>.)"))), "${x}");
        assert!(matches!(
            RuleSet::new(None, vec![negated]),
            Err(RuleError::UnknownName { .. })
        ));
        let error = RuleSet::new(Some(Template::new("hi ${host}")), vec![]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the banner uses `${host}`; a banner knows only `${connection}`"
        );
        let mut never = rule(Predicate::Any, "x");
        never.times = Some(0);
        let error = RuleSet::new(None, vec![never]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "rule 1: `times` is 0, so the rule never applies; expected 1 or more"
        );
        let empty = rule(Predicate::AllOf(vec![]), "x");
        let error = RuleSet::new(None, vec![empty]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "rule 1: `all_of` is empty; expected one predicate or more"
        );
        assert!(error.hint().contains("`all_of: [{starts_with: \"GET \"}"));
    }
}
