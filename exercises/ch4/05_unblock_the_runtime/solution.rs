//! # Exercise 4.5, solved: the blocking calls run on tokio's blocking threads
//!
//! `tokio::task::spawn_blocking` runs a closure on the runtime's pool of threads meant for
//! blocking work and returns a `JoinHandle` to await, as `run_in_executor` returns a future. The
//! runtime's own thread is free meanwhile, so the other tasks (the check's heartbeat) go on. All
//! the lookups are started before the first is awaited, so they also run at the same time; the
//! handles are awaited in the order of the keys, which keeps the answers in that order.

/// Calls `lookup` once for each key, without blocking the async runtime's thread, and returns the
/// answers in the order of `keys`.
pub async fn lookup_all(keys: Vec<u64>, lookup: fn(u64) -> u64) -> Vec<u64> {
    let handles: Vec<_> = keys
        .into_iter()
        .map(|key| tokio::task::spawn_blocking(move || lookup(key)))
        .collect();
    let mut answers = Vec::with_capacity(handles.len());
    for handle in handles {
        answers.push(handle.await.expect("a lookup panicked"));
    }
    answers
}
