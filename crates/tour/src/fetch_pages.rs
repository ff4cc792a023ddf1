//! The first live scenario: fetch many pages from the local site with a bound on requests in
//! flight, and compare the elapsed time with the ideal.
//!
//! With `pages` pages, at most `limit` in flight, and a site that takes `latency` to answer each
//! one, no schedule can beat `ceil(pages / limit) × latency`: that is the ideal the tour prints.
//! The site counts the requests it is serving at once, so the scenario can also show that the
//! limit was reached and never exceeded, and the connections it accepted, to show that one
//! client reuses its connections.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use coroutines::fetch::{self, FetchError, Page};
use indicatif::ProgressBar;
use testbed::Site;

/// The tour's settings: 200 pages, at most 50 in flight (the site's default latency is 50 ms).
pub const PAGES: u64 = 200;
/// At most this many requests in flight.
pub const LIMIT: usize = 50;

/// What one run measured.
#[derive(Debug, Clone)]
pub struct Report {
    /// Pages fetched successfully.
    pub fetched: usize,
    /// Bytes of page text received.
    pub bytes: usize,
    /// The failures, one line each.
    pub errors: Vec<String>,
    /// Wall-clock time of the whole fetch.
    pub elapsed: Duration,
    /// `ceil(pages / limit) × latency`.
    pub ideal: Duration,
    /// The most requests the site was serving at once during the run.
    pub peak_in_flight: u64,
    /// Requests the site served during the run.
    pub served: u64,
    /// TCP connections the site accepted during the run.
    pub connections: u64,
}

/// The best possible time for `pages` pages at `limit` in flight when each takes `latency`.
pub fn ideal(pages: u64, limit: usize, latency: Duration) -> Duration {
    let waves = pages.div_ceil(limit.max(1) as u64);
    latency * u32::try_from(waves).unwrap_or(u32::MAX)
}

/// Fetches pages `0..pages` from `site` with at most `limit` in flight, advancing `progress`
/// once per page, on a tokio runtime of its own.
pub fn run(
    site: &Site,
    pages: u64,
    limit: usize,
    latency: Duration,
    progress: &ProgressBar,
) -> anyhow::Result<Report> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start a tokio runtime")?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .context("could not build the HTTP client")?;
    let urls: Vec<String> = (0..pages).map(|n| site.page_url(n)).collect();

    site.reset_stats();
    let started = Instant::now();
    let results = runtime.block_on(fetch::fetch_all(&client, urls, limit, |_| progress.inc(1)));
    let elapsed = started.elapsed();
    progress.finish();
    let stats = site.stats();

    Ok(summarize(
        &results,
        elapsed,
        ideal(pages, limit, latency),
        stats,
    ))
}

fn summarize(
    results: &[Result<Page, FetchError>],
    elapsed: Duration,
    ideal: Duration,
    stats: testbed::Stats,
) -> Report {
    let pages: Vec<&Page> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    Report {
        fetched: pages.len(),
        bytes: pages.iter().map(|page| page.body.len()).sum(),
        errors: results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .map(ToString::to_string)
            .collect(),
        elapsed,
        ideal,
        peak_in_flight: stats.peak_in_flight,
        served: stats.served,
        connections: stats.connections,
    }
}
