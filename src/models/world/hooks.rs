//! The coupling (docs/models/world.md): the world's state beside the
//! market, and the hooks the market runs. A session's start locks its
//! booked amount in escrow; its end settles the lock (pay by the
//! provider's payment share, burn the rest of the payment, refund what was
//! not used) and records the trust transactions of its condition; each day
//! starts with a trust solve whose scores every account and the next
//! settlements read.

use super::config::WorldCfg;
use crate::engine::time::ticks_to_hours;
use crate::engine::{AgentRef, Ctx, SimTime, TICKS_PER_DAY};
use crate::ledger::{AccountId, EscrowId, Ledger, LedgerConfig, Micro};
use crate::market::posted::ProviderKind;
use crate::models::economic_value::model::Ev;
use crate::models::economic_value::model::STREAMS as MARKET_STREAMS;
use crate::models::economic_value::{Booked, EconomicMarket, End, HookEv, Hooks};
use crate::trust::math::transaction_credit;
use crate::trust::{Ident, Rules, TrustEngine};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Random streams: the market's, then the world's (drawn only by attackers).
pub const STREAMS: &[&str] = &[
    MARKET_STREAMS[0],
    MARKET_STREAMS[1],
    MARKET_STREAMS[2],
    MARKET_STREAMS[3],
    MARKET_STREAMS[4],
    MARKET_STREAMS[5],
    MARKET_STREAMS[6],
    "world.sybil",
    "world.long_con",
];

const NO_LOCK: u64 = u64::MAX;

/// Settlement conditions.
pub const CONDITIONS: [&str; 4] = ["completed", "terminated", "failed", "horizon"];
const COMPLETED: usize = 0;
const TERMINATED: usize = 1;
const FAILED: usize = 2;
const HORIZON: usize = 3;

/// Provider classes, as metric keys.
pub const CLASSES: [&str; 2] = ["dc", "home"];

/// Totals of one condition and class.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CondBook {
    /// Settlements.
    pub count: u64,
    /// Trust credit of their transactions.
    pub credit: f64,
    /// Paid to providers, µOMC.
    pub pay: i64,
    /// Burned, µOMC.
    pub burn: i64,
    /// Gross payments, µOMC.
    pub gross: i64,
}

/// One day of a leg: trust after the day's solve, and the day's flows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DayRow {
    /// World day.
    pub day: u32,
    /// Mean trust by class (dc, home).
    pub trust: [f64; 2],
    /// Mean payment share by class.
    pub share: [f64; 2],
    /// Burned by settlements during the day, OMC, by class.
    pub burned: [f64; 2],
    /// Consumer spending (gross payments settled) during the day, OMC, by class.
    pub spend: [f64; 2],
    /// Minted by the on-ramp during the day, OMC.
    pub onramp: f64,
}

/// What one leg of the world leaves behind.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WorldLegRecord {
    /// Leg id (`scenarios.<market>.<leg>`).
    pub id: String,
    /// Metric values by name.
    pub metrics: BTreeMap<String, Option<f64>>,
    /// The daily series.
    pub days: Vec<DayRow>,
}

