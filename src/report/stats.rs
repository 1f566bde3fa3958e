//! Small statistics helpers: means, Student-t and Wilson 95 % intervals,
//! Pearson correlation.
//!
//! **Intervals of quantities that cannot be negative.** A mean of values
//! that cannot be negative (a standard deviation, a count, an amount of
//! hours, a share) is itself at or above zero, yet its Student-t interval
//! `mean ± t·sd/√n` reaches below zero whenever the spread is large against
//! the mean (always likely with few seeds: t(1) = 12.7). For such a metric
//! ([`Support::NonNegative`]) the interval is the t interval intersected
//! with `[0, ∞)`, the set of values the mean can take. Intersecting with the
//! parameter space keeps the coverage exactly: the true mean always lies in
//! `[0, ∞)`, so it lies in the clipped interval exactly when it lies in the
//! t interval. It needs no random numbers, so results stay bit-identical,
//! and it changes only intervals that crossed zero. (A percentile bootstrap
//! would also stay at or above zero, but with the few seeds of a study it
//! covers far less than 95 %: with two seeds its interval is just the two
//! values.) A metric whose values are negative in some seed is not clipped,
//! whatever its flag says.

/// Two-sided 95 % normal quantile, `Φ⁻¹(0.975)`.
pub const Z95: f64 = 1.959_963_984_540_054;

/// Above this many degrees of freedom [`t_quantile_975`] switches from the
/// exact finite series to the Cornish-Fisher expansion (error far below 1e-12 there).
const T_EXACT_MAX_DF: u64 = 5_000;

/// Summary of one metric over seeds.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// Mean of the kept values (share of ones for binary metrics).
    pub mean: Option<f64>,
    /// 95 % confidence interval `[lo, hi]`.
    pub ci95: Option<[f64; 2]>,
    /// Number of finite values kept.
    pub n: usize,
}

/// The values a metric can take, which chooses its interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Support {
    /// Any real number: Student-t interval.
    #[default]
    Real,
    /// At or above zero: Student-t interval clipped at zero (see the module docs).
    NonNegative,
    /// 0 or 1 per seed: Wilson score interval of the share of ones.
    Binary,
}

/// Summarize per-seed values: `None` and non-finite values are dropped.
///
/// * `binary`: the metric is 0/1 per seed; a value counts as a one when it is
///   `>= 0.5`. Mean = share of ones, interval = Wilson score interval (z = 1.96).
/// * otherwise: mean ± t(0.975, n-1) · sd/√n; `[mean, mean]` when n < 2 or sd == 0.
pub fn summarize(values: &[Option<f64>], binary: bool) -> Summary {
    summarize_with(values, if binary { Support::Binary } else { Support::Real })
}

/// Summarize per-seed values of a metric with the given support (see
/// [`summarize`] and [`Support`]). For [`Support::NonNegative`], the lower
/// end of the interval is raised to zero when every kept value is at or
/// above zero.
pub fn summarize_with(values: &[Option<f64>], support: Support) -> Summary {
    let kept: Vec<f64> = values.iter().flatten().copied().filter(|v| v.is_finite()).collect();
    let n = kept.len();
    if n == 0 {
        return Summary { mean: None, ci95: None, n: 0 };
    }
    let binary = support == Support::Binary;
    if binary {
        let ones = kept.iter().filter(|&&v| v >= 0.5).count();
        return Summary { mean: Some(ones as f64 / n as f64), ci95: Some(wilson95(ones, n)), n };
    }
    let m = mean(&kept).expect("n > 0");
    let ci = match sample_sd(&kept) {
        Some(sd) if sd > 0.0 => {
            let half = t_quantile_975((n - 1) as u64) * sd / (n as f64).sqrt();
            [m - half, m + half]
        }
        _ => [m, m],
    };
    let ci =
        if support == Support::NonNegative && kept.iter().all(|&v| v >= 0.0) { [ci[0].max(0.0), ci[1]] } else { ci };
    Summary { mean: Some(m), ci95: Some(ci), n }
}

/// Arithmetic mean; `None` for an empty slice.
pub fn mean(xs: &[f64]) -> Option<f64> {
    if xs.is_empty() { None } else { Some(xs.iter().sum::<f64>() / xs.len() as f64) }
}

/// Sample standard deviation (denominator n-1); `None` if fewer than 2 values.
pub fn sample_sd(xs: &[f64]) -> Option<f64> {
    if xs.len() < 2 {
        return None;
    }
    let m = mean(xs)?;
    let ss: f64 = xs.iter().map(|x| (x - m) * (x - m)).sum();
    Some((ss / (xs.len() - 1) as f64).sqrt())
}

