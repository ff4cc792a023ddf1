//! An async TCP server for the `testbed` line protocol: one tokio task per connection, the same
//! limits and the same shutdown report as chapter 3's thread-per-connection server.
//!
//! Python's `asyncio.start_server` runs a coroutine per client on one event loop; this is the same
//! design on tokio's runtime, whose worker threads also run the tasks in parallel. A parked task
//! costs the memory of its state (a buffer and a few fields), not a stack, so ten thousand idle
//! clients are cheap where ten thousand threads are not (listing 4.11 and the bench measure both).
//!
//! # The contract every chapter's server shares
//!
//! | situation | what the server does |
//! |---|---|
//! | a line of at most [`MAX_LINE_BYTES`](testbed::line::MAX_LINE_BYTES) bytes | one reply line ([`testbed::line::respond`]); `QUIT` is answered `BYE`, then the connection closes |
//! | a longer line | `ERR line too long`, then the connection closes (the rest is never buffered) |
//! | a line that is not UTF-8 | `ERR invalid utf-8`, and the connection stays open |
//! | more than [`ServerConfig::max_connections`] clients at once | the extra client gets [`BUSY_REPLY`] and is closed at once |
//! | a client silent for [`ServerConfig::idle_timeout`] | it is dropped (a `tokio::time::timeout` around each read) |
//! | a client that disconnects abruptly (mid-line, reset) | its task ends, its slot is freed; nobody else notices |
//! | [`ServerHandle::shutdown`] | stop accepting, end every connection at its next read, wait for every task within [`ServerConfig::shutdown_timeout`], report what happened |
//!
//! # Why a semaphore for the cap
//!
//! Each connection holds an owned permit of a [`Semaphore`] with `max_connections` permits, and
//! gives it back when its task ends, however it ends (the permit is dropped with the task). The
//! accept loop asks with `try_acquire_owned`: no permit, no task, just the busy reply. mini-redis
//! does the same, but *waits* for a permit, which leaves the extra clients hanging in the backlog;
//! the contract here says they get an answer.
//!
//! # Shutdown, and why it is simpler than with threads
//!
//! The thread server needs a doorbell connection to wake its blocked `accept` and a registry of
//! sockets to close from outside. Here every wait is a future inside a `select!` beside the
//! graceful token of a [`Shutdown`](crate::shutdown::Shutdown): cancelling it wakes the accept loop
//! and every connection waiting for a line. A connection busy writing a reply is not interrupted
//! by the graceful token (the request in hand gets its answer) but by the forced one, which the
//! grace period's end cancels: a client that never reads cannot hold the server up. Every task is
//! spawned on the coordinator's `TaskTracker`, so "all done" is one `await`, and the report says
//! how many tasks were left (none, unless something is badly wrong).
//!
//! # Why no lock is held across an `.await`
//!
//! The counters are atomics and the live count is a `watch` channel, so no task ever holds a lock
//! while it waits. A `std::sync::MutexGuard` held across an `.await` would not even compile in a
//! spawned task: it makes the future not `Send`, so the runtime could not move it between worker
//! threads (the book's "Coroutines vs threads" shows the error; this doctest keeps the program,
//! `compile_fail/std_mutex_across_await.rs`, failing):
//!
//! ```compile_fail
#![doc = include_str!("../compile_fail/std_mutex_across_await.rs")]
//! ```

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use testbed::line::{Reply, read_frame_async, reply_to};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::{Instant, timeout};
use tokio_util::sync::CancellationToken;

use crate::shutdown::{DrainReport, Outcome, Shutdown};

/// The reply a client gets when the server already has [`ServerConfig::max_connections`] clients.
pub const BUSY_REPLY: &str = "ERR too many connections";

/// After the server closes a connection, how long it keeps reading (and discarding) what the client
/// still sends, so that unread input does not turn the close into a reset that destroys the reply.
const LINGER: Duration = Duration::from_millis(500);

/// At most this much is discarded while lingering.
const LINGER_BYTES: u64 = 64 * 1024;

