//! What travels between the pool and its workers, in both directions.
//!
//! A task is a *chunk*: one function and a list of arguments (one argument for `apply`, many for
//! `map` with a `chunksize`). The arguments and the outcomes travel as postcard bytes made by the
//! typed side (the parent knows `A` and `R`; the worker learns them only from the trampoline), so
//! the messages themselves are untyped and one worker serves every function.
//!
//! Because the arguments are bytes, a task cannot carry channel ends, queues or shared memory
//! (those travel as file descriptors beside a real `send`); give such handles to the worker once,
//! through the pool's initializer, or use [`Process`](crate::Process).

use ipc_channel::ipc::{IpcReceiver, IpcSender};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::start::fnid::TaskFn;

/// Parent → worker: run `function` on each encoded argument of `arguments`.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct TaskMessage {
    /// The pool's number for this chunk, echoed in the reply.
    pub(crate) id: u64,
    pub(crate) function: TaskFn,
    /// postcard bytes of a `Vec<A>`.
    pub(crate) arguments: ByteBuf,
}

/// Worker → parent: the outcomes of chunk `id`, postcard bytes of a [`ChunkOutcome<R>`].
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Reply {
    pub(crate) id: u64,
    pub(crate) outcomes: ByteBuf,
}

/// What a worker made of one chunk.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ChunkOutcome<R> {
    /// One outcome per argument, in order.
    Ran(Vec<ItemOutcome<R>>),
    /// Nothing ran: the arguments could not be decoded, or the function not found.
    Refused(String),
}

/// What one call of the function gave.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ItemOutcome<R> {
    Returned(R),
    Panicked { message: String, location: String },
}

/// The initializer a worker runs once, before its first task.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Initializer {
    pub(crate) function: TaskFn,
    /// postcard bytes of a one-element `Vec<A>`.
    pub(crate) argument: ByteBuf,
}

/// What a worker process is started with (the argument of `worker::worker_main`).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct WorkerSetup {
    pub(crate) tasks: IpcReceiver<TaskMessage>,
    pub(crate) replies: IpcSender<Reply>,
    pub(crate) initializer: Option<Initializer>,
}
