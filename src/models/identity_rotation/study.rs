//! The identity-rotation study as a `Study`: runs, printed summary and the
//! puppet trust and wealth chart.

use super::config::{Params, Switches, resolve};
use super::metrics::{FINDINGS, SCENARIOS, seed_output};
use super::model::IdentityRotation;
use crate::engine::SimTime;
use crate::ledger::LedgerError;
use crate::report::chart::{Chart, Corner, GridPanel, Guide, Line, LineGrid, Panel};
use crate::report::markdown::{MdTable, findings_table, fmt_ci};
use crate::report::results::{FindingDef, MetricResult, Results, SeedOutput};
use crate::study::{Common, Footprint, Scenario, ScenarioError, StudyDef, StudyModel, StudyOf};
use std::collections::BTreeMap;
use std::path::Path;

impl StudyModel for IdentityRotation {
    const EVENT_KINDS: &'static [&'static str] = super::EVENT_KINDS;
    fn seed_output(&self, seed: u64) -> SeedOutput {
        seed_output(self, seed)
    }
    fn fresh_run(run: &crate::study::Run<Self>) -> Result<crate::study::Run<Self>, String> {
        super::model::fresh_run(run)
    }
}

/// The identity-rotation study.
pub struct IdentityRotationDef;

/// The identity-rotation study bound to its scenario.
pub type IdentityRotationStudy = StudyOf<IdentityRotationDef>;

/// Memory of a run. Scale run: the accounts, the transfers of the detector's
/// window (spread evenly over the days; all assumed applied) with the
/// detector's working graph, and the pending detection events (measured:
/// 10^6 accounts with 0.9 or 6.2 million window edges peak at 146 and 504
/// MB; this estimate is 1.2 to 1.5 times that). Scripted runs: every scripted event
/// upfront in the queue, and per event of the attack lanes a trajectory row
/// (kept, then written to `trajectory.csv`); per transfer a receipt.
pub fn footprint(p: &Params) -> Footprint {
    if let Some(sc) = &p.scale {
        let accounts = sc.accounts as f64;
        let window = p.detector().window_days as f64;
        let edges = sc.transfers as f64 * (window / sc.days.max(1) as f64).min(1.0);
        let detects = sc.detect_every_days.map_or(0.0, |e| sc.days as f64 / e.max(1) as f64);
        let per_run = accounts * 96.0 + edges * 72.0 + detects * 64.0 + 16.0 * 1024.0 * 1024.0;
        return Footprint::new(per_run, 64.0 * 1024.0)
            .driver("scale.accounts", sc.accounts)
            .driver("scale.transfers", sc.transfers);
    }
    let o = &p.one_puppet;
    let t = &p.three_puppets;
    let puppets = t.puppets as f64;
    let one = o.months as f64 + 5.0;
    let three = t.months as f64 * puppets + 3.0 * puppets + 3.0;
    // Undefended and defended, plus the four ablation variants of each.
    let lanes = if p.ablation { 5.0 } else { 1.0 };
    let rows = 2.0 * lanes * (one + three);
    let chunks = if p.probes { (p.split.total.0 / p.split.chunk.0.max(1)) as f64 } else { 0.0 };
    let receipts = 2.0 * lanes * (1.0 + 2.0 * puppets) + chunks + 8.0;
    // Measured (`/usr/bin/time`, one seed, 10^5 to 10^7 rows): a trajectory
    // row is about 120 bytes kept and 19 CSV cells (~810 bytes); a receipt
    // about 220 bytes kept with its event and 23 CSV cells (~1.5 KiB).
    let output = rows * (19.0 * 40.0 + 48.0) + receipts * (23.0 * 64.0 + 48.0) + 256.0 * 1024.0;
    let per_run = rows * 120.0 + receipts * 320.0 + output;
    Footprint::new(per_run, output)
        .driver("one_puppet.months", o.months)
        .driver("three_puppets.months", t.months)
        .driver("three_puppets.puppets", t.puppets)
        .driver("split.total / split.chunk", chunks)
}

impl StudyDef for IdentityRotationDef {
    const IDS: &'static [&'static str] = &["identity_rotation"];
    type Params = Params;
    type Model = IdentityRotation;

    fn resolve(scenario: &Scenario) -> Result<Params, ScenarioError> {
        resolve(scenario)
    }
    fn common(p: &Params) -> Common {
        Common { fidelity: p.fidelity, seed_base: p.seed_base, seeds: p.seeds, verdict: p.verdict }
    }
    fn model(p: &Params) -> IdentityRotation {
        IdentityRotation::new(p.clone())
    }
    fn horizon(p: &Params) -> SimTime {
        match &p.scale {
            Some(s) => SimTime(s.days as u64 * crate::engine::TICKS_PER_DAY),
            None => SimTime(super::model::scripted_last_day(p) * crate::engine::TICKS_PER_DAY),
        }
    }
    fn settings(p: &Params) -> serde_json::Map<String, serde_json::Value> {
        p.settings()
    }
    fn findings(_: &Params) -> &'static [FindingDef] {
        FINDINGS
    }
    fn footprint(p: &Params) -> Footprint {
        footprint(p)
    }
    fn report(
        study: &IdentityRotationStudy,
        results: &Results,
        outputs: &[SeedOutput],
        dir: &Path,
    ) -> anyhow::Result<String> {
        let mut md = String::new();
        if study.params.scale.is_some() {
            scale_report(results, &mut md);
        } else {
            scripted_report(&study.params, results, &mut md);
            if let Some(first) = outputs.first() {
                chart(&study.params, first, &dir.join("charts"))?;
                md.push_str("\nChart: charts/identity_rotation.svg / charts/identity_rotation.png\n");
            }
        }
        md.push_str("\n## Findings\n\n");
        md.push_str(&findings_table(&results.findings));
        Ok(md)
    }
}

