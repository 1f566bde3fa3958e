//! The ledger's invariants by property test:
//! long random sequences of mints, trust changes, transfers and escrow
//! locks and settlements, valid and invalid, on random switch sets (money
//! conserved including escrow after every request); and the circular-flow
//! detectors.

use omerta_sim::engine::snapshot::state_bytes;
use omerta_sim::engine::{SimTime, TICKS_PER_DAY};
use omerta_sim::ledger::detect::{FlowGraph, walk_direct, walk_tree};
use omerta_sim::ledger::{
    AccountId, DetectorConfig, DetectorKind, EscrowError, EscrowId, Ledger, LedgerConfig, LedgerError, Micro, Receipt,
    RhoBasis, SettleReceipt,
};
use proptest::prelude::*;

/// One request of a random sequence.
#[derive(Clone, Debug)]
enum Req {
    /// Transfer `frac` of the sender's balance (rounded up to at least 1 µOMC).
    Valid { from: u32, to: u32, frac: f64 },
    /// A transfer of exactly this amount (zero, negative, over-balance or
    /// near i64::MAX).
    Raw { from: u32, to: u32, amount: i64 },
    /// A transfer to oneself.
    SelfTransfer { id: u32, amount: i64 },
    /// A transfer naming an account that does not exist.
    Unknown { from: u32, to: u32, amount: i64 },
    /// Mint (may overflow or be non-positive).
    Mint { id: u32, amount: i64 },
    /// add_trust (may be negative or non-finite).
    AddTrust { id: u32, delta: f64 },
    /// set_trust (may be negative or non-finite).
    SetTrust { id: u32, value: f64 },
    /// Let time pass (days).
    Wait { days: u64 },
    /// escrow_lock of `frac` of the payer's balance (at least 1 µOMC), or of
    /// a raw amount.
    Lock { from: u32, frac: f64, raw: Option<i64> },
    /// escrow_settle of the `pick`-th open lock (modulo the open count; an
    /// id never opened when none is open or `stale`) to `to`, paying and
    /// burning fractions of the locked amount (their sum may exceed it), or
    /// raw amounts.
    Settle { pick: usize, to: u32, pay: f64, burn: f64, raw: Option<(i64, i64)>, stale: bool },
}

fn weird_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => 0.0f64..2000.0,
        1 => Just(0.0),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => -100.0f64..0.0,
    ]
}

fn raw_amount() -> impl Strategy<Value = i64> {
    prop_oneof![Just(0i64), -1_000_000_000i64..0, 1i64..5_000_000_000_000, (i64::MAX - 1000)..=i64::MAX, Just(i64::MIN),]
}

fn req(n: u32) -> impl Strategy<Value = Req> {
    let id = 0..n;
    prop_oneof![
        30 => (id.clone(), id.clone(), 0.0f64..=1.0).prop_map(|(from, to, frac)| Req::Valid { from, to, frac }),
        6 => (id.clone(), id.clone(), raw_amount()).prop_map(|(from, to, amount)| Req::Raw { from, to, amount }),
        2 => (id.clone(), raw_amount()).prop_map(|(id, amount)| Req::SelfTransfer { id, amount }),
        2 => (0..n + 3, n..n + 3, raw_amount(), any::<bool>()).prop_map(|(a, b, amount, first)| {
            if first { Req::Unknown { from: b, to: a, amount } } else { Req::Unknown { from: a, to: b, amount } }
        }),
        3 => (id.clone(), prop_oneof![1i64..1_000_000_000_000, (i64::MAX - 10)..=i64::MAX, -5i64..=0])
            .prop_map(|(id, amount)| Req::Mint { id, amount }),
        3 => (id.clone(), weird_f64()).prop_map(|(id, delta)| Req::AddTrust { id, delta }),
        2 => (id.clone(), weird_f64()).prop_map(|(id, value)| Req::SetTrust { id, value }),
        3 => (0u64..4).prop_map(|days| Req::Wait { days }),
        8 => (0..n + 1, 0.0f64..=1.0, prop_oneof![8 => Just(None), 1 => raw_amount().prop_map(Some)])
            .prop_map(|(from, frac, raw)| Req::Lock { from, frac, raw }),
        8 => (
            any::<usize>(),
            0..n + 1,
            0.0f64..=1.0,
            0.0f64..=1.0,
            prop_oneof![8 => Just(None), 1 => (raw_amount(), raw_amount()).prop_map(Some)],
            prop::bool::weighted(0.05),
        )
            .prop_map(|(pick, to, pay, burn, raw, stale)| Req::Settle { pick, to, pay, burn, raw, stale }),
    ]
}

