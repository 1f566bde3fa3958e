//! Charts written as both `<stem>.svg` and `<stem>.png` (plotters, with the
//! bundled DejaVu Sans font via ab_glyph: no system fontconfig needed).

use std::path::Path;
use std::sync::OnceLock;

use anyhow::{Context, anyhow};
use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::element::DashedPathElement;
use plotters::element::{DynElement, IntoDynElement};
use plotters::prelude::*;
use plotters::style::FontTransform;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Colours callers pass to [`Series`], [`Rule`], [`BarSeries`] and [`BoxSeries`].
pub use plotters::style::RGBColor;

use super::results::write_atomic;

/// Font family used for every text element.
pub const FONT: &str = "sans-serif";

static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static FONT_OK: OnceLock<bool> = OnceLock::new();

/// Register the bundled DejaVu Sans as the "sans-serif" family (once per process).
pub fn ensure_font() -> anyhow::Result<()> {
    let ok = *FONT_OK.get_or_init(|| plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok());
    if ok { Ok(()) } else { Err(anyhow!("cannot load the bundled DejaVu Sans font")) }
}

/// Tableau-10 series colours.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];
/// Red of the palette (e.g. a policy switched off).
pub const RED: RGBColor = PALETTE[3];
/// Blue of the palette (e.g. a policy switched on).
pub const BLUE: RGBColor = PALETTE[0];
/// Green of the palette.
pub const GREEN: RGBColor = PALETTE[2];
/// Grey of the palette.
pub const GREY: RGBColor = PALETTE[7];
/// Dark grey for rules and neutral series.
pub const DARK: RGBColor = RGBColor(70, 70, 70);
const MUTED: RGBColor = RGBColor(120, 135, 160);
const MISSING: RGBColor = RGBColor(200, 200, 200);

fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// The i-th colour of the series palette (Tableau 10, cycled).
pub fn palette(i: usize) -> RGBColor {
    color(i)
}

/// Something that can be drawn onto any plotters backend.
trait Figure {
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static;
}

/// Render `fig` as `dir/<stem>.svg` and `dir/<stem>.png`, each atomically.
fn render<F: Figure>(dir: &Path, stem: &str, fig: &F) -> anyhow::Result<()> {
    ensure_font()?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let size = fig.size();

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE)?;
        fig.draw(&root).with_context(|| format!("drawing {stem}.svg"))?;
        root.present()?;
    }
    let svg_path = dir.join(format!("{stem}.svg"));
    write_atomic(&svg_path, svg.as_bytes()).with_context(|| format!("writing {}", svg_path.display()))?;

    // BitMapBackend picks the encoder from the extension, so the temp file ends in .png.
    let png_path = dir.join(format!("{stem}.png"));
    crate::engine::atomic::write_atomic_with(&png_path, Some("png"), |tmp| -> anyhow::Result<()> {
        let root = BitMapBackend::new(tmp, size).into_drawing_area();
        root.fill(&WHITE)?;
        fig.draw(&root).with_context(|| format!("drawing {stem}.png"))?;
        // Encoding and writing the file happen here.
        root.present().map_err(png_error)
    })
    .with_context(|| format!("writing {}", png_path.display()))
}

/// The bitmap backend's error type (plotters does not export its name).
type PngError = <BitMapBackend<'static> as DrawingBackend>::ErrorType;

/// A failed PNG write as its I/O error: plotters shows it Debug-formatted
/// ("ImageError(IoError(Custom { kind: Other, .. }))").
fn png_error(e: DrawingAreaErrorKind<PngError>) -> anyhow::Error {
    use plotters::drawing::DrawingAreaErrorKind::BackendError;
    use plotters_backend::DrawingErrorKind;
    match e {
        BackendError(DrawingErrorKind::DrawingError(PngError::IOError(io))) => anyhow::Error::new(io),
        BackendError(DrawingErrorKind::DrawingError(PngError::ImageError(img))) => anyhow!("{img}"),
        other => anyhow!("{other}"),
    }
}

/// Finite (min, max) over values, padded; `(0, 1)` if there are none.
fn padded_range(values: impl Iterator<Item = f64>, pad: f64) -> (f64, f64) {
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

/// A linear f64 axis `0..n` whose tick marks sit at the cell centres
/// `i + 0.5` (category axes). plotters' own `WithKeyPoints` cannot be used
/// with f64 because it loses the f64 label formatter.
struct CategoryAxis {
    inner: RangedCoordf64,
    n: usize,
}

impl CategoryAxis {
    fn new(n: usize) -> Self {
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
fn category_label(labels: &[String], x: f64) -> String {
    if x < 0.0 {
        return String::new();
    }
    labels.get(x.floor() as usize).cloned().unwrap_or_default()
}

/// Height of the label area under a category axis of `n` labels of up to
/// `chars` characters across `px` pixels, and whether the labels are drawn
/// vertically (when they do not fit side by side).
fn category_labels_layout(n: usize, chars: usize, px: f64) -> (u32, bool) {
    let per = px / n.max(1) as f64;
    if chars as f64 * 8.0 > per { ((chars as u32 * 8 + 24).clamp(50, 270), true) } else { (50, false) }
}

/// A chart with categories along x (each at a cell centre, labelled) and
/// `y0..y1` along y, its mesh drawn. Long labels are drawn vertically
/// below the axis, reading downwards from their tick.
fn category_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    (caption, caption_size): (&str, u32),
    y_label: &str,
    categories: &[String],
    (y0, y1): (f64, f64),
) -> anyhow::Result<ChartContext<'a, DB, Cartesian2d<CategoryAxis, RangedCoordf64>>>
where
    DB::ErrorType: 'static,
{
    let ncat = categories.len().max(1);
    let chars = categories.iter().map(|c| c.chars().count()).max().unwrap_or(1);
    let px = (f64::from(area.dim_in_pixel().0) - 150.0).max(100.0);
    let (x_area, vertical) = category_labels_layout(ncat, chars, px);
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FONT, caption_size))
        .margin(20)
        .x_label_area_size(x_area)
        .y_label_area_size(80)
        .build_cartesian_2d(CategoryAxis::new(ncat), y0..y1)?;
    let fmt = |x: &f64| if vertical { String::new() } else { category_label(categories, *x) };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .max_light_lines(1)
        .light_line_style(RGBColor(238, 238, 238))
        .x_label_formatter(&fmt)
        .x_label_style((FONT, label_font_size(ncat, chars, px)))
        .y_label_style((FONT, 15))
        .y_desc(y_label)
        .axis_desc_style((FONT, 18))
        .draw()?;
    if vertical {
        // plotters centres a rotated tick label on its tick, half inside the
        // plot, so these are drawn here: from just below the axis, downwards.
        let (bx, by) = area.get_base_pixel();
        let font = (FONT, 13).into_font().transform(FontTransform::Rotate90);
        let style = TextStyle::from(font).pos(Pos::new(HPos::Left, VPos::Center));
        for (i, label) in categories.iter().enumerate() {
            let (px, py) = chart.backend_coord(&(i as f64 + 0.5, y0));
            area.draw_text(label, &style, (px - bx, py - by + 10))?;
        }
    }
    Ok(chart)
}

/// Font size for `n` labels of up to `chars` characters across `px` pixels.
fn label_font_size(n: usize, chars: usize, px: f64) -> f64 {
    let per = px / n.max(1) as f64;
    (per / (chars.max(1) as f64 * 0.6)).clamp(9.0, 16.0)
}

