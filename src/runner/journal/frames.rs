//! Folds framed streams: each framed client's and the fake server's frames, a rules server's verdicts, and framing errors.

use super::{ClientEvent, DecodeError, Framed, FramingSpec, Journal};

impl Journal {
    /// Cuts what the fake server receives into frames by `spec`, from now
    /// on; `rules`: it is a rules server, whose verdict on each frame
    /// (`rule ehlo (smtp.yaml:7) matched "EHLO x"`) shows the frame.
    pub fn frame_server(&mut self, spec: FramingSpec, rules: bool) {
        self.rules = rules;
        let clients: Vec<Option<FramingSpec>> = (0..self.state.clients().len())
            .map(|index| self.framed.client_framing(index).cloned())
            .collect();
        self.framed = Framed::new(&clients, Some(spec));
    }

    /// Returns client `index`'s framing, if it has one.
    pub fn client_framing(&self, index: usize) -> Option<&FramingSpec> {
        self.framed.client_framing(index)
    }

    /// Returns how many bytes client `index` received that are no whole frame yet.
    pub fn client_frame_buffered(&self, index: usize) -> usize {
        self.framed.client_buffered(index)
    }

    /// Returns how many bytes server connection `conn` received that are no whole frame yet.
    pub fn conn_frame_buffered(&self, conn: u32) -> usize {
        self.framed.conn_buffered(conn)
    }

    /// Returns the fake server's framing, if it has one.
    pub fn server_framing(&self) -> Option<&FramingSpec> {
        self.framed.server_framing()
    }

    /// Returns the oldest framing error no step has failed on yet (who, and
    /// the error), and forgets it.
    pub fn take_framing_error(&mut self) -> Option<(String, DecodeError)> {
        self.framed.take_error()
    }

    /// Folds a framed client's event: its frames for `expect_frame`, and
    /// in the transcript its frames in place of its received bytes (held
    /// until a step takes them, where its peer cannot be settled).
    pub(super) fn client_frames(&mut self, index: usize, conn: Option<u32>, event: &ClientEvent) {
        let cuts = self
            .framed
            .client_event(index, &self.state.client(index).name, event);
        let frames = &mut self.state.client_mut(index).frames;
        let ended = matches!(event, ClientEvent::PeerEnded | ClientEvent::Closed { .. });
        match event {
            ClientEvent::Connected { .. } => frames.restart(),
            _ => frames.add(&cuts),
        }
        if ended {
            frames.end();
        }
        if self.hold_received {
            self.framed.hold(index, cuts);
            if ended {
                let released = self.framed.release(index, None);
                self.record.client_end_cuts(index, conn, event, &released);
            }
        } else if ended {
            self.record.client_end_cuts(index, conn, event, &cuts);
        } else {
            self.record.client_cuts(index, conn, &cuts);
        }
        // What it sends shows as frames too; what its sends ended in, before its close.
        let sent = self.framed.client_sent(index, event);
        let closed = matches!(event, ClientEvent::Closed { .. });
        if closed {
            self.record.client_sent_cuts(index, &sent, true);
        }
        match event {
            ClientEvent::Received { .. } => {}
            ClientEvent::Sent { .. } => self.record.client_sent_cuts(index, &sent, false),
            _ => self.record.client(index, conn, event),
        }
    }

    /// Shows a rules server's received cuts still due on `conn`.
    pub(super) fn show_due(&mut self, conn: u32) {
        if let Some(due) = self.verdicts_due.remove(&conn) {
            let due: Vec<crate::framing::Cut> = due.into();
            self.record
                .conn_cuts(conn, &due, &self.state.server().conn_client);
        }
    }

    /// Shows what comes before the frame a rules server's verdict is about,
    /// and drops that frame: the verdict's line shows it.
    pub(super) fn before_verdict(&mut self, conn: u32) {
        let Some(due) = self.verdicts_due.get_mut(&conn) else {
            return;
        };
        let mut before = Vec::new();
        while let Some(cut) = due.pop_front() {
            if matches!(cut, crate::framing::Cut::Frame(_)) {
                break;
            }
            before.push(cut);
        }
        if due.is_empty() {
            self.verdicts_due.remove(&conn);
        }
        self.record
            .conn_cuts(conn, &before, &self.state.server().conn_client);
    }
}
