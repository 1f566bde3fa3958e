//! Text: number formatting for labels, text measurement, and the PNG text
//! renderer.
//!
//! **Why PNG text is drawn here.** plotters 0.3.7 rasterises text with
//! ab_glyph but places each glyph at the pen position without its left
//! side bearing (`px_bounds().min.x`) and truncates its vertical offset
//! towards zero. Wide glyphs hardly move; a narrow glyph with a large
//! bearing moves onto its neighbour: at 13 px a "." after "s" or "y" lands
//! inside that letter and is gone ("ps.dc_only.cost" read "ps dc_onlycost"
//! in rotated category labels). [`GlyphFix`] wraps the bitmap backend and
//! draws text with ab_glyph's own glyph positioning, in the same layout box
//! plotters uses (so labels sit where the SVG puts them).

use ab_glyph::{Font, ScaleFont, point};
use plotters::prelude::DrawingBackend;
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind};

use super::style::{FONT, glyphs};

/// `x` with `decimals` decimals, never as a negative zero: a value that
/// rounds to zero prints without a sign ("0", "0.00"); non-finite values
/// print "n/a".
pub fn fmt_num(x: f64, decimals: usize) -> String {
    if !x.is_finite() {
        return "n/a".into();
    }
    let s = format!("{x:.decimals$}");
    match s.strip_prefix('-') {
        Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest.to_string(),
        _ => s,
    }
}

/// Like [`fmt_num`] with an explicit "+" on positive values; a value that
/// rounds to zero prints without a sign.
pub fn fmt_signed(x: f64, decimals: usize) -> String {
    let s = fmt_num(x, decimals);
    if x.is_finite() && !s.starts_with('-') && s.chars().any(|c| c.is_ascii_digit() && c != '0') {
        format!("+{s}")
    } else {
        s
    }
}

/// "1 seed" or "N seeds".
pub fn seeds(n: usize) -> String {
    if n == 1 { "1 seed".into() } else { format!("{n} seeds") }
}

/// What a chart's intervals are, for its title: "95% CI over N seeds", or
/// "1 seed, no interval" (one seed gives no interval; charts draw none).
pub fn ci_over(n: usize) -> String {
    if n < 2 { format!("{}, no interval", seeds(n)) } else { format!("95% CI over {}", seeds(n)) }
}

