//! Many seeds of a study, in parallel, aggregated into `results.json`, CSV
//! tables, charts and a Markdown summary.

use super::run::{RunControl, Study};
use crate::engine::progress::{Progress, ProgressMode};
use crate::report::results::{Results, SeedOutput, aggregate, write_atomic, write_results, write_tables};
use anyhow::Context;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

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
    };
    let pool = rayon::ThreadPoolBuilder::new().num_threads(opts.jobs).build().context("starting worker threads")?;
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

/// Aggregate outputs into the results contract.
pub fn results_of(study: &dyn Study, outputs: &[SeedOutput]) -> Results {
    let (metrics, findings) = aggregate(outputs, study.findings(), study.verdict());
    let mut results = Results {
        study: study.id().to_string(),
        scenario: study.scenario().path.display().to_string(),
        fidelity: study.fidelity().to_string(),
        timing: study.timing().to_string(),
        settings: study.settings(),
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
    markdown.push_str(&study.report(&results, &outputs, dir)?);
    write_results(dir, &results)?;
    write_tables(dir, &outputs)?;
    write_atomic(&dir.join("summary.md"), markdown.as_bytes())
        .with_context(|| format!("writing {}/summary.md", dir.display()))?;
    Ok(StudyOutput { results, outputs, markdown })
}

fn seed_list(seeds: &[u64]) -> String {
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
