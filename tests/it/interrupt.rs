//! Interrupted runs keep their work and continue to the same bytes: runs
//! stopped at random points (in process, and by real SIGINT/SIGTERM in a
//! child process), continued with `resume OUT`, sharded or not, for every
//! study kind; output folders are locked, checked and never mixed.

use super::{root, run_bin, scenario, text};
use omerta_sim::engine::progress::ProgressMode;
use omerta_sim::models::{open_snapshot, open_study};
use omerta_sim::study::exec::{FolderEnd, FolderRun, run_folder};
use omerta_sim::study::rundir::{Existing, Manifest, RunDir, RunState};
use omerta_sim::study::shard::ShardSpec;
use omerta_sim::study::{Stepper, StopCheck, Study};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// One small scenario of every study kind.
const KINDS: &[(&str, &[&str])] = &[
    ("reliability_basic.toml", &["iterations=2", "round_hours=50"]),
    ("reliability_equilibrium_reference.toml", &["rounds=3"]),
    ("reliability_v2.toml", &["rounds=3"]),
    ("economic_value.toml", &["duration_hours=20"]),
    ("identity_rotation.toml", &[]),
    ("trust_dynamics.toml", &["scenarios=[\"new_entrant\", \"sybil_attack\"]"]),
    ("failure_modes/crisis.toml", &[]),
    ("monetary_policy.toml", &["days=60", "monetary_policy.experiments=[\"baseline\", \"hoarding\"]"]),
    ("monetary_policy_iteration2.toml", &[]),
    ("monetary_policy/fs/baseline.toml", &["full_study.iterations=1", "full_study.samples=3"]),
];

/// Every file under `dir` (relative path -> bytes), without the lock file
/// (it holds a process id), with the folder's own path replaced by `OUT`
/// and the wall-time column of `runs.csv` (a timing field) blanked.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
                continue;
            }
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if rel.ends_with(".omerta-sim.lock") {
                continue;
            }
            let mut bytes = std::fs::read(&p).unwrap();
            // Reports may name their own folder.
            if let Ok(t) = String::from_utf8(bytes.clone()) {
                bytes = t.replace(root.to_str().unwrap(), "OUT").into_bytes();
            }
            if rel.ends_with("runs.csv") {
                let text = String::from_utf8(bytes).unwrap();
                let blank: Vec<String> =
                    text.lines().map(|l| l.rsplit_once(',').map_or(l, |(a, _)| a).to_string()).collect();
                bytes = blank.join("\n").into_bytes();
            }
            out.insert(rel, bytes);
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn assert_same_tree(a: &Path, b: &Path, what: &str) {
    let (ta, tb) = (tree(a), tree(b));
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>(), "{what}: the files differ");
    for (k, v) in &ta {
        assert!(v == &tb[k], "{what}: {k} differs");
    }
}

fn load(p: &Path) -> anyhow::Result<Box<dyn Stepper>> {
    Ok(open_snapshot(p)?.1)
}

