//! The scripted scenarios and attacks: identities,
//! random streams, checkpoints, and each day's rows.
//!
//! A day's rows run in the `StartDay` handler: they make that day's draws
//! in the written order, each from its row's stream, and schedule one event
//! per engine call (same-day events run in scheduling order, which is the
//! script's code order). Reads that steer a draw (arbitrage's local trust,
//! degradation's verification rate, long con's payment share and delay)
//! happen at draw time; every script reads there only state left by earlier
//! days, so this is the order the reference reads in.

use super::config::{AttackParams, TdScenario};
use super::model::{ATag, Class, DayCtx, Kind, LTag};
use crate::trust::attacks::Attack;

const EXCELLENT: Class = Class::Excellent;
const MISMATCH: Class = Class::Mismatch;
const VERIFICATION: Class = Class::Verification;
const MALICIOUS: Class = Class::Malicious;

/// Rows (random streams) of each trust-dynamics scenario, in order.
pub const TD_ROWS: [(TdScenario, &[&str]); 6] = [
    (TdScenario::NormalOperation, &["activity", "praise"]),
    (TdScenario::SybilAttack, &["honest", "sybil_tx", "sybil_praise"]),
    (TdScenario::CollusionRing, &["build", "accuse", "victim"]),
    (TdScenario::LongCon, &["build", "fail", "complain", "honest"]),
    (TdScenario::NewEntrant, &["build", "newbie", "praise"]),
    (TdScenario::DonationBootstrapping, &["normal", "donation"]),
];

/// Rows (random streams) of each attack, in order.
pub const FM_ROWS: [(Attack, &[&str]); 9] = [
    (Attack::LongCon, &["build", "exploit", "complain"]),
    (Attack::Laundering, &["v1", "ally", "v2"]),
    (Attack::Assassination, &["victim", "attackers", "accuse"]),
    (Attack::Authority, &["authority", "others", "endorse", "smear", "target", "competitor"]),
    (Attack::Degradation, &["build", "degrader", "verify", "complain", "honest"]),
    (Attack::Sockpuppet, &["socks", "real"]),
    (Attack::Arbitrage, &["community", "arb", "job"]),
    (Attack::Redemption, &["build", "exploit"]),
    (Attack::Crisis, &["build", "accuse", "victim", "attacker"]),
];

/// Streams of one variant (17 trust-dynamics rows, then 31 attack rows).
pub const STREAMS_PER_VARIANT: usize = 48;

/// The stream names of one variant, in row order (`TD_ROWS`, then `FM_ROWS`).
pub const VARIANT_STREAMS: [&str; STREAMS_PER_VARIANT] = [
    "td.normal_operation.activity",
    "td.normal_operation.praise",
    "td.sybil_attack.honest",
    "td.sybil_attack.sybil_tx",
    "td.sybil_attack.sybil_praise",
    "td.collusion_ring.build",
    "td.collusion_ring.accuse",
    "td.collusion_ring.victim",
    "td.long_con.build",
    "td.long_con.fail",
    "td.long_con.complain",
    "td.long_con.honest",
    "td.new_entrant.build",
    "td.new_entrant.newbie",
    "td.new_entrant.praise",
    "td.donation_bootstrapping.normal",
    "td.donation_bootstrapping.donation",
    "fm.long_con.build",
    "fm.long_con.exploit",
    "fm.long_con.complain",
    "fm.laundering.v1",
    "fm.laundering.ally",
    "fm.laundering.v2",
    "fm.assassination.victim",
    "fm.assassination.attackers",
    "fm.assassination.accuse",
    "fm.authority.authority",
    "fm.authority.others",
    "fm.authority.endorse",
    "fm.authority.smear",
    "fm.authority.target",
    "fm.authority.competitor",
    "fm.degradation.build",
    "fm.degradation.degrader",
    "fm.degradation.verify",
    "fm.degradation.complain",
    "fm.degradation.honest",
    "fm.sockpuppet.socks",
    "fm.sockpuppet.real",
    "fm.arbitrage.community",
    "fm.arbitrage.arb",
    "fm.arbitrage.job",
    "fm.redemption.build",
    "fm.redemption.exploit",
    "fm.crisis.build",
    "fm.crisis.accuse",
    "fm.crisis.victim",
    "fm.crisis.attacker",
];

