//! The debugger on a small model with numeric fields: stepping back is
//! exact, `reverse-continue` finds the hits `continue` finds, in reverse,
//! conditions hit on the event that makes them true, and the checkpoints
//! stay within their budget.

use super::commands::Flow;
use super::history::History;
use super::session::{Filter, Session};
use crate::engine::{AgentRef, Ctx, EventInfo, Model, SimTime, TICKS_PER_HOUR, TimeUnit};
use crate::report::results::SeedOutput;
use crate::study::Stepper;
use crate::study::run::{Run, RunMeta, StudyModel};
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

/// A transfer between two accounts, or a daily audit.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum Ev {
    Transfer { from: u32, to: u32 },
    Audit,
}

impl EventInfo for Ev {
    fn kind(&self) -> &'static str {
        match self {
            Ev::Transfer { .. } => "Transfer",
            Ev::Audit => "Audit",
        }
    }
    fn agent(&self) -> Option<AgentRef> {
        match self {
            Ev::Transfer { from, .. } => Some(AgentRef::new("account", *from)),
            Ev::Audit => None,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Bank {
    balance: Vec<f64>,
    audits: u32,
}

const ACCOUNTS: u32 = 6;

impl Bank {
    fn schedule_transfer(ctx: &mut Ctx<'_, Ev>) {
        let gap = ctx.rng(0).random_range(0.1..2.0);
        let from = ctx.rng(0).random_range(0..ACCOUNTS);
        let to = (from + ctx.rng(0).random_range(1..ACCOUNTS)) % ACCOUNTS;
        ctx.schedule_in(SimTime::from_hours(gap).ticks(), Ev::Transfer { from, to });
    }
}

impl Model for Bank {
    type Event = Ev;
    const STREAMS: &'static [&'static str] = &["transfers"];
    const AGENT_CLASSES: &'static [&'static str] = &["account"];
    const TIME_UNIT: TimeUnit = TimeUnit::Hours;
    fn kind(&self) -> &'static str {
        "bank"
    }
    fn start(&mut self, ctx: &mut Ctx<'_, Ev>) {
        Self::schedule_transfer(ctx);
        Self::schedule_transfer(ctx);
        ctx.schedule_in(24 * TICKS_PER_HOUR, Ev::Audit);
    }
    fn handle(&mut self, ev: Ev, ctx: &mut Ctx<'_, Ev>) {
        match ev {
            Ev::Transfer { from, to } => {
                let amount = (self.balance[from as usize] * ctx.rng(0).random_range(0.0..0.5) * 100.0).round() / 100.0;
                self.balance[from as usize] -= amount;
                self.balance[to as usize] += amount;
                ctx.mix_f64(amount);
                ctx.note(Some(AgentRef::new("account", from)), || format!("pays {amount}"));
                ctx.note(Some(AgentRef::new("account", to)), || format!("receives {amount}"));
                Self::schedule_transfer(ctx);
            }
            Ev::Audit => {
                self.audits += 1;
                ctx.note(None, || format!("audit {}", self.audits));
                ctx.schedule_in(24 * TICKS_PER_HOUR, Ev::Audit);
            }
        }
    }
    fn horizon(&self) -> SimTime {
        SimTime::from_hours(2000.0)
    }
    fn agent_counts(&self) -> Vec<(&'static str, usize)> {
        vec![("account", self.balance.len())]
    }
    fn describe_agent(&self, a: AgentRef) -> Option<String> {
        let b = self.balance.get(a.id as usize)?;
        Some(format!("account{}: balance {b:.2}", a.id))
    }
    fn agent_fields(&self, a: AgentRef) -> Option<Vec<(&'static str, f64)>> {
        let b = self.balance.get(a.id as usize)?;
        Some(vec![("balance", *b)])
    }
}

impl StudyModel for Bank {
    const EVENT_KINDS: &'static [&'static str] = &["Transfer", "Audit"];
    fn seed_output(&self, seed: u64) -> SeedOutput {
        SeedOutput::new(seed)
    }
    fn fresh_run(_: &Run<Self>) -> Result<Run<Self>, String> {
        Err("not for snapshots".into())
    }
}

fn bank(seed: u64) -> Box<dyn Stepper> {
    let meta = RunMeta { study: "bank".into(), scenario_path: "bank.toml".into(), scenario_toml: String::new(), seed };
    Box::new(Run::new(meta, Bank { balance: vec![100.0; ACCOUNTS as usize], audits: 0 }))
}

fn session(run: &mut dyn Stepper, budget: u64) -> Session<'_, Vec<u8>> {
    let history = History::new(run, budget);
    Session {
        run,
        unit: TimeUnit::Hours,
        filter: Filter::default(),
        breaks: Default::default(),
        watches: Default::default(),
        history,
        out: Vec::new(),
    }
}

/// Run a command and return what it printed.
fn exec(s: &mut Session<'_, Vec<u8>>, cmd: &str) -> String {
    s.out.clear();
    match s.execute(cmd) {
        Ok(Flow::Go) => {}
        Ok(Flow::Quit) => panic!("{cmd} quit"),
        Err(e) => return format!("error: {e:#}"),
    }
    String::from_utf8(s.out.clone()).unwrap()
}

/// A fresh run after `k` events: (fingerprint, state bytes, time).
fn fresh_at(seed: u64, k: u64) -> (u64, Vec<u8>, SimTime) {
    let mut run = bank(seed);
    assert_eq!(run.run_events(k), k);
    (run.fingerprint(), run.state_bytes(), run.now())
}

