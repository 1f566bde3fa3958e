//! The `omerta-sim` subcommands: run, resume, step, inspect, list, trust.

#[macro_use]
pub mod out;
mod args;
mod explore;
mod reproduce;
mod step;
mod trust;

use crate::engine::progress::ProgressMode;
use crate::engine::time::parse_time;
use crate::engine::{SimTime, TimeUnit};
use crate::models::{guarded, open_snapshot, open_study, study_of};
use crate::study::exec::{FolderEnd, FolderRun, finish, run_folder};
use crate::study::rundir::{Existing, Manifest, RunDir, RunState};
use crate::study::{DriveEnd, RunControl, Scenario, StopCheck};
use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// omerta-sim: a discrete-event, agent-based simulator of the Omerta compute
/// market and its trust system. Every study runs over many seeds and reports
/// each finding with a 95% confidence interval and a verdict.
#[derive(Parser, Debug)]
#[command(
    name = "omerta-sim",
    version,
    about,
    long_about = None,
    propagate_version = true,
    after_help = "Exit status: 0 success; 1 an error (the message names the file, key or flag); 2 a command-line \
                  usage error (trust replay: 1 a mismatch, 2 a malformed trace). A stdout closed early by its reader \
                  (e.g. `omerta-sim list | head -1`) ends the command quietly with 0."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a study over many seeds and write results.json, CSV, charts and a
    /// Markdown summary (also printed).
    Run(RunArgs),
    /// Continue an interrupted run (its output folder), or one seed from a
    /// snapshot file.
    Resume(ResumeArgs),
    /// Step through one run event by event: a debugger on a terminal
    /// (breakpoints, watches, the pending queue, stepping back).
    Step(StepArgs),
    /// Print a snapshot's header and state (the run's overrides included),
    /// its pending events or one agent.
    Inspect(InspectArgs),
    /// Combine the shards of a sharded run (`run --shard i/N`) into the
    /// report an unsharded run would write.
    Merge {
        /// Output folders of the shard runs (each with a shards/ subfolder),
        /// or shard folders themselves.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Where to write the report (default: the first folder).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Replace the outputs of another run that the report folder holds.
        #[arg(long)]
        force: bool,
    },
    /// Explore a scenario: a design of experiments over any of its keys
    /// (factorial, Latin hypercube, Sobol, Morris) with sensitivity indices,
    /// or the tipping point along one key (--find).
    Explore(explore::ExploreArgs),
    /// Run every study in both fidelities and write one report: each finding
    /// of the original suite with the quantity it judges (mean, 95% CI) and
    /// its verdict over seeds, in each fidelity.
    Reproduce(ReproduceArgs),
    /// List the scenario files (subfolders included) with one line each.
    List {
        /// Folder of scenario files.
        #[arg(long, default_value = "models")]
        dir: PathBuf,
    },
    /// Trust engine tools: replay recorded traces.
    Trust {
        #[command(subcommand)]
        command: trust::TrustCommand,
    },
}

