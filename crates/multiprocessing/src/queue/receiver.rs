//! The consuming half of a queue: [`Receiver`] and its iterator.
//!
//! A `get` first hands out what an earlier answer brought (the broker answers a request with up
//! to `batch` items), and only asks the broker again when that is used up. The buffer is per
//! handle, so each thread's clone has its own; a handle that is dropped gives what it still holds
//! back to the broker, for another consumer. The end of the stream is the broker's `End` answer:
//! it is sent only when every producer everywhere is gone and every item has been handed out, so
//! `Ok(None)` from `get` is final.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ipc_channel::ipc::IpcSender;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::held::into_items_reporting;
use super::lane::Entry;
use super::local::Doors;
use super::session::{Session, lock, protocol_error};
use super::wire::{Config, Down, Hello, Up};
use crate::Error;

/// The consuming half of a [`Queue`](super::Queue): `get`, `get_timeout`, `iter`. Clone it for more consumers
/// in this process (each clone is independent: give each thread its own); pass it inside a
/// [`Process`](crate::Process) argument for consumers in others.
pub struct Receiver<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    pub(super) inner: ReceiverInner<T>,
}

pub(super) struct ReceiverInner<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    /// In a `Mutex` for `Sync` (see `SenderInner` in `sender.rs`).
    pub(super) registry: Mutex<IpcSender<Hello<T>>>,
    pub(super) config: Config,
    /// `Some` in the process that created the queue (see `local.rs`).
    pub(super) doors: Option<Arc<Doors<T>>>,
    pub(super) state: Mutex<ConsumerState<T>>,
}

pub(super) struct ConsumerState<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    pub(super) session: Option<Session<T>>,
    /// Items fetched from the broker and not yet returned by `get`. Parcels among them are
    /// decoded only when `get` reaches them, so that each item's memory is allocated just
    /// before it is used (and can reuse what the last one freed).
    fetched: VecDeque<Entry<T>>,
    ended: bool,
    /// Joinable queues: items this process took and has not marked done.
    pub(super) not_done: u64,
}

impl<T> Receiver<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    pub(super) fn from_parts(
        registry: IpcSender<Hello<T>>,
        config: Config,
        doors: Option<Arc<Doors<T>>>,
    ) -> Self {
        let state = ConsumerState {
            session: None,
            fetched: VecDeque::new(),
            ended: false,
            not_done: 0,
        };
        let inner = ReceiverInner {
            registry: Mutex::new(registry),
            config,
            doors,
            state: Mutex::new(state),
        };
        Receiver { inner }
    }

    /// The next item, waiting for one as long as it takes. `Ok(None)` is the end of the stream:
    /// every [`Sender`](super::Sender) is gone and every item has been handed out.
    pub fn get(&self) -> Result<Option<T>, Error> {
        self.get_until(None)
    }

    /// The next item, waiting at most `timeout`; then [`Error::Timeout`] (Python's `queue.Empty`).
    /// `Ok(None)` is the end of the stream.
    pub fn get_timeout(&self, timeout: Duration) -> Result<Option<T>, Error> {
        self.get_until(Some(Instant::now() + timeout))
    }

    /// Iterate over the items until the end of the stream. An error ends the iteration after it
    /// is yielded.
    pub fn iter(&self) -> Iter<'_, T> {
        Iter {
            receiver: self,
            done: false,
        }
    }

    fn get_until(&self, deadline: Option<Instant>) -> Result<Option<T>, Error> {
        let mut state = lock(&self.inner.state);
        if let Some(item) = state.next_fetched()? {
            return Ok(Some(item));
        }
        if state.ended {
            return Ok(None);
        }
        if state.session.is_none() {
            state.session = Some(Session::open(
                &lock(&self.inner.registry),
                self.inner.doors.as_ref(),
            )?);
        }
        let session = state.session.as_ref().expect("opened above");
        match session.request(Up::Want(self.inner.config.batch), deadline)? {
            Some(Down::Items(batch)) => state.fetched.extend(batch.into_entries()),
            Some(Down::End) => state.ended = true,
            Some(_) => return Err(protocol_error()),
            None => return Err(Error::Timeout("an item from the queue".into())),
        }
        state.next_fetched()
    }
}

impl<T> ConsumerState<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    // ANCHOR: next_fetched
    /// The next fetched item, decoding a parcel if that is what comes next.
    fn next_fetched(&mut self) -> Result<Option<T>, Error> {
        let item = loop {
            match self.fetched.pop_front() {
                None => return Ok(None),
                Some(Entry::Item(item)) => break item,
                Some(Entry::Parcel(parcel)) => {
                    let items = parcel.decode::<T>().map_err(Error::Serialization)?;
                    for item in items.into_iter().rev() {
                        self.fetched.push_front(Entry::Item(item));
                    }
                }
            }
        };
        self.not_done += 1;
        Ok(Some(item))
    }
    // ANCHOR_END: next_fetched
}

impl<T> Clone for Receiver<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    /// Another consumer: its own session with the broker and its own buffer, so a clone per
    /// thread never waits on another thread's `get`.
    fn clone(&self) -> Self {
        Receiver::from_parts(
            lock(&self.inner.registry).clone(),
            self.inner.config,
            self.inner.doors.clone(),
        )
    }
}

impl<T> Drop for ReceiverInner<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    /// Give back items fetched but never handed out, so another consumer gets them.
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some(session) = &state.session
            && !state.fetched.is_empty()
        {
            let entries = state.fetched.drain(..).collect();
            let _ = session.send_items(Up::Return, into_items_reporting(entries));
        }
    }
}

/// Iterator over a [`Receiver`]'s items, from [`Receiver::iter`].
pub struct Iter<'a, T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    receiver: &'a Receiver<T>,
    done: bool,
}

impl<T> Iterator for Iter<'_, T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    type Item = Result<T, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.receiver.get() {
            Ok(Some(item)) => Some(Ok(item)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(error) => {
                self.done = true;
                Some(Err(error))
            }
        }
    }
}