/// The world: its parameters and the current leg's ledger, trust engine and
/// books.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct World {
    /// Parameters.
    pub cfg: WorldCfg,
    /// The leg's ledger (`None` before the first leg).
    pub ledger: Option<Ledger>,
    /// The leg's trust engine.
    pub trust: Option<TrustEngine>,
    /// Trust identity of each agent: providers, then consumers.
    pub idents: Vec<Ident>,
    /// The open lock of each session slot (`NO_LOCK` if none).
    locks: Vec<u64>,
    /// The current world day of the leg.
    pub day: u32,
    /// Days in the leg (DayStart events).
    pub days: u32,
    /// Per provider: Σ pay, µOMC.
    pub net: Vec<i64>,
    /// Per provider: Σ burn, µOMC.
    pub burned: Vec<i64>,
    /// Per provider: transactions the world recorded for it.
    pub txs: Vec<u64>,
    /// Per provider: transactions of its incumbent history.
    pub history_txs: Vec<u64>,
    /// Per provider: first day its share reached 0.5.
    pub half_day: Vec<Option<u32>>,
    /// Per provider: first day its net income covered its cost.
    pub even_day: Vec<Option<u32>>,
    /// Per class and condition.
    pub books: [[CondBook; 4]; 2],
    /// On-ramp minted this leg, µOMC.
    pub onramp: i64,
    /// Solves that did not converge this leg.
    pub nonconverged: u32,
    /// Solves this leg.
    pub solves: u32,
    /// Net pricing: the factor the DC price setter scales the DCs' cost by
    /// (1 / max(mean DC share, s_min)); 0 until the leg's first day.
    pub dc_scale: f64,
    /// Floor changes made by net pricing this leg.
    pub floor_changes: u64,
    /// The leg's days so far.
    pub rows: Vec<DayRow>,
    /// Running totals at the start of the current row: burned and spend by
    /// class, on-ramp (µOMC).
    marks: ([i64; 2], [i64; 2], i64),
    /// Per-leg records.
    pub records: Vec<WorldLegRecord>,
    /// Violations of the coupling's invariants (with `checks`).
    pub violations: Vec<String>,
}

fn class_of(k: ProviderKind) -> usize {
    match k {
        ProviderKind::Datacenter => 0,
        ProviderKind::Home => 1,
    }
}

impl World {
    /// A world of `cfg`, before its first leg.
    pub fn new(cfg: WorldCfg) -> World {
        World { cfg, ..World::default() }
    }

    fn ledger(&mut self) -> &mut Ledger {
        self.ledger.as_mut().expect("a leg has started")
    }

    fn engine(&mut self) -> &mut TrustEngine {
        self.trust.as_mut().expect("a leg has started")
    }

    fn violation(&mut self, msg: impl FnOnce() -> String) {
        if self.violations.len() < 50 {
            self.violations.push(msg());
        }
    }

    /// The engine's day of world day `d`.
    fn engine_day(&self, d: u32) -> u32 {
        self.cfg.history_days + d
    }

    /// Provider `i`'s payment share now: s(stored trust) with
    /// trust-weighted settlement, else 1.
    pub fn share(&self, i: usize) -> f64 {
        match (&self.ledger, &self.trust) {
            (Some(l), Some(e)) if self.cfg.trust_weighted => e.payment_share(l.trust(AccountId(i as u32))),
            _ => 1.0,
        }
    }

    /// Running totals: burned and spend by class, on-ramp.
    fn totals(&self) -> ([i64; 2], [i64; 2], i64) {
        let mut burned = [0i64; 2];
        let mut spend = [0i64; 2];
        for c in 0..2 {
            for b in &self.books[c] {
                burned[c] += b.burn;
                spend[c] += b.gross;
            }
        }
        (burned, spend, self.onramp)
    }

    /// Close the current row's flows.
    fn close_row(&mut self) {
        let (burned, spend, onramp) = self.totals();
        let (b0, s0, o0) = self.marks;
        if let Some(r) = self.rows.last_mut() {
            for c in 0..2 {
                r.burned[c] = (burned[c] - b0[c]) as f64 / 1e6;
                r.spend[c] = (spend[c] - s0[c]) as f64 / 1e6;
            }
            r.onramp = (onramp - o0) as f64 / 1e6;
        }
        self.marks = (burned, spend, onramp);
    }
}

