//! The reliability market as an engine `Model` (reliability.md §2, §4, §5).
//!
//! One model serves the three studies; `Params::variant` selects the bidding
//! rule, the allocation rule and whether thresholds adapt. Reference fidelity
//! runs the market on 0.1 h ticks (one `Tick` event per tick, with the
//! reference's order of operations inside it); corrected fidelity is truly
//! event-driven.

use super::config::{BidModel, ConsumerOrder, Fidelity, Params, Priority, ProviderSetup, ThresholdUpdate, Variant};
use crate::engine::time::{hours_to_ticks, ticks_to_hours};
use crate::engine::{AgentRef, Ctx, EventId, EventInfo, Model, SimTime, TimeUnit};
use crate::market::bids::{QuoteInput, Strategy, V2Input, cancel_probability, quote, v2_quote};
use crate::market::orders::{IdleMode, IdleProviders, WaitingConsumers, desc_key};
use crate::market::price::Price;
use crate::market::slab::Slab;
use rand::RngExt;
use rand_distr::{Distribution, Exp1, StandardNormal};
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Random streams (reliability.md §5).
pub const STREAMS: &[&str] = &["init", "price", "bid_arrival", "bid_size", "tiebreak", "adapt"];
const S_INIT: usize = 0;
const S_PRICE: usize = 1;
const S_ARRIVAL: usize = 2;
const S_SIZE: usize = 3;
const S_TIE: usize = 4;
const S_ADAPT: usize = 5;

const NONE: u32 = u32::MAX;
/// Bids and costs closer than this are ties.
const TIE_EPS: f64 = 1e-9;

/// Events of the reliability market.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Ev {
    /// Start of round r: reset counters and price, everyone waits/idles.
    RoundStart(u32),
    /// Reference fidelity: market tick k (1..=K) of the current round.
    Tick(u32),
    /// End of round r: settle, record, adapt.
    RoundEnd(u32),
    /// Corrected: periodic re-quote of the price; retries waiting consumers.
    Requote,
    /// Corrected: a competing bid reaches the provider of session (slot).
    CompetingBid(u32),
    /// Corrected: session (slot) completes its work.
    SessionEnd(u32),
    /// Corrected: match waiting consumers with idle providers.
    MatchPass,
}

impl EventInfo for Ev {
    fn kind(&self) -> &'static str {
        match self {
            Ev::RoundStart(_) => "RoundStart",
            Ev::Tick(_) => "Tick",
            Ev::RoundEnd(_) => "RoundEnd",
            Ev::Requote => "Requote",
            Ev::CompetingBid(_) => "CompetingBid",
            Ev::SessionEnd(_) => "SessionEnd",
            Ev::MatchPass => "MatchPass",
        }
    }
}

/// A provider and its per-round counters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Provider {
    /// Provider group (basic) or 0.
    pub group: u16,
    /// Cancellation threshold T.
    pub threshold: f64,
    /// Completed sessions this round.
    pub n_comp: u32,
    /// Cancelled sessions this round.
    pub n_canc: u32,
    /// Earnings E this round ($).
    pub earnings: f64,
    /// Hours worked h this round.
    pub hours: f64,
    /// Session slot, or none.
    pub session: u32,
    /// Tie key while idle ("bid" priority).
    pub tie: u64,
}

impl Provider {
    /// Completion estimate: n_comp/(n_comp + n_canc), 1 with no finished session.
    #[inline]
    pub fn chat(&self) -> f64 {
        let n = self.n_comp + self.n_canc;
        if n == 0 { 1.0 } else { self.n_comp as f64 / n as f64 }
    }
    fn reset(&mut self) {
        self.n_comp = 0;
        self.n_canc = 0;
        self.earnings = 0.0;
        self.hours = 0.0;
        self.session = NONE;
    }
}

/// A consumer, its current job and its per-round counters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Consumer {
    /// Consumer group index.
    pub group: u16,
    /// Remaining work L of the current job (h).
    pub rem: f64,
    /// Remaining work in ticks (corrected fidelity).
    pub rem_ticks: u64,
    /// Jobs completed this round.
    pub jobs: u32,
    /// Cancellations suffered this round.
    pub restarts: u32,
    /// Money paid M.
    pub paid: f64,
    /// Hours paid P.
    pub paid_hours: f64,
    /// Useful hours H.
    pub useful: f64,
    /// Lost hours omega.
    pub lost: f64,
    /// Sum of provider thresholds over completed jobs.
    pub thr_sum: f64,
    /// Number of thresholds summed.
    pub thr_n: u32,
    /// Completed jobs by provider class (reliable, moderate, unreliable).
    pub classes: [u32; 3],
    /// Session slot, or none.
    pub session: u32,
    /// Tie key while waiting ("bid" priority).
    pub tie: u64,
}

impl Consumer {
    fn reset(&mut self, job_hours: f64, job_ticks: u64) {
        *self = Consumer {
            group: self.group,
            rem: job_hours,
            rem_ticks: job_ticks,
            jobs: 0,
            restarts: 0,
            paid: 0.0,
            paid_hours: 0.0,
            useful: 0.0,
            lost: 0.0,
            thr_sum: 0.0,
            thr_n: 0,
            classes: [0; 3],
            session: NONE,
            tie: 0,
        };
    }
}

/// A running session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// Provider index.
    pub provider: u32,
    /// Consumer index.
    pub consumer: u32,
    /// Rate r ($/h), fixed at start.
    pub rate: f64,
    /// Start time.
    pub start: SimTime,
    /// Work L to do (h).
    pub work: f64,
    /// Work in ticks (corrected).
    pub work_ticks: u64,
    /// Whether the job was fresh (L = D) at start.
    pub fresh: bool,
    /// Whether a competing bid arrived.
    pub got_bid: bool,
    /// Start order.
    pub serial: u64,
    /// Corrected: the pending `SessionEnd`.
    pub end_ev: Option<EventId>,
    /// Corrected: the pending `CompetingBid`.
    pub bid_ev: Option<EventId>,
    /// Reference: global tick in which the session started.
    pub start_tick: u64,
    /// Reference: session tick in which it completes.
    pub n_ticks: u32,
}

/// What one round leaves behind for the metrics.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RoundRecord {
    /// Global round index.
    pub round: u32,
    /// Strategy index (basic) or 0.
    pub strategy: u8,
    /// Iteration within the strategy (basic) or the round.
    pub iteration: u32,
    /// Thresholds in force during the round.
    pub thresholds: Vec<f64>,
    /// Provider counters: (n_comp, n_canc, earnings, hours).
    pub providers: Vec<(u32, u32, f64, f64)>,
    /// Consumer counters (basic: every round; others: last round only).
    pub consumers: Vec<Consumer>,
    /// Basic: session starts where acceptors showed >= 2 distinct estimates.
    pub choice_contested: u64,
    /// ... and the chosen provider had the lowest estimate.
    pub choice_least: u64,
    /// ... and the chosen provider had the highest estimate.
    pub choice_most: u64,
}

