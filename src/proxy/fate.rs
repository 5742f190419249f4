//! Decides what becomes of a direction's next bytes under the faults in effect: passed on (shaped), dropped, stalled, or cut.
//!
//! Decisions are made on stream offsets, never on how the bytes were read:
//! a fault that takes effect at byte N splits the read that spans N, so
//! the same bytes get the same fate however TCP cut the stream.

use std::time::Duration;

use super::armed::Armed;
use super::spec::{Cut, FaultKind};

/// Says what happens next to a direction's bytes, in stream order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    /// Fault `index` acts for the first time, at offset `at`.
    Fired {
        /// Its index among the direction's armed faults.
        index: usize,
        /// Where it acts.
        at: u64,
    },
    /// The bytes up to offset `to` pass on, shaped.
    Pass {
        /// The end of the bytes (exclusive).
        to: u64,
        /// How they are passed on.
        shape: Shape,
    },
    /// The bytes up to offset `to` are discarded.
    Drop {
        /// The end of the bytes (exclusive).
        to: u64,
    },
    /// Reading and passing on stop here; the bytes from here wait.
    Stall,
    /// Fault `index` cuts the connection at offset `at`.
    Cut {
        /// Its index among the direction's armed faults.
        index: usize,
        /// Where: the bytes before it passed on, the rest never will.
        at: u64,
        /// How.
        cut: Cut,
    },
}

/// Says how bytes that pass on are shaped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Shape {
    /// Wait this long, from when they were read, before passing them on.
    pub(super) delay: Duration,
    /// Write them in pieces of at most this many bytes.
    pub(super) piece: Option<usize>,
    /// Pause this long between two pieces.
    pub(super) gap: Duration,
    /// Pass them on at most this many bytes per second.
    pub(super) rate: Option<u64>,
}

/// Decides the fate of the bytes from offset `from` to `to` (exclusive)
/// and appends it to `steps`; returns where deciding stopped: `to`, or
/// earlier at a stall or a cut (the bytes from there are not decided).
/// Faults that act are marked fired.
pub(super) fn decide(armed: &mut [Armed], from: u64, to: u64, steps: &mut Vec<Step>) -> u64 {
    let mut at = from;
    loop {
        let active =
            |a: &Armed, want: fn(&FaultKind) -> bool| a.active_at(at) && want(&a.fault.spec.kind);
        if let Some(index) = armed
            .iter()
            .position(|a| !a.fired && active(a, |k| matches!(k, FaultKind::Cut(_))))
        {
            armed[index].fired = true;
            let FaultKind::Cut(cut) = armed[index].fault.spec.kind else {
                unreachable!("found as a cut")
            };
            steps.push(Step::Cut { index, at, cut });
            return at;
        }
        if let Some(index) = armed
            .iter()
            .position(|a| active(a, |k| *k == FaultKind::Stall))
        {
            fire(armed, index, at, steps);
            steps.push(Step::Stall);
            return at;
        }
        if at >= to {
            return at;
        }
        // The next point where another fault takes effect ends this stretch.
        let end = armed
            .iter()
            .filter_map(|a| a.from)
            .filter(|&f| f > at)
            .fold(to, u64::min);
        let dropping: Vec<usize> = (0..armed.len())
            .filter(|&i| active(&armed[i], |k| *k == FaultKind::Drop))
            .collect();
        if !dropping.is_empty() {
            for index in dropping {
                fire(armed, index, at, steps);
            }
            steps.push(Step::Drop { to: end });
        } else {
            let mut shape = Shape::default();
            for index in 0..armed.len() {
                if !armed[index].active_at(at) {
                    continue;
                }
                match armed[index].fault.spec.kind {
                    FaultKind::Latency { latency, jitter } => {
                        shape.delay += armed[index].jittered(latency, jitter);
                    }
                    FaultKind::Bandwidth { rate } => {
                        shape.rate = Some(shape.rate.map_or(rate, |r| r.min(rate)));
                    }
                    FaultKind::Slice { size, gap } => {
                        let size = usize::try_from(size).unwrap_or(usize::MAX);
                        shape.piece = Some(shape.piece.map_or(size, |p| p.min(size)));
                        shape.gap = shape.gap.max(gap);
                    }
                    _ => continue,
                }
                fire(armed, index, at, steps);
            }
            steps.push(Step::Pass { to: end, shape });
        }
        at = end;
    }
}

/// Decides how long the FIN that ends the direction's bytes (at offset
/// `at`) waits before it is passed on: the latencies and slow closes in
/// effect there, which are marked fired.
pub(super) fn fin_delay(armed: &mut [Armed], at: u64, steps: &mut Vec<Step>) -> Duration {
    let mut delay = Duration::ZERO;
    for index in 0..armed.len() {
        if !armed[index].active_at(at) {
            continue;
        }
        match armed[index].fault.spec.kind {
            FaultKind::Latency { latency, jitter } => {
                delay += armed[index].jittered(latency, jitter);
            }
            FaultKind::SlowClose(wait) => delay += wait,
            _ => continue,
        }
        fire(armed, index, at, steps);
    }
    delay
}

