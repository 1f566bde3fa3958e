//! Run folders: where one run (or one shard of a run) keeps its outputs,
//! its finished seeds and its snapshots, so that an interrupted run can be
//! continued and no two runs mix their files.
//!
//! A run folder holds:
//!
//! | name | what |
//! |---|---|
//! | `run.json` | the manifest: study, resolved scenario, seeds, shard, state, and (once finished) the files the run wrote |
//! | `.omerta-sim.lock` | the lock a live run holds (released when it ends, even if it is killed) |
//! | `progress/seed-<S>.json` | a finished seed's output, written as soon as the seed ends |
//! | `progress/seed-<S>.snap` | an unfinished seed's state when the run was interrupted |
//! | `snapshots/` | periodic snapshots (`--snapshot-every`) |
//!
//! `progress/` is removed once the run's report is written. A shard's run
//! folder is `OUT/shards/<i>-of-<N>/`.

use super::run::Study;
use super::shard::ShardSpec;
use crate::engine::atomic::{remove_stale_temps, write_atomic};
use crate::report::results::SeedOutput;
use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The manifest's file name.
pub const MANIFEST: &str = "run.json";
/// The lock file's name.
pub const LOCK: &str = ".omerta-sim.lock";
/// Finished seeds and interrupt snapshots.
pub const PROGRESS: &str = "progress";
/// Periodic snapshots.
pub const SNAPSHOTS: &str = "snapshots";
const FORMAT: &str = "omerta-sim run v1";

/// Where a run stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    /// Being run (or killed while running: the lock tells).
    Running,
    /// Stopped by an interrupt; `resume` continues it.
    Interrupted,
    /// Stopped by an error; `resume` retries the unfinished seeds.
    Failed,
    /// Report written.
    Finished,
}

impl RunState {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Interrupted => "interrupted",
            RunState::Failed => "failed",
            RunState::Finished => "finished",
        }
    }
}

/// `run.json`: what a run folder holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// File format tag.
    pub format: String,
    /// Version of omerta-sim that wrote it.
    pub crate_version: String,
    /// Study id.
    pub study: String,
    /// Scenario path as given.
    pub scenario_path: String,
    /// The resolved scenario (TOML, every `--set` applied).
    pub scenario_toml: String,
    /// Its hash.
    pub scenario_hash: u64,
    /// Seeds this folder runs, in report order.
    pub seeds: Vec<u64>,
    /// Every seed of the study (the same as `seeds` unless sharded).
    pub all_seeds: Vec<u64>,
    /// The shard this folder runs, if sharded.
    pub shard: Option<ShardSpec>,
    /// Snapshot period in ticks (`--snapshot-every`).
    pub snapshot_every: Option<u64>,
    /// Where the run stands.
    pub state: RunState,
    /// Files the finished run wrote (relative to the folder), for `--force`.
    #[serde(default)]
    pub files: Vec<String>,
    /// Files that were in the folder before the run (not the run's).
    #[serde(default)]
    pub preexisting: Vec<String>,
}

impl Manifest {
    /// The manifest of a new run of `study`.
    pub fn new(
        study: &dyn Study,
        seeds: Vec<u64>,
        all_seeds: Vec<u64>,
        shard: Option<ShardSpec>,
        snapshot_every: Option<u64>,
    ) -> Manifest {
        let scn = study.scenario();
        Manifest {
            format: FORMAT.into(),
            crate_version: env!("CARGO_PKG_VERSION").into(),
            study: study.id().into(),
            scenario_path: scn.path.display().to_string(),
            scenario_toml: scn.to_toml(),
            scenario_hash: scn.hash(),
            seeds,
            all_seeds,
            shard,
            snapshot_every,
            state: RunState::Running,
            files: Vec::new(),
            preexisting: Vec::new(),
        }
    }

    /// Whether `other` describes the same run (study, scenario, seeds, shard).
    pub fn same_run(&self, other: &Manifest) -> bool {
        self.study == other.study
            && self.scenario_hash == other.scenario_hash
            && self.scenario_toml == other.scenario_toml
            && self.seeds == other.seeds
            && self.all_seeds == other.all_seeds
            && self.shard == other.shard
    }