#[derive(Args, Debug)]
struct RunArgs {
    /// Scenario file (TOML), e.g. models/reliability_v2.toml.
    scenario: PathBuf,
    /// Run this one master seed.
    #[arg(long, conflicts_with = "seeds", allow_hyphen_values = true, value_parser = args::whole(0))]
    seed: Option<u64>,
    /// Run N master seeds: seed_base .. seed_base+N-1 (default: the
    /// scenario's `seeds`; at most 1000000).
    #[arg(long, allow_hyphen_values = true, value_parser = args::whole_in(1, args::MAX_SEEDS))]
    seeds: Option<u64>,
    /// Override a scenario key: --set key=value (dotted for tables; the value
    /// is read as TOML, a bare word as a string). Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Output folder (default: results/<scenario file stem>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Worker threads (default: SLURM_CPUS_PER_TASK in a Slurm job that sets
    /// it, else all cores). Results do not depend on it.
    #[arg(long, default_value_t = 0, allow_hyphen_values = true, value_parser = args::jobs())]
    jobs: usize,
    /// Progress display: a bar on a terminal, log lines otherwise (auto).
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    progress: ProgressMode,
    /// Write a snapshot of every seed each time this much simulated time has
    /// passed, into OUT/snapshots/ (e.g. 100h, 30d; a bare number is in the
    /// study's unit: hours for markets, days for trust and policy).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    snapshot_every: Option<String>,
    /// Run only shard i of N (every N-th seed, starting at the i-th) and keep
    /// its per-seed outputs in OUT/shards/i-of-N/; combine with `merge`.
    /// `slurm`: the shard of this Slurm array task, from SLURM_ARRAY_TASK_ID,
    /// _MIN, _MAX, _STEP and _COUNT (any range, e.g. --array=1-4 or 0-6:2; not
    /// a list such as 1,3,7); see docs/slurm.md.
    #[arg(long, value_name = "i/N|slurm", allow_hyphen_values = true)]
    shard: Option<crate::study::slurm::ShardArg>,
    /// Replace the outputs of an earlier run that OUT holds (without it,
    /// such a folder is refused; the same run, interrupted, is continued).
    #[arg(long)]
    force: bool,
}

#[derive(Args, Debug)]
struct ReproduceArgs {
    /// Output folder (default: results/reproduce).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Seeds per study (default: each scenario's own `seeds`; for the full study, the first N seeds of its grid;
    /// at most 1000000).
    #[arg(long, allow_hyphen_values = true, value_parser = args::whole_in(1, args::MAX_SEEDS))]
    seeds: Option<u64>,
    /// Worker threads (default: SLURM_CPUS_PER_TASK in a Slurm job that sets
    /// it, else all cores).
    #[arg(long, default_value_t = 0, allow_hyphen_values = true, value_parser = args::jobs())]
    jobs: usize,
    /// Progress display.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    progress: ProgressMode,
    /// Folder of the scenario files.
    #[arg(long, default_value = "models")]
    models: PathBuf,
}

/// `resume PATH`: a run's output folder (continue the whole run) or a
/// snapshot file (continue one seed).
#[derive(Args, Debug)]
#[command(after_help = "A run stopped by Ctrl-C or SIGTERM keeps its finished seeds and a snapshot of each \
unfinished one; `omerta-sim resume OUT` continues it and writes the same report, byte for byte, as a run that \
never stopped. For a sharded run give the shard's folder (OUT/shards/i-of-N), or OUT with --shard i/N, or OUT \
alone to continue every unfinished shard in it.")]
struct ResumeArgs {
    /// A run's output folder (OUT, or a shard's OUT/shards/i-of-N), or a
    /// snapshot file (.snap).
    path: PathBuf,
    /// Snapshot file only: stop at this simulated time and write a new
    /// snapshot (default: run to the end and write results).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    until: Option<String>,
    /// Snapshot file only: output folder (default:
    /// results/<scenario stem>/resumed-seed<S>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Keep writing a snapshot of every seed each time this much simulated
    /// time has passed (as for run; a folder remembers the period it was
    /// run with).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    snapshot_every: Option<String>,
    /// Folder only: continue just this shard of OUT.
    #[arg(long, value_name = "i/N", allow_hyphen_values = true)]
    shard: Option<crate::study::shard::ShardSpec>,
    /// Worker threads (default: SLURM_CPUS_PER_TASK in a Slurm job that sets
    /// it, else all cores; at most 1024). Results do not depend on it.
    #[arg(long, default_value_t = 0, allow_hyphen_values = true, value_parser = args::jobs())]
    jobs: usize,
    /// Snapshot file only: replace the outputs of an earlier run that the
    /// output folder holds.
    #[arg(long)]
    force: bool,
    /// Progress display.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    progress: ProgressMode,
}

