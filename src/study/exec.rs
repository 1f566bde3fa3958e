//! Many seeds of a study, in parallel, aggregated into `results.json`, CSV
//! tables, charts and a Markdown summary.

use super::run::{DriveEnd, RunControl, Stepper, StopCheck, Study};
use super::rundir::{RunDir, RunState};
use crate::engine::SimTime;
use crate::engine::progress::{Progress, ProgressMode, Tracker};
use crate::report::results::{Results, SeedOutput, aggregate, write_atomic, write_results, write_tables};
use anyhow::Context;
use rayon::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// How to run a study.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Master seeds, in report order.
    pub seeds: Vec<u64>,
    /// Worker threads (0 = all cores).
    pub jobs: usize,
    /// Progress display.
    pub progress: ProgressMode,
    /// Snapshot period in ticks.
    pub snapshot_every: Option<u64>,
    /// Output directory.
    pub out: PathBuf,
}

/// What a finished study produced.
pub struct StudyOutput {
    /// The results contract.
    pub results: Results,
    /// Per-seed outputs.
    pub outputs: Vec<SeedOutput>,
    /// The Markdown summary.
    pub markdown: String,
}

/// Run every seed (in parallel; results do not depend on `jobs`).
pub fn run_seeds(study: &dyn Study, opts: &RunOptions) -> anyhow::Result<Vec<SeedOutput>> {
    let total = study.horizon().ticks().saturating_mul(opts.seeds.len() as u64);
    let progress = Progress::start(opts.progress, study.id(), total, opts.seeds.len() as u64, study.time_unit());
    let ctl = RunControl {
        tracker: progress.tracker(),
        snapshot_every: opts.snapshot_every,
        snapshot_dir: opts.out.join("snapshots"),
        stop: StopCheck::never(),
    };
    let pool = thread_pool(opts.jobs)?;
    let outputs: anyhow::Result<Vec<SeedOutput>> = pool.install(|| {
        opts.seeds
            .par_iter()
            .map(|&seed| {
                let out = study.run_seed(seed, &ctl).with_context(|| format!("seed {seed}"));
                ctl.tracker.run_done();
                out
            })
            .collect()
    });
    progress.finish();
    outputs
}

/// A pool of `jobs` worker threads (0: one per core).
pub fn thread_pool(jobs: usize) -> anyhow::Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new().num_threads(jobs).build().map_err(|e| {
        let n = if jobs == 0 { "one per core".to_string() } else { jobs.to_string() };
        anyhow::anyhow!("--jobs {jobs}: cannot start the worker threads ({n}): {e}")
    })
}

/// Aggregate outputs into the results contract.
pub fn results_of(study: &dyn Study, outputs: &[SeedOutput]) -> Results {
    let (metrics, findings) = aggregate(outputs, study.findings(), study.verdict());
    let mut results = Results {
        study: study.id().to_string(),
        scenario: study.scenario().path.display().to_string(),
        fidelity: study.fidelity().to_string(),
        timing: study.timing().to_string(),
        settings: settings_with_overrides(study),
        overrides: study.scenario().overrides(),
        seeds: outputs.iter().map(|o| o.seed).collect(),
        metrics,
        findings,
        extra: serde_json::Map::new(),
    };
    let more = study.study_metrics(&results, outputs);
    results.metrics.extend(more);
    results.extra = study.extra(&results, outputs);
    results
}

/// The study's settings plus, for every key a `--set` override changed
/// that the settings do not already show, its resolved value.
fn settings_with_overrides(study: &dyn Study) -> serde_json::Map<String, serde_json::Value> {
    let mut settings = study.settings();
    let scn = study.scenario();
    for o in scn.overrides() {
        let Some((key, _)) = o.split_once('=') else { continue };
        let key = key.trim();
        if settings.contains_key(key) {
            continue;
        }
        if let Some(v) = scn.value_at(key).and_then(|v| serde_json::to_value(v).ok()) {
            settings.insert(key.to_string(), v);
        }
    }
    settings
}

/// Write `results.json`, the CSV tables, the charts and `summary.md` into
/// `dir`; return everything.
pub fn finish(study: &dyn Study, outputs: Vec<SeedOutput>, dir: &Path) -> anyhow::Result<StudyOutput> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let results = results_of(study, &outputs);
    let mut markdown = format!(
        "# {} ({} fidelity, {} timing)\n\nScenario `{}`, {} seed(s): {}\n",
        results.study,
        results.fidelity,
        results.timing,
        results.scenario,
        results.seeds.len(),
        seed_list(&results.seeds),
    );
    if !results.overrides.is_empty() {
        let list: Vec<String> = results.overrides.iter().map(|o| format!("`--set {o}`")).collect();
        markdown.push_str(&format!("\nOverrides of the scenario file: {}\n", list.join(", ")));
    }
    markdown.push_str(&study.report(&results, &outputs, dir)?);
    write_results(dir, &results)?;
    write_tables(dir, &outputs)?;
    write_atomic(&dir.join("summary.md"), markdown.as_bytes())
        .with_context(|| format!("writing {}/summary.md", dir.display()))?;
    Ok(StudyOutput { results, outputs, markdown })
}