/// Run-wide diagnostics (price law and bid exposure checks).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Diagnostics {
    /// Price samples taken on the requote/tick grid.
    pub price_samples: u64,
    /// Sum of sampled prices.
    pub price_sum: f64,
    /// Samples below 0.5.
    pub price_below_half: u64,
    /// Fresh full-length sessions that ended (completed or cancelled).
    pub fresh_ended: u64,
    /// ... of which got at least one competing bid.
    pub fresh_bid: u64,
    /// Competing bids that arrived.
    pub competing_bids: u64,
    /// Sessions started.
    pub sessions: u64,
}

/// The reliability market.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReliabilityMarket {
    /// Parameters.
    pub params: Params,
    /// Providers, by index.
    pub providers: Vec<Provider>,
    /// Consumers, in list order.
    pub consumers: Vec<Consumer>,
    sessions: Slab<Session>,
    serial: u64,
    idle: IdleProviders,
    waiting: WaitingConsumers,
    pending: Vec<u32>,
    queue_seq: u64,
    price: Price,
    /// Current global round.
    pub round: u32,
    /// Between a round's start and its end.
    pub in_round: bool,
    strategy: Strategy,
    round_start: SimTime,
    // Reference tick mode.
    k_per_round: u32,
    dt_ticks: u64,
    e_tab: Vec<f64>,
    ckpt_tab: Vec<Vec<f64>>,
    ring: Vec<Vec<(u64, u32)>>,
    ln_no_bid: f64,
    // Corrected mode.
    job_ticks: u64,
    kappa_ticks: Vec<u64>,
    match_ev: Option<EventId>,
    requote_ev: Option<EventId>,
    round_paid: f64,
    round_earned: f64,
    choice: [u64; 3],
    /// Per-round records.
    pub records: Vec<RoundRecord>,
    /// Diagnostics.
    pub diag: Diagnostics,
    /// When set, handlers check the spec's per-event invariants.
    pub checks: bool,
    /// Invariant violations found (with `checks`).
    pub violations: Vec<String>,
}

impl ReliabilityMarket {
    /// A market for `params`; thresholds are drawn by `Model::start`.
    pub fn new(params: Params) -> Self {
        let tick = params.tick_mode();
        let dt = params.tick_hours;
        let e_tab = tick_grid(dt, params.job_hours);
        let ckpt_tab = params.consumer_groups.iter().map(|g| checkpoint_grid(&e_tab, g.checkpoint)).collect();
        let ring_len = e_tab.len() + 1;
        let p_bid = (params.bid_rate * dt).min(1.0);
        let (providers, consumers) = population(&params);
        let n_prov = providers.len();
        let idle_mode = if params.priority == Priority::Fifo { IdleMode::Blocks } else { IdleMode::Ranked };
        ReliabilityMarket {
            k_per_round: params.ticks_per_round(),
            dt_ticks: hours_to_ticks(dt).max(1),
            e_tab,
            ckpt_tab,
            ring: if tick { vec![Vec::new(); ring_len] } else { Vec::new() },
            ln_no_bid: (1.0 - p_bid).ln(),
            job_ticks: hours_to_ticks(params.job_hours).max(1),
            kappa_ticks: params.consumer_groups.iter().map(|g| hours_to_ticks(g.checkpoint).max(1)).collect(),
            strategy: params.strategies[0],
            price: Price::reset(tick, &params.price, SimTime::ZERO),
            params,
            providers,
            consumers,
            sessions: Slab::default(),
            serial: 0,
            idle: IdleProviders::new(idle_mode, n_prov),
            waiting: WaitingConsumers::default(),
            pending: Vec::new(),
            queue_seq: 0,
            round: 0,
            in_round: false,
            round_start: SimTime::ZERO,
            match_ev: None,
            requote_ev: None,
            round_paid: 0.0,
            round_earned: 0.0,
            choice: [0; 3],
            records: Vec::new(),
            diag: Diagnostics::default(),
            checks: false,
            violations: Vec::new(),
        }
    }

    fn tick_mode(&self) -> bool {
        self.params.fidelity == Fidelity::Reference
    }

    fn round_ticks(&self) -> u64 {
        if self.tick_mode() { self.k_per_round as u64 * self.dt_ticks } else { hours_to_ticks(self.params.round_hours) }
    }

    fn violation(&mut self, msg: impl FnOnce() -> String) {
        if self.violations.len() < 50 {
            self.violations.push(msg());
        }
    }

    fn new_tie(ctx: &mut Ctx<'_, Ev>) -> u64 {
        ctx.rng(S_TIE).random::<u64>()
    }

    fn uses_ties(&self) -> bool {
        self.params.priority == Priority::Bid
    }

    /// Work remaining of consumer `j` as a class key.
    fn work_key(&self, j: usize) -> u64 {
        if self.tick_mode() { self.consumers[j].rem.to_bits() } else { self.consumers[j].rem_ticks }
    }

    fn free_provider(&mut self, i: u32, ctx: &mut Ctx<'_, Ev>) {
        let tie = if self.uses_ties() { Self::new_tie(ctx) } else { 0 };
        let p = &mut self.providers[i as usize];
        p.session = NONE;
        p.tie = tie;
        let chat = p.chat();
        self.idle.insert(i, chat, tie);
    }

    fn free_consumer(&mut self, j: u32) {
        self.consumers[j as usize].session = NONE;
        self.pending.push(j);
    }

    /// Move consumers who started waiting into the waiting order, in list
    /// order (the reference's queue refresh, §4.8).
    fn flush_pending(&mut self, ctx: &mut Ctx<'_, Ev>) {
        if self.pending.is_empty() {
            return;
        }
        let mut pending = std::mem::take(&mut self.pending);
        pending.sort_unstable();
        for &j in &pending {
            let key = match self.params.priority {
                Priority::Bid => {
                    let t = Self::new_tie(ctx);
                    self.consumers[j as usize].tie = t;
                    t
                }
                Priority::ValueSorted => j as u64,
                Priority::Fifo => {
                    self.queue_seq += 1;
                    self.queue_seq
                }
            };
            let c = &self.consumers[j as usize];
            let (group, rem) = (c.group, c.rem);
            let wk = self.work_key(j as usize);
            self.waiting.push(group, wk, rem, key, j);
        }
        pending.clear();
        self.pending = pending;
    }

    fn request_match(&mut self, ctx: &mut Ctx<'_, Ev>) {
        if self.match_ev.is_none() {
            self.match_ev = Some(ctx.schedule(ctx.now(), Ev::MatchPass));
        }
    }

    fn sample_diag_price(&mut self, p: f64) {
        self.diag.price_samples += 1;
        self.diag.price_sum += p;
        if p < 0.5 {
            self.diag.price_below_half += 1;
        }
    }

