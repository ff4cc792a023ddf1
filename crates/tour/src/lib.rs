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
//! - [`processes`], [`threads`], [`fetch_pages`]: the live scenarios of chapters 2, 3 and 4:
//!   what a process costs and how four of them share the articles' sum of squares; CPU work on
//!   every core and a download with a progress bar; many pages fetched with a bound on requests
//!   in flight.
//!
//! The tour starts processes (chapter 2), so its `main` calls [`multiprocessing::init()`] first.
#![forbid(unsafe_code)]

pub mod chapters;
mod ctx;
pub mod fetch_pages;
pub mod processes;
pub mod threads;
mod timing;

pub use ctx::{Ctx, Measurement};
