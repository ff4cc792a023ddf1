//! # Exercise 4.1: await concurrently, not one after another
//!
//! [`lookup_all`] calls `lookup` once per id and returns the answers in the order of `ids`. This
//! version awaits each lookup before starting the next, so ten lookups of 100 ms take a second.
//! In Python you would write `await asyncio.gather(*(lookup(i) for i in ids))`; make the lookups
//! run at the same time, keeping the signature and the order of the answers.
//!
//! Check your work with `cargo run -p exercises -- check ch4/01`; stuck?
//! `cargo run -p exercises -- hint ch4/01`.

use std::future::Future;

/// Looks up every id with `lookup`, all at once, and returns the answers in the order of `ids`.
pub async fn lookup_all<F, Fut>(ids: Vec<u64>, lookup: F) -> Vec<String>
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = String>,
{
    let mut answers = Vec::new();
    for id in ids {
        answers.push(lookup(id).await); // waits for this one before starting the next
    }
    answers
}
