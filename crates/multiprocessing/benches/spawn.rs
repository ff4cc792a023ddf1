//! Benchmark: how long it takes to start a process, run a trivial function in it and join it.
//!
//! Python's figures on the machine the articles' checks were run on: `fork` 1.3 ms, `spawn` 40 ms
//! per start + join. This crate re-executes the program (like `spawn`), and aims at 3 ms or less.
//!
//! Run it (release build; `harness = false`, so `main` calls `init()` first):
//!
//! ```text
//! cargo bench -p multiprocessing --bench spawn
//! cargo bench -p multiprocessing --bench spawn -- 500     # more rounds
//! ```
//!
//! It prints the median, the 10th and 90th percentile and the minimum of the rounds, for a
//! `fn(u32) -> u32` and for a function that receives and returns 1 MiB. The figures vary from
//! machine to machine and with the load; the median is the one to compare.

use std::time::{Duration, Instant};

use multiprocessing::Process;

fn identity(x: u32) -> u32 {
    x
}

fn echo_bytes(bytes: Vec<u8>) -> usize {
    bytes.len()
}

fn main() {
    multiprocessing::init();
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200);
    // Warm up: the first spawn also starts the spawner thread and maps the executable.
    for _ in 0..5 {
        Process::spawn(identity, 1).and_then(Process::join).expect("warm-up");
    }
    report(
        "spawn + join, fn(u32) -> u32",
        measure(rounds, || {
            let value = Process::spawn(identity, 7).and_then(Process::join).expect("spawn/join");
            assert_eq!(value, 7);
        }),
    );
    let mib = vec![0xA5_u8; 1 << 20];
    report(
        "spawn + join, 1 MiB argument (Vec<u8>)",
        measure(rounds / 4, || {
            let len = Process::spawn(echo_bytes, mib.clone())
                .and_then(Process::join)
                .expect("spawn/join");
            assert_eq!(len, 1 << 20);
        }),
    );
}

fn measure(rounds: usize, mut round: impl FnMut()) -> Vec<Duration> {
    let mut times: Vec<Duration> = (0..rounds.max(1))
        .map(|_| {
            let started = Instant::now();
            round();
            started.elapsed()
        })
        .collect();
    times.sort();
    times
}

fn report(what: &str, times: Vec<Duration>) {
    let at = |fraction: f64| times[((times.len() - 1) as f64 * fraction) as usize];
    println!(
        "{what}: median {:.2} ms (p10 {:.2} ms, p90 {:.2} ms, min {:.2} ms, {} rounds)",
        ms(at(0.5)),
        ms(at(0.1)),
        ms(at(0.9)),
        ms(times[0]),
        times.len()
    );
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}
