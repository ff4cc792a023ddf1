//! The one thread that starts every child process.
//!
//! Why a thread of its own: children ask the kernel to kill them when their parent dies
//! (`PR_SET_PDEATHSIG`, see `platform`). For the kernel, the "parent" is the *thread* that forked
//! the child, not the whole process. If a child were started from a short-lived thread (a worker
//! of a thread pool, a test's thread, a scoped thread), the child would be killed the moment that
//! thread finished, while the parent process carries on. So every `fork`/`exec` happens on one
//! thread that the crate starts on first use and that lives as long as the process: requests go
//! to it over a channel and the started `Child` comes back.
//!
//! The cost is one channel round trip per spawn (microseconds); the start-up of the child itself
//! takes far longer.

use std::io;
use std::process::{Child, Command};
use std::sync::OnceLock;
use std::sync::mpsc;

struct Request {
    command: Command,
    reply: mpsc::SyncSender<io::Result<Child>>,
}

static SPAWNER: OnceLock<Result<mpsc::Sender<Request>, String>> = OnceLock::new();

/// Starts `command` on the spawner thread and returns the running child.
pub(crate) fn spawn(command: Command) -> io::Result<Child> {
    let requests = SPAWNER
        .get_or_init(start_spawner_thread)
        .as_ref()
        .map_err(|e| io::Error::other(e.clone()))?;
    let (reply, replies) = mpsc::sync_channel(1);
    requests
        .send(Request { command, reply })
        .map_err(|_| io::Error::other("the multiprocessing spawner thread has stopped"))?;
    replies
        .recv()
        .map_err(|_| io::Error::other("the multiprocessing spawner thread has stopped"))?
}

// ANCHOR: spawner
fn start_spawner_thread() -> Result<mpsc::Sender<Request>, String> {
    let (requests, incoming) = mpsc::channel::<Request>();
    std::thread::Builder::new()
        .name("multiprocessing-spawner".into())
        .spawn(move || {
            // The sender lives in a static, so this loop ends only when the process does.
            for mut request in incoming {
                let _ = request.reply.send(request.command.spawn());
            }
        })
        .map_err(|e| format!("cannot start the multiprocessing spawner thread: {e}"))?;
    Ok(requests)
}
// ANCHOR_END: spawner
