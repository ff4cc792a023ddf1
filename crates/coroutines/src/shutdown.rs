//! Graceful shutdown for async servers: stop on a signal, let the work in progress finish within a
//! grace period, and stop it anyway when the period runs out or the operator insists.
//!
//! A server has three kinds of task: the one that accepts, the ones that serve a client each, and
//! the `main` that waits for the end. Shutting down well means telling the first two kinds to stop,
//! knowing when they all have, and not waiting forever for one that does not. Python's asyncio
//! leaves this to each program (`loop.add_signal_handler`, `server.close()`,
//! `await server.wait_closed()`, `asyncio.wait_for` around it); tokio gives the two pieces this
//! module puts together:
//!
//! - a [`CancellationToken`] is the "please stop" flag that every task can `await`
//!   (`token.cancelled()` inside a `select!`); cancelling it wakes them all at once. There are two:
//!   the *graceful* one (stop accepting, finish the request in hand, close) and the *forced* one
//!   (drop everything now), cancelled when the grace period runs out or a second signal arrives.
//! - a [`TaskTracker`] counts the tasks spawned through it and can be awaited until it is empty
//!   (once closed). Unlike a `JoinSet` it keeps no results, so a server that has served a million
//!   connections holds no million handles.
//!
//! # The sequence
//!
//! 1. [`Shutdown::request`] (from a signal, from [`Shutdown::listen_for_signals`], or from code)
//!    cancels the graceful token. Tasks notice at their next `select!`.
//! 2. [`Shutdown::drain`] closes the tracker and waits for it to empty, for at most the grace
//!    period. If everything ends in time, the report says [`Outcome::Drained`].
//! 3. Otherwise, or as soon as a second request comes (a second Ctrl-C), it cancels the forced
//!    token and waits [`Shutdown::force_wait`] more for the tasks to drop what they hold. Whatever
//!    is still running after that is counted in the report, never waited for: the caller decides
//!    (usually by returning from `main`, which ends the runtime and drops those tasks).
//!
//! mini-redis (tokio's teaching server) does the same with a `broadcast` channel as the flag and
//! an `mpsc` channel whose closing says "all tasks are gone"; the token and the tracker are the
//! `tokio-util` versions of those two tricks.
//!
//! # Signals
//!
//! [`Shutdown::listen_for_signals`] turns Ctrl-C (SIGINT) and, on Unix, SIGTERM into requests: the
//! first asks for a graceful stop, the second forces it. Once tokio handles a signal, the default
//! action (ending the process) no longer happens, which is why the second signal must be handled
//! too: an operator who presses Ctrl-C twice expects the program to go.
//!
//! Tests drive the same states without real signals, by calling [`Shutdown::request`].

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long [`Shutdown::drain`] waits, once the stop is forced, for tasks to drop what they hold.
pub const DEFAULT_FORCE_WAIT: Duration = Duration::from_secs(1);

/// What a call to [`Shutdown::request`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// The first request: tasks are asked to finish and stop.
    Graceful,
    /// A later request: tasks are told to stop now.
    Forced,
}

/// How [`Shutdown::drain`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every tracked task ended within the grace period.
    Drained,
    /// The grace period ran out, and the stop was forced.
    GraceExpired,
    /// A second request forced the stop before the grace period ran out.
    Forced,
}

/// What [`Shutdown::drain`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrainReport {
    /// How it ended.
    pub outcome: Outcome,
    /// Tracked tasks still running when the stop was forced (0 when drained).
    pub running_when_forced: usize,
    /// Tracked tasks still running when `drain` returned: those that ignored the forced token
    /// too. 0 unless a task is stuck somewhere it does not look at the token.
    pub still_running: usize,
    /// From the start of `drain` to its end.
    pub elapsed: Duration,
}

/// A shutdown coordinator: the two tokens, the task tracker and the grace period. Cheap to clone;
/// clones share everything.
#[derive(Debug, Clone)]
pub struct Shutdown {
    graceful: CancellationToken,
    forced: CancellationToken,
    tracker: TaskTracker,
    requests: Arc<AtomicUsize>,
    /// Tracked tasks running at the moment the stop was forced.
    running_when_forced: Arc<AtomicUsize>,
    grace: Duration,
    force_wait: Duration,
}

impl Shutdown {
    /// A coordinator whose [`drain`](Self::drain) gives tasks `grace` to finish.
    pub fn new(grace: Duration) -> Shutdown {
        Shutdown {
            graceful: CancellationToken::new(),
            forced: CancellationToken::new(),
            tracker: TaskTracker::new(),
            requests: Arc::new(AtomicUsize::new(0)),
            running_when_forced: Arc::new(AtomicUsize::new(0)),
            grace,
            force_wait: DEFAULT_FORCE_WAIT,
        }
    }

