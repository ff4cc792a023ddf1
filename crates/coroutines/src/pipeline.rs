//! A bounded async producer/consumer: several producers, several consumers, one bounded channel
//! between them, an explicit end of stream, and cancellation that leaves nothing running.
//!
//! Python's `asyncio.Queue(maxsize=n)` with producer and consumer tasks is the shape; the usual
//! listing gets three things wrong, and this module does each one on purpose:
//!
//! - **Back-pressure.** The channel holds at most `capacity` items. A producer that gets ahead
//!   waits in [`Producer::send`] until a consumer has taken one, so memory stays bounded however
//!   slow the consumers are. (An unbounded queue turns a slow consumer into a memory leak.)
//! - **End of stream.** Each producer owns a sender; when the last producer returns, the last
//!   sender is dropped, the channel closes, and consumers see `None` once it is empty. Nobody
//!   polls `queue.empty()` (racy: a producer may be about to put) and nobody counts sentinels.
//! - **Errors per item.** `consume` returns a `Result` per item; an `Err` is recorded in the
//!   [`Outcome`] and the consumer goes on with the next item. One bad item does not stop the rest.
//!
//! # Several consumers on one receiver
//!
//! tokio's `mpsc` is multi-producer, *single*-consumer: there is one `Receiver`. The consumers
//! share it behind a `tokio::sync::Mutex` and hold the lock only while they wait for the next
//! item, never while they work on it, so they work in parallel. (`async-channel` or
//! `crossbeam-channel` have cloneable receivers; this keeps to tokio.)
//!
//! # Cancellation
//!
//! Every task runs under one [`CancellationToken`]. Cancelling it stops producers where they are
//! (even in the middle of a `send` that waits for room) and consumers where they are (the item
//! being worked on is dropped, unfinished); [`run`] then waits for every task to end and returns
//! what was finished, with [`Outcome::cancelled`] set. Dropping the future of [`run`] itself
//! aborts every task (they live in a `JoinSet`), so nothing outlives the pipeline either way.
//!
//! A panic in a producer or a consumer is a bug, not an item's error: the pipeline cancels the
//! other tasks, waits for them, and returns [`PipelineError::Panicked`].

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use tokio::sync::{Mutex, mpsc};
use tokio::task::{self, JoinSet};
use tokio_util::sync::CancellationToken;

/// How big the pipeline is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// How many items the channel holds before producers wait (at least 1).
    pub capacity: usize,
    /// How many consumer tasks take items from it (at least 1).
    pub consumers: usize,
}

/// Why a pipeline could not run, or stopped early.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PipelineError {
    /// `capacity` was 0: a channel that holds nothing cannot pass anything on.
    #[error("the channel's capacity must be at least 1")]
    ZeroCapacity,
    /// `consumers` was 0: producers would fill the channel and wait for ever.
    #[error("a pipeline needs at least one consumer")]
    NoConsumers,
    /// A producer or consumer panicked; the other tasks were cancelled.
    #[error("a {role} panicked: {message}")]
    Panicked {
        /// `"producer"` or `"consumer"`.
        role: &'static str,
        /// The panic's message, when it was a string.
        message: String,
    },
}

/// What came out of a pipeline run.
#[derive(Debug)]
pub struct Outcome<R, E> {
    /// One result per item a consumer finished, in the order they finished.
    pub results: Vec<Result<R, E>>,
    /// Whether the run was cancelled before the stream ended.
    pub cancelled: bool,
}

/// The channel closed before `send` could hand the item over (every consumer has ended); the item
/// comes back.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the pipeline's consumers have stopped")]
pub struct Closed<T>(pub T);

/// A producer's end of the channel. Dropping it (by returning) is how a producer says "no more
/// from me"; the stream ends when every producer has.
#[derive(Debug)]
pub struct Producer<T> {
    sender: mpsc::Sender<T>,
}

impl<T> Producer<T> {
    /// Hands `item` to the channel, waiting while the channel is full (back-pressure).
    pub async fn send(&self, item: T) -> Result<(), Closed<T>> {
        self.sender
            .send(item)
            .await
            .map_err(|error| Closed(error.0))
    }
}

/// What each task hands back when it ends.
enum Finished<R, E> {
    Producer,
    Consumer(Vec<Result<R, E>>),
}

