//! Scenario keys of `monetary_policy`, `monetary_policy_iteration2` and
//! `full_study` (docs/models/monetary_policy.md) and their resolution into the
//! parameters the model runs on.

use crate::policy::PolicyConfig;
use crate::report::results::VerdictRule;
pub use crate::study::Fidelity;
use crate::study::{Keys, Scenario, ScenarioError, Switch};
use crate::trust::{Rules, TrustParams};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ops::Bound::Included;

/// Which of the three studies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StudyKind {
    /// Iteration 1 (`mp1`).
    Mp1,
    /// Iteration 2 (`mp2`).
    Mp2,
    /// The full study (`fs`).
    Fs,
}

impl StudyKind {
    /// The study id.
    pub fn id(self) -> &'static str {
        match self {
            StudyKind::Mp1 => "monetary_policy",
            StudyKind::Mp2 => "monetary_policy_iteration2",
            StudyKind::Fs => "full_study",
        }
    }

    /// The metric-key prefix.
    pub fn prefix(self) -> &'static str {
        match self {
            StudyKind::Mp1 => "mp1",
            StudyKind::Mp2 => "mp2",
            StudyKind::Fs => "fs",
        }
    }

    /// Its experiments or scenarios, in canonical (report) order.
    pub fn all(self) -> &'static [Script] {
        match self {
            StudyKind::Mp1 => &MP1,
            StudyKind::Mp2 => &MP2,
            StudyKind::Fs => &FS,
        }
    }
}

/// Every scripted scenario of the three studies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Script {
    /// FS `baseline`.
    FsBaseline,
    /// FS `sybil_small`.
    SybilSmall,
    /// FS `sybil_large`.
    SybilLarge,
    /// FS `inflation_mild`.
    InflationMild,
    /// FS `inflation_aggressive`.
    InflationAggressive,
    /// FS `combined_attack`.
    CombinedAttack,
    /// FS `wave_attack`.
    FsWave,
    /// FS `slow_degradation`.
    FsSlowDegradation,
    /// FS and MP1 `hoarding`.
    Hoarding,
    /// FS `gini_manipulation`.
    FsGini,
    /// FS `attack_recovery`.
    AttackRecovery,
    /// FS `sustained_pressure`.
    SustainedPressure,
    /// MP1 `baseline`.
    Mp1Baseline,
    /// MP1 `trust_inflation`.
    TrustInflation,
    /// MP1 `sybil_explosion`.
    SybilExplosion,
    /// MP1 `verification_starvation`.
    VerificationStarvation,
    /// MP1 `gini_manipulation`.
    Mp1Gini,
    /// MP1 `slow_degradation`.
    Mp1SlowDegradation,
    /// MP1 `extended_baseline` (1825 days).
    ExtendedBaseline,
    /// MP1 `adversarial_multi_attack` (1825 days).
    AdversarialMulti,
    /// MP2 `combined_sybil_inflation`.
    CombinedSybilInflation,
    /// MP2 `attack_and_recovery`.
    AttackAndRecovery,
    /// MP2 `wave_attack`.
    Mp2Wave,
    /// MP2 `policy_comparison` (four policy configurations).
    PolicyComparison,
    /// MP2 `sensitivity` (five fixed k_payment, policy off).
    Sensitivity,
}

const FS: [Script; 12] = [
    Script::FsBaseline,
    Script::SybilSmall,
    Script::SybilLarge,
    Script::InflationMild,
    Script::InflationAggressive,
    Script::CombinedAttack,
    Script::FsWave,
    Script::FsSlowDegradation,
    Script::Hoarding,
    Script::FsGini,
    Script::AttackRecovery,
    Script::SustainedPressure,
];

const MP1: [Script; 9] = [
    Script::Mp1Baseline,
    Script::TrustInflation,
    Script::SybilExplosion,
    Script::VerificationStarvation,
    Script::Hoarding,
    Script::Mp1Gini,
    Script::Mp1SlowDegradation,
    Script::ExtendedBaseline,
    Script::AdversarialMulti,
];

const MP2: [Script; 5] = [
    Script::CombinedSybilInflation,
    Script::AttackAndRecovery,
    Script::Mp2Wave,
    Script::PolicyComparison,
    Script::Sensitivity,
];

