//! # Exercise 4.3, solved: each call gets its own `timeout`, and all are awaited together
//!
//! `timeout(per_call, call(id))` drops the call's future (cancels it) when its time is up and
//! returns `Err(Elapsed)`; `.ok()` turns that into `None`. `join_all` runs the wrapped calls at
//! the same time, so the whole batch takes about `per_call` at most.

use std::future::Future;
use std::time::Duration;

/// Calls `call(id)` for every id, all at once, giving each call at most `per_call`; returns, in
/// the order of `ids`, `Some(answer)` for the calls that answered in time and `None` for the rest.
pub async fn call_each<F, Fut>(ids: Vec<u64>, per_call: Duration, call: F) -> Vec<Option<String>>
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = String>,
{
    let calls = ids
        .into_iter()
        .map(|id| tokio::time::timeout(per_call, call(id)));
    let finished = futures::future::join_all(calls).await;
    finished.into_iter().map(Result::ok).collect()
}
