//! Splits the selected scenarios into `--shard` slices that finish together: by file count, or by the durations a previous `--json` report recorded (`--durations`).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io::Read as _;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

use crate::cli::MAX_DURATIONS_BYTES;
use crate::scenario::{limits, sentence_case};

/// Holds the duration, in milliseconds, that a previous `--json` report
/// recorded for each scenario file it ran.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Durations {
    /// Milliseconds by path, without `.` components.
    by_path: HashMap<PathBuf, u64>,
}

/// Holds the part of a `--json` report that `--durations` reads (serde skips the rest).
#[derive(Deserialize)]
struct Report {
    scenarios: Vec<Recorded>,
}

/// Holds one scenario of a `--json` report, as `--durations` reads it.
#[derive(Deserialize)]
struct Recorded {
    path: String,
    status: String,
    duration_ms: u64,
}

impl Durations {
    /// Reads the durations a `--json` report at `path` recorded; a scenario
    /// it skipped has none. Says why in one sentence when the file cannot be
    /// read or is no such report.
    pub fn read(path: &Path) -> Result<Self, String> {
        let cannot = |why: &str| format!("cannot read --durations {}: {why}", path.display());
        let io = |error: std::io::Error| cannot(&sentence_case(&error.to_string()));
        let metadata = std::fs::metadata(path).map_err(io)?;
        if !metadata.is_file() {
            return Err(cannot("not a regular file"));
        }
        if metadata.len() > MAX_DURATIONS_BYTES {
            let cap = limits::bytes(MAX_DURATIONS_BYTES);
            return Err(cannot(&format!("larger than {cap}")));
        }
        let file = std::fs::File::open(path).map_err(io)?;
        let reader = std::io::BufReader::new(file.take(MAX_DURATIONS_BYTES));
        let report: Report = serde_json::from_reader(reader)
            .map_err(|e| cannot(&format!("not a tcprun --json report ({e})")))?;
        let mut by_path = HashMap::new();
        for recorded in report.scenarios {
            if recorded.status == "skipped" {
                continue;
            }
            let duration = by_path
                .entry(normal(Path::new(&recorded.path)))
                .or_insert(0);
            *duration = recorded.duration_ms.max(*duration);
        }
        Ok(Durations { by_path })
    }

    /// Builds durations from `(path, milliseconds)` pairs.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a Path, u64)>) -> Self {
        Durations {
            by_path: pairs
                .into_iter()
                .map(|(path, ms)| (normal(path), ms))
                .collect(),
        }
    }

    /// Adds the durations of `other` (another report, such as another
    /// shard's); a file both hold keeps the longer.
    pub fn add(&mut self, other: Durations) {
        for (path, ms) in other.by_path {
            let duration = self.by_path.entry(path).or_insert(0);
            *duration = ms.max(*duration);
        }
    }

    /// Returns the recorded duration of the file at `path`, if any.
    fn of(&self, path: &Path) -> Option<u64> {
        self.by_path.get(&normal(path)).copied()
    }
}

/// Returns `path` without its `.` components (`./a.yaml` is `a.yaml`).
fn normal(path: &Path) -> PathBuf {
    path.components()
        .filter(|part| !matches!(part, Component::CurDir))
        .collect()
}

/// Returns the weight of each of `paths` for balancing: its recorded
/// duration; for a file the report lacks, the mean of those it has; without
/// `durations` (or none recorded), 1 each, which balances by file count.
pub fn weights(paths: &[&Path], durations: Option<&Durations>) -> Vec<u64> {
    let recorded: Vec<Option<u64>> = paths
        .iter()
        .map(|path| durations.and_then(|d| d.of(path)))
        .collect();
    let known: Vec<u64> = recorded.iter().flatten().copied().collect();
    let mean = match u64::try_from(known.len()) {
        Ok(count) if count > 0 => {
            let total = known.iter().fold(0u64, |sum, ms| sum.saturating_add(*ms));
            total.div_ceil(count)
        }
        Ok(_) | Err(_) => 1,
    };
    recorded.into_iter().map(|ms| ms.unwrap_or(mean)).collect()
}

