//! `omerta-sim explore`: a design of experiments over scenario keys (a plan
//! file), or the search for a tipping point along one key (`--find`).

use super::args;
use crate::engine::progress::ProgressMode;
use crate::explore::charts::ChartFactor;
use crate::explore::exec::{Base, Exec, Point, PointRuns, open_points, seed_list};
use crate::explore::find::{Condition, Halving, Outcome, Probe, Range, bisect_with};
use crate::explore::folder::{Folder, Manifest};
use crate::explore::output;
use crate::explore::plan::{Design, Layout, Plan};
use crate::explore::sensitivity::{Bootstrap, SensitivityRow, analyse};
use crate::report::stats::wilson95;
use crate::study::StopCheck;
use crate::study::shard::ShardSpec;
use anyhow::{Context, bail};
use clap::Args;
use clap::builder::TypedValueParser;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Flags of `explore`.
#[derive(Args, Debug)]
#[command(after_help = "\
Every point runs the same master seeds (common random numbers), so differences between points are paired; a row of \
points.csv equals `omerta-sim run <scenario> --set <the point's values> --seed <seed>`. Runs are kept in OUT/runs.jsonl \
as they finish: after an interrupt, the same command continues. The plan file and the outputs are described in \
docs/explore.md.

Tipping point: `explore <scenario> --find <key> --range <lo>,<hi> --where \"<metric or finding> <op> <target>\"` probes \
both ends, then bisects where the condition (on the mean over seeds, or a finding's held share) changes; it prints every \
probe with its 95% interval and records the bracket in OUT/results.json as find.lo and find.hi.")]
pub struct ExploreArgs {
    /// Scenario file (TOML) whose keys are explored.
    scenario: PathBuf,
    /// Plan file (TOML): design, points, seeds, metrics and [factors] (see docs/explore.md). Not with --find.
    #[arg(required_unless_present = "find", conflicts_with = "find")]
    plan: Option<PathBuf>,
    /// Output folder (default: results/explore-<scenario file stem>[-<key>]).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Seeds per point, the same at every point: seed_base .. seed_base+N-1 (default: the plan's `seeds`, else the
    /// scenario's).
    #[arg(long, allow_hyphen_values = true, value_parser = args::whole_in(1, args::MAX_SEEDS))]
    seeds: Option<u64>,
    /// Override a scenario key at every point (as for run). Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, default_value_t = 0, allow_hyphen_values = true, value_parser = args::jobs())]
    jobs: usize,
    /// Progress display: a bar on a terminal, log lines otherwise (auto).
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    progress: ProgressMode,
    /// Run only shard i of N into OUT/shards/i-of-N/; combine with `omerta-sim merge OUT`. A shard takes
    /// every N-th run of the points x seeds (whole points with adaptive seeding). `slurm`: the shard of
    /// this Slurm array task (as for run).
    #[arg(long, value_name = "i/N|slurm", allow_hyphen_values = true, conflicts_with = "find")]
    shard: Option<crate::study::slurm::ShardArg>,
    /// Replace the outputs of another exploration (or other files) that OUT holds.
    #[arg(long)]
    force: bool,
    /// Find where a condition changes along this scenario key (e.g. trust.k_payment; array entries as
    /// consumer_groups[0].checkpoint_hours).
    #[arg(long, value_name = "KEY", requires_all = ["range", "condition"])]
    find: Option<String>,
    /// With --find: the key's range, lo,hi (whole numbers for an integer key).
    #[arg(long, value_name = "LO,HI", allow_hyphen_values = true, requires = "find")]
    range: Option<Range>,
    /// With --find: the condition, "<metric or finding> <op> <target>" (op: <, <=, >, >=); a metric is judged on its
    /// mean over the seeds, a finding on the share of seeds it held in (e.g. "F1 >= 0.9").
    #[arg(long = "where", id = "condition", value_name = "CONDITION", allow_hyphen_values = true, requires = "find")]
    condition: Option<Condition>,
    /// With --find: at most this many probes, the two ends included (2 to 200).
    #[arg(long, default_value_t = 12, allow_hyphen_values = true, value_parser = args::whole_in(2, 200).map(|n| n as usize), requires = "find")]
    probes: usize,
    /// With --find on a key that is not an integer: stop when the bracket is this narrow (default: the range / 1000;
    /// with --log, the ratio hi/lo - 1, default 0.01).
    #[arg(long, value_name = "WIDTH", allow_hyphen_values = true, requires = "find")]
    tol: Option<f64>,
    /// With --find: halve the bracket at its geometric middle (a key that spans orders of magnitude; lo > 0).
    #[arg(long, requires = "find")]
    log: bool,
}

/// Run `explore`.
pub fn cmd_explore(mut a: ExploreArgs) -> anyhow::Result<ExitCode> {
    a.jobs = super::resolve_jobs(a.jobs)?;
    match &a.find {
        Some(key) => cmd_find(&a, key),
        None => cmd_plan(&a, a.plan.as_deref().expect("clap requires a plan without --find")),
    }
}

/// The default output folder.
fn out_dir(a: &ExploreArgs, base: &Base, key: Option<&str>) -> PathBuf {
    a.out.clone().unwrap_or_else(|| {
        let mut name = format!("explore-{}", base.scenario.name());
        if let Some(k) = key {
            let clean: String =
                k.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
            name.push('-');
            name.push_str(&clean);
        }
        PathBuf::from("results").join(name)
    })
}

/// What a probe judges: a metric's mean, or a finding's held share.
#[derive(Clone, Copy, PartialEq)]
enum Judged {
    Metric,
    Finding,
}

fn cmd_find(a: &ExploreArgs, key: &str) -> anyhow::Result<ExitCode> {
    let (range, cond) = (a.range.expect("clap requires --range"), a.condition.clone().expect("clap requires --where"));
    let base = Base::load(&a.scenario, &a.sets)?;
    let key = key.trim();
    let integer = match base.scenario.value_at(key) {
        Some(toml::Value::Integer(_)) => true,
        Some(toml::Value::Float(_)) => false,
        Some(other) => {
            bail!("--find {key}: the scenario's value is {} `{other}`; a search needs a number", other.type_str())
        }
        None => range.whole,
    };
    if integer && !range.whole {
        bail!(
            "--find {key}: the key is an integer; --range must be two whole numbers (got {}, {})",
            range.lo,
            range.hi
        );
    }
    let tol = match a.tol {
        Some(t) if !(t.is_finite() && t > 0.0) => bail!("--tol must be a number greater than 0 (got {t})"),
        Some(t) => t,
        None if a.log => 0.01,
        None => (range.hi - range.lo) / 1000.0,
    };
    if a.log && range.lo <= 0.0 {
        bail!("--log needs a range above 0 (got {}, {})", range.lo, range.hi);
    }
    let halving = if a.log { Halving::Log } else { Halving::Linear };
    let value_of = |x: f64| if integer { toml::Value::Integer(x as i64) } else { toml::Value::Float(x) };
    // The first probe's study says what the seeds and the condition's name are.
    let first = open_points(&base, vec![Point { id: 0, values: vec![(key.to_string(), value_of(range.lo))] }])
        .with_context(|| format!("--find {key}"))?;
    let study = first[0].study.as_ref();
    let n = a.seeds.unwrap_or(study.default_seeds().1);
    let seeds = seed_list(study, n)?;
    let judged = if study.findings().iter().any(|f| f.id == cond.name) { Judged::Finding } else { Judged::Metric };
    crate::study::limits::check_memory(study, seeds.len() as u64, a.jobs)?;
    drop(first);
    let out = out_dir(a, &base, Some(key));
    let what = format!(
        "--find {key} --range {},{} --where \"{} {} {}\" --probes {} --tol {tol}{}",
        range.lo,
        range.hi,
        cond.name,
        cond.op.text(),
        cond.target,
        a.probes,
        if a.log { " --log" } else { "" }
    );
    let manifest = Manifest {
        format: crate::explore::folder::FORMAT.into(),
        scenario: base.path.display().to_string(),
        scenario_hash: base.scenario.hash(),
        sets: base.sets.clone(),
        kind: "find".into(),
        plan: None,
        what: what.clone(),
        seeds: seeds.clone(),
        shard: None,
    };
    let (folder, runs) = Folder::prepare(&out, &manifest, a.force)?;
    if folder.continuing {
        errln!("continuing the interrupted search in {} ({} runs already finished)", out.display(), runs.len());
    }
    let done: BTreeMap<(Vec<String>, u64), _> = runs.into_iter().map(|r| ((r.sets, r.output.seed), r.output)).collect();
    let mut exec =
        Exec { jobs: a.jobs, progress: a.progress, stop: StopCheck::on_interrupt(), log: Some(&folder.log), done };
    let mut points: Vec<PointRuns> = Vec::new();
    super::out::write_stdout_progress(format_args!(
        "searching {key} in [{}, {}] for where `{} {} {}` changes, {} seeds per probe ({})\n",
        range.lo,
        range.hi,
        cond.name,
        cond.op.text(),
        cond.target,
        seeds.len(),
        crate::study::exec::seed_list(&seeds)
    ))?;
    let outcome = bisect_with(range.lo, range.hi, integer, halving, tol, a.probes, |x| {
        let point = Point { id: points.len(), values: vec![(key.to_string(), value_of(x))] };
        let mut one = open_points(&base, vec![point])?;
        exec.run(&mut one, &[(0, seeds.clone())])?;
        let p = one.pop().expect("one point");
        let (metrics, findings) = p.aggregate();
        let probe = match judged {
            Judged::Finding => {
                let held =
                    p.outputs.iter().filter(|o| o.findings.get(&cond.name).copied().flatten() == Some(true)).count();
                let n = p.outputs.len();
                let share = findings.iter().find(|f| f.id == cond.name).and_then(|f| f.held_in);
                Probe::judge(x, share, share.map(|_| wilson95(held, n)), n, &cond)
            }
            Judged::Metric => {
                let Some(m) = metrics.get(&cond.name) else {
                    bail!(
                        "--where: no metric or finding `{}` in this study ({}); {}",
                        cond.name,
                        p.study.id(),
                        near(&cond.name, &metrics, p.study.findings())
                    );
                };
                Probe::judge(x, m.mean, m.ci95, m.n, &cond)
            }
        };
        super::out::write_stdout_progress(format_args!("{}\n", probe_line(key, integer, &probe, points.len())))?;
        points.push(p);
        Ok(probe)
    })?;
    let outcome_text = bracket_line(key, &cond, &outcome);
    super::out::write_stdout_progress(format_args!("{outcome_text}\n"))?;
    let agg = output::aggregates(&points);
    output::write_points_csv(&out, &points)?;
    output::write_summary_csv(&out, &points, &agg)?;
    let keep: Vec<String> = match judged {
        Judged::Metric => vec![cond.name.clone()],
        Judged::Finding => points[0].study.finding_metric(&cond.name).into_iter().collect(),
    };
    let mut extra = serde_json::Map::new();
    extra.insert("find".into(), find_json(key, &cond, judged, &outcome));
    let results = output::write_results_json(&out, &base, &points, &agg, &keep, extra)?;
    let md = format!(
        "# Tipping point: {key}\n\nScenario `{}`{}, {} seed(s) per probe: {}\n\nCondition `{} {} {}` ({}).\n\n{}\n\n{}\n",
        results.scenario,
        if base.sets.is_empty() { String::new() } else { format!(" with `--set {}`", base.sets.join("`, `--set ")) },
        seeds.len(),
        crate::study::exec::seed_list(&seeds),
        cond.name,
        cond.op.text(),
        cond.target,
        if judged == Judged::Finding {
            "the share of seeds the finding held in"
        } else {
            "the metric's mean over the seeds"
        },
        probes_table(key, &outcome),
        outcome_text
    );
    crate::report::results::write_atomic(&out.join("summary.md"), md.as_bytes())
        .with_context(|| format!("writing {}/summary.md", out.display()))?;
    folder.mark_done()?;
    errln!("wrote {}/results.json, points.csv, summary.csv and summary.md", out.display());
    Ok(ExitCode::SUCCESS)
}

/// A name close to `name` among the metrics and findings, for a message.
fn near(
    name: &str,
    metrics: &BTreeMap<String, crate::report::results::MetricResult>,
    findings: &[crate::report::results::FindingDef],
) -> String {
    let last = name.rsplit('.').next().unwrap_or(name);
    let mut close: Vec<&str> =
        metrics.keys().filter(|k| k.ends_with(last) || k.contains(name)).map(String::as_str).collect();
    close.truncate(8);
    let ids: Vec<&str> = findings.iter().map(|f| f.id).collect();
    let mut s = if metrics.len() <= 20 {
        format!("its metrics: {}", metrics.keys().map(String::as_str).collect::<Vec<_>>().join(", "))
    } else if close.is_empty() {
        format!("its {} metrics are listed in results.json of a run", metrics.len())
    } else {
        format!("similar metrics: {}", close.join(", "))
    };
    if !ids.is_empty() {
        s += &format!("; findings: {}", ids.join(", "));
    }
    s
}

use crate::study::keys::fmt_people;

fn fmt_value(x: f64, integer: bool) -> String {
    if integer { format!("{}", x as i64) } else { crate::study::keys::fmt_num(x) }
}

fn fmt_est(p: &Probe) -> String {
    let r = |x: f64| format!("{:.4}", x);
    match (p.mean, p.ci95) {
        (Some(m), Some([lo, hi])) => format!("{} [{}, {}]", r(m), r(lo), r(hi)),
        (Some(m), None) => r(m),
        _ => "undefined".into(),
    }
}

fn probe_line(key: &str, integer: bool, p: &Probe, k: usize) -> String {
    format!(
        "probe {}: {key} = {}: {} over {} seed(s): {}{}",
        k + 1,
        fmt_value(p.value, integer),
        fmt_est(p),
        p.n,
        if p.holds { "holds" } else { "does not hold" },
        if p.uncertain { " (the interval contains the target: not settled by these seeds)" } else { "" }
    )
}

fn bracket_line(key: &str, c: &Condition, o: &Outcome) -> String {
    let cond = format!("`{} {} {}`", c.name, c.op.text(), c.target);
    match o.bracket {
        None => format!(
            "no crossing: {cond} {} at both ends of the range ({} probes); widen --range",
            if o.probes[0].holds { "holds" } else { "does not hold" },
            o.probes.len()
        ),
        Some((lo, hi)) => {
            let at = |x: f64| o.probes.iter().find(|p| p.value == x);
            let settled = at(lo).is_some_and(|p| !p.uncertain) && at(hi).is_some_and(|p| !p.uncertain);
            let int = o.probes.iter().all(|p| p.value.fract() == 0.0) && lo.fract() == 0.0;
            format!(
                "{cond} changes between {key} = {} ({}) and {key} = {} ({}){}",
                fmt_value(lo, int),
                if at(lo).is_some_and(|p| p.holds) { "holds" } else { "does not hold" },
                fmt_value(hi, int),
                if at(hi).is_some_and(|p| p.holds) { "holds" } else { "does not hold" },
                if settled {
                    ""
                } else {
                    "; the interval at an end contains the target: more seeds (--seeds) would settle it"
                }
            )
        }
    }
}

fn probes_table(key: &str, o: &Outcome) -> String {
    let mut t = format!("| probe | {key} | estimate [95% CI] | seeds | holds |\n|---|---|---|---|---|\n");
    let mut sorted: Vec<(usize, &Probe)> = o.probes.iter().enumerate().collect();
    sorted.sort_by(|a, b| a.1.value.total_cmp(&b.1.value));
    for (k, p) in sorted {
        t += &format!(
            "| {} | {} | {} | {} | {}{} |\n",
            k + 1,
            crate::study::keys::fmt_num(p.value),
            fmt_est(p),
            p.n,
            if p.holds { "yes" } else { "no" },
            if p.uncertain { " (unsettled)" } else { "" }
        );
    }
    t
}

fn find_json(key: &str, c: &Condition, judged: Judged, o: &Outcome) -> serde_json::Value {
    serde_json::json!({
        "key": key,
        "where": { "name": c.name, "op": c.op.text(), "target": c.target,
                   "judged": if judged == Judged::Finding { "held share" } else { "mean" } },
        "crossed": o.bracket.is_some(),
        "lo": o.bracket.map(|b| b.0),
        "hi": o.bracket.map(|b| b.1),
        "probes": o.probes.iter().enumerate().map(|(k, p)| serde_json::json!({
            "probe": k + 1, "value": p.value, "mean": p.mean, "ci95": p.ci95, "n": p.n,
            "holds": p.holds, "uncertain": p.uncertain,
        })).collect::<Vec<_>>(),
    })
}

/// The design's points as the runner takes them.
fn runner_points(plan: &Plan, design: &Design) -> Vec<Point> {
    let keys = plan.factor_keys();
    design
        .points
        .iter()
        .map(|p| Point { id: p.id, values: keys.iter().cloned().zip(p.values.iter().cloned()).collect() })
        .collect()
}

/// The runs one process does: every point with every seed, or a shard's
/// share. Shard i of N takes the runs `(point, seed)` whose number
/// `point id x seeds + seed index` is i modulo N, so a design of few points
/// and many seeds spreads over many tasks as evenly as one of many points.
/// With adaptive seeding a point's later seeds depend on all its earlier
/// ones, so a shard takes whole points (those whose id is i modulo N).
fn shard_runs(all: Vec<Point>, seeds: &[u64], shard: Option<ShardSpec>, adaptive: bool) -> Vec<(Point, Vec<u64>)> {
    let Some(sh) = shard else { return all.into_iter().map(|p| (p, seeds.to_vec())).collect() };
    let (i, count) = (u64::from(sh.index), u64::from(sh.count));
    all.into_iter()
        .filter_map(|p| {
            let mine: Vec<u64> = if adaptive {
                if p.id as u64 % count == i { seeds.to_vec() } else { Vec::new() }
            } else {
                let first = p.id as u64 * seeds.len() as u64;
                seeds.iter().enumerate().filter(|(k, _)| (first + *k as u64) % count == i).map(|(_, s)| *s).collect()
            };
            (!mine.is_empty()).then_some((p, mine))
        })
        .collect()
}

/// Read a plan file, keeping its text (recorded in the folder).
fn read_plan(path: &Path) -> anyhow::Result<(String, Plan)> {
    let plan = Plan::load(path)?;
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    Ok((text, plan))
}

fn cmd_plan(a: &ExploreArgs, plan_path: &Path) -> anyhow::Result<ExitCode> {
    let shard: Option<ShardSpec> = super::resolve_shard(a.shard)?;
    let (text, plan) = read_plan(plan_path)?;
    let base = Base::load(&a.scenario, &a.sets)?;
    let design = plan.design_points()?;
    if plan.metrics().is_empty() && matches!(design.layout, Layout::Saltelli { .. } | Layout::Morris { .. }) {
        bail!(
            "{}: design `{}` needs `metrics` (the metrics whose sensitivity it measures)",
            plan_path.display(),
            plan.design()
        );
    }
    let all = runner_points(&plan, &design);
    let total = all.len();
    let n = a.seeds.or(plan.seeds()).unwrap_or(base.study(&[])?.default_seeds().1);
    let max = plan.adaptive().map_or(n, |ad| ad.max_seeds.max(n));
    let all_seeds = seed_list(base.study(&[])?.as_ref(), max)?;
    let seeds = all_seeds[..n as usize].to_vec();
    let mine = shard_runs(all, &seeds, shard, plan.adaptive().is_some());
    if mine.is_empty() {
        let sh = shard.expect("only a shard can be empty");
        bail!(
            "--shard {}/{}: this shard has no runs (the design has {total} point(s) x {} seed(s))",
            sh.index,
            sh.count,
            seeds.len()
        );
    }
    let my_runs: usize = mine.iter().map(|(_, s)| s.len()).sum();
    let (points, todo_seeds): (Vec<Point>, Vec<Vec<u64>>) = mine.into_iter().unzip();
    let mut runs = open_points(&base, points)?;
    let study = runs[0].study.as_ref();
    crate::study::limits::check_memory(study, n, a.jobs)?;
    let out = out_dir(a, &base, None);
    let dir = shard.map_or(out.clone(), |sh| sh.dir(&out));
    let manifest = Manifest {
        format: crate::explore::folder::FORMAT.into(),
        scenario: base.path.display().to_string(),
        scenario_hash: base.scenario.hash(),
        sets: base.sets.clone(),
        kind: "plan".into(),
        plan: Some(plan_path.display().to_string()),
        what: text,
        seeds: seeds.clone(),
        shard,
    };
    let (folder, done) = Folder::prepare(&dir, &manifest, a.force)?;
    if folder.continuing {
        errln!("continuing the interrupted exploration in {} ({} runs already finished)", dir.display(), done.len());
    }
    errln!(
        "{} design: {total} point(s) x {} seed(s) ({}){}{}",
        plan.design(),
        seeds.len(),
        crate::study::exec::seed_list(&seeds),
        plan.adaptive().map_or(String::new(), |ad| format!(", adaptive up to {} seeds", ad.max_seeds)),
        shard.map_or(String::new(), |sh| format!(
            "; shard {}/{} runs {my_runs} of the {} run(s) at {} point(s)",
            sh.index,
            sh.count,
            total * seeds.len(),
            runs.len()
        ))
    );
    let done = done.into_iter().map(|r| ((r.sets, r.output.seed), r.output)).collect();
    let mut exec =
        Exec { jobs: a.jobs, progress: a.progress, stop: StopCheck::on_interrupt(), log: Some(&folder.log), done };
    let todo: Vec<(usize, Vec<u64>)> = todo_seeds.into_iter().enumerate().collect();
    exec.run(&mut runs, &todo)?;
    check_metrics(&plan, &runs)?;
    if let Some(ad) = plan.adaptive() {
        loop {
            let more: Vec<(usize, Vec<u64>)> = runs
                .iter()
                .enumerate()
                .filter_map(|(i, p)| {
                    let have = p.outputs.len();
                    if have as u64 >= ad.max_seeds || precise_enough(&plan, p) {
                        return None;
                    }
                    let upto = (have + n as usize).min(ad.max_seeds as usize);
                    Some((i, all_seeds[have..upto].to_vec()))
                })
                .collect();
            if more.is_empty() {
                break;
            }
            errln!("adaptive seeding: {} point(s) need more seeds", more.len());
            exec.run(&mut runs, &more)?;
        }
    }
    folder.mark_done()?;
    if let Some(sh) = shard {
        errln!(
            "shard {}/{}: {my_runs} run(s) at {} point(s) written to {}; combine the shards with `omerta-sim merge {}`",
            sh.index,
            sh.count,
            runs.len(),
            dir.display(),
            out.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let md = report(&out, &base, plan_path, &plan, &design, &runs)?;
    outln!("{md}")?;
    errln!("wrote {}/results.json, points.csv, summary.csv and summary.md", out.display());
    Ok(ExitCode::SUCCESS)
}

/// Adaptive seeding's test: every listed metric's interval is narrow enough
/// (a metric undefined at the point, or with no interval yet, is not).
fn precise_enough(plan: &Plan, p: &PointRuns) -> bool {
    let Some(ad) = plan.adaptive() else { return true };
    let (metrics, _) = p.aggregate();
    plan.metrics().iter().all(|m| match metrics.get(m).and_then(|r| Some((r.mean?, r.ci95?))) {
        Some((mean, [lo, hi])) => ad.target.is_met(mean, (hi - lo) / 2.0),
        None => false,
    })
}

/// Every metric the plan names is one the study writes.
fn check_metrics(plan: &Plan, runs: &[PointRuns]) -> anyhow::Result<()> {
    let have = output::metric_keys(runs);
    for m in plan.metrics() {
        if !have.contains(m) {
            let first = &runs[0];
            let (metrics, _) = first.aggregate();
            bail!(
                "{}: metric `{m}` is not one study {} writes; {}",
                plan.path().display(),
                first.study.id(),
                near(m, &metrics, first.study.findings())
            );
        }
    }
    Ok(())
}

/// Write every output of a finished exploration into `out` and return the
/// Markdown summary.
fn report(
    out: &Path,
    base: &Base,
    plan_path: &Path,
    plan: &Plan,
    design: &Design,
    runs: &[PointRuns],
) -> anyhow::Result<String> {
    let agg = output::aggregates(runs);
    output::write_points_csv(out, runs)?;
    output::write_summary_csv(out, runs, &agg)?;
    let keys = plan.factor_keys();
    let mut rows: Vec<SensitivityRow> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    if matches!(design.layout, Layout::Saltelli { .. } | Layout::Morris { .. }) {
        for m in plan.metrics() {
            let means: Vec<f64> =
                agg.iter().map(|(ms, _)| ms.get(m).and_then(|r| r.mean).unwrap_or(f64::NAN)).collect();
            let s = analyse(design, &keys, m, &means, &Bootstrap::default())?;
            rows.extend(s.rows);
            notes.extend(s.notes);
        }
        crate::explore::sensitivity::write_csv(&out.join("sensitivity.csv"), &rows)?;
    }
    let chart_factors: Vec<ChartFactor> = plan.factors().iter().map(ChartFactor::from).collect();
    let charts =
        crate::explore::charts::write_charts(&out.join("charts"), &chart_factors, plan.metrics(), runs, &rows)?;
    if !charts.is_empty() {
        notes.push(format!("Charts in charts/ (svg and png): {}.", charts.join(", ")));
    }
    let mut extra = serde_json::Map::new();
    extra.insert(
        "explore".into(),
        serde_json::json!({
            "plan_file": plan_path.display().to_string(),
            "design": plan.design().name(),
            "factors": keys,
            "metrics": plan.metrics(),
            "points": runs.iter().map(output::point_json).collect::<Vec<_>>(),
            "sensitivity": rows,
            "notes": notes,
        }),
    );
    let results = output::write_results_json(out, base, runs, &agg, plan.metrics(), extra)?;
    let md =
        summary_md(&Report { results: &results, base, plan_path, plan, runs, agg: &agg, rows: &rows, notes: &notes });
    crate::report::results::write_atomic(&out.join("summary.md"), md.as_bytes())
        .with_context(|| format!("writing {}/summary.md", out.display()))?;
    Ok(md)
}

/// What the summary of a finished exploration reports.
struct Report<'a> {
    /// The results contract written for it.
    results: &'a crate::report::results::Results,
    /// The base scenario and its `--set` overrides.
    base: &'a Base,
    /// The plan file as given.
    plan_path: &'a Path,
    /// The plan.
    plan: &'a Plan,
    /// Every point's runs, in point order.
    runs: &'a [PointRuns],
    /// Every point's metric summaries and findings, in point order.
    agg: &'a output::Aggregates,
    /// The sensitivity indices (empty but for `sobol` and `morris`).
    rows: &'a [SensitivityRow],
    /// Notes: the estimators', then the charts written.
    notes: &'a [String],
}

/// The Markdown summary of a finished exploration (summary.md, and printed).
fn summary_md(r: &Report<'_>) -> String {
    let Report { results, base, plan_path, plan, runs, agg, rows, notes } = *r;
    let seeds: Vec<usize> = runs.iter().map(|p| p.outputs.len()).collect();
    let (smin, smax) = (seeds.iter().min().copied().unwrap_or(0), seeds.iter().max().copied().unwrap_or(0));
    let mut md = format!(
        "# Exploration of {} ({} design)\n\nScenario `{}`{}, plan `{}`: {} point(s), {} seed(s) per point{}.\n\n",
        results.study,
        plan.design(),
        results.scenario,
        if base.sets.is_empty() { String::new() } else { format!(" with `--set {}`", base.sets.join("`, `--set ")) },
        plan_path.display(),
        runs.len(),
        if smin == smax { smin.to_string() } else { format!("{smin} to {smax}") },
        if plan.adaptive().is_some() { " (adaptive)" } else { "" },
    );
    md += "| factor | values |\n|---|---|\n";
    for (k, key) in plan.factor_keys().iter().enumerate() {
        // Distinct values in the order the points first take them.
        let mut vals: Vec<String> = Vec::new();
        for p in runs {
            let v = crate::explore::exec::value_cell(&p.point.values[k].1);
            if !vals.contains(&v) {
                vals.push(v);
            }
        }
        let shown = if vals.len() <= 6 {
            vals.join(", ")
        } else {
            let nums: Vec<f64> = runs.iter().filter_map(|p| p.point.number(key)).collect();
            let lo = nums.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = nums.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            format!("{} values from {} to {}", vals.len(), fmt_people(lo), fmt_people(hi))
        };
        md += &format!("| `{key}` | {shown} |\n");
    }
    for m in plan.metrics() {
        let means: Vec<(usize, f64)> =
            agg.iter().enumerate().filter_map(|(i, (ms, _))| Some((i, ms.get(m)?.mean?))).collect();
        if let (Some(lo), Some(hi)) =
            (means.iter().min_by(|a, b| a.1.total_cmp(&b.1)), means.iter().max_by(|a, b| a.1.total_cmp(&b.1)))
        {
            md += &format!(
                "\n`{m}`: point means from {:.4} (point {}) to {:.4} (point {}).\n",
                lo.1, runs[lo.0].point.id, hi.1, runs[hi.0].point.id
            );
        }
    }
    if !rows.is_empty() {
        md += "\n## Sensitivity\n\n| metric | factor | index | value [95% CI] |\n|---|---|---|---|\n";
        for r in rows {
            md += &format!(
                "| `{}` | `{}` | {} | {:.4} [{:.4}, {:.4}] |\n",
                r.metric, r.factor, r.index, r.value, r.lo, r.hi
            );
        }
    }
    for n in notes {
        md += &format!("\n{n}\n");
    }
    let ids = output::finding_ids(runs);
    if !ids.is_empty() {
        md += "\n## Findings over the points\n\n| finding | holds | mixed | fails | n/a |\n|---|---|---|---|---|\n";
        for id in ids {
            let mut c = [0usize; 4];
            for (_, fs) in agg {
                if let Some(f) = fs.iter().find(|f| f.id == id) {
                    c[match f.verdict {
                        crate::report::results::Verdict::Holds => 0,
                        crate::report::results::Verdict::Mixed => 1,
                        crate::report::results::Verdict::Fails => 2,
                        _ => 3,
                    }] += 1;
                }
            }
            md += &format!("| {id} | {} | {} | {} | {} |\n", c[0], c[1], c[2], c[3]);
        }
    }
    md += "\nEvery run is a row of points.csv; the mean and 95% interval of every metric at every point are in summary.csv.\n";
    md
}

/// Whether `merge` was given an exploration's shards.
pub fn is_explore_merge(dirs: &[PathBuf]) -> bool {
    dirs.iter().any(|d| {
        d.join(crate::explore::folder::MANIFEST).exists()
            || std::fs::read_dir(d.join("shards"))
                .map(|it| it.flatten().any(|e| e.path().join(crate::explore::folder::MANIFEST).exists()))
                .unwrap_or(false)
    })
}

/// `merge` of an exploration's shards: every shard of the same exploration
/// finished, then the report an unsharded exploration writes.
pub fn cmd_merge(dirs: &[PathBuf], out: Option<PathBuf>, force: bool) -> anyhow::Result<ExitCode> {
    let mut shard_dirs: Vec<PathBuf> = Vec::new();
    for d in dirs {
        if d.join(crate::explore::folder::MANIFEST).exists() && d.parent().is_some_and(|p| p.ends_with("shards")) {
            shard_dirs.push(d.clone());
        } else {
            let mut found: Vec<PathBuf> = std::fs::read_dir(d.join("shards"))
                .with_context(|| format!("{}: no shards/ folder", d.display()))?
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.join(crate::explore::folder::MANIFEST).exists())
                .collect();
            found.sort();
            shard_dirs.extend(found);
        }
    }
    let mut manifests = Vec::new();
    for d in &shard_dirs {
        manifests.push((d.clone(), crate::explore::folder::read_manifest(d)?));
    }
    let Some((first_dir, first)) = manifests.first().cloned() else { bail!("no exploration shards found") };
    let count = first.shard.map_or(1, |s| s.count);
    let mut seen = vec![false; count as usize];
    for (d, m) in &manifests {
        let same = Manifest { shard: first.shard, ..m.clone() } == first;
        if !same {
            bail!("{} is a shard of another exploration than {}", d.display(), first_dir.display());
        }
        let Some(sh) = m.shard.filter(|s| s.count == count) else {
            bail!("{}: not a shard of {count}", d.display());
        };
        if seen[sh.index as usize] {
            bail!("shard {}/{count} is given twice", sh.index);
        }
        seen[sh.index as usize] = true;
        if !d.join("done").exists() {
            bail!(
                "shard {}/{count} ({}) has not finished; run its command again (it continues) and merge after",
                sh.index,
                d.display()
            );
        }
    }
    let missing: Vec<String> =
        seen.iter().enumerate().filter(|(_, s)| !**s).map(|(i, _)| format!("{i}/{count}")).collect();
    if !missing.is_empty() {
        bail!("missing shard(s) {}; run them with --shard and merge again", missing.join(", "));
    }
    let plan_path = PathBuf::from(first.plan.clone().unwrap_or_default());
    let plan = Plan::parse(&first.what, &plan_path)?;
    let base = Base::load(Path::new(&first.scenario), &first.sets)?;
    if base.scenario.hash() != first.scenario_hash {
        bail!("{}: the scenario file changed since the shards ran", first.scenario);
    }
    let design = plan.design_points()?;
    let mut runs = open_points(&base, runner_points(&plan, &design))?;
    let mut by_point: BTreeMap<usize, Vec<crate::report::results::SeedOutput>> = BTreeMap::new();
    for (d, _) in &manifests {
        let (_, recs) = crate::explore::exec::RunLog::open(d)?;
        for r in recs {
            by_point.entry(r.point).or_default().push(r.output);
        }
    }
    for p in &mut runs {
        let mut outs = by_point.remove(&p.point.id).unwrap_or_default();
        outs.sort_by_key(|o| o.seed);
        outs.dedup_by_key(|o| o.seed);
        if outs.len() < first.seeds.len() {
            bail!("point {} has {} of {} seeds in its shard's runs.jsonl", p.point.id, outs.len(), first.seeds.len());
        }
        p.outputs = outs;
    }
    let out = out.unwrap_or_else(|| {
        shard_dirs[0].parent().and_then(Path::parent).map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    });
    let top = Manifest { shard: None, ..first.clone() };
    let (_folder, _) = Folder::prepare(&out, &top, force)?;
    let md = report(&out, &base, &plan_path, &plan, &design, &runs)?;
    outln!("{md}")?;
    errln!(
        "merged {} shard(s); wrote {}/results.json, points.csv, summary.csv and summary.md",
        manifests.len(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}
