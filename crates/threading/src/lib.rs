//! # Chapter 3: threads
//!
//! A thread is a second line of execution inside the same process: same memory, same open files,
//! its own stack. Rust's threads are the operating system's threads (`std::thread::spawn` is
//! `pthread_create` on Linux), one for one, with no runtime in between.
//!
//! ## What changes coming from Python
//!
//! **There is no GIL.** In CPython only one thread runs Python bytecode at a time, so threads help
//! with waiting (network, disk) but not with computing: the syllabus's article measures two threads
//! doing arithmetic as no faster than one. (CPython's optional free-threaded builds, 3.13t and
//! 3.14t, run Python threads in parallel; the default build still has the GIL.) Rust threads run
//! at the same time on different cores. `examples/11_cpu_bound.rs` and `benches/threading.rs`
//! measure the speedup on your machine.
//!
//! **The compiler checks the sharing.** Without a GIL, two threads really can write the same memory
//! at the same instant, and the result is a data race. Rust rules it out at compile time with two
//! marker traits:
//!
//! - `Send`: a value of this type may be *moved* to another thread (almost everything; not `Rc`,
//!   whose reference count is not atomic).
//! - `Sync`: a value may be *shared* (`&T`) between threads (types whose `&self` methods are safe to
//!   call concurrently: `Mutex<T>`, atomics, immutable data; not `Cell` or `RefCell`).
//!
//! `thread::spawn` requires its closure to be `Send + 'static`: everything it captures must be
//! movable to another thread and must live as long as it needs to. `examples/03_shared_counter.rs`
//! shows the two ways to share a counter that compile (a `Mutex`, an atomic).
//!
//! ## Programs that must not compile
//!
//! The book shows four programs that the compiler refuses, each with its error. They live in
//! `compile_fail/` (the book includes them from there), and each is a `compile_fail` doctest here
//! with the error code it must fail with, so `cargo test -p threading --doc` fails if one of them
//! ever compiles, or stops failing with that error.
//!
//! Four threads that each need `&mut counter` (two mutable borrows at once):
//!
//! ```compile_fail,E0499
#![doc = include_str!("../compile_fail/shared_counter.rs")]
//! ```
//!
//! The same counter in an `Arc<Cell<u64>>`: `Cell` changes through a shared reference without
//! synchronization, so it is not `Sync`, and the `Arc` of it is not `Send`:
//!
//! ```compile_fail,E0277
#![doc = include_str!("../compile_fail/cell_counter.rs")]
//! ```
//!
//! The download listing's flag as a plain `bool`: one thread reads it while the other assigns to
//! it (a writer against a reader, not two writers):
//!
//! ```compile_fail,E0506
#![doc = include_str!("../compile_fail/bool_flag.rs")]
//! ```
//!
//! The same flag in a `Cell<bool>`, borrowed by a scoped thread:
//!
//! ```compile_fail,E0277
#![doc = include_str!("../compile_fail/cell_flag.rs")]
//! ```
//!
//! What compiles instead: an `AtomicBool` for the flag, or better, a channel whose sender is
//! dropped when the download ends (`examples/10_download_progress.rs`).
//!
//! ## When to pick threads
//!
//! - CPU-bound work that splits into parts: threads (or `rayon`, which manages them for you). In
//!   Python you would need processes; here threads are cheaper and share memory.
//! - A handful of blocking I/O jobs (files, a few downloads, a GUI beside a long computation):
//!   threads, the simplest model that works.
//! - Thousands of concurrent connections that mostly wait: async tasks (chapter 4), because each
//!   thread costs a stack and a kernel schedulable entity.
//! - Isolation from crashes: processes (chapter 2). A panic in a thread comes back through `join`,
//!   but undefined behaviour, an abort or a stack overflow in one thread takes the whole process
//!   down.
//!
//! ## What is in this crate
//!
//! std has `Mutex`, `RwLock`, `Condvar`, `Barrier`, atomics and channels, but no `Event` and no
//! `Semaphore`. The crate builds those two from `Mutex` + `Condvar`, because writing them is the
//! best way to learn the pair, and a thread pool with futures, because Python readers know
//! `ThreadPoolExecutor`:
//!
//! - [`Event`]: a flag to wait for (`threading.Event`).
//! - [`Semaphore`] and its RAII [`SemaphorePermit`] (`threading.Semaphore`).
//! - [`ThreadPoolExecutor`], [`TaskFuture`], [`as_completed`]
//!   (`concurrent.futures.ThreadPoolExecutor`); tasks that panic become [`TaskError::Panicked`].
//! - [`facade`]: std's sync types, or loom's for model checking the two primitives.
//! - [`download`]: a streaming download to a file with progress in an atomic, no partial file
//!   left behind on any error (the articles' download-with-progress, done right).
//! - [`server`]: a thread-per-connection server for the workspace's line protocol, with the
//!   limits and the graceful shutdown every chapter's server shares.
//!
//! The listings in `examples/` go through the chapter in order; the book pages in
//! `docs/src/threading/` explain them.
#![forbid(unsafe_code)]

#[cfg(not(threading_loom))]
pub mod download;
pub mod event;
pub mod facade;
pub mod pool;
pub mod semaphore;
#[cfg(not(threading_loom))]
pub mod server;

pub use event::Event;
pub use pool::{
    AsCompleted, PoolError, TaskError, TaskFuture, ThreadPoolExecutor, as_completed,
};
pub use semaphore::{Semaphore, SemaphorePermit};
