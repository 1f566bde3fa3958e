//! The monetary-policy studies as an engine `Model` (docs/models/monetary_policy.md):
//! one model runs every listed experiment in every arm, each on its own
//! trust engine, policy and random streams, day by day.
//!
//! A day d of one run is a chain of events at time d: `StartDay` (the
//! scenario's draws, which schedule `CreateIdentity`, `Purchase` and
//! `Assertion` events, one per engine call), `Solve`, `Metrics`, `Policy`
//! (arms with the policy only) and `Rollover` (counters reset, the mint of
//! day d+1, the next `StartDay`). Same-time events run in scheduling order.

use super::config::{Arm, Params, Script};
use super::scripts::{self, Roles};
use crate::engine::rng::{StreamRng, stream};
use crate::engine::trace::fold;
use crate::engine::trace::{NamedGroup, find_named};
use crate::engine::{AgentRef, Ctx, EventInfo, Model, SimTime, TICKS_PER_DAY, TimeUnit};
use crate::policy::metrics::ratio;
use crate::policy::{DailyMetrics, Param, PolicyConfig, PolicyParams, PolicyState, trust_stats};
use crate::trust::{Ident, TrustEngine};
use rand::RngExt;
use serde::{Deserialize, Serialize};
use std::sync::Mutex;

/// The streams of the scenarios' rows, one per kind of row, in index order.
pub const ROWS: [&str; 8] = ["honest", "whale", "attack", "praise", "assert", "sample", "completion", "verify"];
/// `[honest]`.
pub const HONEST: usize = 0;
/// `[whale]`.
pub const WHALE: usize = 1;
/// `[attack]`.
pub const ATTACK: usize = 2;
/// `[praise]`.
pub const PRAISE: usize = 3;
/// `[assert]`.
pub const ASSERT: usize = 4;
/// `[sample]`.
pub const SAMPLE: usize = 5;
/// `[completion]`.
pub const COMPLETION: usize = 6;
/// `[verify]`.
pub const VERIFY: usize = 7;

/// Agent classes: one per arm name (identity index within that arm's run).
pub const AGENT_CLASSES: &[&str] = &[
    "off",
    "on",
    "no_policy",
    "conservative",
    "moderate",
    "aggressive",
    "kp_0p01",
    "kp_0p05",
    "kp_0p1",
    "kp_0p2",
    "kp_0p5",
];

/// `<experiment>.<arm>` as a `&'static str` (an agent class), made once per
/// distinct name: there are at most experiments x arm names of them.
fn intern(name: String) -> &'static str {
    static NAMES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(n) = names.iter().find(|n| **n == name) {
        return n;
    }
    let n: &'static str = name.leak();
    names.push(n);
    n
}

/// How the notes of one run's event name agents: whether classes name the
/// experiment, and the model's other runs (whose names an identity's name
/// may share).
struct Tag<'a> {
    multi: bool,
    others: [&'a [Slot]; 2],
}

/// The model's events.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Ev {
    /// Agent actions of the day: the scenario's draws.
    StartDay {
        /// The run (experiment and arm) the event belongs to.
        slot: u16,
    },
    /// Create the k-th identity the scenario creates after day 0.
    CreateIdentity {
        /// The run.
        slot: u16,
        /// Which of the identities planned after day 0 (in planning order).
        k: u32,
    },
    /// A purchase c→p of w resource units for h hours with verification score v.
    Purchase {
        /// The run.
        slot: u16,
        /// Consumer (identity index).
        c: u32,
        /// Provider (identity index).
        p: u32,
        /// Resource units bought.
        w: f64,
        /// Hours bought; the price is w x h.
        h: f64,
        /// Verification score of the service (compared with `economy.pass_score`).
        v: f64,
        /// Whether the session completed.
        completed: bool,
        /// Whether the provider originates a verification of its own.
        origin: bool,
    },
    /// An assertion (praise with evidence, accusation without).
    Assertion {
        /// The run.
        slot: u16,
        /// Asserter (identity index).
        a: u32,
        /// Subject (identity index).
        s: u32,
        /// Score: > 0 praise, < 0 accusation.
        score: f64,
        /// Whether the assertion carries evidence.
        evidence: bool,
    },
    /// Cluster weights and the fixed point.
    Solve {
        /// The run.
        slot: u16,
    },
    /// The day's metrics.
    Metrics {
        /// The run.
        slot: u16,
    },
    /// The policy (arms with the policy only).
    Policy {
        /// The run.
        slot: u16,
    },
    /// Counters reset, next day's mint, next `StartDay`.
    Rollover {
        /// The run.
        slot: u16,
    },
}

