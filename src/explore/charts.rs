//! The charts of an exploration (docs/explore.md, "Charts"), per metric:
//!
//! * `main_effects_<metric>`: one panel per factor, the mean of the point
//!   means at each value of the factor (or in each of 8 equal-count bins of
//!   a continuous factor) with a 95% Student-t interval over those points;
//! * `heatmap_<metric>_<f1>_<f2>`: for the first three pairs of factors,
//!   the mean of the point means in each cell of the two factors' values
//!   (or 6 equal-count bins each);
//! * `tornado_<metric>`: one bar per factor, largest on top: the total
//!   Sobol index ST or Morris mu* with its bootstrap interval when the
//!   design gives indices, else the range of the main-effect means.
//!
//! A point's mean is its metric's mean over its seeds (as `summary.csv`
//! gives it); points where the metric is undefined in every seed are left
//! out of every chart of that metric. A factor's axis follows its plan
//! scale ([`AxisScale`]), not its data.

use std::collections::BTreeSet;
use std::path::Path;

use crate::explore::exec::{PointRuns, value_cell};
use crate::explore::plan::{Domain, Factor, Scale};
use crate::explore::sensitivity::SensitivityRow;
use crate::report::chart::{
    BLUE, Bar, BarPanel, BarSeries, Chart, Corner, HBarChart, HeatMap, HeatScale, MixedGrid, MixedPanel, PlotPanel,
    Series, fmt_num,
};
use crate::report::stats::{Support, summarize_with};

/// The most metrics charted (the first ones of the list).
pub const MAX_METRICS: usize = 8;
/// A factor with at most this many distinct values is charted value by value.
const FEW: usize = 12;
/// Equal-count bins of a continuous factor in the main-effects chart.
const MAIN_BINS: usize = 8;
/// Equal-count bins of a continuous factor on a heat-map axis.
const HEAT_BINS: usize = 6;
/// Heat maps per metric: the first pairs of factors in plan order.
const HEAT_PAIRS: usize = 3;
/// Longest slug of a metric or factor in a file name.
const MAX_SLUG: usize = 60;

/// How the plan spreads a factor's values, and so the axis the charts draw
/// it on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AxisScale {
    /// A range on the linear scale, or levels: a linear axis (levels that
    /// are strings or booleans: categories).
    Linear,
    /// A range with `scale = "log"`, integer or not: an axis of log10 of
    /// the values.
    Log,
    /// An integer range on the linear scale: a linear axis, values and bin
    /// ends labelled as whole numbers.
    Integer,
}

impl AxisScale {
    /// The axis of a plan's factor.
    pub fn of(factor: &Factor) -> AxisScale {
        match factor.domain() {
            Domain::Levels(_) => AxisScale::Linear,
            Domain::Range { scale: Scale::Log, .. } => AxisScale::Log,
            Domain::Range { integer: true, .. } => AxisScale::Integer,
            Domain::Range { .. } => AxisScale::Linear,
        }
    }
}

/// A factor as the charts see it: its scenario key and its plan scale.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChartFactor {
    /// The scenario key.
    pub key: String,
    /// The axis it is drawn on.
    pub scale: AxisScale,
}

impl From<&Factor> for ChartFactor {
    fn from(f: &Factor) -> ChartFactor {
        ChartFactor { key: f.key().to_string(), scale: AxisScale::of(f) }
    }
}

