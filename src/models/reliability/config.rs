//! Scenario keys of the three reliability studies (docs/models/reliability.md) and
//! their resolution into the parameters the model runs on.

use crate::engine::TimeUnit;
use crate::engine::time::accumulated_steps;
use crate::market::bids::{ExpectedCost, Strategy};
use crate::market::price::PriceParams;
use crate::report::results::VerdictRule;
pub use crate::study::Fidelity;
use crate::study::limits::MAX_GRID_STEPS;
use crate::study::{Keys, Scenario, ScenarioError, Switch};
use serde::{Deserialize, Serialize};
use std::ops::Bound::Included;

/// Which of the three studies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Variant {
    /// `reliability_basic`: fixed provider groups, naive vs rational bidding.
    Basic,
    /// `reliability_equilibrium`: adaptive thresholds, restart costs in dollars.
    Equilibrium,
    /// `reliability_v2`: adaptive thresholds, value tiers and checkpoints.
    V2,
}

impl Variant {
    /// The study id.
    pub fn id(self) -> &'static str {
        match self {
            Variant::Basic => "reliability_basic",
            Variant::Equilibrium => "reliability_equilibrium",
            Variant::V2 => "reliability_v2",
        }
    }
    /// From a study id.
    pub fn from_id(id: &str) -> Option<Variant> {
        match id {
            "reliability_basic" => Some(Variant::Basic),
            "reliability_equilibrium" => Some(Variant::Equilibrium),
            "reliability_v2" => Some(Variant::V2),
            _ => None,
        }
    }
}

/// Competing-bid size model.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum BidModel {
    /// b' = max(b_lo, p + s*p*Z).
    Normal {
        /// Relative sd s.
        spread: f64,
        /// Floor b_lo.
        floor: f64,
    },
    /// b' = p * U(lo, hi).
    Uniform {
        /// Lower factor.
        lo: f64,
        /// Upper factor.
        hi: f64,
    },
}

/// Allocation rule (switch `consumer_priority`, D6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Priority {
    /// Queue in list order; each takes its cheapest acceptable provider.
    Fifo,
    /// By value, then list index; each takes the most profitable provider.
    ValueSorted,
    /// Highest bid wins the best idle provider; seeded random ties.
    Bid,
}

/// How thresholds are updated between rounds (switch `threshold_update`, D7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ThresholdUpdate {
    /// One provider after another, in place.
    Sequential,
    /// All from the round's thresholds, applied at once.
    Simultaneous,
}

/// Order of the consumer list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConsumerOrder {
    /// One of each group in file order, repeated.
    Interleaved,
    /// Groups one after another.
    Grouped,
}

impl Switch for Priority {
    const VALUES: &'static [(Self, &'static str)] =
        &[(Priority::Fifo, "fifo"), (Priority::ValueSorted, "value_sorted"), (Priority::Bid, "bid")];
}

impl Switch for ThresholdUpdate {
    const VALUES: &'static [(Self, &'static str)] =
        &[(ThresholdUpdate::Sequential, "sequential"), (ThresholdUpdate::Simultaneous, "simultaneous")];
}

impl Switch for ConsumerOrder {
    const VALUES: &'static [(Self, &'static str)] =
        &[(ConsumerOrder::Interleaved, "interleaved"), (ConsumerOrder::Grouped, "grouped")];
}

impl Switch for ExpectedCost {
    const VALUES: &'static [(Self, &'static str)] =
        &[(ExpectedCost::Reference, "reference"), (ExpectedCost::Consistent, "consistent")];
}

crate::switch_enum! {
    /// `bid_model`: how consumers' bids are drawn.
    pub enum BidShape { Normal = "normal", Uniform = "uniform" }
}

/// A named group of providers with one threshold (basic).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderGroup {
    /// Group (type) name.
    pub name: String,
    /// Number of providers.
    pub count: i64,
    /// Cancellation threshold T.
    pub threshold: f64,
}

/// A named group of consumers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsumerGroupSpec {
    /// Group name.
    pub name: String,
    /// Value tier (v2).
    #[serde(default)]
    pub tier: Option<String>,
    /// Number of consumers.
    pub count: i64,
    /// Restart cost R in $ (basic, equilibrium).
    #[serde(default)]
    pub restart_cost: Option<f64>,
    /// Checkpoint interval kappa in hours.
    pub checkpoint_hours: f64,
    /// Value per useful hour V in $/h (v2).
    #[serde(default)]
    pub value_per_hour: Option<f64>,
}

