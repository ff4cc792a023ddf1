//! Benchmark: what a task costs in a process pool, against Python's figures on this machine.
//!
//! On a started `Pool(2)`, 10 000 tasks of a function that returns its argument:
//!
//! | row | Python 3.11 (`python/pool_bench.py`) |
//! |---|---|
//! | `map`, default chunks | 0.2 µs/task |
//! | `map_chunked(.., 1)` | 17 µs/task |
//! | `imap_unordered` (one item per message) | 21 µs/task |
//! | `apply_async` + `get` | 29 µs/task |
//! | executor `submit` + `as_completed` | 100 µs/task |
//! | `Pool::new(2)` + `close` + `join` | 7 ms |
//!
//! and the articles' CPU-bound task, four `Σ n²` for `n < 10⁷`, on the started pool against
//! the same four one after another in this process (two cores: 2 × at best).
//!
//! Run it (a release build; `harness = false`, so `main` calls `init()` first):
//!
//! ```text
//! cargo bench -p multiprocessing --bench pool
//! cargo bench -p multiprocessing --bench pool -- 21     # rounds per row (default 11)
//! python3 python/pool_bench.py                          # Python's rows, same machine
//! ```
//!
//! It prints the median, the 10th and 90th percentiles of each row over its rounds, per task
//! where the row has many. Other programs running on the same cores distort every figure:
//! compare medians, and rows of one run with each other.

use std::hint::black_box;
use std::time::{Duration, Instant};

use multiprocessing::pool::{Pool, ProcessPoolExecutor, as_completed};

const TASKS: u64 = 10_000;

fn identity(x: u64) -> u64 {
    x
}

/// The workspace's one sum of squares, as a plain function a worker can run.
fn sum_of_squares(limit: u64) -> u128 {
    testbed::work::sum_of_squares(0..limit)
}

fn main() {
    multiprocessing::init();
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(11);
    let pool = Pool::new(2).expect("start the pool");
    let executor = ProcessPoolExecutor::new(2).expect("start the executor");
    // Warm up: the first tasks fault in the workers' pages.
    check(pool.map_chunked(identity, 0..1000, 1).expect("warm-up"));
    per_task("map, default chunks", rounds, || {
        check(pool.map(identity, 0..TASKS).expect("map"))
    });
    per_task("map_chunked(.., 1)", rounds, || {
        check(pool.map_chunked(identity, 0..TASKS, 1).expect("map"))
    });
    per_task("imap_unordered", rounds, || {
        let results = pool.imap_unordered(identity, 0..TASKS).expect("imap");
        assert_eq!(results.filter(Result::is_ok).count() as u64, TASKS);
    });
    per_task("apply_async + get", rounds, || {
        let handles: Vec<_> = (0..TASKS)
            .map(|x| pool.apply_async(identity, x).expect("apply"))
            .collect();
        for (x, handle) in (0..TASKS).zip(handles) {
            assert_eq!(handle.get(), Ok(x));
        }
    });
    per_task("executor submit + as_completed", rounds, || {
        let futures: Vec<_> = (0..TASKS)
            .map(|x| executor.submit(identity, x).expect("submit"))
            .collect();
        assert_eq!(
            as_completed(futures).filter(|(_, o)| o.is_ok()).count() as u64,
            TASKS
        );
    });
    report(
        "Pool::new(2) + close + join",
        measure(rounds * 3, || {
            let pool = Pool::new(2).expect("start");
            pool.close();
            pool.join().expect("join");
        }),
        1,
    );
    cpu_bound(&pool, rounds);
}

fn check(outcomes: Vec<Result<u64, multiprocessing::pool::TaskError>>) {
    assert!(
        outcomes
            .into_iter()
            .enumerate()
            .all(|(i, o)| o == Ok(i as u64))
    );
}

fn per_task(what: &str, rounds: usize, round: impl FnMut()) {
    report(
        &format!("{what}, {TASKS} tasks"),
        measure(rounds, round),
        TASKS,
    );
}

/// Four Σn² on the pool and in a row here, measured in turn, round after round, so that a
/// noisy moment hurts both alike.
fn cpu_bound(pool: &Pool, rounds: usize) {
    const N: u64 = 10_000_000;
    let task: fn(u64) -> u128 = black_box(sum_of_squares);
    let expected = task(N);
    let (mut sequential, mut pooled) = (Vec::new(), Vec::new());
    for _ in 0..rounds.min(7) {
        let started = Instant::now();
        let totals: Vec<u128> = (0..4).map(|_| task(black_box(N))).collect();
        sequential.push(started.elapsed());
        assert!(totals.iter().all(|&t| t == expected));
        let started = Instant::now();
        let totals = pool.map_chunked(sum_of_squares, [N; 4], 1).expect("map");
        pooled.push(started.elapsed());
        assert!(totals.iter().all(|t| *t == Ok(expected)));
    }
    sequential.sort();
    pooled.sort();
    let ratio =
        sequential[sequential.len() / 2].as_secs_f64() / pooled[pooled.len() / 2].as_secs_f64();
    report("4 × Σn² (n < 10⁷), one after another", sequential, 1);
    report("4 × Σn² (n < 10⁷), Pool(2).map", pooled, 1);
    println!("Pool(2): {ratio:.2} × sequential (medians)");
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

/// Prints the median and the 10th and 90th percentiles, divided by `per` (tasks per round).
fn report(what: &str, times: Vec<Duration>, per: u64) {
    let at = |fraction: f64| times[((times.len() - 1) as f64 * fraction) as usize];
    let show = |d: Duration| {
        let micros = d.as_secs_f64() * 1e6 / per as f64;
        if micros >= 1000.0 {
            format!("{:.2} ms", micros / 1000.0)
        } else {
            format!("{micros:.2} µs")
        }
    };
    let unit = if per > 1 { " per task" } else { "" };
    println!(
        "{what}: median {}{unit} (p10 {}, p90 {}, {} rounds)",
        show(at(0.5)),
        show(at(0.1)),
        show(at(0.9)),
        times.len()
    );
}
