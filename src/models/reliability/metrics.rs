//! Per-seed metrics, findings and tables of the reliability studies
//! (docs/models/reliability.md, Metrics and Findings).

use super::config::{Fidelity, Params, ProviderSetup, Variant};
use super::model::{Consumer, ReliabilityMarket, RoundRecord};
use crate::report::results::{FindingDef, SeedOutput, Table};
use crate::report::stats::{mean, pearson, sample_sd};
use std::collections::BTreeMap;

/// Findings of `reliability_basic`.
pub const BASIC_FINDINGS: &[FindingDef] = &[
    FindingDef {
        id: "reliability_basic.reliability_premium",
        claim: "under rational bidding reliable providers get > 5% more than unreliable ones",
    },
    FindingDef {
        id: "reliability_basic.rational_more_restarts",
        claim: "rational bidding causes more restarts than naive bidding",
    },
    FindingDef {
        id: "reliability_basic.rational_lowers_cost",
        claim: "rational bidding lowers every group's effective cost",
    },
    FindingDef { id: "reliability_basic.cost_equalised", claim: "rational consumers pay the same per useful hour" },
];

/// Findings of `reliability_equilibrium`.
pub const EQUILIBRIUM_FINDINGS: &[FindingDef] = &[
    FindingDef { id: "reliability_equilibrium.thresholds_converge", claim: "thresholds converge to one value" },
    FindingDef { id: "reliability_equilibrium.std_drop_98", claim: "the threshold sd drops by 98%" },
    FindingDef { id: "reliability_equilibrium.converges_near_2_2", claim: "the common threshold is about 2.2" },
    FindingDef {
        id: "reliability_equilibrium.high_cost_more_reliable",
        claim: "consumers with high restart cost use more reliable providers",
    },
    FindingDef { id: "reliability_equilibrium.cost_equalised", claim: "all groups pay the same per useful hour" },
];

/// Findings of `reliability_v2`.
pub const V2_FINDINGS: &[FindingDef] = &[
    FindingDef { id: "reliability_v2.thresholds_converge", claim: "thresholds converge to one value" },
    FindingDef { id: "reliability_v2.std_drop_98", claim: "the threshold sd drops by 98%" },
    FindingDef { id: "reliability_v2.converges_near_2_2", claim: "the common threshold is about 2.2" },
    FindingDef { id: "reliability_v2.threshold_drift_up", claim: "thresholds drift upward" },
    FindingDef { id: "reliability_v2.high_value_more_compute", claim: "high-value consumers get more compute" },
    FindingDef { id: "reliability_v2.high_value_pays_more", claim: "high-value consumers pay higher rates" },
    FindingDef { id: "reliability_v2.low_value_priced_out", claim: "low-value consumers are priced out" },
    FindingDef {
        id: "reliability_v2.low_nocp_priced_out",
        claim: "low-value consumers without checkpoints are priced out",
    },
    FindingDef {
        id: "reliability_v2.cost_equal_within_tier",
        claim: "checkpoint interval does not change the price of a useful hour",
    },
    FindingDef { id: "reliability_v2.checkpoint_saves_compute", claim: "frequent checkpoints waste less paid compute" },
];

/// The findings of a variant.
pub fn findings(v: Variant) -> &'static [FindingDef] {
    match v {
        Variant::Basic => BASIC_FINDINGS,
        Variant::Equilibrium => EQUILIBRIUM_FINDINGS,
        Variant::V2 => V2_FINDINGS,
    }
}

fn ratio(a: f64, b: f64) -> Option<f64> {
    if b > 0.0 { Some(a / b) } else { None }
}

fn spread_over_mean(xs: &[f64]) -> Option<f64> {
    if xs.len() < 2 {
        return None;
    }
    let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let m = mean(xs)?;
    if m == 0.0 { None } else { Some((hi - lo) / m) }
}

