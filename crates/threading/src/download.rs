//! Download a URL to a file on one thread while other threads watch the progress.
//!
//! This is the articles' "download with a progress indicator" (listing B2), done so that it can be
//! copied into a real program. Three decisions shape it.
//!
//! **Progress is shared through atomics, not a flag in a plain variable.** The downloading thread
//! adds every chunk to an [`AtomicU64`] inside [`Progress`]; any number of other threads read it
//! whenever they like, without a lock and without ever blocking the download. Python's listing
//! shares a plain `download_complete` variable between two threads; Rust refuses to compile that
//! (a `&mut bool` cannot be shared, and a `static mut` needs `unsafe`), because nothing would make
//! the write on one thread visible to the other. The counter uses `Ordering::Relaxed`: it carries no
//! other data, so no ordering with other memory is needed, only a value that is never torn. The
//! *final* value is read after the downloading thread has been joined (or after a channel it held
//! has disconnected), and both are synchronization points: after them, every write the thread made
//! is visible, so the last reading is exact. "Is it finished?" is answered by that join or channel, not
//! by a second flag that could disagree with the counter.
//!
//! **The body is streamed, never held in memory.** [`Downloader::download_to_writer`] copies the
//! response to the destination one chunk at a time ([`CHUNK_BYTES`]), so a 1 GiB file costs a
//! buffer, not a gigabyte. The total comes from `Content-Length` when the server sends one; without
//! it ([`Progress::total`] is `None`) the download still works and a display can only show bytes
//! and rate.
//!
//! **A file is either complete or absent.** [`Downloader::download_to_file`] writes into a temporary
//! file in the target's own directory and renames it over the target only when every byte has
//! arrived and reached the disk (`fsync`; see [`Downloader::sync_before_rename`]). A rename within one file system is atomic: a reader sees
//! the old file or the new one, never half of it. On any error (a 404, a refused connection, a
//! connection cut mid-body, a timeout, a full disk) the temporary file is dropped, which deletes it,
//! and the target is untouched. (If the process is killed outright, no destructor runs; the
//! leftover is a hidden `.NAME.*.part` file beside the target, never a truncated `NAME`.)
//!
//! **Cancelling is a flag, and that is fine here.** [`Progress::cancel`] sets an `AtomicBool` that
//! the copy loop checks before each chunk. Nobody waits for this flag (the loop only glances at it
//! between chunks), so it needs no channel or condition variable; contrast "finished", which the
//! progress display does wait for, and which the listing signals by dropping a channel's sender.
//!
//! # Errors
//!
//! Every failure is a [`DownloadError`] variant that says what went wrong and where, so a caller can
//! react (retry on [`Timeout`](DownloadError::Timeout), give up on a 404) and a person can read it.
//! The message says what failed; the underlying cause (the operating system's "connection
//! refused", "no space left on device") is the error's `source()`, which `anyhow` prints as "Caused
//! by". A body that ends early is always an error: hyper (under reqwest) reports a connection that
//! closes before `Content-Length` bytes, and the copy loop checks the count again itself.
//!
//! # Timeouts
//!
//! [`Downloader::with_timeout`] bounds the wait for the response headers and the wait for *each*
//! chunk of the body (that is how `reqwest::blocking` applies its timeout to reads). It is an idle
//! timeout, not a limit on the whole transfer: a slow but steady download of a large file succeeds,
//! a stalled one fails with [`DownloadError::Timeout`].
//!
//! # Testing a full disk
//!
//! A full disk cannot be produced on demand without privileges (a tiny `tmpfs` needs `mount`), so
//! the tests use Linux's `/dev/full`, whose every write fails with `ENOSPC` ("No space left on
//! device"), the same error a full disk gives. The public path is
//! [`Downloader::download_to_writer`] with `/dev/full` as the writer: a real HTTP body, the real
//! copy loop, the kernel's real error. A unit test at the bottom of this file also sends the writes
//! of [`Downloader::download_to_file`]'s staging code to `/dev/full` and checks that no temporary
//! file survives.
//!
//! In production, reach for the same crates: `reqwest` for HTTP, `tempfile` for the
//! create-then-rename dance, `indicatif` for the bar (see listing `10_download_progress`).

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::Url;
use reqwest::blocking::{Client, Response};
use tempfile::NamedTempFile;

mod error;
pub use error::DownloadError;

/// How long a download may wait for the response headers, or for any one chunk of the body.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The size of the buffer the body is copied through: the most memory one download holds at once
/// (plus the write buffer in front of the file).
pub const CHUNK_BYTES: usize = 64 * 1024;

/// Writes to the file are gathered into blocks of this size, so small network chunks do not each
/// cost a system call.
const WRITE_BUFFER_BYTES: usize = 256 * 1024;

