//! The closed-form pieces of the trust computation, shared by
//! the engine and its tests.

use super::params::TrustParams;
use serde::{Deserialize, Serialize};

/// e^(−gap/τ): the decay of something `gap` whole days old.
#[inline]
pub fn decay(gap: u32, tau: f64) -> f64 {
    (-f64::from(gap) / tau).exp()
}

/// The age term of an identity `age` days old with multiplier `alpha`,
/// the closed form of Σ_{d=0}^{A−1} K_age·α·(1 − e^(−d/τ_age)).
pub fn age_term(p: &TrustParams, age: u32, alpha: f64) -> f64 {
    if age == 0 {
        return 0.0;
    }
    let a = f64::from(age);
    p.k_age * alpha * (a - (1.0 - decay(age, p.tau_age)) / (1.0 - decay(1, p.tau_age)))
}

/// Credibility of an asserter with trust `t`: ln(1+T)/ln(1+T_ref) for
/// T > 0, else 0.
#[inline]
pub fn credibility(p: &TrustParams, t: f64) -> f64 {
    if t > 0.0 { (1.0 + t).ln() / (1.0 + p.t_reference).ln() } else { 0.0 }
}

/// Payment share s(T) = 1 − 1/(1 + K_pay·T).
#[inline]
pub fn payment_share(p: &TrustParams, t: f64) -> f64 {
    1.0 - 1.0 / (1.0 + p.k_payment * t)
}

/// Escrow delay in days for a value `v` paid to an identity with
/// trust `t`: 0 below V_large, else max(⌊D₀·(1 − min(T/T_fast, 1))⌋, D_min).
pub fn escrow_delay(p: &TrustParams, t: f64, v: f64) -> f64 {
    if v < p.large_threshold {
        return 0.0;
    }
    (p.base_delay * (1.0 - (t / p.trust_for_min_delay).min(1.0))).floor().max(p.min_delay)
}

/// The part of a value released at once.
pub fn immediate_release(p: &TrustParams, v: f64) -> f64 {
    if v < p.large_threshold { v } else { p.immediate_release_fraction * v }
}

/// The credit of one transaction before decay; positive credits are
/// returned without the cluster weight (the caller applies it).
#[inline]
pub fn transaction_credit(p: &TrustParams, rw: f64, dur: f64, vs: f64) -> f64 {
    if vs >= p.fail_threshold {
        p.base_credit * rw * dur * vs
    } else {
        -p.fail_penalty * rw * dur * (p.fail_threshold - vs)
    }
}

/// A sum of terms that all decay as e^(−age/τ), kept as its value at `day`
/// and decayed lazily by the day gap (never by repeated daily products).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Decayed {
    /// Value at `day`.
    pub v: f64,
    /// Day of the value.
    pub day: u32,
}

impl Decayed {
    /// The value at day `t` (>= `day`).
    #[inline]
    pub fn at(&self, t: u32, tau: f64) -> f64 {
        if self.v == 0.0 { 0.0 } else { self.v * decay(t - self.day, tau) }
    }

    /// Add `x` at day `t` (>= `day`).
    #[inline]
    pub fn add(&mut self, t: u32, tau: f64, x: f64) {
        self.v = self.at(t, tau) + x;
        self.day = t;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    /// Worked values of the age term.
    #[test]
    fn age_worked_values() {
        let p = TrustParams::default();
        for (a, want) in [(30, 0.0535928), (90, 0.3050793), (180, 0.7478641555), (210, 0.8976252), (365, 1.6724869)] {
            let got = age_term(&p, a, 0.5);
            assert!(close(got, want, 5e-8), "A={a}: {got} vs {want}");
            assert!(close(age_term(&p, a, 1.0), 2.0 * got, 1e-15));
        }
        assert_eq!(age_term(&p, 0, 1.0), 0.0);
        // The closed form equals the direct sum.
        let direct: f64 = (0..180).map(|d| p.k_age * 0.5 * (1.0 - (-(d as f64) / p.tau_age).exp())).sum();
        assert!(close(age_term(&p, 180, 0.5), direct, 1e-12));
    }

    /// Worked values of the transaction credit.
    #[test]
    fn credit_worked_values() {
        let p = TrustParams::default();
        for (rw, dur, vs, want) in [
            (2.0, 4.0, 0.95, 0.76),
            (2.0, 4.0, 0.98, 0.784),
            (3.0, 8.0, 0.98, 2.352),
            (3.0, 8.0, 0.95, 2.28),
            (2.0, 4.0, 0.4, -1.2),
            (2.0, 4.0, 0.2, -2.0),
            (3.0, 8.0, 0.2, -6.0),
            (3.0, 8.0, 0.1, -7.2),
            (0.5, 1.0, 0.3, -0.1),
            (2.0, 4.0, 0.7, 0.56),
            (2.0, 4.0, 0.6999, -0.0004),
        ] {
            let got = transaction_credit(&p, rw, dur, vs);
            assert!(close(got, want, 1e-12), "({rw},{dur},{vs}): {got} vs {want}");
        }
        let one = transaction_credit(&p, 2.0, 4.0, 0.95) * decay(1, p.tau_transaction);
        assert!(close(one, 0.757920657934, 1e-12), "{one}");
    }

    #[test]
    fn credibility_share_escrow() {
        let p = TrustParams::default();
        assert!(close(credibility(&p, 10.0), 0.5195737, 1e-7));
        assert!(close(credibility(&p, 1000.0), 1.4969825, 1e-7));
        assert_eq!(credibility(&p, 0.0), 0.0);
        assert_eq!(credibility(&p, -3.0), 0.0);
        assert!(close(payment_share(&p, 10.0), 0.5, 1e-15));
        assert!(close(payment_share(&p, 30.0), 0.75, 1e-15));
        assert!(close(payment_share(&p, 100.0), 0.90909, 1e-5));
        let d = |t| escrow_delay(&p, t, 100.0);
        assert_eq!(d(0.0), 7.0);
        assert_eq!(d(0.001), 6.0);
        assert_eq!(d(71.42), 6.0);
        assert_eq!(d(71.43), 5.0);
        assert_eq!(d(142.86), 4.0);
        assert_eq!(d(214.29), 3.0);
        assert_eq!(d(285.71), 3.0);
        assert_eq!(d(285.72), 2.0);
        assert_eq!(d(357.14), 2.0);
        assert_eq!(d(357.15), 1.0);
        assert_eq!(d(10_000.0), 1.0);
        assert_eq!(escrow_delay(&p, 0.0, 99.99), 0.0);
        assert_eq!(immediate_release(&p, 50.0), 50.0);
        assert_eq!(immediate_release(&p, 200.0), 100.0);
    }

    #[test]
    fn lazy_decay_matches_direct_sum() {
        let tau = 365.0;
        let mut s = Decayed::default();
        let mut direct = Vec::new();
        for (day, x) in [(1u32, 0.76), (1, 0.5), (4, 2.0), (30, -1.2), (200, 0.3)] {
            s.add(day, tau, x);
            direct.push((day, x));
        }
        let t = 400;
        let want: f64 = direct.iter().map(|&(d, x)| x * decay(t - d, tau)).sum();
        assert!(close(s.at(t, tau), want, 1e-13));
    }
}
