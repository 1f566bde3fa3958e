//! The corrected circular-flow detector: flows summed in a window,
//! restricted to strongly connected components, and cancelled along cycles
//! by the normative walk.
//!
//! Pipeline:
//!
//! 1. [`FlowGraph::from_logs`]: bucket the window's entries by sender (a
//!    counting sort), sort each sender's row by receiver and sum equal pairs:
//!    a CSR adjacency of summed gross amounts, in O(E) plus the row sorts.
//! 2. [`FlowGraph::scc`]: Tarjan's algorithm, iterative (a million-deep
//!    recursion would overflow the stack), O(V + E).
//! 3. [`FlowGraph::restrict`]: keep the edges inside one component.
//! 4. [`walk_tree`]: the cancellation walk on link-cut trees,
//!    O((V + E) log V). [`walk_direct`] is the walk step by step,
//!    O(V + E + Σ|C|); tests check that both give the same residuals.
//!
//! The spec also peels nodes without in- or out-edges before Tarjan. Tarjan
//! already puts such nodes in singleton components in the same O(V + E), so
//! a peel pass would only add a reverse adjacency; it is left out.
//!
//! Amounts are `i128`: a window's sum of gross amounts on one edge can
//! exceed `i64` (the same money can go round many times), and the sums stay
//! exact. The cancelled volume of a node is derived from the residuals: each
//! cancelled cycle through j takes f from one out-edge and one in-edge of j,
//! so c_j = Σ_out (g − r) + Σ_in (g − r).

use super::flows::FlowEntry;

const NIL: u32 = u32::MAX;

/// A directed graph of summed flows in compressed sparse rows: the out-edges
/// of node u are `offsets[u]..offsets[u + 1]`, ascending by head, one edge
/// per ordered pair, with its summed gross amount (> 0).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowGraph {
    /// Number of nodes.
    pub n: usize,
    /// Row starts (n + 1 entries).
    pub offsets: Vec<usize>,
    /// Edge heads.
    pub heads: Vec<u32>,
    /// Edge amounts.
    pub gross: Vec<i128>,
}

impl FlowGraph {
    /// The graph of `n` nodes with these edges (u, v, amount); equal pairs
    /// are summed; self-loops and non-positive amounts are dropped.
    pub fn from_edges(n: usize, edges: &[(u32, u32, i128)]) -> FlowGraph {
        let mut rows: Vec<Vec<(u32, i128)>> = vec![Vec::new(); n];
        for &(u, v, a) in edges {
            assert!((u as usize) < n && (v as usize) < n, "edge ({u}, {v}) outside {n} nodes");
            if u != v && a > 0 {
                rows[u as usize].push((v, a));
            }
        }
        let mut g = FlowGraph { n, offsets: Vec::with_capacity(n + 1), heads: Vec::new(), gross: Vec::new() };
        g.offsets.push(0);
        for mut row in rows {
            row.sort_unstable_by_key(|e| e.0);
            for (v, a) in row {
                if g.heads.len() > *g.offsets.last().expect("has a start") && *g.heads.last().expect("nonempty") == v {
                    *g.gross.last_mut().expect("nonempty") += a;
                } else {
                    g.heads.push(v);
                    g.gross.push(a);
                }
            }
            g.offsets.push(g.heads.len());
        }
        g
    }

