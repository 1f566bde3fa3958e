//! The identity-rotation study as an engine `Model`
//! (docs/models/identity_rotation.md).
//!
//! A scripted study holds several *runs* (the four scripted attacks, the
//! ablation and the probes), each on its own fresh ledger. They run side by
//! side on one engine clock: every run starts at day 0, its events are
//! scheduled in script order, and same-time events keep that order, so a run
//! sees exactly its own script. Runs never touch each other's ledgers.
//!
//! Identities have one global account number across runs (`account 0`,
//! `account 1`, ... in run order), so `step --agent account3` follows one
//! identity of one run. A scale run (`[scale]` present) has one ledger of
//! `scale.accounts` accounts, numbered as in the ledger.

use super::config::{Params, Scale, Switches};
use crate::engine::{AgentRef, Ctx, EventInfo, Model, SimTime, TICKS_PER_DAY, TimeUnit};
use crate::ledger::{AccountId, CircularScores, Ledger, LedgerError, Micro, Receipt};
use rand::RngExt;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Random streams: only the scale run draws.
pub const STREAMS: &[&str] = &["scale.accounts", "scale.transfers"];
const S_ACCOUNTS: usize = 0;
const S_TRANSFERS: usize = 1;

/// Trust of a scale-run account is uniform in [0, SCALE_TRUST_MAX).
pub const SCALE_TRUST_MAX: f64 = 1000.0;

/// The agent class of every identity.
pub const ACCOUNT: &str = "account";

/// What a run does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Script {
    /// W and one puppet.
    OnePuppet,
    /// W and k puppets with a hop ring.
    ThreePuppets,
    /// Order probe: A then B into P, or B then A.
    Order {
        /// B scheduled first.
        b_first: bool,
    },
    /// Dust probe: 1 OMC into an empty account of high trust.
    Dust,
    /// Split probe: one transfer, or `total/chunk` chunks.
    Split {
        /// Chunks rather than one transfer.
        chunked: bool,
    },
}

impl Script {
    /// Whether this is one of the two attack scripts.
    pub fn scripted(self) -> bool {
        matches!(self, Script::OnePuppet | Script::ThreePuppets)
    }
}

/// One row of `trajectory.csv`: the state after one step of a scripted run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrajRow {
    /// Step number in the run (from 1).
    pub step: u32,
    /// Day of the step.
    pub day: u64,
    /// Event kind.
    pub event: String,
    /// Sender role (transfers) or the identity concerned.
    pub from: String,
    /// Receiver role (transfers).
    pub to: String,
    /// The receipt, if the step committed a transfer.
    pub receipt: Option<Receipt>,
    /// W's balance.
    pub w_balance: Micro,
    /// Σ puppet balances.
    pub puppets_balance: Micro,
    /// Money burned so far.
    pub burned_total: Micro,
    /// Best puppet's stored trust (none before a puppet exists).
    pub puppet_trust: Option<f64>,
    /// Best puppet's effective trust (detector on this day).
    pub puppet_trust_effective: Option<f64>,
    /// W's trust (none before W exists).
    pub w_trust: Option<f64>,
}

/// One run: a script on a fresh ledger.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Lane {
    /// Metric prefix, e.g. `one_puppet.defended`, `ablation.all_off.one_puppet`, `order.a_first`.
    pub name: String,
    /// The script.
    pub script: Script,
    /// `undefended`, `defended` or the ablation variant.
    pub defences: String,
    /// The switches in force.
    pub switches: Switches,
    /// Role of each identity, in opening order (ledger id = index).
    pub roles: Vec<String>,
    /// Global account number of identity 0.
    pub base: u32,
    /// The run's ledger.
    pub ledger: Ledger,
    /// Steps (events) handled.
    pub steps: u32,
    /// Day of the last step.
    pub last_day: u64,
    /// Rejected requests by reason (`LedgerError::REASONS` order).
    pub rejected: [u32; 6],
    /// OMC-equivalent of all activity.
    pub activity_invested: f64,
    /// Best puppet's stored trust just before W's first transfer.
    pub puppet_trust_before: Option<f64>,
    /// W's trust at opening (scripted runs).
    pub w_trust: f64,
    /// Every receipt.
    pub receipts: Vec<Receipt>,
    /// One row per step (scripted runs only).
    pub trajectory: Vec<TrajRow>,
}

impl Lane {
    /// Rejected requests.
    pub fn rejected_total(&self) -> u32 {
        self.rejected.iter().sum()
    }

