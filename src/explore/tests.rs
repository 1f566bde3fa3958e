//! Tests of plans, designs and estimators: the estimators against the
//! analytic indices of the Ishigami and Sobol g functions, the plan parser
//! against hostile input.

use super::plan::{MAX_FACTORS, MAX_POINTS, Point};
use super::*;
use crate::study::scenario::parse_set_value;
use proptest::prelude::*;
use std::f64::consts::PI;
use std::path::Path;

fn parse(text: &str) -> Result<Plan, PlanError> {
    Plan::parse(text, Path::new("plans/p.toml"))
}

fn err(text: &str) -> String {
    match parse(text) {
        Ok(p) => panic!("accepted: {text}\n{p:?}"),
        Err(e) => e.to_string(),
    }
}

fn floats(p: &Point) -> Vec<f64> {
    p.values.iter().map(|v| v.as_float().or(v.as_integer().map(|i| i as f64)).unwrap()).collect()
}

/// A plan of `k` factors in `[lo, hi]` named x1, x2, ...
fn unit_plan(design: &str, points: usize, k: usize, lo: f64, hi: f64, extra: &str) -> Plan {
    let mut text = format!("design = \"{design}\"\npoints = {points}\nmetrics = [\"y\"]\n{extra}\n[factors]\n");
    for i in 1..=k {
        text.push_str(&format!("x{i} = {{ min = {lo:?}, max = {hi:?} }}\n"));
    }
    parse(&text).unwrap()
}

fn ishigami(x: &[f64]) -> f64 {
    let (a, b) = (7.0, 0.1);
    x[0].sin() + a * x[1].sin().powi(2) + b * x[2].powi(4) * x[0].sin()
}

/// Analytic (S1, ST) of the Ishigami function, a = 7, b = 0.1.
fn ishigami_indices() -> Vec<(f64, f64)> {
    let (a, b) = (7.0f64, 0.1f64);
    let v1 = 0.5 * (1.0 + b * PI.powi(4) / 5.0).powi(2);
    let v2 = a * a / 8.0;
    let v13 = b * b * PI.powi(8) * (1.0 / 18.0 - 1.0 / 50.0);
    let v = v1 + v2 + v13;
    vec![(v1 / v, (v1 + v13) / v), (v2 / v, v2 / v), (0.0, v13 / v)]
}

const G_A: [f64; 8] = [0.0, 1.0, 4.5, 9.0, 99.0, 99.0, 99.0, 99.0];

fn g_function(x: &[f64]) -> f64 {
    x.iter().zip(G_A).map(|(&xi, a)| ((4.0 * xi - 2.0).abs() + a) / (1.0 + a)).product()
}

/// Analytic (S1, ST) of the g function.
fn g_indices() -> Vec<(f64, f64)> {
    let vi: Vec<f64> = G_A.iter().map(|a| 1.0 / (3.0 * (1.0 + a).powi(2))).collect();
    let v = vi.iter().map(|x| 1.0 + x).product::<f64>() - 1.0;
    (0..vi.len())
        .map(|i| {
            let others: f64 = vi.iter().enumerate().filter(|&(j, _)| j != i).map(|(_, x)| 1.0 + x).product();
            (vi[i] / v, vi[i] * others / v)
        })
        .collect()
}

/// Run `f` on every point and estimate the indices.
fn indices(plan: &Plan, f: fn(&[f64]) -> f64) -> (Design, Sensitivity) {
    let design = plan.design_points().unwrap();
    let y: Vec<f64> = design.points.iter().map(|p| f(&floats(p))).collect();
    let s = analyse(&design, &plan.factor_keys(), "y", &y, &Bootstrap::default()).unwrap();
    (design, s)
}

/// Largest |estimate - analytic| over S1 and ST, and how many of the
/// analytic values lie inside their bootstrap interval.
fn compare(s: &Sensitivity, exact: &[(f64, f64)]) -> (f64, usize) {
    assert_eq!(s.rows.len(), 2 * exact.len());
    let mut worst: f64 = 0.0;
    let mut inside = 0;
    for (i, &(s1, st)) in exact.iter().enumerate() {
        for (row, want) in s.rows[2 * i..2 * i + 2].iter().zip([s1, st]) {
            assert!(row.lo <= row.value && row.value <= row.hi, "{row:?}");
            worst = worst.max((row.value - want).abs());
            inside += usize::from(row.lo <= want && want <= row.hi);
        }
    }
    (worst, inside)
}

