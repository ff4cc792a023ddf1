//! The child's side of start-up, the same for both start methods from the moment the child holds
//! its instructions channel: read the header, check it, find the function, receive the argument,
//! run the function, send back the one [`Outcome`] message, exit.
//!
//! A spawned child first has to get that channel (`run_child`: die with the parent, connect to the
//! parent's one-shot server, greet it, receive the channel); a forked child is handed it by the
//! fork server (see `forkserver/zygote.rs`). Both then call [`run_instructions`].
//!
//! Why this shape:
//! - **The argument is sent with `send`, not as bytes.** ipc-channel carries channel ends and shared
//!   memory (`IpcSender`, `IpcReceiver`, `IpcSharedMemory`, and the crate's queues and locks that wrap
//!   them) as file descriptors *beside* the bytes. Only a real `send` moves those descriptors, so the
//!   argument goes through a channel typed `A` (the same socket, retyped with `to_opaque().to()`).
//! - **One channel, retyped.** The header and the argument travel on one channel in order; the
//!   child reads the header, learns which `A` to expect from the trampoline, and reads `A`. The
//!   parent fills that channel before the child exists, so `spawn` need not wait for the child.
//! - **Everything the child can report is an [`Outcome`]**: a value, the text of the error a
//!   fallible function returned, a panic (message and location, caught by a panic hook and
//!   `catch_unwind`), or a failure to decode the argument or encode the result. Only a child that exits or is killed without reporting is a "died" case,
//!   and then the parent reads the exit status.

use std::panic::{self, AssertUnwindSafe};
use std::sync::OnceLock;

use ipc_channel::ipc::{
    self, IpcReceiver, IpcSender, OpaqueIpcReceiver, OpaqueIpcSender,
};
use serde::{Deserialize, Serialize};

use super::protocol::{
    BOOTSTRAP_ENV, BootstrapSpec, EXIT_BOOTSTRAP_FAILED, EXIT_FAILED, EXIT_ORPHANED,
    Header, Hello, Outcome, describe_decode_failure,
};
use crate::ipc::send_checked;

static CURRENT_NAME: OnceLock<String> = OnceLock::new();

/// Wraps the panic hook so that the panics `ipc.rs` catches and turns into errors (ipc-channel's
/// for a message with more than 64 file descriptors, which `ipc::send_checked` makes
/// [`Error::TooManyHandles`](crate::Error::TooManyHandles)) are not also printed as if the program had crashed. Every other
/// panic goes to the previous hook unchanged. (A hook the program installs after `init()`
/// replaces this one; then that message is printed, nothing more.)
pub(crate) fn quiet_checked_sends() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !crate::ipc::in_checked_call() {
                previous(info);
            }
        }));
    });
}

/// The name of the current process: `"MainProcess"` in the parent, the name given to
/// [`Builder::name`](crate::Builder::name) (or `"Process-N"`) in a child. Python's
/// `multiprocessing.current_process().name`.
pub fn current_process_name() -> &'static str {
    CURRENT_NAME.get().map_or("MainProcess", String::as_str)
}

/// What the trampoline needs in the child: the two channel ends, still untyped.
pub(crate) struct ChildContext {
    from_parent: OpaqueIpcReceiver,
    to_parent: OpaqueIpcSender,
}

/// The child's whole life. Never returns.
pub(crate) fn child_main(spec: BootstrapSpec) -> ! {
    exit_child(run_child(spec))
}

/// Ends a child: its exit code, or a start-up failure said on stderr. Never returns.
pub(crate) fn exit_child(result: Result<i32, String>) -> ! {
    let code = match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!(
                "multiprocessing: child process {} could not start: {message}",
                std::process::id()
            );
            EXIT_BOOTSTRAP_FAILED
        }
    };
    use std::io::Write;
    let _ = std::io::stdout().flush();
    std::process::exit(code)
}

fn run_child(spec: BootstrapSpec) -> Result<i32, String> {
    crate::platform::name_after_program();
    if !crate::platform::die_with_parent(spec.parent_pid)? {
        // The parent died before we could ask to die with it: nobody is waiting for us.
        eprintln!(
            "multiprocessing: process {} exits: its parent {} is gone (or did not start it: \
             was {BOOTSTRAP_ENV} inherited?)",
            std::process::id(),
            spec.parent_pid
        );
        return Ok(EXIT_ORPHANED);
    }
    #[cfg(feature = "test-hooks")]
    super::test_hook::before_connect();
    let (to_child, from_parent) =
        ipc::channel::<OpaqueIpcReceiver>().map_err(|e| e.to_string())?;
    let hello_sender = IpcSender::<Hello>::connect(spec.server_name)
        .map_err(|e| format!("cannot connect to the parent: {e}"))?;
    hello_sender
        .send(Hello::Child {
            pid: std::process::id(),
            to_child: to_child.to_opaque(),
        })
        .map_err(|e| format!("cannot greet the parent: {e}"))?;
    // The parent wrote the header and the argument into a channel of its own before we even
    // started; it now hands us that channel's receiving end.
    let instructions: IpcReceiver<Header> = from_parent
        .recv()
        .map_err(|e| format!("no instructions from the parent: {e}"))?
        .to();
    drop(from_parent);
    run_instructions(instructions, hello_sender.to_opaque())
}

