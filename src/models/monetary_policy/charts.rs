//! Per-run CSVs and the charts of monetary_policy.md §12.4 (PNG and SVG in
//! `DIR/charts/`).

use super::config::{Params, Script, StudyKind};
use super::metrics::csv_key;
use super::report::{improvement_pct, values};
use crate::policy::DailyMetrics;
use crate::report::chart::{Bar, Corner, GridPanel, Guide, Line, Panel, grouped_bars, heatmap_labeled, line_grid};
use crate::report::results::{Results, SeedOutput, write_atomic};
use anyhow::Context;
use std::path::Path;

fn col(name: &str) -> usize {
    DailyMetrics::FIELDS.iter().position(|f| *f == name).expect("a metrics field")
}

/// Column `name` of a flattened CSV sample as (day, value) points.
fn points(sample: &[f64], name: &str) -> Vec<(f64, f64)> {
    let w = DailyMetrics::FIELDS.len();
    let (d, c) = (col("day"), col(name));
    sample.chunks(w).map(|r| (r[d], r[c])).collect()
}

/// `DIR/runs/<scenario>/<seed>_<arm>.csv` for every run.
pub fn write_run_csvs(outputs: &[SeedOutput], dir: &Path) -> anyhow::Result<()> {
    let w = DailyMetrics::FIELDS.len();
    for o in outputs {
        for (key, sample) in &o.series {
            let Some(rest) = key.strip_prefix("csv.") else { continue };
            let Some((scenario, arm)) = rest.split_once('.') else { continue };
            let mut text = DailyMetrics::FIELDS.join(",");
            text.push('\n');
            for row in sample.chunks(w) {
                let cells: Vec<String> = row.iter().map(|v| v.to_string()).collect();
                text.push_str(&cells.join(","));
                text.push('\n');
            }
            let path = dir.join("runs").join(scenario).join(format!("{}_{arm}.csv", o.seed));
            write_atomic(&path, text.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
        }
    }
    Ok(())
}

fn line(name: &str, pts: Vec<(f64, f64)>) -> Line {
    Line { name: name.into(), points: pts, band: None, thin: false }
}

fn panel(title: &str, y: &str, lines: Vec<Line>, guides: Vec<Guide>) -> GridPanel {
    GridPanel {
        panel: Panel { title: title.into(), x_label: "day".into(), y_label: y.into(), lines },
        guides,
        legend: Corner::UpperLeft,
    }
}

fn target() -> Vec<Guide> {
    vec![Guide { name: "target 0.4".into(), y: 0.4 }]
}

/// A 2×2 grid of the first seed's daily series for the given arms.
fn evolution(
    dir: &Path,
    stem: &str,
    title: &str,
    first: &SeedOutput,
    s: Script,
    arms: &[&str],
    fields: [(&str, &str); 4],
) -> anyhow::Result<()> {
    let mut panels = Vec::new();
    for (field, label) in fields {
        let lines: Vec<Line> = arms
            .iter()
            .filter_map(|a| first.series.get(&csv_key(s, a)).map(|x| line(&format!("policy {a}"), points(x, field))))
            .collect();
        let guides = if field == "trust_gini" { target() } else { Vec::new() };
        panels.push(panel(label, field, lines, guides));
    }
    line_grid(dir, stem, title, 2, &panels)
}

fn bar(r: &Results, key: &str, label: &str) -> Bar {
    Bar::of_metric(&r.metrics, key, label)
}

/// Every chart of the study.
pub fn all(p: &Params, r: &Results, outputs: &[SeedOutput], dir: &Path) -> anyhow::Result<()> {
    write_run_csvs(outputs, dir)?;
    let cd = dir.join("charts");
    let prefix = p.study.prefix();
    let two_arm: Vec<Script> =
        p.scripts.iter().copied().filter(|s| !matches!(s, Script::PolicyComparison | Script::Sensitivity)).collect();
    let ids: Vec<String> = two_arm.iter().map(|s| s.id().to_string()).collect();
    // Paired differences of final Gini (mean with CI; exactly 0 in reference fidelity).
    if !two_arm.is_empty() {
        let bars: Vec<Bar> =
            two_arm.iter().map(|s| bar(r, &format!("{prefix}.{}.diff.final_gini", s.id()), s.id())).collect();
        grouped_bars(
            &cd,
            "paired_diff",
            &format!("{}: final Gini, policy on − off on the same seed (mean, 95% CI)", p.study.id()),
            "on − off",
            &ids,
            &[("on − off".into(), bars)],
        )?;
    }
    let first = outputs.first();
    match p.study {
        StudyKind::Mp1 => {
            let fields = [
                ("mean_trust", "mean trust"),
                ("trust_gini", "Gini"),
                ("cluster_prevalence", "cluster prevalence"),
                ("daily_transactions", "daily transactions"),
            ];
            if let Some(f) = first {
                for &s in &two_arm {
                    let stem = match s {
                        Script::ExtendedBaseline => "extended_baseline_5year".to_string(),
                        Script::AdversarialMulti => "adversarial_multi_attack_5year".to_string(),
                        _ => format!("trust_evolution_{}", s.id()),
                    };
                    let fields = if s == Script::ExtendedBaseline {
                        [fields[0], fields[1], ("total_identities", "total identities"), fields[3]]
                    } else if s == Script::AdversarialMulti {
                        [fields[0], fields[2], fields[1], ("total_identities", "total identities")]
                    } else {
                        fields
                    };
                    let title = format!("{}: first seed ({}), policy off and on", s.id(), f.seed);
                    evolution(&cd, &stem, &title, f, s, &["off", "on"], fields)?;
                }
            }
            let series = |arm: &str| -> Vec<Bar> {
                two_arm.iter().map(|s| bar(r, &format!("mp1.{}.{arm}.final_gini", s.id()), s.id())).collect()
            };
            grouped_bars(
                &cd,
                "attack_comparison",
                "monetary_policy: final Gini per experiment (mean, 95% CI)",
                "final Gini",
                &ids,
                &[("policy off".into(), series("off")), ("policy on".into(), series("on"))],
            )?;
            let cols = ["final_gini", "final_cluster_prevalence", "final_failure_rate", "final_hoarding_prevalence"];
            let mut vals = Vec::new();
            let mut labels = Vec::new();
            for s in &two_arm {
                let mut vr = Vec::new();
                let mut lr = Vec::new();
                for c in cols {
                    let off = values(&r.metrics, &format!("mp1.{}.off.{c}", s.id()));
                    let on = values(&r.metrics, &format!("mp1.{}.on.{c}", s.id()));
                    let x = improvement_pct(&off, &on);
                    vr.push(Some(x));
                    lr.push(format!("{x:.1}"));
                }
                vals.push(vr);
                labels.push(lr);
            }
            let xl: Vec<String> =
                ["Gini", "Cluster Prev.", "Failure Rate", "Hoarding"].iter().map(|s| s.to_string()).collect();
            heatmap_labeled(
                &cd,
                "policy_effectiveness_heatmap",
                "monetary_policy: 100·(off − on)/off of the mean final value",
                &xl,
                &ids,
                &vals,
                &labels,
                "improvement %",
            )?;
        }
        StudyKind::Mp2 => {
            if p.scripts.contains(&Script::PolicyComparison) {
                let arms = p.arms_of(Script::PolicyComparison);
                let cats: Vec<String> = arms.iter().map(|a| a.name.clone()).collect();
                let g: Vec<Bar> = arms
                    .iter()
                    .map(|a| bar(r, &format!("mp2.policy_comparison.{}.final_gini", a.name), &a.name))
                    .collect();
                let e: Vec<Bar> = arms
                    .iter()
                    .map(|a| bar(r, &format!("mp2.policy_comparison.{}.policy_events", a.name), &a.name))
                    .collect();
                grouped_bars(
                    &cd,
                    "policy_comparison",
                    "policy_comparison: final Gini",
                    "final Gini",
                    &cats,
                    &[(String::new(), g)],
                )?;
                grouped_bars(
                    &cd,
                    "policy_comparison_events",
                    "policy_comparison: number of policy events",
                    "events",
                    &cats,
                    &[(String::new(), e)],
                )?;
            }
            if p.scripts.contains(&Script::Sensitivity) {
                let pts = |name: &str| -> Vec<(f64, f64)> {
                    p.sensitivity_k
                        .iter()
                        .map(|&k| {
                            let key = format!("mp2.sensitivity.{}.{name}", super::config::kp_name(k));
                            (k, r.metrics.get(&key).and_then(|m| m.mean).unwrap_or(f64::NAN))
                        })
                        .collect()
                };
                let panels = vec![
                    GridPanel {
                        panel: Panel {
                            title: "final Gini".into(),
                            x_label: "k_payment".into(),
                            y_label: "final Gini".into(),
                            lines: vec![line("final Gini", pts("final_gini"))],
                        },
                        guides: Vec::new(),
                        legend: Corner::UpperRight,
                    },
                    GridPanel {
                        panel: Panel {
                            title: "final mean trust".into(),
                            x_label: "k_payment".into(),
                            y_label: "mean trust".into(),
                            lines: vec![line("final mean trust", pts("final_mean_trust"))],
                        },
                        guides: Vec::new(),
                        legend: Corner::UpperRight,
                    },
                ];
                line_grid(&cd, "sensitivity_analysis", "sensitivity: fixed k_payment, policy off", 2, &panels)?;
            }
            if p.scripts.contains(&Script::AttackAndRecovery) {
                let cats: Vec<String> =
                    ["day 170", "day 300", "day 500", "final"].iter().map(|s| s.to_string()).collect();
                let keys = ["mean_trust_d170", "mean_trust_d300", "mean_trust_d500", "final_mean_trust"];
                let series = |arm: &str| -> Vec<Bar> {
                    keys.iter()
                        .zip(&cats)
                        .map(|(k, c)| bar(r, &format!("mp2.attack_and_recovery.{arm}.{k}"), c))
                        .collect()
                };
                grouped_bars(
                    &cd,
                    "recovery_analysis",
                    "attack_and_recovery: mean trust before, during and after the attack",
                    "mean trust",
                    &cats,
                    &[("policy off".into(), series("off")), ("policy on".into(), series("on"))],
                )?;
            }
        }
        StudyKind::Fs => {
            let mut sorted = ids.clone();
            sorted.sort();
            let series = |arm: &str| -> Vec<Bar> {
                sorted.iter().map(|s| bar(r, &format!("fs.{s}.{arm}.final_gini"), s)).collect()
            };
            grouped_bars(
                &cd,
                "gini_boxplot",
                "full_study: final Gini per scenario over all seeds (mean, 95% CI)",
                "final Gini",
                &sorted,
                &[("policy off".into(), series("off")), ("policy on".into(), series("on"))],
            )?;
            if let Some(per) = r.extra.get("per_iteration") {
                let mut vals = Vec::new();
                let mut labels = Vec::new();
                for k in 0..p.iterations as usize {
                    let row: Vec<Option<f64>> =
                        sorted.iter().map(|s| per[s.as_str()][k]["improvement_pct"].as_f64()).collect();
                    labels.push(row.iter().map(|v| v.map_or("n/a".into(), |x| format!("{x:.1}"))).collect());
                    vals.push(row);
                }
                let yl: Vec<String> = (1..=p.iterations).map(|k| format!("Iter {k}")).collect();
                heatmap_labeled(
                    &cd,
                    "improvement_heatmap",
                    "full_study: improvement_pct of final Gini per iteration",
                    &sorted,
                    &yl,
                    &vals,
                    &labels,
                    "improvement %",
                )?;
            }
        }
    }
    Ok(())
}
