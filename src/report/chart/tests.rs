use std::path::{Path, PathBuf};

use super::*;
use crate::report::stats::Support;

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "omerta-chart-{tag}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    ));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Both files exist and are sane, no temporary is left, and the layout has
/// no legend over data; returns the SVG text.
fn check_pair(dir: &Path, stem: &str, layout: &Layout) -> String {
    let png = std::fs::read(dir.join(format!("{stem}.png"))).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{stem}.png is not a PNG");
    assert!(png.len() > 5_000, "{stem}.png suspiciously small");
    let svg = std::fs::read_to_string(dir.join(format!("{stem}.svg"))).unwrap();
    assert!(svg.contains("<svg"), "{stem}.svg has no <svg");
    assert_eq!(crate::engine::atomic::temps_in(dir), Vec::<PathBuf>::new(), "temporary files left");
    assert_eq!(layout.problems(), Vec::<String>::new(), "{stem}");
    svg
}

fn finish(dir: &Path) {
    if std::env::var_os("OMERTA_KEEP_CHART_TEST").is_some() {
        crate::cli::out::errln!("charts kept in {}", dir.display());
    } else {
        std::fs::remove_dir_all(dir).unwrap();
    }
}

fn strings(s: &[&str]) -> Vec<String> {
    s.iter().map(|s| s.to_string()).collect()
}

#[test]
fn charts_smoke() {
    let dir = temp_dir("smoke");
    let bar = |label: &str, mean: f64| Bar { label: label.into(), mean, lo: mean - 0.1, hi: mean + 0.1 };
    let bars = BarPanel {
        title: "Bars title".into(),
        y_label: "share".into(),
        categories: strings(&["low", "mid", "high"]),
        series: vec![
            BarSeries::new("baseline", vec![bar("low", 0.3), bar("mid", f64::NAN), bar("high", 0.9)]),
            BarSeries::new("policy", vec![bar("high", 0.7), bar("low", 0.2)]),
        ],
        ..Default::default()
    };
    let layout = bars.write(&dir, "bars").unwrap();
    let svg = check_pair(&dir, "bars", &layout);
    for word in ["Bars title", "baseline", "policy", "low", "high", "share"] {
        assert!(svg.contains(word), "bars.svg lacks {word}");
    }
    // Four bars and four whiskers of three strokes each.
    assert_eq!(layout.panels[0].marks.len(), 4 + 4 * 3);
    assert!(layout.panels[0].legend.is_some());

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
    let layout = LinePanels { title: "Lines title".into(), panels }.write(&dir, "lines").unwrap();
    let svg = check_pair(&dir, "lines", &layout);
    assert!(svg.contains("mean") && svg.contains("Prices"));
    assert!(!svg.contains("provider 0"), "thin lines must not get a legend entry");
    // A whole-number axis prints whole numbers.
    assert!(svg.contains("\n40\n") && !svg.contains("\n40.0\n"), "integer x axis");

    let grid: Vec<GridPanel> = (0..4)
        .map(|k| {
            let line = Line {
                name: format!("run {k}"),
                points: xs.iter().map(|&x| (x, x * k as f64)).collect(),
                band: None,
                thin: false,
            };
            let panel =
                Panel { title: format!("Panel {k}"), x_label: "step".into(), y_label: "v".into(), lines: vec![line] };
            let guides = if k % 2 == 0 { vec![Guide { name: "spotlight line".into(), y: 30.0 }] } else { vec![] };
            GridPanel { panel, guides, legend: Corner::UpperLeft }
        })
        .collect();
    let layout = LineGrid { title: "Grid title".into(), cols: 2, panels: grid }.write(&dir, "grid").unwrap();
    let svg = check_pair(&dir, "grid", &layout);
    assert!(svg.contains("Panel 3") && svg.contains("spotlight line"), "grid.svg lacks a panel or the guide");
    assert_eq!(layout.panels.len(), 4);

    let xl = strings(&["a", "b", "c"]);
    let yl = strings(&["r1", "r2"]);
    let vals = vec![vec![Some(-1.0), Some(-0.001), None], vec![Some(0.5), Some(f64::NAN), Some(2.0)]];
    let heat = HeatMap {
        title: "Heat title".into(),
        x_labels: xl.clone(),
        y_labels: yl.clone(),
        values: vals,
        value_label: "correlation".into(),
        ..Default::default()
    };
    let layout = heat.write(&dir, "heat").unwrap();
    let svg = check_pair(&dir, "heat", &layout);
    for word in ["-1.00", "0.50", "2.00", "n/a", "r1", "correlation", "\n0.00\n"] {
        assert!(svg.contains(word), "heat.svg lacks {word}");
    }
    assert!(!svg.contains("-0.00"), "no negative zero");
    // A fixed RdYlGn scale: −80 on a ±40 scale is the end red, +40 the end green, 0 pale yellow.
    let heat40 = HeatMap {
        title: "Fixed".into(),
        x_labels: xl.clone(),
        y_labels: yl[..1].to_vec(),
        values: vec![vec![Some(-80.0), Some(0.0), Some(40.0)]],
        labels: vec![strings(&["-80.0", "-0.0", "40.0"])],
        value_label: "pct".into(),
        scale: HeatScale::RdYlGn(40.0),
        ..Default::default()
    };
    let layout = heat40.write(&dir, "heat40").unwrap();
    let svg = check_pair(&dir, "heat40", &layout);
    for colour in ["#A50026", "#FFFFBF", "#006837"] {
        assert!(svg.contains(colour), "heat40.svg lacks {colour}");
    }
    assert!(!has_negative_zero(&svg), "a caller's \"-0.0\" is printed \"0.0\"");
    // Classes get a legend of swatches, not a colour bar.
    let classes = vec![
        HeatClass { value: 1.0, label: "value creation".into(), color: GREEN },
        HeatClass { value: 0.0, label: "neutral".into(), color: GREY },
        HeatClass { value: -1.0, label: "cannibalization".into(), color: RED },
    ];
    let classy = HeatMap {
        title: "Classes".into(),
        note: "cells: the class most seeds gave".into(),
        x_labels: xl,
        y_labels: yl[..1].to_vec(),
        values: vec![vec![Some(1.0), Some(0.0), Some(-1.0)]],
        value_label: "class of the cell".into(),
        scale: HeatScale::Classes(classes),
        ..Default::default()
    };
    let layout = classy.write(&dir, "classes").unwrap();
    let svg = check_pair(&dir, "classes", &layout);
    for word in ["value creation", "neutral", "cannibalization", "class of the cell", "cells: the class"] {
        assert!(svg.contains(word), "classes.svg lacks {word}");
    }
    finish(&dir);
}

