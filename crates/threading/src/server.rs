//! A thread-per-connection TCP server for the `testbed` line protocol, with limits and a clean
//! shutdown.
//!
//! One OS thread per client is the simplest server there is: each connection is a plain loop of
//! blocking reads and writes, and the kernel interleaves the threads. Python's
//! `socketserver.ThreadingTCPServer` is the same design. It is a fine choice for hundreds of
//! connections; for tens of thousands, the memory of a stack per thread and the cost of switching
//! between them make async tasks the better fit (chapter 4's `coroutines::server` serves the
//! same protocol with tokio tasks and keeps the same contract).
//! What makes this one fit for production is not the threads but the limits around them.
//!
//! # The contract every chapter's server shares
//!
//! The servers of chapters 2, 3 and 4 speak the same protocol (`testbed::line`: `PING`, `ECHO`,
//! `QUIT`) and keep the same promises, so the same load client and the same tests apply to each:
//!
//! | situation | what the server does |
//! |---|---|
//! | a line of at most [`MAX_LINE_BYTES`](testbed::line::MAX_LINE_BYTES) bytes | one reply line ([`testbed::line::respond`]); `QUIT` is answered `BYE`, then the connection closes |
//! | a longer line | `ERR line too long`, then the connection closes (the rest is never buffered: memory per client stays bounded) |
//! | a line that is not UTF-8 | `ERR invalid utf-8`, and the connection stays open |
//! | more than [`ServerConfig::max_connections`] clients at once | the extra client gets `ERR too many connections` and is closed at once: a clear answer, never a silent hang in the backlog |
//! | a client silent for [`ServerConfig::idle_timeout`] | it is dropped (a read timeout on its socket), so idle clients cannot pin threads forever |
//! | a client that disconnects abruptly (mid-line, reset) | its thread ends, its slot is freed; nobody else notices |
//! | [`ServerHandle::shutdown`] | stop accepting, close every live connection, join every thread within [`ServerConfig::shutdown_timeout`], report what happened |
//!
//! The idle timeout restarts with every byte received (it is a timeout on each `read`), so a client
//! that trickles a byte now and then keeps its connection; what bounds such clients is the cap. A
//! limit on the whole life of a connection would be one more deadline checked in the loop.
//!
//! # How shutdown works, and why this way
//!
//! The accept loop blocks in `accept()`, and std offers no way to interrupt a blocked `accept`. The
//! choices are a non-blocking listener polled every few milliseconds (wasted wake-ups and added
//! latency), a platform call (`shutdown(2)` on a listening socket wakes `accept` on Linux only), or a
//! doorbell: set a `stopping` flag, then connect to our own listener. `accept` returns that
//! connection, the loop checks the flag, sees it set, and exits, dropping the doorbell unanswered.
//! The flag is the signal, the connection only wakes the loop; the flag is an atomic because the
//! handle writes it on one thread and the accept loop reads it on another.
//!
//! Live connections are blocked in `read` on their own threads. Each one is registered (a clone of
//! its `TcpStream`, under a `Mutex`) when it is accepted and deregistered by a drop guard when its
//! thread ends, even by a panic. Shutdown calls `TcpStream::shutdown` on every registered clone,
//! which makes the blocked reads return end-of-file; then it waits on a `Condvar` until the registry
//! is empty, with a deadline, and joins the threads. A connection that does not finish in time is
//! reported in [`ServerError::ShutdownTimeout`] instead of hanging the caller.
//!
//! # Why a `Mutex<HashMap>` and not a lock-free structure
//!
//! The registry is touched twice per connection (insert, remove) and once at shutdown. A mutex is
//! the simplest correct tool for that, and the `Condvar` that shutdown waits on needs one anyway.
//! The counters that are read while the server runs ([`ServerStats`]) are atomics, so reading them
//! never contends with the connections.

use std::collections::HashMap;
use std::io::{self, BufReader, Read, Write};
use std::net::{
    Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs,
};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use testbed::line::{Reply, read_frame, reply_to};

/// The reply a client gets when the server already has [`ServerConfig::max_connections`] clients.
pub const BUSY_REPLY: &str = "ERR too many connections";