impl Script {
    /// The scenario id.
    pub fn id(self) -> &'static str {
        match self {
            Script::FsBaseline | Script::Mp1Baseline => "baseline",
            Script::SybilSmall => "sybil_small",
            Script::SybilLarge => "sybil_large",
            Script::InflationMild => "inflation_mild",
            Script::InflationAggressive => "inflation_aggressive",
            Script::CombinedAttack => "combined_attack",
            Script::FsWave | Script::Mp2Wave => "wave_attack",
            Script::FsSlowDegradation | Script::Mp1SlowDegradation => "slow_degradation",
            Script::Hoarding => "hoarding",
            Script::FsGini | Script::Mp1Gini => "gini_manipulation",
            Script::AttackRecovery => "attack_recovery",
            Script::SustainedPressure => "sustained_pressure",
            Script::TrustInflation => "trust_inflation",
            Script::SybilExplosion => "sybil_explosion",
            Script::VerificationStarvation => "verification_starvation",
            Script::ExtendedBaseline => "extended_baseline",
            Script::AdversarialMulti => "adversarial_multi_attack",
            Script::CombinedSybilInflation => "combined_sybil_inflation",
            Script::AttackAndRecovery => "attack_and_recovery",
            Script::PolicyComparison => "policy_comparison",
            Script::Sensitivity => "sensitivity",
        }
    }
}

/// One arm of an experiment: with or without the policy, and which
/// configuration / fixed k_payment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Arm {
    /// `off`, `on`, a configuration or `kp_…`.
    pub name: String,
    /// The policy's configuration, when enabled.
    pub policy: Option<PolicyConfig>,
    /// Initial k_payment.
    pub k_payment: f64,
}

/// The study's own switches, resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Switches {
    /// `policy_wiring = "live"`.
    pub live: bool,
    /// `cartel_repeats = "round"`.
    pub cartel_round: bool,
    /// `accuser_history = "buy_first"`.
    pub buy_first: bool,
    /// `trust_stats_over = "all"`.
    pub stats_all: bool,
    /// `hoarding_metric = "spenders"`.
    pub hoarding_spenders: bool,
}

/// `[economy]`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Economy {
    /// Mint per day.
    pub daily_mint: f64,
    /// A sampled purchase passes iff v ≥ this.
    pub pass_score: f64,
    /// Window of `active_identities` (days).
    pub activity_window: u32,
}

/// `[economy]` as written.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EconomySpec {
    /// Coins minted each day, spread over identities by effective trust (coins/day, in [0, 1e15];
    /// default 100).
    pub daily_mint: Option<f64>,
    /// A purchase sampled for verification passes when its verification score is at least this (in
    /// [0, 1]; default 0.7).
    pub pass_score: Option<f64>,
    /// Window of the `active_identities` metric: an identity is active if it traded within this
    /// many days (whole days >= 0; default 30).
    pub activity_window: Option<i64>,
}

/// `[policy]` as written.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    /// δ of Rule G: the share of the Gini gap acted on (in (0, 1]; default 0.3).
    pub dampening_factor: Option<f64>,
    /// r: the largest relative change of `k_payment` per policy event (in (0, 1]; default 0.05).
    pub max_change_rate: Option<f64>,
    /// Cooldown shared by every rule between logged events (days, >= 1; default 7).
    pub min_adjustment_interval: Option<i64>,
    /// Averaging window of every rule (days, >= 1; default 14).
    pub window: Option<i64>,
    /// Rule G: target Gini of trust (in [0, 1]; default 0.4).
    pub target_gini: Option<f64>,
    /// Rule G: no change while the Gini is within this of its target (>= 0; default 0.1).
    pub gini_dead_zone: Option<f64>,
    /// Rule F: target verification failure rate (in [0, 1]; default 0.05).
    pub target_failure_rate: Option<f64>,
    /// Rule C: target share of identities in flagged clusters (in [0, 1]; default 0.05).
    pub target_cluster_prevalence: Option<f64>,
    /// Rules F and C fire when their metric exceeds this multiple of its target (>= 0; default 2).
    pub trigger_multiple: Option<f64>,
    /// Target hoarding prevalence (in [0, 1]; default 0.1); no rule reads it, as in the reference.
    pub target_hoarding_prevalence: Option<f64>,
    /// Rule T: trust growth above this shortens `tau_transaction` (finite, >= `growth_low`; default
    /// 0.2).
    pub growth_high: Option<f64>,
    /// Rule T: trust growth below this lengthens `tau_transaction` (finite; default −0.1).
    pub growth_low: Option<f64>,
    /// Rule T: lag over which trust growth is measured (days, >= 1; default 30).
    pub growth_lag: Option<i64>,
    /// Rule T acts only with more daily metrics than this (days, >= 0; default 60).
    pub growth_min_history: Option<i64>,
    /// Rule T: factor applied to `tau_transaction` when growth is high (> 0; default 0.95).
    pub tau_down: Option<f64>,
    /// Rule T: factor applied to `tau_transaction` when growth is low (> 0; default 1.05).
    pub tau_up: Option<f64>,
    /// Rule G logs a change only when its size exceeds this (>= 0; default 1e-4).
    pub log_threshold: Option<f64>,
    /// Days on which the OBSERVATION, LIMITED_AUTO and FULL_AUTO phases start (three strictly
    /// increasing days; default [90, 180, 365]).
    pub phase_days: Option<Vec<i64>>,
    /// Floor of `k_payment` (>= 0; default 0.01).
    pub k_payment_min: Option<f64>,
    /// Cap of `k_payment`: a number > 0 and >= `k_payment_min`, `"none"` or `"auto"` (default and
    /// auto: none).
    pub k_payment_max: Option<toml::Value>,
    /// Rule C multiplies `k_transfer` by this (> 0; default 1.05).
    pub k_transfer_factor: Option<f64>,
    /// Cap of `k_transfer`: a number > 0, `"none"` or `"auto"` (default: by fidelity, none for
    /// reference and 0.1 for corrected).
    pub k_transfer_max: Option<toml::Value>,
    /// Rule F lowers `isolation_threshold` by this step (>= 0; default 0.02).
    pub isolation_step: Option<f64>,
    /// Rule F's floor of `isolation_threshold` (in [0, 1]; default 0.7).
    pub isolation_min: Option<f64>,
    /// Rule T's floor of `tau_transaction` (days, > 0, at most `tau_max`; default 90).
    pub tau_min: Option<f64>,
    /// Rule T's cap of `tau_transaction` (days, > 0; default 730).
    pub tau_max: Option<f64>,
}

