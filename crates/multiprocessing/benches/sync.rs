//! Benchmark: what the cross-process primitives and the log writer cost.
//!
//! The broker design (see `src/sync/broker.rs`) trades speed for knowing who holds what: every
//! blocking operation is a round trip to the broker thread. This measures that round trip, next to
//! the shared-memory atomic that needs none, and how many records per second one log writer takes
//! from several processes.
//!
//! Run it (release build; `harness = false`, so `main` calls `init()` first):
//!
//! ```text
//! cargo bench -p multiprocessing --bench sync
//! cargo bench -p multiprocessing --bench sync -- 50000     # more rounds
//! ```
//!
//! Figures vary with the machine and the load; compare medians, not single runs.
//!
//! The Python figures in the book come from this script, run on the same machine:
//!
//! ```text
//! import multiprocessing as mp, time
//! if __name__ == "__main__":
//!     lock, n = mp.Lock(), 200_000
//!     t = time.perf_counter()
//!     for _ in range(n): lock.acquire(); lock.release()
//!     print("mp.Lock: %.2f us" % ((time.perf_counter() - t) / n * 1e6))
//!     m = mp.Manager(); lock, event, n = m.Lock(), m.Event(), 5_000
//!     t = time.perf_counter()
//!     for _ in range(n): lock.acquire(); lock.release()
//!     print("Manager().Lock: %.1f us" % ((time.perf_counter() - t) / n * 1e6))
//!     t = time.perf_counter()
//!     for _ in range(n): event.is_set()
//!     print("Manager().Event.is_set: %.1f us" % ((time.perf_counter() - t) / n * 1e6))
//! ```

use std::io::{self, Write};
use std::time::{Duration, Instant};

use multiprocessing::Process;
use multiprocessing::logging::{Level, LogSender, LogWriter};
use multiprocessing::shared::Value;
use multiprocessing::sync::{Barrier, Event, Lock};

/// Acquires and releases `lock` `rounds` times from a child process; returns the seconds taken.
fn lock_in_child((lock, start, rounds): (Lock, Barrier, u32)) -> f64 {
    start.wait().expect("barrier");
    let started = Instant::now();
    for _ in 0..rounds {
        drop(lock.acquire().expect("acquire"));
    }
    started.elapsed().as_secs_f64()
}

/// Sends `records` log records; returns the seconds taken.
fn log_in_child((log, start, records): (LogSender, Barrier, u32)) -> f64 {
    start.wait().expect("barrier");
    let started = Instant::now();
    for i in 0..records {
        log.log(
            Level::Info,
            "bench",
            &format!("record {i} of a benchmark run"),
        )
        .expect("log");
    }
    started.elapsed().as_secs_f64()
}

/// A writer that discards, so the benchmark measures the channel and the formatting.
struct Discard;

impl Write for Discard {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        Ok(bytes.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn per_op(label: &str, ops: u64, elapsed: Duration) {
    let nanos = elapsed.as_nanos() as f64 / ops as f64;
    if nanos >= 1000.0 {
        println!("{label:<52} {:>9.1} µs/op", nanos / 1000.0);
    } else {
        println!("{label:<52} {nanos:>9.1} ns/op");
    }
}

fn main() {
    multiprocessing::init();
    let rounds: u32 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(20_000);

    let value = Value::new(0).expect("shared memory");
    let started = Instant::now();
    for _ in 0..rounds {
        value.fetch_add(1);
    }
    per_op(
        "Value::fetch_add (shared memory, no broker)",
        u64::from(rounds),
        started.elapsed(),
    );

    let lock = Lock::new().expect("lock");
    drop(
        lock.acquire()
            .expect("warm-up: opens this thread's session"),
    );
    let started = Instant::now();
    for _ in 0..rounds {
        drop(lock.acquire().expect("acquire"));
    }
    per_op(
        "Lock acquire + release, uncontended",
        u64::from(rounds),
        started.elapsed(),
    );

    let event = Event::new().expect("event");
    let started = Instant::now();
    for _ in 0..rounds {
        event.is_set().expect("is_set");
    }
    per_op(
        "Event::is_set (one round trip)",
        u64::from(rounds),
        started.elapsed(),
    );

    for processes in [2_u32, 4] {
        let start = Barrier::new(processes).expect("barrier");
        let each = rounds / processes;
        let children: Vec<_> = (0..processes)
            .map(|_| {
                Process::spawn(lock_in_child, (lock.clone(), start.clone(), each)).expect("spawn")
            })
            .collect();
        let slowest = children
            .into_iter()
            .map(|c| c.join().expect("join"))
            .fold(0.0, f64::max);
        let label = format!("Lock acquire + release, {processes} processes contending");
        per_op(
            &label,
            u64::from(each * processes),
            Duration::from_secs_f64(slowest),
        );
    }

    let mut writer = LogWriter::start(Discard).expect("writer");
    let processes = 4_u32;
    let start = Barrier::new(processes).expect("barrier");
    let each = rounds / processes;
    let begun = Instant::now();
    let children: Vec<_> = (0..processes)
        .map(|_| {
            Process::spawn(log_in_child, (writer.sender(), start.clone(), each)).expect("spawn")
        })
        .collect();
    for child in children {
        child.join().expect("join");
    }
    let stats = writer.flush(Duration::from_secs(60)).expect("flush");
    let total = begun.elapsed();
    assert_eq!(stats.records, u64::from(each * processes), "records lost");
    println!(
        "{:<52} {:>9.0} records/s ({} records, 4 processes, spawn included)",
        "log records through one writer",
        stats.records as f64 / total.as_secs_f64(),
        stats.records
    );
}
