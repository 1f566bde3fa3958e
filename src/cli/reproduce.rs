//! `omerta-sim reproduce`: every study, both fidelities, one report: each
//! finding (claim) of the original suite with its verdict over seeds in
//! reference and in corrected fidelity, and the charts that show it.

use super::ReproduceArgs;
use crate::models::{REPRODUCE, open_study};
use crate::report::chart::{Bar, BarPanel, BarSeries, Chart};
use crate::report::markdown::{MdTable, auto_decimals, fmt_ci, fmt_percent};
use crate::report::results::{MetricResult, Results, files_under, write_atomic};
use crate::study::Scenario;
use crate::study::exec::{RunOptions, run_study};
use anyhow::Context;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const FIDELITIES: [&str; 2] = ["reference", "corrected"];

/// The mean of metric `key` in `r`, with the metric, when both exist.
fn value<'a>(r: &'a Results, key: Option<&str>) -> Option<(&'a MetricResult, f64)> {
    key.and_then(|k| r.metrics.get(k)).and_then(|m| m.mean.map(|x| (m, x)))
}

/// The ids without the dot-separated segments all of them share in front
/// (the study prefix), so that each chart label is short and unique.
fn short_ids<'a>(ids: &[&'a str]) -> Vec<&'a str> {
    let mut common = ids.first().map_or(0, |id| id.split('.').count().saturating_sub(1));
    for id in ids {
        let first: Vec<&str> = ids[0].split('.').collect();
        let same = id.split('.').zip(&first).take_while(|(a, b)| a == *b).count();
        common = common.min(same).min(id.split('.').count().saturating_sub(1));
    }
    ids.iter().map(|id| id.splitn(common + 1, '.').last().unwrap_or(id)).collect()
}

/// PNG charts in `dir` and its subfolders, as paths relative to `dir`.
fn charts_in(dir: &Path) -> Vec<String> {
    files_under(dir, "png")
        .unwrap_or_default()
        .iter()
        .filter_map(|p| p.strip_prefix(dir).ok().map(|r| r.to_string_lossy().into_owned()))
        .collect()
}

