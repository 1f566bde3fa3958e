//! Hostile and careless scenario values, for every study: each gives an
//! error naming the key (and the file), or, when the scenario is empty but
//! valid, a run whose undefined metrics are null and whose findings are
//! `n/a`; never a panic, a hang, or an aborted allocation.

use super::{root, run_bin, text};
use omerta_sim::models::open_study;
use omerta_sim::report::results::{Verdict, aggregate};
use omerta_sim::study::limits::{self, Available};
use omerta_sim::study::scenario::parse_set_value;
use omerta_sim::study::{RunControl, Scenario, Study};
use std::path::Path;
use std::time::{Duration, Instant};

/// The memory the checks below may plan for: this machine's, at most 8 GiB
/// (so that what a test accepts it can also run).
fn budget() -> Available {
    Available::Measured(limits::available_memory().bytes().min(8 << 30))
}

/// Set `path` (dotted, with `name[i]` for array entries) in `table`.
fn set_path(table: &mut toml::Table, path: &str, value: toml::Value) {
    let parts: Vec<&str> = path.split('.').collect();
    let mut cur = table;
    for (k, part) in parts.iter().enumerate() {
        let last = k + 1 == parts.len();
        let (name, index) = match part.split_once('[') {
            Some((n, rest)) => (n, Some(rest.trim_end_matches(']').parse::<usize>().expect("an index"))),
            None => (*part, None),
        };
        match (index, last) {
            (None, true) => {
                cur.insert(name.to_string(), value);
                return;
            }
            (None, false) => {
                let next = cur.entry(name.to_string()).or_insert_with(|| toml::Value::Table(Default::default()));
                cur = next.as_table_mut().unwrap_or_else(|| panic!("{path}: {name} is not a table"));
            }
            (Some(i), _) => {
                let arr = cur
                    .get_mut(name)
                    .and_then(|v| v.as_array_mut())
                    .unwrap_or_else(|| panic!("{path}: {name} is not an array"));
                if last {
                    arr[i] = value;
                    return;
                }
                cur = arr[i].as_table_mut().unwrap_or_else(|| panic!("{path}: {name}[{i}] is not a table"));
            }
        }
    }
}

/// A scenario file of `models/` with `edits` (values written as in `--set`).
fn scenario(file: &str, edits: &[(&str, &str)]) -> Scenario {
    let rel = Path::new("models").join(file);
    let text = std::fs::read_to_string(root().join(&rel)).expect("scenario file exists");
    let mut s = Scenario::parse(&text, &rel, &[]).expect("scenario loads");
    for (k, v) in edits {
        set_path(&mut s.table, k, parse_set_value(v));
    }
    if let Some(toml::Value::String(st)) = s.table.get("study") {
        s.study = st.clone();
    }
    s
}

/// Open the study and check its memory for one seed: the error text, or the
/// study.
fn open(s: Scenario) -> Result<Box<dyn Study>, String> {
    let study = open_study(s).map_err(|e| e.to_string())?;
    limits::check_footprint(&study.scenario().path, &study.footprint(), 1, 1, budget()).map_err(|e| e.to_string())?;
    Ok(study)
}

/// What a case must give.
enum Expect {
    /// An error whose text contains each of these.
    Refused(&'static [&'static str]),
    /// A run that finishes; these findings are `n/a` (and every other
    /// finding that is `n/a` has no seed that computed it).
    NotApplicable(&'static [&'static str]),
}

use Expect::{NotApplicable, Refused};

type Case = (&'static str, &'static [(&'static str, &'static str)], Expect);

/// Run one case; `Err` describes a failure.
fn check(case: &Case) -> Result<(), String> {
    let (file, edits, expect) = case;
    let t0 = Instant::now();
    let got = std::panic::catch_unwind(|| open(scenario(file, edits)))
        .map_err(|_| format!("{file} {edits:?}: panicked while loading"))?;
    let res = match (expect, got) {
        (Refused(needles), Err(e)) => {
            let missing: Vec<&&str> = needles.iter().filter(|n| !e.contains(**n)).collect();
            if !missing.is_empty() {
                return Err(format!("{file} {edits:?}: error lacks {missing:?}: {e}"));
            }
            if !e.contains(file) {
                return Err(format!("{file} {edits:?}: error does not name the file: {e}"));
            }
            if e.contains("Some(") || e.contains("Invalid {") {
                return Err(format!("{file} {edits:?}: Debug formatting in the error: {e}"));
            }
            Ok(())
        }
        (Refused(_), Ok(_)) => Err(format!("{file} {edits:?}: accepted, expected an error")),
        (NotApplicable(_), Err(e)) => Err(format!("{file} {edits:?}: refused: {e}")),
        (NotApplicable(ids), Ok(study)) => {
            let (base, _) = study.default_seeds();
            let outputs: Vec<_> = (base..base + 2)
                .map(|s| study.run_seed(s, &RunControl::quiet()).map_err(|e| format!("{e:#}")))
                .collect::<Result<_, _>>()?;
            let (metrics, findings) = aggregate(&outputs, study.findings(), study.verdict());
            for id in *ids {
                let f = findings
                    .iter()
                    .find(|f| f.id == *id)
                    .ok_or_else(|| format!("{file} {edits:?}: finding {id} not reported"))?;
                if f.verdict != Verdict::NotApplicable || f.held_in.is_some() {
                    return Err(format!("{file} {edits:?}: {id} is {} ({:?}), expected n/a", f.verdict, f.held_in));
                }
            }
            for f in &findings {
                let computed = outputs.iter().any(|o| o.findings.get(&f.id).copied().flatten().is_some());
                if computed == (f.verdict == Verdict::NotApplicable) {
                    return Err(format!("{file} {edits:?}: {} is {} but computed = {computed}", f.id, f.verdict));
                }
            }
            for (k, m) in &metrics {
                if m.values.iter().flatten().any(|x| !x.is_finite()) {
                    return Err(format!("{file} {edits:?}: metric {k} has a non-finite value"));
                }
            }
            Ok(())
        }
    };
    if t0.elapsed() > Duration::from_secs(60) {
        return Err(format!("{file} {edits:?}: took {:?}", t0.elapsed()));
    }
    res
}

