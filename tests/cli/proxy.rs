//! `tcprun proxy`: the fault proxy between real loopback clients and servers the tests start.
//!
//! Timing is never asserted except as "not before" for delays; everything
//! else waits for events (JSON lines on stderr) or bytes, with deadlines.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use serde_json::Value;

use crate::support::{Conn, Server, Tcprun, assert_connect_times_out};

/// A running `tcprun proxy --listen 0 --events json`.
struct Proxy {
    tcprun: Tcprun,
    port: u16,
}

impl Proxy {
    /// Starts a proxy to `upstream` with extra arguments; reads its port from stdout.
    fn start(upstream: &str, args: &[&str]) -> Self {
        let mut all = vec![
            "proxy",
            "--listen",
            "0",
            "--upstream",
            upstream,
            "--events",
            "json",
        ];
        all.extend_from_slice(args);
        let mut tcprun = Tcprun::spawn(&all);
        let line = tcprun.stdout_line();
        let port = line
            .parse()
            .unwrap_or_else(|_| panic!("a port on stdout, not {line:?}"));
        Self { tcprun, port }
    }

    /// Starts a proxy to `server` with these `--fault`s.
    fn with_faults(server: &Server, faults: &[&str]) -> Self {
        let args: Vec<&str> = faults.iter().flat_map(|f| ["--fault", f]).collect();
        Self::start(&server.target(), &args)
    }

    fn connect(&self) -> Conn {
        Conn::connect(self.port)
    }

    /// Writes one command line to the proxy's stdin.
    fn tell(&mut self, line: &str) {
        self.tcprun.write(format!("{line}\n"));
    }

    /// Waits for the next event named `name`.
    fn event(&mut self, name: &str) -> Value {
        self.tcprun.wait_event(name)
    }

    /// Stops the proxy with SIGTERM (it exits 0) and returns every event.
    fn stop(mut self) -> Vec<Value> {
        self.tcprun.signal(Signal::SIGTERM);
        self.tcprun.assert_exit(0);
        self.tcprun.events()
    }
}

fn names(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["event"].as_str().expect("event name"))
        .collect()
}

/// Returns the sizes of the `forwarded` events going `direction`.
fn forwarded(events: &[Value], direction: &str) -> Vec<u64> {
    events
        .iter()
        .filter(|e| e["event"] == "forwarded" && e["direction"] == direction)
        .map(|e| e["bytes"].as_u64().expect("bytes"))
        .collect()
}

/// Writes `data`; returns false when the write fails (the proxy may have
/// reset the connection already, and the write then takes the reset's error).
fn write_anyway(conn: &Conn, data: &[u8]) -> bool {
    let mut stream = conn.stream();
    stream.write_all(data).is_ok()
}

/// Sends `x` and a FIN, then reads to the end of the connection; returns
/// what came and how it ended. A reset may come at any point: whichever
/// call meets it first takes the error (a later read then sees an end),
/// so a failed write or shutdown counts as the reset.
fn exchange(mut conn: Conn) -> (Vec<u8>, Result<(), ErrorKind>) {
    let mut stream = conn.stream();
    let sent = stream
        .write_all(b"x")
        .and_then(|()| stream.shutdown(std::net::Shutdown::Write));
    let (data, end) = conn.read_to_close();
    match sent {
        Err(_) => (data, Err(ErrorKind::ConnectionReset)),
        Ok(()) => (data, end),
    }
}

/// Runs an echo server for any number of connections: each gets back
/// what it sent, then a FIN; resets are shrugged off.
fn echo_server() -> (u16, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let handle = thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else {
                return;
            };
            thread::spawn(move || {
                let mut data = Vec::new();
                if conn.read_to_end(&mut data).is_ok() {
                    let _ = conn.write_all(&data);
                    let _ = conn.shutdown(std::net::Shutdown::Write);
                }
            });
        }
    });
    (port, handle)
}

