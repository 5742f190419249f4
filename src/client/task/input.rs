//! Takes what a client is told: commands (data to send, end, quit), queued
//! while it is not connected, and control orders, which reach it at any
//! time (an abort, pausing or resuming its reads).

use std::sync::Arc;

use bytes::Bytes;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::oneshot;

use super::{Ack, Chunk, ClientTask, Ending, Finish, Held};
use crate::client::{Command, Control, Delivery, Outcome};
use crate::event::{ClientEvent, CloseReason, StreamClosed};

impl ClientTask {
    /// Takes one control order (an abort only while there is no connection).
    pub(super) fn order(&mut self, control: Option<Control>) {
        match control {
            None => self.control_open = false,
            Some(Control::Abort { ack, .. }) => self.acks.push(Ack::Told(ack, false)),
            Some(Control::PauseReading { ack }) => self.pause(true, ack),
            Some(Control::ResumeReading { ack }) => self.pause(false, ack),
            Some(Control::Start { ack }) => {
                self.started = true;
                self.acks.push(Ack::Taken(ack));
            }
        }
    }

    /// Waits until the client may connect (made with `start` false, until
    /// told to), taking data to hold for its first connection and orders
    /// meanwhile. Returns how it ended if it stops before that.
    pub(super) async fn wait_for_start(&mut self) -> Result<Option<Outcome>, StreamClosed> {
        while !self.started {
            tokio::select! {
                _ = self.shutdown.cancelled() => return Ok(Some(self.stopped().await)),
                command = self.commands.recv(), if self.accepts_input() => {
                    self.take(command, false);
                    self.flush().await?;
                    if self.quit_with_nothing_held() {
                        return Ok(Some(Outcome::Quit));
                    }
                }
                control = self.control.recv(), if self.control_open => {
                    self.order(control);
                    self.flush().await?;
                }
            }
        }
        Ok(None)
    }

    /// Stops reading the socket, or reads it again; says so when that changes.
    fn pause(&mut self, pause: bool, ack: oneshot::Sender<()>) {
        if self.paused != pause {
            self.paused = pause;
            self.batch.push(if pause {
                ClientEvent::ReadingPaused
            } else {
                ClientEvent::ReadingResumed
            });
        }
        self.acks.push(Ack::Taken(ack));
    }

    /// Aborts the connection: reports the abort and the close, and keeps
    /// the socket, set to send RST when it is dropped, until they are reported.
    pub(super) fn abort(
        &mut self,
        reader: OwnedReadHalf,
        writer: OwnedWriteHalf,
        reconnect: bool,
        ended: bool,
    ) -> Ending {
        self.aborted = Some(reconnect);
        self.batch.push(ClientEvent::Abort { reconnect });
        self.batch.push(ClientEvent::Closed {
            reason: CloseReason::Aborted,
            written: self.written,
        });
        // Whole again, so that no half sends a FIN of its own when dropped.
        let socket = reader.reunite(writer).ok().map(|stream| {
            let _ = socket2::SockRef::from(&stream).set_linger(Some(std::time::Duration::ZERO));
            Held::Aborted { _stream: stream }
        });
        Ending::Closed {
            reason: CloseReason::Aborted,
            ended,
            socket,
        }
    }

    /// Takes one command. `connected` tells whether a write can go out now.
    pub(super) fn take(&mut self, command: Option<Command>, connected: bool) {
        match command {
            None => self.commands_open = false,
            Some(Command::Write { data, summary, ack }) => {
                self.push(data, summary, ack, connected);
            }
            Some(Command::End { data, ack }) => {
                if let Some(data) = data {
                    self.push(data, None, None, connected);
                }
                self.finish = Finish::End;
                self.acks.extend(ack.map(Ack::Taken));
            }
            Some(Command::Quit { ack }) => {
                self.finish = Finish::Quit;
                self.batch.push(ClientEvent::Quit);
                self.acks.extend(ack.map(Ack::Taken));
            }
        }
    }

    /// Queues `data` to send, shown as `summary` when given; `connected`
    /// tells whether it can go out now.
    fn push(
        &mut self,
        data: Bytes,
        summary: Option<Arc<str>>,
        ack: Option<oneshot::Sender<Delivery>>,
        connected: bool,
    ) {
        if data.is_empty() {
            self.acks
                .extend(ack.map(|tx| Ack::Delivered(tx, Delivery::Written)));
            return;
        }
        let (ack, written) = if connected {
            (ack, None)
        } else {
            self.batch.push(ClientEvent::Queued { data: data.clone() });
            let (tx, rx) = oneshot::channel();
            self.acks
                .extend(ack.map(|ack| Ack::Delivered(ack, Delivery::Queued(rx))));
            (None, Some(tx))
        };
        self.pending_bytes += data.len();
        self.pending.push_back(Chunk {
            data,
            offset: 0,
            summary,
            announced: false,
            written,
            ack,
        });
    }
}
