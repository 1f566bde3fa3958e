//! Escrow: a protocol operation, not a peer transfer (no transfer burns, no
//! inheritance, no flow records). A payer locks money for a session
//! ([`Ledger::escrow_lock`]); the lock is settled exactly once
//! ([`Ledger::escrow_settle`]): `pay` to the payee, `burn` destroyed,
//! the rest refunded to the payer. While a lock is open its money is in
//! [`Ledger::escrowed`], so `Σ balances + escrowed + burned = minted`
//! holds after every operation.

use super::{AccountId, Ledger, LedgerError, Micro};
use crate::engine::SimTime;
use serde::{Deserialize, Serialize};
use std::fmt;

/// An escrow lock: its number in opening order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EscrowId(pub u64);

impl fmt::Display for EscrowId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "lock {}", self.0)
    }
}

/// An open lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lock {
    /// Who locked the money (and gets the refund).
    pub payer: AccountId,
    /// The amount locked (> 0).
    pub amount: Micro,
    /// When it was locked.
    pub at: SimTime,
}

/// Everything a settlement did. Money in µOMC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettleReceipt {
    /// The lock settled.
    pub id: EscrowId,
    /// Its payer.
    pub payer: AccountId,
    /// The payee.
    pub payee: AccountId,
    /// The amount the lock held.
    pub locked: Micro,
    /// Credited to the payee.
    pub pay: Micro,
    /// Burned (`burned_settlement`).
    pub burn: Micro,
    /// locked − pay − burn: returned to the payer.
    pub refund: Micro,
    /// When the lock was opened.
    pub locked_at: SimTime,
    /// When it was settled.
    pub at: SimTime,
}

/// Why an escrow request was refused. A refused request changes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EscrowError {
    /// Refused as a transfer would be (unknown account, amount not
    /// positive, balance short, overflow).
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// No open lock has this id (never opened, or already settled).
    #[error("no open escrow lock {id}")]
    UnknownLock {
        /// The id that was given.
        id: u64,
    },
    /// `pay` or `burn` is negative.
    #[error("settlement amounts must be >= 0 (pay {pay} µOMC, burn {burn} µOMC)")]
    NegativeAmount {
        /// pay in µOMC.
        pay: i64,
        /// burn in µOMC.
        burn: i64,
    },
    /// pay + burn exceeds the amount locked.
    #[error("pay {pay} + burn {burn} µOMC exceed the {locked} µOMC locked")]
    Overdrawn {
        /// The amount locked.
        locked: i64,
        /// pay in µOMC.
        pay: i64,
        /// burn in µOMC.
        burn: i64,
    },
}

impl Ledger {
    /// Lock `amount` µOMC of `payer`'s balance in escrow at `at`. Validated
    /// like a transfer: a known account, amount > 0, balance ≥ amount.
    pub fn escrow_lock(&mut self, payer: AccountId, amount: i64, at: SimTime) -> Result<EscrowId, EscrowError> {
        let i = self.index(payer)?;
        if amount <= 0 {
            return Err(LedgerError::NonPositiveAmount { amount }.into());
        }
        let b = self.accounts[i].balance.0;
        if b < amount {
            return Err(LedgerError::InsufficientBalance { id: payer.0, balance: b, amount }.into());
        }
        // escrowed <= minted - balances, so this cannot overflow; the id
        // count is checked all the same.
        let next = self.locks_opened.checked_add(1).ok_or(LedgerError::Overflow { what: "escrow locks" })?;
        let id = self.locks_opened;
        self.locks_opened = next;
        self.accounts[i].balance.0 -= amount;
        self.escrowed.0 += amount;
        self.locks.insert(id, Lock { payer, amount: Micro(amount), at });
        Ok(EscrowId(id))
    }

    /// What `escrow_settle` would do, without doing it.
    pub fn quote_settle(
        &self,
        id: EscrowId,
        payee: AccountId,
        pay: i64,
        burn: i64,
        at: SimTime,
    ) -> Result<SettleReceipt, EscrowError> {
        let lock = *self.locks.get(&id.0).ok_or(EscrowError::UnknownLock { id: id.0 })?;
        self.index(payee)?;
        if pay < 0 || burn < 0 {
            return Err(EscrowError::NegativeAmount { pay, burn });
        }
        let locked = lock.amount.0;
        if pay.checked_add(burn).is_none_or(|x| x > locked) {
            return Err(EscrowError::Overdrawn { locked, pay, burn });
        }
        Ok(SettleReceipt {
            id,
            payer: lock.payer,
            payee,
            locked: lock.amount,
            pay: Micro(pay),
            burn: Micro(burn),
            refund: Micro(locked - pay - burn),
            locked_at: lock.at,
            at,
        })
    }

    /// Settle lock `id` once: credit `pay` to `payee`, burn `burn`
    /// (`burned_settlement`), refund the rest to the payer, free the lock.
    /// Requires pay, burn ≥ 0 and pay + burn ≤ the amount locked.
    pub fn escrow_settle(
        &mut self,
        id: EscrowId,
        payee: AccountId,
        pay: i64,
        burn: i64,
        at: SimTime,
    ) -> Result<SettleReceipt, EscrowError> {
        let rc = self.quote_settle(id, payee, pay, burn, at)?;
        self.locks.remove(&id.0);
        self.escrowed.0 -= rc.locked.0;
        self.accounts[payee.0 as usize].balance.0 += rc.pay.0;
        self.accounts[rc.payer.0 as usize].balance.0 += rc.refund.0;
        self.burned_settlement.0 += rc.burn.0;
        Ok(rc)
    }

