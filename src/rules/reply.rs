//! Describes what a rule answers: data with `${name}` and `${connection}` filled in, a close, or a stall; one reply or several in turn.

use bytes::{Bytes, BytesMut};

use crate::framing::Captures;

/// Holds reply bytes with `${name}` placeholders: the rule's captures and
/// `${connection}` (the connection's number, from 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Bytes(Bytes),
    Name(String),
}

impl Template {
    /// Reads `bytes`: each `${name}` (a name as [`crate::vars::is_name`]
    /// accepts) is a placeholder; everything else, a `$` or `${` that
    /// starts no placeholder included, is sent as it is.
    pub fn new(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        let mut parts = Vec::new();
        let mut literal = 0;
        let mut from = 0;
        while let Some(at) = memchr::memmem::find(&bytes[from..], b"${").map(|i| from + i) {
            let name = memchr::memchr(b'}', &bytes[at + 2..])
                .map(|end| &bytes[at + 2..at + 2 + end])
                .and_then(|name| std::str::from_utf8(name).ok())
                .filter(|name| crate::vars::is_name(name));
            let Some(name) = name else {
                from = at + 2;
                continue;
            };
            if literal < at {
                parts.push(Part::Bytes(bytes.slice(literal..at)));
            }
            parts.push(Part::Name(name.to_owned()));
            literal = at + 3 + name.len();
            from = literal;
        }
        if literal < bytes.len() {
            parts.push(Part::Bytes(bytes.slice(literal..)));
        }
        Self { parts }
    }

    /// Returns the placeholders' names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|part| match part {
            Part::Name(name) => Some(name.as_str()),
            Part::Bytes(_) => None,
        })
    }

    /// Returns the bytes with `${connection}` as `connection` in decimal and
    /// each capture's bytes; a group that did not take part in the match is empty.
    pub fn render(&self, connection: u32, captures: &Captures) -> Bytes {
        if let [Part::Bytes(bytes)] = self.parts.as_slice() {
            return bytes.clone();
        }
        let mut out = BytesMut::new();
        for part in &self.parts {
            match part {
                Part::Bytes(bytes) => out.extend_from_slice(bytes),
                Part::Name(name) if name == CONNECTION => {
                    out.extend_from_slice(connection.to_string().as_bytes());
                }
                Part::Name(name) => {
                    out.extend_from_slice(captures.get(name).map_or(&b""[..], |v| &v[..]));
                }
            }
        }
        out.freeze()
    }
}

/// The placeholder for the connection's number.
pub(super) const CONNECTION: &str = "connection";

/// Lists the ways to close a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Close {
    /// An orderly close: FIN.
    Fin,
    /// An abortive close: RST.
    Reset,
}

/// Lists what one reply can be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Write these bytes.
    Data(Template),
    /// `{close: fin|reset}`: close the connection instead of answering.
    Close(Close),
    /// `{stall: true}`: never answer, never close, stop reading.
    Stall,
}

/// Holds a rule's replies: none, one (`reply:`) used every time, or several
/// (`replies:`) used in turn on each connection, the last one repeating.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplyPlan {
    /// The replies, in turn.
    pub replies: Vec<Reply>,
}

impl ReplyPlan {
    /// Returns a plan of one reply, used every time.
    pub fn one(reply: Reply) -> Self {
        Self {
            replies: vec![reply],
        }
    }

    /// Returns the reply for the rule's `turn`-th application (from 0) on a
    /// connection: the last reply once the list is used up; `None` for no replies.
    pub fn reply(&self, turn: u32) -> Option<&Reply> {
        let last = self.replies.len().checked_sub(1)?;
        self.replies.get((turn as usize).min(last))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::FrameRegex;

    fn captures(regex: &str, payload: &str) -> Captures {
        FrameRegex::new(regex)
            .unwrap()
            .captures(payload.as_bytes())
            .unwrap()
    }

    #[test]
    fn placeholders_are_filled_with_captures_and_the_connection() {
        let template = Template::new("250 hello ${host}, you are ${connection}\r\n");
        assert_eq!(template.names().collect::<Vec<_>>(), ["host", "connection"]);
        let found = captures(r"EHLO (?<host>\S+)", "EHLO mx");
        assert_eq!(template.render(3, &found), "250 hello mx, you are 3\r\n");
    }

    #[test]
    fn text_that_is_no_placeholder_is_sent_as_it_is() {
        let template = Template::new("$5 ${ x } ${1} ${open $${a}");
        assert_eq!(template.names().collect::<Vec<_>>(), ["a"]);
        let found = captures("(?<a>.)", "z");
        assert_eq!(template.render(1, &found), "$5 ${ x } ${1} ${open $z");
        let binary = Template::new(&b"\xff${connection}\x00"[..]);
        assert_eq!(binary.render(12, &Captures::default()), &b"\xff12\x00"[..]);
        assert_eq!(Template::new("").render(1, &Captures::default()), "");
    }

    #[test]
    fn a_group_that_took_no_part_is_empty() {
        let template = Template::new("[${a}${b}]");
        let found = captures("(?<a>x)|(?<b>y)", "y");
        assert_eq!(template.render(1, &found), "[y]");
    }

    #[test]
    fn replies_are_used_in_turn_and_the_last_repeats() {
        let plan = ReplyPlan {
            replies: vec![
                Reply::Data(Template::new("one")),
                Reply::Close(Close::Reset),
            ],
        };
        assert_eq!(plan.reply(0), Some(&Reply::Data(Template::new("one"))));
        assert_eq!(plan.reply(1), Some(&Reply::Close(Close::Reset)));
        assert_eq!(plan.reply(7), Some(&Reply::Close(Close::Reset)));
        assert_eq!(ReplyPlan::default().reply(0), None);
        assert_eq!(ReplyPlan::one(Reply::Stall).reply(3), Some(&Reply::Stall));
    }
}
