//! The trust studies: the reference-fidelity runs replay
//! through the golden-trace replayer, the closed-form expectations
//! hold over 1,000 seeds, each corrected rule shows its finding with and
//! without it, runs are deterministic and resume bit for bit, and bad input
//! is refused cleanly.

use super::acceptance::{mean, results};
use super::split_run::{split_and_compare, whole};
use super::{finish, run_bin, scenario, study, text};
use omerta_sim::models::trust::TrustStudy;
use omerta_sim::models::trust::metrics::attack_outcome;
use omerta_sim::models::trust::model::Kind;
use omerta_sim::trust::trace::{Call, replay_text};

/// Run `file` for `seed` with every engine call recorded; replay each
/// scenario's (attack's) trace on a fresh reference engine: no output may
/// differ, and an attack's result recomputed from the trace must
/// equal the model's own.
fn replay_model_traces(file: &str, seed: u64) -> usize {
    let s = TrustStudy::new(scenario(file, &[])).unwrap();
    let mut run = s.new_run(seed);
    run.sim.model.start_recording(seed);
    run.sim.run();
    let mut checked = 0;
    for slot in &run.sim.model.slots {
        let mut rec = slot.recorder.clone().expect("recording");
        if let Kind::Fm(a) = slot.kind {
            let r = attack_outcome(a, slot).result;
            if let Some((_, Call::Meta { result, .. })) = rec.lines.first_mut() {
                *result = Some(r);
            }
        }
        let report = replay_text(&rec.to_jsonl()).unwrap_or_else(|e| panic!("{}: {e}", slot.kind.id()));
        let shown: Vec<String> = report.mismatches.iter().take(5).map(|m| m.to_string()).collect();
        assert!(report.mismatches.is_empty(), "{} seed {seed}: {}", slot.kind.id(), shown.join("\n"));
        assert!(report.counts.solves >= 1);
        if matches!(slot.kind, Kind::Fm(_)) {
            assert_eq!(report.counts.attack_results, 1, "{}", slot.kind.id());
        }
        checked += report.counts.outputs();
    }
    checked
}

#[test]
fn reference_runs_replay_exactly() {
    let mut checked = 0;
    for seed in 1..=8 {
        checked += replay_model_traces("failure_modes_reference.toml", seed);
        checked += replay_model_traces("trust_dynamics_reference.toml", seed);
    }
    assert!(checked > 2_000, "{checked}");
}

/// Monte-Carlo means over 1,000 seeds of the reference
/// fidelity against their closed forms, within stated tolerances.
#[test]
fn closed_form_expectations() {
    let fm = results("failure_modes_reference.toml", &[], 1000);
    let td = results("trust_dynamics_reference.toml", &[], 1000);
    let targets = [
        (&fm, "fm.long_con.trust_before", 33.94, 0.35),
        (&fm, "fm.authority.authority_before", 168.83, 1.1),
        (&fm, "fm.assassination.victim_before", 24.89, 0.3),
        (&fm, "fm.assassination.victim_after", 32.03, 0.3),
        (&fm, "fm.laundering.v2_trust", 13.21, 0.23),
        (&td, "td.new_entrant.newbie_trust", 22.48, 0.27),
        (&td, "td.new_entrant.established_trust_mean_d240", 29.62, 0.21),
        (&td, "td.donation_bootstrapping.donation_trust", 38.23, 0.7),
        (&td, "td.normal_operation.provider_trust_mean", 13.76, 0.15),
        (&td, "td.sybil_attack.sybil_trust_mean", 5.79, 0.06),
        (&td, "td.sybil_attack.honest_trust_mean", 6.68, 0.12),
    ];
    for (r, key, analytic, tol) in targets {
        let m = mean(r, key);
        assert!((m - analytic).abs() <= tol, "{key}: mean {m} vs analytic {analytic} ± {tol}");
    }
}

