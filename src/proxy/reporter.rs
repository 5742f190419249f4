//! Declares how the proxy reports its events and lets time pass: the [`Reporter`] trait.
//!
//! The proxy reads no clock of its own. Every delay a fault asks for
//! (latency, pacing, a gap between slices, a slow close) is a wait that the
//! reporter starts right after reporting a batch, as the scenario runner's
//! `Emitter::emit_then_wait` does: with real time it is a tokio timer; with
//! the runner's scheduled clock it is a timer the scheduler fires, so a
//! `latency: 3s` costs no wall time there. A direction has at most one wait
//! under way: bytes read while earlier ones wait note when they are due by
//! the reporter's clock ([`Reporter::now`]), and their wait starts when
//! they reach the front, for what is left of their delay.
//!
//! A wait is dropped only after the batch its end caused is reported, so a
//! reporter whose waits are timers of its own can tell when the effects of
//! one are in its stream.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::event::ProxyEvent;

/// Tells the proxy that nobody listens to its events any more: it stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the proxy's event stream is closed")]
pub struct ReporterGone;

/// Receives the proxy's events, one batch per stimulus, and times its waits.
pub trait Reporter: Clone + Send + Sync + 'static {
    /// Ends when a wait started by [`Reporter::report_then_wait`] is over;
    /// dropping it abandons the wait.
    type Wait: Future<Output = ()> + Send + 'static;

    /// Reports `events` as one batch that nothing else interleaves.
    fn report(
        &self,
        events: Vec<ProxyEvent>,
    ) -> impl Future<Output = Result<(), ReporterGone>> + Send;

    /// Reports `events` (possibly none) as one batch, then returns a wait
    /// that ends when `delay` has passed by the reporter's clock.
    fn report_then_wait(
        &self,
        events: Vec<ProxyEvent>,
        delay: Duration,
    ) -> impl Future<Output = Result<Self::Wait, ReporterGone>> + Send;

    /// Returns the time now by the reporter's clock, since an origin of its
    /// own: delays run from here. Between two ends of waits it started,
    /// a scheduled clock stands still.
    fn now(&self) -> Duration;
}

/// Returns a real-time wait of `delay` (a tokio timer), for reporters on the wall clock.
pub fn real_wait(delay: Duration) -> Pin<Box<tokio::time::Sleep>> {
    Box::pin(tokio::time::sleep(delay))
}
