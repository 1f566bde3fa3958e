//! The trust studies as `Study`s: runs, printed summary, charts and the
//! detection/recovery distributions of `results.json`.

use super::config::{Params, StudyKind, TdScenario, resolve};
use super::metrics::{FM_FINDINGS, TD_FINDINGS, attack_extras, phase_days, roles, seed_output};
use super::model::TrustModel;
use crate::engine::SimTime;
use crate::report::chart::{Bar, BarPanel, BarSeries, Chart, Line, LinePanels, Panel, ci_over};
use crate::report::markdown::{MdTable, auto_decimals, findings_table, fmt_ci};
use crate::report::results::{FindingDef, MetricResult, Results, SeedOutput};
use crate::report::stats::{Support, summarize_with};
use crate::study::{Common, Footprint, Scenario, ScenarioError, StudyDef, StudyModel, StudyOf};
use crate::trust::attacks::Attack;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

impl StudyModel for TrustModel {
    const EVENT_KINDS: &'static [&'static str] = super::EVENT_KINDS;
    fn seed_output(&self, seed: u64) -> SeedOutput {
        seed_output(self, seed)
    }
    fn fresh_run(run: &crate::study::Run<Self>) -> Result<crate::study::Run<Self>, String> {
        super::model::fresh_run(run)
    }
}

/// The trust studies: `trust_dynamics` and `failure_modes`.
pub struct Trust;

/// A trust study bound to its scenario.
pub type TrustStudy = StudyOf<Trust>;

/// Memory of a run: every scenario (or attack) of the study runs side by
/// side in one seed, in each compared fidelity, each with its identities (up
/// to `attack.*.socks` / `attackers` of them), what the trust engine keeps per
/// day, and its checkpoint records. Measured at the keys' caps (10,000 socks
/// and attackers: 50 MB; 200,000 long-con days: 24 MB; 1,000 redemption
/// cycles: 15 MB); this estimate is about 1.5 to 3 times that.
pub fn footprint(p: &Params) -> Footprint {
    let ap = &p.attack;
    use crate::trust::attacks::Attack;
    let variants = p.variants().len() as f64;
    let slots = (p.scenarios.len() + p.attacks.len()) as f64 * variants;
    let days = (ap.build_days as f64 + ap.exploit_days as f64).max(80.0 * ap.cycles as f64).max(400.0);
    let checkpoints = 2.0 * ap.cycles as f64 + 16.0;
    // Identities of each slot: a handful, plus the socks or attackers of
    // the attacks that have them.
    let ids = |a: Option<Attack>| {
        16.0 + match a {
            Some(Attack::Sockpuppet) => ap.socks as f64,
            Some(Attack::Assassination) => ap.attackers as f64,
            _ => 0.0,
        }
    };
    let slot = |a: Option<Attack>| ids(a) * 3072.0 + days * 160.0 + checkpoints * ids(a) * 16.0;
    let run: f64 = variants
        * (p.scenarios.iter().map(|_| slot(None)).sum::<f64>() + p.attacks.iter().map(|&a| slot(Some(a))).sum::<f64>());
    let output = slots * (checkpoints * 32.0 * 160.0 + days * 16.0) + 256.0 * 1024.0;
    Footprint::new(run + output, output)
        .driver("attack.sockpuppet.socks", ap.socks)
        .driver("attack.assassination.attackers", ap.attackers)
        .driver("attack.long_con.build_days", ap.build_days)
        .driver("attack.redemption.cycles", ap.cycles)
}