fn chat(n_comp: u32, n_canc: u32) -> f64 {
    let n = n_comp + n_canc;
    if n == 0 { 1.0 } else { n_comp as f64 / n as f64 }
}

/// The `diagnostics.*` metrics of a run (every variant).
#[derive(serde::Serialize)]
struct DiagnosticMetrics {
    /// Mean sampled price.
    price_mean: Option<f64>,
    /// Share of price samples below 0.5.
    price_below_half: Option<f64>,
    /// Share of fresh full-length sessions that got a competing bid.
    bid_exposure: Option<f64>,
    /// Fresh full-length sessions that ended.
    fresh_sessions: u64,
    /// Sessions started.
    sessions: u64,
    /// Competing bids that arrived.
    competing_bids: u64,
}

/// Metrics, findings and tables of one finished run.
pub fn seed_output(model: &ReliabilityMarket, seed: u64) -> SeedOutput {
    let p = &model.params;
    let mut out = SeedOutput::new(seed);
    let mut tables = BTreeMap::new();
    let mut series = BTreeMap::new();
    match p.variant {
        Variant::Basic => basic(p, &model.records, seed, &mut out, &mut tables),
        _ => {
            thresholds(p, &model.records, seed, &mut out, &mut tables, &mut series);
            if let Some(last) = model.records.last() {
                if p.variant == Variant::Equilibrium {
                    equilibrium_consumers(p, last, &mut out);
                } else {
                    v2_consumers(p, last, seed, &mut out, &mut tables);
                }
            }
        }
    }
    let d = &model.diag;
    let diagnostics = DiagnosticMetrics {
        price_mean: ratio(d.price_sum, d.price_samples as f64),
        price_below_half: ratio(d.price_below_half as f64, d.price_samples as f64),
        bid_exposure: ratio(d.fresh_bid as f64, d.fresh_ended as f64),
        fresh_sessions: d.fresh_ended,
        sessions: d.sessions,
        competing_bids: d.competing_bids,
    };
    out.record("diagnostics", &diagnostics).expect("a record of numbers");
    out.tables = tables;
    out.series = series;
    out.mark_non_negative(NON_NEGATIVE);
    out
}

/// Metrics that cannot be negative (hours, costs, rates, shares, counts,
/// spreads): their intervals stop at zero. Profits, premiums, differences,
/// drifts, correlations and thresholds are signed.
pub const NON_NEGATIVE: &[&str] = &[
    "diagnostics.*",
    "providers.*",
    "**.active_compute_hours",
    "**.compute_hours",
    "**.effective_cost",
    "**.full_cost",
    "**.efficiency",
    "**.lost_per_restart",
    "**.lost_hours",
    "**.rate_paid",
    "**.restarts",
    "**.class_share.*",
    "**.completion_rate",
    "**.rate_2h",
    "**.rate_per_hour",
    "*.jobs_per_iteration",
    "*.restarts_per_iteration",
    "*.choice.*",
    "thresholds.*_std",
];

