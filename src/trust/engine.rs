//! The trust engine (trust.md §2–§4, with the incremental methods of §14).
//!
//! Trust is a pure function of the history (identities, transactions,
//! assertions) and the day. The engine keeps the history and, beside it,
//! caches that make a daily solve cost O(N + nnz·iterations + M log M):
//! lazily decayed transaction sums per identity, a sparse asserter×subject
//! assertion map, asserter penalties judged by moving pointers, the
//! mutual-consumer pairs, and per-node edge adjacency in edge-map order.
//! Every cache can be rebuilt from the history ([`TrustEngine::set_params`]
//! does when a parameter it depends on changes).

use super::math::{self, Decayed, decay};
use super::params::{
    AgeMode, ClusterGrouping, FalseAccusationPenalty, ParamError, PositiveAssertions, Rules, TrustParams,
};
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

/// A transaction (trust.md §2). No money moves.
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

/// An accepted assertion (trust.md §2). `asserter == None` is `system`.
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

/// Moving-pointer judgement of one kind of received assertion (§14).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Judge {
    /// Eligible received assertions, in day order.
    eligible: Vec<u32>,
    /// Every eligible assertion before this index is judged.
    next: usize,
    /// Days of the last n qualifying provider transactions (oldest first).
    recent: VecDeque<u32>,
}

/// An identity (trust.md §2) with its caches.
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

/// The frozen edge map of the last `build_edge_snapshot` (§4.8).
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

/// What a solve did (trust.md §4.6).
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

/// Cluster grouping and weights (§4.5).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Clusters {
    /// w per identity.
    pub weights: Vec<f64>,
    /// Groups in list order (members in insertion order).
    pub groups: Vec<Vec<u32>>,
    /// Whether each group passed the cluster test.
    pub flagged: Vec<bool>,
}

/// Outcome of a transfer (§4.7).
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

