//! The writing end of a lane: blocks, made and reused; waiting for the reader; probes.
//!
//! An [`Outbox`] places each batch: through the socket when it is small, else into the smallest
//! free block that holds it, making one if the lane may have another, else (for a handle's lane)
//! waiting for the reader to free one. The state words of `block.rs` say which blocks are free;
//! the reader's wake-ups (one small message per block it frees) are only what a waiting writer
//! sleeps on. A batch the size of the last one is encoded straight into its block; any other is
//! encoded into a buffer the outbox keeps, and copied into a block if it turns out large. (A
//! batch larger than its block was expected to be spills into the buffer, and is placed again.)
//!
//! # Probes: is a batch plain?
//!
//! The broker keeps a stored batch encoded, for the consumer to decode, only if its items carry
//! no channel ends and no shared memory (see `lane.rs`). The writer cannot ask its items, but it
//! can ask ipc-channel: while a message is encoded, ipc-channel collects the descriptors of every
//! handle it meets in a list, and a handle encodes as its position in that list. So after the
//! items, the outbox encodes two handles of its own, a channel end and a tiny piece of shared
//! memory: if both land at position 0, the items put nothing in either list before them. The two
//! probes travel with the message (two descriptors more, in a message that carries a megabyte)
//! and the reader drops them.

use std::io::Write;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use ipc_channel::TryRecvError;
use ipc_channel::ipc::{IpcReceiver, IpcSender, IpcSharedMemory};
use serde::ser::Error as _;
use serde::{Serialize, Serializer};
use serde_bytes::Bytes;

use super::super::block::{Block, copy_out};
use super::super::session::lock;
use super::{
    AnnounceOut, Entry, MAX_BLOCK_BYTES, MAX_BLOCKS, MAX_KEPT_BUFFER,
    MESSAGE_TARGET_BYTES, RETURN_WAIT, SHARED_MEMORY_THRESHOLD, WireOut,
};
use crate::Error;

/// The writing end of a lane: its blocks, its encoding buffer, and (for lanes whose writer waits)
/// the channel on which the reader says a block is free again. One per session direction; the
/// mutexes make it shareable, but one thread at a time sends through it.
pub(crate) struct Outbox {
    /// Held for the whole of a send, so that what `encode` records is what `sent` settles.
    sending: Mutex<()>,
    pub(super) lane: Mutex<Lane>,
    /// How many times the writer waited for the reader (read without the lane's lock).
    pub(super) waits: AtomicU64,
    /// Encoded bytes per item in the last batch (read without the lane's lock, which a waiting
    /// writer holds).
    pub(super) bytes_per_item: AtomicUsize,
}

pub(super) struct Lane {
    pub(super) blocks: Vec<Slot>,
    next_id: u32,
    buffer: Vec<u8>,
    /// The block the message being sent uses, until the send's outcome is known.
    in_flight: Option<u32>,
    /// Wake-ups from the reader, one per block it drained; `None` for a writer that never waits.
    returns: Option<Returns>,
    /// How long to wait for a free block before using the socket.
    pub(super) return_wait: Duration,
    /// Why this lane stopped making blocks, if it did.
    refused: Option<String>,
    /// The handles that tell whether a batch is plain; `None` until the first stored batch,
    /// and if they cannot be made (then no batch counts as plain).
    probes: Option<Probes>,
    /// Batches sent each way (for tests).
    stored: u64,
    inline: u64,
}

/// A channel end and a piece of shared memory, encoded after the items of a stored batch to
/// learn whether the items held any (see the module docs).
struct Probes {
    channel: IpcSender<()>,
    memory: IpcSharedMemory,
}

/// The channel on which a reader tells its writer "a block is free again". Made with the lane's
/// first block; its sending end goes to the reader with every block's announcement.
struct Returns {
    to_reader: IpcSender<()>,
    from_reader: IpcReceiver<()>,
}

pub(super) struct Slot {
    pub(super) id: u32,
    pub(super) block: Block,
    /// The reader has this block (a message announcing it was sent).
    pub(super) announced: bool,
    /// The block this one replaced, which the reader must forget when this one is announced.
    pub(super) replaces: Option<u32>,
}

/// What a batch of a given size should do.
enum Placement {
    /// Into this block (an index into `Lane::blocks`), copied from the buffer.
    Block(usize),
    /// Already written into this block.
    Filled(usize),
    /// Through the socket.
    Inline,
}

impl Outbox {
    /// An outbox whose writer waits for the reader when every block is full, as a socket's
    /// writer waits when the socket is full: the lanes of handles, whose reader is the broker.
    pub(crate) fn new() -> Arc<Outbox> {
        Outbox::with(true)
    }

