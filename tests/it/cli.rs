//! The command line: help, list, run outputs, step and its filters, the
//! interactive prompt.

use super::{bin, run_bin, text};
use std::io::Write;
use std::process::Stdio;

#[test]
fn help_explains_the_commands() {
    let (out, _) = text(&run_bin(&["--help"]));
    for c in ["run", "resume", "step", "inspect", "list"] {
        assert!(out.contains(c), "{out}");
    }
    let (out, _) = text(&run_bin(&["run", "--help"]));
    for f in ["--seeds", "--set", "--out", "--jobs", "--progress", "--snapshot-every"] {
        assert!(out.contains(f), "{out}");
    }
}

#[test]
fn list_shows_every_scenario() {
    let o = run_bin(&["list"]);
    let (out, _) = text(&o);
    assert!(o.status.success());
    // Every file, any depth: tests/it/scenarios.rs checks each one.
    assert!(out.contains("monetary_policy/fs/baseline.toml"), "{out}");
    assert!(out.contains("failure_modes/crisis.toml"), "{out}");
    assert!(out.contains("reliability_v2_scarcity.toml") && out.contains("reliability_v2"));
}

#[test]
fn run_writes_the_results_contract() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let o = run_bin(&[
        "run",
        "models/reliability_v2.toml",
        "--seeds",
        "3",
        "--set",
        "rounds=3",
        "--progress",
        "log",
        "--snapshot-every",
        "250h",
        "--out",
        out,
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(stdout.contains("## Findings"), "{stdout}");
    assert!(stderr.contains("[reliability_v2]") && stderr.contains("runs 3/3"), "log lines: {stderr}");
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("results.json")).unwrap()).unwrap();
    assert_eq!(r["study"], "reliability_v2");
    assert_eq!(r["scenario"], "models/reliability_v2.toml");
    assert_eq!(r["fidelity"], "corrected");
    assert_eq!(r["timing"], "continuous");
    assert_eq!(r["settings"]["consumer_priority"], "bid");
    assert_eq!(r["seeds"], serde_json::json!([1, 2, 3]));
    let m = &r["metrics"]["tiers.high.compute_hours"];
    assert_eq!(m["n"], 3);
    assert_eq!(m["values"].as_array().unwrap().len(), 3);
    assert!(m["ci95"][0].as_f64().unwrap() <= m["mean"].as_f64().unwrap());
    let f = r["findings"].as_array().unwrap();
    assert!(f.iter().any(|f| f["id"] == "reliability_v2.high_value_more_compute" && f["verdict"] == "holds"));
    for file in [
        "thresholds.csv",
        "groups.csv",
        "seeds.csv",
        "summary.md",
        "charts/thresholds.png",
        "charts/thresholds.svg",
        "charts/compute_by_tier.png",
        "charts/compute_by_tier.svg",
    ] {
        assert!(dir.path().join(file).exists(), "{file} missing");
    }
    let png = std::fs::read(dir.path().join("charts/thresholds.png")).unwrap();
    assert_eq!(&png[..4], b"\x89PNG");
    // 600 h of simulated time: snapshots at 250 h and 500 h for each seed.
    for seed in 1..=3 {
        for t in [250, 500] {
            let p = dir.path().join(format!("snapshots/reliability_v2-seed{seed}-{t}h.snap"));
            assert!(p.exists(), "{} missing", p.display());
        }
    }
}

#[test]
fn step_prints_events_and_filters() {
    let o = run_bin(&["step", "models/reliability_v2.toml", "--count", "5"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert_eq!(out.lines().filter(|l| l.contains(" #")).count(), 5, "{out}");
    assert!(out.contains("RoundStart") && out.contains("events handled"), "{out}");

    let (out, _) = text(&run_bin(&["step", "models/reliability_v2.toml", "--count", "3", "--kind", "SessionEnd"]));
    let headers: Vec<&str> = out.lines().filter(|l| l.contains(" #")).collect();
    assert_eq!(headers.len(), 3);
    assert!(headers.iter().all(|l| l.contains("SessionEnd")), "{out}");
    assert!(out.contains("completes"), "{out}");

    let (out, _) = text(&run_bin(&["step", "models/reliability_v2.toml", "--count", "4", "--agent", "p3"]));
    let blocks = out.split(" #").skip(1).count();
    assert_eq!(blocks, 4, "{out}");
    assert!(out.contains("provider3:"), "{out}");
    assert!(!out.contains("provider4:"), "{out}");

    let (out, _) = text(&run_bin(&["step", "models/reliability_v2_reference.toml", "--until", "0.5h"]));
    assert_eq!(out.lines().filter(|l| l.contains(" Tick")).count(), 5, "{out}");
    assert!(out.contains("at 0.500h"), "{out}");
}

#[test]
fn interactive_prompt() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("here.snap");
    let mut child = bin()
        .args(["step", "models/reliability_basic.toml", "--interactive"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let script = format!("next 3\nshow consumer0\nuntil 1h\nshow robot1\nfly\nsave {}\nquit\n", snap.display());
    child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    let o = child.wait_with_output().unwrap();
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("step> "), "{out}");
    assert!(out.contains("consumer0 (low_cost)"), "{out}");
    assert!(out.contains("at 1.000h"), "{out}");
    assert!(out.contains("unknown agent class `robot`"), "{out}");
    assert!(out.contains("unknown command `fly`"), "{out}");
    assert!(snap.exists());
    let o = run_bin(&["step", "--from", snap.to_str().unwrap(), "--count", "2"]);
    assert!(o.status.success(), "{:?}", text(&o));
}

/// `reproduce` runs every listed study in both fidelities and writes one
/// report and one results.json.
#[test]
fn reproduce_writes_one_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let o = run_bin(&["reproduce", "--seeds", "2", "--progress", "none", "--out", out]);
    let (stdout, err) = text(&o);
    assert!(o.status.success(), "{err}");
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("results.json")).unwrap()).unwrap();
    let studies = r["studies"].as_array().unwrap();
    assert_eq!(studies.len(), omerta_sim::models::REPRODUCE.len());
    let mut valued = 0;
    for s in studies {
        let f = &s["findings"][0];
        assert!(f["reference"]["held_in"].is_number() && f["corrected"]["verdict"].is_string(), "{s}");
        // A finding that names the metric it judges has that metric's value.
        for f in s["findings"].as_array().unwrap() {
            for side in ["reference", "corrected"] {
                if f[side]["metric"].is_string() {
                    assert!(f[side]["value"]["mean"].is_number(), "{side} value of {f}");
                    valued += 1;
                }
            }
        }
        let stem = s["scenario"].as_str().unwrap().trim_start_matches("models/").trim_end_matches(".toml");
        assert!(dir.path().join(stem).join("findings.png").exists());
        assert!(dir.path().join(stem).join("reference/results.json").exists());
        assert!(stdout.contains(&format!("`models/{stem}.toml`")), "{stem}");
    }
    assert!(dir.path().join("REPORT.md").exists());
    assert!(valued > 50, "only {valued} finding values");
}
