//! Scenario keys of the `world` study (docs/models/world.md): the keys of
//! the economic_value market, plus the world's own (`days`, `settlement`,
//! `pricing`, `arms`, `[link]`, `[world]`, `[trust]`, and the budget keys of
//! `[consumer]`). The world's keys are taken out of the table and decoded
//! with unknown keys refused; the rest is resolved as an economic_value
//! scenario (corrected fidelity), so every market key keeps its meaning,
//! default and check.

use crate::models::economic_value::config::{EvParams, resolve as resolve_market};
use crate::study::{Common, Fidelity, Keys, Scenario, ScenarioError};
use crate::trust::TrustParams;
use serde::{Deserialize, Serialize};
use std::ops::Bound;

crate::switch_enum! {
    /// `settlement`: the provider's share of each payment.
    pub enum Settlement { TrustWeighted = "trust_weighted", Full = "full" }
}

crate::switch_enum! {
    /// `pricing`: what price-taking providers' floors cover.
    pub enum Pricing { Net = "net", Gross = "gross" }
}

crate::switch_enum! {
    /// `consumer.budget`: how consumers fund their escrow locks.
    pub enum Budget { Unlimited = "unlimited", Finite = "finite" }
}

crate::switch_enum! {
    /// `link.reclaim`: the settlement condition of a home whose owner reclaims it.
    pub enum Reclaim { Terminated = "terminated", Failed = "failed" }
}

crate::switch_enum! {
    /// `link.failed`: the trust transactions of a DC hardware failure.
    pub enum Failed { None = "none", Signal = "signal" }
}

/// The world's keys, as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct WorldKeys {
    days: Option<f64>,
    settlement: Option<String>,
    pricing: Option<String>,
    arms: Option<Vec<String>>,
    link: Option<LinkKeys>,
    world: Option<WorldTable>,
    consumer: Option<ConsumerKeys>,
    trust: Option<TrustParams>,
    sybil: Option<toml::Table>,
    long_con: Option<toml::Table>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LinkKeys {
    rw: Option<f64>,
    vs_completed: Option<f64>,
    vs_terminated: Option<f64>,
    reclaim: Option<String>,
    failed: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct WorldTable {
    history_days: Option<i64>,
    dc_history_sessions: Option<i64>,
    s_min: Option<f64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ConsumerKeys {
    budget: Option<String>,
    initial_balance: Option<f64>,
    topup_per_day: Option<f64>,
}

/// The world's keys of `[consumer]` (the others are the market's).
const CONSUMER_KEYS: &[&str] = &["budget", "initial_balance", "topup_per_day"];
/// The world's top-level keys.
const TOP_KEYS: &[&str] = &["days", "settlement", "pricing", "arms", "link", "world", "trust", "sybil", "long_con"];

/// How settlements feed trust (`[link]`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Link {
    /// Resource weight of every transaction.
    pub rw: f64,
    /// Verification score of delivered work.
    pub vs_completed: f64,
    /// Verification score of work lost to a provider's termination.
    pub vs_terminated: f64,
    /// `"terminated"` or `"failed"`.
    pub reclaim_terminated: bool,
    /// `"signal"`: a DC failure is booked as a termination.
    pub failed_signal: bool,
}

/// The world's parameters (beside the market's).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorldCfg {
    /// Trust-weighted settlement (else the provider gets every payment).
    pub trust_weighted: bool,
    /// Net pricing (floors over the share); else gross (the market's).
    pub net_pricing: bool,
    /// Consumers' budgets are finite.
    pub finite_budget: bool,
    /// Each consumer's opening balance, µOMC.
    pub initial_balance: i64,
    /// Finite budgets: daily top-up, µOMC.
    pub topup_per_day: i64,
    /// The link between settlements and trust.
    pub link: Link,
    /// Engine days before world day 0.
    pub history_days: u32,
    /// Completed sessions each DC has before day 0.
    pub dc_history_sessions: u32,
    /// Lowest share net floors divide by.
    pub s_min: f64,
    /// The trust engine's constants.
    pub trust: TrustParams,
}

