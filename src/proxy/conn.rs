//! Runs one proxied connection: dials the upstream, then forwards both directions with their faults until both ends close.
//!
//! One task runs both directions, so a reset, a cut or a fault change is
//! seen by both at once, between two chunks. Reporting follows the rules
//! the client and the fake server follow: what the connection does in
//! response to one stimulus (a read, a write done, a timer, a command, a
//! fault change) is one batch, reported before its effects reach a peer.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

use super::Shared;
use super::armed::{drawn, rng};
use super::flow::{BIG_READS, Flow};
use super::queue::{Action, Progress};
use super::reporter::{Reporter, ReporterGone};
use super::spec::Cut;
use crate::client::error::net_error;
use crate::event::NetError;
use crate::event::{Direction, ProxyEvent, Side};

/// Lists what the proxy asks of one connection.
#[derive(Debug)]
pub(super) enum ConnCommand {
    /// Reset both sides (`down reset`); fires once reported and done.
    Reset(oneshot::Sender<()>),
    /// Take on the faults in effect now; fires once what that changed is
    /// reported (a fault change has reached the connection).
    Sync(oneshot::Sender<()>),
}

/// Says what woke the connection up.
enum Stimulus {
    Shutdown,
    Command(Option<ConnCommand>),
    Faults(bool),
    Read(Direction, std::io::Result<usize>),
    Progress(Direction, Progress),
}

/// Lists what is done to the sockets once a batch is reported.
enum Deed {
    Shutdown(Side),
    Reset,
}

/// Says whether the connection goes on.
enum Next {
    Go,
    Stop,
}

/// Runs connection `conn`, accepted from `client`, until it ends.
pub(super) async fn run<R: Reporter>(
    shared: Arc<Shared<R>>,
    conn: u32,
    client: TcpStream,
    mut commands: mpsc::Receiver<ConnCommand>,
) {
    let _registered = Registered {
        shared: shared.clone(),
        conn,
    };
    let shutdown = shared.shutdown.clone();
    let dialed = tokio::select! {
        () = shutdown.cancelled() => return,
        Some(ConnCommand::Reset(done)) = commands.recv() => {
            abandon(&shared, conn, &client, None).await;
            let _ = done.send(());
            return;
        }
        dialed = dial(&shared.upstream.0, shared.upstream.1, shared.dial_timeout) => dialed,
    };
    let dialed = dialed.and_then(|server| {
        let upstream = server.peer_addr().map_err(|error| net_error(&error))?;
        let local = server.local_addr().map_err(|error| net_error(&error))?;
        Ok((server, local, upstream))
    });
    let (server, local, upstream) = match dialed {
        Ok(dialed) => dialed,
        Err(error) => {
            let failed = ProxyEvent::DialFailed { conn, error };
            abandon(&shared, conn, &client, Some(failed)).await;
            return;
        }
    };
    let _ = server.set_nodelay(true);
    let link = Link {
        conn,
        faults: shared.faults.subscribe(),
        shared,
        client,
        server,
        flows: [
            Flow::new(Direction::ToServer),
            Flow::new(Direction::ToClient),
        ],
        commands,
        commands_open: true,
        faults_open: true,
        seen: 0,
        batch: vec![ProxyEvent::Dialed {
            conn,
            local,
            upstream,
        }],
        timers: Vec::new(),
        states: [None; 2],
        shutdown,
    };
    let _ = link.run().await;
}

/// Removes the connection from the proxy's registry when its task ends.
struct Registered<R: Reporter> {
    shared: Arc<Shared<R>>,
    conn: u32,
}

impl<R: Reporter> Drop for Registered<R> {
    fn drop(&mut self) {
        if let Ok(mut registry) = self.shared.registry.lock() {
            registry.conns.remove(&self.conn);
        }
    }
}

/// Ends connection `conn` before it is linked to the upstream (a failed
/// dial, a reset while dialing): reports it, then resets the client.
async fn abandon<R: Reporter>(
    shared: &Shared<R>,
    conn: u32,
    client: &TcpStream,
    first: Option<ProxyEvent>,
) {
    let mut events: Vec<ProxyEvent> = first.into_iter().collect();
    events.push(ProxyEvent::RstSent {
        conn,
        side: Side::Client,
    });
    events.push(ProxyEvent::Closed {
        conn,
        to_server: 0,
        to_client: 0,
    });
    if shared.reporter.report(events).await.is_ok() {
        reset(client);
    }
}

