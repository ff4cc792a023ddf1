//! # Listing 2.5: a joinable queue: wait until every task is done
//!
//! Worker processes take tasks from a [`JoinableQueue`] and call `task_done` after each one; the
//! parent's `join` returns once every task put so far has been marked done, by any worker. That is
//! Python's `JoinableQueue.join()`. A plain Python `Queue` has no `task_done`, and a plain
//! `Receiver` here has none either (calling it does not compile).
//!
//! After `join`, the parent drops its sender: the end of the stream, so the workers' loops end and
//! each returns how many tasks it did.
//!
//! Run it:
//!
//! ```text
//! cargo run -p multiprocessing --example 05_joinable_queue
//! cargo run -p multiprocessing --example 05_joinable_queue -- --workers 4 --tasks 100
//! ```
//!
//! What to expect: the line saying that `join` returned, then how many tasks each worker did. The
//! workers' shares vary from run to run; their total does not.
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! expect: ^join returned: all 8 tasks done$
//! expect: ^the 2 workers did 8 tasks in all$
//! ```

use std::thread;
use std::time::Duration;

use anyhow::{Result, bail, ensure};
use clap::Parser;
use multiprocessing::queue::JoinableReceiver;
use multiprocessing::{JoinableQueue, Process};

/// Worker processes share the tasks of a joinable queue; the parent waits
/// until every task is done.
#[derive(Parser)]
struct Args {
    /// How many worker processes share the tasks.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// How many tasks the parent puts.
    #[arg(long, default_value_t = 8)]
    tasks: u64,
}

/// The longest the parent waits for anything.
const DEADLINE: Duration = Duration::from_secs(60);

// ANCHOR: worker
/// Takes tasks until the end of the stream, marking each one done; returns
/// how many it did.
fn worker(tasks: JoinableReceiver<u64>) -> u64 {
    let mut done = 0;
    while let Some(task) = tasks.get().expect("get a task") {
        thread::sleep(Duration::from_millis(task % 3)); // the "work"
        tasks.task_done().expect("task_done");
        done += 1;
    }
    done
}
// ANCHOR_END: worker

fn main() -> Result<()> {
    multiprocessing::init();
    let args = Args::parse();

    // ANCHOR: joinable
    let (tasks, tasks_rx) = JoinableQueue::<u64>::unbounded()?;
    let workers = (0..args.workers)
        .map(|_| Process::spawn(worker, tasks_rx.clone()))
        .collect::<Result<Vec<_>, _>>()?;
    drop(tasks_rx); // the parent only produces
    for task in 0..args.tasks {
        tasks.put(task)?;
    }
    tasks.join_timeout(DEADLINE)?; // Python: tasks.join()
    println!("join returned: all {} tasks done", args.tasks);
    drop(tasks); // end of stream: the workers' loops end
    let mut total = 0;
    for (i, mut worker) in workers.into_iter().enumerate() {
        let Some(done) = worker.join_timeout(DEADLINE)? else {
            worker.kill()?;
            bail!("worker {i} did not finish within {DEADLINE:?}");
        };
        println!("worker {i} did {done} tasks");
        total += done;
    }
    // ANCHOR_END: joinable
    ensure!(total == args.tasks, "{total} tasks done, {} put", args.tasks);
    println!("the {} workers did {total} tasks in all", args.workers);
    Ok(())
}
