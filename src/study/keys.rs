//! What every study's scenario shares: the fidelity, the verdict thresholds,
//! and a checker that turns raw scenario values into checked parameters with
//! errors that name the key and the file.

use super::limits::MAX_TICKS;
use super::scenario::{Scenario, ScenarioError};
use crate::engine::TimeUnit;
use crate::engine::time::accumulated_steps;
use crate::report::results::VerdictRule;
use serde::{Deserialize, Serialize};
use std::ops::Bound;

/// The largest price, value, cost or volatility a scenario may give ($ or
/// OMC per hour): a run sums millions of them.
pub const MAX_MONEY: f64 = 1e9;

/// A number for a message: plain when short, in exponent form when very
/// large or very small (`1e300`, not three hundred digits).
pub fn fmt_num(x: f64) -> String {
    if x != 0.0 && x.is_finite() && !(1e-4..1e9).contains(&x.abs()) { format!("{x:e}") } else { format!("{x}") }
}

/// A number for people: six significant digits (`2.31596`, not
/// `2.3159616177691427`), in exponent form when very large or small; files
/// keep full precision.
pub fn fmt_people(x: f64) -> String {
    let rounded: f64 = format!("{x:.5e}").parse().unwrap_or(x);
    fmt_num(rounded)
}

/// `reference` (the original script, defects kept) or `corrected` (the
/// intended model); see `docs/models/README.md`, "Fidelities and switches".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fidelity {
    /// Keep the reference's step, order of operations and quirks.
    Reference,
    /// The intended, event-driven model with the defects fixed.
    #[default]
    Corrected,
}

impl Fidelity {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Fidelity::Reference => "reference",
            Fidelity::Corrected => "corrected",
        }
    }
}

/// The `[verdict]` table of a scenario.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerdictSpec {
    /// held_in at or above this: holds.
    #[serde(default = "d_holds")]
    pub holds_at: f64,
    /// held_in at or below this: fails.
    #[serde(default = "d_fails")]
    pub fails_at: f64,
}

fn d_holds() -> f64 {
    0.9
}

fn d_fails() -> f64 {
    0.1
}

/// Checks scenario values against their rules; every error names the key
/// and the scenario file.
pub struct Keys<'a> {
    scn: &'a Scenario,
    fidelity: Fidelity,
}

impl<'a> Keys<'a> {
    /// A checker for `scn`, whose switches default by `fidelity`.
    pub fn new(scn: &'a Scenario, fidelity: Fidelity) -> Self {
        Keys { scn, fidelity }
    }

    /// The fidelity switches default by.
    pub fn fidelity(&self) -> Fidelity {
        self.fidelity
    }

    /// An error about this scenario.
    pub fn err(&self, message: impl Into<String>) -> ScenarioError {
        self.scn.invalid(message)
    }

    /// A count: an integer >= 0 that fits in u32 (default `d`).
    pub fn count(&self, key: &str, v: Option<i64>, d: i64) -> Result<u32, ScenarioError> {
        let x = v.unwrap_or(d);
        if x < 0 {
            return Err(self.err(format!("key `{key}` must be >= 0 (got {x})")));
        }
        u32::try_from(x).map_err(|_| self.err(format!("key `{key}` is too large ({x}; at most {})", u32::MAX)))
    }

    /// Like [`Keys::count`], but at least 1.
    pub fn count_min1(&self, key: &str, v: Option<i64>, d: i64) -> Result<u32, ScenarioError> {
        let x = self.count(key, v, d)?;
        if x == 0 {
            return Err(self.err(format!("key `{key}` must be at least 1 (got 0)")));
        }
        Ok(x)
    }

    /// A finite number (default `d`).
    pub fn num(&self, key: &str, v: Option<f64>, d: f64) -> Result<f64, ScenarioError> {
        let x = v.unwrap_or(d);
        if !x.is_finite() {
            return Err(self.err(format!("key `{key}` must be a finite number (got {})", fmt_num(x))));
        }
        Ok(x)
    }

    /// A finite number > 0.
    pub fn positive(&self, key: &str, v: Option<f64>, d: f64) -> Result<f64, ScenarioError> {
        let x = self.num(key, v, d)?;
        if x <= 0.0 {
            return Err(self.err(format!("key `{key}` must be > 0 (got {})", fmt_num(x))));
        }
        Ok(x)
    }

    /// A finite number >= 0.
    pub fn nonneg(&self, key: &str, v: Option<f64>, d: f64) -> Result<f64, ScenarioError> {
        let x = self.num(key, v, d)?;
        if x < 0.0 {
            return Err(self.err(format!("key `{key}` must be >= 0 (got {})", fmt_num(x))));
        }
        Ok(x)
    }

