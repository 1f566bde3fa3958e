//! The trust studies as an engine `Model` (docs/models/trust.md): one model runs
//! every listed scenario (or attack), each on its own trust engine and its
//! own random streams, day by day.
//!
//! Events: `StartDay` (the day's draws, which schedule one event per engine
//! call), `Transaction`, `Assertion`, `Resolve`, `CreateIdentity`,
//! `Transfer`, `BuildEdges`, `LocalQuery`, `ClusterQuery`, `ReadRate`,
//! `Checkpoint` (a scripted solve and its measurements) and `Recompute` (the
//! daily solve of `recompute = "daily"`). Same-day events run in scheduling
//! order, so a day replays the script's code order.

use super::config::{AttackParams, Fidelity, Params, StudyKind, Switches, TdScenario};
use super::scripts::{self, STREAMS_PER_VARIANT};
use crate::engine::trace::{NamedGroup, find_named};
use crate::engine::{AgentRef, Ctx, EventInfo, Model, SimTime, TICKS_PER_DAY, TimeUnit};
use crate::trust::attacks::{Attack, ReferenceEscrow};
use crate::trust::trace::{Call, Recorder};
use crate::trust::{Ident, SolveReport, TrustEngine};
use rand::RngExt;
use serde::{Deserialize, Serialize};

/// A scenario or an attack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// A trust-dynamics scenario.
    Td(TdScenario),
    /// An attack.
    Fm(Attack),
}

impl Kind {
    /// `normal_operation`, `long_con`, …
    pub fn id(self) -> &'static str {
        match self {
            Kind::Td(s) => s.id(),
            Kind::Fm(a) => a.id(),
        }
    }
}

/// Agent classes: one per scenario and attack (identity index within it),
/// and `cmp_…` for the compared fidelity.
pub const AGENT_CLASSES: &[&str] = &[
    "normal_operation",
    "sybil_attack",
    "collusion_ring",
    "long_con",
    "new_entrant",
    "donation_bootstrapping",
    "laundering",
    "assassination",
    "authority",
    "degradation",
    "sockpuppet",
    "arbitrage",
    "redemption",
    "crisis",
    "cmp_normal_operation",
    "cmp_sybil_attack",
    "cmp_collusion_ring",
    "cmp_long_con",
    "cmp_new_entrant",
    "cmp_donation_bootstrapping",
    "cmp_laundering",
    "cmp_assassination",
    "cmp_authority",
    "cmp_degradation",
    "cmp_sockpuppet",
    "cmp_arbitrage",
    "cmp_redemption",
    "cmp_crisis",
];

fn class_of(kind: Kind, variant: u8) -> &'static str {
    let k = AGENT_CLASSES.iter().position(|c| *c == kind.id()).expect("every kind has a class");
    AGENT_CLASSES[k + if variant == 0 { 0 } else { 14 }]
}

/// Assertion classifications the scripts use (a label with no effect).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Class {
    /// `EXCELLENT_SERVICE`.
    Excellent,
    /// `RESOURCE_MISMATCH`.
    Mismatch,
    /// `VERIFICATION_FAILURE`.
    Verification,
    /// `MALICIOUS_BEHAVIOR`.
    Malicious,
}

impl Class {
    /// The label.
    pub fn label(self) -> &'static str {
        match self {
            Class::Excellent => "EXCELLENT_SERVICE",
            Class::Mismatch => "RESOURCE_MISMATCH",
            Class::Verification => "VERIFICATION_FAILURE",
            Class::Malicious => "MALICIOUS_BEHAVIOR",
        }
    }
}

/// What an assertion's decision counts toward.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ATag {
    /// Nothing.
    None,
    /// `attempted`/`accepted`/`rejected`.
    Counted,
    /// The second counter (authority's smears).
    Second,
}

/// What a local-trust query is for (arbitrage).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LTag {
    /// L_A: the arbitrageur seen by community A.
    A,
    /// L_B: seen by community B.
    B,
    /// After the attack, seen by community B.
    BAfter,
}

/// The model's events.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Ev {
    /// Start day `day` of slot `slot`: make the day's draws.
    StartDay {
        /// The run (scenario or attack) the event belongs to.
        slot: u16,
        /// The day starting.
        day: u32,
    },
    /// A transaction c→p; `credit` is added to the provider's balance.
    Transaction {
        /// The run.
        slot: u16,
        /// Consumer (identity index).
        c: u32,
        /// Provider (identity index).
        p: u32,
        /// Resource weight.
        rw: f64,
        /// Duration (h).
        dur: f64,
        /// Verification score, in [0, 1].
        vs: f64,
        /// Coins credited to the provider (0: none).
        credit: f64,
    },
    /// An assertion.
    Assertion {
        /// The run.
        slot: u16,
        /// Asserter (identity index).
        a: u32,
        /// Subject (identity index).
        s: u32,
        /// Score: > 0 praise, < 0 accusation.
        score: f64,
        /// Classification label (no effect on trust).
        class: Class,
        /// Whether the assertion carries evidence.
        evidence: bool,
        /// Which of the run's counters its acceptance counts toward.
        tag: ATag,
    },
    /// Resolve an accusation.
    Resolve {
        /// The run.
        slot: u16,
        /// Accuser (identity index).
        a: u32,
        /// Subject (identity index).
        s: u32,
        /// Whether the subject's bad behaviour was verified.
        verified_bad: bool,
    },
    /// Create the k-th identity the script creates after day 0.
    CreateIdentity {
        /// The run.
        slot: u16,
        /// Which of the identities the script creates after day 0 (in creation order).
        k: u32,
    },
    /// Transfer the sender's whole balance.
    Transfer {
        /// The run.
        slot: u16,
        /// Sender (identity index).
        from: u32,
        /// Receiver (identity index).
        to: u32,
    },
    /// Build the edge map.
    BuildEdges {
        /// The run.
        slot: u16,
    },
    /// Local trust of `subject` seen by `observer`.
    LocalQuery {
        /// The run.
        slot: u16,
        /// Observer (identity index).
        observer: u32,
        /// Subject (identity index).
        subject: u32,
        /// Which of the arbitrage's readings it is.
        tag: LTag,
    },
    /// A standalone cluster query (sockpuppet).
    ClusterQuery {
        /// The run.
        slot: u16,
    },
    /// Read the degrader's verification rate (reference: once per phase).
    ReadRate {
        /// The run.
        slot: u16,
    },
    /// Scripted checkpoint `k`: a solve and its measurements.
    Checkpoint {
        /// The run.
        slot: u16,
        /// Index of the checkpoint in the script.
        k: u16,
    },
    /// The daily solve.
    Recompute {
        /// The run.
        slot: u16,
    },
}

