//! world: the uncoupled limit equals economic_value bit for bit; money is
//! conserved through escrow and every lock is settled; settlements move
//! trust and burn what the share withholds; net pricing moves floors; bad
//! scenarios are refused with the key named.

use super::{run_bin, scenario, study, text};
use omerta_sim::engine::progress::ProgressMode;
use omerta_sim::models::open_study;
use omerta_sim::report::results::SeedOutput;
use omerta_sim::study::exec::{RunOptions, run_seeds};

fn outputs(file: &str, sets: &[&str], seeds: u64) -> Vec<SeedOutput> {
    let s = study(file, sets);
    let opts = RunOptions {
        seeds: (1..=seeds).collect(),
        jobs: 0,
        progress: ProgressMode::None,
        snapshot_every: None,
        out: std::env::temp_dir(),
    };
    run_seeds(s.as_ref(), &opts).unwrap()
}

/// Acceptance 1: with full settlement, gross pricing, unlimited budgets, no
/// attackers and the policy off, every economic_value metric of every
/// market and leg (and every change between legs) equals economic_value
/// corrected's on the same seeds and horizon, bit for bit.
#[test]
fn uncoupled_limit_equals_economic_value() {
    let w = outputs("world_uncoupled.toml", &[], 20);
    let e = outputs("economic_value.toml", &["compare_fidelities=false", "duration_hours=200"], 20);
    let mut compared = 0;
    for (a, b) in w.iter().zip(&e) {
        assert_eq!(a.seed, b.seed);
        for (k, v) in &b.metrics {
            let Some(rest) = k.strip_prefix("scenarios.") else { continue };
            let got = a.metrics.get(&format!("world.{rest}")).unwrap_or_else(|| panic!("world lacks {k}"));
            assert_eq!(got.map(f64::to_bits), v.map(f64::to_bits), "seed {}: {k}: {got:?} vs {v:?}", a.seed);
            compared += 1;
        }
    }
    // 4 markets x 2 legs x 30 metrics (and 6 changes per market), 20 seeds.
    assert!(compared > 20 * 4 * 60, "{compared} values compared");
    // Money moved all the same: every payment went through escrow, in full.
    for o in &w {
        for leg in ["dc_only", "dc_home"] {
            let m = |k: &str| o.metrics[&format!("world.undersupplied.{leg}.{k}")].unwrap();
            assert_eq!(m("ledger.burned_settlement"), 0.0);
            assert_eq!(m("ledger.escrowed_end"), 0.0);
            assert!(m("ledger.onramp") > 0.0);
        }
    }
}