// ----------------------------------------------------------------------------
// Grouped bars

/// One bar with its 95 % interval.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    /// Category this bar belongs to (see [`grouped_bars`]).
    pub label: String,
    /// Bar height; a non-finite mean skips the bar.
    pub mean: f64,
    /// Lower end of the whisker (non-finite: no whisker).
    pub lo: f64,
    /// Upper end of the whisker (non-finite: no whisker).
    pub hi: f64,
}

impl Bar {
    /// The bar of metric `key` (mean and 95% CI over seeds); NaN, so not
    /// drawn, when the metric is missing or undefined.
    pub fn of_metric(
        metrics: &std::collections::BTreeMap<String, crate::report::results::MetricResult>,
        key: &str,
        label: &str,
    ) -> Bar {
        match metrics.get(key) {
            Some(crate::report::results::MetricResult { mean: Some(mean), ci95, .. }) => {
                let [lo, hi] = ci95.unwrap_or([*mean, *mean]);
                Bar { label: label.into(), mean: *mean, lo, hi }
            }
            _ => Bar { label: label.into(), mean: f64::NAN, lo: f64::NAN, hi: f64::NAN },
        }
    }
}

/// A series of a [`BarPanel`].
#[derive(Clone, Debug, PartialEq)]
pub struct BarSeries {
    /// Legend name (empty: no legend entry).
    pub name: String,
    /// Colours of its bars: one for all, or one per category position
    /// (cycled); empty: the palette's colour for the series' position.
    pub colors: Vec<RGBColor>,
    /// Its bars, matched to categories as in [`grouped_bars`].
    pub bars: Vec<Bar>,
}

/// One panel of a [`bar_grid`].
#[derive(Clone, Debug, PartialEq)]
pub struct BarPanel {
    /// Panel caption.
    pub title: String,
    /// Y axis description.
    pub y_label: String,
    /// Categories along x, in this order.
    pub categories: Vec<String>,
    /// Series, one bar per category each.
    pub series: Vec<BarSeries>,
    /// Dashed horizontal guides (e.g. a target), drawn over the bars.
    pub guides: Vec<Guide>,
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

/// Dashed horizontal guides from `x0` to `x1` (with legend entries when
/// named), then the legend at `position` if any series or guide has an entry.
fn guides_and_legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<impl Ranged<ValueType = f64>, RangedCoordf64>>,
    guides: &[Guide],
    (x0, x1): (f64, f64),
    mut any_legend: bool,
    (position, font): (SeriesLabelPosition, u32),
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    for g in guides.iter().filter(|g| g.y.is_finite()) {
        let style = BLACK.mix(0.7).stroke_width(1);
        let anno = chart.draw_series(DashedLineSeries::new(vec![(x0, g.y), (x1, g.y)], 8, 6, style))?;
        if !g.name.is_empty() {
            any_legend = true;
            anno.label(g.name.as_str()).legend(move |(x, y)| {
                DashedPathElement::new(vec![(x, y), (x + 20, y)], 5, 3, BLACK.mix(0.7).stroke_width(1))
            });
        }
    }
    if any_legend {
        chart
            .configure_series_labels()
            .position(position)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font((FONT, font))
            .draw()?;
    }
    Ok(())
}

fn draw_bar_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &BarPanel, caption: u32) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let categories = &p.categories;
    let ncat = categories.len().max(1);
    let nser = p.series.len().max(1);
    let per_cat: Vec<Vec<Option<&Bar>>> = p.series.iter().map(|s| bars_by_category(categories, &s.bars)).collect();
    let bars = || per_cat.iter().flat_map(|b| b.iter().flatten()).filter(|b| b.mean.is_finite());
    let values = bars().flat_map(|b| [b.mean, b.lo, b.hi]).chain(p.guides.iter().map(|g| g.y)).chain([0.0]);
    let (mut y0, y1) = padded_range(values, 0.08);
    let all_non_negative = bars().all(|b| b.mean >= 0.0 && (b.lo >= 0.0 || !b.lo.is_finite()))
        && p.guides.iter().all(|g| !g.y.is_finite() || g.y >= 0.0);
    if y0 < 0.0 && all_non_negative {
        y0 = 0.0;
    }
    let mut chart = category_chart(area, (&p.title, caption), &p.y_label, categories, (y0, y1))?;

    let group = 0.8;
    let bw = group / nser as f64;
    let base = 0.0f64.max(y0);
    let mut any_legend = false;
    for (j, (s, per_cat)) in p.series.iter().zip(&per_cat).enumerate() {
        let bar_color = |i: usize| if s.colors.is_empty() { color(j) } else { s.colors[i % s.colors.len()] };
        let c = bar_color(0);
        let rects = per_cat.iter().enumerate().filter_map(|(i, b)| {
            let b = (*b)?;
            if !b.mean.is_finite() {
                return None;
            }
            let x0 = i as f64 + (1.0 - group) / 2.0 + j as f64 * bw;
            Some(Rectangle::new([(x0 + 0.05 * bw, base), (x0 + 0.95 * bw, b.mean)], bar_color(i).filled()))
        });
        let anno = chart.draw_series(rects)?;
        if !s.name.is_empty() {
            any_legend = true;
            anno.label(s.name.as_str()).legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], c.filled()));
        }
        let whiskers = per_cat.iter().enumerate().filter_map(|(i, b)| {
            let b = (*b)?;
            (b.mean.is_finite() && b.lo.is_finite() && b.hi.is_finite()).then(|| {
                let xc = i as f64 + (1.0 - group) / 2.0 + (j as f64 + 0.5) * bw;
                let cap = 0.2 * bw;
                vec![
                    PathElement::new(vec![(xc, b.lo), (xc, b.hi)], BLACK.stroke_width(2)),
                    PathElement::new(vec![(xc - cap, b.lo), (xc + cap, b.lo)], BLACK.stroke_width(2)),
                    PathElement::new(vec![(xc - cap, b.hi), (xc + cap, b.hi)], BLACK.stroke_width(2)),
                ]
            })
        });
        chart.draw_series(whiskers.flatten())?;
    }
    guides_and_legend(&mut chart, &p.guides, (0.0, ncat as f64), any_legend, (SeriesLabelPosition::UpperRight, 16))
}

struct BarGridFig<'a> {
    /// Figure title; empty for a single panel whose caption is the title.
    title: &'a str,
    cols: usize,
    panels: &'a [BarPanel],
}

impl Figure for BarGridFig<'_> {
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

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static,
    {
        if self.title.is_empty() && self.panels.len() <= 1 {
            return self.panels.first().map_or(Ok(()), |p| draw_bar_panel(root, p, 26));
        }
        let area = root.margin(12, 0, 0, 0).titled(self.title, (FONT, 26))?;
        let cols = self.cols.max(1);
        let rows = self.panels.len().div_ceil(cols).max(1);
        for (sub, p) in area.split_evenly((rows, cols)).iter().zip(self.panels) {
            draw_bar_panel(sub, p, 20)?;
        }
        Ok(())
    }
}

