//! `omerta-sim trust replay <trace.jsonl>...`: replay recorded traces
//! through the trust engine and report every mismatch (the checks are those
//! of `trust::trace`).
//!
//! Exit codes: 0 every output matches, 1 any mismatch, 2 a malformed trace
//! (bad JSON, an unknown op, field or identity, a refused call, a line or
//! file over the limits; with its line) or one that checks nothing, or a
//! file that cannot be read.

use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::trust::trace::{self, Counts};

/// The `trust` subcommands.
#[derive(Subcommand, Debug)]
pub(super) enum TrustCommand {
    /// Replay golden traces (JSON Lines of engine calls) and check every
    /// recorded output: exit 0 all match, 1 any mismatch, 2 a malformed trace
    /// (named with its line), one that checks nothing, or an unreadable file.
    Replay {
        /// Trace files (e.g. tests/golden/trust/*.jsonl).
        #[arg(required = true)]
        traces: Vec<PathBuf>,
    },
}

fn describe(c: &Counts) -> String {
    let mut parts = Vec::new();
    for (n, what) in [
        (c.solves, "solve"),
        (c.assertions, "assertion decision"),
        (c.local_trust, "local-trust result"),
        (c.rates, "verification rate"),
        (c.escrow, "escrow delay"),
        (c.transfers, "transfer"),
        (c.clusters, "cluster query"),
        (c.edge_builds, "edge-map build"),
    ] {
        if n > 0 {
            parts.push(plural(n, what));
        }
    }
    let attack = if c.attack_results > 0 {
        format!(", plus {}", plural(c.attack_results, "attack result"))
    } else {
        String::new()
    };
    format!("{} outputs checked ({}){attack}", c.outputs(), parts.join(", "))
}

fn plural(n: usize, what: &str) -> String {
    match (n, what.strip_suffix('y')) {
        (1, _) => format!("1 {what}"),
        (_, Some(stem)) => format!("{n} {stem}ies"),
        _ => format!("{n} {what}s"),
    }
}

pub(super) fn cmd_trust(cmd: TrustCommand) -> anyhow::Result<ExitCode> {
    let TrustCommand::Replay { traces } = cmd;
    let mut worst = 0u8;
    let mut total = Counts::default();
    let mut mismatches = 0usize;
    for path in &traces {
        let name = path.display();
        let file = match std::fs::File::open(path) {
            Ok(_) if path.is_dir() => Err("is a folder, not a trace file".to_string()),
            Ok(f) => Ok(f),
            Err(e) => Err(e.to_string()),
        };
        let file = match file {
            Ok(f) => f,
            Err(e) => {
                errln!("{name}: cannot read the trace: {e}");
                outln!("{name}: cannot read the trace")?;
                worst = 2;
                continue;
            }
        };
        match trace::replay_reader(file) {
            Err(e) if e.line == 0 => {
                errln!("{name}: malformed trace: {}", e.message);
                outln!("{name}: malformed trace")?;
                worst = 2;
            }
            Err(e) => {
                errln!("{name}:{}: malformed trace: {}", e.line, e.message);
                outln!("{name}: malformed trace (line {})", e.line)?;
                worst = 2;
            }
            Ok(r) => {
                for m in &r.mismatches {
                    outln!("{name}:{m}")?;
                }
                outln!("{name}: {}, {} mismatches", describe(&r.counts), r.mismatches.len())?;
                if !r.mismatches.is_empty() {
                    worst = worst.max(1);
                }
                mismatches += r.mismatches.len();
                total.add(&r.counts);
            }
        }
    }
    if traces.len() > 1 {
        outln!("total: {} files, {}, {mismatches} mismatches", traces.len(), describe(&total))?;
    }
    Ok(ExitCode::from(worst))
}
