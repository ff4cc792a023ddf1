//! A block: one reusable piece of shared memory that carries one message at a time.
//!
//! A block is an [`Array`] (this crate's shared memory, seen only as atomics; `shared.rs` says
//! why) laid out as one state word and then the data:
//!
//! ```text
//! word 0      word 1 ..
//! [ state ] [ message bytes, eight per word, little-endian, the last word padded ]
//! ```
//!
//! Exactly one writer and one reader use a block, and they take turns through the state word:
//!
//! - the writer [`fill`](Block::fill)s a **free** block and marks it **full** with a *release*
//!   store, so every data word it stored is visible to whoever sees "full";
//! - the reader [`drain`](Block::drain)s a **full** block (checked with an *acquire* load, which
//!   pairs with that store), copies the bytes out, and marks it **free** again with a release
//!   store, so its reads are done before the writer can see "free" and overwrite them.
//!
//! Neither side ever waits on the other: a writer that finds no free block sends its message
//! another way (see `lane.rs`). The data words themselves are relaxed atomics: the state word's
//! release/acquire pair is what orders them. The copy loops are shared with [`BytePool`]
//! (`bytes.rs`), which keeps many slots in one array.
//!
//! [`BytePool`]: super::BytePool

use std::sync::atomic::{AtomicI64, Ordering};

use crate::shared::Array;

const FREE: i64 = 0;
const FULL: i64 = 1;
/// Bytes per word of shared memory.
pub(super) const WORD: usize = 8;

/// One block of shared memory with its state word; see the module docs.
pub(super) struct Block {
    memory: Array,
}

impl Block {
    /// A free block with room for `capacity` bytes (rounded up to whole words). Creating shared
    /// memory can fail (no memory, a file-size or descriptor limit); ipc-channel reports that by
    /// panicking, so the panic is caught here and returned as a message.
    pub(super) fn new(capacity: usize) -> Result<Block, String> {
        let words = capacity.div_ceil(WORD) + 1;
        below_file_size_limit(words * WORD)?;
        match crate::ipc::catch_quietly(|| Array::zeroed(words)) {
            Ok(Ok(memory)) => Ok(Block { memory }),
            Ok(Err(error)) => Err(error.to_string()),
            Err(panic) => Err(panic_message(panic.as_ref())),
        }
    }

    /// A block received from the writer. A region too small to hold even the state word is
    /// refused (it cannot have come from [`Block::new`]).
    pub(super) fn from_memory(memory: Array) -> Result<Block, String> {
        if memory.is_empty() {
            return Err("a queue block without a state word".into());
        }
        Ok(Block { memory })
    }

    /// The shared memory, to announce the block to the reader.
    pub(super) fn memory(&self) -> &Array {
        &self.memory
    }

    /// How many bytes the block can carry.
    pub(super) fn capacity(&self) -> usize {
        (self.memory.len() - 1) * WORD
    }

    /// Whether the reader is done with the block (always true of a block never filled).
    pub(super) fn is_free(&self) -> bool {
        self.state().load(Ordering::Acquire) == FREE
    }

    /// Copies `bytes` in and marks the block full. Only the writer calls this, only on a free
    /// block, and only with `bytes.len() <= capacity()`.
    pub(super) fn fill(&self, bytes: &[u8]) {
        debug_assert!(self.is_free() && bytes.len() <= self.capacity());
        copy_in(&self.memory, 1, bytes);
        // Release: whoever reads FULL (with acquire) also sees every word stored above.
        self.state().store(FULL, Ordering::Release);
    }

    /// A writer straight into the block's words (see [`BlockWriter`]), for the writer of a free
    /// block; [`seal`](Block::seal) it when the message is complete.
    pub(super) fn writer<'a>(&'a self, spill: &'a mut Vec<u8>) -> BlockWriter<'a> {
        debug_assert!(self.is_free());
        spill.clear();
        BlockWriter {
            words: &self.memory.atomics()[1..],
            at: 0,
            partial: [0; WORD],
            spill,
            spilled: false,
        }
    }

    /// Marks a block that a [`BlockWriter`] filled as full (the release store of `fill`).
    pub(super) fn seal(&self) {
        self.state().store(FULL, Ordering::Release);
    }

