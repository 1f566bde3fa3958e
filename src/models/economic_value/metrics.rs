//! Per-seed metrics, changes, sweep classes, findings and claims of
//! `economic_value` (docs/models/economic_value.md, Metrics and Findings).

use super::config::EvParams;
use super::model::LegRecord;
use crate::report::results::{FindingDef, SeedOutput, Table};
use std::collections::BTreeMap;
use std::ops::Bound;

/// The study's findings and the claims of the original write-up, in report order.
pub const FINDINGS: &[FindingDef] = &[
    FindingDef {
        id: "ev.undersupplied.more_served_and_compute",
        claim: "undersupplied: homes serve every consumer and add > 10% compute",
    },
    FindingDef { id: "ev.undersupplied.cost_down", claim: "undersupplied: homes lower the $ per useful hour" },
    FindingDef { id: "ev.undersupplied.dc_profit_down", claim: "undersupplied: homes cut DC profit/h by > 5%" },
    FindingDef { id: "ev.undersupplied.surplus_up", claim: "undersupplied: homes raise total surplus" },
    FindingDef { id: "ev.sufficient.surplus_up", claim: "sufficient: homes raise total surplus" },
    FindingDef { id: "ev.oversupplied.surplus_up", claim: "oversupplied: homes raise total surplus" },
    FindingDef { id: "ev.price_setter.surplus_up", claim: "price setter: homes raise total surplus" },
    FindingDef { id: "ev.oversupplied.compute_down", claim: "oversupplied: homes lower compute delivered" },
    FindingDef {
        id: "ev.price_setter.dcs_idle_with_homes",
        claim: "price-setting DCs get no sessions once homes exist",
    },
    FindingDef {
        id: "ev.sweep.counts_6_0_30",
        claim: "the sweep splits 6 value creation / 0 neutral / 30 cannibalization",
    },
    FindingDef {
        id: "ev.sweep.value_creation_only_undersupplied",
        claim: "homes create value only where consumers outnumber DCs",
    },
    FindingDef {
        id: "ev.sweep.dc_displaced_unless_undersupplied",
        claim: "unless undersupplied, homes displace DCs (DC hours fall to <= 1%)",
    },
    FindingDef { id: "ev.claim.cost_minus_42pct", claim: "homes make a useful hour 42% cheaper" },
    FindingDef { id: "ev.claim.compute_plus_188pct", claim: "homes deliver 188% more compute" },
    FindingDef { id: "ev.claim.ps.dc_only.cost", claim: "price setter, DC only: $1.60 per useful hour" },
    FindingDef { id: "ev.claim.ps.dc_only.compute", claim: "price setter, DC only: 1,306 compute hours" },
    FindingDef { id: "ev.claim.ps.dc_only.dc_profit", claim: "price setter, DC only: DC profit $1.10/h" },
    FindingDef { id: "ev.claim.ps.dc_home.cost", claim: "price setter, DC + Home: $1.19 per useful hour" },
    FindingDef { id: "ev.claim.ps.dc_home.compute", claim: "price setter, DC + Home: 5,462 compute hours" },
    FindingDef { id: "ev.claim.ps.dc_home.dc_profit", claim: "price setter, DC + Home: DC profit $1.10/h" },
    FindingDef { id: "ev.claim.ps.dc_home.home_profit", claim: "price setter, DC + Home: home profit $0.95/h" },
    FindingDef { id: "ev.claim.ps.served", claim: "price setter: served 10 -> 30" },
    FindingDef { id: "ev.claim.ps.compute_gain", claim: "price setter: homes add 4,156 compute hours" },
    FindingDef { id: "ev.claim.ps.consumer_cost", claim: "price setter: consumer cost -25.8%" },
    FindingDef { id: "ev.claim.ps.dc_profit_unchanged", claim: "price setter: DC profit unchanged with homes" },
    FindingDef {
        id: "ev.claim.segmentation",
        claim: "price setter: DCs serve high-value, homes lower-value consumers",
    },
    FindingDef {
        id: "ev.claim.segmentation_price_taking",
        claim: "price-taking DCs serve high-value, homes lower-value consumers",
    },
];

/// A claim: finding id, anchor (None for the segmentation claims) and the
/// metric it reads.
pub struct Claim {
    /// Finding id.
    pub id: &'static str,
    /// The anchor figure of the original write-up.
    pub anchor: Option<f64>,
    /// Metric key the claim is about.
    pub metric: &'static str,
}

