//! Folds the event stream into what steps wait on, what is in flight, held program output and the transcript: one part each, fed event by event.

mod flight;
mod framed;
mod frames;
mod held;
mod proxied;
mod proxies;
mod state;

use crate::client::encoding::Encoding;
use crate::event::{
    ClientEvent, Direction, Event, ProgramEvent, ProxyEvent, Report, ServerEvent, Side, Source,
};
use crate::framing::{DecodeError, FramingSpec};
use crate::scenario::FakeKind;
use crate::transcript::{Actor, ProxyShown, Recorder, Scope, Track};
use flight::{Flight, Joined};
use framed::Framed;
use held::{HeldOutput, Released};
use proxies::ProxyHeld;
pub use proxies::{ProxyInfo, ProxyState};
use state::State;
pub use state::{ClientState, ServerState};

/// Describes a client for the journal: name, encoding, and whether it is a program.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    /// The client's name.
    pub name: String,
    /// How its received bytes (or stdout) are decoded.
    pub encoding: Encoding,
    /// A program client; `Some(true)` when its stderr joins its output.
    pub program: Option<bool>,
    /// A built-in client reconnects after a lost or refused connection.
    pub reconnect: bool,
    /// A built-in client's `framing:`: what it receives is cut into frames.
    pub framing: Option<FramingSpec>,
}

/// Folds reports into state and transcript.
#[derive(Debug)]
pub struct Journal {
    state: State,
    flight: Flight,
    held: HeldOutput,
    record: Recorder,
    /// tcprun does not see the server's side (a program or an external
    /// server): what built-in clients receive is held until a step consumes it.
    hold_received: bool,
    /// The framed streams, cut into frames.
    framed: Framed,
    /// A rules server: each frame it receives shows as the rules' verdict on it.
    rules: bool,
    /// A client program's connections whose end (seen from a framed fake
    /// server) is held back until the program exits.
    ends_aside: std::collections::BTreeSet<u32>,
    /// A rules server's received cuts not shown yet, by connection: the
    /// verdicts later in the batch show the frames.
    verdicts_due: std::collections::HashMap<u32, std::collections::VecDeque<crate::framing::Cut>>,
    /// What each proxy passed through, what fired on it.
    proxies: Vec<ProxyState>,
    /// What proxies said about what an upstream tcprun cannot see sent.
    proxy_held: ProxyHeld,
}

impl Journal {
    /// Creates a journal for these clients and server (`server_output`: a
    /// server program's output goes into the transcript; `port` is shown
    /// as `${port}`).
    pub fn new(
        clients: &[ClientInfo],
        fake: Option<FakeKind>,
        server_output: bool,
        port: u16,
    ) -> Self {
        let actors = clients
            .iter()
            .map(|info| Actor {
                name: info.name.clone(),
                encoding: info.encoding,
                program: info.program.is_some(),
            })
            .collect();
        Self {
            state: State::new(clients),
            flight: Flight::new(clients.len(), fake.is_some(), Vec::new()),
            held: HeldOutput::new(clients.len(), server_output),
            record: Recorder::new(actors, fake == Some(FakeKind::Sink), port),
            hold_received: fake.is_none(),
            framed: Framed::new(
                &clients
                    .iter()
                    .map(|c| c.framing.clone())
                    .collect::<Vec<_>>(),
                None,
            ),
            rules: false,
            ends_aside: std::collections::BTreeSet::new(),
            verdicts_due: std::collections::HashMap::new(),
            proxies: Vec::new(),
            proxy_held: ProxyHeld::default(),
        }
    }

    /// Returns how client `index`'s received bytes are shown.
    pub fn client_encoding(&self, index: usize) -> crate::client::encoding::Encoding {
        self.record.encoding(index)
    }

    /// Notes that server connection `conn`'s rule delay is over: it is busy until it reports.
    pub fn wake_conn(&mut self, conn: u32) {
        self.flight.wake_conn(conn);
    }

    /// Returns true when the fake server's connections count (there is one).
    fn flight_both_ends(&self) -> bool {
        !self.hold_received
    }

    /// Shows `value` as `${name}` in the transcript from now on, and in what
    /// was already written, where `scope` says: a captured value in payload
    /// bytes only, `${tmp}` everywhere.
    pub fn mask_value(&mut self, name: &str, value: &str, scope: Scope) {
        self.record.mask_value(name, value, scope);
    }

    /// Shows a secret's `value` as `***` everywhere in the transcript.
    pub fn hide_secret(&mut self, value: &str) {
        self.record.hide_secret(value);
    }

