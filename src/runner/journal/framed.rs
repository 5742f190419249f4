//! Cuts what framed clients and a framed fake server receive into frames, connection by connection, and holds a client's frames back where its peer cannot be settled.
//!
//! Decoding is a fold over the event stream: each `Received` event's bytes
//! go through the connection's [`FrameStream`], so the frames are the same
//! however TCP cut the bytes, and a frame shows once, whole, in the window
//! its last byte came in. Where tcprun cannot settle the peer (a server
//! program, a server at `address:`), a client's frames are held and shown
//! where `expect_frame` takes them, or when the connection ends.

use std::collections::{HashMap, VecDeque};

use crate::event::{ClientEvent, ServerEvent};
use crate::framing::{Cut, DecodeError, FrameStream, FramingSpec};

/// Holds one framed client's decoding.
#[derive(Debug)]
struct ClientFrames {
    spec: FramingSpec,
    /// The current connection's stream, what the client received.
    stream: Option<FrameStream>,
    /// What the client sent on its current connection.
    sent: Option<FrameStream>,
    /// Cuts held back, each frame with its number (from 0, since the start).
    held: VecDeque<(Option<u64>, Cut)>,
    /// Frames cut so far.
    frames: u64,
}

/// Decodes every framed stream of a scenario.
#[derive(Debug, Default)]
pub struct Framed {
    clients: Vec<Option<ClientFrames>>,
    server: Option<FramingSpec>,
    conns: HashMap<u32, FrameStream>,
    /// What each server connection sent.
    sent: HashMap<u32, FrameStream>,
    /// Framing errors no step has failed on yet: who, and the error.
    errors: VecDeque<(String, DecodeError)>,
}

impl Framed {
    /// Creates the decoding of clients framed as `clients` says (by index),
    /// and of a fake server framed by `server`.
    pub fn new(clients: &[Option<FramingSpec>], server: Option<FramingSpec>) -> Self {
        Self {
            clients: clients
                .iter()
                .map(|spec| {
                    spec.clone().map(|spec| ClientFrames {
                        spec,
                        stream: None,
                        sent: None,
                        held: VecDeque::new(),
                        frames: 0,
                    })
                })
                .collect(),
            server,
            ..Self::default()
        }
    }

    /// Returns client `index`'s framing, if it has one.
    pub fn client_framing(&self, index: usize) -> Option<&FramingSpec> {
        self.clients.get(index)?.as_ref().map(|c| &c.spec)
    }

    /// Returns the fake server's framing, if it has one.
    pub fn server_framing(&self) -> Option<&FramingSpec> {
        self.server.as_ref()
    }

    /// Folds client `index`'s event; returns what it cut (nothing for a client without framing).
    pub fn client_event(&mut self, index: usize, name: &str, event: &ClientEvent) -> Vec<Cut> {
        let Some(Some(client)) = self.clients.get_mut(index) else {
            return Vec::new();
        };
        let mut cuts = Vec::new();
        match event {
            ClientEvent::Connected { .. } => client.stream = Some(FrameStream::new(&client.spec)),
            ClientEvent::Received { data } => {
                if let Some(stream) = &mut client.stream {
                    stream.push(data, &mut cuts);
                }
            }
            ClientEvent::PeerEnded | ClientEvent::Closed { .. } => {
                if let Some(stream) = &mut client.stream {
                    stream.finish(&mut cuts);
                }
            }
            _ => {}
        }
        self.note_errors(name, &cuts);
        cuts
    }

    /// Folds what client `index` sent on its current connection (a `Sent`
    /// event, or `Closed`: the end of it); returns what it cut.
    pub fn client_sent(&mut self, index: usize, event: &ClientEvent) -> Vec<Cut> {
        let Some(Some(client)) = self.clients.get_mut(index) else {
            return Vec::new();
        };
        let mut cuts = Vec::new();
        match event {
            ClientEvent::Connected { .. } => client.sent = Some(FrameStream::new(&client.spec)),
            ClientEvent::Sent { data, .. } => {
                if let Some(sent) = &mut client.sent {
                    sent.push(data, &mut cuts);
                }
            }
            ClientEvent::Closed { .. } => {
                if let Some(mut sent) = client.sent.take() {
                    sent.finish(&mut cuts);
                }
            }
            _ => {}
        }
        cuts
    }

    /// Folds what the fake server sent on a connection (a `Sent` event, or
    /// `Closed`: the end of it); returns what it cut.
    pub fn server_sent(&mut self, event: &ServerEvent) -> Vec<Cut> {
        let Some(spec) = &self.server else {
            return Vec::new();
        };
        let mut cuts = Vec::new();
        match event {
            ServerEvent::Accepted { conn, .. } => {
                self.sent.insert(*conn, FrameStream::new(spec));
            }
            ServerEvent::Sent { conn, data } => {
                if let Some(sent) = self.sent.get_mut(conn) {
                    sent.push(data, &mut cuts);
                }
            }
            ServerEvent::Closed { conn, .. } => {
                if let Some(mut sent) = self.sent.remove(conn) {
                    sent.finish(&mut cuts);
                }
            }
            _ => {}
        }
        cuts
    }

