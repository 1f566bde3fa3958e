//! One panel: its caption and note, its axes, the marks of its data (drawn
//! and recorded in pixels), and its legend, placed where it covers nothing.
//!
//! **Legend placement.** The legend goes into the first free spot inside
//! the plot area (the caller's preferred corner first, then the other
//! corners and the edge middles), free meaning that the box, grown by a few
//! pixels, touches no mark: no bar, whisker, line segment, interval band,
//! dot, guide, rule or rule label. When no spot is free the panel gives up
//! a strip above its plot area and the legend goes there, its entries side
//! by side in rows. Either way it covers no data, and the [`PanelLayout`]
//! returned says where it went.

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, Ranged};
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::FontTransform;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::layout::{Mark, PanelLayout, Rect};
use super::style::{FONT, GRID};
use super::text::{text_height, text_width, without_negative_zero};

/// Where a panel's legend should go when that corner is free (otherwise
/// the next free spot, or a strip above the plot).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Corner {
    /// Top left.
    UpperLeft,
    /// Top right.
    #[default]
    UpperRight,
    /// Left, halfway up.
    MiddleLeft,
    /// Bottom left.
    LowerLeft,
    /// Bottom right.
    LowerRight,
}

/// A drawing primitive in data coordinates: drawn onto the chart and
/// recorded as a [`Mark`].
#[derive(Clone)]
pub(super) enum Prim {
    /// A box between two corners.
    Rect { a: (f64, f64), b: (f64, f64), style: ShapeStyle },
    /// A polyline of finite points (see [`Prim::paths`]), dashed when `dash` is set.
    Path { pts: Vec<(f64, f64)>, style: ShapeStyle, dash: Option<(u32, u32)> },
    /// A dot of radius `r` pixels.
    Dot { at: (f64, f64), r: u32, style: ShapeStyle },
    /// An interval band `(x, lo, hi)` over consecutive finite samples.
    Band { pts: Vec<(f64, f64, f64)>, style: ShapeStyle },
    /// A label at `at` moved by `offset` pixels.
    Text { at: (f64, f64), offset: (i32, i32), text: String, size: f64, color: RGBColor, anchor: Pos },
}

