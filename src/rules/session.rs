//! Runs the rules for one connection: which rule a frame matches, and the actions that follow, in order.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::reply::{Close, Reply};
use super::{After, RuleSet};
use crate::framing::Captures;

/// Lists what the server does for a frame, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Write these bytes.
    Write(Bytes),
    /// Wait this long (on the scenario's clock) before the next action.
    Delay(Duration),
    /// Close the connection: FIN (then read and discard until the peer
    /// ends, as `server_close: fin` does) or RST. No later frame applies.
    Close(Close),
    /// Shut down the write side only; frames still arrive and rules still
    /// match, but their data is no longer written.
    HalfClose,
    /// Stop reading and never write or close: the peer's writes back up.
    /// No later frame applies.
    Stall,
}

/// Names a rule that matched: its place in the list (from 0) and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRef {
    /// The rule's index in the rule set, from 0.
    pub index: usize,
    /// The rule's `name`, if it has one.
    pub name: Option<String>,
}

/// Says what a frame led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The rule that matched; `None`: no rule matched (the caller reports
    /// it; nothing is sent).
    pub rule: Option<RuleRef>,
    /// What to do, in order.
    pub actions: Vec<Action>,
}

/// Follows one connection through the rules: how often each rule applied,
/// and whether the connection still writes and reads.
#[derive(Debug, Clone)]
pub struct Session {
    rules: Arc<RuleSet>,
    connection: u32,
    /// How many times each rule applied on this connection.
    applied: Vec<u32>,
    /// Our write side is shut down.
    write_closed: bool,
    /// Closed or stalled: no frame applies any more.
    over: bool,
}

impl Session {
    /// Returns the session of the `connection`-th accepted connection (from 1).
    pub fn new(rules: Arc<RuleSet>, connection: u32) -> Self {
        let applied = vec![0; rules.rules.len()];
        Self {
            rules,
            connection,
            applied,
            write_closed: false,
            over: false,
        }
    }

    /// Returns what to do on accept: write the banner, if there is one.
    pub fn on_accept(&mut self) -> Vec<Action> {
        let banner = self.rules.banner.as_ref();
        banner
            .map(|banner| banner.render(self.connection, &Captures::default()))
            .filter(|data| !data.is_empty())
            .map(Action::Write)
            .into_iter()
            .collect()
    }

    /// Returns what the frame whose payload is `payload` leads to: the first
    /// rule that matches (skipping rules whose `times` are used up on this
    /// connection), then its `delay`, its reply (this rule's next one on this
    /// connection) and its `then`. Empty data is not written; after a
    /// half-close no data is; after a close or a stall no rule applies.
    pub fn on_frame(&mut self, payload: &[u8]) -> Outcome {
        let rules = Arc::clone(&self.rules);
        let found = (!self.over)
            .then(|| {
                rules.rules.iter().enumerate().find_map(|(index, rule)| {
                    let used_up = rule.times.is_some_and(|times| self.applied[index] >= times);
                    if used_up {
                        return None;
                    }
                    rule.when
                        .test(payload)
                        .map(|captures| (index, rule, captures))
                })
            })
            .flatten();
        let Some((index, rule, captures)) = found else {
            return Outcome {
                rule: None,
                actions: Vec::new(),
            };
        };
        let turn = self.applied[index];
        self.applied[index] += 1;
        let mut actions = Vec::new();
        if let Some(delay) = rule.delay {
            actions.push(Action::Delay(delay));
        }
        match rule.reply.reply(turn) {
            Some(Reply::Data(template)) => {
                let data = template.render(self.connection, &captures);
                if !data.is_empty() && !self.write_closed {
                    actions.push(Action::Write(data));
                }
            }
            Some(Reply::Close(close)) => actions.push(Action::Close(*close)),
            Some(Reply::Stall) => actions.push(Action::Stall),
            None => {}
        }
        let replied_last = matches!(actions.last(), Some(Action::Close(_) | Action::Stall));
        if let Some(then) = rule.then.filter(|_| !replied_last) {
            actions.push(match then {
                After::Fin => Action::Close(Close::Fin),
                After::Reset => Action::Close(Close::Reset),
                After::HalfClose => Action::HalfClose,
                After::Stall => Action::Stall,
            });
        }
        match actions.last() {
            Some(Action::Close(_) | Action::Stall) => self.over = true,
            Some(Action::HalfClose) => self.write_closed = true,
            _ => {}
        }
        Outcome {
            rule: Some(RuleRef {
                index,
                name: rule.name.clone(),
            }),
            actions,
        }
    }

    /// Returns true once the connection was closed or stalled by a rule: no frame applies any more.
    pub fn is_over(&self) -> bool {
        self.over
    }
}
