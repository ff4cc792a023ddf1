//! The site's routes: deterministic pages, files, statuses, a request that never ends, an echo.
//!
//! Every handler checks its parameters and answers a bad one with `400 Bad Request` and a one-line
//! reason, because the site is what readers point their first clients at, and "400: size 20000000
//! is over the 16777216-byte limit" teaches more than a hung test. Unknown query parameters are
//! rejected too, so a typo such as `?latancy_ms=` is an error rather than silently ignored.
//!
//! What one request can cost is bounded: pages and echo bodies are at most 16 MiB, files at most
//! 1 GiB, latencies at most a minute.

use std::convert::Infallible;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::Stream;
use serde::Deserialize;
use tokio::time::Instant;

use crate::content::{CHUNK_BYTES, file_chunk, page_body};
use crate::site::{Counters, SiteConfig, count_requests};

/// The largest `/page` body (`?size=`) and `/echo` request body.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// The largest `/file/{bytes}`.
pub const MAX_FILE_BYTES: u64 = 1 << 30;
/// How long `/file?cut_after=` waits after its last byte before it drops the connection.
const CUT_PAUSE: Duration = Duration::from_millis(100);
/// The longest `?latency_ms=` a page accepts.
pub const MAX_LATENCY_MS: u64 = 60_000;

/// The router with every route and the counting middleware around all of them.
pub(crate) fn router(config: SiteConfig, counters: Arc<Counters>) -> Router {
    Router::new()
        .route("/page/{n}", get(page))
        .route("/file/{bytes}", get(file))
        .route("/status/{code}", get(status))
        .route("/hang", get(hang))
        .route("/echo", post(echo))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            counters,
            count_requests,
        ))
        .with_state(Arc::new(config))
}

/// An error answer: a status and a one-line reason.
struct Problem(StatusCode, String);

impl Problem {
    fn bad_request(reason: impl Into<String>) -> Self {
        Problem(StatusCode::BAD_REQUEST, reason.into())
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        (self.0, format!("{}\n", self.1)).into_response()
    }
}

impl From<PathRejection> for Problem {
    fn from(rejection: PathRejection) -> Self {
        Problem(rejection.status(), rejection.body_text())
    }
}

impl From<QueryRejection> for Problem {
    fn from(rejection: QueryRejection) -> Self {
        Problem(rejection.status(), rejection.body_text())
    }
}

impl From<BytesRejection> for Problem {
    fn from(rejection: BytesRejection) -> Self {
        Problem(rejection.status(), rejection.body_text())
    }
}

/// `/page/{n}` query parameters.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    latency_ms: Option<u64>,
    size: Option<usize>,
}

/// `GET /page/{n}`: `page_body(n, size)` after the latency.
async fn page(
    State(config): State<Arc<SiteConfig>>,
    n: Result<Path<u64>, PathRejection>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    let Path(n) = n?;
    let Query(query) = query?;
    let latency = match query.latency_ms {
        Some(ms) if ms > MAX_LATENCY_MS => {
            return Err(Problem::bad_request(format!(
                "latency_ms {ms} is over the limit of {MAX_LATENCY_MS}"
            )));
        }
        Some(ms) => Duration::from_millis(ms),
        None => config.page_latency,
    };
    let size = query.size.unwrap_or(config.page_size);
    if size > MAX_BODY_BYTES {
        return Err(Problem::bad_request(format!(
            "size {size} is over the limit of {MAX_BODY_BYTES} bytes"
        )));
    }
    tokio::time::sleep(latency).await;
    let headers = [(header::CONTENT_TYPE, "text/html; charset=utf-8")];
    Ok((headers, page_body(n, size)).into_response())
}

/// `/file/{bytes}` query parameters.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileQuery {
    rate: Option<u64>,
    cut_after: Option<u64>,
    no_length: Option<u8>,
}

/// What one `/file` response sends.
#[derive(Clone, Copy, Debug)]
struct FilePlan {
    /// The size the response promises (the path parameter).
    total: u64,
    /// Where the body stops: `total`, or earlier with `?cut_after=`.
    stop_at: u64,
    /// Average bytes per second, or `None` for as fast as possible.
    rate: Option<u64>,
}

