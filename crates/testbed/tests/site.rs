//! Tests of the HTTP site: every route's normal and bad paths, the counters, and the life cycle
//! (start from sync and async code, drop frees the port, drop ends a hanging request).
//!
//! The client is `reqwest` (blocking in sync tests, async in `#[tokio::test]`s). Every wait has a
//! deadline and fails with what it was waiting for; nothing here asserts timing.

use std::io::Read;
use std::net::TcpListener;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::blocking::Client;
use testbed::wait::{DEADLINE, wait_until};
use testbed::{Site, SiteConfig, Stats, file_byte, page_body};

fn client() -> Client {
    Client::builder()
        .timeout(DEADLINE)
        .build()
        .expect("build the reqwest client")
}

/// GETs `url` and returns the status and the body as text.
fn get_text(url: &str) -> (StatusCode, String) {
    let response = client().get(url).send().expect("GET should get a response");
    let status = response.status();
    (status, response.text().expect("read the body"))
}

fn assert_file_bytes(body: &[u8], from: u64) {
    if let Some(i) = (0..body.len()).find(|&i| body[i] != file_byte(from + i as u64)) {
        panic!("byte {} of the file is wrong", from + i as u64);
    }
}

#[test]
fn page_returns_the_deterministic_body_as_html() {
    let site = Site::start().expect("start the site");
    let response = client().get(site.page_url(3)).send().expect("GET /page/3");
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()[reqwest::header::CONTENT_TYPE].clone();
    assert_eq!(content_type, "text/html; charset=utf-8");
    assert_eq!(response.text().unwrap(), page_body(3, 10 * 1024));
}

#[test]
fn page_query_overrides_size_and_latency() {
    let site = Site::start().expect("start the site");
    let (status, body) = get_text(&format!("{}?size=100&latency_ms=0", site.page_url(5)));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, page_body(5, 100));
    let (status, body) = get_text(&format!("{}?size=0", site.page_url(5)));
    assert_eq!((status, body.as_str()), (StatusCode::OK, ""));
}

#[test]
fn page_config_sets_the_default_size() {
    let config = SiteConfig {
        page_size: 500,
        page_latency: Duration::ZERO,
        ..SiteConfig::default()
    };
    let site = Site::start_with(config).expect("start the site");
    let (_, body) = get_text(&site.page_url(8));
    assert_eq!(body, page_body(8, 500));
}

#[test]
fn page_rejects_bad_parameters_with_400_and_a_reason() {
    let site = Site::start().expect("start the site");
    let url = site.url();
    let cases = [
        (format!("{url}/page/abc"), "abc"),
        (format!("{url}/page/-1"), "-1"),
        (format!("{url}/page/1?size=16777217"), "size 16777217"),
        (format!("{url}/page/1?size=lots"), "size"),
        (format!("{url}/page/1?latency_ms=60001"), "latency_ms 60001"),
        (format!("{url}/page/1?latancy_ms=5"), "latancy_ms"),
    ];
    for (bad_url, reason) in cases {
        let (status, body) = get_text(&bad_url);
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad_url}");
        assert!(
            body.contains(reason),
            "{bad_url}: {body:?} should mention {reason:?}"
        );
        assert_eq!(
            body.lines().count(),
            1,
            "{bad_url}: one-line reason, got {body:?}"
        );
    }
}

#[test]
fn unknown_routes_and_methods_are_refused() {
    let site = Site::start().expect("start the site");
    let (status, body) = get_text(&format!("{}/no/such/thing", site.url()));
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("/no/such/thing"), "{body:?}");
    let echo_by_get = client().get(format!("{}/echo", site.url())).send().unwrap();
    assert_eq!(echo_by_get.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[test]
fn file_streams_the_pattern_with_content_length() {
    let site = Site::start().expect("start the site");
    let size = 1_000_003; // not a multiple of the chunk size
    let response = client().get(site.file_url(size)).send().expect("GET /file");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.content_length(), Some(size));
    let body = response.bytes().expect("read the whole file");
    assert_eq!(body.len() as u64, size);
    assert_file_bytes(&body, 0);

    let empty = client().get(site.file_url(0)).send().unwrap();
    assert_eq!(empty.content_length(), Some(0));
    assert!(empty.bytes().unwrap().is_empty());
}

