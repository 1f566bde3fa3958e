//! Matching: rounds that pair the idle consumer
//! and the free provider with the best surplus until none is left, the
//! per-checkpoint-level indices of idle consumers and (corrected) idle
//! providers by cost, the corrected fidelity's price crossings, and the DC
//! fleet's price setter.

use super::{Avail, EconomicMarket, Ev, Hooks, NONE, Slot, TICKS_PER_HOUR, ord_f64};
use crate::engine::Ctx;
use crate::engine::time::ticks_to_hours;
use crate::market::orders::desc_key;
use crate::market::posted::{
    ProviderKind, attempts, completion_reference, completion_with_prior, paid_hours, setter_optimise,
};
use crate::models::economic_value::config::Priority;
use crate::models::economic_value::keyset::{Key, KeySet};
use serde::{Deserialize, Serialize};

/// One checkpoint level's matching indices (corrected) and idle consumers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Level {
    pub(super) kappa: f64,
    pub(super) consumers: KeySet,
    pub(super) decaying: KeySet,
    pub(super) floor: KeySet,
    pub(super) setter: KeySet,
}

/// A matching candidate: (consumer key, consumer, provider, price, willingness).
type Candidate = (Key, usize, usize, f64, f64);

impl<H: Hooks> EconomicMarket<H> {
    pub(super) fn consumer_key(&self, j: usize) -> Key {
        let c = &self.consumers[j];
        let second = match self.params.priority {
            Priority::ListOrder => j as u64,
            Priority::Bid => u64::MAX - c.tie,
        };
        (desc_key(c.value.max(0.0)), second, j as u32)
    }

    pub(super) fn provider_second(&self, i: usize) -> u64 {
        match self.params.priority {
            Priority::ListOrder => i as u64,
            Priority::Bid => self.providers[i].tie,
        }
    }

    pub(super) fn consumer_idle(&mut self, j: usize, ctx: &mut Ctx<'_, Ev>) {
        if self.params.priority == Priority::Bid {
            self.consumers[j].tie = Self::new_tie(ctx);
        }
        self.consumers[j].session = NONE;
        let key = self.consumer_key(j);
        let l = self.consumers[j].level as usize;
        self.levels[l].consumers.insert(key);
    }

    pub(super) fn consumer_busy(&mut self, j: usize) {
        let key = self.consumer_key(j);
        let l = self.consumers[j].level as usize;
        let was = self.levels[l].consumers.remove(&key);
        debug_assert!(was, "consumer {j} was not idle");
    }

    /// Corrected: put idle, available provider i into the indices (and
    /// schedule its FloorReached).
    pub(super) fn index_provider(&mut self, i: usize, ctx: &mut Ctx<'_, Ev>) {
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
    pub(super) fn unindex_provider(&mut self, i: usize, ctx: &mut Ctx<'_, Ev>) {
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
    pub(super) fn provider_idle(&mut self, i: usize, anchor: f64, ctx: &mut Ctx<'_, Ev>) {
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

    /// The best free provider of level l now: (provider, price, E).
    pub(super) fn best_provider(&self, l: usize, now: u64) -> Option<(usize, f64, f64)> {
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

    /// A matching round: repeat until no level has a candidate.
    pub(super) fn matching_round(&mut self, ctx: &mut Ctx<'_, Ev>) {
        let now = ctx.now().ticks();
        let job = self.params.job_hours;
        let tick = self.tick_mode();
        if tick {
            self.begin_listed_round();
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
    pub(super) fn check_no_candidate(&mut self, now: u64) {
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

    /// Corrected: schedule the next PriceCrossing.
    pub(super) fn schedule_crossing(&mut self, ctx: &mut Ctx<'_, Ev>) {
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

    pub(super) fn round(&mut self, ctx: &mut Ctx<'_, Ev>) {
        self.matching_round(ctx);
        if !self.tick_mode() {
            self.schedule_crossing(ctx);
        } else {
            self.note_tick(ctx);
        }
    }

    pub(super) fn solve_setter(&mut self) {
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
        // The hooks' scale of the DCs' cost (1 for the market alone, so
        // `cost` is the parameter itself).
        let cost = self.params.dc.cost * H::dc_cost_scale(self);
        let floor = self.params.price.floor_markup * cost;
        self.pstar = setter_optimise(
            &self.classes,
            self.params.job_hours,
            a,
            d_av,
            h_av,
            cost,
            floor,
            self.params.price.cap,
            self.params.setter.margin,
        );
    }

    /// Corrected: re-solve and re-key the setter DCs (their order by E does
    /// not change; only the common price does).
    pub(super) fn resolve_setter(&mut self, ctx: &mut Ctx<'_, Ev>) {
        let old = self.pstar;
        self.solve_setter();
        ctx.mix_f64(self.pstar);
        let new = self.pstar;
        ctx.note(None, || format!("DC fleet price {old:.4} -> {new:.4} $/h"));
    }
}
