//! Reads a fault from its map's keys and scalar values, validating each key and collecting every problem.

use std::time::Duration;

use super::{
    Cut, Directions, FaultKind, FaultSpec, KEYS, KINDS, OnPattern, SpecError, Trigger, closest,
    list,
};
use crate::matcher::Matcher;
use crate::proxy::units::{self, Expected};

impl FaultSpec {
    /// Builds a fault from its map's keys and scalar values (as text, the
    /// way they are written: `200ms`, `64KiB/s`, `true`), validating every
    /// key; returns every problem found, in the order of the keys.
    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(
        pairs: &[(K, V)],
    ) -> Result<FaultSpec, Vec<SpecError>> {
        let mut errors = Vec::new();
        let mut fields: Vec<(&str, &str)> = Vec::new();
        for (key, value) in pairs {
            let (key, value) = (key.as_ref(), value.as_ref());
            if !KEYS.contains(&key) {
                errors.push(SpecError::UnknownKey {
                    key: key.to_owned(),
                    suggestion: closest(key, &KEYS),
                });
            } else if fields.iter().any(|(k, _)| *k == key) {
                errors.push(SpecError::Duplicate {
                    key: key.to_owned(),
                });
            } else {
                fields.push((key, value));
            }
        }
        let mut reader = Reader {
            errors,
            fields: &fields,
        };
        let spec = reader.spec();
        match spec {
            Some(spec) if reader.errors.is_empty() => Ok(spec),
            _ => {
                let mut errors = reader.errors;
                // Keep the order of the keys as written.
                let position = |e: &SpecError| {
                    e.key()
                        .and_then(|key| pairs.iter().position(|(k, _)| k.as_ref() == key))
                        .unwrap_or(usize::MAX)
                };
                errors.sort_by_key(position);
                Err(errors)
            }
        }
    }
}

/// Reads the known keys of one fault map, collecting errors.
struct Reader<'a> {
    errors: Vec<SpecError>,
    fields: &'a [(&'a str, &'a str)],
}