    /// Returns a failure message with every secret as `***`, the port as
    /// `${port}` and the scenario's folder masked, as the transcript shows them.
    pub fn hide(&self, text: &str) -> String {
        self.record.hide(text)
    }

    /// Returns client `index`'s state.
    pub fn client(&self, index: usize) -> &ClientState {
        self.state.client(index)
    }

    /// Returns client `index`'s state for `expect` to consume from.
    pub fn client_mut(&mut self, index: usize) -> &mut ClientState {
        self.state.client_mut(index)
    }

    /// Returns how client `index`'s connections closed, in order (a
    /// program's: as the server saw the connections no built-in client owns).
    pub fn closes_of(&self, index: usize) -> &[crate::event::CloseReason] {
        let client = self.client(index);
        if client.program {
            &self.server().unowned_closes
        } else {
            &client.closes
        }
    }

    /// Returns the server's state.
    pub fn server(&self) -> &ServerState {
        self.state.server()
    }

    /// Returns the server's state for `server_expect` to consume from.
    pub fn server_mut(&mut self) -> &mut ServerState {
        self.state.server_mut()
    }

    /// Returns the server connection of client `index`'s current connection.
    pub fn conn_of_client(&self, index: usize) -> Option<u32> {
        self.flight.conn_of_client(index)
    }

    /// Returns true when server connection `conn`'s client does not read
    /// (`pause_reading`): a write to it may block until it reads again.
    pub fn reading_paused(&self, conn: u32) -> bool {
        self.flight.reading_paused(conn)
    }

    /// Notes that client `index`'s timer fired: it is busy until it reports.
    pub fn wake(&mut self, index: usize) {
        self.flight.wake(index);
    }

    /// Returns true when nothing is in flight: every connection settled, no
    /// attempt under way, no woken client still to report.
    pub fn settled(&self) -> bool {
        self.flight.settled()
    }

    /// Describes what keeps the conversation from settling, for timeouts.
    pub fn unsettled(&self) -> Vec<String> {
        let clients = self.state.clients();
        self.flight.unsettled(|index| clients[index].name.as_str())
    }

    /// Returns the transcript so far (closed windows only).
    pub fn transcript(&self) -> Vec<String> {
        self.record.lines()
    }

    /// Returns the transcript lines not returned before, to stream them live.
    pub fn unstreamed(&mut self) -> Vec<String> {
        self.record.unstreamed()
    }

    /// Moves program output that steps consumed into the transcript: after
    /// everything folded so far, and before anything folded later.
    pub fn sync_programs(&mut self) {
        let released = self.held.release_consumed(&self.state);
        let proxied = self.release_proxy_received();
        self.show_proxy(proxied);
        self.show(released);
        for index in self.framed.holding() {
            let consumed = self.state.client(index).frames.consumed();
            let cuts = self.framed.release(index, Some(consumed));
            let owners = &self.state.server().conn_client;
            self.record.show_released_cuts(index, &cuts, owners);
        }
    }

    /// Moves every program's held output into the transcript (the scenario ends).
    pub fn release_programs(&mut self) {
        self.record.release_aside(&self.state.server().conn_client);
        let proxied = self.proxy_held.release_all();
        self.show_proxy(proxied);
        let released = self.held.release_all();
        self.show(released);
        for index in self.framed.holding() {
            let cuts = self.framed.release(index, None);
            let owners = &self.state.server().conn_client;
            self.record.show_released_cuts(index, &cuts, owners);
        }
    }

    /// Writes released program output as windows of its own, after the current one.
    fn show(&mut self, released: Released) {
        let owners = &self.state.server().conn_client;
        self.record.show_released(released, owners);
    }

    /// Closes the current window and appends its lines to the transcript.
    pub fn close_window(&mut self) {
        self.record.close_window(&self.state.server().conn_client);
    }

    /// Folds one report.
    pub fn apply(&mut self, report: &Report) {
        // A framed fake server's report about a client program's connection
        // is a window of its own: tcprun cannot settle the program's side,
        // so windows would otherwise end where reports happen to be
        // drained; the server's reports come in an order of their own.
        let own_window = self.program_conn_report(report);
        let aside = own_window && self.program_end(report);
        if aside {
            self.record.begin_aside();
        } else if own_window {
            self.close_window();
        }
        self.apply_report(report);
        if aside {
            self.record.end_aside();
        } else if own_window {
            self.close_window();
        }
    }