#[derive(Args, Debug)]
#[command(after_help = step::HELP)]
struct StepArgs {
    /// Scenario file (omit with --from).
    #[arg(required_unless_present = "from")]
    scenario: Option<PathBuf>,
    /// Master seed (default: the scenario's seed_base).
    #[arg(long, allow_hyphen_values = true, value_parser = args::whole(0))]
    seed: Option<u64>,
    /// Start from this snapshot instead of the beginning.
    #[arg(long, conflicts_with_all = ["scenario", "seed", "sets"])]
    from: Option<PathBuf>,
    /// Override a scenario key (as for run).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Print this many events (after filters), then stop.
    #[arg(long, conflicts_with = "until", allow_hyphen_values = true, value_parser = args::whole(0))]
    count: Option<u64>,
    /// Run to this simulated time, printing events on the way.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    until: Option<String>,
    /// With --until: print nothing on the way, only where the run is then.
    #[arg(long, short)]
    quiet: bool,
    /// Only print events of these kinds (comma-separated, e.g. SessionEnd,CompetingBid; the prompt's `kinds`
    /// lists a model's kinds; an unknown kind is an error that lists them).
    #[arg(long, value_delimiter = ',')]
    kind: Vec<String>,
    /// Only print events that concern this agent, named as the output prints it (e.g. provider3, p3, consumer:12).
    #[arg(long)]
    agent: Option<String>,
    /// The command prompt even when stdin is not a terminal (commands are read one a line, e.g. from a script);
    /// with --until or --count, after running those.
    #[arg(long)]
    interactive: bool,
    /// Memory that stepping back may keep in checkpoints of the run (e.g. 64MiB, 1GiB); older checkpoints are
    /// thinned out to stay within it, which makes going far back replay more events.
    #[arg(long, value_name = "SIZE", default_value = "256MiB")]
    back_memory: String,
}

#[derive(Args, Debug)]
struct InspectArgs {
    /// Snapshot file.
    snapshot: PathBuf,
    /// List the next N pending events (time, sequence number, kind, agent) instead of the header.
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "10", allow_hyphen_values = true,
          value_parser = args::whole(0))]
    queue: Option<u64>,
    /// Print one agent's state and numeric fields instead of the header (named as `step` prints it).
    #[arg(long)]
    agent: Option<String>,
}

/// Entry point of the binary. Every command prints through [`out`]; its
/// errors are turned into an exit status in one place ([`out::report`]): 0
/// quietly for a stdout its reader closed, 1 with the message otherwise.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) if e.use_stderr() => {
            let _ = e.print();
            return ExitCode::from(2);
        }
        // --help and --version: text for stdout.
        Err(e) => {
            return match e.print().and_then(|()| out::flush()).map_err(out::stdout_error) {
                Ok(()) => ExitCode::SUCCESS,
                Err(io) => out::report(&io.into()),
            };
        }
    };
    match dispatch(cli).and_then(|code| out::flush().map(|()| code).map_err(Into::into)) {
        Ok(code) => code,
        Err(e) => out::report(&e),
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run(a) => cmd_run(a),
        Command::Resume(a) => cmd_resume(a),
        Command::Step(a) => step::cmd_step(a),
        Command::Inspect(a) => cmd_inspect(&a),
        Command::List { dir } => cmd_list(&dir),
        Command::Merge { dirs, out, force } => cmd_merge(&dirs, out, force),
        Command::Explore(a) => explore::cmd_explore(a),
        Command::Reproduce(a) => reproduce::cmd_reproduce(a),
        Command::Trust { command } => trust::cmd_trust(command),
    }
}

pub use step::{StepScript, run_script as step_script};

/// Parse a user time in `unit` (bare numbers), with a message naming `flag`.
fn time_arg(flag: &str, text: &str, unit: TimeUnit) -> anyhow::Result<SimTime> {
    parse_time(text, unit).map_err(|e| anyhow::anyhow!("{flag}: {e}"))
}

