// Does not compile, on purpose (E0277): a `Cell<bool>` is not `Sync`, so a scoped thread cannot
// borrow it. Shown by docs/src/threading/download.md; a `compile_fail,E0277` doctest in
// src/lib.rs keeps it failing. To see the error:
// `rustc --edition 2024 crates/threading/compile_fail/cell_flag.rs`
// ANCHOR: program
use std::cell::Cell;
use std::thread;

fn main() {
    let download_complete = Cell::new(false);
    thread::scope(|s| {
        s.spawn(|| {
            while !download_complete.get() {
                // print a dot, sleep
            }
        });
        // ... download the file ...
        download_complete.set(true);
    });
}
// ANCHOR_END: program
