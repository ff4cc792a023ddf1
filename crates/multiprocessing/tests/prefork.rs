//! Tests of `prefork`: many clients at once, bad input that must not hurt anyone else or leak a
//! descriptor, the per-worker cap, a worker killed and replaced, shutdown with and without live
//! connections, a worker that ignores the stop, bad configurations, and the hand-off refusing a
//! stranger.
//!
//! A `harness = false` target (workers re-execute this binary, so `main` calls
//! `multiprocessing::init()` first); see `support` for the watchdog and the final check that no
//! child process is left behind. Every server binds `127.0.0.1:0`.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use multiprocessing::prefork::handoff::HandoffPoint;
use multiprocessing::prefork::{
    BUSY_REPLY, PreforkConfig, PreforkError, PreforkServer, WorkerJob, WorkerReport, serve,
};
use testbed::line::{LineClient, MAX_LINE_BYTES};
use testbed::load::{self, LoadConfig};
use testbed::wait::{DEADLINE, wait_until, within};

fn main() -> ExitCode {
    multiprocessing::init();
    support::run(
        tests![
            two_hundred_clients_get_every_reply,
            bad_input_hurts_nobody_and_leaks_no_descriptor,
            a_full_worker_answers_busy_and_serves_again_later,
            a_killed_worker_is_replaced_and_the_server_keeps_serving,
            shutdown_lets_a_live_connection_finish,
            shutdown_closes_a_connection_that_outstays_the_grace,
            a_worker_that_ignores_the_stop_is_killed_and_reported,
            bad_configurations_and_a_taken_port_are_errors,
            the_handoff_gives_the_listener_to_the_right_process_only,
        ],
        support::TEST_DEADLINE,
    )
}

fn config(workers: usize, max_connections: usize) -> PreforkConfig {
    let mut config = PreforkConfig {
        workers,
        ..PreforkConfig::default()
    };
    config.worker.max_connections = max_connections;
    config
}

fn start(config: PreforkConfig) -> PreforkServer {
    PreforkServer::bind("127.0.0.1:0", config, serve).expect("start the pre-fork server")
}

fn client(server: &PreforkServer) -> LineClient {
    LineClient::connect(server.local_addr(), DEADLINE).expect("connect to the server")
}

/// Shuts down within the deadline and insists every worker exited by itself.
fn shut_down(server: PreforkServer) -> multiprocessing::prefork::ShutdownReport {
    let report =
        within("the server's shutdown", DEADLINE, move || server.shutdown()).expect("shutdown");
    assert!(
        report.is_clean(),
        "a worker did not exit by itself: {report:?}"
    );
    report
}

fn open_descriptors(pid: u32) -> usize {
    descriptors(pid).len()
}

/// What each open descriptor of `pid` refers to (`socket:[1234]`, `pipe:[...]`, a path).
fn descriptors(pid: u32) -> Vec<String> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap_or_else(|e| panic!("reading /proc/{pid}/fd: {e}"))
        .map(|entry| {
            let path = entry.expect("an entry of /proc/PID/fd").path();
            std::fs::read_link(&path).map_or_else(|e| e.to_string(), |t| t.display().to_string())
        })
        .collect()
}

fn two_hundred_clients_get_every_reply() {
    let server = start(config(2, 256));
    let load = LoadConfig {
        connections: 200,
        round_trips: 100,
        timeout: DEADLINE,
    };
    let addr = server.local_addr();
    let report = within(
        "200 clients × 100 round trips",
        support::TEST_DEADLINE,
        move || load::run(addr, &load),
    )
    .expect("every reply as the protocol says");
    assert_eq!(report.round_trips, 200 * 100);
    let total = shut_down(server).total();
    assert_eq!(total.accepted, 200, "each client served once: {total:?}");
    assert_eq!(
        (total.rejected, total.broken, total.panicked),
        (0, 0, 0),
        "{total:?}"
    );
}

/// Sends `bytes`, and returns everything the server sends until it closes.
fn send_and_read_to_end(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    stream.write_all(bytes).expect("send");
    let mut reply = Vec::new();
    stream
        .read_to_end(&mut reply)
        .expect("read until the server closes");
    String::from_utf8_lossy(&reply).into_owned()
}

