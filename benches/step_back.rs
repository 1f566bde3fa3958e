//! What stepping back costs in `step` on the largest scale scenario by
//! memory footprint, `models/identity_rotation_scale.toml` (1,000,000
//! accounts, 10,000,000 transfer requests over 100 days; about 730 MiB per
//! run by its footprint estimate).
//!
//! A session (`omerta_sim::cli::StepScript`, the prompt's commands as
//! `step --interactive` runs them) with the default 256 MiB budget of
//! checkpoints runs to day 99 (`until 99d -q`, about 9.9 million events;
//! not measured), then each sample times one command:
//!
//! - `back 1`: restore the nearest checkpoint and replay to the event
//!   before (then `next 1`, not timed, returns to day 99);
//! - `back 1000000`: a million events back (then `until 99d -q`, not
//!   timed);
//! - `reverse-continue` to a breakpoint at day 98, about 100,000 events
//!   back: a backward search through the checkpoints' segments.
//!
//! Before the samples, the session's `history` (checkpoints kept, bytes,
//! interval, the time one took) is printed to stderr, and after them the
//! process's peak resident memory (`VmHWM`).
//!
//! ```text
//! cargo bench --bench step_back
//! ```
//!
//! About 3 minutes on one core. `OMERTA_STEP_BACK_TRANSFERS=<n>` runs n
//! requests over the same 100 days instead (n >= 2000000), for a quick
//! look.

mod common;

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use omerta_sim::cli::StepScript;
use omerta_sim::study::Scenario;
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn step_back(c: &mut Criterion) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/identity_rotation_scale.toml");
    let sets: Vec<String> = match std::env::var("OMERTA_STEP_BACK_TRANSFERS") {
        Ok(n) => vec![format!("scale.transfers={}", n.trim())],
        Err(_) => Vec::new(),
    };
    let scenario = Scenario::load(&path, &sets).unwrap_or_else(|e| panic!("{e}"));
    let study = omerta_sim::models::open_study(scenario).unwrap_or_else(|e| panic!("{e}"));
    let mut run = study.stepper(1);
    let mut s = StepScript::new(run.as_mut(), 256 << 20);
    let cmd = |s: &mut StepScript<'_>, line: &str| -> String {
        let (out, _) = s.command(line).expect("the command runs");
        assert!(!out.contains("error:"), "{line}: {out}");
        out
    };
    let t0 = Instant::now();
    let there = cmd(&mut s, "until 99d -q");
    eprintln!("step_back: {} ({:.1} s)", there.trim(), t0.elapsed().as_secs_f64());
    eprintln!("step_back: history at day 99: {}", cmd(&mut s, "history").trim());

    let mut g = c.benchmark_group("step_back_identity_rotation_scale");
    g.sampling_mode(SamplingMode::Flat);
    g.bench_function("back_1", |b| {
        b.iter_custom(|iters| {
            let mut took = Duration::ZERO;
            for _ in 0..iters {
                let t = Instant::now();
                cmd(&mut s, "back 1");
                took += t.elapsed();
                cmd(&mut s, "next 1");
            }
            took
        })
    });
    g.bench_function("back_1000000", |b| {
        b.iter_custom(|iters| {
            let mut took = Duration::ZERO;
            for _ in 0..iters {
                let t = Instant::now();
                cmd(&mut s, "back 1000000");
                took += t.elapsed();
                cmd(&mut s, "until 99d -q");
            }
            took
        })
    });
    cmd(&mut s, "break at 98d");
    g.bench_function("reverse_continue_1_day", |b| {
        b.iter_custom(|iters| {
            let mut took = Duration::ZERO;
            for _ in 0..iters {
                let t = Instant::now();
                let out = cmd(&mut s, "reverse-continue");
                took += t.elapsed();
                assert!(out.contains("breakpoint 1 hit"), "{out}");
                cmd(&mut s, "until 99d -q");
            }
            took
        })
    });
    g.finish();
    eprintln!("step_back: history after the samples: {}", cmd(&mut s, "history").trim());
    eprintln!("step_back: peak memory (VmHWM) of the bench process: {}", common::peak_memory());
}

criterion_group! {
    name = benches;
    // 10 samples of one command each, after a short warm-up. No plots:
    // criterion's plotters backend panics when the machine has no fonts.
    config = common::long_runs();
    targets = step_back
}
criterion_main!(benches);