impl EventInfo for Ev {
    fn kind(&self) -> &'static str {
        match self {
            Ev::StartDay { .. } => "StartDay",
            Ev::Transaction { .. } => "Transaction",
            Ev::Assertion { .. } => "Assertion",
            Ev::Resolve { .. } => "Resolve",
            Ev::CreateIdentity { .. } => "CreateIdentity",
            Ev::Transfer { .. } => "Transfer",
            Ev::BuildEdges { .. } => "BuildEdges",
            Ev::LocalQuery { .. } => "LocalQuery",
            Ev::ClusterQuery { .. } => "ClusterQuery",
            Ev::ReadRate { .. } => "ReadRate",
            Ev::Checkpoint { .. } => "Checkpoint",
            Ev::Recompute { .. } => "Recompute",
        }
    }
}

/// A checkpoint's measurements.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CpRecord {
    /// Label.
    pub label: String,
    /// Day.
    pub day: u32,
    /// T per identity.
    pub trust: Vec<f64>,
    /// w per identity.
    pub weight: Vec<f64>,
}

/// One point of a trajectory (every solve, one per day).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrajPoint {
    /// Day.
    pub day: u32,
    /// T per identity.
    pub trust: Vec<f64>,
    /// w per identity.
    pub weight: Vec<f64>,
}

/// One half held in escrow (`escrow_clawback = "once"`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Held {
    /// Amount.
    pub amount: f64,
    /// Day it is released.
    pub release: u32,
    /// Whether it was clawed back.
    pub clawed: bool,
}

/// Per-script counters and tallies (each script uses some).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Book {
    /// Branches taken of the counted assertion row.
    pub attempted: u32,
    /// Of those, accepted.
    pub accepted: u32,
    /// Of those, rejected.
    pub rejected: u32,
    /// Second counted row: taken.
    pub attempted2: u32,
    /// Second counted row: accepted.
    pub accepted2: u32,
    /// Degradation: phase of the first accepted complaint.
    pub phase: Option<u32>,
    /// Degradation: the rate read at the phase start.
    pub rate: f64,
    /// Long Con: payment share and escrow delay at the `before` checkpoint.
    pub s_before: f64,
    /// Escrow delay at the `before` checkpoint.
    pub delay_before: f64,
    /// Long Con, reference escrow book.
    pub escrow: ReferenceEscrow,
    /// Long Con, `once`: the held halves.
    pub held: Vec<Held>,
    /// Long Con, `once`: released at once.
    pub immediate: f64,
    /// Laundering: amount transferred, received, burned.
    pub transfer: (f64, f64, f64),
    /// Sockpuppet: socks with w < 1 in the cluster query.
    pub flagged: Option<u32>,
    /// Arbitrage: L_A, L_B, local_b_after.
    pub local: [f64; 3],
    /// Arbitrage / redemption: profit or coins extracted.
    pub profit: f64,
    /// Arbitrage: jobs accepted, rejected.
    pub jobs: (u32, u32),
    /// Crisis: passes; whether resolve was called.
    pub passes: u32,
    /// Crisis: the resolution was called.
    pub resolved: bool,
}

/// Measured detection and recovery.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Detect {
    /// T^pre per attacker (index into the attack's attacker list; None:
    /// not yet existing at the pre-attack checkpoint).
    pub pre: Vec<Option<f64>>,
    /// T_V^pre.
    pub victim_pre: Option<f64>,
    /// First detection day.
    pub day: Option<u32>,
    /// Which detector fired first.
    pub by: Option<String>,
    /// First solve day with the victim below 95% of T^pre.
    pub below: Option<u32>,
    /// First later solve day with the victim back above.
    pub recovered: Option<u32>,
}

/// One scenario or attack in one variant.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Slot {
    /// 0 = the scenario's fidelity, 1 = the compared one.
    pub variant: u8,
    /// Fidelity of this variant.
    pub fidelity: Fidelity,
    /// Scenario or attack.
    pub kind: Kind,
    /// Switches in force.
    pub sw: Switches,
    /// Attack parameters.
    pub ap: AttackParams,
    /// The trust engine.
    pub engine: TrustEngine,
    /// Names of identities created after day 0.
    pub later: Vec<String>,
    /// Checkpoint labels and days.
    pub cps: Vec<(String, u32)>,
    /// Measurements at each checkpoint (in order).
    pub records: Vec<CpRecord>,
    /// Every solve (trust dynamics only).
    pub trajectory: Vec<TrajPoint>,
    /// Counters and tallies.
    pub book: Book,
    /// Measured detection (attacks only).
    pub detect: Detect,
    /// Last day of the script.
    pub last_day: u32,
    /// First stream of this slot.
    pub sbase: usize,
    /// Engine calls as a trace, when recording (tests; not in snapshots).
    #[serde(skip)]
    pub recorder: Option<Recorder>,
}