    /// The graph of the flow entries in `logs` (ledger day logs).
    pub fn from_logs(n: usize, logs: &[&[FlowEntry]]) -> FlowGraph {
        // Counting sort by sender.
        let mut start = vec![0usize; n + 1];
        for log in logs {
            for e in log.iter() {
                start[e.from() as usize + 1] += 1;
            }
        }
        for i in 0..n {
            start[i + 1] += start[i];
        }
        let total = start[n];
        let mut fill = start.clone();
        let mut tmp: Vec<(u32, i64)> = vec![(0, 0); total];
        for log in logs {
            for e in log.iter() {
                let u = e.from() as usize;
                tmp[fill[u]] = (e.to(), e.gross);
                fill[u] += 1;
            }
        }
        drop(fill);
        // Sort each row by receiver and sum equal pairs.
        let mut offsets = Vec::with_capacity(n + 1);
        let mut heads = Vec::with_capacity(total);
        let mut gross: Vec<i128> = Vec::with_capacity(total);
        offsets.push(0);
        for u in 0..n {
            let row = &mut tmp[start[u]..start[u + 1]];
            if row.len() > 1 {
                row.sort_unstable_by_key(|e| e.0);
            }
            let row_start = heads.len();
            for &(v, a) in row.iter() {
                if heads.len() > row_start && heads[heads.len() - 1] == v {
                    *gross.last_mut().expect("nonempty") += a as i128;
                } else {
                    heads.push(v);
                    gross.push(a as i128);
                }
            }
            offsets.push(heads.len());
        }
        FlowGraph { n, offsets, heads, gross }
    }

    /// Number of edges.
    pub fn edges(&self) -> usize {
        self.heads.len()
    }

    /// Out-edge index range of `u`.
    #[inline]
    pub fn row(&self, u: usize) -> std::ops::Range<usize> {
        self.offsets[u]..self.offsets[u + 1]
    }

    /// V_i: gross out plus gross in, per node.
    pub fn volumes(&self) -> Vec<i128> {
        let mut vol = vec![0i128; self.n];
        for u in 0..self.n {
            for e in self.row(u) {
                vol[u] += self.gross[e];
                vol[self.heads[e] as usize] += self.gross[e];
            }
        }
        vol
    }

    /// Strongly connected components (Tarjan, iterative): a component id per
    /// node.
    pub fn scc(&self) -> Vec<u32> {
        let n = self.n;
        let mut index = vec![NIL; n];
        let mut low = vec![0u32; n];
        let mut comp = vec![NIL; n];
        let mut stack: Vec<u32> = Vec::new();
        let mut call: Vec<(u32, usize)> = Vec::new();
        let mut next = 0u32;
        let mut ncomp = 0u32;
        for root in 0..n {
            if index[root] != NIL {
                continue;
            }
            index[root] = next;
            low[root] = next;
            next += 1;
            stack.push(root as u32);
            call.push((root as u32, self.offsets[root]));
            while let Some(top) = call.last_mut() {
                let v = top.0 as usize;
                if top.1 < self.offsets[v + 1] {
                    let w = self.heads[top.1] as usize;
                    top.1 += 1;
                    if index[w] == NIL {
                        index[w] = next;
                        low[w] = next;
                        next += 1;
                        stack.push(w as u32);
                        call.push((w as u32, self.offsets[w]));
                    } else if comp[w] == NIL {
                        low[v] = low[v].min(index[w]);
                    }
                } else {
                    call.pop();
                    if let Some(&(u, _)) = call.last() {
                        low[u as usize] = low[u as usize].min(low[v]);
                    }
                    if low[v] == index[v] {
                        loop {
                            let x = stack.pop().expect("v is on the stack") as usize;
                            comp[x] = ncomp;
                            if x == v {
                                break;
                            }
                        }
                        ncomp += 1;
                    }
                }
            }
        }
        comp
    }

    /// The edges whose two ends lie in the same component (no other edge can
    /// lie on a cycle).
    pub fn restrict(&self, comp: &[u32]) -> FlowGraph {
        let mut offsets = Vec::with_capacity(self.n + 1);
        let mut heads = Vec::new();
        let mut gross = Vec::new();
        offsets.push(0);
        for u in 0..self.n {
            for e in self.row(u) {
                let v = self.heads[e];
                if comp[v as usize] == comp[u] {
                    heads.push(v);
                    gross.push(self.gross[e]);
                }
            }
            offsets.push(heads.len());
        }
        FlowGraph { n: self.n, offsets, heads, gross }
    }

    /// c_j = Σ_out (g − r) + Σ_in (g − r) for residuals `residual`.
    pub fn cancelled(&self, residual: &[i128]) -> Vec<i128> {
        let mut c = vec![0i128; self.n];
        for u in 0..self.n {
            for e in self.row(u) {
                let d = self.gross[e] - residual[e];
                c[u] += d;
                c[self.heads[e] as usize] += d;
            }
        }
        c
    }

