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
//! Python to Rust, in one table:
//!
//! | asyncio | tokio |
//! |---|---|
//! | `asyncio.run(main())` | `#[tokio::main]` (builds the runtime, runs `main` on it) |
//! | `await asyncio.sleep(1)` | `tokio::time::sleep(Duration::from_secs(1)).await` |
//! | `asyncio.create_task(c)` | `tokio::spawn(f)`, which returns a `JoinHandle` |
//! | `asyncio.gather(a, b)` | `tokio::join!(a, b)`, `try_join!`, `futures::future::join_all` |
//! | `asyncio.as_completed`, `TaskGroup` | `tokio::task::JoinSet` |
//! | `asyncio.wait_for(c, t)` | `tokio::time::timeout(t, f)` |
//! | `task.cancel()` | dropping the future, `JoinHandle::abort`, a `CancellationToken` |
//! | `asyncio.Semaphore(n)` | `tokio::sync::Semaphore`, or `buffer_unordered(n)` on a stream |
//! | `asyncio.Queue(maxsize=n)` | `tokio::sync::mpsc::channel(n)` ([`pipeline`]) |
//! | `loop.run_in_executor` | `tokio::task::spawn_blocking` |
//! | aiohttp's `ClientSession` | one shared `reqwest::Client` ([`fetch`]) |
//!
//! What is in here:
//!
//! - [`fetch`]: many pages through one shared HTTP client, at most `limit` requests in flight,
//!   a timeout per request, results in order ([`fetch::fetch_all`]) or as they complete
//!   ([`fetch::fetch_stream`]), and failures sorted by kind. The tour's live demo runs it.
//! - [`pipeline`]: a bounded async producer/consumer: back-pressure, an explicit end of stream,
//!   errors per item, cancellation that leaves no task running.
//! - [`server`]: the `testbed` line protocol as an async TCP server that keeps chapter 3's server
//!   contract (a connection cap answered with an error, a line limit, an idle timeout, non-UTF-8
//!   answered), thousands of connections on a few threads.
//! - [`shutdown`]: graceful shutdown for servers: stop accepting, give live work a grace period,
//!   and force the rest on a second request (Ctrl-C or SIGTERM).
//!
//! The examples (`cargo run -p coroutines --example 01_hello_world`, and on in order) show the
//! basics one at a time: lazy futures, `join!`/`JoinSet`, `select!`/`timeout` and cancellation
//! safety, the batch fetch with its progress bar, the blocking mistake measured,
//! `spawn_blocking`, an async producer/consumer, the server, and a million tasks.
#![forbid(unsafe_code)]

pub mod fetch;
pub mod pipeline;
pub mod server;
pub mod shutdown;
