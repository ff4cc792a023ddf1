//! [`Builder`]: the options of a child process (Python's `Process(name=, daemon=)` keyword
//! arguments, and `get_context(method)`), gathered before anything starts.

use std::ffi::OsString;
use std::fmt::Display;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Process;
use crate::Error;
use crate::start::StartMethod;
use crate::start::fnid::FnIdentity;

/// How long [`Process::spawn`] waits, by default, for a child to connect back.
pub const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(30);

/// Options for starting a process: [`Process::builder`], then [`spawn`](Builder::spawn).
#[derive(Debug, Clone)]
pub struct Builder {
    pub(crate) name: Option<String>,
    pub(crate) daemon: bool,
    pub(crate) env: Vec<(OsString, OsString)>,
    pub(crate) start_timeout: Duration,
    pub(crate) start_method: Option<StartMethod>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// Defaults: name `"Process-N"`, not a daemon, the parent's environment, a 30 s start-up limit.
    pub fn new() -> Self {
        Builder {
            name: None,
            daemon: false,
            env: Vec::new(),
            start_timeout: DEFAULT_START_TIMEOUT,
            start_method: None,
        }
    }

    /// The process's name (Python's `name=`); the child sees it as
    /// [`current_process_name()`](crate::current_process_name).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// A daemon process is killed when its `Process` is dropped; a non-daemon one is joined
    /// (Python's `daemon=`; see [`Process`], "Dropping").
    pub fn daemon(mut self, daemon: bool) -> Self {
        self.daemon = daemon;
        self
    }

    /// Sets an environment variable for the child, on top of the inherited environment.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// How long to wait for the child to connect back before killing it and failing with
    /// [`Error::Timeout`]. The time covers whatever `main` does before [`init()`](crate::init).
    /// Only the [`Spawn`](StartMethod::Spawn) method has such a wait: a forked child is running
    /// the crate's code from its first instant.
    pub fn start_timeout(mut self, timeout: Duration) -> Self {
        self.start_timeout = timeout;
        self
    }

    /// How to start the child (Python's `get_context(method).Process`); see [`StartMethod`].
    /// Without this, the fork server is used when it runs, and the spawn method otherwise.
    pub fn start_method(mut self, method: StartMethod) -> Self {
        self.start_method = Some(method);
        self
    }

    /// Starts a child process that runs `f(arg)`; see [`Process::spawn`].
    pub fn spawn<A, R>(self, f: fn(A) -> R, arg: A) -> Result<Process<R>, Error>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        Process::start(self, || FnIdentity::of(f), arg)
    }

    /// Starts a child process that runs `f(arg)`, a function that may fail; see
    /// [`Process::spawn_fallible`].
    pub fn spawn_fallible<A, T, E>(
        self,
        f: fn(A) -> Result<T, E>,
        arg: A,
    ) -> Result<Process<T>, Error>
    where
        A: Serialize + DeserializeOwned,
        T: Serialize + DeserializeOwned + Send + 'static,
        E: Display,
    {
        Process::start(self, || FnIdentity::of_fallible(f), arg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_defaults_and_settings() {
        let builder = Builder::new();
        assert_eq!(builder.start_timeout, DEFAULT_START_TIMEOUT);
        assert!(!builder.daemon && builder.name.is_none() && builder.env.is_empty());
        let builder = Process::builder()
            .name("w")
            .daemon(true)
            .env("K", "V")
            .start_timeout(Duration::from_secs(1));
        assert_eq!(builder.name.as_deref(), Some("w"));
        assert!(builder.daemon);
        assert_eq!(builder.env, vec![("K".into(), "V".into())]);
    }
}
