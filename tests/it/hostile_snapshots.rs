//! Snapshots altered on purpose: for every study kind, a real mid-run
//! snapshot is altered (bytes of the header and the body, forged lengths,
//! cuts, extra bytes, another model kind, a foreign scenario hash), and the
//! checksum recomputed as a deliberate forger would (`snapshot::reseal`).
//! Opening, inspecting, stepping and resuming such a file must give an
//! error naming the file, or, when the alteration happens to describe
//! another valid state, run without panicking; never a panic, never a huge
//! allocation. Paths that are not snapshot files (a directory, /dev/zero,
//! a FIFO, an empty file) are refused quickly, through the binary too.

use super::alloc_probe::largest_allocation;
use super::{bin, run_bin, study, text};
use omerta_sim::engine::rng::stream;
use omerta_sim::engine::snapshot::{self, FORMAT_VERSION, MAGIC};
use omerta_sim::engine::{AgentRef, SimTime};
use omerta_sim::models::open_snapshot;
use omerta_sim::study::RunControl;
use rand::RngExt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One small scenario of each study kind (and both fidelities where they
/// differ in structure).
pub const CASES: &[(&str, &str, &[&str])] = &[
    ("reliability_basic", "reliability_basic.toml", &["iterations=1", "round_hours=30"]),
    ("reliability_basic_ref", "reliability_basic_reference.toml", &["iterations=1", "round_hours=10"]),
    ("reliability_equilibrium", "reliability_equilibrium.toml", &["rounds=3", "round_hours=30"]),
    ("reliability_v2", "reliability_v2.toml", &["rounds=2", "round_hours=30"]),
    ("reliability_v2_ref", "reliability_v2_reference.toml", &["rounds=2", "round_hours=20"]),
    (
        "economic_value",
        "economic_value.toml",
        &["duration_hours=12", "scenarios=[\"sufficient\", \"price_setter\"]", "compare_fidelities=false"],
    ),
    (
        "economic_value_ref",
        "economic_value.toml",
        &["fidelity=reference", "duration_hours=6", "scenarios=[\"sufficient\"]", "compare_fidelities=false"],
    ),
    ("identity_rotation", "identity_rotation.toml", &[]),
    (
        "identity_rotation_scale",
        "identity_rotation_scale.toml",
        &["scale.accounts=60", "scale.transfers=400", "scale.days=20"],
    ),
    ("trust_dynamics", "trust_dynamics.toml", &["scenarios=[\"new_entrant\", \"sybil_attack\"]"]),
    ("failure_modes", "failure_modes/crisis.toml", &[]),
    (
        "monetary_policy",
        "monetary_policy.toml",
        &["days=30", "monetary_policy.experiments=[\"baseline\", \"hoarding\"]"],
    ),
    (
        "monetary_policy_iteration2",
        "monetary_policy_iteration2.toml",
        &["days=30", "iteration2.experiments=[\"wave_attack\"]"],
    ),
    ("full_study", "monetary_policy/fs/baseline.toml", &["days=30", "full_study.samples=1", "full_study.iterations=1"]),
    ("mm1", "mm1.toml", &["hours=200"]),
    ("world", "world.toml", &["days=2", "scenarios=[\"sufficient\", \"price_setter\"]"]),
];

/// A snapshot of `case` halfway through its run: its path and bytes.
pub fn mid_run(case: &(&str, &str, &[&str]), dir: &Path) -> (PathBuf, Vec<u8>) {
    let (name, file, sets) = *case;
    let s = study(file, sets);
    let mut run = s.stepper(1);
    let half = SimTime(run.horizon().ticks() / 2);
    run.drive(half, &RunControl::quiet()).unwrap();
    if run.now() == SimTime::ZERO {
        // A run whose first half is one instant: take it a few events in.
        for _ in 0..50 {
            run.step();
        }
    }
    assert!(!run.is_finished(), "{name}: the run ends before its middle");
    let p = dir.join(format!("{name}.snap"));
    run.save(&p).unwrap();
    let bytes = std::fs::read(&p).unwrap();
    (p, bytes)
}

/// Validation refuses no honest state: snapshots taken all along a run of
/// every study kind (between time steps and inside same-time groups of
/// events) open, and the opened run continues exactly as the original.
#[test]
fn every_state_of_a_run_validates() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("state.snap");
    for &(name, file, sets) in CASES {
        let s = study(file, sets);
        let mut run = s.stepper(1);
        let h = run.horizon().ticks();
        let mut checked = 0;
        for i in 0..=24u64 {
            run.drive(SimTime(h / 24 * i), &RunControl::quiet()).unwrap();
            for _ in 0..3 {
                run.save(&p).unwrap();
                let (_, mut back) = open_snapshot(&p).unwrap_or_else(|e| panic!("{name} at {:?}: {e:#}", run.now()));
                checked += 1;
                let a = run.step().map(|x| (x.time, x.seq));
                let b = back.step().map(|x| (x.time, x.seq));
                assert_eq!(a, b, "{name}: the reopened run goes on differently");
                assert_eq!(run.state_bytes(), back.state_bytes(), "{name}");
            }
        }
        assert!(checked >= 60, "{name}");
    }
}

