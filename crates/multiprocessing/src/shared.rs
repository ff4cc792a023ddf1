//! Shared memory: a [`Value`] and an [`Array`] of atomic integers that every process sees.
//!
//! **This module has `unsafe` code**, in the two functions of `Region` (one of the crate's three
//! such modules): deriving one writable pointer to the mapping, and viewing it as atomics. "Why
//! atomics and never bytes" below is the argument their `// SAFETY:` comments rest on.
//!
//! Python's `multiprocessing.Value('i', 0)` and `Array('i', 10)` put a C integer in memory that
//! every child maps; `value.get_lock()` makes `+= 1` safe. Here the memory is an
//! [`IpcSharedMemory`] region from `ipc-channel`: on Linux a `memfd` mapped with `MAP_SHARED`, so
//! the parent and every process it hands the region to (inside a `Process` argument, or over a
//! channel) map the *same pages*. The tests prove it: a child's write is seen by the parent
//! (`tests/shared_memory.rs`).
//!
//! # Why atomics and never bytes
//!
//! Memory that another process writes at any moment is not something Rust may hold a `&[u8]` or a
//! `&mut [u8]` to: those references promise "nobody changes this while I look", and another
//! process breaks that promise without the compiler ever knowing. So this module derives one raw
//! pointer to the region, once, and from then on only ever hands out [`AtomicI64`] operations:
//! `load`, `store`, `fetch_add`, `compare_exchange`. An atomic is allowed to change under you,
//! from any thread or any process, and each operation on it is indivisible.
//!
//! That does *not* make a sequence of operations indivisible: `v.store(v.load() + 1)` from four
//! processes loses updates, exactly as Python's unlocked `v.value += 1` does (listing 2.8 counts
//! them). Use [`Value::fetch_add`] for one counter, or hold a cross-process
//! [`Lock`](crate::sync::Lock) around a multi-step change.
//!
//! # Costs and limits
//!
//! - Integers only (`i64`): a `String` or a struct in shared memory would need a layout both
//!   sides agree on and a lock; send those over a `Queue` instead.
//! - Sending a handle costs one file descriptor in the message (ipc-channel allows 64 per message).
//! - Each clone or received copy of a handle is its own mapping of the same pages.
//! - The region lives while any process holds a handle; the kernel frees it after the last one.
//! - On platforms where `ipc-channel` has no real shared memory the guarantee is lost, so the
//!   module is Linux-first like the rest of the crate (the test above would fail, not silently
//!   pass).
#![allow(unsafe_code)]

use std::fmt;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicI64, Ordering};

use ipc_channel::ipc::IpcSharedMemory;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The size of one slot of shared memory, in bytes.
const SLOT_BYTES: usize = std::mem::size_of::<AtomicI64>();

/// What can go wrong when creating or receiving shared memory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SharedError {
    /// The requested number of slots does not fit in the address space.
    #[error("shared array of {len} slots is too large")]
    TooLarge {
        /// The requested length.
        len: usize,
    },
    /// A received region's size is not a whole number of slots.
    #[error(
        "shared memory region of {bytes} bytes is not a whole number of {SLOT_BYTES}-byte slots"
    )]
    BadSize {
        /// The region's size.
        bytes: usize,
    },
    /// A received region is not aligned for atomic access (should never happen with `mmap`).
    #[error("shared memory region is not aligned for 8-byte atomics")]
    Misaligned,
    /// A [`Value`] was expected but the region holds a different number of slots.
    #[error("expected a shared Value (1 slot), got a region of {slots} slots")]
    NotAValue {
        /// The number of slots found.
        slots: usize,
    },
}

// ANCHOR: region
/// One mapping of a shared region, seen only as a slice of atomics.
struct Region {
    /// Owns the mapping (and the memfd behind it); dropping it unmaps.
    shm: IpcSharedMemory,
    /// The start of the mapping, derived once with write permission.
    base: NonNull<AtomicI64>,
    /// The number of `AtomicI64` slots in the mapping.
    len: usize,
}

// SAFETY: `Region` is a pointer into a `MAP_SHARED` mapping that it owns (through `shm`),
// and the only access it ever gives is through `&AtomicI64`, which is `Send + Sync`.
// Moving it to another thread or sharing it between threads is exactly as safe as sharing
// a `&[AtomicI64]`.
unsafe impl Send for Region {}
// SAFETY: see `Send` above: all access is atomic.
unsafe impl Sync for Region {}

impl Region {
    /// Creates a zero-filled region of `len` slots.
    fn zeroed(len: usize) -> Result<Region, SharedError> {
        let bytes = len
            .checked_mul(SLOT_BYTES)
            .ok_or(SharedError::TooLarge { len })?;
        Region::from_shm(IpcSharedMemory::from_byte(0, bytes))
    }

