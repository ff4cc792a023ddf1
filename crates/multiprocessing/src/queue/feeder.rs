//! The feeder thread: how a `put` returns at once and many items still share one message.
//!
//! Python's `multiprocessing.Queue` has a feeder thread for the same reason: a system call per
//! item would cap the rate at a few hundred thousand items a second. Here `put` pushes the item
//! into a bounded in-process channel (at most `FEEDER_BACKLOG` items ahead, fewer of large ones,
//! so a producer that outruns the socket waits instead of filling memory; Python's buffer has no
//! bound at all), and the feeder takes everything that has
//! piled up, up to one batch, and sends it as one message. Under load that is hundreds of items
//! per system call; when idle, one item goes at once. Large items go fewer to a message: the
//! lane (`lane.rs`) says how many make about a megabyte, judging by the last batch.
//!
//! The feeder cannot return an error to a `put` that has already returned, so a failed send is
//! remembered and reported by every later `put` and `flush`. `flush` is a marker in the same
//! channel: answered once everything before it has been sent.

use std::sync::mpsc::{self, SyncSender};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::{self, JoinHandle};

use ipc_channel::ipc::IpcSender;
use serde::Serialize;

use super::lane::{Batch, Outbox};
use super::sender::PutError;
use super::session::lock;
use super::wire::Up;
use crate::Error;

/// How many items a `put` may run ahead of the feeder thread before it waits...
const FEEDER_BACKLOG: usize = 4096;
/// ...or fewer, when they are large: about this many bytes of them, judging by the size of the
/// items in the last batch sent. A producer of megabyte items then holds a few of them, not
/// gigabytes, and its memory is reused rather than fetched afresh.
const FEEDER_BACKLOG_BYTES: usize = 4 << 20;

enum Feed<T> {
    /// An item, and whether it counts in the `Backlog` (large items only: small ones are bound
    /// by the channel alone, and cost no lock).
    Item(T, bool),
    Flush(mpsc::Sender<()>),
}

pub(super) struct Feeder<T> {
    feed: SyncSender<Feed<T>>,
    backlog: Arc<Backlog>,
    outbox: Arc<Outbox>,
    thread: JoinHandle<()>,
    /// Why the feeder stopped, if it did.
    failure: Arc<Mutex<Option<Error>>>,
}

/// The number of items waiting for the feeder, so that a `put` can wait while there are enough.
/// (The channel's own bound is fixed when it is made; this one depends on the items' size.)
struct Backlog {
    /// Items put and not yet taken by the feeder, and whether the feeder has stopped.
    waiting: Mutex<(usize, bool)>,
    room: Condvar,
}

impl Backlog {
    /// Waits until fewer than `limit` items are waiting (or the feeder has stopped), then counts
    /// one more.
    fn enter(&self, limit: usize) {
        let mut waiting = lock(&self.waiting);
        while waiting.0 >= limit && !waiting.1 {
            waiting = self
                .room
                .wait(waiting)
                .unwrap_or_else(PoisonError::into_inner);
        }
        waiting.0 += 1;
    }

    /// The feeder took an item.
    fn leave(&self) {
        lock(&self.waiting).0 -= 1;
        self.room.notify_one();
    }

    /// The feeder has stopped: nobody waits for room any more (the channel reports the rest).
    fn close(&self) {
        lock(&self.waiting).1 = true;
        self.room.notify_all();
    }
}

impl<T> Feeder<T>
where
    T: Serialize + Send + 'static,
{
    /// Starts the feeder of a session: its channel up to the broker, and the outbox of that
    /// channel's lane.
    pub(super) fn start(
        up: IpcSender<Up<T>>,
        outbox: Arc<Outbox>,
        batch: usize,
    ) -> Result<Self, Error> {
        let (feed, items) = mpsc::sync_channel(FEEDER_BACKLOG);
        let backlog = Arc::new(Backlog {
            waiting: Mutex::new((0, false)),
            room: Condvar::new(),
        });
        let failure = Arc::new(Mutex::new(None));
        let thread = {
            let (backlog, outbox, failure) =
                (backlog.clone(), outbox.clone(), failure.clone());
            thread::Builder::new()
                .name("queue-feeder".into())
                .spawn(move || {
                    feed_loop(&items, &backlog, (&up, &outbox), batch, &failure);
                    backlog.close();
                })
                .map_err(Error::Spawn)?
        };
        Ok(Feeder {
            feed,
            backlog,
            outbox,
            thread,
            failure,
        })
    }

    pub(super) fn put(&self, item: T) -> Result<(), PutError<T>> {
        if let Some(error) = self.failed() {
            return Err(PutError {
                error,
                item: Some(item),
            });
        }
        let limit = (self.outbox).items_within(FEEDER_BACKLOG_BYTES, FEEDER_BACKLOG);
        let counted = limit < FEEDER_BACKLOG;
        if counted {
            self.backlog.enter(limit);
        }
        self.feed
            .send(Feed::Item(item, counted))
            .map_err(|mpsc::SendError(feed)| {
                let Feed::Item(item, _) = feed else {
                    unreachable!("we sent an item")
                };
                PutError {
                    error: self.failed().unwrap_or(Error::Disconnected),
                    item: Some(item),
                }
            })
    }

    pub(super) fn flush(&self) -> Result<(), Error> {
        let (done, wait) = mpsc::channel();
        if self.feed.send(Feed::Flush(done)).is_ok() {
            // The feeder answers once everything before the marker is sent (or drops `done`
            // when it has stopped, which ends the wait too).
            let _ = wait.recv();
        }
        match self.failed() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    fn failed(&self) -> Option<Error> {
        lock(&self.failure).as_ref().map(copy_error)
    }

    pub(super) fn finish(self) {
        drop(self.feed);
        let _ = self.thread.join();
    }
}

/// `Error` is not `Clone` (it holds `io::Error`); the feeder's failure is reported to every later
/// `put`, so it is copied by kind and message.
fn copy_error(error: &Error) -> Error {
    match error {
        Error::Disconnected => Error::Disconnected,
        Error::TooManyHandles { what } => Error::TooManyHandles { what: what.clone() },
        Error::Serialization(message) => Error::Serialization(message.clone()),
        other => Error::Ipc(std::io::Error::other(other.to_string())),
    }
}

fn feed_loop<T: Serialize>(
    feed: &mpsc::Receiver<Feed<T>>,
    backlog: &Backlog,
    (up, outbox): (&IpcSender<Up<T>>, &Arc<Outbox>),
    batch: usize,
    failure: &Mutex<Option<Error>>,
) {
    let mut flushes = Vec::new();
    while let Ok(first) = feed.recv() {
        // Take what has piled up, up to one batch, as one message (one system call); of large
        // items, fewer (see `Outbox::items_per_message`).
        let limit = outbox.items_per_message(batch);
        let mut items = Vec::new();
        let mut next = Some(first);
        while let Some(feed_item) = next.take() {
            match feed_item {
                Feed::Item(item, counted) => {
                    if counted {
                        backlog.leave();
                    }
                    items.push(item);
                }
                Feed::Flush(done) => flushes.push(done),
            }
            if items.len() < limit {
                next = feed.try_recv().ok();
            }
        }
        let batch = Batch::Outgoing(items, Arc::clone(outbox));
        if !batch.is_empty()
            && lock(failure).is_none()
            && let Err(error) =
                outbox.send(up, Up::Items(batch), "a batch of queue items")
        {
            // Later puts report this; items still arriving are dropped so puts never block.
            *lock(failure) = Some(error);
        }
        for done in flushes.drain(..) {
            let _ = done.send(());
        }
    }
}
