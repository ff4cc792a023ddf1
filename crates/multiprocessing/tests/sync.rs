//! Cross-process tests of the synchronization primitives, with real child processes.
//!
//! The interesting ones kill a process while it holds something and check that the others are
//! not stuck: the lock passes on (and says its holder died), the permit returns, the barrier
//! breaks. Every wait has a deadline; children are daemons, so a failing test kills them on
//! drop, and the runner's watchdog ends the binary (and, through `PR_SET_PDEATHSIG`, its children)
//! if a test hangs.
use std::process::ExitCode;
use std::time::Duration;

use multiprocessing::shared::Value;
use multiprocessing::sync::{Barrier, Condition, Event, Lock, RLock, Semaphore, SyncError};
use multiprocessing::{Error, Process};
use serde::{Deserialize, Serialize};
use testbed::wait::DEADLINE;

mod support;

fn main() -> ExitCode {
    multiprocessing::init();
    support::run(
        tests![
            a_lock_makes_read_modify_write_exact,
            a_killed_lock_holder_releases_the_lock,
            a_killed_rlock_holder_releases_every_level,
            a_killed_permit_holder_returns_the_permit,
            a_semaphore_limits_processes,
            an_event_wakes_a_process_and_times_out,
            a_condition_notify_wakes_a_process,
            a_barrier_releases_every_process,
            a_killed_barrier_party_breaks_the_barrier,
            a_primitive_whose_broker_exited_errors,
        ],
        Duration::from_secs(60),
    )
}

fn daemon<A, R>(name: &str, f: fn(A) -> R, arg: A) -> Process<R>
where
    A: Serialize + for<'de> Deserialize<'de>,
    R: Serialize + for<'de> Deserialize<'de> + Send + 'static,
{
    Process::builder()
        .name(name)
        .daemon(true)
        .spawn(f, arg)
        .unwrap_or_else(|e| panic!("could not start {name}: {e}"))
}

fn join<R>(mut process: Process<R>) -> R
where
    R: Serialize + for<'de> Deserialize<'de> + Send + 'static,
{
    let name = process.name().to_string();
    match process.join_timeout(DEADLINE) {
        Ok(Some(value)) => value,
        Ok(None) => panic!("timed out after {DEADLINE:?} waiting for {name} to finish"),
        Err(error) => panic!("{name} failed: {error}"),
    }
}

fn join_killed<R>(mut process: Process<R>)
where
    R: Serialize + for<'de> Deserialize<'de> + Send + 'static,
{
    match process.join_timeout(DEADLINE) {
        Err(Error::Died { exitcode }) => assert_eq!(exitcode, -9, "killed by SIGKILL"),
        Err(other) => panic!("expected a SIGKILLed child, got {other}"),
        Ok(_) => panic!("the killed child finished normally or did not finish in time"),
    }
}

#[derive(Serialize, Deserialize)]
struct Counting {
    lock: Lock,
    counter: Value,
    times: u32,
}

fn add_under_lock(job: Counting) {
    for _ in 0..job.times {
        let _guard = job.lock.acquire().expect("acquire");
        let seen = job.counter.load();
        job.counter.store(seen + 1);
    }
}

fn a_lock_makes_read_modify_write_exact() {
    let lock = Lock::new().unwrap();
    let counter = Value::new(0).unwrap();
    let workers: Vec<_> = (0..4)
        .map(|i| {
            let job = Counting {
                lock: lock.clone(),
                counter: counter.clone(),
                times: 300,
            };
            daemon(&format!("adder-{i}"), add_under_lock, job)
        })
        .collect();
    workers.into_iter().for_each(join);
    assert_eq!(counter.load(), 1200, "updates were lost under the lock");
}

/// Arguments of a child that takes something and then waits to be killed.
#[derive(Serialize, Deserialize)]
struct Holder<T> {
    primitive: T,
    holding: Event,
    never: Event,
}

