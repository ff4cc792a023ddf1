//! `Pipe`: two connected ends, for two processes that talk to each other.
//!
//! Python's `Pipe()` returns two `Connection`s; whatever one end `send`s, the other end `recv`s,
//! in both directions. [`pipe`] does the same, with the types of the two directions in the
//! signature: `pipe::<Request, Reply>()` gives an end that sends `Request`s and receives
//! `Reply`s, and an end that does the opposite, so a request/reply conversation cannot mix them
//! up. (For the same type both ways: `pipe::<T, T>()`.)
//!
//! Python's `Pipe(duplex=False)` is the one-way form: a receive-only end and a send-only end.
//! [`one_way`] returns those, in Python's order (reader first). Some texts call every pipe
//! one-way; that is only true of this form (and of OS pipes), not of `Pipe()`.
//!
//! Under the hood each direction is one ipc-channel channel (a Unix socket), so a pipe costs two
//! file descriptors per end and no thread. A pipe is for exactly two parties: each message is one
//! system call straight to the other process, which suits request/reply. A queue
//! ([`crate::queue`]) is the tool for many producers and consumers, and for streams of small
//! items its batching moves far more per second. `cargo bench -p multiprocessing --bench queue`
//! moved 0.27 to 1.05 million `u64` messages per second from a child to its parent through a pipe
//! on a two-core machine shared with other builds: a median of 0.36 million in 15 rounds at a load
//! average of 8 to 12, and of 0.80 million in 15 rounds at 3 to 4. In the same runs a queue moved
//! 6 to 18 times as many. A pipe's rate follows the machine's load closely, since every message
//! is a system call that wakes the other process.
//!
//! # Things to know
//!
//! - **`send` blocks when the other side does not read.** The socket holds a few hundred small
//!   messages (about 280); after that `send` waits. Two processes that both send a lot before
//!   either reads can deadlock; so can a parent that `join`s a child before reading what the
//!   child is still sending. Read first, then join.
//! - **A hang-up is an error.** When the other end is dropped (or its process exits or is
//!   killed), `recv` returns [`Error::Disconnected`] once everything it sent has been read, and
//!   `send` returns [`Error::Disconnected`].
//! - **`poll(timeout)`** waits for a message without taking it, like Python's
//!   `Connection.poll(timeout)`; the next `recv` returns it.
//! - One message carries at most 64 channels or shared-memory handles
//!   ([`Error::TooManyHandles`]). Sizes are not limited: big messages travel in pieces.
//!
//! An end is used from one thread at a time (it is `Send`, not `Sync`), like Python's
//! `Connection`, which is not thread-safe either.

use std::cell::RefCell;
use std::time::{Duration, Instant};

use ipc_channel::TryRecvError;
use ipc_channel::ipc::{self, IpcReceiver, IpcSender};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;
use crate::ipc::{recv_until, send_catching};

/// One end of a two-way [`pipe`]: sends `S`, receives `R`.
pub struct Connection<S, R>
where
    S: Serialize,
    R: Serialize + DeserializeOwned,
{
    tx: IpcSender<S>,
    rx: Reader<R>,
}

/// The two ends of a [`pipe`]: one sends `A` and receives `B`, the other the opposite.
pub type Ends<A, B> = (Connection<A, B>, Connection<B, A>);

/// A connected pair of two-way ends (Python's `Pipe()`): the first sends `A` and receives `B`,
/// the second sends `B` and receives `A`.
pub fn pipe<A, B>() -> Result<Ends<A, B>, Error>
where
    A: Serialize + DeserializeOwned,
    B: Serialize + DeserializeOwned,
{
    let (a_tx, a_rx) = ipc::channel::<A>().map_err(Error::Ipc)?;
    let (b_tx, b_rx) = ipc::channel::<B>().map_err(Error::Ipc)?;
    let left = Connection {
        tx: a_tx,
        rx: Reader::new(b_rx),
    };
    let right = Connection {
        tx: b_tx,
        rx: Reader::new(a_rx),
    };
    Ok((left, right))
}

