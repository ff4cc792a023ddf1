//! The broker: one thread that owns the state of every lock, semaphore, event, condition and
//! barrier, and serves the handles' sessions. The messages it speaks are in `protocol.rs`; the
//! state of each primitive and the rules that change it are in `state.rs`.
//!
//! # Why a broker
//!
//! A lock that several processes share has to live *somewhere*. Python's `multiprocessing.Lock`
//! lives in a POSIX semaphore, a counter in memory that every process maps (the kernel only puts
//! waiters to sleep and wakes them); `Manager().Lock()` lives in a server process that the others
//! talk to. We do what the manager does, for one reason the semaphore cannot give us: **knowing
//! who holds what**. The counter says how many permits are left, not who took them, so when a
//! process that holds one is killed, it stays taken forever and everyone else deadlocks. The broker knows the
//! holder of every lock and permit, and learns the moment a holder dies, so it can hand the lock
//! on (and tell the next holder that its predecessor died mid-section).
//!
//! # How it learns of a death: sessions
//!
//! Every thread that uses a primitive opens one *session* with the broker (done for you, on first
//! use; see `client.rs`): a pair of `ipc-channel` channels, requests one way and replies the
//! other. The request sender lives only in that thread and is never cloned. The broker keeps all
//! session receivers in one [`IpcReceiverSet`] and waits on them together. When the thread's
//! process dies (even by `SIGKILL`) the kernel closes its file descriptors, the set reports the
//! session *closed*, and the broker releases what that session held: locks, permits, a place at a
//! barrier (which then breaks), a place in a wait queue.
//!
//! # Limits
//!
//! The broker never forgets a primitive: handles are copied freely between processes, and
//! counting them (as Python's `Manager` does with proxies that report every copy and drop) would
//! double the messages. So a program that creates primitives in a loop grows the broker; past
//! [`MAX_PRIMITIVES`] it refuses to create more, with an error, instead of growing without bound.
//! Create primitives once, up front, and pass clones around. Each wake-up of the broker also
//! scans every primitive for expired deadlines: nothing for the dozens a program normally has, a
//! real cost for tens of thousands (a production broker would keep a timer heap).
//!
//! # Costs
//!
//! Every acquire is a round trip through a Unix socket and a thread switch (tens of
//! microseconds, against tens of nanoseconds for an uncontended `std::sync::Mutex`): use these
//! primitives to coordinate processes, not inside hot loops. The broker is one thread, so every
//! primitive it serves is serialized through it. It lives in the process that created the first
//! primitive (normally the parent); if that process exits, every handle's next call fails with
//! [`SyncError::BrokerGone`](super::SyncError::BrokerGone) instead of hanging.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use ipc_channel::TrySelectError;
use ipc_channel::ipc::{self, IpcReceiverSet, IpcSelectionResult, IpcSender};

use super::protocol::{Hello, PrimitiveId, Reply, Request};
use super::state::{
    LockWaiter, OnGrant, Outbox, Primitive, SessionId, Waiter, acquire_lock,
    arrive_at_barrier, break_barrier, expire_lock_waiters, grant_lock, grant_permits,
    kind_name, refused, release_permit, take_where, take_where_vec,
};

/// The most primitives one broker keeps; `Create` beyond this is refused.
pub(crate) const MAX_PRIMITIVES: usize = 65_536;

/// The broker's state and its loop.
pub(crate) struct Broker {
    set: IpcReceiverSet,
    hello_id: u64,
    replies: HashMap<SessionId, IpcSender<Reply>>,
    primitives: HashMap<PrimitiveId, Primitive>,
    next_id: PrimitiveId,
}

