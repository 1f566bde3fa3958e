//! Running studies: one seed to the end (with progress and periodic
//! snapshots), many seeds in parallel, snapshots to resume, and steppers.

use crate::engine::progress::Tracker;
use crate::engine::snapshot;
use crate::engine::{AgentRef, Counters, EventInfo, Model, PendingInfo, SimTime, Simulation, StepInfo, TimeUnit};
use crate::report::results::{FindingDef, Results, SeedOutput, Table, VerdictRule};
use crate::study::Scenario;
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A model that can report one seed's metrics.
pub trait StudyModel: Model + Send + 'static {
    /// The kind names of the model's events, as `step` prints them and
    /// `step --kind` and breakpoints take them (each model's
    /// `EVENT_KINDS`; empty: not listed, and kinds are not checked).
    const EVENT_KINDS: &'static [&'static str] = &[];

    /// Metrics, findings, tables and series of a finished run.
    fn seed_output(&self, seed: u64) -> SeedOutput;

    /// A new run of the scenario and seed of `run` (read from a snapshot,
    /// its engine part already checked by `Simulation::validate_engine`),
    /// for validating it against: `Model::validate` compares what a run
    /// never changes with it. Before building anything from the scenario,
    /// an implementation checks that the scenario resolves to the model's
    /// parameters and that the run holds what those parameters ask for
    /// (agents, scripted events), so a forged scenario cannot make this
    /// allocate much more than the snapshot holds.
    fn fresh_run(run: &Run<Self>) -> Result<Run<Self>, String>
    where
        Self: Sized;
}

/// What identifies a run inside a snapshot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunMeta {
    /// Study id.
    pub study: String,
    /// Scenario file path as given.
    pub scenario_path: String,
    /// The resolved scenario (TOML).
    pub scenario_toml: String,
    /// Master seed.
    pub seed: u64,
}

impl RunMeta {
    /// The metadata of a run of `study` on `scenario` with master seed `seed`.
    pub fn of(study: &str, scenario: &Scenario, seed: u64) -> RunMeta {
        RunMeta {
            study: study.to_string(),
            scenario_path: scenario.path.display().to_string(),
            scenario_toml: scenario.to_toml(),
            seed,
        }
    }

    /// Rebuild the scenario stored in the snapshot.
    pub fn scenario(&self) -> anyhow::Result<Scenario> {
        Ok(Scenario::parse(&self.scenario_toml, Path::new(&self.scenario_path), &[])?)
    }
}

/// A snapshot body: run identity plus the whole simulation.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Run<M: StudyModel> {
    /// Which run this is.
    pub meta: RunMeta,
    /// The simulation.
    pub sim: Simulation<M>,
}

/// Whether a run should stop at its next safe point (between events).
#[derive(Clone, Default)]
pub struct StopCheck(Option<Arc<dyn Fn() -> bool + Send + Sync>>);

impl StopCheck {
    /// Never stop early.
    pub fn never() -> StopCheck {
        StopCheck(None)
    }
    /// Stop when SIGINT or SIGTERM arrived ([`crate::engine::interrupt`]).
    pub fn on_interrupt() -> StopCheck {
        StopCheck::when(crate::engine::interrupt::requested)
    }
    /// Stop when `f` says so (tests interrupt runs at chosen points).
    pub fn when(f: impl Fn() -> bool + Send + Sync + 'static) -> StopCheck {
        StopCheck(Some(Arc::new(f)))
    }
    /// Whether to stop now.
    #[inline]
    pub fn should_stop(&self) -> bool {
        self.0.as_ref().is_some_and(|f| f())
    }
}

impl std::fmt::Debug for StopCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "StopCheck(when)" } else { "StopCheck(never)" })
    }
}

/// Options of a run: progress, snapshots, early stop.
#[derive(Clone)]
pub struct RunControl {
    /// Where progress goes.
    pub tracker: Tracker,
    /// Write a snapshot every this many ticks of simulated time.
    pub snapshot_every: Option<u64>,
    /// Directory for snapshots.
    pub snapshot_dir: PathBuf,
    /// When to stop before the end (checked between batches of events).
    pub stop: StopCheck,
}

impl RunControl {
    /// No progress, no snapshots, no early stop.
    pub fn quiet() -> RunControl {
        RunControl {
            tracker: Tracker::detached(),
            snapshot_every: None,
            snapshot_dir: PathBuf::from("."),
            stop: StopCheck::never(),
        }
    }
}