fn hold_lock_until_killed(job: Holder<Lock>) {
    let _guard = job.primitive.acquire().expect("acquire");
    job.holding.set().expect("set");
    let _ = job.never.wait(); // killed here
}

fn hold_rlock_twice_until_killed(job: Holder<RLock>) {
    let _outer = job.primitive.acquire().expect("acquire");
    let _inner = job.primitive.acquire().expect("re-acquire");
    job.holding.set().expect("set");
    let _ = job.never.wait();
}

fn hold_permit_until_killed(job: Holder<Semaphore>) {
    let _permit = job.primitive.acquire().expect("acquire");
    job.holding.set().expect("set");
    let _ = job.never.wait();
}

fn wait_for_holding(holding: &Event) {
    assert!(
        holding.wait_timeout(DEADLINE).unwrap(),
        "timed out after {DEADLINE:?} waiting for the child to take the primitive"
    );
}

fn a_killed_lock_holder_releases_the_lock() {
    let lock = Lock::new().unwrap();
    let (holding, never) = (Event::new().unwrap(), Event::new().unwrap());
    let job = Holder {
        primitive: lock.clone(),
        holding: holding.clone(),
        never,
    };
    let holder = daemon("lock-holder", hold_lock_until_killed, job);
    wait_for_holding(&holding);
    assert!(
        lock.try_acquire().unwrap().is_none(),
        "the lock was free while the child held it"
    );
    holder.kill().unwrap();
    join_killed(holder);
    let guard = lock
        .acquire_timeout(DEADLINE)
        .unwrap()
        .expect("the lock of a killed holder was not released within the deadline");
    assert!(
        guard.previous_holder_died(),
        "the new holder was not told the old one died"
    );
}

fn a_killed_rlock_holder_releases_every_level() {
    let lock = RLock::new().unwrap();
    let (holding, never) = (Event::new().unwrap(), Event::new().unwrap());
    let job = Holder {
        primitive: lock.clone(),
        holding: holding.clone(),
        never,
    };
    let holder = daemon("rlock-holder", hold_rlock_twice_until_killed, job);
    wait_for_holding(&holding);
    let early = lock.acquire_timeout(Duration::ZERO).unwrap();
    assert!(
        early.is_none(),
        "the RLock was free while the child held it"
    );
    holder.kill().unwrap();
    join_killed(holder);
    let guard = lock
        .acquire_timeout(DEADLINE)
        .unwrap()
        .expect("an RLock held twice by a killed process was not released");
    assert!(guard.previous_holder_died());
}

fn a_killed_permit_holder_returns_the_permit() {
    let semaphore = Semaphore::new(1).unwrap();
    let (holding, never) = (Event::new().unwrap(), Event::new().unwrap());
    let job = Holder {
        primitive: semaphore.clone(),
        holding: holding.clone(),
        never,
    };
    let holder = daemon("permit-holder", hold_permit_until_killed, job);
    wait_for_holding(&holding);
    assert!(
        semaphore.acquire_timeout(Duration::ZERO).unwrap().is_none(),
        "a second permit"
    );
    holder.kill().unwrap();
    join_killed(holder);
    let permit = semaphore.acquire_timeout(DEADLINE).unwrap();
    assert!(
        permit.is_some(),
        "the killed holder's permit did not come back"
    );
}

#[derive(Serialize, Deserialize)]
struct Limited {
    semaphore: Semaphore,
    inside: Value,
    most_inside: Value,
}

fn enter_limited_section(job: Limited) {
    for _ in 0..5 {
        let _permit = job.semaphore.acquire().expect("acquire");
        let now_inside = job.inside.fetch_add(1) + 1;
        job.most_inside.fetch_max(now_inside);
        std::thread::sleep(Duration::from_millis(2)); // the work inside the section
        job.inside.fetch_sub(1);
    }
}

