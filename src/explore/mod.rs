//! Exploring a scenario: the same study at many points of its keys, every
//! point over the same seeds; designs of experiments, sensitivity indices
//! and tipping points (`omerta-sim explore`, docs/explore.md).

pub mod exec;
pub mod find;
pub mod folder;
pub mod output;
