//! Breakpoints and watches.
//!
//! A breakpoint hits at an event, and the run stops right after handling
//! it (as `next` stops after the event it shows):
//!
//! - `at <time>`: the first event at or after the time (an event at time
//!   `t_k` hits when the one before it was before the time);
//! - `on <kind>[,<kind>..] [agent]`: an event of one of the kinds (that
//!   concerns the agent, when one is named);
//! - `when <agent>.<field> <op> <value>`: an event after which the
//!   condition holds and before which it did not.
//!
//! Whether event `k` hits depends on the run up to `k` only, never on where
//! the session was, so the same hits are found stepping forward and
//! searching backward (`reverse-continue`).

use crate::engine::{AgentRef, SimTime, StepInfo, TimeUnit};
use crate::study::Stepper;
use std::fmt;

/// A comparison of a condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Op {
    /// The operators, longest spelling first (for parsing).
    const ALL: [(&'static str, Op); 6] =
        [("<=", Op::Le), (">=", Op::Ge), ("==", Op::Eq), ("!=", Op::Ne), ("<", Op::Lt), (">", Op::Gt)];

    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Op::Lt => a < b,
            Op::Le => a <= b,
            Op::Gt => a > b,
            Op::Ge => a >= b,
            Op::Eq => a == b,
            Op::Ne => a != b,
        }
    }

    fn text(self) -> &'static str {
        Op::ALL.iter().find(|(_, o)| *o == self).map_or("?", |(t, _)| t)
    }
}

/// What a breakpoint waits for.
#[derive(Clone, Debug, PartialEq)]
pub enum When {
    /// The first event at or after a time.
    At(SimTime),
    /// An event of one of these kinds, concerning the agent if one.
    On { kinds: Vec<String>, agent: Option<AgentRef> },
    /// A condition on an agent's field becoming true.
    Cond { agent: AgentRef, field: String, op: Op, value: f64 },
}

/// One breakpoint.
#[derive(Clone, Debug)]
pub struct Breakpoint {
    /// Its number (`delete <n>`).
    pub id: usize,
    /// What it waits for.
    pub when: When,
    /// Times it hit.
    pub hits: u64,
    /// For a condition: whether it holds in the current state.
    holds: bool,
}

impl Breakpoint {
    /// For a condition: whether it holds in the current state.
    pub fn holds_now(&self) -> bool {
        self.holds
    }
}

/// A time in the model's unit, for display.
pub struct Shown<'a>(pub &'a When, pub TimeUnit);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            When::At(t) => write!(f, "at {}", self.1.format(*t)),
            When::On { kinds, agent } => {
                write!(f, "on {}", kinds.join(","))?;
                if let Some(a) = agent {
                    write!(f, " concerning {a}")?;
                }
                Ok(())
            }
            When::Cond { agent, field, op, value } => write!(f, "when {agent}: {field} {} {value}", op.text()),
        }
    }
}

/// The session's breakpoints.
#[derive(Default)]
pub struct Breaks {
    list: Vec<Breakpoint>,
    next_id: usize,
}

/// A field's value for people: six significant digits (`2.31596`, not
/// `2.3159616177691427`); files keep full precision.
pub fn for_people(x: f64) -> String {
    crate::study::keys::fmt_people(x)
}

/// An agent's named fields, one per line, aligned and rounded for people.
pub fn fields_text(fields: &[(&str, f64)]) -> String {
    let w = fields.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    let lines: Vec<String> = fields.iter().map(|(name, v)| format!("  {name:<w$}  {}", for_people(*v))).collect();
    lines.join("\n")
}

/// The value of `field` of `agent` now, if the agent has it.
pub fn field_value(run: &dyn Stepper, agent: AgentRef, field: &str) -> Option<f64> {
    run.agent_fields(agent)?.into_iter().find(|(n, _)| *n == field).map(|(_, v)| v)
}

impl Breaks {
    /// Add a breakpoint; returns its number.
    pub fn add(&mut self, when: When, run: &dyn Stepper) -> usize {
        self.next_id += 1;
        let mut b = Breakpoint { id: self.next_id, when, hits: 0, holds: false };
        b.holds = Self::cond_now(&b.when, run);
        self.list.push(b);
        self.next_id
    }