    /// A probability in [0, 1].
    pub fn probability(&self, key: &str, v: Option<f64>, d: f64) -> Result<f64, ScenarioError> {
        let x = self.num(key, v, d)?;
        if !(0.0..=1.0).contains(&x) {
            return Err(self.err(format!("key `{key}` must be in [0, 1] (got {})", fmt_num(x))));
        }
        Ok(x)
    }

    /// A finite number in a range (default `d`), e.g. a margin in (0, 1):
    /// `in_range(k, v, d, Excluded(0.0), Excluded(1.0))`.
    pub fn in_range(
        &self,
        key: &str,
        v: Option<f64>,
        d: f64,
        lo: Bound<f64>,
        hi: Bound<f64>,
    ) -> Result<f64, ScenarioError> {
        let x = self.num(key, v, d)?;
        let ok_lo = match lo {
            Bound::Included(a) => x >= a,
            Bound::Excluded(a) => x > a,
            Bound::Unbounded => true,
        };
        let ok_hi = match hi {
            Bound::Included(b) => x <= b,
            Bound::Excluded(b) => x < b,
            Bound::Unbounded => true,
        };
        if ok_lo && ok_hi {
            return Ok(x);
        }
        let left = match lo {
            Bound::Included(a) => format!("[{a}"),
            Bound::Excluded(a) => format!("({a}"),
            Bound::Unbounded => "(-inf".into(),
        };
        let right = match hi {
            Bound::Included(b) => format!("{b}]"),
            Bound::Excluded(b) => format!("{b})"),
            Bound::Unbounded => "inf)".into(),
        };
        Err(self.err(format!("key `{key}` must be in {left}, {right} (got {})", fmt_num(x))))
    }

    /// Two values that must be in order: `lo` <= `hi` (a min/max pair).
    pub fn ordered(&self, lo_key: &str, lo: f64, hi_key: &str, hi: f64) -> Result<(), ScenarioError> {
        if lo <= hi {
            Ok(())
        } else {
            Err(self.err(format!("key `{lo_key}` ({}) must not exceed `{hi_key}` ({})", fmt_num(lo), fmt_num(hi))))
        }
    }

    /// A duration of `value` in `unit` (hours or days) as whole engine ticks
    /// (1 ms), rounded to the nearest: refused when it is not > 0, rounds to
    /// zero ticks, or exceeds [`MAX_TICKS`].
    pub fn duration_ticks(&self, key: &str, value: f64, unit: TimeUnit) -> Result<u64, ScenarioError> {
        let u = unit.suffix();
        let v = fmt_num(value);
        if !(value.is_finite() && value > 0.0) {
            return Err(self.err(format!("key `{key}` must be a duration > 0 (got {v} {u})")));
        }
        let ticks = (value * unit.ticks() as f64).round();
        if ticks < 1.0 {
            return Err(self.err(format!(
                "key `{key}` = {v} {u} is shorter than one engine tick (1 ms = {:.3e} {u})",
                1.0 / unit.ticks() as f64
            )));
        }
        if ticks > MAX_TICKS as f64 {
            return Err(self.err(format!(
                "key `{key}` = {v} {u} is longer than the longest simulated time ({:.3e} {u}, 2^60 ms)",
                MAX_TICKS as f64 / unit.ticks() as f64
            )));
        }
        Ok(ticks as u64)
    }

    /// A rate per `unit` (>= 0, default `d`) whose mean gap 1/rate is at
    /// least one engine tick: a faster rate would put every event on every
    /// tick (and a run would never end), so it is refused.
    pub fn rate(&self, key: &str, v: Option<f64>, d: f64, unit: TimeUnit) -> Result<f64, ScenarioError> {
        let x = self.nonneg(key, v, d)?;
        if x > 0.0 && (1.0 / x) * (unit.ticks() as f64) < 1.0 {
            return Err(self.err(format!(
                "key `{key}` = {} per {} is faster than one event per engine tick (at most {:.3e})",
                fmt_num(x),
                if unit == TimeUnit::Hours { "hour" } else { "day" },
                unit.ticks() as f64
            )));
        }
        Ok(x)
    }

    /// Amounts of money a run adds up over thousands of events (prices,
    /// values, costs, volatilities) must stay far from f64 overflow: each
    /// (key, value) of `pairs` must be at most [`MAX_MONEY`] in size.
    pub fn money_scale(&self, pairs: &[(&str, f64)]) -> Result<(), ScenarioError> {
        for (key, x) in pairs {
            if x.abs() > MAX_MONEY {
                return Err(self.err(format!(
                    "key `{key}` = {} is beyond the money scale a run can add up (at most {MAX_MONEY:e} in size)",
                    fmt_num(*x)
                )));
            }
        }
        Ok(())
    }

