//! # Exercise 4.1, solved: every lookup's future is made first, then all are awaited together
//!
//! `join_all` polls every future in this task, so all the lookups wait at the same time, and it
//! returns their outputs in the order of the input, as `asyncio.gather` does. Nothing is spawned:
//! the futures may borrow, and dropping `lookup_all` cancels them all.

use std::future::Future;

/// Looks up every id with `lookup`, all at once, and returns the answers in the order of `ids`.
pub async fn lookup_all<F, Fut>(ids: Vec<u64>, lookup: F) -> Vec<String>
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = String>,
{
    futures::future::join_all(ids.into_iter().map(lookup)).await
}