/// Grouped-bar panels in a grid of `cols` columns, filled row by row, each
/// as in [`grouped_bars`] with series colours of the caller's choosing and
/// optional dashed guides. Writes `dir/<stem>.svg` and `dir/<stem>.png`.
pub fn bar_grid(dir: &Path, stem: &str, title: &str, cols: usize, panels: &[BarPanel]) -> anyhow::Result<()> {
    render(dir, stem, &BarGridFig { title, cols, panels })
}

/// Grouped bar chart: for each category a group with one bar per series
/// (coloured, with legend) and a 95 % whisker from `lo` to `hi`.
///
/// Bars are matched to categories by `Bar::label`; a series in which no
/// label names a category is matched by position instead. Bars with a
/// non-finite mean are skipped. Writes `dir/<stem>.svg` and `dir/<stem>.png`.
pub fn grouped_bars(
    dir: &Path,
    stem: &str,
    title: &str,
    y_label: &str,
    categories: &[String],
    series: &[(String, Vec<Bar>)],
) -> anyhow::Result<()> {
    let panel = BarPanel {
        title: title.into(),
        y_label: y_label.into(),
        categories: categories.to_vec(),
        series: series
            .iter()
            .map(|(name, bars)| BarSeries { name: name.clone(), colors: Vec::new(), bars: bars.clone() })
            .collect(),
        guides: Vec::new(),
    };
    render(dir, stem, &BarGridFig { title: "", cols: 1, panels: std::slice::from_ref(&panel) })
}

// ----------------------------------------------------------------------------
// Line panels

/// A line in a [`Panel`].
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// Legend name (ignored for thin lines).
    pub name: String,
    /// Points `(x, y)`; non-finite points break the line.
    pub points: Vec<(f64, f64)>,
    /// Optional band `(x, lo, hi)` drawn as a translucent area.
    pub band: Option<Vec<(f64, f64, f64)>>,
    /// Thin 1 px muted line without legend entry (e.g. one per provider).
    pub thin: bool,
}

/// One panel of a [`line_panels`] figure.
#[derive(Clone, Debug, PartialEq)]
pub struct Panel {
    /// Panel caption.
    pub title: String,
    /// X axis description.
    pub x_label: String,
    /// Y axis description.
    pub y_label: String,
    /// Lines (bands are drawn below all lines, thin lines below thick ones).
    pub lines: Vec<Line>,
}

/// Split a sequence into maximal runs of finite items.
fn finite_runs<T: Copy>(items: &[T], ok: impl Fn(&T) -> bool) -> Vec<Vec<T>> {
    let mut runs = Vec::new();
    let mut cur = Vec::new();
    for it in items {
        if ok(it) {
            cur.push(*it);
        } else if !cur.is_empty() {
            runs.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        runs.push(cur);
    }
    runs
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
    /// Optional band `(x, lo, hi)` drawn as a translucent area below all lines.
    pub band: Option<Vec<(f64, f64, f64)>>,
}

impl Series {
    /// A plain series without band.
    pub fn new(name: &str, color: RGBColor, stroke: Stroke, points: Vec<(f64, f64)>) -> Series {
        Series { name: name.into(), color, stroke, points, band: None }
    }

    /// The mean over samples at each x as a 2 px line, with its 95 %
    /// confidence interval (Student t over the samples, as in
    /// [`summarize`](crate::report::stats::summarize)) as the band. Samples
    /// are `(x, values)`; non-finite values are dropped, and an x without a
    /// finite value breaks the line and the band. One value gives a zero-width band.
    pub fn mean_ci(name: &str, color: RGBColor, samples: &[(f64, Vec<f64>)]) -> Series {
        let mut points = Vec::with_capacity(samples.len());
        let mut band = Vec::with_capacity(samples.len());
        for (x, values) in samples {
            let values: Vec<Option<f64>> = values.iter().map(|&v| Some(v)).collect();
            let s = crate::report::stats::summarize(&values, false);
            match (s.mean, s.ci95) {
                (Some(m), Some([lo, hi])) => {
                    points.push((*x, m));
                    band.push((*x, lo, hi));
                }
                _ => {
                    points.push((*x, f64::NAN));
                    band.push((*x, f64::NAN, f64::NAN));
                }
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

/// One panel of a [`plot_grid`]: series with explicit colours and strokes,
/// dashed horizontal guides and vertical rules.
#[derive(Clone, Debug, PartialEq)]
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
    /// Where its legend goes.
    pub legend: Corner,
}

impl PlotPanel {
    /// A panel of palette-coloured [`Line`]s (thin ones muted).
    fn of_lines(p: &Panel, guides: &[Guide], legend: Corner) -> PlotPanel {
        let mut k = 0;
        let series = p
            .lines
            .iter()
            .map(|l| {
                let (color, stroke) = if l.thin {
                    (MUTED, Stroke::Thin)
                } else {
                    k += 1;
                    (color(k - 1), Stroke::Line)
                };
                Series { name: l.name.clone(), color, stroke, points: l.points.clone(), band: l.band.clone() }
            })
            .collect();
        PlotPanel {
            title: p.title.clone(),
            x_label: p.x_label.clone(),
            y_label: p.y_label.clone(),
            series,
            guides: guides.to_vec(),
            rules: Vec::new(),
            legend,
        }
    }
}

fn draw_plot_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &PlotPanel) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let xs = p.series.iter().flat_map(|l| l.points.iter().map(|pt| pt.0).chain(l.band.iter().flatten().map(|b| b.0)));
    let (x0, x1) = padded_range(xs, 0.0);
    let ys = p
        .series
        .iter()
        .flat_map(|l| {
            l.points
                .iter()
                .filter(|pt| pt.0.is_finite())
                .map(|pt| pt.1)
                .chain(l.band.iter().flatten().flat_map(|b| [b.1, b.2]))
        })
        .chain(p.guides.iter().map(|g| g.y));
    let (y0, y1) = padded_range(ys, 0.05);
    // Room for the staggered rule labels above the data.
    let y1 = if p.rules.iter().any(|r| !r.label.is_empty()) { y1 + 0.2 * (y1 - y0) } else { y1 };

    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, (FONT, 20))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(80)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    chart
        .configure_mesh()
        .x_desc(p.x_label.as_str())
        .y_desc(p.y_label.as_str())
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .max_light_lines(1)
        .light_line_style(RGBColor(238, 238, 238))
        .draw()?;

    for l in &p.series {
        let Some(band) = &l.band else { continue };
        let c = l.color;
        let alpha = if l.stroke == Stroke::Thin { 0.08 } else { 0.2 };
        let ok = |b: &(f64, f64, f64)| b.0.is_finite() && b.1.is_finite() && b.2.is_finite();
        let runs = finite_runs(band, ok);
        let polys = runs.iter().filter(|r| r.len() > 1).map(|run| {
            let mut pts: Vec<(f64, f64)> = run.iter().map(|b| (b.0, b.1)).collect();
            pts.extend(run.iter().rev().map(|b| (b.0, b.2)));
            Polygon::new(pts, c.mix(alpha).filled())
        });
        chart.draw_series(polys)?;
        // An isolated band point is drawn as a whisker.
        let whiskers = runs.iter().filter(|r| r.len() == 1).map(|r| {
            let b = r[0];
            PathElement::new(vec![(b.0, b.1), (b.0, b.2)], c.mix(0.6).stroke_width(2))
        });
        chart.draw_series(whiskers)?;
    }
    let rules: Vec<&Rule> = p.rules.iter().filter(|r| r.x.is_finite() && r.x >= x0 && r.x <= x1).collect();
    for (k, r) in rules.iter().enumerate() {
        let style = r.color.mix(0.8).stroke_width(1);
        chart.draw_series(DashedLineSeries::new(vec![(r.x, y0), (r.x, y1)], 6, 4, style))?;
        if !r.label.is_empty() {
            let y = y1 - (y1 - y0) * (0.015 + 0.06 * (k % 3) as f64);
            let style = (FONT, 12).into_font().color(&r.color).pos(Pos::new(HPos::Left, VPos::Top));
            chart.draw_series(std::iter::once(Text::new(r.label.clone(), (r.x + 0.004 * (x1 - x0), y), style)))?;
        }
    }
    let ok = |pt: &(f64, f64)| pt.0.is_finite() && pt.1.is_finite();
    // An isolated point (a run of one) is drawn as a dot.
    let dots = |pts: &[(f64, f64)], style: ShapeStyle| {
        finite_runs(pts, ok).into_iter().filter(|r| r.len() == 1).map(move |r| Circle::new(r[0], 4, style))
    };
    for l in p.series.iter().filter(|l| l.stroke == Stroke::Thin) {
        let style = l.color.mix(0.6).stroke_width(1);
        chart.draw_series(finite_runs(&l.points, ok).into_iter().map(|r| PathElement::new(r, style)))?;
        chart.draw_series(dots(&l.points, l.color.mix(0.6).filled()))?;
    }
    let mut any_legend = false;
    for l in p.series.iter().filter(|l| l.stroke != Stroke::Thin) {
        let c = l.color;
        let runs = || finite_runs(&l.points, ok).into_iter();
        let anno = match l.stroke {
            Stroke::Line | Stroke::Thin => {
                chart.draw_series(dots(&l.points, c.filled()))?;
                chart.draw_series(runs().map(|r| PathElement::new(r, c.stroke_width(2))))?
            }
            Stroke::Dashed => {
                chart.draw_series(dots(&l.points, c.filled()))?;
                chart.draw_series(runs().flat_map(|r| DashedLineSeries::new(r, 10, 6, c.stroke_width(2))))?
            }
            Stroke::Points => chart.draw_series(
                l.points
                    .iter()
                    .filter(|pt| ok(pt))
                    .map(|&pt| EmptyElement::at(pt) + Circle::new((0, 0), 3, c.mix(0.75).filled())),
            )?,
            Stroke::PointsOnLine => {
                chart.draw_series(runs().map(|r| PathElement::new(r, c.mix(0.35).stroke_width(1))))?;
                chart.draw_series(
                    l.points
                        .iter()
                        .filter(|pt| ok(pt))
                        .map(|&pt| EmptyElement::at(pt) + Circle::new((0, 0), 4, c.filled())),
                )?
            }
        };
        if !l.name.is_empty() {
            any_legend = true;
            let stroke = l.stroke;
            anno.label(l.name.as_str()).legend(move |(x, y)| -> DynElement<'static, _, _> {
                match stroke {
                    Stroke::Points | Stroke::PointsOnLine => Circle::new((x + 10, y), 4, c.filled()).into_dyn(),
                    Stroke::Dashed => {
                        DashedPathElement::new(vec![(x, y), (x + 20, y)], 5, 3, c.stroke_width(2)).into_dyn()
                    }
                    Stroke::Line | Stroke::Thin => {
                        PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)).into_dyn()
                    }
                }
            });
        }
    }
    guides_and_legend(&mut chart, &p.guides, (x0, x1), any_legend, (p.legend.position(), 14))
}

