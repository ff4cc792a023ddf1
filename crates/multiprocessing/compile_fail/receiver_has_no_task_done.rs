// Does not compile, on purpose (E0599): a plain queue's `Receiver` has no `task_done`; only the
// receiver of a `JoinableQueue` has one, as in Python. Shown by
// docs/src/multiprocessing/communication.md and kept failing by a `compile_fail,E0599` doctest
// in src/queue.rs.
// ANCHOR: program
fn main() -> Result<(), multiprocessing::Error> {
    multiprocessing::init();
    let (_tx, rx) = multiprocessing::Queue::<u64>::unbounded()?;
    rx.task_done()?;
    Ok(())
}
// ANCHOR_END: program
