//! # Exercise 4.3, a wrong attempt: one timeout around the whole batch
//!
//! `asyncio.wait_for(asyncio.gather(...), t)` is the Python mistake this copies: when one call
//! hangs, the timeout fires for the whole `gather`, which is cancelled with every answer it had
//! already collected. Here the batch's timeout drops `join_all`, and every call reports `None`.
//!
//! Fails: by a panic: the calls that answered in time come back as `None`.

use std::future::Future;
use std::time::Duration;

/// Calls `call(id)` for every id, all at once, giving each call at most `per_call`; returns, in
/// the order of `ids`, `Some(answer)` for the calls that answered in time and `None` for the rest.
pub async fn call_each<F, Fut>(ids: Vec<u64>, per_call: Duration, call: F) -> Vec<Option<String>>
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = String>,
{
    let count = ids.len();
    let all = futures::future::join_all(ids.into_iter().map(&call));
    match tokio::time::timeout(per_call, all).await {
        Ok(answers) => answers.into_iter().map(Some).collect(),
        Err(_elapsed) => vec![None; count],
    }
}