/// Run the folder's run, stopping after `stops[i]` stop checks in round i,
/// until it finishes (or, unless `finish`, until the stops are used up);
/// returns how many rounds were interrupted.
fn run_with_stops(
    study: &dyn Study,
    folder: &Path,
    manifest: &Manifest,
    stops: &[u64],
    jobs: usize,
    finish: bool,
) -> usize {
    let mut interrupted = 0;
    for round in 0.. {
        if !finish && round == stops.len() {
            return interrupted;
        }
        let mut dir = RunDir::prepare(folder, manifest.clone(), Existing::Refuse).unwrap();
        assert_eq!(dir.continuing, round > 0, "round {round}");
        let stop = match stops.get(round) {
            Some(&k) => {
                let calls = Arc::new(AtomicU64::new(0));
                StopCheck::when(move || calls.fetch_add(1, Ordering::Relaxed) >= k)
            }
            None => StopCheck::never(),
        };
        let opts = FolderRun { jobs, progress: ProgressMode::None, stop, load: &load, start_from: None };
        match run_folder(study, &mut dir, &opts).unwrap() {
            FolderEnd::Finished(_) => {
                assert_eq!(dir.manifest().state, RunState::Finished);
                assert!(!folder.join("progress").exists(), "progress/ is removed at the end");
                return interrupted;
            }
            FolderEnd::Interrupted(r) => {
                interrupted += 1;
                assert_eq!(
                    r.finished.len() + r.stopped.len() + r.not_started.len(),
                    manifest.seeds.len(),
                    "every seed is accounted for"
                );
                for (s, _) in &r.stopped {
                    assert!(folder.join(format!("progress/seed-{s}.snap")).exists());
                }
                for s in &r.finished {
                    assert!(folder.join(format!("progress/seed-{s}.json")).exists());
                }
                assert_eq!(Manifest::read(folder).unwrap().unwrap().state, RunState::Interrupted);
            }
        }
    }
    unreachable!("the loop returns")
}

fn manifest_of(study: &dyn Study, seeds: Vec<u64>, shard: Option<ShardSpec>) -> Manifest {
    let mine = shard.map_or(seeds.clone(), |s| s.select(&seeds));
    Manifest::new(study, mine, seeds, shard, None)
}

/// Interrupted at random points (several times), continued: every file
/// byte-identical to the run that never stopped, for every study kind, with
/// one and two worker threads.
#[test]
fn interrupted_runs_continue_to_the_same_bytes_for_every_study() {
    let mut rng = 0x5eed_u64;
    let mut next = |m: u64| {
        rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (rng >> 33) % m
    };
    for (file, sets) in KINDS {
        let study = open_study(scenario(file, sets)).unwrap();
        let seeds: Vec<u64> = match study.grid_seeds() {
            Some(g) => g,
            None => (1..=3).collect(),
        };
        let tmp = tempfile::tempdir().unwrap();
        let whole = tmp.path().join("whole");
        let m = manifest_of(study.as_ref(), seeds.clone(), None);
        assert_eq!(run_with_stops(study.as_ref(), &whole, &m, &[], 1, true), 0);
        for (case, jobs) in [(0, 1), (1, 2)] {
            let cut = tmp.path().join(format!("cut{case}"));
            let stops: Vec<u64> = (0..3).map(|i| if i == 0 { 1 + next(4) } else { 1 + next(40) }).collect();
            let n = run_with_stops(study.as_ref(), &cut, &m, &stops, jobs, true);
            assert!(n >= 1, "{file}: the run was never interrupted");
            assert_same_tree(&whole, &cut, &format!("{file} stopped at checks {stops:?}, jobs {jobs}"));
        }
    }
}