fn a_semaphore_limits_processes() {
    let semaphore = Semaphore::new(2).unwrap();
    let (inside, most_inside) = (Value::new(0).unwrap(), Value::new(0).unwrap());
    let workers: Vec<_> = (0..5)
        .map(|i| {
            let job = Limited {
                semaphore: semaphore.clone(),
                inside: inside.clone(),
                most_inside: most_inside.clone(),
            };
            daemon(&format!("limited-{i}"), enter_limited_section, job)
        })
        .collect();
    workers.into_iter().for_each(join);
    let most = most_inside.load();
    assert!(
        (1..=2).contains(&most),
        "{most} processes were inside a Semaphore(2) section"
    );
    assert_eq!(inside.load(), 0);
}

fn wait_on_event((event, timeout): (Event, Duration)) -> bool {
    event.wait_timeout(timeout).expect("wait")
}

fn an_event_wakes_a_process_and_times_out() {
    let event = Event::new().unwrap();
    let impatient = daemon(
        "impatient",
        wait_on_event,
        (event.clone(), Duration::from_millis(30)),
    );
    assert!(
        !join(impatient),
        "wait_timeout reported a set event that nobody set"
    );
    let patient = daemon("patient", wait_on_event, (event.clone(), DEADLINE));
    event.set().unwrap();
    assert!(join(patient), "the waiting process was not woken by set()");
    assert!(event.is_set().unwrap());
}

fn wait_for_notify((condition, ready): (Condition, Event)) -> bool {
    let mut guard = condition.acquire().expect("acquire");
    ready.set().expect("set");
    guard.wait_timeout(DEADLINE).expect("wait")
}

fn a_condition_notify_wakes_a_process() {
    let (condition, ready) = (Condition::new().unwrap(), Event::new().unwrap());
    let waiter = daemon(
        "cond-waiter",
        wait_for_notify,
        (condition.clone(), ready.clone()),
    );
    wait_for_holding(&ready);
    // This acquire succeeds only after the child's wait has released the lock, so the notify
    // cannot come too early.
    let guard = condition.acquire().unwrap();
    guard.notify(1).unwrap();
    drop(guard);
    assert!(
        join(waiter),
        "the condition waiter timed out instead of being notified"
    );
}

fn meet_at_barrier(barrier: Barrier) -> Result<u32, String> {
    barrier.wait_timeout(DEADLINE).map_err(|e| e.to_string())
}

fn a_barrier_releases_every_process() {
    let barrier = Barrier::new(4).unwrap();
    let parties: Vec<_> = (0..4)
        .map(|i| daemon(&format!("party-{i}"), meet_at_barrier, barrier.clone()))
        .collect();
    let mut indices: Vec<u32> = parties
        .into_iter()
        .map(|p| join(p).expect("a party did not pass the barrier"))
        .collect();
    indices.sort();
    assert_eq!(indices, vec![0, 1, 2, 3]);
}

fn a_killed_barrier_party_breaks_the_barrier() {
    let barrier = Barrier::new(3).unwrap();
    let doomed = daemon("doomed-party", meet_at_barrier, barrier.clone());
    let survivor = daemon("surviving-party", meet_at_barrier, barrier.clone());
    testbed::wait::wait_until("both parties to reach the barrier", DEADLINE, || {
        barrier.n_waiting().unwrap() == 2
    });
    doomed.kill().unwrap();
    join_killed(doomed);
    let outcome = join(survivor);
    let error = outcome.expect_err("the surviving party passed a barrier that lost a party");
    assert_eq!(error, SyncError::BrokenBarrier.to_string());
    assert!(matches!(barrier.wait(), Err(SyncError::BrokenBarrier)));
}

fn make_a_lock((): ()) -> Lock {
    Lock::new().expect("a lock in the child")
}

fn a_primitive_whose_broker_exited_errors() {
    // The child creates the lock, so its broker lives in the child, which then exits.
    let lock = join(daemon("short-lived-broker", make_a_lock, ()));
    let error = lock
        .acquire()
        .err()
        .expect("a lock whose broker exited was acquired");
    assert!(matches!(error, SyncError::BrokerGone), "{error}");
}