#[test]
fn back_lands_where_a_fresh_run_is() {
    let mut rng = rand_pcg::Pcg64::seed_from_u64(7);
    for budget in [256 << 20, 8 << 10, 0] {
        let mut run = bank(3);
        let mut s = session(run.as_mut(), budget);
        for _ in 0..25 {
            let forward = rng.random_range(0..3000u64);
            exec(&mut s, &format!("next {forward}"));
            let pos = s.pos();
            let k = rng.random_range(0..=pos);
            let out = exec(&mut s, &format!("back {k}"));
            assert!(out.contains(&format!(" {} events handled", pos - k)), "{out}");
            let (fp, bytes, now) = fresh_at(3, pos - k);
            assert_eq!(s.run.fingerprint(), fp, "back {k} from {pos}, budget {budget}");
            assert_eq!(s.run.state_bytes(), bytes);
            assert_eq!(s.run.now(), now);
        }
        // The checkpoints fit the budget, or only the start of the session
        // is kept.
        let summary = exec(&mut s, "history");
        assert!(summary.starts_with("1 checkpoint ") || !summary.contains("over the budget"), "{summary}");
        if budget == 0 {
            assert!(summary.starts_with("1 checkpoint "), "{summary}");
        }
    }
}

/// Event positions at which `continue` stops, to the end of the run.
fn forward_hits(s: &mut Session<'_, Vec<u8>>) -> Vec<u64> {
    let mut v = Vec::new();
    loop {
        let out = exec(s, "continue");
        if out.contains("the run is over") {
            return v;
        }
        assert!(out.contains("breakpoint "), "{out}");
        v.push(s.pos());
    }
}

#[test]
fn reverse_continue_finds_the_hits_of_continue_in_reverse() {
    let mut rng = rand_pcg::Pcg64::seed_from_u64(11);
    for round in 0..6 {
        let mut run = bank(5);
        let mut s = session(run.as_mut(), 16 << 10);
        let a = rng.random_range(0..ACCOUNTS);
        let level = rng.random_range(100.0..180.0f64).round();
        let mut cmds = vec![format!("break when account{a}.balance > {level}")];
        if round % 2 == 0 {
            cmds.push(format!("break at {}h", rng.random_range(10..1500)));
        }
        if round % 3 == 0 {
            cmds.push(format!("break on audit account{}", rng.random_range(0..ACCOUNTS)));
            cmds.push("break on Audit".into());
        }
        for c in &cmds {
            let out = exec(&mut s, c);
            assert!(out.starts_with("breakpoint "), "{c}: {out}");
        }
        let hits = forward_hits(&mut s);
        assert!(!hits.is_empty(), "{cmds:?}: no hit");
        let mut back = Vec::new();
        loop {
            let out = exec(&mut s, "rc");
            if out.starts_with("no breakpoint hit") {
                break;
            }
            assert!(out.contains("breakpoint "), "{out}");
            back.push(s.pos());
            let (fp, _, _) = fresh_at(5, s.pos());
            assert_eq!(s.run.fingerprint(), fp);
        }
        back.reverse();
        assert_eq!(back, hits, "{cmds:?}");
        // Forward again from the first hit finds the same hits.
        let again: Vec<u64> = forward_hits(&mut s);
        assert_eq!(again, hits[1..], "{cmds:?}");
    }
}

#[test]
fn a_condition_hits_when_it_becomes_true() {
    let mut run = bank(9);
    let mut s = session(run.as_mut(), 1 << 20);
    let out = exec(&mut s, "break when account1.balance >= 130");
    assert!(out.contains("breakpoint 1: when account1: balance >= 130 (now 100)"), "{out}");
    let out = exec(&mut s, "continue");
    assert!(out.contains("breakpoint 1 hit"), "{out}");
    assert!(out.contains("account1: receives"), "the hit event is printed with its notes: {out}");
    let now = super::breaks::field_value(s.run, AgentRef::new("account", 1), "balance").unwrap();
    assert!(now >= 130.0, "{now}");
    exec(&mut s, "back 1");
    let before = super::breaks::field_value(s.run, AgentRef::new("account", 1), "balance").unwrap();
    assert!(before < 130.0, "{before}");
    // Breakpoints on a kind or a time print the hit event with its notes
    // too (handled traced, known from the pending event).
    exec(&mut s, "delete all");
    exec(&mut s, "break on Transfer");
    let out = exec(&mut s, "continue");
    assert!(out.contains("pays ") && out.contains("receives "), "{out}");
    exec(&mut s, "delete all");
    exec(&mut s, "break at 300h");
    let out = exec(&mut s, "continue");
    assert!(out.contains("breakpoint 3 hit (at 300.000h)") && out.lines().count() >= 3, "{out}");
    // Unknown fields and agents are refused with what there is.
    let out = exec(&mut s, "break when account1.wealth > 3");
    assert!(out.contains("account1 has no field `wealth` (its fields: balance)"), "{out}");
    let out = exec(&mut s, "break on Payment");
    assert!(out.contains("unknown event kind `Payment` (this model's kinds: Transfer, Audit)"), "{out}");
    let out = exec(&mut s, "break when clerk1.balance > 3");
    assert!(out.contains("unknown agent class `clerk`"), "{out}");
}

#[test]
fn watch_prints_each_change() {
    let mut run = bank(4);
    let mut s = session(run.as_mut(), 1 << 20);
    exec(&mut s, "watch account2");
    exec(&mut s, "filter kind Audit");
    let out = exec(&mut s, "next 2");
    let watch_lines = out.lines().filter(|l| l.contains("watch account2: account2: balance")).count();
    let transfers = out.lines().filter(|l| l.contains("Transfer")).count();
    assert!(watch_lines > 0 && watch_lines == transfers, "{out}");
    exec(&mut s, "unwatch account2");
    let out = exec(&mut s, "next 2");
    assert!(!out.contains("watch"), "{out}");
}