/// After an `accept` error (typically "too many open files"), wait this long before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// The read buffer of each connection. `BufReader`'s default is 8 KiB; a line is at most
/// `MAX_LINE_BYTES` (1 KiB) and framing works with any buffer size, so 2 KiB serves as well and
/// keeps an idle connection's memory small (the bench measures it).
const READ_BUFFER_BYTES: usize = 2 * 1024;

/// How long the busy reply may take to send.
const BUSY_WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// The limits of a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Clients served at once; one more gets [`BUSY_REPLY`]. Each costs a task and its buffer.
    pub max_connections: usize,
    /// A client that sends nothing for this long is disconnected. Also bounds each write.
    pub idle_timeout: Duration,
    /// The grace period of [`ServerHandle::shutdown`].
    pub shutdown_timeout: Duration,
}

impl Default for ServerConfig {
    /// 10 000 connections, 30 s idle timeout, 5 s to shut down.
    fn default() -> ServerConfig {
        ServerConfig {
            max_connections: 10_000,
            idle_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(5),
        }
    }
}

/// What went wrong with the server itself (a client's misbehaviour is answered and counted, never
/// an error).
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The address could not be bound (in use, no permission, does not resolve).
    #[error("could not listen on {addr}")]
    Bind {
        /// The address as given.
        addr: String,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The configuration cannot work (a cap of zero).
    #[error("invalid server config: {0}")]
    Config(String),
    /// Tasks were still running when the forced stop had been waited for.
    #[error(
        "shutdown did not finish: {still_running} task(s) still running after {waited:?}"
    )]
    ShutdownTimeout {
        /// How long shutdown waited in all.
        waited: Duration,
        /// Tasks that never ended.
        still_running: usize,
    },
}

/// Counters of what the server has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// Connections being served right now.
    pub live: usize,
    /// Connections accepted and served (not counting rejected ones).
    pub accepted: u64,
    /// Connections turned away with [`BUSY_REPLY`].
    pub rejected: u64,
    /// Connections dropped for being silent longer than the idle timeout.
    pub idle_timeouts: u64,
    /// Connections that ended with an I/O error (reset, cut mid-line): abrupt disconnects.
    pub broken: u64,
    /// Connection tasks that panicked (a bug: should stay 0).
    pub panicked: u64,
}

/// What [`ServerHandle::shutdown`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Live connections that shutdown ended.
    pub closed: usize,
    /// Of those, the ones dropped by the forced stop (busy past the grace period).
    pub forced: usize,
    /// How the drain ended.
    pub outcome: Outcome,
    /// Tasks still running at the end: always 0 in an `Ok` report.
    pub tasks_left: usize,
    /// The counters at the end.
    pub stats: ServerStats,
    /// How long shutdown took.
    pub elapsed: Duration,
}

#[derive(Default)]
struct Counters {
    accepted: AtomicU64,
    rejected: AtomicU64,
    idle_timeouts: AtomicU64,
    broken: AtomicU64,
    panicked: AtomicU64,
    forced: AtomicU64,
}

/// What the accept loop, the connection tasks and the handle share.
struct Shared {
    counters: Counters,
    /// The number of live connections; a `watch` so that `wait_until_idle` can await zero.
    live: watch::Sender<usize>,
    config: ServerConfig,
}

impl Shared {
    fn stats(&self) -> ServerStats {
        let count = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        ServerStats {
            live: *self.live.borrow(),
            accepted: count(&self.counters.accepted),
            rejected: count(&self.counters.rejected),
            idle_timeouts: count(&self.counters.idle_timeouts),
            broken: count(&self.counters.broken),
            panicked: count(&self.counters.panicked),
        }
    }
}

/// Counts a connection live while it exists, and its task's panic if it ends in one.
struct LiveGuard {
    shared: Arc<Shared>,
    _permit: OwnedSemaphorePermit,
}