impl Slot {
    fn new(kind: Kind, variant: u8, fidelity: Fidelity, sw: Switches, p: &Params) -> Slot {
        let mut engine = TrustEngine::new(p.trust.clone(), sw.rules).expect("parameters were validated");
        let (initial, later) = scripts::identities(kind, &p.attack);
        for n in &initial {
            engine.create_identity(n);
        }
        let cps = scripts::checkpoints(kind, &p.attack);
        Slot {
            variant,
            fidelity,
            kind,
            sw,
            ap: p.attack,
            engine,
            later,
            last_day: scripts::last_day(kind, &p.attack),
            cps,
            records: Vec::new(),
            trajectory: Vec::new(),
            book: Book::default(),
            detect: Detect::default(),
            sbase: scripts::stream_base(kind) + variant as usize * STREAMS_PER_VARIANT,
            recorder: None,
        }
    }

    /// The agent class of this slot's identities.
    pub fn class(&self) -> &'static str {
        class_of(self.kind, self.variant)
    }

    fn agent(&self, i: u32) -> AgentRef {
        AgentRef::new(self.class(), i)
    }

    fn name(&self, i: u32) -> String {
        self.engine.name(Ident(i)).to_string()
    }

    /// Identity `i` as output names it: its name, qualified with the class
    /// (`long_con.attacker`) when another run of the model has the same name,
    /// so that what is printed can be typed back (`show`, `--agent`).
    fn who(&self, i: u32, others: &Others<'_>) -> String {
        let n = self.engine.name(Ident(i));
        if others.hold(n) { format!("{}.{n}", self.class()) } else { n.to_string() }
    }

    /// Identity names by index, for `find_agent`.
    fn names(&self) -> Vec<&str> {
        (0..self.engine.len()).map(|i| self.engine.name(Ident(i as u32))).collect()
    }

    fn record(&mut self, call: impl FnOnce(&Slot) -> Call) {
        if self.recorder.is_none() {
            return;
        }
        let c = call(self);
        let day = self.engine.day();
        if let Some(r) = &mut self.recorder {
            r.push(day, c);
        }
    }

    /// Start recording engine calls (from day 0, identities included).
    pub fn start_recording(&mut self, tag: String, seed: u64) {
        let mut r = Recorder::default();
        r.lines.push((None, Call::Meta { tag, seed: Some(seed), result: None }));
        for i in 0..self.engine.len() {
            r.push(0, Call::CreateIdentity { id: self.name(i as u32) });
        }
        self.recorder = Some(r);
    }

    /// The attack's facts (attackers, victim, d0, pre-attack checkpoint).
    pub fn facts(&self) -> Option<scripts::AttackFacts> {
        match self.kind {
            Kind::Fm(a) => Some(scripts::facts(a, &self.ap)),
            Kind::Td(_) => None,
        }
    }

    /// Trust of identity `i` at checkpoint `k`.
    pub fn t(&self, k: usize, i: u32) -> f64 {
        self.records.get(k).and_then(|r| r.trust.get(i as usize)).copied().unwrap_or(f64::NAN)
    }

    /// Stored trust now of identity `i` (0 if it does not exist yet).
    pub fn stored(&self, i: u32) -> f64 {
        if (i as usize) < self.engine.len() { self.engine.trust(Ident(i)) } else { 0.0 }
    }

    fn solve(&mut self, ctx: &mut Ctx<'_, Ev>, cp: Option<usize>, others: &Others<'_>) -> SolveReport {
        let rep = self.engine.solve();
        let day = self.engine.day();
        self.record(|s| {
            let names: Vec<String> = (0..s.engine.len()).map(|i| s.name(i as u32)).collect();
            Call::Solve {
                trust: names.iter().cloned().zip(s.engine.trusts()).collect(),
                weight: names.into_iter().zip(rep.weight.iter().copied()).collect(),
            }
        });
        for (i, &t) in self.engine.trusts().iter().enumerate() {
            ctx.mix_f64(t);
            ctx.note(Some(self.agent(i as u32)), || {
                format!(
                    "{} T = {t:.4} (age {:.4}, tx {:.4}, assertions {:.4}, penalty {:.4}), w = {:.4}",
                    self.who(i as u32, others),
                    rep.age[i],
                    rep.tx[i],
                    rep.assertion[i],
                    rep.penalty[i],
                    rep.weight[i]
                )
            });
        }
        if !rep.converged {
            let (it, r) = (rep.iterations, rep.residual);
            ctx.note(None, || format!("solve did NOT converge: {it} iterations, residual {r:.3e}"));
        }
        if self.sw.daily() {
            self.engine.build_edge_snapshot();
            self.record_edges();
        }
        let trust = self.engine.trusts();
        if let Some(k) = cp {
            self.records.push(CpRecord {
                label: self.cps[k].0.clone(),
                day,
                trust: trust.clone(),
                weight: rep.weight.clone(),
            });
        }
        if let Some(f) = self.facts() {
            if cp == Some(f.pre) && self.records.len() == f.pre + 1 {
                self.detect.pre = f.attackers.iter().map(|&a| trust.get(a as usize).copied()).collect();
                self.detect.victim_pre = f.victim.map(|v| trust[v as usize]);
            }
            self.after_solve(&f, day, &rep);
        } else {
            match self.trajectory.last_mut() {
                Some(last) if last.day == day => {
                    last.trust = trust;
                    last.weight = rep.weight.clone();
                }
                _ => self.trajectory.push(TrajPoint { day, trust, weight: rep.weight.clone() }),
            }
        }
        rep
    }

    /// Detectors and recovery after a solve on day `day`.
    fn after_solve(&mut self, f: &scripts::AttackFacts, day: u32, rep: &SolveReport) {
        if day < f.d0 {
            return;
        }
        if self.detect.day.is_none() {
            for (k, &a) in f.attackers.iter().enumerate() {
                if a as usize >= self.engine.len() {
                    continue;
                }
                let t = self.engine.trust(Ident(a));
                let pre = self.detect.pre.get(k).copied().flatten();
                let hit = if pre.is_some_and(|p| p > 0.0 && t < 0.5 * p) {
                    Some("trust_drop")
                } else if rep.weight[a as usize] < 1.0 {
                    Some("clustered")
                } else if rep.penalty[a as usize] > 0.0 || self.engine.has_system_penalty(Ident(a)) {
                    Some("penalized")
                } else {
                    None
                };
                if let Some(by) = hit {
                    self.detect.day = Some(day);
                    self.detect.by = Some(by.to_string());
                    break;
                }
            }
        }
        if let (Some(v), Some(pre)) = (f.victim, self.detect.victim_pre) {
            let ok = self.engine.trust(Ident(v)) >= 0.95 * pre;
            match (self.detect.below, self.detect.recovered) {
                (None, _) if !ok => self.detect.below = Some(day),
                (Some(_), None) if ok => self.detect.recovered = Some(day),
                _ => {}
            }
        }
    }

    fn record_edges(&mut self) {
        self.record(|s| {
            let e = s.engine.edge_snapshot_summary();
            Call::BuildEdges { n_edges: e.n_edges as u64, sum_w: e.sum_w }
        });
    }

    /// Local trust with the recording.
    fn local(&mut self, observer: u32, subject: u32) -> f64 {
        if !self.engine.has_edge_snapshot() {
            self.engine.build_edge_snapshot();
        }
        let l = self.engine.local_trust_on_snapshot(Ident(observer), Ident(subject));
        self.record(|s| Call::LocalTrust { subject: s.name(subject), observer: s.name(observer), result: l });
        l
    }

    /// The verification rate with the recording.
    fn rate(&mut self, i: u32) -> f64 {
        let r = self.engine.verification_rate(Ident(i));
        self.record(|s| Call::VerificationRate {
            subject: s.name(i),
            result: r,
            boosts: s.engine.boosts().into_iter().map(|(j, b)| (s.name(j.0), b)).collect(),
        });
        r
    }

    fn handle(&mut self, ev: Ev, ctx: &mut Ctx<'_, Ev>, others: &Others<'_>) {
        let day = self.engine.day();
        match ev {
            Ev::StartDay { slot, day: d } => {
                let prev = self.engine.day();
                self.engine.set_day(d).expect("days only move forward");
                if d > prev {
                    self.record(|_| Call::AdvanceDays { n: d - prev });
                }
                let kind = self.kind;
                let kinds = ctx.tracing().then(Vec::new);
                let mut x = DayCtx { slot: self, ctx, idx: slot, kinds };
                scripts::day(kind, d, &mut x);
                let kinds = x.kinds.take();
                ctx.note(None, || day_line(self.class(), d, kinds.as_deref().unwrap_or_default()));
                if self.sw.daily() {
                    ctx.schedule(ctx.now(), Ev::Recompute { slot });
                }
                if d < self.last_day {
                    ctx.schedule(SimTime((u64::from(d) + 1) * TICKS_PER_DAY), Ev::StartDay { slot, day: d + 1 });
                }
            }
            Ev::Transaction { c, p, rw, dur, vs, credit, .. } => {
                self.engine.add_transaction(Ident(c), Ident(p), rw, dur, vs).expect("scripts make valid transactions");
                if credit != 0.0 {
                    self.engine.credit(Ident(p), credit).expect("valid identity");
                }
                self.record(|s| Call::AddTransaction { consumer: s.name(c), provider: s.name(p), rw, dur, vs });
                ctx.note(Some(self.agent(p)), || {
                    let paid = if credit != 0.0 {
                        format!("; credited {credit:.2}, balance {:.2}", self.engine.coins(Ident(p)).0)
                    } else {
                        String::new()
                    };
                    format!(
                        "{} provides to {} ({rw:.2} x {dur:.2} h, verification {vs:.3}){paid}",
                        self.who(p, others),
                        self.who(c, others)
                    )
                });
                ctx.note(Some(self.agent(c)), || format!("{} buys from {}", self.who(c, others), self.who(p, others)));
            }
            Ev::Assertion { a, s, score, class, evidence, tag, .. } => {
                let class = class.label();
                let ok = self
                    .engine
                    .add_assertion(Ident(a), Ident(s), score, class, evidence)
                    .expect("scripts make valid assertions");
                self.record(|x| Call::AddAssertion {
                    asserter: x.name(a),
                    subject: x.name(s),
                    score,
                    class: class.to_string(),
                    evidence,
                    accepted: ok,
                });
                let b = &mut self.book;
                match tag {
                    ATag::None => {}
                    ATag::Counted => {
                        b.attempted += 1;
                        if ok {
                            b.accepted += 1;
                        } else {
                            b.rejected += 1;
                        }
                    }
                    ATag::Second => {
                        b.attempted2 += 1;
                        b.accepted2 += u32::from(ok);
                    }
                }
                if ok && score < 0.0 {
                    if self.kind == Kind::Fm(Attack::Degradation) && self.book.phase.is_none() {
                        self.book.phase = Some((day - 91) / 30);
                    }
                    if let Some(f) = self.facts()
                        && day >= f.d0
                        && f.attackers.contains(&s)
                        && self.detect.day.is_none()
                    {
                        self.detect.day = Some(day);
                        self.detect.by = Some("accused".into());
                    }
                }
                let verdict = if ok { "accepted" } else { "rejected" };
                let what = if score < 0.0 { "accusation" } else { "praise" };
                ctx.note(Some(self.agent(s)), || {
                    format!(
                        "{} receives {what} {score:+.3} ({class}) from {}: {verdict}",
                        self.who(s, others),
                        self.who(a, others)
                    )
                });
                ctx.note(Some(self.agent(a)), || {
                    format!("{} makes {what} {score:+.3} of {}: {verdict}", self.who(a, others), self.who(s, others))
                });
            }
            Ev::Resolve { a, s, verified_bad, .. } => {
                let (boost, made) = if ctx.tracing() {
                    (self.engine.boost(Ident(s)), self.engine.assertions().len())
                } else {
                    (0.0, 0)
                };
                self.engine.resolve_accusation(Ident(a), Ident(s), verified_bad).expect("valid identities");
                self.book.resolved = true;
                self.record(|x| Call::Resolve { accuser: x.name(a), subject: x.name(s), verified_bad });
                let penalised = ctx.tracing() && self.engine.assertions().len() > made;
                ctx.note(Some(self.agent(a)), || {
                    let then = if penalised { "; a false-accusation penalty is asserted against it" } else { "" };
                    format!(
                        "{}'s accusation of {} resolved (verified bad: {verified_bad}){then}",
                        self.who(a, others),
                        self.who(s, others)
                    )
                });
                ctx.note(Some(self.agent(s)), || {
                    format!(
                        "{}: accusation by {} resolved; verification boost {boost:.3} -> {:.3}",
                        self.who(s, others),
                        self.who(a, others),
                        self.engine.boost(Ident(s))
                    )
                });
            }
            Ev::CreateIdentity { k, .. } => {
                let name = self.later[k as usize].clone();
                let i = self.engine.create_identity(&name);
                self.record(|_| Call::CreateIdentity { id: name.clone() });
                ctx.note(Some(self.agent(i.0)), || format!("{} created", self.who(i.0, others)));
            }
            Ev::Transfer { from, to, .. } => {
                let amount = self.engine.coins(Ident(from)).0;
                let r = self.engine.transfer(Ident(from), Ident(to), amount).expect("valid transfer");
                self.book.transfer = (amount, r.received, r.burned);
                self.record(|x| Call::Transfer {
                    sender: x.name(from),
                    receiver: x.name(to),
                    amount,
                    received: r.received,
                    burned: r.burned,
                });
                ctx.note(Some(self.agent(from)), || {
                    format!(
                        "{} transfers {amount:.2} to {}: {:.2} received, {:.2} burned",
                        self.who(from, others),
                        self.who(to, others),
                        r.received,
                        r.burned
                    )
                });
                ctx.note(Some(self.agent(to)), || {
                    format!(
                        "{} receives {:.2} of {amount:.2} from {}; balance {:.2}",
                        self.who(to, others),
                        r.received,
                        self.who(from, others),
                        self.engine.coins(Ident(to)).0
                    )
                });
            }
            Ev::BuildEdges { .. } => {
                self.engine.build_edge_snapshot();
                self.record_edges();
                ctx.note(None, || {
                    let e = self.engine.edge_snapshot_summary();
                    format!("{}: edge map built, {} edges (total weight {:.4})", self.class(), e.n_edges, e.sum_w)
                });
            }
            Ev::LocalQuery { observer, subject, tag, .. } => {
                let l = self.local(observer, subject);
                let k = match tag {
                    LTag::A => 0,
                    LTag::B => 1,
                    LTag::BAfter => 2,
                };
                self.book.local[k] = l;
                ctx.note(Some(self.agent(subject)), || {
                    format!(
                        "{} seen by {} with local trust {l:.4}",
                        self.who(subject, others),
                        self.who(observer, others)
                    )
                });
            }
            Ev::ClusterQuery { .. } => {
                let w = self.engine.clusters().weights;
                self.record(|s| Call::DetectClusters {
                    result: (0..s.engine.len()).map(|i| (s.name(i as u32), w[i])).collect(),
                });
                if let Some(f) = self.facts() {
                    self.book.flagged = Some(f.attackers.iter().filter(|&&a| w[a as usize] < 1.0).count() as u32);
                }
                ctx.note(None, || {
                    let low: Vec<String> = (0..w.len())
                        .filter(|&i| w[i] < 1.0)
                        .map(|i| format!("{} (w {:.4})", self.who(i as u32, others), w[i]))
                        .collect();
                    let low = if low.is_empty() { "none".to_string() } else { low.join(", ") };
                    format!("{}: cluster query; identities with w < 1: {low}", self.class())
                });
            }
            Ev::ReadRate { .. } => {
                self.book.rate = self.rate(0);
                let r = self.book.rate;
                ctx.note(Some(self.agent(0)), || format!("{} verification rate {r:.4}", self.who(0, others)));
            }
            Ev::Checkpoint { k, .. } => {
                let k = k as usize;
                let label = self.cps[k].0.clone();
                ctx.note(None, || format!("{}: checkpoint `{label}`", self.class()));
                self.solve(ctx, Some(k), others);
                if self.kind == Kind::Fm(Attack::LongCon) && k == 0 {
                    let t = self.engine.trust(Ident(0));
                    self.book.s_before = self.engine.payment_share(t);
                    self.book.delay_before = self.engine.escrow_delay(t, 100.0);
                    let d = self.book.delay_before;
                    self.record(|_| Call::EscrowDelay { trust: t, value: 100.0, result: d });
                }
            }
            Ev::Recompute { .. } => {
                if self.engine.dirty() {
                    self.solve(ctx, None, others);
                } else {
                    ctx.note(None, || format!("{}: nothing changed since the last solve; trust kept", self.class()));
                }
            }
        }
    }
}

