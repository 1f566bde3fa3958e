//! The reliability studies as `Study`s: runs, printed summary and charts.

use super::config::{Params, ProviderSetup, Variant, resolve};
use super::metrics::{V2_GROUP_METRICS, findings, seed_output, tiers};
use super::model::ReliabilityMarket;
use crate::engine::SimTime;
use crate::report::chart::{Bar, BarPanel, BarSeries, Chart, Line, LinePanels, Panel, ci_over};
use crate::report::markdown::{MdTable, findings_table, metric_cell};
use crate::report::results::{FindingDef, Results, SeedOutput};
use crate::report::stats::{Support, summarize, summarize_with};
use crate::study::{Common, Fidelity, Footprint, Scenario, ScenarioError, StudyDef, StudyModel, StudyOf};
use std::path::Path;

impl StudyModel for ReliabilityMarket {
    const EVENT_KINDS: &'static [&'static str] = super::EVENT_KINDS;
    fn seed_output(&self, seed: u64) -> SeedOutput {
        seed_output(self, seed)
    }
    fn fresh_run(run: &crate::study::Run<Self>) -> Result<crate::study::Run<Self>, String> {
        super::model::fresh_run(run)
    }
}

/// The reliability studies: `reliability_basic`, `reliability_equilibrium`
/// and `reliability_v2`, one model with three configurations.
pub struct Reliability;

/// A reliability study bound to its scenario.
pub type ReliabilityStudy = StudyOf<Reliability>;

impl StudyDef for Reliability {
    const IDS: &'static [&'static str] = &["reliability_basic", "reliability_equilibrium", "reliability_v2"];
    type Params = Params;
    type Model = ReliabilityMarket;

    fn resolve(scenario: &Scenario) -> Result<Params, ScenarioError> {
        resolve(scenario)
    }
    fn common(p: &Params) -> Common {
        Common { fidelity: p.fidelity, seed_base: p.seed_base, seeds: p.seeds, verdict: p.verdict }
    }
    fn model(p: &Params) -> ReliabilityMarket {
        ReliabilityMarket::new(p.clone())
    }
    fn horizon(p: &Params) -> SimTime {
        super::model::horizon(p)
    }
    fn timing(p: &Params) -> &'static str {
        if p.tick_mode() { "tick" } else { "continuous" }
    }
    fn settings(p: &Params) -> serde_json::Map<String, serde_json::Value> {
        p.settings()
    }
    fn findings(p: &Params) -> &'static [FindingDef] {
        findings(p.variant)
    }
    fn finding_metric(p: &Params, id: &str) -> Option<String> {
        let name = id.rsplit('.').next()?;
        let key = match name {
            "reliability_premium" if p.fidelity == Fidelity::Reference => "rational.premium_2h",
            "reliability_premium" => "rational.premium_per_hour",
            "rational_more_restarts" => "rational.restarts_per_iteration",
            "thresholds_converge" => "thresholds.final_std",
            "std_drop_98" => "thresholds.std_reduction",
            "converges_near_2_2" => "thresholds.final_mean",
            "threshold_drift_up" => "thresholds.drift",
            "high_cost_more_reliable" => "differentiation.threshold_used",
            "low_value_priced_out" => "tiers.low.compute_hours",
            "low_nocp_priced_out" => "groups.low_cp_none.compute_hours",
            _ => return None,
        };
        Some(key.to_string())
    }
    fn footprint(p: &Params) -> Footprint {
        footprint(p)
    }
    fn report(
        study: &ReliabilityStudy,
        results: &Results,
        outputs: &[SeedOutput],
        dir: &Path,
    ) -> anyhow::Result<String> {
        let mut md = String::new();
        let p = &study.params;
        match p.variant {
            Variant::Basic => basic_report(p, results, dir, &mut md)?,
            _ => threshold_report(p, results, outputs, dir, &mut md)?,
        }
        if p.variant == Variant::Equilibrium {
            equilibrium_report(p, results, &mut md);
        }
        if p.variant == Variant::V2 {
            v2_report(p, results, dir, &mut md)?;
        }
        md.push_str("\n## Findings\n\n");
        md.push_str(&findings_table(&results.findings));
        Ok(md)
    }
}

