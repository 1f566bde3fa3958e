//! Hostile trust traces: every malformed line is an error naming the file
//! and the line (exit 2), never a panic; a trace that checks nothing fails;
//! memory stays bounded (an enormous line, an endless line, /dev/zero); and
//! thousands of random mutations of the golden traces replay to a report or
//! an error, never a panic.

use super::{root, run_bin, text};
use omerta_sim::trust::trace::{MAX_LINE_BYTES, replay_bytes, replay_text};
use rand::{RngExt, SeedableRng};
use serde_json::Value;

const CRISIS: &str = "fm_crisis__seed42.jsonl";

fn golden_lines(name: &str) -> Vec<String> {
    std::fs::read_to_string(root().join("tests/golden/trust").join(name)).unwrap().lines().map(String::from).collect()
}

fn golden_names() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join("tests/golden/trust"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".jsonl"))
        .collect();
    v.sort();
    v
}

/// Replay `bytes` as file `name` through the binary: (exit code, stdout,
/// stderr); never a panic.
fn replay_file(dir: &std::path::Path, name: &str, bytes: &[u8]) -> (Option<i32>, String, String) {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    let o = run_bin(&["trust", "replay", p.to_str().unwrap()]);
    let (out, err) = text(&o);
    assert!(!err.contains("panicked"), "{name}: {err}");
    (o.status.code(), out, err)
}

/// The crisis trace with line `at` (1-based) replaced by `text` (or
/// `text` inserted before it when `insert`).
fn crisis_with(at: usize, text: &str, insert: bool) -> Vec<u8> {
    let mut lines = golden_lines(CRISIS);
    if insert {
        lines.insert(at - 1, text.to_string());
    } else {
        lines[at - 1] = text.to_string();
    }
    (lines.join("\n") + "\n").into_bytes()
}