/// The claims of the original write-up.
pub const CLAIMS: &[Claim] = &[
    Claim {
        id: "ev.claim.cost_minus_42pct",
        anchor: Some(-42.0),
        metric: "scenarios.undersupplied.change.cost_per_useful_hour_pct",
    },
    Claim {
        id: "ev.claim.compute_plus_188pct",
        anchor: Some(188.0),
        metric: "scenarios.undersupplied.change.compute_hours_pct",
    },
    Claim {
        id: "ev.claim.ps.dc_only.cost",
        anchor: Some(1.60),
        metric: "scenarios.price_setter.dc_only.cost_per_useful_hour",
    },
    Claim {
        id: "ev.claim.ps.dc_only.compute",
        anchor: Some(1306.0),
        metric: "scenarios.price_setter.dc_only.compute_hours",
    },
    Claim {
        id: "ev.claim.ps.dc_only.dc_profit",
        anchor: Some(1.10),
        metric: "scenarios.price_setter.dc_only.dc_profit_per_hour",
    },
    Claim {
        id: "ev.claim.ps.dc_home.cost",
        anchor: Some(1.19),
        metric: "scenarios.price_setter.dc_home.cost_per_useful_hour",
    },
    Claim {
        id: "ev.claim.ps.dc_home.compute",
        anchor: Some(5462.0),
        metric: "scenarios.price_setter.dc_home.compute_hours",
    },
    Claim {
        id: "ev.claim.ps.dc_home.dc_profit",
        anchor: Some(1.10),
        metric: "scenarios.price_setter.dc_home.dc_profit_per_hour",
    },
    Claim {
        id: "ev.claim.ps.dc_home.home_profit",
        anchor: Some(0.95),
        metric: "scenarios.price_setter.dc_home.home_profit_per_hour",
    },
    Claim { id: "ev.claim.ps.served", anchor: Some(30.0), metric: "scenarios.price_setter.dc_home.served" },
    Claim {
        id: "ev.claim.ps.compute_gain",
        anchor: Some(4156.0),
        metric: "scenarios.price_setter.change.compute_hours",
    },
    Claim {
        id: "ev.claim.ps.consumer_cost",
        anchor: Some(-25.8),
        metric: "scenarios.price_setter.change.cost_per_useful_hour_pct",
    },
    Claim {
        id: "ev.claim.ps.dc_profit_unchanged",
        anchor: Some(0.0),
        metric: "scenarios.price_setter.change.dc_profit_per_hour_pct",
    },
    Claim { id: "ev.claim.segmentation", anchor: None, metric: "scenarios.price_setter.dc_home.dc_high_value_share" },
    Claim {
        id: "ev.claim.segmentation_price_taking",
        anchor: None,
        metric: "scenarios.undersupplied.dc_home.dc_high_value_share",
    },
];

/// pct(new, old): 100 (new - old)/old if old > 0; else 0 if new = 0,
/// else +inf.
pub fn pct(new: f64, old: f64) -> f64 {
    if old > 0.0 {
        100.0 * (new - old) / old
    } else if new == 0.0 {
        0.0
    } else {
        f64::INFINITY
    }
}

/// The cost rule: like [`pct`], but 0 whenever old <= 0.
pub fn cost_pct(new: f64, old: f64) -> f64 {
    if old <= 0.0 { 0.0 } else { 100.0 * (new - old) / old }
}

struct Out {
    m: BTreeMap<String, Option<f64>>,
    f: BTreeMap<String, Option<bool>>,
    binary: std::collections::BTreeSet<String>,
}

impl Out {
    fn get(&self, k: &str) -> Option<f64> {
        self.m.get(k).copied().flatten()
    }
    /// Store a value; infinities are kept (as undefined in JSON, but usable
    /// in predicates through `raw`).
    fn set(&mut self, k: String, v: Option<f64>) {
        self.m.insert(k, v);
    }
}

