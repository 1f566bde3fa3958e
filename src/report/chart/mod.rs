//! Charts written as both `<stem>.svg` and `<stem>.png` (plotters, with the
//! bundled DejaVu Sans font: no system fontconfig needed).
//!
//! A chart is a figure struct with named fields, written with
//! [`Chart::write`]:
//!
//! | figure | what it draws |
//! |---|---|
//! | [`BarPanel`], [`BarGrid`] | grouped bars with 95 % whiskers, one panel or a grid |
//! | [`PlotPanel`], [`PlotGrid`] | lines, scatters, mean ± CI bands, guides and rules on numeric axes |
//! | [`LinePanels`], [`LineGrid`] | lines in palette colours, stacked or in a grid (drawn as plot panels) |
//! | [`BoxChart`] | box plots with every value as a dot |
//! | [`MixedGrid`] | plot panels and bar panels in one grid |
//! | [`HBarChart`] | horizontal bars with 95 % whiskers, top to bottom (a tornado) |
//! | [`HeatMap`] | annotated cells on a continuous colour bar or with a legend of classes |
//!
//! Every chart keeps its legend off the data (see `frame.rs`), prints its
//! axes with the decimals the tick step needs, never prints "-0", draws no
//! interval from one seed, and returns the [`Layout`] it drew so that tests
//! can check the geometry ([`record_layouts`] collects the layouts of every
//! chart a run writes).

mod axis;
mod bars;
mod boxes;
mod frame;
mod hbars;
mod heatmap;
mod layout;
mod lines;
mod mixed;
mod plot;
mod style;
mod text;

use std::path::Path;

use anyhow::{Context, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;

pub use bars::{Bar, BarGrid, BarPanel, BarSeries};
pub use boxes::{BoxChart, BoxSeries, BoxStats};
pub use frame::Corner;
pub use hbars::HBarChart;
pub use heatmap::{HeatClass, HeatMap, HeatScale};
pub use layout::{Layout, Mark, PanelLayout, Rect, record_layouts};
pub use lines::{GridPanel, Line, LineGrid, LinePanels, Panel};
pub use mixed::{MixedGrid, MixedPanel};
pub use plot::{Guide, PlotGrid, PlotPanel, Rule, Series, Stroke};
/// Colours callers pass to [`Series`], [`Rule`], [`BarSeries`] and [`BoxSeries`].
pub use plotters::style::RGBColor;
pub use style::{BLUE, DARK, FONT, GREEN, GREY, RED, ensure_font, palette};
pub use text::{ci_over, fmt_num, fmt_signed, has_negative_zero, seeds, without_negative_zero};

use super::results::write_atomic;

/// A figure that can be drawn onto any plotters backend.
pub trait Chart {
    /// Image size in pixels.
    fn size(&self) -> (u32, u32);

    /// Draw onto `root` (already filled white); return what was drawn where.
    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<Layout>
    where
        DB::ErrorType: 'static;

    /// Write the chart as `dir/<stem>.svg` and `dir/<stem>.png`, each
    /// atomically (creating `dir`); return its layout.
    fn write(&self, dir: &Path, stem: &str) -> anyhow::Result<Layout>
    where
        Self: Sized,
    {
        render(dir, stem, self)
    }
}

/// Render `fig` as `dir/<stem>.svg` and `dir/<stem>.png`, each atomically.
fn render<F: Chart>(dir: &Path, stem: &str, fig: &F) -> anyhow::Result<Layout> {
    ensure_font()?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let size = fig.size();

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE)?;
        fig.draw_on(&root).with_context(|| format!("drawing {stem}.svg"))?;
        root.present()?;
    }
    let svg_path = dir.join(format!("{stem}.svg"));
    write_atomic(&svg_path, svg.as_bytes()).with_context(|| format!("writing {}", svg_path.display()))?;

    // BitMapBackend picks the encoder from the extension, so the temp file ends in .png.
    let png_path = dir.join(format!("{stem}.png"));
    let mut layout = Layout::default();
    crate::engine::atomic::write_atomic_with(&png_path, Some("png"), |tmp| -> anyhow::Result<()> {
        let root = text::GlyphFix(BitMapBackend::new(tmp, size)).into_drawing_area();
        root.fill(&WHITE)?;
        layout = fig.draw_on(&root).with_context(|| format!("drawing {stem}.png"))?;
        // Encoding and writing the file happen here.
        root.present().map_err(png_error)
    })
    .with_context(|| format!("writing {}", png_path.display()))?;
    layout::note(&png_path, &layout);
    Ok(layout)
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

#[cfg(test)]
mod tests;
