//! Scenario keys of the identity-rotation study (docs/models/identity_rotation.md) and
//! their resolution into checked parameters.

use crate::ledger::{DetectorConfig, DetectorKind, LedgerConfig, Micro, RhoBasis};
use crate::report::results::VerdictRule;
pub use crate::study::Fidelity;
use crate::study::{Keys, Scenario, ScenarioError};
use serde::{Deserialize, Serialize};

/// `[ledger]`: burns and trust inheritance.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerKeys {
    /// K_T of the trust burn, whose rate is 1 / (1 + K_T min(T_s, T_r)) (1/trust, >= 0; default
    /// 0.01).
    pub k_transfer: Option<f64>,
    /// K_A of the amount burn, whose rate is K_A ln(1 + a/M) / ln(S) (>= 0; default 0.15).
    pub k_amount: Option<f64>,
    /// S, the logarithm base of the amount burn (> 1; default 10).
    pub amount_scale: Option<f64>,
    /// M, the network's median balance, held constant (OMC, > 0 and at least 1 µOMC; default 100).
    pub median_balance: Option<f64>,
    /// No amount burn on a transfer of at most one median balance (default true).
    pub amount_burn_cutoff: Option<bool>,
    /// Whether the inheritance share ρ is computed from the amount received or the amount sent:
    /// `"received"`, `"sent"` or `"auto"` (default and auto: received).
    pub rho_basis: Option<String>,
}

/// `[circular]`: the circular-flow detector.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CircularKeys {
    /// θ: the circular-flow penalty applies above this ratio of circular volume to volume (in [0,
    /// 1); default 0.3).
    pub threshold: Option<f64>,
    /// w_c: the penalty is w_c (κ − θ) above the threshold (>= 0; default 2.0).
    pub penalty_weight: Option<f64>,
    /// Corrected detector: the window, in days, over which flows are summed (whole number >= 0, 0
    /// for the whole history; default 90).
    pub window_days: Option<i64>,
}

/// `[undefended]`, `[defended]`: the four switches; `true`, `false`
/// or `"auto"` (the preset's value).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwitchKeys {
    /// Trust-based burn on every transfer.
    pub trust_burn: Option<toml::Value>,
    /// Amount-based burn on large transfers.
    pub amount_burn: Option<toml::Value>,
    /// The receiver's trust falls toward the sender's in proportion to the share of its balance
    /// received.
    pub trust_inheritance: Option<toml::Value>,
    /// The circular-flow detector's penalty applies to effective trust (the detector runs either
    /// way).
    pub circular_flow: Option<toml::Value>,
}

/// `[rotation]`: activity's trust and the spotlight line.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotationKeys {
    /// Trust a puppet gains per OMC of activity (trust/OMC, >= 0; default 0.5).
    pub trust_per_omc: Option<f64>,
    /// W evades when its best puppet's effective trust ends above this multiple of W's trust (>= 0;
    /// default 1.5).
    pub spotlight_factor: Option<f64>,
}

/// `[runs]`: which groups of runs besides the four scripted ones.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunsKeys {
    /// Run the ablation: both attacks with each defence alone and with all off (default true).
    pub ablation: Option<bool>,
    /// Run the order, dust and split probes (default true).
    pub probes: Option<bool>,
}