#[test]
fn analytic_indices_match_the_published_values() {
    let ish = ishigami_indices();
    let published = [(0.3139, 0.5576), (0.4424, 0.4424), (0.0, 0.2437)];
    for (got, want) in ish.iter().zip(published) {
        assert!((got.0 - want.0).abs() < 1e-4 && (got.1 - want.1).abs() < 1e-4, "{got:?} vs {want:?}");
    }
    // The g function's: S1 <= ST, the factors ordered by a, x5..x8 alike.
    let g = g_indices();
    assert!(g.iter().all(|&(s1, st)| s1 <= st && st <= 1.0));
    assert!(g.windows(2).all(|w| w[0].0 >= w[1].0));
    assert!(g[4..].iter().all(|x| *x == g[4]));
}

/// Saltelli 2010 (S1) and Jansen (ST) on the Ishigami function, N = 8192.
#[test]
fn sobol_indices_of_ishigami() {
    let plan = unit_plan("sobol", 8192, 3, -PI, PI, "");
    let (design, s) = indices(&plan, ishigami);
    assert_eq!(design.points.len(), 8192 * 5);
    assert_eq!((s.used, s.skipped), (8192, 0));
    assert!(s.notes.is_empty(), "{:?}", s.notes);
    let (worst, inside) = compare(&s, &ishigami_indices());
    assert!(worst < 0.01, "largest error {worst}");
    assert!(inside >= 5, "{inside} of 6 analytic values inside their interval");
    assert_eq!(s.rows.iter().map(|r| r.index).collect::<Vec<_>>(), ["S1", "ST", "S1", "ST", "S1", "ST"]);
    assert_eq!(s.rows[4].factor, "x3");
}

/// A constant added to the output changes no index: S1 centres the outputs,
/// so a metric with a large mean and a small spread (a Gini near 0.7 that
/// moves by 0.03) is estimated as well as one centred on 0.
#[test]
fn sobol_indices_do_not_depend_on_the_output_mean() {
    let plan = unit_plan("sobol", 1024, 3, -PI, PI, "");
    let design = plan.design_points().unwrap();
    let y: Vec<f64> = design.points.iter().map(|p| ishigami(&floats(p))).collect();
    let shifted: Vec<f64> = y.iter().map(|v| v + 1e4).collect();
    let b = Bootstrap { resamples: 200, seed: 3 };
    let a = analyse(&design, &plan.factor_keys(), "y", &y, &b).unwrap();
    let s = analyse(&design, &plan.factor_keys(), "y", &shifted, &b).unwrap();
    assert_eq!(a.rows.len(), 6);
    for (x, z) in a.rows.iter().zip(&s.rows) {
        assert!((x.value - z.value).abs() < 1e-6, "{x:?} {z:?}");
        assert!((x.lo - z.lo).abs() < 1e-6 && (x.hi - z.hi).abs() < 1e-6, "{x:?} {z:?}");
    }
}

/// The same on the Sobol g function, 8 factors, N = 8192.
#[test]
fn sobol_indices_of_the_g_function() {
    let plan = unit_plan("sobol", 8192, 8, 0.0, 1.0, "");
    let (_, s) = indices(&plan, g_function);
    let (worst, inside) = compare(&s, &g_indices());
    assert!(worst < 0.01, "largest error {worst}");
    assert!(inside >= 15, "{inside} of 16 analytic values inside their interval");
}

/// Morris on the g function ranks the factors by importance: mu* of x1 >
/// x2 > x3 > x4 > each of x5..x8 (a = 0, 1, 4.5, 9, then 99).
#[test]
fn morris_ranks_the_g_function_factors() {
    let plan = unit_plan("morris", 100, 8, 0.0, 1.0, "");
    let (design, s) = indices(&plan, g_function);
    assert_eq!(design.points.len(), 100 * 9);
    let mu_star: Vec<f64> = s.rows.iter().filter(|r| r.index == "mu_star").map(|r| r.value).collect();
    assert_eq!(mu_star.len(), 8);
    for i in 0..3 {
        assert!(mu_star[i] > mu_star[i + 1], "{mu_star:?}");
    }
    assert!(mu_star[4..].iter().all(|&m| m < mu_star[3]), "{mu_star:?}");
    // The unimportant factors' intervals lie below the important ones'.
    let rows: Vec<&SensitivityRow> = s.rows.iter().filter(|r| r.index == "mu_star").collect();
    assert!(rows[4..].iter().all(|r| r.hi < rows[1].lo), "{rows:?}");
    for r in &s.rows {
        assert!(r.lo <= r.value && r.value <= r.hi && r.value.is_finite(), "{r:?}");
    }
    assert_eq!(s.rows.len(), 8 * 3);
}

