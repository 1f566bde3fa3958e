//! The plan file of `omerta-sim explore`: which scenario keys vary (the
//! factors), over what, and by which design. See `docs/explore.md`.
//!
//! ```toml
//! design = "lhs"          # factorial | lhs | sobol | morris
//! points = 200            # lhs: points; sobol: base samples N; morris: trajectories r
//! seeds = 10              # optional
//! seed = 1                # optional: the seed of the design's own randomness
//! metrics = ["scenarios.undersupplied.dc_home.cost_per_useful_hour"]
//! adaptive = { max_seeds = 40, rel_half_width = 0.05 }
//! [factors]
//! "home.cancel_threshold" = { min = 1.0, max = 3.0 }
//! "market.undersupplied.dcs" = { levels = [5, 10, 20] }
//! "trust.k_payment" = { min = 0.01, max = 0.5, scale = "log" }
//! "consumers" = { min = 10, max = 40, integer = true }
//! ```
//!
//! Parsing checks everything a design needs, so [`Plan::design_points`]
//! cannot fail on a parsed plan; every error names the plan file and the key.

use super::design;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The most design points (runs before seeds) one plan may ask for.
pub const MAX_POINTS: usize = 1_000_000;
/// The most factors one plan may have.
pub const MAX_FACTORS: usize = 64;
/// The most cells (points x factors) of a design: each holds a unit
/// coordinate and a value, about 40 bytes.
pub const MAX_CELLS: usize = 4_000_000;
/// The most base samples of a `sobol` design (the Sobol sequence used has
/// 2^16 points).
pub const MAX_SOBOL_N: usize = 1 << 16;
/// The most levels of the Morris grid (`morris_levels`).
pub const MAX_MORRIS_LEVELS: usize = 1000;
/// The largest magnitude of an integer range's bounds (2^53: every integer
/// up to it is an exact f64).
const MAX_INTEGER_BOUND: f64 = 9_007_199_254_740_992.0;

/// Why a plan could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The file could not be read. The OS error is the `source`.
    #[error("{path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not valid TOML, or a key has the wrong type or is
    /// unknown (the parser's message shows the line).
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A key or value is wrong.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong (names the key).
        message: String,
    },
}

/// The design of a plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DesignKind {
    /// Every combination of the factors' values.
    Factorial,
    /// A Latin hypercube of `points` points.
    Lhs,
    /// Saltelli's scheme on a scrambled Sobol sequence, for Sobol indices.
    Sobol,
    /// Morris trajectories, for elementary effects.
    Morris,
}

impl DesignKind {
    /// The name used in plan files.
    pub fn name(self) -> &'static str {
        match self {
            DesignKind::Factorial => "factorial",
            DesignKind::Lhs => "lhs",
            DesignKind::Sobol => "sobol",
            DesignKind::Morris => "morris",
        }
    }
}

impl std::fmt::Display for DesignKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How a range maps the unit interval onto its values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Evenly.
    Linear,
    /// Evenly in the logarithm (`min > 0`).
    Log,
}

/// The values a factor takes.
#[derive(Clone, Debug, PartialEq)]
pub enum Domain {
    /// A range of numbers.
    Range {
        /// The smallest value.
        min: f64,
        /// The largest value (`> min`).
        max: f64,
        /// Linear or logarithmic.
        scale: Scale,
        /// Whole numbers only: the integers in `[min, max]`.
        integer: bool,
        /// The number of evenly spaced values of a factorial grid (only in
        /// a `factorial` plan, where it is required).
        steps: Option<usize>,
    },
    /// A list of values (numbers, strings or booleans).
    Levels(Vec<toml::Value>),
}

/// One factor: a scenario key and its values.
#[derive(Clone, Debug, PartialEq)]
pub struct Factor {
    key: String,
    domain: Domain,
}

