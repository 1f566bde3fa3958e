//! `merge` inputs (a shard's `shard.json` and `outputs.jsonl`) and the files
//! `resume OUT` reads (`run.json`, `progress/seed-<S>.json`), mutated.

use crate::mutate::{INTERESTING, apply, mutation};
use crate::{fuzz, root};
use omerta_sim::models::open_study;
use omerta_sim::study::exec::{RunOptions, finish, run_seeds};
use omerta_sim::study::rundir::{Existing, Manifest, RunDir, RunState};
use omerta_sim::study::shard::{ShardSpec, gather, write_shard};
use omerta_sim::study::{Scenario, Study};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn study() -> Box<dyn Study> {
    let rel = Path::new("models/reliability_v2.toml");
    let text = std::fs::read_to_string(root().join(rel)).unwrap();
    open_study(Scenario::parse(&text, rel, &["rounds=2".into(), "round_hours=40".into()]).unwrap()).unwrap()
}

/// A real two-shard run and a real interrupted run folder, once.
struct Corpus {
    _dir: tempfile::TempDir,
    shards: PathBuf,
    run: PathBuf,
    /// (path relative to its tree, bytes)
    files: Vec<(PathBuf, Vec<u8>)>,
}

fn corpus() -> &'static Corpus {
    static C: OnceLock<Corpus> = OnceLock::new();
    C.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let s = study();
        let all: Vec<u64> = (1..=3).collect();
        let shards = dir.path().join("shards-run");
        for i in 0..2 {
            let shard = ShardSpec { index: i, count: 2 };
            let opts = RunOptions {
                seeds: shard.select(&all),
                jobs: 1,
                progress: omerta_sim::engine::progress::ProgressMode::None,
                snapshot_every: None,
                out: shards.clone(),
            };
            let outputs = run_seeds(s.as_ref(), &opts).unwrap();
            write_shard(s.as_ref(), shard, &all, &outputs, &shards).unwrap();
        }
        let run = dir.path().join("run");
        let mut rd =
            RunDir::prepare(&run, Manifest::new(s.as_ref(), all.clone(), all.clone(), None, None), Existing::Refuse)
                .unwrap();
        let out = s.run_seed(1, &omerta_sim::study::RunControl::quiet()).unwrap();
        rd.keep_output(&out).unwrap();
        rd.set_state(RunState::Interrupted).unwrap();
        drop(rd);
        let mut files = Vec::new();
        for rel in [
            "shards/0-of-2/shard.json",
            "shards/0-of-2/outputs.jsonl",
            "shards/1-of-2/shard.json",
            "shards/1-of-2/outputs.jsonl",
        ] {
            files.push((PathBuf::from(rel), std::fs::read(shards.join(rel)).unwrap()));
        }
        for rel in ["run.json", "progress/seed-1.json"] {
            files.push((PathBuf::from(rel), std::fs::read(run.join(rel)).unwrap()));
        }
        Corpus { _dir: dir, shards, run, files }
    })
}

fn copy_tree(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&p).unwrap();
            copy_tree(&e.path(), &p);
        } else {
            std::fs::copy(e.path(), &p).unwrap();
        }
    }
}

fn check(index: usize, bytes: &[u8]) -> Result<(), String> {
    let c = corpus();
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (rel, _) = &c.files[index];
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        if index < 4 {
            copy_tree(&c.shards, tmp.path());
            std::fs::write(tmp.path().join(rel), bytes).unwrap();
            if let Ok((study, outputs)) = gather(&[tmp.path().to_path_buf()], |s| Ok(open_study(s)?)) {
                let _ = finish(study.as_ref(), outputs, &tmp.path().join("report"));
            }
        } else {
            copy_tree(&c.run, tmp.path());
            std::fs::write(tmp.path().join(rel), bytes).unwrap();
            if let Ok(dir) = RunDir::reopen(tmp.path()) {
                let m = dir.manifest().clone();
                for &s in &m.seeds {
                    let _ = dir.kept_output(s);
                }
                if let Ok(scn) = Scenario::parse(&m.scenario_toml, Path::new(&m.scenario_path), &[]) {
                    let _ = open_study(scn);
                }
            }
        }
    }));
    caught.map_err(|e| format!("panic: {}", crate::panic_text(e.as_ref())))
}

#[test]
fn fuzz_merge_and_run_folder_inputs() {
    let c = corpus();
    let corpus: Vec<Vec<u8>> = c.files.iter().map(|(_, b)| b.clone()).collect();
    let n = corpus.len();
    fuzz("merge", 1000, mutation(n, INTERESTING.len(), 6), |(index, edits)| {
        let bytes = apply(&corpus, *index, edits, INTERESTING);
        check(*index, &bytes)
    });
}