struct PlotGridFig<'a> {
    title: &'a str,
    cols: usize,
    panels: &'a [PlotPanel],
    size: (u32, u32),
}

impl PlotGridFig<'_> {
    fn grid_size(cols: usize, n: usize) -> (u32, u32) {
        let rows = n.div_ceil(cols.max(1)).max(1) as u32;
        ((650 * cols.max(1) as u32).max(800), 420 * rows + 60)
    }
}

impl Figure for PlotGridFig<'_> {
    fn size(&self) -> (u32, u32) {
        self.size
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static,
    {
        let area = root.margin(12, 0, 0, 0).titled(self.title, (FONT, 26))?;
        if self.panels.is_empty() {
            return Ok(());
        }
        let cols = self.cols.max(1);
        let rows = self.panels.len().div_ceil(cols).max(1);
        for (sub, p) in area.split_evenly((rows, cols)).iter().zip(self.panels) {
            draw_plot_panel(sub, p)?;
        }
        Ok(())
    }
}

/// Panels stacked vertically in one figure. Bands are translucent areas;
/// `thin` lines are 1 px, muted, without legend entry; other lines are 2 px
/// with legend. An isolated point (finite, between non-finite ones) is drawn
/// as a dot, an isolated band point as a whisker. Writes `dir/<stem>.svg` and `dir/<stem>.png`.
pub fn line_panels(dir: &Path, stem: &str, title: &str, panels: &[Panel]) -> anyhow::Result<()> {
    let panels: Vec<PlotPanel> = panels.iter().map(|p| PlotPanel::of_lines(p, &[], Corner::UpperRight)).collect();
    let size = (1200, (380 * panels.len() as u32 + 60).max(800));
    render(dir, stem, &PlotGridFig { title, cols: 1, panels: &panels, size })
}

/// A dashed horizontal reference line in a panel of [`line_grid`].
#[derive(Clone, Debug, PartialEq)]
pub struct Guide {
    /// Legend name (empty: none).
    pub name: String,
    /// Its height.
    pub y: f64,
}

/// Where a panel's legend goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Corner {
    /// Top left.
    UpperLeft,
    /// Top right (the default of [`line_panels`]).
    UpperRight,
    /// Left, halfway up.
    MiddleLeft,
    /// Bottom left.
    LowerLeft,
    /// Bottom right.
    LowerRight,
}

impl Corner {
    fn position(self) -> SeriesLabelPosition {
        match self {
            Corner::UpperLeft => SeriesLabelPosition::UpperLeft,
            Corner::UpperRight => SeriesLabelPosition::UpperRight,
            Corner::MiddleLeft => SeriesLabelPosition::MiddleLeft,
            Corner::LowerLeft => SeriesLabelPosition::LowerLeft,
            Corner::LowerRight => SeriesLabelPosition::LowerRight,
        }
    }
}

/// One panel of a [`line_grid`]: its lines, dashed guides and legend corner.
#[derive(Clone, Debug, PartialEq)]
pub struct GridPanel {
    /// The panel.
    pub panel: Panel,
    /// Dashed horizontal guides, drawn over the lines.
    pub guides: Vec<Guide>,
    /// Where its legend goes.
    pub legend: Corner,
}

/// Panels in a grid of `cols` columns, filled row by row, each with optional
/// dashed horizontal guides (drawn over the lines, with a legend entry when
/// named). Lines as in [`line_panels`]. Writes `dir/<stem>.svg` and
/// `dir/<stem>.png`.
pub fn line_grid(dir: &Path, stem: &str, title: &str, cols: usize, panels: &[GridPanel]) -> anyhow::Result<()> {
    let panels: Vec<PlotPanel> = panels.iter().map(|g| PlotPanel::of_lines(&g.panel, &g.guides, g.legend)).collect();
    plot_grid(dir, stem, title, cols, &panels)
}

