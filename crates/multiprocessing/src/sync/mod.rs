//! Cross-process synchronization: [`Lock`], [`RLock`], [`Semaphore`], [`Event`], [`Condition`],
//! [`Barrier`].
//!
//! These are the process-spanning cousins of `std::sync` and of Python's
//! `multiprocessing.Lock`, `RLock`, `Semaphore`, `Event`, `Condition` and `Barrier`. Create one in
//! the parent, pass it (or a clone) inside a `Process` argument, and every process sees the same
//! primitive. They also work between threads of one process: each thread is its own party.
//!
//! # Design: a broker that knows who holds what
//!
//! The state of every primitive lives in a *broker*, a thread in the process that created the
//! first primitive (normally the parent), like Python's `Manager`. A handle is a small
//! serializable value: the broker's address and the primitive's id. Every operation is a message
//! to the broker over `ipc-channel`, and the broker answers when the lock is yours, the event is
//! set, the barrier opens, or the deadline passes. `broker.rs` explains the broker, `protocol.rs`
//! its messages, `state.rs` the rules of each primitive.
//!
//! The point of the design is what happens when a process **dies** holding something. With a
//! kernel semaphore (Python's default) a process killed inside `with lock:` leaves the lock taken
//! forever. Here each thread's connection to the broker is a *session*, and the broker sees a
//! session close when its thread ends or its process dies, even by `SIGKILL`. Then:
//!
//! - a [`Lock`] or [`RLock`] it held is given to the next waiter, whose guard reports
//!   [`previous_holder_died`](LockGuard::previous_holder_died), because the data the lock
//!   protected may be half-updated (the same idea as a poisoned `std::sync::Mutex`);
//! - [`Semaphore`] permits it held return to the pool;
//! - a [`Barrier`] it was waiting at *breaks*: the other waiters get
//!   [`SyncError::BrokenBarrier`] instead of waiting forever for a party that will never come;
//! - it leaves every wait queue.
//!
//! # Guards, not `release()`
//!
//! Python pairs `acquire()` with `release()` (or uses `with lock:`). Here `acquire` returns a
//! guard and dropping the guard releases, so an early `return` or a `?` cannot forget the release.
//! Guards are not `Send`: a lock is released by the thread that took it, on the same session.
//!
//! # Costs
//!
//! Each blocking operation is a round trip to the broker thread (tens of microseconds). That is
//! nothing next to starting a process, and far too much for a hot loop: for a shared counter use
//! an atomic in shared memory ([`Value::fetch_add`](crate::shared::Value::fetch_add)), and take a
//! lock only around a multi-step change. Timeouts are decided by the broker, so a lock is never
//! handed to a thread that has already stopped waiting for it.
//!
//! Each handle carries one file descriptor (its way to the broker), and `ipc-channel` allows 64
//! per message: a `Process` argument with a dozen primitives is fine, one with a hundred is not
//! (`spawn` then fails with a clear error rather than losing some).
//!
//! For the one-file alternative the kernel cleans up by itself, see [`FileLock`].
use std::marker::PhantomData;
use std::time::Duration;

use serde::{Deserialize, Serialize};

mod broker;
mod client;
mod file_lock;
mod protocol;
mod state;

pub use file_lock::{FileLock, FileLockGuard};

use client::{BrokerRef, local_broker, unexpected};
use protocol::{Kind, PrimitiveId, Reply, Request};

/// What can go wrong with a cross-process primitive.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The broker cannot be reached: the process that created the primitive has exited.
    #[error(
        "the synchronization broker is gone (did the process that created the primitive exit?)"
    )]
    BrokerGone,
    /// A barrier was broken: a party died or timed out while others waited.
    #[error("the barrier is broken: a party died or timed out while the others waited")]
    BrokenBarrier,
    /// A barrier wait ran into its timeout (which breaks the barrier for the others).
    #[error("timed out after {0:?} waiting at the barrier")]
    Timeout(Duration),
    /// The broker refused the request (for example a `Lock` taken twice by one thread, which would
    /// deadlock).
    #[error("refused: {0}")]
    Refused(String),
    /// An argument that makes no sense (for example a barrier of zero parties).
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
    /// Setting up a channel or the broker thread failed.
    #[error("I/O error setting up synchronization: {0}")]
    Io(#[from] std::io::Error),
}

/// A primitive's address: which broker, which id. Serializable, so it crosses processes.
#[derive(Clone, Serialize, Deserialize)]
struct Handle {
    broker: BrokerRef,
    id: PrimitiveId,
}