/// Set up the leg's ledger, trust engine and books, the DCs' incumbent
/// history, and the leg's `DayStart` events.
fn setup_leg(m: &mut EconomicMarket<World>, ctx: &mut Ctx<'_, Ev>) {
    let (start, end) = m.leg_bounds();
    let at = SimTime(start);
    let cfg = m.ext.cfg.clone();
    let np = m.providers.len();
    let nc = m.consumers.len();
    let mut ledger = Ledger::with_capacity(LedgerConfig { detector: None, ..LedgerConfig::defended() }, np + nc)
        .expect("the defended configuration is valid");
    for _ in 0..np {
        ledger.open_account(Micro::ZERO, 0.0, at).expect("a fresh account");
    }
    for _ in 0..nc {
        ledger.open_account(Micro(cfg.initial_balance), 0.0, at).expect("a fresh account");
    }
    let mut engine = TrustEngine::new(cfg.trust.clone(), Rules::CORRECTED).expect("checked parameters");
    let mut idents = vec![Ident(0); np + nc];
    // DCs and consumers exist from world day -history_days (engine day 0).
    for (i, p) in m.providers.iter().enumerate() {
        if p.kind == ProviderKind::Datacenter {
            idents[i] = engine.create_identity_at(&format!("dc{i}"), 0).expect("day 0");
        }
    }
    for j in 0..nc {
        idents[np + j] = engine.create_identity_at(&format!("consumer{j}"), 0).expect("day 0");
    }
    // Incumbent history: each DC's k-th completed session on world day
    // -H + floor(k·H/n), consumers round-robin.
    let n = cfg.dc_history_sessions as u64;
    let dcs: Vec<usize> = (0..np).filter(|&i| m.providers[i].kind == ProviderKind::Datacenter).collect();
    let mut history_txs = vec![0u64; np];
    let job_h = m.params.job_hours;
    if nc > 0 && !dcs.is_empty() {
        let mut rr = 0usize;
        for k in 0..n {
            let d = (k * cfg.history_days as u64 / n) as u32;
            engine.set_day(d).expect("days increase");
            for &i in &dcs {
                let c = idents[np + rr % nc];
                rr += 1;
                engine.add_transaction(c, idents[i], cfg.link.rw, job_h, cfg.link.vs_completed).expect("valid");
                history_txs[i] += 1;
            }
        }
    }
    engine.set_day(cfg.history_days).expect("days increase");
    for (i, p) in m.providers.iter().enumerate() {
        if p.kind == ProviderKind::Home {
            idents[i] = engine.create_identity(&format!("home{i}"));
        }
    }
    let days = (end - start).div_ceil(TICKS_PER_DAY) as u32;
    let w = &mut m.ext;
    w.ledger = Some(ledger);
    w.trust = Some(engine);
    w.idents = idents;
    w.locks.clear();
    w.day = 0;
    w.days = days;
    w.net = vec![0; np];
    w.burned = vec![0; np];
    w.txs = vec![0; np];
    w.history_txs = history_txs;
    w.half_day = vec![None; np];
    w.even_day = vec![None; np];
    w.books = Default::default();
    w.onramp = 0;
    w.nonconverged = 0;
    w.solves = 0;
    w.dc_scale = 0.0;
    w.floor_changes = 0;
    w.rows.clear();
    w.marks = Default::default();
    for d in 0..days {
        m.schedule_hook(ctx, start + d as u64 * TICKS_PER_DAY, HookEv::DayStart(d));
    }
    let (nd, nh) = (dcs.len(), np - dcs.len());
    ctx.note(None, || {
        format!(
            "world: {} accounts and trust identities ({nd} DCs with {n} past sessions each, {nh} new homes, {nc} consumers), {days} days",
            np + nc
        )
    });
}

