//! The async server beside chapter 3's thread server, in the same run: round trips per second
//! under the `testbed` load client, and resident memory per open connection.
//!
//! `cargo bench -p coroutines --bench server` (release). The machine may be shared and noisy, so
//! each throughput figure is the median of several runs, printed with its spread, and the two
//! servers take turns so that a burst of outside load hits both. Memory is measured in a child
//! process per server (this bench re-runs itself), so that one server's freed memory cannot hide
//! the other's cost: the child holds `CONNECTIONS` client sockets open against its server, each
//! after one checked round trip, and reports the growth of `VmRSS` (Linux only) per connection.
//! The clients are plain blocking sockets held in a `Vec`: they cost file descriptors and kernel
//! buffers, not process memory, so the growth is the server's.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::Duration;

use testbed::load::{self, LoadConfig};

const LOAD_RUNS: usize = 7;
const CONNECTIONS: usize = 5_000;
const PROBE_ENV: &str = "COROUTINES_BENCH_MEMORY_PROBE";

fn main() {
    if let Ok(which) = std::env::var(PROBE_ENV) {
        memory_probe(&which);
        return;
    }
    throughput();
    for which in ["async", "threads"] {
        let output = Command::new(std::env::current_exe().unwrap())
            .env(PROBE_ENV, which)
            .output()
            .expect("the memory probe runs");
        print!("{}", String::from_utf8_lossy(&output.stdout));
        if !output.status.success() {
            eprintln!(
                "{which} probe failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
}

fn throughput() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let async_server = runtime
        .block_on(coroutines::server::spawn("127.0.0.1:0", Default::default()))
        .unwrap();
    let thread_server =
        threading::server::spawn("127.0.0.1:0", threading::server::ServerConfig::default())
            .unwrap();
    let config = LoadConfig {
        connections: 50,
        round_trips: 200,
        timeout: Duration::from_secs(10),
    };
    let (mut tasks, mut threads) = (Vec::new(), Vec::new());
    for _ in 0..LOAD_RUNS {
        tasks.push(
            load::run(async_server.local_addr(), &config)
                .unwrap()
                .per_second(),
        );
        threads.push(
            load::run(thread_server.local_addr(), &config)
                .unwrap()
                .per_second(),
        );
    }
    println!("50 connections × 200 round trips, {LOAD_RUNS} runs each, alternating:");
    report("async server (tasks)", &mut tasks);
    report("thread server (threads)", &mut threads);
    let ratios: Vec<f64> = tasks.iter().zip(&threads).map(|(a, t)| a / t).collect();
    let mut ratios = ratios;
    ratios.sort_by(f64::total_cmp);
    println!(
        "  tasks / threads, per pair of runs: median {:.2}×",
        ratios[ratios.len() / 2]
    );
    drop(thread_server);
    drop(async_server);
}

fn report(name: &str, rates: &mut [f64]) {
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    let (low, high) = (rates[0], rates[rates.len() - 1]);
    println!("  {name}: median {median:.0} round trips/s (min {low:.0}, max {high:.0})");
}

fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Opens `CONNECTIONS` connections to `addr`, one checked `PING` each, and keeps them open.
fn hold_connections(addr: SocketAddr) -> Vec<TcpStream> {
    (0..CONNECTIONS)
        .map(|i| {
            let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            stream.write_all(b"PING\n").unwrap();
            let mut reply = String::new();
            BufReader::new(&stream).read_line(&mut reply).unwrap();
            assert_eq!(reply, "PONG\n", "connection {i}");
            stream
        })
        .collect()
}

fn memory_probe(which: &str) {
    raise_open_file_limit();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let before;
    let clients;
    let after;
    if which == "async" {
        let config = coroutines::server::ServerConfig {
            max_connections: CONNECTIONS,
            ..Default::default()
        };
        let server = runtime
            .block_on(coroutines::server::spawn("127.0.0.1:0", config))
            .unwrap();
        before = rss_kib();
        clients = hold_connections(server.local_addr());
        after = rss_kib();
        drop(clients);
        drop(server);
    } else {
        let config = threading::server::ServerConfig {
            max_connections: CONNECTIONS,
            ..Default::default()
        };
        let server = threading::server::spawn("127.0.0.1:0", config).unwrap();
        before = rss_kib();
        clients = hold_connections(server.local_addr());
        after = rss_kib();
        drop(clients);
        drop(server);
    }
    match before.zip(after) {
        Some((before, after)) => println!(
            "{which} server, {CONNECTIONS} open connections: +{} KiB resident, {:.1} KiB each",
            after - before,
            (after - before) as f64 / CONNECTIONS as f64
        ),
        None => println!("{which} server: memory not measured (Linux only)"),
    }
}

fn raise_open_file_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    limit.current = limit.maximum;
    let _ = setrlimit(Resource::Nofile, limit);
}
