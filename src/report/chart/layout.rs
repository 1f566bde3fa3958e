//! The geometry a chart drew, in pixels: per panel the plot area, the
//! legend box and every mark the legend must not cover. Drawing functions
//! return it so that tests can check the layout (legends never over data)
//! on geometry rather than on pixels.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

/// An axis-aligned rectangle in pixels (`x0 <= x1`, `y0 <= y1`, y down).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rect {
    /// Left edge.
    pub x0: f64,
    /// Top edge.
    pub y0: f64,
    /// Right edge.
    pub x1: f64,
    /// Bottom edge.
    pub y1: f64,
}

impl Rect {
    /// The rectangle spanned by two corners in any order.
    pub fn spanning(a: (f64, f64), b: (f64, f64)) -> Rect {
        Rect { x0: a.0.min(b.0), y0: a.1.min(b.1), x1: a.0.max(b.0), y1: a.1.max(b.1) }
    }

    /// Width.
    pub fn width(&self) -> f64 {
        self.x1 - self.x0
    }

    /// Height.
    pub fn height(&self) -> f64 {
        self.y1 - self.y0
    }

    /// This rectangle grown by `d` on every side.
    pub fn inflate(&self, d: f64) -> Rect {
        Rect { x0: self.x0 - d, y0: self.y0 - d, x1: self.x1 + d, y1: self.y1 + d }
    }

    /// Whether the two share interior points (touching edges do not count).
    pub fn overlaps(&self, o: &Rect) -> bool {
        self.x0 < o.x1 && o.x0 < self.x1 && self.y0 < o.y1 && o.y0 < self.y1
    }

    /// Whether `o` lies within this rectangle.
    pub fn contains(&self, o: &Rect) -> bool {
        o.x0 >= self.x0 && o.x1 <= self.x1 && o.y0 >= self.y0 && o.y1 <= self.y1
    }
}

/// Something drawn in a plot that a legend must not cover.
#[derive(Clone, Debug, PartialEq)]
pub enum Mark {
    /// A filled or outlined box (a bar, a heat-map cell, a box of a box
    /// plot, the text box of a label).
    Box(Rect),
    /// A straight piece of a line, `half_width` pixels either side.
    Segment {
        /// One end.
        a: (f64, f64),
        /// The other end.
        b: (f64, f64),
        /// Half the stroke width.
        half_width: f64,
    },
    /// A dot.
    Dot {
        /// Centre.
        c: (f64, f64),
        /// Radius.
        r: f64,
    },
    /// A convex quadrilateral (a piece of an interval band between two samples).
    Quad([(f64, f64); 4]),
}

impl Mark {
    /// Whether the mark shares interior points with `r`.
    pub fn hits(&self, r: &Rect) -> bool {
        match self {
            Mark::Box(b) => b.overlaps(r),
            Mark::Segment { a, b, half_width } => segment_hits(*a, *b, &r.inflate(*half_width)),
            Mark::Dot { c, r: radius } => {
                let dx = (r.x0 - c.0).max(0.0).max(c.0 - r.x1);
                let dy = (r.y0 - c.1).max(0.0).max(c.1 - r.y1);
                dx * dx + dy * dy < radius * radius
            }
            Mark::Quad(pts) => convex_hits(pts, r),
        }
    }

    /// The smallest rectangle holding the mark.
    pub fn bbox(&self) -> Rect {
        match self {
            Mark::Box(b) => *b,
            Mark::Segment { a, b, half_width } => Rect::spanning(*a, *b).inflate(*half_width),
            Mark::Dot { c, r } => Rect { x0: c.0 - r, y0: c.1 - r, x1: c.0 + r, y1: c.1 + r },
            Mark::Quad(p) => p.iter().skip(1).fold(Rect::spanning(p[0], p[0]), |acc, q| Rect {
                x0: acc.x0.min(q.0),
                y0: acc.y0.min(q.1),
                x1: acc.x1.max(q.0),
                y1: acc.y1.max(q.1),
            }),
        }
    }
}

/// Whether segment `a`–`b` passes through the interior of `r` (Liang–Barsky clipping).
fn segment_hits(a: (f64, f64), b: (f64, f64), r: &Rect) -> bool {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (p, q) in [(-dx, a.0 - r.x0), (dx, r.x1 - a.0), (-dy, a.1 - r.y0), (dy, r.y1 - a.1)] {
        if p == 0.0 {
            if q <= 0.0 {
                return false;
            }
        } else {
            let t = q / p;
            if p < 0.0 {
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
            if t0 >= t1 {
                return false;
            }
        }
    }
    true
}

/// Whether a convex polygon and a rectangle share interior points
/// (separating axis test over both shapes' edge normals).
fn convex_hits(poly: &[(f64, f64)], r: &Rect) -> bool {
    let rect = [(r.x0, r.y0), (r.x1, r.y0), (r.x1, r.y1), (r.x0, r.y1)];
    let mut axes: Vec<(f64, f64)> = vec![(1.0, 0.0), (0.0, 1.0)];
    for i in 0..poly.len() {
        let (p, q) = (poly[i], poly[(i + 1) % poly.len()]);
        let n = (q.1 - p.1, p.0 - q.0);
        if n.0 != 0.0 || n.1 != 0.0 {
            axes.push(n);
        }
    }
    let project = |pts: &[(f64, f64)], ax: (f64, f64)| {
        pts.iter()
            .map(|p| p.0 * ax.0 + p.1 * ax.1)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)))
    };
    axes.into_iter().all(|ax| {
        let (a0, a1) = project(poly, ax);
        let (b0, b1) = project(&rect, ax);
        a0 < b1 && b0 < a1
    })
}