fn mean(m: &BTreeMap<String, MetricResult>, k: &str) -> Option<f64> {
    m.get(k).and_then(|x| x.mean)
}

/// A value to six decimals with trailing zeros dropped (`results.json` keeps
/// the exact f64), `n/a` if undefined.
fn val(m: &BTreeMap<String, MetricResult>, k: &str) -> String {
    mean(m, k).map(short).unwrap_or_else(|| "n/a".into())
}

fn short(x: f64) -> String {
    let s = format!("{x:.6}");
    let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.') } else { &s };
    if s == "-0" { "0".into() } else { s.to_string() }
}

/// Money in OMC with six decimals (the exact µOMC).
fn money(m: &BTreeMap<String, MetricResult>, k: &str) -> String {
    mean(m, k).map(|x| format!("{x:.6}")).unwrap_or_else(|| "n/a".into())
}

fn yes_no(m: &BTreeMap<String, MetricResult>, k: &str) -> String {
    match mean(m, k) {
        Some(1.0) => "yes".into(),
        Some(0.0) => "no".into(),
        Some(x) => format!("{:.0}% of seeds", 100.0 * x),
        None => "n/a".into(),
    }
}

fn scripted_report(p: &Params, r: &Results, md: &mut String) {
    let m = &r.metrics;
    md.push_str(
        "\nThe scripted runs draw no random numbers: every seed gives the same values, shown once.\n\n## Scripted attacks\n\n",
    );
    let mut t = MdTable::new([
        "run",
        "wealth preserved (OMC)",
        "burned: trust / amount (OMC)",
        "puppets hold (OMC)",
        "puppet trust before",
        "puppet trust final",
        "spotlight line",
        "evaded",
        "max ratio",
        "max penalty",
        "rejected",
    ]);
    for s in SCENARIOS {
        for d in ["undefended", "defended"] {
            let k = |x: &str| format!("{s}.{d}.{x}");
            let line = mean(m, &k("w_effective_trust")).map(|w| short(p.spotlight_factor * w));
            t.row([
                format!("{s} {d}"),
                money(m, &k("wealth_preserved")),
                format!("{} / {}", money(m, &k("burned_trust")), money(m, &k("burned_amount"))),
                money(m, &k("puppet_balance_final")),
                val(m, &k("puppet_trust_before")),
                val(m, &k("puppet_trust_final")),
                line.unwrap_or_else(|| "n/a".into()),
                yes_no(m, &k("evaded")),
                val(m, &k("circular_ratio_max")),
                val(m, &k("circular_penalty_max")),
                val(m, &k("transfers_rejected")),
            ]);
        }
    }
    md.push_str(&t.render());
    md.push_str(&format!(
        "\nTrust reduction by the defences (1 - defended/undefended puppet trust): one puppet {}, three puppets {}.\n",
        val(m, "one_puppet.trust_reduction"),
        val(m, "three_puppets.trust_reduction")
    ));

    if p.ablation {
        md.push_str("\n## Ablation: each defence alone (with the trust burn), and all off\n\n");
        let mut t = MdTable::new([
            "variant",
            "scenario",
            "wealth preserved (OMC)",
            "wealth cost (points of W's balance)",
            "puppet trust final",
            "evaded",
        ]);
        for (v, _) in Switches::ABLATION {
            for s in SCENARIOS {
                let k = |x: &str| format!("ablation.{v}.{s}.{x}");
                let cost = mean(m, &k("wealth_cost_points")).map(|x| format!("{x:.4}")).unwrap_or_else(|| "n/a".into());
                t.row([
                    v.to_string(),
                    s.to_string(),
                    money(m, &k("wealth_preserved")),
                    cost,
                    val(m, &k("puppet_trust_final")),
                    yes_no(m, &k("evaded")),
                ]);
            }
        }
        md.push_str(&t.render());
    }

    if p.probes {
        md.push_str("\n## Probes (defended switches, fresh ledger at day 0)\n\n");
        let mut t = MdTable::new(["order dependence", "P's trust", "P's balance (OMC)"]);
        for (k, label) in [("a_first", "A then B"), ("b_first", "B then A")] {
            t.row([
                label.to_string(),
                val(m, &format!("order_dependence.{k}.trust")),
                money(m, &format!("order_dependence.{k}.balance")),
            ]);
        }
        md.push_str(&t.render());
        md.push('\n');
        let mut t = MdTable::new(["dust poisoning", "value"]);
        t.row(["S sends (OMC)".to_string(), format!("{:.6}", p.dust.amount.omc())]);
        t.row(["T receives (OMC)".to_string(), money(m, "weakness.dust.received")]);
        t.row(["rho".to_string(), val(m, "weakness.dust.rho")]);
        t.row(["S's trust".to_string(), val(m, "weakness.dust.sender_trust")]);
        t.row([
            "T's trust before -> after".to_string(),
            format!(
                "{} -> {}",
                val(m, "weakness.dust.target_trust_before"),
                val(m, "weakness.dust.target_trust_after")
            ),
        ]);
        md.push_str(&t.render());
        md.push('\n');
        let chunks = p.split.total.0 / p.split.chunk.0;
        let mut t = MdTable::new(["splitting", "received (OMC)", "amount burn (OMC)"]);
        t.row([
            format!("one transfer of {:.6} OMC", p.split.total.omc()),
            money(m, "weakness.split.received_single"),
            money(m, "weakness.split.amount_burn_single"),
        ]);
        t.row([
            format!("{chunks} chunks of {:.6} OMC", p.split.chunk.omc()),
            money(m, "weakness.split.received_split"),
            money(m, "weakness.split.amount_burn_split"),
        ]);
        md.push_str(&t.render());
        md.push_str(&format!(
            "\nReceiver's trust after the chunks: {} (from {}).\n",
            val(m, "weakness.split.receiver_trust_after_split"),
            p.split.target_trust
        ));
    }
}