/// The part of a child's life that both start methods share: read the header, check it, run the
/// function it names with the argument that follows, report. Returns the exit code.
pub(crate) fn run_instructions(
    instructions: IpcReceiver<Header>,
    to_parent: OpaqueIpcSender,
) -> Result<i32, String> {
    let header = instructions
        .recv()
        .map_err(|e| format!("no header from the parent: {e}"))?;
    let _ = CURRENT_NAME.set(header.name);
    install_panic_hook();
    let context = ChildContext {
        from_parent: instructions.to_opaque(),
        to_parent,
    };
    match header.function.run(header.fingerprint, context) {
        Ok(code) => Ok(code),
        Err((reason, context)) => {
            // Take the argument too (unread) before answering: the parent may still be writing
            // it, and a child that hung up first would make `spawn` fail instead of `join`.
            let argument: IpcReceiver<()> = context.from_parent.to();
            let _ = argument.recv();
            let to_parent: IpcSender<Outcome<()>> = context.to_parent.to();
            let _ = to_parent.send(Outcome::Refused(reason));
            Ok(EXIT_BOOTSTRAP_FAILED)
        }
    }
}

/// Called by the trampolines in `fnid` with the function they recovered, as `call` (an `Err` is
/// the function's own error, already turned into text): receive the argument, run the function,
/// send the outcome. Returns the exit code.
pub(crate) fn run_typed<A, R>(
    context: ChildContext,
    call: impl FnOnce(A) -> Result<R, String>,
) -> i32
where
    A: Serialize + for<'de> Deserialize<'de>,
    R: Serialize + for<'de> Deserialize<'de>,
{
    let arguments: IpcReceiver<A> = context.from_parent.to();
    let to_parent: IpcSender<Outcome<R>> = context.to_parent.to();
    let argument = match arguments.recv() {
        Ok(argument) => argument,
        Err(error) => {
            let reason =
                describe_decode_failure(std::any::type_name::<A>(), "argument", error);
            let _ = to_parent.send(Outcome::Unsendable(reason));
            return EXIT_FAILED;
        }
    };
    drop(arguments);
    let (outcome, code) = match panic::catch_unwind(AssertUnwindSafe(|| call(argument))) {
        Ok(Ok(value)) => (Outcome::Returned(value), 0),
        Ok(Err(message)) => (Outcome::Failed(message), EXIT_FAILED),
        Err(payload) => {
            let (message, location) = take_panic_report(payload.as_ref());
            (Outcome::Panicked { message, location }, EXIT_FAILED)
        }
    };
    match send_checked(&to_parent, outcome, "the result") {
        Ok(()) => code,
        Err(error) => {
            let reason = format!(
                "could not send the result of type {}: {error}",
                std::any::type_name::<R>()
            );
            let _ = to_parent.send(Outcome::Unsendable(reason));
            EXIT_FAILED
        }
    }
}

thread_local! {
    /// The location of the last panic on this thread, recorded by the hook.
    static LAST_PANIC_LOCATION: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// In a child: remember where each panic happened (the payload does not say), and print it with
/// the process's name, then let the default hook print as usual.
fn install_panic_hook() {
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if crate::ipc::in_checked_call() {
            return;
        }
        let location = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_else(|| "<unknown location>".into());
        eprintln!(
            "multiprocessing: process {:?} (pid {}) panicked:",
            current_process_name(),
            std::process::id()
        );
        LAST_PANIC_LOCATION.with(|last| *last.borrow_mut() = Some(location));
        previous(info);
    }));
}

fn take_panic_report(payload: &(dyn std::any::Any + Send)) -> (String, String) {
    let message = crate::error::panic_text(payload)
        .unwrap_or_else(|| "<non-string panic payload>".to_string());
    let location = LAST_PANIC_LOCATION
        .with(|last| last.borrow_mut().take())
        .unwrap_or_else(|| "<unknown location>".into());
    (message, location)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_payloads_become_messages() {
        let payload: Box<dyn std::any::Any + Send> = Box::new("boom");
        assert_eq!(take_panic_report(payload.as_ref()).0, "boom");
        let payload: Box<dyn std::any::Any + Send> = Box::new(String::from("bang"));
        assert_eq!(take_panic_report(payload.as_ref()).0, "bang");
        let payload: Box<dyn std::any::Any + Send> = Box::new(7_u8);
        assert_eq!(
            take_panic_report(payload.as_ref()).0,
            "<non-string panic payload>"
        );
    }
}
