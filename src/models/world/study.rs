//! `world` as a `Study`.

use super::config::{WorldParams, resolve};
use super::hooks::World;
use super::metrics::{FINDINGS, seed_output};
use crate::engine::SimTime;
use crate::models::economic_value::model::{fresh_market, horizon};
use crate::models::economic_value::{EconomicMarket, study::footprint as market_footprint};
use crate::report::chart::{Chart, Line, LinePanels, Panel, seeds};
use crate::report::markdown::{findings_table, metrics_table};
use crate::report::results::{FindingDef, SeedOutput};
use crate::report::results::{Results, write_tables};
use crate::study::run::stored_scenario;
use crate::study::{Common, Footprint, Run, Scenario, ScenarioError, StudyDef, StudyModel, StudyOf};
use serde_json::Value;
use std::path::Path;

/// The mean over seeds of each day's value of series `key` (days a seed
/// lacks, or non-finite, are left out).
fn mean_series(outputs: &[SeedOutput], key: &str) -> Vec<(f64, f64)> {
    let n = outputs.iter().filter_map(|o| o.series.get(key).map(Vec::len)).max().unwrap_or(0);
    (0..n)
        .filter_map(|d| {
            let xs: Vec<f64> = outputs
                .iter()
                .filter_map(|o| o.series.get(key).and_then(|v| v.get(d)).copied())
                .filter(|x| x.is_finite())
                .collect();
            (!xs.is_empty()).then(|| (d as f64, xs.iter().sum::<f64>() / xs.len() as f64))
        })
        .collect()
}

/// The default tables, the daily CSV, and a chart per market of the
/// dc_home leg's daily mean trust and share by class and burns.
fn report(
    study: &StudyOf<WorldStudy>,
    results: &Results,
    outputs: &[SeedOutput],
    dir: &Path,
) -> anyhow::Result<String> {
    let mut md = String::new();
    let written = write_tables(dir, outputs)?;
    if !written.is_empty() {
        md.push_str(&format!(
            "\nDaily series (one row per seed, market, leg and day): {}\n",
            super::metrics::DAILY_CSV
        ));
    }
    let mut charts = Vec::new();
    for m in &study.params.market.markets {
        let key = |c: &str| format!("days.world.{}.dc_home.{c}", m.name);
        if !outputs.iter().any(|o| o.series.contains_key(&key("day"))) {
            continue;
        }
        let line = |name: &str, c: &str| Line {
            name: name.into(),
            points: mean_series(outputs, &key(c)),
            band: None,
            thin: false,
        };
        let panels = vec![
            Panel {
                title: format!("Mean payment share s(T), mean over {}", seeds(outputs.len())),
                x_label: "day".into(),
                y_label: "share".into(),
                lines: vec![line("DCs", "mean_share_dc"), line("homes", "mean_share_home")],
            },
            Panel {
                title: "Mean trust".into(),
                x_label: "day".into(),
                y_label: "trust".into(),
                lines: vec![line("DCs", "mean_trust_dc"), line("homes", "mean_trust_home")],
            },
            Panel {
                title: "Burned by settlements per day".into(),
                x_label: "day".into(),
                y_label: "OMC".into(),
                lines: vec![line("DCs", "burned_dc"), line("homes", "burned_home"), line("on-ramp", "onramp")],
            },
        ];
        let stem = format!("world_{}_daily", m.name);
        LinePanels { title: format!("world, {} (DC + Home): days", m.name), panels }
            .write(&dir.join("charts"), &stem)?;
        charts.push(format!("charts/{stem}"));
    }
    if !charts.is_empty() {
        md.push_str(&format!("\nCharts: {} (.svg / .png)\n", charts.join(", ")));
    }
    md.push_str(&format!(
        "\n## Metrics\n\n{}\n## Findings\n\n{}",
        metrics_table(&results.metrics, None),
        findings_table(&results.findings)
    ));
    Ok(md)
}

impl StudyModel for EconomicMarket<World> {
    const EVENT_KINDS: &'static [&'static str] = super::EVENT_KINDS;
    fn seed_output(&self, seed: u64) -> SeedOutput {
        seed_output(self, seed)
    }
    fn fresh_run(run: &Run<Self>) -> Result<Run<Self>, String> {
        let (m, meta) = (&run.sim.model, &run.meta);
        let scenario = stored_scenario(meta)?;
        let p = resolve(&scenario).map_err(|e| format!("the scenario stored in the snapshot: {e}"))?;
        if p.cfg != m.ext.cfg {
            return Err("the world's parameters are not those of the scenario stored beside it".into());
        }
        let mut fresh = fresh_market(p.market, m)?;
        fresh.ext = World::new(p.cfg);
        Ok(Run::new(meta.clone(), fresh))
    }
}

/// The `world` study.
pub struct WorldStudy;

impl StudyDef for WorldStudy {
    const IDS: &'static [&'static str] = &["world"];
    type Params = WorldParams;
    type Model = EconomicMarket<World>;

    fn resolve(scenario: &Scenario) -> Result<WorldParams, ScenarioError> {
        resolve(scenario)
    }
    fn common(p: &WorldParams) -> Common {
        p.common
    }
    fn model(p: &WorldParams) -> EconomicMarket<World> {
        let mut m = EconomicMarket::<World>::new(p.market.clone());
        m.ext = World::new(p.cfg.clone());
        m
    }
    fn horizon(p: &WorldParams) -> SimTime {
        horizon(&p.market)
    }
    fn settings(p: &WorldParams) -> serde_json::Map<String, Value> {
        let mut s = p.market.settings();
        s.remove("fidelity");
        s.insert("days".into(), Value::from(p.days));
        if let Ok(Value::Object(w)) = serde_json::to_value(&p.cfg) {
            s.insert("world".into(), Value::Object(w));
        }
        s
    }
    fn findings(_: &WorldParams) -> &'static [FindingDef] {
        FINDINGS
    }
    fn report(study: &StudyOf<Self>, results: &Results, outputs: &[SeedOutput], dir: &Path) -> anyhow::Result<String> {
        report(study, results, outputs, dir)
    }
    /// The market's footprint, plus the world's per leg: the trust
    /// history (the DCs' incumbent sessions and up to two transactions a
    /// session, about 120 bytes each with the engine's indices), the
    /// ledger's accounts, and one daily row per day.
    fn footprint(p: &WorldParams) -> Footprint {
        let mut fp = market_footprint(&p.market);
        let legs = p.market.leg_defs();
        let hours = p.market.duration_hours;
        let jobs = (hours / p.market.job_hours).max(1.0);
        let leg = |l: &crate::models::economic_value::config::LegDef| {
            let (pr, co) = (l.dcs as f64 + l.homes as f64, l.consumers as f64);
            let txs = l.dcs as f64 * p.cfg.dc_history_sessions as f64 + 2.0 * pr.min(co) * jobs;
            txs * 120.0 + (pr + co) * 400.0 + (hours / 24.0) * 200.0
        };
        let largest = legs.iter().map(leg).fold(0.0, f64::max);
        let records = legs.len() as f64 * ((hours / 24.0) * 300.0 + 8192.0);
        fp.per_run += largest + records;
        fp.per_output += records;
        fp.driver("world.dc_history_sessions", p.cfg.dc_history_sessions)
    }
}
