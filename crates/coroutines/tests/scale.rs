//! Scale: 5 000 connections open at once against the async server, each making a round trip in
//! every one of a few rounds, every reply checked. The server's memory per connection is measured
//! in `benches/server.rs`, not here (tests assert outcomes, not figures).
//!
//! 5 000 clients and 5 000 server sockets need about 15 000 file descriptors in this one process
//! (a `LineClient` holds two), more than the usual soft limit of 1 024: the test raises the soft
//! `RLIMIT_NOFILE` to the hard one first, and says so plainly if even that is too low.

use std::net::SocketAddr;
use std::time::Duration;

use coroutines::server::{self, ServerConfig};
use testbed::line::LineClient;
use testbed::wait::{DEADLINE, wait_until, within};

const CONNECTIONS: usize = 5_000;
const ROUNDS: usize = 3;
/// File descriptors the test needs, with room for the runtime and the test harness.
const DESCRIPTORS_NEEDED: u64 = 3 * CONNECTIONS as u64 + 500;

/// Raises the soft limit on open files to the hard limit; returns the new soft limit.
fn raise_open_file_limit() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        limit.current = limit.maximum;
        setrlimit(Resource::Nofile, limit).expect("raising the soft RLIMIT_NOFILE to the hard one");
    }
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

fn connect_all(addr: SocketAddr) -> Vec<LineClient> {
    (0..CONNECTIONS)
        .map(|i| {
            LineClient::connect(addr, Duration::from_secs(20))
                .unwrap_or_else(|e| panic!("client {i} of {CONNECTIONS} could not connect: {e}"))
        })
        .collect()
}

#[test]
fn five_thousand_connections_held_at_once_are_all_served() {
    let limit = raise_open_file_limit();
    assert!(
        limit >= DESCRIPTORS_NEEDED,
        "this test needs {DESCRIPTORS_NEEDED} open files, the hard limit allows {limit} \
         (raise it with `ulimit -Hn` as root, or in /etc/security/limits.conf)"
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let config = ServerConfig {
        max_connections: CONNECTIONS,
        idle_timeout: Duration::from_secs(120),
        ..ServerConfig::default()
    };
    let server = runtime
        .block_on(server::spawn("127.0.0.1:0", config))
        .unwrap();
    let addr = server.local_addr();

    let mut clients = within("5 000 connects", Duration::from_secs(120), move || {
        connect_all(addr)
    });
    for round in 0..ROUNDS {
        for (i, client) in clients.iter_mut().enumerate() {
            let text = format!("round {round} client {i}");
            let reply = client.request(&format!("ECHO {text}"));
            assert_eq!(reply.unwrap_or_else(|e| panic!("{text}: {e}")), text);
        }
        if round == 0 {
            // Every client has had a reply and none has left: all are live at once.
            assert_eq!(server.stats().live, CONNECTIONS, "{:?}", server.stats());
        }
    }
    for (i, client) in clients.iter_mut().enumerate() {
        assert_eq!(client.request("QUIT").unwrap(), "BYE", "client {i}");
    }
    drop(clients);
    wait_until("every connection closed", DEADLINE, || {
        server.stats().live == 0
    });
    let stats = server.stats();
    assert_eq!(
        (stats.accepted, stats.rejected, stats.broken),
        (CONNECTIONS as u64, 0, 0)
    );
    let report = runtime.block_on(server.shutdown()).unwrap();
    assert_eq!(report.tasks_left, 0);
}
