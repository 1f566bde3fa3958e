//! Per-seed metrics, findings, tables and series of the trust studies
//! (docs/models/trust.md, Metrics and Findings).

use super::config::{StudyKind, TdScenario};
use super::model::{Kind, Slot, TrustModel};
use super::scripts;
use crate::report::results::{FindingDef, SeedOutput, Table};
use crate::report::stats::mean;
use crate::trust::Ident;
use crate::trust::attacks::{self, Attack, AttackResult};
use std::collections::BTreeMap;

/// Findings of `trust_dynamics`.
pub const TD_FINDINGS: &[FindingDef] = &[
    FindingDef {
        id: "td.normal_operation.providers_above_consumers",
        claim: "every provider ends above every consumer",
    },
    FindingDef { id: "td.sybil_attack.penalized", claim: "mean sybil trust ends below mean honest trust" },
    FindingDef { id: "td.sybil_attack.all_flagged", claim: "every sybil gets cluster weight < 1" },
    FindingDef { id: "td.collusion_ring.victim_unharmed", claim: "victim trust at day 90 >= victim trust at day 60" },
    FindingDef { id: "td.long_con.trust_halved", claim: "trust after < half of trust before" },
    FindingDef {
        id: "td.new_entrant.newbie_below_established",
        claim: "after 60 days the newcomer is below the established mean",
    },
    FindingDef {
        id: "td.donation_bootstrapping.advantage_2x",
        claim: "the donating provider ends above twice the normal one",
    },
];

/// Findings of `failure_modes`.
pub const FM_FINDINGS: &[FindingDef] = &[
    FindingDef { id: "fm.long_con.prevented", claim: "the long con does not succeed" },
    FindingDef { id: "fm.laundering.prevented", claim: "reputation laundering does not succeed" },
    FindingDef { id: "fm.assassination.prevented", claim: "character assassination does not succeed" },
    FindingDef { id: "fm.authority.prevented", claim: "authority capture does not succeed" },
    FindingDef { id: "fm.degradation.prevented", claim: "slow degradation does not succeed" },
    FindingDef { id: "fm.sockpuppet.prevented", claim: "sockpuppet consensus does not succeed" },
    FindingDef { id: "fm.arbitrage.prevented", claim: "trust arbitrage does not succeed" },
    FindingDef { id: "fm.redemption.prevented", claim: "redemption exploitation does not succeed" },
    FindingDef { id: "fm.crisis.prevented", claim: "the manufactured crisis does not succeed" },
    FindingDef { id: "fm.long_con.clawback_bounded", claim: "clawed_back <= escrowed_total" },
    FindingDef {
        id: "fm.crisis.false_accuser_penalized",
        claim: "at the end, the attacker has P > 0 or an effective system penalty",
    },
];

/// Roles of each trust-dynamics scenario: (role, identity indices).
pub fn roles(s: TdScenario) -> Vec<(&'static str, Vec<u32>)> {
    match s {
        TdScenario::NormalOperation => vec![("provider", vec![0, 1, 2]), ("consumer", vec![3, 4])],
        TdScenario::SybilAttack => vec![("honest", vec![0, 1]), ("sybil", (2..7).collect()), ("consumer", vec![7])],
        TdScenario::CollusionRing => {
            vec![("victim", vec![0]), ("colluder", vec![1, 2, 3]), ("consumer", vec![4, 5])]
        }
        TdScenario::LongCon => vec![("attacker", vec![0]), ("honest", vec![1]), ("consumer", vec![2, 3])],
        TdScenario::NewEntrant => vec![("established", vec![0, 1]), ("consumer", vec![2, 3]), ("newbie", vec![4])],
        TdScenario::DonationBootstrapping => {
            vec![("normal", vec![0]), ("donation", vec![1]), ("consumer", vec![2]), ("research_org", vec![3])]
        }
    }
}

/// Phase boundaries (days) drawn on the trust charts.
pub fn phase_days(s: TdScenario) -> Vec<u32> {
    match s {
        TdScenario::CollusionRing => vec![60],
        TdScenario::LongCon | TdScenario::NewEntrant => vec![180],
        _ => vec![],
    }
}