/// How [`Run::drive`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DriveEnd {
    /// The run is over: its horizon reached or no event left.
    Finished,
    /// The time asked for was reached before the end.
    Until,
    /// Stopped early by [`RunControl::stop`], between two events.
    Stopped,
}

/// Events handled between two checks of [`RunControl::stop`].
pub const STOP_CHECK_EVENTS: u64 = 1 << 16;

/// File name of a snapshot of `study`, `seed` at `t`.
pub fn snapshot_name(study: &str, seed: u64, t: SimTime, unit: TimeUnit) -> String {
    let v = t.ticks() as f64 / unit.ticks() as f64;
    format!("{study}-seed{seed}-{}{}.snap", trim_float(v), unit.suffix())
}

fn trim_float(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

impl<M: StudyModel> Run<M> {
    /// A fresh run.
    pub fn new(meta: RunMeta, model: M) -> Self {
        let sim = Simulation::new(model, meta.seed);
        Run { meta, sim }
    }

    /// Scenario hash written into snapshot headers.
    pub fn scenario_hash(&self) -> u64 {
        crate::engine::rng::fnv1a(self.meta.scenario_toml.as_bytes())
    }

    /// Save to `path` (atomically).
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        snapshot::write(path, self.sim.model.kind(), self.scenario_hash(), self)?;
        Ok(())
    }

    /// Whether the run is over: no event left, or the next one after the
    /// horizon.
    pub fn done(&mut self) -> bool {
        let horizon = self.sim.model.horizon();
        self.sim.next_time().is_none_or(|t| t > horizon)
    }

    /// Run until `until` (or the end), reporting progress, writing snapshots
    /// every `ctl.snapshot_every` ticks and stopping early when `ctl.stop`
    /// says so.
    pub fn drive(&mut self, until: SimTime, ctl: &RunControl) -> anyhow::Result<DriveEnd> {
        let horizon = self.sim.model.horizon();
        let target = until.min(horizon.max(self.sim.now()));
        let chunk = (horizon.ticks() / 200).max(1);
        let mut reported = self.sim.now().min(target);
        let mut next_snap = ctl.snapshot_every.map(|e| {
            let e = e.max(1);
            SimTime((self.sim.now().ticks() / e + 1).saturating_mul(e))
        });
        loop {
            if self.done() {
                ctl.tracker.advance(target.since(reported), 0);
                return Ok(DriveEnd::Finished);
            }
            if ctl.stop.should_stop() {
                return Ok(DriveEnd::Stopped);
            }
            let mut stop = SimTime(reported.ticks().saturating_add(chunk)).min(target);
            if let Some(s) = next_snap {
                stop = stop.min(s);
            }
            let events = self.sim.run_until_max(stop, STOP_CHECK_EVENTS);
            if events == STOP_CHECK_EVENTS && self.sim.next_time().is_some_and(|t| t <= stop) {
                // More events before `stop`: report what was done, check for
                // a stop request, and go on.
                let now = self.sim.now().max(reported);
                ctl.tracker.advance(now.since(reported), events);
                reported = now;
                continue;
            }
            ctl.tracker.advance(stop.since(reported), events);
            reported = stop;
            if let (Some(s), Some(every)) = (next_snap, ctl.snapshot_every)
                && stop == s
                && !self.done()
            {
                let path = ctl.snapshot_dir.join(snapshot_name(&self.meta.study, self.meta.seed, s, M::TIME_UNIT));
                self.save(&path).with_context(|| format!("writing snapshot {}", path.display()))?;
                next_snap = Some(SimTime(s.ticks().saturating_add(every.max(1))));
            }
            if stop >= target {
                return Ok(if self.done() { DriveEnd::Finished } else { DriveEnd::Until });
            }
        }
    }
}