#[derive(Clone, Debug)]
struct Case {
    config: LedgerConfig,
    accounts: Vec<(i64, f64)>,
    reqs: Vec<Req>,
}

fn config() -> impl Strategy<Value = LedgerConfig> {
    (
        any::<[bool; 4]>(),
        0.0f64..=1.0,
        0.0f64..=0.05,
        any::<bool>(),
        any::<bool>(),
        prop_oneof![Just(None), Just(Some(DetectorKind::Reference)), Just(Some(DetectorKind::Corrected))],
        0u32..6,
        0.0f64..0.99,
    )
        .prop_map(|(sw, k_amount, k_transfer, cutoff, sent, det, window_days, threshold)| LedgerConfig {
            k_transfer,
            k_amount,
            amount_scale: 10.0,
            median_balance: Micro(100_000_000),
            amount_burn_cutoff: cutoff,
            rho_basis: if sent { RhoBasis::Sent } else { RhoBasis::Received },
            trust_burn: sw[0],
            amount_burn: sw[1],
            trust_inheritance: sw[2],
            detector: det.map(|kind| DetectorConfig {
                kind,
                threshold,
                penalty_weight: 2.0,
                window_days,
                penalty: sw[3],
            }),
        })
}

fn case() -> impl Strategy<Value = Case> {
    (2u32..=20).prop_flat_map(|n| {
        let balance = prop_oneof![Just(0i64), 0i64..2_000_000_000, 0i64..1_000_000_000_000_000];
        let trust = prop_oneof![Just(0.0f64), 0.0f64..=2000.0];
        (config(), proptest::collection::vec((balance, trust), n as usize), proptest::collection::vec(req(n), 1..1000))
            .prop_map(|(config, accounts, reqs)| Case { config, accounts, reqs })
    })
}

/// What each request returned, for the determinism check (I9).
#[derive(Debug, PartialEq)]
enum Outcome {
    Transfer(Result<Receipt, LedgerError>),
    Other(Result<(), LedgerError>),
    Lock(Result<EscrowId, EscrowError>),
    Settle(Result<SettleReceipt, EscrowError>),
}

