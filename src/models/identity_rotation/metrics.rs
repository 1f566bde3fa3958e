//! Per-seed metrics, findings and tables of the identity-rotation study
//! (docs/models/identity_rotation.md, Metrics and Findings).

use super::model::{IdentityRotation, Lane, Script, rejection_reasons};
use crate::ledger::{AccountId, Micro, Receipt};
use crate::report::results::{FindingDef, SeedOutput, Table};
use std::collections::BTreeMap;

/// The two attack scenarios, as metric prefixes.
pub const SCENARIOS: [&str; 2] = ["one_puppet", "three_puppets"];

/// The study's findings, in report order.
pub const FINDINGS: &[FindingDef] = &[
    FindingDef {
        id: "identity_rotation.undefended_evades",
        claim: "without defences the attacker escapes the spotlight",
    },
    FindingDef {
        id: "identity_rotation.spotlight_follows_money",
        claim: "with all defences no funded puppet escapes the spotlight",
    },
    FindingDef { id: "identity_rotation.trust_not_bought", claim: "no transfer raised anyone's trust" },
    FindingDef {
        id: "identity_rotation.inheritance_alone_suffices",
        claim: "trust inheritance alone stops the evasion",
    },
    FindingDef {
        id: "identity_rotation.amount_burn_alone_insufficient",
        claim: "the amount burn costs wealth but does not stop evasion",
    },
    FindingDef {
        id: "identity_rotation.circular_flow_silent",
        claim: "with all defences on, the circular penalty is zero in both attacks",
    },
    FindingDef {
        id: "identity_rotation.inheritance_order_dependent",
        claim: "the same transfers in another order leave different trust",
    },
    FindingDef {
        id: "identity_rotation.weakness_dust_poisoning",
        claim: "a dust transfer into an empty account sets its trust to the sender's",
    },
    FindingDef {
        id: "identity_rotation.weakness_split_avoids_amount_burn",
        claim: "splitting into median-sized chunks avoids the amount burn",
    },
];

fn omc(m: Micro) -> f64 {
    m.omc()
}

/// What a finished scripted run reports.
struct Outcome {
    wealth_preserved: f64,
    puppet_trust_final: Option<f64>,
    evaded: Option<bool>,
}

fn outcome(model: &IdentityRotation, lane: &Lane, out: &mut SeedOutput, full: bool) -> Outcome {
    let p = &lane.name;
    let l = &lane.ledger;
    let scores = l.detect(lane.last_day);
    let wealth = Micro(l.minted().0 - l.burned().0);
    let trust_final = lane.best_puppet_effective(scores.as_ref());
    let line = model.params.spotlight_factor * lane.w_trust;
    let evaded = trust_final.map(|t| t > line);
    out.set(format!("{p}.wealth_preserved"), Some(omc(wealth)));
    out.set(format!("{p}.puppet_trust_final"), trust_final);
    out.bit(format!("{p}.evaded"), evaded);
    if full {
        let minted = l.minted();
        out.set(format!("{p}.wealth_burned_fraction"), (minted.0 > 0).then(|| l.burned().0 as f64 / minted.0 as f64));
        out.set(format!("{p}.burned_trust"), Some(omc(l.burned_trust())));
        out.set(format!("{p}.burned_amount"), Some(omc(l.burned_amount())));
        let puppets = Micro(lane.puppets().map(|x| l.balance(x).0).sum());
        out.set(format!("{p}.puppet_balance_final"), Some(omc(puppets)));
        out.set(format!("{p}.puppet_trust_before"), lane.puppet_trust_before);
        out.set(format!("{p}.w_effective_trust"), Some(lane.w_trust));
        let max = |v: Option<&Vec<f64>>| v.and_then(|v| v.iter().copied().reduce(f64::max));
        out.set(format!("{p}.circular_ratio_max"), max(scores.as_ref().map(|s| &s.ratio)));
        out.set(format!("{p}.circular_penalty_max"), max(scores.as_ref().map(|s| &s.penalty)));
        out.set(format!("{p}.activity_invested"), Some(lane.activity_invested));
        out.set(format!("{p}.transfers_rejected"), Some(lane.rejected_total() as f64));
    }
    Outcome { wealth_preserved: omc(wealth), puppet_trust_final: trust_final, evaded }
}

