//! Tests of `coroutines::fetch` against the local test site: the limit is reached and never
//! exceeded, every kind of failure is reported for its own URL while the others succeed, one
//! client reuses its connections where a client per URL opens one each, and the streaming variant
//! yields every result once.
//!
//! These tests do real I/O on loopback, so they run on the real clock; every wait has a deadline
//! and nothing asserts timing.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::TcpListener;
use std::time::Duration;

use coroutines::fetch::{self, FailureKind, FetchError, Page};
use futures::StreamExt;
use testbed::wait::{DEADLINE, wait_until};
use testbed::{Site, page_body};

/// Awaits `future`, or fails the test naming `what` after the workspace's deadline.
async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(DEADLINE, future)
        .await
        .unwrap_or_else(|_| panic!("timed out after {DEADLINE:?} waiting for {what}"))
}

/// `count` page URLs of `site`, each answering after `latency_ms`.
fn page_urls(site: &Site, count: u64, latency_ms: u64) -> Vec<String> {
    (0..count)
        .map(|n| format!("{}?latency_ms={latency_ms}", site.page_url(n)))
        .collect()
}

fn assert_every_page_arrived(results: &[Result<Page, FetchError>]) {
    for (n, result) in results.iter().enumerate() {
        match result {
            Ok(page) => assert_eq!(page.body, page_body(n as u64, 10 * 1024), "page {n}"),
            Err(error) => panic!("page {n} failed: {error}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limit_is_reached_and_never_exceeded() {
    let site = Site::start().expect("start the site");
    let client = fetch::client(DEADLINE).expect("build the client");
    // 300 ms per page: long enough that all 50 are in flight before the first answers, even on a
    // busy machine; the site's counter says how many it served at once.
    let urls = page_urls(&site, 100, 300);
    let results = within("100 pages", fetch::fetch_all(&client, urls, 50, |_| {})).await;
    assert_every_page_arrived(&results);
    let stats = site.stats();
    assert_eq!(stats.served, 100);
    assert_eq!(
        stats.peak_in_flight, 50,
        "the most requests the site served at once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limit_of_zero_means_one_at_a_time() {
    let site = Site::start().expect("start the site");
    let client = fetch::client(DEADLINE).expect("build the client");
    let results = within(
        "5 pages",
        fetch::fetch_all(&client, page_urls(&site, 5, 20), 0, |_| {}),
    )
    .await;
    assert_every_page_arrived(&results);
    assert_eq!(site.stats().peak_in_flight, 1);
}

/// A port on 127.0.0.1 that nothing listens on: bound, then freed.
fn refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let port = listener.local_addr().expect("its address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_failure_is_reported_for_its_own_url_while_the_others_succeed() {
    let site = Site::start().expect("start the site");
    let timeout = Duration::from_millis(300);
    let client = fetch::client(timeout).expect("build the client");
    let urls = vec![
        site.page_url(0),
        "not a url".to_owned(),
        refused_url(),
        format!("{}/no/such/page", site.url()),
        format!("{}/hang", site.url()),
        site.page_url(1),
    ];
    let mut called = 0;
    let results = within(
        "the mixed batch",
        fetch::fetch_all(&client, urls.clone(), 10, |_| called += 1),
    )
    .await;
    assert_eq!(called, urls.len(), "on_done is called once per URL");
    let kinds: Vec<Option<FailureKind>> = results
        .iter()
        .map(|r| r.as_ref().err().map(FetchError::kind))
        .collect();
    use FailureKind::*;
    assert_eq!(
        kinds,
        [
            None,
            Some(BadUrl),
            Some(Connect),
            Some(Status),
            Some(Timeout),
            None
        ]
    );
    for (url, result) in urls.iter().zip(&results) {
        match result {
            Ok(page) => assert_eq!(&page.url, url),
            Err(error) => assert_eq!(error.url(), url, "the error names its own URL"),
        }
    }
    assert_eq!(results[0].as_ref().unwrap().body, page_body(0, 10 * 1024));
    assert_eq!(results[5].as_ref().unwrap().body, page_body(1, 10 * 1024));
    let Err(FetchError::Status { status, .. }) = &results[3] else {
        unreachable!()
    };
    assert_eq!(status.as_u16(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_reuses_connections_a_client_per_url_does_not() {
    let site = Site::start().expect("start the site");
    let urls = page_urls(&site, 200, 50);

    let shared = fetch::client(DEADLINE).expect("build the client");
    let results = within(
        "200 pages, one client",
        fetch::fetch_all(&shared, urls.clone(), 50, |_| {}),
    )
    .await;
    assert_every_page_arrived(&results);
    let one_client = site.stats();

    site.reset_stats();
    // The articles' fetcher: a new session (here, a client) for every URL.
    let per_url = futures::stream::iter(urls)
        .map(|url| async move {
            let client = fetch::client(DEADLINE).expect("build a client");
            fetch::fetch_page(&client, &url).await
        })
        .buffered(50)
        .collect::<Vec<_>>();
    let results = within("200 pages, a client each", per_url).await;
    assert_every_page_arrived(&results);
    let client_per_url = site.stats();

    println!(
        "connections opened: one client {}, a client per URL {}",
        one_client.connections, client_per_url.connections
    );
    assert_eq!((one_client.served, client_per_url.served), (200, 200));
    assert_eq!(
        client_per_url.connections, 200,
        "a client per URL: a connection per URL"
    );
    // One connection per request in flight, plus the few that lose hyper's race between a
    // returning idle connection and a new connect (see testbed's site tests).
    assert!(
        one_client.connections <= 60,
        "200 requests, 50 in flight, one client: expected at most about 50 connections, got {}",
        one_client.connections
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_yields_every_result_once_as_it_completes() {
    let site = Site::start().expect("start the site");
    let client = fetch::client(DEADLINE).expect("build the client");
    let mut urls = page_urls(&site, 20, 10);
    // Page 0 is the slowest by far, so it cannot come first in completion order.
    urls[0] = format!("{}?latency_ms=1000", site.page_url(0));
    let yielded: Vec<(usize, Result<Page, FetchError>)> = within(
        "the stream of 20 pages",
        fetch::fetch_stream(&client, urls, 20).collect(),
    )
    .await;
    assert_ne!(
        yielded.first().map(|(index, _)| *index),
        Some(0),
        "page 0 took 1 s, not first"
    );
    let mut seen = BTreeMap::new();
    for (index, result) in yielded {
        let page = result.unwrap_or_else(|e| panic!("page {index} failed: {e}"));
        assert_eq!(page.body, page_body(index as u64, 10 * 1024));
        assert!(
            seen.insert(index, ()).is_none(),
            "index {index} was yielded twice"
        );
    }
    assert_eq!(
        seen.into_keys().collect::<Vec<_>>(),
        (0..20).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_stream_cancels_the_requests_in_flight() {
    let site = Site::start().expect("start the site");
    let client = fetch::client(DEADLINE).expect("build the client");
    let urls = vec![format!("{}/hang", site.url()); 5];
    let mut stream = Box::pin(fetch::fetch_stream(&client, urls, 5));
    // Poll it until the site serves all five (none ever answers), then drop it.
    let all_in_flight = async {
        tokio::select! {
            _ = stream.next() => panic!("/hang answered"),
            () = async {
                while site.stats().in_flight < 5 {
                    tokio::task::yield_now().await;
                }
            } => {}
        }
    };
    within("five /hang requests in flight", all_in_flight).await;
    drop(stream);
    let idle = tokio::task::spawn_blocking({
        let stats = move || site.stats().in_flight;
        move || wait_until("the site to see the requests go", DEADLINE, || stats() == 0)
    });
    idle.await.expect("the wait panicked");
}