    /// Ledger ids of the puppets (scripted runs: every identity but W).
    pub fn puppets(&self) -> impl Iterator<Item = AccountId> + '_ {
        (1..self.ledger.len() as u32).map(AccountId)
    }

    /// Best puppet's stored trust.
    pub fn best_puppet_trust(&self) -> Option<f64> {
        self.puppets().map(|p| self.ledger.trust(p)).reduce(f64::max)
    }

    /// Best puppet's effective trust under `scores` (stored trust without).
    pub fn best_puppet_effective(&self, scores: Option<&CircularScores>) -> Option<f64> {
        self.puppets()
            .map(|p| scores.map_or(self.ledger.trust(p), |s| s.effective_trust[p.0 as usize]))
            .reduce(f64::max)
    }

    fn role(&self, who: u32) -> &str {
        self.roles.get(who as usize).map_or("?", String::as_str)
    }
}

/// The scale run: random transfer requests on a large ledger.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScaleRun {
    /// Its parameters.
    pub params: Scale,
    /// The ledger of all accounts.
    pub ledger: Ledger,
    /// Requests handled.
    pub requests: u64,
    /// Requests committed.
    pub applied: u64,
    /// Requests rejected, by reason.
    pub rejected: [u64; 6],
    /// Receipts whose receiver trust went up (must stay 0).
    pub trust_raised: u64,
    /// Last detection: (day, flagged accounts, window edges).
    pub last_detection: Option<(u64, u64, u64)>,
    /// ln(amount_min), ln(amount_max / amount_min) in OMC.
    ln_min: f64,
    ln_span: f64,
}

/// Wall-clock measurements of this process (not part of the state, the
/// snapshot or the fingerprint).
#[derive(Clone, Debug, Default)]
pub struct Wall {
    /// When the first request handled by this process started.
    pub first_request: Option<Instant>,
    /// Requests handled by this process.
    pub requests: u64,
    /// Requests per second over the transfer phase (set by the last request).
    pub requests_per_second: Option<f64>,
    /// Seconds the last detection took.
    pub detect_seconds: Option<f64>,
}

/// Events.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Ev {
    /// Open identity `who` of run `lane` with a minted balance and a trust.
    Open {
        /// Run.
        lane: u16,
        /// Identity (ledger id).
        who: u16,
        /// Global account number.
        account: u32,
        /// Opening balance.
        balance: Micro,
        /// Opening trust.
        trust: f64,
    },
    /// Activity: `omc` OMC worth of trust, no money moved.
    Activity {
        /// Run.
        lane: u16,
        /// Identity.
        who: u16,
        /// Global account number.
        account: u32,
        /// OMC invested.
        omc: f64,
    },
    /// A transfer request.
    Transfer {
        /// Run.
        lane: u16,
        /// Sender.
        from: u16,
        /// Receiver.
        to: u16,
        /// Global account number of the sender.
        account: u32,
        /// Gross amount.
        amount: Micro,
    },
    /// One puppet: P sends min(cycle_back_max, its balance) back to W, if it
    /// holds anything.
    CycleBack {
        /// Run.
        lane: u16,
    },
    /// Three puppets: if every puppet holds more than `hop`, schedule the
    /// ring of hops now.
    HopCheck {
        /// Run.
        lane: u16,
    },
    /// Scale run: request k (draws sender, receiver, amount).
    Request {
        /// Request index.
        k: u64,
    },
    /// Scale run: run the detector on this day.
    Detect {
        /// The final detection.
        last: bool,
    },
}

impl EventInfo for Ev {
    fn kind(&self) -> &'static str {
        match self {
            Ev::Open { .. } => "Open",
            Ev::Activity { .. } => "Activity",
            Ev::Transfer { .. } => "Transfer",
            Ev::CycleBack { .. } => "CycleBack",
            Ev::HopCheck { .. } => "HopCheck",
            Ev::Request { .. } => "Request",
            Ev::Detect { .. } => "Detect",
        }
    }

    fn agent(&self) -> Option<AgentRef> {
        match self {
            Ev::Open { account, .. } | Ev::Activity { account, .. } | Ev::Transfer { account, .. } => {
                Some(AgentRef::new(ACCOUNT, *account))
            }
            _ => None,
        }
    }
}

/// The model: the runs of a scripted study, or the scale run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IdentityRotation {
    /// Resolved parameters.
    pub params: Params,
    /// The runs (empty in a scale run).
    pub lanes: Vec<Lane>,
    /// The scale run.
    pub scale: Option<ScaleRun>,
    /// Wall-clock measurements of this process.
    #[serde(skip)]
    pub wall: Wall,
}

fn day_time(d: u64) -> SimTime {
    SimTime(d.saturating_mul(TICKS_PER_DAY))
}

