//! Holds what one direction still has to do toward its far side, in order: shaped writes, a FIN, a cut.
//!
//! Every wait (a latency, a pacing pause, a gap between slices) is asked
//! for as a timer that the connection starts through its reporter when it
//! reports its next batch; a latency's timer starts when the bytes are
//! read, so reads in a row are delayed side by side, not one after another.

use std::collections::VecDeque;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::event::ProxyEvent;
use super::fate::Shape;
use super::spec::Cut;
use super::units;

/// Names where a started wait belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Slot {
    /// The pause before the front write's next piece.
    Front,
    /// The delay of the effect with this sequence number.
    Effect(u64),
}

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

/// Says whether an effect may start.
enum Due<W> {
    Ready,
    /// Its timer is asked for, not yet started.
    Asked,
    Started(Pin<Box<W>>),
}

struct Queued<W> {
    seq: u64,
    due: Due<W>,
    effect: Effect,
}

/// Says where the pause before the front piece stands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pause {
    None,
    Asked,
    Over,
}

/// Holds one direction's outgoing effects, the piece being written and the wait under way.
pub(super) struct Outgoing<W> {
    queue: VecDeque<Queued<W>>,
    next_seq: u64,
    /// Bytes queued or being written.
    pub(super) bytes: usize,
    wait: Option<Pin<Box<W>>>,
    pause: Pause,
    /// The rest of the piece being written.
    writing: Option<Bytes>,
    /// Bytes written so far.
    pub(super) written: u64,
}

impl<W: std::future::Future<Output = ()>> Outgoing<W> {
    pub(super) fn new() -> Self {
        Self {
            queue: VecDeque::new(),
            next_seq: 0,
            bytes: 0,
            wait: None,
            pause: Pause::None,
            writing: None,
            written: 0,
        }
    }

    /// Returns true while a write or a wait is under way.
    pub(super) fn busy(&self) -> bool {
        self.writing.is_some() || self.wait.is_some()
    }

    /// Returns true when nothing is queued, written or awaited.
    pub(super) fn is_idle(&self) -> bool {
        self.queue.is_empty() && !self.busy()
    }

    /// Queues bytes to pass on, shaped; asks for their delay's timer.
    pub(super) fn push_write(
        &mut self,
        data: Bytes,
        shape: Shape,
        timers: &mut Vec<(Duration, Slot)>,
    ) {
        self.bytes += data.len();
        let delay = shape.delay;
        let effect = Effect::Write {
            data,
            shape,
            pieces: 0,
        };
        self.push(effect, delay, timers);
    }

    /// Queues a FIN, after `delay`.
    pub(super) fn push_fin(&mut self, delay: Duration, timers: &mut Vec<(Duration, Slot)>) {
        self.push(Effect::Fin, delay, timers);
    }

    /// Queues a cut.
    pub(super) fn push_cut(&mut self, cut: Cut, events: Vec<ProxyEvent>) {
        self.push(Effect::Cut(cut, events), Duration::ZERO, &mut Vec::new());
    }

