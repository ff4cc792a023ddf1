//! The state of every primitive the broker keeps, and the changes made to it: who holds a lock,
//! how many permits are left, who waits at a barrier, and whom to answer after each change.
//!
//! Each function here changes one primitive's state and returns its [`Outbox`]: the replies the
//! change makes due. The broker sends them once the change is done. Keeping the state changes
//! free of channels means every rule (a lock goes to the longest waiter, a dead holder's lock
//! passes on with a warning, a barrier breaks when a party leaves) reads as plain data
//! manipulation, and the unit tests can drive it without processes.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use super::protocol::{Kind, Reply};

/// A session, named by its receiver's id in the broker's [`IpcReceiverSet`].
pub(super) type SessionId = u64;

/// What to answer a lock waiter when the lock is granted to it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum OnGrant {
    Acquire,
    CondWake { notified: bool },
}

#[derive(Debug)]
pub(super) struct Waiter {
    pub(super) session: SessionId,
    pub(super) deadline: Option<Instant>,
}

#[derive(Debug)]
pub(super) struct LockWaiter {
    pub(super) waiter: Waiter,
    pub(super) on_grant: OnGrant,
}

/// The state of a Lock, an RLock, or a Condition's lock.
#[derive(Debug)]
pub(super) struct LockState {
    pub(super) reentrant: bool,
    pub(super) owner: Option<SessionId>,
    pub(super) depth: u32,
    /// Set when an owner died holding the lock; reported to (and cleared by) the next owner.
    pub(super) owner_died: bool,
    pub(super) waiters: VecDeque<LockWaiter>,
}

impl LockState {
    fn new(reentrant: bool) -> LockState {
        LockState {
            reentrant,
            owner: None,
            depth: 0,
            owner_died: false,
            waiters: VecDeque::new(),
        }
    }

    /// Gives the lock to the next waiter if it is free: (who, what to answer, holder_died).
    fn grant_next(&mut self) -> Option<(SessionId, OnGrant, bool)> {
        if self.owner.is_some() {
            return None;
        }
        let next = self.waiters.pop_front()?;
        self.owner = Some(next.waiter.session);
        self.depth = 1;
        Some((
            next.waiter.session,
            next.on_grant,
            std::mem::take(&mut self.owner_died),
        ))
    }

    /// Drops one level of `session`'s hold; true if that freed the lock.
    pub(super) fn release(&mut self, session: SessionId) -> bool {
        if self.owner != Some(session) {
            return false;
        }
        self.depth -= 1;
        if self.depth == 0 {
            self.owner = None;
        }
        self.owner.is_none()
    }

    /// Forgets a dead session: frees the lock if it held it, leaves the queue.
    pub(super) fn forget(&mut self, session: SessionId) {
        if self.owner == Some(session) {
            self.owner = None;
            self.depth = 0;
            self.owner_died = true;
        }
        self.waiters.retain(|w| w.waiter.session != session);
    }
}

#[derive(Debug)]
pub(super) struct SemaphoreState {
    pub(super) available: u32,
    pub(super) holders: HashMap<SessionId, u32>,
    pub(super) waiters: VecDeque<Waiter>,
}

#[derive(Debug)]
pub(super) struct BarrierState {
    pub(super) parties: u32,
    pub(super) arrived: Vec<Waiter>,
    pub(super) broken: bool,
}

#[derive(Debug)]
pub(super) enum Primitive {
    Lock(LockState),
    Semaphore(SemaphoreState),
    Event {
        set: bool,
        waiters: Vec<Waiter>,
    },
    Condition {
        lock: LockState,
        waiters: VecDeque<Waiter>,
    },
    Barrier(BarrierState),
}

impl Primitive {
    pub(super) fn new(kind: Kind) -> Primitive {
        match kind {
            Kind::Lock => Primitive::Lock(LockState::new(false)),
            Kind::RLock => Primitive::Lock(LockState::new(true)),
            Kind::Semaphore { permits } => Primitive::Semaphore(SemaphoreState {
                available: permits,
                holders: HashMap::new(),
                waiters: VecDeque::new(),
            }),
            Kind::Event => Primitive::Event {
                set: false,
                waiters: Vec::new(),
            },
            Kind::Condition => Primitive::Condition {
                lock: LockState::new(false),
                waiters: VecDeque::new(),
            },
            Kind::Barrier { parties } => Primitive::Barrier(BarrierState {
                parties,
                arrived: Vec::new(),
                broken: false,
            }),
        }
    }

    /// The earliest deadline of anyone waiting on this primitive.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        let lock_deadlines = |lock: &LockState| {
            lock.waiters.iter().filter_map(|w| w.waiter.deadline).min()
        };
        let deadlines = |waiters: &mut dyn Iterator<Item = &Waiter>| {
            waiters.filter_map(|w| w.deadline).min()
        };
        match self {
            Primitive::Lock(lock) => lock_deadlines(lock),
            Primitive::Semaphore(sem) => deadlines(&mut sem.waiters.iter()),
            Primitive::Event { waiters, .. } => deadlines(&mut waiters.iter()),
            Primitive::Condition { lock, waiters } => lock_deadlines(lock)
                .into_iter()
                .chain(deadlines(&mut waiters.iter()))
                .min(),
            Primitive::Barrier(barrier) => deadlines(&mut barrier.arrived.iter()),
        }
    }
}

