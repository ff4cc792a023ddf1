//! Lanes: how a large batch of items crosses without a megabyte of fresh memory per message.
//!
//! Through a socket, a message of a megabyte costs more than its copies. ipc-channel cuts it into
//! pieces of the socket buffer's size and the receiver gathers them into a buffer it has just
//! allocated; the sender's encoder grows a fresh buffer too. Fresh buffers of that size are fresh
//! pages, and the kernel must find and zero every one of them (256 per megabyte) before the copy
//! can even start. That, not the copying, holds a socket's rate for 1 MiB messages to about
//! Python's (the bench's `pipe` row).
//!
//! So every direction of a session (a handle's messages up to the broker, the broker's answers
//! down to a handle in another process) is a **lane** with a few reusable **blocks** of shared
//! memory (`block.rs`) that both ends keep mapped:
//!
//! 1. The writer's `Outbox` (`lane/outbox.rs`) encodes the batch (postcard, the format
//!    ipc-channel uses). A batch expected to be large (the last one was) is encoded straight into
//!    a free block; others into a buffer the outbox keeps, so encoding touches no fresh memory.
//! 2. If the encoded batch is at least [`SHARED_MEMORY_THRESHOLD`] bytes, it is in a block (or
//!    copied into one), and the socket carries only a small note naming it (with the block's
//!    memory itself, the first time the block is used). Smaller batches travel in the message:
//!    one system call is cheaper than a trip through a block.
//! 3. The reader's `Inbox` (`lane/inbox.rs`) copies the bytes out, which frees the block, and
//!    wakes the writer if it waits for one.
//!
//! The writer makes blocks as it needs them (at most [`MAX_BLOCKS`], sized to the batches, a
//! little rounded up so that similar sizes share). When every block is full, a writer that
//! belongs to a handle **waits** for the broker to free one, as a socket's writer waits for room:
//! that is what holds a fast producer to the pace of the queue. The broker's own writer never
//! waits for a handle (a handle reads each answer, freeing its block, before it asks again).
//!
//! # Where the items are decoded
//!
//! The broker does not decode what it does not have to. A stored batch whose items carry no
//! channel ends or shared memory (*plain*: bytes, numbers, strings, structs of them) is kept as
//! it came, a **parcel** of encoded bytes in a buffer the broker reuses, and the consumer that
//! takes it decodes it, in its own thread; to a consumer in another process the broker forwards
//! the parcel's bytes as they are. So the memory of each item is allocated where it will be
//! freed, and the allocator can reuse it item after item instead of fetching fresh pages (the
//! broker allocating items that another thread frees, a few at a time, was what kept the
//! allocator giving pages back and fetching them again). Whether a batch is plain is measured,
//! not guessed: see `lane/outbox.rs` for how.
//!
//! Items that do carry channel ends or shared memory are always decoded at once, by whoever
//! receives the message, because only then does ipc-channel hand their file descriptors to the
//! decoder. The batch is encoded *inside* ipc-channel's `send` and decoded inside its receive, so
//! those descriptors travel beside the message whichever way the bytes go. serde's `Deserialize`
//! takes no extra arguments, so the reader lends its inbox to the decoder for the length of one
//! receive, in a thread-local, the way ipc-channel itself hands descriptors to it.
//!
//! # What can go wrong, and what happens then
//!
//! - **No block can be made** (a file-size limit, no descriptors left, no memory): the lane says
//!   why on standard error, once per process, and from then on sends its batches through the
//!   socket. Nothing is lost; large items are only slower.
//! - **A writer dies** after sending a note: the reader mapped the block when it was announced,
//!   so the bytes are still there, and the batch arrives. A writer that dies before its send
//!   leaves a filled block that nobody names; it goes away with the lane.
//! - **A reader dies**: its lane and blocks go with it, like the batch it had not yet read.
//! - **A send fails**: the block goes back to free and is announced again with its next use.
//! - **The reader frees nothing for a second** (it is stuck): the writer sends through the
//!   socket instead, which fails if the reader is gone.
//!
//! The cost: a lane that has carried large batches keeps its blocks (at most [`MAX_BLOCKS`], each
//! at most [`MAX_BLOCK_BYTES`]) and its buffers until its handle is dropped.

mod inbox;
mod outbox;

pub(crate) use inbox::{Inbox, Parcel, Pool};
pub(crate) use outbox::Outbox;

use std::sync::Arc;
use std::time::Duration;

use ipc_channel::ipc::{IpcSender, IpcSharedMemory};
use serde::de::{DeserializeOwned, Error as _};
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_bytes::Bytes;

use crate::shared::Array;

/// An encoded batch of at least this many bytes travels through shared memory; smaller ones
/// travel through the socket.
pub const SHARED_MEMORY_THRESHOLD: usize = 64 * 1024;
/// Most blocks one lane keeps.
pub(super) const MAX_BLOCKS: usize = 4;
/// A batch bigger than this always travels through the socket: no block is made that large.
pub(super) const MAX_BLOCK_BYTES: usize = 64 << 20;
/// How long a writer with every block full waits for the reader to free one before it sends
/// through the socket instead.
const RETURN_WAIT: Duration = Duration::from_secs(1);
/// The encoded size a message aims at (see `Outbox::items_per_message`).
const MESSAGE_TARGET_BYTES: usize = 1 << 20;
/// An encoding or decoding buffer that grew beyond this is not kept for the next message.
const MAX_KEPT_BUFFER: usize = 16 << 20;