/// A one-way pipe (Python's `Pipe(duplex=False)`): the receiving end first, as in Python.
pub fn one_way<T>() -> Result<(PipeReader<T>, PipeWriter<T>), Error>
where
    T: Serialize + DeserializeOwned,
{
    let (tx, rx) = ipc::channel::<T>().map_err(Error::Ipc)?;
    Ok((
        PipeReader {
            rx: Reader::new(rx),
        },
        PipeWriter { tx },
    ))
}

impl<S, R> Connection<S, R>
where
    S: Serialize,
    R: Serialize + DeserializeOwned,
{
    /// Send a value to the other end. Blocks while the other end's socket is full.
    pub fn send(&self, value: S) -> Result<(), Error> {
        send_catching(&self.tx, value, "a pipe message")
    }

    /// Wait for the next value. [`Error::Disconnected`] once the other end is gone and everything
    /// it sent has been read.
    pub fn recv(&self) -> Result<R, Error> {
        self.rx.recv()
    }

    /// Wait at most `timeout` for the next value; then [`Error::Timeout`].
    pub fn recv_timeout(&self, timeout: Duration) -> Result<R, Error> {
        self.rx.recv_timeout(timeout)
    }

    /// Is a value ready to `recv`? Waits up to `timeout` for one (zero: just look). Does not
    /// take the value. A hung-up other end counts as ready: the `recv` reports it.
    pub fn poll(&self, timeout: Duration) -> Result<bool, Error> {
        self.rx.poll(timeout)
    }
}

/// The receiving end of a [`one_way`] pipe.
pub struct PipeReader<T>
where
    T: Serialize + DeserializeOwned,
{
    rx: Reader<T>,
}

impl<T> PipeReader<T>
where
    T: Serialize + DeserializeOwned,
{
    /// Wait for the next value; [`Error::Disconnected`] once the writer is gone and drained.
    pub fn recv(&self) -> Result<T, Error> {
        self.rx.recv()
    }

    /// Wait at most `timeout` for the next value; then [`Error::Timeout`].
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, Error> {
        self.rx.recv_timeout(timeout)
    }

    /// Is a value ready? Waits up to `timeout`; does not take it.
    pub fn poll(&self, timeout: Duration) -> Result<bool, Error> {
        self.rx.poll(timeout)
    }
}

/// The sending end of a [`one_way`] pipe.
pub struct PipeWriter<T>
where
    T: Serialize,
{
    tx: IpcSender<T>,
}

impl<T> PipeWriter<T>
where
    T: Serialize,
{
    /// Send a value. Blocks while the reader's socket is full.
    pub fn send(&self, value: T) -> Result<(), Error> {
        send_catching(&self.tx, value, "a pipe message")
    }
}

/// A receiver with room for one value that `poll` has looked at but not handed out.
struct Reader<T>
where
    T: Serialize + DeserializeOwned,
{
    rx: IpcReceiver<T>,
    /// What `poll` received: a value, or the hang-up.
    peeked: RefCell<Option<Result<T, Error>>>,
}

impl<T> Reader<T>
where
    T: Serialize + DeserializeOwned,
{
    fn new(rx: IpcReceiver<T>) -> Self {
        Reader {
            rx,
            peeked: RefCell::new(None),
        }
    }

    fn recv(&self) -> Result<T, Error> {
        if let Some(peeked) = self.peeked.take() {
            return peeked;
        }
        self.rx.recv().map_err(Error::from)
    }

    fn recv_timeout(&self, timeout: Duration) -> Result<T, Error> {
        if let Some(peeked) = self.peeked.take() {
            return peeked;
        }
        recv_until(&self.rx, Instant::now() + timeout).map_err(|error| match error {
            TryRecvError::Empty => {
                Error::Timeout(format!("a message on a pipe ({timeout:?})"))
            }
            TryRecvError::IpcError(e) => Error::from(e),
        })
    }

    fn poll(&self, timeout: Duration) -> Result<bool, Error> {
        if self.peeked.borrow().is_some() {
            return Ok(true);
        }
        let received = if timeout.is_zero() {
            self.rx.try_recv()
        } else {
            recv_until(&self.rx, Instant::now() + timeout)
        };
        let peeked = match received {
            Ok(value) => Ok(value),
            Err(TryRecvError::Empty) => return Ok(false),
            Err(TryRecvError::IpcError(e)) => Err(Error::from(e)),
        };
        *self.peeked.borrow_mut() = Some(peeked);
        Ok(true)
    }

    /// An end with a value that `poll` took in cannot travel: the value would be left behind.
    fn check_nothing_peeked<E: serde::ser::Error>(&self) -> Result<(), E> {
        if self.peeked.borrow().is_some() {
            return Err(E::custom(
                "a pipe end cannot be sent while it holds a message that poll() looked at; recv() it first",
            ));
        }
        Ok(())
    }
}

