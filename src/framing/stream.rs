//! Follows one direction of a connection through its framing, for reports: frames, junk, the partial frame at the end, and after an error the rest as the bytes that came.

use bytes::Bytes;

use super::decode::{DecodeError, Frame, FrameDecoder, Item, Junk, Leftover, Partial};
use super::spec::FramingSpec;

/// Lists what a [`FrameStream`] makes of the bytes of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cut {
    /// A whole frame.
    Frame(Frame),
    /// Bytes outside frames (`{start, end}` framing).
    Junk(Junk),
    /// The start of a frame the stream ended in.
    Partial(Partial),
    /// Framing stopped here: the error, and the bytes held then (the frame
    /// that could not be cut, and what came after it so far).
    Failed {
        /// Why.
        error: DecodeError,
        /// The bytes held, unframed.
        held: Bytes,
    },
    /// Bytes that came after framing stopped, as they came.
    Raw(Bytes),
}

/// Cuts one direction of a connection into [`Cut`]s: whole frames as they
/// complete, whatever the pieces; after an error, the rest unframed, so
/// that nothing is lost without a word.
#[derive(Debug, Clone)]
pub struct FrameStream {
    decoder: FrameDecoder,
    failed: bool,
    finished: bool,
}

impl FrameStream {
    /// Starts a stream framed by `spec`.
    pub fn new(spec: &FramingSpec) -> Self {
        Self {
            decoder: FrameDecoder::new(spec),
            failed: false,
            finished: false,
        }
    }

    /// Adds the next bytes and appends what they complete to `out`.
    pub fn push(&mut self, data: &Bytes, out: &mut Vec<Cut>) {
        if self.failed || self.finished {
            out.push(Cut::Raw(data.clone()));
            return;
        }
        self.decoder.push(data);
        loop {
            match self.decoder.next_item() {
                Ok(None) => break,
                Ok(Some(Item::Frame(frame))) => out.push(Cut::Frame(frame)),
                Ok(Some(Item::Junk(junk))) => out.push(Cut::Junk(junk)),
                Err(error) => {
                    self.failed = true;
                    let held = self.decoder.take_buffered();
                    out.push(Cut::Failed { error, held });
                    break;
                }
            }
        }
    }

    /// Ends the stream: appends the partial frame or junk it ended in, if
    /// any. Later calls append nothing.
    pub fn finish(&mut self, out: &mut Vec<Cut>) {
        if self.finished {
            return;
        }
        self.finished = true;
        if self.failed {
            return;
        }
        match self.decoder.finish() {
            Some(Leftover::Partial(partial)) => out.push(Cut::Partial(partial)),
            Some(Leftover::Junk(junk)) => out.push(Cut::Junk(junk)),
            None => {}
        }
    }

    /// Returns true once framing stopped on an error.
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// Returns how many bytes are held that belong to no frame yet.
    pub fn buffered(&self) -> usize {
        self.decoder.buffered()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::Written;

    fn run(spec: &FramingSpec, pieces: &[&[u8]]) -> Vec<Cut> {
        let mut stream = FrameStream::new(spec);
        let mut out = Vec::new();
        for piece in pieces {
            stream.push(&Bytes::copy_from_slice(piece), &mut out);
        }
        stream.finish(&mut out);
        stream.finish(&mut out);
        out
    }

    #[test]
    fn frames_then_the_partial_frame_at_the_end() {
        let spec = FramingSpec::parse(Written::Map(&[("length", "u8")])).unwrap();
        let cuts = run(&spec, &[b"\x02o", b"k\x05ab"]);
        assert!(matches!(&cuts[0], Cut::Frame(f) if f.payload == "ok"));
        assert_eq!(
            cuts[1],
            Cut::Partial(Partial {
                offset: 3,
                bytes: Bytes::from_static(b"\x05ab"),
                expected: Some(6)
            })
        );
        assert_eq!(cuts.len(), 2);
    }

    #[test]
    fn after_an_error_the_rest_is_raw_and_nothing_is_lost() {
        let spec = FramingSpec::parse(Written::Map(&[("length", "u8"), ("max", "4")])).unwrap();
        let cuts = run(&spec, &[b"\x01a\x09xy", b"z"]);
        assert!(matches!(&cuts[0], Cut::Frame(_)));
        let Cut::Failed { error, held } = &cuts[1] else {
            panic!("{cuts:?}")
        };
        assert_eq!(error.offset(), 2);
        assert_eq!(held, &Bytes::from_static(b"\x09xy"));
        assert_eq!(cuts[2], Cut::Raw(Bytes::from_static(b"z")));
        assert_eq!(cuts.len(), 3);
    }
}
