//! The event queue: (time, sequence number) order, first-in-first-out among
//! equal times, O(1) lazy cancellation.
//!
//! A radix heap on event time. Times only grow: nothing is scheduled before
//! the event being handled, which is all a radix heap needs. Times are read
//! as base-256 numbers: an entry's bucket is the highest digit in which its
//! time differs from `last` (the time of the last event taken out) and its
//! value there, so 8 digits x 256 values. Bucket 0 holds the entries at time
//! `last`, in sequence order. Popping takes the front of bucket 0, or first
//! redistributes the lowest non-empty bucket (found through a two-level
//! bitmap) around its minimum time (kept per bucket, so no extra pass). An
//! entry moves down at most 8 times, usually once or twice, through short,
//! dense vectors: no log(n) walk through a heap that does not fit in cache.
//! The sequence number is saved verbatim in snapshots, so same-time events
//! keep their scheduling order across snapshot and resume.
//!
//! Events live in a slab; the buckets hold small `(time, seq, slot)`
//! entries. Cancelling an event empties its slot, so its entry becomes stale
//! and is skipped when it reaches bucket 0.
//!
//! Why this and not the `priority-queue` crate or a `BinaryHeap`:
//! `benches/queue.rs` runs the hold model on all three at 1k, 100k and 1M
//! pending events; the figures are in docs/performance.md.

use super::time::SimTime;
use serde::{Deserialize, Serialize};

/// Handle of a scheduled event, used to cancel it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EventId {
    slot: u32,
    seq: u64,
}

impl EventId {
    /// The event's sequence number (its scheduling order).
    pub fn seq(self) -> u64 {
        self.seq
    }

