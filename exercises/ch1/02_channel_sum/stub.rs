//! # Exercise 1.2: sum what a channel brings (and find why it hangs)
//!
//! Several producer threads each send a batch of numbers through one `std::sync::mpsc` channel; the
//! receiving side adds up everything that arrives until the channel is closed. In Python you would
//! give each thread a `queue.Queue` and have the consumer loop on `get()` until it sees a sentinel
//! such as `None`. A Rust channel needs no sentinel: the receiver learns that the stream has ended
//! when *every* sender has been dropped.
//!
//! A batch is anything that yields numbers: a `Vec<u64>`, a range, or an iterator of the checks' own
//! that fails halfway, as a real producer can.
//!
//! This code compiles, and it looks right, but it never returns: run its check and the checker kills
//! it at the deadline and says it may be deadlocked. Find the bug and fix it, keeping the signature.
//! Then make sure the function also waits for its producer threads, so that a producer's panic is
//! not lost: when a producer panics, `sum_through_channel` must panic too, instead of returning a
//! sum that silently misses the rest of that batch.
//!
//! Check your work with `cargo run -p exercises -- check ch1/02`; stuck?
//! `cargo run -p exercises -- hint ch1/02`.

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
    // The loop ends when the channel is closed, that is when every sender is gone.
    receiver.iter().sum()
}