    /// Remove breakpoint `id`; false if there is none.
    pub fn delete(&mut self, id: usize) -> bool {
        let before = self.list.len();
        self.list.retain(|b| b.id != id);
        self.list.len() != before
    }

    /// Remove every breakpoint; returns how many there were.
    pub fn clear(&mut self) -> usize {
        std::mem::take(&mut self.list).len()
    }

    /// The breakpoints, in the order they were set.
    pub fn list(&self) -> &[Breakpoint] {
        &self.list
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Whether checking needs trace notes (a breakpoint on an agent: the
    /// notes say which agents an event changed).
    pub fn need_trace(&self) -> bool {
        self.list.iter().any(|b| matches!(b.when, When::On { agent: Some(_), .. }))
    }

    /// Whether a breakpoint that needs no agent state hits an event of
    /// `kind` at `time` (the run at `before`): decided before the event is
    /// handled, so that it is handled with trace notes.
    pub fn will_hit(&self, before: SimTime, time: SimTime, kind: &str) -> bool {
        self.list.iter().any(|b| match &b.when {
            When::At(t) => before < *t && time >= *t,
            When::On { kinds, agent: None } => kinds.iter().any(|k| k == kind),
            _ => false,
        })
    }

    fn cond_now(when: &When, run: &dyn Stepper) -> bool {
        match when {
            When::Cond { agent, field, op, value } => {
                field_value(run, *agent, field).is_some_and(|v| op.holds(v, *value))
            }
            _ => false,
        }
    }

    /// Re-read the conditions in the current state (after the session
    /// moved without checking each event: a replay, a jump back).
    pub fn resync(&mut self, run: &dyn Stepper) {
        for b in &mut self.list {
            b.holds = Self::cond_now(&b.when, run);
        }
    }

    /// The breakpoints event `s` hits (the run was at time `before` and has
    /// just handled it). Counts the hits when `count`.
    pub fn check(&mut self, before: SimTime, s: &StepInfo, run: &dyn Stepper, count: bool) -> Vec<usize> {
        let mut hit = Vec::new();
        for b in &mut self.list {
            let now = match &b.when {
                When::At(t) => before < *t && s.time >= *t,
                When::On { kinds, agent } => {
                    kinds.iter().any(|k| k == s.kind) && agent.as_ref().is_none_or(|a| s.involves(a))
                }
                When::Cond { .. } => {
                    let holds = Self::cond_now(&b.when, run);
                    let rose = holds && !b.holds;
                    b.holds = holds;
                    rose
                }
            };
            if now {
                if count {
                    b.hits += 1;
                }
                hit.push(b.id);
            }
        }
        hit
    }

    /// A breakpoint by number.
    pub fn get(&self, id: usize) -> Option<&Breakpoint> {
        self.list.iter().find(|b| b.id == id)
    }

    /// Count a hit found by a backward search.
    pub fn count_hit(&mut self, id: usize) {
        if let Some(b) = self.list.iter_mut().find(|b| b.id == id) {
            b.hits += 1;
        }
    }
}

/// Parse `<agent>.<field> <op> <value>` (spaces optional around the
/// operator); the agent part is returned as text for the caller to resolve.
pub fn parse_condition(text: &str) -> Result<(String, String, Op, f64), String> {
    let usage = "expected <agent>.<field> <op> <value>, e.g. `provider3.threshold > 2.5` (ops: < <= > >= == !=)";
    let (at, op, len) = Op::ALL
        .iter()
        .filter_map(|(t, o)| text.find(t).map(|i| (i, *o, t.len())))
        .min_by_key(|&(i, _, len)| (i, std::cmp::Reverse(len)))
        .ok_or_else(|| format!("`{text}` has no comparison: {usage}"))?;
    let (lhs, rhs) = (text[..at].trim(), text[at + len..].trim());
    let (agent, field) = lhs.rsplit_once('.').ok_or_else(|| format!("`{lhs}` names no field: {usage}"))?;
    let (agent, field) = (agent.trim(), field.trim());
    if agent.is_empty() || field.is_empty() {
        return Err(format!("`{lhs}`: {usage}"));
    }
    let value: f64 = rhs.parse().map_err(|_| format!("`{rhs}` is not a number: {usage}"))?;
    if !value.is_finite() {
        return Err(format!("`{rhs}` is not a finite number"));
    }
    Ok((agent.to_string(), field.to_string(), op, value))
}

/// Agents whose state is printed after each event that changes it.
#[derive(Default)]
pub struct Watches {
    list: Vec<(AgentRef, Option<String>)>,
}

impl Watches {
    /// Watch `agent` (its current state is the reference); false if it was.
    pub fn add(&mut self, agent: AgentRef, run: &dyn Stepper) -> bool {
        if self.list.iter().any(|(a, _)| *a == agent) {
            return false;
        }
        self.list.push((agent, run.show(agent)));
        true
    }

    /// Stop watching `agent`; false if it was not watched.
    pub fn remove(&mut self, agent: AgentRef) -> bool {
        let before = self.list.len();
        self.list.retain(|(a, _)| *a != agent);
        before != self.list.len()
    }

    /// Stop watching every agent; returns how many there were.
    pub fn clear(&mut self) -> usize {
        std::mem::take(&mut self.list).len()
    }

    /// The watched agents.
    pub fn agents(&self) -> Vec<AgentRef> {
        self.list.iter().map(|(a, _)| *a).collect()
    }

    /// Whether none is watched.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The watched agents whose state changed since the last look, with
    /// their new state.
    pub fn changed(&mut self, run: &dyn Stepper) -> Vec<(AgentRef, String)> {
        let mut v = Vec::new();
        for (a, last) in &mut self.list {
            let now = run.show(*a);
            if now != *last {
                v.push((*a, now.clone().unwrap_or_else(|| format!("{a} is gone"))));
                *last = now;
            }
        }
        v
    }

    /// Take the current states as the reference (after a replay or a jump).
    pub fn resync(&mut self, run: &dyn Stepper) {
        for (a, last) in &mut self.list {
            *last = run.show(*a);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_rounded_for_people() {
        assert_eq!(for_people(2.3159616177691427), "2.31596");
        assert_eq!(for_people(99.99999999999997), "100");
        assert_eq!(for_people(0.0), "0");
        assert_eq!(for_people(-1.5), "-1.5");
        assert_eq!(for_people(12345678.0), "12345700");
        assert_eq!(for_people(1.234567e-7), "1.23457e-7");
        assert_eq!(for_people(f64::NAN), "NaN");
    }

    #[test]
    fn conditions_parse() {
        assert_eq!(
            parse_condition("provider3.threshold > 2.5"),
            Ok(("provider3".into(), "threshold".into(), Op::Gt, 2.5))
        );
        assert_eq!(parse_condition("p3.threshold>=2"), Ok(("p3".into(), "threshold".into(), Op::Ge, 2.0)));
        assert_eq!(parse_condition("a.b.trust != -1"), Ok(("a.b".into(), "trust".into(), Op::Ne, -1.0)));
        assert_eq!(parse_condition("x.y<=0").map(|c| c.2), Ok(Op::Le));
        assert_eq!(parse_condition("x.y == 1e3").map(|c| c.3), Ok(1000.0));
        for bad in ["", "x.y", "x.y >", "x > 2", ".y > 2", "x. > 2", "x.y > two", "x.y > inf", "x.y > NaN"] {
            assert!(parse_condition(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ops_compare() {
        assert!(Op::Lt.holds(1.0, 2.0) && !Op::Lt.holds(2.0, 2.0));
        assert!(Op::Le.holds(2.0, 2.0) && Op::Ge.holds(2.0, 2.0) && Op::Eq.holds(2.0, 2.0));
        assert!(Op::Ne.holds(1.0, 2.0) && Op::Gt.holds(3.0, 2.0));
    }
}
