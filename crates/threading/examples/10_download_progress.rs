//! # Listing 3.10: download a file on one thread, draw its progress bar on another
//!
//! The articles' download-with-progress (listing B2), done so that it can be trusted: the `download`
//! thread streams the body to disk with `threading::download` and adds every chunk to an atomic
//! counter; the `progress` thread redraws an `indicatif` bar from that counter ten times a second.
//! Python's listing tells the progress thread to stop through a shared `download_complete` flag that
//! the download thread sets at the end. Here the download thread holds the sending end of a channel
//! and never sends anything on it: when the thread ends, by returning, by an error or by a panic,
//! the sender is dropped, the channel disconnects, and the progress thread's `select!` wakes up at
//! once. The signal cannot be forgotten (it is a destructor), cannot be missed (a disconnect is
//! permanent), and costs no polling (the ticker is only for redrawing).
//!
//! Without `Content-Length` the bar becomes a spinner with bytes and rate. The file appears under
//! its name only when it is complete: a 404, a refused connection, a cut connection, a timeout, a
//! full disk or a Ctrl-C leaves no file behind, prints the error, and exits with status 1.
//!
//! Run it (no arguments: a local test site serves a 48 MiB file throttled to 16 MiB/s, about 3 s):
//!
//! ```text
//! cargo run -p threading --example 10_download_progress
//! cargo run -p threading --example 10_download_progress -- https://example.com/big.iso big.iso
//! cargo run --release -p threading --example 10_download_progress -- --size 1073741824 --rate 0
//! cargo run -p threading --example 10_download_progress -- --help
//! ```
//!
//! The third measures throughput: 1 GiB from the local site, unthrottled, to a file, release
//! build. It includes the `fsync` that makes the file durable, so it is bounded by the disk; add
//! `--no-fsync` to measure the download and the writes into the page cache alone.
//!
//! What to expect: on a terminal, a bar that fills in about three seconds; always, a last line with
//! the bytes, the time and the rate (the rate varies from run to run and machine to machine).
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! expect: ^downloaded 50331648 bytes in \d+\.\d+ s \(\d+\.\d MB/s\) to .*file\.bin$
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use clap::Parser;
use crossbeam_channel::{Receiver, select, tick};
use indicatif::{ProgressBar, ProgressStyle};
use threading::download::{DownloadSummary, Downloader, Progress};

const MIB: u64 = 1024 * 1024;

/// How often the progress thread redraws the bar.
const REDRAW_EVERY: Duration = Duration::from_millis(100);

/// Download a file with a progress bar. Without a URL, downloads a throttled file from a local test
/// site (offline); with one, downloads it for real.
#[derive(Parser)]
struct Args {
    /// The URL to download (default: a file from a local test site).
    url: Option<String>,
    /// Where to save it (default: the last part of the URL's path, in the current directory; for
    /// the local site, a temporary directory that is removed at the end).
    output: Option<PathBuf>,
    /// Local site only: the size of the file in bytes.
    #[arg(long, default_value_t = 48 * MIB)]
    size: u64,
    /// Local site only: bytes per second the site sends; 0 = as fast as it can.
    #[arg(long, default_value_t = 16 * MIB)]
    rate: u64,
    /// Seconds to wait for the response, or for any chunk of the body, before giving up.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    /// Rename the file into place without waiting for it to reach the disk (fsync): faster, but a
    /// power cut right after could leave a partial file.
    #[arg(long)]
    no_fsync: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let downloader = Downloader::with_timeout(Duration::from_secs(args.timeout))?
        .sync_before_rename(!args.no_fsync);
    match &args.url {
        Some(url) => {
            let output = args.output.clone().unwrap_or_else(|| name_from_url(url));
            report(&download_with_bar(downloader, url, &output)?, &output);
        }
        None => {
            let site = testbed::Site::start().context("could not start the local test site")?;
            let url = local_url(&site, args.size, args.rate);
            let dir = tempfile::tempdir().context("could not create a temporary directory")?;
            let output = args.output.unwrap_or_else(|| dir.path().join("file.bin"));
            report(&download_with_bar(downloader, &url, &output)?, &output);
        }
    }
    Ok(())
}

