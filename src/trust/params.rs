//! The trust engine's parameters and rule switches (docs/models/trust.md).
//!
//! Every constant of the computation is a field of [`TrustParams`] (and a
//! key of a scenario's `[trust]` table), never a Rust `const`, so another
//! study (monetary policy) can change them between days with
//! [`TrustEngine::set_params`](super::TrustEngine::set_params).

use serde::{Deserialize, Serialize};

/// Why a parameter value is not accepted.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("key `{key}`: {message}")]
pub struct ParamError {
    /// The parameter (its `[trust]` key).
    pub key: &'static str,
    /// What is wrong.
    pub message: String,
}

macro_rules! trust_params {
    ($( $(#[$doc:meta])* $name:ident : $ty:ty = $default:expr, $check:ident; )*) => {
        /// The constants of the trust computation, with their
        /// defaults. Deserialises from a `[trust]` table; unknown keys are
        /// refused, missing keys take the default.
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct TrustParams {
            $( $(#[$doc])* pub $name: $ty, )*
        }

        impl Default for TrustParams {
            fn default() -> Self {
                TrustParams { $( $name: $default, )* }
            }
        }

        impl TrustParams {
            /// The `[trust]` keys, in table order.
            pub const KEYS: &'static [&'static str] = &[$( stringify!($name), )*];

            /// Check every value (finite, and positive or non-negative where
            /// the formula needs it).
            pub fn validate(&self) -> Result<(), ParamError> {
                $( $check(stringify!($name), self.$name)?; )*
                Ok(())
            }

            /// The parameters as (key, value) pairs, for reports.
            pub fn entries(&self) -> Vec<(&'static str, f64)> {
                vec![$( (stringify!($name), AsF64::to_f64(self.$name)), )*]
            }
        }
    };
}

/// Numbers of either parameter type, as f64.
trait AsF64 {
    fn to_f64(self) -> f64;
}

impl AsF64 for f64 {
    fn to_f64(self) -> f64 {
        self
    }
}

impl AsF64 for u32 {
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
}

fn finite(key: &'static str, v: f64) -> Result<(), ParamError> {
    if v.is_finite() { Ok(()) } else { Err(ParamError { key, message: format!("must be a finite number (got {v})") }) }
}

fn nonneg(key: &'static str, v: f64) -> Result<(), ParamError> {
    finite(key, v)?;
    if v < 0.0 { Err(ParamError { key, message: format!("must be >= 0 (got {v})") }) } else { Ok(()) }
}

fn positive(key: &'static str, v: f64) -> Result<(), ParamError> {
    finite(key, v)?;
    if v <= 0.0 { Err(ParamError { key, message: format!("must be > 0 (got {v})") }) } else { Ok(()) }
}

/// T_ref: credibility divides by ln(1 + T_ref), which must not round to 0.
fn reference(key: &'static str, v: f64) -> Result<(), ParamError> {
    positive(key, v)?;
    if (1.0 + v).ln() > 0.0 {
        Ok(())
    } else {
        Err(ParamError { key, message: format!("must be at least {:e} (got {v:e}): ln(1 + {key}) is 0", f64::EPSILON) })
    }
}

fn unit(key: &'static str, v: f64) -> Result<(), ParamError> {
    finite(key, v)?;
    if !(0.0..=1.0).contains(&v) {
        Err(ParamError { key, message: format!("must be in [0, 1] (got {v})") })
    } else {
        Ok(())
    }
}

fn count(key: &'static str, v: u32) -> Result<(), ParamError> {
    let _ = (key, v);
    Ok(())
}

fn count_min1(key: &'static str, v: u32) -> Result<(), ParamError> {
    if v == 0 { Err(ParamError { key, message: "must be at least 1 (got 0)".into() }) } else { Ok(()) }
}

/// The most iterations of one trust solve (each is a pass over every
/// assertion; a solve runs every simulated day).
pub const MAX_SOLVER_ITERATIONS: u32 = 10_000;

fn iterations(key: &'static str, v: u32) -> Result<(), ParamError> {
    count_min1(key, v)?;
    if v > MAX_SOLVER_ITERATIONS {
        Err(ParamError { key, message: format!("must be at most {MAX_SOLVER_ITERATIONS} (got {v})") })
    } else {
        Ok(())
    }
}

trust_params! {
    /// K_age: age accrual rate once mature (trust/day).
    k_age: f64 = 0.01, nonneg;
    /// τ_age: e-folding time of the age ramp (days).
    tau_age: f64 = 30.0, positive;
    /// α₀: age multiplier of identities that never provided.
    age_nonprovider_factor: f64 = 0.5, nonneg;
    /// B: credit per weighted hour of verified service.
    base_credit: f64 = 0.1, nonneg;
    /// τ_tx: e-folding time of transaction credit (days).
    tau_transaction: f64 = 365.0, positive;
    /// v_fail: a verification score below this is a failed verification.
    fail_threshold: f64 = 0.7, finite;
    /// K_fail: penalty weight of a failed verification.
    fail_penalty: f64 = 0.5, nonneg;
    /// τ_as: e-folding time of assertions and asserter penalties (days).
    tau_assertion: f64 = 90.0, positive;
    /// ρ: permanent fraction of an assertion.
    residual: f64 = 0.1, unit;
    /// ε₀: multiplier of an assertion without evidence.
    no_evidence_factor: f64 = 0.5, nonneg;
    /// T_ref: trust at which credibility is 1.
    t_reference: f64 = 100.0, reference;
    /// K_pay: payment-share curve (1/trust).
    k_payment: f64 = 0.1, nonneg;
    /// K_tr: transfer-burn curve (1/trust).
    k_transfer: f64 = 0.01, nonneg;
    /// W_acc: minimum gap between accepted accusations of one pair (days).
    accusation_window: f64 = 90.0, nonneg;
    /// n_full: accuser→subject transactions needed for full accusation weight.
    full_weight_tx: u32 = 3, count_min1;
    /// r₀: verification rate with no boost.
    base_verification_rate: f64 = 0.1, unit;
    /// r_max: cap on the verification rate.
    max_verification_rate: f64 = 0.5, unit;
    /// δ_res: boost removed on resolution.
    resolution_boost_decrement: f64 = 0.5, nonneg;
    /// s_sys: score of the false-accusation `system` assertion.
    system_penalty_score: f64 = -0.3, finite;
    /// c_sys: credibility of `system` when the penalty is applied.
    system_credibility: f64 = 1.0, nonneg;
    /// θ_neg: a tested score below this can be judged a false accusation.
    false_accusation_score: f64 = -0.3, finite;
    /// n_good: later good provider transactions that make an accusation false.
    false_accusation_good_tx: u32 = 3, count;
    /// v_good: a verification score at or above this counts as good.
    good_tx_score: f64 = 0.9, finite;
    /// θ_pos: a tested score above this can be judged a bad vouch.
    vouch_score: f64 = 0.3, finite;
    /// n_bad: later bad provider transactions that make a vouch bad.
    vouch_bad_tx: u32 = 2, count;
    /// v_bad: a verification score below this counts as bad.
    bad_tx_score: f64 = 0.5, finite;
    /// κ: asserter penalty per unit of tested score.
    asserter_penalty_factor: f64 = 0.5, nonneg;
    /// V_large: escrow applies at or above this value (OMC).
    large_threshold: f64 = 100.0, finite;
    /// f_imm: fraction of a large value released at once.
    immediate_release_fraction: f64 = 0.5, unit;
    /// D₀: escrow delay at zero trust (days).
    base_delay: f64 = 7.0, nonneg;
    /// T_fast: trust at which the delay factor reaches 0.
    trust_for_min_delay: f64 = 500.0, positive;
    /// D_min: floor on the escrow delay (days).
    min_delay: f64 = 1.0, nonneg;
    /// β: attenuation of local trust per hop.
    transitivity_decay: f64 = 0.5, nonneg;
    /// H: depth of the local-trust search (hops).
    max_path_length: u32 = 4, count;
    /// γ: multiplier on global trust when no path exists.
    new_observer_discount: f64 = 0.3, nonneg;
    /// ε_s: the solve stops when the max-norm change falls below this.
    solver_epsilon: f64 = 0.001, positive;
    /// I_max: iteration cap of the solve.
    solver_max_iterations: u32 = 100, iterations;
    /// A_mat: age at which the derate factor reaches 1 (`age_mode = "derate"`).
    age_maturity_days: f64 = 90.0, positive;
    /// W_pos: minimum gap between praises of one pair (`positive_assertions = "checked"`).
    praise_window: f64 = 90.0, nonneg;
    /// Hoarding: runway (days) above which the penalty applies.
    runway_threshold: f64 = 90.0, positive;
    /// Hoarding: weight of the penalty.
    hoarding_penalty_weight: f64 = 1.0, nonneg;
    /// Hoarding: total earned below which there is no penalty.
    min_volume_for_hoarding: f64 = 100.0, nonneg;
    /// Hoarding: age (days) below which there is no penalty.
    hoarding_min_age: f64 = 30.0, nonneg;
    /// Hoarding: window of consumer outflow (days).
    outflow_window: f64 = 90.0, positive;
    /// Read by the monetary-policy studies' cluster test only.
    isolation_threshold: f64 = 0.9, finite;
    /// Accepted and unread.
    similarity_threshold: f64 = 0.85, finite;
    /// Accepted and unread.
    expected_verification_rate: f64 = 0.1, finite;
}

/// Who may praise (defect 6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PositiveAssertions {
    /// Reference: any praise is accepted, self-praise included.
    Unchecked,
    /// Corrected: a past customer, not self, once per pair per window.
    Checked,
}

/// Whether the false-accusation penalty has effect (defects 3 and 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FalseAccusationPenalty {
    /// Reference: `system` has credibility 0 and the test reads the weighted score.
    Inert,
    /// Corrected: `system` has credibility c_sys and the test reads the raw score.
    Applied,
}

/// How age enters trust (defect 7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgeMode {
    /// Age adds trust (both presets).
    Additive,
    /// Age only scales trust, min(1, A/A_mat).
    Derate,
}

