//! The identity-rotation study (identity_rotation.md): the acceptance
//! targets, the findings, the scenario files and their errors, `step`
//! with receipts, snapshot/resume equivalence and the reduced scale run.

use super::{run_bin, scenario, study, text};
use omerta_sim::engine::Model;
use omerta_sim::ledger::{AccountId, Micro};
use omerta_sim::models::identity_rotation::{IdentityRotation, IdentityRotationStudy};
use omerta_sim::report::SeedOutput;
use omerta_sim::study::{Run, Stepper};
use proptest::prelude::*;
use std::path::Path;

const MAIN: &str = "identity_rotation.toml";
const REFERENCE: &str = "identity_rotation_reference.toml";
const SCALE: &str = "identity_rotation_scale.toml";
const SMALL_SCALE: &[&str] = &["scale.accounts=2000", "scale.transfers=20000", "scale.days=30"];

/// Run `file` to its end, checking the model's invariants after every
/// event (every 500th in a scale run).
fn finished(file: &str, sets: &[&str]) -> Run<IdentityRotation> {
    let s = IdentityRotationStudy::new(scenario(file, sets)).unwrap();
    let mut run = s.new_run(1);
    let every = if run.sim.model.scale.is_some() { 500 } else { 1 };
    let mut n = 0u64;
    while let Some(info) = run.sim.step() {
        n += 1;
        if n.is_multiple_of(every)
            && let Err(e) = run.sim.model.check_invariants()
        {
            panic!("{file}: after event {n} ({} at {}): {e}", info.kind, info.time);
        }
    }
    run.sim.model.check_invariants().unwrap();
    run
}

fn metric(o: &SeedOutput, k: &str) -> f64 {
    o.metrics.get(k).copied().flatten().unwrap_or_else(|| panic!("metric {k} missing or undefined"))
}

fn finding(o: &SeedOutput, id: &str) -> Option<bool> {
    *o.findings.get(&format!("identity_rotation.{id}")).unwrap_or_else(|| panic!("finding {id} missing"))
}

/// The order probe as the reference computes it: f64 OMC, no rounding to µOMC.
fn reference_order_b_first() -> (f64, f64) {
    let ra = 0.15 * (1.0f64 + 10.0).ln() / 10f64.ln();
    let qb = 1000.0 - 1000.0 * (1.0 / (1.0 + 0.01 * 300.0) + ra);
    let qa = 1000.0 - 1000.0 * (1.0 / (1.0 + 0.01 * 100.0) + ra);
    let rho = qa / (qb + qa);
    (rho * 100.0 + (1.0 - rho) * 300.0, qa + qb)
}

/// Acceptance targets (the reference's values), in both fidelities.
#[test]
fn acceptance_targets() {
    for file in [MAIN, REFERENCE] {
        let run = finished(file, &[]);
        let lane = run.sim.model.lanes.iter().find(|l| l.name == "one_puppet.defended").unwrap();
        let big = lane.receipts.iter().find(|r| r.from == AccountId(0)).expect("W's transfer");
        assert_eq!(big.gross, Micro(50_000_000_000));
        assert_eq!((big.sender_trust, big.receiver_trust_before), (99.99999999999997, 450.0));
        assert_eq!(big.receiver_balance_before, Micro::ZERO);
        assert_eq!(big.rate_trust, 0.5000000000000001, "{file}");
        assert_eq!(big.rate_amount, 0.4049756588800868, "{file}");
        assert_eq!(big.received, Micro(4_751_217_056), "{file}: 4,751.2170560 OMC");
        assert_eq!(big.rho, Some(1.0));
        assert_eq!(big.receiver_trust_after.to_bits(), 99.99999999999997f64.to_bits(), "{file}: 450 -> 100");

        let o = Stepper::output(&run);
        assert_eq!(metric(&o, "order_dependence.a_first.trust"), 100.0, "{file}: exactly 100");
        assert!((metric(&o, "order_dependence.a_first.balance") - 687.5822).abs() < 5e-5);
        let b_trust = metric(&o, "order_dependence.b_first.trust");
        assert!((b_trust - 226.6643).abs() < 5e-5, "{file}: {b_trust}");
        let (ref_trust, ref_balance) = reference_order_b_first();
        assert!((b_trust - ref_trust).abs() < 1e-6, "{file}: {b_trust} vs the reference's {ref_trust}");
        assert!((metric(&o, "order_dependence.b_first.balance") - 937.5822).abs() < 5e-5);
        assert!((metric(&o, "order_dependence.b_first.balance") - ref_balance).abs() < 1e-5);
    }
}