impl LiveGuard {
    fn new(shared: Arc<Shared>, permit: OwnedSemaphorePermit) -> LiveGuard {
        shared.live.send_modify(|live| *live += 1);
        LiveGuard {
            shared,
            _permit: permit,
        }
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        // A panicking task is dropped while its thread unwinds, so this sees the panic.
        if std::thread::panicking() {
            self.shared
                .counters
                .panicked
                .fetch_add(1, Ordering::Relaxed);
        }
        self.shared.live.send_modify(|live| *live -= 1);
    }
}

/// A running server. Dropping it stops it without waiting (the tasks end at their next `select!`);
/// call [`shutdown`](Self::shutdown) to wait for them and see the report.
pub struct ServerHandle {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Shutdown,
}

/// Binds `addr` and serves the line protocol on it, one task per connection, on the current tokio
/// runtime, until the handle is shut down or dropped. Port 0 picks a free port.
pub async fn spawn(
    addr: impl ToSocketAddrs,
    config: ServerConfig,
) -> Result<ServerHandle, ServerError> {
    let shutdown = Shutdown::new(config.shutdown_timeout);
    spawn_with(addr, config, shutdown).await
}

/// [`spawn`], with a shutdown coordinator of the caller's (to share it with other tasks or to
/// choose its force wait). Its grace period is used, not `config.shutdown_timeout`.
pub async fn spawn_with(
    addr: impl ToSocketAddrs,
    config: ServerConfig,
    shutdown: Shutdown,
) -> Result<ServerHandle, ServerError> {
    if config.max_connections == 0 {
        return Err(ServerError::Config(
            "max_connections must be at least 1".into(),
        ));
    }
    let listener = TcpListener::bind(addr).await;
    let listener = listener.map_err(|source| ServerError::Bind {
        addr: describe_addr(&source),
        source,
    })?;
    let local_addr = listener.local_addr().map_err(|source| ServerError::Bind {
        addr: "the bound listener".into(),
        source,
    })?;
    let shared = Arc::new(Shared {
        counters: Counters::default(),
        live: watch::Sender::new(0),
        config,
    });
    shutdown.spawn(accept_loop(listener, Arc::clone(&shared), shutdown.clone()));
    Ok(ServerHandle {
        local_addr,
        shared,
        shutdown,
    })
}

fn describe_addr(error: &io::Error) -> String {
    // tokio's bind has tried every address the name resolved to; the error is the last one's.
    format!("the given address ({})", error.kind())
}

impl ServerHandle {
    /// The address the server listens on (with the real port when port 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The counters so far.
    pub fn stats(&self) -> ServerStats {
        self.shared.stats()
    }

    /// The server's shutdown coordinator: [`Shutdown::listen_for_signals`] on it makes Ctrl-C and
    /// SIGTERM stop the server; [`Shutdown::requested`] waits for that.
    pub fn shutdown_control(&self) -> &Shutdown {
        &self.shutdown
    }

    /// Tasks of the server still running (the accept loop, connections, busy replies).
    pub fn tasks(&self) -> usize {
        self.shutdown.running()
    }

    /// Waits until no connection is live, up to `limit`; returns whether that happened.
    pub async fn wait_until_idle(&self, limit: Duration) -> bool {
        let mut live = self.shared.live.subscribe();
        timeout(limit, live.wait_for(|live| *live == 0))
            .await
            .is_ok()
    }

    // ANCHOR: shutdown
    /// Stops accepting, ends every connection at its next read, and waits for every
    /// task: for the grace period, then (forced) for the coordinator's force wait.
    pub async fn shutdown(self) -> Result<ShutdownReport, ServerError> {
        let closed = *self.shared.live.borrow();
        let DrainReport {
            outcome,
            still_running,
            elapsed,
            ..
        } = self.shutdown.drain().await;
        if still_running > 0 {
            return Err(ServerError::ShutdownTimeout {
                waited: elapsed,
                still_running,
            });
        }
        Ok(ShutdownReport {
            closed,
            forced: self.shared.counters.forced.load(Ordering::Relaxed) as usize,
            outcome,
            tasks_left: still_running,
            stats: self.stats(),
            elapsed,
        })
    }
    // ANCHOR_END: shutdown
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        // Without an await we cannot wait here; stopping is enough for the tasks to end.
        self.shutdown.request();
        self.shutdown.forced_token().cancel();
    }
}

