//! # Chapter 4: coroutines, as async tasks on tokio
//!
//! Python's `asyncio` runs coroutines on one event loop: a coroutine runs until it `await`s
//! something that is not ready, then the loop runs another. Rust's async works the same way with
//! different names: an `async fn` returns a *future* (a coroutine that has not started; futures are
//! lazy), an executor such as tokio's runtime is the event loop, and `tokio::spawn` is
//! `asyncio.create_task`. Two differences matter in practice:
//!
//! - tokio's default runtime runs tasks on several worker threads, so tasks run in parallel as well
//!   as concurrently; there is no GIL to stop them.
//! - a future does nothing until it is awaited or spawned, so forgetting an `.await` is a warning
//!   (`unused_must_use`), not a silently skipped call.
//!
//! Pick tasks for many concurrent waits on I/O (thousands of connections, crawlers); pick threads
//! for CPU work and for blocking libraries; pick processes for isolation.
//!
//! This crate is being written chapter by chapter. It holds now:
//!
//! - [`fetch`]: fetching many pages concurrently through one shared HTTP client, with a limit on
//!   how many requests are in flight (the articles' listing B3, done with connection reuse and a
//!   bound). The tour's live demo runs it against the local test site.
#![forbid(unsafe_code)]

pub mod fetch;
pub mod server;
pub mod shutdown;
