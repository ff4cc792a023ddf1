//! The messages between queue handles and the broker.
//!
//! Every handle that talks to the broker has a *session*: a channel up to the broker (`Up`) and a
//! private channel back (`Down`). One channel per session, rather than one shared channel for all
//! producers, keeps each session's messages in order (a producer's credits are always accounted
//! before its items) and lets the broker notice a session ending — a dropped handle or a killed
//! process — as that channel closing.
//!
//! postcard, ipc-channel's format, is not self-describing: enums are plain tagged enums here, never
//! `#[serde(untagged)]`.
//!
//! Items always travel as a [`Batch`], whose encoding decides whether the bytes go through the
//! socket or through a block of shared memory (`lane.rs`).

use ipc_channel::ipc::{IpcReceiver, IpcSender};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::lane::Batch;

/// A handle's message to the broker.
#[derive(Serialize, Deserialize)]
#[serde(bound(serialize = "T: Serialize", deserialize = "T: DeserializeOwned"))]
pub(crate) enum Up<T> {
    /// Producer: a batch of items (in a bounded queue, already paid for with credits).
    Items(Batch<T>),
    /// Consumer being dropped: items it fetched but never handed out, to give to someone else.
    Return(Batch<T>),
    /// Producer of a bounded queue: "let me put up to this many more items".
    Credits(u32),
    /// Consumer: "hand me up to this many items".
    Want(u32),
    /// Consumer of a joinable queue: this many taken items are now processed.
    TaskDone(u32),
    /// "Tell me when every item ever put has been marked done" (joinable queues).
    Join,
    /// "Forget my pending Credits/Want/Join": the handle timed out. The broker always answers with
    /// `Down::Cancelled`, after any answer to the request that it had already sent.
    Cancel,
}

/// The broker's message to one handle.
#[derive(Serialize, Deserialize)]
#[serde(bound(serialize = "T: Serialize", deserialize = "T: DeserializeOwned"))]
pub(crate) enum Down<T> {
    /// Answer to `Want`: at least one item.
    Items(Batch<T>),
    /// Answer to `Want`: every producer is gone and every item has been handed out.
    End,
    /// Answer to `Credits`: this many puts may go ahead (at least one).
    Credits(u32),
    /// Answer to `Join`: every item put so far has been marked done.
    Joined,
    /// Answer to `Cancel`.
    Cancelled,
    /// Answer to `Credits` or `Join` when no consumer is left: nothing will ever take an item.
    Closed,
}

/// Sent on a registration channel to open a session.
#[derive(Serialize, Deserialize)]
pub(crate) struct Hello<T> {
    /// The broker reads the session's requests from here.
    pub(crate) up: IpcReceiver<Up<T>>,
    /// The broker answers here; `None` for a handle in the broker's own process, which is
    /// answered in-process through the door `local` instead (see `local.rs`).
    pub(crate) down: Option<IpcSender<Down<T>>>,
    /// The door number of an in-process handle.
    pub(crate) local: Option<u64>,
}

/// How a queue was configured; travels with every handle.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub(crate) struct Config {
    /// Maximum number of items waiting in the queue (`None`: unbounded).
    pub(crate) capacity: Option<u32>,
    /// Most items per message, in either direction.
    pub(crate) batch: u32,
    /// Count items for `task_done`/`join`; puts are sent at once instead of through a feeder.
    pub(crate) joinable: bool,
}
