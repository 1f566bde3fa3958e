//! The corrected fidelity's events (docs/models/economic_value.md, Events): sessions
//! end when their job is done; outside offers reach busy homes; providers
//! fail or are reclaimed and come back; idle prices decay to their floor;
//! the DC fleet's price is re-solved; the market is sampled. Each event that
//! frees or takes a provider or consumer runs a matching round.

use super::{Avail, EconomicMarket, End, Ev, NONE, S_ARRIVAL, S_DOWN, S_INDEX, S_OFFER, S_OUTSIDE, S_PERSONAL};
use crate::engine::time::hours_to_ticks;
use crate::engine::{AgentRef, Ctx, SimTime};
use rand::RngExt;

impl EconomicMarket {
    /// SessionEnd: the job is done; both agents are free again.
    pub(super) fn on_session_end(&mut self, slot: u32, ctx: &mut Ctx<'_, Ev>) {
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

    /// OutsideOffer: a busy home sees an outside offer; it cancels its
    /// session for it when the offer reaches its threshold times the
    /// session's rate, else waits for the next offer.
    pub(super) fn on_outside_offer(&mut self, slot: u32, ctx: &mut Ctx<'_, Ev>) {
        let now = ctx.now().ticks();
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

    /// DowntimeStart: provider p fails (DC) or its owner reclaims it (home);
    /// its session, if any, is cancelled and its price frozen until it is
    /// back.
    pub(super) fn on_downtime_start(&mut self, p: u32, ctx: &mut Ctx<'_, Ev>) {
        let now = ctx.now().ticks();
        let i = p as usize;
        self.providers[i].down_ev = None;
        let frozen = if self.providers[i].session != NONE {
            let slot = self.providers[i].session;
            let (_, j, frozen) = self.cancel_session(slot, End::Personal, ctx);
            ctx.note(Some(AgentRef::new("provider", p)), || format!("down: session {slot} of consumer {j} cancelled"));
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

    /// DowntimeEnd / OutsideEnd (`outside`): provider p is available again
    /// (after an outside session, with its earnings booked), idle at its
    /// frozen price, with its next downtime drawn.
    pub(super) fn on_back(&mut self, p: u32, outside: bool, ctx: &mut Ctx<'_, Ev>) {
        let now = ctx.now().ticks();
        let i = p as usize;
        if outside {
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

    /// FloorReached: idle provider p's decaying price is at its floor; it
    /// moves to the floor index.
    pub(super) fn on_floor_reached(&mut self, p: u32, ctx: &mut Ctx<'_, Ev>) {
        let now = ctx.now().ticks();
        let i = p as usize;
        self.providers[i].floor_ev = None;
        self.unindex_provider(i, ctx);
        let pr = &mut self.providers[i];
        pr.price = pr.floor;
        pr.anchor_t = now;
        self.index_provider(i, ctx);
        self.schedule_crossing(ctx);
    }

    /// PriceSetterSolve: re-solve the DC fleet's price, and again after the
    /// re-solve interval.
    pub(super) fn on_setter_solve(&mut self, ctx: &mut Ctx<'_, Ev>) {
        let now = ctx.now().ticks();
        self.resolve_setter(ctx);
        let at = now + hours_to_ticks(self.params.setter.resolve_hours).max(1);
        self.solve_ev = self.sched(ctx, at, Ev::PriceSetterSolve);
        self.round(ctx);
    }

    /// Sample: record the market, and again after the sample interval.
    pub(super) fn on_sample(&mut self, ctx: &mut Ctx<'_, Ev>) {
        let now = ctx.now().ticks();
        self.sample(now);
        let at = now + hours_to_ticks(self.params.sample_hours).max(1);
        self.sample_ev = self.sched(ctx, at, Ev::Sample);
    }

    pub(super) fn schedule_downtime(&mut self, i: usize, ctx: &mut Ctx<'_, Ev>) {
        let hazard = self.pp(i).hazard();
        let now = ctx.now().ticks();
        self.providers[i].down_ev = if hazard > 0.0 {
            let gap = Self::exp_ticks(ctx, S_PERSONAL, 1.0 / hazard);
            self.sched(ctx, now.saturating_add(gap), Ev::DowntimeStart(i as u32))
        } else {
            None
        };
    }
}
