//! # Exercise 3.4, a wrong attempt: a consumer takes a quiet spell for the end of the stream
//!
//! The mistake: the channel is bounded (so there is back-pressure), and the consumers no longer
//! look at `is_empty`; but each one waits at most 100 ms for the next item and takes
//! `recv_timeout`'s error for the end of the stream. That error means "nothing arrived in time"
//! (`Timeout`) as well as "the stream has ended" (`Disconnected`). Against a producer that never
//! pauses it works; against one that does, every consumer quits, and the items that come after
//! the pause have nobody to take them.
//!
//! Fails: by a panic: the check's producer goes quiet, sees the consumers end meanwhile, and
//! reports it.

use std::thread;
use std::time::Duration;

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
                s.spawn(move || {
                    let mut results = Vec::new();
                    // "If nothing comes for 100 ms, the producer is done."
                    while let Ok(item) = rx.recv_timeout(Duration::from_millis(100)) {
                        results.push(work(item));
                    }
                    results
                })
            })
            .collect();
        drop(rx);
        while let Some(item) = produce() {
            if tx.send(item).is_err() {
                break; // every consumer is gone
            }
        }
        drop(tx);
        handles
            .into_iter()
            .flat_map(|handle| handle.join().expect("a consumer panicked"))
            .collect()
    })
}
