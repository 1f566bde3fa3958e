//! Agents are named the way output prints them, in every study kind: every
//! agent a step trace prints (the event's agent, each note's agent, the
//! agents its text names) and every agent `show` and `inspect` print can be
//! typed back to `find_agent` and resolves to the same agent; unknown names
//! are refused with the names there are; every agent class has numeric
//! fields; agent filters see every event that changes an agent; and trace
//! notes never change a run.

use super::study;
use omerta_sim::engine::{AgentRef, StepInfo};
use omerta_sim::study::Stepper;

/// One study kind, small: scenario file, overrides, the words that start an
/// agent's name in note texts (`provider` of `provider3`), and whether a
/// note's text starts with the name of the agent it concerns (the trust
/// models print identity names that way).
struct Kind {
    file: &'static str,
    sets: &'static [&'static str],
    words: &'static [&'static str],
    leads_with_name: bool,
}

const KINDS: &[Kind] = &[
    Kind {
        file: "reliability_basic.toml",
        sets: &["iterations=1", "round_hours=6"],
        words: &["provider", "consumer"],
        leads_with_name: false,
    },
    Kind {
        file: "reliability_equilibrium.toml",
        sets: &["rounds=3", "round_hours=6"],
        words: &["provider", "consumer"],
        leads_with_name: false,
    },
    Kind {
        file: "reliability_v2.toml",
        sets: &["rounds=3", "round_hours=6"],
        words: &["provider", "consumer"],
        leads_with_name: false,
    },
    Kind {
        file: "reliability_v2_reference.toml",
        sets: &["rounds=2", "round_hours=4"],
        words: &["provider", "consumer"],
        leads_with_name: false,
    },
    Kind {
        file: "economic_value.toml",
        sets: &["duration_hours=12", "scenarios=[\"undersupplied\", \"price_setter\"]"],
        words: &["provider", "consumer", "dc", "home"],
        leads_with_name: false,
    },
    Kind {
        file: "economic_value.toml",
        sets: &["fidelity=reference", "duration_hours=8", "scenarios=[\"undersupplied\"]"],
        words: &["provider", "consumer", "dc", "home"],
        leads_with_name: false,
    },
    Kind { file: "identity_rotation.toml", sets: &[], words: &["account"], leads_with_name: false },
    Kind {
        file: "identity_rotation_scale.toml",
        sets: &["scale.accounts=200", "scale.transfers=300", "scale.days=3"],
        words: &["account"],
        leads_with_name: false,
    },
    Kind { file: "trust_dynamics.toml", sets: &[], words: &[], leads_with_name: true },
    Kind { file: "failure_modes.toml", sets: &[], words: &[], leads_with_name: true },
    Kind { file: "failure_modes/crisis.toml", sets: &[], words: &[], leads_with_name: true },
    Kind {
        file: "monetary_policy.toml",
        sets: &["days=4", "monetary_policy.long_days=4"],
        words: &[],
        leads_with_name: true,
    },
    Kind { file: "monetary_policy/fs/baseline.toml", sets: &["days=4"], words: &[], leads_with_name: true },
    Kind { file: "mm1.toml", sets: &["hours=20"], words: &["server"], leads_with_name: false },
    Kind {
        file: "world.toml",
        sets: &["days=2", "scenarios=[\"undersupplied\", \"price_setter\"]"],
        words: &["provider", "consumer", "dc", "home"],
        leads_with_name: false,
    },
];

/// Events stepped per kind (a whole run when it is shorter).
const EVENTS: usize = 4000;

fn resolves(run: &dyn Stepper, name: &str, want: AgentRef, ctx: &str) {
    match run.find_agent(name) {
        Ok(a) => assert_eq!(a, want, "{ctx}: `{name}` resolves to {a}, not {want}"),
        Err(e) => panic!("{ctx}: `{name}` (printed for {want}) is refused: {e}"),
    }
}

/// The agent names a text prints: words such as `consumer12` or `dc3`
/// whose letters are one of `words`.
fn named_in(text: &str, words: &[&'static str]) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    for tok in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        let digits = tok.len() - tok.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 || digits == tok.len() {
            continue;
        }
        let word = &tok[..tok.len() - digits];
        if let Some(w) = words.iter().find(|w| **w == word) {
            out.push((tok.to_string(), *w));
        }
    }
    out
}