/// A day's draws and scheduling, for the scripts.
pub struct DayCtx<'a, 'b, 'c> {
    slot: &'a mut Slot,
    ctx: &'b mut Ctx<'c, Ev>,
    idx: u16,
    /// The kinds of the events scheduled, when tracing.
    kinds: Option<Vec<&'static str>>,
}

impl DayCtx<'_, '_, '_> {
    fn now(&self) -> SimTime {
        self.ctx.now()
    }

    fn push(&mut self, ev: Ev) {
        let t = self.now();
        if let Some(k) = &mut self.kinds {
            k.push(ev.kind());
        }
        self.ctx.schedule(t, ev);
    }

    /// The attack parameters.
    pub fn ap(&self) -> AttackParams {
        self.slot.ap
    }

    /// bern(p) on row `row`: one uniform u in [0, 1), true iff u < p.
    pub fn bern(&mut self, row: usize, p: f64) -> bool {
        let u: f64 = self.ctx.rng(self.slot.sbase + row).random();
        u < p
    }

    /// pick among n on row `row`.
    pub fn pick(&mut self, row: usize, n: usize) -> usize {
        self.ctx.rng(self.slot.sbase + row).random_range(0..n)
    }

    /// unif(a, b) on row `row`.
    pub fn unif(&mut self, row: usize, a: f64, b: f64) -> f64 {
        let u: f64 = self.ctx.rng(self.slot.sbase + row).random();
        a + (b - a) * u
    }

    /// tx(c→p).
    pub fn tx(&mut self, c: usize, p: usize, rw: f64, dur: f64, vs: f64) {
        self.tx_credit(c, p, rw, dur, vs, 0.0);
    }

    /// tx(c→p) and p.balance += credit.
    pub fn tx_credit(&mut self, c: usize, p: usize, rw: f64, dur: f64, vs: f64, credit: f64) {
        let slot = self.idx;
        self.push(Ev::Transaction { slot, c: c as u32, p: p as u32, rw, dur, vs, credit });
    }

    /// An assertion.
    pub fn assert(&mut self, a: usize, s: usize, score: f64, class: Class, evidence: bool, tag: ATag) {
        let slot = self.idx;
        self.push(Ev::Assertion { slot, a: a as u32, s: s as u32, score, class, evidence, tag });
    }

    /// resolve(a, s).
    pub fn resolve(&mut self, a: usize, s: usize, verified_bad: bool) {
        let slot = self.idx;
        self.push(Ev::Resolve { slot, a: a as u32, s: s as u32, verified_bad });
    }

    /// Create the k-th later identity.
    pub fn create(&mut self, k: u32) {
        let slot = self.idx;
        self.push(Ev::CreateIdentity { slot, k });
    }

    /// Transfer the whole balance.
    pub fn transfer_all(&mut self, from: usize, to: usize) {
        let slot = self.idx;
        self.push(Ev::Transfer { slot, from: from as u32, to: to as u32 });
    }

    /// Build the edge map.
    pub fn build_edges(&mut self) {
        let slot = self.idx;
        self.push(Ev::BuildEdges { slot });
    }

    /// A local-trust query whose result the model keeps.
    pub fn local(&mut self, observer: usize, subject: usize, tag: LTag) {
        let slot = self.idx;
        self.push(Ev::LocalQuery { slot, observer: observer as u32, subject: subject as u32, tag });
    }

    /// A standalone cluster query.
    pub fn cluster_query(&mut self) {
        let slot = self.idx;
        self.push(Ev::ClusterQuery { slot });
    }

    /// Read the degrader's rate (reference, at a phase start).
    pub fn read_rate(&mut self) {
        if !self.slot.sw.daily() {
            let slot = self.idx;
            self.push(Ev::ReadRate { slot });
        }
    }

    /// Checkpoint k.
    pub fn checkpoint(&mut self, k: usize) {
        let slot = self.idx;
        self.push(Ev::Checkpoint { slot, k: k as u16 });
    }

    /// Degradation: the verification rate for the `[verify]` draw: the
    /// phase-start value (reference) or the live one (daily).
    pub fn degradation_rate(&mut self) -> f64 {
        if self.slot.sw.daily() { self.slot.rate(0) } else { self.slot.book.rate }
    }

    /// Long Con: a job on exploit day k worth 24·s.
    pub fn long_con_job(&mut self, k: u32) {
        let s = &mut self.slot;
        let (share, delay) = if s.sw.daily() {
            let t = s.engine.trust(Ident(0));
            let (sh, de) = (s.engine.payment_share(t), s.engine.escrow_delay(t, 100.0));
            s.record(|_| Call::EscrowDelay { trust: t, value: 100.0, result: de });
            (sh, de)
        } else {
            (s.book.s_before, s.book.delay_before)
        };
        let half = 12.0 * share;
        if s.sw.clawback_once {
            s.book.immediate += half;
            let release = s.engine.day() + delay as u32;
            s.book.held.push(Held { amount: half, release, clawed: false });
        } else {
            s.book.escrow.job(k, half, delay);
        }
    }

    /// Long Con: a complaint on exploit day k claws back.
    pub fn long_con_complaint(&mut self, k: u32) {
        let s = &mut self.slot;
        if s.sw.clawback_once {
            let d = s.engine.day();
            for h in s.book.held.iter_mut().filter(|h| !h.clawed && d < h.release) {
                h.clawed = true;
            }
        } else {
            s.book.escrow.complaint(k);
        }
    }

    /// Arbitrage: the arbitrageur seen by `c`, and the payment share to use.
    pub fn arbitrage_query(&mut self, c: usize) -> (f64, f64) {
        let l = self.slot.local(c as u32, 6);
        let share = if self.slot.sw.daily() { l } else { self.slot.book.local[1] };
        (l, self.slot.engine.payment_share(share))
    }

    /// Arbitrage: a job accepted or rejected, with its profit.
    pub fn arbitrage_job(&mut self, accepted: bool, profit: f64) {
        let b = &mut self.slot.book;
        b.profit += profit;
        if accepted {
            b.jobs.0 += 1;
        } else {
            b.jobs.1 += 1;
        }
    }

    /// Redemption: coins extracted.
    pub fn redemption_extract(&mut self, x: f64) {
        self.slot.book.profit += x;
    }

    /// Crisis: a pass of the victim.
    pub fn crisis_pass(&mut self) {
        self.slot.book.passes += 1;
    }

    /// Crisis: passes so far.
    pub fn crisis_passes(&self) -> u32 {
        self.slot.book.passes
    }
}

