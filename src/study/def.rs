//! The study framework: a study states what is its own once, in a
//! [`StudyDef`], and [`StudyOf`] turns it into a [`Study`] (runs, seeds,
//! the comparison with the other fidelity, snapshots); one
//! [`StudyEntry`] row in `models::REGISTRY` makes the command line know it.
//!
//! A study is one folder under `src/models/` (its scenario keys, its
//! `Model`, its metrics and report) plus its row; `docs/adding_a_study.md`
//! walks through a minimal one.

use super::run::{Run, RunControl, RunMeta, Stepper, Study, StudyModel};
use super::{Fidelity, Footprint, Scenario, ScenarioError};
use crate::engine::snapshot;
use crate::engine::{Model, SimTime, TimeUnit};
use crate::report::results::{FindingDef, MetricResult, Results, SeedOutput, VerdictRule};
use std::collections::BTreeMap;
use std::path::Path;

/// What a study's resolved parameters say about how it runs: the header
/// keys every scenario shares, after the study's checks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Common {
    /// `reference` or `corrected`.
    pub fidelity: Fidelity,
    /// First default master seed.
    pub seed_base: u64,
    /// Number of default seeds.
    pub seeds: u64,
    /// Verdict thresholds.
    pub verdict: VerdictRule,
}

/// One study, stated once. Everything with a default is optional.
pub trait StudyDef: Send + Sync + Sized + 'static {
    /// The study ids (the `study` key of scenario files) this definition
    /// runs; several ids may share a model (e.g. three reliability studies).
    const IDS: &'static [&'static str];
    /// The default of the header key `compare_fidelities`: whether a run
    /// also runs every seed in the other fidelity.
    const COMPARE_BY_DEFAULT: bool = false;
    /// Resolved, checked parameters.
    type Params: Clone + Send + Sync + 'static;
    /// The model a seed runs.
    type Model: StudyModel;

    /// Check a scenario and resolve its parameters; errors name the key.
    fn resolve(scenario: &Scenario) -> Result<Self::Params, ScenarioError>;
    /// Fidelity, default seeds and verdict thresholds of `p`.
    fn common(p: &Self::Params) -> Common;
    /// A fresh model of `p` (the engine seeds it from the master seed).
    fn model(p: &Self::Params) -> Self::Model;
    /// Simulated time of one run of `p`, without building a model.
    fn horizon(p: &Self::Params) -> SimTime;
    /// Resolved switches and parameters for `results.json`.
    fn settings(p: &Self::Params) -> serde_json::Map<String, serde_json::Value>;
    /// The findings a run of `p` judges.
    fn findings(p: &Self::Params) -> &'static [FindingDef];
    /// The memory a run of `p` needs, with the keys that drive it.
    fn footprint(p: &Self::Params) -> Footprint;
    /// Write charts into `dir` and return the Markdown summary (below the
    /// header the framework writes). By default: every metric with its
    /// interval, then the findings with their verdicts; no charts.
    fn report(study: &StudyOf<Self>, results: &Results, outputs: &[SeedOutput], dir: &Path) -> anyhow::Result<String> {
        let _ = (study, outputs, dir);
        Ok(format!(
            "\n## Metrics\n\n{}\n## Findings\n\n{}",
            crate::report::markdown::metrics_table(&results.metrics, None),
            crate::report::markdown::findings_table(&results.findings)
        ))
    }
    /// `tick`, `continuous` or `daily`: by default `daily` for models that
    /// count days and `continuous` otherwise.
    fn timing(_p: &Self::Params) -> &'static str {
        if <Self::Model as Model>::TIME_UNIT == TimeUnit::Days { "daily" } else { "continuous" }
    }
    /// The metric that carries the quantity finding `id` judges.
    fn finding_metric(_p: &Self::Params, _id: &str) -> Option<String> {
        None
    }
    /// Master seeds from the study's grid (then `--seed`/`--seeds` are
    /// refused); `None`: seeds are `seed_base ..`.
    fn grid_seeds(_p: &Self::Params) -> Option<Vec<u64>> {
        None
    }
    /// Study-level metrics computed from the aggregated ones.
    fn study_metrics(
        _study: &StudyOf<Self>,
        _results: &Results,
        _outputs: &[SeedOutput],
    ) -> BTreeMap<String, MetricResult> {
        BTreeMap::new()
    }
    /// Study-specific blocks of `results.json`.
    fn extra(
        _study: &StudyOf<Self>,
        _results: &Results,
        _outputs: &[SeedOutput],
    ) -> serde_json::Map<String, serde_json::Value> {
        serde_json::Map::new()
    }
    /// Write a seed's wall time into its output (a timing field).
    fn stamp_wall_time(_output: &mut SeedOutput, _seconds: f64) {}
    /// Copy what the comparison run (in fidelity `name`) computed into the
    /// main run's output. By default every metric and series becomes
    /// `compare.<name>.<key>` and every finding the 0/1 metric
    /// `compare.<name>.finding.<id>` (findings are judged on the study's own
    /// fidelity); tables are not copied.
    fn add_compared(name: &str, compared: &SeedOutput, out: &mut SeedOutput) {
        for (k, v) in &compared.series {
            out.series.insert(format!("compare.{name}.{k}"), v.clone());
        }
        for (k, v) in &compared.metrics {
            out.metrics.insert(format!("compare.{name}.{k}"), *v);
            if compared.binary.contains(k) {
                out.binary.insert(format!("compare.{name}.{k}"));
            }
        }
        for (id, f) in &compared.findings {
            let k = format!("compare.{name}.finding.{id}");
            out.metrics.insert(k.clone(), f.map(|b| if b { 1.0 } else { 0.0 }));
            out.binary.insert(k);
        }
    }
}

