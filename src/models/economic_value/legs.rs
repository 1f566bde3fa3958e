//! A leg's lifecycle: its setup (agents, indices, prices, first events),
//! its end (open sessions settled, metrics recorded) and the read-only
//! samples taken while it runs.

use super::{Avail, Books, Cons, EconomicMarket, End, Ev, Hooks, Level, MICRO, NONE, Prov, Slot, ord_f64};
use crate::engine::time::{hours_to_ticks, ticks_to_hours};
use crate::engine::{AgentRef, Ctx, SimTime};
use crate::market::posted::{ConsumerClass, ProviderKind, setter_floor};
use crate::market::price::Price;
use crate::models::economic_value::config::{EvParams, LegDef, Priority, SetterRule};
use crate::study::limits::MAX_GRID_STEPS;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What one leg leaves behind.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LegRecord {
    /// Leg id (metric prefix).
    pub id: String,
    /// Metric values by name (the `<name>` of `<id>.<name>`).
    pub metrics: BTreeMap<String, Option<f64>>,
    /// Samples: time (h), busy DCs, busy homes, idle consumers, mean DC
    /// price, mean home price, outside index.
    pub samples: Vec<[f64; 7]>,
}

/// Reference: ticks in a leg, the iteration count of
/// `t = 0.0; while t < T { t += dt }` in f64 (2001 for 200 h, 1501 for 150 h).
/// The scenario check refuses more than [`MAX_GRID_STEPS`]; beyond that this
/// is `u32::MAX`, never a long loop.
pub fn ticks_per_leg(duration: f64, dt: f64) -> u32 {
    crate::engine::time::accumulated_steps(duration, dt, MAX_GRID_STEPS).map_or(u32::MAX, |k| k as u32)
}

/// Simulated ticks of `leg` of `p`: whole time steps in reference fidelity.
pub fn leg_span(p: &EvParams, leg: &LegDef) -> u64 {
    if p.tick_mode() {
        ticks_per_leg(leg.duration_hours, p.tick_hours) as u64 * hours_to_ticks(p.tick_hours).max(1)
    } else {
        hours_to_ticks(leg.duration_hours)
    }
}

/// Simulated time of a run of `p`: every leg's span, summed.
pub fn horizon(p: &EvParams) -> SimTime {
    SimTime(p.leg_defs().iter().map(|l| leg_span(p, l)).sum())
}

/// The leg's checkpoint intervals, each once, in increasing order (one
/// matching level each).
fn checkpoint_levels(consumers: &[Cons]) -> Vec<f64> {
    let mut kappas: Vec<f64> = Vec::new();
    for c in consumers {
        if !kappas.contains(&c.kappa) {
            kappas.push(c.kappa);
        }
    }
    kappas.sort_by(f64::total_cmp);
    kappas
}

impl<H: Hooks> EconomicMarket<H> {
    /// LegStart: build leg j's agents, matching indices and prices, and
    /// schedule its first events.
    pub(super) fn on_leg_start(&mut self, j: u32, ctx: &mut Ctx<'_, Ev>) {
        let now = ctx.now().ticks();
        let leg = self.legs[j as usize].clone();
        self.enter_leg(j, &leg, now, ctx);
        let consumers = self.new_consumers(&leg);
        self.set_levels_and_classes(&consumers);
        let (dc_floor, setter_optimise) = self.dc_floor(&leg, &consumers);
        self.providers = self.new_providers(&leg, dc_floor, setter_optimise, now);
        self.consumers = consumers;
        self.reset_leg_state(now, dc_floor, setter_optimise);
        H::on_leg_agents(self, j, ctx);
        for j in 0..self.consumers.len() {
            self.consumer_idle(j, ctx);
        }
        let leg_id = leg.id.clone();
        let n = self.legs.len();
        ctx.note(None, || {
            format!(
                "leg {} of {n} `{leg_id}` starts: {} DCs, {} homes, {} consumers",
                j + 1,
                leg.dcs,
                leg.homes,
                leg.consumers
            )
        });
        if ctx.tracing() {
            for (i, p) in self.providers.iter().enumerate() {
                ctx.note(Some(AgentRef::new("provider", i as u32)), || {
                    let setter = if p.setter { ", sets its price" } else { "" };
                    format!("{} joins: posts ${:.4}/h, floor ${:.4}/h{setter}", self.pname(i), p.price, p.floor)
                });
            }
            for (i, c) in self.consumers.iter().enumerate() {
                ctx.note(Some(AgentRef::new("consumer", i as u32)), || {
                    format!("joins: v ${:.2}/h, checkpoints every {}h", c.value, c.kappa)
                });
            }
        }
        if self.tick_mode() {
            self.schedule_first_tick(ctx);
        } else {
            self.schedule_first_events(j, setter_optimise, ctx);
        }
    }