impl Ev {
    fn slot(&self) -> usize {
        let s = match self {
            Ev::StartDay { slot }
            | Ev::CreateIdentity { slot, .. }
            | Ev::Purchase { slot, .. }
            | Ev::Assertion { slot, .. }
            | Ev::Solve { slot }
            | Ev::Metrics { slot }
            | Ev::Policy { slot }
            | Ev::Rollover { slot } => *slot,
        };
        s as usize
    }
}

impl EventInfo for Ev {
    fn kind(&self) -> &'static str {
        match self {
            Ev::StartDay { .. } => "StartDay",
            Ev::CreateIdentity { .. } => "CreateIdentity",
            Ev::Purchase { .. } => "Purchase",
            Ev::Assertion { .. } => "Assertion",
            Ev::Solve { .. } => "Solve",
            Ev::Metrics { .. } => "Metrics",
            Ev::Policy { .. } => "Policy",
            Ev::Rollover { .. } => "Rollover",
        }
    }
}

/// The day counters, reset at rollover.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DayCounters {
    /// Purchases made today.
    pub purchases: u32,
    /// Their total price w x h.
    pub volume: f64,
    /// Purchases whose session completed.
    pub completed: u32,
    /// Purchases sampled for verification.
    pub sampled: u32,
    /// Sampled purchases whose score reached the pass score.
    pub passed: u32,
    /// Sampled purchases below the pass score.
    pub failed: u32,
    /// Coins burned by today's payments.
    pub burns: f64,
    /// Coins minted for today (0 while no identity has effective trust).
    pub mint: f64,
    /// Verifications originated: one per sampled purchase, plus one per purchase whose buyer
    /// originates one itself.
    pub originated: u32,
    /// Identities created today (on day 0, the initial cast).
    pub created: u32,
    /// Accusations accepted today.
    pub accepted: u32,
    /// Accusations rejected today.
    pub rejected: u32,
    /// Identities that made an accepted accusation today (once each).
    pub accusers: Vec<u32>,
}

/// What the model keeps per identity beside the trust engine.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Books {
    /// All-time Σ P as provider.
    pub vol_provider: f64,
    /// All-time Σ P as consumer.
    pub vol_consumer: f64,
    /// Day of the last purchase in either role.
    pub last_tx: Option<u32>,
    /// All-time Σ P bought from each provider (provider, volume).
    pub bought: Vec<(u32, f64)>,
}

/// One experiment in one arm.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Slot {
    /// The experiment.
    pub script: Script,
    /// The arm.
    pub arm: Arm,
    /// Days it runs.
    pub days: u32,
    /// The trust engine (reference: its parameters frozen at the scenario's).
    pub engine: TrustEngine,
    /// The policy's state; its parameter set is what payments read (and,
    /// under live wiring, the solve and the cluster test).
    pub policy: PolicyState,
    /// One `DailyMetrics` per day (`history[k].day == k`).
    pub history: Vec<DailyMetrics>,
    /// Who plays which part.
    pub roles: Roles,
    /// Names of identities created after day 0, in creation order.
    pub later: Vec<String>,
    /// Identities created or scheduled for creation.
    pub planned: u32,
    /// Per identity.
    pub books: Vec<Books>,
    /// Today's counters.
    pub today: DayCounters,
    /// Flagged groups of the last solve (members sorted).
    pub flagged: Vec<Vec<u32>>,
    /// The `[row]` streams (seeded at start).
    pub streams: Vec<StreamRng>,
    /// Draws per stream.
    pub draws: [u64; 8],
    /// Fingerprint of T, w and every trust-side field, day by day.
    pub trust_fp: u64,
    /// Whether the solve uses the live parameters.
    pub live: bool,
}

impl Slot {
    fn new(p: &Params, script: Script, arm: Arm) -> Slot {
        let mut trust = p.trust.clone();
        trust.k_payment = arm.k_payment;
        let engine = TrustEngine::new(trust.clone(), p.rules).expect("parameters were validated");
        let params = PolicyParams {
            k_payment: arm.k_payment,
            k_transfer: trust.k_transfer,
            isolation_threshold: trust.isolation_threshold,
            tau_transaction: trust.tau_transaction,
        };
        let mut s = Slot {
            script,
            days: p.days_of(script),
            arm,
            engine,
            policy: PolicyState::new(params),
            history: Vec::new(),
            roles: Roles::default(),
            later: Vec::new(),
            planned: 0,
            books: Vec::new(),
            today: DayCounters::default(),
            flagged: Vec::new(),
            streams: Vec::new(),
            draws: [0; 8],
            trust_fp: 0,
            live: p.sw.live,
        };
        for (name, role) in scripts::initial(script) {
            let i = s.engine.create_identity(&name);
            s.books.push(Books::default());
            s.roles.add(role, i.0);
            s.planned += 1;
        }
        s.today.created = s.planned;
        s
    }