fn held(r: &omerta_sim::report::results::Results, id: &str) -> f64 {
    let f = r.findings.iter().find(|f| f.id == id).unwrap_or_else(|| panic!("finding {id}"));
    f.held_in.unwrap_or_else(|| panic!("finding {id} is n/a"))
}

/// Each corrected rule is a switch, and each changes its finding.
#[test]
fn each_fix_shows_its_finding() {
    let n = 40;
    // Defect 2: the claw-back is bounded only when each half is clawed once.
    let once = results("failure_modes/long_con.toml", &["recompute=checkpoints"], n);
    let twice = results("failure_modes/long_con.toml", &["recompute=checkpoints", "escrow_clawback=reference"], n);
    assert_eq!(held(&once, "fm.long_con.clawback_bounded"), 1.0);
    assert!(held(&twice, "fm.long_con.clawback_bounded") < 0.1);
    assert!(mean(&twice, "fm.long_con.clawed_back") > mean(&twice, "fm.long_con.escrowed_total"));
    // Defects 3 and 4: the false accuser is penalised only when applied.
    let applied = results("failure_modes/crisis.toml", &[], n);
    let inert = results("failure_modes/crisis.toml", &["false_accusation_penalty=inert"], n);
    assert_eq!(held(&applied, "fm.crisis.false_accuser_penalized"), 1.0);
    assert_eq!(held(&inert, "fm.crisis.false_accuser_penalized"), 0.0);
    // Defect 6: the authority's endorsements need a purchase when checked.
    let checked = results("failure_modes/authority.toml", &[], n);
    let unchecked = results("failure_modes/authority.toml", &["positive_assertions=unchecked"], n);
    assert_eq!(mean(&checked, "fm.authority.endorsements_accepted"), 0.0);
    assert!(mean(&unchecked, "fm.authority.endorsements_accepted") > 5.0);
    // Defect 5: hard-coded detection (day 90 whenever the attackers lost
    // more than the victim) against the trajectory (no detector fires).
    let measured = results("failure_modes/assassination.toml", &[], n);
    let hardcoded = results("failure_modes/assassination.toml", &["detection=hardcoded"], n);
    assert_eq!(mean(&measured, "fm.assassination.detected"), 0.0);
    assert_eq!(mean(&hardcoded, "fm.assassination.detection_day"), 90.0);
    // Defect 1: daily solves see the laundered identity's trust fall within
    // days; checkpoint solves only at day 120.
    let daily = results("failure_modes/laundering.toml", &[], n);
    let cps = results("failure_modes/laundering.toml", &["recompute=checkpoints"], n);
    assert!(mean(&daily, "fm.laundering.detection_day") < 100.0);
    assert_eq!(mean(&cps, "fm.laundering.detection_day"), 120.0);
    // Defect 1 again: reads at the moment of use price each arbitrage job
    // by its own local trust.
    assert!(mean(&daily, "fm.laundering.v2_trust") > 0.0);
    let arb_d = results("failure_modes/arbitrage.toml", &["detection=hardcoded"], n);
    let arb_c = results("failure_modes/arbitrage.toml", &["detection=hardcoded", "recompute=checkpoints"], n);
    assert!(mean(&arb_d, "fm.arbitrage.attacker_profit") < mean(&arb_c, "fm.arbitrage.attacker_profit"));
}

/// The long con with its reference rules succeeds in most seeds; the
/// corrected rules prevent it.
#[test]
fn long_con_prevented_only_when_corrected() {
    let r = results("failure_modes/long_con.toml", &["fidelity=reference"], 100);
    assert!(mean(&r, "fm.long_con.success") > 0.85);
    let c = results("failure_modes/long_con.toml", &[], 100);
    assert_eq!(mean(&c, "fm.long_con.success"), 0.0);
    assert_eq!(held(&c, "fm.long_con.prevented"), 1.0);
}

