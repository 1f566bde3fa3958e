//! The ledger alone, without the engine (identity_rotation.md §10).
//!
//! - `ledger_transfers/*`: transfers on a ledger of 1,000,000 accounts with
//!   the defended switches and the corrected detector's flow records (90-day
//!   window), one iteration = one transfer request. Requests are generated
//!   up front (2^20 of them, replayed in a cycle) from a seeded PCG: a
//!   uniform sender, a uniform receiver != sender, an amount log-uniform in
//!   [1, 10,000] OMC; time advances 864 ms per request, as in the scale run
//!   (100,000 requests a day, so days roll over and leave the window).
//!   `scale_workload` opens every account with 1,000 OMC and a trust uniform
//!   in [0, 1000), like the scale run: about 30% of the requests are refused
//!   for insufficient balance. `all_applied` opens them with 10^9 OMC, so
//!   every request commits. Target: at least 2,000,000 transfers/s.
//! - `ledger_detect/*`: the corrected detector (CSR build, Tarjan,
//!   restriction, the cancellation walk on link-cut trees) on a uniform
//!   random flow graph of 1,000,000 nodes with E = 3,000,000 and
//!   2E = 6,000,000 edges, amounts log-uniform in [1, 10,000] OMC. The scale
//!   run's final window has about 6.2 million edges. Target: doubling E
//!   raises the detection time by at most 2.5x.
//!
//! Run: `cargo bench --bench ledger` (about 5 minutes);
//! `cargo bench --bench ledger -- transfers` for the transfers alone.

use criterion::{BatchSize, BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use omerta_sim::engine::SimTime;
use omerta_sim::ledger::detect::{FlowGraph, corrected};
use omerta_sim::ledger::{AccountId, Ledger, LedgerConfig, Micro};
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;
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

fn ledger(balance_omc: f64) -> Ledger {
    let mut rng = Pcg64Mcg::seed_from_u64(7);
    let mut l = Ledger::with_capacity(LedgerConfig::defended(), ACCOUNTS as usize).unwrap();
    let b = Micro::from_omc(balance_omc).unwrap();
    for _ in 0..ACCOUNTS {
        l.open_account(b, rng.random::<f64>() * 1000.0, SimTime::ZERO).unwrap();
    }
    l
}

fn transfers(c: &mut Criterion) {
    let reqs = requests(1);
    let mut g = c.benchmark_group("ledger_transfers");
    g.throughput(Throughput::Elements(1));
    for (name, balance) in [("scale_workload", 1_000.0), ("all_applied", 1e9)] {
        let mut l = ledger(balance);
        let mut i = 0usize;
        let mut t = 0u64;
        let (mut applied, mut total) = (0u64, 0u64);
        g.bench_function(name, |b| {
            b.iter(|| {
                let (from, to, a) = reqs[i];
                i = (i + 1) & (REQUESTS - 1);
                t += STEP_MS;
                let r = l.transfer(AccountId(from), AccountId(to), a, SimTime(t));
                applied += r.is_ok() as u64;
                total += 1;
                black_box(r)
            })
        });
        l.check_conservation().expect("money is conserved");
        eprintln!(
            "{name}: {applied} of {total} requests committed ({:.1}%), {} flow records held",
            100.0 * applied as f64 / total.max(1) as f64,
            l.flow_records()
        );
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

fn detect(c: &mut Criterion) {
    let mut g = c.benchmark_group("ledger_detect");
    g.sampling_mode(SamplingMode::Flat);
    for edges in [3_000_000usize, 6_000_000] {
        let graph = random_graph(ACCOUNTS, edges, 11);
        let t0 = Instant::now();
        let (cancelled, volume) = corrected(graph.clone());
        let flagged = cancelled.iter().zip(&volume).filter(|(c, v)| **v > 0 && **c as f64 / **v as f64 > 0.3).count();
        eprintln!(
            "detect {edges} edges: {} distinct, {flagged} accounts with ratio > 0.3, one run {:.2}s",
            graph.edges(),
            t0.elapsed().as_secs_f64()
        );
        g.bench_with_input(BenchmarkId::new("corrected_1M_nodes", edges), &graph, |b, graph| {
            b.iter_batched(|| graph.clone(), |g| black_box(corrected(g)), BatchSize::LargeInput)
        });
    }
    g.finish();
}

criterion_group! {
    name = ledger_transfers;
    // No plots: criterion's plotters backend panics when the machine has no fonts.
    config = Criterion::default().without_plots().measurement_time(Duration::from_secs(10));
    targets = transfers
}
criterion_group! {
    name = ledger_detect;
    // One detection takes seconds: 10 flat samples of one run each.
    config = Criterion::default()
        .without_plots()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(1));
    targets = detect
}
criterion_main!(ledger_transfers, ledger_detect);
