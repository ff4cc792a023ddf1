//! The chapters, in reading order. One entry each; a chapter adds a live scenario by naming a
//! function in its `scenario` field (see CONTRIBUTING.md, "Adding a chapter scenario to the tour").

use anyhow::Context as _;
use testbed::SiteConfig;

use crate::{Ctx, Measurement, fetch_pages, processes, threads};

include!(concat!(env!("OUT_DIR"), "/inventory.rs"));

/// One chapter of the book, as the tour presents it.
#[derive(Debug)]
pub struct Chapter {
    /// Its number in the book.
    pub number: u8,
    /// A short id for `tour run <id>`; also the chapter's crate name where it has one.
    pub id: &'static str,
    /// The title.
    pub title: &'static str,
    /// One paragraph: what the chapter teaches.
    pub summary: &'static str,
    /// The chapter's first page in the book.
    pub book_page: &'static str,
    /// The live scenario, if the chapter has one.
    pub scenario: Option<Scenario>,
}

/// A chapter's live demonstration.
#[derive(Debug)]
pub struct Scenario {
    /// What it shows, in a line.
    pub title: &'static str,
    /// Runs it, narrating to the context and recording measurements.
    pub run: fn(&mut Ctx) -> anyhow::Result<()>,
}

/// Every chapter, in reading order.
pub const CHAPTERS: &[Chapter] = &[
    Chapter {
        number: 1,
        id: "overview",
        title: "Overview",
        summary: "Concurrency is one program making progress on several tasks in overlapping \
                  time; parallelism is several of them running at the same instant on different \
                  cores. Python gives you three tools (processes, threads, coroutines) and the GIL \
                  decides which of them can be parallel. Rust has the same three, no GIL, and a \
                  compiler that refuses unsynchronized sharing.",
        book_page: "docs/src/overview/index.md",
        scenario: None,
    },
    Chapter {
        number: 2,
        id: "multiprocessing",
        title: "Multiprocessing",
        summary: "Processes with their own memory, started the way Python's forkserver and \
                  spawn start methods do (the program runs again, once or per child), talking \
                  through queues, pipes and shared memory, synchronized across processes, and \
                  cleaned up when they panic, are killed, or outlive their parent.",
        book_page: "docs/src/multiprocessing/index.md",
        scenario: Some(Scenario {
            title: "start processes, and sum squares in 4 of them (the articles' listing B1)",
            run: processes::run,
        }),
    },
    Chapter {
        number: 3,
        id: "threading",
        title: "Threading",
        summary: "OS threads sharing one address space. Without a GIL they run CPU work in \
                  parallel; Send and Sync make the compiler check every piece of shared data. \
                  Locks, conditions, events, semaphores, channels, a thread pool, and the \
                  download-with-progress listing done without a racy flag.",
        book_page: "docs/src/threading/index.md",
        scenario: Some(Scenario {
            title: "CPU work on every core, and a download with a progress bar",
            run: threads::run,
        }),
    },
    Chapter {
        number: 4,
        id: "coroutines",
        title: "Coroutines",
        summary: "Async tasks on tokio: lazy futures, the runtime as the event loop, spawn, \
                  join! and JoinSet, select!, timeouts and cancellation, and a bounded async \
                  producer/consumer. The scenario below is the batch fetch: many requests in \
                  flight over one shared client, a bound on concurrency, and the connections \
                  the site accepted, which one client reuses.",
        book_page: "docs/src/coroutines/index.md",
        scenario: Some(Scenario {
            title: "fetch 200 pages from the local site, at most 50 in flight",
            run: fetch_pages_scenario,
        }),
    },
    Chapter {
        number: 5,
        id: "patterns",
        title: "Patterns",
        summary: "Producer-consumer and master-worker over threads, processes and tasks. Not \
                  written yet; chapters 2 and 3 already show both patterns with their own \
                  queues, channels and pools.",
        book_page: "docs/src/patterns/index.md",
        scenario: None,
    },
    Chapter {
        number: 6,
        id: "choosing",
        title: "Choosing a model",
        summary: "The articles' comparison table of processes, threads and tasks, filled with \
                  figures measured on this machine. Not written yet; until it is, the tour \
                  ends with what the scenarios of chapters 2 to 4 measured.",
        book_page: "docs/src/choosing/index.md",
        scenario: None,
    },
];

/// Finds a chapter by id (`threading`) or number (`3`).
pub fn find(key: &str) -> Option<&'static Chapter> {
    CHAPTERS
        .iter()
        .find(|chapter| chapter.id == key || chapter.number.to_string() == key)
}