    /// Gives a block back without it having been read: its message was never sent.
    pub(super) fn release(&self) {
        self.state().store(FREE, Ordering::Release);
    }

    /// Copies the first `len` bytes out into `out` (replacing its contents) and marks the block
    /// free. Fails, touching nothing, if the block is not full or `len` does not fit: a message
    /// that does not match its block.
    pub(super) fn drain(&self, len: usize, out: &mut Vec<u8>) -> Result<(), String> {
        if len > self.capacity() {
            return Err(format!(
                "a message of {len} bytes in a block of {}",
                self.capacity()
            ));
        }
        // Acquire: pairs with the release in `fill`, so the words below are the filled ones.
        if self.state().load(Ordering::Acquire) != FULL {
            return Err("a message names a block that holds no message".into());
        }
        copy_out(&self.memory, 1, len, out);
        // Release: our reads above happen before the writer's next `is_free` sees FREE.
        self.state().store(FREE, Ordering::Release);
        Ok(())
    }

    fn state(&self) -> &AtomicI64 {
        self.memory.atomic(0)
    }
}

/// Writes a message into a block as it is encoded, so that the encoder's output needs no buffer
/// of its own: bytes go into the block's words eight at a time (relaxed atomic stores; `seal`
/// publishes them), and whatever does not fit goes into `spill` instead.
pub(super) struct BlockWriter<'a> {
    words: &'a [AtomicI64],
    /// Bytes written into the block.
    at: usize,
    /// The word being filled, until it has eight bytes.
    partial: [u8; WORD],
    spill: &'a mut Vec<u8>,
    /// The block ran out of room: everything from then on went to `spill`.
    spilled: bool,
}

impl BlockWriter<'_> {
    /// Stores the last, partial word. Returns how many bytes are in the block, and whether the
    /// message did not fit (then its first bytes are in the block and the rest in `spill`).
    pub(super) fn finish(self) -> (usize, bool) {
        if !self.at.is_multiple_of(WORD) {
            self.words[self.at / WORD]
                .store(i64::from_le_bytes(self.partial), Ordering::Relaxed);
        }
        (self.at, self.spilled)
    }

    fn put(&mut self, mut bytes: &[u8]) {
        if self.spilled || self.at + bytes.len() > self.words.len() * WORD {
            self.spilled = true;
            self.spill.extend_from_slice(bytes);
            return;
        }
        let offset = self.at % WORD;
        if offset != 0 {
            let take = bytes.len().min(WORD - offset);
            self.partial[offset..offset + take].copy_from_slice(&bytes[..take]);
            self.at += take;
            bytes = &bytes[take..];
            if !self.at.is_multiple_of(WORD) {
                return;
            }
            let word = i64::from_le_bytes(std::mem::take(&mut self.partial));
            self.words[self.at / WORD - 1].store(word, Ordering::Relaxed);
        }
        let first = self.at / WORD;
        let chunks = bytes.chunks_exact(WORD);
        let tail = chunks.remainder();
        let whole = chunks.len();
        for (word, chunk) in self.words[first..first + whole].iter().zip(chunks) {
            let value =
                i64::from_le_bytes(chunk.try_into().expect("chunks_exact gives 8 bytes"));
            word.store(value, Ordering::Relaxed);
        }
        self.at += whole * WORD;
        self.partial = [0; WORD];
        self.partial[..tail.len()].copy_from_slice(tail);
        self.at += tail.len();
    }
}