/// Connects to the first address of `host:port` that answers within `timeout`.
async fn dial(host: &str, port: u16, timeout: Duration) -> Result<TcpStream, NetError> {
    let attempt = async {
        let addrs = tokio::net::lookup_host((host, port))
            .await
            .map_err(|error| crate::client::error::not_found(host, Some(&error)))?;
        let mut last = crate::client::error::not_found(host, None);
        for addr in addrs {
            match TcpStream::connect(addr).await {
                Ok(stream) => return Ok(stream),
                Err(error) => last = net_error(&error),
            }
        }
        Err(last)
    };
    tokio::time::timeout(timeout, attempt)
        .await
        .unwrap_or_else(|_| Err(crate::client::error::timed_out(timeout)))
}

/// Makes closing `stream` send RST instead of FIN.
fn reset(stream: &TcpStream) {
    let _ = socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO));
}

/// Holds a connection with both ends open.
struct Link<R: Reporter> {
    conn: u32,
    shared: Arc<Shared<R>>,
    client: TcpStream,
    server: TcpStream,
    /// To the server, then to the client.
    flows: [Flow<R::Wait>; 2],
    commands: mpsc::Receiver<ConnCommand>,
    commands_open: bool,
    faults: watch::Receiver<super::Table>,
    faults_open: bool,
    /// The highest fault number considered so far.
    seen: u64,
    /// Events of the stimulus being handled, not yet reported.
    batch: Vec<ProxyEvent>,
    /// Timers the stimulus asks for, started when the batch is reported.
    timers: Vec<(Duration, Direction)>,
    /// The state of each direction as last reported: (read, writing, reading).
    states: [Option<(u64, bool, bool)>; 2],
    shutdown: CancellationToken,
}

impl<R: Reporter> Drop for Link<R> {
    /// Gives the big buffers back to the proxy's budget.
    fn drop(&mut self) {
        let big = self.flows.iter().filter(|flow| flow.big).count();
        self.shared.big_reads.fetch_sub(big, Ordering::AcqRel);
    }
}

fn index(direction: Direction) -> usize {
    match direction {
        Direction::ToServer => 0,
        Direction::ToClient => 1,
    }
}

