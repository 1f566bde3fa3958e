//! The economic-value market as an engine `Model` (economic_value.md §2,
//! §4, §5): datacenters and home providers in one posted-price market.
//!
//! A run simulates a list of legs (market x {DC only, DC + Home}, or sweep
//! cell x leg) back to back; each leg rebuilds its agents and reseeds its
//! streams from the leg id, so legs never share draws. Reference fidelity
//! runs 0.1 h ticks (one `Tick` event per tick, the script's order of phases
//! inside it); corrected fidelity is event-driven with matching indices that
//! never scan providers x consumers.

use super::config::{EvParams, LegDef, Priority, SetterRule};
use crate::engine::time::{hours_to_ticks, ticks_to_hours};
use crate::engine::{AgentRef, Ctx, EventId, EventInfo, Model, SimTime, TICKS_PER_HOUR, TimeUnit};
use crate::market::orders::desc_key;
use crate::market::posted::{
    ConsumerClass, ProviderKind, ProviderParams, attempts, completion_reference, completion_with_prior, paid_hours,
    setter_floor, setter_optimise,
};
use crate::market::price::Price;
use crate::market::slab::Slab;
use crate::study::limits::MAX_GRID_STEPS;
use rand::RngExt;
use rand_distr::{Distribution, Exp1};
use serde::{Deserialize, Serialize};
use super::keyset::KeySet;
use std::collections::BTreeMap;

/// Random streams (economic_value.md §5).
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

/// A provider's availability (corrected fidelity).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Avail {
    /// Can be rented (idle) or is rented (busy).
    Available,
    /// Failed or reclaimed by its owner.
    Downtime,
    /// Serving the outside offer it cancelled for.
    Outside,
}

/// Where an idle provider sits in the matching indices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Slot {
    /// Not indexed (busy or unavailable).
    Out,
    /// Idle, price decaying.
    Decaying,
    /// Idle at its floor.
    Floor,
    /// Optimise-rule DC posting the fleet price.
    Setter,
}

/// A provider and its books.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prov {
    /// Datacenter or home.
    pub kind: ProviderKind,
    /// Price floor f_p.
    pub floor: f64,
    /// Optimise-rule price setter: posts the fleet price.
    pub setter: bool,
    /// Reference: posted price. Corrected: idle anchor (or frozen price).
    pub price: f64,
    /// Corrected: start of the idle spell (engine ticks).
    pub anchor_t: u64,
    /// Corrected: availability.
    pub avail: Avail,
    /// Session slot or none.
    pub session: u32,
    /// Tie key (bid priority).
    pub tie: u64,
    /// Place in the indices and its keys and E per level.
    pub slot: Slot,
    keys: Vec<u64>,
    costs: Vec<f64>,
    down_ev: Option<EventId>,
    floor_ev: Option<EventId>,
    /// Corrected: rate and start of the current outside session.
    out_rate: f64,
    out_start: u64,
    // Books: reference f64, corrected integer micro-dollars and ticks.
    rev_f: f64,
    hours_f: f64,
    top_f: f64,
    rev_u: i64,
    hours_u: u64,
    top_u: u64,
    out_rev_u: i64,
    out_hours_u: u64,
    /// Sessions started.
    pub sessions: u32,
    /// Sessions completed.
    pub n_done: u32,
    /// Sessions cancelled for personal use / failure.
    pub n_personal: u32,
    /// Sessions cancelled for a better offer.
    pub n_profit: u32,
}

/// A consumer and its books.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cons {
    /// Value per useful hour.
    pub value: f64,
    /// Checkpoint interval (h).
    pub kappa: f64,
    kappa_u: u64,
    /// Checkpoint level index.
    pub level: u16,
    /// Has the scenario's largest value.
    pub top: bool,
    /// Session slot or none.
    pub session: u32,
    /// Tie key (bid priority).
    pub tie: u64,
    useful_f: f64,
    paid_f: f64,
    money_f: f64,
    useful_u: u64,
    paid_u: u64,
    money_u: i64,
    /// Jobs completed.
    pub jobs: u32,
    /// Cancellations suffered.
    pub restarts: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum End {
    Done,
    Personal,
    Profit,
}

/// A running session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sess {
    consumer: u32,
    provider: u32,
    rate: f64,
    serial: u64,
    start: u64,
    e: f64,
    l: f64,
    end: Option<End>,
    end_ev: Option<EventId>,
    offer_ev: Option<EventId>,
}

/// One checkpoint level's matching indices (corrected) and idle consumers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Level {
    kappa: f64,
    consumers: KeySet,
    decaying: KeySet,
    floor: KeySet,
    setter: KeySet,
}

/// A matching candidate: (consumer key, consumer, provider, price, willingness).
type Candidate = ((u64, u64, u32), usize, usize, f64, f64);

/// Reference fidelity: what the tick loop reads every tick and can derive
/// from the state, kept beside it. Not part of the state (nor of snapshots):
/// built at a leg's first tick, after a snapshot is read, and kept up to
/// date as the books change.
#[derive(Clone, Debug, Default)]
struct TickCache {
    ready: bool,
    /// Per provider kind: probability per tick of a personal-use or failure
    /// cancellation (1 - s^dt), and the profit-cancel threshold.
    hazard: [f64; 2],
    theta: [f64; 2],
    /// Some provider is an optimise-rule price setter.
    has_setter: bool,
    /// E of provider i at level l, at `e[i * levels + l]`.
    e: Vec<f64>,
    /// Per level: the cheapest free provider of the running round.
    best: Vec<Best>,
    /// Providers without a session, in any order, and where each is in it.
    free: Vec<u32>,
    free_at: Vec<u32>,
    /// Providers (not setters) whose price may still move at the next
    /// tick: all but those a tick left unchanged since they last turned
    /// busy or idle.
    moving: Vec<u32>,
    is_moving: Vec<bool>,
    /// Scratch: the sessions that end this tick.
    ended: Vec<u32>,
    /// What a tick reads of each running session's agents, in the order of
    /// `running`.
    run: Vec<RunInfo>,
}

/// A running session's checkpoint interval and its provider kind's
/// cancellation probability per tick and profit threshold.
#[derive(Clone, Copy, Debug)]
struct RunInfo {
    kappa: f64,
    hazard: f64,
    theta: f64,
}

/// A free provider as the reference scan ranks it: by cost, then its second
/// key, then its index (the scan keeps the first of equals).
#[derive(Clone, Copy, Debug)]
struct Offer {
    cost: f64,
    second: u64,
    i: u32,
    price: f64,
    e: f64,
}

impl Offer {
    #[inline]
    fn before(&self, o: &Offer) -> bool {
        self.cost < o.cost || (self.cost == o.cost && (self.second < o.second || (self.second == o.second && self.i < o.i)))
    }
}

/// A level's cheapest free provider as the round's last scan found it.
#[derive(Clone, Copy, Debug, Default)]
struct Best {
    /// Scanned in this round.
    fresh: bool,
    offer: Option<Offer>,
}

/// Total order of f64 as u64.
#[inline]
fn ord_f64(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

/// What one leg leaves behind.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LegRecord {
    /// Leg id (metric prefix).
    pub id: String,
    /// Metric values by name (§7.1).
    pub metrics: BTreeMap<String, Option<f64>>,
    /// Samples: time (h), busy DCs, busy homes, idle consumers, mean DC
    /// price, mean home price, outside index.
    pub samples: Vec<[f64; 7]>,
}

/// The economic-value market.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EconomicMarket {
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
    /// When set, handlers check the spec's invariants.
    pub checks: bool,
    /// Violations found (with `checks`).
    pub violations: Vec<String>,
    /// The horizon, summed once (it walks every leg's tick count).
    #[serde(skip)]
    horizon_cache: std::sync::OnceLock<SimTime>,
    #[serde(skip)]
    tc: TickCache,
}

