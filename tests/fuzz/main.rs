//! Fuzz harnesses on the stable toolchain: proptest mutates real inputs
//! (the shipped scenario files with `--set` overrides, real snapshots of
//! every study kind, the golden trust traces, real shard and run-folder
//! files, an explore plan of each design, an exploration folder and the
//! search flags) and each harness checks that the
//! reader answers with a value or an error, never a panic, a hang or a
//! runaway allocation.
//!
//! - Short pass (CI, part of `cargo test --release`): a fixed number of
//!   inputs per harness from fixed seeds, so the pass is deterministic.
//! - Long pass: `OMERTA_FUZZ_SECONDS=600 cargo test --release --test fuzz --
//!   --nocapture --test-threads 1` runs each harness for that many seconds
//!   with fresh seeds and prints the inputs tried; `OMERTA_FUZZ_CASES=N`
//!   sets the number of inputs of a short pass.
//!
//! A failing input is printed shrunk (the corpus entry and the fewest edits
//! that fail); each one found becomes a regression test in `tests/it`.

mod explore_folder;
mod merge;
mod mutate;
mod plan;
mod scenario;
mod snapshot;
mod step;
mod trace;

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The crate root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The longest one input may take before the harness calls it a hang.
const HANG: Duration = Duration::from_secs(30);

type Active = BTreeMap<String, (Instant, String)>;

fn active() -> &'static Mutex<Active> {
    static A: OnceLock<Mutex<Active>> = OnceLock::new();
    A.get_or_init(|| {
        std::thread::spawn(|| {
            loop {
                std::thread::sleep(Duration::from_secs(1));
                let a = active().lock().unwrap_or_else(|e| e.into_inner());
                for (name, (t0, input)) in a.iter() {
                    if t0.elapsed() > HANG {
                        eprintln!("fuzz {name}: an input ran for more than {HANG:?} (a hang): {input}");
                        std::process::abort();
                    }
                }
            }
        });
        Mutex::new(BTreeMap::new())
    })
}

/// Run `target` on inputs drawn from `strategy`: `cases` of them from a
/// fixed seed, or, with `OMERTA_FUZZ_SECONDS`, as many as fit in that time.
/// Fails (with the shrunk input) if `target` returns an error or panics.
pub fn fuzz<S>(name: &str, cases: u32, strategy: S, target: impl Fn(&S::Value) -> Result<(), String>)
where
    S: Strategy,
    S::Value: std::fmt::Debug,
{
    let seconds: Option<u64> = std::env::var("OMERTA_FUZZ_SECONDS").ok().and_then(|s| s.parse().ok());
    let cases: u32 = std::env::var("OMERTA_FUZZ_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(cases);
    let t0 = Instant::now();
    let mut tried: u64 = 0;
    let tried_cell = std::cell::Cell::new(0u64);
    for round in 0u64.. {
        let per_round = if seconds.is_some() { 200 } else { cases };
        let config = Config { cases: per_round, failure_persistence: None, max_shrink_iters: 500, ..Config::default() };
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&round.to_le_bytes());
        seed[8..16].copy_from_slice(&crate_hash(name).to_le_bytes());
        if seconds.is_some() {
            // Fresh seeds for a long run, printed so a failure can be replayed.
            let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
            seed[16..24].copy_from_slice(&t.to_le_bytes());
        }
        let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
        let result = runner.run(&strategy, |v| {
            tried_cell.set(tried_cell.get() + 1);
            active()
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(name.to_string(), (Instant::now(), format!("{v:?}")));
            let r = target(&v);
            active().lock().unwrap_or_else(|e| e.into_inner()).remove(name);
            r.map_err(TestCaseError::fail)
        });
        active().lock().unwrap_or_else(|e| e.into_inner()).remove(name);
        tried = tried_cell.get();
        if let Err(e) = result {
            panic!("fuzz {name}: failing input after {tried} inputs (seed {seed:?}): {e}");
        }
        match seconds {
            Some(s) if t0.elapsed().as_secs() < s => continue,
            _ => break,
        }
    }
    eprintln!("fuzz {name}: {tried} inputs in {:.1}s, no failure", t0.elapsed().as_secs_f64());
}

fn crate_hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

/// The panic message of a caught panic.
pub fn panic_text(e: &(dyn std::any::Any + Send)) -> String {
    e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default()
}
