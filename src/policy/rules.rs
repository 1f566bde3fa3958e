//! The automated policy: phases, gates, the window
//! averages and Rules G (Gini → k_payment), F (failures → isolation
//! threshold), C (clusters → k_transfer) and T (trust growth →
//! tau_transaction), with the reference's quirks as switches.

use super::metrics::{DailyMetrics, Param, PolicyParams};
use serde::{Deserialize, Serialize};

/// The policy's phase on a day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Phase {
    /// No evaluation.
    Genesis,
    /// Reference: window only; design: proposals.
    Observation,
    /// Reference: Rule G; design: Rules F and T.
    LimitedAuto,
    /// Every rule.
    FullAuto,
}

impl Phase {
    /// Upper-case name, as the reference logs it.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Genesis => "GENESIS",
            Phase::Observation => "OBSERVATION",
            Phase::LimitedAuto => "LIMITED_AUTO",
            Phase::FullAuto => "FULL_AUTO",
        }
    }
}

/// Everything the policy reads besides the history (the `[policy]` table).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyConfig {
    /// δ of Rule G.
    pub dampening_factor: f64,
    /// r: largest relative change of k_payment per event.
    pub max_change_rate: f64,
    /// Shared cooldown (days).
    pub min_adjustment_interval: u32,
    /// Averaging window (days).
    pub window: u32,
    /// Rule G target.
    pub target_gini: f64,
    /// Rule G dead zone.
    pub gini_dead_zone: f64,
    /// Rule F target.
    pub target_failure_rate: f64,
    /// Rule C target.
    pub target_cluster_prevalence: f64,
    /// Rules F and C fire above this multiple of their target.
    pub trigger_multiple: f64,
    /// Unused (as in the reference).
    pub target_hoarding_prevalence: f64,
    /// Rule T: growth above this shortens τ.
    pub growth_high: f64,
    /// Rule T: growth below this lengthens τ.
    pub growth_low: f64,
    /// Rule T lag L (days).
    pub growth_lag: u32,
    /// Rule T needs more metrics than this.
    pub growth_min_history: u32,
    /// Rule T factor down.
    pub tau_down: f64,
    /// Rule T factor up.
    pub tau_up: f64,
    /// Rule G logs only if |Δ| exceeds this.
    pub log_threshold: f64,
    /// Starts of OBSERVATION, LIMITED_AUTO, FULL_AUTO.
    pub phase_days: [u32; 3],
    /// Floor of k_payment.
    pub k_payment_min: f64,
    /// Cap of k_payment (none by default).
    pub k_payment_max: Option<f64>,
    /// Rule C factor.
    pub k_transfer_factor: f64,
    /// Cap of k_transfer (reference: none; corrected: 0.1).
    pub k_transfer_max: Option<f64>,
    /// Rule F step.
    pub isolation_step: f64,
    /// Rule F floor.
    pub isolation_min: f64,
    /// Rule T floor.
    pub tau_min: f64,
    /// Rule T cap.
    pub tau_max: f64,
    /// `failure_rate_average = "pooled"` (else the reference's mean of
    /// non-zero daily rates).
    pub failure_pooled: bool,
    /// `phase_rules = "design"` (else the reference's code).
    pub design_phases: bool,
    /// `phantom_events = "dropped"` (else logged).
    pub drop_phantoms: bool,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            dampening_factor: 0.3,
            max_change_rate: 0.05,
            min_adjustment_interval: 7,
            window: 14,
            target_gini: 0.4,
            gini_dead_zone: 0.1,
            target_failure_rate: 0.05,
            target_cluster_prevalence: 0.05,
            trigger_multiple: 2.0,
            target_hoarding_prevalence: 0.1,
            growth_high: 0.2,
            growth_low: -0.1,
            growth_lag: 30,
            growth_min_history: 60,
            tau_down: 0.95,
            tau_up: 1.05,
            log_threshold: 1e-4,
            phase_days: [90, 180, 365],
            k_payment_min: 0.01,
            k_payment_max: None,
            k_transfer_factor: 1.05,
            k_transfer_max: Some(0.1),
            isolation_step: 0.02,
            isolation_min: 0.7,
            tau_min: 90.0,
            tau_max: 730.0,
            failure_pooled: true,
            design_phases: true,
            drop_phantoms: true,
        }
    }
}

impl PolicyConfig {
    /// The phase on day `d`.
    pub fn phase(&self, d: u32) -> Phase {
        let [o, l, f] = self.phase_days;
        if d < o {
            Phase::Genesis
        } else if d < l {
            Phase::Observation
        } else if d < f {
            Phase::LimitedAuto
        } else {
            Phase::FullAuto
        }
    }
}