/// Maximal runs of items that pass `ok`.
pub(super) fn finite_runs<T: Copy>(items: &[T], ok: impl Fn(&T) -> bool) -> Vec<Vec<T>> {
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

fn finite(p: &(f64, f64)) -> bool {
    p.0.is_finite() && p.1.is_finite()
}

impl Prim {
    /// The polylines of `pts` broken at non-finite points (runs of two or more points).
    pub(super) fn paths(pts: &[(f64, f64)], style: ShapeStyle, dash: Option<(u32, u32)>) -> Vec<Prim> {
        finite_runs(pts, finite)
            .into_iter()
            .filter(|r| r.len() > 1)
            .map(|pts| Prim::Path { pts, style, dash })
            .collect()
    }

    /// A straight line from `a` to `b`.
    pub(super) fn line(a: (f64, f64), b: (f64, f64), style: ShapeStyle, dash: Option<(u32, u32)>) -> Prim {
        Prim::Path { pts: vec![a, b], style, dash }
    }

    /// The bands of `pts` over runs of finite samples (runs of two or more).
    pub(super) fn bands(pts: &[(f64, f64, f64)], style: ShapeStyle) -> Vec<Prim> {
        let ok = |b: &(f64, f64, f64)| b.0.is_finite() && b.1.is_finite() && b.2.is_finite();
        finite_runs(pts, ok).into_iter().filter(|r| r.len() > 1).map(|pts| Prim::Band { pts, style }).collect()
    }

    /// The marks of this primitive, mapped to pixels by `px`.
    fn marks(&self, px: &dyn Fn((f64, f64)) -> (f64, f64)) -> Vec<Mark> {
        match self {
            Prim::Rect { a, b, style } => {
                let grow = if style.filled { 0.0 } else { f64::from(style.stroke_width) / 2.0 };
                vec![Mark::Box(Rect::spanning(px(*a), px(*b)).inflate(grow))]
            }
            Prim::Path { pts, style, .. } => {
                let half_width = (f64::from(style.stroke_width) / 2.0).max(0.5);
                pts.windows(2).map(|w| Mark::Segment { a: px(w[0]), b: px(w[1]), half_width }).collect()
            }
            Prim::Dot { at, r, style } => {
                let r = f64::from(*r) + if style.filled { 0.0 } else { f64::from(style.stroke_width) / 2.0 };
                vec![Mark::Dot { c: px(*at), r }]
            }
            Prim::Band { pts, .. } => pts
                .windows(2)
                .map(|w| {
                    let (a, b) = (w[0], w[1]);
                    Mark::Quad([px((a.0, a.1)), px((b.0, b.1)), px((b.0, b.2)), px((a.0, a.2))])
                })
                .collect(),
            Prim::Text { at, offset, text, size, anchor, .. } => {
                let (x, y) = px(*at);
                let (w, h) = (text_width(text, *size), text_height(*size));
                let x0 = x + f64::from(offset.0)
                    - match anchor.h_pos {
                        HPos::Left => 0.0,
                        HPos::Center => w / 2.0,
                        HPos::Right => w,
                    };
                let y0 = y + f64::from(offset.1)
                    - match anchor.v_pos {
                        VPos::Top => 0.0,
                        VPos::Center => h / 2.0,
                        VPos::Bottom => h,
                    };
                vec![Mark::Box(Rect { x0, y0, x1: x0 + w, y1: y0 + h })]
            }
        }
    }
}

/// How a legend entry shows its series.
#[derive(Clone, Copy, Debug)]
pub(super) enum Swatch {
    /// A filled square.
    Fill(ShapeStyle),
    /// A short line, dashed or solid.
    Line(ShapeStyle, bool),
    /// A dot.
    Dot(ShapeStyle),
}

/// One legend entry.
#[derive(Clone, Debug)]
pub(super) struct LegendEntry {
    pub label: String,
    pub swatch: Swatch,
}

impl LegendEntry {
    pub(super) fn new(label: &str, swatch: Swatch) -> LegendEntry {
        LegendEntry { label: without_negative_zero(label), swatch }
    }
}

const SWATCH_W: f64 = 24.0;
const GAP: f64 = 6.0;
const PAD: f64 = 8.0;
/// Space between a legend box and what it must not touch.
const CLEAR: f64 = 4.0;

/// A legend's box size and the top-left corner of each entry within it.
struct LegendBox {
    size: (f64, f64),
    spots: Vec<(f64, f64)>,
    row: f64,
}

impl LegendBox {
    /// Entries one per row.
    fn column(entries: &[LegendEntry], font: f64) -> LegendBox {
        let row = font + 6.0;
        let w = entries.iter().map(|e| text_width(&e.label, font)).fold(0.0, f64::max);
        let spots = (0..entries.len()).map(|i| (PAD, PAD / 2.0 + i as f64 * row)).collect();
        LegendBox { size: (2.0 * PAD + SWATCH_W + GAP + w, PAD + entries.len() as f64 * row), spots, row }
    }

    /// Entries side by side, wrapped into rows at `max_w` pixels.
    fn rows(entries: &[LegendEntry], font: f64, max_w: f64) -> LegendBox {
        let row = font + 6.0;
        let (mut x, mut y, mut widest) = (PAD, PAD / 2.0, 0.0f64);
        let mut spots = Vec::new();
        for e in entries {
            let w = SWATCH_W + GAP + text_width(&e.label, font);
            if x > PAD && x + w + PAD > max_w {
                x = PAD;
                y += row;
            }
            spots.push((x, y));
            widest = widest.max(x + w + PAD);
            x += w + 3.0 * GAP;
        }
        LegendBox { size: (widest, y + row + PAD / 2.0), spots, row }
    }
}

/// The first spot in `plot` for a `w`×`h` box that keeps [`CLEAR`] pixels
/// from every mark: the preferred corner, the other corners, then the middles of the edges.
fn free_spot(plot: Rect, (w, h): (f64, f64), marks: &[Mark], prefer: Corner) -> Option<Rect> {
    let inset = 6.0;
    if w + 2.0 * inset > plot.width() || h + 2.0 * inset > plot.height() {
        return None;
    }
    let (l, r) = (plot.x0 + inset, plot.x1 - inset - w);
    let (t, b) = (plot.y0 + inset, plot.y1 - inset - h);
    let (cx, cy) = ((plot.x0 + plot.x1 - w) / 2.0, (plot.y0 + plot.y1 - h) / 2.0);
    let corner = |c: Corner| match c {
        Corner::UpperLeft => (l, t),
        Corner::UpperRight => (r, t),
        Corner::MiddleLeft => (l, cy),
        Corner::LowerLeft => (l, b),
        Corner::LowerRight => (r, b),
    };
    let candidates = [corner(prefer), (r, t), (l, t), (r, b), (l, b), (cx, t), (r, cy), (l, cy), (cx, b)];
    candidates.into_iter().map(|(x, y)| Rect { x0: x, y0: y, x1: x + w, y1: y + h }).find(|spot| {
        let keep = spot.inflate(CLEAR);
        !marks.iter().any(|m| m.hits(&keep))
    })
}

/// Words of `text` in lines of at most `max_w` pixels at `size`.
pub(super) fn wrap(text: &str, size: f64, max_w: f64) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        let trial = if cur.is_empty() { word.to_string() } else { format!("{cur} {word}") };
        if !cur.is_empty() && text_width(&trial, size) > max_w {
            lines.push(std::mem::replace(&mut cur, word.to_string()));
        } else {
            cur = trial;
        }
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

/// Draw `text` wrapped and centred at the top of `area`; return the rest of the area.
pub(super) fn note_strip<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    size: f64,
) -> anyhow::Result<DrawingArea<DB, Shift>>
where
    DB::ErrorType: 'static,
{
    if text.trim().is_empty() {
        return Ok(area.clone());
    }
    let (w, _) = area.dim_in_pixel();
    let lines = wrap(&without_negative_zero(text), size, f64::from(w) - 60.0);
    let line_h = text_height(size) + 5.0;
    let h = (lines.len() as f64 * line_h + 8.0).ceil() as u32;
    let (top, rest) = area.split_vertically(h);
    let style =
        TextStyle::from((FONT, size).into_font()).color(&RGBColor(60, 60, 60)).pos(Pos::new(HPos::Center, VPos::Top));
    for (k, line) in lines.iter().enumerate() {
        top.draw_text(line, &style, ((w / 2) as i32, (2.0 + k as f64 * line_h) as i32))?;
    }
    Ok(rest)
}