    /// Make leg j current: its span, and every stream reseeded from its id.
    fn enter_leg(&mut self, j: u32, leg: &LegDef, now: u64, ctx: &mut Ctx<'_, Ev>) {
        self.leg = j;
        self.ticked = false;
        self.leg_start = now;
        self.leg_end = now + self.leg_span(leg);
        ctx.rngs().reseed_all(crate::engine::rng::fnv1a(leg.id.as_bytes()));
    }

    /// The leg's consumers: values by the leg's distribution, checkpoint
    /// intervals round-robin, checkpoint levels in increasing interval, and
    /// who holds the largest value.
    fn new_consumers(&self, leg: &LegDef) -> Vec<Cons> {
        let n = leg.consumers as usize;
        let mut consumers: Vec<Cons> = (0..n)
            .map(|i| {
                let kappa = leg.checkpoints[i % leg.checkpoints.len()];
                Cons {
                    value: leg.values.value(i, n),
                    kappa,
                    kappa_u: hours_to_ticks(kappa).max(1),
                    level: 0,
                    top: false,
                    session: NONE,
                    tie: 0,
                    books: Books::default(),
                    jobs: 0,
                    restarts: 0,
                }
            })
            .collect();
        let kappas = checkpoint_levels(&consumers);
        let vmax = consumers.iter().map(|c| c.value).fold(f64::NEG_INFINITY, f64::max);
        for c in &mut consumers {
            c.level = kappas.iter().position(|&k| k == c.kappa).expect("listed") as u16;
            c.top = c.value == vmax;
        }
        consumers
    }

    /// One matching level per checkpoint interval, and the consumer classes
    /// (value, checkpoint) the optimise rule prices for.
    fn set_levels_and_classes(&mut self, consumers: &[Cons]) {
        self.levels =
            checkpoint_levels(consumers).into_iter().map(|k| Level { kappa: k, ..Level::default() }).collect();
        let mut classes: BTreeMap<(u64, u64), ConsumerClass> = BTreeMap::new();
        for c in consumers {
            classes
                .entry((ord_f64(c.value), ord_f64(c.kappa)))
                .or_insert(ConsumerClass { value: c.value, checkpoint: c.kappa, members: 0 })
                .members += 1;
        }
        self.classes = classes.into_values().collect();
    }

