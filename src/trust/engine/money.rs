//! Money-side readers: payment share, escrow, transfers and
//! their burns, runway and the hoarding penalty.

use super::*;

impl TrustEngine {
    /// Payment share s(T).
    pub fn payment_share(&self, trust: f64) -> f64 {
        math::payment_share(&self.params, trust)
    }

    /// Escrow delay in days for value `v` to an identity with trust `t`.
    pub fn escrow_delay(&self, trust: f64, value: f64) -> f64 {
        math::escrow_delay(&self.params, trust, value)
    }

    /// Transfer `amount` from `sender` to `receiver`, burning 1/(1 +
    /// K_tr·min(T_s, T_r)) of it (stored trust).
    pub fn transfer(&mut self, sender: Ident, receiver: Ident, amount: f64) -> Result<TransferOutcome, TrustError> {
        self.check(sender)?;
        self.check(receiver)?;
        finite("amount", amount)?;
        let t = self.ids[sender.idx()].trust.min(self.ids[receiver.idx()].trust);
        let r = 1.0 / (1.0 + self.params.k_transfer * t);
        let burned = amount * r;
        let received = amount - burned;
        let s = &mut self.ids[sender.idx()];
        s.balance -= amount;
        s.total_spent += amount;
        let d = &mut self.ids[receiver.idx()];
        d.balance += received;
        d.total_earned += received;
        Ok(TransferOutcome { received, burned })
    }

    /// Runway in days: balance over the mean daily consumer outflow (Σ rw·dur
    /// of consumer transactions within the outflow window); +∞ with none.
    pub fn runway(&self, i: Ident) -> f64 {
        let x = &self.ids[i.idx()];
        let w = self.params.outflow_window;
        let mut out = 0.0;
        for &k in x.consumer_txs.iter().rev() {
            let tx = &self.txs[k as usize];
            if f64::from(self.day - tx.day) > w {
                break;
            }
            out += tx.rw * tx.dur;
        }
        if out > 0.0 { x.balance / (out / w) } else { f64::INFINITY }
    }

    /// Hoarding penalty.
    pub fn hoarding_penalty(&self, i: Ident) -> f64 {
        let p = &self.params;
        let x = &self.ids[i.idx()];
        let age = f64::from(self.day - x.created);
        if age < p.hoarding_min_age || x.total_earned < p.min_volume_for_hoarding {
            return 0.0;
        }
        let runway = self.runway(i);
        if runway <= p.runway_threshold { 0.0 } else { p.hoarding_penalty_weight * (runway / p.runway_threshold).ln() }
    }

    /// Trust after the hoarding penalty: T/(1 + penalty), 0 for an infinite
    /// runway.
    pub fn effective_trust(&self, i: Ident) -> f64 {
        let h = self.hoarding_penalty(i);
        if h.is_infinite() { 0.0 } else { self.ids[i.idx()].trust / (1.0 + h) }
    }
}
