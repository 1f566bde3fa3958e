//! The scenarios of the three studies: initial identities and
//! the day's rows, in the written order, each draw on its `[row]` stream.

use super::config::{Params, Script};
use super::model::{ASSERT, ATTACK, COMPLETION, Ev, HONEST, PRAISE, SAMPLE, Slot, WHALE};
use serde::{Deserialize, Serialize};

/// MP1 `adversarial_multi_attack` waves: (start day, attackers, name, chart label).
pub const WAVES: [(u32, u32, &str, &str); 5] = [
    (180, 15, "sybil_180", "Sybil"),
    (450, 5, "inflator_450", "Inflation"),
    (720, 3, "hoarder_720", "Hoarding"),
    (990, 1, "degrader_990", "Degradation"),
    (1260, 10, "coord_1260", "Coordinated"),
];

/// The part an identity plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Providers, honest providers, normals, citizens.
    Prov,
    /// Consumers.
    Cons,
    /// Attackers, sybils, cartel members, freeloaders, hoarders, the degrader.
    Atk,
    /// Whales.
    Whale,
    /// Identities that never act.
    Silent,
}

/// Who plays which part (indices in creation order).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Roles {
    /// Providers (honest providers, normals, citizens).
    pub prov: Vec<u32>,
    /// Consumers.
    pub cons: Vec<u32>,
    /// Attackers of the initial cast (sybils, cartel members, freeloaders, hoarders, the degrader).
    pub atk: Vec<u32>,
    /// Whales.
    pub whales: Vec<u32>,
    /// Attack waves (created later), in creation order.
    pub waves: Vec<Vec<u32>>,
    /// Day each wave was created.
    pub wave_day: Vec<u32>,
}

impl Roles {
    /// Add identity `i` to `role`.
    pub fn add(&mut self, role: Role, i: u32) {
        match role {
            Role::Prov => self.prov.push(i),
            Role::Cons => self.cons.push(i),
            Role::Atk => self.atk.push(i),
            Role::Whale => self.whales.push(i),
            Role::Silent => {}
        }
    }

    /// Every attacker of the scenario (the flat group and every wave).
    pub fn attackers(&self) -> Vec<u32> {
        let mut v = self.atk.clone();
        for w in &self.waves {
            v.extend(w);
        }
        v
    }
}

fn named(out: &mut Vec<(String, Role)>, prefix: &str, n: u32, role: Role) {
    for j in 0..n {
        out.push((format!("{prefix}_{j}"), role));
    }
}

/// The identities created before day 0, in creation order.
pub fn initial(s: Script) -> Vec<(String, Role)> {
    use Role::*;
    let mut v = Vec::new();
    let o = &mut v;
    match s {
        Script::FsBaseline
        | Script::FsWave
        | Script::AttackRecovery
        | Script::AttackAndRecovery
        | Script::Mp2Wave
        | Script::PolicyComparison
        | Script::Sensitivity
        | Script::Mp1Baseline => {
            named(o, "provider", 10, Prov);
            named(o, "consumer", 20, Cons);
        }
        Script::SybilSmall | Script::SybilLarge | Script::CombinedAttack | Script::CombinedSybilInflation => {
            named(o, "honest", 8, Prov);
            named(o, "consumer", 15, Cons);
        }
        Script::InflationMild | Script::InflationAggressive | Script::TrustInflation => {
            named(o, "honest", 5, Prov);
            named(o, "consumer", 10, Cons);
            named(o, "cartel", 5, Atk);
        }
        Script::FsSlowDegradation | Script::Mp1SlowDegradation => {
            o.push(("degrader".into(), Atk));
            named(o, "honest", 5, Prov);
            named(o, "consumer", 15, Cons);
        }
        Script::Hoarding => {
            named(o, "normal", 8, Prov);
            named(o, "hoarder", 4, Atk);
            named(o, "consumer", 12, Cons);
        }
        Script::FsGini | Script::Mp1Gini => {
            named(o, "whale", 3, Whale);
            named(o, "normal", 12, Prov);
            named(o, "consumer", 20, Cons);
        }
        Script::SustainedPressure => {
            named(o, "honest", 10, Prov);
            named(o, "consumer", 20, Cons);
            named(o, "attacker", 5, Atk);
        }
        Script::SybilExplosion => {
            named(o, "honest", 10, Prov);
            named(o, "consumer", 15, Cons);
        }
        Script::VerificationStarvation => {
            named(o, "citizen", 5, Prov);
            named(o, "freeloader", 10, Atk);
            named(o, "consumer", 15, Cons);
        }
        Script::ExtendedBaseline => {
            named(o, "provider", 15, Prov);
            named(o, "consumer", 30, Cons);
        }
        Script::AdversarialMulti => {
            named(o, "honest", 10, Prov);
            named(o, "consumer", 20, Cons);
        }
    }
    v
}