    fn competing_bid(&self, p: f64, ctx: &mut Ctx<'_, Ev>) -> f64 {
        match self.params.bid_model {
            BidModel::Normal { spread, floor } => {
                let z: f64 = StandardNormal.sample(ctx.rng(S_SIZE));
                (p + spread * p * z).max(floor)
            }
            BidModel::Uniform { lo, hi } => {
                let u: f64 = ctx.rng(S_SIZE).random();
                p * (lo + (hi - lo) * u)
            }
        }
    }

    fn cancels(&self, bid: f64, threshold: f64, rate: f64) -> bool {
        match self.params.variant {
            Variant::V2 => bid >= threshold * rate,
            _ => bid / rate >= threshold,
        }
    }

    /// Reference: session ticks until the next successful Bernoulli trial.
    fn geometric_gap(&self, ctx: &mut Ctx<'_, Ev>) -> u64 {
        if self.ln_no_bid == 0.0 {
            return u64::MAX;
        }
        if self.ln_no_bid == f64::NEG_INFINITY {
            return 1;
        }
        let u: f64 = 1.0 - ctx.rng(S_ARRIVAL).random::<f64>();
        let failures = (u.ln() / self.ln_no_bid).floor();
        if failures >= 1e18 { u64::MAX } else { failures as u64 + 1 }
    }

    /// Corrected: ticks until the next competing bid (Exp(lambda), rounded
    /// up, at least 1).
    fn exp_gap(&self, ctx: &mut Ctx<'_, Ev>) -> u64 {
        if self.params.bid_rate <= 0.0 {
            return u64::MAX;
        }
        let e: f64 = Exp1.sample(ctx.rng(S_ARRIVAL));
        let t = (e / self.params.bid_rate * crate::engine::TICKS_PER_HOUR as f64).ceil();
        if t >= 1e18 { u64::MAX } else { (t as u64).max(1) }
    }

    /// Start a session between idle provider `i` and consumer `j` (already
    /// taken from the waiting order) at `rate`.
    fn start_session(&mut self, i: u32, j: u32, rate: f64, ctx: &mut Ctx<'_, Ev>) {
        let now = ctx.now();
        let pr = &self.providers[i as usize];
        let (chat, tie) = (pr.chat(), pr.tie);
        self.idle.remove(i, chat, tie);
        let c = &self.consumers[j as usize];
        let work = c.rem;
        let work_ticks = c.rem_ticks;
        let fresh = if self.tick_mode() { work == self.params.job_hours } else { work_ticks == self.job_ticks };
        self.serial += 1;
        let mut s = Session {
            provider: i,
            consumer: j,
            rate,
            start: now,
            work,
            work_ticks,
            fresh,
            got_bid: false,
            serial: self.serial,
            end_ev: None,
            bid_ev: None,
            start_tick: 0,
            n_ticks: 0,
        };
        self.diag.sessions += 1;
        ctx.mix(((i as u64) << 32) | j as u64);
        ctx.mix_f64(rate);
        let slot;
        if self.tick_mode() {
            let g = self.global_tick(now);
            let n = self.e_tab.iter().position(|&e| e >= work - 1e-9).unwrap_or(self.e_tab.len() - 1) as u32;
            s.start_tick = g;
            s.n_ticks = n.max(1);
            let gap = self.geometric_gap(ctx);
            let due = gap.min(s.n_ticks as u64);
            // Bid trials happen in session ticks 1..n-1 only.
            slot = self.sessions.insert(s);
            let ring_len = self.ring.len() as u64;
            self.ring[((g + due) % ring_len) as usize].push((self.serial, slot));
        } else {
            slot = self.sessions.insert(s);
            let end = ctx.schedule(now.plus(work_ticks), Ev::SessionEnd(slot));
            let gap = self.exp_gap(ctx);
            let bid = if gap < work_ticks { Some(ctx.schedule(now.plus(gap), Ev::CompetingBid(slot))) } else { None };
            let s = &mut self.sessions[slot];
            s.end_ev = Some(end);
            s.bid_ev = bid;
        }
        self.providers[i as usize].session = slot;
        self.consumers[j as usize].session = slot;
        ctx.note(Some(AgentRef::new("provider", i)), || {
            format!("starts session {slot} with consumer {j} at ${rate:.4}/h, work {work:.3}h")
        });
        ctx.note(Some(AgentRef::new("consumer", j)), || {
            format!("starts session {slot} with provider {i} at ${rate:.4}/h")
        });
    }

    /// Reference: the global tick index of a tick time.
    fn global_tick(&self, t: SimTime) -> u64 {
        t.ticks() / self.dt_ticks
    }

    /// Settle a completion of session `slot`.
    fn complete(&mut self, slot: u32, ctx: &mut Ctx<'_, Ev>) {
        let s = self.sessions[slot].clone();
        let money = s.rate * s.work;
        let (reliable_min, moderate_min) = (self.params.class_reliable_min, self.params.class_moderate_min);
        let p = &mut self.providers[s.provider as usize];
        p.n_comp += 1;
        p.earnings += money;
        p.hours += s.work;
        let threshold = p.threshold;
        let c = &mut self.consumers[s.consumer as usize];
        c.jobs += 1;
        c.paid += money;
        c.paid_hours += s.work;
        c.useful += s.work;
        c.thr_sum += threshold;
        c.thr_n += 1;
        let class = if threshold >= reliable_min {
            0
        } else if threshold >= moderate_min {
            1
        } else {
            2
        };
        c.classes[class] += 1;
        c.rem = self.params.job_hours;
        c.rem_ticks = self.job_ticks;
        self.round_paid += money;
        self.round_earned += money;
        if s.fresh {
            self.diag.fresh_ended += 1;
            self.diag.fresh_bid += s.got_bid as u64;
        }
        ctx.mix(0xC0 ^ slot as u64);
        ctx.note(Some(AgentRef::new("provider", s.provider)), || {
            format!("session {slot} completes: consumer {} pays ${money:.4} for {:.3}h", s.consumer, s.work)
        });
        self.sessions.remove(slot);
        self.free_provider(s.provider, ctx);
        self.free_consumer(s.consumer);
    }

