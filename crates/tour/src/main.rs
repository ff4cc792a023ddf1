//! `tour`: walks the chapters of the book, runs their live scenarios against the local test
//! site, and prints what it measured.
//!
//! ```text
//! cargo run --release                 # the whole tour
//! cargo run --release -- list         # the chapters
//! cargo run --release -- run 4        # one chapter (by number or id)
//! cargo run --release -- --json       # the measurements as JSON on stdout (narration on stderr)
//! cargo run --release -- --quick      # smaller workloads, for slow machines and tests
//! ```
#![forbid(unsafe_code)]

use std::io::{self, Write as _};
use std::time::Instant;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tour::{Ctx, chapters};

/// A tour of concurrency in Rust: processes, threads and async tasks, chapter by chapter,
/// measured on this machine against a local test site (no internet needed).
#[derive(Parser)]
#[command(name = "tour", version)]
struct Cli {
    /// Print the measurements as JSON on standard output (the narration goes to standard error).
    #[arg(long)]
    json: bool,
    /// Smaller workloads (for tests and slow machines): the same comparisons, smaller figures.
    #[arg(long)]
    quick: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// List the chapters, and the commands that run their examples.
    List,
    /// Run one chapter, by number or id (`4` or `coroutines`).
    Run {
        /// The chapter's number or id.
        chapter: String,
    },
}

fn main() -> anyhow::Result<()> {
    // Chapter 2's scenario starts copies of this program to run its tasks; in such a copy,
    // `init` runs the task and exits. Nothing may come before it.
    multiprocessing::init();
    let cli = Cli::parse();
    match cli.command {
        Some(Command::List) => list(),
        Some(Command::Run { chapter }) => {
            let chapter = chapters::find(&chapter).with_context(|| {
                format!("no chapter {chapter:?}: `tour list` shows the chapters")
            })?;
            walk(&[chapter], cli.json, cli.quick)
        }
        None => {
            let all: Vec<&chapters::Chapter> = chapters::CHAPTERS.iter().collect();
            walk(&all, cli.json, cli.quick)
        }
    }
}

/// Prints each chapter, its live scenario, and the commands that run its examples.
fn list() -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    for chapter in chapters::CHAPTERS {
        let live = chapter.scenario.as_ref().map_or("", |s| s.title);
        writeln!(
            out,
            "{:>2}  {:<16} {:<18} {live}",
            chapter.number, chapter.id, chapter.title
        )?;
        for (name, title) in chapters::examples(chapter) {
            let command = format!("cargo run -p {} --example {name}", chapter.id);
            writeln!(out, "      {command:<60} # {title}")?;
        }
    }
    Ok(())
}

fn walk(selected: &[&chapters::Chapter], json: bool, quick: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut ctx = if json {
        Ctx::new(Box::new(io::stderr()), false)
    } else {
        Ctx::for_terminal()
    }
    .with_quick(quick);
    writeln!(
        ctx.out(),
        "Concurrency in Rust: a tour in {} chapter(s). Everything runs offline, against a test site on 127.0.0.1.",
        selected.len()
    )?;
    for chapter in selected {
        chapters::present(chapter, &mut ctx)?;
    }
    print_measurements(&mut ctx)?;
    writeln!(
        ctx.out(),
        "\nTour finished in {:.1} s.",
        started.elapsed().as_secs_f64()
    )?;
    if json {
        let text = serde_json::to_string_pretty(ctx.measurements())?;
        println!("{text}");
    }
    Ok(())
}

fn print_measurements(ctx: &mut Ctx) -> anyhow::Result<()> {
    let rows: Vec<String> = ctx
        .measurements()
        .iter()
        .map(|m| {
            format!(
                "  {:<16} {:<40} {:>10.3} {:<8} {}",
                m.chapter, m.name, m.value, m.unit, m.note
            )
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    let out = ctx.out();
    writeln!(out, "\nMeasured on this machine:")?;
    for row in rows {
        writeln!(out, "{row}")?;
    }
    Ok(())
}
