//! Suggests the name a person probably meant, for did-you-mean hints.

/// Returns the candidate closest to `input`, if one is close enough to be a likely typo.
pub(crate) fn closest<'a>(input: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let input = input.to_lowercase();
    let bare = |s: &str| s.replace(['_', '-'], "");
    let mut best: Option<(f64, &str)> = None;
    for &candidate in candidates {
        let score = strsim::jaro_winkler(&input, candidate);
        // Separators are compared loosely: `sendline` and `utf-9` are near `send_line` and `utf8`.
        let edits = strsim::osa_distance(&bare(&input), &bare(candidate));
        let close = score >= 0.85 || edits <= (candidate.chars().count() / 4).max(1);
        if close && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

/// Formats names as "`a`, `b` or `c`".
pub(crate) fn list(names: &[&str]) -> String {
    join(names, "or")
}

/// Formats names as "`a`, `b` and `c`".
pub(crate) fn list_all(names: &[&str]) -> String {
    join(names, "and")
}

fn join(names: &[&str], last_word: &str) -> String {
    match names {
        [] => String::new(),
        [one] => format!("`{one}`"),
        [rest @ .., last] => {
            let rest: Vec<String> = rest.iter().map(|n| format!("`{n}`")).collect();
            format!("{} {last_word} `{last}`", rest.join(", "))
        }
    }
}

/// Returns a did-you-mean hint, or else the list of valid names.
pub(crate) fn hint(input: &str, candidates: &[&str]) -> String {
    match closest(input, candidates) {
        Some(name) => format!("did you mean `{name}`?"),
        None => format!("expected {}", list(candidates)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_typos() {
        let steps = [
            "kill_server",
            "stop_server",
            "start_server",
            "send",
            "send_line",
        ];
        assert_eq!(closest("kil_server", &steps), Some("kill_server"));
        assert_eq!(closest("sendline", &steps), Some("send_line"));
        assert_eq!(closest("Send", &steps), Some("send"));
        assert_eq!(
            closest("ecko", &["echo", "chat", "sink", "silent"]),
            Some("echo")
        );
        assert_eq!(closest("utf9", &["utf8", "ascii", "latin1"]), Some("utf8"));
    }

    #[test]
    fn ignores_unrelated_names() {
        assert_eq!(closest("banana", &["echo", "chat", "sink", "silent"]), None);
        assert_eq!(closest("x", &["fin", "reset", "any"]), None);
    }

    #[test]
    fn formats_lists_and_hints() {
        assert_eq!(list(&["a"]), "`a`");
        assert_eq!(list(&["a", "b", "c"]), "`a`, `b` or `c`");
        assert_eq!(list_all(&["a", "b"]), "`a` and `b`");
        assert_eq!(hint("zzz", &["fin", "reset"]), "expected `fin` or `reset`");
        assert_eq!(hint("rest", &["fin", "reset"]), "did you mean `reset`?");
    }
}