/// The examples of the chapter's crate: `(example name, title)`.
pub fn examples(chapter: &Chapter) -> impl Iterator<Item = (&'static str, &'static str)> {
    let id = chapter.id;
    EXAMPLES
        .iter()
        .filter(move |(krate, _, _)| *krate == id)
        .map(|(_, name, title)| (*name, *title))
}

/// The chapter's exercise folders (`ch3/01_scoped_sum`, …).
pub fn exercises(chapter: &Chapter) -> impl Iterator<Item = String> {
    let folder = format!("ch{}", chapter.number);
    EXERCISES
        .iter()
        .filter(move |(chapter_folder, _)| *chapter_folder == folder)
        .map(|(chapter_folder, name)| format!("{chapter_folder}/{name}"))
}

/// Prints the chapter's title, paragraph, commands, and runs its scenario.
pub fn present(chapter: &Chapter, ctx: &mut Ctx) -> anyhow::Result<()> {
    let out = ctx.out();
    writeln!(out, "\n== {}. {} ==\n", chapter.number, chapter.title)?;
    writeln!(out, "{}\n", wrap(chapter.summary, 96))?;
    writeln!(
        out,
        "Read:      {} (or `mdbook serve docs`)",
        chapter.book_page
    )?;
    let mut any_example = false;
    for (name, title) in examples(chapter) {
        if !any_example {
            writeln!(out, "Examples:")?;
            any_example = true;
        }
        writeln!(
            out,
            "  cargo run -p {} --example {name:<22} # {title}",
            chapter.id
        )?;
    }
    let exercises: Vec<String> = exercises(chapter).collect();
    if !exercises.is_empty() {
        writeln!(
            out,
            "Exercises: {} (`cargo run -p exercises` shows your progress)",
            exercises.join(", ")
        )?;
    }
    if let Some(scenario) = &chapter.scenario {
        writeln!(out, "\nLive: {}", scenario.title)?;
        (scenario.run)(ctx)
            .with_context(|| format!("chapter {}: {}", chapter.id, scenario.title))?;
    }
    Ok(())
}

fn fetch_pages_scenario(ctx: &mut Ctx) -> anyhow::Result<()> {
    let latency = SiteConfig::default().page_latency;
    let bar = ctx.progress_bar(fetch_pages::PAGES, "pages");
    let site = ctx.site()?;
    let report = fetch_pages::run(site, fetch_pages::PAGES, fetch_pages::LIMIT, latency, &bar)?;
    let ratio = report.elapsed.as_secs_f64() / report.ideal.as_secs_f64();
    let out = ctx.out();
    writeln!(
        out,
        "  fetched {} pages ({} KiB) in {:.3} s; ideal {} / {} x {} ms = {:.3} s ({ratio:.2} x ideal)",
        report.fetched,
        report.bytes / 1024,
        report.elapsed.as_secs_f64(),
        fetch_pages::PAGES,
        fetch_pages::LIMIT,
        latency.as_millis(),
        report.ideal.as_secs_f64(),
    )?;
    writeln!(
        out,
        "  the site served {} requests, at most {} at once (the limit is {})",
        report.served,
        report.peak_in_flight,
        fetch_pages::LIMIT
    )?;
    writeln!(
        out,
        "  over {} connections: one client reuses them (a client per URL would open {})",
        report.connections,
        fetch_pages::PAGES
    )?;
    writeln!(
        out,
        "  (Python's asyncio + aiohttp took 0.24 s for the same fetch on the machine this book was written on)"
    )?;
    for error in &report.errors {
        writeln!(out, "  error: {error}")?;
    }
    if !report.errors.is_empty() {
        anyhow::bail!(
            "{} of {} pages failed",
            report.errors.len(),
            fetch_pages::PAGES
        );
    }
    ctx.record(Measurement {
        chapter: "coroutines",
        name: format!(
            "fetch {} pages, {} in flight",
            fetch_pages::PAGES,
            fetch_pages::LIMIT
        ),
        value: report.elapsed.as_secs_f64(),
        unit: "s",
        note: format!("{ratio:.2} x the ideal {:.3} s", report.ideal.as_secs_f64()),
    });
    Ok(())
}

/// Wraps a paragraph at `width` columns.
fn wrap(text: &str, width: usize) -> String {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let line = lines.last_mut().expect("never empty");
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(word.to_owned());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines.join("\n")
}
