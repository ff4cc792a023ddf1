//! # Listing 2.17: a crawler on a process pool (the articles' `Pool(5).map(crawl, urls)`)
//!
//! Five worker processes fetch the URLs with `reqwest::blocking`; `map` hands back one outcome
//! per URL, in input order. Each way a fetch can fail (not a URL, refused, an error status, a
//! timeout) is an `Err` for that URL alone, and the exit code says whether any failed. The pool's
//! *initializer* (Python's `Pool(initializer=...)`) builds each worker's client once, so a
//! worker reuses its connections from one URL to the next.
//!
//! ```text
//! cargo run -p multiprocessing --example 17_crawler
//! cargo run --release -p multiprocessing --example 17_crawler -- --pages 200 --only-pages
//! cargo run -p multiprocessing --example 17_crawler -- http://127.0.0.1:8000/page/1 not-a-url
//! ```
//!
//! With no URLs it crawls ten pages of the local test site (50 ms each) and four that fail: a 404,
//! `/hang` (it times out after `--timeout`, holding its worker that long), a port where nothing
//! listens, and `not-a-url`: a line per URL, a summary, exit code 1. With `--only-pages` the
//! summary shows the time beside the ideal (pages ÷ workers × 50 ms).
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! expect: ^200 +\d+ bytes +http://127\.0\.0\.1:\d+/page/1$
//! expect: ^failed +http://127\.0\.0\.1:\d+/status/404: .*404
//! expect: ^failed +http://127\.0\.0\.1:\d+/hang: .*timed out
//! expect: ^failed +http://127\.0\.0\.1:\d+/: .*connect
//! expect: ^failed +not-a-url: .*
//! expect: ^10 of 14 fetched, 4 failed, in \d+\.\d+ s \(/hang takes the whole 1\.0 s timeout\)$
//! test-exit: 1
//! ```

use std::net::TcpListener;
use std::process::ExitCode;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Parser;
use multiprocessing::pool::Pool;
use reqwest::blocking::Client;
use testbed::Site;

#[derive(Parser)]
#[command(
    about = "Fetch URLs with a pool of worker processes, one line per URL"
)]
struct Args {
    /// The URLs to fetch. None: pages of the local test site, and four that fail.
    urls: Vec<String>,
    /// How many worker processes (Python's Pool(5)).
    #[arg(long, default_value_t = 5)]
    workers: usize,
    /// With no URLs: how many pages of the local site to fetch.
    #[arg(long, default_value_t = 10)]
    pages: u64,
    /// With no URLs: fetch only the pages, without the four that fail (for timing it).
    #[arg(long)]
    only_pages: bool,
    /// Seconds a request may take before it counts as failed.
    #[arg(long, default_value_t = 1.0)]
    timeout: f64,
}

// ANCHOR: worker
/// Each worker's client, built once by the initializer when the worker starts.
static CLIENT: OnceLock<Client> = OnceLock::new();

fn make_client(timeout: Duration) {
    let client = Client::builder().timeout(timeout).build();
    CLIENT.get_or_init(|| client.expect("a TLS backend and a resolver"));
}

/// Runs in a worker: the status and length of the page, or why there is none.
fn crawl(url: String) -> Result<(u16, usize), String> {
    let client = CLIENT.get().ok_or("the initializer did not run")?;
    let fetch = || -> reqwest::Result<(u16, usize)> {
        let response = client.get(&url).send()?.error_for_status()?;
        let status = response.status().as_u16();
        Ok((status, response.bytes()?.len()))
    };
    fetch().map_err(|error| format!("{:#}", anyhow::Error::from(error)))
}
// ANCHOR_END: worker

fn main() -> Result<ExitCode> {
    multiprocessing::init();
    let args = Args::parse();
    let timeout = Duration::from_secs_f64(args.timeout);
    let site = args.urls.is_empty().then(Site::start).transpose()?;
    let urls = match &site {
        Some(site) => local_urls(site, args.pages, !args.only_pages)?,
        None => args.urls.clone(),
    };
    // ANCHOR: map
    let pool = Pool::builder()
        .workers(args.workers)
        .initializer(make_client, timeout)
        .build()?;
    let started = Instant::now();
    let outcomes = pool.map(crawl, urls.clone())?;
    // ANCHOR_END: map
    let elapsed = started.elapsed().as_secs_f64();
    let mut failed = 0;
    for (url, outcome) in urls.iter().zip(outcomes) {
        // The outer `Result` is the pool's (a panic, a dead worker), the inner the fetch's.
        match outcome.map_err(|e| e.to_string()).and_then(|fetched| fetched) {
            Ok((status, bytes)) => println!("{status} {bytes:>8} bytes  {url}"),
            Err(why) => {
                failed += 1;
                println!("failed  {url}: {why}");
            }
        }
    }
    let n = urls.len();
    print!("{} of {n} fetched, {failed} failed, in {elapsed:.2} s", n - failed);
    match &site {
        Some(_) if args.only_pages => {
            // pages ÷ workers rounds, each of one page's latency
            let rounds = args.pages.div_ceil(args.workers.max(1) as u64) as f64;
            let latency = testbed::SiteConfig::default().page_latency;
            println!(" (ideal {:.2} s)", rounds * latency.as_secs_f64());
        }
        Some(_) => {
            println!(" (/hang takes the whole {:.1} s timeout)", args.timeout)
        }
        None => println!(),
    }
    drop(pool); // joins the workers before the exit code is returned
    Ok(if failed > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// The local site's pages, then (with `failing`) four URLs that fail, one way each.
fn local_urls(site: &Site, pages: u64, failing: bool) -> Result<Vec<String>> {
    let mut urls: Vec<String> = (1..=pages).map(|n| site.page_url(n)).collect();
    if !failing {
        return Ok(urls);
    }
    urls.push(format!("{}/status/404", site.url()));
    urls.push(format!("{}/hang", site.url()));
    urls.push(format!("http://{}/", refused_addr()?));
    urls.push("not-a-url".to_owned());
    Ok(urls)
}

/// An address where nothing listens: bind a free port, then let it go.
fn refused_addr() -> Result<std::net::SocketAddr> {
    let free =
        TcpListener::bind("127.0.0.1:0").context("binding a free port")?;
    Ok(free.local_addr()?)
}