    /// The agent class of this slot's identities: the arm's name (`on`), or
    /// `<experiment>.<arm>` (`hoarding.on`) when the model runs several
    /// experiments (`multi`), so every run's identities can be named.
    pub fn class(&self, multi: bool) -> &'static str {
        if multi {
            intern(format!("{}.{}", self.script.id(), self.arm.name))
        } else {
            AGENT_CLASSES.iter().copied().find(|c| *c == self.arm.name).unwrap_or("off")
        }
    }

    /// Identity `i` as output names it: its name, or `<class>.<name>` when
    /// another run of the model has an identity of that name (every arm of an
    /// experiment has the same cast).
    fn who(&self, i: u32, tag: &Tag<'_>) -> String {
        let n = self.engine.name(Ident(i));
        if tag.others.iter().flat_map(|x| x.iter()).any(|o| o.has_name(n)) {
            format!("{}.{n}", self.class(tag.multi))
        } else {
            n.to_string()
        }
    }

    fn has_name(&self, n: &str) -> bool {
        (0..self.engine.len()).any(|i| self.engine.name(Ident(i as u32)) == n)
    }

    /// `off arm of baseline`, for the lines of run-wide events.
    fn run_name(&self) -> String {
        format!("{} arm of {}", self.arm.name, self.script.id())
    }

    /// The engine day (= the day being simulated).
    pub fn day(&self) -> u32 {
        self.engine.day()
    }

    /// One uniform draw in [0, 1) on `row`.
    pub fn u(&mut self, row: usize) -> f64 {
        self.draws[row] += 1;
        self.streams[row].random()
    }

    /// bern(p).
    pub fn bern(&mut self, row: usize, p: f64) -> bool {
        self.u(row) < p
    }

    /// pick: one unbiased index in [0, n).
    pub fn pick(&mut self, row: usize, n: usize) -> usize {
        self.draws[row] += 1;
        self.streams[row].random_range(0..n)
    }

    /// unif(a, b) = a + (b − a)·u.
    pub fn unif(&mut self, row: usize, (a, b): (f64, f64)) -> f64 {
        a + (b - a) * self.u(row)
    }

    /// sample(L, k): partial Fisher–Yates on a copy of L.
    pub fn sample(&mut self, row: usize, list: &[u32], k: usize) -> Vec<u32> {
        let mut l = list.to_vec();
        let n = l.len();
        let k = k.min(n);
        for j in 0..k {
            let r = j + self.pick(row, n - j);
            l.swap(j, r);
        }
        l.truncate(k);
        l
    }

    /// Plan the creation of an identity named `name`; returns its index.
    pub fn create(&mut self, name: String, out: &mut Vec<Ev>, slot: u16) -> u32 {
        let k = self.later.len() as u32;
        self.later.push(name);
        out.push(Ev::CreateIdentity { slot, k });
        let i = self.planned;
        self.planned += 1;
        i
    }

    /// Whether some flagged group of the last solve holds both.
    fn same_flagged(&self, a: u32, b: u32) -> bool {
        self.flagged.iter().any(|g| g.binary_search(&a).is_ok() && g.binary_search(&b).is_ok())
    }

    fn purchase(&mut self, ev: &Ev, ctx: &mut Ctx<'_, Ev>, pass_score: f64, tag: &Tag<'_>) {
        let Ev::Purchase { c, p, w, h, v, completed, origin, .. } = *ev else { unreachable!() };
        let d = self.day();
        self.engine.add_transaction(Ident(c), Ident(p), w, h, v).expect("scripts make valid purchases");
        let rate = self.engine.params().base_verification_rate;
        let sampled = self.u(VERIFY) < rate;
        let passed = v >= pass_score;
        let price = w * h;
        let (tc, tp) = (self.engine.trust(Ident(c)), self.engine.trust(Ident(p)));
        let k = &self.policy.params;
        let received = if self.live && self.same_flagged(c, p) {
            let b = 1.0 / (1.0 + k.k_transfer * tc.min(tp));
            price * (1.0 - b)
        } else {
            let s = 1.0 - 1.0 / (1.0 + k.k_payment * tp);
            price * s
        };
        let burned = price - received;
        self.engine.credit(Ident(p), received).expect("finite amount");
        let t = &mut self.today;
        t.purchases += 1;
        t.volume += price;
        t.completed += u32::from(completed);
        t.sampled += u32::from(sampled);
        t.passed += u32::from(sampled && passed);
        t.failed += u32::from(sampled && !passed);
        t.burns += burned;
        t.originated += u32::from(sampled) + u32::from(origin);
        self.books[p as usize].vol_provider += price;
        self.books[p as usize].last_tx = Some(d);
        let bc = &mut self.books[c as usize];
        bc.vol_consumer += price;
        bc.last_tx = Some(d);
        match bc.bought.iter_mut().find(|(q, _)| *q == p) {
            Some(e) => e.1 += price,
            None => bc.bought.push((p, price)),
        }
        if ctx.tracing() {
            let cls = self.class(tag.multi);
            ctx.note(Some(AgentRef::new(cls, p)), || {
                format!(
                    "{} sells to {}: P = {price:.3} (v {v:.3}{}{}), receives {received:.4}, burns {burned:.4}; balance {:.3}",
                    self.who(p, tag),
                    self.who(c, tag),
                    if sampled { ", sampled" } else { "" },
                    if completed { "" } else { ", not completed" },
                    self.engine.coins(Ident(p)).0
                )
            });
            ctx.note(Some(AgentRef::new(cls, c)), || {
                format!("{} buys from {} for P = {price:.3}", self.who(c, tag), self.who(p, tag))
            });
        }
    }

    fn assertion(&mut self, a: u32, s: u32, score: f64, evidence: bool, ctx: &mut Ctx<'_, Ev>, tag: &Tag<'_>) {
        let class = if score < 0.0 { "MALICIOUS_BEHAVIOR" } else { "EXCELLENT_SERVICE" };
        let ok = self.engine.add_assertion(Ident(a), Ident(s), score, class, evidence).expect("valid assertion");
        if score < 0.0 {
            if ok {
                self.today.accepted += 1;
                if !self.today.accusers.contains(&a) {
                    self.today.accusers.push(a);
                }
            } else {
                self.today.rejected += 1;
            }
        }
        if ctx.tracing() {
            let cls = self.class(tag.multi);
            let verdict = if ok { "accepted" } else { "rejected" };
            let what = if score < 0.0 { "accusation" } else { "praise" };
            ctx.note(Some(AgentRef::new(cls, a)), || {
                format!("{} makes {what} {score:+.3} of {}: {verdict}", self.who(a, tag), self.who(s, tag))
            });
            ctx.note(Some(AgentRef::new(cls, s)), || {
                format!("{} receives {what} {score:+.3} from {}: {verdict}", self.who(s, tag), self.who(a, tag))
            });
        }
    }

    fn solve(&mut self, ctx: &mut Ctx<'_, Ev>, tag: &Tag<'_>) {
        let cl = self.engine.clusters();
        let n = self.engine.len();
        let flags: Vec<bool> = if self.live {
            let thr = self.policy.params.isolation_threshold;
            let mut mark = vec![u32::MAX; n];
            cl.groups
                .iter()
                .enumerate()
                .map(|(k, g)| {
                    for &m in g {
                        mark[m as usize] = k as u32;
                    }
                    let (mut inside, mut all) = (0.0, 0.0);
                    for &m in g {
                        let b = &self.books[m as usize];
                        all += b.vol_provider + b.vol_consumer;
                        for &(q, v) in &b.bought {
                            if mark[q as usize] == k as u32 {
                                inside += v;
                            }
                        }
                    }
                    ratio(inside, all - inside) > thr
                })
                .collect()
        } else {
            cl.flagged.clone()
        };
        let mut weights = vec![1.0; n];
        self.flagged.clear();
        for (g, &f) in cl.groups.iter().zip(&flags) {
            if f {
                let w = 1.0 / g.len() as f64;
                for &m in g {
                    weights[m as usize] = w;
                }
                let mut sorted = g.clone();
                sorted.sort_unstable();
                self.flagged.push(sorted);
            }
        }
        let rep = self.engine.solve_with_weights(weights);
        if ctx.tracing() {
            let cls = self.class(tag.multi);
            for i in 0..n {
                let t = self.engine.trust(Ident(i as u32));
                ctx.note(Some(AgentRef::new(cls, i as u32)), || {
                    format!(
                        "{} T = {t:.4} (age {:.4}, tx {:.4}, assertions {:.4}, penalty {:.4}), w = {:.4}",
                        self.who(i as u32, tag),
                        rep.age[i],
                        rep.tx[i],
                        rep.assertion[i],
                        rep.penalty[i],
                        rep.weight[i]
                    )
                });
            }
            let (it, conv) = (rep.iterations, rep.converged);
            let groups = self.flagged.len();
            ctx.note(None, || {
                format!("{}: solve: {it} iterations (converged: {conv}), {groups} flagged group(s)", self.run_name())
            });
        }
    }

    fn metrics(&mut self, p: &Params, ctx: &mut Ctx<'_, Ev>) {
        let d = self.day();
        let e = &self.engine;
        let n = e.len();
        let mut xs: Vec<f64> = Vec::with_capacity(n);
        let (mut clustered, mut supply) = (0u32, 0.0);
        let (mut hoard, mut spenders, mut no_outflow) = (0u32, 0u32, 0u32);
        let (mut active, aw) = (0u32, p.economy.activity_window);
        let thr = e.params().runway_threshold;
        let mut fp = self.trust_fp;
        for i in 0..n {
            let id = Ident(i as u32);
            let t = e.trust(id);
            let w = e.weight(id);
            fp = fold(fold(fp, t.to_bits()), w.to_bits());
            if p.sw.stats_all || t > 0.0 {
                xs.push(t);
            }
            clustered += u32::from(w < 1.0);
            supply += e.coins(id).0;
            let r = e.runway(id);
            if r.is_infinite() {
                no_outflow += 1;
                hoard += u32::from(!p.sw.hoarding_spenders);
            } else {
                spenders += 1;
                hoard += u32::from(r > thr);
            }
            if self.books[i].last_tx.is_some_and(|l| u64::from(l) + u64::from(aw) >= u64::from(d)) {
                active += 1;
            }
        }
        let st = trust_stats(&mut xs);
        let t = &self.today;
        let nf = n as f64;
        let purchases = f64::from(t.purchases);
        let pass = ratio(f64::from(t.passed), f64::from(t.sampled));
        let accusation_count: u32 = t.accusers.iter().map(|&a| e.assertions_of(Ident(a)).1.len() as u32).sum();
        let m = DailyMetrics {
            day: d,
            total_identities: n as u32,
            active_identities: active,
            total_trust: st.total,
            mean_trust: st.mean,
            max_trust: st.max,
            min_trust: st.min,
            median_trust: st.median,
            trust_std: st.std,
            trust_gini: st.gini,
            daily_transactions: t.purchases,
            total_transaction_volume: t.volume,
            mean_transaction_value: ratio(t.volume, purchases),
            session_completion_rate: ratio(f64::from(t.completed), purchases),
            verification_pass_rate: pass,
            verification_failure_rate: if t.sampled > 0 { 1.0 - pass } else { 0.0 },
            daily_burn_volume: t.burns,
            daily_mint_volume: t.mint,
            total_coin_supply: supply,
            coin_velocity: ratio(t.volume, supply),
            hoarding_prevalence: if p.sw.hoarding_spenders {
                ratio(f64::from(hoard), f64::from(spenders))
            } else {
                ratio(f64::from(hoard), nf)
            },
            no_outflow_share: ratio(f64::from(no_outflow), nf),
            cluster_count: clustered,
            cluster_prevalence: ratio(f64::from(clustered), nf),
            accusation_count,
            accusation_rate: ratio(f64::from(accusation_count), purchases),
            accusations_accepted: t.accepted,
            accusations_rejected: t.rejected,
            verifications_sampled: t.sampled,
            verifications_failed: t.failed,
            verifications_originated: t.originated,
            verification_origination_rate: ratio(f64::from(t.originated), purchases),
            new_identities_created: t.created,
            anomaly_count: 0,
            new_identity_survival_rate: 0.0,
            time_to_viable_trust: 0.0,
            params: crate::policy::metrics::ParamsField(self.policy.params),
        };
        fp = m.fold_trust_side(fp, fold);
        self.trust_fp = fp;
        ctx.mix(fp);
        ctx.mix_f64(supply);
        ctx.note(None, || {
            format!(
                "{}, day {d}: N {n}, mean trust {:.4}, Gini {:.4}, cluster prevalence {:.4}, {} purchases, supply {:.2}",
                self.run_name(),
                m.mean_trust,
                m.trust_gini,
                m.cluster_prevalence,
                m.daily_transactions,
                m.total_coin_supply
            )
        });
        debug_assert_eq!(self.history.len(), d as usize);
        self.history.push(m);
    }

    fn run_policy(&mut self, cfg: &PolicyConfig, ctx: &mut Ctx<'_, Ev>) {
        let d = self.day();
        let (last, proposals) = (self.policy.last_adjustment, self.policy.proposals.len());
        let changed = self.policy.evaluate(cfg, d, &self.history);
        if !changed {
            ctx.note(None, || {
                let phase = cfg.phase(d);
                let why = if phase == crate::policy::Phase::Genesis {
                    "GENESIS phase, no rule runs".to_string()
                } else if i64::from(d) - last < i64::from(cfg.min_adjustment_interval) {
                    format!("last change on day {last}, next allowed {} days after it", cfg.min_adjustment_interval)
                } else if (d as usize + 1).min(self.history.len()) < cfg.window as usize || cfg.window == 0 {
                    format!("fewer than {} days of metrics", cfg.window)
                } else if self.policy.proposals.len() > proposals {
                    format!("{} phase: a change is proposed, not applied", phase.name())
                } else {
                    format!("{} phase: no rule triggered", phase.name())
                };
                let pp = &self.policy.params;
                format!(
                    "{}: policy evaluated, no change ({why}); k_payment {}, k_transfer {}, isolation_threshold {}, tau_transaction {}",
                    self.run_name(),
                    pp.k_payment,
                    pp.k_transfer,
                    pp.isolation_threshold,
                    pp.tau_transaction
                )
            });
        }
        if changed {
            let ev = self.policy.log.last().expect("an event was logged").clone();
            ctx.note(None, || {
                let ch: Vec<String> = ev
                    .changes
                    .iter()
                    .map(|c| {
                        format!(
                            "{} {} -> {} ({} {:.4})",
                            c.rule.param().name(),
                            c.old,
                            c.new,
                            c.rule.trigger_metric(),
                            c.trigger_value
                        )
                    })
                    .collect();
                format!("{}: policy event ({}): {}", self.run_name(), ev.phase.name(), ch.join("; "))
            });
            let tau = self.policy.params.tau_transaction;
            if self.live && self.engine.params().tau_transaction != tau {
                let mut tp = self.engine.params().clone();
                tp.tau_transaction = tau;
                self.engine.set_params(tp).expect("tau stays within its bounds");
            }
        }
    }

    fn rollover(&mut self, p: &Params, ctx: &mut Ctx<'_, Ev>, slot: u16, tag: &Tag<'_>) {
        let d = self.day();
        self.today = DayCounters::default();
        self.engine.set_day(d + 1).expect("time moves forward");
        // Mint{d+1}.
        let n = self.engine.len();
        let eff: Vec<f64> = (0..n).map(|i| self.engine.effective_trust(Ident(i as u32))).collect();
        let total: f64 = eff.iter().sum();
        if total > 0.0 {
            let mint = p.economy.daily_mint;
            let cls = if ctx.tracing() { self.class(tag.multi) } else { "" };
            for (i, &x) in eff.iter().enumerate() {
                if x > 0.0 {
                    self.engine.credit(Ident(i as u32), mint * x / total).expect("finite amount");
                    ctx.note(Some(AgentRef::new(cls, i as u32)), || {
                        format!(
                            "{} receives {:.4} of day {}'s mint (effective trust {x:.4}); balance {:.3}",
                            self.who(i as u32, tag),
                            mint * x / total,
                            d + 1,
                            self.engine.coins(Ident(i as u32)).0
                        )
                    });
                }
            }
            self.today.mint = mint;
            ctx.note(None, || {
                format!("{}: day {} mints {mint} over the effective trust {total:.4}", self.run_name(), d + 1)
            });
        } else {
            ctx.note(None, || format!("{}: day {} mints nothing (no effective trust)", self.run_name(), d + 1));
        }
        if d + 1 < self.days {
            ctx.schedule(SimTime(u64::from(d + 1) * TICKS_PER_DAY), Ev::StartDay { slot });
        }
    }
}

