//! The handle side: where a broker lives, and one session per thread per broker.
//!
//! A handle ([`Lock`](super::Lock), [`Event`](super::Event), ...) holds a [`BrokerRef`]: the
//! broker's identity and a sender to its registration channel. Both are plain data plus one file
//! descriptor, so a handle can be serialized into a `Process` argument and works the same in the
//! child.
//!
//! The first time a thread uses any handle of a broker, it opens a session (see the broker's
//! module docs) and keeps it in a thread-local map. Why per *thread* and not per process: a
//! thread blocked in `acquire` waits on its session's reply channel; if threads shared a
//! session, a second thread's `release` would have to wait behind that blocked `acquire`, and the
//! two would deadlock. A thread that ends closes its session, and the broker frees what it held,
//! exactly as for a process that dies.
use std::cell::RefCell;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use ipc_channel::ipc::{self, IpcReceiver, IpcSender};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::SyncError;
use super::broker::Broker;
use super::protocol::{Hello, Kind, PrimitiveId, Reply, Request};

/// Where a broker is and how to open a session with it.
pub(crate) struct BrokerRef {
    /// Tells brokers apart inside one process's session map.
    key: u64,
    /// The broker's registration channel. Behind a mutex only so that handles are `Sync` (an
    /// `IpcSender` of a message holding a receiver is not); it is used once per thread.
    register: Mutex<IpcSender<Hello>>,
}

impl Clone for BrokerRef {
    fn clone(&self) -> BrokerRef {
        BrokerRef {
            key: self.key,
            register: Mutex::new(lock_ignoring_poison(&self.register).clone()),
        }
    }
}

impl Serialize for BrokerRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (self.key, &*lock_ignoring_poison(&self.register)).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for BrokerRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<BrokerRef, D::Error> {
        let (key, register) = <(u64, IpcSender<Hello>)>::deserialize(deserializer)?;
        Ok(BrokerRef {
            key,
            register: Mutex::new(register),
        })
    }
}

fn lock_ignoring_poison<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Nothing can be left half-done inside these mutexes (they only guard a clone or a send).
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The broker of this process, started on first use.
///
/// Handles created in a process talk to that process's broker; handles received from another
/// process keep talking to the broker that created them.
pub(crate) fn local_broker() -> Result<BrokerRef, SyncError> {
    static LOCAL: OnceLock<Result<BrokerRef, String>> = OnceLock::new();
    LOCAL
        .get_or_init(|| start_broker().map_err(|e| e.to_string()))
        .clone()
        .map_err(|e| SyncError::Io(std::io::Error::other(e.clone())))
}

fn start_broker() -> std::io::Result<BrokerRef> {
    let (broker, register) = Broker::new()?;
    std::thread::Builder::new()
        .name("multiprocessing-sync-broker".into())
        .spawn(move || broker.run())?;
    Ok(BrokerRef {
        key: broker_key(),
        register: Mutex::new(register),
    })
}

/// A key unlikely to repeat across processes: the pid and the clock at start.
fn broker_key() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    (u64::from(std::process::id()) << 40) ^ nanos
}

/// One thread's connection to one broker.
struct Session {
    requests: IpcSender<Request>,
    replies: IpcReceiver<Reply>,
}

thread_local! {
    static SESSIONS: RefCell<HashMap<u64, Session>> = RefCell::new(HashMap::new());
}

impl BrokerRef {
    fn open_session(&self) -> Result<Session, SyncError> {
        let (requests, broker_requests) = ipc::channel::<Request>()?;
        let (broker_replies, replies) = ipc::channel::<Reply>()?;
        let hello = Hello {
            requests: broker_requests,
            replies: broker_replies,
        };
        lock_ignoring_poison(&self.register)
            .send(hello)
            .map_err(|_| SyncError::BrokerGone)?;
        Ok(Session { requests, replies })
    }

    /// Sends `request` on this thread's session and waits for the broker's reply.
    pub(crate) fn call(&self, request: Request) -> Result<Reply, SyncError> {
        self.with_session(|session| {
            session
                .requests
                .send(request)
                .map_err(|_| SyncError::BrokerGone)?;
            session.replies.recv().map_err(|_| SyncError::BrokerGone)
        })
    }

    /// Sends a request that has no reply (release, notify).
    pub(crate) fn tell(&self, request: Request) -> Result<(), SyncError> {
        self.with_session(|session| {
            session
                .requests
                .send(request)
                .map_err(|_| SyncError::BrokerGone)
        })
    }

    fn with_session<T>(
        &self,
        f: impl FnOnce(&Session) -> Result<T, SyncError>,
    ) -> Result<T, SyncError> {
        SESSIONS
            .try_with(|sessions| {
                let mut sessions = sessions.borrow_mut();
                let session = match sessions.entry(self.key) {
                    Entry::Occupied(entry) => entry.into_mut(),
                    Entry::Vacant(entry) => entry.insert(self.open_session()?),
                };
                let result = f(session);
                if matches!(result, Err(SyncError::BrokerGone)) {
                    // Do not keep a dead session: the next call gets the same clear error.
                    sessions.remove(&self.key);
                }
                result
            })
            // The thread is exiting and its sessions are already gone.
            .unwrap_or(Err(SyncError::BrokerGone))
    }

    /// Asks the broker for a new primitive.
    pub(crate) fn create(&self, kind: Kind) -> Result<PrimitiveId, SyncError> {
        match self.call(Request::Create(kind))? {
            Reply::Created(id) => Ok(id),
            other => Err(unexpected(other)),
        }
    }
}

/// A reply that does not fit the request: a bug, or a handle of one kind used as another.
pub(crate) fn unexpected(reply: Reply) -> SyncError {
    match reply {
        Reply::Refused(why) => SyncError::Refused(why),
        other => {
            SyncError::Refused(format!("unexpected reply from the broker: {other:?}"))
        }
    }
}
