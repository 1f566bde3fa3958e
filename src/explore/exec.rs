//! Running an exploration: the points of a design (or the probes of a
//! search), each a scenario with some keys set, over the same seeds.
//!
//! Every point runs the same master seeds (common random numbers): a seed
//! draws the same random streams at every point, so the differences between
//! two points are paired. A run of point `p` with seed `s` is exactly
//! `omerta-sim run <scenario> --set <p's values> --seed s`.
//!
//! Runs are kept in the output folder as they finish (`runs.jsonl`, one
//! line per run), so an interrupted exploration continues where it stopped
//! when the same command is given again.

use crate::engine::progress::{Progress, ProgressMode};
use crate::models::open_study;
use crate::report::results::{SeedOutput, aggregate};
use crate::study::run::{RunControl, StopCheck, Study};
use crate::study::scenario::Scenario;
use anyhow::{Context, bail};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The scenario an exploration varies: its file and the `--set` overrides
/// every point shares.
#[derive(Clone, Debug)]
pub struct Base {
    /// The scenario file, as given.
    pub path: PathBuf,
    text: String,
    /// Overrides every point shares (the command's `--set`).
    pub sets: Vec<String>,
    /// The scenario with those overrides.
    pub scenario: Scenario,
}

impl Base {
    /// Load `path` with the shared overrides `sets`.
    pub fn load(path: &Path, sets: &[String]) -> anyhow::Result<Base> {
        // Read once: every point parses the same text.
        let text = Scenario::read_text(path)?;
        let scenario = Scenario::parse(&text, path, sets)?;
        Ok(Base { path: path.to_path_buf(), text, sets: sets.to_vec(), scenario })
    }

    /// The study at a point: the scenario with the shared overrides, then
    /// the point's.
    pub fn study(&self, point: &[String]) -> anyhow::Result<Box<dyn Study>> {
        let mut sets = self.sets.clone();
        sets.extend(point.iter().cloned());
        let scn = Scenario::parse(&self.text, &self.path, &sets)?;
        Ok(open_study(scn)?)
    }
}

/// `key=value` as `--set` takes it (see [`super::plan::value_text`]: floats
/// in the shortest text that reads back the same, strings quoted).
pub fn set_arg(key: &str, value: &toml::Value) -> String {
    format!("{key}={}", super::plan::value_text(value))
}

/// One point: an id and the value of each factor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Its id (row of the design, or probe number).
    pub id: usize,
    /// `(key, value)` of each factor, in the plan's order.
    pub values: Vec<(String, toml::Value)>,
}

impl Point {
    /// The point's overrides, `key=value` each.
    pub fn sets(&self) -> Vec<String> {
        self.values.iter().map(|(k, v)| set_arg(k, v)).collect()
    }

    /// The value of factor `key` as a number (a bool is 0/1), if it is one.
    pub fn number(&self, key: &str) -> Option<f64> {
        self.values.iter().find(|(k, _)| k == key).and_then(|(_, v)| value_number(v))
    }
}

