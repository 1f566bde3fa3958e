//! `economic_value` as a `Study`: runs (with the comparison fidelity), the
//! printed summary, the claims block and the charts.

use super::config::{EvParams, resolve};
use super::metrics::{CLAIMS, FINDINGS, seed_output};
use super::model::EconomicMarket;
use crate::engine::SimTime;
use crate::report::chart::{
    Bar, BarPanel, BarSeries, Chart, GREEN, GREY, HeatClass, HeatMap, HeatScale, RED, ci_over, fmt_signed,
};
use crate::report::markdown::{MdTable, findings_table, metric_cell};
use crate::report::results::{FindingDef, MetricResult, Results, SeedOutput, Table, write_tables};
use crate::report::stats::summarize;
use crate::study::{Common, Footprint, Scenario, ScenarioError, StudyDef, StudyModel, StudyOf};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

impl StudyModel for EconomicMarket {
    const EVENT_KINDS: &'static [&'static str] = super::EVENT_KINDS;
    fn seed_output(&self, seed: u64) -> SeedOutput {
        seed_output(&self.params, &self.records, seed)
    }
    fn fresh_run(run: &crate::study::Run<Self>) -> Result<crate::study::Run<Self>, String> {
        super::model::fresh_run(run)
    }
}

/// The `economic_value` study. Compares with the other fidelity by
/// default (`compare_fidelities`), keeping the claims' metrics and verdicts
/// of that run.
pub struct EconomicValue;

/// The study bound to its scenario (and the comparison fidelity's).
pub type EconomicStudy = StudyOf<EconomicValue>;

impl StudyDef for EconomicValue {
    const IDS: &'static [&'static str] = &["economic_value"];
    const COMPARE_BY_DEFAULT: bool = true;
    type Params = EvParams;
    type Model = EconomicMarket;

    fn resolve(scenario: &Scenario) -> Result<EvParams, ScenarioError> {
        resolve(scenario)
    }
    fn common(p: &EvParams) -> Common {
        Common { fidelity: p.fidelity, seed_base: p.seed_base, seeds: p.seeds, verdict: p.verdict }
    }
    fn model(p: &EvParams) -> EconomicMarket {
        EconomicMarket::new(p.clone())
    }
    fn horizon(p: &EvParams) -> SimTime {
        super::model::horizon(p)
    }
    fn timing(p: &EvParams) -> &'static str {
        if p.tick_mode() { "tick" } else { "continuous" }
    }
    fn settings(p: &EvParams) -> serde_json::Map<String, Value> {
        p.settings()
    }
    fn findings(_: &EvParams) -> &'static [FindingDef] {
        FINDINGS
    }
    fn finding_metric(_: &EvParams, id: &str) -> Option<String> {
        CLAIMS.iter().find(|c| c.id == id).map(|c| c.metric.to_string())
    }
    fn footprint(p: &EvParams) -> Footprint {
        footprint(p)
    }
    fn extra(study: &EconomicStudy, results: &Results, outputs: &[SeedOutput]) -> serde_json::Map<String, Value> {
        let mut m = serde_json::Map::new();
        m.insert("claims".into(), Value::Array(claims_block(study, results, outputs)));
        m
    }
    fn report(study: &EconomicStudy, results: &Results, outputs: &[SeedOutput], dir: &Path) -> anyhow::Result<String> {
        report(study, results, outputs, dir)
    }
    /// Only the claims' metrics and verdicts of the comparison run.
    fn add_compared(name: &str, other: &SeedOutput, out: &mut SeedOutput) {
        for c in CLAIMS {
            if let Some(v) = other.metrics.get(c.metric) {
                out.metrics.insert(format!("compare.{name}.{}", c.metric), *v);
            }
            if let Some(f) = other.findings.get(c.id) {
                let k = format!("compare.{name}.finding.{}", c.id);
                out.metrics.insert(k.clone(), f.map(|b| if b { 1.0 } else { 0.0 }));
                out.binary.insert(k);
            }
        }
    }
}

