//! Benchmark: the cost of a process, and what four of them gain on the articles' CPU-bound task.
//!
//! 1. **Spawn + join**: start a process, run a trivial `fn(u32) -> u32` in it, join it. Python's
//!    figures on the machine the articles' checks were run on: 1.3 ms with `fork`, 40 ms with
//!    `spawn`. This crate re-executes the program (like `spawn`) and aims at 3 ms or less.
//! 2. **Spawn alone**: until `spawn` returns (the OS has started the child; it connects later).
//! 3. **Spawn + join with a 1 MiB argument** (`Vec<u8>`, serialized byte by byte).
//! 4. **Listing 2.1's sum of squares**: four tasks of `Σ n²` for `n < 10⁷` in four processes
//!    against the same four tasks one after another in this process. Targets: four processes at
//!    least 1.8 × faster on two cores; the sequential run at least 30 × faster than Python's 2.3 s.
//!
//! Run it (a release build; `harness = false`, so `main` calls `init()` first):
//!
//! ```text
//! cargo bench -p multiprocessing --bench spawn
//! cargo bench -p multiprocessing --bench spawn -- 500            # more rounds of spawn + join
//! cargo bench -p multiprocessing --bench spawn -- --n 100000000  # ten times longer tasks
//! ```
//!
//! It prints the median, the 10th and 90th percentiles and the minimum of each measurement. The
//! figures vary between machines and with the load (other builds running on the same cores
//! distort everything); compare medians, on an otherwise idle machine.

use std::hint::black_box;
use std::time::{Duration, Instant};

use multiprocessing::Process;

/// Python's time for the four tasks of listing B1 run one after another, on this machine.
const PYTHON_SEQUENTIAL_SECS: f64 = 2.3;
const TASKS: usize = 4;

fn identity(x: u32) -> u32 {
    x
}

fn echo_bytes(bytes: Vec<u8>) -> usize {
    bytes.len()
}

/// The same loop as listing 2.1: `black_box` keeps LLVM from replacing it with a formula.
fn sum_of_squares(limit: u64) -> u128 {
    let mut total: u128 = 0;
    for n in 0..limit {
        let n = u128::from(black_box(n));
        total += n * n;
    }
    total
}

fn main() {
    multiprocessing::init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rounds: usize = args
        .iter()
        .filter(|a| !a.starts_with('-'))
        .find_map(|a| a.parse().ok())
        .unwrap_or(200);
    let n: u64 = args
        .iter()
        .position(|a| a == "--n")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(10_000_000);

    // Warm up: the first spawn also starts the spawner thread and maps the executable.
    for _ in 0..5 {
        Process::spawn(identity, 1)
            .and_then(Process::join)
            .expect("warm-up");
    }
    spawn_figures(rounds);
    sum_of_squares_figures(n);
}

fn spawn_figures(rounds: usize) {
    report(
        "spawn + join, fn(u32) -> u32",
        measure(rounds, || {
            let value = Process::spawn(identity, 7)
                .and_then(Process::join)
                .expect("spawn/join");
            assert_eq!(value, 7);
        }),
    );
    let mut started = Vec::new();
    let spawn_only = measure(rounds.min(100), || {
        started.push(Process::spawn(identity, 7).expect("spawn"));
    });
    for child in started {
        child.join().expect("join");
    }
    report(
        "spawn alone (returns once the OS has started the child)",
        spawn_only,
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

fn sum_of_squares_figures(n: u64) {
    let expected = sum_of_squares(n);
    let parallel = measure(9, || {
        let children: Vec<_> = (0..TASKS)
            .map(|_| Process::spawn(sum_of_squares, n).expect("spawn"))
            .collect();
        for child in children {
            assert_eq!(child.join().expect("join"), expected);
        }
    });
    // Called through a function pointer, as the children call it: inlined into this loop, the
    // same code can come out slower or faster, and the comparison would measure the inliner.
    let task: fn(u64) -> u128 = black_box(sum_of_squares);
    let sequential = measure(9, || {
        for _ in 0..TASKS {
            assert_eq!(task(black_box(n)), expected);
        }
    });
    let (parallel_median, sequential_median) = (parallel[parallel.len() / 2], sequential[4]);
    report(
        &format!("{TASKS} × Σn² (n < {n}) in {TASKS} processes"),
        parallel,
    );
    report(
        &format!("{TASKS} × Σn² (n < {n}) one after another"),
        sequential,
    );
    println!(
        "{TASKS} processes are {:.2} × faster than sequential (cores: {})",
        sequential_median.as_secs_f64() / parallel_median.as_secs_f64(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if n == 10_000_000 {
        println!(
            "sequential Rust is {:.0} × faster than Python's {PYTHON_SEQUENTIAL_SECS} s",
            PYTHON_SEQUENTIAL_SECS / sequential_median.as_secs_f64()
        );
    }
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
