// Does not compile, on purpose (E0277, printed without its code as "error: future cannot be sent
// between threads safely"): a std `MutexGuard` held across an `.await` makes the task's future not
// `Send`, so a multi-threaded runtime cannot move it between worker threads. Shown by
// docs/src/coroutines/vs-threads.md; a `compile_fail` doctest in src/lib.rs keeps it failing. To
// see the error: `rustc --edition 2024 crates/coroutines/compile_fail/std_mutex_across_await.rs`
// (`spawn` below has the bound `tokio::spawn` has, so the file needs no crate).
// ANCHOR: program
use std::future::Future;
use std::sync::{Arc, Mutex};

fn spawn<F: Future + Send + 'static>(task: F) {
    drop(task); // the bound is the point: tokio::spawn requires the same
}

async fn tick() {}

fn main() {
    let counter = Arc::new(Mutex::new(0_u64));
    spawn(async move {
        let mut guard = counter.lock().unwrap();
        tick().await; // the guard is still alive here
        *guard += 1;
    });
}
// ANCHOR_END: program
