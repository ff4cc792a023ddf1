//! The start-up conversation between a parent and a child, and the child's side of it.
//!
//! The parent (see `process.rs` and `startup.rs`) creates an `IpcOneShotServer`, a listening Unix
//! socket in a fresh temporary directory, writes the header and the argument into a channel of its
//! own, and starts `/proc/self/exe` with [`BOOTSTRAP_ENV`] set to
//! `"<parent pid>:<exe device>:<exe inode>:<socket path>"`. The child's `main` calls [`init()`]
//! first; `init` sees the variable and never returns:
//!
//! ```text
//!  parent                                           child (same executable)
//!  ──────                                           ──────────────────────
//!  server = IpcOneShotServer::new()
//!  (instr_tx, instr_rx) = ipc::channel()
//!  spawn /proc/self/exe, env = ppid:dev:ino:path
//!  instr_tx.send(Header { name, fn, fingerprint })  init(): PR_SET_PDEATHSIG, getppid() == ppid?
//!  instr_tx.send(arg: A); spawn returns             (to_child, from_parent) = ipc::channel()
//!  watcher: accept()           ◀── Hello::Child { pid, to_child } ── connect(path), send Hello
//!  watcher: to_child.send(instr_rx)          ──▶   recv instr_rx, recv Header, check fingerprint
//!                                                   find entry::<A, R>, recv A, f(A) in catch_unwind
//!  join(): recv Outcome<R>                   ◀──   send Outcome::Returned(R) | Panicked | Failed
//!          wait for the exit status                 exit(0) or exit(1)
//! ```
//!
//! Why this shape:
//! - **The argument is sent with `send`, not as bytes.** ipc-channel carries channel ends and shared
//!   memory (`IpcSender`, `IpcReceiver`, `IpcSharedMemory`, and the crate's queues and locks that wrap
//!   them) as file descriptors *beside* the bytes. Only a real `send` moves those descriptors, so the
//!   argument goes through a channel typed `A` (the same socket, retyped with `to_opaque().to()`).
//! - **One channel, retyped.** The header and the argument travel on one channel in order; the
//!   child reads the header, learns which `A` to expect from the trampoline, and reads `A`. The
//!   parent fills that channel before the child exists, so `spawn` need not wait for the child.
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
use crate::ipc::send_checked;

/// The environment variable that tells a process it is a child and where its parent listens.
///
/// A child passes its environment on to programs it starts with `std::process::Command`; if such a
/// program is this same executable, remove the variable there with
/// `Command::env_remove(multiprocessing::BOOTSTRAP_ENV)`.
pub const BOOTSTRAP_ENV: &str = "MULTIPROCESSING_BOOTSTRAP";

/// Test hooks for this crate's own tests (set on one child through `Builder::env`):
/// `exit-before-connect` makes the child exit with code 3 before it connects;
/// `hang-before-connect` makes it block forever before it connects;
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
/// process: it never returns**. In the parent (no [`BOOTSTRAP_ENV`] in the environment) it starts
/// the fork server, waits until it is ready (a few milliseconds, once per program; see
/// [`StartMethod`](crate::StartMethod)) and returns. The fork server is this program started once
/// more, and its `init()` never returns either: it serves until the parent exits.
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
    if let Some(value) = std::env::var_os(crate::forkserver::FORKSERVER_ENV) {
        crate::forkserver::zygote_main(value); // never returns in the fork server
    }
    let Some(value) = std::env::var_os(BOOTSTRAP_ENV) else {
        quiet_checked_sends(); // the parent
        crate::forkserver::start_early();
        return;
    };
    match BootstrapSpec::parse(BOOTSTRAP_ENV, value) {
        Ok(spec) if spec.is_for_this_executable() => child_main(spec),
        // Inherited by a different program that also uses this crate: not addressed to us.
        Ok(_) => quiet_checked_sends(),
        Err(problem) => {
            eprintln!("multiprocessing: ignoring {BOOTSTRAP_ENV}: {problem}");
            quiet_checked_sends();
        }
    }
}

/// Wraps the panic hook so that the panics `ipc.rs` catches and turns into errors (ipc-channel's
/// for a message with more than 64 file descriptors, which `ipc::send_checked` makes
/// [`Error::TooManyHandles`]) are not also printed as if the program had crashed. Every other
/// panic goes to the previous hook unchanged. (A hook the program installs after `init()`
/// replaces this one; then that message is printed, nothing more.)
fn quiet_checked_sends() {
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
    /// From the child: its pid, and a sender on which the parent hands over the receiving end of
    /// the channel that already holds the header and the argument.
    Child { pid: u32, to_child: OpaqueIpcSender },
    /// From the parent to itself, to wake up an `accept` it gave up on (the child died first).
    Abandon,
}