/// Marks fault `index` fired at `at`, the first time only.
fn fire(armed: &mut [Armed], index: usize, at: u64, steps: &mut Vec<Step>) {
    if !armed[index].fired {
        armed[index].fired = true;
        steps.push(Step::Fired { index, at });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::event::Direction;
    use crate::proxy::armed::{Fault, rng};
    use crate::proxy::spec::FaultSpec;

    fn armed(faults: &[&[(&str, &str)]]) -> Vec<Armed> {
        faults
            .iter()
            .enumerate()
            .map(|(i, pairs)| {
                let spec = FaultSpec::from_pairs(pairs).expect("valid");
                let fault = Fault::new(i as u64 + 1, spec);
                Armed::new(Arc::new(fault), 0, rng(1, i as u64, 1, Direction::ToServer))
            })
            .collect()
    }

    /// Decides `total` bytes read in pieces ending at `cuts`; returns every step.
    fn in_reads(faults: &[&[(&str, &str)]], cuts: &[u64], total: u64) -> Vec<Step> {
        let mut armed = armed(faults);
        let mut steps = Vec::new();
        let mut at = 0;
        for &end in cuts.iter().chain([&total]) {
            at = decide(&mut armed, at, end, &mut steps);
            if matches!(steps.last(), Some(Step::Cut { .. } | Step::Stall)) {
                break;
            }
        }
        steps
    }

    /// Returns the offsets where passing stops and the cut's point.
    fn passed_and_cut(steps: &[Step]) -> (u64, Option<u64>) {
        let passed = steps
            .iter()
            .filter_map(|s| match s {
                Step::Pass { to, .. } => Some(*to),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        let cut = steps.iter().find_map(|s| match s {
            Step::Cut { at, .. } => Some(*at),
            _ => None,
        });
        (passed, cut)
    }

    #[test]
    fn a_cut_after_n_bytes_lands_on_byte_n_however_the_reads_are_cut() {
        let cut: &[(&str, &str)] = &[("cut", "reset"), ("after_bytes", "100")];
        for cuts in [
            vec![],
            vec![50],
            vec![99],
            vec![100],
            vec![101],
            vec![1, 2, 3, 150],
        ] {
            let steps = in_reads(&[cut], &cuts, 200);
            assert_eq!(
                passed_and_cut(&steps),
                (100, Some(100)),
                "reads ending at {cuts:?}: {steps:?}"
            );
        }
        // The stream may end exactly at the point: the cut still comes.
        let steps = in_reads(&[cut], &[], 100);
        assert_eq!(passed_and_cut(&steps), (100, Some(100)));
        // And not before it.
        let steps = in_reads(&[cut], &[], 99);
        assert_eq!(passed_and_cut(&steps), (99, None));
    }

    #[test]
    fn drop_and_stall_take_effect_on_their_byte() {
        let steps = in_reads(&[&[("drop", "true"), ("after_bytes", "3")]], &[2], 10);
        assert_eq!(
            steps,
            [
                Step::Pass {
                    to: 2,
                    shape: Shape::default()
                },
                Step::Pass {
                    to: 3,
                    shape: Shape::default()
                },
                Step::Fired { index: 0, at: 3 },
                Step::Drop { to: 10 },
            ]
        );
        let steps = in_reads(&[&[("stall", "true"), ("after_bytes", "4")]], &[], 10);
        assert_eq!(
            steps,
            [
                Step::Pass {
                    to: 4,
                    shape: Shape::default()
                },
                Step::Fired { index: 0, at: 4 },
                Step::Stall,
            ]
        );
    }

    #[test]
    fn shapes_combine_and_a_cut_wins() {
        let steps = in_reads(
            &[
                &[("latency", "10ms")],
                &[("latency", "5ms")],
                &[("slice", "8"), ("gap", "1ms")],
                &[("slice", "4")],
                &[("bandwidth", "1KiB/s")],
                &[("cut", "fin"), ("after_bytes", "6")],
            ],
            &[],
            10,
        );
        let shape = Shape {
            delay: Duration::from_millis(15),
            piece: Some(4),
            gap: Duration::from_millis(1),
            rate: Some(1024),
        };
        assert_eq!(
            steps
                .iter()
                .filter(|s| matches!(s, Step::Fired { .. }))
                .count(),
            5
        );
        assert_eq!(steps[5], Step::Pass { to: 6, shape });
        assert_eq!(
            steps[6],
            Step::Cut {
                index: 5,
                at: 6,
                cut: Cut::Fin
            }
        );
    }

    #[test]
    fn a_fin_waits_for_latency_and_slow_close() {
        let mut armed = armed(&[
            &[("latency", "10ms")],
            &[("slow_close", "1s")],
            &[("drop", "true")],
        ]);
        let mut steps = Vec::new();
        let delay = fin_delay(&mut armed, 0, &mut steps);
        assert_eq!(delay, Duration::from_millis(1010));
        assert_eq!(
            steps,
            [
                Step::Fired { index: 0, at: 0 },
                Step::Fired { index: 1, at: 0 }
            ]
        );
    }
}