impl StudyDef for Trust {
    const IDS: &'static [&'static str] = &["trust_dynamics", "failure_modes"];
    type Params = Params;
    type Model = TrustModel;

    fn resolve(scenario: &Scenario) -> Result<Params, ScenarioError> {
        resolve(scenario)
    }
    fn common(p: &Params) -> Common {
        Common { fidelity: p.fidelity, seed_base: p.seed_base, seeds: p.seeds, verdict: p.verdict }
    }
    fn model(p: &Params) -> TrustModel {
        TrustModel::new(p.clone())
    }
    fn horizon(p: &Params) -> SimTime {
        super::model::horizon(p)
    }
    fn footprint(p: &Params) -> Footprint {
        footprint(p)
    }
    fn settings(p: &Params) -> serde_json::Map<String, Value> {
        p.settings()
    }
    fn findings(p: &Params) -> &'static [FindingDef] {
        match p.study {
            StudyKind::Dynamics => TD_FINDINGS,
            StudyKind::FailureModes => FM_FINDINGS,
        }
    }
    fn finding_metric(_: &Params, id: &str) -> Option<String> {
        let key = match id {
            "td.normal_operation.providers_above_consumers" => "td.normal_operation.provider_trust_min",
            "td.sybil_attack.penalized" => "td.sybil_attack.sybil_trust_mean",
            "td.sybil_attack.all_flagged" => "td.sybil_attack.sybils_flagged",
            "td.collusion_ring.victim_unharmed" => "td.collusion_ring.victim_trust_d90",
            "td.long_con.trust_halved" => "td.long_con.trust_after",
            "td.new_entrant.newbie_below_established" => "td.new_entrant.newbie_trust",
            "td.donation_bootstrapping.advantage_2x" => "td.donation_bootstrapping.ratio",
            "fm.long_con.clawback_bounded" => "fm.long_con.clawed_back",
            _ => {
                // fm.<attack>.prevented: the attack's success probability.
                let attack = id.strip_prefix("fm.")?.strip_suffix(".prevented")?;
                return Some(format!("fm.{attack}.success"));
            }
        };
        Some(key.to_string())
    }
    fn report(study: &TrustStudy, results: &Results, outputs: &[SeedOutput], dir: &Path) -> anyhow::Result<String> {
        let mut md = String::new();
        match study.params.study {
            StudyKind::Dynamics => study.td_report(results, outputs, dir, &mut md)?,
            StudyKind::FailureModes => study.fm_report(results, dir, &mut md)?,
        }
        solver_note(results, &mut md);
        md.push_str("\n## Findings\n\n");
        md.push_str(&findings_table(&results.findings));
        Ok(md)
    }
    fn extra(study: &TrustStudy, _results: &Results, outputs: &[SeedOutput]) -> serde_json::Map<String, Value> {
        let mut m = serde_json::Map::new();
        if study.params.study == StudyKind::FailureModes {
            m.insert("distributions".into(), Value::Object(distributions(outputs)));
        }
        m
    }
}

/// Detection and recovery days over seeds: counts per day
/// and "never", and nearest-rank p10/p50/p90 over the seeds where the event
/// happened.
pub fn distributions(outputs: &[SeedOutput]) -> serde_json::Map<String, Value> {
    let mut keys: Vec<&String> = outputs
        .iter()
        .flat_map(|o| o.series.keys())
        .filter(|k| k.ends_with(".detection_day") || k.ends_with(".recovery_days"))
        .collect();
    keys.sort();
    keys.dedup();
    let mut out = serde_json::Map::new();
    for key in keys {
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        let mut days: Vec<i64> = Vec::new();
        for o in outputs {
            let Some(&v) = o.series.get(key).and_then(|v| v.first()) else { continue };
            if v >= 0.0 {
                let d = v as i64;
                days.push(d);
                *counts.entry(d.to_string()).or_default() += 1;
            } else {
                *counts.entry("never".into()).or_default() += 1;
            }
        }
        days.sort_unstable();
        let q = |p: f64| -> Value {
            if days.is_empty() {
                return Value::Null;
            }
            let rank = ((p * days.len() as f64).ceil() as usize).clamp(1, days.len());
            json!(days[rank - 1])
        };
        out.insert(key.clone(), json!({ "counts": counts, "p10": q(0.1), "p50": q(0.5), "p90": q(0.9) }));
    }
    out
}

fn cell(m: &BTreeMap<String, MetricResult>, key: &str) -> String {
    match m.get(key) {
        Some(r) => {
            let [lo, hi] = r.ci95.unwrap_or([0.0, 0.0]);
            let scale = r.mean.unwrap_or(0.0).abs().max(lo.abs()).max(hi.abs());
            fmt_ci(r, auto_decimals(scale).min(3))
        }
        None => "n/a".into(),
    }
}

fn bar(m: &BTreeMap<String, MetricResult>, key: &str, label: &str) -> Bar {
    Bar::of_metric(m, key, label)
}