/// The scenario file of a reliability study, as written. Every key is
/// optional; defaults depend on the study.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReliabilityScenario {
    /// Reference fidelity: the market tick (h, > 0 and at least one engine tick; default 0.1).
    pub tick_hours: Option<f64>,
    /// Corrected fidelity: period of the price re-quotes (h, > 0 and at least one engine tick;
    /// default 0.1).
    pub requote_hours: Option<f64>,
    /// Level the market price reverts to ($/h, finite, at most 1e9 in size; default 1.0).
    pub price_mean: Option<f64>,
    /// Market price at the start of every round ($/h, finite, at most 1e9 in size; default 1.0).
    pub price_start: Option<f64>,
    /// Work in one job (h, > 0 and at least one engine tick; default 2.0).
    pub job_hours: Option<f64>,
    /// Scale of the completion-probability exponent: a provider with completion estimate c
    /// completes `work` hours with probability c^(work / mean_job_hours) (h, > 0; default 2.0).
    pub mean_job_hours: Option<f64>,
    /// Floor of a competing bid under the normal bid model ($/h, >= 0, at most 1e9; default 0.1).
    pub bid_floor: Option<f64>,
    /// Mean-reversion rate of the price (1/h, >= 0; default basic 1.0, equilibrium 1.0, v2 0.2).
    pub price_reversion: Option<f64>,
    /// Diffusion of the price ($/h/sqrt(h), >= 0, at most 1e9; default basic 0.4, equilibrium 0.6,
    /// v2 0.5).
    pub price_volatility: Option<f64>,
    /// Lower bound of the price agents see ($/h, >= 0, at most 1e9; default basic 0.1, equilibrium
    /// 0.1, v2 0.2).
    pub price_floor: Option<f64>,
    /// Competing bids per hour per running session (1/h, >= 0, mean gap at least one engine tick;
    /// default basic 0.1, equilibrium 0.15, v2 0.2).
    pub bid_rate: Option<f64>,
    /// Size of a competing bid: `"normal"`, max(`bid_floor`, p + s p Z), or `"uniform"`, p U(lo,
    /// hi) (default normal in basic and equilibrium, uniform in v2).
    pub bid_model: Option<String>,
    /// s, the relative sd of the normal bid model (>= 0; default 0.2).
    pub bid_spread: Option<f64>,
    /// [lo, hi]: factors of the uniform bid model (finite, 0 <= lo <= hi; default [0.8, 1.5]).
    pub bid_uniform: Option<[f64; 2]>,
    /// Basic and equilibrium: providers refuse bids below this ($/h, >= 0, at most 1e9; default
    /// 0.5).
    pub reserve_price: Option<f64>,
    /// Basic and equilibrium: a rational bid is at least this share of the price (in [0, 1];
    /// default 0.3).
    pub rational_floor: Option<f64>,
    /// Basic and equilibrium: bidding strategies, each simulated in every seed (distinct, at least
    /// one, exactly one in equilibrium; default basic `["naive", "rational"]`, equilibrium `["rational"]`).
    pub strategies: Option<Vec<Strategy>>,
    /// Basic: rounds per strategy per seed, pooled into the seed's metrics (whole number >= 1;
    /// default 10).
    pub iterations: Option<i64>,
    /// Equilibrium and v2: rounds per seed, thresholds adapting between them (whole number >= 1;
    /// default equilibrium 30, v2 50).
    pub rounds: Option<i64>,
    /// Length of one round (h, > 0 and at least one engine tick; default basic 500, equilibrium
    /// 300, v2 200).
    pub round_hours: Option<f64>,
    /// Basic: the fixed provider groups, `[[provider_groups]]` (default reliable 5 x T 3.0,
    /// moderate 5 x 1.8, unreliable 5 x 1.3).
    pub provider_groups: Option<Vec<ProviderGroup>>,
    /// Equilibrium and v2: adaptive providers (whole number >= 1; default 20).
    pub provider_count: Option<i64>,
    /// Equilibrium and v2: [a, b], initial thresholds drawn from U(a, b) (finite, a <= b; default
    /// [1.1, 4.0]).
    pub initial_threshold_range: Option<[f64; 2]>,
    /// Equilibrium and v2: step toward the better earners' mean threshold, a share of the gap (in
    /// [0, 1]; default equilibrium 0.1, v2 0.2).
    pub adapt_rate: Option<f64>,
    /// Equilibrium and v2: sd of the noise added by a provider that copies (>= 0; default
    /// equilibrium 0.05, v2 0.0).
    pub follower_noise: Option<f64>,
    /// Equilibrium and v2: sd of the exploration of a provider nobody beats (>= 0; default
    /// equilibrium 0.1, v2 0.05).
    pub leader_noise: Option<f64>,
    /// Equilibrium and v2: "better" means earnings per hour above (1 + margin) times one's own (>=
    /// 0; default equilibrium 0.0, v2 0.01).
    pub adapt_margin: Option<f64>,
    /// Equilibrium and v2: lower clamp of adapted thresholds (finite, <= `threshold_max`; default
    /// equilibrium 1.1, v2 1.05).
    pub threshold_min: Option<f64>,
    /// Equilibrium and v2: upper clamp of adapted thresholds (finite; default 5.0).
    pub threshold_max: Option<f64>,
    /// Equilibrium: a provider with at least this threshold counts as reliable in `class_share`
    /// (finite, >= `class_moderate_min`; default 2.5).
    pub class_reliable_min: Option<f64>,
    /// Equilibrium: a provider with at least this threshold (and below the reliable one) counts as
    /// moderate (finite; default 1.7).
    pub class_moderate_min: Option<f64>,
    /// The consumer groups, `[[consumer_groups]]` (default: the study's groups,
    /// [`default_consumers`]).
    pub consumer_groups: Option<Vec<ConsumerGroupSpec>>,
    /// Order of the consumer list: `"interleaved"` (one of each group in turn) or `"grouped"`
    /// (group after group); default interleaved in basic, grouped otherwise.
    pub consumer_order: Option<String>,
    /// Switch (basic, equilibrium): `"reference"` ranks providers and bids with two different
    /// expected costs, `"consistent"` uses one; default by fidelity (reference, consistent).
    pub expected_cost: Option<String>,
    /// Switch, the allocation rule: `"fifo"` (basic and equilibrium), `"value_sorted"` (v2) or
    /// `"bid"`; default by fidelity (reference fifo or value_sorted, corrected bid).
    pub consumer_priority: Option<String>,
    /// Switch: a cancelled job resumes from its last checkpoint (`true`) or restarts from zero
    /// (`false`); `"auto"` or absent: false in reference, true in corrected.
    pub resume_from_checkpoint: Option<toml::Value>,
    /// Switch (equilibrium, v2): thresholds updated `"sequential"` (one provider after another, in
    /// place) or `"simultaneous"` (all from the round's values); default by fidelity (sequential,
    /// simultaneous).
    pub threshold_update: Option<String>,
    /// V2: cap on a consumer's expected attempts (>= 1; default 10).
    pub attempts_cap: Option<f64>,
    /// V2: a trade needs expected profit above this ($, >= 0; default 1e-9).
    pub profit_epsilon: Option<f64>,
    /// V2: lower bound of a bid ($/h, >= 0 and at most `price_floor`; default 0.1).
    pub bid_min: Option<f64>,
}