/// Which rule made a change (and so which metric triggered it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Rule {
    /// Gini → k_payment.
    G,
    /// Failure rate → isolation threshold.
    F,
    /// Cluster prevalence → k_transfer.
    C,
    /// Trust growth → tau_transaction.
    T,
}

impl Rule {
    /// The metric that triggers it.
    pub fn trigger_metric(self) -> &'static str {
        match self {
            Rule::G => "trust_gini",
            Rule::F => "verification_failure_rate",
            Rule::C => "cluster_prevalence",
            Rule::T => "trust_growth",
        }
    }

    /// The parameter it moves.
    pub fn param(self) -> Param {
        match self {
            Rule::G => Param::KPayment,
            Rule::F => Param::IsolationThreshold,
            Rule::C => Param::KTransfer,
            Rule::T => Param::TauTransaction,
        }
    }
}

/// One logged parameter change.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParamChange {
    /// The rule (parameter and trigger metric).
    pub rule: Rule,
    /// Value before.
    pub old: f64,
    /// Value after (equal to `old` for a phantom change).
    pub new: f64,
    /// The window average that triggered it.
    pub trigger_value: f64,
}

/// One policy event: a day on which changes were logged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyEvent {
    /// Day.
    pub day: u32,
    /// Phase.
    pub phase: Phase,
    /// Changes, in rule order.
    pub changes: Vec<ParamChange>,
}

/// The window averages the rules read.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Averages {
    /// ḡ.
    pub gini: f64,
    /// c̄.
    pub cluster: f64,
    /// μ̄ (positive mean_trust values only).
    pub mean_trust: f64,
    /// f̄.
    pub failure: f64,
}

/// The policy's state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyState {
    /// The adjustable parameter set.
    pub params: PolicyParams,
    /// Day of the last logged event (−999 before any).
    pub last_adjustment: i64,
    /// Every logged event.
    pub log: Vec<PolicyEvent>,
    /// What OBSERVATION would have done (design phases).
    pub proposals: Vec<PolicyEvent>,
}

/// Mean of the positive values (0 if none), summed in order.
fn positive_mean(xs: impl Iterator<Item = f64>) -> Option<f64> {
    let (mut s, mut n) = (0.0, 0usize);
    for x in xs.filter(|&x| x > 0.0) {
        s += x;
        n += 1;
    }
    (n > 0).then(|| s / n as f64)
}

impl PolicyState {
    /// A policy with parameters `params`.
    pub fn new(params: PolicyParams) -> PolicyState {
        PolicyState { params, last_adjustment: -999, log: Vec::new(), proposals: Vec::new() }
    }

    /// The window averages over `w` (the last `window` days).
    pub fn averages(cfg: &PolicyConfig, w: &[DailyMetrics]) -> Averages {
        let n = w.len() as f64;
        let mut g = 0.0;
        let mut c = 0.0;
        for m in w {
            g += m.trust_gini;
            c += m.cluster_prevalence;
        }
        let failure = if cfg.failure_pooled {
            let (mut failed, mut sampled) = (0.0, 0.0);
            for m in w {
                failed += f64::from(m.verifications_failed);
                sampled += f64::from(m.verifications_sampled);
            }
            if sampled > 0.0 { failed / sampled } else { 0.0 }
        } else {
            positive_mean(w.iter().map(|m| m.verification_failure_rate)).unwrap_or(0.0)
        };
        Averages {
            gini: g / n,
            cluster: c / n,
            mean_trust: positive_mean(w.iter().map(|m| m.mean_trust)).unwrap_or(0.0),
            failure,
        }
    }

