//! The `omerta-sim` subcommands: run, resume, step, inspect, list, trust.

mod reproduce;
mod step;
mod trust;

use crate::engine::progress::ProgressMode;
use crate::engine::time::parse_time;
use crate::engine::{SimTime, TimeUnit};
use crate::models::{STUDIES, open_snapshot, open_study, study_of};
use crate::study::exec::{RunOptions, finish, run_study};
use crate::study::{RunControl, Scenario};
use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// omerta-sim: a discrete-event, agent-based simulator of the Omerta compute
/// market and its trust system. Every study runs over many seeds and reports
/// each finding with a 95% confidence interval and a verdict.
#[derive(Parser, Debug)]
#[command(name = "omerta-sim", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a study over many seeds and write results.json, CSV, charts and a
    /// Markdown summary (also printed).
    Run(RunArgs),
    /// Continue a run from a snapshot, to its end or to --until.
    Resume(ResumeArgs),
    /// Step through one run event by event (interactive on a terminal).
    Step(StepArgs),
    /// Print a snapshot's header and state.
    Inspect {
        /// Snapshot file.
        snapshot: PathBuf,
    },
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
    },
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
    #[arg(long, conflicts_with = "seeds")]
    seed: Option<u64>,
    /// Run N master seeds: seed_base .. seed_base+N-1 (default: the
    /// scenario's `seeds`).
    #[arg(long)]
    seeds: Option<u64>,
    /// Override a scenario key: --set key=value (dotted for tables; the value
    /// is read as TOML, a bare word as a string). Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Output folder (default: results/<scenario file stem>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, default_value_t = 0)]
    jobs: usize,
    /// Progress display: a bar on a terminal, log lines otherwise (auto).
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    progress: ProgressMode,
    /// Write a snapshot of every seed each time this much simulated time has
    /// passed, into OUT/snapshots/ (e.g. 100h, 30d; a bare number is in the
    /// study's unit: hours for markets, days for trust and policy).
    #[arg(long, value_name = "TIME")]
    snapshot_every: Option<String>,
    /// Run only shard i of N (every N-th seed, starting at the i-th) and keep
    /// its per-seed outputs in OUT/shards/i-of-N/; combine with `merge`
    /// (e.g. --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT).
    #[arg(long, value_name = "i/N")]
    shard: Option<crate::study::shard::ShardSpec>,
}

#[derive(Args, Debug)]
struct ReproduceArgs {
    /// Output folder (default: results/reproduce).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Seeds per study (default: each scenario's own `seeds`; for the full study, the first N seeds of its grid).
    #[arg(long)]
    seeds: Option<u64>,
    /// Worker threads (default: all cores).
    #[arg(long, default_value_t = 0)]
    jobs: usize,
    /// Progress display.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    progress: ProgressMode,
    /// Folder of the scenario files.
    #[arg(long, default_value = "models")]
    models: PathBuf,
}

#[derive(Args, Debug)]
struct ResumeArgs {
    /// Snapshot file.
    snapshot: PathBuf,
    /// Stop at this simulated time and write a new snapshot (default: run to
    /// the end and write results).
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
    /// Output folder (default: results/<scenario stem>/resumed-seed<S>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Progress display.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    progress: ProgressMode,
}

#[derive(Args, Debug)]
struct StepArgs {
    /// Scenario file (omit with --from).
    #[arg(required_unless_present = "from")]
    scenario: Option<PathBuf>,
    /// Master seed (default: the scenario's seed_base).
    #[arg(long)]
    seed: Option<u64>,
    /// Start from this snapshot instead of the beginning.
    #[arg(long, conflicts_with_all = ["scenario", "seed", "sets"])]
    from: Option<PathBuf>,
    /// Override a scenario key (as for run).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Print this many events (after filters), then stop.
    #[arg(long, conflicts_with = "until")]
    count: Option<u64>,
    /// Run to this simulated time, printing events on the way.
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
    /// Only print events of these kinds (comma-separated, e.g. SessionEnd,CompetingBid).
    #[arg(long, value_delimiter = ',')]
    kind: Vec<String>,
    /// Only print events that concern this agent (e.g. provider3, p3, consumer:12).
    #[arg(long)]
    agent: Option<String>,
    /// Interactive prompt even when stdin is not a terminal.
    #[arg(long)]
    interactive: bool,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run(a) => cmd_run(a),
        Command::Resume(a) => cmd_resume(a),
        Command::Step(a) => step::cmd_step(a),
        Command::Inspect { snapshot } => cmd_inspect(&snapshot),
        Command::List { dir } => cmd_list(&dir),
        Command::Merge { dirs, out } => cmd_merge(&dirs, out),
        Command::Reproduce(a) => reproduce::cmd_reproduce(a),
        Command::Trust { command } => trust::cmd_trust(command),
    }
}

