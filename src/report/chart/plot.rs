//! Line and scatter panels on numeric axes ([`PlotPanel`]) in a grid
//! ([`PlotGrid`]): series in the caller's colours and strokes, mean ± CI
//! bands, dashed horizontal guides and labelled vertical rules.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::Chart;
use super::axis::{NumAxis, all_integers, padded_range};
use super::frame::{Corner, Frame, LegendEntry, Prim, Swatch, draw_frame, finite_runs};
use super::layout::{Layout, PanelLayout};
use super::style::FONT;
use super::text::without_negative_zero;
use crate::report::stats::{Support, summarize_with};

/// A dashed horizontal reference line (e.g. a target).
#[derive(Clone, Debug, PartialEq)]
pub struct Guide {
    /// Legend name (empty: none).
    pub name: String,
    /// Its height.
    pub y: f64,
}

/// Dashed guides from `x0` to `x1` as primitives, named ones in the legend.
pub(super) fn guide_prims(
    guides: &[Guide],
    (x0, x1): (f64, f64),
    prims: &mut Vec<Prim>,
    legend: &mut Vec<LegendEntry>,
) {
    let style = BLACK.mix(0.7).stroke_width(1);
    for g in guides.iter().filter(|g| g.y.is_finite()) {
        prims.push(Prim::line((x0, g.y), (x1, g.y), style, Some((8, 6))));
        if !g.name.is_empty() {
            legend.push(LegendEntry::new(&g.name, Swatch::Line(style, true)));
        }
    }
}

/// How a [`Series`] is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stroke {
    /// A 2 px line with legend entry (an isolated point is a dot).
    Line,
    /// A faint 1 px line, never in the legend.
    Thin,
    /// A dashed 2 px line with legend entry.
    Dashed,
    /// A dot per point, no connecting line (a scatter).
    Points,
    /// A dot per point on a faint connecting line.
    PointsOnLine,
}

/// A series of a [`PlotPanel`] with its own colour and stroke.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Legend name (empty, or a `Thin` stroke: no legend entry).
    pub name: String,
    /// Its colour (bands are a translucent shade of it).
    pub color: RGBColor,
    /// How it is drawn.
    pub stroke: Stroke,
    /// Points `(x, y)`; non-finite points break the line.
    pub points: Vec<(f64, f64)>,
    /// Optional band `(x, lo, hi)` drawn as a translucent area below all
    /// lines; non-finite samples break it, an isolated sample is a whisker.
    pub band: Option<Vec<(f64, f64, f64)>>,
}

impl Series {
    /// A plain series without band.
    pub fn new(name: &str, color: RGBColor, stroke: Stroke, points: Vec<(f64, f64)>) -> Series {
        Series { name: name.into(), color, stroke, points, band: None }
    }

    /// The mean over samples at each x as a 2 px line, with its 95 %
    /// confidence interval as the band (as
    /// [`summarize_with`](crate::report::stats::summarize_with) computes it
    /// for a quantity of any sign). Samples are `(x, values)`; non-finite
    /// values are dropped, an x without a finite value breaks the line and
    /// the band, and an x with one value has no band (one value gives no interval).
    pub fn mean_ci(name: &str, color: RGBColor, samples: &[(f64, Vec<f64>)]) -> Series {
        Series::mean_ci_with(name, color, samples, Support::Real)
    }

    /// [`Series::mean_ci`] for a quantity with the given support (e.g. a
    /// quantity that cannot be negative keeps its band at or above zero).
    pub fn mean_ci_with(name: &str, color: RGBColor, samples: &[(f64, Vec<f64>)], support: Support) -> Series {
        let mut points = Vec::with_capacity(samples.len());
        let mut band = Vec::with_capacity(samples.len());
        for (x, values) in samples {
            let values: Vec<Option<f64>> = values.iter().map(|&v| Some(v)).collect();
            let s = summarize_with(&values, support);
            points.push((*x, s.mean.unwrap_or(f64::NAN)));
            match s.ci95 {
                Some([lo, hi]) if s.n >= 2 => band.push((*x, lo, hi)),
                _ => band.push((*x, f64::NAN, f64::NAN)),
            }
        }
        Series { name: name.into(), color, stroke: Stroke::Line, points, band: Some(band) }
    }
}

