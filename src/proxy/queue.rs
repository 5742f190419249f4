//! Holds what one direction still has to do toward its far side, in order: shaped writes, a FIN, a cut.
//!
//! Every wait (a latency, a pacing pause, a gap between slices) is asked
//! for as a timer that the connection starts through its reporter when it
//! reports its next batch. A direction has one wait under way at most: an
//! effect notes when it is due by the reporter's clock when it is queued
//! (a latency runs from when the bytes were read, so reads in a row are
//! delayed side by side, not one after another), and its wait is asked for
//! when it reaches the front, for what is left of its delay.

use std::collections::VecDeque;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::fate::Shape;
use super::spec::Cut;
use super::units;
use crate::event::ProxyEvent;

/// Says what the front of the queue asks of the connection.
#[derive(Debug)]
pub(super) enum Action {
    /// Pass a FIN on.
    Fin,
    /// Cut the connection; `events` (the fault firing, the bytes it
    /// discards) are reported first.
    Cut(Cut, Vec<ProxyEvent>),
}

/// Says what the connection's select loop saw of this queue.
#[derive(Debug)]
pub(super) enum Progress {
    /// A write ended: how many bytes went out, or why none could.
    Wrote(std::io::Result<usize>),
    /// A wait is over.
    Waited,
}

enum Effect {
    /// Bytes to pass on; `pieces` were written already.
    Write {
        data: Bytes,
        shape: Shape,
        pieces: u32,
    },
    Fin,
    Cut(Cut, Vec<ProxyEvent>),
}

/// Says when an effect may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Due {
    Ready,
    /// Not before this time by the reporter's clock.
    At(Duration),
}

struct Queued {
    due: Due,
    effect: Effect,
}

/// Says what the wait asked for is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asked {
    /// What is left of the front effect's delay.
    Delay,
    /// The pause before the front write's next piece.
    Pause,
}

/// Holds one direction's outgoing effects, the piece being written and the wait under way.
pub(super) struct Outgoing<W> {
    queue: VecDeque<Queued>,
    /// Bytes queued or being written.
    pub(super) bytes: usize,
    wait: Option<Pin<Box<W>>>,
    /// A wait is asked for (or under way) and not over yet.
    asked: Option<Asked>,
    /// The pause before the front write's next piece is over.
    paused: bool,
    /// The rest of the piece being written.
    writing: Option<Bytes>,
    /// Bytes written so far.
    pub(super) written: u64,
    /// Waits that are over, kept until the batch their end caused is reported.
    over: Vec<Pin<Box<W>>>,
}

impl<W: std::future::Future<Output = ()>> Outgoing<W> {
    pub(super) fn new() -> Self {
        Self {
            queue: VecDeque::new(),
            bytes: 0,
            wait: None,
            asked: None,
            paused: false,
            writing: None,
            written: 0,
            over: Vec::new(),
        }
    }

    /// Returns true while a write or a wait is under way.
    pub(super) fn busy(&self) -> bool {
        self.writing.is_some() || self.wait.is_some()
    }

    /// Returns true while a write is under way.
    pub(super) fn writing(&self) -> bool {
        self.writing.is_some()
    }

    /// Returns true when nothing is queued, written or awaited.
    pub(super) fn is_idle(&self) -> bool {
        self.queue.is_empty() && !self.busy()
    }

    /// Queues bytes to pass on, shaped, due `shape.delay` after `now`.
    pub(super) fn push_write(&mut self, data: Bytes, shape: Shape, now: Duration) {
        self.bytes += data.len();
        let delay = shape.delay;
        let effect = Effect::Write {
            data,
            shape,
            pieces: 0,
        };
        self.push(effect, delay, now);
    }

    /// Queues a FIN, due `delay` after `now`.
    pub(super) fn push_fin(&mut self, delay: Duration, now: Duration) {
        self.push(Effect::Fin, delay, now);
    }

    /// Queues a cut.
    pub(super) fn push_cut(&mut self, cut: Cut, events: Vec<ProxyEvent>) {
        self.push(Effect::Cut(cut, events), Duration::ZERO, Duration::ZERO);
    }

