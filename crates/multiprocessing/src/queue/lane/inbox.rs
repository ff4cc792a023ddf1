//! The reading end of a lane: the blocks its writer announced, and parcels.
//!
//! An [`Inbox`] is lent to the decoder for the length of one receive ([`Inbox::lend`]), because
//! ipc-channel decodes inside its receive and serde's `Deserialize` has no room for arguments.
//! When the decoder meets a note naming a block, [`receive_stored`] copies the bytes out of the
//! block (which frees it), and afterwards the inbox wakes the writer, once per block freed.
//!
//! What happens to the bytes depends on who reads. A handle in another process decodes them at
//! once: it is the consumer. The broker keeps a *plain* batch (one whose items carry no channel
//! ends or shared memory) as a [`Parcel`]: the bytes in a buffer from the broker's [`Pool`], for
//! the consumer that takes the items to decode in its own thread. Dropping a parcel gives its
//! buffer back to the pool, so the broker's buffers are reused rather than allocated per item.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ipc_channel::ipc::IpcSender;
use serde::de::DeserializeOwned;

use super::super::block::Block;
use super::super::session::lock;
use super::{AnnounceIn, Entry, MAX_KEPT_BUFFER, Note, decode};

/// Most bytes of buffers a pool keeps for reuse.
const POOLED_BYTES: usize = 32 << 20;

/// The reading end of a lane: the blocks the writer announced, a buffer to copy into, the
/// channel to wake a waiting writer on, and (in the broker) the pool that parcels come from.
#[derive(Default)]
pub(crate) struct Inbox {
    pub(super) blocks: HashMap<u32, Block>,
    buffer: Vec<u8>,
    returns: Option<IpcSender<()>>,
    /// Blocks drained during the receive in progress, to tell the writer about after it.
    drained: usize,
    /// `Some` in the broker: plain batches are kept as parcels with buffers from here.
    parcels: Option<Arc<Pool>>,
}

thread_local! {
    /// The inbox lent to the decoder for the receive in progress on this thread.
    static LENT: RefCell<Option<Inbox>> = const { RefCell::new(None) };
}

impl Inbox {
    /// The broker's inbox for one session: plain batches become parcels, from `pool`.
    pub(crate) fn keeping_parcels(pool: Arc<Pool>) -> Inbox {
        Inbox {
            parcels: Some(pool),
            ..Inbox::default()
        }
    }

    /// Runs `receive` (an ipc-channel receive or decode that may meet batches from this lane)
    /// with this inbox lent to the decoder; then tells the writer which blocks are free again.
    pub(crate) fn lend<R>(&mut self, receive: impl FnOnce() -> R) -> R {
        /// Takes the inbox back when the receive ends, even by a panic, and puts back whatever
        /// was lent before (a receive inside a receive).
        struct GiveBack<'a> {
            owner: &'a mut Inbox,
            before: Option<Inbox>,
        }
        impl Drop for GiveBack<'_> {
            fn drop(&mut self) {
                let before = self.before.take();
                if let Some(inbox) = LENT.with(|lent| lent.replace(before)) {
                    *self.owner = inbox;
                }
            }
        }
        let inbox = std::mem::take(self);
        let before = LENT.with(|lent| lent.replace(Some(inbox)));
        let give_back = GiveBack {
            owner: self,
            before,
        };
        let received = receive();
        drop(give_back);
        self.wake_the_writer();
        received
    }

    /// One wake-up per drained block. The writer reads them before each batch it places, so
    /// only a few can ever wait in the channel and this send never blocks; if the writer is
    /// gone, nobody needs them.
    fn wake_the_writer(&mut self) {
        let drained = std::mem::take(&mut self.drained);
        if let Some(returns) = &self.returns {
            for _ in 0..drained {
                if returns.send(()).is_err() {
                    self.returns = None;
                    break;
                }
            }
        }
    }

    /// Registers an announced block, then copies a note's bytes out of its block (which frees
    /// it for the writer) into `bytes`.
    fn take_stored(&mut self, note: Note, bytes: &mut Vec<u8>) -> Result<(), String> {
        let id = note.block;
        if let Some(announce) = note.announce {
            take_announcement(self, id, announce)?;
        }
        let block = (self.blocks.get(&id)).ok_or_else(|| {
            format!("a message names block {id}, which was never announced")
        })?;
        let len = usize::try_from(note.len)
            .map_err(|_| format!("a message of {} bytes", note.len))?;
        block.drain(len, bytes)?;
        self.drained += 1;
        Ok(())
    }
}