impl<R: Reporter> Link<R> {
    async fn run(mut self) -> Result<(), ReporterGone> {
        self.take_faults();
        if let Next::Stop = self.settle().await? {
            return Ok(());
        }
        loop {
            let next = match self.next().await {
                Stimulus::Shutdown => Next::Stop,
                Stimulus::Command(None) => {
                    self.commands_open = false;
                    Next::Go
                }
                Stimulus::Command(Some(ConnCommand::Reset(done))) => {
                    self.reset_both().await?;
                    let _ = done.send(());
                    Next::Stop
                }
                Stimulus::Command(Some(ConnCommand::Sync(done))) => {
                    self.take_faults();
                    let next = self.settle().await?;
                    let _ = done.send(());
                    next
                }
                Stimulus::Faults(open) => {
                    self.faults_open = open;
                    if open {
                        self.take_faults();
                    }
                    self.settle().await?
                }
                Stimulus::Read(direction, Ok(0)) => {
                    self.batch.push(ProxyEvent::FinSeen {
                        conn: self.conn,
                        side: direction.from(),
                    });
                    self.flows[index(direction)].end();
                    self.settle().await?
                }
                Stimulus::Read(direction, Ok(n)) => {
                    let flow = &mut self.flows[index(direction)];
                    let dropped = flow.read(n);
                    if flow.wants_big() {
                        flow.big = self
                            .shared
                            .big_reads
                            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |big| {
                                (big < BIG_READS).then_some(big + 1)
                            })
                            .is_ok();
                    }
                    if let Some(data) = dropped {
                        self.batch.push(ProxyEvent::Dropped {
                            conn: self.conn,
                            direction,
                            data,
                        });
                    }
                    self.settle().await?
                }
                Stimulus::Read(direction, Err(error)) => {
                    self.broken(direction.from(), &error).await?
                }
                Stimulus::Progress(direction, Progress::Wrote(Ok(n))) => {
                    self.flows[index(direction)].out.wrote(n);
                    self.settle().await?
                }
                Stimulus::Progress(direction, Progress::Wrote(Err(error))) => {
                    self.broken(direction.to(), &error).await?
                }
                Stimulus::Progress(direction, Progress::Waited) => {
                    self.flows[index(direction)].out.waited();
                    self.settle().await?
                }
            };
            if let Next::Stop = next {
                return Ok(());
            }
            // What the stimulus caused is reported: waits that ended may go.
            for flow in &mut self.flows {
                flow.out.release_over();
            }
        }
    }

    /// Waits for the next stimulus.
    async fn next(&mut self) -> Stimulus {
        let [to_server, to_client] = &mut self.flows;
        for flow in [&mut *to_server, &mut *to_client] {
            if flow.can_read() {
                flow.prepare_read();
            }
        }
        let (read_server, read_client) = (to_server.can_read(), to_client.can_read());
        let (busy_server, busy_client) = (to_server.out.busy(), to_client.out.busy());
        let (mut client_reader, mut client_writer) = self.client.split();
        let (mut server_reader, mut server_writer) = self.server.split();
        use tokio::io::AsyncReadExt;
        tokio::select! {
            biased;
            () = self.shutdown.cancelled() => Stimulus::Shutdown,
            command = self.commands.recv(), if self.commands_open => Stimulus::Command(command),
            changed = self.faults.changed(), if self.faults_open => Stimulus::Faults(changed.is_ok()),
            progress = to_server.out.progress(&mut server_writer), if busy_server => {
                Stimulus::Progress(Direction::ToServer, progress)
            }
            progress = to_client.out.progress(&mut client_writer), if busy_client => {
                Stimulus::Progress(Direction::ToClient, progress)
            }
            read = client_reader.read_buf(&mut to_server.buf), if read_server => {
                Stimulus::Read(Direction::ToServer, read)
            }
            read = server_reader.read_buf(&mut to_client.buf), if read_client => {
                Stimulus::Read(Direction::ToClient, read)
            }
        }
    }

    /// Takes on the faults added since the last look, and forgets the cleared ones.
    fn take_faults(&mut self) {
        let table = self.faults.borrow_and_update().clone();
        for flow in &mut self.flows {
            flow.forget(|id| table.iter().any(|fault| fault.id == id));
        }
        let seed = self.shared.seed;
        for fault in table.iter().filter(|fault| fault.id > self.seen) {
            let spec = &fault.spec;
            if spec.connection.is_some_and(|n| n != self.conn)
                || !drawn(seed, fault.id, self.conn, spec.probability)
            {
                continue;
            }
            for flow in &mut self.flows {
                if spec.directions.covers(flow.direction) {
                    let rng = rng(seed, fault.id, self.conn, flow.direction);
                    flow.adopt(fault.clone(), rng);
                }
            }
        }
        self.seen = table.iter().map(|fault| fault.id).fold(self.seen, u64::max);
    }

    /// Decides what can be decided, starts what can start, reports it all
    /// as one batch, then acts on the sockets.
    async fn settle(&mut self) -> Result<Next, ReporterGone> {
        let conn = self.conn;
        let now = self.shared.reporter.now();
        let mut deeds = Vec::new();
        for flow in &mut self.flows {
            flow.settle(conn, &mut self.batch, now);
        }
        loop {
            let mut acted = false;
            for direction in Direction::BOTH {
                loop {
                    let mut timers = Vec::new();
                    let forwarded = |data| ProxyEvent::Forwarded {
                        conn,
                        direction,
                        data,
                    };
                    let action = self.flows[index(direction)].out.stage(
                        forwarded,
                        &mut self.batch,
                        &mut timers,
                        now,
                    );
                    self.timers
                        .extend(timers.into_iter().map(|delay| (delay, direction)));
                    let Some(action) = action else {
                        break;
                    };
                    acted = true;
                    if self.act(direction, action, &mut deeds) {
                        return self.finish(deeds).await;
                    }
                }
            }
            if !acted {
                break;
            }
        }
        if self.flows.iter().all(Flow::is_done) {
            self.batch.push(self.closed());
            return self.finish(deeds).await;
        }
        self.note_states();
        self.flush().await?;
        self.carry_out(&deeds);
        Ok(Next::Go)
    }

    /// Adds the state of each direction that changed since it was last reported.
    fn note_states(&mut self) {
        for (flow, last) in self.flows.iter().zip(&mut self.states) {
            let state = (flow.read_total(), flow.out.writing(), flow.can_read());
            if *last != Some(state) {
                *last = Some(state);
                self.batch.push(ProxyEvent::DirectionState {
                    conn: self.conn,
                    direction: flow.direction,
                    read: state.0,
                    writing: state.1,
                    reading: state.2,
                });
            }
        }
    }

    /// Turns a queue's FIN or cut into events and deeds; returns true when
    /// the connection ends with it (a reset).
    fn act(&mut self, direction: Direction, action: Action, deeds: &mut Vec<Deed>) -> bool {
        let conn = self.conn;
        let cut = match action {
            Action::Fin => None,
            Action::Cut(cut, events) => {
                self.batch.extend(events);
                Some(cut)
            }
        };
        if cut == Some(Cut::Reset) {
            self.batch.extend(self.resets());
            deeds.push(Deed::Reset);
            return true;
        }
        let flow = &mut self.flows[index(direction)];
        if !flow.fin_passed {
            flow.fin_passed = true;
            self.batch.push(ProxyEvent::FinPassed {
                conn,
                side: direction.to(),
            });
            deeds.push(Deed::Shutdown(direction.to()));
        }
        if cut == Some(Cut::Fin) {
            // FIN both ways: the other direction ends after what it has queued.
            let other = Direction::reading(direction.to());
            self.flows[index(other)].close_after_cut(conn, &mut self.batch);
        }
        false
    }

    /// Reports the batch (and ends the connection): the last stimulus closes it.
    async fn finish(&mut self, deeds: Vec<Deed>) -> Result<Next, ReporterGone> {
        self.timers.clear();
        self.flush().await?;
        self.carry_out(&deeds);
        Ok(Next::Stop)
    }

    /// Resets both sides at once (`down reset`).
    async fn reset_both(&mut self) -> Result<(), ReporterGone> {
        self.batch.extend(self.resets());
        self.finish(vec![Deed::Reset]).await.map(drop)
    }

    /// Handles a broken socket on `side`: a reset is passed on as a reset.
    async fn broken(&mut self, side: Side, error: &std::io::Error) -> Result<Next, ReporterGone> {
        let error = net_error(error);
        let conn = self.conn;
        self.batch.push(match error.code.as_str() {
            "ECONNRESET" | "EPIPE" => ProxyEvent::RstSeen { conn, side },
            _ => ProxyEvent::Failed { conn, side, error },
        });
        self.batch.push(ProxyEvent::RstSent {
            conn,
            side: side.other(),
        });
        self.batch.push(self.closed());
        self.finish(vec![Deed::Reset]).await
    }

    fn resets(&self) -> [ProxyEvent; 3] {
        let conn = self.conn;
        [
            ProxyEvent::RstSent {
                conn,
                side: Side::Client,
            },
            ProxyEvent::RstSent {
                conn,
                side: Side::Server,
            },
            self.closed(),
        ]
    }

    fn closed(&self) -> ProxyEvent {
        ProxyEvent::Closed {
            conn: self.conn,
            to_server: self.flows[0].out.written,
            to_client: self.flows[1].out.written,
        }
    }

    /// Reports the batch, starting the timers it asked for.
    async fn flush(&mut self) -> Result<(), ReporterGone> {
        let events = std::mem::take(&mut self.batch);
        if self.timers.is_empty() {
            if !events.is_empty() {
                self.shared.reporter.report(events).await?;
            }
            return Ok(());
        }
        let mut events = Some(events);
        for (delay, direction) in std::mem::take(&mut self.timers) {
            let batch = events.take().unwrap_or_default();
            let wait = self.shared.reporter.report_then_wait(batch, delay).await?;
            self.flows[index(direction)].out.place(Box::pin(wait));
        }
        Ok(())
    }

    fn carry_out(&self, deeds: &[Deed]) {
        for deed in deeds {
            match deed {
                Deed::Shutdown(side) => {
                    let stream = match side {
                        Side::Client => &self.client,
                        Side::Server => &self.server,
                    };
                    let _ = socket2::SockRef::from(stream).shutdown(std::net::Shutdown::Write);
                }
                Deed::Reset => {
                    reset(&self.client);
                    reset(&self.server);
                }
            }
        }
    }
}
