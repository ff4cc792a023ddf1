//! Tests of `threading::download` against the local test site: the happy path (content and
//! progress exact), every failure the module promises a typed error for, and, for each failure,
//! that no partial file is left in the target's directory.
//!
//! Every download runs with a short client timeout, so a test that would hang fails with
//! `DownloadError::Timeout` naming the URL instead.

use std::fs;
use std::io;
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use testbed::{Site, file_byte};
use threading::download::{DownloadError, Downloader, Progress};

/// The longest any single wait (headers, one chunk) may take before the download fails.
const TIMEOUT: Duration = Duration::from_secs(10);

fn downloader() -> Downloader {
    Downloader::with_timeout(TIMEOUT).expect("the HTTP client builds")
}

fn site() -> Site {
    Site::start().expect("the local test site starts")
}

/// The names in `dir`, sorted: what a failed download must not have added to.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("the temporary directory is readable")
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn assert_matches_site_file(bytes: &[u8]) {
    for (offset, &byte) in bytes.iter().enumerate() {
        assert_eq!(byte, file_byte(offset as u64), "byte {offset} differs");
    }
}

#[test]
fn a_download_is_complete_correct_and_its_progress_ends_at_the_total() {
    let site = site();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("file.bin");
    let size = 3 * 1024 * 1024 + 17; // not a multiple of any chunk size
    let progress = Progress::new();

    let summary = downloader()
        .download_to_file(&site.file_url(size), &target, &progress)
        .expect("the download succeeds");

    let bytes = fs::read(&target).unwrap();
    assert_eq!(bytes.len() as u64, size);
    assert_matches_site_file(&bytes);
    assert_eq!(summary.bytes, size);
    assert_eq!(summary.total, Some(size));
    assert_eq!(progress.total(), Some(size));
    assert_eq!(
        progress.received(),
        size,
        "the counter ends exactly at the total"
    );
    assert_eq!(
        entries(dir.path()),
        ["file.bin"],
        "no temporary file is left"
    );
}

#[test]
fn another_thread_sees_progress_grow_to_the_total() {
    let site = site();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("watched.bin");
    let size: u64 = 2 * 1024 * 1024;
    let url = format!("{}?rate={}", site.file_url(size), 8 * 1024 * 1024); // about 0.25 s
    let progress = Arc::new(Progress::new());
    let (finished, download_ended) = crossbeam_channel::bounded::<()>(0);

    let download = thread::spawn({
        let progress = Arc::clone(&progress);
        move || {
            let _finished = finished;
            downloader().download_to_file(&url, &target, &progress)
        }
    });
    // The watcher: sample until the download thread drops its end of the channel.
    let mut samples = Vec::new();
    loop {
        samples.push(progress.received());
        match download_ended.recv_timeout(Duration::from_millis(10)) {
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => continue,
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
            Ok(()) => unreachable!("nothing is ever sent"),
        }
    }
    samples.push(progress.received());
    download
        .join()
        .expect("the download thread does not panic")
        .expect("the download succeeds");

    assert!(
        samples.windows(2).all(|pair| pair[0] <= pair[1]),
        "the counter never goes backwards: {samples:?}"
    );
    assert_eq!(
        *samples.last().unwrap(),
        size,
        "the last sample is the total"
    );
}

#[test]
fn cancelling_from_another_thread_stops_the_download_and_leaves_no_file() {
    let site = site();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("cancelled.bin");
    let size: u64 = 8 * 1024 * 1024;
    let url = format!("{}?rate={}", site.file_url(size), 2 * 1024 * 1024); // about 4 s in full
    let progress = Arc::new(Progress::new());

    let download = thread::spawn({
        let progress = Arc::clone(&progress);
        move || downloader().download_to_file(&url, &target, &progress)
    });
    // Cancel once the body is flowing.
    testbed::wait::wait_until("the first byte of the body", TIMEOUT, || {
        progress.received() > 0
    });
    progress.cancel();
    let result = download.join().expect("the download thread does not panic");

    match result {
        Err(DownloadError::Cancelled { received, .. }) => assert!(received < size),
        other => panic!("expected DownloadError::Cancelled, got {other:?}"),
    }
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
}

