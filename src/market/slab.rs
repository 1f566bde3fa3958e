//! A slab of values (e.g. running sessions) addressed by a stable `u32`
//! slot; freed slots are reused. Plain data, so it is part of snapshots.

use serde::{Deserialize, Serialize};

/// Values in reusable slots.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Slab<T> {
    items: Vec<T>,
    live: Vec<bool>,
    free: Vec<u32>,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab { items: Vec::new(), live: Vec::new(), free: Vec::new() }
    }
}

impl<T> Slab<T> {
    /// Store `v` in a free slot; returns the slot.
    pub fn insert(&mut self, v: T) -> u32 {
        match self.free.pop() {
            Some(k) => {
                self.items[k as usize] = v;
                self.live[k as usize] = true;
                k
            }
            None => {
                self.items.push(v);
                self.live.push(true);
                u32::try_from(self.items.len() - 1).expect("fewer than 2^32 slots")
            }
        }
    }

    /// Free slot `k` (its value stays readable until the slot is reused).
    pub fn remove(&mut self, k: u32) {
        debug_assert!(self.live[k as usize], "slot {k} is not live");
        self.live[k as usize] = false;
        self.free.push(k);
    }

    /// Whether slot `k` holds a live value.
    #[inline]
    pub fn is_live(&self, k: u32) -> bool {
        self.live.get(k as usize).copied().unwrap_or(false)
    }

    /// Number of live values.
    pub fn len(&self) -> usize {
        self.items.len() - self.free.len()
    }

    /// True when no value is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drop everything.
    pub fn clear(&mut self) {
        self.items.clear();
        self.live.clear();
        self.free.clear();
    }

    /// Check a slab read from a snapshot: one liveness flag per slot, and
    /// the free list holds exactly the slots that are not live, once each.
    pub fn validate(&self) -> Result<(), String> {
        if self.items.len() != self.live.len() || self.items.len() > u32::MAX as usize {
            return Err(format!("slab has {} slots but {} liveness flags", self.items.len(), self.live.len()));
        }
        let mut free = vec![false; self.items.len()];
        for &k in &self.free {
            let f = free.get_mut(k as usize).ok_or_else(|| format!("free slot {k} of {}", self.items.len()))?;
            if std::mem::replace(f, true) {
                return Err(format!("slot {k} is on the free list twice"));
            }
        }
        match self.live.iter().zip(&free).position(|(&l, &f)| l == f) {
            Some(k) if self.live[k] => Err(format!("slot {k} is live and free")),
            Some(k) => Err(format!("slot {k} is neither live nor free")),
            None => Ok(()),
        }
    }

    /// Number of slots, live or not.
    pub fn slots(&self) -> usize {
        self.items.len()
    }

    /// The value in slot `k`, live or not (`None` past the end).
    pub fn get(&self, k: u32) -> Option<&T> {
        self.items.get(k as usize)
    }

    /// Live slots and their values, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &T)> + '_ {
        self.items.iter().enumerate().filter(|(k, _)| self.live[*k]).map(|(k, v)| (k as u32, v))
    }
}

impl<T> std::ops::Index<u32> for Slab<T> {
    type Output = T;
    #[inline]
    fn index(&self, k: u32) -> &T {
        &self.items[k as usize]
    }
}

impl<T> std::ops::IndexMut<u32> for Slab<T> {
    #[inline]
    fn index_mut(&mut self, k: u32) -> &mut T {
        &mut self.items[k as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_reused() {
        let mut s = Slab::default();
        let a = s.insert('a');
        let b = s.insert('b');
        s.remove(a);
        assert!(!s.is_live(a) && s.is_live(b));
        let c = s.insert('c');
        assert_eq!(c, a);
        assert_eq!(s[c], 'c');
        assert_eq!(s.len(), 2);
        assert_eq!(s.iter().map(|(_, v)| *v).collect::<String>(), "cb");
    }

    #[test]
    fn validate_refuses_corruption() {
        let mut s = Slab::default();
        for v in 0..5 {
            s.insert(v);
        }
        s.remove(1);
        s.remove(3);
        s.validate().unwrap();
        let mut c = s.clone();
        c.free.push(1);
        assert!(c.validate().is_err(), "free twice");
        let mut c = s.clone();
        c.free.pop();
        assert!(c.validate().is_err(), "dead but not free");
        let mut c = s.clone();
        c.live[1] = true;
        assert!(c.validate().is_err(), "live and free");
        let mut c = s.clone();
        c.live.pop();
        assert!(c.validate().is_err(), "flags");
        let mut c = s.clone();
        c.free.push(77);
        assert!(c.validate().is_err(), "out of range");
    }
}