/// Names of the extra per-attack metrics, in table order.
pub fn attack_extras(a: Attack, cycles: u32) -> Vec<String> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    match a {
        Attack::LongCon => s(&[
            "trust_before",
            "trust_after",
            "escrow_delay",
            "revenue_immediate",
            "escrowed_total",
            "clawed_back",
            "final_revenue",
        ]),
        Attack::Laundering => s(&["v1_peak", "v1_after", "v2_trust", "transferred", "received", "burned"]),
        Attack::Assassination => s(&["victim_before", "victim_after", "accusations_attempted", "accusations_accepted"]),
        Attack::Authority => s(&[
            "authority_before",
            "authority_after",
            "target_boost",
            "competitor_damage",
            "endorsements_accepted",
            "smears_accepted",
        ]),
        Attack::Degradation => s(&["peak", "final", "accusations_accepted", "phases_before_detection"]),
        Attack::Sockpuppet => s(&["target_boost", "competitor_damage", "socks_flagged"]),
        Attack::Arbitrage => s(&[
            "global_before",
            "global_after",
            "local_a",
            "local_b",
            "jobs_accepted",
            "jobs_rejected",
            "local_b_after",
        ]),
        Attack::Redemption => {
            let mut v: Vec<String> = (1..=cycles).map(|k| format!("peak_{k}")).collect();
            v.extend(s(&["final", "extracted"]));
            v
        }
        Attack::Crisis => {
            s(&["attacker_gain", "victim_loss", "accusations_accepted", "accusations_rejected", "resolved"])
        }
    }
}

fn share(s: &Slot, t: f64) -> f64 {
    s.engine.payment_share(t)
}

fn avg(s: &Slot, cp: usize, ids: &[u32]) -> f64 {
    let v: Vec<f64> = ids.iter().map(|&i| s.t(cp, i)).collect();
    mean(&v).unwrap_or(f64::NAN)
}