/// `[one_puppet]`: the one-puppet attack.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnePuppetKeys {
    /// W's opening balance (OMC, >= 0, rounded to the nearest µOMC; default 100,000).
    pub w_balance: Option<f64>,
    /// W's trust before scrutiny (>= 0; default 500).
    pub w_raw_trust: Option<f64>,
    /// Share of W's raw trust lost to scrutiny: W's trust is raw x (1 − penalty), which must be
    /// finite and >= 0 (default 0.8).
    pub w_scrutiny_penalty: Option<f64>,
    /// Months of activity before the funding (>= 0; default 18).
    pub months: Option<i64>,
    /// Days in a month of the schedule (1 to 100,000,000, with months x days at most 100,000,000;
    /// default 30).
    pub month_days: Option<i64>,
    /// Activity credited to the puppet each month (OMC, >= 0; default 50); no money moves.
    pub activity_per_month: Option<f64>,
    /// W's funding of the puppet at the end of the activity (OMC, >= 0, rounded to the nearest
    /// µOMC; default 50,000).
    pub transfer: Option<f64>,
    /// Most the puppet sends back to W (OMC, >= 0, rounded to the nearest µOMC; default 10,000).
    pub cycle_back_max: Option<f64>,
    /// Days from the funding to the cycle back (>= 0; default 30).
    pub cycle_back_delay_days: Option<i64>,
}

/// `[three_puppets]`: the ring-of-puppets attack.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThreePuppetsKeys {
    /// W's opening balance (OMC, >= 0, rounded to the nearest µOMC; default 100,000).
    pub w_balance: Option<f64>,
    /// W's trust before scrutiny (>= 0; default 100).
    pub w_raw_trust: Option<f64>,
    /// Share of W's raw trust lost to scrutiny; raw x (1 − penalty) must be finite and >= 0
    /// (default 0.0).
    pub w_scrutiny_penalty: Option<f64>,
    /// Puppets in the ring (2 to 1000; default 3).
    pub puppets: Option<i64>,
    /// Months of activity before the funding (>= 0; default 12).
    pub months: Option<i64>,
    /// Days in a month of the schedule (1 to 100,000,000, with months x days at most 100,000,000;
    /// default 30).
    pub month_days: Option<i64>,
    /// Activity credited to each puppet each month (OMC, >= 0; default 30).
    pub activity_per_month: Option<f64>,
    /// W's funding of each puppet (OMC, >= 0, rounded to the nearest µOMC; default 25,000).
    pub transfer_each: Option<f64>,
    /// Amount each puppet passes to the next around the ring, if every puppet holds more (OMC, >=
    /// 0, rounded to the nearest µOMC; default 1,000).
    pub hop: Option<f64>,
    /// Days from the funding to the ring of hops (>= 0; default 30).
    pub hop_delay_days: Option<i64>,
}

/// `[order]`: the order probe.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderKeys {
    /// Trust of the account both transfers go into (>= 0; default 450).
    pub target_trust: Option<f64>,
    /// Trust of sender A (>= 0; default 100).
    pub a_trust: Option<f64>,
    /// Trust of sender B (>= 0; default 300).
    pub b_trust: Option<f64>,
    /// Each sender's transfer (OMC, >= 0, rounded to the nearest µOMC; default 1,000).
    pub amount: Option<f64>,
}

/// `[dust]`: the dust probe.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DustKeys {
    /// Trust of the dust's sender (>= 0; default 1).
    pub sender_trust: Option<f64>,
    /// The dust transfer (OMC, >= 0, rounded to the nearest µOMC; default 1).
    pub amount: Option<f64>,
    /// Trust of the empty account that receives the dust (>= 0; default 450).
    pub target_trust: Option<f64>,
}

/// `[split]`: the splitting probe.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitKeys {
    /// Trust of the sender (>= 0; default 100).
    pub sender_trust: Option<f64>,
    /// Trust of the receiver (>= 0; default 450).
    pub target_trust: Option<f64>,
    /// Amount sent, in one transfer or in chunks (OMC, > 0, rounded to the nearest µOMC; default
    /// 50,000).
    pub total: Option<f64>,
    /// Size of each chunk (OMC, > 0; must divide `total` exactly, at most 1,000,000 chunks; default
    /// 100).
    pub chunk: Option<f64>,
}

