//! The site's life cycle: start it, count what it serves, shut it down.
//!
//! # Why the site runs on a runtime thread of its own
//!
//! Examples and tests use the site from plain `fn main` code (the threading chapter, with
//! `reqwest::blocking`) and from inside `#[tokio::test]` or `#[tokio::main]` (the coroutines
//! chapter). If the site ran on the *caller's* runtime, a blocking caller would have none, and an
//! async caller on a current-thread runtime would starve the site while it blocks on a response.
//! So [`Site::start_with`] builds a small tokio runtime (two worker threads) on a thread named
//! `testbed-site`, and the caller only ever talks to it over TCP and a few atomics.
//!
//! The listening socket is bound in the caller, with `std::net`, before that thread starts: the
//! URL is known as soon as `start` returns, and a bind error comes back as an `io::Error` rather
//! than a panic on another thread.
//!
//! # Shutting down
//!
//! Dropping the [`Site`] (or calling [`Site::shutdown`]) asks the server to stop accepting and to
//! finish the requests it has started (a graceful shutdown). Requests that would never finish, such
//! as `/hang`, get [`SHUTDOWN_GRACE`]; then the runtime is shut down, which drops every task and
//! closes every socket, and the drop joins the thread. When the drop returns, the port is free and
//! nothing of the site is left running. Dropping blocks the calling thread for at most about a
//! second, also inside async code; that is the price of a drop that really finishes.
//!
//! # Counting requests
//!
//! One middleware wraps every route (including the 404 fallback) and keeps three counters, and the
//! listener keeps a fourth; all are read with [`Site::stats`]:
//!
//! - `in_flight` is raised when a request reaches the router and lowered when its handler has
//!   produced the response *head* (status and headers). For a streamed `/file` body that is before
//!   the body is sent; for every other route the body is already complete at that point. A request
//!   whose client goes away (a timeout on `/hang`) is lowered when the server drops it.
//! - `served` counts responses that were produced (any status), not requests that were dropped.
//! - `peak_in_flight` is the largest value `in_flight` has ever had (since the last
//!   [`Site::reset_stats`]).
//! - `connections` counts the TCP connections the site accepted. It is raised by the listener,
//!   before any request is read, so it shows what a client's connection pool does: 200 requests
//!   through one client that keeps its connections alive open as many connections as it ever had
//!   requests in flight at once, while a new client per request opens 200. (A keep-alive
//!   connection carries one request after another; HTTP/1.1 never runs two at once on one.)
//!
//! The peak must be exact, because a test uses it to prove that a client's concurrency limit of 50
//! was reached and never exceeded. Every request does `in_flight.fetch_add(1)`, which returns the
//! value *it* moved the counter to; all those values are distinct points in one total order, so the
//! largest of them is the true peak. Each request then does `peak.fetch_max(mine)`. A naive
//! `if mine > peak.load() { peak.store(mine) }` would be wrong: two requests can both load 49, the
//! one with 51 stores first, and the one with 50 overwrites it. `fetch_max` is a single atomic
//! read-modify-write (a compare-and-swap loop where the hardware has no max instruction), so no
//! update is lost. `Relaxed` ordering is enough: each counter is one atomic on its own, and no
//! other memory is published through them.

use std::future::IntoFuture;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use axum::serve::ListenerExt;
use tokio_util::sync::CancellationToken;

use crate::routes;

/// How long a shutdown waits for requests still being served (such as `/hang`) before it drops them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_millis(250);

/// How long the runtime may take to stop its worker threads after the grace period.
const RUNTIME_STOP: Duration = Duration::from_secs(1);

/// How the site behaves. `SiteConfig::default()` is what examples and the tour use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteConfig {
    /// How long `/page/{n}` waits before answering (default 50 ms; `?latency_ms=` overrides it).
    pub page_latency: Duration,
    /// The size of a `/page/{n}` body in bytes (default 10 KiB; `?size=` overrides it).
    pub page_size: usize,
    /// `None` (the default): `/file/{bytes}` is sent as fast as the client reads it.
    /// `Some(bytes_per_second)`: it is paced to that average rate (`?rate=` overrides it).
    /// `Some(0)` is rejected by [`Site::start_with`].
    pub file_rate: Option<u64>,
}

impl Default for SiteConfig {
    fn default() -> Self {
        SiteConfig {
            page_latency: Duration::from_millis(50),
            page_size: 10 * 1024,
            file_rate: None,
        }
    }
}

/// A snapshot of the site's request counters (see the module docs for what each one counts).
///
/// The values are read one after the other, not at one instant, while requests may be
/// running; once the site is idle they are exact.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Responses produced (any status) since the start or the last reset.
    pub served: u64,
    /// Requests whose handler is running right now.
    pub in_flight: u64,
    /// The largest `in_flight` ever seen since the start or the last reset.
    pub peak_in_flight: u64,
    /// TCP connections accepted since the start or the last reset.
    pub connections: u64,
}

/// The counters behind [`Stats`], shared by the middleware and the [`Site`] handle.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    served: AtomicU64,
    in_flight: AtomicU64,
    peak_in_flight: AtomicU64,
    connections: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> Stats {
        let served = self.served.load(Relaxed);
        let in_flight = self.in_flight.load(Relaxed);
        let peak = self.peak_in_flight.load(Relaxed);
        let connections = self.connections.load(Relaxed);
        // A request between its `fetch_add` and its `fetch_max` is already in `in_flight` but not
        // yet in the peak; the peak is at least what we just saw in flight, so say so.
        Stats {
            served,
            in_flight,
            peak_in_flight: peak.max(in_flight),
            connections,
        }
    }

    fn reset(&self) {
        self.served.store(0, Relaxed);
        self.connections.store(0, Relaxed);
        self.peak_in_flight
            .store(self.in_flight.load(Relaxed), Relaxed);
    }
}

