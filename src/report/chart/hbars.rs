//! Horizontal bars with optional 95 % whiskers ([`HBarChart`]), top to
//! bottom in the caller's order: e.g. a tornado chart of factors sorted by
//! the size of their effect.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::Chart;
use super::axis::{CategoryAxis, NumAxis, all_integers, category_label, padded_range};
use super::bars::Bar;
use super::frame::{Corner, Frame, Prim, draw_frame};
use super::layout::Layout;
use super::style::palette;
use super::text::without_negative_zero;

/// Horizontal bars, one per row, from zero to [`Bar::mean`], with a
/// whisker from `lo` to `hi` where both are finite. A bar with a
/// non-finite mean keeps its row and label but draws nothing. No legend:
/// the title and the axis description say what the bars are.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HBarChart {
    /// Figure title.
    pub title: String,
    /// A note under the title (e.g. how the bars are sorted); empty: none.
    pub note: String,
    /// Description of the value axis (horizontal).
    pub x_label: String,
    /// The bars, top to bottom; their labels name the rows.
    pub bars: Vec<Bar>,
    /// Bar colours: one for all, or one per row (cycled); empty: the
    /// palette's first colour.
    pub colors: Vec<RGBColor>,
}

impl Chart for HBarChart {
    fn size(&self) -> (u32, u32) {
        (1200, (160 + 46 * self.bars.len() as u32).clamp(500, 4000))
    }

    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<Layout>
    where
        DB::ErrorType: 'static,
    {
        let n = self.bars.len().max(1);
        let whisker = |b: &Bar| b.lo.is_finite() && b.hi.is_finite();
        let shown = || self.bars.iter().filter(|b| b.mean.is_finite());
        let values = || shown().flat_map(move |b| if whisker(b) { vec![b.mean, b.lo, b.hi] } else { vec![b.mean] });
        let (mut x0, x1) = padded_range(values().chain([0.0]), 0.06);
        if x0 < 0.0 && values().all(|v| !v.is_finite() || v >= 0.0) {
            x0 = 0.0;
        }
        let base = 0.0f64.max(x0);
        let color = |i: usize| if self.colors.is_empty() { palette(0) } else { self.colors[i % self.colors.len()] };
        let mut prims = Vec::new();
        for (i, b) in self.bars.iter().enumerate().filter(|(_, b)| b.mean.is_finite()) {
            let row = (n - 1 - i) as f64;
            prims.push(Prim::Rect { a: (base, row + 0.18), b: (b.mean, row + 0.82), style: color(i).filled() });
        }
        for (i, b) in self.bars.iter().enumerate().filter(|(_, b)| b.mean.is_finite() && whisker(b)) {
            let y = (n - 1 - i) as f64 + 0.5;
            let style = BLACK.stroke_width(2);
            prims.push(Prim::line((b.lo, y), (b.hi, y), style, None));
            prims.push(Prim::line((b.lo, y - 0.14), (b.lo, y + 0.14), style, None));
            prims.push(Prim::line((b.hi, y - 0.14), (b.hi, y + 0.14), style, None));
        }
        // Row 0 is drawn at the top.
        let names: Vec<String> = self.bars.iter().rev().map(|b| b.label.clone()).collect();
        let chars = names.iter().map(|s| s.chars().count()).max().unwrap_or(1);
        let y_area = (chars as u32 * 9 + 24).clamp(60, 420);
        let (w, _) = root.dim_in_pixel();
        let x = NumAxis::new((x0, x1), (f64::from(w) / 120.0).clamp(4.0, 10.0) as usize, all_integers(values()));
        let x_fmt = |v: &f64| x.label(*v);
        let y_fmt = |v: &f64| category_label(&names, *v);
        let area = root.margin(12, 0, 0, 0).titled(&without_negative_zero(&self.title), (super::style::FONT, 24))?;
        let panel = draw_frame(
            &area,
            Frame {
                caption: ("", 0),
                note: &self.note,
                x: x.clone(),
                y: CategoryAxis::new(n),
                x_fmt: &x_fmt,
                y_fmt: &y_fmt,
                x_desc: &self.x_label,
                y_desc: "",
                label_areas: (60, y_area),
                margin: 20,
                label_sizes: (14.0, 14.0),
                desc_size: 16.0,
                mesh: (true, false),
                vertical_x_labels: None,
                prims,
                legend: Vec::new(),
                legend_font: 14.0,
                prefer: Corner::UpperRight,
            },
        )?;
        Ok(Layout { size: root.dim_in_pixel(), panels: vec![panel] })
    }
}
