//! Shared memory across real processes: a child's write is seen by the parent (the check that
//! `IpcSharedMemory` is a real shared mapping on this platform, not a copy made when sent), and
//! `fetch_add` from several processes loses nothing.
use std::process::ExitCode;
use std::time::Duration;

use multiprocessing::Process;
use multiprocessing::shared::{Array, Value};
use serde::{Deserialize, Serialize};
use testbed::wait::DEADLINE;

mod support;

fn main() -> ExitCode {
    multiprocessing::init();
    support::run(
        tests![
            a_childs_write_is_seen_by_the_parent,
            a_parents_write_is_seen_by_the_child,
            fetch_add_from_four_processes_is_exact,
        ],
        Duration::from_secs(60),
    )
}

fn join<R>(mut process: Process<R>) -> R
where
    R: Serialize + for<'de> Deserialize<'de> + Send + 'static,
{
    match process.join_timeout(DEADLINE) {
        Ok(Some(value)) => value,
        Ok(None) => panic!(
            "timed out after {DEADLINE:?} waiting for {}",
            process.name()
        ),
        Err(error) => panic!("{} failed: {error}", process.name()),
    }
}

fn write_squares(array: Array) {
    for index in 0..array.len() {
        array.store(index, (index * index) as i64);
    }
}

fn a_childs_write_is_seen_by_the_parent() {
    let array = Array::zeroed(8).unwrap();
    let child = Process::builder()
        .daemon(true)
        .spawn(write_squares, array.clone())
        .unwrap();
    join(child);
    assert_eq!(array.to_vec(), vec![0, 1, 4, 9, 16, 25, 36, 49]);
}

fn read_value(value: Value) -> i64 {
    value.load()
}

fn a_parents_write_is_seen_by_the_child() {
    let value = Value::new(0).unwrap();
    value.store(-12345);
    let child = Process::builder()
        .daemon(true)
        .spawn(read_value, value.clone())
        .unwrap();
    assert_eq!(join(child), -12345);
}

fn add_many((counter, times): (Value, u32)) {
    for _ in 0..times {
        counter.fetch_add(1);
    }
}

fn fetch_add_from_four_processes_is_exact() {
    let counter = Value::new(0).unwrap();
    let children: Vec<_> = (0..4)
        .map(|_| {
            Process::builder()
                .daemon(true)
                .spawn(add_many, (counter.clone(), 100_000))
                .unwrap()
        })
        .collect();
    children.into_iter().for_each(join);
    assert_eq!(counter.load(), 400_000);
}
