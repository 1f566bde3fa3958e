//! `omerta-sim step`: follow one run event by event, as a debugger:
//! filters, breakpoints, watches, the pending queue and stepping back.
//!
//! - [`session`]: the run and what the session keeps; the event loop.
//! - [`commands`]: the prompt's commands (and [`commands::HELP`]).
//! - [`breaks`]: breakpoints and watches.
//! - [`history`]: checkpoints and replay, for stepping back.
//! - [`prompt`]: reading commands (line editing on a terminal).

mod breaks;
mod commands;
mod history;
mod prompt;
mod session;

pub use breaks::fields_text;
pub use commands::{HELP, queue_text, resolve_agent};

use super::{StepArgs, time_arg};
use crate::engine::interrupt;
use crate::models::{open_snapshot, open_study};
use crate::study::{Scenario, Stepper};
use commands::{Flow, resolve_kinds};
use history::History;
use prompt::{Input, Read};
use session::{Filter, Plan, Session};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

pub(super) fn cmd_step(a: StepArgs) -> anyhow::Result<ExitCode> {
    let budget = history::parse_size(&a.back_memory).map_err(|e| anyhow::anyhow!("--back-memory: {e}"))?;
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
        Some(from) => crate::models::guarded(&from, || step_run(run, &a, budget)),
        None => step_run(run, &a, budget),
    }
}

fn step_run(mut run: Box<dyn Stepper>, a: &StepArgs, budget: u64) -> anyhow::Result<ExitCode> {
    let unit = run.time_unit();
    let agent = match &a.agent {
        Some(t) => Some(resolve_agent(run.as_ref(), t).map_err(|e| anyhow::anyhow!("--agent {e:#}"))?),
        None => None,
    };
    let kinds = if a.kind.iter().all(|k| k.trim().is_empty()) {
        Vec::new()
    } else {
        resolve_kinds(run.as_ref(), &a.kind.join(",")).map_err(|e| anyhow::anyhow!("--kind: {e}"))?
    };
    let filter = Filter { kinds, agent };
    let stdin_tty = std::io::stdin().is_terminal();
    let interactive = a.interactive || (stdin_tty && a.count.is_none() && a.until.is_none());
    if a.quiet && a.until.is_none() {
        anyhow::bail!("--quiet goes with --until (at the prompt: until <time> -q)");
    }
    let until = a.until.as_deref().map(|t| time_arg("--until", t, unit)).transpose()?;
    let history = if interactive { History::new(run.as_mut(), budget) } else { History::off(run.as_mut()) };
    let out = super::out::stdout();
    let mut s = Session {
        run: run.as_mut(),
        unit,
        filter,
        breaks: Default::default(),
        watches: Default::default(),
        history,
        out,
    };
    // --until or --count first (then the prompt, with --interactive).
    let plan = match (until, a.count) {
        (Some(t), _) => Some(Plan { show: !a.quiet, until: Some(t), ..Plan::default() }),
        (None, Some(n)) => Some(Plan { show: true, count: Some(n), ..Plan::default() }),
        (None, None) if !interactive => Some(Plan { show: true, count: Some(20), ..Plan::default() }),
        (None, None) => None,
    };
    if let Some(plan) = plan {
        s.run_events(plan)?;
    }
    if !interactive {
        let status = s.status();
        writeln!(s.out, "{status}")?;
        return Ok(ExitCode::SUCCESS);
    }
    repl(&mut s, stdin_tty)
}

fn repl<W: Write>(s: &mut Session<'_, W>, stdin_tty: bool) -> anyhow::Result<ExitCode> {
    interrupt::install()?;
    interrupt::set_notice("stopping the command at the next event (again to exit at once)");
    let mut input = Input::new(stdin_tty);
    let (describe, status) = (s.run.describe(), s.status());
    writeln!(s.out, "{describe}\n{status}\ntype `help` for commands")?;
    if stdin_tty && !std::io::stdout().is_terminal() && matches!(input, Input::Editor(_)) {
        errln!("stdout is not a terminal: events are written there; the prompt and commands stay on the terminal");
    }
    loop {
        interrupt::clear();
        let line = match input.read(&mut s.out)? {
            Read::Line(l) => l,
            Read::Cancelled => continue,
            Read::End => break,
        };
        interrupt::clear();
        if let Flow::Quit = command(s, &line)? {
            break;
        }
    }
    writeln!(s.out)?;
    Ok(ExitCode::SUCCESS)
}

/// Run one command line: its errors are printed and the session goes on;
/// only a failure to write (a closed stdout) ends it.
fn command<W: Write>(s: &mut Session<'_, W>, line: &str) -> anyhow::Result<Flow> {
    let flow = match s.execute(line) {
        Ok(f) => f,
        Err(e) if super::out::is_broken_pipe(&e) => return Err(e),
        Err(e) => {
            writeln!(s.out, "error: {e:#}")?;
            Flow::Go
        }
    };
    s.out.flush()?;
    Ok(flow)
}

/// A stepping session driven by command lines, as `step --interactive`
/// runs them from stdin (without the prompts): for tests, benches and
/// fuzzing.
pub struct StepScript<'r> {
    s: Session<'r, Vec<u8>>,
}

impl<'r> StepScript<'r> {
    /// A session on `run` from its current state, keeping at most
    /// `back_memory` bytes of checkpoints for stepping back.
    pub fn new(run: &'r mut dyn Stepper, back_memory: u64) -> StepScript<'r> {
        let unit = run.time_unit();
        let history = History::new(run, back_memory);
        let s = Session {
            run,
            unit,
            filter: Filter::default(),
            breaks: Default::default(),
            watches: Default::default(),
            history,
            out: Vec::new(),
        };
        StepScript { s }
    }

    /// Run one command line; returns what it printed (an error as
    /// `error: ...`) and whether it was `quit`.
    pub fn command(&mut self, line: &str) -> anyhow::Result<(String, bool)> {
        self.s.out.clear();
        let quit = matches!(command(&mut self.s, line)?, Flow::Quit);
        Ok((String::from_utf8_lossy(&self.s.out).into_owned(), quit))
    }
}

/// Run a script of prompt commands (one a line) on `run`, writing what
/// they print to `out`; stops at `quit`. An error only when `out` fails.
pub fn run_script(run: &mut dyn Stepper, script: &str, out: &mut dyn Write) -> anyhow::Result<()> {
    let mut s = StepScript::new(run, 256 << 20);
    for line in script.lines() {
        let (text, quit) = s.command(line)?;
        out.write_all(text.as_bytes())?;
        if quit {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
