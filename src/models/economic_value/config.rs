//! Scenario keys of `economic_value` (docs/models/economic_value.md) and their
//! resolution into the parameters the model runs on.

use crate::engine::TimeUnit;
use crate::market::posted::{PostedPriceParams, ProviderParams};
use crate::market::price::PriceParams;
use crate::report::results::VerdictRule;
pub use crate::study::Fidelity;
use crate::study::limits::MAX_GRID_STEPS;
use crate::study::{Keys, Scenario, ScenarioError, Switch};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ops::Bound::Excluded;

/// `[dc]` table.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DcSpec {
    /// Capital cost of a datacenter per provided hour ($/h, >= 0; default 0.30). The provider's
    /// cost is capex + opex, at most 1e9.
    pub capex_per_hour: Option<f64>,
    /// Operating cost of a datacenter per provided hour ($/h, >= 0; default 0.20).
    pub opex_per_hour: Option<f64>,
    /// Probability that a datacenter goes an hour without a hardware failure (in (0, 1]; default
    /// 0.998).
    pub hourly_survival: Option<f64>,
    /// A datacenter cancels a session when an outside offer reaches this multiple of the session's
    /// rate (> 0 or `inf`; default `inf`: bound by its SLA, it never cancels for profit).
    pub cancel_threshold: Option<f64>,
    /// Corrected fidelity: mean downtime after a failure (h, > 0 and at least one engine tick;
    /// default 2.0).
    pub repair_mean_hours: Option<f64>,
}

/// `[home]` table.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HomeSpec {
    /// Capital cost of a home provider per provided hour ($/h, >= 0; default 0.00).
    pub capex_per_hour: Option<f64>,
    /// Operating cost (power) of a home provider per provided hour ($/h, >= 0; default 0.08).
    pub opex_per_hour: Option<f64>,
    /// Probability that a home goes an hour without its owner reclaiming the machine (in (0, 1];
    /// default 0.92).
    pub hourly_survival: Option<f64>,
    /// A home cancels a running session when an outside offer reaches this multiple of the
    /// session's rate (> 0 or `inf`; default 1.5).
    pub cancel_threshold: Option<f64>,
    /// Corrected fidelity: mean time a reclaimed home stays in its owner's use (h, > 0 and at least
    /// one engine tick; default 2.0).
    pub personal_use_mean_hours: Option<f64>,
}

/// `[consumer]` table.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsumerSpec {
    /// Length of a consumer's job, J (h, > 0 and at least one engine tick; default 2.0).
    pub job_hours: Option<f64>,
    /// A number, or a list assigned round-robin by consumer index.
    pub checkpoint_hours: Option<toml::Value>,
    /// Name of the value distribution of consumers (one of [`Values::ALL`]; default
    /// `"alternating"`).
    pub values: Option<String>,
    /// Expected attempts per job assumed when a provider's completion estimate is at most
    /// `min_completion` (>= 1; default 10).
    pub attempts_cap: Option<f64>,
    /// Completion estimate at or below which `attempts_cap` replaces 1 / estimate (a probability in
    /// [0, 1]; default 0.1).
    pub min_completion: Option<f64>,
    /// Corrected fidelity: weight, in sessions, of the prior (survival^J) in a consumer's
    /// completion estimate of a provider (>= 0; default 2.0).
    pub prior_sessions: Option<f64>,
}

/// `[price]` table.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceSpec {
    /// Starting posted price as a multiple of the provider's cost (> 0; default 2.0).
    pub initial_markup: Option<f64>,
    /// Price floor as a multiple of the provider's cost (>= 0; default 1.1).
    pub floor_markup: Option<f64>,
    /// Price cap ($/h, > 0 and at most 1e9; default 5.0).
    pub cap: Option<f64>,
    /// Exponential growth rate of a busy provider's price (1/h, >= 0; default 0.1).
    pub busy_growth_per_hour: Option<f64>,
    /// Exponential decay rate of an idle provider's price (1/h; 0 or at least 1e-6, and times
    /// `tick_hours` below 1; default 0.3).
    pub idle_decay_per_hour: Option<f64>,
}

/// `[outside]` table.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutsideSpec {
    /// Outside price index at the start of a leg ($/h, finite, at most 1e9 in size; default 0.8).
    pub initial_index: Option<f64>,
    /// Level the outside index reverts to ($/h, finite, at most 1e9 in size; default 0.8).
    pub mean_index: Option<f64>,
    /// Mean-reversion rate of the outside index (1/h, >= 0; default 0.2).
    pub reversion_per_hour: Option<f64>,
    /// Diffusion of the outside index ($/h/sqrt(h), >= 0, at most 1e9; default 0.3).
    pub volatility: Option<f64>,
    /// Floor of the observed outside index ($/h, >= 0, at most 1e9; default 0.2).
    pub index_floor: Option<f64>,
    /// Rate of outside offers a busy home sees (1/h, >= 0, mean gap at least one engine tick;
    /// default 0.3).
    pub offer_rate_per_hour: Option<f64>,
    /// Lower bound of U(min, max): an offer is the index times a draw from it (>= 0, at most
    /// `offer_multiplier_max`; default 0.9).
    pub offer_multiplier_min: Option<f64>,
    /// Upper bound of the offer multiplier U(min, max) (>= 0; default 1.3).
    pub offer_multiplier_max: Option<f64>,
    /// Corrected fidelity: mean length of the outside session a home leaves for after a profit
    /// cancel (h, > 0 and at least one engine tick; default 2.0).
    pub session_mean_hours: Option<f64>,
}

