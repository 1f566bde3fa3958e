//! The reference fidelity's tick loop (economic_value.md §4.1): one `Tick`
//! event per `tick_hours`, and inside it the original script's phases in
//! its order: the price setter's re-solve, the outside index, every running
//! session's tick (completion, personal use or failure, outside offers),
//! completions then cancellations booked in start order, every price's
//! tick, and a matching round.
//!
//! The loop keeps a cache beside the state (never serialized): values it
//! would otherwise recompute every tick (per-tick probabilities, each
//! provider's expected paid hours E per level), the free providers (a
//! level's cheapest is found by one scan of them per round, not one scan of
//! every provider per match), and what each running session's tick reads.
//! Every result and the state after every event are those of the plain
//! loop, bit for bit.

use super::{EconomicMarket, End, Ev, NONE, S_ARRIVAL, S_INDEX, S_OFFER, S_PERSONAL, ord_f64, ticks_per_leg};
use crate::engine::time::hours_to_ticks;
use crate::engine::{AgentRef, Ctx, SimTime};
use crate::market::posted::paid_hours;
use crate::models::economic_value::config::Priority;
use rand::RngExt;
use std::hint::select_unpredictable;

/// Reference fidelity: what the tick loop reads every tick and can derive
/// from the state, kept beside it. Not part of the state (nor of snapshots):
/// built at a leg's first tick, after a snapshot is read, and kept up to
/// date as the books change.
#[derive(Clone, Debug, Default)]
pub(super) struct TickCache {
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
    /// Per provider: its price's factor per tick (busy: 1 + growth dt,
    /// idle: 1 - decay dt).
    factor: Vec<f64>,
    /// Those two factors.
    up_down: [f64; 2],
    free_at: Vec<u32>,
    /// Scratch: where in `running` the sessions that end this tick are.
    ended: Vec<u32>,
    /// What a tick reads of each running session's agents, in the order of
    /// `running`.
    run: Vec<RunInfo>,
    /// Where in `running` the sessions that can see outside offers (a
    /// finite profit threshold) are, in order.
    offers: Vec<u32>,
}

/// A running session's slot, checkpoint interval and its provider kind's
/// cancellation probability per tick and profit threshold.
#[derive(Clone, Copy, Debug)]
struct RunInfo {
    slot: u32,
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
        self.cost < o.cost
            || (self.cost == o.cost && (self.second < o.second || (self.second == o.second && self.i < o.i)))
    }
}

/// A level's cheapest free provider as the round's last scan found it.
#[derive(Clone, Copy, Debug, Default)]
struct Best {
    /// Scanned in this round.
    fresh: bool,
    offer: Option<Offer>,
}

impl TickCache {
    /// The state changed beyond what the cache follows (a new leg).
    pub(super) fn invalidate(&mut self) {
        self.ready = false;
    }
}

impl EconomicMarket {
    /// A matching round starts: no level has been scanned in it yet.
    pub(super) fn begin_listed_round(&mut self) {
        self.ensure_tick_cache();
        for b in &mut self.tc.best {
            b.fresh = false;
        }
    }

    /// Session `slot` just started: it runs from the next tick on.
    pub(super) fn list_running(&mut self, slot: u32) {
        self.running.push(slot);
        let info = self.run_info(slot);
        if info.theta.is_finite() {
            self.tc.offers.push(self.tc.run.len() as u32);
        }
        self.tc.run.push(info);
    }

