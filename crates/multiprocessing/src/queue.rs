//! `Queue` and `JoinableQueue`: first in, first out, between any number of processes.
//!
//! Python's `multiprocessing.Queue()` is one object that every process can `put` into and `get`
//! from. Here a queue is created as two kinds of handle, the way Rust's own channels are:
//!
//! ```text
//! let (tx, rx) = Queue::<u64>::unbounded()?;   // tx: Sender<u64>, rx: Receiver<u64>
//! ```
//!
//! Both kinds clone (each clone is an independent handle: give each thread its own) and travel
//! (inside a [`Process`](crate::Process) argument, or inside a message on another channel), so
//! there can be any number of producers and consumers in any number of processes.
//!
//! # End of stream, and why `while not queue.empty()` is wrong
//!
//! When the last [`Sender`] is gone — dropped or its process ended, in *every* process — and every
//! item has been handed out, [`Receiver::get`] returns `Ok(None)` and [`Receiver::iter`] stops.
//! That is the whole protocol for "the producers are done":
//!
//! ```text
//! while let Some(item) = rx.get()? { ... }
//! ```
//!
//! Python has no such signal, so programs invent one: a sentinel `None` put once per consumer, or
//! the loop `while not queue.empty(): queue.get()`. The second is a race: "empty" describes one
//! instant, and says nothing about items a producer has not put *yet*. A consumer that starts
//! before the producer finds the queue empty and quits having read nothing (listing 2.3 shows it
//! happen, every time). This type has no `empty()` and no `qsize()` on purpose.
//!
//! # `task_done` and `join`: only on a `JoinableQueue`
//!
//! Python's plain `Queue` has no `task_done`; `JoinableQueue` has. The same split here is a
//! compile-time one: a plain [`Receiver`] has no such method, so this does not compile:
//!
//! ```compile_fail
//! let (_tx, rx) = multiprocessing::Queue::<u64>::unbounded().unwrap();
//! rx.task_done(); // error[E0599]: no method named `task_done` found
//! ```
//!
//! [`JoinableQueue`] returns a [`JoinableSender`] (`put`, `join`) and a [`JoinableReceiver`]
//! (`get`, `task_done`).
//!
//! # How it works
//!
//! The process that creates the queue runs a *broker* thread that holds the items (see
//! `broker.rs` for why). Each handle opens a session with it on first use:
//!
//! - A producer's `put` hands the item to a *feeder* thread in its own process (as Python's queue
//!   does) and returns. The feeder sends whatever has piled up as **one message**: under load that
//!   is hundreds of items per system call, when idle it is one item at once. Call
//!   [`Sender::flush`] to wait until everything put so far has left the process; dropping a
//!   `Sender` flushes too.
//! - A consumer's `get` asks the broker for up to `batch` items and keeps the rest for the next
//!   `get`. With several consumers the broker splits what it has between them, so one consumer does
//!   not sit on a whole batch while the others idle. A dropped `Receiver` gives back what it held.
//! - Handles in the creating process (the usual consumer: children produce, the parent collects)
//!   get the broker's answers in memory, without serialization; see `local.rs`.
//!
//! # The bound
//!
//! [`Queue::bounded`]`(n)`: at most `n` items are *in the queue*: put (the `put` call returned)
//! and not yet handed to a consumer. A `put` beyond that blocks (back-pressure) until a consumer
//! takes something; [`Sender::put_timeout`] gives up after a deadline and hands the item back.
//! A producer buys the right to put ("credits") from the broker, a few at a time when `n` is large
//! and one at a time when it is small, so the bound is exact for small `n`; credits a producer
//! holds but has not used count as items in the queue. Items a consumer has fetched into its own
//! buffer are out of the queue, so up to `n + batch × consumers` items can exist between `put` and
//! the return of `get`.
//!
//! # What a dying process loses
//!
//! - A consumer loses what it had fetched and not yet returned from `get` (at most one batch).
//! - A producer loses what was still in its feeder (put, but not yet sent). A producer that must
//!   not lose items calls [`Sender::flush`] at the points where that matters, or uses a
//!   [`JoinableQueue`], whose puts are sent before `put` returns.
//! - The process that created the queue holds the items: if it dies, the queue is gone, and every
//!   other handle gets [`Error::Disconnected`]. Like Python's `Manager`, it must outlive the users.
//!
//! # Items that carry channels or shared memory
//!
//! An item can hold `IpcSender`s, `IpcSharedMemory` or this crate's handles; they travel with it.
//! One message carries at most 64 such handles, and a batch is one message: set
//! [`QueueBuilder::batch`] low enough (`batch × handles per item < 64`), or a send fails with
//! [`Error::TooManyHandles`].
//!
//! # Serialization
//!
//! Items cross as postcard bytes (ipc-channel's format; Python uses pickle). postcard is compact
//! and not self-describing: both sides must agree on the type, which the `T` in `Queue<T>`
//! guarantees. A `Vec<u8>` is encoded byte by byte; wrap large byte payloads in
//! `serde_bytes::ByteBuf` (one copy) or send an `IpcSharedMemory` (no copy through the channel),
//! and for items of a megabyte or more use `batch(1)`: a bigger message only means a bigger buffer
//! to allocate and fill (`benches/queue.rs` measured it).
//!
//! For many large byte payloads, a [`BytePool`] reuses a few slots of shared memory, and the queue
//! carries only a small [`Payload`] naming the slot (see `bytes.rs`).

