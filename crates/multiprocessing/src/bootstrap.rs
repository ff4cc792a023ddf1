//! The start-up conversation between a parent and a child, and the child's side of it.
//!
//! The parent (see `process.rs`) creates an `IpcOneShotServer`, a listening Unix socket in a fresh
//! temporary directory, and starts `/proc/self/exe` with [`BOOTSTRAP_ENV`] set to
//! `"<parent pid>:<socket path>"`. The child's `main` calls [`init()`] first; `init` sees the
//! variable and never returns:
//!
//! ```text
//!  parent                                         child (same executable)
//!  ──────                                         ──────────────────────
//!  server = IpcOneShotServer::new()
//!  spawn /proc/self/exe, env = ppid:path   ──▶    init(): PR_SET_PDEATHSIG, getppid() == ppid?
//!  accept()  (on a helper thread)                 (to_child, from_parent) = ipc::channel()
//!            ◀── Hello::Child { pid, to_child }── connect(path), send Hello
//!  to_child.send(Header { name, fn, fingerprint })
//!  to_child.send(arg: A)                    ──▶   check fingerprint, find entry::<A, R>
//!                                                 recv A, call f(A) under catch_unwind
//!  join(): recv Outcome<R>                  ◀──   send Outcome::Returned(R) | Panicked | Failed
//!          wait for the exit status               exit(0) or exit(1)
//! ```
//!
//! Why this shape:
//! - **The argument is sent with `send`, not as bytes.** ipc-channel carries channel ends and shared
//!   memory (`IpcSender`, `IpcReceiver`, `IpcSharedMemory`, and the crate's queues and locks that wrap
//!   them) as file descriptors *beside* the bytes. Only a real `send` moves those descriptors, so the
//!   argument goes through a channel typed `A` (the same socket, retyped with `to_opaque().to()`).
//! - **One socket, retyped.** The header and the argument travel on one channel in order; the
//!   child reads the header, learns which `A` to expect from the trampoline, and reads `A`.
//! - **Everything the child can report is an [`Outcome`]**: a value, a panic (message and
//!   location, caught by a panic hook and `catch_unwind`), or a failure to decode the argument or
//!   encode the result. Only a child that exits or is killed without reporting is a "died" case,
//!   and then the parent reads the exit status.

use std::ffi::OsString;
use std::panic::{self, AssertUnwindSafe};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use ipc_channel::IpcError;
use ipc_channel::ipc::{self, IpcReceiver, IpcSender, OpaqueIpcReceiver, OpaqueIpcSender};
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::fnid::{Fingerprint, FnIdentity};

/// The environment variable that tells a process it is a child and where its parent listens.
///
/// A child passes its environment on to programs it starts with `std::process::Command`; if such a
/// program is this same executable, remove the variable there with
/// `Command::env_remove(multiprocessing::BOOTSTRAP_ENV)`.
pub const BOOTSTRAP_ENV: &str = "MULTIPROCESSING_BOOTSTRAP";

/// Test hooks for this crate's own tests (set on one child through `Builder::env`):
/// `exit-before-connect` makes the child exit with code 3 before it connects;
/// `corrupt-fingerprint` makes the parent send a fingerprint that cannot match.
#[doc(hidden)]
pub const TEST_HOOK_ENV: &str = "MULTIPROCESSING_TEST_HOOK";

/// The exit code of a child whose function panicked, or which could not decode its argument
/// (Python's exit code for an exception in `run()`).
pub(crate) const EXIT_FAILED: i32 = 1;
/// The exit code of a child whose start-up failed before the function ran.
pub(crate) const EXIT_BOOTSTRAP_FAILED: i32 = 70;
/// The exit code of a child that found its parent already gone.
pub(crate) const EXIT_ORPHANED: i32 = 71;
/// The exit code the `exit-before-connect` test hook uses.
pub(crate) const EXIT_TEST_HOOK: i32 = 3;

static INITIALIZED: AtomicBool = AtomicBool::new(false);
static CURRENT_NAME: OnceLock<String> = OnceLock::new();

/// Call this first in `main` of every program that starts processes: Rust's
/// `if __name__ == "__main__":`.
///
/// A child process is this same program started again. In a child, `init` connects to the parent,
/// runs the function the parent asked for, sends back its result (or its panic), and **exits the
/// process: it never returns**. In the parent (no [`BOOTSTRAP_ENV`] in the environment) it returns
/// at once.
///
/// So everything in `main` *before* `init()` runs again in every child, like module-level code in
/// Python under the *spawn* start method: keep it out (no argument parsing, no printing, no
/// servers before `init()`). [`Process::spawn`](crate::Process::spawn) returns
/// [`Error::NotInitialized`] if `init` was never called, because a child of such a program would run
/// the whole of `main` again instead of the function.
///
/// ```no_run
/// fn double(x: u32) -> u32 {
///     x * 2
/// }
///
/// fn main() {
///     multiprocessing::init(); // a child runs its function here and exits
///     // the parent's program starts here
///     let child = multiprocessing::Process::spawn(double, 21).expect("spawn");
///     assert_eq!(child.join().expect("join"), 42);
/// }
/// ```
pub fn init() {
    INITIALIZED.store(true, Ordering::SeqCst);
    if let Some(value) = std::env::var_os(BOOTSTRAP_ENV) {
        child_main(value);
    }
}

