//! `omerta-sim explore`: tipping points (`--find`) and designs over a plan
//! file, through the binary, on the M/M/1 study whose answers queueing
//! theory knows.

use crate::{run_bin, text};
use std::path::Path;

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn csv_rows(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r.records().map(|x| x.unwrap().iter().map(String::from).collect()).collect();
    (header, rows)
}

fn ok(args: &[&str]) -> String {
    let o = run_bin(args);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{args:?}: {err}");
    out
}

fn refused(args: &[&str], expect: &[&str]) {
    let o = run_bin(args);
    let (_, err) = text(&o);
    assert!(!o.status.success(), "{args:?} should fail");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    for e in expect {
        assert!(err.contains(e), "{args:?}: expected `{e}` in {err}");
    }
}

/// The mean time in system of M/M/1 is 1/(mu - lambda): with mu = 1 it is
/// below 3 exactly while lambda < 2/3. The search brackets that.
#[test]
fn find_brackets_the_theoretical_tipping_point() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f");
    let o = out.to_str().unwrap();
    let printed = ok(&[
        "explore",
        "models/mm1.toml",
        "--find",
        "arrival_rate",
        "--range",
        "0.2,0.95",
        "--where",
        "mean_time_in_system_hours < 3",
        "--seeds",
        "10",
        "--probes",
        "14",
        "--out",
        o,
        "--progress",
        "none",
    ]);
    assert!(printed.contains("probe 1: arrival_rate = 0.2:"), "{printed}");
    let r = json(&out.join("results.json"));
    let find = &r["find"];
    assert_eq!(find["key"], "arrival_rate");
    assert_eq!(find["crossed"], true);
    let (lo, hi) = (find["lo"].as_f64().unwrap(), find["hi"].as_f64().unwrap());
    // --tol defaults to a thousandth of the range.
    assert!(lo < hi && hi - lo <= 0.75 / 1000.0, "{lo} {hi}");
    // Within about three standard errors of the estimate (the slope of W
    // at 2/3 is 9, the interval of W at 10 seeds about 0.06 wide).
    assert!((lo - 2.0 / 3.0).abs() < 0.02 && (hi - 2.0 / 3.0).abs() < 0.02, "{lo} {hi}");
    let probes = find["probes"].as_array().unwrap();
    assert!((3..=14).contains(&probes.len()), "{}", probes.len());
    // The bracket's ends are probes, one holding and one not.
    let at = |x: f64| probes.iter().find(|p| p["value"].as_f64() == Some(x)).unwrap();
    assert_ne!(at(lo)["holds"], at(hi)["holds"]);
    // Every probe: mean below 3 exactly when it holds; and the contract.
    for p in probes {
        let m = p["mean"].as_f64().unwrap();
        assert_eq!(p["holds"].as_bool().unwrap(), m < 3.0);
        let ci = p["ci95"].as_array().unwrap();
        assert!(ci[0].as_f64().unwrap() <= m && m <= ci[1].as_f64().unwrap());
    }
    assert_eq!(r["study"], "mm1");
    assert_eq!(r["seeds"].as_array().unwrap().len(), 10);
    assert!(r["metrics"]["point0.mean_time_in_system_hours"]["values"].as_array().unwrap().len() == 10);
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary.contains("| probe | arrival_rate |"), "{summary}");
}

