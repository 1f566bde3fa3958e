//! What happened at one event: for stepping, traces and debugging. Also the
//! running fingerprint of a trajectory.

use super::time::SimTime;
use std::fmt;

/// An agent of a model: its class (e.g. `provider`) and its index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AgentRef {
    /// Class name, e.g. `provider`, `consumer`, `account`.
    pub class: &'static str,
    /// Index within the class.
    pub id: u32,
}

impl AgentRef {
    /// A reference to agent `id` of `class`.
    pub const fn new(class: &'static str, id: u32) -> Self {
        AgentRef { class, id }
    }

    /// Parse `provider3`, `provider:3`, `provider 3` or an unambiguous prefix
    /// such as `p3`, given the classes a model has.
    pub fn parse(text: &str, classes: &[&'static str]) -> Result<AgentRef, String> {
        let s = text.trim();
        let split = s.find(|c: char| c.is_ascii_digit()).ok_or_else(|| {
            format!("`{text}` names no agent: expected e.g. {}3", classes.first().unwrap_or(&"agent"))
        })?;
        let (name, num) = s.split_at(split);
        let name = name.trim_end_matches([':', ' ', '#', '-', '_']).trim();
        let id: u32 = num.trim().parse().map_err(|_| format!("`{text}`: `{num}` is not an agent index"))?;
        let matches: Vec<&'static str> =
            classes.iter().copied().filter(|c| !name.is_empty() && c.starts_with(name)).collect();
        match matches.as_slice() {
            [one] => Ok(AgentRef::new(one, id)),
            [] => Err(format!("`{text}`: unknown agent class `{name}` (this model has: {})", classes.join(", "))),
            many => Err(format!("`{text}`: `{name}` is ambiguous ({})", many.join(", "))),
        }
    }
}

impl fmt::Display for AgentRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.class, self.id)
    }
}

/// One change an event made, in words.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// The agent it concerns, if one.
    pub agent: Option<AgentRef>,
    /// What changed.
    pub text: String,
}

/// What one call of `Simulation::step` did.
#[derive(Clone, Debug, PartialEq)]
pub struct StepInfo {
    /// Time of the event.
    pub time: SimTime,
    /// Its sequence number.
    pub seq: u64,
    /// Its kind (the event's variant name).
    pub kind: &'static str,
    /// The agent the event is about, if one.
    pub agent: Option<AgentRef>,
    /// What changed (only filled while tracing is on).
    pub changes: Vec<Change>,
}

impl StepInfo {
    /// Whether this step concerns `agent`: the event's own agent or any change.
    pub fn involves(&self, agent: &AgentRef) -> bool {
        self.agent.as_ref() == Some(agent) || self.changes.iter().any(|c| c.agent.as_ref() == Some(agent))
    }
}

/// A pending event, as `step`'s `queue` lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingInfo {
    /// When it fires.
    pub time: SimTime,
    /// Its sequence number (scheduling order; breaks ties of time).
    pub seq: u64,
    /// Its kind.
    pub kind: &'static str,
    /// The agent it concerns, if one.
    pub agent: Option<AgentRef>,
}

/// Fold one value into a running fingerprint (an FxHash-style step: one
/// multiply, cheap enough for every event, and order-sensitive).
#[inline]
pub fn fold(fp: u64, v: u64) -> u64 {
    (fp.rotate_left(5) ^ v).wrapping_mul(0x517c_c1b7_2722_0a95)
}