/// Seeds as people read them: `1..20` when contiguous, else a list.
pub fn seed_list(seeds: &[u64]) -> String {
    let contiguous = seeds.windows(2).all(|w| w[1] == w[0] + 1);
    match (seeds.first(), seeds.last()) {
        (Some(a), Some(b)) if contiguous && seeds.len() > 2 => format!("{a}..{b}"),
        _ => seeds.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", "),
    }
}

/// Run a study: seeds in parallel, then [`finish`].
pub fn run_study(study: &dyn Study, opts: &RunOptions) -> anyhow::Result<StudyOutput> {
    let outputs = run_seeds(study, opts)?;
    finish(study, outputs, &opts.out)
}

/// Opens a snapshot file as a run (the command line passes
/// `models::open_snapshot`; the study layer does not know the models).
pub type SnapshotLoader<'a> = &'a (dyn Fn(&Path) -> anyhow::Result<Box<dyn Stepper>> + Sync);

/// How to run the seeds of a run folder.
pub struct FolderRun<'a> {
    /// Worker threads (0 = all cores).
    pub jobs: usize,
    /// Progress display.
    pub progress: ProgressMode,
    /// When to stop early (an interrupt).
    pub stop: StopCheck,
    /// Opens snapshot files.
    pub load: SnapshotLoader<'a>,
    /// A snapshot to start one seed from (`resume FILE.snap`), tried before
    /// the snapshots the folder holds.
    pub start_from: Option<(u64, PathBuf)>,
}

/// What became of the seeds of an interrupted run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Interrupted {
    /// Seeds whose outputs are kept.
    pub finished: Vec<u64>,
    /// Seeds stopped part way, with the simulated time they reached (as
    /// the study's unit prints it); each has a snapshot in `progress/`.
    pub stopped: Vec<(u64, String)>,
    /// Seeds not started yet.
    pub not_started: Vec<u64>,
}

/// How a run folder's run ended.
pub enum FolderEnd {
    /// Every seed finished and the report (or the shard's files) is written.
    Finished(Option<Box<StudyOutput>>),
    /// Stopped early: the work done is kept, `resume` continues.
    Interrupted(Interrupted),
}

enum SeedEnd {
    Done(Box<SeedOutput>),
    Stopped(SimTime),
    NotStarted,
}

