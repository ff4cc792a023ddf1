//! [`Error`], the error of everything that starts, joins or talks to a process (`Process`,
//! `Pipe`, `Queue`). The other parts of the crate have their own: see the crate docs, "Errors".
//!
//! Python reports a child's failure in scattered ways: an exception in the child is printed on the
//! child's stderr and the parent only sees `exitcode == 1`; a killed child shows up as a negative
//! `exitcode`; an argument that cannot be pickled raises in `start()`. Here every one of those is a
//! value of [`Error`] that reaches the caller of [`Process::spawn`](crate::Process::spawn) or
//! [`Process::join`](crate::Process::join), so that nothing is silently lost:
//!
//! | what happened | variant |
//! |---|---|
//! | the OS could not start the child (`fork`/`exec` failed) | [`Error::Spawn`] |
//! | the child exited or hung before it connected back to the parent | [`Error::Bootstrap`], [`Error::Timeout`] |
//! | `init()` was never called, so a child would run `main` again | [`Error::NotInitialized`] |
//! | a value could not be serialized or deserialized | [`Error::Serialization`] |
//! | a message carried more than 64 channels or shared-memory handles | [`Error::TooManyHandles`] |
//! | the channel to the other process failed, or it hung up | [`Error::Ipc`], [`Error::Disconnected`] |
//! | the child's function returned `Err` ([`Process::spawn_fallible`](crate::Process::spawn_fallible)) | [`Error::Failed`] (with the error's text) |
//! | the child's function panicked | [`Error::Panicked`] (with the message and the location) |
//! | the child exited or was killed without sending a result | [`Error::Died`] (Python's `exitcode`) |
//! | `TMPDIR` is too long to hold a Unix socket path | [`Error::SocketPathTooLong`] |
//! | not Linux | [`Error::Unsupported`] |
//!
//! The enum is `#[non_exhaustive]`: a new failure mode may add a variant,
//! so a `match` on it needs a `_ =>` arm.

use std::path::PathBuf;

use ipc_channel::{IpcError, TryRecvError};

/// Everything that can go wrong when starting, talking to or joining another process.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The operating system refused to start the child process (`fork`/`exec` failed).
    #[error("could not start a child process: {0}")]
    Spawn(#[source] std::io::Error),

    /// The child process did not get as far as running the requested function: it exited before
    /// it connected back, or it refused to run a function from a different executable.
    #[error("child process bootstrap failed: {0}")]
    Bootstrap(String),

    /// [`init()`](crate::init) was not called before spawning. Without it a child would run the
    /// whole of `main` again instead of the requested function.
    #[error(
        "multiprocessing::init() was not called: make it the first line of main() \
         in every program that spawns processes"
    )]
    NotInitialized,

    /// A value could not be turned into bytes, or bytes back into a value. Says which value.
    #[error("serialization failed: {0}")]
    Serialization(String),

    /// One message tried to carry more channel ends or shared-memory regions than the OS allows
    /// in a single message (ipc-channel's limit is 64 file descriptors).
    #[error(
        "{what} carries more than 64 channels or shared-memory regions; one message can carry \
         at most 64 file descriptors, so send them in several messages"
    )]
    TooManyHandles {
        /// The message that was too big.
        what: String,
    },

    /// The operating-system channel between the processes failed.
    #[error("inter-process channel failed: {0}")]
    Ipc(#[source] std::io::Error),

    /// The other end hung up: every sender (or the receiver) in the other process is gone.
    #[error("the other process closed its end of the channel")]
    Disconnected,

    /// The child's function returned `Err` (a process started with
    /// [`Process::spawn_fallible`](crate::Process::spawn_fallible)). `message` is the error's text
    /// in its alternate form (`format!("{e:#}")`), so an `anyhow::Error` arrives with its chain of
    /// contexts: `"reading the config: No such file or directory (os error 2)"`.
    #[error("the child's function returned an error: {message}")]
    Failed {
        /// The error's text.
        message: String,
    },

    /// The child's function panicked. The child printed the panic on its stderr as well.
    #[error("the child process panicked at {location}: {message}")]
    Panicked {
        /// The panic message (`"<non-string panic payload>"` if it was not a string).
        message: String,
        /// `file:line:column` of the panic.
        location: String,
    },

    /// The child ended without sending a result: it called `exit`, or a signal killed it.
    /// `exitcode` follows Python's `Process.exitcode`: the exit status, or minus the signal number
    /// (`-9` for SIGKILL, `-15` for SIGTERM).
    #[error("the child process {} without sending a result", describe_exit(*exitcode))]
    Died {
        /// The exit status, or the negated signal number if a signal ended it.
        exitcode: i32,
    },

    /// A wait ran into its deadline. Says what was waited for.
    #[error("timed out waiting for {0}")]
    Timeout(String),

    /// `join` was called again after the result had already been handed out.
    #[error("the result of this process was already taken by an earlier join")]
    AlreadyJoined,

    /// The socket path for the start-up handshake would not fit in a Unix socket address.
    #[error(
        "TMPDIR {} is too long for a Unix socket path ({len} bytes with the socket's name, the \
         limit is {max}); set TMPDIR to a shorter directory such as /tmp",
        tmpdir.display()
    )]
    SocketPathTooLong {
        /// The temporary directory in use (`TMPDIR`).
        tmpdir: PathBuf,
        /// The length the socket path would have had.
        len: usize,
        /// The longest path that fits.
        max: usize,
    },

    /// Not available on this platform (processes are Linux-only in this crate).
    #[error("not supported on this platform: {0}")]
    Unsupported(String),
}