    /// Read `dir/run.json`, if there is one.
    pub fn read(dir: &Path) -> anyhow::Result<Option<Manifest>> {
        let path = dir.join(MANIFEST);
        let bytes = match read_limited(&path, 1 << 30) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
        };
        let m: Manifest = serde_json::from_slice(&bytes)
            .map_err(|e| anyhow::anyhow!("{}: not an omerta-sim run manifest ({e})", path.display()))?;
        if m.format != FORMAT {
            bail!("{}: run manifest format `{}`, this build reads `{FORMAT}`", path.display(), m.format);
        }
        if crate::engine::rng::fnv1a(m.scenario_toml.as_bytes()) != m.scenario_hash {
            bail!("{}: the scenario does not match its hash (the file was edited)", path.display());
        }
        if m.seeds.iter().any(|s| !m.all_seeds.contains(s)) {
            bail!("{}: inconsistent manifest (a seed of `seeds` is not in `all_seeds`)", path.display());
        }
        Ok(Some(m))
    }
}

/// Read at most `limit` bytes of a regular file (a larger one is an error).
pub fn read_limited(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let f = File::open(path)?;
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file"));
    }
    if meta.len() > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("file of {} bytes, more than the {limit} this file can hold", meta.len()),
        ));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    f.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "file grew while being read"));
    }
    Ok(bytes)
}

/// What to do with a folder that holds an earlier run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Existing {
    /// Refuse it (`run` without `--force`).
    Refuse,
    /// Clear the earlier run's files first (`--force`).
    Replace,
}

/// A run folder held by this process (the lock is released on drop).
pub struct RunDir {
    path: PathBuf,
    manifest: Manifest,
    _lock: File,
    /// Whether the folder held this run, unfinished, before (it continues).
    pub continuing: bool,
}

/// Names that mark a folder (without a manifest) as holding a run's outputs.
const OUTPUT_MARKS: &[&str] = &["results.json", "summary.md", "seeds.csv", "shard.json", "outputs.jsonl", PROGRESS];

impl RunDir {
    /// Create or open `path` for the run `manifest`: take the lock, check
    /// that the folder is writable, and refuse (or with
    /// [`Existing::Replace`], clear) an earlier run's outputs. A folder that
    /// holds this same run unfinished is continued.
    pub fn prepare(path: &Path, manifest: Manifest, existing: Existing) -> anyhow::Result<RunDir> {
        let (lock, old) = Self::lock(path)?;
        let mut continuing = false;
        match old {
            Some(old) if old.same_run(&manifest) && old.state != RunState::Finished => continuing = true,
            Some(old) => {
                if existing == Existing::Refuse {
                    let what = if old.same_run(&manifest) {
                        "the finished results of this same run".to_string()
                    } else {
                        format!("the outputs of another run ({}, scenario {})", old.study, old.scenario_path)
                    };
                    bail!("{} holds {what}; use --force to replace them, or --out for another folder", path.display());
                }
                clear_run(path, Some(&old))?;
            }
            None => {
                let marks: Vec<&str> = OUTPUT_MARKS.iter().copied().filter(|m| path.join(m).exists()).collect();
                if !marks.is_empty() {
                    if existing == Existing::Refuse {
                        bail!(
                            "{} holds the outputs of an earlier run ({}); use --force to replace them, or --out for another folder",
                            path.display(),
                            marks.join(", ")
                        );
                    }
                    clear_run(path, None)?;
                }
            }
        }
        let mut manifest = manifest;
        if continuing {
            // Keep the recorded period unless a new one was asked for.
            let old = Manifest::read(path)?.context("the run manifest vanished")?;
            manifest.snapshot_every = manifest.snapshot_every.or(old.snapshot_every);
            manifest.preexisting = old.preexisting;
        } else {
            manifest.preexisting = files_in(path).into_iter().filter(|f| f != LOCK).collect();
        }
        let mut dir = RunDir { path: path.to_path_buf(), manifest, _lock: lock, continuing };
        dir.manifest.state = RunState::Running;
        dir.write_manifest()?;
        Ok(dir)
    }

