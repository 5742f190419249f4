//! Writes the regex patterns of the schema's value formats (durations, data, names), which tests check against the loader.

use crate::client::encoding::Encoding;
use crate::scenario::read_program::SIGNALS;

/// Lists the spellings of encodings besides their names (any case is accepted).
const ENCODING_ALIASES: &[(&str, Encoding)] = &[
    ("utf-8", Encoding::Utf8),
    ("binary", Encoding::Latin1),
    ("iso-8859-1", Encoding::Latin1),
];

/// Lists the units of a duration, as humantime reads them.
const DURATION_UNITS: &[&str] = &[
    "nanos", "nsec", "ns", "usec", "us", "µs", "millis", "msec", "ms", "seconds", "second", "secs",
    "sec", "s", "minutes", "minute", "mins", "min", "m", "hours", "hour", "hrs", "hr", "h", "days",
    "day", "d", "weeks", "week", "wks", "wk", "w", "months", "month", "M", "years", "year", "yrs",
    "yr", "y",
];

/// Matches a client name: a letter or `_`, then letters, digits, `_` and `-`.
pub(super) const CLIENT_NAME: &str = "^[A-Za-z_][A-Za-z0-9_-]*$";

/// Matches an error code such as `ECONNREFUSED`.
pub(super) const ERROR_CODE: &str = "^E[A-Z0-9]+$";

/// Matches what Rust counts as ASCII whitespace (ignored inside hex and base64 data).
const SPACE: &str = "[ \\t\\n\\f\\r]*";

/// Builds a case-insensitive pattern that matches exactly one of `words`.
fn any_case(words: &[&str]) -> String {
    let alternatives: Vec<String> = words
        .iter()
        .map(|word| {
            word.chars()
                .map(|c| match (c.to_ascii_lowercase(), c.to_ascii_uppercase()) {
                    (lower, upper) if lower != upper => format!("[{upper}{lower}]"),
                    _ if c == '-' => "-".to_owned(),
                    _ => c.to_string(),
                })
                .collect()
        })
        .collect();
    alternatives.join("|")
}

/// Returns the pattern of a duration, as humantime parses it (`500ms`, `1h 30m`, `1.5s`).
pub(crate) fn duration_pattern() -> String {
    let mut units: Vec<&str> = DURATION_UNITS.to_vec();
    units.sort_by_key(|unit| std::cmp::Reverse(unit.chars().count()));
    format!(
        "^\\s*(?:[0-9]+(?:\\.[0-9]+)?\\s*(?:{})\\s*)+$",
        units.join("|")
    )
}

/// Lists the units of a size, as `tcprun proxy` reads them (any case), bytes last.
const SIZE_UNITS: &[&str] = &["gib", "mib", "kib", "gb", "mb", "kb", "g", "m", "k", "b"];

/// Returns a size without anchors: whole bytes with an optional unit, or a
/// fraction with a unit larger than a byte (`1.5KiB`).
fn size_body() -> String {
    let all = any_case(SIZE_UNITS);
    let scaled = any_case(&SIZE_UNITS[..SIZE_UNITS.len() - 1]);
    format!("(?:[0-9]+\\s*(?:{all})?|[0-9]+\\.[0-9]+\\s*(?:{scaled}))")
}

/// Returns the pattern of a size as a fault takes it (`64KiB`, `100`,
/// `1.5MB`; see `proxy::units::size`).
pub(crate) fn fault_size_pattern() -> String {
    format!("^\\s*{}\\s*$", size_body())
}

/// Returns the pattern of a size as text: a whole number of bytes, and a
/// 1024-based unit in any case (`4KiB`, `1 MiB`; see `framing::size`).
pub(crate) fn size_pattern() -> String {
    format!(
        "^\\s*[0-9]+\\s*(?:{})?\\s*$",
        any_case(&["B", "KiB", "MiB", "GiB"])
    )
}

/// Returns the pattern of a rate: a size per second (`64KiB/s`, `1MiB/sec`).
pub(crate) fn rate_pattern() -> String {
    format!("^\\s*{}\\s*/s(?:ec)?\\s*$", size_body())
}

/// Returns the pattern of a probability written as text: 0 to 1, or a percentage.
pub(crate) fn probability_pattern() -> String {
    let fraction = "0*(?:\\.[0-9]*)?|0*1(?:\\.0*)?|0*\\.[0-9]+";
    let percent = "0*(?:[0-9]{1,2}(?:\\.[0-9]*)?|100(?:\\.0*)?)\\s*%";
    format!("^\\s*(?:{fraction}|{percent})\\s*$")
}

