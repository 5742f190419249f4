//! Orders every timer of a scenario — clients' retry delays, proxies' fault delays and the runner's own waits — on one clock.
//!
//! With a virtual clock a timer fires as soon as the conversation is settled
//! and no earlier timer is due, so a scenario runs as fast as its
//! conversation and in the same order every time. With a real clock (a
//! server outside tcprun's control) timers fire at their real deadlines.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

/// Chooses how the scheduler's clock runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// Time jumps to the next timer once the conversation is settled.
    Virtual,
    /// Time is wall-clock time.
    Real,
}

/// Names a runner timer, to tell which one fired.
pub type TimerId = u64;

/// Says what a fired timer was for.
#[derive(Debug)]
pub enum Fired {
    /// A client's wait is over; it was woken.
    Client(usize),
    /// A fake server connection's wait (a rule's delay) is over; it was woken.
    Conn(u32),
    /// A proxy's wait is over; it was woken (`false`: it had already
    /// given the wait up, and nothing follows).
    Proxy(usize, bool),
    /// One of the runner's own timers.
    Runner(TimerId),
}

#[derive(Debug)]
enum Owner {
    Client(usize, oneshot::Sender<()>),
    Conn(u32, oneshot::Sender<()>),
    Proxy(usize, oneshot::Sender<()>),
    Runner,
}

/// Ranks a server connection's timers after every client's, connections in
/// their order, on ties.
const CONN_RANK: u32 = 1 << 30;

/// Ranks proxies' timers after every server connection's and before the
/// runner's, on ties.
const PROXY_RANK: u32 = 1 << 31;

/// Reads the scenario's clock from another task (a proxy's): it stands
/// still between two timers on a virtual clock.
#[derive(Debug, Clone)]
pub struct SharedClock {
    pace: Pace,
    origin: Instant,
    /// The virtual time now, in nanoseconds.
    now: Arc<AtomicU64>,
}

impl SharedClock {
    /// Returns the scenario time now.
    pub fn now(&self) -> Duration {
        match self.pace {
            Pace::Virtual => Duration::from_nanos(self.now.load(Ordering::Acquire)),
            Pace::Real => self.origin.elapsed(),
        }
    }
}

/// Keeps the pending timers, earliest first (ties: clients by index, then runner).
#[derive(Debug)]
pub struct Scheduler {
    pace: Pace,
    now: Duration,
    origin: Instant,
    next_id: TimerId,
    timers: BTreeMap<(Duration, u32, TimerId), Owner>,
    /// The virtual time, for [`SharedClock`]s.
    shared_now: Arc<AtomicU64>,
}

