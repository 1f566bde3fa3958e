//! Choosing the event queue: the classic *hold model* on the candidate queues.
//!
//! The queue is filled with N pending events whose times are exponential
//! offsets (mean 1e6 ticks) drawn from a seeded `Pcg64Mcg`. Each iteration
//! then pops the earliest event and pushes one new event at
//! `popped_time + Exp(mean 1e6)`, so the queue stays at N pending events. One
//! iteration is one event, reported as `Throughput::Elements(1)` (events per
//! second). N = 1_000, 100_000 and 1_000_000; the payload is 16 bytes
//! (`(u32, u32, u64)`) in every queue.
//!
//! Implementations compared:
//! - `engine_radix_heap`: `omerta_sim::engine::EventQueue`, the engine's
//!   queue: a radix heap over the monotone 128-bit key `(time, seq)`, events
//!   in a slab, lazy cancellation;
//! - `binary_heap_lazy`: a std `BinaryHeap` of `(time, seq, slot)` entries
//!   with the same slab and lazy cancellation (the engine's first queue);
//! - `priority_queue_sip`: the `priority-queue` crate (an indexed heap over an
//!   `IndexMap`), key = sequence number, priority = `Reverse((time, seq))`,
//!   the event stored in the item, `remove(&seq)` to cancel; std hasher
//!   (SipHash-1-3, the crate's default);
//! - `priority_queue_foldhash`: the same with hashbrown's foldhash, to tell
//!   the cost of hashing from the cost of the structure.
//!
//! All queues are checked to pop the same (time, payload) sequence before
//! anything is measured. `floor/exp_increment` is the cost of drawing one
//! increment, which every hold step pays.
//!
//! Groups:
//! - `hold`: pop one, push one.
//! - `hold_cancel20`: pop one, push its replacement, and with probability 1/4
//!   push one extra event that is cancelled later (when 16 newer such events
//!   exist, i.e. some 64 events on). So 20% of all pushes are cancelled. An
//!   extra event that fires before its cancellation is popped without a
//!   replacement, so the live count stays at N on average.
//!
//! The filled queue is built once per benchmark (outside the timing loop) and
//! kept alive across criterion's samples; it is first run for N hold steps so
//! the time distribution is the stationary one.
//!
//! No hard target: the engine uses whichever queue is fastest at every size
//! (see `benches/engine.rs` for the engine's own targets). The figures are
//! in the README.
//!
//! Run: `cargo bench --bench queue` (about 5 minutes with the defaults; add
//! `-- --measurement-time 3 --warm-up-time 1` for a 2-3 minute run, or a
//! filter such as `-- 'hold/(event_queue|priority_queue_sip)'` to pick some).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use omerta_sim::engine::{EventId, EventQueue, SimTime};
use priority_queue::PriorityQueue;
use rand::{RngExt, SeedableRng};
use rand_distr::Exp1;
use rand_pcg::Pcg64Mcg;
use std::borrow::Borrow;
use std::cmp::Reverse;
use std::collections::VecDeque;
use std::hash::{BuildHasher, Hash, Hasher};
use std::hint::black_box;

/// The 16-byte event payload.
type Payload = (u32, u32, u64);

/// Mean time increment in ticks.
const MEAN: f64 = 1e6;

/// Sizes measured.
const SIZES: [usize; 3] = [1_000, 100_000, 1_000_000];

/// Pending cancellable events kept before the oldest is cancelled.
const CANCEL_LAG: usize = 16;

/// The operations the hold model needs.
trait HoldQueue {
    type Id: Copy;
    fn name() -> &'static str;
    fn with_capacity(n: usize) -> Self;
    fn push(&mut self, time: u64, ev: Payload) -> Self::Id;
    fn pop(&mut self) -> Option<(u64, Payload)>;
    fn cancel(&mut self, id: Self::Id) -> bool;
}

impl HoldQueue for EventQueue<Payload> {
    type Id = EventId;
    fn name() -> &'static str {
        "engine_radix_heap"
    }
    fn with_capacity(n: usize) -> Self {
        EventQueue::with_capacity(n)
    }
    #[inline]
    fn push(&mut self, time: u64, ev: Payload) -> EventId {
        EventQueue::push(self, SimTime(time), ev)
    }
    #[inline]
    fn pop(&mut self) -> Option<(u64, Payload)> {
        EventQueue::pop(self).map(|p| (p.time.ticks(), p.event))
    }
    #[inline]
    fn cancel(&mut self, id: EventId) -> bool {
        EventQueue::cancel(self, id).is_some()
    }
}

/// A `priority-queue` item: the sequence number is the key (hash and
/// equality use it alone, so `remove(&seq)` finds the item), the event rides
/// along.
#[derive(Clone, Copy, Debug)]
struct Keyed {
    seq: u64,
    ev: Payload,
}

