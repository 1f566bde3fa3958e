//! Monetary policy: the policy is inert in
//! reference fidelity, cluster prevalence equals the attacker fraction
//! exactly, the reference parameter schedule, the policy changes the
//! trajectories under live wiring, invariants, determinism, snapshot/resume
//! of a 1,095-day run, sharded = unsharded, and bad input.

use super::split_run::{split_and_compare, whole};
use super::{root, run_bin, scenario, text};
use omerta_sim::models::monetary_policy::model::ROWS;
use omerta_sim::models::monetary_policy::scripts::expected_fraction;
use omerta_sim::models::monetary_policy::{PolicyModel, PolicyStudy, Script, Slot};
use omerta_sim::policy::{DailyMetrics, Param, Rule};
use rayon::prelude::*;
use std::process::Command;

/// Run `file` (with overrides) to the end for each seed; return the models.
fn models(file: &str, sets: &[&str], seeds: &[u64]) -> Vec<PolicyModel> {
    let st = PolicyStudy::new(scenario(file, sets)).unwrap();
    seeds
        .par_iter()
        .map(|&seed| {
            let mut run = st.new_run(seed);
            run.sim.run();
            run.sim.model
        })
        .collect()
}

fn trust_side(m: &DailyMetrics) -> DailyMetrics {
    DailyMetrics {
        daily_burn_volume: 0.0,
        daily_mint_volume: 0.0,
        total_coin_supply: 0.0,
        coin_velocity: 0.0,
        hoarding_prevalence: 0.0,
        params: Default::default(),
        ..m.clone()
    }
}

/// Reference fidelity: all arms of a seed give bitwise-identical trust, weights,
/// trust-side metrics, fingerprints and draw counts.
fn assert_inert(model: &PolicyModel, seed: u64) {
    let mut groups: std::collections::BTreeMap<Script, Vec<&Slot>> = Default::default();
    for s in &model.slots {
        groups.entry(s.script).or_default().push(s);
    }
    for (script, arms) in groups {
        let a = arms[0];
        for b in &arms[1..] {
            let what = format!("seed {seed} {} {} vs {}", script.id(), a.arm.name, b.arm.name);
            assert_eq!(a.trust_fp, b.trust_fp, "{what}: trust fingerprint");
            assert_eq!(a.draws, b.draws, "{what}: draw counts per stream");
            assert_eq!(a.engine.trusts(), b.engine.trusts(), "{what}: final T");
            for (x, y) in a.history.iter().zip(&b.history) {
                assert_eq!(trust_side(x), trust_side(y), "{what}: day {}", x.day);
            }
        }
    }
}

fn assert_fractions(model: &PolicyModel, prefix: &str, reference: bool) {
    for s in &model.slots {
        if let Some(f) = expected_fraction(prefix, s.script, reference) {
            let last = s.history.last().unwrap();
            assert_eq!(
                last.cluster_prevalence,
                f,
                "{prefix}.{} {}: final cluster prevalence",
                s.script.id(),
                s.arm.name
            );
        }
    }
}

const SEEDS20: [u64; 20] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009];

#[test]
fn reference_full_study_is_inert_with_exact_clusters_and_schedule() {
    let ms = models("full_study_reference.toml", &[], &SEEDS20);
    for (m, &seed) in ms.iter().zip(&SEEDS20) {
        assert_inert(m, seed);
        assert_fractions(m, "fs", true);
        for s in m.slots.iter().filter(|s| s.arm.name == "on") {
            let log = &s.policy.log;
            let c: Vec<_> = log.iter().filter(|e| e.changes.iter().any(|c| c.rule == Rule::C)).collect();
            let attacked = expected_fraction("fs", s.script, true).is_some_and(|f| f > 0.0);
            if attacked {
                assert_eq!(c.len(), 51, "{} seed {seed}: Rule C evaluations", s.script.id());
                assert!(c.iter().all(|e| e.day >= 365));
                assert_eq!(s.policy.params.k_transfer, 0.12040769775041382, "{}: sequential product", s.script.id());
            } else {
                assert!(c.is_empty());
            }
            if s.script != Script::FsBaseline {
                continue;
            }
            // The exact schedule of the reference policy.
            assert_eq!(log.len(), 78, "seed {seed}");
            let mut k = 0.1f64;
            for (j, e) in log.iter().enumerate() {
                assert_eq!(e.day, 180 + 7 * j as u32);
                assert_eq!(e.changes.len(), 1);
                let ch = e.changes[0];
                assert_eq!(ch.rule.param(), Param::KPayment);
                let next = 0.01f64.max(k + (-0.05 * k));
                assert_eq!((ch.old, ch.new), (k, next), "event {}", j + 1);
                k = next;
            }
            assert_eq!(log[0].changes[0].new, 0.095);
            assert_eq!(log[43].changes[0].new, 0.010467395472325522);
            assert_eq!((log[44].day, log[44].changes[0].new), (488, 0.01));
            assert!(log[45..].iter().all(|e| e.changes[0].old == 0.01 && e.changes[0].new == 0.01), "phantoms");
            let p = s.policy.params;
            assert_eq!((p.k_transfer, p.isolation_threshold, p.tau_transaction), (0.01, 0.9, 365.0));
        }
    }
}