/// `[price_setter]` table.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceSetterSpec {
    /// Switch S1, the price setter's rule: `"floor"`, `"optimise"` or `"auto"` (default: by
    /// fidelity, floor for reference and optimise for corrected).
    pub rule: Option<String>,
    /// Floor rule: consumers' bids are shaded by this factor (>= 0; default 0.8).
    pub bid_shading: Option<f64>,
    /// Floor rule: lowest shaded bid ($/h, >= 0, at most 1e9; default 0.01).
    pub min_bid: Option<f64>,
    /// The set price sits at this share of a reservation price (in the open interval (0, 1);
    /// default 0.999).
    pub margin: Option<f64>,
    /// Optimise rule: interval between re-solves of the DC fleet's common price (h, > 0 and at
    /// least one engine tick; default 1.0).
    pub resolve_hours: Option<f64>,
    /// Optimise rule: available homes take demand before the DC fleet when the price is solved
    /// (default true).
    pub fringe_aware: Option<bool>,
}

/// `[sweep.demand]`: consumers per demand level.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepDemand {
    /// Consumers in the `undersupplied` demand level (>= 1; default 30).
    pub undersupplied: Option<i64>,
    /// Consumers in the `balanced` demand level (>= 1; default 15).
    pub balanced: Option<i64>,
    /// Consumers in the `oversupplied` demand level (>= 1; default 8).
    pub oversupplied: Option<i64>,
}

/// `[sweep.checkpoint_hours]`: checkpoint interval per level.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepCheckpoints {
    /// Checkpoint interval of the `frequent` level (h, > 0 and at least one engine tick; default
    /// 0.1).
    pub frequent: Option<f64>,
    /// Checkpoint interval of the `moderate` level (h, > 0 and at least one engine tick; default
    /// 0.5).
    pub moderate: Option<f64>,
    /// Checkpoint interval of the `infrequent` level (h, > 0 and at least one engine tick; default
    /// 1.0).
    pub infrequent: Option<f64>,
}

/// `[sweep]` table.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    /// Run the sweep (default: true when a `[sweep]` table is present).
    pub enabled: Option<bool>,
    /// Datacenters in every sweep cell (>= 1; default 10).
    pub dcs: Option<i64>,
    /// Homes added in every cell's `dc_home` leg (>= 0; default 20).
    pub homes: Option<i64>,
    /// `[sweep.demand]`: consumers per demand level.
    pub demand: Option<SweepDemand>,
    /// `[sweep.checkpoint_hours]`: checkpoint interval per level.
    pub checkpoint_hours: Option<SweepCheckpoints>,
    /// Value distributions swept, by name (distinct, at least one; default `uniform_high`, `mixed`,
    /// `uniform_low`, `wide_spread`).
    pub values: Option<Vec<String>>,
    /// Switch S3: `"on"`, `"off"` or `"auto"` (default: by fidelity, on for reference and off for
    /// corrected). On: a cell's `dc_only` leg has its DCs set a floor price when DCs are fewer than
    /// consumers.
    pub dc_only_price_setter: Option<String>,
    /// A cell is cannibalization when the DC profit per hour changes by less than this (%, finite;
    /// default -5).
    pub cannibalization_pct: Option<f64>,
    /// A cell that is not cannibalization is value creation when compute delivered rises by more
    /// than this (%, finite; default 10); otherwise it is neutral.
    pub value_creation_pct: Option<f64>,
}

/// `[market.<id>]` table.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketSpec {
    /// Datacenters in the market (>= 1; default: the main market's, else 0, which is refused).
    pub dcs: Option<i64>,
    /// Homes added in the `dc_home` leg (>= 0; default: the main market's, else 0).
    pub homes: Option<i64>,
    /// Consumers in the market (>= 1; default: the main market's).
    pub consumers: Option<i64>,
    /// Whether the DCs set their price (default: the main market's, else false).
    pub dc_price_setter: Option<bool>,
}

/// `[claims]` table.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimsSpec {
    /// A numeric claim of the original write-up holds within this share of its anchor (relative, >=
    /// 0; default 0.10).
    pub tolerance: Option<f64>,
}