/// Write the exploration charts into `dir` (the caller passes OUT/charts); return the stems written.
pub fn write_charts(
    dir: &Path,
    factors: &[ChartFactor],
    metrics: &[String],
    points: &[PointRuns],
    sensitivity: &[SensitivityRow],
) -> anyhow::Result<Vec<String>> {
    let mut stems = Stems::default();
    if factors.is_empty() || points.is_empty() {
        return Ok(Vec::new());
    }
    let aggregates: Vec<_> = points.iter().map(|p| p.aggregate().0).collect();
    let main_groups: Vec<Groups> = factors.iter().map(|f| Groups::of(points, f, MAIN_BINS)).collect();
    let heat_groups: Vec<Groups> = factors.iter().map(|f| Groups::of(points, f, HEAT_BINS)).collect();
    let factors: Vec<String> = factors.iter().map(|f| f.key.clone()).collect();
    let factors = &factors[..];
    for metric in metrics.iter().take(MAX_METRICS) {
        let means: Vec<Option<f64>> =
            aggregates.iter().map(|a| a.get(metric).and_then(|r| r.mean).filter(|v| v.is_finite())).collect();
        if means.iter().all(Option::is_none) {
            continue;
        }
        let m = slug(metric);

        let main_stem = stems.take(format!("main_effects_{m}"));
        main_effects(metric, factors, &main_groups, &means).write(dir, &main_stem)?;
        stems.written.push(main_stem.clone());

        for (a, b) in pairs(factors.len()).into_iter().take(HEAT_PAIRS) {
            let stem = stems.take(format!("heatmap_{m}_{}_{}", slug(&factors[a]), slug(&factors[b])));
            heat_map(metric, (&factors[a], &heat_groups[a]), (&factors[b], &heat_groups[b]), &means)
                .write(dir, &stem)?;
            stems.written.push(stem);
        }

        let stem = stems.take(format!("tornado_{m}"));
        tornado(metric, factors, &main_groups, &means, sensitivity, &main_stem).write(dir, &stem)?;
        stems.written.push(stem);
    }
    Ok(stems.written)
}

/// Stems handed out so far, each unique.
#[derive(Default)]
struct Stems {
    used: BTreeSet<String>,
    written: Vec<String>,
}

impl Stems {
    /// `want`, or `want_2`, `want_3`, ... if taken.
    fn take(&mut self, want: String) -> String {
        let mut stem = want.clone();
        let mut k = 2;
        while self.used.contains(&stem) {
            stem = format!("{want}_{k}");
            k += 1;
        }
        self.used.insert(stem.clone());
        stem
    }
}

/// A name as a file-name part: every character outside `[A-Za-z0-9_]`
/// replaced by `_`, at most [`MAX_SLUG`] characters.
pub fn slug(name: &str) -> String {
    let s: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).take(MAX_SLUG).collect();
    if s.is_empty() { "_".into() } else { s }
}

/// The pairs `(a, b)`, `a < b`, of `n` factors in plan order.
fn pairs(n: usize) -> Vec<(usize, usize)> {
    (0..n).flat_map(|a| (a + 1..n).map(move |b| (a, b))).collect()
}

