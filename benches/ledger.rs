//! The ledger alone, without the engine: the transfer and detector costs
//! behind the identity-rotation scale run.
//!
//! - `ledger_transfers/*`: transfers on a ledger of 1,000,000 accounts with
//!   the defended switches, one iteration = one transfer. Requests are
//!   generated up front (2^20 of them, replayed in a cycle) from a seeded
//!   PCG: a uniform sender, a uniform receiver != sender, an amount
//!   log-uniform in [1, 10,000] OMC; time advances 864 ms per request, as in
//!   the scale run (100,000 a day, so days roll over and leave the window).
//!   Every account opens with 10^6 OMC and a trust uniform in [0, 1000), so
//!   nearly every request commits (the bench asserts more than 99% and
//!   prints the share, 99.8-99.98% in practice: over tens of millions of
//!   replayed requests a few balances random-walk below an amount). The
//!   figure is, to within 1%, committed transfers per second.
//!   `with_flow_records` keeps the corrected detector's flow records (90-day
//!   window), as the scale run does; `no_detector` keeps none;
//!   `with_reference_records` keeps the reference detector's last gross
//!   amount per ordered pair (about a million pairs once the requests cycle,
//!   each later transfer overwriting one). Target: at least 2,000,000
//!   transfers/s.
//! - `ledger_detect/*`: the corrected detector (CSR build, Tarjan,
//!   restriction, the cancellation walk on link-cut trees) on uniform random
//!   flow graphs, amounts log-uniform in [1, 10,000] OMC: V nodes and E
//!   edges for (V, E) = (500k, 3M), (1M, 3M) and (1M, 6M). The scale run's
//!   final window has 1M accounts and about 6.2M edges. Doubling the graph at
//!   that density, (500k, 3M) -> (1M, 6M), is the near-linearity check
//!   (target: at most 2.5x the time). Doubling E on 1M nodes doubles the
//!   density too, and with it the number of cycles to cancel.
//!   `ledger_detect/reference/1M_accounts`: the reference detector over the
//!   records the 2^20 requests above leave (one ledger of 1,000,000
//!   accounts, about 1M ordered pairs): circ_i summed over every pair whose
//!   reverse pair also has a record.
//!
//! Run: `cargo bench --bench ledger` (about 10 minutes);
//! `cargo bench --bench ledger -- transfers` for the transfers alone (a
//! minute).

mod common;