impl Broker {
    /// Creates a broker and the sender that sessions register through.
    pub(crate) fn new() -> std::io::Result<(Broker, IpcSender<Hello>)> {
        let (hello_tx, hello_rx) = ipc::channel::<Hello>()?;
        let mut set = IpcReceiverSet::new()?;
        let hello_id = set.add(hello_rx)?;
        let broker = Broker {
            set,
            hello_id,
            replies: HashMap::new(),
            primitives: HashMap::new(),
            next_id: 1,
        };
        Ok((broker, hello_tx))
    }

    // ANCHOR: broker_loop
    /// Serves sessions until the registration channel closes (which happens only when
    /// every handle in every process is gone) or the receiver set fails.
    pub(crate) fn run(mut self) {
        loop {
            let events = match self.wait_for_events() {
                Ok(events) => events,
                Err(()) => return,
            };
            for event in events {
                match event {
                    IpcSelectionResult::MessageReceived(id, message)
                        if id == self.hello_id =>
                    {
                        if let Ok(hello) = message.to::<Hello>() {
                            self.open_session(hello);
                        }
                    }
                    IpcSelectionResult::MessageReceived(session, message) => {
                        let outbox = match message.to::<Request>() {
                            Ok(request) => self.handle(session, request),
                            Err(error) => {
                                let refusal = format!("bad request: {error}");
                                vec![(session, Reply::Refused(refusal))]
                            }
                        };
                        self.send(outbox);
                    }
                    IpcSelectionResult::ChannelClosed(id) if id == self.hello_id => {
                        return;
                    }
                    IpcSelectionResult::ChannelClosed(session) => {
                        // The session's thread ended or its process died: free its
                        // holdings.
                        let outbox = self.forget_session(session);
                        self.send(outbox);
                    }
                }
            }
            let outbox = self.expire(Instant::now());
            self.send(outbox);
        }
    }
    // ANCHOR_END: broker_loop

    /// Blocks until a message, a closed session, or the nearest waiter's deadline.
    fn wait_for_events(&mut self) -> Result<Vec<IpcSelectionResult>, ()> {
        let deadline = self
            .primitives
            .values()
            .filter_map(Primitive::next_deadline)
            .min();
        let result = match deadline {
            None => self.set.select().map_err(TrySelectError::IoError),
            Some(deadline) => self
                .set
                .try_select_timeout(deadline.saturating_duration_since(Instant::now())),
        };
        match result {
            Ok(events) => Ok(events),
            Err(TrySelectError::Empty) => Ok(Vec::new()),
            Err(TrySelectError::IoError(_)) => Err(()),
        }
    }

    fn open_session(&mut self, hello: Hello) {
        if let Ok(session) = self.set.add(hello.requests) {
            self.replies.insert(session, hello.replies);
        }
    }

    fn send(&mut self, outbox: Outbox) {
        for (session, reply) in outbox {
            if let Some(sender) = self.replies.get(&session) {
                // A failed send means the session's process just died; its closed-session
                // event is on its way and will clean up.
                let _ = sender.send(reply);
            }
        }
    }

