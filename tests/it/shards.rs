//! Sharded runs merged equal unsharded runs, byte for byte in results.json;
//! the Slurm array script imitated on one machine; merge refuses incomplete
//! or mixed shards.

use super::{root, run_bin, text};
use std::path::Path;
use std::process::Command;

fn run(args: &[&str]) {
    let o = run_bin(args);
    assert!(o.status.success(), "{args:?}: {:?}", text(&o));
}

fn sharded_equals_whole(file: &str, sets: &[&str], seeds: &str, shards: u32) {
    let dir = tempfile::tempdir().unwrap();
    let d = |s: &str| dir.path().join(s).to_str().unwrap().to_string();
    let mut base = vec!["run", file, "--seeds", seeds, "--progress", "none"];
    for s in sets {
        base.extend(["--set", s]);
    }
    let whole = d("whole");
    let mut args = base.clone();
    args.extend(["--out", &whole]);
    run(&args);
    let sharded = d("sharded");
    for i in 0..shards {
        let spec = format!("{i}/{shards}");
        let mut args = base.clone();
        args.extend(["--out", &sharded, "--shard", &spec]);
        run(&args);
    }
    assert!(!Path::new(&sharded).join("results.json").exists(), "a shard writes no aggregate");
    run(&["merge", &sharded]);
    let a = std::fs::read_to_string(Path::new(&whole).join("results.json")).unwrap();
    let b = std::fs::read_to_string(Path::new(&sharded).join("results.json")).unwrap();
    assert!(a == b, "{file}: merged results.json differs from the unsharded one");
}

#[test]
fn merged_equals_unsharded() {
    sharded_equals_whole("models/reliability_v2.toml", &["rounds=3"], "7", 3);
    sharded_equals_whole("models/reliability_basic_reference.toml", &["iterations=2", "round_hours=50"], "4", 4);
    sharded_equals_whole("models/economic_value.toml", &["duration_hours=20"], "3", 2);
}

#[test]
fn slurm_array_imitation() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("array");
    let o = Command::new("bash")
        .arg(root().join("scripts/slurm/imitate_array.sh"))
        .args(["4", "models/reliability_v2.toml", out.to_str().unwrap(), "--seeds", "6", "--set", "rounds=2"])
        .env("OMERTA_SIM", env!("CARGO_BIN_EXE_omerta-sim"))
        .current_dir(root())
        .output()
        .unwrap();
    assert!(o.status.success(), "{:?}", text(&o));
    for i in 0..4 {
        assert!(out.join(format!("shards/{i}-of-4/outputs.jsonl")).exists());
    }
    let whole = dir.path().join("whole");
    run(&[
        "run",
        "models/reliability_v2.toml",
        "--seeds",
        "6",
        "--set",
        "rounds=2",
        "--progress",
        "none",
        "--out",
        whole.to_str().unwrap(),
    ]);
    let a = std::fs::read_to_string(whole.join("results.json")).unwrap();
    let b = std::fs::read_to_string(out.join("results.json")).unwrap();
    assert!(a == b, "array + merge differs from the unsharded run");
}

#[test]
fn merge_refuses_bad_shards() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let a_s = a.to_str().unwrap();
    for i in [0, 2] {
        run(&[
            "run",
            "models/reliability_v2.toml",
            "--seeds",
            "5",
            "--set",
            "rounds=1",
            "--progress",
            "none",
            "--out",
            a_s,
            "--shard",
            &format!("{i}/3"),
        ]);
    }
    let o = run_bin(&["merge", a_s]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("1 of 3 shards is missing (1/3), so 2 of 5 seeds have no output"), "{err}");
    assert!(err.contains("shard 1/3 (seeds 2, 5): never ran"), "{err}");
    // A shard of another scenario setting.
    run(&[
        "run",
        "models/reliability_v2.toml",
        "--seeds",
        "5",
        "--set",
        "rounds=2",
        "--progress",
        "none",
        "--out",
        a_s,
        "--shard",
        "1/3",
    ]);
    let o = run_bin(&["merge", a_s]);
    assert!(text(&o).1.contains("shard of another run"), "{:?}", text(&o));
    let o = run_bin(&["run", "models/reliability_v2.toml", "--shard", "3/3"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("not a shard"), "{:?}", text(&o));
    let o = run_bin(&["merge", dir.path().join("nothing").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
}

/// Found by the fuzz harness: a shard whose recorded scenario was edited
/// (`rounds = 2` made 4294967295) made `merge` loop over four billion
/// rounds in the report. An edited scenario is refused by its hash; one
/// whose hash was recomputed too is refused like `run` would refuse it.
#[test]
fn merge_refuses_an_edited_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    for i in 0..2 {
        run(&[
            "run",
            "models/reliability_v2.toml",
            "--seeds",
            "3",
            "--set",
            "rounds=2",
            "--set",
            "round_hours=40",
            "--progress",
            "none",
            "--out",
            out.to_str().unwrap(),
            "--shard",
            &format!("{i}/2"),
        ]);
    }
    let p = out.join("shards/0-of-2/shard.json");
    let mut h: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    let toml = h["scenario_toml"].as_str().unwrap().replace("rounds = 2\n", "rounds = 4294967295\n");
    h["scenario_toml"] = toml.clone().into();
    std::fs::write(&p, serde_json::to_vec(&h).unwrap()).unwrap();
    let o = run_bin(&["merge", out.to_str().unwrap()]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("does not match its hash"), "{err}");
    // Both shards forged consistently, hash recomputed.
    let hash = omerta_sim::engine::rng::fnv1a(toml.as_bytes());
    for i in 0..2 {
        let p = out.join(format!("shards/{i}-of-2/shard.json"));
        let mut h: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        h["scenario_toml"] = toml.clone().into();
        h["scenario_hash"] = hash.into();
        std::fs::write(&p, serde_json::to_vec(&h).unwrap()).unwrap();
    }
    let t0 = std::time::Instant::now();
    let o = run_bin(&["merge", out.to_str().unwrap()]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("rounds"), "{err}");
    assert!(t0.elapsed() < std::time::Duration::from_secs(20));
}