    /// Whether the edges with residual > 0 form no cycle.
    pub fn is_acyclic(&self, residual: &[i128]) -> bool {
        let kept: Vec<(u32, u32, i128)> = (0..self.n)
            .flat_map(|u| self.row(u).map(move |e| (u, e)))
            .filter(|&(_, e)| residual[e] > 0)
            .map(|(u, e)| (u as u32, self.heads[e], residual[e]))
            .collect();
        let h = FlowGraph::from_edges(self.n, &kept);
        let comp = h.scc();
        (0..h.n).all(|u| h.row(u).all(|e| comp[h.heads[e] as usize] != comp[u]))
    }
}

/// The whole corrected pipeline on a window graph: (c_i, V_i).
pub fn corrected(g: FlowGraph) -> (Vec<i128>, Vec<i128>) {
    let volume = g.volumes();
    let comp = g.scc();
    let r = g.restrict(&comp);
    drop(g);
    let residual = walk_tree(&r);
    (r.cancelled(&residual), volume)
}

/// The cancellation walk, step by step on the edge lists: a path from each unfinished
/// start node, cursors over out-edges ascending by head, a cycle cancelled
/// whenever the path meets itself. Returns the residual of every edge.
pub fn walk_direct(g: &FlowGraph) -> Vec<i128> {
    let n = g.n;
    let mut res = g.gross.clone();
    let mut cur: Vec<usize> = g.offsets[..n].to_vec();
    let mut finished = vec![false; n];
    let mut pos = vec![NIL; n];
    let mut path: Vec<u32> = Vec::new();
    for s in 0..n {
        if finished[s] {
            continue;
        }
        path.clear();
        path.push(s as u32);
        pos[s] = 0;
        while let Some(&v) = path.last() {
            let v = v as usize;
            let end = g.offsets[v + 1];
            let mut e = cur[v];
            while e < end && (res[e] == 0 || finished[g.heads[e] as usize]) {
                e += 1;
            }
            cur[v] = e;
            if e == end {
                finished[v] = true;
                pos[v] = NIL;
                path.pop();
                continue;
            }
            let w = g.heads[e] as usize;
            if pos[w] == NIL {
                pos[w] = path.len() as u32;
                path.push(w as u32);
                continue;
            }
            // The cycle: the path from w to v, then (v, w). Each path node's
            // current edge leads to the next node.
            let i = pos[w] as usize;
            let f = path[i..].iter().map(|&x| res[cur[x as usize]]).min().expect("a cycle has edges");
            for &x in &path[i..] {
                res[cur[x as usize]] -= f;
            }
            let k = (i..path.len()).find(|&k| res[cur[path[k] as usize]] == 0).expect("the minimum edge is zero");
            for &x in &path[k + 1..] {
                pos[x as usize] = NIL;
            }
            path.truncate(k + 1);
        }
    }
    res
}

/// The integer type of the tree walk's residuals: `i64` when the graph's
/// total flow leaves room (the usual case: smaller nodes, cheaper
/// arithmetic), `i128` otherwise. Both give the same results.
trait Amount:
    Copy
    + Ord
    + std::fmt::Debug
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::AddAssign
    + std::ops::SubAssign
    + std::ops::Neg<Output = Self>
{
    const ZERO: Self;
    /// "No edge": above any real residual, and far from overflow after the
    /// subtractions it can receive.
    const INF: Self;
    /// The minimum of an empty subtree.
    const EMPTY: Self;
    fn of(x: i128) -> Self;
    fn wide(self) -> i128;
}

impl Amount for i64 {
    const ZERO: i64 = 0;
    const INF: i64 = i64::MAX / 4;
    const EMPTY: i64 = i64::MAX;
    #[inline]
    fn of(x: i128) -> i64 {
        x as i64
    }
    #[inline]
    fn wide(self) -> i128 {
        self as i128
    }
}