/// A row of points.csv is what `run --set <values> --seed <s>` gives.
#[test]
fn a_point_row_equals_run_with_set() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f");
    ok(&[
        "explore",
        "models/mm1.toml",
        "--find",
        "arrival_rate",
        "--range",
        "0.3,0.9",
        "--where",
        "utilization > 0.5",
        "--seeds",
        "3",
        "--probes",
        "3",
        "--set",
        "hours=5000",
        "--out",
        out.to_str().unwrap(),
        "--progress",
        "none",
    ]);
    let (header, rows) = csv_rows(&out.join("points.csv"));
    assert_eq!(rows.len(), 9, "3 probes x 3 seeds");
    // Probe 3 is the middle, about 0.6; its seed 2, run with the value as
    // points.csv writes it.
    let row = rows.iter().find(|r| r[0] == "2" && r[1] == "2").unwrap();
    assert!((row[2].parse::<f64>().unwrap() - 0.6).abs() < 1e-12, "{}", row[2]);
    let set = format!("arrival_rate={}", row[2]);
    let run_out = dir.path().join("run");
    ok(&[
        "run",
        "models/mm1.toml",
        "--set",
        "hours=5000",
        "--set",
        &set,
        "--seed",
        "2",
        "--out",
        run_out.to_str().unwrap(),
        "--progress",
        "none",
    ]);
    let r = json(&run_out.join("results.json"));
    let mut compared = 0;
    for (k, name) in header.iter().enumerate().skip(3) {
        if let Some(m) = r["metrics"].get(name) {
            let v = m["values"][0].as_f64().unwrap();
            assert_eq!(row[k].parse::<f64>().unwrap(), v, "{name}");
            compared += 1;
        } else if let Some(id) = name.strip_prefix("finding:") {
            let f = r["findings"].as_array().unwrap().iter().find(|f| f["id"] == id).unwrap();
            assert_eq!(row[k], if f["held_in"].as_f64() == Some(1.0) { "1" } else { "0" }, "{id}");
            compared += 1;
        }
    }
    assert_eq!(compared, header.len() - 3, "{header:?}");
}

/// An integer key (`provider_count` of reliability_v2) is probed at
/// integers and the search ends on adjacent ones.
#[test]
fn find_on_an_integer_key_ends_on_adjacent_integers() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f");
    ok(&[
        "explore",
        "models/reliability_v2.toml",
        "--set",
        "rounds=2",
        "--find",
        "provider_count",
        "--range",
        "4,40",
        "--where",
        "diagnostics.sessions > 3000",
        "--seeds",
        "2",
        "--probes",
        "30",
        "--out",
        out.to_str().unwrap(),
        "--progress",
        "none",
    ]);
    let find = &json(&out.join("results.json"))["find"];
    let (lo, hi) = (find["lo"].as_f64().unwrap(), find["hi"].as_f64().unwrap());
    assert_eq!(hi - lo, 1.0, "{lo} {hi}");
    let probes = find["probes"].as_array().unwrap();
    for p in probes {
        assert_eq!(p["value"].as_f64().unwrap().fract(), 0.0);
    }
    let at = |x: f64| probes.iter().find(|p| p["value"].as_f64() == Some(x)).unwrap();
    assert_eq!((at(lo)["holds"].as_bool(), at(hi)["holds"].as_bool()), (Some(false), Some(true)));
    // A whole --range is required for an integer key.
    refused(
        &["explore", "models/reliability_v2.toml", "--find", "provider_count", "--range", "4.5,40", "--where", "x > 1"],
        &["the key is an integer", "whole numbers"],
    );
}

/// Kill the search half way (cut runs.jsonl, the last line half written):
/// the same command continues and ends with the same outputs.
#[test]
fn an_interrupted_search_continues_to_the_same_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f");
    let args = [
        "explore",
        "models/mm1.toml",
        "--find",
        "arrival_rate",
        "--range",
        "0.2,0.95",
        "--where",
        "mean_time_in_system_hours < 3",
        "--seeds",
        "3",
        "--probes",
        "6",
        "--set",
        "hours=3000",
        "--out",
        out.to_str().unwrap(),
        "--progress",
        "none",
    ];
    let first = ok(&args);
    let results = std::fs::read(out.join("results.json")).unwrap();
    let points = std::fs::read(out.join("points.csv")).unwrap();
    let runs = std::fs::read_to_string(out.join("runs.jsonl")).unwrap();
    let lines: Vec<&str> = runs.lines().collect();
    assert_eq!(lines.len(), 18);
    let cut = format!("{}\n{}", lines[..7].join("\n"), &lines[7][..lines[7].len() / 2]);
    std::fs::write(out.join("runs.jsonl"), cut).unwrap();
    for f in ["results.json", "points.csv", "summary.csv", "summary.md", "done"] {
        std::fs::remove_file(out.join(f)).unwrap();
    }
    let o = run_bin(&args);
    let (again, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("continuing the interrupted search") && err.contains("(7 runs already finished)"), "{err}");
    assert_eq!(again, first);
    assert_eq!(std::fs::read(out.join("results.json")).unwrap(), results);
    assert_eq!(std::fs::read(out.join("points.csv")).unwrap(), points);
    assert_eq!(std::fs::read_to_string(out.join("runs.jsonl")).unwrap().lines().count(), 18);
}

