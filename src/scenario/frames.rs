//! Holds what a scenario says about frames: frame patterns of `expect_frame`, and the `rules:` of a rule-based fake server, ready to become a [`RuleSet`] when the server starts.
//!
//! Names in a rule's replies and in a rules server's banner: `${connection}`
//! and the named groups of the rule's `when` regexes are the rule's own,
//! filled in for each frame; every other `${name}` is a scenario variable
//! (`${port}`, `${tmp}`, `${env.NAME}`, a `--var`), replaced once, when the
//! server starts. A group named like a scenario variable (`port`) hides it
//! in that rule's replies. Captures of `expect` steps come too late for the
//! server, which starts before the first step.

use std::time::Duration;

use bytes::Bytes;

use super::data::Data;
use crate::framing::{FramePattern, PatternError};
use crate::rules::{After, Close, Predicate, Reply, ReplyPlan, Rule, RuleError, RuleSet, Template};
use crate::vars::{Unknown, Vars};

/// Holds an `expect_frame` pattern as written, and compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FramePatternSpec {
    /// `regex`, `text` or `hex`.
    pub key: &'static str,
    /// The pattern as written.
    pub source: String,
    /// `prefix: true`: text or hex that the payload starts with.
    pub prefix: bool,
    /// The compiled pattern (with variables, a stand-in: the runner
    /// compiles it again with their values).
    pub pattern: FramePattern,
    /// It names variables (`${name}`), replaced when the step runs.
    pub vars: bool,
}

impl FramePatternSpec {
    /// Returns the pattern to match, with the values of its variables.
    ///
    /// # Errors
    /// A variable without a value, or a regex that is invalid once they are replaced.
    pub fn resolve(&self, vars: &Vars) -> Result<FramePattern, ResolveError> {
        if !self.vars {
            return Ok(self.pattern.clone());
        }
        let source = match self.key {
            "regex" => vars.apply_regex(&self.source)?,
            _ => vars.apply(&self.source)?,
        };
        Ok(FramePattern::new(self.key, &source, self.prefix)?)
    }

    /// Describes the pattern for failure messages: `/^PONG$/`, `text "PONG"`, `hex 01 ?? 00 05`.
    pub fn describe(&self) -> String {
        let prefix = if self.prefix { " (a prefix)" } else { "" };
        match self.key {
            "regex" => format!("/{}/", self.source),
            "text" => format!(
                "text {}{prefix}",
                crate::transcript::quote(
                    self.source.as_bytes(),
                    crate::client::encoding::Encoding::Utf8
                )
            ),
            _ => format!("hex {}{prefix}", self.source.trim()),
        }
    }
}

/// Reports a frame pattern that cannot be used once its variables are replaced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// A variable without a value.
    #[error(transparent)]
    Unknown(#[from] Unknown),
    /// The pattern is invalid with the values in.
    #[error("the pattern with its variables is invalid: {0}")]
    Invalid(#[from] PatternError),
}

/// Holds the `rules:` of a rule-based fake server, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesSpec {
    /// The name of the file they were written in, for transcript lines (`smtp.yaml`).
    pub file: String,
    /// The rules, in order.
    pub rules: Vec<RuleSpec>,
}

/// Holds one rule as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSpec {
    /// The line it starts on.
    pub line: usize,
    /// `name:`.
    pub name: Option<String>,
    /// `when:`.
    pub when: Predicate,
    /// `reply:` (one) or `replies:` (in turn, the last repeating).
    pub replies: Vec<ReplySpec>,
    /// `times:`.
    pub times: Option<u32>,
    /// `delay:`.
    pub delay: Option<Duration>,
    /// `then:`.
    pub then: Option<After>,
}

/// Lists what one reply of a rule can be, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplySpec {
    /// Data, with `${name}`s.
    Data(Data),
    /// `{close: fin|reset}`.
    Close(Close),
    /// `{stall: true}`.
    Stall,
}

/// Reports rules that cannot become a [`RuleSet`] when the server starts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RulesError {
    /// A scenario variable in a reply or the banner has no value.
    #[error("rule {rule}: {source}")]
    Variable {
        /// The rule's label (`ehlo (smtp.yaml:7)`), or `banner`.
        rule: String,
        /// Which variable.
        source: Unknown,
    },
    /// The text, with its variables, does not fit its encoding.
    #[error("rule {rule}: the reply with its variables cannot be sent as {encoding}")]
    Encoding {
        /// The rule's label.
        rule: String,
        /// The encoding.
        encoding: crate::client::encoding::Encoding,
    },
    /// The rule engine refused the rules.
    #[error(transparent)]
    Rules(#[from] RuleError),
}

impl RulesSpec {
    /// Returns each rule's label, as transcripts show it: its name or its
    /// number (from 1), and where it is written: `ehlo (smtp.yaml:7)`.
    pub fn labels(&self) -> Vec<String> {
        self.rules
            .iter()
            .enumerate()
            .map(|(index, rule)| {
                let name = rule.name.clone().unwrap_or_else(|| (index + 1).to_string());
                format!("{name} ({}:{})", self.file, rule.line)
            })
            .collect()
    }

