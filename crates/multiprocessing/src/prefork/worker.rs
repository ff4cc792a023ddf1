//! A worker process: collect the listener, accept on it beside the other workers, one thread per
//! connection up to a cap, and stop when the control channel says so.
//!
//! # Accepting on a shared listener
//!
//! Every worker holds the same listening socket, so a new connection can be accepted by any of
//! them. Each worker waits in `poll` on two descriptors: the listener and its control channel.
//! When a connection arrives, the kernel wakes every worker waiting on the listener; one wins
//! the `accept`, the others get `WouldBlock` and go back to `poll` (which is why the listener is
//! non-blocking: a blocking `accept` would leave the losers stuck in it, unable to see a stop).
//! Waking them all is the "thundering herd"; with a handful of workers it costs a few wasted
//! system calls per connection. (Linux's `EPOLLEXCLUSIVE` wakes one waiter instead.)
//!
//! # One thread per connection, and what it costs
//!
//! Within a worker each client gets an OS thread running a plain blocking loop: the simplest
//! correct code, and the cap bounds the threads. The cost is a stack per connection (reserved
//! address space; only touched pages use memory) and a context switch per request; for thousands
//! of mostly idle connections per worker an event loop (chapter 4) is the better fit. The cap is
//! per worker: a worker that is full answers `ERR too many connections` even if another worker
//! has room, because workers do not know of each other. A server-wide cap would need a counter
//! all workers share (a [`shared::Value`](crate::shared::Value)).
//!
//! # Stopping
//!
//! The control channel becomes readable when the parent asks the worker to stop (it shuts down
//! its side) and when the parent dies. The worker then stops accepting and gives its live
//! connections the grace period to finish; those still open after it are closed (shut down,
//! which makes their blocked reads return), and counted in [`WorkerReport::cut_at_shutdown`].

use std::collections::HashMap;
use std::io;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use rustix::event::{PollFd, PollFlags, poll};
use serde::{Deserialize, Serialize};
use testbed::line::Reply;

use super::connection::{Ending, send_reply, serve_line_protocol};
use super::handoff::Ticket;
use super::{BUSY_REPLY, PreforkError};

/// After an `accept` error other than "someone else took it" (typically "too many open files"),
/// wait this long before trying again rather than spin on the same error.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// After the grace period, how long the connections that were closed get to end their threads.
const AFTER_CUT: Duration = Duration::from_secs(1);

/// A worker's limits; part of [`WorkerJob`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerConfig {
    /// Connections this worker serves at once; one more gets [`BUSY_REPLY`].
    pub max_connections: usize,
    /// A client silent this long is dropped (also bounds each write).
    pub idle_timeout: Duration,
    /// How long live connections may go on after a stop, before they are closed.
    pub grace: Duration,
    /// How long to wait for the parent to hand over the listener.
    pub handoff_timeout: Duration,
}

/// The argument of a worker process: where to collect the listener, and the limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerJob {
    /// The parent's hand-off point.
    pub ticket: Ticket,
    /// The limits.
    pub config: WorkerConfig,
}

/// What one worker did, returned when it exits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerReport {
    /// Connections served.
    pub accepted: u64,
    /// Connections turned away with [`BUSY_REPLY`].
    pub rejected: u64,
    /// Connections dropped for silence.
    pub idle_timeouts: u64,
    /// Connections that ended with an I/O error (abrupt disconnects).
    pub broken: u64,
    /// Connection threads that panicked (a bug: should stay 0).
    pub panicked: u64,
    /// Connections still open when the grace period ended, closed by the worker.
    pub cut_at_shutdown: u64,
}

/// The worker's whole life, as a function for [`Process::spawn_fallible`](crate::Process):
/// collect the listener, serve until told to stop, report.
///
/// Errors: the listener could not be collected ([`PreforkError::Handoff`]), or waiting on it
/// failed ([`PreforkError::Io`]). Clients' misbehaviour is never an error: it is answered and
/// counted.
pub fn serve(job: WorkerJob) -> Result<WorkerReport, PreforkError> {
    let (listener, control) =
        job.ticket
            .redeem(job.config.handoff_timeout)
            .map_err(|source| PreforkError::Handoff {
                worker: std::process::id(),
                source,
            })?;
    let live = Arc::new(Live::default());
    let threads = accept_until_stopped(&listener, &control, &live, &job.config).map_err(
        |source| PreforkError::Io {
            doing: "waiting for connections",
            source,
        },
    )?;
    drop(listener); // this worker takes no more connections; the others still may
    let cut_at_shutdown = drain(&live, threads, job.config.grace);
    Ok(live.report(cut_at_shutdown))
}

// ANCHOR: accept_loop
/// Accepts until the control channel becomes readable; returns the connection threads.
fn accept_until_stopped(
    listener: &TcpListener,
    control: &UnixStream,
    live: &Arc<Live>,
    config: &WorkerConfig,
) -> io::Result<Vec<JoinHandle<()>>> {
    let mut threads = Vec::new();
    loop {
        let mut fds = [
            PollFd::new(listener, PollFlags::IN),
            PollFd::new(control, PollFlags::IN),
        ];
        match poll(&mut fds, None) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(error) => return Err(error.into()),
        }
        if !fds[1].revents().is_empty() {
            return Ok(threads); // asked to stop, or the parent is gone
        }
        match listener.accept() {
            Ok((stream, _)) => {
                threads.retain(|thread: &JoinHandle<()>| !thread.is_finished());
                threads.extend(admit(stream, live, config));
            }
            // Another worker won this connection, or a signal interrupted us.
            Err(error) if is_retry(&error) => {}
            Err(_) => thread::sleep(ACCEPT_BACKOFF),
        }
    }
}
// ANCHOR_END: accept_loop

