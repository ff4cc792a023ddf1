//! Chapter 2's live scenario: what a process costs to start, and the articles' listing B1 (four
//! processes, each summing n² for n < 10⁷) against the same four tasks done one after another in
//! one process.
//!
//! The tour's `main` calls [`multiprocessing::init()`] first, so the tour binary can start copies
//! of itself to run [`task`] and [`echo`].

use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use multiprocessing::{Process, StartMethod};
use testbed::work::{sum_of_squares, sum_of_squares_formula};

use crate::timing::{best_of, ms};
use crate::{Ctx, Measurement};

/// The articles' process count.
const PROCESSES: usize = 4;

/// Runs the scenario.
pub fn run(ctx: &mut Ctx) -> anyhow::Result<()> {
    let starts = if ctx.quick() { 5 } else { 20 };
    for (method, python) in [
        (StartMethod::ForkServer, "fork 1.3 ms"),
        (StartMethod::Spawn, "spawn 40 ms"),
    ] {
        let start_cost = spawn_join_median(method, starts)?;
        writeln!(
            ctx.out(),
            "  start a process and join it, {}: median {:.2} ms over {starts}",
            method_name(method),
            ms(start_cost)
        )?;
        ctx.record(Measurement {
            chapter: "multiprocessing",
            name: format!("start + join a process, {} (median)", method_name(method)),
            value: ms(start_cost),
            unit: "ms",
            note: format!("Python: {python}"),
        });
    }
    writeln!(
        ctx.out(),
        "  (Python on the machine this book was written on: fork 1.3 ms, spawn 40 ms)"
    )?;

    let limits: &[u64] = if ctx.quick() {
        &[100_000]
    } else {
        &[10_000_000, 100_000_000]
    };
    for &limit in limits {
        compare(ctx, limit)?;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    writeln!(
        ctx.out(),
        "  with {cores} core(s) the ceiling is {}x. Each task at n < 10^7 takes only a few \
         milliseconds in Rust (Python needs over half a second), so the start of each process \
         and how the kernel spreads four tasks over the cores show; at 10^8 they do not.",
        cores.min(PROCESSES)
    )?;
    Ok(())
}

fn method_name(method: StartMethod) -> &'static str {
    match method {
        StartMethod::Spawn => "spawn method",
        _ => "fork server",
    }
}

/// The work one child does: the articles' sum of squares below `limit`.
pub fn task(limit: u64) -> u128 {
    sum_of_squares(0..limit)
}

/// Does nothing but answer, to time starting and joining a process.
pub fn echo(value: u32) -> u32 {
    value
}

fn spawn_join_median(method: StartMethod, count: u32) -> anyhow::Result<Duration> {
    let mut times = Vec::new();
    for i in 0..count {
        let started = Instant::now();
        let answer = Process::builder()
            .start_method(method)
            .spawn(echo, i)
            .context("could not start a process")?
            .join()
            .context("a process failed")?;
        times.push(started.elapsed());
        ensure!(answer == i, "the child answered {answer}, not {i}");
    }
    times.sort();
    Ok(times[times.len() / 2])
}

fn compare(ctx: &mut Ctx, limit: u64) -> anyhow::Result<()> {
    let expected = sum_of_squares_formula(limit);
    let (sequential, totals) = best_of(3, || {
        Ok((0..PROCESSES).map(|_| task(limit)).collect::<Vec<u128>>())
    })?;
    check_totals(&totals, expected)?;
    let (parallel, totals) = best_of(3, || in_processes(limit))?;
    check_totals(&totals, expected)?;
    let speedup = sequential.as_secs_f64() / parallel.as_secs_f64();
    writeln!(
        ctx.out(),
        "  {PROCESSES} tasks x sum of n^2 for n < {limit} (each = {expected}): \
         one after another {:.1} ms, in {PROCESSES} processes {:.1} ms ({speedup:.2}x)",
        ms(sequential),
        ms(parallel)
    )?;
    ctx.record(Measurement {
        chapter: "multiprocessing",
        name: format!("{PROCESSES} processes vs sequential, n < {limit}"),
        value: speedup,
        unit: "x",
        note: format!("{:.1} ms vs {:.1} ms", ms(parallel), ms(sequential)),
    });
    Ok(())
}

fn in_processes(limit: u64) -> anyhow::Result<Vec<u128>> {
    let children = (0..PROCESSES)
        .map(|_| Process::spawn(task, limit))
        .collect::<Result<Vec<_>, _>>()
        .context("could not start the processes")?;
    children
        .into_iter()
        .map(|child| child.join().context("a child process failed"))
        .collect()
}

fn check_totals(totals: &[u128], expected: u128) -> anyhow::Result<()> {
    ensure!(
        totals.len() == PROCESSES && totals.iter().all(|&t| t == expected),
        "wrong totals {totals:?}, expected {expected} each"
    );
    Ok(())
}