/// After the server closes a connection, how long it keeps reading (and discarding) what the
/// client still sends, so that unread input does not turn the close into a reset that could
/// destroy the last reply before the client reads it.
const LINGER: Duration = Duration::from_millis(500);

/// At most this much is discarded while lingering.
const LINGER_BYTES: u64 = 64 * 1024;

/// After an `accept` error (typically "too many open files"), wait this long before trying again,
/// rather than spinning on the same error.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// The limits of a [`Server`](spawn).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Clients served at once; one more gets [`BUSY_REPLY`]. Each costs a thread.
    pub max_connections: usize,
    /// A client that sends nothing for this long is disconnected. Also bounds each write, so a
    /// client that stops reading cannot block its thread forever.
    pub idle_timeout: Duration,
    /// How long [`ServerHandle::shutdown`] waits for the threads to finish.
    pub shutdown_timeout: Duration,
}

impl Default for ServerConfig {
    /// 128 connections, 30 s idle timeout, 5 s to shut down.
    fn default() -> ServerConfig {
        ServerConfig {
            max_connections: 128,
            idle_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(5),
        }
    }
}

/// What went wrong with the server itself (a client's misbehaviour is never an error here: it is
/// answered and counted in [`ServerStats`]).
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
    /// The accept thread could not be started.
    #[error("could not start the accept thread")]
    Spawn(#[source] io::Error),
    /// Shutdown did not finish within [`ServerConfig::shutdown_timeout`].
    #[error("shutdown timed out after {timeout:?} waiting for {waiting_for}")]
    ShutdownTimeout {
        /// The deadline that passed.
        timeout: Duration,
        /// What was still running: the accept loop, or `N connection thread(s)`.
        waiting_for: String,
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
    /// Connections that ended with an I/O error (reset, broken pipe): abrupt disconnects.
    pub broken: u64,
    /// Connection threads that panicked (a bug: should stay 0).
    pub panicked: u64,
}

/// What [`ServerHandle::shutdown`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Live connections that shutdown closed.
    pub closed: usize,
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
}

/// The live connections: a clone of each stream, so that shutdown can close it from outside.
#[derive(Default)]
struct Registry {
    next_id: u64,
    live: HashMap<u64, TcpStream>,
}

/// What the accept loop, the connection threads and the handle share.
struct Shared {
    stopping: AtomicBool,
    registry: Mutex<Registry>,
    /// Notified whenever a connection leaves the registry.
    connection_ended: Condvar,
    counters: Counters,
}

impl Shared {
    fn registry(&self) -> MutexGuard<'_, Registry> {
        // A panic while holding this lock cannot leave the map half-updated (each operation is a
        // single insert or remove), so a poisoned lock is still safe to use.
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers `stream` if there is room; `None` means the server is full.
    fn register(
        &self,
        stream: &TcpStream,
        max_connections: usize,
    ) -> io::Result<Option<u64>> {
        let mut registry = self.registry();
        if registry.live.len() >= max_connections {
            return Ok(None);
        }
        let id = registry.next_id;
        registry.next_id += 1;
        registry.live.insert(id, stream.try_clone()?);
        Ok(Some(id))
    }

    fn deregister(&self, id: u64) -> Option<TcpStream> {
        let removed = self.registry().live.remove(&id);
        self.connection_ended.notify_all();
        removed
    }

    fn stats(&self) -> ServerStats {
        let count = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        ServerStats {
            live: self.registry().live.len(),
            accepted: count(&self.counters.accepted),
            rejected: count(&self.counters.rejected),
            idle_timeouts: count(&self.counters.idle_timeouts),
            broken: count(&self.counters.broken),
            panicked: count(&self.counters.panicked),
        }
    }
}

/// Removes a connection from the registry when its thread ends, however it ends.
struct Deregister {
    shared: Arc<Shared>,
    id: u64,
}

impl Drop for Deregister {
    fn drop(&mut self) {
        if thread::panicking() {
            self.shared
                .counters
                .panicked
                .fetch_add(1, Ordering::Relaxed);
        }
        self.shared.deregister(self.id);
    }
}