/// "exited with code 3" / "was killed by signal 9 (SIGKILL)".
pub(crate) fn describe_exit(exitcode: i32) -> String {
    if exitcode >= 0 {
        return format!("exited with code {exitcode}");
    }
    let signal = -exitcode;
    match signal_name(signal) {
        Some(name) => format!("was killed by signal {signal} ({name})"),
        None => format!("was killed by signal {signal}"),
    }
}

fn signal_name(signal: i32) -> Option<&'static str> {
    Some(match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        6 => "SIGABRT",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        _ => return None,
    })
}

impl From<IpcError> for Error {
    fn from(error: IpcError) -> Self {
        match error {
            // ipc-channel's own Display hides postcard's reason; the Debug form keeps it.
            IpcError::SerializationError(e) => Error::Serialization(format!("{e:?}")),
            IpcError::Io(e) => Error::Ipc(e),
            IpcError::Disconnected => Error::Disconnected,
        }
    }
}

impl From<TryRecvError> for Error {
    /// `Empty` becomes a [`Error::Timeout`]: it only happens on a receive with a deadline.
    fn from(error: TryRecvError) -> Self {
        match error {
            TryRecvError::IpcError(e) => e.into(),
            TryRecvError::Empty => Error::Timeout("a message".into()),
        }
    }
}

/// The text of a panic's payload: `panic!("literal")` carries a `&str`, `panic!("{x}")` a
/// `String`, and anything else (`std::panic::panic_any(42)`) has no text, so `None`.
///
/// The crate's one copy: a child's panic report (`start/child.rs`) and a panic of ipc-channel's
/// that the queue turns into an error (`queue/block.rs`) both read payloads with it. (The
/// threading chapter has its own, `threading::pool::panic_message`: chapter crates do not depend
/// on each other.)
pub(crate) fn panic_text(payload: &(dyn std::any::Any + Send)) -> Option<String> {
    if let Some(text) = payload.downcast_ref::<&str>() {
        Some((*text).to_owned())
    } else {
        payload.downcast_ref::<String>().cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_descriptions_follow_python_exitcode_signs() {
        assert_eq!(describe_exit(0), "exited with code 0");
        assert_eq!(describe_exit(3), "exited with code 3");
        assert_eq!(describe_exit(-9), "was killed by signal 9 (SIGKILL)");
        assert_eq!(describe_exit(-15), "was killed by signal 15 (SIGTERM)");
        assert_eq!(describe_exit(-40), "was killed by signal 40");
    }

    #[test]
    fn died_message_names_the_signal() {
        let error = Error::Died { exitcode: -9 };
        assert_eq!(
            error.to_string(),
            "the child process was killed by signal 9 (SIGKILL) without sending a result"
        );
    }

    #[test]
    fn disconnected_ipc_error_maps_to_disconnected() {
        assert!(matches!(
            Error::from(IpcError::Disconnected),
            Error::Disconnected
        ));
    }
}
