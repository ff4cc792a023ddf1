//! # Listing 3.10: download a file on one thread, draw its progress bar on another
//!
//! The articles' download-with-progress (listing B2), done so that it can be trusted. The
//! `download` thread streams the body to disk with `threading::download`, adding every chunk to an
//! atomic counter; the `progress` thread redraws an `indicatif` bar from that counter. Python's
//! listing stops the progress thread with a shared `download_complete` flag. Here the download
//! thread holds the sending end of a channel and never sends: when the thread ends (a return, an
//! error, a panic) the sender is dropped and the progress thread's `select!` wakes at once. The
//! signal cannot be forgotten (it is a destructor), cannot be missed, and costs no polling.
//!
//! The file appears under its name only when it is complete: a 404, a refused or cut connection,
//! a timeout, a full disk or a Ctrl-C leaves no file behind, prints the error and exits with 1.
//!
//! Run it (no arguments: a local test site serves 48 MiB at 16 MiB/s, about 3 s; the third
//! measures throughput: 1 GiB, unthrottled, with the `fsync` that `--no-fsync` skips). Expect a
//! bar that fills (on a terminal), and a last line with the bytes, the time and the rate:
//!
//! ```text
//! cargo run -p threading --example 10_download_progress
//! cargo run -p threading --example 10_download_progress -- https://example.com/big.iso big.iso
//! cargo run --release -p threading --example 10_download_progress -- --size 1073741824 --rate 0
//! ```
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

const BAR: &str = "{wide_bar} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}";
const SPINNER: &str = "{spinner} {bytes} {bytes_per_sec}";

/// Download a file with a progress bar: a URL, or a local test site's file.
#[derive(Parser)]
struct Args {
    /// The URL to download (default: a file from a local test site).
    url: Option<String>,
    /// Where to save it (default: `download.bin`, or for the local site a temporary folder).
    output: Option<PathBuf>,
    /// Local site only: the size of the file in bytes.
    #[arg(long, default_value_t = 48 << 20)]
    size: u64,
    /// Local site only: bytes per second it sends; 0 = as fast as it can.
    #[arg(long, default_value_t = 16 << 20)]
    rate: u64,
    /// Skip the fsync before the rename: faster, but a power cut could leave a partial file.
    #[arg(long)]
    no_fsync: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    // Gives up after 30 s without the response or a chunk of the body.
    let downloader = Downloader::new()?.sync_before_rename(!args.no_fsync);
    let (site, folder); // out here, so that they live until the end of main
    let (url, output) = match args.url {
        Some(url) => (url, args.output.unwrap_or("download.bin".into())),
        None => {
            site = testbed::Site::start().context("starting the local site")?;
            folder = tempfile::tempdir().context("making a temp folder")?;
            let url = match args.rate {
                0 => site.file_url(args.size),
                rate => format!("{}?rate={rate}", site.file_url(args.size)),
            };
            (url, args.output.unwrap_or(folder.path().join("file.bin")))
        }
    };
    let summary = download_with_bar(downloader, &url, &output)?;
    let (bytes, s) = (summary.bytes, summary.elapsed.as_secs_f64());
    let (rate, to) = (summary.bytes_per_second() / 1e6, output.display());
    println!("downloaded {bytes} bytes in {s:.2} s ({rate:.1} MB/s) to {to}");
    Ok(())
}

// ANCHOR: threads
/// Starts the download thread and the progress thread, and waits for both.
fn download_with_bar(
    downloader: Downloader,
    url: &str,
    output: &Path,
) -> Result<DownloadSummary> {
    let progress = Arc::new(Progress::new());
    // Ctrl-C (or SIGTERM) stops the download, which then cleans up.
    let on_signal = Arc::clone(&progress);
    ctrlc::set_handler(move || on_signal.cancel())?;
    // Nothing is ever sent: dropping `finished` is the message.
    let (finished, download_ended) = crossbeam_channel::bounded::<()>(0);

    let download = thread::Builder::new().name("download".into()).spawn({
        let progress = Arc::clone(&progress);
        let (url, output) = (url.to_owned(), output.to_owned());
        move || {
            // Moves the sender in, to be dropped when this closure ends,
            // however it ends. Without it, `render` would wait for ever.
            let _finished = finished;
            downloader.download_to_file(&url, &output, &progress)
        }
    })?;
    let progress_bar = thread::Builder::new()
        .name("progress".into())
        .spawn(move || render(&progress, &download_ended))?;

    progress_bar.join().map_err(|_| anyhow!("the progress thread panicked"))?;
    let joined = download.join().map_err(|_| anyhow!("download panicked"))?;
    Ok(joined?)
}
// ANCHOR_END: threads

// ANCHOR: render
/// Redraws the bar from the shared counter until the download thread ends.
fn render(progress: &Progress, download_ended: &Receiver<()>) {
    let spinner = ProgressStyle::with_template(SPINNER).expect("valid");
    let bar = ProgressBar::new_spinner().with_style(spinner);
    let redraw = tick(Duration::from_millis(100));
    loop {
        select! {
            // Only ever a disconnect: the download thread has ended.
            recv(download_ended) -> _ => break,
            recv(redraw) -> _ => show(&bar, progress),
        }
    }
    show(&bar, progress); // after the thread's last write: the final count
    bar.abandon(); // stays where it is (`finish` would jump to 100 %)
    if !bar.is_hidden() {
        eprintln!(); // the cursor is still at the end of the bar's line
    }
}

/// Updates the bar; once a length is known, turns the spinner into a bar.
fn show(bar: &ProgressBar, progress: &Progress) {
    if let (Some(total), None) = (progress.total(), bar.length()) {
        bar.set_length(total);
        bar.set_style(ProgressStyle::with_template(BAR).expect("valid"));
    }
    bar.set_position(progress.received());
}
// ANCHOR_END: render
