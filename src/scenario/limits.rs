//! The limits on what a scenario file may hold, checked when it is loaded, so
//! that memory and time stay in proportion to the input and the runner never
//! overflows. The README's "Limits" table lists them.

use std::time::Duration;

/// Caps a scenario file's size: 128 MiB (a scenario may send large data
/// written inline).
pub const MAX_FILE_BYTES: u64 = 128 << 20;

/// Caps the nodes a document may expand to (aliases copy what they name).
pub const MAX_NODES: usize = 1_000_000;

/// Caps the text (scalars' bytes) that aliases (`*name`) may copy, all
/// together: 32 MiB. The text written out is bounded by the file's size.
pub const MAX_ALIAS_BYTES: usize = 32 << 20;

/// Caps a regex's length as written, checked before it is compiled: 32 KiB.
pub const MAX_PATTERN_BYTES: usize = 32 << 10;

/// Caps one regex's compiled size (the regex crate's `size_limit` and
/// `nfa_size_limit`): 2 MiB. `x{200000}` is over it; `\w{50}` is under.
pub const MAX_PATTERN_COMPILED: usize = 2 << 20;

/// Caps the compiled size of all the distinct regexes of one file together
/// (identical regexes are compiled once and counted once): 64 MiB.
pub const MAX_FILE_COMPILED: usize = 64 << 20;

/// Caps the bytes one generator (`repeat:` with `times:`, `random:`) makes: 128 MiB,
/// as much as a file may hold written out.
pub const MAX_GENERATED_BYTES: u64 = 128 << 20;

/// Caps every duration in a scenario (timeouts, `sleep`, intervals): 365 days.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// Says [`MAX_DURATION`] in words, for messages and the README.
pub const MAX_DURATION_TEXT: &str = "365 days";

/// Says a byte count in the largest whole unit: `128 MiB`, `32 KiB`, `100 bytes`.
pub(crate) fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts_read_in_whole_units() {
        assert_eq!(bytes(MAX_FILE_BYTES), "128 MiB");
        assert_eq!(bytes(MAX_PATTERN_BYTES as u64), "32 KiB");
        assert_eq!(bytes(1000), "1000 bytes");
        assert_eq!(humantime::parse_duration("365days"), Ok(MAX_DURATION));
    }
}
