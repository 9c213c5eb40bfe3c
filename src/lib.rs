//! The `lumea` command line's library: the replay format, generated command
//! streams for benchmarks, and the differential checker that property tests
//! and the fuzz target run both books through. Not part of the app.

pub mod check;
pub mod replay;
pub mod workload;