/// Means and centred sums of squares and products `(mx, my, sxx, syy, sxy)`;
/// `None` with fewer than 2 points or unequal lengths.
fn centred_sums(xs: &[f64], ys: &[f64]) -> Option<(f64, f64, f64, f64, f64)> {
    if xs.len() != ys.len() || xs.len() < 2 {
        return None;
    }
    let mx = mean(xs)?;
    let my = mean(ys)?;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in xs.iter().zip(ys) {
        let (dx, dy) = (x - mx, y - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    Some((mx, my, sxx, syy, sxy))
}

/// Pearson correlation; `None` with fewer than 2 points, unequal lengths or
/// zero variance in either variable.
pub fn pearson(xs: &[f64], ys: &[f64]) -> Option<f64> {
    let (_, _, sxx, syy, sxy) = centred_sums(xs, ys)?;
    if sxx <= 0.0 || syy <= 0.0 {
        return None;
    }
    let r = sxy / (sxx * syy).sqrt();
    r.is_finite().then(|| r.clamp(-1.0, 1.0))
}

/// Ordinary least-squares line `y = a + b·x` as `(a, b)`; `None` with fewer
/// than 2 points, unequal lengths, no spread in x or a non-finite result.
pub fn least_squares(xs: &[f64], ys: &[f64]) -> Option<(f64, f64)> {
    let (mx, my, sxx, _, sxy) = centred_sums(xs, ys)?;
    if sxx <= 0.0 {
        return None;
    }
    let b = sxy / sxx;
    let a = my - b * mx;
    (a.is_finite() && b.is_finite()).then_some((a, b))
}

/// Wilson score 95 % interval (z = 1.96) for `successes` out of `n`,
/// clamped to `[0, 1]`. Returns `[0, 1]` when `n == 0`.
pub fn wilson95(successes: usize, n: usize) -> [f64; 2] {
    if n == 0 {
        return [0.0, 1.0];
    }
    let n_f = n as f64;
    let p = successes.min(n) as f64 / n_f;
    let z2 = Z95 * Z95;
    let denom = 1.0 + z2 / n_f;
    let centre = (p + z2 / (2.0 * n_f)) / denom;
    let half = Z95 / denom * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt();
    let lo = if successes == 0 { 0.0 } else { (centre - half).max(0.0) };
    let hi = if successes >= n { 1.0 } else { (centre + half).min(1.0) };
    [lo, hi]
}

/// `A(t | ν) = P(|T| < t)` for Student t with integer ν >= 1, by the exact
/// finite series of Abramowitz & Stegun 26.7.3/26.7.4.
fn t_two_sided_mass(t: f64, df: u64) -> f64 {
    let theta = (t / (df as f64).sqrt()).atan();
    let (s, c) = theta.sin_cos();
    let c2 = c * c;
    if df % 2 == 1 {
        let mut sum = 0.0;
        if df > 1 {
            let mut term = c;
            sum = c;
            for k in 1..=(df - 3) / 2 {
                let k = k as f64;
                term *= c2 * (2.0 * k) / (2.0 * k + 1.0);
                sum += term;
            }
        }
        std::f64::consts::FRAC_2_PI * (theta + s * sum)
    } else {
        let mut term = 1.0;
        let mut sum = 1.0;
        for k in 1..=(df - 2) / 2 {
            let k = k as f64;
            term *= c2 * (2.0 * k - 1.0) / (2.0 * k);
            sum += term;
        }
        s * sum
    }
}

/// The 0.975 quantile of Student's t with `df` degrees of freedom
/// (accurate to well below 1e-9). `df == 0` is treated as `df == 1`.
pub fn t_quantile_975(df: u64) -> f64 {
    let df = df.max(1);
    match df {
        // tan(π/2 · 0.95)
        1 => (std::f64::consts::FRAC_PI_2 * 0.95).tan(),
        // A(t|2) = t / sqrt(2 + t²) = 0.95
        2 => (2.0 * 0.95f64.powi(2) / (1.0 - 0.95f64.powi(2))).sqrt(),
        _ if df <= T_EXACT_MAX_DF => {
            // The quantile lies in (z, t_1]; A is increasing in t: bisect.
            let (mut lo, mut hi) = (Z95, 12.8);
            for _ in 0..200 {
                let mid = 0.5 * (lo + hi);
                if mid <= lo || mid >= hi {
                    break;
                }
                if t_two_sided_mass(mid, df) < 0.95 {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            0.5 * (lo + hi)
        }
        _ => {
            // Cornish-Fisher expansion (A&S 26.7.5); remainder O(ν⁻⁵).
            let x = Z95;
            let v = df as f64;
            let x2 = x * x;
            let g1 = (x2 + 1.0) * x / 4.0;
            let g2 = ((5.0 * x2 + 16.0) * x2 + 3.0) * x / 96.0;
            let g3 = (((3.0 * x2 + 19.0) * x2 + 17.0) * x2 - 15.0) * x / 384.0;
            let g4 = ((((79.0 * x2 + 776.0) * x2 + 1482.0) * x2 - 1920.0) * x2 - 945.0) * x / 92160.0;
            x + g1 / v + g2 / (v * v) + g3 / (v * v * v) + g4 / (v * v * v * v)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn t_quantiles_match_tables() {
        let known = [
            (1, 12.706_204_736),
            (2, 4.302_652_730),
            (3, 3.182_446_305),
            (4, 2.776_445_105),
            (5, 2.570_581_836),
            (10, 2.228_138_852),
            (19, 2.093_024_054),
            (30, 2.042_272_456),
            (100, 1.983_971_519),
            (1000, 1.962_339_081),
        ];
        for (df, want) in known {
            let got = t_quantile_975(df);
            assert!(close(got, want, 1e-8), "df={df}: got {got}, want {want}");
        }
        assert!(close(t_quantile_975(u64::MAX), 1.959_963_985, 1e-9));
        assert!(close(t_quantile_975(10_000_000), Z95 + 2.3723e-7, 1e-10));
        // df = 0 is clamped to 1.
        assert_eq!(t_quantile_975(0), t_quantile_975(1));
    }

    #[test]
    fn t_quantile_monotone_and_continuous_at_switch() {
        let mut prev = f64::INFINITY;
        for df in 1..=200 {
            let t = t_quantile_975(df);
            assert!(t < prev, "not decreasing at df={df}");
            prev = t;
        }
        let exact = t_quantile_975(T_EXACT_MAX_DF);
        let series = t_quantile_975(T_EXACT_MAX_DF + 1);
        assert!(series < exact && exact - series < 1e-7);
        // Series and exact method agree on the exact side too.
        for df in [40u64, 200, 1000, T_EXACT_MAX_DF] {
            let v = df as f64;
            let x = Z95;
            let x2 = x * x;
            let approx = x
                + (x2 + 1.0) * x / 4.0 / v
                + ((5.0 * x2 + 16.0) * x2 + 3.0) * x / 96.0 / (v * v)
                + (((3.0 * x2 + 19.0) * x2 + 17.0) * x2 - 15.0) * x / 384.0 / (v * v * v);
            assert!(close(approx, t_quantile_975(df), 1e-6), "df={df}");
        }
    }

    #[test]
    fn two_sided_mass_endpoints() {
        assert!(close(t_two_sided_mass(12.706_204_736, 1), 0.95, 1e-10));
        assert!(close(t_two_sided_mass(2.570_581_836, 5), 0.95, 1e-9));
        assert!(close(t_two_sided_mass(2.228_138_852, 10), 0.95, 1e-9));
        assert_eq!(t_two_sided_mass(0.0, 7), 0.0);
    }

    #[test]
    fn wilson_values() {
        let [lo, hi] = wilson95(0, 10);
        assert_eq!(lo, 0.0);
        assert!(close(hi, 0.277_54, 1e-4), "{hi}");
        let [lo, hi] = wilson95(10, 10);
        assert!(close(lo, 0.722_46, 1e-4), "{lo}");
        assert_eq!(hi, 1.0);
        let [lo, hi] = wilson95(5, 10);
        assert!(close(lo, 0.236_59, 1e-4), "{lo}");
        assert!(close(hi, 0.763_41, 1e-4), "{hi}");
        assert!(close(lo + hi, 1.0, 1e-12));
        assert_eq!(wilson95(0, 0), [0.0, 1.0]);
    }

    #[test]
    fn summarize_empty_and_dropped() {
        let s = summarize(&[], false);
        assert_eq!(s, Summary { mean: None, ci95: None, n: 0 });
        let s = summarize(&[None, Some(f64::NAN), Some(f64::INFINITY)], false);
        assert_eq!(s, Summary { mean: None, ci95: None, n: 0 });
        let s = summarize(&[None, Some(f64::NAN), Some(1.0), Some(3.0)], false);
        assert_eq!(s.n, 2);
        assert_eq!(s.mean, Some(2.0));
        // sd = √2, t(1) = 12.706..., half = 12.706 * √2/√2
        let [lo, hi] = s.ci95.unwrap();
        assert!(close(hi - 2.0, 12.706_204_736, 1e-8));
        assert!(close(2.0 - lo, 12.706_204_736, 1e-8));
    }

    #[test]
    fn summarize_degenerate_spread() {
        let s = summarize(&[Some(0.3)], false);
        assert_eq!(s, Summary { mean: Some(0.3), ci95: Some([0.3, 0.3]), n: 1 });
        let s = summarize(&[Some(2.5), Some(2.5), Some(2.5)], false);
        assert_eq!(s, Summary { mean: Some(2.5), ci95: Some([2.5, 2.5]), n: 3 });
    }

    #[test]
    fn summarize_student_t() {
        let vals: Vec<Option<f64>> = [1.0, 2.0, 3.0, 4.0, 5.0].iter().map(|&v| Some(v)).collect();
        let s = summarize(&vals, false);
        let half = 2.776_445_105 * (2.5f64).sqrt() / 5f64.sqrt();
        let [lo, hi] = s.ci95.unwrap();
        assert!(close(lo, 3.0 - half, 1e-8) && close(hi, 3.0 + half, 1e-8));
    }

    #[test]
    fn non_negative_intervals_stop_at_zero() {
        let vals = [Some(0.5), Some(3.0)];
        let real = summarize(&vals, false);
        let nn = summarize_with(&vals, Support::NonNegative);
        assert!(real.ci95.unwrap()[0] < 0.0);
        assert_eq!(nn.mean, real.mean);
        assert_eq!(nn.ci95, Some([0.0, real.ci95.unwrap()[1]]));
        // An interval that does not reach zero is left alone.
        let tight = [Some(10.0), Some(10.5), Some(11.0)];
        assert_eq!(summarize_with(&tight, Support::NonNegative), summarize(&tight, false));
        // A negative value contradicts the flag: nothing is clipped.
        let neg = [Some(-0.5), Some(3.0)];
        assert_eq!(summarize_with(&neg, Support::NonNegative), summarize(&neg, false));
        assert_eq!(summarize_with(&[Some(1.0), Some(0.0)], Support::Binary), summarize(&[Some(1.0), Some(0.0)], true));
    }

    #[test]
    fn summarize_binary_uses_wilson() {
        // All zeros: zero spread, but Wilson still gives a real interval.
        let zeros = vec![Some(0.0); 10];
        let s = summarize(&zeros, true);
        assert_eq!(s.mean, Some(0.0));
        assert_eq!(s.ci95, Some(wilson95(0, 10)));
        let mixed = [Some(1.0), Some(0.0), None, Some(1.0), Some(f64::NAN), Some(1.0)];
        let s = summarize(&mixed, true);
        assert_eq!(s.n, 4);
        assert_eq!(s.mean, Some(0.75));
        assert_eq!(s.ci95, Some(wilson95(3, 4)));
        let one = summarize(&[Some(1.0)], true);
        assert_eq!(one.ci95, Some(wilson95(1, 1)));
        assert!(one.ci95.unwrap()[0] < 0.5);
    }

    #[test]
    fn mean_sd_pearson() {
        assert_eq!(mean(&[]), None);
        assert_eq!(mean(&[1.0, 2.0]), Some(1.5));
        assert_eq!(sample_sd(&[1.0]), None);
        assert!(close(sample_sd(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap(), 2.138_089_935, 1e-8));
        assert_eq!(pearson(&[1.0], &[2.0]), None);
        assert_eq!(pearson(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]), None);
        assert!(close(pearson(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.0]).unwrap(), 1.0, 1e-12));
        assert!(close(pearson(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]).unwrap(), -1.0, 1e-12));
        let r = pearson(&[1.0, 2.0, 3.0, 4.0], &[1.0, 3.0, 2.0, 4.0]).unwrap();
        assert!(close(r, 0.8, 1e-12));
    }

    #[test]
    fn least_squares_line() {
        let (a, b) = least_squares(&[0.0, 1.0, 2.0, 3.0], &[1.0, 3.0, 5.0, 7.0]).unwrap();
        assert!(close(a, 1.0, 1e-12) && close(b, 2.0, 1e-12));
        // (1,1),(2,1),(3,2): b = Sxy/Sxx = 1/2, a = 4/3 - 2b = 1/3.
        let (a, b) = least_squares(&[1.0, 2.0, 3.0], &[1.0, 1.0, 2.0]).unwrap();
        assert!(close(b, 0.5, 1e-12) && close(a, 1.0 / 3.0, 1e-12));
        assert_eq!(least_squares(&[1.0, 1.0], &[1.0, 2.0]), None);
        assert_eq!(least_squares(&[1.0], &[1.0]), None);
        assert_eq!(least_squares(&[1.0, 2.0], &[1.0]), None);
    }
}