/// A study bound to its scenario: the one implementation of [`Study`].
pub struct StudyOf<D: StudyDef> {
    /// The study id (one of `D::IDS`).
    pub id: &'static str,
    /// The scenario.
    pub scenario: Scenario,
    /// Resolved parameters.
    pub params: D::Params,
    /// With `compare_fidelities`: the same scenario in the other fidelity
    /// (switches left on "auto" take that fidelity's values; switches set
    /// explicitly stay), and its parameters.
    pub other: Option<(Scenario, D::Params)>,
}

impl<D: StudyDef> StudyOf<D> {
    /// Resolve a scenario of one of `D::IDS`.
    pub fn new(scenario: Scenario) -> Result<Self, ScenarioError> {
        let id = D::IDS.iter().copied().find(|i| *i == scenario.study).ok_or_else(|| {
            scenario.invalid(format!("study `{}` is not one of {}", scenario.study, D::IDS.join(", ")))
        })?;
        let params = D::resolve(&scenario)?;
        let compare = scenario.header(0, 0)?.compare_fidelities.unwrap_or(D::COMPARE_BY_DEFAULT);
        let other = if compare {
            let mut s = scenario.clone();
            let f = match D::common(&params).fidelity {
                Fidelity::Reference => Fidelity::Corrected,
                Fidelity::Corrected => Fidelity::Reference,
            };
            s.table.insert("fidelity".into(), toml::Value::String(f.name().into()));
            let p = D::resolve(&s).map_err(|e| match e {
                ScenarioError::Invalid { path, message } => ScenarioError::Invalid {
                    path,
                    message: format!(
                        "{message} (in the {}-fidelity comparison run of `compare_fidelities = true`)",
                        f.name()
                    ),
                },
                other => other,
            })?;
            Some((s, p))
        } else {
            None
        };
        Ok(StudyOf { id, scenario, params, other })
    }

    /// A fresh run of `seed` in the study's fidelity.
    pub fn new_run(&self, seed: u64) -> Run<D::Model> {
        Run::new(RunMeta::of(self.id, &self.scenario, seed), D::model(&self.params))
    }

    /// The comparison fidelity's name, with `compare_fidelities`.
    pub fn other_name(&self) -> Option<&'static str> {
        self.other.as_ref().map(|(_, p)| D::common(p).fidelity.name())
    }
}