pub(super) fn cmd_reproduce(mut a: ReproduceArgs) -> anyhow::Result<ExitCode> {
    a.jobs = super::resolve_jobs(a.jobs)?;
    let out = a.out.unwrap_or_else(|| PathBuf::from("results/reproduce"));
    let t0 = std::time::Instant::now();
    let mut md = String::from(
        "# omerta-sim: the original suite, reproduced\n\n\
         Every study in both fidelities on the same seeds: `reference` keeps the original scripts' time step, \
         order of operations and quirks; `corrected` is the intended model with the defects fixed. For each \
         finding: the quantity it judges (mean and 95% interval over seeds, where the finding has one), the share of \
         seeds in which it held, and the verdict (holds >= 90%, fails <= 10%, else mixed).\n",
    );
    let mut studies = Vec::new();
    for file in REPRODUCE {
        let path = a.models.join(file);
        let stem = Path::new(file).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        // Per fidelity: results, report folder, and each finding's metric.
        let mut results: Vec<(Results, PathBuf, Vec<Option<String>>)> = Vec::new();
        for f in FIDELITIES {
            // Both fidelities run here: no study compares inside a run.
            let sets = vec![format!("fidelity={f}"), "compare_fidelities=false".to_string()];
            let scenario = Scenario::load(&path, &sets)?;
            let study = open_study(scenario)?;
            let (base, n) = study.default_seeds();
            let seeds: Vec<u64> = match study.grid_seeds() {
                // A grid study (the full study): its first N grid seeds.
                Some(grid) => grid.into_iter().take(a.seeds.map_or(usize::MAX, |n| n as usize)).collect(),
                None => crate::study::limits::seed_range(base, a.seeds.unwrap_or(n))
                    .with_context(|| format!("{}", path.display()))?,
            };
            if seeds.is_empty() {
                anyhow::bail!("{}: nothing to run: 0 seeds (--seeds must be at least 1)", path.display());
            }
            crate::study::limits::check_memory(study.as_ref(), seeds.len() as u64, a.jobs)
                .with_context(|| format!("{file}, {f} fidelity"))?;
            let dir = out.join(&stem).join(f);
            errln!("reproduce: {file} ({f} fidelity, {} seeds)", seeds.len());
            let opts = RunOptions { seeds, jobs: a.jobs, progress: a.progress, snapshot_every: None, out: dir.clone() };
            let res = run_study(study.as_ref(), &opts).with_context(|| format!("{file}, {f} fidelity"))?;
            let metrics = res.results.findings.iter().map(|f| study.finding_metric(&f.id)).collect();
            results.push((res.results, dir, metrics));
        }
        let (reference, _, rkeys) = &results[0];
        let (corrected, cdir, ckeys) = &results[1];
        md.push_str(&format!(
            "\n## {} (`models/{file}`)\n\nSeeds {}; per-fidelity reports in `{stem}/reference/` and `{stem}/corrected/`.\n\n",
            corrected.study,
            corrected.seeds.len()
        ));
        let mut t = MdTable::new(["finding", "claim", "measured by", "reference", "corrected"]);
        let mut findings = Vec::new();
        let mut cats = Vec::new();
        let (mut bars_r, mut bars_c) = (Vec::new(), Vec::new());
        let ids: Vec<&str> = corrected.findings.iter().map(|f| f.id.as_str()).collect();
        let labels = short_ids(&ids);
        for (ci, fc) in corrected.findings.iter().enumerate() {
            let ri = reference.findings.iter().position(|f| f.id == fc.id);
            let fr = ri.map(|i| &reference.findings[i]);
            let ckey = ckeys[ci].as_deref();
            let rkey = ri.and_then(|i| rkeys[i].as_deref());
            // "mean [lo, hi]; 95% → holds", the value part when the finding has a metric.
            // A finding no seed could compute shows its verdict, `n/a`, alone.
            let cell = |r: &Results, key: Option<&str>, held: Option<f64>, v: &str| match (value(r, key), held) {
                (Some((m, x)), Some(h)) => format!("{}; {} → {v}", fmt_ci(m, auto_decimals(x)), fmt_percent(h)),
                (Some((m, x)), None) => format!("{} → {v}", fmt_ci(m, auto_decimals(x))),
                (None, Some(h)) => format!("{} → {v}", fmt_percent(h)),
                (None, None) => v.to_string(),
            };
            let by = match (rkey, ckey) {
                (Some(r), Some(c)) if r != c => format!("`{r}` / `{c}`"),
                (_, Some(k)) | (Some(k), None) => format!("`{k}`"),
                (None, None) => "–".into(),
            };
            t.row([
                fc.id.clone(),
                fc.claim.clone(),
                by,
                fr.map(|f| cell(reference, rkey, f.held_in, f.verdict.as_str())).unwrap_or_else(|| "n/a".into()),
                cell(corrected, ckey, fc.held_in, fc.verdict.as_str()),
            ]);
            let side = |r: &Results, key: Option<&str>, held: Option<f64>, verdict| {
                json!({
                    "metric": key,
                    "value": value(r, key).map(|(m, _)| json!({ "mean": m.mean, "ci95": m.ci95 })),
                    "held_in": held,
                    "verdict": verdict,
                })
            };
            findings.push(json!({
                "id": fc.id,
                "claim": fc.claim,
                "reference": fr.map(|f| side(reference, rkey, f.held_in, f.verdict)),
                "corrected": side(corrected, ckey, fc.held_in, fc.verdict),
            }));
            let label = labels[ci].to_string();
            cats.push(label.clone());
            // An `n/a` finding has no bar (NaN is not drawn); a share of seeds has no whisker.
            bars_r.push(Bar::plain(&label, fr.and_then(|f| f.held_in).unwrap_or(f64::NAN)));
            bars_c.push(Bar::plain(&label, fc.held_in.unwrap_or(f64::NAN)));
        }
        md.push_str(&t.render());
        let sdir = out.join(&stem);
        if !cats.is_empty() {
            BarPanel {
                title: format!("{}: share of seeds in which each finding held", corrected.study),
                y_label: "held in (share of seeds)".into(),
                categories: cats,
                series: vec![BarSeries::new("reference", bars_r), BarSeries::new("corrected", bars_c)],
                ..Default::default()
            }
            .write(&sdir, "findings")?;
        }
        let charts: Vec<String> = charts_in(cdir).into_iter().map(|c| format!("{stem}/corrected/{c}")).collect();
        md.push_str(&format!(
            "\nCharts: `{stem}/findings.png` (this table), corrected: {}; reference: `{stem}/reference/`.\n",
            charts.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
        ));
        studies.push(json!({
            "study": corrected.study,
            "scenario": format!("models/{file}"),
            "seeds": corrected.seeds,
            "reference": format!("{stem}/reference/results.json"),
            "corrected": format!("{stem}/corrected/results.json"),
            "findings": findings,
            "charts": charts,
        }));
    }
    md.push_str(&format!("\nRun time: {:.1} s.\n", t0.elapsed().as_secs_f64()));
    let summary: Value = json!({ "studies": studies });
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    for (name, bytes) in
        [("results.json", serde_json::to_string_pretty(&summary)?.into_bytes()), ("REPORT.md", md.clone().into_bytes())]
    {
        let path = out.join(name);
        write_atomic(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    outln!("{md}")?;
    errln!("wrote {}/REPORT.md and {}/results.json", out.display(), out.display());
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ids_drop_the_shared_prefix() {
        let ids = ["mp1.baseline.policy_lowers_gini", "mp1.hoarding.policy_lowers_gini", "mp1.k_payment_at_floor"];
        assert_eq!(
            short_ids(&ids),
            ["baseline.policy_lowers_gini", "hoarding.policy_lowers_gini", "k_payment_at_floor"]
        );
        assert_eq!(short_ids(&["a.b.c", "a.b.d"]), ["c", "d"]);
        assert_eq!(short_ids(&["a.b", "c.d"]), ["a.b", "c.d"]);
        assert_eq!(short_ids(&["a.b"]), ["b"]);
        assert_eq!(short_ids(&["x"]), ["x"]);
    }
}