/// `--log` probes geometric middles and ends within a relative width.
#[test]
fn find_on_a_log_scale() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f");
    let printed = ok(&[
        "explore",
        "models/mm1.toml",
        "--set",
        "hours=2000",
        "--find",
        "arrival_rate",
        "--range",
        "0.01,0.99",
        "--log",
        "--where",
        "utilization < 0.5",
        "--seeds",
        "3",
        "--probes",
        "40",
        "--out",
        out.to_str().unwrap(),
        "--progress",
        "none",
    ]);
    assert!(printed.contains("probe 3: arrival_rate = 0.0994987"), "{printed}");
    let find = &json(&out.join("results.json"))["find"];
    let (lo, hi) = (find["lo"].as_f64().unwrap(), find["hi"].as_f64().unwrap());
    assert!(hi / lo - 1.0 <= 0.01 && (0.4..0.6).contains(&lo), "{lo} {hi}");
    refused(
        &[
            "explore",
            "models/mm1.toml",
            "--find",
            "arrival_rate",
            "--range",
            "0,0.5",
            "--log",
            "--where",
            "utilization < 0.5",
        ],
        &["--log needs a range above 0"],
    );
}

#[test]
fn no_crossing_is_said_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f");
    let printed = ok(&[
        "explore",
        "models/mm1.toml",
        "--find",
        "arrival_rate",
        "--range",
        "0.1,0.3",
        "--where",
        "littles_law < 0.5",
        "--seeds",
        "3",
        "--set",
        "hours=3000",
        "--out",
        out.to_str().unwrap(),
        "--progress",
        "none",
    ]);
    assert!(printed.contains("no crossing"), "{printed}");
    let find = &json(&out.join("results.json"))["find"];
    assert_eq!(find["crossed"], false);
    assert!(find["lo"].is_null() && find["hi"].is_null());
    assert_eq!(find["where"]["judged"], "held share");
}

#[test]
fn bad_searches_are_refused_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let o = dir.path().join("x");
    let o = o.to_str().unwrap();
    let base = |extra: &[&'static str]| {
        let mut v = vec!["explore", "models/mm1.toml", "--progress", "none", "--seeds", "2", "--set", "hours=500"];
        v.extend_from_slice(extra);
        v
    };
    let find = |key: &'static str, range: &'static str, cond: &'static str| {
        base(&["--find", key, "--range", range, "--where", cond])
    };
    let mut a = find("arrival_rate", "0.9,0.1", "utilization > 0.5");
    a.extend(["--out", o]);
    refused(&a, &["--range", "lo must be less than hi"]);
    refused(&find("arrival_rate", "a,b", "utilization > 0.5"), &["not a number"]);
    refused(&find("arrival_rate", "0.1,0.9", "utilization = 0.5"), &["--where", "<, <=, >, >="]);
    refused(&find("arrival_rate", "0.1,0.9", "utilization > x"), &["target is not a number"]);
    refused(&find("fidelity", "0.1,0.9", "utilization > 0.5"), &["--find fidelity", "needs a number"]);
    refused(&find("arival_rate", "0.1,0.9", "utilization > 0.5"), &["arival_rate"]);
    refused(&find("arrival_rate", "0.1,1.5", "utilization > 0.5"), &["service_rate"]);
    let mut a = find("arrival_rate", "0.1,0.9", "utilisation > 0.5");
    a.extend(["--out", o]);
    refused(&a, &["no metric or finding `utilisation`", "utilization"]);
    let mut a = find("arrival_rate", "0.1,0.9", "utilization > 0.5");
    a.extend(["--tol", "0"]);
    refused(&a, &["--tol must be a number greater than 0"]);
    refused(&base(&["--find", "arrival_rate"]), &["--range"]);
    refused(&base(&["--range", "1,2"]), &["--find"]);
    refused(&["explore", "models/mm1.toml"], &["PLAN"]);
    // A folder that holds another exploration, or other files.
    let mut a = find("arrival_rate", "0.1,0.9", "utilization > 0.5");
    a.extend(["--out", o, "--probes", "2", "--force"]);
    ok(&a);
    let mut b = find("arrival_rate", "0.1,0.8", "utilization > 0.5");
    b.extend(["--out", o, "--probes", "2"]);
    refused(&b, &["holds another exploration", "--force"]);
    b.push("--force");
    ok(&b);
    // A damaged runs.jsonl: the line is named.
    let runs = Path::new(o).join("runs.jsonl");
    std::fs::write(&runs, "{\"not\": \"a run\"}\n").unwrap();
    refused(&b[..b.len() - 1], &["runs.jsonl line 1", "not a run record"]);
}