/// A TOML value as a number: integers and floats as they are, a bool as 0/1.
pub fn value_number(v: &toml::Value) -> Option<f64> {
    match v {
        toml::Value::Integer(i) => Some(*i as f64),
        toml::Value::Float(f) => Some(*f),
        toml::Value::Boolean(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
}

/// A TOML value as a CSV cell: strings bare, numbers as TOML writes them.
pub fn value_cell(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One finished run: the point's overrides, the seed and what it gave
/// (metrics and findings; tables and series are not kept).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunRecord {
    /// Point id.
    pub point: usize,
    /// The point's overrides (checked when a folder is continued).
    pub sets: Vec<String>,
    /// Its output.
    pub output: SeedOutput,
}

/// A point with its studies' definitions and its runs so far.
pub struct PointRuns {
    /// The point.
    pub point: Point,
    /// The study at this point.
    pub study: Box<dyn Study>,
    /// Outputs in seed order.
    pub outputs: Vec<SeedOutput>,
}

impl PointRuns {
    /// Metrics and findings over the seeds run so far.
    pub fn aggregate(
        &self,
    ) -> (BTreeMap<String, crate::report::results::MetricResult>, Vec<crate::report::results::FindingResult>) {
        aggregate(&self.outputs, self.study.findings(), self.study.verdict())
    }
}

/// The output folder's list of finished runs.
pub const RUNS: &str = "runs.jsonl";

/// Longest line of `runs.jsonl` read back (a run's metrics; a longer line
/// is not one this tool wrote).
const MAX_RUN_LINE: usize = 64 << 20;

/// Finished runs kept in a folder, appended as they finish.
pub struct RunLog {
    path: PathBuf,
    file: Mutex<std::fs::File>,
}

impl RunLog {
    /// Open `dir/runs.jsonl` for appending; return it with the runs it
    /// holds. A last line cut short by a kill is dropped (and cut from the
    /// file); any other bad line is an error naming the line.
    pub fn open(dir: &Path) -> anyhow::Result<(RunLog, Vec<RunRecord>)> {
        let path = dir.join(RUNS);
        let mut kept = Vec::new();
        let mut good_len = 0u64;
        if path.exists() {
            let f = std::fs::File::open(&path).with_context(|| format!("reading {}", path.display()))?;
            let mut r = std::io::BufReader::new(f);
            let mut line = Vec::new();
            let mut n = 0;
            loop {
                line.clear();
                let got = (&mut r)
                    .take(MAX_RUN_LINE as u64 + 1)
                    .read_until(b'\n', &mut line)
                    .with_context(|| format!("reading {}", path.display()))?;
                if got == 0 {
                    break;
                }
                n += 1;
                if line.last() != Some(&b'\n') {
                    if got > MAX_RUN_LINE {
                        bail!(
                            "{} line {n}: longer than {MAX_RUN_LINE} bytes; not a run this tool wrote",
                            path.display()
                        );
                    }
                    break; // cut short by a kill: run again
                }
                let rec: RunRecord = serde_json::from_slice(&line)
                    .with_context(|| format!("{} line {n}: not a run record", path.display()))?;
                kept.push(rec);
                good_len += got as u64;
            }
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        file.set_len(good_len).with_context(|| format!("trimming {}", path.display()))?;
        Ok((RunLog { path, file: Mutex::new(file) }, kept))
    }

    /// Append a finished run (one line, flushed).
    pub fn append(&self, rec: &RunRecord) -> anyhow::Result<()> {
        let mut line = serde_json::to_vec(rec)?;
        line.push(b'\n');
        let mut f = self.file.lock().unwrap_or_else(|e| e.into_inner());
        f.write_all(&line).with_context(|| format!("writing {}", self.path.display()))?;
        Ok(())
    }
}

/// How to run the points.
pub struct Exec<'a> {
    /// Worker threads (0: one per core).
    pub jobs: usize,
    /// Progress display.
    pub progress: ProgressMode,
    /// When to stop starting new runs (an interrupt).
    pub stop: StopCheck,
    /// Where finished runs go, if kept.
    pub log: Option<&'a RunLog>,
    /// Runs already done, by (point overrides, seed).
    pub done: BTreeMap<(Vec<String>, u64), SeedOutput>,
}

/// Why an exploration stopped early.
#[derive(Debug, thiserror::Error)]
#[error("interrupted: {kept} of {total} runs are kept; give the same command again to continue")]
pub struct Interrupted {
    /// Runs done and kept.
    pub kept: usize,
    /// Runs asked for.
    pub total: usize,
}

impl Exec<'_> {
    /// Run `seeds` at each point of `todo` (indices into `points`), in
    /// parallel; append each point's outputs in seed order. Runs found in
    /// `done` are not run again.
    pub fn run(&mut self, points: &mut [PointRuns], todo: &[(usize, Vec<u64>)]) -> anyhow::Result<()> {
        let jobs: Vec<(usize, u64)> = todo.iter().flat_map(|(p, seeds)| seeds.iter().map(move |&s| (*p, s))).collect();
        let total = jobs.len();
        let mut got: Vec<Option<SeedOutput>> = Vec::with_capacity(total);
        let mut fresh = Vec::new();
        for (k, &(p, seed)) in jobs.iter().enumerate() {
            let key = (points[p].point.sets(), seed);
            got.push(self.done.remove(&key));
            if got[k].is_none() {
                fresh.push(k);
            }
        }
        let ticks: u64 = fresh.iter().map(|&k| points[jobs[k].0].study.horizon().ticks()).sum();
        let label = points.first().map_or("explore", |p| p.study.id());
        let unit = points.first().map_or(crate::engine::TimeUnit::Hours, |p| p.study.time_unit());
        let progress = Progress::start(self.progress, label, ticks, fresh.len() as u64, unit);
        let ctl = RunControl { tracker: progress.tracker(), ..RunControl::quiet() };
        let pool = crate::study::exec::thread_pool(self.jobs)?;
        let (log, stop) = (self.log, &self.stop);
        let shared: &[PointRuns] = points;
        let ran: Vec<anyhow::Result<Option<SeedOutput>>> = pool.install(|| {
            fresh
                .par_iter()
                .map(|&k| {
                    if stop.should_stop() {
                        return Ok(None);
                    }
                    let (p, seed) = jobs[k];
                    let at = &shared[p];
                    let mut out = at.study.run_seed(seed, &ctl).with_context(|| {
                        format!("point {} ({}), seed {seed}", at.point.id, at.point.sets().join(" "))
                    })?;
                    out.tables.clear();
                    out.series.clear();
                    if let Some(log) = log {
                        log.append(&RunRecord { point: at.point.id, sets: at.point.sets(), output: out.clone() })?;
                    }
                    ctl.tracker.run_done();
                    Ok(Some(out))
                })
                .collect()
        });
        progress.finish();
        let mut missing = 0;
        for (&k, r) in fresh.iter().zip(ran) {
            match r? {
                Some(o) => got[k] = Some(o),
                None => missing += 1,
            }
        }
        if missing > 0 {
            return Err(Interrupted { kept: total - missing, total }.into());
        }
        for ((p, _), o) in jobs.iter().zip(got) {
            points[*p].outputs.push(o.expect("every run is done"));
        }
        Ok(())
    }
}

/// `--seeds` of an exploration as a list: `seed_base ..` of the scenario,
/// `n` of them.
pub fn seed_list(study: &dyn Study, n: u64) -> anyhow::Result<Vec<u64>> {
    if study.grid_seeds().is_some() {
        bail!(
            "study {} derives its seeds from its grid (full_study.iterations, full_study.samples); \
             explore varies the keys of one scenario over seeds and does not take it",
            study.id()
        );
    }
    let (base, _) = study.default_seeds();
    crate::study::limits::seed_range(base, n)
}

/// The study at every point, checked before anything runs: a value a key
/// does not take is an error that names the point.
pub fn open_points(base: &Base, points: Vec<Point>) -> anyhow::Result<Vec<PointRuns>> {
    let mut id = None;
    points
        .into_iter()
        .map(|point| {
            let study = base.study(&point.sets()).with_context(|| {
                format!("point {} ({}): the scenario with these values is refused", point.id, point.sets().join(" "))
            })?;
            match id {
                None => id = Some(study.id()),
                Some(i) if i != study.id() => bail!("point {} changes the study ({} to {})", point.id, i, study.id()),
                _ => {}
            }
            Ok(PointRuns { point, study, outputs: Vec::new() })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_args_read_back_as_the_same_value() {
        for v in [
            toml::Value::Float(0.1),
            toml::Value::Float(1.0),
            toml::Value::Float(1e-12),
            toml::Value::Float(123456.789),
            toml::Value::Integer(-3),
            toml::Value::Boolean(true),
            toml::Value::String("floor".into()),
            toml::Value::String("a \"quoted\" name".into()),
        ] {
            let arg = set_arg("k", &v);
            let (_, raw) = arg.split_once('=').unwrap();
            assert_eq!(crate::study::scenario::parse_set_value(raw), v, "{arg}");
        }
    }
}
