//! Sessions: providers and consumers freed into the orders, competing
//! bids, session starts, completions and cancellations, and the corrected
//! fidelity's event handlers (requote, competing bid, session end).

use super::super::config::{BidModel, Fidelity, Priority, Variant};
use super::{Ev, NONE, ReliabilityMarket, S_ARRIVAL, S_PRICE, S_SIZE, Session};
use crate::engine::time::{hours_to_ticks, ticks_to_hours};
use crate::engine::{AgentRef, Ctx};
use rand::RngExt;
use rand_distr::{Distribution, Exp1, StandardNormal};

impl ReliabilityMarket {
    pub(super) fn free_provider(&mut self, i: u32, ctx: &mut Ctx<'_, Ev>) {
        let tie = if self.uses_ties() { Self::new_tie(ctx) } else { 0 };
        let p = &mut self.providers[i as usize];
        p.session = NONE;
        p.tie = tie;
        let chat = p.chat();
        self.idle.insert(i, chat, tie);
    }

    fn free_consumer(&mut self, j: u32) {
        self.consumers[j as usize].session = NONE;
        self.pending.push(j);
    }

    /// Move consumers who started waiting into the waiting order, in list
    /// order (the reference's queue refresh).
    pub(super) fn flush_pending(&mut self, ctx: &mut Ctx<'_, Ev>) {
        if self.pending.is_empty() {
            return;
        }
        let mut pending = std::mem::take(&mut self.pending);
        pending.sort_unstable();
        for &j in &pending {
            let key = match self.params.priority {
                Priority::Bid => {
                    let t = Self::new_tie(ctx);
                    self.consumers[j as usize].tie = t;
                    t
                }
                Priority::ValueSorted => j as u64,
                Priority::Fifo => {
                    self.queue_seq += 1;
                    self.queue_seq
                }
            };
            let c = &self.consumers[j as usize];
            let (group, rem) = (c.group, c.rem);
            let wk = self.work_key(j as usize);
            self.waiting.push(group, wk, rem, key, j);
        }
        pending.clear();
        self.pending = pending;
    }

    pub(super) fn request_match(&mut self, ctx: &mut Ctx<'_, Ev>) {
        if self.match_ev.is_none() {
            self.match_ev = Some(ctx.schedule(ctx.now(), Ev::MatchPass));
        }
    }

    pub(super) fn sample_diag_price(&mut self, p: f64) {
        self.diag.price_samples += 1;
        self.diag.price_sum += p;
        if p < 0.5 {
            self.diag.price_below_half += 1;
        }
    }

    pub(super) fn competing_bid(&self, p: f64, ctx: &mut Ctx<'_, Ev>) -> f64 {
        match self.params.bid_model {
            BidModel::Normal { spread, floor } => {
                let z: f64 = StandardNormal.sample(ctx.rng(S_SIZE));
                (p + spread * p * z).max(floor)
            }
            BidModel::Uniform { lo, hi } => {
                let u: f64 = ctx.rng(S_SIZE).random();
                p * (lo + (hi - lo) * u)
            }
        }
    }

    fn cancels(&self, bid: f64, threshold: f64, rate: f64) -> bool {
        match self.params.variant {
            Variant::V2 => bid >= threshold * rate,
            _ => bid / rate >= threshold,
        }
    }

    /// Corrected: ticks until the next competing bid (Exp(lambda), rounded
    /// up, at least 1).
    fn exp_gap(&self, ctx: &mut Ctx<'_, Ev>) -> u64 {
        if self.params.bid_rate <= 0.0 {
            return u64::MAX;
        }
        let e: f64 = Exp1.sample(ctx.rng(S_ARRIVAL));
        let t = (e / self.params.bid_rate * crate::engine::TICKS_PER_HOUR as f64).ceil();
        if t >= 1e18 { u64::MAX } else { (t as u64).max(1) }
    }

