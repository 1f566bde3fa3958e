//! The transfer ledger (docs/models/identity_rotation.md, "What it models"):
//! accounts with exact integer money, transfers with trust and amount burns,
//! trust inheritance, and the circular-flow detector.
//!
//! A reusable component: it knows nothing of attackers, puppets or scripts,
//! never prints, and is plain data (`Serialize + Deserialize`) so it can be
//! part of a snapshot.
//!
//! - Money is [`Micro`], an `i64` count of micro-OMC. It enters only by
//!   minting ([`Ledger::open_account`], [`Ledger::mint`]) and leaves only
//!   through burns, so `Σ balances + burned = minted` holds exactly after
//!   every operation.
//! - [`Ledger::transfer`] is one atomic step: it validates, reads only the
//!   state before it, commits everything at once and returns a [`Receipt`]
//!   with every intermediate value. A refused request returns a
//!   [`LedgerError`] and changes nothing.
//! - [`Ledger::detect`] runs the circular-flow detector (reference or
//!   corrected) on demand. It is an observer: it never feeds back into burns
//!   or inheritance.

pub mod detect;
pub mod escrow;
pub mod flows;
mod validate;

use crate::engine::SimTime;
pub use escrow::{EscrowError, EscrowId, Lock, SettleReceipt};
use flows::Flows;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Micro-OMC per OMC.
pub const MICRO_PER_OMC: i64 = 1_000_000;

/// An amount of money in micro-OMC (1 µOMC = 10⁻⁶ OMC).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Micro(pub i64);

impl Micro {
    /// No money.
    pub const ZERO: Micro = Micro(0);

    /// An amount in OMC, rounded to the nearest µOMC (halves away from zero).
    /// Non-finite `x` gives `InvalidNumber`, a result outside `i64` gives
    /// `Overflow`; a negative result is representable, so that validation can
    /// reject it where it matters.
    pub fn from_omc(x: f64) -> Result<Micro, LedgerError> {
        if !x.is_finite() {
            return Err(LedgerError::InvalidNumber { what: "amount in OMC" });
        }
        let v = (x * MICRO_PER_OMC as f64).round();
        // i64 covers [-2^63, 2^63); both bounds are exact in f64.
        if !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&v) {
            return Err(LedgerError::Overflow { what: "amount in OMC" });
        }
        Ok(Micro(v as i64))
    }

    /// This amount in OMC (the f64 nearest to the exact value).
    pub fn omc(self) -> f64 {
        self.0 as f64 / MICRO_PER_OMC as f64
    }
}

impl fmt::Display for Micro {
    /// Exact decimal OMC with six decimals, e.g. `4751.217056`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0 as i128;
        let sign = if v < 0 { "-" } else { "" };
        let a = v.abs();
        write!(f, "{sign}{}.{:06}", a / MICRO_PER_OMC as i128, a % MICRO_PER_OMC as i128)
    }
}

/// An account: its index in the ledger, in opening order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AccountId(pub u32);

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "account {}", self.0)
    }
}

/// One account.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Account {
    /// Balance, never negative.
    pub balance: Micro,
    /// Trust: finite and >= 0. Burns read it; inheritance only lowers it.
    pub trust: f64,
    /// Sum of the gross amounts this account sent (before burns).
    pub gross_sent: Micro,
    /// Sum of the gross amounts sent to this account (before burns).
    pub gross_received: Micro,
}

/// Why a request was refused. A refused request changes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// `from`, then `to`, is not an opened account.
    #[error("unknown account {id}")]
    UnknownAccount {
        /// The id that was given.
        id: u32,
    },
    /// `from` = `to`.
    #[error("account {id} cannot transfer to itself")]
    SelfTransfer {
        /// The account.
        id: u32,
    },
    /// The amount is zero or negative.
    #[error("amount {amount} µOMC is not positive")]
    NonPositiveAmount {
        /// The amount in µOMC.
        amount: i64,
    },
    /// The sender holds less than the amount.
    #[error("account {id} holds {balance} µOMC, less than {amount} µOMC")]
    InsufficientBalance {
        /// The sender.
        id: u32,
        /// Its balance in µOMC.
        balance: i64,
        /// The amount asked for in µOMC.
        amount: i64,
    },
    /// A checked sum would leave `i64`.
    #[error("{what} would overflow")]
    Overflow {
        /// Which sum.
        what: &'static str,
    },
    /// A number that must be finite (and, for trust, >= 0) is not.
    #[error("{what} must be a finite number (and >= 0 for trust)")]
    InvalidNumber {
        /// Which number.
        what: &'static str,
    },
}