fn stats(m: Option<&MetricResult>) -> Value {
    match m {
        Some(m) => json!({ "mean": m.mean, "ci95": m.ci95, "n": m.n }),
        None => json!({ "mean": null, "ci95": null, "n": 0 }),
    }
}

/// Memory of a run, calibrated on measured peaks (`/usr/bin/time`, one seed;
/// `economic_value_scale.toml` at 200 to 10,000 h with 200 to 10,000
/// providers and 10,000 to 100,000 consumers, and tiny `sample_hours`):
/// the agents of its largest leg (legs run one after another), up to 22 KiB
/// per busy provider once its events have run a while; the records of every
/// leg (metrics and one time-series sample per `sample_hours`), a serialized
/// copy of them at the end (the `state_hash` of `seeds.csv`), the output's
/// series (seven per leg, one value per sample) and the charts drawn from them.
pub fn footprint(p: &EvParams) -> Footprint {
    let legs = p.leg_defs();
    let samples = (p.duration_hours / p.sample_hours).max(0.0) + 2.0;
    let levels = p.checkpoints.len().max(3) as f64;
    // A busy provider's share of the event queue grows over the first few
    // hundred simulated hours (measured: 6 KiB at 200 h, 18 at 1,000 h, 22
    // at 10,000 h); the queue lives through every leg.
    let hours = p.duration_hours * legs.len() as f64;
    let busy = 22.0 * 1024.0 * (1.0 - (-hours / 500.0).exp());
    let leg_bytes = |l: &super::config::LegDef| {
        let (pr, co) = (l.dcs as f64 + l.homes as f64, l.consumers as f64);
        pr * (500.0 + levels * 48.0) + co * 250.0 + pr.min(co) * busy
    };
    let largest = legs.iter().map(leg_bytes).fold(0.0, f64::max);
    let n = legs.len() as f64;
    // Per leg and sample (measured: about 475 bytes, 20,000 to 670,000
    // samples a leg): the record, its serialized copy, the output's series
    // and the time-series charts drawn from them.
    let records = n * (samples * 480.0 + 64.0 * 160.0);
    let output = n * (samples * 7.0 * 8.0 + 96.0 * 160.0) + 64.0 * 1024.0;
    let mut fp = Footprint::new(largest + records + output, output);
    if let Some(m) = p.markets.iter().max_by_key(|m| m.dcs as u64 + m.homes as u64 + m.consumers as u64) {
        fp = fp
            .driver(&format!("market.{}.dcs", m.name), m.dcs)
            .driver(&format!("market.{}.homes", m.name), m.homes)
            .driver(&format!("market.{}.consumers", m.name), m.consumers);
    }
    if let Some(sw) = &p.sweep {
        fp = fp.driver("sweep.dcs", sw.dcs).driver("sweep.homes", sw.homes);
        if let Some(d) = sw.demand.iter().max_by_key(|d| d.1) {
            fp = fp.driver(&format!("sweep.demand.{}", d.0), d.1);
        }
    }
    if samples > 1e5 {
        fp = fp.driver("duration_hours / sample_hours", samples.round());
    }
    fp
}