/// DayStart(d): solve, set every account's trust, sample.
fn day_start(m: &mut EconomicMarket<World>, d: u32, ctx: &mut Ctx<'_, Ev>) {
    let np = m.providers.len();
    let w = &mut m.ext;
    w.day = d;
    let ed = w.engine_day(d);
    let engine = w.engine();
    if let Err(e) = engine.set_day(ed) {
        let msg = e.to_string();
        w.violation(|| format!("day {d}: {msg}"));
        return;
    }
    let rep = engine.solve();
    w.solves += 1;
    if !rep.converged {
        w.nonconverged += 1;
    }
    let trusts: Vec<f64> = w.idents.iter().map(|&i| w.trust.as_ref().expect("started").trust(i)).collect();
    for (a, &t) in trusts.iter().enumerate() {
        if let Err(e) = w.ledger().set_trust(AccountId(a as u32), t) {
            let msg = e.to_string();
            w.violation(|| format!("day {d}: set_trust of account {a}: {msg}"));
        }
    }
    let (it, conv) = (rep.iterations, rep.converged);
    if ctx.tracing() {
        let mut sums = [(0.0, 0.0, 0usize); 2];
        for (i, &t) in trusts.iter().enumerate().take(np) {
            let c = class_of(m.providers[i].kind);
            sums[c] = (sums[c].0 + t, sums[c].1 + m.ext.share(i), sums[c].2 + 1);
        }
        let mean = |c: usize, k: usize| {
            let (t, s, n) = sums[c];
            if n == 0 { "none".to_string() } else { format!("{:.3}", if k == 0 { t } else { s } / n as f64) }
        };
        let text = format!(
            "day {d}: trust solve ({it} iterations{}); mean trust DC {}, home {}; mean share DC {}, home {}",
            if conv { "" } else { ", NOT converged" },
            mean(0, 0),
            mean(1, 0),
            mean(0, 1),
            mean(1, 1)
        );
        ctx.note(None, || text);
    }
    if m.ext.cfg.net_pricing {
        net_floors(m, d, ctx);
    }
    // The daily sample.
    let w = &mut m.ext;
    w.close_row();
    let mut row = DayRow { day: d, ..DayRow::default() };
    let mut n = [0usize; 2];
    for (i, &t) in trusts.iter().enumerate().take(np) {
        let c = class_of(m.providers[i].kind);
        let s = m.ext.share(i);
        row.trust[c] += t;
        row.share[c] += s;
        n[c] += 1;
        if s >= 0.5 && m.ext.half_day[i].is_none() {
            m.ext.half_day[i] = Some(d);
        }
    }
    for (c, &k) in n.iter().enumerate() {
        let k = if k > 0 { k as f64 } else { f64::NAN };
        row.trust[c] /= k;
        row.share[c] /= k;
    }
    m.ext.rows.push(row);
}

/// Net pricing: each price-taking provider's floor covers its cost at its
/// share, f = min(cap, markup·c / max(s, s_min)); the DC fleet's setter
/// scales the DCs' cost by 1 / max(mean DC share, s_min).
fn net_floors(m: &mut EconomicMarket<World>, d: u32, ctx: &mut Ctx<'_, Ev>) {
    let np = m.providers.len();
    let (markup, cap, s_min) = (m.params.price.floor_markup, m.params.price.cap, m.ext.cfg.s_min);
    let mut floors = vec![f64::NAN; np];
    let (mut dc_share, mut n_dc) = (0.0, 0usize);
    for (i, f) in floors.iter_mut().enumerate() {
        let p = &m.providers[i];
        let s = m.ext.share(i);
        let c = if p.kind == ProviderKind::Datacenter {
            dc_share += s;
            n_dc += 1;
            m.params.dc.cost
        } else {
            m.params.home.cost
        };
        if !p.setter {
            *f = cap.min(markup * c / s.max(s_min));
        }
    }
    m.ext.dc_scale = if n_dc > 0 { 1.0 / (dc_share / n_dc as f64).max(s_min) } else { 1.0 };
    let changed = m.set_floors(&floors, ctx);
    m.ext.floor_changes += changed as u64;
    let scale = m.ext.dc_scale;
    ctx.note(None, || format!("day {d}: net pricing changes {changed} floor(s); DC cost scale {scale:.4}"));
}

/// Session start: the consumer locks the booked amount for the job.
fn lock(m: &mut EconomicMarket<World>, slot: u32, ctx: &mut Ctx<'_, Ev>) {
    let Some((i, j, rate, start)) = m.session_at(slot) else { return };
    let e = EconomicMarket::<World>::booked_pay(rate, m.job_ticks());
    let np = m.providers.len();
    let w = &mut m.ext;
    if w.locks.len() <= slot as usize {
        w.locks.resize(slot as usize + 1, NO_LOCK);
    }
    if w.locks[slot as usize] != NO_LOCK {
        w.violation(|| format!("session {slot} starts with a lock still open"));
    }
    if e <= 0 {
        w.locks[slot as usize] = NO_LOCK;
        return;
    }
    let payer = AccountId((np + j) as u32);
    let at = SimTime(start);
    let short = e - w.ledger().balance(payer).0;
    if short > 0 {
        if let Err(err) = w.ledger().mint(payer, Micro(short), "onramp") {
            w.violation(|| format!("on-ramp of consumer{j}: {err}"));
            return;
        }
        w.onramp += short;
    }
    match w.ledger().escrow_lock(payer, e, at) {
        Ok(id) => w.locks[slot as usize] = id.0,
        Err(err) => {
            w.violation(|| format!("lock of consumer{j}: {err}"));
            return;
        }
    }
    let minted = short.max(0);
    ctx.note(Some(AgentRef::new("consumer", j as u32)), || {
        let ramp = if minted > 0 { format!(" (on-ramp mints {})", Micro(minted)) } else { String::new() };
        format!("locks {} OMC in escrow for session {slot} on provider{i}{ramp}", Micro(e))
    });
}