/// Every listed experiment, in every arm.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PolicyModel {
    /// Resolved parameters.
    pub params: Params,
    /// Experiment × arm, experiment-major.
    pub slots: Vec<Slot>,
}

impl PolicyModel {
    /// A model at day 0 (initial identities created).
    pub fn new(params: Params) -> PolicyModel {
        let mut slots = Vec::new();
        for &s in &params.scripts {
            for arm in params.arms_of(s) {
                slots.push(Slot::new(&params, s, arm));
            }
        }
        PolicyModel { params, slots }
    }

    /// Whether the model runs several experiments (agent classes name the
    /// experiment then: `hoarding.on`).
    pub fn multi(&self) -> bool {
        self.params.scripts.len() > 1
    }

    /// The run whose identity `agent` is, if it has one of that index.
    fn slot_of_agent(&self, agent: AgentRef) -> Option<&Slot> {
        let multi = self.multi();
        self.slots.iter().find(|s| s.class(multi) == agent.class).filter(|s| (agent.id as usize) < s.engine.len())
    }

    /// The stream name of `row` for an experiment.
    pub fn stream_name(&self, s: Script, row: usize) -> String {
        format!("{}.{}.{}", self.params.study.prefix(), s.id(), ROWS[row])
    }
}

#[path = "validate.rs"]
mod validate;
pub(crate) use validate::fresh_run;