#[test]
fn file_rejects_bad_parameters_with_400() {
    let site = Site::start().expect("start the site");
    let one_gib = 1u64 << 30;
    let cases = [
        (site.file_url(one_gib + 1), "1073741825"),
        (format!("{}/file/many", site.url()), "many"),
        (format!("{}?rate=0", site.file_url(10)), "rate"),
        (
            format!("{}?cut_after=10", site.file_url(10)),
            "cut_after 10",
        ),
        (format!("{}?no_length=2", site.file_url(10)), "no_length"),
        (format!("{}?size=3", site.file_url(10)), "size"),
    ];
    for (bad_url, reason) in cases {
        let (status, body) = get_text(&bad_url);
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad_url}");
        assert!(
            body.contains(reason),
            "{bad_url}: {body:?} should mention {reason:?}"
        );
    }
    // Exactly 1 GiB is allowed: the head says so (the body is not read).
    let response = client().get(site.file_url(one_gib)).send().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.content_length(), Some(one_gib));
}

#[test]
fn file_cut_after_gives_the_client_an_error_not_a_clean_end() {
    let site = Site::start().expect("start the site");
    let (size, cut) = (1_000_000u64, 300_000u64);
    let mut response = client()
        .get(format!("{}?cut_after={cut}", site.file_url(size)))
        .send()
        .expect("the head arrives before the cut");
    assert_eq!(response.content_length(), Some(size));
    let mut received = Vec::new();
    let outcome = response.read_to_end(&mut received);
    assert!(
        outcome.is_err(),
        "a cut body must be an error; read {} bytes and ended cleanly",
        received.len()
    );
    // The cut comes mid-body: some bytes arrived, none past the cut, all of them right.
    assert!(
        !received.is_empty(),
        "the cut should come after some of the body"
    );
    assert!(
        received.len() as u64 <= cut,
        "got {} bytes past the cut",
        received.len()
    );
    assert_file_bytes(&received, 0);
}

#[test]
fn file_no_length_is_chunked_and_complete() {
    let site = Site::start().expect("start the site");
    let size = 200_000u64;
    let response = client()
        .get(format!("{}?no_length=1", site.file_url(size)))
        .send()
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        !response
            .headers()
            .contains_key(reqwest::header::CONTENT_LENGTH)
    );
    assert_eq!(response.content_length(), None);
    let body = response.bytes().unwrap();
    assert_eq!(body.len() as u64, size);
    assert_file_bytes(&body, 0);
}

#[test]
fn throttled_file_arrives_complete_in_many_pieces() {
    let site = Site::start().expect("start the site");
    let size = 100_000u64;
    // 400 kB/s: about a quarter of a second, in 20 kB pieces.
    let mut response = client()
        .get(format!("{}?rate=400000", site.file_url(size)))
        .send()
        .unwrap();
    assert_eq!(response.content_length(), Some(size));
    let mut body = Vec::new();
    let mut reads = 0;
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let n = response.read(&mut buffer).expect("read a throttled piece");
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buffer[..n]);
        reads += 1;
    }
    assert_eq!(body.len() as u64, size);
    assert_file_bytes(&body, 0);
    assert!(
        reads >= 2,
        "a throttled file arrives in several pieces, got {reads}"
    );
}

#[test]
fn config_file_rate_throttles_and_zero_is_refused() {
    let config = SiteConfig {
        file_rate: Some(1_000_000),
        ..SiteConfig::default()
    };
    let site = Site::start_with(config).expect("start a throttled site");
    let body = client()
        .get(site.file_url(150_000))
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    assert_eq!(body.len(), 150_000);
    assert_file_bytes(&body, 0);

    let zero = SiteConfig {
        file_rate: Some(0),
        ..SiteConfig::default()
    };
    let error = Site::start_with(zero).expect_err("a zero rate is invalid");
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    assert!(error.to_string().contains("file_rate"), "{error}");
}

#[test]
fn status_returns_any_status_in_range() {
    let site = Site::start().expect("start the site");
    for code in [200u16, 201, 204, 301, 404, 418, 500, 503, 599] {
        let response = client()
            .get(format!("{}/status/{code}", site.url()))
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), code);
        let body = response.text().unwrap();
        if code != 204 {
            assert!(body.starts_with(&code.to_string()), "{code}: {body:?}");
        }
    }
    for bad in ["199", "600", "1000", "abc", "70000"] {
        let (status, body) = get_text(&format!("{}/status/{bad}", site.url()));
        assert_eq!(status, StatusCode::BAD_REQUEST, "/status/{bad}");
        assert!(body.contains(bad), "{body:?}");
    }
}

