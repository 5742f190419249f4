//! Dials one address of a connect attempt: bounded by the connect timeout,
//! on the wall clock, or on the scenario's clock where the fake server drops SYNs.
//!
//! A connect to a port that drops SYNs (`blackhole_server`) gets no answer:
//! nothing is in flight that tcprun could wait for, so the connect timeout
//! is a wait on the scenario's clock, asked for with the `NoAnswer` event
//! (as retry delays are asked for), and with built-in peers it fires when
//! the conversation is settled, at once. When the port answers again
//! (`start_server`, `kill_server`, `stop_server`), the dropped SYN is given
//! up and the address dialed again, as the client's next SYN would find it,
//! within the same timeout: in its turn on the scenario's clock (the
//! `Redialing` event asks for a wait of zero), so that clients whose SYNs
//! were dropped connect one at a time, in client order, as retries do.
//! Everywhere else the timeout is a wall-clock one.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpSocket, TcpStream};

use super::error::{net_error, timed_out};
use crate::event::{ClientEvent, Emitter, NetError, StreamClosed};
use crate::server::Blackholes;

/// Dials the addresses of one attempt, one at a time.
pub(super) struct Dial {
    /// Bounds each address's connect.
    pub timeout: Duration,
    /// Where the fake server drops SYNs, if the client runs in a scenario.
    pub blackholes: Option<Blackholes>,
    /// Asks the scenario's clock for the wait of a connect that gets no answer.
    pub emitter: Emitter,
    /// SO_RCVBUF, set before connecting.
    pub receive_buffer: Option<usize>,
}

impl Dial {
    /// Connects to `addr`; fails with the connect's error, or `ETIMEDOUT`
    /// once the timeout has passed.
    pub(super) async fn connect(
        &mut self,
        addr: SocketAddr,
    ) -> Result<Result<TcpStream, NetError>, StreamClosed> {
        let timeout = self.timeout;
        let Some(blackholes) = self.blackholes.as_mut().filter(|b| b.drops(addr)) else {
            return Ok(
                match tokio::time::timeout(timeout, open(addr, self.receive_buffer)).await {
                    Ok(Ok(stream)) => Ok(stream),
                    Ok(Err(error)) => Err(net_error(&error)),
                    Err(_) => Err(timed_out(timeout)),
                },
            );
        };
        let no_answer = vec![ClientEvent::NoAnswer { addr }];
        let wait = self.emitter.emit_then_wait(no_answer, timeout).await?;
        tokio::pin!(wait);
        // The SYN goes out, and is dropped. When the port answers again,
        // that connect is given up (its socket closed, so that the kernel
        // does not retry it on its own): the next SYN goes out in its turn.
        tokio::select! {
            result = open(addr, self.receive_buffer) => return Ok(result.map_err(|error| net_error(&error))),
            () = &mut wait => return Ok(Err(timed_out(timeout))),
            () = blackholes.answered(addr) => {}
        }
        let redial = vec![ClientEvent::Redialing { addr }];
        let turn = self.emitter.emit_then_wait(redial, Duration::ZERO).await?;
        tokio::select! {
            () = &mut wait => return Ok(Err(timed_out(timeout))),
            () = turn => {}
        }
        tokio::select! {
            result = open(addr, self.receive_buffer) => Ok(result.map_err(|error| net_error(&error))),
            () = &mut wait => Ok(Err(timed_out(timeout))),
        }
    }
}

/// Opens a connection to `addr`, with a receive buffer of `receive_buffer`
/// bytes (SO_RCVBUF, set before the SYN so that the window it offers is small).
async fn open(addr: SocketAddr, receive_buffer: Option<usize>) -> std::io::Result<TcpStream> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(size) = receive_buffer {
        socket2::SockRef::from(&socket).set_recv_buffer_size(size)?;
    }
    socket.connect(addr).await
}