/// Elementary effects are per unit range: a linear function of slope c per
/// unit of its range has mu = mu* = c and sigma = 0, whatever the bounds.
#[test]
fn morris_effects_are_per_unit_range() {
    let plan = unit_plan("morris", 10, 2, 5.0, 25.0, "morris_levels = 6");
    let design = plan.design_points().unwrap();
    // y = 3 (x1 - 5) / 20 - 2 (x2 - 5) / 20.
    let y: Vec<f64> = design.points.iter().map(|p| (3.0 * floats(p)[0] - 2.0 * floats(p)[1] - 5.0) / 20.0).collect();
    let s = analyse(&design, &plan.factor_keys(), "y", &y, &Bootstrap::default()).unwrap();
    let get = |f: &str, i: &str| s.rows.iter().find(|r| r.factor == f && r.index == i).unwrap().value;
    assert!((get("x1", "mu") - 3.0).abs() < 1e-9 && (get("x1", "mu_star") - 3.0).abs() < 1e-9);
    assert!((get("x2", "mu") + 2.0).abs() < 1e-9 && (get("x2", "mu_star") - 2.0).abs() < 1e-9);
    assert!(get("x1", "sigma") < 1e-9);
}

#[test]
fn undefined_outputs_drop_their_rows() {
    let plan = unit_plan("sobol", 256, 3, -PI, PI, "");
    let design = plan.design_points().unwrap();
    let mut y: Vec<f64> = design.points.iter().map(|p| ishigami(&floats(p))).collect();
    let keys = plan.factor_keys();
    // Rows 3 (in A), 10 (in B) and 20 (in AB_2) become undefined.
    y[3] = f64::NAN;
    y[256 + 10] = f64::INFINITY;
    y[4 * 256 + 20] = f64::NAN;
    let s = analyse(&design, &keys, "y", &y, &Bootstrap { resamples: 200, seed: 3 }).unwrap();
    assert_eq!((s.used, s.skipped), (253, 3));
    assert_eq!(s.rows.len(), 6);
    assert!(s.rows.iter().all(|r| r.value.is_finite() && r.lo.is_finite() && r.hi.is_finite()));
    assert!(s.notes[0].contains("3 of 256 Saltelli rows skipped"), "{:?}", s.notes);
    // All undefined: no rows, a note.
    let s = analyse(&design, &keys, "y", &vec![f64::NAN; y.len()], &Bootstrap::default()).unwrap();
    assert!(s.rows.is_empty() && s.skipped == 256 && !s.notes.is_empty());
    // Huge outputs do not overflow: the same indices as the outputs / 1e300.
    let huge: Vec<f64> = y.iter().map(|v| if v.is_finite() { v * 1e300 } else { *v }).collect();
    let h = analyse(&design, &keys, "y", &huge, &Bootstrap { resamples: 200, seed: 3 }).unwrap();
    let small = analyse(&design, &keys, "y", &y, &Bootstrap { resamples: 200, seed: 3 }).unwrap();
    for (a, b) in h.rows.iter().zip(&small.rows) {
        assert!((a.value - b.value).abs() < 1e-9 && (a.lo - b.lo).abs() < 1e-9, "{a:?} {b:?}");
    }
    // Constant: no rows, a note.
    let s = analyse(&design, &keys, "y", &vec![2.5; y.len()], &Bootstrap::default()).unwrap();
    assert!(s.rows.is_empty() && s.notes[0].contains("does not vary"), "{:?}", s.notes);

    let plan = unit_plan("morris", 20, 3, 0.0, 1.0, "");
    let design = plan.design_points().unwrap();
    let mut y: Vec<f64> = design.points.iter().map(|p| floats(p).iter().sum()).collect();
    y[5] = f64::NAN; // trajectory 1 (points 4..8)
    let s = analyse(&design, &plan.factor_keys(), "y", &y, &Bootstrap::default()).unwrap();
    assert_eq!((s.used, s.skipped), (19, 1));
    assert_eq!(s.rows.len(), 9);
    assert!(s.rows.iter().all(|r| r.value.is_finite() && r.lo.is_finite() && r.hi.is_finite()));
}