/// Bytes of one cell of a CSV row held in a [`Table`] (a heap `String` in a
/// `Vec`), measured on the scale runs.
const CSV_CELL: f64 = 64.0;

/// Memory of a run, calibrated on measured peaks (`/usr/bin/time`, one seed,
/// corrected and reference; `reliability_v2_scale.toml` at 1 to 50 rounds
/// and 100 to 100,000 providers): about 410 bytes per consumer and 150 per
/// provider with their queues; about 18 KiB per provider that is busy
/// (min(providers, consumers): its sessions, their events and the queue's
/// growth); per round the records (thresholds and provider counters; every
/// consumer too in basic); the reference grids of a job, built in both
/// fidelities; a serialized copy of the model's state at the end (the
/// `state_hash` of `seeds.csv`); and the output's per-round tables
/// (`thresholds.csv`, `providers.csv`: one row per provider and round).
pub fn footprint(p: &Params) -> Footprint {
    use super::model::{Consumer, Provider};
    use std::mem::size_of;
    let (providers, pkey): (f64, &str) = match &p.providers {
        ProviderSetup::Groups(g) => (g.iter().map(|x| x.1 as f64).sum(), "provider_groups[].count"),
        ProviderSetup::Adaptive { count, .. } => (*count as f64, "provider_count"),
    };
    let consumers: f64 = p.consumer_groups.iter().map(|g| g.count as f64).sum();
    let rounds = match p.variant {
        Variant::Basic => p.strategies.len() as f64 * p.iterations as f64,
        _ => p.rounds as f64,
    };
    let groups = p.consumer_groups.len() as f64;
    let grid = (p.job_hours / p.tick_hours).max(0.0) + 2.0;
    let cons = size_of::<Consumer>() as f64;
    let agents = providers * 150.0 + consumers * 410.0;
    let busy = providers.min(consumers) * 18.0 * 1024.0;
    let kept_consumers = if p.variant == Variant::Basic { rounds } else { 1.0 };
    let records = rounds * providers * 32.0 + kept_consumers * consumers * cons;
    // e_tab (grown by push: up to twice its length) and one checkpoint
    // table per group; the reference's ring of due sessions.
    let grids = grid * 8.0 * (2.0 + groups) + if p.tick_mode() { grid * 24.0 } else { 0.0 };
    let state = records + grids + providers * size_of::<Provider>() as f64 + consumers * cons;
    let cells = if p.variant == Variant::Basic { 10.0 } else { 7.0 };
    let rows = rounds * providers * (cells * CSV_CELL + 48.0);
    let series = rounds * 8.0 * (6.0 + providers.min(200.0));
    let output = rows + series + groups * 16.0 * 160.0 + 64.0 * 1024.0;
    let mut fp = Footprint::new(agents + busy + records + grids + state + output, output)
        .driver(pkey, providers)
        .driver("consumer_groups[].count", consumers);
    fp = match p.variant {
        Variant::Basic => fp.driver("iterations", p.iterations),
        _ => fp.driver("rounds", p.rounds),
    };
    if grid > 1e5 {
        fp = fp.driver("job_hours / tick_hours", grid.round());
    }
    fp
}