    /// An outbox whose writer never waits: the broker's answers, which must never wait for a
    /// handle. (It rarely has to: a handle reads each answer, which frees its block, before it
    /// can ask for the next.)
    pub(crate) fn never_waiting() -> Arc<Outbox> {
        Outbox::with(false)
    }

    fn with(waits: bool) -> Arc<Outbox> {
        let lane = Lane {
            blocks: Vec::new(),
            next_id: 0,
            buffer: Vec::new(),
            in_flight: None,
            returns: None,
            return_wait: RETURN_WAIT,
            refused: None,
            probes: None,
            stored: 0,
            inline: 0,
        };
        let outbox = Outbox {
            sending: Mutex::new(()),
            lane: Mutex::new(lane),
            waits: AtomicU64::new(0),
            bytes_per_item: AtomicUsize::new(1),
        };
        if waits {
            lock(&outbox.lane).returns = returns_channel();
        }
        Arc::new(outbox)
    }

    /// Sends `message` (which holds a [`Batch::Outgoing`] of this outbox) with the crate's checks
    /// (`ipc::send_catching`), then settles the block it used.
    pub(crate) fn send<M: Serialize>(
        &self,
        sender: &IpcSender<M>,
        message: M,
        what: &str,
    ) -> Result<(), Error> {
        let _one_at_a_time = lock(&self.sending);
        let result = crate::ipc::send_catching(sender, message, what);
        self.sent(result.is_ok());
        result
    }

    /// How many items to put in the next message, at most `batch`: enough to reach about
    /// [`MESSAGE_TARGET_BYTES`] at the last batch's bytes per item. Small items fill whole
    /// batches; megabyte items go one per message, so no message needs a giant block.
    pub(crate) fn items_per_message(&self, batch: usize) -> usize {
        self.items_within(MESSAGE_TARGET_BYTES, batch)
    }

    /// How many items of the last batch's size make about `bytes`: at least 1, at most `most`.
    pub(crate) fn items_within(&self, bytes: usize, most: usize) -> usize {
        let bytes_per_item = self.bytes_per_item.load(Ordering::Relaxed).max(1);
        (bytes / bytes_per_item).clamp(1, most.max(1))
    }

    /// Encodes `items` as a batch (called by ipc-channel's `send`, through `Batch`'s
    /// `Serialize`).
    pub(super) fn encode<T: Serialize, S: Serializer>(
        &self,
        items: &[T],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let write = |sink: &mut dyn Write| postcard::to_io(items, sink).map(drop);
        self.encode_with(items.len(), write, serializer)
    }

    /// Encodes what the broker forwards to a consumer in another process: parcels go as the
    /// bytes they are, without being decoded and encoded again, and items are encoded. The
    /// result is exactly the encoding of all their items as one sequence.
    pub(super) fn encode_forward<T: Serialize, S: Serializer>(
        &self,
        entries: &[Entry<T>],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let count: usize = entries.iter().map(Entry::count).sum();
        let write = |sink: &mut dyn Write| {
            // A sequence is its length, then its items one after the other.
            postcard::to_io(&count, &mut *sink)?;
            for entry in entries {
                match entry {
                    Entry::Item(item) => drop(postcard::to_io(item, &mut *sink)?),
                    Entry::Parcel(parcel) => (sink.write_all(parcel.items_bytes()?))
                        .map_err(|_| postcard::Error::SerializeBufferFull)?,
                }
            }
            Ok(())
        };
        self.encode_with(count, write, serializer)
    }