/// Every finding holds with the reference parameters, in both fidelities;
/// the headline numbers are those of the reference scripts.
#[test]
fn findings_and_outcomes() {
    for file in [MAIN, REFERENCE] {
        let o = Stepper::output(&finished(file, &[]));
        for (id, _) in o.findings.iter() {
            assert_eq!(o.findings[id], Some(true), "{file}: {id}");
        }
        assert_eq!(o.findings.len(), 9);
        assert_eq!(metric(&o, "one_puppet.defended.w_effective_trust"), 99.99999999999997);
        assert_eq!(metric(&o, "one_puppet.undefended.puppet_trust_final"), 450.0);
        assert_eq!(metric(&o, "one_puppet.undefended.evaded"), 1.0);
        assert_eq!(metric(&o, "three_puppets.undefended.puppet_trust_final"), 180.0);
        assert_eq!(metric(&o, "three_puppets.defended.puppet_trust_final"), 100.0);
        assert_eq!(metric(&o, "one_puppet.undefended.wealth_preserved"), 70_000.0);
        assert_eq!(metric(&o, "one_puppet.defended.puppet_trust_before"), 450.0);
        assert_eq!(metric(&o, "one_puppet.defended.activity_invested"), 900.0);
        assert_eq!(metric(&o, "ablation.all_off.one_puppet.wealth_preserved"), 100_000.0);
        assert_eq!(metric(&o, "ablation.all_off.one_puppet.wealth_cost_points"), -30.0);
        assert!(metric(&o, "ablation.amount_burn_only.three_puppets.wealth_cost_points") > 0.0);
        assert_eq!(metric(&o, "weakness.split.amount_burn_split"), 0.0);
        assert_eq!(metric(&o, "weakness.dust.target_trust_after"), 1.0);
        for s in ["one_puppet", "three_puppets"] {
            for d in ["undefended", "defended"] {
                assert_eq!(metric(&o, &format!("{s}.{d}.transfers_rejected")), 0.0);
            }
        }
        let r = (metric(&o, "one_puppet.defended.wealth_preserved")
            + metric(&o, "one_puppet.defended.burned_trust")
            + metric(&o, "one_puppet.defended.burned_amount"))
            - 100_000.0;
        assert!(r.abs() < 1e-6, "wealth + burned = minted");
    }
    // The reference detector sees only direct cycles: the three-puppet
    // ring is invisible to it, and a 2-cycle scores at most 0.5.
    let o = Stepper::output(&finished(REFERENCE, &[]));
    assert_eq!(metric(&o, "three_puppets.undefended.circular_ratio_max"), 0.0);
    assert!((metric(&o, "one_puppet.undefended.circular_ratio_max") - 10_000.0 / 60_000.0).abs() < 1e-15);
    let o = Stepper::output(&finished(MAIN, &[]));
    assert!((metric(&o, "three_puppets.undefended.circular_ratio_max") - 2_000.0 / 27_000.0).abs() < 1e-15);
}

/// With a window under 31 days the three-puppet ring is judged apart from
/// W's funding: the puppets' ratio is 1 and the penalty fires.
#[test]
fn a_short_window_judges_the_ring_alone() {
    let o = Stepper::output(&finished(MAIN, &["circular.window_days=30", "runs.ablation=false", "runs.probes=false"]));
    assert_eq!(metric(&o, "three_puppets.defended.circular_ratio_max"), 1.0);
    assert!((metric(&o, "three_puppets.defended.circular_penalty_max") - 1.4).abs() < 1e-12);
    assert_eq!(finding(&o, "circular_flow_silent"), Some(false));
    assert!(!o.findings.contains_key("identity_rotation.inheritance_alone_suffices"), "no ablation: not reported");
    assert!(!o.metrics.contains_key("order_dependence.a_first.trust"));
}

/// The design document's parameters (`identity_rotation_doc_params.toml`):
/// the one-puppet transfer burns completely, so `evaded` = 1 although no
/// wealth moved.
#[test]
fn doc_params_caveat() {
    let run = finished("identity_rotation_doc_params.toml", &[]);
    let lane = run.sim.model.lanes.iter().find(|l| l.name == "one_puppet.defended").unwrap();
    let big = lane.receipts.iter().find(|r| r.from == AccountId(0)).unwrap();
    assert!(big.rate_trust + big.rate_amount > 1.0);
    assert_eq!((big.received, big.rho), (Micro::ZERO, None));
    let o = Stepper::output(&run);
    assert_eq!(metric(&o, "one_puppet.defended.evaded"), 1.0);
    assert_eq!(metric(&o, "one_puppet.defended.puppet_balance_final"), 0.0);
    assert_eq!(finding(&o, "spotlight_follows_money"), Some(false));
    // rho on the amount sent: the three-puppet receipt divides 25,000.
    let lane = run.sim.model.lanes.iter().find(|l| l.name == "three_puppets.defended").unwrap();
    assert_eq!(lane.receipts[0].rho, Some(1.0));
}