/// A study bound to a scenario: everything `run`, `step` and `resume` need.
pub trait Study: Send + Sync {
    /// Study id.
    fn id(&self) -> &'static str;
    /// The scenario.
    fn scenario(&self) -> &Scenario;
    /// `reference` or `corrected`.
    fn fidelity(&self) -> &'static str;
    /// `tick`, `continuous` or `daily`.
    fn timing(&self) -> &'static str;
    /// Resolved switches.
    fn settings(&self) -> serde_json::Map<String, serde_json::Value>;
    /// Default master seeds: (base, count).
    fn default_seeds(&self) -> (u64, u64);
    /// Verdict thresholds.
    fn verdict(&self) -> VerdictRule;
    /// Finding definitions.
    fn findings(&self) -> &'static [FindingDef];
    /// Time unit users read.
    fn time_unit(&self) -> TimeUnit;
    /// Simulated time of one run.
    fn horizon(&self) -> SimTime;
    /// Run seed to the end (ignores `ctl.stop`: a seed run this way always
    /// finishes).
    fn run_seed(&self, seed: u64, ctl: &RunControl) -> anyhow::Result<SeedOutput> {
        let t0 = std::time::Instant::now();
        let ctl = RunControl { stop: StopCheck::never(), ..ctl.clone() };
        let mut run = self.stepper(seed);
        run.drive(SimTime::MAX, &ctl)?;
        let mut out = self.complete_seed(seed, run.output())?;
        self.stamp_wall_time(&mut out, t0.elapsed().as_secs_f64());
        Ok(out)
    }
    /// Write the wall time a seed took into its output, for studies whose
    /// tables record it (a timing field: not compared between runs).
    fn stamp_wall_time(&self, _output: &mut SeedOutput, _seconds: f64) {}
    /// A stepper at the start of seed.
    fn stepper(&self, seed: u64) -> Box<dyn Stepper>;
    /// Write charts into `dir` and return the Markdown summary.
    fn report(&self, results: &Results, outputs: &[SeedOutput], dir: &Path) -> anyhow::Result<String>;
    /// The master seeds of a study whose seeds come from its grid (the
    /// full study: 1000·iteration + sample); such a study refuses
    /// `--seed`/`--seeds`. `None`: seeds are `seed_base ..`.
    fn grid_seeds(&self) -> Option<Vec<u64>> {
        None
    }
    /// Study-level metrics computed from the aggregated ones (n = 1, e.g.
    /// an effect size), added to `metrics` before `extra` and `report`.
    fn study_metrics(
        &self,
        _results: &Results,
        _outputs: &[SeedOutput],
    ) -> std::collections::BTreeMap<String, crate::report::results::MetricResult> {
        Default::default()
    }
    /// Study-specific blocks of `results.json` (e.g. `claims`), computed
    /// before `report` sees the results.
    fn extra(&self, _results: &Results, _outputs: &[SeedOutput]) -> serde_json::Map<String, serde_json::Value> {
        serde_json::Map::new()
    }
    /// The metric that carries the quantity finding `id` judges (a report
    /// prints its mean and interval beside the verdict), if one does.
    fn finding_metric(&self, _id: &str) -> Option<String> {
        None
    }
    /// The memory a run of this scenario needs, estimated from the scenario
    /// (per running seed and per kept seed output), with the keys that drive
    /// it; [`crate::study::limits::check_memory`] refuses a run that cannot
    /// fit before any seed starts.
    fn footprint(&self) -> crate::study::Footprint;
    /// Finish a seed whose main run came back from a snapshot (a study that
    /// also runs a comparison adds it here).
    fn complete_seed(&self, _seed: u64, output: SeedOutput) -> anyhow::Result<SeedOutput> {
        Ok(output)
    }
}

