//! Runs one direction of a connection: reads, the faults it has taken on, and the fate of every byte read.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use super::armed::{Armed, Fault};
use super::fate::{self, Step};
use super::queue::Outgoing;
use crate::event::{Direction, ProxyEvent};

/// The size of a direction's read buffer, allocated at its first read and
/// then reused in place (without faults, the bytes of a read are written
/// before the next read).
const SMALL_READ: usize = 16 * 1024;

/// The size of the buffer of a direction whose reads keep filling it (a
/// bulk transfer), as long as the proxy's budget of big buffers allows.
const BIG_READ: usize = 256 * 1024;

/// How many directions, proxy-wide, may read into big buffers at once:
/// one busy connection moves data fast, and a hundred stay small.
pub(super) const BIG_READS: usize = 8;

/// Reading pauses while this many bytes wait to be written.
const QUEUE_LIMIT: usize = 256 * 1024;

/// Reading pauses while this many bytes wait for an `on:` match to be decided.
const HOLD_LIMIT: usize = 1 << 20;

/// Says whether the direction's sender may still send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reading {
    Open,
    /// The sender's FIN was read.
    Ended,
}

/// Holds one direction's state.
pub(super) struct Flow<W> {
    pub(super) direction: Direction,
    /// The buffer reads go into.
    pub(super) buf: BytesMut,
    /// The room the next read has.
    room: usize,
    /// The last read filled its room.
    filled: bool,
    /// Reads go into a big buffer (one of the proxy's [`BIG_READS`]).
    pub(super) big: bool,
    pub(super) reading: Reading,
    /// Bytes read so far.
    read_to: u64,
    /// Bytes whose fate is decided.
    fated_to: u64,
    /// The bytes read but not decided yet (stalled, or waiting for an `on:` match).
    unfated: VecDeque<Bytes>,
    unfated_len: usize,
    /// The faults taken on.
    pub(super) armed: Vec<Armed>,
    steps: Vec<Step>,
    /// A stall is in effect: nothing is read or passed on.
    stalled: bool,
    /// After a cut: bytes read are discarded.
    pub(super) discarding: bool,
    /// The FIN is queued (or the far side is shut another way).
    pub(super) fin_queued: bool,
    /// The far side's write side is shut down.
    pub(super) fin_passed: bool,
    /// What is still to be done toward the far side.
    pub(super) out: Outgoing<W>,
}

impl<W: std::future::Future<Output = ()>> Flow<W> {
    pub(super) fn new(direction: Direction) -> Self {
        Self {
            direction,
            buf: BytesMut::new(),
            room: 0,
            filled: false,
            big: false,
            reading: Reading::Open,
            read_to: 0,
            fated_to: 0,
            unfated: VecDeque::new(),
            unfated_len: 0,
            armed: Vec::new(),
            steps: Vec::new(),
            stalled: false,
            discarding: false,
            fin_queued: false,
            fin_passed: false,
            out: Outgoing::new(),
        }
    }

    /// Returns true when the next read may happen: the sender has not
    /// ended, no stall is in effect, and not too much is waiting. Without
    /// faults a read waits until the one before it is written, so one
    /// buffer serves the direction (the kernel's buffers do the pipelining);
    /// with faults, reads go on while earlier ones wait out their delays.
    pub(super) fn can_read(&self) -> bool {
        let room = if self.armed.is_empty() {
            self.out.bytes == 0
        } else {
            self.out.bytes < QUEUE_LIMIT
        };
        self.reading == Reading::Open && !self.stalled && room && self.unfated_len < HOLD_LIMIT
    }

    /// Makes room for the next read.
    pub(super) fn prepare_read(&mut self) {
        let size = if self.big { BIG_READ } else { SMALL_READ };
        if self.buf.capacity() < size / 4 {
            // Reclaims the buffer in place once the bytes of earlier reads are written.
            self.buf.reserve(size);
        }
        self.room = self.buf.capacity();
    }

    /// Returns true when a bigger buffer would take fewer reads: the last
    /// read filled a small one.
    pub(super) fn wants_big(&self) -> bool {
        self.filled && !self.big
    }

    /// Returns how many bytes were read from the sender so far.
    pub(super) fn read_total(&self) -> u64 {
        self.read_to
    }

    /// Returns true when this direction has nothing left to do: its sender
    /// ended, everything is passed on, and the far side has had its FIN.
    pub(super) fn is_done(&self) -> bool {
        self.reading == Reading::Ended && self.fin_passed && self.out.is_idle()
    }

    /// Takes the `n` bytes just read; after a cut they are discarded (and returned to report).
    pub(super) fn read(&mut self, n: usize) -> Option<Bytes> {
        let data = self.buf.split().freeze();
        self.filled = n == self.room;
        self.read_to += n as u64;
        if self.discarding {
            self.fated_to = self.read_to;
            return Some(data);
        }
        for armed in &mut self.armed {
            armed.feed(&data, false);
        }
        self.unfated_len += data.len();
        self.unfated.push_back(data);
        None
    }