use common::Clock;
use criterion::{BatchSize, BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use omerta_sim::engine::SimTime;
use omerta_sim::ledger::detect::{FlowGraph, corrected};
use omerta_sim::ledger::{AccountId, DetectorKind, Ledger, LedgerConfig, Micro};
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;
use std::cell::OnceCell;
use std::hint::black_box;
use std::time::{Duration, Instant};

const ACCOUNTS: u32 = 1_000_000;
const REQUESTS: usize = 1 << 20;
/// 100 days over 10,000,000 requests, as in the scale run.
const STEP_MS: u64 = 864;

fn log_uniform_micro(rng: &mut Pcg64Mcg) -> i64 {
    let omc = (rng.random::<f64>() * (10_000f64).ln()).exp();
    Micro::from_omc(omc).expect("in range").0
}

fn requests(seed: u64) -> Vec<(u32, u32, i64)> {
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    (0..REQUESTS)
        .map(|_| {
            let from = rng.random_range(0..ACCOUNTS);
            let mut to = rng.random_range(0..ACCOUNTS);
            while to == from {
                to = rng.random_range(0..ACCOUNTS);
            }
            (from, to, log_uniform_micro(&mut rng))
        })
        .collect()
}

/// Which flow records a bench ledger keeps.
#[derive(Clone, Copy)]
enum Records {
    /// The defended configuration: the corrected detector's day logs.
    Corrected,
    /// The reference detector's last gross per ordered pair.
    Reference,
    /// No detector.
    None,
}

fn ledger(records: Records) -> Ledger {
    let mut rng = Pcg64Mcg::seed_from_u64(7);
    let mut config = LedgerConfig::defended();
    match records {
        Records::Corrected => {}
        Records::Reference => config.detector.as_mut().expect("defended has a detector").kind = DetectorKind::Reference,
        Records::None => config.detector = None,
    }
    let mut l = Ledger::with_capacity(config, ACCOUNTS as usize).unwrap();
    let b = Micro::from_omc(1e6).unwrap();
    for _ in 0..ACCOUNTS {
        l.open_account(b, rng.random::<f64>() * 1000.0, SimTime::ZERO).unwrap();
    }
    l
}

/// State of one transfers benchmark, built when it is selected.
struct Replay {
    ledger: Ledger,
    next: usize,
    t: u64,
    applied: u64,
    total: u64,
}

fn transfers(c: &mut Criterion<Clock>) {
    let reqs: OnceCell<Vec<(u32, u32, i64)>> = OnceCell::new();
    let mut g = c.benchmark_group("ledger_transfers");
    g.throughput(Throughput::Elements(1));
    for (name, records) in [
        ("with_flow_records", Records::Corrected),
        ("no_detector", Records::None),
        ("with_reference_records", Records::Reference),
    ] {
        let mut state: Option<Replay> = None;
        g.bench_function(name, |b| {
            let reqs = reqs.get_or_init(|| requests(1));
            let st =
                state.get_or_insert_with(|| Replay { ledger: ledger(records), next: 0, t: 0, applied: 0, total: 0 });
            b.iter(|| {
                let (from, to, a) = reqs[st.next];
                st.next = (st.next + 1) & (REQUESTS - 1);
                st.t += STEP_MS;
                let r = st.ledger.transfer(AccountId(from), AccountId(to), a, SimTime(st.t));
                st.applied += r.is_ok() as u64;
                st.total += 1;
                black_box(r)
            })
        });
        if let Some(st) = state {
            st.ledger.check_conservation().expect("money is conserved");
            let share = st.applied as f64 / st.total.max(1) as f64;
            assert!(share > 0.99, "{name}: only {} of {} requests committed", st.applied, st.total);
            eprintln!(
                "{name}: {} of {} requests committed ({:.4}%), {} flow records held",
                st.applied,
                st.total,
                100.0 * share,
                st.ledger.flow_records()
            );
        }
    }
    g.finish();
}

fn random_graph(n: u32, edges: usize, seed: u64) -> FlowGraph {
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    let list: Vec<(u32, u32, i128)> = (0..edges)
        .map(|_| {
            let u = rng.random_range(0..n);
            let mut v = rng.random_range(0..n);
            while v == u {
                v = rng.random_range(0..n);
            }
            (u, v, log_uniform_micro(&mut rng) as i128)
        })
        .collect();
    FlowGraph::from_edges(n as usize, &list)
}

fn detect(c: &mut Criterion<Clock>) {
    let mut g = c.benchmark_group("ledger_detect");
    g.sampling_mode(SamplingMode::Flat);
    for (nodes, edges) in [(500_000u32, 3_000_000usize), (1_000_000, 3_000_000), (1_000_000, 6_000_000)] {
        // Built only when this benchmark is selected.
        let graph: OnceCell<FlowGraph> = OnceCell::new();
        let id = BenchmarkId::new("corrected", format!("{}k_nodes_{}M_edges", nodes / 1000, edges / 1_000_000));
        g.bench_function(id, |b| {
            let graph = graph.get_or_init(|| {
                let graph = random_graph(nodes, edges, 11);
                let t0 = Instant::now();
                let (cancelled, volume) = corrected(graph.clone());
                let flagged =
                    cancelled.iter().zip(&volume).filter(|(c, v)| **v > 0 && **c as f64 / **v as f64 > 0.3).count();
                eprintln!(
                    "detect {nodes} nodes, {} edges: {flagged} accounts with ratio > 0.3, one run {:.2}s",
                    graph.edges(),
                    t0.elapsed().as_secs_f64()
                );
                graph
            });
            b.iter_batched(|| graph.clone(), |g| black_box(corrected(g)), BatchSize::LargeInput)
        });
    }
    // The reference detector over the records of the 2^20 requests.
    let ledger: OnceCell<Ledger> = OnceCell::new();
    g.bench_function(BenchmarkId::new("reference", "1M_accounts"), |b| {
        let l = ledger.get_or_init(|| {
            let mut l = self::ledger(Records::Reference);
            for (k, &(from, to, a)) in requests(1).iter().enumerate() {
                let _ = l.transfer(AccountId(from), AccountId(to), a, SimTime(k as u64 * STEP_MS));
            }
            let t0 = Instant::now();
            let s = l.detect(0).expect("a detector");
            eprintln!(
                "reference detection over {} pairs: {} edges, {} flagged, one run {:.3}s",
                l.flow_records(),
                s.edges,
                s.flagged,
                t0.elapsed().as_secs_f64()
            );
            l
        });
        b.iter(|| black_box(l.detect(0)))
    });
    g.finish();
}

criterion_group! {
    name = ledger_transfers;
    // No plots: criterion's plotters backend panics when the machine has no fonts.
    config = common::criterion().measurement_time(Duration::from_secs(10));
    targets = transfers
}
criterion_group! {
    name = ledger_detect;
    // One detection takes seconds: 10 flat samples of one run each.
    config = common::criterion()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(1));
    targets = detect
}
criterion_main!(ledger_transfers, ledger_detect);