/// The stopping rule of adaptive seeding.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Target {
    /// The 95% half-width over the absolute mean (`rel_half_width`).
    Relative(f64),
    /// The 95% half-width in the metric's units (`half_width`).
    Absolute(f64),
}

impl Target {
    /// Whether a metric of this `mean` and 95% interval `half_width` meets
    /// the target: `half_width <= h`, or `half_width <= r |mean|` (a zero
    /// mean meets a relative target only with a zero half-width). A NaN
    /// never meets it.
    pub fn is_met(self, mean: f64, half_width: f64) -> bool {
        match self {
            Target::Absolute(h) => half_width <= h,
            Target::Relative(r) => half_width <= r * mean.abs(),
        }
    }
}

/// Adaptive seeding: add seeds until every listed metric's 95% interval
/// half-width is below the target, up to `max_seeds`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Adaptive {
    /// The most seeds a point gets.
    pub max_seeds: u64,
    /// The target half-width.
    pub target: Target,
}

/// A parsed and checked plan.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    path: PathBuf,
    design: DesignKind,
    points: Option<usize>,
    seeds: Option<u64>,
    seed: u64,
    metrics: Vec<String>,
    adaptive: Option<Adaptive>,
    morris_levels: usize,
    factors: Vec<Factor>,
    point_count: usize,
}

/// One point of a design.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// Its position in [`Design::points`] (from 0).
    pub id: usize,
    /// Its unit coordinates, one per factor, in `[0, 1]`: the values are
    /// drawn from them (see [`Factor::value_at`]).
    pub unit: Vec<f64>,
    /// The factors' values, in the plan's factor order.
    pub values: Vec<toml::Value>,
}

/// One move of a Morris trajectory.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MorrisStep {
    /// The factor that moves (its index in the plan's order).
    pub factor: usize,
    /// The signed move of its unit coordinate (`+delta` or `-delta`).
    pub delta: f64,
}

/// How the points of a design are laid out, for the sensitivity estimators.
#[derive(Clone, Debug, PartialEq)]
pub enum Layout {
    /// A Latin hypercube: no structure to use.
    Lhs,
    /// A full grid, `dims[i]` values of factor `i`; the first factor varies
    /// slowest (point order is that of nested loops in factor order).
    Factorial {
        /// The number of values of each factor.
        dims: Vec<usize>,
    },
    /// Saltelli's scheme: `n` rows of matrix A (points `0..n`), then `n`
    /// rows of B (points `n..2n`), then for each factor `i` in order the
    /// `n` rows of AB_i, which is A with column `i` taken from B (points
    /// `(2 + i) n .. (3 + i) n`). `n (k + 2)` points.
    Saltelli {
        /// The base samples.
        n: usize,
        /// The factors.
        k: usize,
    },
    /// `r` Morris trajectories of `k + 1` points each: trajectory `t` is
    /// points `t (k + 1) ..= t (k + 1) + k`, and `steps[t * k + j]` is the
    /// move from its point `j` to point `j + 1` (one factor, `±delta`).
    Morris {
        /// The trajectories.
        r: usize,
        /// The factors.
        k: usize,
        /// The moves, `r * k` of them, in trajectory order.
        steps: Vec<MorrisStep>,
    },
}

/// The points of a plan and their layout.
#[derive(Clone, Debug, PartialEq)]
pub struct Design {
    /// The points, in run order.
    pub points: Vec<Point>,
    /// Their structure.
    pub layout: Layout,
}