fn solver_note(results: &Results, md: &mut String) {
    let bad: Vec<String> = results
        .metrics
        .iter()
        .filter(|(k, m)| k.ends_with("solver_nonconverged") && m.values.iter().flatten().any(|&v| v > 0.0))
        .map(|(k, m)| format!("{k} (in {} seeds)", m.values.iter().flatten().filter(|&&v| v > 0.0).count()))
        .collect();
    if !bad.is_empty() {
        md.push_str(&format!(
            "\n**Warning: solves that hit the iteration cap without converging:** {}\n",
            bad.join(", ")
        ));
    }
    let max = results
        .metrics
        .iter()
        .filter(|(k, _)| k.ends_with("solver_iterations_max"))
        .flat_map(|(_, m)| m.values.iter().flatten().copied())
        .fold(0.0f64, f64::max);
    md.push_str(&format!("\nSolver: at most {max} Jacobi iterations in any solve.\n"));
}

/// Points (day, mean) and band (day, lo, hi).
type Band = (Vec<(f64, f64)>, Vec<(f64, f64, f64)>);

/// Day-by-day mean and 95% CI over seeds of series `key`.
fn band(outputs: &[SeedOutput], key: &str) -> Band {
    let days = outputs.iter().filter_map(|o| o.series.get(key)).map(Vec::len).max().unwrap_or(0);
    let mut pts = Vec::with_capacity(days);
    let mut b = Vec::with_capacity(days);
    for d in 0..days {
        let vals: Vec<Option<f64>> =
            outputs.iter().map(|o| o.series.get(key).and_then(|v| v.get(d).copied())).collect();
        // Trust cannot be negative; one seed gives no interval.
        let s = summarize_with(&vals, Support::NonNegative);
        let x = d as f64;
        match s.mean {
            Some(m) => {
                let [lo, hi] = s.ci95.filter(|_| s.n >= 2).unwrap_or([f64::NAN; 2]);
                pts.push((x, m));
                b.push((x, lo, hi));
            }
            None => {
                pts.push((x, f64::NAN));
                b.push((x, f64::NAN, f64::NAN));
            }
        }
    }
    (pts, b)
}

fn td_keys(sc: TdScenario) -> &'static [&'static str] {
    match sc {
        TdScenario::NormalOperation => {
            &["provider_trust_mean", "provider_trust_min", "consumer_trust", "provider_payment_share_mean"]
        }
        TdScenario::SybilAttack => {
            &["honest_trust_mean", "sybil_trust_mean", "penalized", "sybils_flagged", "sybil_cluster_weight_mean"]
        }
        TdScenario::CollusionRing => &[
            "victim_trust_d60",
            "victim_trust_d90",
            "colluder_trust_mean_d90",
            "accusations_attempted",
            "accusations_accepted",
        ],
        TdScenario::LongCon => &[
            "trust_before",
            "trust_after",
            "trust_lost",
            "payment_share_before",
            "payment_share_after",
            "after_zero",
            "complaints_accepted",
        ],
        TdScenario::NewEntrant => &[
            "newbie_trust",
            "established_trust_mean_d180",
            "established_trust_mean_d240",
            "newbie_payment_share",
            "established_payment_share",
        ],
        TdScenario::DonationBootstrapping => {
            &["normal_trust", "donation_trust", "ratio", "normal_payment_share", "donation_payment_share"]
        }
    }
}

impl TrustStudy {
    /// (metric key prefix, fidelity) of the study's fidelity and, with
    /// `compare_fidelities`, of the comparison run.
    fn variant_names(&self) -> Vec<(String, String)> {
        let mut v = vec![(String::new(), self.params.fidelity.name().to_string())];
        if let Some(f) = self.other_name() {
            v.push((format!("compare.{f}."), f.to_string()));
        }
        v
    }

    fn td_report(&self, r: &Results, outputs: &[SeedOutput], dir: &Path, md: &mut String) -> anyhow::Result<()> {
        let m = &r.metrics;
        let variants = self.variant_names();
        for &sc in &self.params.scenarios {
            md.push_str(&format!("\n## {}\n\n", sc.id()));
            let header: Vec<String> = std::iter::once("metric".to_string())
                .chain(variants.iter().map(|(_, f)| format!("{f}: mean [95% CI]")))
                .collect();
            let mut t = MdTable::new(header);
            for key in td_keys(sc) {
                let mut row = vec![key.to_string()];
                for (pre, _) in &variants {
                    row.push(cell(m, &format!("{pre}td.{}.{key}", sc.id())));
                }
                t.row(row);
            }
            md.push_str(&t.render());
            self.td_chart(sc, outputs, dir)?;
            md.push_str(&format!("\nChart: charts/td_{0}_trust.svg / charts/td_{0}_trust.png\n", sc.id()));
        }
        Ok(())
    }