#[test]
fn estimators_refuse_outputs_that_do_not_match() {
    let plan = unit_plan("sobol", 16, 2, 0.0, 1.0, "");
    let design = plan.design_points().unwrap();
    let keys = plan.factor_keys();
    let b = Bootstrap::default();
    assert!(matches!(analyse(&design, &keys, "y", &[1.0; 10], &b), Err(SensitivityError::Outputs { got: 10, .. })));
    let y = vec![1.0; design.points.len()];
    assert!(matches!(analyse(&design, &keys[..1], "y", &y, &b), Err(SensitivityError::Factors { .. })));
    let zero = Bootstrap { resamples: 0, seed: 1 };
    assert_eq!(analyse(&design, &keys, "y", &y, &zero), Err(SensitivityError::Resamples(0)));
    // A design without estimator: no rows, a note.
    let lhs = unit_plan("lhs", 10, 2, 0.0, 1.0, "").design_points().unwrap();
    let s = analyse(&lhs, &keys, "y", &[1.0; 10], &b).unwrap();
    assert!(s.rows.is_empty() && s.notes.len() == 1);
}

#[test]
fn bootstrap_is_deterministic_from_its_seed() {
    let plan = unit_plan("sobol", 128, 3, -PI, PI, "");
    let design = plan.design_points().unwrap();
    let y: Vec<f64> = design.points.iter().map(|p| ishigami(&floats(p))).collect();
    let keys = plan.factor_keys();
    let a = analyse(&design, &keys, "y", &y, &Bootstrap { resamples: 300, seed: 5 }).unwrap();
    let b = analyse(&design, &keys, "y", &y, &Bootstrap { resamples: 300, seed: 5 }).unwrap();
    let c = analyse(&design, &keys, "y", &y, &Bootstrap { resamples: 300, seed: 6 }).unwrap();
    assert_eq!(a, b);
    assert_ne!(a.rows[0].lo, c.rows[0].lo);
    assert_eq!(a.rows[0].value, c.rows[0].value);
}

#[test]
fn csv_round_trips_the_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out/sensitivity.csv");
    let rows = vec![
        SensitivityRow {
            factor: "a.b[0].c".into(),
            metric: "m,1".into(),
            index: "S1",
            value: 0.1 + 0.2,
            lo: -1e-300,
            hi: 1.0 / 3.0,
        },
        SensitivityRow { factor: "x".into(), metric: "m".into(), index: "mu_star", value: 2.0, lo: 1.5, hi: 2.5 },
    ];
    write_csv(&path, &rows).unwrap();
    let mut r = csv::Reader::from_path(&path).unwrap();
    assert_eq!(r.headers().unwrap(), vec!["factor", "metric", "index", "value", "lo", "hi"]);
    let back: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(back.len(), 2);
    assert_eq!(&back[0][1], "m,1");
    assert_eq!(back[0][3].parse::<f64>().unwrap(), 0.1 + 0.2);
    assert_eq!(back[0][4].parse::<f64>().unwrap(), -1e-300);
    assert_eq!(back[0][5].parse::<f64>().unwrap(), 1.0 / 3.0);
    assert_eq!(std::fs::read_dir(dir.path().join("out")).unwrap().count(), 1, "a temporary file was left");
}

// ------------------------------------------------------------------ plans

const EXAMPLE: &str = r#"
design = "lhs"
points = 200
seeds = 10
seed = 1
metrics = ["scenarios.undersupplied.dc_home.cost_per_useful_hour"]
adaptive = { max_seeds = 40, rel_half_width = 0.05 }
[factors]
"home.cancel_threshold" = { min = 1.0, max = 3.0 }
"market.undersupplied.dcs" = { levels = [5, 10, 20] }
"trust.k_payment" = { min = 0.01, max = 0.5, scale = "log" }
"consumers" = { min = 10, max = 40, integer = true }
"consumer_groups[0].checkpoint_hours" = { levels = ["a", true, 1.5] }
"#;

#[test]
fn the_example_plan_parses_in_file_order() {
    let plan = parse(EXAMPLE).unwrap();
    assert_eq!(plan.design(), DesignKind::Lhs);
    assert_eq!(plan.points(), Some(200));
    assert_eq!(plan.point_count(), 200);
    assert_eq!(plan.seeds(), Some(10));
    assert_eq!(plan.adaptive(), Some(Adaptive { max_seeds: 40, target: Target::Relative(0.05) }));
    assert_eq!(
        plan.factor_keys(),
        [
            "home.cancel_threshold",
            "market.undersupplied.dcs",
            "trust.k_payment",
            "consumers",
            "consumer_groups[0].checkpoint_hours"
        ]
    );
    let design = plan.design_points().unwrap();
    assert_eq!(design.points.len(), 200);
    assert_eq!(design.layout, Layout::Lhs);
    for p in &design.points {
        let v = &p.values;
        let x = v[0].as_float().unwrap();
        assert!((1.0..=3.0).contains(&x));
        assert!([5, 10, 20].contains(&v[1].as_integer().unwrap()));
        let k = v[2].as_float().unwrap();
        assert!((0.01..=0.5).contains(&k));
        assert!((10..=40).contains(&v[3].as_integer().unwrap()));
        let args = plan.set_args(p);
        assert_eq!(args.len(), 5);
        assert!(args[0].starts_with("home.cancel_threshold="));
        for (arg, val) in args.iter().zip(v) {
            assert_eq!(&parse_set_value(arg.split_once('=').unwrap().1), val, "{arg}");
        }
    }
    // Each of the 31 integers 10..=40 is drawn 200/31 times, give or take one stratum.
    let mut count = [0usize; 31];
    for p in &design.points {
        count[(p.values[3].as_integer().unwrap() - 10) as usize] += 1;
    }
    assert!(count.iter().all(|&c| (5..=8).contains(&c)), "{count:?}");
    // The log factor: half of the points below the geometric mean.
    let gm = (0.01f64 * 0.5).sqrt();
    assert_eq!(design.points.iter().filter(|p| p.values[2].as_float().unwrap() < gm).count(), 100);
}

