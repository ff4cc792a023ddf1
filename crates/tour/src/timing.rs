//! Timing helpers the scenarios share. The work they time, the articles' sum of squares, is
//! [`testbed::work`].

use std::time::{Duration, Instant};

use anyhow::Context as _;

/// Runs `f` `rounds` times and keeps the fastest time (the least disturbed by other programs).
pub fn best_of<T>(
    rounds: u32,
    mut f: impl FnMut() -> anyhow::Result<T>,
) -> anyhow::Result<(Duration, T)> {
    let mut best: Option<(Duration, T)> = None;
    for _ in 0..rounds {
        let started = Instant::now();
        let value = f()?;
        let took = started.elapsed();
        if best.as_ref().is_none_or(|(fastest, _)| took < *fastest) {
            best = Some((took, value));
        }
    }
    best.context("no rounds were run")
}

/// A duration in milliseconds.
pub fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
