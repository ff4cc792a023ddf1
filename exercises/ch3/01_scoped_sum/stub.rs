//! # Exercise 3.1: sum squares in parallel with scoped threads
//!
//! Python's threads cannot speed up arithmetic (the GIL), so the articles reach for processes. Rust
//! threads can. Write [`parallel_sum_of_squares`]: split `numbers` into `threads` parts, sum the
//! squares of each part on its own thread, and add the parts up.
//!
//! Two requirements:
//!
//! - The function *borrows* `numbers`: no copying the data, no `Arc`. `std::thread::spawn` cannot
//!   borrow a slice the caller owns (its closure must be `'static`); find the kind of thread that
//!   can.
//! - The total must be exact, as Python's would be. The squares of numbers around 2^40 exceed `u64`
//!   quickly, so compute in `u128`.
//!
//! `threads == 0` means one thread; more threads than numbers is allowed.
//!
//! Check your work with `cargo run -p exercises -- check ch3/01`; stuck?
//! `cargo run -p exercises -- hint ch3/01`.

/// The sum of the squares of `numbers`, computed by `threads` threads (at least one).
pub fn parallel_sum_of_squares(numbers: &[u64], threads: usize) -> u128 {
    todo!(
        "split `numbers` into `threads` chunks and sum each chunk's squares on its own scoped thread"
    )
}