/// Returns the pattern of hex data: pairs of hex digits, ASCII whitespace anywhere.
pub(crate) fn hex_pattern() -> String {
    format!("^{SPACE}(?:[0-9A-Fa-f]{SPACE}[0-9A-Fa-f]{SPACE})*$")
}

/// Returns the pattern of base64 data: standard alphabet, canonical padding
/// or none, no stray bits in the last character, ASCII whitespace anywhere.
pub(crate) fn base64_pattern() -> String {
    let symbol = format!("[A-Za-z0-9+/]{SPACE}");
    let group = symbol.repeat(4);
    format!(
        "^{SPACE}(?:{group})*(?:{symbol}[AQgw]{SPACE}(?:={SPACE}={SPACE})?|{symbol}{symbol}[AEIMQUYcgkosw048]{SPACE}(?:={SPACE})?)?$"
    )
}

/// Returns the pattern of a signal name: any case, `SIG` prefix optional.
pub(crate) fn signal_pattern() -> String {
    format!("^(?:{})?(?:{})$", any_case(&["SIG"]), any_case(SIGNALS))
}

/// Returns the pattern of an encoding name or alias, in any case; `text_only` keeps the text encodings.
pub(crate) fn encoding_pattern(text_only: bool) -> String {
    let names: Vec<&str> = Encoding::ALL
        .iter()
        .map(|e| (e.name(), *e))
        .chain(ENCODING_ALIASES.iter().copied())
        .filter(|(_, e)| !text_only || e.is_text())
        .map(|(name, _)| name)
        .collect();
    format!("^(?:{})$", any_case(&names))
}

/// Returns the pattern of `address:`: `host:port`, or `[host]:port`, port 1 to 65535.
pub(crate) fn address_pattern() -> String {
    let port = "\\+?0*(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])";
    format!("^(?:\\[[^\\]]+\\]|[^\\[].*):{port}$")
}

#[cfg(test)]
mod tests {
    use regex::Regex;

    use super::*;
    use crate::scenario::read_client::valid_client_name;
    use crate::scenario::read_program::signal_name;
    use crate::scenario::read_steps::is_error_code;

    fn matches(pattern: &str, text: &str) -> bool {
        Regex::new(pattern).unwrap().is_match(text)
    }

    #[test]
    fn duration_pattern_agrees_with_humantime() {
        for unit in DURATION_UNITS {
            let text = format!("2{unit}");
            assert!(humantime::parse_duration(&text).is_ok(), "{text}");
            assert!(matches(&duration_pattern(), &text), "{text}");
        }
        let samples = [
            "500ms",
            "3s",
            "1m",
            "1h 30m",
            "1h30m",
            " 2s ",
            "1.5s",
            "10 seconds",
            "2 min 3 s",
            "0s",
            "5",
            "",
            " ",
            "s",
            "1.s",
            ".5s",
            "1x",
            "5sm",
            "5m s",
            "-1s",
            "1h,30m",
            "1e3",
            "2M",
            "2MS",
        ];
        for text in samples {
            let humantime = humantime::parse_duration(text.trim()).is_ok()
                && !text.trim().chars().all(|c| c.is_ascii_digit());
            assert_eq!(matches(&duration_pattern(), text), humantime, "{text:?}");
        }
    }

    #[test]
    fn data_patterns_agree_with_the_encoder() {
        let samples = [
            "",
            "00",
            "0",
            "abc",
            "de ad be ef",
            "DEADBEEF",
            "4\n8",
            "zz",
            "48 6",
            "SGk",
            "SGk=",
            "SGl",
            "SGl=",
            "SGVsbG8=",
            "SGVsbG8",
            "SGVsbG8gV29ybGQh",
            "aGk=",
            "aGk==",
            "aG==",
            "aA==",
            "aA",
            "aB",
            "a",
            "=",
            "!!!",
            "SGVs bG8=",
            "SG\nk=",
            "aGVsbG8=\n",
            "ab+/",
            "ab-_",
        ];
        for text in samples {
            for (pattern, encoding) in [
                (hex_pattern(), Encoding::Hex),
                (base64_pattern(), Encoding::Base64),
            ] {
                assert_eq!(
                    matches(&pattern, text),
                    encoding.encode(text).is_ok(),
                    "{encoding:?} {text:?}"
                );
            }
        }
    }

