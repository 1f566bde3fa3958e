//! Every chart of every shipped study, drawn from a small run of each
//! scenario file: no legend covers data (checked on the layout each chart
//! reports, in pixels), every PNG has its SVG, no label prints a negative
//! zero, and a run of one seed draws no interval and never says "1 seeds".
//!
//! The three `*_scale` files are left out: they run the studies of
//! `reliability_v2`, `economic_value` and `identity_rotation` (whose scale
//! mode draws no chart) at sizes that take minutes, and draw the same charts.

use std::path::{Path, PathBuf};

use omerta_sim::engine::progress::ProgressMode;
use omerta_sim::report::chart::{Layout, has_negative_zero, record_layouts};
use omerta_sim::report::results::files_under;
use omerta_sim::study::exec::{RunOptions, run_study};

use super::{root, study};

/// Every scenario file of `models/` but the scale ones, with the overrides
/// that keep its run small.
fn shipped() -> Vec<(String, Vec<&'static str>)> {
    let mut files: Vec<String> = std::fs::read_dir(root().join("models"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|f| f.ends_with(".toml") && !f.contains("_scale"))
        .collect();
    files.sort();
    assert!(files.len() >= 30, "the shipped scenario files: {files:?}");
    files
        .into_iter()
        .map(|f| {
            let sets = if f.starts_with("full_study") {
                vec!["full_study.iterations=1", "full_study.samples=2"]
            } else {
                Vec::new()
            };
            (f, sets)
        })
        .collect()
}

/// Run `file` with `sets` on `n` seeds into a fresh folder; the folder and
/// the layout of every chart written.
fn run_charts(file: &str, sets: &[&str], n: usize, out: &Path) -> Vec<(PathBuf, Layout)> {
    let s = study(file, sets);
    let (base, _) = s.default_seeds();
    let seeds: Vec<u64> = match s.grid_seeds() {
        Some(grid) => grid.into_iter().take(n).collect(),
        None => (base..base + n as u64).collect(),
    };
    let opts =
        RunOptions { seeds, jobs: 0, progress: ProgressMode::None, snapshot_every: None, out: out.to_path_buf() };
    let (res, layouts) = record_layouts(|| run_study(s.as_ref(), &opts));
    res.unwrap_or_else(|e| panic!("{file}: {e:#}"));
    layouts
}

/// The text of every `<text>` element of an SVG.
fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("<text").skip(1).filter_map(|t| Some(t.split_once('>')?.1.split_once("</text>")?.0.to_string())).collect()
}

/// The checks every run's charts must pass; `what` names the run.
fn check(what: &str, out: &Path, layouts: &[(PathBuf, Layout)]) -> usize {
    let pngs = files_under(out, "png").unwrap();
    for png in &pngs {
        let rel = png.strip_prefix(out).unwrap();
        assert_eq!(rel.parent().and_then(|p| p.to_str()), Some("charts"), "{what}: {} not in charts/", rel.display());
        assert!(png.with_extension("svg").exists(), "{what}: {} has no SVG", rel.display());
        let (_, layout) = layouts
            .iter()
            .find(|(p, _)| p == png)
            .unwrap_or_else(|| panic!("{what}: no layout recorded for {}", rel.display()));
        assert!(!layout.panels.is_empty(), "{what}: {} has no panel", rel.display());
        let problems = layout.problems();
        assert!(problems.is_empty(), "{what}: {}:\n{}", rel.display(), problems.join("\n"));
        let svg = std::fs::read_to_string(png.with_extension("svg")).unwrap();
        for t in svg_texts(&svg) {
            assert!(!has_negative_zero(&t), "{what}: {} prints {t:?}", rel.display());
            assert!(!t.contains(" 1 seeds"), "{what}: {} prints {t:?}", rel.display());
        }
    }
    assert_eq!(pngs.len(), layouts.len(), "{what}: one layout per chart");
    pngs.len()
}

#[test]
fn every_chart_keeps_its_legend_off_the_data() {
    let mut charts = 0;
    for (file, sets) in shipped() {
        let dir = tempfile::tempdir().unwrap();
        let layouts = run_charts(&file, &sets, 2, dir.path());
        charts += check(&file, dir.path(), &layouts);
    }
    // Every study draws charts; the count guards against a silent skip.
    assert!(charts >= 90, "{charts} charts");
}

/// With one seed no chart draws an interval band (an SVG polygon) or
/// speaks of one, and none says "1 seeds" (bars of one seed have no
/// whisker: see `Bar::of_metric`).
#[test]
fn one_seed_draws_no_interval() {
    for file in ["reliability_v2.toml", "trust_dynamics.toml", "failure_modes.toml", "monetary_policy_iteration2.toml"]
    {
        let dir = tempfile::tempdir().unwrap();
        let layouts = run_charts(file, &[], 1, dir.path());
        assert!(check(file, dir.path(), &layouts) > 0);
        for svg in files_under(dir.path(), "svg").unwrap() {
            let text = std::fs::read_to_string(&svg).unwrap();
            assert!(!text.contains("<polygon"), "{file}: {} draws a band", svg.display());
            assert!(!text.contains("95% CI over"), "{file}: {} speaks of an interval", svg.display());
        }
    }
}
