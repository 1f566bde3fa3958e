//! The reference fidelity's tick loop: one `Tick` event per `tick_hours`
//! (the last tick of a leg schedules its `RunEnd` instead of a next tick),
//! and inside it the original script's phases in its order: the price
//! setter's re-solve (optimise rule, every `resolve_hours`), the outside
//! index, every running session's tick in start order (completion, then a
//! personal-use or failure draw; then, for homes still running, an outside
//! offer draw), completions then cancellations booked in start order, every
//! price's tick, a matching round, and a read-only sample every
//! `sample_hours`.
//!
//! Beside the state the loop keeps a `TickCache`, never serialized and
//! rebuilt at a leg's first tick (and after a snapshot is read) from the
//! state alone: per-tick probabilities (as integer thresholds on the raw
//! draws), each provider's expected paid hours E per level, the free
//! providers and per level the two cheapest of the round's last scan (a
//! level is scanned again in a round only once both are taken), contiguous
//! copies of the prices and floors that the prices' tick updates and writes
//! back, and per running session its provider's kind and its ticks on a grid
//! of hours worked and kept (the same for every session, as all add the same
//! dt from 0, so a tick reads its hours from the grid). Every result and
//! the state after every event (so snapshots and the state hash) are those
//! of the plain loop, bit for bit.

use super::{EconomicMarket, End, Ev, Hooks, NONE, S_ARRIVAL, S_INDEX, S_OFFER, S_PERSONAL, ticks_per_leg};
use crate::engine::time::hours_to_ticks;
use crate::engine::{AgentRef, Ctx, SimTime};
use crate::market::posted::paid_hours;
use crate::models::economic_value::config::Priority;
use rand::RngExt;

/// Reference fidelity: what the tick loop reads every tick and can derive
/// from the state, kept beside it. Not part of the state (nor of snapshots):
/// built at a leg's first tick, after a snapshot is read, and kept up to
/// date as the books change.
#[derive(Clone, Debug, Default)]
pub(super) struct TickCache {
    ready: bool,
    /// Per provider kind: probability per tick of a personal-use or failure
    /// cancellation (1 - s^dt) as a [`below`] threshold, and the
    /// profit-cancel threshold.
    hazard: [u64; 2],
    /// The probability per tick that a home sees an outside offer, as a
    /// [`below`] threshold.
    offer: u64,
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
    /// Per provider: its price's factor per tick (busy: 1 + growth dt,
    /// idle: 1 - decay dt).
    factor: Vec<f64>,
    /// Per provider: its price (always equal to `providers[i].price`: the
    /// prices' tick works on these contiguous copies and writes each back)
    /// and its floor.
    price: Vec<f64>,
    floor: Vec<f64>,
    /// The providers that post the fleet price (optimise-rule setters).
    setters: Vec<u32>,
    /// Those two factors.
    up_down: [f64; 2],
    /// The cap, the factors and every provider's price and floor are finite
    /// numbers (then they stay so).
    finite_prices: bool,
    /// The outside index's step coefficients: reversion x dt and
    /// volatility x sqrt(dt).
    index_steps: [f64; 2],
    /// When to sample and when to re-solve the fleet price.
    sample: Every,
    resolve: Every,
    /// A session's hours worked and kept after n ticks.
    grid: Grid,
    /// Scratch: where in `running` the sessions that end this tick are.
    ended: Vec<u32>,
    /// What a tick reads of each running session's agents, in the order of
    /// `running`.
    run: Vec<RunInfo>,
    /// Where in `running` the sessions that can see outside offers (a
    /// finite profit threshold) are, in order.
    offers: Vec<u32>,
}

/// A running session's slot, ticks worked (`n`, or `OFF_GRID`), where its
/// checkpoint level's row of the grid starts, and its provider's kind.
#[derive(Clone, Copy, Debug)]
struct RunInfo {
    slot: u32,
    n: u32,
    row: u32,
    kind: u32,
}

