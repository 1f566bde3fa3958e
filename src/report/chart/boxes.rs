//! Box plots with every value as a dot ([`BoxChart`]).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::Chart;
use super::axis::{CategoryAxis, NumAxis, all_integers, category_label, category_labels_layout, padded_range};
use super::frame::{Corner, Frame, LegendEntry, Prim, Swatch, draw_frame};
use super::layout::Layout;
use super::plot::{Guide, guide_prims};

/// A series of a [`BoxChart`]: per category, the values of one box.
#[derive(Clone, Debug, PartialEq)]
pub struct BoxSeries {
    /// Legend name (empty: no legend entry).
    pub name: String,
    /// Colour of its boxes and points.
    pub color: RGBColor,
    /// Per category (by position), the values; non-finite values are dropped.
    pub values: Vec<Vec<f64>>,
}

/// Quartiles and whisker ends of a box (Tukey: whiskers reach the furthest
/// value within 1.5 IQR of the box).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BoxStats {
    /// Lower whisker end.
    pub lo: f64,
    /// First quartile.
    pub q1: f64,
    /// Median.
    pub median: f64,
    /// Third quartile.
    pub q3: f64,
    /// Upper whisker end.
    pub hi: f64,
}

/// Quantile `q` of sorted values by linear interpolation between order
/// statistics (numpy's default, as matplotlib's box plot).
fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * q;
    let (i, f) = (h.floor() as usize, h - h.floor());
    match sorted.get(i + 1) {
        Some(next) if f > 0.0 => sorted[i] + f * (next - sorted[i]),
        _ => sorted[i],
    }
}

impl BoxStats {
    /// The box of the finite values; `None` if there are none.
    pub fn of(values: &[f64]) -> Option<BoxStats> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let (q1, median, q3) = (quantile_sorted(&v, 0.25), quantile_sorted(&v, 0.5), quantile_sorted(&v, 0.75));
        let reach = 1.5 * (q3 - q1);
        let lo = v.iter().copied().find(|&x| x >= q1 - reach).unwrap_or(q1);
        let hi = v.iter().rev().copied().find(|&x| x <= q3 + reach).unwrap_or(q3);
        Some(BoxStats { lo, q1, median, q3, hi })
    }
}

/// Deterministic horizontal jitter in [−1, 1) for the k-th point (golden-ratio sequence).
fn jitter(k: usize) -> f64 {
    ((k as f64 + 1.0) * 0.618_033_988_749_895).fract() * 2.0 - 1.0
}

/// Box plots with their points: per category, one box per series
/// (quartiles, median line, Tukey whiskers; see [`BoxStats`]) and every
/// value as a dot, spread sideways by a fixed jitter so the same values give
/// the same file. With two series the boxes sit at ±0.15 of the category
/// centre, width 0.25. Categories with no finite value draw nothing; long
/// category labels are drawn vertically. Dashed `guides` (e.g. a zero line)
/// go over the boxes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BoxChart {
    /// Figure title.
    pub title: String,
    /// Y axis description.
    pub y_label: String,
    /// Categories along x.
    pub categories: Vec<String>,
    /// The series.
    pub series: Vec<BoxSeries>,
    /// Dashed horizontal guides.
    pub guides: Vec<Guide>,
}

impl BoxChart {
    fn max_chars(&self) -> usize {
        self.categories.iter().map(|c| c.chars().count()).max().unwrap_or(1)
    }
}

