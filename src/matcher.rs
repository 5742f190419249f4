//! Finds regex matches in text that is still arriving: a match counts only when more input cannot change it.
//!
//! A scenario's `expect` runs over output that TCP (or a program's writes)
//! delivers in pieces. Matching what has arrived so far as if it were the
//! whole text passes falsely: `^OK 1$` matches `OK 1` although `0\n` is on
//! its way, and `(?<n>\d+)` captures `1` of `10`. [`Matcher::find`] follows
//! PCRE2's *hard partial* rule instead: a match is final only when no
//! further input could change where it starts, where it ends or what it
//! captures, or when the stream has ended, in which case the text is
//! matched as it is. `$` therefore means the end of a line (before `\n`, or
//! `\r\n`), or the end of a stream that has ended, never "the end of what
//! has arrived so far"; a literal that has matched (a prompt such as
//! `Password: `) is final at once.
//!
//! The decision walks regex-automata's lazy DFA (the engine under `regex`)
//! over the text, remembering where the leftmost-first match ends, until the
//! DFA is dead. When the text runs out first, it looks one input symbol
//! ahead (every byte that can start a character, and the end of input): the
//! match is final only if every possible next symbol leads to the same
//! result. The start of the match and its groups come from the meta regex,
//! run over the match's span with the surrounding text as context.
//!
//! The walk is incremental: a [`Scan`] keeps the DFA's place, so text that
//! arrives in many pieces is walked once, not once per piece.

use std::sync::Arc;

use regex_automata::hybrid::LazyStateID;
use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::util::captures::Captures;
use regex_automata::util::start;
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input, meta};

/// Holds one compiled pattern: the meta regex (spans and groups) and a lazy
/// DFA (where matches end, and whether they are final).
#[derive(Debug, Clone)]
pub struct Matcher {
    meta: meta::Regex,
    dfa: Arc<DFA>,
    /// Matches raw bytes (any byte may come next), not decoded text.
    bytes: bool,
}

/// Describes a final match: where it is in the text searched, and its named groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// Byte offset where the match starts.
    pub start: usize,
    /// Byte offset where the match ends (exclusive).
    pub end: usize,
    /// The named groups that took part, as (name, value), in pattern order.
    pub captures: Vec<(String, String)>,
    /// Whether deciding needed text beyond `end` (false: the match was
    /// final the moment its last byte arrived, as a literal prompt is).
    pub looked_ahead: bool,
}

/// Says what a stream fed piece by piece ([`Matcher::feed`]) holds so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fed {
    /// The first match is final; it ends at this offset of the stream.
    End(usize),
    /// Not decided yet. Every match the stream can still make final ends
    /// at `hold` or later (an offset of the stream), so the bytes before
    /// `hold` can be acted on already.
    Pending {
        /// The earliest offset a final match can end at.
        hold: usize,
    },
    /// No match, and none can come: the stream has ended.
    None,
    /// The DFA gave up (a Unicode word boundary beside a non-ASCII byte),
    /// and without the text nothing can be decided.
    GaveUp,
}

/// Says what the text holds so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// A match that more input cannot change.
    Match(Match),
    /// A match may be under way: more input decides. `from` is where the
    /// earliest candidate match could start, for messages.
    Pending {
        /// Byte offset of the text the pending match could start at (the
        /// start of the best match so far, or of the unmatched tail).
        from: usize,
    },
    /// No match: none is under way, and once the stream has ended none can come.
    None,
    /// Not decided yet: walking the text took its time slice; call again
    /// (after letting other work run) to go on where it stopped.
    Busy,
}

/// Bounds one call of [`Matcher::find`]: a long text is walked in slices,
/// so that a slow pattern cannot keep timers and timeouts from firing.
const SLICE: std::time::Duration = std::time::Duration::from_millis(5);

/// Reports a pattern that does not compile: a syntax error, or a compiled
/// size over the limit.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BuildError(Box<Why>);