/// The other runs of the model than the one handling an event (to qualify
/// the names they share).
pub struct Others<'a>(&'a [Slot], &'a [Slot]);

impl Others<'_> {
    /// Whether another run has an identity named `name`.
    fn hold(&self, name: &str) -> bool {
        self.0.iter().chain(self.1).any(|s| (0..s.engine.len()).any(|i| s.engine.name(Ident(i as u32)) == name))
    }
}

/// A `StartDay` line: what the day's draws scheduled.
fn day_line(class: &str, d: u32, kinds: &[&'static str]) -> String {
    let mut counts: Vec<(&str, u32)> = Vec::new();
    for k in kinds {
        match counts.iter_mut().find(|c| c.0 == *k) {
            Some(c) => c.1 += 1,
            None => counts.push((k, 1)),
        }
    }
    let what: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
    let what = if what.is_empty() { "nothing".to_string() } else { what.join(", ") };
    format!("{class}: day {d} starts; its draws schedule {what}")
}

/// The kinds (scenarios or attacks) a run of `p` simulates, in order.
fn kinds(p: &Params) -> Vec<Kind> {
    match p.study {
        StudyKind::Dynamics => p.scenarios.iter().map(|&s| Kind::Td(s)).collect(),
        StudyKind::FailureModes => p.attacks.iter().map(|&a| Kind::Fm(a)).collect(),
    }
}

/// Simulated time of a run of `p`: the last day of its longest script.
pub fn horizon(p: &Params) -> SimTime {
    let d = kinds(p).into_iter().map(|k| scripts::last_day(k, &p.attack)).max().unwrap_or(0);
    SimTime(u64::from(d) * TICKS_PER_DAY)
}

/// Every listed scenario (or attack), in every variant.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrustModel {
    /// Resolved parameters.
    pub params: Params,
    /// Scenario × variant, scenario-major.
    pub slots: Vec<Slot>,
}

