//! The operating-system specific parts, in one place: Linux does them, other systems say
//! "unsupported".
//!
//! This file stays at the top of the crate, not inside `start/`, because both halves of the
//! crate's process code use it: the start-up path (which program to start, who am I, dying with
//! the parent) and the [`Process`](crate::Process) handle for the rest of a child's life (waiting
//! and signalling through pidfds, exit codes). Every `cfg(target_os)` of the crate's process code
//! is here, so what a port to another system would have to provide can be read off one file.
//!
//! - **Which program to start.** `/proc/self/exe` is a link to the file this process was started
//!   from. Executing it starts *the same image*, even if the file on disk has since been replaced
//!   (a rebuild while the program runs): the link follows the inode, not the name.
//! - **Who am I?** The executable's device and inode numbers identify the image; the child compares
//!   them with the parent's before it trusts function addresses sent by the parent (see
//!   `start/fnid.rs`).
//! - **Dying with the parent.** `prctl(PR_SET_PDEATHSIG, SIGKILL)` asks the kernel to kill the child
//!   when its parent goes away, so a parent killed with SIGKILL (which runs no clean-up code) leaves
//!   no orphans behind. Two traps: the request races with the parent dying *before* the child made
//!   it (so the child checks `getppid()` afterwards), and "parent" means the parent *thread* that
//!   forked the child (so the crate forks from one thread that never exits: `start/spawn.rs`).
//! - **Waiting and signalling without pid races.** A pidfd (`pidfd_open`, Linux 5.3) is a handle to
//!   one particular process. Polling it waits for the exit with a timeout, and
//!   `pidfd_send_signal` can never hit an unrelated process that reused the pid after ours was
//!   reaped. On older kernels the code falls back to polling `try_wait` and to `kill(pid)`.
//!
//! Elsewhere: on the other Unix systems (macOS, the BSDs) this file compiles, and
//! [`ensure_supported`] makes [`Process::spawn`](crate::Process::spawn) return
//! [`Error::Unsupported`] before anything starts; on Windows the crate does not compile at all
//! (see the crate docs, "Platform").

use std::process::Child;
use std::time::Duration;

use crate::Error;

/// The path of the running executable, used to start children.
pub(crate) const SELF_EXE: &str = "/proc/self/exe";

/// `/proc/self/exe` as a command: the same program again, with our `argv[0]` (so that `ps` shows
/// its name) and stdin from `/dev/null` (as in Python's children). stdout and stderr are inherited.
pub(crate) fn self_exe_command() -> std::process::Command {
    let mut command = std::process::Command::new(SELF_EXE);
    #[cfg(unix)]
    if let Some(arg0) = std::env::args_os().next() {
        use std::os::unix::process::CommandExt;
        command.arg0(arg0);
    }
    command.stdin(std::process::Stdio::null());
    command
}

/// Returns an error on systems where this crate cannot start processes.
pub(crate) fn ensure_supported() -> Result<(), Error> {
    if cfg!(target_os = "linux") {
        Ok(())
    } else {
        Err(Error::Unsupported(
            "multiprocessing starts processes by re-executing /proc/self/exe and uses Linux's \
             prctl(PR_SET_PDEATHSIG); only Linux is supported"
                .into(),
        ))
    }
}

/// `sun_path` in `struct sockaddr_un` holds 108 bytes including the terminating NUL.
pub(crate) const MAX_SOCKET_PATH: usize = 107;

/// Checks that ipc-channel's one-shot server can create its socket under `TMPDIR`.
///
/// ipc-channel creates `$TMPDIR/.tmpXXXXXX/socket` and copies the path into the 108-byte
/// `sun_path` with `strncpy`, silently cutting off what does not fit; the `bind` then fails with a
/// baffling "No such file or directory" (or binds somewhere else). We measure the path first and
/// say what is wrong instead.
pub(crate) fn check_socket_dir() -> Result<(), Error> {
    let tmpdir = std::env::temp_dir();
    // tempfile's default name: ".tmp" and six random characters.
    let socket_path = tmpdir.join(".tmpXXXXXX").join("socket");
    let len = socket_path.as_os_str().len();
    if len > MAX_SOCKET_PATH {
        return Err(Error::SocketPathTooLong {
            tmpdir,
            len,
            max: MAX_SOCKET_PATH,
        });
    }
    Ok(())
}