    /// Returns true for a report about the end of the lone client program's
    /// connection, begun by the program (its FIN or reset), or what follows
    /// it: held back until the program exits, since which of the two tcprun
    /// hears of first is a matter of timing.
    fn program_end(&mut self, report: &Report) -> bool {
        if self.state.clients().iter().filter(|c| c.program).count() != 1 {
            return false;
        }
        let mut conns = report.events.iter().filter_map(|event| match event {
            Event::Server(event) => server_conn(event),
            _ => None,
        });
        let Some(conn) = conns.next() else {
            return false;
        };
        let begins = match report.events.first() {
            Some(Event::Server(ServerEvent::PeerEnded { .. })) => true,
            Some(Event::Server(ServerEvent::Closed { reason, .. })) => {
                matches!(
                    reason,
                    crate::event::CloseReason::Reset | crate::event::CloseReason::Error(_)
                )
            }
            _ => false,
        };
        if begins {
            self.ends_aside.insert(conn);
        }
        self.ends_aside.contains(&conn)
    }

    /// Returns true for a report of a framed fake server about a
    /// connection no built-in client owns, while all is settled.
    fn program_conn_report(&self, report: &Report) -> bool {
        if report.source != Source::Server
            || self.framed.server_framing().is_none()
            || !self.state.clients().iter().any(|c| c.program)
            || !self.flight.settled()
        {
            return false;
        }
        let owners = &self.state.server().conn_client;
        report.events.iter().any(|event| match event {
            Event::Server(event) => server_conn(event).is_some_and(|c| !owners.contains_key(&c)),
            _ => false,
        })
    }

    fn apply_report(&mut self, report: &Report) {
        self.record.begin_batch();
        if let Source::Client(index) = report.source {
            self.flight.reported(index);
        }
        for event in &report.events {
            match (report.source, event) {
                (Source::Client(index), Event::Client(event)) => self.client_event(index, event),
                (source @ (Source::Client(_) | Source::Server), Event::Program(event)) => {
                    self.program_event(source, event)
                }
                (Source::Server, Event::Server(event)) => self.server_event(event),
                (Source::Proxy(index), Event::Proxy(event)) => self.proxy_event(index, event),
                (Source::Proxy(index), Event::WaitDone) => self.flight.proxy_done(index),
                // Each actor reports only its own kind of event.
                _ => {}
            }
        }
        // Frames no verdict stood for (a rule closed the connection before them).
        let conns: Vec<u32> = self.verdicts_due.keys().copied().collect();
        for conn in conns {
            self.show_due(conn);
        }
    }

    fn client_event(&mut self, index: usize, event: &ClientEvent) {
        // Before the event: a close forgets the connection.
        let conn = self.flight.conn_of_client(index);
        let added = self.state.client_event(index, event);
        if self.framed.client_framing(index).is_some() {
            self.client_frames(index, conn, event);
            if let Some((conn, index)) = self.flight.client_event(index, event) {
                self.state.pair(conn, index);
            }
            return;
        }
        if self.hold_received {
            // Received bytes show where a step consumes them; the end of
            // the connection shows them all, before its line.
            let released = match event {
                ClientEvent::Received { .. } => self.held.received(index, &added),
                ClientEvent::PeerEnded | ClientEvent::Closed { .. } => {
                    let mut released = self.held.received(index, &added);
                    released.extend(self.held.received_ended(index));
                    released
                }
                _ => Vec::new(),
            };
            if !released.is_empty() {
                let (shown, _) = self.held.received_span(index);
                let proxied = self.proxy_held.received(index, shown);
                self.record.show_proxy_held(proxied);
            }
            for (stream, text) in released {
                self.record.show_held(stream, &text);
            }
        }
        if !(self.hold_received && matches!(event, ClientEvent::Received { .. })) {
            self.record.client(index, conn, event);
        }
        if let Some((conn, index)) = self.flight.client_event(index, event) {
            self.state.pair(conn, index);
        }
        if let ClientEvent::Connected { .. } = event
            && let Some((proxy, conn)) = self.flight.proxy_conn_of_client(index)
        {
            self.record.proxy_client(proxy, conn, index);
        }
    }

