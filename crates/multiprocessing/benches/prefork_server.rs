//! Benchmark: the pre-fork server beside chapter 3's thread server, and what the articles'
//! process-per-connection design would pay.
//!
//! 1. **Round trips per second**: the `testbed` load client (50 connections × 200 checked round
//!    trips) against `prefork` with 2 workers, then against `threading::server`, in turns, round
//!    after round, so that a noisy moment hurts both alike. The ratio is computed per round.
//! 2. **A process per client**: what starting one process per connection costs at least: spawn
//!    and join a process that does nothing (connections per second, if each needed one), and the
//!    memory of one such process while it waits (`Rss` and `Pss` from `/proc/PID/smaps_rollup`;
//!    `Pss` divides pages shared with other processes among them, so it is the fairer share).
//!
//! Run it (a release build; `harness = false`, so `main` calls `init()` first):
//!
//! ```text
//! cargo bench -p multiprocessing --bench prefork_server
//! cargo bench -p multiprocessing --bench prefork_server -- 9     # rounds (default 5)
//! ```
//!
//! It prints medians with the minimum and maximum. The figures vary between machines and with
//! the load (other builds on the same cores distort everything); compare the ratios.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use multiprocessing::Process;
use multiprocessing::prefork::{PreforkConfig, PreforkServer, serve};
use multiprocessing::sync::Event;
use testbed::load::{self, LoadConfig};
use threading::server::{self, ServerConfig};

const CONNECTIONS: usize = 50;
const ROUND_TRIPS: usize = 200;
const SPAWNS: usize = 50;

fn main() {
    multiprocessing::init();
    let rounds: usize = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .find_map(|a| a.parse().ok())
        .unwrap_or(5);
    let (mut prefork, mut threads, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let pre = prefork_rate();
        let thr = thread_server_rate();
        ratios.push(pre / thr);
        prefork.push(pre);
        threads.push(thr);
    }
    println!("{CONNECTIONS} connections × {ROUND_TRIPS} round trips, {rounds} rounds:");
    print_line("prefork, 2 workers (round trips/s)", &mut prefork);
    print_line("thread server (round trips/s)", &mut threads);
    print_line("ratio prefork / threads", &mut ratios);

    let mut per_second = (0..rounds).map(|_| spawns_per_second()).collect::<Vec<_>>();
    print_line(
        "process per client: processes started+joined/s",
        &mut per_second,
    );
    let (rss, pss) = idle_child_memory();
    println!("one idle child process: Rss {rss} KiB, Pss {pss} KiB");
}

fn load_rate(addr: SocketAddr) -> f64 {
    let config = LoadConfig {
        connections: CONNECTIONS,
        round_trips: ROUND_TRIPS,
        timeout: Duration::from_secs(10),
    };
    load::run(addr, &config)
        .expect("every reply checked")
        .per_second()
}

fn prefork_rate() -> f64 {
    let server = PreforkServer::bind("127.0.0.1:0", PreforkConfig::default(), serve)
        .expect("start the pre-fork server");
    let rate = load_rate(server.local_addr());
    let report = server.shutdown().expect("shutdown");
    assert!(report.is_clean(), "{report:?}");
    rate
}

fn thread_server_rate() -> f64 {
    let server = server::spawn("127.0.0.1:0", ServerConfig::default()).expect("start");
    let rate = load_rate(server.local_addr());
    server.shutdown().expect("shutdown");
    rate
}

fn nothing(_: ()) {}

/// Starts and joins [`SPAWNS`] processes one after another; returns how many per second.
fn spawns_per_second() -> f64 {
    let started = Instant::now();
    for _ in 0..SPAWNS {
        Process::spawn(nothing, ())
            .expect("spawn")
            .join()
            .expect("join");
    }
    SPAWNS as f64 / started.elapsed().as_secs_f64()
}

fn wait_for(event: Event) {
    let _ = event.wait();
}

/// The `Rss` and `Pss` (KiB) of a child process that waits on an event.
fn idle_child_memory() -> (u64, u64) {
    let release = Event::new().expect("an event");
    let child = Process::spawn(wait_for, release.clone()).expect("spawn");
    let path = format!("/proc/{}/smaps_rollup", child.pid());
    // The child is forked and running from its first instant; give it a moment to settle
    // into its wait, so the figure is that of a waiting process.
    std::thread::sleep(Duration::from_millis(200));
    let rollup = std::fs::read_to_string(&path).expect("read smaps_rollup");
    release.set().expect("release the child");
    child.join().expect("join");
    let field = |name: &str| {
        rollup
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    (field("Rss:"), field("Pss:"))
}

fn print_line(what: &str, values: &mut [f64]) {
    values.sort_by(f64::total_cmp);
    let median = values[values.len() / 2];
    let (min, max) = (values[0], values[values.len() - 1]);
    println!("  {what:<48} median {median:>10.1}   min {min:>10.1}   max {max:>10.1}");
}
