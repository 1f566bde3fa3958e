//! The results contract (`results.json`), aggregation of per-seed model
//! output, and atomic file writing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use super::stats::{Support, summarize_with};

/// Aggregate of one metric over seeds.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MetricResult {
    /// Mean over seeds where the metric is defined (share of ones if binary).
    pub mean: Option<f64>,
    /// 95 % interval (Student t, clipped at zero for metrics that cannot be
    /// negative; Wilson for binary metrics).
    pub ci95: Option<[f64; 2]>,
    /// Number of seeds with a finite value.
    pub n: usize,
    /// Per-seed values in seed order (`None` = undefined in that seed).
    pub values: Vec<Option<f64>>,
}

/// How often a finding's predicate held over the seeds.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct FindingResult {
    /// Finding id (e.g. "F1").
    pub id: String,
    /// Human-readable claim.
    pub claim: String,
    /// Share of seeds in which the predicate held (0..=1); `None` (written
    /// `null`) when no seed could compute it (verdict `n/a`).
    pub held_in: Option<f64>,
    /// Verdict from `held_in` and the [`VerdictRule`].
    pub verdict: Verdict,
}

/// Verdict on a finding.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Held in at least `holds_at` of the seeds.
    Holds,
    /// Held in at most `fails_at` of the seeds.
    Fails,
    /// In between.
    Mixed,
    /// No seed could compute the predicate (e.g. a metric it reads is
    /// undefined everywhere): neither held nor failed.
    #[serde(rename = "n/a")]
    NotApplicable,
}

impl Verdict {
    /// Lower-case name as written in JSON ("holds", "fails", "mixed", "n/a").
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::Fails => "fails",
            Verdict::Mixed => "mixed",
            Verdict::NotApplicable => "n/a",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Thresholds turning `held_in` into a [`Verdict`].
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
pub struct VerdictRule {
    /// `held_in >= holds_at` → holds.
    pub holds_at: f64,
    /// `held_in <= fails_at` → fails.
    pub fails_at: f64,
}

impl Default for VerdictRule {
    fn default() -> Self {
        VerdictRule { holds_at: 0.9, fails_at: 0.1 }
    }
}

impl VerdictRule {
    /// Verdict for a share `held_in`, or `n/a` when no seed could compute
    /// the finding (`None`).
    pub fn verdict_of(&self, held_in: Option<f64>) -> Verdict {
        held_in.map_or(Verdict::NotApplicable, |h| self.verdict(h))
    }

    /// Verdict for a share `held_in` (holds is checked first; NaN is `n/a`).
    pub fn verdict(&self, held_in: f64) -> Verdict {
        if held_in.is_nan() {
            Verdict::NotApplicable
        } else if held_in >= self.holds_at {
            Verdict::Holds
        } else if held_in <= self.fails_at {
            Verdict::Fails
        } else {
            Verdict::Mixed
        }
    }
}

/// One seed's raw output, produced by a model.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct SeedOutput {
    /// The seed.
    pub seed: u64,
    /// Metric values; `None` = undefined in this seed.
    pub metrics: BTreeMap<String, Option<f64>>,
    /// Metric keys that are 0/1 per seed (Wilson interval).
    pub binary: BTreeSet<String>,
    /// Metric keys whose quantity cannot be negative (interval clipped at
    /// zero; see [`crate::report::stats`]). Set with [`SeedOutput::mark_non_negative`].
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub non_negative: BTreeSet<String>,
    /// Finding predicates; `None` = cannot be computed in this seed (counts
    /// as not held when another seed can compute it; `n/a` when none can).
    pub findings: BTreeMap<String, Option<bool>>,
    /// CSV tables keyed by file name (e.g. "thresholds.csv").
    pub tables: BTreeMap<String, Table>,
    /// Named numeric series for charts (e.g. a value per round). Non-finite
    /// values are written `null` in JSON and read back as NaN.
    #[serde(default, with = "series_json")]
    pub series: BTreeMap<String, Vec<f64>>,
}

impl SeedOutput {
    /// The output of `seed`, nothing in it yet.
    pub fn new(seed: u64) -> Self {
        SeedOutput { seed, ..Default::default() }
    }

    /// Set metric `key` (`None`: undefined in this seed); a value that is
    /// not finite is stored as undefined.
    pub fn set(&mut self, key: impl Into<String>, v: Option<f64>) {
        self.metrics.insert(key.into(), v.filter(|x| x.is_finite()));
    }