    /// Settle a cancellation of session `slot` after `e` hours with `ckpt`
    /// hours checkpointed (`ckpt_ticks` in corrected fidelity).
    fn cancel(&mut self, slot: u32, e: f64, ckpt: f64, ckpt_ticks: u64, bid: f64, ctx: &mut Ctx<'_, Ev>) {
        let s = self.sessions[slot].clone();
        let money = s.rate * e;
        let g = self.consumers[s.consumer as usize].group as usize;
        let kappa = self.params.consumer_groups[g].checkpoint;
        if self.checks && !(e - ckpt >= -1e-9 && e - ckpt < kappa + 1e-9 && e - ckpt <= e + 1e-12) {
            self.violation(|| format!("lost work {} outside [0, kappa={kappa})", e - ckpt));
        }
        let p = &mut self.providers[s.provider as usize];
        p.n_canc += 1;
        p.earnings += money;
        p.hours += e;
        let credit =
            if self.params.resume || (self.params.variant == Variant::V2 && self.tick_mode()) { ckpt } else { 0.0 };
        let resume = self.params.resume;
        let (job_hours, job_ticks) = (self.params.job_hours, self.job_ticks);
        let c = &mut self.consumers[s.consumer as usize];
        c.restarts += 1;
        c.paid += money;
        c.paid_hours += e;
        c.lost += e - ckpt;
        c.useful += credit;
        if resume {
            c.rem -= ckpt;
            c.rem_ticks -= ckpt_ticks;
            if self.params.fidelity == Fidelity::Corrected {
                c.rem = ticks_to_hours(c.rem_ticks);
            }
        } else {
            c.rem = job_hours;
            c.rem_ticks = job_ticks;
        }
        self.round_paid += money;
        self.round_earned += money;
        if s.fresh {
            self.diag.fresh_ended += 1;
            self.diag.fresh_bid += 1;
        }
        ctx.mix(0xCA ^ slot as u64);
        ctx.mix_f64(e);
        ctx.note(Some(AgentRef::new("provider", s.provider)), || {
            format!(
                "cancels session {slot}: competing bid ${bid:.4}/h >= T {:.3} x rate ${:.4}/h; paid ${money:.4} for {e:.3}h",
                self.providers[s.provider as usize].threshold, s.rate
            )
        });
        ctx.note(Some(AgentRef::new("consumer", s.consumer)), || {
            format!("loses {:.3}h of work (checkpointed {ckpt:.3}h)", e - ckpt)
        });
        self.sessions.remove(slot);
        self.free_provider(s.provider, ctx);
        self.free_consumer(s.consumer);
    }

    /// A competing bid `bid` reaches session `slot`: cancel or keep going.
    /// Returns whether it cancelled.
    fn bid_arrives(&mut self, slot: u32, bid: f64) -> bool {
        self.diag.competing_bids += 1;
        let s = &mut self.sessions[slot];
        s.got_bid = true;
        let (rate, provider) = (s.rate, s.provider);
        let t = self.providers[provider as usize].threshold;
        let cancels = self.cancels(bid, t, rate);
        // Every cancel has b' >= T r and every other bid b' < T r (up to the
        // last bit: basic and equilibrium test b'/r >= T).
        let bound = t * rate;
        let consistent = if cancels { bid >= bound * (1.0 - 1e-12) } else { bid < bound * (1.0 + 1e-12) };
        if self.checks && !consistent {
            self.violation(|| format!("cancel decision {cancels} for bid {bid} vs T {t} x r {rate}"));
        }
        cancels
    }

    // ----- matching -----

    fn match_pass(&mut self, p: f64, ctx: &mut Ctx<'_, Ev>) {
        self.flush_pending(ctx);
        if self.idle.is_empty() || self.waiting.is_empty() {
            return;
        }
        match self.params.priority {
            Priority::Fifo => self.fifo_pass(p, ctx),
            Priority::ValueSorted => self.value_sorted_pass(p, ctx),
            Priority::Bid => self.bid_pass(p, ctx),
        }
    }

    fn quote_input(&self, group: u16, work: f64, chat: f64, p: f64) -> QuoteInput {
        let g = &self.params.consumer_groups[group as usize];
        QuoteInput {
            price: p,
            q: cancel_probability(chat, work, self.params.mean_job_hours),
            restart_cost: g.restart_cost,
            checkpoint: g.checkpoint,
            work,
            rational_floor: self.params.rational_floor,
        }
    }

    fn v2_input(&self, group: u16, work: f64) -> V2Input {
        let g = &self.params.consumer_groups[group as usize];
        V2Input {
            value: g.value,
            checkpoint: g.checkpoint,
            work,
            mean_job: self.params.mean_job_hours,
            attempts_cap: self.params.attempts_cap,
            bid_min: self.params.bid_min,
        }
    }

    /// Record the basic study's choice statistics for a session start.
    fn record_choice(&mut self, acceptor_chats: &[f64], chosen: f64) {
        if acceptor_chats.len() < 2 {
            return;
        }
        let lo = acceptor_chats.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = acceptor_chats.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if lo == hi {
            return;
        }
        self.choice[0] += 1;
        if chosen == lo {
            self.choice[1] += 1;
        }
        if chosen == hi {
            self.choice[2] += 1;
        }
    }

    fn check_start(&mut self, rate: f64, p: f64, limit: Option<f64>) {
        if !self.checks {
            return;
        }
        match self.params.variant {
            Variant::V2 => {
                let w = limit.unwrap_or(f64::NAN);
                if rate != p || w.partial_cmp(&p) != Some(std::cmp::Ordering::Greater) {
                    self.violation(|| format!("v2 session at rate {rate} (price {p}, limit {w})"));
                }
            }
            _ => {
                if rate < self.params.reserve_price {
                    let reserve = self.params.reserve_price;
                    self.violation(|| format!("session rate {rate} below reserve {reserve}"));
                }
                if self.strategy == Strategy::Rational
                    && (rate < self.params.rational_floor * p - 1e-12 || rate > p + 1e-12)
                {
                    self.violation(|| format!("rational bid {rate} outside [rho p, p] at p {p}"));
                }
            }
        }
    }

    fn fifo_pass(&mut self, p: f64, ctx: &mut Ctx<'_, Ev>) {
        let mut heads: BinaryHeap<Reverse<(u64, u32)>> = self
            .waiting
            .active()
            .iter()
            .map(|&c| Reverse((self.waiting.class(c).head().expect("active class").0, c)))
            .collect();
        let ec = self.params.expected_cost;
        let reserve = self.params.reserve_price;
        let track = self.params.variant == Variant::Basic;
        // (estimate, members, bid, cost) of acceptable blocks.
        let mut evals: Vec<(f64, usize, f64, f64)> = Vec::new();
        while let Some(Reverse((_, c))) = heads.pop() {
            if self.idle.is_empty() {
                break;
            }
            let (group, work) = {
                let cl = self.waiting.class(c);
                (cl.group, cl.work)
            };
            evals.clear();
            for (chat, members) in self.idle.blocks() {
                let q = quote(self.strategy, ec, &self.quote_input(group, work, chat, p));
                if q.bid >= reserve {
                    evals.push((chat, members.len(), q.bid, q.cost));
                }
            }
            if evals.is_empty() {
                continue;
            }
            let best = evals.iter().map(|e| e.3).fold(f64::INFINITY, f64::min);
            let total: usize = evals.iter().filter(|e| e.3 <= best + TIE_EPS).map(|e| e.1).sum();
            let mut pick = if total > 1 { ctx.rng(S_TIE).random_range(0..total) } else { 0 };
            let mut chosen = None;
            for e in evals.iter().filter(|e| e.3 <= best + TIE_EPS) {
                if pick < e.1 {
                    chosen = Some((e.0, pick, e.2));
                    break;
                }
                pick -= e.1;
            }
            let (chat, pos, bid) = chosen.expect("a tied block");
            let provider = self.idle.blocks().find(|(x, _)| *x == chat).map(|(_, m)| m[pos]).expect("block exists");
            if track {
                let chats: Vec<f64> = evals.iter().map(|e| e.0).collect();
                self.record_choice(&chats, chat);
            }
            let (_, j) = self.waiting.pop(c).expect("class head");
            self.check_start(bid, p, None);
            self.start_session(provider, j, bid, ctx);
            if let Some((k, _)) = self.waiting.class(c).head() {
                heads.push(Reverse((k, c)));
            }
        }
    }

