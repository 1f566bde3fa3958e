//! The economic-value market as an engine `Model`
//! (docs/models/economic_value.md): datacenters and home providers in one
//! posted-price market.
//!
//! A run simulates a list of legs (market x {DC only, DC + Home}, or sweep
//! cell x leg) back to back; each leg rebuilds its agents and reseeds its
//! streams from the leg id, so legs never share draws. Reference fidelity
//! runs 0.1 h ticks (one `Tick` event per tick, the script's order of phases
//! inside it); corrected fidelity is event-driven with matching indices that
//! never scan providers x consumers.
//!
//! The model's parts, one file each: `agents.rs` (providers, consumers,
//! sessions and their books), `legs.rs` (a leg's setup, end and metrics),
//! `matching.rs` (matching rounds, indices, price setter), `sessions.rs`
//! (starting and booking sessions), `reference.rs` (the reference tick
//! loop), `corrected.rs` (the corrected fidelity's events), `inspect.rs`
//! (invariants and descriptions) and `validate.rs` (snapshot validation).

use super::config::{EvParams, LegDef};
use crate::engine::time::{hours_to_ticks, ticks_to_hours};
use crate::engine::{AgentRef, Ctx, EventId, EventInfo, Model, SimTime, TICKS_PER_HOUR, TimeUnit};
use crate::market::posted::{
    ConsumerClass, ProviderKind, ProviderParams, attempts, completion_reference, completion_with_prior,
};
use crate::market::price::Price;
use crate::market::slab::Slab;
use rand::RngExt;
use rand_distr::{Distribution, Exp1};
use serde::{Deserialize, Serialize};

#[path = "agents.rs"]
mod agents;
#[path = "corrected.rs"]
mod corrected;
#[path = "inspect.rs"]
mod inspect;
#[path = "legs.rs"]
mod legs;
#[path = "matching.rs"]
mod matching;
#[path = "reference.rs"]
mod reference;
#[path = "sessions.rs"]
mod sessions;
#[path = "validate.rs"]
mod validate;

pub use agents::End;
pub use agents::{Avail, Books, Cons, ConsBook, Exact, Float, Prov, ProvBook, Sess, Slot, Units};
pub use legs::{LegRecord, horizon, leg_span, ticks_per_leg};
pub use matching::Level;
use reference::TickCache;
pub(crate) use validate::{fresh_market, fresh_run};

/// Random streams, one per random process.
pub const STREAMS: &[&str] =
    &["outside_index", "personal", "downtime", "offer_arrival", "offer_price", "outside_session", "ties"];
const S_INDEX: usize = 0;
const S_PERSONAL: usize = 1;
const S_DOWN: usize = 2;
const S_ARRIVAL: usize = 3;
const S_OFFER: usize = 4;
const S_OUTSIDE: usize = 5;
const S_TIES: usize = 6;

const NONE: u32 = u32::MAX;
const MICRO: f64 = 1e6;

/// Events of the economic-value market.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Ev {
    /// Set up leg j: agents, prices, first events.
    LegStart(u32),
    /// Reference: market tick k (1..=K) of the current leg.
    Tick(u32),
    /// Corrected: session (slot) completes.
    SessionEnd(u32),
    /// Corrected: an outside offer reaches the home of session (slot).
    OutsideOffer(u32),
    /// Corrected: provider p fails (DC) or is reclaimed by its owner (home).
    DowntimeStart(u32),
    /// Corrected: provider p is back.
    DowntimeEnd(u32),
    /// Corrected: provider p's outside session ends.
    OutsideEnd(u32),
    /// Corrected: idle provider p's price reaches its floor.
    FloorReached(u32),
    /// Corrected: a falling idle price becomes affordable to an idle consumer.
    PriceCrossing,
    /// Corrected (optimise rule): re-solve the DC fleet's price.
    PriceSetterSolve,
    /// Corrected: read-only sample of the market.
    Sample,
    /// End of leg j: settle, record.
    RunEnd(u32),
    /// An event of a model built on this market ([`Hooks`]); never
    /// scheduled by the market itself.
    Hook(HookEv),
}

