//! Design of experiments over scenario keys, the simulation-free part of
//! `omerta-sim explore`: the plan file ([`plan`]), the designs that place
//! points in the factors' space ([`design`]) and the sensitivity indices
//! computed from the outputs at those points ([`sensitivity`]). See
//! `docs/explore.md`.

pub mod design;
pub mod plan;
pub mod sensitivity;

pub use plan::{
    Adaptive, Design, DesignKind, Domain, Factor, Layout, MorrisStep, Plan, PlanError, Point, Scale, Target,
};
pub use sensitivity::{Bootstrap, Sensitivity, SensitivityError, SensitivityRow, analyse, write_csv};

#[cfg(test)]
mod tests;