/// A batch of items in a message. Encoding and decoding it is where lanes come in.
pub(crate) enum Batch<T> {
    /// Items on their way out, and the outbox of the lane they may travel through.
    Outgoing(Vec<T>, Arc<Outbox>),
    /// What the broker forwards to a consumer in another process: parcels are sent on as they
    /// are, never decoded here.
    Forward(Vec<Entry<T>>, Arc<Outbox>),
    /// What arrived (or moves within one process, never encoded), in order.
    Arrived(Vec<Entry<T>>),
}

/// One part of a batch that arrived.
pub(crate) enum Entry<T> {
    /// A decoded item.
    Item(T),
    /// Plain items still encoded, for the consumer to decode (see the module docs).
    Parcel(Parcel),
}

impl<T> Entry<T> {
    /// How many items this entry holds.
    pub(crate) fn count(&self) -> usize {
        match self {
            Entry::Item(_) => 1,
            Entry::Parcel(parcel) => parcel.count(),
        }
    }
}

impl<T> Batch<T> {
    /// A batch of decoded items, to move within this process.
    pub(crate) fn of(items: Vec<T>) -> Batch<T> {
        Batch::Arrived(items.into_iter().map(Entry::Item).collect())
    }

    /// Whether the batch has no items.
    pub(crate) fn is_empty(&self) -> bool {
        match self {
            Batch::Outgoing(items, _) => items.is_empty(),
            Batch::Forward(entries, _) | Batch::Arrived(entries) => {
                entries.iter().all(|entry| entry.count() == 0)
            }
        }
    }

    /// The entries, for the broker, which keeps parcels as they are.
    pub(crate) fn into_entries(self) -> Vec<Entry<T>> {
        match self {
            Batch::Outgoing(items, _) => items.into_iter().map(Entry::Item).collect(),
            Batch::Forward(entries, _) | Batch::Arrived(entries) => entries,
        }
    }
}

#[cfg(test)]
impl<T: DeserializeOwned> Batch<T> {
    /// The items, decoding any parcels (in the calling thread).
    pub(crate) fn into_items(self) -> Result<Vec<T>, String> {
        decode_entries(self.into_entries())
    }
}

/// Items from entries, in order, decoding the parcels among them.
#[cfg(test)]
pub(crate) fn decode_entries<T: DeserializeOwned>(
    entries: Vec<Entry<T>>,
) -> Result<Vec<T>, String> {
    let mut items = Vec::with_capacity(entries.iter().map(Entry::count).sum());
    for entry in entries {
        match entry {
            Entry::Item(item) => items.push(item),
            Entry::Parcel(parcel) => items.extend(parcel.decode::<T>()?),
        }
    }
    Ok(items)
}

// The batch as it appears inside a message. Two mirror-image types, because the writer holds
// borrowed data and the reader owned: they must list the same variants and fields in the same
// order (postcard is not self-describing). The test `every_wire_form_round_trips` checks it.

#[derive(Serialize)]
enum WireOut<'a> {
    Inline(&'a Bytes),
    Stored {
        block: u32,
        len: u64,
        count: u64,
        plain: bool,
        /// The probes' positions, which encode exactly as the probes do (see `lane/outbox.rs`).
        probes: Option<(usize, usize)>,
        announce: Option<AnnounceOut<'a>>,
    },
}

#[derive(Serialize)]
struct AnnounceOut<'a> {
    memory: &'a Array,
    replaces: Option<u32>,
    returns: Option<&'a IpcSender<()>>,
}

#[derive(Deserialize)]
enum WireIn<'a> {
    Inline(#[serde(borrow)] &'a Bytes),
    Stored {
        block: u32,
        len: u64,
        count: u64,
        plain: bool,
        /// Decoded to be dropped: the writer's probes.
        probes: Option<(IpcSender<()>, IpcSharedMemory)>,
        announce: Option<AnnounceIn>,
    },
}

#[derive(Deserialize)]
struct AnnounceIn {
    memory: Array,
    replaces: Option<u32>,
    returns: Option<IpcSender<()>>,
}

/// A stored batch as the reader sees it in a note.
struct Note {
    block: u32,
    len: u64,
    count: u64,
    plain: bool,
    announce: Option<AnnounceIn>,
}

impl<T: Serialize> Serialize for Batch<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Batch::Outgoing(items, outbox) => outbox.encode(items, serializer),
            Batch::Forward(entries, outbox) => outbox.encode_forward(entries, serializer),
            Batch::Arrived(entries) => {
                // Only ever sent in tests: what arrives is handed on within the process.
                let items: Option<Vec<&T>> = (entries.iter())
                    .map(|entry| match entry {
                        Entry::Item(item) => Some(item),
                        Entry::Parcel(_) => None,
                    })
                    .collect();
                let items = items
                    .ok_or_else(|| S::Error::custom("a parcel cannot be sent on"))?;
                let bytes = postcard::to_stdvec(&items).map_err(S::Error::custom)?;
                WireOut::Inline(Bytes::new(&bytes)).serialize(serializer)
            }
        }
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Batch<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let entries = match WireIn::deserialize(deserializer)? {
            WireIn::Inline(bytes) => {
                decode(bytes).map(|items| Batch::of(items).into_entries())
            }
            WireIn::Stored {
                block,
                len,
                count,
                plain,
                probes,
                announce,
            } => {
                drop(probes); // taken from ipc-channel's list, so that they are closed
                inbox::receive_stored(Note {
                    block,
                    len,
                    count,
                    plain,
                    announce,
                })
            }
        };
        entries.map(Batch::Arrived).map_err(D::Error::custom)
    }
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<Vec<T>, String> {
    postcard::from_bytes(bytes).map_err(|e| {
        format!(
            "could not decode a batch of {} ({e})",
            std::any::type_name::<T>()
        )
    })
}

#[cfg(test)]
mod tests;