impl LedgerError {
    /// The six reasons a request is refused (the `<reason>` of the scale
    /// run's `scale.transfers_rejected.<reason>`).
    pub const REASONS: [&'static str; 6] = [
        "unknown_account",
        "self_transfer",
        "non_positive_amount",
        "insufficient_balance",
        "overflow",
        "invalid_number",
    ];

    /// The reason in snake case (an entry of [`LedgerError::REASONS`]).
    pub fn reason(&self) -> &'static str {
        Self::REASONS[self.code()]
    }

    /// Index of the reason in [`LedgerError::REASONS`].
    pub fn code(&self) -> usize {
        match self {
            LedgerError::UnknownAccount { .. } => 0,
            LedgerError::SelfTransfer { .. } => 1,
            LedgerError::NonPositiveAmount { .. } => 2,
            LedgerError::InsufficientBalance { .. } => 3,
            LedgerError::Overflow { .. } => 4,
            LedgerError::InvalidNumber { .. } => 5,
        }
    }
}

/// What ρ of trust inheritance divides: ρ = x / (B_r + x), x the amount
/// received or sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RhoBasis {
    /// ρ = q / (B_r + q): the amount received (the reference).
    #[default]
    Received,
    /// ρ = a / (B_r + a): the amount sent (the design document's worked
    /// examples; `models/identity_rotation_doc_params.toml`).
    Sent,
}

impl RhoBasis {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            RhoBasis::Received => "received",
            RhoBasis::Sent => "sent",
        }
    }
}

/// Which circular-flow detector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DetectorKind {
    /// The reference: last transfer per ordered pair, direct A<->B cycles only.
    Reference,
    /// Cycles of any length on flows summed in a window.
    Corrected,
}

/// The circular-flow detector's configuration.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct DetectorConfig {
    /// Reference or corrected.
    pub kind: DetectorKind,
    /// θ: the ratio above which a penalty applies, in [0, 1).
    pub threshold: f64,
    /// w_c: penalty per unit of ratio above θ.
    pub penalty_weight: f64,
    /// W: days in the window (corrected); 0 = the whole history.
    pub window_days: u32,
    /// Whether the penalty applies (the `circular_flow` switch). The ratio is
    /// reported either way.
    pub penalty: bool,
}

/// Everything that decides what a transfer does.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LedgerConfig {
    /// K_T, the trust-burn scale (>= 0).
    pub k_transfer: f64,
    /// K_A, the amount-burn scale (>= 0).
    pub k_amount: f64,
    /// S, the logarithm base of the amount burn (> 1).
    pub amount_scale: f64,
    /// M, the network median balance (> 0).
    pub median_balance: Micro,
    /// No amount burn at or below one median.
    pub amount_burn_cutoff: bool,
    /// What ρ divides.
    pub rho_basis: RhoBasis,
    /// The trust-based burn.
    pub trust_burn: bool,
    /// The amount-based burn.
    pub amount_burn: bool,
    /// Trust inheritance on transfer.
    pub trust_inheritance: bool,
    /// The circular-flow detector; `None` keeps no flow records.
    pub detector: Option<DetectorConfig>,
}

impl LedgerConfig {
    /// The reference parameters with every defence on and the
    /// corrected detector.
    pub fn defended() -> LedgerConfig {
        LedgerConfig {
            k_transfer: 0.01,
            k_amount: 0.15,
            amount_scale: 10.0,
            median_balance: Micro(100 * MICRO_PER_OMC),
            amount_burn_cutoff: true,
            rho_basis: RhoBasis::Received,
            trust_burn: true,
            amount_burn: true,
            trust_inheritance: true,
            detector: Some(DetectorConfig {
                kind: DetectorKind::Corrected,
                threshold: 0.3,
                penalty_weight: 2.0,
                window_days: 90,
                penalty: true,
            }),
        }
    }

