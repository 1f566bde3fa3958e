//! A direct-sum trust engine written straight from the formulas, with none
//! of the real engine's incremental caches: every solve re-reads the whole
//! history, clusters come from an all-pairs scan, local trust scans the whole
//! edge list per node. Tests compare the real engine with it on random
//! histories.

use super::Ident;
use super::engine::TrustEngine;
use super::math::{credibility, decay};
use super::params::{AgeMode, ClusterGrouping, FalseAccusationPenalty, PositiveAssertions, Rules, TrustParams};
use rand::RngExt;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

#[derive(Clone, Copy)]
struct Tx {
    c: usize,
    p: usize,
    rw: f64,
    dur: f64,
    vs: f64,
    day: u32,
}

#[derive(Clone, Copy)]
struct As {
    asserter: Option<usize>,
    subject: usize,
    raw: f64,
    w: f64,
    day: u32,
    evidence: bool,
}

pub struct Naive {
    p: TrustParams,
    rules: Rules,
    day: u32,
    created: Vec<u32>,
    trust: Vec<f64>,
    weight: Vec<f64>,
    boost: Vec<f64>,
    txs: Vec<Tx>,
    asr: Vec<As>,
    last_acc: BTreeMap<(usize, usize), u32>,
    last_praise: BTreeMap<(usize, usize), u32>,
    pending: BTreeSet<(usize, usize)>,
    /// Edge map at the last build: (consumer, provider, weight) in edge-map order.
    edges: Option<Vec<(usize, usize, f64)>>,
}

impl Naive {
    pub fn new(p: TrustParams, rules: Rules) -> Self {
        Naive {
            p,
            rules,
            day: 0,
            created: vec![],
            trust: vec![],
            weight: vec![],
            boost: vec![],
            txs: vec![],
            asr: vec![],
            last_acc: BTreeMap::new(),
            last_praise: BTreeMap::new(),
            pending: BTreeSet::new(),
            edges: None,
        }
    }

    pub fn create(&mut self) {
        self.created.push(self.day);
        self.trust.push(0.0);
        self.weight.push(1.0);
        self.boost.push(0.0);
    }

    pub fn tx(&mut self, c: usize, p: usize, rw: f64, dur: f64, vs: f64) {
        self.txs.push(Tx { c, p, rw, dur, vs, day: self.day });
    }

    fn n(&self, c: usize, p: usize) -> usize {
        self.txs.iter().filter(|t| t.c == c && t.p == p).count()
    }

    pub fn assert(&mut self, a: usize, s: usize, score: f64, evidence: bool) -> bool {
        let t = self.day;
        let n = self.n(a, s);
        let w = if score < 0.0 {
            let last = self.last_acc.get(&(a, s)).map_or(-self.p.accusation_window - 1.0, |&d| f64::from(d));
            if n == 0 || f64::from(t) - last < self.p.accusation_window {
                return false;
            }
            self.last_acc.insert((a, s), t);
            self.pending.insert((a, s));
            self.boost[s] += credibility(&self.p, self.trust[a]) * score.abs();
            (n as f64 / f64::from(self.p.full_weight_tx)).min(1.0)
        } else {
            if self.rules.positive_assertions == PositiveAssertions::Checked {
                let last = self.last_praise.get(&(a, s)).map_or(-self.p.praise_window - 1.0, |&d| f64::from(d));
                if a == s || n == 0 || f64::from(t) - last < self.p.praise_window {
                    return false;
                }
                self.last_praise.insert((a, s), t);
            }
            1.0
        };
        self.asr.push(As { asserter: Some(a), subject: s, raw: score, w, day: t, evidence });
        true
    }

    pub fn resolve(&mut self, a: usize, s: usize, verified_bad: bool) {
        if !self.pending.remove(&(a, s)) {
            return;
        }
        self.boost[s] = (self.boost[s] - self.p.resolution_boost_decrement).max(0.0);
        if !verified_bad {
            self.asr.push(As {
                asserter: None,
                subject: a,
                raw: self.p.system_penalty_score,
                w: 1.0,
                day: self.day,
                evidence: true,
            });
        }
    }