    /// Set metric `key` to a value (undefined if not finite).
    pub fn put(&mut self, key: impl Into<String>, v: f64) {
        self.set(key, Some(v));
    }

    /// Set the 0/1 metric `key` (its interval over seeds is a Wilson
    /// interval).
    pub fn bit(&mut self, key: impl Into<String>, v: Option<bool>) {
        let key = key.into();
        self.binary.insert(key.clone());
        self.metrics.insert(key, v.map(|b| if b { 1.0 } else { 0.0 }));
    }

    /// The value of metric `key`, if it is set and defined.
    pub fn get(&self, key: &str) -> Option<f64> {
        self.metrics.get(key).copied().flatten()
    }

    /// Judge finding `id` in this seed (`None`: it cannot be computed here).
    /// The id must be one of the study's [`FindingDef`]s (the shipped-outputs
    /// test checks every finding a shipped scenario judges).
    pub fn finding(&mut self, id: impl Into<String>, v: Option<bool>) {
        self.findings.insert(id.into(), v);
    }

    /// Every field of a typed record as a metric `<prefix>.<field>` (or
    /// `<field>` with an empty prefix): numbers and optional numbers as
    /// values (`None`, or not finite: undefined), booleans as 0/1 metrics.
    /// Fails on a field of another type.
    pub fn record<T: Serialize>(&mut self, prefix: &str, rec: &T) -> Result<(), String> {
        let serde_json::Value::Object(fields) = serde_json::to_value(rec).map_err(|e| e.to_string())? else {
            return Err("a record is a struct of named fields".into());
        };
        for (name, v) in fields {
            let key = if prefix.is_empty() { name } else { format!("{prefix}.{name}") };
            match v {
                serde_json::Value::Null => self.set(key, None),
                serde_json::Value::Number(n) => self.set(key, n.as_f64()),
                serde_json::Value::Bool(b) => self.bit(key, Some(b)),
                other => return Err(format!("field `{key}` is not a number or a flag: {other}")),
            }
        }
        Ok(())
    }

    /// Flag as a quantity that cannot be negative every metric whose key
    /// matches one of `patterns` and none of the exclusions among them
    /// (patterns written `!pattern`); see [`key_matches`] for the syntax.
    pub fn mark_non_negative<S: AsRef<str>>(&mut self, patterns: &[S]) {
        // Each pattern and each key split once (not once per pair).
        let (excluded, included): (Vec<&str>, Vec<&str>) =
            patterns.iter().map(|p| p.as_ref()).partition(|p| p.starts_with('!'));
        let included: Vec<Vec<&str>> = included.iter().map(|p| p.split('.').collect()).collect();
        let excluded: Vec<Vec<&str>> = excluded.iter().map(|p| p[1..].split('.').collect()).collect();
        let mut k: Vec<&str> = Vec::new();
        let keys = self.metrics.keys().filter(|key| {
            k.clear();
            k.extend(key.split('.'));
            included.iter().any(|p| segments_match(p, &k)) && !excluded.iter().any(|p| segments_match(p, &k))
        });
        self.non_negative.extend(keys.cloned());
    }
}

/// [`key_matches`] on a pattern and a key already split at '.'.
fn segments_match(p: &[&str], k: &[&str]) -> bool {
    fn segment(p: &str, s: &str) -> bool {
        match p.split_once('*') {
            None => p == s,
            Some((head, rest)) => {
                let Some(s) = s.strip_prefix(head) else { return false };
                // A last `*`-free part can only match the end of `s`.
                if !rest.contains('*') {
                    return s.ends_with(rest);
                }
                (0..=s.len()).filter(|&i| s.is_char_boundary(i)).any(|i| segment(rest, &s[i..]))
            }
        }
    }
    match p.split_first() {
        None => k.is_empty(),
        // Without another `**`, each pattern segment takes one key segment:
        // the rest can only match the key's last `rest.len()` segments.
        Some((&"**", rest)) if !rest.contains(&"**") => {
            k.len() >= rest.len() && segments_match(rest, &k[k.len() - rest.len()..])
        }
        Some((&"**", rest)) => (0..=k.len()).any(|i| segments_match(rest, &k[i..])),
        Some((first, rest)) => {
            k.split_first().is_some_and(|(k0, krest)| segment(first, k0) && segments_match(rest, krest))
        }
    }
}