/// Metrics, findings and series of one seed.
pub fn seed_output(p: &EvParams, records: &[LegRecord], seed: u64) -> SeedOutput {
    let mut out = Out { m: BTreeMap::new(), f: BTreeMap::new(), binary: Default::default() };
    let mut series = BTreeMap::new();
    for r in records {
        for (k, v) in &r.metrics {
            out.set(format!("{}.{k}", r.id), *v);
        }
        // Only the markets' time series are drawn (`timeseries_*.csv`); the
        // sweep cells' stay in the records.
        if !r.samples.is_empty() && r.id.starts_with("scenarios.") {
            let cols = ["hours", "busy_dcs", "busy_homes", "idle_consumers", "dc_price", "home_price", "outside_index"];
            for (c, name) in cols.iter().enumerate() {
                series.insert(format!("ts.{}.{name}", r.id), r.samples.iter().map(|s| s[c]).collect());
            }
        }
    }
    // Changes per market.
    let raw = |o: &Out, k: String| o.get(&k);
    for m in &p.markets {
        let base = format!("scenarios.{}", m.name);
        let (Some(_), Some(_)) =
            (raw(&out, format!("{base}.dc_only.served")), raw(&out, format!("{base}.dc_home.served")))
        else {
            continue;
        };
        let g = |o: &Out, leg: &str, n: &str| o.get(&format!("{base}.{leg}.{n}")).unwrap_or(0.0);
        let c_cost = cost_pct(g(&out, "dc_home", "cost_per_useful_hour"), g(&out, "dc_only", "cost_per_useful_hour"));
        let c_comp = pct(g(&out, "dc_home", "compute_hours"), g(&out, "dc_only", "compute_hours"));
        let c_prof = pct(g(&out, "dc_home", "dc_profit_per_hour"), g(&out, "dc_only", "dc_profit_per_hour"));
        let d_comp = g(&out, "dc_home", "compute_hours") - g(&out, "dc_only", "compute_hours");
        let d_served = g(&out, "dc_home", "served") - g(&out, "dc_only", "served");
        let d_surplus = g(&out, "dc_home", "total_surplus_per_hour") - g(&out, "dc_only", "total_surplus_per_hour");
        out.set(format!("{base}.change.cost_per_useful_hour_pct"), Some(c_cost));
        out.set(format!("{base}.change.compute_hours_pct"), Some(c_comp));
        out.set(format!("{base}.change.dc_profit_per_hour_pct"), Some(c_prof));
        out.set(format!("{base}.change.compute_hours"), Some(d_comp));
        out.set(format!("{base}.change.served"), Some(d_served));
        out.set(format!("{base}.change.total_surplus_per_hour"), Some(d_surplus));
        // The findings are about what homes change: with no homes in the
        // market there is nothing to judge (n/a), not a failure.
        let homes = m.homes > 0;
        let judge = |b: bool| homes.then_some(b);
        out.f.insert(format!("ev.{}.surplus_up", m.name), judge(d_surplus > 0.0));
        match m.name.as_str() {
            "undersupplied" => {
                let served = g(&out, "dc_home", "served");
                out.f.insert(
                    "ev.undersupplied.more_served_and_compute".into(),
                    judge(served == m.consumers as f64 && c_comp > 10.0),
                );
                out.f.insert("ev.undersupplied.cost_down".into(), judge(c_cost < 0.0));
                out.f.insert("ev.undersupplied.dc_profit_down".into(), judge(c_prof < -5.0));
            }
            "oversupplied" => {
                out.f.insert("ev.oversupplied.compute_down".into(), judge(c_comp < 0.0));
            }
            _ => {}
        }
    }
    let ps_homes = p.markets.iter().find(|m| m.name == "price_setter").is_some_and(|m| m.homes > 0);
    if let Some(s) = raw(&out, "scenarios.price_setter.dc_home.dc_sessions".into()) {
        out.f.insert("ev.price_setter.dcs_idle_with_homes".into(), ps_homes.then_some(s == 0.0));
    }
    // Sweep.
    if let Some(sw) = &p.sweep {
        let mut counts = [0u32; 3];
        let mut vc_only_under = true;
        let mut displaced = true;
        for cell in sw.cells() {
            let base = format!("sweep.{}.{}.{}", cell.demand, cell.checkpoint, cell.values);
            let g = |o: &Out, leg: &str, n: &str| o.get(&format!("{base}.{leg}.{n}")).unwrap_or(0.0);
            let dp = pct(g(&out, "dc_home", "dc_profit_per_hour"), g(&out, "dc_only", "dc_profit_per_hour"));
            let dh = pct(g(&out, "dc_home", "dc_hours"), g(&out, "dc_only", "dc_hours"));
            let dc = pct(g(&out, "dc_home", "compute_hours"), g(&out, "dc_only", "compute_hours"));
            let dk = cost_pct(g(&out, "dc_home", "cost_per_useful_hour"), g(&out, "dc_only", "cost_per_useful_hour"));
            out.set(format!("{base}.change.dc_profit_pct"), Some(dp));
            out.set(format!("{base}.change.dc_hours_pct"), Some(dh));
            out.set(format!("{base}.change.compute_pct"), Some(dc));
            out.set(format!("{base}.change.cost_pct"), Some(dk));
            let class = if dp < sw.cannibalization_pct {
                2
            } else if dc > sw.value_creation_pct {
                0
            } else {
                1
            };
            counts[class] += 1;
            for (c, name) in ["value_creation", "neutral", "cannibalization"].iter().enumerate() {
                let k = format!("{base}.class.{name}");
                out.set(k.clone(), Some(if c == class { 1.0 } else { 0.0 }));
                out.binary.insert(k);
            }
            if class == 0 && cell.demand != "undersupplied" {
                vc_only_under = false;
            }
            if cell.demand != "undersupplied" && g(&out, "dc_home", "dc_hours") > 0.01 * g(&out, "dc_only", "dc_hours")
            {
                displaced = false;
            }
            // Keep only the per-leg keys the sweep reports.
            for leg in ["dc_only", "dc_home"] {
                let prefix = format!("{base}.{leg}.");
                let keep: &[&str] = if leg == "dc_home" {
                    &[
                        "compute_hours",
                        "served",
                        "cost_per_useful_hour",
                        "dc_profit_per_hour",
                        "dc_hours",
                        "home_profit_per_hour",
                        "home_hours",
                    ]
                } else {
                    &["compute_hours", "served", "cost_per_useful_hour", "dc_profit_per_hour", "dc_hours"]
                };
                // The cell's keys are one run of the ordered map: walk only it.
                let drop: Vec<String> = out
                    .m
                    .range::<str, _>((Bound::Included(prefix.as_str()), Bound::Unbounded))
                    .map(|(k, _)| k)
                    .take_while(|k| k.starts_with(&prefix))
                    .filter(|k| !keep.iter().any(|n| k[prefix.len()..] == **n))
                    .cloned()
                    .collect();
                for k in &drop {
                    out.m.remove(k);
                }
            }
        }
        out.set("sweep.counts.value_creation".into(), Some(counts[0] as f64));
        out.set("sweep.counts.neutral".into(), Some(counts[1] as f64));
        out.set("sweep.counts.cannibalization".into(), Some(counts[2] as f64));
        // Without homes the sweep compares a leg with itself: n/a.
        let homes = sw.homes > 0;
        out.f.insert("ev.sweep.counts_6_0_30".into(), homes.then_some(counts == [6, 0, 30]));
        out.f.insert("ev.sweep.value_creation_only_undersupplied".into(), homes.then_some(vc_only_under));
        out.f.insert("ev.sweep.dc_displaced_unless_undersupplied".into(), homes.then_some(displaced));
    }
    claims(p, &mut out);
    let tables = csv_tables(records, seed, &out);
    // Non-finite values are undefined in the results contract.
    let metrics = out.m.into_iter().map(|(k, v)| (k, v.filter(|x| x.is_finite()))).collect();
    let mut o = SeedOutput { seed, metrics, binary: out.binary, findings: out.f, tables, series, ..Default::default() };
    o.mark_non_negative(NON_NEGATIVE);
    o
}