    /// Encodes a batch of `count` items, which `write` writes, and places it (see
    /// `Lane::place`). When the batch is expected to be large (from the size of the last one),
    /// it is written straight into a block; otherwise into the outbox's buffer, and copied into a
    /// block from there if it turns out large.
    fn encode_with<S: Serializer>(
        &self,
        count: usize,
        write: impl FnOnce(&mut dyn Write) -> postcard::Result<()>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut lane = lock(&self.lane);
        let lane = &mut *lane;
        let expected = count.saturating_mul(self.bytes_per_item.load(Ordering::Relaxed));
        // Inside ipc-channel's send: channel ends and shared memory in the items are collected
        // as they are encoded, and travel with the message (see the module docs).
        let (len, placement) = match lane.place_expected(expected, &self.waits) {
            Some(index) => {
                let mut writer = lane.blocks[index].block.writer(&mut lane.buffer);
                write(&mut writer).map_err(S::Error::custom)?;
                match writer.finish() {
                    (len, false) => (len, Placement::Filled(index)),
                    (in_block, true) => {
                        // Bigger than expected: gather it in the buffer and place it anew.
                        lane.gather(index, in_block);
                        let len = lane.buffer.len();
                        (len, lane.place(len, &self.waits))
                    }
                }
            }
            None => {
                lane.buffer.clear();
                write(&mut lane.buffer).map_err(S::Error::custom)?;
                let len = lane.buffer.len();
                let placement = match expected >= SHARED_MEMORY_THRESHOLD {
                    true => Placement::Inline, // a block was tried already
                    false => lane.place(len, &self.waits),
                };
                (len, placement)
            }
        };
        (self.bytes_per_item).store(len / count.max(1), Ordering::Relaxed);
        let wire = match placement {
            Placement::Block(index) | Placement::Filled(index) => {
                let probes = lane.probe();
                let slot = &lane.blocks[index];
                match placement {
                    Placement::Filled(_) => slot.block.seal(),
                    _ => slot.block.fill(&lane.buffer),
                }
                lane.in_flight = Some(slot.id);
                lane.stored += 1;
                WireOut::Stored {
                    block: slot.id,
                    len: len as u64,
                    count: count as u64,
                    plain: probes == Some((0, 0)),
                    probes,
                    announce: (!slot.announced).then(|| AnnounceOut {
                        memory: slot.block.memory(),
                        replaces: slot.replaces,
                        returns: lane.returns.as_ref().map(|r| &r.to_reader),
                    }),
                }
            }
            Placement::Inline => {
                lane.inline += 1;
                WireOut::Inline(Bytes::new(&lane.buffer))
            }
        };
        let result = wire.serialize(serializer);
        if lane.buffer.capacity() > MAX_KEPT_BUFFER {
            lane.buffer = Vec::new();
        }
        result
    }

    fn sent(&self, ok: bool) {
        let mut lane = lock(&self.lane);
        if let Some(id) = lane.in_flight.take()
            && let Some(slot) = lane.blocks.iter_mut().find(|slot| slot.id == id)
        {
            if ok {
                slot.announced = true;
                slot.replaces = None;
            } else {
                // The message never left: nobody will read the block.
                slot.block.release();
            }
        }
    }

    #[cfg(test)]
    pub(super) fn counts(&self) -> (u64, u64, usize) {
        let lane = lock(&self.lane);
        (lane.stored, lane.inline, lane.blocks.len())
    }
}

impl Lane {
    // ANCHOR: place
    /// Where a batch of `len` bytes goes: a free block that holds it (made now if the
    /// lane may make one), else, for a writer that waits, the next block the reader frees
    /// (up to `return_wait`); else the socket.
    fn place(&mut self, len: usize, waits: &AtomicU64) -> Placement {
        if !(SHARED_MEMORY_THRESHOLD..=MAX_BLOCK_BYTES).contains(&len)
            || self.refused.is_some()
        {
            return Placement::Inline;
        }
        let deadline = Instant::now() + self.return_wait;
        loop {
            self.take_returns();
            if let Some(index) = self.free_block(len) {
                return Placement::Block(index);
            }
            if let Some(index) = self.make_block(len) {
                return Placement::Block(index);
            }
            if self.refused.is_some() || self.returns.is_none() {
                return Placement::Inline;
            }
            waits.fetch_add(1, Ordering::Relaxed);
            if !self.wait_for_a_return(deadline) {
                return Placement::Inline;
            }
        }
    }
    // ANCHOR_END: place

    /// A block to write a batch of about `expected` bytes straight into, if it should go
    /// through one (with a little room to spare, for a batch a little larger than the last).
    fn place_expected(&mut self, expected: usize, waits: &AtomicU64) -> Option<usize> {
        if expected < SHARED_MEMORY_THRESHOLD {
            return None;
        }
        match self.place(expected + expected / 16, waits) {
            Placement::Block(index) | Placement::Filled(index) => Some(index),
            Placement::Inline => None,
        }
    }

    /// A batch that outgrew the block it was written into: its first `in_block` bytes from the
    /// block, then the rest (which went to the buffer), all in the buffer. The block stays free:
    /// no message names it.
    fn gather(&mut self, index: usize, in_block: usize) {
        let spill = std::mem::take(&mut self.buffer);
        let mut gathered = Vec::with_capacity(in_block + spill.len());
        copy_out(
            self.blocks[index].block.memory(),
            1,
            in_block,
            &mut gathered,
        );
        gathered.extend_from_slice(&spill);
        self.buffer = gathered;
    }