    fn value_sorted_pass(&mut self, p: f64, ctx: &mut Ctx<'_, Ev>) {
        let mut heads: BinaryHeap<Reverse<(u64, u64, u32)>> = self
            .waiting
            .active()
            .iter()
            .map(|&c| {
                let cl = self.waiting.class(c);
                let v = self.params.consumer_groups[cl.group as usize].value;
                Reverse((desc_key(v.max(0.0)), cl.head().expect("active").0, c))
            })
            .collect();
        let eps = self.params.profit_epsilon;
        while let Some(Reverse((vk, _, c))) = heads.pop() {
            let Some((top, chat)) = self.idle.best() else {
                break;
            };
            let (group, work) = {
                let cl = self.waiting.class(c);
                (cl.group, cl.work)
            };
            let q = v2_quote(&self.v2_input(group, work), chat, p);
            if q.profit <= eps {
                continue;
            }
            let provider = if q.capped { self.idle.lowest_index().expect("idle") } else { top };
            let (_, j) = self.waiting.pop(c).expect("class head");
            self.check_start(p, p, Some(q.limit));
            self.start_session(provider, j, p, ctx);
            if let Some((k, _)) = self.waiting.class(c).head() {
                heads.push(Reverse((vk, k, c)));
            }
        }
    }

    fn bid_pass(&mut self, p: f64, ctx: &mut Ctx<'_, Ev>) {
        let v2 = self.params.variant == Variant::V2;
        let ec = self.params.expected_cost;
        let reserve = self.params.reserve_price;
        let eps = self.params.profit_epsilon;
        let track = self.params.variant == Variant::Basic;
        let mut bids: Vec<(u32, f64, f64, f64)> = Vec::new(); // class, bid, rate, limit
        loop {
            if self.waiting.is_empty() {
                break;
            }
            let Some((provider, chat)) = self.idle.best() else {
                break;
            };
            bids.clear();
            for &c in self.waiting.active() {
                let cl = self.waiting.class(c);
                if v2 {
                    let q = v2_quote(&self.v2_input(cl.group, cl.work), chat, p);
                    if q.profit > eps {
                        bids.push((c, q.limit, p, q.limit));
                    }
                } else {
                    let q = quote(self.strategy, ec, &self.quote_input(cl.group, cl.work, chat, p));
                    if q.bid >= reserve {
                        bids.push((c, q.bid, q.bid, f64::NAN));
                    }
                }
            }
            if bids.is_empty() {
                break;
            }
            let best = bids.iter().map(|b| b.1).fold(f64::NEG_INFINITY, f64::max);
            let &(c, _, rate, limit) = bids
                .iter()
                .filter(|b| b.1 >= best - TIE_EPS)
                .min_by_key(|b| self.waiting.class(b.0).head().expect("active").0)
                .expect("a winner");
            if track {
                let (group, work) = {
                    let cl = self.waiting.class(c);
                    (cl.group, cl.work)
                };
                let mut chats: Vec<f64> = Vec::new();
                for (_, x) in self.idle.ranked() {
                    if chats.last() != Some(&x) {
                        let q = quote(self.strategy, ec, &self.quote_input(group, work, x, p));
                        if q.bid >= reserve {
                            chats.push(x);
                        }
                    }
                }
                self.record_choice(&chats, chat);
            }
            let (_, j) = self.waiting.pop(c).expect("class head");
            self.check_start(rate, p, if v2 { Some(limit) } else { None });
            self.start_session(provider, j, rate, ctx);
        }
    }

    // ----- rounds -----

    fn on_round_start(&mut self, r: u32, ctx: &mut Ctx<'_, Ev>) {
        let now = ctx.now();
        self.round = r;
        self.in_round = true;
        self.round_start = now;
        if self.params.variant == Variant::Basic {
            let it = r % self.params.iterations.max(1);
            self.strategy = self.params.strategies[(r / self.params.iterations.max(1)) as usize];
            // Same random numbers for both strategies (§5).
            ctx.rngs().reseed_all(it as u64);
            let (providers, consumers) = population(&self.params);
            self.providers = providers;
            self.consumers = consumers;
        }
        for p in &mut self.providers {
            p.reset();
        }
        let (jh, jt) = (self.params.job_hours, self.job_ticks);
        for c in &mut self.consumers {
            c.reset(jh, jt);
        }
        self.sessions.clear();
        self.ring.iter_mut().for_each(Vec::clear);
        self.idle.clear();
        self.waiting.clear();
        self.pending.clear();
        self.round_paid = 0.0;
        self.round_earned = 0.0;
        self.choice = [0; 3];
        self.price = Price::reset(self.tick_mode(), &self.params.price, now);
        for i in 0..self.providers.len() as u32 {
            self.free_provider(i, ctx);
        }
        for j in 0..self.consumers.len() as u32 {
            self.pending.push(j);
        }
        self.flush_pending(ctx);
        ctx.note(None, || format!("round {r} starts (strategy {})", self.strategy.name()));
        let end = now.plus(self.round_ticks());
        if self.tick_mode() {
            ctx.schedule(now.plus(self.dt_ticks), Ev::Tick(1));
        } else {
            let rq = hours_to_ticks(self.params.requote_hours).max(1);
            if now.plus(rq) < end {
                self.requote_ev = Some(ctx.schedule(now.plus(rq), Ev::Requote));
            }
            ctx.schedule(end, Ev::RoundEnd(r));
            self.request_match(ctx);
        }
    }