/// A number for people: three significant digits, trailing zeros dropped,
/// in exponent form when very large or small; never "-0".
pub fn people(x: f64) -> String {
    if !x.is_finite() {
        return "n/a".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    let trim = |s: String| -> String {
        if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
    };
    let mag = x.abs().log10().floor() as i32;
    if !(-3..6).contains(&mag) {
        let s = format!("{x:.2e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        return format!("{}e{exp}", trim(mantissa.to_string()));
    }
    let decimals = (2 - mag).max(0) as usize;
    let s = trim(fmt_num(x, decimals));
    if s == "-0" { "0".into() } else { s }
}

/// How a factor's values are shown on an axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Numbers on a linear axis.
    Linear,
    /// Numbers of a log-scale factor, drawn as log10.
    Log10,
    /// Strings, booleans or a mix: categories.
    Categorical,
}

/// One group of points: those at one value of a factor, or in one bin.
#[derive(Clone, Debug, PartialEq)]
struct Group {
    /// Position on the axis: the value (log10 on a log axis), the mean
    /// value of a bin's points, or the category's index.
    x: f64,
    /// Its name: the value, or the bin's range of values.
    label: String,
    /// Indices of its points.
    members: Vec<usize>,
}

/// A factor's values grouped for a chart.
#[derive(Clone, Debug, PartialEq)]
struct Groups {
    kind: Kind,
    /// Whether continuous values were binned.
    binned: bool,
    /// The groups, in increasing value (categories sorted by text).
    groups: Vec<Group>,
}

impl Groups {
    /// The points grouped by `factor`: one group per value when there are
    /// at most [`FEW`] of them, else `bins` equal-count bins of numeric
    /// values (equal values always share a bin). Points without the factor
    /// are left out. Numbers are drawn on log10 when the factor's scale is
    /// [`AxisScale::Log`] (and every value is above 0, as a log range's
    /// are), else on a linear axis.
    fn of(points: &[PointRuns], factor: &ChartFactor, bins: usize) -> Groups {
        let key = factor.key.as_str();
        let values: Vec<(usize, &toml::Value)> = points
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.point.values.iter().find(|(k, _)| k == key).map(|(_, v)| (i, v)))
            .collect();
        let numeric = values.iter().all(|(_, v)| matches!(v, toml::Value::Integer(_) | toml::Value::Float(_)));
        if !numeric {
            let mut names: Vec<String> = values.iter().map(|(_, v)| value_cell(v)).collect();
            names.sort();
            names.dedup();
            let groups = names
                .iter()
                .enumerate()
                .map(|(k, name)| Group {
                    x: k as f64,
                    label: name.clone(),
                    members: values.iter().filter(|(_, v)| &value_cell(v) == name).map(|(i, _)| *i).collect(),
                })
                .collect();
            return Groups { kind: Kind::Categorical, binned: false, groups };
        }
        let mut nums: Vec<(usize, f64)> =
            values.iter().filter_map(|(i, v)| crate::explore::exec::value_number(v).map(|x| (*i, x))).collect();
        nums.retain(|(_, x)| x.is_finite());
        nums.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        let lo = nums.first().map_or(0.0, |n| n.1);
        let kind = if factor.scale == AxisScale::Log && lo > 0.0 { Kind::Log10 } else { Kind::Linear };
        let name = |x: f64| {
            if factor.scale == AxisScale::Integer && x.fract() == 0.0 && x.abs() < 9.0e15 {
                format!("{}", x as i64)
            } else {
                people(x)
            }
        };
        let pos = |x: f64| if kind == Kind::Log10 { x.log10() } else { x };
        let mut distinct: Vec<f64> = nums.iter().map(|n| n.1).collect();
        distinct.dedup();
        let binned = distinct.len() > FEW;
        // The group of each sorted point: its value's, or its bin, the bin
        // of a value set by the rank of its first point.
        let n = nums.len();
        let mut bin_of = Vec::with_capacity(n);
        let (mut first, mut value_index) = (0, 0);
        for k in 0..n {
            if k > 0 && nums[k].1 != nums[k - 1].1 {
                first = k;
                value_index += 1;
            }
            bin_of.push(if binned { first * bins.max(1) / n } else { value_index });
        }
        let mut groups: Vec<Group> = Vec::new();
        let mut k = 0;
        while k < n {
            let b = bin_of[k];
            let end = (k..n).find(|&j| bin_of[j] != b).unwrap_or(n);
            let run = &nums[k..end];
            let (a, z) = (run[0].1, run[run.len() - 1].1);
            let x = run.iter().map(|r| pos(r.1)).sum::<f64>() / run.len() as f64;
            let label = if a == z { name(a) } else { format!("{}–{}", name(a), name(z)) };
            groups.push(Group { x, label, members: run.iter().map(|r| r.0).collect() });
            k = end;
        }
        Groups { kind, binned, groups }
    }

    /// The point means of each group: `(x, finite means)`.
    fn samples(&self, means: &[Option<f64>]) -> Vec<(f64, Vec<f64>)> {
        self.groups.iter().map(|g| (g.x, g.members.iter().filter_map(|&i| means[i]).collect())).collect()
    }

    /// The main-effect means (groups without a defined point skipped).
    fn effect_means(&self, means: &[Option<f64>]) -> Vec<f64> {
        self.samples(means)
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(_, v)| v.iter().sum::<f64>() / v.len() as f64)
            .collect()
    }

    /// The axis description of factor `key`.
    fn axis(&self, key: &str) -> String {
        let name = if self.kind == Kind::Log10 { format!("log10({key})") } else { key.to_string() };
        if self.binned { format!("{name}, {} equal-count bins at their mean", self.groups.len()) } else { name }
    }
}

/// The last part of a dotted metric path (an axis description).
fn short(metric: &str) -> &str {
    metric.rsplit('.').next().unwrap_or(metric)
}