/// A running server. Dropping it shuts it down too (ignoring errors); call
/// [`shutdown`](Self::shutdown) to see the report.
pub struct ServerHandle {
    local_addr: SocketAddr,
    config: ServerConfig,
    shared: Arc<Shared>,
    /// The accept thread sends the handles of the connection threads it started when it ends.
    accept_done: mpsc::Receiver<Vec<JoinHandle<()>>>,
    accept_thread: Option<JoinHandle<()>>,
}

/// Binds `addr` and serves the line protocol on it, one thread per connection, until the returned
/// handle is shut down or dropped.
///
/// Port 0 picks a free port; [`ServerHandle::local_addr`] says which.
pub fn spawn(
    addr: impl ToSocketAddrs,
    config: ServerConfig,
) -> Result<ServerHandle, ServerError> {
    let describe = describe_addr(&addr);
    let bind_error = |source| ServerError::Bind {
        addr: describe.clone(),
        source,
    };
    let listener = TcpListener::bind(addr).map_err(bind_error)?;
    let local_addr = listener.local_addr().map_err(bind_error)?;
    let shared = Arc::new(Shared {
        stopping: AtomicBool::new(false),
        registry: Mutex::new(Registry::default()),
        connection_ended: Condvar::new(),
        counters: Counters::default(),
    });
    let (done_tx, accept_done) = mpsc::sync_channel(1);
    let accept_thread = thread::Builder::new()
        .name("accept".into())
        .spawn({
            let shared = Arc::clone(&shared);
            let config = config.clone();
            move || {
                let threads = accept_loop(&listener, &shared, &config);
                // The handle may be gone already (dropped without waiting); nothing to do then.
                let _ = done_tx.send(threads);
            }
        })
        .map_err(ServerError::Spawn)?;
    Ok(ServerHandle {
        local_addr,
        config,
        shared,
        accept_done,
        accept_thread: Some(accept_thread),
    })
}

