//! The protocol between the handles and the broker: what a handle asks ([`Request`]) and what
//! the broker answers ([`Reply`]), over one session's pair of channels.
//!
//! Each session has at most one request waiting for a reply (its thread blocks until the reply
//! arrives), so replies need no request ids and the broker never has more than one unread reply
//! queued per session: the ~280-message limit of an `ipc-channel` socket cannot fill up. Releases
//! and notifications need no answer and get none (they cannot fail for a guard that holds the
//! lock). Timeouts are the broker's job: a waiter carries a deadline, and when it passes the broker
//! answers "timed out". Deciding in one place means a lock is never granted to a thread that has
//! already given up on it.

use std::time::Duration;

use ipc_channel::ipc::{IpcReceiver, IpcSender};
use serde::{Deserialize, Serialize};

/// The id of a primitive inside its broker.
pub(crate) type PrimitiveId = u64;

/// Which primitive to create.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) enum Kind {
    Lock,
    RLock,
    Semaphore { permits: u32 },
    Event,
    Condition,
    Barrier { parties: u32 },
}

/// A session's opening message: where the broker reads its requests and sends its replies.
#[derive(Serialize, Deserialize)]
pub(crate) struct Hello {
    pub(crate) requests: IpcReceiver<Request>,
    pub(crate) replies: IpcSender<Reply>,
}

// ANCHOR: protocol
/// What a handle asks the broker. Variants marked "no reply" are fire-and-forget.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Request {
    /// Make a new primitive: `Created(id)`.
    Create(Kind),
    /// Lock, RLock, Semaphore, Condition: `Acquired` or `TimedOut`.
    Acquire {
        id: PrimitiveId,
        timeout: Option<Duration>,
    },
    /// Give back what `Acquire` took. No reply.
    Release { id: PrimitiveId },
    /// Event: `Flag(true)` once applied.
    Set { id: PrimitiveId },
    /// Event: `Flag(false)` once applied.
    Clear { id: PrimitiveId },
    /// Event: `Flag(is_set)` at once.
    IsSet { id: PrimitiveId },
    /// Event: `Flag(true)` when set, `Flag(false)` at the deadline.
    Wait {
        id: PrimitiveId,
        timeout: Option<Duration>,
    },
    /// Condition, lock held: release it, wait for a notify (or the deadline), take it
    /// back: `Woken { notified }`.
    CondWait {
        id: PrimitiveId,
        timeout: Option<Duration>,
    },
    /// Condition, lock held: wake up to `n` waiters. No reply.
    Notify { id: PrimitiveId, n: u32 },
    /// Barrier: `Passed { index }`, `Broken`, or `TimedOut` for the waiter whose deadline
    /// passed (which breaks the barrier for the others).
    BarrierWait {
        id: PrimitiveId,
        timeout: Option<Duration>,
    },
    /// Barrier: `Count(parties waiting now)`.
    BarrierWaiting { id: PrimitiveId },
}

/// The broker's answer to one request.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Reply {
    Created(PrimitiveId),
    /// The lock or permit is yours. `holder_died`: the previous holder died holding it.
    Acquired {
        holder_died: bool,
    },
    TimedOut,
    Flag(bool),
    /// Back from a condition wait with the lock held again.
    Woken {
        notified: bool,
        holder_died: bool,
    },
    Passed {
        index: u32,
    },
    Broken,
    Count(u32),
    /// The request was wrong (for example a lock taken twice by one thread); the message
    /// says why.
    Refused(String),
}
// ANCHOR_END: protocol