#[test]
fn every_malformed_line_names_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let ci = |id: &str| format!("{{\"op\": \"create_identity\", \"day\": 0, \"args\": [\"{id}\"], \"kw\": {{}}}}");
    let tx = |kw: &str| {
        format!(
            "{{\"op\": \"add_transaction\", \"day\": 0, \"args\": [\"attacker\", \"victim_provider\"], \"kw\": {kw}}}"
        )
    };
    // (file, line, replacement, insert?, needle)
    let cases: Vec<(&str, usize, String, bool, &str)> = vec![
        ("bad_json", 6, "{\"op\": \"advance_days\", \"day\": ".into(), false, "not valid JSON"),
        ("not_object", 6, "[1, 2, 3]".into(), false, "expected a JSON object"),
        ("no_op", 6, "{\"day\": 0}".into(), false, "missing `op`"),
        ("op_type", 6, "{\"op\": 7}".into(), false, "`op` must be a string, got 7"),
        ("unknown_op", 6, "{\"op\": \"teleport\", \"day\": 0, \"args\": []}".into(), false, "unknown op `teleport`"),
        ("unknown_field", 6, "{\"op\": \"advance_days\", \"day\": 1, \"args\": [1], \"colour\": 1}".into(), false, "unknown field `colour`"),
        ("unknown_kw", 6, tx("{\"verification_scor\": 0.5}"), true, "unknown keyword `verification_scor`"),
        ("twice", 6, "{\"op\": \"add_transaction\", \"day\": 0, \"args\": [\"attacker\", \"victim_provider\", 1.0], \"kw\": {\"resource_weight\": 2.0}}".into(), true, "`resource_weight` given twice"),
        ("too_many_args", 6, "{\"op\": \"advance_days\", \"day\": 1, \"args\": [1, 2]}".into(), false, "2 arguments, expected at most 1"),
        ("missing_arg", 6, "{\"op\": \"create_identity\", \"day\": 0, \"args\": []}".into(), false, "missing argument 1 (identity id)"),
        ("missing_day", 6, "{\"op\": \"create_identity\", \"args\": [\"z\"]}".into(), false, "missing `day`"),
        ("wrong_type", 6, tx("{\"verification_score\": \"high\"}"), true, "`verification_score` must be a number, got \"high\""),
        ("wrong_type_arg", 6, "{\"op\": \"create_identity\", \"day\": 0, \"args\": [42]}".into(), false, "argument 1 (identity id) must be a string, got 42"),
        ("missing_output", 6, "{\"op\": \"solve_trust\", \"day\": 0, \"args\": [], \"kw\": {}, \"trust\": {}}".into(), true, "missing recorded output `cluster_weight`"),
        ("extra_meta", 6, "{\"op\": \"meta\", \"tag\": \"ts_x\"}".into(), true, "`meta` may only be the first line"),
        ("bad_seed", 1, "{\"op\": \"meta\", \"tag\": \"fm_crisis\", \"seed\": -4}".into(), false, "`seed` must be a whole number >= 0, got -4"),
        ("dup_identity", 4, ci("attacker"), true, "identity `attacker` already exists"),
        ("before_creation", 2, tx("{}"), true, "unknown identity `attacker` (no create_identity line before this one)"),
        ("dup_key", 6, "{\"op\": \"advance_days\", \"op\": \"advance_days\", \"day\": 1, \"args\": [1]}".into(), false, "duplicate key `op`"),
        ("negative_days", 6, "{\"op\": \"advance_days\", \"day\": 0, \"args\": [-1]}".into(), false, "days must be a whole number from 0 to 4294967295, got -1"),
        ("fraction_day", 6, "{\"op\": \"advance_days\", \"day\": 0.5, \"args\": [1]}".into(), false, "`day` must be a whole number of days"),
        ("huge_day", 6, "{\"op\": \"advance_days\", \"day\": 1e300, \"args\": [1]}".into(), false, "`day` must be a whole number of days"),
        ("huge_number", 6, "{\"op\": \"advance_days\", \"day\": 1e400, \"args\": [1]}".into(), false, "number out of range"),
        ("score_range", 6, "{\"op\": \"add_assertion\", \"day\": 0, \"args\": [\"attacker\", \"victim_provider\"], \"kw\": {\"score\": 7}, \"accepted\": true}".into(), true, "assertion score must be in [-1, 1]"),
        ("self_tx", 6, "{\"op\": \"add_transaction\", \"day\": 0, \"args\": [\"attacker\", \"attacker\"]}".into(), true, "itself"),
        ("deep", 6, format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)), false, "recursion limit exceeded"),
    ];
    for (name, line, text, insert, needle) in cases {
        let file = format!("{name}.jsonl");
        let (code, out, err) = replay_file(dir.path(), &file, &crisis_with(line, &text, insert));
        assert_eq!(code, Some(2), "{name}: {out}{err}");
        assert!(err.contains(&format!("{file}:{line}: malformed trace: ")), "{name}: {err}");
        assert!(err.contains(needle), "{name}: expected `{needle}` in {err}");
        assert!(out.contains(&format!("{file}: malformed trace (line {line})")), "{name}: {out}");
        // Messages stay short, whatever the line holds.
        assert!(err.len() < 1000, "{name}: {} bytes of message", err.len());
    }
    // Days past the engine's last day: line 8 jumps to day 4294967295, the
    // next advance (line 10) would pass it.
    let jump = "{\"op\": \"advance_days\", \"day\": 4294967295, \"args\": [4294967295], \"kw\": {}}";
    let (code, _, err) = replay_file(dir.path(), "overflow.jsonl", &crisis_with(8, jump, false));
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("overflow.jsonl:10: malformed trace: advance_days: day 4294967295 + 1 days is past the last day"),
        "{err}"
    );
}