/// The other fidelity runs on the same seeds, with prefixed keys: the
/// framework's `compare_fidelities`, as in every study.
#[test]
fn compare_fidelities_runs_both() {
    let r = results("failure_modes/long_con.toml", &["compare_fidelities=true"], 10);
    let own = results("failure_modes/long_con.toml", &[], 10);
    let other = results("failure_modes/long_con.toml", &["fidelity=reference"], 10);
    assert_eq!(r.metrics["fm.long_con.success"].values, own.metrics["fm.long_con.success"].values);
    assert_eq!(r.metrics["compare.reference.fm.long_con.success"].values, other.metrics["fm.long_con.success"].values);
    assert_eq!(
        r.metrics["compare.reference.finding.fm.long_con.prevented"].mean,
        other.findings.iter().find(|f| f.id == "fm.long_con.prevented").unwrap().held_in
    );
    assert_eq!(r.settings["compare_with"], "reference");
    // Findings are judged on the study's own fidelity.
    assert_eq!(r.findings, own.findings);
}

fn fingerprint(file: &str, sets: &[&str], seed: u64) -> (u64, Vec<u8>, u64) {
    let run = finish(study(file, sets).stepper(seed));
    (run.fingerprint(), run.state_bytes(), run.counters().processed)
}

#[test]
fn deterministic_in_one_process() {
    for file in
        ["trust_dynamics.toml", "trust_dynamics_reference.toml", "failure_modes.toml", "failure_modes_reference.toml"]
    {
        let a = fingerprint(file, &[], 7);
        let b = fingerprint(file, &[], 7);
        assert_eq!(a, b, "{file}");
        assert!(a.2 > 1_000, "{file}: {} events", a.2);
        assert_ne!(a.0, fingerprint(file, &[], 8).0, "{file}: seeds 7 and 8 gave the same trajectory");
    }
}