    /// Evaluate the policy on day `d` with `history[k].day == k` up to `d`.
    /// Returns whether an event was logged (its changes are in force from
    /// the next event on).
    pub fn evaluate(&mut self, cfg: &PolicyConfig, d: u32, history: &[DailyMetrics]) -> bool {
        let phase = cfg.phase(d);
        if phase == Phase::Genesis {
            return false;
        }
        if i64::from(d) - self.last_adjustment < i64::from(cfg.min_adjustment_interval) {
            return false;
        }
        let win = cfg.window as usize;
        let upto = (d as usize + 1).min(history.len());
        if upto < win || win == 0 {
            return false;
        }
        let avg = Self::averages(cfg, &history[upto - win..upto]);
        let rules: &[Rule] = match (phase, cfg.design_phases) {
            (Phase::Observation, false) => &[],
            (Phase::Observation, true) => {
                let mut copy = self.params;
                let changes = self.apply(cfg, d, upto, history, &avg, &[Rule::G, Rule::F, Rule::C, Rule::T], &mut copy);
                if !changes.is_empty() {
                    self.proposals.push(PolicyEvent { day: d, phase, changes });
                }
                return false;
            }
            (Phase::LimitedAuto, false) => &[Rule::G],
            (Phase::LimitedAuto, true) => &[Rule::F, Rule::T],
            (Phase::FullAuto, _) => &[Rule::G, Rule::F, Rule::C, Rule::T],
            (Phase::Genesis, _) => unreachable!("returned above"),
        };
        let mut params = self.params;
        let changes = self.apply(cfg, d, upto, history, &avg, rules, &mut params);
        self.params = params;
        if changes.is_empty() {
            return false;
        }
        self.log.push(PolicyEvent { day: d, phase, changes });
        self.last_adjustment = i64::from(d);
        true
    }