fn check_all(cases: &[Case]) {
    let failures: Vec<String> = cases.iter().filter_map(|c| check(c).err()).collect();
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

const V2: &str = "reliability_v2.toml";
const BASIC: &str = "reliability_basic.toml";
const EQ: &str = "reliability_equilibrium.toml";

#[test]
fn reliability() {
    check_all(&[
        // Huge counts: refused by the memory estimate or the integer they are stored in.
        (V2, &[("provider_count", "4000000000")], Refused(&["provider_count = 4000000000", "would need about"])),
        (V2, &[("consumer_groups[0].count", "4000000000")], Refused(&["consumer_groups[].count", "would need"])),
        (V2, &[("provider_count", "5000000000")], Refused(&["`provider_count` is too large"])),
        (V2, &[("rounds", "4000000000")], Refused(&["`rounds` x `round_hours`"])),
        (V2, &[("rounds", "100000000")], Refused(&["rounds = 100000000", "would need"])),
        (V2, &[("provider_count", "1e10")], Refused(&["provider_count"])),
        (
            EQ,
            &[("provider_count", "3000000000"), ("consumer_groups[0].count", "3000000000")],
            Refused(&["provider_count"]),
        ),
        (BASIC, &[("iterations", "4000000000")], Refused(&["iterations"])),
        (
            BASIC,
            &[("provider_groups[0].count", "4294967295"), ("provider_groups[1].count", "4294967295")],
            Refused(&["provider_groups[].count"]),
        ),
        // Tiny and huge intervals.
        (V2, &[("tick_hours", "1e-9")], Refused(&["`tick_hours` = 1e-9 h is shorter than one engine tick"])),
        (V2, &[("tick_hours", "1e300")], Refused(&["`tick_hours` = 1e300 h is longer than"])),
        (V2, &[("round_hours", "1e300")], Refused(&["`round_hours` = 1e300 h is longer than"])),
        (V2, &[("fidelity", "\"reference\""), ("round_hours", "1e300")], Refused(&["`round_hours` / `tick_hours`"])),
        (V2, &[("fidelity", "\"reference\""), ("round_hours", "1e9")], Refused(&["`round_hours` / `tick_hours`"])),
        (V2, &[("rounds", "1000000000"), ("round_hours", "1e9")], Refused(&["`rounds` x `round_hours`"])),
        (V2, &[("job_hours", "1e12")], Refused(&["`job_hours`"])),
        (V2, &[("job_hours", "1e8")], Refused(&["`job_hours` / `tick_hours`"])),
        (V2, &[("tick_hours", "4e9")], Refused(&["`tick_hours`", "checkpoints in the grid of a job"])),
        (V2, &[("requote_hours", "1e-12")], Refused(&["`requote_hours`"])),
        (V2, &[("consumer_groups[2].checkpoint_hours", "1e-10")], Refused(&["`consumer_groups[2].checkpoint_hours`"])),
        (
            V2,
            &[("job_hours", "1e5"), ("tick_hours", "0.01"), ("consumer_groups[0].checkpoint_hours", "0.0003")],
            Refused(&["checkpoints in the grid of a job"]),
        ),
        (V2, &[("bid_rate", "1e300")], Refused(&["`bid_rate`", "faster than one event per engine tick"])),
        // NaN and infinity (TOML `nan`, `inf`).
        (V2, &[("price_mean", "nan")], Refused(&["`price_mean` must be a finite number"])),
        (V2, &[("price_volatility", "1e300")], Refused(&["`price_volatility` = 1e300 is beyond the money scale"])),
        (V2, &[("consumer_groups[0].value_per_hour", "1e20")], Refused(&["`consumer_groups[0].value_per_hour`"])),
        (V2, &[("tick_hours", "inf")], Refused(&["`tick_hours` must be a finite number"])),
        (V2, &[("round_hours", "-inf")], Refused(&["`round_hours`"])),
        (V2, &[("bid_uniform", "[nan, 1.0]")], Refused(&["`bid_uniform`"])),
        (V2, &[("initial_threshold_range", "[1.0, inf]")], Refused(&["`initial_threshold_range`"])),
        (V2, &[("consumer_groups[0].value_per_hour", "inf")], Refused(&["`consumer_groups[0].value_per_hour`"])),
        (BASIC, &[("provider_groups[0].threshold", "nan")], Refused(&["`provider_groups[0].threshold`"])),
        (V2, &[("verdict", "{ holds_at = nan }")], Refused(&["`verdict`"])),
        // Negative values.
        (V2, &[("rounds", "-1")], Refused(&["`rounds` must be >= 0"])),
        (V2, &[("consumer_groups[0].count", "-3")], Refused(&["`consumer_groups[0].count` must be >= 0"])),
        (V2, &[("price_reversion", "-1")], Refused(&["`price_reversion` must be >= 0"])),
        (V2, &[("seed_base", "-1")], Refused(&["`seed_base` must be >= 0"])),
        // Zero rounds or iterations: nothing to simulate.
        (V2, &[("rounds", "0")], Refused(&["`rounds` is 0"])),
        (EQ, &[("rounds", "0")], Refused(&["`rounds` is 0"])),
        (BASIC, &[("iterations", "0")], Refused(&["`iterations` is 0"])),
        // Duplicate names where names are keys.
        (
            V2,
            &[("consumer_groups[1].name", "\"high_cp_frequent\"")],
            Refused(&["consumer_groups[1].name", "used twice"]),
        ),
        (
            BASIC,
            &[("provider_groups[1].name", "\"reliable\"")],
            Refused(&["provider_groups[].name", "\"reliable\" is listed twice"]),
        ),
        (BASIC, &[("strategies", "[\"naive\", \"naive\"]")], Refused(&["`strategies`", "\"naive\" is listed twice"])),
        // Out-of-domain probabilities, margins and min <= max pairs.
        (BASIC, &[("rational_floor", "1.5")], Refused(&["`rational_floor` must be in [0, 1]"])),
        (V2, &[("adapt_rate", "2")], Refused(&["`adapt_rate` must be in [0, 1]"])),
        (V2, &[("verdict", "{ holds_at = 1.5 }")], Refused(&["`verdict`"])),
        (
            EQ,
            &[("class_moderate_min", "3.0")],
            Refused(&["`class_moderate_min` (3) must not exceed `class_reliable_min` (2.5)"]),
        ),
        (V2, &[("threshold_min", "4"), ("threshold_max", "2")], Refused(&["`threshold_min`"])),
        (V2, &[("bid_uniform", "[2.0, 1.0]")], Refused(&["`bid_uniform`"])),
        (V2, &[("attempts_cap", "0.5")], Refused(&["`attempts_cap` must be >= 1"])),
        // Empty agent lists: nothing to simulate.
        (V2, &[("provider_count", "0")], Refused(&["`provider_count`: no providers"])),
        (V2, &[("consumer_groups", "[]")], Refused(&["no consumers"])),
        (BASIC, &[("provider_groups", "[]")], Refused(&["no providers"])),
        (BASIC, &[("strategies", "[]")], Refused(&["`strategies` must name at least one"])),
        // Integer overflow.
        (V2, &[("seeds", "9223372036854775807")], Refused(&["`seeds` is too large"])),
        (V2, &[("seed_base", "4294967296")], Refused(&["`seed_base` is too large"])),
        // Empty but valid: a tier without consumers, a lone provider.
        (
            V2,
            &[("consumer_groups[4].count", "0"), ("consumer_groups[5].count", "0"), ("rounds", "3")],
            NotApplicable(&["reliability_v2.low_value_priced_out", "reliability_v2.low_nocp_priced_out"]),
        ),
        (
            V2,
            &[("provider_count", "1"), ("rounds", "2")],
            NotApplicable(&["reliability_v2.thresholds_converge", "reliability_v2.std_drop_98"]),
        ),
        (
            BASIC,
            &[("provider_groups", "[{ name = \"only\", count = 3, threshold = 2.0 }]"), ("iterations", "2")],
            NotApplicable(&["reliability_basic.reliability_premium"]),
        ),
    ]);
}

const EV: &str = "economic_value.toml";
const EV_SWEEP: &str = "economic_value_sweep.toml";

#[test]
fn economic_value() {
    check_all(&[
        (
            EV,
            &[("market.undersupplied.consumers", "4000000000")],
            Refused(&["market.undersupplied.consumers = 4000000000", "would need"]),
        ),
        (EV, &[("market.undersupplied.dcs", "5000000000")], Refused(&["`market.undersupplied.dcs` is too large"])),
        (
            EV,
            &[("market.undersupplied.dcs", "4294967295"), ("market.undersupplied.homes", "4294967295")],
            Refused(&["would need"]),
        ),
        (EV_SWEEP, &[("sweep.demand.balanced", "4000000000")], Refused(&["sweep.demand.balanced = 4000000000"])),
        (EV, &[("duration_hours", "1e300")], Refused(&["`duration_hours` = 1e300 h is longer than"])),
        (EV, &[("duration_hours", "1e-9")], Refused(&["`duration_hours` = 1e-9 h is shorter than one engine tick"])),
        (
            EV,
            &[("fidelity", "\"reference\""), ("duration_hours", "1e12")],
            Refused(&["`duration_hours` / `tick_hours`"]),
        ),
        (EV, &[("tick_hours", "1e-9")], Refused(&["`tick_hours`"])),
        (EV, &[("sample_hours", "1e-9")], Refused(&["`sample_hours`"])),
        (EV, &[("sample_hours", "0.000001")], Refused(&["duration_hours / sample_hours", "would need"])),
        (EV, &[("price_setter.resolve_hours", "1e-12")], Refused(&["`price_setter.resolve_hours`"])),
        (EV, &[("consumer.checkpoint_hours", "[0.5, 1e-12]")], Refused(&["`consumer.checkpoint_hours`"])),
        (EV, &[("consumer.checkpoint_hours", "[]")], Refused(&["`consumer.checkpoint_hours`", "empty"])),
        (
            EV,
            &[("consumer.job_hours", "1e7"), ("consumer.checkpoint_hours", "0.00001")],
            Refused(&["checkpoints per job"]),
        ),
        (EV, &[("dc.repair_mean_hours", "1e-12")], Refused(&["`dc.repair_mean_hours`"])),
        (EV, &[("outside.offer_rate_per_hour", "1e300")], Refused(&["`outside.offer_rate_per_hour`"])),
        (
            EV,
            &[("price.idle_decay_per_hour", "1e-300")],
            Refused(&["`price.idle_decay_per_hour` must be 0 or at least 1e-6"]),
        ),
        (EV, &[("consumer.job_hours", "nan")], Refused(&["`consumer.job_hours`"])),
        (EV, &[("outside.volatility", "inf")], Refused(&["`outside.volatility`"])),
        (EV, &[("dc.opex_per_hour", "1e300")], Refused(&["`dc.opex_per_hour`", "money scale"])),
        (EV, &[("home.cancel_threshold", "nan")], Refused(&["`home.cancel_threshold`"])),
        (EV, &[("dc.hourly_survival", "0")], Refused(&["`dc.hourly_survival`"])),
        (EV, &[("price.cap", "-1")], Refused(&["`price.cap`"])),
        (EV, &[("market.undersupplied.consumers", "-5")], Refused(&["`market.undersupplied.consumers`"])),
        (
            EV,
            &[("market.undersupplied.consumers", "0")],
            Refused(&["`market.undersupplied.consumers` must be at least 1"]),
        ),
        (EV, &[("market.undersupplied.dcs", "0")], Refused(&["`market.undersupplied.dcs`"])),
        (EV, &[("scenarios", "[]")], Refused(&["nothing to run"])),
        (EV, &[("legs", "[]")], Refused(&["`legs`"])),
        (EV, &[("scenarios", "[\"undersupplied\", \"undersupplied\"]")], Refused(&["`scenarios`", "listed twice"])),
        (EV, &[("legs", "[\"dc_home\", \"dc_home\"]")], Refused(&["`legs`", "listed twice"])),
        (EV_SWEEP, &[("sweep.values", "[\"mixed\", \"mixed\"]")], Refused(&["`sweep.values`", "listed twice"])),
        (EV_SWEEP, &[("sweep.values", "[]")], Refused(&["`sweep.values`"])),
        (EV, &[("price_setter.margin", "1.0")], Refused(&["`price_setter.margin` must be in (0, 1)"])),
        (EV, &[("price_setter.margin", "1.5")], Refused(&["`price_setter.margin`"])),
        (EV, &[("consumer.min_completion", "1.5")], Refused(&["`consumer.min_completion`"])),
        (EV, &[("outside.offer_multiplier_min", "2.0")], Refused(&["`outside.offer_multiplier_min`"])),
        (EV, &[("seeds", "4294967296")], Refused(&["`seeds` is too large"])),
        // Empty but valid: a market without homes cannot say what homes do.
        (
            EV,
            &[
                ("scenarios", "[\"undersupplied\"]"),
                ("market.undersupplied.homes", "0"),
                ("compare_fidelities", "false"),
            ],
            NotApplicable(&[
                "ev.undersupplied.surplus_up",
                "ev.undersupplied.cost_down",
                "ev.undersupplied.more_served_and_compute",
                "ev.undersupplied.dc_profit_down",
            ]),
        ),
    ]);
}

const IR: &str = "identity_rotation.toml";
const IR_SCALE: &str = "identity_rotation_scale.toml";

#[test]
fn identity_rotation() {
    check_all(&[
        (IR_SCALE, &[("scale.accounts", "4000000000")], Refused(&["scale.accounts = 4000000000", "would need"])),
        (IR_SCALE, &[("scale.transfers", "9000000000000000000")], Refused(&["scale.transfers", "would need"])),
        (IR_SCALE, &[("scale.accounts", "5000000000")], Refused(&["`scale.accounts` is too large"])),
        (IR_SCALE, &[("scale.transfers", "0")], Refused(&["`scale.transfers` must be at least 1"])),
        (IR_SCALE, &[("scale.days", "0")], Refused(&["`scale.days`"])),
        (IR_SCALE, &[("scale.days", "4000000000")], Refused(&["`scale.days` is too large"])),
        (IR_SCALE, &[("scale.detect_every_days", "0")], Refused(&["`scale.detect_every_days`"])),
        (IR_SCALE, &[("scale.amount_min", "nan")], Refused(&["`scale.amount_min`"])),
        (IR_SCALE, &[("scale.amount_min", "100"), ("scale.amount_max", "10")], Refused(&["`scale.amount_min`"])),
        (IR_SCALE, &[("scale.accounts", "1")], Refused(&["`scale.accounts` must be at least 2"])),
        (IR, &[("one_puppet.months", "4000000000")], Refused(&["one_puppet.months"])),
        (
            IR,
            &[
                ("three_puppets.months", "1000000"),
                ("three_puppets.month_days", "1"),
                ("three_puppets.puppets", "1000"),
            ],
            Refused(&["three_puppets.months = 1000000", "would need"]),
        ),
        (IR, &[("one_puppet.month_days", "0")], Refused(&["`one_puppet.month_days` must be at least 1"])),
        (IR, &[("three_puppets.puppets", "1")], Refused(&["`three_puppets.puppets`"])),
        (IR, &[("three_puppets.puppets", "100000")], Refused(&["`three_puppets.puppets`"])),
        (IR, &[("split.chunk", "1e-9")], Refused(&["`split.chunk`"])),
        (IR, &[("split.total", "1e300")], Refused(&["`split.total`"])),
        (IR, &[("circular.threshold", "1.0")], Refused(&["`circular.threshold`"])),
        (IR, &[("circular.window_days", "-1")], Refused(&["`circular.window_days`"])),
        (IR, &[("ledger.amount_scale", "nan")], Refused(&["`ledger.amount_scale`"])),
        (IR, &[("ledger.k_amount", "-inf")], Refused(&["`ledger.k_amount`"])),
        (IR, &[("one_puppet.w_balance", "inf")], Refused(&["`one_puppet.w_balance`"])),
        (IR, &[("one_puppet.w_balance", "1e300")], Refused(&["`one_puppet.w_balance`"])),
        (IR, &[("one_puppet.w_scrutiny_penalty", "2")], Refused(&["`one_puppet.w_scrutiny_penalty`"])),
        (IR, &[("seeds", "-5")], Refused(&["`seeds` must be >= 0"])),
        // Empty but valid: no transfer goes through, so "no transfer raised
        // trust" says nothing.
        (
            IR_SCALE,
            &[
                ("scale.accounts", "50"),
                ("scale.transfers", "20"),
                ("scale.days", "2"),
                ("scale.initial_balance", "0"),
                ("circular.window_days", "1"),
            ],
            NotApplicable(&["identity_rotation.trust_not_bought"]),
        ),
    ]);
}

const TD: &str = "trust_dynamics.toml";
const FM: &str = "failure_modes.toml";

#[test]
fn trust() {
    check_all(&[
        (FM, &[("attack.sockpuppet.socks", "4000000000")], Refused(&["attack.sockpuppet.socks"])),
        (FM, &[("attack.sockpuppet.socks", "5000000000")], Refused(&["`attack.sockpuppet.socks` is too large"])),
        (FM, &[("attack.assassination.attackers", "100000")], Refused(&["attackers"])),
        (FM, &[("attack.long_con.build_days", "4000000000")], Refused(&["build_days"])),
        (FM, &[("attack.long_con.build_days", "0")], Refused(&["`attack.long_con.build_days` must be at least 1"])),
        (FM, &[("attack.redemption.cycles", "100000")], Refused(&["cycles"])),
        (FM, &[("attack.long_con.intensity", "1.5")], Refused(&["`attack.long_con.intensity`"])),
        (FM, &[("attack.long_con.intensity", "nan")], Refused(&["`attack.long_con.intensity`"])),
        (FM, &[("attacks", "[\"long_con\", \"long_con\"]")], Refused(&["`attacks`", "listed twice"])),
        (FM, &[("attacks", "[]")], Refused(&["`attacks` must name at least one"])),
        (TD, &[("scenarios", "[\"sybil_attack\", \"sybil_attack\"]")], Refused(&["`scenarios`", "listed twice"])),
        (TD, &[("scenarios", "[]")], Refused(&["`scenarios` must name at least one"])),
        (
            TD,
            &[("trust.solver_max_iterations", "4000000000")],
            Refused(&["`trust.solver_max_iterations`", "at most 10000"]),
        ),
        (TD, &[("trust.solver_max_iterations", "0")], Refused(&["`trust.solver_max_iterations`"])),
        (TD, &[("trust.solver_epsilon", "0")], Refused(&["`trust.solver_epsilon`"])),
        (TD, &[("trust.tau_age", "-inf")], Refused(&["`trust.tau_age`"])),
        (TD, &[("trust.residual", "1.5")], Refused(&["`trust.residual`"])),
        (TD, &[("trust.base_verification_rate", "nan")], Refused(&["`trust.base_verification_rate`"])),
        (TD, &[("trust.full_weight_tx", "-1")], Refused(&["full_weight_tx"])),
        (TD, &[("trust.max_path_length", "1e300")], Refused(&["max_path_length"])),
        (TD, &[("seeds", "1e300")], Refused(&["seeds"])),
        (FM, &[("seed_base", "-1")], Refused(&["`seed_base` must be >= 0"])),
    ]);
}

const MP1: &str = "monetary_policy.toml";
const MP2: &str = "monetary_policy_iteration2.toml";
const FS: &str = "full_study.toml";

#[test]
fn monetary_policy() {
    check_all(&[
        (MP1, &[("days", "0")], Refused(&["`days` must be at least 1"])),
        (MP1, &[("days", "4000000000")], Refused(&["`days` must be at most 100000"])),
        (MP1, &[("days", "1e300")], Refused(&["days"])),
        (MP1, &[("monetary_policy.long_days", "0")], Refused(&["`monetary_policy.long_days` must be at least 1"])),
        (MP2, &[("iteration2.sensitivity.days", "-3")], Refused(&["`iteration2.sensitivity.days`"])),
        (MP1, &[("csv_every", "0")], Refused(&["`csv_every` must be at least 1"])),
        (FS, &[("full_study.iterations", "0")], Refused(&["`full_study.iterations` must be at least 1"])),
        (FS, &[("full_study.samples", "0")], Refused(&["`full_study.samples` must be at least 1"])),
        (
            FS,
            &[("full_study.iterations", "1000000"), ("full_study.samples", "1000")],
            Refused(&["`full_study.iterations` x `full_study.samples`"]),
        ),
        (FS, &[("full_study.iterations", "4000000000")], Refused(&["full_study.iterations"])),
        (
            MP1,
            &[("monetary_policy.experiments", "[\"baseline\", \"baseline\"]")],
            Refused(&["`monetary_policy.experiments`", "listed twice"]),
        ),
        (MP1, &[("monetary_policy.experiments", "[]")], Refused(&["`monetary_policy.experiments`"])),
        (
            FS,
            &[("full_study.scenarios", "[\"hoarding\", \"hoarding\"]")],
            Refused(&["`full_study.scenarios`", "listed twice"]),
        ),
        (
            MP2,
            &[("iteration2.sensitivity.k_payment", "[0.1, 0.1]")],
            Refused(&["`iteration2.sensitivity.k_payment`", "twice"]),
        ),
        (MP2, &[("iteration2.sensitivity.k_payment", "[nan]")], Refused(&["`iteration2.sensitivity.k_payment`"])),
        (MP1, &[("arms", "[\"on\", \"on\"]")], Refused(&["`arms`"])),
        (MP1, &[("policy.target_gini", "2")], Refused(&["`policy.target_gini` must be in [0, 1]"])),
        (MP1, &[("policy.target_failure_rate", "-0.1")], Refused(&["`policy.target_failure_rate`"])),
        (
            MP1,
            &[("policy.growth_low", "0.5"), ("policy.growth_high", "0.1")],
            Refused(&["`policy.growth_low` (0.5) must not exceed `policy.growth_high` (0.1)"]),
        ),
        (
            MP1,
            &[("policy.k_payment_min", "0.5"), ("policy.k_payment_max", "0.1")],
            Refused(&["`policy.k_payment_min`"]),
        ),
        (MP1, &[("policy.dampening_factor", "1.5")], Refused(&["`policy.dampening_factor` must be in (0, 1]"])),
        (MP1, &[("policy.max_change_rate", "nan")], Refused(&["`policy.max_change_rate`"])),
        (MP1, &[("policy.window", "0")], Refused(&["`policy.window`"])),
        (MP1, &[("policy.phase_days", "[300, 200, 100]")], Refused(&["`policy.phase_days`"])),
        (MP1, &[("policy.tau_min", "1e300")], Refused(&["tau_min"])),
        (MP1, &[("economy.pass_score", "nan")], Refused(&["`economy.pass_score`"])),
        (MP1, &[("economy.daily_mint", "-inf")], Refused(&["`economy.daily_mint`"])),
        (MP1, &[("economy.daily_mint", "1e308")], Refused(&["`economy.daily_mint`"])),
        (MP1, &[("trust.t_reference", "1e-300")], Refused(&["`trust.t_reference`"])),
        (MP2, &[("iteration2.policy_comparison.moderate.dampening_factor", "1.5")], Refused(&["dampening_factor"])),
        (MP1, &[("trust.tau_transaction", "1e300")], Refused(&["`trust.tau_transaction`"])),
        (MP1, &[("seeds", "9223372036854775807")], Refused(&["`seeds` is too large"])),
    ]);
}

/// The values tried on every numeric key of the sweep below.
const HOSTILE: &[&str] =
    &["0", "-1", "1e300", "-1e300", "nan", "inf", "-inf", "1e-300", "4000000000", "9223372036854775807", "\"x\"", "[]"];

/// Every numeric key of `v` (recursively), as a path for [`set_path`].
fn numeric_keys(prefix: &str, v: &toml::Value, out: &mut Vec<String>) {
    match v {
        toml::Value::Integer(_) | toml::Value::Float(_) => out.push(prefix.to_string()),
        toml::Value::Table(t) => {
            for (k, x) in t {
                let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                numeric_keys(&p, x, out);
            }
        }
        toml::Value::Array(a) => {
            if a.iter().all(|x| x.is_float() || x.is_integer()) {
                if !a.is_empty() {
                    out.push(prefix.to_string());
                }
            } else {
                for (i, x) in a.iter().enumerate() {
                    numeric_keys(&format!("{prefix}[{i}]"), x, out);
                }
            }
        }
        _ => {}
    }
}

/// Every numeric key of each study's scenario (and every trust parameter)
/// set to each hostile value: an error that names the key, or a run that
/// starts and handles events without a panic. A few thousand cases; the
/// accepted ones run their first 20,000 events.
#[test]
fn every_numeric_key_every_hostile_value() {
    let small_scale: &[(&str, &str)] =
        &[("scale.accounts", "2000"), ("scale.transfers", "20000"), ("scale.days", "30")];
    let files: &[(&str, &[(&str, &str)])] = &[
        (BASIC, &[]),
        (EQ, &[("fidelity", "\"reference\"")]),
        (V2, &[]),
        (EV, &[("compare_fidelities", "false")]),
        (EV_SWEEP, &[("compare_fidelities", "false"), ("fidelity", "\"reference\"")]),
        (IR, &[]),
        (IR_SCALE, small_scale),
        (TD, &[]),
        (FM, &[]),
        (MP1, &[]),
        (MP2, &[]),
        (FS, &[]),
    ];
    let trust_keys: Vec<String> =
        omerta_sim::trust::TrustParams::default().entries().iter().map(|(k, _)| format!("trust.{k}")).collect();
    let mut failures = Vec::new();
    let mut cases = 0;
    for (file, base) in files {
        let s = scenario(file, base);
        let mut keys = Vec::new();
        numeric_keys("", &toml::Value::Table(s.table.clone()), &mut keys);
        if matches!(*file, TD | FM | MP1 | MP2 | FS) {
            keys.extend(trust_keys.iter().cloned());
        }
        keys.sort();
        keys.dedup();
        for key in &keys {
            let leaf = key.rsplit('.').next().unwrap_or(key).split('[').next().unwrap_or(key).to_string();
            for v in HOSTILE {
                cases += 1;
                let mut edits: Vec<(&str, &str)> = base.to_vec();
                edits.push((key.as_str(), v));
                let t0 = Instant::now();
                let r = std::panic::catch_unwind(|| -> Result<(), String> {
                    match open(scenario(file, &edits)) {
                        Err(e) => {
                            if e.contains(&leaf) || key.starts_with("verdict") {
                                Ok(())
                            } else {
                                Err(format!("error does not name `{leaf}`: {e}"))
                            }
                        }
                        Ok(study) => {
                            let _ = study.horizon();
                            let mut run = study.stepper(study.default_seeds().0);
                            for _ in 0..20_000 {
                                if run.step().is_none() {
                                    break;
                                }
                            }
                            if run.is_finished() {
                                let _ = run.output();
                            }
                            Ok(())
                        }
                    }
                });
                let dt = t0.elapsed();
                match r {
                    Err(_) => failures.push(format!("{file} {key} = {v}: panicked")),
                    Ok(Err(e)) => failures.push(format!("{file} {key} = {v}: {e}")),
                    Ok(Ok(())) if dt > Duration::from_secs(20) => {
                        failures.push(format!("{file} {key} = {v}: took {dt:?}"))
                    }
                    Ok(Ok(())) => {}
                }
            }
        }
    }
    assert!(cases > 1000, "only {cases} cases");
    assert!(failures.is_empty(), "{} of {cases} cases failed:\n{}", failures.len(), failures.join("\n"));
}

/// Every shipped scenario still loads and fits in memory.
#[test]
fn shipped_scenarios_load_and_fit() {
    let files = omerta_sim::study::scenario::scenario_files(&root().join("models")).unwrap();
    assert!(files.len() > 50);
    for f in files {
        let s = Scenario::load(&f, &[]).unwrap_or_else(|e| panic!("{e}"));
        let study = open_study(s).unwrap_or_else(|e| panic!("{e}"));
        let (_, n) = study.default_seeds();
        let fp = study.footprint();
        assert!(fp.per_run > 0.0 && fp.per_output > 0.0 && fp.per_output <= fp.per_run, "{}: {fp:?}", f.display());
        assert!(!fp.drivers.is_empty(), "{}", f.display());
        limits::check_footprint(&f, &fp, n.max(1), 2, Available::Measured(4 << 30)).unwrap_or_else(|e| panic!("{e}"));
    }
}

fn fails_with(args: &[&str], needles: &[&str]) {
    let t0 = Instant::now();
    let o = run_bin(args);
    let (_, err) = text(&o);
    // 2: refused by the argument parser; 1: refused when checked.
    assert!(matches!(o.status.code(), Some(1 | 2)), "{args:?}: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: expected `{n}` in: {err}");
    }
    assert!(!err.contains("panicked") && !err.contains("memory allocation"), "{err}");
    assert!(t0.elapsed() < Duration::from_secs(30), "{args:?} took {:?}", t0.elapsed());
}

