//! Tests of `threading::server`, the thread-per-connection line server: the protocol, every limit
//! of the shared server contract (line length, UTF-8, idle timeout, abrupt disconnects, the
//! connection cap), graceful shutdown, and a load run with every reply checked.
//!
//! Every client read has a deadline (`LineClient`'s timeout), every wait for the server's state is
//! `wait_until_idle` or a poll with a deadline, and shutdown runs under a watchdog, so a bug fails a
//! test with a message instead of hanging it.

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use testbed::line::{LineClient, MAX_LINE_BYTES};
use testbed::load::{self, LoadConfig};
use threading::server::{
    self, BUSY_REPLY, ServerConfig, ServerError, ServerHandle, ServerStats, ShutdownReport,
};

/// The longest any client read or connect may take.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a test waits for the server to reach a state.
const STATE_DEADLINE: Duration = Duration::from_secs(5);

fn start(config: ServerConfig) -> ServerHandle {
    server::spawn("127.0.0.1:0", config).expect("the server binds 127.0.0.1:0")
}

fn connect(addr: SocketAddr) -> LineClient {
    LineClient::connect(addr, CLIENT_TIMEOUT).expect("the client connects")
}

/// Polls the server's counters until `done` holds, failing with `what` after the deadline.
fn wait_for_stats(server: &ServerHandle, what: &str, done: impl Fn(&ServerStats) -> bool) {
    let deadline = Instant::now() + STATE_DEADLINE;
    loop {
        let stats = server.stats();
        if done(&stats) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {STATE_DEADLINE:?} waiting for {what}; stats: {stats:?}"
        );
        thread::sleep(Duration::from_millis(5));
    }
}

/// Runs `shutdown` on another thread and fails if it has not returned within `deadline` (a hang
/// in shutdown must fail the test, not block it).
fn shutdown_within(server: ServerHandle, deadline: Duration) -> ShutdownReport {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || tx.send(server.shutdown()));
    rx.recv_timeout(deadline)
        .unwrap_or_else(|_| panic!("shutdown did not return within {deadline:?}"))
        .expect("shutdown succeeds")
}

#[test]
fn it_speaks_the_line_protocol() {
    let server = start(ServerConfig::default());
    let mut client = connect(server.local_addr());

    assert_eq!(client.request("PING").unwrap(), "PONG");
    assert_eq!(
        client.request("ECHO hello, threads").unwrap(),
        "hello, threads"
    );
    assert_eq!(client.request("DANCE").unwrap(), "ERR unknown command");
    assert_eq!(client.request("QUIT").unwrap(), "BYE");
    assert_eq!(client.read_line().unwrap(), None, "closed after BYE");

    assert!(
        server.wait_until_idle(STATE_DEADLINE),
        "the connection ends"
    );
    assert_eq!(server.stats().accepted, 1);
}

#[test]
fn an_oversized_line_is_refused_and_the_connection_closed() {
    let server = start(ServerConfig::default());
    let mut client = connect(server.local_addr());

    let mut long = vec![b'x'; MAX_LINE_BYTES + 1];
    long.push(b'\n');
    client.send_raw(&long).unwrap();

    assert_eq!(
        client.read_line().unwrap().as_deref(),
        Some("ERR line too long")
    );
    assert_eq!(client.read_line().unwrap(), None, "closed after the error");
}

#[test]
fn a_huge_line_without_newline_gets_its_answer_before_the_close() {
    // The server stops reading after MAX_LINE_BYTES + 1 bytes; the rest is still in flight. Its
    // lingering close must keep that from turning into a reset that destroys the reply.
    let server = start(ServerConfig::default());
    let mut client = connect(server.local_addr());

    client.send_raw(&vec![b'y'; 256 * 1024]).unwrap();

    assert_eq!(
        client.read_line().unwrap().as_deref(),
        Some("ERR line too long")
    );
    assert_eq!(client.read_line().unwrap(), None);
}

#[test]
fn a_line_of_exactly_the_limit_is_served() {
    let server = start(ServerConfig::default());
    let mut client = connect(server.local_addr());
    let text = "z".repeat(MAX_LINE_BYTES - "ECHO ".len());

    assert_eq!(client.request(&format!("ECHO {text}")).unwrap(), text);
}

#[test]
fn non_utf8_is_refused_and_the_connection_stays_open() {
    let server = start(ServerConfig::default());
    let mut client = connect(server.local_addr());

    client.send_raw(b"ECHO \xff\xfe\n").unwrap();
    assert_eq!(
        client.read_line().unwrap().as_deref(),
        Some("ERR invalid utf-8")
    );
    assert_eq!(client.request("PING").unwrap(), "PONG", "still open");
}

#[test]
fn a_silent_client_is_dropped_after_the_idle_timeout() {
    let server = start(ServerConfig {
        idle_timeout: Duration::from_millis(200),
        ..ServerConfig::default()
    });
    let mut silent = connect(server.local_addr());

    assert_eq!(
        silent.read_line().unwrap(),
        None,
        "the server closes the silent connection"
    );
    assert!(server.wait_until_idle(STATE_DEADLINE), "the slot is freed");
    assert_eq!(server.stats().idle_timeouts, 1);
}