impl PartialEq for Keyed {
    fn eq(&self, other: &Self) -> bool {
        self.seq == other.seq
    }
}

impl Eq for Keyed {}

impl Hash for Keyed {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Must hash exactly like `u64` for `Borrow<u64>` lookups.
        self.seq.hash(state);
    }
}

impl Borrow<u64> for Keyed {
    fn borrow(&self) -> &u64 {
        &self.seq
    }
}

/// The event queue written on the `priority-queue` crate.
struct PqQueue<H> {
    pq: PriorityQueue<Keyed, Reverse<(u64, u64)>, H>,
    next_seq: u64,
}

trait HasherName {
    const NAME: &'static str;
}

impl HasherName for std::hash::RandomState {
    const NAME: &'static str = "priority_queue_sip";
}

impl HasherName for hashbrown::DefaultHashBuilder {
    const NAME: &'static str = "priority_queue_foldhash";
}

impl<H: BuildHasher + Default + HasherName> HoldQueue for PqQueue<H> {
    type Id = u64;
    fn name() -> &'static str {
        H::NAME
    }
    fn with_capacity(n: usize) -> Self {
        PqQueue { pq: PriorityQueue::with_capacity_and_hasher(n, H::default()), next_seq: 0 }
    }
    #[inline]
    fn push(&mut self, time: u64, ev: Payload) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.pq.push(Keyed { seq, ev }, Reverse((time, seq)));
        seq
    }
    #[inline]
    fn pop(&mut self) -> Option<(u64, Payload)> {
        self.pq.pop().map(|(k, Reverse((t, _)))| (t, k.ev))
    }
    #[inline]
    fn cancel(&mut self, seq: u64) -> bool {
        self.pq.remove(&seq).is_some()
    }
}

/// The std `BinaryHeap` with lazy cancellation (the engine's first queue):
/// a heap of 24-byte `(time, seq, slot)` entries compared as one 128-bit key
/// `(time << 64) | seq`, events in a slab, cancelled slots skipped on pop.
struct BinaryHeapQueue {
    heap: std::collections::BinaryHeap<HEntry>,
    slots: Vec<(u64, Option<Payload>)>,
    free: Vec<u32>,
    next_seq: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
struct HEntry {
    time: u64,
    seq: u64,
    slot: u32,
}

impl HEntry {
    #[inline]
    fn key(&self) -> u128 {
        ((self.time as u128) << 64) | self.seq as u128
    }
}

impl Ord for HEntry {
    #[inline]
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Reversed: BinaryHeap is a max-heap, the earliest must come first.
        other.key().cmp(&self.key())
    }
}

impl PartialOrd for HEntry {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl HoldQueue for BinaryHeapQueue {
    type Id = (u32, u64);
    fn name() -> &'static str {
        "binary_heap_lazy"
    }
    fn with_capacity(n: usize) -> Self {
        BinaryHeapQueue {
            heap: std::collections::BinaryHeap::with_capacity(n),
            slots: Vec::with_capacity(n),
            free: Vec::new(),
            next_seq: 0,
        }
    }
    #[inline]
    fn push(&mut self, time: u64, ev: Payload) -> (u32, u64) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = (seq, Some(ev));
                s
            }
            None => {
                self.slots.push((seq, Some(ev)));
                (self.slots.len() - 1) as u32
            }
        };
        self.heap.push(HEntry { time, seq, slot });
        (slot, seq)
    }
    #[inline]
    fn pop(&mut self) -> Option<(u64, Payload)> {
        while let Some(e) = self.heap.pop() {
            let sl = &mut self.slots[e.slot as usize];
            if sl.0 == e.seq
                && let Some(ev) = sl.1.take()
            {
                self.free.push(e.slot);
                return Some((e.time, ev));
            }
        }
        None
    }
    #[inline]
    fn cancel(&mut self, (slot, seq): (u32, u64)) -> bool {
        match self.slots.get_mut(slot as usize) {
            Some(sl) if sl.0 == seq && sl.1.is_some() => {
                sl.1 = None;
                self.free.push(slot);
                true
            }
            _ => false,
        }
    }
}

#[inline]
fn incr(rng: &mut Pcg64Mcg) -> u64 {
    let x: f64 = rng.sample(Exp1);
    (x * MEAN) as u64
}

/// A queue with `n` pending events at exponential offsets from 0.
fn filled<Q: HoldQueue>(n: usize, rng: &mut Pcg64Mcg) -> Q {
    let mut q = Q::with_capacity(n + n / 2);
    for i in 0..n {
        let t = incr(rng);
        q.push(t, (i as u32, 0, t));
    }
    q
}