/// The issue's examples through the binary: an error naming the key, exit
/// code 1, at once.
#[test]
fn binary_refuses_the_issue_examples() {
    let v2 = "models/reliability_v2.toml";
    fails_with(&["run", v2, "--set", "round_hours=1e300"], &["round_hours", v2]);
    fails_with(&["run", v2, "--set", "tick_hours=1e300"], &["tick_hours", v2]);
    fails_with(&["run", v2, "--set", "tick_hours=1e-9"], &["tick_hours", "shorter than one engine tick"]);
    fails_with(&["run", v2, "--set", "job_hours=1e12"], &["job_hours"]);
    fails_with(
        &["run", v2, "--set", "provider_count=4000000000"],
        &["provider_count = 4000000000", "would need about"],
    );
    fails_with(&["run", "models/reliability_basic.toml", "--set", "iterations=0"], &["`iterations` is 0"]);
    fails_with(&["run", v2, "--seeds", "18446744073709551615"], &["--seeds"]);
    fails_with(&["run", v2, "--seeds", "0"], &["--seeds must be a whole number from 1"]);
    fails_with(&["run", v2, "--set", "seeds=0"], &["`seeds` is 0"]);
    fails_with(
        &[
            "run",
            "models/reliability_equilibrium.toml",
            "--set",
            "consumer_groups=[{name=\"a\",count=2,restart_cost=1.0,checkpoint_hours=0.5},{name=\"a\",count=2,restart_cost=2.0,checkpoint_hours=0.5}]",
        ],
        &["consumer_groups[1].name", "\"a\" is used twice"],
    );
    fails_with(&["step", v2, "--set", "tick_hours=1e-9", "--count", "1"], &["tick_hours"]);
    fails_with(&["step", v2, "--set", "provider_count=4000000000", "--count", "1"], &["would need about"]);
    fails_with(&["run", "models/economic_value.toml", "--set", "price_setter.margin=1.0"], &["price_setter.margin"]);
    fails_with(&["run", "models/full_study.toml", "--set", "full_study.iterations=0"], &["full_study.iterations"]);
}

