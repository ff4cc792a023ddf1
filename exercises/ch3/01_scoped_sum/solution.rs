//! # Exercise 3.1, solved: sum squares in parallel with scoped threads
//!
//! `std::thread::scope` joins every thread it spawned before it returns, so the threads may borrow
//! `numbers`. `chunks` splits the slice into parts of `len / threads` (rounded up); each thread sums
//! its chunk in `u128`; `join` returns each part, and the parts are added.

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
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|&n| u128::from(n) * u128::from(n))
                        .sum::<u128>()
                })
            })
            .collect();
        parts
            .into_iter()
            .map(|part| part.join().expect("summing cannot panic"))
            .sum()
    })
}
