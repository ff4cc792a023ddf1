//! # Exercise 3.4: a bounded producer/consumer pipeline that shuts down cleanly
//!
//! [`pipeline`] runs `produce` on the calling thread and `work` on `consumers` consumer threads,
//! connected by a channel. It is the articles' producer/consumer, and this version has both of
//! their bugs:
//!
//! 1. **The consumers stop when the queue looks empty** (`while !rx.is_empty()`, Python's
//!    `while not queue.empty()`). A consumer that starts before the producer has sent anything, or
//!    runs faster than it, sees an empty queue and quits: items are lost. (Waiting a little while
//!    with a timeout does not fix it: the checks' producer goes quiet for a few seconds halfway.)
//! 2. **The queue is unbounded.** A producer faster than the consumers piles everything up in
//!    memory; nothing slows it down (no back-pressure).
//!
//! Fix both, keeping the signature: a channel that holds at most `capacity` items (`capacity` 0 is
//! a rendezvous), and consumers that stop exactly when the stream has ended and they have drained
//! it. `consumers == 0` means one consumer. The results may come back in any order.
//!
//! Check your work with `cargo run -p exercises -- check ch3/04`; stuck?
//! `cargo run -p exercises -- hint ch3/04`.

use std::thread;

/// Feeds every item `produce` yields (until it returns `None`) to `work` on `consumers` threads,
/// through a channel holding at most `capacity` items, and returns all the results.
pub fn pipeline<P, W>(mut produce: P, capacity: usize, consumers: usize, work: W) -> Vec<u64>
where
    P: FnMut() -> Option<u64>,
    W: Fn(u64) -> u64 + Sync,
{
    let (tx, rx) = crossbeam_channel::unbounded();
    thread::scope(|s| {
        let handles: Vec<_> = (0..consumers.max(1))
            .map(|_| {
                let (rx, work) = (&rx, &work);
                s.spawn(move || {
                    let mut results = Vec::new();
                    while !rx.is_empty() {
                        if let Ok(item) = rx.try_recv() {
                            results.push(work(item));
                        }
                    }
                    results
                })
            })
            .collect();
        while let Some(item) = produce() {
            tx.send(item).unwrap();
        }
        handles
            .into_iter()
            .flat_map(|handle| handle.join().unwrap())
            .collect()
    })
}