/// Returns the shard (0-based, below `shards`) of each file of `weights`
/// (the files in order): longest first (the earlier file first among equal
/// weights), each goes to the shard with the least total weight so far,
/// then the fewest files, then the lowest number. With equal weights that
/// is file `i` to shard `i % shards`. The split depends only on the
/// weights and their order, so every shard of a CI job computes the same.
pub fn assign(weights: &[u64], shards: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by_key(|&file| (Reverse(weights[file]), file));
    // Beyond one shard per file, the rest stay empty.
    let used = shards.clamp(1, weights.len().max(1));
    let mut loads: BinaryHeap<Reverse<(u64, usize, usize)>> =
        (0..used).map(|shard| Reverse((0, 0, shard))).collect();
    let mut shard_of = vec![0; weights.len()];
    for file in order {
        let Some(Reverse((load, files, shard))) = loads.pop() else {
            break;
        };
        shard_of[file] = shard;
        loads.push(Reverse((
            load.saturating_add(weights[file]),
            files + 1,
            shard,
        )));
    }
    shard_of
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(weights: &[u64], shard_of: &[usize], shards: usize) -> Vec<u64> {
        let mut totals = vec![0; shards];
        for (weight, shard) in weights.iter().zip(shard_of) {
            totals[*shard] += weight;
        }
        totals
    }

    #[test]
    fn equal_weights_go_round_robin() {
        assert_eq!(assign(&[1; 7], 3), vec![0, 1, 2, 0, 1, 2, 0]);
        assert_eq!(assign(&[0; 4], 2), vec![0, 1, 0, 1]);
        assert_eq!(assign(&[5; 2], 4), vec![0, 1]);
        assert_eq!(assign(&[], 3), Vec::<usize>::new());
    }

    #[test]
    fn the_slow_file_gets_a_shard_of_its_own() {
        let weights = [10_000, 1_000, 1_000, 1_000, 1_000, 1_000];
        let shard_of = assign(&weights, 3);
        assert_eq!(shard_of, vec![0, 1, 2, 1, 2, 1]);
        assert_eq!(totals(&weights, &shard_of, 3), vec![10_000, 3_000, 2_000]);
    }

    #[test]
    fn a_huge_shard_count_costs_no_memory() {
        assert_eq!(assign(&[3, 2, 1], usize::MAX), vec![0, 1, 2]);
    }

    #[test]
    fn files_the_report_lacks_weigh_the_mean_and_paths_match_without_dots() {
        let durations =
            Durations::from_pairs([(Path::new("./s/a.yaml"), 100), (Path::new("s/b.yaml"), 301)]);
        let paths = [
            Path::new("s/a.yaml"),
            Path::new("s/b.yaml"),
            Path::new("s/new.yaml"),
        ];
        assert_eq!(weights(&paths, Some(&durations)), vec![100, 301, 201]);
        assert_eq!(weights(&paths, None), vec![1, 1, 1]);
        let nothing = Durations::default();
        assert_eq!(weights(&paths, Some(&nothing)), vec![1, 1, 1]);
    }

    #[test]
    fn a_file_that_is_no_report_is_said_in_a_sentence() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("r.json");
        std::fs::write(&path, "{\"scenarios\": 3}").expect("write");
        let error = Durations::read(&path).expect_err("no report");
        assert!(error.contains("not a tcprun --json report"), "{error}");
        let error = Durations::read(dir.path()).expect_err("a folder");
        assert!(error.ends_with("not a regular file"), "{error}");
        std::fs::write(
            &path,
            r#"{"scenarios": [{"path": "a.yaml", "status": "passed", "duration_ms": 7, "steps": []},
                {"path": "b.yaml", "status": "skipped", "duration_ms": 0}]}"#,
        )
        .expect("write");
        let mut read = Durations::read(&path).expect("a report");
        assert_eq!(read, Durations::from_pairs([(Path::new("a.yaml"), 7)]));
        read.add(Durations::from_pairs([
            (Path::new("a.yaml"), 5),
            (Path::new("b.yaml"), 9),
        ]));
        let both = [(Path::new("a.yaml"), 7), (Path::new("b.yaml"), 9)];
        assert_eq!(read, Durations::from_pairs(both));
    }
}