#[test]
fn run_writes_results_tables_and_chart() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let o = run_bin(&["run", "models/identity_rotation.toml", "--seeds", "2", "--progress", "none", "--out", out]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    for s in ["## Scripted attacks", "## Ablation", "## Probes", "## Findings", "4751.217056", "226.664329"] {
        assert!(stdout.contains(s), "summary lacks {s}: {stdout}");
    }
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("results.json")).unwrap()).unwrap();
    assert_eq!(r["study"], "identity_rotation");
    assert_eq!(r["timing"], "daily");
    assert_eq!(r["fidelity"], "corrected");
    assert_eq!(r["seeds"], serde_json::json!([1, 2]));
    assert_eq!(r["settings"]["defended"]["trust_inheritance"], true);
    assert_eq!(r["settings"]["undefended"]["amount_burn"], false);
    // The summary rounds to six decimals; results.json keeps the exact f64.
    assert_eq!(r["metrics"]["order_dependence.b_first.trust"]["mean"], serde_json::json!(226.66432890895965));
    let evaded = &r["metrics"]["one_puppet.undefended.evaded"];
    assert_eq!(evaded["values"], serde_json::json!([1.0, 1.0]));
    let [lo, hi] = [evaded["ci95"][0].as_f64().unwrap(), evaded["ci95"][1].as_f64().unwrap()];
    assert!(lo < 1.0 && hi == 1.0, "0/1 metrics get the Wilson interval: [{lo}, {hi}]");
    let w = &r["metrics"]["one_puppet.defended.wealth_preserved"];
    assert_eq!(w["ci95"], serde_json::json!([w["mean"], w["mean"]]), "identical seeds: [v, v]");
    for key in [
        "one_puppet.trust_reduction",
        "ablation.circular_flow_only.three_puppets.wealth_cost_points",
        "weakness.dust.rho",
        "weakness.split.receiver_trust_after_split",
        "three_puppets.defended.circular_penalty_max",
    ] {
        assert!(r["metrics"][key]["mean"].is_number(), "{key}");
    }
    assert!(r["findings"].as_array().unwrap().iter().all(|f| f["verdict"] == "holds"));
    let traj = std::fs::read_to_string(dir.path().join("trajectory.csv")).unwrap();
    let header = traj.lines().next().unwrap();
    assert_eq!(
        header,
        "seed,scenario,defences,step,day,event,from,to,gross,received,burned,rho,w_balance,puppets_balance,wealth,\
         burned_total,puppet_trust,puppet_trust_effective,w_trust"
    );
    // 4 scripted runs and 8 ablation runs (22 or 47 steps each), two seeds.
    assert_eq!(traj.lines().count() - 1, 2 * (6 * 22 + 6 * 47));
    assert!(traj.contains("1,one_puppet,defended,21,540,Transfer,W,P,50000.000000,4751.217056,45248.782944,1.0,"));
    let receipts = std::fs::read_to_string(dir.path().join("receipts.csv")).unwrap();
    assert!(receipts.lines().next().unwrap().contains("receiver_trust_after"));
    assert!(receipts.contains(",0.5000000000000001,0.4049756588800868,"));
    for f in ["charts/identity_rotation.png", "charts/identity_rotation.svg", "seeds.csv", "summary.md"] {
        assert!(dir.path().join(f).exists(), "{f} missing");
    }
    let svg = std::fs::read_to_string(dir.path().join("charts/identity_rotation.svg")).unwrap();
    assert!(svg.contains("spotlight") && svg.contains("Three puppets"));
}