#[test]
fn a_404_is_a_status_error_and_leaves_no_file() {
    let site = site();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("{}/status/404", site.url());

    let error = downloader()
        .download_to_file(&url, &dir.path().join("missing.bin"), &Progress::new())
        .expect_err("a 404 is an error");

    match error {
        DownloadError::Status { status, .. } => assert_eq!(status.as_u16(), 404),
        other => panic!("expected DownloadError::Status, got {other:?}"),
    }
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
}

#[test]
fn a_refused_connection_is_a_connect_error_and_leaves_no_file() {
    // Bind a port, then free it: nothing listens there now, so the connection is refused.
    let addr = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let dir = tempfile::tempdir().unwrap();

    let error = downloader()
        .download_to_file(
            &format!("http://{addr}/file/100"),
            &dir.path().join("refused.bin"),
            &Progress::new(),
        )
        .expect_err("nobody listens on that port");

    assert!(
        matches!(error, DownloadError::Connect { .. }),
        "expected DownloadError::Connect, got {error:?}"
    );
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
}

#[test]
fn a_connection_cut_mid_body_is_incomplete_and_the_old_file_survives() {
    let site = site();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("cut.bin");
    fs::write(&target, b"the previous version").unwrap();
    let (size, cut_after) = (1_000_000, 300_000);
    let url = format!("{}?cut_after={cut_after}", site.file_url(size));
    let progress = Progress::new();

    let error = downloader()
        .download_to_file(&url, &target, &progress)
        .expect_err("a cut body is an error");

    match error {
        DownloadError::Incomplete {
            received, expected, ..
        } => {
            assert_eq!(expected, Some(size));
            assert!(received <= cut_after, "received {received} > {cut_after}");
            assert_eq!(received, progress.received());
        }
        other => panic!("expected DownloadError::Incomplete, got {other:?}"),
    }
    assert_eq!(fs::read(&target).unwrap(), b"the previous version");
    assert_eq!(
        entries(dir.path()),
        ["cut.bin"],
        "no temporary file is left"
    );
}

#[test]
fn a_cut_without_content_length_is_still_incomplete() {
    // Chunked encoding has its own end marker, so a cut is detectable without a length too.
    let site = site();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("{}?no_length=1&cut_after=5000", site.file_url(100_000));

    let error = downloader()
        .download_to_file(&url, &dir.path().join("cut.bin"), &Progress::new())
        .expect_err("a cut chunked body is an error");

    assert!(
        matches!(error, DownloadError::Incomplete { expected: None, .. }),
        "expected DownloadError::Incomplete without a length, got {error:?}"
    );
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
}

#[test]
fn without_content_length_the_download_succeeds_with_an_unknown_total() {
    let site = site();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("chunked.bin");
    let size = 1_234_567;
    let progress = Progress::new();

    let summary = downloader()
        .download_to_file(
            &format!("{}?no_length=1", site.file_url(size)),
            &target,
            &progress,
        )
        .expect("a body without Content-Length downloads");

    assert_eq!(summary.total, None);
    assert!(progress.headers_received());
    assert_eq!(progress.total(), None);
    assert_eq!(progress.received(), size);
    let bytes = fs::read(&target).unwrap();
    assert_eq!(bytes.len() as u64, size);
    assert_matches_site_file(&bytes);
}

