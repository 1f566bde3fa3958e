//! The history: transactions, assertion intake and
//! resolution, and the incremental caches they update (decayed sums, pairs,
//! the assertion map, the moving-pointer judgement); the full rebuild.

use super::*;

impl TrustEngine {
    /// Record a transaction c→p at the current day.
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

    pub(super) fn freeze_snapshot(&mut self, tau: f64) {
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

    /// The tested score σ of an assertion.
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

    /// Intake of an assertion: returns whether it was accepted. A
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

    /// Resolve an accusation.
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

    /// Verification rate min(r₀·(1 + boost), r_max).
    pub fn verification_rate(&self, i: Ident) -> f64 {
        (self.params.base_verification_rate * (1.0 + self.ids[i.idx()].boost)).min(self.params.max_verification_rate)
    }

    /// Subjects with a boost entry, and the boost (non-zero only).
    pub fn boosts(&self) -> Vec<(Ident, f64)> {
        self.ids.iter().enumerate().filter(|(_, x)| x.boost != 0.0).map(|(i, x)| (Ident(i as u32), x.boost)).collect()
    }

    /// Rebuild every cache from the history, in recording order.
    pub(super) fn rebuild_caches(&mut self) {
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
}