fn basic(p: &Params, records: &[RoundRecord], seed: u64, out: &mut SeedOutput, tables: &mut BTreeMap<String, Table>) {
    let ProviderSetup::Groups(groups) = &p.providers else {
        return;
    };
    let mut prov_table = Table {
        header: [
            "seed",
            "strategy",
            "iteration",
            "provider",
            "type",
            "threshold",
            "completed",
            "cancelled",
            "earnings",
            "hours",
        ]
        .map(String::from)
        .to_vec(),
        rows: Vec::new(),
    };
    for (si, s) in p.strategies.iter().enumerate() {
        let name = s.name();
        let recs: Vec<&RoundRecord> = records.iter().filter(|r| r.strategy as usize == si).collect();
        if recs.is_empty() {
            continue;
        }
        // Provider groups, in file order; group of provider i.
        let mut group_of = Vec::new();
        for (g, (_, count, _)) in groups.iter().enumerate() {
            group_of.extend(std::iter::repeat_n(g, *count as usize));
        }
        let mut rate_hour = vec![f64::NAN; groups.len()];
        let mut rate_2h = vec![f64::NAN; groups.len()];
        for (g, (gname, _, _)) in groups.iter().enumerate() {
            let (mut comp, mut r2, mut rh) = (Vec::new(), Vec::new(), Vec::new());
            for r in &recs {
                for (i, &(nc, nx, e, h)) in r.providers.iter().enumerate() {
                    if group_of[i] != g {
                        continue;
                    }
                    if nc + nx > 0 {
                        comp.push(chat(nc, nx));
                        r2.push(e / (p.job_hours * (nc + nx) as f64));
                    }
                    if h > 0.0 {
                        rh.push(e / h);
                    }
                }
            }
            let k = |m: &str| format!("{name}.providers.{gname}.{m}");
            out.set(k("completion_rate"), mean(&comp));
            out.set(k("rate_2h"), mean(&r2));
            out.set(k("rate_per_hour"), mean(&rh));
            rate_2h[g] = mean(&r2).unwrap_or(f64::NAN);
            rate_hour[g] = mean(&rh).unwrap_or(f64::NAN);
        }
        // Premium: highest-threshold group over lowest-threshold group.
        let hi = (0..groups.len()).max_by(|&a, &b| groups[a].2.total_cmp(&groups[b].2));
        let lo = (0..groups.len()).min_by(|&a, &b| groups[a].2.total_cmp(&groups[b].2));
        if let (Some(hi), Some(lo)) = (hi, lo)
            && hi != lo
        {
            out.set(format!("{name}.premium_2h"), Some(rate_2h[hi] / rate_2h[lo] - 1.0));
            out.set(format!("{name}.premium_per_hour"), Some(rate_hour[hi] / rate_hour[lo] - 1.0));
        }
        for (g, grp) in p.consumer_groups.iter().enumerate() {
            let (mut eff, mut full, mut restarts, mut lost) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for r in &recs {
                for c in r.consumers.iter().filter(|c| c.group as usize == g) {
                    if c.useful > 0.0 {
                        eff.push(c.paid / c.useful);
                        full.push((c.paid + grp.restart_cost * c.restarts as f64) / c.useful);
                    }
                    restarts.push(c.restarts as f64);
                    lost.push(c.lost);
                }
            }
            let k = |m: &str| format!("{name}.consumers.{}.{m}", grp.name);
            out.set(k("effective_cost"), mean(&eff));
            out.set(k("full_cost"), mean(&full));
            out.set(k("restarts"), mean(&restarts));
            out.set(k("lost_hours"), mean(&lost));
        }
        let n = recs.len() as f64;
        let jobs: u64 = recs.iter().flat_map(|r| r.consumers.iter()).map(|c| c.jobs as u64).sum();
        let restarts: u64 = recs.iter().flat_map(|r| r.consumers.iter()).map(|c| c.restarts as u64).sum();
        out.set(format!("{name}.jobs_per_iteration"), Some(jobs as f64 / n));
        out.set(format!("{name}.restarts_per_iteration"), Some(restarts as f64 / n));
        let contested: u64 = recs.iter().map(|r| r.choice_contested).sum();
        let least: u64 = recs.iter().map(|r| r.choice_least).sum();
        let most: u64 = recs.iter().map(|r| r.choice_most).sum();
        out.set(format!("{name}.choice.least_reliable_share"), ratio(least as f64, contested as f64));
        out.set(format!("{name}.choice.most_reliable_share"), ratio(most as f64, contested as f64));
        for r in &recs {
            for (i, &(nc, nx, e, h)) in r.providers.iter().enumerate() {
                prov_table.rows.push(vec![
                    seed.to_string(),
                    name.to_string(),
                    r.iteration.to_string(),
                    i.to_string(),
                    groups[group_of[i]].0.clone(),
                    r.thresholds[i].to_string(),
                    nc.to_string(),
                    nx.to_string(),
                    e.to_string(),
                    h.to_string(),
                ]);
            }
        }
    }
    tables.insert("providers.csv".into(), prov_table);
    let has = |s: &str| p.strategies.iter().any(|x| x.name() == s);
    if has("naive") && has("rational") {
        let mut all_better = Some(true);
        for g in &p.consumer_groups {
            let n = out.get(&format!("naive.consumers.{}.effective_cost", g.name));
            let r = out.get(&format!("rational.consumers.{}.effective_cost", g.name));
            let imp = match (n, r) {
                (Some(n), Some(r)) if n != 0.0 => Some((n - r) / n),
                _ => None,
            };
            out.set(format!("cost_improvement.{}", g.name), imp);
            all_better = match (all_better, imp) {
                (Some(true), Some(x)) => Some(x > 0.0),
                (Some(true), None) => None,
                (other, _) => other,
            };
        }
        out.finding("reliability_basic.rational_lowers_cost", all_better);
        let (n, r) = (out.get("naive.restarts_per_iteration"), out.get("rational.restarts_per_iteration"));
        out.finding("reliability_basic.rational_more_restarts", n.zip(r).map(|(n, r)| r > n));
    }
    if has("rational") {
        let key = if p.fidelity == Fidelity::Reference { "rational.premium_2h" } else { "rational.premium_per_hour" };
        let prem = out.get(key);
        out.finding("reliability_basic.reliability_premium", prem.map(|x| x > 0.05));
        let costs: Option<Vec<f64>> = p
            .consumer_groups
            .iter()
            .map(|g| out.get(&format!("rational.consumers.{}.effective_cost", g.name)))
            .collect();
        out.finding("reliability_basic.cost_equalised", costs.and_then(|c| spread_over_mean(&c)).map(|x| x <= 0.03));
    }
}

