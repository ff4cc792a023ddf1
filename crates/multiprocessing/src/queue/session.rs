//! A session: one handle's conversation with the broker.
//!
//! Every [`Sender`](super::Sender) and [`Receiver`](super::Receiver) opens its own session on first
//! use, by sending a hello on the queue's registration channel (see `wire.rs`). A session is a
//! channel up to the broker and an answer channel back, so each handle's requests and answers
//! stay in order and never mix with another handle's.
//!
//! Requests with a deadline need care: a `get_timeout` that gives up must not leave the broker's
//! late answer waiting in the channel, where the *next* request would read it as its own. So a
//! timed-out request is cancelled, and `Session::cancel` reads up to the broker's
//! acknowledgement, honouring any answer that crossed the cancellation on the way.

use std::cell::RefCell;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use ipc_channel::ipc::{self, IpcSender};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::lane::{Batch, Inbox, Outbox};
use super::local::{Doors, DownRx, Missing};
use super::wire::{Down, Hello, Up};
use crate::Error;
use crate::ipc::{send_catching, send_error};

pub(super) struct Session<T> {
    pub(super) up: IpcSender<Up<T>>,
    /// The session's up lane: how its batches of items reach the broker (`lane.rs`).
    pub(super) outbox: Arc<Outbox>,
    down: DownRx<T>,
}

impl<T> Session<T>
where
    T: Serialize + DeserializeOwned,
{
    /// Opens a session; `doors` is `Some` in the process that created the queue, whose handles
    /// are answered in-process (see `local.rs`).
    pub(super) fn open(
        registry: &IpcSender<Hello<T>>,
        doors: Option<&Arc<Doors<T>>>,
    ) -> Result<Self, Error> {
        let (up, up_rx) = ipc::channel().map_err(Error::Ipc)?;
        let (hello, down) = match doors {
            Some(doors) => {
                let (door, answers) = doors.open()?;
                let hello = Hello {
                    up: up_rx,
                    down: None,
                    local: Some(door),
                };
                (hello, DownRx::Local(answers))
            }
            None => {
                let (down_tx, answers) = ipc::channel().map_err(Error::Ipc)?;
                let hello = Hello {
                    up: up_rx,
                    down: Some(down_tx),
                    local: None,
                };
                (hello, DownRx::Ipc(answers, RefCell::new(Inbox::default())))
            }
        };
        registry.send(hello).map_err(send_error)?;
        let outbox = Outbox::new();
        Ok(Session { up, outbox, down })
    }

    /// Sends a request (no items: those go with [`send_items`](Self::send_items)).
    pub(super) fn send(&self, message: Up<T>) -> Result<(), Error> {
        send_catching(&self.up, message, "a request to the queue broker")
    }

    /// Sends items up the session's lane, as `Up::Items` (a put) or `Up::Return` (a consumer
    /// giving back what it fetched).
    pub(super) fn send_items(
        &self,
        message: fn(Batch<T>) -> Up<T>,
        items: Vec<T>,
    ) -> Result<(), Error> {
        let batch = Batch::Outgoing(items, Arc::clone(&self.outbox));
        (self.outbox).send(&self.up, message(batch), "a batch of queue items")
    }

    /// Ask the broker something and wait for the answer until `deadline` (`None`: forever).
    /// `Ok(None)` means the deadline passed; the request was then cancelled, so no stale answer
    /// is left behind for the next request.
    pub(super) fn request(
        &self,
        message: Up<T>,
        deadline: Option<Instant>,
    ) -> Result<Option<Down<T>>, Error> {
        self.send(message)?;
        let Some(deadline) = deadline else {
            return self.down.recv().map(Some);
        };
        match self.down.recv_until(deadline) {
            Ok(answer) => Ok(Some(answer)),
            Err(Missing::TimedOut) => self.cancel(),
            Err(Missing::Failed(error)) => Err(error),
        }
    }

    /// Withdraw the pending request. An answer may have crossed the `Cancel` on the way; if so,
    /// it is returned and must be honoured.
    fn cancel(&self) -> Result<Option<Down<T>>, Error> {
        self.send(Up::Cancel)?;
        let mut crossed = None;
        loop {
            match self.down.recv()? {
                Down::Cancelled => return Ok(crossed),
                answer => crossed = Some(answer),
            }
        }
    }
}

/// Locks a handle's state, ignoring poisoning.
pub(super) fn lock<S>(mutex: &Mutex<S>) -> MutexGuard<'_, S> {
    // A panic while holding the lock leaves plain data (counters, buffers) that is still valid.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An answer that does not fit the request: a bug, or two different binaries.
pub(super) fn protocol_error() -> Error {
    Error::Serialization(
        "unexpected answer from the queue broker (mismatched binaries?)".into(),
    )
}
