//! Flow records kept for the circular-flow detector.
//!
//! - **Reference**: the last gross amount per ordered pair (from, to), in a
//!   fixed-seed hash map ([`IdMap`]): one lookup per transfer. Nothing reads
//!   it in table order: the detector sums integers over it and the
//!   snapshot check walks it in key order; it serialises in key order.
//!   The per-account totals are the accounts' `gross_sent` and
//!   `gross_received`.
//! - **Corrected**: one log per day of `(from, to, gross)` entries, in a ring
//!   of `window_days` days; a day that leaves the window is dropped whole.
//!   A transfer appends one entry (no hashing, no allocation beyond the
//!   vector's growth). Equal pairs are summed when the detector sorts the
//!   window (`detect::FlowGraph::from_logs`), and inside a day's log once it
//!   holds more than a million entries (sort and merge, then again at twice
//!   the merged size), so a day of repeated pairs cannot grow without bound.
//!   The spec suggests a hash map per day; an append-only log does the same
//!   job with less work per transfer and serialises in a fixed order.

use super::detect::FlowGraph;
use super::{Account, DetectorConfig, DetectorKind};
use crate::engine::idmap::{self, IdMap};
use crate::engine::{SimTime, TICKS_PER_DAY};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Entries in a day's log before it is first sorted and merged.
const COMPACT_MIN: usize = 1 << 20;

/// One transfer's flow: `key` = from << 32 | to, and its gross amount.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowEntry {
    /// from << 32 | to.
    pub key: u64,
    /// Gross µOMC (a sum of several transfers after merging).
    pub gross: i64,
}

impl FlowEntry {
    /// The sender.
    #[inline]
    pub fn from(&self) -> u32 {
        (self.key >> 32) as u32
    }
    /// The receiver.
    #[inline]
    pub fn to(&self) -> u32 {
        self.key as u32
    }
}

/// The entries of one day.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DayLog {
    /// The day (floor of the transfer time in days).
    pub day: u64,
    /// Its entries, in commit order (or sorted by key after a merge).
    pub entries: Vec<FlowEntry>,
    compact_at: usize,
}

impl DayLog {
    fn new(day: u64) -> DayLog {
        DayLog { day, entries: Vec::new(), compact_at: COMPACT_MIN }
    }

    #[inline]
    fn push(&mut self, e: FlowEntry) {
        self.entries.push(e);
        if self.entries.len() >= self.compact_at {
            self.compact();
        }
    }

    /// Sort by key and sum equal keys (two sums that would overflow i64 stay
    /// separate entries, so nothing is lost).
    fn compact(&mut self) {
        self.entries.sort_unstable_by_key(|e| e.key);
        let mut out: Vec<FlowEntry> = Vec::with_capacity(self.entries.len());
        for &e in &self.entries {
            if let Some(last) = out.last_mut()
                && last.key == e.key
                && let Some(s) = last.gross.checked_add(e.gross)
            {
                last.gross = s;
                continue;
            }
            out.push(e);
        }
        self.entries = out;
        self.compact_at = (2 * self.entries.len()).max(COMPACT_MIN);
    }
}

/// The flow records of a ledger.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Flows {
    /// No detector: nothing is kept.
    Off,
    /// Reference detector: last gross per ordered pair.
    Reference {
        /// from << 32 | to -> gross of the most recent transfer.
        #[serde(with = "idmap::sorted_map")]
        last: IdMap<u64, i64>,
    },
    /// Corrected detector: day logs inside the window.
    Window {
        /// W (0 = the whole history).
        window_days: u32,
        /// Day logs, ascending by day.
        days: VecDeque<DayLog>,
    },
}

impl Flows {
    /// Records for `detector` (none without one).
    pub fn new(detector: Option<&DetectorConfig>) -> Flows {
        match detector {
            None => Flows::Off,
            Some(d) => match d.kind {
                DetectorKind::Reference => Flows::Reference { last: idmap::map() },
                DetectorKind::Corrected => Flows::Window { window_days: d.window_days, days: VecDeque::new() },
            },
        }
    }