/// The scenario file, as written.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvScenario {
    /// Horizon of each leg (h, > 0 and at least one engine tick; default 200).
    pub duration_hours: Option<f64>,
    /// Step of the reference fidelity (h, > 0 and at least one engine tick; default 0.1).
    pub tick_hours: Option<f64>,
    /// Period of the time-series samples (h, > 0 and at least one engine tick; default 1.0).
    pub sample_hours: Option<f64>,
    /// Switch S2, who is served first: `"list_order"`, `"bid"` or `"auto"` (default: by fidelity,
    /// list_order for reference and bid for corrected).
    pub match_priority: Option<String>,
    /// Markets to run (default: the four of [`MAIN_MARKETS`], unless only a sweep is configured).
    pub scenarios: Option<Vec<String>>,
    /// Legs of each market (default both).
    pub legs: Option<Vec<String>>,
    /// `[dc]`: the datacenters' costs and failures.
    pub dc: Option<DcSpec>,
    /// `[home]`: the home providers' costs and reclaims.
    pub home: Option<HomeSpec>,
    /// `[consumer]`: jobs, checkpoints, values and completion estimates.
    pub consumer: Option<ConsumerSpec>,
    /// `[price]`: the posted-price process.
    pub price: Option<PriceSpec>,
    /// `[outside]`: the outside market a home may leave for.
    pub outside: Option<OutsideSpec>,
    /// `[price_setter]`: the DCs' price setting in price-setter markets.
    pub price_setter: Option<PriceSetterSpec>,
    /// `[sweep]`: the grid of demand x checkpoint x value cells.
    pub sweep: Option<SweepSpec>,
    /// `[market.<name>]` tables, by market name: override a main market or define a new one.
    pub market: Option<BTreeMap<String, MarketSpec>>,
    /// `[claims]`: how the claims of the original write-up are judged.
    pub claims: Option<ClaimsSpec>,
}

/// Value distribution of consumers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Values {
    /// 2.0 if the index is even, else 1.0.
    Alternating,
    /// Everyone 2.0.
    UniformHigh,
    /// 2.0 for the first half, 1.0 after.
    Mixed,
    /// Everyone 1.0.
    UniformLow,
    /// 3.0 for the first quarter, 1.5 up to half, 0.75 after.
    WideSpread,
}

impl Values {
    /// All, with their names.
    pub const ALL: [(&'static str, Values); 5] = [
        ("alternating", Values::Alternating),
        ("uniform_high", Values::UniformHigh),
        ("mixed", Values::Mixed),
        ("uniform_low", Values::UniformLow),
        ("wide_spread", Values::WideSpread),
    ];

    /// By name.
    pub fn from_name(s: &str) -> Option<Values> {
        Self::ALL.iter().find(|(n, _)| *n == s).map(|(_, v)| *v)
    }

    /// Name.
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(_, v)| *v == self).map(|(n, _)| *n).expect("listed")
    }

    /// Value of consumer `i` of `n`.
    pub fn value(self, i: usize, n: usize) -> f64 {
        match self {
            Values::Alternating => {
                if i.is_multiple_of(2) {
                    2.0
                } else {
                    1.0
                }
            }
            Values::UniformHigh => 2.0,
            Values::Mixed => {
                if i < n / 2 {
                    2.0
                } else {
                    1.0
                }
            }
            Values::UniformLow => 1.0,
            Values::WideSpread => {
                if i < n / 4 {
                    3.0
                } else if i < n / 2 {
                    1.5
                } else {
                    0.75
                }
            }
        }
    }
}

/// How the matching round orders candidates (S2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Priority {
    /// Value, then list index (reference).
    ListOrder,
    /// Highest willingness to pay, random ties (corrected).
    Bid,
}

/// Price-setter rule (S1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SetterRule {
    /// Floor at the D-th shaded bid (reference).
    Floor,
    /// Profit-maximising common price (corrected).
    Optimise,
}

impl Switch for Priority {
    const VALUES: &'static [(Self, &'static str)] = &[(Priority::ListOrder, "list_order"), (Priority::Bid, "bid")];
}

impl Switch for SetterRule {
    const VALUES: &'static [(Self, &'static str)] = &[(SetterRule::Floor, "floor"), (SetterRule::Optimise, "optimise")];
}

crate::switch_enum! {
    /// `sweep.dc_only_price_setter`: whether the sweep's DC-only legs run
    /// the price setter.
    pub enum OnOff { On = "on", Off = "off" }
}

/// Price-setter parameters.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SetterParams {
    /// Floor or optimise (switch S1).
    pub rule: SetterRule,
    /// Floor rule: factor shading the consumers' bids.
    pub bid_shading: f64,
    /// Floor rule: lowest shaded bid ($/h).
    pub min_bid: f64,
    /// Share of a reservation price the set price sits at, in (0, 1).
    pub margin: f64,
    /// Optimise rule: re-solve interval (h).
    pub resolve_hours: f64,
    /// Optimise rule: available homes take demand first.
    pub fringe_aware: bool,
}

/// Outside market parameters.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutsideParams {
    /// The outside price index, an OU process.
    pub index: PriceParams,
    /// Rate of outside offers to a busy home (1/h).
    pub offer_rate: f64,
    /// An offer is the index times U(`multiplier_min`, `multiplier_max`).
    pub multiplier_min: f64,
    /// Upper bound of the offer multiplier.
    pub multiplier_max: f64,
    /// Corrected: mean outside session after a profit cancel (h).
    pub session_mean_hours: f64,
}