mod broker;
mod bytes;
mod local;
mod wire;

pub use bytes::{BytePool, Payload};

use std::collections::VecDeque;
use std::fmt;
use std::marker::PhantomData;
use std::sync::mpsc::{self, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use ipc_channel::ipc::{self, IpcReceiver, IpcReceiverSet, IpcSender};
use ipc_channel::{IpcError, TryRecvError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;
use broker::Broker;
use local::{Doors, DownRx, Missing};
use wire::{Config, Down, Hello, Up};

/// Items per message unless [`QueueBuilder::batch`] says otherwise.
const DEFAULT_BATCH: u32 = 256;
/// How many items a `put` may run ahead of the feeder thread before it waits.
const FEEDER_BACKLOG: usize = 4096;

/// Makes queues: [`Queue::unbounded`], [`Queue::bounded`], or [`Queue::builder`] for the options.
///
/// `Queue<T>` itself holds nothing; the queue lives in its [`Sender`] and [`Receiver`] handles and
/// in a broker thread of the creating process.
pub struct Queue<T> {
    _items: PhantomData<T>,
}

impl<T> Queue<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    /// A queue without a bound (Python's `Queue()`): `put` never waits for consumers.
    pub fn unbounded() -> Result<(Sender<T>, Receiver<T>), Error> {
        QueueBuilder::new().build()
    }

    /// A queue that holds at most `capacity` items (Python's `Queue(maxsize)`); `put` waits
    /// while it is full. See the module docs for exactly what is counted.
    ///
    /// `capacity` 0 counts as 1. (Python's `Queue(0)` means *unbounded*; here that is
    /// [`Queue::unbounded`]. Rust's `sync_channel(0)` means a rendezvous, which a queue between
    /// processes does not offer.)
    pub fn bounded(capacity: u32) -> Result<(Sender<T>, Receiver<T>), Error> {
        QueueBuilder::new().capacity(capacity).build()
    }

    /// Options: a bound, the batch size.
    pub fn builder() -> QueueBuilder {
        QueueBuilder::new()
    }
}

/// A [`Queue`] whose consumers mark each item done ([`JoinableReceiver::task_done`]) and whose
/// producers can wait until every item put so far is done ([`JoinableSender::join`]): Python's
/// `multiprocessing.JoinableQueue`.
///
/// A plain [`Receiver`] has no `task_done` at all — calling it is a compile error, where Python's
/// plain `Queue` raises `AttributeError` at run time. Puts are sent before `put` returns (no
/// feeder thread) and consumers fetch one item at a time, so the count `join` waits on is exact
/// across processes.
///
/// As in Python, a consumer that dies between `get` and `task_done` leaves its task unfinished
/// forever, and `join` would wait forever: use [`JoinableSender::join_timeout`] where a worker can
/// die, and check the workers' `join` results.
pub struct JoinableQueue<T> {
    _items: PhantomData<T>,
}

impl<T> JoinableQueue<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    /// An unbounded joinable queue.
    pub fn unbounded() -> Result<(JoinableSender<T>, JoinableReceiver<T>), Error> {
        let (tx, rx) = QueueBuilder::new().batch(1).joinable().build()?;
        Ok((JoinableSender(tx), JoinableReceiver(rx)))
    }

    /// A joinable queue that holds at most `capacity` items.
    pub fn bounded(capacity: u32) -> Result<(JoinableSender<T>, JoinableReceiver<T>), Error> {
        let (tx, rx) = QueueBuilder::new()
            .batch(1)
            .capacity(capacity)
            .joinable()
            .build()?;
        Ok((JoinableSender(tx), JoinableReceiver(rx)))
    }
}