/// Run a case, checking every invariant after every request. Returns the
/// outcomes and the final ledger.
fn run_case(c: &Case) -> Result<(Vec<Outcome>, Ledger), TestCaseError> {
    let mut l = Ledger::new(c.config).expect("valid config");
    let mut t = SimTime::ZERO;
    for &(b, trust) in &c.accounts {
        l.open_account(Micro(b), trust, t).unwrap();
    }
    let mut outcomes = Vec::new();
    for r in &c.reqs {
        let before = l.clone();
        let bytes = state_bytes(&l);
        let (from, to, amount) = match *r {
            Req::Valid { from, to, frac } => {
                let b = l.balance(AccountId(from)).0;
                (from, to, ((b as f64 * frac) as i64).clamp(1, i64::MAX))
            }
            Req::Raw { from, to, amount } => (from, to, amount),
            Req::SelfTransfer { id, amount } => (id, id, amount),
            Req::Unknown { from, to, amount } => (from, to, amount),
            Req::Mint { id, amount } => {
                let res = l.mint(AccountId(id), Micro(amount), "test");
                if res.is_err() {
                    prop_assert_eq!(state_bytes(&l), bytes, "a refused mint changed the ledger");
                }
                check_totals(&l)?;
                outcomes.push(Outcome::Other(res));
                continue;
            }
            Req::AddTrust { id, delta } => {
                let res = l.add_trust(AccountId(id), delta);
                if res.is_err() {
                    prop_assert_eq!(state_bytes(&l), bytes);
                }
                outcomes.push(Outcome::Other(res));
                continue;
            }
            Req::SetTrust { id, value } => {
                let res = l.set_trust(AccountId(id), value);
                if res.is_err() {
                    prop_assert_eq!(state_bytes(&l), bytes);
                }
                outcomes.push(Outcome::Other(res));
                continue;
            }
            Req::Wait { days } => {
                t = SimTime(t.ticks() + days * TICKS_PER_DAY + 1);
                continue;
            }
            Req::Lock { from, frac, raw } => {
                let amount =
                    raw.unwrap_or_else(|| ((l.balance(AccountId(from)).0 as f64 * frac) as i64).clamp(1, i64::MAX));
                let res = l.escrow_lock(AccountId(from), amount, t);
                match res {
                    Err(_) => prop_assert_eq!(state_bytes(&l), bytes, "a refused lock changed the ledger"),
                    Ok(id) => {
                        prop_assert_eq!(l.balance(AccountId(from)).0, before.balance(AccountId(from)).0 - amount);
                        prop_assert_eq!(l.escrowed().0, before.escrowed().0 + amount);
                        prop_assert_eq!(
                            l.lock(id).map(|k| (k.payer, k.amount)),
                            Some((AccountId(from), Micro(amount)))
                        );
                        prop_assert_eq!(l.burned_settlement(), before.burned_settlement());
                    }
                }
                check_totals(&l)?;
                outcomes.push(Outcome::Lock(res));
                continue;
            }
            Req::Settle { pick, to, pay, burn, raw, stale } => {
                let open: Vec<EscrowId> = l.open_locks().map(|(id, _)| id).collect();
                let id = if open.is_empty() || stale {
                    EscrowId(l.locks_opened() + pick as u64 % 3)
                } else {
                    open[pick % open.len()]
                };
                let locked = l.lock(id).map_or(0, |k| k.amount.0);
                let (p, b) = raw.unwrap_or(((locked as f64 * pay) as i64, (locked as f64 * burn) as i64));
                let res = l.escrow_settle(id, AccountId(to), p, b, t);
                match &res {
                    Err(_) => prop_assert_eq!(state_bytes(&l), bytes, "a refused settlement changed the ledger"),
                    Ok(rc) => {
                        prop_assert_eq!(
                            rc.pay.0 + rc.burn.0 + rc.refund.0,
                            rc.locked.0,
                            "pay + burn + refund != locked"
                        );
                        prop_assert!(rc.refund.0 >= 0 && rc.pay.0 == p && rc.burn.0 == b);
                        prop_assert_eq!(rc.locked.0, locked);
                        prop_assert!(l.lock(id).is_none(), "a settled lock stays open");
                        prop_assert_eq!(l.escrowed().0, before.escrowed().0 - locked);
                        prop_assert_eq!(l.burned_settlement().0, before.burned_settlement().0 + b);
                        prop_assert_eq!(l.burned(), before.burned(), "settlement burns are not transfer burns");
                        for i in 0..l.len() as u32 {
                            let a = AccountId(i);
                            let mut expected = before.balance(a).0;
                            if a == rc.payer {
                                expected += rc.refund.0;
                            }
                            if a == rc.payee {
                                expected += rc.pay.0;
                            }
                            prop_assert_eq!(l.balance(a).0, expected);
                            prop_assert_eq!(l.trust(a).to_bits(), before.trust(a).to_bits());
                        }
                        // Exactly one settle per lock.
                        let again = l.clone().escrow_settle(id, AccountId(to), 0, 0, t);
                        prop_assert_eq!(again, Err(EscrowError::UnknownLock { id: id.0 }));
                    }
                }
                check_totals(&l)?;
                outcomes.push(Outcome::Settle(res));
                continue;
            }
        };
        let res = l.transfer(AccountId(from), AccountId(to), amount, t);
        match &res {
            Err(e) => {
                // I7: byte-identical, not even a counter moved.
                prop_assert_eq!(state_bytes(&l), bytes, "refused {:?} changed the ledger", e);
                check_error_order(&before, from, to, amount, e)?;
            }
            Ok(rc) => check_transfer(&before, &l, rc)?,
        }
        check_totals(&l)?;
        check_detector(&l, t)?;
        outcomes.push(Outcome::Transfer(res));
    }
    // Settling every open lock in full refund empties escrow.
    let mut drained = l.clone();
    let open: Vec<EscrowId> = drained.open_locks().map(|(id, _)| id).collect();
    for id in open {
        let payer = drained.lock(id).map(|k| k.payer).expect("open");
        drained.escrow_settle(id, payer, 0, 0, t).map_err(|e| TestCaseError::fail(e.to_string()))?;
        check_totals(&drained)?;
    }
    prop_assert_eq!(drained.escrowed(), Micro::ZERO);
    prop_assert_eq!(drained.open_lock_count(), 0);
    Ok((outcomes, l))
}