fn basic_report(p: &Params, r: &Results, dir: &Path, md: &mut String) -> anyhow::Result<()> {
    let m = &r.metrics;
    let ProviderSetup::Groups(groups) = &p.providers else {
        return Ok(());
    };
    for s in &p.strategies {
        let s = s.name();
        md.push_str(&format!("\n## {s} bidding\n\n"));
        let mut t = MdTable::new(["provider type", "threshold", "completion", "rate_2h ($/h)", "rate per hour ($/h)"]);
        for (g, _, th) in groups {
            let k = |x: &str| format!("{s}.providers.{g}.{x}");
            t.row([
                g.clone(),
                format!("{th}"),
                metric_cell(m, &k("completion_rate"), 4),
                metric_cell(m, &k("rate_2h"), 4),
                metric_cell(m, &k("rate_per_hour"), 4),
            ]);
        }
        md.push_str(&t.render());
        md.push('\n');
        let mut t = MdTable::new(["consumer group", "effective cost ($/h)", "full cost ($/h)", "restarts", "lost h"]);
        for g in &p.consumer_groups {
            let k = |x: &str| format!("{s}.consumers.{}.{x}", g.name);
            t.row([
                g.name.clone(),
                metric_cell(m, &k("effective_cost"), 4),
                metric_cell(m, &k("full_cost"), 4),
                metric_cell(m, &k("restarts"), 2),
                metric_cell(m, &k("lost_hours"), 2),
            ]);
        }
        md.push_str(&t.render());
        md.push('\n');
    }
    md.push_str("\n## Premiums, costs and restarts\n\n");
    let mut t = MdTable::new(["metric", "naive", "rational"]);
    for k in [
        "premium_2h",
        "premium_per_hour",
        "restarts_per_iteration",
        "jobs_per_iteration",
        "choice.least_reliable_share",
        "choice.most_reliable_share",
    ] {
        t.row([k.to_string(), metric_cell(m, &format!("naive.{k}"), 4), metric_cell(m, &format!("rational.{k}"), 4)]);
    }
    md.push_str(&t.render());
    md.push('\n');
    let mut t = MdTable::new(["consumer group", "cost improvement (naive - rational)/naive"]);
    for g in &p.consumer_groups {
        t.row([g.name.clone(), metric_cell(m, &format!("cost_improvement.{}", g.name), 4)]);
    }
    md.push_str(&t.render());

    let mut cats = Vec::new();
    for (g, _, _) in groups {
        cats.push(format!("{g}: completion"));
    }
    for (g, _, _) in groups {
        cats.push(format!("{g}: $/h"));
    }
    let series: Vec<(String, Vec<Bar>)> = p
        .strategies
        .iter()
        .map(|s| {
            let s = s.name();
            let mut bars = Vec::new();
            for (g, _, _) in groups {
                bars.push(Bar::of_metric(
                    m,
                    &format!("{s}.providers.{g}.completion_rate"),
                    &format!("{g}: completion"),
                ));
            }
            for (g, _, _) in groups {
                bars.push(Bar::of_metric(m, &format!("{s}.providers.{g}.rate_per_hour"), &format!("{g}: $/h")));
            }
            (s.to_string(), bars)
        })
        .collect();
    BarPanel {
        title: format!("Completion rate and rate per hour by provider type ({})", ci_over(r.seeds.len())),
        y_label: "completion rate / $ per hour".into(),
        categories: cats,
        series: series.into_iter().map(|(name, bars)| BarSeries::new(&name, bars)).collect(),
        ..Default::default()
    }
    .write(&dir.join("charts"), "provider_rates")?;
    md.push_str("\nChart: charts/provider_rates.svg / charts/provider_rates.png\n");
    Ok(())
}

/// Per-round mean and 95% CI over seeds of series `key`.
/// Points (x, mean) and band (x, lo, hi) of a per-round series.
type Band = (Vec<(f64, f64)>, Vec<(f64, f64, f64)>);

fn band(outputs: &[SeedOutput], key: &str) -> Band {
    let rounds = outputs.iter().filter_map(|o| o.series.get(key)).map(Vec::len).max().unwrap_or(0);
    let mut pts = Vec::new();
    let mut b = Vec::new();
    for r in 0..rounds {
        let vals: Vec<Option<f64>> =
            outputs.iter().map(|o| o.series.get(key).and_then(|v| v.get(r).copied())).collect();
        // Both series (threshold mean and sd) cannot be negative; one seed gives no interval.
        let s = summarize_with(&vals, Support::NonNegative);
        if let Some(mean) = s.mean {
            pts.push((r as f64, mean));
            let [lo, hi] = s.ci95.filter(|_| s.n >= 2).unwrap_or([f64::NAN; 2]);
            b.push((r as f64, lo, hi));
        }
    }
    (pts, b)
}

