//! # Exercise 1.1: collect a thread's result through `join`
//!
//! In Python a `threading.Thread` has no return value: you stash the result in a shared list, or use
//! `concurrent.futures` and call `future.result()`. In Rust the closure a thread runs *returns* its
//! result, and `JoinHandle::join` hands it back; if the thread panicked instead, `join` returns the
//! panic as an `Err`, and `future.result()` re-raising the exception is the Python equivalent.
//!
//! Write the two functions below:
//!
//! 1. [`spawn_sum_of_squares`] starts a thread that owns `numbers` and returns the sum of their
//!    squares. Python's integers never overflow; `u64` does, so use checked arithmetic and panic with
//!    a message of your own containing "overflow" when the sum does not fit. (A debug build's own
//!    "attempt to multiply with overflow" does not count: a release build has no such check, and
//!    would wrap around silently and return a wrong number.)
//! 2. [`collect`] waits for such a thread and returns `Ok(result)`, or `Err(message)` with the panic's
//!    message when the thread panicked.
//!
//! Keep the signatures: the checks call them. Check your work with
//! `cargo run -p exercises -- check ch1/01`; stuck? `cargo run -p exercises -- hint ch1/01`.

use std::thread::JoinHandle;

/// Starts a thread that computes the sum of the squares of `numbers`, and returns its handle.
///
/// The thread panics with a message containing "overflow" if the sum does not fit in a `u64`.
pub fn spawn_sum_of_squares(numbers: Vec<u64>) -> JoinHandle<u64> {
    todo!("spawn a thread that owns `numbers` and returns the sum of their squares")
}

/// Waits for the thread behind `handle`: `Ok` with its result, or `Err` with its panic message.
pub fn collect(handle: JoinHandle<u64>) -> Result<u64, String> {
    todo!("join the thread; turn a panic into Err(message)")
}