/// `GET /file/{bytes}`: `bytes` bytes of the file pattern, streamed.
async fn file(
    State(config): State<Arc<SiteConfig>>,
    total: Result<Path<u64>, PathRejection>,
    query: Result<Query<FileQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    let Path(total) = total?;
    let Query(query) = query?;
    if total > MAX_FILE_BYTES {
        return Err(Problem::bad_request(format!(
            "file size {total} is over the limit of {MAX_FILE_BYTES} bytes (1 GiB)"
        )));
    }
    let rate = query.rate.or(config.file_rate);
    if rate == Some(0) {
        return Err(Problem::bad_request(
            "rate must be at least 1 byte per second",
        ));
    }
    let stop_at = match query.cut_after {
        Some(cut) if cut >= total => {
            return Err(Problem::bad_request(format!(
                "cut_after {cut} must be less than the file size {total}"
            )));
        }
        Some(cut) => cut,
        None => total,
    };
    let with_length = match query.no_length {
        None | Some(0) => true,
        Some(1) => false,
        Some(other) => {
            return Err(Problem::bad_request(format!(
                "no_length must be 0 or 1, not {other}"
            )));
        }
    };
    let plan = FilePlan {
        total,
        stop_at,
        rate,
    };
    let mut response = Response::new(Body::from_stream(file_stream(plan)));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/octet-stream"),
    );
    if with_length {
        // The body's own size is unknown to hyper (it is a stream), so hyper takes the length from
        // this header and sends exactly that many bytes, or aborts the connection if the stream
        // ends early or fails.
        headers.insert(header::CONTENT_LENGTH, header::HeaderValue::from(total));
    }
    Ok(response)
}

/// The chunks of one `/file` body. Unthrottled, each chunk is up to 64 KiB; throttled, chunks are
/// about a twentieth of a second's worth, and each one waits until the average rate allows it
/// (tokio's clock, so a paused-clock test does not really wait).
fn file_stream(plan: FilePlan) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
    let chunk_limit = match plan.rate {
        Some(rate) => (rate / 20).clamp(1, CHUNK_BYTES as u64) as usize,
        None => CHUNK_BYTES,
    };
    let started = Instant::now();
    futures::stream::unfold(Some(0u64), move |sent| async move {
        let sent = sent?;
        if sent == plan.stop_at {
            if plan.stop_at == plan.total {
                return None;
            }
            // An error from the body makes hyper drop the connection mid-body: the client sees a
            // truncated response, not a clean end. Hyper drops whatever it has not yet written to
            // the socket when that happens, so first pause: while this stream is pending, hyper
            // flushes the head and the last chunks. (A client that reads nothing during the pause
            // may see fewer than `cut_after` bytes; it still sees the error.)
            tokio::time::sleep(CUT_PAUSE).await;
            let cut = io::Error::other(format!(
                "cut after {sent} of {} bytes, as asked (?cut_after)",
                plan.total
            ));
            return Some((Err(cut), None));
        }
        if let Some(rate) = plan.rate {
            let due = started + Duration::from_secs_f64(sent as f64 / rate as f64);
            tokio::time::sleep_until(due).await;
        }
        let len = (plan.stop_at - sent).min(chunk_limit as u64) as usize;
        Some((Ok(file_chunk(sent, len)), Some(sent + len as u64)))
    })
}

/// `GET /status/{code}`: that status with a short body.
async fn status(code: Result<Path<u16>, PathRejection>) -> Result<Response, Problem> {
    let Path(code) = code?;
    if !(200..=599).contains(&code) {
        return Err(Problem::bad_request(format!(
            "status {code} is outside 200..=599"
        )));
    }
    let status = StatusCode::from_u16(code)
        .map_err(|_| Problem::bad_request(format!("status {code} is not valid")))?;
    let reason = status.canonical_reason().unwrap_or("(no standard reason)");
    Ok((status, format!("{code} {reason}\n")).into_response())
}

/// `GET /hang`: never answers. The request ends when the client gives up or the site shuts down.
async fn hang() -> Result<Response, Infallible> {
    std::future::pending().await
}

/// `POST /echo`: the request body back (at most [`MAX_BODY_BYTES`], else 413).
async fn echo(body: Result<Bytes, BytesRejection>) -> Result<Response, Problem> {
    let body = body?;
    let headers = [(header::CONTENT_TYPE, "application/octet-stream")];
    Ok((headers, body).into_response())
}

/// Every other path: 404 with the path in the reason.
async fn not_found(uri: Uri) -> Problem {
    Problem(
        StatusCode::NOT_FOUND,
        format!("no route for {}", uri.path()),
    )
}