/// `[scale]`: present only in scale runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScaleKeys {
    /// Accounts opened, each with a trust uniform in [0, 1000) (>= 2; default 1,000,000).
    pub accounts: Option<i64>,
    /// Transfer requests made (>= 1; default 10,000,000).
    pub transfers: Option<i64>,
    /// Days the requests are spread evenly over (1 to 100,000,000; default 100).
    pub days: Option<i64>,
    /// Every account's opening balance (OMC, >= 0, rounded to the nearest µOMC; default 1,000).
    pub initial_balance: Option<f64>,
    /// Smallest requested amount; amounts are log-uniform between min and max (OMC, > 0; default
    /// 1).
    pub amount_min: Option<f64>,
    /// Largest requested amount (OMC, >= `amount_min` and representable in µOMC; default 10,000).
    pub amount_max: Option<f64>,
    /// Period of the circular-flow detection, in days (>= 1; default unset: once at the end).
    pub detect_every_days: Option<i64>,
}

/// The scenario file as written; every key optional.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityRotationScenario {
    /// `[ledger]`: burns and trust inheritance of every transfer.
    pub ledger: Option<LedgerKeys>,
    /// `[circular]`: the circular-flow detector and its penalty.
    pub circular: Option<CircularKeys>,
    /// `[undefended]`: the switches of the undefended runs (default: the trust burn only).
    pub undefended: Option<SwitchKeys>,
    /// `[defended]`: the switches of the defended runs (default: all on).
    pub defended: Option<SwitchKeys>,
    /// `[rotation]`: activity's trust and the spotlight line.
    pub rotation: Option<RotationKeys>,
    /// `[runs]`: which groups of runs besides the four scripted ones.
    pub runs: Option<RunsKeys>,
    /// `[one_puppet]`: the one-puppet attack.
    pub one_puppet: Option<OnePuppetKeys>,
    /// `[three_puppets]`: the ring-of-puppets attack.
    pub three_puppets: Option<ThreePuppetsKeys>,
    /// `[order]`: the order probe.
    pub order: Option<OrderKeys>,
    /// `[dust]`: the dust probe.
    pub dust: Option<DustKeys>,
    /// `[split]`: the splitting probe.
    pub split: Option<SplitKeys>,
    /// `[scale]`: makes the file a scale run (then the scripted tables are refused).
    pub scale: Option<ScaleKeys>,
}

/// The four defences.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Switches {
    /// Trust-based burn.
    pub trust_burn: bool,
    /// Amount-based burn.
    pub amount_burn: bool,
    /// Trust inheritance.
    pub trust_inheritance: bool,
    /// Circular-flow penalty (the detector runs either way).
    pub circular_flow: bool,
}

impl Switches {
    /// `[undefended]`: the reference's "off", which keeps the trust burn.
    pub const UNDEFENDED: Switches =
        Switches { trust_burn: true, amount_burn: false, trust_inheritance: false, circular_flow: false };
    /// `[defended]`: everything on.
    pub const DEFENDED: Switches =
        Switches { trust_burn: true, amount_burn: true, trust_inheritance: true, circular_flow: true };

    /// The ablation variants (each defence alone with the trust burn, and all
    /// off), in report order.
    pub const ABLATION: [(&'static str, Switches); 4] = [
        ("all_off", Switches { trust_burn: false, amount_burn: false, trust_inheritance: false, circular_flow: false }),
        (
            "amount_burn_only",
            Switches { trust_burn: true, amount_burn: true, trust_inheritance: false, circular_flow: false },
        ),
        (
            "trust_inheritance_only",
            Switches { trust_burn: true, amount_burn: false, trust_inheritance: true, circular_flow: false },
        ),
        (
            "circular_flow_only",
            Switches { trust_burn: true, amount_burn: false, trust_inheritance: false, circular_flow: true },
        ),
    ];

    /// As JSON, for `settings`.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "trust_burn": self.trust_burn,
            "amount_burn": self.amount_burn,
            "trust_inheritance": self.trust_inheritance,
            "circular_flow": self.circular_flow,
        })
    }
}