/// One simulated market leg.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LegDef {
    /// Metric prefix: `scenarios.<market>.<leg>` or `sweep.<d>.<c>.<v>.<leg>`.
    pub id: String,
    /// Datacenters.
    pub dcs: u32,
    /// Home providers.
    pub homes: u32,
    /// Consumers.
    pub consumers: u32,
    /// Value distribution.
    pub values: Values,
    /// Checkpoint intervals, assigned round-robin by consumer index.
    pub checkpoints: Vec<f64>,
    /// DCs are price setters.
    pub price_setter: bool,
    /// Horizon (h).
    pub duration_hours: f64,
}

/// A sweep cell's coordinates, for reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepCell {
    /// Demand level name (`undersupplied`, `balanced` or `oversupplied`).
    pub demand: String,
    /// Checkpoint level name (`frequent`, `moderate` or `infrequent`).
    pub checkpoint: String,
    /// Value distribution name.
    pub values: String,
}

/// The sweep's layout.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepParams {
    /// Datacenters in every cell.
    pub dcs: u32,
    /// Homes in every cell's `dc_home` leg.
    pub homes: u32,
    /// (level name, consumers), in grid order.
    pub demand: Vec<(String, u32)>,
    /// (level name, checkpoint interval in h), in grid order.
    pub checkpoints: Vec<(String, f64)>,
    /// Value distribution names, in grid order.
    pub values: Vec<String>,
    /// Switch S3 is on: a `dc_only` leg's DCs set a floor price when fewer than its consumers.
    pub dc_only_price_setter: bool,
    /// DC profit change (%) below which a cell is cannibalization.
    pub cannibalization_pct: f64,
    /// Compute change (%) above which a cell is value creation.
    pub value_creation_pct: f64,
}

impl SweepParams {
    /// The cells in report order: demand, then checkpoint, then values.
    pub fn cells(&self) -> Vec<SweepCell> {
        let mut out = Vec::new();
        for (d, _) in &self.demand {
            for (c, _) in &self.checkpoints {
                for v in &self.values {
                    out.push(SweepCell { demand: d.clone(), checkpoint: c.clone(), values: v.clone() });
                }
            }
        }
        out
    }
}

/// A main market, resolved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MarketDef {
    /// Market name (the `<market>` of its metric keys).
    pub name: String,
    /// Datacenters (at least 1).
    pub dcs: u32,
    /// Homes in the `dc_home` leg.
    pub homes: u32,
    /// Consumers (at least 1).
    pub consumers: u32,
    /// The DCs set their price.
    pub price_setter: bool,
}

/// Everything the model needs, resolved and checked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvParams {
    /// Reference or corrected.
    pub fidelity: Fidelity,
    /// Default number of seeds.
    pub seeds: u64,
    /// First default seed.
    pub seed_base: u64,
    /// Thresholds that turn the share of seeds a finding holds in into a verdict.
    pub verdict: VerdictRule,
    /// Horizon of each leg (h).
    pub duration_hours: f64,
    /// Reference step (h).
    pub tick_hours: f64,
    /// Time-series sampling period (h).
    pub sample_hours: f64,
    /// Also run the other fidelity on the same seeds and report the claims of both.
    pub compare_fidelities: bool,
    /// Matching order (switch S2).
    pub priority: Priority,
    /// Datacenter cost, survival, cancel threshold and downtime.
    pub dc: ProviderParams,
    /// Home cost, survival, cancel threshold and personal-use time.
    pub home: ProviderParams,
    /// Job length J (h).
    pub job_hours: f64,
    /// Checkpoint intervals (h), assigned round-robin by consumer index.
    pub checkpoints: Vec<f64>,
    /// Value distribution of the main markets' consumers.
    pub values: Values,
    /// Expected attempts when a completion estimate is at most `min_completion`.
    pub attempts_cap: f64,
    /// Completion estimate at or below which `attempts_cap` applies.
    pub min_completion: f64,
    /// Corrected: weight (sessions) of the prior in the completion estimate.
    pub prior_sessions: f64,
    /// Posted-price markups, cap, growth and decay.
    pub price: PostedPriceParams,
    /// The outside market.
    pub outside: OutsideParams,
    /// The DCs' price setter.
    pub setter: SetterParams,
    /// Main markets to run, in order.
    pub markets: Vec<MarketDef>,
    /// Legs of each main market, from `dc_only` and `dc_home`.
    pub legs: Vec<String>,
    /// The sweep, when enabled.
    pub sweep: Option<SweepParams>,
    /// Relative tolerance of the numeric claims.
    pub claims_tolerance: f64,
}

impl EvParams {
    /// Whether the market steps in ticks (reference fidelity).
    pub fn tick_mode(&self) -> bool {
        self.fidelity == Fidelity::Reference
    }