    /// `n` spans of `ticks` each (e.g. rounds of a round length), refused
    /// when the total exceeds [`MAX_TICKS`]; `what` names the keys.
    pub fn span(&self, what: &str, ticks: u64, n: u64) -> Result<u64, ScenarioError> {
        match ticks.checked_mul(n) {
            Some(t) if t <= MAX_TICKS => Ok(t),
            _ => Err(self.err(format!(
                "{what}: {n} x {ticks} ms is longer than the longest simulated time (2^60 ms, about 36 million years)"
            ))),
        }
    }

    /// The reference's tick count: additions of `step` to 0.0 until the sum
    /// reaches `total`, at most `max` of them; `what` names the keys.
    pub fn steps(&self, what: &str, total: f64, step: f64, max: u64) -> Result<u64, ScenarioError> {
        accumulated_steps(total, step, max)
            .ok_or_else(|| self.err(format!("{what}: {} / {} is more than {max} steps", fmt_num(total), fmt_num(step))))
    }

    /// Names that are keys (of groups, strategies, markets, ...) must be
    /// distinct: the first repeated one is an error naming `key`.
    pub fn unique<'n>(&self, key: &str, names: impl IntoIterator<Item = &'n str>) -> Result<(), ScenarioError> {
        let mut seen: Vec<&str> = Vec::new();
        for n in names {
            if seen.contains(&n) {
                return Err(self.err(format!("key `{key}`: \"{n}\" is listed twice (names must be distinct)")));
            }
            seen.push(n);
        }
        Ok(())
    }

    /// A boolean switch written `true`, `false` or `"auto"` (the fidelity's
    /// value: `by_fidelity` = (reference value, corrected value)).
    pub fn bool_switch(
        &self,
        key: &str,
        v: &Option<toml::Value>,
        by_fidelity: (bool, bool),
    ) -> Result<bool, ScenarioError> {
        let d = match self.fidelity {
            Fidelity::Reference => by_fidelity.0,
            Fidelity::Corrected => by_fidelity.1,
        };
        match v {
            None => Ok(d),
            Some(toml::Value::Boolean(b)) => Ok(*b),
            Some(toml::Value::String(x)) if x == "auto" => Ok(d),
            Some(other) => Err(self.err(format!("key `{key}` must be true, false or \"auto\" (got {other})"))),
        }
    }

    /// The verdict thresholds (default 0.9 / 0.1).
    pub fn verdict(&self, v: Option<VerdictSpec>) -> Result<VerdictRule, ScenarioError> {
        let v = v.unwrap_or(VerdictSpec { holds_at: d_holds(), fails_at: d_fails() });
        if !(0.0..=1.0).contains(&v.holds_at) || !(0.0..=1.0).contains(&v.fails_at) || v.fails_at > v.holds_at {
            return Err(self.err("key `verdict`: need 0 <= fails_at <= holds_at <= 1"));
        }
        Ok(VerdictRule { holds_at: v.holds_at, fails_at: v.fails_at })
    }

    /// Refuse keys that are set but do not apply to `study`.
    pub fn not_here(&self, study: &str, keys: &[(&str, bool)]) -> Result<(), ScenarioError> {
        match keys.iter().find(|(_, set)| *set) {
            Some((k, _)) => Err(self.err(format!("key `{k}` does not apply to study {study}"))),
            None => Ok(()),
        }
    }

    /// A list key naming some of `all` by id (all of them when absent):
    /// each known, none twice, at least one; in the listed order.
    pub fn pick_list<T: Copy + PartialEq>(
        &self,
        key: &str,
        what: &str,
        names: &Option<Vec<String>>,
        all: &[T],
        id: fn(T) -> &'static str,
    ) -> Result<Vec<T>, ScenarioError> {
        let Some(names) = names else { return Ok(all.to_vec()) };
        let mut out = Vec::new();
        for n in names {
            let x = all.iter().copied().find(|&x| id(x) == n).ok_or_else(|| {
                let known: Vec<&str> = all.iter().map(|&x| id(x)).collect();
                self.err(format!("key `{key}`: unknown {what} \"{n}\" (expected some of: {})", known.join(", ")))
            })?;
            if out.contains(&x) {
                return Err(self.err(format!("key `{key}`: \"{n}\" is listed twice")));
            }
            out.push(x);
        }
        if out.is_empty() {
            return Err(self.err(format!("key `{key}` must name at least one {what}")));
        }
        Ok(out)
    }
}

