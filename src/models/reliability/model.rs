//! The reliability market as an engine `Model` (docs/models/reliability.md).
//!
//! One model serves the three studies; `Params::variant` selects the bidding
//! rule, the allocation rule and whether thresholds adapt. Reference fidelity
//! runs the market on 0.1 h ticks (one `Tick` event per tick, with the
//! reference's order of operations inside it); corrected fidelity is truly
//! event-driven.
//!
//! This file holds the agents, the market's state, its construction and the
//! `Model` implementation; the phases live beside it:
//!
//! - `sessions.rs`: freeing agents into the orders, competing bids, session
//!   starts, completions and cancellations, the corrected event handlers.
//! - `matching.rs`: the match pass under each priority rule.
//! - `ticks.rs`: the reference fidelity's tick loop and tick grids.
//! - `rounds.rs`: round start and end, records, threshold adaptation.
//! - `inspect.rs`: invariants and the descriptions `step` prints.
//! - `validate.rs`: checks of a market read from a snapshot.

use super::config::{ConsumerOrder, Fidelity, Params, Priority, ProviderSetup};
use crate::engine::time::hours_to_ticks;
use crate::engine::{AgentRef, Ctx, EventId, EventInfo, Model, SimTime, TimeUnit};
use crate::market::bids::Strategy;
use crate::market::orders::{IdleMode, IdleProviders, WaitingConsumers};
use crate::market::price::Price;
use crate::market::slab::Slab;
use rand::RngExt;
use serde::{Deserialize, Serialize};

/// Random streams, one per random process.
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
    /// When set, handlers check their per-event invariants.
    pub checks: bool,
    /// Invariant violations found (with `checks`).
    pub violations: Vec<String>,
}

/// Ticks of one round of `p`: whole time steps in reference fidelity.
fn round_ticks(p: &Params) -> u64 {
    if p.tick_mode() {
        p.ticks_per_round() as u64 * hours_to_ticks(p.tick_hours).max(1)
    } else {
        hours_to_ticks(p.round_hours)
    }
}

/// Simulated time of a run of `p`: every round, warm-up included.
pub fn horizon(p: &Params) -> SimTime {
    SimTime(round_ticks(p) * p.total_rounds() as u64)
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
        round_ticks(&self.params)
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

#[path = "inspect.rs"]
mod inspect;
#[path = "matching.rs"]
mod matching;
#[path = "rounds.rs"]
mod rounds;
#[path = "sessions.rs"]
mod sessions;
#[path = "ticks.rs"]
mod ticks;
#[path = "validate.rs"]
mod validate;
pub use ticks::{checkpoint_grid, tick_grid};
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
            Ev::Requote => self.on_requote(ctx),
            Ev::CompetingBid(slot) => self.on_competing_bid(slot, ctx),
            Ev::SessionEnd(slot) => self.on_session_end(slot, ctx),
            Ev::MatchPass => self.on_match_pass(ctx),
        }
    }

    fn horizon(&self) -> SimTime {
        horizon(&self.params)
    }

    fn check_invariants(&self) -> Result<(), String> {
        self.invariants()
    }

    fn validate(&self, audit: &crate::engine::Audit<'_, Self>) -> Result<(), String> {
        validate::validate(self, audit)
    }

    fn agent_counts(&self) -> Vec<(&'static str, usize)> {
        self.counts()
    }

    fn describe_agent(&self, a: AgentRef) -> Option<String> {
        self.describe_one(a)
    }

    fn find_agent(&self, name: &str) -> Result<AgentRef, String> {
        self.find(name)
    }

    fn agent_fields(&self, a: AgentRef) -> Option<Vec<(&'static str, f64)>> {
        self.fields(a)
    }

    fn describe(&self) -> String {
        self.summary()
    }
}