    /// Every leg the run simulates, in order: the markets' legs, then the
    /// sweep cells' legs.
    pub fn leg_defs(&self) -> Vec<LegDef> {
        let mut out = Vec::new();
        for m in &self.markets {
            for leg in &self.legs {
                out.push(LegDef {
                    id: format!("scenarios.{}.{leg}", m.name),
                    dcs: m.dcs,
                    homes: if leg == "dc_home" { m.homes } else { 0 },
                    consumers: m.consumers,
                    values: self.values,
                    checkpoints: self.checkpoints.clone(),
                    price_setter: m.price_setter,
                    duration_hours: self.duration_hours,
                });
            }
        }
        if let Some(s) = &self.sweep {
            for cell in s.cells() {
                let consumers = s.demand.iter().find(|d| d.0 == cell.demand).expect("cell demand").1;
                let kappa = s.checkpoints.iter().find(|c| c.0 == cell.checkpoint).expect("cell checkpoint").1;
                let values = Values::from_name(&cell.values).expect("checked at load");
                for leg in ["dc_only", "dc_home"] {
                    let dcs = s.dcs;
                    let price_setter = leg == "dc_only" && s.dc_only_price_setter && dcs < consumers;
                    out.push(LegDef {
                        id: format!("sweep.{}.{}.{}.{leg}", cell.demand, cell.checkpoint, cell.values),
                        dcs,
                        homes: if leg == "dc_home" { s.homes } else { 0 },
                        consumers,
                        values,
                        checkpoints: vec![kappa],
                        price_setter,
                        duration_hours: self.duration_hours,
                    });
                }
            }
        }
        out
    }

    /// Resolved switches and run layout, for `results.json` `settings`.
    pub fn settings(&self) -> serde_json::Map<String, serde_json::Value> {
        use serde_json::json;
        let mut m = serde_json::Map::new();
        m.insert("match_priority".into(), json!(self.priority.name()));
        m.insert("price_setter.rule".into(), json!(self.setter.rule.name()));
        if let Some(s) = &self.sweep {
            m.insert(
                "sweep.dc_only_price_setter".into(),
                json!(if s.dc_only_price_setter { OnOff::On } else { OnOff::Off }.name()),
            );
        }
        m.insert("compare_fidelities".into(), json!(self.compare_fidelities));
        m.insert("duration_hours".into(), json!(self.duration_hours));
        m
    }
}

/// The four main markets: (name, DCs, homes, consumers, price setter).
pub const MAIN_MARKETS: [(&str, u32, u32, u32, bool); 4] = [
    ("undersupplied", 10, 20, 30, false),
    ("sufficient", 30, 20, 20, false),
    ("oversupplied", 40, 30, 15, false),
    ("price_setter", 10, 20, 30, true),
];

