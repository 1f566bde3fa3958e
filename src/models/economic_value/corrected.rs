//! The corrected fidelity's events (docs/models/economic_value.md, Events): sessions
//! end when their job is done; outside offers reach busy homes; providers
//! fail or are reclaimed and come back; idle prices decay to their floor;
//! the DC fleet's price is re-solved; the market is sampled. Each event that
//! frees or takes a provider or consumer runs a matching round.

use super::{
    Avail, EconomicMarket, End, Ev, Hooks, MICRO, NONE, S_ARRIVAL, S_DOWN, S_INDEX, S_OFFER, S_OUTSIDE, S_PERSONAL,
};
use crate::engine::time::{hours_to_ticks, ticks_to_hours};
use crate::engine::{AgentRef, Ctx, SimTime};
use crate::market::posted::ProviderKind;
use rand::RngExt;

impl<H: Hooks> EconomicMarket<H> {
    /// SessionEnd: the job is done; both agents are free again.
    pub(super) fn on_session_end(&mut self, slot: u32, ctx: &mut Ctx<'_, Ev>) {
        let s = self.sessions[slot].clone();
        if let Some(id) = s.offer_ev {
            ctx.cancel(id);
        }
        let rate = s.rate;
        let (i, j) = self.book_hooked(slot, End::Done, self.job_u, false, ctx);
        let (pay, hours) = (Self::pay_u(rate, self.job_u) as f64 / MICRO, self.params.job_hours);
        ctx.note(Some(AgentRef::new("provider", i as u32)), || {
            format!("session {slot} with consumer{j} completes at ${rate:.4}/h: ${pay:.4} for {hours:.3}h")
        });
        ctx.note(Some(AgentRef::new("consumer", j as u32)), || {
            let c = &self.consumers[j];
            format!(
                "job done on {} (session {slot}): pays ${pay:.4} for {hours:.3}h; jobs so far: {}",
                self.pname(i),
                c.jobs
            )
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
            self.note_cancel(slot, &format!("takes an outside offer of ${b:.4}/h >= {theta} x ${rate:.4}/h"), ctx);
            let (_, _, frozen) = self.cancel_session(slot, End::Profit, ctx);
            let gap = Self::exp_ticks(ctx, S_OUTSIDE, o.session_mean_hours);
            let p = &mut self.providers[i];
            p.avail = Avail::Outside;
            p.price = frozen;
            p.out_rate = b;
            p.out_start = now;
            self.sched(ctx, now.saturating_add(gap), Ev::OutsideEnd(i as u32));
            ctx.note(Some(AgentRef::new("provider", i as u32)), || {
                format!(
                    "in an outside session at ${b:.4}/h for {:.3}h, its price frozen at ${frozen:.4}/h",
                    ticks_to_hours(gap)
                )
            });
            self.round(ctx);
        } else {
            let gap = Self::exp_ticks(ctx, S_ARRIVAL, 1.0 / o.offer_rate);
            if now + gap < start + self.job_u {
                let id = self.sched(ctx, now + gap, Ev::OutsideOffer(slot));
                self.sessions[slot].offer_ev = id;
            }
            ctx.note(Some(AgentRef::new("provider", i as u32)), || {
                format!("ignores an outside offer of ${b:.4}/h (< {theta} x ${rate:.4}/h)")
            });
        }
    }

    /// DowntimeStart: provider p fails (DC) or its owner reclaims it (home);
    /// its session, if any, is cancelled and its price frozen until it is
    /// back.
    pub(super) fn on_downtime_start(&mut self, p: u32, ctx: &mut Ctx<'_, Ev>) {
        let now = ctx.now().ticks();
        let i = p as usize;
        self.providers[i].down_ev = None;
        let why = self.down_cause(i);
        let frozen = if self.providers[i].session != NONE {
            let slot = self.providers[i].session;
            self.note_cancel(slot, why, ctx);
            let (_, _, frozen) = self.cancel_session(slot, End::Personal, ctx);
            frozen
        } else {
            let price = self.posted_price(i, now);
            self.unindex_provider(i, ctx);
            ctx.note(Some(AgentRef::new("provider", p)), || format!("{why} while idle"));
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
        let price = self.providers[i].price;
        ctx.note(Some(AgentRef::new("provider", p)), || {
            format!("down for {:.3}h, its price frozen at ${price:.4}/h", ticks_to_hours(gap))
        });
        self.round(ctx);
    }

    /// Why provider i goes down: a DC's hardware fails, a home's owner
    /// reclaims the machine.
    pub(super) fn down_cause(&self, i: usize) -> &'static str {
        match self.providers[i].kind {
            ProviderKind::Datacenter => "hardware failure",
            ProviderKind::Home => "its owner reclaims the machine",
        }
    }

    /// Trace notes of the cancellation of session `slot` now, before it is
    /// booked: the provider's side and the consumer's (the work it keeps up
    /// to its last checkpoint, the work it loses, what it pays).
    fn note_cancel(&self, slot: u32, why: &str, ctx: &mut Ctx<'_, Ev>) {
        if !ctx.tracing() {
            return;
        }
        let s = &self.sessions[slot];
        let (i, j) = (s.provider as usize, s.consumer as usize);
        let e_u = ctx.now().ticks() - s.start;
        let c = &self.consumers[j];
        let kept_u = (e_u / c.kappa_u) * c.kappa_u;
        let (e, kept, lost) = (ticks_to_hours(e_u), ticks_to_hours(kept_u), ticks_to_hours(e_u - kept_u));
        let pay = Self::pay_u(s.rate, e_u) as f64 / MICRO;
        let kappa = c.kappa;
        ctx.note(Some(AgentRef::new("provider", i as u32)), || {
            format!("{why}: cancels session {slot} of consumer{j} after {e:.3}h (paid ${pay:.4})")
        });
        ctx.note(Some(AgentRef::new("consumer", j as u32)), || {
            format!(
                "session {slot} on {} cancelled after {e:.3}h ({why}): keeps {kept:.3}h of work to its last checkpoint (every {kappa}h), loses {lost:.3}h; pays ${pay:.4}",
                self.pname(i)
            )
        });
    }

    /// PriceCrossing: an idle price fell far enough for some idle consumer;
    /// a matching round.
    pub(super) fn on_price_crossing(&mut self, ctx: &mut Ctx<'_, Ev>) {
        self.crossing_ev = None;
        let before = self.serial;
        self.round(ctx);
        let started = self.serial - before;
        ctx.note(None, || {
            format!(
                "a falling idle price reached an idle consumer's reservation: matching started {started} session(s)"
            )
        });
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
        let why = match self.providers[i].kind {
            _ if outside => "its outside session",
            ProviderKind::Datacenter => "its hardware repair",
            ProviderKind::Home => "its owner's use",
        };
        ctx.note(Some(AgentRef::new("provider", p)), || {
            let pr = &self.providers[i];
            let earned = if outside {
                format!(
                    " (outside so far: ${:.4} over {:.3}h)",
                    pr.out_rev_u as f64 / MICRO,
                    ticks_to_hours(pr.out_hours_u)
                )
            } else {
                String::new()
            };
            format!("back from {why}{earned}; available and idle at ${anchor:.4}/h")
        });
        self.provider_idle(i, anchor, ctx);
        self.schedule_downtime(i, ctx);
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
        let floor = pr.floor;
        ctx.note(Some(AgentRef::new("provider", p)), || format!("idle price decays to its floor ${floor:.4}/h"));
        self.index_provider(i, ctx);
        self.schedule_crossing(ctx);
    }

    /// PriceSetterSolve: re-solve the DC fleet's price, and again after the
    /// re-solve interval.
    pub(super) fn on_setter_solve(&mut self, ctx: &mut Ctx<'_, Ev>) {
        let now = ctx.now().ticks();
        let old = self.pstar;
        self.resolve_setter(ctx);
        if ctx.tracing() && self.pstar != old {
            let new = self.pstar;
            for (i, p) in self.providers.iter().enumerate().filter(|(_, p)| p.setter) {
                let busy = if p.session != NONE { " (its running session keeps its rate)" } else { "" };
                ctx.note(Some(AgentRef::new("provider", i as u32)), || {
                    format!("posts the DC fleet price ${new:.4}/h (was ${old:.4}/h){busy}")
                });
            }
        }
        let at = now + hours_to_ticks(self.params.setter.resolve_hours).max(1);
        self.solve_ev = self.sched(ctx, at, Ev::PriceSetterSolve);
        self.round(ctx);
    }

    /// Sample: record the market, and again after the sample interval.
    pub(super) fn on_sample(&mut self, ctx: &mut Ctx<'_, Ev>) {
        let now = ctx.now().ticks();
        self.sample(now);
        if let Some(&[h, dcs, homes, idle, dc_price, home_price, index]) = self.samples.last() {
            ctx.note(None, || {
                let price = |x: f64| if x.is_nan() { "none".to_string() } else { format!("${x:.4}/h") };
                format!(
                    "sample at {h:.3}h of the leg: {dcs} DCs and {homes} homes busy, {idle} consumers idle; mean posted price DC {}, home {}; outside index ${index:.4}/h",
                    price(dc_price),
                    price(home_price)
                )
            });
        }
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