/// The identity of the executable image: `(device, inode)` of `/proc/self/exe`.
#[cfg(target_os = "linux")]
pub(crate) fn exe_identity() -> Result<(u64, u64), Error> {
    use std::sync::OnceLock;
    static IDENTITY: OnceLock<Result<(u64, u64), String>> = OnceLock::new();
    IDENTITY
        .get_or_init(|| {
            rustix::fs::stat(SELF_EXE)
                .map(|stat| (stat.st_dev, stat.st_ino))
                .map_err(|e| format!("cannot stat {SELF_EXE}: {e}"))
        })
        .clone()
        .map_err(Error::Unsupported)
}

/// The identity of the executable image (unsupported off Linux).
#[cfg(not(target_os = "linux"))]
pub(crate) fn exe_identity() -> Result<(u64, u64), Error> {
    ensure_supported().map(|()| (0, 0))
}

/// The address ranges where the executable's machine code is mapped (`r-xp` lines of
/// `/proc/self/maps` that belong to the executable's inode). Function addresses sent between
/// processes must lie in here: code from a shared library sits at a different random offset in
/// every process.
#[cfg(target_os = "linux")]
pub(crate) fn exe_code_ranges() -> Result<&'static [std::ops::Range<usize>], Error> {
    use std::sync::OnceLock;
    static RANGES: OnceLock<Result<Vec<std::ops::Range<usize>>, String>> =
        OnceLock::new();
    let ranges = RANGES.get_or_init(|| {
        let (_, inode) = exe_identity().map_err(|e| e.to_string())?;
        let maps = std::fs::read_to_string("/proc/self/maps")
            .map_err(|e| format!("cannot read /proc/self/maps: {e}"))?;
        Ok(maps
            .lines()
            .filter_map(|line| parse_code_mapping(line, inode))
            .collect())
    });
    match ranges {
        Ok(ranges) if !ranges.is_empty() => Ok(ranges),
        Ok(_) => Err(Error::Unsupported(
            "found no executable mapping of /proc/self/exe in /proc/self/maps".into(),
        )),
        Err(message) => Err(Error::Unsupported(message.clone())),
    }
}

/// Parses one line of `/proc/self/maps`: `start-end perms offset dev inode path`.
#[cfg(target_os = "linux")]
fn parse_code_mapping(line: &str, exe_inode: u64) -> Option<std::ops::Range<usize>> {
    let mut fields = line.split_whitespace();
    let (start, end) = fields.next()?.split_once('-')?;
    let perms = fields.next()?;
    let inode: u64 = fields.nth(2)?.parse().ok()?;
    if inode != exe_inode || perms.as_bytes().get(2) != Some(&b'x') {
        return None;
    }
    let start = usize::from_str_radix(start, 16).ok()?;
    let end = usize::from_str_radix(end, 16).ok()?;
    Some(start..end)
}

/// Code ranges (unsupported off Linux).
#[cfg(not(target_os = "linux"))]
pub(crate) fn exe_code_ranges() -> Result<&'static [std::ops::Range<usize>], Error> {
    ensure_supported().map(|()| &[][..])
}

/// In a freshly started child: ask for SIGKILL when the parent dies, then make sure the parent did
/// not die before we asked. Returns `false` if the parent is already gone.
// ANCHOR: pdeathsig
#[cfg(target_os = "linux")]
pub(crate) fn die_with_parent(parent_pid: u32) -> Result<bool, String> {
    use rustix::process::{Signal, getppid, set_parent_process_death_signal};
    set_parent_process_death_signal(Some(Signal::KILL))
        .map_err(|e| format!("prctl(PR_SET_PDEATHSIG) failed: {e}"))?;
    // If the parent died between fork and the prctl above, the signal will never come: we
    // have been re-parented already (to init or a sub-reaper), so our parent pid is no
    // longer theirs.
    let current_parent = getppid().map(|pid| pid.as_raw_nonzero().get() as u32);
    Ok(current_parent == Some(parent_pid))
}
// ANCHOR_END: pdeathsig

