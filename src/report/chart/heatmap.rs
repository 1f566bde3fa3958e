//! Heat maps ([`HeatMap`]): a grid of coloured, annotated cells with a
//! colour bar for a continuous scale or a legend of swatches for classes.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::Chart;
use super::axis::{CategoryAxis, NumAxis, category_label, label_font_size, padded_range};
use super::frame::{Corner, Frame, Prim, draw_frame, note_strip, wrap};
use super::layout::{Layout, Rect};
use super::style::{FONT, MISSING};
use super::text::{fmt_num, text_height, text_width, without_negative_zero};

/// Diverging blue–white–red colour for `t` in `[-1, 1]`.
pub(super) fn diverging(t: f64) -> RGBColor {
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
pub(super) fn rdylgn(t: f64) -> RGBColor {
    let t = if t.is_finite() { t.clamp(-1.0, 1.0) } else { 0.0 };
    let pos = (t + 1.0) / 2.0 * (RDYLGN.len() - 1) as f64;
    let i = (pos.floor() as usize).min(RDYLGN.len() - 2);
    let f = pos - i as f64;
    let (a, b) = (RDYLGN[i], RDYLGN[i + 1]);
    let mix = |x: u8, y: u8| (f64::from(x) + (f64::from(y) - f64::from(x)) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Viridis (matplotlib's default map, 9 anchors) for `t` in `[0, 1]`,
/// linear between the anchors; non-finite `t` gives the middle.
pub(super) fn viridis(t: f64) -> RGBColor {
    const V: [(u8, u8, u8); 9] = [
        (68, 1, 84),
        (71, 44, 122),
        (59, 81, 139),
        (44, 113, 142),
        (33, 144, 141),
        (39, 173, 129),
        (92, 200, 99),
        (170, 220, 50),
        (253, 231, 37),
    ];
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.5 };
    let pos = t * (V.len() - 1) as f64;
    let i = (pos.floor() as usize).min(V.len() - 2);
    let f = pos - i as f64;
    let (a, b) = (V[i], V[i + 1]);
    let mix = |x: u8, y: u8| (f64::from(x) + (f64::from(y) - f64::from(x)) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// One class of a [`HeatScale::Classes`] map.
#[derive(Clone, Debug, PartialEq)]
pub struct HeatClass {
    /// The cell value that stands for this class.
    pub value: f64,
    /// Its name in the legend.
    pub label: String,
    /// Its colour.
    pub color: RGBColor,
}

/// Colour scale of a heat map.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum HeatScale {
    /// Blue–white–red, symmetric at ± the largest |value|, with a colour bar.
    #[default]
    Diverging,
    /// Red–yellow–green on the fixed range `[−limit, +limit]` (values
    /// beyond are drawn in the end colours; a limit that is not a positive
    /// finite number falls back to ± the largest |value|), with a colour bar.
    RdYlGn(f64),
    /// Discrete classes: a cell takes the colour of the class whose value
    /// is nearest its own; a legend of swatches names the classes.
    Classes(Vec<HeatClass>),
    /// Viridis (dark purple to yellow) from the smallest to the largest
    /// value, with a colour bar: for a level rather than a signed change.
    Sequential,
}

/// Heat map of `values[y][x]`, row 0 at the top; each cell annotated with
/// its text of `labels` (indexed like `values`) or, when `labels` has none
/// for it, its value (2 decimals); `None`/non-finite cells are grey ("n/a").
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HeatMap {
    /// Figure title.
    pub title: String,
    /// A note under the title (e.g. what the cell texts say); empty: none.
    pub note: String,
    /// Column names.
    pub x_labels: Vec<String>,
    /// Row names, top to bottom.
    pub y_labels: Vec<String>,
    /// The values.
    pub values: Vec<Vec<Option<f64>>>,
    /// Cell texts (empty: the values).
    pub labels: Vec<Vec<String>>,
    /// Description of the colour bar, or title of the class legend.
    pub value_label: String,
    /// Colour scale.
    pub scale: HeatScale,
}

impl HeatMap {
    fn value(&self, y: usize, x: usize) -> Option<f64> {
        self.values.get(y).and_then(|r| r.get(x)).copied().flatten().filter(|v| v.is_finite())
    }

    /// The end of a continuous scale.
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

    /// The values the colour bar spans: the finite values' range for a
    /// sequential scale (±10 % around a single value), ± the end otherwise.
    fn range(&self) -> (f64, f64) {
        if self.scale == HeatScale::Sequential {
            let finite = || self.values.iter().flatten().flatten().copied().filter(|v| v.is_finite());
            return padded_range(finite(), 0.0);
        }
        let m = self.max_abs();
        (-m, m)
    }

    /// The colour of value `v`.
    fn color(&self, v: f64) -> RGBColor {
        match &self.scale {
            HeatScale::Sequential => {
                let (lo, hi) = self.range();
                viridis((v - lo) / (hi - lo))
            }
            HeatScale::Diverging => diverging(v / self.max_abs()),
            HeatScale::RdYlGn(_) => rdylgn(v / self.max_abs()),
            HeatScale::Classes(classes) => classes
                .iter()
                .min_by(|a, b| (a.value - v).abs().total_cmp(&(b.value - v).abs()))
                .map_or(MISSING, |c| c.color),
        }
    }

    /// Width of the scale column at the right.
    fn scale_width(&self) -> u32 {
        match &self.scale {
            HeatScale::Classes(classes) => {
                let w = classes.iter().map(|c| text_width(&c.label, 15.0)).fold(0.0, f64::max);
                (w as u32 + 70).clamp(170, 320)
            }
            _ => 170,
        }
    }
}

/// Whether text on `c` reads better in white.
fn dark(c: RGBColor) -> bool {
    0.299 * f64::from(c.0) + 0.587 * f64::from(c.1) + 0.114 * f64::from(c.2) < 140.0
}

impl Chart for HeatMap {
    fn size(&self) -> (u32, u32) {
        let ny = self.y_labels.len().max(self.values.len()) as u32;
        (1200, (180 + 50 * ny).clamp(600, 1600))
    }

    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<Layout>
    where
        DB::ErrorType: 'static,
    {
        let nx = self.x_labels.len().max(self.values.iter().map(Vec::len).max().unwrap_or(0)).max(1);
        let ny = self.y_labels.len().max(self.values.len()).max(1);
        let (w, _) = root.dim_in_pixel();
        let area = root.margin(12, 0, 0, 0).titled(&without_negative_zero(&self.title), (FONT, 26))?;
        let area = note_strip(&area, &self.note, 14.0)?;
        let scale_w = self.scale_width();
        let (main, bar) = area.split_horizontally(w.saturating_sub(scale_w));

        let y_chars = self.y_labels.iter().map(|s| s.chars().count()).max().unwrap_or(1);
        let y_area = (y_chars as u32 * 9 + 20).clamp(50, 320);
        let x_chars = self.x_labels.iter().map(|s| s.chars().count()).max().unwrap_or(1);
        let (mw, mh) = main.dim_in_pixel();
        let plot_w = f64::from(mw.saturating_sub(y_area + 40));
        let plot_h = f64::from(mh.saturating_sub(90));
        // Row 0 is drawn at the top.
        let y_names: Vec<String> = (0..ny).rev().map(|j| self.y_labels.get(j).cloned().unwrap_or_default()).collect();

        let text_size = (plot_w / nx as f64 / 4.0).min(plot_h / ny as f64 / 2.2).clamp(8.0, 18.0);
        let mut prims = Vec::with_capacity(3 * nx * ny);
        let mut texts = Vec::with_capacity(nx * ny);
        for j in 0..ny {
            let row = (ny - 1 - j) as f64;
            for i in 0..nx {
                let x = i as f64;
                let v = self.value(j, i);
                let fill = v.map(|v| self.color(v)).unwrap_or(MISSING);
                prims.push(Prim::Rect { a: (x, row), b: (x + 1.0, row + 1.0), style: fill.filled() });
                prims.push(Prim::Rect { a: (x, row), b: (x + 1.0, row + 1.0), style: WHITE.stroke_width(1) });
                let label = self.labels.get(j).and_then(|r| r.get(i)).cloned();
                let s = match v {
                    Some(v) => label.unwrap_or_else(|| fmt_num(v, 2)),
                    None => label.unwrap_or_else(|| "n/a".to_string()),
                };
                texts.push(Prim::Text {
                    at: (x + 0.5, row + 0.5),
                    offset: (0, 0),
                    text: s,
                    size: text_size,
                    color: if dark(fill) { WHITE } else { BLACK },
                    anchor: Pos::new(HPos::Center, VPos::Center),
                });
            }
        }
        prims.append(&mut texts);
        let fx = |x: &f64| category_label(&self.x_labels, *x);
        let fy = |y: &f64| category_label(&y_names, *y);
        let mut panel = draw_frame(
            &main,
            Frame {
                caption: ("", 0),
                note: "",
                x: CategoryAxis::new(nx),
                y: CategoryAxis::new(ny),
                x_fmt: &fx,
                y_fmt: &fy,
                x_desc: "",
                y_desc: "",
                label_areas: (50, y_area),
                margin: 20,
                label_sizes: (label_font_size(nx, x_chars, plot_w), 14.0),
                desc_size: 15.0,
                mesh: (false, false),
                vertical_x_labels: None,
                prims,
                legend: Vec::new(),
                legend_font: 14.0,
                prefer: Corner::UpperRight,
            },
        )?;

        panel.legend = Some(match &self.scale {
            HeatScale::Classes(classes) => class_legend(&bar, classes, &self.value_label)?,
            _ => self.colour_bar(&bar)?,
        });
        Ok(Layout { size: root.dim_in_pixel(), panels: vec![panel] })
    }
}

impl HeatMap {
    /// The continuous colour bar in `bar`; returns its box in pixels.
    fn colour_bar<DB: DrawingBackend>(&self, bar: &DrawingArea<DB, Shift>) -> anyhow::Result<Rect>
    where
        DB::ErrorType: 'static,
    {
        let (lo, hi) = self.range();
        let axis = NumAxis::new((lo, hi), 8, false);
        let fmt = |v: &f64| axis.label(*v);
        let mut cb = ChartBuilder::on(bar)
            .margin_top(40)
            .margin_bottom(70)
            .margin_right(10)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..1.0, axis.clone())?;
        cb.configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_label_formatter(&fmt)
            .y_desc(without_negative_zero(&self.value_label))
            .y_label_style((FONT, 13))
            .axis_desc_style((FONT, 15))
            .draw()?;
        let steps = 100;
        cb.draw_series((0..steps).map(|k| {
            let a = lo + (hi - lo) * k as f64 / steps as f64;
            let b = lo + (hi - lo) * (k + 1) as f64 / steps as f64;
            Rectangle::new([(0.0, a), (1.0, b)], self.color((a + b) / 2.0).filled())
        }))?;
        let (xr, yr) = cb.plotting_area().get_pixel_range();
        Ok(Rect { x0: f64::from(xr.start), y0: f64::from(yr.start), x1: f64::from(xr.end), y1: f64::from(yr.end) })
    }
}

/// A legend of class swatches with a title, at the top of `area`; returns its box in pixels.
fn class_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    classes: &[HeatClass],
    title: &str,
) -> anyhow::Result<Rect>
where
    DB::ErrorType: 'static,
{
    let (w, _) = area.dim_in_pixel();
    let font = 15.0;
    let row = font + 10.0;
    let inner_w = f64::from(w) - 30.0;
    let title_lines = wrap(&without_negative_zero(title), 14.0, inner_w - 16.0);
    let title_h = title_lines.len() as f64 * (text_height(14.0) + 4.0);
    let (x0, y0) = (10, 40);
    let h = 8.0 + title_h + 6.0 + classes.len() as f64 * row + 4.0;
    let x1 = x0 + inner_w as i32;
    let y1 = y0 + h.ceil() as i32;
    area.draw(&Rectangle::new([(x0, y0), (x1, y1)], WHITE.filled()))?;
    area.draw(&Rectangle::new([(x0, y0), (x1, y1)], BLACK.stroke_width(1)))?;
    let ts = TextStyle::from((FONT, 14).into_font()).pos(Pos::new(HPos::Left, VPos::Top));
    for (k, line) in title_lines.iter().enumerate() {
        area.draw_text(line, &ts, (x0 + 8, y0 + 6 + (k as f64 * (text_height(14.0) + 4.0)) as i32))?;
    }
    let es = TextStyle::from((FONT, font).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    for (k, c) in classes.iter().enumerate() {
        let y = y0 + (8.0 + title_h + 6.0 + (k as f64 + 0.5) * row) as i32;
        area.draw(&Rectangle::new([(x0 + 8, y - 8), (x0 + 30, y + 8)], c.color.filled()))?;
        area.draw(&Rectangle::new([(x0 + 8, y - 8), (x0 + 30, y + 8)], BLACK.mix(0.5).stroke_width(1)))?;
        area.draw_text(&without_negative_zero(&c.label), &es, (x0 + 38, y))?;
    }
    let (bx, by) = area.get_base_pixel();
    Ok(Rect { x0: f64::from(bx + x0), y0: f64::from(by + y0), x1: f64::from(bx + x1), y1: f64::from(by + y1) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_scales() {
        assert_eq!(diverging(0.0), RGBColor(247, 247, 247));
        assert_eq!(diverging(1.0), RGBColor(178, 24, 43));
        assert_eq!(diverging(-1.0), RGBColor(33, 102, 172));
        assert_eq!(diverging(f64::NAN), RGBColor(247, 247, 247));
        assert_eq!(rdylgn(-1.0), RGBColor(165, 0, 38));
        assert_eq!(rdylgn(-7.0), RGBColor(165, 0, 38));
        assert_eq!(rdylgn(0.0), RGBColor(255, 255, 191));
        assert_eq!(rdylgn(1.0), RGBColor(0, 104, 55));
        assert_eq!(rdylgn(f64::NAN), RGBColor(255, 255, 191));
        assert_eq!(viridis(0.0), RGBColor(68, 1, 84));
        assert_eq!(viridis(1.0), RGBColor(253, 231, 37));
        assert_eq!(viridis(0.5), RGBColor(33, 144, 141));
        let seq = HeatMap {
            values: vec![vec![Some(10.0), Some(20.0), None]],
            scale: HeatScale::Sequential,
            ..Default::default()
        };
        assert_eq!(seq.range(), (10.0, 20.0));
        assert_eq!(seq.color(10.0), viridis(0.0));
        assert_eq!(seq.color(20.0), viridis(1.0));
        // The anchors sit every 0.2: 0.8 is the tenth, −0.5 halfway between the third and fourth.
        assert_eq!(rdylgn(0.8), RGBColor(26, 152, 80));
        assert_eq!(rdylgn(-0.5), RGBColor(249, 142, 82));
        let classes = vec![
            HeatClass { value: 1.0, label: "up".into(), color: RGBColor(0, 0, 1) },
            HeatClass { value: -1.0, label: "down".into(), color: RGBColor(0, 0, 2) },
        ];
        let h = HeatMap { scale: HeatScale::Classes(classes), ..Default::default() };
        assert_eq!(h.color(0.9), RGBColor(0, 0, 1));
        assert_eq!(h.color(-3.0), RGBColor(0, 0, 2));
    }
}
