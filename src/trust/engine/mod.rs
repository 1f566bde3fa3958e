//! The trust engine (docs/models/trust.md, "What it models").
//!
//! Trust is a pure function of the history (identities, transactions,
//! assertions) and the day. The engine keeps the history and, beside it,
//! caches that make a daily solve cost O(N + nnz·iterations + M log M):
//! lazily decayed transaction sums per identity, a sparse asserter×subject
//! assertion map, asserter penalties judged by moving pointers, the
//! mutual-consumer pairs, and per-node edge adjacency in edge-map order.
//! Every cache can be rebuilt from the history ([`TrustEngine::set_params`]
//! does when a parameter it depends on changes).
//!
//! This file holds the types and the constructor; the methods live beside
//! it, one file per part of the engine:
//!
//! - `settings`: parameters, rule switches, the day, the decay tables.
//! - `identities`: identities and the readers of their state.
//! - `history`: transactions, assertions, their caches, the rebuild.
//! - `solve`: cluster weights and the fixed-point solve.
//! - `local`: the edge snapshot and local trust.
//! - `money`: payment share, escrow, transfers, runway, hoarding.
//! - `validate`: checks of an engine read from a snapshot.

use super::math::{self, Decayed, decay};
use super::params::{
    AgeMode, ClusterGrouping, FalseAccusationPenalty, ParamError, PositiveAssertions, Rules, TrustParams,
};
use crate::engine::idmap::{self, IdMap};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// An identity: its index in creation order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Ident(pub u32);

impl Ident {
    /// The index as usize.
    #[inline]
    pub fn idx(self) -> usize {
        self.0 as usize
    }
}

/// Why an engine call was refused. The engine's state is unchanged.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum TrustError {
    /// No identity has this index.
    #[error("unknown identity #{0}")]
    UnknownIdentity(u32),
    /// A transaction with the same consumer and provider.
    #[error("identity #{0} cannot transact with itself")]
    SelfTransaction(u32),
    /// A value outside its domain.
    #[error("{what} must be {rule} (got {value})")]
    InvalidValue {
        /// Which argument.
        what: &'static str,
        /// Its domain.
        rule: &'static str,
        /// The value given.
        value: f64,
    },
    /// A day before the engine's current day.
    #[error("day {to} is before the engine's day {now}")]
    TimeBackwards {
        /// The current day.
        now: u32,
        /// The day asked for.
        to: u32,
    },
    /// A bad parameter.
    #[error(transparent)]
    Param(#[from] ParamError),
}

/// A transaction. No money moves.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Transaction {
    /// Consumer.
    pub consumer: u32,
    /// Provider.
    pub provider: u32,
    /// Resource weight rw.
    pub rw: f64,
    /// Duration in hours.
    pub dur: f64,
    /// Verification score in [0, 1].
    pub vs: f64,
    /// Day recorded.
    pub day: u32,
}

/// An accepted assertion. `asserter == None` is `system`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Assertion {
    /// The asserter, or `None` for the `system` pseudo-asserter.
    pub asserter: Option<u32>,
    /// The subject.
    pub subject: u32,
    /// Raw score s_raw in [−1, 1].
    pub raw: f64,
    /// Weight ω (1 except on accepted accusations).
    pub weight: f64,
    /// Index of the classification label ([`TrustEngine::label`]).
    pub class: u16,
    /// Day accepted.
    pub day: u32,
    /// Whether evidence was attached.
    pub evidence: bool,
}

impl Assertion {
    /// The stored score s = s_raw·ω.
    #[inline]
    pub fn score(&self) -> f64 {
        self.raw * self.weight
    }
}

/// Moving-pointer judgement of one kind of received assertion.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Judge {
    /// Eligible received assertions, in day order.
    eligible: Vec<u32>,
    /// Every eligible assertion before this index is judged.
    next: usize,
    /// Days of the last n qualifying provider transactions (oldest first).
    recent: VecDeque<u32>,
}

/// An identity with its caches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Identity {
    name: String,
    created: u32,
    provider_txs: Vec<u32>,
    consumer_txs: Vec<u32>,
    received: Vec<u32>,
    made: Vec<u32>,
    trust: f64,
    weight: f64,
    balance: f64,
    total_earned: f64,
    total_spent: f64,
    boost: f64,
    /// Positive transaction credit (without w), decayed by τ_tx.
    pos: Decayed,
    /// Failed-verification penalties, decayed by τ_tx.
    neg: Decayed,
    /// Asserter penalty P, decayed by τ_as.
    pen: Decayed,
    /// Received accusations that may be judged false.
    judge_false: Judge,
    /// Received praise that may be judged a bad vouch.
    judge_vouch: Judge,
    /// Assertion-map entries with this identity as subject.
    entries: Vec<u32>,
    /// (consumer, pair) where this identity provided, in first-appearance
    /// order of the consumer.
    prov_pairs: Vec<(u32, u32)>,
    /// (provider, pair) where this identity consumed, sorted by provider.
    cons_pairs: Vec<(u32, u32)>,
}

/// One entry of the sparse assertion map: every assertion of one asserter
/// (or `system`) about one subject, as R = ρ·Σ s·ε and D = (1−ρ)·Σ s·ε·decay.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
struct Entry {
    asserter: Option<u32>,
    r: f64,
    d: Decayed,
}

/// All transactions of one consumer with one provider: an edge c→p.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
struct Pair {
    consumer: u32,
    provider: u32,
    /// Transactions so far.
    n: u32,
    /// Edge weight Σ rw·dur·vs·decay (τ_tx).
    w: Decayed,
    /// Weight at the edge snapshot's day, saved before a later change.
    snap_w: f64,
    /// Snapshot epoch `snap_w` belongs to.
    snap_epoch: u32,
}