// ---------------------------------------------------------------- parsing

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan {
    design: String,
    points: Option<i64>,
    seeds: Option<i64>,
    seed: Option<i64>,
    metrics: Option<Vec<String>>,
    adaptive: Option<RawAdaptive>,
    morris_levels: Option<i64>,
    factors: Option<BTreeMap<String, toml::Spanned<RawFactor>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAdaptive {
    max_seeds: i64,
    rel_half_width: Option<f64>,
    half_width: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table such as { min = 1.0, max = 2.0 } or { levels = [1, 2] }")]
struct RawFactor {
    min: Option<f64>,
    max: Option<f64>,
    scale: Option<String>,
    integer: Option<bool>,
    steps: Option<i64>,
    levels: Option<Vec<toml::Value>>,
}

/// A key as TOML writes it: bare when it can be, else quoted.
fn toml_key(k: &str) -> String {
    if !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        k.to_string()
    } else {
        quote(k)
    }
}

/// A TOML basic string (one line, every control character escaped).
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The text of a value as `--set` reads it back (see
/// [`crate::study::scenario::parse_set_value`]): integers and booleans as
/// TOML writes them, floats in Rust's shortest round-trip form (always with
/// a `.` or an exponent, so they stay floats), strings quoted.
pub fn value_text(v: &toml::Value) -> String {
    match v {
        toml::Value::Float(f) => format!("{f:?}"),
        toml::Value::String(s) => quote(s),
        other => other.to_string(),
    }
}

/// One step of a scenario key path (the grammar of `--set`).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// The steps of a factor key (`a.b[0].c`), or what is wrong with it.
fn key_steps(key: &str) -> Result<Vec<Step>, String> {
    if key.is_empty() {
        return Err("is empty".into());
    }
    let mut steps = Vec::new();
    for part in key.split('.') {
        let (name, mut rest) = part.split_at(part.find('[').unwrap_or(part.len()));
        if name.is_empty() {
            return Err("has an empty part (keys are names joined by `.`, such as `home.cancel_threshold`)".into());
        }
        if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            return Err(format!(
                "part `{name}` is not a scenario key name (letters, digits, `_` and `-`, optionally followed by indexes such as `[0]`)"
            ));
        }
        steps.push(Step::Key(name.to_string()));
        while !rest.is_empty() {
            let bad = || format!("part `{part}`: expected indexes such as `groups[0]` after the name");
            let inner = rest.strip_prefix('[').ok_or_else(bad)?;
            let close = inner.find(']').ok_or_else(bad)?;
            let digits = &inner[..close];
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            let i = digits.parse::<usize>().map_err(|_| format!("part `{part}`: index `{digits}` is too large"))?;
            steps.push(Step::Index(i));
            rest = &inner[close + 1..];
        }
    }
    Ok(steps)
}

fn int_in(v: i64, lo: i64, hi: i64, key: &str, what: &str) -> Result<u64, String> {
    if v < lo || v > hi { Err(format!("key `{key}` = {v}: {what} must be from {lo} to {hi}")) } else { Ok(v as u64) }
}

impl Plan {
    /// Read and check a plan file.
    pub fn load(path: &Path) -> Result<Plan, PlanError> {
        if path.is_dir() {
            return Err(PlanError::Invalid {
                path: path.to_path_buf(),
                message: "is a folder, not a plan file".into(),
            });
        }
        let text = std::fs::read_to_string(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::InvalidData => {
                PlanError::Invalid { path: path.to_path_buf(), message: "is not UTF-8 text".into() }
            }
            _ => PlanError::Io { path: path.to_path_buf(), source },
        })?;
        Plan::parse(&text, path)
    }

    /// Parse and check plan text (`origin` names the file in messages).
    pub fn parse(text: &str, origin: &Path) -> Result<Plan, PlanError> {
        let raw: RawPlan = toml::from_str(text).map_err(|e: toml::de::Error| match unquoted_factor(text) {
            Some(message) => PlanError::Invalid { path: origin.to_path_buf(), message },
            None => PlanError::Parse { path: origin.to_path_buf(), message: e.to_string().trim().to_string() },
        })?;
        Plan::check(raw, origin).map_err(|message| PlanError::Invalid { path: origin.to_path_buf(), message })
    }

    fn check(raw: RawPlan, origin: &Path) -> Result<Plan, String> {
        let design = match raw.design.as_str() {
            "factorial" => DesignKind::Factorial,
            "lhs" => DesignKind::Lhs,
            "sobol" => DesignKind::Sobol,
            "morris" => DesignKind::Morris,
            other => {
                return Err(format!(
                    "key `design` = {}: unknown design (one of \"factorial\", \"lhs\", \"sobol\", \"morris\")",
                    quote(other)
                ));
            }
        };
        let seed = match raw.seed {
            None => 1,
            Some(s) => int_in(s, 0, i64::MAX, "seed", "the design seed")?,
        };
        let seeds = raw
            .seeds
            .map(|s| int_in(s, 1, crate::study::limits::MAX_SEEDS as i64, "seeds", "the number of seeds"))
            .transpose()?;
        let metrics = raw.metrics.unwrap_or_default();
        for (i, m) in metrics.iter().enumerate() {
            if m.trim().is_empty() {
                return Err(format!("key `metrics[{i}]` is empty: a metric is a dotted path such as \"a.b.c\""));
            }
            if metrics[..i].contains(m) {
                return Err(format!("key `metrics[{i}]` = {}: listed twice", quote(m)));
            }
        }
        let adaptive = match raw.adaptive {
            None => None,
            Some(a) => {
                let max_seeds = int_in(
                    a.max_seeds,
                    2,
                    crate::study::limits::MAX_SEEDS as i64,
                    "adaptive.max_seeds",
                    "the most seeds",
                )?;
                if let Some(s) = seeds
                    && s > max_seeds
                {
                    return Err(format!("key `adaptive.max_seeds` = {max_seeds} is below key `seeds` = {s}"));
                }
                let target = match (a.rel_half_width, a.half_width) {
                    (Some(r), None) => Target::Relative(positive(r, "adaptive.rel_half_width")?),
                    (None, Some(h)) => Target::Absolute(positive(h, "adaptive.half_width")?),
                    _ => {
                        return Err(
                            "key `adaptive`: give exactly one of `rel_half_width` (relative to the mean) and `half_width` (in the metric's units)"
                                .into(),
                        );
                    }
                };
                if metrics.is_empty() {
                    return Err(
                        "key `adaptive` needs key `metrics`: the metrics whose intervals decide when to stop".into()
                    );
                }
                Some(Adaptive { max_seeds, target })
            }
        };
        let morris_levels = match (design, raw.morris_levels) {
            (DesignKind::Morris, None) => 4,
            (DesignKind::Morris, Some(p)) => {
                let p = int_in(p, 2, MAX_MORRIS_LEVELS as i64, "morris_levels", "the Morris grid levels")? as usize;
                if !p.is_multiple_of(2) {
                    return Err(format!("key `morris_levels` = {p}: must be even (the step is p / (2 (p - 1)))"));
                }
                p
            }
            (_, Some(_)) => {
                return Err(format!("key `morris_levels` is only for design = \"morris\", not \"{design}\""));
            }
            (_, None) => 0,
        };

        let raw_factors = raw.factors.unwrap_or_default();
        if raw_factors.is_empty() {
            return Err("key `factors`: no factors (add a table `[factors]` with at least one scenario key)".into());
        }
        if raw_factors.len() > MAX_FACTORS {
            return Err(format!("key `factors`: {} factors, at most {MAX_FACTORS}", raw_factors.len()));
        }
        // File order: the parser's map is sorted, the spans are not.
        let mut ordered: Vec<(String, toml::Spanned<RawFactor>)> = raw_factors.into_iter().collect();
        ordered.sort_by_key(|(_, f)| f.span().start);
        let mut factors = Vec::with_capacity(ordered.len());
        let mut paths: Vec<(String, Vec<Step>)> = Vec::new();
        for (key, f) in ordered {
            let name = format!("factors.{}", toml_key(&key));
            let steps = key_steps(&key).map_err(|m| format!("key `{name}`: the scenario key {m}"))?;
            for (other, o) in &paths {
                let (short, long) = if o.len() <= steps.len() { (o, &steps) } else { (&steps, o) };
                if long[..short.len()] == short[..] {
                    let what = match o.len().cmp(&steps.len()) {
                        std::cmp::Ordering::Equal => "the same scenario key as",
                        std::cmp::Ordering::Less => "a key inside the key of",
                        std::cmp::Ordering::Greater => "a key that holds the key of",
                    };
                    return Err(format!("key `{name}` names {what} factor `{other}`"));
                }
            }
            paths.push((key.clone(), steps));
            factors.push(Factor::check(key, f.into_inner(), &name, design)?);
        }
        let k = factors.len();

        let need_points = matches!(design, DesignKind::Lhs | DesignKind::Sobol | DesignKind::Morris);
        let points = match (raw.points, need_points) {
            (None, true) => {
                let what = match design {
                    DesignKind::Lhs => "the number of points",
                    DesignKind::Sobol => "the base samples N (the design runs N (k + 2) points)",
                    _ => "the trajectories r (the design runs r (k + 1) points)",
                };
                return Err(format!("key `points` is missing: design \"{design}\" needs {what}"));
            }
            (Some(_), false) => {
                return Err(
                    "key `points` is not used by design \"factorial\": the grid of the factors sets the points".into(),
                );
            }
            (None, false) => None,
            (Some(p), true) => {
                let lo = if design == DesignKind::Lhs { 1 } else { 2 };
                let hi = if design == DesignKind::Sobol { MAX_SOBOL_N } else { MAX_POINTS };
                Some(int_in(p, lo, hi as i64, "points", &format!("for design \"{design}\" it"))? as usize)
            }
        };
        if matches!(design, DesignKind::Sobol | DesignKind::Morris) && metrics.is_empty() {
            return Err(format!(
                "key `metrics` is missing: design \"{design}\" estimates sensitivity indices of the metrics listed there"
            ));
        }
        let too_many =
            |count: String| format!("{count} design points, at most {MAX_POINTS} (key `points` or the factors' grid)");
        let point_count = match design {
            DesignKind::Lhs => points.unwrap_or(0),
            DesignKind::Sobol => {
                let n = points.unwrap_or(0);
                n.checked_mul(k + 2)
                    .filter(|c| *c <= MAX_POINTS)
                    .ok_or_else(|| too_many(format!("points = {n} with {k} factors: {n} x {} =", k + 2)))?
            }
            DesignKind::Morris => {
                let r = points.unwrap_or(0);
                r.checked_mul(k + 1)
                    .filter(|c| *c <= MAX_POINTS)
                    .ok_or_else(|| too_many(format!("points = {r} with {k} factors: {r} x {} =", k + 1)))?
            }
            DesignKind::Factorial => {
                let mut count: usize = 1;
                for f in &factors {
                    count = count.checked_mul(f.grid().len()).filter(|c| *c <= MAX_POINTS).ok_or_else(|| {
                        too_many(format!(
                            "the factorial grid has more than {MAX_POINTS} points: {}",
                            factors.iter().map(|f| f.grid().len().to_string()).collect::<Vec<_>>().join(" x ")
                        ))
                    })?;
                }
                count
            }
        };
        if point_count.saturating_mul(k) > MAX_CELLS {
            return Err(format!(
                "{point_count} design points of {k} factors: at most {MAX_CELLS} values in all (fewer points or factors)"
            ));
        }
        Ok(Plan {
            path: origin.to_path_buf(),
            design,
            points,
            seeds,
            seed,
            metrics,
            adaptive,
            morris_levels,
            factors,
            point_count,
        })
    }

    /// The file it came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The design.
    pub fn design(&self) -> DesignKind {
        self.design
    }

    /// Key `points`: LHS points, Sobol base samples N or Morris trajectories
    /// r (`None` for a factorial plan).
    pub fn points(&self) -> Option<usize> {
        self.points
    }

    /// Key `seeds`, if given.
    pub fn seeds(&self) -> Option<u64> {
        self.seeds
    }

    /// Key `seed`: the seed of the design's randomness (default 1).
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Key `metrics`, in file order.
    pub fn metrics(&self) -> &[String] {
        &self.metrics
    }

    /// Key `adaptive`, if given.
    pub fn adaptive(&self) -> Option<Adaptive> {
        self.adaptive
    }

    /// The levels `p` of the Morris grid (key `morris_levels`, default 4;
    /// 0 for other designs).
    pub fn morris_levels(&self) -> usize {
        self.morris_levels
    }

    /// The factors, in file order.
    pub fn factors(&self) -> &[Factor] {
        &self.factors
    }

    /// The factors' scenario keys, in file order.
    pub fn factor_keys(&self) -> Vec<String> {
        self.factors.iter().map(|f| f.key.clone()).collect()
    }

    /// The number of design points (runs per seed), known without building
    /// the design.
    pub fn point_count(&self) -> usize {
        self.point_count
    }

    /// The `--set key=value` arguments of a point, in factor order.
    pub fn set_args(&self, point: &Point) -> Vec<String> {
        self.factors.iter().zip(&point.values).map(|(f, v)| f.set_arg(v)).collect()
    }

    /// Build the design's points. Deterministic: the same plan (and seed)
    /// gives the same points.
    pub fn design_points(&self) -> Result<Design, PlanError> {
        let k = self.factors.len();
        let invalid = |message: String| PlanError::Invalid { path: self.path.clone(), message };
        let (units, layout) = match self.design {
            DesignKind::Lhs => (design::lhs(self.point_count, k, self.seed), Layout::Lhs),
            DesignKind::Sobol => {
                let n = self.points.unwrap_or(0);
                (design::saltelli(n, k, self.seed).map_err(invalid)?, Layout::Saltelli { n, k })
            }
            DesignKind::Morris => {
                let r = self.points.unwrap_or(0);
                let (units, steps) = design::morris(r, k, self.morris_levels, self.seed).map_err(invalid)?;
                (units, Layout::Morris { r, k, steps })
            }
            DesignKind::Factorial => {
                let grids: Vec<Vec<(f64, toml::Value)>> = self.factors.iter().map(Factor::grid).collect();
                let dims: Vec<usize> = grids.iter().map(Vec::len).collect();
                let points = design::factorial(&dims)
                    .into_iter()
                    .enumerate()
                    .map(|(id, idx)| {
                        let (unit, values) = idx.iter().zip(&grids).map(|(&j, g)| g[j].clone()).unzip();
                        Point { id, unit, values }
                    })
                    .collect();
                return Ok(Design { points, layout: Layout::Factorial { dims } });
            }
        };
        let points = units
            .into_iter()
            .enumerate()
            .map(|(id, unit)| {
                let values = self.factors.iter().zip(&unit).map(|(f, &u)| f.value_at(u)).collect();
                Point { id, unit, values }
            })
            .collect();
        Ok(Design { points, layout })
    }
}

