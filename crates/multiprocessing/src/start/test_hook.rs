//! The crate's own test hook: a way for its tests to make a child fail at exactly the start-up
//! step under test, which no child function can do (it runs only after start-up succeeded).
//!
//! A test sets [`TEST_HOOK_ENV`] on one child through [`Builder::env`](crate::Builder::env):
//!
//! | value | effect |
//! |---|---|
//! | `exit-before-connect` | the child exits with code 3 before it connects (a forked child: before it reads its instructions) |
//! | `hang-before-connect` | the child blocks forever at that same point |
//! | `corrupt-fingerprint` | the parent sends a fingerprint that cannot match, so the child refuses to run |
//!
//! **This module exists only with the `test-hooks` feature**, which nothing but this crate's tests
//! enables (see the crate's `Cargo.toml`). A program built without it has neither the variable's
//! name nor the code that reads it, so no environment variable can change how a reader's program
//! starts its children. The three places that call in here are marked
//! `#[cfg(feature = "test-hooks")]`.

use std::ffi::OsString;

/// The variable the hooks are read from.
#[doc(hidden)]
pub const TEST_HOOK_ENV: &str = "MULTIPROCESSING_TEST_HOOK";

/// The exit code the `exit-before-connect` hook uses.
const EXIT_TEST_HOOK: i32 = 3;

/// In a child, before it connects to its parent: exit or hang if a test asked for it.
pub(crate) fn before_connect() {
    match std::env::var(TEST_HOOK_ENV).as_deref() {
        Ok("exit-before-connect") => std::process::exit(EXIT_TEST_HOOK),
        Ok("hang-before-connect") => loop {
            std::thread::park();
        },
        _ => {}
    }
}

/// In the parent: whether a test asked for this child's fingerprint to be corrupted.
pub(crate) fn wants_corrupt_fingerprint(env: &[(OsString, OsString)]) -> bool {
    env.iter()
        .any(|(key, value)| key == TEST_HOOK_ENV && value == "corrupt-fingerprint")
}