/// One trust-dynamics scenario's metrics and findings (prefix `td.<id>.`).
fn td_metrics(sc: TdScenario, s: &Slot, pre: &str, out: &mut SeedOutput, findings: bool) {
    let k = |x: &str| format!("{pre}td.{}.{x}", sc.id());
    let mut finding = |id: &str, v: Option<bool>| {
        if findings {
            out.finding(format!("td.{}.{id}", sc.id()), v);
        }
    };
    let mut ms: Vec<(String, f64)> = Vec::new();
    let mut bins: Vec<(String, bool)> = Vec::new();
    match sc {
        TdScenario::NormalOperation => {
            let prov: Vec<f64> = (0..3).map(|i| s.t(0, i)).collect();
            let cons: Vec<f64> = (3..5).map(|i| s.t(0, i)).collect();
            let pmin = prov.iter().copied().fold(f64::INFINITY, f64::min);
            let cmax = cons.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            ms.push((k("provider_trust_mean"), mean(&prov).unwrap_or(f64::NAN)));
            ms.push((k("provider_trust_min"), pmin));
            ms.push((k("consumer_trust"), mean(&cons).unwrap_or(f64::NAN)));
            let shares: Vec<f64> = prov.iter().map(|&t| share(s, t)).collect();
            ms.push((k("provider_payment_share_mean"), mean(&shares).unwrap_or(f64::NAN)));
            finding("providers_above_consumers", s.records.first().map(|_| pmin > cmax));
        }
        TdScenario::SybilAttack => {
            let honest = avg(s, 0, &[0, 1]);
            let sybils: Vec<u32> = (2..7).collect();
            let sybil = avg(s, 0, &sybils);
            let w: Vec<f64> =
                sybils.iter().map(|&i| s.records.first().map_or(f64::NAN, |r| r.weight[i as usize])).collect();
            ms.push((k("honest_trust_mean"), honest));
            ms.push((k("sybil_trust_mean"), sybil));
            bins.push((k("penalized"), sybil < honest));
            ms.push((k("sybils_flagged"), w.iter().filter(|&&x| x < 1.0).count() as f64));
            ms.push((k("sybil_cluster_weight_mean"), mean(&w).unwrap_or(f64::NAN)));
            finding("penalized", Some(sybil < honest));
            finding("all_flagged", Some(w.iter().all(|&x| x < 1.0)));
        }
        TdScenario::CollusionRing => {
            let (d60, d90) = (s.t(0, 0), s.t(1, 0));
            ms.push((k("victim_trust_d60"), d60));
            ms.push((k("victim_trust_d90"), d90));
            ms.push((k("colluder_trust_mean_d90"), avg(s, 1, &[1, 2, 3])));
            ms.push((k("accusations_attempted"), f64::from(s.book.attempted)));
            ms.push((k("accusations_accepted"), f64::from(s.book.accepted)));
            finding("victim_unharmed", (d60.is_finite() && d90.is_finite()).then_some(d90 >= d60));
        }
        TdScenario::LongCon => {
            let (b, a) = (s.t(0, 0), s.t(1, 0));
            ms.push((k("trust_before"), b));
            ms.push((k("trust_after"), a));
            ms.push((k("trust_lost"), b - a));
            ms.push((k("payment_share_before"), share(s, b)));
            ms.push((k("payment_share_after"), share(s, a)));
            bins.push((k("after_zero"), a == 0.0));
            ms.push((k("complaints_accepted"), f64::from(s.book.accepted)));
            finding("trust_halved", (a.is_finite() && b.is_finite()).then_some(a < 0.5 * b));
        }
        TdScenario::NewEntrant => {
            let newbie = s.t(1, 4);
            let e240 = avg(s, 1, &[0, 1]);
            ms.push((k("newbie_trust"), newbie));
            ms.push((k("established_trust_mean_d180"), avg(s, 0, &[0, 1])));
            ms.push((k("established_trust_mean_d240"), e240));
            ms.push((k("newbie_payment_share"), share(s, newbie)));
            ms.push((k("established_payment_share"), share(s, e240)));
            finding("newbie_below_established", (newbie.is_finite() && e240.is_finite()).then_some(newbie < e240));
        }
        TdScenario::DonationBootstrapping => {
            let (n, d) = (s.t(0, 0), s.t(0, 1));
            ms.push((k("normal_trust"), n));
            ms.push((k("donation_trust"), d));
            ms.push((k("ratio"), if n == 0.0 { f64::NAN } else { d / n }));
            ms.push((k("normal_payment_share"), share(s, n)));
            ms.push((k("donation_payment_share"), share(s, d)));
            finding("advantage_2x", (n.is_finite() && d.is_finite()).then_some(d > 2.0 * n));
        }
    }
    for (key, v) in ms {
        out.put(key, v);
    }
    for (key, v) in bins {
        out.bit(key, Some(v));
    }
    let st = s.engine.stats();
    out.put(k("solver_iterations_max"), f64::from(st.max_iterations));
    out.put(k("solver_nonconverged"), st.nonconverged as f64);
}

/// An attack's result in its slot's mode, with its extras, and whether the
/// finding-level facts hold.
pub struct AttackOutcome {
    /// The attack's result (profit, damages, success, detection, recovery).
    pub result: AttackResult,
    /// Extra metrics (name, value).
    pub extras: Vec<(String, f64)>,
    /// Long Con: (clawed back, escrowed total).
    pub clawback: Option<(f64, f64)>,
    /// Crisis: the attacker has P > 0 or an effective system penalty.
    pub accuser_penalized: Option<bool>,
    /// Which detector fired first (measured detection).
    pub detected_by: Option<String>,
}

