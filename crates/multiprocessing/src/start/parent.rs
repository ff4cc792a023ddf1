//! The parent's side of start-up, for both methods: check what can be checked, choose the method,
//! start the child, write its instructions, and hand `Process` what it needs to wait for the
//! result.
//!
//! `spawn` does every check that can fail *before* a process exists (is this Linux, was `init()`
//! called, does the socket path fit, is the function inside the executable), so those errors cost
//! nothing to clean up. After that a child exists, and every error path must kill and reap it:
//! [`StartingChild`] does that in its `Drop`, so an early `return Err(..)` anywhere below cannot
//! leave a process behind.
//!
//! The instructions (the [`Header`], then the argument) are written by the parent into the
//! child's channel right away, with either method, so that an argument that cannot be serialized
//! is an error from `spawn` itself, as it is from Python's `start()`.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ipc_channel::ipc::{self, IpcOneShotServer, IpcSender, OpaqueIpcReceiver};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::fnid::{Fingerprint, FnIdentity};
use super::forkserver::{self, ForkError, Forked};
use super::method::StartMethod;
use super::protocol::{self, Header, Hello};
use super::spawn::{self, Start, StartFailure, StartReport};
use super::started::Started;
use crate::ipc::send_checked;
use crate::platform::{self, ChildHandle};
use crate::{Builder, Error};

static NEXT_PROCESS_NUMBER: AtomicUsize = AtomicUsize::new(1);

/// A child that has been started and given its instructions.
pub(crate) struct Launched {
    pub(crate) name: String,
    pub(crate) method: StartMethod,
    pub(crate) child: Started,
    pub(crate) results: Results,
}

/// Where the child's one message will arrive.
pub(crate) enum Results {
    /// Spawn method: the watcher reports the channel once the child has connected back.
    Connecting(StartReport),
    /// Fork server: the channel was made before the fork, and is open already.
    Open(OpaqueIpcReceiver),
}

/// Starts a child that will run the function `identify` names, with `arg`.
///
/// `identify` is called only after the checks that need no function (platform, `init()`), so
/// that those errors come first whatever the function is.
pub(crate) fn launch<A>(
    builder: &Builder,
    identify: impl FnOnce() -> Result<FnIdentity, Error>,
    arg: A,
) -> Result<Launched, Error>
where
    A: Serialize + DeserializeOwned,
{
    platform::ensure_supported()?;
    if !super::init::is_initialized() {
        return Err(Error::NotInitialized);
    }
    platform::check_socket_dir()?;
    let function = identify()?;
    #[allow(unused_mut, reason = "only the test hook changes it")]
    let mut fingerprint = Fingerprint::current()?;
    #[cfg(feature = "test-hooks")]
    if super::test_hook::wants_corrupt_fingerprint(&builder.env) {
        fingerprint = fingerprint.corrupted();
    }
    let name = builder.name.clone().unwrap_or_else(|| {
        format!(
            "Process-{}",
            NEXT_PROCESS_NUMBER.fetch_add(1, Ordering::Relaxed)
        )
    });
    let plan = Plan {
        builder,
        header: Header {
            name: name.clone(),
            function,
            fingerprint,
        },
        name,
    };
    // ANCHOR: choose_method
    if plan.builder.start_method == Some(StartMethod::Spawn) {
        return start_spawned(plan, arg);
    }
    match forkserver::fork(&plan.builder.env) {
        Ok(forked) => start_forked(plan, forked, arg),
        // Without a choice, a fork server that could not start means the spawn method;
        // asked for by name, it is an error that says why.
        Err(ForkError::Unavailable(_)) if plan.builder.start_method.is_none() => {
            start_spawned(plan, arg)
        }
        Err(ForkError::Unavailable(reason)) => {
            Err(Error::Spawn(std::io::Error::other(reason)))
        }
        Err(ForkError::Failed(error)) => Err(error),
    }
    // ANCHOR_END: choose_method
}

/// What every start method needs to know, worked out before anything is started.
struct Plan<'a> {
    builder: &'a Builder,
    name: String,
    header: Header,
}

/// Kills and reaps a child unless start-up succeeded: every error path of `launch` is covered.
struct StartingChild {
    inner: Option<Started>,
}

impl StartingChild {
    fn child(&mut self) -> &mut Started {
        self.inner
            .as_mut()
            .expect("present until start-up finishes")
    }

    fn finish(mut self) -> Started {
        self.inner.take().expect("present until start-up finishes")
    }
}

