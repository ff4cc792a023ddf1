//! Benchmark: the cost of a process, and what four of them gain on the articles' CPU-bound task.
//!
//! 1. **Spawn + join**, with each start method: start a process, run a trivial `fn(u32) -> u32`
//!    in it, join it. Python's figures on the machine the articles' checks were run on: 1.3 ms
//!    with `fork`, 40 ms with `spawn`.
//! 2. **Spawn alone**: until `spawn` returns.
//! 3. **Spawn + join with a 1 MiB argument** (`Vec<u8>`, serialized byte by byte).
//! 4. **Listing 2.1's sum of squares**: four tasks of `Σ n²` for `n < 10⁷` in four processes
//!    (each start method), in four threads (the same parallelism with no start cost at all: the
//!    best processes could do), and one after another in this process. The four are measured in
//!    turn, round after round, so that a noisy moment hurts them all alike. On two cores the
//!    best four processes can do is 2 × sequential; the threads show how close the start-up
//!    cost lets them come. Python's sequential run took 2.3 s on this machine.
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

use multiprocessing::{Error, Process, StartMethod};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Python's time for the four tasks of listing B1 run one after another, on this machine.
const PYTHON_SEQUENTIAL_SECS: f64 = 2.3;
const TASKS: usize = 4;

fn identity(x: u32) -> u32 {
    x
}

fn echo_bytes(bytes: Vec<u8>) -> usize {
    bytes.len()
}

/// The workspace's one sum of squares (`testbed::work`), as a `fn(u64) -> u128` that a child can
/// run: a function sent to a process must be a plain function of this executable.
fn sum_of_squares(limit: u64) -> u128 {
    testbed::work::sum_of_squares(0..limit)
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

    for method in [StartMethod::ForkServer, StartMethod::Spawn] {
        // Warm up: the first spawn also starts the spawner thread and maps the executable.
        for _ in 0..5 {
            start(method, identity, 1)
                .and_then(Process::join)
                .expect("warm-up");
        }
        spawn_figures(method, rounds);
    }
    sum_of_squares_figures(n);
}

fn start<A, R>(method: StartMethod, f: fn(A) -> R, arg: A) -> Result<Process<R>, Error>
where
    A: Serialize + DeserializeOwned,
    R: Serialize + DeserializeOwned + Send + 'static,
{
    Process::builder().start_method(method).spawn(f, arg)
}

fn spawn_figures(method: StartMethod, rounds: usize) {
    report(
        &format!("{method:?}: spawn + join, fn(u32) -> u32"),
        measure(rounds, || {
            let value = start(method, identity, 7)
                .and_then(Process::join)
                .expect("spawn/join");
            assert_eq!(value, 7);
        }),
    );
    let mut started = Vec::new();
    let spawn_only = measure(rounds.min(100), || {
        started.push(start(method, identity, 7).expect("spawn"));
    });
    for child in started {
        child.join().expect("join");
    }
    report(&format!("{method:?}: spawn alone"), spawn_only);
    let mib = vec![0xA5_u8; 1 << 20];
    report(
        &format!("{method:?}: spawn + join, 1 MiB argument (Vec<u8>)"),
        measure(rounds / 4, || {
            let len = start(method, echo_bytes, mib.clone())
                .and_then(Process::join)
                .expect("spawn/join");
            assert_eq!(len, 1 << 20);
        }),
    );
}

/// The four ways to do listing 2.1's tasks, measured in turn.
#[derive(Clone, Copy, Debug)]
enum Way {
    Sequential,
    ForkServer,
    Spawn,
    Threads,
}

fn sum_of_squares_figures(n: u64) {
    const ROUNDS: usize = 15;
    let expected = sum_of_squares(n);
    // Called through a function pointer, as the children call it: inlined into this loop, the
    // same code can come out slower or faster, and the comparison would measure the inliner.
    let task: fn(u64) -> u128 = black_box(sum_of_squares);
    let ways = [Way::Sequential, Way::ForkServer, Way::Spawn, Way::Threads];
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); ways.len()];
    for _ in 0..ROUNDS {
        for (way, times) in ways.iter().zip(&mut times) {
            let started = Instant::now();
            let totals = run_tasks(*way, task, n);
            times.push(started.elapsed());
            assert!(totals.iter().all(|&total| total == expected), "{way:?}");
        }
    }
    let medians: Vec<Duration> = times
        .iter_mut()
        .map(|times| {
            times.sort();
            times[times.len() / 2]
        })
        .collect();
    for (way, times) in ways.iter().zip(times) {
        report(&format!("{TASKS} × Σn² (n < {n}), {way:?}"), times);
    }
    let sequential = medians[0].as_secs_f64();
    for (way, median) in ways.iter().zip(&medians).skip(1) {
        println!(
            "{way:?}: {:.2} × faster than sequential (medians; cores: {})",
            sequential / median.as_secs_f64(),
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
    }
    if n == 10_000_000 {
        println!(
            "sequential Rust is {:.0} × faster than Python's {PYTHON_SEQUENTIAL_SECS} s",
            PYTHON_SEQUENTIAL_SECS / sequential
        );
    }
}

fn run_tasks(way: Way, task: fn(u64) -> u128, n: u64) -> Vec<u128> {
    let in_processes = |method| {
        let children: Vec<_> = (0..TASKS)
            .map(|_| start(method, task, n).expect("spawn"))
            .collect();
        children
            .into_iter()
            .map(|child| child.join().expect("join"))
            .collect()
    };
    match way {
        Way::Sequential => (0..TASKS).map(|_| task(black_box(n))).collect(),
        Way::ForkServer => in_processes(StartMethod::ForkServer),
        Way::Spawn => in_processes(StartMethod::Spawn),
        Way::Threads => std::thread::scope(|scope| {
            let handles: Vec<_> = (0..TASKS)
                .map(|_| scope.spawn(move || task(black_box(n))))
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().expect("thread"))
                .collect()
        }),
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
