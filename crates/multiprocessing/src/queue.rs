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
//! before the producer finds the queue empty and quits having read nothing (listing 2.4 shows it
//! happen, every time). This type has no `empty()` and no `qsize()` on purpose.
//!
//! # `task_done` and `join`: only on a `JoinableQueue`
//!
//! Python's plain `Queue` has no `task_done`; `JoinableQueue` has. The same split here is a
//! compile-time one: a plain [`Receiver`] has no such method, so this does not compile:
//!
//! ```compile_fail,E0599
#![doc = include_str!("../compile_fail/receiver_has_no_task_done.rs")]
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
//!   is hundreds of items per system call (about a megabyte's worth of large ones), when idle it
//!   is one item at once. Call [`Sender::flush`] to wait until everything put so far has left the
//!   process; dropping a `Sender` flushes too.
//! - A consumer's `get` asks the broker for up to `batch` items and keeps the rest for the next
//!   `get`. With several consumers the broker splits what it has between them, so one consumer does
//!   not sit on a whole batch while the others idle. A dropped `Receiver` gives back what it held.
//! - Handles in the creating process (the usual consumer: children produce, the parent collects)
//!   get the broker's answers in memory, without serialization; see `local.rs`.
//! - A message of 64 KiB or more ([`SHARED_MEMORY_THRESHOLD`]) does not go through the socket:
//!   its bytes go through a block of shared memory that the two ends reuse, message after
//!   message, and the socket carries a note naming the block. See "Large items" below.
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
//! [`Error::TooManyHandles`]. A batch of 64 KiB or more carries two handles of the queue's own
//! besides (see "Large items"), so keep such batches to 62.
//!
//! # Serialization
//!
//! Items cross as postcard bytes (ipc-channel's format; Python uses pickle). postcard is compact
//! and not self-describing: both sides must agree on the type, which the `T` in `Queue<T>`
//! guarantees. A `Vec<u8>` is encoded byte by byte; wrap byte payloads in `serde_bytes::ByteBuf`
//! (encoded as one piece), or send an `IpcSharedMemory` (only a file descriptor crosses).
//!
//! # Large items
//!
//! Nothing to opt into: large items of any type are fast on their own. What makes large items
//! slow is not the copying but *fresh memory*: a megabyte message through a socket lands in a
//! buffer just allocated, and the kernel must find and zero 256 new pages for it before the copy
//! can start. So the queue avoids fresh memory wherever it can (`lane.rs` has the details):
//!
//! - each direction of each session keeps a few blocks of shared memory and reuses them, so a
//!   large batch is copied in by the writer and out by the reader, through pages both already
//!   have mapped; the writer's encoding buffer and the reader's are kept and reused too;
//! - a producer that runs ahead of the queue waits for a block to come free (as it would wait
//!   for room in a socket), and its feeder holds a few megabytes of items, not thousands of them;
//! - the broker does not decode a large batch of *plain* items (no channel ends or shared memory
//!   in them: bytes, numbers, strings, structs of those): it hands the encoded batch on, as it
//!   is, to the consumer (through that consumer's own lane if it is in another process), and the
//!   consumer decodes it in its own thread, just before `get` returns the first of its items,
//!   so each item's memory is allocated where the previous one's was freed.
//!
//! None of this changes what the queue promises: order, the bound, `join`, what a dying process
//! loses. If no shared memory can be had (a file-size limit, say), large items go through the
//! socket instead, and a line on standard error says why. The price is memory: a session that
//! has carried large items keeps its blocks (a few, each a little bigger than the largest
//! message) until its handle is dropped.
//!
//! For many large byte payloads there is still a faster way: a [`BytePool`] (see `bytes.rs`) is
//! shared memory the caller packs and unpacks directly, one copy each way instead of four
//! (encode, into a block, out of it, decode), and the queue carries only a small [`Payload`]
//! naming the slot.
//!
//! # Where the code lives
//!
//! One file per idea, each with docs on why it is shaped so:
//!
//! | file | what |
//! |---|---|
//! | `queue.rs` | this page; [`Queue`], [`JoinableQueue`], [`QueueBuilder`]: making a queue |
//! | `queue/sender.rs` | [`Sender`]: `put`, credits for the bound, [`PutError`] |
//! | `queue/feeder.rs` | the feeder thread that batches a producer's puts into messages |
//! | `queue/receiver.rs` | [`Receiver`]: `get`, its buffer of fetched items, [`Iter`] |
//! | `queue/joinable.rs` | [`JoinableSender`] and [`JoinableReceiver`]: `join`, `task_done` |
//! | `queue/session.rs` | one handle's conversation with the broker, and cancelling a request |
//! | `queue/travel.rs` | how a handle crosses to another process (and short `Debug` forms) |
//! | `queue/wire.rs` | the messages between handles and the broker |
//! | `queue/broker.rs` | the broker thread that owns the items |
//! | `queue/held.rs` | the broker's items: decoded ones, and parcels still encoded |
//! | `queue/local.rs` | the in-process short cut for handles in the broker's own process |
//! | `queue/lane.rs` | large batches through reused shared memory: the idea, the wire form |
//! | `queue/lane/outbox.rs` | a lane's writer: blocks made and reused, waiting, probes |
//! | `queue/lane/inbox.rs` | a lane's reader: blocks announced, parcels, their buffers |
//! | `queue/block.rs` | one block of shared memory, taken in turns through a state word |
//! | `queue/bytes.rs` | [`BytePool`]: byte payloads through shared-memory slots the caller manages |
//!
//! The sending and receiving helpers every module of the crate shares (errors for a hang-up, the
//! 64-descriptor limit, deadlines) are in `ipc.rs`.

mod block;
mod broker;
mod bytes;
mod feeder;
mod held;
mod joinable;
mod lane;
mod local;
mod receiver;
mod sender;
mod session;
mod travel;
mod wire;

pub use bytes::{BytePool, Payload};
pub use joinable::{JoinableReceiver, JoinableSender};
pub use lane::SHARED_MEMORY_THRESHOLD;
pub use receiver::{Iter, Receiver};
pub use sender::{PutError, Sender};

use std::marker::PhantomData;
use std::sync::Arc;
use std::thread;

use ipc_channel::ipc::{self, IpcReceiverSet};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Error;
use broker::Broker;
use local::Doors;
use wire::{Config, Hello};

/// Items per message unless [`QueueBuilder::batch`] says otherwise.
const DEFAULT_BATCH: u32 = 256;

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
    pub fn bounded(
        capacity: u32,
    ) -> Result<(JoinableSender<T>, JoinableReceiver<T>), Error> {
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
        let broker =
            Broker::<T>::new(set, self.config, Arc::clone(&doors), producers, consumers);
        thread::Builder::new()
            .name("queue-broker".into())
            .spawn(move || broker.run())
            .map_err(Error::Spawn)?;
        let sender =
            Sender::from_parts(producer_registry, self.config, Some(Arc::clone(&doors)));
        let receiver = Receiver::from_parts(consumer_registry, self.config, Some(doors));
        Ok((sender, receiver))
    }
}