#[test]
fn forwards_both_ways_and_reports_each_event_before_its_effect() {
    let server = Server::listening();
    let mut proxy = Proxy::start(&server.target(), &[]);
    let mut client = proxy.connect();
    let mut upstream = server.accept();
    client.send("hello\n");
    assert_eq!(upstream.read_until(b"\n"), b"hello\n");
    upstream.send("world!\n");
    assert_eq!(client.read_until(b"\n"), b"world!\n");
    client.end();
    assert_eq!(upstream.read_to_end(), b"");
    assert_eq!(upstream.finish(), b"");
    assert_eq!(client.read_to_close(), (Vec::new(), Ok(())));
    let closed = proxy.event("closed");
    assert_eq!(
        (closed["to_server"].as_u64(), closed["to_client"].as_u64()),
        (Some(6), Some(7))
    );
    let events = proxy.stop();
    assert_eq!(
        names(&events),
        [
            "up",
            "accepted",
            "dialed",
            "forwarded",
            "forwarded",
            "fin",
            "fin_passed",
            "fin",
            "fin_passed",
            "closed"
        ],
        "{events:#?}"
    );
    assert_eq!(events[3]["direction"], "to_server");
    assert_eq!(events[5]["side"], "client");
    assert_eq!(events[6]["side"], "server");
    assert_eq!(events[1]["conn"], 1);
}

#[test]
fn a_clients_fin_reaches_the_server_and_the_server_can_still_answer() {
    let server = Server::listening();
    let proxy = Proxy::start(&server.target(), &[]);
    let mut client = proxy.connect();
    let mut upstream = server.accept();
    client.send("count me");
    client.end();
    // The server sees the FIN, and only then answers.
    let request = upstream.read_to_end();
    assert_eq!(request, b"count me");
    upstream.send(format!("{} bytes", request.len()));
    assert_eq!(upstream.finish(), b"");
    assert_eq!(client.read_to_close(), (b"8 bytes".to_vec(), Ok(())));
    proxy.stop();
}

#[test]
fn a_servers_fin_reaches_the_client_and_the_client_can_still_send() {
    let server = Server::listening();
    let proxy = Proxy::start(&server.target(), &[]);
    let mut client = proxy.connect();
    let mut upstream = server.accept();
    upstream.send("220 bye");
    upstream.end();
    assert_eq!(client.read_to_close(), (b"220 bye".to_vec(), Ok(())));
    client.send("after the server's FIN");
    client.end();
    assert_eq!(upstream.read_to_end(), b"after the server's FIN");
    proxy.stop();
}

#[test]
fn a_reset_on_either_side_resets_the_other() {
    let server = Server::listening();
    let mut proxy = Proxy::start(&server.target(), &[]);
    // The client resets: the server's read fails with ECONNRESET.
    let mut client = proxy.connect();
    let mut upstream = server.accept();
    client.send("x");
    assert_eq!(upstream.read_n(1), b"x");
    client.reset();
    assert_eq!(
        upstream.read_to_close(),
        (Vec::new(), Err(ErrorKind::ConnectionReset))
    );
    let rst = proxy.event("rst");
    assert_eq!(rst["side"], "client");
    assert_eq!(proxy.event("rst_sent")["side"], "server");
    // The server resets: the client's read fails with ECONNRESET.
    let mut client = proxy.connect();
    let upstream = server.accept();
    proxy.event("dialed");
    upstream.reset();
    assert_eq!(
        client.read_to_close(),
        (Vec::new(), Err(ErrorKind::ConnectionReset))
    );
    assert_eq!(proxy.event("rst")["side"], "server");
    assert_eq!(proxy.event("rst_sent")["side"], "client");
    proxy.stop();
}

#[test]
fn a_failed_dial_is_reported_with_its_code_and_resets_the_client() {
    let server = Server::refusing();
    let mut proxy = Proxy::start(&server.target(), &[]);
    // The client's connect succeeds (the proxy accepts before it dials)...
    let mut client = proxy.connect();
    // ...then it is reset.
    assert_eq!(
        client.read_to_close(),
        (Vec::new(), Err(ErrorKind::ConnectionReset))
    );
    let failed = proxy.event("dial_failed");
    assert_eq!(failed["code"], "ECONNREFUSED", "{failed}");
    let events = proxy.stop();
    assert_eq!(
        names(&events),
        ["up", "accepted", "dial_failed", "rst_sent", "closed"]
    );
}