/// Session end: settle the lock and record the trust transactions.
fn settle(m: &mut EconomicMarket<World>, b: &Booked, ctx: &mut Ctx<'_, Ev>) {
    let (start, _) = m.leg_bounds();
    let np = m.providers.len();
    let (i, j) = (b.provider, b.consumer);
    let kind = m.providers[i].kind;
    let class = class_of(kind);
    let cond = if b.horizon {
        HORIZON
    } else {
        match (b.end, kind) {
            (End::Done, _) => COMPLETED,
            (End::Profit, _) => TERMINATED,
            (End::Personal, ProviderKind::Home) if m.ext.cfg.link.reclaim_terminated => TERMINATED,
            (End::Personal, _) => FAILED,
        }
    };
    let share = m.ext.share(i);
    let end_t = b.start + b.e_u;
    let w = &mut m.ext;
    let id = w.locks.get(b.slot as usize).copied().unwrap_or(NO_LOCK);
    if let Some(x) = w.locks.get_mut(b.slot as usize) {
        *x = NO_LOCK;
    }
    let total = b.pay_u;
    let (mut pay, mut burn, mut refund) = (0, 0, 0);
    if id == NO_LOCK {
        if total != 0 {
            w.violation(|| format!("session {} settles {total} µOMC without a lock", b.slot));
        }
    } else {
        let locked = w.ledger.as_ref().and_then(|l| l.lock(EscrowId(id))).map_or(0, |k| k.amount.0);
        if total > locked || total < 0 {
            w.violation(|| format!("session {} books {total} µOMC, more than its lock {locked}", b.slot));
        }
        let total = total.clamp(0, locked);
        pay = ((total as f64 * share).round() as i64).clamp(0, total);
        burn = total - pay;
        match w.ledger().escrow_settle(EscrowId(id), AccountId(i as u32), pay, burn, SimTime(end_t)) {
            Ok(rc) => {
                refund = rc.refund.0;
                if rc.pay.0 + rc.burn.0 + rc.refund.0 != rc.locked.0 || rc.locked.0 != locked {
                    w.violation(|| format!("session {}: pay + burn + refund != locked", b.slot));
                }
            }
            Err(err) => w.violation(|| format!("settlement of session {}: {err}", b.slot)),
        }
    }
    w.net[i] += pay;
    w.burned[i] += burn;
    // Trust transactions of the condition.
    let link = w.cfg.link;
    let (e_h, kept_h) = (ticks_to_hours(b.e_u), ticks_to_hours(b.kept_u));
    let mut txs: Vec<(f64, f64)> = Vec::new();
    let terminated_like = cond == TERMINATED || (cond == FAILED && link.failed_signal && !b.horizon);
    if cond == COMPLETED {
        txs.push((e_h, link.vs_completed));
    } else if terminated_like {
        if b.kept_u > 0 {
            txs.push((kept_h, link.vs_completed));
        }
        if b.e_u > b.kept_u {
            txs.push((e_h - kept_h, link.vs_terminated));
        }
    }
    let mut credit = 0.0;
    if !txs.is_empty() {
        let day = ((end_t - start) / TICKS_PER_DAY) as u32;
        let ed = w.engine_day(day);
        let (c_id, p_id) = (w.idents[np + j], w.idents[i]);
        let params = w.cfg.trust.clone();
        let engine = w.engine();
        let _ = engine.set_day(ed.max(engine.day()));
        for &(dur, vs) in &txs {
            match w.engine().add_transaction(c_id, p_id, link.rw, dur, vs) {
                Ok(()) => {
                    credit += transaction_credit(&params, link.rw, dur, vs);
                    w.txs[i] += 1;
                }
                Err(err) => w.violation(|| format!("transaction of session {}: {err}", b.slot)),
            }
        }
    }
    let book = &mut w.books[class][cond];
    book.count += 1;
    book.credit += credit;
    book.pay += pay;
    book.burn += burn;
    book.gross += total;
    if w.even_day[i].is_none() && !b.horizon {
        let cost = if kind == ProviderKind::Datacenter { m.params.dc.cost } else { m.params.home.cost };
        let hours = ticks_to_hours(m.providers[i].books.corrected.hours);
        if m.ext.net[i] as f64 / 1e6 >= cost * hours && hours > 0.0 {
            m.ext.even_day[i] = Some(((end_t - start) / TICKS_PER_DAY) as u32);
        }
    }
    let n = txs.len();
    ctx.note(Some(AgentRef::new("provider", i as u32)), || {
        format!(
            "settles session {} ({}): share {share:.4}, pay {} burn {} refund {} OMC; {n} trust transaction(s), credit {credit:.4}",
            b.slot,
            CONDITIONS[cond],
            Micro(pay),
            Micro(burn),
            Micro(refund)
        )
    });
}

