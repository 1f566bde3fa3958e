//! Rounds: start (reset and, in basic, a fresh population), end (settle,
//! record) and the threshold adaptation between rounds.

use super::super::config::{ProviderSetup, ThresholdUpdate, Variant};
use super::{Ev, NONE, ReliabilityMarket, RoundRecord, S_ADAPT, population};
use crate::engine::time::{hours_to_ticks, ticks_to_hours};
use crate::engine::{AgentRef, Ctx};
use crate::market::price::Price;
use rand_distr::{Distribution, StandardNormal};

impl ReliabilityMarket {
    pub(super) fn on_round_start(&mut self, r: u32, ctx: &mut Ctx<'_, Ev>) {
        let now = ctx.now();
        self.round = r;
        self.in_round = true;
        self.round_start = now;
        if self.params.variant == Variant::Basic {
            let it = r % self.params.iterations.max(1);
            self.strategy = self.params.strategies[(r / self.params.iterations.max(1)) as usize];
            // Same random numbers for both strategies.
            ctx.rngs().reseed_all(it as u64);
            let (providers, consumers) = population(&self.params);
            self.providers = providers;
            self.consumers = consumers;
        }
        for p in &mut self.providers {
            p.reset();
        }
        let (jh, jt) = (self.params.job_hours, self.job_ticks);
        for c in &mut self.consumers {
            c.reset(jh, jt);
        }
        self.sessions.clear();
        self.ring.iter_mut().for_each(Vec::clear);
        self.idle.clear();
        self.waiting.clear();
        self.pending.clear();
        self.round_paid = 0.0;
        self.round_earned = 0.0;
        self.choice = [0; 3];
        self.price = Price::reset(self.tick_mode(), &self.params.price, now);
        for i in 0..self.providers.len() as u32 {
            self.free_provider(i, ctx);
        }
        for j in 0..self.consumers.len() as u32 {
            self.pending.push(j);
        }
        self.flush_pending(ctx);
        ctx.note(None, || format!("round {r} starts (strategy {})", self.strategy.name()));
        if ctx.tracing() {
            for (i, p) in self.providers.iter().enumerate() {
                ctx.note(Some(AgentRef::new("provider", i as u32)), || {
                    format!("idle, threshold {:.4}; counters reset", p.threshold)
                });
            }
            for (j, c) in self.consumers.iter().enumerate() {
                ctx.note(Some(AgentRef::new("consumer", j as u32)), || {
                    format!("waits with a fresh {:.3}h job; counters reset", c.rem)
                });
            }
        }
        let end = now.plus(self.round_ticks());
        if self.tick_mode() {
            ctx.schedule(now.plus(self.dt_ticks), Ev::Tick(1));
        } else {
            let rq = hours_to_ticks(self.params.requote_hours).max(1);
            if now.plus(rq) < end {
                self.requote_ev = Some(ctx.schedule(now.plus(rq), Ev::Requote));
            }
            ctx.schedule(end, Ev::RoundEnd(r));
            self.request_match(ctx);
        }
    }

    pub(super) fn on_round_end(&mut self, r: u32, ctx: &mut Ctx<'_, Ev>) {
        let now = ctx.now();
        self.in_round = false;
        if !self.tick_mode() {
            // Complete sessions ending now, then settle the rest pro rata.
            let mut running: Vec<(u64, u32)> = self.sessions.iter().map(|(k, s)| (s.serial, k)).collect();
            running.sort_unstable();
            for &(_, slot) in &running {
                let s = self.sessions[slot].clone();
                if let Some(id) = s.end_ev {
                    ctx.cancel(id);
                }
                if let Some(id) = s.bid_ev {
                    ctx.cancel(id);
                }
                if s.start.plus(s.work_ticks) == now {
                    self.complete(slot, ctx);
                } else {
                    let e = ticks_to_hours(now.since(s.start));
                    let money = s.rate * e;
                    let p = &mut self.providers[s.provider as usize];
                    p.earnings += money;
                    p.hours += e;
                    let c = &mut self.consumers[s.consumer as usize];
                    c.paid += money;
                    c.paid_hours += e;
                    c.useful += e;
                    self.round_paid += money;
                    self.round_earned += money;
                    ctx.note(Some(AgentRef::new("provider", s.provider)), || {
                        format!(
                            "session {slot} settled pro rata at the round end: consumer{} pays ${money:.4} for {e:.3}h",
                            s.consumer
                        )
                    });
                    ctx.note(Some(AgentRef::new("consumer", s.consumer)), || {
                        format!("session {slot} with provider{} settled pro rata at the round end: pays ${money:.4} for {e:.3}h, all useful", s.provider)
                    });
                    self.providers[s.provider as usize].session = NONE;
                    self.consumers[s.consumer as usize].session = NONE;
                    self.sessions.remove(slot);
                }
            }
            for id in [self.requote_ev.take(), self.match_ev.take()].into_iter().flatten() {
                ctx.cancel(id);
            }
        } else if self.checks && !self.params.resume {
            let n = self.e_tab.len() as u32 - 1;
            let cap = (self.k_per_round - 1) / n.max(1);
            if let Some(c) = self.consumers.iter().find(|c| c.jobs > cap) {
                let jobs = c.jobs;
                self.violation(|| format!("a consumer finished {jobs} fresh jobs in a round (cap {cap})"));
            }
        }
        self.record_round(r);
        let dropped = self.sessions.len();
        ctx.note(None, || {
            if dropped > 0 {
                format!("round {r} ends; {dropped} running session(s) dropped unpaid")
            } else {
                format!("round {r} ends")
            }
        });
        let total = self.params.total_rounds();
        if r + 1 < total {
            if matches!(self.params.providers, ProviderSetup::Adaptive { .. }) {
                self.adapt(ctx);
            }
            ctx.schedule(now, Ev::RoundStart(r + 1));
        }
    }

