//! # Exercise 2.9, a wrong attempt: the first failure ends the report
//!
//! The mistake: collecting the outcomes into `Result<Vec<_>, _>`, the usual Rust idiom, which
//! stops at the first `Err`. That is exactly Python's `map`: one failure, and every other
//! result, good or bad, is thrown away.
//!
//! Fails: by a panic: the check expects a value for every item that did not panic, and finds none.

use multiprocessing::pool::{Pool, PoolError, TaskError};

/// What became of each item.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// `(item, f(item))` for each item whose task returned, in input order.
    pub values: Vec<(u64, u64)>,
    /// `(item, panic message)` for each item whose task panicked, in input order.
    pub failures: Vec<(u64, String)>,
}

/// Runs `f` on every item in `pool` and reports every outcome.
pub fn map_report(pool: &Pool, f: fn(u64) -> u64, items: Vec<u64>) -> Result<Report, PoolError> {
    let outcomes = pool.map(f, items.clone())?;
    let mut report = Report::default();
    match outcomes
        .into_iter()
        .collect::<Result<Vec<u64>, TaskError>>()
    {
        Ok(values) => report.values = items.into_iter().zip(values).collect(),
        Err(TaskError::Panicked { message, .. }) => report.failures.push((0, message)),
        Err(other) => report.failures.push((0, other.to_string())),
    }
    Ok(report)
}