/// Resolve and check an `economic_value` scenario.
pub fn resolve(scn: &Scenario) -> Result<EvParams, ScenarioError> {
    if scn.study != "economic_value" {
        return Err(scn.invalid(format!("study `{}` is not economic_value", scn.study)));
    }
    let s: EvScenario = scn.decode()?;
    let h = scn.header(20, 1)?;
    let fidelity = h.fidelity;
    let k = Keys::new(scn, fidelity);
    let reference = fidelity == Fidelity::Reference;

    let seeds = h.seeds;
    let seed_base = h.seed_base;
    let verdict = h.verdict;
    let duration_hours = k.positive("duration_hours", s.duration_hours, 200.0)?;
    let tick_hours = k.positive("tick_hours", s.tick_hours, 0.1)?;
    let sample_hours = k.positive("sample_hours", s.sample_hours, 1.0)?;
    if tick_hours * (crate::engine::TICKS_PER_HOUR as f64) < 1.0 {
        return Err(k.err("key `tick_hours` is shorter than one engine tick (1 ms)"));
    }
    let priority = k.pick("match_priority", &s.match_priority, (Priority::ListOrder, Priority::Bid))?;

    let dc = s.dc.clone().unwrap_or_default();
    let home = s.home.clone().unwrap_or_default();
    let provider = |name: &str,
                    capex: Option<f64>,
                    opex: Option<f64>,
                    surv: Option<f64>,
                    theta: Option<f64>,
                    down: Option<f64>,
                    down_key: &str,
                    d: (f64, f64, f64, f64)|
     -> Result<ProviderParams, ScenarioError> {
        let capex = k.nonneg(&format!("{name}.capex_per_hour"), capex, d.0)?;
        let opex = k.nonneg(&format!("{name}.opex_per_hour"), opex, d.1)?;
        let survival = k.num(&format!("{name}.hourly_survival"), surv, d.2)?;
        if !(survival > 0.0 && survival <= 1.0) {
            return Err(k.err(format!("key `{name}.hourly_survival` must be in (0, 1] (got {survival})")));
        }
        let theta = theta.unwrap_or(d.3);
        if theta.is_nan() || theta <= 0.0 {
            return Err(k.err(format!("key `{name}.cancel_threshold` must be > 0 or inf (got {theta})")));
        }
        let down = k.positive(&format!("{name}.{down_key}"), down, 2.0)?;
        k.duration_ticks(&format!("{name}.{down_key}"), down, TimeUnit::Hours)?;
        Ok(ProviderParams {
            cost: capex + opex,
            hourly_survival: survival,
            cancel_threshold: theta,
            downtime_mean_hours: down,
        })
    };
    let dc_p = provider(
        "dc",
        dc.capex_per_hour,
        dc.opex_per_hour,
        dc.hourly_survival,
        dc.cancel_threshold,
        dc.repair_mean_hours,
        "repair_mean_hours",
        (0.30, 0.20, 0.998, f64::INFINITY),
    )?;
    let home_p = provider(
        "home",
        home.capex_per_hour,
        home.opex_per_hour,
        home.hourly_survival,
        home.cancel_threshold,
        home.personal_use_mean_hours,
        "personal_use_mean_hours",
        (0.0, 0.08, 0.92, 1.5),
    )?;

    let c = s.consumer.clone().unwrap_or_default();
    let job_hours = k.positive("consumer.job_hours", c.job_hours, 2.0)?;
    let checkpoints = match &c.checkpoint_hours {
        None => vec![0.5],
        Some(toml::Value::Float(x)) => vec![*x],
        Some(toml::Value::Integer(x)) => vec![*x as f64],
        Some(toml::Value::Array(a)) => {
            let mut v = Vec::new();
            for x in a {
                match x {
                    toml::Value::Float(f) => v.push(*f),
                    toml::Value::Integer(i) => v.push(*i as f64),
                    other => {
                        return Err(k.err(format!("key `consumer.checkpoint_hours`: {other} is not a number")));
                    }
                }
            }
            if v.is_empty() {
                return Err(k.err("key `consumer.checkpoint_hours`: the list is empty"));
            }
            v
        }
        Some(other) => {
            return Err(k.err(format!("key `consumer.checkpoint_hours` must be a number or a list (got {other})")));
        }
    };
    for &x in &checkpoints {
        if !(x.is_finite() && x > 0.0) {
            return Err(k.err(format!("key `consumer.checkpoint_hours` must be > 0 (got {x})")));
        }
    }
    let values_name = c.values.clone().unwrap_or_else(|| "alternating".into());
    let values = Values::from_name(&values_name).ok_or_else(|| {
        k.err(format!(
            "key `consumer.values`: unknown distribution \"{values_name}\" (expected one of: {})",
            Values::ALL.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
        ))
    })?;
    let attempts_cap = k.num("consumer.attempts_cap", c.attempts_cap, 10.0)?;
    if attempts_cap < 1.0 {
        return Err(k.err(format!("key `consumer.attempts_cap` must be >= 1 (got {attempts_cap})")));
    }
    let min_completion = k.probability("consumer.min_completion", c.min_completion, 0.1)?;
    let prior_sessions = k.nonneg("consumer.prior_sessions", c.prior_sessions, 2.0)?;

    let p = s.price.clone().unwrap_or_default();
    let price = PostedPriceParams {
        initial_markup: k.positive("price.initial_markup", p.initial_markup, 2.0)?,
        floor_markup: k.nonneg("price.floor_markup", p.floor_markup, 1.1)?,
        cap: k.positive("price.cap", p.cap, 5.0)?,
        growth: k.nonneg("price.busy_growth_per_hour", p.busy_growth_per_hour, 0.1)?,
        decay: k.nonneg("price.idle_decay_per_hour", p.idle_decay_per_hour, 0.3)?,
    };
    // The corrected fidelity schedules the moment a decaying price crosses a
    // consumer's limit; a decay so slow that it cannot move a price by one
    // rounding step within a tick would re-schedule that check every tick.
    if price.decay > 0.0 && price.decay < 1e-6 {
        return Err(k.err(format!(
            "key `price.idle_decay_per_hour` must be 0 or at least 1e-6 per hour (got {})",
            crate::study::keys::fmt_num(price.decay)
        )));
    }
    if price.decay * tick_hours >= 1.0 {
        return Err(k.err("key `price.idle_decay_per_hour` times `tick_hours` must be < 1"));
    }

    let o = s.outside.clone().unwrap_or_default();
    let index = PriceParams {
        mean: k.num("outside.mean_index", o.mean_index, 0.8)?,
        start: k.num("outside.initial_index", o.initial_index, 0.8)?,
        reversion: k.nonneg("outside.reversion_per_hour", o.reversion_per_hour, 0.2)?,
        volatility: k.nonneg("outside.volatility", o.volatility, 0.3)?,
        floor: k.nonneg("outside.index_floor", o.index_floor, 0.2)?,
    };
    let mmin = k.nonneg("outside.offer_multiplier_min", o.offer_multiplier_min, 0.9)?;
    let mmax = k.nonneg("outside.offer_multiplier_max", o.offer_multiplier_max, 1.3)?;
    if mmin > mmax {
        return Err(
            k.err(format!("keys `outside.offer_multiplier_min` ({mmin}) > `outside.offer_multiplier_max` ({mmax})"))
        );
    }
    let outside = OutsideParams {
        index,
        offer_rate: k.rate("outside.offer_rate_per_hour", o.offer_rate_per_hour, 0.3, TimeUnit::Hours)?,
        multiplier_min: mmin,
        multiplier_max: mmax,
        session_mean_hours: k.positive("outside.session_mean_hours", o.session_mean_hours, 2.0)?,
    };
    k.duration_ticks("outside.session_mean_hours", outside.session_mean_hours, TimeUnit::Hours)?;

    let ps = s.price_setter.clone().unwrap_or_default();
    let rule = k.pick("price_setter.rule", &ps.rule, (SetterRule::Floor, SetterRule::Optimise))?;
    let setter = SetterParams {
        rule,
        bid_shading: k.nonneg("price_setter.bid_shading", ps.bid_shading, 0.8)?,
        min_bid: k.nonneg("price_setter.min_bid", ps.min_bid, 0.01)?,
        // The price sits just below a reservation price: a share of it.
        margin: k.in_range("price_setter.margin", ps.margin, 0.999, Excluded(0.0), Excluded(1.0))?,
        resolve_hours: k.positive("price_setter.resolve_hours", ps.resolve_hours, 1.0)?,
        fringe_aware: ps.fringe_aware.unwrap_or(true),
    };

    // Markets: the defaults of MAIN_MARKETS, overridden or extended by [market.<id>].
    let overrides = s.market.clone().unwrap_or_default();
    let sweep_only = s.sweep.is_some() && s.scenarios.is_none();
    let names: Vec<String> = match &s.scenarios {
        Some(v) => v.clone(),
        None if sweep_only => Vec::new(),
        None => MAIN_MARKETS.iter().map(|m| m.0.to_string()).collect(),
    };
    k.unique("scenarios", names.iter().map(String::as_str))?;
    for name in overrides.keys() {
        if !names.contains(name) && !MAIN_MARKETS.iter().any(|m| m.0 == name) {
            return Err(k.err(format!("key `market.{name}`: market \"{name}\" is not listed in `scenarios`")));
        }
    }
    let mut markets = Vec::new();
    for name in &names {
        let base = MAIN_MARKETS.iter().find(|m| m.0 == name);
        let o = overrides.get(name);
        if base.is_none() && o.is_none() {
            return Err(k.err(format!(
                "key `scenarios`: unknown market \"{name}\" (define it in a [market.{name}] table, or use one of: {})",
                MAIN_MARKETS.iter().map(|m| m.0).collect::<Vec<_>>().join(", ")
            )));
        }
        let d = base.map(|b| (b.1 as i64, b.2 as i64, b.3 as i64, b.4)).unwrap_or((0, 0, 0, false));
        let key = |f: &str| format!("market.{name}.{f}");
        let dcs = k.count(&key("dcs"), o.and_then(|o| o.dcs), d.0)?;
        let homes = k.count(&key("homes"), o.and_then(|o| o.homes), d.1)?;
        let consumers = k.count_min1(&key("consumers"), o.and_then(|o| o.consumers), d.2)?;
        if dcs as u64 + homes as u64 == 0 {
            return Err(k.err(format!(
                "keys `{}` and `{}`: a market needs at least one provider",
                key("dcs"),
                key("homes")
            )));
        }
        if dcs == 0 {
            return Err(k.err(format!("key `{}` must be at least 1 (the DC-only leg needs DCs)", key("dcs"))));
        }
        markets.push(MarketDef {
            name: name.clone(),
            dcs,
            homes,
            consumers,
            price_setter: o.and_then(|o| o.dc_price_setter).unwrap_or(d.3),
        });
    }
    let legs = s.legs.clone().unwrap_or_else(|| vec!["dc_only".into(), "dc_home".into()]);
    if legs.is_empty() {
        return Err(k.err("key `legs` must name at least one leg"));
    }
    k.unique("legs", legs.iter().map(String::as_str))?;
    for l in &legs {
        if l != "dc_only" && l != "dc_home" {
            return Err(k.err(format!("key `legs`: unknown leg \"{l}\" (expected \"dc_only\" or \"dc_home\")")));
        }
    }

    let sweep = match &s.sweep {
        Some(sw) if sw.enabled.unwrap_or(true) => {
            let dm = sw.demand.clone().unwrap_or_default();
            let ck = sw.checkpoint_hours.clone().unwrap_or_default();
            let demand = vec![
                ("undersupplied".to_string(), k.count_min1("sweep.demand.undersupplied", dm.undersupplied, 30)?),
                ("balanced".to_string(), k.count_min1("sweep.demand.balanced", dm.balanced, 15)?),
                ("oversupplied".to_string(), k.count_min1("sweep.demand.oversupplied", dm.oversupplied, 8)?),
            ];
            let checkpoints = vec![
                ("frequent".to_string(), k.positive("sweep.checkpoint_hours.frequent", ck.frequent, 0.1)?),
                ("moderate".to_string(), k.positive("sweep.checkpoint_hours.moderate", ck.moderate, 0.5)?),
                ("infrequent".to_string(), k.positive("sweep.checkpoint_hours.infrequent", ck.infrequent, 1.0)?),
            ];
            let values = sw.values.clone().unwrap_or_else(|| {
                ["uniform_high", "mixed", "uniform_low", "wide_spread"].iter().map(|s| s.to_string()).collect()
            });
            for v in &values {
                if Values::from_name(v).is_none() {
                    return Err(k.err(format!("key `sweep.values`: unknown distribution \"{v}\"")));
                }
            }
            if values.is_empty() {
                return Err(k.err("key `sweep.values` must name at least one distribution"));
            }
            k.unique("sweep.values", values.iter().map(String::as_str))?;
            let s3 = k.pick("sweep.dc_only_price_setter", &sw.dc_only_price_setter, (OnOff::On, OnOff::Off))?;
            Some(SweepParams {
                dcs: k.count_min1("sweep.dcs", sw.dcs, 10)?,
                homes: k.count("sweep.homes", sw.homes, 20)?,
                demand,
                checkpoints,
                values,
                dc_only_price_setter: s3 == OnOff::On,
                cannibalization_pct: k.num("sweep.cannibalization_pct", sw.cannibalization_pct, -5.0)?,
                value_creation_pct: k.num("sweep.value_creation_pct", sw.value_creation_pct, 10.0)?,
            })
        }
        _ => None,
    };
    if markets.is_empty() && sweep.is_none() {
        return Err(k.err("nothing to run: `scenarios` is empty and there is no [sweep]"));
    }
    k.money_scale(&[
        ("dc.capex_per_hour` + `dc.opex_per_hour", dc_p.cost),
        ("home.capex_per_hour` + `home.opex_per_hour", home_p.cost),
        ("price.cap", price.cap),
        ("price_setter.min_bid", setter.min_bid),
        ("outside.mean_index", outside.index.mean),
        ("outside.initial_index", outside.index.start),
        ("outside.volatility", outside.index.volatility),
        ("outside.index_floor", outside.index.floor),
    ])?;
    let claims_tolerance = k.nonneg("claims.tolerance", s.claims.as_ref().and_then(|c| c.tolerance), 0.10)?;
    let sweep_checkpoints: Vec<(String, f64)> = sweep.as_ref().map(|s| s.checkpoints.clone()).unwrap_or_default();
    check_time(
        &k,
        reference,
        Times {
            duration_hours,
            tick_hours,
            sample_hours,
            job_hours,
            resolve_hours: setter.resolve_hours,
            checkpoints: &checkpoints,
            sweep_checkpoints: &sweep_checkpoints,
            legs: markets.len() as u64 * legs.len() as u64 + sweep.as_ref().map_or(0, |s| 2 * s.cells().len() as u64),
        },
    )?;
    Ok(EvParams {
        fidelity,
        seeds,
        seed_base,
        verdict,
        duration_hours,
        tick_hours,
        sample_hours,
        compare_fidelities: h.compare_fidelities.unwrap_or(true),
        priority,
        dc: dc_p,
        home: home_p,
        job_hours,
        checkpoints,
        values,
        attempts_cap,
        min_completion,
        prior_sessions,
        price,
        outside,
        setter,
        markets,
        legs,
        sweep,
        claims_tolerance,
    })
}