/// Metrics that cannot be negative: per leg the hours, sessions,
/// cancellations, costs, prices, revenues, rates and shares; per sweep cell
/// the class shares and per sweep the class counts. Profits, surpluses and
/// changes are signed.
pub const NON_NEGATIVE: &[&str] = &[
    "**.dc_*.*hours",
    "**.dc_*.*sessions*",
    "**.dc_*.cancellations_*",
    "**.dc_*.cost_per_useful_hour*",
    "**.dc_*.*completion_rate*",
    "**.dc_*.*high_value_share",
    "**.dc_*.dc_posted_price_mean",
    "**.dc_*.*revenue*",
    "**.dc_*.efficiency",
    "**.dc_*.served",
    "sweep.**.class.*",
    "sweep.counts.*",
];

fn claims(p: &EvParams, out: &mut Out) {
    let tol = p.claims_tolerance;
    let near = |x: f64, anchor: f64| (x - anchor).abs() <= tol * anchor.abs();
    let g = |o: &Out, k: &str| o.get(k);
    for c in CLAIMS {
        let Some(x) = g(out, c.metric) else { continue };
        let ps_dc_hours = g(out, "scenarios.price_setter.dc_home.dc_hours").unwrap_or(0.0);
        let held = match c.id {
            "ev.claim.ps.served" => g(out, "scenarios.price_setter.dc_only.served") == Some(10.0) && x == 30.0,
            "ev.claim.ps.dc_home.dc_profit" => near(x, 1.10) && ps_dc_hours > 0.0,
            "ev.claim.ps.dc_profit_unchanged" => x.abs() <= 10.0 && ps_dc_hours > 0.0,
            "ev.claim.segmentation" | "ev.claim.segmentation_price_taking" => {
                let base = c.metric.trim_end_matches(".dc_high_value_share");
                let dc_hours = g(out, &format!("{base}.dc_hours")).unwrap_or(0.0);
                let home = g(out, &format!("{base}.home_high_value_share")).unwrap_or(0.0);
                dc_hours > 0.0 && x > 0.5 && x > home
            }
            _ => near(x, c.anchor.expect("numeric claim")),
        };
        out.f.insert(c.id.to_string(), Some(held));
    }
}