/// Steps taken through an altered state that opened.
const STEPS: usize = 400;

/// Open `path` and use it as `inspect`, `step` and `resume` do. `Err` with
/// the message if it does not open (or the run refuses to go on).
fn exercise(path: &Path, to_the_end: bool) -> Result<(), String> {
    let (_, mut run) = open_snapshot(path).map_err(|e| format!("{e:#}"))?;
    let _ = (run.now(), run.next_time(), run.horizon(), run.counters(), run.pending(), run.fingerprint());
    let _ = (run.describe(), run.agent_counts(), run.meta().seed);
    for class in run.agent_classes() {
        for id in [0, 1, 2, 3, 50, u32::MAX] {
            let _ = run.show(AgentRef::new(class, id));
        }
    }
    run.set_tracing(true);
    for _ in 0..STEPS {
        if run.step().is_none() {
            break;
        }
    }
    run.set_tracing(false);
    if to_the_end {
        run.drive(SimTime::MAX, &RunControl::quiet()).map_err(|e| format!("{e:#}"))?;
    }
    let _ = (run.output(), run.check(), run.describe());
    Ok(())
}

/// `exercise` that reports a panic as a failure message instead.
fn survives(path: &Path, to_the_end: bool) -> Result<Result<(), String>, String> {
    catch_unwind(AssertUnwindSafe(|| exercise(path, to_the_end))).map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    })
}

/// What one alteration does to the bytes.
#[derive(Clone, Copy, Debug)]
enum Edit {
    Xor(u8),
    Set(u8),
    Add(u8),
    Sub(u8),
}

impl Edit {
    fn apply(self, b: &mut u8) {
        *b = match self {
            Edit::Xor(x) => *b ^ x,
            Edit::Set(x) => x,
            Edit::Add(x) => b.wrapping_add(x),
            Edit::Sub(x) => b.wrapping_sub(x),
        }
    }
}

const EDITS: [Edit; 8] = [
    Edit::Xor(0x01),
    Edit::Xor(0x80),
    Edit::Set(0),
    Edit::Set(0xff),
    Edit::Add(1),
    Edit::Sub(1),
    Edit::Set(250),
    Edit::Xor(0x10),
];

/// Alter `bytes` at `positions` (each with the edit its index picks), reseal
/// and exercise each version; panics with the list of alterations that
/// panicked. Returns (opened, refused).
fn alter_all(name: &str, bytes: &[u8], positions: &[(usize, Edit)], dir: &Path) -> (usize, usize) {
    let path = dir.join(format!("{name}-altered.snap"));
    let mut panics = Vec::new();
    let (mut opened, mut refused) = (0, 0);
    for (k, &(at, edit)) in positions.iter().enumerate() {
        let mut b = bytes.to_vec();
        edit.apply(&mut b[at]);
        if b == bytes {
            continue;
        }
        snapshot::reseal(&mut b);
        std::fs::write(&path, &b).unwrap();
        if std::env::var_os("HOSTILE_TRACE").is_some() {
            eprintln!("{name}: byte {at} {edit:?}");
        }
        let ((result, _), largest) = largest_allocation(|| (survives(&path, k % 16 == 0), ()));
        assert!(
            largest <= 16 * bytes.len() + (4 << 20),
            "{name}: byte {at} {edit:?}: an allocation of {largest} bytes for a {}-byte file",
            bytes.len()
        );
        match result {
            Ok(Ok(())) => opened += 1,
            Ok(Err(e)) => {
                assert!(e.contains(&path.display().to_string()), "{name}: byte {at} {edit:?}: {e}");
                assert!(!e.contains("panicked"), "{e}");
                refused += 1;
            }
            Err(p) => panics.push(format!("byte {at} {edit:?}: {p}")),
        }
    }
    assert!(panics.is_empty(), "{name}: {} alteration(s) panicked:\n{}", panics.len(), panics.join("\n"));
    (opened, refused)
}