/// Names this process after the program (the basename of `argv[0]`), as `ps` and `top` show it.
/// A process started from `/proc/self/exe` would otherwise be listed as `exe`.
#[cfg(target_os = "linux")]
pub(crate) fn name_after_program() {
    let Some(arg0) = std::env::args_os().next() else {
        return;
    };
    let path = std::path::Path::new(&arg0);
    let Some(name) = path.file_name() else {
        return;
    };
    use std::os::unix::ffi::OsStrExt;
    // The kernel keeps 15 bytes of it.
    let bytes: Vec<u8> = name.as_bytes().iter().copied().take(15).collect();
    if let Ok(name) = std::ffi::CString::new(bytes) {
        let _ = rustix::thread::set_name(&name);
    }
}

/// Naming the process (nothing to do off Linux).
#[cfg(not(target_os = "linux"))]
pub(crate) fn name_after_program() {}

/// Dying with the parent (unsupported off Linux).
#[cfg(not(target_os = "linux"))]
pub(crate) fn die_with_parent(_parent_pid: u32) -> Result<bool, String> {
    Err("processes are supported on Linux only".into())
}

/// A handle to one child process for waiting and signalling without pid-reuse races.
#[derive(Debug)]
pub(crate) struct ChildHandle {
    /// `None` off Linux, and on kernels older than 5.3.
    pidfd: Option<rustix::fd::OwnedFd>,
    pid: u32,
}

/// A pidfd for `pid`, where the system has them (Linux 5.3 and later); `None` elsewhere. Only the
/// parent of an unreaped child can be sure the pid still names that child when it asks.
pub(crate) fn pidfd_for(pid: rustix::process::Pid) -> Option<rustix::fd::OwnedFd> {
    #[cfg(target_os = "linux")]
    {
        rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = pid;
        None
    }
}

/// Sends `signal` through the pidfd when there is one, else by pid.
pub(crate) fn send_signal(
    pidfd: Option<&rustix::fd::OwnedFd>,
    pid: rustix::process::Pid,
    signal: rustix::process::Signal,
) -> rustix::io::Result<()> {
    #[cfg(target_os = "linux")]
    if let Some(pidfd) = pidfd {
        return rustix::process::pidfd_send_signal(pidfd, signal);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = pidfd;
    rustix::process::kill_process(pid, signal)
}

/// The two signals this crate sends. It travels to the fork server, which signals its children
/// on the parent's behalf.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub(crate) enum StopSignal {
    /// SIGTERM: "please stop" (Python's `terminate()`).
    Terminate,
    /// SIGKILL: cannot be caught (Python's `kill()`).
    Kill,
}

impl StopSignal {
    pub(crate) fn to_signal(self) -> rustix::process::Signal {
        match self {
            StopSignal::Terminate => rustix::process::Signal::TERM,
            StopSignal::Kill => rustix::process::Signal::KILL,
        }
    }
}

impl ChildHandle {
    /// Opens a pidfd for a child that has not been reaped yet (so its pid cannot have been reused).
    pub(crate) fn new(child: &Child) -> Self {
        let pid = child.id();
        ChildHandle {
            pidfd: rustix::process::Pid::from_raw(pid as i32).and_then(pidfd_for),
            pid,
        }
    }

    /// Sends a signal. The caller guarantees the child has not been reaped yet when there is no
    /// pidfd (a zombie keeps its pid, so the pid still names our child). A child that has already
    /// exited is not an error: Python's `terminate()` on a finished process does nothing either.
    pub(crate) fn signal(&self, signal: StopSignal) -> Result<(), Error> {
        let Some(pid) = rustix::process::Pid::from_raw(self.pid as i32) else {
            return Ok(());
        };
        match send_signal(self.pidfd.as_ref(), pid, signal.to_signal()) {
            Ok(()) | Err(rustix::io::Errno::SRCH) => Ok(()),
            Err(e) => Err(Error::Ipc(e.into())),
        }
    }

