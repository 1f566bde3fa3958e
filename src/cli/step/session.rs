//! A stepping session: the run, what is printed, breakpoints, watches and
//! the history for stepping back; and the loop that handles events.

use super::breaks::{Breaks, Shown, Watches};
use super::history::History;
use crate::engine::interrupt;
use crate::engine::{AgentRef, SimTime, StepInfo, TimeUnit};
use crate::study::Stepper;
use std::io::{self, Write};
use std::time::Instant;

/// Which events to print.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Kind names (empty: every kind).
    pub kinds: Vec<String>,
    /// The agent events must concern.
    pub agent: Option<AgentRef>,
}

impl Filter {
    /// Whether `s` is printed.
    pub fn matches(&self, s: &StepInfo) -> bool {
        (self.kinds.is_empty() || self.kinds.iter().any(|k| k == s.kind))
            && self.agent.as_ref().is_none_or(|a| s.involves(a))
    }

    /// The filter in words.
    pub fn describe(&self) -> String {
        match (self.kinds.is_empty(), &self.agent) {
            (true, None) => "every event is shown".into(),
            (false, None) => format!("showing events of kind {}", self.kinds.join(", ")),
            (true, Some(a)) => format!("showing events that concern {a}"),
            (false, Some(a)) => format!("showing events of kind {} that concern {a}", self.kinds.join(", ")),
        }
    }
}

/// Why a run of events stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// As many matching events were shown as asked.
    Shown,
    /// The time asked for was reached.
    Time,
    /// A breakpoint hit.
    Hit,
    /// The run is over (horizon reached or no event left).
    End,
    /// Ctrl-C.
    Interrupted,
}

/// What a run of events does.
#[derive(Clone, Copy, Debug, Default)]
pub struct Plan {
    /// Print the events the filter matches.
    pub show: bool,
    /// Stop after this many were printed.
    pub count: Option<u64>,
    /// Stop before the first event after this time.
    pub until: Option<SimTime>,
    /// Print watched agents that change.
    pub watch: bool,
    /// Stop at breakpoints.
    pub breaks: bool,
}

/// One stepping session.
pub struct Session<'r, W: Write> {
    /// The run.
    pub run: &'r mut dyn Stepper,
    /// Its time unit.
    pub unit: TimeUnit,
    /// What is printed.
    pub filter: Filter,
    /// Breakpoints.
    pub breaks: Breaks,
    /// Watched agents.
    pub watches: Watches,
    /// Checkpoints for stepping back.
    pub history: History,
    /// Where output goes.
    pub out: W,
}

/// Print one event with its notes (those of other agents left out when
/// the filter names an agent).
pub fn print_step(out: &mut impl Write, s: &StepInfo, unit: TimeUnit, only: Option<AgentRef>) -> io::Result<()> {
    print_header(out, s.time, s.seq, s.kind, s.agent, unit)?;
    for c in &s.changes {
        if only.is_some() && c.agent.is_some() && c.agent != only {
            continue;
        }
        match c.agent {
            Some(a) => writeln!(out, "{:>26} {a}: {}", "", c.text)?,
            None => writeln!(out, "{:>26} {}", "", c.text)?,
        }
    }
    Ok(())
}

/// The first line of an event (or a pending one).
pub fn print_header(
    out: &mut impl Write,
    time: SimTime,
    seq: u64,
    kind: &str,
    agent: Option<AgentRef>,
    unit: TimeUnit,
) -> io::Result<()> {
    let agent = agent.map(|a| format!(" [{a}]")).unwrap_or_default();
    writeln!(out, "{:>14} #{:<9} {kind}{agent}", unit.format(time), seq)
}