    /// Open the run folder `path` to continue the run it holds (`resume`).
    pub fn reopen(path: &Path) -> anyhow::Result<RunDir> {
        let (lock, old) = Self::lock(path)?;
        let Some(manifest) = old else {
            bail!("{} is not a run folder (it has no {MANIFEST})", path.display());
        };
        let mut dir = RunDir { path: path.to_path_buf(), manifest, _lock: lock, continuing: true };
        if dir.manifest.state != RunState::Finished {
            dir.manifest.state = RunState::Running;
            dir.write_manifest()?;
        }
        Ok(dir)
    }

    /// Take the lock of an output folder that is not a run's (an
    /// exploration's): created if needed, refused while another process
    /// holds it, temporary files of killed writers removed. Released when
    /// the file is dropped.
    pub fn lock_folder(path: &Path) -> anyhow::Result<File> {
        Ok(Self::lock(path)?.0)
    }

    fn lock(path: &Path) -> anyhow::Result<(File, Option<Manifest>)> {
        if path.exists() && !path.is_dir() {
            bail!("--out {} is a file, not a folder", path.display());
        }
        std::fs::create_dir_all(path)
            .map_err(|e| anyhow::anyhow!("cannot create the output folder {}: {e}", path.display()))?;
        let lp = path.join(LOCK);
        let mut lock = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lp)
            .map_err(|e| anyhow::anyhow!("cannot write in the output folder {}: {e}", path.display()))?;
        // A lock released a moment ago can still be held by a child process
        // between fork and exec: retry briefly before calling it in use.
        let mut tries = 0;
        let locked = loop {
            match lock.try_lock() {
                Err(std::fs::TryLockError::WouldBlock) if tries < 20 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                r => break r,
            }
        };
        match locked {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = (&lock).take(64).read_to_string(&mut holder);
                let who = match holder.trim().parse::<u32>() {
                    Ok(pid) => format!(" (process {pid})"),
                    Err(_) => String::new(),
                };
                bail!(
                    "{} is in use by another omerta-sim run{who}; wait for it to end or use another --out",
                    path.display()
                );
            }
            Err(std::fs::TryLockError::Error(e)) => bail!("cannot lock {}: {e}", lp.display()),
        }
        let _ = lock.set_len(0).and_then(|_| lock.rewind()).and_then(|_| write!(lock, "{}", std::process::id()));
        remove_stale_temps(path);
        remove_stale_temps(&path.join(PROGRESS));
        remove_stale_temps(&path.join(SNAPSHOTS));
        let old = Manifest::read(path)?;
        Ok((lock, old))
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Set the snapshot period recorded for later resumes.
    pub fn set_snapshot_every(&mut self, every: Option<u64>) -> anyhow::Result<()> {
        if every.is_some() {
            self.manifest.snapshot_every = every;
            self.write_manifest()?;
        }
        Ok(())
    }

    /// Record a new state.
    pub fn set_state(&mut self, state: RunState) -> anyhow::Result<()> {
        self.manifest.state = state;
        self.write_manifest()
    }

    fn write_manifest(&self) -> anyhow::Result<()> {
        let mut json = serde_json::to_vec_pretty(&self.manifest)?;
        json.push(b'\n');
        let p = self.path.join(MANIFEST);
        write_atomic(&p, &json).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", p.display()))
    }

    /// Where a finished seed's output is kept.
    pub fn output_path(&self, seed: u64) -> PathBuf {
        self.path.join(PROGRESS).join(format!("seed-{seed}.json"))
    }

    /// Where an interrupted seed's state is kept.
    pub fn interrupt_snapshot(&self, seed: u64) -> PathBuf {
        self.path.join(PROGRESS).join(format!("seed-{seed}.snap"))
    }

    /// The folder of periodic snapshots.
    pub fn snapshot_dir(&self) -> PathBuf {
        self.path.join(SNAPSHOTS)
    }

    /// Keep a finished seed's output; returns the output as it will be read
    /// back (so a run that continues after an interrupt reports the very
    /// same values as one that never stopped).
    pub fn keep_output(&self, output: &SeedOutput) -> anyhow::Result<SeedOutput> {
        let bytes = serde_json::to_vec(output)?;
        let p = self.output_path(output.seed);
        write_atomic(&p, &bytes).with_context(|| format!("writing {}", p.display()))?;
        let _ = std::fs::remove_file(self.interrupt_snapshot(output.seed));
        serde_json::from_slice(&bytes).context("reading back a seed output")
    }

    /// A finished seed's kept output, if there is one.
    pub fn kept_output(&self, seed: u64) -> anyhow::Result<Option<SeedOutput>> {
        let p = self.output_path(seed);
        let bytes = match read_limited(&p, 1 << 34) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => bail!("cannot read {}: {e}", p.display()),
        };
        let o: SeedOutput = serde_json::from_slice(&bytes).map_err(|e| {
            anyhow::anyhow!("{}: not a seed output ({e}); delete it to run the seed again", p.display())
        })?;
        if o.seed != seed {
            bail!("{}: holds seed {}, not {seed}; delete it to run the seed again", p.display(), o.seed);
        }
        Ok(Some(o))
    }

    /// Snapshots of `seed` this folder holds, newest first: the interrupt
    /// snapshot, then periodic ones by simulated time.
    pub fn snapshots_of(&self, seed: u64) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let i = self.interrupt_snapshot(seed);
        if i.is_file() {
            found.push(i);
        }
        let prefix = format!("{}-seed{seed}-", self.manifest.study);
        let mut periodic: Vec<(f64, PathBuf)> = Vec::new();
        if let Ok(entries) = std::fs::read_dir(self.snapshot_dir()) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let Some(rest) = name.strip_prefix(&prefix).and_then(|r| r.strip_suffix(".snap")) else { continue };
                let num: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
                if let Ok(t) = num.parse::<f64>() {
                    periodic.push((t, e.path()));
                }
            }
        }
        periodic.sort_by(|a, b| b.0.total_cmp(&a.0));
        found.extend(periodic.into_iter().map(|(_, p)| p));
        found
    }

    /// The run finished: record the files it wrote, drop `progress/`.
    pub fn finished(&mut self) -> anyhow::Result<()> {
        let _ = std::fs::remove_dir_all(self.path.join(PROGRESS));
        let before: BTreeSet<&String> = self.manifest.preexisting.iter().collect();
        self.manifest.files =
            files_in(&self.path).into_iter().filter(|f| !before.contains(f) && f != MANIFEST && f != LOCK).collect();
        self.set_state(RunState::Finished)
    }
}