#[test]
fn a_server_that_never_answers_is_a_timeout() {
    let site = site();
    let dir = tempfile::tempdir().unwrap();
    let timeout = Duration::from_millis(300);

    let error = Downloader::with_timeout(timeout)
        .unwrap()
        .download_to_file(
            &format!("{}/hang", site.url()),
            &dir.path().join("hang.bin"),
            &Progress::new(),
        )
        .expect_err("/hang never answers");

    match error {
        DownloadError::Timeout {
            timeout: reported,
            received,
            ..
        } => assert_eq!((reported, received), (timeout, 0)),
        other => panic!("expected DownloadError::Timeout, got {other:?}"),
    }
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
}

#[test]
fn a_body_that_stalls_is_a_timeout_too() {
    // At 2 bytes per second the site sends one byte at once, then one every 500 ms: with a 200 ms
    // timeout per chunk, the body stalls after the first byte.
    let site = site();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("{}?rate=2", site.file_url(1_000));

    let error = Downloader::with_timeout(Duration::from_millis(200))
        .unwrap()
        .download_to_file(&url, &dir.path().join("slow.bin"), &Progress::new());

    match error {
        Err(DownloadError::Timeout { received, .. }) => {
            assert!((1..1_000).contains(&received), "received {received}")
        }
        other => panic!("expected DownloadError::Timeout mid-body, got {other:?}"),
    }
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
}

/// `/dev/full` fails every write with `ENOSPC`, exactly like a full disk; see the module docs.
#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_is_a_write_error() {
    let site = site();
    let full = fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full exists on Linux");

    let error = downloader()
        .download_to_writer(&site.file_url(1_000_000), full, &Progress::new())
        .expect_err("writing to /dev/full fails");

    match error {
        DownloadError::Write { path, source } => {
            assert_eq!(path, None, "a writer has no path");
            assert_eq!(source.kind(), io::ErrorKind::StorageFull, "{source}")
        }
        other => panic!("expected DownloadError::Write, got {other:?}"),
    }
}

#[test]
fn bad_urls_are_refused_before_any_request() {
    let dir = tempfile::tempdir().unwrap();
    for url in ["not a url", "ftp://127.0.0.1/file", "file:///etc/passwd"] {
        let error = downloader()
            .download_to_file(url, &dir.path().join("x"), &Progress::new())
            .expect_err("not an http URL");
        assert!(
            matches!(error, DownloadError::BadUrl { .. }),
            "{url}: expected DownloadError::BadUrl, got {error:?}"
        );
    }
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
}

#[test]
fn a_missing_directory_is_a_create_error() {
    let site = site();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("no/such/dir/file.bin");

    let error = downloader()
        .download_to_file(&site.file_url(10), &target, &Progress::new())
        .expect_err("the directory does not exist");

    match error {
        DownloadError::CreateTemp { source, .. } => {
            assert_eq!(source.kind(), io::ErrorKind::NotFound)
        }
        other => panic!("expected DownloadError::CreateTemp, got {other:?}"),
    }
}

#[test]
fn a_target_that_is_not_a_regular_file_is_refused_untouched() {
    let site = site();
    let dir = tempfile::tempdir().unwrap();
    let occupied = dir.path().join("a-directory");
    fs::create_dir(&occupied).unwrap();

    let error = downloader()
        .download_to_file(&site.file_url(10), &occupied, &Progress::new())
        .expect_err("a directory is not a download target");

    assert!(
        matches!(&error, DownloadError::TargetNotAFile { path } if path == &occupied),
        "expected DownloadError::TargetNotAFile, got {error:?}"
    );
    assert!(occupied.is_dir(), "the directory is still there");
    assert_eq!(
        entries(dir.path()),
        ["a-directory"],
        "no temporary file is left"
    );
}

#[test]
fn without_the_sync_the_download_is_just_as_complete() {
    let site = site();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("unsynced.bin");
    let size = 100_000;

    downloader()
        .sync_before_rename(false)
        .download_to_file(&site.file_url(size), &target, &Progress::new())
        .expect("the download succeeds");

    let bytes = fs::read(&target).unwrap();
    assert_eq!(bytes.len() as u64, size);
    assert_matches_site_file(&bytes);
}
