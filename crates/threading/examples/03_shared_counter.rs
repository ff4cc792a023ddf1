//! # Listing 3.3: a counter shared by threads: `Arc<Mutex<_>>` and an atomic
//!
//! Several threads add to one counter. In Python, `counter += 1` from many threads can lose updates
//! (it is a read, an add and a write, and a thread switch can fall between them); the GIL does not
//! make it atomic. In Rust the unsynchronized version does not compile at all: a plain `&mut u64`
//! cannot be handed to two threads (the book shows the compiler's message). Two ways that do compile:
//!
//! - `Arc<Mutex<u64>>`: `Arc` so that every thread owns a handle to the same counter (threads from
//!   `thread::spawn` may outlive `main`'s locals, so they cannot borrow them), `Mutex` so that one
//!   thread at a time changes it. The lock is released when the guard goes out of scope.
//! - `AtomicU64`: for a single number, a hardware atomic add (`fetch_add`) needs no lock at all.
//!   `Ordering::Relaxed` is enough because nothing else is published through this counter; the
//!   `join`s make the final value visible to `main`.
//!
//! Run it:
//!
//! ```text
//! cargo run -p threading --example 03_shared_counter
//! cargo run -p threading --release --example 03_shared_counter -- --threads 8 --increments 10000000
//! ```
//!
//! What to expect: both counters end at threads × increments, every time, with the time each took
//! (the atomic is usually several times faster; both vary with the machine).
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! expect: ^mutex counter: 400000 \(expected 400000\)
//! expect: ^atomic counter: 400000 \(expected 400000\)
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Instant;

use anyhow::{Result, anyhow, ensure};
use clap::Parser;

/// Threads incrementing one shared counter, with a Mutex and with an atomic.
#[derive(Parser)]
struct Args {
    /// How many threads.
    #[arg(long, default_value_t = 4)]
    threads: u64,
    /// How many increments each thread makes.
    #[arg(long, default_value_t = 100_000)]
    increments: u64,
}

// ANCHOR: mutex
fn count_with_mutex(threads: u64, increments: u64) -> Result<u64> {
    let counter = Arc::new(Mutex::new(0_u64));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let counter = Arc::clone(&counter); // one handle per thread
            thread::spawn(move || {
                for _ in 0..increments {
                    *counter.lock().expect("not poisoned") += 1;
                } // each guard drops at the end of its statement: unlocked
            })
        })
        .collect();
    for handle in handles {
        handle.join().map_err(|_| anyhow!("a counting thread panicked"))?;
    }
    let total = *counter.lock().expect("no thread panics while holding it");
    Ok(total)
}
// ANCHOR_END: mutex

// ANCHOR: atomic
fn count_with_atomic(threads: u64, increments: u64) -> Result<u64> {
    let counter = AtomicU64::new(0);
    // Scoped threads may borrow `counter`: no `Arc` needed (listing 3.2).
    thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..increments {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    Ok(counter.into_inner())
}
// ANCHOR_END: atomic

fn main() -> Result<()> {
    let Args { threads, increments } = Args::parse();
    let expected = threads * increments;
    for (name, count) in [
        ("mutex", count_with_mutex as fn(u64, u64) -> Result<u64>),
        ("atomic", count_with_atomic),
    ] {
        let started = Instant::now();
        let total = count(threads, increments)?;
        let elapsed = started.elapsed();
        println!(
            "{name} counter: {total} (expected {expected}) in {elapsed:.2?}"
        );
        ensure!(total == expected, "{name}: lost updates");
    }
    Ok(())
}
