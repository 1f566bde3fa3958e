//! Whole-study wall time of the trust studies on 2 worker threads through
//! `omerta_sim::study::exec::run_seeds` (no progress, no snapshots): every
//! iteration builds the models afresh and runs every seed to the end; the
//! scenario is loaded once, outside the timing. Aggregation, reports and
//! charts (`exec::finish`) are not included.
//!
//! - `failure_modes_reference`: all nine attacks x 200 seeds, reference
//!   fidelity (solves at the scripted checkpoints). Target: under 10 s.
//! - `failure_modes`: the same in corrected fidelity (a solve every day).
//! - `trust_dynamics`, `trust_dynamics_reference`: six scenarios x 20 seeds.
//!
//! Run: `cargo bench --bench failure_modes` (10 samples per study).

use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use omerta_sim::engine::progress::ProgressMode;
use omerta_sim::study::Scenario;
use omerta_sim::study::exec::{RunOptions, run_seeds};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

const STUDIES: [(&str, u64); 4] = [
    ("failure_modes_reference", 200),
    ("failure_modes", 200),
    ("trust_dynamics_reference", 20),
    ("trust_dynamics", 20),
];

fn trust_studies(c: &mut Criterion) {
    let out = std::env::temp_dir().join(format!("omerta-bench-trust-{}", std::process::id()));
    let mut g = c.benchmark_group("trust_study_2_jobs");
    g.sampling_mode(SamplingMode::Flat);
    for (name, seeds) in STUDIES {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models").join(format!("{name}.toml"));
        let scenario = Scenario::load(&path, &[]).unwrap_or_else(|e| panic!("{e}"));
        let study = omerta_sim::models::open_study(scenario).unwrap_or_else(|e| panic!("{e}"));
        let opts = RunOptions {
            seeds: (1..=seeds).collect(),
            jobs: 2,
            progress: ProgressMode::None,
            snapshot_every: None,
            out: out.clone(),
        };
        g.bench_function(BenchmarkId::new(name, format!("{seeds}_seeds")), |b| {
            b.iter(|| {
                let outputs = run_seeds(study.as_ref(), &opts).expect("the study runs");
                assert_eq!(outputs.len() as u64, seeds);
                black_box(outputs)
            });
        });
    }
    g.finish();
    let _ = std::fs::remove_dir_all(&out);
}

criterion_group! {
    name = benches;
    // No plots: criterion's plotters backend panics when the machine has no fonts.
    config = Criterion::default().without_plots().sample_size(10).measurement_time(Duration::from_secs(10));
    targets = trust_studies
}
criterion_main!(benches);