    /// Run `rules` in order on `p`; return the logged changes.
    #[allow(clippy::too_many_arguments)]
    fn apply(
        &self,
        cfg: &PolicyConfig,
        d: u32,
        upto: usize,
        history: &[DailyMetrics],
        avg: &Averages,
        rules: &[Rule],
        p: &mut PolicyParams,
    ) -> Vec<ParamChange> {
        let mut out = Vec::new();
        for &rule in rules {
            match rule {
                Rule::G => {
                    let e = avg.gini - cfg.target_gini;
                    if e.abs() > cfg.gini_dead_zone {
                        let k = p.k_payment;
                        let step = cfg.max_change_rate * k;
                        let delta = (-step).max(step.min((-e * cfg.dampening_factor) * k));
                        let mut new = cfg.k_payment_min.max(k + delta);
                        if let Some(m) = cfg.k_payment_max {
                            new = new.min(m);
                        }
                        p.k_payment = new;
                        let logged = delta.abs() > cfg.log_threshold && (!cfg.drop_phantoms || new != k);
                        if logged {
                            out.push(ParamChange { rule, old: k, new, trigger_value: avg.gini });
                        }
                    }
                }
                Rule::F => {
                    if avg.failure > cfg.trigger_multiple * cfg.target_failure_rate {
                        let old = p.isolation_threshold;
                        let new = cfg.isolation_min.max(old - cfg.isolation_step);
                        p.isolation_threshold = new;
                        if new != old {
                            out.push(ParamChange { rule, old, new, trigger_value: avg.failure });
                        }
                    }
                }
                Rule::C => {
                    if avg.cluster > cfg.trigger_multiple * cfg.target_cluster_prevalence {
                        let old = p.k_transfer;
                        let mut new = old * cfg.k_transfer_factor;
                        if let Some(m) = cfg.k_transfer_max {
                            new = new.min(m);
                        }
                        p.k_transfer = new;
                        if !cfg.drop_phantoms || new != old {
                            out.push(ParamChange { rule, old, new, trigger_value: avg.cluster });
                        }
                    }
                }
                Rule::T => {
                    if upto <= cfg.growth_min_history as usize {
                        continue;
                    }
                    let lag = cfg.growth_lag as i64;
                    let (a, b) = (i64::from(d) - 2 * lag + 1, i64::from(d) - lag);
                    if b < 0 {
                        continue;
                    }
                    let a = a.max(0) as usize;
                    let old_mean = positive_mean(history[a..=b as usize].iter().map(|m| m.mean_trust));
                    let Some(mu_old) = old_mean else { continue };
                    if avg.mean_trust > 0.0 && mu_old > 0.0 {
                        let g = (avg.mean_trust - mu_old) / mu_old;
                        let old = p.tau_transaction;
                        let new = if g > cfg.growth_high {
                            cfg.tau_min.max(cfg.tau_down * old)
                        } else if g < cfg.growth_low {
                            cfg.tau_max.min(cfg.tau_up * old)
                        } else {
                            continue;
                        };
                        p.tau_transaction = new;
                        if !cfg.drop_phantoms || new != old {
                            out.push(ParamChange { rule, old, new, trigger_value: g });
                        }
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference() -> PolicyConfig {
        PolicyConfig {
            k_transfer_max: None,
            failure_pooled: false,
            design_phases: false,
            drop_phantoms: false,
            ..PolicyConfig::default()
        }
    }

    fn start() -> PolicyParams {
        PolicyParams { k_payment: 0.1, k_transfer: 0.01, isolation_threshold: 0.9, tau_transaction: 365.0 }
    }

    fn history(days: u32, gini: f64, cluster: f64) -> Vec<DailyMetrics> {
        (0..days)
            .map(|day| DailyMetrics {
                day,
                trust_gini: gini,
                cluster_prevalence: cluster,
                mean_trust: 5.0,
                ..Default::default()
            })
            .collect()
    }

    /// With Gini high all along, the reference policy is a clock
    /// from day 180, k_payment falls by 5 % an event to its floor at event
    /// 45 (day 488), and the later events are phantoms.
    #[test]
    fn reference_schedule() {
        let cfg = reference();
        let h = history(720, 0.7, 0.0);
        let mut s = PolicyState::new(start());
        for d in 0..720 {
            s.evaluate(&cfg, d, &h);
        }
        assert_eq!(s.log.len(), 78);
        for (j, e) in s.log.iter().enumerate() {
            assert_eq!(e.day, 180 + 7 * j as u32);
            assert_eq!(e.changes.len(), 1);
            assert_eq!(e.changes[0].rule, Rule::G);
        }
        assert_eq!(s.log[0].changes[0].new, 0.095);
        assert_eq!(s.log[43].changes[0].new, 0.010467395472325522);
        assert_eq!(s.log[44].changes[0].new, 0.01);
        assert_eq!(s.log[44].day, 488);
        assert_ne!(s.log[44].changes[0].old, 0.01);
        for e in &s.log[45..] {
            assert_eq!((e.changes[0].old, e.changes[0].new), (0.01, 0.01), "phantom");
        }
        assert_eq!(s.params.k_transfer, 0.01);
    }

    #[test]
    fn rule_c_sequential_product() {
        let cfg = reference();
        let h = history(720, 0.7, 0.3);
        let mut s = PolicyState::new(start());
        for d in 0..720 {
            s.evaluate(&cfg, d, &h);
        }
        let c: Vec<&PolicyEvent> = s.log.iter().filter(|e| e.changes.iter().any(|c| c.rule == Rule::C)).collect();
        assert_eq!(c.len(), 51);
        assert_eq!(c[0].day, 369);
        assert_eq!(s.params.k_transfer, 0.12040769775041382);
    }

    #[test]
    fn corrected_caps_and_drops() {
        let cfg = PolicyConfig::default();
        let h = history(720, 0.7, 0.3);
        let mut s = PolicyState::new(start());
        for d in 0..720 {
            s.evaluate(&cfg, d, &h);
        }
        assert_eq!(s.params.k_transfer, 0.1);
        for e in &s.log {
            assert!(e.day >= 365, "design phases move k_payment and k_transfer only in FULL_AUTO");
            for c in &e.changes {
                assert_ne!(c.old, c.new, "no phantom changes");
            }
        }
        for w in s.log.windows(2) {
            assert!(w[1].day - w[0].day >= 7);
        }
        assert_eq!(s.params.k_payment, 0.01);
    }

    #[test]
    fn rule_f_steps() {
        let cfg = PolicyConfig::default();
        let mut h = history(720, 0.4, 0.0);
        for m in &mut h {
            m.verifications_sampled = 10;
            m.verifications_failed = 3;
        }
        let mut s = PolicyState::new(start());
        for d in 0..720 {
            s.evaluate(&cfg, d, &h);
        }
        let iso: Vec<f64> = s.log.iter().flat_map(|e| e.changes.iter()).map(|c| c.new).collect();
        assert_eq!(iso.len(), 10);
        assert_eq!(iso[8], 0.7199999999999999);
        assert_eq!(s.params.isolation_threshold, 0.7);
        assert!(!s.proposals.is_empty(), "OBSERVATION proposes under design phases");
    }

    #[test]
    fn nonzero_days_average_triggers_on_one_failure() {
        let cfg = reference();
        let mut h = history(30, 0.4, 0.0);
        h[20].verifications_sampled = 1;
        h[20].verifications_failed = 1;
        h[20].verification_failure_rate = 1.0;
        let a = PolicyState::averages(&cfg, &h[10..24]);
        assert_eq!(a.failure, 1.0);
        let pooled = PolicyConfig::default();
        let h2: Vec<DailyMetrics> = h
            .iter()
            .map(|m| DailyMetrics { verifications_sampled: m.verifications_sampled + 2, ..m.clone() })
            .collect();
        assert_eq!(PolicyState::averages(&pooled, &h2[10..24]).failure, 1.0 / 29.0);
    }
}