/// `scenarios.csv` (one row per seed, market and leg, every per-leg metric) and
/// `sweep.csv` (one row per seed and cell: both legs, changes and class).
fn csv_tables(records: &[LegRecord], seed: u64, out: &Out) -> BTreeMap<String, Table> {
    let fmt = |v: Option<f64>| v.filter(|x| x.is_finite()).map(|x| (x + 0.0).to_string()).unwrap_or_default();
    let mut tables = BTreeMap::new();
    let scen: Vec<&LegRecord> = records.iter().filter(|r| r.id.starts_with("scenarios.")).collect();
    if let Some(first) = scen.first() {
        let names: Vec<String> = first.metrics.keys().cloned().collect();
        let mut t = Table {
            header: ["seed", "market", "leg"].iter().map(|s| s.to_string()).chain(names.iter().cloned()).collect(),
            rows: Vec::new(),
        };
        for r in &scen {
            let mut parts = r.id.splitn(3, '.');
            let (_, market, leg) = (parts.next(), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            let mut row = vec![seed.to_string(), market.to_string(), leg.to_string()];
            row.extend(names.iter().map(|n| fmt(r.metrics.get(n).copied().flatten())));
            t.rows.push(row);
        }
        tables.insert("scenarios.csv".to_string(), t);
    }
    let cells: Vec<String> = records
        .iter()
        .filter_map(|r| r.id.strip_prefix("sweep.").and_then(|x| x.rsplit_once('.')).map(|(c, _)| c.to_string()))
        .fold(Vec::new(), |mut v, c| {
            if !v.contains(&c) {
                v.push(c);
            }
            v
        });
    if !cells.is_empty() {
        let legs = [
            ("dc_only", &["compute_hours", "served", "cost_per_useful_hour", "dc_profit_per_hour", "dc_hours"][..]),
            (
                "dc_home",
                &[
                    "compute_hours",
                    "served",
                    "cost_per_useful_hour",
                    "dc_profit_per_hour",
                    "dc_hours",
                    "home_profit_per_hour",
                    "home_hours",
                ][..],
            ),
        ];
        let changes = ["compute_pct", "dc_profit_pct", "dc_hours_pct", "cost_pct"];
        let mut header: Vec<String> =
            ["seed", "demand", "checkpoint", "values"].iter().map(|s| s.to_string()).collect();
        for (leg, names) in legs {
            header.extend(names.iter().map(|n| format!("{leg}.{n}")));
        }
        header.extend(changes.iter().map(|n| format!("change.{n}")));
        header.push("class".into());
        let mut t = Table { header, rows: Vec::new() };
        for c in cells {
            let mut parts = c.splitn(3, '.');
            let mut row = vec![seed.to_string()];
            row.extend((0..3).map(|_| parts.next().unwrap_or("").to_string()));
            for (leg, names) in legs {
                row.extend(names.iter().map(|n| fmt(out.get(&format!("sweep.{c}.{leg}.{n}")))));
            }
            row.extend(changes.iter().map(|n| fmt(out.get(&format!("sweep.{c}.change.{n}")))));
            let class = ["value_creation", "neutral", "cannibalization"]
                .iter()
                .find(|k| out.get(&format!("sweep.{c}.class.{k}")) == Some(1.0))
                .copied()
                .unwrap_or("");
            row.push(class.to_string());
            t.rows.push(row);
        }
        tables.insert("sweep.csv".to_string(), t);
    }
    tables
}