fn thresholds(
    p: &Params,
    records: &[RoundRecord],
    seed: u64,
    out: &mut SeedOutput,
    tables: &mut BTreeMap<String, Table>,
    series: &mut BTreeMap<String, Vec<f64>>,
) {
    let id = p.variant.id();
    let (Some(first), Some(last)) = (records.first(), records.last()) else {
        return;
    };
    let init = &first.thresholds;
    let fin = &last.thresholds;
    let (im, is) = (mean(init), sample_sd(init));
    let (fm, fs) = (mean(fin), sample_sd(fin));
    out.set("thresholds.initial_mean", im);
    out.set("thresholds.initial_std", is);
    out.set("thresholds.final_mean", fm);
    out.set("thresholds.final_std", fs);
    out.set("thresholds.final_min", fin.iter().copied().reduce(f64::min));
    out.set("thresholds.final_max", fin.iter().copied().reduce(f64::max));
    let red = match (fs, is) {
        (Some(f), Some(i)) if i > 0.0 => Some(1.0 - f / i),
        _ => None,
    };
    out.set("thresholds.std_reduction", red);
    let drift = fm.zip(im).map(|(f, i)| f - i);
    out.set("thresholds.drift", drift);
    let pi: Vec<f64> = last.providers.iter().map(|&(_, _, e, h)| if h > 0.0 { e / h } else { 0.0 }).collect();
    out.set("thresholds.corr_earnings", pearson(fin, &pi));
    let active: Vec<f64> = last.providers.iter().filter(|x| x.3 > 0.0).map(|&(_, _, e, h)| e / h).collect();
    out.set("providers.earnings_per_hour", mean(&active));
    out.set("providers.best_rate", active.iter().copied().reduce(f64::max));
    out.set("providers.worst_rate", active.iter().copied().reduce(f64::min));
    let chats: Vec<f64> = last.providers.iter().map(|&(c, x, _, _)| chat(c, x)).collect();
    out.set("providers.completion_rate", mean(&chats));
    out.finding(format!("{id}.thresholds_converge"), fs.map(|s| s < 0.1));
    out.finding(format!("{id}.std_drop_98"), red.map(|r| r >= 0.98));
    out.finding(format!("{id}.converges_near_2_2"), fm.map(|m| (m - 2.2).abs() <= 0.2));
    if p.variant == Variant::V2 {
        out.finding("reliability_v2.threshold_drift_up", drift.map(|d| d > 0.0));
    }

    let mut t = Table {
        header: ["seed", "round", "provider", "threshold", "earnings_per_hour", "hours_worked", "completion_rate"]
            .map(String::from)
            .to_vec(),
        rows: Vec::new(),
    };
    let mut s_mean = Vec::new();
    let mut s_sd = Vec::new();
    let mut s_min = Vec::new();
    let mut s_max = Vec::new();
    let mut s_best = Vec::new();
    let mut s_worst = Vec::new();
    for r in records {
        for (i, &(c, x, e, h)) in r.providers.iter().enumerate() {
            t.rows.push(vec![
                seed.to_string(),
                r.round.to_string(),
                i.to_string(),
                r.thresholds[i].to_string(),
                (if h > 0.0 { e / h } else { 0.0 }).to_string(),
                h.to_string(),
                chat(c, x).to_string(),
            ]);
        }
        let th = &r.thresholds;
        s_mean.push(mean(th).unwrap_or(f64::NAN));
        s_sd.push(sample_sd(th).unwrap_or(f64::NAN));
        s_min.push(th.iter().copied().fold(f64::INFINITY, f64::min));
        s_max.push(th.iter().copied().fold(f64::NEG_INFINITY, f64::max));
        let act: Vec<f64> = r.providers.iter().filter(|x| x.3 > 0.0).map(|&(_, _, e, h)| e / h).collect();
        s_best.push(act.iter().copied().fold(f64::NAN, f64::max));
        s_worst.push(act.iter().copied().fold(f64::NAN, f64::min));
    }
    tables.insert("thresholds.csv".into(), t);
    series.insert("round.threshold_mean".into(), s_mean);
    series.insert("round.threshold_sd".into(), s_sd);
    series.insert("round.threshold_min".into(), s_min);
    series.insert("round.threshold_max".into(), s_max);
    series.insert("round.best_rate".into(), s_best);
    series.insert("round.worst_rate".into(), s_worst);
    // Per-provider trajectories (the chart draws them for the first seed).
    for i in 0..first.thresholds.len().min(200) {
        series.insert(format!("provider.{i:05}.threshold"), records.iter().map(|r| r.thresholds[i]).collect());
    }
}

