//! Waits over the event stream: folds reports as they come, settles the conversation, and lets timers fire while a step waits for its condition.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::Conductor;
use super::failure::Because;
use super::journal::Journal;
use super::scheduler::{Fired, Pace, Scheduler};
use crate::event::{Report, Source};

/// Says why a wait ended without its condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Waited {
    /// Its timeout passed (on the scenario clock).
    TimedOut,
    /// The conversation never settled within the real-time bound.
    Stuck,
    /// The condition can no longer hold, and this says why.
    Never(Because),
}

/// Says where a wait's condition stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Check<T> {
    /// It holds, with this value.
    Met(T),
    /// Not yet.
    Waiting,
    /// It can no longer hold: what it waits on has stopped.
    Never(Because),
    /// Not decided yet, with work left to do at once (a long text to
    /// match): check again after letting other work run.
    Busy,
}

impl<T> From<Option<T>> for Check<T> {
    fn from(value: Option<T>) -> Self {
        match value {
            Some(value) => Check::Met(value),
            None => Check::Waiting,
        }
    }
}

impl Conductor {
    /// Folds every report already queued.
    pub(super) fn drain(&mut self) {
        while let Ok(report) = self.reports.try_recv() {
            self.fold(report);
        }
    }

    pub(super) fn fold(&mut self, report: Report) {
        fold(&mut self.scheduler, &mut self.journal, report);
    }

    /// Closes the transcript window, streaming its lines when live; not
    /// while a step holds it open (a `send` in pieces).
    pub(super) fn close_window(&mut self) {
        if self.window_held {
            return;
        }
        self.journal.close_window();
        self.stream();
    }

    /// Streams the transcript lines written since the last call, when live.
    pub(super) fn stream(&mut self) {
        let lines = self.journal.unstreamed();
        if let Some(live) = &mut self.live {
            for line in &lines {
                live(super::Live::Line(line));
            }
        }
    }

    /// Waits until nothing is in flight (no timer fires meanwhile).
    pub(super) async fn settle(&mut self) -> Result<(), Waited> {
        let deadline = Instant::now() + self.default_timeout;
        loop {
            self.drain();
            if self.journal.settled() {
                self.close_window();
                return Ok(());
            }
            tokio::select! {
                report = self.reports.recv() => match report {
                    Some(report) => self.fold(report),
                    None => return Err(Waited::Stuck),
                },
                () = tokio::time::sleep_until(deadline) => return Err(Waited::Stuck),
            }
        }
    }

    /// Waits until `condition` is met, letting timers fire whenever the
    /// conversation is settled, for at most `timeout` of scenario time; a
    /// condition that can no longer be met ends the wait at once.
    pub(super) async fn wait_for<T>(
        &mut self,
        timeout: Duration,
        mut condition: impl FnMut(&mut Journal) -> Check<T>,
    ) -> Result<T, Waited> {
        let timer = self.scheduler.add_runner(timeout);
        // In virtual time the timeout fires as soon as all is settled; this
        // real-time bound only catches a conversation that never settles.
        let real_deadline = Instant::now() + timeout.max(self.default_timeout);
        // A match that walks a long text in slices is bounded by the wait's
        // own timeout in real time: virtual time stands still meanwhile.
        let busy_deadline = Instant::now() + timeout;
        loop {
            self.drain();
            match condition(&mut self.journal) {
                Check::Met(value) => {
                    self.scheduler.cancel(timer);
                    self.journal.sync_programs();
                    self.stream();
                    return Ok(value);
                }
                Check::Never(because) => {
                    self.scheduler.cancel(timer);
                    return Err(Waited::Never(because));
                }
                Check::Waiting => {}
                Check::Busy => {
                    if Instant::now() >= busy_deadline {
                        self.scheduler.cancel(timer);
                        return Err(Waited::TimedOut);
                    }
                    tokio::task::yield_now().await;
                    continue;
                }
            }
            if self.journal.settled() {
                self.close_window();
                match self.scheduler.fire() {
                    Some(Fired::Runner(id)) if id == timer => return Err(Waited::TimedOut),
                    Some(Fired::Runner(_)) => continue,
                    Some(Fired::Client(index)) => {
                        self.journal.wake(index);
                        continue;
                    }
                    Some(Fired::Conn(conn)) => {
                        self.journal.wake_conn(conn);
                        continue;
                    }
                    Some(Fired::Proxy(index, woke)) => {
                        if woke {
                            self.journal.wake_proxy(index);
                        }
                        continue;
                    }
                    None => {}
                }
            }
            // Timers fire only when settled: until then a due timer is no
            // reason to wake (waking for it would spin), only reports are.
            let wake_at = match self.scheduler.pace() {
                Pace::Real if self.journal.settled() => self
                    .scheduler
                    .next_deadline()
                    .map_or(real_deadline, |d| d.min(real_deadline)),
                Pace::Real | Pace::Virtual => real_deadline,
            };
            tokio::select! {
                report = self.reports.recv() => match report {
                    Some(report) => self.fold(report),
                    None => return Err(Waited::Stuck),
                },
                () = tokio::time::sleep_until(wake_at) => {
                    if Instant::now() >= real_deadline {
                        self.scheduler.cancel(timer);
                        return Err(if self.scheduler.pace() == Pace::Real {
                            Waited::TimedOut
                        } else {
                            Waited::Stuck
                        });
                    }
                }
            }
        }
    }
}

/// Folds one report: its timer request into the scheduler, its events into the journal.
fn fold(scheduler: &mut Scheduler, journal: &mut Journal, mut report: Report) {
    match (report.timer.take(), report.source) {
        (Some(timer), Source::Client(index)) => {
            scheduler.add_client(index, timer.delay, timer.wake);
        }
        // A fake server connection's rule delay: its batch ends with `Waiting`.
        (Some(timer), Source::Server) => {
            let conn = report.events.iter().rev().find_map(|event| match event {
                crate::event::Event::Server(crate::event::ServerEvent::Waiting {
                    conn, ..
                }) => Some(*conn),
                _ => None,
            });
            if let Some(conn) = conn {
                scheduler.add_conn(conn, timer.delay, timer.wake);
            }
        }
        (Some(timer), Source::Proxy(index)) => {
            scheduler.add_proxy(index, timer.delay, timer.wake);
        }
        _ => {}
    }
    journal.apply(&report);
}

/// Runs `work` (a write, an end, a quit) while folding the reports that come
/// meanwhile: actors that report while the work is under way must never
/// find the queue full, or a large write would wait on itself.
pub(super) async fn folding<T>(
    work: impl std::future::Future<Output = T>,
    reports: &mut mpsc::Receiver<Report>,
    scheduler: &mut Scheduler,
    journal: &mut Journal,
) -> T {
    tokio::pin!(work);
    loop {
        tokio::select! {
            biased;
            done = &mut work => return done,
            Some(report) = reports.recv() => fold(scheduler, journal, report),
        }
    }
}