/// `step` shows each transfer's receipt as trace notes with the parties
/// set, so `--agent` follows one identity.
#[test]
fn step_shows_receipts() {
    let o = run_bin(&[
        "step",
        "models/identity_rotation.toml",
        "--kind",
        "Transfer",
        "--agent",
        "account3",
        "--count",
        "1",
    ]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("540.000d") && out.contains("Transfer [account2]"), "{out}");
    assert!(out.contains("[one_puppet.defended] transfer #0: W -> P"), "{out}");
    // Trust for people: 99.99999999999997 prints as 100.00 (receipts.csv keeps every digit).
    assert!(out.contains("account3: P receives 4751.217056 OMC; balance 0.000000 -> 4751.217056; trust 450.00 -> 100.00 (rho 1.0000, blended 100.00)"), "{out}");
    assert!(!out.contains("W sends"), "the sender's note belongs to account 2: {out}");
    let o = run_bin(&[
        "step",
        "models/identity_rotation.toml",
        "--kind",
        "Transfer",
        "--agent",
        "account2",
        "--count",
        "1",
    ]);
    let (out, _) = text(&o);
    assert!(out.contains("W sends 50000.000000 OMC, burned 45248.782944 (trust burn 25000.000000 at r_t 0.5000, amount burn 20248.782944 at r_a 0.4050; r 0.9050"), "{out}");
    // The scale run: every request's receipt or refusal.
    let mut args = vec!["step", "models/identity_rotation_scale.toml", "--count", "3"];
    for s in SMALL_SCALE {
        args.extend(["--set", s]);
    }
    let o = run_bin(&args);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert_eq!(out.matches("Request").count(), 3, "{out}");
    assert!(out.contains("receives") || out.contains("refused"), "{out}");
}

/// Bad scenario values: an error naming the key and the file, exit 1.
#[test]
fn bad_values_name_the_key() {
    let main = "models/identity_rotation.toml";
    let scale = "models/identity_rotation_scale.toml";
    for (file, set, needle) in [
        (main, "ledger.k_amount=-0.1", "`ledger.k_amount` must be >= 0"),
        (main, "ledger.k_transfer=-1", "`ledger.k_transfer` must be >= 0"),
        (main, "ledger.amount_scale=1", "`ledger.amount_scale` must be > 1"),
        (main, "ledger.median_balance=0", "`ledger.median_balance` must be > 0"),
        (main, "ledger.rho_basis=\"paid\"", "`ledger.rho_basis`"),
        (main, "circular.threshold=1", "`circular.threshold` must be in [0, 1)"),
        (main, "circular.threshold=-0.1", "`circular.threshold` must be in [0, 1)"),
        (main, "circular.window_days=-1", "`circular.window_days` must be >= 0"),
        (main, "one_puppet.w_balance=-5", "`one_puppet.w_balance` must be >= 0"),
        (main, "order.a_trust=-1", "`order.a_trust` must be >= 0"),
        (main, "dust.target_trust=nan", "`dust.target_trust` must be a finite number"),
        (main, "one_puppet.w_scrutiny_penalty=2", "`one_puppet.w_scrutiny_penalty`"),
        (main, "split.chunk=300", "`split.chunk` (300.000000) must divide `split.total` (50000.000000)"),
        (main, "three_puppets.puppets=1", "`three_puppets.puppets` must be in 2..=1000"),
        (main, "defended.amount_burn=3", "`defended.amount_burn` must be true, false or \"auto\""),
        (main, "ledger.k_amout=0.2", "k_amout"),
        (main, "scale.accounts=10", "`undefended` does not apply"),
        (scale, "scale.amount_min=0", "`scale.amount_min` must be > 0"),
        (scale, "scale.amount_min=20000", "`scale.amount_min` (20000) must not exceed `scale.amount_max` (10000)"),
        (scale, "scale.accounts=1", "`scale.accounts` must be at least 2"),
        (scale, "scale.detect_every_days=0", "`scale.detect_every_days` must be at least 1"),
        (scale, "scale.initial_balance=-1", "`scale.initial_balance` must be >= 0"),
        (scale, "one_puppet.months=3", "`one_puppet` does not apply"),
    ] {
        let o = run_bin(&["run", file, "--set", set, "--progress", "none", "--out", "/nonexistent/never"]);
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(1), "{set}: {err}");
        assert!(err.contains(needle) && err.contains(file), "{set}: expected `{needle}` and the file in: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// Identical seeds: the scripted study draws no random numbers. The scale
/// run is random, deterministic per seed, and different across seeds.
#[test]
fn determinism() {
    let a = super::finish(study(MAIN, &[]).stepper(1));
    let b = super::finish(study(MAIN, &[]).stepper(7));
    assert_eq!(a.state_bytes(), b.state_bytes(), "the scripted runs do not depend on the seed");
    let x = super::finish(study(SCALE, SMALL_SCALE).stepper(3));
    let y = super::finish(study(SCALE, SMALL_SCALE).stepper(3));
    let z = super::finish(study(SCALE, SMALL_SCALE).stepper(4));
    assert_eq!((x.fingerprint(), x.state_bytes()), (y.fingerprint(), y.state_bytes()));
    assert_ne!(x.fingerprint(), z.fingerprint());
    // Two processes write the same seeds.csv (fingerprint and state hash).
    let dir = tempfile::tempdir().unwrap();
    let mut csv = Vec::new();
    for name in ["p1", "p2"] {
        let out = dir.path().join(name);
        let mut args = vec!["run", "models/identity_rotation_scale.toml", "--seed", "5", "--progress", "none"];
        for s in SMALL_SCALE {
            args.extend(["--set", s]);
        }
        args.extend(["--out", out.to_str().unwrap()]);
        let o = run_bin(&args);
        assert!(o.status.success(), "{:?}", text(&o));
        csv.push(std::fs::read(out.join("seeds.csv")).unwrap());
    }
    assert_eq!(csv[0], csv[1]);
}

/// The reduced scale run (a CI-sized scale run): invariants every 500 events, every
/// request accounted for, the six rejection keys, conservation.
#[test]
fn reduced_scale_run() {
    let run = finished(SCALE, &["scale.accounts=10000", "scale.transfers=100000", "scale.detect_every_days=25"]);
    let sc = run.sim.model.scale.as_ref().unwrap();
    assert_eq!(sc.requests, 100_000);
    let o = Stepper::output(&run);
    let rejected: f64 = omerta_sim::ledger::LedgerError::REASONS
        .iter()
        .map(|r| metric(&o, &format!("scale.transfers_rejected.{r}")))
        .sum();
    assert_eq!(metric(&o, "scale.transfers_applied") + rejected, 100_000.0);
    assert!(metric(&o, "scale.transfers_rejected.insufficient_balance") > 0.0);
    assert_eq!(rejected, metric(&o, "scale.transfers_rejected.insufficient_balance"), "the only possible reason");
    assert_eq!(metric(&o, "scale.conservation_ok"), 1.0);
    assert_eq!(finding(&o, "trust_not_bought"), Some(true));
    assert!(metric(&o, "scale.flagged_accounts") > 0.0);
    assert!(metric(&o, "scale.window_edges") > 10_000.0);
    assert!(metric(&o, "scale.transfers_per_second") > 0.0 && metric(&o, "scale.detect_seconds") >= 0.0);
    assert_eq!(sc.last_detection.map(|d| d.0), Some(99), "the final detection runs on the last day");
}

// ---------------------------------------------------------------------------
// Snapshot and resume

fn seeds_csv(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("seeds.csv")).unwrap()
}

/// Results without the wall-clock metrics of the scale run.
fn results_without_wall(dir: &Path) -> serde_json::Value {
    let mut r: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("results.json")).unwrap()).unwrap();
    let m = r["metrics"].as_object_mut().unwrap();
    m.remove("scale.transfers_per_second");
    m.remove("scale.detect_seconds");
    r
}

