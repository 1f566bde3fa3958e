//! The spec's invariants (reliability.md §9), checked after every event of
//! runs of every study in both fidelities.

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
