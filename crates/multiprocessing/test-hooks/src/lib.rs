//! Turns on the `test-hooks` feature of `multiprocessing` in the workspace's test builds, and does
//! nothing else; its `Cargo.toml` says why it exists.
#![forbid(unsafe_code)]