#[test]
fn designs_are_deterministic_from_the_plan() {
    for design in ["lhs", "sobol", "morris"] {
        let text = |seed: u64| {
            format!(
                "design = \"{design}\"\npoints = 20\nseed = {seed}\nmetrics = [\"m\"]\n[factors]\na = {{ min = 0, max = 1 }}\nb = {{ levels = [\"x\", \"y\"] }}\n"
            )
        };
        let a = parse(&text(4)).unwrap().design_points().unwrap();
        assert_eq!(a, parse(&text(4)).unwrap().design_points().unwrap(), "{design}");
        assert_ne!(a, parse(&text(5)).unwrap().design_points().unwrap(), "{design}");
    }
    let grid = "design = \"factorial\"\n[factors]\na = { min = 0, max = 1, steps = 3 }\n";
    assert_eq!(parse(grid).unwrap().design_points().unwrap(), parse(grid).unwrap().design_points().unwrap());
}

#[test]
fn factorial_plans_cover_their_grid_once() {
    let plan = parse(
        r#"design = "factorial"
[factors]
b = { levels = ["x", "y"] }
a = { min = 1, max = 100, steps = 3, scale = "log" }
n = { min = 1, max = 3, integer = true, steps = 5 }
"#,
    )
    .unwrap();
    assert_eq!(plan.point_count(), 2 * 3 * 3);
    let d = plan.design_points().unwrap();
    assert_eq!(d.layout, Layout::Factorial { dims: vec![2, 3, 3] });
    let mut seen: Vec<String> = d.points.iter().map(|p| plan.set_args(p).join(" ")).collect();
    assert_eq!(seen[0], "b=\"x\" a=1.0 n=1");
    assert_eq!(seen[1], "b=\"x\" a=1.0 n=2");
    assert_eq!(seen[3], "b=\"x\" a=10.000000000000002 n=1");
    assert_eq!(seen[17], "b=\"y\" a=100.0 n=3");
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 18);
    assert_eq!(plan.factors()[2].grid().iter().map(|g| g.1.as_integer().unwrap()).collect::<Vec<_>>(), [1, 2, 3]);
}

#[test]
fn sobol_and_morris_plans_have_their_layouts() {
    let plan = unit_plan("sobol", 10, 3, 0.0, 1.0, "");
    assert_eq!(plan.point_count(), 50);
    assert_eq!(plan.design_points().unwrap().layout, Layout::Saltelli { n: 10, k: 3 });
    let plan = unit_plan("morris", 10, 3, 0.0, 1.0, "");
    assert_eq!(plan.morris_levels(), 4);
    assert_eq!(plan.point_count(), 40);
    let Layout::Morris { r: 10, k: 3, steps } = plan.design_points().unwrap().layout else { panic!() };
    assert_eq!(steps.len(), 30);
    assert!(steps.iter().all(|s| (s.delta.abs() - 2.0 / 3.0).abs() < 1e-15));
}

