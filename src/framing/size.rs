//! Reads and writes sizes in bytes: `65536`, `64KiB`, `1MiB`, `1GiB`.

const UNITS: [(&str, u64); 4] = [
    ("B", 1),
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
];

/// Reads a size: a whole number of bytes, optionally followed (with or
/// without a space) by `B`, `KiB`, `MiB` or `GiB` (1024-based). Returns why
/// not otherwise, as a phrase ("`MB` is not a unit ...").
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    if number.is_empty() {
        return Err("a size starts with a whole number of bytes".to_owned());
    }
    let number: u64 = number
        .parse()
        .map_err(|_| "the number is too large".to_owned())?;
    let unit = unit.trim_start();
    let scale = if unit.is_empty() {
        1
    } else if let Some((_, scale)) = UNITS.iter().find(|(u, _)| u.eq_ignore_ascii_case(unit)) {
        *scale
    } else {
        let binary = match unit.to_ascii_uppercase().as_str() {
            "K" | "KB" => Some("KiB"),
            "M" | "MB" => Some("MiB"),
            "G" | "GB" => Some("GiB"),
            _ => None,
        };
        return Err(match binary {
            Some(binary) => {
                format!("`{unit}` is not a unit here: sizes are 1024-based, `{binary}`")
            }
            None => format!("`{unit}` is not a unit: expected `B`, `KiB`, `MiB` or `GiB`"),
        });
    };
    number
        .checked_mul(scale)
        .ok_or_else(|| "the size is too large".to_owned())
}

/// Writes a size the way [`parse_size`] reads it: `8MiB` when it is a whole
/// number of KiB, MiB or GiB, else the bytes (`1000`).
pub(crate) fn show_size(size: usize) -> String {
    let size = size as u64;
    match UNITS
        .iter()
        .rev()
        .find(|(_, scale)| *scale > 1 && size >= *scale && size % scale == 0)
    {
        Some((unit, scale)) => format!("{}{unit}", size / scale),
        None => size.to_string(),
    }
}

/// Writes a size for messages: `8MiB (8388608 bytes)`, or `64 bytes`.
pub(crate) fn show_bytes(size: usize) -> String {
    match show_size(size) {
        shown if shown == size.to_string() => format!("{size} bytes"),
        shown => format!("{shown} ({size} bytes)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bytes_and_binary_units() {
        assert_eq!(parse_size("65536"), Ok(65536));
        assert_eq!(parse_size("64KiB"), Ok(65536));
        assert_eq!(parse_size("1 MiB"), Ok(1 << 20));
        assert_eq!(parse_size("2gib"), Ok(2 << 30));
        assert_eq!(parse_size("7B"), Ok(7));
    }

    #[test]
    fn says_why_a_size_is_not_one() {
        assert!(parse_size("1MB").unwrap_err().contains("`MiB`"));
        assert!(parse_size("MiB").unwrap_err().contains("whole number"));
        assert!(parse_size("-1").unwrap_err().contains("whole number"));
        assert!(parse_size("1.5MiB").unwrap_err().contains("not a unit"));
        assert!(parse_size("99999999999999999999").is_err());
        assert!(
            parse_size("99999999999GiB")
                .unwrap_err()
                .contains("too large")
        );
    }

    #[test]
    fn writes_sizes_it_can_read_back() {
        assert_eq!(show_size(8 << 20), "8MiB");
        assert_eq!(show_size(1536), "1536");
        assert_eq!(show_size(2048), "2KiB");
        assert_eq!(show_size(1000), "1000");
        assert_eq!(show_bytes(1000), "1000 bytes");
        assert_eq!(show_bytes(2048), "2KiB (2048 bytes)");
        for size in [1, 1000, 1024, 1 << 20, 3 << 30] {
            assert_eq!(parse_size(&show_size(size)), Ok(size as u64));
        }
    }
}