    fn on_tick(&mut self, k: u32, ctx: &mut Ctx<'_, Ev>) {
        let now = ctx.now();
        let g = self.global_tick(now);
        // 1. price
        let dt = self.params.tick_hours;
        let p = self.price.tick(&self.params.price, dt, ctx.rng(S_PRICE));
        self.sample_diag_price(p);
        ctx.mix_f64(p);
        // 2./3. sessions due this tick, in start order, settled at once.
        let ring_len = self.ring.len() as u64;
        let idx = (g % ring_len) as usize;
        let mut due = std::mem::take(&mut self.ring[idx]);
        due.sort_unstable();
        for &(_, slot) in &due {
            let (start_tick, n, group) = {
                let s = &self.sessions[slot];
                (s.start_tick, s.n_ticks, self.consumers[s.consumer as usize].group)
            };
            let m = (g - start_tick) as u32;
            if m >= n {
                self.complete(slot, ctx);
                continue;
            }
            let bid = self.competing_bid(p, ctx);
            if self.bid_arrives(slot, bid) {
                let e = self.e_tab[m as usize];
                let l = self.ckpt_tab[group as usize][m as usize];
                self.cancel(slot, e, l, 0, bid, ctx);
            } else {
                ctx.note(Some(AgentRef::new("provider", self.sessions[slot].provider)), || {
                    format!("ignores a competing bid of ${bid:.4}/h")
                });
                let next = (m as u64).saturating_add(self.geometric_gap(ctx)).min(n as u64);
                self.ring[((start_tick + next) % ring_len) as usize].push((self.sessions[slot].serial, slot));
            }
        }
        due.clear();
        if self.ring[idx].is_empty() {
            self.ring[idx] = due;
        }
        // 4./5. queue refresh and match pass.
        self.match_pass(p, ctx);
        if k < self.k_per_round {
            ctx.schedule(now.plus(self.dt_ticks), Ev::Tick(k + 1));
        } else {
            ctx.schedule(now, Ev::RoundEnd(self.round));
        }
    }

    fn on_round_end(&mut self, r: u32, ctx: &mut Ctx<'_, Ev>) {
        let now = ctx.now();
        self.in_round = false;
        if !self.tick_mode() {
            // Complete sessions ending now, then settle the rest pro rata.
            let mut running: Vec<(u64, u32)> = self.sessions.iter().map(|(k, s)| (s.serial, k)).collect();
            running.sort_unstable();
            for &(_, slot) in &running {
                let s = self.sessions[slot].clone();
                if let Some(id) = s.end_ev {
                    ctx.cancel(id);
                }
                if let Some(id) = s.bid_ev {
                    ctx.cancel(id);
                }
                if s.start.plus(s.work_ticks) == now {
                    self.complete(slot, ctx);
                } else {
                    let e = ticks_to_hours(now.since(s.start));
                    let money = s.rate * e;
                    let p = &mut self.providers[s.provider as usize];
                    p.earnings += money;
                    p.hours += e;
                    let c = &mut self.consumers[s.consumer as usize];
                    c.paid += money;
                    c.paid_hours += e;
                    c.useful += e;
                    self.round_paid += money;
                    self.round_earned += money;
                    self.providers[s.provider as usize].session = NONE;
                    self.consumers[s.consumer as usize].session = NONE;
                    self.sessions.remove(slot);
                }
            }
            for id in [self.requote_ev.take(), self.match_ev.take()].into_iter().flatten() {
                ctx.cancel(id);
            }
        } else if self.checks && !self.params.resume {
            let n = self.e_tab.len() as u32 - 1;
            let cap = (self.k_per_round - 1) / n.max(1);
            if let Some(c) = self.consumers.iter().find(|c| c.jobs > cap) {
                let jobs = c.jobs;
                self.violation(|| format!("a consumer finished {jobs} fresh jobs in a round (cap {cap})"));
            }
        }
        self.record_round(r);
        ctx.note(None, || format!("round {r} ends"));
        let total = self.params.total_rounds();
        if r + 1 < total {
            if matches!(self.params.providers, ProviderSetup::Adaptive { .. }) {
                self.adapt(ctx);
            }
            ctx.schedule(now, Ev::RoundStart(r + 1));
        }
    }

    fn record_round(&mut self, r: u32) {
        let total = self.params.total_rounds();
        let keep_consumers = self.params.variant == Variant::Basic || r + 1 == total;
        let iters = self.params.iterations.max(1);
        let (strategy, iteration) =
            if self.params.variant == Variant::Basic { ((r / iters) as u8, r % iters) } else { (0, r) };
        self.records.push(RoundRecord {
            round: r,
            strategy,
            iteration,
            thresholds: self.providers.iter().map(|p| p.threshold).collect(),
            providers: self.providers.iter().map(|p| (p.n_comp, p.n_canc, p.earnings, p.hours)).collect(),
            consumers: if keep_consumers { self.consumers.clone() } else { Vec::new() },
            choice_contested: self.choice[0],
            choice_least: self.choice[1],
            choice_most: self.choice[2],
        });
    }

    /// Threshold adaptation between rounds (§4.9), O(n log n).
    fn adapt(&mut self, ctx: &mut Ctx<'_, Ev>) {
        let ProviderSetup::Adaptive { rate, follower_noise, leader_noise, margin, min, max, update, .. } =
            self.params.providers.clone()
        else {
            return;
        };
        let n = self.providers.len();
        let pi: Vec<f64> =
            self.providers.iter().map(|p| if p.hours > 0.0 { p.earnings / p.hours } else { 0.0 }).collect();
        // Active providers sorted by earnings per hour.
        let mut order: Vec<u32> = (0..n as u32).filter(|&i| self.providers[i as usize].hours > 0.0).collect();
        order.sort_by(|&a, &b| pi[a as usize].total_cmp(&pi[b as usize]).then(a.cmp(&b)));
        let sorted_pi: Vec<f64> = order.iter().map(|&i| pi[i as usize]).collect();
        let mut pos = vec![usize::MAX; n];
        for (k, &i) in order.iter().enumerate() {
            pos[i as usize] = k;
        }
        // Fenwick tree over sorted positions holding thresholds.
        let m = order.len();
        let mut fen = vec![0.0f64; m + 1];
        let fen_add = |fen: &mut Vec<f64>, k: usize, v: f64| {
            let mut x = k + 1;
            while x <= m {
                fen[x] += v;
                x += x & x.wrapping_neg();
            }
        };
        let fen_prefix = |fen: &Vec<f64>, k: usize| -> f64 {
            // sum of positions [0, k)
            let mut x = k;
            let mut s = 0.0;
            while x > 0 {
                s += fen[x];
                x -= x & x.wrapping_neg();
            }
            s
        };
        for (k, &i) in order.iter().enumerate() {
            fen_add(&mut fen, k, self.providers[i as usize].threshold);
        }
        let total_sum = |fen: &Vec<f64>| fen_prefix(fen, m);
        let mut new_t: Vec<f64> = self.providers.iter().map(|p| p.threshold).collect();
        for i in 0..n {
            if self.providers[i].hours <= 0.0 {
                continue;
            }
            let bar = (1.0 + margin) * pi[i];
            // First sorted position with pi > bar.
            let first = sorted_pi.partition_point(|&x| x <= bar);
            let count = m - first;
            let t_old = self.providers[i].threshold;
            let mut t = if count == 0 {
                let z: f64 = if leader_noise > 0.0 { StandardNormal.sample(ctx.rng(S_ADAPT)) } else { 0.0 };
                t_old + leader_noise * z
            } else {
                let sum = total_sum(&fen) - fen_prefix(&fen, first);
                let mean = sum / count as f64;
                let z: f64 = if follower_noise > 0.0 { StandardNormal.sample(ctx.rng(S_ADAPT)) } else { 0.0 };
                t_old + rate * (mean - t_old) + follower_noise * z
            };
            t = t.max(min).min(max);
            new_t[i] = t;
            if update == ThresholdUpdate::Sequential {
                fen_add(&mut fen, pos[i], t - t_old);
                self.providers[i].threshold = t;
            }
        }
        for (p, t) in self.providers.iter_mut().zip(new_t) {
            p.threshold = t;
            ctx.mix_f64(t);
        }
    }
}