/// A session whose hours are not those of the grid (only a snapshot edited
/// by hand holds one): its tick adds them up itself.
const OFF_GRID: u32 = u32::MAX;

/// The grid has at most this many ticks per job; beyond, no grid.
const GRID_MAX: usize = 1 << 16;

/// Every session starts at e = l = 0 and adds the same dt each tick, so
/// after n ticks its hours worked e and kept l (per checkpoint level) are
/// the same numbers for all: `e[n]`, and the pair (e, l) at
/// `el[level * (done + 1) + n]`, computed once by the same additions. A
/// session is done after `done` ticks (the first n with e[n] >= job). Empty
/// (`done` = 0) when the job takes more than `GRID_MAX` ticks or never ends.
#[derive(Clone, Debug, Default)]
struct Grid {
    done: u32,
    e: Vec<f64>,
    el: Vec<[f64; 2]>,
}

impl Grid {
    fn new(dt: f64, job: f64, kappas: impl Iterator<Item = f64>) -> Grid {
        let mut e = vec![0.0];
        let mut x = 0.0;
        loop {
            x += dt;
            e.push(x);
            if x >= job {
                break;
            }
            if e.len() > GRID_MAX {
                return Grid::default();
            }
        }
        let mut el = Vec::new();
        for kappa in kappas {
            let mut y = 0.0;
            el.push([0.0, y]);
            for &x in &e[1..] {
                while y + kappa <= x {
                    y += kappa;
                }
                el.push([x, y]);
            }
        }
        Grid { done: (e.len() - 1) as u32, e, el }
    }

    /// The ticks a session with these hours and level has worked, if they
    /// are on the grid (and short of the job).
    fn ticks_of(&self, e: f64, l: f64, level: u32) -> Option<u32> {
        if self.done == 0 {
            return None;
        }
        let n = self.e.binary_search_by(|x| x.total_cmp(&e)).ok()?;
        if n >= self.done as usize {
            return None;
        }
        let row = level as usize * self.e.len();
        (self.el.get(row + n)?[1].to_bits() == l.to_bits()).then_some(n as u32)
    }
}

