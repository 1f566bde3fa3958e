//! Scenario keys of `trust_dynamics` and `failure_modes` (docs/models/trust.md) and
//! their resolution into the parameters the model runs on.

use crate::report::results::VerdictRule;
pub use crate::study::Fidelity;
use crate::study::{Keys, Scenario, ScenarioError, Switch};
use crate::trust::attacks::Attack;
use crate::trust::{Rules, TrustParams};
use serde::{Deserialize, Serialize};

/// Which of the two studies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StudyKind {
    /// Six scripted scenarios.
    Dynamics,
    /// Nine scripted attacks.
    FailureModes,
}

impl StudyKind {
    /// The study id.
    pub fn id(self) -> &'static str {
        match self {
            StudyKind::Dynamics => "trust_dynamics",
            StudyKind::FailureModes => "failure_modes",
        }
    }
}

/// The six trust-dynamics scenarios.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TdScenario {
    /// Providers and consumers trading normally.
    NormalOperation,
    /// Five sybils trading and praising among themselves.
    SybilAttack,
    /// Colluders accusing a victim they never bought from.
    CollusionRing,
    /// Build, then fail and get complaints.
    LongCon,
    /// A newcomer next to established providers.
    NewEntrant,
    /// Donated compute as a bootstrapping bonus.
    DonationBootstrapping,
}

impl TdScenario {
    /// All, in report order.
    pub const ALL: [TdScenario; 6] = [
        TdScenario::NormalOperation,
        TdScenario::SybilAttack,
        TdScenario::CollusionRing,
        TdScenario::LongCon,
        TdScenario::NewEntrant,
        TdScenario::DonationBootstrapping,
    ];

    /// The scenario id.
    pub fn id(self) -> &'static str {
        match self {
            TdScenario::NormalOperation => "normal_operation",
            TdScenario::SybilAttack => "sybil_attack",
            TdScenario::CollusionRing => "collusion_ring",
            TdScenario::LongCon => "long_con",
            TdScenario::NewEntrant => "new_entrant",
            TdScenario::DonationBootstrapping => "donation_bootstrapping",
        }
    }

    /// From an id.
    pub fn from_id(id: &str) -> Option<TdScenario> {
        TdScenario::ALL.into_iter().find(|s| s.id() == id)
    }
}

/// How often trust is solved (defect 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Recompute {
    /// Only at the scripted checkpoints; agents act on stale values.
    Checkpoints,
    /// A solve at the end of every day; reads at the moment of use.
    Daily,
}

impl Switch for Recompute {
    const VALUES: &'static [(Self, &'static str)] =
        &[(Recompute::Daily, "daily"), (Recompute::Checkpoints, "checkpoints")];
}

crate::switch_enum! {
    /// `escrow_clawback`: how often an escrow is clawed back.
    pub enum Clawback { Once = "once", Reference = "reference" }
}

crate::switch_enum! {
    /// `detection`: when attacks count as detected.
    pub enum Detection { Measured = "measured", Hardcoded = "hardcoded" }
}

/// The engine's four rule switches as a scenario file writes them (the
/// trust and the monetary-policy studies take the same keys).
pub struct RuleKeys<'a> {
    /// `positive_assertions`.
    pub positive_assertions: &'a Option<String>,
    /// `false_accusation_penalty`.
    pub false_accusation_penalty: &'a Option<String>,
    /// `age_mode`.
    pub age_mode: &'a Option<String>,
    /// `cluster_grouping`.
    pub cluster_grouping: &'a Option<String>,
}

/// Resolve the engine's rules: each switch, or the fidelity's preset
/// ([`Rules::REFERENCE`], [`Rules::CORRECTED`]).
pub fn resolve_rules(keys: &Keys<'_>, k: RuleKeys<'_>) -> Result<Rules, ScenarioError> {
    let (r, c) = (Rules::REFERENCE, Rules::CORRECTED);
    Ok(Rules {
        positive_assertions: keys.pick(
            "positive_assertions",
            k.positive_assertions,
            (r.positive_assertions, c.positive_assertions),
        )?,
        false_accusation_penalty: keys.pick(
            "false_accusation_penalty",
            k.false_accusation_penalty,
            (r.false_accusation_penalty, c.false_accusation_penalty),
        )?,
        age_mode: keys.pick("age_mode", k.age_mode, (r.age_mode, c.age_mode))?,
        cluster_grouping: keys.pick(
            "cluster_grouping",
            k.cluster_grouping,
            (r.cluster_grouping, c.cluster_grouping),
        )?,
    })
}

