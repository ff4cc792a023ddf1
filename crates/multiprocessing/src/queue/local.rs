//! The short cut for handles that live in the broker's own process.
//!
//! A consumer in the process that created the queue (the usual case: children produce, the
//! parent collects) would otherwise receive its items the long way: the broker serializes them,
//! the kernel copies them through a socket, and the consumer deserializes them, all within one
//! process. Instead, such a handle gets its answers over an in-process channel: the items move,
//! nothing is copied. Requests still go over the session's ipc channel, because that is what the
//! broker waits on, and what tells it when the handle is gone.
//!
//! How a handle proves it is local: the queue's creator keeps a table of *doors* (`Doors`), shared
//! with the broker. A local handle puts the sending half of its in-process channel in the table
//! under a fresh number and sends the number in its hello. A handle that travelled to another
//! process has no table, so it always takes the ipc path; a number cannot be forged across
//! processes because the table only exists here.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use ipc_channel::ipc::{IpcReceiver, IpcSender};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::lane::{Batch, Entry, Inbox, Outbox};
use super::wire::Down;
use crate::Error;
use crate::ipc::{recv_error, recv_until};

/// In-process answer channels waiting to be picked up by the broker, by door number.
pub(crate) struct Doors<T> {
    next: AtomicU64,
    table: Mutex<Table<T>>,
}

struct Table<T> {
    waiting: HashMap<u64, mpsc::Sender<Down<T>>>,
    /// The broker has ended: no door will ever be picked up again.
    closed: bool,
}

impl<T> Doors<T> {
    pub(crate) fn new() -> Arc<Self> {
        let table = Table {
            waiting: HashMap::new(),
            closed: false,
        };
        Arc::new(Doors {
            next: AtomicU64::new(0),
            table: Mutex::new(table),
        })
    }

    /// Opens a door: the number goes in the hello, the receiver stays with the handle.
    /// `Disconnected` once the broker has ended.
    pub(crate) fn open(&self) -> Result<(u64, mpsc::Receiver<Down<T>>), Error> {
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        if table.closed {
            return Err(Error::Disconnected);
        }
        let (tx, rx) = mpsc::channel();
        let door = self.next.fetch_add(1, Ordering::Relaxed);
        table.waiting.insert(door, tx);
        Ok((door, rx))
    }

    /// The broker takes the sender for a door it was told about.
    pub(crate) fn take(&self, door: u64) -> Option<mpsc::Sender<Down<T>>> {
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        table.waiting.remove(&door)
    }

    /// The broker is ending. Dropping the senders of doors it never picked up (their hellos were
    /// still in flight) makes those handles see `Disconnected` instead of waiting forever.
    pub(crate) fn close(&self) {
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        table.closed = true;
        table.waiting.clear();
    }
}

/// The broker's end of a session's answer channel. Answers to a handle in another process are
/// encoded, and their items travel through the session's down lane (`lane.rs`); answers to a
/// handle here move as they are.
pub(crate) enum DownTx<T> {
    Ipc(IpcSender<Down<T>>, Arc<Outbox>),
    Local(mpsc::Sender<Down<T>>),
}

impl<T: Serialize + DeserializeOwned> DownTx<T> {
    /// `false` if the handle is gone.
    pub(crate) fn send(&self, message: Down<T>) -> bool {
        match self {
            DownTx::Ipc(sender, outbox) => {
                outbox.send(sender, message, "an answer").is_ok()
            }
            DownTx::Local(sender) => sender.send(message).is_ok(),
        }
    }

    /// Items to answer with, as they are: parcels included, which a handle here decodes in
    /// its own thread, and which go on to a handle in another process without being decoded.
    pub(crate) fn batch(&self, entries: Vec<Entry<T>>) -> Batch<T> {
        match self {
            DownTx::Ipc(_, outbox) => Batch::Forward(entries, Arc::clone(outbox)),
            DownTx::Local(_) => Batch::Arrived(entries),
        }
    }

    /// How many items one answer should carry, at most `batch` (see
    /// `Outbox::items_per_message`; in-process answers are never encoded, so any number).
    pub(crate) fn items_per_message(&self, batch: usize) -> usize {
        match self {
            DownTx::Ipc(_, outbox) => outbox.items_per_message(batch),
            DownTx::Local(_) => batch,
        }
    }
}

/// A handle's end of its session's answer channel; from another process, with the inbox of the
/// session's down lane.
pub(crate) enum DownRx<T> {
    Ipc(IpcReceiver<Down<T>>, RefCell<Inbox>),
    Local(mpsc::Receiver<Down<T>>),
}

/// Why an answer did not come.
pub(crate) enum Missing {
    TimedOut,
    Failed(Error),
}

impl<T> DownRx<T>
where
    T: Serialize + DeserializeOwned,
{
    /// Wait for the broker's answer as long as it takes.
    pub(crate) fn recv(&self) -> Result<Down<T>, Error> {
        match self {
            DownRx::Ipc(receiver, inbox) => {
                (inbox.borrow_mut().lend(|| receiver.recv())).map_err(recv_error)
            }
            DownRx::Local(receiver) => receiver.recv().map_err(|_| Error::Disconnected),
        }
    }

    /// Wait for the broker's answer until `deadline`.
    pub(crate) fn recv_until(&self, deadline: Instant) -> Result<Down<T>, Missing> {
        match self {
            DownRx::Ipc(receiver, inbox) => {
                let received = inbox.borrow_mut().lend(|| recv_until(receiver, deadline));
                received.map_err(|error| match error {
                    ipc_channel::TryRecvError::Empty => Missing::TimedOut,
                    ipc_channel::TryRecvError::IpcError(e) => {
                        Missing::Failed(recv_error(e))
                    }
                })
            }
            DownRx::Local(receiver) => {
                let left = deadline.saturating_duration_since(Instant::now());
                receiver.recv_timeout(left).map_err(|error| match error {
                    RecvTimeoutError::Timeout => Missing::TimedOut,
                    RecvTimeoutError::Disconnected => {
                        Missing::Failed(Error::Disconnected)
                    }
                })
            }
        }
    }
}
