//! Function identity across a re-exec: how the child finds the function the parent asked for.
//!
//! **This module has `unsafe` code** (one of the crate's three such modules): five transmutes of an
//! address into a function pointer, whose soundness argument is the numbered list below.
//!
//! Python's *spawn* start method sends the child the function's *name* (pickle stores
//! `module.qualname`) and the child imports it. Rust has no names at run time, only addresses, and
//! addresses differ between processes: with ASLR the executable is loaded at a random base address.
//! But the executable is loaded *as a whole*, so the distance between two functions in it is the
//! same in every process that runs the same file. So the parent sends offsets from a fixed anchor
//! function, and the child adds its own anchor's address back.
//!
//! Two offsets travel, created together by [`FnIdentity::of::<A, R>`] (or, for a function that
//! returns a `Result`, by [`FnIdentity::of_fallible::<A, T, E>`]):
//! - the user's function, and
//! - its trampoline, `entry::<A, R>` (or `entry_fallible::<A, T, E>`), a monomorphized function of
//!   the plain type [`Entry`]. The child cannot name `A` and `R` (it learns them only from the
//!   parent), but it can call an `Entry`; the trampoline knows the types, turns the user's address
//!   back into a function pointer of the user's type and hands it to
//!   [`super::child::run_typed`], which receives the argument, calls the function and sends the
//!   outcome back. The fallible trampoline also turns an `Err(e)` into its text, `format!("{e:#}")`,
//!   in the child, so `E` needs only `Display`, not `Serialize`.
//!
//! Turning an integer into a function pointer is `unsafe`: Rust cannot check that the integer is a
//! function of that type. This module is the only place that does it, and it is small so that the
//! argument for why it is sound can be checked by reading it:
//!
//! 1. **Same image.** The child was started from `/proc/self/exe` of the parent (a forked child is a
//!    copy of the fork server, which was), which is the very file the parent runs (the link
//!    follows the inode even if the path has been replaced).
//!    Belt and braces, the parent also sends a [`Fingerprint`] (the executable's device and inode,
//!    and the offset of a second known function from the anchor) and the child refuses to run
//!    anything if its own fingerprint differs.
//! 2. **Inside the executable.** [`FnIdentity::of`] refuses functions whose address is outside the
//!    executable's code mappings (a function from a shared library sits at a different random
//!    offset in every process), and the child checks the addresses it computes the same way.
//! 3. **Matching types.** The two offsets are private fields set only by `of::<A, R>` and
//!    `of_fallible::<A, T, E>`, and each pairs the function it was given with the trampoline made
//!    for exactly that function's type: `entry::<A, R>` with a `fn(A) -> R`,
//!    `entry_fallible::<A, T, E>` with a `fn(A) -> Result<T, E>`. So the trampoline the child
//!    calls transmutes the user's address back to the type it had in the parent. The values travel
//!    over the child's private instructions channel (created by the parent, handed over through a
//!    socket in a fresh `0700` directory or the fork server's private channel), so only the
//!    parent, running as the same user, can send them.
//!
//! A pool worker runs many functions, one per task, so a task carries a [`TaskFn`]: the same two
//! offsets, with a trampoline of the type `TaskEntry` that takes a chunk of encoded arguments and
//! returns the encoded outcomes (`pool/worker.rs` does the work; the same three conditions hold).
//!
//! The well-known crate for this job, `procspawn`, does the same thing; we write it here because it
//! is the lesson, and because procspawn pins an older ipc-channel.

#![allow(unsafe_code)]

use std::fmt::Display;

use serde::{Deserialize, Serialize};

use super::child::ChildContext;
use crate::Error;

/// The trampoline's type: every `entry::<A, R>` has it, whatever `A` and `R` are. Returns the
/// child's exit code.
type Entry = fn(ChildContext, usize) -> i32;

/// The fixed point offsets are measured from. `#[inline(never)]` and a body of its own so that it
/// exists as a function with an address.
#[inline(never)]
fn anchor() -> u32 {
    std::hint::black_box(0x414e_4348) // "ANCH"
}

/// A second known function: its offset from the anchor is part of the [`Fingerprint`].
#[inline(never)]
fn probe() -> u32 {
    std::hint::black_box(0x5052_4f42) // "PROB"
}

// ANCHOR: offsets
fn anchor_address() -> usize {
    anchor as fn() -> u32 as usize
}

