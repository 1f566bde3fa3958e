//! Exploring a scenario: the same study at many points of its keys, every
//! point over the same seeds (`omerta-sim explore`, docs/explore.md).
//!
//! The simulation-free part: the plan file ([`plan`]), the designs that
//! place points in the factors' space ([`design`]) and the sensitivity
//! indices computed from the outputs at those points ([`sensitivity`]).
//! Running: every point over the same seeds ([`exec`]) in a folder that
//! keeps finished runs ([`folder`]), the files written ([`output`]) and the
//! tipping-point search ([`find`]).

pub mod charts;
pub mod design;
pub mod exec;
pub mod find;
pub mod folder;
pub mod output;
pub mod plan;
pub mod sensitivity;

pub use plan::{Adaptive, Design, DesignKind, Domain, Factor, Layout, MorrisStep, Plan, PlanError, Scale, Target};
pub use sensitivity::{Bootstrap, Sensitivity, SensitivityError, SensitivityRow, analyse, write_csv};

#[cfg(test)]
mod tests;