/// `[full_study]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FsSpec {
    /// Iterations of the seed grid (>= 1; default 15; iterations x samples at most 1,000,000).
    pub iterations: Option<i64>,
    /// Samples per iteration; seed = 1000 x iteration + sample (1 to 1000; default 15).
    pub samples: Option<i64>,
    /// Scenarios to run, by id (distinct, at least one; default all twelve; run in canonical
    /// order).
    pub scenarios: Option<Vec<String>>,
}

/// `[monetary_policy]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mp1Spec {
    /// Experiments to run, by id (distinct, at least one; default all nine; run in canonical
    /// order).
    pub experiments: Option<Vec<String>>,
    /// Days of `extended_baseline` and `adversarial_multi_attack` (1 to 100,000; default 1825).
    pub long_days: Option<i64>,
}

/// One `[iteration2.policy_comparison.<config>]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigSpec {
    /// δ of Rule G in this arm (in (0, 1]; defaults: conservative 0.1, moderate 0.3, aggressive
    /// 0.5).
    pub dampening_factor: Option<f64>,
    /// r, the largest relative change per event, in this arm (in (0, 1]; defaults 0.02, 0.05,
    /// 0.10).
    pub max_change_rate: Option<f64>,
    /// Cooldown between events in this arm (days, >= 1; defaults 14, 7, 3).
    pub min_adjustment_interval: Option<i64>,
}

/// `[iteration2.sensitivity]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensitivitySpec {
    /// The fixed `k_payment` of each arm (distinct finite values >= 0; default [0.01, 0.05, 0.1,
    /// 0.2, 0.5]).
    pub k_payment: Option<Vec<f64>>,
    /// Days of the `sensitivity` experiment (1 to 100,000; default 360).
    pub days: Option<i64>,
}

/// `[iteration2]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mp2Spec {
    /// Experiments to run, by id (distinct, at least one; default all five; run in canonical
    /// order).
    pub experiments: Option<Vec<String>>,
    /// `[iteration2.policy_comparison.<config>]` by configuration name (`conservative`, `moderate`
    /// or `aggressive`).
    pub policy_comparison: Option<BTreeMap<String, ConfigSpec>>,
    /// `[iteration2.sensitivity]`.
    pub sensitivity: Option<SensitivitySpec>,
}

