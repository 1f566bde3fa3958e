//! The M/M/1 queue: the minimal example study of `docs/adding_a_study.md`.
//!
//! Customers arrive at rate λ (`arrival_rate`, per hour) and one server
//! serves them first come, first served, at rate μ (`service_rate`, per
//! hour). Queueing theory gives the steady state exactly: utilisation
//! ρ = λ/μ, mean time in system W = 1/(μ − λ), mean number in system
//! L = ρ/(1 − ρ). The study checks the engine against it, over seeds.
//! The next arrival is always scheduled, so a run ends with one pending
//! past its horizon (the case `resume` must stop at the horizon for).

use crate::engine::time::{hours_to_ticks, ticks_to_hours};
use crate::engine::{AgentRef, Audit, Ctx, EventInfo, Model, SimTime, TimeUnit};
use crate::report::results::{FindingDef, SeedOutput};
use crate::study::{Common, Fidelity, Footprint, Keys, Run, Scenario, ScenarioError, StudyDef, StudyModel};
use rand_distr::{Distribution, Exp1};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// The kind names of the model's events, as `step --kind` takes them.
pub const EVENT_KINDS: &[&str] = &["Arrival", "Departure"];

/// The study's own keys, as a scenario file writes them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Mm1Keys {
    arrival_rate: Option<f64>,
    service_rate: Option<f64>,
    hours: Option<f64>,
    tolerance: Option<f64>,
}

/// The queue's parameters (the model keeps them: a snapshot holds them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Setup {
    /// λ, arrivals per hour.
    pub arrival_rate: f64,
    /// μ, services per hour (> λ: the queue is stable).
    pub service_rate: f64,
    /// Length of a run, in hours.
    pub hours: f64,
    /// Relative error a finding allows.
    pub tolerance: f64,
}

/// Resolved parameters: the queue's and the header's.
#[derive(Clone, Debug)]
pub struct Params {
    /// The queue.
    pub setup: Setup,
    /// Fidelity, seeds, verdict thresholds.
    pub common: Common,
}

/// The model: the customers in the system, oldest (in service) first.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Queue {
    params: Setup,
    /// Arrival time of every customer in the system.
    in_system: VecDeque<SimTime>,
    arrived: u64,
    served: u64,
    /// Hours in system, summed over served customers.
    time_in_system: f64,
    /// ∫ number in system dt and ∫ busy dt, in hours, up to `last`.
    area: f64,
    busy: f64,
    last: SimTime,
}

/// One seed's metrics, as `results.json` names them.
#[derive(Serialize)]
struct SeedRecord {
    mean_time_in_system_hours: Option<f64>,
    mean_in_system: f64,
    utilization: f64,
    served: u64,
}

/// The model's events.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Ev {
    /// A customer arrives.
    Arrival,
    /// The customer in service leaves.
    Departure,
}

impl EventInfo for Ev {
    fn kind(&self) -> &'static str {
        match self {
            Ev::Arrival => "Arrival",
            Ev::Departure => "Departure",
        }
    }
}

const ARRIVALS: usize = 0;
const SERVICE: usize = 1;

impl Queue {
    /// Add the time since the last event to the areas.
    fn advance(&mut self, now: SimTime) {
        let dt = ticks_to_hours(now.ticks() - self.last.ticks());
        self.area += dt * self.in_system.len() as f64;
        self.busy += if self.in_system.is_empty() { 0.0 } else { dt };
        self.last = now;
    }
    fn schedule_departure(&self, ctx: &mut Ctx<'_, Ev>) {
        let h = Distribution::<f64>::sample(&Exp1, ctx.rng(SERVICE)) / self.params.service_rate;
        ctx.schedule_in(hours_to_ticks(h).max(1), Ev::Departure);
    }
    fn schedule_arrival(&self, ctx: &mut Ctx<'_, Ev>) {
        let h = Distribution::<f64>::sample(&Exp1, ctx.rng(ARRIVALS)) / self.params.arrival_rate;
        ctx.schedule_in(hours_to_ticks(h).max(1), Ev::Arrival);
    }
}