// ANCHOR: threads
/// Starts the download thread and the progress thread, and waits for both.
fn download_with_bar(downloader: Downloader, url: &str, output: &Path) -> Result<DownloadSummary> {
    let progress = Arc::new(Progress::new());
    // Ctrl-C (or SIGTERM) asks the download to stop; it then cleans up like any other failure.
    ctrlc::set_handler({
        let progress = Arc::clone(&progress);
        move || progress.cancel()
    })?;
    // Nothing is ever sent: dropping `finished` (when the download thread ends) is the message.
    let (finished, download_ended) = crossbeam_channel::bounded::<()>(0);

    let download = thread::Builder::new().name("download".into()).spawn({
        let progress = Arc::clone(&progress);
        let (url, output) = (url.to_owned(), output.to_owned());
        move || {
            // Moves the sender in (a closure captures only what it uses), to be dropped when this
            // closure ends, however it ends. Without it the progress thread would wait forever.
            let _finished = finished;
            downloader.download_to_file(&url, &output, &progress)
        }
    })?;
    let progress_bar = thread::Builder::new()
        .name("progress".into())
        .spawn(move || render(&progress, &download_ended))?;

    progress_bar
        .join()
        .map_err(|_| anyhow!("the progress thread panicked"))?;
    let result = download
        .join()
        .map_err(|_| anyhow!("the download thread panicked"))?;
    Ok(result?)
}
// ANCHOR_END: threads

// ANCHOR: render
/// Redraws the bar from the shared counter until the download thread ends.
fn render(progress: &Progress, download_ended: &Receiver<()>) {
    let bar = ProgressBar::new_spinner().with_style(spinner_style());
    let redraw = tick(REDRAW_EVERY);
    loop {
        select! {
            // Only ever an error: the sender was dropped, so the download thread has ended.
            recv(download_ended) -> _ => break,
            recv(redraw) -> _ => show(&bar, progress),
        }
    }
    // The channel's disconnect happens after the thread's last write to the counter, so this
    // reading is the final count.
    show(&bar, progress);
    // `abandon` keeps the bar where it is; `finish` would jump to 100 % even after a failure.
    bar.abandon();
    if !bar.is_hidden() {
        eprintln!(); // the cursor is still at the end of the bar's line
    }
}

/// Updates the bar; the first time a length is known, turns the spinner into a bar.
fn show(bar: &ProgressBar, progress: &Progress) {
    if let (Some(total), None) = (progress.total(), bar.length()) {
        bar.set_length(total);
        bar.set_style(bar_style());
    }
    bar.set_position(progress.received());
}
// ANCHOR_END: render

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{wide_bar} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
        .expect("the template is valid")
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {bytes} {bytes_per_sec}")
        .expect("the template is valid")
}

/// The line printed in every case, bar or no bar (no terminal means no bar).
fn report(summary: &DownloadSummary, output: &Path) {
    println!(
        "downloaded {} bytes in {:.2} s ({:.1} MB/s) to {}",
        summary.bytes,
        summary.elapsed.as_secs_f64(),
        summary.bytes_per_second() / 1e6,
        output.display()
    );
}

fn local_url(site: &testbed::Site, size: u64, rate: u64) -> String {
    match rate {
        0 => site.file_url(size),
        rate => format!("{}?rate={rate}", site.file_url(size)),
    }
}

/// `https://host/a/b/file.iso?x=1` → `file.iso`; a URL without a file name → `download.bin`.
fn name_from_url(url: &str) -> PathBuf {
    let last_segment = reqwest::Url::parse(url).ok().and_then(|parsed| {
        let name = parsed.path_segments()?.next_back()?.to_owned();
        (!name.is_empty()).then_some(name)
    });
    PathBuf::from(last_segment.unwrap_or_else(|| "download.bin".to_owned()))
}
