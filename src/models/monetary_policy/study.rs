//! The monetary-policy studies as `Study`s: runs, the printed summary
//! (paired differences with their CIs), the FS aggregation and the charts.

use super::config::{Params, Script, StudyKind, resolve};
use super::metrics::{findings, seed_output};
use super::model::PolicyModel;
use super::report;
use crate::engine::{Model, SimTime, TimeUnit};
use crate::report::results::{FindingDef, MetricResult, Results, SeedOutput, VerdictRule};
use crate::study::{Footprint, Run, RunMeta, Scenario, ScenarioError, Stepper, Study, StudyModel};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

impl StudyModel for PolicyModel {
    fn seed_output(&self, seed: u64) -> SeedOutput {
        seed_output(self, seed, 0.0)
    }
    fn fresh_run(run: &crate::study::Run<Self>) -> Result<crate::study::Run<Self>, String> {
        super::model::fresh_run(run)
    }
}

/// A monetary-policy study bound to its scenario.
pub struct PolicyStudy {
    scenario: Scenario,
    /// Resolved parameters.
    pub params: Params,
}

impl PolicyStudy {
    /// Resolve a scenario.
    pub fn new(scenario: Scenario) -> Result<Self, ScenarioError> {
        let params = resolve(&scenario)?;
        Ok(PolicyStudy { scenario, params })
    }

    fn meta(&self, seed: u64) -> RunMeta {
        RunMeta::of(self.params.study.id(), &self.scenario, seed)
    }

    /// A fresh run of `seed`.
    pub fn new_run(&self, seed: u64) -> Run<PolicyModel> {
        Run::new(self.meta(seed), PolicyModel::new(self.params.clone()))
    }
}

/// Memory of a run: every experiment's arms run side by side in one seed,
/// each with its identities, what its trust engine keeps per day and one day
/// of metrics a day; the output keeps every `csv_every`-th day of each arm.
/// Measured (20,000 days, `csv_every` 7 and 1, one to 40 seeds): 700 to
/// 1,800 bytes per arm and day (the attack scripts keep more), and about 800
/// per kept sample of a seed's output.
pub fn footprint(p: &Params) -> Footprint {
    use crate::policy::metrics::DailyMetrics;
    let (mut run, mut out) = (0.0f64, 0.0f64);
    for &s in &p.scripts {
        let arms = p.arms_of(s).len() as f64;
        let days = p.days_of(s) as f64;
        run += arms * (days * (std::mem::size_of::<DailyMetrics>() as f64 + 1600.0) + 256.0 * 1024.0);
        out += arms * ((days / p.csv_every.max(1) as f64 + 2.0) * 800.0 + 32.0 * 1024.0);
    }
    let mut fp = Footprint::new(run + out, out);
    if p.scripts.iter().any(|s| !matches!(s, Script::ExtendedBaseline | Script::AdversarialMulti | Script::Sensitivity))
    {
        fp = fp.driver("days", p.days);
    }
    if p.scripts.iter().any(|s| matches!(s, Script::ExtendedBaseline | Script::AdversarialMulti)) {
        fp = fp.driver("monetary_policy.long_days", p.long_days);
    }
    if p.scripts.contains(&Script::Sensitivity) {
        fp = fp.driver("iteration2.sensitivity.days", p.sensitivity_days);
    }
    fp.driver("csv_every", p.csv_every)
}

impl Study for PolicyStudy {
    fn id(&self) -> &'static str {
        self.params.study.id()
    }
    fn scenario(&self) -> &Scenario {
        &self.scenario
    }
    fn fidelity(&self) -> &'static str {
        self.params.fidelity.name()
    }
    fn timing(&self) -> &'static str {
        "daily"
    }
    fn footprint(&self) -> Footprint {
        footprint(&self.params)
    }
    fn settings(&self) -> serde_json::Map<String, Value> {
        self.params.settings()
    }
    fn default_seeds(&self) -> (u64, u64) {
        match self.params.study {
            StudyKind::Fs => (0, u64::from(self.params.iterations) * u64::from(self.params.samples)),
            _ => (self.params.seed_base, self.params.seeds),
        }
    }
    fn grid_seeds(&self) -> Option<Vec<u64>> {
        (self.params.study == StudyKind::Fs).then(|| self.params.grid_seeds())
    }
    fn verdict(&self) -> VerdictRule {
        self.params.verdict
    }
    fn findings(&self) -> &'static [FindingDef] {
        findings(self.params.study.prefix())
    }
    fn finding_metric(&self, id: &str) -> Option<String> {
        let (base, name) = id.rsplit_once('.')?;
        match name {
            "policy_lowers_gini" => Some(format!("{base}.diff.final_gini")),
            "policy_changes_trust" => Some(format!("{base}.diff.final_mean_trust")),
            "k_payment_at_floor" => Some(format!("{base}.on.final_k_payment")),
            "cluster_is_attacker_fraction" => Some(format!("{base}.on.final_cluster_prevalence")),
            _ => None,
        }
    }
    fn time_unit(&self) -> TimeUnit {
        TimeUnit::Days
    }
    fn horizon(&self) -> SimTime {
        PolicyModel::new(self.params.clone()).horizon()
    }
    fn stamp_wall_time(&self, out: &mut SeedOutput, seconds: f64) {
        // Runs share one simulation per seed: each gets the seed's wall time.
        let wall = format!("{seconds:.4}");
        if let Some(t) = out.tables.get_mut("runs.csv") {
            for row in &mut t.rows {
                if let Some(w) = row.last_mut() {
                    *w = wall.clone();
                }
            }
        }
    }
    fn stepper(&self, seed: u64) -> Box<dyn Stepper> {
        Box::new(self.new_run(seed))
    }
    fn report(&self, results: &Results, outputs: &[SeedOutput], dir: &Path) -> anyhow::Result<String> {
        report::report(&self.params, results, outputs, dir)
    }
    fn study_metrics(&self, results: &Results, _outputs: &[SeedOutput]) -> BTreeMap<String, MetricResult> {
        report::study_metrics(&self.params, results)
    }
    fn extra(&self, results: &Results, outputs: &[SeedOutput]) -> serde_json::Map<String, Value> {
        report::extra(&self.params, results, outputs)
    }
}
