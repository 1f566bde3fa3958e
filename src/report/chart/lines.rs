//! Line panels in palette colours: panels stacked in one column
//! ([`LinePanels`]) or in a grid with guides ([`LineGrid`]). Both are drawn
//! as [`PlotPanel`]s.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::Chart;
use super::frame::Corner;
use super::layout::Layout;
use super::plot::{Guide, PlotPanel, Series, Stroke, draw_grid};
use super::style::{MUTED, palette};

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

/// One panel of lines in palette colours.
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

impl Panel {
    /// The panel as a [`PlotPanel`]: thick lines in palette order, thin ones muted.
    fn plot(&self, guides: &[Guide], legend: Corner) -> PlotPanel {
        let mut k = 0;
        let series = self
            .lines
            .iter()
            .map(|l| {
                let (color, stroke) = if l.thin {
                    (MUTED, Stroke::Thin)
                } else {
                    k += 1;
                    (palette(k - 1), Stroke::Line)
                };
                Series { name: l.name.clone(), color, stroke, points: l.points.clone(), band: l.band.clone() }
            })
            .collect();
        PlotPanel {
            title: self.title.clone(),
            x_label: self.x_label.clone(),
            y_label: self.y_label.clone(),
            series,
            guides: guides.to_vec(),
            rules: Vec::new(),
            legend,
        }
    }
}

/// Panels stacked vertically in one figure, 1200 px wide. Bands are
/// translucent areas; `thin` lines are 1 px, muted, without legend entry;
/// other lines are 2 px with legend. An isolated point (finite, between
/// non-finite ones) is drawn as a dot, an isolated band point as a whisker.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LinePanels {
    /// Figure title.
    pub title: String,
    /// The panels, top to bottom.
    pub panels: Vec<Panel>,
}

impl Chart for LinePanels {
    fn size(&self) -> (u32, u32) {
        (1200, (380 * self.panels.len() as u32 + 60).max(800))
    }

    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<Layout>
    where
        DB::ErrorType: 'static,
    {
        let panels: Vec<PlotPanel> = self.panels.iter().map(|p| p.plot(&[], Corner::UpperRight)).collect();
        draw_grid(root, &self.title, 1, &panels)
    }
}

/// One panel of a [`LineGrid`]: its lines, dashed guides and preferred legend corner.
#[derive(Clone, Debug, PartialEq)]
pub struct GridPanel {
    /// The panel.
    pub panel: Panel,
    /// Dashed horizontal guides, drawn over the lines.
    pub guides: Vec<Guide>,
    /// Where its legend goes if that spot is free.
    pub legend: Corner,
}

/// Line panels in a grid of `cols` columns, filled row by row, each with
/// optional dashed horizontal guides (drawn over the lines, with a legend
/// entry when named). Lines as in [`LinePanels`]; sizes as in [`super::PlotGrid`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LineGrid {
    /// Figure title.
    pub title: String,
    /// Columns of the grid (at least 1).
    pub cols: usize,
    /// The panels.
    pub panels: Vec<GridPanel>,
}

impl Chart for LineGrid {
    fn size(&self) -> (u32, u32) {
        let rows = self.panels.len().div_ceil(self.cols.max(1)).max(1) as u32;
        ((650 * self.cols.max(1) as u32).max(800), 420 * rows + 60)
    }

    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<Layout>
    where
        DB::ErrorType: 'static,
    {
        let panels: Vec<PlotPanel> = self.panels.iter().map(|g| g.panel.plot(&g.guides, g.legend)).collect();
        draw_grid(root, &self.title, self.cols, &panels)
    }
}