impl Handle {
    fn create(kind: Kind) -> Result<Handle, SyncError> {
        let broker = local_broker()?;
        let id = broker.create(kind)?;
        Ok(Handle { broker, id })
    }

    /// Acquire with an optional timeout: `Some(holder_died)` when acquired, `None` on timeout.
    fn acquire(&self, timeout: Option<Duration>) -> Result<Option<bool>, SyncError> {
        match self.broker.call(Request::Acquire {
            id: self.id,
            timeout,
        })? {
            Reply::Acquired { holder_died } => Ok(Some(holder_died)),
            Reply::TimedOut => Ok(None),
            other => Err(unexpected(other)),
        }
    }

    fn release(&self) {
        // Dropping a guard cannot report an error; if the broker is gone there is nothing left
        // to release.
        let _ = self.broker.tell(Request::Release { id: self.id });
    }

    fn flag(&self, request: Request) -> Result<bool, SyncError> {
        match self.broker.call(request)? {
            Reply::Flag(flag) => Ok(flag),
            other => Err(unexpected(other)),
        }
    }
}

/// Makes a guard `!Send`: it must be dropped on the thread (the session) that acquired.
type NotSend = PhantomData<*const ()>;

// ANCHOR: lock
/// A cross-process mutual-exclusion lock: Python's `multiprocessing.Lock`.
///
/// Not re-entrant: a thread that already holds it and asks again gets
/// [`SyncError::Refused`] (Python would deadlock); use [`RLock`] for re-entry.
#[derive(Clone, Serialize, Deserialize)]
pub struct Lock {
    handle: Handle,
}

impl Lock {
    /// Creates a lock served by this process's broker.
    pub fn new() -> Result<Lock, SyncError> {
        Ok(Lock {
            handle: Handle::create(Kind::Lock)?,
        })
    }

    /// Waits until the lock is free and takes it; dropping the guard releases it.
    pub fn acquire(&self) -> Result<LockGuard<'_>, SyncError> {
        let holder_died = self.handle.acquire(None)?.unwrap_or(false);
        Ok(LockGuard::new(&self.handle, holder_died))
    }

    /// Like [`acquire`](Lock::acquire), but gives up after `timeout`: `Ok(None)`.
    pub fn acquire_timeout(
        &self,
        timeout: Duration,
    ) -> Result<Option<LockGuard<'_>>, SyncError> {
        Ok(self
            .handle
            .acquire(Some(timeout))?
            .map(|holder_died| LockGuard::new(&self.handle, holder_died)))
    }

    /// Takes the lock only if it is free right now.
    pub fn try_acquire(&self) -> Result<Option<LockGuard<'_>>, SyncError> {
        self.acquire_timeout(Duration::ZERO)
    }
}

/// Holds a [`Lock`] (or an [`RLock`] level) until dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct LockGuard<'a> {
    handle: &'a Handle,
    holder_died: bool,
    _not_send: NotSend,
}

impl<'a> LockGuard<'a> {
    fn new(handle: &'a Handle, holder_died: bool) -> LockGuard<'a> {
        LockGuard {
            handle,
            holder_died,
            _not_send: PhantomData,
        }
    }

    /// True if the previous holder died while holding the lock: whatever it protected may
    /// be half-updated. (The same warning as a poisoned `std::sync::Mutex`.)
    pub fn previous_holder_died(&self) -> bool {
        self.holder_died
    }
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        self.handle.release();
    }
}
// ANCHOR_END: lock

/// A re-entrant lock: Python's `multiprocessing.RLock`. The thread that holds it may acquire it
/// again; it is free once every guard is dropped.
///
/// Re-entry only saves a thread from deadlocking *with itself* (a function that takes the lock
/// calling another that takes it too); it does nothing against two threads or processes waiting
/// for each other's locks.
#[derive(Clone, Serialize, Deserialize)]
pub struct RLock {
    handle: Handle,
}

impl RLock {
    /// Creates a re-entrant lock served by this process's broker.
    pub fn new() -> Result<RLock, SyncError> {
        Ok(RLock {
            handle: Handle::create(Kind::RLock)?,
        })
    }

    /// Takes one level of the lock, waiting if another thread holds it.
    pub fn acquire(&self) -> Result<LockGuard<'_>, SyncError> {
        let holder_died = self.handle.acquire(None)?.unwrap_or(false);
        Ok(LockGuard::new(&self.handle, holder_died))
    }

    /// Like [`acquire`](RLock::acquire), but gives up after `timeout`: `Ok(None)`.
    pub fn acquire_timeout(
        &self,
        timeout: Duration,
    ) -> Result<Option<LockGuard<'_>>, SyncError> {
        Ok(self
            .handle
            .acquire(Some(timeout))?
            .map(|holder_died| LockGuard::new(&self.handle, holder_died)))
    }
}