/// Reference grid of elapsed time: `e[m]` is the f64 sum of `m` additions of
/// `dt` (never `m * dt`), up to the first `m` with `e[m] >= job - 1e-9`, the
/// tick in which a fresh job completes (reliability.md §4.3).
pub fn tick_grid(dt: f64, job: f64) -> Vec<f64> {
    let mut e = vec![0.0f64];
    while *e.last().expect("non-empty") < job - 1e-9 {
        let next = e.last().expect("non-empty") + dt;
        e.push(next);
    }
    e
}

/// Checkpointed work after each session tick of `grid`: after every
/// addition, `while l + kappa <= e { l += kappa }`.
pub fn checkpoint_grid(grid: &[f64], kappa: f64) -> Vec<f64> {
    let mut l = 0.0f64;
    grid.iter()
        .map(|&e| {
            while l + kappa <= e {
                l += kappa;
            }
            l
        })
        .collect()
}

/// The initial population: providers (thresholds 0 for adaptive ones, drawn
/// in `start`) and consumers in list order.
fn population(params: &Params) -> (Vec<Provider>, Vec<Consumer>) {
    let blank =
        Provider { group: 0, threshold: 0.0, n_comp: 0, n_canc: 0, earnings: 0.0, hours: 0.0, session: NONE, tie: 0 };
    let providers = match &params.providers {
        ProviderSetup::Groups(groups) => groups
            .iter()
            .enumerate()
            .flat_map(|(g, (_, count, t))| {
                let blank = blank.clone();
                (0..*count).map(move |_| Provider { group: g as u16, threshold: *t, ..blank.clone() })
            })
            .collect(),
        ProviderSetup::Adaptive { count, .. } => vec![blank; *count as usize],
    };
    let groups = &params.consumer_groups;
    let mut order: Vec<u16> = Vec::new();
    match params.consumer_order {
        ConsumerOrder::Grouped => {
            for (g, grp) in groups.iter().enumerate() {
                order.extend(std::iter::repeat_n(g as u16, grp.count as usize));
            }
        }
        ConsumerOrder::Interleaved => {
            let max = groups.iter().map(|g| g.count).max().unwrap_or(0);
            for k in 0..max {
                for (g, grp) in groups.iter().enumerate() {
                    if k < grp.count {
                        order.push(g as u16);
                    }
                }
            }
        }
    }
    let job_ticks = hours_to_ticks(params.job_hours).max(1);
    let consumers = order
        .into_iter()
        .map(|g| Consumer {
            group: g,
            rem: params.job_hours,
            rem_ticks: job_ticks,
            jobs: 0,
            restarts: 0,
            paid: 0.0,
            paid_hours: 0.0,
            useful: 0.0,
            lost: 0.0,
            thr_sum: 0.0,
            thr_n: 0,
            classes: [0; 3],
            session: NONE,
            tie: 0,
        })
        .collect();
    (providers, consumers)
}

#[path = "validate.rs"]
mod validate;
pub(crate) use validate::fresh_run;

