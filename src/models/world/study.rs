//! `world` as a `Study`.

use super::config::{WorldParams, resolve};
use super::hooks::World;
use super::metrics::{FINDINGS, seed_output};
use crate::engine::SimTime;
use crate::models::economic_value::model::{fresh_market, horizon};
use crate::models::economic_value::{EconomicMarket, study::footprint as market_footprint};
use crate::report::results::{FindingDef, SeedOutput};
use crate::study::run::stored_scenario;
use crate::study::{Common, Footprint, Run, Scenario, ScenarioError, StudyDef, StudyModel};
use serde_json::Value;

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