#[test]
fn abrupt_disconnects_free_their_slots_and_the_server_keeps_serving() {
    let server = start(ServerConfig::default());
    let clients = 30;
    for _ in 0..clients {
        let mut client = connect(server.local_addr());
        client.send_raw(b"ECHO this line never ends").unwrap();
        // Dropped here, mid-line.
    }

    // `wait_until_idle` alone could return before the server has even accepted them.
    wait_for_stats(&server, "every connection accepted and ended", |stats| {
        stats.accepted == clients && stats.live == 0
    });
    let stats = server.stats();
    assert_eq!(
        stats.broken, clients,
        "each cut mid-line is a broken connection"
    );
    assert_eq!(stats.panicked, 0);
    assert_eq!(
        connect(server.local_addr()).request("PING").unwrap(),
        "PONG"
    );
}

#[test]
fn the_client_over_the_cap_is_told_so_and_closed() {
    let cap = 3;
    let server = start(ServerConfig {
        max_connections: cap,
        ..ServerConfig::default()
    });
    // A round trip on each proves the server has accepted and registered it.
    let mut admitted: Vec<LineClient> = (0..cap).map(|_| connect(server.local_addr())).collect();
    for client in &mut admitted {
        assert_eq!(client.request("PING").unwrap(), "PONG");
    }

    let mut extra = connect(server.local_addr());
    assert_eq!(extra.read_line().unwrap().as_deref(), Some(BUSY_REPLY));
    assert_eq!(
        extra.read_line().unwrap(),
        None,
        "closed after the busy reply"
    );
    assert_eq!(server.stats().rejected, 1);

    // A slot freed is a slot available.
    drop(admitted.pop());
    wait_for_stats(&server, "a freed slot", |stats| stats.live == cap - 1);
    assert_eq!(
        connect(server.local_addr()).request("PING").unwrap(),
        "PONG"
    );
    for client in &mut admitted {
        assert_eq!(
            client.request("PING").unwrap(),
            "PONG",
            "the others still served"
        );
    }
}

#[test]
fn shutdown_closes_live_connections_and_joins_every_thread() {
    let server = start(ServerConfig {
        shutdown_timeout: Duration::from_secs(2),
        ..ServerConfig::default()
    });
    let addr = server.local_addr();
    let mut idle: Vec<LineClient> = (0..5).map(|_| connect(addr)).collect();
    for client in &mut idle {
        assert_eq!(client.request("PING").unwrap(), "PONG");
    }
    let mut mid_line = connect(addr);
    mid_line.send_raw(b"ECHO half a li").unwrap();
    wait_for_stats(&server, "6 live connections", |stats| stats.live == 6);

    let report = shutdown_within(server, Duration::from_secs(4));

    assert_eq!(report.closed, 6);
    assert_eq!(report.stats.live, 0);
    assert_eq!(report.stats.panicked, 0);
    for client in &mut idle {
        assert_eq!(client.read_line().unwrap(), None, "closed by shutdown");
    }
    assert!(
        TcpStream::connect_timeout(&addr, CLIENT_TIMEOUT).is_err(),
        "nothing listens after shutdown"
    );
}

#[test]
fn a_client_that_never_reads_cannot_hold_up_shutdown() {
    let server = start(ServerConfig {
        shutdown_timeout: Duration::from_secs(2),
        ..ServerConfig::default()
    });
    // Send requests without ever reading a reply, until the buffers in both directions are full:
    // then the server's thread is blocked writing a reply, and our write times out.
    let mut greedy = TcpStream::connect_timeout(&server.local_addr(), CLIENT_TIMEOUT).unwrap();
    greedy
        .set_write_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let request = format!("ECHO {}\n", "r".repeat(1000));
    let mut sent = 0_usize;
    let stalled = loop {
        match greedy.write_all(request.as_bytes()) {
            Ok(()) => sent += 1,
            Err(error) => break error,
        }
        assert!(sent < 1_000_000, "the server never stopped reading");
    };
    assert!(
        matches!(
            stalled.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
        "expected the write to time out, got {stalled}"
    );

    let report = shutdown_within(server, Duration::from_secs(4));

    assert_eq!(report.closed, 1);
    assert_eq!(report.stats.live, 0);
}

#[test]
fn shutdown_of_an_idle_server_is_prompt() {
    let server = start(ServerConfig::default());
    let report = shutdown_within(server, Duration::from_secs(4));
    assert_eq!(report.closed, 0);
    assert_eq!(report.stats, ServerStats::default());
}

#[test]
fn dropping_the_handle_shuts_the_server_down() {
    let server = start(ServerConfig::default());
    let mut client = connect(server.local_addr());
    assert_eq!(client.request("PING").unwrap(), "PONG");

    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        drop(server);
        tx.send(()).unwrap();
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("dropping the handle returns within its shutdown timeout");
    assert_eq!(client.read_line().unwrap(), None);
}

#[test]
fn a_load_run_gets_every_reply_right() {
    let server = start(ServerConfig::default());
    let config = LoadConfig {
        connections: 20,
        round_trips: 200,
        timeout: CLIENT_TIMEOUT,
    };

    let report = load::run(server.local_addr(), &config).expect("every reply is right");

    assert_eq!(report.connections, 20);
    assert_eq!(report.round_trips, 20 * 200);
    assert!(
        server.wait_until_idle(STATE_DEADLINE),
        "every client said QUIT"
    );
    let stats = server.stats();
    assert_eq!((stats.accepted, stats.rejected, stats.broken), (20, 0, 0));
}

#[test]
fn an_address_in_use_is_a_bind_error() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();

    match server::spawn(addr, ServerConfig::default()) {
        Err(ServerError::Bind { source, .. }) => {
            assert_eq!(source.kind(), std::io::ErrorKind::AddrInUse)
        }
        other => panic!("expected ServerError::Bind, got {other:?}"),
    }
}