#[test]
fn explore_help_explains_the_search() {
    let out = ok(&["explore", "--help"]);
    for e in [
        "--find",
        "--range",
        "--where",
        "--probes",
        "--tol",
        "--log",
        "--shard",
        "common random numbers",
        "runs.jsonl",
        "PLAN",
    ] {
        assert!(out.contains(e), "{e}: {out}");
    }
}

fn write_plan(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

const FACTORIAL: &str = r#"
design = "factorial"
seeds = 3
metrics = ["utilization"]
[factors]
arrival_rate = { min = 0.2, max = 0.6, steps = 3 }
service_rate = { levels = [1.0, 2.0] }
"#;

/// A factorial plan: every grid point over the same seeds; a row of
/// points.csv is `run --set` of its values with its seed; summary.csv has
/// one row per point; results.json records the plan and the points.
#[test]
fn a_factorial_plan_runs_every_point_over_the_same_seeds() {
    let dir = tempfile::tempdir().unwrap();
    let plan = write_plan(dir.path(), "f.toml", FACTORIAL);
    let out = dir.path().join("o");
    let md = ok(&[
        "explore",
        "models/mm1.toml",
        &plan,
        "--set",
        "hours=2000",
        "--out",
        out.to_str().unwrap(),
        "--progress",
        "none",
    ]);
    assert!(md.contains("6 point(s), 3 seed(s) per point"), "{md}");
    let (header, rows) = csv_rows(&out.join("points.csv"));
    assert_eq!(&header[..4], ["point", "seed", "arrival_rate", "service_rate"]);
    assert_eq!(rows.len(), 18);
    for p in 0..6 {
        let seeds: Vec<&str> = rows.iter().filter(|r| r[0] == p.to_string()).map(|r| r[1].as_str()).collect();
        assert_eq!(seeds, ["1", "2", "3"], "point {p}");
    }
    // The first factor varies slowest.
    let grid: Vec<(String, String)> = rows.iter().step_by(3).map(|r| (r[2].clone(), r[3].clone())).collect();
    assert_eq!(grid[0], ("0.2".to_string(), "1.0".to_string()));
    assert_eq!(grid[1], ("0.2".to_string(), "2.0".to_string()));
    assert_eq!(grid[5], ("0.6".to_string(), "2.0".to_string()));
    // Point 3 (0.4, 2.0), seed 3, against run --set.
    let row = rows.iter().find(|r| r[0] == "3" && r[1] == "3").unwrap();
    let run_out = dir.path().join("run");
    ok(&[
        "run",
        "models/mm1.toml",
        "--set",
        "hours=2000",
        "--set",
        &format!("arrival_rate={}", row[2]),
        "--set",
        &format!("service_rate={}", row[3]),
        "--seed",
        "3",
        "--out",
        run_out.to_str().unwrap(),
        "--progress",
        "none",
    ]);
    let r = json(&run_out.join("results.json"));
    let k = header.iter().position(|h| h == "mean_time_in_system_hours").unwrap();
    assert_eq!(
        row[k].parse::<f64>().unwrap(),
        r["metrics"]["mean_time_in_system_hours"]["values"][0].as_f64().unwrap()
    );
    let (sh, srows) = csv_rows(&out.join("summary.csv"));
    assert_eq!(srows.len(), 6);
    assert!(sh.contains(&"mean(utilization)".to_string()) && sh.contains(&"held(littles_law)".to_string()));
    let res = json(&out.join("results.json"));
    assert_eq!(res["explore"]["design"], "factorial");
    assert_eq!(res["explore"]["points"].as_array().unwrap().len(), 6);
    assert_eq!(res["explore"]["points"][3]["values"]["service_rate"], 2.0);
    // Only the plan's metrics per point; findings per point.
    assert!(res["metrics"].get("point3.utilization").is_some());
    assert!(res["metrics"].get("point3.served").is_none());
    assert!(res["findings"].as_array().unwrap().iter().any(|f| f["id"] == "point5.littles_law"));
    // Charts of the plan's metric: main effects, the heat map of the two
    // factors and the tornado, listed in summary.md.
    for stem in ["main_effects_utilization", "heatmap_utilization_arrival_rate_service_rate", "tornado_utilization"] {
        for ext in ["svg", "png"] {
            assert!(out.join("charts").join(format!("{stem}.{ext}")).is_file(), "{stem}.{ext}");
        }
        assert!(md.contains(stem), "{stem} not in summary.md");
    }
}

const SOBOL: &str = r#"
design = "sobol"
points = 16
seeds = 2
metrics = ["utilization"]
[factors]
arrival_rate = { min = 0.2, max = 0.8 }
service_rate = { min = 1.0, max = 2.0 }
"#;

/// Shards of an exploration, merged, write what the unsharded one writes;
/// a missing shard is named.
#[test]
fn shards_merge_to_the_unsharded_exploration() {
    let dir = tempfile::tempdir().unwrap();
    let plan = write_plan(dir.path(), "s.toml", SOBOL);
    let whole = dir.path().join("whole");
    let sharded = dir.path().join("sharded");
    let common = ["--set", "hours=1000", "--progress", "none"];
    let mut a = vec!["explore", "models/mm1.toml", plan.as_str(), "--out", whole.to_str().unwrap()];
    a.extend(common);
    ok(&a);
    for i in ["0/3", "2/3"] {
        let mut a = vec!["explore", "models/mm1.toml", plan.as_str(), "--out", sharded.to_str().unwrap(), "--shard", i];
        a.extend(common);
        ok(&a);
    }
    refused(&["merge", sharded.to_str().unwrap()], &["missing shard(s) 1/3"]);
    let mut a = vec!["explore", "models/mm1.toml", plan.as_str(), "--out", sharded.to_str().unwrap(), "--shard", "1/3"];
    a.extend(common);
    ok(&a);
    ok(&["merge", sharded.to_str().unwrap()]);
    for f in ["points.csv", "summary.csv", "sensitivity.csv", "results.json"] {
        let (a, b) =
            (std::fs::read_to_string(whole.join(f)).unwrap(), std::fs::read_to_string(sharded.join(f)).unwrap());
        assert!(a == b, "{f} differs");
    }
    let (_, rows) = csv_rows(&whole.join("sensitivity.csv"));
    assert_eq!(rows.len(), 4, "S1 and ST of two factors");
    // A shard with no runs (64 points x 2 seeds = 128 runs).
    let mut a =
        vec!["explore", "models/mm1.toml", plan.as_str(), "--out", sharded.to_str().unwrap(), "--shard", "200/201"];
    a.extend(common);
    refused(&a, &["this shard has no runs", "64 point(s) x 2 seed(s)"]);
}

/// Shards split points x seeds: two points with six seeds spread over four
/// shards, each running three of the twelve runs, and merge to the unsharded
/// exploration. With adaptive seeding a shard takes whole points.
#[test]
fn shards_split_points_times_seeds() {
    let dir = tempfile::tempdir().unwrap();
    let plan = write_plan(
        dir.path(),
        "f.toml",
        "design = \"factorial\"\nseeds = 6\nmetrics = [\"utilization\"]\n[factors]\narrival_rate = { levels = [0.3, 0.6] }\n",
    );
    let whole = dir.path().join("whole");
    let sharded = dir.path().join("sharded");
    let common = ["--set", "hours=500", "--progress", "none"];
    let mut a = vec!["explore", "models/mm1.toml", plan.as_str(), "--out", whole.to_str().unwrap()];
    a.extend(common);
    ok(&a);
    for i in 0..4 {
        let sh = format!("{i}/4");
        let mut a =
            vec!["explore", "models/mm1.toml", plan.as_str(), "--out", sharded.to_str().unwrap(), "--shard", &sh];
        a.extend(common);
        ok(&a);
        let log = std::fs::read_to_string(sharded.join(format!("shards/{i}-of-4/runs.jsonl"))).unwrap();
        let points: std::collections::BTreeSet<u64> = log
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["point"].as_u64().unwrap())
            .collect();
        assert_eq!(log.lines().count(), 3, "shard {i} runs 3 of the 12 runs");
        assert_eq!(points.len(), 2, "shard {i} runs seeds of both points");
    }
    ok(&["merge", sharded.to_str().unwrap()]);
    for f in ["points.csv", "summary.csv", "results.json"] {
        let (a, b) =
            (std::fs::read_to_string(whole.join(f)).unwrap(), std::fs::read_to_string(sharded.join(f)).unwrap());
        assert!(a == b, "{f} differs");
    }
    // Adaptive: shard 1/2 holds point 1 with all its seeds, and no run of point 0.
    let adaptive = write_plan(
        dir.path(),
        "a.toml",
        "design = \"factorial\"\nseeds = 3\nmetrics = [\"utilization\"]\nadaptive = { max_seeds = 6, rel_half_width = 0.001 }\n[factors]\narrival_rate = { levels = [0.3, 0.6] }\n",
    );
    let ad = dir.path().join("ad");
    let mut a = vec!["explore", "models/mm1.toml", adaptive.as_str(), "--out", ad.to_str().unwrap(), "--shard", "1/2"];
    a.extend(common);
    ok(&a);
    let log = std::fs::read_to_string(ad.join("shards/1-of-2/runs.jsonl")).unwrap();
    let points: Vec<u64> =
        log.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["point"].as_u64().unwrap()).collect();
    assert_eq!(points, vec![1; 6], "whole point 1, up to its cap of 6 seeds");
}

