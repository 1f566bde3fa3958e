//! One module per study: a `Model`, its scenario and its report; plus the
//! registry that maps study ids and snapshot model kinds to them.

pub mod economic_value;
pub mod identity_rotation;
pub mod mm1;
pub mod monetary_policy;
pub mod reliability;
pub mod trust;
pub mod world;

use crate::engine::snapshot;
use crate::study::def::StudyEntry;
use crate::study::{Scenario, ScenarioError, Stepper, Study};
use std::path::Path;

/// Every study this build runs: one row per study folder.
pub const REGISTRY: &[StudyEntry] = &[
    StudyEntry::of::<reliability::Reliability>(),
    StudyEntry::of::<economic_value::EconomicValue>(),
    StudyEntry::of::<identity_rotation::IdentityRotationDef>(),
    StudyEntry::of::<trust::Trust>(),
    StudyEntry::of::<monetary_policy::Policy>(),
    StudyEntry::of::<mm1::Mm1>(),
    StudyEntry::of::<world::WorldStudy>(),
];

/// Study ids this build can run, in registry order.
pub fn study_ids() -> Vec<&'static str> {
    REGISTRY.iter().flat_map(|e| e.ids.iter().copied()).collect()
}

/// Scenario files `omerta-sim reproduce` runs, each in both fidelities.
pub const REPRODUCE: &[&str] = &[
    "reliability_basic.toml",
    "reliability_equilibrium.toml",
    "reliability_v2.toml",
    "reliability_v2_scarcity.toml",
    "economic_value.toml",
    "economic_value_sweep.toml",
    "identity_rotation.toml",
    "trust_dynamics.toml",
    "failure_modes.toml",
    "monetary_policy.toml",
    "monetary_policy_iteration2.toml",
    "full_study.toml",
];

/// Bind a scenario to its study.
pub fn open_study(scenario: Scenario) -> Result<Box<dyn Study>, ScenarioError> {
    match REGISTRY.iter().find(|e| e.ids.contains(&scenario.study.as_str())) {
        Some(e) => (e.open)(scenario),
        None => {
            let msg = format!("unknown study \"{}\" (this build knows: {})", scenario.study, study_ids().join(", "));
            Err(scenario.invalid(msg))
        }
    }
}

/// Open a snapshot file as a run that can be stepped, resumed or inspected:
/// read it (`snapshot::read_file`), decode it and validate the state
/// (`study::run::load_run`). Every altered file gives an error here, or, if
/// the alteration happens to describe another valid state, a run that
/// steps without panicking.
pub fn open_snapshot(path: &Path) -> anyhow::Result<(snapshot::Header, Box<dyn Stepper>)> {
    let (header, body) = snapshot::read_file(path)?;
    let Some(entry) = REGISTRY.iter().find(|e| e.ids.contains(&header.model_kind.as_str())) else {
        return Err(snapshot::SnapshotError::WrongModel {
            path: path.to_path_buf(),
            found: header.model_kind.clone(),
            expected: format!("one of {}", study_ids().join(", ")),
        }
        .into());
    };
    let run = (entry.load)(path, &header, body.as_slice())?;
    Ok((header, run))
}

/// Run `f` on a run loaded from the snapshot `path`, turning a panic into
/// an error that names the file.
///
/// A last resort only: `open_snapshot` validates every state before it
/// returns it (`Simulation::validate`), so a state that passes should never
/// panic. Should a check have been missed, the user still gets an error
/// and exit code 1 that says the snapshot's state is inconsistent, with no
/// panic message on stderr (the panic hook is silenced while `f` runs).
pub fn guarded<T>(path: &Path, f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    result.unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into());
        Err(snapshot::SnapshotError::Invalid {
            path: path.to_path_buf(),
            message: format!("running it failed an internal check ({what})"),
        }
        .into())
    })
}

/// Rebuild the study of a run loaded from a snapshot.
pub fn study_of(run: &dyn Stepper) -> anyhow::Result<Box<dyn Study>> {
    Ok(open_study(run.meta().scenario()?)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guarded_turns_a_panic_into_an_error() {
        let p = Path::new("x.snap");
        let e = guarded::<()>(p, || panic!("index out of bounds: the len is 3 but the index is 7")).unwrap_err();
        let msg = format!("{e:#}");
        assert!(msg.starts_with("x.snap: snapshot state is inconsistent"), "{msg}");
        assert!(msg.contains("the index is 7"), "{msg}");
        assert_eq!(guarded(p, || Ok(5)).unwrap(), 5);
        assert!(guarded::<()>(p, || anyhow::bail!("plain error")).unwrap_err().to_string() == "plain error");
    }
}
