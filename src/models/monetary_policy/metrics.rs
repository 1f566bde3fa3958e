//! One seed's output (docs/models/monetary_policy.md, Metrics): the metric keys
//! `<prefix>.<scenario>.<arm>.<name>`, the paired differences, the
//! findings, `runs.csv`, `policy_events.csv` and the per-run CSV samples.

use super::config::{Fidelity, Script};
use super::model::{PolicyModel, Slot};
use super::scripts::expected_fraction;
use crate::policy::{DailyMetrics, Param};
use crate::report::results::{FindingDef, SeedOutput, Table};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The common final metrics of every arm, in report order.
pub const COMMON: [&str; 13] = [
    "final_gini",
    "final_mean_trust",
    "final_median_trust",
    "final_cluster_prevalence",
    "final_identities",
    "final_failure_rate",
    "final_hoarding_prevalence",
    "final_coin_supply",
    "total_transactions",
    "accusations_accepted",
    "accusations_rejected",
    "solver_iterations_max",
    "solver_nonconverged",
];

/// Days of the MP2 wave-attack checkpoints.
pub const WAVE_DAYS: [u32; 9] = [90, 160, 240, 310, 390, 460, 540, 610, 700];
/// Days of the MP2 recovery checkpoints.
pub const RECOVERY_DAYS: [u32; 3] = [170, 300, 500];

/// The common final metrics of a run.
pub fn common(s: &Slot) -> Vec<(&'static str, f64)> {
    let last = s.history.last().cloned().unwrap_or_default();
    let sum = |f: fn(&DailyMetrics) -> u32| s.history.iter().map(|m| f64::from(f(m))).sum::<f64>();
    let st = s.engine.stats();
    vec![
        ("final_gini", last.trust_gini),
        ("final_mean_trust", last.mean_trust),
        ("final_median_trust", last.median_trust),
        ("final_cluster_prevalence", last.cluster_prevalence),
        ("final_identities", f64::from(last.total_identities)),
        ("final_failure_rate", last.verification_failure_rate),
        ("final_hoarding_prevalence", last.hoarding_prevalence),
        ("final_coin_supply", last.total_coin_supply),
        ("total_transactions", sum(|m| m.daily_transactions)),
        ("accusations_accepted", sum(|m| m.accusations_accepted)),
        ("accusations_rejected", sum(|m| m.accusations_rejected)),
        ("solver_iterations_max", f64::from(st.max_iterations)),
        ("solver_nonconverged", st.nonconverged as f64),
    ]
}

/// The policy metrics of a run with the policy (None where undefined).
pub fn policy_metrics(s: &Slot) -> Vec<(String, Option<f64>)> {
    let log = &s.policy.log;
    let mut v = vec![("policy_events".to_string(), Some(log.len() as f64))];
    for p in Param::ALL {
        let n = log.iter().flat_map(|e| &e.changes).filter(|c| c.rule.param() == p).count();
        v.push((format!("changes.{}", p.name()), Some(n as f64)));
    }
    for p in Param::ALL {
        v.push((format!("final_{}", p.name()), Some(s.policy.params.get(p))));
    }
    v.push(("first_event_day".into(), log.first().map(|e| f64::from(e.day))));
    let floor = s.arm.policy.as_ref().map_or(0.01, |c| c.k_payment_min);
    let floor_day = log
        .iter()
        .find(|e| e.changes.iter().any(|c| c.rule.param() == Param::KPayment && c.new == floor))
        .map(|e| f64::from(e.day));
    v.push(("k_payment_floor_day".into(), floor_day));
    v
}

fn at_day(s: &Slot, d: u32, f: fn(&DailyMetrics) -> f64) -> Option<f64> {
    s.history.get(d as usize).map(f)
}

/// Study-specific extras of a run.
pub fn extras(s: &Slot) -> Vec<(String, Option<f64>)> {
    let mut v = Vec::new();
    match s.script {
        Script::AttackAndRecovery => {
            for d in RECOVERY_DAYS {
                v.push((format!("mean_trust_d{d}"), at_day(s, d, |m| m.mean_trust)));
            }
            for d in RECOVERY_DAYS {
                v.push((format!("gini_d{d}"), at_day(s, d, |m| m.trust_gini)));
            }
            let r = match (at_day(s, 500, |m| m.mean_trust), at_day(s, 170, |m| m.mean_trust)) {
                (Some(a), Some(b)) => Some(if b == 0.0 { 0.0 } else { a / b }),
                _ => None,
            };
            v.push(("recovery_ratio".into(), r));
        }
        Script::Mp2Wave => {
            for d in WAVE_DAYS {
                v.push((format!("gini_d{d}"), at_day(s, d, |m| m.trust_gini)));
                v.push((format!("cluster_prevalence_d{d}"), at_day(s, d, |m| m.cluster_prevalence)));
            }
        }
        Script::Sensitivity => {
            v.push(("total_burned".into(), Some(s.history.iter().map(|m| m.daily_burn_volume).sum())));
        }
        _ => {}
    }
    v
}

