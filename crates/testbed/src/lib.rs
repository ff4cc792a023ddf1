//! # testbed: the stand-in internet
//!
//! The articles this workspace follows fetch real websites and talk to real servers. Readers on a
//! train, CI machines and this build machine have no internet, and real sites change, rate-limit
//! and go down, which makes a lesson flaky and a measurement meaningless. So every example, test
//! and tour scenario that needs a network talks to this crate instead, on `127.0.0.1` only:
//!
//! - [`Site`]: a local HTTP site (axum on tokio) with deterministic pages behind a configurable
//!   latency, large files streamed with a `Content-Length` (for progress bars), error statuses, a
//!   request that never answers (for timeouts), an echo, and counters of requests served, in flight
//!   and at peak (so a test can prove a concurrency limit was reached and never exceeded).
//! - [`line`](mod@line): the line protocol every chapter's TCP server speaks, as a pure function plus bounded
//!   framing, and a blocking client with deadlines.
//! - [`load`]: a load client that opens `C` connections × `R` round trips against such a server,
//!   checks every reply, and reports round trips per second.
//!
//! - [`wait`]: the deadlines every test of the workspace waits with ([`wait::within`],
//!   [`wait::wait_until`]), so that a hang fails the test with what it was waiting for.
//! - [`work`]: the CPU-bound work the chapters, the tour and the benches measure (the articles'
//!   sum of squares), in one copy.
//!
//! Given real URLs on the command line, the examples fetch those instead; nothing in this crate
//! ever connects anywhere but loopback.
//!
//! ## The site
//!
//! ```
//! let site = testbed::Site::start()?; // 127.0.0.1 and a free port; returns at once
//! println!("serving on {}", site.url());  // http://127.0.0.1:PORT
//! // ... point clients at site.page_url(n), site.file_url(bytes) ...
//! drop(site); // graceful shutdown; the port is free when drop returns
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! `Site::start` works from plain sync code and from inside a tokio runtime alike, because the
//! site runs on a runtime thread of its own (see below).
//!
//! | route | answer |
//! |---|---|
//! | `GET /page/{n}` | [`page_body`]`(n, size)` as `text/html`, after the page latency. Query: `?latency_ms=M` (at most 60 000), `?size=S` (at most 16 MiB) |
//! | `GET /file/{bytes}` | `bytes` bytes ([`file_byte`]`(i)` at offset `i`), streamed in chunks of up to 64 KiB with `Content-Length`. Over 1 GiB: 400. Query: `?rate=B` (bytes per second, overrides [`SiteConfig::file_rate`]), `?cut_after=N` (send the first `N < bytes` bytes, then drop the connection: the client sees an error, not a clean end), `?no_length=1` (no `Content-Length`: chunked) |
//! | `GET /status/{code}` | that status (200 to 599, else 400) and a one-line body |
//! | `GET /hang` | never answers; ends when the client gives up or the site shuts down (after a grace period of [`SHUTDOWN_GRACE`]) |
//! | `POST /echo` | the request body back; over 16 MiB: 413 |
//! | anything else | 404 |
//!
//! A bad parameter (not a number, out of range, an unknown query key) gets `400 Bad Request` with a
//! one-line reason in the body.
//!
//! [`Site::stats`] returns a [`Stats`]: `served` (responses produced), `in_flight` (handlers
//! running), `peak_in_flight` (the largest `in_flight` since the start or [`Site::reset_stats`]).
//! A request counts as in flight from the moment it reaches the router until its response head is
//! ready; for a streamed `/file` that is before the body is sent. The peak is exact: it is kept
//! with `fetch_max`, an atomic read-modify-write, never with a racy load-compare-store.
//!
//! ## Why the site runs on a runtime thread of its own
//!
//! A blocking caller (`reqwest::blocking` in the threading chapter) has no runtime to lend, and an
//! async caller on a current-thread runtime would starve a site that shared it whenever the caller
//! blocked. A small private runtime (two workers) on a `testbed-site` thread serves hundreds of
//! concurrent requests with no help from the caller; the socket is bound in the caller first, so
//! the URL is known and a bind error is returned before the thread starts. Dropping the [`Site`]
//! stops accepting, lets started requests finish for [`SHUTDOWN_GRACE`], drops the rest, and joins
//! the thread (so the drop blocks for at most about a second).
//!
//! ## In production
//!
//! This is a test fixture, not a server to copy: it trusts its loopback clients (no limit on
//! connections, no idle timeout on the HTTP side). To serve HTTP for real, use axum with
//! `tower-http`'s timeouts and limits; to test against a fake HTTP service in a project of your
//! own, the `wiremock` or `httpmock` crates do what the site does here, more generally.
#![forbid(unsafe_code)]

mod content;
pub mod line;
pub mod load;
mod routes;
mod site;
pub mod wait;
pub mod work;

pub use content::{file_byte, page_body};
pub use routes::{MAX_BODY_BYTES, MAX_FILE_BYTES, MAX_LATENCY_MS};
pub use site::{SHUTDOWN_GRACE, Site, SiteConfig, Stats};
