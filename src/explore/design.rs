//! The designs as point sets in the unit cube, deterministic from a seed:
//! a full factorial grid, a Latin hypercube, Saltelli's scheme on a
//! scrambled Sobol sequence and Morris trajectories. [`super::plan`] maps
//! unit coordinates to factor values.
//!
//! Randomness comes from `rand_pcg` generators seeded from the plan's seed
//! and, for the Sobol sequence, from the Owen scrambling of `sobol_burley`
//! seeded from it; nothing is seeded by the OS.

use super::plan::MorrisStep;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;

/// Stream constants, so designs of the same seed draw different numbers.
const LHS_STREAM: u64 = 0x6c68_735f_6465_7369;
const MORRIS_STREAM: u64 = 0x6d6f_7272_6973_5f74;

/// The dimensions of the Sobol sequence (`sobol_burley`): Saltelli's scheme
/// uses `2 k` of them.
pub const SOBOL_DIMENSIONS: usize = sobol_burley::NUM_DIMENSIONS as usize;

/// Every combination of indexes `0..dims[i]`, the first index varying
/// slowest (the order of nested loops). `dims` must have no zero, and its
/// product must fit in memory (the plan checks both).
pub fn factorial(dims: &[usize]) -> Vec<Vec<usize>> {
    let total: usize = dims.iter().product();
    let mut out = Vec::with_capacity(total);
    let mut idx = vec![0usize; dims.len()];
    for _ in 0..total {
        out.push(idx.clone());
        for d in (0..dims.len()).rev() {
            idx[d] += 1;
            if idx[d] < dims[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    out
}

/// A Latin hypercube of `n` points in `k` dimensions: in every dimension,
/// each of the `n` strata `[j / n, (j + 1) / n)` holds exactly one point,
/// at a uniform random position within it; the strata of the dimensions are
/// paired by independent random permutations.
pub fn lhs(n: usize, k: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = Pcg64Mcg::seed_from_u64(seed ^ LHS_STREAM);
    let mut rows = vec![Vec::with_capacity(k); n];
    let nf = n as f64;
    let mut perm: Vec<usize> = (0..n).collect();
    for _ in 0..k {
        perm.shuffle(&mut rng);
        for (row, &p) in rows.iter_mut().zip(&perm) {
            let u: f64 = rng.random();
            // Kept inside its stratum when rounding would carry it over.
            let x = ((p as f64 + u) / nf).clamp(p as f64 / nf, ((p + 1) as f64 / nf).next_down());
            row.push(x);
        }
    }
    rows
}

/// The Owen-scrambling seed of the Sobol sequence for a plan seed.
fn sobol_seed(seed: u64) -> u32 {
    (seed ^ (seed >> 32)) as u32
}

/// The first `n` points of an Owen-scrambled Sobol sequence (Burley 2020,
/// Joe-Kuo direction numbers) in `dims` dimensions, in `[0, 1)`. At most
/// 2^16 points and [`SOBOL_DIMENSIONS`] dimensions.
pub fn sobol(n: usize, dims: usize, seed: u64) -> Result<Vec<Vec<f64>>, String> {
    if n > 1 << 16 {
        return Err(format!("{n} Sobol points: the sequence has 2^16 = 65536"));
    }
    if dims > SOBOL_DIMENSIONS {
        return Err(format!("{dims} Sobol dimensions: the sequence has {SOBOL_DIMENSIONS}"));
    }
    let s = sobol_seed(seed);
    Ok((0..n as u32).map(|i| (0..dims as u32).map(|d| f64::from(sobol_burley::sample(i, d, s))).collect()).collect())
}

/// Saltelli's scheme for `k` factors and `n` base samples: A is the first
/// `k` columns and B the next `k` of a `2 k`-dimensional scrambled Sobol
/// sequence; AB_i is A with column `i` taken from B. Rows: A (`n`), B
/// (`n`), then AB_0, ..., AB_{k-1} (`n` each): `n (k + 2)` in all.
pub fn saltelli(n: usize, k: usize, seed: u64) -> Result<Vec<Vec<f64>>, String> {
    let base = sobol(n, 2 * k, seed)?;
    let mut rows = Vec::with_capacity(n * (k + 2));
    rows.extend(base.iter().map(|r| r[..k].to_vec()));
    rows.extend(base.iter().map(|r| r[k..].to_vec()));
    for i in 0..k {
        rows.extend(base.iter().map(|r| {
            let mut ab = r[..k].to_vec();
            ab[i] = r[k + i];
            ab
        }));
    }
    Ok(rows)
}

/// `r` Morris (1991) trajectories in `k` dimensions on the `p`-level grid
/// `{0, 1/(p-1), ..., 1}` (`p` even), step `delta = p / (2 (p - 1))`.
///
/// Each trajectory draws a base point `x*` with every coordinate on the grid
/// at most `1 - delta`, a direction for each factor and a random order of
/// the factors. It starts at `x*` moved by `delta` in the factors that go
/// down, then moves each factor once, in that order, by `+delta` (up) or
/// `-delta` (down): `k + 1` points, each factor between `x*_i` and
/// `x*_i + delta`. Returns the points (trajectory after trajectory) and the
/// `r k` moves.
pub fn morris(r: usize, k: usize, p: usize, seed: u64) -> Result<(Vec<Vec<f64>>, Vec<MorrisStep>), String> {
    if p < 2 || !p.is_multiple_of(2) {
        return Err(format!("Morris grid of {p} levels: it needs an even number, at least 2"));
    }
    let mut rng = Pcg64Mcg::seed_from_u64(seed ^ MORRIS_STREAM);
    let half = p / 2;
    let top = (p - 1) as f64;
    let delta = half as f64 / top;
    let mut points = Vec::with_capacity(r * (k + 1));
    let mut steps = Vec::with_capacity(r * k);
    let mut order: Vec<usize> = (0..k).collect();
    for _ in 0..r {
        let up: Vec<bool> = (0..k).map(|_| rng.random()).collect();
        let mut g: Vec<usize> = up.iter().map(|&u| rng.random_range(0..half) + if u { 0 } else { half }).collect();
        order.shuffle(&mut rng);
        points.push(g.iter().map(|&x| x as f64 / top).collect());
        for &i in &order {
            if up[i] {
                g[i] += half;
            } else {
                g[i] -= half;
            }
            points.push(g.iter().map(|&x| x as f64 / top).collect());
            steps.push(MorrisStep { factor: i, delta: if up[i] { delta } else { -delta } });
        }
    }
    Ok((points, steps))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

        /// Every column of a Latin hypercube has exactly one point in each
        /// of its `n` strata.
        #[test]
        fn lhs_has_one_point_per_stratum(n in 1usize..300, k in 1usize..6, seed in any::<u64>()) {
            let rows = lhs(n, k, seed);
            prop_assert_eq!(rows.len(), n);
            for c in 0..k {
                let mut seen = vec![false; n];
                for row in &rows {
                    let x = row[c];
                    prop_assert!((0.0..1.0).contains(&x));
                    let s = (x * n as f64).floor() as usize;
                    // The stratum by its bounds, as computed in f64.
                    let s = if x < s as f64 / n as f64 { s - 1 } else { s };
                    prop_assert!(!seen[s], "stratum {} of column {} twice", s, c);
                    seen[s] = true;
                }
                prop_assert!(seen.iter().all(|&b| b));
            }
        }

        /// A Morris trajectory moves one factor at a time, each exactly
        /// once, by ±delta, and stays on the grid within [0, 1].
        #[test]
        fn morris_moves_each_factor_once(r in 1usize..20, k in 1usize..8, half in 1usize..5, seed in any::<u64>()) {
            let p = 2 * half;
            let (points, steps) = morris(r, k, p, seed).unwrap();
            prop_assert_eq!(points.len(), r * (k + 1));
            prop_assert_eq!(steps.len(), r * k);
            let delta = half as f64 / (p - 1) as f64;
            for t in 0..r {
                let mut moved = vec![false; k];
                for j in 0..k {
                    let (a, b) = (&points[t * (k + 1) + j], &points[t * (k + 1) + j + 1]);
                    let s = steps[t * k + j];
                    prop_assert!(!moved[s.factor]);
                    moved[s.factor] = true;
                    for i in 0..k {
                        prop_assert!((0.0..=1.0).contains(&b[i]));
                        let grid = b[i] * (p - 1) as f64;
                        prop_assert!((grid - grid.round()).abs() < 1e-9);
                        if i == s.factor {
                            prop_assert!((b[i] - a[i] - s.delta).abs() < 1e-12);
                            prop_assert!((s.delta.abs() - delta).abs() < 1e-15);
                        } else {
                            prop_assert_eq!(a[i], b[i]);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn factorial_covers_the_grid_once() {
        let dims = [3, 1, 4, 2];
        let all = factorial(&dims);
        assert_eq!(all.len(), 24);
        let mut sorted = all.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 24, "a combination repeats");
        assert!(all.iter().all(|c| c.iter().zip(&dims).all(|(&i, &d)| i < d)));
        // First factor slowest, last fastest.
        assert_eq!(all[0], vec![0, 0, 0, 0]);
        assert_eq!(all[1], vec![0, 0, 0, 1]);
        assert_eq!(all[2], vec![0, 0, 1, 0]);
        assert_eq!(all[23], vec![2, 0, 3, 1]);
    }

    #[test]
    fn saltelli_rows_share_columns_as_documented() {
        let (n, k) = (16, 3);
        let rows = saltelli(n, k, 7).unwrap();
        assert_eq!(rows.len(), n * (k + 2));
        for j in 0..n {
            let (a, b) = (&rows[j], &rows[n + j]);
            for i in 0..k {
                let ab = &rows[(2 + i) * n + j];
                for c in 0..k {
                    assert_eq!(ab[c], if c == i { b[c] } else { a[c] });
                }
            }
            assert!(a.iter().chain(b).all(|x| (0.0..1.0).contains(x)));
        }
        // A and B are different columns of the sequence.
        assert!((0..n).any(|j| rows[j] != rows[n + j]));
    }

    /// The Sobol points are evenly spread: each of the 16 strata of every
    /// dimension holds 1/16 of the first 1024 points.
    #[test]
    fn sobol_points_are_stratified() {
        let pts = sobol(1024, 8, 3).unwrap();
        for d in 0..8 {
            let mut count = [0usize; 16];
            for p in &pts {
                count[(p[d] * 16.0) as usize] += 1;
            }
            assert!(count.iter().all(|&c| c == 64), "dimension {d}: {count:?}");
        }
        assert!(sobol(1 << 16, 2, 1).is_ok());
        assert!(sobol((1 << 16) + 1, 2, 1).is_err());
        assert!(sobol(4, SOBOL_DIMENSIONS + 1, 1).is_err());
    }

    #[test]
    fn designs_are_deterministic_from_the_seed() {
        assert_eq!(lhs(50, 4, 9), lhs(50, 4, 9));
        assert_ne!(lhs(50, 4, 9), lhs(50, 4, 10));
        assert_eq!(saltelli(32, 3, 9).unwrap(), saltelli(32, 3, 9).unwrap());
        assert_ne!(saltelli(32, 3, 9).unwrap(), saltelli(32, 3, 10).unwrap());
        assert_eq!(morris(5, 4, 4, 9).unwrap(), morris(5, 4, 4, 9).unwrap());
        assert_ne!(morris(5, 4, 4, 9).unwrap(), morris(5, 4, 4, 10).unwrap());
    }
}