    /// Takes ownership of a mapping and derives the one pointer all access goes through.
    fn from_shm(mut shm: IpcSharedMemory) -> Result<Region, SharedError> {
        // SAFETY: `deref_mut` asks that nobody else reads or writes the bytes while the
        // `&mut [u8]` lives. We use it for one expression only, to learn the mapping's
        // address with write permission, and never read or write through it; all later
        // access is atomic through `base`. (ipc-channel offers no other way to get a
        // writable address.)
        let bytes: &mut [u8] = unsafe { shm.deref_mut() };
        let (address, size) = (bytes.as_mut_ptr(), bytes.len());
        if size == 0 {
            // An empty region has no mapping at all; an aligned dangling pointer is all
            // an empty slice needs.
            return Ok(Region {
                shm,
                base: NonNull::dangling(),
                len: 0,
            });
        }
        if size % SLOT_BYTES != 0 {
            return Err(SharedError::BadSize { bytes: size });
        }
        if address.align_offset(std::mem::align_of::<AtomicI64>()) != 0 {
            return Err(SharedError::Misaligned);
        }
        let base = NonNull::new(address.cast::<AtomicI64>());
        let base = base.ok_or(SharedError::Misaligned)?;
        Ok(Region {
            shm,
            base,
            len: size / SLOT_BYTES,
        })
    }

    /// The region as atomics: the only view of it this module ever gives.
    fn slots(&self) -> &[AtomicI64] {
        // SAFETY: `base` is aligned (checked above) and points to `len * 8` bytes that
        // stay mapped while `self.shm` lives, which outlives the returned borrow of
        // `self`. Every process touches these bytes only through `AtomicI64` operations
        // of the same size, so concurrent changes are allowed (atomics are built on
        // `UnsafeCell`). Any bit pattern is a valid `i64`. For `len == 0`, `base` is
        // dangling but aligned, which an empty slice permits.
        unsafe { std::slice::from_raw_parts(self.base.as_ptr(), self.len) }
    }
}
// ANCHOR_END: region

impl Clone for Region {
    fn clone(&self) -> Region {
        // Cloning an `IpcSharedMemory` maps the same memfd again; re-derive the pointer for the
        // new mapping. The sizes were already checked, so this cannot fail.
        Region::from_shm(self.shm.clone())
            .expect("a clone has the same size and alignment")
    }
}

impl Serialize for Region {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Only the file descriptor travels (ipc-channel sends it with SCM_RIGHTS); the bytes are
        // never read here.
        self.shm.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Region {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Region, D::Error> {
        let shm = IpcSharedMemory::deserialize(deserializer)?;
        Region::from_shm(shm).map_err(serde::de::Error::custom)
    }
}

/// One `i64` in shared memory: Python's `multiprocessing.Value('q', 0)`, without the lock
/// (every operation is atomic; use a [`Lock`](crate::sync::Lock) for multi-step changes).
///
/// Pass it to a child inside the `Process` argument (it is `Serialize`); clone it to use it from
/// several threads. All clones and copies in every process are the same integer.
#[derive(Clone, Serialize)]
pub struct Value {
    region: Region,
}

impl Value {
    /// Creates a shared integer holding `initial`.
    pub fn new(initial: i64) -> Result<Value, SharedError> {
        let value = Value {
            region: Region::zeroed(1)?,
        };
        value.store(initial);
        Ok(value)
    }

    /// Checks that a received region really is one slot.
    fn from_region(region: Region) -> Result<Value, SharedError> {
        match region.len {
            1 => Ok(Value { region }),
            slots => Err(SharedError::NotAValue { slots }),
        }
    }

    fn atomic(&self) -> &AtomicI64 {
        &self.region.slots()[0]
    }

    /// Reads the current value.
    pub fn load(&self) -> i64 {
        self.atomic().load(Ordering::SeqCst)
    }

    /// Overwrites the value.
    pub fn store(&self, value: i64) {
        self.atomic().store(value, Ordering::SeqCst)
    }

    /// Adds `delta` in one indivisible step and returns the value before the addition (wraps on
    /// overflow, like every Rust atomic).
    pub fn fetch_add(&self, delta: i64) -> i64 {
        self.atomic().fetch_add(delta, Ordering::SeqCst)
    }

    /// Subtracts `delta` in one indivisible step and returns the value before.
    pub fn fetch_sub(&self, delta: i64) -> i64 {
        self.atomic().fetch_sub(delta, Ordering::SeqCst)
    }

    /// Replaces the value and returns the old one.
    pub fn swap(&self, value: i64) -> i64 {
        self.atomic().swap(value, Ordering::SeqCst)
    }

    /// Stores `new` if the value is still `current`. `Ok(previous)` on success, `Err(actual)`
    /// if another thread or process changed it first.
    pub fn compare_exchange(&self, current: i64, new: i64) -> Result<i64, i64> {
        self.atomic()
            .compare_exchange(current, new, Ordering::SeqCst, Ordering::SeqCst)
    }

    /// Raises the value to `candidate` if that is larger; returns the value before.
    pub fn fetch_max(&self, candidate: i64) -> i64 {
        self.atomic().fetch_max(candidate, Ordering::SeqCst)
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
        let region = Region::deserialize(deserializer)?;
        Value::from_region(region).map_err(serde::de::Error::custom)
    }
}

impl TryFrom<Array> for Value {
    type Error = SharedError;