/// How mutual-consumer pairs are grouped into clusters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClusterGrouping {
    /// The reference's greedy first-group heuristic (both presets).
    Greedy,
    /// Connected components of the mutual-pair graph (experiment).
    Components,
}

impl crate::study::Switch for PositiveAssertions {
    const VALUES: &'static [(Self, &'static str)] =
        &[(PositiveAssertions::Checked, "checked"), (PositiveAssertions::Unchecked, "unchecked")];
}

impl crate::study::Switch for FalseAccusationPenalty {
    const VALUES: &'static [(Self, &'static str)] =
        &[(FalseAccusationPenalty::Applied, "applied"), (FalseAccusationPenalty::Inert, "inert")];
}

impl crate::study::Switch for AgeMode {
    const VALUES: &'static [(Self, &'static str)] = &[(AgeMode::Additive, "additive"), (AgeMode::Derate, "derate")];
}

impl crate::study::Switch for ClusterGrouping {
    const VALUES: &'static [(Self, &'static str)] =
        &[(ClusterGrouping::Greedy, "greedy"), (ClusterGrouping::Components, "components")];
}

/// The engine's rule switches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rules {
    /// Who may praise.
    pub positive_assertions: PositiveAssertions,
    /// Whether false accusations are penalised.
    pub false_accusation_penalty: FalseAccusationPenalty,
    /// How age enters trust.
    pub age_mode: AgeMode,
    /// Cluster grouping.
    pub cluster_grouping: ClusterGrouping,
}

