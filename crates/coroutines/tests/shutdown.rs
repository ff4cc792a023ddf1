//! Tests of `coroutines::shutdown`, driven through its API instead of real signals, on tokio's
//! paused clock: the grace period is honoured to the tick, a second request forces the stop, and
//! tasks that ignore both are counted, not waited for.

use std::time::Duration;

use coroutines::shutdown::{Outcome, Request, Shutdown};
use tokio::time::Instant;

const GRACE: Duration = Duration::from_secs(10);

/// A task that finishes `work` after the graceful token, unless forced first.
fn spawn_worker(shutdown: &Shutdown, work: Duration) {
    let graceful = shutdown.graceful_token();
    let forced = shutdown.forced_token();
    shutdown.spawn(async move {
        graceful.cancelled().await;
        tokio::select! {
            () = forced.cancelled() => {}
            () = tokio::time::sleep(work) => {}
        }
    });
}

#[tokio::test(start_paused = true)]
async fn the_first_request_is_graceful_and_later_ones_force() {
    let shutdown = Shutdown::new(GRACE);
    assert!(!shutdown.is_requested());
    assert_eq!(shutdown.request(), Request::Graceful);
    assert!(shutdown.graceful_token().is_cancelled());
    assert!(!shutdown.forced_token().is_cancelled());
    assert_eq!(shutdown.request(), Request::Forced);
    assert!(shutdown.forced_token().is_cancelled());
    assert_eq!(shutdown.request(), Request::Forced, "and stays so");
}

#[tokio::test(start_paused = true)]
async fn tasks_that_finish_within_the_grace_period_are_waited_for() {
    let shutdown = Shutdown::new(GRACE);
    for seconds in [1, 3, 7] {
        spawn_worker(&shutdown, Duration::from_secs(seconds));
    }
    let report = shutdown.drain().await;
    assert_eq!(report.outcome, Outcome::Drained);
    assert_eq!(
        report.elapsed,
        Duration::from_secs(7),
        "as long as the slowest, no longer"
    );
    assert_eq!((report.running_when_forced, report.still_running), (0, 0));
    assert!(
        !shutdown.forced_token().is_cancelled(),
        "nothing was forced"
    );
}

#[tokio::test(start_paused = true)]
async fn the_grace_period_ends_in_a_forced_stop() {
    let shutdown = Shutdown::new(GRACE);
    spawn_worker(&shutdown, Duration::from_secs(2));
    spawn_worker(&shutdown, Duration::from_secs(60));
    let report = shutdown.drain().await;
    assert_eq!(report.outcome, Outcome::GraceExpired);
    assert_eq!(report.elapsed, GRACE, "the forced worker ends at once");
    assert_eq!(report.running_when_forced, 1, "the 60 s worker");
    assert_eq!(report.still_running, 0, "it honoured the forced token");
}

#[tokio::test(start_paused = true)]
async fn a_second_request_forces_the_stop_before_the_grace_period_ends() {
    let shutdown = Shutdown::new(GRACE);
    spawn_worker(&shutdown, Duration::from_secs(60));
    let operator = shutdown.clone();
    tokio::spawn(async move {
        assert_eq!(operator.request(), Request::Graceful);
        tokio::time::sleep(Duration::from_secs(3)).await; // the operator loses patience
        assert_eq!(operator.request(), Request::Forced);
    });
    operator_has_asked(&shutdown).await;
    let started = Instant::now();
    let report = shutdown.drain().await;
    assert_eq!(report.outcome, Outcome::Forced);
    assert_eq!(started.elapsed(), Duration::from_secs(3));
    assert_eq!((report.running_when_forced, report.still_running), (1, 0));
}

#[tokio::test(start_paused = true)]
async fn a_task_that_ignores_both_tokens_is_reported_not_waited_for() {
    let force_wait = Duration::from_secs(2);
    let shutdown = Shutdown::new(GRACE).with_force_wait(force_wait);
    shutdown.spawn(tokio::time::sleep(Duration::from_secs(3600)));
    let report = shutdown.drain().await;
    assert_eq!(report.outcome, Outcome::GraceExpired);
    assert_eq!(report.elapsed, GRACE + force_wait);
    assert_eq!((report.running_when_forced, report.still_running), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn drain_with_nothing_running_returns_at_once() {
    let shutdown = Shutdown::new(GRACE);
    let report = shutdown.drain().await;
    assert_eq!(report.outcome, Outcome::Drained);
    assert_eq!(report.elapsed, Duration::ZERO);
    assert!(shutdown.is_requested(), "drain requests the stop itself");
}

#[tokio::test(start_paused = true)]
async fn requested_wakes_when_someone_asks() {
    let shutdown = Shutdown::new(GRACE);
    let waiter = {
        let shutdown = shutdown.clone();
        tokio::spawn(async move { shutdown.requested().await })
    };
    shutdown.request();
    tokio::time::timeout(Duration::from_secs(1), waiter)
        .await
        .expect("`requested` returns once a stop is requested")
        .unwrap();
}

async fn operator_has_asked(shutdown: &Shutdown) {
    tokio::time::timeout(Duration::from_secs(1), shutdown.requested())
        .await
        .expect("the operator's first request");
}
