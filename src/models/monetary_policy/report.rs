//! The printed summary of the three studies, the FS aggregation
//! (`improvement_pct`, `effect_size`, `per_iteration`) and the charts of
//! docs/models/monetary_policy.md (Metrics).

use super::charts;
use super::config::{Params, Script, StudyKind};
use super::metrics::COMMON;
use crate::report::markdown::{MdTable, auto_decimals, findings_table, fmt_ci};
use crate::report::results::{MetricResult, Results, SeedOutput};
use crate::report::stats::{mean, sample_sd};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

/// Metrics printed per experiment.
const SHOWN: [&str; 6] = [
    "final_gini",
    "final_mean_trust",
    "final_cluster_prevalence",
    "final_failure_rate",
    "final_coin_supply",
    "total_transactions",
];

/// Trust-side final metrics (those that must not move in reference fidelity).
pub const TRUST_SIDE: [&str; 10] = [
    "final_gini",
    "final_mean_trust",
    "final_median_trust",
    "final_cluster_prevalence",
    "final_identities",
    "final_failure_rate",
    "total_transactions",
    "accusations_accepted",
    "accusations_rejected",
    "solver_iterations_max",
];

fn cell(m: &BTreeMap<String, MetricResult>, key: &str) -> String {
    match m.get(key) {
        Some(r) => {
            let d = r.mean.map_or(3, |x| auto_decimals(x).max(3));
            fmt_ci(r, d)
        }
        None => "–".into(),
    }
}

/// Per-seed finite values of a metric.
pub fn values(m: &BTreeMap<String, MetricResult>, key: &str) -> Vec<f64> {
    m.get(key).map(|r| r.values.iter().flatten().copied().filter(|x| x.is_finite()).collect()).unwrap_or_default()
}

/// improvement_pct = 100·(mean_off − mean_on)/mean_off (0 if mean_off ≤ 0).
pub fn improvement_pct(off: &[f64], on: &[f64]) -> f64 {
    let (a, b) = (mean(off).unwrap_or(0.0), mean(on).unwrap_or(0.0));
    if a <= 0.0 { 0.0 } else { 100.0 * (a - b) / a }
}

/// effect_size = (mean_off − mean_on)/√((s²_off + s²_on)/2) (0 if that is 0).
pub fn effect_size(off: &[f64], on: &[f64]) -> f64 {
    let (a, b) = (mean(off).unwrap_or(0.0), mean(on).unwrap_or(0.0));
    let (sa, sb) = (sample_sd(off).unwrap_or(0.0), sample_sd(on).unwrap_or(0.0));
    let den = ((sa * sa + sb * sb) / 2.0).sqrt();
    if den == 0.0 { 0.0 } else { (a - b) / den }
}

fn study_level(x: f64) -> MetricResult {
    MetricResult { mean: Some(x), ci95: Some([x, x]), n: 1, values: vec![Some(x)] }
}

/// FS: `improvement_pct` and `effect_size` of final Gini per scenario.
pub fn study_metrics(p: &Params, r: &Results) -> BTreeMap<String, MetricResult> {
    let mut m = BTreeMap::new();
    if p.study != StudyKind::Fs {
        return m;
    }
    for s in &p.scripts {
        let base = format!("fs.{}", s.id());
        let off = values(&r.metrics, &format!("{base}.off.final_gini"));
        let on = values(&r.metrics, &format!("{base}.on.final_gini"));
        m.insert(format!("{base}.improvement_pct"), study_level(improvement_pct(&off, &on)));
        m.insert(format!("{base}.effect_size"), study_level(effect_size(&off, &on)));
    }
    m
}