/// A vertical dashed rule at `x` with a label at the top of the panel (e.g.
/// a phase start or an attack wave). Labels of successive rules are
/// staggered over three heights so that close rules stay readable.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// Its position on the x axis; rules outside the data's x range are skipped.
    pub x: f64,
    /// Its label (empty: none).
    pub label: String,
    /// Colour of the rule and its label.
    pub color: RGBColor,
}

/// One panel of series with explicit colours and strokes, dashed horizontal
/// guides and vertical rules. As a [`Chart`] it is a figure of one panel
/// (its title the caption); see [`PlotGrid`] for several.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PlotPanel {
    /// Panel caption.
    pub title: String,
    /// X axis description.
    pub x_label: String,
    /// Y axis description.
    pub y_label: String,
    /// Series (bands first, then rules, thin lines, other lines, dots).
    pub series: Vec<Series>,
    /// Dashed horizontal guides, drawn over the series.
    pub guides: Vec<Guide>,
    /// Vertical rules with labels, drawn below the lines.
    pub rules: Vec<Rule>,
    /// Where its legend goes if that spot is free.
    pub legend: Corner,
}

impl PlotPanel {
    pub(super) fn draw_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        caption: u32,
    ) -> anyhow::Result<PanelLayout>
    where
        DB::ErrorType: 'static,
    {
        let xs = || {
            self.series.iter().flat_map(|l| l.points.iter().map(|pt| pt.0).chain(l.band.iter().flatten().map(|b| b.0)))
        };
        let (x0, x1) = padded_range(xs(), 0.0);
        let ys = || {
            self.series
                .iter()
                .flat_map(|l| {
                    l.points
                        .iter()
                        .filter(|pt| pt.0.is_finite())
                        .map(|pt| pt.1)
                        .chain(l.band.iter().flatten().filter(|b| b.0.is_finite()).flat_map(|b| [b.1, b.2]))
                })
                .chain(self.guides.iter().map(|g| g.y))
        };
        let (y0, y1) = padded_range(ys(), 0.05);
        let labelled = self.rules.iter().any(|r| !r.label.is_empty() && r.x >= x0 && r.x <= x1);
        // Room for the staggered rule labels above the data.
        let y1 = if labelled { y1 + 0.2 * (y1 - y0) } else { y1 };

        let mut prims = Vec::new();
        let mut legend = Vec::new();
        for l in &self.series {
            let Some(band) = &l.band else { continue };
            let alpha = if l.stroke == Stroke::Thin { 0.08 } else { 0.2 };
            prims.extend(Prim::bands(band, l.color.mix(alpha).filled()));
            // An isolated band sample is drawn as a whisker.
            let ok = |b: &(f64, f64, f64)| b.0.is_finite() && b.1.is_finite() && b.2.is_finite();
            for r in finite_runs(band, ok).into_iter().filter(|r| r.len() == 1) {
                let b = r[0];
                prims.push(Prim::line((b.0, b.1), (b.0, b.2), l.color.mix(0.6).stroke_width(2), None));
            }
        }
        let rules = self.rules.iter().filter(|r| r.x.is_finite() && r.x >= x0 && r.x <= x1);
        for (k, r) in rules.enumerate() {
            prims.push(Prim::line((r.x, y0), (r.x, y1), r.color.mix(0.8).stroke_width(1), Some((6, 4))));
            if !r.label.is_empty() {
                let y = y1 - (y1 - y0) * (0.015 + 0.06 * (k % 3) as f64);
                prims.push(Prim::Text {
                    at: (r.x, y),
                    offset: (3, 0),
                    text: r.label.clone(),
                    size: 12.0,
                    color: r.color,
                    anchor: Pos::new(HPos::Left, VPos::Top),
                });
            }
        }
        let ok = |pt: &(f64, f64)| pt.0.is_finite() && pt.1.is_finite();
        // An isolated point (a run of one) is drawn as a dot.
        let dots = |pts: &[(f64, f64)], r: u32, style: ShapeStyle| -> Vec<Prim> {
            finite_runs(pts, ok)
                .into_iter()
                .filter(|run| run.len() == 1)
                .map(|run| Prim::Dot { at: run[0], r, style })
                .collect()
        };
        for l in self.series.iter().filter(|l| l.stroke == Stroke::Thin) {
            prims.extend(Prim::paths(&l.points, l.color.mix(0.6).stroke_width(1), None));
            prims.extend(dots(&l.points, 4, l.color.mix(0.6).filled()));
        }
        for l in self.series.iter().filter(|l| l.stroke != Stroke::Thin) {
            let c = l.color;
            let all_dots = |r: u32, style: ShapeStyle| -> Vec<Prim> {
                l.points.iter().filter(|pt| ok(pt)).map(|&at| Prim::Dot { at, r, style }).collect()
            };
            let swatch = match l.stroke {
                Stroke::Line | Stroke::Thin => {
                    prims.extend(dots(&l.points, 4, c.filled()));
                    prims.extend(Prim::paths(&l.points, c.stroke_width(2), None));
                    Swatch::Line(c.stroke_width(2), false)
                }
                Stroke::Dashed => {
                    prims.extend(dots(&l.points, 4, c.filled()));
                    prims.extend(Prim::paths(&l.points, c.stroke_width(2), Some((10, 6))));
                    Swatch::Line(c.stroke_width(2), true)
                }
                Stroke::Points => {
                    prims.extend(all_dots(3, c.mix(0.75).filled()));
                    Swatch::Dot(c.filled())
                }
                Stroke::PointsOnLine => {
                    prims.extend(Prim::paths(&l.points, c.mix(0.35).stroke_width(1), None));
                    prims.extend(all_dots(4, c.filled()));
                    Swatch::Dot(c.filled())
                }
            };
            if !l.name.is_empty() {
                legend.push(LegendEntry::new(&l.name, swatch));
            }
        }
        guide_prims(&self.guides, (x0, x1), &mut prims, &mut legend);

        let (w, h) = area.dim_in_pixel();
        let x = NumAxis::new((x0, x1), (f64::from(w) / 110.0).clamp(3.0, 10.0) as usize, all_integers(xs()));
        let y = NumAxis::new((y0, y1), (f64::from(h) / 55.0).clamp(3.0, 8.0) as usize, all_integers(ys()));
        let x_fmt = |v: &f64| x.label(*v);
        let y_fmt = |v: &f64| y.label(*v);
        draw_frame(
            area,
            Frame {
                caption: (&self.title, caption),
                note: "",
                x: x.clone(),
                y: y.clone(),
                x_fmt: &x_fmt,
                y_fmt: &y_fmt,
                x_desc: &self.x_label,
                y_desc: &self.y_label,
                label_areas: (45, 80),
                margin: 12,
                label_sizes: (14.0, 14.0),
                desc_size: 16.0,
                mesh: (true, true),
                vertical_x_labels: None,
                prims,
                legend,
                legend_font: 14.0,
                prefer: self.legend,
            },
        )
    }
}