#[test]
fn huge_and_endless_input_is_refused_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    // One line of 3 MB, at line 3.
    let mut lines = golden_lines(CRISIS)[..2].join("\n").into_bytes();
    lines.push(b'\n');
    lines.extend(std::iter::repeat_n(b'a', 3 << 20));
    let (code, _, err) = replay_file(dir.path(), "long_line.jsonl", &lines);
    assert_eq!(code, Some(2));
    assert!(err.contains("long_line.jsonl:3: malformed trace: the line is longer than 1 MiB"), "{err}");
    // A huge string value inside a line under the limit: the message shows a short excerpt.
    let big = format!("{{\"op\": \"create_identity\", \"day\": 0, \"args\": [{}]}}", "7".repeat(MAX_LINE_BYTES - 100));
    let (code, _, err) = replay_file(dir.path(), "big_value.jsonl", &crisis_with(5, &big, false));
    assert_eq!(code, Some(2));
    assert!(err.contains("big_value.jsonl:5: malformed trace: "), "{err}");
    assert!(err.len() < 1000, "{} bytes of message", err.len());
    // Not text.
    let (code, _, err) = replay_file(dir.path(), "binary.jsonl", b"\x00\xff\xfe\n");
    assert_eq!(code, Some(2));
    assert!(err.contains("binary.jsonl:1: malformed trace: not UTF-8 text"), "{err}");
    // An endless stream (/dev/zero: no newline, ever) fails at line 1.
    let o = run_bin(&["trust", "replay", "/dev/zero"]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("/dev/zero:1: malformed trace: the line is longer than 1 MiB"), "{err}");
}

#[test]
fn a_trace_that_checks_nothing_fails() {
    let dir = tempfile::tempdir().unwrap();
    let creates = "{\"op\": \"create_identity\", \"day\": 0, \"args\": [\"a\"], \"kw\": {}}\n\
                   {\"op\": \"advance_days\", \"day\": 1, \"args\": [1], \"kw\": {}}\n";
    let meta = "{\"op\": \"meta\", \"tag\": \"ts_x\", \"seed\": 1}\n";
    for (name, body, needle) in [
        ("empty.jsonl", "", "the trace is empty"),
        ("blank.jsonl", "\n \n\r\n", "the trace is empty"),
        ("meta_only.jsonl", meta, "the trace checks nothing"),
        ("no_outputs.jsonl", creates, "the trace checks nothing: its 2 lines record no output"),
    ] {
        let (code, out, err) = replay_file(dir.path(), name, body.as_bytes());
        assert_eq!(code, Some(2), "{name}: {out}{err}");
        assert!(err.contains(&format!("{name}: malformed trace: {needle}")), "{name}: {err}");
        assert!(out.contains(&format!("{name}: malformed trace")), "{name}: {out}");
    }
}

/// The issue's case: one extra `create_identity` anywhere in any golden
/// trace, with names the attack results look up by prefix (consumerN,
/// sockN), is a report (mismatches) or an error, never a panic.
#[test]
fn an_extra_identity_anywhere_never_panics() {
    let mut runs = 0;
    for name in golden_names() {
        let lines = golden_lines(&name);
        // Around every output line (where the attack results read state), and the ends.
        let mut at: Vec<usize> = vec![1, lines.len()];
        for (i, l) in lines.iter().enumerate() {
            if ["solve_trust", "detect_clusters", "compute_local_trust"].iter().any(|op| l.contains(op)) {
                at.extend([i, i + 1]);
            }
        }
        at.sort();
        at.dedup();
        for &i in at.iter().step_by(if at.len() > 40 { at.len() / 40 } else { 1 }) {
            for id in ["consumer99", "sock99", "extra"] {
                let mut v = lines.clone();
                v.insert(
                    i.max(1),
                    format!("{{\"op\": \"create_identity\", \"day\": 0, \"args\": [\"{id}\"], \"kw\": {{}}}}"),
                );
                let text = v.join("\n");
                let r = std::panic::catch_unwind(|| replay_text(&text));
                assert!(r.is_ok(), "{name}: extra `{id}` after line {i} panicked");
                runs += 1;
            }
        }
    }
    assert!(runs > 300, "{runs}");
    // Through the binary too: a mismatch, exit 1.
    let dir = tempfile::tempdir().unwrap();
    let extra = "{\"op\": \"create_identity\", \"day\": 0, \"args\": [\"consumer99\"], \"kw\": {}}";
    let (code, out, err) = replay_file(dir.path(), "extra.jsonl", &crisis_with(5, extra, true));
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(out.contains("trust (identities) expected"), "{out}");
}