    fn td_chart(&self, sc: TdScenario, outputs: &[SeedOutput], dir: &Path) -> anyhow::Result<()> {
        let variants = self.variant_names();
        let mut panels = Vec::new();
        let rules = phase_days(sc);
        let rule_lines = |lines: &[Line]| -> Vec<Line> {
            let ys = lines
                .iter()
                .flat_map(|l| l.points.iter().map(|p| p.1).chain(l.band.iter().flatten().flat_map(|b| [b.1, b.2])));
            let (lo, hi) = ys.filter(|y| y.is_finite()).fold((0.0f64, 0.0f64), |(a, b), y| (a.min(y), b.max(y)));
            rules
                .iter()
                .map(|&d| Line {
                    name: String::new(),
                    points: vec![(f64::from(d), lo), (f64::from(d), hi)],
                    band: None,
                    thin: true,
                })
                .collect()
        };
        if let Some(first) = outputs.first() {
            let prefix = format!("td.{}.id.", sc.id());
            let mut lines: Vec<Line> = first
                .series
                .iter()
                .filter_map(|(k, v)| k.strip_prefix(&prefix).map(|name| (name, v)))
                .map(|(name, v)| Line {
                    // Keys are `<index>.<name>`: creation order, then the name.
                    name: name.split_once('.').map_or(name, |x| x.1).to_string(),
                    points: v.iter().enumerate().map(|(d, &y)| (d as f64, y)).collect(),
                    band: None,
                    thin: false,
                })
                .collect();
            let mut all = rule_lines(&lines);
            all.append(&mut lines);
            panels.push(Panel {
                title: format!("Trust per identity, seed {} ({})", first.seed, self.params.fidelity.name()),
                x_label: "day".into(),
                y_label: "trust".into(),
                lines: all,
            });
        }
        let mut lines = Vec::new();
        for (pre, f) in &variants {
            for (role, _) in roles(sc) {
                let (pts, b) = band(outputs, &format!("{pre}td.{}.role.{role}", sc.id()));
                let name = if variants.len() > 1 { format!("{role} ({f})") } else { role.to_string() };
                lines.push(Line { name, points: pts, band: Some(b), thin: false });
            }
        }
        let mut all = rule_lines(&lines);
        all.append(&mut lines);
        panels.push(Panel {
            title: format!("Mean trust per role, {}", ci_over(outputs.len())),
            x_label: "day".into(),
            y_label: "trust".into(),
            lines: all,
        });
        let mode = if self.params.switches.daily() { "daily solves" } else { "solved at checkpoints" };
        LinePanels { title: format!("{}: trust ({mode})", sc.id()), panels }
            .write(&dir.join("charts"), &format!("td_{}_trust", sc.id()))
            .map(|_| ())
    }