/// [`PlotPanel`]s in a grid of `cols` columns, filled row by row: series in
/// the caller's colours and strokes, mean ± CI bands (see
/// [`Series::mean_ci`]), dashed guides and labelled vertical rules. Writes
/// `dir/<stem>.svg` and `dir/<stem>.png`.
pub fn plot_grid(dir: &Path, stem: &str, title: &str, cols: usize, panels: &[PlotPanel]) -> anyhow::Result<()> {
    let size = PlotGridFig::grid_size(cols, panels.len());
    render(dir, stem, &PlotGridFig { title, cols, panels, size })
}

// ----------------------------------------------------------------------------
// Box plots with points

/// A series of a [`box_points`] chart: per category, the values of one box.
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

struct BoxFig<'a> {
    title: &'a str,
    y_label: &'a str,
    categories: &'a [String],
    series: &'a [BoxSeries],
    guides: &'a [Guide],
}

impl BoxFig<'_> {
    fn max_chars(&self) -> usize {
        self.categories.iter().map(|c| c.chars().count()).max().unwrap_or(1)
    }
}

impl Figure for BoxFig<'_> {
    fn size(&self) -> (u32, u32) {
        (1200, 750 + category_labels_layout(self.categories.len(), self.max_chars(), 1050.0).0)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static,
    {
        let ncat = self.categories.len().max(1);
        let nser = self.series.len().max(1);
        let values = self.series.iter().flat_map(|s| s.values.iter().flatten().copied());
        let (y0, y1) = padded_range(values.chain(self.guides.iter().map(|g| g.y)), 0.06);
        let mut chart = category_chart(root, (self.title, 26), self.y_label, self.categories, (y0, y1))?;

        // Two series: centres at ±0.15 of the category centre, width 0.25.
        let slot = 0.6 / nser as f64;
        let w = slot * 5.0 / 6.0;
        let mut any_legend = false;
        for (j, s) in self.series.iter().enumerate() {
            let c = s.color;
            let mut shapes: Vec<DynElement<'static, DB, (f64, f64)>> = Vec::new();
            let mut points = Vec::new();
            for (i, vals) in s.values.iter().enumerate().take(ncat) {
                let Some(b) = BoxStats::of(vals) else { continue };
                let xc = i as f64 + 0.2 + (j as f64 + 0.5) * slot;
                let (l, r) = (xc - w / 2.0, xc + w / 2.0);
                shapes.push(Rectangle::new([(l, b.q1), (r, b.q3)], c.mix(0.15).filled()).into_dyn());
                shapes.push(Rectangle::new([(l, b.q1), (r, b.q3)], c.stroke_width(2)).into_dyn());
                for (from, to) in [(b.q1, b.lo), (b.q3, b.hi)] {
                    shapes.push(PathElement::new(vec![(xc, from), (xc, to)], c.stroke_width(1)).into_dyn());
                    let cap = vec![(xc - w / 4.0, to), (xc + w / 4.0, to)];
                    shapes.push(PathElement::new(cap, c.stroke_width(1)).into_dyn());
                }
                shapes.push(PathElement::new(vec![(l, b.median), (r, b.median)], BLACK.stroke_width(2)).into_dyn());
                let finite = vals.iter().copied().filter(|v| v.is_finite());
                points.extend(finite.enumerate().map(|(k, v)| (xc + 0.4 * w * jitter(k), v)));
            }
            // The points first, so that many of them do not hide the box.
            let style = c.mix(0.55).filled();
            chart.draw_series(points.into_iter().map(|pt| EmptyElement::at(pt) + Circle::new((0, 0), 2, style)))?;
            let anno = chart.draw_series(shapes)?;
            if !s.name.is_empty() {
                any_legend = true;
                anno.label(s.name.as_str())
                    .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], c.mix(0.5).filled()));
            }
        }
        let legend = (SeriesLabelPosition::UpperRight, 16);
        guides_and_legend(&mut chart, self.guides, (0.0, ncat as f64), any_legend, legend)
    }
}

/// Box plots with their points: per category, one box per series (quartiles,
/// median line, Tukey whiskers; see [`BoxStats`]) and every value as a dot,
/// spread sideways by a fixed jitter so the same values give the same file.
/// With two series the boxes sit at ±0.15 of the category centre, width 0.25.
/// Categories with no finite value draw nothing; long category labels are
/// drawn vertically. Dashed `guides` (e.g. a zero line) go over the boxes.
/// Writes `dir/<stem>.svg` and `dir/<stem>.png`.
pub fn box_points(
    dir: &Path,
    stem: &str,
    title: &str,
    y_label: &str,
    categories: &[String],
    series: &[BoxSeries],
    guides: &[Guide],
) -> anyhow::Result<()> {
    render(dir, stem, &BoxFig { title, y_label, categories, series, guides })
}

// ----------------------------------------------------------------------------
// Heatmap

/// Diverging blue–white–red colour for `t` in `[-1, 1]`.
fn diverging(t: f64) -> RGBColor {
    const NEG: (f64, f64, f64) = (33.0, 102.0, 172.0);
    const MID: (f64, f64, f64) = (247.0, 247.0, 247.0);
    const POS: (f64, f64, f64) = (178.0, 24.0, 43.0);
    let t = if t.is_finite() { t.clamp(-1.0, 1.0) } else { 0.0 };
    let end = if t < 0.0 { NEG } else { POS };
    let a = t.abs();
    let mix = |m: f64, e: f64| (m + (e - m) * a).round() as u8;
    RGBColor(mix(MID.0, end.0), mix(MID.1, end.1), mix(MID.2, end.2))
}

/// ColorBrewer RdYlGn (11 classes, matplotlib's `RdYlGn`), red to green.
const RDYLGN: [(u8, u8, u8); 11] = [
    (165, 0, 38),
    (215, 48, 39),
    (244, 109, 67),
    (253, 174, 97),
    (254, 224, 139),
    (255, 255, 191),
    (217, 239, 139),
    (166, 217, 106),
    (102, 189, 99),
    (26, 152, 80),
    (0, 104, 55),
];

/// Red–yellow–green colour for `t` in `[-1, 1]` (red at −1, pale yellow at 0),
/// linear between the RdYlGn anchors.
fn rdylgn(t: f64) -> RGBColor {
    let t = if t.is_finite() { t.clamp(-1.0, 1.0) } else { 0.0 };
    let pos = (t + 1.0) / 2.0 * (RDYLGN.len() - 1) as f64;
    let i = (pos.floor() as usize).min(RDYLGN.len() - 2);
    let f = pos - i as f64;
    let (a, b) = (RDYLGN[i], RDYLGN[i + 1]);
    let mix = |x: u8, y: u8| (f64::from(x) + (f64::from(y) - f64::from(x)) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Colour scale of a heatmap.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum HeatScale {
    /// Blue–white–red, symmetric at ± the largest |value| ([`heatmap`]).
    Diverging,
    /// Red–yellow–green on the fixed range `[−limit, +limit]` (values
    /// beyond are drawn in the end colours; a limit that is not a positive
    /// finite number falls back to ± the largest |value|).
    RdYlGn(f64),
}

struct HeatFig<'a> {
    title: &'a str,
    x_labels: &'a [String],
    y_labels: &'a [String],
    values: &'a [Vec<Option<f64>>],
    value_label: &'a str,
    labels: Option<&'a [Vec<String>]>,
    scale: HeatScale,
}

impl HeatFig<'_> {
    fn value(&self, y: usize, x: usize) -> Option<f64> {
        self.values.get(y).and_then(|r| r.get(x)).copied().flatten().filter(|v| v.is_finite())
    }

    fn max_abs(&self) -> f64 {
        if let HeatScale::RdYlGn(limit) = self.scale
            && limit.is_finite()
            && limit > 0.0
        {
            return limit;
        }
        let m = self.values.iter().flatten().flatten().filter(|v| v.is_finite()).fold(0.0f64, |m, v| m.max(v.abs()));
        if m > 0.0 { m } else { 1.0 }
    }

    /// The colour of `t` = value / scale end, in `[-1, 1]`.
    fn color(&self, t: f64) -> RGBColor {
        match self.scale {
            HeatScale::Diverging => diverging(t),
            HeatScale::RdYlGn(_) => rdylgn(t),
        }
    }
}

