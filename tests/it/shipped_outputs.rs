//! Every shipped scenario gives the metrics and findings it gave when the
//! fixtures `tests/data/shipped_outputs*.json` were written: refactors of the
//! study framework, the models and their data structures must not change a
//! single value.
//!
//! Each scenario under `models/` runs its first seed (the first of its
//! grid for the full study) in process, and every metric value (to the last
//! bit: values are kept as Rust's shortest round-trip text) and every
//! finding predicate is compared with the fixture. The scale scenarios take
//! minutes per seed and run only in the ignored test:
//!
//! ```text
//! cargo test --release --test it shipped_outputs -- --include-ignored
//! ```
//!
//! A change that is meant to change results rewrites the fixture with
//! `OMERTA_BLESS=1` set (same command) and says so in its commit. Charts
//! and intervals are not compared: only what each seed computes.

use super::root;
use omerta_sim::models::open_study;
use omerta_sim::report::results::SeedOutput;
use omerta_sim::study::Scenario;
use omerta_sim::study::exec::{RunOptions, run_seeds};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Scenarios that take minutes per seed.
const HEAVY: &[&str] =
    &["models/economic_value_scale.toml", "models/identity_rotation_scale.toml", "models/reliability_v2_scale.toml"];

type Record = BTreeMap<String, BTreeMap<String, String>>;

fn fixture_path(name: &str) -> PathBuf {
    root().join("tests/data").join(name)
}

/// Metrics (`metric.<name>`) and findings (`finding.<id>`) of one seed, as
/// exact text.
fn record(out: &SeedOutput) -> BTreeMap<String, String> {
    let mut r = BTreeMap::new();
    for (k, v) in out.metrics.iter().filter(|(k, _)| !timing(k)) {
        r.insert(format!("metric.{k}"), v.map_or_else(|| "undefined".to_string(), |x| format!("{x:?}")));
    }
    for (k, v) in &out.findings {
        let s = match v {
            Some(true) => "held",
            Some(false) => "not held",
            None => "cannot compute",
        };
        r.insert(format!("finding.{k}"), s.to_string());
    }
    r
}

/// Wall-clock metrics (e.g. the identity-rotation scale run's
/// `scale.detect_seconds`, `scale.transfers_per_second`): not results.
fn timing(key: &str) -> bool {
    key.ends_with("_seconds") || key.ends_with("per_second")
}

fn scenario_files() -> Vec<String> {
    let files = omerta_sim::study::scenario::scenario_files(&root().join("models")).expect("models/ lists");
    files.iter().map(|f| f.strip_prefix(root()).expect("under the root").to_string_lossy().replace('\\', "/")).collect()
}

/// Run the first seed of `file` and record it under `seed <n>`.
fn run_first_seed(file: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let text = std::fs::read_to_string(root().join(file)).expect("scenario reads");
    let scenario = Scenario::parse(&text, Path::new(file), &[]).expect("scenario loads");
    let study = open_study(scenario).expect("study resolves");
    let seed = match study.grid_seeds() {
        Some(g) => g[0],
        None => study.default_seeds().0,
    };
    let dir = std::env::temp_dir().join(format!("omerta-shipped-{}", std::process::id()));
    let opts = RunOptions {
        seeds: vec![seed],
        jobs: 1,
        progress: omerta_sim::engine::progress::ProgressMode::None,
        snapshot_every: None,
        out: dir,
    };
    let outputs = run_seeds(study.as_ref(), &opts).expect("seed runs");
    // Findings are keyed by id: each one a seed judges must be defined
    // (`aggregate` reports only the defined ones).
    for id in outputs[0].findings.keys() {
        assert!(study.findings().iter().any(|f| f.id == id), "{file}: finding `{id}` is judged but not defined");
    }
    let mut m = BTreeMap::new();
    m.insert(format!("seed {seed}"), record(&outputs[0]));
    m
}

fn check(files: &[String], fixture_name: &str) {
    let bless = std::env::var_os("OMERTA_BLESS").is_some();
    let path = fixture_path(fixture_name);
    let mut fixture: Record = match std::fs::read_to_string(&path) {
        Ok(t) => serde_json::from_str::<BTreeMap<String, Record>>(&t)
            .expect("fixture parses")
            .into_iter()
            .flat_map(|(file, seeds)| seeds.into_iter().map(move |(s, r)| (format!("{file} {s}"), r)))
            .collect(),
        Err(_) if bless => Record::new(),
        Err(e) => panic!("{}: {e} (write it with OMERTA_BLESS=1)", path.display()),
    };
    let mut problems = Vec::new();
    for file in files {
        for (seed, now) in run_first_seed(file) {
            let key = format!("{file} {seed}");
            if bless {
                fixture.insert(key, now);
                continue;
            }
            let Some(then) = fixture.get(&key) else {
                problems.push(format!("{key}: not in the fixture (run with OMERTA_BLESS=1 to add it)"));
                continue;
            };
            for (k, v) in then.iter().filter(|(k, _)| !timing(k)) {
                match now.get(k) {
                    None => problems.push(format!("{key}: {k} is gone (was {v})")),
                    Some(w) if w != v => problems.push(format!("{key}: {k} was {v}, now {w}")),
                    _ => {}
                }
            }
            for k in now.keys().filter(|k| !then.contains_key(*k)) {
                problems.push(format!("{key}: {k} is new"));
            }
        }
    }
    if bless {
        let mut nested: BTreeMap<String, Record> = BTreeMap::new();
        for (key, r) in fixture {
            let (file, seed) = key.split_once(' ').expect("file and seed");
            nested.entry(file.to_string()).or_default().insert(seed.to_string(), r);
        }
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, serde_json::to_string_pretty(&nested).unwrap() + "\n").unwrap();
        return;
    }
    let shown: Vec<&String> = problems.iter().take(40).collect();
    assert!(problems.is_empty(), "{} differences from the fixture:\n{shown:#?}", problems.len());
}

#[test]
fn shipped_scenarios_give_the_recorded_metrics_and_findings() {
    let files: Vec<String> = scenario_files().into_iter().filter(|f| !HEAVY.contains(&f.as_str())).collect();
    assert!(files.len() >= 40, "expected every shipped scenario, found {}", files.len());
    check(&files, "shipped_outputs.json");
}

#[test]
#[ignore = "minutes per scenario; run with --include-ignored"]
fn scale_scenarios_give_the_recorded_metrics_and_findings() {
    for f in HEAVY {
        assert!(scenario_files().iter().any(|x| x == f), "{f} is shipped");
    }
    let files: Vec<String> = HEAVY.iter().map(|s| s.to_string()).collect();
    check(&files, "shipped_outputs_scale.json");
}