/// I1, I2.
fn check_totals(l: &Ledger) -> Result<(), TestCaseError> {
    if let Err(e) = l.check_conservation() {
        return Err(TestCaseError::fail(e));
    }
    // The same sum, from the public accessors.
    let balances: i128 = l.accounts().iter().map(|a| a.balance.0 as i128).sum();
    let locked: i128 = l.open_locks().map(|(_, k)| k.amount.0 as i128).sum();
    prop_assert_eq!(locked, l.escrowed().0 as i128);
    prop_assert_eq!(l.open_lock_count() as u64 <= l.locks_opened(), true);
    prop_assert_eq!(
        balances + l.escrowed().0 as i128 + l.burned().0 as i128 + l.burned_settlement().0 as i128,
        l.minted().0 as i128
    );
    Ok(())
}

/// The first failing check of validation, in order, is the one reported.
fn check_error_order(l: &Ledger, from: u32, to: u32, amount: i64, e: &LedgerError) -> Result<(), TestCaseError> {
    let n = l.len() as u32;
    let expected = if from >= n {
        LedgerError::UnknownAccount { id: from }
    } else if to >= n {
        LedgerError::UnknownAccount { id: to }
    } else if from == to {
        LedgerError::SelfTransfer { id: from }
    } else if amount <= 0 {
        LedgerError::NonPositiveAmount { amount }
    } else if l.balance(AccountId(from)).0 < amount {
        LedgerError::InsufficientBalance { id: from, balance: l.balance(AccountId(from)).0, amount }
    } else {
        let sent = l.account(AccountId(from)).unwrap().gross_sent.0.checked_add(amount);
        prop_assert!(
            sent.is_none() || l.account(AccountId(to)).unwrap().gross_received.0.checked_add(amount).is_none()
        );
        prop_assert!(matches!(e, LedgerError::Overflow { .. }), "{e:?}");
        return Ok(());
    };
    prop_assert_eq!(e, &expected);
    Ok(())
}

