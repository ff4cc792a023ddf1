//! The producing half of a queue: [`Sender`], and [`PutError`], which hands a failed item back.
//!
//! A `put` does the least it can before returning: in a bounded queue it takes one credit (room
//! bought from the broker, a few puts at a time, see the module docs of `queue`), and then it
//! hands the item to this process's feeder thread (`feeder.rs`), which does the sending. Joinable
//! queues skip the feeder and send before `put` returns, so that a `join` from any process counts
//! the item. Everything a `put` can fail on before the item leaves gives the item back inside the
//! [`PutError`]: nothing is lost to a timeout or a queue with no consumer.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ipc_channel::ipc::IpcSender;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::feeder::Feeder;
use super::local::Doors;
use super::session::{Session, lock, protocol_error};
use super::wire::{Config, Down, Hello, Up};
use crate::Error;

/// The producing half of a [`Queue`](super::Queue): `put`, `put_timeout`, `flush`. Clone it for more producers
/// in this process (each clone is independent: give each thread its own); pass it inside a
/// [`Process`](crate::Process) argument for producers in others. When every `Sender` everywhere
/// is gone, consumers see the end of the stream.
pub struct Sender<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    pub(super) inner: SenderInner<T>,
}

pub(super) struct SenderInner<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    /// In a `Mutex` only because `IpcSender<Hello<T>>` is not `Sync` (the hello carries a
    /// receiver, and ipc-channel's receivers are not `Sync`); it is locked only to clone or send.
    pub(super) registry: Mutex<IpcSender<Hello<T>>>,
    pub(super) config: Config,
    /// `Some` in the process that created the queue (see `local.rs`).
    pub(super) doors: Option<Arc<Doors<T>>>,
    pub(super) state: Mutex<ProducerState<T>>,
}

pub(super) struct ProducerState<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    pub(super) session: Option<Session<T>>,
    /// Puts this process may still make before asking the broker (bounded queues).
    credits: u64,
    feeder: Option<Feeder<T>>,
}

/// A `put` that did not happen. The item comes back whenever the failure happened before it was
/// handed to the channel (a timeout, no consumer left): nothing is lost.
pub struct PutError<T> {
    pub(super) error: Error,
    pub(super) item: Option<T>,
}

impl<T> PutError<T> {
    /// Why the put failed ([`Error::Timeout`], [`Error::Disconnected`], ...).
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// The item that was not put; `None` only if the channel itself failed while sending it.
    pub fn into_item(self) -> Option<T> {
        self.item
    }
}

impl<T> fmt::Debug for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PutError")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Display for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "put failed: {}", self.error)
    }
}

impl<T> std::error::Error for PutError<T> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl<T> From<PutError<T>> for Error {
    fn from(error: PutError<T>) -> Self {
        error.error
    }
}

impl<T> Sender<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    pub(super) fn from_parts(
        registry: IpcSender<Hello<T>>,
        config: Config,
        doors: Option<Arc<Doors<T>>>,
    ) -> Self {
        let state = ProducerState {
            session: None,
            credits: 0,
            feeder: None,
        };
        let inner = SenderInner {
            registry: Mutex::new(registry),
            config,
            doors,
            state: Mutex::new(state),
        };
        Sender { inner }
    }

    /// Put an item, waiting while a bounded queue is full. Fails with [`Error::Disconnected`]
    /// when no consumer is left (the item comes back inside the error).
    pub fn put(&self, item: T) -> Result<(), PutError<T>> {
        self.put_until(item, None)
    }

    /// Put an item, waiting at most `timeout` for room in a bounded queue; then
    /// [`Error::Timeout`], with the item handed back. (Python: `put(item, timeout=...)` raising
    /// `queue.Full`.)
    pub fn put_timeout(&self, item: T, timeout: Duration) -> Result<(), PutError<T>> {
        self.put_until(item, Some(Instant::now() + timeout))
    }

    /// Wait until every item this process has put has been sent to the broker.
    pub fn flush(&self) -> Result<(), Error> {
        let state = lock(&self.inner.state);
        match &state.feeder {
            Some(feeder) => feeder.flush(),
            None => Ok(()),
        }
    }

    fn put_until(&self, item: T, deadline: Option<Instant>) -> Result<(), PutError<T>> {
        let mut state = lock(&self.inner.state);
        if let Err(error) = self.reserve_room(&mut state, deadline) {
            return Err(PutError {
                error,
                item: Some(item),
            });
        }
        if self.inner.config.joinable {
            let session = state
                .session
                .as_ref()
                .expect("reserve_room opened the session");
            // Sent before `put` returns, so a later `join` (from any process) counts it.
            return session
                .send_items(Up::Items, vec![item])
                .map_err(|error| PutError { error, item: None });
        }
        if state.feeder.is_none() {
            let feeder = match self.start_feeder(&mut state) {
                Ok(feeder) => feeder,
                Err(error) => {
                    return Err(PutError {
                        error,
                        item: Some(item),
                    });
                }
            };
            state.feeder = Some(feeder);
        }
        state.feeder.as_ref().expect("just started").put(item)
    }

    /// Open the session if needed and, in a bounded queue, take one credit (asking the broker
    /// for more, and waiting, when none is left).
    fn reserve_room(
        &self,
        state: &mut ProducerState<T>,
        deadline: Option<Instant>,
    ) -> Result<(), Error> {
        if state.session.is_none() {
            state.session = Some(Session::open(
                &lock(&self.inner.registry),
                self.inner.doors.as_ref(),
            )?);
        }
        let Some(capacity) = self.inner.config.capacity else {
            return Ok(());
        };
        if state.credits == 0 {
            let want = (capacity / 16).clamp(1, self.inner.config.batch);
            let session = state.session.as_ref().expect("opened above");
            match session.request(Up::Credits(want), deadline)? {
                Some(Down::Credits(granted)) => state.credits += u64::from(granted),
                Some(Down::Closed) => return Err(Error::Disconnected),
                Some(_) => return Err(protocol_error()),
                None => return Err(Error::Timeout("room in a full queue".into())),
            }
        }
        state.credits -= 1;
        Ok(())
    }

    fn start_feeder(&self, state: &mut ProducerState<T>) -> Result<Feeder<T>, Error> {
        let session = state.session.as_ref().expect("opened by reserve_room");
        let (up, outbox) = (session.up.clone(), Arc::clone(&session.outbox));
        Feeder::start(up, outbox, self.inner.config.batch as usize)
    }
}

impl<T> Clone for Sender<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    /// Another producer: its own session with the broker and its own feeder, so a clone per
    /// thread never waits on another thread's `put`.
    fn clone(&self) -> Self {
        Sender::from_parts(
            lock(&self.inner.registry).clone(),
            self.inner.config,
            self.inner.doors.clone(),
        )
    }
}

impl<T> Drop for SenderInner<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    /// The last `Sender` of this process: send what the feeder still holds, then hang up.
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some(feeder) = state.feeder.take() {
            feeder.finish();
        }
    }
}