    fn server_event(&mut self, event: &ServerEvent) {
        if let Some((conn, index)) = self.flight.server_event(event) {
            self.state.pair(conn, index);
        }
        if let ServerEvent::Accepted { conn, .. } = event
            && let Some((proxy, pc)) = self.flight.proxy_conn_of_server_conn(*conn)
        {
            self.record.proxy_server(proxy, pc, *conn);
        }
        self.state.server_event(event);
        if self.framed.server_framing().is_some() {
            let cuts = self.framed.server_event(event);
            let server = self.state.server_mut();
            match event {
                ServerEvent::Accepted { conn, .. } => {
                    server.frames.insert(*conn, Default::default());
                }
                ServerEvent::Received { conn, .. } => {
                    server.frames.entry(*conn).or_default().add(&cuts);
                    server.all_frames.add(&cuts);
                }
                ServerEvent::PeerEnded { conn } | ServerEvent::Closed { conn, .. } => {
                    let frames = server.frames.entry(*conn).or_default();
                    frames.add(&cuts);
                    frames.end();
                    server.all_frames.add(&cuts);
                }
                _ => {}
            }
            match event {
                ServerEvent::Received { conn, .. } if self.rules => {
                    self.verdicts_due.entry(*conn).or_default().extend(cuts);
                }
                ServerEvent::Received { conn, .. }
                | ServerEvent::PeerEnded { conn }
                | ServerEvent::Closed { conn, .. } => {
                    self.show_due(*conn);
                    self.record
                        .conn_cuts(*conn, &cuts, &self.state.server().conn_client);
                }
                ServerEvent::RuleMatched { conn, .. } | ServerEvent::NoRuleMatched { conn, .. } => {
                    self.before_verdict(*conn);
                }
                _ => {}
            }
            let sent = self.framed.server_sent(event);
            let owners = &self.state.server().conn_client;
            match event {
                ServerEvent::Received { .. } => return,
                ServerEvent::Sent { conn, .. } => {
                    self.record.conn_sent_cuts(*conn, &sent, owners, false);
                    return;
                }
                ServerEvent::Closed { conn, .. } => {
                    self.record.conn_sent_cuts(*conn, &sent, owners, true);
                }
                _ => {}
            }
        }
        self.record.server(event, &self.state.server().conn_client);
    }

    /// Folds a program's event: its state, its held output (what is released
    /// shows first), then its line.
    fn program_event(&mut self, source: Source, event: &ProgramEvent) {
        let (track, released) = match source {
            Source::Client(index) => {
                let decoded = self.state.client_program_event(index, event);
                let released = self.held.client_event(index, event, decoded);
                (Track::Client(index), released)
            }
            Source::Server => {
                self.flight.server_program_event(event);
                let decoded = self.state.server_program_event(event);
                (Track::Server, self.held.server_event(event, decoded))
            }
            // A proxy runs no program.
            Source::Proxy(_) => return,
        };
        for (stream, text) in released {
            self.record.show_held(stream, &text);
        }
        // The end of its connection, held back, shows after its output and before its exit.
        if let (Source::Client(_), ProgramEvent::Exited { .. }) = (source, event) {
            self.record.release_aside(&self.state.server().conn_client);
            self.record.begin_batch();
        }
        self.record.program(track, event);
    }
}