/// The engine's rules in `settings`.
pub fn rules_settings(r: &Rules, m: &mut serde_json::Map<String, serde_json::Value>) {
    use serde_json::json;
    m.insert("false_accusation_penalty".into(), json!(r.false_accusation_penalty.name()));
    m.insert("positive_assertions".into(), json!(r.positive_assertions.name()));
    m.insert("age_mode".into(), json!(r.age_mode.name()));
    m.insert("cluster_grouping".into(), json!(r.cluster_grouping.name()));
}

/// The switches (docs/models/trust.md, Fidelities and switches), resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Switches {
    /// `recompute`.
    pub recompute: Recompute,
    /// `escrow_clawback = "once"` (failure modes).
    pub clawback_once: bool,
    /// `detection = "measured"` (failure modes).
    pub measured: bool,
    /// The engine's rules: `positive_assertions`, `false_accusation_penalty`,
    /// `age_mode`, `cluster_grouping`.
    pub rules: Rules,
}

impl Switches {
    /// The preset of a fidelity.
    pub fn preset(f: Fidelity) -> Switches {
        match f {
            Fidelity::Reference => Switches {
                recompute: Recompute::Checkpoints,
                clawback_once: false,
                measured: false,
                rules: Rules::REFERENCE,
            },
            Fidelity::Corrected => {
                Switches { recompute: Recompute::Daily, clawback_once: true, measured: true, rules: Rules::CORRECTED }
            }
        }
    }

    /// Whether trust is solved daily.
    pub fn daily(&self) -> bool {
        self.recompute == Recompute::Daily
    }

    /// The resolved switch values, for `settings`.
    pub fn settings(&self, study: StudyKind) -> serde_json::Map<String, serde_json::Value> {
        use serde_json::json;
        let r = &self.rules;
        let mut m = serde_json::Map::new();
        m.insert("recompute".into(), json!(self.recompute.name()));
        if study == StudyKind::FailureModes {
            let clawback = if self.clawback_once { Clawback::Once } else { Clawback::Reference };
            m.insert("escrow_clawback".into(), json!(clawback.name()));
            let detection = if self.measured { Detection::Measured } else { Detection::Hardcoded };
            m.insert("detection".into(), json!(detection.name()));
        }
        rules_settings(r, &mut m);
        m
    }
}

/// The attacks' own parameters (`[attack]` table).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttackParams {
    /// Long Con: days of building.
    pub build_days: u32,
    /// Long Con: days of exploiting.
    pub exploit_days: u32,
    /// Long Con: probability of an exploit job per day.
    pub intensity: f64,
    /// Assassination: number of attackers.
    pub attackers: u32,
    /// Sockpuppet: number of socks.
    pub socks: u32,
    /// Redemption: build-and-exploit cycles.
    pub cycles: u32,
}

impl Default for AttackParams {
    fn default() -> Self {
        AttackParams { build_days: 180, exploit_days: 30, intensity: 0.8, attackers: 5, socks: 10, cycles: 3 }
    }
}

/// `[attack.long_con]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LongConSpec {
    /// Days the long con builds trust before exploiting (1 to 100,000; default 180).
    pub build_days: Option<i64>,
    /// Days the long con exploits (1 to 100,000; default 30).
    pub exploit_days: Option<i64>,
    /// Probability of an exploit job per day (in [0, 1]; default 0.8).
    pub intensity: Option<f64>,
}

/// `[attack.assassination]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssassinationSpec {
    /// Attackers accusing the victim (1 to 10,000; default 5).
    pub attackers: Option<i64>,
}

/// `[attack.sockpuppet]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SockpuppetSpec {
    /// Sock puppets (1 to 10,000; default 10).
    pub socks: Option<i64>,
}

