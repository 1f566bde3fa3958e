//! Studies: scenario files, many seeds in parallel, aggregation, shards.

pub mod exec;
pub mod run;
pub mod scenario;

pub use run::{Run, RunControl, RunMeta, Stepper, Study, StudyModel};
pub use scenario::{Scenario, ScenarioError};
