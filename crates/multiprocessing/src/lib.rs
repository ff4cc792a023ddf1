//! # Chapter 2: processes, the Rust way of Python's `multiprocessing`
//!
//! A process has its own memory. Two processes share nothing unless they ask for it, so a crash,
//! a corrupted heap or a runaway allocation in one cannot hurt the others, and every process can
//! run on its own core. The price is that everything the processes tell each other must be
//! serialized and copied through the operating system.
//!
//! Rust has no safe "fork this process and run a function in the copy": after `fork` only one
//! thread survives, and any lock another thread held stays locked forever. So this crate does what
//! Python's *spawn* and *forkserver* start methods do: it **starts the same executable again** and
//! tells the new process which function to run, either once per child (*spawn*), or once in all,
//! as a single-threaded *fork server* that forks a copy of itself for each child (*forkserver*, the
//! default; see [`StartMethod`]). That is why every program that starts processes calls [`init()`]
//! first in `main`: in a child, `init` runs the function and exits; in the parent it starts the
//! fork server and returns. Code before `init()` runs again in every such copy, exactly like
//! module-level code under Python's `if __name__ == "__main__":` guard.
//!
//! ```no_run
//! use multiprocessing::Process;
//!
//! fn sum_of_squares(n: u64) -> u128 {
//!     (0..n).map(|i| u128::from(i) * u128::from(i)).sum()
//! }
//!
//! fn main() -> Result<(), multiprocessing::Error> {
//!     multiprocessing::init();
//!     let workers: Vec<_> = (0..4)
//!         .map(|_| Process::spawn(sum_of_squares, 10_000_000))
//!         .collect::<Result<_, _>>()?;
//!     for worker in workers {
//!         println!("{}", worker.join()?);
//!     }
//!     Ok(())
//! }
//! ```
//!
//! ## What is in here
//!
//! - [`Process`]: start a `fn(A) -> R` in a child, `join` it for its return value, `terminate`,
//!   `kill`, `is_alive`, `exitcode`. A child's panic comes back as [`Error::Panicked`] with its
//!   message and location; a child that was killed as [`Error::Died`].
//!   [`Process::spawn_fallible`] takes a `fn(A) -> Result<T, E>` for any displayable `E`
//!   (`anyhow::Error` too), and an `Err` comes back as [`Error::Failed`] with its text.
//! - [`start`]: [`StartMethod`], the fork server (the default) or the spawn method, and the docs of
//!   how a child starts, drawn once.
//! - [`queue`]: [`Queue`] and [`JoinableQueue`], many producers and consumers, with an explicit end
//!   of stream (Python's `Queue`, `JoinableQueue`).
//! - [`pipe`](mod@pipe): two connected ends, both ways, or one way (Python's `Pipe`).
//! - [`shared`]: a `Value` and an `Array` of atomic integers in memory every process maps.
//! - [`sync`]: `Lock`, `RLock`, `Semaphore`, `Event`, `Condition`, `Barrier` across processes,
//!   that survive a holder being killed.
//! - [`logging`]: records from every process through one writer, no torn lines.
//! - [`prefork`]: a pre-fork TCP server: one listener handed to N worker processes, a supervisor
//!   that replaces a dead worker, a graceful shutdown (the articles' game server, done right).
//!
//! All of these are handles that can travel to a child inside its argument.
//!
//! - [`pool`]: [`pool::Pool`] (`map`, `starmap`, `apply_async`, lazy `imap` and
//!   `imap_unordered`, per-task timeouts, retries, `max_tasks_per_child`) and
//!   [`pool::ProcessPoolExecutor`] (`submit`, `as_completed`, futures that async code can
//!   `.await`), one design under both: a worker that dies costs only the task it was running.
//!
//! ## Errors
//!
//! Every failure is a value, typed by what it concerns:
//!
//! | type | for |
//! |---|---|
//! | [`Error`] | starting, joining and talking to processes: `Process`, `Pipe`, `Queue` (its table maps Python's failure modes to its variants) |
//! | [`queue::PutError`] | a `put` that did not happen: the [`Error`], and the item handed back |
//! | [`sync::SyncError`] | the cross-process `Lock`, `Semaphore`, `Event`, `Condition`, `Barrier` |
//! | [`shared::SharedError`] | creating or receiving shared memory |
//! | [`logging::LogError`] | the log writer and its subscriber |
//! | [`pool::TaskError`], [`pool::PoolError`] | one pool task (its table maps Python's pool failure modes), and the pool itself |
//!
//! ## How it works, for the curious
//!
//! Each module's docs explain its part; the files, in the order a child's life uses them:
//!
//! - `start/`: how a child starts, with both methods drawn side by side in its module docs:
//!   `init.rs` (is this process the parent, a child or the fork server?), `parent.rs` (the
//!   parent's side), `protocol.rs` (what travels), `child.rs` (the child's side), `fnid.rs` (how
//!   the child finds the function), `spawn.rs` (re-executing the program from one long-lived
//!   thread, and the watcher that makes `spawn` return at once), `forkserver/` (the fork server,
//!   and why forking *it* is safe), `started.rs` (a started child, either method).
//! - `process/`: the [`Process`] handle: `builder.rs` (its options) and `state.rs` (the stages of
//!   a child's result, the steps `join` takes through them, what `Drop` does at each).
//! - `platform.rs`: everything Linux-specific (`/proc/self/exe`, `PR_SET_PDEATHSIG`, pidfds).
//! - `ipc.rs`: the send and receive helpers every module shares (hang-ups, the 64-descriptor
//!   limit, deadlines).
//!
//! ## Unsafe code
//!
//! The crate root denies `unsafe`; three modules allow it, each saying so at its top, each block
//! with a `// SAFETY:` comment that points to the module's argument:
//!
//! - `start/fnid.rs`: an offset sent by the parent becomes a function pointer in the child
//!   (a numbered soundness argument), for a child's function and for each pool task;
//! - `start/forkserver/zygote.rs`: `fork()`, changing the environment and signal dispositions,
//!   sound because the fork server has exactly one thread;
//! - `shared.rs`: one raw pointer into shared memory, only ever used as atomics.
//!
//! ## Platform
//!
//! Linux, where everything here is tested. On the other Unix systems (macOS, the BSDs) the crate
//! compiles (`.ci/run` checks macOS and FreeBSD), `init()` returns at once (there is no fork
//! server to start), and [`Process::spawn`] returns [`Error::Unsupported`] before anything starts,
//! because `/proc/self/exe` and `PR_SET_PDEATHSIG` are Linux's; the other types compile there but
//! are not tested there. On Windows it does not compile: the crate is built on Unix interfaces
//! (`fork`, POSIX signals, `std::os::unix`), so a `compile_error!` stops the build with a sentence
//! that says so, instead of a page of missing items. Production code that needs processes on every
//! platform can use the `procspawn` crate, which does the same job; it pins an older ipc-channel,
//! which is why the chapter builds its own.

#![deny(unsafe_code)]

#[cfg(not(unix))]
compile_error!(
    "the multiprocessing crate needs a Unix system: it runs on Linux, and on other Unix systems \
     (macOS, the BSDs) it compiles and Process::spawn returns Error::Unsupported. Windows is not \
     supported: the crate is built on Unix interfaces (fork, POSIX signals, std::os::unix) that \
     have no Windows counterpart in it."
);

mod error;
mod ipc;
pub mod logging;
pub mod pipe;
mod platform;
pub mod pool;
pub mod prefork;
mod process;
pub mod queue;
pub mod shared;
pub mod start;
pub mod sync;

pub use error::Error;
pub use pipe::{Connection, pipe};
pub use process::{Builder, DEFAULT_START_TIMEOUT, Process};
pub use queue::{JoinableQueue, Queue};
pub use start::StartMethod;
pub use start::child::current_process_name;
pub use start::forkserver::server_pid as fork_server_pid;
pub use start::init::init;
pub use start::protocol::BOOTSTRAP_ENV;
#[cfg(feature = "test-hooks")]
pub use start::test_hook::TEST_HOOK_ENV;
