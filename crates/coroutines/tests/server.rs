//! Tests of `coroutines::server`, the task-per-connection line server, against the same contract as
//! chapter 3's thread server: the protocol, every limit (line length, UTF-8, idle timeout, abrupt
//! disconnects, the cap), graceful shutdown within its grace period with no task left, and load
//! runs with every reply checked (200 clients × 100 round trips; 5 000 connections held at once).
//!
//! The server runs on a runtime of the test's own (two workers, like the machine); the clients are
//! blocking `LineClient`s on the test's thread, each read under a deadline, so the tests read like
//! the thread server's and a hang fails with a message. The idle timeout's exact timing is tested
//! on the paused clock in the module's unit tests; here it is a short real timeout.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use coroutines::server::{
    self, BUSY_REPLY, ServerConfig, ServerError, ServerHandle, ServerStats, ShutdownReport,
};
use coroutines::shutdown::Outcome;
use testbed::line::{LineClient, MAX_LINE_BYTES};
use testbed::load::{self, LoadConfig};
use testbed::wait::{DEADLINE, wait_until, within};
use tokio::runtime::Runtime;

/// The longest any client read or connect may take.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

/// A server and the runtime it runs on.
struct Running {
    runtime: Runtime,
    server: ServerHandle,
}

impl Running {
    fn start(config: ServerConfig) -> Running {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let server = runtime
            .block_on(server::spawn("127.0.0.1:0", config))
            .expect("the server binds 127.0.0.1:0");
        Running { runtime, server }
    }

    fn addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    fn stats(&self) -> ServerStats {
        self.server.stats()
    }

    fn wait_for_stats(&self, what: &str, done: impl Fn(&ServerStats) -> bool) {
        wait_until(what, DEADLINE, || done(&self.server.stats()));
    }

    fn wait_until_idle(&self) {
        let idle = self.runtime.block_on(self.server.wait_until_idle(DEADLINE));
        assert!(
            idle,
            "no connection left live within {DEADLINE:?}: {:?}",
            self.stats()
        );
    }

    /// Shuts down under a watchdog: a hang in shutdown fails the test instead of blocking it.
    fn shutdown(self) -> Result<ShutdownReport, ServerError> {
        within("the server's shutdown", DEADLINE, move || {
            let Running { runtime, server } = self;
            runtime.block_on(server.shutdown())
        })
    }
}

fn connect(addr: SocketAddr) -> LineClient {
    LineClient::connect(addr, CLIENT_TIMEOUT).expect("the client connects")
}

#[test]
fn it_speaks_the_line_protocol() {
    let running = Running::start(ServerConfig::default());
    let mut client = connect(running.addr());

    assert_eq!(client.request("PING").unwrap(), "PONG");
    assert_eq!(client.request("ECHO hello, tasks").unwrap(), "hello, tasks");
    assert_eq!(client.request("ECHO").unwrap(), "");
    assert_eq!(client.request("DANCE").unwrap(), "ERR unknown command");
    assert_eq!(client.request("QUIT").unwrap(), "BYE");
    assert_eq!(client.read_line().unwrap(), None, "closed after BYE");

    running.wait_until_idle();
    assert_eq!(running.stats().accepted, 1);
}

#[test]
fn an_oversized_line_is_refused_and_the_connection_closed() {
    let running = Running::start(ServerConfig::default());
    let mut client = connect(running.addr());
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
    // The server stops reading after MAX_LINE_BYTES + 1 bytes; its lingering close keeps the
    // unread rest from turning into a reset that would destroy the reply.
    let running = Running::start(ServerConfig::default());
    let mut client = connect(running.addr());
    client.send_raw(&vec![b'y'; 256 * 1024]).unwrap();

    assert_eq!(
        client.read_line().unwrap().as_deref(),
        Some("ERR line too long")
    );
    assert_eq!(client.read_line().unwrap(), None);
}