    fn record_round(&mut self, r: u32) {
        let total = self.params.total_rounds();
        let keep_consumers = self.params.variant == Variant::Basic || r + 1 == total;
        let iters = self.params.iterations.max(1);
        let (strategy, iteration) =
            if self.params.variant == Variant::Basic { ((r / iters) as u8, r % iters) } else { (0, r) };
        self.records.push(RoundRecord {
            round: r,
            strategy,
            iteration,
            thresholds: self.providers.iter().map(|p| p.threshold).collect(),
            providers: self.providers.iter().map(|p| (p.n_comp, p.n_canc, p.earnings, p.hours)).collect(),
            consumers: if keep_consumers { self.consumers.clone() } else { Vec::new() },
            choice_contested: self.choice[0],
            choice_least: self.choice[1],
            choice_most: self.choice[2],
        });
    }

    /// Threshold adaptation between rounds, O(n log n).
    fn adapt(&mut self, ctx: &mut Ctx<'_, Ev>) {
        let ProviderSetup::Adaptive { rate, follower_noise, leader_noise, margin, min, max, update, .. } =
            self.params.providers.clone()
        else {
            return;
        };
        let n = self.providers.len();
        let pi: Vec<f64> =
            self.providers.iter().map(|p| if p.hours > 0.0 { p.earnings / p.hours } else { 0.0 }).collect();
        // Active providers sorted by earnings per hour.
        let mut order: Vec<u32> = (0..n as u32).filter(|&i| self.providers[i as usize].hours > 0.0).collect();
        order.sort_by(|&a, &b| pi[a as usize].total_cmp(&pi[b as usize]).then(a.cmp(&b)));
        let sorted_pi: Vec<f64> = order.iter().map(|&i| pi[i as usize]).collect();
        let mut pos = vec![usize::MAX; n];
        for (k, &i) in order.iter().enumerate() {
            pos[i as usize] = k;
        }
        // Fenwick tree over sorted positions holding thresholds.
        let m = order.len();
        let mut fen = vec![0.0f64; m + 1];
        let fen_add = |fen: &mut Vec<f64>, k: usize, v: f64| {
            let mut x = k + 1;
            while x <= m {
                fen[x] += v;
                x += x & x.wrapping_neg();
            }
        };
        let fen_prefix = |fen: &Vec<f64>, k: usize| -> f64 {
            // sum of positions [0, k)
            let mut x = k;
            let mut s = 0.0;
            while x > 0 {
                s += fen[x];
                x -= x & x.wrapping_neg();
            }
            s
        };
        for (k, &i) in order.iter().enumerate() {
            fen_add(&mut fen, k, self.providers[i as usize].threshold);
        }
        let total_sum = |fen: &Vec<f64>| fen_prefix(fen, m);
        let mut new_t: Vec<f64> = self.providers.iter().map(|p| p.threshold).collect();
        // Why each threshold moved (traces only): how many earned more, their mean threshold.
        let tracing = ctx.tracing();
        let mut why: Vec<Option<(usize, f64)>> = if tracing { vec![None; n] } else { Vec::new() };
        let before: Vec<f64> = if tracing { self.providers.iter().map(|p| p.threshold).collect() } else { Vec::new() };
        for i in 0..n {
            if self.providers[i].hours <= 0.0 {
                continue;
            }
            let bar = (1.0 + margin) * pi[i];
            // First sorted position with pi > bar.
            let first = sorted_pi.partition_point(|&x| x <= bar);
            let count = m - first;
            let t_old = self.providers[i].threshold;
            let mut t = if count == 0 {
                let z: f64 = if leader_noise > 0.0 { StandardNormal.sample(ctx.rng(S_ADAPT)) } else { 0.0 };
                t_old + leader_noise * z
            } else {
                let sum = total_sum(&fen) - fen_prefix(&fen, first);
                let mean = sum / count as f64;
                if tracing {
                    why[i] = Some((count, mean));
                }
                let z: f64 = if follower_noise > 0.0 { StandardNormal.sample(ctx.rng(S_ADAPT)) } else { 0.0 };
                t_old + rate * (mean - t_old) + follower_noise * z
            };
            t = t.max(min).min(max);
            new_t[i] = t;
            if update == ThresholdUpdate::Sequential {
                fen_add(&mut fen, pos[i], t - t_old);
                self.providers[i].threshold = t;
            }
        }
        for (i, (p, t)) in self.providers.iter_mut().zip(new_t).enumerate() {
            p.threshold = t;
            ctx.mix_f64(t);
            if tracing {
                let (old, pi, hours, why) = (before[i], pi[i], p.hours, why[i]);
                ctx.note(Some(AgentRef::new("provider", i as u32)), || match why {
                    _ if hours <= 0.0 => format!("threshold stays {old:.4} (no hours this round)"),
                    Some((count, mean)) => format!(
                        "threshold {old:.4} -> {t:.4}: earned ${pi:.4}/h, {count} provider(s) earned more (mean threshold {mean:.4})"
                    ),
                    None => format!("threshold {old:.4} -> {t:.4}: earned ${pi:.4}/h, nobody earned more (explores)"),
                });
            }
        }
    }
}