/// A valid scenario with an empty tier runs: its findings are `n/a` with
/// `held_in` null in results.json, and the summary says `n/a`.
#[test]
fn binary_writes_na_findings() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("only_high");
    let o = run_bin(&[
        "run",
        "models/reliability_v2_only_high.toml",
        "--seeds",
        "2",
        "--set",
        "rounds=3",
        "--progress",
        "none",
        "--out",
        out.to_str().unwrap(),
    ]);
    let (stdout, err) = text(&o);
    assert!(o.status.success(), "{err}");
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let f = r["findings"].as_array().unwrap();
    let low = f.iter().find(|f| f["id"] == "reliability_v2.low_value_priced_out").unwrap();
    assert!(low["held_in"].is_null(), "{low}");
    assert_eq!(low["verdict"], "n/a");
    let high = f.iter().find(|f| f["id"] == "reliability_v2.thresholds_converge").unwrap();
    assert!(high["held_in"].is_number(), "{high}");
    // The low tier's metrics are null, not 0.
    assert!(r["metrics"]["tiers.low.compute_hours"].is_null() || r["metrics"]["tiers.low.compute_hours"]["n"] == 0);
    let line = stdout.lines().find(|l| l.contains("reliability_v2.low_value_priced_out")).unwrap();
    assert!(line.contains("n/a |"), "{line}");
}

