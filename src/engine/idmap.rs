//! Hash maps keyed by ids, for hot lookups whose iteration order is never
//! observed.
//!
//! [`IdMap`] is a `hashbrown` table with foldhash's [`FixedState`]: a fixed
//! seed, so the layout, and with it the iteration order, depends only on the
//! operations applied, never on the process. Even so, walk one in table order
//! only where the order cannot reach a result (an integer sum, a count);
//! where it could (a check that reports the first bad entry), walk
//! [`sorted_keys`]. A snapshot's table is rebuilt by inserting in key order,
//! so after a resume the table order is not the one the run had.
//!
//! Serialized, it is written in ascending key order through [`sorted_map`]
//! (`#[serde(with = "idmap::sorted_map")]`): the bytes are those of a
//! `BTreeMap` with the same contents, so a snapshot does not depend on the
//! table's layout, and snapshots written when the field was an ordered map
//! still load.
//!
//! ```
//! use omerta_sim::engine::idmap::{self, IdMap};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Book {
//!     #[serde(with = "idmap::sorted_map")]
//!     balances: IdMap<u32, i64>,
//! }
//!
//! let mut book = Book { balances: idmap::map() };
//! for id in [30, 10, 20] {
//!     book.balances.insert(id, 2 * i64::from(id));
//! }
//! assert_eq!(idmap::sorted_keys(&book.balances), [10, 20, 30]);
//! assert_eq!(serde_json::to_string(&book).unwrap(), r#"{"balances":{"10":20,"20":40,"30":60}}"#);
//! let back: Book = serde_json::from_str(r#"{"balances":{"30":60,"10":20}}"#).unwrap();
//! assert_eq!(idmap::sorted_keys(&back.balances), [10, 30]);
//! ```

use foldhash::fast::FixedState;

/// A hash map keyed by ids, with a fixed-seed hasher.
pub type IdMap<K, V> = hashbrown::HashMap<K, V, FixedState>;

/// An empty [`IdMap`].
pub fn map<K, V>() -> IdMap<K, V> {
    IdMap::with_hasher(FixedState::default())
}

/// The keys of `m` in ascending order (for checks and reports that must
/// not depend on the table's layout).
pub fn sorted_keys<K: Ord + Copy, V>(m: &IdMap<K, V>) -> Vec<K> {
    let mut k: Vec<K> = m.keys().copied().collect();
    k.sort_unstable();
    k
}

/// At most this many entries are reserved up front while decoding, whatever
/// length the input announces (the table grows past it as entries arrive).
const RESERVE_MAX: usize = 1 << 16;

/// `#[serde(with = "sorted_map")]` for an [`IdMap`]: entries in ascending
/// key order, as a `BTreeMap` writes them.
pub mod sorted_map {
    use super::{IdMap, RESERVE_MAX};
    use foldhash::fast::FixedState;
    use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
    use serde::ser::{Serialize, Serializer};
    use std::fmt;
    use std::hash::Hash;
    use std::marker::PhantomData;

    /// Write the entries in ascending key order.
    pub fn serialize<K, V, S>(m: &IdMap<K, V>, s: S) -> Result<S::Ok, S::Error>
    where
        K: Ord + Serialize,
        V: Serialize,
        S: Serializer,
    {
        let mut e: Vec<(&K, &V)> = m.iter().collect();
        e.sort_unstable_by(|a, b| a.0.cmp(b.0));
        s.collect_map(e)
    }

    /// Read a map (a repeated key keeps the last value, as a `BTreeMap`
    /// does).
    pub fn deserialize<'de, K, V, D>(d: D) -> Result<IdMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Eq + Hash,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        struct V_<K, V>(PhantomData<(K, V)>);
        impl<'de, K: Deserialize<'de> + Eq + Hash, V: Deserialize<'de>> Visitor<'de> for V_<K, V> {
            type Value = IdMap<K, V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                let n = a.size_hint().unwrap_or(0).min(RESERVE_MAX);
                let mut m = IdMap::with_capacity_and_hasher(n, FixedState::default());
                while let Some((k, v)) = a.next_entry()? {
                    m.insert(k, v);
                }
                Ok(m)
            }
        }
        d.deserialize_map(V_(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::snapshot::{decode, encode, parse, state_bytes as bytes};
    use std::collections::BTreeMap;
    use std::path::Path;

    /// `x` written as a snapshot body and read back as a `T`.
    fn round_trip<X: serde::Serialize, T: serde::de::DeserializeOwned>(x: &X) -> T {
        let snap = encode("t", 0, x);
        let (h, body) = parse(Path::new("t"), &snap).unwrap();
        decode(Path::new("t"), &h, body, &["t"]).unwrap()
    }

    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Hashed {
        #[serde(with = "sorted_map")]
        m: IdMap<(u32, u32), u32>,
    }

    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Ordered {
        m: BTreeMap<(u32, u32), u32>,
    }

    /// The sorted form is the ordered map's bytes, whatever the insertion
    /// order, and reads back into either.
    #[test]
    fn serialized_like_ordered_collections() {
        let keys: Vec<(u32, u32)> = (0..500u32).map(|i| (i.wrapping_mul(2_654_435_761) % 97, i % 13)).collect();
        let mut h = Hashed { m: map() };
        let mut h_rev = Hashed { m: map() };
        let mut o = Ordered { m: BTreeMap::new() };
        for (i, &k) in keys.iter().enumerate() {
            h.m.insert(k, i as u32);
            o.m.insert(k, i as u32);
        }
        // The same contents reached in another order.
        for (&k, &v) in o.m.iter().rev() {
            h_rev.m.insert(k, v);
        }
        assert_eq!(bytes(&h), bytes(&o));
        assert_eq!(bytes(&h_rev), bytes(&o));
        let back: Hashed = round_trip(&o);
        assert_eq!(back, h);
        let ord: Ordered = round_trip(&h);
        assert_eq!(ord, o);
        assert_eq!(sorted_keys(&h.m), o.m.keys().copied().collect::<Vec<_>>());
    }
}
