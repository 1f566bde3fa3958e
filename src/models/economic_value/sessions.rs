//! Sessions: starting one between a free provider and an idle consumer,
//! and booking its end (completed, cancelled, or settled at the horizon)
//! in both agents' books.

use super::{Cons, EconomicMarket, End, Ev, Hooks, MICRO, NONE, Prov, S_ARRIVAL, Sess};
use crate::engine::time::ticks_to_hours;
use crate::engine::{AgentRef, Ctx};

/// Count a session's end: a job done, or a restart for the consumer and a
/// cancellation (personal use or a better offer) for the provider.
fn count_end(p: &mut Prov, c: &mut Cons, end: End) {
    match end {
        End::Done => {
            p.n_done += 1;
            c.jobs += 1;
        }
        End::Personal | End::Profit => {
            if end == End::Personal {
                p.n_personal += 1;
            } else {
                p.n_profit += 1;
            }
            c.restarts += 1;
        }
    }
}

impl<H: Hooks> EconomicMarket<H> {
    /// Start a session between free provider i and idle consumer j at `rate`.
    pub(super) fn start_session(&mut self, i: usize, j: usize, rate: f64, ctx: &mut Ctx<'_, Ev>) {
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
            self.list_running(slot);
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
            format!("rents to consumer{j} (v ${v:.2}/h) at ${rate:.4}/h, session {slot}")
        });
        ctx.note(Some(AgentRef::new("consumer", j as u32)), || {
            format!("rents {} at ${rate:.4}/h, session {slot}", self.pname(i))
        });
        H::on_session_start(self, slot, ctx);
    }

    /// Corrected: book the end of session `slot` (as [`Self::book`]), then
    /// run the hooks' `on_booked` with what was booked.
    pub(super) fn book_hooked(
        &mut self,
        slot: u32,
        end: End,
        e_u: u64,
        horizon: bool,
        ctx: &mut Ctx<'_, Ev>,
    ) -> (usize, usize) {
        if !H::BOOKS {
            return self.book(slot, end, e_u, horizon);
        }
        let s = self.sessions[slot].clone();
        let useful_before = self.consumers[s.consumer as usize].books.corrected.useful;
        let (i, j) = self.book(slot, end, e_u, horizon);
        let b = super::Booked {
            slot,
            provider: i,
            consumer: j,
            rate: s.rate,
            start: s.start,
            e_u,
            kept_u: self.consumers[j].books.corrected.useful - useful_before,
            pay_u: Self::pay_u(s.rate, e_u),
            end,
            horizon,
        };
        H::on_booked(self, &b, ctx);
        (i, j)
    }

    pub(super) fn pay_u(rate: f64, ticks: u64) -> i64 {
        (rate * ticks_to_hours(ticks) * MICRO).round() as i64
    }

    /// Book the end of session `slot` after `e_u` ticks (corrected) or with
    /// its own accumulators (reference), and free both agents.
    /// Returns (provider, consumer).
    pub(super) fn book(&mut self, slot: u32, end: End, e_u: u64, horizon: bool) -> (usize, usize) {
        let s = self.sessions[slot].clone();
        let (i, j) = (s.provider as usize, s.consumer as usize);
        let top = self.consumers[j].top;
        if self.tick_mode() {
            // Completed: the job's hours are sold and kept; cancelled: the
            // hours worked are sold, those up to the last checkpoint kept.
            let (sold, kept) =
                if end == End::Done { (self.params.job_hours, self.params.job_hours) } else { (s.e, s.l) };
            let (p, c) = (&mut self.providers[i], &mut self.consumers[j]);
            let (pb, cb) = (&mut p.books.reference, &mut c.books.reference);
            pb.rev += s.rate * sold;
            pb.hours += sold;
            if top {
                pb.top += sold;
            }
            cb.useful += kept;
            cb.paid += s.e;
            cb.money += s.rate * s.e;
            count_end(p, c, end);
            self.refresh_costs(i);
            self.cache_free(i);
        } else {
            let pay = Self::pay_u(s.rate, e_u);
            let (p, c) = (&mut self.providers[i], &mut self.consumers[j]);
            let (pb, cb) = (&mut p.books.corrected, &mut c.books.corrected);
            pb.rev += pay;
            pb.hours += e_u;
            if top {
                pb.top += e_u;
            }
            cb.paid += e_u;
            cb.money += pay;
            // Settled at the horizon: paid pro rata, nothing counted.
            cb.useful += if horizon || end == End::Done { e_u } else { (e_u / c.kappa_u) * c.kappa_u };
            if !horizon {
                count_end(p, c, end);
            }
        }
        self.providers[i].session = NONE;
        self.consumers[j].session = NONE;
        self.sessions.remove(slot);
        (i, j)
    }

    /// Corrected: cancel session `slot` now (personal use or a better offer).
    pub(super) fn cancel_session(&mut self, slot: u32, end: End, ctx: &mut Ctx<'_, Ev>) -> (usize, usize, f64) {
        let now = ctx.now().ticks();
        let s = self.sessions[slot].clone();
        for id in [s.end_ev, s.offer_ev].into_iter().flatten() {
            ctx.cancel(id);
        }
        let e_u = now - s.start;
        let frozen = self.params.price.busy_price(s.rate, ticks_to_hours(e_u));
        let (i, j) = self.book_hooked(slot, end, e_u, false, ctx);
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
}