impl Chart for PlotPanel {
    fn size(&self) -> (u32, u32) {
        (1200, 800)
    }

    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<Layout>
    where
        DB::ErrorType: 'static,
    {
        Ok(Layout { size: root.dim_in_pixel(), panels: vec![self.draw_panel(root, 26)?] })
    }
}

/// [`PlotPanel`]s in a grid of `cols` columns, filled row by row, under a
/// figure title; 650 px wide per column, 420 px high per row.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PlotGrid {
    /// Figure title.
    pub title: String,
    /// Columns of the grid (at least 1).
    pub cols: usize,
    /// The panels.
    pub panels: Vec<PlotPanel>,
}

/// Draw `panels` in a grid of `cols` under `title`.
pub(super) fn draw_grid<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    cols: usize,
    panels: &[PlotPanel],
) -> anyhow::Result<Layout>
where
    DB::ErrorType: 'static,
{
    let mut layout = Layout { size: root.dim_in_pixel(), panels: Vec::new() };
    let area = root.margin(12, 0, 0, 0).titled(&without_negative_zero(title), (FONT, 26))?;
    if panels.is_empty() {
        return Ok(layout);
    }
    let cols = cols.max(1);
    let rows = panels.len().div_ceil(cols).max(1);
    for (sub, p) in area.split_evenly((rows, cols)).iter().zip(panels) {
        layout.panels.push(p.draw_panel(sub, 20)?);
    }
    Ok(layout)
}

impl Chart for PlotGrid {
    fn size(&self) -> (u32, u32) {
        let rows = self.panels.len().div_ceil(self.cols.max(1)).max(1) as u32;
        ((650 * self.cols.max(1) as u32).max(800), 420 * rows + 60)
    }

    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<Layout>
    where
        DB::ErrorType: 'static,
    {
        draw_grid(root, &self.title, self.cols, &self.panels)
    }
}