    fn handle(&mut self, session: SessionId, request: Request) -> Outbox {
        if let Request::Create(kind) = request {
            if self.primitives.len() >= MAX_PRIMITIVES {
                let why = format!(
                    "this broker already holds {MAX_PRIMITIVES} primitives (they are never freed): \
                     create them once and pass clones instead of creating them in a loop"
                );
                return vec![(session, Reply::Refused(why))];
            }
            let id = self.next_id;
            self.next_id += 1;
            self.primitives.insert(id, Primitive::new(kind));
            return vec![(session, Reply::Created(id))];
        }
        let id = request_target(&request);
        let Some(primitive) = self.primitives.get_mut(&id) else {
            return vec![(session, Reply::Refused(format!("no primitive {id}")))];
        };
        let deadline = |timeout: Option<Duration>| timeout.map(|t| Instant::now() + t);
        match (primitive, request) {
            (Primitive::Lock(lock), Request::Acquire { timeout, .. })
            | (Primitive::Condition { lock, .. }, Request::Acquire { timeout, .. }) => {
                acquire_lock(lock, session, deadline(timeout))
            }
            (Primitive::Lock(lock), Request::Release { .. })
            | (Primitive::Condition { lock, .. }, Request::Release { .. }) => {
                lock.release(session);
                grant_lock(lock)
            }
            (Primitive::Semaphore(sem), Request::Acquire { timeout, .. }) => {
                sem.waiters.push_back(Waiter {
                    session,
                    deadline: deadline(timeout),
                });
                grant_permits(sem)
            }
            (Primitive::Semaphore(sem), Request::Release { .. }) => {
                release_permit(sem, session)
            }
            (Primitive::Event { set, waiters }, Request::Set { .. }) => {
                *set = true;
                let mut outbox: Outbox = waiters
                    .drain(..)
                    .map(|w| (w.session, Reply::Flag(true)))
                    .collect();
                outbox.push((session, Reply::Flag(true)));
                outbox
            }
            (Primitive::Event { set, .. }, Request::Clear { .. }) => {
                *set = false;
                vec![(session, Reply::Flag(false))]
            }
            (Primitive::Event { set, .. }, Request::IsSet { .. }) => {
                vec![(session, Reply::Flag(*set))]
            }
            (Primitive::Event { set, waiters }, Request::Wait { timeout, .. }) => {
                if *set {
                    return vec![(session, Reply::Flag(true))];
                }
                waiters.push(Waiter {
                    session,
                    deadline: deadline(timeout),
                });
                Vec::new()
            }
            (
                Primitive::Condition { lock, waiters },
                Request::CondWait { timeout, .. },
            ) => {
                if lock.owner != Some(session) {
                    return vec![(
                        session,
                        refused("wait on a condition whose lock you do not hold"),
                    )];
                }
                lock.owner = None;
                lock.depth = 0;
                waiters.push_back(Waiter {
                    session,
                    deadline: deadline(timeout),
                });
                grant_lock(lock)
            }
            (Primitive::Condition { lock, waiters }, Request::Notify { n, .. }) => {
                if lock.owner == Some(session) {
                    let woken = waiters.len().min(n as usize);
                    for waiter in waiters.drain(..woken) {
                        lock.waiters.push_back(LockWaiter {
                            waiter: Waiter {
                                session: waiter.session,
                                deadline: None,
                            },
                            on_grant: OnGrant::CondWake { notified: true },
                        });
                    }
                }
                Vec::new()
            }
            (Primitive::Barrier(barrier), Request::BarrierWait { timeout, .. }) => {
                arrive_at_barrier(barrier, session, deadline(timeout))
            }
            (Primitive::Barrier(barrier), Request::BarrierWaiting { .. }) => {
                vec![(session, Reply::Count(barrier.arrived.len() as u32))]
            }
            (primitive, request) => vec![(
                session,
                refused(&format!(
                    "{request:?} does not apply to {}",
                    kind_name(primitive)
                )),
            )],
        }
    }

    /// A session closed: release everything it held, remove it from every queue.
    fn forget_session(&mut self, session: SessionId) -> Outbox {
        self.replies.remove(&session);
        let mut outbox = Outbox::new();
        for primitive in self.primitives.values_mut() {
            match primitive {
                Primitive::Lock(lock) => {
                    lock.forget(session);
                    outbox.extend(grant_lock(lock));
                }
                Primitive::Condition { lock, waiters } => {
                    waiters.retain(|w| w.session != session);
                    lock.forget(session);
                    outbox.extend(grant_lock(lock));
                }
                Primitive::Semaphore(sem) => {
                    sem.waiters.retain(|w| w.session != session);
                    sem.available += sem.holders.remove(&session).unwrap_or(0);
                    outbox.extend(grant_permits(sem));
                }
                Primitive::Event { waiters, .. } => {
                    waiters.retain(|w| w.session != session)
                }
                Primitive::Barrier(barrier) => {
                    if barrier.arrived.iter().any(|w| w.session == session) {
                        barrier.arrived.retain(|w| w.session != session);
                        outbox.extend(break_barrier(barrier));
                    }
                }
            }
        }
        outbox
    }

