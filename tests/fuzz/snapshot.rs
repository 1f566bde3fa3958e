//! Snapshot files: real mid-run snapshots of every study kind, with bytes
//! edited and (for most inputs) the checksum recomputed the way a forger
//! would, then opened, inspected and stepped through the library.

use crate::mutate::{INTERESTING, apply, mutation};
use crate::{fuzz, root};
use omerta_sim::engine::SimTime;
use omerta_sim::engine::snapshot;
use omerta_sim::models::{open_snapshot, open_study};
use omerta_sim::study::{RunControl, Scenario};
use proptest::prelude::*;
use std::path::Path;

/// A small run of every study kind.
const CASES: &[(&str, &[&str])] = &[
    ("reliability_basic.toml", &["iterations=1", "round_hours=30"]),
    ("reliability_basic_reference.toml", &["iterations=1", "round_hours=10"]),
    ("reliability_equilibrium.toml", &["rounds=3", "round_hours=30"]),
    ("reliability_v2.toml", &["rounds=2", "round_hours=30"]),
    ("reliability_v2_reference.toml", &["rounds=2", "round_hours=20"]),
    ("economic_value.toml", &["duration_hours=12", "scenarios=[\"sufficient\"]", "compare_fidelities=false"]),
    (
        "economic_value.toml",
        &["fidelity=reference", "duration_hours=6", "scenarios=[\"sufficient\"]", "compare_fidelities=false"],
    ),
    ("identity_rotation.toml", &[]),
    ("identity_rotation_scale.toml", &["scale.accounts=60", "scale.transfers=400", "scale.days=20"]),
    ("trust_dynamics.toml", &["scenarios=[\"new_entrant\", \"sybil_attack\"]"]),
    ("failure_modes/crisis.toml", &[]),
    ("monetary_policy.toml", &["days=30", "monetary_policy.experiments=[\"baseline\", \"hoarding\"]"]),
    ("monetary_policy_iteration2.toml", &["days=30", "iteration2.experiments=[\"wave_attack\"]"]),
    ("monetary_policy/fs/baseline.toml", &["days=30", "full_study.samples=1", "full_study.iterations=1"]),
    ("mm1.toml", &["hours=200"]),
    ("world.toml", &["days=2", "scenarios=[\"sufficient\"]"]),
];

fn snapshots(dir: &Path) -> Vec<Vec<u8>> {
    CASES
        .iter()
        .enumerate()
        .map(|(k, (file, sets))| {
            let rel = Path::new("models").join(file);
            let text = std::fs::read_to_string(root().join(&rel)).unwrap();
            let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
            let study = open_study(Scenario::parse(&text, &rel, &sets).unwrap()).unwrap();
            let mut run = study.stepper(1);
            let half = SimTime(run.horizon().ticks() / 2);
            run.drive(half, &RunControl::quiet()).unwrap();
            for _ in 0..7 {
                run.step();
            }
            let p = dir.join(format!("{k}.snap"));
            run.save(&p).unwrap();
            std::fs::read(&p).unwrap()
        })
        .collect()
}

#[test]
fn fuzz_snapshot_files() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = snapshots(dir.path());
    let strategy = (mutation(corpus.len(), INTERESTING.len(), 4), prop::bool::weighted(0.85));
    let n = std::sync::atomic::AtomicU64::new(0);
    let opened = std::sync::atomic::AtomicU64::new(0);
    fuzz("snapshot", 4000, strategy, |((index, edits), reseal)| {
        let mut bytes = apply(&corpus, *index, edits, INTERESTING);
        if *reseal {
            snapshot::reseal(&mut bytes);
        }
        let k = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p = dir.path().join(format!("case-{}.snap", k % 4));
        std::fs::write(&p, &bytes).map_err(|e| e.to_string())?;
        std::panic::catch_unwind(|| {
            if let Ok((_, mut run)) = open_snapshot(&p) {
                opened.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let _ = (run.counters(), run.describe(), run.agent_counts(), run.next_time(), run.fingerprint());
                run.set_tracing(true);
                let t0 = std::time::Instant::now();
                for _ in 0..3000 {
                    if run.step().is_none() || t0.elapsed().as_secs() >= 1 {
                        break;
                    }
                }
                if run.done() {
                    let _ = run.output();
                }
            }
        })
        .map_err(|e| format!("panic: {}", crate::panic_text(e.as_ref())))
    });
    eprintln!("fuzz snapshot: {} opened and stepped", opened.into_inner());
}
