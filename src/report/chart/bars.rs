//! Grouped bars with 95 % whiskers: one panel ([`BarPanel`]) or a grid of
//! panels ([`BarGrid`]).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::Chart;
use super::axis::{
    CategoryAxis, NumAxis, all_integers, category_label, category_labels_layout, label_font_size, padded_range,
};
use super::frame::{Corner, Frame, LegendEntry, Prim, Swatch, draw_frame};
use super::layout::{Layout, PanelLayout};
use super::plot::Guide;
use super::style::{FONT, palette};
use super::text::without_negative_zero;
use crate::report::results::MetricResult;

/// One bar with its 95 % interval.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    /// Category this bar belongs to (see [`BarPanel::series`]).
    pub label: String,
    /// Bar height; a non-finite mean skips the bar.
    pub mean: f64,
    /// Lower end of the whisker (non-finite: no whisker).
    pub lo: f64,
    /// Upper end of the whisker (non-finite: no whisker).
    pub hi: f64,
}

impl Bar {
    /// A bar without a whisker.
    pub fn plain(label: &str, mean: f64) -> Bar {
        Bar { label: label.into(), mean, lo: f64::NAN, hi: f64::NAN }
    }

    /// The bar of metric `key` (mean and 95% CI over seeds); NaN, so not
    /// drawn, when the metric is missing or undefined; without a whisker
    /// when fewer than two seeds define it (one seed gives no interval).
    pub fn of_metric(metrics: &std::collections::BTreeMap<String, MetricResult>, key: &str, label: &str) -> Bar {
        match metrics.get(key) {
            Some(MetricResult { mean: Some(mean), ci95: Some([lo, hi]), n, .. }) if *n >= 2 => {
                Bar { label: label.into(), mean: *mean, lo: *lo, hi: *hi }
            }
            Some(MetricResult { mean: Some(mean), .. }) => Bar::plain(label, *mean),
            _ => Bar::plain(label, f64::NAN),
        }
    }
}

/// A series of a [`BarPanel`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BarSeries {
    /// Legend name (empty: no legend entry).
    pub name: String,
    /// Colours of its bars: one for all, or one per category position
    /// (cycled); empty: the palette's colour for the series' position.
    pub colors: Vec<RGBColor>,
    /// Its bars, matched to categories as described at [`BarPanel::series`].
    pub bars: Vec<Bar>,
}

impl BarSeries {
    /// A series in the palette colour of its position.
    pub fn new(name: &str, bars: Vec<Bar>) -> BarSeries {
        BarSeries { name: name.into(), colors: Vec::new(), bars }
    }
}

/// A grouped bar chart: for each category a group with one bar per series
/// and a whisker from `lo` to `hi`. As a [`Chart`] it is a figure of one
/// panel whose title is the caption (1200×800); in a [`BarGrid`] it is one panel.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BarPanel {
    /// Panel caption.
    pub title: String,
    /// Y axis description.
    pub y_label: String,
    /// Categories along x, in this order.
    pub categories: Vec<String>,
    /// Series, one bar per category each: bars are matched to categories
    /// by [`Bar::label`]; a series in which no label names a category is
    /// matched by position instead. Bars with a non-finite mean are skipped.
    pub series: Vec<BarSeries>,
    /// Dashed horizontal guides (e.g. a target), drawn over the bars.
    pub guides: Vec<Guide>,
    /// A note under the caption (e.g. what the chart leaves out); empty: none.
    pub note: String,
}

/// Per category, the bar of `bars` whose label names it; by position when
/// no label names a category.
fn bars_by_category<'a>(categories: &[String], bars: &'a [Bar]) -> Vec<Option<&'a Bar>> {
    let by_label = bars.iter().any(|b| categories.contains(&b.label));
    categories
        .iter()
        .enumerate()
        .map(|(i, c)| if by_label { bars.iter().find(|b| &b.label == c) } else { bars.get(i) })
        .collect()
}

