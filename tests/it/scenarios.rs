//! Bad scenario files and values: a clear error naming the key and the file,
//! a non-zero exit, never a panic.

use super::{root, run_bin, text};
use omerta_sim::study::Scenario;

fn fails_with(args: &[&str], needles: &[&str]) {
    let o = run_bin(args);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: expected `{n}` in: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
}

const V2: &str = "models/reliability_v2.toml";
const BASIC: &str = "models/reliability_basic.toml";

#[test]
fn unknown_and_misplaced_keys() {
    fails_with(&["run", V2, "--set", "price_meen=1.0"], &["price_meen", V2]);
    fails_with(&["run", V2, "--set", "iterations=3"], &["`iterations` does not apply to study reliability_v2", V2]);
    fails_with(&["run", BASIC, "--set", "bid_min=0.1"], &["`bid_min`", BASIC]);
    fails_with(&["run", V2, "--set", "verdict.holds=0.8"], &["holds", V2]);
}

#[test]
fn bad_values_name_the_key() {
    fails_with(&["run", V2, "--set", "seeds=-2"], &["`seeds` must be >= 0", V2]);
    fails_with(&["run", V2, "--set", "tick_hours=0"], &["`tick_hours` must be > 0"]);
    fails_with(&["run", V2, "--set", "job_hours=-1"], &["`job_hours` must be > 0"]);
    fails_with(&["run", V2, "--set", "round_hours=0"], &["`round_hours` must be > 0"]);
    fails_with(&["run", V2, "--set", "price_volatility=-0.1"], &["`price_volatility` must be >= 0"]);
    fails_with(&["run", V2, "--set", "threshold_min=6"], &["`threshold_min` (6) > `threshold_max` (5)"]);
    fails_with(&["run", V2, "--set", "initial_threshold_range=[3.0, 2.0]"], &["`initial_threshold_range`"]);
    fails_with(&["run", V2, "--set", "bid_min=0.5"], &["`bid_min` (0.5) must not exceed `price_floor`"]);
    fails_with(&["run", V2, "--set", "consumer_priority=lottery"], &["`consumer_priority`", "lottery"]);
    fails_with(&["run", V2, "--set", "consumer_priority=fifo"], &["`consumer_priority`"]);
    fails_with(&["run", BASIC, "--set", "expected_cost=exact"], &["`expected_cost`", "exact"]);
    fails_with(&["run", BASIC, "--set", "resume_from_checkpoint=3"], &["`resume_from_checkpoint`"]);
    fails_with(&["run", V2, "--set", "seeds=abc"], &["seeds", V2]);
    fails_with(&["run", V2, "--set", "fidelity=exact"], &["fidelity", V2]);
    fails_with(&["run", BASIC, "--set", "strategies=[\"greedy\"]"], &["greedy", BASIC]);
}

#[test]
fn bad_groups_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(super::root().join(V2)).unwrap();
    let bad = text.replacen("count = 4", "count = -4", 1);
    let p = dir.path().join("bad.toml");
    std::fs::write(&p, bad).unwrap();
    fails_with(&["run", p.to_str().unwrap()], &["`consumer_groups[0].count` must be >= 0", "bad.toml"]);
    let bad = text.replacen("checkpoint_hours = 0.1", "checkpoint_hours = 0", 1);
    std::fs::write(&p, bad).unwrap();
    fails_with(&["run", p.to_str().unwrap()], &["`consumer_groups[0].checkpoint_hours` must be > 0"]);
    let bad = text.replacen("value_per_hour = 5.0", "value_per_hour = 5.0\ncolour = \"red\"", 1);
    std::fs::write(&p, bad).unwrap();
    fails_with(&["run", p.to_str().unwrap()], &["colour", "bad.toml"]);
}

#[test]
fn bad_files() {
    fails_with(&["run", "models/no_such_file.toml"], &["no_such_file.toml"]);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.toml");
    std::fs::write(&p, "study = \"reliability_v2\"\nrounds = [").unwrap();
    fails_with(&["run", p.to_str().unwrap()], &["not valid TOML", "x.toml"]);
    std::fs::write(&p, "rounds = 3").unwrap();
    fails_with(&["run", p.to_str().unwrap()], &["missing key `study`"]);
    std::fs::write(&p, "study = \"weather\"").unwrap();
    fails_with(&["run", p.to_str().unwrap()], &["unknown study \"weather\""]);
}

#[test]
fn bad_command_line_values() {
    fails_with(&["run", V2, "--set", "novalue"], &["--set novalue", "key=value"]);
    fails_with(&["run", V2, "--snapshot-every", "soon"], &["--snapshot-every", "soon"]);
    fails_with(&["run", V2, "--snapshot-every", "0h"], &["--snapshot-every must be greater than 0"]);
    // `--seeds 0` is a usage error (exit 2), checked with the other
    // numeric flags in io.rs.
    fails_with(&["step", V2, "--agent", "robot3", "--count", "1"], &["unknown agent class `robot`"]);
    fails_with(&["step", V2, "--until=-3h"], &["--until", "must be finite and >= 0"]);
    let o = run_bin(&["run", V2, "--progress", "loud"]);
    assert_eq!(o.status.code(), Some(2), "clap usage errors exit with 2");
}