fn threshold_report(
    p: &Params,
    r: &Results,
    outputs: &[SeedOutput],
    dir: &Path,
    md: &mut String,
) -> anyhow::Result<()> {
    let m = &r.metrics;
    let step = if p.variant == Variant::Equilibrium { 5 } else { 10 };
    md.push_str("\n## Threshold trajectory (mean over seeds)\n\n");
    let mut t = MdTable::new(["round", "mean T", "sd T", "min T", "max T", "best $/h", "worst $/h"]);
    let mean_at = |key: &str, round: usize| -> String {
        let vals: Vec<Option<f64>> =
            outputs.iter().map(|o| o.series.get(key).and_then(|v| v.get(round).copied())).collect();
        summarize(&vals, false).mean.map(|x| format!("{x:.4}")).unwrap_or_else(|| "n/a".into())
    };
    // Rounds with data (never more than the seeds recorded).
    let recorded = outputs.iter().filter_map(|o| o.series.get("round.threshold_mean").map(Vec::len)).max().unwrap_or(0);
    let rounds = (p.rounds as usize).min(recorded);
    let mut shown: Vec<usize> = (0..rounds).step_by(step).collect();
    if rounds > 0 && shown.last() != Some(&(rounds - 1)) {
        shown.push(rounds - 1);
    }
    for rd in shown {
        t.row([
            rd.to_string(),
            mean_at("round.threshold_mean", rd),
            mean_at("round.threshold_sd", rd),
            mean_at("round.threshold_min", rd),
            mean_at("round.threshold_max", rd),
            mean_at("round.best_rate", rd),
            mean_at("round.worst_rate", rd),
        ]);
    }
    md.push_str(&t.render());
    if let ProviderSetup::Adaptive { range: [a, b], .. } = &p.providers {
        md.push_str(&format!("\nInitial thresholds drawn from U({a:?}, {b:?}).\n\n"));
    }
    let mut t = MdTable::new(["metric", "mean [95% CI]"]);
    for k in [
        "thresholds.initial_mean",
        "thresholds.initial_std",
        "thresholds.final_mean",
        "thresholds.final_std",
        "thresholds.final_min",
        "thresholds.final_max",
        "thresholds.std_reduction",
        "thresholds.drift",
        "thresholds.corr_earnings",
        "providers.earnings_per_hour",
        "providers.best_rate",
        "providers.worst_rate",
        "providers.completion_rate",
    ] {
        t.row([k.to_string(), metric_cell(m, k, 4)]);
    }
    md.push_str(&t.render());

    // Chart: thin per-provider lines (first seed), mean with CI band, sd.
    let mut panels = Vec::new();
    if let Some(first) = outputs.first() {
        let lines: Vec<Line> = first
            .series
            .iter()
            .filter(|(k, _)| k.starts_with("provider."))
            .map(|(k, v)| Line {
                name: k.clone(),
                points: v.iter().enumerate().map(|(i, &y)| (i as f64, y)).collect(),
                band: None,
                thin: true,
            })
            .collect();
        panels.push(Panel {
            title: format!("Thresholds per provider (seed {})", first.seed),
            x_label: "round".into(),
            y_label: "threshold".into(),
            lines,
        });
    }
    let (pts, b) = band(outputs, "round.threshold_mean");
    panels.push(Panel {
        title: format!("Mean threshold, {}", ci_over(outputs.len())),
        x_label: "round".into(),
        y_label: "threshold".into(),
        lines: vec![Line { name: "mean threshold".into(), points: pts, band: Some(b), thin: false }],
    });
    let (pts, b) = band(outputs, "round.threshold_sd");
    panels.push(Panel {
        title: "Threshold sd across providers".into(),
        x_label: "round".into(),
        y_label: "sd".into(),
        lines: vec![Line { name: "threshold sd".into(), points: pts, band: Some(b), thin: false }],
    });
    LinePanels { title: format!("{}: threshold adaptation", p.variant.id()), panels }
        .write(&dir.join("charts"), "thresholds")?;
    md.push_str("\nChart: charts/thresholds.svg / charts/thresholds.png\n");
    Ok(())
}

