//! # Exercise 1.2, solved: sum what a channel brings
//!
//! The bug: `sender`, the original, lived until the end of the function, so the channel was never
//! closed and `receiver.iter()` waited forever for a value only this very function could still send.
//! Dropping it once the producers have their clones closes the channel as soon as they finish.
//!
//! Joining the producers afterwards turns a producer's panic into a panic here, with its message
//! (`resume_unwind` passes the panic on as it was), instead of a silently smaller sum: a producer
//! that panics drops its sender like one that finishes, and the channel cannot tell them apart.

use std::sync::mpsc;
use std::thread;

/// Sends every number of every batch through one channel, from one producer thread per batch, and
/// returns the sum of everything the receiving side got. Panics if a producer panicked.
pub fn sum_through_channel<B>(batches: Vec<B>) -> u64
where
    B: IntoIterator<Item = u64> + Send + 'static,
{
    let (sender, receiver) = mpsc::channel();
    let producers: Vec<_> = batches
        .into_iter()
        .map(|batch| {
            let sender = sender.clone();
            thread::spawn(move || {
                for number in batch {
                    sender.send(number).expect("the receiver is still there");
                }
            })
        })
        .collect();
    // Only the producers' clones may keep the channel open.
    drop(sender);
    let sum = receiver.iter().sum();
    for producer in producers {
        if let Err(panic) = producer.join() {
            std::panic::resume_unwind(panic);
        }
    }
    sum
}
