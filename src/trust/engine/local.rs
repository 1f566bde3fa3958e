//! Local trust: the frozen edge map and the bounded breadth-first
//! search over it.

use super::*;

impl TrustEngine {
    /// Freeze the edge map at the current day: later local-trust
    /// searches read these weights until the next build.
    pub fn build_edge_snapshot(&mut self) {
        self.snapshot =
            EdgeSnapshot { epoch: self.snapshot.epoch + 1, day: self.day, n_pairs: self.pairs.len() as u32 };
    }

    /// Whether an edge snapshot was ever built.
    pub fn has_edge_snapshot(&self) -> bool {
        self.snapshot.epoch > 0
    }

    /// Day of the edge snapshot.
    pub fn edge_snapshot_day(&self) -> Option<u32> {
        self.has_edge_snapshot().then_some(self.snapshot.day)
    }

    #[inline]
    fn snap_weight(&self, k: u32) -> f64 {
        let pair = &self.pairs[k as usize];
        if pair.snap_epoch == self.snapshot.epoch {
            pair.snap_w
        } else if pair.w.v == 0.0 {
            0.0
        } else {
            pair.w.v * self.dtx(self.snapshot.day - pair.w.day)
        }
    }

    /// Edge count and weight sum of the edge snapshot.
    pub fn edge_snapshot_summary(&self) -> EdgeSummary {
        let n = if self.has_edge_snapshot() { self.snapshot.n_pairs } else { 0 };
        EdgeSummary { n_edges: n as usize, sum_w: (0..n).map(|k| self.snap_weight(k)).sum() }
    }

    /// Live weight of the edge c→p at the current day.
    pub fn live_edge(&self, consumer: Ident, provider: Ident) -> f64 {
        self.pair_index.get(&(consumer.0, provider.0)).map_or(0.0, |&k| self.at_tx(&self.pairs[k as usize].w))
    }

    /// Observer O's view of subject S. Builds the edge snapshot first
    /// if none exists.
    pub fn local_trust(&mut self, observer: Ident, subject: Ident) -> Result<f64, TrustError> {
        self.check(observer)?;
        self.check(subject)?;
        if !self.has_edge_snapshot() {
            self.build_edge_snapshot();
        }
        Ok(self.local_trust_on_snapshot(observer, subject))
    }

    /// [`TrustEngine::local_trust`] on the existing snapshot (none: no path).
    ///
    /// The breadth-first search over the edge map, pruned without changing its
    /// result: a node popped at depth H−1 can only add candidates through
    /// its own edges to S, so it is not scanned but looked up in a table of
    /// S's neighbours; and a node first reached at depth H−1 that is not a
    /// neighbour of S can add nothing, so it is not enqueued. The nodes that
    /// matter are reached in the same order along the same first paths.
    pub fn local_trust_on_snapshot(&self, observer: Ident, subject: Ident) -> f64 {
        let direct = self.live_edge(observer, subject) + 0.5 * self.live_edge(subject, observer);
        if direct > 0.0 {
            return direct;
        }
        if observer == subject {
            return f64::INFINITY;
        }
        let p = &self.params;
        let h = p.max_path_length;
        let (s, limit) = (subject.0, self.snapshot.n_pairs);
        let mut best: Option<f64> = None;
        if self.has_edge_snapshot() && h > 0 {
            let n = self.ids.len();
            // The best edge value between each neighbour of S and S.
            let mut near = vec![f64::NAN; n];
            let sn = &self.ids[s as usize];
            for &(q, k) in &sn.cons_pairs {
                if k < limit {
                    let v = 0.5 * self.snap_weight(k);
                    near[q as usize] = if near[q as usize] >= v { near[q as usize] } else { v };
                }
            }
            for &(c, k) in &sn.prov_pairs {
                if k < limit {
                    let v = self.snap_weight(k);
                    near[c as usize] = if near[c as usize] >= v { near[c as usize] } else { v };
                }
            }
            let mut seen = vec![false; n];
            seen[observer.idx()] = true;
            let mut queue: VecDeque<(u32, u32, f64)> = VecDeque::new();
            queue.push_back((observer.0, 0, f64::INFINITY));
            let mut candidate = |bb: f64, depth: u32| {
                let c = bb * p.transitivity_decay.powi(depth as i32 + 1);
                best = Some(best.map_or(c, |x: f64| x.max(c)));
            };
            while let Some((u, depth, b)) = queue.pop_front() {
                if depth >= h {
                    continue;
                }
                if depth + 1 == h {
                    let v = near[u as usize];
                    if !v.is_nan() {
                        candidate(b.min(v), depth);
                    }
                    continue;
                }
                let last = depth + 2 == h;
                let node = &self.ids[u as usize];
                let split = node.cons_pairs.partition_point(|&(q, _)| q < u);
                // Edge-map order: edges to providers before u, u's own
                // consumers, edges to providers after u.
                let mut visit = |edges: &[(u32, u32)], forward: bool| {
                    for &(v, k) in edges {
                        if k >= limit || (v != s && (seen[v as usize] || (last && near[v as usize].is_nan()))) {
                            continue;
                        }
                        let w = self.snap_weight(k);
                        let bb = b.min(if forward { w } else { 0.5 * w });
                        if v == s {
                            candidate(bb, depth);
                        } else {
                            seen[v as usize] = true;
                            queue.push_back((v, depth + 1, bb));
                        }
                    }
                };
                visit(&node.cons_pairs[..split], true);
                visit(&node.prov_pairs, false);
                visit(&node.cons_pairs[split..], true);
            }
        }
        match best {
            Some(x) => x.max(0.0),
            None => p.new_observer_discount * self.ids[subject.idx()].trust,
        }
    }
}
