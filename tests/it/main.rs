//! Integration tests: one binary, one module per concern.
//!
//! Run them all with `cargo test --release` (statistical suites are sized to
//! finish in seconds in release mode).

mod acceptance;
mod agent_names;
mod alloc_probe;
mod charts;
mod cli;
mod corrected;
mod determinism;
mod docs;
mod economic_value;
mod explore;
mod hostile_scenarios;
mod hostile_snapshots;
mod hostile_traces;
mod identity_rotation;
mod interrupt;
mod invariants;
mod io;
mod ledger;
mod mm1;
mod monetary_policy;
mod queue;
mod scenarios;
mod shards;
mod shipped_outputs;
mod slurm;
mod snapshots;
mod split_run;
mod step_debugger;
mod trust_replay;
mod trust_studies;
mod world;

use omerta_sim::models::open_study;
use omerta_sim::study::{Scenario, Stepper, Study};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The crate root (scenario files live in `models/`).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `omerta-sim` binary, run from the crate root.
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_omerta-sim"));
    c.current_dir(root());
    c
}

/// Run the binary and return its output.
pub fn run_bin(args: &[&str]) -> Output {
    bin().args(args).output().expect("the binary starts")
}

/// Stdout and stderr as text.
pub fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

/// A scenario file of `models/` with overrides.
pub fn scenario(file: &str, sets: &[&str]) -> Scenario {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    // Keep the relative path so results name the file as the CLI does.
    let rel = Path::new("models").join(file);
    let text = std::fs::read_to_string(root().join(&rel)).expect("scenario file exists");
    Scenario::parse(&text, &rel, &sets).expect("scenario loads")
}

/// A study bound to a scenario file of `models/`.
pub fn study(file: &str, sets: &[&str]) -> Box<dyn Study> {
    open_study(scenario(file, sets)).expect("study resolves")
}

/// Run a fresh stepper of `study` to its end.
pub fn finish(mut run: Box<dyn Stepper>) -> Box<dyn Stepper> {
    while run.step().is_some() {}
    run
}