impl Default for WorldCfg {
    fn default() -> Self {
        WorldCfg {
            trust_weighted: true,
            net_pricing: true,
            finite_budget: false,
            initial_balance: 100_000_000,
            topup_per_day: 10_000_000,
            link: Link {
                rw: 1.0,
                vs_completed: 0.95,
                vs_terminated: 0.3,
                reclaim_terminated: true,
                failed_signal: false,
            },
            history_days: 365,
            dc_history_sessions: 1000,
            s_min: 0.3,
            trust: TrustParams::default(),
        }
    }
}

/// A resolved world scenario.
#[derive(Clone, Debug)]
pub struct WorldParams {
    /// The market's parameters (economic_value, corrected).
    pub market: EvParams,
    /// The world's.
    pub cfg: WorldCfg,
    /// Horizon in days (the market's `duration_hours` / 24).
    pub days: f64,
    /// Header values.
    pub common: Common,
}

fn micro(k: &Keys<'_>, key: &str, v: f64) -> Result<i64, ScenarioError> {
    if v > 1e12 {
        return Err(k.err(format!("key `{key}` must be at most 1e12 OMC (got {v})")));
    }
    Ok((v * 1e6).round() as i64)
}

/// Resolve and check a world scenario.
pub fn resolve(scn: &Scenario) -> Result<WorldParams, ScenarioError> {
    if scn.study != "world" {
        return Err(scn.invalid(format!("study `{}` is not world", scn.study)));
    }
    let h = scn.header(20, 1)?;
    let k = Keys::new(scn, h.fidelity);
    if h.fidelity == Fidelity::Reference {
        return Err(k.err("study `world` has no reference script: only `fidelity = \"corrected\"`"));
    }
    if scn.table.get("compare_fidelities").and_then(|v| v.as_bool()) == Some(true) {
        return Err(k.err("key `compare_fidelities`: study `world` has one fidelity (corrected), nothing to compare"));
    }
    if scn.table.contains_key("sweep") {
        return Err(k.err("key `sweep`: study `world` runs markets (`[market.<name>]`), not an economic_value sweep"));
    }
    // Split the table: the world's keys, and the market's.
    let mut own = toml::Table::new();
    let mut market = scn.table.clone();
    for key in TOP_KEYS {
        if let Some(v) = market.remove(*key) {
            own.insert((*key).to_string(), v);
        }
    }
    if let Some(toml::Value::Table(c)) = market.get_mut("consumer") {
        let mut mine = toml::Table::new();
        for key in CONSUMER_KEYS {
            if let Some(v) = c.remove(*key) {
                mine.insert((*key).to_string(), v);
            }
        }
        if !mine.is_empty() {
            own.insert("consumer".into(), toml::Value::Table(mine));
        }
    }
    for key in crate::study::scenario::HEADER_KEYS {
        market.remove(*key);
    }
    let w: WorldKeys = crate::study::scenario::decode_table(scn, &own)?;
    if w.sybil.is_some() || w.long_con.is_some() {
        let which = if w.sybil.is_some() { "sybil" } else { "long_con" };
        return Err(k.err(format!("table `[{which}]`: the world's attackers are not in this version of the study")));
    }
    let arms = w.arms.clone().unwrap_or_else(|| vec!["off".into()]);
    if arms != ["off"] {
        return Err(k.err(format!(
            "key `arms`: only [\"off\"] in this version of the study (the policy arm is not built yet; got {arms:?})"
        )));
    }
    // Horizon: `days` or the market's `duration_hours`.
    if let Some(d) = w.days {
        if market.contains_key("duration_hours") {
            return Err(k.err("keys `days` and `duration_hours` both set: give the horizon once"));
        }
        let d = k.positive("days", Some(d), 90.0)?;
        if d > 100_000.0 {
            return Err(k.err(format!("key `days` must be at most 100000 (got {d})")));
        }
        market.insert("duration_hours".into(), toml::Value::Float(d * 24.0));
    } else if !market.contains_key("duration_hours") {
        market.insert("duration_hours".into(), toml::Value::Float(90.0 * 24.0));
    }
    market.insert("study".into(), toml::Value::String("economic_value".into()));
    market.insert("fidelity".into(), toml::Value::String("corrected".into()));
    market.insert("seeds".into(), toml::Value::Integer(h.seeds.min(i64::MAX as u64) as i64));
    market.insert("seed_base".into(), toml::Value::Integer(h.seed_base.min(i64::MAX as u64) as i64));
    let market_scn = Scenario { path: scn.path.clone(), study: "economic_value".into(), table: market };
    let ev = resolve_market(&market_scn)?;
    if ev.sweep.is_some() || ev.markets.is_empty() {
        return Err(k.err("study `world` needs at least one `[market.<name>]`"));
    }

    let settlement = k.pick("settlement", &w.settlement, (Settlement::TrustWeighted, Settlement::TrustWeighted))?;
    let pricing = k.pick("pricing", &w.pricing, (Pricing::Net, Pricing::Net))?;
    let l = w.link.unwrap_or_default();
    let link = Link {
        rw: k.nonneg("link.rw", l.rw, 1.0)?,
        vs_completed: k.probability("link.vs_completed", l.vs_completed, 0.95)?,
        vs_terminated: k.probability("link.vs_terminated", l.vs_terminated, 0.3)?,
        reclaim_terminated: k.pick("link.reclaim", &l.reclaim, (Reclaim::Terminated, Reclaim::Terminated))?
            == Reclaim::Terminated,
        failed_signal: k.pick("link.failed", &l.failed, (Failed::None, Failed::None))? == Failed::Signal,
    };
    let c = w.consumer.unwrap_or_default();
    let budget = k.pick("consumer.budget", &c.budget, (Budget::Unlimited, Budget::Unlimited))?;
    if budget == Budget::Finite {
        return Err(k.err("key `consumer.budget`: only \"unlimited\" in this version of the study"));
    }
    let initial_balance =
        micro(&k, "consumer.initial_balance", k.nonneg("consumer.initial_balance", c.initial_balance, 100.0)?)?;
    let topup_per_day =
        micro(&k, "consumer.topup_per_day", k.nonneg("consumer.topup_per_day", c.topup_per_day, 10.0)?)?;
    let wt = w.world.unwrap_or_default();
    let history_days = k.count("world.history_days", wt.history_days, 365)?;
    if history_days > 100_000 {
        return Err(k.err(format!("key `world.history_days` must be at most 100000 (got {history_days})")));
    }
    let dc_history_sessions = k.count("world.dc_history_sessions", wt.dc_history_sessions, 1000)?;
    if dc_history_sessions > 100_000 {
        return Err(
            k.err(format!("key `world.dc_history_sessions` must be at most 100000 (got {dc_history_sessions})"))
        );
    }
    if dc_history_sessions > 0 && history_days == 0 {
        return Err(k.err("key `world.dc_history_sessions` needs `world.history_days` >= 1 (the days they fall on)"));
    }
    let s_min = k.in_range("world.s_min", wt.s_min, 0.3, Bound::Excluded(0.0), Bound::Included(1.0))?;
    let trust = w.trust.unwrap_or_default();
    trust.validate().map_err(|e| k.err(format!("key `trust.{}`: {}", e.key, e.message)))?;
    let cfg = WorldCfg {
        trust_weighted: settlement == Settlement::TrustWeighted,
        net_pricing: pricing == Pricing::Net,
        finite_budget: false,
        initial_balance,
        topup_per_day,
        link,
        history_days,
        dc_history_sessions,
        s_min,
        trust,
    };
    let days = ev.duration_hours / 24.0;
    let common = Common { fidelity: h.fidelity, seed_base: h.seed_base, seeds: h.seeds, verdict: h.verdict };
    Ok(WorldParams { market: ev, cfg, days, common })
}
