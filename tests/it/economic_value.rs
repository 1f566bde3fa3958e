//! economic_value: the reference acceptance targets (docs/results.md, Economic value),
//! the corrected closed form, invariants at every event, split-run
//! equivalence and bad scenarios.

use super::acceptance::{mean, results, values};
use super::split_run::{split_and_compare, whole};
use super::{run_bin, scenario, text};
use omerta_sim::engine::Model;
use omerta_sim::models::economic_value::EconomicStudy;

const MAIN: &str = "economic_value.toml";
const SWEEP: &str = "economic_value_sweep.toml";

/// (a) home completion in oversupplied, (b) price-setting DCs idle once homes
/// exist, 20 served: reference fidelity, 20 seeds.
#[test]
fn reference_markets() {
    let r = results(
        MAIN,
        &["fidelity=reference", "compare_fidelities=false", r#"scenarios=["oversupplied", "price_setter"]"#],
        20,
    );
    let a = mean(&r, "scenarios.oversupplied.dc_home.home_completion_rate_pooled");
    let analytic = 0.92f64.powf(1.9) * 0.97f64.powi(19);
    assert!((analytic - 0.4785).abs() < 1e-4);
    assert!((a - 0.477).abs() <= 0.010 && (a - analytic).abs() <= 0.01, "(a) {a}");
    assert!(values(&r, "scenarios.price_setter.dc_home.dc_sessions").iter().all(|&x| x == 0.0), "(b) DC sessions");
    assert!(values(&r, "scenarios.price_setter.dc_home.served").iter().all(|&x| x == 20.0), "(b) served");
}

/// (c) the sweep splits 6 / 0 / 30 in every seed, the six being the
/// undersupplied cells with uniform values.
#[test]
fn reference_sweep() {
    let r = results(SWEEP, &["fidelity=reference", "compare_fidelities=false"], 20);
    for (k, n) in [("value_creation", 6.0), ("neutral", 0.0), ("cannibalization", 30.0)] {
        assert!(values(&r, &format!("sweep.counts.{k}")).iter().all(|&x| x == n), "{k}");
    }
    for c in ["frequent", "moderate", "infrequent"] {
        for v in ["uniform_high", "uniform_low"] {
            assert_eq!(mean(&r, &format!("sweep.undersupplied.{c}.{v}.class.value_creation")), 1.0, "{c} {v}");
        }
    }
}

/// Corrected analogue of (a): homes held at their floor complete a 2 h job
/// with probability s^J e^(-lambda_o J).
#[test]
fn corrected_home_completion_closed_form() {
    let r = results(
        MAIN,
        &[
            "compare_fidelities=false",
            r#"scenarios=["oversupplied"]"#,
            r#"legs=["dc_home"]"#,
            "price.busy_growth_per_hour=0",
            "price.initial_markup=1.1",
        ],
        20,
    );
    let got = mean(&r, "scenarios.oversupplied.dc_home.home_completion_rate_pooled");
    let want = 0.92f64.powi(2) * (-0.3f64 * 2.0).exp();
    assert!((got - want).abs() < 0.01, "{got} vs {want}");
}

fn check_every_event(sets: &[&str], seed: u64) -> u64 {
    let s = EconomicStudy::new(scenario(MAIN, sets)).unwrap();
    let mut run = s.new_run(seed);
    run.sim.model.checks = true;
    let mut n = 0;
    while let Some(info) = run.sim.step() {
        n += 1;
        if let Err(e) = run.sim.model.check_invariants() {
            panic!("{sets:?} seed {seed}: after event {n} ({} at {}): {e}", info.kind, info.time);
        }
    }
    n
}

#[test]
fn invariants_every_event() {
    let base = ["compare_fidelities=false", "duration_hours=40"];
    for extra in [
        &[][..],
        &["fidelity=reference"][..],
        &["fidelity=reference", "match_priority=bid", "price_setter.rule=optimise"][..],
        &["match_priority=list_order", "price_setter.rule=floor"][..],
        &["consumer.checkpoint_hours=[0.1, 0.5, 1.0]", "consumer.values=wide_spread"][..],
    ] {
        let sets: Vec<&str> = base.iter().chain(extra.iter()).copied().collect();
        let n = check_every_event(&sets, 3);
        assert!(n > 1000, "{sets:?}: {n} events");
    }
}

#[test]
fn split_run_equivalence() {
    let dir = tempfile::tempdir().unwrap();
    let sets: &[&str] = &[r#"scenarios=["undersupplied", "price_setter"]"#, "duration_hours=30"];
    let w = whole(MAIN, sets, 5, dir.path());
    for k in [1, w.events / 3, w.events / 2 + 7, w.events - 2] {
        split_and_compare(MAIN, sets, 5, k, &w, dir.path());
    }
    if let Some(&k) = w.tie_splits.first() {
        split_and_compare(MAIN, sets, 5, k, &w, dir.path());
    }
}

/// Reference fidelity: a snapshot taken mid-leg, with sessions running
/// (some for several ticks), resumes (its tick cache rebuilt from the state
/// alone) to the same fingerprint, final state and results.
#[test]
fn split_run_equivalence_reference() {
    let dir = tempfile::tempdir().unwrap();
    let sets: &[&str] =
        &["fidelity=reference", "compare_fidelities=false", r#"scenarios=["undersupplied"]"#, "duration_hours=12"];
    let w = whole(MAIN, sets, 2, dir.path());
    for k in [w.events / 5 + 3, w.events / 2 + 1, w.events - 3] {
        split_and_compare(MAIN, sets, 2, k, &w, dir.path());
    }
}

#[test]
fn bad_scenarios_name_the_key() {
    for (set, needle) in [
        ("market.undersupplied.consumers=0", "`market.undersupplied.consumers` must be at least 1"),
        ("market.undersupplied.dcs=0", "`market.undersupplied.dcs`"),
        ("dc.opex_per_hour=-0.2", "`dc.opex_per_hour` must be >= 0"),
        ("home.hourly_survival=-0.5", "`home.hourly_survival` must be in (0, 1]"),
        ("home.hourly_survival=1.5", "`home.hourly_survival` must be in (0, 1]"),
        ("consumer.values=lottery", "`consumer.values`"),
        ("match_priority=first", "`match_priority`"),
        ("consumer.checkpoint_hours=0", "`consumer.checkpoint_hours` must be > 0"),
        ("market.atlantis.dcs=3", "`market.atlantis`"),
    ] {
        let o = run_bin(&["run", "models/economic_value.toml", "--set", set]);
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(1), "{set}: {err}");
        assert!(err.contains(needle) && err.contains("economic_value.toml"), "{set}: {err}");
    }
}

/// results.json carries the claims block with both fidelities.
#[test]
fn claims_block() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let o = run_bin(&[
        "run",
        "models/economic_value_price_setter.toml",
        "--seeds",
        "3",
        "--progress",
        "none",
        "--out",
        out,
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("results.json")).unwrap()).unwrap();
    let claims = r["claims"].as_array().expect("claims block");
    let c = claims.iter().find(|c| c["id"] == "ev.claim.ps.served").expect("served claim");
    assert_eq!(c["anchor"], 30.0);
    for f in ["reference", "corrected"] {
        assert!(c[f]["mean"].is_number() && c[f]["held_in"].is_number() && c[f]["verdict"].is_string(), "{c}");
    }
    // Reference fidelity: homes leave the price-setting DCs idle (20 served).
    assert_eq!(c["reference"]["mean"], 20.0);
    for f in [
        "charts/claims.png",
        "charts/claims.svg",
        "charts/compute_by_market.png",
        "timeseries_price_setter_dc_home.csv",
        "scenarios.csv",
    ] {
        assert!(dir.path().join(f).exists(), "{f}");
    }
}
