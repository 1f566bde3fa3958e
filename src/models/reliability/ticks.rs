//! The reference fidelity's tick loop: one `Tick`
//! event per 0.1 h tick with the reference's order of operations, the
//! geometric gaps between competing bids, and the tick grids.

use super::{Ev, ReliabilityMarket, S_ARRIVAL, S_PRICE};
use crate::engine::{AgentRef, Ctx, SimTime};
use rand::RngExt;

impl ReliabilityMarket {
    /// Reference: session ticks until the next successful Bernoulli trial.
    pub(super) fn geometric_gap(&self, ctx: &mut Ctx<'_, Ev>) -> u64 {
        if self.ln_no_bid == 0.0 {
            return u64::MAX;
        }
        if self.ln_no_bid == f64::NEG_INFINITY {
            return 1;
        }
        let u: f64 = 1.0 - ctx.rng(S_ARRIVAL).random::<f64>();
        let failures = (u.ln() / self.ln_no_bid).floor();
        if failures >= 1e18 { u64::MAX } else { failures as u64 + 1 }
    }

    /// Reference: the global tick index of a tick time.
    pub(super) fn global_tick(&self, t: SimTime) -> u64 {
        t.ticks() / self.dt_ticks
    }

    pub(super) fn on_tick(&mut self, k: u32, ctx: &mut Ctx<'_, Ev>) {
        let now = ctx.now();
        let g = self.global_tick(now);
        // 1. price
        let dt = self.params.tick_hours;
        let p = self.price.tick(&self.params.price, dt, ctx.rng(S_PRICE));
        self.sample_diag_price(p);
        ctx.mix_f64(p);
        // 2./3. sessions due this tick, in start order, settled at once.
        let ring_len = self.ring.len() as u64;
        let idx = (g % ring_len) as usize;
        let mut due = std::mem::take(&mut self.ring[idx]);
        due.sort_unstable();
        for &(_, slot) in &due {
            let (start_tick, n, group) = {
                let s = &self.sessions[slot];
                (s.start_tick, s.n_ticks, self.consumers[s.consumer as usize].group)
            };
            let m = (g - start_tick) as u32;
            if m >= n {
                self.complete(slot, ctx);
                continue;
            }
            let bid = self.competing_bid(p, ctx);
            if self.bid_arrives(slot, bid) {
                let e = self.e_tab[m as usize];
                let l = self.ckpt_tab[group as usize][m as usize];
                self.cancel(slot, e, l, 0, bid, ctx);
            } else {
                let s = &self.sessions[slot];
                let (provider, rate, t) = (s.provider, s.rate, self.providers[s.provider as usize].threshold);
                ctx.note(Some(AgentRef::new("provider", provider)), || {
                    format!("ignores a competing bid of ${bid:.4}/h (< T {t:.3} x rate ${rate:.4}/h)")
                });
                let next = (m as u64).saturating_add(self.geometric_gap(ctx)).min(n as u64);
                self.ring[((start_tick + next) % ring_len) as usize].push((self.sessions[slot].serial, slot));
            }
        }
        due.clear();
        if self.ring[idx].is_empty() {
            self.ring[idx] = due;
        }
        // 4./5. queue refresh and match pass.
        let before = self.diag.sessions;
        self.match_pass(p, ctx);
        self.note_market(p, self.diag.sessions - before, ctx);
        if k < self.k_per_round {
            ctx.schedule(now.plus(self.dt_ticks), Ev::Tick(k + 1));
        } else {
            ctx.schedule(now, Ev::RoundEnd(self.round));
        }
    }
}

/// Reference grid of elapsed time: `e[m]` is the f64 sum of `m` additions of
/// `dt` (never `m * dt`), up to the first `m` with `e[m] >= job - 1e-9`, the
/// tick in which a fresh job completes.
pub fn tick_grid(dt: f64, job: f64) -> Vec<f64> {
    let mut e = vec![0.0f64];
    while *e.last().expect("non-empty") < job - 1e-9 {
        let next = e.last().expect("non-empty") + dt;
        e.push(next);
    }
    e
}

/// Checkpointed work after each session tick of `grid`: after every
/// addition, `while l + kappa <= e { l += kappa }`.
pub fn checkpoint_grid(grid: &[f64], kappa: f64) -> Vec<f64> {
    let mut l = 0.0f64;
    grid.iter()
        .map(|&e| {
            while l + kappa <= e {
                l += kappa;
            }
            l
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference grid: a fresh 2 h session lasts
    /// 20 ticks and checkpoints fall in the listed session ticks.
    #[test]
    fn reference_grid() {
        let e = tick_grid(0.1, 2.0);
        assert_eq!(e.len() - 1, 20, "a fresh session completes in its tick 20");
        let ticks = |kappa: f64| -> Vec<usize> {
            let l = checkpoint_grid(&e, kappa);
            (1..l.len()).filter(|&m| l[m] > l[m - 1]).collect()
        };
        assert_eq!(ticks(0.1), (1..=20).collect::<Vec<_>>());
        assert_eq!(ticks(0.25), vec![3, 5, 8, 11, 13, 15, 18, 20]);
        assert_eq!(ticks(0.5), vec![5, 11, 15, 20]);
        assert_eq!(ticks(1.0), vec![11, 20]);
        assert_eq!(ticks(2.0), vec![20]);
    }
}
