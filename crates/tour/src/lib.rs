//! # The tour
//!
//! `cargo run --release` at the root of the workspace runs this: it walks the chapters in order,
//! says in a paragraph what each one teaches, lists the commands that run its examples and
//! exercises, and runs the chapters' live scenarios against the local test site
//! ([`testbed::Site`]), so every figure it prints was measured on the reader's machine, offline.
//!
//! The pieces:
//! - [`chapters`]: the registry, one entry per chapter. A chapter plugs in a live scenario by
//!   naming a function in its entry.
//! - [`Ctx`]: what a scenario gets: the local site (started once, on first use), where to print,
//!   whether to draw progress bars, and the list of measurements the tour prints at the end.
//! - [`fetch_pages`]: the first live scenario: many pages fetched with a bound on requests in
//!   flight.
#![forbid(unsafe_code)]

pub mod chapters;
mod ctx;
pub mod fetch_pages;

pub use ctx::{Ctx, Measurement};
