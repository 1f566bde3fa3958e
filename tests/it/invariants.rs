//! Every model's invariants (`Model::check_invariants`: conservation of
//! money, capacity, queue and ledger consistency), checked after every event
//! of runs of every study in both fidelities.

use super::scenario;
use omerta_sim::engine::Model;
use omerta_sim::models::reliability::ReliabilityStudy;

fn check_every_event(file: &str, sets: &[&str], seed: u64) -> u64 {
    let s = ReliabilityStudy::new(scenario(file, sets)).unwrap();
    let mut run = s.new_run(seed);
    run.sim.model.checks = true;
    let mut n = 0u64;
    while let Some(info) = run.sim.step() {
        n += 1;
        if let Err(e) = run.sim.model.check_invariants() {
            panic!("{file} seed {seed}: after event {n} ({} at {}): {e}", info.kind, info.time);
        }
    }
    assert!(run.sim.model.violations.is_empty());
    n
}

#[test]
fn basic_both_fidelities() {
    for file in ["reliability_basic.toml", "reliability_basic_reference.toml"] {
        let n = check_every_event(file, &["iterations=2", "round_hours=150"], 1);
        assert!(n > 1000, "{file}: {n} events");
        // Naive and rational, consistent and reference costs, with and without resume.
        check_every_event(file, &["iterations=1", "round_hours=100", "resume_from_checkpoint=true"], 2);
        check_every_event(file, &["iterations=1", "round_hours=100", "consumer_priority=fifo"], 3);
        check_every_event(file, &["iterations=1", "round_hours=100", "consumer_priority=bid"], 4);
    }
}

#[test]
fn equilibrium_both_fidelities() {
    for file in ["reliability_equilibrium.toml", "reliability_equilibrium_reference.toml"] {
        check_every_event(file, &["rounds=4", "round_hours=150"], 1);
        check_every_event(file, &["rounds=3", "round_hours=100", "threshold_update=sequential"], 2);
        check_every_event(file, &["rounds=3", "round_hours=100", "threshold_update=simultaneous"], 3);
    }
}

#[test]
fn v2_both_fidelities() {
    for file in [
        "reliability_v2.toml",
        "reliability_v2_reference.toml",
        "reliability_v2_scarcity.toml",
        "reliability_v2_scarcity_reference.toml",
    ] {
        check_every_event(file, &["rounds=4", "round_hours=100"], 1);
    }
    check_every_event("reliability_v2.toml", &["rounds=3", "round_hours=100", "consumer_priority=value_sorted"], 5);
    check_every_event("reliability_v2_reference.toml", &["rounds=3", "round_hours=100", "consumer_priority=bid"], 6);
    check_every_event(
        "reliability_v2_reference.toml",
        &["rounds=3", "round_hours=100", "resume_from_checkpoint=true"],
        7,
    );
}

/// Step a fresh run of `file` event by event to its horizon, checking the model's
/// invariants (`Model::check_invariants`) after every one; the number of
/// events.
fn every_event_any(file: &str, sets: &[&str], seed: u64) -> u64 {
    let s = super::study(file, sets);
    let mut run = s.stepper(seed);
    let mut n = 0u64;
    // Up to the horizon, as `run` does (a model may leave events past it).
    while !run.done() {
        let Some(info) = run.step() else { break };
        n += 1;
        if let Err(e) = run.check() {
            panic!("{file} {sets:?} seed {seed}: after event {n} ({} at {}): {e}", info.kind, info.time);
        }
    }
    n
}

#[test]
fn economic_value_both_fidelities() {
    for file in ["economic_value.toml", "economic_value_sweep.toml", "economic_value_price_setter.toml"] {
        for f in ["reference", "corrected"] {
            let fid = format!("fidelity={f}");
            let n = every_event_any(file, &[&fid, "compare_fidelities=false", "duration_hours=60"], 3);
            assert!(n > 500, "{file} {f}: {n} events");
        }
    }
}

#[test]
fn identity_rotation_both_fidelities() {
    for file in ["identity_rotation.toml", "identity_rotation_reference.toml", "identity_rotation_doc_params.toml"] {
        let n = every_event_any(file, &[], 1);
        assert!(n > 50, "{file}: {n} events");
    }
    let n = every_event_any(
        "identity_rotation_scale.toml",
        &["scale.accounts=300", "scale.transfers=3000", "scale.days=60", "scale.detect_every_days=20"],
        1,
    );
    assert!(n > 100, "scale: {n} events");
}

#[test]
fn trust_studies_both_fidelities() {
    for file in
        ["trust_dynamics.toml", "trust_dynamics_reference.toml", "failure_modes.toml", "failure_modes_reference.toml"]
    {
        let n = every_event_any(file, &[], 2);
        assert!(n > 500, "{file}: {n} events");
    }
}

#[test]
fn monetary_policy_both_fidelities() {
    for (file, sets) in [
        ("monetary_policy.toml", &["days=40", "monetary_policy.long_days=40"][..]),
        ("monetary_policy_reference.toml", &["days=40", "monetary_policy.long_days=40"][..]),
        ("monetary_policy_iteration2.toml", &["days=40", "iteration2.sensitivity.days=40"][..]),
        ("monetary_policy_iteration2_reference.toml", &["days=40", "iteration2.sensitivity.days=40"][..]),
        ("full_study.toml", &["days=40"][..]),
        ("full_study_reference.toml", &["days=40"][..]),
    ] {
        let n = every_event_any(file, sets, 1000);
        assert!(n > 100, "{file}: {n} events");
    }
}

/// The world (market, escrow ledger, trust): money conserved with escrow,
/// locks only on running sessions, none after a leg's end, each provider's
/// trust transactions its history and settlements, after every event.
#[test]
fn world_every_event() {
    let markets = r#"scenarios=["undersupplied", "price_setter"]"#;
    let n = every_event_any("world.toml", &["days=4", markets], 1);
    assert!(n > 1000, "{n} events");
    every_event_any("world.toml", &["days=3", markets, "pricing=\"gross\""], 2);
    every_event_any("world.toml", &["days=3", "link.reclaim=\"failed\"", "link.failed=\"signal\""], 3);
    every_event_any("world_uncoupled.toml", &["duration_hours=50"], 4);
}

#[test]
fn mm1_example_study() {
    // It has one fidelity (there is no original script to follow).
    let n = every_event_any("mm1.toml", &["hours=2000"], 1);
    assert!(n > 2000, "{n} events");
    every_event_any("mm1.toml", &["hours=500", "arrival_rate=0.99"], 2);
}