    fn push(&mut self, effect: Effect, delay: Duration, now: Duration) {
        let due = if delay.is_zero() {
            Due::Ready
        } else {
            Due::At(now.saturating_add(delay))
        };
        self.queue.push_back(Queued { due, effect });
    }

    /// Puts the started wait that was asked for under way.
    pub(super) fn place(&mut self, wait: Pin<Box<W>>) {
        self.wait = Some(wait);
    }

    /// Drops the waits that are over (their batch is reported).
    pub(super) fn release_over(&mut self) {
        self.over.clear();
    }

    /// Starts what the front of the queue allows at time `now`: the next
    /// piece of a write (its `Forwarded` event goes into `batch`), or a
    /// wait before it (asked for in `timers`). Returns a FIN or cut for the
    /// connection to carry out.
    pub(super) fn stage(
        &mut self,
        forwarded: impl Fn(Bytes) -> ProxyEvent,
        batch: &mut Vec<ProxyEvent>,
        timers: &mut Vec<Duration>,
        now: Duration,
    ) -> Option<Action> {
        if self.busy() || self.asked.is_some() {
            return None;
        }
        let front = self.queue.front_mut()?;
        if let Due::At(at) = front.due {
            if at > now {
                timers.push(at - now);
                self.asked = Some(Asked::Delay);
                return None;
            }
            front.due = Due::Ready;
        }
        let (data, shape, pieces) = match &mut front.effect {
            Effect::Write {
                data,
                shape,
                pieces,
            } => (data, shape, pieces),
            Effect::Fin | Effect::Cut(..) => {
                return match self.queue.pop_front().map(|q| q.effect) {
                    Some(Effect::Cut(cut, events)) => Some(Action::Cut(cut, events)),
                    _ => Some(Action::Fin),
                };
            }
        };
        let mut len = data.len();
        if let Some(piece) = shape.piece {
            len = len.min(piece);
        }
        if let Some(rate) = shape.rate {
            len = len.min(units::paced_piece(rate));
        }
        if !self.paused {
            let gap = if *pieces > 0 {
                shape.gap
            } else {
                Duration::ZERO
            };
            let pace = shape
                .rate
                .map_or(Duration::ZERO, |rate| units::pace(len, rate));
            if !(gap + pace).is_zero() {
                timers.push(gap + pace);
                self.asked = Some(Asked::Pause);
                return None;
            }
        }
        self.paused = false;
        *pieces += 1;
        let piece = data.split_to(len);
        if data.is_empty() {
            self.queue.pop_front();
        }
        batch.push(forwarded(piece.clone()));
        self.writing = Some(piece);
        None
    }

    /// Writes the piece under way, or waits for the wait under way; pends when neither.
    pub(super) async fn progress(&mut self, writer: &mut (impl AsyncWrite + Unpin)) -> Progress {
        if let Some(piece) = &self.writing {
            return Progress::Wrote(writer.write(piece).await);
        }
        if let Some(wait) = &mut self.wait {
            wait.await;
            return Progress::Waited;
        }
        std::future::pending().await
    }

    /// Takes note of `n` bytes written.
    pub(super) fn wrote(&mut self, n: usize) {
        self.written += n as u64;
        self.bytes -= n;
        if let Some(piece) = &mut self.writing {
            let _ = piece.split_to(n);
            if piece.is_empty() {
                self.writing = None;
            }
        }
    }

