//! Executes the frame steps: `send_frame` and `server_send_frame` wrap data as one frame; `expect_frame` and `server_expect_frame` take the next frame and check it.

use std::time::Duration;

use bytes::Bytes;

use super::client::because;
use super::{StepFailure, StepResult};
use crate::client::encoding::Encoding;
use crate::framing::{Captures, Frame, FramePattern, FramingSpec};
use crate::runner::failure::Because;
use crate::runner::frames::{FrameBuffer, Take};
use crate::runner::journal::Journal;
use crate::runner::output::Matched;
use crate::runner::{Check, Conductor, Waited};
use crate::scenario::{ConnectionRef, Data, FramePatternSpec};
use crate::server::Targets;

/// Caps the payload bytes a failure shows of a frame.
const SHOWN: usize = 200;

/// Says what a frame wait found: the frame that matched, or the one that did not.
type Found = Result<(Frame, Captures), Frame>;

impl Conductor {
    /// `send_frame`: has the client send `data` wrapped as one frame of its framing.
    pub(super) async fn send_frame(&mut self, client: &Option<String>, data: &Data) -> StepResult {
        let index = self.client_index(client);
        let framing = self
            .journal
            .client_framing(index)
            .cloned()
            .ok_or(StepFailure::NoFraming)?;
        let frame = encode(&framing, &self.bytes(data)?)?;
        self.send(client, frame, None).await
    }

    /// `server_send_frame`: has the fake server write `data` wrapped as one
    /// frame of its framing to `connection`.
    pub(super) async fn server_send_frame(
        &mut self,
        connection: &ConnectionRef,
        data: &Data,
    ) -> StepResult {
        let targets = self.targets(connection)?;
        let framing = self
            .journal
            .server_framing()
            .cloned()
            .ok_or(StepFailure::NoFraming)?;
        let frame = encode(&framing, &self.bytes(data)?)?;
        self.server_send(targets, frame).await
    }

    /// `expect_frame`: takes the client's next frame (with `skip`, the next
    /// that matches) and fails unless it matches `pattern`.
    pub(super) async fn expect_frame(
        &mut self,
        client: &Option<String>,
        pattern: &FramePatternSpec,
        skip: bool,
        timeout: Option<Duration>,
    ) -> StepResult {
        let index = self.client_index(client);
        let encoding = self.journal.client_encoding(index);
        let compiled = pattern
            .resolve(&self.vars)
            .map_err(StepFailure::FramePattern)?;
        let start = self.journal.client(index).frames.consumed();
        let waited = self
            .wait_for(self.timeout(timeout), |j| {
                let client = j.client(index);
                let over = client
                    .frames
                    .ended()
                    .then(|| because(client, None))
                    .flatten();
                look(&mut j.client_mut(index).frames, &compiled, skip, || over)
            })
            .await;
        let frames = &self.journal.client(index).frames;
        let buffered = self.journal.client_frame_buffered(index);
        let found = self.judge(waited, pattern, timeout, frames, start, buffered, encoding)?;
        self.capture_frame(found);
        Ok(())
    }

    /// `server_expect_frame`: takes the next frame the server received on
    /// `connection` (all: every connection together) and fails unless it matches.
    pub(super) async fn server_expect_frame(
        &mut self,
        connection: &ConnectionRef,
        pattern: &FramePatternSpec,
        skip: bool,
        timeout: Option<Duration>,
    ) -> StepResult {
        let conn = match connection {
            ConnectionRef::All => None,
            named => match self.targets(named)? {
                Targets::Some(ids) => ids.first().copied(),
                Targets::All => None,
            },
        };
        let compiled = pattern
            .resolve(&self.vars)
            .map_err(StepFailure::FramePattern)?;
        let start = server_frames(&mut self.journal, conn).consumed();
        let waited = self
            .wait_for(self.timeout(timeout), |j| {
                let over = conn.filter(|&c| j.server().input_over(c));
                let frames = server_frames(j, conn);
                let ended = frames.ended();
                look(frames, &compiled, skip, || {
                    over.filter(|_| ended)
                        .map(|conn| Because::ConnectionEnded { conn })
                })
            })
            .await;
        let buffered = conn.map_or(0, |c| self.journal.conn_frame_buffered(c));
        let none = FrameBuffer::default();
        let server = self.journal.server();
        let frames = match conn {
            Some(conn) => server.frames.get(&conn).unwrap_or(&none),
            None => &server.all_frames,
        };
        let found = self.judge(
            waited,
            pattern,
            timeout,
            frames,
            start,
            buffered,
            Encoding::Utf8,
        )?;
        self.capture_frame(found);
        Ok(())
    }