    /// Builds the rule set the server runs: scenario variables in the
    /// replies and the `banner` replaced by their values in `vars` (the
    /// rule's own names stay placeholders).
    ///
    /// # Errors
    /// A variable without a value, a value its text's encoding cannot
    /// hold, or rules the engine refuses.
    pub fn build(&self, banner: Option<&Data>, vars: &Vars) -> Result<RuleSet, RulesError> {
        let labels = self.labels();
        let banner = banner
            .map(|data| template(data, &["connection"], vars, "banner"))
            .transpose()?;
        let mut rules = Vec::with_capacity(self.rules.len());
        for (rule, label) in self.rules.iter().zip(&labels) {
            let mut own = vec!["connection"];
            own.extend(rule.when.capture_names());
            let replies = rule
                .replies
                .iter()
                .map(|reply| {
                    Ok(match reply {
                        ReplySpec::Data(data) => Reply::Data(template(data, &own, vars, label)?),
                        ReplySpec::Close(close) => Reply::Close(*close),
                        ReplySpec::Stall => Reply::Stall,
                    })
                })
                .collect::<Result<Vec<_>, RulesError>>()?;
            rules.push(Rule {
                name: rule.name.clone(),
                when: rule.when.clone(),
                reply: ReplyPlan { replies },
                times: rule.times,
                delay: rule.delay,
                then: rule.then,
            });
        }
        Ok(RuleSet::new(banner, rules)?)
    }
}

/// Returns the reply template of `data`: its text with the scenario
/// variables replaced (the names in `own` left as placeholders), encoded.
fn template(data: &Data, own: &[&str], vars: &Vars, label: &str) -> Result<Template, RulesError> {
    match data {
        Data::Bytes { bytes, .. } => Ok(Template::new(Bytes::copy_from_slice(bytes))),
        Data::Generated(generator) => Ok(Template::new(Bytes::from(generator.bytes()))),
        Data::Text { text, encoding } => {
            let text =
                replace_scenario_vars(text, own, |name| vars.get(name)).map_err(|source| {
                    RulesError::Variable {
                        rule: label.to_owned(),
                        source,
                    }
                })?;
            let bytes = encoding.encode(&text).map_err(|_| RulesError::Encoding {
                rule: label.to_owned(),
                encoding: *encoding,
            })?;
            Ok(Template::new(bytes))
        }
    }
}

/// Replaces each `${name}` of `text` that is not one of `own` by `value(name)`.
pub(crate) fn replace_scenario_vars(
    text: &str,
    own: &[&str],
    mut value: impl FnMut(&str) -> Result<String, Unknown>,
) -> Result<String, Unknown> {
    crate::vars::replace(text, |name| {
        if own.contains(&name) {
            Ok(None)
        } else {
            value(name).map(Some)
        }
    })
}

/// Returns the names of `text` that are scenario variables: not one of `own`.
pub(crate) fn scenario_names<'t>(text: &'t str, own: &[&str]) -> Vec<&'t str> {
    crate::vars::names(text)
        .filter(|name| !own.contains(name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::encoding::Encoding;

    fn text(text: &str) -> Data {
        Data::Text {
            text: text.into(),
            encoding: Encoding::Utf8,
        }
    }

    fn rule(when: Predicate, reply: &str) -> RuleSpec {
        RuleSpec {
            line: 7,
            name: None,
            when,
            replies: vec![ReplySpec::Data(text(reply))],
            times: None,
            delay: None,
            then: None,
        }
    }

    #[test]
    fn scenario_variables_are_replaced_and_the_rules_own_names_kept() {
        let when = Predicate::leaf("regex", "^EHLO (?<host>.+)$").unwrap();
        let spec = RulesSpec {
            file: "smtp.yaml".into(),
            rules: vec![rule(when, "250 ${host} on ${port}, conn ${connection}\r\n")],
        };
        let vars = Vars {
            port: 2525,
            ..Vars::default()
        };
        let set = spec
            .build(Some(&text("220 ${port} #${connection}\r\n")), &vars)
            .unwrap();
        let mut session = crate::rules::Session::new(std::sync::Arc::new(set), 3);
        assert_eq!(
            session.on_accept(),
            [crate::rules::Action::Write(Bytes::from_static(
                b"220 2525 #3\r\n"
            ))]
        );
        assert_eq!(
            session.on_frame(b"EHLO mx").actions,
            [crate::rules::Action::Write(Bytes::from_static(
                b"250 mx on 2525, conn 3\r\n"
            ))]
        );
        assert_eq!(spec.labels(), ["1 (smtp.yaml:7)"]);
    }

    #[test]
    fn a_variable_without_a_value_is_an_error_at_start() {
        let spec = RulesSpec {
            file: "x.yaml".into(),
            rules: vec![rule(Predicate::Any, "hi ${who}")],
        };
        let error = spec.build(None, &Vars::default()).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("rule 1 (x.yaml:7): unknown variable `${who}`"),
            "{error}"
        );
    }

    #[test]
    fn patterns_describe_themselves() {
        let regex = FramePatternSpec {
            key: "regex",
            source: "^PONG$".into(),
            prefix: false,
            pattern: FramePattern::new("regex", "^PONG$", false).unwrap(),
            vars: false,
        };
        assert_eq!(regex.describe(), "/^PONG$/");
        let hex = FramePatternSpec {
            key: "hex",
            source: "01 ?? ".into(),
            prefix: true,
            pattern: FramePattern::new("hex", "01 ??", true).unwrap(),
            vars: false,
        };
        assert_eq!(hex.describe(), "hex 01 ?? (a prefix)");
        let with_var = FramePatternSpec {
            key: "text",
            source: "hi ${who}".into(),
            prefix: false,
            pattern: FramePattern::new("text", "hi ", false).unwrap(),
            vars: true,
        };
        let mut vars = Vars::default();
        vars.values.insert("who".into(), "bob".into());
        assert!(
            with_var
                .resolve(&vars)
                .unwrap()
                .matches(b"hi bob")
                .is_some()
        );
    }
}