/// Everything a panel draws.
pub(super) struct Frame<'a, X, Y> {
    /// Caption (empty: none) and its font size.
    pub caption: (&'a str, u32),
    /// A note under the caption (e.g. what the panel leaves out); empty: none.
    pub note: &'a str,
    pub x: X,
    pub y: Y,
    pub x_fmt: &'a dyn Fn(&f64) -> String,
    pub y_fmt: &'a dyn Fn(&f64) -> String,
    pub x_desc: &'a str,
    pub y_desc: &'a str,
    /// Label areas below and left of the plot, and the outer margin.
    pub label_areas: (u32, u32),
    pub margin: u32,
    /// Tick label font sizes (x, y) and axis description font size.
    pub label_sizes: (f64, f64),
    pub desc_size: f64,
    /// Grid lines at the x and y ticks.
    pub mesh: (bool, bool),
    /// Category labels drawn rotated below the x axis (from the left end of
    /// the y range), instead of the x tick labels.
    pub vertical_x_labels: Option<&'a [String]>,
    pub prims: Vec<Prim>,
    pub legend: Vec<LegendEntry>,
    pub legend_font: f64,
    pub prefer: Corner,
}

/// The plot area of a chart, in pixels.
fn plot_rect<DB: DrawingBackend, CT: CoordTranslate>(chart: &ChartContext<'_, DB, CT>) -> Rect {
    let (xr, yr) = chart.plotting_area().get_pixel_range();
    Rect { x0: f64::from(xr.start), y0: f64::from(yr.start), x1: f64::from(xr.end), y1: f64::from(yr.end) }
}