fn equilibrium_report(p: &Params, r: &Results, md: &mut String) {
    let m = &r.metrics;
    md.push_str("\n## Consumers, last round\n\n");
    let mut t = MdTable::new([
        "group",
        "effective cost",
        "full cost",
        "restarts",
        "threshold used",
        "reliable",
        "moderate",
        "unreliable",
    ]);
    for g in &p.consumer_groups {
        let k = |x: &str| format!("groups.{}.{x}", g.name);
        t.row([
            g.name.clone(),
            metric_cell(m, &k("effective_cost"), 4),
            metric_cell(m, &k("full_cost"), 4),
            metric_cell(m, &k("restarts"), 2),
            metric_cell(m, &k("threshold_used"), 3),
            metric_cell(m, &k("class_share.reliable"), 3),
            metric_cell(m, &k("class_share.moderate"), 3),
            metric_cell(m, &k("class_share.unreliable"), 3),
        ]);
    }
    md.push_str(&t.render());
    md.push_str(&format!(
        "\ndifferentiation.threshold_used (highest - lowest restart cost): {}\n",
        metric_cell(m, "differentiation.threshold_used", 4)
    ));
}

fn v2_report(p: &Params, r: &Results, dir: &Path, md: &mut String) -> anyhow::Result<()> {
    let m = &r.metrics;
    let cols = ["rate_paid", "effective_cost", "efficiency", "profit_per_hour", "compute_hours", "restarts"];
    for (title, prefix, names) in [
        ("group", "groups", p.consumer_groups.iter().map(|g| g.name.clone()).collect::<Vec<_>>()),
        ("tier", "tiers", tiers(p)),
    ] {
        md.push_str(&format!("\n## Consumers by {title}, last round\n\n"));
        let mut t = MdTable::new(std::iter::once(title.to_string()).chain(cols.iter().map(|c| c.to_string())));
        for n in names {
            let mut row = vec![n.clone()];
            for c in cols {
                row.push(metric_cell(m, &format!("{prefix}.{n}.{c}"), 3));
            }
            t.row(row);
        }
        md.push_str(&t.render());
    }
    debug_assert!(cols.iter().all(|c| V2_GROUP_METRICS.contains(c)));
    // Chart: compute hours per group, grouped by tier.
    let tiers = tiers(p);
    let mut suffixes: Vec<String> = Vec::new();
    for g in &p.consumer_groups {
        let s = g.name.strip_prefix(&format!("{}_", g.tier)).unwrap_or(&g.name).to_string();
        if !suffixes.contains(&s) {
            suffixes.push(s);
        }
    }
    let series: Vec<(String, Vec<Bar>)> = suffixes
        .iter()
        .map(|s| {
            let bars = tiers
                .iter()
                .map(|t| {
                    let g = p
                        .consumer_groups
                        .iter()
                        .find(|g| &g.tier == t && g.name.strip_prefix(&format!("{t}_")).unwrap_or(&g.name) == s);
                    match g {
                        Some(g) => Bar::of_metric(m, &format!("groups.{}.compute_hours", g.name), t),
                        None => Bar::of_metric(m, "", t),
                    }
                })
                .collect();
            (s.clone(), bars)
        })
        .collect();
    BarPanel {
        title: format!("Compute hours per consumer in the last round ({})", ci_over(r.seeds.len())),
        y_label: "useful compute hours".into(),
        categories: tiers,
        series: series.into_iter().map(|(name, bars)| BarSeries::new(&name, bars)).collect(),
        ..Default::default()
    }
    .write(&dir.join("charts"), "compute_by_tier")?;
    md.push_str("\nChart: charts/compute_by_tier.svg / charts/compute_by_tier.png\n");
    Ok(())
}
