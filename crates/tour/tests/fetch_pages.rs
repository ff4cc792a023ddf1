//! The tour's live demo, checked: the 200-page fetch gets every page right, and the site's
//! peak-concurrency counter reads exactly the limit (50): reached, never exceeded.
//!
//! No timing is asserted here (shared machines are noisy); the tour prints the time against the
//! ideal instead.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use indicatif::ProgressBar;
use testbed::{Site, SiteConfig, page_body};
use tour::fetch_pages;

/// Runs `f` on a thread and fails the test if it has not finished by `deadline`.
fn with_deadline<T: Send + 'static>(
    what: &str,
    deadline: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (done, result) = mpsc::channel();
    thread::spawn(move || {
        let _ = done.send(f());
    });
    result
        .recv_timeout(deadline)
        .unwrap_or_else(|_| panic!("timed out after {deadline:?} waiting for {what}"))
}

#[test]
fn the_demo_fetch_reaches_the_limit_and_never_exceeds_it() {
    let report = with_deadline("the 200-page fetch", Duration::from_secs(60), || {
        let site = Site::start().expect("start the local site");
        let latency = SiteConfig::default().page_latency;
        fetch_pages::run(
            &site,
            fetch_pages::PAGES,
            fetch_pages::LIMIT,
            latency,
            &ProgressBar::hidden(),
        )
        .expect("the fetch runs")
    });
    assert!(
        report.errors.is_empty(),
        "failed pages: {:?}",
        report.errors
    );
    assert_eq!(report.fetched, fetch_pages::PAGES as usize);
    assert_eq!(
        report.served,
        fetch_pages::PAGES,
        "requests the site served"
    );
    assert_eq!(
        report.peak_in_flight,
        fetch_pages::LIMIT as u64,
        "the site saw at most {} requests at once; the limit is {}",
        report.peak_in_flight,
        fetch_pages::LIMIT
    );
    // One client: about one connection per request in flight (a few more when a connect races
    // a connection coming back to the pool), far fewer than one per page.
    assert!(
        (1..=60).contains(&report.connections),
        "200 requests through one client opened {} connections",
        report.connections
    );
    let expected_bytes: usize = (0..fetch_pages::PAGES)
        .map(|n| page_body(n, SiteConfig::default().page_size).len())
        .sum();
    assert_eq!(report.bytes, expected_bytes, "page text received");
}

#[test]
fn a_smaller_limit_is_respected_too() {
    let report = with_deadline(
        "a 30-page fetch with 7 in flight",
        Duration::from_secs(60),
        || {
            let site = Site::start().expect("start the local site");
            fetch_pages::run(
                &site,
                30,
                7,
                Duration::from_millis(50),
                &ProgressBar::hidden(),
            )
            .expect("the fetch runs")
        },
    );
    assert!(
        report.errors.is_empty(),
        "failed pages: {:?}",
        report.errors
    );
    assert_eq!(report.fetched, 30);
    assert_eq!(report.peak_in_flight, 7);
}

#[test]
fn the_ideal_is_waves_times_latency() {
    let latency = Duration::from_millis(50);
    assert_eq!(
        fetch_pages::ideal(200, 50, latency),
        Duration::from_millis(200)
    );
    assert_eq!(
        fetch_pages::ideal(201, 50, latency),
        Duration::from_millis(250)
    );
    assert_eq!(
        fetch_pages::ideal(1, 50, latency),
        Duration::from_millis(50)
    );
}
