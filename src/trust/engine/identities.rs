//! Identities and the readers of one identity's state and history.

use super::*;

impl TrustEngine {
    /// Create an identity at the current day.
    pub fn create_identity(&mut self, name: &str) -> Ident {
        let day = self.day;
        self.push_identity(name, day)
    }

    /// Create an identity whose creation day is `day`, on or before the
    /// current day (an identity that existed before the study's first
    /// day: its age counts from `day`). A day after the current one is
    /// refused: an identity cannot be younger than zero days.
    pub fn create_identity_at(&mut self, name: &str, day: u32) -> Result<Ident, TrustError> {
        if day > self.day {
            return Err(TrustError::InvalidValue {
                what: "creation day",
                rule: "on or before the engine's day",
                value: f64::from(day),
            });
        }
        Ok(self.push_identity(name, day))
    }

    fn push_identity(&mut self, name: &str, created: u32) -> Ident {
        let id = self.ids.len() as u32;
        self.ids.push(Identity {
            name: name.to_string(),
            created,
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

    pub(super) fn check(&self, i: Ident) -> Result<(), TrustError> {
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
}