impl Model for ReliabilityMarket {
    type Event = Ev;
    const STREAMS: &'static [&'static str] = STREAMS;
    const AGENT_CLASSES: &'static [&'static str] = &["provider", "consumer"];
    const TIME_UNIT: TimeUnit = TimeUnit::Hours;

    fn kind(&self) -> &'static str {
        self.params.variant.id()
    }

    fn start(&mut self, ctx: &mut Ctx<'_, Ev>) {
        if let ProviderSetup::Adaptive { range: [a, b], .. } = self.params.providers {
            for p in &mut self.providers {
                let u: f64 = ctx.rng(S_INIT).random();
                p.threshold = a + (b - a) * u;
            }
        }
        if self.params.total_rounds() > 0 {
            ctx.schedule(SimTime::ZERO, Ev::RoundStart(0));
        }
    }

    fn handle(&mut self, ev: Ev, ctx: &mut Ctx<'_, Ev>) {
        match ev {
            Ev::RoundStart(r) => self.on_round_start(r, ctx),
            Ev::Tick(k) => self.on_tick(k, ctx),
            Ev::RoundEnd(r) => self.on_round_end(r, ctx),
            Ev::Requote => {
                let now = ctx.now();
                let p = self.price.at(&self.params.price, now, ctx.rng(S_PRICE));
                self.sample_diag_price(p);
                self.requote_ev = None;
                let rq = hours_to_ticks(self.params.requote_hours).max(1);
                let end = self.round_start.plus(self.round_ticks());
                if now.plus(rq) < end {
                    self.requote_ev = Some(ctx.schedule(now.plus(rq), Ev::Requote));
                }
                self.request_match(ctx);
            }
            Ev::CompetingBid(slot) => {
                let now = ctx.now();
                let p = self.price.at(&self.params.price, now, ctx.rng(S_PRICE));
                let bid = self.competing_bid(p, ctx);
                self.sessions[slot].bid_ev = None;
                if self.bid_arrives(slot, bid) {
                    let s = &self.sessions[slot];
                    let e_ticks = now.since(s.start);
                    let g = self.consumers[s.consumer as usize].group as usize;
                    let k = self.kappa_ticks[g];
                    let l_ticks = (e_ticks / k) * k;
                    if let Some(id) = s.end_ev {
                        ctx.cancel(id);
                    }
                    self.cancel(slot, ticks_to_hours(e_ticks), ticks_to_hours(l_ticks), l_ticks, bid, ctx);
                    self.request_match(ctx);
                } else {
                    let s = &self.sessions[slot];
                    let end = s.start.plus(s.work_ticks);
                    let provider = s.provider;
                    ctx.note(Some(AgentRef::new("provider", provider)), || {
                        format!("ignores a competing bid of ${bid:.4}/h")
                    });
                    let gap = self.exp_gap(ctx);
                    if now.plus(gap) < end {
                        self.sessions[slot].bid_ev = Some(ctx.schedule(now.plus(gap), Ev::CompetingBid(slot)));
                    }
                }
            }
            Ev::SessionEnd(slot) => {
                if let Some(id) = self.sessions[slot].bid_ev.take() {
                    ctx.cancel(id);
                }
                self.complete(slot, ctx);
                self.request_match(ctx);
            }
            Ev::MatchPass => {
                self.match_ev = None;
                let p = self.price.at(&self.params.price, ctx.now(), ctx.rng(S_PRICE));
                self.match_pass(p, ctx);
            }
        }
    }

    fn horizon(&self) -> SimTime {
        SimTime(self.round_ticks() * self.params.total_rounds() as u64)
    }

    fn check_invariants(&self) -> Result<(), String> {
        if let Some(v) = self.violations.first() {
            return Err(format!("{} violation(s), first: {v}", self.violations.len()));
        }
        let scale = self.round_paid.abs().max(self.round_earned.abs()).max(1.0);
        if (self.round_paid - self.round_earned).abs() > 1e-9 * scale {
            return Err(format!("paid {} != earned {}", self.round_paid, self.round_earned));
        }
        let sum_m: f64 = self.consumers.iter().map(|c| c.paid).sum();
        let sum_e: f64 = self.providers.iter().map(|p| p.earnings).sum();
        if (sum_m - sum_e).abs() > 1e-9 * sum_m.abs().max(sum_e.abs()).max(1.0) {
            return Err(format!("sum M {sum_m} != sum E {sum_e}"));
        }
        let mut busy = 0;
        for (i, p) in self.providers.iter().enumerate() {
            if p.session != NONE {
                busy += 1;
                let s = p.session;
                if !self.sessions.is_live(s) || self.sessions[s].provider != i as u32 {
                    return Err(format!("provider {i} points at session {s} that is not its own"));
                }
                if self.idle.contains(i as u32) {
                    return Err(format!("provider {i} is busy and idle"));
                }
            } else if self.in_round && !self.idle.contains(i as u32) {
                return Err(format!("provider {i} is neither busy nor idle"));
            }
            let c = p.chat();
            if !(0.0..=1.0).contains(&c) {
                return Err(format!("provider {i} completion estimate {c}"));
            }
            if let ProviderSetup::Adaptive { min, max, .. } = self.params.providers
                && self.round > 0
                && (p.threshold < min || p.threshold > max)
            {
                return Err(format!("provider {i} threshold {} outside [{min}, {max}]", p.threshold));
            }
        }
        let live = self.sessions.len();
        if live != busy {
            return Err(format!("{live} live sessions but {busy} busy providers"));
        }
        for (j, c) in self.consumers.iter().enumerate() {
            if c.session != NONE {
                let s = c.session;
                if !self.sessions.is_live(s) || self.sessions[s].consumer != j as u32 {
                    return Err(format!("consumer {j} points at session {s} that is not its own"));
                }
            }
            if c.useful < -1e-12 || c.paid_hours + 1e-9 < c.useful {
                return Err(format!("consumer {j}: paid hours {} < useful hours {}", c.paid_hours, c.useful));
            }
        }
        let waiting = self.waiting.len() + self.pending.len();
        let busy_c = self.consumers.iter().filter(|c| c.session != NONE).count();
        if self.in_round && waiting + busy_c != self.consumers.len() {
            return Err(format!("{waiting} waiting + {busy_c} busy != {} consumers", self.consumers.len()));
        }
        let p = self.price.last(&self.params.price);
        if p < self.params.price.floor {
            return Err(format!("price {p} below floor"));
        }
        Ok(())
    }

    fn validate(&self, audit: &crate::engine::Audit<'_, Self>) -> Result<(), String> {
        validate::validate(self, audit)
    }

    fn agent_counts(&self) -> Vec<(&'static str, usize)> {
        vec![
            ("provider", self.providers.len()),
            ("consumer", self.consumers.len()),
            ("running session", self.sessions.len()),
        ]
    }

    fn describe_agent(&self, a: AgentRef) -> Option<String> {
        match a.class {
            "provider" => {
                let p = self.providers.get(a.id as usize)?;
                let state = if p.session != NONE {
                    let s = &self.sessions[p.session];
                    format!(
                        "busy: session {} with consumer {} at ${:.4}/h since {}",
                        p.session, s.consumer, s.rate, s.start
                    )
                } else {
                    "idle".into()
                };
                let group = match &self.params.providers {
                    ProviderSetup::Groups(g) => g[p.group as usize].0.clone(),
                    _ => "adaptive".into(),
                };
                Some(format!(
                    "provider {} ({group}): threshold {:.4}, {state}; this round: {} completed, {} cancelled (estimate {:.4}), earned ${:.4} over {:.3}h",
                    a.id,
                    p.threshold,
                    p.n_comp,
                    p.n_canc,
                    p.chat(),
                    p.earnings,
                    p.hours
                ))
            }
            "consumer" => {
                let c = self.consumers.get(a.id as usize)?;
                let g = &self.params.consumer_groups[c.group as usize];
                let state = if c.session != NONE {
                    let s = &self.sessions[c.session];
                    format!(
                        "in session {} with provider {} at ${:.4}/h since {}",
                        c.session, s.provider, s.rate, s.start
                    )
                } else {
                    "waiting".into()
                };
                Some(format!(
                    "consumer {} ({}): {state}; remaining work {:.3}h; this round: {} jobs, {} restarts, paid ${:.4} for {:.3}h, useful {:.3}h, lost {:.3}h",
                    a.id, g.name, c.rem, c.jobs, c.restarts, c.paid, c.paid_hours, c.useful, c.lost
                ))
            }
            _ => None,
        }
    }

    fn describe(&self) -> String {
        format!(
            "{} ({} fidelity): round {} of {}, strategy {}, price ${:.4}/h, {} idle providers, {} waiting consumers, {} sessions started",
            self.params.variant.id(),
            self.params.fidelity.name(),
            self.round,
            self.params.total_rounds(),
            self.strategy.name(),
            self.price.last(&self.params.price),
            self.idle.len(),
            self.waiting.len() + self.pending.len(),
            self.diag.sessions
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference grid of reliability.md §4.3: a fresh 2 h session lasts
    /// 20 ticks and checkpoints fall in the listed session ticks.
    #[test]
    fn reference_grid() {
        let e = tick_grid(0.1, 2.0);
        assert_eq!(e.len() - 1, 20, "a fresh session completes in its tick 20");
        let ticks = |kappa: f64| -> Vec<usize> {
            let l = checkpoint_grid(&e, kappa);
            (1..l.len()).filter(|&m| l[m] > l[m - 1]).collect()
        };
        assert_eq!(ticks(0.1), (1..=20).collect::<Vec<_>>());
        assert_eq!(ticks(0.25), vec![3, 5, 8, 11, 13, 15, 18, 20]);
        assert_eq!(ticks(0.5), vec![5, 11, 15, 20]);
        assert_eq!(ticks(1.0), vec![11, 20]);
        assert_eq!(ticks(2.0), vec![20]);
    }
}