/// A consumer group, resolved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConsumerGroup {
    /// Group name.
    pub name: String,
    /// Value tier (v2; empty otherwise).
    pub tier: String,
    /// Number of consumers.
    pub count: u32,
    /// Restart cost R ($; 0 in v2).
    pub restart_cost: f64,
    /// Checkpoint interval kappa (h).
    pub checkpoint: f64,
    /// Value per useful hour V ($/h; 0 in basic and equilibrium).
    pub value: f64,
}

/// How providers are set up.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ProviderSetup {
    /// Fixed groups (basic).
    Groups(Vec<(String, u32, f64)>),
    /// `count` providers with thresholds drawn from U(lo, hi), adapting
    /// between rounds.
    Adaptive {
        /// Number of providers.
        count: u32,
        /// Initial range.
        range: [f64; 2],
        /// Step toward better earners' mean threshold.
        rate: f64,
        /// Noise sd of followers.
        follower_noise: f64,
        /// Noise sd of leaders.
        leader_noise: f64,
        /// "Better" margin m.
        margin: f64,
        /// Clamp.
        min: f64,
        /// Clamp.
        max: f64,
        /// Sequential or simultaneous.
        update: ThresholdUpdate,
    },
}

/// Everything the model needs, resolved and checked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// Which of the three studies.
    pub variant: Variant,
    /// Reference or corrected.
    pub fidelity: Fidelity,
    /// Default number of seeds.
    pub seeds: u64,
    /// First default seed.
    pub seed_base: u64,
    /// Thresholds that turn the share of seeds a finding holds in into a verdict.
    pub verdict: VerdictRule,
    /// Reference market tick (h).
    pub tick_hours: f64,
    /// Corrected re-quote period (h).
    pub requote_hours: f64,
    /// The market price process.
    pub price: PriceParams,
    /// Work in one job (h).
    pub job_hours: f64,
    /// Scale of the completion-probability exponent (h).
    pub mean_job_hours: f64,
    /// Competing bids per hour per running session.
    pub bid_rate: f64,
    /// How a competing bid's size is drawn.
    pub bid_model: BidModel,
    /// Basic and equilibrium: providers refuse bids below this ($/h).
    pub reserve_price: f64,
    /// Basic and equilibrium: a rational bid is at least this share of the price.
    pub rational_floor: f64,
    /// Bidding strategies, each simulated in every seed.
    pub strategies: Vec<Strategy>,
    /// Basic: rounds per strategy per seed.
    pub iterations: u32,
    /// Equilibrium and v2: rounds per seed.
    pub rounds: u32,
    /// Length of one round (h).
    pub round_hours: f64,
    /// Fixed groups (basic) or adaptive providers.
    pub providers: ProviderSetup,
    /// Equilibrium: lowest threshold of the reliable class.
    pub class_reliable_min: f64,
    /// Equilibrium: lowest threshold of the moderate class.
    pub class_moderate_min: f64,
    /// The consumer groups, in file order.
    pub consumer_groups: Vec<ConsumerGroup>,
    /// Order of the consumer list.
    pub consumer_order: ConsumerOrder,
    /// Expected-cost rule of basic and equilibrium.
    pub expected_cost: ExpectedCost,
    /// The allocation rule.
    pub priority: Priority,
    /// A cancelled job resumes from its last checkpoint.
    pub resume: bool,
    /// V2: cap on expected attempts.
    pub attempts_cap: f64,
    /// V2: smallest expected profit of a trade ($).
    pub profit_epsilon: f64,
    /// V2: lower bound of a bid ($/h).
    pub bid_min: f64,
}

