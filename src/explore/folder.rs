//! An exploration's output folder: `explore.json` says what it explores
//! (scenario, overrides, plan or search, seeds, shard), `runs.jsonl` keeps
//! every finished run. The same command on the same folder continues it; a
//! different exploration is refused unless `--force`.

use super::exec::{RunLog, RunRecord};
use crate::study::rundir::RunDir;
use crate::study::shard::ShardSpec;
use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The folder's description file.
pub const MANIFEST: &str = "explore.json";

/// Files an exploration writes (removed by `--force`).
pub const OUTPUTS: &[&str] = &[
    MANIFEST,
    super::exec::RUNS,
    "points.csv",
    "summary.csv",
    "sensitivity.csv",
    "results.json",
    "summary.md",
    "done",
];

/// Tag of the manifest's format.
pub const FORMAT: &str = "omerta-sim explore v1";

/// What an exploration folder holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: String,
    /// Scenario file as given.
    pub scenario: String,
    /// Hash of the scenario with the shared overrides.
    pub scenario_hash: u64,
    /// The shared overrides.
    pub sets: Vec<String>,
    /// `plan` or `find`.
    pub kind: String,
    /// The plan file as given (a plan).
    pub plan: Option<String>,
    /// The plan file's text, or the search as given on the command line.
    pub what: String,
    /// Seeds every point runs (before adaptive seeding adds more).
    pub seeds: Vec<u64>,
    /// This shard, when sharded.
    pub shard: Option<ShardSpec>,
}

/// Most bytes of an `explore.json` read back.
const MAX_MANIFEST: u64 = 16 << 20;

/// An exploration folder held by this process.
pub struct Folder {
    /// The folder.
    pub path: PathBuf,
    /// Its finished runs, appended as they finish.
    pub log: RunLog,
    /// Whether an earlier, interrupted exploration is being continued.
    pub continuing: bool,
    _lock: std::fs::File,
}

impl Folder {
    /// Take `path` for the exploration `m`: continue it if it holds the
    /// same exploration; replace what it holds with `force`; else refuse.
    /// Returns the folder and its finished runs.
    pub fn prepare(path: &Path, m: &Manifest, force: bool) -> anyhow::Result<(Folder, Vec<RunRecord>)> {
        let lock = RunDir::lock_folder(path)?;
        let mp = path.join(MANIFEST);
        let old: Option<Manifest> = if mp.exists() {
            let bytes = crate::study::rundir::read_limited(&mp, MAX_MANIFEST)
                .with_context(|| format!("reading {}", mp.display()))?;
            match serde_json::from_slice(&bytes) {
                Ok(m) => Some(m),
                Err(e) if force => {
                    let _ = e;
                    None
                }
                Err(e) => bail!("{}: not an exploration's description ({e}); use --force to replace it", mp.display()),
            }
        } else {
            None
        };
        let same = old.as_ref() == Some(m);
        if !same {
            let taken = old.is_some()
                || std::fs::read_dir(path)?.flatten().any(|e| {
                    let n = e.file_name();
                    let n = n.to_string_lossy();
                    // Shards and the Slurm script's job files belong here.
                    !n.starts_with('.') && n != "shards" && n != "slurm"
                });
            if taken && !force {
                let what = if old.is_some() {
                    "another exploration (other scenario, overrides, plan or seeds)"
                } else {
                    "other files"
                };
                bail!("{} holds {what}; give another --out, or --force to replace its outputs", path.display());
            }
            for f in OUTPUTS {
                let p = path.join(f);
                if p.exists() {
                    std::fs::remove_file(&p).with_context(|| format!("removing {}", p.display()))?;
                }
            }
            let charts = path.join("charts");
            if charts.is_dir() {
                std::fs::remove_dir_all(&charts).with_context(|| format!("removing {}", charts.display()))?;
            }
            let mut json = serde_json::to_string_pretty(m)?;
            json.push('\n');
            crate::report::results::write_atomic(&mp, json.as_bytes())
                .with_context(|| format!("writing {}", mp.display()))?;
        }
        let (log, runs) = RunLog::open(path)?;
        Ok((Folder { path: path.to_path_buf(), log, continuing: same && !runs.is_empty(), _lock: lock }, runs))
    }

    /// Mark the exploration finished (a shard's `done` file, which `merge`
    /// checks).
    pub fn mark_done(&self) -> anyhow::Result<()> {
        let p = self.path.join("done");
        crate::report::results::write_atomic(&p, b"done\n").with_context(|| format!("writing {}", p.display()))
    }
}

/// Read a folder's manifest (for `merge`).
pub fn read_manifest(dir: &Path) -> anyhow::Result<Manifest> {
    let mp = dir.join(MANIFEST);
    let bytes =
        crate::study::rundir::read_limited(&mp, MAX_MANIFEST).with_context(|| format!("reading {}", mp.display()))?;
    let m: Manifest =
        serde_json::from_slice(&bytes).with_context(|| format!("{}: not an exploration", mp.display()))?;
    if m.format != FORMAT {
        bail!("{}: format `{}`, this build reads `{FORMAT}`", mp.display(), m.format);
    }
    Ok(m)
}