impl BarPanel {
    pub(super) fn draw_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        caption: u32,
    ) -> anyhow::Result<PanelLayout>
    where
        DB::ErrorType: 'static,
    {
        let categories = &self.categories;
        let ncat = categories.len().max(1);
        let nser = self.series.len().max(1);
        let per_cat: Vec<Vec<Option<&Bar>>> =
            self.series.iter().map(|s| bars_by_category(categories, &s.bars)).collect();
        let bars = || per_cat.iter().flat_map(|b| b.iter().flatten()).filter(|b| b.mean.is_finite());
        let whisker = |b: &Bar| b.lo.is_finite() && b.hi.is_finite();
        let values = || {
            bars()
                .flat_map(move |b| if whisker(b) { vec![b.mean, b.lo, b.hi] } else { vec![b.mean] })
                .chain(self.guides.iter().map(|g| g.y))
        };
        let (mut y0, y1) = padded_range(values().chain([0.0]), 0.08);
        if y0 < 0.0 && values().all(|v| !v.is_finite() || v >= 0.0) {
            y0 = 0.0;
        }
        let integer = all_integers(values());

        let group = 0.8;
        let bw = group / nser as f64;
        let base = 0.0f64.max(y0);
        let mut prims = Vec::new();
        let mut legend = Vec::new();
        for (j, (s, per_cat)) in self.series.iter().zip(&per_cat).enumerate() {
            let bar_color = |i: usize| if s.colors.is_empty() { palette(j) } else { s.colors[i % s.colors.len()] };
            for (i, b) in per_cat.iter().enumerate() {
                let Some(b) = b.filter(|b| b.mean.is_finite()) else { continue };
                let x0 = i as f64 + (1.0 - group) / 2.0 + j as f64 * bw;
                let (a, c) = ((x0 + 0.05 * bw, base), (x0 + 0.95 * bw, b.mean));
                prims.push(Prim::Rect { a, b: c, style: bar_color(i).filled() });
            }
            if !s.name.is_empty() {
                legend.push(LegendEntry::new(&s.name, Swatch::Fill(bar_color(0).filled())));
            }
        }
        for (j, per_cat) in per_cat.iter().enumerate() {
            for (i, b) in per_cat.iter().enumerate() {
                let Some(b) = b.filter(|b| b.mean.is_finite() && whisker(b)) else { continue };
                let xc = i as f64 + (1.0 - group) / 2.0 + (j as f64 + 0.5) * bw;
                let cap = 0.2 * bw;
                let style = BLACK.stroke_width(2);
                prims.push(Prim::line((xc, b.lo), (xc, b.hi), style, None));
                prims.push(Prim::line((xc - cap, b.lo), (xc + cap, b.lo), style, None));
                prims.push(Prim::line((xc - cap, b.hi), (xc + cap, b.hi), style, None));
            }
        }
        super::plot::guide_prims(&self.guides, (0.0, ncat as f64), &mut prims, &mut legend);

        let chars = categories.iter().map(|c| c.chars().count()).max().unwrap_or(1);
        let px = (f64::from(area.dim_in_pixel().0) - 150.0).max(100.0);
        let (x_area, vertical) = category_labels_layout(ncat, chars, px);
        let (_, h) = area.dim_in_pixel();
        let y = NumAxis::new((y0, y1), (f64::from(h) / 60.0).clamp(4.0, 10.0) as usize, integer);
        let x_fmt = |x: &f64| if vertical { String::new() } else { category_label(categories, *x) };
        let y_fmt = |v: &f64| y.label(*v);
        draw_frame(
            area,
            Frame {
                caption: (&self.title, caption),
                note: &self.note,
                x: CategoryAxis::new(ncat),
                y: y.clone(),
                x_fmt: &x_fmt,
                y_fmt: &y_fmt,
                x_desc: "",
                y_desc: &self.y_label,
                label_areas: (x_area, 80),
                margin: 20,
                label_sizes: (label_font_size(ncat, chars, px), 15.0),
                desc_size: 18.0,
                mesh: (false, true),
                vertical_x_labels: vertical.then_some(categories.as_slice()),
                prims,
                legend,
                legend_font: 16.0,
                prefer: Corner::UpperRight,
            },
        )
    }
}

impl Chart for BarPanel {
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

/// Grouped-bar panels ([`BarPanel`]) in a grid of `cols` columns, filled
/// row by row, under a figure title.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BarGrid {
    /// Figure title; empty with one panel: the panel's caption is the title.
    pub title: String,
    /// Columns of the grid (at least 1).
    pub cols: usize,
    /// The panels.
    pub panels: Vec<BarPanel>,
}

impl Chart for BarGrid {
    fn size(&self) -> (u32, u32) {
        if self.title.is_empty() && self.panels.len() <= 1 {
            return (1200, 800);
        }
        let cols = self.cols.max(1) as u32;
        let rows = self.panels.len().div_ceil(self.cols.max(1)).max(1) as u32;
        let width = (650 * cols).max(1200);
        let px = (f64::from(width / cols) - 150.0).max(100.0);
        let label_area = |p: &BarPanel| {
            let chars = p.categories.iter().map(|c| c.chars().count()).max().unwrap_or(1);
            category_labels_layout(p.categories.len(), chars, px).0
        };
        let extra = self.panels.iter().map(label_area).max().unwrap_or(50).saturating_sub(50);
        (width, (510 + extra) * rows + 60)
    }

    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<Layout>
    where
        DB::ErrorType: 'static,
    {
        let mut layout = Layout { size: root.dim_in_pixel(), panels: Vec::new() };
        if self.title.is_empty() && self.panels.len() <= 1 {
            if let Some(p) = self.panels.first() {
                layout.panels.push(p.draw_panel(root, 26)?);
            }
            return Ok(layout);
        }
        let area = root.margin(12, 0, 0, 0).titled(&without_negative_zero(&self.title), (FONT, 26))?;
        let cols = self.cols.max(1);
        let rows = self.panels.len().div_ceil(cols).max(1);
        for (sub, p) in area.split_evenly((rows, cols)).iter().zip(&self.panels) {
            layout.panels.push(p.draw_panel(sub, 20)?);
        }
        Ok(layout)
    }
}
