//! The feeder thread: how a `put` returns at once and many items still share one message.
//!
//! Python's `multiprocessing.Queue` has a feeder thread for the same reason: a system call per
//! item would cap the rate at a few hundred thousand items a second. Here `put` pushes the item
//! into a bounded in-process channel (at most `FEEDER_BACKLOG` items ahead, so a producer that
//! outruns the socket waits instead of filling memory), and the feeder takes everything that has
//! piled up, up to one batch, and sends it as one message. Under load that is hundreds of items
//! per system call; when idle, one item goes at once.
//!
//! The feeder cannot return an error to a `put` that has already returned, so a failed send is
//! remembered and reported by every later `put` and `flush`. `flush` is a marker in the same
//! channel: answered once everything before it has been sent.

use std::sync::mpsc::{self, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use ipc_channel::ipc::IpcSender;
use serde::Serialize;

use super::sender::PutError;
use super::session::lock;
use super::wire::Up;
use crate::Error;
use crate::ipc::send_catching;

/// How many items a `put` may run ahead of the feeder thread before it waits.
const FEEDER_BACKLOG: usize = 4096;

enum Feed<T> {
    Item(T),
    Flush(mpsc::Sender<()>),
}

pub(super) struct Feeder<T> {
    feed: SyncSender<Feed<T>>,
    thread: JoinHandle<()>,
    /// Why the feeder stopped, if it did.
    failure: Arc<Mutex<Option<Error>>>,
}

impl<T> Feeder<T>
where
    T: Serialize + Send + 'static,
{
    pub(super) fn start(up: IpcSender<Up<T>>, batch: usize) -> Result<Self, Error> {
        let (feed, items) = mpsc::sync_channel(FEEDER_BACKLOG);
        let failure = Arc::new(Mutex::new(None));
        let failed = Arc::clone(&failure);
        let thread = thread::Builder::new()
            .name("queue-feeder".into())
            .spawn(move || feed_loop(&items, &up, batch, &failed))
            .map_err(Error::Spawn)?;
        Ok(Feeder {
            feed,
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
        self.feed
            .send(Feed::Item(item))
            .map_err(|mpsc::SendError(feed)| {
                let Feed::Item(item) = feed else {
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
    up: &IpcSender<Up<T>>,
    batch: usize,
    failure: &Mutex<Option<Error>>,
) {
    let mut flushes = Vec::new();
    while let Ok(first) = feed.recv() {
        let mut items = Vec::new();
        let mut next = Some(first);
        // Take what has piled up, up to one batch: one message, one system call.
        while let Some(feed_item) = next.take() {
            match feed_item {
                Feed::Item(item) => items.push(item),
                Feed::Flush(done) => flushes.push(done),
            }
            if items.len() < batch {
                next = feed.try_recv().ok();
            }
        }
        if !items.is_empty()
            && lock(failure).is_none()
            && let Err(error) = send_catching(up, Up::Items(items), "a batch of queue items")
        {
            // Later puts report this; items still arriving are dropped so puts never block.
            *lock(failure) = Some(error);
        }
        for done in flushes.drain(..) {
            let _ = done.send(());
        }
    }
}
