//! # Exercise 4.4, a wrong attempt: a sender is kept outside the producer
//!
//! The producer gets a clone and the original stays in this function. When the producer is done
//! the channel still has a sender, so it never closes and `recv` waits for ever for an item
//! only this function could send.
//!
//! Fails: at the deadline: the receiving loop never sees the end of the stream.

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
    let producer = sender.clone();
    tokio::spawn(async move {
        for n in 0..items {
            if producer.send(n).await.is_err() {
                return;
            }
            on_sent(n);
        }
    });
    let mut outputs = Vec::new();
    while let Some(n) = receiver.recv().await {
        outputs.push(consume(n).await);
    }
    drop(sender);
    outputs
}