impl<D: StudyDef> Study for StudyOf<D> {
    fn id(&self) -> &'static str {
        self.id
    }
    fn scenario(&self) -> &Scenario {
        &self.scenario
    }
    fn fidelity(&self) -> &'static str {
        D::common(&self.params).fidelity.name()
    }
    fn timing(&self) -> &'static str {
        D::timing(&self.params)
    }
    fn settings(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut m = D::settings(&self.params);
        if let Some(f) = self.other_name() {
            m.entry("compare_fidelities").or_insert(serde_json::Value::Bool(true));
            m.insert("compare_with".into(), serde_json::Value::String(f.into()));
        }
        m
    }
    fn default_seeds(&self) -> (u64, u64) {
        let c = D::common(&self.params);
        (c.seed_base, c.seeds)
    }
    fn verdict(&self) -> VerdictRule {
        D::common(&self.params).verdict
    }
    fn findings(&self) -> &'static [FindingDef] {
        D::findings(&self.params)
    }
    fn time_unit(&self) -> TimeUnit {
        <D::Model as Model>::TIME_UNIT
    }
    fn horizon(&self) -> SimTime {
        let main = D::horizon(&self.params);
        match &self.other {
            Some((_, p)) => SimTime(main.ticks().saturating_add(D::horizon(p).ticks())),
            None => main,
        }
    }
    fn stamp_wall_time(&self, output: &mut SeedOutput, seconds: f64) {
        D::stamp_wall_time(output, seconds)
    }
    fn stepper(&self, seed: u64) -> Box<dyn Stepper> {
        Box::new(self.new_run(seed))
    }
    fn report(&self, results: &Results, outputs: &[SeedOutput], dir: &Path) -> anyhow::Result<String> {
        D::report(self, results, outputs, dir)
    }
    fn grid_seeds(&self) -> Option<Vec<u64>> {
        D::grid_seeds(&self.params)
    }
    fn study_metrics(&self, results: &Results, outputs: &[SeedOutput]) -> BTreeMap<String, MetricResult> {
        D::study_metrics(self, results, outputs)
    }
    fn extra(&self, results: &Results, outputs: &[SeedOutput]) -> serde_json::Map<String, serde_json::Value> {
        D::extra(self, results, outputs)
    }
    fn finding_metric(&self, id: &str) -> Option<String> {
        D::finding_metric(&self.params, id)
    }
    fn footprint(&self) -> Footprint {
        let main = D::footprint(&self.params);
        match &self.other {
            // The comparison run follows the main one, whose output it keeps
            // (the main run's model is gone by then).
            Some((_, p)) => {
                let other = D::footprint(p);
                Footprint { per_run: main.per_run.max(other.per_run + main.per_output), ..main }
            }
            None => main,
        }
    }
    fn complete_seed(&self, seed: u64, mut output: SeedOutput) -> anyhow::Result<SeedOutput> {
        let Some((scn, p)) = &self.other else { return Ok(output) };
        let mut run = Run::new(RunMeta::of(self.id, scn, seed), D::model(p));
        run.drive(SimTime::MAX, &RunControl::quiet())?;
        let compared = run.sim.model.seed_output(seed);
        D::add_compared(D::common(p).fidelity.name(), &compared, &mut output);
        Ok(output)
    }
}

/// Decodes and validates a snapshot body (the header already read).
pub type SnapshotLoad = fn(&Path, &snapshot::Header, &[u8]) -> anyhow::Result<Box<dyn Stepper>>;

/// One row of the registry: the ids a study runs and how to open its
/// scenarios and snapshots.
pub struct StudyEntry {
    /// Study ids (and snapshot model kinds).
    pub ids: &'static [&'static str],
    /// Bind a scenario of one of `ids`.
    pub open: fn(Scenario) -> Result<Box<dyn Study>, ScenarioError>,
    /// Decode and validate a snapshot body whose header names one of `ids`.
    pub load: SnapshotLoad,
}

impl StudyEntry {
    /// The row of study `D`.
    pub const fn of<D: StudyDef>() -> StudyEntry {
        StudyEntry { ids: D::IDS, open: open_def::<D>, load: load_def::<D> }
    }
}

fn open_def<D: StudyDef>(scenario: Scenario) -> Result<Box<dyn Study>, ScenarioError> {
    Ok(Box::new(StudyOf::<D>::new(scenario)?))
}

fn load_def<D: StudyDef>(path: &Path, header: &snapshot::Header, body: &[u8]) -> anyhow::Result<Box<dyn Stepper>> {
    let kind = D::IDS.iter().copied().find(|k| *k == header.model_kind).unwrap_or(D::IDS[0]);
    Ok(Box::new(super::run::load_run::<D::Model>(path, header, body, &[kind])?))
}