    /// The same, waiting `force_wait` (instead of [`DEFAULT_FORCE_WAIT`]) after a forced stop.
    pub fn with_force_wait(mut self, force_wait: Duration) -> Shutdown {
        self.force_wait = force_wait;
        self
    }

    /// The grace period.
    pub fn grace(&self) -> Duration {
        self.grace
    }

    /// How long a forced stop is waited for.
    pub fn force_wait(&self) -> Duration {
        self.force_wait
    }

    /// Cancelled by the first request: stop accepting new work, finish what is in hand.
    pub fn graceful_token(&self) -> CancellationToken {
        self.graceful.clone()
    }

    /// Cancelled when the stop is forced: drop what is in hand now.
    pub fn forced_token(&self) -> CancellationToken {
        self.forced.clone()
    }

    /// The tracker: tasks spawned through it are the ones [`drain`](Self::drain) waits for.
    pub fn tracker(&self) -> &TaskTracker {
        &self.tracker
    }

    /// Spawns `task` on the current runtime, tracked.
    pub fn spawn<F>(&self, task: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.tracker.spawn(task)
    }

    /// Tracked tasks that have not ended yet.
    pub fn running(&self) -> usize {
        self.tracker.len()
    }

    // ANCHOR: request
    /// Asks for a stop: the first call cancels the graceful token, any later one the
    /// forced token.
    pub fn request(&self) -> Request {
        if self.requests.fetch_add(1, Ordering::AcqRel) == 0 {
            self.graceful.cancel();
            Request::Graceful
        } else {
            self.force();
            Request::Forced
        }
    }
    // ANCHOR_END: request

    /// Cancels the forced token, the first time noting how many tasks it stops.
    fn force(&self) {
        if !self.forced.is_cancelled() {
            let running = self.tracker.len();
            self.running_when_forced.store(running, Ordering::Release);
            self.forced.cancel();
        }
    }

    /// Whether a stop has been requested.
    pub fn is_requested(&self) -> bool {
        self.graceful.is_cancelled()
    }

    /// Waits until a stop is requested.
    pub async fn requested(&self) {
        self.graceful.cancelled().await;
    }

    /// Spawns a task that turns Ctrl-C and (on Unix) SIGTERM into [`request`](Self::request)s:
    /// the first signal asks for a graceful stop, the second forces it. The task is not tracked (it
    /// is not work to drain); it ends after the second signal.
    ///
    /// Errors: the signal handlers could not be installed. Must be called inside a runtime.
    pub fn listen_for_signals(&self) -> io::Result<JoinHandle<()>> {
        let mut signals = Signals::install()?;
        let shutdown = self.clone();
        Ok(tokio::spawn(async move {
            loop {
                if signals.next().await.is_err() {
                    return; // the signal stream broke: nothing more will arrive
                }
                if shutdown.request() == Request::Forced {
                    return;
                }
            }
        }))
    }

    // ANCHOR: drain
    /// Requests a stop (if nobody has yet), then waits for the tracked tasks: for the
    /// grace period, then, once forced, for [`force_wait`](Self::force_wait) more.
    pub async fn drain(&self) -> DrainReport {
        let started = Instant::now();
        if !self.is_requested() {
            self.request();
        }
        self.tracker.close();
        let outcome = tokio::select! {
            biased;
            () = self.forced.cancelled() => Outcome::Forced,
            () = self.tracker.wait() => Outcome::Drained,
            () = tokio::time::sleep(self.grace) => Outcome::GraceExpired,
        };
        if outcome != Outcome::Drained {
            self.force();
            // Tasks that watch the forced token end at once; give them a moment to.
            let _ = tokio::time::timeout(self.force_wait, self.tracker.wait()).await;
        }
        DrainReport {
            outcome,
            running_when_forced: self.running_when_forced.load(Ordering::Acquire),
            still_running: self.tracker.len(),
            elapsed: started.elapsed(),
        }
    }
    // ANCHOR_END: drain
}

/// Ctrl-C, and SIGTERM where there is such a thing.
struct Signals {
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> io::Result<Signals> {
        Ok(Signals {
            #[cfg(unix)]
            terminate: tokio::signal::unix::signal(
                tokio::signal::unix::SignalKind::terminate(),
            )?,
        })
    }

    /// The next Ctrl-C or SIGTERM.
    async fn next(&mut self) -> io::Result<()> {
        #[cfg(unix)]
        {
            tokio::select! {
                result = tokio::signal::ctrl_c() => result,
                received = self.terminate.recv() => received.ok_or_else(|| {
                    io::Error::other("the SIGTERM stream ended")
                }),
            }
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c().await
        }
    }
}
