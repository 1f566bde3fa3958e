//! Snapshot files: every damaged or foreign file gets its own clear error and
//! a non-zero exit, never a panic; the checked-in snapshot keeps reading.

use super::{root, run_bin, study, text};
use omerta_sim::engine::snapshot;
use std::path::{Path, PathBuf};

fn good_snapshot(dir: &Path) -> PathBuf {
    let s = study("reliability_v2_reference.toml", &["rounds=2", "round_hours=20"]);
    let mut run = s.stepper(1);
    for _ in 0..150 {
        run.step();
    }
    let p = dir.join("good.snap");
    run.save(&p).unwrap();
    p
}

/// `inspect` and `resume` on `file` fail with exit code 1 and a message
/// containing `needle`, and do not panic.
fn rejected(file: &Path, needle: &str) {
    for cmd in ["inspect", "resume"] {
        let out_dir = file.with_extension("out");
        let f = file.to_str().unwrap();
        let o =
            if cmd == "inspect" { run_bin(&[cmd, f]) } else { run_bin(&[cmd, f, "--out", out_dir.to_str().unwrap()]) };
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(1), "{cmd} {}: {err}", file.display());
        assert!(err.contains(needle), "{cmd} {}: expected `{needle}` in: {err}", file.display());
        assert!(!err.contains("panicked"), "{err}");
        assert!(!out_dir.exists(), "{cmd} wrote output for a rejected snapshot");
    }
}

#[test]
fn each_error_has_its_own_message() {
    let dir = tempfile::tempdir().unwrap();
    let good = good_snapshot(dir.path());
    let bytes = std::fs::read(&good).unwrap();
    let o = run_bin(&["inspect", good.to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));

    let write = |name: &str, b: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, b).unwrap();
        p
    };
    let mut b = bytes.clone();
    b[0] = b'X';
    rejected(&write("magic.snap", &b), "wrong magic bytes");
    rejected(&write("text.snap", b"study = \"reliability_v2\"\n"), "wrong magic bytes");

    let mut b = bytes.clone();
    b[8..12].copy_from_slice(&99u32.to_le_bytes());
    rejected(&write("version.snap", &b), "format version 99");

    let foreign = snapshot::encode("weather_forecast", 0, &(1u64, "not a market"));
    rejected(&write("model.snap", &foreign), "snapshot of model `weather_forecast`");

    for cut in [0, 5, 20, bytes.len() / 2, bytes.len() - 1] {
        rejected(&write(&format!("cut{cut}.snap"), &bytes[..cut]), "truncated snapshot");
    }

    let mut b = bytes.clone();
    let n = b.len();
    b[n - 10] ^= 0x55;
    rejected(&write("checksum.snap", &b), "corrupt (checksum");

    let mut b = bytes.clone();
    b.extend_from_slice(b"extra");
    rejected(&write("trailing.snap", &b), "unexpected bytes after");

    let missing = dir.path().join("missing.snap");
    let o = run_bin(&["inspect", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("missing.snap"));
}

/// The library reports the same cases as typed errors.
#[test]
fn typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let good = good_snapshot(dir.path());
    let bytes = std::fs::read(&good).unwrap();
    let p = Path::new("x.snap");
    assert!(snapshot::parse(p, &bytes).is_ok());
    let mut b = bytes.clone();
    b[1] = 0;
    assert!(matches!(snapshot::parse(p, &b), Err(snapshot::SnapshotError::BadMagic(_))));
    let mut b = bytes.clone();
    let other = snapshot::FORMAT_VERSION + 1;
    b[8..12].copy_from_slice(&other.to_le_bytes());
    assert!(
        matches!(snapshot::parse(p, &b), Err(snapshot::SnapshotError::UnsupportedVersion { found, .. }) if found == other)
    );
    assert!(matches!(snapshot::parse(p, &bytes[..40]), Err(snapshot::SnapshotError::Truncated { .. })));
    let mut b = bytes.clone();
    let n = b.len();
    b[n - 1] ^= 1;
    assert!(matches!(snapshot::parse(p, &b), Err(snapshot::SnapshotError::BadChecksum { .. })));
}

/// `snapshots/` holds a snapshot written by an earlier build. It must keep
/// reading (or, after a format change, be rejected with the version error
/// and regenerated with the command in snapshots/README.md).
#[test]
fn checked_in_snapshot_still_reads() {
    let file = root().join("snapshots/reliability_v2_reference-seed1-10h.snap");
    let o = run_bin(&["inspect", file.to_str().unwrap()]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("model kind      reliability_v2"), "{out}");
    assert!(out.contains("simulated time  10.000h"), "{out}");
    let dir = tempfile::tempdir().unwrap();
    let o = run_bin(&["resume", file.to_str().unwrap(), "--until", "12h", "--out", dir.path().to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(dir.path().join("reliability_v2-seed1-12h.snap").exists());
}

/// A run of every study resumed from a snapshot taken halfway stops at its
/// horizon (`resume` once treated "finished" as "no event left") and ends
/// where a run straight to the end does.
#[test]
fn resume_from_halfway_stops_at_the_horizon() {
    use omerta_sim::engine::SimTime;
    use omerta_sim::study::RunControl;
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[&str]); 7] = [
        ("reliability_v2.toml", &["rounds=3"]),
        ("economic_value.toml", &["compare_fidelities=false", "duration_hours=100"]),
        ("identity_rotation.toml", &[]),
        ("trust_dynamics.toml", &[]),
        ("monetary_policy.toml", &["days=30", "monetary_policy.long_days=30"]),
        // Its next arrival is always pending, past the horizon at the end.
        ("mm1.toml", &["hours=500"]),
        ("world.toml", &["days=5", "scenarios=[\"undersupplied\"]"]),
    ];
    for (file, sets) in cases {
        let s = study(file, sets);
        let mut run = s.stepper(1);
        let horizon = run.horizon();
        run.drive(SimTime(horizon.ticks() / 2), &RunControl::quiet()).unwrap();
        let path = dir.path().join(format!("{file}.snap"));
        run.save(&path).unwrap();
        let (_, mut resumed) = omerta_sim::models::open_snapshot(&path).unwrap();
        resumed.drive(SimTime::MAX, &RunControl::quiet()).unwrap();
        assert!(resumed.now() <= horizon, "{file}: ran to {:?} past the horizon {horizon:?}", resumed.now());
        assert!(resumed.done(), "{file}: not done at its horizon");
        // The same output as a run straight to the end.
        let mut whole = s.stepper(1);
        whole.drive(SimTime::MAX, &RunControl::quiet()).unwrap();
        assert_eq!(resumed.fingerprint(), whole.fingerprint(), "{file}");
        assert_eq!(resumed.output().metrics, whole.output().metrics, "{file}");
    }
}
