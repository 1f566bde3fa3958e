//! The trust engine's scale workload (`trust::workload`): 10,000 identities
//! (half providers), a solve every day for 1,095 days, on one core. Each
//! day each provider transacts with probability 0.3 with a random consumer
//! at (2, 4, vs = unif(0.8, 1)), there are 200 praise attempts between random
//! pairs and one local-trust query, then the solve and the edge-map rebuild
//! (`omerta_sim::trust::workload::scale_run`). About 1.6 million
//! transactions by the end.
//!
//! Two variants: `corrected` (praise checked: almost all of it is refused,
//! as random pairs have no history) and `unchecked_praise` (the reference's
//! praise rule: 219,000 praises, so the sparse assertion map has that many
//! entries). After the benchmark the process's peak resident memory
//! (`VmHWM`) is printed to stderr.
//!
//! Requirement: under 5 minutes per run. One run takes about 15 s; criterion
//! takes 10 samples (flat sampling, one run each) after a warm-up run:
//!
//! ```text
//! cargo bench --bench trust_scale
//! ```
//!
//! `OMERTA_TRUST_SCALE_DAYS=365` runs a shorter horizon (the benchmark id
//! names the days, so criterion never compares it with a full run).
//!
//! `trust_history_10000_identities/*/days_365`: the history side alone
//! (`workload::history_run`): the same transactions and praise attempts for
//! 365 days (about 550,000 transactions on about 520,000 pairs), without
//! solves or local-trust queries, so the pair and assertion-map lookups are
//! the measured work. About a second per run, 20 samples:
//!
//! ```text
//! cargo bench --bench trust_scale -- trust_history
//! ```

mod common;

use common::Clock;
use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use omerta_sim::trust::Rules;
use omerta_sim::trust::workload::{history_run, scale_run};
use std::hint::black_box;
use std::time::Duration;

fn trust_scale(c: &mut Criterion<Clock>) {
    let days: u32 = std::env::var("OMERTA_TRUST_SCALE_DAYS").ok().and_then(|d| d.parse().ok()).unwrap_or(1095);
    let mut g = c.benchmark_group("trust_scale_10000_identities");
    g.sampling_mode(SamplingMode::Flat);
    for (name, rules) in [("corrected", Rules::CORRECTED), ("unchecked_praise", Rules::REFERENCE)] {
        g.bench_function(BenchmarkId::new(name, format!("days_{days}")), |b| {
            b.iter(|| {
                let s = scale_run(10_000, days, 1, rules);
                assert_eq!(s.stats.solves, u64::from(days));
                assert_eq!(s.stats.nonconverged, 0);
                black_box(s)
            });
        });
    }
    g.finish();
    eprintln!("peak resident memory (VmHWM): {}", common::peak_memory());
}

fn trust_history(c: &mut Criterion<Clock>) {
    let mut g = c.benchmark_group("trust_history_10000_identities");
    g.sampling_mode(SamplingMode::Flat);
    for (name, rules) in [("corrected", Rules::CORRECTED), ("unchecked_praise", Rules::REFERENCE)] {
        g.bench_function(BenchmarkId::new(name, "days_365"), |b| {
            b.iter(|| black_box(history_run(10_000, 365, 1, rules)))
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    // No plots: criterion's plotters backend panics when the machine has no fonts.
    config = common::criterion().sample_size(10).measurement_time(Duration::from_secs(60))
        .warm_up_time(Duration::from_secs(1));
    targets = trust_scale
}
criterion_group! {
    name = history;
    config = common::criterion().sample_size(20).measurement_time(Duration::from_secs(20))
        .warm_up_time(Duration::from_secs(2));
    targets = trust_history
}
criterion_main!(benches, history);