/// Events of models built on this market (the `world` study): the market
/// never schedules them; [`Hooks::on_hook`] handles them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HookEv {
    /// Day d of the leg starts (trust solve, settlements' share, samples).
    DayStart(u32),
    /// A long-con home abandons its session (slot).
    Abandon(u32),
    /// The sybil ring trades fake sessions among its members.
    FakeSessions,
}

impl HookEv {
    /// The kind names of hook events, as `step` prints them.
    pub const KINDS: &'static [&'static str] = &["DayStart", "Abandon", "FakeSessions"];

    /// This event's kind name.
    pub fn kind(&self) -> &'static str {
        match self {
            HookEv::DayStart(_) => "DayStart",
            HookEv::Abandon(_) => "Abandon",
            HookEv::FakeSessions => "FakeSessions",
        }
    }
}

/// How a session's end was booked, for [`Hooks::on_booked`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Booked {
    /// The session's slot (already freed).
    pub slot: u32,
    /// Provider index.
    pub provider: usize,
    /// Consumer index.
    pub consumer: usize,
    /// Its rate (per hour).
    pub rate: f64,
    /// When it started (ticks).
    pub start: u64,
    /// Ticks worked.
    pub e_u: u64,
    /// Ticks the consumer keeps (checkpointed; all of them when done or at
    /// the horizon).
    pub kept_u: u64,
    /// The gross payment booked, µ$ (the market's `pay_u`).
    pub pay_u: i64,
    /// How it ended.
    pub end: End,
    /// Settled pro rata at the leg's end.
    pub horizon: bool,
}