impl Hooks for World {
    const KIND: &'static str = "world";
    const STREAMS: &'static [&'static str] = STREAMS;
    const FLOORS_MOVE: bool = true;

    fn on_leg_agents(m: &mut EconomicMarket<Self>, _j: u32, ctx: &mut Ctx<'_, Ev>) {
        setup_leg(m, ctx);
    }
    fn on_session_start(m: &mut EconomicMarket<Self>, slot: u32, ctx: &mut Ctx<'_, Ev>) {
        lock(m, slot, ctx);
    }
    fn on_booked(m: &mut EconomicMarket<Self>, b: &Booked, ctx: &mut Ctx<'_, Ev>) {
        settle(m, b, ctx);
    }
    fn on_leg_end(m: &mut EconomicMarket<Self>, _j: u32, _ctx: &mut Ctx<'_, Ev>) {
        m.ext.close_row();
        let rec = super::metrics::record(m);
        m.ext.records.push(rec);
        m.ext.dc_scale = 0.0;
    }
    fn on_hook(m: &mut EconomicMarket<Self>, ev: HookEv, ctx: &mut Ctx<'_, Ev>) {
        match ev {
            HookEv::DayStart(d) => day_start(m, d, ctx),
            // Attackers are not in this version: never scheduled.
            HookEv::Abandon(_) | HookEv::FakeSessions => {}
        }
    }
    fn invariants(m: &EconomicMarket<Self>) -> Result<(), String> {
        invariants(m)
    }
    fn dc_cost_scale(m: &EconomicMarket<Self>) -> f64 {
        if m.ext.cfg.net_pricing && m.ext.dc_scale > 0.0 { m.ext.dc_scale } else { 1.0 }
    }
    fn pending_ok(m: &EconomicMarket<Self>, ev: HookEv) -> Result<(), String> {
        match ev {
            HookEv::DayStart(d) if d < m.ext.days && (m.ext.rows.is_empty() || d > m.ext.day) => Ok(()),
            other => Err(format!("a pending {other:?} the world does not expect")),
        }
    }
    fn validate(m: &EconomicMarket<Self>, fresh: &EconomicMarket<Self>) -> Result<(), String> {
        if m.ext.cfg != fresh.ext.cfg {
            return Err("the world's parameters are not those of its scenario".into());
        }
        invariants(m)?;
        if let Some(e) = &m.ext.trust {
            e.validate(&m.ext.cfg.trust, Rules::CORRECTED)?;
        }
        if let Some(l) = &m.ext.ledger {
            let today = m.ext.day as u64;
            l.validate(l.config(), today)?;
        }
        // Floors: the market's until the leg's first day; then, under net
        // pricing, those of the shares of the last solve.
        let (markup, cap, s_min) = (m.params.price.floor_markup, m.params.price.cap, m.ext.cfg.s_min);
        if m.providers.is_empty() {
            return Ok(());
        }
        let mut probe = fresh.clone();
        crate::engine::with_scratch_ctx(SimTime(m.leg_bounds().0), 0, STREAMS, |ctx| {
            probe.handle_leg_start_probe(m.leg, ctx)
        });
        for (i, p) in m.providers.iter().enumerate() {
            let initial = probe.providers.get(i).map_or(f64::NAN, |q| q.floor);
            let c = if p.kind == ProviderKind::Datacenter { m.params.dc.cost } else { m.params.home.cost };
            let net = cap.min(markup * c / m.ext.share(i).max(s_min));
            let ok = p.setter
                || p.floor.to_bits() == initial.to_bits()
                || (m.ext.cfg.net_pricing && !m.ext.rows.is_empty() && p.floor.to_bits() == net.to_bits());
            if !ok {
                return Err(format!("world: provider{i}'s floor {} is neither its initial nor its net floor", p.floor));
            }
        }
        Ok(())
    }
}