#[test]
fn values_map_from_the_unit_interval() {
    let plan = parse(
        r#"design = "lhs"
points = 1
[factors]
lin = { min = -2, max = 2 }
log = { min = 0.001, max = 1000, scale = "log" }
int = { min = 0.5, max = 3.5, integer = true }
ilog = { min = 1, max = 1000, integer = true, scale = "log" }
lev = { levels = ["a", "b", "c"] }
"#,
    )
    .unwrap();
    let f = plan.factors();
    let at = |i: usize, u: f64| f[i].value_at(u);
    use toml::Value::{Float, Integer, String as S};
    assert_eq!((at(0, 0.0), at(0, 0.5), at(0, 1.0)), (Float(-2.0), Float(0.0), Float(2.0)));
    assert_eq!((at(1, 0.0), at(1, 1.0)), (Float(0.001), Float(1000.0)));
    assert!((at(1, 0.5).as_float().unwrap() - 1.0).abs() < 1e-12);
    // Integers 1, 2, 3 share [0, 1) equally.
    assert_eq!([0.0, 0.33, 0.34, 0.66, 0.67, 0.999, 1.0].map(|u| at(2, u)), [1, 1, 2, 2, 3, 3, 3].map(Integer));
    assert_eq!([0.0, 1.0 / 3.0 + 1e-9, 1.0].map(|u| at(3, u)), [1, 10, 1000].map(Integer));
    assert_eq!([0.0, 0.34, 0.99, 1.0].map(|u| at(4, u)), ["a", "b", "c", "c"].map(|s| S(s.into())));
    // Out of range and NaN clamp.
    assert_eq!((at(0, -1.0), at(0, 2.0), at(0, f64::NAN)), (Float(-2.0), Float(2.0), Float(-2.0)));
    // Bounds at the ends of f64 do not overflow.
    let wide = parse("design = \"lhs\"\npoints = 1\n[factors]\nw = { min = -1.7e308, max = 1.7e308 }\n").unwrap();
    let mid = wide.factors()[0].value_at(0.5).as_float().unwrap();
    assert!(mid.is_finite() && mid.abs() < 1e300);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// `--set` reads back exactly the value a factor gives.
    #[test]
    fn set_args_round_trip(x in any::<f64>().prop_filter("finite", |x| x.is_finite()), i in any::<i64>(), s in ".*") {
        let plan = parse("design = \"lhs\"\npoints = 1\n[factors]\n\"a.b[2].c\" = { min = 0, max = 1 }\n").unwrap();
        let f = &plan.factors()[0];
        for v in [toml::Value::Float(x), toml::Value::Integer(i), toml::Value::String(s.clone()), toml::Value::Boolean(true)] {
            let arg = f.set_arg(&v);
            let (key, raw) = arg.split_once('=').unwrap();
            prop_assert_eq!(key, "a.b[2].c");
            prop_assert_eq!(parse_set_value(raw.trim()), v);
        }
    }
}

#[test]
fn set_args_apply_to_a_scenario() {
    let mut t: toml::Table = "home = { x = 1.0 }\ngroups = [{ h = 1 }, { h = 2 }]".parse().unwrap();
    let plan = parse("design = \"lhs\"\npoints = 3\n[factors]\n\"home.x\" = { min = 0, max = 1 }\n\"groups[1].h\" = { levels = [\"q\\\"\\n\"] }\n").unwrap();
    let d = plan.design_points().unwrap();
    for arg in plan.set_args(&d.points[0]) {
        crate::study::scenario::apply_set(&mut t, &arg).unwrap();
    }
    assert_eq!(t["home"]["x"], d.points[0].values[0]);
    assert_eq!(t["groups"][1]["h"].as_str(), Some("q\"\n"));
}