const fn twice(v: [&'static str; STREAMS_PER_VARIANT]) -> [&'static str; 2 * STREAMS_PER_VARIANT] {
    let mut out = [""; 2 * STREAMS_PER_VARIANT];
    let mut i = 0;
    while i < out.len() {
        out[i] = v[i % STREAMS_PER_VARIANT];
        i += 1;
    }
    out
}

/// Every stream name, for two variants: the second (a compared fidelity)
/// has the same names, so it draws the same numbers.
pub const STREAM_NAMES: [&str; 2 * STREAMS_PER_VARIANT] = twice(VARIANT_STREAMS);

/// Index of the first stream of `kind` in a variant.
pub fn stream_base(kind: Kind) -> usize {
    let mut k = 0;
    for (s, rows) in TD_ROWS {
        if kind == Kind::Td(s) {
            return k;
        }
        k += rows.len();
    }
    for (a, rows) in FM_ROWS {
        if kind == Kind::Fm(a) {
            return k;
        }
        k += rows.len();
    }
    unreachable!("every kind has rows")
}

/// The identities created at day 0, in creation order (plus the ones a
/// script creates later, at the end).
pub fn identities(kind: Kind, ap: &AttackParams) -> (Vec<String>, Vec<String>) {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let consumers = |n: usize| (0..n).map(|i| format!("consumer{i}")).collect::<Vec<_>>();
    let initial = match kind {
        Kind::Td(TdScenario::NormalOperation) => s(&["alice", "bob", "charlie", "consumer1", "consumer2"]),
        Kind::Td(TdScenario::SybilAttack) => {
            let mut v = s(&["honest1", "honest2"]);
            v.extend((0..5).map(|i| format!("sybil{i}")));
            v.push("consumer".into());
            v
        }
        Kind::Td(TdScenario::CollusionRing) => {
            s(&["victim", "colluder1", "colluder2", "colluder3", "consumer1", "consumer2"])
        }
        Kind::Td(TdScenario::LongCon) => s(&["attacker", "honest", "consumer1", "consumer2"]),
        Kind::Td(TdScenario::NewEntrant) => s(&["established1", "established2", "consumer1", "consumer2"]),
        Kind::Td(TdScenario::DonationBootstrapping) => s(&["normal_new", "donation_new", "consumer", "research_org"]),
        Kind::Fm(Attack::LongCon) => [s(&["attacker", "honest_provider"]), consumers(3)].concat(),
        Kind::Fm(Attack::Laundering) => [s(&["bad_actor_v1", "ally"]), consumers(3)].concat(),
        Kind::Fm(Attack::Assassination) => {
            let mut v = s(&["victim"]);
            v.extend((0..ap.attackers).map(|i| format!("attacker{i}")));
            [v, consumers(3)].concat()
        }
        Kind::Fm(Attack::Authority) => [s(&["authority", "target", "honest_competitor"]), consumers(5)].concat(),
        Kind::Fm(Attack::Degradation) => [s(&["degrader", "honest"]), consumers(3)].concat(),
        Kind::Fm(Attack::Sockpuppet) => {
            let mut v = s(&["master"]);
            v.extend((0..ap.socks).map(|i| format!("sock{i}")));
            v.extend(s(&["target", "honest_competitor"]));
            [v, consumers(3)].concat()
        }
        Kind::Fm(Attack::Arbitrage) => s(&[
            "community_a_0",
            "community_b_0",
            "community_a_1",
            "community_b_1",
            "community_a_2",
            "community_b_2",
            "arbitrageur",
        ]),
        Kind::Fm(Attack::Redemption) => [s(&["exploiter", "honest"]), consumers(3)].concat(),
        Kind::Fm(Attack::Crisis) => [s(&["attacker", "victim_provider", "honest_helper"]), consumers(3)].concat(),
    };
    let later = match kind {
        Kind::Td(TdScenario::NewEntrant) => s(&["newbie"]),
        Kind::Fm(Attack::Laundering) => s(&["bad_actor_v2"]),
        _ => vec![],
    };
    (initial, later)
}

/// The checkpoints (label, day), in order.
pub fn checkpoints(kind: Kind, ap: &AttackParams) -> Vec<(String, u32)> {
    let c = |v: &[(&str, u32)]| v.iter().map(|(l, d)| (l.to_string(), *d)).collect();
    match kind {
        Kind::Td(TdScenario::NormalOperation) => c(&[("end", 180)]),
        Kind::Td(TdScenario::SybilAttack) => c(&[("end", 90)]),
        Kind::Td(TdScenario::CollusionRing) => c(&[("d60", 60), ("d90", 90)]),
        Kind::Td(TdScenario::LongCon) => c(&[("before", 180), ("after", 210)]),
        Kind::Td(TdScenario::NewEntrant) => c(&[("d180", 180), ("d240", 240)]),
        Kind::Td(TdScenario::DonationBootstrapping) => c(&[("end", 60)]),
        Kind::Fm(Attack::LongCon) => {
            vec![("before".into(), ap.build_days), ("after".into(), ap.build_days + ap.exploit_days)]
        }
        Kind::Fm(Attack::Laundering) => c(&[("peak", 90), ("burned", 120), ("end", 180)]),
        Kind::Fm(Attack::Assassination) => c(&[("before", 90), ("after", 120)]),
        Kind::Fm(Attack::Authority) => c(&[("before", 180), ("after", 210)]),
        Kind::Fm(Attack::Degradation) => {
            let mut v = c(&[("peak", 90)]);
            v.extend((0..6).map(|p| (format!("phase{p}"), 120 + 30 * p)));
            v
        }
        Kind::Fm(Attack::Sockpuppet) => c(&[("before", 90), ("after", 90)]),
        Kind::Fm(Attack::Arbitrage) => c(&[("d90", 90), ("d150", 150)]),
        Kind::Fm(Attack::Redemption) => {
            let mut v = Vec::new();
            for k in 0..ap.cycles {
                v.push((format!("peak_{}", k + 1), 80 * k + 60));
                v.push((format!("low_{}", k + 1), 80 * k + 80));
            }
            v.push(("final".into(), 80 * ap.cycles));
            v
        }
        Kind::Fm(Attack::Crisis) => c(&[("before", 60), ("crisis", 75), ("after", 105)]),
    }
}

/// The last day of the script.
pub fn last_day(kind: Kind, ap: &AttackParams) -> u32 {
    checkpoints(kind, ap).last().map_or(0, |c| c.1)
}

/// Attack facts: the attacker set 𝒜, the victim, the start day d0
/// and the pre-attack checkpoint (an index into [`checkpoints`]).
pub struct AttackFacts {
    /// Identity indices of the attackers (created later ones included).
    pub attackers: Vec<u32>,
    /// The victim, if any.
    pub victim: Option<u32>,
    /// First day of the attack.
    pub d0: u32,
    /// Pre-attack checkpoint.
    pub pre: usize,
}

/// Each attack's attacker set, victim, start day and pre-attack checkpoint.
pub fn facts(a: Attack, ap: &AttackParams) -> AttackFacts {
    let f = |attackers: Vec<u32>, victim: Option<u32>, d0: u32| AttackFacts { attackers, victim, d0, pre: 0 };
    match a {
        Attack::LongCon => f(vec![0], None, ap.build_days + 1),
        Attack::Laundering => f(vec![0, 5], None, 91),
        Attack::Assassination => f((1..=ap.attackers).collect(), Some(0), 91),
        Attack::Authority => f(vec![0], Some(2), 181),
        Attack::Degradation => f(vec![0], None, 91),
        Attack::Sockpuppet => f((1..=ap.socks).collect(), Some(ap.socks + 2), 90),
        Attack::Arbitrage => f(vec![6], None, 91),
        Attack::Redemption => f(vec![0], None, 61),
        Attack::Crisis => f(vec![0], Some(1), 61),
    }
}

/// One day of a script: its rows, checkpoints and same-day actions.
pub fn day(kind: Kind, d: u32, x: &mut DayCtx<'_, '_, '_>) {
    match kind {
        Kind::Td(s) => td_day(s, d, x),
        Kind::Fm(a) => fm_day(a, d, x),
    }
}

fn td_day(s: TdScenario, d: u32, x: &mut DayCtx<'_, '_, '_>) {
    match s {
        TdScenario::NormalOperation => {
            // alice, bob, charlie, consumer1, consumer2.
            if d <= 180 {
                if x.bern(0, 0.3) {
                    let p = x.pick(0, 3);
                    let c = 3 + x.pick(0, 2);
                    let rw = x.unif(0, 1.0, 3.0);
                    let dur = x.unif(0, 1.0, 8.0);
                    let vs = x.unif(0, 0.9, 1.0);
                    x.tx(c, p, rw, dur, vs);
                }
                if x.bern(1, 0.05) {
                    let a = 3 + x.pick(1, 2);
                    let s = x.pick(1, 3);
                    let score = x.unif(1, 0.3, 0.8);
                    x.assert(a, s, score, EXCELLENT, true, ATag::None);
                }
            }
            if d == 180 {
                x.checkpoint(0);
            }
        }
        TdScenario::SybilAttack => {
            // honest1, honest2, sybil0..4 (2..6), consumer (7).
            if x.bern(0, 0.2) {
                let p = x.pick(0, 2);
                x.tx(7, p, 2.0, 4.0, 0.95);
            }
            if x.bern(1, 0.5) {
                let p = x.pick(1, 5);
                let mut c = x.pick(1, 4);
                if c >= p {
                    c += 1;
                }
                x.tx(2 + c, 2 + p, 3.0, 8.0, 1.0);
            }
            if x.bern(2, 0.3) {
                let a = x.pick(2, 5);
                let mut s = x.pick(2, 4);
                if s >= a {
                    s += 1;
                }
                x.assert(2 + a, 2 + s, 0.9, EXCELLENT, true, ATag::None);
            }
            if d == 90 {
                x.checkpoint(0);
            }
        }
        TdScenario::CollusionRing => {
            // victim, colluder1..3 (1..3), consumer1, consumer2 (4, 5).
            if d <= 60 {
                for p in 0..4 {
                    if x.bern(0, 0.2) {
                        let c = 4 + x.pick(0, 2);
                        x.tx(c, p, 2.0, 4.0, 0.95);
                    }
                }
                if d == 60 {
                    x.checkpoint(0);
                }
            } else {
                if x.bern(1, 0.3) {
                    let a = 1 + x.pick(1, 3);
                    x.assert(a, 0, -0.7, MISMATCH, false, ATag::Counted);
                }
                if x.bern(2, 0.3) {
                    let c = 4 + x.pick(2, 2);
                    x.tx(c, 0, 2.0, 4.0, 0.95);
                }
                if d == 90 {
                    x.checkpoint(1);
                }
            }
        }
        TdScenario::LongCon => {
            // attacker, honest, consumer1, consumer2.
            if d <= 180 {
                for p in 0..2 {
                    if x.bern(0, 0.3) {
                        let c = 2 + x.pick(0, 2);
                        x.tx(c, p, 2.0, 4.0, 0.95);
                    }
                }
                if d == 180 {
                    x.checkpoint(0);
                }
            } else {
                if x.bern(1, 0.5) {
                    let c = 2 + x.pick(1, 2);
                    x.tx(c, 0, 2.0, 4.0, 0.2);
                }
                if x.bern(2, 0.4) {
                    let c = 2 + x.pick(2, 2);
                    x.assert(c, 0, -0.8, VERIFICATION, true, ATag::Counted);
                }
                if x.bern(3, 0.3) {
                    let c = 2 + x.pick(3, 2);
                    x.tx(c, 1, 2.0, 4.0, 0.95);
                }
                if d == 210 {
                    x.checkpoint(1);
                }
            }
        }
        TdScenario::NewEntrant => {
            // established1, established2, consumer1, consumer2; newbie (4) at d180.
            if d <= 180 {
                for p in 0..2 {
                    if x.bern(0, 0.3) {
                        let c = 2 + x.pick(0, 2);
                        x.tx(c, p, 2.0, 4.0, 0.95);
                    }
                }
                if d == 180 {
                    x.checkpoint(0);
                    x.create(0);
                }
            } else {
                if x.bern(1, 0.5) {
                    let c = 2 + x.pick(1, 2);
                    x.tx(c, 4, 2.0, 4.0, 0.98);
                }
                if x.bern(2, 0.1) {
                    let c = 2 + x.pick(2, 2);
                    x.assert(c, 4, 0.6, EXCELLENT, true, ATag::None);
                }
                if d == 240 {
                    x.checkpoint(1);
                }
            }
        }
        TdScenario::DonationBootstrapping => {
            // normal_new, donation_new, consumer, research_org.
            if x.bern(0, 0.3) {
                x.tx(2, 0, 2.0, 4.0, 0.95);
            }
            if x.bern(1, 0.3) {
                x.tx(3, 1, 2.0, 4.0, 0.95);
                x.tx(3, 1, 4.0, 4.0, 0.95);
            }
            if d == 60 {
                x.checkpoint(0);
            }
        }
    }
}

fn fm_day(a: Attack, d: u32, x: &mut DayCtx<'_, '_, '_>) {
    match a {
        Attack::LongCon => {
            // attacker, honest_provider, consumer0..2 (2..4).
            let (build, exploit) = (x.ap().build_days, x.ap().exploit_days);
            if d <= build {
                for p in 0..2 {
                    if x.bern(0, 0.3) {
                        let c = 2 + x.pick(0, 3);
                        x.tx(c, p, 2.0, 4.0, 0.95);
                    }
                }
                if d == build {
                    x.checkpoint(0);
                }
            } else {
                let k = d - build - 1;
                if x.bern(1, x.ap().intensity) {
                    let c = 2 + x.pick(1, 3);
                    x.tx(c, 0, 3.0, 8.0, 0.1);
                    x.long_con_job(k);
                }
                if x.bern(2, 0.5) {
                    let c = 2 + x.pick(2, 3);
                    x.assert(c, 0, -0.8, VERIFICATION, true, ATag::Counted);
                    x.long_con_complaint(k);
                }
                if d == build + exploit {
                    x.checkpoint(1);
                }
            }
        }
        Attack::Laundering => {
            // bad_actor_v1, ally, consumer0..2 (2..4); bad_actor_v2 (5) at d120.
            if d <= 90 {
                if x.bern(0, 0.3) {
                    let c = 2 + x.pick(0, 3);
                    x.tx_credit(c, 0, 2.0, 4.0, 0.95, 4.0);
                }
                if x.bern(1, 0.2) {
                    let c = 2 + x.pick(1, 3);
                    x.tx(c, 1, 2.0, 4.0, 0.95);
                }
                if d == 90 {
                    x.checkpoint(0);
                }
            } else if d <= 120 {
                if x.bern(0, 0.5) {
                    let c = 2 + x.pick(0, 3);
                    x.tx_credit(c, 0, 3.0, 8.0, 0.1, 7.2);
                }
                if d == 120 {
                    x.checkpoint(1);
                    x.create(0);
                    x.transfer_all(0, 5);
                    x.assert(1, 5, 0.8, EXCELLENT, true, ATag::None);
                }
            } else {
                if x.bern(2, 0.3) {
                    let c = 2 + x.pick(2, 3);
                    x.tx(c, 5, 2.0, 4.0, 0.95);
                }
                if d == 180 {
                    x.checkpoint(2);
                }
            }
        }
        Attack::Assassination => {
            // victim, attacker0..n-1 (1..n), consumer0..2.
            let n = x.ap().attackers as usize;
            let cons = 1 + n;
            if d <= 90 {
                if x.bern(0, 0.4) {
                    let c = cons + x.pick(0, 3);
                    x.tx(c, 0, 2.0, 4.0, 0.95);
                }
                for i in 0..n {
                    if x.bern(1, 0.2) {
                        let c = cons + x.pick(1, 3);
                        x.tx(c, 1 + i, 1.0, 2.0, 0.9);
                    }
                }
                if d == 90 {
                    x.checkpoint(0);
                }
            } else {
                for i in 0..n {
                    if x.bern(2, 0.3) {
                        x.assert(1 + i, 0, -0.7, MISMATCH, false, ATag::Counted);
                    }
                }
                if x.bern(0, 0.4) {
                    let c = cons + x.pick(0, 3);
                    x.tx(c, 0, 2.0, 4.0, 0.95);
                }
                if d == 120 {
                    x.checkpoint(1);
                }
            }
        }
        Attack::Authority => {
            // authority, target, honest_competitor, consumer0..4 (3..7).
            if d <= 180 {
                if x.bern(0, 0.5) {
                    let c = 3 + x.pick(0, 5);
                    x.tx(c, 0, 3.0, 8.0, 0.98);
                }
                for p in 1..3 {
                    if x.bern(1, 0.2) {
                        let c = 3 + x.pick(1, 5);
                        x.tx(c, p, 2.0, 4.0, 0.9);
                    }
                }
                if d == 180 {
                    x.checkpoint(0);
                }
            } else {
                if x.bern(2, 0.3) {
                    x.assert(0, 1, 0.9, EXCELLENT, true, ATag::Counted);
                }
                if x.bern(3, 0.2) {
                    x.assert(0, 2, -0.6, MISMATCH, false, ATag::Second);
                }
                if x.bern(4, 0.3) {
                    let c = 3 + x.pick(4, 5);
                    x.tx(c, 1, 2.0, 4.0, 0.4);
                }
                if x.bern(5, 0.3) {
                    let c = 3 + x.pick(5, 5);
                    x.tx(c, 2, 2.0, 4.0, 0.95);
                }
                if d == 210 {
                    x.checkpoint(1);
                }
            }
        }
        Attack::Degradation => {
            // degrader, honest, consumer0..2 (2..4).
            if d <= 90 {
                for p in 0..2 {
                    if x.bern(0, 0.3) {
                        let c = 2 + x.pick(0, 3);
                        x.tx(c, p, 2.0, 4.0, 0.98);
                    }
                }
                if d == 90 {
                    x.checkpoint(0);
                    x.read_rate();
                }
            } else {
                let phase = (d - 91) / 30;
                let base = 0.98 - 0.1 * f64::from(phase);
                if x.bern(1, 0.3) {
                    let c = 2 + x.pick(1, 3);
                    let r = x.degradation_rate();
                    let vs = if x.bern(2, r) { base } else { (base + 0.2).min(0.98) };
                    x.tx(c, 0, 2.0, 4.0, vs);
                    if vs < 0.8 && x.bern(3, 0.5) {
                        x.assert(c, 0, -0.5, MISMATCH, true, ATag::Counted);
                    }
                }
                if x.bern(4, 0.3) {
                    let c = 2 + x.pick(4, 3);
                    x.tx(c, 1, 2.0, 4.0, 0.98);
                }
                if (d - 90).is_multiple_of(30) {
                    x.checkpoint(1 + phase as usize);
                    if phase < 5 {
                        x.read_rate();
                    }
                }
            }
        }
        Attack::Sockpuppet => {
            // master, sock0..n-1 (1..n), target (n+1), honest_competitor (n+2), consumer0..2.
            let n = x.ap().socks as usize;
            let (target, comp, cons) = (n + 1, n + 2, n + 3);
            if x.bern(0, 0.1) {
                let s1 = x.pick(0, n);
                let s2 = x.pick(0, n);
                if s1 != s2 {
                    x.tx(1 + s1, 1 + s2, 0.5, 1.0, 1.0);
                }
            }
            for p in [target, comp] {
                if x.bern(1, 0.2) {
                    let c = cons + x.pick(1, 3);
                    x.tx(c, p, 2.0, 4.0, 0.9);
                }
            }
            if d == 90 {
                x.checkpoint(0);
                for s in 0..n {
                    x.assert(1 + s, target, 0.9, EXCELLENT, true, ATag::None);
                }
                for s in 0..n {
                    x.assert(1 + s, comp, -0.5, MISMATCH, false, ATag::None);
                }
                x.checkpoint(1);
                x.cluster_query();
            }
        }
        Attack::Arbitrage => {
            // community_a_i = 2i, community_b_i = 2i+1, arbitrageur = 6.
            if d <= 90 {
                for i in 0..3 {
                    for j in 0..3 {
                        if i != j && x.bern(0, 0.1) {
                            x.tx(2 * i, 2 * j, 2.0, 4.0, 0.95);
                            x.tx(2 * i + 1, 2 * j + 1, 2.0, 4.0, 0.95);
                        }
                    }
                }
                if x.bern(1, 0.3) {
                    let c = 2 * x.pick(1, 3);
                    x.tx(c, 6, 2.0, 4.0, 0.98);
                }
                if d == 90 {
                    x.checkpoint(0);
                    x.build_edges();
                    x.local(0, 6, LTag::A);
                    x.local(1, 6, LTag::B);
                }
            } else {
                if x.bern(2, 0.5) {
                    let c = 2 * x.pick(2, 3) + 1;
                    let (l, share) = x.arbitrage_query(c);
                    if l > 10.0 {
                        x.tx(c, 6, 3.0, 8.0, 0.3);
                        x.arbitrage_job(true, 24.0 * share);
                    } else {
                        if l > 2.0 {
                            x.tx(c, 6, 0.5, 1.0, 0.3);
                            x.arbitrage_job(false, 0.5 * share);
                        } else {
                            x.arbitrage_job(false, 0.0);
                        }
                    }
                }
                if d == 150 {
                    x.checkpoint(1);
                    x.local(1, 6, LTag::BAfter);
                }
            }
        }
        Attack::Redemption => {
            // exploiter, honest, consumer0..2 (2..4).
            let k = (d - 1) / 80;
            let in_cycle = (d - 1) % 80 + 1;
            if in_cycle <= 60 {
                for p in 0..2 {
                    if x.bern(0, 0.3) {
                        let c = 2 + x.pick(0, 3);
                        x.tx(c, p, 2.0, 4.0, 0.95);
                    }
                }
                if in_cycle == 60 {
                    x.checkpoint(2 * k as usize);
                }
            } else {
                if x.bern(1, 0.6) {
                    let c = 2 + x.pick(1, 3);
                    x.tx(c, 0, 3.0, 8.0, 0.2);
                    x.redemption_extract(12.0);
                }
                if in_cycle == 80 {
                    x.checkpoint(2 * k as usize + 1);
                    if k + 1 == x.ap().cycles {
                        x.checkpoint(2 * k as usize + 2);
                    }
                }
            }
        }
        Attack::Crisis => {
            // attacker, victim_provider, honest_helper, consumer0..2 (3..5).
            if d <= 60 {
                for p in 0..3 {
                    if x.bern(0, 0.2) {
                        let c = 3 + x.pick(0, 3);
                        x.tx(c, p, 2.0, 4.0, 0.95);
                    }
                }
                if d == 60 {
                    x.tx(0, 1, 1.0, 1.0, 0.95);
                    x.checkpoint(0);
                }
            } else if d <= 75 {
                if x.bern(1, 0.4) {
                    x.assert(0, 1, -0.7, MALICIOUS, false, ATag::Counted);
                }
                if d == 75 {
                    x.checkpoint(1);
                }
            } else {
                if x.bern(2, 0.3) {
                    let c = 3 + x.pick(2, 3);
                    x.tx(c, 1, 2.0, 4.0, 0.95);
                    x.crisis_pass();
                }
                if x.bern(3, 0.3) {
                    let c = 3 + x.pick(3, 3);
                    x.tx(c, 0, 3.0, 8.0, 0.95);
                }
                if d == 105 {
                    if x.crisis_passes() >= 3 {
                        x.resolve(0, 1, false);
                    }
                    x.checkpoint(2);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stream list is `td.<scenario>.<row>` then `fm.<attack>.<row>`,
    /// in `TD_ROWS` / `FM_ROWS` order, and `stream_base` points into it.
    #[test]
    fn stream_names_follow_the_rows() {
        let mut want = Vec::new();
        for (s, rows) in TD_ROWS {
            want.extend(rows.iter().map(|r| format!("td.{}.{r}", s.id())));
        }
        for (a, rows) in FM_ROWS {
            want.extend(rows.iter().map(|r| format!("fm.{}.{r}", a.id())));
        }
        assert_eq!(want, VARIANT_STREAMS);
        assert_eq!(STREAM_NAMES[..STREAMS_PER_VARIANT], STREAM_NAMES[STREAMS_PER_VARIANT..]);
        assert_eq!(STREAM_NAMES[stream_base(Kind::Fm(Attack::Crisis))], "fm.crisis.build");
        assert_eq!(STREAM_NAMES[stream_base(Kind::Td(TdScenario::LongCon)) + 3], "td.long_con.honest");
    }
}