#[test]
fn latency_holds_bytes_at_least_that_long_in_its_direction() {
    let server = Server::listening();
    let mut proxy = Proxy::with_faults(&server, &["{latency: 300ms, direction: to_server}"]);
    let mut client = proxy.connect();
    let mut upstream = server.accept();
    let sent = Instant::now();
    client.send("ping");
    assert_eq!(upstream.read_n(4), b"ping");
    assert!(
        sent.elapsed() >= Duration::from_millis(300),
        "{:?}",
        sent.elapsed()
    );
    upstream.send("pong");
    assert_eq!(client.read_n(4), b"pong");
    let fired = proxy.event("fault");
    assert_eq!(
        (&fired["kind"], &fired["direction"], &fired["offset"]),
        (&"latency".into(), &"to_server".into(), &0.into())
    );
    let events = proxy.stop();
    let faults: Vec<&Value> = events.iter().filter(|e| e["event"] == "fault").collect();
    assert_eq!(faults.len(), 1, "to_client is not delayed: {faults:?}");
}

#[test]
fn bandwidth_paces_bytes_in_tenth_of_a_second_pieces() {
    let server = Server::listening();
    let proxy = Proxy::with_faults(&server, &["{bandwidth: 10KiB/s, direction: to_client}"]);
    let mut client = proxy.connect();
    let mut upstream = server.accept();
    let data: Vec<u8> = (0..2048).map(|i| (i % 251) as u8).collect();
    let sent = Instant::now();
    upstream.send(&data);
    assert_eq!(client.read_n(2048), data);
    // 2 KiB at 10 KiB/s take 200ms at least.
    assert!(
        sent.elapsed() >= Duration::from_millis(200),
        "{:?}",
        sent.elapsed()
    );
    let events = proxy.stop();
    let pieces = forwarded(&events, "to_client");
    assert_eq!(pieces.iter().sum::<u64>(), 2048);
    assert!(pieces.iter().all(|&n| n <= 1024), "{pieces:?}");
}

#[test]
fn slice_writes_pieces_of_at_most_n_bytes() {
    let server = Server::listening();
    let proxy = Proxy::with_faults(&server, &["{slice: 3, gap: 10ms, direction: to_server}"]);
    let mut client = proxy.connect();
    let mut upstream = server.accept();
    client.send("0123456789");
    assert_eq!(upstream.read_n(10), b"0123456789");
    upstream.send("untouched");
    assert_eq!(client.read_n(9), b"untouched");
    let events = proxy.stop();
    let pieces = forwarded(&events, "to_server");
    assert_eq!(pieces.iter().sum::<u64>(), 10);
    assert!(pieces.iter().all(|&n| n <= 3), "{pieces:?}");
    assert_eq!(forwarded(&events, "to_client"), [9]);
}

#[test]
fn stall_stops_reading_after_exactly_n_bytes_until_cleared() {
    const MORE: usize = 64 << 20;
    let server = Server::listening();
    let mut proxy = Proxy::with_faults(
        &server,
        &["{stall: true, after_bytes: 5, direction: to_server, name: hold}"],
    );
    let mut client = proxy.connect();
    let mut upstream = server.accept();
    // More than every socket buffer on the way can hold.
    let mut writer_stream = client.stream().try_clone().expect("clone");
    let written = Arc::new(AtomicBool::new(false));
    let writer = {
        let written = written.clone();
        thread::spawn(move || {
            writer_stream.write_all(b"01234").expect("first bytes");
            writer_stream
                .write_all(&vec![b'x'; MORE])
                .expect("the rest");
            written.store(true, Ordering::SeqCst);
        })
    };
    assert_eq!(upstream.read_n(5), b"01234");
    let fired = proxy.event("fault");
    assert_eq!(
        (&fired["kind"], &fired["offset"]),
        (&"stall".into(), &5.into())
    );
    // The other direction still flows.
    upstream.send("still here");
    assert_eq!(client.read_n(10), b"still here");
    assert!(
        upstream.buffered().is_empty(),
        "nothing past byte 5 came through"
    );
    assert!(
        !written.load(Ordering::SeqCst),
        "the sender blocks: the proxy does not read"
    );
    proxy.tell("clear hold");
    proxy.event("faults_cleared");
    let rest = upstream.read_n(MORE);
    assert!(rest.iter().all(|&b| b == b'x'));
    writer.join().expect("writer");
    assert!(written.load(Ordering::SeqCst));
    let events = proxy.stop();
    let stalled = events
        .iter()
        .position(|e| e["event"] == "faults_cleared")
        .expect("cleared");
    assert_eq!(
        forwarded(&events[..stalled], "to_server")
            .iter()
            .sum::<u64>(),
        5
    );
    let fin_or_rst = events[..stalled]
        .iter()
        .filter(|e| {
            matches!(
                e["event"].as_str(),
                Some("fin" | "fin_passed" | "rst" | "rst_sent")
            )
        })
        .count();
    assert_eq!(fin_or_rst, 0, "a stall sends no FIN and no RST");
}