fn describe_addr(addr: &impl ToSocketAddrs) -> String {
    match addr.to_socket_addrs() {
        Ok(addrs) => addrs.map(|a| a.to_string()).collect::<Vec<_>>().join(", "),
        Err(error) => format!("(unresolved: {error})"),
    }
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

    /// Waits until no connection is live, up to `timeout`; returns whether that happened.
    ///
    /// Handy in tests and before a planned restart; it does not stop new clients from arriving.
    pub fn wait_until_idle(&self, timeout: Duration) -> bool {
        let registry = self.shared.registry();
        let (registry, _) = self
            .shared
            .connection_ended
            .wait_timeout_while(registry, timeout, |r| !r.live.is_empty())
            .unwrap_or_else(PoisonError::into_inner);
        registry.live.is_empty()
    }

    /// Stops accepting, closes every live connection, and joins every thread within
    /// [`ServerConfig::shutdown_timeout`].
    pub fn shutdown(mut self) -> Result<ShutdownReport, ServerError> {
        self.stop()
    }

    // ANCHOR: shutdown
    fn stop(&mut self) -> Result<ShutdownReport, ServerError> {
        let started = Instant::now();
        let deadline = started + self.config.shutdown_timeout;
        let Some(accept_thread) = self.accept_thread.take() else {
            // Already stopped (only reachable from `drop` after `shutdown`).
            return Ok(ShutdownReport {
                closed: 0,
                stats: self.stats(),
                elapsed: Duration::ZERO,
            });
        };
        let threads = match self.stop_accepting(accept_thread, deadline) {
            Ok(threads) => threads,
            Err(error) => {
                // Still close what we can, so no client waits on a server that is going
                // away.
                self.close_live_connections();
                return Err(error);
            }
        };
        let closed = self.close_live_connections();
        self.wait_for_connections(threads, deadline)?;
        Ok(ShutdownReport {
            closed,
            stats: self.stats(),
            elapsed: started.elapsed(),
        })
    }

    /// Sets the flag, rings the doorbell, and collects the connection threads from the
    /// accept loop.
    fn stop_accepting(
        &self,
        accept_thread: JoinHandle<()>,
        deadline: Instant,
    ) -> Result<Vec<JoinHandle<()>>, ServerError> {
        self.shared.stopping.store(true, Ordering::Release);
        // If the doorbell cannot connect, the loop is not waiting in `accept` anyway (or
        // the listener is broken); the deadline below turns either case into an error,
        // not a hang.
        let doorbell = doorbell_addr(self.local_addr);
        let _ = TcpStream::connect_timeout(&doorbell, remaining(deadline));
        let threads =
            self.accept_done
                .recv_timeout(remaining(deadline))
                .map_err(|_| ServerError::ShutdownTimeout {
                    timeout: self.config.shutdown_timeout,
                    waiting_for: "the accept loop".into(),
                })?;
        // It has sent its result, so it is finishing: this join returns at once.
        let _ = accept_thread.join();
        Ok(threads)
    }
    // ANCHOR_END: shutdown

    /// Shuts down both directions of every live connection: its thread's blocked read returns
    /// end-of-file and the thread ends.
    fn close_live_connections(&self) -> usize {
        let registry = self.shared.registry();
        for stream in registry.live.values() {
            // An error means the connection is already closing, which is what we want.
            let _ = stream.shutdown(Shutdown::Both);
        }
        registry.live.len()
    }

    fn wait_for_connections(
        &self,
        threads: Vec<JoinHandle<()>>,
        deadline: Instant,
    ) -> Result<(), ServerError> {
        let registry = self.shared.registry();
        let (registry, _) = self
            .shared
            .connection_ended
            .wait_timeout_while(registry, remaining(deadline), |r| !r.live.is_empty())
            .unwrap_or_else(PoisonError::into_inner);
        let still_running = registry.live.len();
        drop(registry);
        if still_running > 0 {
            return Err(ServerError::ShutdownTimeout {
                timeout: self.config.shutdown_timeout,
                waiting_for: format!("{still_running} connection thread(s)"),
            });
        }
        // Every thread has deregistered, which is the last thing it does: these joins are
        // immediate. A panic was already counted by the drop guard.
        for thread in threads {
            let _ = thread.join();
        }
        Ok(())
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

impl std::fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHandle")
            .field("local_addr", &self.local_addr)
            .field("config", &self.config)
            .field("stats", &self.stats())
            .finish()
    }
}

fn remaining(deadline: Instant) -> Duration {
    deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1))
}

/// Where to connect to wake our own `accept`: a listener on "any address" is reachable on
/// loopback.
fn doorbell_addr(local: SocketAddr) -> SocketAddr {
    let mut addr = local;
    if addr.ip().is_unspecified() {
        addr.set_ip(match local {
            SocketAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
        });
    }
    addr
}

// ANCHOR: accept_loop
/// Accepts until the `stopping` flag is set; returns the threads it started that may
/// still run.
fn accept_loop(
    listener: &TcpListener,
    shared: &Arc<Shared>,
    config: &ServerConfig,
) -> Vec<JoinHandle<()>> {
    let mut threads: Vec<JoinHandle<()>> = Vec::new();
    for incoming in listener.incoming() {
        if shared.stopping.load(Ordering::Acquire) {
            break; // the doorbell, or a client that came too late: not served
        }
        match incoming {
            Ok(stream) => {
                // Forget the threads that have ended, so the list does not grow forever.
                threads.retain(|thread| !thread.is_finished());
                threads.extend(admit(stream, shared, config));
            }
            Err(_) => thread::sleep(ACCEPT_BACKOFF),
        }
    }
    threads
}
// ANCHOR_END: accept_loop

