//! [`DownloadError`]: one variant per way a download can fail, each saying what and where.
//!
//! The message names the URL and how far the download got; the underlying cause (the operating
//! system's "connection refused", "no space left on device") is the variant's `source()`, which
//! `anyhow` prints as "Caused by". A caller can match on the variant to react (retry a
//! [`Timeout`](DownloadError::Timeout), give up on a [`Status`](DownloadError::Status) 404), and
//! none of them leaves a partial file behind (see the parent module for why).

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::StatusCode;

#[cfg(doc)]
use super::{Downloader, Progress};

/// Everything that can go wrong with a download. None of them leaves a partial file behind.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// The URL does not parse, or is not `http`/`https`.
    #[error("{url:?} is not a usable URL: {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// The HTTP client could not be built (for example, no TLS backend).
    #[error("could not set up the HTTP client")]
    Client(#[source] reqwest::Error),
    /// The connection could not be made: refused, unreachable, or the name does not resolve.
    #[error("could not connect to {url}")]
    Connect {
        /// The URL requested.
        url: String,
        /// reqwest's error, with the operating system's reason inside.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with a status other than 2xx (after following redirects).
    #[error("{url} answered {status}")]
    Status {
        /// The URL requested.
        url: String,
        /// The status it answered with.
        status: StatusCode,
    },
    /// No headers, or no next chunk of the body, within the timeout.
    #[error("{url} sent nothing for {timeout:?} (after {received} bytes of the body)")]
    Timeout {
        /// The URL requested.
        url: String,
        /// The timeout that ran out.
        timeout: Duration,
        /// Bytes of the body received before it stalled.
        received: u64,
    },
    /// [`Progress::cancel`] was called.
    #[error("download of {url} cancelled after {received} bytes")]
    Cancelled {
        /// The URL requested.
        url: String,
        /// Bytes received before the cancellation.
        received: u64,
    },
    /// The request failed in some other way before a response arrived (for example, a protocol
    /// error).
    #[error("request to {url} failed")]
    Request {
        /// The URL requested.
        url: String,
        /// reqwest's error.
        #[source]
        source: reqwest::Error,
    },
    /// The body ended before it was complete: the connection was cut or reset mid-body, or closed
    /// before `Content-Length` bytes arrived.
    #[error("download of {url} broke off after {received} bytes{}", of_expected(*.expected))]
    Incomplete {
        /// The URL requested.
        url: String,
        /// Bytes received before the body broke off.
        received: u64,
        /// The `Content-Length`, if the server sent one.
        expected: Option<u64>,
        /// What the connection reported.
        #[source]
        source: io::Error,
    },
    /// Writing the body failed; a full disk is `source.kind() == ErrorKind::StorageFull`.
    #[error("could not write the download to {}", written_to(.path.as_deref()))]
    Write {
        /// The target file (not the temporary one); `None` for
        /// [`download_to_writer`](Downloader::download_to_writer).
        path: Option<PathBuf>,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// Something other than a regular file exists at the target (a directory, a device).
    #[error("{path} exists and is not a regular file; refusing to replace it")]
    TargetNotAFile {
        /// The target path.
        path: PathBuf,
    },
    /// The temporary file next to the target could not be created (a missing directory, no
    /// permission).
    #[error("could not create a temporary file in {dir}")]
    CreateTemp {
        /// The directory the target is in.
        dir: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The finished temporary file could not be renamed to the target (for example, the target is
    /// a directory).
    #[error("could not move the finished download to {path}")]
    Persist {
        /// The target path.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
}

fn written_to(path: Option<&Path>) -> String {
    match path {
        Some(path) => path.display().to_string(),
        None => "the writer".to_owned(),
    }
}

fn of_expected(expected: Option<u64>) -> String {
    match expected {
        Some(total) => format!(" of {total}"),
        None => String::new(),
    }
}
