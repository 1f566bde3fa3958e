//! The trust engine's scale workload, for benches: N identities (half
//! providers, half consumers), a daily solve over `days` days. Each day each
//! provider transacts with probability 0.3 with a uniformly chosen consumer
//! at (2, 4, vs = unif(0.8, 1)); 0.02·N praise attempts between random
//! pairs; one local-trust query between a random observer and subject.

use super::{Ident, Rules, SolveStats, TrustEngine, TrustParams};
use rand::{RngExt, SeedableRng};

/// What a scale run did.
#[derive(Clone, Debug, PartialEq)]
pub struct ScaleSummary {
    /// Transactions recorded.
    pub transactions: usize,
    /// Praise attempts accepted.
    pub praise_accepted: usize,
    /// Sum of the daily local-trust results (finite ones).
    pub local_sum: f64,
    /// Sum of the final trust values.
    pub trust_sum: f64,
    /// Solver counters.
    pub stats: SolveStats,
}

/// Run the workload with `n` identities for `days` days under `rules`.
pub fn scale_run(n: usize, days: u32, seed: u64, rules: Rules) -> ScaleSummary {
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
    let mut e = TrustEngine::new(TrustParams::default(), rules).expect("default parameters are valid");
    let providers = n / 2;
    for i in 0..n {
        e.create_identity(&format!("i{i}"));
    }
    let consumers = n - providers;
    let praise = (0.02 * n as f64).round() as usize;
    let (mut praise_accepted, mut local_sum) = (0, 0.0);
    for d in 1..=days {
        e.set_day(d).expect("days move forward");
        for p in 0..providers {
            if rng.random::<f64>() < 0.3 {
                let c = providers + rng.random_range(0..consumers);
                let vs = 0.8 + 0.2 * rng.random::<f64>();
                e.add_transaction(Ident(c as u32), Ident(p as u32), 2.0, 4.0, vs).expect("valid transaction");
            }
        }
        for _ in 0..praise {
            let a = rng.random_range(0..n) as u32;
            let s = rng.random_range(0..n) as u32;
            if e.add_assertion(Ident(a), Ident(s), 0.9, "EXCELLENT_SERVICE", true).expect("valid assertion") {
                praise_accepted += 1;
            }
        }
        let o = rng.random_range(0..n) as u32;
        let s = rng.random_range(0..n) as u32;
        let l = e.local_trust(Ident(o), Ident(s)).expect("valid identities");
        if l.is_finite() {
            local_sum += l;
        }
        e.solve();
        e.build_edge_snapshot();
    }
    ScaleSummary {
        transactions: e.transactions().len(),
        praise_accepted,
        local_sum,
        trust_sum: e.trusts().iter().sum(),
        stats: e.stats(),
    }
}

/// The history side of the same workload, for the benches of the lookups
/// it makes: the same transactions and praise attempts day by day (the same
/// random draws, the local-trust pair aside), without solves and local-trust
/// queries. Returns (transactions recorded, praise attempts accepted).
pub fn history_run(n: usize, days: u32, seed: u64, rules: Rules) -> (usize, usize) {
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
    let mut e = TrustEngine::new(TrustParams::default(), rules).expect("default parameters are valid");
    let providers = n / 2;
    for i in 0..n {
        e.create_identity(&format!("i{i}"));
    }
    let consumers = n - providers;
    let praise = (0.02 * n as f64).round() as usize;
    let mut praise_accepted = 0;
    for d in 1..=days {
        e.set_day(d).expect("days move forward");
        for p in 0..providers {
            if rng.random::<f64>() < 0.3 {
                let c = providers + rng.random_range(0..consumers);
                let vs = 0.8 + 0.2 * rng.random::<f64>();
                e.add_transaction(Ident(c as u32), Ident(p as u32), 2.0, 4.0, vs).expect("valid transaction");
            }
        }
        for _ in 0..praise {
            let a = rng.random_range(0..n) as u32;
            let s = rng.random_range(0..n) as u32;
            if e.add_assertion(Ident(a), Ident(s), 0.9, "EXCELLENT_SERVICE", true).expect("valid assertion") {
                praise_accepted += 1;
            }
        }
        let _ = (rng.random_range(0..n), rng.random_range(0..n));
    }
    (e.transactions().len(), praise_accepted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_scale_run() {
        let a = scale_run(200, 60, 1, Rules::CORRECTED);
        assert_eq!(a, scale_run(200, 60, 1, Rules::CORRECTED), "deterministic");
        // 100 providers x 0.3 x 60 days.
        assert!((1500..2100).contains(&a.transactions), "{}", a.transactions);
        assert_eq!(a.stats.solves, 60);
        assert_eq!(a.stats.nonconverged, 0);
        assert!(a.trust_sum > 0.0);
        let u = scale_run(200, 60, 1, Rules::REFERENCE);
        assert!(u.praise_accepted > 200, "unchecked praise is always accepted: {}", u.praise_accepted);
        assert!(a.praise_accepted < u.praise_accepted);
        assert_eq!(history_run(200, 60, 1, Rules::CORRECTED), (a.transactions, a.praise_accepted), "same draws");
    }
}