/// Options for a [`Queue`]; made by [`Queue::builder`].
#[derive(Clone, Debug)]
pub struct QueueBuilder {
    config: Config,
}

impl QueueBuilder {
    fn new() -> Self {
        let config = Config {
            capacity: None,
            batch: DEFAULT_BATCH,
            joinable: false,
        };
        QueueBuilder { config }
    }

    /// Hold at most `capacity` items (at least 1); `put` waits while the queue is full.
    pub fn capacity(mut self, capacity: u32) -> Self {
        self.config.capacity = Some(capacity.max(1));
        self
    }

    /// Send at most `batch` items per message (at least 1; default 256). Lower it for items that
    /// carry channels or shared memory (64 per message at most), or to make a consumer fetch
    /// fewer items ahead.
    pub fn batch(mut self, batch: u32) -> Self {
        self.config.batch = batch.max(1);
        self
    }

    fn joinable(mut self) -> Self {
        self.config.joinable = true;
        self
    }

    /// Start the broker thread and return the first two handles.
    pub fn build<T>(self) -> Result<(Sender<T>, Receiver<T>), Error>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
    {
        let (producer_registry, producer_hellos) =
            ipc::channel::<Hello<T>>().map_err(Error::Ipc)?;
        let (consumer_registry, consumer_hellos) =
            ipc::channel::<Hello<T>>().map_err(Error::Ipc)?;
        let mut set = IpcReceiverSet::new().map_err(Error::Ipc)?;
        let producers = set.add(producer_hellos).map_err(Error::Ipc)?;
        let consumers = set.add(consumer_hellos).map_err(Error::Ipc)?;
        let doors = Doors::new();
        let broker = Broker::<T>::new(set, self.config, Arc::clone(&doors), producers, consumers);
        thread::Builder::new()
            .name("queue-broker".into())
            .spawn(move || broker.run())
            .map_err(Error::Spawn)?;
        let sender = Sender::from_parts(producer_registry, self.config, Some(Arc::clone(&doors)));
        let receiver = Receiver::from_parts(consumer_registry, self.config, Some(doors));
        Ok((sender, receiver))
    }
}

// ---------------------------------------------------------------------------------------------
// Sessions: one handle's conversation with the broker.

struct Session<T> {
    up: IpcSender<Up<T>>,
    down: DownRx<T>,
}

