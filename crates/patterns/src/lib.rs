//! # Chapter 5: producer-consumer and master-worker (not written yet)
//!
//! This crate is the home of the book's fifth chapter, and it is empty: no code of the chapter has
//! been written yet. It exists so that the workspace has the chapter's place, and the book's
//! outline page (`docs/src/patterns/index.md`) says what the chapter is about.
//!
//! Until the chapter is written, the pieces it will build on are in the other chapters' crates:
//! bounded channels with an explicit end of stream and a thread pool with `as_completed` in
//! `threading`, and queues between processes (with `JoinableQueue`'s `task_done`/`join`) in
//! `multiprocessing`.
#![forbid(unsafe_code)]