/// Says why a pattern does not compile.
#[derive(Debug, thiserror::Error)]
enum Why {
    /// The meta regex refused it: its syntax or its size.
    #[error(transparent)]
    Meta(meta::BuildError),
    /// The lazy DFA refused it.
    #[error("{0}")]
    Dfa(String),
}

impl BuildError {
    /// Returns the syntax error's text (the pattern, a caret and the
    /// reason), if the pattern is not valid syntax.
    pub fn syntax(&self) -> Option<String> {
        match &*self.0 {
            Why::Meta(error) => error.syntax_error().map(ToString::to_string),
            Why::Dfa(_) => None,
        }
    }

    /// Returns the size limit in bytes that the compiled pattern exceeds, if that is why.
    pub fn size_limit(&self) -> Option<usize> {
        match &*self.0 {
            Why::Meta(error) => error.size_limit(),
            Why::Dfa(_) => None,
        }
    }
}

impl From<meta::BuildError> for BuildError {
    fn from(error: meta::BuildError) -> Self {
        BuildError(Box::new(Why::Meta(error)))
    }
}

/// Keeps the DFA's place in one text between calls to [`Matcher::find`],
/// so that only new text is walked. Valid while the text only grows at its
/// end; [`Scan::reset`] starts over.
#[derive(Debug)]
pub struct Scan {
    cache: Cache,
    /// The state after the text walked so far (none: not started).
    state: Option<LazyStateID>,
    /// How many bytes of the text were walked.
    walked: usize,
    /// Where the best match so far ends, and the DFA's state there.
    last_end: Option<(usize, LazyStateID)>,
    /// The last byte walked (what `^` and `\b` look behind at).
    behind: Option<u8>,
    /// The DFA gave up on this text (a Unicode word boundary next to a
    /// non-ASCII byte): decide by lines instead.
    quit: bool,
}

impl Scan {
    /// Forgets the place: the next search walks the text from its start.
    pub fn reset(&mut self) {
        self.state = None;
        self.walked = 0;
        self.last_end = None;
        self.behind = None;
        self.quit = false;
    }
}

impl Matcher {
    /// Compiles `pattern` for decoded text the way every scenario pattern
    /// is compiled: multi-line (`^` and `$` at line ends) and CRLF-aware
    /// (`$` before `\r\n`).
    ///
    /// # Errors
    /// The pattern's syntax error, or a compiled size over the limits.
    pub fn new(pattern: &str) -> Result<Self, BuildError> {
        Self::build(pattern, false, None)
    }

    /// Compiles `pattern` as [`Matcher::new`] does, refusing it when its
    /// compiled program would take more than `size_limit` bytes.
    ///
    /// # Errors
    /// As [`Matcher::new`]; [`BuildError::size_limit`] says when the limit is why.
    pub fn limited(pattern: &str, size_limit: usize) -> Result<Self, BuildError> {
        Self::build(pattern, false, Some(size_limit))
    }

    /// Compiles `pattern` for raw bytes (`.` matches any byte, as in
    /// `regex::bytes`), otherwise as [`Matcher::new`].
    ///
    /// # Errors
    /// As [`Matcher::new`].
    pub fn new_bytes(pattern: &str) -> Result<Self, BuildError> {
        Self::build(pattern, true, None)
    }