/// The geometry of one panel.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PanelLayout {
    /// Its plot area (the axes' inside).
    pub plot: Option<Rect>,
    /// Its legend box, if it has one (inside the plot area, or in a strip above it).
    pub legend: Option<Rect>,
    /// Every data mark, and every label drawn among the data, that the legend must not cover.
    pub marks: Vec<Mark>,
}

/// The geometry of a whole figure.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Layout {
    /// Image size in pixels.
    pub size: (u32, u32),
    /// Its panels, in drawing order.
    pub panels: Vec<PanelLayout>,
}

impl Layout {
    /// Every defect of the layout, described: a legend that covers a mark of
    /// its panel or another panel's plot area, or that leaves the image.
    pub fn problems(&self) -> Vec<String> {
        let image = Rect { x0: 0.0, y0: 0.0, x1: f64::from(self.size.0), y1: f64::from(self.size.1) };
        let mut out = Vec::new();
        for (i, p) in self.panels.iter().enumerate() {
            let Some(legend) = p.legend else { continue };
            if !image.contains(&legend) {
                out.push(format!("panel {i}: legend {legend:?} leaves the image {image:?}"));
            }
            if let Some(m) = p.marks.iter().find(|m| m.hits(&legend)) {
                let n = p.marks.iter().filter(|m| m.hits(&legend)).count();
                out.push(format!("panel {i}: legend {legend:?} covers {n} mark(s), e.g. {m:?}"));
            }
            for (j, q) in self.panels.iter().enumerate() {
                if let Some(plot) = q.plot.filter(|_| j != i)
                    && plot.overlaps(&legend)
                {
                    out.push(format!("panel {i}: legend {legend:?} covers the plot area of panel {j}"));
                }
            }
        }
        out
    }
}

thread_local! {
    static RECORDED: RefCell<Option<Vec<(PathBuf, Layout)>>> = const { RefCell::new(None) };
}

/// Run `f`, collecting the layout of every chart it writes on this thread
/// (PNG path and layout, in writing order).
pub fn record_layouts<T>(f: impl FnOnce() -> T) -> (T, Vec<(PathBuf, Layout)>) {
    let before = RECORDED.with(|r| r.borrow_mut().replace(Vec::new()));
    let out = f();
    let got = RECORDED.with(|r| std::mem::replace(&mut *r.borrow_mut(), before)).unwrap_or_default();
    (out, got)
}

/// Note a written chart's layout if [`record_layouts`] is collecting.
pub(super) fn note(path: &Path, layout: &Layout) {
    RECORDED.with(|r| {
        if let Some(v) = r.borrow_mut().as_mut() {
            v.push((path.to_path_buf(), layout.clone()));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hit_tests() {
        let r = Rect { x0: 10.0, y0: 10.0, x1: 20.0, y1: 20.0 };
        assert!(Mark::Box(Rect { x0: 19.0, y0: 0.0, x1: 30.0, y1: 11.0 }).hits(&r));
        assert!(!Mark::Box(Rect { x0: 20.0, y0: 0.0, x1: 30.0, y1: 11.0 }).hits(&r), "touching edges");
        let seg = |a, b| Mark::Segment { a, b, half_width: 1.0 };
        assert!(seg((0.0, 0.0), (30.0, 30.0)).hits(&r));
        assert!(!seg((0.0, 25.0), (25.0, 30.0)).hits(&r));
        assert!(seg((15.0, 0.0), (15.0, 5.0)).hits(&r.inflate(5.5)));
        assert!(seg((0.0, 20.5), (30.0, 20.5)).hits(&r), "the stroke's width counts");
        assert!(!seg((0.0, 21.0), (30.0, 21.0)).hits(&r), "touching");
        assert!(Mark::Dot { c: (22.0, 15.0), r: 3.0 }.hits(&r));
        assert!(!Mark::Dot { c: (23.0, 23.0), r: 3.0 }.hits(&r));
        let quad = Mark::Quad([(0.0, 0.0), (8.0, 0.0), (30.0, 30.0), (0.0, 8.0)]);
        assert!(quad.hits(&r));
        let thin = Mark::Quad([(0.0, 0.0), (5.0, 0.0), (5.0, 30.0), (0.0, 30.0)]);
        assert!(!thin.hits(&r));
        assert_eq!(quad.bbox(), Rect { x0: 0.0, y0: 0.0, x1: 30.0, y1: 30.0 });
    }

    #[test]
    fn problems_name_the_covered_marks() {
        let legend = Rect { x0: 10.0, y0: 10.0, x1: 50.0, y1: 30.0 };
        let mut l = Layout {
            size: (100, 100),
            panels: vec![PanelLayout {
                plot: Some(Rect { x0: 0.0, y0: 0.0, x1: 100.0, y1: 100.0 }),
                legend: Some(legend),
                marks: vec![Mark::Dot { c: (80.0, 80.0), r: 2.0 }],
            }],
        };
        assert!(l.problems().is_empty());
        l.panels[0].marks.push(Mark::Dot { c: (20.0, 20.0), r: 2.0 });
        assert_eq!(l.problems().len(), 1);
        l.size = (40, 100);
        assert_eq!(l.problems().len(), 2);
    }

    #[test]
    fn recording_is_scoped() {
        let l = Layout { size: (1, 1), panels: vec![] };
        note(Path::new("a.png"), &l);
        let ((), got) = record_layouts(|| {
            note(Path::new("b.png"), &l);
            let ((), inner) = record_layouts(|| note(Path::new("c.png"), &l));
            assert_eq!(inner.len(), 1);
        });
        assert_eq!(got, vec![(PathBuf::from("b.png"), l)]);
    }
}