    /// Takes note that the wait under way is over (it is kept until
    /// [`Self::release_over`]).
    pub(super) fn waited(&mut self) {
        if let Some(wait) = self.wait.take() {
            self.over.push(wait);
        }
        match self.asked.take() {
            Some(Asked::Delay) => {
                if let Some(front) = self.queue.front_mut() {
                    front.due = Due::Ready;
                }
            }
            Some(Asked::Pause) => self.paused = true,
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Out = Outgoing<std::future::Ready<()>>;

    const ZERO: Duration = Duration::ZERO;

    fn forwarded(data: Bytes) -> ProxyEvent {
        ProxyEvent::Forwarded {
            conn: 1,
            direction: crate::event::Direction::ToServer,
            data,
        }
    }

    /// Stages and "writes" every piece at once, granting every pause;
    /// returns the pieces and the pauses asked for.
    fn drain(out: &mut Out) -> (Vec<Bytes>, Vec<Duration>) {
        let (mut pieces, mut pauses) = (Vec::new(), Vec::new());
        loop {
            let (mut batch, mut timers) = (Vec::new(), Vec::new());
            assert!(
                out.stage(forwarded, &mut batch, &mut timers, ZERO)
                    .is_none()
            );
            if let Some(delay) = timers.pop() {
                pauses.push(delay);
                out.place(Box::pin(std::future::ready(())));
                out.waited();
                continue;
            }
            let Some(ProxyEvent::Forwarded { data, .. }) = batch.pop() else {
                return (pieces, pauses);
            };
            out.wrote(data.len());
            pieces.push(data);
        }
    }

    #[test]
    fn slices_are_separate_writes_a_gap_apart() {
        let mut out = Out::new();
        let shape = Shape {
            piece: Some(4),
            gap: Duration::from_millis(5),
            ..Shape::default()
        };
        out.push_write(Bytes::from_static(b"0123456789"), shape, ZERO);
        let (pieces, pauses) = drain(&mut out);
        assert_eq!(pieces, ["0123", "4567", "89"]);
        assert_eq!(pauses, [Duration::from_millis(5); 2]);
        assert!(out.is_idle());
        assert_eq!((out.bytes, out.written), (0, 10));
    }

    #[test]
    fn bandwidth_paces_tenth_of_a_second_pieces() {
        let mut out = Out::new();
        let shape = Shape {
            rate: Some(100),
            ..Shape::default()
        };
        out.push_write(Bytes::from(vec![b'x'; 25]), shape, ZERO);
        let (pieces, pauses) = drain(&mut out);
        assert_eq!(
            pieces.iter().map(Bytes::len).collect::<Vec<_>>(),
            [10, 10, 5]
        );
        let total: Duration = pauses.iter().sum();
        assert_eq!(total, Duration::from_millis(250));
    }

    #[test]
    fn a_delayed_write_asks_for_what_is_left_of_its_delay_at_the_front() {
        let mut out = Out::new();
        let ms = Duration::from_millis;
        let shape = |delay| Shape {
            delay,
            ..Shape::default()
        };
        // Read at 0 and at 50ms; the second with a shorter (jittered) delay.
        out.push_write(Bytes::from_static(b"early"), shape(ms(200)), ZERO);
        out.push_write(Bytes::from_static(b"late"), shape(ms(100)), ms(50));
        let (mut batch, mut timers) = (Vec::new(), Vec::new());
        assert!(
            out.stage(forwarded, &mut batch, &mut timers, ms(50))
                .is_none()
        );
        assert_eq!(timers, [ms(150)], "only the front waits, for what is left");
        assert!(
            out.stage(forwarded, &mut batch, &mut timers, ms(50))
                .is_none()
        );
        assert_eq!(timers.len(), 1, "asked once");
        out.place(Box::pin(std::future::ready(())));
        assert!(
            batch.is_empty() && out.busy(),
            "nothing goes out before it ends"
        );
        out.waited();
        assert!(
            out.stage(forwarded, &mut batch, &mut timers, ms(200))
                .is_none()
        );
        assert_eq!(batch, [forwarded(Bytes::from_static(b"early"))]);
        out.wrote(5);
        // The second was due at 150ms, before the first: it follows at once.
        assert!(
            out.stage(forwarded, &mut batch, &mut timers, ms(200))
                .is_none()
        );
        assert_eq!(timers.len(), 1);
        assert_eq!(batch[1], forwarded(Bytes::from_static(b"late")));
        out.wrote(4);
        assert_eq!(
            out.over.len(),
            1,
            "the wait is kept until its batch is reported"
        );
        out.release_over();
        assert!(out.is_idle() && out.over.is_empty());
    }
}