impl Params {
    /// Whether the market steps in ticks (reference fidelity).
    pub fn tick_mode(&self) -> bool {
        self.fidelity == Fidelity::Reference
    }

    /// Number of rounds the run simulates (basic: strategies x iterations;
    /// [`resolve`] checks that it fits in a u32).
    pub fn total_rounds(&self) -> u32 {
        match self.variant {
            Variant::Basic => (self.strategies.len() as u64 * self.iterations as u64).min(u32::MAX as u64) as u32,
            _ => self.rounds,
        }
    }

    /// Ticks per round in reference fidelity: the number of f64 additions of
    /// dt to 0 until the sum reaches the round length. [`resolve`] refuses a
    /// reference scenario with more than [`MAX_GRID_STEPS`]; beyond that
    /// (unused in corrected fidelity) this is `u32::MAX`, never a long loop.
    pub fn ticks_per_round(&self) -> u32 {
        accumulated_steps(self.round_hours, self.tick_hours, MAX_GRID_STEPS).map_or(u32::MAX, |k| k as u32)
    }

    /// Resolved switch values, for `results.json` `settings`.
    pub fn settings(&self) -> serde_json::Map<String, serde_json::Value> {
        use serde_json::json;
        let mut m = serde_json::Map::new();
        m.insert("consumer_priority".into(), json!(self.priority.name()));
        m.insert("resume_from_checkpoint".into(), json!(self.resume));
        if self.variant != Variant::V2 {
            m.insert("expected_cost".into(), json!(self.expected_cost.name()));
        }
        if let ProviderSetup::Adaptive { update, .. } = &self.providers {
            m.insert("threshold_update".into(), json!(update.name()));
        }
        m.insert(
            "credit_checkpointed_work_on_restart".into(),
            json!(self.variant == Variant::V2 && self.fidelity == Fidelity::Reference),
        );
        m
    }
}

fn group(name: &str, tier: &str, count: i64, r: Option<f64>, k: f64, v: Option<f64>) -> ConsumerGroupSpec {
    ConsumerGroupSpec {
        name: name.into(),
        tier: if tier.is_empty() { None } else { Some(tier.into()) },
        count,
        restart_cost: r,
        checkpoint_hours: k,
        value_per_hour: v,
    }
}

/// Default consumer groups of each study.
pub fn default_consumers(v: Variant) -> Vec<ConsumerGroupSpec> {
    match v {
        Variant::Basic => vec![
            group("low_cost", "", 5, Some(0.5), 0.5, None),
            group("med_cost", "", 5, Some(2.0), 1.0, None),
            group("high_cost", "", 5, Some(5.0), 2.0, None),
        ],
        Variant::Equilibrium => vec![
            group("low_cost", "", 5, Some(0.2), 0.25, None),
            group("med_cost", "", 5, Some(1.0), 0.5, None),
            group("high_cost", "", 5, Some(3.0), 1.0, None),
        ],
        Variant::V2 => vec![
            group("high_cp_frequent", "high", 4, None, 0.1, Some(5.0)),
            group("high_cp_none", "high", 4, None, 2.0, Some(5.0)),
            group("med_cp_frequent", "med", 4, None, 0.1, Some(2.0)),
            group("med_cp_none", "med", 4, None, 2.0, Some(2.0)),
            group("low_cp_frequent", "low", 4, None, 0.1, Some(0.5)),
            group("low_cp_none", "low", 4, None, 2.0, Some(0.5)),
        ],
    }
}

