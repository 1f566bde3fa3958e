//! Same scenario + same seed = the same trajectory and the same results, in
//! one process or two, whatever the number of worker threads.

use super::{finish, run_bin, study, text};
use omerta_sim::engine::progress::ProgressMode;
use omerta_sim::study::exec::{RunOptions, finish as finish_study, run_seeds};

fn fingerprint_of(file: &str, sets: &[&str], seed: u64) -> (u64, Vec<u8>, u64) {
    let run = finish(study(file, sets).stepper(seed));
    (run.fingerprint(), run.state_bytes(), run.counters().processed)
}

#[test]
fn same_seed_twice_in_one_process() {
    for (file, sets) in [
        ("reliability_v2.toml", &["rounds=4"][..]),
        ("reliability_v2_reference.toml", &["rounds=4"][..]),
        ("reliability_basic.toml", &["iterations=2", "round_hours=100"][..]),
        ("reliability_basic_reference.toml", &["iterations=2", "round_hours=100"][..]),
        ("reliability_equilibrium.toml", &["rounds=4"][..]),
    ] {
        let a = fingerprint_of(file, sets, 11);
        let b = fingerprint_of(file, sets, 11);
        assert_eq!(a.0, b.0, "{file}: fingerprints differ");
        assert_eq!(a.1, b.1, "{file}: final states differ");
        assert!(a.2 > 1000, "{file}: only {} events", a.2);
        let c = fingerprint_of(file, sets, 12);
        assert_ne!(a.0, c.0, "{file}: seeds 11 and 12 gave the same trajectory");
    }
}

#[test]
fn results_do_not_depend_on_jobs() {
    let s = study("reliability_v2.toml", &["rounds=3"]);
    let dir = tempfile::tempdir().unwrap();
    let mut outs = Vec::new();
    for jobs in [1, 2] {
        let out = dir.path().join(format!("jobs{jobs}"));
        let opts = RunOptions {
            seeds: (1..=4).collect(),
            jobs,
            progress: ProgressMode::None,
            snapshot_every: None,
            out: out.clone(),
        };
        let outputs = run_seeds(s.as_ref(), &opts).unwrap();
        finish_study(s.as_ref(), outputs, &out).unwrap();
        outs.push(std::fs::read(out.join("results.json")).unwrap());
    }
    assert_eq!(outs[0], outs[1]);
}

/// Two separate processes write byte-identical results.json and seeds.csv
/// (which holds each seed's trajectory fingerprint); another seed differs.
#[test]
fn same_seed_in_two_processes() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, seed) in [("a", "5"), ("b", "5"), ("c", "6")] {
        let out = dir.path().join(name);
        let o = run_bin(&[
            "run",
            "models/reliability_v2_reference.toml",
            "--seed",
            seed,
            "--set",
            "rounds=3",
            "--progress",
            "none",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{:?}", text(&o));
        files.push((std::fs::read(out.join("results.json")).unwrap(), std::fs::read(out.join("seeds.csv")).unwrap()));
    }
    assert_eq!(files[0], files[1], "same seed, two processes");
    assert_ne!(files[0].1, files[2].1, "different seeds, same fingerprint");
    assert_ne!(files[0].0, files[2].0);
}
