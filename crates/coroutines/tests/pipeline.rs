//! Tests of `coroutines::pipeline`: the channel never holds more than its capacity, the stream
//! ends when every producer is done, an error on one item does not stop the rest, a panic is
//! reported, bad options are refused, and cancellation (by the token, or by dropping the run)
//! leaves no task running.
//!
//! No I/O here, so every test runs on tokio's paused clock: time moves only when every task is
//! waiting, which makes "wait until everything is blocked" a `sleep` that returns at once.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use coroutines::pipeline::{self, Options, PipelineError, Producer};
use futures::FutureExt;
use futures::future::BoxFuture;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

const DEADLINE: Duration = Duration::from_secs(20);

async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(DEADLINE, future)
        .await
        .unwrap_or_else(|_| {
            panic!("timed out after {DEADLINE:?} (paused clock) waiting for {what}")
        })
}

/// Counts the tasks alive: each producer and consumer holds one of these while it runs.
#[derive(Clone, Default)]
struct Alive(Arc<AtomicUsize>);

struct AliveGuard(Arc<AtomicUsize>);

impl Alive {
    fn enter(&self) -> AliveGuard {
        self.0.fetch_add(1, SeqCst);
        AliveGuard(Arc::clone(&self.0))
    }
    fn count(&self) -> usize {
        self.0.load(SeqCst)
    }
}

impl Drop for AliveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, SeqCst);
    }
}

/// A producer that sends `first..first + count`, counting every send that went through.
fn numbers(
    first: u64,
    count: u64,
    sent: Arc<AtomicUsize>,
) -> impl FnOnce(Producer<u64>) -> BoxFuture<'static, ()> {
    move |producer: Producer<u64>| {
        async move {
            for n in first..first + count {
                producer
                    .send(n)
                    .await
                    .expect("the consumers are still there");
                sent.fetch_add(1, SeqCst);
            }
        }
        .boxed()
    }
}

#[tokio::test(start_paused = true)]
async fn every_item_is_consumed_once_and_the_stream_ends() {
    let sent = Arc::new(AtomicUsize::new(0));
    let producers = (0..3).map(|p| numbers(p * 100, 100, Arc::clone(&sent)));
    let options = Options {
        capacity: 4,
        consumers: 5,
    };
    let consume = |n: u64| async move { Ok::<_, String>(n * 2) };
    let outcome = within(
        "the pipeline to end",
        pipeline::run(options, producers, consume, CancellationToken::new()),
    )
    .await
    .expect("the pipeline runs");
    assert!(!outcome.cancelled);
    let mut doubled: Vec<u64> = outcome.results.into_iter().map(Result::unwrap).collect();
    doubled.sort_unstable();
    let expected: Vec<u64> = (0..300).map(|n| n * 2).collect();
    assert_eq!(doubled, expected, "every item consumed exactly once");
}

#[tokio::test(start_paused = true)]
async fn the_channel_never_holds_more_than_its_capacity() {
    const CAPACITY: usize = 3;
    const CONSUMERS: usize = 2;
    let sent = Arc::new(AtomicUsize::new(0));
    // Consumers take one item each and then wait for a permit: nothing leaves the channel.
    let gate = Arc::new(Semaphore::new(0));
    let consume = {
        let gate = Arc::clone(&gate);
        move |n: u64| {
            let gate = Arc::clone(&gate);
            async move {
                gate.acquire().await.expect("the gate stays open").forget();
                Ok::<_, ()>(n)
            }
        }
    };
    let producers: Vec<_> = (0..2)
        .map(|p| numbers(p * 1000, 50, Arc::clone(&sent)))
        .collect();
    let options = Options {
        capacity: CAPACITY,
        consumers: CONSUMERS,
    };
    let run = tokio::spawn(pipeline::run(
        options,
        producers,
        consume,
        CancellationToken::new(),
    ));
    // On the paused clock this sleep ends only once every task is waiting: the producers are
    // blocked in `send`, the consumers on the gate.
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(
        sent.load(SeqCst),
        CAPACITY + CONSUMERS,
        "sends that went through while nothing was consumed: the channel's capacity plus one \
         item in each consumer's hands"
    );
    gate.add_permits(100);
    let outcome = within("the pipeline to end", run).await.unwrap().unwrap();
    assert_eq!(outcome.results.len(), 100);
}

#[tokio::test(start_paused = true)]
async fn an_error_on_one_item_does_not_stop_the_rest() {
    let sent = Arc::new(AtomicUsize::new(0));
    let consume = |n: u64| async move {
        if n % 10 == 3 {
            Err(format!("item {n} is bad"))
        } else {
            Ok(n)
        }
    };
    let options = Options {
        capacity: 2,
        consumers: 2,
    };
    let outcome = within(
        "the pipeline to end",
        pipeline::run(
            options,
            [numbers(0, 50, sent)],
            consume,
            CancellationToken::new(),
        ),
    )
    .await
    .unwrap();
    let mut errors: Vec<String> = outcome
        .results
        .iter()
        .filter_map(|r| r.clone().err())
        .collect();
    errors.sort();
    let mut expected: Vec<String> = (0..50)
        .filter(|n| n % 10 == 3)
        .map(|n| format!("item {n} is bad"))
        .collect();
    expected.sort();
    assert_eq!(errors, expected);
    assert_eq!(outcome.results.iter().filter(|r| r.is_ok()).count(), 45);
}

