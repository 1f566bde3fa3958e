//! Sharded runs: `run --shard i/N` runs every N-th seed of a study and keeps
//! the per-seed outputs; `merge` checks that the shards cover every seed
//! exactly once with the same scenario, and writes the same report as an
//! unsharded run. For Slurm job arrays and other batch schedulers.

use super::exec::{StudyOutput, finish};
use super::run::Study;
use super::scenario::Scenario;
use crate::report::results::{SeedOutput, write_atomic};
use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

/// `i/N`: this shard's index and the number of shards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardSpec {
    /// Index, 0 <= index < count.
    pub index: u32,
    /// Number of shards.
    pub count: u32,
}

impl std::str::FromStr for ShardSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a shard: expected i/N with 0 <= i < N (e.g. 3/16)");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(ShardSpec { index, count })
    }
}

impl ShardSpec {
    /// The seeds of `all` this shard runs: those at positions = index (mod count).
    pub fn select(&self, all: &[u64]) -> Vec<u64> {
        all.iter().enumerate().filter(|(k, _)| *k as u32 % self.count == self.index).map(|(_, &s)| s).collect()
    }

    /// Folder of this shard under the output folder.
    pub fn dir(&self, out: &Path) -> PathBuf {
        out.join("shards").join(format!("{}-of-{}", self.index, self.count))
    }
}

/// What a shard records about its run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardHeader {
    /// File format tag.
    pub format: String,
    /// Study id.
    pub study: String,
    /// Scenario path as given.
    pub scenario_path: String,
    /// The resolved scenario (TOML), with every `--set` applied.
    pub scenario_toml: String,
    /// Its hash.
    pub scenario_hash: u64,
    /// Fidelity and resolved switches.
    pub fidelity: String,
    /// Resolved settings.
    pub settings: serde_json::Map<String, serde_json::Value>,
    /// Every seed of the whole study, in report order.
    pub all_seeds: Vec<u64>,
    /// This shard.
    pub shard: ShardSpec,
    /// Seeds this shard ran.
    pub seeds: Vec<u64>,
}

const FORMAT: &str = "omerta-sim shard v1";

/// Write a shard: `shard.json` (header) and `outputs.jsonl` (one seed per
/// line) into `OUT/shards/<i>-of-<N>/`; returns that folder.
pub fn write_shard(
    study: &dyn Study,
    shard: ShardSpec,
    all_seeds: &[u64],
    outputs: &[SeedOutput],
    out: &Path,
) -> anyhow::Result<PathBuf> {
    let dir = shard.dir(out);
    write_shard_files(study, shard, all_seeds, outputs, &dir)?;
    Ok(dir)
}

/// Write a shard's `shard.json` and `outputs.jsonl` into its folder `dir`.
pub fn write_shard_files(
    study: &dyn Study,
    shard: ShardSpec,
    all_seeds: &[u64],
    outputs: &[SeedOutput],
    dir: &Path,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let scn = study.scenario();
    let header = ShardHeader {
        format: FORMAT.into(),
        study: study.id().into(),
        scenario_path: scn.path.display().to_string(),
        scenario_toml: scn.to_toml(),
        scenario_hash: scn.hash(),
        fidelity: study.fidelity().into(),
        settings: study.settings(),
        all_seeds: all_seeds.to_vec(),
        shard,
        seeds: outputs.iter().map(|o| o.seed).collect(),
    };
    let mut lines = Vec::new();
    for o in outputs {
        serde_json::to_writer(&mut lines, o)?;
        lines.write_all(b"\n")?;
    }
    write_atomic(&dir.join("outputs.jsonl"), &lines)
        .with_context(|| format!("writing {}/outputs.jsonl", dir.display()))?;
    let h = serde_json::to_vec_pretty(&header)?;
    write_atomic(&dir.join("shard.json"), &h).with_context(|| format!("writing {}/shard.json", dir.display()))?;
    Ok(())
}

fn read_shard(dir: &Path) -> anyhow::Result<(ShardHeader, Vec<SeedOutput>)> {
    let hp = dir.join("shard.json");
    let header: ShardHeader =
        serde_json::from_slice(&std::fs::read(&hp).with_context(|| format!("reading {}", hp.display()))?)
            .with_context(|| format!("{}: not a shard header", hp.display()))?;
    if header.format != FORMAT {
        bail!("{}: shard format `{}`, this build reads `{FORMAT}`", hp.display(), header.format);
    }
    if crate::engine::rng::fnv1a(header.scenario_toml.as_bytes()) != header.scenario_hash {
        bail!("{}: the scenario does not match its hash (the file was edited)", hp.display());
    }
    let op = dir.join("outputs.jsonl");
    let file = std::fs::File::open(&op).with_context(|| format!("reading {}", op.display()))?;
    let mut outputs = Vec::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", op.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let o: SeedOutput =
            serde_json::from_str(&line).with_context(|| format!("{}:{}: not a seed output", op.display(), n + 1))?;
        outputs.push(o);
    }
    if outputs.iter().map(|o| o.seed).collect::<Vec<_>>() != header.seeds {
        bail!("{}: outputs.jsonl does not hold the seeds its shard.json lists", dir.display());
    }
    Ok((header, outputs))
}

