//! `BytePool`: large byte payloads through reused shared-memory slots.
//!
//! Moving a megabyte between processes costs more than copying a megabyte. Through a socket the
//! kernel copies it twice and ipc-channel cuts it into buffer-sized pieces; as a fresh
//! `IpcSharedMemory` per item, the kernel must find and zero 256 new pages every time (the bench
//! shows that alone caps the rate). Programs that move bulk data fast *reuse* their buffers: a few
//! slots of shared memory that both sides keep mapped, so each payload is one copy in and one copy
//! out of memory that is already there.
//!
//! A `BytePool` is that, in the simplest form that stays correct:
//!
//! - One shared [`Array`] (this crate's shared memory) holds `slots` slots of `slot_bytes` each,
//!   plus one state word per slot: free, being written, full.
//! - [`BytePool::pack`] claims a free slot with a compare-and-swap, copies the bytes in, marks it
//!   full (a *release* store, so the bytes are visible to whoever sees "full"), and returns a small
//!   [`Payload`] naming the slot. Put that on any queue or pipe.
//! - [`BytePool::unpack`] checks the slot is full (an *acquire* load), copies the bytes out, and
//!   frees the slot.
//! - **No waiting, no deadlock:** when no slot is free, or the payload is bigger than a slot,
//!   `pack` returns the bytes inline instead (a `serde_bytes::ByteBuf`, sent through the channel).
//!   A process killed between `pack` and `unpack` leaves its slot taken forever; the pool then has
//!   one slot fewer, and everything still arrives.
//!
//! The memory is only ever touched through atomics (see `shared.rs` for why), eight bytes at a
//! time with relaxed ordering; the release/acquire pair on the state word is what orders them.
//! For production, `iceoryx2` does this properly (zero-copy, no copying in and out at all).

use std::sync::atomic::Ordering;

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use super::block::{WORD, copy_in, copy_out};
use crate::Error;
use crate::shared::{Array, SharedError};

const FREE: i64 = 0;
const WRITING: i64 = 1;
const FULL: i64 = 2;

/// A pool of reusable shared-memory slots for byte payloads; see the module docs.
///
/// Create it in one process and pass it (it is `Serialize`) to every process that packs or
/// unpacks; all copies use the same slots.
#[derive(Clone, Serialize, Deserialize)]
pub struct BytePool {
    /// `slots` state words, then `slots × slot_words` data words.
    memory: Array,
    slots: usize,
    slot_words: usize,
}

/// A packed payload: a slot of a [`BytePool`], or the bytes themselves when no slot was free.
#[derive(Debug, Serialize, Deserialize)]
pub enum Payload {
    /// The bytes are in this slot of the pool; `unpack` copies them out and frees the slot.
    Slot {
        /// Which slot.
        slot: u32,
        /// How many bytes.
        len: u64,
    },
    /// The bytes travel in the message itself.
    Inline(ByteBuf),
}

impl BytePool {
    /// A pool of `slots` slots of `slot_bytes` bytes each (rounded up to a multiple of 8).
    pub fn new(slots: usize, slot_bytes: usize) -> Result<BytePool, SharedError> {
        let slot_words = slot_bytes.div_ceil(WORD);
        let words = slot_words
            .checked_mul(slots)
            .and_then(|data| data.checked_add(slots))
            .ok_or(SharedError::TooLarge { len: usize::MAX })?;
        let memory = Array::zeroed(words)?;
        Ok(BytePool {
            memory,
            slots,
            slot_words,
        })
    }

    /// Copies `bytes` into a free slot, or inline when none is free or they do not fit.
    pub fn pack(&self, bytes: &[u8]) -> Payload {
        if bytes.len() > self.slot_words * WORD {
            return Payload::Inline(ByteBuf::from(bytes));
        }
        let Some(slot) = self.claim() else {
            return Payload::Inline(ByteBuf::from(bytes));
        };
        copy_in(&self.memory, self.data_start(slot), bytes);
        // Release: whoever reads FULL (with acquire) also sees every word stored above.
        self.state(slot).store(FULL, Ordering::Release);
        Payload::Slot {
            slot: slot as u32,
            len: bytes.len() as u64,
        }
    }

    /// The bytes of a payload; a slot is copied out and freed. A payload that names a slot of
    /// another pool, or a slot that is not full (unpacked twice), is an error.
    pub fn unpack(&self, payload: Payload) -> Result<Vec<u8>, Error> {
        let (slot, len) = match payload {
            Payload::Inline(bytes) => return Ok(bytes.into_vec()),
            Payload::Slot { slot, len } => (slot as usize, len as usize),
        };
        if slot >= self.slots || len > self.slot_words * WORD {
            return Err(foreign(slot, len));
        }
        // Acquire: pairs with the release in `pack`, so the words below are the packed ones.
        if self.state(slot).load(Ordering::Acquire) != FULL {
            return Err(foreign(slot, len));
        }
        let mut bytes = Vec::new();
        copy_out(&self.memory, self.data_start(slot), len, &mut bytes);
        // Release: our reads above happen before the next writer's claim sees FREE.
        self.state(slot).store(FREE, Ordering::Release);
        Ok(bytes)
    }

    /// How many slots are free right now (a snapshot; for tests and curiosity).
    pub fn free_slots(&self) -> usize {
        (0..self.slots)
            .filter(|&slot| self.state(slot).load(Ordering::Acquire) == FREE)
            .count()
    }

    fn claim(&self) -> Option<usize> {
        (0..self.slots).find(|&slot| {
            self.state(slot)
                .compare_exchange(FREE, WRITING, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        })
    }

    fn state(&self, slot: usize) -> &std::sync::atomic::AtomicI64 {
        self.memory.atomic(slot)
    }

    fn data_start(&self, slot: usize) -> usize {
        self.slots + slot * self.slot_words
    }
}

fn foreign(slot: usize, len: usize) -> Error {
    Error::Serialization(format!(
        "payload names slot {slot} ({len} bytes), which holds no packed payload of this pool \
         (unpacked twice, or packed by another pool?)"
    ))
}

impl std::fmt::Debug for BytePool {
    /// The shape, not the contents (which may be megabytes).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BytePool")
            .field("slots", &self.slots)
            .field("slot_bytes", &(self.slot_words * WORD))
            .finish()
    }
}