    /// Waits until the child has exited or `timeout` has passed; `true` if it has exited (it is
    /// then ready to be reaped without blocking).
    pub(crate) fn wait_exit(
        &self,
        child: &mut Child,
        timeout: Duration,
    ) -> Result<bool, Error> {
        #[cfg(target_os = "linux")]
        if let Some(pidfd) = &self.pidfd {
            use rustix::event::{PollFd, PollFlags, poll};
            let mut fds = [PollFd::new(pidfd, PollFlags::IN)];
            let timeout = rustix::event::Timespec::try_from(timeout).unwrap_or(
                rustix::event::Timespec {
                    tv_sec: i64::MAX,
                    tv_nsec: 0,
                },
            );
            return match poll(&mut fds, Some(&timeout)) {
                Ok(ready) => Ok(ready > 0),
                Err(rustix::io::Errno::INTR) => Ok(false),
                Err(e) => Err(Error::Ipc(e.into())),
            };
        }
        poll_try_wait(child, timeout)
    }
}

/// Tells whether a child has exited, from another thread than the one that owns its `Child`.
#[derive(Debug)]
pub(crate) struct ExitProbe {
    #[cfg(target_os = "linux")]
    pidfd: Option<rustix::fd::OwnedFd>,
    pid: u32,
}

impl ChildHandle {
    /// A probe for the start-up watcher (a second pidfd for the same process, when there is one).
    pub(crate) fn exit_probe(&self) -> ExitProbe {
        ExitProbe {
            #[cfg(target_os = "linux")]
            pidfd: self.pidfd.as_ref().and_then(|fd| fd.try_clone().ok()),
            pid: self.pid,
        }
    }
}

impl ExitProbe {
    /// Whether the child has exited (it may not have been reaped yet). Does not block.
    pub(crate) fn has_exited(&self) -> bool {
        #[cfg(target_os = "linux")]
        if let Some(pidfd) = &self.pidfd {
            use rustix::event::{PollFd, PollFlags, Timespec, poll};
            let mut fds = [PollFd::new(pidfd, PollFlags::IN)];
            let now = Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            return poll(&mut fds, Some(&now)).is_ok_and(|ready| ready > 0);
        }
        // Without a pidfd: a zombie (state Z) has exited; a pid without an entry was reaped.
        match std::fs::read_to_string(format!("/proc/{}/stat", self.pid)) {
            Ok(stat) => stat
                .rfind(')')
                .and_then(|end| stat[end + 1..].split_whitespace().next())
                .is_some_and(|state| state == "Z" || state == "X"),
            Err(_) => true,
        }
    }
}

/// The fallback without a pidfd: check every millisecond.
fn poll_try_wait(child: &mut Child, timeout: Duration) -> Result<bool, Error> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if child.try_wait().map_err(Error::Ipc)?.is_some() {
            return Ok(true);
        }
        if std::time::Instant::now() >= deadline {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Python's `exitcode` from an exit status: the code, or minus the signal number.
pub(crate) fn exitcode(status: std::process::ExitStatus) -> i32 {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return -signal;
        }
    }
    status.code().unwrap_or(-1)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn parses_only_executable_mappings_of_the_given_inode() {
        let code = "5581e4a00000-5581e4b00000 r-xp 00001000 fd:01 1234 /bin/prog";
        let data = "5581e4c00000-5581e4d00000 rw-p 00001000 fd:01 1234 /bin/prog";
        let lib = "7f0000000000-7f0000100000 r-xp 00000000 fd:01 99 /lib/libc.so.6";
        assert_eq!(
            parse_code_mapping(code, 1234),
            Some(0x5581e4a00000..0x5581e4b00000)
        );
        assert_eq!(parse_code_mapping(data, 1234), None);
        assert_eq!(parse_code_mapping(lib, 1234), None);
    }

    #[test]
    fn this_test_binary_has_code_ranges_containing_its_functions() {
        let ranges = exe_code_ranges().expect("code ranges of the test binary");
        let here =
            this_test_binary_has_code_ranges_containing_its_functions as fn() as usize;
        assert!(ranges.iter().any(|r| r.contains(&here)));
    }
}