/// Draw a panel; return its layout.
pub(super) fn draw_frame<DB, X, Y>(area: &DrawingArea<DB, Shift>, f: Frame<'_, X, Y>) -> anyhow::Result<PanelLayout>
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
    X: Ranged<ValueType = f64, FormatOption = DefaultFormatting> + Clone,
    Y: Ranged<ValueType = f64, FormatOption = DefaultFormatting> + Clone,
{
    let mut inner = area.clone();
    if !f.caption.0.is_empty() {
        inner = inner.margin(f.margin / 2, 0, 0, 0).titled(&without_negative_zero(f.caption.0), (FONT, f.caption.1))?;
    }
    inner = note_strip(&inner, f.note, 14.0)?;
    let build = |a: &DrawingArea<DB, Shift>| {
        ChartBuilder::on(a)
            .margin(f.margin)
            .x_label_area_size(f.label_areas.0)
            .y_label_area_size(f.label_areas.1)
            .build_cartesian_2d(f.x.clone(), f.y.clone())
    };
    let marks_of = |chart: &ChartContext<'_, DB, Cartesian2d<X, Y>>| -> Vec<Mark> {
        let px = |p: (f64, f64)| {
            let (x, y) = chart.backend_coord(&p);
            (f64::from(x), f64::from(y))
        };
        f.prims.iter().flat_map(|p| p.marks(&px)).collect()
    };
    let mut chart = build(&inner)?;
    let mut marks = marks_of(&chart);
    // Where the legend goes: a free spot inside, or a strip above the plot.
    let mut legend: Option<(Rect, LegendBox)> = None;
    if !f.legend.is_empty() {
        let column = LegendBox::column(&f.legend, f.legend_font);
        let plot = plot_rect(&chart);
        match free_spot(plot, column.size, &marks, f.prefer) {
            Some(spot) => legend = Some((spot, column)),
            None => {
                let rows = LegendBox::rows(&f.legend, f.legend_font, plot.width());
                let (strip, rest) = inner.split_vertically((rows.size.1 + 2.0 * CLEAR).ceil() as u32);
                chart = build(&rest)?;
                marks = marks_of(&chart);
                let by = f64::from(strip.get_base_pixel().1);
                let x0 = plot_rect(&chart).x0;
                let at = Rect { x0, y0: by + CLEAR, x1: x0 + rows.size.0, y1: by + CLEAR + rows.size.1 };
                legend = Some((at, rows));
            }
        }
    }

    let mut mesh = chart.configure_mesh();
    mesh.x_label_formatter(f.x_fmt)
        .y_label_formatter(f.y_fmt)
        .x_label_style((FONT, f.label_sizes.0))
        .y_label_style((FONT, f.label_sizes.1))
        .axis_desc_style((FONT, f.desc_size))
        .bold_line_style(GRID)
        .light_line_style(GRID);
    if !f.x_desc.is_empty() {
        mesh.x_desc(f.x_desc);
    }
    if !f.y_desc.is_empty() {
        mesh.y_desc(f.y_desc);
    }
    if !f.mesh.0 {
        mesh.disable_x_mesh();
    }
    if !f.mesh.1 {
        mesh.disable_y_mesh();
    }
    mesh.draw()?;

    if let Some(labels) = f.vertical_x_labels {
        // plotters centres a rotated tick label on its tick, half inside the
        // plot, so these are drawn here: from just below the axis, downwards.
        let (bx, by) = area.get_base_pixel();
        let y0 = chart.y_range().start;
        let style = TextStyle::from((FONT, 13).into_font().transform(FontTransform::Rotate90))
            .pos(Pos::new(HPos::Left, VPos::Center));
        for (i, label) in labels.iter().enumerate() {
            let (px, py) = chart.backend_coord(&(i as f64 + 0.5, y0));
            area.draw_text(&without_negative_zero(label), &style, (px - bx, py - by + 10))?;
        }
    }

    for p in &f.prims {
        match p {
            Prim::Rect { a, b, style } => {
                chart.draw_series(std::iter::once(Rectangle::new([*a, *b], *style)))?;
            }
            Prim::Path { pts, style, dash: None } => {
                chart.draw_series(std::iter::once(PathElement::new(pts.clone(), *style)))?;
            }
            Prim::Path { pts, style, dash: Some((d, g)) } => {
                chart.draw_series(DashedLineSeries::new(pts.clone(), *d, *g, *style))?;
            }
            Prim::Dot { at, r, style } => {
                chart.draw_series(std::iter::once(EmptyElement::at(*at) + Circle::new((0, 0), *r, *style)))?;
            }
            Prim::Band { pts, style } => {
                let mut poly: Vec<(f64, f64)> = pts.iter().map(|b| (b.0, b.1)).collect();
                poly.extend(pts.iter().rev().map(|b| (b.0, b.2)));
                chart.draw_series(std::iter::once(Polygon::new(poly, *style)))?;
            }
            Prim::Text { at, offset, text, size, color, anchor } => {
                let style = (FONT, *size).into_font().color(color).pos(*anchor);
                let text = Text::new(without_negative_zero(text), *offset, style);
                chart.draw_series(std::iter::once(EmptyElement::at(*at) + text))?;
            }
        }
    }

    let plot = plot_rect(&chart);
    let legend_rect = match &legend {
        Some((at, lb)) => {
            draw_legend(area, *at, lb, &f.legend, f.legend_font)?;
            Some(*at)
        }
        None => None,
    };
    Ok(PanelLayout { plot: Some(plot), legend: legend_rect, marks })
}

