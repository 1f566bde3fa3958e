//! Sensitivity indices from a design's outputs: Sobol first-order and total
//! indices on a Saltelli design, Morris elementary-effect statistics on a
//! Morris design, each with a bootstrap percentile 95% interval. See
//! `docs/explore.md` for the formulas.
//!
//! Undefined outputs: a point whose metric is not finite (NaN or infinite)
//! drops its whole Saltelli row (A_j, B_j and every AB_i,j) or its whole
//! Morris trajectory; [`Sensitivity`] says how many were used and skipped,
//! and its notes say why rows are missing. No row holds a NaN.

use super::plan::{Design, Layout, MorrisStep};
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;
use std::path::Path;

/// The most bootstrap resamples.
pub const MAX_RESAMPLES: usize = 100_000;

/// How the intervals are computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bootstrap {
    /// The resamples (at least 1, at most [`MAX_RESAMPLES`]).
    pub resamples: usize,
    /// The seed of the resampling.
    pub seed: u64,
}

impl Default for Bootstrap {
    /// 1000 resamples, seed 1.
    fn default() -> Self {
        Bootstrap { resamples: 1000, seed: 1 }
    }
}

/// One index of one factor for one metric, with its 95% interval.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SensitivityRow {
    /// The factor's scenario key.
    pub factor: String,
    /// The metric.
    pub metric: String,
    /// `"S1"`, `"ST"` (Sobol) or `"mu_star"`, `"mu"`, `"sigma"` (Morris).
    pub index: &'static str,
    /// The estimate.
    pub value: f64,
    /// The 2.5% bootstrap percentile.
    pub lo: f64,
    /// The 97.5% bootstrap percentile.
    pub hi: f64,
}

/// The indices of one metric.
#[derive(Clone, Debug, PartialEq)]
pub struct Sensitivity {
    /// The rows, factor by factor in plan order (`S1`, `ST`; or `mu_star`,
    /// `mu`, `sigma`).
    pub rows: Vec<SensitivityRow>,
    /// Saltelli rows or Morris trajectories used.
    pub used: usize,
    /// Saltelli rows or Morris trajectories skipped for an undefined output.
    pub skipped: usize,
    /// Why rows are missing or intervals degenerate (empty when all is well).
    pub notes: Vec<String>,
}

/// A misuse of the estimators (outputs that do not match the design).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SensitivityError {
    /// The number of outputs is not the number of design points.
    #[error("metric `{metric}`: {got} outputs for a design of {expected} points")]
    Outputs {
        /// The metric.
        metric: String,
        /// The design's points.
        expected: usize,
        /// The outputs given.
        got: usize,
    },
    /// The number of factor names is not the design's.
    #[error("{got} factor names for a design of {expected} factors")]
    Factors {
        /// The design's factors.
        expected: usize,
        /// The names given.
        got: usize,
    },
    /// The bootstrap resamples are out of range.
    #[error("{0} bootstrap resamples: from 1 to {MAX_RESAMPLES}")]
    Resamples(usize),
    /// The design's layout is inconsistent (a hand-made design).
    #[error("the design's layout does not match its points")]
    Layout,
}

/// Whether a design has sensitivity estimators (Saltelli or Morris).
pub fn has_indices(layout: &Layout) -> bool {
    matches!(layout, Layout::Saltelli { .. } | Layout::Morris { .. })
}

/// The indices of one metric: `outputs[j]` is its value at design point `j`
/// (typically the mean over seeds; NaN where undefined). `factors` are the
/// factor keys in plan order. Sobol indices for a Saltelli layout, Morris
/// statistics for a Morris layout, no rows (and a note) for the others.
pub fn analyse(
    design: &Design,
    factors: &[String],
    metric: &str,
    outputs: &[f64],
    boot: &Bootstrap,
) -> Result<Sensitivity, SensitivityError> {
    if outputs.len() != design.points.len() {
        return Err(SensitivityError::Outputs {
            metric: metric.to_string(),
            expected: design.points.len(),
            got: outputs.len(),
        });
    }
    if boot.resamples == 0 || boot.resamples > MAX_RESAMPLES {
        return Err(SensitivityError::Resamples(boot.resamples));
    }
    match &design.layout {
        Layout::Saltelli { n, k } => sobol(*n, *k, factors, metric, outputs, boot),
        Layout::Morris { r, k, steps } => morris(*r, *k, steps, factors, metric, outputs, boot),
        Layout::Lhs | Layout::Factorial { .. } => Ok(Sensitivity {
            rows: Vec::new(),
            used: 0,
            skipped: 0,
            notes: vec![format!("metric `{metric}`: this design has no sensitivity estimator (use sobol or morris)")],
        }),
    }
}