/// The frozen edge map of the last `build_edge_snapshot`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
struct EdgeSnapshot {
    /// 0 = never built.
    epoch: u32,
    day: u32,
    /// Pairs that existed at the build.
    n_pairs: u32,
}

/// Counters of the solves so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SolveStats {
    /// Solves run.
    pub solves: u64,
    /// Solves that hit the iteration cap.
    pub nonconverged: u64,
    /// Most iterations of any solve.
    pub max_iterations: u32,
}

/// What a solve did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SolveReport {
    /// Day of the solve.
    pub day: u32,
    /// Jacobi iterations run.
    pub iterations: u32,
    /// Whether the last change fell below ε_s.
    pub converged: bool,
    /// The last max-norm change.
    pub residual: f64,
    /// Age term per identity.
    pub age: Vec<f64>,
    /// Transaction term per identity (with w).
    pub tx: Vec<f64>,
    /// Assertion term per identity, at the last iterate.
    pub assertion: Vec<f64>,
    /// Asserter penalty per identity.
    pub penalty: Vec<f64>,
    /// Cluster weight per identity.
    pub weight: Vec<f64>,
}

/// Cluster grouping and weights.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Clusters {
    /// w per identity.
    pub weights: Vec<f64>,
    /// Groups in list order (members in insertion order).
    pub groups: Vec<Vec<u32>>,
    /// Whether each group passed the cluster test.
    pub flagged: Vec<bool>,
}

/// Outcome of a transfer.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TransferOutcome {
    /// Amount the receiver got.
    pub received: f64,
    /// Amount burned.
    pub burned: f64,
}

/// Size of the edge map (for checks against traces).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EdgeSummary {
    /// Number of edges.
    pub n_edges: usize,
    /// Sum of their weights.
    pub sum_w: f64,
}

/// e^(−k/τ) for k = 0, 1, …: a pure cache (each entry is exactly
/// `decay(k, τ)`), rebuilt on demand.
#[derive(Clone, Debug, Default, PartialEq)]
struct DecayTable {
    tau: f64,
    vals: Vec<f64>,
}

/// Gaps beyond this are computed directly (bounds the table's memory).
const DECAY_TABLE_MAX: u32 = 1 << 16;

impl DecayTable {
    fn ensure(&mut self, tau: f64, upto: u32) {
        if self.tau != tau {
            self.tau = tau;
            self.vals.clear();
        }
        while self.vals.len() <= upto.min(DECAY_TABLE_MAX) as usize {
            let k = self.vals.len() as u32;
            self.vals.push(decay(k, tau));
        }
    }
    #[inline]
    fn get(&self, k: u32, tau: f64) -> f64 {
        match self.vals.get(k as usize) {
            Some(&v) if self.tau == tau => v,
            _ => decay(k, tau),
        }
    }
}

const NONE: u32 = u32::MAX;
const SYSTEM: u32 = u32::MAX;

mod history;
mod identities;
mod local;
mod money;
mod settings;
mod solve;
#[cfg(test)]
mod tests;
mod validate;

/// The trust engine: history, caches and the last solve's snapshot of T and w.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrustEngine {
    params: TrustParams,
    rules: Rules,
    day: u32,
    ids: Vec<Identity>,
    txs: Vec<Transaction>,
    assertions: Vec<Assertion>,
    labels: Vec<String>,
    entries: Vec<Entry>,
    /// (subject, asserter or SYSTEM) -> entry. Looked up, never walked.
    #[serde(with = "idmap::sorted_map")]
    entry_index: IdMap<(u32, u32), u32>,
    pairs: Vec<Pair>,
    /// (consumer, provider) -> pair. Looked up, never walked.
    #[serde(with = "idmap::sorted_map")]
    pair_index: IdMap<(u32, u32), u32>,
    /// Mutual-consumer pairs (lower index first), sorted.
    mutual: BTreeSet<(u32, u32)>,
    last_accusation: BTreeMap<(u32, u32), u32>,
    last_praise: BTreeMap<(u32, u32), u32>,
    pending: BTreeSet<(u32, u32)>,
    snapshot: EdgeSnapshot,
    stats: SolveStats,
    /// Something trust-relevant happened since the last solve or day change.
    dirty: bool,
    #[serde(skip)]
    tx_table: DecayTable,
    #[serde(skip)]
    as_table: DecayTable,
    #[serde(skip)]
    age_table: DecayTable,
}

impl TrustEngine {
    /// An empty engine at day 0.
    pub fn new(params: TrustParams, rules: Rules) -> Result<Self, TrustError> {
        params.validate()?;
        let mut e = TrustEngine {
            params,
            rules,
            day: 0,
            ids: Vec::new(),
            txs: Vec::new(),
            assertions: Vec::new(),
            labels: Vec::new(),
            entries: Vec::new(),
            entry_index: idmap::map(),
            pairs: Vec::new(),
            pair_index: idmap::map(),
            mutual: BTreeSet::new(),
            last_accusation: BTreeMap::new(),
            last_praise: BTreeMap::new(),
            pending: BTreeSet::new(),
            snapshot: EdgeSnapshot::default(),
            stats: SolveStats::default(),
            dirty: false,
            tx_table: DecayTable::default(),
            as_table: DecayTable::default(),
            age_table: DecayTable::default(),
        };
        e.fill_tables();
        Ok(e)
    }
}

fn finite(what: &'static str, v: f64) -> Result<(), TrustError> {
    if v.is_finite() { Ok(()) } else { Err(TrustError::InvalidValue { what, rule: "finite", value: v }) }
}

fn nonneg(what: &'static str, v: f64) -> Result<(), TrustError> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(TrustError::InvalidValue { what, rule: "finite and >= 0", value: v })
    }
}