#[test]
fn drop_reads_and_discards_but_passes_the_fin() {
    let server = Server::listening();
    let mut proxy = Proxy::with_faults(&server, &["{drop: true, direction: to_server}"]);
    let mut client = proxy.connect();
    let mut upstream = server.accept();
    client.send("secret");
    let dropped = proxy.event("dropped");
    assert_eq!(
        (&dropped["bytes"], &dropped["direction"]),
        (&6.into(), &"to_server".into())
    );
    upstream.send("hi");
    assert_eq!(client.read_n(2), b"hi");
    client.end();
    assert_eq!(upstream.read_to_end(), b"", "the FIN, and not one byte");
    proxy.stop();
}

/// Sends 150 bytes through a proxy that resets after 100 to the server, in
/// pieces of `sizes` (each read by the server before the next is sent, as
/// long as it is wholly before the cut); returns what the server got and
/// how its connection and the client's ended.
fn cut_after_100(sizes: &[usize]) -> (Vec<u8>, Result<(), ErrorKind>, Result<(), ErrorKind>) {
    let server = Server::listening();
    let mut proxy = Proxy::with_faults(
        &server,
        &["{cut: reset, after_bytes: 100, direction: to_server}"],
    );
    let mut client = proxy.connect();
    let mut upstream = server.accept();
    let data: Vec<u8> = (0..150u8).collect();
    let mut got = Vec::new();
    let mut at = 0;
    let mut reset_seen = false;
    for &size in sizes {
        reset_seen = reset_seen || !write_anyway(&client, &data[at..at + size]);
        at += size;
        if at < 100 {
            got.extend(upstream.read_n(size));
        }
    }
    let (rest, server_end) = upstream.read_to_close();
    got.extend(rest);
    let (_, mut client_end) = client.read_to_close();
    if reset_seen {
        client_end = Err(ErrorKind::ConnectionReset);
    }
    let fired = proxy.event("fault");
    assert_eq!(
        (&fired["kind"], &fired["offset"]),
        (&"cut".into(), &100.into())
    );
    proxy.stop();
    (got, server_end, client_end)
}

#[test]
fn a_cut_after_n_bytes_lands_on_byte_n_however_the_stream_is_segmented() {
    let expected: Vec<u8> = (0..100u8).collect();
    for sizes in [&[150][..], &[60, 90], &[99, 51], &[100, 50], &[1, 1, 148]] {
        let (got, server_end, client_end) = cut_after_100(sizes);
        assert_eq!(got, expected, "pieces {sizes:?}");
        assert_eq!(
            server_end,
            Err(ErrorKind::ConnectionReset),
            "pieces {sizes:?}"
        );
        assert_eq!(
            client_end,
            Err(ErrorKind::ConnectionReset),
            "pieces {sizes:?}"
        );
    }
}

#[test]
fn cut_fin_ends_both_ways_after_n_bytes() {
    let server = Server::listening();
    let proxy = Proxy::with_faults(
        &server,
        &["{cut: fin, after_bytes: 4, direction: to_client}"],
    );
    let mut client = proxy.connect();
    let mut upstream = server.accept();
    upstream.send("abcdefgh");
    assert_eq!(client.read_to_close(), (b"abcd".to_vec(), Ok(())));
    assert_eq!(upstream.read_to_close(), (Vec::new(), Ok(())));
    let events = proxy.stop();
    let dropped: u64 = events
        .iter()
        .filter(|e| e["event"] == "dropped")
        .map(|e| e["bytes"].as_u64().unwrap())
        .sum();
    assert_eq!(dropped, 4);
}

