//! Validation of a ledger read from a snapshot.

use super::{Ledger, LedgerConfig};

impl Ledger {
    /// Check a ledger read from a snapshot: its configuration is `config`
    /// (the scenario's), every account has a balance >= 0, finite trust
    /// >= 0 and gross counters >= 0, money is conserved (balances + burned
    /// = minted, minted by cause adds up), and the flow records are sound
    /// (see `Flows::validate`) as of day `today`.
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
        if self.minted.0 < 0 || self.burned_trust.0 < 0 || self.burned_amount.0 < 0 {
            return Err("the ledger has negative minted or burned totals".into());
        }
        if self.minted_by_cause.values().any(|m| m.0 <= 0) {
            return Err("the ledger has a cause that minted nothing".into());
        }
        self.check_conservation()?;
        self.flows.validate(self.config.detector.as_ref(), self.accounts.len(), today)
    }
}
