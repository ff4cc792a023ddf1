//! The handles of a [`JoinableQueue`](super::JoinableQueue): a sender that can `join`, a
//! receiver that must `task_done`.
//!
//! They wrap the plain handles, so everything else (the bound, the end of the stream, travelling
//! to other processes) is the same. What differs is the counting: the broker counts every item
//! that reaches it as unfinished, `task_done` counts one down, and `join` is answered when the
//! count is zero. For the count to be exact across processes, a joinable queue's `put` sends
//! before it returns (no feeder) and its consumers fetch one item at a time (`batch(1)`), and
//! each process remembers how many items it took, so a `task_done` too many is caught where it
//! happens.

use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::receiver::{Iter, Receiver};
use super::sender::{PutError, Sender};
use super::session::{Session, lock, protocol_error};
use super::wire::{Down, Up};
use crate::Error;

/// The producing half of a [`JoinableQueue`](super::JoinableQueue): a [`Sender`] that can also `join`.
#[derive(Clone, Serialize, Deserialize)]
#[serde(bound = "T: Serialize + DeserializeOwned + Send + 'static")]
pub struct JoinableSender<T>(pub(super) Sender<T>)
where
    T: Serialize + DeserializeOwned + Send + 'static;

impl<T> JoinableSender<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    /// Put an item; it has reached the broker when this returns.
    pub fn put(&self, item: T) -> Result<(), PutError<T>> {
        self.0.put(item)
    }

    /// Put an item, waiting at most `timeout` for room in a bounded queue.
    pub fn put_timeout(&self, item: T, timeout: Duration) -> Result<(), PutError<T>> {
        self.0.put_timeout(item, timeout)
    }

    /// Wait until every item put so far, by any process, has been marked done with
    /// [`JoinableReceiver::task_done`] (Python's `JoinableQueue.join()`).
    pub fn join(&self) -> Result<(), Error> {
        self.join_until(None)
    }

    /// [`join`](Self::join) with a deadline; then [`Error::Timeout`].
    pub fn join_timeout(&self, timeout: Duration) -> Result<(), Error> {
        self.join_until(Some(Instant::now() + timeout))
    }

    fn join_until(&self, deadline: Option<Instant>) -> Result<(), Error> {
        let mut state = lock(&self.0.inner.state);
        if state.session.is_none() {
            state.session = Some(Session::open(
                &lock(&self.0.inner.registry),
                self.0.inner.doors.as_ref(),
            )?);
        }
        let session = state.session.as_ref().expect("opened above");
        match session.request(Up::Join, deadline)? {
            Some(Down::Joined) => Ok(()),
            Some(Down::Closed) => Err(Error::Disconnected),
            Some(_) => Err(protocol_error()),
            None => Err(Error::Timeout("every queued task to be marked done".into())),
        }
    }
}

/// The consuming half of a [`JoinableQueue`](super::JoinableQueue): a [`Receiver`] whose items must be marked done.
#[derive(Clone, Serialize, Deserialize)]
#[serde(bound = "T: Serialize + DeserializeOwned + Send + 'static")]
pub struct JoinableReceiver<T>(pub(super) Receiver<T>)
where
    T: Serialize + DeserializeOwned + Send + 'static;

impl<T> JoinableReceiver<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    /// The next item (see [`Receiver::get`]); call [`task_done`](Self::task_done) when it is
    /// processed.
    pub fn get(&self) -> Result<Option<T>, Error> {
        self.0.get()
    }

    /// The next item, waiting at most `timeout` (see [`Receiver::get_timeout`]).
    pub fn get_timeout(&self, timeout: Duration) -> Result<Option<T>, Error> {
        self.0.get_timeout(timeout)
    }

    /// Iterate until the end of the stream (see [`Receiver::iter`]).
    pub fn iter(&self) -> Iter<'_, T> {
        self.0.iter()
    }

    /// Mark one item that this process took with `get` as processed.
    ///
    /// # Panics
    ///
    /// If this process has marked every item it took already (Python raises `ValueError`:
    /// "task_done() called too many times"). That is a bug in the caller, not a run-time condition.
    pub fn task_done(&self) -> Result<(), Error> {
        let mut state = lock(&self.0.inner.state);
        assert!(
            state.not_done > 0,
            "task_done() called more times than this process took items with get()"
        );
        state.not_done -= 1;
        let session = state.session.as_ref().expect("a get opened the session");
        session.send(Up::TaskDone(1))
    }
}