/// Split `file` at event k, resume in a fresh process, and compare the
/// fingerprint (which folds in every receipt), the final state and the
/// results with the run that was never interrupted.
fn split_and_compare(file: &str, sets: &[&str], k: u64) {
    let dir = tempfile::tempdir().unwrap();
    let s = study(file, sets);
    let mut whole = s.stepper(2);
    while whole.step().is_some() {}
    let w = dir.path().join("whole");
    omerta_sim::study::exec::finish(s.as_ref(), vec![whole.output()], &w).unwrap();

    let mut run = s.stepper(2);
    for _ in 0..k {
        run.step().expect("k is within the run");
    }
    let snap = dir.path().join("split.snap");
    run.save(&snap).unwrap();
    let out = dir.path().join("resumed");
    let o = run_bin(&["resume", snap.to_str().unwrap(), "--out", out.to_str().unwrap(), "--progress", "none"]);
    assert!(o.status.success(), "resume failed: {:?}", text(&o));
    assert_eq!(seeds_csv(&out), seeds_csv(&w), "{file}: fingerprint and state after a split at event {k}");
    assert_eq!(results_without_wall(&out), results_without_wall(&w), "{file}: results after a split at {k}");
    assert_eq!(
        std::fs::read(out.join("receipts.csv")).unwrap_or_default(),
        std::fs::read(w.join("receipts.csv")).unwrap_or_default()
    );
}

#[test]
fn split_inside_same_time_groups() {
    // Day 0 opens every account and runs the probes: a long same-time group.
    for k in [0, 1, 5, 40, 400, 430, 931] {
        split_and_compare(MAIN, &[], k);
    }
    split_and_compare(SCALE, SMALL_SCALE, 0);
    split_and_compare(SCALE, SMALL_SCALE, 19_999);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4))]

    #[test]
    fn split_anywhere(frac in 0.0f64..1.0) {
        split_and_compare(REFERENCE, &[], (932.0 * frac) as u64);
        split_and_compare(SCALE, SMALL_SCALE, (20_001.0 * frac) as u64);
    }
}