#[test]
fn cut_half_close_ends_one_direction_and_the_other_keeps_flowing() {
    let server = Server::listening();
    let proxy = Proxy::with_faults(
        &server,
        &["{cut: half_close, after_bytes: 4, direction: to_server}"],
    );
    let mut client = proxy.connect();
    let mut upstream = server.accept();
    client.send("abcdefgh");
    assert_eq!(upstream.read_to_end(), b"abcd");
    upstream.send("reply after the cut");
    assert_eq!(client.read_until(b"cut"), b"reply after the cut");
    client.end();
    assert_eq!(upstream.finish(), b"");
    assert_eq!(client.read_to_close(), (Vec::new(), Ok(())));
    proxy.stop();
}

#[test]
fn slow_close_holds_a_fin_at_least_that_long() {
    let server = Server::listening();
    let mut proxy = Proxy::with_faults(&server, &["{slow_close: 300ms, direction: to_server}"]);
    let mut client = proxy.connect();
    let mut upstream = server.accept();
    client.send("last words");
    assert_eq!(upstream.read_n(10), b"last words");
    let ended = Instant::now();
    client.end();
    assert_eq!(upstream.read_to_end(), b"");
    assert!(
        ended.elapsed() >= Duration::from_millis(300),
        "{:?}",
        ended.elapsed()
    );
    assert_eq!(proxy.event("fault")["kind"], "slow_close");
    upstream.end();
    assert_eq!(client.read_to_close(), (Vec::new(), Ok(())));
    proxy.stop();
}