impl TrustModel {
    /// A model at day 0 (identities created).
    pub fn new(params: Params) -> TrustModel {
        let kinds = kinds(&params);
        let mut slots = Vec::new();
        for (v, (_, f, sw)) in params.variants().into_iter().enumerate() {
            for &k in &kinds {
                slots.push(Slot::new(k, v as u8, f, sw, &params));
            }
        }
        TrustModel { params, slots }
    }

    /// Identity `i` of run `s` as a user types it: its name, or
    /// `<class>.<name>` when another run has that name too.
    fn typed(&self, s: &Slot, i: u32) -> String {
        let n = s.engine.name(Ident(i));
        let shared = self
            .slots
            .iter()
            .any(|o| !std::ptr::eq(o, s) && (0..o.engine.len()).any(|j| o.engine.name(Ident(j as u32)) == n));
        if shared { format!("{}.{n}", s.class()) } else { n.to_string() }
    }

    /// Record every slot's engine calls as a trace (for replay tests).
    pub fn start_recording(&mut self, seed: u64) {
        for s in &mut self.slots {
            let tag = match s.kind {
                Kind::Td(x) => format!("ts_{}", x.id()),
                Kind::Fm(a) => format!("fm_{}", a.id()),
            };
            s.start_recording(tag, seed);
        }
    }