    /// Folds the fake server's event; returns what it cut (nothing without framing).
    pub fn server_event(&mut self, event: &ServerEvent) -> Vec<Cut> {
        let Some(spec) = &self.server else {
            return Vec::new();
        };
        let mut cuts = Vec::new();
        let conn = match event {
            ServerEvent::Accepted { conn, .. } => {
                self.conns.insert(*conn, FrameStream::new(spec));
                return cuts;
            }
            ServerEvent::Received { conn, data } => {
                if let Some(stream) = self.conns.get_mut(conn) {
                    stream.push(data, &mut cuts);
                }
                *conn
            }
            ServerEvent::PeerEnded { conn } | ServerEvent::Closed { conn, .. } => {
                if let Some(mut stream) = self.conns.remove(conn) {
                    stream.finish(&mut cuts);
                    // After its FIN, a connection may still close: nothing more comes in.
                    if matches!(event, ServerEvent::PeerEnded { .. }) {
                        self.conns.insert(*conn, stream);
                    }
                }
                *conn
            }
            _ => return cuts,
        };
        self.note_errors(&format!("the server (connection {conn})"), &cuts);
        cuts
    }

    fn note_errors(&mut self, who: &str, cuts: &[Cut]) {
        for cut in cuts {
            if let Cut::Failed { error, .. } = cut {
                self.errors.push_back((who.to_owned(), error.clone()));
            }
        }
    }

    /// Returns the oldest framing error no step has failed on yet, and forgets it.
    pub fn take_error(&mut self) -> Option<(String, DecodeError)> {
        self.errors.pop_front()
    }

    /// Holds client `index`'s cuts back until a step takes their frames.
    pub fn hold(&mut self, index: usize, cuts: Vec<Cut>) {
        let Some(Some(client)) = self.clients.get_mut(index) else {
            return;
        };
        for cut in cuts {
            let number = matches!(cut, Cut::Frame(_)).then(|| {
                client.frames += 1;
                client.frames - 1
            });
            client.held.push_back((number, cut));
        }
    }

    /// Releases client `index`'s held cuts up to the last frame before
    /// frame number `consumed` (what `expect_frame` took), with what came
    /// before it; `None`: everything held (the connection ended).
    pub fn release(&mut self, index: usize, consumed: Option<u64>) -> Vec<Cut> {
        let Some(Some(client)) = self.clients.get_mut(index) else {
            return Vec::new();
        };
        let upto = match consumed {
            None => client.held.len(),
            Some(consumed) => client
                .held
                .iter()
                .rposition(|(number, _)| number.is_some_and(|n| n < consumed))
                .map_or(0, |at| at + 1),
        };
        client.held.drain(..upto).map(|(_, cut)| cut).collect()
    }

    /// Returns how many bytes client `index` received on its current
    /// connection that are no whole frame yet.
    pub fn client_buffered(&self, index: usize) -> usize {
        self.clients
            .get(index)
            .and_then(|c| c.as_ref()?.stream.as_ref())
            .map_or(0, FrameStream::buffered)
    }

    /// Returns how many bytes connection `conn` received that are no whole frame yet.
    pub fn conn_buffered(&self, conn: u32) -> usize {
        self.conns.get(&conn).map_or(0, FrameStream::buffered)
    }

    /// Returns the indexes of the clients with cuts held.
    pub fn holding(&self) -> Vec<usize> {
        self.clients
            .iter()
            .enumerate()
            .filter(|(_, c)| c.as_ref().is_some_and(|c| !c.held.is_empty()))
            .map(|(index, _)| index)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    #[test]
    fn held_frames_are_released_through_the_frame_taken() {
        let mut framed = Framed::new(&[Some(FramingSpec::line())], None);
        let addr = "127.0.0.1:1".parse().unwrap();
        framed.client_event(
            0,
            "c",
            &ClientEvent::Connected {
                local: addr,
                peer: addr,
            },
        );
        let cuts = framed.client_event(
            0,
            "c",
            &ClientEvent::Received {
                data: Bytes::from_static(b"a\nb\nc"),
            },
        );
        assert_eq!(cuts.len(), 2);
        framed.hold(0, cuts);
        assert!(framed.release(0, Some(0)).is_empty());
        assert_eq!(framed.release(0, Some(1)).len(), 1);
        let end = framed.client_event(0, "c", &ClientEvent::PeerEnded);
        assert!(matches!(&end[..], [Cut::Partial(_)]));
        framed.hold(0, end);
        assert_eq!(framed.release(0, None).len(), 2);
        assert!(framed.holding().is_empty());
    }
}
