//! [`IMap`]: the iterator behind `map`, `imap` and `imap_unordered`, and the typed decoding of a
//! chunk's outcomes.
//!
//! **Lazy at both ends.** `IMap` pulls items from its input only to keep a bounded number of
//! chunks in the pool (the *window*: a few per worker; in order, chunks that came back early and
//! wait for an earlier one count too), and pulls more each time the caller takes a result. So an endless or expensive input is consumed as the workers free up, and results
//! stream back as they finish. (Python's `imap` has a thread that reads the whole input into the
//! task queue at once, however long it is.) `map` is the same iterator with no window, collected.
//!
//! **In order, or as completed.** Each chunk comes back on a channel with its number; the ordered
//! form keeps early arrivals in a `BTreeMap` until the chunk before them is in, the unordered
//! form hands each chunk out as it arrives.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::mpsc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_bytes::ByteBuf;

use super::core::{Delivery, Shared};
use super::error::TaskError;
use super::wire::{ChunkOutcome, ItemOutcome};
use crate::start::fnid::TaskFn;

/// Turns a delivered chunk into one outcome per item.
pub(crate) fn decode_chunk<R: DeserializeOwned>(
    delivery: Delivery,
    items: usize,
) -> Vec<Result<R, TaskError>> {
    let failure = match delivery {
        Delivery::Failed(failure) => failure,
        Delivery::Outcomes(bytes) => {
            match postcard::from_bytes::<ChunkOutcome<R>>(&bytes) {
                Ok(ChunkOutcome::Ran(outcomes)) if outcomes.len() == items => {
                    return outcomes.into_iter().map(item_result).collect();
                }
                Ok(ChunkOutcome::Ran(outcomes)) => TaskError::Serialization(format!(
                    "a chunk of {items} items came back with {} outcomes",
                    outcomes.len()
                )),
                Ok(ChunkOutcome::Refused(reason)) => TaskError::Serialization(reason),
                Err(error) => TaskError::Serialization(format!(
                    "could not decode the results as {}: {error}",
                    std::any::type_name::<R>()
                )),
            }
        }
    };
    (0..items).map(|_| Err(failure.clone())).collect()
}

fn item_result<R>(outcome: ItemOutcome<R>) -> Result<R, TaskError> {
    match outcome {
        ItemOutcome::Returned(value) => Ok(value),
        ItemOutcome::Panicked { message, location } => {
            Err(TaskError::Panicked { message, location })
        }
    }
}

/// Encodes a chunk of arguments, or says why it cannot be.
pub(crate) fn encode_chunk<A: Serialize>(items: &[A]) -> Result<ByteBuf, String> {
    postcard::to_allocvec(items)
        .map(ByteBuf::from)
        .map_err(|error| {
            format!(
                "an argument of type {}: {error}",
                std::any::type_name::<A>()
            )
        })
}

type Chunk<R> = (u64, Vec<Result<R, TaskError>>);

/// The results of [`Pool::imap`](super::Pool::imap) and
/// [`Pool::imap_unordered`](super::Pool::imap_unordered): one `Result` per input item.
pub struct IMap<A, R, I> {
    shared: Arc<Shared>,
    function: TaskFn,
    input: I,
    chunksize: usize,
    window: usize,
    ordered: bool,
    input_done: bool,
    /// Chunks submitted whose outcomes have not arrived.
    in_pool: usize,
    next_chunk: u64,
    next_to_yield: u64,
    early: BTreeMap<u64, Vec<Result<R, TaskError>>>,
    ready: VecDeque<Result<R, TaskError>>,
    sender: mpsc::Sender<Chunk<R>>,
    arrivals: mpsc::Receiver<Chunk<R>>,
    _argument: std::marker::PhantomData<fn(A)>,
}

