//! The engine's events per second on the hold model, through
//! `omerta_sim::engine::Simulation` (queue, clock, counters, fingerprint and
//! random streams included).
//!
//! A tiny model, `Hold`, schedules N events at exponential times (mean 1e6
//! ticks) in `start`; each `handle` schedules one new event at
//! `now + Exp(mean 1e6)` drawn from `ctx.rng(0)`, so N events stay pending.
//! The event payload is 16 bytes. Each criterion iteration is
//! `sim.run_events(10_000)`, reported as `Throughput::Elements(10_000)`.
//! N = 1_000, 100_000 and 1_000_000; the simulation is built once per size
//! and runs on across samples.
//!
//! Targets (one core): >= 10 million events/s at 1k pending and >= 3 million
//! events/s at 1M pending.
//!
//! Run: `cargo bench --bench engine` (about 1 minute; add
//! `-- --measurement-time 3 --warm-up-time 1` for a shorter run).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use omerta_sim::engine::{AgentRef, Ctx, EventInfo, Model, SimTime, Simulation, TimeUnit};
use rand::RngExt;
use rand_distr::Exp1;
use serde::{Deserialize, Serialize};
use std::hint::black_box;

/// Mean time increment in ticks.
const MEAN: f64 = 1e6;

/// Events per criterion iteration.
const BATCH: u64 = 10_000;

/// A 16-byte event.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct HoldEv {
    a: u32,
    b: u32,
    c: u64,
}

impl EventInfo for HoldEv {
    fn kind(&self) -> &'static str {
        "Hold"
    }
}

/// The hold model: N pending events, each handled event schedules one more.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Hold {
    n: usize,
    handled: u64,
}

impl Model for Hold {
    type Event = HoldEv;
    const STREAMS: &'static [&'static str] = &["hold"];
    const AGENT_CLASSES: &'static [&'static str] = &[];
    const TIME_UNIT: TimeUnit = TimeUnit::Hours;

    fn kind(&self) -> &'static str {
        "hold"
    }

    fn start(&mut self, ctx: &mut Ctx<'_, HoldEv>) {
        for i in 0..self.n {
            let x: f64 = ctx.rng(0).sample(Exp1);
            let t = (x * MEAN) as u64;
            ctx.schedule(SimTime(t), HoldEv { a: i as u32, b: 0, c: t });
        }
    }

    #[inline]
    fn handle(&mut self, ev: HoldEv, ctx: &mut Ctx<'_, HoldEv>) {
        self.handled += 1;
        let x: f64 = ctx.rng(0).sample(Exp1);
        let d = (x * MEAN) as u64;
        ctx.schedule_in(d, HoldEv { a: ev.a, b: ev.b.wrapping_add(1), c: ev.c ^ d });
    }

    fn horizon(&self) -> SimTime {
        SimTime::MAX
    }

    fn agent_counts(&self) -> Vec<(&'static str, usize)> {
        Vec::new()
    }

    fn describe_agent(&self, _agent: AgentRef) -> Option<String> {
        None
    }
}

fn engine(c: &mut Criterion) {
    let mut g = c.benchmark_group("engine_hold");
    g.throughput(Throughput::Elements(BATCH));
    for n in [1_000usize, 100_000, 1_000_000] {
        let mut sim = Simulation::new(Hold { n, handled: 0 }, 42);
        assert_eq!(sim.pending(), n);
        // Reach the stationary time distribution before measuring.
        sim.run_events(n as u64);
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                let k = sim.run_events(BATCH);
                debug_assert_eq!(k, BATCH);
                black_box(k)
            });
        });
        assert_eq!(sim.pending(), n, "the hold model keeps N events pending");
        assert_eq!(sim.counters().processed, sim.model.handled);
    }
    g.finish();
}

criterion_group! {
    name = benches;
    // No plots: criterion's plotters backend panics when the machine has no fonts.
    config = Criterion::default().without_plots();
    targets = engine
}
criterion_main!(benches);