/// Parse a user time in `unit` (bare numbers), with a message naming `flag`.
fn time_arg(flag: &str, text: &str, unit: TimeUnit) -> anyhow::Result<SimTime> {
    parse_time(text, unit).map_err(|e| anyhow::anyhow!("{flag}: {e}"))
}

fn cmd_run(a: RunArgs) -> anyhow::Result<ExitCode> {
    let scenario = Scenario::load(&a.scenario, &a.sets)?;
    let name = scenario.name();
    let study = open_study(scenario)?;
    let (base, n) = study.default_seeds();
    let seeds: Vec<u64> = match (study.grid_seeds(), a.seed, a.seeds) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => bail!(
            "{}: study {} derives its seeds from its grid (seed = 1000*iteration + sample); \
             --seed and --seeds do not apply (set full_study.iterations and full_study.samples instead)",
            a.scenario.display(),
            study.id()
        ),
        (Some(grid), None, None) => grid,
        (None, seed, seeds) => match (seed, seeds) {
            (Some(s), _) => vec![s],
            (None, Some(0)) => bail!("--seeds must be at least 1"),
            (None, Some(n)) => crate::study::limits::seed_range(base, n)?,
            (None, None) if n == 0 => {
                bail!("{}: key `seeds` is 0: nothing to run", a.scenario.display())
            }
            (None, None) => crate::study::limits::seed_range(base, n)?,
        },
    };
    let kept = a.shard.map_or(seeds.len(), |s| s.select(&seeds).len());
    crate::study::limits::check_memory(study.as_ref(), kept as u64, a.jobs)?;
    let snapshot_every = match &a.snapshot_every {
        Some(t) => {
            let t = time_arg("--snapshot-every", t, study.time_unit())?;
            if t.ticks() == 0 {
                bail!("--snapshot-every must be greater than 0");
            }
            Some(t.ticks())
        }
        None => None,
    };
    let out = a.out.unwrap_or_else(|| PathBuf::from("results").join(name));
    let opts = RunOptions { seeds, jobs: a.jobs, progress: a.progress, snapshot_every, out: out.clone() };
    let t0 = std::time::Instant::now();
    if let Some(shard) = a.shard {
        let all = opts.seeds.clone();
        let mine = shard.select(&all);
        let outputs = crate::study::exec::run_seeds(study.as_ref(), &RunOptions { seeds: mine, ..opts })?;
        let dir = crate::study::shard::write_shard(study.as_ref(), shard, &all, &outputs, &out)?;
        eprintln!(
            "shard {}/{}: {} of {} seeds in {:.2}s, written to {}; combine the shards with `omerta-sim merge {}`",
            shard.index,
            shard.count,
            outputs.len(),
            all.len(),
            t0.elapsed().as_secs_f64(),
            dir.display(),
            out.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let res = run_study(study.as_ref(), &opts)?;
    println!("{}", res.markdown);
    eprintln!(
        "wrote {}/results.json ({} seeds in {:.2}s)",
        out.display(),
        res.results.seeds.len(),
        t0.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

fn cmd_resume(a: ResumeArgs) -> anyhow::Result<ExitCode> {
    let (_, mut run) = open_snapshot(&a.snapshot)?;
    let study = study_of(run.as_ref())?;
    let unit = run.time_unit();
    let until = match &a.until {
        Some(t) => time_arg("--until", t, unit)?,
        None => SimTime::MAX,
    };
    if until < run.now() {
        bail!("--until {} is before the snapshot's time {}", unit.format(until), unit.format(run.now()));
    }
    let seed = run.meta().seed;
    let scenario_stem = Path::new(&run.meta().scenario_path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| study.id().to_string());
    let out = a.out.unwrap_or_else(|| PathBuf::from("results").join(scenario_stem).join(format!("resumed-seed{seed}")));
    let total = run.horizon().min(until).since(run.now());
    let progress = crate::engine::progress::Progress::start(a.progress, study.id(), total, 1, unit);
    let ctl = RunControl { tracker: progress.tracker(), snapshot_every: None, snapshot_dir: out.join("snapshots") };
    run.drive(until, &ctl)?;
    progress.finish();
    if run.is_finished() {
        let output = study.complete_seed(seed, run.output())?;
        let res = finish(study.as_ref(), vec![output], &out)?;
        println!("{}", res.markdown);
        eprintln!("run finished at {}; wrote {}/results.json", unit.format(run.now()), out.display());
    } else {
        let path = out.join(crate::study::run::snapshot_name(study.id(), seed, until, unit));
        run.save(&path)?;
        println!(
            "stopped at {} after {} events; snapshot written to {}",
            unit.format(until),
            run.counters().processed,
            path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_merge(dirs: &[PathBuf], out: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let out = out.unwrap_or_else(|| dirs[0].clone());
    let res = crate::study::shard::merge(dirs, &out, |s| Ok(open_study(s)?))?;
    println!("{}", res.markdown);
    eprintln!("merged {} seeds; wrote {}/results.json", res.results.seeds.len(), out.display());
    Ok(ExitCode::SUCCESS)
}

fn cmd_inspect(path: &Path) -> anyhow::Result<ExitCode> {
    let (h, mut run) = open_snapshot(path)?;
    let unit = run.time_unit();
    let c = run.counters();
    println!("snapshot        {}", path.display());
    println!("format version  {}", h.format_version);
    println!("model kind      {}", h.model_kind);
    println!("written by      omerta-sim {}", h.crate_version);
    println!("scenario        {} (hash {:016x})", run.meta().scenario_path, h.scenario_hash);
    println!("seed            {}", run.meta().seed);
    println!("body            {} bytes, checksum {:016x}", h.body_len, h.checksum);
    println!("simulated time  {} of {}", unit.format(run.now()), unit.format(run.horizon()));
    println!("events          {} processed, {} scheduled, {} cancelled", c.processed, c.scheduled, c.cancelled);
    let next = run.next_time().map(|t| unit.format(t)).unwrap_or_else(|| "none (run finished)".into());
    println!("pending events  {} (next at {next})", run.pending());
    println!("fingerprint     {:016x}", run.fingerprint());
    let agents: Vec<String> = run.agent_counts().iter().map(|(k, n)| format!("{n} {k}s")).collect();
    println!("agents          {}", agents.join(", "));
    println!("state           {}", run.describe());
    Ok(ExitCode::SUCCESS)
}

fn cmd_list(dir: &Path) -> anyhow::Result<ExitCode> {
    let files = crate::study::scenario::scenario_files(dir)
        .with_context(|| format!("reading scenario folder {}", dir.display()))?;
    if files.is_empty() {
        println!("no scenario files in {}", dir.display());
    }
    let width = files.iter().map(|f| f.display().to_string().len()).max().unwrap_or(0);
    for f in files {
        let line = match Scenario::load(&f, &[]) {
            Ok(s) => {
                let fid = s.table.get("fidelity").and_then(|v| v.as_str()).unwrap_or("corrected").to_string();
                let desc = s.table.get("description").and_then(|v| v.as_str()).unwrap_or("").to_string();
                let known = if STUDIES.contains(&s.study.as_str()) { "" } else { " (study not in this build)" };
                format!("{:<28} {:<10} {desc}{known}", s.study, fid)
            }
            Err(e) => format!("unreadable: {e}"),
        };
        println!("{:<width$}  {line}", f.display().to_string());
    }
    Ok(ExitCode::SUCCESS)
}