    /// Record a committed transfer.
    #[inline]
    pub fn record(&mut self, from: u32, to: u32, gross: i64, at: SimTime) {
        let key = (from as u64) << 32 | to as u64;
        match self {
            Flows::Off => {}
            Flows::Reference { last } => {
                last.insert(key, gross);
            }
            Flows::Window { window_days, days } => {
                let day = at.ticks() / TICKS_PER_DAY;
                let e = FlowEntry { key, gross };
                match days.back_mut() {
                    Some(b) if b.day == day => b.push(e),
                    Some(b) if b.day > day => record_late(days, *window_days, day, e),
                    _ => {
                        days.push_back(DayLog::new(day));
                        days.back_mut().expect("just pushed").push(e);
                        let w = *window_days as u64;
                        while w > 0 && days.front().is_some_and(|f| f.day + w <= day) {
                            days.pop_front();
                        }
                    }
                }
            }
        }
    }

    /// Entries (corrected) or pairs (reference) held.
    pub fn len(&self) -> usize {
        match self {
            Flows::Off => 0,
            Flows::Reference { last } => last.len(),
            Flows::Window { days, .. } => days.iter().map(|d| d.entries.len()).sum(),
        }
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reference detector: circ_i = Σ_c min(last(i→c), last(c→i)) and
    /// V_i = gross sent + gross received, over the whole history; and the
    /// number of pairs. (Integer sums: the order of the walk is moot.)
    pub fn reference_volumes(&self, accounts: &[Account]) -> Option<(Vec<i128>, Vec<i128>, usize)> {
        let Flows::Reference { last } = self else { return None };
        let mut circ = vec![0i128; accounts.len()];
        for (&key, &a) in last {
            let (u, v) = ((key >> 32) as u32, key as u32);
            if u < v
                && let Some(&b) = last.get(&((v as u64) << 32 | u as u64))
            {
                let m = a.min(b) as i128;
                circ[u as usize] += m;
                circ[v as usize] += m;
            }
        }
        let volume = accounts.iter().map(|a| a.gross_sent.0 as i128 + a.gross_received.0 as i128).collect();
        Some((circ, volume, last.len()))
    }

    /// Corrected detector on day `day`: the cancelled (c_i) and total (V_i)
    /// volumes of the window's flow graph, and its number of edges.
    pub fn corrected_volumes(&self, n: usize, day: u64) -> Option<(Vec<i128>, Vec<i128>, usize)> {
        let Flows::Window { window_days, days } = self else { return None };
        let lo = if *window_days == 0 { 0 } else { (day + 1).saturating_sub(*window_days as u64) };
        let logs: Vec<&[FlowEntry]> =
            days.iter().filter(|d| d.day >= lo && d.day <= day).map(|d| d.entries.as_slice()).collect();
        let g = FlowGraph::from_logs(n, &logs);
        let edges = g.edges();
        let (c, v) = super::detect::corrected(g);
        Some((c, v, edges))
    }
}

/// A transfer dated before the newest day (only through the API; the engine
/// never goes back): file it under its day, unless that day has already left
/// the window.
impl Flows {
    /// Check flow records read from a snapshot: the kind the detector
    /// configuration `detector` asks for, every account below `n` (and
    /// sender != receiver), every amount positive, the day logs in strictly
    /// increasing day order, none after `today`, within the window, each
    /// below its compaction mark.
    pub fn validate(&self, detector: Option<&DetectorConfig>, n: usize, today: u64) -> Result<(), String> {
        let entry = |key: u64, gross: i64| -> Result<(), String> {
            let (u, v) = ((key >> 32) as u32, key as u32);
            if u as usize >= n || v as usize >= n || u == v {
                return Err(format!("a flow record joins accounts {u} and {v} of {n}"));
            }
            if gross <= 0 {
                return Err(format!("a flow record of {u} to {v} has amount {gross}"));
            }
            Ok(())
        };
        match (self, detector.map(|d| (d.kind, d.window_days))) {
            (Flows::Off, None) => Ok(()),
            (Flows::Reference { last }, Some((DetectorKind::Reference, _))) => {
                idmap::sorted_keys(last).into_iter().try_for_each(|k| entry(k, last[&k]))
            }
            (Flows::Window { window_days, days }, Some((DetectorKind::Corrected, w))) => {
                if *window_days != w {
                    return Err(format!("flow window of {window_days} days, the detector's is {w}"));
                }
                let mut prev: Option<u64> = None;
                for d in days {
                    if prev.is_some_and(|p| p >= d.day) || d.day > today {
                        return Err(format!("flow log of day {} out of order", d.day));
                    }
                    prev = Some(d.day);
                    if d.compact_at < COMPACT_MIN || d.entries.len() >= d.compact_at {
                        return Err(format!("flow log of day {} has a bad compaction mark", d.day));
                    }
                    d.entries.iter().try_for_each(|e| entry(e.key, e.gross))?;
                }
                if let (Some(f), Some(b)) = (days.front(), days.back())
                    && w > 0
                    && f.day + w as u64 <= b.day
                {
                    return Err(format!("flow log of day {} is outside the {w}-day window", f.day));
                }
                Ok(())
            }
            _ => Err("flow records of another kind than the detector's".into()),
        }
    }
}

fn record_late(days: &mut VecDeque<DayLog>, window_days: u32, day: u64, e: FlowEntry) {
    let newest = days.back().map_or(day, |b| b.day);
    if window_days > 0 && day + window_days as u64 <= newest {
        return;
    }
    match days.binary_search_by_key(&day, |d| d.day) {
        Ok(i) => days[i].push(e),
        Err(i) => {
            let mut d = DayLog::new(day);
            d.push(e);
            days.insert(i, d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(w: u32) -> Flows {
        Flows::Window { window_days: w, days: VecDeque::new() }
    }

    fn day(d: u64) -> SimTime {
        SimTime(d * TICKS_PER_DAY + 7)
    }

    #[test]
    fn days_leave_the_window_whole() {
        let mut f = window(3);
        for d in 0..5 {
            f.record(0, 1, 10, day(d));
            f.record(1, 0, 10, day(d));
        }
        let Flows::Window { days, .. } = &f else { unreachable!() };
        assert_eq!(days.iter().map(|d| d.day).collect::<Vec<_>>(), [2, 3, 4]);
        assert_eq!(f.len(), 6);
        // A late transfer inside the window is filed under its day; one
        // outside is dropped.
        f.record(0, 1, 5, day(3));
        f.record(0, 1, 5, day(1));
        let Flows::Window { days, .. } = &f else { unreachable!() };
        assert_eq!(days[1].entries.len(), 3);
        assert_eq!(f.len(), 7);
    }

    #[test]
    fn whole_history_keeps_everything() {
        let mut f = window(0);
        for d in [0, 100, 1000] {
            f.record(2, 3, 1, day(d));
        }
        assert_eq!(f.len(), 3);
    }

    #[test]
    fn compaction_sums_equal_pairs() {
        let mut log = DayLog::new(0);
        for i in 0..10 {
            log.push(FlowEntry { key: 5, gross: i });
            log.push(FlowEntry { key: 3, gross: 1 });
        }
        log.push(FlowEntry { key: 9, gross: i64::MAX });
        log.push(FlowEntry { key: 9, gross: 1 });
        log.compact();
        assert_eq!(
            log.entries,
            vec![
                FlowEntry { key: 3, gross: 10 },
                FlowEntry { key: 5, gross: 45 },
                FlowEntry { key: 9, gross: i64::MAX },
                FlowEntry { key: 9, gross: 1 }
            ]
        );
    }
}
