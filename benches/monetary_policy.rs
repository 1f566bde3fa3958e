//! Monetary policy (docs/models/monetary_policy.md), release build, one core:
//!
//! - `run/fs_baseline/<fidelity>`: one `fs.baseline` run (720 days, policy
//!   on) from a fresh model to the end. Target: under 5 ms.
//! - `run/fs_combined_attack/<fidelity>`: one `fs.combined_attack` run (720
//!   days, policy on). Target: under 50 ms.
//! - `run/mp1_adversarial_multi_attack/corrected`: one five-year run.
//! - `work_item/fs_seed/<fidelity>`: one seed of the full study on one core
//!   (its 12 scenarios x {off, on} = 24 runs, with the per-seed output);
//!   the whole study is 225 of these, on 2 cores.
//!
//! The model is built outside the timing; each iteration clones it, starts
//! the simulation (streams, first events) and runs it to the end.
//!
//! Run: `cargo bench --bench monetary_policy`.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use omerta_sim::engine::Simulation;
use omerta_sim::models::monetary_policy::{PolicyModel, PolicyStudy};
use omerta_sim::study::{Scenario, StudyModel};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

fn model(file: &str, sets: &[&str], arm: Option<&str>) -> PolicyModel {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models").join(file);
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let scenario = Scenario::load(&path, &sets).unwrap_or_else(|e| panic!("{e}"));
    let study = PolicyStudy::new(scenario).unwrap_or_else(|e| panic!("{e}"));
    let mut m = PolicyModel::new(study.params.clone());
    if let Some(a) = arm {
        m.slots.retain(|s| s.arm.name == a);
    }
    m
}

fn runs(c: &mut Criterion) {
    let mut g = c.benchmark_group("run");
    for fid in ["reference", "corrected"] {
        let f = format!("fidelity={fid}");
        for (name, file) in [
            ("fs_baseline", "monetary_policy/fs/baseline.toml"),
            ("fs_combined_attack", "monetary_policy/fs/combined_attack.toml"),
        ] {
            let m = model(file, &[&f], Some("on"));
            g.bench_function(BenchmarkId::new(name, fid), |b| {
                b.iter(|| {
                    let mut sim = Simulation::new(m.clone(), 1001);
                    sim.run();
                    black_box(sim.model.slots[0].history.len())
                })
            });
        }
    }
    let m = model("monetary_policy/mp1/adversarial_multi_attack.toml", &[], Some("on"));
    g.bench_function(BenchmarkId::new("mp1_adversarial_multi_attack", "corrected"), |b| {
        b.iter(|| {
            let mut sim = Simulation::new(m.clone(), 42);
            sim.run();
            black_box(sim.model.slots[0].history.len())
        })
    });
    g.finish();
    let mut g = c.benchmark_group("work_item");
    g.measurement_time(Duration::from_secs(15));
    for fid in ["reference", "corrected"] {
        let m = model("full_study.toml", &[&format!("fidelity={fid}")], None);
        g.bench_function(BenchmarkId::new("fs_seed", fid), |b| {
            b.iter(|| {
                let mut sim = Simulation::new(m.clone(), 1001);
                sim.run();
                black_box(sim.model.seed_output(1001))
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    // No plots: criterion's plotters backend panics when the machine has no fonts.
    config = Criterion::default().without_plots().sample_size(20).measurement_time(Duration::from_secs(5));
    targets = runs
}
criterion_main!(benches);
