//! Split-run equivalence: run to event k, snapshot, resume in a fresh
//! process, run to the end: the same fingerprint, the same final state and
//! the same results.json as the run that was never interrupted.

use super::{run_bin, study, text};
use omerta_sim::study::exec::finish as finish_study;
use proptest::prelude::*;
use std::path::Path;

pub(crate) struct Whole {
    pub(crate) events: u64,
    fingerprint: String,
    state_hash: String,
    results: String,
    /// Event indices k (0-based count of events handled before the split)
    /// that fall strictly inside a group of >= 3 events at the same time.
    pub(crate) tie_splits: Vec<u64>,
}

fn seeds_csv(dir: &Path) -> (String, String) {
    let text = std::fs::read_to_string(dir.join("seeds.csv")).unwrap();
    let row: Vec<String> = text.lines().nth(1).unwrap().split(',').map(String::from).collect();
    (row[3].clone(), row[4].clone())
}

pub(crate) fn whole(file: &str, sets: &[&str], seed: u64, dir: &Path) -> Whole {
    let s = study(file, sets);
    let mut run = s.stepper(seed);
    let mut times = Vec::new();
    while let Some(info) = run.step() {
        times.push(info.time);
    }
    let out = dir.join("whole");
    let output = s.complete_seed(seed, run.output()).unwrap();
    finish_study(s.as_ref(), vec![output], &out).unwrap();
    let (fingerprint, state_hash) = seeds_csv(&out);
    assert_eq!(fingerprint, format!("{:016x}", run.fingerprint()));
    let tie_splits = (0..times.len().saturating_sub(2))
        .filter(|&i| times[i] == times[i + 1] && times[i + 1] == times[i + 2])
        .map(|i| i as u64 + 1)
        .collect();
    Whole {
        events: times.len() as u64,
        fingerprint,
        state_hash,
        results: std::fs::read_to_string(out.join("results.json")).unwrap(),
        tie_splits,
    }
}

/// Split `file` at event k and resume in a fresh process; compare.
pub(crate) fn split_and_compare(file: &str, sets: &[&str], seed: u64, k: u64, w: &Whole, dir: &Path) {
    let s = study(file, sets);
    let mut run = s.stepper(seed);
    for _ in 0..k {
        run.step().expect("k is within the run");
    }
    let snap = dir.join(format!("split-{k}.snap"));
    run.save(&snap).unwrap();
    let out = dir.join(format!("resumed-{k}"));
    let o = run_bin(&["resume", snap.to_str().unwrap(), "--out", out.to_str().unwrap(), "--progress", "none"]);
    assert!(o.status.success(), "resume failed: {:?}", text(&o));
    let (fp, st) = seeds_csv(&out);
    assert_eq!(fp, w.fingerprint, "{file}: fingerprint after a split at event {k}");
    assert_eq!(st, w.state_hash, "{file}: final state after a split at event {k}");
    assert!(
        std::fs::read_to_string(out.join("results.json")).unwrap() == w.results,
        "{file}: results.json differs after a split at {k}"
    );
}

const CORRECTED: (&str, &[&str]) = ("reliability_v2.toml", &["rounds=2", "round_hours=60"]);
const REFERENCE: (&str, &[&str]) = ("reliability_v2_reference.toml", &["rounds=2", "round_hours=40"]);

#[test]
fn split_inside_same_time_groups() {
    for (file, sets) in [CORRECTED, REFERENCE, ("reliability_basic.toml", &["iterations=1", "round_hours=30"][..])] {
        let dir = tempfile::tempdir().unwrap();
        let w = whole(file, sets, 3, dir.path());
        assert!(!w.tie_splits.is_empty(), "{file}: no group of three same-time events");
        for &k in w.tie_splits.iter().take(3) {
            split_and_compare(file, sets, 3, k, &w, dir.path());
        }
        // The very start and the very end too.
        split_and_compare(file, sets, 3, 0, &w, dir.path());
        split_and_compare(file, sets, 3, w.events - 1, &w, dir.path());
    }
}

/// Resume in two hops: to a time in the middle (a new snapshot), then on to
/// the end.
#[test]
fn resume_until_then_to_the_end() {
    let (file, sets) = CORRECTED;
    let dir = tempfile::tempdir().unwrap();
    let w = whole(file, sets, 9, dir.path());
    let s = study(file, sets);
    let mut run = s.stepper(9);
    for _ in 0..100 {
        run.step();
    }
    let snap = dir.path().join("a.snap");
    run.save(&snap).unwrap();
    let hop = dir.path().join("hop");
    let o = run_bin(&["resume", snap.to_str().unwrap(), "--until", "70h", "--out", hop.to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
    let mid = hop.join("reliability_v2-seed9-70h.snap");
    assert!(mid.exists(), "{:?}", text(&o));
    let end = dir.path().join("end");
    let o = run_bin(&["resume", mid.to_str().unwrap(), "--out", end.to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert_eq!(seeds_csv(&end), (w.fingerprint.clone(), w.state_hash.clone()));
    assert!(std::fs::read_to_string(end.join("results.json")).unwrap() == w.results, "results.json differs");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    #[test]
    fn split_anywhere_corrected(frac in 0.0f64..1.0) {
        let (file, sets) = CORRECTED;
        let dir = tempfile::tempdir().unwrap();
        let w = whole(file, sets, 4, dir.path());
        let k = ((w.events as f64) * frac) as u64;
        split_and_compare(file, sets, 4, k, &w, dir.path());
    }

    #[test]
    fn split_anywhere_reference(frac in 0.0f64..1.0) {
        let (file, sets) = REFERENCE;
        let dir = tempfile::tempdir().unwrap();
        let w = whole(file, sets, 4, dir.path());
        let k = ((w.events as f64) * frac) as u64;
        split_and_compare(file, sets, 4, k, &w, dir.path());
    }
}