/// Returns the connection a server event is about, if one.
fn server_conn(event: &ServerEvent) -> Option<u32> {
    match event {
        ServerEvent::Accepted { conn, .. }
        | ServerEvent::Received { conn, .. }
        | ServerEvent::Sent { conn, .. }
        | ServerEvent::PeerEnded { conn }
        | ServerEvent::Ended { conn }
        | ServerEvent::Closed { conn, .. }
        | ServerEvent::RuleMatched { conn, .. }
        | ServerEvent::NoRuleMatched { conn, .. }
        | ServerEvent::Waiting { conn, .. }
        | ServerEvent::Resumed { conn }
        | ServerEvent::Stalled { conn }
        | ServerEvent::FramingFailed { conn, .. } => Some(*conn),
        ServerEvent::Listening { .. }
        | ServerEvent::Down { .. }
        | ServerEvent::Blackholed { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use bytes::Bytes;

    use super::*;
    use crate::event::{CloseReason, NetError, Pipe};

    const PORT: u16 = 4000;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    fn journal() -> Journal {
        let client = ClientInfo {
            name: "alice".into(),
            encoding: Encoding::Utf8,
            program: None,
            reconnect: true,
            framing: None,
        };
        Journal::new(&[client], Some(FakeKind::Echo), false, PORT)
    }

    fn report<E: Into<Event>>(journal: &mut Journal, source: Source, events: Vec<E>) {
        journal.apply(&Report {
            source,
            events: events.into_iter().map(Into::into).collect(),
            timer: None,
        });
    }

    fn client(journal: &mut Journal, events: Vec<ClientEvent>) {
        report(journal, Source::Client(0), events);
    }

    fn server(journal: &mut Journal, events: Vec<ServerEvent>) {
        report(journal, Source::Server, events);
    }

    /// Connects alice (local port 5000) and has the server accept her.
    fn connected() -> Journal {
        let mut j = journal();
        client(
            &mut j,
            vec![ClientEvent::Connecting {
                attempt: 1,
                target: format!("127.0.0.1:{PORT}"),
            }],
        );
        assert!(!j.settled(), "a connect attempt is under way");
        client(
            &mut j,
            vec![ClientEvent::Connected {
                local: addr(5000),
                peer: addr(PORT),
            }],
        );
        assert!(!j.settled(), "the server has not accepted yet");
        server(
            &mut j,
            vec![ServerEvent::Accepted {
                conn: 1,
                peer: addr(5000),
            }],
        );
        assert!(j.settled());
        j
    }

    fn data(text: &str) -> Bytes {
        Bytes::copy_from_slice(text.as_bytes())
    }

    /// Has alice send `data` and the server receive it, in one window.
    fn carry(j: &mut Journal, data: Bytes) {
        client(
            j,
            vec![ClientEvent::Sent {
                data: data.clone(),
                summary: None,
            }],
        );
        server(j, vec![ServerEvent::Received { conn: 1, data }]);
        j.close_window();
    }

    #[test]
    fn bytes_in_flight_keep_the_conversation_unsettled() {
        let mut j = connected();
        client(
            &mut j,
            vec![ClientEvent::Sent {
                data: data("hi\n"),
                summary: None,
            }],
        );
        assert!(!j.settled(), "sent, not yet received");
        server(
            &mut j,
            vec![ServerEvent::Received {
                conn: 1,
                data: data("hi"),
            }],
        );
        assert!(!j.settled(), "partly received");
        server(
            &mut j,
            vec![
                ServerEvent::Received {
                    conn: 1,
                    data: data("\n"),
                },
                ServerEvent::Sent {
                    conn: 1,
                    data: data("hi\n"),
                },
            ],
        );
        assert!(!j.settled(), "the echo is in flight");
        client(&mut j, vec![ClientEvent::Received { data: data("hi\n") }]);
        assert!(j.settled());
        assert_eq!(j.client(0).output.unconsumed(), "hi\n");
    }

    #[test]
    fn a_fin_is_in_flight_until_the_peer_reports_it() {
        let mut j = connected();
        client(&mut j, vec![ClientEvent::Ended]);
        assert!(!j.settled());
        server(&mut j, vec![ServerEvent::PeerEnded { conn: 1 }]);
        assert!(j.settled(), "half-closed, nothing in flight");
    }

    #[test]
    fn a_reset_is_settled_once_both_sides_closed() {
        let mut j = connected();
        server(
            &mut j,
            vec![
                ServerEvent::Down {
                    killed: true,
                    connections: 1,
                },
                ServerEvent::Closed {
                    conn: 1,
                    reason: CloseReason::Aborted,
                },
            ],
        );
        assert!(!j.settled(), "alice has not seen the reset yet");
        client(
            &mut j,
            vec![ClientEvent::Closed {
                reason: CloseReason::Reset,
                written: 0,
            }],
        );
        assert!(j.settled());
        assert_eq!(
            j.client(0).errors.last().map(|e| e.code.as_str()),
            Some("ECONNRESET")
        );
    }

    #[test]
    fn a_woken_client_is_busy_until_it_reports() {
        let mut j = connected();
        j.wake(0);
        assert!(!j.settled());
        client(
            &mut j,
            vec![ClientEvent::Connecting {
                attempt: 2,
                target: String::new(),
            }],
        );
        assert!(!j.settled(), "now the attempt is under way");
        client(
            &mut j,
            vec![ClientEvent::ConnectFailed {
                error: NetError {
                    code: "ECONNREFUSED".into(),
                    message: String::new(),
                },
            }],
        );
        assert!(j.settled());
    }

    #[test]
    fn the_port_and_captured_values_are_masked() {
        let mut j = connected();
        carry(&mut j, data("token 1234abcd\n"));
        j.mask_value("token", "1234abcd", Scope::Payload);
        let transcript = j.transcript().join("\n");
        assert!(
            transcript.contains("connecting to 127.0.0.1:${port}"),
            "{transcript}"
        );
        assert!(
            transcript.contains(r#"alice > "token ${token}\n""#),
            "{transcript}"
        );
        assert!(!transcript.contains("1234abcd"), "{transcript}");
    }

    /// Folds a client program's connect seen from the fake server, and the
    /// line the program prints when it connects, in the order given; then
    /// the runner's `wait_connected` and `expect` as the runner does them.
    fn program_connects(line_first: bool) -> String {
        let program = ClientInfo {
            name: "prog".into(),
            encoding: Encoding::Utf8,
            program: Some(true),
            reconnect: false,
            framing: None,
        };
        let mut j = Journal::new(&[program], Some(FakeKind::Echo), false, PORT);
        let accepted = ServerEvent::Accepted {
            conn: 1,
            peer: addr(5000),
        };
        let printed = ProgramEvent::Output {
            pipe: Pipe::Stderr,
            data: data("connected\nmore\n"),
        };
        if line_first {
            report(&mut j, Source::Client(0), vec![printed]);
            server(&mut j, vec![accepted]);
        } else {
            server(&mut j, vec![accepted]);
            // `expect` found nothing yet: the conversation settled meanwhile.
            j.close_window();
            report(&mut j, Source::Client(0), vec![printed]);
        }
        let matcher = crate::matcher::Matcher::new("^connected$").unwrap();
        let mut seek = crate::runner::output::Seek::new(&matcher);
        assert!(matches!(
            j.client_mut(0).output.take(&matcher, &mut seek),
            crate::runner::output::Look::Found(_)
        ));
        j.sync_programs();
        server(
            &mut j,
            vec![ServerEvent::Sent {
                conn: 1,
                data: data("hello\n"),
            }],
        );
        j.close_window();
        j.release_programs();
        j.transcript().join("\n")
    }

    #[test]
    fn program_output_shows_where_it_was_consumed_not_when_it_arrived() {
        let expected = [
            r#"server[prog]: accepted connection 1"#,
            r#"prog stderr "connected\n""#,
            r#"server[prog] > "hello\n""#,
            r#"prog stderr "more\n""#,
        ]
        .join("\n");
        assert_eq!(program_connects(true), expected);
        assert_eq!(program_connects(false), expected);
    }

    #[test]
    fn a_character_cut_short_shows_where_it_was_sent() {
        let mut j = connected();
        carry(&mut j, Bytes::from_static(b"caf\xc3"));
        client(
            &mut j,
            vec![ClientEvent::Closed {
                reason: CloseReason::Reset,
                written: 4,
            }],
        );
        j.close_window();
        let transcript = j.transcript().join("\n");
        let sent: Vec<&str> = transcript
            .lines()
            .filter(|l| l.starts_with("alice > "))
            .collect();
        assert_eq!(sent, [r#"alice > "caf\xc3""#], "{transcript}");
        let after_close = transcript
            .lines()
            .skip_while(|l| !l.contains("closed"))
            .any(|l| l.contains("\\xc3"));
        assert!(!after_close, "{transcript}");
    }

    #[test]
    fn a_connect_that_gets_no_answer_is_settled_while_the_port_drops_syns() {
        let mut j = connected();
        let blackholed = ServerEvent::Blackholed { addr: addr(PORT) };
        server(&mut j, vec![blackholed]);
        let attempt = ClientEvent::Connecting {
            attempt: 2,
            target: format!("127.0.0.1:{PORT}"),
        };
        client(&mut j, vec![attempt]);
        assert!(!j.settled(), "the attempt is under way");
        client(&mut j, vec![ClientEvent::NoAnswer { addr: addr(PORT) }]);
        assert!(
            j.settled(),
            "its SYN was dropped: only its timeout can end it"
        );
        let listening = ServerEvent::Listening { addr: addr(PORT) };
        server(&mut j, vec![listening]);
        assert!(!j.settled(), "the port answers again: it dials again");
        client(&mut j, vec![ClientEvent::Redialing { addr: addr(PORT) }]);
        assert!(j.settled(), "it waits for its turn on the scenario's clock");
        j.wake(0);
        assert!(!j.settled(), "its turn came: it dials");
        let connected = ClientEvent::Connected {
            local: addr(5001),
            peer: addr(PORT),
        };
        client(&mut j, vec![connected]);
        server(
            &mut j,
            vec![ServerEvent::Accepted {
                conn: 2,
                peer: addr(5001),
            }],
        );
        assert!(j.settled());
        j.close_window();
        let transcript = j.transcript().join("\n");
        assert!(
            transcript.contains("server: blackholing (SYNs dropped)"),
            "{transcript}"
        );
        assert!(!transcript.contains("answer"), "{transcript}");
    }
}
