//! The two keyed orders of a match pass: idle providers and waiting
//! consumers. Nothing here is O(providers x consumers).
//!
//! A provider's completion estimate changes only when a session ends, that
//! is while it is *not* idle, and a tie key is fixed while an agent waits, so
//! keys never go stale while a member is in an order. That is why plain
//! ordered sets (`BTreeSet`, `BinaryHeap`) serve here rather than a queue
//! with `change_priority` (the `priority-queue` crate, tried for the idle
//! providers, measured slower: docs/performance.md, "Id-keyed maps and keyed
//! orders").

use crate::engine::idmap::{self, IdMap};
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

/// Sort key of a completion estimate in [0, 1]: ascending key = descending
/// estimate (non-negative floats order like their bits).
#[inline]
pub fn desc_key(x: f64) -> u64 {
    debug_assert!(x >= 0.0);
    u64::MAX - x.to_bits()
}

/// Inverse of [`desc_key`].
#[inline]
pub fn from_desc_key(k: u64) -> f64 {
    f64::from_bits(u64::MAX - k)
}

/// How idle providers are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum IdleMode {
    /// Ordered by (estimate descending, tie key, index): the best first.
    Ranked,
    /// Blocks of equal estimate, for uniform random choice within a block.
    Blocks,
}

/// Idle providers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IdleProviders {
    mode: IdleMode,
    ranked: BTreeSet<(u64, u64, u32)>,
    by_index: BTreeSet<u32>,
    blocks: BTreeMap<u64, Vec<u32>>,
    pos: Vec<u32>,
}

impl IdleProviders {
    /// An empty order for `n` providers.
    pub fn new(mode: IdleMode, n: usize) -> Self {
        IdleProviders {
            mode,
            ranked: BTreeSet::new(),
            by_index: BTreeSet::new(),
            blocks: BTreeMap::new(),
            pos: vec![u32::MAX; n],
        }
    }

    /// Remove everyone.
    pub fn clear(&mut self) {
        self.ranked.clear();
        self.by_index.clear();
        self.blocks.clear();
        self.pos.iter_mut().for_each(|p| *p = u32::MAX);
    }

    /// Number of idle providers.
    pub fn len(&self) -> usize {
        self.by_index.len()
    }

    /// True when nobody is idle.
    pub fn is_empty(&self) -> bool {
        self.by_index.is_empty()
    }

    /// Whether provider `i` is idle.
    pub fn contains(&self, i: u32) -> bool {
        self.by_index.contains(&i)
    }

    /// Add provider `i` with estimate `chat` and tie key `tie`.
    pub fn insert(&mut self, i: u32, chat: f64, tie: u64) {
        let k = desc_key(chat);
        let fresh = self.by_index.insert(i);
        debug_assert!(fresh, "provider {i} already idle");
        match self.mode {
            IdleMode::Ranked => {
                self.ranked.insert((k, tie, i));
            }
            IdleMode::Blocks => {
                let b = self.blocks.entry(k).or_default();
                self.pos[i as usize] = b.len() as u32;
                b.push(i);
            }
        }
    }

    /// Remove provider `i` (inserted with `chat` and `tie`).
    pub fn remove(&mut self, i: u32, chat: f64, tie: u64) {
        let k = desc_key(chat);
        let was = self.by_index.remove(&i);
        debug_assert!(was, "provider {i} was not idle");
        match self.mode {
            IdleMode::Ranked => {
                self.ranked.remove(&(k, tie, i));
            }
            IdleMode::Blocks => {
                let b = self.blocks.get_mut(&k).expect("block of an idle provider");
                let at = self.pos[i as usize] as usize;
                b.swap_remove(at);
                if at < b.len() {
                    self.pos[b[at] as usize] = at as u32;
                }
                if b.is_empty() {
                    self.blocks.remove(&k);
                }
                self.pos[i as usize] = u32::MAX;
            }
        }
    }

    /// The best idle provider (Ranked): highest estimate, then smallest tie
    /// key, then index. Returns (index, estimate).
    pub fn best(&self) -> Option<(u32, f64)> {
        match self.mode {
            IdleMode::Ranked => self.ranked.first().map(|&(k, _, i)| (i, from_desc_key(k))),
            IdleMode::Blocks => self.blocks.first_key_value().map(|(&k, b)| (b[0], from_desc_key(k))),
        }
    }

    /// The idle provider with the smallest index.
    pub fn lowest_index(&self) -> Option<u32> {
        self.by_index.first().copied()
    }