/// The `claims` block of `results.json`: each claim with the reference-fidelity and
/// corrected values and verdicts.
fn claims_block(s: &EconomicStudy, r: &Results, outputs: &[SeedOutput]) -> Vec<Value> {
    let own = s.params.fidelity.name();
    let rule = s.params.verdict;
    let other = s.other_name();
    let mut v = Vec::new();
    for c in CLAIMS {
        let Some(f) = r.findings.iter().find(|f| f.id == c.id) else { continue };
        let mut own_entry = stats(r.metrics.get(c.metric));
        own_entry["held_in"] = json!(f.held_in);
        own_entry["verdict"] = json!(f.verdict);
        let other_entry = other.map(|o| {
            let mut e = stats(r.metrics.get(&format!("compare.{o}.{}", c.metric)));
            let k = format!("compare.{o}.finding.{}", c.id);
            // As for the own fidelity's findings: `n/a` when no seed computed it.
            let vals: Vec<Option<f64>> = outputs.iter().map(|x| x.metrics.get(&k).copied().flatten()).collect();
            let held = vals
                .iter()
                .any(Option::is_some)
                .then(|| vals.iter().filter(|v| **v == Some(1.0)).count() as f64 / outputs.len().max(1) as f64);
            e["held_in"] = json!(held);
            e["verdict"] = json!(rule.verdict_of(held));
            e
        });
        let mut entry = json!({
            "id": c.id,
            "claim": f.claim,
            "anchor": c.anchor,
            "metric": c.metric,
        });
        entry[own] = own_entry;
        if let (Some(o), Some(e)) = (other, other_entry) {
            entry[o] = e;
        } else {
            let missing = if own == "reference" { "corrected" } else { "reference" };
            entry[missing] = Value::Null;
        }
        v.push(entry);
    }
    v
}

const MARKET_ROWS: &[(&str, usize)] = &[
    ("cost_per_useful_hour", 3),
    ("cost_per_useful_hour_pooled", 3),
    ("compute_hours", 0),
    ("served", 1),
    ("efficiency", 3),
    ("dc_hours", 0),
    ("home_hours", 0),
    ("dc_sessions", 1),
    ("home_sessions", 1),
    ("dc_profit_per_hour", 3),
    ("home_profit_per_hour", 3),
    ("dc_completion_rate_pooled", 3),
    ("home_completion_rate_pooled", 3),
    ("dc_high_value_share", 3),
    ("home_high_value_share", 3),
    ("cancellations_personal", 1),
    ("cancellations_profit", 1),
    ("consumer_surplus_per_hour", 2),
    ("provider_profit_per_hour", 2),
    ("total_surplus_per_hour", 2),
    ("home_outside_hours", 0),
    ("dc_posted_price_mean", 3),
];