    fn consumers_of(&self, p: usize) -> BTreeSet<usize> {
        self.txs.iter().filter(|t| t.p == p).map(|t| t.c).collect()
    }

    pub fn clusters(&self) -> Vec<f64> {
        let n = self.created.len();
        let cons: Vec<BTreeSet<usize>> = (0..n).map(|p| self.consumers_of(p)).collect();
        let mut pairs = Vec::new();
        for a in 0..n {
            for b in a + 1..n {
                if cons[b].contains(&a) && cons[a].contains(&b) {
                    pairs.push((a, b));
                }
            }
        }
        let mut groups: Vec<BTreeSet<usize>> = Vec::new();
        match self.rules.cluster_grouping {
            ClusterGrouping::Greedy => {
                for (a, b) in pairs {
                    match groups.iter_mut().find(|g| g.contains(&a) || g.contains(&b)) {
                        Some(g) => {
                            g.insert(a);
                            g.insert(b);
                        }
                        None => groups.push([a, b].into_iter().collect()),
                    }
                }
            }
            ClusterGrouping::Components => {
                for (a, b) in pairs {
                    let hits: Vec<usize> =
                        (0..groups.len()).filter(|&k| groups[k].contains(&a) || groups[k].contains(&b)).collect();
                    let mut merged: BTreeSet<usize> = [a, b].into_iter().collect();
                    for &k in hits.iter().rev() {
                        merged.extend(groups.remove(k));
                    }
                    groups.push(merged);
                }
                groups.sort_by_key(|g| *g.iter().next().unwrap());
            }
        }
        let mut w = vec![1.0; n];
        for g in &groups {
            let ext: BTreeSet<usize> =
                g.iter().flat_map(|&p| cons[p].iter().copied()).filter(|c| !g.contains(c)).collect();
            if ext.len() < g.len() {
                for &m in g {
                    w[m] = 1.0 / g.len() as f64;
                }
            }
        }
        w
    }

    fn sigma(&self, a: &As) -> f64 {
        match self.rules.false_accusation_penalty {
            FalseAccusationPenalty::Inert => a.raw * a.w,
            FalseAccusationPenalty::Applied => a.raw,
        }
    }

    pub fn penalty(&self, i: usize) -> f64 {
        let t = self.day;
        let mut pen = 0.0;
        for a in self.asr.iter().filter(|a| a.asserter == Some(i)) {
            let s = self.sigma(a);
            let later = |pred: &dyn Fn(f64) -> bool| {
                self.txs.iter().filter(|x| x.p == a.subject && x.day > a.day && pred(x.vs)).count()
            };
            let judged = (s < self.p.false_accusation_score
                && later(&|vs| vs >= self.p.good_tx_score) >= self.p.false_accusation_good_tx as usize)
                || (s > self.p.vouch_score
                    && s >= self.p.false_accusation_score
                    && later(&|vs| vs < self.p.bad_tx_score) >= self.p.vouch_bad_tx as usize);
            if judged {
                pen += self.p.asserter_penalty_factor * s.abs() * decay(t - a.day, self.p.tau_assertion);
            }
        }
        pen
    }

