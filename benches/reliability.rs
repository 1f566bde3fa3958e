//! Whole-study wall time of the reliability studies: 20 seeds (1..=20) on 2
//! worker threads through `omerta_sim::study::exec::run_seeds`, for
//! `models/reliability_v2_reference.toml`,
//! `models/reliability_basic_reference.toml`,
//! `models/reliability_equilibrium_reference.toml` and
//! `models/reliability_v2.toml`. Every iteration builds the models afresh
//! and runs every seed to the end (no progress, no snapshots); the scenario is
//! loaded and bound once, outside the timing. Aggregation, reports and charts
//! (`exec::finish`) are not included.
//!
//! Target: `reliability_v2_reference`, 20 seeds, under 2 s wall on a 2-core
//! machine.
//!
//! Run: `cargo bench --bench reliability` (10 samples per scenario, flat
//! sampling; a few minutes). `-- --measurement-time 3 --warm-up-time 1`
//! shortens the warm-up; criterion then warns that 10 samples need longer,
//! which is harmless.

mod common;

use common::Clock;
use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use omerta_sim::engine::progress::ProgressMode;
use omerta_sim::study::Scenario;
use omerta_sim::study::exec::{RunOptions, run_seeds};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

const SCENARIOS: [&str; 4] =
    ["reliability_v2_reference", "reliability_basic_reference", "reliability_equilibrium_reference", "reliability_v2"];

fn reliability(c: &mut Criterion<Clock>) {
    let out = std::env::temp_dir().join(format!("omerta-bench-reliability-{}", std::process::id()));
    let mut g = c.benchmark_group("study_20_seeds_2_jobs");
    g.sampling_mode(SamplingMode::Flat);
    for name in SCENARIOS {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models").join(format!("{name}.toml"));
        let scenario = Scenario::load(&path, &[]).unwrap_or_else(|e| panic!("{e}"));
        let study = omerta_sim::models::open_study(scenario).unwrap_or_else(|e| panic!("{e}"));
        let opts = RunOptions {
            seeds: (1..=20).collect(),
            jobs: 2,
            progress: ProgressMode::None,
            snapshot_every: None,
            out: out.clone(),
        };
        g.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| {
                let outputs = run_seeds(study.as_ref(), &opts).expect("the study runs");
                assert_eq!(outputs.len(), 20);
                black_box(outputs)
            });
        });
    }
    g.finish();
    // Nothing is written without snapshots, but leave no directory behind.
    let _ = std::fs::remove_dir_all(&out);
}

criterion_group! {
    name = benches;
    // No plots: criterion's plotters backend panics when the machine has no fonts.
    config = common::criterion().sample_size(10).measurement_time(Duration::from_secs(30));
    targets = reliability
}
criterion_main!(benches);