// ANCHOR: progress
/// The progress of one download, readable from any thread while the download runs.
///
/// Share it with `Arc<Progress>` (or borrow it from scoped threads). Use one `Progress`
/// per download: the total is recorded once, when the response headers arrive.
#[derive(Debug, Default)]
pub struct Progress {
    received: AtomicU64,
    /// Set by [`Progress::cancel`] from any thread; the download checks it between
    /// chunks.
    cancelled: AtomicBool,
    /// Set once, when the headers arrive: `Some(n)` with a `Content-Length`, `None`
    /// without one. Unset (`get()` is `None`) while the request is still waiting for the
    /// headers.
    total: OnceLock<Option<u64>>,
}

impl Progress {
    /// A progress record for a download that has not started.
    pub fn new() -> Progress {
        Progress::default()
    }

    /// Bytes of the body received (and handed to the writer) so far.
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// The body's length from `Content-Length`, once the headers have arrived and if the
    /// server sent one.
    pub fn total(&self) -> Option<u64> {
        self.total.get().copied().flatten()
    }

    /// Whether the response headers have arrived (and so whether [`total`](Self::total)
    /// is final).
    pub fn headers_received(&self) -> bool {
        self.total.get().is_some()
    }

    /// Asks the download to stop (from any thread: a Ctrl-C handler, a "Cancel" button).
    /// It stops before its next chunk with [`DownloadError::Cancelled`] and cleans up
    /// like any failure. A download blocked waiting for data notices when the data or the
    /// timeout arrives.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// Whether [`cancel`](Self::cancel) has been called.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    fn record_total(&self, total: Option<u64>) {
        // A second call would mean one `Progress` shared by two downloads; keep the first
        // total.
        let _ = self.total.set(total);
    }

    fn add(&self, bytes: u64) {
        self.received.fetch_add(bytes, Ordering::Relaxed);
    }
}
// ANCHOR_END: progress

/// What a finished download did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadSummary {
    /// Bytes written to the destination.
    pub bytes: u64,
    /// The `Content-Length` the server announced, if any (equal to `bytes` when present).
    pub total: Option<u64>,
    /// Wall-clock time from the start to the last byte written (for files: through the `fsync` and
    /// the rename).
    pub elapsed: Duration,
}

