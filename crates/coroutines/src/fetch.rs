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
//! hide the others.

use futures::StreamExt;
use futures::stream;

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
    let count = urls.len();
    let mut results: Vec<Option<Result<Page, FetchError>>> =
        (0..count).map(|_| None).collect();
    // ANCHOR: bounded
    let mut in_completion_order = stream::iter(urls.into_iter().enumerate())
        .map(|(index, url)| async move { (index, fetch_page(client, &url).await) })
        .buffer_unordered(limit.max(1));
    while let Some((index, result)) = in_completion_order.next().await {
        on_done(&result);
        results[index] = Some(result);
    }
    // ANCHOR_END: bounded
    results
        .into_iter()
        .map(|slot| slot.expect("buffer_unordered yields every future exactly once"))
        .collect()
}
