//! Passing a listening socket to a worker process: `SCM_RIGHTS` over a Unix socket.
//!
//! A file descriptor is a number that means something only inside one process, so sending the
//! number is useless. What the kernel can do is *duplicate* an open socket into another process:
//! a message on a Unix-domain socket may carry descriptors as ancillary data (`SCM_RIGHTS`), and
//! the receiver gets new descriptors of its own that refer to the same open socket. Both
//! processes then hold one listening socket, with one accept queue between them. That is how
//! `multiprocessing.reduction.send_handle` works in Python, and how servers such as nginx and
//! systemd pass sockets around.
//!
//! The crate's children do not inherit the parent's descriptors (the fork server forks a copy of
//! *itself*, not of the parent), so the worker must ask for the listener:
//!
//! 1. The parent binds a [`HandoffPoint`]: a Unix socket in Linux's abstract namespace (a name
//!    that is not a file, so nothing is left on disk if the process dies), and gives each worker
//!    a [`Ticket`] (the name) inside its argument.
//! 2. The worker connects ([`Ticket::redeem`]).
//! 3. The parent accepts, checks with `SO_PEERCRED` that the caller *is* the worker it started
//!    (any process on the machine may connect to an abstract name; a stranger is turned away and
//!    gets nothing), and sends one byte with the listener attached.
//! 4. The worker receives the descriptor, makes a [`TcpListener`] of it, and answers one byte,
//!    so that when [`HandoffPoint::hand_over`] returns the worker really holds the listener (a
//!    descriptor in flight is in neither process's table yet).
//!
//! The connection stays open afterwards as the worker's **control channel**: the worker polls it
//! beside the listener, and it becomes readable (end-of-file) when the parent asks the worker to
//! stop or when the parent dies; on the parent's side it becomes readable when the worker dies,
//! which is how the supervisor notices a crash at once, without polling the processes.
//!
//! `rustix::net::{sendmsg, recvmsg}` do the ancillary-data work safely: no `unsafe` here.
//! Linux only (the abstract namespace and `SO_PEERCRED`), like process start-up itself.

use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::mem::MaybeUninit;
use std::net::TcpListener;
use std::os::fd::AsFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rustix::event::{PollFd, PollFlags, poll};
use rustix::net::{
    RecvAncillaryBuffer, RecvAncillaryMessage, SendAncillaryBuffer, SendAncillaryMessage,
    SendFlags, recvmsg, sendmsg,
};
use serde::{Deserialize, Serialize};

/// The one byte that travels with the descriptor (a message must carry at least one byte).
const HANDOFF_BYTE: u8 = b'L';

/// The worker's answer once it holds the listener.
const RECEIVED_BYTE: u8 = b'K';

/// The parent's end: where workers come to collect the listener.
#[derive(Debug)]
pub struct HandoffPoint {
    listener: UnixListener,
    name: String,
}

/// What a worker needs to collect the listener: the name of its parent's [`HandoffPoint`].
/// It travels inside the worker's argument.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ticket {
    name: String,
}

impl HandoffPoint {
    /// Binds a new hand-off socket under a fresh abstract name.
    pub fn bind() -> io::Result<HandoffPoint> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.subsec_nanos());
        let name = format!(
            "multiprocessing-prefork-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let listener = UnixListener::bind_addr(&os::abstract_addr(&name)?)?;
        // Non-blocking, so that waiting for a worker can have a deadline (poll, then accept).
        listener.set_nonblocking(true)?;
        Ok(HandoffPoint { listener, name })
    }

    /// The ticket to put in a worker's argument.
    pub fn ticket(&self) -> Ticket {
        Ticket {
            name: self.name.clone(),
        }
    }

    /// Waits (until `timeout`) for the process `worker_pid` to connect, sends it `listener`, and
    /// returns the connection, which is now that worker's control channel.
    ///
    /// Connections from any other process are closed unanswered. Errors: `TimedOut` if the worker
    /// did not come in time (it died, or never got going), or the socket's own errors.
    pub fn hand_over(
        &self,
        listener: &TcpListener,
        worker_pid: u32,
        timeout: Duration,
    ) -> io::Result<UnixStream> {
        let deadline = Instant::now() + timeout;
        loop {
            let stream = self.accept_before(deadline, worker_pid)?;
            if os::peer_pid(&stream)? != worker_pid {
                continue; // a stranger: dropping the stream closes it, and it gets nothing
            }
            stream.set_nonblocking(false)?;
            send_listener(&stream, listener)?;
            await_receipt(&stream, deadline, worker_pid)?;
            return Ok(stream);
        }
    }

    fn accept_before(
        &self,
        deadline: Instant,
        worker_pid: u32,
    ) -> io::Result<UnixStream> {
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => return Ok(stream),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(error) => return Err(error),
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("worker {worker_pid} did not come for the listener in time"),
                ));
            }
            wait_readable(&self.listener, left)?;
        }
    }
}

// ANCHOR: send_listener
/// Sends one byte with `listener`'s descriptor attached.
fn send_listener(stream: &UnixStream, listener: &TcpListener) -> io::Result<()> {
    let fds = [listener.as_fd()];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    if !control.push(SendAncillaryMessage::ScmRights(&fds)) {
        return Err(io::Error::other(
            "no room for one descriptor in the message",
        ));
    }
    let payload = [HANDOFF_BYTE];
    sendmsg(
        stream,
        &[IoSlice::new(&payload)],
        &mut control,
        SendFlags::empty(),
    )?;
    Ok(())
}
// ANCHOR_END: send_listener