fn lane<'a>(model: &'a IdentityRotation, name: &str) -> Option<&'a Lane> {
    model.lanes.iter().find(|l| l.name == name)
}

fn all(v: &[Option<bool>]) -> Option<bool> {
    v.iter().copied().collect::<Option<Vec<bool>>>().map(|b| b.iter().all(|&x| x))
}

/// Metrics, findings and tables of one finished run.
pub fn seed_output(model: &IdentityRotation, seed: u64) -> SeedOutput {
    let mut out = SeedOutput::new(seed);
    let mut tables = BTreeMap::new();
    let mut series = BTreeMap::new();
    if let Some(sc) = &model.scale {
        out.set("scale.requests", Some(sc.requests as f64));
        out.set("scale.transfers_applied", Some(sc.applied as f64));
        for (reason, n) in rejection_reasons(&sc.rejected) {
            out.set(format!("scale.transfers_rejected.{reason}"), Some(n as f64));
        }
        out.set("scale.transfers_per_second", model.wall.requests_per_second);
        out.set("scale.detect_seconds", model.wall.detect_seconds);
        out.set("scale.flagged_accounts", sc.last_detection.map(|d| d.1 as f64));
        out.set("scale.window_edges", sc.last_detection.map(|d| d.2 as f64));
        let l = &sc.ledger;
        out.set("scale.minted", Some(omc(l.minted())));
        out.set("scale.burned", Some(omc(l.burned())));
        out.bit("scale.conservation_ok", Some(l.check_conservation().is_ok()));
        // "No transfer raised trust" says nothing when no transfer went through.
        out.finding("identity_rotation.trust_not_bought", (sc.applied > 0).then_some(sc.trust_raised == 0));
        out.tables = tables;
        out.series = series;
        out.mark_non_negative(NON_NEGATIVE);
        return out;
    }

    // The four scripted runs, then the ablation.
    let mut outcomes: BTreeMap<String, Outcome> = BTreeMap::new();
    for l in model.lanes.iter().filter(|l| l.script.scripted()) {
        let full = !l.name.starts_with("ablation.");
        outcomes.insert(l.name.clone(), outcome(model, l, &mut out, full));
    }
    for s in SCENARIOS {
        let u = outcomes.get(&format!("{s}.undefended")).and_then(|o| o.puppet_trust_final);
        let d = outcomes.get(&format!("{s}.defended")).and_then(|o| o.puppet_trust_final);
        out.set(format!("{s}.trust_reduction"), u.zip(d).and_then(|(u, d)| (u != 0.0).then(|| 1.0 - d / u)));
    }
    let evaded = |o: &BTreeMap<String, Outcome>, name: &str| o.get(name).and_then(|x| x.evaded);
    out.finding(
        "identity_rotation.undefended_evades",
        all(&SCENARIOS.map(|s| evaded(&outcomes, &format!("{s}.undefended")))),
    );
    out.finding(
        "identity_rotation.spotlight_follows_money",
        all(&SCENARIOS.map(|s| evaded(&outcomes, &format!("{s}.defended")).map(|e| !e))),
    );
    let silent = SCENARIOS.map(|s| out.get(&format!("{s}.defended.circular_penalty_max")).map(|p| p == 0.0));
    out.finding("identity_rotation.circular_flow_silent", all(&silent));
    if model.params.ablation {
        let w_balance = |s: &str| match s {
            "one_puppet" => omc(model.params.one_puppet.w_balance),
            _ => omc(model.params.three_puppets.w_balance),
        };
        for l in model.lanes.iter().filter(|l| l.name.starts_with("ablation.")) {
            let s = if l.script == Script::OnePuppet { "one_puppet" } else { "three_puppets" };
            let base = outcomes.get(&format!("{s}.undefended")).map(|o| o.wealth_preserved);
            let mine = outcomes.get(&l.name).map(|o| o.wealth_preserved);
            let points = base.zip(mine).and_then(|(b, m)| (w_balance(s) > 0.0).then(|| 100.0 * (b - m) / w_balance(s)));
            out.set(format!("{}.wealth_cost_points", l.name), points);
        }
        out.finding(
            "identity_rotation.inheritance_alone_suffices",
            all(&SCENARIOS.map(|s| evaded(&outcomes, &format!("ablation.trust_inheritance_only.{s}")).map(|e| !e))),
        );
        let mut conds: Vec<Option<bool>> =
            SCENARIOS.iter().map(|s| evaded(&outcomes, &format!("ablation.amount_burn_only.{s}"))).collect();
        conds.extend(
            SCENARIOS
                .iter()
                .map(|s| out.get(&format!("ablation.amount_burn_only.{s}.wealth_cost_points")).map(|p| p > 0.0)),
        );
        out.finding("identity_rotation.amount_burn_alone_insufficient", all(&conds));
    }

    // Probes.
    if model.params.probes {
        let target =
            |name: &str| lane(model, name).map(|l| (l.ledger.trust(AccountId(0)), l.ledger.balance(AccountId(0))));
        let a = target("order.a_first");
        let b = target("order.b_first");
        for (k, v) in [("a_first", a), ("b_first", b)] {
            out.set(format!("order_dependence.{k}.trust"), v.map(|x| x.0));
            out.set(format!("order_dependence.{k}.balance"), v.map(|x| omc(x.1)));
        }
        out.finding("identity_rotation.inheritance_order_dependent", a.zip(b).map(|(a, b)| a.0 != b.0));

        let dust: Option<&Receipt> = lane(model, "dust").and_then(|l| l.receipts.first());
        out.set("weakness.dust.received", dust.map(|r| omc(r.received)));
        out.set("weakness.dust.rho", dust.and_then(|r| r.rho));
        out.set("weakness.dust.sender_trust", dust.map(|r| r.sender_trust));
        out.set("weakness.dust.target_trust_before", dust.map(|r| r.receiver_trust_before));
        out.set("weakness.dust.target_trust_after", dust.map(|r| r.receiver_trust_after));
        out.finding(
            "identity_rotation.weakness_dust_poisoning",
            dust.map(|r| {
                (r.receiver_trust_after - r.sender_trust).abs() <= 1e-9 * r.sender_trust.max(1.0)
                    && r.received < r.gross
            }),
        );

        let single = lane(model, "split.single");
        let chunks = lane(model, "split.chunks");
        let sum = |l: Option<&Lane>, f: fn(&Receipt) -> i64| l.map(|l| Micro(l.receipts.iter().map(f).sum()));
        let (rs, rc) = (sum(single, |r| r.received.0), sum(chunks, |r| r.received.0));
        let (bs, bc) = (sum(single, |r| r.burn_amount.0), sum(chunks, |r| r.burn_amount.0));
        out.set("weakness.split.received_single", rs.map(omc));
        out.set("weakness.split.received_split", rc.map(omc));
        out.set("weakness.split.amount_burn_single", bs.map(omc));
        out.set("weakness.split.amount_burn_split", bc.map(omc));
        out.set("weakness.split.receiver_trust_after_split", chunks.map(|l| l.ledger.trust(AccountId(1))));
        out.finding(
            "identity_rotation.weakness_split_avoids_amount_burn",
            bs.zip(bc).map(|(s, c)| c.0 as f64 <= 0.5 * s.0 as f64),
        );
    }

    let mut receipts = model.lanes.iter().flat_map(|l| &l.receipts).peekable();
    let any = receipts.peek().is_some();
    let raised = receipts.any(|r| r.receiver_trust_after > r.receiver_trust_before);
    out.finding("identity_rotation.trust_not_bought", any.then_some(!raised));

    tables.insert("trajectory.csv".into(), trajectory_table(model, seed));
    tables.insert("receipts.csv".into(), receipts_table(model, seed));
    for l in model.lanes.iter().filter(|l| l.script.scripted() && !l.name.starts_with("ablation.")) {
        let col = |f: fn(&super::model::TrajRow) -> f64| l.trajectory.iter().map(f).collect::<Vec<f64>>();
        series.insert(
            format!("{}.puppet_trust_effective", l.name),
            col(|r| r.puppet_trust_effective.unwrap_or(f64::NAN)),
        );
        series.insert(format!("{}.wealth", l.name), col(|r| omc(r.w_balance) + omc(r.puppets_balance)));
        series.insert(format!("{}.puppets_balance", l.name), col(|r| omc(r.puppets_balance)));
    }
    out.tables = tables;
    out.series = series;
    out.mark_non_negative(NON_NEGATIVE);
    out
}

