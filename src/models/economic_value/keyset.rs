//! The ordered key sets of the matching indices (idle consumers, idle
//! providers by price): a sorted vector while small (a market of a few dozen
//! agents, where inserting into a short vector beats walking a B-tree) and a
//! B-tree once large (the scale scenario's 100,000 consumers). Serialized as
//! the sorted sequence of keys, the same bytes as a `BTreeSet`, and read back
//! through one.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeSet;

/// A matching key: (primary order, tie break, agent index).
pub type Key = (u64, u64, u32);

/// Above this many keys a set becomes a B-tree; below a quarter of it, a
/// vector again.
const SMALL: usize = 64;

/// An ordered set of [`Key`]s.
#[derive(Clone, Debug)]
pub enum KeySet {
    /// Sorted in decreasing order, no duplicates: the least key is last, so
    /// that taking it (a match takes a level's first consumer) moves nothing.
    Small(Vec<Key>),
    /// Many keys.
    Large(BTreeSet<Key>),
}

impl Default for KeySet {
    fn default() -> Self {
        KeySet::Small(Vec::new())
    }
}

impl KeySet {
    /// Add `k`; false if it was there.
    #[inline]
    pub fn insert(&mut self, k: Key) -> bool {
        match self {
            KeySet::Small(v) => match v.binary_search_by(|x| k.cmp(x)) {
                Ok(_) => false,
                Err(at) => {
                    v.insert(at, k);
                    if v.len() > SMALL {
                        *self = KeySet::Large(std::mem::take(v).into_iter().collect());
                    }
                    true
                }
            },
            KeySet::Large(s) => s.insert(k),
        }
    }

    /// Remove `k`; false if it was not there.
    #[inline]
    pub fn remove(&mut self, k: &Key) -> bool {
        match self {
            KeySet::Small(v) if v.last() == Some(k) => {
                v.pop();
                true
            }
            KeySet::Small(v) => match v.binary_search_by(|x| k.cmp(x)) {
                Ok(at) => {
                    v.remove(at);
                    true
                }
                Err(_) => false,
            },
            KeySet::Large(s) => {
                let was = s.remove(k);
                if s.len() < SMALL / 4 {
                    *self = KeySet::Small(std::mem::take(s).into_iter().rev().collect());
                }
                was
            }
        }
    }

    /// The smallest key.
    #[inline]
    pub fn first(&self) -> Option<&Key> {
        match self {
            KeySet::Small(v) => v.last(),
            KeySet::Large(s) => s.first(),
        }
    }

    /// Number of keys.
    fn len(&self) -> usize {
        match self {
            KeySet::Small(v) => v.len(),
            KeySet::Large(s) => s.len(),
        }
    }

    /// Whether `k` is in the set.
    pub fn contains(&self, k: &Key) -> bool {
        match self {
            KeySet::Small(v) => v.binary_search_by(|x| k.cmp(x)).is_ok(),
            KeySet::Large(s) => s.contains(k),
        }
    }

    /// The keys in order.
    pub fn iter(&self) -> Box<dyn Iterator<Item = &Key> + '_> {
        match self {
            KeySet::Small(v) => Box::new(v.iter().rev()),
            KeySet::Large(s) => Box::new(s.iter()),
        }
    }
}

impl PartialEq for KeySet {
    fn eq(&self, o: &KeySet) -> bool {
        self.len() == o.len() && self.iter().eq(o.iter())
    }
}

impl FromIterator<Key> for KeySet {
    fn from_iter<I: IntoIterator<Item = Key>>(it: I) -> Self {
        let s: BTreeSet<Key> = it.into_iter().collect();
        if s.len() > SMALL { KeySet::Large(s) } else { KeySet::Small(s.into_iter().rev().collect()) }
    }
}

impl Serialize for KeySet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            KeySet::Small(v) => s.collect_seq(v.iter().rev()),
            KeySet::Large(b) => b.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for KeySet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(BTreeSet::<Key>::deserialize(d)?.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::snapshot::{self, state_bytes};
    use rand::{RngExt, SeedableRng};

    /// Against a `BTreeSet` through growth past `SMALL` and shrinking back:
    /// the same answers, the same order and the same serialized bytes; and
    /// read back from a snapshot.
    #[test]
    fn behaves_as_a_btreeset() {
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(7);
        let (mut a, mut b) = (KeySet::default(), BTreeSet::new());
        let (mut saw_large, mut saw_small_again) = (false, false);
        for step in 0..10_000u32 {
            // Grow for a while, then shrink to (nearly) nothing, then mix.
            let grow = match step {
                0..2_000 => 0.7,
                2_000..6_000 => 0.1,
                _ => 0.5,
            };
            let mut k: Key = (rng.random_range(0..40u64), rng.random_range(0..3u64), rng.random_range(0..200u32));
            if rng.random::<f64>() < grow {
                assert_eq!(a.insert(k), b.insert(k));
            } else {
                // Mostly a key that is there (a random one rarely is).
                if !b.is_empty() && rng.random::<f64>() < 0.9 {
                    k = *b.iter().nth(rng.random_range(0..b.len())).expect("in range");
                }
                assert_eq!(a.remove(&k), b.remove(&k));
            }
            saw_small_again |= saw_large && matches!(a, KeySet::Small(_));
            saw_large |= matches!(a, KeySet::Large(_));
            assert_eq!(a.len(), b.len());
            assert_eq!(a.first(), b.first());
            assert_eq!(a.contains(&k), b.contains(&k));
            if step % 997 == 0 {
                assert!(a.iter().eq(b.iter()));
                assert_eq!(state_bytes(&a), state_bytes(&b));
                let path = std::path::Path::new("keys.snap");
                let file = snapshot::encode("keys", 0, &a);
                let (header, body) = snapshot::parse(path, &file).expect("parses");
                let back: KeySet = snapshot::decode(path, &header, body, &["keys"]).expect("decodes");
                assert_eq!(back, a);
            }
        }
        assert!(saw_large && saw_small_again, "the test did not cross SMALL both ways");
    }
}