    /// Money held in open locks.
    pub fn escrowed(&self) -> Micro {
        self.escrowed
    }

    /// Money burned by settlements.
    pub fn burned_settlement(&self) -> Micro {
        self.burned_settlement
    }

    /// Open locks, by id.
    pub fn open_locks(&self) -> impl Iterator<Item = (EscrowId, &Lock)> {
        self.locks.iter().map(|(&k, l)| (EscrowId(k), l))
    }

    /// The open lock `id`, if any.
    pub fn lock(&self, id: EscrowId) -> Option<&Lock> {
        self.locks.get(&id.0)
    }

    /// Number of open locks.
    pub fn open_lock_count(&self) -> usize {
        self.locks.len()
    }

    /// Locks ever opened.
    pub fn locks_opened(&self) -> u64 {
        self.locks_opened
    }

    /// The open locks are sound: each names a known payer, holds a positive
    /// amount, has an id below `locks_opened`, and together they hold
    /// exactly `escrowed`.
    pub(super) fn check_locks(&self) -> Result<(), String> {
        let mut sum: i128 = 0;
        for (&k, l) in &self.locks {
            if k >= self.locks_opened {
                return Err(format!("escrow lock {k} was never opened"));
            }
            if l.payer.0 as usize >= self.accounts.len() {
                return Err(format!("escrow lock {k} names unknown {}", l.payer));
            }
            if l.amount.0 <= 0 {
                return Err(format!("escrow lock {k} holds {} µOMC", l.amount.0));
            }
            sum += l.amount.0 as i128;
        }
        if sum != self.escrowed.0 as i128 {
            return Err(format!("open locks hold {sum} µOMC but escrowed is {}", self.escrowed.0));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::LedgerConfig;
    use super::*;

    #[test]
    fn lock_then_settle_pays_burns_and_refunds() {
        let mut l = Ledger::new(LedgerConfig::defended()).unwrap();
        let c = l.open_account(Micro(1_000), 0.0, SimTime::ZERO).unwrap();
        let p = l.open_account(Micro::ZERO, 0.0, SimTime::ZERO).unwrap();
        let id = l.escrow_lock(c, 600, SimTime(3)).unwrap();
        assert_eq!((l.balance(c), l.escrowed()), (Micro(400), Micro(600)));
        l.check_conservation().unwrap();
        let rc = l.escrow_settle(id, p, 300, 200, SimTime(9)).unwrap();
        assert_eq!((rc.pay, rc.burn, rc.refund, rc.locked), (Micro(300), Micro(200), Micro(100), Micro(600)));
        assert_eq!((l.balance(c), l.balance(p), l.escrowed()), (Micro(500), Micro(300), Micro::ZERO));
        assert_eq!(l.burned_settlement(), Micro(200));
        assert_eq!(l.burned(), Micro::ZERO, "transfer burns are apart");
        l.check_conservation().unwrap();
        assert_eq!(l.escrow_settle(id, p, 0, 0, SimTime(9)), Err(EscrowError::UnknownLock { id: 0 }));
    }

    #[test]
    fn refused_requests_change_nothing() {
        let mut l = Ledger::new(LedgerConfig::defended()).unwrap();
        let c = l.open_account(Micro(1_000), 0.0, SimTime::ZERO).unwrap();
        let id = l.escrow_lock(c, 500, SimTime::ZERO).unwrap();
        let before = l.clone();
        let t = SimTime::ZERO;
        assert_eq!(l.escrow_lock(AccountId(5), 1, t), Err(LedgerError::UnknownAccount { id: 5 }.into()));
        assert_eq!(l.escrow_lock(c, 0, t), Err(LedgerError::NonPositiveAmount { amount: 0 }.into()));
        assert_eq!(
            l.escrow_lock(c, 501, t),
            Err(LedgerError::InsufficientBalance { id: 0, balance: 500, amount: 501 }.into())
        );
        assert_eq!(l.escrow_settle(id, AccountId(9), 1, 0, t), Err(LedgerError::UnknownAccount { id: 9 }.into()));
        assert_eq!(l.escrow_settle(id, c, -1, 0, t), Err(EscrowError::NegativeAmount { pay: -1, burn: 0 }));
        assert_eq!(
            l.escrow_settle(id, c, 300, 201, t),
            Err(EscrowError::Overdrawn { locked: 500, pay: 300, burn: 201 })
        );
        assert_eq!(
            l.escrow_settle(id, c, i64::MAX, 1, t),
            Err(EscrowError::Overdrawn { locked: 500, pay: i64::MAX, burn: 1 })
        );
        assert_eq!(l.escrow_settle(EscrowId(7), c, 1, 0, t), Err(EscrowError::UnknownLock { id: 7 }));
        assert_eq!(l, before);
    }
}
