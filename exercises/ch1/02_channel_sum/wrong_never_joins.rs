//! # Exercise 1.2, a wrong attempt: the channel is closed, but the producers are never joined
//!
//! The mistake: the extra sender is dropped, so the sum comes back, but nobody waits for the
//! producer threads. A producer that panics drops its sender just like one that finishes, so the
//! receiving loop ends normally and the function returns a sum that misses the rest of that
//! producer's batch, with no sign that anything went wrong.
//!
//! Fails: by a panic: the check's failing producer panics, and the sum comes back anyway.

use std::sync::mpsc;
use std::thread;

/// Sends every number of every batch through one channel, from one producer thread per batch, and
/// returns the sum of everything the receiving side got. Panics if a producer panicked.
pub fn sum_through_channel<B>(batches: Vec<B>) -> u64
where
    B: IntoIterator<Item = u64> + Send + 'static,
{
    let (sender, receiver) = mpsc::channel();
    for batch in batches {
        let sender = sender.clone();
        thread::spawn(move || {
            for number in batch {
                sender.send(number).expect("the receiver is still there");
            }
        });
    }
    drop(sender);
    receiver.iter().sum()
}