/// The share of identities in colluding attacker groups (attackers that
/// trade among themselves) on the final day, where the script fixes it in
/// this fidelity (`None` where it does not).
pub fn expected_fraction(study: &str, s: Script, reference: bool) -> Option<f64> {
    let f = |a: f64, b: f64| Some(a / b);
    if reference {
        match (study, s) {
            ("fs", Script::SybilSmall) => f(10.0, 33.0),
            ("fs", Script::SybilLarge) => f(30.0, 53.0),
            ("fs", Script::InflationAggressive) => f(5.0, 20.0),
            ("fs", Script::CombinedAttack) => f(20.0, 43.0),
            ("fs", Script::FsWave) => f(32.0, 62.0),
            ("fs", Script::SustainedPressure) => f(5.0, 35.0),
            ("fs", _) => Some(0.0),
            ("mp2", Script::CombinedSybilInflation) => f(20.0, 43.0),
            ("mp2", Script::PolicyComparison) => f(20.0, 50.0),
            ("mp2", Script::Mp2Wave) => f(15.0, 49.0),
            ("mp2", Script::AttackAndRecovery) => Some(0.0),
            ("mp1", Script::SybilExplosion) => f(30.0, 55.0),
            ("mp1", Script::TrustInflation) => f(5.0, 20.0),
            ("mp1", Script::AdversarialMulti) => f(30.0, 64.0),
            ("mp1", Script::Mp1Baseline)
            | ("mp1", Script::VerificationStarvation)
            | ("mp1", Script::Hoarding)
            | ("mp1", Script::Mp1Gini)
            | ("mp1", Script::Mp1SlowDegradation) => Some(0.0),
            _ => None,
        }
    } else {
        match (study, s) {
            ("fs", Script::SybilSmall) => f(10.0, 33.0),
            ("fs", Script::SybilLarge) => f(30.0, 53.0),
            ("fs", Script::InflationAggressive | Script::InflationMild) => f(5.0, 20.0),
            ("fs", Script::CombinedAttack) => f(20.0, 43.0),
            ("fs", Script::FsWave) => f(32.0, 62.0),
            _ => None,
        }
    }
}

/// The day's actions: draws made now, one event per engine call.
struct Day<'a> {
    s: &'a mut Slot,
    out: &'a mut Vec<Ev>,
    slot: u16,
    buy_first: bool,
}