/// Starts a thread for `stream`, or turns it away if the server is full.
fn admit(
    stream: TcpStream,
    shared: &Arc<Shared>,
    config: &ServerConfig,
) -> Option<JoinHandle<()>> {
    let id = match shared.register(&stream, config.max_connections) {
        Ok(Some(id)) => id,
        Ok(None) | Err(_) => {
            reject(stream, shared);
            return None;
        }
    };
    let guard = Deregister {
        shared: Arc::clone(shared),
        id,
    };
    let idle_timeout = config.idle_timeout;
    // Counted before the thread starts, so nobody can see the connection served and ended but
    // not yet counted.
    shared.counters.accepted.fetch_add(1, Ordering::Relaxed);
    let spawned = thread::Builder::new()
        .name(format!("conn-{id}"))
        .spawn(move || {
            let guard = guard;
            serve_connection(&stream, idle_timeout, &guard.shared.counters);
        });
    match spawned {
        Ok(thread) => Some(thread),
        Err(_) => {
            // No thread (the system is out of them). The closure was dropped unrun: the stream
            // closed and the guard deregistered the connection. The client sees the connection
            // close without a reply; count it as turned away, not served.
            shared.counters.accepted.fetch_sub(1, Ordering::Relaxed);
            shared.counters.rejected.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

/// Tells a client the server is full and closes the connection, without blocking the accept loop.
fn reject(stream: TcpStream, shared: &Shared) {
    shared.counters.rejected.fetch_add(1, Ordering::Relaxed);
    // The reply fits easily in the socket's send buffer, so this write does not wait for the client;
    // the timeout is a guard all the same. Errors mean the client is gone: nothing to tell.
    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
    let _ = send_reply(
        &stream,
        &Reply {
            text: BUSY_REPLY.into(),
            close: true,
        },
    );
    let _ = stream.shutdown(Shutdown::Write);
}

/// How a conversation ended (other than by an I/O error).
enum Ending {
    /// The client closed its side.
    ClientClosed,
    /// The server closed it after a reply that ends the conversation (`BYE`, `ERR line too long`).
    ServerClosed,
}

/// Runs one connection to its end and counts how it ended.
fn serve_connection(stream: &TcpStream, idle_timeout: Duration, counters: &Counters) {
    match converse(stream, idle_timeout) {
        Ok(Ending::ClientClosed) => {}
        Ok(Ending::ServerClosed) => linger(stream),
        Err(error) if is_timeout(&error) => {
            counters.idle_timeouts.fetch_add(1, Ordering::Relaxed);
        }
        Err(_) => {
            counters.broken.fetch_add(1, Ordering::Relaxed);
        }
    }
}

// ANCHOR: converse
/// The protocol loop: read a bounded line, answer it, repeat.
fn converse(stream: &TcpStream, idle_timeout: Duration) -> io::Result<Ending> {
    stream.set_read_timeout(Some(idle_timeout))?;
    stream.set_write_timeout(Some(idle_timeout))?;
    // Replies are small and answer a request: send them now rather than wait to fill a
    // segment.
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream);
    loop {
        let frame = read_frame(&mut reader)?;
        let Some(reply) = reply_to(&frame) else {
            return Ok(Ending::ClientClosed);
        };
        send_reply(stream, &reply)?;
        if reply.close {
            return Ok(Ending::ServerClosed);
        }
    }
}
// ANCHOR_END: converse

/// Writes the reply and its newline in one `write` (one segment, not two).
fn send_reply(mut stream: &TcpStream, reply: &Reply) -> io::Result<()> {
    stream.write_all(&reply.to_bytes())
}

/// A graceful close after the server's last reply: send end-of-file, then read and discard what
/// the client still sends (bounded in bytes and time) until it closes too.
///
/// Closing a socket that has unread input makes the kernel send a reset, and a reset can make the
/// client lose the reply it has not read yet. Web servers call this a lingering close.
fn linger(stream: &TcpStream) {
    if stream.shutdown(Shutdown::Write).is_err()
        || stream.set_read_timeout(Some(LINGER)).is_err()
    {
        return;
    }
    let _ = io::copy(&mut stream.take(LINGER_BYTES), &mut io::sink());
}

/// A read timeout shows up as `WouldBlock` on Unix and `TimedOut` on Windows.
fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doorbell_rings_on_loopback_for_a_wildcard_listener() {
        let wildcard: SocketAddr = "0.0.0.0:4242".parse().unwrap();
        assert_eq!(doorbell_addr(wildcard), "127.0.0.1:4242".parse().unwrap());
        let specific: SocketAddr = "127.0.0.2:4242".parse().unwrap();
        assert_eq!(doorbell_addr(specific), specific);
    }
}
