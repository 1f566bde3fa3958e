//! Tipping points: where, along one scenario key, a metric's mean (or a
//! finding's held share) crosses a target. Bisection on values averaged
//! over the same seeds at every probe, each probe reported with its 95%
//! interval; an integer key ends on two adjacent integers.

use anyhow::bail;
use serde::Serialize;

/// A comparison of `--where`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Op {
    /// `<`
    #[serde(rename = "<")]
    Lt,
    /// `<=`
    #[serde(rename = "<=")]
    Le,
    /// `>`
    #[serde(rename = ">")]
    Gt,
    /// `>=`
    #[serde(rename = ">=")]
    Ge,
}

impl Op {
    /// The operator as written.
    pub fn text(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }
    /// `x op target`.
    pub fn holds(self, x: f64, target: f64) -> bool {
        match self {
            Op::Lt => x < target,
            Op::Le => x <= target,
            Op::Gt => x > target,
            Op::Ge => x >= target,
        }
    }
}

/// `--where "<metric or finding> <op> <target>"`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Condition {
    /// A metric key or a finding id.
    pub name: String,
    /// The comparison.
    pub op: Op,
    /// The target.
    pub target: f64,
}

impl std::str::FromStr for Condition {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = |why: &str| {
            format!(
                "`{s}`: {why}; expected \"<metric or finding> <op> <target>\" with op one of <, <=, >, >= \
                 (e.g. \"scenarios.undersupplied.dc_home.cost_per_useful_hour < 1.5\" or \"F1 >= 0.9\")"
            )
        };
        let at = s.find(['<', '>']).ok_or_else(|| bad("no comparison"))?;
        let (name, rest) = (s[..at].trim(), &s[at..]);
        let (op, value) = if let Some(v) = rest.strip_prefix("<=") {
            (Op::Le, v)
        } else if let Some(v) = rest.strip_prefix(">=") {
            (Op::Ge, v)
        } else if let Some(v) = rest.strip_prefix('<') {
            (Op::Lt, v)
        } else {
            (Op::Gt, &rest[1..])
        };
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(bad("the name before the comparison must be one metric key or finding id"));
        }
        let target: f64 = value.trim().parse().map_err(|_| bad("the target is not a number"))?;
        if !target.is_finite() {
            return Err(bad("the target must be a finite number"));
        }
        Ok(Condition { name: name.to_string(), op, target })
    }
}

/// `--range lo,hi`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    /// Low end.
    pub lo: f64,
    /// High end.
    pub hi: f64,
    /// Both ends written as whole numbers.
    pub whole: bool,
}

impl std::str::FromStr for Range {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("`{s}`: {why}; expected lo,hi with lo < hi (e.g. 0.01,0.5 or 5,40)");
        let (a, b) = s.split_once(',').ok_or_else(|| bad("no comma"))?;
        let num = |t: &str| -> Result<f64, String> {
            let x: f64 = t.trim().parse().map_err(|_| bad(&format!("`{}` is not a number", t.trim())))?;
            if x.is_finite() { Ok(x) } else { Err(bad("the ends must be finite")) }
        };
        let (lo, hi) = (num(a)?, num(b)?);
        if lo >= hi {
            return Err(bad("lo must be less than hi"));
        }
        let is_whole = |t: &str| t.trim().trim_start_matches('-').bytes().all(|c| c.is_ascii_digit());
        let whole = is_whole(a) && is_whole(b) && lo.abs() < 9e15 && hi.abs() < 9e15;
        Ok(Range { lo, hi, whole })
    }
}

/// What one probe found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Probe {
    /// The key's value.
    pub value: f64,
    /// The metric's mean (or the finding's held share) over the seeds;
    /// `None` when undefined in every seed.
    pub mean: Option<f64>,
    /// Its 95% interval (Student t; Wilson for a held share).
    pub ci95: Option<[f64; 2]>,
    /// Seeds it is defined in.
    pub n: usize,
    /// Whether the condition holds on the mean (an undefined mean: no).
    pub holds: bool,
    /// The interval contains the target: the side this probe is on is not
    /// settled by these seeds.
    pub uncertain: bool,
}