impl Amount for i128 {
    const ZERO: i128 = 0;
    const INF: i128 = i128::MAX / 4;
    const EMPTY: i128 = i128::MAX;
    #[inline]
    fn of(x: i128) -> i128 {
        x
    }
    #[inline]
    fn wide(self) -> i128 {
        self
    }
}

/// A link-cut tree node: splay children, parent (splay or path-parent), the
/// residual of the node's current edge (INF at a root), the minimum over its
/// splay subtree, a pending add for that subtree, and each child's subtree
/// minimum (so that a rotation reads no node beyond those it relinks). One
/// cache line with `i64` amounts.
#[derive(Clone, Copy)]
#[repr(align(64))]
struct Node<A> {
    ch: [u32; 2],
    fa: u32,
    val: A,
    min: A,
    lazy: A,
    cmin: [A; 2],
}

/// Link-cut trees (Sleator–Tarjan) on splay trees, rooted (no re-rooting),
/// with path minimum and lazy path add of the node values.
struct Lct<A> {
    t: Vec<Node<A>>,
    stack: Vec<u32>,
}

impl<A: Amount> Lct<A> {
    fn new(n: usize) -> Lct<A> {
        let node = Node { ch: [NIL; 2], fa: NIL, val: A::INF, min: A::INF, lazy: A::ZERO, cmin: [A::EMPTY; 2] };
        Lct { t: vec![node; n], stack: Vec::new() }
    }

    #[inline]
    fn is_root(&self, x: u32) -> bool {
        let f = self.t[x as usize].fa;
        f == NIL || (self.t[f as usize].ch[0] != x && self.t[f as usize].ch[1] != x)
    }

    /// Add `d` to every value of x's splay subtree.
    #[inline]
    fn apply(&mut self, x: u32, d: A) {
        let n = &mut self.t[x as usize];
        n.val += d;
        n.min += d;
        n.lazy += d;
        for i in 0..2 {
            if n.ch[i] != NIL {
                n.cmin[i] += d;
            }
        }
    }

    #[inline]
    fn push(&mut self, x: u32) {
        let n = self.t[x as usize];
        if n.lazy != A::ZERO {
            for c in n.ch {
                if c != NIL {
                    self.apply(c, n.lazy);
                }
            }
            self.t[x as usize].lazy = A::ZERO;
        }
    }

    #[inline]
    fn pull(&mut self, x: u32) {
        let n = &mut self.t[x as usize];
        n.min = n.val.min(n.cmin[0]).min(n.cmin[1]);
    }

    /// Make `c` child `i` of `x` (NIL for none), keeping x's cached minimum.
    #[inline]
    fn set_child(&mut self, x: u32, i: usize, c: u32) {
        let m = if c == NIL { A::EMPTY } else { self.t[c as usize].min };
        let n = &mut self.t[x as usize];
        n.ch[i] = c;
        n.cmin[i] = m;
    }

    #[inline]
    fn rotate(&mut self, x: u32) {
        let y = self.t[x as usize].fa;
        let z = self.t[y as usize].fa;
        let dx = (self.t[y as usize].ch[1] == x) as usize;
        if !self.is_root(y) {
            let dy = (self.t[z as usize].ch[1] == y) as usize;
            // x's subtree after the rotation holds y's nodes: z's cached
            // minimum is unchanged.
            self.t[z as usize].ch[dy] = x;
        }
        self.t[x as usize].fa = z;
        let b = self.t[x as usize].ch[dx ^ 1];
        if b != NIL {
            self.t[b as usize].fa = y;
        }
        self.set_child(y, dx, b);
        self.pull(y);
        self.t[y as usize].fa = x;
        self.set_child(x, dx ^ 1, y);
        self.pull(x);
    }