    /// Answers every waiter whose deadline has passed.
    fn expire(&mut self, now: Instant) -> Outbox {
        let due = |w: &Waiter| w.deadline.is_some_and(|d| d <= now);
        let mut outbox = Outbox::new();
        for primitive in self.primitives.values_mut() {
            match primitive {
                Primitive::Lock(lock) => expire_lock_waiters(lock, now, &mut outbox),
                Primitive::Semaphore(sem) => {
                    for waiter in take_where(&mut sem.waiters, due) {
                        outbox.push((waiter.session, Reply::TimedOut));
                    }
                }
                Primitive::Event { waiters, .. } => {
                    let (expired, kept) = waiters.drain(..).partition(|w| due(w));
                    *waiters = kept;
                    outbox.extend(
                        expired
                            .into_iter()
                            .map(|w: Waiter| (w.session, Reply::Flag(false))),
                    );
                }
                Primitive::Condition { lock, waiters } => {
                    // A timed-out condition waiter must still take the lock back before it
                    // returns, exactly as if it had been notified.
                    for waiter in take_where(waiters, due) {
                        lock.waiters.push_back(LockWaiter {
                            waiter: Waiter {
                                session: waiter.session,
                                deadline: None,
                            },
                            on_grant: OnGrant::CondWake { notified: false },
                        });
                    }
                    expire_lock_waiters(lock, now, &mut outbox);
                    outbox.extend(grant_lock(lock));
                }
                Primitive::Barrier(barrier) => {
                    let expired = take_where_vec(&mut barrier.arrived, due);
                    if !expired.is_empty() {
                        outbox.extend(
                            expired.into_iter().map(|w| (w.session, Reply::TimedOut)),
                        );
                        outbox.extend(break_barrier(barrier));
                    }
                }
            }
        }
        outbox
    }
}

fn request_target(request: &Request) -> PrimitiveId {
    match request {
        Request::Create(_) => 0,
        Request::Acquire { id, .. }
        | Request::Release { id }
        | Request::Set { id }
        | Request::Clear { id }
        | Request::IsSet { id }
        | Request::Wait { id, .. }
        | Request::CondWait { id, .. }
        | Request::Notify { id, .. }
        | Request::BarrierWait { id, .. }
        | Request::BarrierWaiting { id } => *id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::protocol::Kind;

    #[test]
    fn creating_primitives_past_the_limit_is_refused_with_a_reason() {
        let (mut broker, _register) = Broker::new().unwrap();
        let session = 7;
        for _ in 0..MAX_PRIMITIVES {
            let outbox = broker.handle(session, Request::Create(Kind::Event));
            assert!(matches!(outbox[..], [(7, Reply::Created(_))]), "{outbox:?}");
        }
        let outbox = broker.handle(session, Request::Create(Kind::Lock));
        match &outbox[..] {
            [(7, Reply::Refused(why))] => assert!(why.contains("never freed"), "{why}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_request_for_the_wrong_kind_of_primitive_is_refused() {
        let (mut broker, _register) = Broker::new().unwrap();
        let id = match &broker.handle(1, Request::Create(Kind::Event))[..] {
            [(1, Reply::Created(id))] => *id,
            other => panic!("{other:?}"),
        };
        let outbox = broker.handle(1, Request::Acquire { id, timeout: None });
        assert!(
            matches!(&outbox[..], [(1, Reply::Refused(why))] if why.contains("an Event"))
        );
        let outbox = broker.handle(1, Request::IsSet { id: id + 1000 });
        assert!(
            matches!(&outbox[..], [(1, Reply::Refused(why))] if why.contains("no primitive"))
        );
    }
}