/// The main-effects figure of `metric`: one panel per factor.
fn main_effects(metric: &str, factors: &[String], groups: &[Groups], means: &[Option<f64>]) -> MixedGrid {
    let panels = factors
        .iter()
        .zip(groups)
        .map(|(key, g)| {
            let samples = g.samples(means);
            if g.kind == Kind::Categorical {
                let bars = g
                    .groups
                    .iter()
                    .zip(&samples)
                    .map(|(grp, (_, v))| {
                        let vals: Vec<Option<f64>> = v.iter().map(|&x| Some(x)).collect();
                        let s = summarize_with(&vals, Support::Real);
                        match (s.mean, s.ci95) {
                            (Some(m), Some([lo, hi])) if s.n >= 2 => Bar { label: grp.label.clone(), mean: m, lo, hi },
                            (m, _) => Bar::plain(&grp.label, m.unwrap_or(f64::NAN)),
                        }
                    })
                    .collect();
                MixedPanel::Bars(BarPanel {
                    title: key.clone(),
                    y_label: short(metric).to_string(),
                    categories: g.groups.iter().map(|grp| grp.label.clone()).collect(),
                    series: vec![BarSeries::new("", bars)],
                    ..Default::default()
                })
            } else {
                MixedPanel::Plot(PlotPanel {
                    title: key.clone(),
                    x_label: g.axis(key),
                    y_label: short(metric).to_string(),
                    series: vec![Series::mean_ci("", BLUE, &samples)],
                    legend: Corner::UpperRight,
                    ..Default::default()
                })
            }
        })
        .collect::<Vec<_>>();
    let cols = match panels.len() {
        0 | 1 => 1,
        2 | 4 => 2,
        _ => 3,
    };
    MixedGrid {
        title: format!("Main effects on {}", short(metric)),
        note: format!(
            "{metric}. Each point: the mean over the points at that value of the factor (or in that bin) of \
             the points' means over seeds; band or whisker: 95% Student-t interval over those points (none \
             where one point)."
        ),
        cols,
        panels,
    }
}

/// The heat map of `metric` over factors `a` (columns) and `b` (rows).
fn heat_map(metric: &str, (ka, ga): (&str, &Groups), (kb, gb): (&str, &Groups), means: &[Option<f64>]) -> HeatMap {
    let n = means.len();
    let index = |g: &Groups| {
        let mut at = vec![None; n];
        for (k, grp) in g.groups.iter().enumerate() {
            for &i in &grp.members {
                at[i] = Some(k);
            }
        }
        at
    };
    let (ia, ib) = (index(ga), index(gb));
    let (nx, ny) = (ga.groups.len(), gb.groups.len());
    let mut sum = vec![vec![(0usize, 0usize, 0.0f64); nx]; ny];
    for i in 0..n {
        let (Some(x), Some(y)) = (ia[i], ib[i]) else { continue };
        let cell = &mut sum[y][x];
        cell.0 += 1;
        if let Some(v) = means[i] {
            cell.1 += 1;
            cell.2 += v;
        }
    }
    // Row 0 is drawn at the top: the largest value of `b` first.
    let rows: Vec<usize> = (0..ny).rev().collect();
    let values: Vec<Vec<Option<f64>>> =
        rows.iter().map(|&y| sum[y].iter().map(|c| (c.1 > 0).then(|| c.2 / c.1 as f64)).collect()).collect();
    let labels: Vec<Vec<String>> = rows
        .iter()
        .map(|&y| {
            sum[y]
                .iter()
                .map(|c| match c {
                    (0, _, _) => String::new(),
                    (_, 0, _) => "n/a".into(),
                    (_, k, s) => people(s / *k as f64),
                })
                .collect()
        })
        .collect();
    let describe = |k: &str, g: &Groups| {
        if g.binned { format!("{k} ({} equal-count bins)", g.groups.len()) } else { k.to_string() }
    };
    HeatMap {
        title: format!("{} by {} and {}", short(metric), short(ka), short(kb)),
        note: format!(
            "{metric}. Columns: {}; rows: {}. Cell: the mean over its points of the points' means over seeds; \
             grey: no point (blank) or none with a defined value (n/a).",
            describe(ka, ga),
            describe(kb, gb)
        ),
        x_labels: ga.groups.iter().map(|g| g.label.clone()).collect(),
        y_labels: rows.iter().map(|&y| gb.groups[y].label.clone()).collect(),
        values,
        labels,
        value_label: short(metric).to_string(),
        scale: HeatScale::Sequential,
    }
}