/// The 2.5% and 97.5% percentiles of `xs` (sorted in place; linear
/// interpolation between order statistics).
/// One row per named estimate of `factor` (a non-finite one is left out),
/// each with the percentile interval of its bootstrap draws (`draws[j]` for
/// `named[j]`; the estimate itself when there are none).
fn push_rows(out: &mut Sensitivity, factor: &str, metric: &str, named: &[(&'static str, f64)], draws: &mut [Vec<f64>]) {
    for (&(index, value), draws) in named.iter().zip(draws) {
        if !value.is_finite() {
            continue;
        }
        let (lo, hi) = interval(draws).unwrap_or((value, value));
        out.rows.push(SensitivityRow { factor: factor.to_string(), metric: metric.to_string(), index, value, lo, hi });
    }
}

fn interval(xs: &mut [f64]) -> Option<(f64, f64)> {
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    let q = |p: f64| {
        let h = p * (xs.len() - 1) as f64;
        let (i, f) = (h.floor() as usize, h - h.floor());
        if i + 1 < xs.len() { xs[i] + f * (xs[i + 1] - xs[i]) } else { xs[i] }
    };
    Some((q(0.025), q(0.975)))
}

/// Sobol indices over the rows `rows` (indexes into `0..n`, repeats allowed):
/// `(S1, ST)` per factor, or `None` when the outputs have no variance.
fn sobol_estimate(n: usize, k: usize, y: &[f64], rows: &[usize]) -> Option<Vec<(f64, f64)>> {
    let m = rows.len() as f64;
    let mean = rows.iter().map(|&j| y[j] + y[n + j]).sum::<f64>() / (2.0 * m);
    let var = rows.iter().map(|&j| (y[j] - mean).powi(2) + (y[n + j] - mean).powi(2)).sum::<f64>() / (2.0 * m);
    // No variance, or only the rounding noise of a constant output.
    if var.is_nan() || var <= (1e3 * f64::EPSILON * mean).powi(2) {
        return None;
    }
    Some(
        (0..k)
            .map(|i| {
                let ab = &y[(2 + i) * n..(3 + i) * n];
                let (mut first, mut total) = (0.0, 0.0);
                for &j in rows {
                    let (a, b) = (y[j], y[n + j]);
                    // Centred: E[b - mean] = 0 leaves the expectation as it is
                    // (Saltelli 2010) and takes out the noise a large mean
                    // would add (as SALib centres its outputs).
                    first += (b - mean) * (ab[j] - a);
                    total += (a - ab[j]).powi(2);
                }
                (first / m / var, total / (2.0 * m) / var)
            })
            .collect(),
    )
}

fn sobol(
    n: usize,
    k: usize,
    factors: &[String],
    metric: &str,
    y: &[f64],
    boot: &Bootstrap,
) -> Result<Sensitivity, SensitivityError> {
    if factors.len() != k {
        return Err(SensitivityError::Factors { expected: k, got: factors.len() });
    }
    if y.len() != n * (k + 2) {
        return Err(SensitivityError::Layout);
    }
    let valid: Vec<usize> = (0..n).filter(|&j| (0..k + 2).all(|b| y[b * n + j].is_finite())).collect();
    let mut out = Sensitivity { rows: Vec::new(), used: valid.len(), skipped: n - valid.len(), notes: Vec::new() };
    if out.skipped > 0 {
        out.notes.push(format!(
            "metric `{metric}`: {} of {n} Saltelli rows skipped (the metric is undefined at one of their points)",
            out.skipped
        ));
    }
    if valid.len() < 2 {
        out.notes.push(format!("metric `{metric}`: fewer than 2 rows with a defined metric: no Sobol indices"));
        return Ok(out);
    }
    // The indices do not change with the outputs' scale: outputs scaled to
    // at most 1 in magnitude cannot overflow the sums of squares.
    let scale = valid.iter().flat_map(|&j| (0..k + 2).map(move |b| y[b * n + j].abs())).fold(0.0, f64::max);
    let scaled: Vec<f64>;
    let y = if scale > 0.0 {
        scaled = y.iter().map(|v| v / scale).collect();
        &scaled[..]
    } else {
        y
    };
    let Some(est) = sobol_estimate(n, k, y, &valid) else {
        out.notes.push(format!("metric `{metric}` does not vary over the design: no Sobol indices"));
        return Ok(out);
    };
    let mut rng = Pcg64Mcg::seed_from_u64(boot.seed);
    let mut draws: Vec<Vec<f64>> = vec![Vec::with_capacity(boot.resamples); 2 * k];
    let mut rows = vec![0usize; valid.len()];
    for _ in 0..boot.resamples {
        for r in rows.iter_mut() {
            *r = valid[rng.random_range(0..valid.len())];
        }
        if let Some(b) = sobol_estimate(n, k, y, &rows) {
            for (i, (s1, st)) in b.into_iter().enumerate() {
                draws[2 * i].push(s1);
                draws[2 * i + 1].push(st);
            }
        }
    }
    let degenerate = boot.resamples - draws[0].len();
    if degenerate > 0 {
        out.notes.push(format!(
            "metric `{metric}`: {degenerate} of {} bootstrap resamples had no variance and were left out of the intervals",
            boot.resamples
        ));
    }
    for (i, (s1, st)) in est.into_iter().enumerate() {
        push_rows(&mut out, &factors[i], metric, &[("S1", s1), ("ST", st)], &mut draws[2 * i..2 * i + 2]);
    }
    Ok(out)
}

/// `(mu*, mu, sigma)` per factor from the elementary effects `ee[t][i]` of
/// the trajectories `rows`; sigma is NaN with fewer than 2 trajectories.
fn morris_estimate(k: usize, ee: &[Vec<f64>], rows: &[usize]) -> Vec<(f64, f64, f64)> {
    let m = rows.len() as f64;
    (0..k)
        .map(|i| {
            let mu = rows.iter().map(|&t| ee[t][i]).sum::<f64>() / m;
            let mu_star = rows.iter().map(|&t| ee[t][i].abs()).sum::<f64>() / m;
            let sigma = if rows.len() < 2 {
                f64::NAN
            } else {
                (rows.iter().map(|&t| (ee[t][i] - mu).powi(2)).sum::<f64>() / (m - 1.0)).sqrt()
            };
            (mu_star, mu, sigma)
        })
        .collect()
}

fn morris(
    r: usize,
    k: usize,
    steps: &[MorrisStep],
    factors: &[String],
    metric: &str,
    y: &[f64],
    boot: &Bootstrap,
) -> Result<Sensitivity, SensitivityError> {
    if factors.len() != k {
        return Err(SensitivityError::Factors { expected: k, got: factors.len() });
    }
    if y.len() != r * (k + 1) || steps.len() != r * k {
        return Err(SensitivityError::Layout);
    }
    // Elementary effects, per unit range: EE = (y_after - y_before) / step.
    let mut ee = vec![vec![f64::NAN; k]; r];
    for (t, row) in ee.iter_mut().enumerate() {
        for j in 0..k {
            let s = steps[t * k + j];
            if s.factor >= k || !row[s.factor].is_nan() || s.delta == 0.0 || !s.delta.is_finite() {
                return Err(SensitivityError::Layout);
            }
            let base = t * (k + 1) + j;
            row[s.factor] = (y[base + 1] - y[base]) / s.delta;
        }
    }
    let valid: Vec<usize> =
        (0..r).filter(|&t| y[t * (k + 1)..(t + 1) * (k + 1)].iter().all(|v| v.is_finite())).collect();
    let mut out = Sensitivity { rows: Vec::new(), used: valid.len(), skipped: r - valid.len(), notes: Vec::new() };
    if out.skipped > 0 {
        out.notes.push(format!(
            "metric `{metric}`: {} of {r} Morris trajectories skipped (the metric is undefined at one of their points)",
            out.skipped
        ));
    }
    if valid.is_empty() {
        out.notes.push(format!("metric `{metric}`: no trajectory with a defined metric: no Morris statistics"));
        return Ok(out);
    }
    // An effect can overflow (huge outputs over a small step).
    if valid.iter().any(|&t| ee[t].iter().any(|e| !e.is_finite())) {
        out.notes.push(format!("metric `{metric}`: an elementary effect overflows: no Morris statistics"));
        return Ok(out);
    }
    if valid.len() < 2 {
        out.notes.push(format!("metric `{metric}`: one trajectory: no sigma"));
    }
    let est = morris_estimate(k, &ee, &valid);
    let mut rng = Pcg64Mcg::seed_from_u64(boot.seed);
    let mut draws: Vec<Vec<f64>> = vec![Vec::with_capacity(boot.resamples); 3 * k];
    let mut rows = vec![0usize; valid.len()];
    for _ in 0..boot.resamples {
        for t in rows.iter_mut() {
            *t = valid[rng.random_range(0..valid.len())];
        }
        for (i, (a, b, c)) in morris_estimate(k, &ee, &rows).into_iter().enumerate() {
            for (j, v) in [a, b, c].into_iter().enumerate() {
                if v.is_finite() {
                    draws[3 * i + j].push(v);
                }
            }
        }
    }
    for (i, (mu_star, mu, sigma)) in est.into_iter().enumerate() {
        let named = [("mu_star", mu_star), ("mu", mu), ("sigma", sigma)];
        push_rows(&mut out, &factors[i], metric, &named, &mut draws[3 * i..3 * i + 3]);
    }
    Ok(out)
}

/// Write rows as CSV (`factor,metric,index,value,lo,hi`; numbers in Rust's
/// shortest round-trip form) through a temporary file renamed over `path`.
pub fn write_csv(path: &Path, rows: &[SensitivityRow]) -> anyhow::Result<()> {
    use anyhow::Context;
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["factor", "metric", "index", "value", "lo", "hi"])?;
    for r in rows {
        w.write_record([
            r.factor.as_str(),
            r.metric.as_str(),
            r.index,
            &r.value.to_string(),
            &r.lo.to_string(),
            &r.hi.to_string(),
        ])?;
    }
    let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    crate::report::results::write_atomic(path, &bytes).with_context(|| format!("writing {}", path.display()))
}
