//! Holds received frames for `expect_frame`: whole frames in order, taken one at a time, with what the stream ended in.

use std::collections::VecDeque;

use crate::framing::{Captures, Cut, DecodeError, Frame, FramePattern, Partial};

/// Caps the unconsumed frames kept per buffer, by count and by wire bytes;
/// beyond either, the older half is dropped (and counted).
pub const FRAMES_CAP: usize = 1 << 16;
/// Caps the wire bytes of the unconsumed frames kept per buffer.
pub const FRAME_BYTES_CAP: usize = super::output::OUTPUT_CAP;

/// Holds one actor's received frames, and how many `expect_frame` took.
#[derive(Debug, Default)]
pub struct FrameBuffer {
    frames: VecDeque<Frame>,
    /// Wire bytes of `frames`.
    bytes: usize,
    /// Frames taken, skipped or dropped since the start.
    consumed: u64,
    /// Frames dropped for the cap without being taken.
    dropped: u64,
    /// The stream ended (FIN or close) and no connection began since.
    ended: bool,
    /// The partial frame the last stream ended in.
    partial: Option<Partial>,
    /// Why framing stopped on the current connection.
    failed: Option<DecodeError>,
}

/// Says what a look at the frames found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Take {
    /// The frame that matched, taken, with its captures.
    Matched(Frame, Captures),
    /// The next frame did not match (taken all the same).
    Mismatch(Frame),
    /// No frame (yet).
    Nothing,
}

impl FrameBuffer {
    /// Folds what a stream was cut into: frames join the queue; a partial
    /// frame or an error is kept for reports.
    pub fn add(&mut self, cuts: &[Cut]) {
        for cut in cuts {
            match cut {
                Cut::Frame(frame) => self.push(frame.clone()),
                Cut::Partial(partial) => self.partial = Some(partial.clone()),
                Cut::Failed { error, .. } => self.failed = Some(error.clone()),
                Cut::Junk(_) | Cut::Raw(_) => {}
            }
        }
    }

    fn push(&mut self, frame: Frame) {
        self.ended = false;
        self.bytes += frame.wire.len();
        self.frames.push_back(frame);
        if self.frames.len() > FRAMES_CAP || self.bytes > FRAME_BYTES_CAP {
            while self.frames.len() > FRAMES_CAP / 2 || self.bytes > FRAME_BYTES_CAP / 2 {
                let Some(old) = self.frames.pop_front() else {
                    break;
                };
                self.bytes -= old.wire.len();
                self.consumed += 1;
                self.dropped += 1;
            }
        }
    }

    /// Notes that a new connection began: more frames can come.
    pub fn restart(&mut self) {
        self.ended = false;
        self.partial = None;
        self.failed = None;
    }

    /// Notes that the stream ended (FIN or close).
    pub fn end(&mut self) {
        self.ended = true;
    }

    /// Returns true when the stream has ended and no connection began since.
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// Returns why framing stopped, if it did on the current connection.
    pub fn failed(&self) -> Option<&DecodeError> {
        self.failed.as_ref()
    }

    /// Returns the partial frame the last stream ended in, if any.
    pub fn partial(&self) -> Option<&Partial> {
        self.partial.as_ref()
    }

    /// Returns how many frames were taken, skipped or dropped since the start.
    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    /// Returns how many frames were dropped for the cap before anything took them.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Takes the next frame if it matches `pattern` (then or else it is
    /// consumed); with `skip`, takes frames until one matches.
    pub fn take(&mut self, pattern: &FramePattern, skip: bool) -> Take {
        while let Some(frame) = self.frames.pop_front() {
            self.bytes -= frame.wire.len();
            self.consumed += 1;
            match pattern.matches(&frame.payload) {
                Some(captures) => return Take::Matched(frame, captures),
                None if skip => continue,
                None => return Take::Mismatch(frame),
            }
        }
        Take::Nothing
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn frame(payload: &'static str) -> Cut {
        Cut::Frame(Frame {
            offset: 0,
            payload: Bytes::from_static(payload.as_bytes()),
            wire: Bytes::from_static(payload.as_bytes()),
        })
    }

    #[test]
    fn takes_the_next_frame_or_skips_to_a_match() {
        let mut buffer = FrameBuffer::default();
        buffer.add(&[frame("PING"), frame("noise"), frame("PONG 7")]);
        let ping = FramePattern::new("text", "PING", false).unwrap();
        assert!(matches!(buffer.take(&ping, false), Take::Matched(..)));
        let pong = FramePattern::new("regex", r"^PONG (?<n>\d+)$", false).unwrap();
        assert!(
            matches!(buffer.take(&pong.clone(), false), Take::Mismatch(f) if f.payload == "noise")
        );
        let Take::Matched(_, captures) = buffer.take(&pong, true) else {
            panic!()
        };
        assert_eq!(captures.get("n").unwrap(), "7");
        assert_eq!(buffer.take(&pong, true), Take::Nothing);
        assert_eq!(buffer.consumed(), 3);
    }

    #[test]
    fn a_flood_keeps_the_newer_half_and_counts_the_rest() {
        let mut buffer = FrameBuffer::default();
        for _ in 0..FRAMES_CAP + 1 {
            buffer.add(&[frame("x")]);
        }
        assert_eq!(buffer.frames.len(), FRAMES_CAP / 2);
        assert_eq!(buffer.dropped(), (FRAMES_CAP / 2 + 1) as u64);
    }
}