    /// Check the parameters: `InvalidNumber` names the first bad one.
    pub fn check(&self) -> Result<(), LedgerError> {
        let bad = |what| Err(LedgerError::InvalidNumber { what });
        if !(self.k_transfer.is_finite() && self.k_transfer >= 0.0) {
            return bad("k_transfer");
        }
        if !(self.k_amount.is_finite() && self.k_amount >= 0.0) {
            return bad("k_amount");
        }
        if !(self.amount_scale.is_finite() && self.amount_scale > 1.0) {
            return bad("amount_scale");
        }
        if self.median_balance.0 <= 0 {
            return bad("median_balance");
        }
        if let Some(d) = &self.detector {
            if !(d.threshold.is_finite() && (0.0..1.0).contains(&d.threshold)) {
                return bad("circular threshold");
            }
            if !(d.penalty_weight.is_finite() && d.penalty_weight >= 0.0) {
                return bad("circular penalty_weight");
            }
        }
        Ok(())
    }
}

/// Everything a committed transfer did. Money in µOMC.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    /// `transfers_committed` before this transfer.
    pub index: u64,
    /// When.
    pub at: SimTime,
    /// Sender.
    pub from: AccountId,
    /// Receiver.
    pub to: AccountId,
    /// a: debited from the sender.
    pub gross: Micro,
    /// The part of the burn attributed to trust.
    pub burn_trust: Micro,
    /// The part of the burn attributed to the amount.
    pub burn_amount: Micro,
    /// burn_trust + burn_amount.
    pub burned: Micro,
    /// q = gross - burned: credited to the receiver.
    pub received: Micro,
    /// r_t.
    pub rate_trust: f64,
    /// r_a.
    pub rate_amount: f64,
    /// r = min(1, r_t + r_a).
    pub rate: f64,
    /// f = a / M.
    pub amount_factor: f64,
    /// T_s (unchanged by the transfer).
    pub sender_trust: f64,
    /// T_r before.
    pub receiver_trust_before: f64,
    /// T_r after.
    pub receiver_trust_after: f64,
    /// ρ; `None` when inheritance is off or skipped (q = 0).
    pub rho: Option<f64>,
    /// ρ·T_s + (1 − ρ)·T_r; `None` when ρ is.
    pub blended: Option<f64>,
    /// B_s before.
    pub sender_balance_before: Micro,
    /// B_s after.
    pub sender_balance_after: Micro,
    /// B_r before.
    pub receiver_balance_before: Micro,
    /// B_r after.
    pub receiver_balance_after: Micro,
}

/// The circular-flow detector's result on one evaluation day, one
/// entry per account.
#[derive(Clone, Debug, PartialEq)]
pub struct CircularScores {
    /// The evaluation day D.
    pub day: u64,
    /// Which detector.
    pub kind: DetectorKind,
    /// κ_i.
    pub ratio: Vec<f64>,
    /// π_i (0 unless the penalty is on and κ_i > θ).
    pub penalty: Vec<f64>,
    /// T_eff,i = T_i / (1 + π_i).
    pub effective_trust: Vec<f64>,
    /// Circular volume (reference: circ_i; corrected: c_i), µOMC.
    pub circular: Vec<i128>,
    /// The volume V_i the ratio divides, µOMC.
    pub volume: Vec<i128>,
    /// Accounts with κ_i > θ.
    pub flagged: usize,
    /// Edges the detector looked at: ordered pairs with a last transfer
    /// (reference) or with flow in the window (corrected).
    pub edges: usize,
}

/// The ledger: accounts, totals, and (with a detector) flow records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    config: LedgerConfig,
    /// ln(S), computed once from the same f64 as `(S).ln()`.
    ln_scale: f64,
    accounts: Vec<Account>,
    minted: Micro,
    burned_trust: Micro,
    burned_amount: Micro,
    transfers_committed: u64,
    /// Minted money by cause (`open` for opening balances).
    minted_by_cause: BTreeMap<String, Micro>,
    flows: Flows,
    /// Money held in open escrow locks.
    escrowed: Micro,
    /// Money burned by escrow settlements.
    burned_settlement: Micro,
    /// Open locks by id (a settled lock is removed).
    locks: BTreeMap<u64, Lock>,
    /// Locks ever opened (the next lock's id).
    locks_opened: u64,
}