/// The finding ids and claims of a study (every scenario; a seed reports
/// those of its scenarios).
pub fn findings(prefix: &'static str) -> &'static [FindingDef] {
    static MP1: OnceLock<Vec<FindingDef>> = OnceLock::new();
    static MP2: OnceLock<Vec<FindingDef>> = OnceLock::new();
    static FS: OnceLock<Vec<FindingDef>> = OnceLock::new();
    let (cell, kind) = match prefix {
        "mp1" => (&MP1, super::config::StudyKind::Mp1),
        "mp2" => (&MP2, super::config::StudyKind::Mp2),
        _ => (&FS, super::config::StudyKind::Fs),
    };
    cell.get_or_init(|| {
        let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
        let mut v = Vec::new();
        for &s in kind.all() {
            let id = s.id();
            match s {
                Script::PolicyComparison => {
                    v.push(FindingDef {
                        id: leak(format!("{prefix}.{id}.configs_same_gini")),
                        claim: "the four arms end with bitwise-equal final Gini",
                    });
                    v.push(FindingDef {
                        id: leak(format!("{prefix}.{id}.cluster_is_attacker_fraction")),
                        claim: "final cluster prevalence equals the attacker fraction in every arm",
                    });
                }
                Script::Sensitivity => v.push(FindingDef {
                    id: leak(format!("{prefix}.{id}.gini_flat_in_k_payment")),
                    claim: "the five k_payment arms end with bitwise-equal final Gini",
                }),
                _ => {
                    v.push(FindingDef {
                        id: leak(format!("{prefix}.{id}.policy_lowers_gini")),
                        claim: "with the policy on, final Gini is lower than with it off on the same seed",
                    });
                    v.push(FindingDef {
                        id: leak(format!("{prefix}.{id}.policy_changes_trust")),
                        claim: "some trust-side daily value differs between policy on and off",
                    });
                    v.push(FindingDef {
                        id: leak(format!("{prefix}.{id}.cluster_is_attacker_fraction")),
                        claim: "final cluster prevalence equals the colluding attackers' share of identities, both arms",
                    });
                    v.push(FindingDef {
                        id: leak(format!("{prefix}.{id}.k_payment_at_floor")),
                        claim: "k_payment ends at its floor k_payment_min (policy on)",
                    });
                }
            }
        }
        v
    })
}

/// Columns of `runs.csv` after the run's identity and the common metrics.
const RUN_TAIL: [&str; 7] = [
    "policy_events",
    "final_k_payment",
    "final_k_transfer",
    "final_isolation_threshold",
    "final_tau_transaction",
    "trust_fingerprint",
    "wall_time_s",
];

/// `runs.csv` header.
pub fn runs_header() -> Vec<String> {
    let mut h: Vec<String> = ["scenario", "iteration", "sample", "seed", "arm"].iter().map(|s| s.to_string()).collect();
    h.extend(COMMON.iter().map(|s| s.to_string()));
    h.extend(RUN_TAIL.iter().map(|s| s.to_string()));
    h
}

/// `policy_events.csv` header.
pub const EVENTS_HEADER: [&str; 10] =
    ["scenario", "seed", "arm", "day", "phase", "parameter", "old", "new", "trigger_metric", "trigger_value"];

/// The per-run CSV sample of a run: every daily metric on days 0, k, 2k, … and
/// the last day, flattened row-major.
pub fn csv_sample(s: &Slot, every: u32) -> Vec<f64> {
    let n = s.history.len();
    let mut out = Vec::new();
    for (k, m) in s.history.iter().enumerate() {
        if k.is_multiple_of(every as usize) || k + 1 == n {
            out.extend(m.values());
        }
    }
    out
}

/// Series key of a run's CSV sample.
pub fn csv_key(s: Script, arm: &str) -> String {
    format!("csv.{}.{}", s.id(), arm)
}

/// One seed's output.
pub fn seed_output(model: &PolicyModel, seed: u64, wall: f64) -> SeedOutput {
    let p = &model.params;
    let prefix = p.study.prefix();
    let reference = p.fidelity == Fidelity::Reference;
    let mut out = SeedOutput { seed, ..Default::default() };
    let mut runs = Table { header: runs_header(), rows: Vec::new() };
    let mut events = Table { header: EVENTS_HEADER.iter().map(|s| s.to_string()).collect(), rows: Vec::new() };
    let (iteration, sample) = (seed / 1000, seed % 1000);
    let mut by_script: BTreeMap<Script, Vec<&Slot>> = BTreeMap::new();
    for s in &model.slots {
        by_script.entry(s.script).or_default().push(s);
    }
    for &script in &p.scripts {
        let slots = &by_script[&script];
        let id = script.id();
        let base = format!("{prefix}.{id}");
        let mut finals: Vec<Vec<(&'static str, f64)>> = Vec::new();
        for s in slots {
            let arm = &s.arm.name;
            let c = common(s);
            for (k, v) in &c {
                out.metrics.insert(format!("{base}.{arm}.{k}"), Some(*v));
            }
            let pm = if s.arm.policy.is_some() || script == Script::PolicyComparison {
                policy_metrics(s)
            } else {
                Vec::new()
            };
            for (k, v) in &pm {
                out.metrics.insert(format!("{base}.{arm}.{k}"), *v);
            }
            for (k, v) in extras(s) {
                out.metrics.insert(format!("{base}.{arm}.{k}"), v);
            }
            let get = |k: &str| pm.iter().find(|(n, _)| n == k).and_then(|(_, v)| *v);
            let mut row =
                vec![id.to_string(), iteration.to_string(), sample.to_string(), seed.to_string(), arm.clone()];
            row.extend(c.iter().map(|(_, v)| v.to_string()));
            for k in [
                "policy_events",
                "final_k_payment",
                "final_k_transfer",
                "final_isolation_threshold",
                "final_tau_transaction",
            ] {
                row.push(get(k).map(|v| v.to_string()).unwrap_or_default());
            }
            row.push(format!("{:016x}", s.trust_fp));
            row.push(format!("{wall:.4}"));
            runs.rows.push(row);
            for e in &s.policy.log {
                for ch in &e.changes {
                    events.rows.push(vec![
                        id.to_string(),
                        seed.to_string(),
                        arm.clone(),
                        e.day.to_string(),
                        e.phase.name().to_string(),
                        ch.rule.param().name().to_string(),
                        ch.old.to_string(),
                        ch.new.to_string(),
                        ch.rule.trigger_metric().to_string(),
                        ch.trigger_value.to_string(),
                    ]);
                }
            }
            out.series.insert(csv_key(script, arm), csv_sample(s, p.csv_every));
            finals.push(c);
        }
        let identical = slots.windows(2).all(|w| w[0].trust_fp == w[1].trust_fp);
        out.metrics.insert(format!("{base}.trust_series_identical"), Some(f64::from(u8::from(identical))));
        out.binary.insert(format!("{base}.trust_series_identical"));
        let gini = |k: usize| finals[k][0].1;
        let fraction = expected_fraction(prefix, script, reference);
        let frac_ok = |s: &Slot| fraction.map(|f| s.history.last().is_some_and(|m| m.cluster_prevalence == f));
        match script {
            Script::PolicyComparison => {
                let same = (1..slots.len()).all(|k| gini(k).to_bits() == gini(0).to_bits());
                out.findings.insert(format!("{base}.configs_same_gini"), Some(same));
                for (k, s) in slots.iter().enumerate().skip(1) {
                    for (j, (name, v)) in finals[k].iter().enumerate() {
                        out.metrics
                            .insert(format!("{base}.{}_minus_no_policy.{name}", s.arm.name), Some(v - finals[0][j].1));
                    }
                }
                if fraction.is_some() {
                    let ok = slots.iter().all(|s| frac_ok(s) == Some(true));
                    out.findings.insert(format!("{base}.cluster_is_attacker_fraction"), Some(ok));
                }
            }
            Script::Sensitivity => {
                let same = (1..slots.len()).all(|k| gini(k).to_bits() == gini(0).to_bits());
                out.findings.insert(format!("{base}.gini_flat_in_k_payment"), Some(same));
            }
            _ => {
                let (off, on) = (0, 1);
                for (j, (name, v)) in finals[on].iter().enumerate() {
                    out.metrics.insert(format!("{base}.diff.{name}"), Some(v - finals[off][j].1));
                }
                out.findings.insert(format!("{base}.policy_lowers_gini"), Some(gini(on) < gini(off)));
                out.findings.insert(format!("{base}.policy_changes_trust"), Some(!identical));
                if fraction.is_some() {
                    let ok = frac_ok(slots[off]) == Some(true) && frac_ok(slots[on]) == Some(true);
                    out.findings.insert(format!("{base}.cluster_is_attacker_fraction"), Some(ok));
                }
                let s = slots[on];
                let floor = s.arm.policy.as_ref().map_or(0.01, |c| c.k_payment_min);
                out.findings.insert(format!("{base}.k_payment_at_floor"), Some(s.policy.params.k_payment == floor));
            }
        }
    }
    out.tables.insert("runs.csv".into(), runs);
    out.tables.insert("policy_events.csv".into(), events);
    out.mark_non_negative(NON_NEGATIVE);
    out
}

/// Metrics that cannot be negative: every measurement of one arm
/// (`<study>.<scenario>.<arm>.<name>`: counts, shares, Gini, trust levels,
/// coin supply, parameters, days), but not the paired differences
/// (`diff`, `<config>_minus_no_policy`). Their intervals stop at zero.
pub const NON_NEGATIVE: &[&str] = &["*.*.*.*.**", "!*.*.diff.**", "!*.*.*_minus_no_policy.**"];