// ANCHOR: semaphore
/// A counting semaphore: Python's `multiprocessing.Semaphore(n)` (bounded: a permit is given back
/// only by dropping the guard that took it).
#[derive(Clone, Serialize, Deserialize)]
pub struct Semaphore {
    handle: Handle,
}

impl Semaphore {
    /// Creates a semaphore with `permits` permits.
    pub fn new(permits: u32) -> Result<Semaphore, SyncError> {
        Ok(Semaphore {
            handle: Handle::create(Kind::Semaphore { permits })?,
        })
    }

    /// Waits for a permit; dropping the guard gives it back.
    pub fn acquire(&self) -> Result<SemaphoreGuard<'_>, SyncError> {
        self.handle.acquire(None)?;
        Ok(SemaphoreGuard::new(&self.handle))
    }

    /// Like [`acquire`](Semaphore::acquire), but gives up after `timeout`: `Ok(None)`.
    pub fn acquire_timeout(
        &self,
        timeout: Duration,
    ) -> Result<Option<SemaphoreGuard<'_>>, SyncError> {
        Ok(self
            .handle
            .acquire(Some(timeout))?
            .map(|_| SemaphoreGuard::new(&self.handle)))
    }
}

/// Holds one permit of a [`Semaphore`] until dropped.
#[must_use = "the permit is given back as soon as the guard is dropped"]
pub struct SemaphoreGuard<'a> {
    handle: &'a Handle,
    _not_send: NotSend,
}

impl<'a> SemaphoreGuard<'a> {
    fn new(handle: &'a Handle) -> SemaphoreGuard<'a> {
        SemaphoreGuard {
            handle,
            _not_send: PhantomData,
        }
    }
}

impl Drop for SemaphoreGuard<'_> {
    fn drop(&mut self) {
        self.handle.release();
    }
}
// ANCHOR_END: semaphore

// ANCHOR: event
/// A flag that processes wait on: Python's `multiprocessing.Event`.
#[derive(Clone, Serialize, Deserialize)]
pub struct Event {
    handle: Handle,
}

impl Event {
    /// Creates an event, not set.
    pub fn new() -> Result<Event, SyncError> {
        Ok(Event {
            handle: Handle::create(Kind::Event)?,
        })
    }

    /// Sets the flag and wakes every waiter. When this returns, the broker has applied it.
    pub fn set(&self) -> Result<(), SyncError> {
        self.handle
            .flag(Request::Set { id: self.handle.id })
            .map(drop)
    }

    /// Clears the flag.
    pub fn clear(&self) -> Result<(), SyncError> {
        self.handle
            .flag(Request::Clear { id: self.handle.id })
            .map(drop)
    }

    /// Whether the flag is set now.
    pub fn is_set(&self) -> Result<bool, SyncError> {
        self.handle.flag(Request::IsSet { id: self.handle.id })
    }

    /// Waits until the flag is set.
    pub fn wait(&self) -> Result<(), SyncError> {
        self.handle
            .flag(Request::Wait {
                id: self.handle.id,
                timeout: None,
            })
            .map(drop)
    }

    /// Waits until the flag is set or `timeout` passes; returns whether it was set.
    pub fn wait_timeout(&self, timeout: Duration) -> Result<bool, SyncError> {
        self.handle.flag(Request::Wait {
            id: self.handle.id,
            timeout: Some(timeout),
        })
    }
}
// ANCHOR_END: event

/// A condition variable with its own lock: Python's `multiprocessing.Condition()`.
///
/// Take the lock with [`acquire`](Condition::acquire), check your condition (on shared memory,
/// say), and [`wait`](ConditionGuard::wait) if it does not hold yet; another process changes the
/// state under the lock and calls [`notify`](ConditionGuard::notify). Always re-check after
/// waking: a notification says "something changed", not "your condition holds".
#[derive(Clone, Serialize, Deserialize)]
pub struct Condition {
    handle: Handle,
}

impl Condition {
    /// Creates a condition and its lock.
    pub fn new() -> Result<Condition, SyncError> {
        Ok(Condition {
            handle: Handle::create(Kind::Condition)?,
        })
    }

    /// Takes the condition's lock.
    pub fn acquire(&self) -> Result<ConditionGuard<'_>, SyncError> {
        let holder_died = self.handle.acquire(None)?.unwrap_or(false);
        Ok(ConditionGuard {
            handle: &self.handle,
            holder_died,
            _not_send: PhantomData,
        })
    }
}