#[test]
fn reference_iterations_are_inert_with_exact_clusters() {
    let seeds: Vec<u64> = (42..62).collect();
    for m in models("monetary_policy_iteration2_reference.toml", &[], &seeds) {
        assert_inert(&m, 0);
        assert_fractions(&m, "mp2", true);
        let wave = m.slots.iter().find(|s| s.script == Script::Mp2Wave).unwrap();
        let want = [(160, 3.0 / 33.0), (240, 3.0 / 33.0), (310, 8.0 / 38.0), (390, 8.0 / 38.0), (460, 15.0 / 45.0)];
        for (d, f) in
            want.into_iter().chain([(540, 15.0 / 45.0), (610, 15.0 / 49.0), (700, 15.0 / 49.0), (719, 15.0 / 49.0)])
        {
            assert_eq!(wave.history[d].cluster_prevalence, f, "mp2 wave_attack day {d}");
        }
    }
    let ms = models("monetary_policy_reference.toml", &[], &seeds);
    for m in &ms {
        assert_inert(m, 0);
        assert_fractions(m, "mp1", true);
    }
}

#[test]
fn corrected_policy_changes_trajectories_and_keeps_invariants() {
    let sets = ["full_study.iterations=1", "full_study.samples=8"];
    let ms = models("full_study.toml", &sets, &(0..8).collect::<Vec<_>>());
    let mut differ = 0;
    for m in &ms {
        assert_fractions(m, "fs", false);
        for pair in m.slots.chunks(2) {
            let (off, on) = (&pair[0], &pair[1]);
            assert_eq!(off.draws, on.draws, "{}: the policy draws nothing", off.script.id());
            differ += usize::from(off.trust_fp != on.trust_fp);
            check_invariants(off);
            check_invariants(on);
        }
    }
    // Live wiring must reach the trust model: most pairs differ.
    assert!(differ >= 8 * 12 * 3 / 4, "only {differ} of {} pairs differ", 8 * 12);
    // The same corrected model with the wiring cut is inert again.
    let ms = models("full_study.toml", &[sets[0], sets[1], "policy_wiring=inert"], &[0, 1, 2]);
    for (m, seed) in ms.iter().zip(0..) {
        assert_inert(m, seed);
    }
}

fn check_invariants(s: &Slot) {
    let cfg = s.arm.policy.clone();
    for (k, w) in s.history.windows(2).enumerate() {
        let (a, b) = (&w[0], &w[1]);
        assert_eq!(a.day as usize, k);
        assert!(b.total_identities >= a.total_identities);
        let received = b.total_transaction_volume - b.daily_burn_volume;
        let want = b.daily_mint_volume + received;
        let got = b.total_coin_supply - a.total_coin_supply;
        assert!((got - want).abs() <= 1e-9 * want.abs().max(1.0), "{} day {}: supply step", s.script.id(), b.day);
        assert!(b.trust_gini >= 0.0 && b.min_trust >= 0.0);
    }
    let Some(cfg) = cfg else { return };
    for w in s.policy.log.windows(2) {
        assert!(w[1].day - w[0].day >= cfg.min_adjustment_interval);
    }
    for e in &s.policy.log {
        assert!(e.day >= 180, "corrected: nothing before LIMITED_AUTO");
        for c in &e.changes {
            assert_ne!(c.old, c.new, "corrected drops no-op changes");
            if matches!(c.rule, Rule::G | Rule::C) {
                assert!(e.day >= 365, "design phases: k_payment and k_transfer only in FULL_AUTO");
            }
            if c.rule == Rule::G {
                assert!((c.new - c.old).abs() <= cfg.max_change_rate * c.old * (1.0 + 1e-12));
            }
        }
    }
    let p = s.policy.params;
    assert!(p.k_payment >= 0.01 && p.isolation_threshold >= 0.7 && (90.0..=730.0).contains(&p.tau_transaction));
    assert!(p.k_transfer <= 0.1);
}