/// The likely cause of a plan that does not deserialise: a dotted scenario
/// key left unquoted under `[factors]` (`home.x = {...}` is the table
/// `home` holding `x`).
fn unquoted_factor(text: &str) -> Option<String> {
    const FIELDS: [&str; 6] = ["min", "max", "scale", "integer", "steps", "levels"];
    let table: toml::Table = text.parse().ok()?;
    let factors = table.get("factors")?.as_table()?;
    factors.iter().find_map(|(name, v)| {
        let t = v.as_table()?;
        if t.keys().any(|k| FIELDS.contains(&k.as_str())) {
            return None;
        }
        let (inner, _) = t.iter().find(|(_, v)| v.is_table())?;
        Some(format!(
            "key `factors.{}`: `{name}.{inner}` without quotes is a table `{name}` holding `{inner}`; quote a dotted scenario key: \"{name}.{inner}\" = {{ min = ..., max = ... }}",
            toml_key(name)
        ))
    })
}

fn positive(v: f64, key: &str) -> Result<f64, String> {
    if v.is_finite() && v > 0.0 { Ok(v) } else { Err(format!("key `{key}` = {v}: must be a finite number above 0")) }
}

impl Factor {
    fn check(key: String, raw: RawFactor, name: &str, design: DesignKind) -> Result<Factor, String> {
        let RawFactor { min, max, scale, integer, steps, levels } = raw;
        if let Some(levels) = levels {
            if min.is_some() || max.is_some() || scale.is_some() || integer.is_some() || steps.is_some() {
                return Err(format!(
                    "key `{name}`: give either `levels` or a range (`min`, `max`, `scale`, `integer`, `steps`), not both"
                ));
            }
            if levels.is_empty() {
                return Err(format!("key `{name}.levels` is empty: give at least one value"));
            }
            if levels.len() > MAX_POINTS {
                return Err(format!("key `{name}.levels`: {} values, at most {MAX_POINTS}", levels.len()));
            }
            for (i, v) in levels.iter().enumerate() {
                match v {
                    toml::Value::Float(f) if !f.is_finite() => {
                        return Err(format!("key `{name}.levels[{i}]` = {f}: not a finite number"));
                    }
                    toml::Value::Float(_)
                    | toml::Value::Integer(_)
                    | toml::Value::String(_)
                    | toml::Value::Boolean(_) => {
                        if levels[..i].contains(v) {
                            return Err(format!("key `{name}.levels[{i}]` = {}: listed twice", value_text(v)));
                        }
                    }
                    other => {
                        return Err(format!(
                            "key `{name}.levels[{i}]` is a {}: levels are numbers, strings or booleans",
                            other.type_str()
                        ));
                    }
                }
            }
            return Ok(Factor { key, domain: Domain::Levels(levels) });
        }
        let (Some(min), Some(max)) = (min, max) else {
            return Err(format!(
                "key `{name}`: give `min` and `max` (a range) or `levels` (a list of values); {} is missing",
                if min.is_none() { "`min`" } else { "`max`" }
            ));
        };
        for (v, k) in [(min, "min"), (max, "max")] {
            if !v.is_finite() {
                return Err(format!("key `{name}.{k}` = {v}: not a finite number"));
            }
        }
        if min >= max {
            return Err(format!("key `{name}`: `min` = {min} must be below `max` = {max}"));
        }
        let scale = match scale.as_deref() {
            None | Some("linear") => Scale::Linear,
            Some("log") => {
                if min <= 0.0 {
                    return Err(format!("key `{name}.scale` = \"log\" needs `min` above 0 (it is {min})"));
                }
                Scale::Log
            }
            Some(other) => return Err(format!("key `{name}.scale` = {}: one of \"linear\", \"log\"", quote(other))),
        };
        let integer = integer.unwrap_or(false);
        if integer {
            if min.abs() > MAX_INTEGER_BOUND || max.abs() > MAX_INTEGER_BOUND {
                return Err(format!("key `{name}`: an integer range's bounds must be within ±2^53"));
            }
            if min.ceil() > max.floor() {
                return Err(format!("key `{name}`: no integer from `min` = {min} to `max` = {max}"));
            }
        }
        let steps = match (steps, design) {
            (None, DesignKind::Factorial) => {
                return Err(format!(
                    "key `{name}`: design \"factorial\" needs a finite grid: give `steps = n` (n >= 2 evenly spaced values) or `levels`"
                ));
            }
            (Some(_), d) if d != DesignKind::Factorial => {
                return Err(format!("key `{name}.steps` is only for design = \"factorial\", not \"{d}\""));
            }
            (Some(s), _) => {
                Some(int_in(s, 2, MAX_POINTS as i64, &format!("{name}.steps"), "the number of values")? as usize)
            }
            (None, _) => None,
        };
        Ok(Factor { key, domain: Domain::Range { min, max, scale, integer, steps } })
    }

