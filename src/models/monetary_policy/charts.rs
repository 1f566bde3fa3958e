//! Per-run CSVs and the charts listed in docs/models/monetary_policy.md
//! (Metrics), as PNG and SVG in `DIR/charts/`.

use super::config::{Params, Script, StudyKind};
use super::metrics::csv_key;
use super::report::{improvement_pct, values};
use super::scripts::WAVES;
use crate::policy::DailyMetrics;
use crate::report::chart::{
    BLUE, Bar, BarGrid, BarPanel, BarSeries, BoxChart, BoxSeries, Chart, Corner, DARK, GREEN, GREY, Guide, HeatMap,
    HeatScale, PlotGrid, PlotPanel, RED, RGBColor, Rule, Series, Stroke, ci_over, fmt_num, palette,
};
use crate::report::results::{MetricResult, Results, SeedOutput, write_atomic};
use crate::report::stats::Support;
use crate::report::stats::least_squares;
use anyhow::Context;
use std::collections::BTreeMap;
use std::path::Path;

/// Policy off is drawn red, on blue.
const OFF: RGBColor = RED;
const ON: RGBColor = BLUE;
/// Colour of the phase rules and of the attack-wave rules.
const PHASE: RGBColor = DARK;
const WAVE: RGBColor = RGBColor(204, 85, 0);

fn col(name: &str) -> usize {
    DailyMetrics::FIELDS.iter().position(|f| *f == name).expect("a metrics field")
}