/// Every agent a step names resolves back to itself.
fn check_step(run: &dyn Stepper, s: &StepInfo, k: &Kind) {
    let ctx = format!("{} {} #{}", k.file, s.kind, s.seq);
    if let Some(a) = s.agent {
        resolves(run, &a.to_string(), a, &ctx);
    }
    for c in &s.changes {
        if let Some(a) = c.agent {
            resolves(run, &a.to_string(), a, &ctx);
            if k.leads_with_name {
                let first = c.text.split_whitespace().next().unwrap_or("");
                let first = first.trim_end_matches(':').trim_end_matches("'s");
                resolves(run, first, a, &format!("{ctx}: {}", c.text));
            }
        }
        for (name, word) in named_in(&c.text, k.words) {
            let got = run.find_agent(&name);
            assert!(got.is_ok(), "{ctx}: `{name}` in `{}` is refused: {got:?}", c.text);
            if run.agent_classes().contains(&word) {
                let id: u32 = name[word.len()..].parse().unwrap();
                assert_eq!(got.unwrap(), AgentRef::new(word, id), "{ctx}: `{name}` in `{}`", c.text);
            }
        }
    }
}

/// What `show` prints of an agent names it: the words before its first
/// ` (` or `: `, split at ` = ` (`provider3 = dc3`, `sybil0`,
/// `account2 = one_puppet.defended.W`), each resolve to it.
fn check_show(run: &dyn Stepper, a: AgentRef, file: &str) {
    let Some(text) = run.show(a) else { panic!("{file}: {a} was printed but `show` has no such agent") };
    let head = text.split(" (").next().unwrap().split(": ").next().unwrap();
    if head.contains(" in system") {
        return; // mm1's server prints its state only
    }
    for name in head.split(" = ") {
        resolves(run, name.trim(), a, &format!("{file}: show {a} = `{text}`"));
    }
}

/// `inspect` (the model's description) names agents that resolve: every
/// word made of an agent class (or one of the kind's words) and an index,
/// and in the trust models each `name = agent` pair names one identity.
fn check_inspect(run: &dyn Stepper, k: &Kind) {
    let d = run.describe();
    let classes: Vec<&str> = run.agent_counts().iter().map(|c| c.0).chain(k.words.iter().copied()).collect();
    let agentish = |tok: &str| {
        let word = tok.trim_end_matches(|c: char| c.is_ascii_digit());
        word.len() < tok.len() && classes.contains(&word)
    };
    for tok in d.split(|c: char| c.is_whitespace() || ",;()[]`".contains(c)).flat_map(|t| t.split("..")) {
        if agentish(tok) {
            let got = run.find_agent(tok);
            assert!(got.is_ok(), "{}: `{tok}` of inspect is refused: {got:?}\n{d}", k.file);
        }
    }
    for part in d.split([',', ';', '(', ')']) {
        if let Some((l, r)) = part.split_once(" = ") {
            let (l, r) = (l.trim().rsplit(' ').next().unwrap(), r.trim().split(' ').next().unwrap());
            // Identity names (trust models); a run's roles (`W = account2`)
            // are named with the run (`one_puppet.defended.W`, below).
            if agentish(r) && k.leads_with_name {
                assert_eq!(run.find_agent(l), run.find_agent(r), "{}: `{l} = {r}` of inspect\n{d}", k.file);
            }
        }
    }
}

/// Every printed agent of every study kind can be typed back.
#[test]
fn printed_agents_resolve_to_themselves() {
    for k in KINDS {
        let mut run = study(k.file, k.sets).stepper(1);
        run.set_tracing(true);
        let mut seen: Vec<AgentRef> = Vec::new();
        let mut steps = 0;
        while steps < EVENTS {
            let Some(s) = run.step() else { break };
            steps += 1;
            check_step(run.as_ref(), &s, k);
            for a in s.agent.iter().chain(s.changes.iter().filter_map(|c| c.agent.as_ref())) {
                if !seen.contains(a) {
                    seen.push(*a);
                    check_show(run.as_ref(), *a, k.file);
                }
            }
            if steps % 500 == 0 {
                check_inspect(run.as_ref(), k);
            }
        }
        check_inspect(run.as_ref(), k);
        assert!(!seen.is_empty(), "{}: no agent printed in {steps} events", k.file);
    }
}