    fn build(pattern: &str, bytes: bool, size_limit: Option<usize>) -> Result<Self, BuildError> {
        let syntax = syntax::Config::new()
            .multi_line(true)
            .crlf(true)
            .utf8(!bytes);
        // No one-pass DFA: it costs memory per pattern, and groups come from
        // one short span per match. (No full DFA either: the crate is built
        // without `dfa-build`, see Cargo.toml; the lazy DFA below scans.)
        let mut config = meta::Config::new().onepass(false);
        if size_limit.is_some() {
            config = config.nfa_size_limit(size_limit);
        }
        let meta = meta::Builder::new()
            .configure(config)
            .syntax(syntax)
            .build(pattern)?;
        let dfa = DFA::builder()
            .syntax(syntax)
            .thompson(
                regex_automata::nfa::thompson::Config::new()
                    .nfa_size_limit(size_limit.or(Some(10 << 20))),
            )
            // A Unicode `\b` is handled until a non-ASCII byte comes next to
            // it; then the scan decides by lines (see `by_lines`).
            // A pattern too big for the cache still builds: the DFA then
            // clears its cache often, or gives up and the scan decides by lines.
            .configure(
                DFA::config()
                    .unicode_word_boundary(true)
                    .skip_cache_capacity_check(true),
            )
            .build(pattern)
            .map_err(|error| BuildError(Box::new(Why::Dfa(error.to_string()))))?;
        Ok(Self {
            meta,
            dfa: Arc::new(dfa),
            bytes,
        })
    }

    /// Returns the names of the pattern's named groups, in order.
    pub fn group_names(&self) -> Vec<String> {
        self.meta
            .group_info()
            .pattern_names(regex_automata::PatternID::ZERO)
            .flatten()
            .map(str::to_owned)
            .collect()
    }

    /// Returns the underlying meta regex (for plain searches over finished text).
    pub fn regex(&self) -> &meta::Regex {
        &self.meta
    }

    /// Returns a new scan for one text.
    pub fn scan(&self) -> Scan {
        Scan {
            cache: self.dfa.create_cache(),
            state: None,
            walked: 0,
            last_end: None,
            behind: None,
            quit: false,
        }
    }

    /// Searches `text` (all that has arrived of a stream; `ended`: the
    /// stream is over) for the leftmost-first match, and says whether it is
    /// final. `scan` must have seen only earlier, shorter versions of this
    /// same text (or be new or reset).
    pub fn find(&self, scan: &mut Scan, text: &[u8], ended: bool) -> Found {
        let hay = text;
        if scan.walked > hay.len() {
            scan.reset();
        }
        let until = std::time::Instant::now() + SLICE;
        if !scan.quit && self.walk(scan, &hay[scan.walked..], Some(until)).is_err() {
            scan.quit = true;
        }
        if !scan.quit && scan.walked < hay.len() {
            return Found::Busy;
        }
        let decided = if scan.quit {
            Err(())
        } else {
            self.decide(scan, hay.len(), ended)
        };
        let (end, looked_ahead) = match decided {
            Ok(Decision::Final(end, looked_ahead)) => (end, looked_ahead),
            Ok(Decision::NoMatch) => return Found::None,
            Ok(Decision::Pending) => {
                let last = scan.last_end.map(|(end, _)| end);
                return Found::Pending {
                    from: self.pending_from(text, last),
                };
            }
            Err(()) => {
                scan.quit = true;
                return self.by_lines(text, ended);
            }
        };
        self.captures(text, end)
            .map(|found| Match {
                looked_ahead,
                ..found
            })
            .map_or(Found::None, Found::Match)
    }

    /// Walks `new`, the text that follows what the scan walked so far,
    /// stopping early once the DFA is dead, or (with `until`) once that
    /// time has passed, to go on at the next call.
    fn walk(
        &self,
        scan: &mut Scan,
        new: &[u8],
        until: Option<std::time::Instant>,
    ) -> Result<(), ()> {
        let dfa = &*self.dfa;
        let mut state = match scan.state {
            Some(state) => state,
            None => {
                let config = start::Config::new().anchored(Anchored::No);
                dfa.start_state(&mut scan.cache, &config).map_err(drop)?
            }
        };
        let start = scan.walked;
        let mut at = start;
        for (index, &byte) in new.iter().enumerate() {
            if state.is_dead() {
                break;
            }
            if index % 64 == 63 && until.is_some_and(|until| std::time::Instant::now() >= until) {
                break;
            }
            let before = state;
            state = dfa.next_state(&mut scan.cache, state, byte).map_err(drop)?;
            scan.behind = Some(byte);
            if state.is_quit() {
                return Err(());
            }
            if state.is_match() {
                // Matches are reported one byte late: it ended before `at`.
                scan.last_end = Some((at, before));
            }
            at += 1;
        }
        scan.state = Some(state);
        scan.walked = if state.is_dead() {
            start + new.len()
        } else {
            at
        };
        Ok(())
    }

