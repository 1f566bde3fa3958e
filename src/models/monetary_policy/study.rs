//! The monetary-policy studies as `Study`s: runs, the printed summary
//! (paired differences with their CIs), the FS aggregation and the charts.

use super::config::{Params, Script, StudyKind, resolve};
use super::metrics::{findings, seed_output};
use super::model::PolicyModel;
use super::report;
use crate::engine::SimTime;
use crate::report::results::{FindingDef, MetricResult, Results, SeedOutput};
use crate::study::{Common, Footprint, Scenario, ScenarioError, StudyDef, StudyModel, StudyOf};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

impl StudyModel for PolicyModel {
    const EVENT_KINDS: &'static [&'static str] = super::EVENT_KINDS;
    fn seed_output(&self, seed: u64) -> SeedOutput {
        seed_output(self, seed, 0.0)
    }
    fn fresh_run(run: &crate::study::Run<Self>) -> Result<crate::study::Run<Self>, String> {
        super::model::fresh_run(run)
    }
}

/// The monetary-policy studies: `monetary_policy`,
/// `monetary_policy_iteration2` and `full_study`.
pub struct Policy;

/// A monetary-policy study bound to its scenario.
pub type PolicyStudy = StudyOf<Policy>;

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

impl StudyDef for Policy {
    const IDS: &'static [&'static str] = &["monetary_policy", "monetary_policy_iteration2", "full_study"];
    type Params = Params;
    type Model = PolicyModel;

    fn resolve(scenario: &Scenario) -> Result<Params, ScenarioError> {
        resolve(scenario)
    }
    fn common(p: &Params) -> Common {
        let (seed_base, seeds) = match p.study {
            StudyKind::Fs => (0, u64::from(p.iterations) * u64::from(p.samples)),
            _ => (p.seed_base, p.seeds),
        };
        Common { fidelity: p.fidelity, seed_base, seeds, verdict: p.verdict }
    }
    fn model(p: &Params) -> PolicyModel {
        PolicyModel::new(p.clone())
    }
    fn horizon(p: &Params) -> SimTime {
        // The longest experiment's last day (day 0 is the first).
        let d = p.scripts.iter().map(|&s| p.days_of(s)).max().unwrap_or(1);
        SimTime(u64::from(d.saturating_sub(1)) * crate::engine::TICKS_PER_DAY)
    }
    fn footprint(p: &Params) -> Footprint {
        footprint(p)
    }
    fn settings(p: &Params) -> serde_json::Map<String, Value> {
        p.settings()
    }
    fn grid_seeds(p: &Params) -> Option<Vec<u64>> {
        (p.study == StudyKind::Fs).then(|| p.grid_seeds())
    }
    fn findings(p: &Params) -> &'static [FindingDef] {
        findings(p.study.prefix())
    }
    fn finding_metric(_: &Params, id: &str) -> Option<String> {
        let (base, name) = id.rsplit_once('.')?;
        match name {
            "policy_lowers_gini" => Some(format!("{base}.diff.final_gini")),
            "policy_changes_trust" => Some(format!("{base}.diff.final_mean_trust")),
            "k_payment_at_floor" => Some(format!("{base}.on.final_k_payment")),
            "cluster_is_attacker_fraction" => Some(format!("{base}.on.final_cluster_prevalence")),
            _ => None,
        }
    }
    fn stamp_wall_time(out: &mut SeedOutput, seconds: f64) {
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
    fn report(study: &PolicyStudy, results: &Results, outputs: &[SeedOutput], dir: &Path) -> anyhow::Result<String> {
        report::report(&study.params, results, outputs, dir)
    }
    fn study_metrics(
        study: &PolicyStudy,
        results: &Results,
        _outputs: &[SeedOutput],
    ) -> BTreeMap<String, MetricResult> {
        report::study_metrics(&study.params, results)
    }
    fn extra(study: &PolicyStudy, results: &Results, outputs: &[SeedOutput]) -> serde_json::Map<String, Value> {
        report::extra(&study.params, results, outputs)
    }
}
