//! What a chapter's scenario works with.

use std::io::{self, IsTerminal, Write};

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use testbed::Site;

/// One figure the tour measured, printed in the closing table and by `tour --json`.
#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    /// The chapter id that measured it (`"coroutines"`).
    pub chapter: &'static str,
    /// What was measured, in a few words.
    pub name: String,
    /// The figure.
    pub value: f64,
    /// Its unit (`"s"`, `"pages/s"`).
    pub unit: &'static str,
    /// How it compares (against the ideal, against Python), in a few words.
    pub note: String,
}

/// The context every scenario runs in.
pub struct Ctx {
    site: Option<Site>,
    out: Box<dyn Write>,
    show_progress: bool,
    quick: bool,
    measurements: Vec<Measurement>,
}

impl Ctx {
    /// A context that narrates to `out`. Progress bars are drawn only when `show_progress` is true
    /// (a terminal); otherwise scenarios print plain lines.
    pub fn new(out: Box<dyn Write>, show_progress: bool) -> Ctx {
        Ctx {
            site: None,
            out,
            show_progress,
            quick: false,
            measurements: Vec::new(),
        }
    }

    /// Quick mode: smaller workloads, for tests and slow machines. The figures then show the
    /// shape of each comparison, not its real size.
    pub fn with_quick(mut self, quick: bool) -> Ctx {
        self.quick = quick;
        self
    }

    /// Whether scenarios should use their small workloads.
    pub fn quick(&self) -> bool {
        self.quick
    }

    /// Narration to standard output; bars only when standard error is a terminal (indicatif draws
    /// there) and `CI` is not set.
    pub fn for_terminal() -> Ctx {
        let show = io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        Ctx::new(Box::new(io::stdout()), show)
    }

    /// The local test site, started on first use and shared by every scenario.
    pub fn site(&mut self) -> anyhow::Result<&Site> {
        if self.site.is_none() {
            let site = Site::start().context("could not start the local test site")?;
            self.site = Some(site);
        }
        Ok(self.site.as_ref().expect("started just above"))
    }

    /// Where narration goes.
    pub fn out(&mut self) -> &mut dyn Write {
        &mut *self.out
    }

    /// A progress bar of `len` steps, or a hidden one when there is no terminal.
    pub fn progress_bar(&self, len: u64, what: &str) -> ProgressBar {
        if !self.show_progress {
            return ProgressBar::hidden();
        }
        let style = ProgressStyle::with_template("  {bar:40.cyan/blue} {pos:>4}/{len} {msg}")
            .expect("the template is valid")
            .progress_chars("=> ");
        ProgressBar::new(len)
            .with_style(style)
            .with_message(what.to_owned())
    }

    /// A progress bar counting `total` bytes, or a hidden one when there is no terminal.
    pub fn bytes_bar(&self, total: u64) -> ProgressBar {
        if !self.show_progress {
            return ProgressBar::hidden();
        }
        let style = ProgressStyle::with_template(
            "  {bar:40.cyan/blue} {bytes:>10}/{total_bytes} {binary_bytes_per_sec}",
        )
        .expect("the template is valid")
        .progress_chars("=> ");
        ProgressBar::new(total).with_style(style)
    }

    /// Records a figure for the closing table.
    pub fn record(&mut self, measurement: Measurement) {
        self.measurements.push(measurement);
    }

    /// Everything recorded so far.
    pub fn measurements(&self) -> &[Measurement] {
        &self.measurements
    }
}
