//! # Exercise 1.1, a wrong attempt: plain `*` and `sum`, trusting the debug build to catch overflow
//!
//! The mistake: the sum is computed with ordinary arithmetic. In a debug build an overflow still
//! panics, with Rust's own "attempt to multiply with overflow", so the attempt seems to meet the
//! task; a release build has no overflow checks and silently returns a wrapped-around number.
//!
//! Fails: by a panic: the check recognises the debug build's own overflow message and asks for
//! checked arithmetic (in a release build, it sees the wrong number).

use std::thread::{self, JoinHandle};

/// Starts a thread that computes the sum of the squares of `numbers`, and returns its handle.
///
/// The thread panics with a message containing "overflow" if the sum does not fit in a `u64`.
pub fn spawn_sum_of_squares(numbers: Vec<u64>) -> JoinHandle<u64> {
    thread::spawn(move || numbers.iter().map(|n| n * n).sum())
}

/// Waits for the thread behind `handle`: `Ok` with its result, or `Err` with its panic message.
pub fn collect(handle: JoinHandle<u64>) -> Result<u64, String> {
    handle.join().map_err(|payload| {
        if let Some(text) = payload.downcast_ref::<&str>() {
            (*text).to_owned()
        } else if let Some(text) = payload.downcast_ref::<String>() {
            text.clone()
        } else {
            "the thread panicked with a payload that is not text".to_owned()
        }
    })
}