    /// The DCs' price floor (raised by the floor rule's setter) and whether
    /// the DCs set the fleet price by the optimise rule.
    fn dc_floor(&self, leg: &LegDef, consumers: &[Cons]) -> (f64, bool) {
        let rule = self.params.setter.rule;
        let mut dc_floor = self.params.price.floor_markup * self.params.dc.cost;
        if leg.price_setter && rule == SetterRule::Floor {
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
        (dc_floor, leg.price_setter && rule == SetterRule::Optimise)
    }

    /// The leg's providers, DCs then homes, at their initial prices.
    fn new_providers(&self, leg: &LegDef, dc_floor: f64, setter_optimise: bool, now: u64) -> Vec<Prov> {
        let pp = self.params.price;
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
                    books: Books::default(),
                    out_rev_u: 0,
                    out_hours_u: 0,
                    sessions: 0,
                    n_done: 0,
                    n_personal: 0,
                    n_profit: 0,
                });
            }
        }
        providers
    }

    /// Clear what the previous leg left: sessions, samples, pending-event
    /// handles; the outside index and the DC fleet price start afresh.
    fn reset_leg_state(&mut self, now: u64, dc_floor: f64, setter_optimise: bool) {
        self.tc.invalidate();
        self.sessions.clear();
        self.running.clear();
        self.samples.clear();
        self.dc_price_sum = 0.0;
        self.dc_price_n = 0;
        self.open_at_end = 0;
        self.crossing_ev = None;
        self.solve_ev = None;
        self.sample_ev = None;
        self.outside = Price::reset(self.tick_mode(), &self.params.outside.index, SimTime(now));
        self.pstar = dc_floor;
        if setter_optimise {
            self.solve_setter();
        }
    }

    /// Reference: provider ties (bid priority), setters at the fleet price,
    /// and the first tick.
    fn schedule_first_tick(&mut self, ctx: &mut Ctx<'_, Ev>) {
        let now = ctx.now().ticks();
        for i in 0..self.providers.len() {
            if self.params.priority == Priority::Bid {
                self.providers[i].tie = Self::new_tie(ctx);
            }
            if self.providers[i].setter {
                self.providers[i].price = self.pstar;
            }
        }
        ctx.schedule(SimTime(now + self.dt_u), Ev::Tick(1));
    }

    /// Corrected: every provider idle and indexed with its downtime drawn,
    /// the leg's end, the setter's re-solves, the samples, and a first round.
    fn schedule_first_events(&mut self, j: u32, setter_optimise: bool, ctx: &mut Ctx<'_, Ev>) {
        let now = ctx.now().ticks();
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

    pub(super) fn on_run_end(&mut self, j: u32, ctx: &mut Ctx<'_, Ev>) {
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
                self.book_hooked(slot, End::Done, now - s.start, true, ctx);
                let (pay, e) = (Self::pay_u(s.rate, now - s.start) as f64 / MICRO, ticks_to_hours(now - s.start));
                let (i, j) = (s.provider, s.consumer);
                ctx.note(Some(AgentRef::new("provider", i)), || {
                    format!("session {slot} with consumer{j} settled pro rata at the leg end: ${pay:.4} for {e:.3}h")
                });
                ctx.note(Some(AgentRef::new("consumer", j)), || {
                    format!(
                        "session {slot} on {} settled pro rata at the leg end: pays ${pay:.4} for {e:.3}h, all useful",
                        self.pname(i as usize)
                    )
                });
            }
            for i in 0..self.providers.len() {
                let p = &mut self.providers[i];
                if p.avail == Avail::Outside {
                    let e = now - p.out_start;
                    p.out_hours_u += e;
                    p.out_rev_u += Self::pay_u(p.out_rate, e);
                    let pay = Self::pay_u(p.out_rate, e) as f64 / MICRO;
                    ctx.note(Some(AgentRef::new("provider", i as u32)), || {
                        format!("outside session booked at the leg end: ${pay:.4} for {:.3}h", ticks_to_hours(e))
                    });
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
        H::on_leg_end(self, j, ctx);
        let id = self.legs[j as usize].id.clone();
        let (n, open) = (self.legs.len(), self.open_at_end);
        let tick = self.tick_mode();
        ctx.note(None, || {
            let dropped =
                if tick && open > 0 { format!("; {open} open session(s) dropped unpaid") } else { String::new() };
            format!("leg {} of {n} `{id}` ends{dropped}; its metrics are recorded", j + 1)
        });
        if (j as usize) + 1 < self.legs.len() {
            ctx.schedule(SimTime(now), Ev::LegStart(j + 1));
        }
    }

    /// The metrics of the leg that just ended.
    pub(super) fn record(&self) -> LegRecord {
        let leg = &self.legs[self.leg as usize];
        let tick = self.tick_mode();
        let t = leg.duration_hours;
        let u = |c: &Cons| c.books.view(tick).useful;
        let paid = |c: &Cons| c.books.view(tick).paid;
        let money = |c: &Cons| c.books.view(tick).money;
        let rev = |p: &Prov| p.books.view(tick).rev;
        let hours = |p: &Prov| p.books.view(tick).hours;
        let top = |p: &Prov| p.books.view(tick).top;
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

    pub(super) fn sample(&mut self, now: u64) {
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
}