fn day_of(t: SimTime) -> u64 {
    t.ticks() / TICKS_PER_DAY
}

/// Trust with all its digits.
/// A trust for people: two decimals (`100.00`; files keep full precision).
fn tr(x: f64) -> String {
    format!("{x:.2}")
}

/// A rate or a ratio for people: four decimals.
fn rt(x: f64) -> String {
    format!("{x:.4}")
}

impl IdentityRotation {
    /// A fresh study: every run's ledger is empty; `start` schedules the
    /// scripts (or opens the scale run's accounts).
    pub fn new(params: Params) -> Self {
        if let Some(sc) = &params.scale {
            let ledger = Ledger::with_capacity(params.ledger(params.defended), sc.accounts as usize)
                .expect("parameters were checked when the scenario loaded");
            let scale = ScaleRun {
                params: sc.clone(),
                ledger,
                requests: 0,
                applied: 0,
                rejected: [0; 6],
                trust_raised: 0,
                last_detection: None,
                ln_min: sc.amount_min.ln(),
                ln_span: (sc.amount_max / sc.amount_min).ln(),
            };
            return IdentityRotation { params, lanes: Vec::new(), scale: Some(scale), wall: Wall::default() };
        }
        let mut specs: Vec<(String, Script, String, Switches)> = Vec::new();
        for (s, script) in [("one_puppet", Script::OnePuppet), ("three_puppets", Script::ThreePuppets)] {
            for (d, sw) in [("undefended", params.undefended), ("defended", params.defended)] {
                specs.push((format!("{s}.{d}"), script, d.to_string(), sw));
            }
        }
        if params.ablation {
            for (v, sw) in Switches::ABLATION {
                for (s, script) in [("one_puppet", Script::OnePuppet), ("three_puppets", Script::ThreePuppets)] {
                    specs.push((format!("ablation.{v}.{s}"), script, v.to_string(), sw));
                }
            }
        }
        if params.probes {
            let d = params.defended;
            specs.push(("order.a_first".into(), Script::Order { b_first: false }, "defended".into(), d));
            specs.push(("order.b_first".into(), Script::Order { b_first: true }, "defended".into(), d));
            specs.push(("dust".into(), Script::Dust, "defended".into(), d));
            specs.push(("split.single".into(), Script::Split { chunked: false }, "defended".into(), d));
            specs.push(("split.chunks".into(), Script::Split { chunked: true }, "defended".into(), d));
        }
        let mut lanes = Vec::with_capacity(specs.len());
        let mut base = 0u32;
        for (name, script, defences, switches) in specs {
            let roles: Vec<String> = match script {
                Script::OnePuppet => vec!["W".into(), "P".into()],
                Script::ThreePuppets => std::iter::once("W".to_string())
                    .chain((1..=params.three_puppets.puppets).map(|i| format!("P{i}")))
                    .collect(),
                Script::Order { .. } => vec!["P".into(), "A".into(), "B".into()],
                Script::Dust => vec!["S".into(), "T".into()],
                Script::Split { .. } => vec!["sender".into(), "receiver".into()],
            };
            let w_trust = match script {
                Script::OnePuppet => params.one_puppet.w_trust,
                Script::ThreePuppets => params.three_puppets.w_trust,
                _ => f64::NAN,
            };
            let n = roles.len() as u32;
            lanes.push(Lane {
                name,
                script,
                defences,
                switches,
                roles,
                base,
                ledger: Ledger::new(params.ledger(switches)).expect("parameters were checked when the scenario loaded"),
                steps: 0,
                last_day: 0,
                rejected: [0; 6],
                activity_invested: 0.0,
                puppet_trust_before: None,
                w_trust,
                receipts: Vec::new(),
                trajectory: Vec::new(),
            });
            base += n;
        }
        IdentityRotation { params, lanes, scale: None, wall: Wall::default() }
    }