    /// Takes note of the sender's FIN.
    pub(super) fn end(&mut self) {
        self.reading = Reading::Ended;
        for armed in &mut self.armed {
            armed.feed(b"", true);
        }
    }

    /// Takes `fault` on from the first byte not yet decided.
    pub(super) fn adopt(&mut self, fault: Arc<Fault>, rng: fastrand::Rng) {
        let mut armed = Armed::new(fault, self.fated_to, rng);
        for data in &self.unfated {
            armed.feed(data, false);
        }
        if self.reading == Reading::Ended {
            armed.feed(b"", true);
        }
        self.armed.push(armed);
    }

    /// Forgets the faults not in `keep`.
    pub(super) fn forget(&mut self, keep: impl Fn(u64) -> bool) {
        self.armed.retain(|armed| keep(armed.fault.id));
    }

    /// Decides the fate of the bytes that can be decided now and queues
    /// it: writes, drops (reported in `batch`), a stall, a cut, the FIN.
    /// Delays run from `now`, by the reporter's clock.
    pub(super) fn settle(&mut self, conn: u32, batch: &mut Vec<ProxyEvent>, now: Duration) {
        if self.discarding {
            return;
        }
        let limit = self
            .armed
            .iter()
            .filter_map(|armed| armed.hold)
            .fold(self.read_to, u64::min)
            .max(self.fated_to);
        let mut steps = std::mem::take(&mut self.steps);
        steps.clear();
        fate::decide(&mut self.armed, self.fated_to, limit, &mut steps);
        self.stalled = false;
        for step in &steps {
            match *step {
                Step::Fired { index, at } => batch.push(self.fired(conn, index, at)),
                Step::Pass { to, shape } => {
                    for data in self.take(to) {
                        self.out.push_write(data, shape, now);
                    }
                }
                Step::Drop { to } => {
                    for data in self.take(to) {
                        batch.push(self.dropped(conn, data));
                    }
                }
                Step::Stall => self.stalled = true,
                Step::Cut { index, at, cut } => {
                    let mut events = vec![self.fired(conn, index, at)];
                    let tail = self.take(self.read_to);
                    events.extend(tail.into_iter().map(|data| self.dropped(conn, data)));
                    self.discarding = true;
                    self.fin_queued = true;
                    self.out.push_cut(cut, events);
                }
            }
        }
        self.steps = steps;
        if self.reading == Reading::Ended && self.unfated_len == 0 && !self.fin_queued {
            let mut steps = std::mem::take(&mut self.steps);
            steps.clear();
            let delay = fate::fin_delay(&mut self.armed, self.read_to, &mut steps);
            for step in &steps {
                if let Step::Fired { index, at } = *step {
                    batch.push(self.fired(conn, index, at));
                }
            }
            self.steps = steps;
            self.fin_queued = true;
            self.out.push_fin(delay, now);
        }
    }

    /// Ends this direction after a cut elsewhere: what is not decided yet is
    /// discarded (reported in `batch`), and so is everything read from now
    /// on; the FIN follows what is queued.
    pub(super) fn close_after_cut(&mut self, conn: u32, batch: &mut Vec<ProxyEvent>) {
        if self.fin_queued {
            return;
        }
        for data in self.take(self.read_to) {
            batch.push(self.dropped(conn, data));
        }
        self.discarding = true;
        self.fin_queued = true;
        self.out.push_fin(Duration::ZERO, Duration::ZERO);
    }

    /// Takes the undecided bytes up to offset `to`, which are decided now.
    fn take(&mut self, to: u64) -> Vec<Bytes> {
        let mut left = usize::try_from(to.saturating_sub(self.fated_to)).unwrap_or(usize::MAX);
        let mut taken = Vec::new();
        while left > 0 {
            let Some(front) = self.unfated.front_mut() else {
                break;
            };
            let data = if front.len() <= left {
                self.unfated.pop_front().expect("front exists")
            } else {
                front.split_to(left)
            };
            left -= data.len();
            self.unfated_len -= data.len();
            self.fated_to += data.len() as u64;
            taken.push(data);
        }
        taken
    }

    fn fired(&self, conn: u32, index: usize, at: u64) -> ProxyEvent {
        ProxyEvent::FaultFired {
            conn,
            fault: self.armed[index].fault.label.clone(),
            direction: self.direction,
            offset: at,
        }
    }

    fn dropped(&self, conn: u32, data: Bytes) -> ProxyEvent {
        ProxyEvent::Dropped {
            conn,
            direction: self.direction,
            data,
        }
    }
}