/// Every file under `dir` (relative paths), except other runs' shard folders.
fn files_in(dir: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        let Ok(it) = std::fs::read_dir(dir) else { return };
        for e in it.flatten() {
            let p = e.path();
            let Ok(t) = e.file_type() else { continue };
            if t.is_dir() {
                if dir == root && e.file_name() == "shards" {
                    continue;
                }
                walk(root, &p, out);
            } else if let Ok(rel) = p.strip_prefix(root) {
                out.insert(rel.to_string_lossy().into_owned());
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

/// Remove an earlier run's files from `dir`: those its manifest lists, its
/// progress and snapshots; without a manifest, the files a run writes
/// (results, summary, tables, charts, shard files). Other files stay.
fn clear_run(dir: &Path, old: Option<&Manifest>) -> anyhow::Result<()> {
    let rm = |p: PathBuf| -> anyhow::Result<()> {
        let r = if p.is_dir() { std::fs::remove_dir_all(&p) } else { std::fs::remove_file(&p) };
        match r {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => bail!("cannot remove {} of the earlier run: {e}", p.display()),
        }
    };
    match old {
        Some(m) => {
            for f in &m.files {
                let rel = Path::new(f);
                if rel.is_absolute() || rel.components().any(|c| !matches!(c, std::path::Component::Normal(_))) {
                    bail!("{}: lists a file outside the folder ({f})", dir.join(MANIFEST).display());
                }
                rm(dir.join(rel))?;
            }
        }
        None => {
            if let Ok(entries) = std::fs::read_dir(dir) {
                for e in entries.flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let ext = Path::new(&name).extension().and_then(|x| x.to_str()).unwrap_or("");
                    let run_file = OUTPUT_MARKS.contains(&name.as_str())
                        || matches!(ext, "csv" | "png" | "svg")
                        || name == "charts";
                    if run_file {
                        rm(e.path())?;
                    }
                }
            }
        }
    }
    rm(dir.join(PROGRESS))?;
    rm(dir.join(SNAPSHOTS))?;
    rm(dir.join(MANIFEST))?;
    Ok(())
}
