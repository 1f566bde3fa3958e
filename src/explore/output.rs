//! What an exploration writes: `points.csv` (one row per point and seed),
//! `summary.csv` (one row per point: mean and 95% interval of each metric,
//! the held share of each finding) and `results.json` (the results
//! contract, one metric per point and metric as `point<id>.<metric>`, the
//! plan and the points recorded beside it).

use super::exec::{Base, PointRuns, value_cell};
use crate::report::results::{FindingResult, MetricResult, Results, write_atomic, write_results};
use anyhow::Context;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A number for a CSV cell: the shortest text that reads back as the same
/// `f64`; empty when undefined.
pub fn num_cell(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x}"),
        _ => String::new(),
    }
}

/// Every metric key over every run, sorted.
pub fn metric_keys(points: &[PointRuns]) -> Vec<String> {
    let keys: BTreeSet<&String> = points.iter().flat_map(|p| p.outputs.iter()).flat_map(|o| o.metrics.keys()).collect();
    keys.into_iter().cloned().collect()
}

/// Every finding id over every run, in the study's order.
pub fn finding_ids(points: &[PointRuns]) -> Vec<String> {
    let Some(first) = points.first() else { return Vec::new() };
    first
        .study
        .findings()
        .iter()
        .filter(|d| points.iter().flat_map(|p| p.outputs.iter()).any(|o| o.findings.contains_key(d.id)))
        .map(|d| d.id.to_string())
        .collect()
}

/// The factor keys, in the plan's order.
pub fn factor_keys(points: &[PointRuns]) -> Vec<String> {
    points.first().map(|p| p.point.values.iter().map(|(k, _)| k.clone()).collect()).unwrap_or_default()
}

fn csv_bytes(header: &[String], rows: &[Vec<String>], name: &str) -> anyhow::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).with_context(|| name.to_string())?;
    for r in rows {
        w.write_record(r).with_context(|| name.to_string())?;
    }
    w.into_inner().map_err(|e| anyhow::anyhow!("{name}: {e}"))
}

/// `points.csv`: `point, seed`, each factor, each metric, then `finding:<id>`
/// (1 held, 0 not, empty when it cannot be computed).
pub fn write_points_csv(dir: &Path, points: &[PointRuns]) -> anyhow::Result<()> {
    let (factors, metrics, findings) = (factor_keys(points), metric_keys(points), finding_ids(points));
    let mut header = vec!["point".to_string(), "seed".to_string()];
    header.extend(factors.iter().cloned());
    header.extend(metrics.iter().cloned());
    header.extend(findings.iter().map(|f| format!("finding:{f}")));
    let mut rows = Vec::new();
    for p in points {
        for o in &p.outputs {
            let mut row = vec![p.point.id.to_string(), o.seed.to_string()];
            row.extend(p.point.values.iter().map(|(_, v)| value_cell(v)));
            row.extend(metrics.iter().map(|m| num_cell(o.metrics.get(m).copied().flatten())));
            row.extend(findings.iter().map(|f| match o.findings.get(f).copied().flatten() {
                Some(true) => "1".to_string(),
                Some(false) => "0".to_string(),
                None => String::new(),
            }));
            rows.push(row);
        }
    }
    let path = dir.join("points.csv");
    write_atomic(&path, &csv_bytes(&header, &rows, "points.csv")?)
        .with_context(|| format!("writing {}", path.display()))
}

/// Per point: its metrics and findings aggregated over its seeds.
pub type Aggregates = Vec<(BTreeMap<String, MetricResult>, Vec<FindingResult>)>;

/// Aggregate every point.
pub fn aggregates(points: &[PointRuns]) -> Aggregates {
    points.iter().map(PointRuns::aggregate).collect()
}

/// `summary.csv`: `point`, each factor, `seeds`, then `mean(<m>)`, `lo(<m>)`,
/// `hi(<m>)` of each metric and `held(<id>)` of each finding.
pub fn write_summary_csv(dir: &Path, points: &[PointRuns], agg: &Aggregates) -> anyhow::Result<()> {
    let (factors, metrics, findings) = (factor_keys(points), metric_keys(points), finding_ids(points));
    let mut header = vec!["point".to_string()];
    header.extend(factors.iter().cloned());
    header.push("seeds".into());
    for m in &metrics {
        header.extend([format!("mean({m})"), format!("lo({m})"), format!("hi({m})")]);
    }
    header.extend(findings.iter().map(|f| format!("held({f})")));
    let mut rows = Vec::new();
    for (p, (ms, fs)) in points.iter().zip(agg) {
        let mut row = vec![p.point.id.to_string()];
        row.extend(p.point.values.iter().map(|(_, v)| value_cell(v)));
        row.push(p.outputs.len().to_string());
        for m in &metrics {
            let r = ms.get(m);
            row.push(num_cell(r.and_then(|r| r.mean)));
            row.push(num_cell(r.and_then(|r| r.ci95).map(|c| c[0])));
            row.push(num_cell(r.and_then(|r| r.ci95).map(|c| c[1])));
        }
        for f in &findings {
            row.push(num_cell(fs.iter().find(|x| &x.id == f).and_then(|x| x.held_in)));
        }
        rows.push(row);
    }
    let path = dir.join("summary.csv");
    write_atomic(&path, &csv_bytes(&header, &rows, "summary.csv")?)
        .with_context(|| format!("writing {}", path.display()))
}

/// `results.json`: the contract's keys for the base scenario, one metric
/// `point<id>.<metric>` per point and metric (only `keep` when given), one
/// finding `point<id>.<finding>` per point and finding, and `extra` beside.
pub fn write_results_json(
    dir: &Path,
    base: &Base,
    points: &[PointRuns],
    agg: &Aggregates,
    keep: &[String],
    extra: serde_json::Map<String, serde_json::Value>,
) -> anyhow::Result<Results> {
    let Some(first) = points.first() else { anyhow::bail!("no points to report") };
    let study = first.study.as_ref();
    let mut metrics = BTreeMap::new();
    let mut findings = Vec::new();
    for (p, (ms, fs)) in points.iter().zip(agg) {
        for (k, m) in ms {
            if keep.is_empty() || keep.contains(k) {
                metrics.insert(format!("point{}.{k}", p.point.id), m.clone());
            }
        }
        for f in fs {
            findings.push(FindingResult { id: format!("point{}.{}", p.point.id, f.id), ..f.clone() });
        }
    }
    let mut seeds: Vec<u64> = points.iter().flat_map(|p| p.outputs.iter().map(|o| o.seed)).collect();
    seeds.sort_unstable();
    seeds.dedup();
    let results = Results {
        study: study.id().to_string(),
        scenario: base.path.display().to_string(),
        fidelity: study.fidelity().to_string(),
        timing: study.timing().to_string(),
        settings: base_settings(base)?,
        overrides: base.sets.clone(),
        seeds,
        metrics,
        findings,
        extra,
    };
    write_results(dir, &results)?;
    Ok(results)
}

/// The base scenario's settings (every point's differ only in its factors).
fn base_settings(base: &Base) -> anyhow::Result<serde_json::Map<String, serde_json::Value>> {
    let study = base.study(&[])?;
    Ok(study.settings())
}

/// A point's values as a JSON object, in the plan's order.
pub fn point_json(p: &PointRuns) -> serde_json::Value {
    let mut values = serde_json::Map::new();
    for (k, v) in &p.point.values {
        values.insert(k.clone(), serde_json::to_value(v).unwrap_or(serde_json::Value::Null));
    }
    serde_json::json!({ "id": p.point.id, "values": values, "seeds": p.outputs.len() })
}