/// Marks one request as in flight for as long as it lives. Dropping it (normally, or because the
/// server dropped a request whose client went away) lowers `in_flight`.
struct InFlight<'a> {
    counters: &'a Counters,
}

impl<'a> InFlight<'a> {
    fn enter(counters: &'a Counters) -> Self {
        let now_in_flight = counters.in_flight.fetch_add(1, Relaxed) + 1;
        counters.peak_in_flight.fetch_max(now_in_flight, Relaxed);
        InFlight { counters }
    }

    fn served(self) {
        self.counters.served.fetch_add(1, Relaxed);
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.counters.in_flight.fetch_sub(1, Relaxed);
    }
}

/// The middleware around every route: counts the request while its handler runs.
pub(crate) async fn count_requests(
    State(counters): State<Arc<Counters>>,
    request: Request,
    next: Next,
) -> Response {
    let in_flight = InFlight::enter(&counters);
    let response = next.run(request).await;
    in_flight.served();
    response
}

/// A running local HTTP site. Dropping it shuts the site down and frees its port.
///
/// ```
/// let site = testbed::Site::start()?;
/// let body = reqwest::blocking::get(site.page_url(1)).unwrap().text().unwrap();
/// assert_eq!(body, testbed::page_body(1, 10 * 1024));
/// assert_eq!(site.stats().served, 1);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Site {
    addr: SocketAddr,
    url: String,
    counters: Arc<Counters>,
    shutdown: CancellationToken,
    thread: Option<JoinHandle<()>>,
}

impl Site {
    /// Starts a site with the default [`SiteConfig`] on `127.0.0.1` and a free port.
    pub fn start() -> io::Result<Site> {
        Site::start_with(SiteConfig::default())
    }

    /// Starts a site with `config` on `127.0.0.1` and a free port. Works from sync code and from
    /// inside a tokio runtime alike: the site runs on a runtime thread of its own.
    ///
    /// Errors: the bind, building the runtime or starting its thread failed, or `config` is
    /// invalid (`file_rate: Some(0)`).
    pub fn start_with(config: SiteConfig) -> io::Result<Site> {
        if config.file_rate == Some(0) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "SiteConfig::file_rate must be None or at least 1 byte per second",
            ));
        }
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let counters = Arc::new(Counters::default());
        let shutdown = CancellationToken::new();
        let app = routes::router(config, Arc::clone(&counters));

        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        let stop = shutdown.clone();
        let thread = thread::Builder::new().name("testbed-site".into()).spawn({
            let counters = Arc::clone(&counters);
            move || run_site(listener, app, counters, stop, ready_tx)
        })?;
        // The thread answers once, right after it has built its runtime; if it dies first, the
        // sender is dropped and `recv` returns an error instead of waiting forever.
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Site {
                addr,
                url: format!("http://{addr}"),
                counters,
                shutdown,
                thread: Some(thread),
            }),
            Ok(Err(error)) => {
                let _ = thread.join();
                Err(error)
            }
            Err(_) => {
                let _ = thread.join();
                Err(io::Error::other(
                    "the testbed-site thread died while starting",
                ))
            }
        }
    }

    /// The base URL, `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The address the site listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL of page `n`: `{url}/page/{n}`.
    pub fn page_url(&self, n: u64) -> String {
        format!("{}/page/{n}", self.url)
    }

    /// The URL of a file of `bytes` bytes: `{url}/file/{bytes}`.
    pub fn file_url(&self, bytes: u64) -> String {
        format!("{}/file/{bytes}", self.url)
    }

    /// The request counters now.
    pub fn stats(&self) -> Stats {
        self.counters.snapshot()
    }

    /// Sets `served` and `connections` to 0 and `peak_in_flight` to the current `in_flight` (requests already
    /// running stay counted). Call it while the site is idle for exact figures.
    pub fn reset_stats(&self) {
        self.counters.reset();
    }

    /// Shuts the site down and waits until it has stopped; the same as dropping it.
    pub fn shutdown(self) {
        drop(self);
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(thread) = self.thread.take() {
            // The site thread only panics on a bug in the site; do not turn a drop into a second
            // panic while unwinding.
            let _ = thread.join();
        }
    }
}

/// The body of the `testbed-site` thread: build the runtime, report readiness, serve until told to
/// stop, then give hanging requests [`SHUTDOWN_GRACE`] and drop the rest.
fn run_site(
    listener: TcpListener,
    app: axum::Router,
    counters: Arc<Counters>,
    stop: CancellationToken,
    ready: mpsc::SyncSender<io::Result<()>>,
) {
    let started = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("testbed-site-worker")
        .enable_all()
        .build()
        .and_then(|runtime| {
            let _context = runtime.enter();
            let listener = tokio::net::TcpListener::from_std(listener)?;
            Ok((runtime, listener))
        });
    let (runtime, listener) = match started {
        Ok(started) => started,
        Err(error) => {
            let _ = ready.send(Err(error));
            return;
        }
    };
    let _ = ready.send(Ok(()));

    runtime.block_on(async move {
        // Small responses must not wait for Nagle's algorithm (up to 40 ms with delayed ACKs).
        let listener = listener.tap_io(move |stream| {
            counters.connections.fetch_add(1, Relaxed);
            let _ = stream.set_nodelay(true);
        });
        let server = axum::serve(listener, app)
            .with_graceful_shutdown(stop.clone().cancelled_owned())
            .into_future();
        let server = tokio::spawn(server);
        stop.cancelled().await;
        // Either every connection finishes within the grace period, or the runtime's shutdown
        // below drops what is left (the timeout result says which; both are fine here).
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, server).await;
    });
    runtime.shutdown_timeout(RUNTIME_STOP);
}
