//! # Listing 4.1: hello, a one-second sleep, world
//!
//! The article's first coroutine. `#[tokio::main]` builds the runtime (Python's event loop) and
//! runs `main` on it, as `asyncio.run(main())` does; `sleep(..).await` pauses this task and lets
//! the runtime run others (there are none here) until the timer fires. A blocking
//! `std::thread::sleep` would instead hold the whole worker thread.
//!
//! Run it:
//!
//! ```text
//! cargo run -p coroutines --example 01_hello_world
//! ```
//!
//! What to expect: `hello`, a pause of about a second, `world`, and the time it took.
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! expect: ^hello$
//! expect: ^world \(after 1\.\d\d s\)$
//! ```

use std::time::{Duration, Instant};

use clap::Parser;

/// Print, await a sleep, print.
#[derive(Parser)]
struct Args {
    /// How long to sleep, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    sleep_ms: u64,
}

// ANCHOR: main
#[tokio::main]
async fn main() {
    let args = Args::parse();
    let started = Instant::now();
    println!("hello");
    tokio::time::sleep(Duration::from_millis(args.sleep_ms)).await;
    println!("world (after {:.2} s)", started.elapsed().as_secs_f64());
}
// ANCHOR_END: main