/// Each bad plan gets an error naming the file and the key.
#[test]
fn hostile_plans_are_refused_by_key() {
    let base = |design: &str, points: &str, factors: &str| {
        format!("design = \"{design}\"\n{points}\nmetrics = [\"m\"]\n[factors]\n{factors}\n")
    };
    let lhs = |f: &str| base("lhs", "points = 10", f);
    let cases: Vec<(String, &str)> = vec![
        (base("grid", "points = 1", "a = { min = 0, max = 1 }"), "key `design`"),
        (lhs("a = { min = 1, max = 1 }"), "key `factors.a`: `min` = 1 must be below `max` = 1"),
        (lhs("a = { min = 2, max = 1 }"), "key `factors.a`"),
        (lhs("a = { min = 0, max = 1, scale = \"log\" }"), "key `factors.a.scale`"),
        (lhs("a = { min = -1, max = 1, scale = \"log\" }"), "needs `min` above 0"),
        (lhs("a = { min = 0, max = 1, scale = \"ln\" }"), "key `factors.a.scale`"),
        (lhs("a = { levels = [] }"), "key `factors.a.levels` is empty"),
        (lhs("a = { levels = [1, 1] }"), "key `factors.a.levels[1]`"),
        (lhs("a = { levels = [nan] }"), "key `factors.a.levels[0]` = NaN"),
        (lhs("a = { levels = [[1]] }"), "key `factors.a.levels[0]` is a array"),
        (lhs("a = { levels = [{ x = 1 }] }"), "key `factors.a.levels[0]`"),
        (lhs("a = { levels = [1], min = 0 }"), "key `factors.a`: give either"),
        (lhs("a = { min = 0.2, max = 0.8, integer = true }"), "key `factors.a`: no integer"),
        (lhs("a = { min = 0, max = 1e300, integer = true }"), "key `factors.a`: an integer range"),
        (lhs("a = { min = nan, max = 1 }"), "key `factors.a.min` = NaN"),
        (lhs("a = { min = 0, max = inf }"), "key `factors.a.max` = inf"),
        (lhs("a = { min = 0 }"), "key `factors.a`: give `min` and `max`"),
        (lhs("a = { max = 0 }"), "`min` is missing"),
        (lhs("a = { min = 0, max = 1, steps = 3 }"), "key `factors.a.steps` is only for design = \"factorial\""),
        (lhs("\"a..b\" = { min = 0, max = 1 }"), "key `factors.\"a..b\"`: the scenario key has an empty part"),
        (lhs("\"a b\" = { min = 0, max = 1 }"), "key `factors.\"a b\"`"),
        (lhs("\"a[x]\" = { min = 0, max = 1 }"), "key `factors.\"a[x]\"`"),
        (lhs("\"a=1\" = { min = 0, max = 1 }"), "key `factors.\"a=1\"`"),
        (lhs("\"a[99999999999999999999999]\" = { min = 0, max = 1 }"), "too large"),
        (lhs("\"a[0]\" = { min = 0, max = 1 }\n\"a[00]\" = { min = 0, max = 1 }"), "names the same scenario key as factor `a[0]`"),
        (lhs("a = { min = 0, max = 1 }\n\"a.b\" = { min = 0, max = 1 }"), "key `factors.\"a.b\"` names a key inside the key of factor `a`"),
        (lhs("\"a.b\" = { min = 0, max = 1 }\na = { min = 0, max = 1 }"), "key `factors.a` names a key that holds the key of factor `a.b`"),
        (lhs(""), "key `factors`: no factors"),
        (base("lhs", "points = 0", "a = { min = 0, max = 1 }"), "key `points` = 0"),
        (base("lhs", "points = -3", "a = { min = 0, max = 1 }"), "key `points` = -3"),
        (base("lhs", "", "a = { min = 0, max = 1 }"), "key `points` is missing"),
        (base("lhs", "points = 2000000", "a = { min = 0, max = 1 }"), "key `points` = 2000000"),
        (base("sobol", "points = 1", "a = { min = 0, max = 1 }"), "key `points` = 1"),
        (base("sobol", "points = 70000", "a = { min = 0, max = 1 }"), "key `points` = 70000"),
        (base("morris", "points = 1000000", "a = { min = 0, max = 1 }"), "1000000 x 2"),
        (base("lhs", "points = 1000000", &(0..8).map(|i| format!("a{i} = {{ min = 0, max = 1 }}\n")).collect::<String>()), "at most 4000000 values"),
        (base("factorial", "points = 5", "a = { levels = [1] }"), "key `points` is not used"),
        (base("factorial", "", "a = { min = 0, max = 1 }"), "key `factors.a`: design \"factorial\" needs a finite grid"),
        (base("factorial", "", "a = { min = 0, max = 1, steps = 1 }"), "key `factors.a.steps` = 1"),
        (
            base("factorial", "", &(0..7).map(|i| format!("a{i} = {{ min = 0, max = 1, steps = 10 }}\n")).collect::<String>()),
            "more than 1000000 points: 10 x 10 x 10",
        ),
        (
            base("factorial", "", &(0..64).map(|i| format!("a{i} = {{ min = 0, max = 1, steps = 1000000 }}\n")).collect::<String>()),
            "more than 1000000 points",
        ),
        (base("morris", "points = 4\nmorris_levels = 3", "a = { min = 0, max = 1 }"), "key `morris_levels` = 3: must be even"),
        (base("morris", "points = 4\nmorris_levels = 0", "a = { min = 0, max = 1 }"), "key `morris_levels` = 0"),
        (base("lhs", "points = 4\nmorris_levels = 4", "a = { min = 0, max = 1 }"), "key `morris_levels` is only for"),
        (base("lhs", "points = 4\nseeds = 0", "a = { min = 0, max = 1 }"), "key `seeds` = 0"),
        (base("lhs", "points = 4\nseed = -1", "a = { min = 0, max = 1 }"), "key `seed` = -1"),
        (base("lhs", "points = 4\nadaptive = { max_seeds = 10 }", "a = { min = 0, max = 1 }"), "key `adaptive`: give exactly one"),
        (
            base("lhs", "points = 4\nadaptive = { max_seeds = 10, half_width = 1, rel_half_width = 0.1 }", "a = { min = 0, max = 1 }"),
            "key `adaptive`: give exactly one",
        ),
        (base("lhs", "points = 4\nadaptive = { max_seeds = 10, half_width = -1 }", "a = { min = 0, max = 1 }"), "key `adaptive.half_width` = -1"),
        (base("lhs", "points = 4\nadaptive = { max_seeds = 10, half_width = nan }", "a = { min = 0, max = 1 }"), "key `adaptive.half_width` = NaN"),
        (base("lhs", "points = 4\nadaptive = { max_seeds = 1, half_width = 1 }", "a = { min = 0, max = 1 }"), "key `adaptive.max_seeds` = 1"),
        (base("lhs", "points = 4\nseeds = 20\nadaptive = { max_seeds = 10, half_width = 1 }", "a = { min = 0, max = 1 }"), "below key `seeds` = 20"),
        ("design = \"sobol\"\npoints = 4\n[factors]\na = { min = 0, max = 1 }\n".into(), "key `metrics` is missing"),
        ("design = \"lhs\"\npoints = 4\nadaptive = { max_seeds = 10, half_width = 1 }\n[factors]\na = { min = 0, max = 1 }\n".into(), "key `adaptive` needs key `metrics`"),
        ("design = \"lhs\"\npoints = 4\nmetrics = [\"m\", \"m\"]\n[factors]\na = { min = 0, max = 1 }\n".into(), "key `metrics[1]`"),
        ("design = \"lhs\"\npoints = 4\nmetrics = [\" \"]\n[factors]\na = { min = 0, max = 1 }\n".into(), "key `metrics[0]` is empty"),
        (lhs("home.cancel_threshold = { min = 1, max = 3 }"), "key `factors.home`: `home.cancel_threshold` without quotes"),
        // The parser's own messages show the line of the key.
        (lhs("a = { min = 0, max = 1, step = 3 }"), "unknown field `step`"),
        (lhs("a = 3"), "a table such as"),
        (lhs("a = { min = \"0\", max = 1 }"), "min = \"0\""),
        ("design = \"lhs\"\npoints = 2.5\n[factors]\na = { min = 0, max = 1 }\n".into(), "points = 2.5"),
        ("desgn = \"lhs\"\n".into(), "unknown field `desgn`"),
        ("points = 3\n".into(), "missing field `design`"),
        ("design = \"lhs\"\npoints = 3\n[factors\n".into(), "plans/p.toml"),
    ];
    for (text, want) in &cases {
        let e = err(text);
        assert!(e.starts_with("plans/p.toml: "), "{e}");
        assert!(e.contains(want), "expected `{want}` in:\n{e}\nfor:\n{text}");
    }
    // The cap on factors.
    let many = (0..=MAX_FACTORS).map(|i| format!("a{i} = {{ min = 0, max = 1 }}\n")).collect::<String>();
    assert!(err(&lhs(&many)).contains(&format!("at most {MAX_FACTORS}")));
    assert_eq!(MAX_POINTS, 1_000_000);
}