impl Model for Queue {
    type Event = Ev;
    const STREAMS: &'static [&'static str] = &["arrivals", "service"];
    const AGENT_CLASSES: &'static [&'static str] = &["server"];
    const TIME_UNIT: TimeUnit = TimeUnit::Hours;

    fn kind(&self) -> &'static str {
        "mm1"
    }
    fn start(&mut self, ctx: &mut Ctx<'_, Ev>) {
        self.schedule_arrival(ctx);
    }
    fn handle(&mut self, ev: Ev, ctx: &mut Ctx<'_, Ev>) {
        self.advance(ctx.now());
        match ev {
            Ev::Arrival => {
                self.in_system.push_back(ctx.now());
                self.arrived += 1;
                if self.in_system.len() == 1 {
                    self.schedule_departure(ctx);
                }
                self.schedule_arrival(ctx);
            }
            Ev::Departure => {
                let Some(t) = self.in_system.pop_front() else { return };
                self.served += 1;
                self.time_in_system += ticks_to_hours(ctx.now().ticks() - t.ticks());
                if !self.in_system.is_empty() {
                    self.schedule_departure(ctx);
                }
            }
        }
        ctx.note(Some(AgentRef::new("server", 0)), || {
            format!("{} in system, {} served", self.in_system.len(), self.served)
        });
    }
    fn horizon(&self) -> SimTime {
        SimTime(hours_to_ticks(self.params.hours))
    }
    fn check_invariants(&self) -> Result<(), String> {
        let n = self.in_system.len() as u64;
        match self.arrived.checked_sub(self.served) {
            Some(k) if k == n => Ok(()),
            _ => Err(format!("{} arrived, {} served, {n} in system", self.arrived, self.served)),
        }
    }
    fn agent_counts(&self) -> Vec<(&'static str, usize)> {
        vec![("server", 1)]
    }
    fn describe_agent(&self, agent: AgentRef) -> Option<String> {
        (agent.id == 0).then(|| format!("{} in system, {} served", self.in_system.len(), self.served))
    }
    fn find_agent(&self, name: &str) -> Result<AgentRef, String> {
        AgentRef::parse_within(name, &[("server", 1)])
    }
    fn agent_fields(&self, agent: AgentRef) -> Option<Vec<(&'static str, f64)>> {
        let n = |x: u64| x as f64;
        (agent.id == 0).then(|| {
            vec![("in_system", self.in_system.len() as f64), ("served", n(self.served)), ("arrived", n(self.arrived))]
        })
    }
    fn validate(&self, audit: &Audit<'_, Self>) -> Result<(), String> {
        self.check_invariants()?;
        let departures = audit.pending.iter().filter(|e| matches!(e.event, Ev::Departure)).count();
        let ok = audit.pending.len() - departures == 1
            && departures == usize::from(!self.in_system.is_empty())
            && self.last <= audit.now
            && self.in_system.iter().all(|t| *t <= self.last)
            && self.params == audit.fresh.params;
        if ok { Ok(()) } else { Err("the queue does not match its pending events or its scenario".into()) }
    }
}

impl StudyModel for Queue {
    const EVENT_KINDS: &'static [&'static str] = EVENT_KINDS;
    fn seed_output(&self, seed: u64) -> SeedOutput {
        let p = &self.params;
        let hours = ticks_to_hours(self.last.ticks()).max(f64::MIN_POSITIVE);
        let w = (self.served > 0).then(|| self.time_in_system / self.served as f64);
        let rec = SeedRecord {
            mean_time_in_system_hours: w,
            mean_in_system: self.area / hours,
            utilization: self.busy / hours,
            served: self.served,
        };
        let close = |x: f64, y: f64| (x - y).abs() <= p.tolerance * y.abs();
        let mut out = SeedOutput::new(seed);
        out.record("", &rec).expect("a record of numbers");
        out.finding(TIME_IN_SYSTEM.id, w.map(|w| close(w, 1.0 / (p.service_rate - p.arrival_rate))));
        out.finding(LITTLE.id, w.map(|w| close(rec.mean_in_system, self.served as f64 / hours * w)));
        out.finding(RHO.id, Some(close(rec.utilization, p.arrival_rate / p.service_rate)));
        out.mark_non_negative(&["*"]);
        out
    }
    fn fresh_run(run: &Run<Self>) -> Result<Run<Self>, String> {
        let scenario = run.meta.scenario().map_err(|e| e.to_string())?;
        let params = Mm1::resolve(&scenario).map_err(|e| e.to_string())?;
        if params.setup != run.sim.model.params {
            return Err("the model's parameters are not those of the scenario stored beside it".into());
        }
        Ok(Run::new(run.meta.clone(), Mm1::model(&params)))
    }
}