impl std::fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHandle")
            .field("local_addr", &self.local_addr)
            .field("config", &self.shared.config)
            .field("stats", &self.stats())
            .finish()
    }
}

// ANCHOR: accept_loop
/// Accepts until the graceful token is cancelled; each client gets a task, or the
/// busy reply.
async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, shutdown: Shutdown) {
    let slots = Arc::new(Semaphore::new(shared.config.max_connections));
    let stop = shutdown.graceful_token();
    loop {
        let accepted = tokio::select! {
            biased;
            () = stop.cancelled() => return, // the listener closes here
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _peer)) = accepted else {
            tokio::time::sleep(ACCEPT_BACKOFF).await;
            continue;
        };
        match Arc::clone(&slots).try_acquire_owned() {
            Ok(permit) => {
                shared.counters.accepted.fetch_add(1, Ordering::Relaxed);
                let guard = LiveGuard::new(Arc::clone(&shared), permit);
                shutdown.spawn(serve(stream, guard, shutdown.clone()));
            }
            Err(_) => {
                shared.counters.rejected.fetch_add(1, Ordering::Relaxed);
                shutdown.spawn(reject(stream));
            }
        }
    }
}
// ANCHOR_END: accept_loop

/// Tells a client the server is full and closes the connection.
async fn reject(mut stream: TcpStream) {
    let busy = Reply {
        text: BUSY_REPLY.into(),
        close: true,
    };
    // Errors and timeouts mean the client is gone or not reading: nothing more to tell it.
    let _ = timeout(BUSY_WRITE_TIMEOUT, async {
        stream.write_all(&busy.to_bytes()).await?;
        stream.shutdown().await
    })
    .await;
}

/// Serves one accepted connection and counts how it ended.
async fn serve(stream: TcpStream, guard: LiveGuard, shutdown: Shutdown) {
    // Replies are small and answer a request: send them now, not when a segment fills.
    let _ = stream.set_nodelay(true);
    let counters = &guard.shared.counters;
    let idle_timeout = guard.shared.config.idle_timeout;
    let tokens = Tokens {
        graceful: shutdown.graceful_token(),
        forced: shutdown.forced_token(),
    };
    match converse(stream, idle_timeout, &tokens).await {
        Ending::ClientClosed | Ending::ServerClosed | Ending::Shutdown => {}
        Ending::IdleTimeout => {
            counters.idle_timeouts.fetch_add(1, Ordering::Relaxed);
        }
        Ending::Broken => {
            counters.broken.fetch_add(1, Ordering::Relaxed);
        }
        Ending::Forced => {
            counters.forced.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The two tokens a connection watches.
pub(crate) struct Tokens {
    graceful: CancellationToken,
    forced: CancellationToken,
}

/// How a conversation ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Ending {
    /// The client closed its side between lines.
    ClientClosed,
    /// The server closed it after a reply that ends the conversation (`BYE`, `ERR line too long`).
    ServerClosed,
    /// The client said nothing for the idle timeout.
    IdleTimeout,
    /// A read or write failed, or the input ended mid-line.
    Broken,
    /// Shutdown ended it while it waited for a line.
    Shutdown,
    /// The forced stop ended it while it was busy writing.
    Forced,
}

// ANCHOR: converse
/// The protocol loop over any byte stream: read a bounded line (or stop, if shutdown
/// begins), answer it (or give up, if shutdown is forced), repeat.
pub(crate) async fn converse<S>(
    stream: S,
    idle_timeout: Duration,
    tokens: &Tokens,
) -> Ending
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (reader, mut writer) = tokio::io::split(stream);
    let mut reader = BufReader::with_capacity(READ_BUFFER_BYTES, reader);
    loop {
        let frame = tokio::select! {
            biased;
            () = tokens.graceful.cancelled() => return Ending::Shutdown,
            read = timeout(idle_timeout, read_frame_async(&mut reader)) => match read {
                Err(_elapsed) => return Ending::IdleTimeout,
                Ok(Err(_io)) => return Ending::Broken,
                Ok(Ok(frame)) => frame,
            },
        };
        let Some(reply) = reply_to(&frame) else {
            return Ending::ClientClosed;
        };
        let bytes = reply.to_bytes();
        let send = timeout(idle_timeout, writer.write_all(&bytes));
        tokio::select! {
            biased;
            () = tokens.forced.cancelled() => return Ending::Forced,
            sent = send => match sent {
                Err(_elapsed) => return Ending::IdleTimeout,
                Ok(Err(_io)) => return Ending::Broken,
                Ok(Ok(())) => {}
            },
        }
        if reply.close {
            linger(reader, writer, &tokens.forced).await;
            return Ending::ServerClosed;
        }
    }
}
// ANCHOR_END: converse

/// A graceful close after the server's last reply: send end-of-file, then read and discard what
/// the client still sends (bounded in bytes and time, and cut short by a forced stop).
async fn linger<R, W>(reader: R, mut writer: W, forced: &CancellationToken)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let started = Instant::now();
    let drain = async {
        writer.shutdown().await?;
        tokio::io::copy(&mut reader.take(LINGER_BYTES), &mut tokio::io::sink()).await
    };
    tokio::select! {
        () = forced.cancelled() => {}
        _ = tokio::time::timeout_at(started + LINGER, drain) => {}
    }
}