/// I3, I4, I5, I6, I8 and the inheritance properties for one committed
/// transfer.
fn check_transfer(before: &Ledger, after: &Ledger, r: &Receipt) -> Result<(), TestCaseError> {
    let c = before.config();
    let (s, d) = (r.from, r.to);
    let a = r.gross.0;
    // I3.
    prop_assert_eq!(after.balance(s).0, before.balance(s).0 - a);
    prop_assert_eq!(after.balance(d).0, before.balance(d).0 + r.received.0);
    prop_assert_eq!(r.received.0 + r.burned.0, a);
    prop_assert_eq!(r.burn_trust.0 + r.burn_amount.0, r.burned.0);
    prop_assert!(r.burn_trust.0 >= 0 && r.burn_amount.0 >= 0 && r.received.0 >= 0);
    prop_assert_eq!(after.burned().0, before.burned().0 + r.burned.0);
    prop_assert_eq!(after.transfers_committed(), before.transfers_committed() + 1);
    // I4.
    let (ts, tr, tr2) = (before.trust(s), before.trust(d), after.trust(d));
    prop_assert_eq!(r.sender_trust, ts);
    prop_assert_eq!(r.receiver_trust_before, tr);
    prop_assert_eq!(r.receiver_trust_after, tr2);
    prop_assert!(tr2 <= tr, "trust bought: {} -> {}", tr, tr2);
    let eps = 1e-12 * ts.max(tr).max(1.0);
    prop_assert!(tr2 >= ts.min(tr) - eps, "trust below min(T_s, T_r): {} < min({}, {})", tr2, ts, tr);
    if ts >= tr {
        prop_assert_eq!(tr2.to_bits(), tr.to_bits(), "T_s >= T_r must leave T_r bit for bit");
    }
    // I5: nobody else's trust or balance; the sender's trust never.
    for i in 0..before.len() as u32 {
        let id = AccountId(i);
        let expected = if id == d { tr2 } else { before.trust(id) };
        prop_assert_eq!(after.trust(id).to_bits(), expected.to_bits());
        if id != s && id != d {
            prop_assert_eq!(after.balance(id), before.balance(id));
        }
    }
    // I6.
    if !c.trust_inheritance || r.received.0 == 0 {
        prop_assert_eq!(tr2.to_bits(), tr.to_bits());
        prop_assert!(r.rho.is_none() && r.blended.is_none());
    }
    // Inheritance into an empty account: T_r' = min(T_r, T_s) exactly.
    if c.trust_inheritance && r.received.0 > 0 && before.balance(d).0 == 0 {
        prop_assert_eq!(tr2.to_bits(), tr.min(ts).to_bits(), "B_r = 0: {} from {} and {}", tr2, tr, ts);
    }
    // I8: rate bounds.
    if c.trust_burn {
        prop_assert!(r.rate_trust > 0.0 && r.rate_trust <= 1.0, "r_t = {}", r.rate_trust);
    } else {
        prop_assert_eq!(r.rate_trust, 0.0);
    }
    prop_assert!(r.rate_amount >= 0.0);
    prop_assert!((0.0..=1.0).contains(&r.rate));
    // I8: r_a does not decrease as a grows; when T_s < T_r, a larger q
    // never leaves more trust (f64 blending: up to one part in 10^12).
    let a2 = a.saturating_add(1 + a / 3);
    if let Ok(q2) = before.quote(s, d, a2, r.at) {
        prop_assert!(q2.rate_amount >= r.rate_amount, "r_a fell from {} to {}", r.rate_amount, q2.rate_amount);
        prop_assert_eq!(q2.rate_trust, r.rate_trust);
        if ts < tr && q2.received >= r.received {
            prop_assert!(q2.receiver_trust_after <= r.receiver_trust_after + eps);
        }
    }
    Ok(())
}