    /// An id with the given parts, for tests of validation.
    #[cfg(test)]
    pub(crate) fn forged(slot: u32, seq: u64) -> EventId {
        EventId { slot, seq }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    time: u64,
    seq: u64,
    slot: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Slot<E> {
    seq: u64,
    event: Option<E>,
}

/// A scheduled event taken from the queue.
#[derive(Clone, Debug, PartialEq)]
pub struct Popped<E> {
    /// When it fires.
    pub time: SimTime,
    /// Its scheduling sequence number.
    pub seq: u64,
    /// The event.
    pub event: E,
}

/// Times are read as base-2^DIGIT_BITS numbers: an entry's bucket is the
/// highest digit in which it differs from `last`, and that digit's value.
const DIGIT_BITS: u32 = 8;
const DIGITS: usize = 64usize.div_ceil(DIGIT_BITS as usize);
const RADIX: usize = 1 << DIGIT_BITS;
/// Number of buckets: index 0 is unused (see `zero`), then RADIX per digit.
const BUCKETS: usize = DIGITS * RADIX + 1;
/// Words of the non-empty mask (at most 64, for the one-word summary).
const MASK_WORDS: usize = BUCKETS.div_ceil(64);
const _: () = assert!(MASK_WORDS <= 64);

/// Event queue with (time, seq) order and lazy cancellation.
///
/// ```
/// use omerta_sim::engine::{EventQueue, SimTime};
///
/// let mut q = EventQueue::new();
/// q.push(SimTime(5), "late");
/// q.push(SimTime(2), "first at 2");
/// let gone = q.push(SimTime(3), "cancelled");
/// q.push(SimTime(2), "second at 2");
/// assert_eq!(q.cancel(gone), Some("cancelled"));
/// assert_eq!(q.cancel(gone), None);
/// assert_eq!(q.len(), 3);
/// assert_eq!(q.peek_time(), Some(SimTime(2)));
/// // Time order; equal times in the order they were scheduled.
/// let order: Vec<(u64, &str)> = std::iter::from_fn(|| q.pop()).map(|p| (p.time.ticks(), p.event)).collect();
/// assert_eq!(order, [(2, "first at 2"), (2, "second at 2"), (5, "late")]);
/// assert!(q.is_empty());
/// ```
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EventQueue<E> {
    /// Bucket 0: entries at time `last`, in sequence order; the live part
    /// starts at `head`.
    zero: Vec<Entry>,
    head: usize,
    /// Bucket `i` (1..=64): entries whose highest time bit differing from
    /// `last` is bit `i - 1`. Index 0 is unused.
    buckets: Vec<Vec<Entry>>,
    /// Smallest time in each bucket (0 when the bucket is empty, which keeps
    /// snapshots small).
    mins: Vec<u64>,
    /// Bit `i` set when bucket `i` is non-empty.
    mask: Vec<u64>,
    /// Bit `w` set when word `w` of `mask` is non-zero.
    summary: u64,
    /// The time of bucket 0: the last time taken out, or found as the
    /// minimum by a peek.
    last: u64,
    /// Time of the last event taken out: nothing may be pushed before it.
    now: u64,
    slots: Vec<Slot<E>>,
    free: Vec<u32>,
    next_seq: u64,
    #[serde(skip)]
    scratch: Vec<Entry>,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty queue with room for `n` pending events.
    pub fn with_capacity(n: usize) -> Self {
        EventQueue {
            zero: Vec::new(),
            head: 0,
            buckets: (0..BUCKETS).map(|_| Vec::new()).collect(),
            mins: vec![0; BUCKETS],
            mask: vec![0; MASK_WORDS],
            summary: 0,
            last: 0,
            now: 0,
            slots: Vec::with_capacity(n),
            free: Vec::new(),
            next_seq: 0,
            scratch: Vec::new(),
        }
    }

    /// The bucket of a time greater than `last`: the highest base-256 digit
    /// in which it differs from `last`, and its value there. Redistributing
    /// bucket (d, v) around its minimum leaves every other bucket right: a
    /// time in (d, v') still differs from the new `last` first in digit d.
    #[inline]
    fn bucket_of(last: u64, time: u64) -> usize {
        let d = (63 - (time ^ last).leading_zeros()) / DIGIT_BITS;
        let v = (time >> (d * DIGIT_BITS)) as usize & (RADIX - 1);
        1 + d as usize * RADIX + v
    }

    /// Put an entry with `time > last` into its bucket.
    #[inline(always)]
    fn put(&mut self, e: Entry) {
        let i = Self::bucket_of(self.last, e.time);
        let (w, bit) = (i / 64, 1u64 << (i % 64));
        if self.mask[w] & bit == 0 || e.time < self.mins[i] {
            self.mins[i] = e.time;
        }
        self.mask[w] |= bit;
        self.summary |= 1 << w;
        self.buckets[i].push(e);
    }

    /// The lowest non-empty bucket, if any.
    #[inline]
    fn lowest(&self) -> Option<usize> {
        if self.summary == 0 {
            return None;
        }
        let w = self.summary.trailing_zeros() as usize;
        Some(w * 64 + self.mask[w].trailing_zeros() as usize)
    }

    /// Schedule `event` at `time`. Events at equal times fire in the order
    /// they were scheduled. Time must not go back: a time before the last
    /// event taken out is a caller bug, and such an event is moved to that
    /// time (in debug builds it panics).
    #[inline(always)]
    pub fn push(&mut self, time: SimTime, event: E) -> EventId {
        let seq = self.next_seq;
        self.next_seq += 1;
        debug_assert!(time.0 >= self.now, "event pushed before the last event taken out");
        let time = time.0.max(self.now);
        let slot = match self.free.pop() {
            Some(s) => {
                let sl = &mut self.slots[s as usize];
                sl.seq = seq;
                sl.event = Some(event);
                s
            }
            None => {
                let s = u32::try_from(self.slots.len()).expect("more than 2^32 pending events");
                self.slots.push(Slot { seq, event: Some(event) });
                s
            }
        };
        let e = Entry { time, seq, slot };
        if self.summary == 0 && self.head == self.zero.len() {
            // The queue holds no entry at all (a model that keeps one event
            // pending, e.g. its next tick): this one is the minimum, so it
            // is bucket 0 by itself, with no redistribution when it is taken.
            self.zero.clear();
            self.head = 0;
            self.last = time;
            self.zero.push(e);
        } else if time == self.last {
            // The newest sequence number: last in its time.
            self.zero.push(e);
        } else if time > self.last {
            self.put(e);
        } else {
            // Only after a peek found a later minimum: rebase every entry.
            self.rebase(e);
        }
        EventId { slot, seq }
    }

    /// Re-bucket every entry around the new, smaller time of `e`.
    #[cold]
    fn rebase(&mut self, e: Entry) {
        let mut all: Vec<Entry> = self.zero.drain(self.head..).collect();
        self.zero.clear();
        self.head = 0;
        for b in &mut self.buckets {
            all.append(b);
        }
        self.mask.iter_mut().for_each(|m| *m = 0);
        self.mins.iter_mut().for_each(|m| *m = 0);
        self.summary = 0;
        self.last = e.time;
        self.zero.push(e);
        for x in all {
            self.put(x);
        }
    }

    /// Make bucket 0 hold the earliest entries, if any entry is left.
    /// Returns false when the queue holds no entry at all.
    #[inline]
    fn settle(&mut self) -> bool {
        if self.head < self.zero.len() {
            return true;
        }
        self.zero.clear();
        self.head = 0;
        let Some(i) = self.lowest() else { return false };
        let w = i / 64;
        self.mask[w] &= !(1u64 << (i % 64));
        if self.mask[w] == 0 {
            self.summary &= !(1 << w);
        }
        self.last = std::mem::take(&mut self.mins[i]);
        let mut b = std::mem::take(&mut self.buckets[i]);
        if b.len() == 1 {
            self.zero.push(b[0]);
            b.clear();
        } else {
            let last = self.last;
            let mut ties = std::mem::take(&mut self.scratch);
            for e in b.drain(..) {
                if e.time == last {
                    ties.push(e);
                } else {
                    self.put(e);
                }
            }
            // Entries reach a bucket out of sequence order; restore it.
            ties.sort_unstable_by_key(|e| e.seq);
            self.zero.append(&mut ties);
            self.scratch = ties;
        }
        self.buckets[i] = b;
        true
    }

    /// Remove and return the earliest live event.
    #[inline]
    pub fn pop(&mut self) -> Option<Popped<E>> {
        while self.settle() {
            let e = self.zero[self.head];
            self.head += 1;
            let slot = &mut self.slots[e.slot as usize];
            if slot.seq == e.seq
                && let Some(event) = slot.event.take()
            {
                self.free.push(e.slot);
                self.now = e.time;
                return Some(Popped { time: SimTime(e.time), seq: e.seq, event });
            }
        }
        None
    }

    /// Time of the earliest live event, dropping stale entries on the way.
    #[inline]
    pub fn peek_time(&mut self) -> Option<SimTime> {
        while self.settle() {
            let e = self.zero[self.head];
            let slot = &self.slots[e.slot as usize];
            if slot.seq == e.seq && slot.event.is_some() {
                return Some(SimTime(e.time));
            }
            self.head += 1;
        }
        None
    }

    /// Cancel a pending event. Returns the event if it was still pending,
    /// `None` if it already fired or was cancelled.
    #[inline]
    pub fn cancel(&mut self, id: EventId) -> Option<E> {
        let slot = self.slots.get_mut(id.slot as usize)?;
        if slot.seq != id.seq {
            return None;
        }
        let ev = slot.event.take()?;
        self.free.push(id.slot);
        Some(ev)
    }

    /// Whether `id` is still pending.
    pub fn is_pending(&self, id: EventId) -> bool {
        self.slots.get(id.slot as usize).is_some_and(|s| s.seq == id.seq && s.event.is_some())
    }

    /// Number of live (not cancelled, not fired) events.
    #[inline]
    pub fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// True when no live event is pending.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entries held, live and stale (cancelled events not yet skipped).
    pub fn entries(&self) -> usize {
        self.zero.len() - self.head + self.buckets.iter().map(Vec::len).sum::<usize>()
    }

    /// The sequence number the next scheduled event will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Live events in firing order (for inspection; O(n log n)).
    pub fn pending(&self) -> Vec<(SimTime, u64, &E)> {
        let mut v: Vec<(SimTime, u64, &E)> = self.zero[self.head..]
            .iter()
            .chain(self.buckets.iter().flatten())
            .filter_map(|e| {
                let s = &self.slots[e.slot as usize];
                match (&s.event, s.seq == e.seq) {
                    (Some(ev), true) => Some((SimTime(e.time), e.seq, ev)),
                    _ => None,
                }
            })
            .collect();
        v.sort_by_key(|&(t, s, _)| (t, s));
        v
    }
}

impl<E> EventQueue<E> {
    /// The next live event (time, sequence number, event), without taking
    /// it out; drops stale entries on the way, as [`EventQueue::peek_time`].
    pub fn peek(&mut self) -> Option<(SimTime, u64, &E)> {
        self.peek_time()?;
        let e = self.zero[self.head];
        let ev = self.slots[e.slot as usize].event.as_ref()?;
        Some((SimTime(e.time), e.seq, ev))
    }

    /// The first `n` live events in firing order (for inspection: O(m) for
    /// m pending events, plus O(n log n)).
    pub fn pending_first(&self, n: usize) -> Vec<(SimTime, u64, &E)> {
        let mut v: Vec<(SimTime, u64, &E)> = self.zero[self.head.min(self.zero.len())..]
            .iter()
            .chain(self.buckets.iter().flatten())
            .filter_map(|e| {
                let s = self.slots.get(e.slot as usize)?;
                match (&s.event, s.seq == e.seq) {
                    (Some(ev), true) => Some((SimTime(e.time), e.seq, ev)),
                    _ => None,
                }
            })
            .collect();
        if n < v.len() {
            if n == 0 {
                return Vec::new();
            }
            v.select_nth_unstable_by_key(n - 1, |&(t, s, _)| (t, s));
            v.truncate(n);
        }
        v.sort_by_key(|&(t, s, _)| (t, s));
        v
    }
}

impl<E> EventQueue<E> {
    /// Live events in firing order with their ids (for validation and
    /// inspection; O(n log n)).
    pub fn pending_ids(&self) -> Vec<(SimTime, EventId, &E)> {
        let mut v: Vec<(SimTime, EventId, &E)> = self.zero[self.head.min(self.zero.len())..]
            .iter()
            .chain(self.buckets.iter().flatten())
            .filter_map(|e| {
                let s = self.slots.get(e.slot as usize)?;
                match (&s.event, s.seq == e.seq) {
                    (Some(ev), true) => Some((SimTime(e.time), EventId { slot: e.slot, seq: e.seq }, ev)),
                    _ => None,
                }
            })
            .collect();
        v.sort_by_key(|&(t, id, _)| (t, id.seq));
        v
    }

    /// Time of the last event taken out (nothing may be scheduled before it).
    pub fn now(&self) -> SimTime {
        SimTime(self.now)
    }

    /// Check the queue's internal consistency (a queue read from a snapshot,
    /// before it is used): the bucket vectors have their fixed sizes, every
    /// entry sits in the bucket its time belongs to, the minima, masks and
    /// summary agree with the buckets, bucket 0 holds entries at time `last`
    /// in sequence order, every entry's slot exists, every live slot has
    /// exactly one live entry and every other slot is on the free list
    /// (once), sequence numbers are unique and below `next_seq`, and no
    /// pending event is before `now`. Anything that passes can be popped,
    /// peeked and cancelled without an index out of range.
    pub fn validate(&self) -> Result<(), String> {
        if self.buckets.len() != BUCKETS || self.mins.len() != BUCKETS || self.mask.len() != MASK_WORDS {
            return Err(format!(
                "event queue has {} buckets, {} minima and {} mask words (expected {BUCKETS}, {BUCKETS}, {MASK_WORDS})",
                self.buckets.len(),
                self.mins.len(),
                self.mask.len()
            ));
        }
        if self.head > self.zero.len() {
            return Err(format!("event queue head {} is past bucket 0 ({} entries)", self.head, self.zero.len()));
        }
        if self.last < self.now {
            return Err(format!("event queue bucket time {} is before the current time {}", self.last, self.now));
        }
        if self.slots.len() > u32::MAX as usize {
            return Err("event queue has more than 2^32 slots".into());
        }
        let n = self.slots.len();
        // Live entries per slot (0, 1, or 2 = more than one).
        let mut live = vec![0u8; n];
        let mut seqs: Vec<u64> = Vec::new();
        let mut check = |e: &Entry, live: &mut Vec<u8>| -> Result<(), String> {
            let s = self
                .slots
                .get(e.slot as usize)
                .ok_or_else(|| format!("an event queue entry refers to slot {} of {n}", e.slot))?;
            if e.seq >= self.next_seq {
                return Err(format!(
                    "an event queue entry has sequence number {} >= the next one {}",
                    e.seq, self.next_seq
                ));
            }
            if s.seq == e.seq && s.event.is_some() {
                let c = &mut live[e.slot as usize];
                *c = c.saturating_add(1);
                seqs.push(e.seq);
            }
            Ok(())
        };
        let mut prev: Option<u64> = None;
        for e in &self.zero[self.head..] {
            if e.time != self.last {
                return Err(format!(
                    "an entry of bucket 0 is at time {}, not at the bucket's time {}",
                    e.time, self.last
                ));
            }
            if prev.is_some_and(|p| p >= e.seq) {
                return Err("bucket 0 of the event queue is not in sequence order".into());
            }
            prev = Some(e.seq);
            check(e, &mut live)?;
        }
        if !self.buckets[0].is_empty() || self.mask[0] & 1 != 0 {
            return Err("event queue bucket index 0 is in use".into());
        }
        let mut summary = 0u64;
        for (i, b) in self.buckets.iter().enumerate().skip(1) {
            let (w, bit) = (i / 64, 1u64 << (i % 64));
            let marked = self.mask[w] & bit != 0;
            if marked == b.is_empty() {
                return Err(format!("event queue bucket {i} has {} entries but its mask bit is {marked}", b.len()));
            }
            if b.is_empty() {
                continue;
            }
            summary |= 1 << w;
            let mut min = u64::MAX;
            for e in b {
                if e.time <= self.last || Self::bucket_of(self.last, e.time) != i {
                    return Err(format!("an event queue entry at time {} is in bucket {i}, not its own", e.time));
                }
                min = min.min(e.time);
                check(e, &mut live)?;
            }
            if self.mins[i] != min {
                return Err(format!("event queue bucket {i} records minimum {} but holds {min}", self.mins[i]));
            }
        }
        if summary != self.summary {
            return Err("event queue summary word does not match its masks".into());
        }
        let mut free = vec![false; n];
        for &f in &self.free {
            let slot = self.slots.get(f as usize).ok_or_else(|| format!("event queue free slot {f} of {n}"))?;
            if std::mem::replace(&mut free[f as usize], true) {
                return Err(format!("event queue slot {f} is on the free list twice"));
            }
            if slot.event.is_some() {
                return Err(format!("event queue slot {f} is free but holds an event"));
            }
        }
        for (k, s) in self.slots.iter().enumerate() {
            match (&s.event, live[k]) {
                (Some(_), 1) if s.seq < self.next_seq => {}
                (Some(_), 1) => {
                    return Err(format!("event in slot {k} has sequence number {} >= the next one", s.seq));
                }
                (Some(_), 0) => return Err(format!("event in slot {k} has no queue entry: it would never fire")),
                (Some(_), _) => return Err(format!("event in slot {k} has several queue entries")),
                (None, _) if !free[k] => return Err(format!("event queue slot {k} is empty but not free")),
                (None, _) => {}
            }
        }
        seqs.sort_unstable();
        if seqs.windows(2).any(|w| w[0] == w[1]) {
            return Err("two pending events share a sequence number".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_among_equal_times() {
        let mut q = EventQueue::new();
        q.push(SimTime(5), 'a');
        q.push(SimTime(3), 'b');
        q.push(SimTime(5), 'c');
        q.push(SimTime(3), 'd');
        q.push(SimTime(5), 'e');
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|p| p.event)).collect();
        assert_eq!(order, vec!['b', 'd', 'a', 'c', 'e']);
    }

    #[test]
    fn cancel_and_reuse() {
        let mut q = EventQueue::new();
        let a = q.push(SimTime(1), 1);
        let b = q.push(SimTime(2), 2);
        assert_eq!(q.len(), 2);
        assert_eq!(q.cancel(a), Some(1));
        assert_eq!(q.cancel(a), None);
        assert_eq!(q.len(), 1);
        // The freed slot is reused; the stale id must not cancel the new event.
        let c = q.push(SimTime(0), 3);
        assert_eq!(q.cancel(a), None);
        assert!(q.is_pending(c));
        assert_eq!(q.peek_time(), Some(SimTime(0)));
        assert_eq!(q.pop().unwrap().event, 3);
        assert_eq!(q.pop().unwrap().event, 2);
        assert!(q.pop().is_none());
        assert!(!q.is_pending(b));
        assert_eq!(q.cancel(b), None);
    }

    #[test]
    fn peek_and_pending_first_follow_firing_order() {
        let mut q = EventQueue::new();
        let ids: Vec<EventId> = (0..50u64).map(|k| q.push(SimTime(k * 37 % 11 + 5), k)).collect();
        q.cancel(ids[3]);
        q.cancel(ids[14]);
        let all: Vec<(SimTime, u64, u64)> = q.pending().into_iter().map(|(t, s, e)| (t, s, *e)).collect();
        for n in [0, 1, 7, 48, 100] {
            let first: Vec<(SimTime, u64, u64)> = q.pending_first(n).into_iter().map(|(t, s, e)| (t, s, *e)).collect();
            assert_eq!(first, all[..n.min(all.len())], "n = {n}");
        }
        let mut popped = Vec::new();
        while let Some((t, s, e)) = q.peek().map(|(t, s, e)| (t, s, *e)) {
            let p = q.pop().unwrap();
            assert_eq!((t, s, e), (p.time, p.seq, p.event));
            popped.push((t, s, e));
        }
        assert_eq!(popped, all);
    }

    /// A queue after some pushes, pops and cancels validates; each kind of
    /// corruption a snapshot could carry is refused.
    #[test]
    fn validate_refuses_corruption() {
        let mut q = EventQueue::new();
        let ids: Vec<EventId> = (0..40u64).map(|t| q.push(SimTime(t * 7 % 23 + 300), t)).collect();
        for _ in 0..5 {
            q.pop();
        }
        q.cancel(ids[20]);
        q.push(SimTime(1 << 20), 99);
        q.validate().unwrap();
        // A live entry in a bucket: (bucket, position).
        let live = |c: &EventQueue<u64>| -> (usize, usize) {
            for (i, b) in c.buckets.iter().enumerate() {
                for (j, e) in b.iter().enumerate() {
                    let s = &c.slots[e.slot as usize];
                    if s.seq == e.seq && s.event.is_some() {
                        return (i, j);
                    }
                }
            }
            unreachable!("the queue holds live entries in buckets")
        };
        type Corruption = (&'static str, Box<dyn Fn(&mut EventQueue<u64>)>);
        let corruptions: Vec<Corruption> = vec![
            ("head", Box::new(|c| c.head = c.zero.len() + 1)),
            ("buckets", Box::new(|c| drop(c.buckets.pop()))),
            ("free twice", Box::new(|c| c.free.push(c.free[0]))),
            ("free out of range", Box::new(|c| c.free.push(c.slots.len() as u32))),
            ("next seq", Box::new(|c| c.next_seq = 3)),
            ("last before now", Box::new(|c| c.last = c.now - 1)),
            ("summary", Box::new(|c| c.summary ^= 1 << 3)),
            (
                "minimum",
                Box::new(move |c| {
                    let (i, _) = live(c);
                    c.mins[i] += 1;
                }),
            ),
            (
                "slot out of range",
                Box::new(move |c| {
                    let (i, j) = live(c);
                    c.buckets[i][j].slot = 9999;
                }),
            ),
            (
                "live event without entry",
                Box::new(move |c| {
                    let (i, j) = live(c);
                    c.buckets[i].remove(j);
                    if c.buckets[i].is_empty() {
                        c.mask[i / 64] &= !(1 << (i % 64));
                    }
                }),
            ),
            (
                "wrong bucket",
                Box::new(move |c| {
                    let (i, j) = live(c);
                    let e = c.buckets[i].remove(j);
                    let k = if i + 1 < BUCKETS { i + 1 } else { i - 1 };
                    c.buckets[k].push(e);
                    c.mask[k / 64] |= 1 << (k % 64);
                    c.summary |= 1 << (k / 64);
                    c.mins[k] = c.buckets[k].iter().map(|x| x.time).min().unwrap();
                }),
            ),
            (
                "free slot with an event",
                Box::new(|c| {
                    let k = c.free[0] as usize;
                    c.slots[k].event = Some(1);
                }),
            ),
        ];
        for (what, f) in corruptions {
            let mut c = q.clone();
            f(&mut c);
            assert!(c.validate().is_err(), "{what}");
        }
    }
}