fn offset_of(address: usize) -> i64 {
    address.wrapping_sub(anchor_address()) as i64
}

fn address_at(offset: i64) -> usize {
    anchor_address().wrapping_add(offset as usize)
}
// ANCHOR_END: offsets

/// What identifies the executable image: checked by the child before it runs anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Fingerprint {
    exe_device: u64,
    exe_inode: u64,
    probe_offset: i64,
}

impl Fingerprint {
    /// The fingerprint of the running process.
    pub(crate) fn current() -> Result<Self, Error> {
        let (exe_device, exe_inode) = crate::platform::exe_identity()?;
        Ok(Fingerprint {
            exe_device,
            exe_inode,
            probe_offset: offset_of(probe as fn() -> u32 as usize),
        })
    }

    /// A fingerprint that matches nothing: what the crate's own tests use to check that a child
    /// refuses to run a function from a different executable.
    #[cfg(any(test, feature = "test-hooks"))]
    pub(crate) fn corrupted(self) -> Self {
        Fingerprint {
            probe_offset: self.probe_offset.wrapping_add(1),
            ..self
        }
    }
}

/// Which function to run, as offsets within the executable (see the module docs).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct FnIdentity {
    entry: i64,
    user: i64,
}

impl FnIdentity {
    /// Identifies `f` and the trampoline that calls it, for sending to a child.
    pub(crate) fn of<A, R>(f: fn(A) -> R) -> Result<Self, Error>
    where
        A: Serialize + for<'de> Deserialize<'de>,
        R: Serialize + for<'de> Deserialize<'de>,
    {
        Self::pair(entry::<A, R> as Entry as usize, f as usize)
    }

    /// Identifies a function that returns a `Result`, and the trampoline that calls it and sends
    /// an `Err` back as its text.
    pub(crate) fn of_fallible<A, T, E>(f: fn(A) -> Result<T, E>) -> Result<Self, Error>
    where
        A: Serialize + for<'de> Deserialize<'de>,
        T: Serialize + for<'de> Deserialize<'de>,
        E: Display,
    {
        Self::pair(entry_fallible::<A, T, E> as Entry as usize, f as usize)
    }

    /// The two offsets, after checking that both functions are in the executable. Called only by
    /// `of` and `of_fallible`, each with a function and the trampoline of that function's type.
    fn pair(entry_address: usize, user_address: usize) -> Result<Self, Error> {
        ensure_in_executable(user_address, "the function to run")?;
        ensure_in_executable(entry_address, "the trampoline")?;
        Ok(FnIdentity {
            entry: offset_of(entry_address),
            user: offset_of(user_address),
        })
    }

    /// In the child: checks the fingerprint, finds the trampoline and runs it. Returns the exit
    /// code for the child. `Err` means nothing was run.
    pub(crate) fn run(
        self,
        fingerprint: Fingerprint,
        context: ChildContext,
    ) -> Result<i32, (String, ChildContext)> {
        if let Err(reason) = self.check(fingerprint) {
            return Err((reason, context));
        }
        let entry_address = address_at(self.entry);
        // SAFETY: `entry_address` is the address of `entry::<A, R>` or
        // `entry_fallible::<A, T, E>` for some types, as computed by `FnIdentity::of` or
        // `of_fallible` in the parent (the fields are private and set nowhere else: condition 3).
        // The parent runs the same executable image (condition 1: fingerprint checked just above,
        // same inode, same distance between two known functions), so anchor + offset is that same
        // function in this process, and `check` verified the address lies in the executable's
        // code (condition 2). Every trampoline has exactly the type `Entry`.
        let entry: Entry =
            unsafe { std::mem::transmute::<*const (), Entry>(entry_address as _) };
        Ok(entry(context, address_at(self.user)))
    }

