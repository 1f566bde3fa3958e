//! Wall time of the world study (market, escrow ledger and daily trust on
//! one queue), and of a slice of its scale workload.
//!
//! - `world/study_20_seeds_2_jobs`: `models/world.toml` (4 markets x 2 legs,
//!   90 days, trust-weighted settlement, net pricing), 20 seeds on 2
//!   threads, as `omerta-sim run` does.
//! - `world_scale/one_seed_<days>d`: `models/world_scale.toml` (2,500 DCs,
//!   7,500 homes, 100,000 consumers) cut to `OMERTA_WORLD_DAYS` days (7 by
//!   default; the file's 365 days need far longer), one seed on one
//!   thread; peak memory (VmHWM) is printed after it.
//!
//! Run: `cargo bench --bench world -- study` and
//! `cargo bench --bench world -- scale`.

mod common;

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use omerta_sim::engine::progress::ProgressMode;
use omerta_sim::models::open_study;
use omerta_sim::study::Scenario;
use omerta_sim::study::exec::{RunOptions, run_seeds};
use std::hint::black_box;
use std::path::PathBuf;

fn model(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models").join(file)
}

fn opts(seeds: Vec<u64>, jobs: usize) -> RunOptions {
    RunOptions {
        seeds,
        jobs,
        progress: ProgressMode::None,
        snapshot_every: None,
        out: std::env::temp_dir().join(format!("omerta-bench-world-{}", std::process::id())),
    }
}

fn study(c: &mut Criterion) {
    let s = open_study(Scenario::load(&model("world.toml"), &[]).expect("loads")).expect("resolves");
    let o = opts((1..=20).collect(), 2);
    let mut g = c.benchmark_group("world");
    g.sampling_mode(SamplingMode::Flat);
    g.bench_function("study_20_seeds_2_jobs", |b| b.iter(|| black_box(run_seeds(s.as_ref(), &o).expect("runs"))));
    g.finish();
}

fn scale(c: &mut Criterion) {
    let days: u32 = std::env::var("OMERTA_WORLD_DAYS").ok().and_then(|d| d.parse().ok()).unwrap_or(7);
    let scenario = Scenario::load(&model("world_scale.toml"), &[format!("days={days}")]).expect("loads");
    let s = open_study(scenario).expect("resolves");
    let o = opts(vec![1], 1);
    let mut g = c.benchmark_group("world_scale");
    g.sampling_mode(SamplingMode::Flat);
    g.bench_function(format!("one_seed_{days}d"), |b| b.iter(|| black_box(run_seeds(s.as_ref(), &o).expect("runs"))));
    g.finish();
    eprintln!("world_scale: peak memory (VmHWM) of the bench process: {}", common::peak_memory());
}

criterion_group! {
    name = benches;
    // Ten samples of one run each; no plots (the machine has no fonts for them).
    config = common::long_runs();
    targets = study, scale
}
criterion_main!(benches);