impl Day<'_> {
    fn tx(&mut self, c: u32, p: u32, w: f64, h: f64, v: f64) {
        self.tx_full(c, p, w, h, v, true, false);
    }

    #[allow(clippy::too_many_arguments)]
    fn tx_full(&mut self, c: u32, p: u32, w: f64, h: f64, v: f64, completed: bool, origin: bool) {
        self.out.push(Ev::Purchase { slot: self.slot, c, p, w, h, v, completed, origin });
    }

    fn praise(&mut self, a: u32, s: u32, x: f64) {
        self.out.push(Ev::Assertion { slot: self.slot, a, s, score: x, evidence: true });
    }

    fn assertion(&mut self, a: u32, s: u32, x: f64) {
        self.out.push(Ev::Assertion { slot: self.slot, a, s, score: x, evidence: true });
    }

    /// accuse(a→t, x), without evidence; `buy_first` buys from t before.
    fn accuse(&mut self, a: u32, t: u32, x: f64) {
        if self.buy_first {
            self.tx(a, t, 1.0, 1.0, 0.95);
        }
        self.out.push(Ev::Assertion { slot: self.slot, a, s: t, score: x, evidence: false });
    }

    fn create(&mut self, name: String) -> u32 {
        self.s.create(name, self.out, self.slot)
    }

    fn create_group(&mut self, prefix: &str, n: u32) -> Vec<u32> {
        (0..n).map(|j| self.create(format!("{prefix}_{j}"))).collect()
    }

    /// pick(L) on `row`.
    fn pick_of(&mut self, row: usize, l: &[u32]) -> u32 {
        l[self.s.pick(row, l.len())]
    }

    /// pick(others(a)): a's group in creation order, without a.
    fn other(&mut self, row: usize, group: &[u32], a: u32) -> u32 {
        let pos = group.iter().position(|&x| x == a).expect("a is in its group");
        let k = self.s.pick(row, group.len() - 1);
        if k < pos { group[k] } else { group[k + 1] }
    }

    /// H(X, p, W, Hh, V) + cpl(q).
    #[allow(clippy::too_many_arguments)]
    fn honest(
        &mut self,
        x: &[u32],
        p: f64,
        w: (f64, f64),
        h: (f64, f64),
        v: (f64, f64),
        cpl: Option<f64>,
        origin: bool,
    ) {
        let cons = self.s.roles.cons.clone();
        for &prov in x {
            if self.s.bern(HONEST, p) {
                let c = self.pick_of(HONEST, &cons);
                let (ww, hh, vv) = (self.s.unif(HONEST, w), self.s.unif(HONEST, h), self.s.unif(HONEST, v));
                let completed = cpl.is_none_or(|q| self.s.u(COMPLETION) > q);
                self.tx_full(c, prov, ww, hh, vv, completed, origin);
            }
        }
    }

    /// unif(a, b) on `row`, or the fixed value a (no draw) when a = b.
    fn amount(&mut self, row: usize, (a, b): (f64, f64)) -> f64 {
        if a == b { a } else { self.s.unif(row, (a, b)) }
    }

    /// Each member of `group`: bern(p) → tx(pick(others)→a, w, h, v) on `[attack]`.
    fn ring(&mut self, group: &[u32], p: f64, w: (f64, f64), h: (f64, f64), v: f64) {
        for &a in group {
            if self.s.bern(ATTACK, p) {
                let o = self.other(ATTACK, group, a);
                let (ww, hh) = (self.amount(ATTACK, w), self.amount(ATTACK, h));
                self.tx(o, a, ww, hh, v);
            }
        }
    }
}

const FIXED: fn(f64) -> (f64, f64) = |x| (x, x);

