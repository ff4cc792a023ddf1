// Does not compile, on purpose (E0506): the main thread assigns to a flag that the progress
// thread is still reading. Shown by docs/src/threading/download.md; a `compile_fail,E0506`
// doctest in src/lib.rs keeps it failing. To see the error:
// `rustc --edition 2024 crates/threading/compile_fail/bool_flag.rs`
// ANCHOR: program
use std::thread;
use std::time::Duration;

fn main() {
    let mut download_complete = false;
    thread::scope(|s| {
        s.spawn(|| {
            while !download_complete {
                print!(".");
                thread::sleep(Duration::from_millis(500));
            }
        });
        // ... download the file ...
        download_complete = true;
    });
}
// ANCHOR_END: program