/// Adaptive seeding adds seeds at a point until the interval is narrow
/// enough or the cap is reached; a point's seeds are always the first ones.
#[test]
fn adaptive_seeding_stops_at_the_target_or_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let plan = write_plan(
        dir.path(),
        "a.toml",
        r#"
design = "factorial"
seeds = 3
metrics = ["mean_time_in_system_hours"]
adaptive = { max_seeds = 12, rel_half_width = 0.05 }
[factors]
arrival_rate = { levels = [0.2, 0.9] }
"#,
    );
    let out = dir.path().join("o");
    ok(&["explore", "models/mm1.toml", &plan, "--out", out.to_str().unwrap(), "--progress", "none"]);
    let (h, rows) = csv_rows(&out.join("summary.csv"));
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let mut counts = Vec::new();
    for r in &rows {
        let n: usize = r[col("seeds")].parse().unwrap();
        let mean: f64 = r[col("mean(mean_time_in_system_hours)")].parse().unwrap();
        let lo: f64 = r[col("lo(mean_time_in_system_hours)")].parse().unwrap();
        let hi: f64 = r[col("hi(mean_time_in_system_hours)")].parse().unwrap();
        let met = (hi - lo) / 2.0 <= 0.05 * mean;
        assert!(met || n == 12, "point {}: {n} seeds, half-width {} of {mean}", r[0], (hi - lo) / 2.0);
        // Seeds are added 3 (the plan's `seeds`) at a time, up to the cap.
        assert!(n.is_multiple_of(3) && (3..=12).contains(&n), "{n}");
        counts.push(n);
    }
    // The busy queue (0.9) is noisier than the idle one (0.2).
    assert!(counts[1] > counts[0], "{counts:?}");
    let (_, prows) = csv_rows(&out.join("points.csv"));
    for (p, &n) in counts.iter().enumerate() {
        let seeds: Vec<u64> = prows.iter().filter(|r| r[0] == p.to_string()).map(|r| r[1].parse().unwrap()).collect();
        assert_eq!(seeds, (1..=n as u64).collect::<Vec<_>>());
    }
}

