//! Output and error text through the binary: a closed stdout ends every
//! command quietly with 0, a full device is a clear error, no error
//! message repeats the OS error, and negative values for whole-number flags
//! say what the flag takes.

use super::{bin, root, run_bin, text};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

const V2: &str = "models/reliability_v2.toml";
const TRACE: &str = "tests/golden/trust/fm_crisis__seed42.jsonl";

/// Run the binary with stdout a pipe whose read end is already closed: its
/// first write fails with EPIPE (the test does not race the child).
fn closed_stdout(args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    bin().args(args).stdout(writer).stderr(Stdio::piped()).output().expect("the binary starts")
}

/// Run the binary with stdout on /dev/full (every write fails with ENOSPC).
fn full_stdout(args: &[&str]) -> Output {
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full");
    bin().args(args).stdout(full).stderr(Stdio::piped()).output().expect("the binary starts")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The shipped snapshot(s).
fn shipped_snapshot() -> PathBuf {
    let mut snaps: Vec<PathBuf> = std::fs::read_dir(root().join("snapshots"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "snap"))
        .collect();
    snaps.sort();
    snaps.into_iter().next().expect("a snapshot in snapshots/")
}

/// A sharded run of two seeds in `dir` (for `merge`).
fn sharded_run(dir: &Path) {
    let o = run_bin(&[
        "run",
        V2,
        "--seeds",
        "2",
        "--set",
        "rounds=1",
        "--progress",
        "none",
        "--shard",
        "0/1",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
}

/// Every command that prints, as arguments (owned: some name temp folders).
fn printing_commands(tmp: &Path) -> Vec<Vec<String>> {
    let snap = shipped_snapshot().to_str().unwrap().to_string();
    let shards = tmp.join("shards-run");
    sharded_run(&shards);
    let out = |name: &str| tmp.join(name).to_str().unwrap().to_string();
    let cmds: Vec<Vec<&str>> = vec![
        vec!["list"],
        vec!["--help"],
        vec!["--version"],
        vec!["run", "--help"],
        vec!["run", V2, "--seeds", "1", "--set", "rounds=1", "--progress", "none", "--out", "{run}"],
        vec!["resume", &snap, "--until", "11h", "--progress", "none", "--out", "{resume}"],
        vec!["step", V2, "--count", "50"],
        vec!["step", "--from", &snap, "--count", "50"],
        vec!["inspect", &snap],
        vec!["merge", "{shards}", "--out", "{merged}"],
        vec!["trust", "replay", TRACE],
        vec![
            "explore",
            "models/mm1.toml",
            "--set",
            "hours=200",
            "--find",
            "arrival_rate",
            "--range",
            "0.2,0.8",
            "--where",
            "utilization > 0.5",
            "--seeds",
            "2",
            "--probes",
            "3",
            "--progress",
            "none",
            "--out",
            "{explore}",
        ],
    ];
    cmds.into_iter()
        .map(|c| {
            c.iter()
                .map(|a| match *a {
                    "{shards}" => shards.to_str().unwrap().to_string(),
                    "{run}" | "{resume}" | "{merged}" | "{explore}" => out(a.trim_matches(['{', '}'])),
                    a => a.to_string(),
                })
                .collect()
        })
        .collect()
}

#[test]
fn a_closed_stdout_ends_every_command_quietly_with_0() {
    let tmp = tempfile::tempdir().unwrap();
    for args in printing_commands(tmp.path()) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = closed_stdout(&args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {err}");
        assert!(!err.contains("panicked") && !err.contains("error"), "{args:?}: {err}");
    }
}

#[test]
fn reproduce_with_a_closed_stdout_exits_0() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r");
    let o = closed_stdout(&["reproduce", "--seeds", "1", "--progress", "none", "--out", out.to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked") && !err.contains("error:"), "{err}");
    // The report was written before the summary was printed.
    assert!(out.join("REPORT.md").is_file());
}

/// A search whose reader stopped reading still finishes and writes its
/// files: its probe lines report on work going on.
#[test]
fn a_search_with_a_closed_stdout_still_writes_its_results() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("f");
    let o = closed_stdout(&[
        "explore",
        "models/mm1.toml",
        "--set",
        "hours=200",
        "--find",
        "arrival_rate",
        "--range",
        "0.2,0.8",
        "--where",
        "utilization > 0.5",
        "--seeds",
        "2",
        "--probes",
        "4",
        "--progress",
        "none",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(r["find"]["probes"].as_array().unwrap().len(), 4);
}

#[test]
fn a_full_stdout_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    for args in printing_commands(tmp.path()) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = full_stdout(&args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains("error: writing to stdout: No space left on device"), "{args:?}: {err}");
        assert_eq!(err.matches("No space left").count(), 1, "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn a_closed_or_full_stderr_never_panics() {
    // Progress lines and errors go to stderr; neither may panic when it fails.
    let full = || std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let o = bin().args(["list", "--dir", "no/such/folder"]).stdout(Stdio::null()).stderr(full()).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let tmp = tempfile::tempdir().unwrap();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let o = bin()
        .args(["run", V2, "--seeds", "2", "--set", "rounds=1", "--progress", "log", "--out"])
        .arg(tmp.path())
        .stdout(Stdio::piped())
        .stderr(writer)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("reliability_v2"));
}

/// `args` fails with `code`, its message contains every needle, and no OS
/// error is printed twice.
fn fails(args: &[&str], code: i32, needles: &[&str]) -> String {
    let o = run_bin(args);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(code), "{args:?}: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: expected `{n}` in: {err}");
    }
    assert_no_repeats(&err);
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    err
}

/// No `(os error N)` twice, and nothing Debug-formatted (`Os {`, `kind:`).
fn assert_no_repeats(err: &str) {
    assert!(err.matches("(os error").count() <= 1, "OS error repeated: {err}");
    for debug in ["Os {", "kind:", "Custom {", "Error {"] {
        assert!(!err.contains(debug), "Debug-formatted error: {err}");
    }
}

#[test]
fn missing_files_name_the_file_and_the_os_error_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_str().unwrap();
    let nope = tmp.path().join("nope").to_str().unwrap().to_string();
    let nope_toml = format!("{nope}.toml");
    let nope_snap = format!("{nope}.snap");
    let enoent = "No such file or directory (os error 2)";
    fails(&["run", &nope_toml], 1, &[&format!("{nope_toml}: {enoent}")]);
    fails(&["step", &nope_toml, "--count", "1"], 1, &[&format!("{nope_toml}: {enoent}")]);
    fails(&["inspect", &nope_snap], 1, &[&format!("{nope_snap}: {enoent}")]);
    fails(&["resume", &nope_snap], 1, &[&format!("{nope_snap}: {enoent}")]);
    fails(&["step", "--from", &nope_snap, "--count", "1"], 1, &[&format!("{nope_snap}: {enoent}")]);
    fails(&["list", "--dir", &nope], 1, &[&nope, enoent]);
    fails(&["merge", &nope], 1, &[&nope]);
    fails(&["reproduce", "--models", dir, "--seeds", "1"], 1, &[dir, enoent]);
    fails(&["trust", "replay", &format!("{nope}.jsonl")], 2, &["nope.jsonl: cannot read the trace", enoent]);
    // A folder where a file is expected says so.
    fails(&["run", dir], 1, &[dir, "is a folder, not a scenario file"]);
    fails(&["trust", "replay", dir], 2, &["is a folder, not a trace file"]);
    fails(&["inspect", dir], 1, &[dir]);
    // A scenario that is not text.
    let bin_toml = tmp.path().join("binary.toml");
    std::fs::write(&bin_toml, [0xff, 0xfe, 0x00]).unwrap();
    fails(&["run", bin_toml.to_str().unwrap()], 1, &["binary.toml: is not UTF-8 text"]);
    // `list` shows an unreadable file with its reason, once.
    let o = run_bin(&["list", "--dir", dir]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("binary.toml: is not UTF-8 text"), "{out}");
}

#[test]
fn negative_values_say_what_the_flag_takes() {
    let cases: &[(&[&str], &str)] = &[
        (&["run", V2, "--seeds", "-3"], "--seeds must be a whole number from 1 to 1000000 (got -3)"),
        (&["run", V2, "--seeds", "0"], "--seeds must be a whole number from 1 to 1000000 (got 0)"),
        (&["run", V2, "--seeds", "many"], "--seeds must be a whole number from 1 to 1000000 (got many)"),
        (&["run", V2, "--seed", "-1"], "--seed must be a whole number >= 0 (got -1)"),
        (&["run", V2, "--seed=-1"], "--seed must be a whole number >= 0 (got -1)"),
        (&["run", V2, "--jobs", "-1"], "--jobs must be a whole number from 0 to 1024 (got -1)"),
        (
            &["run", V2, "--seeds", "100000000000"],
            "--seeds must be a whole number from 1 to 1000000 (got 100000000000)",
        ),
        (&["run", V2, "--seed", "99999999999999999999"], "(got 99999999999999999999, more than 18446744073709551615)"),
        (&["step", V2, "--count", "-5"], "--count must be a whole number >= 0 (got -5)"),
        (&["step", V2, "--seed", "-1"], "--seed must be a whole number >= 0 (got -1)"),
        (&["reproduce", "--seeds", "-1"], "--seeds must be a whole number from 1 to 1000000 (got -1)"),
        (&["reproduce", "--jobs", "-2"], "--jobs must be a whole number from 0 to 1024 (got -2)"),
    ];
    for (args, needle) in cases {
        let err = fails(args, 2, &[needle]);
        assert!(!err.contains("-- -"), "wrong `-- -N` hint: {err}");
    }
    // Negative times reach the time parser (not clap's `-- -5` hint).
    fails(&["run", V2, "--snapshot-every", "-5"], 1, &["--snapshot-every: `-5` is not a time", ">= 0"]);
    fails(&["step", V2, "--until", "-5h"], 1, &["--until: `-5h` is not a time"]);
    let snap = shipped_snapshot();
    fails(&["resume", snap.to_str().unwrap(), "--until", "-1d"], 1, &["--until: `-1d` is not a time"]);
    let err = fails(&["run", V2, "--shard", "-1/3"], 2, &["`-1/3` is not a shard"]);
    assert!(!err.contains("-- -"), "{err}");
}

/// Library and CLI code print through `cli::out` (or a writer whose error
/// is handled), never `println!`/`eprintln!`, which panic on a closed or
/// full stream. Test modules (after `#[cfg(test)]`) may.
#[test]
fn no_panicking_print_macros_in_the_sources() {
    fn walk(dir: &Path, found: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, found);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p).unwrap();
                for (i, line) in text.lines().enumerate().take_while(|(_, l)| !l.contains("#[cfg(test)]")) {
                    let code = line.split("//").next().unwrap_or("");
                    if ["println!(", "print!(", "dbg!("].iter().any(|m| code.contains(m)) {
                        found.push(format!("{}:{}: {}", p.display(), i + 1, line.trim()));
                    }
                }
            }
        }
    }
    let mut found = Vec::new();
    walk(&root().join("src"), &mut found);
    assert!(found.is_empty(), "use outln!/errln! (src/cli/out.rs):\n{}", found.join("\n"));
}