/// The least u64 `t` such that, for a draw `x` of a stream, `x >> 11 < t`
/// exactly when the stream's `random::<f64>()` (which is `(x >> 11)` times
/// 2^-53) would be below `p`: a comparison of integers in place of a
/// conversion and a product.
fn below(p: f64) -> u64 {
    if p.is_nan() || p <= 0.0 {
        0
    } else if p > 1.0 {
        u64::MAX
    } else {
        // p 2^53 is exact (a power of two), at most 2^53; an integer m is
        // below it exactly when it is below its ceiling.
        (p * (1u64 << 53) as f64).ceil() as u64
    }
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

/// A level's two cheapest free providers as the round's last scan found
/// them.
#[derive(Clone, Copy, Debug, Default)]
struct Best {
    /// Scanned in this round.
    fresh: bool,
    /// The cheapest, then the next (none when a cost was not a number).
    offers: [Option<Offer>; 2],
    /// The scan saw no other free provider.
    complete: bool,
}

/// Multiples of a period (engine ticks since the leg's start), found
/// without a division on the ticks between them.
#[derive(Clone, Copy, Debug, Default)]
struct Every {
    period: u64,
    /// No multiple lies in [last time asked, next).
    next: u64,
}

impl Every {
    fn new(period: u64) -> Every {
        Every { period, next: 0 }
    }

    /// Whether `t` is a multiple of the period (`t` never decreases between
    /// calls).
    #[inline]
    fn due(&mut self, t: u64) -> bool {
        if t < self.next {
            return false;
        }
        self.next = (t / self.period).saturating_add(1).saturating_mul(self.period);
        t.is_multiple_of(self.period)
    }
}

impl TickCache {
    /// The state changed beyond what the cache follows (a new leg).
    pub(super) fn invalidate(&mut self) {
        self.ready = false;
    }
}

impl<H: Hooks> EconomicMarket<H> {
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
        let info = self.run_info(slot, true);
        if self.tc.theta[info.kind as usize].is_finite() {
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
        let rel = now - self.leg_start;
        // 0. Optimise-rule re-solve at multiples of R.
        if self.tc.has_setter && self.tc.resolve.due(rel) {
            self.solve_setter();
        }
        // 1. Outside index.
        let [a, b] = self.tc.index_steps;
        let m = self.outside.tick_with(&self.params.outside.index, a, b, ctx.rng(S_INDEX));
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
        if self.tc.sample.due(rel) {
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
        let (run, offers, sees) = (&mut tc.run, &mut tc.offers, tc.theta.map(f64::is_finite));
        let first = ended[0] as usize;
        // Places before the first ended session do not move.
        let keep = offers.partition_point(|&k| (k as usize) < first);
        offers.truncate(keep);
        offers.resize(keep + run.len() - first, 0);
        // Element by element (a few, not worth a call to copy memory), and
        // listing those that see offers without a branch (the kind of each
        // session is not predictable).
        let (mut kept, mut next, mut n) = (first, 0, keep);
        for k in first..running.len() {
            if ended.get(next) == Some(&(k as u32)) {
                next += 1;
                continue;
            }
            running[kept] = running[k];
            run[kept] = run[k];
            offers[n] = kept as u32;
            n += sees[run[kept].kind as usize & 1] as usize;
            kept += 1;
        }
        running.truncate(kept);
        run.truncate(kept);
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
    #[inline(never)]
    fn tick_sessions(&mut self, m: f64, now: u64, ended: &mut Vec<u32>, ctx: &mut Ctx<'_, Ev>) {
        let dt = self.params.tick_hours;
        let job = self.params.job_hours;
        let o = &self.params.outside;
        // With `checks`: a session that completed on another tick than the
        // job's count of ticks.
        let mut late = None;
        let EconomicMarket { running, sessions, consumers, checks, dt_u, tc, .. } = self;
        debug_assert_eq!(running.len(), tc.run.len());
        let (el_grid, grid_done) = (&tc.grid.el[..], tc.grid.done);
        let hazard = tc.hazard;
        // Each stream is copied out for its pass and back after it, so that
        // its state can stay in registers between draws.
        let mut personal = ctx.rng(S_PERSONAL).clone();
        for (k, r) in tc.run.iter_mut().enumerate() {
            let s = &mut sessions[r.slot];
            let done = if r.n != OFF_GRID {
                r.n += 1;
                [s.e, s.l] = el_grid[(r.row + r.n) as usize];
                r.n >= grid_done
            } else {
                let kappa = consumers[s.consumer as usize].kappa;
                s.e += dt;
                while s.l + kappa <= s.e {
                    s.l += kappa;
                }
                s.e >= job
            };
            if done {
                s.end = Some(End::Done);
                ended.push(k as u32);
                if *checks && late.is_none() {
                    let n = ((now - s.start) / *dt_u) as u32;
                    if n != ticks_per_leg(job, dt) {
                        late = Some(n);
                    }
                }
            } else if personal.random::<u64>() >> 11 < hazard[r.kind as usize & 1] {
                s.end = Some(End::Personal);
                ended.push(k as u32);
            }
        }
        *ctx.rng(S_PERSONAL) = personal;
        let before = ended.len();
        let p_offer = tc.offer;
        let (mut arrival, mut offer) = (ctx.rng(S_ARRIVAL).clone(), ctx.rng(S_OFFER).clone());
        // The sessions that ended in the first pass, in increasing order:
        // walked beside the (increasing) offers list to skip them.
        let mut gone = 0;
        for &k in &tc.offers {
            while gone < before && ended[gone] < k {
                gone += 1;
            }
            if gone < before && ended[gone] == k {
                continue;
            }
            if arrival.random::<u64>() >> 11 < p_offer {
                let r = &tc.run[k as usize];
                let s = &mut sessions[r.slot];
                let u = o.multiplier_min + (o.multiplier_max - o.multiplier_min) * offer.random::<f64>();
                let b = m * u;
                if b >= tc.theta[r.kind as usize & 1] * s.rate {
                    s.end = Some(End::Profit);
                    ended.push(k);
                }
            }
        }
        *ctx.rng(S_ARRIVAL) = arrival;
        *ctx.rng(S_OFFER) = offer;
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
                    self.note_tick_end(slot, e, ctx);
                    let (i, j) = self.book(slot, e, 0, false);
                    if self.checks && e != End::Done {
                        let s = &self.sessions[slot];
                        let lost = s.e - s.l;
                        let kappa = self.consumers[j].kappa;
                        if !(-1e-12..=kappa + 1e-12).contains(&lost) {
                            self.violation(|| format!("lost work {lost} outside [0, {kappa}]"));
                        }
                    }
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
    #[inline(never)]
    fn tick_prices(&mut self) {
        if self.checks {
            self.tick_prices_checked();
            let tc = &mut self.tc;
            for (x, p) in tc.price.iter_mut().zip(&self.providers) {
                *x = p.price;
            }
            return;
        }
        let (pp, pstar) = (self.params.price, self.pstar);
        // As `PostedPriceParams::tick`, with its two factors computed once.
        // Each provider's factor is kept beside it as its session starts and
        // ends: which providers are busy is not predictable, so no branch.
        let tc = &mut self.tc;
        debug_assert_eq!(self.providers.len(), tc.factor.len());
        if !tc.finite_prices {
            for ((p, &f), x) in self.providers.iter_mut().zip(&tc.factor).zip(&mut tc.price) {
                p.price = if p.setter { pstar } else { (p.price * f).min(pp.cap).max(p.floor) };
                *x = p.price;
            }
            return;
        }
        // Every price, factor, floor and the cap are finite numbers, so the
        // product is never NaN and `min`/`max` reduce to one comparison each
        // (as they are compiled: the first operand unless the second is
        // smaller, resp. larger). On the contiguous copies, the loop runs on
        // vector registers; the setters' prices (computed too, unused) are
        // then the fleet price.
        let cap = pp.cap;
        let n = tc.price.len().min(tc.factor.len()).min(tc.floor.len());
        let (price, factor, floor) = (&mut tc.price[..n], &tc.factor[..n], &tc.floor[..n]);
        for i in 0..n {
            let x = price[i] * factor[i];
            let y = if cap < x { cap } else { x };
            price[i] = if floor[i] > y { floor[i] } else { y };
        }
        for &i in &tc.setters {
            price[i as usize] = pstar;
        }
        for (p, &x) in self.providers.iter_mut().zip(price.iter()) {
            p.price = x;
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
    /// only when its two best providers were taken (the order is total, so
    /// once the best is taken the second is the best of those left).
    pub(super) fn best_provider_listed(&mut self, l: usize) -> Option<(usize, f64, f64)> {
        let b = self.tc.best[l];
        if b.fresh {
            if let Some(o) = b.offers.iter().flatten().find(|o| self.providers[o.i as usize].session == NONE) {
                return Some((o.i as usize, o.price, o.e));
            }
            if b.complete {
                return None;
            }
        }
        // No free provider (often, in a tight market): no scan.
        if self.tc.free.is_empty() {
            self.tc.best[l] = Best { fresh: true, offers: [None, None], complete: true };
            return None;
        }
        let b = self.scan_level(l);
        self.tc.best[l] = b;
        b.offers[0].map(|o| (o.i as usize, o.price, o.e))
    }

    /// Reference: level l's two cheapest free providers (the first is the
    /// provider a plain scan keeps).
    #[inline(never)]
    fn scan_level(&self, l: usize) -> Best {
        let levels = self.levels.len();
        let bid = self.params.priority == Priority::Bid;
        let offer = |i: u32| {
            let i = i as usize;
            let e = self.tc.e[i * levels + l];
            let price = self.tc.price[i];
            let second = if bid { self.providers[i].tie } else { i as u64 };
            Offer { cost: price * e, second, i: i as u32, price, e }
        };
        let (mut best, mut second, mut nan) = (None::<Offer>, None::<Offer>, false);
        for &i in &self.tc.free {
            let o = offer(i);
            nan |= o.cost.is_nan();
            if best.is_none_or(|b| o.before(&b)) {
                second = best;
                best = Some(o);
            } else if second.is_none_or(|b| o.before(&b)) {
                second = Some(o);
            }
        }
        // A cost that is not a number leaves no total order: keep the best
        // only, so that a taken best means a new scan.
        let complete = !nan && self.tc.free.len() <= 2;
        Best { fresh: true, offers: [best, if nan { None } else { second }], complete }
    }

    /// Reference: build the tick cache unless it is up to date.
    #[inline]
    fn ensure_tick_cache(&mut self) {
        if !self.tc.ready {
            self.build_tick_cache();
        }
    }

    /// Reference: build the tick cache.
    #[cold]
    #[inline(never)]
    fn build_tick_cache(&mut self) {
        let dt = self.params.tick_hours;
        let (dc, home) = (self.params.dc, self.params.home);
        self.tc.hazard = [below(dc.tick_probability(dt)), below(home.tick_probability(dt))];
        self.tc.offer = below(self.params.outside.offer_rate * dt);
        self.tc.theta = [dc.cancel_threshold, home.cancel_threshold];
        self.tc.has_setter = self.providers.iter().any(|p| p.setter);
        self.tc.grid = Grid::new(dt, self.params.job_hours, self.levels.iter().map(|lv| lv.kappa));
        let index = self.params.outside.index;
        self.tc.index_steps = [index.reversion * dt, index.volatility * dt.sqrt()];
        self.tc.sample = Every::new(hours_to_ticks(self.params.sample_hours).max(1));
        self.tc.resolve = Every::new(hours_to_ticks(self.params.setter.resolve_hours).max(1));
        self.tc.e = vec![0.0; self.providers.len() * self.levels.len()];
        self.tc.best = vec![Best::default(); self.levels.len()];
        let np = self.providers.len();
        self.tc.free.clear();
        self.tc.free_at = vec![NONE; np];
        let pp = self.params.price;
        let [up, down] = [1.0 + pp.growth * dt, 1.0 - pp.decay * dt];
        self.tc.up_down = [up, down];
        self.tc.finite_prices = [pp.cap, up, down].iter().all(|x| x.is_finite())
            && self.providers.iter().all(|p| p.price.is_finite() && p.floor.is_finite());
        self.tc.factor = vec![up; np];
        self.tc.price = self.providers.iter().map(|p| p.price).collect();
        self.tc.floor = self.providers.iter().map(|p| p.floor).collect();
        self.tc.setters = (0..np as u32).filter(|&i| self.providers[i as usize].setter).collect();
        for i in 0..np {
            if self.providers[i].session == NONE {
                self.tc.free_at[i] = self.tc.free.len() as u32;
                self.tc.free.push(i as u32);
                self.tc.factor[i] = down;
            }
        }
        self.tc.run = self.running.iter().map(|&slot| self.run_info(slot, false)).collect();
        self.tc.offers = (0..self.tc.run.len() as u32)
            .filter(|&k| self.tc.theta[self.tc.run[k as usize].kind as usize].is_finite())
            .collect();
        self.tc.ready = true;
        for i in 0..self.providers.len() {
            self.refresh_costs(i);
        }
    }

    /// Reference: what a tick reads of session `slot`'s agents (`new`: it
    /// has not worked yet).
    fn run_info(&self, slot: u32, new: bool) -> RunInfo {
        let s = &self.sessions[slot];
        let kind = self.providers[s.provider as usize].kind as u32;
        let level = self.consumers[s.consumer as usize].level as u32;
        let grid = &self.tc.grid;
        let n = if new && grid.done > 0 { Some(0) } else { grid.ticks_of(s.e, s.l, level) };
        RunInfo { slot, n: n.unwrap_or(OFF_GRID), row: level * grid.e.len() as u32, kind }
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

/// Trace notes of the tick loop.
impl<H: Hooks> EconomicMarket<H> {
    /// Reference: the market after a tick's matching round.
    pub(super) fn note_tick(&self, ctx: &mut Ctx<'_, Ev>) {
        ctx.note(None, || {
            let idle = self.consumers.iter().filter(|c| c.session == NONE).count();
            format!(
                "after the tick: outside index ${:.4}/h; {} session(s) running, {idle} consumer(s) idle",
                self.outside.last(&self.params.outside.index),
                self.running.len()
            )
        });
    }

    /// Reference: trace notes of session `slot` ending this tick, before it
    /// is booked: a completion, or a cancellation with the work the consumer
    /// keeps to its last checkpoint and loses.
    pub(super) fn note_tick_end(&self, slot: u32, end: End, ctx: &mut Ctx<'_, Ev>) {
        if !ctx.tracing() {
            return;
        }
        let s = &self.sessions[slot];
        let (i, j, rate) = (s.provider as usize, s.consumer as usize, s.rate);
        let why = match end {
            End::Done => None,
            End::Personal => Some(self.down_cause(i)),
            End::Profit => Some("takes a better outside offer"),
        };
        let Some(why) = why else {
            let job = self.params.job_hours;
            ctx.note(Some(AgentRef::new("provider", i as u32)), || {
                format!("session {slot} with consumer{j} completes: ${:.4} for {job:.3}h", rate * job)
            });
            ctx.note(Some(AgentRef::new("consumer", j as u32)), || {
                format!("job done on {} (session {slot}): pays ${:.4} for {:.3}h", self.pname(i), rate * s.e, s.e)
            });
            return;
        };
        let (e, kept, kappa) = (s.e, s.l, self.consumers[j].kappa);
        ctx.note(Some(AgentRef::new("provider", i as u32)), || {
            format!("{why}: cancels session {slot} of consumer{j} after {e:.3}h (paid ${:.4})", rate * e)
        });
        ctx.note(Some(AgentRef::new("consumer", j as u32)), || {
            format!(
                "session {slot} on {} cancelled after {e:.3}h ({why}): keeps {kept:.3}h of work to its last checkpoint (every {kappa}h), loses {:.3}h; pays ${:.4}",
                self.pname(i),
                e - kept,
                rate * e
            )
        });
    }
}

#[cfg(test)]
mod tests {
    use super::below;
    use crate::engine::rng::StreamRng;
    use rand::{RngExt, SeedableRng};

    /// `x >> 11 < below(p)` is `random::<f64>() < p` for the same draw:
    /// on draws of a stream, and at the edges (p a multiple of 2^-53 and
    /// its neighbours, 0, 1, beyond, NaN).
    #[test]
    fn below_is_the_float_comparison() {
        let step = 1.0 / (1u64 << 53) as f64;
        let mut ps = vec![0.0, -0.0, -1.0, 1.0, 1.5, f64::INFINITY, f64::NAN, f64::MIN_POSITIVE, 5e-324, step];
        for k in [1u64, 2, 3, 1000, 1 << 40, (1 << 53) - 1] {
            let p = k as f64 * step;
            ps.extend([p, p.next_up(), p.next_down()]);
        }
        ps.extend([0.008, 0.0002, 0.03, 0.5, 0.999_999]);
        let ms = [0u64, 1, 2, 3, 999, 1000, 1001, 1 << 40, (1 << 40) + 1, (1 << 53) - 2, (1 << 53) - 1];
        let mut rng = StreamRng::seed_from_u64(7);
        for &p in &ps {
            let t = below(p);
            for &m in &ms {
                let x = m << 11;
                let u = (x >> 11) as f64 * step;
                assert_eq!(x >> 11 < t, u < p, "p {p:e}, m {m}");
            }
            for _ in 0..2000 {
                let mut a = rng.clone();
                let u: f64 = a.random();
                let x: u64 = rng.random();
                assert_eq!(x >> 11 < t, u < p, "p {p:e}, x {x}");
            }
        }
    }
}