/// Compute an attack's outcome from a finished slot.
pub fn attack_outcome(a: Attack, s: &Slot) -> AttackOutcome {
    let f = scripts::facts(a, &s.ap);
    let t = |k: usize, i: u32| s.t(k, i);
    let b = &s.book;
    let last = s.records.len().saturating_sub(1);
    let mut clawback = None;
    let mut penalized = None;
    let x = |v: &[(&str, f64)]| v.iter().map(|(n, x)| (n.to_string(), *x)).collect::<Vec<_>>();
    let (mut result, extras) = match a {
        Attack::LongCon => {
            let (before, after) = (t(0, 0), t(1, 0));
            let consumers: f64 = (2..5).map(|i| t(1, i)).sum();
            let (immediate, escrowed_total, clawed, final_rev) = if s.sw.clawback_once {
                let held: f64 = b.held.iter().map(|h| h.amount).sum();
                let clawed: f64 = b.held.iter().filter(|h| h.clawed).map(|h| h.amount).sum();
                (b.immediate, held, clawed, b.immediate + held - clawed)
            } else {
                (b.escrow.immediate, b.escrow.escrowed_total, b.escrow.clawed, b.escrow.final_revenue())
            };
            clawback = Some((clawed, escrowed_total));
            (
                attacks::long_con(final_rev, before, after, consumers, s.ap.build_days),
                x(&[
                    ("trust_before", before),
                    ("trust_after", after),
                    ("escrow_delay", b.delay_before),
                    ("revenue_immediate", immediate),
                    ("escrowed_total", escrowed_total),
                    ("clawed_back", clawed),
                    ("final_revenue", final_rev),
                ]),
            )
        }
        Attack::Laundering => {
            let (amount, received, burned) = b.transfer;
            let (peak, after, v2) = (t(0, 0), t(1, 0), t(2, 5));
            (
                attacks::laundering(peak, after, v2, amount, received, burned),
                x(&[
                    ("v1_peak", peak),
                    ("v1_after", after),
                    ("v2_trust", v2),
                    ("transferred", amount),
                    ("received", received),
                    ("burned", burned),
                ]),
            )
        }
        Attack::Assassination => {
            let ad: f64 = f.attackers.iter().map(|&i| t(0, i) - t(1, i)).sum();
            (
                attacks::assassination(t(0, 0), t(1, 0), ad),
                x(&[
                    ("victim_before", t(0, 0)),
                    ("victim_after", t(1, 0)),
                    ("accusations_attempted", f64::from(b.attempted)),
                    ("accusations_accepted", f64::from(b.accepted)),
                ]),
            )
        }
        Attack::Authority => {
            let r = attacks::authority((t(0, 0), t(1, 0)), (t(0, 1), t(1, 1)), (t(0, 2), t(1, 2)));
            (
                r,
                x(&[
                    ("authority_before", t(0, 0)),
                    ("authority_after", t(1, 0)),
                    ("target_boost", t(1, 1) - t(0, 1)),
                    ("competitor_damage", t(0, 2) - t(1, 2)),
                    ("endorsements_accepted", f64::from(b.accepted)),
                    ("smears_accepted", f64::from(b.accepted2)),
                ]),
            )
        }
        Attack::Degradation => {
            let r = attacks::degradation(t(0, 0), t(last, 0), b.phase, 6);
            (
                r,
                x(&[
                    ("peak", t(0, 0)),
                    ("final", t(last, 0)),
                    ("accusations_accepted", f64::from(b.accepted)),
                    ("phases_before_detection", f64::from(b.phase.unwrap_or(6))),
                ]),
            )
        }
        Attack::Sockpuppet => {
            let n = s.ap.socks;
            let (target, comp) = (n + 1, n + 2);
            let flagged = b.flagged.unwrap_or(0);
            let r = attacks::sockpuppet((t(0, target), t(1, target)), (t(0, comp), t(1, comp)), flagged, n);
            (
                r,
                x(&[
                    ("target_boost", t(1, target) - t(0, target)),
                    ("competitor_damage", t(0, comp) - t(1, comp)),
                    ("socks_flagged", f64::from(flagged)),
                ]),
            )
        }
        Attack::Arbitrage => {
            let (g, ga) = (t(0, 6), t(1, 6));
            (
                attacks::arbitrage(g, ga, b.profit, b.jobs.0),
                x(&[
                    ("global_before", g),
                    ("global_after", ga),
                    ("local_a", b.local[0]),
                    ("local_b", b.local[1]),
                    ("jobs_accepted", f64::from(b.jobs.0)),
                    ("jobs_rejected", f64::from(b.jobs.1)),
                    ("local_b_after", b.local[2]),
                ]),
            )
        }
        Attack::Redemption => {
            let cycles = s.ap.cycles as usize;
            let peaks: Vec<f64> = (0..cycles).map(|c| t(2 * c, 0)).collect();
            let fin = t(2 * cycles, 0);
            let mut e: Vec<(String, f64)> =
                peaks.iter().enumerate().map(|(k, &p)| (format!("peak_{}", k + 1), p)).collect();
            e.push(("final".into(), fin));
            e.push(("extracted".into(), b.profit));
            (attacks::redemption(&peaks, fin, b.profit), e)
        }
        Attack::Crisis => {
            let gain = t(2, 0) - t(0, 0);
            let loss = t(0, 1) - t(2, 1);
            penalized = Some(s.engine.penalty(Ident(0)) > 0.0 || s.engine.has_system_penalty(Ident(0)));
            (
                attacks::crisis((t(0, 0), t(2, 0)), (t(0, 1), t(2, 1))),
                x(&[
                    ("attacker_gain", gain),
                    ("victim_loss", loss),
                    ("accusations_accepted", f64::from(b.accepted)),
                    ("accusations_rejected", f64::from(b.rejected)),
                    ("resolved", if b.resolved { 1.0 } else { 0.0 }),
                ]),
            )
        }
    };
    if s.sw.measured {
        result.detection_day = s.detect.day.map_or(-1, i64::from);
        result.recovery_days = match (a.has_victim(), s.detect.below, s.detect.recovered) {
            (false, _, _) => -1,
            (true, None, _) => 0,
            (true, Some(_), Some(d)) => i64::from(d) - i64::from(f.d0),
            (true, Some(_), None) => -1,
        };
        if a == Attack::Degradation {
            let d = result.detection_day;
            result.success = d == -1 || d >= 181;
            result.attacker_profit = if d >= 0 { (d - 91) as f64 } else { 180.0 };
        }
    }
    AttackOutcome {
        result,
        extras,
        clawback,
        accuser_penalized: penalized,
        detected_by: if s.sw.measured { s.detect.by.clone() } else { None },
    }
}