impl<T> Session<T>
where
    T: Serialize + DeserializeOwned,
{
    /// Opens a session; `doors` is `Some` in the process that created the queue, whose handles
    /// are answered in-process (see `local.rs`).
    fn open(registry: &IpcSender<Hello<T>>, doors: Option<&Arc<Doors<T>>>) -> Result<Self, Error> {
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
                (hello, DownRx::Ipc(answers))
            }
        };
        registry.send(hello).map_err(send_error)?;
        Ok(Session { up, down })
    }

    fn send(&self, message: Up<T>) -> Result<(), Error> {
        send_catching(&self.up, message, "a batch of queue items")
    }

    /// Ask the broker something and wait for the answer until `deadline` (`None`: forever).
    /// `Ok(None)` means the deadline passed; the request was then cancelled, so no stale answer
    /// is left behind for the next request.
    fn request(&self, message: Up<T>, deadline: Option<Instant>) -> Result<Option<Down<T>>, Error> {
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

/// Receive before `deadline`. ipc-channel's timeouts count whole milliseconds and may return a
/// little early; this waits again until the deadline has really passed.
pub(crate) fn recv_until<M>(receiver: &IpcReceiver<M>, deadline: Instant) -> Result<M, TryRecvError>
where
    M: Serialize + DeserializeOwned,
{
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match receiver.try_recv_timeout(left) {
            Err(TryRecvError::Empty) if Instant::now() < deadline => continue,
            other => return other,
        }
    }
}

/// Send with the crate's checks (`bootstrap::send_checked`: more than 64 handles or a failed
/// `Serialize` become errors, and leave nothing behind for the next send), and with "the other
/// end is gone" reported as [`Error::Disconnected`] rather than as an I/O error.
pub(crate) fn send_catching<M: Serialize>(
    sender: &IpcSender<M>,
    message: M,
    what: &str,
) -> Result<(), Error> {
    crate::start::child::send_checked(sender, message, what).map_err(|error| match error {
        Error::Ipc(e) if is_hang_up(&e) => Error::Disconnected,
        other => other,
    })
}

fn is_hang_up(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
    )
}

/// A failed send outside `send_catching` (the registration hello).
fn send_error(error: IpcError) -> Error {
    match error {
        IpcError::Io(e) if is_hang_up(&e) => Error::Disconnected,
        other => other.into(),
    }
}

pub(crate) fn broker_gone(error: IpcError) -> Error {
    match error {
        IpcError::Disconnected => Error::Disconnected,
        other => send_error(other),
    }
}

fn lock<S>(mutex: &Mutex<S>) -> MutexGuard<'_, S> {
    // A panic while holding the lock leaves plain data (counters, buffers) that is still valid.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

// ---------------------------------------------------------------------------------------------
// Producers.

/// The producing half of a [`Queue`]: `put`, `put_timeout`, `flush`. Clone it for more producers
/// in this process (each clone is independent: give each thread its own); pass it inside a
/// [`Process`](crate::Process) argument for producers in others. When every `Sender` everywhere
/// is gone, consumers see the end of the stream.
pub struct Sender<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    inner: SenderInner<T>,
}

struct SenderInner<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    /// In a `Mutex` only because `IpcSender<Hello<T>>` is not `Sync` (the hello carries a
    /// receiver, and ipc-channel's receivers are not `Sync`); it is locked only to clone or send.
    registry: Mutex<IpcSender<Hello<T>>>,
    config: Config,
    /// `Some` in the process that created the queue (see `local.rs`).
    doors: Option<Arc<Doors<T>>>,
    state: Mutex<ProducerState<T>>,
}

struct ProducerState<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    session: Option<Session<T>>,
    /// Puts this process may still make before asking the broker (bounded queues).
    credits: u64,
    feeder: Option<Feeder<T>>,
}

/// A `put` that did not happen. The item comes back whenever the failure happened before it was
/// handed to the channel (a timeout, no consumer left): nothing is lost.
pub struct PutError<T> {
    error: Error,
    item: Option<T>,
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
    fn from_parts(
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
                .send(Up::Items(vec![item]))
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
        let up = state
            .session
            .as_ref()
            .expect("opened by reserve_room")
            .up
            .clone();
        Feeder::start(up, self.inner.config.batch as usize)
    }
}

