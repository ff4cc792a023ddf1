//! multiprocessing (placeholder, filled in below).
#![forbid(unsafe_code)]