    /// Start a session between idle provider `i` and consumer `j` (already
    /// taken from the waiting order) at `rate`.
    pub(super) fn start_session(&mut self, i: u32, j: u32, rate: f64, ctx: &mut Ctx<'_, Ev>) {
        let now = ctx.now();
        let pr = &self.providers[i as usize];
        let (chat, tie) = (pr.chat(), pr.tie);
        self.idle.remove(i, chat, tie);
        let c = &self.consumers[j as usize];
        let work = c.rem;
        let work_ticks = c.rem_ticks;
        let fresh = if self.tick_mode() { work == self.params.job_hours } else { work_ticks == self.job_ticks };
        self.serial += 1;
        let mut s = Session {
            provider: i,
            consumer: j,
            rate,
            start: now,
            work,
            work_ticks,
            fresh,
            got_bid: false,
            serial: self.serial,
            end_ev: None,
            bid_ev: None,
            start_tick: 0,
            n_ticks: 0,
        };
        self.diag.sessions += 1;
        ctx.mix(((i as u64) << 32) | j as u64);
        ctx.mix_f64(rate);
        let slot;
        if self.tick_mode() {
            let g = self.global_tick(now);
            let n = self.e_tab.iter().position(|&e| e >= work - 1e-9).unwrap_or(self.e_tab.len() - 1) as u32;
            s.start_tick = g;
            s.n_ticks = n.max(1);
            let gap = self.geometric_gap(ctx);
            let due = gap.min(s.n_ticks as u64);
            // Bid trials happen in session ticks 1..n-1 only.
            slot = self.sessions.insert(s);
            let ring_len = self.ring.len() as u64;
            self.ring[((g + due) % ring_len) as usize].push((self.serial, slot));
        } else {
            slot = self.sessions.insert(s);
            let end = ctx.schedule(now.plus(work_ticks), Ev::SessionEnd(slot));
            let gap = self.exp_gap(ctx);
            let bid = if gap < work_ticks { Some(ctx.schedule(now.plus(gap), Ev::CompetingBid(slot))) } else { None };
            let s = &mut self.sessions[slot];
            s.end_ev = Some(end);
            s.bid_ev = bid;
        }
        self.providers[i as usize].session = slot;
        self.consumers[j as usize].session = slot;
        ctx.note(Some(AgentRef::new("provider", i)), || {
            format!("starts session {slot} with consumer{j} at ${rate:.4}/h, work {work:.3}h")
        });
        ctx.note(Some(AgentRef::new("consumer", j)), || {
            format!("starts session {slot} with provider{i} at ${rate:.4}/h")
        });
    }

    /// Settle a completion of session `slot`.
    pub(super) fn complete(&mut self, slot: u32, ctx: &mut Ctx<'_, Ev>) {
        let s = self.sessions[slot].clone();
        let money = s.rate * s.work;
        let (reliable_min, moderate_min) = (self.params.class_reliable_min, self.params.class_moderate_min);
        let p = &mut self.providers[s.provider as usize];
        p.n_comp += 1;
        p.earnings += money;
        p.hours += s.work;
        let threshold = p.threshold;
        let c = &mut self.consumers[s.consumer as usize];
        c.jobs += 1;
        c.paid += money;
        c.paid_hours += s.work;
        c.useful += s.work;
        c.thr_sum += threshold;
        c.thr_n += 1;
        let class = if threshold >= reliable_min {
            0
        } else if threshold >= moderate_min {
            1
        } else {
            2
        };
        c.classes[class] += 1;
        c.rem = self.params.job_hours;
        c.rem_ticks = self.job_ticks;
        self.round_paid += money;
        self.round_earned += money;
        if s.fresh {
            self.diag.fresh_ended += 1;
            self.diag.fresh_bid += s.got_bid as u64;
        }
        ctx.mix(0xC0 ^ slot as u64);
        ctx.note(Some(AgentRef::new("provider", s.provider)), || {
            format!("session {slot} completes: consumer{} pays ${money:.4} for {:.3}h", s.consumer, s.work)
        });
        ctx.note(Some(AgentRef::new("consumer", s.consumer)), || {
            let c = &self.consumers[s.consumer as usize];
            format!(
                "job done in session {slot} with provider{}: pays ${money:.4} for {:.3}h ({} jobs this round)",
                s.provider, s.work, c.jobs
            )
        });
        self.sessions.remove(slot);
        self.free_provider(s.provider, ctx);
        self.free_consumer(s.consumer);
    }

    /// Settle a cancellation of session `slot` after `e` hours with `ckpt`
    /// hours checkpointed (`ckpt_ticks` in corrected fidelity).
    pub(super) fn cancel(&mut self, slot: u32, e: f64, ckpt: f64, ckpt_ticks: u64, bid: f64, ctx: &mut Ctx<'_, Ev>) {
        let s = self.sessions[slot].clone();
        let money = s.rate * e;
        let g = self.consumers[s.consumer as usize].group as usize;
        let kappa = self.params.consumer_groups[g].checkpoint;
        if self.checks && !(e - ckpt >= -1e-9 && e - ckpt < kappa + 1e-9 && e - ckpt <= e + 1e-12) {
            self.violation(|| format!("lost work {} outside [0, kappa={kappa})", e - ckpt));
        }
        let p = &mut self.providers[s.provider as usize];
        p.n_canc += 1;
        p.earnings += money;
        p.hours += e;
        let credit =
            if self.params.resume || (self.params.variant == Variant::V2 && self.tick_mode()) { ckpt } else { 0.0 };
        let resume = self.params.resume;
        let (job_hours, job_ticks) = (self.params.job_hours, self.job_ticks);
        let c = &mut self.consumers[s.consumer as usize];
        c.restarts += 1;
        c.paid += money;
        c.paid_hours += e;
        c.lost += e - ckpt;
        c.useful += credit;
        if resume {
            c.rem -= ckpt;
            c.rem_ticks -= ckpt_ticks;
            if self.params.fidelity == Fidelity::Corrected {
                c.rem = ticks_to_hours(c.rem_ticks);
            }
        } else {
            c.rem = job_hours;
            c.rem_ticks = job_ticks;
        }
        self.round_paid += money;
        self.round_earned += money;
        if s.fresh {
            self.diag.fresh_ended += 1;
            self.diag.fresh_bid += 1;
        }
        ctx.mix(0xCA ^ slot as u64);
        ctx.mix_f64(e);
        ctx.note(Some(AgentRef::new("provider", s.provider)), || {
            format!(
                "cancels session {slot}: competing bid ${bid:.4}/h >= T {:.3} x rate ${:.4}/h; paid ${money:.4} for {e:.3}h",
                self.providers[s.provider as usize].threshold, s.rate
            )
        });
        ctx.note(Some(AgentRef::new("consumer", s.consumer)), || {
            let next = if resume { "resumes from the checkpoint" } else { "restarts the job" };
            format!(
                "session {slot} cancelled by provider{}: pays ${money:.4} for {e:.3}h, loses {:.3}h of work (checkpointed {ckpt:.3}h); {next}",
                s.provider,
                e - ckpt
            )
        });
        self.sessions.remove(slot);
        self.free_provider(s.provider, ctx);
        self.free_consumer(s.consumer);
    }