    /// The scenario key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Its values.
    pub fn domain(&self) -> &Domain {
        &self.domain
    }

    /// The value at unit coordinate `u` (clamped into `[0, 1]`):
    ///
    /// - a range: `min + u (max - min)`, or on the log scale
    ///   `exp(ln min + u (ln max - ln min))`; the ends are exact;
    /// - an integer range on the linear scale: `lo + floor(u n)` with `lo`
    ///   the first of its `n` integers (each integer gets an equal share of
    ///   `[0, 1)`; `u = 1` gives the last);
    /// - an integer range on the log scale: the log-scale value rounded to
    ///   the nearest integer within the range;
    /// - levels: level `floor(u n)` of `n` (`u = 1` gives the last).
    pub fn value_at(&self, u: f64) -> toml::Value {
        let u = if u.is_nan() { 0.0 } else { u.clamp(0.0, 1.0) };
        match &self.domain {
            Domain::Levels(levels) => levels[share(u, levels.len())].clone(),
            Domain::Range { min, max, scale, integer, .. } => {
                let x = continuous(*min, *max, *scale, u);
                if !integer {
                    return toml::Value::Float(x);
                }
                let (lo, hi) = (min.ceil(), max.floor());
                let v = match scale {
                    Scale::Linear => lo + share(u, (hi - lo) as usize + 1) as f64,
                    Scale::Log => x.round().clamp(lo, hi),
                };
                toml::Value::Integer(v as i64)
            }
        }
    }

