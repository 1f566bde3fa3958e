//! Validation of a ledger read from a snapshot.

use super::{Ledger, LedgerConfig};

impl Ledger {
    /// Check a ledger read from a snapshot: its configuration is `config`
    /// (the scenario's); every account has a non-negative balance, finite
    /// non-negative trust and non-negative gross counters; money is
    /// conserved (balances plus burned equal minted, and minted by cause
    /// adds up); and the flow records are sound (see `Flows::validate`) as
    /// of day `today`.
    pub fn validate(&self, config: &LedgerConfig, today: u64) -> Result<(), String> {
        if self.config != *config {
            return Err("the ledger's configuration is not the scenario's".into());
        }
        if self.ln_scale.to_bits() != config.amount_scale.ln().to_bits() {
            return Err("the ledger's amount scale does not match its configuration".into());
        }
        if self.accounts.len() >= u32::MAX as usize {
            return Err("the ledger has too many accounts".into());
        }
        for (i, a) in self.accounts.iter().enumerate() {
            if a.gross_sent.0 < 0 || a.gross_received.0 < 0 {
                return Err(format!("account {i} has a negative gross counter"));
            }
        }
        if self.minted.0 < 0
            || self.burned_trust.0 < 0
            || self.burned_amount.0 < 0
            || self.burned_settlement.0 < 0
            || self.escrowed.0 < 0
        {
            return Err("the ledger has negative minted or burned totals".into());
        }
        if self.minted_by_cause.values().any(|m| m.0 <= 0) {
            return Err("the ledger has a cause that minted nothing".into());
        }
        self.check_conservation()?;
        self.flows.validate(self.config.detector.as_ref(), self.accounts.len(), today)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{AccountId, DetectorKind, Micro};
    use super::*;
    use crate::engine::{SimTime, TICKS_PER_DAY};
    use crate::ledger::flows::Flows;

    fn ledger(kind: DetectorKind) -> Ledger {
        let mut cfg = LedgerConfig::defended();
        if let Some(d) = cfg.detector.as_mut() {
            d.kind = kind;
            d.window_days = 5;
        }
        let mut l = Ledger::new(cfg).unwrap();
        for t in [50.0, 10.0, 0.0] {
            l.open_account(Micro(1_000_000_000), t, SimTime::ZERO).unwrap();
        }
        for d in 0..8u64 {
            let at = SimTime(d * TICKS_PER_DAY);
            l.transfer(AccountId((d % 3) as u32), AccountId(((d + 1) % 3) as u32), 5_000_000, at).unwrap();
        }
        l
    }

    #[test]
    fn an_honest_ledger_validates_and_corruption_is_refused() {
        for kind in [DetectorKind::Reference, DetectorKind::Corrected] {
            let l = ledger(kind);
            let cfg = *l.config();
            l.validate(&cfg, 7).unwrap();
            let bad = |what: &str, f: &dyn Fn(&mut Ledger)| {
                let mut c = l.clone();
                f(&mut c);
                assert!(c.validate(&cfg, 7).is_err(), "{kind:?}: {what}");
            };
            bad("a negative balance", &|c| c.accounts[0].balance = Micro(-1));
            bad("money from nowhere", &|c| c.accounts[0].balance.0 += 1);
            bad("a trust", &|c| c.accounts[1].trust = f64::INFINITY);
            bad("a gross counter", &|c| c.accounts[1].gross_sent = Micro(-5));
            bad("the amount scale", &|c| c.ln_scale += 1.0);
            bad("a flow to an unknown account", &|c| match &mut c.flows {
                Flows::Reference { last } => {
                    last.insert(9, 1);
                }
                Flows::Window { days, .. } => days[0].entries[0].key = 7,
                Flows::Off => {}
            });
            bad("a flow of nothing", &|c| match &mut c.flows {
                Flows::Reference { last } => {
                    last.values_mut().for_each(|g| *g = 0);
                }
                Flows::Window { days, .. } => days[0].entries[0].gross = 0,
                Flows::Off => {}
            });
            if kind == DetectorKind::Corrected {
                bad("days out of order", &|c| {
                    if let Flows::Window { days, .. } = &mut c.flows {
                        days.swap(0, 1);
                    }
                });
                assert!(l.validate(&cfg, 3).is_err(), "a flow day after today");
            }
            let mut other = cfg;
            other.k_amount += 0.1;
            assert!(l.validate(&other, 7).is_err(), "another configuration");
        }
    }
}