fn report(s: &EconomicStudy, r: &Results, outputs: &[SeedOutput], dir: &Path) -> anyhow::Result<String> {
    let p = &s.params;
    let m = &r.metrics;
    let mut md = String::new();
    for mk in &p.markets {
        let base = format!("scenarios.{}", mk.name);
        md.push_str(&format!(
            "\n## Market `{}`: {} DCs{}, {} consumers{}\n\n",
            mk.name,
            mk.dcs,
            if p.legs.iter().any(|l| l == "dc_home") { format!(" (+ {} homes)", mk.homes) } else { String::new() },
            mk.consumers,
            if mk.price_setter { ", price-setting DCs" } else { "" }
        ));
        let mut t = MdTable::new(["metric", "DC only", "DC + Home"]);
        for &(name, d) in MARKET_ROWS {
            t.row([
                name.to_string(),
                metric_cell(m, &format!("{base}.dc_only.{name}"), d),
                metric_cell(m, &format!("{base}.dc_home.{name}"), d),
            ]);
        }
        md.push_str(&t.render());
        md.push('\n');
        let mut t = MdTable::new(["change (DC + Home vs DC only)", "mean [95% CI]"]);
        for (name, d) in [
            ("cost_per_useful_hour_pct", 1),
            ("compute_hours_pct", 1),
            ("dc_profit_per_hour_pct", 1),
            ("compute_hours", 0),
            ("served", 1),
            ("total_surplus_per_hour", 2),
        ] {
            let k = format!("{base}.change.{name}");
            if m.contains_key(&k) {
                t.row([name.to_string(), metric_cell(m, &k, d)]);
            }
        }
        if !t.is_empty() {
            md.push_str(&t.render());
        }
    }
    if let Some(sw) = &p.sweep {
        md.push_str("\n## Sweep: homes beside DCs, by demand, checkpoint interval and values\n\n");
        let mut t = MdTable::new([
            "demand",
            "checkpoint",
            "values",
            "Δ compute %",
            "Δ DC profit/h %",
            "value creation",
            "neutral",
            "cannibalization",
        ]);
        for c in sw.cells() {
            let base = format!("sweep.{}.{}.{}", c.demand, c.checkpoint, c.values);
            let share = |n: &str| {
                m.get(&format!("{base}.class.{n}"))
                    .and_then(|x| x.mean)
                    .map(|x| format!("{:.0}%", 100.0 * x))
                    .unwrap_or_default()
            };
            t.row([
                c.demand.clone(),
                c.checkpoint.clone(),
                c.values.clone(),
                metric_cell(m, &format!("{base}.change.compute_pct"), 1),
                metric_cell(m, &format!("{base}.change.dc_profit_pct"), 1),
                share("value_creation"),
                share("neutral"),
                share("cannibalization"),
            ]);
        }
        md.push_str(&t.render());
        md.push_str(&format!(
            "\nCells per seed: value creation {}, neutral {}, cannibalization {}.\n",
            metric_cell(m, "sweep.counts.value_creation", 2),
            metric_cell(m, "sweep.counts.neutral", 2),
            metric_cell(m, "sweep.counts.cannibalization", 2)
        ));
        sweep_heatmap(s, m, &dir.join("charts"))?;
        md.push_str("\nChart: charts/sweep_heatmap.svg / charts/sweep_heatmap.png\n");
    }
    md.push_str("\n## Findings\n\n");
    md.push_str(&findings_table(&r.findings));
    claims_report(s, r, &dir.join("charts"), &mut md)?;
    if !p.markets.is_empty() && p.legs.len() == 2 {
        market_charts(s, m, &dir.join("charts"))?;
        md.push_str(
            "\nCharts: charts/compute_by_market, charts/cost_by_market, charts/profit_by_market (.svg / .png)\n",
        );
    }
    timeseries(outputs, dir)?;
    Ok(md)
}