/// Resolve and check a reliability scenario.
pub fn resolve(scn: &Scenario) -> Result<Params, ScenarioError> {
    let variant = Variant::from_id(&scn.study)
        .ok_or_else(|| scn.invalid(format!("study `{}` is not a reliability study", scn.study)))?;
    let s: ReliabilityScenario = scn.decode()?;
    let h = scn.header(20, 1)?;
    let fidelity = h.fidelity;
    let keys = Keys::new(scn, fidelity);
    let err = |m: String| keys.err(m);

    // Keys that do not apply to this study.
    let basic_only: &[(&str, bool)] =
        &[("iterations", s.iterations.is_some()), ("provider_groups", s.provider_groups.is_some())];
    let adaptive_only: &[(&str, bool)] = &[
        ("rounds", s.rounds.is_some()),
        ("provider_count", s.provider_count.is_some()),
        ("initial_threshold_range", s.initial_threshold_range.is_some()),
        ("adapt_rate", s.adapt_rate.is_some()),
        ("follower_noise", s.follower_noise.is_some()),
        ("leader_noise", s.leader_noise.is_some()),
        ("adapt_margin", s.adapt_margin.is_some()),
        ("threshold_min", s.threshold_min.is_some()),
        ("threshold_max", s.threshold_max.is_some()),
        ("threshold_update", s.threshold_update.is_some()),
    ];
    let dollars_only: &[(&str, bool)] = &[
        ("reserve_price", s.reserve_price.is_some()),
        ("rational_floor", s.rational_floor.is_some()),
        ("strategies", s.strategies.is_some()),
        ("expected_cost", s.expected_cost.is_some()),
    ];
    let v2_only: &[(&str, bool)] = &[
        ("attempts_cap", s.attempts_cap.is_some()),
        ("profit_epsilon", s.profit_epsilon.is_some()),
        ("bid_min", s.bid_min.is_some()),
    ];
    let eq_only: &[(&str, bool)] = &[
        ("class_reliable_min", s.class_reliable_min.is_some()),
        ("class_moderate_min", s.class_moderate_min.is_some()),
    ];
    let not_here: Vec<&[(&str, bool)]> = match variant {
        Variant::Basic => vec![adaptive_only, v2_only, eq_only],
        Variant::Equilibrium => vec![basic_only, v2_only],
        Variant::V2 => vec![basic_only, dollars_only, eq_only],
    };
    for list in not_here {
        keys.not_here(variant.id(), list)?;
    }

    let count = |k: &str, v: Option<i64>, d: i64| keys.count(k, v, d);
    let num = |k: &str, v: Option<f64>, d: f64| keys.num(k, v, d);
    let positive = |k: &str, v: Option<f64>, d: f64| keys.positive(k, v, d);
    let nonneg = |k: &str, v: Option<f64>, d: f64| keys.nonneg(k, v, d);

    let (d_rev, d_vol, d_floor, d_rate) = match variant {
        Variant::Basic => (1.0, 0.4, 0.1, 0.1),
        Variant::Equilibrium => (1.0, 0.6, 0.1, 0.15),
        Variant::V2 => (0.2, 0.5, 0.2, 0.2),
    };
    let seeds = h.seeds;
    let seed_base = h.seed_base;
    let verdict = h.verdict;
    let tick_hours = positive("tick_hours", s.tick_hours, 0.1)?;
    let requote_hours = positive("requote_hours", s.requote_hours, 0.1)?;
    let price = PriceParams {
        mean: num("price_mean", s.price_mean, 1.0)?,
        start: num("price_start", s.price_start, 1.0)?,
        reversion: nonneg("price_reversion", s.price_reversion, d_rev)?,
        volatility: nonneg("price_volatility", s.price_volatility, d_vol)?,
        floor: nonneg("price_floor", s.price_floor, d_floor)?,
    };
    let job_hours = positive("job_hours", s.job_hours, 2.0)?;
    let mean_job_hours = positive("mean_job_hours", s.mean_job_hours, 2.0)?;
    let bid_rate = keys.rate("bid_rate", s.bid_rate, d_rate, TimeUnit::Hours)?;
    let bid_floor = nonneg("bid_floor", s.bid_floor, 0.1)?;
    let shape = if variant == Variant::V2 { BidShape::Uniform } else { BidShape::Normal };
    let bid_model = if keys.pick("bid_model", &s.bid_model, (shape, shape))? == BidShape::Normal {
        BidModel::Normal { spread: nonneg("bid_spread", s.bid_spread, 0.2)?, floor: bid_floor }
    } else {
        let [lo, hi] = s.bid_uniform.unwrap_or([0.8, 1.5]);
        if !(lo.is_finite() && hi.is_finite()) || lo < 0.0 || lo > hi {
            return Err(err(format!("key `bid_uniform` must be [lo, hi] with 0 <= lo <= hi (got [{lo}, {hi}])")));
        }
        BidModel::Uniform { lo, hi }
    };
    let reserve_price = nonneg("reserve_price", s.reserve_price, 0.5)?;
    // A rational bid is between rational_floor * p and p.
    let rational_floor = keys.in_range("rational_floor", s.rational_floor, 0.3, Included(0.0), Included(1.0))?;
    let strategies = s.strategies.clone().unwrap_or_else(|| match variant {
        Variant::Basic => vec![Strategy::Naive, Strategy::Rational],
        _ => vec![Strategy::Rational],
    });
    if strategies.is_empty() {
        return Err(err("key `strategies` must name at least one strategy".into()));
    }
    keys.unique("strategies", strategies.iter().map(|s| s.name()))?;
    if variant == Variant::Equilibrium && strategies.len() != 1 {
        return Err(err("key `strategies`: reliability_equilibrium runs exactly one strategy".into()));
    }
    let iterations = count("iterations", s.iterations, 10)?;
    let (d_rounds, d_round_hours) = match variant {
        Variant::Basic => (1, 500.0),
        Variant::Equilibrium => (30, 300.0),
        Variant::V2 => (50, 200.0),
    };
    let rounds = count("rounds", s.rounds, d_rounds)?;
    let round_hours = positive("round_hours", s.round_hours, d_round_hours)?;

    let providers = if variant == Variant::Basic {
        let groups = s.provider_groups.clone().unwrap_or_else(|| {
            vec![
                ProviderGroup { name: "reliable".into(), count: 5, threshold: 3.0 },
                ProviderGroup { name: "moderate".into(), count: 5, threshold: 1.8 },
                ProviderGroup { name: "unreliable".into(), count: 5, threshold: 1.3 },
            ]
        });
        keys.unique("provider_groups[].name", groups.iter().map(|g| g.name.as_str()))?;
        let mut out = Vec::new();
        for (i, g) in groups.iter().enumerate() {
            let c = count(&format!("provider_groups[{i}].count"), Some(g.count), 0)?;
            let t = num(&format!("provider_groups[{i}].threshold"), Some(g.threshold), 0.0)?;
            if t <= 0.0 {
                return Err(err(format!("key `provider_groups[{i}].threshold` must be > 0 (got {t})")));
            }
            out.push((g.name.clone(), c, t));
        }
        ProviderSetup::Groups(out)
    } else {
        let (d_rate, d_fn, d_ln, d_m, d_min) = match variant {
            Variant::Equilibrium => (0.1, 0.05, 0.1, 0.0, 1.1),
            _ => (0.2, 0.0, 0.05, 0.01, 1.05),
        };
        let [a, b] = s.initial_threshold_range.unwrap_or([1.1, 4.0]);
        if !(a.is_finite() && b.is_finite()) || a > b {
            return Err(err(format!("key `initial_threshold_range` must be [a, b] with a <= b (got [{a}, {b}])")));
        }
        let min = num("threshold_min", s.threshold_min, d_min)?;
        let max = num("threshold_max", s.threshold_max, 5.0)?;
        if min > max {
            return Err(err(format!("keys `threshold_min` ({min}) > `threshold_max` ({max})")));
        }
        let update = keys.pick(
            "threshold_update",
            &s.threshold_update,
            (ThresholdUpdate::Sequential, ThresholdUpdate::Simultaneous),
        )?;
        ProviderSetup::Adaptive {
            count: count("provider_count", s.provider_count, 20)?,
            range: [a, b],
            // A step toward the better earners' mean: a fraction of the gap.
            rate: keys.in_range("adapt_rate", s.adapt_rate, d_rate, Included(0.0), Included(1.0))?,
            follower_noise: nonneg("follower_noise", s.follower_noise, d_fn)?,
            leader_noise: nonneg("leader_noise", s.leader_noise, d_ln)?,
            margin: nonneg("adapt_margin", s.adapt_margin, d_m)?,
            min,
            max,
            update,
        }
    };

    let specs = s.consumer_groups.clone().unwrap_or_else(|| default_consumers(variant));
    let mut consumer_groups = Vec::new();
    for (i, g) in specs.iter().enumerate() {
        let key = |f: &str| format!("consumer_groups[{i}].{f}");
        let c = count(&key("count"), Some(g.count), 0)?;
        let k = num(&key("checkpoint_hours"), Some(g.checkpoint_hours), 0.0)?;
        if k <= 0.0 {
            return Err(err(format!("key `{}` must be > 0 (got {k})", key("checkpoint_hours"))));
        }
        let (r, v) = match variant {
            Variant::V2 => {
                if g.restart_cost.is_some() {
                    return Err(err(format!("key `{}` does not apply to reliability_v2", key("restart_cost"))));
                }
                let v = g
                    .value_per_hour
                    .ok_or_else(|| err(format!("key `{}` is required in reliability_v2", key("value_per_hour"))))?;
                (0.0, nonneg(&key("value_per_hour"), Some(v), 0.0)?)
            }
            _ => {
                if g.value_per_hour.is_some() {
                    return Err(err(format!("key `{}` applies to reliability_v2 only", key("value_per_hour"))));
                }
                let r = g.restart_cost.ok_or_else(|| err(format!("key `{}` is required", key("restart_cost"))))?;
                (nonneg(&key("restart_cost"), Some(r), 0.0)?, 0.0)
            }
        };
        if consumer_groups.iter().any(|x: &ConsumerGroup| x.name == g.name) {
            return Err(err(format!("key `{}`: group name \"{}\" is used twice", key("name"), g.name)));
        }
        consumer_groups.push(ConsumerGroup {
            name: g.name.clone(),
            tier: g.tier.clone().unwrap_or_default(),
            count: c,
            restart_cost: r,
            checkpoint: k,
            value: v,
        });
    }
    if consumer_groups.len() > u16::MAX as usize {
        return Err(err("key `consumer_groups`: too many groups".into()));
    }
    let order_d = if variant == Variant::Basic { ConsumerOrder::Interleaved } else { ConsumerOrder::Grouped };
    let order = keys.pick("consumer_order", &s.consumer_order, (order_d, order_d))?;
    let expected_cost =
        keys.pick("expected_cost", &s.expected_cost, (ExpectedCost::Reference, ExpectedCost::Consistent))?;
    let prio_ref = if variant == Variant::V2 { Priority::ValueSorted } else { Priority::Fifo };
    let priority = keys.pick("consumer_priority", &s.consumer_priority, (prio_ref, Priority::Bid))?;
    if priority == Priority::ValueSorted && variant != Variant::V2 {
        return Err(
            err("key `consumer_priority`: \"value_sorted\" needs consumer values (reliability_v2 only)".into()),
        );
    }
    if priority == Priority::Fifo && variant == Variant::V2 {
        return Err(err(
            "key `consumer_priority`: \"fifo\" needs expected costs in dollars (basic and equilibrium only)".into(),
        ));
    }
    let resume = keys.bool_switch("resume_from_checkpoint", &s.resume_from_checkpoint, (false, true))?;
    let attempts_cap = num("attempts_cap", s.attempts_cap, 10.0)?;
    if attempts_cap < 1.0 {
        return Err(err(format!("key `attempts_cap` must be >= 1 (got {attempts_cap})")));
    }
    let bid_min = nonneg("bid_min", s.bid_min, 0.1)?;
    if variant == Variant::V2 && bid_min > price.floor {
        return Err(err(format!("key `bid_min` ({bid_min}) must not exceed `price_floor` ({})", price.floor)));
    }
    let mut money = vec![
        ("price_mean", price.mean),
        ("price_start", price.start),
        ("price_volatility", price.volatility),
        ("price_floor", price.floor),
        ("bid_floor", bid_floor),
        ("reserve_price", reserve_price),
        ("bid_min", bid_min),
    ];
    let group_keys: Vec<(String, String)> = (0..consumer_groups.len())
        .map(|i| (format!("consumer_groups[{i}].value_per_hour"), format!("consumer_groups[{i}].restart_cost")))
        .collect();
    for (g, (v, r)) in consumer_groups.iter().zip(&group_keys) {
        money.push((v.as_str(), g.value));
        money.push((r.as_str(), g.restart_cost));
    }
    keys.money_scale(&money)?;
    let class_reliable_min = num("class_reliable_min", s.class_reliable_min, 2.5)?;
    let class_moderate_min = num("class_moderate_min", s.class_moderate_min, 1.7)?;
    keys.ordered("class_moderate_min", class_moderate_min, "class_reliable_min", class_reliable_min)?;
    check_size(
        &keys,
        variant,
        fidelity,
        Sizes {
            tick_hours,
            requote_hours,
            job_hours,
            round_hours,
            rounds,
            iterations,
            strategies: strategies.len(),
            providers: &providers,
            consumers: &consumer_groups,
        },
    )?;
    Ok(Params {
        variant,
        fidelity,
        seeds,
        seed_base,
        verdict,
        tick_hours,
        requote_hours,
        price,
        job_hours,
        mean_job_hours,
        bid_rate,
        bid_model,
        reserve_price,
        rational_floor,
        strategies,
        iterations,
        rounds,
        round_hours,
        providers,
        class_reliable_min,
        class_moderate_min,
        consumer_groups,
        consumer_order: order,
        expected_cost,
        priority,
        resume,
        attempts_cap,
        profit_epsilon: nonneg("profit_epsilon", s.profit_epsilon, 1e-9)?,
        bid_min,
    })
}

