//! # Exercise 4.4, solved: a bounded channel, and the producer owns the only sender
//!
//! `send(..).await` waits while the channel holds `capacity` items: that is the back-pressure.
//! The sender is moved into the producer task, so when the task ends the last sender is dropped,
//! the channel closes, and `recv` returns `None` once the last item is taken: the end of the
//! stream needs no sentinel and no emptiness check.

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
    let (sender, mut receiver) = mpsc::channel(capacity.max(1));
    tokio::spawn(async move {
        for n in 0..items {
            if sender.send(n).await.is_err() {
                return; // the consumer is gone
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
