//! Plot panels and bar panels in one grid ([`MixedGrid`]): e.g. one panel
//! per factor, numeric factors as lines and categorical ones as bars.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::Chart;
use super::axis::category_labels_layout;
use super::bars::BarPanel;
use super::frame::note_strip;
use super::layout::Layout;
use super::plot::PlotPanel;
use super::style::FONT;
use super::text::without_negative_zero;

/// One panel of a [`MixedGrid`].
#[derive(Clone, Debug, PartialEq)]
pub enum MixedPanel {
    /// Series on numeric axes.
    Plot(PlotPanel),
    /// Bars over categories.
    Bars(BarPanel),
}

/// [`PlotPanel`]s and [`BarPanel`]s in a grid of `cols` columns, filled
/// row by row, under a figure title; 650 px wide per column, 420 px high
/// per row (more when a bar panel needs room for vertical labels).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MixedGrid {
    /// Figure title.
    pub title: String,
    /// A note under the title (e.g. what the panels show); empty: none.
    pub note: String,
    /// Columns of the grid (at least 1).
    pub cols: usize,
    /// The panels.
    pub panels: Vec<MixedPanel>,
}

impl Chart for MixedGrid {
    fn size(&self) -> (u32, u32) {
        let cols = self.cols.max(1) as u32;
        let rows = self.panels.len().div_ceil(self.cols.max(1)).max(1) as u32;
        let width = (650 * cols).max(800);
        let px = (f64::from(width / cols) - 150.0).max(100.0);
        let extra = self
            .panels
            .iter()
            .filter_map(|p| match p {
                MixedPanel::Bars(b) => {
                    let chars = b.categories.iter().map(|c| c.chars().count()).max().unwrap_or(1);
                    Some(category_labels_layout(b.categories.len(), chars, px).0.saturating_sub(50))
                }
                MixedPanel::Plot(_) => None,
            })
            .max()
            .unwrap_or(0);
        let note = if self.note.is_empty() { 0 } else { 50 };
        (width, (420 + extra) * rows + 60 + note)
    }

    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<Layout>
    where
        DB::ErrorType: 'static,
    {
        let mut layout = Layout { size: root.dim_in_pixel(), panels: Vec::new() };
        let area = root.margin(12, 0, 0, 0).titled(&without_negative_zero(&self.title), (FONT, 26))?;
        let area = note_strip(&area, &self.note, 14.0)?;
        if self.panels.is_empty() {
            return Ok(layout);
        }
        let cols = self.cols.max(1);
        let rows = self.panels.len().div_ceil(cols).max(1);
        for (sub, p) in area.split_evenly((rows, cols)).iter().zip(&self.panels) {
            layout.panels.push(match p {
                MixedPanel::Plot(p) => p.draw_panel(sub, 20)?,
                MixedPanel::Bars(b) => b.draw_panel(sub, 20)?,
            });
        }
        Ok(layout)
    }
}
