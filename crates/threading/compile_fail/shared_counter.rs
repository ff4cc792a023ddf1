// Does not compile, on purpose (E0499): four threads would each need `&mut counter` at once.
// Shown by docs/src/threading/basics.md; a `compile_fail,E0499` doctest in src/lib.rs keeps it
// failing. To see the error: `rustc --edition 2024 crates/threading/compile_fail/shared_counter.rs`
// ANCHOR: program
use std::thread;

fn main() {
    let mut counter = 0_u64;
    thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..100_000 {
                    counter += 1;
                }
            });
        }
    });
    println!("{counter}");
}
// ANCHOR_END: program