/// Whether metric `key` matches `pattern`. Both are split at '.'; a pattern
/// segment `**` matches any number of key segments (none included), any
/// other pattern segment matches one key segment, with `*` in it standing
/// for any run of characters (`*`, `dc_*`, `*_std`).
pub fn key_matches(pattern: &str, key: &str) -> bool {
    let p: Vec<&str> = pattern.split('.').collect();
    let k: Vec<&str> = key.split('.').collect();
    segments_match(&p, &k)
}

/// Serde for series whose values may be non-finite (JSON has no NaN).
mod series_json {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<S: Serializer>(m: &BTreeMap<String, Vec<f64>>, s: S) -> Result<S::Ok, S::Error> {
        let v: BTreeMap<&String, Vec<Option<f64>>> = m
            .iter()
            .map(|(k, xs)| (k, xs.iter().map(|&x| if x.is_finite() { Some(x) } else { None }).collect()))
            .collect();
        v.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, Vec<f64>>, D::Error> {
        let v: BTreeMap<String, Vec<Option<f64>>> = BTreeMap::deserialize(d)?;
        Ok(v.into_iter().map(|(k, xs)| (k, xs.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect())).collect())
    }
}

/// A CSV table.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Table {
    /// Column names.
    pub header: Vec<String>,
    /// Rows (each the same length as `header`).
    pub rows: Vec<Vec<String>>,
}

/// Static definition of a finding (id and claim).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FindingDef {
    /// Finding id.
    pub id: &'static str,
    /// Claim text.
    pub claim: &'static str,
}

/// Content of `results.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Results {
    /// Study name.
    pub study: String,
    /// Scenario name.
    pub scenario: String,
    /// Fidelity level.
    pub fidelity: String,
    /// Timing mode.
    pub timing: String,
    /// Settings used for the run (with the resolved value of every key a
    /// `--set` override changed).
    pub settings: serde_json::Map<String, serde_json::Value>,
    /// The `--set` overrides applied to the scenario file, in order.
    #[serde(default)]
    pub overrides: Vec<String>,
    /// Seeds in order.
    pub seeds: Vec<u64>,
    /// Aggregated metrics.
    pub metrics: BTreeMap<String, MetricResult>,
    /// Findings in definition order.
    pub findings: Vec<FindingResult>,
    /// Study-specific top-level blocks (e.g. "claims", "distributions"),
    /// written beside the contract's keys.
    #[serde(default, flatten, skip_serializing_if = "serde_json::Map::is_empty")]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Aggregate per-seed outputs (in seed order) into metric results and findings.
///
/// A metric missing from some seeds counts as `None` there; a metric is
/// binary if any seed lists it in `binary`, and cannot be negative if any
/// seed lists it in `non_negative` (its interval stops at zero). A finding is reported only if at
/// least one seed has its key; `held_in` = seeds with `Some(true)` / all seeds
/// (a seed that cannot compute it counts as not held), or `None` with verdict
/// `n/a` when no seed could compute it.
pub fn aggregate(
    outputs: &[SeedOutput],
    defs: &[FindingDef],
    rule: VerdictRule,
) -> (BTreeMap<String, MetricResult>, Vec<FindingResult>) {
    let keys: BTreeSet<&String> = outputs.iter().flat_map(|o| o.metrics.keys()).collect();
    let mut metrics = BTreeMap::new();
    for key in keys {
        // `+ 0.0` turns a negative zero (an empty f64 sum) into zero.
        let values: Vec<Option<f64>> =
            outputs.iter().map(|o| o.metrics.get(key).copied().flatten().map(|x| x + 0.0)).collect();
        let support = if outputs.iter().any(|o| o.binary.contains(key)) {
            Support::Binary
        } else if outputs.iter().any(|o| o.non_negative.contains(key)) {
            Support::NonNegative
        } else {
            Support::Real
        };
        let s = summarize_with(&values, support);
        metrics.insert(key.clone(), MetricResult { mean: s.mean, ci95: s.ci95, n: s.n, values });
    }
    let mut findings = Vec::new();
    for def in defs {
        if !outputs.iter().any(|o| o.findings.contains_key(def.id)) {
            continue;
        }
        let computed = outputs.iter().any(|o| o.findings.get(def.id).copied().flatten().is_some());
        let held = outputs.iter().filter(|o| o.findings.get(def.id).copied().flatten() == Some(true)).count();
        let held_in = computed.then(|| held as f64 / outputs.len() as f64);
        findings.push(FindingResult {
            id: def.id.to_string(),
            claim: def.claim.to_string(),
            held_in,
            verdict: rule.verdict_of(held_in),
        });
    }
    (metrics, findings)
}