// Ends travel inside `Process` arguments and messages: the channels move with them.

#[derive(Serialize)]
struct EndOut<'a, S, R> {
    tx: Option<&'a IpcSender<S>>,
    rx: Option<&'a IpcReceiver<R>>,
}

#[derive(Deserialize)]
#[serde(bound = "")]
struct EndIn<S, R> {
    tx: Option<IpcSender<S>>,
    rx: Option<IpcReceiver<R>>,
}

impl<S, R> Serialize for Connection<S, R>
where
    S: Serialize,
    R: Serialize + DeserializeOwned,
{
    fn serialize<Z: Serializer>(&self, serializer: Z) -> Result<Z::Ok, Z::Error> {
        self.rx.check_nothing_peeked()?;
        EndOut {
            tx: Some(&self.tx),
            rx: Some(&self.rx.rx),
        }
        .serialize(serializer)
    }
}

impl<'de, S, R> Deserialize<'de> for Connection<S, R>
where
    S: Serialize,
    R: Serialize + DeserializeOwned,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let end = EndIn::<S, R>::deserialize(deserializer)?;
        match (end.tx, end.rx) {
            (Some(tx), Some(rx)) => Ok(Connection {
                tx,
                rx: Reader::new(rx),
            }),
            _ => Err(serde::de::Error::custom("expected a two-way pipe end")),
        }
    }
}

impl<T> Serialize for PipeReader<T>
where
    T: Serialize + DeserializeOwned,
{
    fn serialize<Z: Serializer>(&self, serializer: Z) -> Result<Z::Ok, Z::Error> {
        self.rx.check_nothing_peeked()?;
        EndOut::<T, T> {
            tx: None,
            rx: Some(&self.rx.rx),
        }
        .serialize(serializer)
    }
}

impl<'de, T> Deserialize<'de> for PipeReader<T>
where
    T: Serialize + DeserializeOwned,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match EndIn::<T, T>::deserialize(deserializer)?.rx {
            Some(rx) => Ok(PipeReader {
                rx: Reader::new(rx),
            }),
            None => Err(serde::de::Error::custom(
                "expected the reading end of a pipe",
            )),
        }
    }
}

impl<T> Serialize for PipeWriter<T>
where
    T: Serialize,
{
    fn serialize<Z: Serializer>(&self, serializer: Z) -> Result<Z::Ok, Z::Error> {
        EndOut::<T, T> {
            tx: Some(&self.tx),
            rx: None,
        }
        .serialize(serializer)
    }
}

impl<'de, T> Deserialize<'de> for PipeWriter<T>
where
    T: Serialize,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match EndIn::<T, T>::deserialize(deserializer)?.tx {
            Some(tx) => Ok(PipeWriter { tx }),
            None => Err(serde::de::Error::custom(
                "expected the writing end of a pipe",
            )),
        }
    }
}

// Short `Debug` forms, so that structs holding pipe ends can derive `Debug`.

impl<S, R> std::fmt::Debug for Connection<S, R>
where
    S: Serialize,
    R: Serialize + DeserializeOwned,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection").finish_non_exhaustive()
    }
}

impl<T> std::fmt::Debug for PipeReader<T>
where
    T: Serialize + DeserializeOwned,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipeReader").finish_non_exhaustive()
    }
}

impl<T> std::fmt::Debug for PipeWriter<T>
where
    T: Serialize,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipeWriter").finish_non_exhaustive()
    }
}
