//! Sending and receiving on ipc-channel, with its sharp edges turned into [`Error`]s.
//!
//! Every module of this crate that talks between processes (the start-up in `bootstrap`, the
//! queue, the pipe) goes through these few functions, so each of ipc-channel's surprises is
//! handled once, here:
//!
//! - **A send can panic.** More than 64 file descriptors in one message (channel ends, shared
//!   memory) trip an `assert!` inside ipc-channel. [`send_checked`] catches it and returns
//!   [`Error::TooManyHandles`] naming what was being sent.
//! - **A failed `Serialize` leaves debris.** ipc-channel collects the descriptors of a message in
//!   a thread-local list while it serializes. A `Serialize` impl that fails half-way leaves the
//!   ones it had already collected there, and the *next* send on the thread would carry them
//!   along and scramble its message; [`send_checked`] flushes them.
//! - **"The other end is gone" comes in several shapes**: `IpcError::Disconnected` from a
//!   receive, `BrokenPipe` or `ConnectionReset` from a send. [`send_catching`], [`send_error`] and
//!   [`recv_error`] make them all [`Error::Disconnected`], the one variant callers match on.
//! - **Timeouts count whole milliseconds** and may return a little early; [`recv_until`] waits
//!   again until the deadline has really passed.
//!
//! ipc-channel's panics happen on the thread that sends; the panic hook that `init()` installs
//! asks [`in_checked_call`] and stays quiet about the ones caught here, so a caught panic is not
//! also printed as if the program had crashed.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::time::Instant;

use ipc_channel::ipc::{self, IpcReceiver, IpcSender};
use ipc_channel::{IpcError, TryRecvError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Error;

thread_local! {
    /// Set while [`catch_quietly`] runs: a panic then is caught and turned into an error, and the
    /// panic hook stays quiet about it.
    static IN_CHECKED_CALL: Cell<bool> = const { Cell::new(false) };
}

/// Whether this thread is inside [`send_checked`] (or another call whose panic is caught and
/// reported as an error). For the panic hook.
pub(crate) fn in_checked_call() -> bool {
    IN_CHECKED_CALL.with(Cell::get)
}

/// Runs `f`, catching a panic, with the panic hook told to stay quiet about it.
pub(crate) fn catch_quietly<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    let outer = IN_CHECKED_CALL.with(|flag| flag.replace(true));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    IN_CHECKED_CALL.with(|flag| flag.set(outer));
    result
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
    match catch_quietly(|| sender.send(value)) {
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

/// Send with [`send_checked`]'s checks, and with "the other end is gone" reported as
/// [`Error::Disconnected`] rather than as an I/O error.
pub(crate) fn send_catching<M: Serialize>(
    sender: &IpcSender<M>,
    message: M,
    what: &str,
) -> Result<(), Error> {
    send_checked(sender, message, what).map_err(|error| match error {
        Error::Ipc(e) if is_hang_up(&e) => Error::Disconnected,
        other => other,
    })
}

/// Receive before `deadline`. ipc-channel's timeouts count whole milliseconds and may return a
/// little early; this waits again until the deadline has really passed.
pub(crate) fn recv_until<M>(
    receiver: &IpcReceiver<M>,
    deadline: Instant,
) -> Result<M, TryRecvError>
where
    M: Serialize + DeserializeOwned,
{
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match receiver.try_recv_timeout(left) {
            Err(TryRecvError::Empty) if Instant::now() < deadline => continue,
            other => return other,
        }
    }
}

/// Whether an I/O error means the other end of a socket is gone.
pub(crate) fn is_hang_up(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
    )
}

/// A failed plain `send` (one that does not need [`send_checked`]'s care): a hang-up is
/// [`Error::Disconnected`].
pub(crate) fn send_error(error: IpcError) -> Error {
    match error {
        IpcError::Io(e) if is_hang_up(&e) => Error::Disconnected,
        other => other.into(),
    }
}

/// A failed receive: the other end gone, in any of its shapes, is [`Error::Disconnected`].
pub(crate) fn recv_error(error: IpcError) -> Error {
    match error {
        IpcError::Disconnected => Error::Disconnected,
        other => send_error(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn a_send_to_a_dropped_receiver_is_disconnected() {
        let (sender, receiver) = ipc::channel::<u32>().expect("channel");
        drop(receiver);
        let error = send_catching(&sender, 1, "a number").unwrap_err();
        assert!(matches!(error, Error::Disconnected), "{error}");
    }

    #[test]
    fn a_receive_from_a_dropped_sender_is_disconnected() {
        let (sender, receiver) = ipc::channel::<u32>().expect("channel");
        drop(sender);
        let error = receiver.recv().map_err(recv_error).unwrap_err();
        assert!(matches!(error, Error::Disconnected), "{error}");
    }

    #[test]
    fn recv_until_waits_for_the_deadline_and_then_reports_empty() {
        let (_sender, receiver) = ipc::channel::<u32>().expect("channel");
        let deadline = Instant::now() + std::time::Duration::from_millis(20);
        let result = recv_until(&receiver, deadline);
        assert!(matches!(result, Err(TryRecvError::Empty)));
        assert!(Instant::now() >= deadline, "returned before the deadline");
    }

    #[test]
    fn a_quietly_caught_panic_is_an_error_and_the_flag_is_restored() {
        assert!(!in_checked_call());
        let caught = catch_quietly(|| {
            assert!(in_checked_call());
            panic!("inside")
        });
        assert!(caught.is_err());
        assert!(!in_checked_call());
    }
}