/// An error leaves earlier results untouched.
#[test]
fn errors_do_not_damage_results() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let o = run_bin(&["run", V2, "--seed", "1", "--set", "rounds=1", "--progress", "none", "--out", out]);
    assert!(o.status.success(), "{:?}", text(&o));
    let before = std::fs::read(dir.path().join("results.json")).unwrap();
    fails_with(&["run", V2, "--set", "rounds=-1", "--out", out], &["rounds"]);
    assert_eq!(std::fs::read(dir.path().join("results.json")).unwrap(), before);
}

/// Every scenario file the repository ships, subfolders included, loads and
/// resolves to a study of this build, and `list` shows each of them.
#[test]
fn every_shipped_scenario_resolves_and_is_listed() {
    let files = omerta_sim::study::scenario::scenario_files(&super::root().join("models")).unwrap();
    assert!(files.len() >= 60, "only {} scenario files found", files.len());
    let o = run_bin(&["list"]);
    let (listed, err) = text(&o);
    assert!(o.status.success(), "{err}");
    for f in &files {
        let s = omerta_sim::study::Scenario::load(f, &[]).unwrap_or_else(|e| panic!("{e}"));
        if let Err(e) = omerta_sim::models::open_study(s) {
            panic!("{}: {e}", f.display());
        }
        let rel = f.strip_prefix(super::root()).unwrap().display().to_string();
        assert!(listed.contains(&rel), "`list` does not show {rel}");
    }
    assert_eq!(listed.lines().count(), files.len(), "{listed}");
    assert!(!listed.contains("unreadable"), "{listed}");
}

#[test]
fn set_reaches_array_entries_and_every_override_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let o = run_bin(&[
        "run",
        V2,
        "--seeds",
        "1",
        "--progress",
        "none",
        "--set",
        "consumer_groups[0].checkpoint_hours=0.5",
        "--set",
        "rounds=5",
        "--out",
        out.to_str().unwrap(),
    ]);
    let (_, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("(1 seed in"), "{err}");
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(r["overrides"], serde_json::json!(["consumer_groups[0].checkpoint_hours=0.5", "rounds=5"]));
    assert_eq!(r["settings"]["consumer_groups[0].checkpoint_hours"], serde_json::json!(0.5));
    assert_eq!(r["settings"]["rounds"], serde_json::json!(5));
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("`--set consumer_groups[0].checkpoint_hours=0.5`, `--set rounds=5`"), "{md}");
    // The override reached the model: the group's interval is in its metrics.
    let plain = dir.path().join("p");
    let o = run_bin(&[
        "run",
        V2,
        "--seeds",
        "1",
        "--progress",
        "none",
        "--set",
        "rounds=5",
        "--out",
        plain.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    let p: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(plain.join("results.json")).unwrap()).unwrap();
    assert_eq!(p["overrides"], serde_json::json!(["rounds=5"]));
    assert_ne!(p["metrics"], r["metrics"], "the array override changed nothing");
    // Unknown entries and keys name the path the way errors spell it.
    fails_with(
        &["run", V2, "--set", "consumer_groups[9].checkpoint_hours=1"],
        &["`consumer_groups[9]`: there is no entry 9"],
    );
    fails_with(&["run", V2, "--set", "consumer_groups[0].chekpoint_hours=1"], &["consumer_groups[0].chekpoint_hours"]);
}

/// A study states its horizon from its parameters, without building a
/// model; for every shipped scenario, in both fidelities, it is the horizon
/// the model itself reports (the one `run`, `resume` and `step` stop at).
#[test]
fn the_stated_horizon_is_the_models() {
    let files = omerta_sim::study::scenario::scenario_files(&root().join("models")).unwrap();
    assert!(files.len() > 50);
    let mut checked = 0;
    for f in files {
        for fid in ["reference", "corrected"] {
            // (With `compare_fidelities` a study's horizon adds the comparison run's.)
            let sets = [format!("fidelity={fid}"), "compare_fidelities=false".to_string()];
            let Ok(s) = Scenario::load(&f, &sets) else { continue };
            let study = match omerta_sim::models::open_study(s) {
                Ok(s) => s,
                // A study with one fidelity (the example `mm1`).
                Err(e) if fid == "reference" && e.to_string().contains("no reference script") => continue,
                Err(e) => panic!("{}: {e}", f.display()),
            };
            let stated = study.horizon();
            assert!(stated > omerta_sim::engine::SimTime::ZERO, "{}", f.display());
            assert_eq!(stated, study.stepper(1).horizon(), "{} in {fid} fidelity", f.display());
            checked += 1;
        }
    }
    assert!(checked > 60, "only {checked} scenarios checked");
}