    fn fm_report(&self, r: &Results, dir: &Path, md: &mut String) -> anyhow::Result<()> {
        let m = &r.metrics;
        let variants = self.variant_names();
        let dist = r.extra.get("distributions").and_then(Value::as_object);
        md.push_str("\n## Attack success and detection\n\n");
        md.push_str(
            "Success is a probability over seeds with a Wilson 95% interval; detection and recovery days are \
             distributions (p10 / p50 / p90 over the seeds where the event happened).\n\n",
        );
        for (pre, f) in &variants {
            if variants.len() > 1 {
                md.push_str(&format!("### {f} fidelity\n\n"));
            }
            let mut t = MdTable::new([
                "attack",
                "success",
                "detected",
                "detection day p10/p50/p90",
                "recovered",
                "recovery days p10/p50/p90",
                "attacker profit",
                "victim damage",
                "network damage",
            ]);
            for &a in &self.params.attacks {
                let k = |x: &str| format!("{pre}fm.{}.{x}", a.id());
                let q = |key: String| -> String {
                    let Some(d) = dist.and_then(|d| d.get(&key)) else { return "-".into() };
                    let f = |p: &str| d.get(p).and_then(Value::as_i64).map_or("-".into(), |x| x.to_string());
                    format!("{} / {} / {}", f("p10"), f("p50"), f("p90"))
                };
                t.row([
                    a.id().to_string(),
                    cell(m, &k("success")),
                    cell(m, &k("detected")),
                    q(k("detection_day")),
                    if a.has_victim() { cell(m, &k("recovered")) } else { "-".into() },
                    if a.has_victim() { q(k("recovery_days")) } else { "-".into() },
                    cell(m, &k("attacker_profit")),
                    cell(m, &k("victim_damage")),
                    cell(m, &k("network_damage")),
                ]);
            }
            md.push_str(&t.render());
            md.push('\n');
        }
        md.push_str("## Per-attack measurements\n");
        for &a in &self.params.attacks {
            md.push_str(&format!("\n### {}\n\n", a.id()));
            let extras = attack_extras(a, self.params.attack.cycles);
            let header: Vec<String> = std::iter::once("metric".to_string())
                .chain(variants.iter().map(|(_, f)| format!("{f}: mean [95% CI]")))
                .collect();
            let mut t = MdTable::new(header);
            for e in &extras {
                let mut row = vec![e.clone()];
                for (pre, _) in &variants {
                    row.push(cell(m, &format!("{pre}fm.{}.{e}", a.id())));
                }
                t.row(row);
            }
            md.push_str(&t.render());
        }
        // Charts.
        let charts = dir.join("charts");
        let cats: Vec<String> = self.params.attacks.iter().map(|a| a.id().to_string()).collect();
        let series: Vec<(String, Vec<Bar>)> = variants
            .iter()
            .map(|(pre, f)| {
                let bars = self.params.attacks.iter().map(|a| bar(m, &format!("{pre}fm.{}.success", a.id()), a.id()));
                (f.clone(), bars.collect())
            })
            .collect();
        BarPanel {
            title: match r.seeds.len() {
                n if n >= 2 => format!("Attack success probability (Wilson {})", ci_over(n)),
                n => format!("Attack success probability ({})", ci_over(n)),
            },
            y_label: "P(success)".into(),
            categories: cats,
            series: series.into_iter().map(|(name, bars)| BarSeries::new(&name, bars)).collect(),
            ..Default::default()
        }
        .write(&charts, "fm_success")?;
        self.detection_chart(dist, &charts, r.seeds.len())?;
        md.push_str("\nCharts: charts/fm_success.svg / .png, charts/fm_detection.svg / .png\n");
        Ok(())
    }

    /// Detection days as 30-day bins plus "never", one bar per attack.
    fn detection_chart(
        &self,
        dist: Option<&serde_json::Map<String, Value>>,
        charts: &Path,
        seeds: usize,
    ) -> anyhow::Result<()> {
        let mut per_attack: Vec<(Attack, BTreeMap<String, u64>)> = Vec::new();
        let mut max_day = 0i64;
        for &a in &self.params.attacks {
            let counts: BTreeMap<String, u64> = dist
                .and_then(|d| d.get(&format!("fm.{}.detection_day", a.id())))
                .and_then(|d| d.get("counts"))
                .and_then(Value::as_object)
                .map(|c| c.iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0))).collect())
                .unwrap_or_default();
            for k in counts.keys() {
                if let Ok(d) = k.parse::<i64>() {
                    max_day = max_day.max(d);
                }
            }
            per_attack.push((a, counts));
        }
        // "never" first (the legend sits top right), then 30-day bins from
        // the first observed one.
        let mut min_day = max_day;
        for (_, counts) in &per_attack {
            for k in counts.keys() {
                if let Ok(d) = k.parse::<i64>() {
                    min_day = min_day.min(d);
                }
            }
        }
        let (b0, b1) = (min_day / 30, max_day / 30);
        let nbins = (b1 - b0 + 1) as usize;
        let mut cats: Vec<String> = vec!["never".into()];
        cats.extend((b0..=b1).map(|b| format!("{}-{}", 30 * b, 30 * b + 29)));
        let series: Vec<(String, Vec<Bar>)> = per_attack
            .iter()
            .map(|(a, counts)| {
                let mut h = vec![0u64; nbins + 1];
                for (k, n) in counts {
                    match k.parse::<i64>() {
                        Ok(d) => h[1 + (d / 30 - b0) as usize] += n,
                        Err(_) => h[0] += n,
                    }
                }
                let bars = h.iter().zip(&cats).map(|(&n, c)| Bar::plain(c, n as f64 / seeds.max(1) as f64)).collect();
                (a.id().to_string(), bars)
            })
            .collect();
        BarPanel {
            title: format!(
                "Detection day ({} fidelity), share of {}",
                self.params.fidelity.name(),
                crate::report::chart::seeds(seeds)
            ),
            y_label: "share of seeds".into(),
            categories: cats,
            series: series.into_iter().map(|(name, bars)| BarSeries::new(&name, bars)).collect(),
            ..Default::default()
        }
        .write(charts, "fm_detection")
        .map(|_| ())
    }
}