    pub fn solve(&mut self) {
        let (p, t, n) = (self.p.clone(), self.day, self.created.len());
        let w = self.clusters();
        let mut tx = vec![0.0; n];
        let mut age = vec![0.0; n];
        for x in &self.txs {
            let credit = if x.vs >= p.fail_threshold {
                p.base_credit * x.rw * x.dur * x.vs * w[x.p]
            } else {
                -p.fail_penalty * x.rw * x.dur * (p.fail_threshold - x.vs)
            };
            tx[x.p] += credit * decay(t - x.day, p.tau_transaction);
        }
        for (i, a) in age.iter_mut().enumerate() {
            let alpha = if self.txs.iter().any(|x| x.p == i) { 1.0 } else { p.age_nonprovider_factor };
            for d in 0..(t - self.created[i]) {
                *a += p.k_age * alpha * (1.0 - (-f64::from(d) / p.tau_age).exp());
            }
        }
        let pen: Vec<f64> = (0..n).map(|i| self.penalty(i)).collect();
        let csys = self.rules.system_credibility(&p);
        let derate = self.rules.age_mode == AgeMode::Derate;
        let m: Vec<f64> = (0..n).map(|i| (f64::from(t - self.created[i]) / p.age_maturity_days).min(1.0)).collect();
        let mut cur: Vec<f64> =
            if derate { (0..n).map(|i| m[i] * tx[i]).collect() } else { (0..n).map(|i| age[i] + tx[i]).collect() };
        for _ in 0..p.solver_max_iterations {
            let mut ta = vec![0.0; n];
            for a in &self.asr {
                let c = match a.asserter {
                    Some(j) => credibility(&p, cur[j]),
                    None => csys,
                };
                let eps = if a.evidence { 1.0 } else { p.no_evidence_factor };
                ta[a.subject] +=
                    a.raw * a.w * c * (p.residual + (1.0 - p.residual) * decay(t - a.day, p.tau_assertion)) * eps;
            }
            let next: Vec<f64> = (0..n)
                .map(|i| {
                    if derate {
                        m[i] * (tx[i] + ta[i] - pen[i]).max(0.0)
                    } else {
                        (age[i] + tx[i] + ta[i] - pen[i]).max(0.0)
                    }
                })
                .collect();
            let r = (0..n).map(|i| (next[i] - cur[i]).abs()).fold(0.0, f64::max);
            cur = next;
            if r < p.solver_epsilon {
                break;
            }
        }
        self.trust = cur;
        self.weight = w;
    }

    pub fn build_edges(&mut self) {
        let t = self.day;
        let mut edges: Vec<(usize, usize, f64)> = Vec::new();
        for p in 0..self.created.len() {
            for x in self.txs.iter().filter(|x| x.p == p) {
                let v = x.rw * x.dur * x.vs * decay(t - x.day, self.p.tau_transaction);
                match edges.iter_mut().find(|e| e.0 == x.c && e.1 == p) {
                    Some(e) => e.2 += v,
                    None => edges.push((x.c, p, v)),
                }
            }
        }
        self.edges = Some(edges);
    }

    fn live(&self, c: usize, p: usize) -> f64 {
        self.txs
            .iter()
            .filter(|x| x.c == c && x.p == p)
            .map(|x| x.rw * x.dur * x.vs * decay(self.day - x.day, self.p.tau_transaction))
            .sum()
    }