/// Runs `producers` and `options.consumers` copies of `consume` over a channel of
/// `options.capacity` items, until every producer has returned and every item has been
/// consumed, or until `cancel` is cancelled.
///
/// Each producer is a function that gets its [`Producer`] and returns the future that produces;
/// `consume` is called once per item.
pub async fn run<T, R, E, P, PF, C, CF>(
    options: Options,
    producers: impl IntoIterator<Item = P>,
    consume: C,
    cancel: CancellationToken,
) -> Result<Outcome<R, E>, PipelineError>
where
    T: Send + 'static,
    R: Send + 'static,
    E: Send + 'static,
    P: FnOnce(Producer<T>) -> PF,
    PF: Future<Output = ()> + Send + 'static,
    C: Fn(T) -> CF + Send + Sync + 'static,
    CF: Future<Output = Result<R, E>> + Send,
{
    if options.capacity == 0 {
        return Err(PipelineError::ZeroCapacity);
    }
    if options.consumers == 0 {
        return Err(PipelineError::NoConsumers);
    }
    // A child token: a panic cancels this run's tasks without cancelling the caller's token.
    let cancel = cancel.child_token();
    let mut tasks = JoinSet::new();
    let mut roles = HashMap::new();
    // ANCHOR: spawn
    let (sender, receiver) = mpsc::channel(options.capacity);
    for produce in producers {
        let producing = produce(Producer {
            sender: sender.clone(),
        });
        let cancel = cancel.clone();
        let task = tasks.spawn(async move {
            cancel.run_until_cancelled(producing).await;
            Finished::Producer
        });
        roles.insert(task.id(), "producer");
    }
    // Only the producers hold senders now: when the last one ends, the stream ends.
    drop(sender);
    let receiver = Arc::new(Mutex::new(receiver));
    let consume = Arc::new(consume);
    for _ in 0..options.consumers {
        let (receiver, consume) = (Arc::clone(&receiver), Arc::clone(&consume));
        let cancel = cancel.clone();
        let task = tasks.spawn(async move {
            let mut results = Vec::new();
            let consuming = consume_until_closed(&receiver, &*consume, &mut results);
            cancel.run_until_cancelled(consuming).await;
            Finished::Consumer(results)
        });
        roles.insert(task.id(), "consumer");
    }
    // ANCHOR_END: spawn
    collect(tasks, &roles, cancel).await
}

// ANCHOR: consume
/// One consumer: takes items until the channel is closed and empty; records each result.
async fn consume_until_closed<T, R, E, C, CF>(
    receiver: &Mutex<mpsc::Receiver<T>>,
    consume: &C,
    results: &mut Vec<Result<R, E>>,
) where
    C: Fn(T) -> CF,
    CF: Future<Output = Result<R, E>>,
{
    loop {
        // The lock is held only while waiting for an item, and released before the work.
        let next = receiver.lock().await.recv().await;
        let Some(item) = next else { return }; // closed and empty: the end of the stream
        results.push(consume(item).await); // an Err is recorded, and the loop goes on
    }
}
// ANCHOR_END: consume

/// Waits for every task, gathering the consumers' results; a panic cancels the rest.
async fn collect<R, E>(
    mut tasks: JoinSet<Finished<R, E>>,
    roles: &HashMap<task::Id, &'static str>,
    cancel: CancellationToken,
) -> Result<Outcome<R, E>, PipelineError>
where
    R: 'static,
    E: 'static,
{
    let mut results = Vec::new();
    let mut panicked = None;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Finished::Consumer(finished)) => results.extend(finished),
            Ok(Finished::Producer) => {}
            Err(error) => {
                cancel.cancel();
                let role = roles.get(&error.id()).copied().unwrap_or("task");
                panicked.get_or_insert((role, panic_message(error)));
            }
        }
    }
    match panicked {
        Some((role, message)) => Err(PipelineError::Panicked { role, message }),
        None => Ok(Outcome {
            results,
            cancelled: cancel.is_cancelled(),
        }),
    }
}

/// The message of a task's panic. (No task is aborted while `collect` runs: the `JoinSet`
/// aborts them only when it is dropped.)
fn panic_message(error: task::JoinError) -> String {
    match error.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(not a string)".to_owned()),
        Err(error) => error.to_string(),
    }
}
