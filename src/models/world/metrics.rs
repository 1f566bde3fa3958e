//! A world leg's metrics (docs/models/world.md, Outputs), a seed's output
//! and the findings.

use super::hooks::{CLASSES, CONDITIONS, DayRow, World, WorldLegRecord};
use crate::engine::time::ticks_to_hours;
use crate::ledger::AccountId;
use crate::market::posted::ProviderKind;
use crate::models::economic_value::EconomicMarket;
use crate::models::economic_value::metrics::seed_output as market_output;
use crate::policy::metrics::gini_sorted;
use crate::report::results::{FindingDef, SeedOutput, Table};
use std::collections::BTreeMap;

/// The markets whose findings the study defines (those of the shipped
/// scenarios); a market of another name is measured but not judged.
pub const MARKETS: [&str; 4] = ["undersupplied", "sufficient", "oversupplied", "price_setter"];

macro_rules! per_market {
    ($($m:literal),*) => {
        [$(
            FindingDef {
                id: concat!("world.", $m, ".homes_still_cut_cost"),
                claim: "with trust-weighted settlement and net pricing, dc_home's consumer cost per useful hour is below dc_only's",
            },
            FindingDef {
                id: concat!("world.", $m, ".homes_reach_half_share"),
                claim: "at least half the homes reach a payment share of 0.5 within the horizon",
            },
            FindingDef {
                id: concat!("world.", $m, ".homes_break_even"),
                claim: "at least half the homes cover their cost within the horizon",
            },
        )*]
    };
}

const MARKET_FINDINGS: [FindingDef; 12] = per_market!("undersupplied", "sufficient", "oversupplied", "price_setter");

/// Every finding of the study.
pub const FINDINGS: &[FindingDef] = &[
    MARKET_FINDINGS[0],
    MARKET_FINDINGS[1],
    MARKET_FINDINGS[2],
    MARKET_FINDINGS[3],
    MARKET_FINDINGS[4],
    MARKET_FINDINGS[5],
    MARKET_FINDINGS[6],
    MARKET_FINDINGS[7],
    MARKET_FINDINGS[8],
    MARKET_FINDINGS[9],
    MARKET_FINDINGS[10],
    MARKET_FINDINGS[11],
    FindingDef { id: "world.burn_below_10pct", claim: "cumulative burned share is below 10% of consumer spend" },
    FindingDef {
        id: "world.sybil_unprofitable",
        claim: "a sybil ring farming trust with fake sessions does not earn back its burns (gain < 0)",
    },
    FindingDef { id: "world.sybil_flagged", claim: "the sybil ring's members have a mean cluster weight below 1" },
    FindingDef {
        id: "world.long_con_loses",
        claim: "long-con homes earn less after defecting than honest ones (gain < 0)",
    },
    FindingDef {
        id: "world.policy_lowers_gini",
        claim: "with the monetary policy on, final provider trust Gini is lower than with it off, same seed",
    },
];

/// The daily series' file: one row per seed, market, leg and day.
pub const DAILY_CSV: &str = "world_daily.csv";

/// Columns of the daily series.
pub const DAY_COLUMNS: [&str; 10] = [
    "day",
    "mean_trust_dc",
    "mean_trust_home",
    "mean_share_dc",
    "mean_share_home",
    "burned_dc",
    "burned_home",
    "spend_dc",
    "spend_home",
    "onramp",
];

fn day_values(r: &DayRow) -> [f64; 10] {
    [
        r.day as f64,
        r.trust[0],
        r.trust[1],
        r.share[0],
        r.share[1],
        r.burned[0],
        r.burned[1],
        r.spend[0],
        r.spend[1],
        r.onramp,
    ]
}

fn mean(xs: &[f64]) -> Option<f64> {
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

fn median(mut xs: Vec<f64>) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    Some(if n % 2 == 1 { xs[n / 2] } else { (xs[n / 2 - 1] + xs[n / 2]) / 2.0 })
}

fn gini(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    gini_sorted(&xs)
}

