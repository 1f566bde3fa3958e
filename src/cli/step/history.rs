//! Stepping back: periodic in-memory checkpoints of the run and
//! deterministic replay from the nearest one.
//!
//! A checkpoint is the whole simulation as bytes ([`Stepper::checkpoint`]),
//! taken when the run passes a multiple of the checkpoint interval (counted
//! in events from the start of the session). Going to event `k` restores
//! the last checkpoint at or before `k` and handles the events up to `k`
//! again with trace notes off; the run is deterministic, so the state is
//! the one the run had there, bit for bit (fingerprint included).
//!
//! Memory is bounded by a budget: when the checkpoints take more, every
//! other one is dropped and the interval doubles (the checkpoint at the
//! start of the session is always kept). The interval also grows when
//! taking a checkpoint costs more than a tenth of the stepping between two
//! checkpoints (large states), so keeping history never slows stepping by
//! much. Where checkpoints fall changes how long going back takes, never
//! where it lands.

use crate::study::Stepper;
use std::time::{Duration, Instant};

/// The first checkpoint interval, in events.
const FIRST_INTERVAL: u64 = 1024;

/// Events replayed between two checks for an interrupt.
const REPLAY_CHUNK: u64 = 1 << 14;

/// One checkpoint: the state after `pos` events.
struct Checkpoint {
    pos: u64,
    state: Vec<u8>,
}

/// The checkpoints of one session.
pub struct History {
    cps: Vec<Checkpoint>,
    /// Events handled at the start of the session: the earliest reachable
    /// position.
    base: u64,
    interval: u64,
    bytes: u64,
    budget: u64,
    /// Seconds an event takes, as measured (starts at a guess).
    per_event: f64,
    /// Largest checkpoint seen, in bytes, and the time it took.
    largest: u64,
    last_cost: Duration,
    /// Whether the start checkpoint alone is over the budget.
    over: bool,
    /// Whether checkpoints are kept (not for a one-shot `step --count`).
    enabled: bool,
}

/// How a move through the history went.
#[derive(Clone, Copy, Debug, Default)]
pub struct Moved {
    /// Events handled again.
    pub replayed: u64,
    /// Where the replay started (a checkpoint or the current position).
    pub from: u64,
    /// Whether an interrupt stopped it before the target.
    pub interrupted: bool,
    /// Wall time.
    pub took: Duration,
}

impl History {
    /// A history starting at the run's current state.
    pub fn new(run: &mut dyn Stepper, budget: u64) -> History {
        let base = run.counters().processed;
        let mut h = History {
            cps: Vec::new(),
            base,
            interval: FIRST_INTERVAL,
            bytes: 0,
            budget,
            per_event: 1e-6,
            largest: 0,
            last_cost: Duration::ZERO,
            over: false,
            enabled: true,
        };
        h.take(run);
        h
    }

    /// No history: for a session that never goes back.
    pub fn off(run: &mut dyn Stepper) -> History {
        History {
            cps: Vec::new(),
            base: run.counters().processed,
            interval: u64::MAX,
            bytes: 0,
            budget: 0,
            per_event: 1e-6,
            largest: 0,
            last_cost: Duration::ZERO,
            over: false,
            enabled: false,
        }
    }

    /// The earliest position (events handled) the session can go back to.
    pub fn base(&self) -> u64 {
        self.base
    }

    /// The memory budget, in bytes.
    pub fn budget(&self) -> u64 {
        self.budget
    }

    /// Set the memory budget (dropping checkpoints to fit).
    pub fn set_budget(&mut self, budget: u64) {
        self.budget = budget;
        self.fit();
    }

    /// Record how fast the run steps (`events` in `took`), to space
    /// checkpoints.
    pub fn note_speed(&mut self, events: u64, took: Duration) {
        if events >= 1000 {
            self.per_event = took.as_secs_f64() / events as f64;
        }
    }

    /// Call before handling an event: takes a checkpoint when the run is
    /// at a multiple of the interval that has none.
    #[inline]
    pub fn before_step(&mut self, run: &mut dyn Stepper) {
        let pos = run.counters().processed;
        if self.enabled
            && pos >= self.base
            && (pos - self.base).is_multiple_of(self.interval)
            && self.find(pos).is_err()
        {
            self.take(run);
        }
    }

    fn find(&self, pos: u64) -> Result<usize, usize> {
        self.cps.binary_search_by_key(&pos, |c| c.pos)
    }

    fn take(&mut self, run: &mut dyn Stepper) {
        let pos = run.counters().processed;
        let t0 = Instant::now();
        let mut state = run.checkpoint();
        state.shrink_to_fit();
        let cost = t0.elapsed();
        let size = state.capacity() as u64;
        self.largest = self.largest.max(size);
        self.last_cost = cost;
        self.bytes += size;
        let at = self.find(pos).unwrap_or_else(|i| i);
        self.cps.insert(at, Checkpoint { pos, state });
        // Keep checkpoints to a tenth of the stepping time.
        let min_interval = (10.0 * cost.as_secs_f64() / self.per_event.max(1e-9)).min(1e15) as u64;
        while self.interval < min_interval {
            self.thin();
        }
        self.fit();
    }

