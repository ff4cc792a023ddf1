//! How a child process starts: [`StartMethod`], and the machinery behind
//! [`Process::spawn`](crate::Process::spawn) and [`init()`](crate::init).
//!
//! A child is this same program, started again, that must learn which function to run. The two
//! start methods differ only in how the child comes to exist and gets its instructions channel;
//! from there on both run the same code. The whole path, once:
//!
//! ```text
//!    Process::spawn(f, arg)                            parent.rs
//!    checks first: Linux? init() called? TMPDIR short enough? f in the executable?
//!    Header { name, FnIdentity::of(f), Fingerprint }    protocol.rs, fnid.rs
//!                                          │
//!    StartMethod::Spawn                    │  StartMethod::ForkServer (the default)
//!  ┌───────────────────────────────────────┴───────────────────────────────────────┐
//!  │ parent: exec /proc/self/exe from the  │ parent: ask the fork server to fork   │
//!  │   spawner thread, with the bootstrap  │   (Fork { channel ends })             │
//!  │   variable set              spawn.rs  │                     forkserver/mod.rs │
//!  │ write Header, then arg, into the      │ write Header, then arg, into the      │
//!  │   instructions channel                │   instructions channel                │
//!  │ spawn returns; a watcher thread:      │ spawn returns                         │
//!  │   accept() ◀─ Hello { pid, to_child } │ server: fork() ─▶ a copy of itself,   │
//!  │   send the instructions' receiver     │   Forked { pid } ─▶ parent            │
//!  │   to the child              spawn.rs  │                  forkserver/zygote.rs │
//!  │ child: init() ─▶ run_child            │ child: die with the server, set the   │
//!  │   die with the parent, connect,       │   variables Builder::env asked for    │
//!  │   greet, get the receiver   child.rs  │                  forkserver/zygote.rs │
//!  └───────────────────────────────────────┬───────────────────────────────────────┘
//!                                          │
//!    child, either way: run_instructions reads the Header, checks the Fingerprint,
//!    finds the trampoline entry::<A, R> (fnid.rs), reads A, calls f(A) under
//!    catch_unwind, sends one Outcome (Returned | Failed | Panicked | ...), exits
//!                                                                          child.rs
//!                                          │
//!    parent: join reads the Outcome, then reaps the exit status   process/, started.rs
//! ```
//!
//! The files, each with a module doc that says why it is shaped so:
//!
//! | file | part |
//! |---|---|
//! | `method.rs` | [`StartMethod`], the one public item |
//! | `init.rs` | `init()`: is this process the parent, a spawned child, or the fork server? |
//! | `parent.rs` | the parent's side, both methods: checks, the choice of method, the instructions |
//! | `protocol.rs` | what travels: the bootstrap variable, `Hello`, `Header`, `Outcome`, exit codes |
//! | `child.rs` | the child's side, both methods: from the instructions channel to the `Outcome` |
//! | `fnid.rs` | how the child finds the function: offsets in the executable (`unsafe`, argued) |
//! | `spawn.rs` | the spawn method's parent side: one long-lived thread for every `exec`, the watcher |
//! | `forkserver/` | the fork server: the parent's connection (`mod.rs`), the server (`zygote.rs`, `unsafe`) |
//! | `started.rs` | a started child, either method: pid, exit status, signals |
//! | `test_hook.rs` | failures on demand for the crate's tests; only with the `test-hooks` feature |
//!
//! The operating-system calls the path makes (`/proc/self/exe`, `PR_SET_PDEATHSIG`, pidfds) are in
//! the crate's `platform.rs`, beside the rest of what is Linux-specific.

pub(crate) mod child;
pub(crate) mod fnid;
pub(crate) mod forkserver;
pub(crate) mod init;
mod method;
pub(crate) mod parent;
pub(crate) mod protocol;
pub(crate) mod spawn;
pub(crate) mod started;
#[cfg(feature = "test-hooks")]
pub(crate) mod test_hook;

pub use method::StartMethod;