impl Figure for HeatFig<'_> {
    fn size(&self) -> (u32, u32) {
        let ny = self.y_labels.len().max(self.values.len()) as u32;
        (1200, (180 + 50 * ny).clamp(600, 1600))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static,
    {
        let nx = self.x_labels.len().max(self.values.iter().map(Vec::len).max().unwrap_or(0)).max(1);
        let ny = self.y_labels.len().max(self.values.len()).max(1);
        let m = self.max_abs();
        let (w, h) = root.dim_in_pixel();
        let area = root.margin(12, 0, 0, 0).titled(self.title, (FONT, 26))?;
        let (main, bar) = area.split_horizontally(w.saturating_sub(170));

        let y_chars = self.y_labels.iter().map(|s| s.chars().count()).max().unwrap_or(1);
        let y_area = (y_chars as u32 * 9 + 20).clamp(50, 320);
        let x_chars = self.x_labels.iter().map(|s| s.chars().count()).max().unwrap_or(1);
        let plot_w = (w.saturating_sub(170 + y_area + 40)) as f64;
        let x_font = label_font_size(nx, x_chars, plot_w);
        // Row 0 is drawn at the top.
        let y_names: Vec<String> = (0..ny).rev().map(|j| self.y_labels.get(j).cloned().unwrap_or_default()).collect();

        let mut chart = ChartBuilder::on(&main)
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(y_area)
            .build_cartesian_2d(CategoryAxis::new(nx), CategoryAxis::new(ny))?;
        let fx = |x: &f64| category_label(self.x_labels, *x);
        let fy = |y: &f64| category_label(&y_names, *y);
        chart
            .configure_mesh()
            .disable_mesh()
            .x_label_formatter(&fx)
            .y_label_formatter(&fy)
            .x_label_style((FONT, x_font))
            .y_label_style((FONT, 14))
            .draw()?;

        let plot_h = h.saturating_sub(160) as f64;
        let cell_w = plot_w / nx as f64;
        let cell_h = plot_h / ny as f64;
        let text_size = (cell_w / 4.0).min(cell_h / 2.2).clamp(8.0, 18.0);
        let mut cells = Vec::with_capacity(nx * ny);
        let mut texts = Vec::with_capacity(nx * ny);
        for j in 0..ny {
            let row = (ny - 1 - j) as f64;
            for i in 0..nx {
                let x = i as f64;
                let v = self.value(j, i);
                let fill = v.map(|v| self.color(v / m)).unwrap_or(MISSING);
                cells.push(Rectangle::new([(x, row), (x + 1.0, row + 1.0)], fill.filled()));
                cells.push(Rectangle::new([(x, row), (x + 1.0, row + 1.0)], WHITE.stroke_width(1)));
                let label = self.labels.and_then(|l| l.get(j)).and_then(|r| r.get(i)).cloned();
                let (s, dark) = match v {
                    Some(v) => (label.unwrap_or_else(|| format!("{v:.2}")), (v / m).abs() > 0.55),
                    None => (label.unwrap_or_else(|| "n/a".to_string()), false),
                };
                texts.push((s, (x + 0.5, row + 0.5), dark));
            }
        }
        chart.draw_series(cells)?;
        for (s, pos, dark) in texts {
            let c = if dark { WHITE } else { BLACK };
            let style = (FONT, text_size).into_font().color(&c).pos(Pos::new(HPos::Center, VPos::Center));
            chart.draw_series(std::iter::once(Text::new(s, pos, style)))?;
        }

        // Colour bar.
        let mut cb = ChartBuilder::on(&bar)
            .margin_top(40)
            .margin_bottom(70)
            .margin_right(10)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..1.0, -m..m)?;
        cb.configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_desc(self.value_label)
            .y_label_style((FONT, 13))
            .axis_desc_style((FONT, 15))
            .draw()?;
        let steps = 100;
        cb.draw_series((0..steps).map(|k| {
            let a = -m + 2.0 * m * k as f64 / steps as f64;
            let b = -m + 2.0 * m * (k + 1) as f64 / steps as f64;
            Rectangle::new([(0.0, a), (1.0, b)], self.color((a + b) / 2.0 / m).filled())
        }))?;
        Ok(())
    }
}

/// Heatmap of `values[y][x]` with a diverging colour scale centred on 0
/// (symmetric at ± the largest |value|), each cell annotated with its value
/// (2 decimals); `None`/non-finite cells are grey. Row 0 is at the top.
/// Writes `dir/<stem>.svg` and `dir/<stem>.png`.
pub fn heatmap(
    dir: &Path,
    stem: &str,
    title: &str,
    x_labels: &[String],
    y_labels: &[String],
    values: &[Vec<Option<f64>>],
    value_label: &str,
) -> anyhow::Result<()> {
    render(
        dir,
        stem,
        &HeatFig { title, x_labels, y_labels, values, value_label, labels: None, scale: HeatScale::Diverging },
    )
}

/// [`heatmap`] with a text of the caller's choosing in each cell (`labels`,
/// indexed like `values`) instead of the value.
#[allow(clippy::too_many_arguments)]
pub fn heatmap_labeled(
    dir: &Path,
    stem: &str,
    title: &str,
    x_labels: &[String],
    y_labels: &[String],
    values: &[Vec<Option<f64>>],
    labels: &[Vec<String>],
    value_label: &str,
) -> anyhow::Result<()> {
    heatmap_scaled(dir, stem, title, x_labels, y_labels, values, labels, value_label, HeatScale::Diverging)
}

