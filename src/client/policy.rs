//! Decides whether and when the client tries to connect again.

use std::time::Duration;

use crate::scenario::keys;

/// Names how the delay between retries grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backoff {
    /// Every retry waits the retry interval.
    Fixed,
    /// The delay doubles after each failed retry, up to `max`.
    Exponential {
        /// The cap on the delay.
        max: Duration,
    },
}

/// Holds the reconnect rules: interval, limit, backoff and jitter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconnectPolicy {
    /// Reconnect at all (false: one connection, then stop).
    pub enabled: bool,
    /// The delay before the first retry (the chapter's 3 s).
    pub interval: Duration,
    /// How many retries follow a lost or refused connection before giving up
    /// (the chapter's 10). The count resets on every successful connect.
    pub max_retries: u32,
    /// How the delay grows.
    pub backoff: Backoff,
    /// Randomise each delay within its upper half, to spread out many clients.
    pub jitter: bool,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        Self {
            enabled: true,
            interval: keys::RETRY_INTERVAL,
            max_retries: keys::MAX_RETRIES,
            backoff: Backoff::Fixed,
            jitter: false,
        }
    }
}

impl ReconnectPolicy {
    /// Returns the delay before retry number `retry` (from 1), or `None` when
    /// that retry is beyond the limit (or reconnecting is off).
    pub fn delay(&self, retry: u32) -> Option<Duration> {
        if !self.enabled || retry == 0 || retry > self.max_retries {
            return None;
        }
        let base = match self.backoff {
            Backoff::Fixed => self.interval,
            Backoff::Exponential { max } => {
                let factor = 2u32.saturating_pow(retry - 1);
                self.interval.saturating_mul(factor).min(max)
            }
        };
        Some(if self.jitter {
            base / 2 + base.mul_f64(fastrand::f64() / 2.0)
        } else {
            base
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn makes_exactly_max_retries() {
        let policy = ReconnectPolicy {
            max_retries: 3,
            ..ReconnectPolicy::default()
        };
        let allowed: Vec<u32> = (1..=10).filter(|&n| policy.delay(n).is_some()).collect();
        assert_eq!(allowed, vec![1, 2, 3]);
    }

    #[test]
    fn defaults_follow_the_chapter() {
        let policy = ReconnectPolicy::default();
        assert_eq!(policy.delay(1), Some(Duration::from_secs(3)));
        assert_eq!(policy.delay(10), Some(Duration::from_secs(3)));
        assert_eq!(policy.delay(11), None);
    }

    #[test]
    fn exponential_backoff_doubles_up_to_the_cap() {
        let policy = ReconnectPolicy {
            interval: ms(100),
            max_retries: 40,
            backoff: Backoff::Exponential { max: ms(1000) },
            ..ReconnectPolicy::default()
        };
        let delays: Vec<_> = (1..=6).map(|n| policy.delay(n).unwrap()).collect();
        assert_eq!(
            delays,
            [ms(100), ms(200), ms(400), ms(800), ms(1000), ms(1000)]
        );
        assert_eq!(policy.delay(40), Some(ms(1000)));
    }

    #[test]
    fn jitter_stays_within_the_upper_half() {
        let policy = ReconnectPolicy {
            interval: ms(1000),
            jitter: true,
            ..ReconnectPolicy::default()
        };
        for _ in 0..100 {
            let delay = policy.delay(1).unwrap();
            assert!(delay >= ms(500) && delay <= ms(1000), "{delay:?}");
        }
    }

    #[test]
    fn disabled_never_retries() {
        let policy = ReconnectPolicy {
            enabled: false,
            ..ReconnectPolicy::default()
        };
        assert_eq!(policy.delay(1), None);
    }
}
