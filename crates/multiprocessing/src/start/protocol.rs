//! What travels between a parent and its child during start-up, and what the child's exit code
//! means: the one vocabulary both sides of both start methods share.
//!
//! - **The bootstrap variable** ([`BOOTSTRAP_ENV`], and the fork server's twin in `forkserver`):
//!   `"<parent pid>:<exe device>:<exe inode>:<socket path>"`. The pid lets the child check that
//!   the parent that started it is still alive; the executable's identity lets a *different*
//!   program that inherited the variable (a child's environment passes on to whatever it runs)
//!   see that it is not meant for it; the path is where the parent listens.
//! - **`Hello`**: a spawned child's first message on that socket.
//! - **`Header`**: the first message on a child's instructions channel (which function, the
//!   process's name, the executable's fingerprint); the argument follows on the same channel.
//! - **`Outcome`**: the one message a child sends back.
//!
//! Serialization is postcard (through ipc-channel), which is not self-describing: both ends must
//! agree on every type exactly, which they do, being the same executable.

use std::ffi::OsString;

use ipc_channel::IpcError;
use ipc_channel::ipc::OpaqueIpcSender;
use serde::{Deserialize, Serialize};

use super::fnid::{Fingerprint, FnIdentity};
use crate::Error;

/// The environment variable that tells a process it is a child and where its parent listens.
///
/// A child passes its environment on to programs it starts with `std::process::Command`; if such a
/// program is this same executable, remove the variable there with
/// `Command::env_remove(multiprocessing::BOOTSTRAP_ENV)`.
pub const BOOTSTRAP_ENV: &str = "MULTIPROCESSING_BOOTSTRAP";

/// The exit code of a child whose function panicked, returned an error, or could not decode its
/// argument (Python's exit code for an exception in `run()`).
pub(crate) const EXIT_FAILED: i32 = 1;
/// The exit code of a child whose start-up failed before the function ran.
pub(crate) const EXIT_BOOTSTRAP_FAILED: i32 = 70;
/// The exit code of a child that found its parent already gone.
pub(crate) const EXIT_ORPHANED: i32 = 71;

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
    /// A fallible function returned `Err`: the error's text (`{:#}`, so a context chain stays).
    Failed(String),
    Panicked {
        message: String,
        location: String,
    },
    /// The argument could not be decoded or the result could not be encoded.
    Unsendable(String),
    /// The child refused to run anything (the fingerprint did not match).
    Refused(String),
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
        let malformed =
            || format!("{name}={value:?} is not \"<pid>:<dev>:<inode>:<path>\"");
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

/// A clear message for a value that arrived but could not be decoded.
pub(crate) fn describe_decode_failure(
    type_name: &str,
    what: &str,
    error: IpcError,
) -> String {
    match error {
        IpcError::SerializationError(e) => format!(
            "could not deserialize the {what} of type {type_name} ({e:?}); its Serialize and \
             Deserialize implementations disagree, or it uses a serde feature postcard does not \
             support (untagged enums, deserialize_any)"
        ),
        other => format!("could not receive the {what} of type {type_name}: {other}"),
    }
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
}
