//! An exploration's folder (`explore.json`, `runs.jsonl`) as `explore`
//! continues it and `merge` reads it, mutated; and the `--where` and
//! `--range` values of a tipping-point search.

use crate::mutate::{INTERESTING, apply, mutation};
use crate::{fuzz, root};
use omerta_sim::engine::progress::ProgressMode;
use omerta_sim::explore::exec::{Base, Exec, Point, RunLog, open_points};
use omerta_sim::explore::find::{Condition, Range};
use omerta_sim::explore::folder::{Folder, Manifest, read_manifest};
use omerta_sim::study::StopCheck;

/// A real exploration folder's two files, made once.
fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = tempfile::tempdir().unwrap();
    let base = Base::load(&root().join("models/mm1.toml"), &["hours=200".into()]).unwrap();
    let m = Manifest {
        format: omerta_sim::explore::folder::FORMAT.into(),
        scenario: "models/mm1.toml".into(),
        scenario_hash: base.scenario.hash(),
        sets: base.sets.clone(),
        kind: "plan".into(),
        plan: Some("plan.toml".into()),
        what: "design = \"lhs\"\npoints = 2\n[factors]\narrival_rate = { min = 0.1, max = 0.5 }\n".into(),
        seeds: vec![1, 2],
        shard: None,
    };
    let (folder, _) = Folder::prepare(dir.path(), &m, false).unwrap();
    let points = (0..2)
        .map(|id| Point { id, values: vec![("arrival_rate".into(), toml::Value::Float(0.1 + 0.2 * id as f64))] })
        .collect();
    let mut runs = open_points(&base, points).unwrap();
    let mut exec = Exec {
        jobs: 1,
        progress: ProgressMode::None,
        stop: StopCheck::never(),
        log: Some(&folder.log),
        done: Default::default(),
    };
    exec.run(&mut runs, &[(0, vec![1, 2]), (1, vec![1, 2])]).unwrap();
    drop(folder);
    ["explore.json", "runs.jsonl"].iter().map(|f| (f.to_string(), std::fs::read(dir.path().join(f)).unwrap())).collect()
}

const WORDS: &[&str] = &["\"seed\":", "\"point\":", "\"sets\":", "null", "{}", "[]", "\n", "\"shard\":", "1e999"];

#[test]
fn fuzz_explore_folders() {
    let files = corpus();
    let bytes: Vec<Vec<u8>> = files.iter().map(|(_, b)| b.clone()).collect();
    let tokens: Vec<&str> = INTERESTING.iter().chain(WORDS).copied().collect();
    fuzz("explore_folder", 400, mutation(bytes.len(), tokens.len(), 4), |(index, edits)| {
        let mutated = apply(&bytes, *index, edits, &tokens);
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        for (k, (name, b)) in files.iter().enumerate() {
            std::fs::write(dir.path().join(name), if k == *index { &mutated } else { b }).map_err(|e| e.to_string())?;
        }
        std::panic::catch_unwind(|| {
            let _ = read_manifest(dir.path());
            let _ = RunLog::open(dir.path());
        })
        .map_err(|e| format!("panic: {}", crate::panic_text(e.as_ref())))
    });
}

#[test]
fn fuzz_search_flags() {
    let corpus: Vec<Vec<u8>> = ["a.b.c < 1.5", "F1 >= 0.9", "x<=-2", "0.01,0.5", "5, 40", "-3,2"]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
    let tokens: Vec<&str> = INTERESTING.iter().copied().chain([",", "<", ">=", " ", "."]).collect();
    fuzz("search_flags", 5000, mutation(corpus.len(), tokens.len(), 4), |(index, edits)| {
        let b = apply(&corpus, *index, edits, &tokens);
        let Ok(s) = String::from_utf8(b) else { return Ok(()) };
        std::panic::catch_unwind(|| {
            if let Ok(c) = s.parse::<Condition>() {
                assert!(c.target.is_finite() && !c.name.is_empty());
            }
            if let Ok(r) = s.parse::<Range>() {
                assert!(r.lo < r.hi && r.lo.is_finite() && r.hi.is_finite());
            }
        })
        .map_err(|e| format!("panic on {s:?}: {}", crate::panic_text(e.as_ref())))
    });
}