/// Run every seed of a run folder that is not finished yet, keeping each
/// finished seed's output as soon as it ends and, when stopped early, a
/// snapshot of each unfinished seed; then write the report (or, for a
/// shard, the shard's files). The report is the same, byte for byte, however
/// often the run was interrupted and continued.
pub fn run_folder(study: &dyn Study, dir: &mut RunDir, opts: &FolderRun<'_>) -> anyhow::Result<FolderEnd> {
    let seeds = dir.manifest().seeds.clone();
    let mut kept: Vec<Option<SeedOutput>> = Vec::with_capacity(seeds.len());
    for &s in &seeds {
        kept.push(dir.kept_output(s)?);
    }
    let pending: Vec<u64> = seeds.iter().zip(&kept).filter(|(_, k)| k.is_none()).map(|(&s, _)| s).collect();
    let horizon = study.horizon().ticks();
    let total = horizon.saturating_mul(seeds.len() as u64);
    let progress = Progress::start(opts.progress, study.id(), total, seeds.len() as u64, study.time_unit());
    let tracker = progress.tracker();
    for _ in 0..seeds.len() - pending.len() {
        tracker.advance(horizon, 0);
        tracker.run_done();
    }
    let abort = Arc::new(AtomicBool::new(false));
    let user_stop = opts.stop.clone();
    let stop = {
        let abort = abort.clone();
        StopCheck::when(move || abort.load(Ordering::Relaxed) || user_stop.should_stop())
    };
    let ctl = RunControl {
        tracker: tracker.clone(),
        snapshot_every: dir.manifest().snapshot_every,
        snapshot_dir: dir.snapshot_dir(),
        stop: stop.clone(),
    };
    let pool = thread_pool(opts.jobs)?;
    let dir_ref: &RunDir = dir;
    let ends: Vec<anyhow::Result<SeedEnd>> = pool.install(|| {
        pending
            .par_iter()
            .map(|&seed| {
                let r = run_one(study, dir_ref, seed, &ctl, &stop, opts, &tracker);
                match &r {
                    Ok(SeedEnd::Done(_)) => tracker.run_done(),
                    Ok(_) => {}
                    Err(_) => abort.store(true, Ordering::Relaxed),
                }
                r.with_context(|| format!("seed {seed}"))
            })
            .collect()
    });
    progress.finish();
    let mut report = Interrupted::default();
    let mut first_err = None;
    let mut by_seed: std::collections::BTreeMap<u64, SeedOutput> = Default::default();
    for (seed, end) in pending.iter().zip(ends) {
        match end {
            Ok(SeedEnd::Done(o)) => {
                by_seed.insert(*seed, *o);
            }
            Ok(SeedEnd::Stopped(t)) => report.stopped.push((*seed, study.time_unit().format(t))),
            Ok(SeedEnd::NotStarted) => report.not_started.push(*seed),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_err {
        dir.set_state(RunState::Failed)?;
        return Err(e.context(format!(
            "the run stopped; finished seeds are kept in {} (`omerta-sim resume {}` runs the others)",
            dir.path().display(),
            dir.path().display()
        )));
    }
    if !report.stopped.is_empty() || !report.not_started.is_empty() {
        report.finished = seeds
            .iter()
            .copied()
            .filter(|s| !report.stopped.iter().any(|x| x.0 == *s) && !report.not_started.contains(s))
            .collect();
        dir.set_state(RunState::Interrupted)?;
        return Ok(FolderEnd::Interrupted(report));
    }
    let outputs: Vec<SeedOutput> =
        seeds.iter().zip(kept).map(|(s, k)| k.or_else(|| by_seed.remove(s)).expect("every seed finished")).collect();
    let end = match dir.manifest().shard {
        Some(shard) => {
            let m = dir.manifest();
            crate::study::shard::write_shard_files(study, shard, &m.all_seeds, &outputs, dir.path())?;
            FolderEnd::Finished(None)
        }
        None => FolderEnd::Finished(Some(Box::new(finish(study, outputs, dir.path())?))),
    };
    dir.finished()?;
    Ok(end)
}

fn run_one(
    study: &dyn Study,
    dir: &RunDir,
    seed: u64,
    ctl: &RunControl,
    stop: &StopCheck,
    opts: &FolderRun<'_>,
    tracker: &Tracker,
) -> anyhow::Result<SeedEnd> {
    if stop.should_stop() {
        return Ok(SeedEnd::NotStarted);
    }
    let t0 = std::time::Instant::now();
    let mut run = match resume_point(study, dir, seed, opts)? {
        Some(run) => {
            tracker.advance(run.now().ticks().min(study.horizon().ticks()), 0);
            run
        }
        None => study.stepper(seed),
    };
    match run.drive(SimTime::MAX, ctl)? {
        DriveEnd::Finished | DriveEnd::Until => {}
        DriveEnd::Stopped => {
            let path = dir.interrupt_snapshot(seed);
            run.save(&path).with_context(|| format!("writing {}", path.display()))?;
            return Ok(SeedEnd::Stopped(run.now()));
        }
    }
    let mut out = study.complete_seed(seed, run.output())?;
    study.stamp_wall_time(&mut out, t0.elapsed().as_secs_f64());
    Ok(SeedEnd::Done(Box::new(dir.keep_output(&out)?)))
}

/// The newest usable snapshot of `seed`: the one `resume FILE.snap` named,
/// the interrupt snapshot, then periodic ones; each must be of this run.
fn resume_point(
    study: &dyn Study,
    dir: &RunDir,
    seed: u64,
    opts: &FolderRun<'_>,
) -> anyhow::Result<Option<Box<dyn Stepper>>> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some((s, p)) = &opts.start_from
        && *s == seed
    {
        candidates.push(p.clone());
    }
    candidates.extend(dir.snapshots_of(seed));
    let named = opts.start_from.as_ref().filter(|(s, _)| *s == seed).map(|(_, p)| p.clone());
    for path in candidates {
        let run = match (opts.load)(&path) {
            Ok(r) => r,
            Err(e) if Some(&path) == named.as_ref() => return Err(e),
            Err(e) => {
                let _ = writeln!(std::io::stderr(), "warning: skipping snapshot {}: {e:#}", path.display());
                continue;
            }
        };
        let m = run.meta();
        if m.study != study.id() || m.seed != seed || m.scenario_toml != dir.manifest().scenario_toml {
            if Some(&path) == named.as_ref() {
                anyhow::bail!("{}: a snapshot of another run", path.display());
            }
            let _ =
                writeln!(std::io::stderr(), "warning: skipping snapshot {}: it belongs to another run", path.display());
            continue;
        }
        return Ok(Some(run));
    }
    Ok(None)
}