/// A sharded run whose shards are interrupted and continued merges to the
/// same report as the unsharded run.
#[test]
fn interrupted_shards_merge_to_the_unsharded_report() {
    let dir = tempfile::tempdir().unwrap();
    let d = |s: &str| dir.path().join(s).to_str().unwrap().to_string();
    let (file, set) = ("models/economic_value.toml", "duration_hours=20");
    let whole = d("whole");
    let o = run_bin(&["run", file, "--set", set, "--seeds", "5", "--progress", "none", "--out", &whole]);
    assert!(o.status.success(), "{:?}", text(&o));
    let study = open_study(scenario("economic_value.toml", &[set])).unwrap();
    let out = dir.path().join("sharded");
    for i in 0..2 {
        let shard = ShardSpec { index: i, count: 2 };
        let m = manifest_of(study.as_ref(), (1..=5).collect(), Some(shard));
        let stops: &[u64] = if i == 0 { &[1, 3] } else { &[] };
        run_with_stops(study.as_ref(), &shard.dir(&out), &m, stops, 1, true);
    }
    let o = run_bin(&["merge", out.to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
    let a = std::fs::read(Path::new(&whole).join("results.json")).unwrap();
    let b = std::fs::read(out.join("results.json")).unwrap();
    assert!(a == b, "merged results.json differs from the unsharded one");
}

/// A scenario whose seeds take long enough to interrupt by a signal.
fn slow_run(out: &Path) -> Command {
    let mut c = super::bin();
    c.args(["run", "models/reliability_v2.toml", "--seeds", "4", "--jobs", "1", "--set", "rounds=1500"]).args([
        "--progress",
        "none",
        "--out",
        out.to_str().unwrap(),
    ]);
    c
}

fn wait_for_files(dir: &Path, n: usize, timeout: Duration) {
    let t0 = Instant::now();
    loop {
        let k = std::fs::read_dir(dir)
            .map(|it| it.flatten().filter(|e| e.path().extension().is_some_and(|x| x == "json")).count())
            .unwrap_or(0);
        if k >= n {
            return;
        }
        assert!(t0.elapsed() < timeout, "{n} seeds did not finish within {timeout:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill").args([&format!("-{sig}"), &pid.to_string()]).status().unwrap().success();
    assert!(ok, "kill -{sig} {pid}");
}

/// SIGINT after two of four seeds finished, then SIGTERM in the resumed run:
/// each keeps the work done, says how to continue, and the continued run's
/// files equal those of a run that was never stopped.
#[test]
fn signals_keep_the_work_and_resume_gives_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole");
    let o = slow_run(&whole).output().unwrap();
    assert!(o.status.success(), "{:?}", text(&o));

    let out = dir.path().join("cut");
    let child = slow_run(&out).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    wait_for_files(&out.join("progress"), 2, Duration::from_secs(120));
    std::thread::sleep(Duration::from_millis(300));
    signal(child.id(), "INT");
    let o = child.wait_with_output().unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted: kept"), "{err}");
    let cont = format!("continue with: omerta-sim resume {}", out.display());
    assert!(err.contains(&cont), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!out.join("results.json").exists(), "no report from an interrupted run");
    let kept = std::fs::read_dir(out.join("progress")).unwrap().count();
    assert!(kept >= 3, "finished seeds and a snapshot of the running one are kept ({kept} files): {err}");
    assert!(err.contains("at their current event"), "{err}");
    assert!(omerta_sim::engine::atomic::temps_in(&out.join("progress")).is_empty());

    // Continue, and stop again with SIGTERM while it runs.
    let mut c = super::bin();
    c.args(["resume", out.to_str().unwrap(), "--progress", "none", "--jobs", "1"]);
    let child = c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    signal(child.id(), "TERM");
    let o = child.wait_with_output().unwrap();
    let (_, err) = text(&o);
    if o.status.code() == Some(143) {
        assert!(err.contains("SIGTERM") && err.contains(&cont), "{err}");
    } else {
        // The rest of the run finished before the signal arrived.
        assert!(o.status.success(), "{err}");
    }
    let o = run_bin(&["resume", out.to_str().unwrap(), "--progress", "none"]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert_same_tree(&whole, &out, "interrupted by signals and resumed");
}

/// A second signal exits at once and leaves no temporary file behind.
#[test]
fn a_second_signal_exits_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cut");
    let child = slow_run(&out).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    wait_for_files(&out, 1, Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(200));
    signal(child.id(), "INT");
    signal(child.id(), "INT");
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{:?}", text(&o));
    assert!(!text(&o).1.contains("panicked"));
    for d in [out.clone(), out.join("progress")] {
        assert!(omerta_sim::engine::atomic::temps_in(&d).is_empty(), "temporary files left in {}", d.display());
    }
}

/// `run` into a folder: locked while in use, refused if it holds another
/// run's outputs (unless --force, which keeps unrelated files), refused if
/// it is a file or cannot be created; the same run, interrupted, continues.
#[test]
fn output_folders_are_locked_checked_and_never_mixed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o_s = out.to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "run",
            "models/reliability_v2.toml",
            "--set",
            "rounds=2",
            "--seeds",
            "2",
            "--progress",
            "none",
            "--out",
            o_s,
        ];
        args.extend(extra);
        run_bin(&args)
    };
    // In use: another holder of the lock.
    let study = open_study(scenario("reliability_v2.toml", &["rounds=2"])).unwrap();
    let held = RunDir::prepare(&out, manifest_of(study.as_ref(), vec![1, 2], None), Existing::Refuse).unwrap();
    let o = run(&[]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("is in use by another omerta-sim run") && err.contains(&format!("process {}", std::process::id())),
        "{err}"
    );
    drop(held);
    // The same run, never finished: continued.
    let o = run(&[]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(text(&o).1.contains("continuing the interrupted run"), "{:?}", text(&o));
    // Finished: refused, also for another scenario; --force replaces.
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    for extra in [&[][..], &["--set", "rounds=3"][..]] {
        let o = run(extra);
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(err.contains("use --force to replace them"), "{err}");
    }
    let before = std::fs::read(out.join("results.json")).unwrap();
    let o = run(&["--set", "rounds=3", "--force"]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert_ne!(std::fs::read(out.join("results.json")).unwrap(), before);
    assert_eq!(std::fs::read_to_string(out.join("notes.txt")).unwrap(), "mine", "--force keeps unrelated files");
    // A folder of an older build's run (no manifest): refused, --force clears.
    let old = dir.path().join("old");
    std::fs::create_dir_all(old.join("snapshots")).unwrap();
    std::fs::write(old.join("results.json"), "{}").unwrap();
    std::fs::write(old.join("thresholds.csv"), "x").unwrap();
    let o = run_bin(&[
        "run",
        "models/reliability_v2.toml",
        "--set",
        "rounds=2",
        "--seeds",
        "1",
        "--progress",
        "none",
        "--out",
        old.to_str().unwrap(),
    ]);
    assert!(text(&o).1.contains("holds the outputs of an earlier run (results.json)"), "{:?}", text(&o));
    // A file, not a folder; a folder that cannot be created.
    let file = dir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let o = run_bin(&["run", "models/reliability_v2.toml", "--seeds", "1", "--out", file.to_str().unwrap()]);
    assert!(text(&o).1.contains("is a file, not a folder"), "{:?}", text(&o));
    let o =
        run_bin(&["run", "models/reliability_v2.toml", "--seeds", "1", "--out", file.join("sub").to_str().unwrap()]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(err.contains("cannot create the output folder"), "{err}");
    assert!(!err.contains("panicked"));
}

/// Seeds, snapshot periods and resume arguments are checked before anything
/// runs.
#[test]
fn run_and_resume_arguments_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let o_s = out.to_str().unwrap();
    let fails = |args: &[&str], needle: &str| {
        let o = run_bin(args);
        let (_, err) = text(&o);
        // 2: refused by the argument parser; 1: refused when checked.
        assert!(matches!(o.status.code(), Some(1 | 2)), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: expected `{needle}` in {err}");
        assert!(!err.contains("panicked"), "{err}");
    };
    let v2 = "models/reliability_v2.toml";
    fails(&["run", v2, "--seeds", "18446744073709551614", "--out", o_s], "from 1 to 1000000");
    fails(&["run", v2, "--seeds", "18446744073709551615", "--out", o_s], "from 1 to 1000000");
    fails(&["run", v2, "--jobs", "100000", "--out", o_s], "--jobs must be a whole number from 0 to 1024");
    fails(&["run", v2, "--seeds", "0", "--out", o_s], "--seeds must be a whole number from 1");
    fails(&["run", v2, "--snapshot-every", "0.0001h", "--out", o_s], "finer than snapshot file names");
    fails(&["run", v2, "--snapshot-every", "0.01h", "--out", o_s], "snapshots of every seed");
    fails(&["run", v2, "--snapshot-every", "0", "--out", o_s], "greater than 0");
    assert!(!out.exists(), "nothing is created for refused arguments");
    fails(&["resume", dir.path().to_str().unwrap()], "is not a run folder");
    let snap = root().join("snapshots/reliability_v2_reference-seed1-10h.snap");
    fails(&["resume", snap.to_str().unwrap(), "--shard", "0/2"], "--shard applies to a run folder");
    let o = run_bin(&["run", v2, "--set", "rounds=2", "--seeds", "2", "--progress", "none", "--out", o_s]);
    assert!(o.status.success());
    fails(&["resume", o_s, "--until", "5h"], "--until applies to a snapshot file");
    let o = run_bin(&["resume", o_s]);
    assert!(o.status.success());
    assert!(text(&o).1.contains("is finished; nothing to resume"));
}

/// `resume --snapshot-every` keeps checkpointing a continued run, and
/// `resume FILE.snap` still continues one seed (and is itself resumable).
#[test]
fn resume_keeps_checkpointing_and_snapshot_files_still_resume() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let study = open_study(scenario("reliability_v2.toml", &["rounds=4"])).unwrap();
    let m = manifest_of(study.as_ref(), vec![1, 2], None);
    assert_eq!(run_with_stops(study.as_ref(), &out, &m, &[1], 1, false), 1);
    let o = run_bin(&["resume", out.to_str().unwrap(), "--snapshot-every", "200h", "--progress", "none"]);
    assert!(o.status.success(), "{:?}", text(&o));
    let snaps = std::fs::read_dir(out.join("snapshots")).unwrap().count();
    assert_eq!(snaps, 2 * 3, "three snapshots of each seed over 800h");
    let snap = out.join("snapshots/reliability_v2-seed2-400h.snap");
    let single = dir.path().join("single");
    let o = run_bin(&["resume", snap.to_str().unwrap(), "--out", single.to_str().unwrap(), "--progress", "none"]);
    assert!(o.status.success(), "{:?}", text(&o));
    // seeds.csv: seed, simulated time, events, fingerprint, state hash.
    let row = |dir: &Path, seed: &str| -> String {
        let t = std::fs::read_to_string(dir.join("seeds.csv")).unwrap();
        t.lines().find(|l| l.starts_with(&format!("{seed},"))).unwrap().to_string()
    };
    assert_eq!(row(&single, "2"), row(&out, "2"), "seed 2 resumed from its snapshot ends in the same state");
    let one: serde_json::Value = serde_json::from_slice(&std::fs::read(single.join("results.json")).unwrap()).unwrap();
    assert_eq!(one["seeds"], serde_json::json!([2]));
    // Finished results are not replaced without --force.
    let o = run_bin(&["resume", snap.to_str().unwrap(), "--out", single.to_str().unwrap(), "--progress", "none"]);
    assert_eq!(o.status.code(), Some(1));
}

/// `merge` says which shard is unfinished and how to finish it.
#[test]
fn merge_names_an_unfinished_shard() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sh");
    let study = open_study(scenario("reliability_v2.toml", &["rounds=3"])).unwrap();
    let shard = ShardSpec { index: 1, count: 2 };
    let m = manifest_of(study.as_ref(), vec![1, 2, 3, 4], Some(shard));
    let mut d = RunDir::prepare(&shard.dir(&out), m, Existing::Refuse).unwrap();
    d.set_state(RunState::Interrupted).unwrap();
    drop(d);
    let o = run_bin(&["merge", out.to_str().unwrap()]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(err.contains("shard 1/2 (seeds 2, 4): unfinished (its run is `interrupted`: stopped by a signal"), "{err}");
    assert!(err.contains(&format!("omerta-sim resume {}", shard.dir(&out).display())), "{err}");
}