/// A run that can be stepped, inspected and saved, whatever its model.
pub trait Stepper {
    /// Handle one event.
    fn step(&mut self) -> Option<StepInfo>;
    /// Turn trace notes on or off.
    fn set_tracing(&mut self, on: bool);
    /// Current time.
    fn now(&self) -> SimTime;
    /// Time of the next event.
    fn next_time(&mut self) -> Option<SimTime>;
    /// Time unit users read.
    fn time_unit(&self) -> TimeUnit;
    /// End of the run.
    fn horizon(&self) -> SimTime;
    /// Agent classes of the model.
    fn agent_classes(&self) -> &'static [&'static str];
    /// One agent's state.
    fn show(&self, agent: AgentRef) -> Option<String>;
    /// The agent a user names ([`crate::engine::Model::find_agent`]).
    fn find_agent(&self, name: &str) -> Result<AgentRef, String>;
    /// One agent's named numeric fields ([`crate::engine::Model::agent_fields`]).
    fn agent_fields(&self, agent: AgentRef) -> Option<Vec<(&'static str, f64)>>;
    /// The model state in a paragraph.
    fn describe(&self) -> String;
    /// The kind names of the model's events ([`StudyModel::EVENT_KINDS`]).
    fn event_kinds(&self) -> &'static [&'static str];
    /// The next event, without handling it.
    fn peek(&mut self) -> Option<PendingInfo>;
    /// The first `n` pending events in firing order.
    fn pending_events(&self, n: usize) -> Vec<PendingInfo>;
    /// Handle at most `n` events without collecting trace notes, as fast
    /// as the run goes (stepping back replays with this). Returns the
    /// number handled.
    fn run_events(&mut self, n: u64) -> u64;
    /// The whole simulation (model, queue, clock, streams, counters,
    /// fingerprint) as bytes, to [`Stepper::restore`] later in this
    /// process: `step`'s checkpoints for stepping back.
    fn checkpoint(&self) -> Vec<u8>;
    /// Go back to a state [`Stepper::checkpoint`] took of this run (trace
    /// notes stay as they were set).
    fn restore(&mut self, state: &[u8]) -> anyhow::Result<()>;
    /// Agent counts.
    fn agent_counts(&self) -> Vec<(&'static str, usize)>;
    /// Engine counters.
    fn counters(&self) -> Counters;
    /// Pending events.
    fn pending(&self) -> usize;
    /// Trajectory fingerprint.
    fn fingerprint(&self) -> u64;
    /// Run identity.
    fn meta(&self) -> &RunMeta;
    /// Save a snapshot.
    fn save(&self, path: &Path) -> anyhow::Result<()>;
    /// Run to `until` with progress and periodic snapshots, stopping early
    /// when `ctl.stop` says so.
    fn drive(&mut self, until: SimTime, ctl: &RunControl) -> anyhow::Result<DriveEnd>;
    /// Whether no event is pending.
    fn is_finished(&self) -> bool;
    /// Whether the run is over: no event left, or the next after the horizon.
    fn done(&mut self) -> bool;
    /// The seed's output (meaningful once finished).
    fn output(&self) -> SeedOutput;
    /// Check the model's invariants.
    fn check(&self) -> Result<(), String>;
    /// The model's state bytes (for equivalence tests).
    fn state_bytes(&self) -> Vec<u8>;
}

impl<M: StudyModel> Stepper for Run<M> {
    fn step(&mut self) -> Option<StepInfo> {
        self.sim.step()
    }
    fn set_tracing(&mut self, on: bool) {
        self.sim.set_tracing(on)
    }
    fn now(&self) -> SimTime {
        self.sim.now()
    }
    fn next_time(&mut self) -> Option<SimTime> {
        self.sim.next_time()
    }
    fn time_unit(&self) -> TimeUnit {
        M::TIME_UNIT
    }
    fn horizon(&self) -> SimTime {
        self.sim.model.horizon()
    }
    fn agent_classes(&self) -> &'static [&'static str] {
        M::AGENT_CLASSES
    }
    fn show(&self, agent: AgentRef) -> Option<String> {
        self.sim.model.describe_agent(agent)
    }
    fn find_agent(&self, name: &str) -> Result<AgentRef, String> {
        self.sim.model.find_agent(name)
    }
    fn agent_fields(&self, agent: AgentRef) -> Option<Vec<(&'static str, f64)>> {
        self.sim.model.agent_fields(agent)
    }
    fn describe(&self) -> String {
        self.sim.model.describe()
    }
    fn event_kinds(&self) -> &'static [&'static str] {
        M::EVENT_KINDS
    }
    fn peek(&mut self) -> Option<PendingInfo> {
        self.sim.peek().map(|(time, seq, e)| PendingInfo { time, seq, kind: e.kind(), agent: e.agent() })
    }
    fn pending_events(&self, n: usize) -> Vec<PendingInfo> {
        self.sim
            .pending_first(n)
            .into_iter()
            .map(|(time, seq, e)| PendingInfo { time, seq, kind: e.kind(), agent: e.agent() })
            .collect()
    }
    fn run_events(&mut self, n: u64) -> u64 {
        self.sim.run_events(n)
    }
    fn checkpoint(&self) -> Vec<u8> {
        snapshot::state_bytes(&self.sim)
    }
    fn restore(&mut self, state: &[u8]) -> anyhow::Result<()> {
        let tracing = self.sim.tracing();
        self.sim = snapshot::from_state_bytes(state).map_err(|e| anyhow::anyhow!("restoring a checkpoint: {e}"))?;
        self.sim.set_tracing(tracing);
        Ok(())
    }
    fn agent_counts(&self) -> Vec<(&'static str, usize)> {
        self.sim.model.agent_counts()
    }
    fn counters(&self) -> Counters {
        self.sim.counters()
    }
    fn pending(&self) -> usize {
        self.sim.pending()
    }
    fn fingerprint(&self) -> u64 {
        self.sim.fingerprint()
    }
    fn meta(&self) -> &RunMeta {
        &self.meta
    }
    fn save(&self, path: &Path) -> anyhow::Result<()> {
        Run::save(self, path)
    }
    fn drive(&mut self, until: SimTime, ctl: &RunControl) -> anyhow::Result<DriveEnd> {
        Run::drive(self, until, ctl)
    }
    fn done(&mut self) -> bool {
        Run::done(self)
    }
    fn is_finished(&self) -> bool {
        self.sim.is_finished()
    }
    fn output(&self) -> SeedOutput {
        let mut out = self.sim.model.seed_output(self.meta.seed);
        let c = self.sim.counters();
        // The engine's row per seed; `runs.csv` is left to models that run
        // several runs inside a seed (the monetary-policy studies).
        out.tables.insert(
            "seeds.csv".into(),
            Table {
                header: ["seed", "simulated_time", "events", "fingerprint", "state_hash"].map(String::from).to_vec(),
                rows: vec![vec![
                    self.meta.seed.to_string(),
                    M::TIME_UNIT.format(self.sim.now()),
                    c.processed.to_string(),
                    format!("{:016x}", self.sim.fingerprint()),
                    format!("{:016x}", crate::engine::rng::fnv1a(&snapshot::state_bytes(&self.sim.model))),
                ]],
            },
        );
        out
    }
    fn check(&self) -> Result<(), String> {
        self.sim.model.check_invariants()
    }
    fn state_bytes(&self) -> Vec<u8> {
        snapshot::state_bytes(&self.sim.model)
    }
}