#[test]
fn a_line_of_exactly_the_limit_is_served() {
    let running = Running::start(ServerConfig::default());
    let mut client = connect(running.addr());
    let text = "z".repeat(MAX_LINE_BYTES - "ECHO ".len());

    assert_eq!(client.request(&format!("ECHO {text}")).unwrap(), text);
}

#[test]
fn non_utf8_is_refused_and_the_connection_stays_open() {
    let running = Running::start(ServerConfig::default());
    let mut client = connect(running.addr());
    client.send_raw(b"ECHO \xff\xfe\n").unwrap();

    assert_eq!(
        client.read_line().unwrap().as_deref(),
        Some("ERR invalid utf-8")
    );
    assert_eq!(client.request("PING").unwrap(), "PONG", "still open");
}

#[test]
fn a_silent_client_is_dropped_after_the_idle_timeout() {
    let running = Running::start(ServerConfig {
        idle_timeout: Duration::from_millis(200),
        ..ServerConfig::default()
    });
    let mut silent = connect(running.addr());

    assert_eq!(
        silent.read_line().unwrap(),
        None,
        "the server closes the silent connection"
    );
    running.wait_until_idle();
    assert_eq!(running.stats().idle_timeouts, 1);
}

#[test]
fn abrupt_disconnects_free_their_slots_and_the_server_keeps_serving() {
    let running = Running::start(ServerConfig::default());
    let clients = 30;
    for _ in 0..clients {
        let mut client = connect(running.addr());
        client.send_raw(b"ECHO this line never ends").unwrap();
        // Dropped here, mid-line.
    }

    running.wait_for_stats("every connection accepted and ended", |stats| {
        stats.accepted == clients && stats.live == 0
    });
    let stats = running.stats();
    assert_eq!(
        stats.broken, clients,
        "each cut mid-line is a broken connection"
    );
    assert_eq!(stats.panicked, 0);
    assert_eq!(connect(running.addr()).request("PING").unwrap(), "PONG");
}

#[test]
fn the_client_over_the_cap_is_told_so_and_closed() {
    let cap = 3;
    let running = Running::start(ServerConfig {
        max_connections: cap,
        ..ServerConfig::default()
    });
    // A round trip on each proves the server has accepted it and holds its permit.
    let mut admitted: Vec<LineClient> = (0..cap).map(|_| connect(running.addr())).collect();
    for client in &mut admitted {
        assert_eq!(client.request("PING").unwrap(), "PONG");
    }

    let mut extra = connect(running.addr());
    assert_eq!(extra.read_line().unwrap().as_deref(), Some(BUSY_REPLY));
    assert_eq!(
        extra.read_line().unwrap(),
        None,
        "closed after the busy reply"
    );
    assert_eq!(running.stats().rejected, 1);

    // A slot freed is a slot available.
    drop(admitted.pop());
    running.wait_for_stats("a freed slot", |stats| stats.live == cap - 1);
    assert_eq!(connect(running.addr()).request("PING").unwrap(), "PONG");
    for client in &mut admitted {
        assert_eq!(
            client.request("PING").unwrap(),
            "PONG",
            "the others still served"
        );
    }
}

#[test]
fn a_cap_of_zero_is_a_config_error() {
    let runtime = Runtime::new().unwrap();
    let config = ServerConfig {
        max_connections: 0,
        ..ServerConfig::default()
    };
    match runtime.block_on(server::spawn("127.0.0.1:0", config)) {
        Err(ServerError::Config(message)) => assert!(message.contains("max_connections")),
        other => panic!("expected ServerError::Config, got {other:?}"),
    }
}

