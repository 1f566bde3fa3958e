//! What consumers bid and what they expect a provider to cost.
//!
//! The bidding formulas of the reliability studies; economic_value reuses the
//! completion estimate.

use serde::{Deserialize, Serialize};

/// How a consumer bids (basic and equilibrium).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Bid the market price.
    Naive,
    /// Discount the bid by the expected cost of a cancellation.
    Rational,
}

impl Strategy {
    /// The name used in metric keys.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Naive => "naive",
            Strategy::Rational => "rational",
        }
    }
}

/// Which expected-cost formula basic and equilibrium consumers use (D5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExpectedCost {
    /// The reference's inconsistent pair: bid with lost work at p, rank at the bid.
    Reference,
    /// One consistent cost for both.
    Consistent,
}

/// Estimated probability of a cancel before `work` hours complete:
/// `1 - chat^(work / mean_job)`.
#[inline]
pub fn cancel_probability(chat: f64, work: f64, mean_job: f64) -> f64 {
    1.0 - chat.powf(work / mean_job)
}

/// A consumer's bid and expected cost for one provider.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quote {
    /// Bid rate beta ($/h).
    pub bid: f64,
    /// Expected cost C of finishing the remaining work through this provider.
    pub cost: f64,
}

/// Inputs of a basic/equilibrium quote.
#[derive(Clone, Copy, Debug)]
pub struct QuoteInput {
    /// Market price p.
    pub price: f64,
    /// Estimated cancel probability q of the provider for this work.
    pub q: f64,
    /// Restart cost R ($).
    pub restart_cost: f64,
    /// Checkpoint interval kappa (h).
    pub checkpoint: f64,
    /// Remaining work L (h).
    pub work: f64,
    /// Rational floor rho: a rational bid is at least rho * p.
    pub rational_floor: f64,
}

/// Bid and expected cost of a basic or equilibrium consumer.
#[inline]
pub fn quote(strategy: Strategy, cost: ExpectedCost, x: &QuoteInput) -> Quote {
    let (p, q, r, k, l) = (x.price, x.q, x.restart_cost, x.checkpoint, x.work);
    match cost {
        ExpectedCost::Reference => {
            let bid = match strategy {
                Strategy::Naive => p,
                Strategy::Rational => (p - q * (r + 0.5 * k * p) / l).max(x.rational_floor * p),
            };
            Quote { bid, cost: bid * l + q * (r + 0.5 * k * bid) }
        }
        ExpectedCost::Consistent => {
            let lost = 0.5 * k.min(l);
            let bid = match strategy {
                Strategy::Naive => p,
                Strategy::Rational => (p - q * (r + p * lost) / (l * (1.0 - 0.5 * q))).max(x.rational_floor * p),
            };
            Quote { bid, cost: bid * l * (1.0 - 0.5 * q) + q * (r + p * l * 0.5 + p * lost) }
        }
    }
}

/// A v2 consumer's view of one provider.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct V2Quote {
    /// Expected attempts A.
    pub attempts: f64,
    /// Expected paid hours E_h.
    pub paid_hours: f64,
    /// Willingness to pay W = V * L / E_h (the consumer's limit).
    pub limit: f64,
    /// Bid beta = max(min(p, W), beta_min).
    pub bid: f64,
    /// Expected profit V*L - beta*E_h.
    pub profit: f64,
    /// Whether A hit its cap.
    pub capped: bool,
}

/// Inputs of a v2 quote.
#[derive(Clone, Copy, Debug)]
pub struct V2Input {
    /// Value per useful hour V.
    pub value: f64,
    /// Checkpoint interval kappa (h).
    pub checkpoint: f64,
    /// Remaining work L (h).
    pub work: f64,
    /// Mean job length (exponent scale) D-bar.
    pub mean_job: f64,
    /// Cap on expected attempts.
    pub attempts_cap: f64,
    /// Lower bound of a bid.
    pub bid_min: f64,
}

/// Expected attempts, paid hours, limit, bid and profit of a v2 consumer for
/// a provider with completion estimate `chat` at price `price`.
#[inline]
pub fn v2_quote(x: &V2Input, chat: f64, price: f64) -> V2Quote {
    let cl = chat.powf(x.work / x.mean_job);
    let (attempts, capped) =
        if cl <= 0.0 || 1.0 / cl >= x.attempts_cap { (x.attempts_cap, true) } else { (1.0 / cl, false) };
    let paid_hours = x.work + (attempts - 1.0) * x.checkpoint.min(x.work) * 0.5;
    let eff = x.work / paid_hours;
    let limit = x.value * eff;
    let bid = price.min(limit).max(x.bid_min);
    V2Quote { attempts, paid_hours, limit, bid, profit: x.value * x.work - bid * paid_hours, capped }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(q: f64) -> QuoteInput {
        QuoteInput { price: 1.0, q, restart_cost: 2.0, checkpoint: 1.0, work: 2.0, rational_floor: 0.3 }
    }

    #[test]
    fn reference_rational_prefers_unreliable() {
        // With the floor not binding, the reference cost falls as q rises (D5).
        let a = quote(Strategy::Rational, ExpectedCost::Reference, &input(0.01));
        let b = quote(Strategy::Rational, ExpectedCost::Reference, &input(0.05));
        assert!(b.cost < a.cost);
        assert!(b.bid < a.bid);
        let closed = 1.0 * 2.0 - (1.0 / (2.0 * 2.0)) * 0.05f64.powi(2) * (2.0 + 0.5);
        assert!((b.cost - closed).abs() < 1e-12);
        // Naive cost rises with q.
        let a = quote(Strategy::Naive, ExpectedCost::Reference, &input(0.01));
        let b = quote(Strategy::Naive, ExpectedCost::Reference, &input(0.05));
        assert!(b.cost > a.cost);
    }

    #[test]
    fn consistent_rational_is_indifferent() {
        for q in [0.0, 0.01, 0.1, 0.3] {
            let x = quote(Strategy::Rational, ExpectedCost::Consistent, &input(q));
            assert!((x.cost - 2.0).abs() < 1e-12, "q {q}: cost {}", x.cost);
        }
    }

    #[test]
    fn v2_limits() {
        let x = V2Input { value: 5.0, checkpoint: 2.0, work: 2.0, mean_job: 2.0, attempts_cap: 10.0, bid_min: 0.1 };
        let q = v2_quote(&x, 1.0, 1.2);
        assert_eq!(q.attempts, 1.0);
        assert_eq!(q.limit, 5.0);
        assert_eq!(q.bid, 1.2);
        let q = v2_quote(&x, 0.5, 1.2);
        assert!((q.attempts - 2.0).abs() < 1e-12);
        assert!((q.paid_hours - 3.0).abs() < 1e-12);
        assert!((q.limit - 5.0 * 2.0 / 3.0).abs() < 1e-12);
        let q = v2_quote(&x, 0.0, 1.2);
        assert!(q.capped && q.attempts == 10.0);
        // A limit below the price gives zero profit: not a trade.
        let low = V2Input { value: 0.5, ..x };
        let q = v2_quote(&low, 1.0, 1.2);
        assert!(q.profit <= 1e-9);
    }
}