impl Scheduler {
    /// Creates a scheduler at time zero.
    pub fn new(pace: Pace) -> Self {
        Self {
            pace,
            now: Duration::ZERO,
            origin: Instant::now(),
            next_id: 0,
            timers: BTreeMap::new(),
            shared_now: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Returns the clock as other tasks read it.
    pub fn shared_clock(&self) -> SharedClock {
        SharedClock {
            pace: self.pace,
            origin: self.origin,
            now: self.shared_now.clone(),
        }
    }

    /// Returns the clock's pace.
    pub fn pace(&self) -> Pace {
        self.pace
    }

    /// Returns the scenario time now.
    pub fn now(&self) -> Duration {
        match self.pace {
            Pace::Virtual => self.now,
            Pace::Real => self.origin.elapsed(),
        }
    }

    fn key(&mut self, delay: Duration, rank: u32) -> (Duration, u32, TimerId) {
        self.next_id += 1;
        (self.now() + delay, rank, self.next_id)
    }

    /// Adds a client's wait; `wake` fires when it is over.
    pub fn add_client(&mut self, client: usize, delay: Duration, wake: oneshot::Sender<()>) {
        let key = self.key(delay, client as u32);
        self.timers.insert(key, Owner::Client(client, wake));
    }

    /// Adds a fake server connection's wait (a rule's delay); `wake` fires when it is over.
    pub fn add_conn(&mut self, conn: u32, delay: Duration, wake: oneshot::Sender<()>) {
        let rank = CONN_RANK.saturating_add(conn).min(PROXY_RANK - 1);
        let key = self.key(delay, rank);
        self.timers.insert(key, Owner::Conn(conn, wake));
    }

    /// Adds proxy `proxy`'s wait; `wake` fires when it is over.
    pub fn add_proxy(&mut self, proxy: usize, delay: Duration, wake: oneshot::Sender<()>) {
        let rank = u32::try_from(proxy).map_or(u32::MAX - 1, |p| {
            PROXY_RANK.saturating_add(p).min(u32::MAX - 1)
        });
        let key = self.key(delay, rank);
        self.timers.insert(key, Owner::Proxy(proxy, wake));
    }

    /// Adds a runner timer and returns its id.
    pub fn add_runner(&mut self, delay: Duration) -> TimerId {
        let key = self.key(delay, u32::MAX);
        self.timers.insert(key, Owner::Runner);
        key.2
    }

    /// Removes a runner timer that is no longer needed.
    pub fn cancel(&mut self, id: TimerId) {
        self.timers.retain(|key, _| key.2 != id);
    }

    /// Drops client waits that were abandoned (the client quit or stopped).
    fn prune(&mut self) {
        self.timers.retain(|_, owner| match owner {
            Owner::Client(_, wake) | Owner::Conn(_, wake) | Owner::Proxy(_, wake) => {
                !wake.is_closed()
            }
            Owner::Runner => true,
        });
    }

    /// Returns the real instant at which the next timer is due (real pace), if any.
    pub fn next_deadline(&mut self) -> Option<Instant> {
        self.prune();
        let (due, _, _) = *self.timers.keys().next()?;
        Some(self.origin + due)
    }

    /// Fires the earliest timer if it may fire now. Call only when the
    /// conversation is settled.
    pub fn fire(&mut self) -> Option<Fired> {
        self.prune();
        let key = match self.pace {
            Pace::Virtual => *self.timers.keys().next()?,
            // Of the timers already due, clients fire in client order and the
            // runner's last: which came due first is a matter of scheduling
            // (and timers wait while a server program starts).
            Pace::Real => {
                let now = Instant::now();
                *self
                    .timers
                    .keys()
                    .take_while(|key| self.origin + key.0 <= now)
                    .min_by_key(|key| (key.1, key.2))?
            }
        };
        let owner = self.timers.remove(&key)?;
        self.now = self.now.max(key.0);
        // Before any wake: a woken proxy reads the time its wait ended at.
        let nanos = u64::try_from(self.now.as_nanos()).unwrap_or(u64::MAX);
        self.shared_now.store(nanos, Ordering::Release);
        Some(match owner {
            Owner::Client(client, wake) => {
                let _ = wake.send(());
                Fired::Client(client)
            }
            Owner::Conn(conn, wake) => {
                let _ = wake.send(());
                Fired::Conn(conn)
            }
            Owner::Proxy(proxy, wake) => Fired::Proxy(proxy, wake.send(()).is_ok()),
            Owner::Runner => Fired::Runner(key.2),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_in_deadline_order_with_clients_before_the_runner_on_ties() {
        let mut scheduler = Scheduler::new(Pace::Virtual);
        let (a, _ra) = oneshot::channel();
        let (b, _rb) = oneshot::channel();
        let step = scheduler.add_runner(Duration::from_millis(50));
        scheduler.add_client(1, Duration::from_millis(50), b);
        scheduler.add_client(0, Duration::from_millis(50), a);
        let order: Vec<String> = std::iter::from_fn(|| scheduler.fire())
            .map(|fired| format!("{fired:?}"))
            .collect();
        assert_eq!(
            order,
            ["Client(0)", "Client(1)", format!("Runner({step})").as_str()]
        );
        assert_eq!(scheduler.now(), Duration::from_millis(50));
    }

    #[test]
    fn proxies_fire_after_clients_and_read_the_time_their_wait_ended_at() {
        let mut scheduler = Scheduler::new(Pace::Virtual);
        let clock = scheduler.shared_clock();
        let (p, _rp) = oneshot::channel();
        let (c, _rc) = oneshot::channel();
        let step = scheduler.add_runner(Duration::from_secs(3));
        scheduler.add_proxy(0, Duration::from_secs(3), p);
        scheduler.add_client(5, Duration::from_secs(3), c);
        assert_eq!(clock.now(), Duration::ZERO);
        let order: Vec<String> = std::iter::from_fn(|| scheduler.fire())
            .map(|fired| format!("{fired:?}"))
            .collect();
        assert_eq!(
            order,
            [
                "Client(5)",
                "Proxy(0, true)",
                format!("Runner({step})").as_str()
            ]
        );
        assert_eq!(clock.now(), Duration::from_secs(3));
    }

    #[test]
    fn abandoned_and_cancelled_timers_never_fire() {
        let mut scheduler = Scheduler::new(Pace::Virtual);
        let (a, ra) = oneshot::channel();
        scheduler.add_client(0, Duration::from_secs(1), a);
        drop(ra);
        let step = scheduler.add_runner(Duration::from_secs(2));
        scheduler.cancel(step);
        assert!(scheduler.fire().is_none());
        assert_eq!(scheduler.now(), Duration::ZERO);
    }

    #[test]
    fn connection_waits_fire_after_clients_before_the_runner_in_connection_order() {
        let mut scheduler = Scheduler::new(Pace::Virtual);
        let (a, _ra) = oneshot::channel();
        let (c2, _r2) = oneshot::channel();
        let (c1, _r1) = oneshot::channel();
        let step = scheduler.add_runner(Duration::from_millis(5));
        scheduler.add_conn(2, Duration::from_millis(5), c2);
        scheduler.add_conn(1, Duration::from_millis(5), c1);
        scheduler.add_client(0, Duration::from_millis(5), a);
        let order: Vec<String> = std::iter::from_fn(|| scheduler.fire())
            .map(|fired| format!("{fired:?}"))
            .collect();
        assert_eq!(
            order,
            [
                "Client(0)",
                "Conn(1)",
                "Conn(2)",
                format!("Runner({step})").as_str()
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn real_timers_already_due_fire_in_client_order() {
        let mut scheduler = Scheduler::new(Pace::Real);
        let (a, _ra) = oneshot::channel();
        let (b, _rb) = oneshot::channel();
        let (c, _rc) = oneshot::channel();
        let step = scheduler.add_runner(Duration::from_millis(1));
        scheduler.add_client(1, Duration::from_millis(1), b);
        scheduler.add_client(0, Duration::from_millis(2), a);
        scheduler.add_client(2, Duration::from_secs(3600), c);
        assert!(scheduler.fire().is_none(), "nothing is due yet");
        tokio::time::advance(Duration::from_millis(5)).await;
        let order: Vec<String> = std::iter::from_fn(|| scheduler.fire())
            .map(|fired| format!("{fired:?}"))
            .collect();
        assert_eq!(
            order,
            ["Client(0)", "Client(1)", format!("Runner({step})").as_str()],
            "client 2 is not due"
        );
    }
}