impl Chart for BoxChart {
    fn size(&self) -> (u32, u32) {
        (1200, 750 + category_labels_layout(self.categories.len(), self.max_chars(), 1050.0).0)
    }

    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<Layout>
    where
        DB::ErrorType: 'static,
    {
        let ncat = self.categories.len().max(1);
        let nser = self.series.len().max(1);
        let values = || {
            self.series
                .iter()
                .flat_map(|s| s.values.iter().take(ncat).flatten().copied())
                .chain(self.guides.iter().map(|g| g.y))
        };
        let (y0, y1) = padded_range(values(), 0.06);

        let slot = 0.6 / nser as f64;
        let w = slot * 5.0 / 6.0;
        let mut points = Vec::new();
        let mut shapes = Vec::new();
        let mut legend = Vec::new();
        for (j, s) in self.series.iter().enumerate() {
            let c = s.color;
            for (i, vals) in s.values.iter().enumerate().take(ncat) {
                let Some(b) = BoxStats::of(vals) else { continue };
                let xc = i as f64 + 0.2 + (j as f64 + 0.5) * slot;
                let (l, r) = (xc - w / 2.0, xc + w / 2.0);
                shapes.push(Prim::Rect { a: (l, b.q1), b: (r, b.q3), style: c.mix(0.15).filled() });
                shapes.push(Prim::Rect { a: (l, b.q1), b: (r, b.q3), style: c.stroke_width(2) });
                for (from, to) in [(b.q1, b.lo), (b.q3, b.hi)] {
                    shapes.push(Prim::line((xc, from), (xc, to), c.stroke_width(1), None));
                    shapes.push(Prim::line((xc - w / 4.0, to), (xc + w / 4.0, to), c.stroke_width(1), None));
                }
                shapes.push(Prim::line((l, b.median), (r, b.median), BLACK.stroke_width(2), None));
                let finite = vals.iter().copied().filter(|v| v.is_finite());
                let style = c.mix(0.55).filled();
                points.extend(finite.enumerate().map(|(k, v)| Prim::Dot {
                    at: (xc + 0.4 * w * jitter(k), v),
                    r: 2,
                    style,
                }));
            }
            if !s.name.is_empty() {
                legend.push(LegendEntry::new(&s.name, Swatch::Fill(c.mix(0.5).filled())));
            }
        }
        // The points first, so that many of them do not hide the box.
        let mut prims = points;
        prims.append(&mut shapes);
        guide_prims(&self.guides, (0.0, ncat as f64), &mut prims, &mut legend);

        let (_, h) = root.dim_in_pixel();
        let y = NumAxis::new((y0, y1), (f64::from(h) / 60.0).clamp(4.0, 10.0) as usize, all_integers(values()));
        let (x_area, vertical) = category_labels_layout(ncat, self.max_chars(), 1050.0);
        let x_fmt = |x: &f64| if vertical { String::new() } else { category_label(&self.categories, *x) };
        let y_fmt = |v: &f64| y.label(*v);
        let px = (f64::from(root.dim_in_pixel().0) - 150.0).max(100.0);
        let panel = draw_frame(
            root,
            Frame {
                caption: (&self.title, 26),
                note: "",
                x: CategoryAxis::new(ncat),
                y: y.clone(),
                x_fmt: &x_fmt,
                y_fmt: &y_fmt,
                x_desc: "",
                y_desc: &self.y_label,
                label_areas: (x_area, 80),
                margin: 20,
                label_sizes: (super::axis::label_font_size(ncat, self.max_chars(), px), 15.0),
                desc_size: 18.0,
                mesh: (false, true),
                vertical_x_labels: vertical.then_some(self.categories.as_slice()),
                prims,
                legend,
                legend_font: 16.0,
                prefer: Corner::UpperRight,
            },
        )?;
        Ok(Layout { size: root.dim_in_pixel(), panels: vec![panel] })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_stats_and_jitter() {
        let b = BoxStats::of(&[5.0, 1.0, f64::NAN, 3.0, 2.0, 4.0]).unwrap();
        assert_eq!(b, BoxStats { lo: 1.0, q1: 2.0, median: 3.0, q3: 4.0, hi: 5.0 });
        // Linear interpolation between order statistics: q1 of 1..4 is 1.75.
        let b = BoxStats::of(&[4.0, 3.0, 2.0, 1.0]).unwrap();
        assert_eq!((b.q1, b.median, b.q3), (1.75, 2.5, 3.25));
        // An outlier lies beyond the whisker, which stops at the furthest value within 1.5 IQR.
        let b = BoxStats::of(&[1.0, 2.0, 3.0, 4.0, 5.0, 100.0]).unwrap();
        assert_eq!(b.hi, 5.0);
        assert_eq!(BoxStats::of(&[f64::NAN]), None);
        assert_eq!(BoxStats::of(&[2.0]), Some(BoxStats { lo: 2.0, q1: 2.0, median: 2.0, q3: 2.0, hi: 2.0 }));
        let j: Vec<f64> = (0..100).map(jitter).collect();
        assert!(j.iter().all(|x| (-1.0..1.0).contains(x)));
        assert!(j.iter().any(|&x| x < -0.5) && j.iter().any(|&x| x > 0.5));
    }
}
