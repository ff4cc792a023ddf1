// Does not compile, on purpose (E0277): `Cell<u64>` is not `Sync`, so an `Arc` of one cannot go
// to another thread. Shown by docs/src/threading/basics.md; a `compile_fail,E0277` doctest in
// src/lib.rs keeps it failing. To see the error:
// `rustc --edition 2024 crates/threading/compile_fail/cell_counter.rs`
// ANCHOR: program
use std::cell::Cell;
use std::sync::Arc;
use std::thread;

fn main() {
    let counter = Arc::new(Cell::new(0_u64));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let counter = Arc::clone(&counter);
            thread::spawn(move || {
                for _ in 0..100_000 {
                    counter.set(counter.get() + 1);
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    println!("{}", counter.get());
}
// ANCHOR_END: program