    /// Idle providers by index, ascending.
    pub fn indices(&self) -> impl Iterator<Item = u32> + '_ {
        self.by_index.iter().copied()
    }

    /// Blocks mode: (estimate, members) from the highest estimate down.
    pub fn blocks(&self) -> impl Iterator<Item = (f64, &[u32])> + '_ {
        self.blocks.iter().map(|(&k, b)| (from_desc_key(k), b.as_slice()))
    }

    /// Ranked mode: every idle provider, best first, as (index, estimate).
    pub fn ranked(&self) -> impl Iterator<Item = (u32, f64)> + '_ {
        self.ranked.iter().map(|&(k, _, i)| (i, from_desc_key(k)))
    }

    /// Check an order read from a snapshot, for `n` providers kept in
    /// `mode`: every member is a provider, listed once, under the keys it
    /// would be inserted with now (`key(i)` = its estimate in [0, 1] and tie
    /// key), with the positions of blocks mode right. Returns which
    /// providers are idle.
    pub fn validate(&self, mode: IdleMode, n: usize, key: impl Fn(u32) -> (f64, u64)) -> Result<Vec<bool>, String> {
        if self.mode != mode {
            return Err("idle providers are kept in another mode than the scenario's priority asks for".into());
        }
        if self.pos.len() != n {
            return Err(format!("idle order has {} positions for {n} providers", self.pos.len()));
        }
        let idle = crate::engine::check::distinct("idle provider", self.by_index.iter().copied(), n)?;
        let mut placed = vec![false; n];
        let mut place = |i: u32, k: u64, tie: Option<u64>| -> Result<(), String> {
            if !idle.get(i as usize).copied().unwrap_or(false) {
                return Err(format!("provider {i} is in the idle order but not idle"));
            }
            if std::mem::replace(&mut placed[i as usize], true) {
                return Err(format!("provider {i} is in the idle order twice"));
            }
            let (chat, t) = key(i);
            if !(0.0..=1.0).contains(&chat) || k != desc_key(chat) || tie.is_some_and(|x| x != t) {
                return Err(format!("idle provider {i} is kept under a stale key"));
            }
            Ok(())
        };
        match self.mode {
            IdleMode::Ranked => {
                if !self.blocks.is_empty() {
                    return Err("idle order in ranked mode holds blocks".into());
                }
                for &(k, tie, i) in &self.ranked {
                    place(i, k, Some(tie))?;
                }
            }
            IdleMode::Blocks => {
                if !self.ranked.is_empty() {
                    return Err("idle order in blocks mode holds a ranking".into());
                }
                for (&k, b) in &self.blocks {
                    if b.is_empty() {
                        return Err("idle order holds an empty block".into());
                    }
                    for (at, &i) in b.iter().enumerate() {
                        place(i, k, None)?;
                        if self.pos[i as usize] as usize != at {
                            return Err(format!(
                                "idle provider {i} records position {} in its block, not {at}",
                                self.pos[i as usize]
                            ));
                        }
                    }
                }
            }
        }
        for i in 0..n {
            if idle[i] && !placed[i] {
                return Err(format!("provider {i} is idle but missing from the idle order"));
            }
            if !idle[i] && self.pos[i] != u32::MAX {
                return Err(format!("provider {i} is not idle but records a block position"));
            }
        }
        Ok(idle)
    }
}

/// Waiting consumers of one bid class: same group and same remaining work,
/// hence the same bid for any provider.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Class {
    /// Consumer group.
    pub group: u16,
    /// Remaining work, as an exact key (ticks, or f64 bits in tick mode).
    pub work_key: u64,
    /// Remaining work in hours.
    pub work: f64,
    heap: BinaryHeap<Reverse<(u64, u32)>>,
}

impl Class {
    /// The member with the smallest key: (key, consumer).
    #[inline]
    pub fn head(&self) -> Option<(u64, u32)> {
        self.heap.peek().map(|r| r.0)
    }
    /// Number of members.
    pub fn len(&self) -> usize {
        self.heap.len()
    }
    /// True when no one waits in this class.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

/// Waiting consumers, partitioned into bid classes; within a class ordered
/// by a key (tie key, list index or queue sequence number).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct WaitingConsumers {
    classes: Vec<Class>,
    /// (group, work key) -> class. Looked up, never walked.
    #[serde(with = "idmap::sorted_map")]
    lookup: IdMap<(u16, u64), u32>,
    active: Vec<u32>,
    active_pos: Vec<u32>,
    len: usize,
}

impl WaitingConsumers {
    /// Remove everyone (classes are kept for reuse).
    pub fn clear(&mut self) {
        for c in &mut self.classes {
            c.heap.clear();
        }
        self.active.clear();
        self.active_pos.iter_mut().for_each(|p| *p = u32::MAX);
        self.len = 0;
    }