/// The study: one id, one model.
pub struct Mm1;

const TIME_IN_SYSTEM: FindingDef =
    FindingDef { id: "time_in_system_is_theory", claim: "mean time in system is 1/(μ − λ), within the tolerance" };
const LITTLE: FindingDef =
    FindingDef { id: "littles_law", claim: "L = λW on every run (Little's law), within the tolerance" };
const RHO: FindingDef = FindingDef {
    id: "utilization_is_rho",
    claim: "the server is busy a share ρ = λ/μ of the time, within the tolerance",
};
const FINDINGS: &[FindingDef] = &[TIME_IN_SYSTEM, LITTLE, RHO];

impl StudyDef for Mm1 {
    const IDS: &'static [&'static str] = &["mm1"];
    type Params = Params;
    type Model = Queue;

    fn resolve(scenario: &Scenario) -> Result<Params, ScenarioError> {
        let raw: Mm1Keys = scenario.decode()?;
        let h = scenario.header(20, 1)?;
        let k = Keys::new(scenario, h.fidelity);
        if h.fidelity == Fidelity::Reference {
            return Err(k.err("study `mm1` has no reference script: only `fidelity = \"corrected\"`"));
        }
        let lambda = k.rate("arrival_rate", raw.arrival_rate, 0.8, TimeUnit::Hours)?;
        let mu = k.rate("service_rate", raw.service_rate, 1.0, TimeUnit::Hours)?;
        if lambda <= 0.0 || lambda >= mu {
            return Err(k.err(format!("the queue needs 0 < `arrival_rate` < `service_rate` (got {lambda} and {mu})")));
        }
        let hours = raw.hours.unwrap_or(20_000.0);
        k.duration_ticks("hours", hours, TimeUnit::Hours)?;
        let tolerance = k.positive("tolerance", raw.tolerance, 0.1)?;
        let common = Common { fidelity: h.fidelity, seed_base: h.seed_base, seeds: h.seeds, verdict: h.verdict };
        Ok(Params { setup: Setup { arrival_rate: lambda, service_rate: mu, hours, tolerance }, common })
    }
    fn common(p: &Params) -> Common {
        p.common
    }
    fn model(p: &Params) -> Queue {
        let (params, in_system, last) = (p.setup.clone(), VecDeque::new(), SimTime::ZERO);
        Queue { params, in_system, arrived: 0, served: 0, time_in_system: 0.0, area: 0.0, busy: 0.0, last }
    }
    fn horizon(p: &Params) -> SimTime {
        SimTime(hours_to_ticks(p.setup.hours))
    }
    fn settings(p: &Params) -> serde_json::Map<String, serde_json::Value> {
        match serde_json::to_value(&p.setup) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        }
    }
    fn findings(_: &Params) -> &'static [FindingDef] {
        FINDINGS
    }
    fn footprint(p: &Params) -> Footprint {
        // A few hundred customers in the system at most, unless λ is close to μ.
        let queue = 64.0 / (1.0 - p.setup.arrival_rate / p.setup.service_rate);
        Footprint::new(64.0 * 1024.0 + 16.0 * queue, 4096.0).driver("arrival_rate", p.setup.arrival_rate)
    }
}