/// Money is conserved at every leg's end (minted = balances + escrowed +
/// burned) with every lock settled; trust-weighted settlement burns part
/// of what consumers pay, homes (newcomers) more of theirs than DCs
/// (incumbents); consumers' cost per useful hour is the market's pooled
/// cost (they pay gross).
#[test]
fn settlement_burns_and_conserves() {
    let r = outputs("world.toml", &["days=20", r#"scenarios=["undersupplied", "oversupplied"]"#], 4);
    for o in &r {
        for m in ["undersupplied", "oversupplied"] {
            for leg in ["dc_only", "dc_home"] {
                let g = |k: &str| o.metrics[&format!("world.{m}.{leg}.{k}")].unwrap_or(f64::NAN);
                let sum = g("ledger.balances_end") + g("ledger.escrowed_end") + g("ledger.burned_settlement");
                assert!((sum - g("ledger.minted")).abs() < 1e-6, "{m}.{leg}: {sum} vs {}", g("ledger.minted"));
                assert_eq!(g("ledger.escrowed_end"), 0.0, "{m}.{leg}: a lock open after the leg's end");
                assert!(g("ledger.burned_settlement") > 0.0, "{m}.{leg}");
                let (a, b) = (g("consumer_cost_per_useful_hour"), g("cost_per_useful_hour_pooled"));
                assert!((a - b).abs() <= 1e-12 * b, "{m}.{leg}: {a} vs {b}");
                assert_eq!(g("solves"), 20.0);
                assert_eq!(g("solves_nonconverged"), 0.0);
            }
            let g = |k: &str| o.metrics[&format!("world.{m}.dc_home.{k}")].unwrap();
            assert!(g("burned_share.home") > g("burned_share.dc"), "{m}: newcomers burn more");
            assert!(g("mean_trust.dc") > g("mean_trust.home"), "{m}: incumbents trusted more");
            assert!(g("settlements.completed.home.credit") > 0.0);
        }
    }
}

/// Net pricing changes floors only when the share is below 1: with full
/// settlement it leaves every market metric as gross pricing does.
#[test]
fn net_pricing_with_full_settlement_is_gross() {
    let sets = ["days=5", r#"scenarios=["sufficient"]"#, "settlement=\"full\""];
    let net = outputs("world.toml", &[&sets[..], &["pricing=\"net\""]].concat(), 2);
    let gross = outputs("world.toml", &[&sets[..], &["pricing=\"gross\""]].concat(), 2);
    for (a, b) in net.iter().zip(&gross) {
        for k in ["compute_hours", "cost_per_useful_hour", "home_hours", "dc_sessions"] {
            let key = format!("world.sufficient.dc_home.{k}");
            assert_eq!(a.metrics[&key].map(f64::to_bits), b.metrics[&key].map(f64::to_bits), "{key}");
        }
    }
    // With trust-weighted settlement, net floors raise home prices while
    // their trust is low: the market differs from gross pricing.
    let tw = outputs("world.toml", &["days=5", r#"scenarios=["sufficient"]"#], 2);
    let differs = tw.iter().zip(&gross).any(|(a, b)| {
        let k = "world.sufficient.dc_home.cost_per_useful_hour";
        a.metrics[k] != b.metrics[k]
    });
    assert!(differs, "net floors changed nothing");
}

/// The same seed gives the same metrics, through the binary too.
#[test]
fn binary_runs_and_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let mut metrics = Vec::new();
    for k in 0..2 {
        let out = dir.path().join(format!("r{k}"));
        let o = run_bin(&[
            "run",
            "models/world.toml",
            "--seeds",
            "2",
            "--set",
            "days=3",
            "--progress",
            "none",
            "--out",
            out.to_str().unwrap(),
        ]);
        let (so, se) = text(&o);
        assert!(o.status.success(), "{so}\n{se}");
        let r: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
        metrics.push(r["metrics"].clone());
    }
    assert_eq!(metrics[0], metrics[1]);
    assert!(metrics[0]["world.undersupplied.dc_home.ledger.minted"]["mean"].as_f64().unwrap() > 0.0);
}

/// Bad world keys are refused with the key and the file named.
#[test]
fn bad_scenarios_are_refused() {
    let cases: &[(&[&str], &str)] = &[
        (&["settlement=\"half\""], "key `settlement`"),
        (&["pricing=\"free\""], "key `pricing`"),
        (&["link.vs_completed=1.5"], "link.vs_completed"),
        (&["link.reclaim=\"maybe\""], "key `link.reclaim`"),
        (&["world.s_min=0"], "world.s_min"),
        (&["world.history_days=0"], "world.dc_history_sessions"),
        (&["duration_hours=100"], "`days` and `duration_hours`"),
        (&["days=0"], "key `days`"),
        (&["fidelity=\"reference\""], "no reference script"),
        (&["arms=[\"off\", \"on\"]"], "key `arms`"),
        (&["trust.k_payment=-1"], "trust.k_payment"),
        (&["consumer.budget=\"finite\""], "consumer.budget"),
        (&["consumer.job_hours=-2"], "consumer.job_hours"),
    ];
    for (sets, want) in cases {
        let e = match open_study(scenario("world.toml", sets)) {
            Ok(_) => panic!("{sets:?} was accepted"),
            Err(e) => e.to_string(),
        };
        assert!(e.contains(want) && e.contains("world.toml"), "{sets:?}: {e}");
    }
    for extra in ["[link]\nrw = 1.0\nvs_complete = 0.9\n", "colour = 3\n", "[consumer]\nbudgets = \"unlimited\"\n"] {
        let base = std::fs::read_to_string(super::root().join("models/world_uncoupled.toml")).unwrap();
        let text = if extra.starts_with('[') && !extra.starts_with("[link]") {
            base.replace("[consumer]\n", "[consumer]\nbudgets = \"unlimited\"\n")
        } else if extra.starts_with("[link]") {
            base.replace("vs_completed = 0.95", "vs_complete = 0.95")
        } else {
            format!("{extra}{base}")
        };
        let scn = omerta_sim::study::Scenario::parse(&text, std::path::Path::new("models/w.toml"), &[]).unwrap();
        let e = open_study(scn).err().expect("an unknown key is refused").to_string();
        assert!(e.contains("unknown") && e.contains("models/w.toml"), "{extra}: {e}");
    }
}

/// `step` shows each lock, each settlement (condition, share, pay, burn,
/// refund) and each day's solve; `--kind DayStart` steps from day to day.
#[test]
fn step_shows_locks_settlements_and_solves() {
    let markets = r#"scenarios=["undersupplied"]"#;
    let o = run_bin(&["step", "models/world.toml", "--set", "days=2", "--set", markets, "--count", "400"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    for needle in
        ["DayStart", "trust solve", "OMC in escrow for session", "settles session", "(completed)", "share ", "refund "]
    {
        assert!(out.contains(needle), "`{needle}` not in:\n{}", &out[..out.len().min(4000)]);
    }
    let o = run_bin(&[
        "step",
        "models/world.toml",
        "--set",
        "days=3",
        "--set",
        markets,
        "--kind",
        "DayStart",
        "--count",
        "3",
    ]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert_eq!(out.matches("trust solve").count(), 3, "{out}");
}

/// A run saved at random events while sessions hold escrow locks, mid-day,
/// and resumed from the file ends bit for bit where a run straight to the
/// end does.
#[test]
fn resume_mid_escrow_is_bit_identical() {
    use omerta_sim::engine::{SimTime, TICKS_PER_DAY};
    use omerta_sim::models::world::WorldStudy;
    use omerta_sim::study::{RunControl, Stepper, StudyOf};
    use rand::{RngExt, SeedableRng};
    let s = StudyOf::<WorldStudy>::new(scenario("world.toml", &["days=3", r#"scenarios=["undersupplied"]"#])).unwrap();
    let mut whole = s.new_run(7);
    whole.drive(SimTime::MAX, &RunControl::quiet()).unwrap();
    let total = whole.sim.counters().processed;
    let dir = tempfile::tempdir().unwrap();
    let mut rng = rand_pcg::Pcg64::seed_from_u64(11);
    for k in 0..5 {
        let mut run = s.new_run(7);
        let target = rng.random_range(10..total * 9 / 10);
        loop {
            assert!(run.sim.step().is_some(), "the run ended before a mid-escrow point");
            let open = run.sim.model.ext.ledger.as_ref().map_or(0, |l| l.open_lock_count());
            if run.sim.counters().processed >= target
                && open > 0
                && !run.sim.now().ticks().is_multiple_of(TICKS_PER_DAY)
            {
                break;
            }
        }
        let path = dir.path().join(format!("w{k}.snap"));
        run.save(&path).unwrap();
        let (_, mut resumed) = omerta_sim::models::open_snapshot(&path).unwrap();
        resumed.drive(SimTime::MAX, &RunControl::quiet()).unwrap();
        run.drive(SimTime::MAX, &RunControl::quiet()).unwrap();
        assert_eq!(resumed.fingerprint(), whole.fingerprint(), "save {k} at event {target}");
        assert_eq!(run.fingerprint(), whole.fingerprint());
        let (a, b) = (resumed.output(), whole.output());
        assert_eq!(a.metrics, b.metrics, "save {k} at event {target}");
        assert_eq!(a.tables, b.tables, "save {k} at event {target}");
        let bits = |o: &omerta_sim::report::results::SeedOutput| {
            o.series
                .iter()
                .map(|(k, v)| (k.clone(), v.iter().map(|x| x.to_bits()).collect::<Vec<_>>()))
                .collect::<Vec<_>>()
        };
        assert_eq!(bits(&a), bits(&b), "save {k} at event {target}");
    }
}