    /// Turns a frame wait's end into the step's result: the frame that
    /// matched, or why none did.
    #[allow(clippy::too_many_arguments)]
    fn judge(
        &self,
        waited: Result<Found, Waited>,
        pattern: &FramePatternSpec,
        timeout: Option<Duration>,
        frames: &FrameBuffer,
        start: u64,
        buffered: usize,
        encoding: Encoding,
    ) -> Result<(Frame, Captures), StepFailure> {
        let partial = match frames.partial() {
            Some(partial) if frames.ended() => Some(match partial.expected {
                Some(whole) => format!(
                    "a partial frame ({} of {whole} bytes, {})",
                    partial.bytes.len(),
                    crate::transcript::one_line(&partial.bytes, encoding, SHOWN)
                ),
                None => format!(
                    "a partial frame ({} bytes, {})",
                    partial.bytes.len(),
                    crate::transcript::one_line(&partial.bytes, encoding, SHOWN)
                ),
            }),
            _ if buffered > 0 => Some(format!(
                "{buffered} {} of a frame not yet whole",
                if buffered == 1 { "byte" } else { "bytes" }
            )),
            _ => None,
        };
        match waited {
            Ok(Ok(found)) => Ok(found),
            Ok(Err(frame)) => Err(StepFailure::FrameMismatch {
                pattern: pattern.describe(),
                frame: show_frame(&frame, encoding),
                offset: frame.offset,
            }),
            Err(Waited::TimedOut) => Err(StepFailure::NoFrame {
                pattern: pattern.describe(),
                within: self.timeout(timeout),
                skipped: frames.consumed() - start,
                dropped: frames.dropped(),
                partial,
            }),
            Err(Waited::Never(because)) => Err(StepFailure::NoFrameCanCome {
                pattern: pattern.describe(),
                because: Box::new(because),
                partial,
            }),
            Err(Waited::Stuck) => Err(self.stuck()),
        }
    }

    /// Keeps a frame match's named groups as variables, masked in the transcript.
    fn capture_frame(&mut self, (_, captures): (Frame, Captures)) {
        let captures = captures
            .iter()
            .map(|(name, value)| (name.to_owned(), String::from_utf8_lossy(value).into_owned()))
            .collect();
        self.capture(Matched {
            text: String::new(),
            captures,
        });
    }
}

/// Looks at the frames: the next one taken (with `skip`, the next that
/// matches), or why none can come any more (framing stopped, or `over`).
fn look(
    frames: &mut FrameBuffer,
    pattern: &FramePattern,
    skip: bool,
    over: impl FnOnce() -> Option<Because>,
) -> Check<Found> {
    match frames.take(pattern, skip) {
        Take::Matched(frame, captures) => Check::Met(Ok((frame, captures))),
        Take::Mismatch(frame) => Check::Met(Err(frame)),
        Take::Nothing => match frames.failed() {
            Some(error) => Check::Never(Because::FramingStopped {
                error: error.clone(),
            }),
            None => over().map_or(Check::Waiting, Check::Never),
        },
    }
}

/// Returns the frames of server connection `conn`, or of every connection.
fn server_frames(journal: &mut Journal, conn: Option<u32>) -> &mut FrameBuffer {
    let server = journal.server_mut();
    match conn {
        Some(conn) => server.frames.entry(conn).or_default(),
        None => &mut server.all_frames,
    }
}

/// Wraps `payload` as one frame of `framing`.
fn encode(framing: &FramingSpec, payload: &[u8]) -> Result<Bytes, StepFailure> {
    framing
        .encode(payload)
        .map_err(|error| StepFailure::Encode {
            framing: framing.to_string(),
            error,
        })
}

/// Shows a frame as the transcript does: `frame(9) "PING!"`.
fn show_frame(frame: &Frame, encoding: Encoding) -> String {
    format!(
        "frame({}) {}",
        frame.wire.len(),
        crate::transcript::one_line(&frame.payload, encoding, SHOWN)
    )
}
