//! # Exercise 4.4, a wrong attempt: an unbounded channel
//!
//! It passes every item and ends at the right time, but `send` never waits: the producer puts
//! everything into the channel at once, however slow the consumer is. With a million items that
//! is a million items in memory; Python's `asyncio.Queue()` without `maxsize` does the same.
//!
//! Fails: by a panic: the check sees the producer far more than `capacity` items ahead.

use tokio::sync::mpsc;

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
    let _ = capacity; // "the channel will not get that full anyway"
    let (sender, mut receiver) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        for n in 0..items {
            if sender.send(n).is_err() {
                return;
            }
            on_sent(n);
        }
    });
    let mut outputs = Vec::new();
    while let Some(n) = receiver.recv().await {
        outputs.push(consume(n).await);
    }
    outputs
}
