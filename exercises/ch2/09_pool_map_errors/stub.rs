//! # Exercise 2.9: keep every result of a pool `map`, failures included
//!
//! Python's `pool.map(f, items)` raises the first exception a task raised and throws away every
//! other result, the good ones too. A report over a thousand files should instead say which
//! files failed, and why, and keep the rest.
//!
//! `multiprocessing::pool::Pool::map` returns one `Result` per item, in input order: `Ok(value)`,
//! or `Err(TaskError::Panicked { message, location })` for an item whose function panicked.
//! Write [`map_report`]: run `f` over `items` on `pool` and split the outcomes into the values and
//! the failures, each paired with its item, in input order; a failure keeps the panic *message*
//! (not the error's whole description). A pool that refuses the work altogether is an `Err`.
//!
//! Check your work with `cargo run -p exercises -- check ch2/09`; stuck?
//! `cargo run -p exercises -- hint ch2/09`.

use multiprocessing::pool::{Pool, PoolError};

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
    let _ = (pool, f, items);
    todo!("pool.map(f, items.clone())?, then sort each outcome into values or failures")
}