    /// Double the interval, dropping the checkpoints off its multiples.
    fn thin(&mut self) {
        self.interval = self.interval.saturating_mul(2);
        let (base, interval) = (self.base, self.interval);
        self.cps.retain(|c| c.pos == base || (c.pos - base).is_multiple_of(interval));
        self.bytes = self.cps.iter().map(|c| c.state.capacity() as u64).sum();
    }

    /// Thin until the checkpoints fit the budget (or only the start is left).
    fn fit(&mut self) {
        while self.bytes > self.budget && self.cps.len() > 1 {
            self.thin();
        }
        self.over = self.bytes > self.budget;
    }

    /// Go to position `target` (events handled), which must be at or
    /// after [`History::base`] and no later than the run has been: from
    /// the current state when it is on the way, else from the last
    /// checkpoint at or before it. Trace notes are off afterwards. With `interruptible`, an interrupt
    /// request stops the replay between two events (the run is then at a
    /// consistent earlier position).
    pub fn goto(&mut self, run: &mut dyn Stepper, target: u64, interruptible: bool) -> anyhow::Result<Moved> {
        let t0 = Instant::now();
        anyhow::ensure!(target >= self.base, "event {target} is before the start of this session");
        let cur = run.counters().processed;
        let i = match self.find(target) {
            Ok(i) => i,
            Err(0) => anyhow::bail!("no checkpoint at or before event {target}"),
            Err(i) => i - 1,
        };
        let cp = &self.cps[i];
        if !(cp.pos <= cur && cur <= target) {
            run.restore(&cp.state)?;
        }
        let from = run.counters().processed;
        let mut moved = Moved { from, ..Moved::default() };
        // Replays take no trace notes (they do not change the run, and
        // cost time); the debugger sets tracing before each step it shows.
        run.set_tracing(false);
        while run.counters().processed < target {
            if interruptible && crate::engine::interrupt::requested() {
                moved.interrupted = true;
                break;
            }
            let left = target - run.counters().processed;
            let done = run.run_events(left.min(REPLAY_CHUNK));
            moved.replayed += done;
            if done == 0 {
                break;
            }
        }
        anyhow::ensure!(
            moved.interrupted || run.counters().processed == target,
            "the run ended at event {} before event {target}",
            run.counters().processed
        );
        moved.took = t0.elapsed();
        if moved.replayed >= 1000 {
            self.note_speed(moved.replayed, moved.took);
        }
        Ok(moved)
    }

    /// The checkpoints' positions at or before `pos`, latest first, each
    /// with the position of the next one (or `pos`): the segments a
    /// backward search replays.
    pub fn segments_before(&self, pos: u64) -> Vec<(u64, u64)> {
        let mut v = Vec::new();
        for (k, c) in self.cps.iter().enumerate() {
            if c.pos >= pos {
                break;
            }
            let end = self.cps.get(k + 1).map_or(pos, |n| n.pos.min(pos));
            v.push((c.pos, end));
        }
        v.reverse();
        v
    }

    /// One line on what the history holds.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} checkpoint{} in {} of a {} budget (every {} events from event {}; the largest {}, taken in {:.1} ms)",
            self.cps.len(),
            if self.cps.len() == 1 { "" } else { "s" },
            human(self.bytes),
            human(self.budget),
            self.interval,
            self.base,
            human(self.largest),
            self.last_cost.as_secs_f64() * 1e3
        );
        if self.over {
            s += "; the start of the session alone is over the budget: it is kept, and going back replays from it";
        }
        s
    }
}

/// Bytes for people: `812 KiB`, `3.4 MiB`.
pub fn human(b: u64) -> String {
    crate::study::limits::human_bytes(b as f64)
}

/// Parse a memory size: a whole number of bytes or with a unit (`K`, `M`,
/// `G`, with or without `iB`/`B`, all binary: `256MiB`, `1G`, `512k`).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return Err(format!("`{text}` is not a memory size (e.g. 256MiB, 1GiB, 64M)")),
    };
    let v: f64 = num.parse().map_err(|_| format!("`{text}` is not a memory size (e.g. 256MiB, 1GiB, 64M)"))?;
    let bytes = v * mult as f64;
    if !bytes.is_finite() || bytes >= 1.8e19 {
        return Err(format!("`{text}` is too large a memory size"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("256MiB"), Ok(256 << 20));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert_eq!(parse_size("1.5K"), Ok(1536));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("-3M").is_err());
        assert!(parse_size("1e30").is_err());
        assert!(parse_size("99999999999T").is_err());
    }
}