/// Draw the legend box `at` (absolute pixels) with its entries.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    at: Rect,
    lb: &LegendBox,
    entries: &[LegendEntry],
    font: f64,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let (bx, by) = area.get_base_pixel();
    let rel = |x: f64, y: f64| ((x.round() as i32) - bx, (y.round() as i32) - by);
    let (x0, y0) = rel(at.x0, at.y0);
    let (x1, y1) = rel(at.x1, at.y1);
    area.draw(&Rectangle::new([(x0, y0), (x1, y1)], WHITE.filled()))?;
    area.draw(&Rectangle::new([(x0, y0), (x1, y1)], BLACK.stroke_width(1)))?;
    let text = TextStyle::from((FONT, font).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    for (e, (sx, sy)) in entries.iter().zip(&lb.spots) {
        let (x, y) = rel(at.x0 + sx, at.y0 + sy + lb.row / 2.0);
        let sw = SWATCH_W as i32;
        match e.swatch {
            Swatch::Fill(style) => area.draw(&Rectangle::new([(x + 5, y - 7), (x + sw - 5, y + 7)], style))?,
            Swatch::Line(style, false) => area.draw(&PathElement::new(vec![(x, y), (x + sw, y)], style))?,
            Swatch::Line(style, true) => area.draw(&DashedPathElement::new(vec![(x, y), (x + sw, y)], 5, 3, style))?,
            Swatch::Dot(style) => area.draw(&Circle::new((x + sw / 2, y), 4, style))?,
        }
        area.draw_text(&e.label, &text, (x + sw + GAP as i32, y))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spots_avoid_marks() {
        let plot = Rect { x0: 0.0, y0: 0.0, x1: 400.0, y1: 300.0 };
        let spot = free_spot(plot, (100.0, 50.0), &[], Corner::LowerLeft).unwrap();
        assert_eq!((spot.x0, spot.y1), (6.0, 294.0));
        // A dot in the upper right moves the legend to the upper left.
        let dot = Mark::Dot { c: (350.0, 20.0), r: 3.0 };
        let spot = free_spot(plot, (100.0, 50.0), std::slice::from_ref(&dot), Corner::UpperRight).unwrap();
        assert_eq!((spot.x0, spot.y0), (6.0, 6.0));
        // A line across the whole top half: the lower corners.
        let line = Mark::Segment { a: (0.0, 40.0), b: (400.0, 40.0), half_width: 1.0 };
        let spot = free_spot(plot, (100.0, 50.0), &[dot, line.clone()], Corner::UpperRight).unwrap();
        assert_eq!(spot.y1, 294.0);
        // Filled everywhere: no spot.
        let full = Mark::Box(plot);
        assert_eq!(free_spot(plot, (100.0, 50.0), &[full], Corner::UpperRight), None);
        assert_eq!(free_spot(plot, (500.0, 50.0), &[], Corner::UpperRight), None, "too wide");
    }

    #[test]
    fn rows_wrap() {
        let e = |s: &str| LegendEntry::new(s, Swatch::Dot(BLACK.filled()));
        let entries: Vec<LegendEntry> = (0..8).map(|i| e(&format!("series number {i}"))).collect();
        let wide = LegendBox::rows(&entries, 14.0, 5000.0);
        let narrow = LegendBox::rows(&entries, 14.0, 400.0);
        assert!(wide.spots.iter().all(|s| s.1 == wide.spots[0].1), "one row");
        assert!(narrow.size.0 <= 400.0 && narrow.size.1 > wide.size.1);
        assert_eq!(wrap("a b c", 14.0, 1000.0), ["a b c"]);
        assert_eq!(wrap("aaaa bbbb", 14.0, 40.0), ["aaaa", "bbbb"]);
    }
}
