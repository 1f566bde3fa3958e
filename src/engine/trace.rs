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

/// Agents that have names as well as indexes, one group per class (e.g. one
/// per scenario of a trust study): `names[id]` is agent `id`'s name.
pub struct NamedGroup<'a> {
    /// The class.
    pub class: &'static str,
    /// Names by index.
    pub names: Vec<&'a str>,
}

/// The agent `text` names among `groups`: a name (`sybil0`) held by one
/// group only, `<class>.<name>` or `<class>:<name>` (`long_con.attacker`),
/// or `<class><index>` as [`AgentRef::parse_within`] reads it. A name held
/// by several groups is refused with their qualified forms; an unknown name
/// with the forms that are valid.
pub fn find_named(text: &str, groups: &[NamedGroup<'_>]) -> Result<AgentRef, String> {
    let t = text.trim();
    let holders: Vec<AgentRef> = groups
        .iter()
        .filter_map(|g| g.names.iter().position(|n| *n == t).map(|i| AgentRef::new(g.class, i as u32)))
        .collect();
    match holders.as_slice() {
        [one] => return Ok(*one),
        [] => {}
        many => {
            let q: Vec<String> = many.iter().map(|a| format!("{}.{t} ({a})", a.class)).collect();
            return Err(format!("`{t}` is a name in several runs; say which: {}", q.join(", ")));
        }
    }
    for g in groups {
        if let Some(rest) = t.strip_prefix(g.class)
            && let Some(name) = rest.strip_prefix(['.', ':'])
            && let Some(i) = g.names.iter().position(|n| *n == name)
        {
            return Ok(AgentRef::new(g.class, i as u32));
        }
    }
    let counts: Vec<(&'static str, usize)> = groups.iter().map(|g| (g.class, g.names.len())).collect();
    AgentRef::parse_within(t, &counts).map_err(|e| {
        let example = groups
            .iter()
            .find(|g| !g.names.is_empty())
            .map_or(String::new(), |g| format!(" (e.g. `{}` or `{}.{}`)", g.names[0], g.class, g.names[0]));
        let e = if e.contains("agents now:") { e } else { format!("{e}; agents now: {}", ranges(&counts)) };
        format!("{e}; an identity can also be named as `inspect` lists it{example}")
    })
}

/// `provider3`: the class and the index run together, the way a user types
/// the agent back (`show provider3`, `--agent provider3`).
/// `provider0..provider19, consumer0..consumer23`: the agents of each class
/// (classes with none left out), for errors that list the valid names.
pub fn ranges(counts: &[(&'static str, usize)]) -> String {
    let v: Vec<String> = counts
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|&(c, n)| if n == 1 { format!("{c}0") } else { format!("{c}0..{c}{}", n - 1) })
        .collect();
    if v.is_empty() { "none".into() } else { v.join(", ") }
}

impl AgentRef {
    /// [`AgentRef::parse`] over the classes of `counts` (class, number of
    /// agents), refusing an index the class does not have: the error lists
    /// the agents there are.
    pub fn parse_within(text: &str, counts: &[(&'static str, usize)]) -> Result<AgentRef, String> {
        let classes: Vec<&'static str> = counts.iter().map(|c| c.0).collect();
        let a = AgentRef::parse(text, &classes)?;
        let n = counts.iter().find(|c| c.0 == a.class).map_or(0, |c| c.1);
        if (a.id as usize) < n {
            Ok(a)
        } else {
            Err(format!("`{}`: there is no {a} (agents now: {})", text.trim(), ranges(counts)))
        }
    }
}

impl fmt::Display for AgentRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.class, self.id)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What `Display` prints, `parse` reads back; `parse_within` refuses an
    /// index out of range and lists the agents there are.
    #[test]
    fn names_round_trip() {
        let classes = ["provider", "consumer"];
        for a in [AgentRef::new("provider", 3), AgentRef::new("consumer", 12)] {
            assert_eq!(AgentRef::parse(&a.to_string(), &classes), Ok(a));
        }
        assert_eq!(AgentRef::new("provider", 3).to_string(), "provider3");
        let counts = [("provider", 20), ("consumer", 1), ("session", 0)];
        assert_eq!(AgentRef::parse_within("p19", &counts), Ok(AgentRef::new("provider", 19)));
        let e = AgentRef::parse_within("provider20", &counts).unwrap_err();
        assert!(e.contains("no provider20") && e.contains("provider0..provider19, consumer0"), "{e}");
        assert!(AgentRef::parse_within("robot1", &counts).unwrap_err().contains("unknown agent class `robot`"));
    }

    /// Names resolve in their group, qualified names too; a name two groups
    /// hold is refused with both qualified forms; indexes still work.
    #[test]
    fn named_agents() {
        let groups = [
            NamedGroup { class: "sybil_attack", names: vec!["honest1", "sybil0", "consumer"] },
            NamedGroup { class: "long_con", names: vec!["attacker", "consumer"] },
        ];
        assert_eq!(find_named("sybil0", &groups), Ok(AgentRef::new("sybil_attack", 1)));
        assert_eq!(find_named("long_con.consumer", &groups), Ok(AgentRef::new("long_con", 1)));
        assert_eq!(find_named("sybil_attack:consumer", &groups), Ok(AgentRef::new("sybil_attack", 2)));
        assert_eq!(find_named("sybil_attack2", &groups), Ok(AgentRef::new("sybil_attack", 2)));
        let e = find_named("consumer", &groups).unwrap_err();
        assert!(
            e.contains("sybil_attack.consumer (sybil_attack2)") && e.contains("long_con.consumer (long_con1)"),
            "{e}"
        );
        let e = find_named("nobody", &groups).unwrap_err();
        assert!(e.contains("sybil_attack0..sybil_attack2") && e.contains("`honest1`"), "{e}");
    }
}