    /// A competing bid `bid` reaches session `slot`: cancel or keep going.
    /// Returns whether it cancelled.
    pub(super) fn bid_arrives(&mut self, slot: u32, bid: f64) -> bool {
        self.diag.competing_bids += 1;
        let s = &mut self.sessions[slot];
        s.got_bid = true;
        let (rate, provider) = (s.rate, s.provider);
        let t = self.providers[provider as usize].threshold;
        let cancels = self.cancels(bid, t, rate);
        // Every cancel has b' >= T r and every other bid b' < T r (up to the
        // last bit: basic and equilibrium test b'/r >= T).
        let bound = t * rate;
        let consistent = if cancels { bid >= bound * (1.0 - 1e-12) } else { bid < bound * (1.0 + 1e-12) };
        if self.checks && !consistent {
            self.violation(|| format!("cancel decision {cancels} for bid {bid} vs T {t} x r {rate}"));
        }
        cancels
    }

    /// Corrected: the periodic requote samples the price and asks for a match.
    pub(super) fn on_requote(&mut self, ctx: &mut Ctx<'_, Ev>) {
        let now = ctx.now();
        let p = self.price.at(&self.params.price, now, ctx.rng(S_PRICE));
        self.sample_diag_price(p);
        self.requote_ev = None;
        ctx.note(None, || format!("price re-quoted at ${p:.4}/h; a match pass follows"));
        let rq = hours_to_ticks(self.params.requote_hours).max(1);
        let end = self.round_start.plus(self.round_ticks());
        if now.plus(rq) < end {
            self.requote_ev = Some(ctx.schedule(now.plus(rq), Ev::Requote));
        }
        self.request_match(ctx);
    }

    /// Corrected: a competing bid reaches session `slot`; on a cancel the
    /// work since the last checkpoint is lost, otherwise the next bid is
    /// scheduled.
    pub(super) fn on_competing_bid(&mut self, slot: u32, ctx: &mut Ctx<'_, Ev>) {
        let now = ctx.now();
        let p = self.price.at(&self.params.price, now, ctx.rng(S_PRICE));
        let bid = self.competing_bid(p, ctx);
        self.sessions[slot].bid_ev = None;
        if self.bid_arrives(slot, bid) {
            let s = &self.sessions[slot];
            let e_ticks = now.since(s.start);
            let g = self.consumers[s.consumer as usize].group as usize;
            let k = self.kappa_ticks[g];
            let l_ticks = (e_ticks / k) * k;
            if let Some(id) = s.end_ev {
                ctx.cancel(id);
            }
            self.cancel(slot, ticks_to_hours(e_ticks), ticks_to_hours(l_ticks), l_ticks, bid, ctx);
            self.request_match(ctx);
        } else {
            let s = &self.sessions[slot];
            let end = s.start.plus(s.work_ticks);
            let (provider, rate, t) = (s.provider, s.rate, self.providers[s.provider as usize].threshold);
            ctx.note(Some(AgentRef::new("provider", provider)), || {
                format!("ignores a competing bid of ${bid:.4}/h (< T {t:.3} x rate ${rate:.4}/h)")
            });
            let gap = self.exp_gap(ctx);
            if now.plus(gap) < end {
                self.sessions[slot].bid_ev = Some(ctx.schedule(now.plus(gap), Ev::CompetingBid(slot)));
            }
        }
    }

    /// Corrected: session `slot` completes its work.
    pub(super) fn on_session_end(&mut self, slot: u32, ctx: &mut Ctx<'_, Ev>) {
        if let Some(id) = self.sessions[slot].bid_ev.take() {
            ctx.cancel(id);
        }
        self.complete(slot, ctx);
        self.request_match(ctx);
    }
}