/// Holds a [`Condition`]'s lock; waits and notifies through it.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct ConditionGuard<'a> {
    handle: &'a Handle,
    holder_died: bool,
    _not_send: NotSend,
}

impl ConditionGuard<'_> {
    /// Releases the lock, waits for a notification, and takes the lock back before returning.
    pub fn wait(&mut self) -> Result<(), SyncError> {
        self.wait_inner(None).map(drop)
    }

    /// Like [`wait`](ConditionGuard::wait) with a deadline; returns whether it was notified
    /// (`false`: the timeout passed). Either way the lock is held again on return.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<bool, SyncError> {
        self.wait_inner(Some(timeout))
    }

    fn wait_inner(&mut self, timeout: Option<Duration>) -> Result<bool, SyncError> {
        let request = Request::CondWait {
            id: self.handle.id,
            timeout,
        };
        match self.handle.broker.call(request)? {
            Reply::Woken {
                notified,
                holder_died,
            } => {
                self.holder_died |= holder_died;
                Ok(notified)
            }
            other => Err(unexpected(other)),
        }
    }

    /// Wakes up to `n` waiting processes (they run once this guard is dropped).
    pub fn notify(&self, n: u32) -> Result<(), SyncError> {
        self.handle.broker.tell(Request::Notify {
            id: self.handle.id,
            n,
        })
    }

    /// Wakes every waiting process.
    pub fn notify_all(&self) -> Result<(), SyncError> {
        self.notify(u32::MAX)
    }

    /// True if a holder of this lock died holding it since this guard's thread last took it.
    pub fn previous_holder_died(&self) -> bool {
        self.holder_died
    }
}

impl Drop for ConditionGuard<'_> {
    fn drop(&mut self) {
        self.handle.release();
    }
}

// ANCHOR: barrier
/// A meeting point for a fixed number of parties: Python's `multiprocessing.Barrier(n)`.
///
/// Each party calls [`wait`](Barrier::wait); all are released together once `parties` have
/// arrived. If a waiting party dies or times out, the barrier breaks: every waiter, and every
/// later `wait`, gets [`SyncError::BrokenBarrier`]. (A party that dies *before* it arrives looks
/// to the broker like a slow one: use [`wait_timeout`](Barrier::wait_timeout) when that matters.)
#[derive(Clone, Serialize, Deserialize)]
pub struct Barrier {
    handle: Handle,
    parties: u32,
}

impl Barrier {
    /// Creates a barrier for `parties` parties (at least one).
    pub fn new(parties: u32) -> Result<Barrier, SyncError> {
        if parties == 0 {
            return Err(SyncError::InvalidArgument(
                "a barrier needs at least one party",
            ));
        }
        Ok(Barrier {
            handle: Handle::create(Kind::Barrier { parties })?,
            parties,
        })
    }

    /// The number of parties the barrier waits for.
    pub fn parties(&self) -> u32 {
        self.parties
    }

    /// Waits until every party has arrived; returns this party's arrival index
    /// (`0..parties`, distinct for each party of one round).
    pub fn wait(&self) -> Result<u32, SyncError> {
        self.wait_inner(None)
    }

    /// Like [`wait`](Barrier::wait), but gives up after `timeout` with [`SyncError::Timeout`],
    /// which also breaks the barrier for the parties already waiting.
    pub fn wait_timeout(&self, timeout: Duration) -> Result<u32, SyncError> {
        self.wait_inner(Some(timeout))
    }

    /// How many parties are waiting right now (Python's `Barrier.n_waiting`). A snapshot:
    /// useful in tests and progress displays, not for deciding anything.
    pub fn n_waiting(&self) -> Result<u32, SyncError> {
        let request = Request::BarrierWaiting { id: self.handle.id };
        match self.handle.broker.call(request)? {
            Reply::Count(count) => Ok(count),
            other => Err(unexpected(other)),
        }
    }

    fn wait_inner(&self, timeout: Option<Duration>) -> Result<u32, SyncError> {
        let request = Request::BarrierWait {
            id: self.handle.id,
            timeout,
        };
        match self.handle.broker.call(request)? {
            Reply::Passed { index } => Ok(index),
            Reply::Broken => Err(SyncError::BrokenBarrier),
            Reply::TimedOut => Err(SyncError::Timeout(timeout.unwrap_or_default())),
            other => Err(unexpected(other)),
        }
    }
}
// ANCHOR_END: barrier

#[cfg(test)]
mod tests;