/// Load a snapshot body of model `M` (the header already checked) and
/// validate it before anything runs it: the header's model kind and
/// scenario hash must match the run in the body, the body's scenario must
/// resolve to the model's parameters, and the simulation must pass
/// `Simulation::validate` against a new run of that scenario and seed.
pub fn load_run<M: StudyModel>(
    path: &Path,
    header: &snapshot::Header,
    body: &[u8],
    accept: &[&str],
) -> anyhow::Result<Run<M>> {
    let run: Run<M> = snapshot::decode(path, header, body, accept)?;
    let invalid = |message: String| snapshot::SnapshotError::Invalid { path: path.to_path_buf(), message };
    if run.meta.study != header.model_kind {
        return Err(invalid(format!(
            "the header names model `{}` but the body holds a run of `{}`",
            header.model_kind, run.meta.study
        ))
        .into());
    }
    if run.sim.model.kind() != run.meta.study {
        return Err(invalid(format!(
            "the run names study `{}` but its model is `{}`",
            run.meta.study,
            run.sim.model.kind()
        ))
        .into());
    }
    if run.scenario_hash() != header.scenario_hash {
        return Err(invalid(format!(
            "the header's scenario hash {:016x} is not the hash {:016x} of the scenario in the body",
            header.scenario_hash,
            run.scenario_hash()
        ))
        .into());
    }
    run.sim.validate_engine(run.meta.seed).map_err(invalid)?;
    let fresh = M::fresh_run(&run).map_err(invalid)?;
    run.sim.validate(&fresh.sim).map_err(invalid)?;
    Ok(run)
}

/// The scenario stored in a snapshot's run, checked to be of its study:
/// for `StudyModel::fresh_run`.
pub fn stored_scenario(meta: &RunMeta) -> Result<Scenario, String> {
    let s = meta.scenario().map_err(|e| format!("the scenario stored in the snapshot does not load: {e:#}"))?;
    if s.study != meta.study {
        return Err(format!(
            "the scenario stored in the snapshot is of study `{}`, the run of `{}`",
            s.study, meta.study
        ));
    }
    Ok(s)
}

/// Whether two values encode to the same bytes (parameters of a snapshot's
/// model against those its scenario resolves to).
pub fn same_bytes<T: Serialize>(a: &T, b: &T) -> bool {
    snapshot::state_bytes(a) == snapshot::state_bytes(b)
}