/// The manifest of `dir` if it is a shard's run folder whose run has not
/// finished.
fn unfinished_shard(dir: &Path) -> Option<super::rundir::Manifest> {
    match super::rundir::Manifest::read(dir) {
        Ok(Some(m)) if m.shard.is_some() && m.state != super::rundir::RunState::Finished => Some(m),
        _ => None,
    }
}

/// The shard folders found under some folders: finished ones (with a
/// `shard.json`) and unfinished ones (a run folder of a shard whose run has
/// not finished), with their manifests.
#[derive(Debug, Default)]
pub struct Found {
    /// Finished shards.
    pub finished: Vec<PathBuf>,
    /// Unfinished shards.
    pub unfinished: Vec<(PathBuf, super::rundir::Manifest)>,
}

/// Every shard folder under `dirs` (each a run's output folder with a
/// `shards/` subfolder, or a shard folder itself).
pub fn find_shards(dirs: &[PathBuf]) -> anyhow::Result<Found> {
    let mut found = Found::default();
    let add = |p: &Path, found: &mut Found| -> bool {
        if p.join("shard.json").exists() {
            found.finished.push(p.to_path_buf());
        } else if let Some(m) = unfinished_shard(p) {
            found.unfinished.push((p.to_path_buf(), m));
        } else {
            return false;
        }
        true
    };
    for d in dirs {
        if add(d, &mut found) {
            continue;
        }
        if !d.exists() {
            bail!("{}: no such folder", d.display());
        }
        let sd = d.join("shards");
        if !sd.is_dir() {
            bail!("{} holds no shards (no shards/ folder and no shard.json)", d.display());
        }
        let entries = std::fs::read_dir(&sd).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", sd.display()))?;
        for e in entries {
            add(&e?.path(), &mut found);
        }
    }
    found.finished.sort();
    found.unfinished.sort_by(|a, b| a.0.cmp(&b.0));
    if found.finished.is_empty() && found.unfinished.is_empty() {
        bail!(
            "no shards found in {} (no shards/*/shard.json and no unfinished shard): did every task of the run fail \
             before it started?",
            dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ")
        );
    }
    Ok(found)
}

/// `seeds 0, 4, 8` or, for many, `250 seeds: 0, 4, 8, ..., 996`.
fn few_seeds(seeds: &[u64]) -> String {
    match seeds {
        [] => "no seeds".into(),
        [s] => format!("seed {s}"),
        s if s.len() <= 6 => format!("seeds {}", crate::study::exec::seed_list(s)),
        s => format!("{} seeds: {}, {}, {}, ..., {}", s.len(), s[0], s[1], s[2], s[s.len() - 1]),
    }
}

/// Why shards cannot be merged: one line per missing or unfinished shard
/// of `count`, in index order, and the seeds they hold.
fn incomplete_message(
    dirs: &[PathBuf],
    seen: &std::collections::BTreeSet<u32>,
    unfinished: &[(PathBuf, super::rundir::Manifest)],
    count: u32,
    all_seeds: &[u64],
    missing_seeds: &[u64],
) -> String {
    let mut lines = Vec::new();
    let mut names = Vec::new();
    for index in (0..count).filter(|i| !seen.contains(i)) {
        let spec = ShardSpec { index, count };
        names.push(format!("{index}/{count}"));
        let seeds = few_seeds(&spec.select(all_seeds));
        let line = match unfinished.iter().find(|(_, m)| m.shard == Some(spec)) {
            Some((p, m)) => {
                let why = match m.state {
                    super::rundir::RunState::Running => "killed, or still running",
                    super::rundir::RunState::Interrupted => "stopped by a signal, e.g. scancel or a preemption",
                    _ => "stopped by an error, see its task's log",
                };
                format!(
                    "  shard {index}/{count} ({seeds}): unfinished (its run is `{}`: {why}) in {}; `omerta-sim \
                     resume {}` finishes it",
                    m.state.name(),
                    p.display(),
                    p.display()
                )
            }
            None => {
                let d = dirs.first().map(|d| spec.dir(d).join("shard.json").display().to_string()).unwrap_or_default();
                format!("  shard {index}/{count} ({seeds}): never ran, or failed before it started (no {d})")
            }
        };
        lines.push(line);
    }
    let Some(first) = names.first() else {
        return format!(
            "cannot merge: {} of {} seeds have no output although all {count} shards are there (a shard lists \
             fewer seeds than it should), e.g. seed {}",
            missing_seeds.len(),
            all_seeds.len(),
            missing_seeds.first().copied().unwrap_or_default()
        );
    };
    format!(
        "cannot merge: {} of {count} shards {} missing ({}), so {} of {} seeds have no output:\n{}\nfinish \
         each one (resume an unfinished shard; run one that never ran with the run's command and --shard i/{count}, \
         e.g. --shard {}), then merge again",
        names.len(),
        if names.len() == 1 { "is" } else { "are" },
        names.join(", "),
        missing_seeds.len(),
        all_seeds.len(),
        lines.join("\n"),
        first
    )
}