#[test]
fn shutdown_ends_live_connections_and_leaves_no_task() {
    let running = Running::start(ServerConfig {
        shutdown_timeout: Duration::from_secs(5),
        ..ServerConfig::default()
    });
    let addr = running.addr();
    let mut idle: Vec<LineClient> = (0..5).map(|_| connect(addr)).collect();
    for client in &mut idle {
        assert_eq!(client.request("PING").unwrap(), "PONG");
    }
    let mut mid_line = connect(addr);
    mid_line.send_raw(b"ECHO half a li").unwrap();
    running.wait_for_stats("6 live connections", |stats| stats.live == 6);

    let report = running.shutdown().expect("shutdown succeeds");

    assert_eq!(report.closed, 6);
    assert_eq!(
        report.outcome,
        Outcome::Drained,
        "idle connections end at once: {report:?}"
    );
    assert_eq!(report.forced, 0);
    assert_eq!(report.tasks_left, 0, "the tracker is empty");
    assert_eq!((report.stats.live, report.stats.panicked), (0, 0));
    for client in &mut idle {
        assert_eq!(client.read_line().unwrap(), None, "closed by shutdown");
    }
    assert_eq!(
        mid_line.read_line().unwrap(),
        None,
        "the half line is not answered"
    );
    assert!(
        TcpStream::connect_timeout(&addr, CLIENT_TIMEOUT).is_err(),
        "nothing listens after shutdown"
    );
}

#[test]
fn a_client_that_never_reads_is_forced_off_when_the_grace_period_ends() {
    use std::io::Write;
    let grace = Duration::from_millis(300);
    let running = Running::start(ServerConfig {
        shutdown_timeout: grace,
        ..ServerConfig::default()
    });
    // Send requests without ever reading a reply, until the buffers in both directions are full:
    // then the server's task is stuck writing a reply, and our write times out.
    let mut greedy = TcpStream::connect_timeout(&running.addr(), CLIENT_TIMEOUT).unwrap();
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

    let report = running
        .shutdown()
        .expect("the forced stop ends the stuck task");

    assert_eq!(report.outcome, Outcome::GraceExpired, "{report:?}");
    assert_eq!((report.closed, report.forced), (1, 1));
    assert_eq!(report.tasks_left, 0);
    assert!(
        report.elapsed >= grace,
        "it waited out the grace period first: {report:?}"
    );
}

#[test]
fn shutdown_of_an_idle_server_is_prompt_and_clean() {
    let running = Running::start(ServerConfig::default());
    let report = running.shutdown().expect("shutdown succeeds");
    assert_eq!(report.outcome, Outcome::Drained);
    assert_eq!((report.closed, report.tasks_left), (0, 0));
    assert_eq!(report.stats, ServerStats::default());
}

#[test]
fn dropping_the_handle_stops_the_server() {
    let Running { runtime, server } = Running::start(ServerConfig::default());
    let mut client = connect(server.local_addr());
    assert_eq!(client.request("PING").unwrap(), "PONG");

    drop(server);
    assert_eq!(
        client.read_line().unwrap(),
        None,
        "the connection ends with the server"
    );
    drop(runtime);
}

#[test]
fn two_hundred_clients_of_a_hundred_round_trips_get_every_reply_right() {
    let running = Running::start(ServerConfig::default());
    let config = LoadConfig {
        connections: 200,
        round_trips: 100,
        timeout: CLIENT_TIMEOUT,
    };

    let report = load::run(running.addr(), &config).expect("every reply is right");

    assert_eq!(report.connections, 200);
    assert_eq!(report.round_trips, 200 * 100);
    running.wait_until_idle();
    let stats = running.stats();
    assert_eq!((stats.accepted, stats.rejected, stats.broken), (200, 0, 0));
    let shut = running.shutdown().expect("shutdown succeeds");
    assert_eq!(shut.tasks_left, 0);
}

#[test]
fn an_address_in_use_is_a_bind_error() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let runtime = Runtime::new().unwrap();

    match runtime.block_on(server::spawn(addr, ServerConfig::default())) {
        Err(ServerError::Bind { source, .. }) => {
            assert_eq!(source.kind(), std::io::ErrorKind::AddrInUse)
        }
        other => panic!("expected ServerError::Bind, got {other:?}"),
    }
}