/// `[attack.redemption]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedemptionSpec {
    /// Build-and-exploit cycles (1 to 1,000; default 3).
    pub cycles: Option<i64>,
}

/// The `[attack]` table.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttackSpec {
    /// `[attack.long_con]`.
    pub long_con: Option<LongConSpec>,
    /// `[attack.assassination]`.
    pub assassination: Option<AssassinationSpec>,
    /// `[attack.sockpuppet]`.
    pub sockpuppet: Option<SockpuppetSpec>,
    /// `[attack.redemption]`.
    pub redemption: Option<RedemptionSpec>,
}

/// A trust study's scenario file, as written.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustScenario {
    /// Trust dynamics: which scenarios to run, by id (distinct, at least one; default all six).
    pub scenarios: Option<Vec<String>>,
    /// Failure modes: which attacks to run, by id (distinct, at least one; default all nine).
    pub attacks: Option<Vec<String>>,
    /// Switch: trust solved only at the scripted `"checkpoints"` (agents act on stale values) or
    /// `"daily"` with every read at the moment of use; default by fidelity (reference checkpoints,
    /// corrected daily).
    pub recompute: Option<String>,
    /// Switch (failure modes): the long con's escrow claw-back as the `"reference"` has it (once
    /// per complaint, subtracted twice) or `"once"` per held half; default by fidelity (reference,
    /// once).
    pub escrow_clawback: Option<String>,
    /// Engine switch: the `system` false-accusation penalty `"inert"` (credibility 0, judged on the
    /// weighted score) or `"applied"`; default by fidelity (inert, applied).
    pub false_accusation_penalty: Option<String>,
    /// Switch (failure modes): detection and recovery days `"hardcoded"` or `"measured"` from the
    /// trajectory; default by fidelity (hardcoded, measured).
    pub detection: Option<String>,
    /// Engine switch: praise `"unchecked"` or `"checked"` (only from a past customer, not oneself,
    /// once per pair per `praise_window`); default by fidelity (unchecked, checked).
    pub positive_assertions: Option<String>,
    /// Engine switch: age `"additive"` (adds trust) or `"derate"` (only scales trust); default
    /// additive in both fidelities.
    pub age_mode: Option<String>,
    /// Engine switch: clusters by the `"greedy"` first-group heuristic or as connected
    /// `"components"` of mutual-consumer pairs; default greedy in both fidelities.
    pub cluster_grouping: Option<String>,
    /// `[trust]`: every trust-engine constant (missing keys take the engine's defaults).
    pub trust: Option<TrustParams>,
    /// `[attack]` (failure modes): the attacks' own parameters.
    pub attack: Option<AttackSpec>,
}

/// Everything the model needs, resolved and checked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// Which of the two studies.
    pub study: StudyKind,
    /// Reference or corrected.
    pub fidelity: Fidelity,
    /// Default number of seeds.
    pub seeds: u64,
    /// First default seed.
    pub seed_base: u64,
    /// Thresholds that turn the share of seeds a finding holds in into a verdict.
    pub verdict: VerdictRule,
    /// Trust-engine constants, checked.
    pub trust: TrustParams,
    /// The resolved switches.
    pub switches: Switches,
    /// Trust dynamics: the scenarios to run, in order.
    pub scenarios: Vec<TdScenario>,
    /// Failure modes: the attacks to run, in order.
    pub attacks: Vec<Attack>,
    /// The attacks' own parameters.
    pub attack: AttackParams,
}

impl Params {
    /// The variants a run holds: (label prefix of its metric keys, fidelity,
    /// switches). One today: the comparison with the other fidelity is the
    /// framework's (`compare_fidelities`, a second run of the seed).
    pub fn variants(&self) -> Vec<(String, Fidelity, Switches)> {
        vec![(String::new(), self.fidelity, self.switches)]
    }

    /// Resolved settings for `results.json`.
    pub fn settings(&self) -> serde_json::Map<String, serde_json::Value> {
        self.switches.settings(self.study)
    }
}