    /// Feeds the next piece of a stream to `scan` (which has been fed only
    /// the pieces before it) and says where the first final match ends,
    /// as an offset of the whole stream; `ended`: the stream is over.
    ///
    /// Unlike [`Matcher::find`], the text is not needed again, so nothing
    /// has to keep it: this is for streams too long to hold, where only the
    /// end of the match matters (a trigger point), not its start or groups.
    pub fn feed(&self, scan: &mut Scan, piece: &[u8], ended: bool) -> Fed {
        if scan.quit || self.walk(scan, piece, None).is_err() {
            scan.quit = true;
            return Fed::GaveUp;
        }
        match self.decide(scan, scan.walked, ended) {
            Ok(Decision::Final(end, _)) => Fed::End(end),
            Ok(Decision::NoMatch) if ended => Fed::None,
            // Nothing under way: every byte walked can be acted on.
            Ok(Decision::NoMatch) => Fed::Pending { hold: scan.walked },
            // A match that ends before the walk's end has been seen (one
            // byte late); any final match ends at the best one so far or
            // later, or, with none so far, at the end of the walk or later.
            Ok(Decision::Pending) => Fed::Pending {
                hold: scan.last_end.map_or(scan.walked, |(end, _)| end),
            },
            Err(()) => {
                scan.quit = true;
                Fed::GaveUp
            }
        }
    }

    /// Decides from where the walk stopped (`len` bytes in): final (where
    /// the match ends, and whether that needed text beyond it), no match, or pending.
    fn decide(&self, scan: &mut Scan, len: usize, ended: bool) -> Result<Decision, ()> {
        let behind = scan.behind;
        let state = scan.state.ok_or(())?;
        let last = scan.last_end;
        let cache = &mut scan.cache;
        // Whether the best match so far was final the moment its last byte came.
        let at_once = |cache: &mut Cache| match last {
            Some((_, there)) => self.ends_here(cache, there).map(|once| !once),
            None => Ok(true),
        };
        if state.is_dead() {
            return Ok(match last {
                Some((end, _)) => Decision::Final(end, at_once(cache)?),
                None => Decision::NoMatch,
            });
        }
        let eoi = self.dfa.next_eoi_state(cache, state).map_err(drop)?;
        if ended {
            return Ok(if eoi.is_match() {
                Decision::Final(len, !self.ends_here(cache, state)?)
            } else {
                match last {
                    Some((end, _)) => Decision::Final(end, at_once(cache)?),
                    None => Decision::NoMatch,
                }
            });
        }
        // The stream goes on: every next symbol must lead to one result.
        // A: nothing more can match, so the best match so far stands.
        let nexts = self.next_states(cache, state)?;
        if !eoi.is_match() && nexts.iter().all(|s| s.is_dead()) {
            return Ok(match last {
                Some((end, _)) => Decision::Final(end, at_once(cache)?),
                None => Decision::NoMatch,
            });
        }
        // B: a match ends here whatever comes next, and nothing extends it.
        if self.ends_here(cache, state)? {
            return Ok(Decision::Final(len, false));
        }
        // With no match so far, a match is under way only if the DFA has
        // moved on from where a fresh search would start here.
        if last.is_none() {
            let config = start::Config::new()
                .anchored(Anchored::No)
                .look_behind(behind);
            let fresh = self.dfa.start_state(cache, &config).map_err(drop)?;
            if fresh == state {
                return Ok(Decision::NoMatch);
            }
        }
        Ok(Decision::Pending)
    }