/// Whether [`init()`] has run in this process.
pub(crate) fn is_initialized() -> bool {
    INITIALIZED.load(Ordering::SeqCst)
}

/// The name of the current process: `"MainProcess"` in the parent, the name given to
/// [`Builder::name`](crate::Builder::name) (or `"Process-N"`) in a child. Python's
/// `multiprocessing.current_process().name`.
pub fn current_process_name() -> &'static str {
    CURRENT_NAME.get().map_or("MainProcess", String::as_str)
}

/// The first message on the bootstrap socket.
#[derive(Serialize, Deserialize)]
pub(crate) enum Hello {
    /// From the child: its pid, and where the parent sends the header and the argument.
    Child { pid: u32, to_child: OpaqueIpcSender },
    /// From the parent to itself, to wake up an `accept` it gave up on (the child died first).
    Abandon,
}

/// What to run: the first message from the parent on the child's channel.
#[derive(Serialize, Deserialize)]
pub(crate) struct Header {
    pub(crate) name: String,
    pub(crate) function: FnIdentity,
    pub(crate) fingerprint: Fingerprint,
}

/// Everything a child can report back, as the one message it sends.
///
/// The variants other than `Returned` carry no `R`, and postcard encodes an enum as the variant's
/// index followed by its fields, so a child that fails before it knows `R` can send an
/// `Outcome<()>` and the parent decodes it as its `Outcome<R>`.
#[derive(Serialize, Deserialize)]
pub(crate) enum Outcome<R> {
    Returned(R),
    Panicked {
        message: String,
        location: String,
    },
    /// The argument could not be decoded or the result could not be encoded.
    Failed(String),
    /// The child refused to run anything (the fingerprint did not match).
    Refused(String),
}

/// What the trampoline needs in the child: the two channel ends, still untyped.
pub(crate) struct ChildContext {
    from_parent: OpaqueIpcReceiver,
    to_parent: OpaqueIpcSender,
}

/// The parsed value of [`BOOTSTRAP_ENV`].
#[derive(Debug, PartialEq)]
struct BootstrapSpec {
    parent_pid: u32,
    server_name: String,
}

impl BootstrapSpec {
    fn encode(parent_pid: u32, server_name: &str) -> String {
        format!("{parent_pid}:{server_name}")
    }

    fn parse(value: OsString) -> Result<Self, String> {
        let value = value
            .into_string()
            .map_err(|v| format!("{BOOTSTRAP_ENV} is not UTF-8: {v:?}"))?;
        let (pid, server_name) = value
            .split_once(':')
            .ok_or_else(|| format!("{BOOTSTRAP_ENV}={value:?} is not \"<pid>:<path>\""))?;
        let parent_pid = pid
            .parse()
            .map_err(|_| format!("{BOOTSTRAP_ENV}={value:?}: bad parent pid"))?;
        Ok(BootstrapSpec {
            parent_pid,
            server_name: server_name.to_string(),
        })
    }
}

/// The value of [`BOOTSTRAP_ENV`] for a child of this process.
pub(crate) fn bootstrap_value(server_name: &str) -> String {
    BootstrapSpec::encode(std::process::id(), server_name)
}