/// `[one_puppet]`, resolved. Money in µOMC.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OnePuppet {
    /// W's opening balance.
    pub w_balance: Micro,
    /// W's trust after scrutiny: raw x (1 − penalty).
    pub w_trust: f64,
    /// Months of activity.
    pub months: u32,
    /// Days per month (at least 1).
    pub month_days: u32,
    /// Activity per month (OMC).
    pub activity_per_month: f64,
    /// W's funding of the puppet.
    pub transfer: Micro,
    /// Most the puppet sends back.
    pub cycle_back_max: Micro,
    /// Days from the funding to the cycle back.
    pub cycle_back_delay_days: u32,
}

/// `[three_puppets]`, resolved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThreePuppets {
    /// W's opening balance.
    pub w_balance: Micro,
    /// W's trust after scrutiny: raw x (1 − penalty).
    pub w_trust: f64,
    /// Puppets in the ring (2 to 1000).
    pub puppets: u32,
    /// Months of activity.
    pub months: u32,
    /// Days per month (at least 1).
    pub month_days: u32,
    /// Activity per puppet per month (OMC).
    pub activity_per_month: f64,
    /// W's funding of each puppet.
    pub transfer_each: Micro,
    /// Amount passed around the ring.
    pub hop: Micro,
    /// Days from the funding to the hops.
    pub hop_delay_days: u32,
}

/// `[order]`, resolved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Order {
    /// Receiver's trust.
    pub target_trust: f64,
    /// Sender A's trust.
    pub a_trust: f64,
    /// Sender B's trust.
    pub b_trust: f64,
    /// Each transfer.
    pub amount: Micro,
}

/// `[dust]`, resolved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dust {
    /// Sender's trust.
    pub sender_trust: f64,
    /// The dust transfer.
    pub amount: Micro,
    /// The empty receiver's trust.
    pub target_trust: f64,
}

/// `[split]`, resolved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Split {
    /// Sender's trust.
    pub sender_trust: f64,
    /// Receiver's trust.
    pub target_trust: f64,
    /// Amount sent.
    pub total: Micro,
    /// Chunk size; divides `total`.
    pub chunk: Micro,
}

/// `[scale]`, resolved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scale {
    /// Accounts (at least 2).
    pub accounts: u32,
    /// Transfer requests (at least 1).
    pub transfers: u64,
    /// Span of the requests (days, at least 1).
    pub days: u32,
    /// Every account's opening balance.
    pub initial_balance: Micro,
    /// Smallest requested amount (OMC, > 0).
    pub amount_min: f64,
    /// Largest requested amount (OMC).
    pub amount_max: f64,
    /// Detection period in days (`None`: once at the end).
    pub detect_every_days: Option<u32>,
}

/// Everything the model needs, resolved and checked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// Reference or corrected: selects the circular-flow detector.
    pub fidelity: Fidelity,
    /// Default number of seeds.
    pub seeds: u64,
    /// First default seed.
    pub seed_base: u64,
    /// Thresholds that turn the share of seeds a finding holds in into a verdict.
    pub verdict: VerdictRule,
    /// The ledger parameters with the defended switches; [`Params::ledger`]
    /// sets the switches of a run.
    pub base: LedgerConfig,
    /// Switches of the undefended runs.
    pub undefended: Switches,
    /// Switches of the defended runs (and of the probes and the scale run).
    pub defended: Switches,
    /// Trust a puppet gains per OMC of activity.
    pub trust_per_omc: f64,
    /// Evaded when the best puppet's effective trust exceeds this x W's trust.
    pub spotlight_factor: f64,
    /// Run the ablation.
    pub ablation: bool,
    /// Run the probes.
    pub probes: bool,
    /// The one-puppet attack.
    pub one_puppet: OnePuppet,
    /// The ring-of-puppets attack.
    pub three_puppets: ThreePuppets,
    /// The order probe.
    pub order: Order,
    /// The dust probe.
    pub dust: Dust,
    /// The splitting probe.
    pub split: Split,
    /// `Some` in a scale run (the `[scale]` table is present).
    pub scale: Option<Scale>,
}