/// Each study's memory estimate is within a sane factor of the peak resident
/// memory of a real run (measured with `/usr/bin/time`; skipped where it is
/// missing): never below it, at most four times it. One seed, one worker;
/// runs of 50 MB to 300 MB.
#[test]
fn memory_estimates_match_measured_peaks() {
    let time = Path::new("/usr/bin/time");
    if !time.exists() {
        eprintln!("skipped: no /usr/bin/time to measure peak memory");
        return;
    }
    let cases: &[(&str, &[&str])] = &[
        ("reliability_v2.toml", &["provider_count=20000", "rounds=20"]),
        ("reliability_v2_scale.toml", &["provider_count=2000", "rounds=2"]),
        (
            "reliability_basic.toml",
            &["provider_groups=[{name=\"a\",count=3000,threshold=3.0},{name=\"b\",count=3000,threshold=1.5}]"],
        ),
        ("economic_value_scale.toml", &["duration_hours=100", "market.scale.consumers=20000"]),
        ("economic_value.toml", &["sample_hours=0.001", "compare_fidelities=false"]),
        ("identity_rotation.toml", &["one_puppet.months=30000", "one_puppet.month_days=1"]),
        ("identity_rotation_scale.toml", &["scale.accounts=1000000", "scale.transfers=1000000"]),
        ("failure_modes.toml", &["attack.sockpuppet.socks=10000", "attack.assassination.attackers=10000"]),
        ("monetary_policy/mp1/adversarial_multi_attack.toml", &["monetary_policy.long_days=10000"]),
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut report = Vec::new();
    for (file, sets) in cases {
        let s = {
            let rel = Path::new("models").join(file);
            let owned: Vec<String> = sets.iter().map(|x| x.to_string()).collect();
            Scenario::load(&root().join(&rel), &owned).unwrap()
        };
        let study = open_study(s).unwrap();
        let need = study.footprint().need(1, 1);
        let mut args: Vec<String> =
            vec!["-f".into(), "%M".into(), env!("CARGO_BIN_EXE_omerta-sim").into(), "run".into()];
        args.push(format!("models/{file}"));
        args.extend(["--seeds", "1", "--jobs", "1", "--progress", "none", "--out"].map(String::from));
        args.push(dir.path().join(format!("out{}", report.len())).display().to_string());
        for x in *sets {
            args.push("--set".into());
            args.push(x.to_string());
        }
        let o = std::process::Command::new(time).args(&args).current_dir(root()).output().unwrap();
        let (_, err) = text(&o);
        assert!(o.status.success(), "{file} {sets:?}: {err}");
        let kb: f64 = err.lines().last().and_then(|l| l.trim().parse().ok()).unwrap_or_else(|| panic!("{err}"));
        let measured = kb * 1024.0;
        let ratio = need / measured;
        report.push(format!("{file} {sets:?}: estimate {need:.3e} B, measured {measured:.3e} B, ratio {ratio:.2}"));
        assert!((1.0..=4.0).contains(&ratio), "{}", report.join("\n"));
    }
    eprintln!("{}", report.join("\n"));
}