/// The child's whole life. Never returns.
fn child_main(value: OsString) -> ! {
    let code = match run_child(value) {
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

fn run_child(value: OsString) -> Result<i32, String> {
    let spec = BootstrapSpec::parse(value)?;
    if !crate::platform::die_with_parent(spec.parent_pid)? {
        // The parent died before we could ask to die with it: nobody is waiting for us.
        return Ok(EXIT_ORPHANED);
    }
    if test_hook().as_deref() == Some("exit-before-connect") {
        return Ok(EXIT_TEST_HOOK);
    }
    let (to_child, from_parent) = ipc::channel::<Header>().map_err(|e| e.to_string())?;
    let hello_sender = IpcSender::<Hello>::connect(spec.server_name)
        .map_err(|e| format!("cannot connect to the parent: {e}"))?;
    hello_sender
        .send(Hello::Child {
            pid: std::process::id(),
            to_child: to_child.to_opaque(),
        })
        .map_err(|e| format!("cannot greet the parent: {e}"))?;
    let header = from_parent
        .recv()
        .map_err(|e| format!("no instructions from the parent: {e}"))?;
    let _ = CURRENT_NAME.set(header.name);
    install_panic_hook();
    let context = ChildContext {
        from_parent: from_parent.to_opaque(),
        to_parent: hello_sender.to_opaque(),
    };
    match header.function.run(header.fingerprint, context) {
        Ok(code) => Ok(code),
        Err((reason, context)) => {
            let to_parent: IpcSender<Outcome<()>> = context.to_parent.to();
            let _ = to_parent.send(Outcome::Refused(reason));
            Ok(EXIT_BOOTSTRAP_FAILED)
        }
    }
}

fn test_hook() -> Option<String> {
    std::env::var(TEST_HOOK_ENV).ok()
}

/// Whether the parent should corrupt the fingerprint for this child (a test hook).
pub(crate) fn wants_corrupt_fingerprint(env: &[(OsString, OsString)]) -> bool {
    env.iter()
        .any(|(key, value)| key == TEST_HOOK_ENV && value == "corrupt-fingerprint")
}

/// Called by the trampoline `fnid::entry::<A, R>` with the function it recovered: receive the
/// argument, run the function, send the outcome. Returns the exit code.
pub(crate) fn run_typed<A, R>(context: ChildContext, f: fn(A) -> R) -> i32
where
    A: Serialize + for<'de> Deserialize<'de>,
    R: Serialize + for<'de> Deserialize<'de>,
{
    let arguments: IpcReceiver<A> = context.from_parent.to();
    let to_parent: IpcSender<Outcome<R>> = context.to_parent.to();
    let argument = match arguments.recv() {
        Ok(argument) => argument,
        Err(error) => {
            let reason = describe_decode_failure(std::any::type_name::<A>(), "argument", error);
            let _ = to_parent.send(Outcome::Failed(reason));
            return EXIT_FAILED;
        }
    };
    drop(arguments);
    let (outcome, code) = match panic::catch_unwind(AssertUnwindSafe(|| f(argument))) {
        Ok(value) => (Outcome::Returned(value), 0),
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
            let _ = to_parent.send(Outcome::Failed(reason));
            EXIT_FAILED
        }
    }
}

/// A clear message for a value that arrived but could not be decoded.
pub(crate) fn describe_decode_failure(type_name: &str, what: &str, error: IpcError) -> String {
    match error {
        IpcError::SerializationError(e) => format!(
            "could not deserialize the {what} of type {type_name} ({e:?}); its Serialize and \
             Deserialize implementations disagree, or it uses a serde feature postcard does not \
             support (untagged enums, deserialize_any)"
        ),
        other => format!("could not receive the {what} of type {type_name}: {other}"),
    }
}

/// `sender.send(value)`, with the two ways ipc-channel can fail *inside* a send made into errors:
///
/// - more than 64 file descriptors in one message make ipc-channel panic (an `assert!`); we catch
///   that and return [`Error::TooManyHandles`];
/// - a `Serialize` that fails half-way can leave channel ends it had already collected in
///   ipc-channel's thread-local list, and the next send on this thread would carry them along and
///   scramble its message. We flush them by sending a unit value to a throwaway channel.
pub(crate) fn send_checked<T: Serialize>(
    sender: &IpcSender<T>,
    value: T,
    what: &str,
) -> Result<(), Error> {
    match panic::catch_unwind(AssertUnwindSafe(|| sender.send(value))) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(IpcError::SerializationError(e))) => {
            flush_stray_handles();
            Err(Error::Serialization(format!(
                "could not serialize {what} of type {} ({e:?})",
                std::any::type_name::<T>()
            )))
        }
        Ok(Err(other)) => Err(other.into()),
        Err(_) => {
            flush_stray_handles();
            Err(Error::TooManyHandles {
                what: what.to_string(),
            })
        }
    }
}

fn flush_stray_handles() {
    if let Ok((sender, _receiver)) = ipc::channel::<()>() {
        let _ = sender.send(());
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
    let message = if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_string()
    };
    let location = LAST_PANIC_LOCATION
        .with(|last| last.borrow_mut().take())
        .unwrap_or_else(|| "<unknown location>".into());
    (message, location)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_value_round_trips() {
        let spec = BootstrapSpec::parse(BootstrapSpec::encode(42, "/tmp/.tmpAb/socket").into())
            .expect("parse");
        assert_eq!(
            spec,
            BootstrapSpec {
                parent_pid: 42,
                server_name: "/tmp/.tmpAb/socket".into()
            }
        );
    }

    #[test]
    fn malformed_bootstrap_values_are_rejected_with_a_reason() {
        for bad in ["", "no-colon", "x:/tmp/s"] {
            let error = BootstrapSpec::parse(bad.into()).unwrap_err();
            assert!(error.contains(BOOTSTRAP_ENV), "{error}");
        }
    }

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

    #[test]
    fn too_many_handles_is_an_error_not_a_panic() {
        let (sender, _receiver) = ipc::channel::<Vec<IpcSender<()>>>().expect("channel");
        let handles: Vec<IpcSender<()>> = (0..65)
            .map(|_| ipc::channel::<()>().expect("channel").0)
            .collect();
        let error = send_checked(&sender, handles, "65 senders").unwrap_err();
        assert!(matches!(error, Error::TooManyHandles { .. }), "{error}");
        // And the thread can still send normally afterwards.
        let (sender, receiver) = ipc::channel::<u32>().expect("channel");
        sender.send(5).expect("send");
        assert_eq!(receiver.recv().expect("recv"), 5);
    }
}