/// Hooks a model built on this market runs at the market's points of
/// coupling. Every hook defaults to doing nothing, and `()` is the market on
/// its own: `economic_value` runs `EconomicMarket<()>`, whose state and
/// events are those of the market alone.
pub trait Hooks:
    Clone + std::fmt::Debug + Default + Serialize + serde::de::DeserializeOwned + Send + Sync + 'static
{
    /// The model kind (study id) written into snapshots.
    const KIND: &'static str;
    /// The random streams: the market's [`STREAMS`] first, then the hooks'.
    const STREAMS: &'static [&'static str];
    /// Whether the hooks move providers' floors after a leg's start (so a
    /// snapshot's floors are not compared with the leg's initial ones; the
    /// hooks' `validate` checks them).
    const FLOORS_MOVE: bool = false;
    /// Whether `on_booked` does anything (false for the market alone, whose
    /// bookings then cost nothing extra).
    const BOOKS: bool = true;
    /// A leg's agents are built (before any of them is indexed or any
    /// market event scheduled).
    fn on_leg_agents(_m: &mut EconomicMarket<Self>, _j: u32, _ctx: &mut Ctx<'_, Ev>) {}
    /// Session `slot` started (its end and offer already scheduled).
    fn on_session_start(_m: &mut EconomicMarket<Self>, _slot: u32, _ctx: &mut Ctx<'_, Ev>) {}
    /// A session's end was booked; the consumer is not yet idle.
    fn on_booked(_m: &mut EconomicMarket<Self>, _b: &Booked, _ctx: &mut Ctx<'_, Ev>) {}
    /// Leg j ended and its market record was pushed.
    fn on_leg_end(_m: &mut EconomicMarket<Self>, _j: u32, _ctx: &mut Ctx<'_, Ev>) {}
    /// A hook event.
    fn on_hook(_m: &mut EconomicMarket<Self>, _ev: HookEv, _ctx: &mut Ctx<'_, Ev>) {}
    /// The factor the DC fleet's price setter scales the DCs' cost by (the
    /// world's net pricing: 1 / the DCs' mean payment share).
    fn dc_cost_scale(_m: &EconomicMarket<Self>) -> f64 {
        1.0
    }
    /// The hooks' own invariants.
    fn invariants(_m: &EconomicMarket<Self>) -> Result<(), String> {
        Ok(())
    }
    /// Whether a pending hook event is consistent with the state (snapshot
    /// validation); the market alone has none.
    fn pending_ok(_m: &EconomicMarket<Self>, ev: HookEv) -> Result<(), String> {
        Err(format!("a pending {} event, which this model never schedules", ev.kind()))
    }
    /// Extra checks of a state read from a snapshot.
    fn validate(_m: &EconomicMarket<Self>, _fresh: &EconomicMarket<Self>) -> Result<(), String> {
        Ok(())
    }
}

impl Hooks for () {
    const KIND: &'static str = "economic_value";
    const STREAMS: &'static [&'static str] = STREAMS;
    const BOOKS: bool = false;
}

impl EventInfo for Ev {
    fn kind(&self) -> &'static str {
        match self {
            Ev::LegStart(_) => "LegStart",
            Ev::Tick(_) => "Tick",
            Ev::SessionEnd(_) => "SessionEnd",
            Ev::OutsideOffer(_) => "OutsideOffer",
            Ev::DowntimeStart(_) => "DowntimeStart",
            Ev::DowntimeEnd(_) => "DowntimeEnd",
            Ev::OutsideEnd(_) => "OutsideEnd",
            Ev::FloorReached(_) => "FloorReached",
            Ev::PriceCrossing => "PriceCrossing",
            Ev::PriceSetterSolve => "PriceSetterSolve",
            Ev::Sample => "Sample",
            Ev::RunEnd(_) => "RunEnd",
            Ev::Hook(h) => h.kind(),
        }
    }
    fn agent(&self) -> Option<AgentRef> {
        match self {
            Ev::DowntimeStart(p) | Ev::DowntimeEnd(p) | Ev::OutsideEnd(p) | Ev::FloorReached(p) => {
                Some(AgentRef::new("provider", *p))
            }
            _ => None,
        }
    }
}

/// Total order of f64 as u64.
#[inline]
fn ord_f64(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

/// The economic-value market, with the hooks `H` of a model built on it
/// (`()`: the market alone).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct EconomicMarket<H: Hooks = ()> {
    /// Parameters.
    pub params: EvParams,
    /// The legs this run simulates.
    pub legs: Vec<LegDef>,
    /// Current leg.
    pub leg: u32,
    leg_start: u64,
    leg_end: u64,
    ticked: bool,
    /// Providers of the current leg: DCs, then homes.
    pub providers: Vec<Prov>,
    /// Consumers of the current leg.
    pub consumers: Vec<Cons>,
    sessions: Slab<Sess>,
    running: Vec<u32>,
    serial: u64,
    levels: Vec<Level>,
    /// Consumer classes (value, checkpoint) of the leg, for the optimise rule.
    classes: Vec<ConsumerClass>,
    outside: Price,
    pstar: f64,
    job_u: u64,
    dt_u: u64,
    k_ticks: u32,
    crossing_ev: Option<EventId>,
    solve_ev: Option<EventId>,
    sample_ev: Option<EventId>,
    samples: Vec<[f64; 7]>,
    dc_price_sum: f64,
    dc_price_n: u64,
    open_at_end: u64,
    /// Per-leg records.
    pub records: Vec<LegRecord>,
    /// When set, handlers check the model's invariants.
    pub checks: bool,
    /// Violations found (with `checks`).
    pub violations: Vec<String>,
    /// The horizon, summed once (it walks every leg's tick count).
    #[serde(skip)]
    horizon_cache: std::sync::OnceLock<SimTime>,
    #[serde(skip)]
    tc: TickCache,
    /// The state of the model built on the market.
    pub ext: H,
}

impl<H: Hooks> EconomicMarket<H> {
    /// A market that will run every leg of `params`.
    pub fn new(params: EvParams) -> Self {
        let legs = params.leg_defs();
        let dt_u = hours_to_ticks(params.tick_hours).max(1);
        EconomicMarket {
            job_u: hours_to_ticks(params.job_hours).max(1),
            dt_u,
            outside: Price::reset(params.tick_mode(), &params.outside.index, SimTime::ZERO),
            params,
            legs,
            leg: 0,
            leg_start: 0,
            leg_end: 0,
            ticked: false,
            providers: Vec::new(),
            consumers: Vec::new(),
            sessions: Slab::default(),
            running: Vec::new(),
            serial: 0,
            levels: Vec::new(),
            classes: Vec::new(),
            pstar: 0.0,
            k_ticks: 0,
            crossing_ev: None,
            solve_ev: None,
            sample_ev: None,
            samples: Vec::new(),
            dc_price_sum: 0.0,
            dc_price_n: 0,
            open_at_end: 0,
            records: Vec::new(),
            checks: false,
            violations: Vec::new(),
            horizon_cache: std::sync::OnceLock::new(),
            tc: TickCache::default(),
            ext: H::default(),
        }
    }

    fn tick_mode(&self) -> bool {
        self.params.tick_mode()
    }

    /// The current leg's start and end (ticks).
    pub fn leg_bounds(&self) -> (u64, u64) {
        (self.leg_start, self.leg_end)
    }

    /// A job's length in ticks.
    pub fn job_ticks(&self) -> u64 {
        self.job_u
    }

    /// The gross payment the market books for `ticks` at `rate`, µ$.
    pub fn booked_pay(rate: f64, ticks: u64) -> i64 {
        Self::pay_u(rate, ticks)
    }

    /// Session `slot`, if running: (provider, consumer, rate, start tick).
    pub fn session_at(&self, slot: u32) -> Option<(usize, usize, f64, u64)> {
        self.sessions.is_live(slot).then(|| {
            let s = &self.sessions[slot];
            (s.provider as usize, s.consumer as usize, s.rate, s.start)
        })
    }

    /// Corrected: set new price floors (`floors[i]`; NaN keeps provider i's)
    /// of the providers that do not set their price. An idle, available
    /// provider whose floor changes re-anchors its price at what it posts
    /// now, raised to the new floor if below it, and is re-indexed (its
    /// FloorReached rescheduled); a busy or away one keeps the floor for when
    /// it is idle again. Then, if the DCs set their price, the setter
    /// re-solves; then one matching round (which recomputes the price
    /// crossing). Returns how many floors changed.
    pub fn set_floors(&mut self, floors: &[f64], ctx: &mut Ctx<'_, Ev>) -> usize {
        let now = ctx.now().ticks();
        let mut changed = 0;
        for (i, &f) in floors.iter().enumerate().take(self.providers.len()) {
            let p = &self.providers[i];
            if f.is_nan() || p.setter || f.to_bits() == p.floor.to_bits() {
                continue;
            }
            changed += 1;
            if p.avail == Avail::Available && p.session == NONE && p.slot != Slot::Out {
                let price = self.posted_price(i, now);
                self.unindex_provider(i, ctx);
                let p = &mut self.providers[i];
                p.floor = f;
                p.price = price.max(f);
                p.anchor_t = now;
                self.index_provider(i, ctx);
            } else {
                self.providers[i].floor = f;
            }
        }
        if self.providers.iter().any(|p| p.setter) {
            self.resolve_setter(ctx);
        }
        self.round(ctx);
        changed
    }

    /// Run leg j's start handler (for validation on a throw-away context).
    pub fn handle_leg_start_probe(&mut self, j: u32, ctx: &mut Ctx<'_, Ev>) {
        self.on_leg_start(j, ctx);
    }

    /// Schedule a hook event at `at` unless at or after the leg's end.
    pub fn schedule_hook(&self, ctx: &mut Ctx<'_, Ev>, at: u64, ev: HookEv) -> Option<EventId> {
        self.sched(ctx, at, Ev::Hook(ev))
    }

    fn violation(&mut self, msg: impl FnOnce() -> String) {
        if self.violations.len() < 50 {
            self.violations.push(msg());
        }
    }

    /// Ticks a leg spans: K ticks in reference fidelity, T in corrected.
    fn leg_span(&self, leg: &LegDef) -> u64 {
        legs::leg_span(&self.params, leg)
    }

    fn local_hours(&self, t: u64) -> f64 {
        ticks_to_hours(t - self.leg_start)
    }

    fn pp(&self, i: usize) -> &ProviderParams {
        match self.providers[i].kind {
            ProviderKind::Datacenter => &self.params.dc,
            ProviderKind::Home => &self.params.home,
        }
    }

    /// Schedule unless at or after the leg's end (RunEnd settles the horizon).
    fn sched(&self, ctx: &mut Ctx<'_, Ev>, at: u64, ev: Ev) -> Option<EventId> {
        if at >= self.leg_end { None } else { Some(ctx.schedule(SimTime(at), ev)) }
    }

    fn exp_ticks(ctx: &mut Ctx<'_, Ev>, stream: usize, mean_hours: f64) -> u64 {
        let e: f64 = Exp1.sample(ctx.rng(stream));
        let t = (e * mean_hours * TICKS_PER_HOUR as f64).ceil();
        if t >= 1e18 { u64::MAX / 4 } else { (t as u64).max(1) }
    }

    fn new_tie(ctx: &mut Ctx<'_, Ev>) -> u64 {
        ctx.rng(S_TIES).random::<u64>()
    }

    /// Completion estimate of provider i.
    fn completion(&self, i: usize) -> f64 {
        let p = &self.providers[i];
        let pp = self.pp(i);
        let canc = (p.n_personal + p.n_profit) as u64;
        if self.tick_mode() {
            completion_reference(p.n_done as u64, canc, pp.hourly_survival)
        } else {
            completion_with_prior(
                p.n_done as u64,
                canc,
                pp.hourly_survival,
                self.params.job_hours,
                self.params.prior_sessions,
            )
        }
    }

    fn attempts_of(&self, i: usize) -> f64 {
        attempts(self.completion(i), self.params.min_completion, self.params.attempts_cap)
    }

    /// The price provider i posts now.
    fn posted_price(&self, i: usize, now: u64) -> f64 {
        let p = &self.providers[i];
        if self.tick_mode() {
            return p.price;
        }
        if p.setter {
            return self.pstar;
        }
        match p.avail {
            Avail::Available if p.session != NONE => {
                let s = &self.sessions[p.session];
                self.params.price.busy_price(s.rate, ticks_to_hours(now - s.start))
            }
            Avail::Available => self.params.price.idle_price(p.price, ticks_to_hours(now - p.anchor_t), p.floor),
            _ => p.price,
        }
    }
}

impl<H: Hooks> Model for EconomicMarket<H> {
    type Event = Ev;
    const STREAMS: &'static [&'static str] = H::STREAMS;
    const AGENT_CLASSES: &'static [&'static str] = &["provider", "consumer"];
    const TIME_UNIT: TimeUnit = TimeUnit::Hours;

    fn kind(&self) -> &'static str {
        H::KIND
    }

    fn start(&mut self, ctx: &mut Ctx<'_, Ev>) {
        if !self.legs.is_empty() {
            ctx.schedule(SimTime::ZERO, Ev::LegStart(0));
        }
    }

    fn handle(&mut self, ev: Ev, ctx: &mut Ctx<'_, Ev>) {
        match ev {
            Ev::LegStart(j) => self.on_leg_start(j, ctx),
            Ev::Tick(k) => self.on_tick(k, ctx),
            Ev::RunEnd(j) => self.on_run_end(j, ctx),
            Ev::SessionEnd(slot) => self.on_session_end(slot, ctx),
            Ev::OutsideOffer(slot) => self.on_outside_offer(slot, ctx),
            Ev::DowntimeStart(p) => self.on_downtime_start(p, ctx),
            Ev::DowntimeEnd(p) => self.on_back(p, false, ctx),
            Ev::OutsideEnd(p) => self.on_back(p, true, ctx),
            Ev::FloorReached(p) => self.on_floor_reached(p, ctx),
            Ev::PriceCrossing => self.on_price_crossing(ctx),
            Ev::PriceSetterSolve => self.on_setter_solve(ctx),
            Ev::Sample => self.on_sample(ctx),
            Ev::Hook(h) => H::on_hook(self, h, ctx),
        }
    }

    fn horizon(&self) -> SimTime {
        *self.horizon_cache.get_or_init(|| legs::horizon(&self.params))
    }

    fn check_invariants(&self) -> Result<(), String> {
        self.invariants()?;
        H::invariants(self)
    }

    fn validate(&self, audit: &crate::engine::Audit<'_, Self>) -> Result<(), String> {
        validate::validate(self, audit)?;
        H::validate(self, audit.fresh)
    }

    fn agent_counts(&self) -> Vec<(&'static str, usize)> {
        self.counts()
    }

    fn describe_agent(&self, a: AgentRef) -> Option<String> {
        self.describe_one(a)
    }

    fn find_agent(&self, name: &str) -> Result<AgentRef, String> {
        self.find(name)
    }

    fn agent_fields(&self, a: AgentRef) -> Option<Vec<(&'static str, f64)>> {
        self.fields(a)
    }

    fn describe(&self) -> String {
        self.summary()
    }
}