/// Unknown names, classes and indexes are refused with what exists.
#[test]
fn unknown_names_are_refused_with_the_valid_ones() {
    let refused = |file: &str, sets: &[&str], name: &str, says: &[&str]| {
        let mut run = study(file, sets).stepper(1);
        run.step();
        let e = run.find_agent(name).expect_err(name);
        for s in says {
            assert!(e.contains(s), "{file}: `{name}`: {e}");
        }
    };
    let v2 = &["rounds=2", "round_hours=6"][..];
    refused("reliability_v2.toml", v2, "robot3", &["unknown agent class `robot`", "provider, consumer"]);
    refused(
        "reliability_v2.toml",
        v2,
        "provider20",
        &["no provider20", "provider0..provider19", "consumer0..consumer23"],
    );
    refused("reliability_v2.toml", v2, "provider", &["names no agent"]);
    let ev = &["duration_hours=5", "scenarios=[\"undersupplied\"]", "legs=[\"dc_home\"]"][..];
    refused("economic_value.toml", ev, "home3", &["no home3", "dc0..dc9", "home10..home29", "consumer0..consumer29"]);
    refused("economic_value.toml", ev, "dc12", &["no dc12", "dc0..dc9"]);
    refused("economic_value.toml", ev, "robot1", &["unknown agent class `robot`", "dc0..dc9"]);
    refused("identity_rotation.toml", &[], "account999", &["no account999", "account0..account"]);
    refused("identity_rotation.toml", &[], "one_puppet.defended.Q", &["no role `Q`", "W, P"]);
    refused("identity_rotation.toml", &[], "nowhere.W", &["no run `nowhere`", "one_puppet.defended"]);
    refused(
        "trust_dynamics.toml",
        &[],
        "consumer1",
        &["several runs", "normal_operation.consumer1", "long_con.consumer1"],
    );
    refused("trust_dynamics.toml", &[], "nobody", &["sybil_attack0..sybil_attack7", "inspect"]);
    refused("trust_dynamics.toml", &[], "sybil_attack99", &["no sybil_attack99"]);
    let mp = &["days=3", "monetary_policy.long_days=3"][..];
    refused("monetary_policy.toml", mp, "provider_0", &["several runs", "baseline.on.provider_0"]);
    refused("monetary_policy.toml", mp, "on3", &["several runs", "baseline.on3, trust_inflation.on3"]);
    refused("mm1.toml", &["hours=5"], "server1", &["no server1", "server0"]);
}

/// Names as output prints them, and the forms that worked before.
#[test]
fn names_resolve() {
    let found = |file: &str, sets: &[&str], name: &str, want: AgentRef| {
        let mut run = study(file, sets).stepper(1);
        run.step();
        assert_eq!(run.find_agent(name), Ok(want), "{file}: `{name}`");
    };
    let p = |i| AgentRef::new("provider", i);
    let ev = &["duration_hours=5", "scenarios=[\"undersupplied\"]", "legs=[\"dc_home\"]"][..];
    for (name, i) in [("dc3", 3), ("dc 3", 3), ("home18", 18), ("provider18", 18), ("p18", 18)] {
        found("economic_value.toml", ev, name, p(i));
    }
    found("economic_value.toml", ev, "consumer:28", AgentRef::new("consumer", 28));
    let v2 = &["rounds=2", "round_hours=6"][..];
    found("reliability_v2.toml", v2, "p3", p(3));
    found("reliability_v2.toml", v2, "consumer 12", AgentRef::new("consumer", 12));
    // sybil0 is the third identity of sybil_attack (after honest1, honest2).
    found("trust_dynamics.toml", &[], "sybil0", AgentRef::new("sybil_attack", 2));
    found("trust_dynamics.toml", &[], "sybil_attack2", AgentRef::new("sybil_attack", 2));
    found("trust_dynamics.toml", &[], "long_con.consumer1", AgentRef::new("long_con", 2));
    found("trust_dynamics.toml", &[], "long_con:attacker", AgentRef::new("long_con", 0));
    found("failure_modes/sockpuppet.toml", &[], "sock0", AgentRef::new("sockpuppet", 1));
    found("monetary_policy/fs/baseline.toml", &["days=3"], "on3", AgentRef::new("on", 3));
    found("monetary_policy/fs/baseline.toml", &["days=3"], "on.provider_3", AgentRef::new("on", 3));
    let mp = &["days=3", "monetary_policy.long_days=3"][..];
    let run = study("monetary_policy.toml", mp).stepper(1);
    let a = run.find_agent("hoarding.on3").unwrap();
    assert_eq!((a.class, a.id), ("hoarding.on", 3));
    assert_eq!(run.find_agent("hoarding.on.provider_3").unwrap_or(a), a);
    assert_eq!(run.find_agent(&a.to_string()), Ok(a));
    found("identity_rotation.toml", &[], "one_puppet.defended.W", AgentRef::new("account", 2));
    found("identity_rotation.toml", &[], "one_puppet.defended.p", AgentRef::new("account", 3));
    found("identity_rotation.toml", &[], "a3", AgentRef::new("account", 3));
    found("mm1.toml", &["hours=5"], "s0", AgentRef::new("server", 0));
}

