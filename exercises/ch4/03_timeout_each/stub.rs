//! # Exercise 4.3: a timeout for each call
//!
//! Some servers never answer. [`call_each`] makes every call at once and gives each one at most
//! `per_call`: a call that answers in time gives `Some(answer)`, one that does not gives `None`,
//! and one slow call must not cost the others their answers. In Python:
//! `asyncio.wait_for(call(i), per_call)` around each call, inside one `gather`. Use
//! `tokio::time::timeout`.
//!
//! Check your work with `cargo run -p exercises -- check ch4/03`; stuck?
//! `cargo run -p exercises -- hint ch4/03`.

use std::future::Future;
use std::time::Duration;

/// Calls `call(id)` for every id, all at once, giving each call at most `per_call`; returns, in
/// the order of `ids`, `Some(answer)` for the calls that answered in time and `None` for the rest.
pub async fn call_each<F, Fut>(ids: Vec<u64>, per_call: Duration, call: F) -> Vec<Option<String>>
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = String>,
{
    todo!("wrap each call in its own timeout, then await them all together")
}