    fn schedule_lane(&self, li: usize, ctx: &mut Ctx<'_, Ev>) {
        let lane = &self.lanes[li];
        let l = li as u16;
        let base = lane.base;
        let p = &self.params;
        let open = |ctx: &mut Ctx<'_, Ev>, who: u16, balance: Micro, trust: f64| {
            ctx.schedule(SimTime::ZERO, Ev::Open { lane: l, who, account: base + who as u32, balance, trust });
        };
        let transfer = |ctx: &mut Ctx<'_, Ev>, day: u64, from: u16, to: u16, amount: Micro| {
            ctx.schedule(day_time(day), Ev::Transfer { lane: l, from, to, account: base + from as u32, amount });
        };
        match lane.script {
            Script::OnePuppet => {
                let o = &p.one_puppet;
                open(ctx, 0, o.w_balance, o.w_trust);
                open(ctx, 1, Micro::ZERO, 0.0);
                for m in 1..=o.months as u64 {
                    let at = day_time(m * o.month_days as u64);
                    ctx.schedule(at, Ev::Activity { lane: l, who: 1, account: base + 1, omc: o.activity_per_month });
                }
                let td = o.months as u64 * o.month_days as u64;
                transfer(ctx, td, 0, 1, o.transfer);
                ctx.schedule(day_time(td + o.cycle_back_delay_days as u64), Ev::CycleBack { lane: l });
            }
            Script::ThreePuppets => {
                let t = &p.three_puppets;
                let k = t.puppets as u16;
                open(ctx, 0, t.w_balance, t.w_trust);
                for i in 1..=k {
                    open(ctx, i, Micro::ZERO, 0.0);
                }
                for m in 1..=t.months as u64 {
                    let at = day_time(m * t.month_days as u64);
                    for i in 1..=k {
                        let omc = t.activity_per_month;
                        ctx.schedule(at, Ev::Activity { lane: l, who: i, account: base + i as u32, omc });
                    }
                }
                let td = t.months as u64 * t.month_days as u64;
                for i in 1..=k {
                    transfer(ctx, td, 0, i, t.transfer_each);
                }
                ctx.schedule(day_time(td + t.hop_delay_days as u64), Ev::HopCheck { lane: l });
            }
            Script::Order { b_first } => {
                let o = &p.order;
                open(ctx, 0, Micro::ZERO, o.target_trust);
                open(ctx, 1, o.amount, o.a_trust);
                open(ctx, 2, o.amount, o.b_trust);
                let order: [u16; 2] = if b_first { [2, 1] } else { [1, 2] };
                for from in order {
                    transfer(ctx, 0, from, 0, o.amount);
                }
            }
            Script::Dust => {
                let d = &p.dust;
                open(ctx, 0, d.amount, d.sender_trust);
                open(ctx, 1, Micro::ZERO, d.target_trust);
                transfer(ctx, 0, 0, 1, d.amount);
            }
            Script::Split { chunked } => {
                let s = &p.split;
                open(ctx, 0, s.total, s.sender_trust);
                open(ctx, 1, Micro::ZERO, s.target_trust);
                if chunked {
                    for _ in 0..s.total.0 / s.chunk.0 {
                        transfer(ctx, 0, 0, 1, s.chunk);
                    }
                } else {
                    transfer(ctx, 0, 0, 1, s.total);
                }
            }
        }
    }

    /// The ledger and account id of a global account number.
    fn account_of(&self, a: AgentRef) -> Option<(&Ledger, u32)> {
        if a.class != ACCOUNT {
            return None;
        }
        if let Some(sc) = &self.scale {
            return (a.id < sc.params.accounts).then_some((&sc.ledger, a.id));
        }
        let lane = self.lanes.iter().find(|l| a.id >= l.base && a.id < l.base + l.roles.len() as u32)?;
        Some((&lane.ledger, a.id - lane.base))
    }

    /// The account a user names: `account3`, `a3`, `account:3`, or a run's
    /// role as `inspect` lists it, `<run>.<role>` (`one_puppet.defended.W`,
    /// `order.a_first.P`).
    fn find(&self, name: &str) -> Result<AgentRef, String> {
        let text = name.trim();
        if let Some((run, role)) = text.rsplit_once('.') {
            let lane = self.lanes.iter().find(|l| l.name == run).ok_or_else(|| {
                let runs: Vec<&str> = self.lanes.iter().map(|l| l.name.as_str()).collect();
                format!(
                    "`{text}`: no run `{run}` (runs: {}; or name an account: account0..)",
                    if runs.is_empty() { "none".to_string() } else { runs.join(", ") }
                )
            })?;
            let who = lane.roles.iter().position(|r| r.eq_ignore_ascii_case(role)).ok_or_else(|| {
                format!("`{text}`: run `{run}` has no role `{role}` (roles: {})", lane.roles.join(", "))
            })?;
            return Ok(AgentRef::new(ACCOUNT, lane.base + who as u32));
        }
        let n = match &self.scale {
            Some(sc) => sc.params.accounts as usize,
            None => self.lanes.iter().map(|l| l.roles.len()).sum(),
        };
        AgentRef::parse_within(text, &[(ACCOUNT, n)]).map_err(|e| {
            if self.lanes.is_empty() {
                e
            } else {
                format!("{e}; or a run's role, e.g. `{}.{}`", self.lanes[0].name, self.lanes[0].roles[0])
            }
        })
    }

    /// Commit (or refuse) one transfer of run `li`; trace notes with the
    /// receipt. Returns the receipt.
    fn lane_transfer(
        &mut self,
        li: usize,
        from: u32,
        to: u32,
        amount: Micro,
        ctx: &mut Ctx<'_, Ev>,
    ) -> Option<Receipt> {
        let now = ctx.now();
        let lane = &mut self.lanes[li];
        if lane.script.scripted() && from == 0 && lane.puppet_trust_before.is_none() {
            lane.puppet_trust_before = lane.best_puppet_trust();
        }
        let res = lane.ledger.transfer(AccountId(from), AccountId(to), amount.0, now);
        let lane = &self.lanes[li];
        let (fg, tg) = (lane.base + from, lane.base + to);
        let (fr, to_r) = (lane.role(from).to_string(), lane.role(to).to_string());
        match res {
            Ok(r) => {
                mix_receipt(ctx, &r);
                ctx.note(None, || format!("[{}] transfer #{}: {fr} -> {to_r}", lane.name, r.index));
                receipt_notes(ctx, &r, fg, tg, &fr, &to_r);
                self.lanes[li].receipts.push(r);
                Some(r)
            }
            Err(e) => {
                ctx.mix(0xE000 + e.code() as u64);
                ctx.note(Some(AgentRef::new(ACCOUNT, fg)), || {
                    format!("[{}] {fr} -> {to_r} of {amount} OMC refused: {e}", lane.name)
                });
                self.lanes[li].rejected[e.code()] += 1;
                None
            }
        }
    }

    fn handle_lane(&mut self, li: usize, ev: Ev, ctx: &mut Ctx<'_, Ev>) {
        let now = ctx.now();
        self.lanes[li].steps += 1;
        self.lanes[li].last_day = day_of(now);
        let mut event = ev.kind().to_string();
        let (mut from, mut to) = (String::new(), String::new());
        let mut receipt = None;
        match ev {
            Ev::Open { who, account, balance, trust, .. } => {
                let lane = &mut self.lanes[li];
                let res = lane.ledger.open_account(balance, trust, now);
                let role = lane.role(who as u32).to_string();
                match res {
                    Ok(id) => debug_assert_eq!(id.0, who as u32),
                    Err(e) => panic!("opening {role} of {}: {e} (scenario values are checked at load)", lane.name),
                }
                from = role.clone();
                let name = &lane.name;
                ctx.note(Some(AgentRef::new(ACCOUNT, account)), || {
                    format!("[{name}] opens {role} with {balance} OMC and trust {}", tr(trust))
                });
            }
            Ev::Activity { who, account, omc, .. } => {
                let k = self.params.trust_per_omc;
                let lane = &mut self.lanes[li];
                let before = lane.ledger.trust(AccountId(who as u32));
                lane.ledger
                    .add_trust(AccountId(who as u32), k * omc)
                    .unwrap_or_else(|e| panic!("activity in {}: {e} (scenario values are checked at load)", lane.name));
                lane.activity_invested += omc;
                let after = lane.ledger.trust(AccountId(who as u32));
                let role = lane.role(who as u32).to_string();
                from = role.clone();
                let name = &lane.name;
                ctx.note(Some(AgentRef::new(ACCOUNT, account)), || {
                    format!("[{name}] {role}: activity worth {omc} OMC, trust {} -> {}", tr(before), tr(after))
                });
            }
            Ev::Transfer { from: f, to: t, amount, .. } => {
                from = self.lanes[li].role(f as u32).to_string();
                to = self.lanes[li].role(t as u32).to_string();
                receipt = self.lane_transfer(li, f as u32, t as u32, amount, ctx);
            }
            Ev::CycleBack { .. } => {
                let max = self.params.one_puppet.cycle_back_max;
                let bal = self.lanes[li].ledger.balance(AccountId(1));
                from = self.lanes[li].role(1).to_string();
                to = self.lanes[li].role(0).to_string();
                if bal.0 > 0 {
                    receipt = self.lane_transfer(li, 1, 0, Micro(max.0.min(bal.0)), ctx);
                } else {
                    let name = &self.lanes[li].name;
                    ctx.note(None, || format!("[{name}] cycle-back: P holds nothing, no transfer"));
                }
            }
            Ev::HopCheck { .. } => {
                let hop = self.params.three_puppets.hop;
                let lane = &self.lanes[li];
                let ok = lane.puppets().all(|p| lane.ledger.balance(p) > hop);
                let k = lane.roles.len() as u16 - 1;
                if ok {
                    for i in 1..=k {
                        let j = i % k + 1;
                        ctx.schedule(
                            now,
                            Ev::Transfer {
                                lane: li as u16,
                                from: i,
                                to: j,
                                account: lane.base + i as u32,
                                amount: hop,
                            },
                        );
                    }
                }
                let name = &lane.name;
                ctx.note(None, || {
                    if ok {
                        format!("[{name}] hop check: every puppet holds more than {hop} OMC; {k} hops scheduled")
                    } else {
                        format!("[{name}] hop check: some puppet holds {hop} OMC or less; no hops")
                    }
                });
                event = "HopCheck".into();
            }
            Ev::Request { .. } | Ev::Detect { .. } => unreachable!("scale events in a scripted study"),
        }
        let lane = &self.lanes[li];
        if lane.script.scripted() {
            let scores = lane.ledger.detect(lane.last_day);
            let w = AccountId(0);
            let has_w = !lane.ledger.is_empty();
            let puppets: Micro = Micro(lane.puppets().map(|p| lane.ledger.balance(p).0).sum());
            let row = TrajRow {
                step: lane.steps,
                day: lane.last_day,
                event,
                from,
                to,
                receipt,
                w_balance: lane.ledger.balance(w),
                puppets_balance: puppets,
                burned_total: lane.ledger.burned(),
                puppet_trust: lane.best_puppet_trust(),
                puppet_trust_effective: lane.best_puppet_effective(scores.as_ref()),
                w_trust: has_w.then(|| lane.ledger.trust(w)),
            };
            self.lanes[li].trajectory.push(row);
        }
    }

    fn handle_request(&mut self, k: u64, ctx: &mut Ctx<'_, Ev>) {
        if self.wall.first_request.is_none() {
            self.wall.first_request = Some(Instant::now());
        }
        self.wall.requests += 1;
        let now = ctx.now();
        let sc = self.scale.as_mut().expect("a scale run");
        let n = sc.params.accounts;
        let rng = ctx.rng(S_TRANSFERS);
        let from = rng.random_range(0..n);
        let mut to = rng.random_range(0..n);
        while to == from {
            to = rng.random_range(0..n);
        }
        let u: f64 = rng.random();
        let omc = (sc.ln_min + u * sc.ln_span).exp();
        let res = Micro::from_omc(omc).and_then(|a| sc.ledger.transfer(AccountId(from), AccountId(to), a.0, now));
        sc.requests += 1;
        match res {
            Ok(r) => {
                sc.applied += 1;
                if r.receiver_trust_after > r.receiver_trust_before {
                    sc.trust_raised += 1;
                }
                mix_receipt(ctx, &r);
                if ctx.tracing() {
                    let (f, t) = (format!("account{from}"), format!("account{to}"));
                    ctx.note(None, || format!("request {k}: transfer #{}", r.index));
                    receipt_notes(ctx, &r, from, to, &f, &t);
                }
            }
            Err(e) => {
                sc.rejected[e.code()] += 1;
                ctx.mix(0xE000 + e.code() as u64);
                ctx.note(Some(AgentRef::new(ACCOUNT, from)), || {
                    format!("request {k}: account{from} -> account{to} of {omc:.6} OMC refused: {e}")
                });
            }
        }
        let total = sc.params.transfers;
        if k + 1 < total {
            let span = sc.params.days as u128 * TICKS_PER_DAY as u128;
            let at = SimTime(((k + 1) as u128 * span / total as u128) as u64);
            ctx.schedule(at, Ev::Request { k: k + 1 });
        } else {
            if let Some(t0) = self.wall.first_request {
                let secs = t0.elapsed().as_secs_f64();
                self.wall.requests_per_second = (secs > 0.0).then(|| self.wall.requests as f64 / secs);
            }
            ctx.schedule(now, Ev::Detect { last: true });
        }
    }

    fn handle_detect(&mut self, last: bool, ctx: &mut Ctx<'_, Ev>) {
        let day = day_of(ctx.now());
        let sc = self.scale.as_mut().expect("a scale run");
        let t0 = Instant::now();
        let scores = sc.ledger.detect(day);
        self.wall.detect_seconds = Some(t0.elapsed().as_secs_f64());
        if let Some(s) = scores {
            sc.last_detection = Some((day, s.flagged as u64, s.edges as u64));
            ctx.mix(s.flagged as u64);
            let kind = if last { "final" } else { "periodic" };
            ctx.note(None, || {
                format!(
                    "{kind} detection on day {day}: {} window edges, {} accounts with ratio > threshold",
                    s.edges, s.flagged
                )
            });
        }
    }
}