    fn check(self, fingerprint: Fingerprint) -> Result<(), String> {
        let ours = Fingerprint::current().map_err(|e| e.to_string())?;
        if ours != fingerprint {
            return Err(format!(
                "the parent runs a different executable (parent {fingerprint:?}, child {ours:?}); \
                 refusing to run a function by address"
            ));
        }
        for (what, offset) in [("trampoline", self.entry), ("function", self.user)] {
            ensure_in_executable(address_at(offset), what).map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

fn ensure_in_executable(address: usize, what: &str) -> Result<(), Error> {
    let ranges = crate::platform::exe_code_ranges()?;
    if ranges.iter().any(|range| range.contains(&address)) {
        Ok(())
    } else {
        Err(Error::Unsupported(format!(
            "{what} at {address:#x} is not in the executable's code (is it in a shared library?); \
             only functions compiled into the executable can run in a child process"
        )))
    }
}

/// The trampoline: one copy per `(A, R)`, all of type [`Entry`].
fn entry<A, R>(context: ChildContext, user_address: usize) -> i32
where
    A: Serialize + for<'de> Deserialize<'de>,
    R: Serialize + for<'de> Deserialize<'de>,
{
    // SAFETY: `user_address` is anchor + the `user` offset that `FnIdentity::of::<A, R>` computed
    // from a value of type `fn(A) -> R` in the same executable image (conditions 1 and 2, checked
    // in `FnIdentity::run`), and it was paired with this very monomorphization `entry::<A, R>`
    // (condition 3), so the pointer has exactly this type.
    let f = unsafe { std::mem::transmute::<*const (), fn(A) -> R>(user_address as _) };
    super::child::run_typed(context, |argument| Ok(f(argument)))
}

/// The trampoline of a function that returns a `Result`: one copy per `(A, T, E)`, all of type
/// [`Entry`]. An `Err` travels as its text, with anyhow-style context chains (`{:#}`) kept.
fn entry_fallible<A, T, E>(context: ChildContext, user_address: usize) -> i32
where
    A: Serialize + for<'de> Deserialize<'de>,
    T: Serialize + for<'de> Deserialize<'de>,
    E: Display,
{
    // SAFETY: `user_address` is anchor + the `user` offset that `FnIdentity::of_fallible::<A, T,
    // E>` computed from a value of type `fn(A) -> Result<T, E>` in the same executable image
    // (conditions 1 and 2, checked in `FnIdentity::run`), and it was paired with this very
    // monomorphization `entry_fallible::<A, T, E>` (condition 3), so the pointer has exactly this
    // type.
    let f = unsafe {
        std::mem::transmute::<*const (), fn(A) -> Result<T, E>>(user_address as _)
    };
    super::child::run_typed(context, |argument| {
        f(argument).map_err(|error| format!("{error:#}"))
    })
}

/// The trampoline of a pool task: one copy per `(A, R)`, all of this type. It takes a chunk of
/// arguments (postcard bytes of a `Vec<A>`) and returns the chunk's outcomes as postcard bytes.
type TaskEntry = fn(&[u8], usize) -> Vec<u8>;

/// Which function a pool worker runs for one task: the same pair of offsets as [`FnIdentity`],
/// with a trampoline made for tasks (see `pool/worker.rs`). A pool worker is an ordinary child
/// whose own start-up already checked the [`Fingerprint`] (condition 1); each task's addresses
/// are checked against the executable's code again (condition 2), and the pairing is made only
/// by [`TaskFn::of`] (condition 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TaskFn {
    entry: i64,
    user: i64,
}

impl TaskFn {
    /// Identifies `f` and the task trampoline of its type, for sending to a pool worker.
    pub(crate) fn of<A, R>(f: fn(A) -> R) -> Result<Self, Error>
    where
        A: Serialize + for<'de> Deserialize<'de>,
        R: Serialize + for<'de> Deserialize<'de>,
    {
        Self::task_pair(task_entry::<A, R> as TaskEntry as usize, f as usize)
    }

    /// Identifies a function of two arguments (for `starmap`) and its pair trampoline.
    pub(crate) fn of_pair<A, B, R>(f: fn(A, B) -> R) -> Result<Self, Error>
    where
        A: Serialize + for<'de> Deserialize<'de>,
        B: Serialize + for<'de> Deserialize<'de>,
        R: Serialize + for<'de> Deserialize<'de>,
    {
        Self::task_pair(task_entry_pair::<A, B, R> as TaskEntry as usize, f as usize)
    }

    fn task_pair(entry_address: usize, user_address: usize) -> Result<Self, Error> {
        ensure_in_executable(user_address, "the task function")?;
        ensure_in_executable(entry_address, "the task trampoline")?;
        Ok(TaskFn {
            entry: offset_of(entry_address),
            user: offset_of(user_address),
        })
    }

    /// In a pool worker: runs the function on a chunk of encoded arguments and returns the
    /// encoded outcomes. `Err` means the addresses are not this executable's: nothing ran.
    pub(crate) fn run(self, arguments: &[u8]) -> Result<Vec<u8>, String> {
        for (what, offset) in [
            ("task trampoline", self.entry),
            ("task function", self.user),
        ] {
            ensure_in_executable(address_at(offset), what).map_err(|e| e.to_string())?;
        }
        // SAFETY: `entry` is the offset of `task_entry::<A, R>` for some types, set only by
        // `TaskFn::of` in the parent (condition 3); this worker runs the parent's executable
        // image, which its own start-up checked by fingerprint (condition 1), and the address was
        // just checked to lie in the executable's code (condition 2). Every task trampoline has
        // exactly the type `TaskEntry`.
        let entry: TaskEntry = unsafe {
            std::mem::transmute::<*const (), TaskEntry>(address_at(self.entry) as _)
        };
        Ok(entry(arguments, address_at(self.user)))
    }
}

/// The task trampoline: one copy per `(A, R)`, all of type [`TaskEntry`].
fn task_entry<A, R>(arguments: &[u8], user_address: usize) -> Vec<u8>
where
    A: Serialize + for<'de> Deserialize<'de>,
    R: Serialize + for<'de> Deserialize<'de>,
{
    // SAFETY: `user_address` is anchor + the `user` offset that `TaskFn::of::<A, R>` computed
    // from a value of type `fn(A) -> R` in the same executable image (conditions 1 and 2, checked
    // in `TaskFn::run`), paired with this very monomorphization (condition 3).
    let f = unsafe { std::mem::transmute::<*const (), fn(A) -> R>(user_address as _) };
    crate::pool::worker::run_chunk(arguments, f)
}

/// The task trampoline of a function of two arguments (`starmap`): one copy per `(A, B, R)`.
fn task_entry_pair<A, B, R>(arguments: &[u8], user_address: usize) -> Vec<u8>
where
    A: Serialize + for<'de> Deserialize<'de>,
    B: Serialize + for<'de> Deserialize<'de>,
    R: Serialize + for<'de> Deserialize<'de>,
{
    // SAFETY: as in `task_entry`: the offset was computed by `TaskFn::of_pair::<A, B, R>` from a
    // `fn(A, B) -> R` of this executable image and paired with this monomorphization.
    let f = unsafe { std::mem::transmute::<*const (), fn(A, B) -> R>(user_address as _) };
    crate::pool::worker::run_chunk(arguments, |(a, b): (A, B)| f(a, b))
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn double(x: u32) -> u32 {
        x * 2
    }

    #[test]
    fn offsets_round_trip_within_one_process() {
        let identity =
            FnIdentity::of::<u32, u32>(double).expect("double is in the executable");
        assert_eq!(address_at(identity.user), double as fn(u32) -> u32 as usize);
        assert_eq!(
            address_at(identity.entry),
            entry::<u32, u32> as Entry as usize
        );
    }

    fn checked_half(x: u32) -> Result<u32, String> {
        if x.is_multiple_of(2) {
            Ok(x / 2)
        } else {
            Err(format!("{x} is odd"))
        }
    }

    #[test]
    fn a_fallible_function_is_paired_with_its_own_trampoline() {
        let identity =
            FnIdentity::of_fallible::<u32, u32, String>(checked_half).expect("identity");
        assert_eq!(
            address_at(identity.user),
            checked_half as fn(u32) -> Result<u32, String> as usize
        );
        assert_eq!(
            address_at(identity.entry),
            entry_fallible::<u32, u32, String> as Entry as usize
        );
    }

    #[test]
    fn fingerprint_is_stable_and_corruption_is_detected() {
        let fingerprint = Fingerprint::current().expect("fingerprint");
        assert_eq!(fingerprint, Fingerprint::current().expect("fingerprint"));
        let identity = FnIdentity::of::<u32, u32>(double).expect("identity");
        assert!(identity.check(fingerprint).is_ok());
        let error = identity.check(fingerprint.corrupted()).unwrap_err();
        assert!(error.contains("different executable"), "{error}");
    }

    #[test]
    fn addresses_outside_the_executable_are_refused() {
        let error = ensure_in_executable(8, "a made-up address").unwrap_err();
        assert!(
            error.to_string().contains("not in the executable"),
            "{error}"
        );
    }
}
