//! The one-file lesson: a lock the kernel keeps, on a file, with `flock(2)`.
//!
//! Every process opens the same path and asks the kernel for an exclusive lock on it. The kernel
//! keeps the lock with the *open file*, so when the holder closes the file or dies (however it
//! dies), the kernel drops the lock and the next waiter gets it. No broker, no thread, no
//! protocol: this is the simplest cross-process lock that survives a killed holder, and the one
//! to reach for when a lock is all you need (a "one instance at a time" lock file, a cron job).
//!
//! What it cannot do: time out (`flock` blocks without a deadline; [`FileLock::try_lock`] does
//! not block at all), tell the next holder that the previous one died, or be a semaphore, event
//! or barrier. Locks are per *open file*, so two `FileLock`s on one path exclude each other even
//! inside one process; a thread needs `&mut FileLock` to lock, so one `FileLock` cannot be
//! locked twice. `flock` is advisory: it excludes only processes that also take it. On network
//! file systems it may not work at all. Unix only.
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use rustix::fs::{FlockOperation, flock};

// ANCHOR: file_lock
/// An exclusive lock on a file, released by the kernel when the holder closes it or dies.
#[derive(Debug)]
pub struct FileLock {
    file: File,
    path: PathBuf,
}

impl FileLock {
    /// Opens (creating if needed) the lock file at `path`. Every process that shares the
    /// lock opens the same path.
    pub fn open(path: impl AsRef<Path>) -> io::Result<FileLock> {
        let path = path.as_ref().to_path_buf();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        Ok(FileLock { file, path })
    }

    /// Waits (with no deadline) until the lock is free and takes it.
    pub fn lock(&mut self) -> io::Result<FileLockGuard<'_>> {
        flock(&self.file, FlockOperation::LockExclusive)?;
        Ok(FileLockGuard { lock: self })
    }

    /// Takes the lock if it is free right now; `Ok(None)` if another open file holds it.
    pub fn try_lock(&mut self) -> io::Result<Option<FileLockGuard<'_>>> {
        match flock(&self.file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(Some(FileLockGuard { lock: self })),
            Err(rustix::io::Errno::WOULDBLOCK) => Ok(None),
            Err(errno) => Err(errno.into()),
        }
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Holds a [`FileLock`] until dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
#[derive(Debug)]
pub struct FileLockGuard<'a> {
    lock: &'a mut FileLock,
}

impl Drop for FileLockGuard<'_> {
    fn drop(&mut self) {
        // Unlocking an open file we hold cannot fail in a way we could act on; closing
        // the file (or dying) would release it anyway.
        let _ = flock(&self.lock.file, FlockOperation::Unlock);
    }
}
// ANCHOR_END: file_lock