    /// Views a one-slot [`Array`] as a [`Value`].
    fn try_from(array: Array) -> Result<Value, SharedError> {
        Value::from_region(array.region)
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Value").field(&self.load()).finish()
    }
}

/// A fixed-length array of `i64` in shared memory: Python's `multiprocessing.Array('q', n)`.
///
/// Element operations are atomic; the array as a whole is not (a [`to_vec`](Array::to_vec)
/// taken while others write is a mix of old and new elements).
#[derive(Clone, Serialize, Deserialize)]
pub struct Array {
    region: Region,
}

impl Array {
    /// Creates a shared array of `len` zeros.
    pub fn zeroed(len: usize) -> Result<Array, SharedError> {
        Ok(Array {
            region: Region::zeroed(len)?,
        })
    }

    /// Creates a shared array holding a copy of `values`.
    pub fn from_slice(values: &[i64]) -> Result<Array, SharedError> {
        let array = Array::zeroed(values.len())?;
        for (index, value) in values.iter().enumerate() {
            array.store(index, *value);
        }
        Ok(array)
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.region.len
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.region.len == 0
    }

    /// The element at `index` as an atomic, for any operation this type does not wrap.
    ///
    /// # Panics
    ///
    /// If `index >= len()`, like slice indexing.
    pub fn atomic(&self, index: usize) -> &AtomicI64 {
        &self.region.slots()[index]
    }

    /// Every element as an atomic: for loops over many elements (the queue copies bytes in and
    /// out eight at a time), which then need no bounds check per element.
    pub(crate) fn atomics(&self) -> &[AtomicI64] {
        self.region.slots()
    }

    /// Reads element `index`. Panics if out of bounds.
    pub fn load(&self, index: usize) -> i64 {
        self.atomic(index).load(Ordering::SeqCst)
    }

    /// Overwrites element `index`. Panics if out of bounds.
    pub fn store(&self, index: usize, value: i64) {
        self.atomic(index).store(value, Ordering::SeqCst)
    }

    /// Adds `delta` to element `index` atomically; returns the value before. Panics if out of
    /// bounds.
    pub fn fetch_add(&self, index: usize, delta: i64) -> i64 {
        self.atomic(index).fetch_add(delta, Ordering::SeqCst)
    }

    /// A snapshot of every element, each read atomically (the whole is not one snapshot).
    pub fn to_vec(&self) -> Vec<i64> {
        self.region
            .slots()
            .iter()
            .map(|slot| slot.load(Ordering::SeqCst))
            .collect()
    }
}

impl fmt::Debug for Array {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Array").field(&self.to_vec()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_starts_at_its_initial_value_and_counts() {
        let value = Value::new(5).unwrap();
        assert_eq!(value.fetch_add(2), 5);
        assert_eq!(value.load(), 7);
        assert_eq!(value.compare_exchange(7, 1), Ok(7));
        assert_eq!(value.compare_exchange(7, 2), Err(1));
    }

    #[test]
    fn a_clone_is_the_same_memory() {
        let value = Value::new(0).unwrap();
        let other = value.clone();
        other.store(42);
        assert_eq!(value.load(), 42);
    }

    #[test]
    fn a_sent_handle_is_the_same_memory() {
        let (tx, rx) = ipc_channel::ipc::channel::<Array>().unwrap();
        let array = Array::zeroed(4).unwrap();
        tx.send(array.clone()).unwrap();
        let received = rx.recv().unwrap();
        received.store(3, 9);
        assert_eq!(array.to_vec(), vec![0, 0, 0, 9]);
    }

    #[test]
    fn threads_lose_no_updates_with_fetch_add() {
        let value = Value::new(0).unwrap();
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..10_000 {
                        value.fetch_add(1);
                    }
                });
            }
        });
        assert_eq!(value.load(), 40_000);
    }

    #[test]
    fn an_array_region_is_not_a_value() {
        let array = Array::zeroed(3).unwrap();
        let error = Value::try_from(array).unwrap_err();
        assert!(
            matches!(error, SharedError::NotAValue { slots: 3 }),
            "{error}"
        );
    }

    #[test]
    fn a_received_region_of_the_wrong_size_is_a_clear_error() {
        let (tx, rx) = ipc_channel::ipc::channel::<Array>().unwrap();
        // The same channel, read as a channel of `Value`s: a 3-slot region must be refused.
        let rx: ipc_channel::ipc::IpcReceiver<Value> = rx.to_opaque().to();
        tx.send(Array::zeroed(3).unwrap()).unwrap();
        let error = rx
            .recv()
            .expect_err("a 3-slot region was accepted as a Value");
        // postcard keeps only "deserialization error", not our message, through ipc-channel.
        assert!(
            matches!(error, ipc_channel::IpcError::SerializationError(_)),
            "{error}"
        );
    }

    #[test]
    fn an_empty_array_is_allowed() {
        let array = Array::zeroed(0).unwrap();
        assert!(array.is_empty());
        assert_eq!(array.to_vec(), Vec::<i64>::new());
    }

    #[test]
    fn a_huge_array_is_an_error_not_a_crash() {
        let error = Array::zeroed(usize::MAX).unwrap_err();
        assert!(matches!(error, SharedError::TooLarge { .. }), "{error}");
    }
}