/// Replies to send once a state change is done (collected, then sent, to keep the borrow of the
/// state short).
pub(super) type Outbox = Vec<(SessionId, Reply)>;

pub(super) fn refused(why: &str) -> Reply {
    Reply::Refused(why.to_string())
}

pub(super) fn kind_name(primitive: &Primitive) -> &'static str {
    match primitive {
        Primitive::Lock(lock) if lock.reentrant => "an RLock",
        Primitive::Lock(_) => "a Lock",
        Primitive::Semaphore(_) => "a Semaphore",
        Primitive::Event { .. } => "an Event",
        Primitive::Condition { .. } => "a Condition",
        Primitive::Barrier(_) => "a Barrier",
    }
}

pub(super) fn take_where(
    queue: &mut VecDeque<Waiter>,
    due: impl Fn(&Waiter) -> bool,
) -> VecDeque<Waiter> {
    let (expired, kept) = queue.drain(..).partition(|w| due(w));
    *queue = kept;
    expired
}

pub(super) fn take_where_vec(
    queue: &mut Vec<Waiter>,
    due: impl Fn(&Waiter) -> bool,
) -> Vec<Waiter> {
    let (expired, kept) = queue.drain(..).partition(|w| due(w));
    *queue = kept;
    expired
}

pub(super) fn acquire_lock(
    lock: &mut LockState,
    session: SessionId,
    deadline: Option<Instant>,
) -> Outbox {
    if lock.owner == Some(session) {
        if lock.reentrant {
            lock.depth += 1;
            return vec![(session, Reply::Acquired { holder_died: false })];
        }
        return vec![(
            session,
            refused(
                "this thread already holds the Lock: a Lock is not re-entrant (use an RLock)",
            ),
        )];
    }
    lock.waiters.push_back(LockWaiter {
        waiter: Waiter { session, deadline },
        on_grant: OnGrant::Acquire,
    });
    grant_lock(lock)
}

pub(super) fn grant_lock(lock: &mut LockState) -> Outbox {
    match lock.grant_next() {
        None => Vec::new(),
        Some((session, OnGrant::Acquire, holder_died)) => {
            vec![(session, Reply::Acquired { holder_died })]
        }
        Some((session, OnGrant::CondWake { notified }, holder_died)) => vec![(
            session,
            Reply::Woken {
                notified,
                holder_died,
            },
        )],
    }
}

pub(super) fn expire_lock_waiters(
    lock: &mut LockState,
    now: Instant,
    outbox: &mut Outbox,
) {
    let (expired, kept) = lock
        .waiters
        .drain(..)
        .partition(|w| w.waiter.deadline.is_some_and(|d| d <= now));
    lock.waiters = kept;
    let expired: VecDeque<LockWaiter> = expired;
    outbox.extend(
        expired
            .into_iter()
            .map(|w| (w.waiter.session, Reply::TimedOut)),
    );
}

pub(super) fn grant_permits(sem: &mut SemaphoreState) -> Outbox {
    let mut outbox = Outbox::new();
    while sem.available > 0 {
        let Some(waiter) = sem.waiters.pop_front() else {
            break;
        };
        sem.available -= 1;
        *sem.holders.entry(waiter.session).or_default() += 1;
        outbox.push((waiter.session, Reply::Acquired { holder_died: false }));
    }
    outbox
}

pub(super) fn release_permit(sem: &mut SemaphoreState, session: SessionId) -> Outbox {
    let Some(held) = sem.holders.get_mut(&session) else {
        return Vec::new();
    };
    *held -= 1;
    if *held == 0 {
        sem.holders.remove(&session);
    }
    sem.available += 1;
    grant_permits(sem)
}

pub(super) fn arrive_at_barrier(
    barrier: &mut BarrierState,
    session: SessionId,
    deadline: Option<Instant>,
) -> Outbox {
    if barrier.broken {
        return vec![(session, Reply::Broken)];
    }
    barrier.arrived.push(Waiter { session, deadline });
    if barrier.arrived.len() < barrier.parties as usize {
        return Vec::new();
    }
    barrier
        .arrived
        .drain(..)
        .enumerate()
        .map(|(index, w)| {
            (
                w.session,
                Reply::Passed {
                    index: index as u32,
                },
            )
        })
        .collect()
}

pub(super) fn break_barrier(barrier: &mut BarrierState) -> Outbox {
    barrier.broken = true;
    barrier
        .arrived
        .drain(..)
        .map(|w| (w.session, Reply::Broken))
        .collect()
}