/// Round half away from zero and clamp into [0, a].
#[inline]
fn round_clamp(x: f64, a: i64) -> i64 {
    // `as` saturates (and maps NaN to 0), so the clamp below is exact.
    (x.round() as i64).clamp(0, a)
}

fn check_trust(t: f64) -> Result<(), LedgerError> {
    if t.is_finite() && t >= 0.0 { Ok(()) } else { Err(LedgerError::InvalidNumber { what: "trust" }) }
}

impl Ledger {
    /// An empty ledger; `InvalidNumber` if a parameter is out of range.
    pub fn new(config: LedgerConfig) -> Result<Ledger, LedgerError> {
        config.check()?;
        Ok(Ledger {
            config,
            ln_scale: config.amount_scale.ln(),
            accounts: Vec::new(),
            minted: Micro::ZERO,
            burned_trust: Micro::ZERO,
            burned_amount: Micro::ZERO,
            transfers_committed: 0,
            minted_by_cause: BTreeMap::new(),
            flows: Flows::new(config.detector.as_ref()),
            escrowed: Micro::ZERO,
            burned_settlement: Micro::ZERO,
            locks: BTreeMap::new(),
            locks_opened: 0,
        })
    }

    /// An empty ledger with room for `n` accounts.
    pub fn with_capacity(config: LedgerConfig, n: usize) -> Result<Ledger, LedgerError> {
        let mut l = Ledger::new(config)?;
        l.accounts.reserve_exact(n);
        Ok(l)
    }

    /// The configuration.
    pub fn config(&self) -> &LedgerConfig {
        &self.config
    }

    /// Open an account with `initial_balance` (minted, cause `open`) and
    /// `trust`. `at` is when; the ledger keeps no age.
    pub fn open_account(&mut self, initial_balance: Micro, trust: f64, _at: SimTime) -> Result<AccountId, LedgerError> {
        check_trust(trust)?;
        if initial_balance.0 < 0 {
            return Err(LedgerError::NonPositiveAmount { amount: initial_balance.0 });
        }
        let minted = self.minted.0.checked_add(initial_balance.0).ok_or(LedgerError::Overflow { what: "minted" })?;
        let id = u32::try_from(self.accounts.len())
            .ok()
            .filter(|&i| i < u32::MAX)
            .ok_or(LedgerError::Overflow { what: "account count" })?;
        self.minted = Micro(minted);
        if initial_balance.0 > 0 {
            self.add_cause("open", initial_balance.0);
        }
        self.accounts.push(Account {
            balance: initial_balance,
            trust,
            gross_sent: Micro::ZERO,
            gross_received: Micro::ZERO,
        });
        Ok(AccountId(id))
    }

    /// Mint `amount` (> 0) into account `id`, recorded under `cause`.
    pub fn mint(&mut self, id: AccountId, amount: Micro, cause: &str) -> Result<(), LedgerError> {
        let i = self.index(id)?;
        if amount.0 <= 0 {
            return Err(LedgerError::NonPositiveAmount { amount: amount.0 });
        }
        let minted = self.minted.0.checked_add(amount.0).ok_or(LedgerError::Overflow { what: "minted" })?;
        // Balances sum to at most `minted`, so this cannot overflow.
        self.minted = Micro(minted);
        self.accounts[i].balance.0 += amount.0;
        self.add_cause(cause, amount.0);
        Ok(())
    }

    /// Count `amount` of minted money under `cause` (the total fits: it is
    /// at most `minted`).
    fn add_cause(&mut self, cause: &str, amount: i64) {
        match self.minted_by_cause.get_mut(cause) {
            Some(m) => m.0 += amount,
            None => {
                self.minted_by_cause.insert(cause.to_string(), Micro(amount));
            }
        }
    }

    /// Add `delta` (finite, >= 0) to an account's trust (activity).
    pub fn add_trust(&mut self, id: AccountId, delta: f64) -> Result<(), LedgerError> {
        let i = self.index(id)?;
        if !(delta.is_finite() && delta >= 0.0) {
            return Err(LedgerError::InvalidNumber { what: "trust increment" });
        }
        let t = self.accounts[i].trust + delta;
        check_trust(t)?;
        self.accounts[i].trust = t;
        Ok(())
    }