/// Fold a receipt into the trajectory fingerprint.
fn mix_receipt(ctx: &mut Ctx<'_, Ev>, r: &Receipt) {
    ctx.mix(r.received.0 as u64 ^ (r.burned.0 as u64).rotate_left(29));
    ctx.mix_f64(r.receiver_trust_after);
}

/// The receipt as two trace notes: the sender's side (debit and burns) and
/// the receiver's (credit and inheritance).
fn receipt_notes(ctx: &mut Ctx<'_, Ev>, r: &Receipt, from: u32, to: u32, fr: &str, to_r: &str) {
    ctx.note(Some(AgentRef::new(ACCOUNT, from)), || {
        format!(
            "{fr} sends {} OMC, burned {} (trust burn {} at r_t {}, amount burn {} at r_a {}; r {}, f {}); balance {} -> {}; trust {}",
            r.gross,
            r.burned,
            r.burn_trust,
            rt(r.rate_trust),
            r.burn_amount,
            rt(r.rate_amount),
            rt(r.rate),
            rt(r.amount_factor),
            r.sender_balance_before,
            r.sender_balance_after,
            tr(r.sender_trust),
        )
    });
    ctx.note(Some(AgentRef::new(ACCOUNT, to)), || {
        let inh = match (r.rho, r.blended) {
            (Some(rho), Some(b)) => format!("rho {}, blended {}", rt(rho), tr(b)),
            _ => "no inheritance".to_string(),
        };
        format!(
            "{to_r} receives {} OMC; balance {} -> {}; trust {} -> {} ({inh})",
            r.received,
            r.receiver_balance_before,
            r.receiver_balance_after,
            tr(r.receiver_trust_before),
            tr(r.receiver_trust_after),
        )
    });
}