/// The master seeds a run takes: the study's grid, `--seed`, `--seeds N`
/// from `seed_base`, or the scenario's `seeds`.
fn run_seeds_of(study: &dyn crate::study::Study, a: &RunArgs) -> anyhow::Result<Vec<u64>> {
    let (base, n) = study.default_seeds();
    let count = |n: u64, what: &str| -> anyhow::Result<Vec<u64>> {
        if n == 0 {
            bail!("{what} is 0: nothing to run");
        }
        crate::study::limits::seed_range(base, n).with_context(|| what.to_string())
    };
    match (study.grid_seeds(), a.seed, a.seeds) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => bail!(
            "{}: study {} derives its seeds from its grid (seed = 1000*iteration + sample); \
             --seed and --seeds do not apply (set full_study.iterations and full_study.samples instead)",
            a.scenario.display(),
            study.id()
        ),
        (Some(grid), None, None) => Ok(grid),
        (None, Some(s), _) => Ok(vec![s]),
        (None, None, Some(n)) => count(n, "--seeds"),
        (None, None, None) => count(n, &format!("{}: key `seeds`", a.scenario.display())),
    }
}

/// Most periodic snapshots one seed may write.
pub const MAX_SNAPSHOTS_PER_SEED: u64 = 10_000;

/// `--snapshot-every` checked against the study: more than zero, no finer
/// than snapshot file names tell apart (1/1000 of the unit), and not more
/// than [`MAX_SNAPSHOTS_PER_SEED`] over the horizon.
fn snapshot_period(text: Option<&str>, study: &dyn crate::study::Study) -> anyhow::Result<Option<u64>> {
    let Some(text) = text else { return Ok(None) };
    let unit = study.time_unit();
    let t = time_arg("--snapshot-every", text, unit)?.ticks();
    let finest = unit.ticks() / 1000;
    if t == 0 {
        bail!("--snapshot-every must be greater than 0");
    }
    if t < finest {
        bail!(
            "--snapshot-every {text} is finer than snapshot file names can tell apart (they keep 1/1000 {}); use {} or more",
            unit.name(),
            unit.format(SimTime(finest))
        );
    }
    let count = study.horizon().ticks() / t;
    if count > MAX_SNAPSHOTS_PER_SEED {
        let min = study.horizon().ticks().div_ceil(MAX_SNAPSHOTS_PER_SEED);
        bail!(
            "--snapshot-every {text} would write {count} snapshots of every seed over the {} horizon (at most {MAX_SNAPSHOTS_PER_SEED}); use {} or more",
            unit.format(study.horizon()),
            unit.format(SimTime(min))
        );
    }
    Ok(Some(t))
}

/// Worker threads for `--jobs jobs` (0: not given): SLURM_CPUS_PER_TASK
/// when set and `--jobs` is not given; in a Slurm job, a line says which.
pub(crate) fn resolve_jobs(jobs: usize) -> anyhow::Result<usize> {
    let env = crate::study::slurm::slurm_env();
    let (n, note) = crate::study::slurm::jobs_from_env(jobs, &env, args::MAX_JOBS).map_err(anyhow::Error::msg)?;
    if let Some(note) = note {
        errln!("{note}");
    }
    Ok(n)
}

/// `--shard`: `i/N` as given, or the shard of this Slurm array task.
pub(crate) fn resolve_shard(
    arg: Option<crate::study::slurm::ShardArg>,
) -> anyhow::Result<Option<crate::study::shard::ShardSpec>> {
    use crate::study::slurm::{ShardArg, shard_from_env, slurm_env};
    match arg {
        None => Ok(None),
        Some(ShardArg::Fixed(s)) => Ok(Some(s)),
        Some(ShardArg::Slurm) => {
            let s = shard_from_env(&slurm_env()).map_err(anyhow::Error::msg)?;
            errln!("--shard slurm: {}", s.note);
            Ok(Some(s.spec))
        }
    }
}