impl DownloadSummary {
    /// Average throughput in bytes per second.
    pub fn bytes_per_second(&self) -> f64 {
        self.bytes as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// A blocking HTTP downloader: one connection pool, one timeout, many downloads.
///
/// Cloning is cheap (reqwest's client is reference-counted), so one `Downloader` can serve many
/// threads. Do not create or use it inside an async runtime: `reqwest::blocking` runs its own.
#[derive(Debug, Clone)]
pub struct Downloader {
    client: Client,
    timeout: Duration,
    sync_before_rename: bool,
}

impl Downloader {
    /// A downloader with [`DEFAULT_TIMEOUT`].
    pub fn new() -> Result<Downloader, DownloadError> {
        Downloader::with_timeout(DEFAULT_TIMEOUT)
    }

    /// A downloader that gives up when the headers, or any chunk of the body, take longer than
    /// `timeout`.
    pub fn with_timeout(timeout: Duration) -> Result<Downloader, DownloadError> {
        let client = Client::builder()
            .timeout(timeout)
            .build()
            .map_err(DownloadError::Client)?;
        Ok(Downloader {
            client,
            timeout,
            sync_before_rename: true,
        })
    }

    /// Whether [`download_to_file`](Self::download_to_file) waits for the bytes to reach the disk
    /// (`fsync`) before renaming the file into place. On by default: without it, a power cut soon
    /// after the rename can leave the new name on an empty or partial file. Turn it off for
    /// scratch files, or to measure the download without the disk's flush.
    pub fn sync_before_rename(mut self, sync: bool) -> Downloader {
        self.sync_before_rename = sync;
        self
    }

    /// Downloads `url` to the file `target`, atomically: on success `target` holds the whole body;
    /// on any error it is untouched and no temporary file remains.
    ///
    /// The directory of `target` must exist. An existing regular file at `target` is replaced;
    /// anything else there (a directory, a device such as `/dev/null`) is refused with
    /// [`DownloadError::TargetNotAFile`], since the rename would replace it.
    pub fn download_to_file(
        &self,
        url: &str,
        target: &Path,
        progress: &Progress,
    ) -> Result<DownloadSummary, DownloadError> {
        self.download_to_file_via(url, target, progress, File::try_clone)
    }

    // ANCHOR: staging
    /// The body of [`download_to_file`](Self::download_to_file), with a hook that chooses
    /// what the bytes are written through (a handle to the staged file in production;
    /// `/dev/full` in a test).
    fn download_to_file_via<W: Write>(
        &self,
        url: &str,
        target: &Path,
        progress: &Progress,
        writer_for: impl FnOnce(&File) -> io::Result<W>,
    ) -> Result<DownloadSummary, DownloadError> {
        let started = Instant::now();
        refuse_non_file_target(target)?;
        let staged = create_staging_file(target)?;
        let mut writer =
            writer_for(staged.as_file()).map_err(|source| DownloadError::Write {
                path: Some(target.to_path_buf()),
                source,
            })?;
        let mut summary =
            self.download_to_writer_at(url, &mut writer, Some(target), progress)?;
        drop(writer);
        // Make the bytes durable before the rename makes them visible under the real
        // name.
        if self.sync_before_rename {
            staged
                .as_file()
                .sync_all()
                .map_err(|source| DownloadError::Write {
                    path: Some(target.to_path_buf()),
                    source,
                })?;
        }
        staged
            .persist(target)
            .map_err(|error| DownloadError::Persist {
                path: target.to_path_buf(),
                source: error.error,
            })?;
        summary.elapsed = started.elapsed();
        Ok(summary)
    }
    // ANCHOR_END: staging

    /// Downloads `url` into any writer (a file, a socket, a `Vec<u8>`, a hasher), streaming.
    ///
    /// The writer is flushed on success. On error, whatever was already written stays written:
    /// cleaning up is the caller's business (which is what [`download_to_file`](Self::download_to_file)
    /// does for files).
    pub fn download_to_writer<W: Write>(
        &self,
        url: &str,
        writer: W,
        progress: &Progress,
    ) -> Result<DownloadSummary, DownloadError> {
        self.download_to_writer_at(url, writer, None, progress)
    }

    fn download_to_writer_at<W: Write>(
        &self,
        url: &str,
        writer: W,
        destination: Option<&Path>,
        progress: &Progress,
    ) -> Result<DownloadSummary, DownloadError> {
        let started = Instant::now();
        let parsed = parse_url(url)?;
        let response = self.fetch(parsed, url)?;
        let total = response.content_length();
        progress.record_total(total);
        let mut buffered = BufWriter::with_capacity(WRITE_BUFFER_BYTES, writer);
        let bytes =
            copy_body(response, &mut buffered, progress, total).map_err(|failure| {
                failure.into_error(url, destination, total, self.timeout)
            })?;
        buffered.flush().map_err(|source| DownloadError::Write {
            path: destination.map(Path::to_path_buf),
            source,
        })?;
        Ok(DownloadSummary {
            bytes,
            total,
            elapsed: started.elapsed(),
        })
    }

    /// Sends the GET and checks the status: only a 2xx response has a body worth saving.
    fn fetch(&self, parsed: Url, url: &str) -> Result<Response, DownloadError> {
        let response = self.client.get(parsed).send().map_err(|source| {
            if source.is_timeout() {
                DownloadError::Timeout {
                    url: url.to_owned(),
                    timeout: self.timeout,
                    received: 0,
                }
            } else if source.is_connect() {
                DownloadError::Connect {
                    url: url.to_owned(),
                    source,
                }
            } else {
                DownloadError::Request {
                    url: url.to_owned(),
                    source,
                }
            }
        })?;
        let status = response.status();
        if !status.is_success() {
            return Err(DownloadError::Status {
                url: url.to_owned(),
                status,
            });
        }
        Ok(response)
    }
}

/// Why the copy loop stopped early: the two sides fail differently and mean different things.
#[derive(Debug)]
enum CopyFailure {
    /// Reading the body failed, or it ended before the announced length.
    Read { received: u64, source: io::Error },
    /// Writing to the destination failed (a full disk, a closed pipe).
    Write { source: io::Error },
    /// Someone called [`Progress::cancel`].
    Cancelled { received: u64 },
}

impl CopyFailure {
    fn into_error(
        self,
        url: &str,
        destination: Option<&Path>,
        expected: Option<u64>,
        timeout: Duration,
    ) -> DownloadError {
        match self {
            CopyFailure::Write { source } => DownloadError::Write {
                path: destination.map(Path::to_path_buf),
                source,
            },
            CopyFailure::Cancelled { received } => DownloadError::Cancelled {
                url: url.to_owned(),
                received,
            },
            CopyFailure::Read { received, source } if is_timeout(&source) => {
                DownloadError::Timeout {
                    url: url.to_owned(),
                    timeout,
                    received,
                }
            }
            CopyFailure::Read { received, source } => DownloadError::Incomplete {
                url: url.to_owned(),
                received,
                expected,
                source,
            },
        }
    }
}

// ANCHOR: copy_loop
/// Copies `body` to `writer` one chunk at a time, publishing every chunk to `progress`.
///
/// Returns the number of bytes copied. A body that ends (cleanly) before `expected` bytes
/// is a failure too: an HTTP library should already report it, but the count is cheap to
/// check.
fn copy_body<R: Read, W: Write>(
    mut body: R,
    writer: &mut W,
    progress: &Progress,
    expected: Option<u64>,
) -> Result<u64, CopyFailure> {
    let mut buffer = vec![0_u8; CHUNK_BYTES];
    let mut received = 0_u64;
    loop {
        if progress.is_cancelled() {
            return Err(CopyFailure::Cancelled { received });
        }
        let read = match body.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(source) => return Err(CopyFailure::Read { received, source }),
        };
        writer
            .write_all(&buffer[..read])
            .map_err(|source| CopyFailure::Write { source })?;
        received += read as u64;
        progress.add(read as u64);
    }
    match expected {
        Some(expected) if received < expected => Err(CopyFailure::Read {
            received,
            source: io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection before sending Content-Length bytes",
            ),
        }),
        _ => Ok(received),
    }
}
// ANCHOR_END: copy_loop