fn finite(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite())
}

/// Copy of `r` with every non-finite number replaced by `None` (a `ci95` with
/// a non-finite end becomes `None`). Errors on a non-finite `held_in`.
fn sanitized(r: &Results) -> anyhow::Result<Results> {
    let mut r = r.clone();
    for m in r.metrics.values_mut() {
        m.mean = finite(m.mean);
        m.ci95 = m.ci95.filter(|c| c.iter().all(|x| x.is_finite()));
        for v in &mut m.values {
            *v = finite(*v);
        }
    }
    for f in &r.findings {
        if f.held_in.is_some_and(|h| !h.is_finite()) {
            bail!("finding {} has non-finite held_in", f.id);
        }
        if f.held_in.is_none() != (f.verdict == Verdict::NotApplicable) {
            bail!("finding {}: held_in is null exactly when the verdict is n/a", f.id);
        }
    }
    Ok(r)
}

/// Every file with extension `ext` under `dir`, subfolders included,
/// sorted by path. An unreadable subfolder is skipped; an unreadable `dir`
/// is an error.
pub fn files_under(dir: &Path, ext: &str) -> std::io::Result<Vec<PathBuf>> {
    fn walk(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
        let Ok(it) = std::fs::read_dir(dir) else { return };
        for p in it.filter_map(|e| e.ok().map(|e| e.path())) {
            if p.is_dir() {
                walk(&p, ext, out);
            } else if p.extension().is_some_and(|x| x == ext) {
                out.push(p);
            }
        }
    }
    std::fs::read_dir(dir)?;
    let mut out = Vec::new();
    walk(dir, ext, &mut out);
    out.sort();
    Ok(out)
}

pub use crate::engine::atomic::write_atomic;

/// Write `dir/results.json` (pretty-printed, atomically), creating `dir`.
/// Non-finite numbers are written as `null`.
pub fn write_results(dir: &Path, r: &Results) -> anyhow::Result<()> {
    let clean = sanitized(r)?;
    let mut json = serde_json::to_string_pretty(&clean)?;
    json.push('\n');
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("results.json");
    write_atomic(&path, json.as_bytes()).with_context(|| format!("writing {}", path.display()))
}