/// A monetary-policy scenario file, as written.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyScenario {
    /// Days of the 720-day experiments (1 to 100,000; default 720).
    pub days: Option<i64>,
    /// Must be `["off", "on"]` when given: it documents that both arms run on the same seeds.
    pub arms: Option<Vec<String>>,
    /// The per-run CSV keeps every n-th day and the last (>= 1; default 7).
    pub csv_every: Option<i64>,
    /// `[full_study]`: only in a `full_study` scenario.
    pub full_study: Option<FsSpec>,
    /// `[monetary_policy]`: only in a `monetary_policy` scenario.
    pub monetary_policy: Option<Mp1Spec>,
    /// `[iteration2]`: only in a `monetary_policy_iteration2` scenario.
    pub iteration2: Option<Mp2Spec>,
    /// Switch: `"inert"` (the policy's parameters feed only the coin payment) or `"live"` (they
    /// feed the solve, the cluster test and the transfer burn); default by fidelity (reference
    /// inert, corrected live).
    pub policy_wiring: Option<String>,
    /// Switch: `"truncate"` (a cartel of intensity i repeats floor(3i) times) or `"round"` (max(1,
    /// round(3i))); default by fidelity (reference truncate, corrected round).
    pub cartel_repeats: Option<String>,
    /// Switch: `"none"` (an accuser without a purchase from its target is rejected) or
    /// `"buy_first"` (it buys first); default by fidelity (reference none, corrected buy_first).
    pub accuser_history: Option<String>,
    /// Switch: trust statistics and Gini over `"positive"` trust only or `"all"` identities;
    /// default by fidelity (reference positive, corrected all).
    pub trust_stats_over: Option<String>,
    /// Switch: hoarding prevalence counts `"all"` identities without purchases, or only
    /// `"spenders"`; default by fidelity (reference all, corrected spenders).
    pub hoarding_metric: Option<String>,
    /// Switch: the failure-rate average skips zero days (`"nonzero_days"`) or pools failed /
    /// sampled (`"pooled"`); default by fidelity (reference nonzero_days, corrected pooled).
    pub failure_rate_average: Option<String>,
    /// Switch: phase permissions as the original `"code"` had them or as the `"design"` describes
    /// them; default by fidelity (reference code, corrected design).
    pub phase_rules: Option<String>,
    /// Switch: policy events where nothing changed are `"logged"` (restarting the cooldown) or
    /// `"dropped"`; default by fidelity (reference logged, corrected dropped).
    pub phantom_events: Option<String>,
    /// Engine switch: praise `"unchecked"` or `"checked"` (only from a past customer, not oneself,
    /// once per pair per `praise_window`); default by fidelity (unchecked, checked).
    pub positive_assertions: Option<String>,
    /// Engine switch: the `system` false-accusation penalty `"inert"` (credibility 0, judged on the
    /// weighted score) or `"applied"`; default by fidelity (inert, applied).
    pub false_accusation_penalty: Option<String>,
    /// Engine switch: age `"additive"` (adds trust) or `"derate"` (only scales trust); default
    /// additive in both fidelities.
    pub age_mode: Option<String>,
    /// Engine switch: clusters by the `"greedy"` first-group heuristic or as connected
    /// `"components"` of mutual-consumer pairs; default greedy in both fidelities.
    pub cluster_grouping: Option<String>,
    /// `[trust]`: every trust-engine constant; `tau_transaction` must lie within [`policy.tau_min`,
    /// `policy.tau_max`].
    pub trust: Option<TrustParams>,
    /// `[economy]`: mint, verification pass score and activity window.
    pub economy: Option<EconomySpec>,
    /// `[policy]`: the automated policy's rules, phases and bounds.
    pub policy: Option<PolicySpec>,
}

/// The most seeds of a full study's grid (iterations x samples).
pub const FS_MAX_SEEDS: u64 = 1_000_000;

/// The policy configurations of `policy_comparison`: (name, δ, r, interval).
pub const CONFIGS: [(&str, f64, f64, u32); 3] =
    [("conservative", 0.1, 0.02, 14), ("moderate", 0.3, 0.05, 7), ("aggressive", 0.5, 0.10, 3)];

/// Everything the model needs, resolved and checked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// Which of the three studies.
    pub study: StudyKind,
    /// Reference or corrected.
    pub fidelity: Fidelity,
    /// Default number of seeds (the full study uses its grid instead).
    pub seeds: u64,
    /// First default seed.
    pub seed_base: u64,
    /// Thresholds that turn the share of seeds a finding holds in into a verdict.
    pub verdict: VerdictRule,
    /// Days of the 720-day experiments.
    pub days: u32,
    /// Days of MP1's two long runs.
    pub long_days: u32,
    /// Days of MP2's sensitivity experiment.
    pub sensitivity_days: u32,
    /// The per-run CSV keeps every n-th day and the last.
    pub csv_every: u32,
    /// Trust-engine constants, checked.
    pub trust: TrustParams,
    /// Trust-engine rule switches.
    pub rules: Rules,
    /// The study's own switches.
    pub sw: Switches,
    /// Mint, pass score and activity window.
    pub economy: Economy,
    /// The policy as configured (arm `on`).
    pub policy: PolicyConfig,
    /// The experiments to run, in order.
    pub scripts: Vec<Script>,
    /// `policy_comparison` arms after the `no_policy` one: (name, δ, r, interval).
    pub configs: Vec<(String, f64, f64, u32)>,
    /// The fixed k_payment values of `sensitivity`.
    pub sensitivity_k: Vec<f64>,
    /// FS: iterations and samples per iteration.
    pub iterations: u32,
    /// FS: samples per iteration.
    pub samples: u32,
}

/// `kp_0p01` for 0.01.
pub fn kp_name(k: f64) -> String {
    format!("kp_{}", format!("{k}").replace('.', "p"))
}

impl Params {
    /// The days an experiment runs.
    pub fn days_of(&self, s: Script) -> u32 {
        match s {
            Script::ExtendedBaseline | Script::AdversarialMulti => self.long_days,
            Script::Sensitivity => self.sensitivity_days,
            _ => self.days,
        }
    }

