//! [`StartMethod`]: which of the two ways a child is started (Python's start methods).
//!
//! The one public item of the start-up path; everything else in `start/` is the machinery behind
//! it. Which method a [`Builder`](crate::Builder) gets without a choice is decided in
//! `parent.rs`: the fork server when it runs, the spawn method when it could not start.

/// How to start a child process (Python's `multiprocessing.set_start_method`, or
/// `get_context(method)` for a single process).
///
/// | method | what happens | cost of a start (measured on the book's machine) |
/// |---|---|---|
/// | [`ForkServer`](StartMethod::ForkServer) (the default) | a small single-threaded server, started by [`init()`](crate::init), forks itself | a fraction of a millisecond |
/// | [`Spawn`](StartMethod::Spawn) | the program is executed again and runs only the function | over a millisecond of CPU |
///
/// Python's third method, *fork* (copy the parent itself), has no safe Rust equivalent: after a
/// `fork` only the forking thread exists, and any lock another thread held stays locked.
///
/// A forked child sees the environment and working directory the parent had when `init()` ran,
/// plus what [`Builder::env`](crate::Builder::env) sets; a spawned child sees the parent's
/// environment as it is when it is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum StartMethod {
    /// Execute `/proc/self/exe` again (Python's *spawn*).
    Spawn,
    /// Fork a pre-started single-threaded server (Python's *forkserver*). If the server could not
    /// start and the method was not chosen explicitly, [`Spawn`](StartMethod::Spawn) is used.
    #[default]
    ForkServer,
}