    /// The `key=value` argument of `--set` that gives this factor `value`;
    /// `--set` reads the value back exactly (see [`value_text`]).
    pub fn set_arg(&self, value: &toml::Value) -> String {
        format!("{}={}", self.key, value_text(value))
    }

    /// The factorial grid: `(unit, value)` of each value, in order. A range
    /// has `steps` values at `j / (steps - 1)` (integers rounded, repeats
    /// dropped); levels are their own grid, at unit `(j + 0.5) / n`. Empty
    /// for a range without `steps` (only a factorial plan has them).
    pub fn grid(&self) -> Vec<(f64, toml::Value)> {
        match &self.domain {
            Domain::Levels(levels) => {
                let n = levels.len() as f64;
                levels.iter().enumerate().map(|(j, v)| ((j as f64 + 0.5) / n, v.clone())).collect()
            }
            Domain::Range { min, max, scale, integer, steps } => {
                let Some(steps) = *steps else { return Vec::new() };
                let mut out: Vec<(f64, toml::Value)> = Vec::with_capacity(steps);
                for j in 0..steps {
                    let u = j as f64 / (steps - 1) as f64;
                    let x = continuous(*min, *max, *scale, u);
                    let v = if *integer {
                        toml::Value::Integer(x.round().clamp(min.ceil(), max.floor()) as i64)
                    } else {
                        toml::Value::Float(x)
                    };
                    if out.last().is_none_or(|(_, last)| *last != v) {
                        out.push((u, v));
                    }
                }
                out
            }
        }
    }
}

/// The share of `[0, 1]` that `u` falls in, of `n` equal shares.
fn share(u: f64, n: usize) -> usize {
    ((u * n as f64).floor() as usize).min(n.saturating_sub(1))
}

fn continuous(min: f64, max: f64, scale: Scale, u: f64) -> f64 {
    if u <= 0.0 {
        return min;
    }
    if u >= 1.0 {
        return max;
    }
    let x = match scale {
        // The second form when the width overflows (bounds near ±f64::MAX).
        Scale::Linear if (max - min).is_finite() => min + u * (max - min),
        Scale::Linear => (1.0 - u) * min + u * max,
        Scale::Log => (min.ln() + u * (max.ln() - min.ln())).exp(),
    };
    x.clamp(min, max)
}