fn group_consumers<'a>(last: &'a RoundRecord, g: usize) -> impl Iterator<Item = &'a Consumer> + 'a {
    last.consumers.iter().filter(move |c| c.group as usize == g)
}

fn equilibrium_consumers(p: &Params, last: &RoundRecord, out: &mut SeedOutput) {
    let classes = ["reliable", "moderate", "unreliable"];
    let mut effs = Vec::new();
    let mut used = Vec::new();
    for (g, grp) in p.consumer_groups.iter().enumerate() {
        let cs: Vec<&Consumer> = group_consumers(last, g).collect();
        let eff: Vec<f64> = cs.iter().filter(|c| c.useful > 0.0).map(|c| c.paid / c.useful).collect();
        let full: Vec<f64> = cs
            .iter()
            .filter(|c| c.useful > 0.0)
            .map(|c| (c.paid + grp.restart_cost * c.restarts as f64) / c.useful)
            .collect();
        let restarts: Vec<f64> = cs.iter().map(|c| c.restarts as f64).collect();
        let thr_sum: f64 = cs.iter().map(|c| c.thr_sum).sum();
        let thr_n: u32 = cs.iter().map(|c| c.thr_n).sum();
        let k = |m: &str| format!("groups.{}.{m}", grp.name);
        out.set(k("effective_cost"), mean(&eff));
        out.set(k("full_cost"), mean(&full));
        out.set(k("restarts"), mean(&restarts));
        let tu = ratio(thr_sum, thr_n as f64);
        out.set(k("threshold_used"), tu);
        for (ci, cname) in classes.iter().enumerate() {
            let n: u32 = cs.iter().map(|c| c.classes[ci]).sum();
            out.set(k(&format!("class_share.{cname}")), ratio(n as f64, thr_n as f64));
        }
        if let Some(e) = mean(&eff) {
            effs.push(e);
        }
        used.push((grp.restart_cost, tu));
    }
    // Highest restart cost minus lowest.
    let hi = used.iter().max_by(|a, b| a.0.total_cmp(&b.0));
    let lo = used.iter().min_by(|a, b| a.0.total_cmp(&b.0));
    let diff = match (hi, lo) {
        (Some(&(rh, Some(h))), Some(&(rl, Some(l)))) if rh > rl => Some(h - l),
        _ => None,
    };
    out.set("differentiation.threshold_used", diff);
    if p.consumer_groups.len() >= 2 {
        out.finding("reliability_equilibrium.high_cost_more_reliable", diff.map(|d| d > 0.0));
        let all_defined = effs.len() == p.consumer_groups.len();
        out.finding(
            "reliability_equilibrium.cost_equalised",
            if all_defined { spread_over_mean(&effs).map(|x| x <= 0.03) } else { None },
        );
    }
}