    /// Returns true when, from `state`, a match ends right here whatever
    /// comes next (the end of input, or any character), and no next byte
    /// can extend or replace it: a literal that has just matched.
    fn ends_here(&self, cache: &mut Cache, state: LazyStateID) -> Result<bool, ()> {
        let dfa = &*self.dfa;
        if !dfa.next_eoi_state(cache, state).map_err(drop)?.is_match() {
            return Ok(false);
        }
        for next in self.next_states(cache, state)? {
            if !next.is_match() {
                return Ok(false);
            }
            for byte in 0..=255u8 {
                let after = dfa.next_state(cache, next, byte).map_err(drop)?;
                if after.is_quit() {
                    return Err(());
                }
                if !after.is_dead() {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// Returns the states after each byte that can come next, one per byte
    /// class: for decoded text, a byte that starts a character.
    fn next_states(&self, cache: &mut Cache, state: LazyStateID) -> Result<Vec<LazyStateID>, ()> {
        let dfa = &*self.dfa;
        let classes = dfa.byte_classes();
        let mut seen = [false; 256];
        let mut states = Vec::new();
        let leads = (0..=0x7fu8).chain(0xc2..=0xf4);
        let any: Box<dyn Iterator<Item = u8>> = if self.bytes {
            Box::new(0..=255u8)
        } else {
            Box::new(leads)
        };
        for byte in any {
            let class = usize::from(classes.get(byte));
            if std::mem::replace(&mut seen[class], true) {
                continue;
            }
            let next = dfa.next_state(cache, state, byte).map_err(drop)?;
            if next.is_quit() {
                return Err(());
            }
            states.push(next);
        }
        Ok(states)
    }

    /// Finds the match that ends at `end`, with its groups: the meta regex
    /// over `text[..end]`, seeing the text around it for look-around.
    fn captures(&self, text: &[u8], end: usize) -> Option<Match> {
        let mut caps: Captures = self.meta.create_captures();
        let input = Input::new(text).span(0..end);
        // A cache of its own, dropped after: a regex keeps none between steps.
        let mut cache = self.meta.create_cache();
        self.meta
            .search_captures_with(&mut cache, &input, &mut caps);
        let found = caps.get_match()?;
        let captures = self
            .meta
            .group_info()
            .pattern_names(regex_automata::PatternID::ZERO)
            .enumerate()
            .filter_map(|(index, name)| {
                let name = name?;
                let span = caps.get_group(index)?;
                let value = String::from_utf8_lossy(&text[span.range()]);
                Some((name.to_owned(), value.into_owned()))
            })
            .collect();
        Some(Match {
            start: found.start(),
            end: found.end(),
            captures,
            looked_ahead: false,
        })
    }

    /// Decides without the DFA (it gave up: a Unicode word boundary met a
    /// non-ASCII byte): a match is final when the stream has ended, or when
    /// a line break follows it in the text (so `$` and greedy repeats have
    /// seen their line's end).
    fn by_lines(&self, text: &[u8], ended: bool) -> Found {
        let searched = if ended {
            text.len()
        } else {
            memchr::memrchr(b'\n', text).unwrap_or(0)
        };
        let mut caps: Captures = self.meta.create_captures();
        // The end of the searched part is not the end of the text: look-around sees past it.
        self.meta.search_captures_with(
            &mut self.meta.create_cache(),
            &Input::new(text).span(0..searched),
            &mut caps,
        );
        match caps.get_match() {
            Some(found) => self
                .captures(text, found.end())
                .map(|mut m| {
                    m.looked_ahead = true;
                    m
                })
                .map_or(Found::None, Found::Match),
            None if ended => Found::None,
            None => Found::Pending {
                from: self.pending_from(text, None),
            },
        }
    }

    /// Returns where a pending match could start, for messages: the start of
    /// the best match so far, else the start of the last line.
    fn pending_from(&self, text: &[u8], last_end: Option<usize>) -> usize {
        if let Some(end) = last_end
            && let Some(found) = self.captures(text, end)
        {
            return found.start;
        }
        memchr::memrchr(b'\n', text).map_or(0, |at| at + 1)
    }
}

/// Says what the walk so far decides.
enum Decision {
    /// The match ending here is final; true when deciding needed text beyond its end.
    Final(usize, bool),
    /// No match, and none can come.
    NoMatch,
    /// More input decides.
    Pending,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `pieces` one at a time to one scan and returns what the last search found.
    fn find_in_pieces(pattern: &str, pieces: &[&str], ended: bool) -> Found {
        let matcher = Matcher::new(pattern).unwrap();
        let mut scan = matcher.scan();
        let mut text = String::new();
        let mut found = Found::None;
        for piece in pieces {
            text.push_str(piece);
            found = matcher.find(&mut scan, text.as_bytes(), false);
        }
        if ended {
            found = matcher.find(&mut scan, text.as_bytes(), true);
        }
        found
    }

    fn find(pattern: &str, text: &str, ended: bool) -> Found {
        find_in_pieces(pattern, &[text], ended)
    }

    fn matched(pattern: &str, text: &str, ended: bool) -> Option<(usize, usize)> {
        match find(pattern, text, ended) {
            Found::Match(m) => Some((m.start, m.end)),
            _ => None,
        }
    }

    fn pending(found: &Found) -> bool {
        matches!(found, Found::Pending { .. })
    }

    #[test]
    fn a_dollar_waits_for_the_end_of_the_line() {
        assert!(pending(&find("^OK 1$", "OK 1", false)));
        assert!(!matches!(find("^OK 1$", "OK 10\n", false), Found::Match(_)));
        assert_eq!(matched("^OK 1$", "OK 1\n", false), Some((0, 4)));
        assert_eq!(matched("^OK 1$", "OK 1\r\n", false), Some((0, 4)));
        // A stream that has ended ends the line.
        assert_eq!(matched("^OK 1$", "OK 1", true), Some((0, 4)));
    }

    #[test]
    fn a_greedy_group_waits_for_its_last_digit() {
        let found = find_in_pieces(r"^count (?<n>\d+)", &["count 1"], false);
        assert!(pending(&found), "{found:?}");
        let found = find_in_pieces(r"^count (?<n>\d+)", &["count 1", "0\n"], false);
        let Found::Match(m) = found else {
            panic!("{found:?}")
        };
        assert_eq!(m.captures, vec![("n".to_owned(), "10".to_owned())]);
        // When the stream ends after `1`, `1` is all there is.
        let found = find_in_pieces(r"^count (?<n>\d+)", &["count 1"], true);
        let Found::Match(m) = found else {
            panic!("{found:?}")
        };
        assert_eq!(m.captures, vec![("n".to_owned(), "1".to_owned())]);
    }

    #[test]
    fn a_literal_prompt_is_final_at_once() {
        let Found::Match(m) = find("Password: ", "login ok\nPassword: ", false) else {
            panic!()
        };
        assert_eq!((m.start, m.end, m.looked_ahead), (9, 19, false));
        assert_eq!(matched("^ready", "ready", false), Some((0, 5)));
        assert_eq!(matched("hello", "say hello", false), Some((4, 9)));
    }

    #[test]
    fn an_earlier_start_can_still_win() {
        // `b` has matched, but `abc` would start earlier.
        assert!(pending(&find("abc|b", "ab", false)));
        assert_eq!(matched("abc|b", "abc", false), Some((0, 3)));
        assert_eq!(matched("abc|b", "abd", false), Some((1, 2)));
    }

    #[test]
    fn pieces_give_what_the_whole_gives() {
        let text = "220 ready\r\nuser bob\nvalue 42 of 7\nbye";
        let patterns = [
            r"^user (?<name>\w+)$",
            r"value (?<v>\d+)",
            r"\d+ of \d+$",
            r"^bye$",
            r"ready\r?$",
            r"\bof\b",
            "nope",
        ];
        for pattern in patterns {
            let whole = find(pattern, text, true);
            for cut in 0..=text.len() {
                let found = find_in_pieces(pattern, &[&text[..cut], &text[cut..]], true);
                assert_eq!(found, whole, "{pattern:?} cut at {cut}");
            }
        }
    }

    #[test]
    fn a_final_match_never_changes_with_more_input() {
        // Every prefix of every text: if the prefix's match is final, the
        // whole text (ended) gives the same match.
        let texts = [
            "OK 10\nOK 1\n",
            "count 12345 end\n",
            "abcabcab\nabc",
            "a\r\nb\r\n",
            "xxxxy\n",
            "caf\u{e9} au lait\n",
        ];
        let patterns = [
            "^OK 1$",
            r"\d+",
            r"count (?<n>\d+)",
            "abc|b",
            "(?:abc)+",
            "^b$",
            "x*y",
            "a.*",
            r"caf\S*",
            r"\w+$",
            "lait$",
        ];
        for pattern in patterns {
            let matcher = Matcher::new(pattern).unwrap();
            for text in texts {
                let whole = matcher.find(&mut matcher.scan(), text.as_bytes(), true);
                for cut in (0..=text.len()).filter(|c| text.is_char_boundary(*c)) {
                    if let Found::Match(m) =
                        matcher.find(&mut matcher.scan(), &text.as_bytes()[..cut], false)
                    {
                        let Found::Match(w) = &whole else {
                            panic!(
                                "{pattern:?} on {text:?}: final at {cut} but no match in the whole"
                            )
                        };
                        assert_eq!(
                            (m.start, m.end, &m.captures),
                            (w.start, w.end, &w.captures),
                            "{pattern:?} on {text:?} cut at {cut}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_match_under_way_is_pending_and_nothing_is_none() {
        assert_eq!(find("^x$", "abc\n", false), Found::None);
        assert_eq!(find("^x$", "abc\n", true), Found::None);
        assert_eq!(find("hi bob", "", false), Found::None);
        assert!(pending(&find("hi bob", "say h", false)));
        assert!(pending(&find("hi bob", "say hi b", false)));
        assert_eq!(find("hi bob", "say hi b", true), Found::None);
    }

    #[test]
    fn a_unicode_word_boundary_next_to_non_ascii_decides_by_lines() {
        // The DFA gives up on `\b` beside `é`; the line decides.
        assert!(pending(&find(r"\bcafé\b", "un café", false)));
        assert_eq!(matched(r"\bcafé\b", "un café\n", false), Some((3, 8)));
        assert_eq!(matched(r"\bcafé\b", "un café", true), Some((3, 8)));
    }

    #[test]
    fn whether_it_looked_ahead_does_not_depend_on_the_pieces() {
        for (pattern, looked) in [("^ready", false), ("^ready$", true), (r"\d+", true)] {
            let text = "ready\n12 3\n";
            let matcher = Matcher::new(pattern).unwrap();
            let mut seen = Vec::new();
            for cut in 1..=text.len() {
                if let Found::Match(m) =
                    matcher.find(&mut matcher.scan(), &text.as_bytes()[..cut], false)
                {
                    seen.push(m.looked_ahead);
                }
            }
            assert!(!seen.is_empty(), "{pattern}");
            assert!(seen.iter().all(|l| *l == looked), "{pattern}: {seen:?}");
        }
    }

    #[test]
    fn an_ended_stream_gives_what_the_regex_gives() {
        let mut seed = 7u64;
        let mut next = move |n: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize % n
        };
        let alphabet = ['a', 'b', '1', '0', ' ', '\n', '\r', 'é'];
        let patterns = [
            "a+",
            "^a",
            "b$",
            "^$",
            r"a\d*b",
            "(?:ab)+",
            r"\s+",
            "a|ab|abb",
            r"^(?<x>\w+) \d$",
            ".*b",
        ];
        for _ in 0..120 {
            let len = next(12);
            let text: String = (0..len).map(|_| alphabet[next(alphabet.len())]).collect();
            for pattern in patterns {
                let matcher = Matcher::new(pattern).unwrap();
                let expected = matcher
                    .regex()
                    .find(text.as_str())
                    .map(|m| (m.start(), m.end()));
                let got = match matcher.find(&mut matcher.scan(), text.as_bytes(), true) {
                    Found::Match(m) => Some((m.start, m.end)),
                    Found::None => None,
                    pending => panic!("{pattern:?} on {text:?}: {pending:?} after the end"),
                };
                assert_eq!(got, expected, "{pattern:?} on {text:?}");
                // And every final match of a prefix is that match.
                for cut in (0..=text.len()).filter(|c| text.is_char_boundary(*c)) {
                    if let Found::Match(m) =
                        matcher.find(&mut matcher.scan(), &text.as_bytes()[..cut], false)
                    {
                        assert_eq!(
                            Some((m.start, m.end)),
                            expected,
                            "{pattern:?} on {text:?} cut at {cut}"
                        );
                    }
                }
            }
        }
    }

    /// Feeds `text` cut at `cuts` to a byte matcher; returns each answer.
    fn feed_cut(matcher: &Matcher, text: &[u8], cuts: &[usize]) -> Vec<Fed> {
        let mut scan = matcher.scan();
        let mut from = 0;
        let mut answers = Vec::new();
        for &cut in cuts.iter().chain([&text.len()]) {
            answers.push(matcher.feed(&mut scan, &text[from..cut], false));
            from = cut;
        }
        answers.push(matcher.feed(&mut scan, b"", true));
        answers
    }

    #[test]
    fn a_fed_stream_ends_its_match_where_the_whole_text_does_and_holds_no_byte_past_it() {
        let texts: [&[u8]; 5] = [
            b"PING\r\nOK 10\nOK 1\n",
            b"xxabcabd\n12 34",
            b"\x00\xffQUIT\r\n",
            b"count 12345 end\n",
            b"no match here",
        ];
        let patterns = [
            r"^OK 1$",
            r"\d+",
            "abc|b",
            "QUIT",
            r"(?-u:\xff)Q",
            r"\r\n",
            "zzz",
            "x*",
        ];
        for pattern in patterns {
            let matcher = Matcher::new_bytes(pattern).unwrap();
            for text in texts {
                let whole = matcher.regex().find(text).map(|m| m.end());
                for a in 0..=text.len() {
                    for b in a..=text.len() {
                        let answers = feed_cut(&matcher, text, &[a, b]);
                        let mut ended_at = None;
                        for answer in &answers {
                            match *answer {
                                Fed::End(end) => ended_at = ended_at.or(Some(end)),
                                Fed::Pending { hold } => {
                                    assert!(ended_at.is_none());
                                    if let Some(whole) = whole {
                                        assert!(hold <= whole, "{pattern:?} {text:?} {a} {b}");
                                    }
                                }
                                Fed::None => assert_eq!(whole, None),
                                Fed::GaveUp => panic!("{pattern:?} gave up"),
                            }
                        }
                        assert_eq!(ended_at, whole, "{pattern:?} on {text:?} cut at {a}, {b}");
                    }
                }
            }
        }
    }

    #[test]
    fn raw_bytes_may_come_next_in_any_value() {
        let matcher = Matcher::new_bytes(r"^\+OK$").unwrap();
        let found = matcher.find(&mut matcher.scan(), b"+OK", false);
        assert!(pending(&found), "{found:?}");
        let Found::Match(m) = matcher.find(&mut matcher.scan(), b"+OK\r\n\xff", false) else {
            panic!()
        };
        assert_eq!((m.start, m.end), (0, 3));
        let matcher = Matcher::new_bytes(r"(?-u:\xff)").unwrap();
        assert!(matches!(
            matcher.find(&mut matcher.scan(), b"a\xff", false),
            Found::Match(_)
        ));
    }
}
