//! Colours and the bundled font shared by every chart.

use std::sync::OnceLock;

use anyhow::anyhow;
use plotters::style::{FontStyle, RGBColor};

/// Font family used for every text element.
pub const FONT: &str = "sans-serif";

static FONT_BYTES: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
static FONT_OK: OnceLock<bool> = OnceLock::new();
static GLYPHS: OnceLock<Option<ab_glyph::FontRef<'static>>> = OnceLock::new();

/// Register the bundled DejaVu Sans as the "sans-serif" family (once per process).
pub fn ensure_font() -> anyhow::Result<()> {
    let ok = *FONT_OK.get_or_init(|| plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok());
    if ok && glyphs().is_some() { Ok(()) } else { Err(anyhow!("cannot load the bundled DejaVu Sans font")) }
}

/// The bundled font, for measuring text and drawing PNG glyphs.
pub(super) fn glyphs() -> Option<&'static ab_glyph::FontRef<'static>> {
    GLYPHS.get_or_init(|| ab_glyph::FontRef::try_from_slice(FONT_BYTES).ok()).as_ref()
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
/// Colour of thin per-item lines.
pub(super) const MUTED: RGBColor = RGBColor(120, 135, 160);
/// Colour of a heat-map cell without a value.
pub(super) const MISSING: RGBColor = RGBColor(200, 200, 200);
/// Colour of the light grid lines.
pub(super) const GRID: RGBColor = RGBColor(225, 225, 225);

/// The i-th colour of the series palette (Tableau 10, cycled).
pub fn palette(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}
