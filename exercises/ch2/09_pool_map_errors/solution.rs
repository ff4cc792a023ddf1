//! # Exercise 2.9, solved: every outcome kept, each beside its item
//!
//! `map` gives the outcomes in input order, so zipping them with the items pairs each outcome
//! with its item; a `match` sorts them, and the panic's `message` field is the text the task
//! panicked with. Nothing stops at the first failure: collecting into `Result<Vec<_>, _>`
//! would (that is Python's behaviour, and the wrong attempt's).

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
    for (item, outcome) in items.into_iter().zip(outcomes) {
        match outcome {
            Ok(value) => report.values.push((item, value)),
            Err(TaskError::Panicked { message, .. }) => report.failures.push((item, message)),
            Err(other) => report.failures.push((item, other.to_string())),
        }
    }
    Ok(report)
}