/// Every "-0" in `text` that stands for a zero ("-0", "-0.00", "-0%"), with
/// its sign dropped; other text unchanged. Applied to caller-supplied labels.
pub fn without_negative_zero(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let starts_number = i == 0 || !(b[i - 1].is_ascii_digit() || b[i - 1] == b'.');
        if b[i] == b'-' && starts_number && b.get(i + 1) == Some(&b'0') {
            // The number after the sign: digits and at most one '.'.
            let mut j = i + 1;
            while j < b.len() && (b[j].is_ascii_digit() || b[j] == b'.') {
                j += 1;
            }
            let number = &text[i + 1..j];
            let dot_ok = number.matches('.').count() <= 1 && !number.ends_with('.');
            if dot_ok && number.chars().all(|c| c == '0' || c == '.') {
                i += 1;
                continue;
            }
        }
        let c = text[i..].chars().next().expect("in bounds");
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// The first "-0" standing for a zero in `text` (see [`without_negative_zero`]), if any.
pub fn has_negative_zero(text: &str) -> bool {
    without_negative_zero(text) != text
}

/// Width in pixels of `text` at `size` as plotters lays it out (sum of
/// advances and kerning), so that legend boxes fit their labels exactly.
pub(super) fn text_width(text: &str, size: f64) -> f64 {
    let Some(font) = glyphs() else { return 0.6 * size * text.chars().count() as f64 };
    let font = font.as_scaled(size as f32);
    let mut w = 0f32;
    let mut prev = None;
    for c in text.chars() {
        let id = font.glyph_id(c);
        if let Some(p) = prev {
            w += font.kern(p, id);
        }
        w += font.h_advance(id);
        prev = Some(id);
    }
    f64::from(w.trunc())
}

/// Height in pixels of a line of text at `size` as plotters lays it out.
pub(super) fn text_height(size: f64) -> f64 {
    (size / 1.24).trunc()
}

/// A bitmap backend whose text is drawn glyph by glyph with ab_glyph's
/// positioning (see the module docs); everything else is passed through.
pub(super) struct GlyphFix<B>(pub B);

impl<B: DrawingBackend> DrawingBackend for GlyphFix<B> {
    type ErrorType = B::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.0.get_size()
    }
    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.ensure_prepared()
    }
    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.present()
    }
    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_pixel(point, color)
    }
    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_line(from, to, style)
    }
    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_rect(upper_left, bottom_right, style, fill)
    }
    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_path(path, style)
    }
    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_circle(center, radius, style, fill)
    }
    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.fill_polygon(vert, style)
    }
    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        (iw, ih): (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.blit_bitmap(pos, (iw, ih), src)
    }

    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let font = match glyphs() {
            Some(font) if style.family().as_str() == FONT => font,
            _ => return self.0.draw_text(text, style, pos),
        };
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        // The layout box and anchor exactly as plotters computes them.
        let ((min_x, min_y), (max_x, max_y)) =
            style.layout_box(text).map_err(|e| DrawingErrorKind::FontError(Box::new(e)))?;
        let (width, height) = (max_x - min_x, max_y - min_y);
        let dx = match style.anchor().h_pos {
            HPos::Left => 0,
            HPos::Right => -width,
            HPos::Center => -width / 2,
        };
        let dy = match style.anchor().v_pos {
            VPos::Top => 0,
            VPos::Center => -height / 2,
            VPos::Bottom => -height,
        };
        let trans = style.transform();
        let size = style.size() as f32;
        let scaled = font.as_scaled(size);
        // plotters puts the baseline half the font size below the box top.
        let baseline = size / 2.0;
        let mut pixels: Vec<(i32, i32, f32)> = Vec::new();
        let mut caret = 0f32;
        let mut prev = None;
        for c in text.chars() {
            let id = scaled.glyph_id(c);
            if let Some(p) = prev {
                caret += scaled.kern(p, id);
            }
            let glyph = id.with_scale_and_position(size, point(caret, baseline));
            if let Some(outline) = font.outline_glyph(glyph) {
                let b = outline.px_bounds();
                let (bx, by) = (b.min.x as i32, b.min.y as i32);
                outline.draw(|x, y, coverage| {
                    if coverage > 0.0 {
                        let (tx, ty) = trans.transform(bx + x as i32 + dx - min_x, by + y as i32 + dy - min_y);
                        pixels.push((pos.0 + tx, pos.1 + ty, coverage.min(1.0)));
                    }
                });
            }
            caret += scaled.h_advance(id);
            prev = Some(id);
        }
        let (w, h) = self.get_size();
        for (x, y, coverage) in pixels {
            if x >= 0 && y >= 0 && (x as u32) < w && (y as u32) < h {
                let c = BackendColor { alpha: color.alpha * f64::from(coverage), rgb: color.rgb };
                self.0.draw_pixel((x, y), c)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plotters::prelude::*;
    use plotters::style::FontTransform;
    use plotters::style::text_anchor::Pos;

    #[test]
    fn numbers_never_print_a_negative_zero() {
        assert_eq!(fmt_num(-0.0, 0), "0");
        assert_eq!(fmt_num(-0.004, 2), "0.00");
        assert_eq!(fmt_num(-0.4, 0), "0");
        assert_eq!(fmt_num(-0.6, 0), "-1");
        assert_eq!(fmt_num(2.5, 1), "2.5");
        assert_eq!(fmt_num(f64::NAN, 1), "n/a");
        assert_eq!(fmt_signed(-0.3, 0), "0");
        assert_eq!(fmt_signed(0.3, 0), "0");
        assert_eq!(fmt_signed(3.0, 0), "+3");
        assert_eq!(fmt_signed(-3.0, 0), "-3");
        assert_eq!(
            without_negative_zero("Δc -0% Δp -0.0% x-0 a -0.5 -05 -10 1-0"),
            "Δc 0% Δp 0.0% x0 a -0.5 -05 -10 1-0"
        );
        assert_eq!(without_negative_zero("-0"), "0");
        assert!(has_negative_zero("(-0%)") && !has_negative_zero("-0.01") && !has_negative_zero("10-0.5"));
        assert_eq!(seeds(1), "1 seed");
        assert_eq!(ci_over(1), "1 seed, no interval");
        assert_eq!(ci_over(20), "95% CI over 20 seeds");
    }

    /// Dark 8-connected blobs in a grey-scale image.
    fn blobs(img: &[u8], w: usize, h: usize) -> usize {
        let dark = |i: usize| img[3 * i] < 160;
        let mut seen = vec![false; w * h];
        let mut n = 0;
        for start in 0..w * h {
            if seen[start] || !dark(start) {
                continue;
            }
            n += 1;
            let mut stack = vec![start];
            seen[start] = true;
            while let Some(i) = stack.pop() {
                let (x, y) = ((i % w) as i64, (i / w) as i64);
                for (dx, dy) in [(-1, -1), (0, -1), (1, -1), (-1, 0), (1, 0), (-1, 1), (0, 1), (1, 1)] {
                    let (nx, ny) = (x + dx, y + dy);
                    if nx >= 0 && ny >= 0 && (nx as usize) < w && (ny as usize) < h {
                        let j = ny as usize * w + nx as usize;
                        if !seen[j] && dark(j) {
                            seen[j] = true;
                            stack.push(j);
                        }
                    }
                }
            }
        }
        n
    }

    fn draw(text: &str, rot: &FontTransform, fixed: bool) -> usize {
        super::super::style::ensure_font().unwrap();
        let (w, h) = (160u32, 160u32);
        let mut buf = vec![255u8; (w * h * 3) as usize];
        {
            let style =
                TextStyle::from((FONT, 13).into_font().transform(rot.clone())).pos(Pos::new(HPos::Left, VPos::Center));
            if fixed {
                let root = GlyphFix(BitMapBackend::with_buffer(&mut buf, (w, h))).into_drawing_area();
                root.draw_text(text, &style, (80, 20)).unwrap();
                root.present().unwrap();
            } else {
                let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
                root.draw_text(text, &style, (80, 20)).unwrap();
                root.present().unwrap();
            }
        }
        blobs(&buf, w as usize, h as usize)
    }

    /// "s.s" is three blobs of ink: the dot stands apart, upright and rotated.
    /// (plotters' own renderer merges the dot into the first "s": two blobs.)
    #[test]
    fn every_glyph_keeps_its_ink() {
        for rot in [FontTransform::None, FontTransform::Rotate90, FontTransform::Rotate270] {
            assert_eq!(draw("s.s", &rot, true), 3);
            assert_eq!(draw("y.y", &rot, true), 3);
            assert_eq!(draw("s..s", &rot, true), 4);
        }
        assert_eq!(draw("s.s", &FontTransform::Rotate90, false), 2, "plotters' renderer still loses the dot");
    }

    #[test]
    fn widths_match_plotters() {
        super::super::style::ensure_font().unwrap();
        for (t, size) in [("ps.dc_only.cost", 13.0), ("policy on", 16.0), ("Δc +172% Δp 0%", 18.0)] {
            let (w, h) = (FONT, size).into_font().box_size(t).unwrap();
            assert_eq!(text_width(t, size), f64::from(w));
            assert_eq!(text_height(size), f64::from(h));
        }
    }
}