    /// The smallest free block that holds `len` bytes.
    fn free_block(&self, len: usize) -> Option<usize> {
        (self.blocks.iter().enumerate())
            .filter(|(_, slot)| slot.block.capacity() >= len && slot.block.is_free())
            .min_by_key(|(_, slot)| slot.block.capacity())
            .map(|(index, _)| index)
    }

    /// Makes a block for batches of about `len` bytes, if the lane has fewer than it may keep or
    /// has a free block too small to keep; that one is replaced. A lane whose block cannot be
    /// made stops trying (see the module docs).
    pub(super) fn make_block(&mut self, len: usize) -> Option<usize> {
        let retire = if self.blocks.len() < MAX_BLOCKS {
            None
        } else {
            let too_small = (self.blocks.iter().enumerate())
                .filter(|(_, slot)| slot.block.capacity() < len && slot.block.is_free())
                .min_by_key(|(_, slot)| slot.block.capacity());
            Some(too_small?.0)
        };
        let block = match Block::new(block_size(len)) {
            Ok(block) => block,
            Err(reason) => {
                self.refuse(reason);
                return None;
            }
        };
        let replaces = retire.and_then(|index| {
            let old = self.blocks.swap_remove(index);
            // A block the reader never had: it must forget what that one replaced instead.
            if old.announced {
                Some(old.id)
            } else {
                old.replaces
            }
        });
        self.blocks.push(Slot {
            id: self.next_id,
            block,
            announced: false,
            replaces,
        });
        self.next_id = self.next_id.wrapping_add(1);
        Some(self.blocks.len() - 1)
    }

    // ANCHOR: probe
    /// The probes' positions in ipc-channel's lists (see the module docs): both 0 if the
    /// items just encoded carried no channel ends and no shared memory. Must run right
    /// after the items are encoded, inside the same `send`. The positions go into the
    /// note, where the reader decodes the probes (a channel end that nobody decodes would
    /// leak its descriptor).
    fn probe(&mut self) -> Option<(usize, usize)> {
        if self.probes.is_none() {
            self.probes = make_probes();
        }
        let probes = self.probes.as_ref()?;
        Some((position(&probes.channel)?, position(&probes.memory)?))
    }
    // ANCHOR_END: probe

    /// Reads the wake-ups that have arrived, so they never pile up in the channel (the reader
    /// sends one per block it drains, and must never find the channel full).
    fn take_returns(&self) {
        if let Some(returns) = &self.returns {
            while returns.from_reader.try_recv().is_ok() {}
        }
    }

    /// Waits until the reader frees a block, or `deadline`. `false`: give up and use the socket
    /// (the reader is gone, or is not reading, or this writer never waits).
    fn wait_for_a_return(&mut self, deadline: Instant) -> bool {
        let Some(returns) = &self.returns else {
            return false;
        };
        match crate::ipc::recv_until(&returns.from_reader, deadline) {
            Ok(()) => true,
            Err(TryRecvError::Empty) => false,
            Err(TryRecvError::IpcError(_)) => {
                // The reader is gone; the send that follows will say so.
                self.returns = None;
                false
            }
        }
    }

    pub(super) fn refuse(&mut self, reason: String) {
        static SAID: Once = Once::new();
        SAID.call_once(|| {
            eprintln!(
                "multiprocessing: large queue items will travel through the socket (slower), \
                 because no shared memory could be made for them: {reason}"
            );
        });
        self.refused = Some(reason);
    }
}

/// A handle's position in ipc-channel's list of descriptors for the message being sent:
/// encoding the handle puts it there, and encodes the position (as a `usize`, which is why the
/// reader can decode that number as the handle again).
fn position<H: Serialize>(handle: &H) -> Option<usize> {
    let encoded = postcard::to_stdvec(handle).ok()?;
    postcard::from_bytes(&encoded).ok()
}

fn make_probes() -> Option<Probes> {
    let (channel, _) = ipc_channel::ipc::channel().ok()?;
    let memory = crate::ipc::catch_quietly(|| IpcSharedMemory::from_byte(0, 8)).ok()?;
    Some(Probes { channel, memory })
}

/// The channel for a waiting writer's wake-ups; a writer that cannot have one does not wait.
fn returns_channel() -> Option<Returns> {
    let (to_reader, from_reader) = ipc_channel::ipc::channel().ok()?;
    Some(Returns {
        to_reader,
        from_reader,
    })
}

/// The size of block to make for `len` bytes: rounded up to an eighth of the next power of two
/// (at least 64 KiB), so that batches of nearly the same size share blocks and no block is more
/// than about an eighth too big.
pub(super) fn block_size(len: usize) -> usize {
    let step = (len.next_power_of_two() / 8).max(64 * 1024);
    len.next_multiple_of(step)
}
