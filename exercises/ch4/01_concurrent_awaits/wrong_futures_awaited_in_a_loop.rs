//! # Exercise 4.1, a wrong attempt: make all the futures first, then await them in a loop
//!
//! In Python, `asyncio.create_task` starts a coroutine at once, so making every task first and
//! awaiting them afterwards does overlap them. A Rust future is lazy: making it starts nothing,
//! and awaiting the futures one by one runs them one by one, exactly as before.
//!
//! Fails: by a panic: the check sees only one lookup in flight at a time.

use std::future::Future;

/// Looks up every id with `lookup`, all at once, and returns the answers in the order of `ids`.
pub async fn lookup_all<F, Fut>(ids: Vec<u64>, lookup: F) -> Vec<String>
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = String>,
{
    let pending: Vec<Fut> = ids.into_iter().map(lookup).collect();
    let mut answers = Vec::new();
    for future in pending {
        answers.push(future.await);
    }
    answers
}