/// The values [`check_time`] reads.
struct Times<'a> {
    duration_hours: f64,
    tick_hours: f64,
    sample_hours: f64,
    job_hours: f64,
    resolve_hours: f64,
    checkpoints: &'a [f64],
    sweep_checkpoints: &'a [(String, f64)],
    legs: u64,
}

/// Every interval at least one engine tick; the reference tick grid of a
/// leg (and of a job) bounded; the per-tick checkpoint loop bounded; the
/// horizon (every leg, one after another) within the engine's time.
fn check_time(k: &Keys<'_>, reference: bool, t: Times<'_>) -> Result<(), ScenarioError> {
    let h = TimeUnit::Hours;
    let leg_ticks = if reference {
        let dt = k.duration_ticks("tick_hours", t.tick_hours, h)?;
        let n = k.steps(
            "keys `duration_hours` / `tick_hours` (ticks per leg)",
            t.duration_hours,
            t.tick_hours,
            MAX_GRID_STEPS,
        )?;
        k.steps("keys `consumer.job_hours` / `tick_hours` (ticks per job)", t.job_hours, t.tick_hours, MAX_GRID_STEPS)?;
        k.span("keys `duration_hours` / `tick_hours`", dt, n)?
    } else {
        k.duration_ticks("duration_hours", t.duration_hours, h)?
    };
    k.span("key `duration_hours` x the number of legs", leg_ticks, t.legs)?;
    k.duration_ticks("sample_hours", t.sample_hours, h)?;
    k.duration_ticks("price_setter.resolve_hours", t.resolve_hours, h)?;
    k.duration_ticks("consumer.job_hours", t.job_hours, h)?;
    let mut kappas: Vec<(String, f64)> =
        t.checkpoints.iter().map(|&x| ("consumer.checkpoint_hours".to_string(), x)).collect();
    kappas.extend(t.sweep_checkpoints.iter().map(|(n, x)| (format!("sweep.checkpoint_hours.{n}"), *x)));
    // The reference adds the interval up to the session's elapsed time (at
    // most a job plus a tick).
    let most = t.job_hours + if reference { t.tick_hours } else { 0.0 };
    for (key, kappa) in kappas {
        k.duration_ticks(&key, kappa, h)?;
        if most / kappa > MAX_GRID_STEPS as f64 {
            return Err(k.err(format!(
                "keys `consumer.job_hours` / `{key}`: {} checkpoints per job, at most {MAX_GRID_STEPS}",
                crate::study::keys::fmt_num(most / kappa)
            )));
        }
    }
    Ok(())
}