/// What to run: the first message from the parent on the child's channel.
#[derive(Clone, Serialize, Deserialize)]
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

/// The parsed value of [`BOOTSTRAP_ENV`]: `"<parent pid>:<exe device>:<exe inode>:<socket path>"`.
///
/// The executable's identity is there because a child's environment is inherited by any program
/// the child runs: a *different* program using this crate must not take the variable for itself.
#[derive(Debug, PartialEq)]
pub(crate) struct BootstrapSpec {
    pub(crate) parent_pid: u32,
    exe: (u64, u64),
    pub(crate) server_name: String,
}

impl BootstrapSpec {
    fn encode(&self) -> String {
        let (device, inode) = self.exe;
        format!("{}:{device}:{inode}:{}", self.parent_pid, self.server_name)
    }

    /// Parses the value of the variable `name` ([`BOOTSTRAP_ENV`] or the fork server's).
    pub(crate) fn parse(name: &str, value: OsString) -> Result<Self, String> {
        let value = value
            .into_string()
            .map_err(|v| format!("{name} is not UTF-8: {v:?}"))?;
        let malformed = || format!("{name}={value:?} is not \"<pid>:<dev>:<inode>:<path>\"");
        let mut fields = value.splitn(4, ':');
        let mut number = || -> Result<u64, String> {
            fields
                .next()
                .and_then(|f| f.parse().ok())
                .ok_or_else(malformed)
        };
        let parent_pid = u32::try_from(number()?).map_err(|_| malformed())?;
        let exe = (number()?, number()?);
        let server_name = fields
            .next()
            .filter(|p| !p.is_empty())
            .ok_or_else(malformed)?;
        Ok(BootstrapSpec {
            parent_pid,
            exe,
            server_name: server_name.to_string(),
        })
    }

    pub(crate) fn is_for_this_executable(&self) -> bool {
        crate::platform::exe_identity().is_ok_and(|exe| exe == self.exe)
    }
}

/// The value of [`BOOTSTRAP_ENV`] for a child of this process.
pub(crate) fn bootstrap_value(server_name: &str) -> Result<String, Error> {
    Ok(BootstrapSpec {
        parent_pid: std::process::id(),
        exe: crate::platform::exe_identity()?,
        server_name: server_name.to_string(),
    }
    .encode())
}

/// The child's whole life. Never returns.
fn child_main(spec: BootstrapSpec) -> ! {
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
    match test_hook().as_deref() {
        Some("exit-before-connect") => return Ok(EXIT_TEST_HOOK),
        Some("hang-before-connect") => loop {
            std::thread::park();
        },
        _ => {}
    }
    let (to_child, from_parent) = ipc::channel::<OpaqueIpcReceiver>().map_err(|e| e.to_string())?;
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
            let to_parent: IpcSender<Outcome<()>> = context.to_parent.to();
            let _ = to_parent.send(Outcome::Refused(reason));
            Ok(EXIT_BOOTSTRAP_FAILED)
        }
    }
}

pub(crate) fn test_hook() -> Option<String> {
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
        let spec = BootstrapSpec {
            parent_pid: 42,
            exe: (2049, 77),
            server_name: "/tmp/odd:name/socket".into(),
        };
        assert_eq!(
            BootstrapSpec::parse(BOOTSTRAP_ENV, spec.encode().into()),
            Ok(spec)
        );
    }

    #[test]
    fn the_variable_of_another_executable_is_not_for_us() {
        let spec = BootstrapSpec {
            parent_pid: 42,
            exe: (0, 0),
            server_name: "/tmp/x/socket".into(),
        };
        assert!(!spec.is_for_this_executable());
        let ours = BootstrapSpec {
            exe: crate::platform::exe_identity().expect("exe identity"),
            ..spec
        };
        assert!(ours.is_for_this_executable());
    }

    #[test]
    fn malformed_bootstrap_values_are_rejected_with_a_reason() {
        for bad in [
            "",
            "no-colon",
            "x:/tmp/s",
            "1:2:3:",
            "1:2:/tmp/s",
            "-1:2:3:/tmp/s",
        ] {
            let error = BootstrapSpec::parse(BOOTSTRAP_ENV, bad.into()).unwrap_err();
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
}
