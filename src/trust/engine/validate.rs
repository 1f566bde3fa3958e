//! Validation of a trust engine read from a snapshot.
//!
//! The history (identities, transactions, accepted assertions) is checked
//! value by value; every index structure derived from it (per-identity
//! lists, pairs and their index, mutual pairs, assertion-map entries and
//! their index, the judgement pointers) is then rebuilt by replaying the
//! history, as a change of parameters does, and must be the one stored.
//! The cached sums are floats the replay may add in another order, so they
//! are only checked to be finite.

use super::{Identity, Judge, TrustEngine};
use crate::trust::params::{Rules, TrustParams};

fn err<T>(msg: String) -> Result<T, String> {
    Err(msg)
}

impl TrustEngine {
    /// Check an engine read from a snapshot against the parameters and
    /// rules it must run on (see the module documentation).
    pub fn validate(&self, params: &TrustParams, rules: Rules) -> Result<(), String> {
        if self.params != *params || self.rules != rules {
            return err("the trust engine's parameters are not those of its run".into());
        }
        self.params.validate().map_err(|e| format!("trust parameters: {e}"))?;
        let n = self.ids.len();
        let day = self.day;
        if n >= u32::MAX as usize || self.txs.len() >= u32::MAX as usize || self.assertions.len() >= u32::MAX as usize {
            return err("the trust engine's history is too long".into());
        }
        for (i, x) in self.ids.iter().enumerate() {
            let fin = [x.trust, x.balance, x.total_earned, x.total_spent, x.boost, x.pos.v, x.neg.v, x.pen.v];
            if x.created > day
                || !fin.iter().all(|v| v.is_finite())
                || x.trust < 0.0
                || x.boost < 0.0
                || !(x.weight > 0.0 && x.weight <= 1.0)
                || [x.pos.day, x.neg.day, x.pen.day].iter().any(|&d| d > day)
            {
                return err(format!("identity {i}'s values are out of range"));
            }
        }
        let mut last = 0;
        for (k, t) in self.txs.iter().enumerate() {
            let ok = (t.consumer as usize) < n
                && (t.provider as usize) < n
                && t.consumer != t.provider
                && t.rw.is_finite()
                && t.rw >= 0.0
                && t.dur.is_finite()
                && t.dur >= 0.0
                && (0.0..=1.0).contains(&t.vs)
                && t.day >= last
                && t.day <= day;
            if !ok {
                return err(format!("transaction {k} is out of range"));
            }
            last = t.day;
        }
        if self.labels.len() >= u16::MAX as usize {
            return err("too many assertion labels".into());
        }
        let mut last = 0;
        for (k, a) in self.assertions.iter().enumerate() {
            let ok = (a.subject as usize) < n
                && a.asserter.is_none_or(|s| (s as usize) < n)
                && a.raw.is_finite()
                && (-1.0..=1.0).contains(&a.raw)
                && a.weight.is_finite()
                && (0.0..=1.0).contains(&a.weight)
                && ((a.class as usize) < self.labels.len() || a.class == u16::MAX)
                && a.day >= last
                && a.day <= day;
            if !ok {
                return err(format!("assertion {k} is out of range"));
            }
            last = a.day;
        }
        for (&(a, s), &d) in self.last_accusation.iter().chain(&self.last_praise) {
            if a as usize >= n || s as usize >= n || d > day {
                return err(format!("a remembered assertion of {a} about {s} is out of range"));
            }
        }
        if self.pending.iter().any(|&(a, s)| a as usize >= n || s as usize >= n) {
            return err("a pending accusation names an unknown identity".into());
        }
        for (k, e) in self.entries.iter().enumerate() {
            if !(e.r.is_finite() && e.d.v.is_finite() && e.d.day <= day) {
                return err(format!("assertion-map entry {k} is out of range"));
            }
        }
        let snap = self.snapshot;
        if snap.n_pairs as usize > self.pairs.len() || snap.day > day || (snap.epoch == 0 && snap.n_pairs != 0) {
            return err("the edge snapshot is out of range".into());
        }
        for (k, p) in self.pairs.iter().enumerate() {
            let saved = p.snap_epoch == snap.epoch && snap.epoch > 0;
            if !(p.w.v.is_finite() && p.snap_w.is_finite() && p.w.day <= day && p.snap_epoch <= snap.epoch)
                || (k < snap.n_pairs as usize && !saved && p.w.v != 0.0 && p.w.day > snap.day)
            {
                return err(format!("pair {k} is out of range"));
            }
        }
        // Rebuild every index structure from the history and compare.
        let mut r = TrustEngine::new(self.params.clone(), self.rules).map_err(|e| e.to_string())?;
        r.day = day;
        r.labels = self.labels.clone();
        r.txs = self.txs.clone();
        r.assertions = self.assertions.clone();
        r.ids = self
            .ids
            .iter()
            .map(|x| Identity {
                name: x.name.clone(),
                created: x.created,
                provider_txs: Vec::new(),
                consumer_txs: Vec::new(),
                received: Vec::new(),
                made: Vec::new(),
                trust: x.trust,
                weight: x.weight,
                balance: x.balance,
                total_earned: x.total_earned,
                total_spent: x.total_spent,
                boost: x.boost,
                pos: Default::default(),
                neg: Default::default(),
                pen: Default::default(),
                judge_false: Judge::default(),
                judge_vouch: Judge::default(),
                entries: Vec::new(),
                prov_pairs: Vec::new(),
                cons_pairs: Vec::new(),
            })
            .collect();
        for (k, t) in self.txs.iter().enumerate() {
            r.ids[t.provider as usize].provider_txs.push(k as u32);
            r.ids[t.consumer as usize].consumer_txs.push(k as u32);
        }
        for (k, a) in self.assertions.iter().enumerate() {
            r.ids[a.subject as usize].received.push(k as u32);
            if let Some(s) = a.asserter {
                r.ids[s as usize].made.push(k as u32);
            }
        }
        r.rebuild_caches();
        for (i, (x, y)) in self.ids.iter().zip(&r.ids).enumerate() {
            let same = x.provider_txs == y.provider_txs
                && x.consumer_txs == y.consumer_txs
                && x.received == y.received
                && x.made == y.made
                && x.entries == y.entries
                && x.prov_pairs == y.prov_pairs
                && x.cons_pairs == y.cons_pairs
                && x.judge_false == y.judge_false
                && x.judge_vouch == y.judge_vouch;
            if !same {
                return err(format!("identity {i}'s history indices are not those its history builds"));
            }
        }
        let pairs = self.pairs.len() == r.pairs.len()
            && self
                .pairs
                .iter()
                .zip(&r.pairs)
                .all(|(a, b)| (a.consumer, a.provider, a.n) == (b.consumer, b.provider, b.n));
        let entries = self.entries.len() == r.entries.len()
            && self.entries.iter().zip(&r.entries).all(|(a, b)| a.asserter == b.asserter);
        if !pairs || self.pair_index != r.pair_index || self.mutual != r.mutual {
            return err("the transaction pairs are not those the history builds".into());
        }
        if !entries || self.entry_index != r.entry_index {
            return err("the assertion map is not the one the history builds".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::Ident;

    /// An engine with transactions, praise, accusations, a resolution and
    /// an edge snapshot, built over a few days.
    fn busy() -> TrustEngine {
        let mut e = TrustEngine::new(TrustParams::default(), Rules::CORRECTED).unwrap();
        let ids: Vec<Ident> = (0..6).map(|i| e.create_identity(&format!("x{i}"))).collect();
        for d in 1..40u32 {
            e.set_day(d).unwrap();
            for k in 0..6 {
                let (c, p) = (ids[k], ids[(k + 1 + d as usize) % 6]);
                if c != p {
                    e.add_transaction(c, p, 1.0, 2.0, if d % 7 == 0 { 0.2 } else { 0.95 }).unwrap();
                    let _ = e.add_assertion(c, p, if d % 5 == 0 { -0.6 } else { 0.7 }, "X", d % 2 == 0).unwrap();
                }
            }
            if d == 20 {
                e.build_edge_snapshot();
                e.resolve_accusation(ids[0], ids[1], false).unwrap();
            }
            if d % 10 == 0 {
                e.solve();
            }
        }
        e
    }

    #[test]
    fn an_honest_engine_validates_and_corruption_is_refused() {
        let e = busy();
        let (p, r) = (e.params().clone(), e.rules());
        e.validate(&p, r).unwrap();
        let bad = |what: &str, f: &dyn Fn(&mut TrustEngine)| {
            let mut c = e.clone();
            f(&mut c);
            assert!(c.validate(&p, r).is_err(), "{what}");
        };
        bad("a transaction's provider", &|c| c.txs[3].provider = 99);
        bad("a self transaction", &|c| c.txs[3].provider = c.txs[3].consumer);
        bad("a transaction in the future", &|c| c.txs[0].day = c.day + 1);
        bad("an assertion's subject", &|c| c.assertions[2].subject = 6);
        bad("an assertion score", &|c| c.assertions[2].raw = 3.0);
        bad("a label index", &|c| c.assertions[2].class = 40);
        bad("a provider list", &|c| c.ids[1].provider_txs.push(0));
        bad("a pair list", &|c| c.ids[1].cons_pairs.reverse());
        bad("a pair", &|c| c.pairs[0].provider = 5);
        bad("the pair index", &|c| {
            c.pair_index.insert((5, 5), 0);
        });
        bad("an entry index", &|c| {
            let k = *c.entry_index.keys().next().unwrap();
            c.entry_index.insert(k, 9999);
        });
        bad("a judgement pointer", &|c| c.ids[2].judge_false.next += 1);
        bad("a creation day", &|c| c.ids[4].created = c.day + 1);
        bad("the edge snapshot", &|c| c.snapshot.n_pairs = c.pairs.len() as u32 + 1);
        bad("a weight", &|c| c.ids[0].weight = 0.0);
        bad("a trust", &|c| c.ids[0].trust = f64::NAN);
        bad("a pending accusation", &|c| {
            c.pending.insert((0, 77));
        });
        let mut other = p.clone();
        other.tau_transaction *= 2.0;
        assert!(e.validate(&other, r).is_err(), "other parameters");
    }
}