fn claims_report(s: &EconomicStudy, r: &Results, dir: &Path, md: &mut String) -> anyhow::Result<()> {
    let Some(Value::Array(claims)) = r.extra.get("claims") else { return Ok(()) };
    if claims.is_empty() {
        return Ok(());
    }
    md.push_str("\n## Claims of the original write-up\n\n");
    let mut t = MdTable::new(["claim", "anchor", "reference fidelity", "corrected fidelity"]);
    let fmt = |e: &Value| -> String {
        if e.is_null() {
            return "not run".into();
        }
        let mean = e["mean"].as_f64();
        let ci = e["ci95"].as_array().and_then(|a| Some([a.first()?.as_f64()?, a.get(1)?.as_f64()?]));
        let held = e["held_in"].as_f64();
        let v = e["verdict"].as_str().unwrap_or("");
        let d = match mean {
            Some(x) if x.abs() >= 100.0 => 0,
            Some(x) if x.abs() >= 10.0 => 1,
            _ => 3,
        };
        let value = match (mean, ci) {
            (Some(x), Some([lo, hi])) => format!("{x:.d$} [{lo:.d$}, {hi:.d$}]"),
            (Some(x), None) => format!("{x:.d$}"),
            _ => "n/a".into(),
        };
        match held {
            Some(h) => format!("{value}; holds in {:.0}% → {v}", 100.0 * h),
            None => format!("{value} → {v}"),
        }
    };
    let mut bars_ref = Vec::new();
    let mut bars_cor = Vec::new();
    let mut cats = Vec::new();
    let mut left_out = Vec::new();
    // One seed gives no interval.
    let intervals = r.seeds.len() >= 2;
    for c in claims {
        let anchor = c["anchor"].as_f64();
        t.row([
            c["claim"].as_str().unwrap_or("").to_string(),
            anchor.map(|a| format!("{a}")).unwrap_or_else(|| "DCs high-value".into()),
            fmt(&c["reference"]),
            fmt(&c["corrected"]),
        ]);
        if let Some(a) = anchor.filter(|a| *a != 0.0) {
            let label = c["id"].as_str().unwrap_or("").trim_start_matches("ev.claim.").to_string();
            let ratio = |e: &Value| -> Bar {
                let mean = e["mean"].as_f64().map(|x| x / a).unwrap_or(f64::NAN);
                let (lo, hi) = match e["ci95"].as_array() {
                    Some(v) if v.len() == 2 && intervals => {
                        let (x, y) = (v[0].as_f64().unwrap_or(f64::NAN) / a, v[1].as_f64().unwrap_or(f64::NAN) / a);
                        (x.min(y), x.max(y))
                    }
                    _ => (f64::NAN, f64::NAN),
                };
                Bar { label: label.clone(), mean, lo, hi }
            };
            cats.push(label.clone());
            bars_ref.push(ratio(&c["reference"]));
            bars_cor.push(ratio(&c["corrected"]));
        } else {
            let id = c["id"].as_str().unwrap_or("").trim_start_matches("ev.claim.");
            left_out.push(match anchor {
                Some(_) => format!("{id} (anchor 0)"),
                None => format!("{id} (anchor not a number)"),
            });
        }
    }
    md.push_str(&t.render());
    md.push_str(&format!(
        "\nA numeric claim holds in a seed when its metric is within {:.0}% of the anchor; the verdicts are over seeds.\n",
        100.0 * s.params.claims_tolerance
    ));
    if !cats.is_empty() {
        let note = if left_out.is_empty() {
            String::new()
        } else {
            format!("Not shown, having no anchor to divide by (see the table): {}.", left_out.join(", "))
        };
        BarPanel {
            title: format!("Claims: measured mean / anchor (1 = as claimed), {}", ci_over(r.seeds.len())),
            y_label: "measured / anchor".into(),
            categories: cats,
            series: vec![BarSeries::new("reference", bars_ref), BarSeries::new("corrected", bars_cor)],
            note,
            ..Default::default()
        }
        .write(dir, "claims")?;
        md.push_str("\nChart: charts/claims.svg / charts/claims.png\n");
    }
    Ok(())
}

fn market_charts(s: &EconomicStudy, m: &BTreeMap<String, MetricResult>, dir: &Path) -> anyhow::Result<()> {
    let names: Vec<String> = s.params.markets.iter().map(|x| x.name.clone()).collect();
    let bars = |leg: &str, metric: &str| -> Vec<Bar> {
        names.iter().map(|n| Bar::of_metric(m, &format!("scenarios.{n}.{leg}.{metric}"), n)).collect()
    };
    let leg_series = |metric: &str| -> Vec<BarSeries> {
        [("DC only", "dc_only"), ("DC + Home", "dc_home")]
            .iter()
            .map(|(label, leg)| BarSeries::new(label, bars(leg, metric)))
            .collect()
    };
    let chart = |title: &str, y_label: &str, series: Vec<BarSeries>| BarPanel {
        title: title.into(),
        y_label: y_label.into(),
        categories: names.clone(),
        series,
        ..Default::default()
    };
    chart("Compute delivered (useful hours)", "useful hours", leg_series("compute_hours"))
        .write(dir, "compute_by_market")?;
    chart("$ per useful hour", "$ / useful hour", leg_series("cost_per_useful_hour")).write(dir, "cost_by_market")?;
    let profit = vec![
        BarSeries::new("DC profit/h, DC only", bars("dc_only", "dc_profit_per_hour")),
        BarSeries::new("DC profit/h, DC + Home", bars("dc_home", "dc_profit_per_hour")),
        BarSeries::new("home profit/h, DC + Home", bars("dc_home", "home_profit_per_hour")),
    ];
    chart("Provider profit per provided hour", "$ / h", profit).write(dir, "profit_by_market")?;
    Ok(())
}