/// `per_iteration` (FS), `aggregation` (FS) and `policy_log` blocks.
pub fn extra(p: &Params, r: &Results, outputs: &[SeedOutput]) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    let prefix = p.study.prefix();
    if p.study == StudyKind::Fs {
        let mut per = serde_json::Map::new();
        let mut agg = serde_json::Map::new();
        for s in &p.scripts {
            let base = format!("fs.{}", s.id());
            let (off, on) =
                (per_seed(r, &format!("{base}.off.final_gini")), per_seed(r, &format!("{base}.on.final_gini")));
            let mut rows = Vec::new();
            for k in 0..p.iterations {
                let pick = |v: &[(u64, f64)]| -> Vec<f64> {
                    v.iter().filter(|(seed, _)| seed / 1000 == u64::from(k)).map(|x| x.1).collect()
                };
                let (a, b) = (pick(&off), pick(&on));
                rows.push(json!({
                    "iteration": k,
                    "mean_off": mean(&a),
                    "mean_on": mean(&b),
                    "improvement_pct": improvement_pct(&a, &b),
                }));
            }
            per.insert(s.id().into(), Value::Array(rows));
            for arm in ["off", "on", "diff"] {
                for name in COMMON {
                    let key = format!("{base}.{arm}.{name}");
                    let v = values(&r.metrics, &key);
                    if v.is_empty() {
                        continue;
                    }
                    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
                    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    agg.insert(key, json!({ "sd": sample_sd(&v), "min": min, "max": max }));
                }
            }
        }
        m.insert("per_iteration".into(), Value::Object(per));
        m.insert("aggregation".into(), Value::Object(agg));
    }
    // The policy log of the first seed of each scenario.
    let mut log = serde_json::Map::new();
    if let Some(first) = outputs.first()
        && let Some(t) = first.tables.get("policy_events.csv")
    {
        for s in &p.scripts {
            let rows: Vec<Value> = t
                .rows
                .iter()
                .filter(|row| row[0] == s.id())
                .map(|row| {
                    let num = |x: &str| x.parse::<f64>().map_or(Value::Null, |v| json!(v));
                    json!({
                        "arm": row[2], "day": num(&row[3]), "phase": row[4], "parameter": row[5],
                        "old": num(&row[6]), "new": num(&row[7]), "trigger_metric": row[8], "trigger_value": num(&row[9]),
                    })
                })
                .collect();
            log.insert(format!("{prefix}.{}", s.id()), json!({ "seed": first.seed, "events": rows }));
        }
    }
    m.insert("policy_log".into(), Value::Object(log));
    m
}

fn per_seed(r: &Results, key: &str) -> Vec<(u64, f64)> {
    match r.metrics.get(key) {
        Some(m) => r.seeds.iter().zip(&m.values).filter_map(|(&s, v)| v.map(|x| (s, x))).collect(),
        None => Vec::new(),
    }
}

/// The paired-difference sentence for an experiment: its CI, and plainly
/// whether on and off were identical on every seed.
fn paired_sentence(m: &BTreeMap<String, MetricResult>, base: &str, first: &str, second: &str, diff: &str) -> String {
    let identical = m.get(&format!("{base}.trust_series_identical"));
    let all_same = identical.and_then(|r| r.mean) == Some(1.0);
    let n = identical.map_or(0, |r| r.n);
    let d = values(m, &format!("{base}.{diff}.final_gini"));
    let zero = !d.is_empty() && d.iter().all(|&x| x == 0.0);
    let mut s = format!("Paired final Gini {second} − {first}: {}.", cell(m, &format!("{base}.{diff}.final_gini")));
    if zero && all_same {
        s.push_str(&format!(
            " **{second} and {first} are identical on every seed** ({n} of {n}): every trust-side daily value, and so \
             every paired difference of a trust-side metric, is exactly 0 (CI [0, 0])."
        ));
    } else if zero {
        s.push_str(" The final Gini is equal on every seed, though some trust-side daily value differs.");
    } else {
        let share = identical.and_then(|r| r.mean).unwrap_or(0.0);
        s.push_str(&format!(" Trust series identical in {:.0}% of seeds.", 100.0 * share));
    }
    s
}