    fn push(&mut self, effect: Effect, delay: Duration, timers: &mut Vec<(Duration, Slot)>) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let due = if delay.is_zero() {
            Due::Ready
        } else {
            timers.push((delay, Slot::Effect(seq)));
            Due::Asked
        };
        self.queue.push_back(Queued { seq, due, effect });
    }

    /// Puts a started timer where it was asked for.
    pub(super) fn place(&mut self, slot: Slot, wait: Pin<Box<W>>) {
        match slot {
            Slot::Front => self.wait = Some(wait),
            Slot::Effect(seq) => {
                if let Some(queued) = self.queue.iter_mut().rev().find(|q| q.seq == seq) {
                    queued.due = Due::Started(wait);
                }
            }
        }
    }

    /// Makes the front's started delay the wait under way.
    pub(super) fn arm(&mut self) {
        if self.wait.is_none()
            && let Some(front) = self.queue.front_mut()
            && matches!(front.due, Due::Started(_))
            && let Due::Started(wait) = std::mem::replace(&mut front.due, Due::Ready)
        {
            self.wait = Some(wait);
        }
    }

    /// Starts what the front of the queue allows now: the next piece of a
    /// write (its `Forwarded` event goes into `batch`), or a pause before
    /// it (asked for in `timers`). Returns a FIN or cut for the connection to carry out.
    pub(super) fn stage(
        &mut self,
        forwarded: impl Fn(Bytes) -> ProxyEvent,
        batch: &mut Vec<ProxyEvent>,
        timers: &mut Vec<(Duration, Slot)>,
    ) -> Option<Action> {
        if self.busy() || self.pause == Pause::Asked {
            return None;
        }
        let front = self.queue.front_mut()?;
        match std::mem::replace(&mut front.due, Due::Ready) {
            Due::Ready => {}
            Due::Asked => {
                front.due = Due::Asked;
                return None;
            }
            Due::Started(wait) => {
                self.wait = Some(wait);
                return None;
            }
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
        if self.pause != Pause::Over {
            let gap = if *pieces > 0 {
                shape.gap
            } else {
                Duration::ZERO
            };
            let pace = shape
                .rate
                .map_or(Duration::ZERO, |rate| units::pace(len, rate));
            if !(gap + pace).is_zero() {
                timers.push((gap + pace, Slot::Front));
                self.pause = Pause::Asked;
                return None;
            }
        }
        self.pause = Pause::None;
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

    /// Takes note that the wait under way is over.
    pub(super) fn waited(&mut self) {
        self.wait = None;
        if self.pause == Pause::Asked {
            self.pause = Pause::Over;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Out = Outgoing<std::future::Ready<()>>;

    fn forwarded(data: Bytes) -> ProxyEvent {
        ProxyEvent::Forwarded {
            conn: 1,
            direction: crate::proxy::event::Direction::ToServer,
            data,
        }
    }

    /// Stages and "writes" every piece at once, granting every pause;
    /// returns the pieces and the pauses asked for.
    fn drain(out: &mut Out) -> (Vec<Bytes>, Vec<Duration>) {
        let (mut pieces, mut pauses) = (Vec::new(), Vec::new());
        loop {
            let (mut batch, mut timers) = (Vec::new(), Vec::new());
            assert!(out.stage(forwarded, &mut batch, &mut timers).is_none());
            if let Some((delay, slot)) = timers.pop() {
                pauses.push(delay);
                out.place(slot, Box::pin(std::future::ready(())));
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
        out.push_write(Bytes::from_static(b"0123456789"), shape, &mut Vec::new());
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
        out.push_write(Bytes::from(vec![b'x'; 25]), shape, &mut Vec::new());
        let (pieces, pauses) = drain(&mut out);
        assert_eq!(
            pieces.iter().map(Bytes::len).collect::<Vec<_>>(),
            [10, 10, 5]
        );
        let total: Duration = pauses.iter().sum();
        assert_eq!(total, Duration::from_millis(250));
    }

    #[test]
    fn a_delayed_write_asks_for_its_timer_and_waits_for_it() {
        let mut out = Out::new();
        let mut timers = Vec::new();
        let shape = Shape {
            delay: Duration::from_millis(200),
            ..Shape::default()
        };
        out.push_write(Bytes::from_static(b"late"), shape, &mut timers);
        assert_eq!(timers, [(Duration::from_millis(200), Slot::Effect(0))]);
        let mut batch = Vec::new();
        assert!(out.stage(forwarded, &mut batch, &mut Vec::new()).is_none());
        assert!(batch.is_empty(), "nothing goes out before the timer starts");
        out.place(Slot::Effect(0), Box::pin(std::future::ready(())));
        assert!(out.stage(forwarded, &mut batch, &mut Vec::new()).is_none());
        assert!(batch.is_empty() && out.busy(), "nor before it ends");
        out.waited();
        assert!(out.stage(forwarded, &mut batch, &mut Vec::new()).is_none());
        assert_eq!(batch, [forwarded(Bytes::from_static(b"late"))]);
    }
}