    pub fn local(&mut self, o: usize, s: usize) -> f64 {
        if self.edges.is_none() {
            self.build_edges();
        }
        let d = self.live(o, s) + 0.5 * self.live(s, o);
        if d > 0.0 {
            return d;
        }
        if o == s {
            return f64::INFINITY;
        }
        let edges = self.edges.as_ref().unwrap();
        let mut seen = vec![false; self.created.len()];
        seen[o] = true;
        let mut q = VecDeque::from([(o, 0u32, f64::INFINITY)]);
        let mut best: Option<f64> = None;
        while let Some((u, depth, b)) = q.pop_front() {
            if depth >= self.p.max_path_length {
                continue;
            }
            for &(c, p, w) in edges {
                let (v, val) = if c == u {
                    (p, w)
                } else if p == u {
                    (c, 0.5 * w)
                } else {
                    continue;
                };
                let bb = b.min(val);
                if v == s {
                    let cand = bb * self.p.transitivity_decay.powi(depth as i32 + 1);
                    best = Some(best.map_or(cand, |x: f64| x.max(cand)));
                } else if !seen[v] {
                    seen[v] = true;
                    q.push_back((v, depth + 1, bb));
                }
            }
        }
        match best {
            Some(x) => x.max(0.0),
            None => self.p.new_observer_discount * self.trust[s],
        }
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(1.0) || a == b
}

/// Drive both engines with one random history and compare every output.
fn compare(seed: u64, rules: Rules, params: TrustParams) -> Result<usize, String> {
    use rand::SeedableRng;
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
    let mut e = TrustEngine::new(params.clone(), rules).map_err(|e| e.to_string())?;
    let mut nv = Naive::new(params, rules);
    let mut checks = 0;
    let n0 = rng.random_range(3..9usize);
    for i in 0..n0 {
        e.create_identity(&format!("i{i}"));
        nv.create();
    }
    let days = rng.random_range(20..160u32);
    for day in 1..=days {
        e.set_day(day).map_err(|x| x.to_string())?;
        nv.day = day;
        if rng.random::<f64>() < 0.03 {
            e.create_identity("late");
            nv.create();
        }
        let n = nv.created.len();
        for _ in 0..rng.random_range(0..4) {
            let c = rng.random_range(0..n);
            let p = rng.random_range(0..n);
            if c == p {
                continue;
            }
            let vs = match rng.random_range(0..4) {
                0 => rng.random_range(0.0..0.5),
                1 => rng.random_range(0.5..0.9),
                _ => rng.random_range(0.9..=1.0),
            };
            let (rw, dur) = (rng.random_range(0.5..4.0), rng.random_range(1.0..8.0));
            e.add_transaction(Ident(c as u32), Ident(p as u32), rw, dur, vs).map_err(|x| x.to_string())?;
            nv.tx(c, p, rw, dur, vs);
        }
        for _ in 0..rng.random_range(0..3) {
            let a = rng.random_range(0..n);
            let s = rng.random_range(0..n);
            let score: f64 = rng.random_range(-1.0..=1.0);
            let ev = rng.random::<bool>();
            let got = e.add_assertion(Ident(a as u32), Ident(s as u32), score, "X", ev).map_err(|x| x.to_string())?;
            let want = nv.assert(a, s, score, ev);
            if got != want {
                return Err(format!("day {day}: assertion {a}->{s} {score}: engine {got}, naive {want}"));
            }
            checks += 1;
        }
        if rng.random::<f64>() < 0.1 {
            let a = rng.random_range(0..n);
            let s = rng.random_range(0..n);
            let bad = rng.random::<bool>();
            e.resolve_accusation(Ident(a as u32), Ident(s as u32), bad).map_err(|x| x.to_string())?;
            nv.resolve(a, s, bad);
        }
        if rng.random::<f64>() < 0.05 {
            e.build_edge_snapshot();
            nv.build_edges();
        }
        if rng.random::<f64>() < 0.25 || day == days {
            let rep = e.solve();
            nv.solve();
            for i in 0..n {
                let (a, b) = (e.trust(Ident(i as u32)), nv.trust[i]);
                if !close(a, b) {
                    return Err(format!("day {day}: T[{i}] engine {a}, naive {b}"));
                }
                if e.weight(Ident(i as u32)) != nv.weight[i] {
                    return Err(format!(
                        "day {day}: w[{i}] engine {}, naive {}",
                        e.weight(Ident(i as u32)),
                        nv.weight[i]
                    ));
                }
                let (a, b) = (rep.penalty[i], nv.penalty(i));
                if !close(a, b) {
                    return Err(format!("day {day}: P[{i}] engine {a}, naive {b}"));
                }
                checks += 3;
            }
        }
        if rng.random::<f64>() < 0.3 {
            for _ in 0..3 {
                let o = rng.random_range(0..n);
                let s = rng.random_range(0..n);
                let a = e.local_trust(Ident(o as u32), Ident(s as u32)).map_err(|x| x.to_string())?;
                let b = nv.local(o, s);
                if !close(a, b) {
                    return Err(format!("day {day}: local({o} sees {s}) engine {a}, naive {b}"));
                }
                checks += 1;
            }
        }
    }
    Ok(checks)
}

#[test]
fn engine_matches_direct_sums_on_random_histories() {
    let mut total = 0;
    let rule_sets = [
        Rules::REFERENCE,
        Rules::CORRECTED,
        Rules { age_mode: AgeMode::Derate, ..Rules::CORRECTED },
        Rules { cluster_grouping: ClusterGrouping::Components, ..Rules::REFERENCE },
    ];
    for seed in 0..160u64 {
        let rules = rule_sets[seed as usize % rule_sets.len()];
        let params = if seed % 5 == 4 {
            // Short windows and a quick judgement, so the rarer branches run;
            // every search depth.
            TrustParams {
                accusation_window: 5.0,
                praise_window: 3.0,
                false_accusation_good_tx: 1,
                vouch_bad_tx: 1,
                max_path_length: (seed / 5 % 5) as u32,
                transitivity_decay: 0.7,
                ..TrustParams::default()
            }
        } else {
            TrustParams::default()
        };
        total += compare(seed, rules, params).unwrap_or_else(|m| panic!("seed {seed} ({rules:?}): {m}"));
    }
    assert!(total > 5_000, "only {total} checks");
}

/// Parameters changed mid-run: the engine rebuilds its caches and still
/// equals a direct-sum engine that had the new parameters all along.
#[test]
fn changed_parameters_rebuild_the_caches() {
    use rand::SeedableRng;
    for seed in 0..20u64 {
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
        let new = TrustParams {
            tau_transaction: 180.0,
            tau_assertion: 45.0,
            asserter_penalty_factor: 0.8,
            ..Default::default()
        };
        let mut e = TrustEngine::new(TrustParams::default(), Rules::CORRECTED).unwrap();
        let mut nv = Naive::new(new.clone(), Rules::CORRECTED);
        for i in 0..6 {
            e.create_identity(&format!("i{i}"));
            nv.create();
        }
        for day in 1..=120u32 {
            e.set_day(day).unwrap();
            nv.day = day;
            let c = rng.random_range(0..6usize);
            let p = (c + rng.random_range(1..6usize)) % 6;
            let vs = rng.random_range(0.0..=1.0);
            e.add_transaction(Ident(c as u32), Ident(p as u32), 2.0, 4.0, vs).unwrap();
            nv.tx(c, p, 2.0, 4.0, vs);
            let score = rng.random_range(-1.0..=1.0);
            let a = e.add_assertion(Ident(p as u32), Ident(c as u32), score, "X", true).unwrap();
            assert_eq!(a, nv.assert(p, c, score, true));
            if day == 60 {
                e.set_params(new.clone()).unwrap();
            }
        }
        e.solve();
        nv.solve();
        for i in 0..6 {
            assert!(close(e.trust(Ident(i)), nv.trust[i as usize]), "seed {seed}: T[{i}]");
        }
    }
}

/// The pruned local-trust search equals the plain one on larger random
/// graphs, for every depth, every observer and every subject.
#[test]
fn local_trust_matches_the_plain_search() {
    use rand::SeedableRng;
    for seed in 0..12u64 {
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(100 + seed);
        let n = rng.random_range(10..40usize);
        let h = (seed % 6) as u32;
        let params = TrustParams { max_path_length: h, ..TrustParams::default() };
        let mut e = TrustEngine::new(params.clone(), Rules::REFERENCE).unwrap();
        let mut nv = Naive::new(params, Rules::REFERENCE);
        for i in 0..n {
            e.create_identity(&format!("i{i}"));
            nv.create();
        }
        let edges = rng.random_range(n..4 * n);
        for day in 1..=3u32 {
            e.set_day(day).unwrap();
            nv.day = day;
            for _ in 0..edges / 3 {
                let c = rng.random_range(0..n);
                let p = rng.random_range(0..n);
                if c != p {
                    let (rw, vs) = (rng.random_range(0.5..4.0), rng.random_range(0.0..=1.0));
                    e.add_transaction(Ident(c as u32), Ident(p as u32), rw, 2.0, vs).unwrap();
                    nv.tx(c, p, rw, 2.0, vs);
                }
            }
            if day == 2 {
                e.build_edge_snapshot();
                nv.build_edges();
            }
        }
        e.solve();
        nv.solve();
        for o in 0..n {
            for s in 0..n {
                let a = e.local_trust(Ident(o as u32), Ident(s as u32)).unwrap();
                let b = nv.local(o, s);
                assert!(close(a, b), "seed {seed} H={h}: {o} sees {s}: engine {a}, plain {b}");
            }
        }
    }
}
