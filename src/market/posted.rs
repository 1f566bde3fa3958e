//! Posted-price markets: providers of two kinds (datacenters bound by an SLA
//! and cancellable home machines) post prices that rise while busy and decay
//! while idle; consumers take the best reliability-adjusted surplus
//! (docs/models/economic_value.md).

use serde::{Deserialize, Serialize};

/// The two kinds of provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ProviderKind {
    /// A datacenter machine: never cancels for profit; fails rarely.
    Datacenter,
    /// A home machine: its owner reclaims it; cancels for a better offer.
    Home,
}

impl ProviderKind {
    /// `dc` or `home`, as in metric keys.
    pub fn key(self) -> &'static str {
        match self {
            ProviderKind::Datacenter => "dc",
            ProviderKind::Home => "home",
        }
    }
}

/// What a kind of provider costs and how it fails.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProviderParams {
    /// Cost per provided hour, capex + opex ($/h).
    pub cost: f64,
    /// Probability of an hour without a failure / reclaim.
    pub hourly_survival: f64,
    /// Cancel a session when an outside offer reaches this times its rate (inf: never).
    pub cancel_threshold: f64,
    /// Corrected: mean downtime after a failure or reclaim (h).
    pub downtime_mean_hours: f64,
}

impl ProviderParams {
    /// Corrected: hazard rate of a failure or reclaim, `-ln s` per hour.
    pub fn hazard(&self) -> f64 {
        -self.hourly_survival.ln()
    }
    /// Reference: per-tick probability `1 - s^dt`.
    pub fn tick_probability(&self, dt: f64) -> f64 {
        1.0 - self.hourly_survival.powf(dt)
    }
}

/// How posted prices move.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PostedPriceParams {
    /// Initial price = markup x cost.
    pub initial_markup: f64,
    /// Floor = markup x cost.
    pub floor_markup: f64,
    /// Price cap ($/h).
    pub cap: f64,
    /// Growth rate while busy (per hour).
    pub growth: f64,
    /// Decay rate while idle (per hour).
    pub decay: f64,
}

impl PostedPriceParams {
    /// Reference: one tick of `dt` hours; busy grows, idle decays, then the
    /// price is clamped to [floor, cap].
    #[inline]
    pub fn tick(&self, price: f64, busy: bool, floor: f64, dt: f64) -> f64 {
        let p = if busy { price * (1.0 + self.growth * dt) } else { price * (1.0 - self.decay * dt) };
        p.min(self.cap).max(floor)
    }

    /// Corrected: the price of a busy provider `hours` after its session
    /// started at rate `rate`.
    #[inline]
    pub fn busy_price(&self, rate: f64, hours: f64) -> f64 {
        (rate * (self.growth * hours).exp()).min(self.cap)
    }

    /// Corrected: the price of an idle, available provider `hours` after its
    /// idle spell started at `anchor`.
    #[inline]
    pub fn idle_price(&self, anchor: f64, hours: f64, floor: f64) -> f64 {
        (anchor * (-self.decay * hours).exp()).max(floor)
    }

    /// Corrected: hours after the anchor at which an idle price reaches its
    /// floor (0 if it starts at or below it; infinite without decay).
    pub fn hours_to_floor(&self, anchor: f64, floor: f64) -> f64 {
        if anchor <= floor {
            0.0
        } else if self.decay <= 0.0 {
            f64::INFINITY
        } else {
            (anchor / floor).ln() / self.decay
        }
    }
}

/// A consumer's economics at one provider.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct JobQuote {
    /// Expected attempts A.
    pub attempts: f64,
    /// Expected paid hours per job E.
    pub paid_hours: f64,
    /// Willingness to pay per hour w = v J / E.
    pub willingness: f64,
    /// Expected surplus per job J v - price E.
    pub surplus: f64,
}

/// Expected attempts from a completion estimate.
#[inline]
pub fn attempts(q: f64, min_completion: f64, attempts_cap: f64) -> f64 {
    if q > min_completion { 1.0 / q } else { attempts_cap }
}

/// Expected paid hours per job of `job` hours with checkpoints every
/// `checkpoint` hours, `attempts` attempts (kappa/2 lost per failure).
#[inline]
pub fn paid_hours(job: f64, checkpoint: f64, attempts: f64) -> f64 {
    job + (attempts - 1.0) * checkpoint / 2.0
}

/// Economics of a job of value `value`/h at a provider posting `price`.
#[inline]
pub fn job_quote(job: f64, value: f64, checkpoint: f64, attempts: f64, price: f64) -> JobQuote {
    let e = paid_hours(job, checkpoint, attempts);
    JobQuote { attempts, paid_hours: e, willingness: value * job / e, surplus: job * value - price * e }
}

/// Corrected completion estimate with a per-job prior of weight `w0`:
/// `(done + w0 s^J) / (done + cancelled + w0)`.
#[inline]
pub fn completion_with_prior(done: u64, cancelled: u64, hourly_survival: f64, job: f64, w0: f64) -> f64 {
    (done as f64 + w0 * hourly_survival.powf(job)) / ((done + cancelled) as f64 + w0)
}

/// Reference completion estimate: done/(done + cancelled), or the hourly
/// survival before any session has ended (defect kept on purpose).
#[inline]
pub fn completion_reference(done: u64, cancelled: u64, hourly_survival: f64) -> f64 {
    let n = done + cancelled;
    if n == 0 { hourly_survival } else { done as f64 / n as f64 }
}