    /// The arms of an experiment, in report order.
    pub fn arms_of(&self, s: Script) -> Vec<Arm> {
        let k = self.trust.k_payment;
        match s {
            Script::PolicyComparison => {
                let mut v = vec![Arm { name: "no_policy".into(), policy: None, k_payment: k }];
                for (name, d, r, i) in &self.configs {
                    let cfg = PolicyConfig {
                        dampening_factor: *d,
                        max_change_rate: *r,
                        min_adjustment_interval: *i,
                        ..self.policy.clone()
                    };
                    v.push(Arm { name: name.clone(), policy: Some(cfg), k_payment: k });
                }
                v
            }
            Script::Sensitivity => {
                self.sensitivity_k.iter().map(|&k| Arm { name: kp_name(k), policy: None, k_payment: k }).collect()
            }
            _ => vec![
                Arm { name: "off".into(), policy: None, k_payment: k },
                Arm { name: "on".into(), policy: Some(self.policy.clone()), k_payment: k },
            ],
        }
    }

    /// The FS seeds: 1000·k + j, iteration-major.
    pub fn grid_seeds(&self) -> Vec<u64> {
        (0..u64::from(self.iterations)).flat_map(|k| (0..u64::from(self.samples)).map(move |j| 1000 * k + j)).collect()
    }

    /// Resolved settings for `results.json`.
    pub fn settings(&self) -> serde_json::Map<String, serde_json::Value> {
        use serde_json::json;
        let s = &self.sw;
        let p = &self.policy;
        let r = &self.rules;
        let mut m = serde_json::Map::new();
        let mut put = |k: &str, v: serde_json::Value| {
            m.insert(k.into(), v);
        };
        put("policy_wiring", json!(if s.live { PolicyWiring::Live } else { PolicyWiring::Inert }.name()));
        put(
            "cartel_repeats",
            json!(if s.cartel_round { CartelRepeats::Round } else { CartelRepeats::Truncate }.name()),
        );
        put(
            "accuser_history",
            json!(if s.buy_first { AccuserHistory::BuyFirst } else { AccuserHistory::NoHistory }.name()),
        );
        put("trust_stats_over", json!(if s.stats_all { TrustStatsOver::All } else { TrustStatsOver::Positive }.name()));
        put(
            "hoarding_metric",
            json!(if s.hoarding_spenders { HoardingMetric::Spenders } else { HoardingMetric::All }.name()),
        );
        put(
            "failure_rate_average",
            json!(if p.failure_pooled { FailureRateAverage::Pooled } else { FailureRateAverage::NonzeroDays }.name()),
        );
        put("phase_rules", json!(if p.design_phases { PhaseRules::Design } else { PhaseRules::Code }.name()));
        put(
            "phantom_events",
            json!(if p.drop_phantoms { PhantomEvents::Dropped } else { PhantomEvents::Logged }.name()),
        );
        put("k_transfer_max", p.k_transfer_max.map_or(json!("none"), |x| json!(x)));
        put("days", json!(self.days));
        put("csv_every", json!(self.csv_every));
        if self.study == StudyKind::Fs {
            put("iterations", json!(self.iterations));
            put("samples", json!(self.samples));
        }
        put("scenarios", json!(self.scripts.iter().map(|s| s.id()).collect::<Vec<_>>()));
        crate::models::trust::config::rules_settings(r, &mut m);
        m
    }
}

crate::switch_enum! {
    /// `policy_wiring`.
    pub enum PolicyWiring { Live = "live", Inert = "inert" }
}

crate::switch_enum! {
    /// `cartel_repeats`.
    pub enum CartelRepeats { Round = "round", Truncate = "truncate" }
}

crate::switch_enum! {
    /// `accuser_history`.
    pub enum AccuserHistory { BuyFirst = "buy_first", NoHistory = "none" }
}

crate::switch_enum! {
    /// `trust_stats_over`.
    pub enum TrustStatsOver { All = "all", Positive = "positive" }
}

crate::switch_enum! {
    /// `hoarding_metric`.
    pub enum HoardingMetric { Spenders = "spenders", All = "all" }
}

crate::switch_enum! {
    /// `failure_rate_average`.
    pub enum FailureRateAverage { Pooled = "pooled", NonzeroDays = "nonzero_days" }
}

crate::switch_enum! {
    /// `phase_rules`.
    pub enum PhaseRules { Design = "design", Code = "code" }
}

crate::switch_enum! {
    /// `phantom_events`.
    pub enum PhantomEvents { Dropped = "dropped", Logged = "logged" }
}

