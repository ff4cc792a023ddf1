//! # Exercise 3.4, solved: a bounded producer/consumer pipeline that shuts down cleanly
//!
//! `crossbeam_channel::bounded(capacity)` makes `send` wait while the channel is full, so the
//! producer runs at the consumers' pace. The end of the stream is the channel's disconnection: the
//! producer's `Sender` is dropped when `produce` is exhausted, and each consumer's `for item in rx`
//! ends once the channel is empty *and* disconnected, never merely empty.

use std::thread;

/// Feeds every item `produce` yields (until it returns `None`) to `work` on `consumers` threads,
/// through a channel holding at most `capacity` items, and returns all the results.
pub fn pipeline<P, W>(mut produce: P, capacity: usize, consumers: usize, work: W) -> Vec<u64>
where
    P: FnMut() -> Option<u64>,
    W: Fn(u64) -> u64 + Sync,
{
    let (tx, rx) = crossbeam_channel::bounded(capacity);
    thread::scope(|s| {
        let handles: Vec<_> = (0..consumers.max(1))
            .map(|_| {
                let (rx, work) = (rx.clone(), &work);
                s.spawn(move || rx.iter().map(work).collect::<Vec<_>>())
            })
            .collect();
        while let Some(item) = produce() {
            tx.send(item).expect("the consumers outlive the producer");
        }
        drop(tx); // the end of the stream: the consumers' loops end once the channel is drained
        handles
            .into_iter()
            .flat_map(|handle| handle.join().expect("a consumer panicked"))
            .collect()
    })
}