#[test]
fn on_cuts_right_after_the_first_match_however_the_match_is_split() {
    // The match split across two reads (the server gets the first before
    // the second is sent), or in one.
    for split in [None, Some(9)] {
        let server = Server::listening();
        let proxy = Proxy::with_faults(
            &server,
            &[r#"{cut: reset, on: "QUIT\r\n", direction: to_server}"#],
        );
        let mut client = proxy.connect();
        let mut upstream = server.accept();
        let data = b"hello\r\nQUIT\r\nmore\r\n";
        let mut got = Vec::new();
        if let Some(at) = split {
            client.send(&data[..at]);
            got.extend(upstream.read_n(at));
            let _ = write_anyway(&client, &data[at..]);
        } else {
            client.send(data);
        }
        let (rest, end) = upstream.read_to_close();
        got.extend(rest);
        assert_eq!(got, b"hello\r\nQUIT\r\n", "split at {split:?}");
        assert_eq!(end, Err(ErrorKind::ConnectionReset));
        proxy.stop();
    }
}

#[test]
fn on_waits_until_the_match_is_final_so_a_greedy_match_is_not_cut_short() {
    // `\d+` is final only once a non-digit follows; the pieces arrive as
    // TCP likes, and the cut always lands after the whole number.
    for pieces in [&["x12y"][..], &["x1", "2y"], &["x", "1", "2", "y"]] {
        let server = Server::listening();
        let proxy =
            Proxy::with_faults(&server, &[r"{cut: reset, on: '\d+', direction: to_server}"]);
        let client = proxy.connect();
        let mut upstream = server.accept();
        for piece in pieces {
            let _ = write_anyway(&client, piece.as_bytes());
        }
        let (got, end) = upstream.read_to_close();
        assert_eq!(got, b"x12", "pieces {pieces:?}");
        assert_eq!(end, Err(ErrorKind::ConnectionReset));
        proxy.stop();
    }
}

#[test]
fn on_with_a_line_end_cuts_before_the_byte_that_decided_it() {
    let server = Server::listening();
    let proxy = Proxy::with_faults(&server, &["{cut: fin, on: '^OK$', direction: to_client}"]);
    let mut client = proxy.connect();
    let mut upstream = server.accept();
    upstream.send("OK");
    // `$` is undecided until the next byte: `OK` itself may pass.
    assert_eq!(client.read_n(2), b"OK");
    upstream.send("\nrest");
    assert_eq!(client.read_to_close(), (Vec::new(), Ok(())));
    assert_eq!(upstream.read_to_close(), (Vec::new(), Ok(())));
    proxy.stop();
}

#[test]
fn direction_both_acts_on_each_directions_own_bytes() {
    let server = Server::listening();
    let proxy = Proxy::with_faults(&server, &["{slice: 1}"]);
    let mut client = proxy.connect();
    let mut upstream = server.accept();
    client.send("abc");
    assert_eq!(upstream.read_n(3), b"abc");
    upstream.send("de");
    assert_eq!(client.read_n(2), b"de");
    let events = proxy.stop();
    assert_eq!(forwarded(&events, "to_server"), [1, 1, 1]);
    assert_eq!(forwarded(&events, "to_client"), [1, 1]);
    let fired: Vec<&Value> = events.iter().filter(|e| e["event"] == "fault").collect();
    assert_eq!(fired.len(), 2, "{fired:?}");
}

#[test]
fn connection_n_applies_to_the_nth_accepted_connection_only() {
    let (port, _echo) = echo_server();
    let mut proxy = Proxy::start(
        &format!("127.0.0.1:{port}"),
        &["--fault", "{cut: reset, connection: 2}"],
    );
    let mut outcomes = Vec::new();
    for _ in 1..=3 {
        outcomes.push(exchange(proxy.connect()));
        proxy.event("closed");
    }
    assert_eq!(
        outcomes,
        [
            (b"x".to_vec(), Ok(())),
            (Vec::new(), Err(ErrorKind::ConnectionReset)),
            (b"x".to_vec(), Ok(()))
        ]
    );
    proxy.stop();
}

/// Runs 16 connections through a proxy seeded with `seed` that resets
/// each with probability 0.5; returns which were reset.
fn reset_connections(seed: &str) -> Vec<bool> {
    let (port, _echo) = echo_server();
    let mut proxy = Proxy::start(
        &format!("127.0.0.1:{port}"),
        &["--seed", seed, "--fault", "{cut: reset, probability: 0.5}"],
    );
    let mut reset = Vec::new();
    for _ in 0..16 {
        let (data, end) = exchange(proxy.connect());
        reset.push(end.is_err());
        assert_eq!(data.is_empty(), end.is_err());
        proxy.event("closed");
    }
    proxy.stop();
    reset
}

#[test]
fn a_seeded_probability_makes_the_same_choices_on_every_run() {
    let first = reset_connections("7");
    assert_eq!(first, reset_connections("7"));
    assert!(first.contains(&true) && first.contains(&false), "{first:?}");
}

#[test]
fn down_refuse_refuses_new_connects_keeps_open_ones_and_up_listens_again() {
    let server = Server::listening();
    let mut proxy = Proxy::start(&server.target(), &[]);
    let mut client = proxy.connect();
    let mut upstream = server.accept();
    proxy.tell("down refuse");
    let down = proxy.event("down");
    assert_eq!(
        (&down["mode"], &down["connections"]),
        (&"refuse".into(), &1.into())
    );
    let refused = std::net::TcpStream::connect(("127.0.0.1", proxy.port)).unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);
    client.send("still open");
    assert_eq!(upstream.read_n(10), b"still open");
    proxy.tell("up");
    assert_eq!(
        proxy.event("up")["addr"],
        format!("127.0.0.1:{}", proxy.port)
    );
    let mut again = proxy.connect();
    let mut upstream_again = server.accept();
    again.send("back");
    assert_eq!(upstream_again.read_n(4), b"back");
    proxy.stop();
}

#[test]
fn down_blackhole_lets_connects_time_out_at_the_clients_connect_timeout() {
    let server = Server::listening();
    let mut proxy = Proxy::start(&server.target(), &[]);
    proxy.tell("down blackhole");
    assert_eq!(proxy.event("down")["mode"], "blackhole");
    assert_connect_times_out(proxy.port);
    proxy.tell("up");
    proxy.event("up");
    let mut client = proxy.connect();
    let mut upstream = server.accept();
    client.send("through");
    assert_eq!(upstream.read_n(7), b"through");
    proxy.stop();
}