    /// Number of waiting consumers.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nobody waits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Add `consumer` of `group` with remaining work (`work_key`, `work` h),
    /// ordered by `key` within its class. Returns the class id.
    pub fn push(&mut self, group: u16, work_key: u64, work: f64, key: u64, consumer: u32) -> u32 {
        let c = match self.lookup.get(&(group, work_key)) {
            Some(&c) => c,
            None => {
                let c = self.classes.len() as u32;
                self.classes.push(Class { group, work_key, work, heap: BinaryHeap::new() });
                self.active_pos.push(u32::MAX);
                self.lookup.insert((group, work_key), c);
                c
            }
        };
        let class = &mut self.classes[c as usize];
        class.heap.push(Reverse((key, consumer)));
        if self.active_pos[c as usize] == u32::MAX {
            self.active_pos[c as usize] = self.active.len() as u32;
            self.active.push(c);
        }
        self.len += 1;
        c
    }

    /// Remove and return the head of class `c`: (key, consumer).
    pub fn pop(&mut self, c: u32) -> Option<(u64, u32)> {
        let class = &mut self.classes[c as usize];
        let Reverse(head) = class.heap.pop()?;
        self.len -= 1;
        if class.heap.is_empty() {
            let at = self.active_pos[c as usize] as usize;
            self.active.swap_remove(at);
            if at < self.active.len() {
                self.active_pos[self.active[at] as usize] = at as u32;
            }
            self.active_pos[c as usize] = u32::MAX;
        }
        Some(head)
    }

    /// Class `c`.
    #[inline]
    pub fn class(&self, c: u32) -> &Class {
        &self.classes[c as usize]
    }

    /// Ids of the non-empty classes (in no particular order).
    #[inline]
    pub fn active(&self) -> &[u32] {
        &self.active
    }

    /// Check an order read from a snapshot, for `n` consumers: the class
    /// lookup, the list of non-empty classes and its positions, the count,
    /// and every member a consumer listed once; `member(class, key,
    /// consumer)` checks each membership against the model. Returns which
    /// consumers wait.
    pub fn validate(
        &self,
        n: usize,
        mut member: impl FnMut(&Class, u64, u32) -> Result<(), String>,
    ) -> Result<Vec<bool>, String> {
        let m = self.classes.len();
        if self.active_pos.len() != m || self.lookup.len() != m || m > u32::MAX as usize {
            return Err(format!(
                "waiting order has {m} classes, {} positions and {} lookup entries",
                self.active_pos.len(),
                self.lookup.len()
            ));
        }
        for (c, class) in self.classes.iter().enumerate() {
            if self.lookup.get(&(class.group, class.work_key)) != Some(&(c as u32)) {
                return Err(format!("waiting class {c} is not found under its own key"));
            }
        }
        let active = crate::engine::check::distinct("active waiting class", self.active.iter().copied(), m)?;
        for (at, &c) in self.active.iter().enumerate() {
            if self.active_pos[c as usize] as usize != at {
                return Err(format!("waiting class {c} records position {}, not {at}", self.active_pos[c as usize]));
            }
        }
        let mut waits = vec![false; n];
        let mut total = 0usize;
        for (c, class) in self.classes.iter().enumerate() {
            if active[c] == class.heap.is_empty() || (!active[c] && self.active_pos[c] != u32::MAX) {
                return Err(format!(
                    "waiting class {c} is listed as active: {}, holds {}",
                    active[c],
                    class.heap.len()
                ));
            }
            for r in class.heap.iter() {
                let (key, j) = r.0;
                let w = waits.get_mut(j as usize).ok_or_else(|| format!("waiting consumer {j} of {n}"))?;
                if std::mem::replace(w, true) {
                    return Err(format!("consumer {j} waits twice"));
                }
                member(class, key, j)?;
                total += 1;
            }
        }
        if total != self.len {
            return Err(format!("waiting order counts {} consumers but holds {total}", self.len));
        }
        Ok(waits)
    }