impl Params {
    /// The ledger configuration of a run with switches `sw`: the detector
    /// is always configured (every preset and variant has `circular_flow`);
    /// the switch decides whether its penalty applies.
    pub fn ledger(&self, sw: Switches) -> LedgerConfig {
        let mut c = self.base;
        c.trust_burn = sw.trust_burn;
        c.amount_burn = sw.amount_burn;
        c.trust_inheritance = sw.trust_inheritance;
        if let Some(d) = c.detector.as_mut() {
            d.penalty = sw.circular_flow;
        }
        c
    }

    /// The detector configuration.
    pub fn detector(&self) -> DetectorConfig {
        self.base.detector.expect("the study always configures a detector")
    }

    /// Resolved switches and parameters, for `results.json` `settings`.
    pub fn settings(&self) -> serde_json::Map<String, serde_json::Value> {
        use serde_json::json;
        let d = self.detector();
        let mut m = serde_json::Map::new();
        m.insert("mode".into(), json!(if self.scale.is_some() { "scale" } else { "scripted" }));
        m.insert(
            "circular_detector".into(),
            json!(match d.kind {
                DetectorKind::Reference => "reference",
                DetectorKind::Corrected => "corrected",
            }),
        );
        m.insert("circular.window_days".into(), json!(d.window_days));
        m.insert("circular.threshold".into(), json!(d.threshold));
        m.insert("circular.penalty_weight".into(), json!(d.penalty_weight));
        m.insert("ledger.k_transfer".into(), json!(self.base.k_transfer));
        m.insert("ledger.k_amount".into(), json!(self.base.k_amount));
        m.insert("ledger.amount_scale".into(), json!(self.base.amount_scale));
        m.insert("ledger.median_balance".into(), json!(self.base.median_balance.omc()));
        m.insert("ledger.amount_burn_cutoff".into(), json!(self.base.amount_burn_cutoff));
        m.insert("ledger.rho_basis".into(), json!(self.base.rho_basis.name()));
        m.insert("defended".into(), self.defended.json());
        if self.scale.is_none() {
            m.insert("undefended".into(), self.undefended.json());
            m.insert("runs.ablation".into(), json!(self.ablation));
            m.insert("runs.probes".into(), json!(self.probes));
        }
        m
    }
}

impl crate::study::Switch for RhoBasis {
    const VALUES: &'static [(Self, &'static str)] = &[(RhoBasis::Received, "received"), (RhoBasis::Sent, "sent")];
}

/// Checks on top of [`Keys`]: money in OMC converted to µOMC, day counts.
struct Check<'a> {
    keys: Keys<'a>,
}

