//! Applies a rule-based fake server's rules on one connection: cuts what it receives into frames and turns each frame into events and actions, without sockets.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;

use crate::event::ServerEvent;
use crate::framing::{FrameDecoder, FramingSpec, Item};
use crate::rules::{Action, RuleSet, Session};

/// Holds what a rule-based fake server runs: its rules, the framing that
/// cuts frames for them, and each rule's label for reports
/// (`ehlo (smtp.yaml:7)`).
#[derive(Debug)]
pub struct ServerRules {
    /// The rules, checked.
    pub set: Arc<RuleSet>,
    /// How frames are cut.
    pub framing: FramingSpec,
    /// Each rule's label, by index.
    pub labels: Vec<Arc<str>>,
}

/// Follows one connection through the rules: its decoder and its session.
#[derive(Debug)]
pub(super) struct RulesConn {
    conn: u32,
    session: Session,
    decoder: FrameDecoder,
    rules: Arc<ServerRules>,
    /// The stream could not be framed: no rule applies any more.
    failed: bool,
}

impl RulesConn {
    /// Starts connection `conn` (from 1).
    pub(super) fn new(rules: &Arc<ServerRules>, conn: u32) -> Self {
        Self {
            conn,
            session: Session::new(Arc::clone(&rules.set), conn),
            decoder: FrameDecoder::new(&rules.framing),
            rules: Arc::clone(rules),
            failed: false,
        }
    }

    /// Returns the banner for this connection, if there is one.
    pub(super) fn banner(&mut self) -> Option<Bytes> {
        self.session
            .on_accept()
            .into_iter()
            .find_map(|action| match action {
                Action::Write(data) => Some(data),
                _ => None,
            })
    }

    /// Cuts `data` into frames and applies the rules to each whole frame:
    /// adds what happened to `events` (a rule matched, no rule matched,
    /// framing failed) and what to do to `actions`, in order. Frames after
    /// a rule closed or stalled the connection apply no rule.
    pub(super) fn on_data(
        &mut self,
        data: &[u8],
        events: &mut Vec<ServerEvent>,
        actions: &mut VecDeque<Action>,
    ) {
        if self.failed {
            return;
        }
        self.decoder.push(data);
        loop {
            match self.decoder.next_item() {
                Ok(None) => break,
                // Bytes outside frames (`{start, end}`): no frame, no rule.
                Ok(Some(Item::Junk(_))) => {}
                Ok(Some(Item::Frame(frame))) => {
                    if self.session.is_over() {
                        continue;
                    }
                    let outcome = self.session.on_frame(&frame.payload);
                    match outcome.rule {
                        Some(rule) => {
                            let label = self.rules.labels.get(rule.index).cloned();
                            events.push(ServerEvent::RuleMatched {
                                conn: self.conn,
                                rule: label.unwrap_or_else(|| (rule.index + 1).to_string().into()),
                                payload: frame.payload,
                            });
                            actions.extend(outcome.actions);
                        }
                        None => events.push(ServerEvent::NoRuleMatched {
                            conn: self.conn,
                            payload: frame.payload,
                        }),
                    }
                }
                Err(error) => {
                    self.failed = true;
                    events.push(ServerEvent::FramingFailed {
                        conn: self.conn,
                        error: error.to_string(),
                    });
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::framing::{FramingSpec, Written};
    use crate::rules::{After, Predicate, Reply, ReplyPlan, Rule, Template};

    fn rules(framing: FramingSpec) -> Arc<ServerRules> {
        let rule = |when: Predicate, reply: &str| Rule {
            name: None,
            when,
            reply: ReplyPlan::one(Reply::Data(Template::new(reply.to_owned()))),
            times: None,
            delay: None,
            then: None,
        };
        let mut quit = rule(Predicate::leaf("equals", "QUIT").unwrap(), "bye\n");
        quit.delay = Some(Duration::from_secs(1));
        quit.then = Some(After::Fin);
        let set = RuleSet::new(
            Some(Template::new("hi ${connection}\n")),
            vec![
                rule(Predicate::leaf("equals", "PING").unwrap(), "PONG\n"),
                quit,
            ],
        )
        .unwrap();
        Arc::new(ServerRules {
            set: Arc::new(set),
            framing,
            labels: vec!["ping (x.yaml:3)".into(), "2 (x.yaml:5)".into()],
        })
    }

    #[test]
    fn frames_cut_across_pieces_meet_the_rules_once_whole() {
        let mut conn = RulesConn::new(&rules(FramingSpec::line()), 4);
        assert_eq!(conn.banner(), Some(Bytes::from_static(b"hi 4\n")));
        let (mut events, mut actions) = (Vec::new(), VecDeque::new());
        for piece in [&b"PI"[..], b"NG\nNOPE\r", b"\nQUIT\nPING\n"] {
            conn.on_data(piece, &mut events, &mut actions);
        }
        assert_eq!(
            events,
            [
                ServerEvent::RuleMatched {
                    conn: 4,
                    rule: "ping (x.yaml:3)".into(),
                    payload: Bytes::from_static(b"PING")
                },
                ServerEvent::NoRuleMatched {
                    conn: 4,
                    payload: Bytes::from_static(b"NOPE")
                },
                ServerEvent::RuleMatched {
                    conn: 4,
                    rule: "2 (x.yaml:5)".into(),
                    payload: Bytes::from_static(b"QUIT")
                },
            ],
            "the PING after the closing QUIT applies no rule"
        );
        assert_eq!(
            Vec::from(actions),
            [
                Action::Write(Bytes::from_static(b"PONG\n")),
                Action::Delay(Duration::from_secs(1)),
                Action::Write(Bytes::from_static(b"bye\n")),
                Action::Close(crate::rules::Close::Fin),
            ]
        );
    }

    #[test]
    fn a_frame_over_max_stops_the_rules_with_its_offset() {
        let framing = FramingSpec::parse(Written::Map(&[("length", "u8"), ("max", "4")])).unwrap();
        let mut conn = RulesConn::new(&rules(framing), 1);
        let (mut events, mut actions) = (Vec::new(), VecDeque::new());
        conn.on_data(b"\x02ok\x09toolong", &mut events, &mut actions);
        conn.on_data(b"\x01x", &mut events, &mut actions);
        assert!(matches!(&events[0], ServerEvent::NoRuleMatched { .. }));
        let ServerEvent::FramingFailed { error, .. } = &events[1] else {
            panic!("{events:?}")
        };
        assert!(error.starts_with("frame at byte 3:"), "{error}");
        assert_eq!(events.len(), 2);
    }
}