/// The v2 metrics of a set of consumers ([`V2_GROUP_METRICS`]): per-consumer
/// means, and lost hours per restart.
fn v2_group_metrics(cs: &[&Consumer], value: impl Fn(&Consumer) -> f64) -> Vec<(&'static str, Option<f64>)> {
    let all: Vec<f64> = cs.iter().map(|c| c.useful).collect();
    let active: Vec<f64> = cs.iter().filter(|c| c.useful > 0.0).map(|c| c.useful).collect();
    let rate: Vec<f64> = cs.iter().filter(|c| c.paid_hours > 0.0).map(|c| c.paid / c.paid_hours).collect();
    let eff_cost: Vec<f64> = cs.iter().filter(|c| c.useful > 0.0).map(|c| c.paid / c.useful).collect();
    let efficiency: Vec<f64> = cs.iter().filter(|c| c.paid_hours > 0.0).map(|c| c.useful / c.paid_hours).collect();
    let profit: Vec<f64> =
        cs.iter().filter(|c| c.useful > 0.0).map(|c| (value(c) * c.useful - c.paid) / c.useful).collect();
    let restarts: Vec<f64> = cs.iter().map(|c| c.restarts as f64).collect();
    let lost: f64 = cs.iter().map(|c| c.lost).sum();
    let n_restarts: u64 = cs.iter().map(|c| c.restarts as u64).sum();
    vec![
        ("compute_hours", mean(&all)),
        ("active_compute_hours", mean(&active)),
        ("rate_paid", mean(&rate)),
        ("effective_cost", mean(&eff_cost)),
        ("efficiency", mean(&efficiency)),
        ("profit_per_hour", mean(&profit)),
        ("restarts", mean(&restarts)),
        ("lost_per_restart", ratio(lost, n_restarts as f64)),
    ]
}

/// Names of the v2 group metrics, in table order.
pub const V2_GROUP_METRICS: &[&str] = &[
    "compute_hours",
    "active_compute_hours",
    "rate_paid",
    "effective_cost",
    "efficiency",
    "profit_per_hour",
    "restarts",
    "lost_per_restart",
];

/// Tiers in file order of first appearance.
pub fn tiers(p: &Params) -> Vec<String> {
    let mut t: Vec<String> = Vec::new();
    for g in &p.consumer_groups {
        if !t.contains(&g.tier) {
            t.push(g.tier.clone());
        }
    }
    t
}