#[cfg(test)]
mod tests {
    //! The conversation over an in-memory pipe, on the paused clock: timeouts without real waits.

    use super::*;
    use tokio::io::duplex;

    fn tokens() -> Tokens {
        Tokens {
            graceful: CancellationToken::new(),
            forced: CancellationToken::new(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_peer_ends_in_an_idle_timeout_exactly_when_due() {
        let (_client, server) = duplex(4096);
        let idle = Duration::from_secs(30);
        let started = Instant::now();
        let ending = converse(server, idle, &tokens()).await;
        assert_eq!(ending, Ending::IdleTimeout);
        assert_eq!(
            started.elapsed(),
            idle,
            "the paused clock jumps straight to the timeout"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn each_line_restarts_the_idle_timeout() {
        let (mut client, server) = duplex(4096);
        let idle = Duration::from_secs(10);
        let tokens = tokens();
        let conversation =
            tokio::spawn(async move { converse(server, idle, &tokens).await });
        let mut reply = [0_u8; 5];
        for _ in 0..5 {
            tokio::time::sleep(Duration::from_secs(8)).await;
            client.write_all(b"PING\n").await.unwrap();
            client.read_exact(&mut reply).await.unwrap();
            assert_eq!(&reply, b"PONG\n");
        }
        let started = Instant::now();
        let ending = conversation.await.unwrap();
        assert_eq!(ending, Ending::IdleTimeout);
        assert_eq!(started.elapsed(), idle, "10 s after the last line");
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_ends_a_conversation_waiting_for_a_line() {
        let (_client, server) = duplex(4096);
        let tokens = tokens();
        tokens.graceful.cancel();
        let ending = converse(server, Duration::from_secs(30), &tokens).await;
        assert_eq!(ending, Ending::Shutdown);
    }

    #[tokio::test(start_paused = true)]
    async fn a_peer_that_never_reads_is_dropped_by_the_forced_stop() {
        // The pipe holds 16 bytes: the second reply cannot be written while nobody reads.
        let (mut client, server) = duplex(16);
        let tokens = tokens();
        let forced = tokens.forced.clone();
        let conversation = tokio::spawn(async move {
            converse(server, Duration::from_secs(3600), &tokens).await
        });
        let request = format!("ECHO {}\n", "x".repeat(12));
        client.write_all(request.as_bytes()).await.unwrap();
        client.write_all(request.as_bytes()).await.unwrap();
        forced.cancel();
        assert_eq!(conversation.await.unwrap(), Ending::Forced);
    }
}
