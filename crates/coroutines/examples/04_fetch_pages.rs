//! # Listing 4.4: fetch three pages concurrently, each URL with its length
//!
//! The articles' listing B3: an async `fetch_page` GETs a page and returns its text, and `main`
//! gathers three of them. While one request waits for its response, the runtime drives the
//! others: the three take about as long as the slowest, not the sum. Unlike the articles, the
//! three share one `reqwest::Client` (one connection pool), made once in `main`.
//!
//! Run it (no arguments: three pages of a local test site, each answering after 50 ms; or give
//! URLs):
//!
//! ```text
//! cargo run -p coroutines --example 04_fetch_pages
//! cargo run -p coroutines --example 04_fetch_pages -- https://example.com https://www.rust-lang.org
//! ```
//!
//! What to expect: one line per URL, in the order given, with the page's length in bytes (or
//! the error), then the total time: about one page's latency, not three.
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! expect: ^http://127\.0\.0\.1:\d+/page/0: 10240 bytes$
//! expect: ^http://127\.0\.0\.1:\d+/page/2: 10240 bytes$
//! expect: ^3 pages in \d+\.\d\d s$
//! ```

use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use coroutines::fetch::{self, FetchError, Page};
use futures::future::join_all;

/// Fetch a few pages concurrently and print each URL with its length.
#[derive(Parser)]
struct Args {
    /// The URLs to fetch (default: three pages of a local test site).
    urls: Vec<String>,
}

// ANCHOR: fetch
async fn fetch_page(
    client: &reqwest::Client,
    url: &str,
) -> Result<Page, FetchError> {
    fetch::fetch_page(client, url).await // GET, check the status, read the text
}

async fn fetch_three(urls: &[String]) -> anyhow::Result<()> {
    let client = fetch::client(Duration::from_secs(10))?;
    let started = Instant::now();
    let fetches = urls.iter().map(|url| fetch_page(&client, url));
    let results = join_all(fetches).await; // asyncio.gather(*fetches)
    for (url, result) in urls.iter().zip(results) {
        match result {
            Ok(page) => println!("{url}: {} bytes", page.body.len()),
            Err(error) => println!("{url}: failed: {error}"),
        }
    }
    let s = started.elapsed().as_secs_f64();
    println!("{} pages in {s:.2} s", urls.len());
    Ok(())
}
// ANCHOR_END: fetch

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let site; // lives until the end of main when it is started
    let urls = if args.urls.is_empty() {
        site = testbed::Site::start().context("starting the local site")?;
        (0..3).map(|n| site.page_url(n)).collect()
    } else {
        args.urls
    };
    fetch_three(&urls).await
}