/// The world's metrics of the leg that just ended (names after
/// `world.<market>.<leg>.`).
pub fn record(m: &EconomicMarket<World>) -> WorldLegRecord {
    let w = &m.ext;
    let id = m.records.last().map(|r| r.id.clone()).unwrap_or_default();
    let mut out: BTreeMap<String, Option<f64>> = BTreeMap::new();
    let mut put = |k: String, v: Option<f64>| {
        out.insert(k, v.filter(|x| x.is_finite()).map(|x| x + 0.0));
    };
    let (Some(l), Some(_)) = (&w.ledger, &w.trust) else {
        return WorldLegRecord { id, metrics: out, days: Vec::new() };
    };
    let np = m.providers.len();
    let omc = |u: i64| u as f64 / 1e6;
    for (c, class) in CLASSES.iter().enumerate() {
        let kind = if c == 0 { ProviderKind::Datacenter } else { ProviderKind::Home };
        let cost = if c == 0 { m.params.dc.cost } else { m.params.home.cost };
        let ps: Vec<usize> = (0..np).filter(|&i| m.providers[i].kind == kind).collect();
        let hours = |i: usize| ticks_to_hours(m.providers[i].books.corrected.hours);
        let active: Vec<usize> = ps.iter().copied().filter(|&i| hours(i) > 0.0).collect();
        let nph: Vec<f64> = active.iter().map(|&i| omc(w.net[i]) / hours(i)).collect();
        let nprof: Vec<f64> = active.iter().map(|&i| (omc(w.net[i]) - cost * hours(i)) / hours(i)).collect();
        put(format!("net_income_per_hour.{class}"), Some(mean(&nph).unwrap_or(0.0)));
        put(format!("net_profit_per_hour.{class}"), Some(mean(&nprof).unwrap_or(0.0)));
        let trust: Vec<f64> = ps.iter().map(|&i| l.trust(AccountId(i as u32))).collect();
        let share: Vec<f64> = ps.iter().map(|&i| w.share(i)).collect();
        put(format!("mean_trust.{class}"), mean(&trust));
        put(format!("mean_share.{class}"), mean(&share));
        put(format!("net_income.{class}"), Some(ps.iter().map(|&i| omc(w.net[i])).sum()));
        put(format!("burned.{class}"), Some(ps.iter().map(|&i| omc(w.burned[i])).sum()));
        let (mut burned, mut spend) = (0i64, 0i64);
        for (k, cond) in CONDITIONS.iter().enumerate() {
            let b = &w.books[c][k];
            put(format!("settlements.{cond}.{class}.count"), Some(b.count as f64));
            put(format!("settlements.{cond}.{class}.credit"), Some(b.credit));
            put(format!("settlements.{cond}.{class}.burned"), Some(omc(b.burn)));
            burned += b.burn;
            spend += b.gross;
        }
        put(format!("burned_share.{class}"), (spend > 0).then(|| burned as f64 / spend as f64));
        let last: Vec<&DayRow> = w.rows.iter().rev().take(7).collect();
        let (b7, s7): (f64, f64) = last.iter().fold((0.0, 0.0), |(b, s), r| (b + r.burned[c], s + r.spend[c]));
        put(format!("burned_share_7d.{class}"), (s7 > 0.0).then(|| b7 / s7));
        if kind == ProviderKind::Home {
            let n = ps.len() as f64;
            let half: Vec<f64> = ps.iter().filter_map(|&i| w.half_day[i].map(|d| d as f64)).collect();
            let at_end = ps.iter().filter(|&&i| w.share(i) >= 0.5).count() as f64;
            put("home_half_share_share".into(), (n > 0.0).then(|| at_end / n));
            put("home_days_to_half_share".into(), median(half));
            let even = ps.iter().filter(|&&i| hours(i) > 0.0 && omc(w.net[i]) >= cost * hours(i)).count() as f64;
            put("home_break_even_share".into(), (n > 0.0).then(|| even / n));
            let days: Vec<f64> = ps.iter().filter_map(|&i| w.even_day[i].map(|d| d as f64)).collect();
            put("home_break_even_day".into(), median(days));
        }
    }
    let trusts: Vec<f64> = (0..np).map(|i| l.trust(AccountId(i as u32))).collect();
    put("zero_trust_share".into(), (np > 0).then(|| trusts.iter().filter(|&&t| t == 0.0).count() as f64 / np as f64));
    put("trust_gini".into(), Some(gini(trusts)));
    let (money, useful): (i64, u64) =
        m.consumers.iter().fold((0, 0), |(a, b), c| (a + c.books.corrected.money, b + c.books.corrected.useful));
    put("consumer_cost_per_useful_hour".into(), (useful > 0).then(|| omc(money) / ticks_to_hours(useful)));
    let balances: i64 = l.accounts().iter().map(|a| a.balance.0).sum();
    put("ledger.minted".into(), Some(omc(l.minted().0)));
    put("ledger.onramp".into(), Some(omc(w.onramp)));
    put("ledger.balances_end".into(), Some(omc(balances)));
    put("ledger.escrowed_end".into(), Some(omc(l.escrowed().0)));
    put("ledger.burned_settlement".into(), Some(omc(l.burned_settlement().0)));
    put("ledger.burned_transfers".into(), Some(omc(l.burned().0)));
    put("wealth_gini".into(), Some(gini(l.accounts().iter().map(|a| omc(a.balance.0)).collect())));
    put("solves".into(), Some(w.solves as f64));
    put("solves_nonconverged".into(), Some(w.nonconverged as f64));
    WorldLegRecord { id, metrics: out, days: w.rows.clone() }
}