fn take_announcement(
    inbox: &mut Inbox,
    id: u32,
    announce: AnnounceIn,
) -> Result<(), String> {
    if let Some(old) = announce.replaces {
        inbox.blocks.remove(&old);
    }
    inbox
        .blocks
        .insert(id, Block::from_memory(announce.memory)?);
    inbox.returns = announce.returns.or(inbox.returns.take());
    Ok(())
}

/// The decoder's side of a stored batch: its bytes, out of the block, as a parcel (a plain
/// batch, in the broker) or as decoded items.
pub(super) fn receive_stored<T: DeserializeOwned>(
    note: Note,
) -> Result<Vec<Entry<T>>, String> {
    let plain = note.plain;
    let count = usize::try_from(note.count).map_err(|_| "a batch too large to count")?;
    let (bytes, pool) = LENT.with(|lent| {
        let mut lent = lent.borrow_mut();
        let inbox = (lent.as_mut())
            .ok_or("a batch in shared memory arrived on a channel without a lane")?;
        let pool = inbox.parcels.clone().filter(|_| plain);
        let mut bytes = match &pool {
            Some(pool) => pool.take(),
            None => std::mem::take(&mut inbox.buffer),
        };
        match inbox.take_stored(note, &mut bytes) {
            Ok(()) => Ok((bytes, pool)),
            Err(error) => Err(error),
        }
    })?;
    if let Some(pool) = pool {
        return Ok(vec![Entry::Parcel(Parcel { bytes, count, pool })]);
    }
    // Decoded with the inbox's borrow released: an item's own `Deserialize` may receive too.
    let items = decode::<T>(&bytes);
    LENT.with(|lent| {
        if let Some(inbox) = lent.borrow_mut().as_mut()
            && bytes.capacity() <= MAX_KEPT_BUFFER
        {
            inbox.buffer = bytes;
        }
    });
    Ok(items?.into_iter().map(Entry::Item).collect())
}

/// Plain items still encoded, in a buffer of the broker's [`Pool`], which it goes back to when
/// the parcel is dropped.
pub(crate) struct Parcel {
    bytes: Vec<u8>,
    count: usize,
    pool: Arc<Pool>,
}

impl Parcel {
    /// How many items the parcel holds.
    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// The encoded items without the sequence's length in front: what a forwarded batch
    /// splices together (`Outbox::encode_forward`).
    pub(crate) fn items_bytes(&self) -> postcard::Result<&[u8]> {
        let (_count, items) = postcard::take_from_bytes::<usize>(&self.bytes)?;
        Ok(items)
    }

    /// The items. Safe outside ipc-channel's receive because plain items carry no descriptors.
    pub(crate) fn decode<T: DeserializeOwned>(&self) -> Result<Vec<T>, String> {
        let items: Vec<T> = decode(&self.bytes)?;
        if items.len() != self.count {
            return Err(format!(
                "a parcel said {} items and held {}",
                self.count,
                items.len()
            ));
        }
        Ok(items)
    }
}

#[cfg(test)]
impl Parcel {
    /// A parcel of `items`, as a plain stored batch would become in the broker.
    pub(crate) fn of<T: serde::Serialize>(items: &[T], pool: &Arc<Pool>) -> Parcel {
        Parcel {
            bytes: postcard::to_stdvec(items).expect("encode"),
            count: items.len(),
            pool: Arc::clone(pool),
        }
    }
}

impl Drop for Parcel {
    fn drop(&mut self) {
        self.pool.give(std::mem::take(&mut self.bytes));
    }
}

/// Buffers for parcels, reused: the broker takes one per plain batch, and the consumer's drop of
/// the parcel gives it back.
#[derive(Default)]
pub(crate) struct Pool {
    /// The buffers, and the sum of their capacities.
    free: Mutex<(Vec<Vec<u8>>, usize)>,
}

impl Pool {
    fn take(&self) -> Vec<u8> {
        let mut free = lock(&self.free);
        let bytes = free.0.pop().unwrap_or_default();
        free.1 -= bytes.capacity();
        bytes
    }

    fn give(&self, bytes: Vec<u8>) {
        let mut free = lock(&self.free);
        if free.1 + bytes.capacity() <= POOLED_BYTES {
            free.1 += bytes.capacity();
            free.0.push(bytes);
        }
    }

    /// How many buffers wait for reuse (for tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        lock(&self.free).0.len()
    }
}