/// The scenario's rows for the slot's current day.
pub fn day(s: &mut Slot, p: &Params, slot: u16, out: &mut Vec<Ev>) {
    let d = s.day();
    let script = s.script;
    let buy_first = p.sw.buy_first;
    let mut x = Day { s, out, slot, buy_first };
    let prov = x.s.roles.prov.clone();
    match script {
        Script::FsBaseline => x.honest(&prov, 0.25, (1.0, 4.0), (1.0, 8.0), (0.85, 1.0), None, false),
        Script::SybilSmall | Script::SybilLarge => {
            x.honest(&prov, 0.25, (1.0, 3.0), (2.0, 6.0), (0.9, 1.0), None, false);
            if d == 120 {
                let n = if script == Script::SybilSmall { 10 } else { 30 };
                x.s.roles.atk = x.create_group("sybil", n);
            }
            if d > 120 {
                let atk = x.s.roles.atk.clone();
                x.ring(&atk, 0.3, (2.0, 4.0), (4.0, 8.0), 1.0);
            }
        }
        Script::InflationMild | Script::InflationAggressive => {
            x.honest(&prov, 0.2, (1.0, 3.0), (2.0, 6.0), (0.9, 1.0), None, false);
            if d > 90 {
                let i: f64 = if script == Script::InflationMild { 0.3 } else { 0.7 };
                let reps = if p.sw.cartel_round { (3.0 * i).round().max(1.0) } else { (3.0 * i).floor() } as u32;
                let atk = x.s.roles.atk.clone();
                for &m in &atk {
                    for _ in 0..reps {
                        if x.s.bern(ATTACK, i) {
                            let o = x.other(ATTACK, &atk, m);
                            let (w, h) = (x.s.unif(ATTACK, (3.0, 5.0)), x.s.unif(ATTACK, (6.0, 10.0)));
                            x.tx(o, m, w, h, 1.0);
                        }
                    }
                }
            }
        }
        Script::CombinedAttack => {
            x.honest(&prov, 0.25, (1.0, 3.0), (2.0, 6.0), (0.9, 1.0), None, false);
            if d == 120 {
                x.s.roles.atk = x.create_group("attacker", 20);
            }
            if d > 120 {
                let atk = x.s.roles.atk.clone();
                for &a in &atk {
                    if x.s.bern(ATTACK, 0.3) {
                        let o = x.other(ATTACK, &atk, a);
                        let (w, h) = (x.s.unif(ATTACK, (2.0, 4.0)), x.s.unif(ATTACK, (4.0, 8.0)));
                        x.tx(o, a, w, h, 1.0);
                    }
                    if d > 200 && x.s.bern(ATTACK, 0.4) {
                        let o = x.other(ATTACK, &atk, a);
                        x.tx(o, a, 4.0, 8.0, 1.0);
                        x.praise(o, a, 0.8);
                    }
                }
            }
        }
        Script::FsWave => {
            x.honest(&prov, 0.25, (1.0, 3.0), (2.0, 6.0), (0.9, 1.0), None, false);
            for (k, start) in [100u32, 250, 400, 550].into_iter().enumerate() {
                if d == start {
                    let g = x.create_group(&format!("atk_wave_{k}"), 8);
                    x.s.roles.waves.push(g);
                    x.s.roles.wave_day.push(d);
                }
                if (start..start + 50).contains(&d) {
                    let g = x.s.roles.waves[k].clone();
                    let v = if k == 3 { 0.5 } else { 1.0 };
                    x.ring(&g, 0.4, FIXED(3.0), FIXED(6.0), v);
                }
            }
        }
        Script::FsSlowDegradation | Script::Mp1SlowDegradation => {
            let q = if d < 180 { 0.95 } else { (0.95 - f64::from(d - 180) * 0.002).max(0.3) };
            let deg = x.s.roles.atk[0];
            let cons = x.s.roles.cons.clone();
            if x.s.bern(ATTACK, 0.3) {
                let c = x.pick_of(ATTACK, &cons);
                let (w, h) = (x.s.unif(ATTACK, (2.0, 4.0)), x.s.unif(ATTACK, (3.0, 7.0)));
                let completed = if script == Script::Mp1SlowDegradation {
                    let cq = if q < 0.7 { 0.3 } else { 0.05 };
                    x.s.u(COMPLETION) > cq
                } else {
                    true
                };
                x.tx_full(c, deg, w, h, q, completed, false);
            }
            x.honest(&prov, 0.25, (1.0, 3.0), (2.0, 6.0), (0.9, 1.0), None, false);
        }
        Script::Hoarding => {
            let cons = x.s.roles.cons.clone();
            for &n in &prov {
                if x.s.bern(HONEST, 0.3) {
                    let c = x.pick_of(HONEST, &cons);
                    let (w, h, v) =
                        (x.s.unif(HONEST, (1.0, 3.0)), x.s.unif(HONEST, (2.0, 6.0)), x.s.unif(HONEST, (0.9, 1.0)));
                    x.tx(c, n, w, h, v);
                }
                if x.s.bern(HONEST, 0.2) {
                    let y = x.other(HONEST, &prov, n);
                    let (w, h, v) =
                        (x.s.unif(HONEST, (1.0, 2.0)), x.s.unif(HONEST, (1.0, 3.0)), x.s.unif(HONEST, (0.9, 1.0)));
                    x.tx(n, y, w, h, v);
                }
            }
            let hoarders = x.s.roles.atk.clone();
            x.honest(&hoarders, 0.3, (2.0, 4.0), (3.0, 7.0), (0.9, 1.0), None, false);
        }
        Script::FsGini | Script::Mp1Gini => {
            let cons = x.s.roles.cons.clone();
            let whales = x.s.roles.whales.clone();
            for &wh in &whales {
                let reps = if script == Script::Mp1Gini && d >= 300 { 3 } else { 5 };
                for _ in 0..reps {
                    if x.s.bern(WHALE, 0.6) {
                        let c = x.pick_of(WHALE, &cons);
                        let (w, h, v) =
                            (x.s.unif(WHALE, (3.0, 6.0)), x.s.unif(WHALE, (4.0, 10.0)), x.s.unif(WHALE, (0.95, 1.0)));
                        x.tx(c, wh, w, h, v);
                    }
                }
                if script == Script::Mp1Gini && x.s.bern(PRAISE, 0.2) {
                    let c = x.pick_of(PRAISE, &cons);
                    x.praise(c, wh, 0.9);
                }
            }
            x.honest(&prov, 0.15, (1.0, 2.0), (1.0, 4.0), (0.85, 0.95), None, false);
        }
        Script::AttackRecovery | Script::AttackAndRecovery => {
            x.honest(&prov, 0.25, (1.0, 3.0), (2.0, 6.0), (0.9, 1.0), None, false);
            if d == 180 {
                x.s.roles.atk = x.create_group("attacker", 15);
            }
            if (180..360).contains(&d) {
                let cons = x.s.roles.cons.clone();
                let atk = x.s.roles.atk.clone();
                for &a in &atk {
                    if x.s.bern(ATTACK, 0.3) {
                        let c = x.pick_of(ATTACK, &cons);
                        let (w, h, v) =
                            (x.s.unif(ATTACK, (2.0, 4.0)), x.s.unif(ATTACK, (3.0, 7.0)), x.s.unif(ATTACK, (0.2, 0.5)));
                        x.tx(c, a, w, h, v);
                    }
                    if script == Script::AttackAndRecovery && x.s.bern(ATTACK, 0.1) {
                        let t = x.pick_of(ATTACK, &prov);
                        x.accuse(a, t, -0.5);
                    }
                }
            }
        }
        Script::SustainedPressure => {
            x.honest(&prov, 0.25, (1.0, 3.0), (2.0, 6.0), (0.9, 1.0), None, false);
            if d > 90 {
                let atk = x.s.roles.atk.clone();
                for &a in &atk {
                    if x.s.bern(ATTACK, 0.15) {
                        let o = x.other(ATTACK, &atk, a);
                        x.tx(o, a, 2.0, 4.0, 1.0);
                    }
                    if x.s.bern(ATTACK, 0.05) {
                        let t = x.pick_of(ATTACK, &prov);
                        x.accuse(a, t, -0.3);
                    }
                }
            }
        }
        Script::Mp1Baseline => {
            let (p10, c20) = (prov[..10].to_vec(), x.s.roles.cons[..20].to_vec());
            x.honest(&p10, 0.3, (1.0, 4.0), (1.0, 8.0), (0.85, 1.0), Some(0.1), false);
            if x.s.bern(PRAISE, 0.05) {
                let a = x.pick_of(PRAISE, &c20);
                let t = x.pick_of(PRAISE, &p10);
                let sc = x.s.unif(PRAISE, (0.3, 0.8));
                x.praise(a, t, sc);
            }
            if d.is_multiple_of(30) && d > 0 {
                x.create(format!("provider_{}", 10 + d / 30));
                x.create(format!("consumer_{}", 20 + d / 30));
            }
        }
        Script::TrustInflation => {
            x.honest(&prov, 0.2, (1.0, 3.0), (2.0, 6.0), (0.9, 1.0), None, false);
            if d > 90 {
                let reps = if d > 180 { 3 } else { 1 };
                let atk = x.s.roles.atk.clone();
                for &m in &atk {
                    for _ in 0..reps {
                        let o = x.other(ATTACK, &atk, m);
                        let (w, h) = (x.s.unif(ATTACK, (3.0, 5.0)), x.s.unif(ATTACK, (6.0, 10.0)));
                        x.tx(o, m, w, h, 1.0);
                        if x.s.bern(PRAISE, 0.3) {
                            x.praise(o, m, 0.9);
                        }
                    }
                }
            }
        }
        Script::SybilExplosion => {
            x.honest(&prov, 0.25, (1.0, 3.0), (2.0, 6.0), (0.9, 1.0), None, false);
            if d == 180 {
                x.s.roles.atk = x.create_group("sybil", 30);
            }
            if d >= 180 {
                let atk = x.s.roles.atk.clone();
                x.ring(&atk, 0.4, (2.0, 4.0), (4.0, 8.0), 1.0);
                if d > 220 {
                    let cons = x.s.roles.cons.clone();
                    let chosen = x.s.sample(SAMPLE, &atk, 5);
                    for s in chosen {
                        if x.s.bern(ATTACK, 0.2) {
                            let c = x.pick_of(ATTACK, &cons);
                            let (w, h, v) = (
                                x.s.unif(ATTACK, (2.0, 4.0)),
                                x.s.unif(ATTACK, (4.0, 8.0)),
                                x.s.unif(ATTACK, (0.3, 0.8)),
                            );
                            x.tx(c, s, w, h, v);
                        }
                    }
                }
            }
        }
        Script::VerificationStarvation => {
            x.honest(&prov, 0.3, (1.0, 3.0), (2.0, 6.0), (0.9, 1.0), None, true);
            let free = x.s.roles.atk.clone();
            x.honest(&free, 0.4, (2.0, 4.0), (3.0, 7.0), (0.8, 0.95), None, false);
        }
        Script::ExtendedBaseline => {
            x.honest(&prov, 0.25, (1.0, 4.0), (1.0, 8.0), (0.85, 1.0), Some(0.08), false);
            if x.s.bern(ASSERT, 0.03) {
                let cons = x.s.roles.cons.clone();
                let a = x.pick_of(ASSERT, &cons);
                let t = x.pick_of(ASSERT, &prov);
                let u1 = x.s.u(ASSERT);
                let sc = if u1 > 0.1 { x.s.unif(ASSERT, (0.2, 0.8)) } else { x.s.unif(ASSERT, (-0.5, -0.2)) };
                let _label = x.s.u(ASSERT);
                x.assertion(a, t, sc);
            }
            if d.is_multiple_of(45) && d > 0 {
                let (np, nc) = (x.s.roles.prov.len(), x.s.roles.cons.len());
                let i = x.create(format!("provider_{np}"));
                x.s.roles.prov.push(i);
                let j = x.create(format!("consumer_{nc}"));
                x.s.roles.cons.push(j);
            }
        }
        Script::AdversarialMulti => {
            x.honest(&prov, 0.25, (1.0, 3.0), (2.0, 6.0), (0.9, 1.0), None, false);
            if let Some(&(_, n, name, _)) = WAVES.iter().find(|w| w.0 == d) {
                let g = if n == 1 { vec![x.create(name.to_string())] } else { x.create_group(name, n) };
                x.s.roles.waves.push(g);
                x.s.roles.wave_day.push(d);
            }
            let cons = x.s.roles.cons.clone();
            for k in 0..x.s.roles.waves.len() {
                if x.s.roles.wave_day[k] >= d {
                    continue;
                }
                let g = x.s.roles.waves[k].clone();
                match k {
                    0 => x.ring(&g, 0.3, FIXED(2.0), FIXED(4.0), 1.0),
                    1 => {
                        for &m in &g {
                            for _ in 0..2 {
                                if x.s.bern(ATTACK, 0.4) {
                                    let o = x.other(ATTACK, &g, m);
                                    x.tx(o, m, 4.0, 8.0, 1.0);
                                }
                            }
                        }
                    }
                    2 => {
                        for &h in &g {
                            if x.s.bern(ATTACK, 0.3) {
                                let c = x.pick_of(ATTACK, &cons);
                                x.tx(c, h, 3.0, 6.0, 0.95);
                            }
                        }
                    }
                    3 => {
                        if x.s.bern(ATTACK, 0.3) {
                            let c = x.pick_of(ATTACK, &cons);
                            let v = (0.95 - 0.001 * f64::from(d - 990)).max(0.3);
                            x.tx(c, g[0], 2.0, 4.0, v);
                        }
                    }
                    _ => {
                        for &a in &g {
                            if x.s.bern(ATTACK, 0.3) {
                                let o = x.other(ATTACK, &g, a);
                                x.tx(o, a, 3.0, 6.0, 1.0);
                            }
                            if x.s.bern(ATTACK, 0.1) {
                                let t = x.pick_of(ATTACK, &prov);
                                x.accuse(a, t, -0.5);
                            }
                        }
                    }
                }
            }
        }
        Script::CombinedSybilInflation => {
            x.honest(&prov, 0.25, (1.0, 3.0), (2.0, 6.0), (0.9, 1.0), None, false);
            if d == 120 {
                x.s.roles.atk = x.create_group("sybil", 20);
            }
            if d > 120 {
                let atk = x.s.roles.atk.clone();
                x.ring(&atk, 0.3, (2.0, 4.0), (4.0, 8.0), 1.0);
                if d > 200 {
                    let chosen = x.s.sample(SAMPLE, &atk, 10);
                    for s in chosen {
                        for _ in 0..2 {
                            if x.s.bern(ATTACK, 0.4) {
                                let o = x.other(ATTACK, &atk, s);
                                x.tx(o, s, 4.0, 8.0, 1.0);
                                if x.s.bern(PRAISE, 0.2) {
                                    x.praise(o, s, 0.8);
                                }
                            }
                        }
                    }
                }
            }
        }
        Script::Mp2Wave => {
            x.honest(&prov, 0.25, (1.0, 3.0), (2.0, 6.0), (0.9, 1.0), None, false);
            let cons = x.s.roles.cons.clone();
            const STARTS: [u32; 4] = [100, 250, 400, 550];
            const INTENSITY: [f64; 4] = [0.3, 0.5, 0.7, 0.4];
            for k in 0..4 {
                let (start, i) = (STARTS[k], INTENSITY[k]);
                if d == start {
                    let n = (10.0 * i).floor() as u32;
                    let g = x.create_group(&format!("attacker_wave_{k}"), n);
                    x.s.roles.waves.push(g);
                    x.s.roles.wave_day.push(d);
                }
                if !(start..start + 50).contains(&d) {
                    continue;
                }
                let g = x.s.roles.waves[k].clone();
                for &a in &g {
                    match k {
                        0 => {
                            if x.s.bern(ATTACK, i) {
                                let o = x.other(ATTACK, &g, a);
                                x.tx(o, a, 2.0, 4.0, 1.0);
                            }
                        }
                        1 => {
                            for _ in 0..2 {
                                if x.s.bern(ATTACK, i) {
                                    let o = x.other(ATTACK, &g, a);
                                    x.tx(o, a, 4.0, 8.0, 1.0);
                                }
                            }
                        }
                        2 => {
                            if x.s.bern(ATTACK, i) {
                                let o = x.other(ATTACK, &g, a);
                                x.tx(o, a, 3.0, 6.0, 1.0);
                                x.praise(o, a, 0.9);
                            }
                        }
                        _ => {
                            if x.s.bern(ATTACK, i) {
                                let c = x.pick_of(ATTACK, &cons);
                                let v = (0.9 - 0.01 * f64::from(d - start)).max(0.3);
                                x.tx(c, a, 2.0, 4.0, v);
                            }
                        }
                    }
                }
            }
        }
        Script::PolicyComparison => {
            x.honest(&prov, 0.25, (1.0, 3.0), (2.0, 6.0), (0.9, 1.0), None, false);
            if d == 180 {
                x.s.roles.atk = x.create_group("sybil", 20);
            }
            if d > 180 {
                let atk = x.s.roles.atk.clone();
                x.ring(&atk, 0.3, FIXED(3.0), FIXED(6.0), 1.0);
            }
        }
        Script::Sensitivity => x.honest(&prov, 0.3, (1.0, 4.0), (1.0, 8.0), (0.85, 1.0), None, false),
    }
}