/// The Markdown summary; charts are written to `dir/charts/`.
pub fn report(p: &Params, r: &Results, outputs: &[SeedOutput], dir: &Path) -> anyhow::Result<String> {
    let m = &r.metrics;
    let prefix = p.study.prefix();
    let mut md = String::new();
    md.push_str(&format!(
        "\nSettings: policy_wiring = {}, trust_stats_over = {}, phase_rules = {}, phantom_events = {}; {} days \
         (long runs {}), CSV every {} days.\n",
        r.settings["policy_wiring"],
        r.settings["trust_stats_over"],
        r.settings["phase_rules"],
        r.settings["phantom_events"],
        p.days,
        p.long_days,
        p.csv_every
    ));
    for &s in &p.scripts {
        let base = format!("{prefix}.{}", s.id());
        md.push_str(&format!("\n## {} ({} days)\n\n", s.id(), p.days_of(s)));
        match s {
            Script::PolicyComparison | Script::Sensitivity => {
                let arms = p.arms_of(s);
                let cols: Vec<&str> = if s == Script::Sensitivity {
                    vec![
                        "final_gini",
                        "final_mean_trust",
                        "final_cluster_prevalence",
                        "final_coin_supply",
                        "total_burned",
                    ]
                } else {
                    vec!["final_gini", "final_mean_trust", "policy_events", "final_k_payment", "final_k_transfer"]
                };
                let mut header = vec!["arm".to_string()];
                header.extend(cols.iter().map(|c| c.to_string()));
                let mut t = MdTable::new(header);
                for a in &arms {
                    let mut row = vec![a.name.clone()];
                    row.extend(cols.iter().map(|c| cell(m, &format!("{base}.{}.{c}", a.name))));
                    t.row(row);
                }
                md.push_str(&t.render());
                if s == Script::PolicyComparison {
                    for a in arms.iter().skip(1) {
                        md.push('\n');
                        md.push_str(&format!(
                            "- {} − no_policy, final Gini: {}\n",
                            a.name,
                            cell(m, &format!("{base}.{}_minus_no_policy.final_gini", a.name))
                        ));
                    }
                }
                let same = m.get(&format!("{base}.trust_series_identical")).and_then(|x| x.mean);
                md.push_str(&format!(
                    "\nAll {} arms have identical trust series on {:.0}% of seeds.\n",
                    arms.len(),
                    100.0 * same.unwrap_or(0.0)
                ));
            }
            _ => {
                let mut t = MdTable::new(["metric", "off", "on", "on − off (paired)"]);
                for k in SHOWN {
                    t.row([
                        k.to_string(),
                        cell(m, &format!("{base}.off.{k}")),
                        cell(m, &format!("{base}.on.{k}")),
                        cell(m, &format!("{base}.diff.{k}")),
                    ]);
                }
                for k in [
                    "policy_events",
                    "final_k_payment",
                    "final_k_transfer",
                    "final_isolation_threshold",
                    "final_tau_transaction",
                ] {
                    t.row([k.to_string(), "–".into(), cell(m, &format!("{base}.on.{k}")), "–".into()]);
                }
                md.push_str(&t.render());
                md.push('\n');
                md.push_str(&paired_sentence(m, &base, "off", "on", "diff"));
                let off = values(m, &format!("{base}.off.final_gini"));
                let on = values(m, &format!("{base}.on.final_gini"));
                md.push_str(&format!(
                    " The reference's headline measure, improvement_pct = 100·(mean off − mean on)/mean off of final \
                     Gini: {:.2}% (effect size {:.3}).\n",
                    improvement_pct(&off, &on),
                    effect_size(&off, &on)
                ));
            }
        }
    }
    charts::all(p, r, outputs, dir)?;
    md.push_str("\n## Findings\n\n");
    md.push_str(&findings_table(&r.findings));
    md.push_str(&format!(
        "\nCharts (PNG and SVG) in `{}/charts/`; per-run CSVs in `{}/runs/`.\n",
        dir.display(),
        dir.display()
    ));
    Ok(md)
}
