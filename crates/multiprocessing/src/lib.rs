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
//! - [`Error`]: one typed error for everything that can go wrong starting, joining or talking to
//!   a process.
//! - [`queue`]: [`Queue`] and [`JoinableQueue`], many producers and consumers, with an explicit end
//!   of stream (Python's `Queue`, `JoinableQueue`).
//! - [`pipe`](mod@pipe): two connected ends, both ways, or one way (Python's `Pipe`).
//! - [`shared`]: a `Value` and an `Array` of atomic integers in memory every process maps.
//! - [`sync`]: `Lock`, `RLock`, `Semaphore`, `Event`, `Condition`, `Barrier` across processes,
//!   that survive a holder being killed.
//! - [`logging`]: records from every process through one writer, no torn lines.
//!
//! All of these are handles that can travel to a child inside its argument.
//!
//! How it works, for the curious (each module's docs explain its part):
//! - `bootstrap`: the start-up conversation over an `ipc_channel::ipc::IpcOneShotServer`, and the
//!   child's side of it.
//! - `fnid`: how the child finds the function: its offset from a fixed function in the same
//!   executable (the one module with `unsafe` code, and why it is sound).
//! - `startup`: the parent's side of the start-up, on a watcher thread, so that `spawn` returns
//!   at once and a child that dies before it connects cannot hang anyone.
//! - `spawner`: why every child is started from one long-lived thread.
//! - `forkserver`: the fork server, its protocol, and why forking *it* is safe.
//! - `platform`: the Linux parts (`/proc/self/exe`, `PR_SET_PDEATHSIG`, pidfds).
//! - `ipc`: the send and receive helpers every module shares (hang-ups, the 64-descriptor limit,
//!   deadlines).
//!
//! ## Platform
//!
//! Linux only. On other Unix systems (macOS, the BSDs) the crate compiles, and
//! [`Process::spawn`] returns [`Error::Unsupported`]; `.ci/run` checks that it compiles for macOS
//! and FreeBSD. On Windows it does not compile, and says why. (Production code that needs this on every platform: the `procspawn`
//! crate does the same job; it pins an older ipc-channel, which is why the chapter builds its own.)

#![deny(unsafe_code)]

#[cfg(not(unix))]
compile_error!(
    "the multiprocessing crate needs a Unix system: it runs on Linux, and on other Unix systems \
     (macOS, the BSDs) it compiles and Process::spawn returns Error::Unsupported. Windows is not \
     supported: ipc-channel's Windows channels cannot move between threads, which the queues and \
     locks of this crate need."
);

mod bootstrap;
mod child;
mod error;
mod fnid;
mod forkserver;
mod ipc;
pub mod logging;
pub mod pipe;
mod platform;
mod process;
pub mod queue;
pub mod shared;
mod spawner;
mod startup;
pub mod sync;

pub use bootstrap::{BOOTSTRAP_ENV, TEST_HOOK_ENV, current_process_name, init};
pub use child::StartMethod;
pub use error::Error;
pub use forkserver::server_pid as fork_server_pid;
pub use pipe::{Connection, pipe};
pub use process::{Builder, DEFAULT_START_TIMEOUT, Process};
pub use queue::{JoinableQueue, Queue};