#[test]
fn results_do_not_depend_on_jobs_or_process() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, jobs) in [("a", "1"), ("b", "2"), ("c", "2")] {
        let out = dir.path().join(name);
        let o = run_bin(&[
            "run",
            "models/failure_modes.toml",
            "--seeds",
            "6",
            "--jobs",
            jobs,
            "--progress",
            "none",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{:?}", text(&o));
        files.push((
            std::fs::read(out.join("results.json")).unwrap(),
            std::fs::read(out.join("seeds.csv")).unwrap(),
            std::fs::read(out.join("fm_runs.csv")).unwrap(),
        ));
    }
    assert_eq!(files[0], files[1]);
    assert_eq!(files[1], files[2]);
    let r: serde_json::Value = serde_json::from_slice(&files[0].0).unwrap();
    assert_eq!(r["study"], "failure_modes");
    assert_eq!(r["timing"], "daily");
    assert_eq!(r["fidelity"], "corrected");
    for k in [
        "recompute",
        "escrow_clawback",
        "false_accusation_penalty",
        "detection",
        "positive_assertions",
        "age_mode",
        "cluster_grouping",
    ] {
        assert!(r["settings"][k].is_string(), "settings.{k}");
    }
    let d = &r["distributions"]["fm.crisis.detection_day"];
    let total: u64 = d["counts"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(total, 6);
    assert!(d["p50"].is_i64(), "{d}");
    assert!(r["distributions"]["fm.crisis.recovery_days"]["counts"].is_object());
    let m = &r["metrics"]["fm.crisis.success"];
    assert_eq!(m["n"], 6);
    let ci = m["ci95"].as_array().unwrap();
    assert!(ci[1].as_f64().unwrap() > 0.0, "a Wilson interval, not [0, 0]: {m}");
}

/// Snapshot at an event inside a day (a group of same-time events), resume
/// in a fresh process: the same trajectory and results.
#[test]
fn split_runs_resume_bit_for_bit() {
    for (file, sets) in [
        ("failure_modes/crisis.toml", &[][..]),
        ("failure_modes/long_con.toml", &["fidelity=reference"][..]),
        ("trust_dynamics.toml", &["scenarios=[\"new_entrant\", \"sybil_attack\"]"][..]),
        ("trust_dynamics_reference.toml", &["scenarios=[\"collusion_ring\"]"][..]),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let w = whole(file, sets, 5, dir.path());
        assert!(w.tie_splits.len() > 10, "{file}");
        let n = w.tie_splits.len();
        for &k in [w.tie_splits[0], w.tie_splits[n / 2], w.tie_splits[n - 1]].iter() {
            split_and_compare(file, sets, 5, k, &w, dir.path());
        }
    }
}

#[test]
fn bad_scenarios_are_refused_with_the_key() {
    let fails = |args: &[&str], needles: &[&str]| {
        let o = run_bin(args);
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        for n in needles {
            assert!(err.contains(n), "{args:?}: expected `{n}` in {err}");
        }
        assert!(!err.contains("panicked"), "{err}");
    };
    let fm = "models/failure_modes.toml";
    let td = "models/trust_dynamics.toml";
    fails(&["run", fm, "--set", "trust.k_paymnt=0.2"], &["k_paymnt", fm]);
    fails(&["run", fm, "--set", "trust.tau_transaction=0"], &["`trust.tau_transaction`", "> 0", fm]);
    fails(&["run", fm, "--set", "trust.residual=2"], &["`trust.residual`", fm]);
    fails(&["run", fm, "--set", "recompute=hourly"], &["`recompute`", "hourly", fm]);
    fails(&["run", fm, "--set", "escrow_clawback=twice"], &["`escrow_clawback`", "twice"]);
    fails(&["run", fm, "--set", "attacks=[\"long_con\", \"heist\"]"], &["`attacks`", "heist"]);
    fails(&["run", fm, "--set", "attack.long_con.intensity=1.5"], &["`attack.long_con.intensity`"]);
    fails(&["run", fm, "--set", "attack.sockpuppet.socks=0"], &["`attack.sockpuppet.socks`"]);
    fails(&["run", fm, "--set", "attack.sockpuppet.puppets=3"], &["puppets", fm]);
    fails(&["run", fm, "--set", "scenarios=[\"long_con\"]"], &["`scenarios` does not apply to study failure_modes"]);
    fails(&["run", fm, "--set", "compare_fidelities=\"reference\""], &["`compare_fidelities`"]);
    fails(&["run", fm, "--set", "compare_fidelity=reference"], &["`compare_fidelity`"]);
    fails(&["run", td, "--set", "detection=measured"], &["`detection` does not apply to study trust_dynamics"]);
    fails(&["run", td, "--set", "scenarios=[\"picnic\"]"], &["`scenarios`", "picnic"]);
    fails(&["run", td, "--set", "scenarios=[]"], &["`scenarios` must name at least one"]);
}

/// `step` follows one identity: its transactions, assertions and the
/// recomputed trust, day by day.
#[test]
fn step_follows_one_identity() {
    let o = run_bin(&["step", "models/failure_modes/crisis.toml", "--agent", "crisis1", "--until", "75d"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("Transaction [") || out.contains("provides to"), "{out}");
    assert!(out.contains("Recompute"), "{out}");
    assert!(out.contains("crisis1: victim_provider T = "), "{out}");
    assert!(out.contains("accusation -0.700 (MALICIOUS_BEHAVIOR) from attacker: accepted"), "{out}");
    assert!(!out.contains("crisis2:"), "only the followed identity's changes: {out}");
    let o = run_bin(&["step", "models/trust_dynamics.toml", "--kind", "Checkpoint", "--count", "2"]);
    let (out, _) = text(&o);
    assert!(o.status.success());
    assert_eq!(out.matches("Checkpoint").count(), 2, "{out}");
    assert!(out.contains("checkpoint `end`") || out.contains("checkpoint `d60`"), "{out}");
}
