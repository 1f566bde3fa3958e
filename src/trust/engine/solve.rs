//! Cluster grouping and weights, and the fixed-point solve.

use super::*;

impl TrustEngine {
    /// Cluster groups and weights from the whole history. A query:
    /// nothing is stored.
    pub fn clusters(&self) -> Clusters {
        let n = self.ids.len();
        let mut weights = vec![1.0; n];
        let groups = match self.rules.cluster_grouping {
            ClusterGrouping::Greedy => self.greedy_groups(),
            ClusterGrouping::Components => self.component_groups(),
        };
        let mut mark = vec![0u32; n];
        let mut flagged = Vec::with_capacity(groups.len());
        for (k, g) in groups.iter().enumerate() {
            let inside = 2 * k as u32 + 1;
            let counted = inside + 1;
            for &m in g {
                mark[m as usize] = inside;
            }
            let mut ext = 0usize;
            for &m in g {
                for &(c, _) in &self.ids[m as usize].prov_pairs {
                    let c = c as usize;
                    if mark[c] != inside && mark[c] != counted {
                        mark[c] = counted;
                        ext += 1;
                    }
                }
            }
            let hit = ext < g.len();
            if hit {
                let w = 1.0 / g.len() as f64;
                for &m in g {
                    weights[m as usize] = w;
                }
            }
            flagged.push(hit);
        }
        Clusters { weights, groups, flagged }
    }

    /// Greedy grouping: each mutual pair, in lexicographic order, joins the
    /// first group holding either member (the minimum group id of the two).
    fn greedy_groups(&self) -> Vec<Vec<u32>> {
        let mut g_of: BTreeMap<u32, u32> = BTreeMap::new();
        let mut groups: Vec<Vec<u32>> = Vec::new();
        for &(a, b) in &self.mutual {
            let ga = g_of.get(&a).copied().unwrap_or(NONE);
            let gb = g_of.get(&b).copied().unwrap_or(NONE);
            let g = ga.min(gb);
            if g == NONE {
                let id = groups.len() as u32;
                groups.push(vec![a, b]);
                g_of.insert(a, id);
                g_of.insert(b, id);
            } else {
                for (x, gx) in [(a, ga), (b, gb)] {
                    if gx != g {
                        groups[g as usize].push(x);
                        g_of.insert(x, g);
                    }
                }
            }
        }
        groups
    }

    /// Connected components of the mutual-pair graph, by smallest member.
    fn component_groups(&self) -> Vec<Vec<u32>> {
        let mut parent: BTreeMap<u32, u32> = BTreeMap::new();
        fn find(parent: &mut BTreeMap<u32, u32>, x: u32) -> u32 {
            let mut r = x;
            while let Some(&p) = parent.get(&r) {
                if p == r {
                    break;
                }
                r = p;
            }
            let mut y = x;
            while y != r {
                let p = parent[&y];
                parent.insert(y, r);
                y = p;
            }
            r
        }
        for &(a, b) in &self.mutual {
            parent.entry(a).or_insert(a);
            parent.entry(b).or_insert(b);
            let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
            if ra != rb {
                parent.insert(ra.max(rb), ra.min(rb));
            }
        }
        let nodes: Vec<u32> = parent.keys().copied().collect();
        let mut by_root: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        for x in nodes {
            let r = find(&mut parent, x);
            by_root.entry(r).or_default().push(x);
        }
        by_root.into_values().collect()
    }

    /// The fixed-point solve: stores w and T, returns what it did.
    pub fn solve(&mut self) -> SolveReport {
        let weights = self.clusters().weights;
        self.solve_with_weights(weights)
    }