#[path = "engine_validate.rs"]
mod engine_validate;

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
    /// (subject, asserter or SYSTEM) -> entry.
    entry_index: BTreeMap<(u32, u32), u32>,
    pairs: Vec<Pair>,
    /// (consumer, provider) -> pair.
    pair_index: BTreeMap<(u32, u32), u32>,
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
            entry_index: BTreeMap::new(),
            pairs: Vec::new(),
            pair_index: BTreeMap::new(),
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

    // ------------------------------------------------------------------
    // Parameters, time

    /// The parameters in force.
    pub fn params(&self) -> &TrustParams {
        &self.params
    }

    /// The rule switches in force.
    pub fn rules(&self) -> Rules {
        self.rules
    }

    /// Replace the parameters (e.g. a policy between days). Caches that
    /// depend on a changed value are rebuilt from the history, so trust stays
    /// a function of (history, day, parameters). Decisions already taken
    /// (accepted assertions, their weights, boosts) are history and stay.
    pub fn set_params(&mut self, params: TrustParams) -> Result<(), TrustError> {
        params.validate()?;
        let old = std::mem::replace(&mut self.params, params);
        let p = &self.params;
        let structural = old.tau_transaction != p.tau_transaction
            || old.base_credit != p.base_credit
            || old.fail_threshold != p.fail_threshold
            || old.fail_penalty != p.fail_penalty
            || old.tau_assertion != p.tau_assertion
            || old.residual != p.residual
            || old.no_evidence_factor != p.no_evidence_factor
            || old.false_accusation_score != p.false_accusation_score
            || old.false_accusation_good_tx != p.false_accusation_good_tx
            || old.good_tx_score != p.good_tx_score
            || old.vouch_score != p.vouch_score
            || old.vouch_bad_tx != p.vouch_bad_tx
            || old.bad_tx_score != p.bad_tx_score
            || old.asserter_penalty_factor != p.asserter_penalty_factor;
        if structural {
            // Freeze the edge snapshot under the old decay before rebuilding.
            let tau_old = old.tau_transaction;
            self.freeze_snapshot(tau_old);
            self.rebuild_caches();
        }
        self.fill_tables();
        self.dirty = true;
        Ok(())
    }

    /// Replace the rule switches; caches are rebuilt if needed.
    pub fn set_rules(&mut self, rules: Rules) {
        let rebuild = rules.false_accusation_penalty != self.rules.false_accusation_penalty;
        self.rules = rules;
        if rebuild {
            self.rebuild_caches();
        }
        self.dirty = true;
    }

    /// The current day t.
    pub fn day(&self) -> u32 {
        self.day
    }

    /// Move to day `d` (>= the current day).
    pub fn set_day(&mut self, d: u32) -> Result<(), TrustError> {
        if d < self.day {
            return Err(TrustError::TimeBackwards { now: self.day, to: d });
        }
        if d != self.day {
            self.day = d;
            self.dirty = true;
            self.fill_tables();
        }
        Ok(())
    }

    /// Advance `n` days.
    pub fn advance_days(&mut self, n: u32) -> Result<(), TrustError> {
        let d = self.day.checked_add(n).ok_or(TrustError::InvalidValue {
            what: "days",
            rule: "within u32 range",
            value: f64::from(n),
        })?;
        self.set_day(d)
    }

    fn fill_tables(&mut self) {
        let t = self.day;
        self.tx_table.ensure(self.params.tau_transaction, t);
        self.as_table.ensure(self.params.tau_assertion, t);
        self.age_table.ensure(self.params.tau_age, t.max(1));
    }

    #[inline]
    fn dtx(&self, gap: u32) -> f64 {
        self.tx_table.get(gap, self.params.tau_transaction)
    }

    #[inline]
    fn das(&self, gap: u32) -> f64 {
        self.as_table.get(gap, self.params.tau_assertion)
    }

    #[inline]
    fn at_tx(&self, d: &Decayed) -> f64 {
        if d.v == 0.0 { 0.0 } else { d.v * self.dtx(self.day - d.day) }
    }

    #[inline]
    fn at_as(&self, d: &Decayed) -> f64 {
        if d.v == 0.0 { 0.0 } else { d.v * self.das(self.day - d.day) }
    }

    /// Whether anything trust-relevant happened since the last solve.
    pub fn dirty(&self) -> bool {
        self.dirty
    }

    /// Solve counters.
    pub fn stats(&self) -> SolveStats {
        self.stats
    }

    // ------------------------------------------------------------------
    // Identities

    /// Create an identity at the current day.
    pub fn create_identity(&mut self, name: &str) -> Ident {
        let id = self.ids.len() as u32;
        self.ids.push(Identity {
            name: name.to_string(),
            created: self.day,
            provider_txs: Vec::new(),
            consumer_txs: Vec::new(),
            received: Vec::new(),
            made: Vec::new(),
            trust: 0.0,
            weight: 1.0,
            balance: 0.0,
            total_earned: 0.0,
            total_spent: 0.0,
            boost: 0.0,
            pos: Decayed::default(),
            neg: Decayed::default(),
            pen: Decayed::default(),
            judge_false: Judge::default(),
            judge_vouch: Judge::default(),
            entries: Vec::new(),
            prov_pairs: Vec::new(),
            cons_pairs: Vec::new(),
        });
        self.dirty = true;
        Ident(id)
    }

    /// Number of identities.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there is no identity.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    fn check(&self, i: Ident) -> Result<(), TrustError> {
        if i.idx() < self.ids.len() { Ok(()) } else { Err(TrustError::UnknownIdentity(i.0)) }
    }

    /// An identity's name.
    pub fn name(&self, i: Ident) -> &str {
        &self.ids[i.idx()].name
    }

    /// Day an identity was created.
    pub fn created(&self, i: Ident) -> u32 {
        self.ids[i.idx()].created
    }

    /// Stored trust T (last solve; 0 before any).
    pub fn trust(&self, i: Ident) -> f64 {
        self.ids[i.idx()].trust
    }

    /// Stored trust of every identity.
    pub fn trusts(&self) -> Vec<f64> {
        self.ids.iter().map(|x| x.trust).collect()
    }

    /// Stored cluster weight w (last solve; 1 before any).
    pub fn weight(&self, i: Ident) -> f64 {
        self.ids[i.idx()].weight
    }

    /// Whether an identity has provided at least once.
    pub fn is_provider(&self, i: Ident) -> bool {
        !self.ids[i.idx()].provider_txs.is_empty()
    }

    /// Coin tallies: (balance, total earned, total spent).
    pub fn coins(&self, i: Ident) -> (f64, f64, f64) {
        let x = &self.ids[i.idx()];
        (x.balance, x.total_earned, x.total_spent)
    }

    /// Add `amount` to an identity's balance (a script-level tally; counts
    /// as earned when positive).
    pub fn credit(&mut self, i: Ident, amount: f64) -> Result<(), TrustError> {
        self.check(i)?;
        finite("amount", amount)?;
        let x = &mut self.ids[i.idx()];
        x.balance += amount;
        if amount > 0.0 {
            x.total_earned += amount;
        }
        Ok(())
    }

    /// The accusation boost of a subject (never decays).
    pub fn boost(&self, i: Ident) -> f64 {
        self.ids[i.idx()].boost
    }

    /// The asserter penalty P of an identity at the current day.
    pub fn penalty(&self, i: Ident) -> f64 {
        self.at_as(&self.ids[i.idx()].pen)
    }

    /// Whether the identity holds a received `system` assertion that has
    /// effect (c_sys > 0).
    pub fn has_system_penalty(&self, i: Ident) -> bool {
        self.rules.system_credibility(&self.params) > 0.0 && self.entry_index.contains_key(&(i.0, SYSTEM))
    }

    /// Transactions recorded so far with this consumer and provider.
    pub fn pair_count(&self, consumer: Ident, provider: Ident) -> u32 {
        self.pair_index.get(&(consumer.0, provider.0)).map_or(0, |&k| self.pairs[k as usize].n)
    }

    /// Every transaction, in recording order.
    pub fn transactions(&self) -> &[Transaction] {
        &self.txs
    }

    /// Every accepted assertion, in order.
    pub fn assertions(&self) -> &[Assertion] {
        &self.assertions
    }

    /// The label of a classification index.
    pub fn label(&self, class: u16) -> &str {
        &self.labels[class as usize]
    }

    /// An identity's provider and consumer transactions (indices).
    pub fn transactions_of(&self, i: Ident) -> (&[u32], &[u32]) {
        let x = &self.ids[i.idx()];
        (&x.provider_txs, &x.consumer_txs)
    }

    /// An identity's received and made assertions (indices).
    pub fn assertions_of(&self, i: Ident) -> (&[u32], &[u32]) {
        let x = &self.ids[i.idx()];
        (&x.received, &x.made)
    }

    // ------------------------------------------------------------------
    // History

    /// Record a transaction c→p at the current day (§2, §4.2).
    pub fn add_transaction(
        &mut self,
        consumer: Ident,
        provider: Ident,
        rw: f64,
        dur: f64,
        vs: f64,
    ) -> Result<(), TrustError> {
        self.check(consumer)?;
        self.check(provider)?;
        if consumer == provider {
            return Err(TrustError::SelfTransaction(consumer.0));
        }
        nonneg("resource weight", rw)?;
        nonneg("duration", dur)?;
        if !(0.0..=1.0).contains(&vs) {
            return Err(TrustError::InvalidValue { what: "verification score", rule: "in [0, 1]", value: vs });
        }
        let t = self.day;
        let k = self.txs.len() as u32;
        self.txs.push(Transaction { consumer: consumer.0, provider: provider.0, rw, dur, vs, day: t });
        self.ids[provider.idx()].provider_txs.push(k);
        self.ids[consumer.idx()].consumer_txs.push(k);
        self.apply_transaction(k);
        self.dirty = true;
        Ok(())
    }

    /// Update the caches for transaction `k` (the newest, or in order during
    /// a rebuild).
    fn apply_transaction(&mut self, k: u32) {
        let tx = self.txs[k as usize];
        let (tau, t) = (self.params.tau_transaction, tx.day);
        let credit = math::transaction_credit(&self.params, tx.rw, tx.dur, tx.vs);
        let p = &mut self.ids[tx.provider as usize];
        if tx.vs >= self.params.fail_threshold {
            p.pos.add(t, tau, credit);
        } else {
            p.neg.add(t, tau, credit);
        }
        let pk = self.pair_for(tx.consumer, tx.provider);
        self.save_snapshot_weight(pk);
        let pair = &mut self.pairs[pk as usize];
        pair.n += 1;
        pair.w.add(t, tau, tx.rw * tx.dur * tx.vs);
        if tx.vs >= self.params.good_tx_score {
            self.qualifying(tx.provider, true, t);
        }
        if tx.vs < self.params.bad_tx_score {
            self.qualifying(tx.provider, false, t);
        }
    }

    /// The pair c→p, created (with its adjacency and mutual check) if new.
    fn pair_for(&mut self, c: u32, p: u32) -> u32 {
        if let Some(&k) = self.pair_index.get(&(c, p)) {
            return k;
        }
        let k = self.pairs.len() as u32;
        self.pairs.push(Pair { consumer: c, provider: p, n: 0, w: Decayed::default(), snap_w: 0.0, snap_epoch: 0 });
        self.pair_index.insert((c, p), k);
        self.ids[p as usize].prov_pairs.push((c, k));
        let cp = &mut self.ids[c as usize].cons_pairs;
        let at = cp.partition_point(|&(q, _)| q < p);
        cp.insert(at, (p, k));
        if self.pair_index.contains_key(&(p, c)) {
            self.mutual.insert((c.min(p), c.max(p)));
        }
        k
    }

    /// Before pair `k` changes, keep its weight at the snapshot's day.
    fn save_snapshot_weight(&mut self, k: u32) {
        let s = self.snapshot;
        if s.epoch == 0 || k >= s.n_pairs {
            return;
        }
        let tau = self.params.tau_transaction;
        let pair = &mut self.pairs[k as usize];
        if pair.snap_epoch != s.epoch {
            pair.snap_w = pair.w.at(s.day, tau);
            pair.snap_epoch = s.epoch;
        }
    }

    fn freeze_snapshot(&mut self, tau: f64) {
        let s = self.snapshot;
        if s.epoch == 0 {
            return;
        }
        for pair in &mut self.pairs[..s.n_pairs as usize] {
            if pair.snap_epoch != s.epoch {
                pair.snap_w = pair.w.at(s.day, tau);
                pair.snap_epoch = s.epoch;
            }
        }
    }

    /// The tested score σ of an assertion (§4.3).
    fn tested(&self, a: &Assertion) -> f64 {
        match self.rules.false_accusation_penalty {
            FalseAccusationPenalty::Inert => a.score(),
            FalseAccusationPenalty::Applied => a.raw,
        }
    }

    /// A qualifying provider transaction of `subject` on day `t`: judge every
    /// eligible assertion with at least n qualifying days strictly after it.
    fn qualifying(&mut self, subject: u32, good: bool, t: u32) {
        let n = if good { self.params.false_accusation_good_tx } else { self.params.vouch_bad_tx } as usize;
        let x = &mut self.ids[subject as usize];
        let j = if good { &mut x.judge_false } else { &mut x.judge_vouch };
        if n > 0 {
            j.recent.push_back(t);
            if j.recent.len() > n {
                j.recent.pop_front();
            }
        }
        self.advance_judge(subject, good, t);
    }

    /// Judge what the qualifying days allow; penalties are added at day `t`
    /// (the judging transaction's day, or the assertion's own day when it is
    /// judged on arrival).
    fn advance_judge(&mut self, subject: u32, good: bool, t: u32) {
        let n = if good { self.params.false_accusation_good_tx } else { self.params.vouch_bad_tx } as usize;
        let x = &self.ids[subject as usize];
        let j = if good { &x.judge_false } else { &x.judge_vouch };
        // An assertion on day d is judged iff the n-th most recent qualifying
        // day is > d (n = 0: always).
        let bound = if n == 0 {
            u32::MAX
        } else if j.recent.len() == n {
            j.recent[0]
        } else {
            return;
        };
        let mut next = j.next;
        let mut judged = Vec::new();
        while next < j.eligible.len() {
            let a = j.eligible[next];
            if self.assertions[a as usize].day >= bound {
                break;
            }
            judged.push(a);
            next += 1;
        }
        let x = &mut self.ids[subject as usize];
        if good {
            x.judge_false.next = next;
        } else {
            x.judge_vouch.next = next;
        }
        let (kappa, tau) = (self.params.asserter_penalty_factor, self.params.tau_assertion);
        for a in judged {
            let asr = self.assertions[a as usize];
            let sigma = self.tested(&asr);
            let when = t.max(asr.day);
            let amount = kappa * sigma.abs() * decay(when - asr.day, tau);
            if let Some(i) = asr.asserter {
                self.ids[i as usize].pen.add(when, tau, amount);
            }
        }
    }

    /// Intake of an assertion (§4.4): returns whether it was accepted. A
    /// rejected assertion leaves no trace.
    pub fn add_assertion(
        &mut self,
        asserter: Ident,
        subject: Ident,
        score: f64,
        class: &str,
        evidence: bool,
    ) -> Result<bool, TrustError> {
        self.check(asserter)?;
        self.check(subject)?;
        if !(-1.0..=1.0).contains(&score) {
            return Err(TrustError::InvalidValue { what: "assertion score", rule: "in [-1, 1]", value: score });
        }
        let t = self.day;
        let pair = (asserter.0, subject.0);
        let n = self.pair_count(asserter, subject);
        let weight = if score < 0.0 {
            if n == 0 {
                return Ok(false);
            }
            if let Some(&last) = self.last_accusation.get(&pair)
                && f64::from(t - last) < self.params.accusation_window
            {
                return Ok(false);
            }
            self.last_accusation.insert(pair, t);
            self.pending.insert(pair);
            let c = math::credibility(&self.params, self.ids[asserter.idx()].trust);
            self.ids[subject.idx()].boost += c * score.abs();
            (f64::from(n) / f64::from(self.params.full_weight_tx)).min(1.0)
        } else {
            if self.rules.positive_assertions == PositiveAssertions::Checked {
                if asserter == subject || n == 0 {
                    return Ok(false);
                }
                if let Some(&last) = self.last_praise.get(&pair)
                    && f64::from(t - last) < self.params.praise_window
                {
                    return Ok(false);
                }
                self.last_praise.insert(pair, t);
            }
            1.0
        };
        let class = self.label_index(class);
        self.push_assertion(Assertion {
            asserter: Some(asserter.0),
            subject: subject.0,
            raw: score,
            weight,
            class,
            day: t,
            evidence,
        });
        Ok(true)
    }

    fn label_index(&mut self, class: &str) -> u16 {
        match self.labels.iter().position(|l| l == class) {
            Some(i) => i as u16,
            None if self.labels.len() < u16::MAX as usize => {
                self.labels.push(class.to_string());
                (self.labels.len() - 1) as u16
            }
            None => u16::MAX,
        }
    }

    fn push_assertion(&mut self, a: Assertion) {
        let k = self.assertions.len() as u32;
        self.assertions.push(a);
        self.ids[a.subject as usize].received.push(k);
        if let Some(i) = a.asserter {
            self.ids[i as usize].made.push(k);
        }
        self.apply_assertion(k);
        self.dirty = true;
    }

    /// Update the caches for assertion `k`.
    fn apply_assertion(&mut self, k: u32) {
        let a = self.assertions[k as usize];
        let p = &self.params;
        let eps = if a.evidence { 1.0 } else { p.no_evidence_factor };
        let s = a.score() * eps;
        let (rho, tau) = (p.residual, p.tau_assertion);
        let key = (a.subject, a.asserter.unwrap_or(SYSTEM));
        let e = match self.entry_index.get(&key) {
            Some(&e) => e,
            None => {
                let e = self.entries.len() as u32;
                self.entries.push(Entry { asserter: a.asserter, r: 0.0, d: Decayed::default() });
                self.entry_index.insert(key, e);
                self.ids[a.subject as usize].entries.push(e);
                e
            }
        };
        let entry = &mut self.entries[e as usize];
        entry.r += rho * s;
        entry.d.add(a.day, tau, (1.0 - rho) * s);
        if a.asserter.is_some() {
            let sigma = self.tested(&a);
            let good = if sigma < p.false_accusation_score {
                Some(true)
            } else if sigma > p.vouch_score {
                Some(false)
            } else {
                None
            };
            if let Some(good) = good {
                let x = &mut self.ids[a.subject as usize];
                let j = if good { &mut x.judge_false } else { &mut x.judge_vouch };
                j.eligible.push(k);
                self.advance_judge(a.subject, good, a.day);
            }
        }
    }

    /// Resolve an accusation (§4.4).
    pub fn resolve_accusation(&mut self, accuser: Ident, subject: Ident, verified_bad: bool) -> Result<(), TrustError> {
        self.check(accuser)?;
        self.check(subject)?;
        if !self.pending.remove(&(accuser.0, subject.0)) {
            return Ok(());
        }
        let b = &mut self.ids[subject.idx()].boost;
        *b = (*b - self.params.resolution_boost_decrement).max(0.0);
        if !verified_bad {
            let class = self.label_index("FALSE_ACCUSATION");
            self.push_assertion(Assertion {
                asserter: None,
                subject: accuser.0,
                raw: self.params.system_penalty_score,
                weight: 1.0,
                class,
                day: self.day,
                evidence: true,
            });
        }
        self.dirty = true;
        Ok(())
    }

    /// Verification rate min(r₀·(1 + boost), r_max) (§4.4).
    pub fn verification_rate(&self, i: Ident) -> f64 {
        (self.params.base_verification_rate * (1.0 + self.ids[i.idx()].boost)).min(self.params.max_verification_rate)
    }

    /// Subjects with a boost entry, and the boost (non-zero only).
    pub fn boosts(&self) -> Vec<(Ident, f64)> {
        self.ids.iter().enumerate().filter(|(_, x)| x.boost != 0.0).map(|(i, x)| (Ident(i as u32), x.boost)).collect()
    }

    /// Rebuild every cache from the history, in recording order.
    fn rebuild_caches(&mut self) {
        for x in &mut self.ids {
            x.pos = Decayed::default();
            x.neg = Decayed::default();
            x.pen = Decayed::default();
            x.judge_false = Judge::default();
            x.judge_vouch = Judge::default();
        }
        for pair in &mut self.pairs {
            pair.n = 0;
            pair.w = Decayed::default();
        }
        for e in &mut self.entries {
            e.r = 0.0;
            e.d = Decayed::default();
        }
        // Both lists are in day order: merge them by day (transactions first
        // on a tie; judgement reads only days, so the tie order is moot).
        let snap = std::mem::take(&mut self.snapshot);
        let (mut a, mut k) = (0usize, 0usize);
        while a < self.assertions.len() || k < self.txs.len() {
            let tx_first = match (self.txs.get(k), self.assertions.get(a)) {
                (Some(tx), Some(asr)) => tx.day <= asr.day,
                (Some(_), None) => true,
                _ => false,
            };
            if tx_first {
                self.apply_transaction(k as u32);
                k += 1;
            } else {
                self.apply_assertion(a as u32);
                a += 1;
            }
        }
        self.snapshot = snap;
    }

    // ------------------------------------------------------------------
    // Clusters and the solve

    /// Cluster groups and weights from the whole history (§4.5). A query:
    /// nothing is stored.
    pub fn clusters(&self) -> Clusters {
        let n = self.ids.len();
        let mut weights = vec![1.0; n];
        let groups = match self.rules.cluster_grouping {
            ClusterGrouping::Greedy => self.greedy_groups(),
            ClusterGrouping::Components => self.component_groups(),
        };
        let mut mark = vec![0u32; n];
        let mut flagged = Vec::with_capacity(groups.len());
        for (k, g) in groups.iter().enumerate() {
            let inside = 2 * k as u32 + 1;
            let counted = inside + 1;
            for &m in g {
                mark[m as usize] = inside;
            }
            let mut ext = 0usize;
            for &m in g {
                for &(c, _) in &self.ids[m as usize].prov_pairs {
                    let c = c as usize;
                    if mark[c] != inside && mark[c] != counted {
                        mark[c] = counted;
                        ext += 1;
                    }
                }
            }
            let hit = ext < g.len();
            if hit {
                let w = 1.0 / g.len() as f64;
                for &m in g {
                    weights[m as usize] = w;
                }
            }
            flagged.push(hit);
        }
        Clusters { weights, groups, flagged }
    }

    /// Greedy grouping: each mutual pair, in lexicographic order, joins the
    /// first group holding either member (the minimum group id of the two).
    fn greedy_groups(&self) -> Vec<Vec<u32>> {
        let mut g_of: BTreeMap<u32, u32> = BTreeMap::new();
        let mut groups: Vec<Vec<u32>> = Vec::new();
        for &(a, b) in &self.mutual {
            let ga = g_of.get(&a).copied().unwrap_or(NONE);
            let gb = g_of.get(&b).copied().unwrap_or(NONE);
            let g = ga.min(gb);
            if g == NONE {
                let id = groups.len() as u32;
                groups.push(vec![a, b]);
                g_of.insert(a, id);
                g_of.insert(b, id);
            } else {
                for (x, gx) in [(a, ga), (b, gb)] {
                    if gx != g {
                        groups[g as usize].push(x);
                        g_of.insert(x, g);
                    }
                }
            }
        }
        groups
    }

    /// Connected components of the mutual-pair graph, by smallest member.
    fn component_groups(&self) -> Vec<Vec<u32>> {
        let mut parent: BTreeMap<u32, u32> = BTreeMap::new();
        fn find(parent: &mut BTreeMap<u32, u32>, x: u32) -> u32 {
            let mut r = x;
            while let Some(&p) = parent.get(&r) {
                if p == r {
                    break;
                }
                r = p;
            }
            let mut y = x;
            while y != r {
                let p = parent[&y];
                parent.insert(y, r);
                y = p;
            }
            r
        }
        for &(a, b) in &self.mutual {
            parent.entry(a).or_insert(a);
            parent.entry(b).or_insert(b);
            let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
            if ra != rb {
                parent.insert(ra.max(rb), ra.min(rb));
            }
        }
        let nodes: Vec<u32> = parent.keys().copied().collect();
        let mut by_root: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        for x in nodes {
            let r = find(&mut parent, x);
            by_root.entry(r).or_default().push(x);
        }
        by_root.into_values().collect()
    }

    /// The fixed-point solve (§4.6): stores w and T, returns what it did.
    pub fn solve(&mut self) -> SolveReport {
        let weights = self.clusters().weights;
        self.solve_with_weights(weights)
    }

    /// The solve with cluster weights computed by the caller (one per
    /// identity, in (0, 1]): a study with its own cluster test (the
    /// monetary-policy isolation score) uses the engine's grouping from
    /// [`TrustEngine::clusters`] and its own flags.
    pub fn solve_with_weights(&mut self, weights: Vec<f64>) -> SolveReport {
        assert_eq!(weights.len(), self.ids.len(), "one cluster weight per identity");
        self.fill_tables();
        let clusters = Clusters { weights, groups: Vec::new(), flagged: Vec::new() };
        let p = self.params.clone();
        let t = self.day;
        let n = self.ids.len();
        let mut age = vec![0.0; n];
        let mut tx = vec![0.0; n];
        let mut pen = vec![0.0; n];
        let mut scale = vec![1.0; n];
        let derate = self.rules.age_mode == AgeMode::Derate;
        for (i, x) in self.ids.iter().enumerate() {
            let a = t - x.created;
            let w = clusters.weights[i];
            tx[i] = w * self.at_tx(&x.pos) + self.at_tx(&x.neg);
            pen[i] = self.at_as(&x.pen);
            if derate {
                scale[i] = (f64::from(a) / p.age_maturity_days).min(1.0);
            } else if a > 0 {
                let alpha = if x.provider_txs.is_empty() { p.age_nonprovider_factor } else { 1.0 };
                let e = self.age_table.get(a, p.tau_age);
                let e1 = self.age_table.get(1, p.tau_age);
                age[i] = p.k_age * alpha * (f64::from(a) - (1.0 - e) / (1.0 - e1));
            }
        }
        // The sparse assertion map as CSR rows per subject, with coefficients
        // R + D(t) fixed for this solve.
        let csys = self.rules.system_credibility(&p);
        let mut row = Vec::with_capacity(n + 1);
        let mut col: Vec<u32> = Vec::with_capacity(self.entries.len());
        let mut coef: Vec<f64> = Vec::with_capacity(self.entries.len());
        let mut sys = vec![0.0; n];
        row.push(0u32);
        for (i, x) in self.ids.iter().enumerate() {
            for &e in &x.entries {
                let e = &self.entries[e as usize];
                let c = e.r + self.at_as(&e.d);
                match e.asserter {
                    Some(j) => {
                        col.push(j);
                        coef.push(c);
                    }
                    None => sys[i] += c * csys,
                }
            }
            row.push(col.len() as u32);
        }
        let base: Vec<f64> = (0..n).map(|i| age[i] + tx[i]).collect();
        let mut cur: Vec<f64> = if derate { (0..n).map(|i| scale[i] * tx[i]).collect() } else { base.clone() };
        let mut next = vec![0.0; n];
        let mut assertion = vec![0.0; n];
        let mut cred = vec![0.0; n];
        let log_ref = (1.0 + p.t_reference).ln();
        let (mut iterations, mut residual, mut converged) = (0u32, 0.0f64, false);
        for _ in 0..p.solver_max_iterations {
            for (c, &v) in cred.iter_mut().zip(&cur) {
                *c = if v > 0.0 { (1.0 + v).ln() / log_ref } else { 0.0 };
            }
            let mut r = 0.0f64;
            for i in 0..n {
                let (a, b) = (row[i] as usize, row[i + 1] as usize);
                let mut s = sys[i];
                for k in a..b {
                    s += cred[col[k] as usize] * coef[k];
                }
                assertion[i] = s;
                let v = if derate { scale[i] * (tx[i] + s - pen[i]).max(0.0) } else { (base[i] + s - pen[i]).max(0.0) };
                r = r.max((v - cur[i]).abs());
                next[i] = v;
            }
            std::mem::swap(&mut cur, &mut next);
            iterations += 1;
            residual = r;
            if r < p.solver_epsilon {
                converged = true;
                break;
            }
        }
        for (i, x) in self.ids.iter_mut().enumerate() {
            x.trust = cur[i];
            x.weight = clusters.weights[i];
        }
        self.stats.solves += 1;
        if !converged {
            self.stats.nonconverged += 1;
        }
        self.stats.max_iterations = self.stats.max_iterations.max(iterations);
        self.dirty = false;
        SolveReport {
            day: t,
            iterations,
            converged,
            residual,
            age,
            tx,
            assertion,
            penalty: pen,
            weight: clusters.weights,
        }
    }

    // ------------------------------------------------------------------
    // Local trust

    /// Freeze the edge map at the current day (§4.8): later local-trust
    /// searches read these weights until the next build.
    pub fn build_edge_snapshot(&mut self) {
        self.snapshot =
            EdgeSnapshot { epoch: self.snapshot.epoch + 1, day: self.day, n_pairs: self.pairs.len() as u32 };
    }

    /// Whether an edge snapshot was ever built.
    pub fn has_edge_snapshot(&self) -> bool {
        self.snapshot.epoch > 0
    }

    /// Day of the edge snapshot.
    pub fn edge_snapshot_day(&self) -> Option<u32> {
        self.has_edge_snapshot().then_some(self.snapshot.day)
    }

    #[inline]
    fn snap_weight(&self, k: u32) -> f64 {
        let pair = &self.pairs[k as usize];
        if pair.snap_epoch == self.snapshot.epoch {
            pair.snap_w
        } else if pair.w.v == 0.0 {
            0.0
        } else {
            pair.w.v * self.dtx(self.snapshot.day - pair.w.day)
        }
    }

    /// Edge count and weight sum of the edge snapshot.
    pub fn edge_snapshot_summary(&self) -> EdgeSummary {
        let n = if self.has_edge_snapshot() { self.snapshot.n_pairs } else { 0 };
        EdgeSummary { n_edges: n as usize, sum_w: (0..n).map(|k| self.snap_weight(k)).sum() }
    }

    /// Live weight of the edge c→p at the current day.
    pub fn live_edge(&self, consumer: Ident, provider: Ident) -> f64 {
        self.pair_index.get(&(consumer.0, provider.0)).map_or(0.0, |&k| self.at_tx(&self.pairs[k as usize].w))
    }

    /// Observer O's view of subject S (§4.8). Builds the edge snapshot first
    /// if none exists.
    pub fn local_trust(&mut self, observer: Ident, subject: Ident) -> Result<f64, TrustError> {
        self.check(observer)?;
        self.check(subject)?;
        if !self.has_edge_snapshot() {
            self.build_edge_snapshot();
        }
        Ok(self.local_trust_on_snapshot(observer, subject))
    }

    /// [`TrustEngine::local_trust`] on the existing snapshot (none: no path).
    ///
    /// The breadth-first search of §4.8, pruned without changing its
    /// result: a node popped at depth H−1 can only add candidates through
    /// its own edges to S, so it is not scanned but looked up in a table of
    /// S's neighbours; and a node first reached at depth H−1 that is not a
    /// neighbour of S can add nothing, so it is not enqueued. The nodes that
    /// matter are reached in the same order along the same first paths.
    pub fn local_trust_on_snapshot(&self, observer: Ident, subject: Ident) -> f64 {
        let direct = self.live_edge(observer, subject) + 0.5 * self.live_edge(subject, observer);
        if direct > 0.0 {
            return direct;
        }
        if observer == subject {
            return f64::INFINITY;
        }
        let p = &self.params;
        let h = p.max_path_length;
        let (s, limit) = (subject.0, self.snapshot.n_pairs);
        let mut best: Option<f64> = None;
        if self.has_edge_snapshot() && h > 0 {
            let n = self.ids.len();
            // The best edge value between each neighbour of S and S.
            let mut near = vec![f64::NAN; n];
            let sn = &self.ids[s as usize];
            for &(q, k) in &sn.cons_pairs {
                if k < limit {
                    let v = 0.5 * self.snap_weight(k);
                    near[q as usize] = if near[q as usize] >= v { near[q as usize] } else { v };
                }
            }
            for &(c, k) in &sn.prov_pairs {
                if k < limit {
                    let v = self.snap_weight(k);
                    near[c as usize] = if near[c as usize] >= v { near[c as usize] } else { v };
                }
            }
            let mut seen = vec![false; n];
            seen[observer.idx()] = true;
            let mut queue: VecDeque<(u32, u32, f64)> = VecDeque::new();
            queue.push_back((observer.0, 0, f64::INFINITY));
            let mut candidate = |bb: f64, depth: u32| {
                let c = bb * p.transitivity_decay.powi(depth as i32 + 1);
                best = Some(best.map_or(c, |x: f64| x.max(c)));
            };
            while let Some((u, depth, b)) = queue.pop_front() {
                if depth >= h {
                    continue;
                }
                if depth + 1 == h {
                    let v = near[u as usize];
                    if !v.is_nan() {
                        candidate(b.min(v), depth);
                    }
                    continue;
                }
                let last = depth + 2 == h;
                let node = &self.ids[u as usize];
                let split = node.cons_pairs.partition_point(|&(q, _)| q < u);
                // Edge-map order: edges to providers before u, u's own
                // consumers, edges to providers after u.
                let mut visit = |edges: &[(u32, u32)], forward: bool| {
                    for &(v, k) in edges {
                        if k >= limit || (v != s && (seen[v as usize] || (last && near[v as usize].is_nan()))) {
                            continue;
                        }
                        let w = self.snap_weight(k);
                        let bb = b.min(if forward { w } else { 0.5 * w });
                        if v == s {
                            candidate(bb, depth);
                        } else {
                            seen[v as usize] = true;
                            queue.push_back((v, depth + 1, bb));
                        }
                    }
                };
                visit(&node.cons_pairs[..split], true);
                visit(&node.prov_pairs, false);
                visit(&node.cons_pairs[split..], true);
            }
        }
        match best {
            Some(x) => x.max(0.0),
            None => p.new_observer_discount * self.ids[subject.idx()].trust,
        }
    }

    // ------------------------------------------------------------------
    // Money-side readers (§4.7, §4.9)

    /// Payment share s(T).
    pub fn payment_share(&self, trust: f64) -> f64 {
        math::payment_share(&self.params, trust)
    }

    /// Escrow delay in days for value `v` to an identity with trust `t`.
    pub fn escrow_delay(&self, trust: f64, value: f64) -> f64 {
        math::escrow_delay(&self.params, trust, value)
    }

    /// Transfer `amount` from `sender` to `receiver`, burning 1/(1 +
    /// K_tr·min(T_s, T_r)) of it (stored trust).
    pub fn transfer(&mut self, sender: Ident, receiver: Ident, amount: f64) -> Result<TransferOutcome, TrustError> {
        self.check(sender)?;
        self.check(receiver)?;
        finite("amount", amount)?;
        let t = self.ids[sender.idx()].trust.min(self.ids[receiver.idx()].trust);
        let r = 1.0 / (1.0 + self.params.k_transfer * t);
        let burned = amount * r;
        let received = amount - burned;
        let s = &mut self.ids[sender.idx()];
        s.balance -= amount;
        s.total_spent += amount;
        let d = &mut self.ids[receiver.idx()];
        d.balance += received;
        d.total_earned += received;
        Ok(TransferOutcome { received, burned })
    }

    /// Runway in days: balance over the mean daily consumer outflow (Σ rw·dur
    /// of consumer transactions within the outflow window); +∞ with none.
    pub fn runway(&self, i: Ident) -> f64 {
        let x = &self.ids[i.idx()];
        let w = self.params.outflow_window;
        let mut out = 0.0;
        for &k in x.consumer_txs.iter().rev() {
            let tx = &self.txs[k as usize];
            if f64::from(self.day - tx.day) > w {
                break;
            }
            out += tx.rw * tx.dur;
        }
        if out > 0.0 { x.balance / (out / w) } else { f64::INFINITY }
    }

    /// Hoarding penalty (§4.9).
    pub fn hoarding_penalty(&self, i: Ident) -> f64 {
        let p = &self.params;
        let x = &self.ids[i.idx()];
        let age = f64::from(self.day - x.created);
        if age < p.hoarding_min_age || x.total_earned < p.min_volume_for_hoarding {
            return 0.0;
        }
        let runway = self.runway(i);
        if runway <= p.runway_threshold { 0.0 } else { p.hoarding_penalty_weight * (runway / p.runway_threshold).ln() }
    }

    /// Trust after the hoarding penalty: T/(1 + penalty), 0 for an infinite
    /// runway.
    pub fn effective_trust(&self, i: Ident) -> f64 {
        let h = self.hoarding_penalty(i);
        if h.is_infinite() { 0.0 } else { self.ids[i.idx()].trust / (1.0 + h) }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// trust.md §13.2: the deterministic praise rings (reference settings).
    #[test]
    fn praise_rings() {
        for (k, days, want, iterations) in
            [(5u32, 30u32, 92.37563799795922, 11u32), (5, 90, 263.4765968015432, 11), (10, 90, 695.1903691853433, 10)]
        {
            let mut e = TrustEngine::new(TrustParams::default(), Rules::REFERENCE).unwrap();
            let ids: Vec<Ident> = (0..k).map(|i| e.create_identity(&format!("s{i}"))).collect();
            for _ in 0..days {
                e.advance_days(1).unwrap();
                for &a in &ids {
                    for &b in &ids {
                        if a != b {
                            assert!(e.add_assertion(a, b, 0.9, "EXCELLENT_SERVICE", true).unwrap());
                        }
                    }
                }
            }
            let r = e.solve();
            assert_eq!(r.iterations, iterations, "k={k} D={days}");
            assert!(r.converged);
            for &i in &ids {
                let t = e.trust(i);
                assert!((t - want).abs() <= 1e-9 * want, "k={k} D={days}: T = {t}, want {want}");
                assert_eq!(e.weight(i), 1.0);
            }
        }
    }

    /// Under the corrected rules the same ring gets nothing: no praise
    /// without a past transaction.
    #[test]
    fn checked_praise_needs_a_customer() {
        let mut e = TrustEngine::new(TrustParams::default(), Rules::CORRECTED).unwrap();
        let a = e.create_identity("a");
        let b = e.create_identity("b");
        e.advance_days(1).unwrap();
        assert!(!e.add_assertion(a, b, 0.9, "X", true).unwrap());
        assert!(!e.add_assertion(a, a, 0.9, "X", true).unwrap());
        e.add_transaction(a, b, 2.0, 4.0, 0.95).unwrap();
        assert!(e.add_assertion(a, b, 0.9, "X", true).unwrap());
        assert!(!e.add_assertion(a, b, 0.9, "X", true).unwrap(), "once per 90 days");
        e.advance_days(89).unwrap();
        assert!(!e.add_assertion(a, b, 0.9, "X", true).unwrap());
        e.advance_days(1).unwrap();
        assert!(e.add_assertion(a, b, 0.9, "X", true).unwrap());
    }

    /// Accusations: history needed, one per 90 days (a repeat at exactly +90
    /// is accepted), weight n/n_full, boost from the stored trust,
    /// resolution, and the system assertion's effect under each rule.
    #[test]
    fn accusation_intake_and_resolution() {
        for rules in [Rules::REFERENCE, Rules::CORRECTED] {
            let mut e = TrustEngine::new(TrustParams::default(), rules).unwrap();
            let c = e.create_identity("c");
            let p = e.create_identity("p");
            e.advance_days(1).unwrap();
            assert!(!e.add_assertion(c, p, -0.7, "X", false).unwrap(), "no history");
            e.add_transaction(c, p, 1.0, 1.0, 0.95).unwrap();
            assert!(e.add_assertion(c, p, -0.7, "X", false).unwrap());
            let a = e.assertions()[0];
            assert!((a.weight - 1.0 / 3.0).abs() < 1e-15);
            assert_eq!(e.boost(p), 0.0, "the accuser's stored trust is 0: credibility 0");
            e.advance_days(89).unwrap();
            assert!(!e.add_assertion(c, p, -0.7, "X", false).unwrap());
            e.advance_days(1).unwrap();
            assert!(e.add_assertion(c, p, -0.7, "X", false).unwrap(), "exactly +90 days");
            assert_eq!(e.verification_rate(p), 0.1);
            e.resolve_accusation(c, p, false).unwrap();
            assert_eq!(e.assertions().len(), 3);
            assert_eq!(e.assertions()[2].asserter, None);
            assert_eq!(e.assertions()[2].subject, c.0);
            e.resolve_accusation(c, p, false).unwrap();
            assert_eq!(e.assertions().len(), 3, "nothing pending any more");
            let applied = rules.false_accusation_penalty == FalseAccusationPenalty::Applied;
            assert_eq!(e.has_system_penalty(c), applied);
            // Three later good transactions judge the accusation false, but
            // only when the test reads the raw score (-0.7 < -0.3; the
            // weighted -0.233 is not below it).
            for _ in 0..3 {
                e.advance_days(1).unwrap();
                e.add_transaction(c, p, 1.0, 1.0, 0.95).unwrap();
            }
            assert_eq!(e.penalty(c) > 0.0, applied, "{rules:?}");
        }
    }

    /// §4.5's example: creation order A…E, mutual pairs A↔B, C↔D, A↔E, D↔E.
    #[test]
    fn cluster_example() {
        let mut e = TrustEngine::new(TrustParams::default(), Rules::REFERENCE).unwrap();
        let [a, b, c, d, x] = ["A", "B", "C", "D", "E"].map(|n| e.create_identity(n));
        e.advance_days(1).unwrap();
        for (u, v) in [(a, b), (c, d), (a, x), (d, x)] {
            e.add_transaction(u, v, 1.0, 1.0, 1.0).unwrap();
            e.add_transaction(v, u, 1.0, 1.0, 1.0).unwrap();
        }
        let w = e.clusters().weights;
        assert_eq!(w, vec![0.25, 0.25, 0.5, 0.5, 0.25]);
        assert_eq!(e.weight(a), 1.0, "a query stores nothing");
        e.solve();
        assert_eq!(e.weight(a), 0.25);
        let comp =
            TrustEngine { rules: Rules { cluster_grouping: ClusterGrouping::Components, ..Rules::REFERENCE }, ..e };
        assert_eq!(comp.clusters().weights, vec![0.2; 5]);
    }

    /// §4.8's example: O→X (10) and X→S (4) give 1.0; S's view of O is 0.5.
    #[test]
    fn local_trust_example() {
        let mut e = TrustEngine::new(TrustParams::default(), Rules::REFERENCE).unwrap();
        let [o, x, s] = ["O", "X", "S"].map(|n| e.create_identity(n));
        e.add_transaction(o, x, 10.0, 1.0, 1.0).unwrap();
        e.add_transaction(x, s, 4.0, 1.0, 1.0).unwrap();
        e.build_edge_snapshot();
        assert_eq!(e.local_trust(o, s).unwrap(), 1.0);
        assert_eq!(e.local_trust(s, o).unwrap(), 0.5);
        assert_eq!(e.local_trust(o, o).unwrap(), f64::INFINITY);
        assert_eq!(e.local_trust(o, x).unwrap(), 10.0, "direct");
        // A later edge is not in the snapshot; a rebuild sees it.
        let y = e.create_identity("Y");
        e.add_transaction(o, x, 10.0, 1.0, 1.0).unwrap();
        e.add_transaction(y, x, 2.0, 1.0, 1.0).unwrap();
        assert_eq!(e.local_trust(o, s).unwrap(), 1.0, "the snapshot keeps O→X at 10");
        assert_eq!(e.local_trust(y, s).unwrap(), 0.0, "no path, no trust yet: γ·0");
        e.build_edge_snapshot();
        assert_eq!(e.local_trust(o, s).unwrap(), 1.0, "bottleneck X→S");
        assert_eq!(e.local_trust(y, s).unwrap(), 0.5, "Y→X (2) then X→S (4): min 2 · β²");
        assert_eq!(e.edge_snapshot_summary().n_edges, 3);
    }

    #[test]
    fn transfer_and_money() {
        let mut e = TrustEngine::new(TrustParams::default(), Rules::REFERENCE).unwrap();
        let a = e.create_identity("a");
        let b = e.create_identity("b");
        e.credit(a, 100.0).unwrap();
        let r = e.transfer(a, b, 40.0).unwrap();
        assert_eq!((r.received, r.burned), (0.0, 40.0), "T = 0 burns everything");
        assert_eq!(e.coins(a), (60.0, 100.0, 40.0));
        e.ids[0].trust = 100.0;
        e.ids[1].trust = 150.0;
        let r = e.transfer(a, b, 10.0).unwrap();
        assert_eq!((r.received, r.burned), (5.0, 5.0));
        assert!(e.transfer(a, Ident(7), 1.0).is_err());
        assert!(e.transfer(a, b, f64::NAN).is_err());
        assert_eq!(e.coins(a).0, 50.0, "a refused transfer changes nothing");
    }

    #[test]
    fn refused_calls_leave_no_trace() {
        let mut e = TrustEngine::new(TrustParams::default(), Rules::REFERENCE).unwrap();
        let a = e.create_identity("a");
        assert_eq!(e.add_transaction(a, a, 1.0, 1.0, 1.0), Err(TrustError::SelfTransaction(0)));
        assert_eq!(e.add_transaction(a, Ident(3), 1.0, 1.0, 1.0), Err(TrustError::UnknownIdentity(3)));
        let b = e.create_identity("b");
        assert!(e.add_transaction(a, b, 1.0, 1.0, 1.5).is_err());
        assert!(e.add_transaction(a, b, -1.0, 1.0, 0.5).is_err());
        assert!(e.add_assertion(a, b, 2.0, "X", true).is_err());
        assert!(e.transactions().is_empty() && e.assertions().is_empty());
        e.advance_days(3).unwrap();
        assert!(matches!(e.set_day(2), Err(TrustError::TimeBackwards { now: 3, to: 2 })));
        let bad = TrustParams { solver_epsilon: -1.0, ..Default::default() };
        assert!(matches!(e.set_params(bad), Err(TrustError::Param(_))));
        assert_eq!(e.params().solver_epsilon, 0.001);
    }

    /// §4.9: runway, hoarding penalty and effective trust.
    #[test]
    fn hoarding() {
        let mut e = TrustEngine::new(TrustParams::default(), Rules::REFERENCE).unwrap();
        let a = e.create_identity("a");
        let b = e.create_identity("b");
        e.credit(a, 1000.0).unwrap();
        e.ids[0].trust = 10.0;
        assert_eq!(e.runway(a), f64::INFINITY);
        assert_eq!(e.hoarding_penalty(a), 0.0, "younger than 30 days");
        assert_eq!(e.effective_trust(a), 10.0);
        e.advance_days(40).unwrap();
        assert_eq!(e.effective_trust(a), 0.0, "no outflow: infinite runway");
        // 9 h of weighted consumption over the 90-day window: 0.1 per day.
        e.add_transaction(a, b, 3.0, 3.0, 1.0).unwrap();
        assert!((e.runway(a) - 10_000.0).abs() < 1e-9);
        let h = (10_000.0f64 / 90.0).ln();
        assert!((e.hoarding_penalty(a) - h).abs() < 1e-12);
        assert!((e.effective_trust(a) - 10.0 / (1.0 + h)).abs() < 1e-12);
        e.advance_days(91).unwrap();
        assert_eq!(e.runway(a), f64::INFINITY, "the purchase left the window");
        assert_eq!(e.hoarding_penalty(b), 0.0, "b earned nothing");
    }

    /// A solve that hits the iteration cap says so and is counted.
    #[test]
    fn nonconvergence_is_reported() {
        let p = TrustParams { solver_max_iterations: 2, ..Default::default() };
        let mut e = TrustEngine::new(p, Rules::REFERENCE).unwrap();
        let ids: Vec<Ident> = (0..5).map(|i| e.create_identity(&format!("s{i}"))).collect();
        for _ in 0..30 {
            e.advance_days(1).unwrap();
            for &a in &ids {
                for &b in &ids {
                    if a != b {
                        e.add_assertion(a, b, 0.9, "X", true).unwrap();
                    }
                }
            }
        }
        let r = e.solve();
        assert!(!r.converged && r.iterations == 2 && r.residual >= 0.001);
        assert_eq!(e.stats().nonconverged, 1);
        assert_eq!(e.stats().solves, 1);
    }
}
