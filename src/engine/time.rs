//! Simulation time: an integer count of engine ticks (1 tick = 1 ms).
//!
//! Every model uses the same unit so that snapshots, traces and the command
//! line agree: 1 h = 3,600,000 ticks and 1 day = 86,400,000 ticks. A `u64`
//! of milliseconds covers more than 500 million years, so long horizons are
//! safe.
//!
//! ```
//! use omerta_sim::engine::time::{accumulated_steps, parse_time};
//! use omerta_sim::engine::{SimTime, TICKS_PER_HOUR, TimeUnit};
//!
//! let t = SimTime::from_hours(1.5);
//! assert_eq!(t.ticks(), 5_400_000);
//! assert_eq!(t.plus(TICKS_PER_HOUR).hours(), 2.5);
//! assert_eq!(SimTime::from_days(1.0).ticks(), 24 * TICKS_PER_HOUR);
//! assert_eq!(TimeUnit::Hours.format(t), "1.500h");
//! // What a user types: a unit suffix, or a bare number in the model's unit.
//! assert_eq!(parse_time("3d", TimeUnit::Hours), Ok(SimTime::from_days(3.0)));
//! assert_eq!(parse_time("36", TimeUnit::Hours), Ok(SimTime::from_hours(36.0)));
//! assert!(parse_time("-1h", TimeUnit::Hours).is_err());
//! // Adding 0.1 h in f64 takes 2001 steps, not 2000, to reach 200 h.
//! assert_eq!(accumulated_steps(200.0, 0.1, 1_000_000), Some(2001));
//! ```

use serde::{Deserialize, Serialize};
use std::fmt;

/// Engine ticks per millisecond, second, hour and day.
pub const TICKS_PER_MS: u64 = 1;
/// Ticks in one second.
pub const TICKS_PER_SECOND: u64 = 1_000;
/// Ticks in one hour.
pub const TICKS_PER_HOUR: u64 = 3_600_000;
/// Ticks in one day.
pub const TICKS_PER_DAY: u64 = 86_400_000;

/// A point in simulated time, in ticks since the start of the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SimTime(pub u64);

impl SimTime {
    /// Time zero.
    pub const ZERO: SimTime = SimTime(0);
    /// The largest representable time.
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// Ticks since the start.
    #[inline]
    pub fn ticks(self) -> u64 {
        self.0
    }

    /// Whole ticks from hours, rounded to the nearest tick.
    #[inline]
    pub fn from_hours(h: f64) -> SimTime {
        SimTime(hours_to_ticks(h))
    }

    /// Whole ticks from days, rounded to the nearest tick.
    #[inline]
    pub fn from_days(d: f64) -> SimTime {
        SimTime((d * TICKS_PER_DAY as f64).round().max(0.0) as u64)
    }

    /// This time in hours.
    #[inline]
    pub fn hours(self) -> f64 {
        self.0 as f64 / TICKS_PER_HOUR as f64
    }

    /// This time in days.
    #[inline]
    pub fn days(self) -> f64 {
        self.0 as f64 / TICKS_PER_DAY as f64
    }

    /// `self + d`, saturating at [`SimTime::MAX`].
    #[inline]
    pub fn plus(self, d: u64) -> SimTime {
        SimTime(self.0.saturating_add(d))
    }

    /// `self - earlier` in ticks (0 if `earlier` is later).
    #[inline]
    pub fn since(self, earlier: SimTime) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

/// Hours to whole ticks, rounded to the nearest tick (negative -> 0).
#[inline]
pub fn hours_to_ticks(h: f64) -> u64 {
    (h * TICKS_PER_HOUR as f64).round().max(0.0) as u64
}

/// Ticks to hours.
#[inline]
pub fn ticks_to_hours(t: u64) -> f64 {
    t as f64 / TICKS_PER_HOUR as f64
}

/// The number of f64 additions of `step` to 0.0 until the sum reaches
/// `total` (`let mut t = 0.0; while t < total { t += step }`), the way the
/// reference scripts count their ticks; `None` if that is more than `max`
/// additions (checked before looping, so a huge `total` or a tiny `step`
/// costs nothing) or if `step` is not a finite number > 0.
pub fn accumulated_steps(total: f64, step: f64, max: u64) -> Option<u64> {
    if !(step.is_finite() && step > 0.0) || total.is_nan() {
        return None;
    }
    if total <= 0.0 {
        return Some(0);
    }
    // The sum after k additions is within a relative k·2^-53 of k·step, so
    // the loop needs at least about total/step additions.
    // (total and step are not NaN here, so the quotient is a number or +inf.)
    if total / step > max as f64 + 2.0 {
        return None;
    }
    let (mut t, mut k) = (0.0f64, 0u64);
    while t < total {
        t += step;
        k += 1;
        if k > max {
            return None;
        }
    }
    Some(k)
}

/// The unit a user sees for a model's time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeUnit {
    /// Hours (market studies).
    Hours,
    /// Days (trust and policy studies).
    Days,
}

