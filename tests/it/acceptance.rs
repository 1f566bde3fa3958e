//! Reference-fidelity acceptance targets (docs/results.md, Reliability): means over 20
//! seeds of the `_reference.toml` runs against the reference scripts' means.

use super::study;
use omerta_sim::engine::progress::ProgressMode;
use omerta_sim::report::results::Results;
use omerta_sim::study::exec::{RunOptions, results_of, run_seeds};

/// Run `file` over seeds 1..=n and aggregate.
pub fn results(file: &str, sets: &[&str], n: u64) -> Results {
    let s = study(file, sets);
    let opts = RunOptions {
        seeds: (1..=n).collect(),
        jobs: 0,
        progress: ProgressMode::None,
        snapshot_every: None,
        out: std::env::temp_dir(),
    };
    let outputs = run_seeds(s.as_ref(), &opts).unwrap();
    results_of(s.as_ref(), &outputs)
}

pub fn mean(r: &Results, key: &str) -> f64 {
    r.metrics.get(key).and_then(|m| m.mean).unwrap_or_else(|| panic!("metric {key} missing"))
}

pub fn values(r: &Results, key: &str) -> Vec<f64> {
    r.metrics[key].values.iter().map(|v| v.expect("defined")).collect()
}

fn within(r: &Results, key: &str, lo: f64, hi: f64) {
    let m = mean(r, key);
    assert!(m >= lo && m <= hi, "{key}: mean {m} outside [{lo}, {hi}]");
}

#[test]
fn basic_targets() {
    let r = results("reliability_basic_reference.toml", &[], 20);
    // 1a-1d: completion rates.
    within(&r, "naive.providers.unreliable.completion_rate", 0.961 - 0.006, 0.961 + 0.006);
    within(&r, "rational.providers.unreliable.completion_rate", 0.951 - 0.006, 0.951 + 0.006);
    within(&r, "naive.providers.moderate.completion_rate", 0.991 - 0.003, 0.991 + 0.003);
    within(&r, "rational.providers.moderate.completion_rate", 0.990 - 0.003, 0.990 + 0.003);
    // 2a: the reliability premium under rational bidding.
    within(&r, "rational.premium_2h", 0.054, 0.086);
    // 2b: restarts per round, rational > naive in >= 90% of seeds.
    within(&r, "naive.restarts_per_iteration", 61.5 - 7.0, 61.5 + 7.0);
    within(&r, "rational.restarts_per_iteration", 75.1 - 7.0, 75.1 + 7.0);
    let n = values(&r, "naive.restarts_per_iteration");
    let q = values(&r, "rational.restarts_per_iteration");
    let more = n.iter().zip(&q).filter(|(n, q)| q > n).count();
    assert!(more >= 18, "rational > naive in only {more} of 20 seeds");
}

#[test]
fn v2_targets() {
    let r = results("reliability_v2_reference.toml", &[], 20);
    within(&r, "thresholds.final_std", 0.015, 0.08); // 5a
    within(&r, "thresholds.drift", 0.0, 0.65); // 5b
    let r = results("reliability_v2_scarcity_reference.toml", &[], 20);
    within(&r, "thresholds.drift", -0.75, -0.15); // 5c
}

#[test]
fn equilibrium_targets() {
    let r = results("reliability_equilibrium_reference.toml", &[], 20);
    within(&r, "thresholds.final_std", 0.08, 0.18); // 5d
    within(&r, "thresholds.drift", -0.35, 0.35); // 5e
}

/// The reference's own price law and bid exposure: repeated flooring lifts
/// the v2 price (mean about 1.2, P(p < 0.5) about 0.15), and 19 Bernoulli
/// trials give 1 - (1 - 0.1 * 0.1)^19 = 0.174 in basic.
#[test]
fn reference_price_and_exposure() {
    let r = results("reliability_v2_reference.toml", &["rounds=20"], 6);
    within(&r, "diagnostics.price_mean", 1.15, 1.25);
    within(&r, "diagnostics.price_below_half", 0.12, 0.18);
    let r = results("reliability_basic_reference.toml", &[], 2);
    let want = 1.0 - (1.0f64 - 0.01).powi(19);
    within(&r, "diagnostics.bid_exposure", want - 0.01, want + 0.01);
}
