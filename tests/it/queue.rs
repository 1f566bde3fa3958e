//! The event queue against a sorted-vector oracle.

use omerta_sim::engine::{EventQueue, SimTime};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Push(u64),
    Pop,
    Cancel(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => prop_oneof![0u64..3, 0u64..50, 0u64..(1u64 << 40)].prop_map(Op::Push),
        3 => Just(Op::Pop),
        1 => (0usize..64).prop_map(Op::Cancel),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Pops come out in (time, scheduling order); cancelled events never
    /// come out; `len` counts live events. As in a simulation, nothing is
    /// pushed before the time of the last event taken out.
    #[test]
    fn matches_sorted_oracle(ops in proptest::collection::vec(op(), 1..300)) {
        let mut q = EventQueue::new();
        // Oracle: live events as (time, seq, payload), kept sorted.
        let mut oracle: Vec<(u64, u64, usize)> = Vec::new();
        let mut ids = Vec::new();
        let mut seq = 0u64;
        let mut now = 0u64;
        for op in ops {
            match op {
                Op::Push(dt) => {
                    let t = now + dt;
                    let id = q.push(SimTime(t), ids.len());
                    oracle.push((t, seq, ids.len()));
                    oracle.sort();
                    ids.push(id);
                    seq += 1;
                }
                Op::Pop => {
                    let got = q.pop().map(|p| (p.time.ticks(), p.seq, p.event));
                    let want = if oracle.is_empty() { None } else { Some(oracle.remove(0)) };
                    prop_assert_eq!(got, want);
                    if let Some((t, _, _)) = want {
                        now = t;
                    }
                }
                Op::Cancel(k) => {
                    if ids.is_empty() { continue; }
                    let k = k % ids.len();
                    let live = oracle.iter().position(|e| e.2 == k);
                    let got = q.cancel(ids[k]);
                    match live {
                        Some(at) => { oracle.remove(at); prop_assert_eq!(got, Some(k)); }
                        None => prop_assert_eq!(got, None),
                    }
                }
            }
            prop_assert_eq!(q.len(), oracle.len());
            prop_assert_eq!(q.peek_time().map(|t| t.ticks()), oracle.first().map(|e| e.0));
        }
    }
}

#[test]
fn ties_are_first_in_first_out() {
    let mut q = EventQueue::new();
    for i in 0..1000u32 {
        q.push(SimTime(7), i);
    }
    let mut prev = None;
    while let Some(p) = q.pop() {
        if let Some(prev) = prev {
            assert_eq!(p.event, prev + 1);
        }
        prev = Some(p.event);
    }
    assert_eq!(prev, Some(999));
}

#[test]
fn cancelled_ids_stay_dead_after_slot_reuse() {
    let mut q = EventQueue::new();
    let a = q.push(SimTime(1), "a");
    assert_eq!(q.cancel(a), Some("a"));
    let b = q.push(SimTime(1), "b");
    assert!(!q.is_pending(a));
    assert_eq!(q.cancel(a), None, "a stale id does not cancel the event now in its slot");
    assert!(q.is_pending(b));
    assert_eq!(q.pop().map(|p| p.event), Some("b"));
    assert!(q.is_empty());
}
