//! Wall time of the economic_value study, and of its scale workload.
//!
//! - `economic_value/study_20_seeds_2_jobs`: the whole study, the 8 main
//!   scenarios (`models/economic_value.toml`) and the 72 sweep runs
//!   (`models/economic_value_sweep.toml`), 20 seeds each on 2 threads, in
//!   the default fidelity with the comparison fidelity run on the same seeds
//!   (as `omerta-sim run` does). Target: under 5 s on the 2-core machine.
//! - `economic_value_scale/one_seed`: `models/economic_value_scale.toml`
//!   (2,500 DCs, 7,500 homes, 100,000 consumers, 10,000 h, corrected), one
//!   seed on one thread; peak memory (VmHWM) is printed after it. Target:
//!   under 10 minutes and 2 GB. One run takes a few minutes, and criterion
//!   takes 10 of them: about 30 minutes. `OMERTA_SCALE_HOURS=500` shortens
//!   the horizon for a quick look.
//!
//! Run: `cargo bench --bench economic_value -- study` (about a minute) and
//! `cargo bench --bench economic_value -- scale`.

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
        out: std::env::temp_dir().join(format!("omerta-bench-ev-{}", std::process::id())),
    }
}

fn study(c: &mut Criterion) {
    let main = open_study(Scenario::load(&model("economic_value.toml"), &[]).expect("loads")).expect("resolves");
    let sweep = open_study(Scenario::load(&model("economic_value_sweep.toml"), &[]).expect("loads")).expect("resolves");
    let o = opts((1..=20).collect(), 2);
    let mut g = c.benchmark_group("economic_value");
    g.sampling_mode(SamplingMode::Flat);
    g.bench_function("study_20_seeds_2_jobs", |b| {
        b.iter(|| {
            black_box(run_seeds(main.as_ref(), &o).expect("runs"));
            black_box(run_seeds(sweep.as_ref(), &o).expect("runs"));
        })
    });
    g.finish();
}

fn scale(c: &mut Criterion) {
    let sets: Vec<String> =
        std::env::var("OMERTA_SCALE_HOURS").map(|h| vec![format!("duration_hours={h}")]).unwrap_or_default();
    let scenario = Scenario::load(&model("economic_value_scale.toml"), &sets).expect("loads");
    let hours = scenario
        .table
        .get("duration_hours")
        .and_then(|v| v.as_float().or_else(|| v.as_integer().map(|h| h as f64)))
        .unwrap_or(f64::NAN);
    let s = open_study(scenario).expect("resolves");
    let o = opts(vec![1], 1);
    let mut g = c.benchmark_group("economic_value_scale");
    g.sampling_mode(SamplingMode::Flat);
    g.bench_function(format!("one_seed_{hours}h"), |b| b.iter(|| black_box(run_seeds(s.as_ref(), &o).expect("runs"))));
    g.finish();
    eprintln!("economic_value_scale: peak memory (VmHWM) of the bench process: {}", common::peak_memory());
}

criterion_group! {
    name = benches;
    // Ten samples of one run each; no plots (the machine has no fonts for them).
    config = common::long_runs();
    targets = study, scale
}
criterion_main!(benches);
