//! The prompt's commands.

use super::breaks::{Shown, When, field_value, fields_text, for_people, parse_condition};
use super::history::{human, parse_size};
use super::session::{Filter, Plan, Session, Stop, print_header};
use crate::engine::{AgentRef, SimTime};
use crate::study::Stepper;
use anyhow::{anyhow, bail};
use std::io::Write;
use std::path::Path;

/// Every command, for `help` and `step --help`.
pub const HELP: &str = "\
Commands at the prompt (an empty line is `next`):
  next [n]                 handle events until n (default 1) that the filter shows were printed (also: n)
  until <time> [-q]        handle every event up to a simulated time (12.5h, 3d; a bare number is in the model's
                           unit), printing them; -q or --quiet prints nothing on the way (also: u)
  continue                 run silently to the next breakpoint hit and print that event (also: c)
  back [n]                 go back n events (default 1), exactly: the state and `info` are those a fresh run has
                           after that event
  reverse-continue         go back to the previous breakpoint hit (also: rc)
  break at <time>          stop at the first event at or after a time
  break on <kind>[,<kind>] [agent]
                           stop at events of these kinds (concerning the agent, if one is named)
  break when <agent>.<field> <op> <value>
                           stop at the event after which the condition starts to hold (ops: < <= > >= == !=;
                           `fields <agent>` lists an agent's fields)
  breaks                   list the breakpoints (also: info breaks)
  delete <n>|all           remove breakpoint n, or every one
  watch [agent]            print the agent's state after every event that changes it (no agent: list watches)
  unwatch <agent>|all      stop watching
  filter kind <k>[,<k>..]  show only events of these kinds (next, until)
  filter agent <agent>     show only events that concern the agent
  filter off               show every event (filter alone: the current filter)
  kinds                    the model's event kinds, each with how many are pending
  queue [n]                the next n (default 10) pending events: time, sequence number, kind, agent
  show <agent>             one agent's state (also: s)
  fields <agent>           one agent's named numeric fields (for `break when`)
  info                     where the run is (time, events handled, fingerprint) and the model's state (also: i)
  history                  the checkpoints kept for stepping back and the memory they take
  back-memory <size>       the memory budget of those checkpoints (e.g. 64MiB, 1GiB; default 256MiB)
  save <file>              write a snapshot here (resume or step --from it later)
  help                     this list (also: h, ?)
  quit                     leave (also: q, exit, Ctrl-D, end of input)
Ctrl-C stops a running command between two events and returns to the prompt with the run intact.
Stepping back keeps checkpoints of the run in memory (at most the budget: older ones are thinned out)
and replays from the nearest one; a checkpoint is about the size of a snapshot file.";

/// What the loop does after a command.
pub enum Flow {
    /// Read the next command.
    Go,
    /// Leave.
    Quit,
}

/// A whole-number argument; `default` when absent.
fn count(arg: Option<&str>, default: u64, what: &str) -> anyhow::Result<u64> {
    match arg {
        None => Ok(default),
        Some(t) => t.parse().map_err(|_| anyhow!("`{t}` is not a {what} (a whole number >= 0)")),
    }
}

/// Resolve comma-separated kind names (any case) to the model's spelling;
/// an unknown one is an error listing the model's kinds.
pub fn resolve_kinds(run: &dyn Stepper, text: &str) -> Result<Vec<String>, String> {
    let known = run.event_kinds();
    let mut v = Vec::new();
    for k in text.split(|c: char| c == ',' || c.is_whitespace()).filter(|k| !k.is_empty()) {
        let name = if known.is_empty() {
            k.to_string()
        } else {
            known
                .iter()
                .find(|n| n.eq_ignore_ascii_case(k))
                .ok_or_else(|| format!("unknown event kind `{k}` (this model's kinds: {})", known.join(", ")))?
                .to_string()
        };
        if !v.contains(&name) {
            v.push(name);
        }
    }
    if v.is_empty() {
        return Err(format!("no event kind given (this model's kinds: {})", known.join(", ")));
    }
    Ok(v)
}

/// The agent a user names, as the model reads names.
pub fn resolve_agent(run: &dyn Stepper, name: &str) -> anyhow::Result<AgentRef> {
    if name.trim().is_empty() {
        bail!("name an agent (e.g. {}3)", run.agent_classes().first().unwrap_or(&"agent"));
    }
    run.find_agent(name.trim()).map_err(|e| anyhow!(e))
}

/// The next `n` pending events, a line each, under a line that counts them.
pub fn queue_text(run: &dyn Stepper, n: u64) -> String {
    let pending = run.pending();
    let list = run.pending_events(usize::try_from(n).unwrap_or(usize::MAX).min(pending));
    let mut out = Vec::new();
    let _ = writeln!(out, "{pending} pending event{}; the next {}:", if pending == 1 { "" } else { "s" }, list.len());
    for p in list {
        let _ = print_header(&mut out, p.time, p.seq, p.kind, p.agent, run.time_unit());
    }
    String::from_utf8_lossy(&out).trim_end().to_string()
}

/// Rest of the words, joined by a space.
fn rest(words: &[&str]) -> String {
    words.join(" ")
}

impl<W: Write> Session<'_, W> {
    fn time(&self, text: &str, what: &str) -> anyhow::Result<SimTime> {
        if text.is_empty() {
            bail!("{what} needs a time (e.g. 12.5h, 3d; a bare number is in {})", self.unit.name());
        }
        crate::cli::time_arg(what, text, self.unit)
    }

    fn say_stop(&mut self, stop: Stop) -> anyhow::Result<()> {
        match stop {
            Stop::End => {
                let s = self.status();
                writeln!(self.out, "(the run is over) {s}")?;
            }
            Stop::Interrupted => {
                let s = self.status();
                writeln!(self.out, "interrupted {s}")?;
            }
            Stop::Shown | Stop::Time | Stop::Hit => {}
        }
        Ok(())
    }

    /// Run one command line.
    pub fn execute(&mut self, line: &str) -> anyhow::Result<Flow> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let (cmd, args) = match words.split_first() {
            Some((c, a)) => (*c, a),
            None => ("next", &[][..]),
        };
        match cmd {
            "next" | "n" => {
                let n = count(args.first().copied(), 1, "count")?;
                let stop =
                    self.run_events(Plan { show: true, count: Some(n), watch: true, breaks: true, until: None })?;
                self.say_stop(stop)?;
            }
            "until" | "u" => {
                let quiet = args.iter().any(|a| *a == "-q" || *a == "--quiet");
                let text = rest(&args.iter().copied().filter(|a| *a != "-q" && *a != "--quiet").collect::<Vec<_>>());
                let t = self.time(&text, "until")?;
                if t < self.run.now() {
                    let now = self.unit.format(self.run.now());
                    writeln!(
                        self.out,
                        "the run is at {now}, past {}: `until` only goes forward (`back <n>` goes back)",
                        self.unit.format(t)
                    )?;
                    return Ok(Flow::Go);
                }
                let plan = Plan { show: !quiet, count: None, until: Some(t), watch: !quiet, breaks: true };
                let stop = self.run_events(plan)?;
                if stop == Stop::Interrupted || stop == Stop::End {
                    self.say_stop(stop)?;
                } else {
                    let s = self.status();
                    writeln!(self.out, "{s}")?;
                }
            }
            "continue" | "c" | "cont" => {
                if !args.is_empty() {
                    bail!("continue takes no argument");
                }
                if self.breaks.is_empty() {
                    writeln!(self.out, "no breakpoints: running to the end (Ctrl-C stops)")?;
                }
                let stop =
                    self.run_events(Plan { show: false, count: None, until: None, watch: true, breaks: true })?;
                self.say_stop(stop)?;
            }
            "back" => {
                let n = count(args.first().copied(), 1, "count")?;
                let pos = self.pos();
                let max = pos - self.history.base();
                if n > max {
                    bail!(
                        "can go back at most {max} event{} (to event {}, where this session started)",
                        if max == 1 { "" } else { "s" },
                        self.history.base()
                    );
                }
                if n == 0 {
                    let s = self.status();
                    writeln!(self.out, "back 0 {s}")?;
                    return Ok(Flow::Go);
                }
                let m = self.back_to(pos - n)?;
                let s = self.status();
                if m.interrupted {
                    writeln!(self.out, "interrupted while going back {s}")?;
                } else {
                    writeln!(
                        self.out,
                        "back {n} {s} (replayed {} events from event {} in {:.3}s)",
                        m.replayed,
                        m.from,
                        m.took.as_secs_f64()
                    )?;
                }
            }
            "reverse-continue" | "rc" | "rcontinue" => {
                if self.breaks.is_empty() {
                    bail!("no breakpoints to go back to (set one with `break`)");
                }
                match self.reverse_continue()? {
                    Some(_) => {
                        let s = self.status();
                        writeln!(self.out, "{s}")?;
                    }
                    None if crate::engine::interrupt::requested() => {
                        let s = self.status();
                        writeln!(self.out, "interrupted; back where the search started {s}")?;
                    }
                    None => {
                        let base = self.history.base();
                        writeln!(
                            self.out,
                            "no breakpoint hit between event {base} (the start of this session) and now"
                        )?;
                    }
                }
            }
            "break" | "b" => self.cmd_break(args)?,
            "breaks" => self.list_breaks()?,
            "delete" | "d" => match args {
                ["all"] => {
                    let n = self.breaks.clear();
                    writeln!(self.out, "deleted {n} breakpoint{}", if n == 1 { "" } else { "s" })?;
                }
                [n] => {
                    let id = count(Some(n), 0, "breakpoint number")?;
                    if !usize::try_from(id).is_ok_and(|id| self.breaks.delete(id)) {
                        bail!("no breakpoint {id} (`breaks` lists them)");
                    }
                    writeln!(self.out, "deleted breakpoint {id}")?;
                }
                _ => bail!("usage: delete <n> | delete all"),
            },
            "watch" | "w" => {
                if args.is_empty() {
                    let list = self.watches.agents();
                    if list.is_empty() {
                        writeln!(self.out, "no agent is watched (watch <agent>)")?;
                    }
                    for a in list {
                        let state = self.run.show(a).unwrap_or_else(|| "not in the run now".into());
                        writeln!(self.out, "watching {a}: {state}")?;
                    }
                } else {
                    let a = resolve_agent(self.run, &rest(args))?;
                    if self.watches.add(a, self.run) {
                        let state = self.run.show(a).unwrap_or_else(|| "not in the run now".into());
                        writeln!(self.out, "watching {a}: {state}")?;
                    } else {
                        writeln!(self.out, "{a} is already watched")?;
                    }
                }
            }
            "unwatch" => match args {
                [] => bail!("usage: unwatch <agent> | unwatch all"),
                ["all"] => {
                    let n = self.watches.clear();
                    writeln!(self.out, "stopped watching {n} agent{}", if n == 1 { "" } else { "s" })?;
                }
                _ => {
                    let a = resolve_agent(self.run, &rest(args))?;
                    if !self.watches.remove(a) {
                        bail!("{a} is not watched");
                    }
                    writeln!(self.out, "stopped watching {a}")?;
                }
            },
            "filter" | "f" => self.cmd_filter(args)?,
            "kinds" | "k" => {
                if !args.is_empty() {
                    bail!("kinds takes no argument");
                }
                let kinds = self.run.event_kinds();
                if kinds.is_empty() {
                    writeln!(self.out, "this model does not list its event kinds")?;
                }
                let pending = self.run.pending_events(usize::MAX);
                let w = kinds.iter().map(|k| k.len()).max().unwrap_or(0);
                for k in kinds {
                    let n = pending.iter().filter(|p| p.kind == *k).count();
                    writeln!(self.out, "  {k:<w$}  {n} pending")?;
                }
            }
            "queue" => {
                let n = count(args.first().copied(), 10, "count")?;
                let text = queue_text(self.run, n);
                writeln!(self.out, "{text}")?;
            }
            "show" | "s" => {
                let a = resolve_agent(self.run, &rest(args))?;
                match self.run.show(a) {
                    Some(d) => writeln!(self.out, "{d}")?,
                    None => writeln!(self.out, "no {a} in the run now")?,
                }
            }
            "fields" => {
                let a = resolve_agent(self.run, &rest(args))?;
                match self.run.agent_fields(a) {
                    Some(f) if !f.is_empty() => writeln!(self.out, "{}", fields_text(&f))?,
                    Some(_) => writeln!(self.out, "{a} has no numeric fields")?,
                    None => {
                        writeln!(self.out, "no numeric fields for {a} (not in the run now, or the model names none)")?
                    }
                }
            }
            "info" | "i" => {
                if args == ["breaks"] {
                    return self.list_breaks().map(|()| Flow::Go);
                }
                let (d, s) = (self.run.describe(), self.status());
                writeln!(self.out, "{d}\n{s}")?;
            }
            "history" => {
                let s = self.history.summary();
                writeln!(self.out, "{s}")?;
            }
            "back-memory" => match args {
                [] => {
                    writeln!(self.out, "stepping back keeps at most {} of checkpoints", human(self.history.budget()))?
                }
                [size] => {
                    let b = parse_size(size).map_err(|e| anyhow!(e))?;
                    self.history.set_budget(b);
                    let s = self.history.summary();
                    writeln!(self.out, "{s}")?;
                }
                _ => bail!("usage: back-memory <size> (e.g. 64MiB, 1GiB)"),
            },
            "save" => {
                let file = rest(args);
                if file.is_empty() {
                    bail!("save needs a file name");
                }
                self.run.save(Path::new(&file))?;
                writeln!(self.out, "saved {file} at {}", self.unit.format(self.run.now()))?;
            }
            "help" | "h" | "?" => writeln!(self.out, "{HELP}")?,
            "quit" | "q" | "exit" => return Ok(Flow::Quit),
            other => writeln!(self.out, "unknown command `{other}`; type `help`")?,
        }
        Ok(Flow::Go)
    }

    fn list_breaks(&mut self) -> anyhow::Result<()> {
        if self.breaks.is_empty() {
            writeln!(self.out, "no breakpoints")?;
        }
        let lines: Vec<String> = self
            .breaks
            .list()
            .iter()
            .map(|b| {
                format!(
                    "  {}  {}  (hit {} time{})",
                    b.id,
                    Shown(&b.when, self.unit),
                    b.hits,
                    if b.hits == 1 { "" } else { "s" }
                )
            })
            .collect();
        for l in lines {
            writeln!(self.out, "{l}")?;
        }
        Ok(())
    }

    fn cmd_break(&mut self, args: &[&str]) -> anyhow::Result<()> {
        let usage =
            "usage: break at <time> | break on <kind>[,<kind>] [agent] | break when <agent>.<field> <op> <value>";
        let mut note = None;
        let when = match args {
            ["at", t @ ..] => When::At(self.time(&rest(t), "break at")?),
            ["on", kinds, agent @ ..] => {
                let kinds = resolve_kinds(self.run, kinds).map_err(|e| anyhow!(e))?;
                let agent = if agent.is_empty() { None } else { Some(resolve_agent(self.run, &rest(agent))?) };
                When::On { kinds, agent }
            }
            ["when", cond @ ..] => {
                let (name, field, op, value) = parse_condition(&rest(cond)).map_err(|e| anyhow!(e))?;
                let agent = resolve_agent(self.run, &name)?;
                match self.run.agent_fields(agent) {
                    Some(fields) => {
                        let Some(&(field, _)) = fields.iter().find(|(n, _)| n.eq_ignore_ascii_case(&field)) else {
                            let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
                            bail!("{agent} has no field `{field}` (its fields: {})", names.join(", "));
                        };
                        When::Cond { agent, field: field.to_string(), op, value }
                    }
                    // An agent with no fields now (not in the run yet, e.g.
                    // of a later leg): they are read once it has them.
                    None => {
                        note = Some(format!(
                            " ({agent} has no fields now: `{field}` is read once it has; a field it does not have \
                             never holds)"
                        ));
                        When::Cond { agent, field, op, value }
                    }
                }
            }
            _ => bail!("{usage}"),
        };
        let id = self.breaks.add(when.clone(), self.run);
        let mut line = format!("breakpoint {id}: {}", Shown(&when, self.unit));
        if let When::Cond { agent, field, .. } = &when
            && let Some(v) = field_value(self.run, *agent, field)
        {
            line += &format!(" (now {})", for_people(v));
        }
        if let When::Cond { .. } = &when
            && self.breaks.list().last().is_some_and(|b| b.holds_now())
        {
            line += " (it holds now: it hits when it starts to hold again)";
        }
        line += note.as_deref().unwrap_or("");
        if let When::At(t) = when
            && t <= self.run.now()
        {
            line += " (that time is past: it will not hit going forward)";
        }
        writeln!(self.out, "{line}")?;
        Ok(())
    }

    fn cmd_filter(&mut self, args: &[&str]) -> anyhow::Result<()> {
        match args {
            [] => {}
            ["off"] => self.filter = Filter::default(),
            ["kind" | "kinds", k @ ..] if !k.is_empty() => {
                self.filter.kinds = resolve_kinds(self.run, &rest(k)).map_err(|e| anyhow!(e))?;
            }
            ["kind" | "kinds", ..] => {
                self.filter.kinds.clear();
            }
            ["agent", a @ ..] if !a.is_empty() => {
                self.filter.agent = Some(resolve_agent(self.run, &rest(a))?);
            }
            ["agent", ..] => self.filter.agent = None,
            _ => bail!("usage: filter kind <kind>[,<kind>] | filter agent <agent> | filter off"),
        }
        let d = self.filter.describe();
        writeln!(self.out, "{d}")?;
        Ok(())
    }
}