#[test]
fn echo_returns_the_body_and_refuses_over_16_mib() {
    let site = Site::start().expect("start the site");
    let url = format!("{}/echo", site.url());
    let payload: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let back = client().post(&url).body(payload.clone()).send().unwrap();
    assert_eq!(back.status(), StatusCode::OK);
    assert_eq!(back.bytes().unwrap(), payload);

    let limit = testbed::MAX_BODY_BYTES;
    let at_limit = client().post(&url).body(vec![b'a'; limit]).send().unwrap();
    assert_eq!(at_limit.status(), StatusCode::OK);
    assert_eq!(at_limit.bytes().unwrap().len(), limit);

    let over = client()
        .post(&url)
        .body(vec![b'a'; limit + 1])
        .send()
        .unwrap();
    assert_eq!(over.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[test]
fn hang_never_answers_and_a_client_timeout_releases_it() {
    let site = Site::start().expect("start the site");
    let impatient = Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let error = impatient
        .get(format!("{}/hang", site.url()))
        .send()
        .expect_err("/hang must not answer");
    assert!(error.is_timeout(), "expected a timeout, got {error}");
    // The client gave up and closed its connection; the server drops the request.
    wait_until("the abandoned /hang to leave in_flight", DEADLINE, || {
        site.stats().in_flight == 0
    });
    let stats = site.stats();
    assert_eq!((stats.served, stats.peak_in_flight), (0, 1), "{stats:?}");
}

#[test]
fn peak_in_flight_is_exactly_the_number_held_at_once() {
    const HELD: u64 = 50;
    let site = Site::start().expect("start the site");
    let client = client();
    let (done_tx, done_rx) = mpsc::channel();
    for n in 0..HELD {
        let url = format!("{}?latency_ms=3000", site.page_url(n));
        let (client, done_tx) = (client.clone(), done_tx.clone());
        thread::spawn(move || {
            let outcome = client.get(url).send().and_then(|r| r.text());
            let _ = done_tx.send((n, outcome));
        });
    }
    // No barrier needed: each request waits 3 s inside the site, so all 50 are in flight at once
    // long before the first answers, and the counter itself says when they are.
    wait_until("all 50 requests to be in flight at once", DEADLINE, || {
        site.stats().in_flight == HELD
    });
    for _ in 0..HELD {
        let (n, outcome) = done_rx
            .recv_timeout(DEADLINE)
            .expect("timed out waiting for the held requests to complete");
        assert_eq!(
            outcome.expect("a held request failed"),
            page_body(n, 10 * 1024)
        );
    }
    let expected = Stats {
        served: HELD,
        in_flight: 0,
        peak_in_flight: HELD,
        // A new blocking client per request: a new connection each.
        connections: HELD,
    };
    assert_eq!(site.stats(), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limit_of_50_is_reached_and_never_exceeded() {
    const LIMIT: usize = 50;
    const PAGES: u64 = 100;
    let site = Site::start().expect("start the site");
    let client = reqwest::Client::new();
    let limit = std::sync::Arc::new(tokio::sync::Semaphore::new(LIMIT));
    let mut fetches = tokio::task::JoinSet::new();
    for n in 0..PAGES {
        // Long enough that all 50 first requests reach the site before the first one answers,
        // even on a busy machine; the 50 ms of the tour's demo is checked by the tour's own test.
        let url = format!("{}?latency_ms=1000", site.page_url(n));
        let (client, limit) = (client.clone(), limit.clone());
        fetches.spawn(async move {
            let _permit = limit
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            let body = client.get(url).send().await?.text().await?;
            Ok::<_, reqwest::Error>((n, body))
        });
    }
    let all = async {
        while let Some(fetched) = fetches.join_next().await {
            let (n, body) = fetched.expect("fetch task").expect("fetch");
            assert_eq!(body, page_body(n, 10 * 1024));
        }
    };
    tokio::time::timeout(DEADLINE, all)
        .await
        .expect("timed out waiting for 100 pages with 50 in flight");
    let stats = site.stats();
    assert_eq!(stats.peak_in_flight, LIMIT as u64, "{stats:?}");
    assert_eq!(stats.served, PAGES, "{stats:?}");
}

#[test]
fn reset_stats_starts_the_counts_again() {
    let site = Site::start().expect("start the site");
    for n in 0..3 {
        assert_eq!(
            get_text(&format!("{}?latency_ms=0", site.page_url(n))).0,
            StatusCode::OK
        );
    }
    let stats = site.stats();
    assert_eq!(
        (stats.served, stats.in_flight, stats.peak_in_flight),
        (3, 0, 1)
    );
    assert_eq!(
        stats.connections, 3,
        "a new client per request, so a connection each"
    );
    site.reset_stats();
    assert_eq!(site.stats(), Stats::default());
}

#[tokio::test]
async fn site_works_from_inside_a_current_thread_runtime() {
    // The site has its own runtime, so it keeps serving while this one waits on it.
    let site = Site::start().expect("start the site inside a runtime");
    let client = reqwest::Client::new();
    let fetch = async {
        let body = client.get(site.page_url(9)).send().await?.text().await?;
        Ok::<_, reqwest::Error>(body)
    };
    let body = tokio::time::timeout(DEADLINE, fetch)
        .await
        .expect("timed out waiting for /page/9")
        .expect("GET /page/9");
    assert_eq!(body, page_body(9, 10 * 1024));
    assert_eq!(site.stats().served, 1);
    site.shutdown(); // dropping inside a runtime must not panic
}

#[test]
fn drop_frees_the_port_and_the_url_stops_answering() {
    let site = Site::start().expect("start the site");
    let (addr, url) = (site.addr(), site.page_url(1));
    assert_eq!(get_text(&url).0, StatusCode::OK);
    drop(site);
    let after = client().get(&url).send();
    let error = after.expect_err("a dropped site must not answer");
    assert!(
        error.is_connect(),
        "expected a refused connection, got {error}"
    );
    TcpListener::bind(addr).expect("the port is free again after the drop");
}

#[test]
fn drop_ends_a_hanging_request_after_the_grace_period() {
    let site = Site::start().expect("start the site");
    let url = format!("{}/hang", site.url());
    let (done_tx, done_rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = done_tx.send(client().get(url).send().map(|r| r.status()));
    });
    wait_until("the /hang request to be in flight", DEADLINE, || {
        site.stats().in_flight == 1
    });

    let (dropped_tx, dropped_rx) = mpsc::channel();
    thread::spawn(move || {
        drop(site);
        let _ = dropped_tx.send(());
    });
    dropped_rx
        .recv_timeout(DEADLINE)
        .expect("timed out waiting for the drop of a site with a hanging request");
    let outcome = done_rx
        .recv_timeout(DEADLINE)
        .expect("timed out waiting for the hanging client to see the shutdown");
    let error = outcome.expect_err("/hang must not answer, even at shutdown");
    assert!(
        !error.is_timeout(),
        "the site closed the connection; got {error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_count_what_a_client_opens_not_what_it_requests() {
    let site = Site::start().expect("start the site");
    let fetch_with = |client: reqwest::Client, n: u64| {
        let url = format!("{}?latency_ms=0", site.page_url(n));
        async move { client.get(url).send().await?.text().await }
    };
    // One client, one request after another: its connections are kept alive and reused. Not
    // always exactly one: when a request finds no idle connection in the pool (the previous one
    // is still on its way back), hyper starts a connect and uses whichever is ready first; a
    // connection that loses that race is kept in the pool. So "fewer than one per request".
    let shared = reqwest::Client::new();
    for n in 0..10 {
        tokio::time::timeout(DEADLINE, fetch_with(shared.clone(), n))
            .await
            .expect("timed out waiting for a page through the shared client")
            .expect("GET through the shared client");
    }
    let stats = site.stats();
    assert_eq!(stats.served, 10);
    assert!(
        (1..10).contains(&stats.connections),
        "ten sequential requests through one client should reuse connections; they opened {}",
        stats.connections
    );
    site.reset_stats();
    // A client per request: every client has its own pool, so every request connects anew.
    for n in 0..5 {
        tokio::time::timeout(DEADLINE, fetch_with(reqwest::Client::new(), n))
            .await
            .expect("timed out waiting for a page through a fresh client")
            .expect("GET through a fresh client");
    }
    assert_eq!(
        (site.stats().served, site.stats().connections),
        (5, 5),
        "five fresh clients should open five connections"
    );
}

#[test]
fn a_connection_that_sends_nothing_is_counted() {
    let site = Site::start().expect("start the site");
    let _idle = std::net::TcpStream::connect(site.addr()).expect("connect to the site");
    wait_until("the site to accept the idle connection", DEADLINE, || {
        site.stats().connections == 1
    });
    assert_eq!(site.stats().served, 0, "nothing was requested");
}