fn is_retry(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}

/// Starts a thread for `stream`, or turns it away if this worker is full.
fn admit(
    stream: TcpStream,
    live: &Arc<Live>,
    config: &WorkerConfig,
) -> Option<JoinHandle<()>> {
    let Some(id) = live.register(&stream, config.max_connections) else {
        reject(&stream, live);
        return None;
    };
    live.counters.accepted.fetch_add(1, Ordering::Relaxed);
    let guard = Deregister {
        live: Arc::clone(live),
        id,
    };
    let idle_timeout = config.idle_timeout;
    let spawned = thread::Builder::new()
        .name(format!("conn-{id}"))
        .spawn(move || {
            let guard = guard;
            // The listener is non-blocking, and on some systems accepted sockets inherit
            // that; this loop wants blocking reads with a timeout.
            let ending = match stream.set_nonblocking(false) {
                Ok(()) => serve_line_protocol(&stream, idle_timeout),
                Err(_) => Ending::Broken,
            };
            guard.live.count(ending);
        });
    match spawned {
        Ok(thread) => Some(thread),
        Err(_) => {
            // No thread: the closure was dropped unrun, which closed the stream and ran the
            // guard. Count the client as turned away.
            live.counters.accepted.fetch_sub(1, Ordering::Relaxed);
            live.counters.rejected.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

/// Tells a client this worker is full, and closes the connection.
fn reject(stream: &TcpStream, live: &Live) {
    live.counters.rejected.fetch_add(1, Ordering::Relaxed);
    // The reply fits in the socket's send buffer, so this does not wait for the client; errors
    // mean the client is gone already.
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
    let busy = Reply {
        text: BUSY_REPLY.into(),
        close: true,
    };
    let _ = send_reply(stream, &busy);
    let _ = stream.shutdown(Shutdown::Write);
}

/// Waits up to `grace` for the live connections to end, closes the rest, and joins the
/// threads that ended. Returns how many connections had to be closed.
fn drain(live: &Live, threads: Vec<JoinHandle<()>>, grace: Duration) -> u64 {
    let cut = if live.wait_until_empty(grace) {
        0
    } else {
        live.close_all()
    };
    live.wait_until_empty(AFTER_CUT);
    for thread in threads.into_iter().filter(JoinHandle::is_finished) {
        let _ = thread.join(); // a panic was counted by its guard already
    }
    cut
}

#[derive(Default)]
struct Counters {
    accepted: AtomicU64,
    rejected: AtomicU64,
    idle_timeouts: AtomicU64,
    broken: AtomicU64,
    panicked: AtomicU64,
}

/// The live connections (a clone of each stream, so that the worker can close it from outside
/// its thread), and the counters.
#[derive(Default)]
struct Live {
    streams: Mutex<(u64, HashMap<u64, TcpStream>)>,
    ended: Condvar,
    counters: Counters,
}

impl Live {
    fn streams(&self) -> MutexGuard<'_, (u64, HashMap<u64, TcpStream>)> {
        // Each operation under the lock is one insert or remove: a panic cannot leave the map
        // half-changed, so a poisoned lock is still fine to use.
        self.streams.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn register(&self, stream: &TcpStream, max_connections: usize) -> Option<u64> {
        let mut guard = self.streams();
        let (next_id, streams) = &mut *guard;
        if streams.len() >= max_connections {
            return None;
        }
        let id = *next_id;
        *next_id += 1;
        streams.insert(id, stream.try_clone().ok()?);
        Some(id)
    }

    fn deregister(&self, id: u64) {
        self.streams().1.remove(&id);
        self.ended.notify_all();
    }

    fn count(&self, ending: Ending) {
        let counter = match ending {
            Ending::ClientClosed | Ending::ServerClosed => return,
            Ending::IdleTimeout => &self.counters.idle_timeouts,
            Ending::Broken => &self.counters.broken,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn wait_until_empty(&self, timeout: Duration) -> bool {
        let guard = self.streams();
        let (guard, _) = self
            .ended
            .wait_timeout_while(guard, timeout, |(_, streams)| !streams.is_empty())
            .unwrap_or_else(PoisonError::into_inner);
        guard.1.is_empty()
    }

    /// Shuts down every live connection: its thread's blocked read returns and it ends.
    fn close_all(&self) -> u64 {
        let guard = self.streams();
        for stream in guard.1.values() {
            let _ = stream.shutdown(Shutdown::Both);
        }
        guard.1.len() as u64
    }

    fn report(&self, cut_at_shutdown: u64) -> WorkerReport {
        let count = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        WorkerReport {
            accepted: count(&self.counters.accepted),
            rejected: count(&self.counters.rejected),
            idle_timeouts: count(&self.counters.idle_timeouts),
            broken: count(&self.counters.broken),
            panicked: count(&self.counters.panicked),
            cut_at_shutdown,
        }
    }
}

/// Removes a connection from [`Live`] when its thread ends, however it ends.
struct Deregister {
    live: Arc<Live>,
    id: u64,
}

impl Drop for Deregister {
    fn drop(&mut self) {
        if thread::panicking() {
            self.live.counters.panicked.fetch_add(1, Ordering::Relaxed);
        }
        self.live.deregister(self.id);
    }
}