#[test]
fn sampled_share_is_the_verification_rate() {
    let ms =
        models("monetary_policy/fs/baseline.toml", &["full_study.samples=4", "full_study.iterations=1"], &[0, 1, 2, 3]);
    let (mut n, mut sampled) = (0u64, 0u64);
    for m in &ms {
        for s in m.slots.iter().filter(|s| s.arm.name == "off") {
            n += s.history.iter().map(|h| u64::from(h.daily_transactions)).sum::<u64>();
            sampled += s.history.iter().map(|h| u64::from(h.verifications_sampled)).sum::<u64>();
        }
    }
    let p = 0.1;
    let sd = (n as f64 * p * (1.0 - p)).sqrt();
    assert!((sampled as f64 - n as f64 * p).abs() < 3.0 * sd, "{sampled} of {n}");
    // Daily purchases: 10 providers × 0.25.
    let mean = n as f64 / (4.0 * 720.0);
    assert!((mean - 2.5).abs() < 3.0 * (10.0 * 0.25 * 0.75 / (4.0 * 720.0f64)).sqrt(), "mean {mean}");
    assert_eq!(ROWS.len(), 8);
}

#[test]
fn snapshot_resume_of_a_1095_day_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = "monetary_policy/fs/combined_attack.toml";
    let sets = ["days=1095"];
    let w = whole(file, &sets, 1001, dir.path());
    split_and_compare(file, &sets, 1001, w.events / 2, &w, dir.path());
}

fn run_ok(args: &[&str]) {
    let o = run_bin(args);
    assert!(o.status.success(), "{args:?}: {:?}", text(&o));
}