/// The values [`check_size`] reads.
struct Sizes<'a> {
    tick_hours: f64,
    requote_hours: f64,
    job_hours: f64,
    round_hours: f64,
    rounds: u32,
    iterations: u32,
    strategies: usize,
    providers: &'a ProviderSetup,
    consumers: &'a [ConsumerGroup],
}

/// A run that simulates something, on a time grid the engine can hold:
/// at least one round, one provider and one consumer; every duration at
/// least one engine tick; the reference tick grids (per round and per job,
/// built in both fidelities) and the checkpoint grid bounded; the horizon
/// within [`crate::study::limits::MAX_TICKS`]; agent counts within the u32
/// indices the model uses.
fn check_size(keys: &Keys<'_>, variant: Variant, fidelity: Fidelity, z: Sizes<'_>) -> Result<(), ScenarioError> {
    let h = TimeUnit::Hours;
    let total_rounds = match variant {
        Variant::Basic => z.strategies as u64 * z.iterations as u64,
        _ => z.rounds as u64,
    };
    if total_rounds == 0 {
        let key = if variant == Variant::Basic { "iterations" } else { "rounds" };
        return Err(keys.err(format!("key `{key}` is 0: the run would simulate nothing")));
    }
    if total_rounds > u32::MAX as u64 {
        return Err(keys.err(format!(
            "keys `strategies` x `iterations`: {total_rounds} rounds do not fit in a 32-bit round counter"
        )));
    }
    let providers: u64 = match z.providers {
        ProviderSetup::Groups(g) => g.iter().map(|x| x.1 as u64).sum(),
        ProviderSetup::Adaptive { count, .. } => *count as u64,
    };
    let pkey = if variant == Variant::Basic { "provider_groups[].count" } else { "provider_count" };
    if providers == 0 {
        return Err(keys.err(format!("key `{pkey}`: no providers, the market would simulate nothing")));
    }
    let consumers: u64 = z.consumers.iter().map(|g| g.count as u64).sum();
    if consumers == 0 {
        return Err(keys.err("key `consumer_groups[].count`: no consumers, the market would simulate nothing"));
    }
    for (key, n) in [(pkey, providers), ("consumer_groups[].count", consumers)] {
        if n >= u32::MAX as u64 {
            return Err(keys.err(format!("key `{key}`: {n} agents in total do not fit in a 32-bit agent index")));
        }
    }
    let dt = keys.duration_ticks("tick_hours", z.tick_hours, h)?;
    keys.duration_ticks("requote_hours", z.requote_hours, h)?;
    keys.duration_ticks("job_hours", z.job_hours, h)?;
    // The reference grid of a job (built in both fidelities).
    keys.steps(
        "keys `job_hours` / `tick_hours` (ticks of a job, the reference grid built in both fidelities)",
        z.job_hours - 1e-9,
        z.tick_hours,
        MAX_GRID_STEPS - 1,
    )?;
    // The checkpoint grid adds the interval up to the grid's last tick (at
    // most a job plus a tick).
    for (i, g) in z.consumers.iter().enumerate() {
        let key = format!("consumer_groups[{i}].checkpoint_hours");
        keys.duration_ticks(&key, g.checkpoint, h)?;
        let n = (z.job_hours + z.tick_hours) / g.checkpoint;
        if n > MAX_GRID_STEPS as f64 {
            return Err(keys.err(format!(
                "keys (`job_hours` + `tick_hours`) / `{key}`: {} checkpoints in the grid of a job, at most {MAX_GRID_STEPS}",
                crate::study::keys::fmt_num(n)
            )));
        }
    }
    let round_ticks = if fidelity == Fidelity::Reference {
        let k = keys.steps(
            "keys `round_hours` / `tick_hours` (ticks per round)",
            z.round_hours,
            z.tick_hours,
            MAX_GRID_STEPS,
        )?;
        keys.span("keys `round_hours` / `tick_hours`", dt, k)?
    } else {
        keys.duration_ticks("round_hours", z.round_hours, h)?
    };
    let what =
        if variant == Variant::Basic { "keys `iterations` x `round_hours`" } else { "keys `rounds` x `round_hours`" };
    keys.span(what, round_ticks, total_rounds)?;
    Ok(())
}