impl<W: Write> Session<'_, W> {
    /// Where the run is: time, events handled, pending events and the
    /// trajectory fingerprint.
    pub fn status(&mut self) -> String {
        let unit = self.unit;
        let c = self.run.counters();
        let next = match self.run.next_time() {
            Some(t) if !self.run.done() => unit.format(t),
            Some(t) => format!("{}, after the horizon: the run is over", unit.format(t)),
            None => "none: the run is over".into(),
        };
        format!(
            "at {}: {} events handled, {} pending (next at {next}), fingerprint {:016x}",
            unit.format(self.run.now()),
            c.processed,
            self.run.pending(),
            self.run.fingerprint()
        )
    }

    /// Events handled so far (the position in the run).
    pub fn pos(&self) -> u64 {
        self.run.counters().processed
    }

    /// Handle events as `plan` says until it is done, a breakpoint hits,
    /// the run ends or Ctrl-C.
    pub fn run_events(&mut self, plan: Plan) -> anyhow::Result<Stop> {
        let t0 = Instant::now();
        let start = self.pos();
        let stop = self.event_loop(plan);
        let handled = self.pos().saturating_sub(start);
        self.history.note_speed(handled, t0.elapsed());
        if !plan.watch {
            self.watches.resync(self.run);
        }
        stop
    }

    fn event_loop(&mut self, plan: Plan) -> anyhow::Result<Stop> {
        let mut shown = 0u64;
        loop {
            if plan.count.is_some_and(|c| shown >= c) {
                return Ok(Stop::Shown);
            }
            if interrupt::requested() {
                return Ok(Stop::Interrupted);
            }
            if self.run.done() {
                return Ok(Stop::End);
            }
            if let Some(t) = plan.until
                && self.run.next_time().is_none_or(|n| n > t)
            {
                return Ok(Stop::Time);
            }
            let before = self.run.now();
            let mut trace = plan.show || (plan.breaks && self.breaks.need_trace());
            if !trace && plan.breaks && !self.breaks.is_empty() {
                // Notes for an event a breakpoint will stop at, known from
                // the pending event (a condition is known only after it).
                trace = self.run.peek().is_some_and(|p| self.breaks.will_hit(before, p.time, p.kind));
            }
            self.history.before_step(self.run);
            self.run.set_tracing(trace);
            let Some(s) = self.run.step() else { return Ok(Stop::End) };
            let mut full = false;
            if plan.show && self.filter.matches(&s) {
                print_step(&mut self.out, &s, self.unit, self.filter.agent)?;
                shown += 1;
                full = true;
            }
            let hits = if plan.breaks && !self.breaks.is_empty() {
                self.breaks.check(before, &s, self.run, true)
            } else {
                vec![]
            };
            if !hits.is_empty() && !full {
                if trace {
                    print_step(&mut self.out, &s, self.unit, self.filter.agent)?;
                } else {
                    self.print_traced(&s)?;
                }
                full = true;
            }
            if plan.watch && !self.watches.is_empty() {
                let changed = self.watches.changed(self.run);
                if !changed.is_empty() && !full {
                    print_header(&mut self.out, s.time, s.seq, s.kind, s.agent, self.unit)?;
                }
                for (a, state) in changed {
                    writeln!(self.out, "{:>26} watch {a}: {state}", "")?;
                }
            }
            if !hits.is_empty() {
                self.print_hits(&hits)?;
                return Ok(Stop::Hit);
            }
        }
    }

    /// Print the event just handled with its trace notes: `s` itself when
    /// it was traced, else the same event handled again (back one event,
    /// then one step with notes on).
    fn print_traced(&mut self, s: &StepInfo) -> anyhow::Result<()> {
        let pos = self.pos();
        self.history.goto(self.run, pos - 1, false)?;
        self.run.set_tracing(true);
        let again = self.run.step().ok_or_else(|| anyhow::anyhow!("the event at {pos} is gone after a replay"))?;
        anyhow::ensure!(again.seq == s.seq, "replay went astray: event #{} where #{} was", again.seq, s.seq);
        print_step(&mut self.out, &again, self.unit, self.filter.agent)?;
        Ok(())
    }

    /// Say which breakpoints hit.
    pub fn print_hits(&mut self, hits: &[usize]) -> io::Result<()> {
        for id in hits {
            if let Some(b) = self.breaks.get(*id) {
                let text = Shown(&b.when, self.unit).to_string();
                writeln!(self.out, "breakpoint {id} hit ({text})")?;
            }
        }
        Ok(())
    }

    /// Go back to position `target` and print the event that led there
    /// (none at the start of the session). Breakpoints and watches take the
    /// state there as their reference.
    pub fn back_to(&mut self, target: u64) -> anyhow::Result<super::history::Moved> {
        let base = self.history.base();
        let moved = if target > base {
            let m = self.history.goto(self.run, target - 1, true)?;
            if !m.interrupted {
                self.run.set_tracing(true);
                if let Some(s) = self.run.step() {
                    print_step(&mut self.out, &s, self.unit, self.filter.agent)?;
                }
            }
            m
        } else {
            self.history.goto(self.run, target, true)?
        };
        self.breaks.resync(self.run);
        self.watches.resync(self.run);
        Ok(moved)
    }

    /// Find the last breakpoint hit before the current position and go
    /// there. Returns the hits found, or none (the run is back where it
    /// was).
    pub fn reverse_continue(&mut self) -> anyhow::Result<Option<Vec<usize>>> {
        let pos = self.pos();
        let trace = self.breaks.need_trace();
        for (start, end) in self.history.segments_before(pos) {
            // Events start+1 ..= end-1 (hits strictly before `pos`; `end`
            // is the next segment's start, searched with that segment, or
            // `pos` itself).
            let last = if end == pos { pos - 1 } else { end };
            if last <= start {
                continue;
            }
            self.history.goto(self.run, start, false)?;
            self.breaks.resync(self.run);
            let mut found: Option<(u64, Vec<usize>)> = None;
            while self.pos() < last {
                if interrupt::requested() {
                    self.back_to_quietly(pos)?;
                    return Ok(None);
                }
                let before = self.run.now();
                self.run.set_tracing(trace);
                let Some(s) = self.run.step() else { break };
                let hits = self.breaks.check(before, &s, self.run, false);
                if !hits.is_empty() {
                    found = Some((self.pos(), hits));
                }
            }
            if let Some((at, hits)) = found {
                self.back_to(at)?;
                for id in &hits {
                    self.breaks.count_hit(*id);
                }
                self.print_hits(&hits)?;
                return Ok(Some(hits));
            }
        }
        self.back_to_quietly(pos)?;
        Ok(None)
    }

    fn back_to_quietly(&mut self, pos: u64) -> anyhow::Result<()> {
        self.history.goto(self.run, pos, false)?;
        self.breaks.resync(self.run);
        self.watches.resync(self.run);
        Ok(())
    }
}