#[test]
fn sharded_merge_equals_unsharded_and_thread_count_does_not_matter() {
    let dir = tempfile::tempdir().unwrap();
    let d = |s: &str| dir.path().join(s).to_str().unwrap().to_string();
    let base = [
        "run",
        "models/full_study.toml",
        "--progress",
        "none",
        "--set",
        "full_study.iterations=2",
        "--set",
        "full_study.samples=3",
    ];
    let mut a = base.to_vec();
    let (whole, one) = (d("whole"), d("one"));
    a.extend(["--out", &whole]);
    run_ok(&a);
    let mut b = base.to_vec();
    b.extend(["--out", &one, "--jobs", "1"]);
    run_ok(&b);
    let read = |p: &str, f: &str| std::fs::read_to_string(std::path::Path::new(p).join(f)).unwrap();
    assert!(read(&whole, "results.json") == read(&one, "results.json"), "results depend on --jobs");
    assert!(read(&whole, "policy_events.csv") == read(&one, "policy_events.csv"));
    // The Slurm array imitation: 4 tasks, then the merge.
    let arr = d("array");
    let o = Command::new("bash")
        .arg(root().join("scripts/slurm/imitate_array.sh"))
        .args([
            "4",
            "models/full_study.toml",
            &arr,
            "--set",
            "full_study.iterations=2",
            "--set",
            "full_study.samples=3",
        ])
        .env("OMERTA_SIM", env!("CARGO_BIN_EXE_omerta-sim"))
        .current_dir(root())
        .output()
        .unwrap();
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(read(&whole, "results.json") == read(&arr, "results.json"), "merged results.json differs");
    assert!(read(&whole, "runs/combined_attack/1002_on.csv") == read(&arr, "runs/combined_attack/1002_on.csv"));
    assert!(std::path::Path::new(&arr).join("charts/gini_boxplot.png").exists());
    assert!(read(&whole, "charts/gini_boxplot.svg") == read(&one, "charts/gini_boxplot.svg"));
    // One dot per seed and arm in every box: 12 scenarios × 6 seeds × 2 arms.
    assert_eq!(read(&whole, "charts/gini_boxplot.svg").matches(r#"r="2""#).count(), 12 * 6 * 2);
}

/// Every chart of iterations 1 and 2, as PNG
/// and SVG, the same bytes whatever the thread count.
#[test]
fn iteration_charts_are_complete_and_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let out = |s: &str| dir.path().join(s);
    let mp1 = [
        "paired_diff",
        "attack_comparison",
        "policy_effectiveness_heatmap",
        "parameter_adjustments",
        "parameter_sensitivity",
        "extended_baseline_5year",
        "adversarial_multi_attack_5year",
        "trust_evolution_baseline",
        "trust_evolution_trust_inflation",
        "trust_evolution_sybil_explosion",
        "trust_evolution_verification_starvation",
        "trust_evolution_hoarding",
        "trust_evolution_gini_manipulation",
        "trust_evolution_slow_degradation",
    ];
    let mp2 = ["paired_diff", "policy_comparison", "sensitivity_analysis", "recovery_analysis"];
    for (file, charts) in
        [("models/monetary_policy.toml", &mp1[..]), ("models/monetary_policy_iteration2.toml", &mp2[..])]
    {
        let stem = std::path::Path::new(file).file_stem().unwrap().to_str().unwrap();
        let (a, b) = (out(&format!("{stem}_a")), out(&format!("{stem}_b")));
        for (o, jobs) in [(&a, "2"), (&b, "1")] {
            run_ok(&["run", file, "--seeds", "3", "--jobs", jobs, "--progress", "none", "--out", o.to_str().unwrap()]);
        }
        let cd = a.join("charts");
        let mut names: Vec<String> =
            std::fs::read_dir(&cd).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        let mut want: Vec<String> = charts.iter().flat_map(|c| [format!("{c}.png"), format!("{c}.svg")]).collect();
        want.sort();
        assert_eq!(names, want, "{file}: the chart files");
        for n in &names {
            let bytes = std::fs::read(cd.join(n)).unwrap();
            assert!(bytes.len() > 5_000, "{file}: {n} is too small");
            assert!(bytes == std::fs::read(b.join("charts").join(n)).unwrap(), "{file}: {n} depends on --jobs");
        }
        let svg = |c: &str| std::fs::read_to_string(cd.join(format!("{c}.svg"))).unwrap();
        // The paired differences: one dot per experiment and seed.
        let experiments = if charts.len() == mp1.len() { 9 } else { 3 };
        assert_eq!(svg("paired_diff").matches(r#"r="2""#).count(), experiments * 3, "{file}");
        if charts.len() == mp1.len() {
            let evolution = svg("trust_evolution_baseline");
            for word in ["OBSERVATION", "LIMITED_AUTO", "FULL_AUTO", "policy off", "policy on", "target 0.4"] {
                assert!(evolution.contains(word), "trust_evolution_baseline lacks {word}");
            }
            assert!(evolution.contains("#D62728") && evolution.contains("#1F77B4"), "off red, on blue");
            assert!(evolution.contains("<polygon"), "the mean ± CI band");
            let waves = svg("adversarial_multi_attack_5year");
            for word in ["180 Sybil", "450 Inflation", "720 Hoarding", "990 Degradation", "1260 Coordinated"] {
                assert_eq!(waves.matches(word).count(), 4, "{word} on every panel");
            }
            let attack = svg("attack_comparison");
            for word in ["final Gini", "final cluster prevalence", "final mean trust", "target 0.4"] {
                assert!(attack.contains(word), "attack_comparison lacks {word}");
            }
            assert!(svg("parameter_adjustments").contains("k_payment"));
            assert!(svg("parameter_sensitivity").contains("least squares"));
        }
    }
}

#[test]
fn bad_input_is_refused_clearly() {
    let o = run_bin(&["run", "models/full_study.toml", "--seeds", "3"]);
    let (_, err) = text(&o);
    assert!(!o.status.success() && err.contains("derives its seeds"), "{err}");
    for (set, word) in [
        ("arms=[\"on\"]", "arms"),
        ("policy_wiring=wired", "policy_wiring"),
        ("policy.phase_days=[1,1,2]", "phase_days"),
        ("full_study.scenarios=[\"nope\"]", "nope"),
        ("policy.bogus=1", "bogus"),
        ("trust.tau_transaction=1000", "tau_transaction"),
    ] {
        let o = run_bin(&["run", "models/full_study.toml", "--set", set, "--progress", "none"]);
        let (_, err) = text(&o);
        assert!(!o.status.success() && err.contains(word), "{set}: {err}");
        assert!(!err.contains("panicked"), "{set}: {err}");
    }
}

#[test]
fn step_shows_one_days_phases_and_an_identity() {
    let o = run_bin(&["step", "models/monetary_policy/fs/baseline.toml", "--until", "1", "--agent", "on3"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("Purchase") || out.contains("Solve"), "{out}");
    let o = run_bin(&["step", "models/monetary_policy/fs/baseline.toml", "--count", "200", "--kind", "Metrics,Policy"]);
    let (out, _) = text(&o);
    assert!(out.contains("Metrics"), "{out}");
}