#[test]
fn load_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.toml");
    assert!(matches!(Plan::load(&missing), Err(PlanError::Io { .. })));
    assert!(Plan::load(dir.path()).unwrap_err().to_string().contains("is a folder"));
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, [0xffu8, 0xfe, b'\n']).unwrap();
    assert!(Plan::load(&bad).unwrap_err().to_string().contains("is not UTF-8"));
    let good = dir.path().join("good.toml");
    std::fs::write(&good, EXAMPLE).unwrap();
    assert_eq!(Plan::load(&good).unwrap().path(), good);
}

#[test]
fn adaptive_targets() {
    let rel = Target::Relative(0.05);
    assert!(rel.is_met(-10.0, 0.5) && !rel.is_met(10.0, 0.51));
    assert!(rel.is_met(0.0, 0.0) && !rel.is_met(0.0, 1e-12));
    assert!(!rel.is_met(f64::NAN, 0.1) && !rel.is_met(1.0, f64::NAN));
    let abs = Target::Absolute(0.1);
    assert!(abs.is_met(1e9, 0.1) && !abs.is_met(0.0, 0.11) && !abs.is_met(0.0, f64::NAN));
    let plan = parse("design = \"lhs\"\npoints = 2\nmetrics = [\"m\"]\nadaptive = { max_seeds = 9, half_width = 2 }\n[factors]\na = { min = 0, max = 1 }\n").unwrap();
    assert_eq!(plan.adaptive(), Some(Adaptive { max_seeds: 9, target: Target::Absolute(2.0) }));
}