#[path = "validate.rs"]
mod validate;
pub(crate) use validate::fresh_run;

impl Model for IdentityRotation {
    type Event = Ev;
    const STREAMS: &'static [&'static str] = STREAMS;
    const AGENT_CLASSES: &'static [&'static str] = &[ACCOUNT];
    const TIME_UNIT: TimeUnit = TimeUnit::Days;

    fn kind(&self) -> &'static str {
        "identity_rotation"
    }

    fn start(&mut self, ctx: &mut Ctx<'_, Ev>) {
        if let Some(sc) = self.scale.as_mut() {
            let n = sc.params.accounts;
            let bal = sc.params.initial_balance;
            for _ in 0..n {
                let trust = ctx.rng(S_ACCOUNTS).random::<f64>() * SCALE_TRUST_MAX;
                sc.ledger.open_account(bal, trust, SimTime::ZERO).expect("checked at load");
            }
            let days = sc.params.days as u64;
            if let Some(every) = sc.params.detect_every_days {
                let every = every as u64;
                let mut d = every;
                while d < days {
                    ctx.schedule(SimTime(day_time(d).ticks() - 1), Ev::Detect { last: false });
                    d += every;
                }
            }
            if sc.params.transfers > 0 {
                ctx.schedule(SimTime::ZERO, Ev::Request { k: 0 });
            } else {
                ctx.schedule(SimTime::ZERO, Ev::Detect { last: true });
            }
            return;
        }
        for li in 0..self.lanes.len() {
            self.schedule_lane(li, ctx);
        }
    }

    fn handle(&mut self, event: Ev, ctx: &mut Ctx<'_, Ev>) {
        match event {
            Ev::Request { k } => self.handle_request(k, ctx),
            Ev::Detect { last } => self.handle_detect(last, ctx),
            Ev::Open { lane, .. }
            | Ev::Activity { lane, .. }
            | Ev::Transfer { lane, .. }
            | Ev::CycleBack { lane }
            | Ev::HopCheck { lane } => self.handle_lane(lane as usize, event, ctx),
        }
    }

    fn horizon(&self) -> SimTime {
        match &self.scale {
            Some(sc) => day_time(sc.params.days as u64),
            None => day_time(self.lanes.iter().map(|l| last_day(&self.params, l.script)).max().unwrap_or(0)),
        }
    }

    fn check_invariants(&self) -> Result<(), String> {
        for l in &self.lanes {
            l.ledger.check_conservation().map_err(|e| format!("{}: {e}", l.name))?;
            for r in &l.receipts {
                if r.receiver_trust_after > r.receiver_trust_before {
                    return Err(format!("{}: transfer #{} raised trust", l.name, r.index));
                }
            }
        }
        if let Some(sc) = &self.scale {
            sc.ledger.check_conservation()?;
            if sc.trust_raised > 0 {
                return Err(format!("{} transfers raised trust", sc.trust_raised));
            }
            if sc.applied as u128 + sc.rejected.iter().map(|&r| r as u128).sum::<u128>() != sc.requests as u128 {
                return Err("applied + rejected != requests".into());
            }
        }
        Ok(())
    }

    fn validate(&self, audit: &crate::engine::Audit<'_, Self>) -> Result<(), String> {
        validate::validate(self, audit)
    }

    fn agent_counts(&self) -> Vec<(&'static str, usize)> {
        match &self.scale {
            Some(sc) => vec![(ACCOUNT, sc.ledger.len())],
            None => vec![(ACCOUNT, self.lanes.iter().map(|l| l.roles.len()).sum()), ("run", self.lanes.len())],
        }
    }

    fn describe_agent(&self, a: AgentRef) -> Option<String> {
        if a.class != ACCOUNT {
            return None;
        }
        let show = |l: &Ledger, i: u32| -> String {
            match l.account(AccountId(i)) {
                Some(acc) => format!(
                    "balance {} OMC, trust {}, sent {} OMC, received {} OMC (gross)",
                    acc.balance,
                    tr(acc.trust),
                    acc.gross_sent,
                    acc.gross_received
                ),
                None => "not opened yet".into(),
            }
        };
        if let Some(sc) = &self.scale {
            return (a.id < sc.params.accounts).then(|| format!("account{}: {}", a.id, show(&sc.ledger, a.id)));
        }
        let lane = self.lanes.iter().find(|l| a.id >= l.base && a.id < l.base + l.roles.len() as u32)?;
        let who = a.id - lane.base;
        Some(format!(
            "account{} = {}.{} ({} of run {}): {}",
            a.id,
            lane.name,
            lane.role(who),
            lane.role(who),
            lane.name,
            show(&lane.ledger, who)
        ))
    }

    fn find_agent(&self, name: &str) -> Result<AgentRef, String> {
        self.find(name)
    }

    fn agent_fields(&self, a: AgentRef) -> Option<Vec<(&'static str, f64)>> {
        let (ledger, i) = self.account_of(a)?;
        let acc = ledger.account(AccountId(i))?;
        Some(vec![
            ("balance", acc.balance.omc()),
            ("trust", acc.trust),
            ("sent", acc.gross_sent.omc()),
            ("received", acc.gross_received.omc()),
        ])
    }

    fn describe(&self) -> String {
        if let Some(sc) = &self.scale {
            let rejected: u64 = sc.rejected.iter().sum();
            return format!(
                "identity_rotation scale run ({} fidelity): {} accounts; {} of {} requests handled, {} applied, {} rejected; {} of {} OMC burned",
                self.params.fidelity.name(),
                sc.ledger.len(),
                sc.requests,
                sc.params.transfers,
                sc.applied,
                rejected,
                sc.ledger.burned(),
                sc.ledger.minted()
            );
        }
        let runs: Vec<String> = self
            .lanes
            .iter()
            .map(|l| {
                let who: Vec<String> =
                    l.roles.iter().enumerate().map(|(i, r)| format!("{r} = account{}", l.base + i as u32)).collect();
                format!("{} ({} steps; {})", l.name, l.steps, who.join(", "))
            })
            .collect();
        format!(
            "identity_rotation ({} fidelity): {} runs on their own ledgers: {}",
            self.params.fidelity.name(),
            self.lanes.len(),
            runs.join("; ")
        )
    }
}

/// Rejections of the scale run by reason name.
pub fn rejection_reasons(counts: &[u64; 6]) -> impl Iterator<Item = (&'static str, u64)> + '_ {
    LedgerError::REASONS.iter().copied().zip(counts.iter().copied())
}

/// Day of the last event of `script`.
fn last_day(p: &Params, script: Script) -> u64 {
    match script {
        Script::OnePuppet => {
            let o = &p.one_puppet;
            o.months as u64 * o.month_days as u64 + o.cycle_back_delay_days as u64
        }
        Script::ThreePuppets => {
            let t = &p.three_puppets;
            t.months as u64 * t.month_days as u64 + t.hop_delay_days as u64
        }
        _ => 0,
    }
}

/// Day of the last event of the scripted runs (the horizon without a
/// `[scale]` table): every scripted run has a one-puppet and a
/// three-puppet lane.
pub fn scripted_last_day(p: &Params) -> u64 {
    last_day(p, Script::OnePuppet).max(last_day(p, Script::ThreePuppets))
}