impl Reader<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    fn spec(&mut self) -> Option<FaultSpec> {
        let kinds: Vec<&str> = self
            .fields
            .iter()
            .map(|(k, _)| *k)
            .filter(|k| KINDS.contains(k))
            .collect();
        for extra in kinds.iter().skip(1) {
            self.errors.push(SpecError::TwoKinds {
                key: (*extra).to_owned(),
                first: kinds[0].to_owned(),
            });
        }
        if kinds.is_empty() {
            self.errors.push(SpecError::NoKind);
        }
        let kind = kinds.first().and_then(|word| self.kind(word));
        self.belongs("jitter", "latency", kinds.first().copied());
        self.belongs("gap", "slice", kinds.first().copied());
        let directions = self
            .read("direction", |text| choice(text, &Directions::WORDS))
            .map(|word| {
                word.map(|word| match word {
                    "to_server" => Directions::ToServer,
                    "to_client" => Directions::ToClient,
                    _ => Directions::Both,
                })
            });
        let trigger = self.trigger();
        let probability = self.read("probability", units::probability);
        let connection = self.read("connection", |text| match text.trim().parse::<u32>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => Err(Expected {
                what: "a connection number from 1".to_owned(),
                hint: Some(
                    "connections are numbered from 1 in the order they are accepted".to_owned(),
                ),
            }),
        });
        let name = self.read("name", |text| {
            let valid = !text.is_empty()
                && text
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            if valid {
                Ok(text.to_owned())
            } else {
                Err(Expected {
                    what: "a name of letters, digits, `_`, `-` and `.`".to_owned(),
                    hint: Some("names are used as `clear NAME`: no spaces".to_owned()),
                })
            }
        });
        Some(FaultSpec {
            name: name.flatten(),
            kind: kind?,
            directions: directions.unwrap_or(Some(Directions::Both))?,
            trigger: trigger?,
            probability: probability.unwrap_or(Some(1.0))?,
            connection: connection.flatten(),
        })
    }

    /// Reads the kind named by `word`, with its own options.
    fn kind(&mut self, word: &str) -> Option<FaultKind> {
        let flag = |text: &str| match text.trim() {
            "true" => Ok(()),
            _ => Err(Expected {
                what: "`true`".to_owned(),
                hint: Some(
                    "a fault that does nothing is no fault: leave it out, or clear it".to_owned(),
                ),
            }),
        };
        Some(match word {
            "latency" => {
                let latency = self.read(word, units::duration)??;
                let jitter = self
                    .read("jitter", units::duration)
                    .unwrap_or(Some(Duration::ZERO))?;
                FaultKind::Latency { latency, jitter }
            }
            "bandwidth" => FaultKind::Bandwidth {
                rate: self.read(word, units::rate)??,
            },
            "slice" => {
                let size = self.read(word, |text| match units::size(text) {
                    Ok(0) => Err(Expected {
                        what: "a size of at least 1 byte".to_owned(),
                        hint: None,
                    }),
                    other => other,
                });
                let gap = self
                    .read("gap", units::duration)
                    .unwrap_or(Some(Duration::ZERO));
                FaultKind::Slice {
                    size: size??,
                    gap: gap?,
                }
            }
            "stall" => {
                self.read(word, flag)??;
                FaultKind::Stall
            }
            "drop" => {
                self.read(word, flag)??;
                FaultKind::Drop
            }
            "cut" => FaultKind::Cut(self.read(word, |text| choice(text, &Cut::WORDS))?.map(
                |word| match word {
                    "reset" => Cut::Reset,
                    "fin" => Cut::Fin,
                    _ => Cut::HalfClose,
                },
            )?),
            _ => FaultKind::SlowClose(self.read(word, units::duration)??),
        })
    }

    fn trigger(&mut self) -> Option<Trigger> {
        if self.get("after_bytes").is_some() && self.get("on").is_some() {
            let second = self
                .fields
                .iter()
                .map(|(k, _)| *k)
                .rfind(|k| matches!(*k, "after_bytes" | "on"))
                .unwrap_or("on");
            self.errors.push(SpecError::TwoTriggers {
                key: second.to_owned(),
            });
            return None;
        }
        if let Some(after) = self.read("after_bytes", units::size) {
            return after.map(Trigger::AfterBytes);
        }
        if let Some(on) = self.read("on", on_pattern) {
            return on.map(Trigger::On);
        }
        Some(Trigger::Now)
    }

    /// Reports `key` when the fault's kind is not `owner`.
    fn belongs(&mut self, key: &str, owner: &'static str, kind: Option<&str>) {
        if self.get(key).is_some() && kind.is_some_and(|k| k != owner) {
            self.errors.push(SpecError::NotForKind {
                key: key.to_owned(),
                owner,
                kind: kind.map_or("without a kind".to_owned(), |k| format!("`{k}`")),
            });
        }
    }

    /// Reads `key` with `parse`: `None` when absent, `Some(None)` when invalid (reported).
    fn read<T>(
        &mut self,
        key: &str,
        parse: impl FnOnce(&str) -> Result<T, Expected>,
    ) -> Option<Option<T>> {
        let text = self.get(key)?;
        Some(match parse(text) {
            Ok(value) => Some(value),
            Err(expected) => {
                self.errors.push(SpecError::Value {
                    key: key.to_owned(),
                    expected: expected.what,
                    found: found(text),
                    hint: expected.hint,
                });
                None
            }
        })
    }
}

/// Reads one of `words`, with a did-you-mean.
fn choice<'w>(text: &str, words: &[&'w str]) -> Result<&'w str, Expected> {
    let text = text.trim();
    words
        .iter()
        .find(|w| **w == text)
        .copied()
        .ok_or_else(|| Expected {
            what: list(words),
            hint: closest(text, words).map(|w| format!("did you mean `{w}`?")),
        })
}

