//! Compares the transcripts of repeated runs of one scenario and groups the distinct ones.

use similar::TextDiff;

/// Holds one distinct transcript and how many runs produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    /// The transcript.
    pub lines: Vec<String>,
    /// How many runs gave exactly this transcript.
    pub count: usize,
}

/// Groups transcripts by content, the most common first (ties: first seen first).
pub fn variants(transcripts: &[Vec<String>]) -> Vec<Variant> {
    let mut variants: Vec<Variant> = Vec::new();
    for lines in transcripts {
        match variants.iter_mut().find(|v| &v.lines == lines) {
            Some(variant) => variant.count += 1,
            None => variants.push(Variant {
                lines: lines.clone(),
                count: 1,
            }),
        }
    }
    variants.sort_by_key(|v| std::cmp::Reverse(v.count));
    variants
}

/// Describes how repeated runs disagree: each variant's count, and its
/// difference from the most common one.
pub fn report(variants: &[Variant], runs: usize) -> String {
    let mut out = format!(
        "flaky: {} distinct transcripts in {runs} runs ({})\n",
        variants.len(),
        variants
            .iter()
            .map(|v| format!("{}×", v.count))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let Some((common, others)) = variants.split_first() else {
        return out;
    };
    let common_text = common.lines.join("\n") + "\n";
    for (n, variant) in others.iter().enumerate() {
        let text = variant.lines.join("\n") + "\n";
        let diff = TextDiff::from_lines(&common_text, &text)
            .unified_diff()
            .context_radius(2)
            .header(
                &format!("variant 1 ({})", runs_of(common.count)),
                &format!("variant {} ({})", n + 2, runs_of(variant.count)),
            )
            .to_string();
        for line in diff.lines() {
            out.push_str("    ");
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Returns `1 run` or `N runs`.
fn runs_of(count: usize) -> String {
    if count == 1 {
        "1 run".to_owned()
    } else {
        format!("{count} runs")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(lines: &[&str]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn groups_identical_transcripts_most_common_first() {
        let runs = [t(&["a", "b"]), t(&["a", "c"]), t(&["a", "c"])];
        let grouped = variants(&runs);
        assert_eq!(grouped.len(), 2);
        assert_eq!(
            (grouped[0].count, grouped[0].lines.clone()),
            (2, t(&["a", "c"]))
        );
        let text = report(&grouped, 3);
        assert!(
            text.starts_with("flaky: 2 distinct transcripts in 3 runs (2×, 1×)"),
            "{text}"
        );
        assert!(text.contains("-c") && text.contains("+b"), "{text}");
    }

    #[test]
    fn identical_runs_are_one_variant() {
        assert_eq!(variants(&[t(&["x"]), t(&["x"])]).len(), 1);
    }
}