#[test]
fn down_reset_resets_every_open_connection_then_refuses() {
    let server = Server::listening();
    let mut proxy = Proxy::start(&server.target(), &[]);
    let mut client = proxy.connect();
    let mut upstream = server.accept();
    proxy.event("dialed");
    proxy.tell("down reset");
    assert_eq!(
        client.read_to_close(),
        (Vec::new(), Err(ErrorKind::ConnectionReset))
    );
    assert_eq!(
        upstream.read_to_close(),
        (Vec::new(), Err(ErrorKind::ConnectionReset))
    );
    let refused = std::net::TcpStream::connect(("127.0.0.1", proxy.port)).unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);
    let events = proxy.stop();
    let from_down: Vec<&str> = names(&events)
        .into_iter()
        .skip_while(|&n| n != "down")
        .collect();
    assert_eq!(from_down, ["down", "rst_sent", "rst_sent", "closed"]);
}

#[test]
fn stdin_adds_and_clears_faults_and_explains_bad_lines() {
    let server = Server::listening();
    let mut proxy = Proxy::start(&server.target(), &[]);
    let mut client = proxy.connect();
    let mut upstream = server.accept();
    proxy.tell("{drop: true, direction: to_server, name: mute}");
    assert_eq!(proxy.event("fault_added")["name"], "mute");
    client.send("lost");
    assert_eq!(proxy.event("dropped")["bytes"], 4);
    proxy.tell("clear mute");
    assert_eq!(
        proxy.event("faults_cleared")["names"],
        serde_json::json!(["mute"])
    );
    client.send("kept\n");
    assert_eq!(upstream.read_until(b"\n"), b"kept\n");
    for (line, message, hint) in [
        ("bogus", "unknown command `bogus`", "a line is a fault map"),
        (
            "clear nosuch",
            "no fault named `nosuch`",
            "no fault is in effect",
        ),
        ("{latency: 5}", "expected a duration with a unit", "`5ms`"),
        (
            "down sideways",
            "unknown down mode `sideways`",
            "`down refuse`",
        ),
        ("up", "the proxy is up already", ""),
    ] {
        proxy.tell(line);
        let error = proxy.event("input_error");
        assert!(
            error["message"].as_str().unwrap().contains(message),
            "{line}: {error}"
        );
        assert!(
            error["hint"].as_str().unwrap_or("").contains(hint),
            "{line}: {error}"
        );
    }
    // Still working.
    client.send("after\n");
    assert_eq!(upstream.read_until(b"\n"), b"after\n");
    proxy.stop();
}

#[test]
fn human_status_lines_look_like_tcprun_connects() {
    let server = Server::listening();
    let mut tcprun = Tcprun::spawn(&["proxy", "--listen", "0", "--upstream", &server.target()]);
    let port: u16 = tcprun.stdout_line().parse().expect("port");
    tcprun.wait_line(&format!("tcprun: listening on 127.0.0.1:{port}"));
    let client = Conn::connect(port);
    let _upstream = server.accept();
    tcprun.wait_prefix("tcprun: connection 1 from 127.0.0.1:");
    tcprun.wait_line(&format!(
        "tcprun: connection 1: connected to {}",
        server.target()
    ));
    tcprun.write("oops\n");
    tcprun.wait_line("tcprun: stdin line 1 ignored: unknown command `oops`");
    tcprun.wait_prefix("  = hint: a line is a fault map");
    client.reset();
    tcprun.wait_line("tcprun: connection 1: client reset the connection (RST)");
    tcprun.wait_line("tcprun: connection 1: RST sent to the server");
    tcprun.signal(Signal::SIGINT);
    tcprun.assert_exit(0);
}

#[test]
fn it_runs_until_sigterm_or_sigint_and_exits_0() {
    let server = Server::listening();
    for signal in [Signal::SIGTERM, Signal::SIGINT] {
        let mut proxy = Proxy::start(&server.target(), &["-q"]);
        proxy.tcprun.signal(signal);
        proxy.tcprun.assert_exit(0);
        assert!(proxy.tcprun.stderr_lines().is_empty(), "-q prints nothing");
    }
}

