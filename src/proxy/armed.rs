//! Holds a fault as one connection has taken it on in one direction: where it takes effect, its trigger's scan, its draws.

use std::sync::Arc;
use std::time::Duration;

use super::spec::{FaultSpec, Trigger};
use crate::event::{Direction, FaultLabel};
use crate::matcher::{Fed, Scan};

/// Holds a fault the proxy was given, numbered in the order faults were added (from 1).
#[derive(Debug)]
pub struct Fault {
    /// Its number: faults added later have higher numbers.
    pub id: u64,
    /// Its name (the spec's name, or its kind).
    pub name: Arc<str>,
    /// What it does.
    pub spec: FaultSpec,
    /// How events show it (shared by every event that names it).
    pub label: Arc<FaultLabel>,
}

impl Fault {
    /// Numbers `spec` as fault `id`.
    pub fn new(id: u64, spec: FaultSpec) -> Self {
        let label = Arc::new(spec.label());
        Self {
            id,
            name: label.name.clone(),
            spec,
            label,
        }
    }
}

/// Tracks one fault in one direction of one connection.
#[derive(Debug)]
pub(super) struct Armed {
    pub(super) fault: Arc<Fault>,
    /// The offset in the direction's bytes where the fault takes effect, once known.
    pub(super) from: Option<u64>,
    /// While an `on:` match is pending: any match still possible ends here
    /// or later, so bytes from here on wait.
    pub(super) hold: Option<u64>,
    /// The `on:` trigger's scan, until it decides.
    scan: Option<Scan>,
    /// The offset the scan started at.
    base: u64,
    /// Whether the fault has acted on this direction yet (it is reported once).
    pub(super) fired: bool,
    /// Draws this fault's jitter, seeded per connection and direction.
    rng: fastrand::Rng,
}

impl Armed {
    /// Takes `fault` on at offset `base` of a direction's bytes.
    pub(super) fn new(fault: Arc<Fault>, base: u64, rng: fastrand::Rng) -> Self {
        let (from, scan) = match &fault.spec.trigger {
            Trigger::Now => (Some(base), None),
            Trigger::AfterBytes(n) => (Some(base.saturating_add(*n)), None),
            Trigger::On(pattern) => (None, Some(pattern.matcher().scan())),
        };
        Self {
            hold: scan.as_ref().map(|_| base),
            fault,
            from,
            scan,
            base,
            fired: false,
            rng,
        }
    }

    /// Feeds the `on:` trigger the bytes that follow what it has seen
    /// (`ended`: the direction's stream is over); the trigger point is
    /// decided once the match is final, however the bytes were cut.
    pub(super) fn feed(&mut self, piece: &[u8], ended: bool) {
        let Some(scan) = &mut self.scan else {
            return;
        };
        let Trigger::On(pattern) = &self.fault.spec.trigger else {
            return;
        };
        match pattern.matcher().feed(scan, piece, ended) {
            Fed::End(end) => {
                self.from = Some(self.base + end as u64);
                self.hold = None;
                self.scan = None;
            }
            Fed::Pending { hold } => self.hold = Some(self.base + hold as u64),
            // No match can come (or none can be decided): it never acts.
            Fed::None | Fed::GaveUp => {
                self.hold = None;
                self.scan = None;
            }
        }
    }

    /// Returns true when the fault is in effect at `offset`.
    pub(super) fn active_at(&self, offset: u64) -> bool {
        self.from.is_some_and(|from| from <= offset)
    }

    /// Draws a jitter within `±jitter` and returns `latency` moved by it (never below zero).
    pub(super) fn jittered(&mut self, latency: Duration, jitter: Duration) -> Duration {
        if jitter.is_zero() {
            return latency;
        }
        let span = jitter.as_nanos() as u64;
        let offset = self.rng.u64(0..=span.saturating_mul(2));
        let nanos = (latency.as_nanos() as u64).saturating_add(offset);
        Duration::from_nanos(nanos.saturating_sub(span))
    }
}

/// Returns whether fault `id` applies to connection `conn` with probability
/// `probability`: one draw per fault and connection from a generator seeded
/// by `seed`, so the same seed makes the same choices whatever the timing.
pub(super) fn drawn(seed: u64, id: u64, conn: u32, probability: f64) -> bool {
    if probability >= 1.0 {
        return true;
    }
    fastrand::Rng::with_seed(mix(&[seed, id, u64::from(conn)])).f64() < probability
}

/// Returns the generator of fault `id`'s draws on connection `conn` in `direction`.
pub(super) fn rng(seed: u64, id: u64, conn: u32, direction: Direction) -> fastrand::Rng {
    let direction = match direction {
        Direction::ToServer => 1,
        Direction::ToClient => 2,
    };
    fastrand::Rng::with_seed(mix(&[seed, id, u64::from(conn), direction]))
}

/// Mixes numbers into one well-spread seed (SplitMix64 steps).
fn mix(parts: &[u64]) -> u64 {
    parts.iter().fold(0x9e37_79b9_7f4a_7c15, |acc, part| {
        let mut z = acc ^ part.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_draws_the_same_connections() {
        let pick =
            |seed| -> Vec<u32> { (1..=40).filter(|&conn| drawn(seed, 1, conn, 0.5)).collect() };
        assert_eq!(pick(7), pick(7));
        assert_ne!(pick(7), pick(8));
        let picked = pick(7).len();
        assert!((8..=32).contains(&picked), "{picked} of 40 at 0.5");
        // Another fault draws on its own.
        let other: Vec<u32> = (1..=40).filter(|&conn| drawn(7, 2, conn, 0.5)).collect();
        assert_ne!(pick(7), other);
        assert!((1..=40).all(|conn| drawn(7, 1, conn, 1.0)));
        assert!((1..=40).all(|conn| !drawn(7, 1, conn, 0.0)));
    }

    #[test]
    fn jitter_stays_within_its_bounds_and_repeats_with_the_seed() {
        let spec = FaultSpec::from_pairs(&[("latency", "10ms"), ("jitter", "4ms")]).unwrap();
        let fault = Arc::new(Fault::new(1, spec));
        let draws = || {
            let mut armed = Armed::new(fault.clone(), 0, rng(3, 1, 1, Direction::ToServer));
            (0..50)
                .map(|_| armed.jittered(Duration::from_millis(10), Duration::from_millis(4)))
                .collect::<Vec<_>>()
        };
        let first = draws();
        assert_eq!(first, draws());
        assert!(
            first.iter().all(|d| (6..=14).contains(&d.as_millis())),
            "{first:?}"
        );
        assert!(first.iter().any(|d| *d != first[0]));
    }
}