/// Compiles an `on:` regex for raw bytes.
fn on_pattern(text: &str) -> Result<OnPattern, Expected> {
    if text.is_empty() {
        return Err(Expected {
            what: "a regex".to_owned(),
            hint: None,
        });
    }
    let unicode_boundary = regex_automata::util::syntax::parse(text)
        .map(|hir| hir.properties().look_set().contains_word_unicode())
        .unwrap_or(false);
    if unicode_boundary {
        return Err(Expected {
            what: "a regex without a Unicode word boundary".to_owned(),
            hint: Some(
                "raw bytes are matched as they stream: write `(?-u:\\b)` for an ASCII word boundary"
                    .to_owned(),
            ),
        });
    }
    match Matcher::new_bytes(text) {
        Ok(matcher) => Ok(OnPattern {
            source: text.to_owned(),
            matcher,
        }),
        Err(error) => Err(Expected {
            what: "a valid regex".to_owned(),
            hint: Some(error.syntax().unwrap_or_else(|| error.to_string())),
        }),
    }
}

/// Quotes a value for "found ..." in messages.
fn found(text: &str) -> String {
    if text.is_empty() {
        "nothing".to_owned()
    } else if text.chars().any(char::is_control) {
        format!("{text:?}")
    } else {
        format!("`{text}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(pairs: &[(&str, &str)]) -> FaultSpec {
        FaultSpec::from_pairs(pairs).unwrap_or_else(|e| panic!("{pairs:?}: {e:?}"))
    }

    fn errors(pairs: &[(&str, &str)]) -> Vec<SpecError> {
        FaultSpec::from_pairs(pairs).expect_err("invalid")
    }

    #[test]
    fn every_kind_reads_with_its_options() {
        assert_eq!(
            spec(&[("latency", "200ms"), ("jitter", "10ms")]).kind,
            FaultKind::Latency {
                latency: Duration::from_millis(200),
                jitter: Duration::from_millis(10)
            }
        );
        assert_eq!(
            spec(&[("bandwidth", "64KiB/s")]).kind,
            FaultKind::Bandwidth { rate: 65536 }
        );
        assert_eq!(
            spec(&[("slice", "8"), ("gap", "5ms")]).kind,
            FaultKind::Slice {
                size: 8,
                gap: Duration::from_millis(5)
            }
        );
        assert_eq!(spec(&[("stall", "true")]).kind, FaultKind::Stall);
        assert_eq!(spec(&[("drop", "true")]).kind, FaultKind::Drop);
        assert_eq!(
            spec(&[("cut", "half_close")]).kind,
            FaultKind::Cut(Cut::HalfClose)
        );
        assert_eq!(
            spec(&[("slow_close", "1s")]).kind,
            FaultKind::SlowClose(Duration::from_secs(1))
        );
    }

    #[test]
    fn modifiers_default_to_every_byte_of_every_connection_both_ways() {
        let plain = spec(&[("cut", "reset")]);
        assert_eq!(plain.directions, Directions::Both);
        assert_eq!(plain.trigger, Trigger::Now);
        assert_eq!(plain.probability, 1.0);
        assert_eq!(plain.connection, None);
        assert_eq!(plain.name(), "cut");
        let full = spec(&[
            ("cut", "fin"),
            ("direction", "to_client"),
            ("after_bytes", "1KiB"),
            ("probability", "0.5"),
            ("connection", "2"),
            ("name", "flaky"),
        ]);
        assert_eq!(full.directions, Directions::ToClient);
        assert_eq!(full.trigger, Trigger::AfterBytes(1024));
        assert_eq!((full.probability, full.connection), (0.5, Some(2)));
        assert_eq!(full.name(), "flaky");
        assert_eq!(
            full.to_string(),
            "{cut: fin, direction: to_client, after_bytes: 1024, probability: 0.5, connection: 2, name: flaky}"
        );
        let on = spec(&[("stall", "true"), ("on", "^QUIT\\r\\n")]);
        let Trigger::On(pattern) = &on.trigger else {
            panic!()
        };
        assert_eq!(pattern.source(), "^QUIT\\r\\n");
    }

    #[test]
    fn unknown_keys_get_a_did_you_mean() {
        let found = errors(&[("cut", "reset"), ("after_byte", "10")]);
        assert_eq!(
            found,
            [SpecError::UnknownKey {
                key: "after_byte".into(),
                suggestion: Some("after_bytes")
            }]
        );
        assert_eq!(found[0].key(), Some("after_byte"));
        assert_eq!(
            found[0].hint().as_deref(),
            Some("did you mean `after_bytes`?")
        );
        assert_eq!(found[0].to_string(), "unknown key `after_byte` in a fault");
        let far = &errors(&[("cut", "reset"), ("zzzz", "1")])[0];
        assert!(
            far.hint()
                .unwrap()
                .starts_with("a fault's keys are `latency`"),
            "{far:?}"
        );
    }

    #[test]
    fn a_fault_has_exactly_one_kind() {
        let none = errors(&[("direction", "both")]);
        assert_eq!(none, [SpecError::NoKind]);
        assert_eq!(none[0].key(), None);
        let two = errors(&[("latency", "1s"), ("drop", "true")]);
        assert_eq!(
            two,
            [SpecError::TwoKinds {
                key: "drop".into(),
                first: "latency".into()
            }]
        );
    }

    #[test]
    fn bad_values_name_their_key_what_was_expected_and_what_was_found() {
        let found = errors(&[
            ("latency", "200"),
            ("direction", "to_sever"),
            ("cut", "rst"),
            ("probability", "2"),
        ]);
        let keys: Vec<Option<&str>> = found.iter().map(SpecError::key).collect();
        assert_eq!(
            keys,
            [
                Some("latency"),
                Some("direction"),
                Some("cut"),
                Some("probability")
            ]
        );
        assert_eq!(
            found[0].to_string(),
            "expected a duration with a unit for `latency`, found `200`"
        );
        assert_eq!(
            found[1].to_string(),
            "expected `to_server`, `to_client` or `both` for `direction`, found `to_sever`"
        );
        assert_eq!(
            found[1].hint().as_deref(),
            Some("did you mean `to_server`?")
        );
        assert!(matches!(&found[2], SpecError::TwoKinds { .. }));
        assert!(found[3].hint().unwrap().contains("0.25"));
        let flag = &errors(&[("stall", "false")])[0];
        assert_eq!(
            flag.to_string(),
            "expected `true` for `stall`, found `false`"
        );
        assert!(matches!(
            &errors(&[("cut", "rest")])[0],
            SpecError::Value { hint: Some(hint), .. } if hint == "did you mean `reset`?"
        ));
    }

    #[test]
    fn options_of_another_kind_and_two_triggers_are_refused() {
        assert_eq!(
            errors(&[("cut", "reset"), ("jitter", "1ms")]),
            [SpecError::NotForKind {
                key: "jitter".into(),
                owner: "latency",
                kind: "`cut`".into()
            }]
        );
        assert_eq!(
            errors(&[("drop", "true"), ("after_bytes", "1"), ("on", "x")]),
            [SpecError::TwoTriggers { key: "on".into() }]
        );
        assert_eq!(
            errors(&[("drop", "true"), ("drop", "true")]),
            [SpecError::Duplicate { key: "drop".into() }]
        );
    }

    #[test]
    fn on_patterns_compile_for_raw_bytes() {
        let bad = &errors(&[("cut", "reset"), ("on", "(unclosed")])[0];
        assert_eq!(bad.key(), Some("on"));
        assert!(bad.hint().unwrap().contains("unclosed"), "{bad:?}");
        let boundary = &errors(&[("cut", "reset"), ("on", r"\bQUIT\b")])[0];
        assert!(
            boundary.hint().unwrap().contains("(?-u:\\b)"),
            "{boundary:?}"
        );
        spec(&[("cut", "reset"), ("on", r"(?-u:\b)QUIT(?-u:\b)")]);
    }

    #[test]
    fn names_are_words() {
        assert_eq!(
            errors(&[("drop", "true"), ("name", "a b")])[0].key(),
            Some("name")
        );
        assert_eq!(
            errors(&[("drop", "true"), ("connection", "0")])[0].key(),
            Some("connection")
        );
    }
}
