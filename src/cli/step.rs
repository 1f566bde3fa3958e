//! `omerta-sim step`: follow one run event by event.

use super::{StepArgs, time_arg};
use crate::engine::{AgentRef, SimTime, StepInfo, TimeUnit};
use crate::models::{open_snapshot, open_study};
use crate::study::{Scenario, Stepper};
use anyhow::Context;
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

/// Which events to print.
struct Filter {
    kinds: Vec<String>,
    agent: Option<AgentRef>,
}

impl Filter {
    fn matches(&self, s: &StepInfo) -> bool {
        (self.kinds.is_empty() || self.kinds.iter().any(|k| k.eq_ignore_ascii_case(s.kind)))
            && self.agent.as_ref().is_none_or(|a| s.involves(a))
    }
}

fn print_step(out: &mut impl Write, s: &StepInfo, unit: TimeUnit, f: &Filter) -> std::io::Result<()> {
    let agent = s.agent.map(|a| format!(" [{a}]")).unwrap_or_default();
    writeln!(out, "{:>14} #{:<9} {}{agent}", unit.format(s.time), s.seq, s.kind)?;
    for c in &s.changes {
        if f.agent.is_some() && c.agent.is_some() && c.agent != f.agent {
            continue;
        }
        match c.agent {
            Some(a) => writeln!(out, "{:>26} {a}: {}", "", c.text)?,
            None => writeln!(out, "{:>26} {}", "", c.text)?,
        }
    }
    Ok(())
}

/// Step until `n` matching events were printed or the run ends. Returns the
/// number printed.
fn next(run: &mut dyn Stepper, n: u64, f: &Filter, out: &mut impl Write) -> std::io::Result<u64> {
    let mut shown = 0;
    while shown < n {
        let Some(s) = run.step() else { break };
        if f.matches(&s) {
            print_step(out, &s, run.time_unit(), f)?;
            shown += 1;
        }
    }
    Ok(shown)
}

/// Step through every event up to `t`, printing matching ones.
fn until(run: &mut dyn Stepper, t: SimTime, f: &Filter, out: &mut impl Write) -> std::io::Result<u64> {
    let mut shown = 0;
    while run.next_time().is_some_and(|n| n <= t) {
        let s = run.step().expect("an event is pending");
        if f.matches(&s) {
            print_step(out, &s, run.time_unit(), f)?;
            shown += 1;
        }
    }
    Ok(shown)
}

fn status(run: &mut dyn Stepper) -> String {
    let unit = run.time_unit();
    let c = run.counters();
    let next = run.next_time().map(|t| unit.format(t)).unwrap_or_else(|| "none (finished)".into());
    format!("at {}: {} events handled, {} pending (next at {next})", unit.format(run.now()), c.processed, run.pending())
}

pub(super) fn cmd_step(a: StepArgs) -> anyhow::Result<ExitCode> {
    let run: Box<dyn Stepper> = match (&a.from, &a.scenario) {
        (Some(from), _) => open_snapshot(from)?.1,
        (None, Some(path)) => {
            let scenario = Scenario::load(path, &a.sets)?;
            let study = open_study(scenario)?;
            let seed = a.seed.unwrap_or(study.default_seeds().0);
            crate::study::limits::check_memory(study.as_ref(), 1, 1)?;
            study.stepper(seed)
        }
        (None, None) => anyhow::bail!("give a scenario file or --from <snapshot>"),
    };
    match a.from.clone() {
        Some(from) => crate::models::guarded(&from, || step_run(run, &a)),
        None => step_run(run, &a),
    }
}

fn step_run(mut run: Box<dyn Stepper>, a: &StepArgs) -> anyhow::Result<ExitCode> {
    run.set_tracing(true);
    let unit = run.time_unit();
    let agent = match &a.agent {
        Some(t) => Some(AgentRef::parse(t, run.agent_classes()).map_err(|e| anyhow::anyhow!("--agent {e}"))?),
        None => None,
    };
    let filter =
        Filter { kinds: a.kind.iter().map(|k| k.trim().to_string()).filter(|k| !k.is_empty()).collect(), agent };
    let mut out = super::out::stdout();
    let interactive = a.interactive || (std::io::stdin().is_terminal() && a.count.is_none() && a.until.is_none());
    if !interactive {
        match &a.until {
            Some(t) => {
                let t = time_arg("--until", t, unit)?;
                until(run.as_mut(), t, &filter, &mut out)?;
            }
            None => {
                next(run.as_mut(), a.count.unwrap_or(20), &filter, &mut out)?;
            }
        }
        writeln!(out, "{}", status(run.as_mut()))?;
        return Ok(ExitCode::SUCCESS);
    }
    repl(run.as_mut(), &filter, unit)
}

const HELP: &str = "commands:
  next [n]        handle events until n (default 1) matching ones were shown (also: n, or an empty line)
  until <time>    handle every event up to a simulated time (e.g. 12.5h, 3d; bare numbers in the model's unit)
  show <agent>    print one agent's state (e.g. show provider3, show c12)
  info            where the run is and what the model looks like
  save <file>     write a snapshot here (resume or step --from it later)
  quit            leave (also: q, exit, end of input)";

fn repl(run: &mut dyn Stepper, filter: &Filter, unit: TimeUnit) -> anyhow::Result<ExitCode> {
    let stdin = std::io::stdin();
    let mut out = super::out::stdout();
    writeln!(out, "{}\n{}\ntype `help` for commands", run.describe(), status(run))?;
    let mut lines = stdin.lock().lines();
    loop {
        write!(out, "step> ")?;
        out.flush()?;
        let Some(line) = lines.next() else { break };
        let line = line.context("reading a command")?;
        let mut words = line.split_whitespace();
        let cmd = words.next().unwrap_or("next");
        let arg = words.collect::<Vec<_>>().join(" ");
        let result: anyhow::Result<()> = (|| {
            match cmd {
                "next" | "n" => {
                    let n: u64 = if arg.is_empty() {
                        1
                    } else {
                        arg.parse().map_err(|_| anyhow::anyhow!("`{arg}` is not a count"))?
                    };
                    if next(run, n, filter, &mut out)? < n {
                        writeln!(out, "(the run has no more events)")?;
                    }
                }
                "until" | "u" => {
                    let t = time_arg("until", &arg, unit)?;
                    until(run, t, filter, &mut out)?;
                    writeln!(out, "{}", status(run))?;
                }
                "show" | "s" => {
                    let a = AgentRef::parse(&arg, run.agent_classes()).map_err(|e| anyhow::anyhow!(e))?;
                    match run.show(a) {
                        Some(d) => writeln!(out, "{d}")?,
                        None => writeln!(out, "no {a} in this model")?,
                    }
                }
                "info" | "i" => writeln!(out, "{}\n{}", run.describe(), status(run))?,
                "save" => {
                    if arg.is_empty() {
                        anyhow::bail!("save needs a file name");
                    }
                    run.save(Path::new(&arg))?;
                    writeln!(out, "saved {} at {}", arg, unit.format(run.now()))?;
                }
                "help" | "h" | "?" => writeln!(out, "{HELP}")?,
                "quit" | "q" | "exit" => return Err(anyhow::anyhow!("quit")),
                other => writeln!(out, "unknown command `{other}`; type `help`")?,
            }
            Ok(())
        })();
        match result {
            Ok(()) => {}
            Err(e) if e.to_string() == "quit" => break,
            Err(e) => writeln!(out, "error: {e:#}")?,
        }
    }
    writeln!(out)?;
    Ok(ExitCode::SUCCESS)
}
