//! Benchmarks for chapter 3: what a thread costs, how fast a channel moves items, and whether CPU
//! work scales with threads (it does: there is no GIL).
//!
//! Run: `cargo bench -p threading --bench threading` (about a minute; add `-- --quick` for a rough
//! figure in seconds). Criterion prints a time per iteration and, where a throughput is set, items
//! per second (`thrpt`). Python's figures, measured on the same machine, for comparison:
//!
//! | what | Python | here |
//! |---|---|---|
//! | `threading.Thread` start + join | 90 µs | `spawn_join` |
//! | `queue.Queue`, 1 producer → 1 consumer thread | 287 000 items/s | `channel/*` thrpt |
//! | sum of squares, 2 threads vs 1 | 1.08 × | ratio of the `cpu_scaling/*` thrpt |
//!
//! Why criterion rather than a hand-written timing loop: it warms up, repeats, and reports a
//! confidence interval, so one noisy run on a shared machine does not become "the" figure.

use std::hint::black_box;
use std::thread;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use testbed::work::{split, sum_of_squares};

/// Items sent per channel measurement.
const CHANNEL_ITEMS: u64 = 200_000;
/// Numbers squared per CPU-scaling measurement, split between the threads.
const CPU_NUMBERS: u64 = 20_000_000;

fn spawn_join(c: &mut Criterion) {
    c.bench_function("spawn_join", |b| {
        b.iter(|| {
            thread::spawn(|| black_box(1_u64))
                .join()
                .expect("an empty thread cannot panic")
        })
    });
}

/// One producer thread sends `CHANNEL_ITEMS` numbers; this thread receives and sums them.
fn one_to_one(
    (tx, rx): (
        crossbeam_channel::Sender<u64>,
        crossbeam_channel::Receiver<u64>,
    ),
) -> u64 {
    let producer = thread::spawn(move || {
        for item in 0..CHANNEL_ITEMS {
            tx.send(item).expect("the consumer outlives the producer");
        }
    });
    let total: u64 = rx.iter().sum();
    producer.join().expect("the producer does not panic");
    total
}

fn channel(c: &mut Criterion) {
    let mut group = c.benchmark_group("channel");
    group.throughput(Throughput::Elements(CHANNEL_ITEMS));
    group.bench_function("unbounded", |b| {
        b.iter(|| one_to_one(crossbeam_channel::unbounded()))
    });
    group.bench_function("bounded_1024", |b| {
        b.iter(|| one_to_one(crossbeam_channel::bounded(1024)))
    });
    group.finish();
}

/// Sums `0..CPU_NUMBERS` split over `threads` scoped threads. The work is
/// `testbed::work::sum_of_squares`, the loop of `examples/11_cpu_bound.rs`: `black_box` on each
/// number keeps LLVM from replacing it by the closed formula (see the book's CPU-bound page).
fn sum_in_threads(threads: u64) -> u128 {
    thread::scope(|s| {
        let parts: Vec<_> = split(CPU_NUMBERS, threads)
            .into_iter()
            .map(|range| s.spawn(move || sum_of_squares(range)))
            .collect();
        parts
            .into_iter()
            .map(|part| part.join().expect("summing does not panic"))
            .sum()
    })
}

fn cpu_scaling(c: &mut Criterion) {
    let mut group = c.benchmark_group("cpu_scaling");
    group.throughput(Throughput::Elements(CPU_NUMBERS));
    for threads in [1, 2] {
        group.bench_with_input(BenchmarkId::from_parameter(threads), &threads, |b, &t| {
            b.iter(|| sum_in_threads(t))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = spawn_join, channel, cpu_scaling
}
criterion_main!(benches);