    /// Set an account's trust (finite, >= 0), for studies whose trust model
    /// lives elsewhere.
    pub fn set_trust(&mut self, id: AccountId, value: f64) -> Result<(), LedgerError> {
        let i = self.index(id)?;
        check_trust(value)?;
        self.accounts[i].trust = value;
        Ok(())
    }

    #[inline]
    fn index(&self, id: AccountId) -> Result<usize, LedgerError> {
        let i = id.0 as usize;
        if i < self.accounts.len() { Ok(i) } else { Err(LedgerError::UnknownAccount { id: id.0 }) }
    }

    /// What `transfer` would do, without doing it: validation and
    /// every value of the receipt, from the current state only.
    #[inline]
    pub fn quote(&self, from: AccountId, to: AccountId, amount: i64, at: SimTime) -> Result<Receipt, LedgerError> {
        let s = self.index(from)?;
        let r = self.index(to)?;
        if s == r {
            return Err(LedgerError::SelfTransfer { id: from.0 });
        }
        if amount <= 0 {
            return Err(LedgerError::NonPositiveAmount { amount });
        }
        let (sa, ra) = (&self.accounts[s], &self.accounts[r]);
        let (bs, br) = (sa.balance.0, ra.balance.0);
        if bs < amount {
            return Err(LedgerError::InsufficientBalance { id: from.0, balance: bs, amount });
        }
        sa.gross_sent.0.checked_add(amount).ok_or(LedgerError::Overflow { what: "gross_sent" })?;
        ra.gross_received.0.checked_add(amount).ok_or(LedgerError::Overflow { what: "gross_received" })?;
        let c = &self.config;
        let (ts, tr) = (sa.trust, ra.trust);
        let a = amount;
        let rate_trust = if c.trust_burn { 1.0 / (1.0 + c.k_transfer * ts.min(tr)) } else { 0.0 };
        let f = a as f64 / c.median_balance.0 as f64;
        let rate_amount = if c.amount_burn && !(c.amount_burn_cutoff && f <= 1.0) {
            c.k_amount * (1.0 + f).ln() / self.ln_scale
        } else {
            0.0
        };
        let rate = (rate_trust + rate_amount).min(1.0);
        let burned = round_clamp(a as f64 * rate, a);
        let burn_trust = burned.min(round_clamp(a as f64 * rate_trust, a));
        let burn_amount = burned - burn_trust;
        let q = a - burned;
        let (mut rho, mut blended, mut tr_after) = (None, None, tr);
        if c.trust_inheritance && q > 0 {
            let x = match c.rho_basis {
                RhoBasis::Received => q,
                RhoBasis::Sent => a,
            };
            // B_r + x <= Σ balances <= minted <= i64::MAX.
            let p = x as f64 / (br + x) as f64;
            let b = p * ts + (1.0 - p) * tr;
            rho = Some(p);
            blended = Some(b);
            if ts < tr {
                tr_after = tr.min(b);
            }
        }
        Ok(Receipt {
            index: self.transfers_committed,
            at,
            from,
            to,
            gross: Micro(a),
            burn_trust: Micro(burn_trust),
            burn_amount: Micro(burn_amount),
            burned: Micro(burned),
            received: Micro(q),
            rate_trust,
            rate_amount,
            rate,
            amount_factor: f,
            sender_trust: ts,
            receiver_trust_before: tr,
            receiver_trust_after: tr_after,
            rho,
            blended,
            sender_balance_before: Micro(bs),
            sender_balance_after: Micro(bs - a),
            receiver_balance_before: Micro(br),
            receiver_balance_after: Micro(br + q),
        })
    }