/// Resolve and check a monetary-policy scenario.
pub fn resolve(scn: &Scenario) -> Result<Params, ScenarioError> {
    let study = match scn.study.as_str() {
        "monetary_policy" => StudyKind::Mp1,
        "monetary_policy_iteration2" => StudyKind::Mp2,
        "full_study" => StudyKind::Fs,
        other => return Err(scn.invalid(format!("study `{other}` is not a monetary-policy study"))),
    };
    let s: PolicyScenario = scn.decode()?;
    let h = scn.header(20, 42)?;
    let fidelity = h.fidelity;
    let keys = Keys::new(scn, fidelity);
    let id = study.id();
    keys.not_here(
        id,
        &[
            ("full_study", s.full_study.is_some() && study != StudyKind::Fs),
            ("monetary_policy", s.monetary_policy.is_some() && study != StudyKind::Mp1),
            ("iteration2", s.iteration2.is_some() && study != StudyKind::Mp2),
            ("seeds", h.given.0 && study == StudyKind::Fs),
            ("seed_base", h.given.1 && study == StudyKind::Fs),
        ],
    )?;
    if let Some(arms) = &s.arms {
        let ok = arms.len() == 2 && arms.iter().any(|a| a == "off") && arms.iter().any(|a| a == "on");
        if !ok {
            return Err(keys.err(format!(
                "key `arms` must be [\"off\", \"on\"] (got {arms:?}): policy on and off always run on the same seeds"
            )));
        }
    }
    let seeds = h.seeds;
    let seed_base = h.seed_base;
    let verdict = h.verdict;
    let days = keys.count_min1("days", s.days, 720)?;
    let mp1 = s.monetary_policy.clone().unwrap_or_default();
    let long_days = keys.count_min1("monetary_policy.long_days", mp1.long_days, 1825)?;
    let mp2 = s.iteration2.clone().unwrap_or_default();
    let sens = mp2.sensitivity.clone().unwrap_or_default();
    let sensitivity_days = keys.count_min1("iteration2.sensitivity.days", sens.days, 360)?;
    for (k, d) in
        [("days", days), ("monetary_policy.long_days", long_days), ("iteration2.sensitivity.days", sensitivity_days)]
    {
        if d > 100_000 {
            return Err(keys.err(format!("key `{k}` must be at most 100000 (got {d})")));
        }
    }
    let csv_every = keys.count_min1("csv_every", s.csv_every, 7)?;
    let mut trust = s.trust.clone().unwrap_or_default();
    trust.validate().map_err(|e| keys.err(format!("key `trust.{}`: {}", e.key, e.message)))?;
    let live =
        keys.pick("policy_wiring", &s.policy_wiring, (PolicyWiring::Inert, PolicyWiring::Live))? == PolicyWiring::Live;
    let cartel_round =
        keys.pick("cartel_repeats", &s.cartel_repeats, (CartelRepeats::Truncate, CartelRepeats::Round))?
            == CartelRepeats::Round;
    let buy_first =
        keys.pick("accuser_history", &s.accuser_history, (AccuserHistory::NoHistory, AccuserHistory::BuyFirst))?
            == AccuserHistory::BuyFirst;
    let stats_all =
        keys.pick("trust_stats_over", &s.trust_stats_over, (TrustStatsOver::Positive, TrustStatsOver::All))?
            == TrustStatsOver::All;
    let hoarding_spenders =
        keys.pick("hoarding_metric", &s.hoarding_metric, (HoardingMetric::All, HoardingMetric::Spenders))?
            == HoardingMetric::Spenders;
    let failure_pooled = keys.pick(
        "failure_rate_average",
        &s.failure_rate_average,
        (FailureRateAverage::NonzeroDays, FailureRateAverage::Pooled),
    )? == FailureRateAverage::Pooled;
    let design_phases =
        keys.pick("phase_rules", &s.phase_rules, (PhaseRules::Code, PhaseRules::Design))? == PhaseRules::Design;
    let drop_phantoms =
        keys.pick("phantom_events", &s.phantom_events, (PhantomEvents::Logged, PhantomEvents::Dropped))?
            == PhantomEvents::Dropped;
    let rules = crate::models::trust::config::resolve_rules(
        &keys,
        crate::models::trust::config::RuleKeys {
            positive_assertions: &s.positive_assertions,
            false_accusation_penalty: &s.false_accusation_penalty,
            age_mode: &s.age_mode,
            cluster_grouping: &s.cluster_grouping,
        },
    )?;
    let e = s.economy.clone().unwrap_or_default();
    let economy = Economy {
        // Money is f64: a day's mint times the days must stay far from overflow.
        daily_mint: keys.in_range("economy.daily_mint", e.daily_mint, 100.0, Included(0.0), Included(1e15))?,
        pass_score: keys.probability("economy.pass_score", e.pass_score, 0.7)?,
        activity_window: keys.count("economy.activity_window", e.activity_window, 30)?,
    };
    let policy =
        policy_config(&keys, &s.policy.clone().unwrap_or_default(), failure_pooled, design_phases, drop_phantoms)?;
    if trust.tau_transaction < policy.tau_min || trust.tau_transaction > policy.tau_max {
        return Err(keys.err(format!(
            "key `trust.tau_transaction` = {} lies outside the policy's bounds [{}, {}]",
            trust.tau_transaction, policy.tau_min, policy.tau_max
        )));
    }
    // The policy set and the engine start from the same scenario values.
    trust.k_transfer = trust.k_transfer.max(0.0);
    let names = match study {
        StudyKind::Fs => s.full_study.as_ref().and_then(|f| f.scenarios.clone()),
        StudyKind::Mp1 => mp1.experiments.clone(),
        StudyKind::Mp2 => mp2.experiments.clone(),
    };
    let list_key = match study {
        StudyKind::Fs => "full_study.scenarios",
        StudyKind::Mp1 => "monetary_policy.experiments",
        StudyKind::Mp2 => "iteration2.experiments",
    };
    let mut scripts = keys.pick_list(list_key, "scenario", &names, study.all(), Script::id)?;
    // Canonical order, whatever the listed order.
    scripts.sort_by_key(|x| study.all().iter().position(|y| y == x));
    let fs = s.full_study.clone().unwrap_or_default();
    let iterations = keys.count_min1("full_study.iterations", fs.iterations, 15)?;
    let samples = keys.count_min1("full_study.samples", fs.samples, 15)?;
    if samples > 1000 {
        return Err(keys.err(format!(
            "key `full_study.samples` must be at most 1000 (seed = 1000*iteration + sample; got {samples})"
        )));
    }
    if u64::from(iterations) * u64::from(samples) > FS_MAX_SEEDS {
        return Err(keys.err(format!(
            "keys `full_study.iterations` x `full_study.samples`: {} seeds, at most {FS_MAX_SEEDS}",
            u64::from(iterations) * u64::from(samples)
        )));
    }
    let mut configs = Vec::new();
    let given = mp2.policy_comparison.clone().unwrap_or_default();
    for name in given.keys() {
        if !CONFIGS.iter().any(|c| c.0 == name) {
            return Err(keys.err(format!(
                "key `iteration2.policy_comparison.{name}`: unknown configuration (expected conservative, moderate or aggressive)"
            )));
        }
    }
    for (name, d, r, i) in CONFIGS {
        let c = given.get(name).cloned().unwrap_or_default();
        let k = |x: &str| format!("iteration2.policy_comparison.{name}.{x}");
        let d = keys.positive(&k("dampening_factor"), c.dampening_factor, d)?;
        let r = keys.positive(&k("max_change_rate"), c.max_change_rate, r)?;
        if d > 1.0 || r > 1.0 {
            return Err(keys.err(format!(
                "keys `{}`, `{}` must be in (0, 1]",
                k("dampening_factor"),
                k("max_change_rate")
            )));
        }
        let i = keys.count_min1(&k("min_adjustment_interval"), c.min_adjustment_interval, i64::from(i))?;
        configs.push((name.to_string(), d, r, i));
    }
    let sensitivity_k = sens.k_payment.clone().unwrap_or_else(|| vec![0.01, 0.05, 0.1, 0.2, 0.5]);
    if sensitivity_k.is_empty() || sensitivity_k.iter().any(|k| !k.is_finite() || *k < 0.0) {
        return Err(keys.err("key `iteration2.sensitivity.k_payment` must list finite values >= 0"));
    }
    let mut names: Vec<String> = sensitivity_k.iter().map(|&k| kp_name(k)).collect();
    names.sort();
    names.dedup();
    if names.len() != sensitivity_k.len() {
        return Err(keys.err("key `iteration2.sensitivity.k_payment` lists a value twice"));
    }
    Ok(Params {
        study,
        fidelity,
        seeds,
        seed_base,
        verdict,
        days,
        long_days,
        sensitivity_days,
        csv_every,
        trust,
        rules,
        sw: Switches { live, cartel_round, buy_first, stats_all, hoarding_spenders },
        economy,
        policy,
        scripts,
        configs,
        sensitivity_k,
        iterations,
        samples,
    })
}