#[test]
fn bad_plans_and_points_are_refused_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let o = out.to_str().unwrap();
    let plan = write_plan(dir.path(), "m.toml", &SOBOL.replace("[\"utilization\"]", "[\"utilisation\"]"));
    refused(
        &["explore", "models/mm1.toml", &plan, "--out", o, "--progress", "none", "--set", "hours=500"],
        &["metric `utilisation` is not one study mm1 writes", "utilization"],
    );
    // A point the study refuses (arrival at the service rate) is named before anything runs.
    let plan = write_plan(dir.path(), "p.toml", &FACTORIAL.replace("max = 0.6", "max = 1.0"));
    refused(
        &["explore", "models/mm1.toml", &plan, "--out", o, "--progress", "none", "--force"],
        &["point 4 (arrival_rate=1.0 service_rate=1.0)"],
    );
    let plan = write_plan(dir.path(), "d.toml", "design = \"grid\"\n[factors]\nx = { min = 0, max = 1 }\n");
    refused(&["explore", "models/mm1.toml", &plan, "--out", o], &["d.toml", "grid"]);
    refused(&["explore", "models/mm1.toml", "/nonexistent/plan.toml", "--out", o], &["/nonexistent/plan.toml"]);
    let plan = write_plan(
        dir.path(),
        "k.toml",
        "design = \"lhs\"\npoints = 3\n[factors]\nno_such_key = { min = 0.0, max = 1.0 }\n",
    );
    refused(&["explore", "models/mm1.toml", &plan, "--out", o, "--force"], &["point 0", "no_such_key"]);
    refused(
        &["explore", "models/mm1.toml", &plan, "--find", "x", "--range", "0,1", "--where", "x > 1"],
        &["cannot be used with"],
    );
}