impl Probe {
    /// Judge a probe's estimate against the condition.
    pub fn judge(value: f64, mean: Option<f64>, ci95: Option<[f64; 2]>, n: usize, c: &Condition) -> Probe {
        let holds = mean.is_some_and(|m| c.op.holds(m, c.target));
        let uncertain = ci95.is_some_and(|[lo, hi]| lo <= c.target && c.target <= hi);
        Probe { value, mean, ci95, n, holds, uncertain }
    }
}

/// How the search ended.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Outcome {
    /// Every probe, in the order run.
    pub probes: Vec<Probe>,
    /// The closest probes on either side of the crossing (the low and the
    /// high key value), when the condition differs at the two ends.
    pub bracket: Option<(f64, f64)>,
}

/// How the search halves its bracket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Halving {
    /// At the arithmetic middle; stop when `hi - lo <= tol`.
    Linear,
    /// At the geometric middle (`lo > 0`); stop when `hi / lo - 1 <= tol`.
    Log,
}

/// Search `[lo, hi]` for the point where the condition changes: probe both
/// ends, then bisect while the bracket is wider than `tol` (for an integer
/// key: until the ends are adjacent) and fewer than `max_probes` probes ran.
pub fn bisect(
    lo: f64,
    hi: f64,
    integer: bool,
    tol: f64,
    max_probes: usize,
    probe: impl FnMut(f64) -> anyhow::Result<Probe>,
) -> anyhow::Result<Outcome> {
    bisect_with(lo, hi, integer, Halving::Linear, tol, max_probes, probe)
}