impl EconomicMarket {
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
        }
    }

    fn tick_mode(&self) -> bool {
        self.params.tick_mode()
    }

    fn violation(&mut self, msg: impl FnOnce() -> String) {
        if self.violations.len() < 50 {
            self.violations.push(msg());
        }
    }

    /// Ticks a leg spans: K ticks in reference fidelity, T in corrected.
    fn leg_span(&self, leg: &LegDef) -> u64 {
        if self.tick_mode() {
            ticks_per_leg(leg.duration_hours, self.params.tick_hours) as u64 * self.dt_u
        } else {
            hours_to_ticks(leg.duration_hours)
        }
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

    fn consumer_key(&self, j: usize) -> (u64, u64, u32) {
        let c = &self.consumers[j];
        let second = match self.params.priority {
            Priority::ListOrder => j as u64,
            Priority::Bid => u64::MAX - c.tie,
        };
        (desc_key(c.value.max(0.0)), second, j as u32)
    }

    fn provider_second(&self, i: usize) -> u64 {
        match self.params.priority {
            Priority::ListOrder => i as u64,
            Priority::Bid => self.providers[i].tie,
        }
    }

    fn consumer_idle(&mut self, j: usize, ctx: &mut Ctx<'_, Ev>) {
        if self.params.priority == Priority::Bid {
            self.consumers[j].tie = Self::new_tie(ctx);
        }
        self.consumers[j].session = NONE;
        let key = self.consumer_key(j);
        let l = self.consumers[j].level as usize;
        self.levels[l].consumers.insert(key);
    }

    fn consumer_busy(&mut self, j: usize) {
        let key = self.consumer_key(j);
        let l = self.consumers[j].level as usize;
        let was = self.levels[l].consumers.remove(&key);
        debug_assert!(was, "consumer {j} was not idle");
    }

    /// Corrected: put idle, available provider i into the indices (and
    /// schedule its FloorReached).
    fn index_provider(&mut self, i: usize, ctx: &mut Ctx<'_, Ev>) {
        let a = self.attempts_of(i);
        let now = ctx.now().ticks();
        let second = self.provider_second(i);
        let decay = self.params.price.decay;
        let p = &self.providers[i];
        let slot = if p.setter {
            Slot::Setter
        } else if p.price <= p.floor || decay <= 0.0 {
            Slot::Floor
        } else {
            Slot::Decaying
        };
        let anchor_h = ticks_to_hours(p.anchor_t - self.leg_start);
        let (price, floor) = (p.price, p.floor);
        let mut keys = Vec::with_capacity(self.levels.len());
        let mut costs = Vec::with_capacity(self.levels.len());
        for l in 0..self.levels.len() {
            let e = paid_hours(self.params.job_hours, self.levels[l].kappa, a);
            costs.push(e);
            let key = match slot {
                Slot::Setter => e.ln(),
                Slot::Floor => (floor * e).ln(),
                Slot::Decaying => price.ln() + decay * anchor_h + e.ln(),
                Slot::Out => unreachable!(),
            };
            let k = (ord_f64(key), second, i as u32);
            keys.push(k.0);
            let set = match slot {
                Slot::Setter => &mut self.levels[l].setter,
                Slot::Floor => &mut self.levels[l].floor,
                _ => &mut self.levels[l].decaying,
            };
            set.insert(k);
        }
        let p = &mut self.providers[i];
        p.slot = slot;
        p.keys = keys;
        p.costs = costs;
        if slot == Slot::Decaying {
            let h = self.params.price.hours_to_floor(price, floor);
            let at = p.anchor_t.saturating_add((h * TICKS_PER_HOUR as f64).ceil().min(1e18) as u64).max(now + 1);
            let id = self.sched(ctx, at, Ev::FloorReached(i as u32));
            self.providers[i].floor_ev = id;
        }
    }

    /// Corrected: take provider i out of the indices.
    fn unindex_provider(&mut self, i: usize, ctx: &mut Ctx<'_, Ev>) {
        let second = self.provider_second(i);
        let p = &mut self.providers[i];
        let slot = std::mem::replace(&mut p.slot, Slot::Out);
        if slot == Slot::Out {
            return;
        }
        for (l, &k) in p.keys.iter().enumerate() {
            let set = match slot {
                Slot::Setter => &mut self.levels[l].setter,
                Slot::Floor => &mut self.levels[l].floor,
                _ => &mut self.levels[l].decaying,
            };
            let was = set.remove(&(k, second, i as u32));
            debug_assert!(was, "provider {i} missing from its index");
        }
        if let Some(id) = p.floor_ev.take() {
            ctx.cancel(id);
        }
    }

    /// Corrected: provider i turns idle and available now with price anchor
    /// `anchor`.
    fn provider_idle(&mut self, i: usize, anchor: f64, ctx: &mut Ctx<'_, Ev>) {
        let now = ctx.now().ticks();
        if self.params.priority == Priority::Bid {
            self.providers[i].tie = Self::new_tie(ctx);
        }
        let p = &mut self.providers[i];
        p.session = NONE;
        p.avail = Avail::Available;
        p.price = anchor.min(self.params.price.cap).max(p.floor);
        p.anchor_t = now;
        self.index_provider(i, ctx);
    }

    /// Start a session between free provider i and idle consumer j at `rate`.
    fn start_session(&mut self, i: usize, j: usize, rate: f64, ctx: &mut Ctx<'_, Ev>) {
        let now = ctx.now().ticks();
        if self.tick_mode() {
            self.cache_busy(i);
        } else {
            self.unindex_provider(i, ctx);
        }
        self.consumer_busy(j);
        self.serial += 1;
        let slot = self.sessions.insert(Sess {
            consumer: j as u32,
            provider: i as u32,
            rate,
            serial: self.serial,
            start: now,
            e: 0.0,
            l: 0.0,
            end: None,
            end_ev: None,
            offer_ev: None,
        });
        self.providers[i].session = slot;
        self.providers[i].sessions += 1;
        self.consumers[j].session = slot;
        ctx.mix(((i as u64) << 32) | j as u64);
        ctx.mix_f64(rate);
        if self.tick_mode() {
            self.running.push(slot);
            let info = self.run_info(slot);
            self.tc.run.push(info);
        } else {
            let end = self.sched(ctx, now + self.job_u, Ev::SessionEnd(slot));
            let offer = if self.pp(i).cancel_threshold.is_finite() && self.params.outside.offer_rate > 0.0 {
                let gap = Self::exp_ticks(ctx, S_ARRIVAL, 1.0 / self.params.outside.offer_rate);
                if now + gap < now + self.job_u { self.sched(ctx, now + gap, Ev::OutsideOffer(slot)) } else { None }
            } else {
                None
            };
            let s = &mut self.sessions[slot];
            s.end_ev = end;
            s.offer_ev = offer;
        }
        let v = self.consumers[j].value;
        ctx.note(Some(AgentRef::new("provider", i as u32)), || {
            format!("rents to consumer {j} (v ${v:.2}/h) at ${rate:.4}/h, session {slot}")
        });
        ctx.note(Some(AgentRef::new("consumer", j as u32)), || format!("rents provider {i} at ${rate:.4}/h"));
    }

    fn pay_u(rate: f64, ticks: u64) -> i64 {
        (rate * ticks_to_hours(ticks) * MICRO).round() as i64
    }

    /// Book the end of session `slot` after `e_u` ticks (corrected) or with
    /// its own accumulators (reference), and free both agents' books.
    /// Returns (provider, consumer).
    fn book(&mut self, slot: u32, end: End, e_u: u64, horizon: bool) -> (usize, usize) {
        let s = self.sessions[slot].clone();
        let (i, j) = (s.provider as usize, s.consumer as usize);
        let top = self.consumers[j].top;
        let job = self.params.job_hours;
        if self.tick_mode() {
            let p = &mut self.providers[i];
            let c = &mut self.consumers[j];
            match end {
                End::Done => {
                    p.rev_f += s.rate * job;
                    p.hours_f += job;
                    p.n_done += 1;
                    if top {
                        p.top_f += job;
                    }
                    c.useful_f += job;
                    c.jobs += 1;
                }
                End::Personal | End::Profit => {
                    p.rev_f += s.rate * s.e;
                    p.hours_f += s.e;
                    if end == End::Personal {
                        p.n_personal += 1;
                    } else {
                        p.n_profit += 1;
                    }
                    if top {
                        p.top_f += s.e;
                    }
                    c.useful_f += s.l;
                    c.restarts += 1;
                }
            }
            c.paid_f += s.e;
            c.money_f += s.rate * s.e;
            self.refresh_costs(i);
            self.cache_free(i);
        } else {
            let pay = Self::pay_u(s.rate, e_u);
            let kappa_u = self.consumers[j].kappa_u;
            let p = &mut self.providers[i];
            let c = &mut self.consumers[j];
            p.rev_u += pay;
            p.hours_u += e_u;
            if top {
                p.top_u += e_u;
            }
            c.paid_u += e_u;
            c.money_u += pay;
            match (end, horizon) {
                (_, true) => c.useful_u += e_u,
                (End::Done, false) => {
                    p.n_done += 1;
                    c.useful_u += e_u;
                    c.jobs += 1;
                }
                (End::Personal | End::Profit, false) => {
                    if end == End::Personal {
                        p.n_personal += 1;
                    } else {
                        p.n_profit += 1;
                    }
                    c.useful_u += (e_u / kappa_u) * kappa_u;
                    c.restarts += 1;
                }
            }
        }
        self.providers[i].session = NONE;
        self.consumers[j].session = NONE;
        self.sessions.remove(slot);
        (i, j)
    }

    // ----- matching -----

    /// The best free provider of level l now: (provider, price, E).
    fn best_provider(&self, l: usize, now: u64) -> Option<(usize, f64, f64)> {
        let lv = &self.levels[l];
        let mut best: Option<(f64, u64, usize, f64, f64)> = None; // cost, second, i, price, E
        let mut consider = |i: usize, second: u64| {
            let p = &self.providers[i];
            let e = p.costs[l];
            let price = self.posted_price(i, now);
            let cost = price * e;
            let better = match best {
                None => true,
                Some((bc, bs, ..)) => cost < bc || (cost == bc && second < bs),
            };
            if better {
                best = Some((cost, second, i, price, e));
            }
        };
        for set in [&lv.decaying, &lv.floor, &lv.setter] {
            if let Some(&(_, second, i)) = set.first() {
                consider(i as usize, second);
            }
        }
        best.map(|(_, _, i, price, e)| (i, price, e))
    }

    /// Reference: the best free provider of level l, as a scan of every
    /// provider would find it. A match only takes providers out (costs do
    /// not change within a round), so a level is scanned again in a round
    /// only when its best provider was taken.
    fn best_provider_listed(&mut self, l: usize) -> Option<(usize, f64, f64)> {
        let b = self.tc.best[l];
        let o = match b.offer {
            Some(o) if b.fresh && self.providers[o.i as usize].session == NONE => o,
            None if b.fresh => return None,
            _ => {
                let o = self.scan_level(l);
                self.tc.best[l] = Best { fresh: true, offer: o };
                o?
            }
        };
        Some((o.i as usize, o.price, o.e))
    }

    /// Reference: level l's cheapest free provider.
    fn scan_level(&self, l: usize) -> Option<Offer> {
        let levels = self.levels.len();
        let bid = self.params.priority == Priority::Bid;
        let mut best: Option<Offer> = None;
        for &i in &self.tc.free {
            let (i, p) = (i as usize, &self.providers[i as usize]);
            let e = self.tc.e[i * levels + l];
            let price = p.price;
            let o = Offer { cost: price * e, second: if bid { p.tie } else { i as u64 }, i: i as u32, price, e };
            if best.is_none_or(|b| o.before(&b)) {
                best = Some(o);
            }
        }
        best
    }

    /// Reference: build the tick cache unless it is up to date.
    fn ensure_tick_cache(&mut self) {
        if self.tc.ready {
            return;
        }
        let dt = self.params.tick_hours;
        let (dc, home) = (self.params.dc, self.params.home);
        self.tc.hazard = [dc.tick_probability(dt), home.tick_probability(dt)];
        self.tc.theta = [dc.cancel_threshold, home.cancel_threshold];
        self.tc.has_setter = self.providers.iter().any(|p| p.setter);
        self.tc.e = vec![0.0; self.providers.len() * self.levels.len()];
        self.tc.best = vec![Best::default(); self.levels.len()];
        let np = self.providers.len();
        self.tc.free.clear();
        self.tc.free_at = vec![NONE; np];
        self.tc.moving.clear();
        self.tc.is_moving = vec![false; np];
        for i in 0..np {
            if self.providers[i].session == NONE {
                self.tc.free_at[i] = self.tc.free.len() as u32;
                self.tc.free.push(i as u32);
            }
            if !self.providers[i].setter {
                self.tc.is_moving[i] = true;
                self.tc.moving.push(i as u32);
            }
        }
        self.tc.run = self.running.iter().map(|&slot| self.run_info(slot)).collect();
        self.tc.ready = true;
        for i in 0..self.providers.len() {
            self.refresh_costs(i);
        }
    }

    /// Reference: what a tick reads of session `slot`'s agents.
    fn run_info(&self, slot: u32) -> RunInfo {
        let s = &self.sessions[slot];
        let kind = self.providers[s.provider as usize].kind as usize;
        RunInfo { kappa: self.consumers[s.consumer as usize].kappa, hazard: self.tc.hazard[kind], theta: self.tc.theta[kind] }
    }

    /// Reference: provider i has no session any more.
    fn cache_free(&mut self, i: usize) {
        if !self.tc.ready {
            return;
        }
        let tc = &mut self.tc;
        tc.free_at[i] = tc.free.len() as u32;
        tc.free.push(i as u32);
        self.cache_moving(i);
    }

    /// Reference: provider i starts a session.
    fn cache_busy(&mut self, i: usize) {
        if !self.tc.ready {
            return;
        }
        let tc = &mut self.tc;
        let at = std::mem::replace(&mut tc.free_at[i], NONE) as usize;
        tc.free.swap_remove(at);
        if let Some(&moved) = tc.free.get(at) {
            tc.free_at[moved as usize] = at as u32;
        }
        self.cache_moving(i);
    }

    /// Reference: provider i's price may move again (it turned busy or idle).
    fn cache_moving(&mut self, i: usize) {
        if !self.tc.is_moving[i] && !self.providers[i].setter {
            self.tc.is_moving[i] = true;
            self.tc.moving.push(i as u32);
        }
    }

    /// Reference: provider i's E per level, after its completion counts
    /// changed.
    fn refresh_costs(&mut self, i: usize) {
        if !self.tc.ready {
            return;
        }
        let a = self.attempts_of(i);
        let levels = self.levels.len();
        for l in 0..levels {
            self.tc.e[i * levels + l] = paid_hours(self.params.job_hours, self.levels[l].kappa, a);
        }
    }

    /// A matching round (§4.4): repeat until no level has a candidate.
    fn matching_round(&mut self, ctx: &mut Ctx<'_, Ev>) {
        let now = ctx.now().ticks();
        let job = self.params.job_hours;
        let tick = self.tick_mode();
        if tick {
            self.ensure_tick_cache();
            for b in &mut self.tc.best {
                b.fresh = false;
            }
        }
        loop {
            // (consumer key, consumer, provider, price, willingness)
            let mut best: Option<Candidate> = None;
            for l in 0..self.levels.len() {
                let Some(&ck) = self.levels[l].consumers.first() else { continue };
                let found = if tick { self.best_provider_listed(l) } else { self.best_provider(l, now) };
                let Some((i, price, e)) = found else { continue };
                let j = ck.2 as usize;
                let v = self.consumers[j].value;
                if job * v - price * e <= 0.0 {
                    continue;
                }
                let w = v * job / e;
                let better = match &best {
                    None => true,
                    Some((bk, .., bw)) => match self.params.priority {
                        Priority::ListOrder => ck < *bk,
                        Priority::Bid => w > *bw || (w == *bw && ck.1 < bk.1),
                    },
                };
                if better {
                    best = Some((ck, j, i, price, w));
                }
            }
            let Some((_, j, i, price, _)) = best else { break };
            if self.checks {
                let a = self.attempts_of(i);
                let c = &self.consumers[j];
                let surplus = job * c.value - price * paid_hours(job, c.kappa, a);
                if surplus <= 0.0 || price < self.providers[i].floor - 1e-12 || price > self.params.price.cap + 1e-12 {
                    self.violation(|| format!("session started with surplus {surplus} at price {price}"));
                }
            }
            self.start_session(i, j, price, ctx);
        }
        if self.checks {
            self.check_no_candidate(now);
        }
    }

    /// Invariant 6: after a round no idle consumer has a positive surplus at
    /// a free available provider (checked by a scan).
    fn check_no_candidate(&mut self, now: u64) {
        let job = self.params.job_hours;
        for j in 0..self.consumers.len() {
            let c = &self.consumers[j];
            if c.session != NONE {
                continue;
            }
            for i in 0..self.providers.len() {
                let p = &self.providers[i];
                if p.session != NONE || p.avail != Avail::Available {
                    continue;
                }
                let price = self.posted_price(i, now);
                let s = job * c.value - price * paid_hours(job, c.kappa, self.attempts_of(i));
                if s > 1e-9 * job * c.value.max(1.0) {
                    let msg = format!("after a round consumer {j} has surplus {s} at free provider {i}");
                    self.violation(|| msg);
                    return;
                }
            }
        }
    }

    /// Corrected: schedule the next PriceCrossing (§4.3, §10).
    fn schedule_crossing(&mut self, ctx: &mut Ctx<'_, Ev>) {
        if let Some(id) = self.crossing_ev.take() {
            ctx.cancel(id);
        }
        let decay = self.params.price.decay;
        if decay <= 0.0 {
            return;
        }
        let now = ctx.now().ticks();
        let job = self.params.job_hours;
        let mut earliest: Option<u64> = None;
        for l in 0..self.levels.len() {
            let lv = &self.levels[l];
            let (Some(&(_, _, j)), Some(&(_, _, i))) = (lv.consumers.first(), lv.decaying.first()) else { continue };
            let p = &self.providers[i as usize];
            let e = p.costs[l];
            let target = job * self.consumers[j as usize].value;
            if p.floor * e >= target {
                continue; // its floor forbids; FloorReached recomputes
            }
            // price(t) E < target  <=>  t > t0 + ln(price0 E / target) / decay
            let hours = (p.price * e / target).ln() / decay;
            let at = p.anchor_t as f64 + hours * TICKS_PER_HOUR as f64;
            let at = if at < 0.0 { 0 } else { at.floor() as u64 + 1 };
            let at = at.max(now + 1);
            earliest = Some(earliest.map_or(at, |e| e.min(at)));
        }
        if let Some(at) = earliest {
            self.crossing_ev = self.sched(ctx, at, Ev::PriceCrossing);
        }
    }

    fn round(&mut self, ctx: &mut Ctx<'_, Ev>) {
        self.matching_round(ctx);
        if !self.tick_mode() {
            self.schedule_crossing(ctx);
        }
    }

    // ----- price setter -----

    fn solve_setter(&mut self) {
        let dcs: Vec<usize> =
            (0..self.providers.len()).filter(|&i| self.providers[i].kind == ProviderKind::Datacenter).collect();
        let d_av = dcs.iter().filter(|&&i| self.providers[i].avail != Avail::Downtime).count() as u64;
        let h_av = if self.params.setter.fringe_aware {
            self.providers.iter().filter(|p| p.kind == ProviderKind::Home && p.avail == Avail::Available).count() as u64
        } else {
            0
        };
        let done: u64 = dcs.iter().map(|&i| self.providers[i].n_done as u64).sum();
        let canc: u64 = dcs.iter().map(|&i| (self.providers[i].n_personal + self.providers[i].n_profit) as u64).sum();
        let q = if self.tick_mode() {
            completion_reference(done, canc, self.params.dc.hourly_survival)
        } else {
            completion_with_prior(
                done,
                canc,
                self.params.dc.hourly_survival,
                self.params.job_hours,
                self.params.prior_sessions,
            )
        };
        let a = attempts(q, self.params.min_completion, self.params.attempts_cap);
        let floor = self.params.price.floor_markup * self.params.dc.cost;
        self.pstar = setter_optimise(
            &self.classes,
            self.params.job_hours,
            a,
            d_av,
            h_av,
            self.params.dc.cost,
            floor,
            self.params.price.cap,
            self.params.setter.margin,
        );
    }

    /// Corrected: re-solve and re-key the setter DCs (their order by E does
    /// not change; only the common price does).
    fn resolve_setter(&mut self, ctx: &mut Ctx<'_, Ev>) {
        let old = self.pstar;
        self.solve_setter();
        ctx.mix_f64(self.pstar);
        let new = self.pstar;
        ctx.note(None, || format!("DC fleet price {old:.4} -> {new:.4} $/h"));
    }

    // ----- leg lifecycle -----

    fn on_leg_start(&mut self, j: u32, ctx: &mut Ctx<'_, Ev>) {
        let now = ctx.now().ticks();
        let leg = self.legs[j as usize].clone();
        self.leg = j;
        self.ticked = false;
        self.leg_start = now;
        self.leg_end = now + self.leg_span(&leg);
        ctx.rngs().reseed_all(crate::engine::rng::fnv1a(leg.id.as_bytes()));
        let tick = self.tick_mode();
        let pp = self.params.price;
        let setter_rule = self.params.setter.rule;
        // Consumers.
        let n = leg.consumers as usize;
        let mut kappas: Vec<f64> = Vec::new();
        let mut consumers = Vec::with_capacity(n);
        for i in 0..n {
            let v = leg.values.value(i, n);
            let kappa = leg.checkpoints[i % leg.checkpoints.len()];
            if !kappas.contains(&kappa) {
                kappas.push(kappa);
            }
            consumers.push(Cons {
                value: v,
                kappa,
                kappa_u: hours_to_ticks(kappa).max(1),
                level: 0,
                top: false,
                session: NONE,
                tie: 0,
                useful_f: 0.0,
                paid_f: 0.0,
                money_f: 0.0,
                useful_u: 0,
                paid_u: 0,
                money_u: 0,
                jobs: 0,
                restarts: 0,
            });
        }
        kappas.sort_by(f64::total_cmp);
        let vmax = consumers.iter().map(|c| c.value).fold(f64::NEG_INFINITY, f64::max);
        for c in &mut consumers {
            c.level = kappas.iter().position(|&k| k == c.kappa).expect("listed") as u16;
            c.top = c.value == vmax;
        }
        self.levels = kappas.iter().map(|&k| Level { kappa: k, ..Level::default() }).collect();
        let mut classes: BTreeMap<(u64, u64), ConsumerClass> = BTreeMap::new();
        for c in &consumers {
            classes
                .entry((ord_f64(c.value), ord_f64(c.kappa)))
                .or_insert(ConsumerClass { value: c.value, checkpoint: c.kappa, members: 0 })
                .members += 1;
        }
        self.classes = classes.into_values().collect();
        // Price setter.
        let mut dc_floor = pp.floor_markup * self.params.dc.cost;
        let setter_optimise = leg.price_setter && setter_rule == SetterRule::Optimise;
        if leg.price_setter && setter_rule == SetterRule::Floor {
            let bids: Vec<(f64, f64)> = consumers.iter().map(|c| (c.value, c.kappa)).collect();
            if let Some(f) = setter_floor(
                &bids,
                leg.dcs as usize,
                self.params.job_hours,
                self.params.dc.hourly_survival,
                self.params.setter.bid_shading,
                self.params.setter.min_bid,
                self.params.setter.margin,
            ) {
                dc_floor = dc_floor.max(f);
            }
        }
        // Providers: DCs, then homes.
        let mut providers = Vec::new();
        for (kind, count) in [(ProviderKind::Datacenter, leg.dcs), (ProviderKind::Home, leg.homes)] {
            let params = if kind == ProviderKind::Datacenter { self.params.dc } else { self.params.home };
            for _ in 0..count {
                let floor = if kind == ProviderKind::Datacenter { dc_floor } else { pp.floor_markup * params.cost };
                providers.push(Prov {
                    kind,
                    floor,
                    setter: setter_optimise && kind == ProviderKind::Datacenter,
                    price: pp.initial_markup * params.cost,
                    anchor_t: now,
                    avail: Avail::Available,
                    session: NONE,
                    tie: 0,
                    slot: Slot::Out,
                    keys: Vec::new(),
                    costs: Vec::new(),
                    down_ev: None,
                    floor_ev: None,
                    out_rate: 0.0,
                    out_start: 0,
                    rev_f: 0.0,
                    hours_f: 0.0,
                    top_f: 0.0,
                    rev_u: 0,
                    hours_u: 0,
                    top_u: 0,
                    out_rev_u: 0,
                    out_hours_u: 0,
                    sessions: 0,
                    n_done: 0,
                    n_personal: 0,
                    n_profit: 0,
                });
            }
        }
        self.providers = providers;
        self.consumers = consumers;
        self.tc.ready = false;
        self.sessions.clear();
        self.running.clear();
        self.samples.clear();
        self.dc_price_sum = 0.0;
        self.dc_price_n = 0;
        self.open_at_end = 0;
        self.crossing_ev = None;
        self.solve_ev = None;
        self.sample_ev = None;
        self.outside = Price::reset(tick, &self.params.outside.index, SimTime(now));
        self.pstar = dc_floor;
        if setter_optimise {
            self.solve_setter();
        }
        for j in 0..self.consumers.len() {
            self.consumer_idle(j, ctx);
        }
        let leg_id = leg.id.clone();
        ctx.note(None, || {
            format!("leg {j} `{leg_id}` starts: {} DCs, {} homes, {} consumers", leg.dcs, leg.homes, leg.consumers)
        });
        if tick {
            for i in 0..self.providers.len() {
                if self.params.priority == Priority::Bid {
                    self.providers[i].tie = Self::new_tie(ctx);
                }
                if self.providers[i].setter {
                    self.providers[i].price = self.pstar;
                }
            }
            ctx.schedule(SimTime(now + self.dt_u), Ev::Tick(1));
            return;
        }
        for i in 0..self.providers.len() {
            let anchor = self.providers[i].price;
            self.provider_idle(i, anchor, ctx);
            self.schedule_downtime(i, ctx);
        }
        ctx.schedule(SimTime(self.leg_end), Ev::RunEnd(j));
        if setter_optimise {
            let at = now + hours_to_ticks(self.params.setter.resolve_hours).max(1);
            self.solve_ev = self.sched(ctx, at, Ev::PriceSetterSolve);
        }
        let at = now + hours_to_ticks(self.params.sample_hours).max(1);
        self.sample_ev = self.sched(ctx, at, Ev::Sample);
        self.round(ctx);
    }

    fn schedule_downtime(&mut self, i: usize, ctx: &mut Ctx<'_, Ev>) {
        let hazard = self.pp(i).hazard();
        let now = ctx.now().ticks();
        self.providers[i].down_ev = if hazard > 0.0 {
            let gap = Self::exp_ticks(ctx, S_PERSONAL, 1.0 / hazard);
            self.sched(ctx, now.saturating_add(gap), Ev::DowntimeStart(i as u32))
        } else {
            None
        };
    }

    fn on_tick(&mut self, k: u32, ctx: &mut Ctx<'_, Ev>) {
        let now = ctx.now().ticks();
        self.ticked = true;
        self.ensure_tick_cache();
        // 0. Optimise-rule re-solve at multiples of R.
        if self.tc.has_setter {
            let r = hours_to_ticks(self.params.setter.resolve_hours).max(1);
            if (now - self.leg_start).is_multiple_of(r) {
                self.solve_setter();
            }
        }
        // 1. Outside index.
        let m = self.outside.tick(&self.params.outside.index, self.params.tick_hours, ctx.rng(S_INDEX));
        ctx.mix_f64(m);
        // 2. Sessions in start order.
        let mut ended = std::mem::take(&mut self.tc.ended);
        self.tick_sessions(m, now, &mut ended, ctx);
        // 3./4. Completions, then cancellations, each in start order.
        if !ended.is_empty() {
            self.tick_end_sessions(&ended, ctx);
            self.retain_running();
        }
        ended.clear();
        self.tc.ended = ended;
        // 5. Prices in list order.
        self.tick_prices();
        // 6. Matching.
        self.round(ctx);
        // Read-only sample.
        let sample_u = hours_to_ticks(self.params.sample_hours).max(1);
        if (now - self.leg_start).is_multiple_of(sample_u) {
            self.sample(now);
        }
        let span = self.leg_end - self.leg_start;
        if (k as u64) * self.dt_u < span {
            ctx.schedule(SimTime(now + self.dt_u), Ev::Tick(k + 1));
        } else {
            ctx.schedule(SimTime(now), Ev::RunEnd(self.leg));
        }
    }

    /// Reference: drop the sessions that ended from `running` (and their
    /// cached infos), keeping the order.
    fn retain_running(&mut self) {
        let (running, run, sessions) = (&mut self.running, &mut self.tc.run, &self.sessions);
        let mut kept = 0;
        for k in 0..running.len() {
            if sessions.is_live(running[k]) {
                running[kept] = running[k];
                run[kept] = run[k];
                kept += 1;
            }
        }
        running.truncate(kept);
        run.truncate(kept);
    }

    /// Reference tick, step 2: every running session works a tick, in start
    /// order; those that complete or are cancelled are marked and listed in
    /// `ended` (in the same order).
    fn tick_sessions(&mut self, m: f64, now: u64, ended: &mut Vec<u32>, ctx: &mut Ctx<'_, Ev>) {
        let dt = self.params.tick_hours;
        let job = self.params.job_hours;
        let o = self.params.outside;
        let p_offer = o.offer_rate * dt;
        // With `checks`: a session that completed on another tick than the
        // job's count of ticks.
        let mut late = None;
        let EconomicMarket { running, sessions, checks, dt_u, tc, .. } = self;
        debug_assert_eq!(running.len(), tc.run.len());
        for (&slot, r) in running.iter().zip(&tc.run) {
            let s = &mut sessions[slot];
            s.e += dt;
            while s.l + r.kappa <= s.e {
                s.l += r.kappa;
            }
            if s.e >= job {
                s.end = Some(End::Done);
                ended.push(slot);
                if *checks && late.is_none() {
                    let n = ((now - s.start) / *dt_u) as u32;
                    if n != ticks_per_leg(job, dt) {
                        late = Some(n);
                    }
                }
                continue;
            }
            let end = if ctx.rng(S_PERSONAL).random::<f64>() < r.hazard {
                Some(End::Personal)
            } else if r.theta.is_finite() && ctx.rng(S_ARRIVAL).random::<f64>() < p_offer {
                let u = o.multiplier_min + (o.multiplier_max - o.multiplier_min) * ctx.rng(S_OFFER).random::<f64>();
                let b = m * u;
                (b >= r.theta * s.rate).then_some(End::Profit)
            } else {
                None
            };
            if end.is_some() {
                s.end = end;
                ended.push(slot);
            }
        }
        if let Some(n) = late {
            let want = ticks_per_leg(job, dt);
            self.violation(|| format!("a session completed on its tick {n}, not {want}"));
        }
    }

    /// Reference tick, steps 3 and 4: book the completed sessions, then the
    /// cancelled ones, each in start order.
    fn tick_end_sessions(&mut self, ended: &[u32], ctx: &mut Ctx<'_, Ev>) {
        for pass in [true, false] {
            for &slot in ended {
                let end = self.sessions[slot].end;
                let (is_done, ended) = (end == Some(End::Done), end.is_some());
                if ended && is_done == pass && self.sessions.is_live(slot) {
                    let e = end.expect("ended");
                    let (i, j) = self.book(slot, e, 0, false);
                    if self.checks && e != End::Done {
                        let s = &self.sessions[slot];
                        let lost = s.e - s.l;
                        let kappa = self.consumers[j].kappa;
                        if !(-1e-12..=kappa + 1e-12).contains(&lost) {
                            self.violation(|| format!("lost work {lost} outside [0, {kappa}]"));
                        }
                    }
                    ctx.note(Some(AgentRef::new("provider", i as u32)), || match e {
                        End::Done => format!("session {slot} with consumer {j} completes"),
                        End::Personal => format!("session {slot} with consumer {j} cancelled: personal use"),
                        End::Profit => format!("session {slot} with consumer {j} cancelled: a better offer"),
                    });
                    if self.params.priority == Priority::Bid {
                        self.providers[i].tie = Self::new_tie(ctx);
                    }
                    self.consumer_idle(j, ctx);
                }
            }
        }
    }

    /// Reference tick, step 5: every price moves a tick (busy ones grow,
    /// idle ones decay, within [floor, cap]); setters post the fleet price.
    /// A price the tick leaves unchanged stays so until its provider turns
    /// busy or idle, so only the providers on the cache's moving list are
    /// visited.
    fn tick_prices(&mut self) {
        let dt = self.params.tick_hours;
        let (pp, pstar) = (self.params.price, self.pstar);
        if self.tc.has_setter {
            for p in self.providers.iter_mut().filter(|p| p.setter) {
                p.price = pstar;
            }
        }
        if self.checks {
            return self.tick_prices_checked();
        }
        // As `PostedPriceParams::tick`, with its two factors computed once.
        let (up, down) = (1.0 + pp.growth * dt, 1.0 - pp.decay * dt);
        let (tc, providers) = (&mut self.tc, &mut self.providers);
        let mut kept = 0;
        for r in 0..tc.moving.len() {
            let i = tc.moving[r];
            let p = &mut providers[i as usize];
            let before = p.price;
            let busy = p.session != NONE;
            p.price = (before * if busy { up } else { down }).min(pp.cap).max(p.floor);
            if p.price.to_bits() != before.to_bits() {
                tc.moving[kept] = i;
                kept += 1;
            } else {
                tc.is_moving[i as usize] = false;
            }
        }
        tc.moving.truncate(kept);
    }

    /// [`Self::tick_prices`] with the invariant checks: every provider, in
    /// list order.
    fn tick_prices_checked(&mut self) {
        let dt = self.params.tick_hours;
        let pp = self.params.price;
        for i in 0..self.providers.len() {
            let p = &mut self.providers[i];
            if p.setter {
                continue;
            }
            let (before, busy, floor) = (p.price, p.session != NONE, p.floor);
            p.price = pp.tick(before, busy, floor, dt);
            let after = p.price;
            if (busy && after < before && before <= pp.cap) || (!busy && after > before && after > floor) {
                self.violation(|| format!("provider {i} price {before} -> {after} (busy {busy})"));
            }
        }
    }

    fn sample(&mut self, now: u64) {
        let mut busy = [0u32; 2];
        let mut price = [0.0f64; 2];
        let mut count = [0u32; 2];
        let tick = self.tick_mode();
        for (i, p) in self.providers.iter().enumerate() {
            let k = p.kind as usize;
            if p.session != NONE {
                busy[k] += 1;
            }
            price[k] += if tick { p.price } else { self.posted_price(i, now) };
            count[k] += 1;
        }
        let idle = self.consumers.iter().filter(|c| c.session == NONE).count();
        let mean = |k: usize| if count[k] > 0 { price[k] / count[k] as f64 } else { f64::NAN };
        if count[0] > 0 {
            self.dc_price_sum += mean(0);
            self.dc_price_n += 1;
        }
        let index = self.outside.last(&self.params.outside.index);
        self.samples.push([
            self.local_hours(now),
            busy[0] as f64,
            busy[1] as f64,
            idle as f64,
            mean(0),
            mean(1),
            index,
        ]);
    }

    /// Corrected: cancel session `slot` now (personal use or a better offer).
    fn cancel_session(&mut self, slot: u32, end: End, ctx: &mut Ctx<'_, Ev>) -> (usize, usize, f64) {
        let now = ctx.now().ticks();
        let s = self.sessions[slot].clone();
        for id in [s.end_ev, s.offer_ev].into_iter().flatten() {
            ctx.cancel(id);
        }
        let e_u = now - s.start;
        let frozen = self.params.price.busy_price(s.rate, ticks_to_hours(e_u));
        let (i, j) = self.book(slot, end, e_u, false);
        if self.checks {
            let k = self.consumers[j].kappa_u;
            let lost = e_u - (e_u / k) * k;
            if lost >= k {
                self.violation(|| format!("lost work {lost} ticks >= kappa {k}"));
            }
        }
        self.consumer_idle(j, ctx);
        (i, j, frozen)
    }

    fn on_run_end(&mut self, j: u32, ctx: &mut Ctx<'_, Ev>) {
        let now = ctx.now().ticks();
        if !self.tick_mode() {
            let sample_u = hours_to_ticks(self.params.sample_hours).max(1);
            if (now - self.leg_start).is_multiple_of(sample_u) {
                self.sample(now);
            }
            // Settle open sessions pro rata, in start order.
            let mut open: Vec<(u64, u32)> = self.sessions.iter().map(|(k, s)| (s.serial, k)).collect();
            open.sort_unstable();
            for &(_, slot) in &open {
                let s = self.sessions[slot].clone();
                for id in [s.end_ev, s.offer_ev].into_iter().flatten() {
                    ctx.cancel(id);
                }
                self.book(slot, End::Done, now - s.start, true);
            }
            for i in 0..self.providers.len() {
                let p = &mut self.providers[i];
                if p.avail == Avail::Outside {
                    let e = now - p.out_start;
                    p.out_hours_u += e;
                    p.out_rev_u += Self::pay_u(p.out_rate, e);
                }
                for id in [p.down_ev.take(), p.floor_ev.take()].into_iter().flatten() {
                    ctx.cancel(id);
                }
            }
            for id in [self.crossing_ev.take(), self.solve_ev.take(), self.sample_ev.take()].into_iter().flatten() {
                ctx.cancel(id);
            }
        } else {
            self.open_at_end = self.running.len() as u64;
        }
        let rec = self.record();
        self.records.push(rec);
        let id = self.legs[j as usize].id.clone();
        ctx.note(None, || format!("leg {j} `{id}` ends"));
        if (j as usize) + 1 < self.legs.len() {
            ctx.schedule(SimTime(now), Ev::LegStart(j + 1));
        }
    }

    /// The metrics of the leg that just ended (§7.1).
    fn record(&self) -> LegRecord {
        let leg = &self.legs[self.leg as usize];
        let tick = self.tick_mode();
        let t = leg.duration_hours;
        let u = |c: &Cons| if tick { c.useful_f } else { ticks_to_hours(c.useful_u) };
        let paid = |c: &Cons| if tick { c.paid_f } else { ticks_to_hours(c.paid_u) };
        let money = |c: &Cons| if tick { c.money_f } else { c.money_u as f64 / MICRO };
        let rev = |p: &Prov| if tick { p.rev_f } else { p.rev_u as f64 / MICRO };
        let hours = |p: &Prov| if tick { p.hours_f } else { ticks_to_hours(p.hours_u) };
        let top = |p: &Prov| if tick { p.top_f } else { ticks_to_hours(p.top_u) };
        let served: Vec<&Cons> = self.consumers.iter().filter(|c| u(c) > 0.0).collect();
        let mean = |xs: &[f64]| if xs.is_empty() { None } else { Some(xs.iter().sum::<f64>() / xs.len() as f64) };
        let mut m: BTreeMap<String, Option<f64>> = BTreeMap::new();
        let cost: Vec<f64> = served.iter().map(|c| money(c) / u(c)).collect();
        m.insert("cost_per_useful_hour".into(), Some(mean(&cost).unwrap_or(0.0)));
        let sum_u: f64 = self.consumers.iter().map(u).sum();
        let sum_m: f64 = self.consumers.iter().map(money).sum();
        m.insert("cost_per_useful_hour_pooled".into(), if sum_u > 0.0 { Some(sum_m / sum_u) } else { None });
        let eff: Vec<f64> = served.iter().map(|c| u(c) / paid(c)).collect();
        m.insert("efficiency".into(), mean(&eff));
        m.insert("compute_hours".into(), Some(sum_u));
        m.insert("served".into(), Some(served.len() as f64));
        for kind in [ProviderKind::Datacenter, ProviderKind::Home] {
            let k = kind.key();
            let ps: Vec<&Prov> = self.providers.iter().filter(|p| p.kind == kind).collect();
            let cost = if kind == ProviderKind::Datacenter { self.params.dc.cost } else { self.params.home.cost };
            let total_h: f64 = ps.iter().map(|p| hours(p)).sum();
            m.insert(format!("{k}_hours"), Some(total_h));
            m.insert(format!("{k}_sessions"), Some(ps.iter().map(|p| p.sessions as f64).sum()));
            let active: Vec<&&Prov> = ps.iter().filter(|p| hours(p) > 0.0).collect();
            let revph: Vec<f64> = active.iter().map(|p| rev(p) / hours(p)).collect();
            let profph: Vec<f64> = active.iter().map(|p| (rev(p) - cost * hours(p)) / hours(p)).collect();
            m.insert(format!("{k}_revenue_per_hour"), Some(mean(&revph).unwrap_or(0.0)));
            m.insert(format!("{k}_profit_per_hour"), Some(mean(&profph).unwrap_or(0.0)));
            let comp: Vec<f64> = active
                .iter()
                .filter(|p| p.n_done + p.n_personal + p.n_profit > 0)
                .map(|p| p.n_done as f64 / (p.n_done + p.n_personal + p.n_profit) as f64)
                .collect();
            m.insert(format!("{k}_completion_rate"), mean(&comp));
            let done: u64 = ps.iter().map(|p| p.n_done as u64).sum();
            let all: u64 = ps.iter().map(|p| (p.n_done + p.n_personal + p.n_profit) as u64).sum();
            m.insert(
                format!("{k}_completion_rate_pooled"),
                if all > 0 { Some(done as f64 / all as f64) } else { None },
            );
            let top_h: f64 = ps.iter().map(|p| top(p)).sum();
            m.insert(format!("{k}_high_value_share"), Some(if total_h > 0.0 { top_h / total_h } else { 0.0 }));
        }
        m.insert("cancellations_personal".into(), Some(self.providers.iter().map(|p| p.n_personal as f64).sum()));
        m.insert("cancellations_profit".into(), Some(self.providers.iter().map(|p| p.n_profit as f64).sum()));
        m.insert("open_sessions_at_end".into(), Some(self.open_at_end as f64));
        let value_u: f64 = self.consumers.iter().map(|c| c.value * u(c)).sum();
        let prov_profit: f64 = self
            .providers
            .iter()
            .map(|p| {
                let c = if p.kind == ProviderKind::Datacenter { self.params.dc.cost } else { self.params.home.cost };
                rev(p) - c * hours(p)
            })
            .sum();
        m.insert("consumer_surplus_per_hour".into(), Some((value_u - sum_m) / t));
        m.insert("provider_profit_per_hour".into(), Some(prov_profit / t));
        m.insert("total_surplus_per_hour".into(), Some((value_u - sum_m + prov_profit) / t));
        let homes = self.providers.iter().filter(|p| p.kind == ProviderKind::Home);
        m.insert("home_outside_hours".into(), Some(homes.clone().map(|p| ticks_to_hours(p.out_hours_u)).sum()));
        m.insert("home_outside_revenue".into(), Some(homes.map(|p| p.out_rev_u as f64 / MICRO).sum()));
        m.insert(
            "dc_posted_price_mean".into(),
            if self.dc_price_n > 0 { Some(self.dc_price_sum / self.dc_price_n as f64) } else { None },
        );
        // `+ 0.0`: an empty f64 sum is -0.0.
        let metrics = m.into_iter().map(|(k, v)| (k, v.map(|x| x + 0.0))).collect();
        LegRecord { id: leg.id.clone(), metrics, samples: self.samples.clone() }
    }
}