fn bad_input_hurts_nobody_and_leaks_no_descriptor() {
    let mut config = config(2, 1100);
    config.worker.idle_timeout = Duration::from_millis(300);
    let server = start(config);
    let addr = server.local_addr();
    // `start` returns once every worker holds the listener; from then on, a worker opens
    // descriptors only for connections.
    let pids = server.worker_pids();
    let baseline: Vec<Vec<String>> = pids.iter().map(|&pid| descriptors(pid)).collect();

    // A well-behaved client talks all through the abuse, every reply checked.
    let steady = thread::spawn(move || {
        let mut steady = LineClient::connect(addr, DEADLINE).unwrap();
        for n in 0..300 {
            assert_eq!(steady.request(&format!("ECHO {n}")).unwrap(), n.to_string());
        }
        assert_eq!(steady.request("QUIT").unwrap(), "BYE");
    });

    let mut long = vec![b'x'; MAX_LINE_BYTES * 4];
    long.push(b'\n');
    assert_eq!(send_and_read_to_end(addr, &long), "ERR line too long\n");

    let mut binary = client(&server);
    binary.send_raw(b"\xff\xfe PING\n").unwrap();
    assert_eq!(
        binary.read_line().unwrap().as_deref(),
        Some("ERR invalid utf-8")
    );
    assert_eq!(
        binary.request("PING").unwrap(),
        "PONG",
        "kept open after bad UTF-8"
    );

    let mut silent = client(&server);
    assert_eq!(
        silent.read_line().unwrap(),
        None,
        "an idle client is disconnected"
    );

    for n in 0..1000 {
        let mut abrupt = TcpStream::connect(addr).expect("connect");
        if n % 2 == 0 {
            let _ = abrupt.write_all(b"ECHO cut off in the mid"); // no '\n', then gone
        }
    }
    // The workers share one accept queue, first in first out: once a client that connected
    // after the thousand is served, all of them have been accepted.
    assert_eq!(client(&server).request("PING").unwrap(), "PONG");
    within("the steady client", DEADLINE, move || steady.join()).expect("steady client");
    drop(binary);

    for (&pid, expected) in pids.iter().zip(&baseline) {
        let what = format!("worker {pid}'s descriptors back at {expected:?}");
        let back = std::panic::catch_unwind(|| {
            wait_until(&what, DEADLINE, || open_descriptors(pid) == expected.len())
        });
        if let Err(panic) = back {
            eprintln!("worker {pid} now has {:?}", descriptors(pid));
            std::panic::resume_unwind(panic);
        }
    }
    assert_eq!(server.worker_pids(), pids, "no worker died");
    let total = shut_down(server).total();
    assert_eq!(total.panicked, 0);
    assert!(
        total.idle_timeouts >= 1,
        "the silent client was timed out: {total:?}"
    );
    assert!(
        total.broken >= 500,
        "the cut-off lines count as broken: {total:?}"
    );
}

fn a_full_worker_answers_busy_and_serves_again_later() {
    let server = start(config(1, 2));
    let mut first = client(&server);
    let mut second = client(&server);
    assert_eq!(first.request("PING").unwrap(), "PONG");
    assert_eq!(second.request("PING").unwrap(), "PONG");

    let mut third = client(&server);
    assert_eq!(third.read_line().unwrap().as_deref(), Some(BUSY_REPLY));
    assert_eq!(
        third.read_line().unwrap(),
        None,
        "closed after the busy reply"
    );

    assert_eq!(first.request("QUIT").unwrap(), "BYE");
    // The slot is free once the worker has seen the QUIT through; until then, busy is right.
    wait_until("a client served after one left", DEADLINE, || {
        let mut next = client(&server);
        next.request("PING").is_ok_and(|reply| reply == "PONG")
    });
    assert_eq!(second.request("ECHO still here").unwrap(), "still here");
    drop((second, third));
    let total = shut_down(server).total();
    assert!(total.rejected >= 1, "the busy reply was counted: {total:?}");
}

fn a_killed_worker_is_replaced_and_the_server_keeps_serving() {
    let server = start(config(2, 64));
    let pids = server.worker_pids();
    assert_eq!(pids.len(), 2);
    let victim = pids[0];
    let pid = rustix::process::Pid::from_raw(victim.cast_signed()).expect("a pid");
    rustix::process::kill_process(pid, rustix::process::Signal::KILL).expect("SIGKILL");

    wait_until("a new worker in the dead one's place", DEADLINE, || {
        let now = server.worker_pids();
        now.len() == 2 && !now.contains(&victim)
    });
    assert_eq!(server.replaced(), 1);
    assert!(
        !std::path::Path::new(&format!("/proc/{victim}")).exists(),
        "the dead worker was reaped"
    );
    let addr = server.local_addr();
    let load = LoadConfig {
        connections: 20,
        round_trips: 20,
        timeout: DEADLINE,
    };
    within("load after the replacement", DEADLINE, move || {
        load::run(addr, &load)
    })
    .expect("the server serves after a worker died");
    let report = shut_down(server);
    assert_eq!(
        (report.workers.len(), report.replaced),
        (2, 1),
        "{report:?}"
    );
}