    /// The solve with cluster weights computed by the caller (one per
    /// identity, in (0, 1]): a study with its own cluster test (the
    /// monetary-policy isolation score) uses the engine's grouping from
    /// [`TrustEngine::clusters`] and its own flags.
    pub fn solve_with_weights(&mut self, weights: Vec<f64>) -> SolveReport {
        assert_eq!(weights.len(), self.ids.len(), "one cluster weight per identity");
        self.fill_tables();
        let clusters = Clusters { weights, groups: Vec::new(), flagged: Vec::new() };
        let p = self.params.clone();
        let t = self.day;
        let n = self.ids.len();
        let mut age = vec![0.0; n];
        let mut tx = vec![0.0; n];
        let mut pen = vec![0.0; n];
        let mut scale = vec![1.0; n];
        let derate = self.rules.age_mode == AgeMode::Derate;
        for (i, x) in self.ids.iter().enumerate() {
            let a = t - x.created;
            let w = clusters.weights[i];
            tx[i] = w * self.at_tx(&x.pos) + self.at_tx(&x.neg);
            pen[i] = self.at_as(&x.pen);
            if derate {
                scale[i] = (f64::from(a) / p.age_maturity_days).min(1.0);
            } else if a > 0 {
                let alpha = if x.provider_txs.is_empty() { p.age_nonprovider_factor } else { 1.0 };
                let e = self.age_table.get(a, p.tau_age);
                let e1 = self.age_table.get(1, p.tau_age);
                age[i] = p.k_age * alpha * (f64::from(a) - (1.0 - e) / (1.0 - e1));
            }
        }
        // The sparse assertion map as CSR rows per subject, with coefficients
        // R + D(t) fixed for this solve.
        let csys = self.rules.system_credibility(&p);
        let mut row = Vec::with_capacity(n + 1);
        let mut col: Vec<u32> = Vec::with_capacity(self.entries.len());
        let mut coef: Vec<f64> = Vec::with_capacity(self.entries.len());
        let mut sys = vec![0.0; n];
        row.push(0u32);
        for (i, x) in self.ids.iter().enumerate() {
            for &e in &x.entries {
                let e = &self.entries[e as usize];
                let c = e.r + self.at_as(&e.d);
                match e.asserter {
                    Some(j) => {
                        col.push(j);
                        coef.push(c);
                    }
                    None => sys[i] += c * csys,
                }
            }
            row.push(col.len() as u32);
        }
        let base: Vec<f64> = (0..n).map(|i| age[i] + tx[i]).collect();
        let mut cur: Vec<f64> = if derate { (0..n).map(|i| scale[i] * tx[i]).collect() } else { base.clone() };
        let mut next = vec![0.0; n];
        let mut assertion = vec![0.0; n];
        let mut cred = vec![0.0; n];
        let log_ref = (1.0 + p.t_reference).ln();
        let (mut iterations, mut residual, mut converged) = (0u32, 0.0f64, false);
        for _ in 0..p.solver_max_iterations {
            for (c, &v) in cred.iter_mut().zip(&cur) {
                *c = if v > 0.0 { (1.0 + v).ln() / log_ref } else { 0.0 };
            }
            let mut r = 0.0f64;
            for i in 0..n {
                let (a, b) = (row[i] as usize, row[i + 1] as usize);
                let mut s = sys[i];
                for k in a..b {
                    s += cred[col[k] as usize] * coef[k];
                }
                assertion[i] = s;
                let v = if derate { scale[i] * (tx[i] + s - pen[i]).max(0.0) } else { (base[i] + s - pen[i]).max(0.0) };
                r = r.max((v - cur[i]).abs());
                next[i] = v;
            }
            std::mem::swap(&mut cur, &mut next);
            iterations += 1;
            residual = r;
            if r < p.solver_epsilon {
                converged = true;
                break;
            }
        }
        for (i, x) in self.ids.iter_mut().enumerate() {
            x.trust = cur[i];
            x.weight = clusters.weights[i];
        }
        self.stats.solves += 1;
        if !converged {
            self.stats.nonconverged += 1;
        }
        self.stats.max_iterations = self.stats.max_iterations.max(iterations);
        self.dirty = false;
        SolveReport {
            day: t,
            iterations,
            converged,
            residual,
            age,
            tx,
            assertion,
            penalty: pen,
            weight: clusters.weights,
        }
    }
}
