//! Reads the scalar values of fault maps (durations, sizes, rates, probabilities) and does the rate math.

use std::time::Duration;

/// Shows how a duration is written, for hints.
pub(crate) const DURATION_HINT: &str = "durations look like 200ms, 3s or 1m";

/// Shows how a size is written, for hints.
pub(crate) const SIZE_HINT: &str = "sizes are bytes, or take a unit: 100, 64KiB, 1MiB, 1.5MB";

/// Shows how a rate is written, for hints.
pub(crate) const RATE_HINT: &str = "rates are a size per second: 64KiB/s, 1MiB/s, 500B/s";

/// Says what a value should have been, and how to write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Expected {
    /// What was expected, e.g. "a duration".
    pub what: String,
    /// How to write it, or what to do instead.
    pub hint: Option<String>,
}

impl Expected {
    fn new(what: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            hint: Some(hint.into()),
        }
    }
}

/// Reads a humantime duration (`200ms`, `1m 30s`); a bare number has no unit and is refused.
pub(crate) fn duration(text: &str) -> Result<Duration, Expected> {
    let trimmed = text.trim();
    if !trimmed.is_empty() && trimmed.chars().all(|c| c.is_ascii_digit()) {
        return Err(Expected::new(
            "a duration with a unit",
            format!("add a unit: `{trimmed}ms` or `{trimmed}s` ({DURATION_HINT})"),
        ));
    }
    humantime::parse_duration(trimmed).map_err(|_| Expected::new("a duration", DURATION_HINT))
}

/// Reads a size in bytes: `100`, `64KiB`, `1MB` (powers of 1000), `1.5MiB` (of 1024).
pub(crate) fn size(text: &str) -> Result<u64, Expected> {
    let bad = || Expected::new("a size", SIZE_HINT);
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" | "k" => 1000,
        "kib" => 1 << 10,
        "mb" | "m" => 1_000_000,
        "mib" => 1 << 20,
        "gb" | "g" => 1_000_000_000,
        "gib" => 1 << 30,
        _ => return Err(bad()),
    };
    if number.is_empty() || number.starts_with('.') || number.ends_with('.') {
        return Err(bad());
    }
    if let Ok(whole) = number.parse::<u64>() {
        return whole.checked_mul(scale).ok_or_else(bad);
    }
    // A fraction needs a unit to mean whole bytes: `1.5KiB` is 1536.
    match number.parse::<f64>() {
        Ok(value) if scale > 1 && value.is_finite() => {
            let bytes = value * scale as f64;
            if bytes <= u64::MAX as f64 {
                Ok(bytes as u64)
            } else {
                Err(bad())
            }
        }
        _ => Err(bad()),
    }
}

/// Reads a rate in bytes per second: a size and `/s` (`64KiB/s`); at least 1 B/s.
pub(crate) fn rate(text: &str) -> Result<u64, Expected> {
    let bad = || Expected::new("a rate", RATE_HINT);
    let trimmed = text.trim();
    let Some(per) = trimmed
        .strip_suffix("/s")
        .or_else(|| trimmed.strip_suffix("/sec"))
    else {
        return Err(bad());
    };
    match size(per) {
        Ok(0) => Err(Expected::new(
            "a rate above zero",
            "to stop the bytes, use `stall: true`",
        )),
        Ok(rate) => Ok(rate),
        Err(_) => Err(bad()),
    }
}

/// Reads a probability: a number from 0 to 1, or a percentage (`25%`).
pub(crate) fn probability(text: &str) -> Result<f64, Expected> {
    let trimmed = text.trim();
    let value = match trimmed.strip_suffix('%') {
        Some(percent) => percent.trim().parse::<f64>().map(|p| p / 100.0),
        None => trimmed.parse::<f64>(),
    };
    match value {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(Expected::new(
            "a probability from 0 to 1",
            "write e.g. 0.25 or 25%",
        )),
    }
}

/// Returns how long `bytes` take at `rate` bytes per second (rounded up to the nanosecond).
pub(crate) fn pace(bytes: usize, rate: u64) -> Duration {
    let nanos = (bytes as u128 * 1_000_000_000).div_ceil(u128::from(rate.max(1)));
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// Returns the largest piece paced at `rate` in one go: a tenth of a second's worth, at least a byte.
pub(crate) fn paced_piece(rate: u64) -> usize {
    usize::try_from((rate / 10).max(1)).unwrap_or(usize::MAX)
}

/// Renders a byte count as the shortest exact size: `64KiB`, `1MiB`, `1500`.
pub(crate) fn format_size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (scale, unit) in UNITS {
        if bytes >= scale && bytes % scale == 0 {
            return format!("{}{unit}", bytes / scale);
        }
    }
    bytes.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_decimal_and_binary_units() {
        assert_eq!(size("100"), Ok(100));
        assert_eq!(size("64KiB"), Ok(65536));
        assert_eq!(size("64 kib"), Ok(65536));
        assert_eq!(size("1MB"), Ok(1_000_000));
        assert_eq!(size("1.5KiB"), Ok(1536));
        assert_eq!(size("2GiB"), Ok(2 << 30));
        for bad in [
            "",
            "1.5",
            "KiB",
            "12 parsecs",
            "-3",
            "1..5KiB",
            "99999999999999999999",
        ] {
            assert!(size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rates_are_sizes_per_second() {
        assert_eq!(rate("64KiB/s"), Ok(65536));
        assert_eq!(rate("1MiB/s"), Ok(1 << 20));
        assert_eq!(rate("500/s"), Ok(500));
        assert_eq!(rate("10 KB/sec"), Ok(10_000));
        assert!(rate("64KiB").unwrap_err().hint.unwrap().contains("/s"));
        assert!(rate("0/s").unwrap_err().hint.unwrap().contains("stall"));
    }

    #[test]
    fn durations_need_a_unit() {
        assert_eq!(duration("200ms"), Ok(Duration::from_millis(200)));
        assert_eq!(duration("1m 30s"), Ok(Duration::from_secs(90)));
        let bare = duration("200").unwrap_err();
        assert_eq!(
            bare.hint.as_deref(),
            Some("add a unit: `200ms` or `200s` (durations look like 200ms, 3s or 1m)")
        );
        assert!(duration("soon").is_err());
    }

    #[test]
    fn probabilities_are_fractions_or_percentages() {
        assert_eq!(probability("0.25"), Ok(0.25));
        assert_eq!(probability("25%"), Ok(0.25));
        assert_eq!(probability("1"), Ok(1.0));
        for bad in ["1.5", "-0.1", "often", "NaN"] {
            assert!(probability(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pacing_spends_exactly_the_rate() {
        assert_eq!(pace(65536, 65536), Duration::from_secs(1));
        assert_eq!(pace(1, 3), Duration::from_nanos(333_333_334));
        assert_eq!(pace(0, 10), Duration::ZERO);
        // Pieces are a tenth of a second's worth, never empty.
        assert_eq!(paced_piece(65536), 6553);
        assert_eq!(paced_piece(5), 1);
        let total: Duration = [6553, 6553, 100].iter().map(|&n| pace(n, 65536)).sum();
        assert!(total >= pace(6553 * 2 + 100, 65536));
    }

    #[test]
    fn sizes_render_in_the_largest_exact_unit() {
        assert_eq!(format_size(65536), "64KiB");
        assert_eq!(format_size(1 << 20), "1MiB");
        assert_eq!(format_size(1500), "1500");
    }
}