/// Column `name` of a flattened CSV sample as (day, value) points.
fn points(sample: &[f64], name: &str) -> Vec<(f64, f64)> {
    let w = DailyMetrics::FIELDS.len();
    let (d, c) = (col("day"), col(name));
    sample.chunks_exact(w).map(|r| (r[d], r[c])).collect()
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

fn guide(name: &str, y: f64) -> Guide {
    Guide { name: name.into(), y }
}

fn target(p: &Params) -> Vec<Guide> {
    let t = p.policy.target_gini;
    vec![guide(&format!("target {t}"), t)]
}

/// Rules at the starts of OBSERVATION, LIMITED_AUTO and FULL_AUTO and, for
/// `adversarial_multi_attack`, at the attack waves; in day order.
fn rules(p: &Params, s: Script) -> Vec<Rule> {
    let names = ["OBSERVATION", "LIMITED_AUTO", "FULL_AUTO"];
    let mut rules: Vec<Rule> = p
        .policy
        .phase_days
        .iter()
        .zip(names)
        .map(|(&d, name)| Rule { x: f64::from(d), label: name.into(), color: PHASE })
        .collect();
    if s == Script::AdversarialMulti {
        let waves =
            WAVES.iter().map(|&(d, _, _, label)| Rule { x: f64::from(d), label: format!("{d} {label}"), color: WAVE });
        rules.extend(waves);
    }
    rules.sort_by(|a, b| a.x.total_cmp(&b.x));
    rules
}

/// Per sampled day, the values of `field` over the seeds (in output order)
/// of arm `arm` of experiment `s`.
fn over_seeds(outputs: &[SeedOutput], s: Script, arm: &str, field: &str) -> Vec<(f64, Vec<f64>)> {
    let mut by_day: BTreeMap<i64, (f64, Vec<f64>)> = BTreeMap::new();
    for o in outputs {
        let Some(sample) = o.series.get(&csv_key(s, arm)) else { continue };
        for (day, v) in points(sample, field) {
            if day.is_finite() {
                by_day.entry(day as i64).or_insert_with(|| (day, Vec::new())).1.push(v);
            }
        }
    }
    by_day.into_values().collect()
}

fn arm_color(arm: &str) -> RGBColor {
    if arm == "off" { OFF } else { ON }
}

/// A 2×2 grid of daily series: per arm the mean over seeds with its 95 % CI
/// band and the first seed as a thin line; the target on the Gini panel;
/// phase (and wave) rules on every panel.
fn evolution(
    dir: &Path,
    stem: &str,
    p: &Params,
    outputs: &[SeedOutput],
    s: Script,
    fields: [(&str, &str); 4],
) -> anyhow::Result<()> {
    let Some(first) = outputs.first() else { return Ok(()) };
    let mut panels = Vec::new();
    for (field, label) in fields {
        let mut series = Vec::new();
        for arm in ["off", "on"] {
            let samples = over_seeds(outputs, s, arm, field);
            if samples.is_empty() {
                continue;
            }
            // Every charted field (trust, Gini, prevalence, counts) cannot be negative.
            series.push(Series::mean_ci_with(&format!("policy {arm}"), arm_color(arm), &samples, Support::NonNegative));
            if let Some(sample) = first.series.get(&csv_key(s, arm)) {
                series.push(Series::new("", arm_color(arm), Stroke::Thin, points(sample, field)));
            }
        }
        panels.push(PlotPanel {
            title: label.into(),
            x_label: "day".into(),
            y_label: field.into(),
            series,
            guides: if field == "trust_gini" { target(p) } else { Vec::new() },
            rules: rules(p, s),
            legend: Corner::LowerRight,
        });
    }
    let title =
        format!("{}: mean and {} (thin: seed {}), policy off red, on blue", s.id(), ci_over(outputs.len()), first.seed);
    PlotGrid { title, cols: 2, panels }.write(dir, stem).map(|_| ())
}

fn bar(r: &Results, key: &str, label: &str) -> Bar {
    Bar::of_metric(&r.metrics, key, label)
}

/// Off (red) and on (blue) bars of `<prefix>.<category>.<arm>.<name>`.
fn off_on(r: &Results, prefix: &str, cats: &[String], name: &str) -> Vec<BarSeries> {
    ["off", "on"]
        .iter()
        .map(|arm| BarSeries {
            name: format!("policy {arm}"),
            colors: vec![arm_color(arm)],
            bars: cats.iter().map(|c| bar(r, &format!("{prefix}.{c}.{arm}.{name}"), c)).collect(),
        })
        .collect()
}

fn bar_panel(
    title: &str,
    y_label: &str,
    categories: &[String],
    series: Vec<BarSeries>,
    guides: Vec<Guide>,
) -> BarPanel {
    BarPanel {
        title: title.into(),
        y_label: y_label.into(),
        categories: categories.to_vec(),
        series,
        guides,
        note: String::new(),
    }
}

/// The parameters the policy adjusts, in chart order.
const PARAMETERS: [&str; 4] = ["k_payment", "k_transfer", "isolation_threshold", "tau_transaction"];

/// `parameter_adjustments`: per parameter changed in the first seed's on arm
/// of any experiment, the new value at each event day, one series per experiment.
fn parameter_adjustments(dir: &Path, first: &SeedOutput, scripts: &[Script]) -> anyhow::Result<()> {
    let Some(t) = first.tables.get("policy_events.csv") else { return Ok(()) };
    let at = |name: &str| t.header.iter().position(|h| h == name);
    let (Some(sc), Some(arm), Some(day), Some(par), Some(old), Some(new)) =
        (at("scenario"), at("arm"), at("day"), at("parameter"), at("old"), at("new"))
    else {
        return Ok(());
    };
    let num = |row: &[String], i: usize| row.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(f64::NAN);
    let cell = |row: &[String], i: usize| row.get(i).map_or("", |x| x.as_str()).to_string();
    let on: Vec<&Vec<String>> = t.rows.iter().filter(|row| cell(row, arm) == "on").collect();
    let mut panels = Vec::new();
    for param in PARAMETERS {
        let rows: Vec<&&Vec<String>> = on.iter().filter(|row| cell(row, par) == param).collect();
        if !rows.iter().any(|row| num(row, new) != num(row, old)) {
            continue;
        }
        let series = scripts
            .iter()
            .enumerate()
            .filter_map(|(k, s)| {
                let pts: Vec<(f64, f64)> = rows
                    .iter()
                    .filter(|row| cell(row, sc) == s.id())
                    .map(|row| (num(row, day), num(row, new)))
                    .collect();
                (!pts.is_empty()).then(|| Series::new(s.id(), palette(k), Stroke::PointsOnLine, pts))
            })
            .collect();
        panels.push(PlotPanel {
            title: param.into(),
            x_label: "event day".into(),
            y_label: format!("new {param}"),
            series,
            guides: Vec::new(),
            rules: Vec::new(),
            legend: Corner::UpperRight,
        });
    }
    let title = if panels.is_empty() {
        format!("No parameter changed in the on arm of seed {}", first.seed)
    } else {
        format!("Parameter adjustments, on arm of seed {} (one series per experiment)", first.seed)
    };
    PlotGrid { title, cols: 1, panels }.write(dir, "parameter_adjustments").map(|_| ())
}

/// Per-seed (x, y) pairs of two metrics, where both are finite.
fn paired_values(m: &BTreeMap<String, MetricResult>, x: &str, y: &str) -> Vec<(f64, f64)> {
    let (Some(a), Some(b)) = (m.get(x), m.get(y)) else { return Vec::new() };
    a.values
        .iter()
        .zip(&b.values)
        .filter_map(|(u, v)| Some((u.filter(|u| u.is_finite())?, v.filter(|v| v.is_finite())?)))
        .collect()
}

/// `parameter_sensitivity`: final k_payment against final Gini over every
/// on-arm run, with the least-squares line when k_payment varies.
fn parameter_sensitivity(dir: &Path, r: &Results, scripts: &[Script]) -> anyhow::Result<()> {
    let pts: Vec<(f64, f64)> = scripts
        .iter()
        .flat_map(|s| {
            let base = format!("mp1.{}.on", s.id());
            paired_values(&r.metrics, &format!("{base}.final_k_payment"), &format!("{base}.final_gini"))
        })
        .collect();
    let (xs, ys): (Vec<f64>, Vec<f64>) = pts.iter().copied().unzip();
    let mut series = vec![Series::new(&format!("on-arm runs ({})", pts.len()), ON, Stroke::Points, pts)];
    let mut title = "Final k_payment against final Gini, every on-arm run".to_string();
    match least_squares(&xs, &ys) {
        Some((a, b)) => {
            let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let line = vec![(lo, a + b * lo), (hi, a + b * hi)];
            let sign = if b < 0.0 { '−' } else { '+' };
            let name = format!("least squares: Gini = {a:.4} {sign} {:.4}·k_payment", b.abs());
            series.push(Series::new(&name, DARK, Stroke::Dashed, line));
        }
        None => title.push_str(" (no least-squares line: k_payment does not vary)"),
    }
    let panel = PlotPanel {
        title: String::new(),
        x_label: "final k_payment".into(),
        y_label: "final Gini".into(),
        series,
        guides: Vec::new(),
        rules: Vec::new(),
        legend: Corner::UpperRight,
    };
    PlotGrid { title, cols: 1, panels: vec![panel] }.write(dir, "parameter_sensitivity").map(|_| ())
}

/// Every chart of the study.
pub fn all(p: &Params, r: &Results, outputs: &[SeedOutput], dir: &Path) -> anyhow::Result<()> {
    write_run_csvs(outputs, dir)?;
    let cd = dir.join("charts");
    let prefix = p.study.prefix();
    let two_arm: Vec<Script> =
        p.scripts.iter().copied().filter(|s| !matches!(s, Script::PolicyComparison | Script::Sensitivity)).collect();
    let ids: Vec<String> = two_arm.iter().map(|s| s.id().to_string()).collect();
    // Paired differences of final Gini: exactly 0 on every seed in reference fidelity.
    if !two_arm.is_empty() {
        let diffs = BoxSeries {
            name: "on − off, one point per seed".into(),
            color: DARK,
            values: ids.iter().map(|s| values(&r.metrics, &format!("{prefix}.{s}.diff.final_gini"))).collect(),
        };
        BoxChart {
            title: format!("{}: final Gini, policy on − off on the same seed", p.study.id()),
            y_label: "on − off".into(),
            categories: ids.clone(),
            series: vec![diffs],
            guides: vec![guide("no difference", 0.0)],
        }
        .write(&cd, "paired_diff")?;
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
            for &s in &two_arm {
                let (stem, fields) = match s {
                    Script::ExtendedBaseline => (
                        "extended_baseline_5year".to_string(),
                        [fields[0], fields[1], ("total_identities", "total identities"), fields[3]],
                    ),
                    Script::AdversarialMulti => (
                        "adversarial_multi_attack_5year".to_string(),
                        [fields[0], fields[2], fields[1], ("total_identities", "total identities")],
                    ),
                    _ => (format!("trust_evolution_{}", s.id()), fields),
                };
                evolution(&cd, &stem, p, outputs, s, fields)?;
            }
            if let Some(f) = first {
                parameter_adjustments(&cd, f, &two_arm)?;
            }
            parameter_sensitivity(&cd, r, &two_arm)?;
            let panels = [
                bar_panel("final Gini", "final Gini", &ids, off_on(r, "mp1", &ids, "final_gini"), target(p)),
                bar_panel(
                    "final cluster prevalence",
                    "cluster prevalence",
                    &ids,
                    off_on(r, "mp1", &ids, "final_cluster_prevalence"),
                    Vec::new(),
                ),
                bar_panel(
                    "final mean trust",
                    "mean trust",
                    &ids,
                    off_on(r, "mp1", &ids, "final_mean_trust"),
                    Vec::new(),
                ),
            ];
            BarGrid {
                title: format!("monetary_policy: per experiment, mean and {}", ci_over(r.seeds.len())),
                cols: 3,
                panels: panels.to_vec(),
            }
            .write(&cd, "attack_comparison")?;
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
                    lr.push(fmt_num(x, 1));
                }
                vals.push(vr);
                labels.push(lr);
            }
            let xl: Vec<String> =
                ["Gini", "Cluster Prev.", "Failure Rate", "Hoarding"].iter().map(|s| s.to_string()).collect();
            HeatMap {
                title: "monetary_policy: 100·(off − on)/off of the mean final value".into(),
                x_labels: xl,
                y_labels: ids.clone(),
                values: vals,
                labels,
                value_label: "improvement %".into(),
                scale: HeatScale::RdYlGn(50.0),
                ..Default::default()
            }
            .write(&cd, "policy_effectiveness_heatmap")?;
        }
        StudyKind::Mp2 => {
            if p.scripts.contains(&Script::PolicyComparison) {
                let arms = p.arms_of(Script::PolicyComparison);
                let cats: Vec<String> = arms.iter().map(|a| a.name.clone()).collect();
                let series = |name: &str| {
                    vec![BarSeries {
                        name: String::new(),
                        colors: vec![GREY, GREEN, BLUE, RED],
                        bars: cats.iter().map(|a| bar(r, &format!("mp2.policy_comparison.{a}.{name}"), a)).collect(),
                    }]
                };
                let panels = [
                    bar_panel("final Gini", "final Gini", &cats, series("final_gini"), target(p)),
                    bar_panel("policy events", "events", &cats, series("policy_events"), Vec::new()),
                ];
                BarGrid {
                    title: format!("policy_comparison: mean and {}", ci_over(r.seeds.len())),
                    cols: 2,
                    panels: panels.to_vec(),
                }
                .write(&cd, "policy_comparison")?;
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
                let panel = |title: &str, y: &str, color: RGBColor, name: &str| PlotPanel {
                    title: title.into(),
                    x_label: "k_payment".into(),
                    y_label: y.into(),
                    series: vec![Series::new(title, color, Stroke::PointsOnLine, pts(name))],
                    guides: Vec::new(),
                    rules: Vec::new(),
                    legend: Corner::UpperRight,
                };
                let panels = [
                    panel("final Gini", "final Gini", BLUE, "final_gini"),
                    panel("final mean trust", "mean trust", GREEN, "final_mean_trust"),
                ];
                PlotGrid {
                    title: "sensitivity: fixed k_payment, policy off (means over seeds)".into(),
                    cols: 2,
                    panels: panels.to_vec(),
                }
                .write(&cd, "sensitivity_analysis")?;
            }
            if p.scripts.contains(&Script::AttackAndRecovery) {
                let cats: Vec<String> =
                    ["day 170", "day 300", "day 500", "final"].iter().map(|s| s.to_string()).collect();
                let keys = ["mean_trust_d170", "mean_trust_d300", "mean_trust_d500", "final_mean_trust"];
                let series = ["off", "on"]
                    .iter()
                    .map(|arm| BarSeries {
                        name: format!("policy {arm}"),
                        colors: vec![arm_color(arm)],
                        bars: keys
                            .iter()
                            .zip(&cats)
                            .map(|(k, c)| bar(r, &format!("mp2.attack_and_recovery.{arm}.{k}"), c))
                            .collect(),
                    })
                    .collect();
                let title = format!(
                    "attack_and_recovery: mean trust before, during and after the attack (mean, {})",
                    ci_over(r.seeds.len())
                );
                bar_panel(&title, "mean trust", &cats, series, Vec::new()).write(&cd, "recovery_analysis")?;
            }
        }
        StudyKind::Fs => {
            let mut sorted = ids.clone();
            sorted.sort();
            let boxes: Vec<BoxSeries> = ["off", "on"]
                .iter()
                .map(|arm| BoxSeries {
                    name: format!("policy {arm}"),
                    color: arm_color(arm),
                    values: sorted.iter().map(|s| values(&r.metrics, &format!("fs.{s}.{arm}.final_gini"))).collect(),
                })
                .collect();
            BoxChart {
                title: "full_study: final Gini per scenario, one point per seed".into(),
                y_label: "final Gini".into(),
                categories: sorted.clone(),
                series: boxes,
                guides: Vec::new(),
            }
            .write(&cd, "gini_boxplot")?;
            if let Some(per) = r.extra.get("per_iteration") {
                let mut vals = Vec::new();
                let mut labels = Vec::new();
                for k in 0..p.iterations as usize {
                    let row: Vec<Option<f64>> =
                        sorted.iter().map(|s| per[s.as_str()][k]["improvement_pct"].as_f64()).collect();
                    labels.push(row.iter().map(|v| v.map_or("n/a".into(), |x| fmt_num(x, 1))).collect());
                    vals.push(row);
                }
                let yl: Vec<String> = (1..=p.iterations).map(|k| format!("Iter {k}")).collect();
                HeatMap {
                    title: "full_study: improvement_pct of final Gini per iteration".into(),
                    x_labels: sorted,
                    y_labels: yl,
                    values: vals,
                    labels,
                    value_label: "improvement %".into(),
                    scale: HeatScale::RdYlGn(40.0),
                    ..Default::default()
                }
                .write(&cd, "improvement_heatmap")?;
            }
        }
    }
    Ok(())
}