    /// Transfer `amount` µOMC from `from` to `to` at `at`: validate, compute
    /// from the state before, commit everything at once. A refused
    /// request changes nothing, not even a counter.
    #[inline]
    pub fn transfer(
        &mut self,
        from: AccountId,
        to: AccountId,
        amount: i64,
        at: SimTime,
    ) -> Result<Receipt, LedgerError> {
        let rc = self.quote(from, to, amount, at)?;
        let (s, r) = (from.0 as usize, to.0 as usize);
        let sa = &mut self.accounts[s];
        sa.balance = rc.sender_balance_after;
        sa.gross_sent.0 += amount;
        let ra = &mut self.accounts[r];
        ra.balance = rc.receiver_balance_after;
        ra.gross_received.0 += amount;
        ra.trust = rc.receiver_trust_after;
        self.burned_trust.0 += rc.burn_trust.0;
        self.burned_amount.0 += rc.burn_amount.0;
        self.transfers_committed += 1;
        self.flows.record(from.0, to.0, amount, at);
        Ok(rc)
    }

    /// Number of accounts.
    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    /// Whether no account is open.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    /// One account.
    pub fn account(&self, id: AccountId) -> Option<&Account> {
        self.accounts.get(id.0 as usize)
    }

    /// All accounts, by id.
    pub fn accounts(&self) -> &[Account] {
        &self.accounts
    }

    /// An account's balance (zero for an unknown id).
    pub fn balance(&self, id: AccountId) -> Micro {
        self.account(id).map_or(Micro::ZERO, |a| a.balance)
    }

    /// An account's stored trust (NaN for an unknown id).
    pub fn trust(&self, id: AccountId) -> f64 {
        self.account(id).map_or(f64::NAN, |a| a.trust)
    }

    /// All money ever minted.
    pub fn minted(&self) -> Micro {
        self.minted
    }

    /// Money minted by cause, in cause order.
    pub fn minted_by_cause(&self) -> &BTreeMap<String, Micro> {
        &self.minted_by_cause
    }

    /// Money burned by the trust burn.
    pub fn burned_trust(&self) -> Micro {
        self.burned_trust
    }

    /// Money burned by the amount burn.
    pub fn burned_amount(&self) -> Micro {
        self.burned_amount
    }

    /// All money burned.
    pub fn burned(&self) -> Micro {
        Micro(self.burned_trust.0 + self.burned_amount.0)
    }

    /// Transfers committed so far.
    pub fn transfers_committed(&self) -> u64 {
        self.transfers_committed
    }

    /// I1 and I2: balances are >= 0 and Σ balances + escrowed + burned
    /// (transfer burns and settlement burns) = minted, exactly (summed in
    /// i128); the open locks hold exactly `escrowed`. O(accounts + locks).
    pub fn check_conservation(&self) -> Result<(), String> {
        let mut sum: i128 = 0;
        for (i, a) in self.accounts.iter().enumerate() {
            if a.balance.0 < 0 {
                return Err(format!("account {i} has a negative balance {}", a.balance.0));
            }
            if !(a.trust.is_finite() && a.trust >= 0.0) {
                return Err(format!("account {i} has trust {}", a.trust));
            }
            sum += a.balance.0 as i128;
        }
        let total = sum
            + self.escrowed.0 as i128
            + self.burned_trust.0 as i128
            + self.burned_amount.0 as i128
            + self.burned_settlement.0 as i128;
        if total != self.minted.0 as i128 {
            return Err(format!(
                "balances {sum} + escrowed {} + burned {} + {} + {} != minted {}",
                self.escrowed.0, self.burned_trust.0, self.burned_amount.0, self.burned_settlement.0, self.minted.0
            ));
        }
        self.check_locks()?;
        let by_cause: i128 = self.minted_by_cause.values().map(|m| m.0 as i128).sum();
        if by_cause != self.minted.0 as i128 {
            return Err(format!("minted by cause {by_cause} != minted {}", self.minted.0));
        }
        Ok(())
    }

    /// Whether flow records are kept (a detector is configured).
    pub fn has_detector(&self) -> bool {
        self.config.detector.is_some()
    }