/// Random mutations of the golden traces (lines deleted, duplicated,
/// swapped, cut short; values replaced by extreme or wrongly typed ones):
/// each replays to a report or an error with a line number, never a panic.
#[test]
fn random_mutations_never_panic() {
    let mut rng = rand_pcg::Pcg64::seed_from_u64(10);
    let traces: Vec<(String, Vec<String>)> =
        golden_names().into_iter().map(|n| (n.clone(), golden_lines(&n))).collect();
    let extremes: Vec<Value> = serde_json::from_str(
        r#"[0, -1, 1, 0.5, -0.0, 1e308, -1e308, 4294967295, 4294967296, 18446744073709551615, -9223372036854775808,
            "inf", "-inf", "", "attacker", "consumer0", null, true, false, [], {}, [1, 2], {"a": 1}]"#,
    )
    .unwrap();
    // OMERTA_TRACE_MUTATIONS=100000 for a longer hunt.
    let n: usize = std::env::var("OMERTA_TRACE_MUTATIONS").ok().and_then(|s| s.parse().ok()).unwrap_or(1500);
    for k in 0..n {
        let (name, lines) = &traces[rng.random_range(0..traces.len())];
        let mut v = lines.clone();
        let i = rng.random_range(0..v.len());
        let what = match rng.random_range(0..6) {
            0 => {
                v.remove(i);
                "deleted"
            }
            1 => {
                v.insert(i, v[i].clone());
                "duplicated"
            }
            2 if i + 1 < v.len() => {
                v.swap(i, i + 1);
                "swapped with the next"
            }
            3 => {
                let cut = rng.random_range(0..v[i].len());
                v[i] = v[i].chars().take(cut).collect();
                "cut short"
            }
            _ => {
                let mut j: Value = serde_json::from_str(&v[i]).unwrap();
                let leaves = leaves(&j);
                let path = &leaves[rng.random_range(0..leaves.len())];
                *pointer(&mut j, path) = extremes[rng.random_range(0..extremes.len())].clone();
                v[i] = j.to_string();
                "given an odd value"
            }
        };
        let text = v.join("\n");
        match std::panic::catch_unwind(|| replay_bytes(text.as_bytes())) {
            Err(_) => panic!("mutation {k}: {name} line {} {what} panicked:\n{}", i + 1, v.get(i).map_or("", |s| s)),
            Ok(Err(e)) => assert!(e.line <= v.len() && !e.message.is_empty(), "{name}: {e}"),
            Ok(Ok(_)) => {}
        }
    }
}

/// Paths (keys and indices) to every leaf and every container of `v`.
fn leaves(v: &Value) -> Vec<Vec<String>> {
    let mut out = vec![];
    fn walk(v: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        out.push(path.clone());
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    path.push(k.clone());
                    walk(x, path, out);
                    path.pop();
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    path.push(i.to_string());
                    walk(x, path, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    walk(v, &mut vec![], &mut out);
    out.retain(|p| !p.is_empty());
    out
}

fn pointer<'a>(v: &'a mut Value, path: &[String]) -> &'a mut Value {
    let p: String = path.iter().map(|s| format!("/{}", s.replace('~', "~0").replace('/', "~1"))).collect();
    v.pointer_mut(&p).expect("a path from leaves()")
}