    fn slot_of(&self, ev: &Ev) -> usize {
        let s = match ev {
            Ev::StartDay { slot, .. }
            | Ev::Transaction { slot, .. }
            | Ev::Assertion { slot, .. }
            | Ev::Resolve { slot, .. }
            | Ev::CreateIdentity { slot, .. }
            | Ev::Transfer { slot, .. }
            | Ev::BuildEdges { slot }
            | Ev::LocalQuery { slot, .. }
            | Ev::ClusterQuery { slot }
            | Ev::ReadRate { slot }
            | Ev::Checkpoint { slot, .. }
            | Ev::Recompute { slot } => *slot,
        };
        s as usize
    }
}

#[path = "validate.rs"]
mod validate;
pub(crate) use validate::fresh_run;

impl Model for TrustModel {
    type Event = Ev;
    const STREAMS: &'static [&'static str] = &scripts::STREAM_NAMES;
    const AGENT_CLASSES: &'static [&'static str] = AGENT_CLASSES;
    const TIME_UNIT: TimeUnit = TimeUnit::Days;

    fn kind(&self) -> &'static str {
        self.params.study.id()
    }

    fn start(&mut self, ctx: &mut Ctx<'_, Ev>) {
        for (i, s) in self.slots.iter().enumerate() {
            if s.last_day >= 1 {
                ctx.schedule(SimTime(TICKS_PER_DAY), Ev::StartDay { slot: i as u16, day: 1 });
            }
        }
    }

    fn handle(&mut self, ev: Ev, ctx: &mut Ctx<'_, Ev>) {
        let k = self.slot_of(&ev);
        let (before, rest) = self.slots.split_at_mut(k);
        let (slot, after) = rest.split_first_mut().expect("the event's run exists");
        slot.handle(ev, ctx, &Others(before, after));
    }

    fn horizon(&self) -> SimTime {
        horizon(&self.params)
    }

    fn check_invariants(&self) -> Result<(), String> {
        for s in &self.slots {
            for i in 0..s.engine.len() {
                let t = s.engine.trust(Ident(i as u32));
                if !(t.is_finite() && t >= 0.0) {
                    return Err(format!("{} {}: trust {t} is not finite and >= 0", s.kind.id(), s.name(i as u32)));
                }
                let w = s.engine.weight(Ident(i as u32));
                if !(w > 0.0 && w <= 1.0) {
                    return Err(format!("{} {}: cluster weight {w} outside (0, 1]", s.kind.id(), s.name(i as u32)));
                }
            }
        }
        Ok(())
    }

    fn validate(&self, audit: &crate::engine::Audit<'_, Self>) -> Result<(), String> {
        validate::validate(self, audit)
    }

    fn agent_counts(&self) -> Vec<(&'static str, usize)> {
        self.slots.iter().map(|s| (s.class(), s.engine.len())).collect()
    }

    fn find_agent(&self, name: &str) -> Result<AgentRef, String> {
        let groups: Vec<NamedGroup<'_>> =
            self.slots.iter().map(|s| NamedGroup { class: s.class(), names: s.names() }).collect();
        find_named(name, &groups)
    }

    fn agent_fields(&self, agent: AgentRef) -> Option<Vec<(&'static str, f64)>> {
        let s = self.slots.iter().find(|s| s.class() == agent.class)?;
        if agent.id as usize >= s.engine.len() {
            return None;
        }
        let (i, e) = (Ident(agent.id), &s.engine);
        let (prov, cons) = e.transactions_of(i);
        let (recv, made) = e.assertions_of(i);
        let (balance, earned, spent) = e.coins(i);
        let n = |x: &[u32]| x.len() as f64;
        Some(vec![
            ("trust", e.trust(i)),
            ("weight", e.weight(i)),
            ("penalty", e.penalty(i)),
            ("boost", e.boost(i)),
            ("verification_rate", e.verification_rate(i)),
            ("balance", balance),
            ("earned", earned),
            ("spent", spent),
            ("provider_transactions", n(prov)),
            ("consumer_transactions", n(cons)),
            ("assertions_received", n(recv)),
            ("assertions_made", n(made)),
        ])
    }

    fn describe_agent(&self, agent: AgentRef) -> Option<String> {
        let s = self.slots.iter().find(|s| s.class() == agent.class)?;
        if agent.id as usize >= s.engine.len() {
            return None;
        }
        let i = Ident(agent.id);
        let e = &s.engine;
        let (prov, cons) = e.transactions_of(i);
        let (recv, made) = e.assertions_of(i);
        let (bal, earned, spent) = e.coins(i);
        Some(format!(
            "{} ({agent}): created day {}, T = {:.4}, w = {:.4}, penalty {:.4}, boost {:.4}, verification rate {:.3}; \
             {} provider and {} consumer transactions, {} assertions received and {} made; \
             balance {bal:.2} (earned {earned:.2}, spent {spent:.2})",
            self.typed(s, agent.id),
            e.created(i),
            e.trust(i),
            e.weight(i),
            e.penalty(i),
            e.boost(i),
            e.verification_rate(i),
            prov.len(),
            cons.len(),
            recv.len(),
            made.len(),
        ))
    }

    fn describe(&self) -> String {
        let parts: Vec<String> = self
            .slots
            .iter()
            .map(|s| {
                let names: Vec<String> =
                    (0..s.engine.len()).map(|i| format!("{} = {}{i}", self.typed(s, i as u32), s.class())).collect();
                format!(
                    "{} [{}, {}]: day {} of {}, {} solves; identities: {}",
                    s.class(),
                    s.fidelity.name(),
                    if s.sw.daily() { "daily" } else { "checkpoints" },
                    s.engine.day(),
                    s.last_day,
                    s.engine.stats().solves,
                    names.join(", ")
                )
            })
            .collect();
        parts.join("; ")
    }
}