fn cmd_run(mut a: RunArgs) -> anyhow::Result<ExitCode> {
    let shard = resolve_shard(a.shard)?;
    a.jobs = resolve_jobs(a.jobs)?;
    let scenario = Scenario::load(&a.scenario, &a.sets)?;
    let name = scenario.name();
    let study = open_study(scenario)?;
    let all = run_seeds_of(study.as_ref(), &a)?;
    let snapshot_every = snapshot_period(a.snapshot_every.as_deref(), study.as_ref())?;
    let out = a.out.clone().unwrap_or_else(|| PathBuf::from("results").join(name));
    let (seeds, folder) = match shard {
        Some(shard) => (shard.select(&all), shard.dir(&out)),
        None => (all.clone(), out.clone()),
    };
    if seeds.is_empty() {
        bail!(
            "--shard {}/{}: this shard has no seeds (the run has {} seeds; run at most that many shards)",
            shard.map_or(0, |s| s.index),
            shard.map_or(0, |s| s.count),
            all.len()
        );
    }
    crate::study::limits::check_memory(study.as_ref(), seeds.len() as u64, a.jobs)?;
    let manifest = Manifest::new(study.as_ref(), seeds, all, shard, snapshot_every);
    let existing = if a.force { Existing::Replace } else { Existing::Refuse };
    let mut dir = RunDir::prepare(&folder, manifest, existing)?;
    if dir.continuing {
        let done = dir.manifest().seeds.iter().filter(|s| dir.output_path(**s).exists()).count();
        errln!(
            "continuing the interrupted run in {} ({done} of {} seeds already finished)",
            folder.display(),
            dir.manifest().seeds.len()
        );
    }
    run_in_folder(study.as_ref(), &mut dir, a.jobs, a.progress, None, &out)
}