/// [`bisect`] with a choice of [`Halving`] (an integer key on a log scale
/// takes the geometric middle rounded down, and still ends on adjacent
/// integers).
pub fn bisect_with(
    lo: f64,
    hi: f64,
    integer: bool,
    halving: Halving,
    tol: f64,
    max_probes: usize,
    mut probe: impl FnMut(f64) -> anyhow::Result<Probe>,
) -> anyhow::Result<Outcome> {
    if lo.partial_cmp(&hi) != Some(std::cmp::Ordering::Less) {
        bail!("the range must have lo < hi (got {lo}, {hi})");
    }
    if halving == Halving::Log && lo <= 0.0 {
        bail!("a log-scale search needs lo > 0 (got {lo})");
    }
    let mut probes = vec![probe(lo)?, probe(hi)?];
    if probes[0].holds == probes[1].holds {
        return Ok(Outcome { probes, bracket: None });
    }
    let (mut a, mut b) = (lo, hi);
    let low_holds = probes[0].holds;
    while probes.len() < max_probes {
        let mid = match (integer, halving) {
            (true, _) if b - a <= 1.0 => break,
            (true, Halving::Linear) => (a + ((b - a) / 2.0).floor()).round(),
            (true, Halving::Log) => (a * b).sqrt().floor().clamp(a + 1.0, b - 1.0),
            (false, Halving::Linear) if b - a <= tol => break,
            (false, Halving::Linear) => 0.5 * (a + b),
            (false, Halving::Log) if b / a - 1.0 <= tol => break,
            (false, Halving::Log) => (a.ln() + 0.5 * (b.ln() - a.ln())).exp().clamp(a, b),
        };
        let p = probe(mid)?;
        if p.holds == low_holds {
            a = mid;
        } else {
            b = mid;
        }
        probes.push(p);
    }
    Ok(Outcome { probes, bracket: Some((a, b)) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Condition {
        s.parse().unwrap()
    }

    #[test]
    fn conditions_parse() {
        assert_eq!(c("a.b < 1.5"), Condition { name: "a.b".into(), op: Op::Lt, target: 1.5 });
        assert_eq!(c("F1>=0.9").op, Op::Ge);
        assert_eq!(c("x <= -2").target, -2.0);
        assert_eq!(c("x>3e2").target, 300.0);
        for bad in ["", "x", "x = 1", "< 1", "a b < 1", "x < ", "x < one", "x < inf", "x < NaN"] {
            assert!(bad.parse::<Condition>().is_err(), "{bad}");
        }
    }

    #[test]
    fn ranges_parse() {
        assert_eq!("0.01,0.5".parse::<Range>(), Ok(Range { lo: 0.01, hi: 0.5, whole: false }));
        assert_eq!("5, 40".parse::<Range>(), Ok(Range { lo: 5.0, hi: 40.0, whole: true }));
        assert!("-3,2".parse::<Range>().unwrap().whole);
        for bad in ["", "1", "2,1", "1,1", "a,2", "1,inf", "1,2,3"] {
            assert!(bad.parse::<Range>().is_err(), "{bad}");
        }
    }

    /// A known step: the condition holds from `at` on.
    fn step_probe(at: f64) -> impl FnMut(f64) -> anyhow::Result<Probe> {
        move |x| Ok(Probe::judge(x, Some(if x >= at { 1.0 } else { 0.0 }), None, 1, &c("m >= 0.5")))
    }

    #[test]
    fn bisection_brackets_a_known_crossing() {
        let o = bisect(0.0, 10.0, false, 1e-3, 100, step_probe(3.7)).unwrap();
        let (a, b) = o.bracket.unwrap();
        assert!(a < 3.7 && 3.7 <= b && b - a <= 1e-3, "{a} {b}");
        assert!(!o.probes.iter().find(|p| p.value == a).unwrap().holds);
        assert!(o.probes.iter().find(|p| p.value == b).unwrap().holds);
    }

    #[test]
    fn integer_keys_end_on_adjacent_integers() {
        for at in [2.0, 3.0, 17.0, 39.0, 40.0] {
            let o = bisect(1.0, 40.0, true, 0.0, 100, step_probe(at)).unwrap();
            assert_eq!(o.bracket, Some((at - 1.0, at)), "at {at}");
            assert!(o.probes.iter().all(|p| p.value.fract() == 0.0));
        }
    }

    #[test]
    fn log_halving_brackets_a_crossing_to_a_relative_width() {
        let o = bisect_with(0.01, 10.0, false, Halving::Log, 0.01, 100, step_probe(0.037)).unwrap();
        let (a, b) = o.bracket.unwrap();
        assert!(a < 0.037 && 0.037 <= b && b / a - 1.0 <= 0.01, "{a} {b}");
        // Geometric middles: the third probe is sqrt(0.01 * 10).
        assert!((o.probes[2].value - 0.1_f64.sqrt()).abs() < 1e-12);
        for at in [2.0, 3.0, 17.0, 999.0, 1000.0] {
            let o = bisect_with(1.0, 1000.0, true, Halving::Log, 0.0, 100, step_probe(at)).unwrap();
            assert_eq!(o.bracket, Some((at - 1.0, at)), "at {at}");
        }
        assert!(bisect_with(0.0, 1.0, false, Halving::Log, 0.01, 10, step_probe(0.5)).is_err());
    }

    #[test]
    fn no_crossing_and_the_probe_cap() {
        let o = bisect(5.0, 6.0, false, 1e-9, 100, step_probe(9.0)).unwrap();
        assert_eq!((o.bracket, o.probes.len()), (None, 2));
        let o = bisect(0.0, 1.0, false, 1e-12, 6, step_probe(0.3)).unwrap();
        assert_eq!(o.probes.len(), 6);
        let (a, b) = o.bracket.unwrap();
        assert!(a < 0.3 && 0.3 <= b);
    }

    #[test]
    fn uncertain_when_the_interval_holds_the_target() {
        let p = Probe::judge(1.0, Some(0.6), Some([0.4, 0.8]), 10, &c("m > 0.5"));
        assert!(p.holds && p.uncertain);
        let p = Probe::judge(1.0, Some(0.9), Some([0.8, 1.0]), 10, &c("m > 0.5"));
        assert!(p.holds && !p.uncertain);
        let p = Probe::judge(1.0, None, None, 0, &c("m > 0.5"));
        assert!(!p.holds && !p.uncertain);
    }
}
