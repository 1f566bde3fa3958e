//! Scenario files with `--set` overrides: every shipped scenario, with
//! numbers, lines and bytes edited and overrides of its own keys set to
//! hostile values; loaded, resolved, checked against a small memory budget
//! and, when accepted, started and stepped.

use crate::mutate::{INTERESTING, apply, mutation};
use crate::{fuzz, root};
use omerta_sim::models::open_study;
use omerta_sim::study::Scenario;
use omerta_sim::study::limits::{Available, check_footprint};
use proptest::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Dotted keys of a TOML table: tables, every entry of arrays as
/// `key[i]` (and of arrays of tables as `key[i].inner`), one index past the
/// end and the array itself.
fn keys(prefix: &str, t: &toml::Table, out: &mut Vec<String>) {
    for (k, v) in t {
        let name = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        match v {
            toml::Value::Table(inner) => keys(&name, inner, out),
            toml::Value::Array(a) => {
                for (i, e) in a.iter().enumerate() {
                    match e {
                        toml::Value::Table(inner) => keys(&format!("{name}[{i}]"), inner, out),
                        _ => out.push(format!("{name}[{i}]")),
                    }
                }
                out.push(format!("{name}[{}]", a.len()));
                out.push(name);
            }
            _ => out.push(name),
        }
    }
}

/// The memory a fuzzed scenario may ask for (the harness runs many).
const BUDGET: u64 = 512 << 20;

#[test]
fn fuzz_scenarios_with_overrides() {
    let files = omerta_sim::study::scenario::scenario_files(&root().join("models")).unwrap();
    let rel: Vec<PathBuf> = files.iter().map(|f| f.strip_prefix(root()).unwrap().to_path_buf()).collect();
    let corpus: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    // Overrides name keys of the file being edited (and sometimes another's).
    let keys_of: Vec<Vec<String>> = corpus
        .iter()
        .map(|c| {
            let mut k = Vec::new();
            keys("", &String::from_utf8_lossy(c).parse::<toml::Table>().unwrap(), &mut k);
            k
        })
        .collect();
    let sets = prop::collection::vec((any::<usize>(), prop::bool::weighted(0.9), 0..INTERESTING.len()), 0..3);
    let strategy = (mutation(corpus.len(), INTERESTING.len(), 3), sets);
    let stages: [AtomicU64; 4] = Default::default();
    fuzz("scenario", 4000, strategy, |((index, edits), sets)| {
        let bytes = apply(&corpus, *index, edits, INTERESTING);
        let sets: Vec<String> = sets
            .iter()
            .map(|&(k, own, v)| {
                let keys = &keys_of[if own { *index } else { k % keys_of.len() }];
                format!("{}={}", keys[k % keys.len()], INTERESTING[v])
            })
            .collect();
        let path: &Path = &rel[*index];
        std::panic::catch_unwind(|| {
            let Ok(text) = String::from_utf8(bytes) else { return };
            let Ok(scn) = Scenario::parse(&text, path, &sets) else { return };
            stages[0].fetch_add(1, Ordering::Relaxed);
            for s in scn.overrides() {
                let _ = scn.value_at(s.split_once('=').map_or(s.as_str(), |(k, _)| k));
            }
            let Ok(study) = open_study(scn) else { return };
            stages[1].fetch_add(1, Ordering::Relaxed);
            let _ = (study.settings(), study.horizon(), study.default_seeds(), study.grid_seeds());
            if check_footprint(path, &study.footprint(), 1, 1, Available::Measured(BUDGET)).is_err() {
                return;
            }
            stages[2].fetch_add(1, Ordering::Relaxed);
            let mut run = study.stepper(study.default_seeds().0);
            run.set_tracing(true);
            // At most 5,000 events or a second: an accepted scenario may be
            // legitimately large (a reference tick of 100,000 agents takes
            // tens of milliseconds).
            let t0 = std::time::Instant::now();
            for _ in 0..5000 {
                if run.step().is_none() || t0.elapsed().as_secs() >= 1 {
                    break;
                }
            }
            let _ = (run.describe(), run.agent_counts());
            stages[3].fetch_add(1, Ordering::Relaxed);
        })
        .map_err(|e| format!("panic: {}", crate::panic_text(e.as_ref())))
    });
    let [parsed, resolved, fit, stepped] = stages.map(|s| s.into_inner());
    eprintln!("fuzz scenario: {parsed} parsed, {resolved} resolved, {fit} within the memory budget, {stepped} stepped");
}