impl std::io::Write for BlockWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.put(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Stores `bytes` into the words of `memory` from word `start` on, eight bytes per relaxed
/// atomic store; the last word is padded with zeros.
pub(super) fn copy_in(memory: &Array, start: usize, bytes: &[u8]) {
    let words = &memory.atomics()[start..start + bytes.len().div_ceil(WORD)];
    let chunks = bytes.chunks_exact(WORD);
    let tail = chunks.remainder();
    for (word, chunk) in words.iter().zip(chunks) {
        let value =
            i64::from_le_bytes(chunk.try_into().expect("chunks_exact gives 8 bytes"));
        word.store(value, Ordering::Relaxed);
    }
    if !tail.is_empty() {
        let mut last = [0u8; WORD];
        last[..tail.len()].copy_from_slice(tail);
        let word = words.last().expect("a tail needs a word");
        word.store(i64::from_le_bytes(last), Ordering::Relaxed);
    }
}

/// Loads `len` bytes from the words of `memory` from word `start` on into `out`, replacing its
/// contents. `out`'s allocation is reused, and so are its bytes: only a buffer that grows is
/// zeroed (where it grows), before it is overwritten.
pub(super) fn copy_out(memory: &Array, start: usize, len: usize, out: &mut Vec<u8>) {
    let padded = len.next_multiple_of(WORD);
    // `resize` zeroes only the bytes beyond the old length; a buffer that held a message this
    // long before is only overwritten.
    out.resize(padded, 0);
    let words = &memory.atomics()[start..start + padded / WORD];
    for (chunk, word) in out.chunks_exact_mut(WORD).zip(words) {
        chunk.copy_from_slice(&word.load(Ordering::Relaxed).to_le_bytes());
    }
    out.truncate(len);
}

/// Shared memory is a file (a memfd), so a file-size limit (`ulimit -f`) applies to it, and
/// growing a file past that limit sends `SIGXFSZ`, which kills the process unless it is ignored.
/// Checking first turns that into an error.
fn below_file_size_limit(bytes: usize) -> Result<(), String> {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Fsize).current;
    match limit {
        Some(limit) if bytes as u64 > limit => Err(format!(
            "{bytes} bytes of shared memory would exceed the file-size limit of {limit} bytes \
             (ulimit -f)"
        )),
        _ => Ok(()),
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    crate::error::panic_text(payload)
        .unwrap_or_else(|| "ipc-channel could not create shared memory".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_carries_bytes_of_every_length_and_takes_turns() {
        let block = Block::new(40).expect("a block");
        assert_eq!(block.capacity(), 40);
        let mut out = Vec::new();
        for len in [0, 1, 7, 8, 9, 39, 40] {
            let bytes: Vec<u8> = (0..len as u8).map(|b| b.wrapping_mul(31)).collect();
            assert!(block.is_free());
            block.fill(&bytes);
            assert!(!block.is_free(), "a filled block is not free");
            block.drain(len, &mut out).expect("drain");
            assert_eq!(out, bytes, "{len} bytes");
        }
    }

    #[test]
    fn a_block_writer_writes_pieces_of_every_length_and_spills_what_does_not_fit() {
        use std::io::Write;
        let block = Block::new(64).expect("a block");
        let expected: Vec<u8> = (0..100u8).collect();
        let mut out = Vec::new();
        for pieces in [
            &[1, 2, 3, 10, 20][..],
            &[8, 8, 8],
            &[0, 64],
            &[63, 1, 36],
            &[100],
        ] {
            let mut spill = Vec::new();
            let mut writer = block.writer(&mut spill);
            let mut at = 0;
            for &len in pieces {
                writer.write_all(&expected[at..at + len]).expect("write");
                at += len;
            }
            let (in_block, spilled) = writer.finish();
            assert_eq!(spilled, at > 64, "{pieces:?}");
            block.seal();
            block.drain(in_block, &mut out).expect("drain");
            out.extend_from_slice(&spill);
            assert_eq!(out, expected[..at], "{pieces:?}");
        }
    }

    #[test]
    fn draining_a_free_block_or_too_much_is_refused() {
        let block = Block::new(16).expect("a block");
        let mut out = vec![9];
        let error = block.drain(8, &mut out).unwrap_err();
        assert!(error.contains("holds no message"), "{error}");
        block.fill(&[1, 2, 3]);
        let error = block.drain(17, &mut out).unwrap_err();
        assert!(error.contains("17 bytes"), "{error}");
        assert!(!block.is_free(), "a refused drain leaves the block full");
        assert_eq!(out, vec![9], "a refused drain leaves the output alone");
    }

    #[test]
    fn shared_memory_that_cannot_exist_is_an_error_not_a_crash() {
        // 2^60 bytes: no machine maps that, so ipc-channel fails (and panics) inside; the block
        // reports it as an error.
        let error = Block::new(1 << 60).err().expect("no such block");
        assert!(!error.is_empty());
    }
}