/// The header of a scenario file as written (every scenario shares it; see
/// [`crate::study::scenario::HEADER_KEYS`]).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeaderKeys {
    study: String,
    description: Option<String>,
    fidelity: Option<Fidelity>,
    seeds: Option<i64>,
    seed_base: Option<i64>,
    verdict: Option<VerdictSpec>,
    compare_fidelities: Option<bool>,
    overrides: Option<Vec<String>>,
}

/// The scenario header, checked: what every study reads the same way.
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    /// Study id.
    pub study: String,
    /// One line for `list`.
    pub description: Option<String>,
    /// `reference` or `corrected` (default corrected).
    pub fidelity: Fidelity,
    /// Default number of seeds.
    pub seeds: u64,
    /// First default seed.
    pub seed_base: u64,
    /// Verdict thresholds.
    pub verdict: VerdictRule,
    /// `compare_fidelities` as written (`None`: the study's default).
    pub compare_fidelities: Option<bool>,
    /// Whether `seeds` and `seed_base` were written (studies whose seeds
    /// come from a grid refuse them).
    pub given: (bool, bool),
}

impl Scenario {
    /// The header keys, checked; `seeds` and `seed_base` default to the
    /// study's values.
    pub fn header(&self, seeds: u64, seed_base: u64) -> Result<Header, ScenarioError> {
        let mut t = toml::Table::new();
        for k in super::scenario::HEADER_KEYS {
            if let Some(v) = self.table.get(*k) {
                t.insert((*k).to_string(), v.clone());
            }
        }
        let h: HeaderKeys = super::scenario::decode_table(self, &t)?;
        let fidelity = h.fidelity.unwrap_or_default();
        let k = Keys::new(self, fidelity);
        Ok(Header {
            study: h.study,
            description: h.description,
            fidelity,
            seeds: u64::from(k.count("seeds", h.seeds, seeds as i64)?),
            seed_base: u64::from(k.count("seed_base", h.seed_base, seed_base as i64)?),
            verdict: k.verdict(h.verdict)?,
            compare_fidelities: h.compare_fidelities,
            given: (h.seeds.is_some(), h.seed_base.is_some()),
        })
    }
}

/// A switch whose values are an enum: its names are listed once, parsed and
/// printed through this trait (a typo in a name does not compile).
pub trait Switch: Copy + PartialEq + Sized + 'static {
    /// Every value with its name, in the order messages list them.
    const VALUES: &'static [(Self, &'static str)];

    /// The name scenario files and `results.json` use.
    fn name(self) -> &'static str {
        Self::VALUES.iter().find(|(v, _)| *v == self).map(|(_, n)| *n).expect("every value is listed in VALUES")
    }

    /// The value named `name`.
    fn from_name(name: &str) -> Option<Self> {
        Self::VALUES.iter().find(|(_, n)| *n == name).map(|(v, _)| *v)
    }
}

impl Keys<'_> {
    /// A typed switch: one of `S`'s names, or absent / `"auto"` for the
    /// fidelity's value (`by_fidelity` = (reference value, corrected value)).
    pub fn pick<S: Switch>(&self, key: &str, v: &Option<String>, by_fidelity: (S, S)) -> Result<S, ScenarioError> {
        let d = match self.fidelity {
            Fidelity::Reference => by_fidelity.0,
            Fidelity::Corrected => by_fidelity.1,
        };
        match v.as_deref() {
            None | Some("auto") => Ok(d),
            Some(x) => S::from_name(x).ok_or_else(|| {
                self.err(format!(
                    "key `{key}`: unknown value \"{x}\" (expected one of: {}, or \"auto\")",
                    S::VALUES.iter().map(|(_, o)| format!("\"{o}\"")).collect::<Vec<_>>().join(", ")
                ))
            }),
        }
    }
}

/// Declare a switch: an enum whose values have the names scenario files use,
/// with [`Switch`] implemented from that one list.
///
/// ```
/// omerta_sim::switch_enum! {
///     /// How consumers queue.
///     pub enum Order { Fifo = "fifo", Random = "random" }
/// }
/// use omerta_sim::study::Switch;
/// assert_eq!(Order::from_name("random"), Some(Order::Random));
/// assert_eq!(Order::Fifo.name(), "fifo");
/// ```
#[macro_export]
macro_rules! switch_enum {
    ($(#[$m:meta])* $vis:vis enum $name:ident { $($(#[$vm:meta])* $var:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        $vis enum $name { $($(#[$vm])* #[allow(missing_docs)] $var),+ }
        impl $crate::study::Switch for $name {
            const VALUES: &'static [(Self, &'static str)] = &[$(($name::$var, $s)),+];
        }
    };
}