/// Metrics that cannot be negative: every balance, amount, trust level,
/// ratio, share and count, that is all but the signed wealth cost and trust
/// reduction. Their intervals stop at zero.
pub const NON_NEGATIVE: &[&str] = &["**", "!**.wealth_cost_points", "!**.trust_reduction"];

fn opt(v: Option<f64>) -> String {
    v.map(|x| format!("{x:?}")).unwrap_or_default()
}

fn trajectory_table(model: &IdentityRotation, seed: u64) -> Table {
    let header = [
        "seed",
        "scenario",
        "defences",
        "step",
        "day",
        "event",
        "from",
        "to",
        "gross",
        "received",
        "burned",
        "rho",
        "w_balance",
        "puppets_balance",
        "wealth",
        "burned_total",
        "puppet_trust",
        "puppet_trust_effective",
        "w_trust",
    ];
    let mut rows = Vec::new();
    for l in model.lanes.iter().filter(|l| l.script.scripted()) {
        let scenario = if l.script == Script::OnePuppet { "one_puppet" } else { "three_puppets" };
        for r in &l.trajectory {
            let money = |f: fn(&Receipt) -> Micro| r.receipt.as_ref().map(|x| f(x).to_string()).unwrap_or_default();
            rows.push(vec![
                seed.to_string(),
                scenario.to_string(),
                l.defences.clone(),
                r.step.to_string(),
                r.day.to_string(),
                r.event.clone(),
                r.from.clone(),
                r.to.clone(),
                money(|x| x.gross),
                money(|x| x.received),
                money(|x| x.burned),
                opt(r.receipt.and_then(|x| x.rho)),
                r.w_balance.to_string(),
                r.puppets_balance.to_string(),
                Micro(r.w_balance.0 + r.puppets_balance.0).to_string(),
                r.burned_total.to_string(),
                opt(r.puppet_trust),
                opt(r.puppet_trust_effective),
                opt(r.w_trust),
            ]);
        }
    }
    Table { header: header.map(String::from).to_vec(), rows }
}