    fn splay(&mut self, x: u32) {
        // Push pending adds down from the splay root to x.
        let mut stack = std::mem::take(&mut self.stack);
        stack.clear();
        let mut y = x;
        stack.push(y);
        while !self.is_root(y) {
            y = self.t[y as usize].fa;
            stack.push(y);
        }
        while let Some(z) = stack.pop() {
            self.push(z);
        }
        self.stack = stack;
        while !self.is_root(x) {
            let y = self.t[x as usize].fa;
            if !self.is_root(y) {
                let z = self.t[y as usize].fa;
                let zig_zig = (self.t[y as usize].ch[0] == x) == (self.t[z as usize].ch[0] == y);
                self.rotate(if zig_zig { y } else { x });
            }
            self.rotate(x);
        }
    }

    /// Make the path from x's tree root to x one splay tree, rooted at x.
    fn access(&mut self, x: u32) {
        let mut last = NIL;
        let mut y = x;
        while y != NIL {
            self.splay(y);
            self.set_child(y, 1, last);
            self.pull(y);
            last = y;
            y = self.t[y as usize].fa;
        }
        self.splay(x);
    }

    /// The root of x's tree (splayed to the top of its splay tree).
    fn find_root(&mut self, x: u32) -> u32 {
        self.access(x);
        let mut r = x;
        loop {
            self.push(r);
            let l = self.t[r as usize].ch[0];
            if l == NIL {
                break;
            }
            r = l;
        }
        self.splay(r);
        r
    }

    /// Link tree root x, which is at the top of its splay tree, under w
    /// through an edge of residual `val`: x becomes a path-parent child of w.
    fn link_top(&mut self, x: u32, w: u32, val: A) {
        debug_assert!(self.is_root(x) && self.t[x as usize].ch[0] == NIL, "x is the top of its tree");
        let n = &mut self.t[x as usize];
        n.val = val;
        n.fa = w;
        self.pull(x);
    }

    /// Detach x's left splay subtree (the path above x) and clear x's value;
    /// x must be at the top of its splay tree. Returns the old value.
    fn detach_left(&mut self, x: u32) -> A {
        let l = self.t[x as usize].ch[0];
        debug_assert!(l != NIL, "cut of a root");
        self.t[l as usize].fa = NIL;
        self.set_child(x, 0, NIL);
        let n = &mut self.t[x as usize];
        let v = n.val;
        n.val = A::INF;
        self.pull(x);
        v
    }

    /// Cut x from its parent; returns the residual its edge had.
    fn cut(&mut self, x: u32) -> A {
        self.access(x);
        self.detach_left(x)
    }

    /// After `find_root(s)` returned r (at the top of the splay tree of the
    /// path r..s): cut the edge from the node just below r on that path to r,
    /// and return that node, now a tree root at the top of its splay tree.
    fn cut_below_top(&mut self, r: u32) -> (u32, A) {
        let mut y = self.t[r as usize].ch[1];
        debug_assert!(y != NIL);
        loop {
            self.push(y);
            let l = self.t[y as usize].ch[0];
            if l == NIL {
                break;
            }
            y = l;
        }
        // Within the path's splay tree only r is shallower than y: after
        // splaying y, r is its whole left subtree.
        self.splay(y);
        debug_assert_eq!(self.t[y as usize].ch[0], r);
        (y, self.detach_left(y))
    }

    /// The nodes of the splay tree under `top` whose value is 0 (pending adds
    /// pushed on the way down; subtrees whose minimum is above 0 skipped).
    fn zeros(&mut self, top: u32, out: &mut Vec<u32>) {
        let mut stack = std::mem::take(&mut self.stack);
        stack.clear();
        stack.push(top);
        while let Some(x) = stack.pop() {
            self.push(x);
            let n = self.t[x as usize];
            if n.val == A::ZERO {
                out.push(x);
            }
            for i in 0..2 {
                if n.ch[i] != NIL && n.cmin[i] == A::ZERO {
                    stack.push(n.ch[i]);
                }
            }
        }
        self.stack = stack;
    }
}

