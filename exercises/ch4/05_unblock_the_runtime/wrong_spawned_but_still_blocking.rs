//! # Exercise 4.5, a wrong attempt: `tokio::spawn` around a blocking call
//!
//! Spawning a task makes it run *concurrently* with the others, but on the same runtime threads:
//! a task that blocks inside still holds its thread for the whole call. `tokio::spawn` is for
//! async work; blocking work goes to `spawn_blocking`.
//!
//! Fails: by a panic: the check's lookup sees the heartbeat stop while it blocks.

/// Calls `lookup` once for each key, without blocking the async runtime's thread, and returns the
/// answers in the order of `keys`.
pub async fn lookup_all(keys: Vec<u64>, lookup: fn(u64) -> u64) -> Vec<u64> {
    let handles: Vec<_> = keys
        .into_iter()
        .map(|key| tokio::spawn(async move { lookup(key) }))
        .collect();
    let mut answers = Vec::with_capacity(handles.len());
    for handle in handles {
        answers.push(handle.await.expect("a lookup panicked"));
    }
    answers
}