impl TimeUnit {
    /// Ticks in one unit.
    pub fn ticks(self) -> u64 {
        match self {
            TimeUnit::Hours => TICKS_PER_HOUR,
            TimeUnit::Days => TICKS_PER_DAY,
        }
    }
    /// Suffix used when printing.
    pub fn suffix(self) -> &'static str {
        match self {
            TimeUnit::Hours => "h",
            TimeUnit::Days => "d",
        }
    }
    /// The unit's name in words (`hour`, `day`).
    pub fn name(self) -> &'static str {
        match self {
            TimeUnit::Hours => "hour",
            TimeUnit::Days => "day",
        }
    }
    /// Format a time in this unit, e.g. `12.300h`.
    pub fn format(self, t: SimTime) -> String {
        format!("{:.3}{}", t.0 as f64 / self.ticks() as f64, self.suffix())
    }
}

/// Parse a duration or time given by a user: a number with an optional unit
/// suffix `ms`, `s`, `h` or `d`. A bare number is read in `default_unit`.
pub fn parse_time(text: &str, default_unit: TimeUnit) -> Result<SimTime, String> {
    let s = text.trim();
    let (num, unit) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, TICKS_PER_SECOND as f64)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, TICKS_PER_HOUR as f64)
    } else if let Some(n) = s.strip_suffix('d') {
        (n, TICKS_PER_DAY as f64)
    } else {
        (s, default_unit.ticks() as f64)
    };
    let v: f64 = num.trim().parse().map_err(|_| {
        format!("`{text}` is not a time: expected a number with an optional unit ms, s, h or d (e.g. 250h, 3d)")
    })?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("`{text}` is not a time: it must be finite and >= 0"));
    }
    let ticks = (v * unit).round();
    if ticks >= u64::MAX as f64 {
        return Err(format!("`{text}` is too large"));
    }
    Ok(SimTime(ticks as u64))
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.4}h", self.hours())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(SimTime::from_hours(1.0).ticks(), 3_600_000);
        assert_eq!(SimTime::from_days(1.0).ticks(), 86_400_000);
        assert_eq!(SimTime::from_hours(0.1).ticks(), 360_000);
        assert!((SimTime(5_400_000).hours() - 1.5).abs() < 1e-12);
    }

    #[test]
    fn accumulated() {
        // The reference's counts: 2001 ticks of 0.1 h in 200 h, 1501 in 150 h.
        assert_eq!(accumulated_steps(200.0, 0.1, 1_000_000), Some(2001));
        assert_eq!(accumulated_steps(150.0, 0.1, 1_000_000), Some(1501));
        assert_eq!(accumulated_steps(1.0, 0.25, 10), Some(4));
        assert_eq!(accumulated_steps(0.0, 0.1, 10), Some(0));
        assert_eq!(accumulated_steps(1.0, 0.25, 3), None);
        // Huge totals and tiny steps are refused without looping.
        assert_eq!(accumulated_steps(1e300, 0.1, 1_000_000), None);
        assert_eq!(accumulated_steps(2.0, 1e-300, 1_000_000), None);
        assert_eq!(accumulated_steps(2.0, 0.0, 10), None);
        assert_eq!(accumulated_steps(2.0, f64::NAN, 10), None);
        assert_eq!(accumulated_steps(f64::NAN, 1.0, 10), None);
        assert_eq!(accumulated_steps(2.0, 1e300, 10), Some(1));
    }

    #[test]
    fn parse() {
        assert_eq!(parse_time("2h", TimeUnit::Days).unwrap().ticks(), 7_200_000);
        assert_eq!(parse_time("3", TimeUnit::Days).unwrap().ticks(), 3 * TICKS_PER_DAY);
        assert_eq!(parse_time("3", TimeUnit::Hours).unwrap().ticks(), 3 * TICKS_PER_HOUR);
        assert_eq!(parse_time("15ms", TimeUnit::Hours).unwrap().ticks(), 15);
        assert_eq!(parse_time("1.5s", TimeUnit::Hours).unwrap().ticks(), 1500);
        assert!(parse_time("abc", TimeUnit::Hours).is_err());
        assert!(parse_time("-1h", TimeUnit::Hours).is_err());
        assert!(parse_time("nan", TimeUnit::Hours).is_err());
    }
}