/// Resolve and check a trust scenario.
pub fn resolve(scn: &Scenario) -> Result<Params, ScenarioError> {
    let study = match scn.study.as_str() {
        "trust_dynamics" => StudyKind::Dynamics,
        "failure_modes" => StudyKind::FailureModes,
        other => return Err(scn.invalid(format!("study `{other}` is not a trust study"))),
    };
    let s: TrustScenario = scn.decode()?;
    let h = scn.header(if study == StudyKind::Dynamics { 20 } else { 200 }, 1)?;
    let fidelity = h.fidelity;
    let keys = Keys::new(scn, fidelity);
    match study {
        StudyKind::Dynamics => keys.not_here(
            study.id(),
            &[
                ("attacks", s.attacks.is_some()),
                ("attack", s.attack.is_some()),
                ("escrow_clawback", s.escrow_clawback.is_some()),
                ("detection", s.detection.is_some()),
            ],
        )?,
        StudyKind::FailureModes => keys.not_here(study.id(), &[("scenarios", s.scenarios.is_some())])?,
    }
    let seeds = h.seeds;
    let seed_base = h.seed_base;
    let verdict = h.verdict;
    let trust = s.trust.clone().unwrap_or_default();
    trust.validate().map_err(|e| keys.err(format!("key `trust.{}`: {}", e.key, e.message)))?;
    let p = |f: Fidelity| Switches::preset(f);
    let (r, c) = (p(Fidelity::Reference), p(Fidelity::Corrected));
    let switches = Switches {
        recompute: keys.pick("recompute", &s.recompute, (r.recompute, c.recompute))?,
        clawback_once: keys.pick("escrow_clawback", &s.escrow_clawback, (Clawback::Reference, Clawback::Once))?
            == Clawback::Once,
        measured: keys.pick("detection", &s.detection, (Detection::Hardcoded, Detection::Measured))?
            == Detection::Measured,
        rules: resolve_rules(
            &keys,
            RuleKeys {
                positive_assertions: &s.positive_assertions,
                false_accusation_penalty: &s.false_accusation_penalty,
                age_mode: &s.age_mode,
                cluster_grouping: &s.cluster_grouping,
            },
        )?,
    };
    let scenarios = if study == StudyKind::Dynamics {
        keys.pick_list("scenarios", "scenario", &s.scenarios, &TdScenario::ALL, TdScenario::id)?
    } else {
        Vec::new()
    };
    let attacks = if study == StudyKind::FailureModes {
        keys.pick_list("attacks", "attack", &s.attacks, &Attack::ALL, Attack::id)?
    } else {
        Vec::new()
    };
    let d = AttackParams::default();
    let spec = s.attack.clone().unwrap_or_default();
    let lc = spec.long_con.unwrap_or_default();
    let attack = AttackParams {
        build_days: keys.count_min1("attack.long_con.build_days", lc.build_days, d.build_days.into())?,
        exploit_days: keys.count_min1("attack.long_con.exploit_days", lc.exploit_days, d.exploit_days.into())?,
        intensity: keys.probability("attack.long_con.intensity", lc.intensity, d.intensity)?,
        attackers: keys.count_min1(
            "attack.assassination.attackers",
            spec.assassination.unwrap_or_default().attackers,
            d.attackers.into(),
        )?,
        socks: keys.count_min1("attack.sockpuppet.socks", spec.sockpuppet.unwrap_or_default().socks, d.socks.into())?,
        cycles: keys.count_min1(
            "attack.redemption.cycles",
            spec.redemption.unwrap_or_default().cycles,
            d.cycles.into(),
        )?,
    };
    for (key, v, max) in [
        ("attack.long_con.build_days", attack.build_days, 100_000),
        ("attack.long_con.exploit_days", attack.exploit_days, 100_000),
        ("attack.redemption.cycles", attack.cycles, 1_000),
        ("attack.sockpuppet.socks", attack.socks, 10_000),
        ("attack.assassination.attackers", attack.attackers, 10_000),
    ] {
        if v > max {
            return Err(keys.err(format!("key `{key}` must be at most {max} (got {v})")));
        }
    }
    Ok(Params { study, fidelity, seeds, seed_base, verdict, trust, switches, scenarios, attacks, attack })
}
