//! Fetching many pages concurrently, with a limit on how many are in flight.
//!
//! Python's usual shape (the articles' listing B3) is `asyncio.gather(*(fetch(url) for url in
//! urls))` with a new `aiohttp.ClientSession` per URL. Two things go wrong at scale: every request
//! opens a new connection (no reuse), and nothing limits how many requests run at once, so a list of
//! 10 000 URLs opens 10 000 sockets together. This module fixes both:
//!
//! - **one [`reqwest::Client`] for every request.** A client owns a connection pool; cloning it is
//!   cheap (an `Arc` inside), and requests to the same host reuse idle connections.
//! - **a bound on requests in flight.** [`fetch_all`] turns the URLs into a stream of futures and
//!   drives at most `limit` of them at a time with
//!   [`buffer_unordered`](futures::StreamExt::buffer_unordered): when one finishes, the next starts.
//!   Nothing is spawned, so there is nothing to cancel or leak: dropping the returned future stops
//!   every request it started.
//!
//! Results come back in the order of the input, each one a `Result`: one failed page does not
//! hide the others. [`fetch_stream`] is the same bounded fetch without the reordering: it yields
//! each result as soon as it is known, with the index of its URL, which is what a progress bar or
//! a crawler that acts on each page wants (Python's `asyncio.as_completed`).
//!
//! # Timeouts
//!
//! A timeout belongs to each request, not to the whole batch: [`client`] builds a client whose
//! every request gives up after `timeout` (from sending the request to the end of its body), so
//! one page that never answers costs its own slot for `timeout` and the rest go on. (Python's
//! aiohttp has `ClientTimeout(total=...)` for the same job; `asyncio.wait_for` around the whole
//! `gather` would instead throw away the pages that did arrive.)
//!
//! # Connections
//!
//! A `reqwest::Client` keeps idle connections alive and hands them to the next request to the
//! same host, so a batch opens about as many connections as it has requests in flight, not one
//! per URL. The test site counts the connections it accepts; `tests/fetch.rs` shows 200 requests
//! at a limit of 50 through one client opening at most a few more than 50, and a client per URL
//! (the articles' listing) opening 200.

use std::fmt;
use std::time::Duration;

use futures::stream::{self, Stream, StreamExt};

/// A page that was fetched successfully.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The URL that was requested.
    pub url: String,
    /// The page's body, decoded as text.
    pub body: String,
}

/// Why a page could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The request never got a response: a bad URL, a refused connection, a timeout, a connection
    /// that closed mid-body.
    #[error("{url}: {source}")]
    Transport {
        /// The URL that was requested.
        url: String,
        /// What reqwest reported.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with an error status (4xx or 5xx).
    #[error("{url}: the server answered {status}")]
    Status {
        /// The URL that was requested.
        url: String,
        /// The status the server sent.
        status: reqwest::StatusCode,
    },
}

/// What kind of failure a [`FetchError`] is, for summaries such as "3 timed out, 1 refused".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FailureKind {
    /// The URL could not be parsed or has no host (`reqwest` refused to build the request).
    BadUrl,
    /// No connection could be made: refused, unreachable, a name that does not resolve.
    Connect,
    /// The request's timeout passed before the whole body had arrived.
    Timeout,
    /// The server answered with an error status.
    Status,
    /// Anything else on the way: a connection closed mid-body, a body that is not text.
    Other,
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FailureKind::BadUrl => "bad URL",
            FailureKind::Connect => "connection failed",
            FailureKind::Timeout => "timed out",
            FailureKind::Status => "error status",
            FailureKind::Other => "other",
        })
    }
}

impl FetchError {
    /// The URL this error is about.
    pub fn url(&self) -> &str {
        match self {
            FetchError::Transport { url, .. } | FetchError::Status { url, .. } => url,
        }
    }

    /// Which kind of failure this is.
    pub fn kind(&self) -> FailureKind {
        match self {
            FetchError::Status { .. } => FailureKind::Status,
            // Order matters: a timeout while connecting is both; call it a timeout.
            FetchError::Transport { source, .. } if source.is_timeout() => {
                FailureKind::Timeout
            }
            FetchError::Transport { source, .. } if source.is_builder() => {
                FailureKind::BadUrl
            }
            FetchError::Transport { source, .. } if source.is_connect() => {
                FailureKind::Connect
            }
            FetchError::Transport { .. } => FailureKind::Other,
        }
    }
}

/// A client whose every request gives up after `timeout` (see the module docs). Share it: clone
/// it into every task that fetches (a clone shares the connection pool).
///
/// Errors: only if the TLS backend cannot be initialised.
pub fn client(timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder().timeout(timeout).build()
}

/// Fetches one page and returns its body as text.
///
/// An error status (404, 500, …) is an error here, not a page: `reqwest` itself treats any
/// response as a success, which is rarely what a crawler wants.
pub async fn fetch_page(client: &reqwest::Client, url: &str) -> Result<Page, FetchError> {
    let transport = |source| FetchError::Transport {
        url: url.to_owned(),
        source,
    };
    let response = client.get(url).send().await.map_err(transport)?;
    let status = response.status();
    if status.is_client_error() || status.is_server_error() {
        return Err(FetchError::Status {
            url: url.to_owned(),
            status,
        });
    }
    let body = response.text().await.map_err(transport)?;
    Ok(Page {
        url: url.to_owned(),
        body,
    })
}

/// Fetches every URL with at most `limit` requests in flight, and yields each result as soon as it
/// is known, with the index of its URL in `urls`. Every URL is yielded exactly once.
///
/// The stream is lazy, like every future: nothing is requested until it is polled, and dropping
/// it cancels the requests in flight. A `limit` of 0 is treated as 1.
pub fn fetch_stream<'a>(
    client: &'a reqwest::Client,
    urls: Vec<String>,
    limit: usize,
) -> impl Stream<Item = (usize, Result<Page, FetchError>)> + 'a {
    // ANCHOR: bounded
    stream::iter(urls.into_iter().enumerate())
        .map(move |(index, url)| async move { (index, fetch_page(client, &url).await) })
        .buffer_unordered(limit.max(1))
    // ANCHOR_END: bounded
}

/// Fetches every URL with at most `limit` requests in flight, and returns the results in the
/// order of `urls`.
///
/// `on_done` is called once per URL as soon as its result is known (in completion order), which
/// is where a progress bar advances. A `limit` of 0 is treated as 1.
pub async fn fetch_all<F>(
    client: &reqwest::Client,
    urls: Vec<String>,
    limit: usize,
    mut on_done: F,
) -> Vec<Result<Page, FetchError>>
where
    F: FnMut(&Result<Page, FetchError>),
{
    let mut results: Vec<Option<Result<Page, FetchError>>> =
        urls.iter().map(|_| None).collect();
    // ANCHOR: in_order
    let mut in_completion_order = std::pin::pin!(fetch_stream(client, urls, limit));
    while let Some((index, result)) = in_completion_order.next().await {
        on_done(&result);
        results[index] = Some(result);
    }
    // ANCHOR_END: in_order
    results
        .into_iter()
        .map(|slot| slot.expect("fetch_stream yields every URL exactly once"))
        .collect()
}
