//! One module per study: a `Model`, its scenario and its report; plus the
//! registry that maps study ids and snapshot model kinds to them.

pub mod economic_value;
pub mod identity_rotation;
pub mod monetary_policy;
pub mod reliability;
pub mod trust;

use crate::engine::snapshot;
use crate::study::{Scenario, ScenarioError, Stepper, Study};
use std::path::Path;

/// Study ids this build can run.
pub const STUDIES: &[&str] = &[
    "reliability_basic",
    "reliability_equilibrium",
    "reliability_v2",
    "economic_value",
    "identity_rotation",
    "trust_dynamics",
    "failure_modes",
    "monetary_policy",
    "monetary_policy_iteration2",
    "full_study",
];

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
    match scenario.study.as_str() {
        "reliability_basic" | "reliability_equilibrium" | "reliability_v2" => {
            Ok(Box::new(reliability::ReliabilityStudy::new(scenario)?))
        }
        "economic_value" => Ok(Box::new(economic_value::EconomicStudy::new(scenario)?)),
        "identity_rotation" => Ok(Box::new(identity_rotation::IdentityRotationStudy::new(scenario)?)),
        "trust_dynamics" | "failure_modes" => Ok(Box::new(trust::TrustStudy::new(scenario)?)),
        "monetary_policy" | "monetary_policy_iteration2" | "full_study" => {
            Ok(Box::new(monetary_policy::PolicyStudy::new(scenario)?))
        }
        other => Err(scenario.invalid(format!("unknown study \"{other}\" (this build knows: {})", STUDIES.join(", ")))),
    }
}

/// Open a snapshot file as a run that can be stepped, resumed or inspected.
pub fn open_snapshot(path: &Path) -> anyhow::Result<(snapshot::Header, Box<dyn Stepper>)> {
    let bytes = snapshot::read_file(path)?;
    let (header, body) = snapshot::parse(path, &bytes)?;
    let run: Box<dyn Stepper> = match header.model_kind.as_str() {
        k @ ("reliability_basic" | "reliability_equilibrium" | "reliability_v2") => {
            Box::new(crate::study::run::load_run::<reliability::ReliabilityMarket>(path, &header, body, &[k])?)
        }
        "economic_value" => Box::new(crate::study::run::load_run::<economic_value::EconomicMarket>(
            path,
            &header,
            body,
            &["economic_value"],
        )?),
        "identity_rotation" => Box::new(crate::study::run::load_run::<identity_rotation::IdentityRotation>(
            path,
            &header,
            body,
            &["identity_rotation"],
        )?),
        k @ ("trust_dynamics" | "failure_modes") => {
            Box::new(crate::study::run::load_run::<trust::TrustModel>(path, &header, body, &[k])?)
        }
        k @ ("monetary_policy" | "monetary_policy_iteration2" | "full_study") => {
            Box::new(crate::study::run::load_run::<monetary_policy::PolicyModel>(path, &header, body, &[k])?)
        }
        _ => {
            return Err(snapshot::SnapshotError::WrongModel {
                path: path.to_path_buf(),
                found: header.model_kind.clone(),
                expected: format!("one of {}", STUDIES.join(", ")),
            }
            .into());
        }
    };
    Ok((header, run))
}

/// Rebuild the study of a run loaded from a snapshot.
pub fn study_of(run: &dyn Stepper) -> anyhow::Result<Box<dyn Study>> {
    Ok(open_study(run.meta().scenario()?)?)
}