/// Hold state: the queue plus what the cancelling variant remembers.
struct Hold<Q: HoldQueue> {
    q: Q,
    rng: Pcg64Mcg,
    doomed: VecDeque<Q::Id>,
    k: u32,
}

/// Extra events are flagged with this in the payload's second field.
const DOOMED: u32 = 1;

impl<Q: HoldQueue> Hold<Q> {
    fn new(n: usize, seed: u64) -> Self {
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let q = filled(n, &mut rng);
        Hold { q, rng, doomed: VecDeque::with_capacity(CANCEL_LAG + 1), k: 0 }
    }

    /// Pop the earliest, push its replacement.
    #[inline]
    fn step(&mut self) -> (u64, Payload) {
        let (t, ev) = self.q.pop().expect("the hold queue never empties");
        let nt = t + incr(&mut self.rng);
        self.k = self.k.wrapping_add(1);
        self.q.push(nt, (self.k, 0, ev.2 ^ nt));
        (t, ev)
    }

    /// Pop the earliest; replace it unless it was an extra event; with
    /// probability 1/4 push an extra event; cancel the oldest extra event
    /// once more than `CANCEL_LAG` are outstanding.
    #[inline]
    fn step_cancel(&mut self) -> (u64, Payload) {
        let (t, ev) = self.q.pop().expect("the hold queue never empties");
        self.k = self.k.wrapping_add(1);
        if ev.1 != DOOMED {
            let nt = t + incr(&mut self.rng);
            self.q.push(nt, (self.k, 0, ev.2 ^ nt));
        }
        let r: u32 = self.rng.random();
        if r < u32::MAX / 4 {
            let dt = t + incr(&mut self.rng);
            let id = self.q.push(dt, (self.k, DOOMED, dt));
            self.doomed.push_back(id);
            if self.doomed.len() > CANCEL_LAG {
                let old = self.doomed.pop_front().expect("non-empty");
                black_box(self.q.cancel(old));
            }
        }
        (t, ev)
    }
}

fn bench_impl<Q: HoldQueue>(c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>, cancel: bool) {
    for &n in &SIZES {
        let mut h: Hold<Q> = Hold::new(n, 42);
        // Reach the stationary time distribution before measuring.
        for _ in 0..n {
            if cancel {
                h.step_cancel();
            } else {
                h.step();
            }
        }
        c.bench_with_input(BenchmarkId::new(Q::name(), n), &n, |b, _| {
            if cancel {
                b.iter(|| black_box(h.step_cancel()));
            } else {
                b.iter(|| black_box(h.step()));
            }
        });
    }
}

fn hold(c: &mut Criterion) {
    type Pq = PqQueue<std::hash::RandomState>;
    type PqFold = PqQueue<hashbrown::DefaultHashBuilder>;
    for (group, cancel) in [("hold", false), ("hold_cancel20", true)] {
        let mut g = c.benchmark_group(group);
        g.throughput(Throughput::Elements(1));
        bench_impl::<EventQueue<Payload>>(&mut g, cancel);
        bench_impl::<Pq>(&mut g, cancel);
        bench_impl::<PqFold>(&mut g, cancel);
        bench_impl::<BinaryHeapQueue>(&mut g, cancel);
        g.finish();
    }
}

/// Every queue must pop the same (time, payload) sequence, with and without
/// cancellation; checked once before measuring.
fn agree() {
    fn trace<Q: HoldQueue>(cancel: bool) -> Vec<(u64, Payload)> {
        let mut h: Hold<Q> = Hold::new(1_000, 7);
        (0..20_000).map(|_| if cancel { h.step_cancel() } else { h.step() }).collect()
    }
    for cancel in [false, true] {
        let a = trace::<EventQueue<Payload>>(cancel);
        assert!(a == trace::<PqQueue<std::hash::RandomState>>(cancel), "priority_queue disagrees (cancel = {cancel})");
        assert!(a == trace::<BinaryHeapQueue>(cancel), "binary heap disagrees (cancel = {cancel})");
    }
}

/// The floor: drawing one exponential increment, which every hold step does.
fn floor(c: &mut Criterion) {
    let mut g = c.benchmark_group("floor");
    g.throughput(Throughput::Elements(1));
    let mut rng = Pcg64Mcg::seed_from_u64(42);
    g.bench_function("exp_increment", |b| b.iter(|| black_box(incr(&mut rng))));
    g.finish();
}

fn benches(c: &mut Criterion) {
    agree();
    floor(c);
    hold(c);
}

criterion_group! {
    name = queue;
    // No plots: criterion's plotters backend panics when the machine has no fonts.
    config = Criterion::default().without_plots();
    targets = benches
}
criterion_main!(queue);