/// A number key that may also be `"none"` (no bound) or `"auto"` (the
/// fidelity's value).
fn bound(keys: &Keys<'_>, key: &str, v: &Option<toml::Value>, auto: Option<f64>) -> Result<Option<f64>, ScenarioError> {
    match v {
        None => Ok(auto),
        Some(toml::Value::String(s)) if s == "auto" => Ok(auto),
        Some(toml::Value::String(s)) if s == "none" => Ok(None),
        Some(toml::Value::Float(x)) if x.is_finite() && *x > 0.0 => Ok(Some(*x)),
        Some(toml::Value::Integer(x)) if *x > 0 => Ok(Some(*x as f64)),
        Some(other) => Err(keys.err(format!("key `{key}` must be a number > 0, \"none\" or \"auto\" (got {other})"))),
    }
}

fn policy_config(
    keys: &Keys<'_>,
    p: &PolicySpec,
    failure_pooled: bool,
    design_phases: bool,
    drop_phantoms: bool,
) -> Result<PolicyConfig, ScenarioError> {
    let d = PolicyConfig::default();
    let unit_open = |k: &str, v: Option<f64>, def: f64| -> Result<f64, ScenarioError> {
        let x = keys.positive(k, v, def)?;
        if x > 1.0 {
            return Err(keys.err(format!("key `{k}` must be in (0, 1] (got {x})")));
        }
        Ok(x)
    };
    let phase_days = match &p.phase_days {
        None => d.phase_days,
        Some(v) => {
            let ok =
                v.len() == 3 && v.iter().all(|&x| (0..=i64::from(u32::MAX)).contains(&x)) && v[0] < v[1] && v[1] < v[2];
            if !ok {
                return Err(keys.err(format!("key `policy.phase_days` must be three increasing days (got {v:?})")));
            }
            [v[0] as u32, v[1] as u32, v[2] as u32]
        }
    };
    let auto_kt = match keys.fidelity() {
        Fidelity::Reference => None,
        Fidelity::Corrected => Some(0.1),
    };
    let cfg = PolicyConfig {
        dampening_factor: unit_open("policy.dampening_factor", p.dampening_factor, d.dampening_factor)?,
        max_change_rate: unit_open("policy.max_change_rate", p.max_change_rate, d.max_change_rate)?,
        min_adjustment_interval: keys.count_min1(
            "policy.min_adjustment_interval",
            p.min_adjustment_interval,
            d.min_adjustment_interval.into(),
        )?,
        window: keys.count_min1("policy.window", p.window, d.window.into())?,
        target_gini: keys.num("policy.target_gini", p.target_gini, d.target_gini)?,
        gini_dead_zone: keys.nonneg("policy.gini_dead_zone", p.gini_dead_zone, d.gini_dead_zone)?,
        target_failure_rate: keys.nonneg("policy.target_failure_rate", p.target_failure_rate, d.target_failure_rate)?,
        target_cluster_prevalence: keys.nonneg(
            "policy.target_cluster_prevalence",
            p.target_cluster_prevalence,
            d.target_cluster_prevalence,
        )?,
        trigger_multiple: keys.nonneg("policy.trigger_multiple", p.trigger_multiple, d.trigger_multiple)?,
        target_hoarding_prevalence: keys.num(
            "policy.target_hoarding_prevalence",
            p.target_hoarding_prevalence,
            d.target_hoarding_prevalence,
        )?,
        growth_high: keys.num("policy.growth_high", p.growth_high, d.growth_high)?,
        growth_low: keys.num("policy.growth_low", p.growth_low, d.growth_low)?,
        growth_lag: keys.count_min1("policy.growth_lag", p.growth_lag, d.growth_lag.into())?,
        growth_min_history: keys.count(
            "policy.growth_min_history",
            p.growth_min_history,
            d.growth_min_history.into(),
        )?,
        tau_down: keys.positive("policy.tau_down", p.tau_down, d.tau_down)?,
        tau_up: keys.positive("policy.tau_up", p.tau_up, d.tau_up)?,
        log_threshold: keys.nonneg("policy.log_threshold", p.log_threshold, d.log_threshold)?,
        phase_days,
        k_payment_min: keys.nonneg("policy.k_payment_min", p.k_payment_min, d.k_payment_min)?,
        k_payment_max: bound(keys, "policy.k_payment_max", &p.k_payment_max, None)?,
        k_transfer_factor: keys.positive("policy.k_transfer_factor", p.k_transfer_factor, d.k_transfer_factor)?,
        k_transfer_max: bound(keys, "policy.k_transfer_max", &p.k_transfer_max, auto_kt)?,
        isolation_step: keys.nonneg("policy.isolation_step", p.isolation_step, d.isolation_step)?,
        isolation_min: keys.num("policy.isolation_min", p.isolation_min, d.isolation_min)?,
        tau_min: keys.positive("policy.tau_min", p.tau_min, d.tau_min)?,
        tau_max: keys.positive("policy.tau_max", p.tau_max, d.tau_max)?,
        failure_pooled,
        design_phases,
        drop_phantoms,
    };
    if cfg.tau_min > cfg.tau_max {
        return Err(keys.err("keys `policy.tau_min`, `policy.tau_max`: need tau_min <= tau_max"));
    }
    // Targets of shares and rates are shares; bounds come in order.
    for (k, v) in [
        ("policy.target_gini", cfg.target_gini),
        ("policy.target_failure_rate", cfg.target_failure_rate),
        ("policy.target_cluster_prevalence", cfg.target_cluster_prevalence),
        ("policy.target_hoarding_prevalence", cfg.target_hoarding_prevalence),
        ("policy.isolation_min", cfg.isolation_min),
    ] {
        keys.in_range(k, Some(v), v, Included(0.0), Included(1.0))?;
    }
    keys.ordered("policy.growth_low", cfg.growth_low, "policy.growth_high", cfg.growth_high)?;
    if let Some(max) = cfg.k_payment_max {
        keys.ordered("policy.k_payment_min", cfg.k_payment_min, "policy.k_payment_max", max)?;
    }
    Ok(cfg)
}