    #[test]
    fn name_patterns_agree_with_the_loader() {
        for name in [
            "client", "alice", "_x", "a-b_9", "Bob", "1", "9a", "-a", "", "a b", "é", "a.b",
        ] {
            assert_eq!(
                matches(CLIENT_NAME, name),
                valid_client_name(name),
                "{name:?}"
            );
        }
        for code in [
            "ECONNREFUSED",
            "E2BIG",
            "E",
            "econnrefused",
            "ECONN-REFUSED",
            "XECONN",
        ] {
            assert_eq!(matches(ERROR_CODE, code), is_error_code(code), "{code:?}");
        }
        for signal in [
            "TERM",
            "term",
            "SigTerm",
            "SIGKILL",
            "usr1",
            "SIGUSR2",
            "SIG",
            "TERMINATE",
            "9",
            "SIGSIGTERM",
            "XTERM",
        ] {
            assert_eq!(
                matches(&signal_pattern(), signal),
                signal_name(signal).is_some(),
                "{signal:?}"
            );
        }
        for name in [
            "utf8",
            "UTF-8",
            "Latin1",
            "binary",
            "ISO-8859-1",
            "ascii",
            "hex",
            "BASE64",
            "utf16",
            "utf_8",
            "",
        ] {
            let parsed = name.parse::<Encoding>().ok();
            assert_eq!(
                matches(&encoding_pattern(false), name),
                parsed.is_some(),
                "{name:?}"
            );
            assert_eq!(
                matches(&encoding_pattern(true), name),
                parsed.is_some_and(Encoding::is_text),
                "{name:?}"
            );
        }
        for (alias, encoding) in ENCODING_ALIASES {
            assert_eq!(alias.parse::<Encoding>().ok(), Some(*encoding));
        }
    }

    #[test]
    fn size_rate_and_probability_patterns_agree_with_the_proxy() {
        use crate::proxy::FaultSpec;
        let accepts = |key: &str, value: &str| {
            FaultSpec::from_pairs(&[("drop", "true"), (key, value)]).is_ok()
        };
        for size in [
            "100", "64KiB", "64 kib", "1.5MB", "1MiB", " 7 ", "2g", "1.5", "1.KiB", "KiB", "1.5b",
            "-1", "1x",
        ] {
            assert_eq!(
                matches(&fault_size_pattern(), size),
                accepts("after_bytes", size),
                "{size}"
            );
        }
        let rate = |text: &str| FaultSpec::from_pairs(&[("bandwidth", text)]).is_ok();
        for text in [
            "64KiB/s",
            "1MiB/sec",
            "500B/s",
            "1.5 MB /s",
            "64KiB",
            "/s",
            "1.5/s",
            "1x/s",
        ] {
            assert_eq!(matches(&rate_pattern(), text), rate(text), "{text}");
        }
        for text in [
            "0", "1", "0.25", ".5", "1.0", "25%", "100%", "0 %", "1.5", "101%", "x", "-0.1", "2",
        ] {
            assert_eq!(
                matches(&probability_pattern(), text),
                accepts("probability", text),
                "{text}"
            );
        }
    }

    #[test]
    fn address_pattern_agrees_with_the_loader() {
        let addresses = [
            "127.0.0.1:6379",
            "localhost:80",
            "[::1]:6379",
            "::1:6379",
            "::80",
            "h:65535",
            "h:080",
            "h:+80",
            "h:65536",
            "h:0",
            "h:",
            ":80",
            "localhost",
            "[::1]",
            "[]:80",
            "[::1]80",
            "h:8o",
            "h: 80",
        ];
        for address in addresses {
            let source =
                format!("server: {{address: {address:?}}}\nclient: {{}}\nsteps: [sleep: 1s]\n");
            let loaded = crate::scenario::load_str(std::path::Path::new("t.yaml"), &source);
            assert_eq!(
                matches(&address_pattern(), address),
                loaded.is_ok(),
                "{address}"
            );
        }
    }

    #[test]
    fn size_pattern_agrees_with_the_loader() {
        let samples = [
            "4096", "4KiB", "4kib", "1 MiB", " 2GiB ", "7B", "0", "4KB", "4 K", "1.5MiB", "MiB",
            "-1", "", "4KiBs",
        ];
        for text in samples {
            let loads = crate::framing::size::parse_size(text).is_ok();
            assert_eq!(matches(&size_pattern(), text), loads, "{text:?}");
        }
    }
}