/// Every agent class of every model has named numeric fields, finite
/// where they are not a documented infinity (a runway without outflow).
#[test]
fn every_class_has_fields() {
    for k in KINDS {
        let mut run = study(k.file, k.sets).stepper(1);
        for _ in 0..300 {
            run.step();
        }
        let mut classes = 0;
        for (class, n) in run.agent_counts() {
            let Ok(a) = run.find_agent(&format!("{class}0")) else { continue };
            if n == 0 {
                continue;
            }
            classes += 1;
            let f = run.agent_fields(a).unwrap_or_default();
            assert!(!f.is_empty(), "{}: {a} has no fields", k.file);
            for (name, v) in &f {
                assert!(!v.is_nan(), "{}: {a}.{name} is NaN", k.file);
            }
            let mut names: Vec<&str> = f.iter().map(|x| x.0).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), f.len(), "{}: {a} repeats a field", k.file);
        }
        assert!(classes > 0, "{}: no agent class with fields", k.file);
    }
}

/// `--agent consumer28` in economic_value shows the failure of its provider
/// that cancels its session, with what the cancellation cost it.
#[test]
fn a_consumer_sees_its_providers_failure() {
    let sets = ["duration_hours=60", "scenarios=[\"undersupplied\"]", "legs=[\"dc_home\"]"];
    let mut run = study("economic_value.toml", &sets).stepper(1);
    run.set_tracing(true);
    let mut hit = 0;
    while let Some(s) = run.step() {
        if s.kind != "DowntimeStart" {
            continue;
        }
        let Some(p) = s.agent else { panic!("DowntimeStart names its provider") };
        let cancels = s.changes.iter().filter(|c| c.text.contains("cancelled after"));
        for c in cancels.filter(|c| c.agent.is_some_and(|a| a.class == "consumer")) {
            let consumer = c.agent.unwrap();
            assert!(s.involves(&consumer) && s.involves(&p));
            assert!(c.text.contains("keeps") && c.text.contains("loses") && c.text.contains("pays"), "{}", c.text);
            assert!(c.text.contains("owner reclaims") || c.text.contains("hardware failure"), "{}", c.text);
            hit += 1;
        }
    }
    assert!(hit > 0, "no provider went down while busy in 60 h of undersupplied dc_home");
}

/// Trace notes are built only when tracing: the trajectory and the state are
/// the same with and without them.
#[test]
fn notes_do_not_change_runs() {
    for k in KINDS {
        let s = study(k.file, k.sets);
        let (mut a, mut b) = (s.stepper(2), s.stepper(2));
        a.set_tracing(true);
        for _ in 0..EVENTS {
            let (x, y) = (a.step(), b.step());
            assert_eq!(x.is_some(), y.is_some(), "{}", k.file);
            if x.is_none() {
                break;
            }
        }
        assert_eq!(a.fingerprint(), b.fingerprint(), "{}", k.file);
        assert_eq!(a.state_bytes(), b.state_bytes(), "{}", k.file);
    }
}