/// `n` alterations at positions drawn with a fixed seed (per case).
fn sampled(name: &str, len: usize, n: usize) -> Vec<(usize, Edit)> {
    let mut rng = stream(0x5eed, name, 0);
    (0..n).map(|_| (rng.random_range(0..len), EDITS[rng.random_range(0..EDITS.len())])).collect()
}

/// Every study kind: a few hundred single-byte alterations of a real
/// mid-run snapshot, resealed, at positions all over the header and body.
#[test]
fn altered_snapshots_of_every_study_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    for case in CASES {
        let (path, bytes) = mid_run(case, dir.path());
        exercise(&path, false).unwrap_or_else(|e| panic!("{}: the unaltered snapshot: {e}", case.0));
        let (opened, refused) = alter_all(case.0, &bytes, &sampled(case.0, bytes.len(), 300), dir.path());
        assert!(refused > 0, "{}: no alteration was refused", case.0);
        let _ = opened;
    }
}

/// Every byte of every study's snapshot, with every edit (slow: run by
/// hand, `cargo test --release -- --ignored every_byte`; `HOSTILE_CASE`
/// picks one case, `HOSTILE_SAMPLES=n` tries n random alterations instead,
/// drawn with `HOSTILE_SEED`, and `HOSTILE_TRACE` prints each one first).
#[test]
#[ignore]
fn every_byte_of_every_study() {
    let only = std::env::var("HOSTILE_CASE").ok();
    let samples: Option<usize> = std::env::var("HOSTILE_SAMPLES").ok().and_then(|s| s.parse().ok());
    let seed: u64 = std::env::var("HOSTILE_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
    let dir = tempfile::tempdir().unwrap();
    for case in CASES.iter().filter(|c| only.as_deref().is_none_or(|o| o == c.0)) {
        let (_, bytes) = mid_run(case, dir.path());
        let positions: Vec<(usize, Edit)> = match samples {
            Some(n) => {
                let mut rng = stream(seed, case.0, 0);
                (0..n).map(|_| (rng.random_range(0..bytes.len()), EDITS[rng.random_range(0..EDITS.len())])).collect()
            }
            None => (0..bytes.len()).flat_map(|at| EDITS.iter().map(move |&e| (at, e))).collect(),
        };
        let t0 = Instant::now();
        let (opened, refused) = alter_all(case.0, &bytes, &positions, dir.path());
        eprintln!(
            "{}: {} bytes, {opened} opened, {refused} refused, {:.1}s",
            case.0,
            bytes.len(),
            t0.elapsed().as_secs_f64()
        );
    }
}

/// The header fields of `bytes`: (model kind, crate version, scenario hash,
/// body).
fn fields(bytes: &[u8]) -> (String, String, u64, Vec<u8>) {
    let (h, body) = snapshot::parse(Path::new("x"), bytes).unwrap();
    (h.model_kind, h.crate_version, h.scenario_hash, body.to_vec())
}

/// A sealed snapshot file from its parts, as a forger would write it.
fn forge(kind: &str, version: &str, hash: u64, body: &[u8]) -> Vec<u8> {
    let mut b = MAGIC.to_vec();
    b.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    for s in [kind, version] {
        b.extend_from_slice(&(s.len() as u16).to_le_bytes());
        b.extend_from_slice(s.as_bytes());
    }
    b.extend_from_slice(&hash.to_le_bytes());
    b.extend_from_slice(&(body.len() as u64).to_le_bytes());
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(body);
    snapshot::reseal(&mut b).unwrap();
    b
}

/// Open `bytes` as a file: must be refused with `needle` in the message,
/// without panicking and without a large allocation.
fn refused_with(name: &str, dir: &Path, bytes: &[u8], needle: &str) {
    let path = dir.join(format!("{name}.snap"));
    std::fs::write(&path, bytes).unwrap();
    let (result, largest) = largest_allocation(|| survives(&path, false));
    let e = match result {
        Ok(Err(e)) => e,
        Ok(Ok(())) => panic!("{name}: opened"),
        Err(p) => panic!("{name}: panicked: {p}"),
    };
    assert!(e.contains(needle), "{name}: expected `{needle}` in: {e}");
    assert!(e.contains(&path.display().to_string()), "{name}: {e}");
    assert!(largest <= 16 * bytes.len() + (4 << 20), "{name}: an allocation of {largest} bytes");
}

/// The encoding of a length prefix claiming 2^40 (the body's varint: 253, then a u64 LE).
fn huge_len() -> Vec<u8> {
    let mut v = vec![253u8];
    v.extend_from_slice(&(1u64 << 40).to_le_bytes());
    v
}

/// Deliberate forgeries of the header and of lengths, for every study.
#[test]
fn forged_headers_and_lengths_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let kinds: Vec<&str> = omerta_sim::models::study_ids();
    for case in CASES {
        let name = case.0;
        let (path, bytes) = mid_run(case, d);
        let (kind, version, hash, body) = fields(&bytes);
        // Another study's model kind in the header.
        for other in kinds.iter().filter(|k| **k != kind) {
            refused_with(&format!("{name}-as-{other}"), d, &forge(other, &version, hash, &body), "snapshot");
        }
        let (_, run) = open_snapshot(&path).unwrap();
        let meta = run.meta().clone();
        // The scenario hash of another scenario.
        refused_with(&format!("{name}-hash"), d, &forge(&kind, &version, hash ^ 1, &body), "scenario hash");
        // The body starts with the run's study id, then the scenario path
        // and the scenario: forge each string's length.
        let study_len = snapshot::state_bytes(&meta.study).len();
        let path_len = snapshot::state_bytes(&meta.scenario_path).len();
        for (what, at, old) in [
            ("study-len", 0, 1),
            ("path-len", study_len, 1),
            (
                "toml-len",
                study_len + path_len,
                snapshot::state_bytes(&meta.scenario_toml).len() - meta.scenario_toml.len(),
            ),
        ] {
            let forged = [&body[..at], &huge_len()[..], &body[at + old..]].concat();
            refused_with(&format!("{name}-{what}"), d, &forge(&kind, &version, hash, &forged), "exceeds");
        }
        // A sequence's length: the event queue's bucket list has 2049
        // entries in every snapshot (the varint 251, then 2049 as u16 LE).
        // The same three bytes may also occur by chance in a model's state
        // before the queue (a float's bytes): each occurrence is forged,
        // none may panic, and the queue's must be refused as too long.
        let hits: Vec<usize> =
            body.windows(3).enumerate().filter(|(_, w)| *w == [251, 0x01, 0x08]).map(|(k, _)| k).collect();
        assert!(!hits.is_empty(), "{name}: the queue's bucket list");
        let mut exceeded = false;
        for at in hits {
            let forged = [&body[..at], &huge_len()[..], &body[at + 3..]].concat();
            let path = d.join(format!("{name}-seq-len.snap"));
            std::fs::write(&path, forge(&kind, &version, hash, &forged)).unwrap();
            let (result, largest) = largest_allocation(|| survives(&path, false));
            assert!(largest <= 16 * bytes.len() + (4 << 20), "{name}: an allocation of {largest} bytes");
            match result {
                Ok(Err(e)) => exceeded |= e.contains("exceeds") && e.contains(&path.display().to_string()),
                Ok(Ok(())) => {}
                Err(p) => panic!("{name}: a sequence length forged at {at} panicked: {p}"),
            }
        }
        assert!(exceeded, "{name}: the queue's bucket list forged to 2^40 entries was not refused as too long");
        // A forged length at many places of the body (wherever it lands on
        // a length it must be refused; elsewhere it is some other change).
        let mut rng = stream(0x1e5, name, 0);
        for _ in 0..40 {
            let at = rng.random_range(0..body.len());
            let forged = [&body[..at], &huge_len()[..], &body[at + 1..]].concat();
            let path = d.join(format!("{name}-len-anywhere.snap"));
            std::fs::write(&path, forge(&kind, &version, hash, &forged)).unwrap();
            let (result, largest) = largest_allocation(|| survives(&path, false));
            assert!(result.is_ok(), "{name}: a length forged at body byte {at} panicked: {result:?}");
            assert!(
                largest <= 16 * bytes.len() + (4 << 20),
                "{name}: body byte {at}: an allocation of {largest} bytes"
            );
        }
        // Cuts: plain (the header's length disagrees with the file) and
        // resealed with the shorter length (the body ends mid-value).
        for cut in [0, 5, 11, 20, bytes.len() / 3, bytes.len() - 1] {
            refused_with(&format!("{name}-cut{cut}"), d, &bytes[..cut], "truncated snapshot");
        }
        for keep in [1, body.len() / 2, body.len() - 1] {
            refused_with(&format!("{name}-short{keep}"), d, &forge(&kind, &version, hash, &body[..keep]), "snapshot");
        }
        // Extra bytes: plain, and resealed as part of the body.
        refused_with(&format!("{name}-trailing"), d, &[&bytes[..], b"extra"].concat(), "unexpected bytes after");
        let longer = [&body[..], &[0u8; 3][..]].concat();
        refused_with(
            &format!("{name}-longer"),
            d,
            &forge(&kind, &version, hash, &longer),
            "bytes of the body were not used",
        );
        // A body length beyond the file: refused before anything is read.
        let mut b = bytes.clone();
        let at = snapshot::checksum_offset(&b).unwrap() - 8;
        b[at..at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        snapshot::reseal(&mut b);
        refused_with(&format!("{name}-bodylen"), d, &b, "truncated snapshot");
        // A header text longer than allowed.
        let mut b = bytes.clone();
        b[12..14].copy_from_slice(&u16::MAX.to_le_bytes());
        refused_with(&format!("{name}-kindlen"), d, &b, "model kind is 65535 bytes long");
    }
}

/// Run the binary with `args`, killing it after `limit`; returns (exit
/// code, stderr, how long it took).
fn bin_within(args: &[&str], limit: Duration) -> (Option<i32>, String, Duration) {
    let t0 = Instant::now();
    let mut child = bin()
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            let _ = status;
            return (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned(), t0.elapsed());
        }
        if t0.elapsed() > limit {
            child.kill().unwrap();
            let _ = child.wait();
            panic!("{args:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Paths that are not snapshot files: refused quickly, by the library and
/// by every command that reads a snapshot, with a message naming the path
/// and what it is.
#[test]
fn not_a_file_is_refused_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let empty = d.join("empty.snap");
    std::fs::write(&empty, b"").unwrap();
    let fifo = d.join("pipe.snap");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().is_ok_and(|s| s.success());
    let mut cases: Vec<(PathBuf, &str)> = vec![
        (PathBuf::from("/dev/zero"), "not a snapshot file: it is a character device"),
        (d.to_path_buf(), "not a snapshot file: it is a directory"),
        (empty.clone(), "truncated snapshot"),
        (d.join("missing.snap"), "missing.snap"),
    ];
    if made {
        cases.push((fifo.clone(), "not a snapshot file: it is a FIFO"));
    }
    for (p, needle) in &cases {
        let e = format!("{:#}", open_snapshot(p).err().unwrap_or_else(|| panic!("{} opened", p.display())));
        assert!(e.contains(needle) && e.contains(&p.display().to_string()), "{e}");
        let f = p.to_str().unwrap();
        let out = d.join("out");
        for args in [
            vec!["inspect", f],
            vec!["resume", f, "--out", out.to_str().unwrap(), "--progress", "none"],
            vec!["step", "--from", f, "--count", "3"],
        ] {
            let (code, err, took) = bin_within(&args, Duration::from_secs(20));
            assert_eq!(code, Some(1), "{args:?}: {err}");
            // `resume` takes a folder as a run's output folder.
            let needle = if args[0] == "resume" && p.is_dir() { "is not a run folder" } else { needle };
            assert!(err.contains(needle), "{args:?}: expected `{needle}` in {err}");
            assert!(!err.contains("panicked"), "{args:?}: {err}");
            assert!(took < Duration::from_secs(10), "{args:?} took {took:?}");
        }
    }
}

/// Altered files through the binary: exit code 1 with a message naming the
/// file (or 0 if the alteration is another valid state), never a panic.
#[test]
fn altered_snapshots_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for case in [&CASES[4], &CASES[5], &CASES[9], &CASES[11]] {
        let (_, bytes) = mid_run(case, d);
        let mut rng = stream(0xb1, case.0, 0);
        let mut refused = 0;
        for k in 0..6 {
            let mut b = bytes.clone();
            let at = rng.random_range(20..b.len());
            b[at] ^= 1 << rng.random_range(0..8);
            snapshot::reseal(&mut b);
            let p = d.join(format!("{}-{k}.snap", case.0));
            std::fs::write(&p, &b).unwrap();
            let f = p.to_str().unwrap();
            let out = d.join(format!("{}-{k}.out", case.0));
            for args in [
                vec!["inspect", f],
                vec!["step", "--from", f, "--count", "50"],
                vec!["resume", f, "--out", out.to_str().unwrap(), "--progress", "none"],
            ] {
                let o = run_bin(&args);
                let (_, err) = text(&o);
                assert!(matches!(o.status.code(), Some(0) | Some(1)), "{args:?}: {:?} {err}", o.status);
                assert!(!err.contains("panicked"), "{args:?}: {err}");
                if o.status.code() == Some(1) {
                    assert!(err.contains(f), "{args:?}: {err}");
                    refused += 1;
                }
            }
        }
        let _ = refused;
    }
}