/// Waits for the worker's one-byte answer.
fn await_receipt(
    mut stream: &UnixStream,
    deadline: Instant,
    worker_pid: u32,
) -> io::Result<()> {
    let left = deadline.saturating_duration_since(Instant::now());
    stream.set_read_timeout(Some(left.max(Duration::from_millis(1))))?;
    let mut answer = [0u8; 1];
    let read = stream
        .read(&mut answer)
        .map_err(|error| match error.kind() {
            io::ErrorKind::WouldBlock => io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "worker {worker_pid} did not confirm it holds the listener in time"
                ),
            ),
            _ => error,
        })?;
    if read == 0 || answer[0] != RECEIVED_BYTE {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!(
                "worker {worker_pid} hung up instead of confirming it holds the listener"
            ),
        ));
    }
    stream.set_read_timeout(None)
}

impl Ticket {
    /// Connects to the parent's hand-off point and receives the listener (waiting at most
    /// `timeout`). Returns the listener and the control channel.
    ///
    /// Errors: the parent is gone or refused us (`ConnectionRefused`, `UnexpectedEof`), no reply
    /// in time (`TimedOut`), or what arrived is not one listening socket (`InvalidData`).
    pub fn redeem(&self, timeout: Duration) -> io::Result<(TcpListener, UnixStream)> {
        let stream = UnixStream::connect_addr(&os::abstract_addr(&self.name)?)?;
        stream.set_read_timeout(Some(timeout))?;
        let listener = receive_listener(&stream)?;
        (&stream).write_all(&[RECEIVED_BYTE])?;
        stream.set_read_timeout(None)?;
        Ok((listener, stream))
    }
}

// ANCHOR: receive_listener
/// Receives the one byte and the descriptor that comes with it.
fn receive_listener(stream: &UnixStream) -> io::Result<TcpListener> {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let mut payload = [0u8; 1];
    let received = recvmsg(
        stream,
        &mut [IoSliceMut::new(&mut payload)],
        &mut control,
        os::RECV_FLAGS,
    )
    .map_err(|error| match io::Error::from(error) {
        timeout if timeout.kind() == io::ErrorKind::WouldBlock => io::Error::new(
            io::ErrorKind::TimedOut,
            "the parent did not send the listener in time",
        ),
        other => other,
    })?;
    if received.bytes == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the parent closed the hand-off connection without sending the listener",
        ));
    }
    // Take every descriptor that came (each an OwnedFd: those not kept are closed).
    let mut fds = Vec::new();
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(rights) = message {
            fds.extend(rights);
        }
    }
    let (Some(fd), 1) = (fds.pop(), fds.len() + 1) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "expected exactly one descriptor with the hand-off message",
        ));
    };
    if payload[0] != HANDOFF_BYTE || !os::is_listening(&fd)? {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the descriptor received is not a listening socket",
        ));
    }
    Ok(TcpListener::from(fd))
}
// ANCHOR_END: receive_listener

/// Waits until `fd` is readable or `timeout` passes (poll's own timeout, in whole
/// milliseconds, at least one).
pub(crate) fn wait_readable(fd: impl AsFd, timeout: Duration) -> io::Result<bool> {
    let mut fds = [PollFd::new(&fd, PollFlags::IN)];
    let timeout =
        rustix::event::Timespec::try_from(timeout.max(Duration::from_millis(1)))
            .map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidInput, "timeout too long")
            })?;
    let ready = poll(&mut fds, Some(&timeout))?;
    Ok(ready > 0)
}

/// The Linux calls the hand-off needs.
#[cfg(target_os = "linux")]
mod os {
    use std::io;
    use std::os::fd::OwnedFd;
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixStream};

    use rustix::net::{RecvFlags, sockopt};

    /// Received descriptors are close-on-exec, like every descriptor std opens.
    pub(super) const RECV_FLAGS: RecvFlags = RecvFlags::CMSG_CLOEXEC;

    pub(super) fn abstract_addr(name: &str) -> io::Result<SocketAddr> {
        SocketAddr::from_abstract_name(name.as_bytes())
    }

    pub(super) fn peer_pid(stream: &UnixStream) -> io::Result<u32> {
        let peer = sockopt::socket_peercred(stream)?;
        Ok(peer.pid.as_raw_nonzero().get().cast_unsigned())
    }

    pub(super) fn is_listening(fd: &OwnedFd) -> io::Result<bool> {
        Ok(sockopt::socket_acceptconn(fd)?)
    }
}

/// Elsewhere the hand-off fails at its first step, with a sentence that says why.
#[cfg(not(target_os = "linux"))]
mod os {
    use std::io;
    use std::os::fd::OwnedFd;
    use std::os::unix::net::{SocketAddr, UnixStream};

    use rustix::net::RecvFlags;

    pub(super) const RECV_FLAGS: RecvFlags = RecvFlags::empty();

    fn unsupported() -> io::Error {
        io::Error::new(
            io::ErrorKind::Unsupported,
            "the pre-fork hand-off needs Linux (abstract Unix sockets, SO_PEERCRED)",
        )
    }

    pub(super) fn abstract_addr(_: &str) -> io::Result<SocketAddr> {
        Err(unsupported())
    }

    pub(super) fn peer_pid(_: &UnixStream) -> io::Result<u32> {
        Err(unsupported())
    }

    pub(super) fn is_listening(_: &OwnedFd) -> io::Result<bool> {
        Err(unsupported())
    }
}