/// Read the shards under `dirs`, check that they are of one run and cover
/// each of its seeds once, and return the study and the outputs in report
/// order.
pub fn gather(
    dirs: &[PathBuf],
    open: impl Fn(Scenario) -> anyhow::Result<Box<dyn Study>>,
) -> anyhow::Result<(Box<dyn Study>, Vec<SeedOutput>)> {
    let found = find_shards(dirs)?;
    let shards = &found.finished;
    let mut first: Option<ShardHeader> = None;
    let mut outputs: Vec<SeedOutput> = Vec::new();
    let mut seen_shards = std::collections::BTreeSet::new();
    for dir in shards {
        let (h, o) = read_shard(dir)?;
        if let Some(f) = &first {
            let same = f.study == h.study
                && f.scenario_hash == h.scenario_hash
                && f.fidelity == h.fidelity
                && f.settings == h.settings
                && f.all_seeds == h.all_seeds
                && f.shard.count == h.shard.count;
            if !same {
                bail!(
                    "{}: shard of another run (study, scenario, fidelity, settings, seeds or shard count differ from {})",
                    dir.display(),
                    shards[0].display()
                );
            }
        }
        if !seen_shards.insert(h.shard.index) {
            bail!("{}: shard {}/{} appears twice", dir.display(), h.shard.index, h.shard.count);
        }
        first.get_or_insert(h);
        outputs.extend(o);
    }
    let Some(h) = first else {
        // Only unfinished shards.
        let (_, m) = &found.unfinished[0];
        let count = m.shard.map_or(1, |s| s.count);
        let msg = incomplete_message(dirs, &seen_shards, &found.unfinished, count, &m.all_seeds, &m.all_seeds);
        bail!("{msg}");
    };
    let mut by_seed: std::collections::BTreeMap<u64, SeedOutput> = std::collections::BTreeMap::new();
    for o in outputs {
        let seed = o.seed;
        if by_seed.insert(seed, o).is_some() {
            bail!("seed {seed} appears in two shards");
        }
    }
    let missing: Vec<u64> = h.all_seeds.iter().copied().filter(|s| !by_seed.contains_key(s)).collect();
    if !missing.is_empty() {
        // Unfinished shards of this run (same scenario and seeds) are named
        // as such; others as never run.
        let unfinished: Vec<_> = found
            .unfinished
            .iter()
            .filter(|(_, m)| m.scenario_hash == h.scenario_hash && m.all_seeds == h.all_seeds)
            .cloned()
            .collect();
        let msg = incomplete_message(dirs, &seen_shards, &unfinished, h.shard.count, &h.all_seeds, &missing);
        bail!("{msg}");
    }
    let ordered: Vec<SeedOutput> = h.all_seeds.iter().map(|s| by_seed.remove(s).expect("checked")).collect();
    let scenario = Scenario::parse(&h.scenario_toml, Path::new(&h.scenario_path), &[])?;
    let study = open(scenario)?;
    // The report of a scenario `run` would refuse is refused too.
    super::limits::check_memory(study.as_ref(), ordered.len() as u64, 1)?;
    Ok((study, ordered))
}

/// Merge shards into one report, as an unsharded run would write it.
pub fn merge(
    dirs: &[PathBuf],
    out: &Path,
    open: impl Fn(Scenario) -> anyhow::Result<Box<dyn Study>>,
) -> anyhow::Result<StudyOutput> {
    let (study, ordered) = gather(dirs, open)?;
    finish(study.as_ref(), ordered, out)
}