fn receipts_table(model: &IdentityRotation, seed: u64) -> Table {
    let header = [
        "seed",
        "run",
        "index",
        "at_ms",
        "day",
        "from",
        "to",
        "gross",
        "burn_trust",
        "burn_amount",
        "burned",
        "received",
        "rate_trust",
        "rate_amount",
        "rate",
        "amount_factor",
        "sender_trust",
        "receiver_trust_before",
        "receiver_trust_after",
        "rho",
        "blended",
        "sender_balance_before",
        "sender_balance_after",
        "receiver_balance_before",
        "receiver_balance_after",
    ];
    let mut rows = Vec::new();
    for l in &model.lanes {
        for r in &l.receipts {
            let role = |id: AccountId| l.roles.get(id.0 as usize).cloned().unwrap_or_default();
            rows.push(vec![
                seed.to_string(),
                l.name.clone(),
                r.index.to_string(),
                r.at.ticks().to_string(),
                (r.at.ticks() / crate::engine::TICKS_PER_DAY).to_string(),
                role(r.from),
                role(r.to),
                r.gross.to_string(),
                r.burn_trust.to_string(),
                r.burn_amount.to_string(),
                r.burned.to_string(),
                r.received.to_string(),
                format!("{:?}", r.rate_trust),
                format!("{:?}", r.rate_amount),
                format!("{:?}", r.rate),
                format!("{:?}", r.amount_factor),
                format!("{:?}", r.sender_trust),
                format!("{:?}", r.receiver_trust_before),
                format!("{:?}", r.receiver_trust_after),
                opt(r.rho),
                opt(r.blended),
                r.sender_balance_before.to_string(),
                r.sender_balance_after.to_string(),
                r.receiver_balance_before.to_string(),
                r.receiver_balance_after.to_string(),
            ]);
        }
    }
    Table { header: header.map(String::from).to_vec(), rows }
}