#[tokio::test(start_paused = true)]
async fn bad_options_are_refused_before_anything_runs() {
    for (options, expected) in [
        (
            Options {
                capacity: 0,
                consumers: 1,
            },
            PipelineError::ZeroCapacity,
        ),
        (
            Options {
                capacity: 1,
                consumers: 0,
            },
            PipelineError::NoConsumers,
        ),
    ] {
        let ran = Arc::new(AtomicUsize::new(0));
        let consume = |n: u64| async move { Ok::<_, ()>(n) };
        let result = pipeline::run(
            options,
            [numbers(0, 5, Arc::clone(&ran))],
            consume,
            CancellationToken::new(),
        )
        .await;
        assert_eq!(result.err(), Some(expected));
        assert_eq!(ran.load(SeqCst), 0, "no producer ran");
    }
}

#[tokio::test(start_paused = true)]
async fn a_panicking_consumer_is_reported_and_the_rest_stop() {
    let alive = Alive::default();
    let consume = {
        let alive = alive.clone();
        move |n: u64| {
            let guard = alive.enter();
            async move {
                let _alive = guard;
                // The other consumer is mid-item when this one panics: it must be stopped too.
                tokio::time::sleep(Duration::from_millis(5)).await;
                assert_ne!(n, 7, "item 7 is poison");
                Ok::<_, ()>(n)
            }
        }
    };
    let forever = |producer: Producer<u64>| async move {
        for n in 0.. {
            if producer.send(n).await.is_err() {
                return;
            }
        }
    };
    let options = Options {
        capacity: 2,
        consumers: 2,
    };
    let result = within(
        "the pipeline to stop",
        pipeline::run(options, [forever], consume, CancellationToken::new()),
    )
    .await;
    match result {
        Err(PipelineError::Panicked { role, message }) => {
            assert_eq!(role, "consumer");
            assert!(message.contains("item 7 is poison"), "message: {message}");
        }
        other => panic!("expected a panic reported, got {other:?}"),
    }
    assert_eq!(alive.count(), 0);
}

/// Producers that never end and consumers that count and mark themselves alive.
type Produce = Box<dyn FnOnce(Producer<u64>) -> BoxFuture<'static, ()> + Send>;

fn endless(
    alive: &Alive,
    consumed: &Arc<AtomicUsize>,
) -> (
    Vec<Produce>,
    impl Fn(u64) -> BoxFuture<'static, Result<u64, ()>> + Send + Sync + 'static,
) {
    let producers = (0..3)
        .map(|_| {
            let alive = alive.clone();
            Box::new(move |producer: Producer<u64>| {
                async move {
                    let _alive = alive.enter();
                    for n in 0.. {
                        producer
                            .send(n)
                            .await
                            .expect("consumers run until cancelled");
                    }
                }
                .boxed()
            }) as Produce
        })
        .collect();
    let (alive, consumed) = (alive.clone(), Arc::clone(consumed));
    let consume = move |n: u64| {
        let (alive, consumed) = (alive.clone(), Arc::clone(&consumed));
        async move {
            let _alive = alive.enter();
            tokio::time::sleep(Duration::from_millis(10)).await;
            consumed.fetch_add(1, SeqCst);
            Ok::<_, ()>(n)
        }
        .boxed()
    };
    (producers, consume)
}

#[tokio::test(start_paused = true)]
async fn cancelling_stops_every_task_and_keeps_what_was_finished() {
    let (alive, consumed) = (Alive::default(), Arc::new(AtomicUsize::new(0)));
    let (producers, consume) = endless(&alive, &consumed);
    let cancel = CancellationToken::new();
    let options = Options {
        capacity: 4,
        consumers: 3,
    };
    let run = tokio::spawn(pipeline::run(options, producers, consume, cancel.clone()));
    within("20 items consumed", async {
        while consumed.load(SeqCst) < 20 {
            // A look every millisecond of the paused clock, which moves only when every task
            // waits: a poll under the deadline, not a sleep standing in for synchronisation.
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
    cancel.cancel();
    let outcome = within("the cancelled pipeline to return", run)
        .await
        .unwrap()
        .unwrap();
    assert!(outcome.cancelled);
    assert_eq!(
        outcome.results.len(),
        consumed.load(SeqCst),
        "every finished item is reported"
    );
    assert_eq!(alive.count(), 0, "no producer or consumer is still running");
}

#[tokio::test(start_paused = true)]
async fn dropping_the_run_aborts_every_task() {
    let (alive, consumed) = (Alive::default(), Arc::new(AtomicUsize::new(0)));
    let (producers, consume) = endless(&alive, &consumed);
    let options = Options {
        capacity: 4,
        consumers: 3,
    };
    let run = tokio::spawn(pipeline::run(
        options,
        producers,
        consume,
        CancellationToken::new(),
    ));
    within("20 items consumed", async {
        while consumed.load(SeqCst) < 20 {
            // A look every millisecond of the paused clock, which moves only when every task
            // waits: a poll under the deadline, not a sleep standing in for synchronisation.
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
    run.abort(); // drops the run's future, and with it the JoinSet of its tasks
    let _ = run.await;
    within("the aborted tasks to be dropped", async {
        while alive.count() > 0 {
            // A look every millisecond of the paused clock, which moves only when every task
            // waits: a poll under the deadline, not a sleep standing in for synchronisation.
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
}