impl Rules {
    /// The reference scripts' rules (and the replay's).
    pub const REFERENCE: Rules = Rules {
        positive_assertions: PositiveAssertions::Unchecked,
        false_accusation_penalty: FalseAccusationPenalty::Inert,
        age_mode: AgeMode::Additive,
        cluster_grouping: ClusterGrouping::Greedy,
    };

    /// The corrected preset.
    pub const CORRECTED: Rules = Rules {
        positive_assertions: PositiveAssertions::Checked,
        false_accusation_penalty: FalseAccusationPenalty::Applied,
        age_mode: AgeMode::Additive,
        cluster_grouping: ClusterGrouping::Greedy,
    };

    /// Credibility of the `system` pseudo-asserter under these rules.
    pub fn system_credibility(&self, p: &TrustParams) -> f64 {
        match self.false_accusation_penalty {
            FalseAccusationPenalty::Inert => 0.0,
            FalseAccusationPenalty::Applied => p.system_credibility,
        }
    }
}

impl Default for Rules {
    fn default() -> Self {
        Rules::CORRECTED
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_keys() {
        let p = TrustParams::default();
        assert_eq!(p.k_age, 0.01);
        assert_eq!(p.full_weight_tx, 3);
        assert_eq!(TrustParams::KEYS.len(), p.entries().len());
        assert!(TrustParams::KEYS.contains(&"isolation_threshold"));
        p.validate().unwrap();
    }

    #[test]
    fn table_parsing() {
        let p: TrustParams = toml::from_str("k_payment = 0.2\ntau_age = 10").unwrap();
        assert_eq!(p.k_payment, 0.2);
        assert_eq!(p.tau_age, 10.0);
        assert_eq!(p.k_age, 0.01);
        assert!(toml::from_str::<TrustParams>("k_paymnt = 0.2").is_err());
        let bad = TrustParams { tau_transaction: 0.0, ..Default::default() };
        let e = bad.validate().unwrap_err();
        assert_eq!(e.key, "tau_transaction");
        let bad = TrustParams { residual: 1.5, ..Default::default() };
        assert_eq!(bad.validate().unwrap_err().key, "residual");
    }
}