/// Whether a body-read error is reqwest's timeout (it arrives wrapped in an `io::Error`).
fn is_timeout(error: &io::Error) -> bool {
    if error.kind() == io::ErrorKind::TimedOut {
        return true;
    }
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<reqwest::Error>())
        .is_some_and(reqwest::Error::is_timeout)
}

/// Parses the URL up front, so a typo is a clear [`DownloadError::BadUrl`] rather than a reqwest
/// builder error.
fn parse_url(url: &str) -> Result<Url, DownloadError> {
    let bad = |reason: String| DownloadError::BadUrl {
        url: url.to_owned(),
        reason,
    };
    let parsed = Url::parse(url).map_err(|error| bad(error.to_string()))?;
    match parsed.scheme() {
        "http" | "https" => Ok(parsed),
        other => Err(bad(format!("the scheme is {other:?}, not http or https"))),
    }
}

/// Refuses a target that exists and is not a regular file: renaming over `/dev/null` (as root) or
/// a FIFO would replace it, and renaming over a directory fails only after the whole download.
fn refuse_non_file_target(target: &Path) -> Result<(), DownloadError> {
    match std::fs::metadata(target) {
        Ok(metadata) if !metadata.is_file() => Err(DownloadError::TargetNotAFile {
            path: target.to_path_buf(),
        }),
        _ => Ok(()), // a regular file, or nothing yet (other problems surface when creating)
    }
}

/// Creates the hidden temporary file beside `target`: the same directory means the same file
/// system, which is what makes the final rename atomic.
fn create_staging_file(target: &Path) -> Result<NamedTempFile, DownloadError> {
    let dir = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let name = target
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "download".to_owned());
    tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".part")
        .tempfile_in(dir)
        .map_err(|source| DownloadError::CreateTemp {
            dir: dir.to_path_buf(),
            source,
        })
}

/// Downloads `url` to `target` with a default [`Downloader`]; see
/// [`Downloader::download_to_file`].
pub fn download_to_file(
    url: &str,
    target: &Path,
    progress: &Progress,
) -> Result<DownloadSummary, DownloadError> {
    Downloader::new()?.download_to_file(url, target, progress)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The staging code of `download_to_file`, with its writes sent to `/dev/full`: the kernel's
    /// real `ENOSPC` goes through the real cleanup, and no temporary file may survive it.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_full_disk_while_staging_leaves_no_temporary_file() {
        let site = testbed::Site::start().expect("the local test site starts");
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("full.bin");
        let to_dev_full = |_staged: &File| File::options().write(true).open("/dev/full");

        let error = Downloader::with_timeout(Duration::from_secs(10))
            .unwrap()
            .download_to_file_via(
                &site.file_url(1_000_000),
                &target,
                &Progress::new(),
                to_dev_full,
            )
            .expect_err("writing to /dev/full fails");

        match error {
            DownloadError::Write { path, source } => {
                assert_eq!(path, Some(target));
                assert_eq!(source.kind(), io::ErrorKind::StorageFull, "{source}");
            }
            other => panic!("expected DownloadError::Write, got {other:?}"),
        }
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "left behind: {left:?}");
    }

    #[test]
    fn a_short_clean_body_is_incomplete() {
        let body: &[u8] = b"only ten b";
        let mut sink = Vec::new();
        let progress = Progress::new();
        match copy_body(body, &mut sink, &progress, Some(100)) {
            Err(CopyFailure::Read { received, source }) => {
                assert_eq!(received, 10);
                assert_eq!(source.kind(), io::ErrorKind::UnexpectedEof);
            }
            other => panic!("expected a read failure, got {other:?}"),
        }
        assert_eq!((sink.as_slice(), progress.received()), (body, 10));
    }
}