impl Check<'_> {
    fn err(&self, m: String) -> ScenarioError {
        self.keys.err(m)
    }

    /// An OMC amount >= 0 (or > 0), exact in µOMC.
    fn money(&self, key: &str, v: Option<f64>, d: f64, positive: bool) -> Result<Micro, ScenarioError> {
        let x = if positive { self.keys.positive(key, v, d)? } else { self.keys.nonneg(key, v, d)? };
        let m = Micro::from_omc(x).map_err(|e| self.err(format!("key `{key}`: {e} ({x} OMC)")))?;
        if positive && m.0 == 0 {
            return Err(self.err(format!("key `{key}` must be at least 0.000001 OMC (got {x})")));
        }
        Ok(m)
    }

    fn trust(&self, key: &str, v: Option<f64>, d: f64) -> Result<f64, ScenarioError> {
        self.keys.nonneg(key, v, d)
    }

    fn days(&self, key: &str, v: Option<i64>, d: i64) -> Result<u32, ScenarioError> {
        let x = self.keys.count(key, v, d)?;
        // Days are engine ticks of 86,400,000 ms: stay far from u64's end.
        if x > 100_000_000 {
            return Err(self.err(format!("key `{key}` is too large ({x} days)")));
        }
        Ok(x)
    }

    fn switches(&self, table: &str, s: &Option<SwitchKeys>, d: Switches) -> Result<Switches, ScenarioError> {
        let s = s.clone().unwrap_or_default();
        let b = |k: &str, v: &Option<toml::Value>, d: bool| self.keys.bool_switch(&format!("{table}.{k}"), v, (d, d));
        Ok(Switches {
            trust_burn: b("trust_burn", &s.trust_burn, d.trust_burn)?,
            amount_burn: b("amount_burn", &s.amount_burn, d.amount_burn)?,
            trust_inheritance: b("trust_inheritance", &s.trust_inheritance, d.trust_inheritance)?,
            circular_flow: b("circular_flow", &s.circular_flow, d.circular_flow)?,
        })
    }

    /// W's trust: raw × (1 − scrutiny penalty), in f64.
    fn w_trust(
        &self,
        table: &str,
        raw: Option<f64>,
        d_raw: f64,
        pen: Option<f64>,
        d_pen: f64,
    ) -> Result<f64, ScenarioError> {
        let raw = self.trust(&format!("{table}.w_raw_trust"), raw, d_raw)?;
        let key = format!("{table}.w_scrutiny_penalty");
        let pen = self.keys.num(&key, pen, d_pen)?;
        let t = raw * (1.0 - pen);
        if !(t.is_finite() && t >= 0.0) {
            return Err(
                self.err(format!("key `{key}`: W's trust w_raw_trust x (1 - {pen}) = {t} must be finite and >= 0"))
            );
        }
        Ok(t)
    }
}

