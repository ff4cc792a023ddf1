//! The tokio runtime an async check runs on.
//!
//! A check written `pub async fn check()` (chapters 4 and 5) needs an executor. The generated code
//! calls [`block_on`] with it, inside the same child process, under the same deadline, as a thread
//! check: the machinery does not care which kind it runs. The runtime is tokio's multi-threaded one
//! with two workers and every driver enabled (time, I/O), which is what `#[tokio::main]` gives a
//! reader's program on a small machine.
//!
//! One detail matters for deadlines: dropping a tokio runtime waits for every task to finish, and a
//! task stuck in blocking code never does. So the runtime is shut down *in the background* once the
//! check has returned or panicked: the verdict is reported at once, and whatever is still stuck
//! dies with the process. A check that wants a different runtime (a current-thread one, say, to
//! show what blocking does to it) is written as a plain `pub fn check()` that builds its own.

use std::future::Future;

/// Runs `check` to completion on a fresh multi-threaded tokio runtime; a panic in it propagates.
///
/// # Panics
///
/// When the runtime cannot be built (the OS refuses threads), or when `check` panics.
pub fn block_on<F: Future<Output = ()>>(check: F) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("check-runtime")
        .enable_all()
        .build()
        .expect("the check's tokio runtime starts");
    let runtime = ShutDownInBackground(Some(runtime));
    runtime.get().block_on(check);
}

/// Owns the runtime and shuts it down without waiting, however the check ends.
struct ShutDownInBackground(Option<tokio::runtime::Runtime>);

impl ShutDownInBackground {
    fn get(&self) -> &tokio::runtime::Runtime {
        self.0.as_ref().expect("present until dropped")
    }
}

impl Drop for ShutDownInBackground {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}
