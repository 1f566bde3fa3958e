//! Observable network metrics: one `DailyMetrics`
//! per day, the trust statistics (mean, median, sample sd, Gini) and the
//! split into trust-side and coin-side fields.

use serde::{Deserialize, Serialize};

/// The four parameters the policy adjusts.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyParams {
    /// Payment-share curve.
    pub k_payment: f64,
    /// Transfer-burn curve.
    pub k_transfer: f64,
    /// Cluster test threshold on the isolation score.
    pub isolation_threshold: f64,
    /// Decay of transaction credit (days).
    pub tau_transaction: f64,
}

impl PolicyParams {
    /// The value of one parameter.
    pub fn get(&self, p: Param) -> f64 {
        match p {
            Param::KPayment => self.k_payment,
            Param::KTransfer => self.k_transfer,
            Param::IsolationThreshold => self.isolation_threshold,
            Param::TauTransaction => self.tau_transaction,
        }
    }

    /// Set one parameter.
    pub fn set(&mut self, p: Param, v: f64) {
        match p {
            Param::KPayment => self.k_payment = v,
            Param::KTransfer => self.k_transfer = v,
            Param::IsolationThreshold => self.isolation_threshold = v,
            Param::TauTransaction => self.tau_transaction = v,
        }
    }
}

/// One adjustable parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Param {
    /// `k_payment` (Rule G).
    KPayment,
    /// `k_transfer` (Rule C).
    KTransfer,
    /// `isolation_threshold` (Rule F).
    IsolationThreshold,
    /// `tau_transaction` (Rule T).
    TauTransaction,
}

impl Param {
    /// All four, in report order.
    pub const ALL: [Param; 4] = [Param::KPayment, Param::KTransfer, Param::IsolationThreshold, Param::TauTransaction];

    /// The key.
    pub fn name(self) -> &'static str {
        match self {
            Param::KPayment => "k_payment",
            Param::KTransfer => "k_transfer",
            Param::IsolationThreshold => "isolation_threshold",
            Param::TauTransaction => "tau_transaction",
        }
    }
}

/// Trust statistics over a set of trust values.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TrustStats {
    /// Number of values.
    pub n: usize,
    /// Σx.
    pub total: f64,
    /// Σx/n (0 if n = 0).
    pub mean: f64,
    /// Largest (0 if n = 0).
    pub max: f64,
    /// Smallest (0 if n = 0).
    pub min: f64,
    /// Middle value (mean of the two middle values for even n).
    pub median: f64,
    /// Sample standard deviation (0 if n ≤ 1).
    pub std: f64,
    /// Gini coefficient (0 if n < 2 or Σx = 0).
    pub gini: f64,
}

/// Gini of values sorted ascending: Σ_k (2k − n − 1)·x₍ₖ₎ / (n·Σx), k = 1..n;
/// 0 if n < 2 or Σx = 0.
pub fn gini_sorted(x: &[f64]) -> f64 {
    let n = x.len();
    let total: f64 = x.iter().sum();
    if n < 2 || total == 0.0 {
        return 0.0;
    }
    let nf = n as f64;
    let mut s = 0.0;
    for (k, &v) in x.iter().enumerate() {
        s += (2.0 * (k + 1) as f64 - nf - 1.0) * v;
    }
    s / (nf * total)
}

/// Statistics of `x` (sorted in place, ascending).
pub fn trust_stats(x: &mut [f64]) -> TrustStats {
    x.sort_by(f64::total_cmp);
    let n = x.len();
    if n == 0 {
        return TrustStats::default();
    }
    let total: f64 = x.iter().sum();
    let mean = total / n as f64;
    let median = if n % 2 == 1 { x[n / 2] } else { (x[n / 2 - 1] + x[n / 2]) / 2.0 };
    let std = if n > 1 {
        let ss: f64 = x.iter().map(|v| (v - mean) * (v - mean)).sum();
        (ss / (n - 1) as f64).sqrt()
    } else {
        0.0
    };
    TrustStats { n, total, mean, max: x[n - 1], min: x[0], median, std, gini: gini_sorted(x) }
}

/// A ratio whose zero denominator gives 0.
#[inline]
pub fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 { 0.0 } else { a / b }
}

