//! # Listing 4.5: fetch many pages, at most N in flight, with a progress bar and a summary
//!
//! The articles' fetcher grown up: one shared client (its connections are reused), at most
//! `--limit` requests in flight, a timeout per request, a bar that advances as each result
//! arrives (`fetch_stream` yields in completion order), and a summary: pages fetched, failures
//! by kind, time, pages per second. The exit code is 1 when any page failed.
//!
//! `--client-per-url` does what the articles do, a new client (a new session) per URL; against
//! the local site the summary then shows one connection per page instead of about one per
//! request in flight.
//!
//! Run it (no arguments: 200 pages of a local site, 50 ms each, 50 in flight; the ideal is
//! 4 rounds of 50 ms = 0.2 s). Give URLs, or `--file` with one URL per line, to fetch those:
//!
//! ```text
//! cargo run --release -p coroutines --example 05_batch_fetch
//! cargo run --release -p coroutines --example 05_batch_fetch -- --client-per-url
//! cargo run -p coroutines --example 05_batch_fetch -- --limit 8 --file urls.txt
//! ```
//!
//! What to expect: a bar (on a terminal), then the summary; the time varies from run to run.
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! expect: ^fetched 200 of 200 pages in \d+\.\d{3} s \(\d+ pages/s\), 50 in flight$
//! expect: ^the site accepted \d+ connections for 200 requests$
//! ```

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Parser;
use coroutines::fetch::{self, FailureKind, FetchError, Page};
use futures::StreamExt;
use indicatif::ProgressBar;

/// Fetch many URLs with a bound on requests in flight.
#[derive(Parser)]
struct Args {
    /// The URLs to fetch (default: pages of a local test site).
    urls: Vec<String>,
    /// A file of URLs, one per line (blank lines and `#` lines are skipped).
    #[arg(long)]
    file: Option<std::path::PathBuf>,
    /// At most this many requests in flight.
    #[arg(long, default_value_t = 50)]
    limit: usize,
    /// Seconds each request may take, body included.
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
    /// Local site only: how many pages.
    #[arg(long, default_value_t = 200)]
    pages: u64,
    /// A new client for every URL (no connection reuse), as the articles do.
    #[arg(long)]
    client_per_url: bool,
}

// ANCHOR: batch
async fn fetch_with_bar(
    args: &Args,
    client: &reqwest::Client,
    urls: Vec<String>,
) -> Result<Vec<FetchError>> {
    let bar = ProgressBar::new(urls.len() as u64);
    let mut failures = Vec::new();
    let mut record = |result: Result<Page, FetchError>| {
        bar.inc(1);
        failures.extend(result.err());
    };
    if args.client_per_url {
        let per_url = futures::stream::iter(urls).map(|url| async move {
            let client = fetch::client(Duration::from_secs_f64(args.timeout))?;
            Ok::<_, anyhow::Error>(fetch::fetch_page(&client, &url).await)
        });
        let mut results = per_url.buffer_unordered(args.limit.max(1));
        while let Some(result) = results.next().await {
            record(result?);
        }
    } else {
        let mut results =
            std::pin::pin!(fetch::fetch_stream(client, urls, args.limit));
        while let Some((_index, result)) = results.next().await {
            record(result);
        }
    }
    bar.finish_and_clear();
    Ok(failures)
}
// ANCHOR_END: batch

fn read_urls(args: &Args) -> Result<Vec<String>> {
    let mut urls = args.urls.clone();
    if let Some(path) = &args.file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading {}", path.display()))?;
        let lines = text.lines().map(str::trim);
        urls.extend(
            lines
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(String::from),
        );
    }
    Ok(urls)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.timeout > 0.0,
        "--timeout must be more than 0 seconds"
    );
    let mut urls = read_urls(&args)?;
    let site = urls.is_empty().then(testbed::Site::start).transpose()?;
    if let Some(site) = &site {
        urls = (0..args.pages).map(|n| site.page_url(n)).collect();
    }
    let count = urls.len();
    // Made before the clock starts: building a client (its TLS setup) is paid once per program.
    let client = fetch::client(Duration::from_secs_f64(args.timeout))?;
    let started = Instant::now();
    let failures = fetch_with_bar(&args, &client, urls).await?;
    let s = started.elapsed().as_secs_f64();
    let ok = count - failures.len();
    let rate = (ok as f64 / s).round();
    println!(
        "fetched {ok} of {count} pages in {s:.3} s ({rate} pages/s), {} in flight",
        args.limit
    );
    if let Some(site) = &site {
        let connections = site.stats().connections;
        println!(
            "the site accepted {connections} connections for {count} requests"
        );
    }
    let mut by_kind: BTreeMap<FailureKind, usize> = BTreeMap::new();
    for failure in &failures {
        *by_kind.entry(failure.kind()).or_default() += 1;
        eprintln!("failed: {failure}");
    }
    for (kind, n) in &by_kind {
        println!("failed ({kind}): {n}");
    }
    std::process::exit(if failures.is_empty() { 0 } else { 1 });
}