/// Reference: ticks in a leg, the iteration count of
/// `t = 0.0; while t < T { t += dt }` in f64 (2001 for 200 h, 1501 for 150 h).
/// The scenario check refuses more than [`MAX_GRID_STEPS`]; beyond that this
/// is `u32::MAX`, never a long loop.
pub fn ticks_per_leg(duration: f64, dt: f64) -> u32 {
    crate::engine::time::accumulated_steps(duration, dt, MAX_GRID_STEPS).map_or(u32::MAX, |k| k as u32)
}

#[path = "validate.rs"]
mod validate;
pub(crate) use validate::fresh_run;

impl Model for EconomicMarket {
    type Event = Ev;
    const STREAMS: &'static [&'static str] = STREAMS;
    const AGENT_CLASSES: &'static [&'static str] = &["provider", "consumer"];
    const TIME_UNIT: TimeUnit = TimeUnit::Hours;

    fn kind(&self) -> &'static str {
        "economic_value"
    }

    fn start(&mut self, ctx: &mut Ctx<'_, Ev>) {
        if !self.legs.is_empty() {
            ctx.schedule(SimTime::ZERO, Ev::LegStart(0));
        }
    }

    fn handle(&mut self, ev: Ev, ctx: &mut Ctx<'_, Ev>) {
        let now = ctx.now().ticks();
        match ev {
            Ev::LegStart(j) => self.on_leg_start(j, ctx),
            Ev::Tick(k) => self.on_tick(k, ctx),
            Ev::RunEnd(j) => self.on_run_end(j, ctx),
            Ev::SessionEnd(slot) => {
                let s = self.sessions[slot].clone();
                if let Some(id) = s.offer_ev {
                    ctx.cancel(id);
                }
                let rate = s.rate;
                let (i, j) = self.book(slot, End::Done, self.job_u, false);
                ctx.note(Some(AgentRef::new("provider", i as u32)), || {
                    format!("session {slot} with consumer {j} completes at ${rate:.4}/h")
                });
                self.consumer_idle(j, ctx);
                let anchor = self.params.price.busy_price(rate, self.params.job_hours);
                self.provider_idle(i, anchor, ctx);
                self.round(ctx);
            }
            Ev::OutsideOffer(slot) => {
                self.sessions[slot].offer_ev = None;
                let p = self.outside.at(&self.params.outside.index, SimTime(now), ctx.rng(S_INDEX));
                let o = self.params.outside;
                let u = o.multiplier_min + (o.multiplier_max - o.multiplier_min) * ctx.rng(S_OFFER).random::<f64>();
                let b = p * u;
                let (i, rate, start) = {
                    let s = &self.sessions[slot];
                    (s.provider as usize, s.rate, s.start)
                };
                let theta = self.pp(i).cancel_threshold;
                ctx.mix_f64(b);
                if b >= theta * rate {
                    if let Some(id) = self.providers[i].down_ev.take() {
                        ctx.cancel(id);
                    }
                    let (_, j, frozen) = self.cancel_session(slot, End::Profit, ctx);
                    let gap = Self::exp_ticks(ctx, S_OUTSIDE, o.session_mean_hours);
                    let p = &mut self.providers[i];
                    p.avail = Avail::Outside;
                    p.price = frozen;
                    p.out_rate = b;
                    p.out_start = now;
                    self.sched(ctx, now.saturating_add(gap), Ev::OutsideEnd(i as u32));
                    ctx.note(Some(AgentRef::new("provider", i as u32)), || {
                        format!("cancels session {slot} of consumer {j}: offer ${b:.4}/h >= {theta} x ${rate:.4}/h")
                    });
                    self.round(ctx);
                } else {
                    let gap = Self::exp_ticks(ctx, S_ARRIVAL, 1.0 / o.offer_rate);
                    if now + gap < start + self.job_u {
                        let id = self.sched(ctx, now + gap, Ev::OutsideOffer(slot));
                        self.sessions[slot].offer_ev = id;
                    }
                    ctx.note(Some(AgentRef::new("provider", i as u32)), || format!("ignores an offer of ${b:.4}/h"));
                }
            }
            Ev::DowntimeStart(p) => {
                let i = p as usize;
                self.providers[i].down_ev = None;
                let frozen = if self.providers[i].session != NONE {
                    let slot = self.providers[i].session;
                    let (_, j, frozen) = self.cancel_session(slot, End::Personal, ctx);
                    ctx.note(Some(AgentRef::new("provider", p)), || {
                        format!("down: session {slot} of consumer {j} cancelled")
                    });
                    frozen
                } else {
                    let price = self.posted_price(i, now);
                    self.unindex_provider(i, ctx);
                    ctx.note(Some(AgentRef::new("provider", p)), || "down while idle".to_string());
                    price
                };
                let pr = &mut self.providers[i];
                pr.avail = Avail::Downtime;
                if !pr.setter {
                    pr.price = frozen;
                }
                let mean = self.pp(i).downtime_mean_hours;
                let gap = Self::exp_ticks(ctx, S_DOWN, mean);
                self.sched(ctx, now.saturating_add(gap), Ev::DowntimeEnd(p));
                self.round(ctx);
            }
            Ev::DowntimeEnd(p) | Ev::OutsideEnd(p) => {
                let i = p as usize;
                if matches!(ev, Ev::OutsideEnd(_)) {
                    let pr = &mut self.providers[i];
                    let e = now - pr.out_start;
                    pr.out_hours_u += e;
                    pr.out_rev_u += Self::pay_u(pr.out_rate, e);
                }
                let anchor = self.providers[i].price;
                self.provider_idle(i, anchor, ctx);
                self.schedule_downtime(i, ctx);
                ctx.note(Some(AgentRef::new("provider", p)), || "available again".to_string());
                self.round(ctx);
            }
            Ev::FloorReached(p) => {
                let i = p as usize;
                self.providers[i].floor_ev = None;
                self.unindex_provider(i, ctx);
                let pr = &mut self.providers[i];
                pr.price = pr.floor;
                pr.anchor_t = now;
                self.index_provider(i, ctx);
                self.schedule_crossing(ctx);
            }
            Ev::PriceCrossing => {
                self.crossing_ev = None;
                self.round(ctx);
            }
            Ev::PriceSetterSolve => {
                self.resolve_setter(ctx);
                let at = now + hours_to_ticks(self.params.setter.resolve_hours).max(1);
                self.solve_ev = self.sched(ctx, at, Ev::PriceSetterSolve);
                self.round(ctx);
            }
            Ev::Sample => {
                self.sample(now);
                let at = now + hours_to_ticks(self.params.sample_hours).max(1);
                self.sample_ev = self.sched(ctx, at, Ev::Sample);
            }
        }
    }

    fn horizon(&self) -> SimTime {
        *self.horizon_cache.get_or_init(|| SimTime(self.legs.iter().map(|l| self.leg_span(l)).sum()))
    }

    fn check_invariants(&self) -> Result<(), String> {
        if let Some(v) = self.violations.first() {
            return Err(format!("{} violation(s), first: {v}", self.violations.len()));
        }
        let tick = self.tick_mode();
        for (i, p) in self.providers.iter().enumerate() {
            if p.session != NONE {
                let s = p.session;
                if !self.sessions.is_live(s) || self.sessions[s].provider != i as u32 {
                    return Err(format!("provider {i} points at session {s} that is not its own"));
                }
                if p.avail != Avail::Available {
                    return Err(format!("provider {i} is in a session while unavailable"));
                }
            }
            // Setup prices at 2c; a floor above that lifts them at the first tick.
            if tick
                && self.ticked
                && !p.setter
                && (p.price < p.floor - 1e-12 || p.price > self.params.price.cap + 1e-12)
            {
                return Err(format!("provider {i} price {} outside [{}, {}]", p.price, p.floor, self.params.price.cap));
            }
            if p.kind == ProviderKind::Datacenter && p.n_profit > 0 {
                return Err(format!("DC {i} cancelled for profit"));
            }
        }
        for (j, c) in self.consumers.iter().enumerate() {
            if c.session != NONE {
                let s = c.session;
                if !self.sessions.is_live(s) || self.sessions[s].consumer != j as u32 {
                    return Err(format!("consumer {j} points at session {s} that is not its own"));
                }
            }
            let (u, p) = if tick { (c.useful_f, c.paid_f) } else { (c.useful_u as f64, c.paid_u as f64) };
            if u < 0.0 || u > p * (1.0 + 1e-12) + 1e-9 {
                return Err(format!("consumer {j}: useful {u} > paid {p}"));
            }
        }
        if tick {
            let m: f64 = self.consumers.iter().map(|c| c.money_f).sum();
            let r: f64 = self.providers.iter().map(|p| p.rev_f).sum();
            if (m - r).abs() > 1e-9 * m.abs().max(r.abs()).max(1.0) {
                return Err(format!("sum M {m} != sum R {r}"));
            }
            let pd: f64 = self.consumers.iter().map(|c| c.paid_f).sum();
            let h: f64 = self.providers.iter().map(|p| p.hours_f).sum();
            if (pd - h).abs() > 1e-9 * pd.abs().max(h.abs()).max(1.0) {
                return Err(format!("sum P {pd} != sum H {h}"));
            }
        } else {
            // Summed wide: a state read from a snapshot may hold any values.
            let m: i128 = self.consumers.iter().map(|c| c.money_u as i128).sum();
            let r: i128 = self.providers.iter().map(|p| p.rev_u as i128).sum();
            if m != r {
                return Err(format!("sum M {m} != sum R {r} (micro-dollars)"));
            }
            let pd: u128 = self.consumers.iter().map(|c| c.paid_u as u128).sum();
            let h: u128 = self.providers.iter().map(|p| p.hours_u as u128).sum();
            if pd != h {
                return Err(format!("sum P {pd} != sum H {h} (ticks)"));
            }
        }
        Ok(())
    }

    fn validate(&self, audit: &crate::engine::Audit<'_, Self>) -> Result<(), String> {
        validate::validate(self, audit)
    }

    fn agent_counts(&self) -> Vec<(&'static str, usize)> {
        vec![
            ("provider", self.providers.len()),
            ("consumer", self.consumers.len()),
            ("running session", self.sessions.len()),
        ]
    }

    fn describe_agent(&self, a: AgentRef) -> Option<String> {
        let tick = self.tick_mode();
        match a.class {
            "provider" => {
                let p = self.providers.get(a.id as usize)?;
                let state = if p.session != NONE {
                    let s = &self.sessions[p.session];
                    format!("busy with consumer {} at ${:.4}/h", s.consumer, s.rate)
                } else {
                    format!("{:?}, idle", p.avail)
                };
                let (rev, hours) =
                    if tick { (p.rev_f, p.hours_f) } else { (p.rev_u as f64 / MICRO, ticks_to_hours(p.hours_u)) };
                Some(format!(
                    "{} {} ({}): {state}; posted ${:.4}/h, floor ${:.4}/h; {} sessions ({} done, {} personal, {} profit cancels); revenue ${rev:.2} over {hours:.2}h",
                    p.kind.key(),
                    a.id,
                    self.legs[self.leg as usize].id,
                    p.price,
                    p.floor,
                    p.sessions,
                    p.n_done,
                    p.n_personal,
                    p.n_profit
                ))
            }
            "consumer" => {
                let c = self.consumers.get(a.id as usize)?;
                let state = if c.session != NONE {
                    format!("in a session with provider {}", self.sessions[c.session].provider)
                } else {
                    "idle".into()
                };
                let (u, p, m) = if tick {
                    (c.useful_f, c.paid_f, c.money_f)
                } else {
                    (ticks_to_hours(c.useful_u), ticks_to_hours(c.paid_u), c.money_u as f64 / MICRO)
                };
                Some(format!(
                    "consumer {} (v ${:.2}/h, checkpoint {}h): {state}; {} jobs, {} restarts; useful {u:.2}h, paid {p:.2}h, ${m:.2}",
                    a.id, c.value, c.kappa, c.jobs, c.restarts
                ))
            }
            _ => None,
        }
    }

    fn describe(&self) -> String {
        let leg = self.legs.get(self.leg as usize).map(|l| l.id.as_str()).unwrap_or("-");
        format!(
            "economic_value ({} fidelity): leg {} of {} (`{leg}`), {} providers, {} consumers, {} sessions running",
            self.params.fidelity.name(),
            self.leg + 1,
            self.legs.len(),
            self.providers.len(),
            self.consumers.len(),
            self.sessions.len()
        )
    }
}