impl Drop for StartingChild {
    fn drop(&mut self) {
        if let Some(mut child) = self.inner.take() {
            child.kill_and_reap();
        }
    }
}

/// The fork server has forked the child; hand it its instructions.
fn start_forked<A>(plan: Plan<'_>, forked: Forked, arg: A) -> Result<Launched, Error>
where
    A: Serialize + DeserializeOwned,
{
    let Forked {
        child,
        instructions,
        results,
    } = forked;
    let mut starting = StartingChild {
        inner: Some(Started::Forked(child)),
    };
    if let Err(error) = send_instructions(&plan, &instructions, arg) {
        return Err(explain_failed_forked_send(error, starting.child()));
    }
    Ok(Launched {
        name: plan.name,
        method: StartMethod::ForkServer,
        child: starting.finish(),
        results: Results::Open(results),
    })
}

/// Start the program again; the watcher in `spawn.rs` finishes the conversation once it connects.
fn start_spawned<A>(plan: Plan<'_>, arg: A) -> Result<Launched, Error>
where
    A: Serialize + DeserializeOwned,
{
    let (server, server_name) = IpcOneShotServer::<Hello>::new().map_err(Error::Ipc)?;
    let (instructions, instructions_rx) = ipc::channel::<Header>().map_err(Error::Ipc)?;
    let child =
        spawn::exec(child_command(plan.builder, &server_name)?).map_err(Error::Spawn)?;
    let pid = child.id();
    let handle = ChildHandle::new(&child);
    let probe = handle.exit_probe();
    let mut starting = StartingChild {
        inner: Some(Started::spawned(child, handle)),
    };
    let report = spawn::watch(Start {
        server,
        server_name,
        instructions: instructions_rx.to_opaque(),
        pid,
        probe,
        timeout: plan.builder.start_timeout,
    })?;

    // The child picks these up when it connects. A large argument fills the channel and blocks
    // here until the child reads it; if the child dies first, the watcher drops the receiving end
    // and the send fails instead of hanging.
    if let Err(error) = send_instructions(&plan, &instructions, arg) {
        return Err(explain_failed_send(error, &report, starting.child()));
    }
    Ok(Launched {
        name: plan.name,
        method: StartMethod::Spawn,
        child: starting.finish(),
        results: Results::Connecting(report),
    })
}

/// Writes the header and then the argument into the child's instructions channel.
fn send_instructions<A: Serialize + DeserializeOwned>(
    plan: &Plan<'_>,
    instructions: &IpcSender<Header>,
    arg: A,
) -> Result<(), Error> {
    send_checked(instructions, plan.header.clone(), "the start-up header")?;
    let arguments: IpcSender<A> = instructions.clone().to_opaque().to();
    send_checked(&arguments, arg, &format!("the argument for {}", plan.name))
}

/// A send into the instructions channel failed: if that is because the child died during
/// start-up, say so (the watcher knows); otherwise the send's own error is the news.
fn explain_failed_send(error: Error, report: &StartReport, child: &mut Started) -> Error {
    if !matches!(error, Error::Ipc(_) | Error::Disconnected) {
        return error;
    }
    match spawn::receive(report, Some(Instant::now() + Duration::from_secs(1))) {
        Some(Err(StartFailure::ExitedEarly)) => match child.wait() {
            Ok(status) => {
                spawn::exited_during_start_up(child.pid(), platform::exitcode(status))
            }
            Err(_) => error,
        },
        _ => error,
    }
}

/// The same for a forked child: a send fails when the child is gone, and its status says why.
fn explain_failed_forked_send(error: Error, child: &mut Started) -> Error {
    if !matches!(error, Error::Ipc(_) | Error::Disconnected) {
        return error;
    }
    match child.wait_timeout(Duration::from_secs(1)) {
        Ok(Some(status)) => Error::Bootstrap(format!(
            "forked child process {} {} before it read its instructions",
            child.pid(),
            crate::error::describe_exit(platform::exitcode(status))
        )),
        _ => error,
    }
}

/// `/proc/self/exe` with the bootstrap variable; stdin is `/dev/null` (as in Python's children),
/// stdout and stderr are inherited.
fn child_command(builder: &Builder, server_name: &str) -> Result<Command, Error> {
    let bootstrap_value = protocol::bootstrap_value(server_name)?;
    let mut command = platform::self_exe_command();
    command
        .env(protocol::BOOTSTRAP_ENV, bootstrap_value)
        .envs(builder.env.iter().map(|(k, v)| (k, v)));
    Ok(command)
}
