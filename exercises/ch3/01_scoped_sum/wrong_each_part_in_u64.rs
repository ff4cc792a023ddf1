//! # Exercise 3.1, a wrong attempt: each thread sums its part in `u64`
//!
//! The mistake: the total is a `u128`, but each thread squares and adds in `u64` and the parts are
//! converted only at the end. Squares of numbers around 2^32 already exceed `u64`, and so do the
//! parts of a sum that has to be exact: a debug build panics on the overflow, a release build
//! silently returns a wrong total.
//!
//! Fails: by a panic: a thread's `u64` arithmetic overflows on the check's large numbers (in a
//! release build, the check sees the wrong total).

use std::thread;

/// The sum of the squares of `numbers`, computed by `threads` threads (at least one).
pub fn parallel_sum_of_squares(numbers: &[u64], threads: usize) -> u128 {
    if numbers.is_empty() {
        return 0;
    }
    let chunk_len = numbers.len().div_ceil(threads.max(1));
    thread::scope(|s| {
        let parts: Vec<_> = numbers
            .chunks(chunk_len)
            .map(|chunk| s.spawn(move || chunk.iter().map(|&n| n * n).sum::<u64>()))
            .collect();
        parts
            .into_iter()
            .map(|part| u128::from(part.join().expect("summing cannot panic")))
            .sum()
    })
}
