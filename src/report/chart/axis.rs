//! Axes: numeric axes with round ticks printed with as many decimals as the
//! tick step needs (an integer axis prints "5", not "5.0"), and category
//! axes with ticks at the cell centres.

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;

use super::text::fmt_num;

/// Finite (min, max) over values, padded by `pad` of the span on both
/// sides; `(0, 1)` if there are none, ±10 % (±1 at zero) around a single value.
pub(super) fn padded_range(values: impl Iterator<Item = f64>, pad: f64) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo > hi {
        return (0.0, 1.0);
    }
    if hi - lo <= f64::EPSILON * hi.abs().max(lo.abs()).max(1.0) {
        let d = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return (lo - d, hi + d);
    }
    let d = (hi - lo) * pad;
    (lo - d, hi + d)
}

/// Whether every finite value is a whole number (and there is one).
pub(super) fn all_integers(values: impl Iterator<Item = f64>) -> bool {
    let mut any = false;
    for v in values.filter(|v| v.is_finite()) {
        if v.fract() != 0.0 {
            return false;
        }
        any = true;
    }
    any
}

/// A linear f64 axis with ticks at round numbers (1, 2, 2.5 or 5 times a
/// power of ten; whole numbers only on an integer axis) and labels with
/// the decimals the step needs, never "-0".
#[derive(Clone)]
pub(super) struct NumAxis {
    inner: RangedCoordf64,
    ticks: Vec<f64>,
    decimals: usize,
}

impl NumAxis {
    /// About `target` ticks over `lo..hi`; whole-number steps when `integer`.
    pub(super) fn new((lo, hi): (f64, f64), target: usize, integer: bool) -> NumAxis {
        let (lo, hi) = if lo < hi { (lo, hi) } else { (lo - 0.5, lo + 0.5) };
        let step = nice_step((hi - lo) / target.max(2) as f64, integer);
        let (k0, k1) = ((lo / step - 1e-9).ceil() as i64, (hi / step + 1e-9).floor() as i64);
        let ticks: Vec<f64> = (k0..=k1)
            .map(|k| {
                let v = k as f64 * step;
                if v.abs() < step * 1e-9 { 0.0 } else { v }
            })
            .collect();
        let decimals = (0..=12).find(|&d| is_whole(step * 10f64.powi(d as i32))).unwrap_or(12);
        NumAxis { inner: (lo..hi).into(), ticks, decimals }
    }

    /// A tick label.
    pub(super) fn label(&self, v: f64) -> String {
        fmt_num(v, self.decimals)
    }

    /// The tick values.
    #[cfg(test)]
    pub(super) fn ticks(&self) -> &[f64] {
        &self.ticks
    }
}

fn is_whole(x: f64) -> bool {
    (x - x.round()).abs() <= 1e-6 * x.abs().max(1.0)
}

/// The smallest of 1, 2, 2.5, 5 (1, 2, 5 on an integer axis) times a
/// power of ten that is at least `raw` (at least 1 on an integer axis).
fn nice_step(raw: f64, integer: bool) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    let steps: &[f64] = if integer && mag < 10.0 { &[1.0, 2.0, 5.0, 10.0] } else { &[1.0, 2.0, 2.5, 5.0, 10.0] };
    let step = steps.iter().map(|m| m * mag).find(|s| *s >= raw * (1.0 - 1e-9)).unwrap_or(10.0 * mag);
    if integer { step.max(1.0).round() } else { step }
}

impl Ranged for NumAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() { Vec::new() } else { self.ticks.clone() }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
}

/// A linear f64 axis `0..n` whose tick marks sit at the cell centres
/// `i + 0.5` (category axes). plotters' own `WithKeyPoints` cannot be used
/// with f64 because it loses the f64 label formatter.
#[derive(Clone)]
pub(super) struct CategoryAxis {
    inner: RangedCoordf64,
    n: usize,
}

impl CategoryAxis {
    pub(super) fn new(n: usize) -> Self {
        let n = n.max(1);
        CategoryAxis { inner: (0.0..n as f64).into(), n }
    }
}

impl Ranged for CategoryAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() { Vec::new() } else { (0..self.n).map(|i| i as f64 + 0.5).collect() }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
}

/// Label of the category whose cell `[i, i+1)` contains `x`.
pub(super) fn category_label(labels: &[String], x: f64) -> String {
    if x < 0.0 {
        return String::new();
    }
    labels.get(x.floor() as usize).cloned().unwrap_or_default()
}

/// Height of the label area under a category axis of `n` labels of up to
/// `chars` characters across `px` pixels, and whether the labels are drawn
/// vertically (when they do not fit side by side).
pub(super) fn category_labels_layout(n: usize, chars: usize, px: f64) -> (u32, bool) {
    let per = px / n.max(1) as f64;
    if chars as f64 * 8.0 > per { ((chars as u32 * 8 + 24).clamp(50, 270), true) } else { (50, false) }
}

/// Font size for `n` labels of up to `chars` characters across `px` pixels.
pub(super) fn label_font_size(n: usize, chars: usize, px: f64) -> f64 {
    let per = px / n.max(1) as f64;
    (per / (chars.max(1) as f64 * 0.6)).clamp(9.0, 16.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(a: &NumAxis) -> Vec<String> {
        a.ticks().iter().map(|&t| a.label(t)).collect()
    }

    #[test]
    fn round_ticks_with_the_decimals_they_need() {
        let a = NumAxis::new((0.0, 90.0), 9, true);
        assert_eq!(labels(&a), ["0", "10", "20", "30", "40", "50", "60", "70", "80", "90"]);
        let a = NumAxis::new((-0.0183, 0.0121), 7, false);
        assert_eq!(labels(&a), ["-0.015", "-0.010", "-0.005", "0.000", "0.005", "0.010"]);
        let a = NumAxis::new((-0.3, 2.9), 7, false);
        assert_eq!(labels(&a), ["0.0", "0.5", "1.0", "1.5", "2.0", "2.5"]);
        let a = NumAxis::new((0.0, 10.0), 4, false);
        assert_eq!(labels(&a), ["0.0", "2.5", "5.0", "7.5", "10.0"]);
        // An integer axis over a short range still steps by whole numbers.
        let a = NumAxis::new((0.0, 3.0), 10, true);
        assert_eq!(labels(&a), ["0", "1", "2", "3"]);
        let a = NumAxis::new((-21.0, 27.0), 6, false);
        assert_eq!(labels(&a), ["-20", "-10", "0", "10", "20"]);
        assert!(all_integers([1.0, 2.0, f64::NAN].into_iter()));
        assert!(!all_integers([1.0, 2.5].into_iter()));
        assert!(!all_integers(std::iter::empty()));
    }

    #[test]
    fn ranges_and_categories() {
        assert_eq!(padded_range([f64::NAN].into_iter(), 0.1), (0.0, 1.0));
        assert_eq!(padded_range([0.0, 10.0].into_iter(), 0.1), (-1.0, 11.0));
        let labels: Vec<String> = vec!["x".into(), "y".into()];
        assert_eq!(category_label(&labels, 1.5), "y");
        assert_eq!(category_label(&labels, 2.5), "");
        assert_eq!(category_labels_layout(60, 3, 500.0), (50, true));
    }
}
