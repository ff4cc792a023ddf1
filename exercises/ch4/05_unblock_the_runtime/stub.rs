//! # Exercise 4.5: call a blocking function without stalling the runtime
//!
//! [`lookup_all`] is given a blocking function (think of a database client with no async API, or
//! a long computation) and must call it once per key and return the answers in the order of the
//! keys. This version calls it straight from the `async fn`, so while it blocks, the thread that
//! runs the tasks runs nothing else: every other task of the program stalls. In asyncio it is the
//! same mistake as calling `time.sleep` or `requests.get` inside a coroutine, and the fix has the
//! same shape as `await loop.run_in_executor(None, lookup, key)`.
//!
//! The check runs [`lookup_all`] on a runtime with one thread beside a heartbeat task, and its
//! `lookup` waits until it sees the heartbeat go on while it blocks. Fix [`lookup_all`] so that it
//! does, keeping the signature.
//!
//! Check your work with `cargo run -p exercises -- check ch4/05`; stuck?
//! `cargo run -p exercises -- hint ch4/05`.

/// Calls `lookup` once for each key, without blocking the async runtime's thread, and returns the
/// answers in the order of `keys`.
pub async fn lookup_all(keys: Vec<u64>, lookup: fn(u64) -> u64) -> Vec<u64> {
    // Blocks the runtime's thread for as long as each lookup takes.
    keys.into_iter().map(lookup).collect()
}