/// Detector bounds in both fidelities: κ ≤ 0.5 (reference) or 1
/// (corrected), 0 ≤ π ≤ w_c·(κ − θ), T_eff ≤ T.
fn check_detector(l: &Ledger, t: SimTime) -> Result<(), TestCaseError> {
    let Some(d) = l.config().detector else {
        prop_assert!(l.detect(0).is_none());
        prop_assert_eq!(l.flow_records(), 0, "no detector, no flow records");
        return Ok(());
    };
    let s = l.detect(t.ticks() / TICKS_PER_DAY).expect("a detector");
    let bound = if d.kind == DetectorKind::Reference { 0.5 } else { 1.0 };
    for i in 0..l.len() {
        let (k, p) = (s.ratio[i], s.penalty[i]);
        prop_assert!((0.0..=bound).contains(&k), "ratio {} above {}", k, bound);
        prop_assert!(p >= 0.0 && p <= (d.penalty_weight * (bound - d.threshold)).max(0.0) + 1e-12);
        if d.penalty && k > d.threshold {
            prop_assert!((p - d.penalty_weight * (k - d.threshold)).abs() <= 1e-12);
        } else {
            prop_assert_eq!(p, 0.0);
        }
        prop_assert!(s.effective_trust[i] <= l.accounts()[i].trust);
        prop_assert!(s.circular[i] <= s.volume[i]);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// I1–I9 (I1 with escrow: Σ balances + escrowed + burned = minted)
    /// after every request of up to 1,000 random requests.
    #[test]
    fn invariants_hold_after_every_request(c in case()) {
        let (first, l1) = run_case(&c)?;
        // I9: the same requests give the same receipts and state, bit for bit.
        let (second, l2) = run_case(&c)?;
        prop_assert_eq!(first, second);
        prop_assert_eq!(state_bytes(&l1), state_bytes(&l2));
    }

    /// r_t does not increase as min(T_s, T_r) grows.
    #[test]
    fn trust_rate_falls_with_trust(t1 in 0.0f64..2000.0, dt in 0.0f64..2000.0, k in 0.0f64..1.0) {
        let mut c = LedgerConfig::defended();
        c.k_transfer = k;
        let mut l = Ledger::new(c).unwrap();
        let a = l.open_account(Micro(1_000_000), t1, SimTime::ZERO).unwrap();
        let b = l.open_account(Micro(0), 5000.0, SimTime::ZERO).unwrap();
        let r1 = l.quote(a, b, 1000, SimTime::ZERO).unwrap();
        l.set_trust(a, t1 + dt).unwrap();
        let r2 = l.quote(a, b, 1000, SimTime::ZERO).unwrap();
        prop_assert!(r2.rate_trust <= r1.rate_trust);
    }

    /// Corrected detector: an acyclic window graph (transfers only from
    /// lower to higher ids) gives κ = 0 everywhere; a pure k-cycle of equal
    /// amounts gives every member κ = 1.
    #[test]
    fn corrected_acyclic_and_rings(n in 2u32..30, pairs in proptest::collection::vec((0u32..30, 0u32..30, 1i64..1000), 1..100), k in 2u32..=50) {
        let mut l = Ledger::new(LedgerConfig::defended()).unwrap();
        for _ in 0..n {
            l.open_account(Micro(1_000_000_000), 10.0, SimTime::ZERO).unwrap();
        }
        for &(u, v, a) in &pairs {
            let (u, v) = (u % n, v % n);
            if u < v {
                l.transfer(AccountId(u), AccountId(v), a, SimTime(5)).unwrap();
            }
        }
        let s = l.detect(0).unwrap();
        prop_assert!(s.ratio.iter().all(|&x| x == 0.0), "{:?}", s.ratio);

        let mut ring = Ledger::new(LedgerConfig::defended()).unwrap();
        for _ in 0..k {
            ring.open_account(Micro(5_000_000), 10.0, SimTime::ZERO).unwrap();
        }
        for i in 0..k {
            ring.transfer(AccountId(i), AccountId((i + 1) % k), 5_000_000, SimTime(9)).unwrap();
        }
        let s = ring.detect(0).unwrap();
        prop_assert!(s.ratio.iter().all(|&x| x == 1.0), "{:?}", s.ratio);
        prop_assert_eq!(s.flagged, k as usize);
    }

    /// Corrected walk on random graphs: the dynamic-tree walk equals the
    /// direct walk, the residual graph is acyclic, and cancelled out- and
    /// in-flow never exceed gross out- and in-flow.
    #[test]
    fn corrected_walk_on_random_graphs(n in 2usize..300, edges in proptest::collection::vec((0u32..300, 0u32..300, 1i128..100), 0..3000)) {
        let edges: Vec<_> = edges.into_iter().map(|(u, v, a)| (u % n as u32, v % n as u32, a)).collect();
        let g = FlowGraph::from_edges(n, &edges);
        let r = g.restrict(&g.scc());
        let res = walk_direct(&r);
        prop_assert_eq!(&walk_tree(&r), &res);
        prop_assert!(r.is_acyclic(&res));
        let mut out_c = vec![0i128; n];
        let mut in_c = vec![0i128; n];
        let mut out_g = vec![0i128; n];
        let mut in_g = vec![0i128; n];
        for u in 0..n {
            for e in g.row(u) {
                out_g[u] += g.gross[e];
                in_g[g.heads[e] as usize] += g.gross[e];
            }
            for e in r.row(u) {
                out_c[u] += r.gross[e] - res[e];
                in_c[r.heads[e] as usize] += r.gross[e] - res[e];
            }
        }
        for i in 0..n {
            prop_assert!(out_c[i] <= out_g[i] && in_c[i] <= in_g[i]);
            // Every cancelled cycle takes as much in as out.
            prop_assert_eq!(out_c[i], in_c[i]);
        }
    }
}

fn ledger(kind: DetectorKind, window_days: u32, n: u32) -> Ledger {
    let mut c = LedgerConfig::defended();
    c.detector = Some(DetectorConfig { kind, threshold: 0.3, penalty_weight: 2.0, window_days, penalty: true });
    let mut l = Ledger::new(c).unwrap();
    for _ in 0..n {
        l.open_account(Micro(10_000_000_000), 500.0, SimTime::ZERO).unwrap();
    }
    l
}

fn day(d: u64) -> SimTime {
    SimTime(d * TICKS_PER_DAY + 1)
}

/// Reference: only the last transfer per pair counts.
#[test]
fn reference_counts_the_last_transfer_per_pair() {
    let mut l = ledger(DetectorKind::Reference, 90, 2);
    let (a, b) = (AccountId(0), AccountId(1));
    l.transfer(a, b, 1_000, day(0)).unwrap();
    l.transfer(a, b, 10, day(0)).unwrap();
    l.transfer(b, a, 1_000, day(0)).unwrap();
    let s = l.detect(0).unwrap();
    assert_eq!(s.ratio[0], 10.0 / 2_010.0);
    assert_eq!(s.circular[0], 10);
    assert_eq!(s.volume[0], 2_010);
    // A 3-ring is invisible to the reference, and a 2-ring scores 0.5.
    let mut l = ledger(DetectorKind::Reference, 90, 5);
    for (u, v) in [(0, 1), (1, 2), (2, 0), (3, 4), (4, 3)] {
        l.transfer(AccountId(u), AccountId(v), 500, day(1)).unwrap();
    }
    let s = l.detect(1).unwrap();
    assert_eq!(&s.ratio, &[0.0, 0.0, 0.0, 0.5, 0.5]);
}

/// Corrected: transfers older than the window do not count; W = 0 counts
/// the whole history.
#[test]
fn the_window_forgets() {
    for (w, expect) in [(30u32, 0.0), (31, 1.0), (0, 1.0)] {
        let mut l = ledger(DetectorKind::Corrected, w, 3);
        for (u, v) in [(0, 1), (1, 2)] {
            l.transfer(AccountId(u), AccountId(v), 1_000, day(0)).unwrap();
        }
        l.transfer(AccountId(2), AccountId(0), 1_000, day(30)).unwrap();
        let s = l.detect(30).unwrap();
        assert_eq!(s.ratio, vec![expect; 3], "window {w}");
    }
    // Summed flows: two transfers of one pair form one edge.
    let mut l = ledger(DetectorKind::Corrected, 90, 2);
    l.transfer(AccountId(0), AccountId(1), 600, day(2)).unwrap();
    l.transfer(AccountId(0), AccountId(1), 400, day(3)).unwrap();
    l.transfer(AccountId(1), AccountId(0), 500, day(4)).unwrap();
    let s = l.detect(4).unwrap();
    assert_eq!(s.circular, vec![1_000, 1_000]);
    assert_eq!(s.volume, vec![1_500, 1_500]);
    assert_eq!(s.edges, 2);
}

/// A dust return edge closes only a dust-sized cycle: it cannot frame an
/// honest chain.
#[test]
fn dust_cannot_frame_a_chain() {
    let mut l = ledger(DetectorKind::Corrected, 90, 4);
    for (u, v) in [(0, 1), (1, 2), (2, 3)] {
        l.transfer(AccountId(u), AccountId(v), 1_000_000_000, day(1)).unwrap();
    }
    l.transfer(AccountId(3), AccountId(0), 1, day(1)).unwrap();
    let s = l.detect(1).unwrap();
    assert!(s.ratio.iter().all(|&k| k < 1e-8), "{:?}", s.ratio);
    assert_eq!(s.flagged, 0);
}