    /// Run the circular-flow detector for evaluation day `day`;
    /// `None` without a detector.
    pub fn detect(&self, day: u64) -> Option<CircularScores> {
        let d = self.config.detector.as_ref()?;
        let (circular, volume, edges) = match d.kind {
            DetectorKind::Reference => self.flows.reference_volumes(&self.accounts)?,
            DetectorKind::Corrected => self.flows.corrected_volumes(self.accounts.len(), day)?,
        };
        let n = self.accounts.len();
        let mut ratio = Vec::with_capacity(n);
        let mut penalty = Vec::with_capacity(n);
        let mut effective_trust = Vec::with_capacity(n);
        let mut flagged = 0;
        for i in 0..n {
            let k = if volume[i] > 0 { circular[i] as f64 / volume[i] as f64 } else { 0.0 };
            let p = if d.penalty && k > d.threshold { d.penalty_weight * (k - d.threshold) } else { 0.0 };
            if k > d.threshold {
                flagged += 1;
            }
            ratio.push(k);
            penalty.push(p);
            effective_trust.push(self.accounts[i].trust / (1.0 + p));
        }
        Some(CircularScores { day, kind: d.kind, ratio, penalty, effective_trust, circular, volume, flagged, edges })
    }

    /// Number of flow records held (entries or pairs), for sizing.
    pub fn flow_records(&self) -> usize {
        self.flows.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn omc(x: f64) -> Micro {
        Micro::from_omc(x).unwrap()
    }

    #[test]
    fn omc_conversion() {
        assert_eq!(omc(4751.217056), Micro(4_751_217_056));
        assert_eq!(omc(0.1), Micro(100_000));
        assert_eq!(omc(0.0000005), Micro(1), "halves away from zero");
        assert_eq!(omc(-0.0000005), Micro(-1));
        assert_eq!(omc(-3.0), Micro(-3_000_000));
        assert_eq!(Micro::from_omc(f64::NAN), Err(LedgerError::InvalidNumber { what: "amount in OMC" }));
        assert_eq!(Micro::from_omc(f64::INFINITY), Err(LedgerError::InvalidNumber { what: "amount in OMC" }));
        assert_eq!(Micro::from_omc(1e13), Err(LedgerError::Overflow { what: "amount in OMC" }));
        assert!(Micro::from_omc(9.2e12).is_ok());
        assert_eq!(Micro(4_751_217_056).to_string(), "4751.217056");
        assert_eq!(Micro(-5).to_string(), "-0.000005");
        assert_eq!(Micro(i64::MIN).to_string(), "-9223372036854.775808");
    }

    /// Acceptance target 1: the one-puppet defended big transfer.
    #[test]
    fn the_big_transfer() {
        let mut l = Ledger::new(LedgerConfig::defended()).unwrap();
        let tw = 500.0 * (1.0 - 0.8);
        assert_eq!(tw, 99.99999999999997);
        let w = l.open_account(omc(100_000.0), tw, SimTime::ZERO).unwrap();
        let p = l.open_account(Micro::ZERO, 450.0, SimTime::ZERO).unwrap();
        let r = l.transfer(w, p, omc(50_000.0).0, SimTime::ZERO).unwrap();
        assert_eq!(r.rate_trust, 0.5000000000000001);
        assert_eq!(r.rate_amount, 0.4049756588800868);
        assert_eq!(r.received, Micro(4_751_217_056));
        assert_eq!(r.rho, Some(1.0));
        assert_eq!(r.receiver_trust_before, 450.0);
        assert_eq!(r.receiver_trust_after, 99.99999999999997);
        assert_eq!(l.trust(p), 99.99999999999997);
        assert_eq!(r.burned.0 + r.received.0, r.gross.0);
        assert_eq!(r.burn_trust.0 + r.burn_amount.0, r.burned.0);
        l.check_conservation().unwrap();
    }

    fn probe(first_trust: f64, second_trust: f64) -> (f64, Micro) {
        let mut l = Ledger::new(LedgerConfig::defended()).unwrap();
        let p = l.open_account(Micro::ZERO, 450.0, SimTime::ZERO).unwrap();
        let a = l.open_account(omc(1000.0), first_trust, SimTime::ZERO).unwrap();
        let b = l.open_account(omc(1000.0), second_trust, SimTime::ZERO).unwrap();
        l.transfer(a, p, omc(1000.0).0, SimTime::ZERO).unwrap();
        l.transfer(b, p, omc(1000.0).0, SimTime::ZERO).unwrap();
        (l.trust(p), l.balance(p))
    }

    /// Acceptance target 2: the order-dependence pair.
    #[test]
    fn order_dependence() {
        let (ta, ba) = probe(100.0, 300.0);
        assert_eq!(ta, 100.0);
        assert!((ba.omc() - 687.5822).abs() < 5e-5, "{ba}");
        let (tb, bb) = probe(300.0, 100.0);
        assert!((tb - 226.6643).abs() < 1e-4, "{tb}");
        assert!((bb.omc() - 937.5822).abs() < 5e-5, "{bb}");
    }

    #[test]
    fn refusals_change_nothing() {
        let mut l = Ledger::new(LedgerConfig::defended()).unwrap();
        let a = l.open_account(omc(10.0), 5.0, SimTime::ZERO).unwrap();
        let b = l.open_account(Micro::ZERO, 5.0, SimTime::ZERO).unwrap();
        let before = l.clone();
        let t = SimTime::ZERO;
        assert_eq!(l.transfer(AccountId(7), b, 1, t), Err(LedgerError::UnknownAccount { id: 7 }));
        assert_eq!(l.transfer(a, AccountId(9), 1, t), Err(LedgerError::UnknownAccount { id: 9 }));
        assert_eq!(l.transfer(a, a, 1, t), Err(LedgerError::SelfTransfer { id: 0 }));
        assert_eq!(l.transfer(a, b, 0, t), Err(LedgerError::NonPositiveAmount { amount: 0 }));
        assert_eq!(l.transfer(a, b, -5, t), Err(LedgerError::NonPositiveAmount { amount: -5 }));
        assert_eq!(
            l.transfer(a, b, 10_000_001, t),
            Err(LedgerError::InsufficientBalance { id: 0, balance: 10_000_000, amount: 10_000_001 })
        );
        assert_eq!(l.add_trust(a, f64::NAN), Err(LedgerError::InvalidNumber { what: "trust increment" }));
        assert_eq!(l.add_trust(a, -1.0), Err(LedgerError::InvalidNumber { what: "trust increment" }));
        assert_eq!(l.set_trust(a, -1.0), Err(LedgerError::InvalidNumber { what: "trust" }));
        assert_eq!(l.mint(a, Micro(i64::MAX), "x"), Err(LedgerError::Overflow { what: "minted" }));
        assert_eq!(l.mint(a, Micro(0), "x"), Err(LedgerError::NonPositiveAmount { amount: 0 }));
        assert_eq!(l, before);
        assert_eq!(LedgerError::InsufficientBalance { id: 0, balance: 0, amount: 1 }.reason(), "insufficient_balance");
    }

    #[test]
    fn gross_counter_overflow_is_refused() {
        let mut cfg = LedgerConfig::defended();
        cfg.trust_burn = false;
        cfg.amount_burn = false;
        let mut l = Ledger::new(cfg).unwrap();
        let a = l.open_account(Micro(i64::MAX / 2 + 1), 1.0, SimTime::ZERO).unwrap();
        let b = l.open_account(Micro(i64::MAX / 2), 1.0, SimTime::ZERO).unwrap();
        l.transfer(a, b, i64::MAX / 2 + 1, SimTime::ZERO).unwrap();
        l.transfer(b, a, i64::MAX, SimTime::ZERO).unwrap();
        let before = l.clone();
        assert_eq!(l.transfer(a, b, i64::MAX, SimTime::ZERO), Err(LedgerError::Overflow { what: "gross_sent" }));
        assert_eq!(l, before);
        l.check_conservation().unwrap();
    }

    #[test]
    fn zero_trust_burns_everything() {
        let mut l = Ledger::new(LedgerConfig::defended()).unwrap();
        let a = l.open_account(omc(10.0), 0.0, SimTime::ZERO).unwrap();
        let b = l.open_account(Micro::ZERO, 50.0, SimTime::ZERO).unwrap();
        let r = l.transfer(a, b, omc(10.0).0, SimTime::ZERO).unwrap();
        assert_eq!(r.rate_trust, 1.0);
        assert_eq!(r.received, Micro::ZERO);
        assert_eq!(r.rho, None, "nothing received: no inheritance");
        assert_eq!(l.trust(b), 50.0);
        assert_eq!(l.burned_trust(), omc(10.0));
        l.check_conservation().unwrap();
    }
}