fn sweep_heatmap(s: &EconomicStudy, m: &BTreeMap<String, MetricResult>, dir: &Path) -> anyhow::Result<()> {
    let Some(sw) = &s.params.sweep else { return Ok(()) };
    let xs: Vec<String> = sw.values.clone();
    let mut ys = Vec::new();
    let mut values = Vec::new();
    let mut labels = Vec::new();
    for (d, _) in &sw.demand {
        for (c, _) in &sw.checkpoints {
            ys.push(format!("{d} / {c}"));
            let mut row = Vec::new();
            let mut lrow = Vec::new();
            for v in &sw.values {
                let base = format!("sweep.{d}.{c}.{v}");
                let share = |n: &str| m.get(&format!("{base}.class.{n}")).and_then(|x| x.mean).unwrap_or(0.0);
                let (vc, ne, ca) = (share("value_creation"), share("neutral"), share("cannibalization"));
                // Colour: the class most seeds gave (+1 value creation, 0 neutral, -1 cannibalization).
                let class = if vc >= ne && vc >= ca {
                    1.0
                } else if ca >= ne {
                    -1.0
                } else {
                    0.0
                };
                row.push(Some(class));
                let mean = |k: &str| m.get(&format!("{base}.change.{k}")).and_then(|x| x.mean);
                let f = |x: Option<f64>| x.map(|x| format!("{}%", fmt_signed(x, 0))).unwrap_or_else(|| "n/a".into());
                lrow.push(format!("Δc {} Δp {}", f(mean("compute_pct")), f(mean("dc_profit_pct"))));
            }
            values.push(row);
            labels.push(lrow);
        }
    }
    let class = |value: f64, label: &str, color| HeatClass { value, label: label.into(), color };
    HeatMap {
        title: format!("Homes beside DCs, {}: the class most seeds gave", s.params.fidelity.name()),
        note: "Rows: demand / checkpoints; columns: consumer values. Cells: Δc change of compute delivered, \
               Δp change of DC profit per hour, with homes against DC only."
            .into(),
        x_labels: xs,
        y_labels: ys,
        values,
        labels,
        value_label: "class".into(),
        scale: HeatScale::Classes(vec![
            class(1.0, "value creation", GREEN),
            class(0.0, "neutral", GREY),
            class(-1.0, "cannibalization", RED),
        ]),
    }
    .write(dir, "sweep_heatmap")
    .map(|_| ())
}

/// `timeseries_<market>_<leg>.csv` of the first seed.
fn timeseries(outputs: &[SeedOutput], dir: &Path) -> anyhow::Result<()> {
    let Some(first) = outputs.first() else { return Ok(()) };
    let mut legs: BTreeMap<String, BTreeMap<String, &Vec<f64>>> = BTreeMap::new();
    for (k, v) in &first.series {
        if let Some(rest) = k.strip_prefix("ts.")
            && let Some((leg, col)) = rest.rsplit_once('.')
        {
            legs.entry(leg.to_string()).or_default().insert(col.to_string(), v);
        }
    }
    let cols = ["hours", "busy_dcs", "busy_homes", "idle_consumers", "dc_price", "home_price", "outside_index"];
    let mut tables = BTreeMap::new();
    for (leg, data) in legs {
        let Some(stem) = leg.strip_prefix("scenarios.") else { continue };
        let n = data.get("hours").map(|v| v.len()).unwrap_or(0);
        let rows = (0..n)
            .map(|i| {
                cols.iter()
                    .map(|c| data.get(*c).and_then(|v| v.get(i)).map(|x| x.to_string()).unwrap_or_default())
                    .collect()
            })
            .collect();
        tables.insert(
            format!("timeseries_{}.csv", stem.replace('.', "_")),
            Table { header: cols.iter().map(|c| c.to_string()).collect(), rows },
        );
    }
    if !tables.is_empty() {
        write_tables(dir, &[SeedOutput { seed: first.seed, tables, ..Default::default() }])?;
    }
    let _ = summarize;
    Ok(())
}
