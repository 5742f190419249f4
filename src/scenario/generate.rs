//! Makes generated data: a unit repeated (`repeat:` with `times:`), or bytes
//! from a seeded generator (`random:` with `seed:`), made when the step runs.

/// Says how to make a step's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Generator {
    /// `repeat: UNIT, times: N`: the UTF-8 text `unit`, `times` times.
    Repeat {
        /// The bytes repeated.
        unit: Vec<u8>,
        /// How many times.
        times: u64,
    },
    /// `random: SIZE, seed: N`: `size` bytes from a generator seeded with `seed`.
    Random {
        /// How many bytes.
        size: u64,
        /// The seed: the same seed gives the same bytes.
        seed: u64,
    },
}

/// Holds the seed of `random:` when none is given.
pub const DEFAULT_SEED: u64 = 0;

impl Generator {
    /// Returns how many bytes it makes.
    pub fn len(&self) -> u64 {
        match self {
            Generator::Repeat { unit, times } => (unit.len() as u64).saturating_mul(*times),
            Generator::Random { size, .. } => *size,
        }
    }

    /// Returns true when it makes no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Makes the bytes; the loader bounds their number
    /// ([`MAX_GENERATED_BYTES`](super::limits::MAX_GENERATED_BYTES)).
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            Generator::Repeat { unit, times } => unit.repeat(*times as usize),
            Generator::Random { size, seed } => {
                // fastrand's WyRand, each output little-endian, so that a
                // seed gives the same bytes on every machine (its own
                // `fill` is native-endian); a test pins the sequence.
                let mut rng = fastrand::Rng::with_seed(*seed);
                let mut bytes = Vec::with_capacity(*size as usize);
                while bytes.len() < *size as usize {
                    bytes.extend_from_slice(&rng.u64(..).to_le_bytes());
                }
                bytes.truncate(*size as usize);
                bytes
            }
        }
    }

    /// Returns how the transcript shows what it made: `repeat("x", 100000
    /// times)`, `random(1048576 bytes, seed 3)`.
    pub fn summary(&self) -> String {
        match self {
            Generator::Repeat { unit, times } => {
                let unit = crate::transcript::quote(unit, crate::client::encoding::Encoding::Utf8);
                format!("repeat({unit}, {times} times)")
            }
            Generator::Random { size, seed } => format!("random({size} bytes, seed {seed})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeat_makes_the_unit_times_over() {
        let repeat = Generator::Repeat {
            unit: b"ab".to_vec(),
            times: 3,
        };
        assert_eq!(repeat.bytes(), b"ababab");
        assert_eq!(repeat.len(), 6);
        assert_eq!(repeat.summary(), "repeat(\"ab\", 3 times)");
    }

    /// The first 12 bytes of `{random: 12, seed: 3}`, made independently
    /// (WyRand as fastrand 2.5 has it, in Python).
    const PINNED: &str = "e2ae38ef3e89e1949a5dd2fa";

    #[test]
    fn random_bytes_depend_on_the_seed_only() {
        let random = |seed| Generator::Random { size: 4096, seed }.bytes();
        assert_eq!(random(3), random(3));
        assert_ne!(random(3), random(4));
        assert_eq!(random(3).len(), 4096);
        // Bytes spread over all values, not a constant or a short cycle.
        let distinct: std::collections::BTreeSet<u8> = random(3).into_iter().collect();
        assert!(distinct.len() > 200, "{}", distinct.len());
        // The sequence is a contract (fixtures/peer.py makes it too): a
        // dependency update that changes it fails here.
        let head = Generator::Random { size: 12, seed: 3 }.bytes();
        assert_eq!(hex::encode(head), PINNED);
        let summary = Generator::Random {
            size: 1 << 20,
            seed: 3,
        }
        .summary();
        assert_eq!(summary, "random(1048576 bytes, seed 3)");
    }
}
