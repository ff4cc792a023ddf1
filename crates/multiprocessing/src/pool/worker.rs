//! The worker's side: the loop a pool worker process runs, and how it runs one chunk.
//!
//! A worker is an ordinary child, started by [`Process::spawn`](crate::Process::spawn) with
//! [`worker_main`] as its function, so it goes through the same start-up path as any child
//! (the fork server by default, which makes a replacement worker cheap). It then loops: take a
//! task, run it, send the reply, until the pool hangs up its end of the task channel.
//!
//! Why it is written so:
//! - **Panics stay in their item.** Each call runs under `catch_unwind`, and a panic hook of the
//!   worker's own records where it happened (the payload does not say), so a panicking item
//!   becomes [`TaskError::Panicked`](super::TaskError::Panicked) in the parent with its message
//!   and location, and the worker goes on. The hook prints nothing: the parent gets the report.
//! - **Anything else ends the worker**: `abort`, `exit`, a signal. The parent notices that the
//!   reply channel closed, reads the exit status, and fails or retries only the task it had sent.
//! - **The worker sends one reply per task and nothing else**, so the parent can match replies
//!   to tasks by their order as well as by their id.

use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};

use serde::{Deserialize, Serialize};

use super::wire::{ChunkOutcome, Initializer, ItemOutcome, Reply, WorkerSetup};

thread_local! {
    /// Where the last panic on this thread happened, recorded by the worker's hook.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The function every pool worker process runs.
pub(crate) fn worker_main(setup: WorkerSetup) {
    install_panic_hook();
    if let Some(initializer) = setup.initializer {
        run_initializer(&initializer);
    }
    while let Ok(task) = setup.tasks.recv() {
        let outcomes = task
            .function
            .run(&task.arguments)
            .unwrap_or_else(|reason| encode(&ChunkOutcome::<()>::Refused(reason)));
        let reply = Reply {
            id: task.id,
            outcomes: serde_bytes::ByteBuf::from(outcomes),
        };
        if setup.replies.send(reply).is_err() {
            return; // the pool is gone
        }
    }
}

/// Runs the initializer; a panic in it is raised again here, so that it ends the worker and
/// reaches the parent as the worker's own panic (the pool then reports itself broken).
fn run_initializer(initializer: &Initializer) {
    let outcome = initializer
        .function
        .run(&initializer.argument)
        .and_then(|bytes| {
            postcard::from_bytes::<ChunkOutcome<()>>(&bytes).map_err(|e| e.to_string())
        });
    match outcome {
        Ok(ChunkOutcome::Ran(mut outcomes)) => match outcomes.pop() {
            Some(ItemOutcome::Panicked { message, location }) => {
                panic!("the initializer panicked at {location}: {message}")
            }
            Some(ItemOutcome::Returned(())) | None => {}
        },
        Ok(ChunkOutcome::Refused(reason)) | Err(reason) => {
            panic!("the initializer could not run: {reason}")
        }
    }
}

/// Called by the task trampoline in `start/fnid.rs` with the recovered function: decode the
/// arguments, call `f` on each under `catch_unwind`, encode the outcomes.
pub(crate) fn run_chunk<A, R>(arguments: &[u8], f: impl Fn(A) -> R) -> Vec<u8>
where
    A: Serialize + for<'de> Deserialize<'de>,
    R: Serialize + for<'de> Deserialize<'de>,
{
    let arguments: Vec<A> = match postcard::from_bytes(arguments) {
        Ok(arguments) => arguments,
        Err(error) => {
            let reason = format!(
                "could not decode the arguments as {}: {error}",
                std::any::type_name::<A>()
            );
            return encode(&ChunkOutcome::<R>::Refused(reason));
        }
    };
    let outcomes: Vec<ItemOutcome<R>> =
        arguments.into_iter().map(|a| call(&f, a)).collect();
    match postcard::to_allocvec(&ChunkOutcome::Ran(outcomes)) {
        Ok(bytes) => bytes,
        Err(error) => encode(&ChunkOutcome::<R>::Refused(format!(
            "could not encode the results of type {}: {error}",
            std::any::type_name::<R>()
        ))),
    }
}

fn call<A, R>(f: &impl Fn(A) -> R, argument: A) -> ItemOutcome<R> {
    match panic::catch_unwind(AssertUnwindSafe(|| f(argument))) {
        Ok(value) => ItemOutcome::Returned(value),
        Err(payload) => ItemOutcome::Panicked {
            message: crate::error::panic_text(payload.as_ref())
                .unwrap_or_else(|| "<non-string panic payload>".to_string()),
            location: LAST_PANIC
                .with(|last| last.borrow_mut().take())
                .unwrap_or_else(|| "<unknown location>".to_string()),
        },
    }
}

fn encode<R: Serialize>(outcome: &ChunkOutcome<R>) -> Vec<u8> {
    postcard::to_allocvec(outcome).expect("a refusal (a string) always encodes")
}

fn install_panic_hook() {
    panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_else(|| "<unknown location>".into());
        LAST_PANIC.with(|last| *last.borrow_mut() = Some(location));
    }));
}