#[test]
fn usage_errors_exit_2_with_the_message_and_a_hint() {
    let cases: [(&[&str], &str, &str); 4] = [
        (
            &["--upstream", "127.0.0.1:9", "--fault", "{latency: 200}"],
            "invalid --fault `{latency: 200}`: expected a duration with a unit for `latency`, found `200`",
            "add a unit: `200ms`",
        ),
        (
            &[
                "--upstream",
                "127.0.0.1:9",
                "--fault",
                "{cut: reset, afterbytes: 1}",
            ],
            "unknown key `afterbytes` in a fault",
            "did you mean `after_bytes`?",
        ),
        (
            &["--upstream", "localhost"],
            "invalid --upstream `localhost`",
            "HOST:PORT",
        ),
        (
            &["--upstream", "127.0.0.1:9", "--listen", "x"],
            "invalid --listen `x`",
            "PORT or HOST:PORT",
        ),
    ];
    for (args, message, hint) in cases {
        let mut all = vec!["proxy"];
        if !args.contains(&"--listen") {
            all.extend(["--listen", "0"]);
        }
        all.extend_from_slice(args);
        let mut tcprun = Tcprun::spawn(&all);
        tcprun.assert_exit(2);
        let lines = tcprun.stderr_lines();
        assert!(
            lines[0].starts_with("error: ") && lines[0].contains(message),
            "{lines:#?}"
        );
        assert!(
            lines[1].starts_with("  = hint: ") && lines[1].contains(hint),
            "{lines:#?}"
        );
        assert!(tcprun.stdout().is_empty());
    }
}

#[test]
fn a_port_in_use_exits_1() {
    let server = Server::listening();
    let mut tcprun = Tcprun::spawn(&[
        "proxy",
        "--listen",
        &server.port().to_string(),
        "--upstream",
        "127.0.0.1:9",
    ]);
    tcprun.assert_exit(1);
    assert!(
        tcprun.stderr_lines()[0].starts_with("error: cannot "),
        "{:?}",
        tcprun.stderr_lines()
    );
}

/// Runs `redis-server` on a free port; killed on drop.
struct Redis {
    child: std::process::Child,
    port: u16,
}

impl Redis {
    /// Starts redis-server and waits for its "Ready to accept connections".
    fn start() -> Self {
        use std::io::BufRead;
        let port = {
            let probe = TcpListener::bind("127.0.0.1:0").expect("bind");
            probe.local_addr().expect("addr").port()
        };
        let mut child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(["--bind", "127.0.0.1"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("redis-server runs (apt-get install redis-server)");
        let stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        let ready = stdout
            .lines()
            .map_while(Result::ok)
            .any(|line| line.contains("Ready to accept connections"));
        assert!(ready, "redis-server did not get ready");
        Self { child, port }
    }

    /// Runs `redis-cli -p PORT ARGS...`; returns its exit status, stdout and stderr.
    fn cli(port: u16, args: &[&str]) -> (bool, String, String) {
        let output = std::process::Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli runs");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).trim().to_owned(),
            String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        )
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// redis-cli through the proxy to redis-server: a cut right after `INCR`
/// in the request resets the client, and the server never runs the
/// command it got only part of.
#[test]
fn real_redis_behind_the_proxy_never_runs_a_command_cut_in_the_middle() {
    let redis = Redis::start();
    let mut proxy = Proxy::start(
        &format!("127.0.0.1:{}", redis.port),
        &["--fault", "{latency: 50ms, direction: to_client}"],
    );
    assert_eq!(
        Redis::cli(proxy.port, &["SET", "counter", "41"]),
        (true, "OK".into(), String::new())
    );
    proxy.tell(r#"{cut: reset, on: "INCR", direction: to_server, name: mid}"#);
    proxy.event("fault_added");
    let (ok, _, stderr) = Redis::cli(proxy.port, &["INCR", "counter"]);
    assert!(!ok && stderr.contains("reset"), "{stderr}");
    let line = proxy.tcprun.wait_stderr("the cut firing", |line| {
        line.contains(r#""event":"fault""#) && line.contains(r#""name":"mid""#)
    });
    let fired: Value = serde_json::from_str(&line).expect("JSON");
    assert_eq!(fired["kind"], "cut");
    // RESP: `*2\r\n$4\r\nINCR` is the request up to the end of the match.
    assert_eq!(fired["offset"], 12);
    assert_eq!(Redis::cli(redis.port, &["GET", "counter"]).1, "41");
    proxy.tell("clear mid");
    proxy.event("faults_cleared");
    assert_eq!(Redis::cli(proxy.port, &["INCR", "counter"]).1, "42");
    proxy.stop();
}