/// Resolve and check an identity-rotation scenario.
pub fn resolve(scn: &Scenario) -> Result<Params, ScenarioError> {
    let s: IdentityRotationScenario = scn.decode()?;
    let h = scn.header(1, 1)?;
    let fidelity = h.fidelity;
    let c = Check { keys: Keys::new(scn, fidelity) };
    let k = &c.keys;

    if s.scale.is_some() {
        k.not_here(
            "identity_rotation with a [scale] table (the scale run)",
            &[
                ("undefended", s.undefended.is_some()),
                ("rotation", s.rotation.is_some()),
                ("runs", s.runs.is_some()),
                ("one_puppet", s.one_puppet.is_some()),
                ("three_puppets", s.three_puppets.is_some()),
                ("order", s.order.is_some()),
                ("dust", s.dust.is_some()),
                ("split", s.split.is_some()),
            ],
        )?;
    }

    let seeds = h.seeds;
    let seed_base = h.seed_base;
    let verdict = h.verdict;

    let l = s.ledger.clone().unwrap_or_default();
    let rho_basis = k.pick("ledger.rho_basis", &l.rho_basis, (RhoBasis::Received, RhoBasis::Received))?;
    let amount_scale = k.num("ledger.amount_scale", l.amount_scale, 10.0)?;
    if amount_scale <= 1.0 {
        return Err(c.err(format!("key `ledger.amount_scale` must be > 1 (got {amount_scale})")));
    }
    let ci = s.circular.clone().unwrap_or_default();
    let threshold = k.num("circular.threshold", ci.threshold, 0.3)?;
    if !(0.0..1.0).contains(&threshold) {
        return Err(c.err(format!("key `circular.threshold` must be in [0, 1) (got {threshold})")));
    }
    let window_days = c.days("circular.window_days", ci.window_days, 90)?;
    let base = LedgerConfig {
        k_transfer: k.nonneg("ledger.k_transfer", l.k_transfer, 0.01)?,
        k_amount: k.nonneg("ledger.k_amount", l.k_amount, 0.15)?,
        amount_scale,
        median_balance: c.money("ledger.median_balance", l.median_balance, 100.0, true)?,
        amount_burn_cutoff: l.amount_burn_cutoff.unwrap_or(true),
        rho_basis,
        trust_burn: true,
        amount_burn: true,
        trust_inheritance: true,
        detector: Some(DetectorConfig {
            kind: match fidelity {
                Fidelity::Reference => DetectorKind::Reference,
                Fidelity::Corrected => DetectorKind::Corrected,
            },
            threshold,
            penalty_weight: k.nonneg("circular.penalty_weight", ci.penalty_weight, 2.0)?,
            window_days,
            penalty: true,
        }),
    };
    base.check().map_err(|e| c.err(format!("ledger parameters: {e}")))?;

    let undefended = c.switches("undefended", &s.undefended, Switches::UNDEFENDED)?;
    let defended = c.switches("defended", &s.defended, Switches::DEFENDED)?;
    let ro = s.rotation.clone().unwrap_or_default();
    let runs = s.runs.clone().unwrap_or_default();

    let o = s.one_puppet.clone().unwrap_or_default();
    let one_puppet = OnePuppet {
        w_balance: c.money("one_puppet.w_balance", o.w_balance, 100_000.0, false)?,
        w_trust: c.w_trust("one_puppet", o.w_raw_trust, 500.0, o.w_scrutiny_penalty, 0.8)?,
        months: k.count("one_puppet.months", o.months, 18)?,
        month_days: c.days("one_puppet.month_days", o.month_days, 30)?,
        activity_per_month: k.nonneg("one_puppet.activity_per_month", o.activity_per_month, 50.0)?,
        transfer: c.money("one_puppet.transfer", o.transfer, 50_000.0, false)?,
        cycle_back_max: c.money("one_puppet.cycle_back_max", o.cycle_back_max, 10_000.0, false)?,
        cycle_back_delay_days: c.days("one_puppet.cycle_back_delay_days", o.cycle_back_delay_days, 30)?,
    };
    let t = s.three_puppets.clone().unwrap_or_default();
    let puppets = k.count("three_puppets.puppets", t.puppets, 3)?;
    if !(2..=1000).contains(&puppets) {
        return Err(
            c.err(format!("key `three_puppets.puppets` must be in 2..=1000: the hops form a ring (got {puppets})"))
        );
    }
    let three_puppets = ThreePuppets {
        w_balance: c.money("three_puppets.w_balance", t.w_balance, 100_000.0, false)?,
        w_trust: c.w_trust("three_puppets", t.w_raw_trust, 100.0, t.w_scrutiny_penalty, 0.0)?,
        puppets,
        months: k.count("three_puppets.months", t.months, 12)?,
        month_days: c.days("three_puppets.month_days", t.month_days, 30)?,
        activity_per_month: k.nonneg("three_puppets.activity_per_month", t.activity_per_month, 30.0)?,
        transfer_each: c.money("three_puppets.transfer_each", t.transfer_each, 25_000.0, false)?,
        hop: c.money("three_puppets.hop", t.hop, 1_000.0, false)?,
        hop_delay_days: c.days("three_puppets.hop_delay_days", t.hop_delay_days, 30)?,
    };
    for (key, m, d) in [
        ("one_puppet", one_puppet.months, one_puppet.month_days),
        ("three_puppets", three_puppets.months, three_puppets.month_days),
    ] {
        if d == 0 {
            return Err(c.err(format!("key `{key}.month_days` must be at least 1 (got 0)")));
        }
        if m as u64 * d as u64 > 100_000_000 {
            return Err(
                c.err(format!("keys `{key}.months` x `{key}.month_days`: too many days ({})", m as u64 * d as u64))
            );
        }
    }
    let or = s.order.clone().unwrap_or_default();
    let order = Order {
        target_trust: c.trust("order.target_trust", or.target_trust, 450.0)?,
        a_trust: c.trust("order.a_trust", or.a_trust, 100.0)?,
        b_trust: c.trust("order.b_trust", or.b_trust, 300.0)?,
        amount: c.money("order.amount", or.amount, 1_000.0, false)?,
    };
    let du = s.dust.clone().unwrap_or_default();
    let dust = Dust {
        sender_trust: c.trust("dust.sender_trust", du.sender_trust, 1.0)?,
        amount: c.money("dust.amount", du.amount, 1.0, false)?,
        target_trust: c.trust("dust.target_trust", du.target_trust, 450.0)?,
    };
    let sp = s.split.clone().unwrap_or_default();
    let split = Split {
        sender_trust: c.trust("split.sender_trust", sp.sender_trust, 100.0)?,
        target_trust: c.trust("split.target_trust", sp.target_trust, 450.0)?,
        total: c.money("split.total", sp.total, 50_000.0, true)?,
        chunk: c.money("split.chunk", sp.chunk, 100.0, true)?,
    };
    if split.total.0 % split.chunk.0 != 0 {
        return Err(
            c.err(format!("key `split.chunk` ({}) must divide `split.total` ({}) exactly", split.chunk, split.total))
        );
    }
    if split.total.0 / split.chunk.0 > 1_000_000 {
        return Err(c.err(format!(
            "keys `split.total` / `split.chunk`: more than 1,000,000 chunks ({})",
            split.total.0 / split.chunk.0
        )));
    }

    let scale = match &s.scale {
        None => None,
        Some(sc) => {
            let accounts = k.count("scale.accounts", sc.accounts, 1_000_000)?;
            if accounts < 2 {
                return Err(c.err(format!("key `scale.accounts` must be at least 2 (got {accounts})")));
            }
            let transfers = sc.transfers.unwrap_or(10_000_000);
            if transfers < 1 {
                return Err(c.err(format!(
                    "key `scale.transfers` must be at least 1 (got {transfers}): the scale run would simulate nothing"
                )));
            }
            let days = c.days("scale.days", sc.days, 100)?;
            if days == 0 {
                return Err(c.err("key `scale.days` must be at least 1 (got 0)".into()));
            }
            let amount_min = k.num("scale.amount_min", sc.amount_min, 1.0)?;
            let amount_max = k.num("scale.amount_max", sc.amount_max, 10_000.0)?;
            if amount_min <= 0.0 {
                return Err(c.err(format!("key `scale.amount_min` must be > 0 (got {amount_min})")));
            }
            if amount_min > amount_max {
                return Err(c.err(format!(
                    "key `scale.amount_min` ({amount_min}) must not exceed `scale.amount_max` ({amount_max})"
                )));
            }
            c.money("scale.amount_max", Some(amount_max), 0.0, true)?;
            let detect_every_days = match sc.detect_every_days {
                None => None,
                Some(d) => {
                    let d = c.days("scale.detect_every_days", Some(d), 0)?;
                    if d == 0 {
                        return Err(c.err("key `scale.detect_every_days` must be at least 1 (got 0)".into()));
                    }
                    Some(d)
                }
            };
            Some(Scale {
                accounts,
                transfers: transfers as u64,
                days,
                initial_balance: c.money("scale.initial_balance", sc.initial_balance, 1_000.0, false)?,
                amount_min,
                amount_max,
                detect_every_days,
            })
        }
    };

    Ok(Params {
        fidelity,
        seeds,
        seed_base,
        verdict,
        base,
        undefended,
        defended,
        trust_per_omc: k.nonneg("rotation.trust_per_omc", ro.trust_per_omc, 0.5)?,
        spotlight_factor: k.nonneg("rotation.spotlight_factor", ro.spotlight_factor, 1.5)?,
        ablation: runs.ablation.unwrap_or(true),
        probes: runs.probes.unwrap_or(true),
        one_puppet,
        three_puppets,
        order,
        dust,
        split,
        scale,
    })
}
