//! The 15 golden traces of the reference engine (tests/golden/trust/) replay
//! with no mismatch, and the number of outputs checked, by kind, is the
//! expected one.

use super::{root, run_bin, text};
use omerta_sim::trust::trace::{Counts, replay_text};

fn golden() -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(root().join("tests/golden/trust"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    files
}

#[test]
fn all_golden_traces_replay_exactly() {
    let files = golden();
    assert_eq!(files.len(), 15);
    let mut total = Counts::default();
    for f in &files {
        let r = replay_text(&std::fs::read_to_string(f).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let shown: Vec<String> = r.mismatches.iter().take(10).map(|m| m.to_string()).collect();
        assert!(r.mismatches.is_empty(), "{}: {} mismatches:\n{}", f.display(), r.mismatches.len(), shown.join("\n"));
        total.add(&r.counts);
    }
    assert_eq!(
        total,
        Counts {
            solves: 39,
            assertions: 198,
            local_trust: 31,
            rates: 6,
            escrow: 1,
            transfers: 1,
            clusters: 1,
            edge_builds: 1,
            attack_results: 9,
        }
    );
    assert_eq!(total.outputs(), 278);
}

#[test]
fn cli_replays_and_exits_zero() {
    let files: Vec<String> = golden().iter().map(|p| p.to_str().unwrap().to_string()).collect();
    let mut args = vec!["trust", "replay"];
    args.extend(files.iter().map(String::as_str));
    let o = run_bin(&args);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert!(out.contains("total: 15 files, 278 outputs checked"), "{out}");
    assert!(out.contains("plus 9 attack results, 0 mismatches"), "{out}");
}

/// Write `lines` into a temporary trace and replay it with the CLI.
fn replay_lines(dir: &std::path::Path, name: &str, lines: &[String]) -> (Option<i32>, String, String) {
    let p = dir.join(name);
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    let o = run_bin(&["trust", "replay", p.to_str().unwrap()]);
    let (out, err) = text(&o);
    assert!(!err.contains("panicked"), "{err}");
    (o.status.code(), out, err)
}

fn golden_lines(name: &str) -> Vec<String> {
    std::fs::read_to_string(root().join("tests/golden/trust").join(name)).unwrap().lines().map(String::from).collect()
}

#[test]
fn a_changed_output_is_a_mismatch_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = golden_lines("fm_crisis__seed42.jsonl");
    let i = lines.iter().position(|l| l.contains("\"solve_trust\"")).unwrap();
    lines[i] = lines[i].replacen("\"attacker\": 9.488706770040444", "\"attacker\": 9.4887", 1);
    let j = lines.iter().position(|l| l.contains("\"add_assertion\"")).unwrap();
    lines[j] = lines[j].replacen("\"accepted\": true", "\"accepted\": false", 1);
    let (code, out, _) = replay_lines(dir.path(), "changed.jsonl", &lines);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "changed.jsonl:{}: solve_trust (day 60): trust.attacker expected 9.4887 got 9.48870677",
            i + 1
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("changed.jsonl:{}: add_assertion (day 64): accepted expected false got true", j + 1)),
        "{out}"
    );
    assert!(out.contains("2 mismatches"), "{out}");
    // The attack result is recomputed from the replay's own outputs: change it.
    let mut lines = golden_lines("fm_crisis__seed42.jsonl");
    lines[0] = lines[0].replacen("\"detection_day\": 75", "\"detection_day\": 76", 1);
    let (code, out, _) = replay_lines(dir.path(), "meta.jsonl", &lines);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("meta.jsonl:1: meta (day 105): result.detection_day expected 76 got 75"), "{out}");
}

#[test]
fn malformed_traces_exit_2_with_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let base = golden_lines("ts_donation_bootstrapping__seed42.jsonl");
    let cases: Vec<(&str, usize, String, &str)> = vec![
        ("badjson.jsonl", 5, "{\"op\": \"advance_days\", \"day\": ".to_string(), "not valid JSON"),
        (
            "unknownop.jsonl",
            7,
            "{\"op\": \"teleport\", \"day\": 1, \"args\": [], \"kw\": {}}".to_string(),
            "unknown op `teleport`",
        ),
        (
            "unknownid.jsonl",
            9,
            "{\"op\": \"add_transaction\", \"day\": 1, \"args\": [\"consumer\", \"mallory\"], \"kw\": {}}".to_string(),
            "unknown identity `mallory`",
        ),
        (
            "badfield.jsonl",
            9,
            "{\"op\": \"add_transaction\", \"day\": 1, \"args\": [\"consumer\", \"normal_new\"], \"kw\": {\"verification_score\": \"high\"}}"
                .to_string(),
            "`verification_score` must be a number",
        ),
    ];
    for (name, line, text, needle) in cases {
        let mut lines = base.clone();
        lines[line - 1] = text;
        let (code, out, err) = replay_lines(dir.path(), name, &lines);
        assert_eq!(code, Some(2), "{name}: {out}{err}");
        assert!(err.contains(&format!("{name}:{line}: malformed trace")) && err.contains(needle), "{name}: {err}");
    }
    // Several files: the worst outcome wins; a missing file is exit 2 too.
    let good = root().join("tests/golden/trust/ts_long_con__seed42.jsonl");
    let o = run_bin(&["trust", "replay", good.to_str().unwrap(), dir.path().join("nope.jsonl").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let (_, err) = text(&o);
    assert!(err.contains("nope.jsonl: cannot read the trace"), "{err}");
}