impl<A, R, I> IMap<A, R, I>
where
    A: Serialize,
    R: DeserializeOwned + Send + 'static,
    I: Iterator<Item = A>,
{
    pub(crate) fn new(
        shared: Arc<Shared>,
        function: TaskFn,
        input: I,
        ordered: bool,
    ) -> Self {
        let (sender, arrivals) = mpsc::channel();
        let window = 2 * shared.config.workers * shared.config.in_flight_per_worker;
        IMap {
            shared,
            function,
            input,
            chunksize: 1,
            window,
            ordered,
            input_done: false,
            in_pool: 0,
            next_chunk: 0,
            next_to_yield: 0,
            early: BTreeMap::new(),
            ready: VecDeque::new(),
            sender,
            arrivals,
            _argument: std::marker::PhantomData,
        }
    }

    /// Sends `chunksize` items to a worker at a time (Python's `chunksize`; at least 1).
    /// Larger chunks cost fewer messages; a worker that dies loses its whole chunk.
    pub fn chunksize(mut self, chunksize: usize) -> Self {
        self.chunksize = chunksize.max(1);
        self
    }

    /// How many chunks may be in the pool at once before the input is read further.
    pub(crate) fn window(mut self, window: usize) -> Self {
        self.window = window.max(1);
        self
    }

    /// How many chunks count against the window: those in the pool, and, in order, those that
    /// came back early and wait for an earlier one. Counting only the chunks in the pool would
    /// let one slow chunk hold up the results while the input is read without bound behind it.
    fn held(&self) -> usize {
        if self.ordered {
            usize::try_from(self.next_chunk - self.next_to_yield).unwrap_or(usize::MAX)
        } else {
            self.in_pool
        }
    }

    /// Reads the input until the window is full.
    fn top_up(&mut self) {
        while !self.input_done && self.held() < self.window {
            let items: Vec<A> = self.input.by_ref().take(self.chunksize).collect();
            if items.is_empty() {
                self.input_done = true;
                return;
            }
            self.submit(items);
        }
    }

    fn submit(&mut self, items: Vec<A>) {
        let index = self.next_chunk;
        self.next_chunk += 1;
        self.in_pool += 1;
        let count = items.len();
        let rejected = match encode_chunk(&items) {
            Ok(arguments) => {
                let sender = self.sender.clone();
                let deliver = Box::new(move |delivery| {
                    let _ = sender.send((index, decode_chunk::<R>(delivery, count)));
                });
                match self.shared.submit(self.function, arguments, deliver) {
                    Ok(_) => return,
                    Err(error) => error.to_string(),
                }
            }
            Err(reason) => reason,
        };
        let failed = (0..count)
            .map(|_| Err(TaskError::Rejected(rejected.clone())))
            .collect();
        let _ = self.sender.send((index, failed));
    }

    fn accept(&mut self, (index, outcomes): Chunk<R>) {
        self.in_pool -= 1;
        if !self.ordered {
            self.ready.extend(outcomes);
            return;
        }
        self.early.insert(index, outcomes);
        while let Some(outcomes) = self.early.remove(&self.next_to_yield) {
            self.ready.extend(outcomes);
            self.next_to_yield += 1;
        }
    }
}

impl<A, R, I> Iterator for IMap<A, R, I>
where
    A: Serialize,
    R: DeserializeOwned + Send + 'static,
    I: Iterator<Item = A>,
{
    type Item = Result<R, TaskError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(outcome) = self.ready.pop_front() {
                self.top_up();
                return Some(outcome);
            }
            self.top_up();
            if self.in_pool == 0 {
                return None;
            }
            // No deadline needed: the pool delivers every chunk exactly once (see `core.rs`),
            // and `self.sender` keeps the channel open, so this cannot fail.
            let chunk = self.arrivals.recv().expect("IMap holds a sender");
            self.accept(chunk);
        }
    }
}

impl<A, R, I> std::fmt::Debug for IMap<A, R, I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IMap")
            .field("chunksize", &self.chunksize)
            .field("ordered", &self.ordered)
            .field("chunks_in_pool", &self.in_pool)
            .finish_non_exhaustive()
    }
}