fn v2_consumers(p: &Params, last: &RoundRecord, seed: u64, out: &mut SeedOutput, tables: &mut BTreeMap<String, Table>) {
    let value = |c: &Consumer| p.consumer_groups[c.group as usize].value;
    let mut t = Table {
        header: std::iter::once("seed".to_string())
            .chain(std::iter::once("group".to_string()))
            .chain(V2_GROUP_METRICS.iter().map(|s| s.to_string()))
            .collect(),
        rows: Vec::new(),
    };
    for (g, grp) in p.consumer_groups.iter().enumerate() {
        let cs: Vec<&Consumer> = group_consumers(last, g).collect();
        let ms = v2_group_metrics(&cs, value);
        let mut row = vec![seed.to_string(), grp.name.clone()];
        for (k, v) in ms {
            out.set(format!("groups.{}.{k}", grp.name), v);
            row.push(v.map(|x| x.to_string()).unwrap_or_default());
        }
        t.rows.push(row);
    }
    tables.insert("groups.csv".into(), t);
    for tier in tiers(p) {
        let cs: Vec<&Consumer> =
            last.consumers.iter().filter(|c| p.consumer_groups[c.group as usize].tier == tier).collect();
        for (k, v) in v2_group_metrics(&cs, value) {
            out.set(format!("tiers.{tier}.{k}"), v);
        }
    }
    let has_tier = |t: &str| p.consumer_groups.iter().any(|g| g.tier == t);
    let tau = p.round_hours;
    if has_tier("high") && has_tier("low") {
        let hc = out.get("tiers.high.compute_hours");
        let lc = out.get("tiers.low.compute_hours");
        out.finding("reliability_v2.high_value_more_compute", hc.zip(lc).map(|(h, l)| h > 1.1 * l));
        let hr = out.get("tiers.high.rate_paid");
        let lr = out.get("tiers.low.rate_paid");
        out.finding("reliability_v2.high_value_pays_more", hr.zip(lr).map(|(h, l)| h > 1.1 * l));
    }
    if has_tier("low") {
        let lc = out.get("tiers.low.compute_hours");
        out.finding("reliability_v2.low_value_priced_out", lc.map(|x| x < 0.01 * tau));
    }
    if p.consumer_groups.iter().any(|g| g.name == "low_cp_none") {
        let x = out.get("groups.low_cp_none.compute_hours");
        out.finding("reliability_v2.low_nocp_priced_out", x.map(|x| x < 0.01 * tau));
    }
    // Tiers with two checkpoint groups: the most and least frequent.
    let mut pairs = Vec::new();
    for tier in tiers(p) {
        let gs: Vec<&super::config::ConsumerGroup> = p.consumer_groups.iter().filter(|g| g.tier == tier).collect();
        if gs.len() < 2 {
            continue;
        }
        let freq = gs.iter().min_by(|a, b| a.checkpoint.total_cmp(&b.checkpoint)).expect("two groups");
        let none = gs.iter().max_by(|a, b| a.checkpoint.total_cmp(&b.checkpoint)).expect("two groups");
        if freq.checkpoint < none.checkpoint {
            pairs.push((freq.name.clone(), none.name.clone()));
        }
    }
    if !pairs.is_empty() {
        let mut cost_ok: Option<bool> = None;
        let mut eff_ok: Option<bool> = None;
        for (f, n) in &pairs {
            let cf = out.get(&format!("groups.{f}.effective_cost"));
            let cn = out.get(&format!("groups.{n}.effective_cost"));
            if let (Some(a), Some(b)) = (cf, cn) {
                let ok = (a - b).abs() / ((a + b) / 2.0) <= 0.03;
                cost_ok = Some(cost_ok.unwrap_or(true) && ok);
            }
            let ef = out.get(&format!("groups.{f}.efficiency"));
            let en = out.get(&format!("groups.{n}.efficiency"));
            if let (Some(a), Some(b)) = (ef, en) {
                eff_ok = Some(eff_ok.unwrap_or(true) && a > b);
            }
        }
        out.finding("reliability_v2.cost_equal_within_tier", cost_ok);
        out.finding("reliability_v2.checkpoint_saves_compute", eff_ok);
    }
}
