//! Words framed streams: one line per frame, junk, the partial frame a stream ended in, and where framing stopped.

use super::{
    ClientEvent, Cut, Encoding, FRAME_SHOWN, Group, Owners, Recorder, Show, Stream, Track, one_line,
};

impl Recorder {
    /// Adds the frames (or partial frame) a client's stream ended in, as
    /// caused by what ended it (`event`, a `PeerEnded` or `Closed`).
    pub fn client_end_cuts(
        &mut self,
        index: usize,
        conn: Option<u32>,
        event: &ClientEvent,
        cuts: &[Cut],
    ) {
        let cause = self.end_cause(index, conn, event);
        let encoding = self.clients[index].encoding;
        self.cuts(Stream::ClientIn(index), cause, encoding, cuts, true);
    }

    /// Adds what client `index` received, cut into frames, in place of
    /// its bytes; `conn` is the server connection of its current
    /// connection (the frames answer what it sent).
    pub fn client_cuts(&mut self, index: usize, conn: Option<u32>, cuts: &[Cut]) {
        let cause = conn.and_then(|c| self.window.block_clock(Stream::ConnOut(c)));
        let encoding = self.clients[index].encoding;
        self.cuts(Stream::ClientIn(index), cause, encoding, cuts, false);
    }

    /// Adds what client `index` sent, cut into frames, in place of its
    /// bytes; `ended`: what its stream ended in (when it closed).
    pub fn client_sent_cuts(&mut self, index: usize, cuts: &[Cut], ended: bool) {
        let encoding = self.clients[index].encoding;
        self.cuts(Stream::ClientOut(index), None, encoding, cuts, ended);
    }

    /// Adds what server connection `conn` sent, cut into frames, in place
    /// of its bytes (shown in its client's encoding); `ended`: what its
    /// stream ended in.
    pub fn conn_sent_cuts(&mut self, conn: u32, cuts: &[Cut], owners: &Owners, ended: bool) {
        let encoding = self.encoding_of(owners.get(&conn).copied());
        self.cuts(Stream::ConnOut(conn), None, encoding, cuts, ended);
    }

    /// Adds what server connection `conn` received, cut into frames, in
    /// place of its bytes; `owners` says which client sent them.
    pub fn conn_cuts(&mut self, conn: u32, cuts: &[Cut], owners: &Owners) {
        let cause = owners
            .get(&conn)
            .and_then(|&i| self.window.block_clock(Stream::ClientOut(i)));
        self.cuts(Stream::ConnIn(conn), cause, Encoding::Utf8, cuts, false);
    }

    /// Writes client `index`'s released frames as windows of their own,
    /// after the current one.
    pub fn show_released_cuts(&mut self, index: usize, cuts: &[Cut], owners: &Owners) {
        if cuts.is_empty() {
            return;
        }
        self.close_window(owners);
        self.window.begin_batch();
        self.client_cuts(index, None, cuts);
        self.close_window(owners);
    }

    /// Adds each cut: a frame, junk or a partial frame as a line of the
    /// stream's frames in this window (`alone`: lines of their own, as what
    /// a stream ended in), where framing stopped a line that says why, then
    /// bytes as they came.
    pub(super) fn cuts(
        &mut self,
        stream: Stream,
        cause: Option<u32>,
        encoding: Encoding,
        cuts: &[Cut],
        alone: bool,
    ) {
        let group = if alone {
            Group::Frame(stream)
        } else {
            Group::Frames(stream)
        };
        for cut in cuts {
            let (head, bytes) = match cut {
                Cut::Frame(frame) => (format!("frame({}) ", frame.wire.len()), &frame.payload),
                Cut::Junk(junk) => (format!("junk({}) ", junk.bytes.len()), &junk.bytes),
                Cut::Partial(partial) => {
                    let head = match partial.expected {
                        Some(whole) => {
                            format!("partial frame({} of {whole}) ", partial.bytes.len())
                        }
                        None => format!("partial frame({}) ", partial.bytes.len()),
                    };
                    (head, &partial.bytes)
                }
                Cut::Failed { error, held } => {
                    let (track, text) = match stream {
                        Stream::ClientIn(i) => {
                            (Track::Client(i), format!("framing stopped: {error}"))
                        }
                        Stream::ConnIn(c) => (Track::Conn(c), format!("framing stopped: {error}")),
                        Stream::ClientOut(i) => (
                            Track::Client(i),
                            format!("what it sends is no longer framed: {error}"),
                        ),
                        Stream::ConnOut(c) => (
                            Track::Conn(c),
                            format!("what it sends is no longer framed: {error}"),
                        ),
                        Stream::Program(track, _) => (track, format!("framing stopped: {error}")),
                        Stream::ProxyOut(p, c, _) | Stream::ProxyDropped(p, c, _) => {
                            (Track::ProxyConn(p, c), format!("framing stopped: {error}"))
                        }
                    };
                    self.window.line(track, cause, text);
                    if !held.is_empty() {
                        self.window.bytes(stream, None, held, Show::Text(encoding));
                    }
                    continue;
                }
                Cut::Raw(data) => {
                    self.window.bytes(stream, cause, data, Show::Text(encoding));
                    continue;
                }
            };
            let text = format!("{head}{}", one_line(bytes, encoding, FRAME_SHOWN));
            self.window.grouped(group, cause, text, head.len());
        }
    }
}