fn fm_metrics(
    a: Attack,
    s: &Slot,
    pre: &str,
    out: &mut SeedOutput,
    findings: bool,
    dist: &mut BTreeMap<String, Vec<f64>>,
) {
    let k = |x: &str| format!("{pre}fm.{}.{x}", a.id());
    let o = attack_outcome(a, s);
    let r = o.result;
    out.bit(k("success"), Some(r.success));
    out.put(k("attacker_profit"), r.attacker_profit);
    out.put(k("victim_damage"), r.victim_damage);
    out.put(k("network_damage"), r.network_damage);
    out.bit(k("detected"), Some(r.detection_day >= 0));
    out.set(k("detection_day"), (r.detection_day >= 0).then_some(r.detection_day as f64));
    dist.insert(k("detection_day"), vec![r.detection_day as f64]);
    if a.has_victim() {
        out.bit(k("recovered"), Some(r.recovery_days >= 0));
        out.set(k("recovery_days"), (r.recovery_days >= 0).then_some(r.recovery_days as f64));
        dist.insert(k("recovery_days"), vec![r.recovery_days as f64]);
    }
    let st = s.engine.stats();
    out.put(k("solver_iterations_max"), f64::from(st.max_iterations));
    out.put(k("solver_nonconverged"), st.nonconverged as f64);
    for (n, v) in &o.extras {
        out.put(k(n), *v);
    }
    if findings {
        out.finding(format!("fm.{}.prevented", a.id()), Some(!r.success));
        if let Some((clawed, total)) = o.clawback {
            out.finding("fm.long_con.clawback_bounded", Some(clawed <= total));
        }
        if let Some(p) = o.accuser_penalized {
            out.finding("fm.crisis.false_accuser_penalized", Some(p));
        }
    }
}

/// Header of `fm_runs.csv`.
pub fn fm_runs_header(model: &TrustModel) -> Vec<String> {
    let mut h: Vec<String> = [
        "seed",
        "fidelity",
        "attack",
        "success",
        "attacker_profit",
        "victim_damage",
        "network_damage",
        "detection_day",
        "recovery_days",
        "detected_by",
        "solver_iterations_max",
        "solver_nonconverged",
    ]
    .map(String::from)
    .to_vec();
    for a in Attack::ALL {
        for e in attack_extras(a, model.params.attack.cycles) {
            if !h.contains(&e) {
                h.push(e);
            }
        }
    }
    h
}