/// Read a `results.json` file.
pub fn read_results(path: impl AsRef<Path>) -> anyhow::Result<Results> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// For each table name in `outputs`, concatenate the rows of all seeds (in
/// order; header from the first seed that has it) and write `dir/<name>` as
/// CSV, atomically. Returns the written paths in name order. Errors if the
/// headers of one table differ between seeds or a name is not a plain file name.
pub fn write_tables(dir: &Path, outputs: &[SeedOutput]) -> anyhow::Result<Vec<PathBuf>> {
    let mut merged: BTreeMap<&str, (&[String], Vec<&Vec<String>>)> = BTreeMap::new();
    for o in outputs {
        for (name, t) in &o.tables {
            let entry = merged.entry(name.as_str()).or_insert((&t.header, Vec::new()));
            if entry.0 != t.header.as_slice() {
                bail!("table {name}: header of seed {} differs from earlier seeds", o.seed);
            }
            entry.1.extend(t.rows.iter());
        }
    }
    let mut written = Vec::new();
    for (name, (header, rows)) in merged {
        let plain = Path::new(name).file_name().and_then(|f| f.to_str()) == Some(name);
        if !plain || name == ".." || name == "." {
            bail!("table name {name:?} is not a plain file name");
        }
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(header)?;
        for row in rows {
            w.write_record(row).with_context(|| format!("table {name}"))?;
        }
        let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("table {name}: {e}"))?;
        let path = dir.join(name);
        write_atomic(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed(seed: u64, metrics: &[(&str, Option<f64>)], findings: &[(&str, Option<bool>)]) -> SeedOutput {
        SeedOutput {
            seed,
            metrics: metrics.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            findings: findings.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_typed_record_becomes_metrics() {
        #[derive(Serialize)]
        struct Rec {
            hours: f64,
            served: u64,
            wait: Option<f64>,
            blown: f64,
            ok: bool,
        }
        let mut out = SeedOutput::new(7);
        let rec = Rec { hours: 2.5, served: 3, wait: None, blown: f64::INFINITY, ok: true };
        out.record("q", &rec).unwrap();
        assert_eq!(out.get("q.hours"), Some(2.5));
        assert_eq!(out.get("q.served"), Some(3.0));
        assert_eq!(out.metrics["q.wait"], None);
        assert_eq!(out.metrics["q.blown"], None, "not finite: undefined");
        assert_eq!(out.get("q.ok"), Some(1.0));
        assert!(out.binary.contains("q.ok") && !out.binary.contains("q.hours"));
        out.record("", &Rec { ok: false, ..rec }).unwrap();
        assert_eq!(out.get("ok"), Some(0.0));
        #[derive(Serialize)]
        struct Named {
            name: String,
        }
        let e = out.record("x", &Named { name: "a".into() }).unwrap_err();
        assert!(e.contains("x.name"), "{e}");
        assert!(out.record("x", &1.0).is_err(), "not a struct");
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "omerta-report-{tag}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
        ));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    const DEFS: &[FindingDef] = &[
        FindingDef { id: "F2", claim: "second" },
        FindingDef { id: "F1", claim: "first" },
        FindingDef { id: "F3", claim: "absent everywhere" },
    ];

    #[test]
    fn aggregate_missing_keys_and_order() {
        let outs = vec![
            seed(1, &[("a", Some(1.0)), ("b", Some(10.0))], &[]),
            seed(2, &[("a", Some(3.0))], &[]),
            seed(3, &[("a", None), ("b", Some(f64::NAN))], &[]),
        ];
        let (m, f) = aggregate(&outs, DEFS, VerdictRule::default());
        assert!(f.is_empty());
        assert_eq!(m.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(m["a"].values, vec![Some(1.0), Some(3.0), None]);
        assert_eq!(m["a"].n, 2);
        assert_eq!(m["a"].mean, Some(2.0));
        assert_eq!(m["b"].values.len(), 3);
        assert_eq!(m["b"].values[1], None);
        assert_eq!(m["b"].n, 1);
        assert_eq!(m["b"].ci95, Some([10.0, 10.0]));
    }

    #[test]
    fn aggregate_binary_metric() {
        let mut outs: Vec<SeedOutput> =
            (0..4).map(|i| seed(i, &[("ok", Some(if i == 0 { 0.0 } else { 1.0 }))], &[])).collect();
        outs[2].binary.insert("ok".into());
        let (m, _) = aggregate(&outs, &[], VerdictRule::default());
        assert_eq!(m["ok"].mean, Some(0.75));
        assert_eq!(m["ok"].ci95, Some(crate::report::stats::wilson95(3, 4)));
    }

    #[test]
    fn aggregate_non_negative_metric() {
        let mut outs = vec![
            seed(1, &[("sd", Some(0.1)), ("d", Some(0.1))], &[]),
            seed(2, &[("sd", Some(2.0)), ("d", Some(2.0))], &[]),
        ];
        outs[1].mark_non_negative(&["sd"]);
        assert_eq!(outs[1].non_negative.len(), 1);
        let mut o = seed(3, &[("a.x", Some(1.0)), ("a.diff.x", Some(1.0)), ("b.x", Some(1.0))], &[]);
        o.mark_non_negative(&["a.**", "!a.diff.*"]);
        assert_eq!(o.non_negative.iter().collect::<Vec<_>>(), ["a.x"]);
        let (m, _) = aggregate(&outs, &[], VerdictRule::default());
        assert_eq!(m["sd"].mean, m["d"].mean);
        assert_eq!(m["sd"].ci95.unwrap()[0], 0.0);
        assert!(m["d"].ci95.unwrap()[0] < 0.0);
        assert_eq!(m["sd"].ci95.unwrap()[1], m["d"].ci95.unwrap()[1]);
    }

    #[test]
    fn key_patterns() {
        assert!(key_matches("groups.*.restarts", "groups.low.restarts"));
        assert!(!key_matches("groups.*.restarts", "groups.low.x.restarts"));
        assert!(key_matches("**.restarts", "restarts"));
        assert!(key_matches("**.restarts", "a.b.c.restarts"));
        assert!(!key_matches("**.restarts", "a.restarts.b"));
        assert!(key_matches("thresholds.*_std", "thresholds.final_std"));
        assert!(!key_matches("thresholds.*_std", "thresholds.std_reduction"));
        assert!(key_matches("**.dc_*.served", "compare.reference.scenarios.x.dc_home.served"));
        assert!(key_matches("a.*", "a.b") && !key_matches("a.*", "a") && !key_matches("a.*", "a.b.c"));
        assert!(key_matches("a.**", "a") && key_matches("a.**", "a.b.c"));
        assert!(key_matches("*ab*c", "xabyc") && !key_matches("*ab*c", "xabyd"));
    }

    #[test]
    fn aggregate_findings() {
        let outs = vec![
            seed(1, &[], &[("F1", Some(true)), ("F2", Some(true))]),
            seed(2, &[], &[("F1", None), ("F2", Some(true))]),
            seed(3, &[], &[("F1", Some(false)), ("F2", Some(true))]),
            seed(4, &[], &[("F2", Some(false))]),
        ];
        let (_, f) = aggregate(&outs, DEFS, VerdictRule::default());
        assert_eq!(f.iter().map(|x| x.id.as_str()).collect::<Vec<_>>(), ["F2", "F1"]);
        assert_eq!(f[0].held_in, Some(0.75));
        assert_eq!(f[0].verdict, Verdict::Mixed);
        assert_eq!(f[0].claim, "second");
        // None and a missing key both count as not held.
        assert_eq!(f[1].held_in, Some(0.25));
        let rule = VerdictRule { holds_at: 0.75, fails_at: 0.25 };
        let (_, f) = aggregate(&outs, DEFS, rule);
        assert_eq!(f[0].verdict, Verdict::Holds);
        assert_eq!(f[1].verdict, Verdict::Fails);
    }

    #[test]
    fn finding_no_seed_can_compute_is_na() {
        let outs = vec![
            seed(1, &[], &[("F1", None), ("F2", None)]),
            seed(2, &[], &[("F1", None), ("F2", Some(false))]),
            seed(3, &[], &[("F2", None)]),
        ];
        let (_, f) = aggregate(&outs, DEFS, VerdictRule::default());
        let f1 = f.iter().find(|x| x.id == "F1").unwrap();
        assert_eq!((f1.held_in, f1.verdict), (None, Verdict::NotApplicable));
        // One seed computes it: the others count as not held.
        let f2 = f.iter().find(|x| x.id == "F2").unwrap();
        assert_eq!((f2.held_in, f2.verdict), (Some(0.0), Verdict::Fails));
        assert_eq!(serde_json::to_string(&Verdict::NotApplicable).unwrap(), "\"n/a\"");
        assert_eq!(serde_json::from_str::<Verdict>("\"n/a\"").unwrap(), Verdict::NotApplicable);
        let dir = temp_dir("na");
        let mut r = sample_results();
        r.findings = f;
        write_results(&dir, &r).unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
        let j = v["findings"].as_array().unwrap().iter().find(|x| x["id"] == "F1").unwrap().clone();
        assert!(j["held_in"].is_null(), "{j}");
        assert_eq!(j["verdict"], "n/a");
        assert_eq!(read_results(dir.join("results.json")).unwrap(), r);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn verdict_thresholds() {
        let r = VerdictRule::default();
        assert_eq!(r.verdict(1.0), Verdict::Holds);
        assert_eq!(r.verdict(0.9), Verdict::Holds);
        assert_eq!(r.verdict(0.89), Verdict::Mixed);
        assert_eq!(r.verdict(0.11), Verdict::Mixed);
        assert_eq!(r.verdict(0.1), Verdict::Fails);
        assert_eq!(r.verdict(0.0), Verdict::Fails);
        assert_eq!(r.verdict(f64::NAN), Verdict::NotApplicable);
        assert_eq!(r.verdict_of(None), Verdict::NotApplicable);
        assert_eq!(serde_json::to_string(&Verdict::Mixed).unwrap(), "\"mixed\"");
    }

    fn sample_results() -> Results {
        let outs = vec![
            seed(7, &[("x", Some(0.5)), ("y", None)], &[("F1", Some(true))]),
            seed(8, &[("x", Some(0.7))], &[("F1", Some(false))]),
        ];
        let (metrics, findings) = aggregate(&outs, DEFS, VerdictRule::default());
        let mut settings = serde_json::Map::new();
        settings.insert("providers".into(), serde_json::json!(12));
        Results {
            study: "s".into(),
            scenario: "base".into(),
            fidelity: "full".into(),
            timing: "event".into(),
            settings,
            overrides: Vec::new(),
            seeds: vec![7, 8],
            metrics,
            findings,
            extra: serde_json::Map::new(),
        }
    }

    #[test]
    fn results_round_trip() {
        let dir = temp_dir("rt").join("nested");
        let r = sample_results();
        write_results(&dir, &r).unwrap();
        assert!(crate::engine::atomic::temps_in(&dir).is_empty());
        let text = std::fs::read_to_string(dir.join("results.json")).unwrap();
        assert!(!text.contains("extra"), "empty extra must be skipped");
        assert!(text.contains("\"verdict\": \"mixed\""));
        let back = read_results(dir.join("results.json")).unwrap();
        assert_eq!(back, r);

        let mut r2 = r.clone();
        r2.extra.insert("claims".into(), serde_json::json!({"C1": true}));
        write_results(&dir, &r2).unwrap();
        assert_eq!(read_results(dir.join("results.json")).unwrap(), r2);
        std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    }

    #[test]
    fn non_finite_written_as_null() {
        let dir = temp_dir("nan");
        let mut r = sample_results();
        let m = r.metrics.get_mut("x").unwrap();
        m.mean = Some(f64::NAN);
        m.ci95 = Some([f64::NEG_INFINITY, 1.0]);
        m.values[0] = Some(f64::INFINITY);
        write_results(&dir, &r).unwrap();
        let text = std::fs::read_to_string(dir.join("results.json")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(v["metrics"]["x"]["mean"].is_null());
        assert!(v["metrics"]["x"]["ci95"].is_null());
        assert!(v["metrics"]["x"]["values"][0].is_null());
        assert_eq!(v["metrics"]["x"]["values"][1], serde_json::json!(0.7));
        let back = read_results(dir.join("results.json")).unwrap();
        assert_eq!(back.metrics["x"].mean, None);
        r.findings[0].held_in = Some(f64::NAN);
        assert!(write_results(&dir, &r).is_err());
        r.findings[0].held_in = None;
        assert!(write_results(&dir, &r).is_err(), "null held_in needs verdict n/a");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn tables_concatenated() {
        let dir = temp_dir("tables");
        let table = |rows: &[&[&str]]| Table {
            header: vec!["seed".into(), "value".into()],
            rows: rows.iter().map(|r| r.iter().map(|s| s.to_string()).collect()).collect(),
        };
        let mut a = seed(1, &[], &[]);
        a.tables.insert("t.csv".into(), table(&[&["1", "0.5"], &["1", "a,b"]]));
        let b = seed(2, &[], &[]);
        let mut c = seed(3, &[], &[]);
        c.tables.insert("t.csv".into(), table(&[&["3", "0.25"]]));
        c.tables.insert("u.csv".into(), table(&[]));
        let paths = write_tables(&dir, &[a.clone(), b, c]).unwrap();
        assert_eq!(paths, vec![dir.join("t.csv"), dir.join("u.csv")]);
        let text = std::fs::read_to_string(dir.join("t.csv")).unwrap();
        assert_eq!(text, "seed,value\n1,0.5\n1,\"a,b\"\n3,0.25\n");
        assert_eq!(std::fs::read_to_string(dir.join("u.csv")).unwrap(), "seed,value\n");
        assert!(crate::engine::atomic::temps_in(&dir).is_empty());

        let mut bad = seed(4, &[], &[]);
        bad.tables.insert("t.csv".into(), Table { header: vec!["other".into()], rows: vec![] });
        assert!(write_tables(&dir, &[a.clone(), bad]).is_err());
        let mut evil = seed(5, &[], &[]);
        evil.tables.insert("../x.csv".into(), Table::default());
        assert!(write_tables(&dir, &[evil]).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn atomic_write_replaces() {
        let dir = temp_dir("atomic");
        let p = dir.join("f.txt");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "no temporary file is left");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
