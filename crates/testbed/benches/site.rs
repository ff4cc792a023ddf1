//! Measures what the other chapters rely on the site and the load client for:
//!
//! 1. the tour's demo: 200 pages, at most 50 in flight, 50 ms latency (ideal 200 / 50 × 50 ms =
//!    0.2 s), with the peak concurrency the site saw;
//! 2. an unthrottled `/file` download with `reqwest::blocking`, to memory and to a file on disk
//!    (the threading chapter needs at least 500 MB/s to disk);
//! 3. `load::run` against a small tokio line server: round trips per second.
//!
//! Run it (in release, as `cargo bench` does): `cargo bench -p testbed --bench site`. Add `--
//! --quick` for a smaller file and fewer repetitions. Figures vary with the machine and its load;
//! each is printed with what it is, not checked.

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use testbed::Site;
use testbed::line::{read_frame_async, reply_to};
use testbed::load::{self, LoadConfig};
use tokio::io::{AsyncWriteExt, BufReader};

fn main() {
    let quick = std::env::args().any(|arg| arg == "--quick");
    let runs = if quick { 3 } else { 10 };
    let file_bytes: u64 = if quick { 256 << 20 } else { 1 << 30 };

    let site = Site::start().expect("start the site");
    pages_with_a_limit(&site, runs);
    file_downloads(&site, file_bytes);
    load_client(if quick { 200 } else { 2_000 });
}

/// The tour's demo, `runs` times: elapsed against the ideal, and the site's peak concurrency.
fn pages_with_a_limit(site: &Site, runs: usize) {
    const PAGES: u64 = 200;
    const LIMIT: usize = 50;
    let runtime = tokio::runtime::Runtime::new().expect("client runtime");
    let client = reqwest::Client::new();
    let mut times = Vec::new();
    for _ in 0..runs {
        site.reset_stats();
        let started = Instant::now();
        runtime.block_on(async {
            let limit = Arc::new(tokio::sync::Semaphore::new(LIMIT));
            let mut fetches = tokio::task::JoinSet::new();
            for n in 0..PAGES {
                let (client, limit, url) = (client.clone(), limit.clone(), site.page_url(n));
                fetches.spawn(async move {
                    let _permit = limit.acquire_owned().await.unwrap();
                    client.get(url).send().await?.bytes().await
                });
            }
            while let Some(fetched) = fetches.join_next().await {
                fetched.expect("fetch task").expect("fetch a page");
            }
        });
        times.push(started.elapsed());
        let stats = site.stats();
        assert_eq!(stats.served, PAGES, "{stats:?}");
        assert!(stats.peak_in_flight <= LIMIT as u64, "{stats:?}");
    }
    times.sort();
    println!(
        "200 pages, 50 in flight, 50 ms latency: median {:.3} s, best {:.3} s, worst {:.3} s \
         (ideal 0.200 s; median / ideal = {:.2}); last peak_in_flight = {}",
        times[times.len() / 2].as_secs_f64(),
        times[0].as_secs_f64(),
        times[times.len() - 1].as_secs_f64(),
        times[times.len() / 2].as_secs_f64() / 0.2,
        site.stats().peak_in_flight,
    );
}

/// An unthrottled download to memory (counted, not kept) and to a temporary file.
fn file_downloads(site: &Site, bytes: u64) {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let mut buffer = vec![0u8; 256 * 1024];

    let started = Instant::now();
    let mut response = client.get(site.file_url(bytes)).send().expect("GET /file");
    let mut received = 0u64;
    loop {
        let n = response.read(&mut buffer).expect("read the file");
        if n == 0 {
            break;
        }
        received += n as u64;
    }
    assert_eq!(received, bytes);
    report_rate("to memory", bytes, started.elapsed());

    let mut file = tempfile::tempfile().expect("a temporary file");
    let started = Instant::now();
    let mut response = client.get(site.file_url(bytes)).send().expect("GET /file");
    // Large reads and writes: `io::copy`'s 8 KiB buffer costs a channel round trip inside
    // `reqwest::blocking` per 8 KiB and about halves the rate.
    let mut copied = 0u64;
    loop {
        let n = response.read(&mut buffer).expect("read the file");
        if n == 0 {
            break;
        }
        file.write_all(&buffer[..n]).expect("write the file");
        copied += n as u64;
    }
    file.flush().unwrap();
    assert_eq!(copied, bytes);
    report_rate("to disk (page cache, no fsync)", bytes, started.elapsed());
}

fn report_rate(what: &str, bytes: u64, elapsed: Duration) {
    println!(
        "/file {} MiB unthrottled, reqwest::blocking {what}: {:.0} MB/s ({:.2} s)",
        bytes >> 20,
        bytes as f64 / elapsed.as_secs_f64() / 1e6,
        elapsed.as_secs_f64()
    );
}

/// `load::run` against a tokio line server (a task per connection) on a runtime of its own.
fn load_client(round_trips: usize) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    runtime.spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (reader, mut writer) = stream.into_split();
                let mut reader = BufReader::new(reader);
                while let Ok(frame) = read_frame_async(&mut reader).await {
                    let Some(reply) = reply_to(&frame) else {
                        return;
                    };
                    if writer.write_all(&reply.to_bytes()).await.is_err() {
                        return;
                    }
                    if reply.close {
                        let _ = writer.shutdown().await;
                        return;
                    }
                }
            });
        }
    });
    for connections in [1, 10, 100] {
        let config = LoadConfig {
            connections,
            round_trips,
            timeout: Duration::from_secs(10),
        };
        let report = load::run(addr, &config).expect("load run");
        println!(
            "load::run {connections} connections x {round_trips} round trips against a tokio \
             line server (1 worker): {:.0} round trips/s ({:.2} s)",
            report.per_second(),
            report.elapsed.as_secs_f64()
        );
    }
}