/// The same cancellation walk on a forest in which each node's parent is
/// the head of its current edge (link-cut trees): the path top is the root
/// of the start node's tree; a cycle exists when the head of the top's edge
/// lies in the top's tree; zeroed edges are cut; edges into finished nodes
/// are cut when the walk next reaches them. It finds the same cycles in the
/// same order as [`walk_direct`], in O((V + E) log V). Returns the residual
/// of every edge.
pub fn walk_tree(g: &FlowGraph) -> Vec<i128> {
    // i64 amounts while the total flow stays far below INF = i64::MAX / 4.
    let total: i128 = g.gross.iter().sum();
    if total < 1i128 << 60 { walk_tree_with::<i64>(g) } else { walk_tree_with::<i128>(g) }
}

fn walk_tree_with<A: Amount>(g: &FlowGraph) -> Vec<i128> {
    let n = g.n;
    let mut res: Vec<A> = g.gross.iter().map(|&x| A::of(x)).collect();
    let mut cur: Vec<usize> = g.offsets[..n].to_vec();
    let mut finished = vec![false; n];
    let mut linked = vec![false; n];
    let mut lct = Lct::<A>::new(n);
    let mut zeros: Vec<u32> = Vec::new();
    for s in 0..n {
        if finished[s] {
            continue;
        }
        if g.offsets[s] == g.offsets[s + 1] {
            // No out-edge: nothing can be linked under a node of a
            // restricted graph that has none, so it finishes at once.
            finished[s] = true;
            continue;
        }
        // r: the root of s's tree (the path top), kept at the top of its
        // splay tree so that linking it is O(1).
        let mut r = lct.find_root(s as u32) as usize;
        loop {
            if finished[r] {
                // The node below r on s's path still points at r: cut that
                // edge; its tail is the new top and advances past it next.
                lct.find_root(s as u32);
                let (y, v) = lct.cut_below_top(r as u32);
                let y = y as usize;
                res[cur[y]] = v;
                linked[y] = false;
                r = y;
                continue;
            }
            let end = g.offsets[r + 1];
            let mut e = cur[r];
            while e < end && (res[e] == A::ZERO || finished[g.heads[e] as usize]) {
                e += 1;
            }
            cur[r] = e;
            if e == end {
                finished[r] = true;
                if r == s {
                    break;
                }
                continue;
            }
            let w = g.heads[e];
            let rw = lct.find_root(w) as usize;
            if rw != r {
                // w's tree is another one: r goes under w, and the new top
                // is w's root (left at the top of its splay tree).
                lct.link_top(r as u32, w, res[e]);
                linked[r] = true;
                r = rw;
                continue;
            }
            // Cycle: w's tree path up to r, then (r, w). `find_root(w)` left
            // that path as one splay tree with r at its top.
            let f = lct.t[r].min.min(res[e]);
            lct.apply(r as u32, -f);
            res[e] -= f;
            if lct.t[r].min == A::ZERO {
                // Zeroed tree edges: cut them all, then find s's new top.
                zeros.clear();
                lct.zeros(r as u32, &mut zeros);
                for &z in &zeros {
                    lct.cut(z);
                    res[cur[z as usize]] = A::ZERO;
                    linked[z as usize] = false;
                }
                r = lct.find_root(s as u32) as usize;
            }
        }
    }
    for x in 0..n {
        if linked[x] {
            lct.access(x as u32);
            res[cur[x]] = lct.t[x].val;
        }
    }
    res.into_iter().map(A::wide).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ring(k: u32, a: i128) -> Vec<(u32, u32, i128)> {
        (0..k).map(|i| (i, (i + 1) % k, a)).collect()
    }

    #[test]
    fn csr_sums_pairs_and_sorts_rows() {
        let g = FlowGraph::from_edges(3, &[(0, 2, 5), (0, 1, 1), (0, 2, 7), (2, 0, 3), (1, 1, 9)]);
        assert_eq!(g.offsets, vec![0, 2, 2, 3]);
        assert_eq!(g.heads, vec![1, 2, 0]);
        assert_eq!(g.gross, vec![1, 12, 3]);
        let logs = [
            FlowEntry { key: 2, gross: 5 },
            FlowEntry { key: 1, gross: 1 },
            FlowEntry { key: 2, gross: 7 },
            FlowEntry { key: 2 << 32, gross: 3 },
        ];
        assert_eq!(FlowGraph::from_logs(3, &[&logs[..2], &logs[2..]]), g);
    }

    #[test]
    fn rings_cancel_completely() {
        for k in [2, 3, 7] {
            let g = FlowGraph::from_edges(k as usize, &ring(k, 100));
            for res in [walk_direct(&g), walk_tree(&g)] {
                assert!(res.iter().all(|&r| r == 0));
                assert!(g.cancelled(&res).iter().all(|&c| c == 200));
            }
        }
    }

    #[test]
    fn components() {
        // 0 <-> 1, 1 -> 2, 2 <-> 3 <-> 4, 5 alone.
        let g = FlowGraph::from_edges(6, &[(0, 1, 1), (1, 0, 1), (1, 2, 1), (2, 3, 1), (3, 4, 1), (4, 2, 1)]);
        let c = g.scc();
        assert_eq!(c[0], c[1]);
        assert_eq!(c[2], c[3]);
        assert_eq!(c[3], c[4]);
        assert_ne!(c[1], c[2]);
        assert_ne!(c[5], c[0]);
        let r = g.restrict(&c);
        assert_eq!(r.edges(), 5);
    }

    #[test]
    fn a_dust_return_closes_only_dust() {
        // An honest chain 0 -> 1 -> 2 of 1000, and a dust edge 2 -> 0 of 1.
        let g = FlowGraph::from_edges(3, &[(0, 1, 1000), (1, 2, 1000), (2, 0, 1)]);
        let (c, v) = corrected(g);
        assert_eq!(c, vec![2, 2, 2]);
        assert_eq!(v, vec![1001, 2000, 1001]);
    }

    fn graph_strategy() -> impl Strategy<Value = (usize, Vec<(u32, u32, i128)>)> {
        (2usize..30).prop_flat_map(|n| {
            let edge = (0..n as u32, 0..n as u32, prop_oneof![1i128..4, 1i128..1_000_000]);
            (Just(n), proptest::collection::vec(edge, 0..150))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// The dynamic-tree walk finds the same cycles as the direct walk:
        /// the same residuals on every edge, on raw and restricted graphs.
        #[test]
        fn tree_walk_equals_direct_walk((n, edges) in graph_strategy()) {
            let g = FlowGraph::from_edges(n, &edges);
            let r = g.restrict(&g.scc());
            for h in [&g, &r] {
                let direct = walk_direct(h);
                prop_assert_eq!(&walk_tree(h), &direct);
                prop_assert_eq!(&walk_tree_with::<i64>(h), &direct);
                prop_assert_eq!(&walk_tree_with::<i128>(h), &direct);
                prop_assert!(h.is_acyclic(&direct));
                prop_assert!(direct.iter().zip(&h.gross).all(|(r, g)| *r >= 0 && r <= g));
            }
        }
    }

    /// Flows too large for i64 take the i128 walk.
    #[test]
    fn huge_flows_stay_exact() {
        let big = 1i128 << 70;
        let g = FlowGraph::from_edges(3, &[(0, 1, big + 5), (1, 2, big), (2, 0, big + 1), (1, 0, 3)]);
        let res = walk_tree(&g);
        assert_eq!(res, walk_direct(&g));
        // 0->1->0 cancels 3, then 0->1->2->0 cancels 2^70.
        assert_eq!(res, vec![2, 0, 0, 1], "(0,1) (1,0) (1,2) (2,0)");
    }

    #[test]
    fn walks_agree_on_a_tangle() {
        let edges =
            vec![(0, 1, 5), (1, 2, 3), (2, 0, 4), (1, 3, 6), (3, 1, 2), (3, 0, 7), (2, 3, 1), (0, 3, 2), (3, 2, 9)];
        let g = FlowGraph::from_edges(4, &edges);
        let a = walk_direct(&g);
        let b = walk_tree(&g);
        assert_eq!(a, b);
        assert!(g.is_acyclic(&a));
    }
}