/// The tornado chart of `metric`.
fn tornado(
    metric: &str,
    factors: &[String],
    groups: &[Groups],
    means: &[Option<f64>],
    sensitivity: &[SensitivityRow],
    main_stem: &str,
) -> HBarChart {
    let rows = |index: &str| -> Vec<&SensitivityRow> {
        sensitivity.iter().filter(|r| r.metric == metric && r.index == index).collect()
    };
    let (st, mu) = (rows("ST"), rows("mu_star"));
    let (mut bars, title, note, x_label): (Vec<Bar>, String, String, String) = if !st.is_empty() || !mu.is_empty() {
        let sobol = !st.is_empty();
        let chosen = if sobol { st } else { mu };
        let bars = factors
            .iter()
            .map(|f| match chosen.iter().find(|r| &r.factor == f) {
                Some(r) => Bar { label: f.clone(), mean: r.value, lo: r.lo, hi: r.hi },
                None => Bar::plain(f, f64::NAN),
            })
            .collect();
        let (title, x_label) = if sobol {
            (
                format!("Total Sobol index ST of {}", short(metric)),
                "ST (share of the variance with the factor's interactions)",
            )
        } else {
            (format!("Morris mu* of {}", short(metric)), "mu* (mean absolute elementary effect)")
        };
        (bars, title, format!("{metric}. Largest on top; whiskers: 95% bootstrap interval."), x_label.to_string())
    } else {
        let bars = factors
            .iter()
            .zip(groups)
            .map(|(f, g)| {
                let e = g.effect_means(means);
                let range = if e.is_empty() {
                    f64::NAN
                } else {
                    e.iter().copied().fold(f64::NEG_INFINITY, f64::max)
                        - e.iter().copied().fold(f64::INFINITY, f64::min)
                };
                Bar::plain(f, range)
            })
            .collect();
        (
            bars,
            format!("Main-effect range of {}", short(metric)),
            format!(
                "{metric}. Largest on top; bar: the largest minus the smallest main-effect mean of the factor (as in \
                 {main_stem}); no interval."
            ),
            format!("range of the main-effect means of {}", short(metric)),
        )
    };
    // Largest on top; undefined last; ties in plan order.
    bars.sort_by(|a, b| match (a.mean.is_finite(), b.mean.is_finite()) {
        (true, true) => b.mean.total_cmp(&a.mean),
        (x, y) => y.cmp(&x),
    });
    HBarChart { title, note, x_label, bars, colors: Vec::new() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explore::exec::{Base, Point};
    use crate::report::chart::record_layouts;
    use crate::report::results::SeedOutput;

    fn root() -> std::path::PathBuf {
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    /// Points with the given factor values, each with `seeds` outputs of
    /// metric `y` from `f(point index, seed)`. The study is mm1's (only
    /// its finding definitions are used to aggregate).
    fn runs(
        values: Vec<Vec<(&str, toml::Value)>>,
        seeds: u64,
        f: impl Fn(usize, u64) -> Option<f64>,
    ) -> Vec<PointRuns> {
        let base = Base::load(&root().join("models/mm1.toml"), &[]).unwrap();
        values
            .into_iter()
            .enumerate()
            .map(|(id, vals)| {
                let outputs = (0..seeds)
                    .map(|s| {
                        let mut o = SeedOutput::new(s);
                        o.set("y", f(id, s));
                        o.put("z", id as f64);
                        o
                    })
                    .collect();
                PointRuns {
                    point: Point { id, values: vals.into_iter().map(|(k, v)| (k.to_string(), v)).collect() },
                    study: base.study(&[]).unwrap(),
                    outputs,
                }
            })
            .collect()
    }

    fn strings(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    fn factor(key: &str, scale: AxisScale) -> ChartFactor {
        ChartFactor { key: key.into(), scale }
    }

    fn linear(keys: &[&str]) -> Vec<ChartFactor> {
        keys.iter().map(|k| factor(k, AxisScale::Linear)).collect()
    }

    /// Write the charts; check every stem has both files and every layout is clean.
    fn write_checked(
        factors: &[ChartFactor],
        metrics: &[String],
        points: &[PointRuns],
        rows: &[SensitivityRow],
    ) -> (tempfile::TempDir, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let (stems, layouts) = record_layouts(|| write_charts(dir.path(), factors, metrics, points, rows));
        let stems = stems.unwrap();
        assert_eq!(layouts.len(), stems.len(), "one layout per chart");
        for stem in &stems {
            for ext in ["svg", "png"] {
                assert!(dir.path().join(format!("{stem}.{ext}")).exists(), "{stem}.{ext}");
            }
            let svg = std::fs::read_to_string(dir.path().join(format!("{stem}.svg"))).unwrap();
            assert!(!crate::report::chart::has_negative_zero(&svg), "{stem} prints -0");
        }
        for (png, layout) in &layouts {
            assert!(!layout.panels.is_empty(), "{}", png.display());
            assert_eq!(layout.problems(), Vec::<String>::new(), "{}", png.display());
        }
        if std::env::var_os("OMERTA_KEEP_CHART_TEST").is_some() {
            crate::cli::out::errln!("charts kept in {}", dir.keep().display());
            return (tempfile::tempdir().unwrap(), stems);
        }
        (dir, stems)
    }

    fn float(x: f64) -> toml::Value {
        toml::Value::Float(x)
    }

    #[test]
    fn every_chart_of_a_mixed_design_is_written_clean() {
        // Three factors: continuous (40 values), integer levels, strings.
        let modes = ["floor", "ceiling", "none"];
        let values: Vec<Vec<(&str, toml::Value)>> = (0..40)
            .map(|i| {
                vec![
                    ("a.rate", float(0.2 + 0.015 * i as f64)),
                    ("b", toml::Value::Integer((i % 4) as i64 * 10)),
                    ("mode", toml::Value::String(modes[i % 3].into())),
                ]
            })
            .collect();
        let points = runs(values, 2, |i, s| (i != 7).then_some((i % 5) as f64 - 2.0 + 0.1 * s as f64));
        let factors = linear(&["a.rate", "b", "mode"]);
        let (_dir, stems) = write_checked(&factors, &strings(&["y", "z", "missing"]), &points, &[]);
        let want = [
            "main_effects_y",
            "heatmap_y_a_rate_b",
            "heatmap_y_a_rate_mode",
            "heatmap_y_b_mode",
            "tornado_y",
            "main_effects_z",
            "heatmap_z_a_rate_b",
            "heatmap_z_a_rate_mode",
            "heatmap_z_b_mode",
            "tornado_z",
        ];
        assert_eq!(stems, want, "a metric no point defines draws nothing");
        // Nothing to chart: no metrics, no points.
        assert!(write_charts(Path::new("/nonexistent/charts"), &factors, &[], &points, &[]).unwrap().is_empty());
        assert!(
            write_charts(Path::new("/nonexistent/charts"), &factors, &strings(&["y"]), &[], &[]).unwrap().is_empty()
        );
    }

    #[test]
    fn sensitivity_rows_make_the_tornado_and_one_seed_still_charts() {
        let values: Vec<Vec<(&str, toml::Value)>> =
            (0..20).map(|i| vec![("x", float(1.0 + i as f64)), ("k", float(0.001 * 10f64.powi(i % 5)))]).collect();
        let points = runs(values, 1, |i, _| Some(i as f64));
        let row = |factor: &str, index, value| SensitivityRow {
            factor: factor.into(),
            metric: "y".into(),
            index,
            value,
            lo: value - 0.05,
            hi: value + 0.05,
        };
        let rows = vec![row("x", "S1", 0.5), row("x", "ST", 0.6), row("k", "S1", 0.0), row("k", "ST", 0.01)];
        let log_k = factor("k", AxisScale::Log);
        let (_dir, stems) =
            write_checked(&[factor("x", AxisScale::Linear), log_k.clone()], &strings(&["y"]), &points, &rows);
        assert_eq!(stems, ["main_effects_y", "heatmap_y_x_k", "tornado_y"]);
        let factors = strings(&["x", "k"]);
        let t = tornado("y", &factors, &[], &[], &rows, "main_effects_y");
        assert!(t.title.contains("ST"), "{}", t.title);
        assert_eq!(t.bars.iter().map(|b| (b.label.as_str(), b.mean)).collect::<Vec<_>>(), [("x", 0.6), ("k", 0.01)]);
        assert!(t.bars.iter().all(|b| b.lo.is_finite()), "whiskers from the bootstrap interval");
        // k on the log scale: a log axis of five distinct values.
        let g = Groups::of(&points, &log_k, MAIN_BINS);
        assert_eq!(g.kind, Kind::Log10);
        assert_eq!(g.groups.iter().map(|g| g.x.round() as i64).collect::<Vec<_>>(), [-3, -2, -1, 0, 1]);
        assert!(g.axis("k").starts_with("log10(k)"));
    }

    #[test]
    fn the_axis_follows_the_plan_scale_not_the_data() {
        // k spans four decades, x only a factor of 20.
        let values: Vec<Vec<(&str, toml::Value)>> =
            (0..20).map(|i| vec![("x", float(1.0 + i as f64)), ("k", float(0.001 * 10f64.powi(i % 5)))]).collect();
        let points = runs(values, 1, |i, _| Some(i as f64));
        // A linear k stays linear, whatever its span.
        let g = Groups::of(&points, &factor("k", AxisScale::Linear), MAIN_BINS);
        assert_eq!(g.kind, Kind::Linear);
        assert_eq!(g.groups.iter().map(|g| g.x).collect::<Vec<_>>(), [0.001, 0.01, 0.1, 1.0, 10.0]);
        assert_eq!(g.axis("k"), "k");
        // A log-scale x is drawn on log10 though it spans less than 100x:
        // 20 values in 8 bins, each at the mean log10 of its values.
        let g = Groups::of(&points, &factor("x", AxisScale::Log), MAIN_BINS);
        assert_eq!(g.kind, Kind::Log10);
        assert!(g.binned);
        let first = &g.groups[0];
        let want = first.members.iter().map(|&i| (1.0 + i as f64).log10()).sum::<f64>() / first.members.len() as f64;
        assert!((first.x - want).abs() < 1e-12, "{} vs {want}", first.x);
        assert!(g.axis("x").starts_with("log10(x), 8 equal-count bins"));
        // A log scale with a value at or below 0 (not from a plan) falls back to linear.
        let zero = runs(vec![vec![("x", float(0.0))], vec![("x", float(5.0))]], 1, |i, _| Some(i as f64));
        assert_eq!(Groups::of(&zero, &factor("x", AxisScale::Log), MAIN_BINS).kind, Kind::Linear);
        // An integer range labels its values and bins in whole numbers,
        // where a linear one rounds them to three digits.
        let big: Vec<Vec<(&str, toml::Value)>> =
            (0..30).map(|i| vec![("n", toml::Value::Integer(1_000_000 + i))]).collect();
        let big = runs(big, 1, |i, _| Some(i as f64));
        let g = Groups::of(&big, &factor("n", AxisScale::Integer), HEAT_BINS);
        assert_eq!((g.kind, g.groups.len()), (Kind::Linear, 6));
        assert_eq!(g.groups[0].label, "1000000–1000004");
        let g = Groups::of(&big, &factor("n", AxisScale::Linear), HEAT_BINS);
        assert_eq!(g.groups[0].label, "1e6–1e6");
        // Every chart draws with either scale.
        let (_dir, stems) = write_checked(
            &[factor("x", AxisScale::Log), factor("k", AxisScale::Linear)],
            &strings(&["y"]),
            &points,
            &[],
        );
        assert_eq!(stems, ["main_effects_y", "heatmap_y_x_k", "tornado_y"]);
    }

    #[test]
    fn a_plan_factor_gives_its_scale() {
        let text = r#"
            design = "lhs"
            points = 4
            [factors]
            a = { min = 1.0, max = 2.0 }
            b = { min = 0.01, max = 10.0, scale = "log" }
            c = { min = 1, max = 40, integer = true }
            d = { min = 1, max = 1000, integer = true, scale = "log" }
            e = { levels = [0.01, 1.0, 100.0] }
            f = { levels = ["x", "y"] }
        "#;
        let plan = crate::explore::Plan::parse(text, Path::new("p.toml")).unwrap();
        let got: Vec<ChartFactor> = plan.factors().iter().map(ChartFactor::from).collect();
        use AxisScale::*;
        let want = [("a", Linear), ("b", Log), ("c", Integer), ("d", Log), ("e", Linear), ("f", Linear)];
        assert_eq!(got, want.map(|(k, s)| factor(k, s)));
    }

    #[test]
    fn main_effects_follow_a_linear_response() {
        // y = 2 x exactly, x continuous over 64 points: 8 bins of 8, their
        // means increasing by 2 per unit of x; z ignores x.
        let values: Vec<Vec<(&str, toml::Value)>> =
            (0..64).map(|i| vec![("x", float(((i * 37) % 64) as f64 / 10.0)), ("w", float(i as f64))]).collect();
        let xs: Vec<f64> = (0..64).map(|i| ((i * 37) % 64) as f64 / 10.0).collect();
        let points = runs(values, 2, |i, _| Some(2.0 * xs[i]));
        let g = Groups::of(&points, &factor("x", AxisScale::Linear), MAIN_BINS);
        assert!(g.binned && g.kind == Kind::Linear);
        assert_eq!(g.groups.len(), 8);
        assert!(g.groups.iter().all(|grp| grp.members.len() == 8));
        let means: Vec<Option<f64>> = points.iter().map(|p| p.aggregate().0["y"].mean).collect();
        let samples = g.samples(&means);
        for w in samples.windows(2) {
            let m = |s: &(f64, Vec<f64>)| s.1.iter().sum::<f64>() / s.1.len() as f64;
            assert!(w[1].0 > w[0].0, "bins in increasing x");
            assert!(m(&w[1]) > m(&w[0]), "bin means increase");
            assert!((m(&w[0]) - 2.0 * w[0].0).abs() < 1e-9, "mean = 2 x at the bin's mean x");
        }
        // The tornado without indices: x (listed second) has the larger
        // range of main-effect means, so its bar is on top.
        let e = g.effect_means(&means);
        let groups = vec![Groups::of(&points, &factor("w", AxisScale::Linear), MAIN_BINS), g];
        let factors = strings(&["w", "x"]);
        let t = tornado("y", &factors, &groups, &means, &[], "main_effects_y");
        assert_eq!(t.bars[0].label, "x", "the larger effect on top");
        assert!((t.bars[0].mean - (e[7] - e[0])).abs() < 1e-9);
        assert!(t.title.starts_with("Main-effect range"));
        assert!(t.bars.iter().all(|b| !b.lo.is_finite()), "no whiskers");
    }

    #[test]
    fn slugs_people_and_unique_stems() {
        assert_eq!(slug("consumer_groups[0].checkpoint-hours"), "consumer_groups_0__checkpoint_hours");
        assert_eq!(slug(&"a".repeat(100)).len(), MAX_SLUG);
        let mut s = Stems::default();
        assert_eq!(s.take("t_a_b".into()), "t_a_b");
        assert_eq!(s.take("t_a_b".into()), "t_a_b_2");
        assert_eq!(s.take("t_a_b".into()), "t_a_b_3");
        assert_eq!(people(1234.5678), "1235");
        assert_eq!(people(0.012345), "0.0123");
        assert_eq!(people(2.5), "2.5");
        assert_eq!(people(-0.0), "0");
        assert_eq!(people(1.5e9), "1.5e9");
        assert_eq!(people(-2.0), "-2");
        assert_eq!(pairs(4), [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]);
    }
}
