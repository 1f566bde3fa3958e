//! What an exploration costs beyond its runs: a 1,000-point Latin hypercube
//! of one economic_value market (`undersupplied`, both legs, corrected
//! fidelity, no comparison run) over the home cancel threshold and the DC
//! count, 20 seeds at every point: 20,000 runs on every core, as
//! `omerta-sim explore` runs them (points opened and checked, runs in
//! parallel, outputs kept per point; nothing written).
//!
//! ```text
//! cargo bench --bench explore
//! ```
//!
//! Ten samples of the whole exploration, about 5 minutes on 2 cores.
//! `OMERTA_EXPLORE_POINTS=<n>` explores n points instead, for a quick look.
//! The figure in docs/explore.md comes from this bench.

mod common;

use criterion::{SamplingMode, criterion_group, criterion_main};
use omerta_sim::engine::progress::ProgressMode;
use omerta_sim::explore::Plan;
use omerta_sim::explore::exec::{Base, Exec, Point, open_points};
use omerta_sim::study::StopCheck;
use std::path::{Path, PathBuf};

fn explore(c: &mut criterion::Criterion) {
    let points: usize = std::env::var("OMERTA_EXPLORE_POINTS").ok().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let base = Base::load(
        &root.join("models/economic_value.toml"),
        &["scenarios=[\"undersupplied\"]".into(), "compare_fidelities=false".into()],
    )
    .expect("the scenario loads");
    let text = format!(
        "design = \"lhs\"\npoints = {points}\nseeds = 20\n[factors]\n\
         \"home.cancel_threshold\" = {{ min = 1.0, max = 3.0 }}\n\
         \"market.undersupplied.dcs\" = {{ min = 5, max = 20, integer = true }}\n"
    );
    let plan = Plan::parse(&text, Path::new("bench.toml")).expect("the plan parses");
    let design = plan.design_points().expect("the design builds");
    let keys = plan.factor_keys();
    let seeds: Vec<u64> = (1..=20).collect();
    let mut g = c.benchmark_group("explore");
    g.sampling_mode(SamplingMode::Flat);
    g.bench_function(format!("lhs_{points}_points_x20_seeds_economic_value_undersupplied"), |b| {
        b.iter(|| {
            let pts = design
                .points
                .iter()
                .map(|p| Point { id: p.id, values: keys.iter().cloned().zip(p.values.iter().cloned()).collect() })
                .collect();
            let mut runs = open_points(&base, pts).expect("every point opens");
            let mut exec = Exec {
                jobs: 0,
                progress: ProgressMode::None,
                stop: StopCheck::never(),
                log: None,
                done: Default::default(),
            };
            let todo: Vec<(usize, Vec<u64>)> = (0..runs.len()).map(|i| (i, seeds.clone())).collect();
            exec.run(&mut runs, &todo).expect("the runs finish");
            runs.len()
        })
    });
    g.finish();
    eprintln!("explore bench: peak resident memory {}", common::peak_memory());
}

criterion_group! {
    name = benches;
    config = common::long_runs();
    targets = explore
}
criterion_main!(benches);