/// The coupling's invariants: money conserved (escrow included); the
/// world's per-agent books sized to the leg; each open lock belongs to a
/// running session and each running session with a positive booked amount
/// holds one; once the leg ended no lock is open; each provider's engine
/// transactions are its history plus those its settlements recorded.
pub fn invariants(m: &EconomicMarket<World>) -> Result<(), String> {
    let w = &m.ext;
    if let Some(v) = w.violations.first() {
        return Err(format!("world: {v}"));
    }
    let (Some(l), Some(e)) = (&w.ledger, &w.trust) else {
        if m.providers.is_empty() && m.consumers.is_empty() {
            return Ok(());
        }
        return Err("world: a leg has agents but no ledger or trust engine".into());
    };
    l.check_conservation().map_err(|x| format!("world ledger: {x}"))?;
    let np = m.providers.len();
    let n = np + m.consumers.len();
    let sized = [w.net.len(), w.burned.len(), w.txs.len(), w.history_txs.len(), w.half_day.len(), w.even_day.len()];
    if l.len() != n || w.idents.len() != n || sized.iter().any(|&k| k != np) {
        return Err("world: books not sized to the leg's agents".into());
    }
    if w.idents.iter().any(|i| i.idx() >= e.len()) {
        return Err("world: an agent's trust identity is unknown to the engine".into());
    }
    // Every account's stored trust is its identity's from the last solve
    // (settlements and floors read it).
    for (a, &i) in w.idents.iter().enumerate() {
        if l.trust(AccountId(a as u32)).to_bits() != e.trust(i).to_bits() {
            return Err(format!("world: account {a}'s trust is not its identity's of the last solve"));
        }
    }
    let mut open = 0usize;
    for (slot, &id) in w.locks.iter().enumerate() {
        if id == NO_LOCK {
            continue;
        }
        open += 1;
        if m.session_at(slot as u32).is_none() {
            return Err(format!("world: lock {id} of session {slot}, which is not running"));
        }
        match l.lock(EscrowId(id)) {
            Some(k) if (k.payer.0 as usize) >= np => {}
            _ => return Err(format!("world: session {slot} holds lock {id}, which is not open")),
        }
    }
    if open != l.open_lock_count() {
        return Err(format!("world: {open} sessions hold locks, the ledger has {} open", l.open_lock_count()));
    }
    if m.records.len() > m.leg as usize && open > 0 {
        return Err(format!("world: {open} locks open after the leg's end"));
    }
    for i in 0..np {
        let (as_provider, _) = e.transactions_of(w.idents[i]);
        if as_provider.len() as u64 != w.history_txs[i] + w.txs[i] {
            return Err(format!(
                "world: provider{i} has {} trust transactions, its history and settlements {}",
                as_provider.len(),
                w.history_txs[i] + w.txs[i]
            ));
        }
    }
    Ok(())
}