fn scale_report(r: &Results, md: &mut String) {
    let m = &r.metrics;
    md.push_str("\n## Scale run\n\n");
    let mut t = MdTable::new(["metric", "mean [95% CI]"]);
    let mut keys: Vec<String> = ["scale.requests", "scale.transfers_applied"].map(String::from).to_vec();
    keys.extend(LedgerError::REASONS.iter().map(|x| format!("scale.transfers_rejected.{x}")));
    keys.extend(
        [
            "scale.minted",
            "scale.burned",
            "scale.window_edges",
            "scale.flagged_accounts",
            "scale.conservation_ok",
            "scale.transfers_per_second",
            "scale.detect_seconds",
        ]
        .map(String::from),
    );
    for k in keys {
        let d = if k.ends_with("seconds") { 3 } else { 0 };
        let d = if k.ends_with("conservation_ok") { 2 } else { d };
        t.row([k.clone(), m.get(&k).map(|x| fmt_ci(x, d)).unwrap_or_else(|| "n/a".into())]);
    }
    md.push_str(&t.render());
    md.push_str(
        "\n`scale.transfers_per_second` (requests handled per second of wall time in the transfer phase) and \
         `scale.detect_seconds` (wall time of the final detection) are measurements of this machine, not \
         model results.\n",
    );
}

fn chart(p: &Params, first: &SeedOutput, dir: &Path) -> anyhow::Result<()> {
    let line = |key: &str, name: &str| Line {
        name: name.to_string(),
        points: first
            .series
            .get(key)
            .map(|v| v.iter().enumerate().map(|(i, &y)| ((i + 1) as f64, y)).collect())
            .unwrap_or_default(),
        band: None,
        thin: false,
    };
    let mut top = Vec::new();
    let mut bottom = Vec::new();
    for (s, title, w_trust) in [
        ("one_puppet", "One puppet", p.one_puppet.w_trust),
        ("three_puppets", "Three puppets", p.three_puppets.w_trust),
    ] {
        let spot = p.spotlight_factor * w_trust;
        top.push(GridPanel {
            panel: Panel {
                title: format!("{title}: best puppet's effective trust"),
                x_label: "step".into(),
                y_label: "trust".into(),
                lines: vec![
                    line(&format!("{s}.undefended.puppet_trust_effective"), "undefended"),
                    line(&format!("{s}.defended.puppet_trust_effective"), "defended"),
                ],
            },
            guides: vec![Guide { name: format!("spotlight: {} x W's trust", p.spotlight_factor), y: spot }],
            legend: Corner::UpperLeft,
        });
        bottom.push(GridPanel {
            panel: Panel {
                title: format!("{title}: wealth and puppets' balance"),
                x_label: "step".into(),
                y_label: "OMC".into(),
                lines: vec![
                    line(&format!("{s}.undefended.wealth"), "wealth, undefended"),
                    line(&format!("{s}.defended.wealth"), "wealth, defended"),
                    line(&format!("{s}.undefended.puppets_balance"), "puppets, undefended"),
                    line(&format!("{s}.defended.puppets_balance"), "puppets, defended"),
                ],
            },
            guides: Vec::new(),
            legend: Corner::MiddleLeft,
        });
    }
    let panels: Vec<GridPanel> = top.into_iter().chain(bottom).collect();
    LineGrid { title: "Identity rotation: puppet trust and wealth by step".into(), cols: 2, panels }
        .write(dir, "identity_rotation")
        .map(|_| ())
}