/// Metrics, findings, tables and series of one finished run.
pub fn seed_output(model: &TrustModel, seed: u64) -> SeedOutput {
    let mut out = SeedOutput::new(seed);
    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    let mut series: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let variants = model.params.variants();
    let fm_header = fm_runs_header(model);
    let mut fm_rows = Vec::new();
    for s in &model.slots {
        let (pre, fid, _) = &variants[s.variant as usize];
        let primary = s.variant == 0;
        match s.kind {
            Kind::Td(sc) => {
                td_metrics(sc, s, pre, &mut out, primary);
                td_series(sc, s, pre, &mut series);
                let name = if primary {
                    format!("td_{}_trajectories.csv", sc.id())
                } else {
                    format!("td_{}_trajectories_{}.csv", sc.id(), fid.name())
                };
                let mut rows = Vec::new();
                for p in &s.trajectory {
                    for (i, (&t, &w)) in p.trust.iter().zip(&p.weight).enumerate() {
                        rows.push(vec![
                            seed.to_string(),
                            p.day.to_string(),
                            s.engine.name(Ident(i as u32)).to_string(),
                            t.to_string(),
                            w.to_string(),
                        ]);
                    }
                }
                tables.insert(
                    name,
                    Table {
                        header: ["seed", "day", "identity", "trust", "cluster_weight"].map(String::from).to_vec(),
                        rows,
                    },
                );
            }
            Kind::Fm(a) => {
                fm_metrics(a, s, pre, &mut out, primary, &mut series);
                let o = attack_outcome(a, s);
                let r = o.result;
                let st = s.engine.stats();
                let mut row = vec![String::new(); fm_header.len()];
                let fixed = [
                    seed.to_string(),
                    fid.name().to_string(),
                    a.id().to_string(),
                    u8::from(r.success).to_string(),
                    r.attacker_profit.to_string(),
                    r.victim_damage.to_string(),
                    r.network_damage.to_string(),
                    r.detection_day.to_string(),
                    r.recovery_days.to_string(),
                    o.detected_by.clone().unwrap_or_default(),
                    st.max_iterations.to_string(),
                    st.nonconverged.to_string(),
                ];
                for (i, v) in fixed.into_iter().enumerate() {
                    row[i] = v;
                }
                for (n, v) in &o.extras {
                    if let Some(i) = fm_header.iter().position(|h| h == n) {
                        row[i] = v.to_string();
                    }
                }
                fm_rows.push(row);
            }
        }
    }
    if model.params.study == StudyKind::FailureModes {
        tables.insert("fm_runs.csv".into(), Table { header: fm_header, rows: fm_rows });
    }
    out.tables = tables;
    out.series = series;
    out.mark_non_negative(NON_NEGATIVE);
    out
}

/// Metrics that cannot be negative: every trust level, payment share,
/// count, day and amount, that is all but the signed profits, gains, boosts,
/// losses and damages of the failure modes. Their intervals stop at zero.
pub const NON_NEGATIVE: &[&str] = &[
    "**.td.**",
    "**.fm.**",
    "!**.fm.*.attacker_*",
    "!**.fm.*.*_damage",
    "!**.fm.*.target_boost",
    "!**.fm.*.victim_loss",
];

/// Daily series for the charts: each identity's trust
/// (`<pre>td.<id>.id.<name>`) and each role's mean (`<pre>td.<id>.role.<role>`),
/// indexed by day, NaN on days without a solve.
fn td_series(sc: TdScenario, s: &Slot, pre: &str, series: &mut BTreeMap<String, Vec<f64>>) {
    let days = s.last_day as usize + 1;
    let n = s.engine.len();
    let mut per_id = vec![vec![f64::NAN; days]; n];
    for p in &s.trajectory {
        for (i, &t) in p.trust.iter().enumerate() {
            per_id[i][p.day as usize] = t;
        }
    }
    for (role, ids) in roles(sc) {
        let v: Vec<f64> = (0..days)
            .map(|d| {
                let xs: Vec<f64> = ids
                    .iter()
                    .filter_map(|&i| per_id.get(i as usize))
                    .map(|v| v[d])
                    .filter(|x| x.is_finite())
                    .collect();
                if xs.len() == ids.len() { mean(&xs).unwrap_or(f64::NAN) } else { f64::NAN }
            })
            .collect();
        series.insert(format!("{pre}td.{}.role.{role}", sc.id()), v);
    }
    for (i, v) in per_id.into_iter().enumerate() {
        series.insert(format!("{pre}td.{}.id.{i:03}.{}", sc.id(), s.engine.name(Ident(i as u32))), v);
    }
}
