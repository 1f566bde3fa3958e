//! Wall time and peak memory of one seed of the scale workload,
//! `models/reliability_v2_scale.toml` (10,000 providers, 100,000 consumers,
//! 50 rounds x 200 h, about 5e7 session ends): seed 1 on one worker thread
//! through `omerta_sim::study::exec::run_seeds` (`jobs: 1`, no progress, no
//! snapshots). After the benchmark the process's peak resident memory
//! (`VmHWM` in `/proc/self/status`) is printed to stderr; it is the peak of
//! one seed, as the runs are sequential and nothing else is loaded.
//!
//! One seed takes about a minute, and criterion takes 10 samples (flat
//! sampling, one run each) after one warm-up run, so the full bench takes
//! about 11 minutes:
//!
//! ```text
//! cargo bench --bench scale
//! ```
//!
//! For a quick look, set `OMERTA_SCALE_ROUNDS` to run fewer rounds (applied
//! as `--set rounds=<n>`), e.g. 5 rounds in about 2 minutes:
//!
//! ```text
//! OMERTA_SCALE_ROUNDS=5 cargo bench --bench scale -- --measurement-time 30
//! ```
//!
//! The benchmark id names the number of rounds (`rounds_50`, `rounds_5`), so
//! criterion never compares a quick run with a full one.

mod common;

use common::Clock;
use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use omerta_sim::engine::progress::ProgressMode;
use omerta_sim::study::Scenario;
use omerta_sim::study::exec::{RunOptions, run_seeds};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

fn scale(c: &mut Criterion<Clock>) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/reliability_v2_scale.toml");
    let sets: Vec<String> = match std::env::var("OMERTA_SCALE_ROUNDS") {
        Ok(n) => {
            let n: u32 = n.trim().parse().unwrap_or_else(|_| panic!("OMERTA_SCALE_ROUNDS={n}: not a number"));
            vec![format!("rounds={n}")]
        }
        Err(_) => Vec::new(),
    };
    let scenario = Scenario::load(&path, &sets).unwrap_or_else(|e| panic!("{e}"));
    let rounds = scenario.table.get("rounds").and_then(|v| v.as_integer()).unwrap_or(-1);
    let study = omerta_sim::models::open_study(scenario).unwrap_or_else(|e| panic!("{e}"));
    let out = std::env::temp_dir().join(format!("omerta-bench-scale-{}", std::process::id()));
    let opts =
        RunOptions { seeds: vec![1], jobs: 1, progress: ProgressMode::None, snapshot_every: None, out: out.clone() };

    let mut g = c.benchmark_group("scale_1_seed_1_job");
    g.sampling_mode(SamplingMode::Flat);
    g.bench_function(BenchmarkId::new("reliability_v2_scale", format!("rounds_{rounds}")), |b| {
        b.iter(|| black_box(run_seeds(study.as_ref(), &opts).expect("the study runs")));
    });
    g.finish();
    eprintln!("scale: peak memory (VmHWM) of the bench process: {}", common::peak_memory());
    let _ = std::fs::remove_dir_all(&out);
}

criterion_group! {
    name = benches;
    // 10 samples of one run each (a measurement time shorter than one run
    // makes criterion take one iteration per sample), after one warm-up run.
    // No plots: criterion's plotters backend panics when the machine has no
    // fonts.
    config = common::criterion()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(1));
    targets = scale
}
criterion_main!(benches);
