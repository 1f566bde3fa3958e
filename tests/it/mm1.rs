//! The example study of `docs/adding_a_study.md`, the M/M/1 queue: it
//! agrees with queueing theory over seeds, goes through the command line
//! like every study, refuses what it cannot run, and ends every run with
//! its next arrival pending past the horizon.

use super::{root, run_bin, study, text};
use omerta_sim::engine::SimTime;
use omerta_sim::study::RunControl;

/// The queue's steady state, over 20 fixed seeds: each mean's 95% interval
/// holds the theory's value (W = 1/(μ − λ), L = ρ/(1 − ρ), busy share ρ),
/// at two loads.
#[test]
fn agrees_with_queueing_theory() {
    for (lambda, mu) in [(0.8, 1.0), (0.5, 2.0)] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().to_str().unwrap();
        let (l, m) = (format!("arrival_rate={lambda}"), format!("service_rate={mu}"));
        let o = run_bin(&["run", "models/mm1.toml", "--set", &l, "--set", &m, "--out", out, "--progress", "none"]);
        assert!(o.status.success(), "{}", text(&o).1);
        let r = omerta_sim::report::results::read_results(dir.path().join("results.json")).unwrap();
        assert_eq!(r.seeds.len(), 20);
        let rho: f64 = lambda / mu;
        for (key, theory) in [
            ("mean_time_in_system_hours", 1.0 / (mu - lambda)),
            ("mean_in_system", rho / (1.0 - rho)),
            ("utilization", rho),
        ] {
            let [lo, hi] = r.metrics[key].ci95.unwrap();
            assert!(lo <= theory && theory <= hi, "λ={lambda} μ={mu}: {key} [{lo}, {hi}] misses {theory}");
            // An honest interval: not so wide that it could hold anything.
            assert!(hi - lo < 0.1 * theory, "λ={lambda} μ={mu}: {key} [{lo}, {hi}]");
        }
        for f in &r.findings {
            assert_eq!(f.verdict.to_string(), "holds", "λ={lambda} μ={mu}: {} held in {:?}", f.id, f.held_in);
        }
    }
}

/// A run stops at its horizon with its next arrival still pending, and a
/// run resumed through the binary from a snapshot taken halfway ends with
/// the results of a run straight through.
#[test]
fn schedules_past_its_horizon_and_resumes_to_it() {
    let s = study("mm1.toml", &["hours=400"]);
    let mut run = s.stepper(3);
    let horizon = run.horizon();
    run.drive(SimTime::MAX, &RunControl::quiet()).unwrap();
    assert!(run.now() <= horizon && run.done());
    assert!(run.pending() >= 1, "no event pending past the horizon");
    assert!(run.next_time().unwrap() > horizon);

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut half = s.stepper(3);
    half.drive(SimTime(horizon.ticks() / 2), &RunControl::quiet()).unwrap();
    let snap = d.join("half.snap");
    half.save(&snap).unwrap();
    let out = d.join("resumed");
    let o = run_bin(&["resume", snap.to_str().unwrap(), "--out", out.to_str().unwrap(), "--progress", "none"]);
    assert!(o.status.success(), "{}", text(&o).1);
    let resumed = omerta_sim::report::results::read_results(out.join("results.json")).unwrap();
    let whole = run.output();
    for (k, v) in &whole.metrics {
        assert_eq!(resumed.metrics[k].mean, *v, "{k}");
    }
}

/// What the queue cannot run is refused with the key named, exit code 1.
#[test]
fn refuses_what_it_cannot_run() {
    let file = root().join("models/mm1.toml");
    let f = file.to_str().unwrap();
    for (set, needle) in [
        ("fidelity=reference", "no reference script"),
        ("arrival_rate=1.0", "0 < `arrival_rate` < `service_rate`"),
        ("arrival_rate=0", "0 < `arrival_rate`"),
        ("service_rate=-1", "`service_rate` must be >= 0"),
        ("hours=0", "`hours` must be a duration > 0"),
        ("tolerance=0", "`tolerance` must be > 0"),
        ("lambda=0.5", "lambda"),
    ] {
        let o = run_bin(&["run", f, "--set", set, "--progress", "none"]);
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(1), "{set}: {err}");
        assert!(err.contains(needle) && err.contains("mm1.toml"), "{set}: expected `{needle}` in: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}
