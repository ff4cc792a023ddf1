//! Chapter 3's live scenario: CPU-bound work on 1 thread and on every core (no GIL, so it
//! scales), then a download from the local site on one thread while this one draws its progress.

use std::thread;
use std::time::Duration;

use anyhow::{Context as _, ensure};
use testbed::work::{split, sum_of_squares, sum_of_squares_formula};
use threading::download::{Downloader, Progress};

use crate::timing::{best_of, ms};
use crate::{Ctx, Measurement};

/// Runs the scenario.
pub fn run(ctx: &mut Ctx) -> anyhow::Result<()> {
    cpu_scaling(ctx)?;
    download(ctx)
}

fn cpu_scaling(ctx: &mut Ctx) -> anyhow::Result<()> {
    let limit: u64 = if ctx.quick() { 1_000_000 } else { 100_000_000 };
    let cores = thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let expected = sum_of_squares_formula(limit);
    let (one, total) = best_of(3, || Ok(sum_in_threads(limit, 1)))?;
    ensure!(
        total == expected,
        "1 thread summed {total}, expected {expected}"
    );
    let threads = cores.max(2);
    let (many, total) = best_of(3, || Ok(sum_in_threads(limit, threads)))?;
    ensure!(
        total == expected,
        "{threads} threads summed {total}, expected {expected}"
    );
    let speedup = one.as_secs_f64() / many.as_secs_f64();
    writeln!(
        ctx.out(),
        "  sum of n^2 for n < {limit}: 1 thread {:.1} ms, {threads} threads {:.1} ms \
         ({speedup:.2}x on {cores} core(s); Python threads managed 1.08x on the machine this book \
         was written on, because of the GIL)",
        ms(one),
        ms(many)
    )?;
    ctx.record(Measurement {
        chapter: "threading",
        name: format!("{threads} threads vs 1, CPU-bound"),
        value: speedup,
        unit: "x",
        note: format!("{cores} core(s); Python threads: 1.08x"),
    });
    Ok(())
}

/// Sums `0..limit` split over `threads` scoped threads.
fn sum_in_threads(limit: u64, threads: u64) -> u128 {
    thread::scope(|scope| {
        let handles: Vec<_> = split(limit, threads)
            .into_iter()
            .map(|range| scope.spawn(move || sum_of_squares(range)))
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("summing cannot panic"))
            .sum()
    })
}

fn download(ctx: &mut Ctx) -> anyhow::Result<()> {
    let bytes: u64 = if ctx.quick() { 4 << 20 } else { 256 << 20 };
    let url = ctx.site()?.file_url(bytes);
    let folder = tempfile::tempdir().context("could not make a temporary folder")?;
    let target = folder.path().join("download.bin");
    let bar = ctx.bytes_bar(bytes);
    let progress = Progress::new();
    let downloader = Downloader::new()?;
    // One thread downloads; this one draws the bar from the shared counter until the download
    // thread has finished (`is_finished` on its handle: no flag to forget to set).
    let summary = thread::scope(|scope| {
        let downloading = scope.spawn(|| downloader.download_to_file(&url, &target, &progress));
        while !downloading.is_finished() {
            bar.set_position(progress.received());
            thread::sleep(Duration::from_millis(50));
        }
        downloading
            .join()
            .expect("the download thread does not panic")
    })?;
    bar.set_position(progress.received());
    bar.finish();
    ensure!(
        summary.bytes == bytes,
        "downloaded {} of {bytes} bytes",
        summary.bytes
    );
    let rate = summary.bytes_per_second() / 1e6;
    writeln!(
        ctx.out(),
        "  downloaded {} MiB from the local site to disk on one thread, with the progress bar \
         drawn on another: {:.2} s, {rate:.0} MB/s",
        bytes >> 20,
        summary.elapsed.as_secs_f64()
    )?;
    ctx.record(Measurement {
        chapter: "threading",
        name: format!("download {} MiB to disk", bytes >> 20),
        value: rate,
        unit: "MB/s",
        note: "reqwest::blocking, streamed, fsync before rename".to_owned(),
    });
    Ok(())
}