    /// Tick k of the current leg: the phases in the script's order (see the
    /// module's comment), a sample every `sample_hours`, then the next tick
    /// or the leg's end.
    pub(super) fn on_tick(&mut self, k: u32, ctx: &mut Ctx<'_, Ev>) {
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
            self.retain_running(&ended);
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

    /// Reference: drop the sessions that ended (at the increasing places
    /// `ended` of `running`) from `running` and their cached infos, keeping
    /// the order, and list again where those that see offers are.
    fn retain_running(&mut self, ended: &[u32]) {
        let (running, tc) = (&mut self.running, &mut self.tc);
        let run = &mut tc.run;
        let mut kept = ended[0] as usize;
        for (n, &k) in ended.iter().enumerate() {
            let next = ended.get(n + 1).map_or(running.len(), |&x| x as usize);
            let from = k as usize + 1;
            running.copy_within(from..next, kept);
            run.copy_within(from..next, kept);
            kept += next - from;
        }
        running.truncate(kept);
        run.truncate(kept);
        // Branch-free: the kind of each session is not predictable.
        let offers = &mut tc.offers;
        offers.clear();
        offers.resize(run.len(), 0);
        let mut n = 0;
        for (k, r) in run.iter().enumerate() {
            offers[n] = k as u32;
            n += r.theta.is_finite() as usize;
        }
        offers.truncate(n);
    }

    /// Reference tick, step 2: every running session works a tick, in start
    /// order; those that complete or are cancelled are marked and their
    /// places in `running` listed in `ended`, in increasing order.
    ///
    /// Each stream is drawn in start order as the script does, in two
    /// passes: the first draws every session's personal use (stream
    /// `personal`), the second the outside offers of those that see them
    /// and are still running (streams `offer_arrival`, `offer_price`). The
    /// streams are separate, so the draws are the script's.
    fn tick_sessions(&mut self, m: f64, now: u64, ended: &mut Vec<u32>, ctx: &mut Ctx<'_, Ev>) {
        let dt = self.params.tick_hours;
        let job = self.params.job_hours;
        let o = &self.params.outside;
        let p_offer = o.offer_rate * dt;
        // With `checks`: a session that completed on another tick than the
        // job's count of ticks.
        let mut late = None;
        let EconomicMarket { running, sessions, checks, dt_u, tc, .. } = self;
        debug_assert_eq!(running.len(), tc.run.len());
        let personal = ctx.rng(S_PERSONAL);
        for (k, r) in tc.run.iter().enumerate() {
            let s = &mut sessions[r.slot];
            let e = s.e + dt;
            // The first checkpoint passed without a branch (whether one is
            // passed this tick is not predictable), then any further ones.
            let next = s.l + r.kappa;
            let mut l = select_unpredictable(next <= e, next, s.l);
            while l + r.kappa <= e {
                l += r.kappa;
            }
            s.e = e;
            s.l = l;
            if e >= job {
                s.end = Some(End::Done);
                ended.push(k as u32);
                if *checks && late.is_none() {
                    let n = ((now - s.start) / *dt_u) as u32;
                    if n != ticks_per_leg(job, dt) {
                        late = Some(n);
                    }
                }
                continue;
            }
            if personal.random::<f64>() < r.hazard {
                s.end = Some(End::Personal);
                ended.push(k as u32);
            }
        }
        let before = ended.len();
        for &k in &tc.offers {
            let r = &tc.run[k as usize];
            let s = &mut sessions[r.slot];
            if s.end.is_some() {
                continue;
            }
            if ctx.rng(S_ARRIVAL).random::<f64>() < p_offer {
                let u = o.multiplier_min + (o.multiplier_max - o.multiplier_min) * ctx.rng(S_OFFER).random::<f64>();
                let b = m * u;
                if b >= r.theta * s.rate {
                    s.end = Some(End::Profit);
                    ended.push(k);
                }
            }
        }
        if ended.len() > before && before > 0 {
            ended.sort_unstable();
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
            for &k in ended {
                let slot = self.tc.run[k as usize].slot;
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
    fn tick_prices(&mut self) {
        if self.checks {
            return self.tick_prices_checked();
        }
        let (pp, pstar) = (self.params.price, self.pstar);
        // As `PostedPriceParams::tick`, with its two factors computed once.
        // Each provider's factor is kept beside it as its session starts and
        // ends: which providers are busy is not predictable, so no branch.
        debug_assert_eq!(self.providers.len(), self.tc.factor.len());
        for (p, &f) in self.providers.iter_mut().zip(&self.tc.factor) {
            p.price = if p.setter { pstar } else { (p.price * f).min(pp.cap).max(p.floor) };
        }
    }

    /// [`Self::tick_prices`] with the invariant checks: every provider, in
    /// list order.
    fn tick_prices_checked(&mut self) {
        let dt = self.params.tick_hours;
        let pp = self.params.price;
        for i in 0..self.providers.len() {
            let p = &mut self.providers[i];
            if p.setter {
                p.price = self.pstar;
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

    /// Reference: the best free provider of level l, as a scan of every
    /// provider would find it. A match only takes providers out (costs do
    /// not change within a round), so a level is scanned again in a round
    /// only when its best provider was taken.
    pub(super) fn best_provider_listed(&mut self, l: usize) -> Option<(usize, f64, f64)> {
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
        let offer = |i: u32| {
            let (i, p) = (i as usize, &self.providers[i as usize]);
            let e = self.tc.e[i * levels + l];
            let price = p.price;
            Offer { cost: price * e, second: if bid { p.tie } else { i as u64 }, i: i as u32, price, e }
        };
        // Which provider is cheapest is not predictable: compare integer keys
        // and keep the best by conditional moves, not branches. For costs
        // that are numbers, `ord_f64(cost + 0.0)` orders as `cost` does
        // (`+ 0.0` makes -0 equal to 0), and the key ends in the provider's
        // index, so the least key is the provider the plain scan keeps.
        let key = |o: &Offer| (ord_f64(o.cost + 0.0), o.second, o.i);
        let (&first, rest) = self.tc.free.split_first()?;
        let o = offer(first);
        let (mut nan, mut best) = (o.cost.is_nan(), key(&o));
        for &i in rest {
            let o = offer(i);
            nan |= o.cost.is_nan();
            let k = key(&o);
            let before = (k.0 < best.0) | ((k.0 == best.0) & ((k.1 < best.1) | ((k.1 == best.1) & (k.2 < best.2))));
            best = (
                select_unpredictable(before, k.0, best.0),
                select_unpredictable(before, k.1, best.1),
                select_unpredictable(before, k.2, best.2),
            );
        }
        if !nan {
            return Some(offer(best.2));
        }
        // A cost that is not a number: the plain scan.
        let mut best: Option<Offer> = None;
        for &i in &self.tc.free {
            let o = offer(i);
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
        let pp = self.params.price;
        let [up, down] = [1.0 + pp.growth * dt, 1.0 - pp.decay * dt];
        self.tc.up_down = [up, down];
        self.tc.factor = vec![up; np];
        for i in 0..np {
            if self.providers[i].session == NONE {
                self.tc.free_at[i] = self.tc.free.len() as u32;
                self.tc.free.push(i as u32);
                self.tc.factor[i] = down;
            }
        }
        self.tc.run = self.running.iter().map(|&slot| self.run_info(slot)).collect();
        self.tc.offers = (0..self.tc.run.len() as u32).filter(|&k| self.tc.run[k as usize].theta.is_finite()).collect();
        self.tc.ready = true;
        for i in 0..self.providers.len() {
            self.refresh_costs(i);
        }
    }

    /// Reference: what a tick reads of session `slot`'s agents.
    fn run_info(&self, slot: u32) -> RunInfo {
        let s = &self.sessions[slot];
        let kind = self.providers[s.provider as usize].kind as usize;
        RunInfo {
            slot,
            kappa: self.consumers[s.consumer as usize].kappa,
            hazard: self.tc.hazard[kind],
            theta: self.tc.theta[kind],
        }
    }

    /// Reference: provider i has no session any more.
    pub(super) fn cache_free(&mut self, i: usize) {
        if !self.tc.ready {
            return;
        }
        let tc = &mut self.tc;
        tc.free_at[i] = tc.free.len() as u32;
        tc.free.push(i as u32);
        tc.factor[i] = tc.up_down[1];
    }

    /// Reference: provider i starts a session.
    pub(super) fn cache_busy(&mut self, i: usize) {
        if !self.tc.ready {
            return;
        }
        let tc = &mut self.tc;
        tc.factor[i] = tc.up_down[0];
        let at = std::mem::replace(&mut tc.free_at[i], NONE) as usize;
        tc.free.swap_remove(at);
        if let Some(&moved) = tc.free.get(at) {
            tc.free_at[moved as usize] = at as u32;
        }
    }

    /// Reference: provider i's E per level, after its completion counts
    /// changed.
    pub(super) fn refresh_costs(&mut self, i: usize) {
        if !self.tc.ready {
            return;
        }
        let a = self.attempts_of(i);
        let levels = self.levels.len();
        for l in 0..levels {
            self.tc.e[i * levels + l] = paid_hours(self.params.job_hours, self.levels[l].kappa, a);
        }
    }
}