/// Run (or continue) the run a folder holds, print its report or what was
/// kept, and return the exit status.
fn run_in_folder(
    study: &dyn crate::study::Study,
    dir: &mut RunDir,
    jobs: usize,
    progress: ProgressMode,
    start_from: Option<(u64, PathBuf)>,
    out: &Path,
) -> anyhow::Result<ExitCode> {
    crate::engine::interrupt::install()?;
    let t0 = std::time::Instant::now();
    let load = |p: &Path| -> anyhow::Result<Box<dyn crate::study::Stepper>> { Ok(open_snapshot(p)?.1) };
    let opts = FolderRun { jobs, progress, stop: StopCheck::on_interrupt(), load: &load, start_from };
    let n = dir.manifest().seeds.len();
    // Seeds continued from snapshots were validated when loaded; should a
    // check have been missed, a panic becomes an error about the snapshots.
    let from_snapshots = opts.start_from.is_some() || dir.continuing;
    let path = opts.start_from.as_ref().map_or_else(|| dir.path().to_path_buf(), |(_, p)| p.clone());
    let end =
        if from_snapshots { guarded(&path, || run_folder(study, dir, &opts))? } else { run_folder(study, dir, &opts)? };
    match end {
        FolderEnd::Finished(Some(res)) => {
            outln!("{}", res.markdown)?;
            errln!(
                "wrote {}/results.json ({n} seed{} in {:.2}s)",
                dir.path().display(),
                if n == 1 { "" } else { "s" },
                t0.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        FolderEnd::Finished(None) => {
            let m = dir.manifest();
            let shard = m.shard.expect("a report-less run is a shard");
            errln!(
                "shard {}/{}: {n} of {} seeds in {:.2}s, written to {}; combine the shards with `omerta-sim merge {}`",
                shard.index,
                shard.count,
                m.all_seeds.len(),
                t0.elapsed().as_secs_f64(),
                dir.path().display(),
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        FolderEnd::Interrupted(r) => {
            let list = |v: &[u64]| crate::study::exec::seed_list(v);
            let mut msg = format!("interrupted: kept {} finished seed(s)", r.finished.len());
            if !r.finished.is_empty() {
                msg += &format!(" ({})", list(&r.finished));
            }
            if !r.stopped.is_empty() {
                let at: Vec<String> = r.stopped.iter().map(|(s, t)| format!("seed {s} at {t}")).collect();
                msg += &format!(
                    "; saved {} unfinished seed(s) at their current event ({})",
                    r.stopped.len(),
                    at.join(", ")
                );
            }
            if !r.not_started.is_empty() {
                msg += &format!("; {} seed(s) not started ({})", r.not_started.len(), list(&r.not_started));
            }
            errln!("{msg}");
            errln!("continue with: omerta-sim resume {}", dir.path().display());
            Ok(ExitCode::from(crate::engine::interrupt::exit_status()))
        }
    }
}

fn cmd_resume(mut a: ResumeArgs) -> anyhow::Result<ExitCode> {
    a.jobs = resolve_jobs(a.jobs)?;
    if a.path.is_dir() {
        return resume_folder(a);
    }
    if a.shard.is_some() {
        bail!("--shard applies to a run folder; {} is a snapshot file", a.path.display());
    }
    let (_, mut run) = open_snapshot(&a.path)?;
    let study = study_of(run.as_ref())?;
    let unit = run.time_unit();
    let snapshot_every = snapshot_period(a.snapshot_every.as_deref(), study.as_ref())?;
    let seed = run.meta().seed;
    let scenario_stem = Path::new(&run.meta().scenario_path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| study.id().to_string());
    let out = a.out.unwrap_or_else(|| PathBuf::from("results").join(scenario_stem).join(format!("resumed-seed{seed}")));
    let Some(until) = &a.until else {
        // To the end: a one-seed run in its own folder, which an interrupt
        // keeps and `resume OUT` continues.
        let manifest = Manifest::new(study.as_ref(), vec![seed], vec![seed], None, snapshot_every);
        let existing = if a.force { Existing::Replace } else { Existing::Refuse };
        let mut dir = RunDir::prepare(&out, manifest, existing)?;
        let path = std::fs::canonicalize(&a.path).unwrap_or(a.path.clone());
        return run_in_folder(study.as_ref(), &mut dir, a.jobs, a.progress, Some((seed, path)), &out);
    };
    let until = time_arg("--until", until, unit)?;
    if until < run.now() {
        bail!("--until {} is before the snapshot's time {}", unit.format(until), unit.format(run.now()));
    }
    crate::engine::interrupt::install()?;
    let total = run.horizon().min(until).since(run.now());
    let progress = crate::engine::progress::Progress::start(a.progress, study.id(), total, 1, unit);
    let ctl = RunControl {
        tracker: progress.tracker(),
        snapshot_every,
        snapshot_dir: out.join("snapshots"),
        stop: StopCheck::on_interrupt(),
    };
    let end = guarded(&a.path, || run.drive(until, &ctl))?;
    progress.finish();
    let at = run.now();
    let path = out.join(crate::study::run::snapshot_name(
        study.id(),
        seed,
        if end == DriveEnd::Stopped { at } else { until },
        unit,
    ));
    match end {
        DriveEnd::Finished => {
            let output = guarded(&a.path, || study.complete_seed(seed, run.output()))?;
            let res = finish(study.as_ref(), vec![output], &out)?;
            outln!("{}", res.markdown)?;
            errln!("run finished at {}; wrote {}/results.json", unit.format(at), out.display());
            Ok(ExitCode::SUCCESS)
        }
        DriveEnd::Until => {
            run.save(&path)?;
            outln!(
                "stopped at {} after {} events; snapshot written to {}",
                unit.format(until),
                run.counters().processed,
                path.display()
            )?;
            Ok(ExitCode::SUCCESS)
        }
        DriveEnd::Stopped => {
            run.save(&path)?;
            errln!(
                "interrupted at {} after {} events; snapshot written to {}",
                unit.format(at),
                run.counters().processed,
                path.display()
            );
            errln!("continue with: omerta-sim resume {} --until {}", path.display(), unit.format(until));
            Ok(ExitCode::from(crate::engine::interrupt::exit_status()))
        }
    }
}

/// `resume OUT`: continue the run a folder holds, or each unfinished shard
/// under it.
fn resume_folder(a: ResumeArgs) -> anyhow::Result<ExitCode> {
    let units: Vec<PathBuf> = if let Some(shard) = a.shard {
        vec![shard.dir(&a.path)]
    } else if a.path.join(crate::study::rundir::MANIFEST).exists() {
        vec![a.path.clone()]
    } else {
        let mut v: Vec<PathBuf> = std::fs::read_dir(a.path.join("shards"))
            .map(|it| {
                it.flatten().map(|e| e.path()).filter(|p| p.join(crate::study::rundir::MANIFEST).exists()).collect()
            })
            .unwrap_or_default();
        v.sort();
        if v.is_empty() {
            bail!(
                "{} is not a run folder (no {} and no shards/*/{}) nor a snapshot file; give the --out folder of a run",
                a.path.display(),
                crate::study::rundir::MANIFEST,
                crate::study::rundir::MANIFEST
            );
        }
        v
    };
    if a.until.is_some() {
        bail!("--until applies to a snapshot file; {} is a run folder", a.path.display());
    }
    if a.out.is_some() {
        bail!("--out applies to a snapshot file; a run folder is continued in place ({})", a.path.display());
    }
    // The run's OUT: a shard folder given itself is OUT/shards/i-of-N.
    let out_of = |unit: &Path, sharded: bool| -> PathBuf {
        if a.shard.is_some() || unit != a.path {
            a.path.clone()
        } else if sharded && let Some(out) = unit.parent().and_then(Path::parent) {
            out.to_path_buf()
        } else {
            unit.to_path_buf()
        }
    };
    let mut resumed = 0;
    for unit in &units {
        if !unit.join(crate::study::rundir::MANIFEST).exists() {
            bail!("{} is not a run folder (it has no {})", unit.display(), crate::study::rundir::MANIFEST);
        }
        let mut dir = RunDir::reopen(unit)?;
        if dir.manifest().state == RunState::Finished {
            errln!("{} is finished; nothing to resume", unit.display());
            continue;
        }
        let m = dir.manifest().clone();
        let scenario = Scenario::parse(&m.scenario_toml, Path::new(&m.scenario_path), &[]).with_context(|| {
            format!("{}: the recorded scenario", unit.join(crate::study::rundir::MANIFEST).display())
        })?;
        let study = open_study(scenario)?;
        if study.id() != m.study {
            bail!("{}: the recorded scenario is of study {}, not {}", unit.display(), study.id(), m.study);
        }
        let every = snapshot_period(a.snapshot_every.as_deref(), study.as_ref())?;
        crate::study::limits::check_memory(study.as_ref(), m.seeds.len() as u64, a.jobs)?;
        dir.set_snapshot_every(every)?;
        let done = m.seeds.iter().filter(|s| dir.output_path(**s).exists()).count();
        errln!("resuming {} ({done} of {} seeds finished)", unit.display(), m.seeds.len());
        resumed += 1;
        let code = run_in_folder(study.as_ref(), &mut dir, a.jobs, a.progress, None, &out_of(unit, m.shard.is_some()))?;
        if code != ExitCode::SUCCESS {
            return Ok(code);
        }
    }
    if resumed == 0 && units.len() > 1 {
        errln!("every shard under {} is finished", a.path.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_merge(dirs: &[PathBuf], out: Option<PathBuf>, force: bool) -> anyhow::Result<ExitCode> {
    if explore::is_explore_merge(dirs) {
        return explore::cmd_merge(dirs, out, force);
    }
    let out = out.unwrap_or_else(|| dirs[0].clone());
    let (study, outputs) = crate::study::shard::gather(dirs, |s| Ok(open_study(s)?))?;
    let seeds: Vec<u64> = outputs.iter().map(|o| o.seed).collect();
    let manifest = Manifest::new(study.as_ref(), seeds.clone(), seeds, None, None);
    // Merging the same shards again replaces the earlier merge.
    let existing = match crate::study::rundir::Manifest::read(&out) {
        Ok(Some(m)) if m.same_run(&manifest) => Existing::Replace,
        _ if force => Existing::Replace,
        _ => Existing::Refuse,
    };
    let mut dir = RunDir::prepare(&out, manifest, existing)?;
    let res = finish(study.as_ref(), outputs, &out)?;
    dir.finished()?;
    outln!("{}", res.markdown)?;
    errln!("merged {} seeds; wrote {}/results.json", res.results.seeds.len(), out.display());
    Ok(ExitCode::SUCCESS)
}

fn cmd_inspect(a: &InspectArgs) -> anyhow::Result<ExitCode> {
    let path = a.snapshot.as_path();
    let (h, mut run) = open_snapshot(path)?;
    let text = guarded(path, || {
        let unit = run.time_unit();
        if let Some(name) = &a.agent {
            let agent = step::resolve_agent(run.as_ref(), name).map_err(|e| anyhow::anyhow!("--agent {e:#}"))?;
            let Some(state) = run.show(agent) else {
                bail!("--agent: no {agent} in this snapshot's run at {}", unit.format(run.now()));
            };
            let mut lines = vec![state];
            let fields = run.agent_fields(agent).unwrap_or_default();
            if !fields.is_empty() {
                lines.push(step::fields_text(&fields));
            }
            if a.queue.is_none() {
                return Ok(lines.join("\n"));
            }
            lines.push(String::new());
            lines.push(step::queue_text(run.as_ref(), a.queue.unwrap_or(10)));
            return Ok(lines.join("\n"));
        }
        if let Some(n) = a.queue {
            return Ok(step::queue_text(run.as_ref(), n));
        }
        let c = run.counters();
        let next = run.next_time().map(|t| unit.format(t)).unwrap_or_else(|| "none (run finished)".into());
        let agents: Vec<String> = run.agent_counts().iter().map(|(k, n)| format!("{k}: {n}")).collect();
        let overrides = match run.meta().scenario() {
            Ok(s) if s.overrides().is_empty() => "none".to_string(),
            Ok(s) => s.overrides().join(", "),
            Err(e) => format!("(the stored scenario does not load: {e:#})"),
        };
        Ok([
            format!("snapshot        {}", path.display()),
            format!("format version  {}", h.format_version),
            format!("model kind      {}", h.model_kind),
            format!("written by      omerta-sim {}", h.crate_version),
            format!("scenario        {} (hash {:016x})", run.meta().scenario_path, h.scenario_hash),
            format!("overrides       {overrides}"),
            format!("seed            {}", run.meta().seed),
            format!("body            {} bytes (file checksum {:016x})", h.body_len, h.checksum),
            format!("simulated time  {} of {}", unit.format(run.now()), unit.format(run.horizon())),
            format!("events          {} processed, {} scheduled, {} cancelled", c.processed, c.scheduled, c.cancelled),
            format!("pending events  {} (next at {next})", run.pending()),
            format!("fingerprint     {:016x}", run.fingerprint()),
            format!("agents          {}", agents.join(", ")),
            format!("state           {}", run.describe()),
        ]
        .join("\n"))
    })?;
    outln!("{text}")?;
    Ok(ExitCode::SUCCESS)
}

fn cmd_list(dir: &Path) -> anyhow::Result<ExitCode> {
    let files = crate::study::scenario::scenario_files(dir)
        .with_context(|| format!("reading scenario folder {}", dir.display()))?;
    if files.is_empty() {
        outln!("no scenario files in {}", dir.display())?;
    }
    let width = files.iter().map(|f| f.display().to_string().len()).max().unwrap_or(0);
    for f in files {
        let line = match Scenario::load(&f, &[]) {
            Ok(s) => {
                let fid = s.table.get("fidelity").and_then(|v| v.as_str()).unwrap_or("corrected").to_string();
                let desc = s.table.get("description").and_then(|v| v.as_str()).unwrap_or("").to_string();
                let known = if crate::models::study_ids().contains(&s.study.as_str()) {
                    ""
                } else {
                    " (study not in this build)"
                };
                format!("{:<28} {:<10} {desc}{known}", s.study, fid)
            }
            Err(e) => format!("unreadable: {}", out::chain(&e)),
        };
        outln!("{:<width$}  {line}", f.display().to_string())?;
    }
    Ok(ExitCode::SUCCESS)
}