/// A PNG that cannot be written is an I/O error naming the file, not
/// plotters' Debug text.
#[test]
fn a_failed_png_write_names_the_file() {
    let dir = temp_dir("pngfail");
    // The final name taken by a folder that is not empty: the rename fails.
    std::fs::create_dir_all(dir.join("bars.png").join("x")).unwrap();
    let chart = BarPanel {
        categories: strings(&["a"]),
        series: vec![BarSeries::new("s", vec![Bar { label: "a".into(), mean: 1.0, lo: 0.5, hi: 1.5 }])],
        ..Default::default()
    };
    let e = chart.write(&dir, "bars").unwrap_err();
    let text = format!("{e:#}");
    assert!(text.starts_with(&format!("writing {}: ", dir.join("bars.png").display())), "{text}");
    for debug in ["Custom {", "IoError(", "ImageError("] {
        assert!(!text.contains(debug), "{text}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn mean_ci_series() {
    let samples = vec![(0.0, vec![1.0, 3.0]), (1.0, vec![f64::NAN]), (2.0, vec![2.0, 2.0, 2.0]), (3.0, vec![4.0])];
    let s = Series::mean_ci("m", RED, &samples);
    assert_eq!(s.points[0], (0.0, 2.0));
    assert!(s.points[1].1.is_nan(), "an x without values breaks the line");
    assert_eq!(s.points[2], (2.0, 2.0));
    assert_eq!(s.points[3], (3.0, 4.0));
    let band = s.band.unwrap();
    // mean 2, sd √2, t(1) = 12.706…: half-width 12.706·√2/√2.
    assert!((band[0].2 - band[0].1 - 2.0 * crate::report::stats::t_quantile_975(1)).abs() < 1e-9);
    assert!(band[0].1 < 0.0);
    assert_eq!(band[2], (2.0, 2.0, 2.0), "no spread, no width");
    assert!(band[3].1.is_nan() && band[3].2.is_nan(), "one value, no interval");
    // A quantity that cannot be negative keeps its band at or above zero.
    let s = Series::mean_ci_with("m", RED, &samples, Support::NonNegative);
    let band = s.band.unwrap();
    assert_eq!(band[0].1, 0.0);
    assert!((band[0].2 - 2.0 - crate::report::stats::t_quantile_975(1)).abs() < 1e-12);
}

#[test]
fn bars_of_one_seed_have_no_whisker() {
    use crate::report::results::MetricResult;
    let m = |values: &[f64]| {
        let vals: Vec<Option<f64>> = values.iter().map(|&v| Some(v)).collect();
        let s = crate::report::stats::summarize(&vals, false);
        MetricResult { mean: s.mean, ci95: s.ci95, n: s.n, values: vals }
    };
    let metrics = [("one".to_string(), m(&[2.0])), ("two".to_string(), m(&[1.0, 3.0]))].into_iter().collect();
    let one = Bar::of_metric(&metrics, "one", "x");
    assert_eq!(one.mean, 2.0);
    assert!(one.lo.is_nan() && one.hi.is_nan());
    let two = Bar::of_metric(&metrics, "two", "x");
    assert!(two.lo < 1.0 && two.hi > 3.0);
    assert!(Bar::of_metric(&metrics, "none", "x").mean.is_nan());
}

#[test]
fn box_points_and_plot_grid_draw_what_they_are_given() {
    let dir = temp_dir("prims");
    let series = vec![
        BoxSeries { name: "arm off".into(), color: RED, values: vec![vec![0.1, 0.2, 0.3, 0.9], vec![0.5], vec![]] },
        BoxSeries { name: "arm on".into(), color: BLUE, values: vec![vec![0.2; 50], vec![f64::NAN, 0.4], vec![]] },
    ];
    let chart = BoxChart {
        title: "Box title".into(),
        y_label: "value".into(),
        categories: strings(&["a_rather_long.scenario_name", "b", "empty"]),
        series,
        guides: vec![Guide { name: "zero line".into(), y: 0.0 }],
    };
    let layout = chart.write(&dir, "box").unwrap();
    let svg = check_pair(&dir, "box", &layout);
    for word in ["Box title", "arm off", "arm on", "zero line", "a_rather_long.scenario_name", "#D62728", "#1F77B4"] {
        assert!(svg.contains(word), "box.svg lacks {word}");
    }
    // One dot per finite value: 4 + 1 + 50 + 1 points of radius 2.
    assert_eq!(svg.matches(r#"r="2""#).count(), 56);
    let before = std::fs::read(dir.join("box.png")).unwrap();
    assert_eq!(chart.write(&dir, "box").unwrap(), layout, "same input, same layout");
    assert_eq!(std::fs::read(dir.join("box.png")).unwrap(), before, "same input, same file");
    assert_eq!(std::fs::read_to_string(dir.join("box.svg")).unwrap(), svg);
    // Nothing finite at all still writes a chart.
    BoxChart { title: "Nothing".into(), ..Default::default() }.write(&dir, "box_empty").unwrap();
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
    let grid = PlotGrid { title: "Plot title".into(), cols: 2, panels: vec![panel.clone(), empty] };
    let layout = grid.write(&dir, "plot").unwrap();
    let svg = check_pair(&dir, "plot", &layout);
    for word in ["Plot title", "mean of three", "scatter", "fit", "events", "target", "phase start", "wave one"] {
        assert!(svg.contains(word), "plot.svg lacks {word}");
    }
    assert!(!svg.contains("outside"), "a rule outside the x range is skipped");
    assert!(svg.contains("<polygon"), "the band is an area");

    let bars = |m: f64| vec![Bar { label: "b".into(), mean: m, lo: m - 0.1, hi: m + 0.1 }];
    let bp = BarPanel {
        title: "Gini".into(),
        y_label: "g".into(),
        categories: strings(&["a", "b"]),
        series: vec![
            BarSeries { name: "off".into(), colors: vec![RED], bars: bars(0.5) },
            BarSeries { name: String::new(), colors: vec![GREY, GREEN], bars: bars(0.3) },
        ],
        guides: vec![Guide { name: "goal".into(), y: 0.4 }],
        note: "Not shown: c (no anchor).".into(),
    };
    let grid = BarGrid { title: "Bar grid".into(), cols: 3, panels: vec![bp.clone(), bp.clone(), bp] };
    let layout = grid.write(&dir, "bargrid").unwrap();
    let svg = check_pair(&dir, "bargrid", &layout);
    for word in ["Bar grid", "goal", "off", "#D62728", "#2CA02C", "Not shown: c (no anchor)."] {
        assert!(svg.contains(word), "bargrid.svg lacks {word}");
    }
    // Category "b" is the second: it gets the second colour of the cycle, grey is unused.
    assert!(!svg.contains("#7F7F7F"));
    finish(&dir);
}

/// Legends stay off the data even when every corner is taken: the legend
/// moves to a strip above the plot.
#[test]
fn crowded_panels_put_the_legend_above_the_plot() {
    let dir = temp_dir("crowded");
    let xs: Vec<f64> = (0..=90).map(f64::from).collect();
    // Bands that fill the whole plot, and eight named lines.
    let series: Vec<Series> = (0..8)
        .map(|k| {
            let mut s = Series::new(
                &format!("identity number {k}"),
                palette(k),
                Stroke::Line,
                xs.iter().map(|&x| (x, (x / 7.0 + k as f64).sin() * 10.0)).collect(),
            );
            s.band = Some(xs.iter().map(|&x| (x, -12.0, 12.0)).collect());
            s
        })
        .collect();
    let panel = PlotPanel {
        title: "Crowded".into(),
        x_label: "day".into(),
        y_label: "trust".into(),
        series,
        ..Default::default()
    };
    let layout = PlotGrid { title: "Crowded".into(), cols: 1, panels: vec![panel] }.write(&dir, "crowded").unwrap();
    check_pair(&dir, "crowded", &layout);
    let p = &layout.panels[0];
    let (legend, plot) = (p.legend.unwrap(), p.plot.unwrap());
    assert!(legend.y1 <= plot.y0, "the legend sits above the plot: {legend:?} {plot:?}");

    // Tall bars everywhere but one free corner: the legend takes the free corner.
    let cats: Vec<String> = (0..12).map(|i| format!("c{i}")).collect();
    let bars: Vec<Bar> = (0..12).map(|i| Bar::plain(&format!("c{i}"), if i < 9 { 10.0 } else { 1.0 })).collect();
    let chart = BarPanel {
        title: "Free corner".into(),
        categories: cats,
        series: vec![BarSeries::new("tall", bars)],
        ..Default::default()
    };
    let layout = chart.write(&dir, "corner").unwrap();
    check_pair(&dir, "corner", &layout);
    let p = &layout.panels[0];
    let (legend, plot) = (p.legend.unwrap(), p.plot.unwrap());
    assert!(legend.y0 > plot.y0 && legend.x0 > plot.x0 + plot.width() / 2.0, "upper right, inside: {legend:?}");
    finish(&dir);
}

#[test]
fn many_short_categories_keep_a_sane_size() {
    // 60 labels of 2–3 characters do not fit side by side in a 650 px panel: they are drawn vertically.
    let cats: Vec<String> = (1..=60).map(|i| format!("c{i}")).collect();
    let panel = BarPanel {
        title: "many".into(),
        y_label: "v".into(),
        categories: cats,
        series: vec![BarSeries::new("s", vec![])],
        ..Default::default()
    };
    let fig = BarGrid { title: "Many".into(), cols: 2, panels: vec![panel.clone(), panel] };
    assert_eq!(fig.size(), (1300, 570));
    let dir = temp_dir("many");
    let layout = fig.write(&dir, "many").unwrap();
    check_pair(&dir, "many", &layout);
    finish(&dir);
}