/// One seed's output: the market's metrics of every leg (and their
/// changes) renamed from `scenarios.` to `world.`, the world's own, the
/// daily series, and the findings.
pub fn seed_output(m: &EconomicMarket<World>, seed: u64) -> SeedOutput {
    let market = market_output(&m.params, &m.records, seed);
    let mut out = SeedOutput::new(seed);
    for (k, v) in &market.metrics {
        if let Some(rest) = k.strip_prefix("scenarios.") {
            out.set(format!("world.{rest}"), *v);
        }
    }
    let (mut burned, mut spend) = (0.0, 0.0);
    for r in &m.ext.records {
        let Some(rest) = r.id.strip_prefix("scenarios.") else { continue };
        for (k, v) in &r.metrics {
            out.set(format!("world.{rest}.{k}"), *v);
        }
        for c in CLASSES {
            for cond in CONDITIONS {
                burned += r.metrics.get(&format!("settlements.{cond}.{c}.burned")).copied().flatten().unwrap_or(0.0);
            }
        }
        for d in &r.days {
            spend += d.spend[0] + d.spend[1];
        }
        let cols: Vec<[f64; 10]> = r.days.iter().map(day_values).collect();
        let (market, leg) = rest.split_once('.').unwrap_or((rest, ""));
        let t = out.tables.entry(DAILY_CSV.to_string()).or_insert_with(|| Table {
            header: ["seed", "market", "leg"].iter().chain(DAY_COLUMNS.iter()).map(|s| s.to_string()).collect(),
            rows: Vec::new(),
        });
        for v in &cols {
            let mut row = vec![seed.to_string(), market.to_string(), leg.to_string()];
            row.extend(v.iter().map(|x| if x.is_finite() { format!("{x}") } else { String::new() }));
            t.rows.push(row);
        }
        for (c, name) in DAY_COLUMNS.iter().enumerate() {
            out.series.insert(format!("days.world.{rest}.{name}"), cols.iter().map(|v| v[c]).collect());
        }
    }
    out.set("world.burned_share", (spend > 0.0).then(|| burned / spend));
    out.finding("world.burn_below_10pct", (spend > 0.0).then(|| burned / spend < 0.10));
    for mk in &m.params.markets {
        let Some(name) = MARKETS.iter().find(|&&n| n == mk.name) else { continue };
        let g = |leg: &str, k: &str| out.metrics.get(&format!("world.{name}.{leg}.{k}")).copied().flatten();
        let homes = mk.homes > 0;
        let cut = match (g("dc_home", "consumer_cost_per_useful_hour"), g("dc_only", "consumer_cost_per_useful_hour")) {
            (Some(a), Some(b)) if homes => Some(a < b),
            _ => None,
        };
        let half = g("dc_home", "home_half_share_share").filter(|_| homes).map(|x| x >= 0.5);
        let even = g("dc_home", "home_break_even_share").filter(|_| homes).map(|x| x >= 0.5);
        out.finding(format!("world.{name}.homes_still_cut_cost"), cut);
        out.finding(format!("world.{name}.homes_reach_half_share"), half);
        out.finding(format!("world.{name}.homes_break_even"), even);
    }
    for k in &market.non_negative {
        if let Some(rest) = k.strip_prefix("scenarios.") {
            out.non_negative.insert(format!("world.{rest}"));
        }
    }
    out.mark_non_negative(&[
        "**.count",
        "**.credit",
        "**.burned",
        "**.burned.*",
        "**.net_income.*",
        "**.mean_trust.*",
        "**.mean_share.*",
        "**.burned_share.*",
        "**.burned_share_7d.*",
        "**.home_*_share",
        "**.home_days_to_half_share",
        "**.home_break_even_day",
        "**.zero_trust_share",
        "**.trust_gini",
        "**.wealth_gini",
        "**.ledger.*",
        "**.solves*",
        "**.consumer_cost_per_useful_hour",
        "world.burned_share",
    ]);
    out
}
