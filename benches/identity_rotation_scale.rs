//! Wall time and peak memory of the identity-rotation scale run,
//! `models/identity_rotation_scale.toml` (docs/models/identity_rotation.md): one
//! ledger of 1,000,000 accounts, 10,000,000 transfer requests over 100 days
//! with the defended switches, and the corrected detector over the final
//! 90-day window. Seed 1 on one worker thread through
//! `omerta_sim::study::exec::run_seeds` (`jobs: 1`, no progress, no
//! snapshots), aggregation and report excluded. After the benchmark the
//! process's peak resident memory (`VmHWM` in `/proc/self/status`) is
//! printed to stderr, with the run's own wall-clock metrics (requests per
//! second in the transfer phase, seconds of the final detection) of the
//! last sample.
//!
//! Targets (one core): the whole run in at most 40 s, the transfer phase at
//! least 1,000,000 requests/s, the final detection at most 20 s, peak RSS at
//! most 4 GiB.
//!
//! One run takes about 20 s; criterion takes 10 samples (flat sampling, one
//! run each) after one warm-up run, about 4 minutes in all:
//!
//! ```text
//! cargo bench --bench identity_rotation_scale
//! ```
//!
//! `OMERTA_IR_SCALE_TRANSFERS=<n>` runs n requests instead (e.g. 1000000 for
//! a quick look); the benchmark id names the number.

mod common;

use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use omerta_sim::engine::progress::ProgressMode;
use omerta_sim::study::Scenario;
use omerta_sim::study::exec::{RunOptions, run_seeds};
use std::path::PathBuf;

fn scale(c: &mut Criterion) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/identity_rotation_scale.toml");
    let sets: Vec<String> = match std::env::var("OMERTA_IR_SCALE_TRANSFERS") {
        Ok(n) => {
            let n: u64 = n.trim().parse().unwrap_or_else(|_| panic!("OMERTA_IR_SCALE_TRANSFERS={n}: not a number"));
            vec![format!("scale.transfers={n}")]
        }
        Err(_) => Vec::new(),
    };
    let scenario = Scenario::load(&path, &sets).unwrap_or_else(|e| panic!("{e}"));
    let transfers = scenario.table.get("scale").and_then(|t| t.get("transfers")).and_then(|v| v.as_integer());
    let study = omerta_sim::models::open_study(scenario).unwrap_or_else(|e| panic!("{e}"));
    let out = std::env::temp_dir().join(format!("omerta-bench-ir-scale-{}", std::process::id()));
    let opts =
        RunOptions { seeds: vec![1], jobs: 1, progress: ProgressMode::None, snapshot_every: None, out: out.clone() };

    let mut last = None;
    let mut g = c.benchmark_group("identity_rotation_scale_1_seed");
    g.sampling_mode(SamplingMode::Flat);
    g.bench_function(BenchmarkId::new("transfers", transfers.unwrap_or(-1)), |b| {
        b.iter(|| {
            let outputs = run_seeds(study.as_ref(), &opts).expect("the study runs");
            assert_eq!(outputs[0].metrics.get("scale.conservation_ok"), Some(&Some(1.0)), "money is conserved");
            last = Some(outputs);
        });
    });
    g.finish();
    if let Some(outputs) = last {
        let m = &outputs[0].metrics;
        let get = |k: &str| m.get(k).copied().flatten().unwrap_or(f64::NAN);
        eprintln!(
            "identity_rotation_scale (last sample): {:.0} requests/s in the transfer phase, final detection {:.2} s, \
             {} window edges, {} flagged accounts",
            get("scale.transfers_per_second"),
            get("scale.detect_seconds"),
            get("scale.window_edges"),
            get("scale.flagged_accounts"),
        );
    }
    eprintln!("identity_rotation_scale: peak memory (VmHWM) of the bench process: {}", common::peak_memory());
    let _ = std::fs::remove_dir_all(&out);
}

criterion_group! {
    name = benches;
    // 10 samples of one run each, after one warm-up run. No plots:
    // criterion's plotters backend panics when the machine has no fonts.
    config = common::long_runs();
    targets = scale
}
criterion_main!(benches);