/// [`heatmap_labeled`] on the colour scale `scale`.
#[allow(clippy::too_many_arguments)]
pub fn heatmap_scaled(
    dir: &Path,
    stem: &str,
    title: &str,
    x_labels: &[String],
    y_labels: &[String],
    values: &[Vec<Option<f64>>],
    labels: &[Vec<String>],
    value_label: &str,
    scale: HeatScale,
) -> anyhow::Result<()> {
    render(dir, stem, &HeatFig { title, x_labels, y_labels, values, value_label, labels: Some(labels), scale })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!(
            "omerta-chart-{tag}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
        ));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    fn check_pair(dir: &Path, stem: &str) {
        let png = std::fs::read(dir.join(format!("{stem}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{stem}.png is not a PNG");
        assert!(png.len() > 5_000, "{stem}.png suspiciously small");
        let svg = std::fs::read_to_string(dir.join(format!("{stem}.svg"))).unwrap();
        assert!(svg.contains("<svg"), "{stem}.svg has no <svg");
        assert_eq!(crate::engine::atomic::temps_in(dir), Vec::<std::path::PathBuf>::new(), "temporary files left");
    }

    #[test]
    fn charts_smoke() {
        let dir = temp_dir("smoke");
        let cats: Vec<String> = ["low", "mid", "high"].iter().map(|s| s.to_string()).collect();
        let bar = |label: &str, mean: f64| Bar { label: label.into(), mean, lo: mean - 0.1, hi: mean + 0.1 };
        let series = vec![
            ("baseline".to_string(), vec![bar("low", 0.3), bar("mid", f64::NAN), bar("high", 0.9)]),
            ("policy".to_string(), vec![bar("high", 0.7), bar("low", 0.2)]),
        ];
        grouped_bars(&dir, "bars", "Bars title", "share", &cats, &series).unwrap();
        check_pair(&dir, "bars");
        let svg = std::fs::read_to_string(dir.join("bars.svg")).unwrap();
        for word in ["Bars title", "baseline", "policy", "low", "high", "share"] {
            assert!(svg.contains(word), "bars.svg lacks {word}");
        }

        let xs: Vec<f64> = (0..50).map(|i| i as f64).collect();
        let mut lines: Vec<Line> = (0..5)
            .map(|k| Line {
                name: format!("provider {k}"),
                points: xs.iter().map(|&x| (x, (x / 10.0 + k as f64).sin())).collect(),
                band: None,
                thin: true,
            })
            .collect();
        lines.push(Line {
            name: "mean".into(),
            points: xs.iter().map(|&x| (x, if x == 20.0 { f64::NAN } else { x / 50.0 })).collect(),
            band: Some(xs.iter().map(|&x| (x, x / 50.0 - 0.2, x / 50.0 + 0.2)).collect()),
            thin: false,
        });
        let panels = vec![
            Panel { title: "Prices".into(), x_label: "day".into(), y_label: "price".into(), lines },
            Panel { title: "Empty".into(), x_label: "x".into(), y_label: "y".into(), lines: vec![] },
        ];
        line_panels(&dir, "lines", "Lines title", &panels).unwrap();
        check_pair(&dir, "lines");
        let svg = std::fs::read_to_string(dir.join("lines.svg")).unwrap();
        assert!(svg.contains("mean") && svg.contains("Prices"));
        assert!(!svg.contains("provider 0"), "thin lines must not get a legend entry");

        let grid: Vec<GridPanel> = (0..4)
            .map(|k| {
                let line = Line {
                    name: format!("run {k}"),
                    points: xs.iter().map(|&x| (x, x * k as f64)).collect(),
                    band: None,
                    thin: false,
                };
                let p = Panel {
                    title: format!("Panel {k}"),
                    x_label: "step".into(),
                    y_label: "v".into(),
                    lines: vec![line],
                };
                let guides = if k % 2 == 0 { vec![Guide { name: "spotlight line".into(), y: 30.0 }] } else { vec![] };
                GridPanel { panel: p, guides, legend: Corner::UpperLeft }
            })
            .collect();
        line_grid(&dir, "grid", "Grid title", 2, &grid).unwrap();
        check_pair(&dir, "grid");
        let svg = std::fs::read_to_string(dir.join("grid.svg")).unwrap();
        assert!(svg.contains("Panel 3") && svg.contains("spotlight line"), "grid.svg lacks a panel or the guide");

        let xl: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let yl: Vec<String> = ["r1", "r2"].iter().map(|s| s.to_string()).collect();
        let vals = vec![vec![Some(-1.0), Some(0.0), None], vec![Some(0.5), Some(f64::NAN), Some(2.0)]];
        heatmap(&dir, "heat", "Heat title", &xl, &yl, &vals, "correlation").unwrap();
        check_pair(&dir, "heat");
        let svg = std::fs::read_to_string(dir.join("heat.svg")).unwrap();
        for word in ["-1.00", "0.50", "2.00", "n/a", "r1", "correlation"] {
            assert!(svg.contains(word), "heat.svg lacks {word}");
        }
        // A fixed RdYlGn scale: −80 on a ±40 scale is the end red, +40 the end green, 0 pale yellow.
        let vals = vec![vec![Some(-80.0), Some(0.0), Some(40.0)]];
        let labels = vec![vec!["-80.0".to_string(), "0.0".into(), "40.0".into()]];
        heatmap_scaled(&dir, "heat40", "Fixed", &xl, &yl[..1], &vals, &labels, "pct", HeatScale::RdYlGn(40.0)).unwrap();
        check_pair(&dir, "heat40");
        let svg = std::fs::read_to_string(dir.join("heat40.svg")).unwrap();
        for colour in ["#A50026", "#FFFFBF", "#006837"] {
            assert!(svg.contains(colour), "heat40.svg lacks {colour}");
        }
        // Set OMERTA_KEEP_CHART_TEST=1 to keep the files for a visual check.
        finish(&dir);
    }

    /// A PNG that cannot be written is an I/O error naming the file, not
    /// plotters' Debug text.
    #[test]
    fn a_failed_png_write_names_the_file() {
        let dir = temp_dir("pngfail");
        // The final name taken by a folder that is not empty: the rename fails.
        std::fs::create_dir_all(dir.join("bars.png").join("x")).unwrap();
        let bars = vec![Bar { label: "a".into(), mean: 1.0, lo: 0.5, hi: 1.5 }];
        let e = grouped_bars(&dir, "bars", "t", "y", &["a".into()], &[("s".into(), bars)]).unwrap_err();
        let text = format!("{e:#}");
        assert!(text.starts_with(&format!("writing {}: ", dir.join("bars.png").display())), "{text}");
        for debug in ["Custom {", "IoError(", "ImageError("] {
            assert!(!text.contains(debug), "{text}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn finish(dir: &Path) {
        if std::env::var_os("OMERTA_KEEP_CHART_TEST").is_some() {
            eprintln!("charts kept in {}", dir.display());
        } else {
            std::fs::remove_dir_all(dir).unwrap();
        }
    }

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

    #[test]
    fn mean_ci_series() {
        let samples = vec![(0.0, vec![1.0, 3.0]), (1.0, vec![f64::NAN]), (2.0, vec![2.0, 2.0, 2.0]), (3.0, vec![4.0])];
        let s = Series::mean_ci("m", RED, &samples);
        assert_eq!(s.points[0], (0.0, 2.0));
        assert!(s.points[1].1.is_nan(), "an x without values breaks the line");
        assert_eq!(s.points[2], (2.0, 2.0));
        let band = s.band.unwrap();
        // mean 2, sd √2, t(1) = 12.706…: half-width 12.706·√2/√2.
        assert!((band[0].2 - band[0].1 - 2.0 * crate::report::stats::t_quantile_975(1)).abs() < 1e-9);
        assert_eq!(band[2], (2.0, 2.0, 2.0), "no spread, no width");
        assert_eq!(band[3], (3.0, 4.0, 4.0), "one value, zero width");
    }

    #[test]
    fn box_points_and_plot_grid_draw_what_they_are_given() {
        let dir = temp_dir("prims");
        let cats: Vec<String> = ["a_rather_long_scenario_name", "b", "empty"].iter().map(|s| s.to_string()).collect();
        let series = vec![
            BoxSeries { name: "arm off".into(), color: RED, values: vec![vec![0.1, 0.2, 0.3, 0.9], vec![0.5], vec![]] },
            BoxSeries { name: "arm on".into(), color: BLUE, values: vec![vec![0.2; 50], vec![f64::NAN, 0.4], vec![]] },
        ];
        box_points(&dir, "box", "Box title", "value", &cats, &series, &[Guide { name: "zero line".into(), y: 0.0 }])
            .unwrap();
        check_pair(&dir, "box");
        let svg = std::fs::read_to_string(dir.join("box.svg")).unwrap();
        for word in ["Box title", "arm off", "arm on", "zero line", "a_rather_long_scenario_name", "#D62728", "#1F77B4"]
        {
            assert!(svg.contains(word), "box.svg lacks {word}");
        }
        // One dot per finite value: 4 + 1 + 50 + 1 points of radius 2.
        assert_eq!(svg.matches(r#"r="2""#).count(), 56);
        let before = std::fs::read(dir.join("box.png")).unwrap();
        box_points(&dir, "box", "Box title", "value", &cats, &series, &[Guide { name: "zero line".into(), y: 0.0 }])
            .unwrap();
        assert_eq!(std::fs::read(dir.join("box.png")).unwrap(), before, "same input, same file");
        assert_eq!(std::fs::read_to_string(dir.join("box.svg")).unwrap(), svg);
        // Nothing finite at all still writes a chart.
        box_points(&dir, "box_empty", "Nothing", "v", &[], &[], &[]).unwrap();
        assert!(dir.join("box_empty.svg").exists());

        let xs: Vec<f64> = (0..100).map(f64::from).collect();
        let samples: Vec<(f64, Vec<f64>)> = xs.iter().map(|&x| (x, vec![x, x + 2.0, x + 4.0])).collect();
        let panel = PlotPanel {
            title: "Banded".into(),
            x_label: "day".into(),
            y_label: "v".into(),
            series: vec![
                Series::mean_ci("mean of three", BLUE, &samples),
                Series::new("", RED, Stroke::Thin, xs.iter().map(|&x| (x, x)).collect()),
                Series::new("scatter", GREEN, Stroke::Points, vec![(10.0, 5.0), (20.0, f64::NAN)]),
                Series::new("fit", DARK, Stroke::Dashed, vec![(0.0, 0.0), (99.0, 99.0)]),
                Series::new("events", GREY, Stroke::PointsOnLine, vec![(30.0, 1.0), (60.0, 2.0)]),
            ],
            guides: vec![Guide { name: "target".into(), y: 50.0 }],
            rules: vec![
                Rule { x: 20.0, label: "phase start".into(), color: DARK },
                Rule { x: 30.0, label: "wave one".into(), color: RED },
                Rule { x: 500.0, label: "outside".into(), color: RED },
            ],
            legend: Corner::LowerRight,
        };
        let empty = PlotPanel { title: "Empty".into(), series: vec![], rules: vec![], ..panel.clone() };
        plot_grid(&dir, "plot", "Plot title", 2, &[panel.clone(), empty]).unwrap();
        check_pair(&dir, "plot");
        let svg = std::fs::read_to_string(dir.join("plot.svg")).unwrap();
        for word in ["Plot title", "mean of three", "scatter", "fit", "events", "target", "phase start", "wave one"] {
            assert!(svg.contains(word), "plot.svg lacks {word}");
        }
        assert!(!svg.contains("outside"), "a rule outside the x range is skipped");
        assert!(svg.contains("<polygon"), "the band is an area");

        let bars = |m: f64| vec![Bar { label: "b".into(), mean: m, lo: m - 0.1, hi: m + 0.1 }];
        let bp = BarPanel {
            title: "Gini".into(),
            y_label: "g".into(),
            categories: vec!["a".into(), "b".into()],
            series: vec![
                BarSeries { name: "off".into(), colors: vec![RED], bars: bars(0.5) },
                BarSeries { name: String::new(), colors: vec![GREY, GREEN], bars: bars(0.3) },
            ],
            guides: vec![Guide { name: "goal".into(), y: 0.4 }],
        };
        bar_grid(&dir, "bargrid", "Bar grid", 3, &[bp.clone(), bp.clone(), bp]).unwrap();
        check_pair(&dir, "bargrid");
        let svg = std::fs::read_to_string(dir.join("bargrid.svg")).unwrap();
        for word in ["Bar grid", "goal", "off", "#D62728", "#2CA02C"] {
            assert!(svg.contains(word), "bargrid.svg lacks {word}");
        }
        // Category "b" is the second: it gets the second colour of the cycle, grey is unused.
        assert!(!svg.contains("#7F7F7F"));
        finish(&dir);
    }

    #[test]
    fn many_short_categories_keep_a_sane_size() {
        // 60 labels of 2–3 characters do not fit side by side in a 650 px panel: they are drawn vertically.
        let cats: Vec<String> = (1..=60).map(|i| format!("c{i}")).collect();
        assert_eq!(category_labels_layout(cats.len(), 3, 500.0), (50, true));
        let panel = BarPanel {
            title: "many".into(),
            y_label: "v".into(),
            categories: cats.clone(),
            series: vec![BarSeries { name: "s".into(), colors: vec![], bars: vec![] }],
            guides: vec![],
        };
        let fig = BarGridFig { title: "Many", cols: 2, panels: &[panel.clone(), panel] };
        assert_eq!(fig.size(), (1300, 570));
        let dir = temp_dir("many");
        render(&dir, "many", &fig).unwrap();
        check_pair(&dir, "many");
        finish(&dir);
    }

    #[test]
    fn colour_scale_and_helpers() {
        assert_eq!(diverging(0.0), RGBColor(247, 247, 247));
        assert_eq!(diverging(1.0), RGBColor(178, 24, 43));
        assert_eq!(diverging(-1.0), RGBColor(33, 102, 172));
        assert_eq!(diverging(f64::NAN), RGBColor(247, 247, 247));
        assert_eq!(rdylgn(-1.0), RGBColor(165, 0, 38));
        assert_eq!(rdylgn(-7.0), RGBColor(165, 0, 38));
        assert_eq!(rdylgn(0.0), RGBColor(255, 255, 191));
        assert_eq!(rdylgn(1.0), RGBColor(0, 104, 55));
        assert_eq!(rdylgn(f64::NAN), RGBColor(255, 255, 191));
        // The anchors sit every 0.2: 0.8 is the tenth, −0.5 halfway between the third and fourth.
        assert_eq!(rdylgn(0.8), RGBColor(26, 152, 80));
        assert_eq!(rdylgn(-0.5), RGBColor(249, 142, 82));
        assert_eq!(padded_range([f64::NAN].into_iter(), 0.1), (0.0, 1.0));
        assert_eq!(padded_range([0.0, 10.0].into_iter(), 0.1), (-1.0, 11.0));
        let runs = finite_runs(&[1.0, f64::NAN, 2.0, 3.0, f64::NAN], |v: &f64| v.is_finite());
        assert_eq!(runs, vec![vec![1.0], vec![2.0, 3.0]]);
        let labels: Vec<String> = vec!["x".into(), "y".into()];
        assert_eq!(category_label(&labels, 1.5), "y");
        assert_eq!(category_label(&labels, 2.5), "");
    }
}