    /// Every waiting consumer with its class and key (for checks and
    /// inspection; not for the event loop).
    pub fn members(&self) -> Vec<(u32, u64, u32)> {
        let mut v = Vec::with_capacity(self.len);
        for &c in &self.active {
            for r in self.classes[c as usize].heap.iter() {
                v.push((c, r.0.0, r.0.1));
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranked_idle_order() {
        let mut s = IdleProviders::new(IdleMode::Ranked, 5);
        s.insert(0, 0.5, 9);
        s.insert(1, 1.0, 7);
        s.insert(2, 1.0, 3);
        s.insert(3, 0.9, 1);
        assert_eq!(s.best(), Some((2, 1.0)));
        s.remove(2, 1.0, 3);
        assert_eq!(s.best(), Some((1, 1.0)));
        s.remove(1, 1.0, 7);
        assert_eq!(s.best(), Some((3, 0.9)));
        assert_eq!(s.lowest_index(), Some(0));
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn blocks_keep_positions() {
        let mut s = IdleProviders::new(IdleMode::Blocks, 6);
        for i in 0..6 {
            s.insert(i, if i % 2 == 0 { 1.0 } else { 0.8 }, 0);
        }
        s.remove(0, 1.0, 0);
        s.remove(4, 1.0, 0);
        let blocks: Vec<(f64, Vec<u32>)> = s.blocks().map(|(c, b)| (c, b.to_vec())).collect();
        assert_eq!(blocks, vec![(1.0, vec![2]), (0.8, vec![1, 3, 5])]);
        s.remove(2, 1.0, 0);
        assert_eq!(s.best(), Some((1, 0.8)));
        s.insert(2, 1.0, 0);
        assert_eq!(s.best(), Some((2, 1.0)));
    }

    #[test]
    fn waiting_classes() {
        let mut w = WaitingConsumers::default();
        let a = w.push(0, 100, 2.0, 5, 10);
        let b = w.push(1, 100, 2.0, 1, 11);
        let a2 = w.push(0, 100, 2.0, 2, 12);
        assert_eq!(a, a2);
        assert_ne!(a, b);
        assert_eq!(w.len(), 3);
        assert_eq!(w.class(a).head(), Some((2, 12)));
        assert_eq!(w.pop(a), Some((2, 12)));
        assert_eq!(w.pop(a), Some((5, 10)));
        assert_eq!(w.active(), &[b]);
        assert_eq!(w.pop(a), None);
        w.push(0, 100, 2.0, 3, 13);
        assert_eq!(w.active().len(), 2);
        w.clear();
        assert!(w.is_empty() && w.active().is_empty());
    }

    #[test]
    fn validate_refuses_stale_or_misplaced_members() {
        let chat = |i: u32| (if i.is_multiple_of(2) { 1.0 } else { 0.5 }, u64::from(i) * 3);
        for mode in [IdleMode::Ranked, IdleMode::Blocks] {
            let mut s = IdleProviders::new(mode, 6);
            for i in [0, 1, 2, 4, 5] {
                let (c, t) = chat(i);
                s.insert(i, c, t);
            }
            let (c, t) = chat(2);
            s.remove(2, c, t);
            let idle = s.validate(mode, 6, chat).unwrap();
            assert_eq!(idle, vec![true, true, false, false, true, true]);
            assert!(s.validate(mode, 7, chat).is_err(), "{mode:?}: size");
            assert!(s.validate(mode, 6, |i| (chat(i).0 * 0.9, chat(i).1)).is_err(), "{mode:?}: stale estimate");
            let other = if mode == IdleMode::Ranked { IdleMode::Blocks } else { IdleMode::Ranked };
            assert!(s.validate(other, 6, chat).is_err(), "{mode:?}: mode");
            let mut c = s.clone();
            c.by_index.insert(3);
            assert!(c.validate(mode, 6, chat).is_err(), "{mode:?}: idle but unlisted");
            let mut c = s.clone();
            c.by_index.insert(9);
            assert!(c.validate(mode, 6, chat).is_err(), "{mode:?}: out of range");
            if mode == IdleMode::Blocks {
                let mut c = s.clone();
                c.pos[0] = 3;
                assert!(c.validate(mode, 6, chat).is_err(), "blocks: position");
            } else {
                assert!(s.validate(mode, 6, |i| (chat(i).0, 1)).is_err(), "ranked: stale tie");
            }
        }
        let mut w = WaitingConsumers::default();
        w.push(0, 100, 2.0, 5, 1);
        w.push(1, 100, 2.0, 1, 3);
        w.push(0, 100, 2.0, 2, 0);
        let waits = w.validate(4, |_, _, _| Ok(())).unwrap();
        assert_eq!(waits, vec![true, true, false, true]);
        assert!(w.validate(2, |_, _, _| Ok(())).is_err(), "consumer out of range");
        assert!(w.validate(4, |_, _, j| if j == 3 { Err("no".into()) } else { Ok(()) }).is_err());
        let mut c = w.clone();
        c.len += 1;
        assert!(c.validate(4, |_, _, _| Ok(())).is_err(), "count");
        let mut c = w.clone();
        c.classes[0].heap.push(Reverse((9, 3)));
        assert!(c.validate(4, |_, _, _| Ok(())).is_err(), "twice");
        let mut c = w.clone();
        c.active_pos[0] = 1;
        assert!(c.validate(4, |_, _, _| Ok(())).is_err(), "position");
        let mut c = w.clone();
        c.lookup.insert((0, 100), 1);
        assert!(c.validate(4, |_, _, _| Ok(())).is_err(), "lookup");
    }
}
