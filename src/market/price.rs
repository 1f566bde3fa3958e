//! The market price process.
//!
//! - Reference ("tick"): one Euler step per market tick,
//!   `p <- max(f, p + theta*dt*(mu - p) + sigma*sqrt(dt)*Z)`; the floor is
//!   applied to the state, so the law of the path depends on the step.
//! - Corrected ("continuous"): a latent Ornstein-Uhlenbeck state X sampled
//!   exactly whenever a handler needs the price; agents see `max(f, X)`, and
//!   the floor never feeds back into X.

use crate::engine::SimTime;
use crate::engine::time::ticks_to_hours;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

/// Parameters of the price process.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PriceParams {
    /// Level the price reverts to, mu ($/h).
    pub mean: f64,
    /// Price state at the start of every round, p0.
    pub start: f64,
    /// Mean-reversion rate theta (1/h).
    pub reversion: f64,
    /// Diffusion sigma ($/h/sqrt(h)).
    pub volatility: f64,
    /// Lower bound f of the price agents see.
    pub floor: f64,
}

/// Mean and variance of X(t0 + dt) given X(t0) = x0 under the OU law.
pub fn ou_moments(p: &PriceParams, x0: f64, dt_hours: f64) -> (f64, f64) {
    let th = p.reversion;
    if th == 0.0 {
        return (x0, p.volatility * p.volatility * dt_hours);
    }
    let decay = (-th * dt_hours).exp();
    let var = p.volatility * p.volatility * (1.0 - (-2.0 * th * dt_hours).exp()) / (2.0 * th);
    (p.mean + (x0 - p.mean) * decay, var)
}

/// Exact OU transition: X(t0 + dt) given X(t0) = x0.
#[inline]
pub fn ou_step<R: Rng + ?Sized>(p: &PriceParams, x0: f64, dt_hours: f64, rng: &mut R) -> f64 {
    let (m, v) = ou_moments(p, x0, dt_hours);
    let z: f64 = StandardNormal.sample(rng);
    m + v.sqrt() * z
}

/// The state of the price process.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Price {
    /// Reference: the floored price state, stepped once per tick.
    Tick {
        /// Current price.
        p: f64,
    },
    /// Corrected: latent OU state `x` last sampled at `at`.
    Continuous {
        /// Latent state X.
        x: f64,
        /// Time of the last sample.
        at: SimTime,
    },
}

impl Price {
    /// The state at a round start (`now`).
    pub fn reset(tick: bool, p: &PriceParams, now: SimTime) -> Price {
        if tick { Price::Tick { p: p.start } } else { Price::Continuous { x: p.start, at: now } }
    }

    /// Reference: one Euler step of `dt` hours (call once per tick).
    #[inline]
    pub fn tick<R: Rng + ?Sized>(&mut self, p: &PriceParams, dt: f64, rng: &mut R) -> f64 {
        match self {
            Price::Tick { p: cur } => {
                let z: f64 = StandardNormal.sample(rng);
                *cur = (*cur + p.reversion * dt * (p.mean - *cur) + p.volatility * dt.sqrt() * z).max(p.floor);
                *cur
            }
            Price::Continuous { .. } => panic!("tick() on a continuous price"),
        }
    }

    /// Reference: [`Price::tick`] with its coefficients given, `a` =
    /// reversion x dt and `b` = volatility x sqrt(dt) (the same arithmetic,
    /// for a caller that ticks many times with one dt).
    #[inline]
    pub fn tick_with<R: Rng + ?Sized>(&mut self, p: &PriceParams, a: f64, b: f64, rng: &mut R) -> f64 {
        match self {
            Price::Tick { p: cur } => {
                let z: f64 = StandardNormal.sample(rng);
                *cur = (*cur + a * (p.mean - *cur) + b * z).max(p.floor);
                *cur
            }
            Price::Continuous { .. } => panic!("tick_with() on a continuous price"),
        }
    }

    /// The price agents see at `now`. Continuous: samples X exactly when time
    /// has passed since the last sample (reusing the sample otherwise).
    #[inline]
    pub fn at<R: Rng + ?Sized>(&mut self, p: &PriceParams, now: SimTime, rng: &mut R) -> f64 {
        match self {
            Price::Tick { p: cur } => *cur,
            Price::Continuous { x, at } => {
                if now > *at {
                    *x = ou_step(p, *x, ticks_to_hours(now.since(*at)), rng);
                    *at = now;
                }
                x.max(p.floor)
            }
        }
    }

    /// The price agents see, without sampling (the last value).
    pub fn last(&self, p: &PriceParams) -> f64 {
        match self {
            Price::Tick { p: cur } => *cur,
            Price::Continuous { x, .. } => x.max(p.floor),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn params() -> PriceParams {
        PriceParams { mean: 1.0, start: 1.0, reversion: 0.2, volatility: 0.5, floor: 0.2 }
    }

    /// The sampler: 10^6 draws of X(t0 + dt) from a fixed X(t0);
    /// sample mean and variance within 3 standard errors of the OU moments.
    #[test]
    fn ou_sampler_matches_moments() {
        let p = params();
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(12345);
        for &(x0, dt) in &[(2.0, 0.1), (0.3, 1.0), (1.0, 7.5)] {
            let n = 1_000_000usize;
            let mut sum = 0.0;
            let mut sum2 = 0.0;
            let draws: Vec<f64> = (0..n).map(|_| ou_step(&p, x0, dt, &mut rng)).collect();
            for &x in &draws {
                sum += x;
            }
            let mean = sum / n as f64;
            for &x in &draws {
                sum2 += (x - mean) * (x - mean);
            }
            let var = sum2 / (n as f64 - 1.0);
            let (m, v) = ou_moments(&p, x0, dt);
            let se_mean = (v / n as f64).sqrt();
            let se_var = v * (2.0 / (n as f64 - 1.0)).sqrt();
            assert!((mean - m).abs() < 3.0 * se_mean, "mean {mean} vs {m} (x0 {x0}, dt {dt})");
            assert!((var - v).abs() < 3.0 * se_var, "var {var} vs {v} (x0 {x0}, dt {dt})");
        }
    }

    #[test]
    fn floor_censors_without_feedback() {
        let p = params();
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(1);
        let mut pr = Price::reset(false, &p, SimTime(0));
        let mut t = 0;
        let mut below = 0;
        for _ in 0..10_000 {
            t += 360_000;
            let seen = pr.at(&p, SimTime(t), &mut rng);
            assert!(seen >= p.floor);
            if let Price::Continuous { x, .. } = pr
                && x < p.floor
            {
                below += 1;
            }
        }
        assert!(below > 0, "latent state goes below the floor");
        // Same time: the sample is reused.
        let a = pr.at(&p, SimTime(t), &mut rng);
        let b = pr.at(&p, SimTime(t), &mut rng);
        assert_eq!(a, b);
    }
}