fn connection_refused(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, DEADLINE)
        .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionRefused)
}

fn shutdown_lets_a_live_connection_finish() {
    let mut config = config(2, 8);
    config.worker.grace = DEADLINE;
    let server = start(config);
    let addr = server.local_addr();
    let mut live = client(&server);
    assert_eq!(live.request("PING").unwrap(), "PONG");

    let stopping = thread::spawn(move || server.shutdown());
    wait_until("the listener closed by every process", DEADLINE, || {
        connection_refused(addr)
    });
    // No new clients now, but the one already here is still served.
    assert_eq!(
        live.request("ECHO after the stop").unwrap(),
        "after the stop"
    );
    assert_eq!(live.request("QUIT").unwrap(), "BYE");
    let report = within("shutdown after the client left", DEADLINE, move || {
        stopping.join()
    })
    .expect("the shutdown thread")
    .expect("shutdown");
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.total().cut_at_shutdown, 0, "{report:?}");
}

fn shutdown_closes_a_connection_that_outstays_the_grace() {
    let mut config = config(1, 8);
    config.worker.grace = Duration::from_millis(200);
    let server = start(config);
    let mut lingering = client(&server);
    assert_eq!(lingering.request("PING").unwrap(), "PONG");
    let report = shut_down(server);
    assert_eq!(report.total().cut_at_shutdown, 1, "{report:?}");
    assert!(
        !matches!(lingering.request("PING"), Ok(reply) if reply == "PONG"),
        "the connection was closed at the end of the grace period"
    );
}

/// A worker that takes the listener and then never looks at its control channel.
fn stubborn_worker(job: WorkerJob) -> Result<WorkerReport, PreforkError> {
    let _kept = job.ticket.redeem(job.config.handoff_timeout);
    loop {
        thread::park(); // parks forever: only SIGKILL ends this process
    }
}

fn a_worker_that_ignores_the_stop_is_killed_and_reported() {
    let mut config = config(1, 8);
    config.worker.grace = Duration::from_millis(100);
    config.stop_margin = Duration::from_millis(300);
    let server = PreforkServer::bind("127.0.0.1:0", config, stubborn_worker).unwrap();
    let pids = server.worker_pids();
    let report = within("shutdown of a stubborn worker", DEADLINE, move || {
        server.shutdown()
    })
    .expect("shutdown");
    assert_eq!(report.killed, pids, "{report:?}");
    assert!(report.workers.is_empty());
}

fn bad_configurations_and_a_taken_port_are_errors() {
    for (what, bad) in [
        ("no workers", config(0, 8)),
        ("a cap of zero", config(1, 0)),
        ("no idle timeout", {
            let mut c = config(1, 8);
            c.worker.idle_timeout = Duration::ZERO;
            c
        }),
    ] {
        match PreforkServer::bind("127.0.0.1:0", bad, serve) {
            Err(PreforkError::Config(message)) => assert!(!message.is_empty()),
            other => panic!("{what}: expected a Config error, got {other:?}"),
        }
    }
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    match PreforkServer::bind(addr, config(1, 8), serve) {
        Err(PreforkError::Bind { addr: named, .. }) => assert_eq!(named, addr.to_string()),
        other => panic!("expected a Bind error for a taken port, got {other:?}"),
    }
    // The port's owner is unaffected.
    assert_eq!(taken.local_addr().unwrap(), addr);
}

fn the_handoff_gives_the_listener_to_the_right_process_only() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();

    // Expecting pid 1 (init): our own connection is a stranger's and gets nothing. (Should it
    // connect only after the wait, closing the hand-off point turns it away all the same.)
    let point = HandoffPoint::bind().unwrap();
    let ticket = point.ticket();
    let stranger = thread::spawn(move || ticket.redeem(DEADLINE));
    let refused = point.hand_over(&listener, 1, Duration::from_millis(500));
    assert_eq!(refused.unwrap_err().kind(), std::io::ErrorKind::TimedOut);
    drop(point);
    let got = within("the stranger's redeem", DEADLINE, move || stranger.join()).unwrap();
    assert!(got.is_err(), "a stranger must not get the listener");

    // Expecting ourselves: the listener arrives, the same socket.
    let point = HandoffPoint::bind().unwrap();
    let ticket = point.ticket();
    let redeemer = thread::spawn(move || ticket.redeem(DEADLINE));
    let _control = point
        .hand_over(&listener, std::process::id(), DEADLINE)
        .expect("hand over to ourselves");
    let (received, _channel) = within("the redeem", DEADLINE, move || redeemer.join())
        .unwrap()
        .expect("the listener");
    assert_eq!(received.local_addr().unwrap(), addr);
}
