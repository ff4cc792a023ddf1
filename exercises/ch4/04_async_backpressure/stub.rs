//! # Exercise 4.4: an async pipeline with back-pressure
//!
//! A producer that runs ahead of a slow consumer fills memory with work that is not done yet.
//! [`pipeline`] sends the numbers `0..items` from a producer task to a consumer over a channel
//! that holds at most `capacity` items, so the producer waits while it is full, and it ends
//! when the producer is done and the channel is empty. In Python: `asyncio.Queue(maxsize=...)`.
//! Use `tokio::sync::mpsc::channel` and `tokio::spawn`.
//!
//! Check your work with `cargo run -p exercises -- check ch4/04`; stuck?
//! `cargo run -p exercises -- hint ch4/04`.

use std::future::Future;

/// Sends `0..items` from a producer task into a channel that holds at most `capacity` items
/// (at least 1), calling `on_sent(n)` after each send; consumes each item with `consume` in this
/// task, and returns the outputs in the order the items were sent.
pub async fn pipeline<S, C, Fut>(items: u64, capacity: usize, on_sent: S, consume: C) -> Vec<u64>
where
    S: Fn(u64) + Send + 'static,
    C: Fn(u64) -> Fut,
    Fut: Future<Output = u64>,
{
    todo!("a bounded channel, a spawned producer, and a receiving loop that ends on None")
}