fn protocol_error() -> Error {
    Error::Serialization("unexpected answer from the queue broker (mismatched binaries?)".into())
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

// ---------------------------------------------------------------------------------------------
// The feeder thread (unbounded and bounded queues; joinable queues send directly).

enum Feed<T> {
    Item(T),
    Flush(mpsc::Sender<()>),
}

struct Feeder<T> {
    feed: SyncSender<Feed<T>>,
    thread: JoinHandle<()>,
    /// Why the feeder stopped, if it did.
    failure: Arc<Mutex<Option<Error>>>,
}

impl<T> Feeder<T>
where
    T: Serialize + Send + 'static,
{
    fn start(up: IpcSender<Up<T>>, batch: usize) -> Result<Self, Error> {
        let (feed, items) = mpsc::sync_channel(FEEDER_BACKLOG);
        let failure = Arc::new(Mutex::new(None));
        let failed = Arc::clone(&failure);
        let thread = thread::Builder::new()
            .name("queue-feeder".into())
            .spawn(move || feed_loop(&items, &up, batch, &failed))
            .map_err(Error::Spawn)?;
        Ok(Feeder {
            feed,
            thread,
            failure,
        })
    }

    fn put(&self, item: T) -> Result<(), PutError<T>> {
        if let Some(error) = self.failed() {
            return Err(PutError {
                error,
                item: Some(item),
            });
        }
        self.feed
            .send(Feed::Item(item))
            .map_err(|mpsc::SendError(feed)| {
                let Feed::Item(item) = feed else {
                    unreachable!("we sent an item")
                };
                PutError {
                    error: self.failed().unwrap_or(Error::Disconnected),
                    item: Some(item),
                }
            })
    }

    fn flush(&self) -> Result<(), Error> {
        let (done, wait) = mpsc::channel();
        if self.feed.send(Feed::Flush(done)).is_ok() {
            // The feeder answers once everything before the marker is sent (or drops `done`
            // when it has stopped, which ends the wait too).
            let _ = wait.recv();
        }
        match self.failed() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    fn failed(&self) -> Option<Error> {
        lock(&self.failure).as_ref().map(copy_error)
    }

    fn finish(self) {
        drop(self.feed);
        let _ = self.thread.join();
    }
}

/// `Error` is not `Clone` (it holds `io::Error`); the feeder's failure is reported to every later
/// `put`, so it is copied by kind and message.
fn copy_error(error: &Error) -> Error {
    match error {
        Error::Disconnected => Error::Disconnected,
        Error::TooManyHandles { what } => Error::TooManyHandles { what: what.clone() },
        Error::Serialization(message) => Error::Serialization(message.clone()),
        other => Error::Ipc(std::io::Error::other(other.to_string())),
    }
}

fn feed_loop<T: Serialize>(
    feed: &mpsc::Receiver<Feed<T>>,
    up: &IpcSender<Up<T>>,
    batch: usize,
    failure: &Mutex<Option<Error>>,
) {
    let mut flushes = Vec::new();
    while let Ok(first) = feed.recv() {
        let mut items = Vec::new();
        let mut next = Some(first);
        // Take what has piled up, up to one batch: one message, one system call.
        while let Some(feed_item) = next.take() {
            match feed_item {
                Feed::Item(item) => items.push(item),
                Feed::Flush(done) => flushes.push(done),
            }
            if items.len() < batch {
                next = feed.try_recv().ok();
            }
        }
        if !items.is_empty()
            && lock(failure).is_none()
            && let Err(error) = send_catching(up, Up::Items(items), "a batch of queue items")
        {
            // Later puts report this; items still arriving are dropped so puts never block.
            *lock(failure) = Some(error);
        }
        for done in flushes.drain(..) {
            let _ = done.send(());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Consumers.

/// The consuming half of a [`Queue`]: `get`, `get_timeout`, `iter`. Clone it for more consumers
/// in this process (each clone is independent: give each thread its own); pass it inside a
/// [`Process`](crate::Process) argument for consumers in others.
pub struct Receiver<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    inner: ReceiverInner<T>,
}

struct ReceiverInner<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    /// In a `Mutex` for `Sync` (see `SenderInner`).
    registry: Mutex<IpcSender<Hello<T>>>,
    config: Config,
    /// `Some` in the process that created the queue (see `local.rs`).
    doors: Option<Arc<Doors<T>>>,
    state: Mutex<ConsumerState<T>>,
}

struct ConsumerState<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    session: Option<Session<T>>,
    /// Items fetched from the broker and not yet returned by `get`.
    fetched: VecDeque<T>,
    ended: bool,
    /// Joinable queues: items this process took and has not marked done.
    not_done: u64,
}

impl<T> Receiver<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    fn from_parts(
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
    /// every [`Sender`] is gone and every item has been handed out.
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
        if let Some(item) = state.fetched.pop_front() {
            state.not_done += 1;
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
            Some(Down::Items(items)) => state.fetched.extend(items),
            Some(Down::End) => state.ended = true,
            Some(_) => return Err(protocol_error()),
            None => return Err(Error::Timeout("an item from the queue".into())),
        }
        let item = state.fetched.pop_front();
        if item.is_some() {
            state.not_done += 1;
        }
        Ok(item)
    }
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
            let _ = session.send(Up::Return(state.fetched.drain(..).collect()));
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

// ---------------------------------------------------------------------------------------------
// JoinableQueue handles.

/// The producing half of a [`JoinableQueue`]: a [`Sender`] that can also `join`.
#[derive(Clone, Serialize, Deserialize)]
#[serde(bound = "T: Serialize + DeserializeOwned + Send + 'static")]
pub struct JoinableSender<T>(Sender<T>)
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

/// The consuming half of a [`JoinableQueue`]: a [`Receiver`] whose items must be marked done.
#[derive(Clone, Serialize, Deserialize)]
#[serde(bound = "T: Serialize + DeserializeOwned + Send + 'static")]
pub struct JoinableReceiver<T>(Receiver<T>)
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

// ---------------------------------------------------------------------------------------------
// Handles travel: what crosses is the registration channel and the options; the receiving
// process opens its own session on first use.

#[derive(Serialize)]
struct HandleOut<'a, T> {
    registry: &'a IpcSender<Hello<T>>,
    config: Config,
}

#[derive(Deserialize)]
#[serde(bound = "")]
struct HandleIn<T> {
    registry: IpcSender<Hello<T>>,
    config: Config,
}

impl<T> Serialize for Sender<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let registry = lock(&self.inner.registry);
        HandleOut {
            registry: &registry,
            config: self.inner.config,
        }
        .serialize(serializer)
    }
}

impl<'de, T> Deserialize<'de> for Sender<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let handle = HandleIn::<T>::deserialize(deserializer)?;
        Ok(Sender::from_parts(handle.registry, handle.config, None))
    }
}

impl<T> Serialize for Receiver<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let registry = lock(&self.inner.registry);
        HandleOut {
            registry: &registry,
            config: self.inner.config,
        }
        .serialize(serializer)
    }
}

impl<'de, T> Deserialize<'de> for Receiver<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let handle = HandleIn::<T>::deserialize(deserializer)?;
        Ok(Receiver::from_parts(handle.registry, handle.config, None))
    }
}

// Short `Debug` forms, so that structs holding handles can derive `Debug`.

impl<T> fmt::Debug for Sender<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("capacity", &self.inner.config.capacity)
            .field("batch", &self.inner.config.batch)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Receiver<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("capacity", &self.inner.config.capacity)
            .field("batch", &self.inner.config.batch)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for JoinableSender<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("JoinableSender").field(&self.0).finish()
    }
}

impl<T> fmt::Debug for JoinableReceiver<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("JoinableReceiver").field(&self.0).finish()
    }
}
