//! # Exercise 1.1, solved: collect a thread's result through `join`
//!
//! The thread's closure takes `numbers` by `move`, so the thread owns its data and nothing is shared.
//! `checked_mul` and `checked_add` return `None` instead of wrapping, which is what Python's unbounded
//! integers would have spared us. `join` returns `Err(payload)` when the thread panicked; the payload
//! is a `&'static str` for `panic!("literal")` and a `String` for `panic!("{}", x)`.

use std::thread::{self, JoinHandle};

/// Starts a thread that computes the sum of the squares of `numbers`, and returns its handle.
///
/// The thread panics with a message containing "overflow" if the sum does not fit in a `u64`.
pub fn spawn_sum_of_squares(numbers: Vec<u64>) -> JoinHandle<u64> {
    thread::spawn(move || {
        numbers
            .iter()
            .try_fold(0u64, |sum, &n| {
                n.checked_mul(n).and_then(|square| sum.checked_add(square))
            })
            .expect("the sum of squares overflows u64")
    })
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
