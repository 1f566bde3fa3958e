//! Parameters, rule switches and the day: replacing them rebuilds the caches
//! that depend on them; the decay tables and the decayed-value readers.

use super::*;

impl TrustEngine {
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

    pub(super) fn fill_tables(&mut self) {
        let t = self.day;
        self.tx_table.ensure(self.params.tau_transaction, t);
        self.as_table.ensure(self.params.tau_assertion, t);
        self.age_table.ensure(self.params.tau_age, t.max(1));
    }

    #[inline]
    pub(super) fn dtx(&self, gap: u32) -> f64 {
        self.tx_table.get(gap, self.params.tau_transaction)
    }

    #[inline]
    fn das(&self, gap: u32) -> f64 {
        self.as_table.get(gap, self.params.tau_assertion)
    }

    #[inline]
    pub(super) fn at_tx(&self, d: &Decayed) -> f64 {
        if d.v == 0.0 { 0.0 } else { d.v * self.dtx(self.day - d.day) }
    }

    #[inline]
    pub(super) fn at_as(&self, d: &Decayed) -> f64 {
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
}