/// Floor rule of the reference price setter: each consumer's shaded
/// bid for a fresh DC; with fewer DCs than consumers the floor is `margin`
/// times the D-th highest bid.
pub fn setter_floor(
    consumers: &[(f64, f64)],
    dcs: usize,
    job: f64,
    dc_survival: f64,
    shading: f64,
    min_bid: f64,
    margin: f64,
) -> Option<f64> {
    if dcs == 0 || dcs >= consumers.len() {
        return None;
    }
    let mut bids: Vec<f64> = consumers
        .iter()
        .map(|&(v, kappa)| {
            let eta = job / (job + (1.0 / dc_survival - 1.0) * kappa / 2.0);
            (v * eta * shading).max(min_bid)
        })
        .collect();
    bids.sort_by(|a, b| b.total_cmp(a));
    Some(margin * bids[dcs - 1])
}

/// One consumer class for the optimise rule: value, checkpoint, members.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConsumerClass {
    /// Value per hour v.
    pub value: f64,
    /// Checkpoint interval kappa.
    pub checkpoint: f64,
    /// Number of consumers in the class.
    pub members: u64,
}

/// Optimise rule of the corrected price setter: the DC fleet's
/// profit-maximising common price, O(K log K) for K classes.
#[allow(clippy::too_many_arguments)]
pub fn setter_optimise(
    classes: &[ConsumerClass],
    job: f64,
    pooled_attempts: f64,
    dcs_available: u64,
    homes_available: u64,
    dc_cost: f64,
    dc_floor: f64,
    cap: f64,
    margin: f64,
) -> f64 {
    // Reservation price of each class for a DC hour.
    let mut rho: Vec<(f64, u64)> =
        classes.iter().map(|k| (job * k.value / paid_hours(job, k.checkpoint, pooled_attempts), k.members)).collect();
    rho.sort_by(|a, b| b.0.total_cmp(&a.0));
    // N(pi) = members with rho > pi; candidates pi_k = min(cap, max(floor, margin rho_k)).
    let mut best: Option<(f64, f64)> = None; // (profit, price)
    for &(r, _) in &rho {
        let price = (margin * r).max(dc_floor).min(cap);
        let n: u64 = rho.iter().take_while(|x| x.0 > price).map(|x| x.1).sum();
        let q = dcs_available.min(n.saturating_sub(homes_available));
        let profit = (price - dc_cost) * q as f64;
        let better = match best {
            None => true,
            Some((bp, bprice)) => profit > bp || (profit == bp && price > bprice),
        };
        if better {
            best = Some((profit, price));
        }
    }
    match best {
        Some((profit, price)) if profit > 0.0 => price,
        _ => dc_floor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor_worked_value() {
        // Main market: 10 DCs, 30 alternating consumers (v 2, 1), kappa 0.5:
        // F = 0.999 * 0.8 * 2 * eta, about 1.5980.
        let consumers: Vec<(f64, f64)> = (0..30).map(|i| (if i % 2 == 0 { 2.0 } else { 1.0 }, 0.5)).collect();
        let f = setter_floor(&consumers, 10, 2.0, 0.998, 0.8, 0.01, 0.999).unwrap();
        let eta = 2.0 / (2.0 + (1.0 / 0.998 - 1.0) * 0.25);
        assert!((f - 0.999 * 0.8 * 2.0 * eta).abs() < 1e-12);
        assert!((f - 1.5980).abs() < 1e-3);
        assert_eq!(setter_floor(&consumers, 30, 2.0, 0.998, 0.8, 0.01, 0.999), None);
    }

    #[test]
    fn optimise_prices_the_residual() {
        let classes = [
            ConsumerClass { value: 2.0, checkpoint: 0.5, members: 15 },
            ConsumerClass { value: 1.0, checkpoint: 0.5, members: 15 },
        ];
        // No homes: 10 DCs face 30 consumers; serving the 15 high-value ones
        // at ~2.0 beats 10 at the low price.
        let p = setter_optimise(&classes, 2.0, 1.0, 10, 0, 0.5, 0.55, 5.0, 0.999);
        assert!((p - 0.999 * 2.0).abs() < 1e-12, "{p}");
        // 20 homes take the first 20 buyers: 10 left at the low price only.
        let p = setter_optimise(&classes, 2.0, 1.0, 10, 20, 0.5, 0.55, 5.0, 0.999);
        assert!((p - 0.999).abs() < 1e-12, "{p}");
        // 40 homes: no residual demand, the floor.
        let p = setter_optimise(&classes, 2.0, 1.0, 10, 40, 0.5, 0.55, 5.0, 0.999);
        assert_eq!(p, 0.55);
    }

    #[test]
    fn prices_move() {
        let pp = PostedPriceParams { initial_markup: 2.0, floor_markup: 1.1, cap: 5.0, growth: 0.1, decay: 0.3 };
        assert!((pp.tick(1.0, true, 0.5, 0.1) - 1.01).abs() < 1e-15);
        assert!((pp.tick(1.0, false, 0.5, 0.1) - 0.97).abs() < 1e-15);
        assert_eq!(pp.tick(0.5, false, 0.5, 0.1), 0.5);
        let h = pp.hours_to_floor(1.0, 0.5);
        assert!((pp.idle_price(1.0, h, 0.0) - 0.5).abs() < 1e-12);
        assert_eq!(pp.busy_price(4.9, 10.0), 5.0);
    }
}
