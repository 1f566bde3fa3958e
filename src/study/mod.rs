//! Studies: scenario files, many seeds in parallel, aggregation, shards.

pub mod def;
pub mod exec;
pub mod keys;
pub mod limits;
pub mod run;
pub mod rundir;
pub mod scenario;
pub mod shard;
pub mod slurm;

pub use def::{Common, StudyDef, StudyEntry, StudyOf};
pub use keys::{Fidelity, Header, Keys, Switch, VerdictSpec};
pub use limits::Footprint;
pub use run::{DriveEnd, Run, RunControl, RunMeta, Stepper, StopCheck, Study, StudyModel};
pub use scenario::{Scenario, ScenarioError};