/// The plans shipped in models/explore/, each with the scenario and the
/// `--set` overrides its header comment and docs/explore.md run it with.
const SHIPPED_PLANS: &[(&str, &str, &[&str])] = &[
    (
        "economic_value_cancel_threshold.toml",
        "models/economic_value.toml",
        &["scenarios=[\"undersupplied\"]", "compare_fidelities=false"],
    ),
    ("failure_modes_trust.toml", "models/failure_modes_reference.toml", &["attacks=[\"long_con\", \"degradation\"]"]),
    ("failure_modes_trust.toml", "models/failure_modes.toml", &["attacks=[\"long_con\", \"degradation\"]"]),
    ("mm1_sobol.toml", "models/mm1.toml", &[]),
    ("monetary_policy_sobol.toml", "models/monetary_policy/mp1/trust_inflation.toml", &[]),
];

/// The plans shipped in models/explore/ are valid plans, and not scenarios:
/// `list` and every scenario walk leave them out.
#[test]
fn shipped_plans_parse_and_are_not_scenarios() {
    let dir = crate::root().join("models");
    let mut plans: Vec<String> = std::fs::read_dir(dir.join("explore"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    plans.sort();
    let mut listed: Vec<String> = SHIPPED_PLANS.iter().map(|(p, _, _)| p.to_string()).collect();
    listed.dedup();
    assert_eq!(plans, listed, "every shipped plan is in SHIPPED_PLANS");
    for p in &plans {
        let path = dir.join("explore").join(p);
        let plan = omerta_sim::explore::Plan::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(plan.design_points().is_ok(), "{}", path.display());
    }
    let files = omerta_sim::study::scenario::scenario_files(&dir).unwrap();
    assert!(files.iter().all(|f| !f.starts_with(dir.join("explore"))));
    let listed = ok(&["list"]);
    assert!(!listed.contains("mm1_sobol"), "{listed}");
}

/// Each shipped plan works on the scenario it is documented with: every
/// point's scenario builds (as `explore` checks before running), and one
/// run of the first point writes every metric the plan names.
#[test]
fn shipped_plans_fit_their_scenarios() {
    use omerta_sim::explore::exec::Base;
    use omerta_sim::study::RunControl;
    let root = crate::root();
    for (name, scenario, sets) in SHIPPED_PLANS {
        let plan = omerta_sim::explore::Plan::load(&root.join("models/explore").join(name)).unwrap();
        let design = plan.design_points().unwrap();
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        let base = Base::load(&root.join(scenario), &sets).unwrap_or_else(|e| panic!("{scenario}: {e:#}"));
        assert_eq!(design.points.len(), plan.point_count(), "{name}");
        let mut first = None;
        for p in &design.points {
            let study = base.study(&plan.set_args(p)).unwrap_or_else(|e| panic!("{name} point {}: {e:#}", p.id));
            first.get_or_insert(study);
        }
        let first = first.unwrap();
        let out = first.run_seed(first.default_seeds().0, &RunControl::quiet()).unwrap();
        for m in plan.metrics() {
            assert!(out.metrics.contains_key(m), "{name} on {scenario}: the study writes no metric `{m}`");
        }
    }
}
