//! # Listing 3.2: scoped threads borrow local data, no `Arc` needed
//!
//! `thread::spawn` needs `'static` closures: the new thread might outlive the function that started
//! it, so it may not borrow that function's locals. `thread::scope` lifts the restriction: every
//! thread spawned in the scope is joined before `scope` returns, so borrowing is safe, and the
//! compiler knows it. Here four threads read disjoint parts of one vector (shared borrows) and
//! write their partial sums into disjoint parts of another (`chunks_mut` hands each thread its own
//! `&mut` slice, so there is nothing to lock).
//!
//! This is the usual shape of CPU-bound parallel work in Rust; `rayon`'s `par_iter` does the
//! splitting for you.
//!
//! Run it:
//!
//! ```text
//! cargo run -p threading --example 02_scoped_threads
//! ```
//!
//! What to expect: one line per thread with the range it summed, then the total, which equals the
//! formula n(n+1)/2.
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! expect: ^sum of 1\.\.=1000000 in 4 threads: 500000500000 \(formula: 500000500000\)$
//! ```

use std::thread;

use anyhow::{Result, ensure};

const THREADS: usize = 4;
const N: u64 = 1_000_000;

fn main() -> Result<()> {
    let numbers: Vec<u64> = (1..=N).collect();
    let mut partial_sums = [0_u64; THREADS];

    // ANCHOR: scope
    let chunk_len = numbers.len().div_ceil(THREADS);
    thread::scope(|s| {
        for (chunk, slot) in
            numbers.chunks(chunk_len).zip(partial_sums.iter_mut())
        {
            // `chunk: &[u64]` borrows `numbers`; `slot: &mut u64` borrows one
            // element of `partial_sums`. Both borrows end when the scope joins
            // the threads.
            s.spawn(move || *slot = chunk.iter().sum());
        }
    }); // <- every thread is joined here; a panic in one is re-raised here
    // ANCHOR_END: scope

    for (i, (chunk, sum)) in
        numbers.chunks(chunk_len).zip(partial_sums).enumerate()
    {
        println!(
            "thread {i}: {}..={} -> {sum}",
            chunk.first().copied().unwrap_or(0),
            chunk.last().copied().unwrap_or(0)
        );
    }
    let total: u64 = partial_sums.iter().sum();
    let formula = N * (N + 1) / 2;
    println!(
        "sum of 1..={N} in {THREADS} threads: {total} (formula: {formula})"
    );
    ensure!(total == formula, "the parallel sum is wrong");
    Ok(())
}
