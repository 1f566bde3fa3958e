//! Helpers shared by the benches: `mod common;` in a bench finds this
//! folder, and cargo does not take a folder's `mod.rs` for a bench target.

#![allow(dead_code)] // each bench uses a part

use criterion::Criterion;
use std::time::Duration;

/// `VmHWM` (peak resident set) of this process, as the kernel prints it.
pub fn peak_memory() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| l["VmHWM:".len()..].trim().to_string()))
        .unwrap_or_else(|| "unknown (no /proc/self/status)".into())
}

/// Criterion for long runs: ten samples of one run each after a short
/// warm-up, no plots (criterion's plotting backend needs system fonts).
pub fn long_runs() -> Criterion {
    Criterion::default()
        .without_plots()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(1))
}
