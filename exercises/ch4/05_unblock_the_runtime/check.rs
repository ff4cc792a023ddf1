//! The checks of exercise 4.5: a lookup that blocks its thread until it has seen the runtime's
//! heartbeat go on, on a runtime with one thread. Called on that thread, it can never see one: it
//! gives up after a deadline and the check fails, naming the mistake.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::imp;

/// Incremented by a task on the check's runtime every millisecond.
static HEARTBEAT: AtomicU64 = AtomicU64::new(0);

/// How long a lookup waits for the heartbeat before it concludes the runtime is stalled.
const STALL_LIMIT: Duration = Duration::from_secs(3);

/// The blocking function: blocks until the heartbeat has moved on by a few beats, then answers.
fn lookup(key: u64) -> u64 {
    let start = HEARTBEAT.load(Ordering::Acquire);
    let give_up = Instant::now() + STALL_LIMIT;
    while HEARTBEAT.load(Ordering::Acquire) < start + 3 {
        assert!(
            Instant::now() < give_up,
            "lookup({key}) blocked its thread and the runtime's heartbeat stopped for \
             {STALL_LIMIT:?}: the blocking call runs on the runtime's own thread"
        );
        std::thread::sleep(Duration::from_millis(1)); // blocking, on purpose: this is the lookup
    }
    key * key + 1
}

/// Panics unless every answer comes back in order and the runtime kept running meanwhile.
pub fn check() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("the check's runtime starts");
    runtime.block_on(async {
        let heartbeat = tokio::spawn(async {
            loop {
                tokio::time::sleep(Duration::from_millis(1)).await;
                HEARTBEAT.fetch_add(1, Ordering::Release);
            }
        });
        let keys = vec![3, 1, 4, 1, 5, 9];
        let expected: Vec<u64> = keys.iter().map(|k| k * k + 1).collect();
        let got = imp::lookup_all(keys.clone(), lookup).await;
        assert_eq!(
            got, expected,
            "expected the answers for {keys:?} in that order"
        );
        assert_eq!(imp::lookup_all(Vec::new(), lookup).await, Vec::<u64>::new());
        heartbeat.abort();
    });
    // Blocking threads still sleeping (none, if all went well) must not hold up the verdict.
    runtime.shutdown_background();
}