impl Model for PolicyModel {
    type Event = Ev;
    const STREAMS: &'static [&'static str] = &[];
    const AGENT_CLASSES: &'static [&'static str] = AGENT_CLASSES;
    const TIME_UNIT: TimeUnit = TimeUnit::Days;

    fn kind(&self) -> &'static str {
        self.params.study.id()
    }

    fn start(&mut self, ctx: &mut Ctx<'_, Ev>) {
        let master = ctx.rngs().master();
        for k in 0..self.slots.len() {
            let s = self.slots[k].script;
            let streams = (0..ROWS.len()).map(|r| stream(master, &self.stream_name(s, r), 0)).collect();
            self.slots[k].streams = streams;
            ctx.schedule(SimTime(0), Ev::StartDay { slot: k as u16 });
        }
    }

    fn handle(&mut self, ev: Ev, ctx: &mut Ctx<'_, Ev>) {
        let k = ev.slot();
        let slot = k as u16;
        let multi = self.multi();
        let p = &self.params;
        let (before, rest) = self.slots.split_at_mut(k);
        let (s, after) = rest.split_first_mut().expect("the event's run exists");
        let tag = Tag { multi, others: [&*before, &*after] };
        let tag = &tag;
        let now = ctx.now();
        match ev {
            Ev::StartDay { .. } => {
                let mut out = Vec::new();
                scripts::day(s, p, slot, &mut out);
                ctx.note(None, || {
                    let mut counts: Vec<(&str, u32)> = Vec::new();
                    for e in &out {
                        match counts.iter_mut().find(|c| c.0 == e.kind()) {
                            Some(c) => c.1 += 1,
                            None => counts.push((e.kind(), 1)),
                        }
                    }
                    let what: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
                    let what = if what.is_empty() { "nothing".to_string() } else { what.join(", ") };
                    format!("{}: day {} starts; its draws schedule {what}", s.run_name(), s.day())
                });
                for e in out {
                    ctx.schedule(now, e);
                }
                ctx.schedule(now, Ev::Solve { slot });
            }
            Ev::CreateIdentity { k, .. } => {
                let name = s.later[k as usize].clone();
                let i = s.engine.create_identity(&name);
                s.books.push(Books::default());
                s.today.created += 1;
                if ctx.tracing() {
                    let a = AgentRef::new(s.class(multi), i.0);
                    ctx.note(Some(a), || format!("{} created", s.who(i.0, tag)));
                }
            }
            Ev::Purchase { .. } => s.purchase(&ev, ctx, p.economy.pass_score, tag),
            Ev::Assertion { a, s: subject, score, evidence, .. } => s.assertion(a, subject, score, evidence, ctx, tag),
            Ev::Solve { .. } => {
                s.solve(ctx, tag);
                ctx.schedule(now, Ev::Metrics { slot });
            }
            Ev::Metrics { .. } => {
                s.metrics(p, ctx);
                let next = if s.arm.policy.is_some() { Ev::Policy { slot } } else { Ev::Rollover { slot } };
                ctx.schedule(now, next);
            }
            Ev::Policy { .. } => {
                let cfg = s.arm.policy.clone().expect("policy arm");
                s.run_policy(&cfg, ctx);
                ctx.schedule(now, Ev::Rollover { slot });
            }
            Ev::Rollover { .. } => s.rollover(p, ctx, slot, tag),
        }
    }

    fn horizon(&self) -> SimTime {
        let d = self.slots.iter().map(|s| s.days).max().unwrap_or(1);
        SimTime(u64::from(d.saturating_sub(1)) * TICKS_PER_DAY)
    }

    fn check_invariants(&self) -> Result<(), String> {
        for s in &self.slots {
            for i in 0..s.engine.len() {
                let id = Ident(i as u32);
                let t = s.engine.trust(id);
                if !(t.is_finite() && t >= 0.0) {
                    return Err(format!("{} {}: trust {t} is not finite and >= 0", s.script.id(), s.engine.name(id)));
                }
                let w = s.engine.weight(id);
                let k = (1.0 / w).round();
                if !(w == 1.0 || (k >= 2.0 && w == 1.0 / k)) {
                    return Err(format!("{} {}: cluster weight {w} is not 1 or 1/k", s.script.id(), s.engine.name(id)));
                }
            }
            for (k, m) in s.history.iter().enumerate() {
                if m.day as usize != k {
                    return Err(format!("{}: history[{k}].day = {}", s.script.id(), m.day));
                }
            }
            let pp = &s.policy.params;
            if let Some(cfg) = &s.arm.policy {
                let ok = pp.k_payment >= cfg.k_payment_min
                    && pp.isolation_threshold >= cfg.isolation_min
                    && pp.tau_transaction >= cfg.tau_min
                    && pp.tau_transaction <= cfg.tau_max
                    && cfg.k_transfer_max.is_none_or(|m| pp.k_transfer <= m);
                if !ok {
                    return Err(format!(
                        "{} {}: parameters out of bounds: k_payment {}, isolation_threshold {}, tau_transaction {}, \
                         k_transfer {}",
                        s.script.id(),
                        s.arm.name,
                        pp.k_payment,
                        pp.isolation_threshold,
                        pp.tau_transaction,
                        pp.k_transfer
                    ));
                }
            }
        }
        Ok(())
    }

    fn validate(&self, audit: &crate::engine::Audit<'_, Self>) -> Result<(), String> {
        validate::validate(self, audit)
    }

    fn agent_counts(&self) -> Vec<(&'static str, usize)> {
        self.slots.iter().map(|s| (s.class(self.multi()), s.engine.len())).collect()
    }

    fn find_agent(&self, name: &str) -> Result<AgentRef, String> {
        let groups: Vec<NamedGroup<'_>> = self
            .slots
            .iter()
            .map(|s| NamedGroup {
                class: s.class(self.multi()),
                names: (0..s.engine.len()).map(|i| s.engine.name(Ident(i as u32))).collect(),
            })
            .collect();
        find_named(name, &groups)
    }

    fn agent_fields(&self, agent: AgentRef) -> Option<Vec<(&'static str, f64)>> {
        let s = self.slot_of_agent(agent)?;
        let (i, e) = (Ident(agent.id), &s.engine);
        let (prov, cons) = e.transactions_of(i);
        let (balance, earned, spent) = e.coins(i);
        let b = &s.books[agent.id as usize];
        Some(vec![
            ("trust", e.trust(i)),
            ("weight", e.weight(i)),
            ("penalty", e.penalty(i)),
            ("balance", balance),
            ("earned", earned),
            ("spent", spent),
            ("runway", e.runway(i)),
            ("hoarding_penalty", e.hoarding_penalty(i)),
            ("mint_weight", e.effective_trust(i)),
            ("purchases_as_provider", prov.len() as f64),
            ("purchases_as_consumer", cons.len() as f64),
            ("volume_sold", b.vol_provider),
            ("volume_bought", b.vol_consumer),
        ])
    }

    fn describe_agent(&self, agent: AgentRef) -> Option<String> {
        let s = self.slot_of_agent(agent)?;
        let i = Ident(agent.id);
        let e = &s.engine;
        let (prov, cons) = e.transactions_of(i);
        let (bal, earned, _) = e.coins(i);
        let b = &s.books[agent.id as usize];
        let who = {
            let n = e.name(i);
            let shared = self.slots.iter().filter(|o| o.has_name(n)).count() > 1;
            if shared { format!("{}.{n}", s.class(self.multi())) } else { n.to_string() }
        };
        Some(format!(
            "{who} = {agent} ({}, arm {}): created day {}, T = {:.4}, w = {:.4}, penalty {:.4}; {} provider and {} consumer purchases \
             (volume {:.2} sold, {:.2} bought); coins: balance {bal:.3}, earned {earned:.3}, runway {:.1} d, \
             hoarding penalty {:.4}, mint weight {:.4}",
            s.script.id(),
            s.arm.name,
            e.created(i),
            e.trust(i),
            e.weight(i),
            e.penalty(i),
            prov.len(),
            cons.len(),
            b.vol_provider,
            b.vol_consumer,
            e.runway(i),
            e.hoarding_penalty(i),
            e.effective_trust(i),
        ))
    }

    fn describe(&self) -> String {
        let parts: Vec<String> = self
            .slots
            .iter()
            .map(|s| {
                let pp = &s.policy.params;
                let n = s.engine.len();
                let ids =
                    if n == 0 { "none".to_string() } else { format!("{c}0..{c}{}", n - 1, c = s.class(self.multi())) };
                format!(
                    "{}/{}: day {} of {}, {} identities ({ids}), {} policy events; k_payment {}, k_transfer {}, \
                     isolation_threshold {}, tau_transaction {}",
                    s.script.id(),
                    s.arm.name,
                    s.engine.day(),
                    s.days,
                    n,
                    s.policy.log.len(),
                    pp.k_payment,
                    pp.k_transfer,
                    pp.isolation_threshold,
                    pp.tau_transaction
                )
            })
            .collect();
        parts.join("; ")
    }
}

/// The value of `p` in a day's parameter block.
pub fn param_of(m: &DailyMetrics, p: Param) -> f64 {
    m.params.0.get(p)
}