macro_rules! daily_metrics {
    ($( $(#[$doc:meta])* $name:ident : $ty:ty, $side:ident; )*) => {
        /// One day's observable metrics, pushed to the policy's history.
        #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
        pub struct DailyMetrics {
            $( $(#[$doc])* pub $name: $ty, )*
            /// The adjustable parameters as left by the policy of the day before.
            pub params: ParamsField,
        }

        impl DailyMetrics {
            /// Field names in CSV order (the four parameters last).
            pub const FIELDS: &'static [&'static str] = &[
                $( stringify!($name), )* "k_payment", "k_transfer", "isolation_threshold", "tau_transaction",
            ];

            /// Values in [`DailyMetrics::FIELDS`] order.
            pub fn values(&self) -> Vec<f64> {
                let p = &self.params.0;
                let mut v = vec![$( self.$name as f64, )*];
                v.extend([p.k_payment, p.k_transfer, p.isolation_threshold, p.tau_transaction]);
                v
            }

            /// Fold every trust-side field into `fp` with `fold`.
            pub fn fold_trust_side(&self, mut fp: u64, fold: impl Fn(u64, u64) -> u64) -> u64 {
                $( if daily_metrics!(@trust $side) { fp = fold(fp, (self.$name as f64).to_bits()); } )*
                fp
            }
        }
    };
    (@trust trust) => { true };
    (@trust coin) => { false };
}

/// The parameter block of a day's metrics (a newtype so the struct can
/// derive `Default`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParamsField(pub PolicyParams);

impl Default for ParamsField {
    fn default() -> Self {
        ParamsField(PolicyParams { k_payment: 0.0, k_transfer: 0.0, isolation_threshold: 0.0, tau_transaction: 0.0 })
    }
}

daily_metrics! {
    /// d.
    day: u32, trust;
    /// N.
    total_identities: u32, trust;
    /// Identities with a purchase (either role) within the activity window.
    active_identities: u32, trust;
    /// Σ trust over the statistics set.
    total_trust: f64, trust;
    /// Mean trust.
    mean_trust: f64, trust;
    /// Largest trust.
    max_trust: f64, trust;
    /// Smallest trust.
    min_trust: f64, trust;
    /// Median trust.
    median_trust: f64, trust;
    /// Sample sd of trust.
    trust_std: f64, trust;
    /// Gini of trust.
    trust_gini: f64, trust;
    /// Purchases today.
    daily_transactions: u32, trust;
    /// Σ P today.
    total_transaction_volume: f64, trust;
    /// Mean P today.
    mean_transaction_value: f64, trust;
    /// Completed / purchases today.
    session_completion_rate: f64, trust;
    /// Passed / sampled today.
    verification_pass_rate: f64, trust;
    /// 1 − pass rate if anything was sampled, else 0.
    verification_failure_rate: f64, trust;
    /// Burns today.
    daily_burn_volume: f64, coin;
    /// The mint that opened the day (0 on day 0).
    daily_mint_volume: f64, coin;
    /// Σ balance.
    total_coin_supply: f64, coin;
    /// Volume / supply.
    coin_velocity: f64, coin;
    /// Hoarders' share (switch `hoarding_metric`).
    hoarding_prevalence: f64, coin;
    /// Share of identities without a purchase in the runway window.
    no_outflow_share: f64, trust;
    /// Identities with w < 1.
    cluster_count: u32, trust;
    /// cluster_count / N.
    cluster_prevalence: f64, trust;
    /// All-time assertions made by today's accepted accusers.
    accusation_count: u32, trust;
    /// accusation_count / purchases today.
    accusation_rate: f64, trust;
    /// Negative assertions accepted today.
    accusations_accepted: u32, trust;
    /// Negative assertions rejected today.
    accusations_rejected: u32, trust;
    /// Purchases sampled today.
    verifications_sampled: u32, trust;
    /// Sampled purchases with v < pass_score.
    verifications_failed: u32, trust;
    /// Sampled today plus scenario extras.
    verifications_originated: u32, trust;
    /// Originated / purchases today.
    verification_origination_rate: f64, trust;
    /// Identities created today.
    new_identities_created: u32, trust;
    /// Never computed: 0.
    anomaly_count: u32, trust;
    /// Never computed: 0.
    new_identity_survival_rate: f64, trust;
    /// Never computed: 0.
    time_to_viable_trust: f64, trust;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairwise(x: &[f64]) -> f64 {
        let n = x.len() as f64;
        let mean = x.iter().sum::<f64>() / n;
        let mut s = 0.0;
        for a in x {
            for b in x {
                s += (a - b).abs();
            }
        }
        s / (2.0 * n * n * mean)
    }

    #[test]
    fn gini_invariants() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(5);
        for n in [2usize, 3, 7, 50] {
            for _ in 0..50 {
                let mut x: Vec<f64> = (0..n).map(|_| rng.random::<f64>() * 10.0).collect();
                let s = trust_stats(&mut x);
                assert!(s.gini >= 0.0 && s.gini <= (n as f64 - 1.0) / n as f64 + 1e-15);
                assert!((s.gini - pairwise(&x)).abs() < 1e-12, "{} vs {}", s.gini, pairwise(&x));
                let mut y: Vec<f64> = x.iter().map(|v| v * 3.5).collect();
                assert!((trust_stats(&mut y).gini - s.gini).abs() < 1e-12);
            }
        }
        assert_eq!(trust_stats(&mut [2.0, 2.0, 2.0]).gini, 0.0);
        assert_eq!(trust_stats(&mut [5.0]).gini, 0.0);
        assert_eq!(trust_stats(&mut [0.0, 0.0]).gini, 0.0);
        // One holder of everything among n: (n − 1)/n.
        assert!((trust_stats(&mut [0.0, 0.0, 0.0, 4.0]).gini - 0.75).abs() < 1e-15);
    }

    #[test]
    fn stats() {
        let s = trust_stats(&mut [4.0, 1.0, 3.0, 2.0]);
        assert_eq!((s.n, s.total, s.mean, s.min, s.max, s.median), (4, 10.0, 2.5, 1.0, 4.0, 2.5));
        assert!((s.std - (5.0f64 / 3.0).sqrt()).abs() < 1e-15);
        assert_eq!(trust_stats(&mut [3.0, 1.0, 2.0]).median, 2.0);
        assert_eq!(trust_stats(&mut []), TrustStats::default());
        assert_eq!(ratio(1.0, 0.0), 0.0);
    }

    #[test]
    fn fields_line_up() {
        let m = DailyMetrics::default();
        assert_eq!(m.values().len(), DailyMetrics::FIELDS.len());
        assert_eq!(DailyMetrics::FIELDS[0], "day");
        assert!(DailyMetrics::FIELDS.contains(&"trust_gini"));
        let a = DailyMetrics { total_coin_supply: 5.0, ..Default::default() };
        let f = |fp: u64, v: u64| fp.rotate_left(5) ^ v;
        assert_eq!(a.fold_trust_side(1, f), m.fold_trust_side(1, f), "coin side is not in the fingerprint");
        let b = DailyMetrics { trust_gini: 0.5, ..Default::default() };
        assert_ne!(b.fold_trust_side(1, f), m.fold_trust_side(1, f));
    }
}
